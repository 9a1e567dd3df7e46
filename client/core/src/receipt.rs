//! Receipts: self-contained proof that a transaction is in the ledger, checkable offline
//! with only the genesis document.
//!
//! A receipt is a JSON file (binary parts in lower-case hex):
//!
//! ```json
//! {
//!   "format": "chancery-receipt/v1",
//!   "entry": "<hex of the canonical bytes of the block::LogEntry>",
//!   "index": 5,
//!   "proof": ["<hex of 32-byte hash>", "..."],
//!   "checkpoint": "<hex of the canonical bytes of the checkpoint::Checkpoint>"
//! }
//! ```
//!
//! [`verify`] decodes the entry, checks that it is for this chain, checks the checkpoint
//! (chain, genesis validator set, finalization certificate), then the inclusion of
//! `leaf_hash(entry bytes)` at `index` in the checkpoint's log. Unknown JSON fields,
//! upper-case hex and non-canonical encodings are rejected, so each receipt has one spelling.
//! The kernel does no JSON itself (it has no JSON dependency): readers parse the file with
//! `serde_json` after checking its size against [`crate::limits::RECEIPT_BYTES_MAX`].

use crate::block::{LogEntry, Outcome};
use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::codec::{self, CodecError};
use crate::genesis::Genesis;
use crate::ids::{ChainId, Digest, Height, TxHash};
use crate::limits::PROOF_HASHES_MAX;
use crate::merkle::{self, ProofError};
use crate::record::RecordKind;
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// The `format` value of a version-1 receipt.
pub const RECEIPT_FORMAT: &str = "chancery-receipt/v1";

/// A receipt as read from a file: unverified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always [`RECEIPT_FORMAT`].
    pub format: String,
    /// Canonical bytes of the log entry, hex.
    pub entry: String,
    /// Index of the entry in the log.
    pub index: u64,
    /// Inclusion proof, bottom-up, hex hashes.
    pub proof: Vec<String>,
    /// Canonical bytes of the checkpoint, hex.
    pub checkpoint: String,
}

/// What a verified receipt proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptSummary {
    /// Record kind.
    pub kind: RecordKind,
    /// The record's subject id (asset id, ocid/award id, grant id, ...).
    pub subject_id: String,
    /// Transaction hash.
    pub tx_hash: TxHash,
    /// Height of the block that carried the transaction.
    pub height: Height,
    /// Log index.
    pub index: u64,
    /// What execution did with it.
    pub outcome: Outcome,
    /// Log size of the checkpoint.
    pub checkpoint_size: u64,
    /// Height of the checkpoint.
    pub checkpoint_height: Height,
}

impl fmt::Display for ReceiptSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = match self.outcome {
            Outcome::Applied => "applied".to_string(),
            Outcome::Rejected(r) => format!("rejected ({})", r.as_str()),
        };
        write!(
            f,
            "valid: {} {} tx {} at height {}, log index {}, {}; checkpoint height {} size {}",
            self.kind.as_str(),
            self.subject_id,
            self.tx_hash,
            self.height,
            self.index,
            outcome,
            self.checkpoint_height,
            self.checkpoint_size
        )
    }
}

/// Why a receipt does not verify. Each variant names what failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReceiptError {
    /// Unknown format.
    #[error("receipt format {found:?}: expected {expected:?}")]
    Format {
        /// Known format.
        expected: &'static str,
        /// Found.
        found: String,
    },
    /// A hex field is malformed.
    #[error("receipt field {field}: expected lower-case hex, {problem}")]
    Hex {
        /// Field name.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// Too many proof hashes.
    #[error("receipt proof has {found} hashes, more than the limit of {max}")]
    ProofTooLong {
        /// Limit.
        max: usize,
        /// Found.
        found: usize,
    },
    /// The entry does not decode.
    #[error("receipt entry: {0}")]
    Entry(CodecError),
    /// The checkpoint does not decode.
    #[error("receipt checkpoint: {0}")]
    CheckpointEncoding(CodecError),
    /// The transaction is for another chain.
    #[error("wrong chain: the transaction is for chain {found}, this genesis is chain {expected}")]
    WrongChain {
        /// Genesis chain id.
        expected: ChainId,
        /// The transaction's.
        found: ChainId,
    },
    /// The checkpoint does not verify.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The entry's block is after the checkpoint.
    #[error("entry is at height {entry}, after the checkpoint at height {checkpoint}")]
    EntryAfterCheckpoint {
        /// Entry height.
        entry: Height,
        /// Checkpoint height.
        checkpoint: Height,
    },
    /// The inclusion proof does not verify.
    #[error("inclusion of entry {index} in the log of size {size}: {source}")]
    Inclusion {
        /// Index.
        index: u64,
        /// Checkpoint log size.
        size: u64,
        /// Why.
        source: ProofError,
    },
}

