//! Why a transaction was not admitted, with stable string codes for the API.

use chancery_core::record::{RecordKind, Role};
use chancery_core::{AgencyId, ChainId, PublicKey, Seq, TxHash};
use std::fmt;
use thiserror::Error;

/// Which pool-wide limit was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PoolLimit {
    /// [`crate::MempoolConfig::txs_max`].
    Txs,
    /// [`crate::MempoolConfig::bytes_max`].
    Bytes,
    /// [`crate::MempoolConfig::agency_txs_max`].
    AgencyTxs,
    /// [`crate::MempoolConfig::agency_bytes_max`].
    AgencyBytes,
}

impl PoolLimit {
    /// The name of the configuration field, e.g. `txs_max`.
    pub fn as_str(self) -> &'static str {
        match self {
            PoolLimit::Txs => "txs_max",
            PoolLimit::Bytes => "bytes_max",
            PoolLimit::AgencyTxs => "agency_txs_max",
            PoolLimit::AgencyBytes => "agency_bytes_max",
        }
    }
}

impl fmt::Display for PoolLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the pool refused a transaction. Each variant maps to a stable code ([`AdmitError::code`])
/// that the API returns to clients; `docs/mempool.md` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AdmitError {
    /// The canonical encoding is larger than `tx_bytes_max`.
    #[error("transaction is {found} bytes, more than the limit of {limit} bytes (tx_bytes_max)")]
    TooLarge {
        /// `tx_bytes_max`.
        limit: usize,
        /// The transaction's size in bytes.
        found: usize,
    },
    /// The same transaction (same hash) is already pending.
    #[error("transaction {hash} is already in the pool")]
    Duplicate {
        /// Its hash.
        hash: TxHash,
    },
    /// The transaction is for another chain.
    #[error("transaction is for chain {found}, expected chain {expected}")]
    WrongChain {
        /// Our chain id.
        expected: ChainId,
        /// The transaction's.
        found: ChainId,
    },
    /// The signer is not a member.
    #[error("signer {key} is not a registered member")]
    UnknownSigner {
        /// The signer.
        key: PublicKey,
    },
    /// The signer's membership was revoked.
    #[error("signer {key} has been revoked")]
    SignerRevoked {
        /// The signer.
        key: PublicKey,
    },
    /// The signer lacks the role the record kind requires.
    #[error("signer {key} lacks role {} required for {}", role.as_str(), kind.as_str())]
    MissingRole {
        /// The signer.
        key: PublicKey,
        /// The role required.
        role: Role,
        /// The record kind.
        kind: RecordKind,
    },
    /// The sequence number is outside `[expected_min, expected_max]`.
    #[error("signer {key} sequence {found} is outside the accepted range {expected_min}..={expected_max}")]
    BadSequence {
        /// The signer.
        key: PublicKey,
        /// The signer's next sequence number on the ledger.
        expected_min: Seq,
        /// The largest sequence accepted now (`expected_min + seq_window_max - 1`).
        expected_max: Seq,
        /// The transaction's sequence number.
        found: Seq,
    },
    /// A different transaction with the same signer and sequence is already pending.
    #[error("signer {key} already has pending transaction {pending} with sequence {seq}")]
    SequenceTaken {
        /// The signer.
        key: PublicKey,
        /// The sequence number.
        seq: Seq,
        /// The hash of the pending transaction that holds it.
        pending: TxHash,
    },
    /// The signer already has `per_signer_max` pending transactions.
    #[error("signer {key} already has {limit} pending transactions (per_signer_max)")]
    SignerFull {
        /// The signer.
        key: PublicKey,
        /// `per_signer_max`.
        limit: usize,
    },
    /// The signer's agency holds its maximum share of the pool.
    #[error("agency {agency} holds its share of the pool: {limit} = {max}")]
    AgencyFull {
        /// The agency.
        agency: AgencyId,
        /// Which limit: [`PoolLimit::AgencyTxs`] or [`PoolLimit::AgencyBytes`].
        limit: PoolLimit,
        /// Its value.
        max: usize,
    },
    /// The pool is full and no lower-priority transaction could be evicted for this one.
    #[error("pool is full: {limit} = {max}")]
    PoolFull {
        /// Which limit: [`PoolLimit::Txs`] or [`PoolLimit::Bytes`].
        limit: PoolLimit,
        /// Its value.
        max: usize,
    },
    /// The pool holds at least its backlog bound ([`crate::Mempool::backlog_max`]) and this
    /// transaction, from a client of this node, would extend its signer's tail: its sequence
    /// is above every pending one of its signer and is not the signer's next on the ledger.
    /// A transaction that fills a gap in its signer's sequence is still admitted, and so is
    /// one whose agency holds less than its share of the bound. Code `pool_full`.
    #[error(
        "pool is full for new work: {backlog} transactions pending, at or over the backlog \
         bound backlog_max = {backlog_max} (what the chain finalizes in backlog_drain_ms at \
         its recent rate); a transaction that fills a gap in its signer's sequence is still \
         admitted; retry in {retry_after_s} s"
    )]
    Backlog {
        /// Pending transactions.
        backlog: usize,
        /// The bound.
        backlog_max: usize,
        /// About when the pool will be back under the bound at the recent finalized rate, in
        /// seconds (`retry_after_s_min..=retry_after_s_max`).
        retry_after_s: u64,
    },
    /// Only with [`crate::Verdicts::deferred`]: the transaction passes every check but the
    /// signature, which was not checked and is not cached. Nothing was admitted: check the
    /// signature and submit it again. Never returned to clients.
    #[error(
        "transaction {hash} passes every check but its signature, which was not checked \
         (deferred verdicts); check it and submit it again"
    )]
    Unverified {
        /// Its hash.
        hash: TxHash,
        /// The pool's backlog bound now ([`crate::Mempool::backlog_max`]), so that the caller
        /// knows when to ask ahead again.
        backlog_max: usize,
    },
    /// The signature does not verify.
    #[error("signature by {key} does not verify")]
    BadSignature {
        /// The claimed signer.
        key: PublicKey,
    },
}

