//! `chancery receipt TX_HASH --node URL`: fetch a transaction's receipt (the kernel's
//! receipt JSON) so it can be kept and verified offline with `chancery verify`.

use crate::http::{self, base, enc};
use crate::Outcome;
use anyhow::{anyhow, Result};
use chancery_core::receipt::Receipt;

/// Arguments of `receipt`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Transaction hash (hex).
    hash: String,
    /// The node's API base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    node: String,
}

/// Run `receipt`: print the receipt JSON to stdout.
pub fn run(a: Args) -> Result<Outcome> {
    let url = format!("{}/v1/receipts/{}", base(&a.node), enc(&a.hash));
    let v = http::get_json(&url)?;
    let r: Receipt = serde_json::from_value(v.clone())
        .map_err(|e| anyhow!("{url}: the answer is not a receipt ({e}): {v}"))?;
    Ok(Outcome::Ok(serde_json::to_string_pretty(&r)?))
}
