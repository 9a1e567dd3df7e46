//! `chancery receipt TX_HASH --node URL`: fetch a transaction's receipt (the kernel's
//! receipt JSON) so it can be kept and verified offline with `chancery verify`.

use crate::Outcome;
use anyhow::{anyhow, Result};
use chancery_client::{Client, NODE_DEFAULT};
use chancery_core::receipt::Receipt;

/// Arguments of `receipt`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Transaction hash (hex).
    hash: String,
    /// The node's API base URL.
    #[arg(long, env = "CHANCERY_NODE", default_value = NODE_DEFAULT)]
    node: String,
}

/// Run `receipt`: print the receipt JSON to stdout.
pub fn run(a: Args) -> Result<Outcome> {
    let client = Client::new(&a.node);
    let dto = client.receipt(&a.hash)?;
    // The API's receipt is exactly the kernel's: convert, so the kernel's rules apply.
    let v = serde_json::to_value(&dto)?;
    let r: Receipt = serde_json::from_value(v).map_err(|e| {
        anyhow!(
            "{}: the answer is not a kernel receipt: {e}",
            client.url(&format!("/v1/receipts/{}", a.hash))
        )
    })?;
    Ok(Outcome::Ok(serde_json::to_string_pretty(&r)?))
}
