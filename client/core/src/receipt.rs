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
//! A receipt whose checkpoint is of epoch `e > 0` is `chancery-receipt/v2` and carries the
//! epoch chain that proves epoch `e`'s validator set from the genesis: `"epochs": [...]`,
//! the hex of the canonical bytes of each [`EpochLink`] of epochs `0..e`, in order (exactly
//! `e` links). A v1 receipt has no `epochs` field (its checkpoint is of epoch 0), so
//! receipts of epoch 0 read the same as before governance and every receipt has one
//! spelling. Why the chain is carried rather than fetched: `docs/governance.md`.
//!
//! [`verify`] decodes the entry, checks that it is for this chain and that its transaction
//! is signed by the member key it names (the transaction signature, `TX_SIGN` over the
//! canonical body, under the chain's acceptance rule), verifies the epoch chain
//! from the genesis set (`crate::epoch::verify_epoch_chain`; a bad link is named by its
//! epoch), then the checkpoint (chain, the proven validator set, finalization certificate),
//! then the inclusion of `leaf_hash(entry bytes)` at `index` in the checkpoint's log.
//! Unknown JSON fields, upper-case hex and non-canonical encodings are rejected, so each
//! receipt has one spelling. The kernel does no JSON itself (it has no JSON dependency):
//! readers parse the file with `serde_json` after checking its size against
//! [`crate::limits::RECEIPT_BYTES_MAX`].
//!
//! Normative specification: docs/spec/05-receipts.md, sections 5.1 and 5.2.

