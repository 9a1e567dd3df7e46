//! `genesis.json`: writing it, and loading it back with every check.

use crate::rules::{self, Problem, Rules};
use crate::spec::{read_limited, ReadError};
use chancery_core::codec::Canonical;
use chancery_core::genesis::Genesis;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Largest `genesis.json` accepted, in bytes: hex keys and JSON punctuation make the JSON
/// form a few times larger than the canonical encoding.
pub const GENESIS_JSON_BYTES_MAX: u64 = 4 * Genesis::BYTES_MAX as u64;

/// Why a genesis file could not be written or loaded.
#[derive(Debug, Error)]
pub enum GenesisFileError {
    /// An IO error.
    #[error("{file}: {action}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is too large.
    #[error("{file}: {found} bytes: expected at most {max} bytes")]
    TooLarge {
        /// The file.
        file: PathBuf,
        /// The limit.
        max: u64,
        /// Its size.
        found: u64,
    },
    /// Not the JSON form of a genesis document.
    #[error("{file}: not a genesis document: {reason}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// serde_json's explanation, with line and column.
        reason: String,
    },
    /// A rule is broken.
    #[error("{file}: {problem}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The broken rule.
        problem: Problem,
    },
}

/// The JSON text of a genesis document (pretty-printed, with a final newline).
pub fn to_json(g: &Genesis) -> String {
    // Serialising plain structs of strings and numbers into a String cannot fail.
    let mut s = serde_json::to_string_pretty(g).unwrap_or_default();
    s.push('\n');
    s
}

/// Write `genesis.json`.
pub fn write_genesis(path: &Path, g: &Genesis) -> Result<(), GenesisFileError> {
    std::fs::write(path, to_json(g)).map_err(|source| GenesisFileError::Io {
        file: path.to_path_buf(),
        action: "write",
        source,
    })
}

/// Parse genesis JSON text and check it with `rules`.
pub fn parse_genesis(text: &str, file: &Path, rules: Rules) -> Result<Genesis, GenesisFileError> {
    let g: Genesis = serde_json::from_str(text).map_err(|e| GenesisFileError::Parse {
        file: file.to_path_buf(),
        reason: e.to_string(),
    })?;
    rules::check(&g, rules).map_err(|problem| GenesisFileError::Invalid {
        file: file.to_path_buf(),
        problem,
    })?;
    Ok(g)
}

/// Load `genesis.json` and check the kernel's format rules and the consortium rules.
///
/// The minimum validator count is not enforced here ([`Rules::DEV`]): that is a policy for
/// creating a chain, and a development chain built with `--dev` must still load.
pub fn load_genesis(path: &Path) -> Result<Genesis, GenesisFileError> {
    let text = read_limited(path, GENESIS_JSON_BYTES_MAX).map_err(|e| match e {
        ReadError::Io(source) => GenesisFileError::Io {
            file: path.to_path_buf(),
            action: "read",
            source,
        },
        ReadError::TooLarge(found) => GenesisFileError::TooLarge {
            file: path.to_path_buf(),
            max: GENESIS_JSON_BYTES_MAX,
            found,
        },
    })?;
    parse_genesis(&text, path, Rules::DEV)
}
