//! Blocks, their headers, and the entries of the transaction log.
//!
//! Normative specification: docs/spec/03-structures.md, sections 3.6 to 3.10.

use crate::codec::{self, check, Canonical, ValidationError};
use crate::domain;
use crate::ids::{ChainId, Digest, Epoch, Height, TimestampMs, TxHash, View};
use crate::limits::{
    BLOCK_ENCODING_BYTES_MAX, BLOCK_HEADER_ENCODING_BYTES_MAX, BLOCK_TXS_MAX,
    LOG_ENTRY_ENCODING_BYTES_MAX,
};
use crate::suite::Suite;
use crate::tx::Transaction;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// A block header. The consensus finality certificate signs its hash, so it certifies the
/// transaction log (size and root) and the state root after this block.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct BlockHeader {
    /// Chain id.
    pub chain_id: ChainId,
    /// Epoch of the validator set that finalizes this block.
    pub epoch: Epoch,
    /// Height; the first block is 1.
    pub height: Height,
    /// Consensus view in which it was proposed.
    pub view: View,
    /// Hash of the parent header ([`Digest::ZERO`] for height 1's parent, the genesis).
    pub parent: Digest,
    /// Index of the proposer in the validator set.
    pub proposer: u16,
    /// Block time, agreed by consensus; strictly greater than the parent's.
    pub time: TimestampMs,
    /// `H(BLOCK_TXS_HASH, tx_hash_0 || tx_hash_1 || ...)`.
    pub txs_hash: Digest,
    /// Number of transactions.
    pub tx_count: u32,
    /// Transaction log size after this block.
    pub log_size: u64,
    /// Transaction log root after this block.
    pub log_root: Digest,
    /// State root after this block.
    pub state_root: Digest,
    /// Hash of the validator set in force for this block.
    pub validator_set: Digest,
    /// Hash of the next epoch's validator set if this block is the last of its epoch (the
    /// *boundary* header, certified by the set of the epoch it ends), else
    /// [`Digest::ZERO`]. See docs/governance.md.
    pub next_validator_set: Digest,
}

impl Canonical for BlockHeader {
    const NAME: &'static str = "block header";
    const BYTES_MAX: usize = BLOCK_HEADER_ENCODING_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        if self.height == Height(0) {
            return Err(ValidationError::new("height", "at least 1", "0"));
        }
        Ok(())
    }
}

impl BlockHeader {
    /// Does this header end its epoch (it commits the next validator set)?
    pub fn is_boundary(&self) -> bool {
        self.next_validator_set != Digest::ZERO
    }

    /// The block id: `H(BLOCK_HASH, canonical header bytes)`, `H` the hash of the chain's
    /// suite.
    pub fn hash(&self, suite: Suite) -> Digest {
        suite.hash(domain::BLOCK_HASH, &codec::encode(self))
    }
}

/// The hash over a block's transaction hashes that its header carries, with the chain's
/// suite.
pub fn txs_hash(suite: Suite, hashes: impl IntoIterator<Item = TxHash>) -> Digest {
    let mut h = suite.hasher(domain::BLOCK_TXS_HASH);
    for t in hashes {
        h.update(t.as_bytes());
    }
    h.finalize()
}

/// A block: header and transactions (unverified until the ledger checks it).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct Block {
    /// Header.
    pub header: BlockHeader,
    /// Transactions in order.
    pub txs: Vec<Transaction>,
}

impl Canonical for Block {
    const NAME: &'static str = "block";
    const BYTES_MAX: usize = BLOCK_ENCODING_BYTES_MAX;
    /// With the suite of the block's transactions (the default for an empty block); a
    /// chain's decoder checks with the chain's suite ([`Canonical::validate_in`]).
    fn validate(&self) -> Result<(), ValidationError> {
        let suite = self
            .txs
            .first()
            .map(|t| t.body.signer.suite())
            .unwrap_or_default();
        self.validate_in(suite)
    }