use crate::block::{LogEntry, Outcome};
use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::codec::{self, CodecError};
use crate::epoch::{verify_checkpoint_with_links, EpochLink, EpochProofError};
use crate::genesis::Genesis;
use crate::ids::{ChainId, Digest, Epoch, Height, TxHash};
use crate::limits::{EPOCH_LINKS_MAX, PROOF_HASHES_MAX};
use crate::merkle::{self, ProofError};
use crate::record::RecordKind;
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// The `format` value of a version-1 receipt (checkpoint of epoch 0, no `epochs`).
pub const RECEIPT_FORMAT: &str = "chancery-receipt/v1";
/// The `format` value of a version-2 receipt (checkpoint of epoch `e > 0`, with the `e`
/// links of the epoch chain in `epochs`).
pub const RECEIPT_FORMAT_V2: &str = "chancery-receipt/v2";

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
    /// v2 only: canonical bytes of each link of the epoch chain from the genesis to the
    /// checkpoint's epoch, hex; absent in v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<Vec<String>>,
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
    /// The member key that signed the transaction (its signature verified).
    pub signer: crate::ids::PublicKey,
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
    /// Epoch of the checkpoint (the number of epoch links verified).
    pub checkpoint_epoch: Epoch,
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
        )?;
        if self.checkpoint_epoch.0 > 0 {
            write!(
                f,
                " epoch {} ({} epoch links verified from the genesis)",
                self.checkpoint_epoch, self.checkpoint_epoch
            )?;
        }
        Ok(())
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
    /// The `epochs` field does not fit the format (present in v1, absent or empty in v2,
    /// too many links).
    #[error("receipt epochs: {0}")]
    EpochsField(String),
    /// An epoch link does not decode.
    #[error("receipt epoch link {index} (the end of epoch {index}): {source}")]
    EpochLinkEncoding {
        /// Its position (the epoch it ends).
        index: usize,
        /// Why.
        source: CodecError,
    },
    /// The checkpoint does not verify with the epoch chain, or the chain itself does not
    /// (the error names the link).
    #[error("{0}")]
    Epochs(#[from] EpochProofError),
    /// The transaction is for another chain.
    #[error("wrong chain: the transaction is for chain {found}, this genesis is chain {expected}")]
    WrongChain {
        /// Genesis chain id.
        expected: ChainId,
        /// The transaction's.
        found: ChainId,
    },
    /// The transaction's signature by its member key does not verify (the ledger admits
    /// only signed transactions, so a receipt whose transaction is not signed by its
    /// signer was made up or altered).
    #[error("the transaction's signature by its signer {signer} does not verify under the chain's acceptance rule: {source}")]
    TxSignature {
        /// The signer key the transaction names (boxed, as the reason: both are large and
        /// this variant is rare).
        signer: Box<crate::ids::PublicKey>,
        /// Why.
        source: Box<crate::crypto::SignatureError>,
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
    /// Build a receipt of a checkpoint of epoch 0 (v1). A checkpoint of a later epoch needs
    /// its epoch chain: [`Receipt::with_epochs`].
    pub fn new(entry: &LogEntry, index: u64, proof: &[Digest], checkpoint: &Checkpoint) -> Self {
        Receipt {
            format: RECEIPT_FORMAT.to_string(),
            entry: hex::encode(codec::encode(entry)),
            index,
            proof: proof.iter().map(Digest::to_hex).collect(),
            checkpoint: hex::encode(codec::encode(checkpoint)),
            epochs: None,
        }
    }

    /// The same receipt carrying the epoch chain `links` (the links of epochs `0..e` for
    /// a checkpoint of epoch `e`): v2 if there are any, v1 without.
    pub fn with_epochs(mut self, links: &[EpochLink]) -> Self {
        if links.is_empty() {
            self.format = RECEIPT_FORMAT.to_string();
            self.epochs = None;
        } else {
            self.format = RECEIPT_FORMAT_V2.to_string();
            self.epochs = Some(
                links
                    .iter()
                    .map(|l| hex::encode(codec::encode(l)))
                    .collect(),
            );
        }
        self
    }
}

/// Decode the `epochs` of a receipt or a state-proof bundle: each hex string a canonical
/// [`EpochLink`], at most [`EPOCH_LINKS_MAX`] of them. Errors name the link.
pub fn decode_epoch_links(
    suite: crate::suite::Suite,
    hex_links: &[String],
) -> Result<Vec<EpochLink>, ReceiptError> {
    if hex_links.len() > EPOCH_LINKS_MAX {
        return Err(ReceiptError::EpochsField(format!(
            "{} links, at most {EPOCH_LINKS_MAX}",
            hex_links.len()
        )));
    }
    let mut links = Vec::with_capacity(hex_links.len());
    for (index, h) in hex_links.iter().enumerate() {
        let bytes = hex_lower(&format!("epochs[{index}]"), h)?;
        let link: EpochLink = codec::decode_in(suite, &bytes)
            .map_err(|source| ReceiptError::EpochLinkEncoding { index, source })?;
        links.push(link);
    }
    Ok(links)
}

/// Verify a receipt against the genesis document. See the module docs for the steps.
pub fn verify(receipt: &Receipt, genesis: &Genesis) -> Result<ReceiptSummary, ReceiptError> {
    let links = match (receipt.format.as_str(), &receipt.epochs) {
        (RECEIPT_FORMAT, None) => Vec::new(),
        (RECEIPT_FORMAT, Some(_)) => {
            return Err(ReceiptError::EpochsField(format!(
                "a {RECEIPT_FORMAT} receipt has no epochs field (its checkpoint is of epoch 0); {RECEIPT_FORMAT_V2} carries them"
            )))
        }
        (RECEIPT_FORMAT_V2, Some(l)) if !l.is_empty() => decode_epoch_links(genesis.crypto, l)?,
        (RECEIPT_FORMAT_V2, _) => {
            return Err(ReceiptError::EpochsField(format!(
                "a {RECEIPT_FORMAT_V2} receipt carries at least one epoch link; a receipt of epoch 0 is {RECEIPT_FORMAT}"
            )))
        }
        _ => {
            return Err(ReceiptError::Format {
                expected: "chancery-receipt/v1 or chancery-receipt/v2",
                found: receipt.format.chars().take(80).collect(),
            })
        }
    };
    if receipt.proof.len() > PROOF_HASHES_MAX {
        return Err(ReceiptError::ProofTooLong {
            max: PROOF_HASHES_MAX,
            found: receipt.proof.len(),
        });
    }
    let entry_bytes = hex_lower("entry", &receipt.entry)?;
    let entry: LogEntry =
        codec::decode_in(genesis.crypto, &entry_bytes).map_err(ReceiptError::Entry)?;
    let chain_id = genesis.chain_id();
    if entry.tx.body.chain_id != chain_id {
        return Err(ReceiptError::WrongChain {
            expected: chain_id,
            found: entry.tx.body.chain_id,
        });
    }
    // The member's signature on the transaction (the tag, then the canonical body).
    crate::crypto::verify(
        &entry.tx.body.signer,
        crate::domain::TX_SIGN,
        &codec::encode(&entry.tx.body),
        &entry.tx.signature,
    )
    .map_err(|source| ReceiptError::TxSignature {
        signer: Box::new(entry.tx.body.signer),
        source: Box::new(source),
    })?;
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
    let cp: Checkpoint =
        codec::decode_in(genesis.crypto, &cp_bytes).map_err(ReceiptError::CheckpointEncoding)?;
    let cp = if links.is_empty() {
        cp.verify(genesis)?
    } else {
        verify_checkpoint_with_links(genesis, &links, &cp)?
    };
    let header = cp.header();
    if entry.height > header.height {
        return Err(ReceiptError::EntryAfterCheckpoint {
            entry: entry.height,
            checkpoint: header.height,
        });
    }
    let leaf = merkle::leaf_hash(cp.suite(), &entry_bytes);
    merkle::verify_inclusion(
        cp.suite(),
        receipt.index,
        cp.size(),
        &leaf,
        &proof,
        &cp.root(),
    )
    .map_err(|source| ReceiptError::Inclusion {
        index: receipt.index,
        size: cp.size(),
        source,
    })?;
    Ok(ReceiptSummary {
        kind: entry.tx.body.record.kind(),
        subject_id: entry.tx.body.record.subject_id(),
        tx_hash: entry.tx.hash(),
        signer: entry.tx.body.signer,
        height: entry.height,
        index: receipt.index,
        outcome: entry.outcome,
        checkpoint_size: cp.size(),
        checkpoint_height: header.height,
        checkpoint_epoch: header.epoch,
    })
}
