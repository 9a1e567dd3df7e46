//! `chancery verify RECEIPT --genesis GENESIS_JSON`: offline receipt verification.

use crate::files::read_limited;
use crate::Outcome;
use anyhow::{Context, Result};
use chancery_core::codec;
use chancery_core::genesis::Genesis;
use chancery_core::receipt::{self, Receipt, RECEIPT_BYTES_MAX};

use std::path::PathBuf;

/// Largest genesis file, in bytes.
pub const GENESIS_FILE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Arguments of `verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The receipt file (JSON).
    receipt: PathBuf,
    /// The genesis file (JSON).
    #[arg(long)]
    genesis: PathBuf,
}

/// Read and check a genesis file: JSON, then the kernel's validation (via a canonical
/// round trip, which runs `Genesis::validate`).
pub fn load_genesis(path: &std::path::Path) -> Result<Genesis> {
    let bytes = read_limited(path, GENESIS_FILE_BYTES_MAX)?;
    let g: Genesis = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a genesis JSON document", path.display()))?;
    codec::decode::<Genesis>(&codec::encode(&g))
        .with_context(|| format!("{} is not a valid genesis", path.display()))
}

/// Run `verify`.
pub fn run(a: Args) -> Result<Outcome> {
    let genesis = load_genesis(&a.genesis)?;
    let bytes = read_limited(&a.receipt, RECEIPT_BYTES_MAX)?;
    let r: Receipt = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            return Ok(Outcome::Invalid(format!(
                "receipt is not receipt JSON: {e}"
            )))
        }
    };
    Ok(match receipt::verify(&r, &genesis) {
        Ok(s) => Outcome::Ok(s.to_string()),
        Err(e) => Outcome::Invalid(e.to_string()),
    })
}