    fn validate_in(&self, suite: Suite) -> Result<(), ValidationError> {
        self.header.validate().map_err(|e| e.within("header"))?;
        check::list("txs", &self.txs, BLOCK_TXS_MAX)?;
        if self.txs.len() != self.header.tx_count as usize {
            return Err(ValidationError::new(
                "header.tx_count",
                format!("{} (the number of transactions)", self.txs.len()),
                self.header.tx_count.to_string(),
            ));
        }
        for (i, tx) in self.txs.iter().enumerate() {
            tx.validate().map_err(|e| e.within(&format!("txs[{i}]")))?;
        }
        for (i, tx) in self.txs.iter().enumerate() {
            crate::genesis::key_of_suite(&format!("txs[{i}].body.signer"), &tx.body.signer, suite)?;
        }
        let want = txs_hash(suite, self.txs.iter().map(Transaction::hash));
        if want != self.header.txs_hash {
            return Err(ValidationError::new(
                "header.txs_hash",
                want.to_hex(),
                self.header.txs_hash.to_hex(),
            ));
        }
        Ok(())
    }
}

/// Why execution rejected a transaction. Every node computes the same code.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ReasonCode {
    WrongChain,
    BadSignature,
    Malformed,
    UnknownSigner,
    SignerRevoked,
    MissingRole,
    BadSequence,
    WrongAgency,
    UnknownAgency,
    AssetExists,
    AssetUnknown,
    AssetDisposed,
    NotCustodian,
    AwardExists,
    AwardUnknown,
    AwardCancelled,
    NotPurchaser,
    GrantExists,
    GrantUnknown,
    GrantRevoked,
    NotGrantor,
    DatasetNotOwned,
    MemberExists,
    MemberUnknown,
    NotAdmin,
    DuplicateTx,
    /// Governance: the proposal id is taken.
    ProposalExists,
    /// Governance: no proposal with this id.
    ProposalUnknown,
    /// Governance: the proposal was already decided (passed or failed).
    ProposalClosed,
    /// Governance: the deadline is at or before the block time (a vote too late, or a
    /// proposal whose deadline is already past).
    ProposalExpired,
    /// Governance: an agency with this id exists or existed.
    AgencyExists,
    /// Governance: the agency still runs a validator (in the current or pending set).
    AgencyHasValidator,
    /// Governance: a validator with this name is in the set.
    ValidatorExists,
    /// Governance: no validator with this name in the set.
    ValidatorUnknown,
    /// Governance: a key was already used (as a validator key or a member key).
    KeyReused,
    /// Governance: the change would leave fewer validators than allowed.
    ValidatorSetTooSmall,
    /// Governance: the resulting validator set breaks its format rules (too many
    /// validators, total power overflow) or the consortium would exceed `AGENCIES_MAX`.
    LimitExceeded,
    // Issue 22: the procurement process. Appended: earlier codes keep their encoding.
    /// The process already has a tender.
    TenderExists,
    /// The process has no tender.
    TenderUnknown,
    /// The tender is already closed.
    TenderClosed,
    /// The process's tender is still taking bids: close it before awarding.
    TenderOpen,
    /// A date is before the one it must follow (tender closed before it was published, an
    /// award before its tender closed, a contract before its award, a step before the
    /// contract's last recorded date).
    DatesOutOfOrder,
    /// A contract needs an active award (this one is pending, unsuccessful or cancelled).
    AwardNotActive,
    /// The process already has a contract with this id.
    ContractExists,
    /// No contract with this id in the process.
    ContractUnknown,
    /// The contract is complete or terminated: nothing more may be recorded on it.
    ContractClosed,
    /// A value is in another currency than the award's or the contract's.
    CurrencyMismatch,
    /// Payments would exceed the contract value (amend the contract first), or an
    /// amendment would set the value below what was already paid.
    PaymentExceedsContract,
}

impl ReasonCode {
    /// snake_case name, as in the API and on the explorer.
    pub fn as_str(self) -> String {
        // The Debug name in snake_case is serde's spelling too: one source of truth.
        let mut out = String::new();
        for (i, c) in format!("{self:?}").chars().enumerate() {
            if c.is_ascii_uppercase() {
                if i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// What execution did with a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum Outcome {
    /// Applied to the state.
    Applied,
    /// Kept in the log but not applied.
    Rejected(ReasonCode),
}

/// One leaf of the transaction log: the transaction, where it was committed and what
/// execution did with it. The leaf hash is `H(LOG_LEAF, canonical bytes)`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct LogEntry {
    /// Height of the block that carried it.
    pub height: Height,
    /// Block time.
    pub time: TimestampMs,
    /// The transaction.
    pub tx: Transaction,
    /// The outcome.
    pub outcome: Outcome,
}

impl Canonical for LogEntry {
    const NAME: &'static str = "log entry";
    const BYTES_MAX: usize = LOG_ENTRY_ENCODING_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        self.tx.validate().map_err(|e| e.within("tx"))
    }
}
