//! Reading input files with size limits.

use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// Read at most `max_bytes` from `path`; a larger file is an error, not a truncation.
pub fn read_limited(path: &Path, max_bytes: usize) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut buf = Vec::new();
    f.take(max_bytes as u64 + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if buf.len() > max_bytes {
        bail!(
            "{} is larger than the limit of {} bytes",
            path.display(),
            max_bytes
        );
    }
    Ok(buf)
}