impl AdmitError {
    /// The stable snake_case code returned to clients.
    pub fn code(&self) -> &'static str {
        match self {
            AdmitError::TooLarge { .. } => "too_large",
            AdmitError::Duplicate { .. } => "duplicate",
            AdmitError::WrongChain { .. } => "wrong_chain",
            AdmitError::UnknownSigner { .. } => "unknown_signer",
            AdmitError::SignerRevoked { .. } => "signer_revoked",
            AdmitError::MissingRole { .. } => "missing_role",
            AdmitError::BadSequence { .. } => "bad_sequence",
            AdmitError::SequenceTaken { .. } => "sequence_taken",
            AdmitError::SignerFull { .. } => "signer_full",
            AdmitError::AgencyFull { .. } => "agency_full",
            AdmitError::PoolFull { .. } | AdmitError::Backlog { .. } => "pool_full",
            AdmitError::Unverified { .. } => "unverified",
            AdmitError::BadSignature { .. } => "bad_signature",
        }
    }

    /// Every code, in the order of the checks (for documentation and tests).
    pub const CODES: [&'static str; 13] = [
        "too_large",
        "duplicate",
        "wrong_chain",
        "unknown_signer",
        "signer_revoked",
        "missing_role",
        "bad_sequence",
        "sequence_taken",
        "signer_full",
        "agency_full",
        "pool_full",
        "unverified",
        "bad_signature",
    ];

    /// Seconds after which the same submission may be admitted, for refusals that a wait can
    /// cure: the backlog's hint, or `None`. (A full pool, [`AdmitError::PoolFull`], drains
    /// as blocks are finalized; the API tells its clients a second.)
    pub fn retry_after_s(&self) -> Option<u64> {
        match self {
            AdmitError::Backlog { retry_after_s, .. } => Some(*retry_after_s),
            _ => None,
        }
    }
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("mempool config: {field} must be {expected}, found {found}")]
pub struct ConfigError {
    /// The field.
    pub field: &'static str,
    /// What it must be.
    pub expected: String,
    /// What it is.
    pub found: String,
}