fn hex_lower(field: &str, s: &str) -> Result<Vec<u8>, ReceiptError> {
    let err = |problem: String| ReceiptError::Hex {
        field: field.to_string(),
        problem,
    };
    if let Some(p) = s
        .bytes()
        .position(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(err(format!("found a non-hex character at offset {p}")));
    }
    hex::decode(s).map_err(|e| err(e.to_string()))
}

impl Receipt {
    /// Build a receipt.
    pub fn new(entry: &LogEntry, index: u64, proof: &[Digest], checkpoint: &Checkpoint) -> Self {
        Receipt {
            format: RECEIPT_FORMAT.to_string(),
            entry: hex::encode(codec::encode(entry)),
            index,
            proof: proof.iter().map(Digest::to_hex).collect(),
            checkpoint: hex::encode(codec::encode(checkpoint)),
        }
    }
}

/// Verify a receipt against the genesis document. See the module docs for the steps.
pub fn verify(receipt: &Receipt, genesis: &Genesis) -> Result<ReceiptSummary, ReceiptError> {
    if receipt.format != RECEIPT_FORMAT {
        return Err(ReceiptError::Format {
            expected: RECEIPT_FORMAT,
            found: receipt.format.chars().take(80).collect(),
        });
    }
    if receipt.proof.len() > PROOF_HASHES_MAX {
        return Err(ReceiptError::ProofTooLong {
            max: PROOF_HASHES_MAX,
            found: receipt.proof.len(),
        });
    }
    let entry_bytes = hex_lower("entry", &receipt.entry)?;
    let entry: LogEntry = codec::decode(&entry_bytes).map_err(ReceiptError::Entry)?;
    let chain_id = genesis.chain_id();
    if entry.tx.body.chain_id != chain_id {
        return Err(ReceiptError::WrongChain {
            expected: chain_id,
            found: entry.tx.body.chain_id,
        });
    }
    let mut proof = Vec::with_capacity(receipt.proof.len());
    for (i, p) in receipt.proof.iter().enumerate() {
        let field = format!("proof[{i}]");
        let b = hex_lower(&field, p)?;
        let d: [u8; 32] = b.try_into().map_err(|b: Vec<u8>| ReceiptError::Hex {
            field,
            problem: format!("found {} bytes, expected 32", b.len()),
        })?;
        proof.push(Digest(d));
    }
    let cp_bytes = hex_lower("checkpoint", &receipt.checkpoint)?;
    let cp: Checkpoint = codec::decode(&cp_bytes).map_err(ReceiptError::CheckpointEncoding)?;
    let cp = cp.verify(genesis)?;
    let header = cp.header();
    if entry.height > header.height {
        return Err(ReceiptError::EntryAfterCheckpoint {
            entry: entry.height,
            checkpoint: header.height,
        });
    }
    let leaf = merkle::leaf_hash(&entry_bytes);
    merkle::verify_inclusion(receipt.index, cp.size(), &leaf, &proof, &cp.root()).map_err(
        |source| ReceiptError::Inclusion {
            index: receipt.index,
            size: cp.size(),
            source,
        },
    )?;
    Ok(ReceiptSummary {
        kind: entry.tx.body.record.kind(),
        subject_id: entry.tx.body.record.subject_id(),
        tx_hash: entry.tx.hash(),
        height: entry.height,
        index: receipt.index,
        outcome: entry.outcome,
        checkpoint_size: cp.size(),
        checkpoint_height: header.height,
    })
}
