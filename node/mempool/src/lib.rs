//! # chancery-mempool — the transaction pool
//!
//! A bounded, fair, deterministic pool of verified transactions between client submission /
//! peer gossip and block proposal. A pure data structure: no IO, no clock, no randomness, no
//! async. Times are arguments ([`TimestampMs`]); the ledger's state is reached through the
//! [`AdmissionView`] trait.
//!
//! - Admission ([`Mempool::insert`], [`Mempool::insert_batch`]) runs the cheap checks first
//!   (size, duplicate, chain, membership, role, sequence window, capacity) and the signature
//!   last; batches are verified with batched Ed25519, and every verification result is cached
//!   by transaction hash. Refusals are [`AdmitError`]s with stable codes.
//! - Backlog bound ([`Mempool::backlog_max`]): past a few seconds of work at the finalized
//!   rate (which the pool measures from [`Mempool::on_committed`]), a client's transaction
//!   that would extend its signer's tail is refused, before its signature is checked, with a
//!   time to retry; gap-fillers, agencies under their share and peers' transactions are still
//!   admitted.
//! - Selection ([`Mempool::select`]) returns, for each signer, a gap-free run of transactions
//!   starting at its next sequence number, interleaved round-robin across agencies and across
//!   signers within an agency. It depends only on the pool's contents, the view and the limits.
//! - Eviction: [`Mempool::on_committed`] drops committed and superseded transactions,
//!   [`Mempool::evict_expired`] those older than `ttl_ms`; when the pool is full, a newcomer
//!   displaces the newest transaction of the agency holding the largest share, and only if that
//!   agency holds more than the newcomer's agency would.
//! - Gossip: [`Mempool::pending_since`] returns newly admitted transactions in bounded batches.
//!
//! See `docs/mempool.md`.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod cache;
mod error;

pub use error::{AdmitError, ConfigError, PoolLimit};

use cache::{SigCache, Verdict};
use chancery_core::limits::{BLOCK_BYTES_MAX, BLOCK_TXS_MAX, TX_BYTES_MAX};
use chancery_core::record::{Record, Role};
use chancery_core::tx::{self, Transaction, TxError, VerifiedTx};
use chancery_core::{codec, domain, AgencyId, ChainId, PublicKey, Seq, TimestampMs, TxHash};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// What the pool needs to know about a member key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    /// The key's agency.
    pub agency: AgencyId,
    /// The roles it holds.
    pub roles: Vec<Role>,
    /// Whether the membership has been revoked.
    pub revoked: bool,
}

/// The ledger state the pool consults. The ledger implements it over its committed state (for
/// a proposal, over the state after the parent block).
pub trait AdmissionView {
    /// The member holding `key`, if any.
    fn member(&self, key: &PublicKey) -> Option<MemberInfo>;
    /// The sequence number `key`'s next transaction must carry (0 for a key never used).
    fn next_seq(&self, key: &PublicKey) -> Seq;
}

/// Where a transaction came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// Submitted by a client of this node.
    Local,
    /// Received from a peer.
    Peer,
}

/// Most signers' decompressed public keys kept (about 200 bytes each).
pub const KEY_CACHE_MAX: usize = 16_384;
/// Longest `backlog_rate_window_ms` accepted (an hour): bounds the rate samples kept.
pub const BACKLOG_RATE_WINDOW_MS_MAX: u64 = 3_600_000;
/// Longest `backlog_drain_ms` accepted (an hour).
pub const BACKLOG_DRAIN_MS_MAX: u64 = 3_600_000;
/// The finalized rate is sampled at most this often, in milliseconds (so the samples kept
/// number at most `backlog_rate_window_ms / RATE_SAMPLE_MS + 2`).
pub const RATE_SAMPLE_MS: u64 = 250;
/// The finalized rate is known once it has been measured over at least this many
/// milliseconds; before that the backlog bound is `backlog_txs_min`.
pub const RATE_SPAN_MS_MIN: u64 = 1_000;

/// Limits of the pool. Every limit is named `*_max`; see `docs/mempool.md` for the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Most pending transactions.
    pub txs_max: usize,
    /// Most bytes of pending transactions (canonical encodings).
    pub bytes_max: usize,
    /// Largest transaction admitted, in bytes (at most the kernel's `TX_BYTES_MAX`).
    pub tx_bytes_max: usize,
    /// Most pending transactions of one signer.
    pub per_signer_max: usize,
    /// Most pending transactions of one agency (its share of `txs_max`).
    pub agency_txs_max: usize,
    /// Most bytes of pending transactions of one agency (its share of `bytes_max`).
    pub agency_bytes_max: usize,
    /// Sequence window: a transaction's seq must lie in `[next_seq, next_seq + seq_window_max)`.
    pub seq_window_max: u64,
    /// How long a transaction may stay pending, in milliseconds.
    pub ttl_ms: u64,
    /// Most transactions verified in one Ed25519 batch by [`Mempool::insert_batch`].
    pub verify_batch_txs_max: usize,
    /// Most transactions in one gossip batch.
    pub gossip_batch_txs_max: usize,
    /// Most bytes in one gossip batch.
    pub gossip_batch_bytes_max: usize,
    /// Also hand transactions received from peers to gossip (default: only local ones).
    pub gossip_peer_txs: bool,
    /// Most entries in the verification cache (transactions outside the pool).
    pub verified_cache_txs_max: usize,
    /// Most bytes of transactions held by the verification cache.
    pub verified_cache_bytes_max: usize,
    /// The backlog bound is this many milliseconds of work at the recent finalized rate: past
    /// it, a transaction from a client of this node that would extend its signer's tail is
    /// refused ([`AdmitError::Backlog`]), so what is admitted is finalized within about this
    /// long (see [`Mempool::backlog_max`]).
    pub backlog_drain_ms: u64,
    /// The least backlog bound, in transactions: what is admitted before the finalized rate is
    /// known, or while it is low (a burst on a quiet chain). At `txs_max` or above, the bound
    /// is off and only the pool's own limits apply.
    pub backlog_txs_min: usize,
    /// How far back the finalized rate is measured, in milliseconds.
    pub backlog_rate_window_ms: u64,
    /// Least retry hint given with a backlog refusal, in seconds.
    pub retry_after_s_min: u64,
    /// Greatest retry hint given with a backlog refusal, in seconds.
    pub retry_after_s_max: u64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            txs_max: 100_000,
            bytes_max: 128 * 1024 * 1024,
            tx_bytes_max: TX_BYTES_MAX,
            per_signer_max: 1_024,
            agency_txs_max: 50_000,
            agency_bytes_max: 64 * 1024 * 1024,
            seq_window_max: 1_024,
            ttl_ms: 10 * 60 * 1000,
            verify_batch_txs_max: 1_024,
            gossip_batch_txs_max: 1_024,
            gossip_batch_bytes_max: 4 * 1024 * 1024,
            gossip_peer_txs: false,
            verified_cache_txs_max: 20_000,
            verified_cache_bytes_max: 32 * 1024 * 1024,
            backlog_drain_ms: 3_000,
            backlog_txs_min: 8_192,
            backlog_rate_window_ms: 10_000,
            retry_after_s_min: 1,
            retry_after_s_max: 30,
        }
    }
}

impl MempoolConfig {
    /// Check the limits make sense together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field: &'static str, expected: String, found: String| {
            Err(ConfigError {
                field,
                expected,
                found,
            })
        };
        let positive: [(&'static str, u64); 12] = [
            ("txs_max", self.txs_max as u64),
            ("bytes_max", self.bytes_max as u64),
            ("per_signer_max", self.per_signer_max as u64),
            ("agency_txs_max", self.agency_txs_max as u64),
            ("seq_window_max", self.seq_window_max),
            ("verify_batch_txs_max", self.verify_batch_txs_max as u64),
            ("gossip_batch_txs_max", self.gossip_batch_txs_max as u64),
            ("gossip_batch_bytes_max", self.gossip_batch_bytes_max as u64),
            ("backlog_drain_ms", self.backlog_drain_ms),
            ("backlog_txs_min", self.backlog_txs_min as u64),
            ("backlog_rate_window_ms", self.backlog_rate_window_ms),
            ("retry_after_s_min", self.retry_after_s_min),
        ];
        for (field, v) in positive {
            if v == 0 {
                return err(field, "at least 1".into(), "0".into());
            }
        }
        if self.tx_bytes_max == 0 || self.tx_bytes_max > TX_BYTES_MAX {
            return err(
                "tx_bytes_max",
                format!("1..={TX_BYTES_MAX}"),
                self.tx_bytes_max.to_string(),
            );
        }
        if self.agency_txs_max > self.txs_max {
            return err(
                "agency_txs_max",
                format!("at most txs_max ({})", self.txs_max),
                self.agency_txs_max.to_string(),
            );
        }
        if self.agency_bytes_max > self.bytes_max || self.agency_bytes_max < self.tx_bytes_max {
            return err(
                "agency_bytes_max",
                format!(
                    "between tx_bytes_max ({}) and bytes_max ({})",
                    self.tx_bytes_max, self.bytes_max
                ),
                self.agency_bytes_max.to_string(),
            );
        }
        if self.backlog_rate_window_ms > BACKLOG_RATE_WINDOW_MS_MAX {
            return err(
                "backlog_rate_window_ms",
                format!("at most {BACKLOG_RATE_WINDOW_MS_MAX}"),
                self.backlog_rate_window_ms.to_string(),
            );
        }
        if self.backlog_drain_ms > BACKLOG_DRAIN_MS_MAX {
            return err(
                "backlog_drain_ms",
                format!("at most {BACKLOG_DRAIN_MS_MAX}"),
                self.backlog_drain_ms.to_string(),
            );
        }
        if self.retry_after_s_max < self.retry_after_s_min {
            return err(
                "retry_after_s_max",
                format!("at least retry_after_s_min ({})", self.retry_after_s_min),
                self.retry_after_s_max.to_string(),
            );
        }
        if self.gossip_batch_bytes_max < self.tx_bytes_max {
            return err(
                "gossip_batch_bytes_max",
                format!("at least tx_bytes_max ({})", self.tx_bytes_max),
                self.gossip_batch_bytes_max.to_string(),
            );
        }
        Ok(())
    }
}

/// Limits of one block, for [`Mempool::select`]; clamped to the kernel's block limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockLimits {
    /// Most transactions.
    pub txs_max: usize,
    /// Most bytes of transactions.
    pub bytes_max: usize,
    /// Rotates which agency is served first (pass e.g. the block height); `0` starts with the
    /// smallest agency id.
    pub rotation: u64,
}

impl Default for BlockLimits {
    fn default() -> Self {
        BlockLimits {
            txs_max: BLOCK_TXS_MAX,
            bytes_max: BLOCK_BYTES_MAX,
            rotation: 0,
        }
    }
}

/// A successful admission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admitted {
    /// The transaction's hash.
    pub hash: TxHash,
    /// Transactions evicted to make room for it (lower priority), in eviction order.
    pub evicted: Vec<TxHash>,
}

/// What [`Mempool::on_committed`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitSweep {
    /// Pending transactions that were in the block.
    pub committed: Vec<TxHash>,
    /// Pending transactions that can never execute now: sequence below the signer's new next
    /// sequence (superseded), or signer revoked / unknown.
    pub stale: Vec<TxHash>,
}

/// Position in the stream of admissions, for [`Mempool::pending_since`]. Starts at zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GossipCursor(pub u64);

/// A batch of newly admitted transactions to forward to peers.
#[derive(Clone, Debug, Default)]
pub struct GossipBatch {
    /// The transactions, in admission order.
    pub txs: Vec<VerifiedTx>,
    /// Pass this to the next call.
    pub next: GossipCursor,
}

#[derive(Clone, Debug)]
struct Entry {
    tx: VerifiedTx,
    arrival: u64,
    admitted_at: TimestampMs,
    origin: Origin,
}

impl Entry {
    fn size(&self) -> usize {
        self.tx.bytes().len()
    }
}

#[derive(Clone, Debug)]
struct SignerQueue {
    agency: AgencyId,
    txs: BTreeMap<Seq, Entry>,
}

#[derive(Clone, Debug, Default)]
struct AgencyState {
    txs: usize,
    bytes: usize,
    signers: BTreeSet<PublicKey>,
    /// Arrival number -> (signer, seq): the newest is the first eviction candidate.
    by_arrival: BTreeMap<u64, (PublicKey, Seq)>,
}

/// A transaction encoded and hashed once, before any check.
struct Prepared {
    tx: Transaction,
    hash: TxHash,
    size: usize,
}

impl Prepared {
    fn new(tx: Transaction) -> Prepared {
        let bytes = codec::encode(&tx);
        // The id of a transaction is a hash of its signer's suite, the chain's (a chain
        // decodes only keys of its suite).
        let hash = tx.body.signer.suite().hash(domain::TX_HASH, &bytes);
        Prepared {
            tx,
            hash,
            size: bytes.len(),
        }
    }
}

/// Signature verdicts for a batch of transactions, computed without the pool (by
/// [`Verdicts::compute`], on any thread) so that the task that owns the pool — the node's
/// consensus driver — does not spend its time on signature checks. Handed to
/// [`Mempool::insert_batch_with`], which then verifies only what the verdicts do not cover
/// (or, with [`Verdicts::deferred`], nothing). Only verification makes a valid verdict, so
/// the pool still admits only verified transactions.
#[derive(Debug, Default)]
pub struct Verdicts {
    map: HashMap<TxHash, Verdict>,
    /// Verify nothing: answer [`AdmitError::Unverified`] instead.
    deferred: bool,
}

impl Verdicts {
    /// Verify `txs` for `chain_id` as one batch (the kernel's linear bad-item search).
    /// Transactions for another chain get no verdict: admission reports them.
    pub fn compute(chain_id: &ChainId, txs: &[Transaction]) -> Verdicts {
        let mut keys = chancery_core::crypto::KeyCache::new(0);
        let prepared: Vec<Prepared> = txs.iter().cloned().map(Prepared::new).collect();
        let signers: Vec<PublicKey> = prepared.iter().map(|p| p.tx.body.signer).collect();
        let hashes: Vec<TxHash> = prepared.iter().map(|p| p.hash).collect();
        let results = tx::verify_batch_cached(
            chain_id,
            prepared.into_iter().map(|p| p.tx).collect(),
            &mut keys,
        );
        let mut map = HashMap::with_capacity(hashes.len());
        for ((hash, key), r) in hashes.into_iter().zip(signers).zip(results) {
            match r {
                Ok(v) => {
                    map.insert(hash, Verdict::Valid(v));
                }
                Err(TxError::Signature(_)) => {
                    map.insert(hash, Verdict::Invalid(key));
                }
                Err(_) => {}
            }
        }
        Verdicts {
            map,
            deferred: false,
        }
    }

    /// No verdicts, and none to be made by the pool: [`Mempool::insert_batch_with`] then
    /// checks no signature. A transaction that passes every other check (the backlog bound
    /// included) and whose verdict is not cached is not admitted but answered
    /// [`AdmitError::Unverified`]; the caller checks those signatures off the pool's task
    /// and submits them again with their verdicts. So a transaction the pool refuses anyway
    /// costs no signature check.
    pub fn deferred() -> Verdicts {
        Verdicts {
            map: HashMap::new(),
            deferred: true,
        }
    }

    /// Whether these are [`Verdicts::deferred`].
    pub fn is_deferred(&self) -> bool {
        self.deferred
    }

    /// How many transactions failed their signature check.
    pub fn bad_signatures(&self) -> usize {
        self.map
            .values()
            .filter(|v| matches!(v, Verdict::Invalid(_)))
            .count()
    }

    /// How many verdicts are held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no verdict is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The rate at which the chain finalizes transactions, measured by the pool itself: blocks
/// are counted by [`Mempool::on_committed`] and stamped with the times the pool is given
/// (admissions and expiry sweeps), so the pool needs no clock of its own.
#[derive(Debug, Default)]
struct FinalizedRate {
    /// Transactions finalized since the pool was made (every transaction of every block).
    total: u64,
    /// (time in ms, `total` then), oldest first, at least [`RATE_SAMPLE_MS`] apart, none
    /// older than the window.
    samples: VecDeque<(u64, u64)>,
}

impl FinalizedRate {
    /// Take a sample at `now_ms` (unless the last one is recent) and forget those that
    /// left the window.
    fn observe(&mut self, now_ms: u64, window_ms: u64) {
        match self.samples.back() {
            // A clock that went back also lands here: no sample until it passes the last.
            Some(&(t, _)) if now_ms < t.saturating_add(RATE_SAMPLE_MS) => {}
            _ => self.samples.push_back((now_ms, self.total)),
        }
        while self.samples.len() >= 2
            && self
                .samples
                .front()
                .is_some_and(|&(t, _)| t.saturating_add(window_ms) < now_ms)
        {
            self.samples.pop_front();
        }
    }

    /// (transactions, milliseconds): what was finalized from the oldest sample to `now_ms`,
    /// once that spans at least [`RATE_SPAN_MS_MIN`].
    fn measured(&self, now_ms: u64) -> Option<(u64, u64)> {
        let &(t, n) = self.samples.front()?;
        let span = now_ms.saturating_sub(t);
        (span >= RATE_SPAN_MS_MIN).then(|| (self.total.saturating_sub(n), span))
    }
}

/// The backlog bound and the rate it derives from, as of the last time the pool was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Backlog {
    /// [`Mempool::backlog_max`].
    max: usize,
    /// The rate as `txs` finalized in `ms` milliseconds (measured, or assumed:
    /// `backlog_txs_min` in `backlog_drain_ms`).
    txs: u64,
    ms: u64,
}

impl Backlog {
    /// From a rate of `txs` in `ms`: `backlog_drain_ms` of work at it, at least
    /// `backlog_txs_min`, at most `txs_max`.
    fn at_rate(c: &MempoolConfig, txs: u64, ms: u64) -> Backlog {
        let work = u128::from(txs) * u128::from(c.backlog_drain_ms) / u128::from(ms.max(1));
        let work = usize::try_from(work).unwrap_or(usize::MAX);
        Backlog {
            max: work.max(c.backlog_txs_min).min(c.txs_max),
            txs,
            ms,
        }
    }

    /// Before any rate is measured.
    fn assumed(c: &MempoolConfig) -> Backlog {
        Backlog::at_rate(c, c.backlog_txs_min as u64, c.backlog_drain_ms)
    }

    /// Seconds until `pending` transactions are down below the bound at the rate,
    /// clamped to `retry_after_s_min..=retry_after_s_max` (the greatest if nothing is
    /// finalized).
    fn retry_after_s(&self, c: &MempoolConfig, pending: usize) -> u64 {
        let excess = pending.saturating_sub(self.max) as u128 + 1;
        let s = match u128::from(self.txs) * 1000 {
            0 => u128::from(c.retry_after_s_max),
            per => (excess * u128::from(self.ms)).div_ceil(per),
        };
        u64::try_from(s)
            .unwrap_or(u64::MAX)
            .clamp(c.retry_after_s_min, c.retry_after_s_max)
    }
}

/// The pool. See the crate documentation.
#[derive(Debug)]
pub struct Mempool {
    chain_id: ChainId,
    config: MempoolConfig,
    signers: BTreeMap<PublicKey, SignerQueue>,
    agencies: BTreeMap<AgencyId, AgencyState>,
    by_hash: HashMap<TxHash, (PublicKey, Seq)>,
    /// (admitted_at, arrival) -> (signer, seq), for TTL eviction.
    expiry: BTreeMap<(TimestampMs, u64), (PublicKey, Seq)>,
    /// Arrival -> (signer, seq) of the entries to hand to gossip.
    gossip: BTreeMap<u64, (PublicKey, Seq)>,
    txs: usize,
    bytes: usize,
    next_arrival: u64,
    cache: SigCache,
    /// Signers' decompressed keys (a signer signs many transactions).
    keys: chancery_core::crypto::KeyCache,
    signatures_checked: u64,
    /// The finalized rate, for the backlog bound.
    rate: FinalizedRate,
    /// The backlog bound now.
    backlog: Backlog,
}

impl Mempool {
    /// An empty pool for `chain_id`.
    pub fn new(chain_id: ChainId, config: MempoolConfig) -> Result<Mempool, ConfigError> {
        config.validate()?;
        let cache = SigCache::new(
            config.verified_cache_txs_max,
            config.verified_cache_bytes_max,
        );
        Ok(Mempool {
            chain_id,
            signers: BTreeMap::new(),
            agencies: BTreeMap::new(),
            by_hash: HashMap::new(),
            expiry: BTreeMap::new(),
            gossip: BTreeMap::new(),
            txs: 0,
            bytes: 0,
            next_arrival: 0,
            cache,
            keys: chancery_core::crypto::KeyCache::new(KEY_CACHE_MAX),
            signatures_checked: 0,
            rate: FinalizedRate::default(),
            backlog: Backlog::assumed(&config),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MempoolConfig {
        &self.config
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.txs
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.txs == 0
    }

    /// Total bytes of pending transactions.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the transaction is pending.
    pub fn contains(&self, hash: &TxHash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// A pending transaction.
    pub fn get(&self, hash: &TxHash) -> Option<&VerifiedTx> {
        let (key, seq) = self.by_hash.get(hash)?;
        self.signers.get(key)?.txs.get(seq).map(|e| &e.tx)
    }

    /// Pending transactions and bytes of an agency.
    pub fn agency_load(&self, agency: &AgencyId) -> (usize, usize) {
        self.agencies
            .get(agency)
            .map_or((0, 0), |a| (a.txs, a.bytes))
    }

    /// How many signatures this pool has verified (singly or in batches) since it was made.
    pub fn signatures_checked(&self) -> u64 {
        self.signatures_checked
    }

    /// Entries in the verification cache (transactions outside the pool, bad signatures).
    pub fn verified_cache_len(&self) -> usize {
        self.cache.len()
    }

    /// Pending transactions of a signer.
    pub fn signer_len(&self, key: &PublicKey) -> usize {
        self.signers.get(key).map_or(0, |q| q.txs.len())
    }

    // ------------------------------------------------------------------ backlog

    /// The backlog bound, in transactions, as of the last time the pool was given
    /// ([`Mempool::insert`], [`Mempool::insert_batch_with`], [`Mempool::evict_expired`]):
    /// `backlog_drain_ms` of work at the rate the chain finalized transactions over the last
    /// `backlog_rate_window_ms` (every transaction of the blocks passed to
    /// [`Mempool::on_committed`]), at least `backlog_txs_min`, at most `txs_max`. Until the
    /// rate has been measured over [`RATE_SPAN_MS_MIN`], `backlog_txs_min`.
    ///
    /// While this many transactions or more are pending, a transaction from a client of this
    /// node ([`Origin::Local`]) that would extend its signer's tail is refused with
    /// [`AdmitError::Backlog`] and a time to retry, so what is admitted is finalized within
    /// about `backlog_drain_ms` instead of queueing without end. Still admitted past it:
    /// a transaction that fills a gap in its signer's sequence (its seq is the signer's next
    /// on the ledger, or below one of its pending transactions: refusing it would leave the
    /// signer's later transactions unexecutable in the pool), a transaction of an agency that
    /// holds less than its share of the bound (the bound over the agencies with pending
    /// transactions), and peers' transactions (another node admitted them). At `txs_max` the
    /// bound is off: only the pool's own limits apply.
    pub fn backlog_max(&self) -> usize {
        self.backlog.max
    }

    /// Stamp the finalized transactions counted so far with `now` and derive the bound.
    fn observe(&mut self, now: TimestampMs) {
        let c = &self.config;
        self.rate.observe(now.0, c.backlog_rate_window_ms);
        self.backlog = match self.rate.measured(now.0) {
            Some((txs, ms)) => Backlog::at_rate(c, txs, ms),
            None => Backlog::assumed(c),
        };
    }

    /// The backlog rule ([`Mempool::backlog_max`]) for a transaction that passed
    /// [`Mempool::precheck`]: `next` is its signer's next sequence on the ledger.
    fn check_backlog(
        &self,
        p: &Prepared,
        agency: &AgencyId,
        next: Seq,
        origin: Origin,
    ) -> Result<(), AdmitError> {
        let max = self.backlog.max;
        if origin != Origin::Local || max >= self.config.txs_max || self.txs < max {
            return Ok(());
        }
        let body = &p.tx.body;
        let fills_gap = body.seq == next
            || self
                .signers
                .get(&body.signer)
                .and_then(|q| q.txs.last_key_value())
                .is_some_and(|(last, _)| *last > body.seq);
        if fills_gap {
            return Ok(());
        }
        let agencies = self.agencies.len() + usize::from(!self.agencies.contains_key(agency));
        let share = max / agencies.max(1);
        if self.agency_load(agency).0 < share {
            return Ok(());
        }
        Err(AdmitError::Backlog {
            backlog: self.txs,
            backlog_max: max,
            retry_after_s: self.backlog.retry_after_s(&self.config, self.txs),
        })
    }

    // ------------------------------------------------------------------ admission

    /// Admit one transaction, verifying its signature one by one (unless a verdict for its hash
    /// is cached). `now` is the admission time used for the TTL.
    pub fn insert(
        &mut self,
        tx: Transaction,
        origin: Origin,
        now: TimestampMs,
        view: &impl AdmissionView,
    ) -> Result<Admitted, AdmitError> {
        self.observe(now);
        let p = Prepared::new(tx);
        let (agency, next) = self.precheck(&p, view)?;
        self.check_backlog(&p, &agency, next, origin)?;
        let victims = self.plan_room(&agency, p.size)?;
        let vtx = self.signature(p, None)?;
        Ok(self.place(vtx, agency, victims, origin, now))
    }

    /// Admit many transactions, verifying the signatures in batches of
    /// `verify_batch_txs_max` (batched Ed25519). Returns one result per input, in order; the
    /// transactions are admitted in input order, exactly as by repeated [`Mempool::insert`].
    pub fn insert_batch(
        &mut self,
        txs: Vec<Transaction>,
        origin: Origin,
        now: TimestampMs,
        view: &impl AdmissionView,
    ) -> Vec<Result<Admitted, AdmitError>> {
        self.insert_batch_with(txs, Verdicts::default(), origin, now, view)
    }

    /// [`Mempool::insert_batch`] with signature verdicts computed beforehand (off the
    /// pool's task, [`Verdicts::compute`]): transactions they cover are not verified again.
    pub fn insert_batch_with(
        &mut self,
        txs: Vec<Transaction>,
        mut given: Verdicts,
        origin: Origin,
        now: TimestampMs,
        view: &impl AdmissionView,
    ) -> Vec<Result<Admitted, AdmitError>> {
        self.observe(now);
        let mut out = Vec::with_capacity(txs.len());
        let mut txs = txs.into_iter().peekable();
        while txs.peek().is_some() {
            let chunk: Vec<Transaction> = txs
                .by_ref()
                .take(self.config.verify_batch_txs_max)
                .collect();
            self.insert_chunk(chunk, &mut given, origin, now, view, &mut out);
        }
        out
    }

    fn insert_chunk(
        &mut self,
        chunk: Vec<Transaction>,
        given: &mut Verdicts,
        origin: Origin,
        now: TimestampMs,
        view: &impl AdmissionView,
        out: &mut Vec<Result<Admitted, AdmitError>>,
    ) {
        // 1. Cheap checks against the pool as it is now; collect what needs a signature check.
        let prepared: Vec<Prepared> = chunk.into_iter().map(Prepared::new).collect();
        let mut early: Vec<Option<AdmitError>> = Vec::with_capacity(prepared.len());
        let mut to_verify: Vec<(TxHash, Transaction)> = Vec::new();
        let mut queued: BTreeSet<TxHash> = BTreeSet::new();
        for p in &prepared {
            let checked = self
                .precheck(p, view)
                .and_then(|(agency, next)| self.check_backlog(p, &agency, next, origin));
            match checked {
                Err(e) => early.push(Some(e)),
                Ok(()) => {
                    early.push(None);
                    if !given.deferred
                        && self.cache.get(&p.hash).is_none()
                        && !given.map.contains_key(&p.hash)
                        && queued.insert(p.hash)
                    {
                        to_verify.push((p.hash, p.tx.clone()));
                    }
                }
            }
        }
        // 2. One batch verification for everything not yet verified.
        let mut verdicts = self.verify_many(to_verify);
        for p in &prepared {
            match given.map.remove(&p.hash) {
                Some(Verdict::Invalid(key)) => self.cache.put(p.hash, Verdict::Invalid(key)),
                Some(v) => {
                    verdicts.insert(p.hash, v);
                }
                None => {}
            }
        }
        // 3. Admit in order, re-checking against the pool as earlier items changed it.
        for (p, e) in prepared.into_iter().zip(early) {
            if let Some(e) = e {
                out.push(Err(e));
                continue;
            }
            let pre = verdicts.remove(&p.hash);
            let room = self.precheck(&p, view).and_then(|(agency, next)| {
                self.check_backlog(&p, &agency, next, origin)?;
                let victims = self.plan_room(&agency, p.size)?;
                Ok((agency, victims))
            });
            let r = match room {
                Err(e) => {
                    // Verified for nothing this time: remember it for a later submission.
                    if let Some(v) = pre {
                        self.cache.put(p.hash, v);
                    }
                    Err(e)
                }
                Ok(_) if given.deferred && pre.is_none() && self.cache.get(&p.hash).is_none() => {
                    Err(AdmitError::Unverified {
                        hash: p.hash,
                        backlog_max: self.backlog.max,
                    })
                }
                Ok((agency, victims)) => self
                    .signature(p, pre)
                    .map(|vtx| self.place(vtx, agency, victims, origin, now)),
            };
            out.push(r);
        }
    }

    /// Batch-verify; bad signatures are remembered in the cache at once, good ones returned.
    fn verify_many(&mut self, txs: Vec<(TxHash, Transaction)>) -> HashMap<TxHash, Verdict> {
        let (hashes, txs): (Vec<TxHash>, Vec<Transaction>) = txs.into_iter().unzip();
        let keys: Vec<PublicKey> = txs.iter().map(|t| t.body.signer).collect();
        self.signatures_checked += txs.len() as u64;
        let mut out = HashMap::with_capacity(hashes.len());
        for ((hash, key), r) in hashes.into_iter().zip(keys).zip(tx::verify_batch_cached(
            &self.chain_id,
            txs,
            &mut self.keys,
        )) {
            match r {
                Ok(v) => {
                    out.insert(hash, Verdict::Valid(v));
                }
                Err(TxError::Signature(_)) => {
                    self.cache.put(hash, Verdict::Invalid(key));
                }
                // Wrong chain or codec: not a signature verdict; the caller's checks report it.
                Err(_) => {}
            }
        }
        out
    }

    /// Verify transactions (e.g. those of a block proposal) using the pool and the cache
    /// first, then batched Ed25519 for the rest; remembers the new verdicts. One result per
    /// input, in order. Does not change what is pending.
    pub fn verify_cached(&mut self, txs: Vec<Transaction>) -> Vec<Result<VerifiedTx, AdmitError>> {
        let mut out = Vec::with_capacity(txs.len());
        let mut txs = txs.into_iter().peekable();
        while txs.peek().is_some() {
            let chunk: Vec<Prepared> = txs
                .by_ref()
                .take(self.config.verify_batch_txs_max)
                .map(Prepared::new)
                .collect();
            let mut queued: BTreeSet<TxHash> = BTreeSet::new();
            let mut to_verify = Vec::new();
            for p in &chunk {
                if self.get(&p.hash).is_none()
                    && self.cache.get(&p.hash).is_none()
                    && p.tx.body.chain_id == self.chain_id
                    && queued.insert(p.hash)
                {
                    to_verify.push((p.hash, p.tx.clone()));
                }
            }
            let verdicts = self.verify_many(to_verify);
            for (hash, v) in &verdicts {
                self.cache.put(*hash, v.clone());
            }
            for p in chunk {
                let r = match self.get(&p.hash) {
                    Some(v) => Ok(v.clone()),
                    None => {
                        let pre = verdicts.get(&p.hash).cloned();
                        self.signature(p, pre)
                    }
                };
                out.push(r);
            }
        }
        out
    }

    /// A verified transaction by hash, from the pool or the verification cache.
    pub fn verified(&self, hash: &TxHash) -> Option<VerifiedTx> {
        if let Some(v) = self.get(hash) {
            return Some(v.clone());
        }
        match self.cache.get(hash) {
            Some(Verdict::Valid(v)) => Some(v.clone()),
            _ => None,
        }
    }

    /// The signature check: a verdict from a batch, a cached one, or one strict verification
    /// (a failure is remembered).
    fn signature(&mut self, p: Prepared, pre: Option<Verdict>) -> Result<VerifiedTx, AdmitError> {
        let key = p.tx.body.signer;
        match pre.as_ref().or_else(|| self.cache.get(&p.hash)) {
            Some(Verdict::Valid(v)) => return Ok(v.clone()),
            Some(Verdict::Invalid(key)) => return Err(AdmitError::BadSignature { key: *key }),
            None => {}
        }
        self.signatures_checked += 1;
        match p.tx.verify(&self.chain_id) {
            Ok(v) => Ok(v),
            Err(TxError::WrongChain { expected, found }) => {
                Err(AdmitError::WrongChain { expected, found })
            }
            Err(_) => {
                self.cache.put(p.hash, Verdict::Invalid(key));
                Err(AdmitError::BadSignature { key })
            }
        }
    }

    /// Every check but the backlog, capacity and signature; returns the signer's agency and
    /// its next sequence on the ledger.
    fn precheck(
        &self,
        p: &Prepared,
        view: &impl AdmissionView,
    ) -> Result<(AgencyId, Seq), AdmitError> {
        let body = &p.tx.body;
        let key = body.signer;
        if p.size > self.config.tx_bytes_max {
            return Err(AdmitError::TooLarge {
                limit: self.config.tx_bytes_max,
                found: p.size,
            });
        }
        if self.by_hash.contains_key(&p.hash) {
            return Err(AdmitError::Duplicate { hash: p.hash });
        }
        if body.chain_id != self.chain_id {
            return Err(AdmitError::WrongChain {
                expected: self.chain_id,
                found: body.chain_id,
            });
        }
        let member = view.member(&key).ok_or(AdmitError::UnknownSigner { key })?;
        if member.revoked {
            return Err(AdmitError::SignerRevoked { key });
        }
        let kind = body.record.kind();
        let role = kind.required_role();
        if !member.roles.contains(&role) {
            return Err(AdmitError::MissingRole { key, role, kind });
        }
        let next = view.next_seq(&key);
        let last = Seq(next.0.saturating_add(self.config.seq_window_max - 1));
        if body.seq < next || body.seq > last {
            return Err(AdmitError::BadSequence {
                key,
                expected_min: next,
                expected_max: last,
                found: body.seq,
            });
        }
        // A signer's queue keeps the agency of its first admission (a key has one agency).
        let agency = match self.signers.get(&key) {
            Some(q) => {
                if let Some(e) = q.txs.get(&body.seq) {
                    return Err(AdmitError::SequenceTaken {
                        key,
                        seq: body.seq,
                        pending: e.tx.hash(),
                    });
                }
                if q.txs.len() >= self.config.per_signer_max {
                    return Err(AdmitError::SignerFull {
                        key,
                        limit: self.config.per_signer_max,
                    });
                }
                q.agency.clone()
            }
            None => member.agency,
        };
        let (a_txs, a_bytes) = self.agency_load(&agency);
        if a_txs >= self.config.agency_txs_max {
            return Err(AdmitError::AgencyFull {
                agency,
                limit: PoolLimit::AgencyTxs,
                max: self.config.agency_txs_max,
            });
        }
        if a_bytes + p.size > self.config.agency_bytes_max {
            return Err(AdmitError::AgencyFull {
                agency,
                limit: PoolLimit::AgencyBytes,
                max: self.config.agency_bytes_max,
            });
        }
        Ok((agency, next))
    }

    /// The share of the pool a load represents, comparable across agencies:
    /// `max(txs / txs_max, bytes / bytes_max)`, scaled by `txs_max * bytes_max`.
    fn share(&self, txs: usize, bytes: usize) -> u128 {
        let a = txs as u128 * self.config.bytes_max as u128;
        let b = bytes as u128 * self.config.txs_max as u128;
        a.max(b)
    }

    /// Which pending transactions to evict so that a transaction of `size` bytes from `agency`
    /// fits. Victims: the newest entry of the agency with the largest share, as long as that
    /// share exceeds the newcomer's agency's share including the newcomer.
    fn plan_room(
        &self,
        agency: &AgencyId,
        size: usize,
    ) -> Result<Vec<(PublicKey, Seq)>, AdmitError> {
        let (limit, max) = if self.txs + 1 > self.config.txs_max {
            (PoolLimit::Txs, self.config.txs_max)
        } else if self.bytes + size > self.config.bytes_max {
            (PoolLimit::Bytes, self.config.bytes_max)
        } else {
            return Ok(Vec::new());
        };
        let full = || AdmitError::PoolFull { limit, max };
        let (a_txs, a_bytes) = self.agency_load(agency);
        let mine = self.share(a_txs + 1, a_bytes + size);
        // Simulated loads and, per agency, how many of its newest entries are already taken.
        let mut loads: BTreeMap<&AgencyId, (usize, usize, usize)> = self
            .agencies
            .iter()
            .filter(|(a, _)| *a != agency)
            .map(|(a, s)| (a, (s.txs, s.bytes, 0)))
            .collect();
        let (mut txs, mut bytes) = (self.txs, self.bytes);
        let mut victims = Vec::new();
        while txs + 1 > self.config.txs_max || bytes + size > self.config.bytes_max {
            let heaviest = loads
                .iter()
                .max_by_key(|(a, (t, b, _))| (self.share(*t, *b), **a))
                .map(|(a, (t, b, _))| (*a, self.share(*t, *b)));
            let Some((h, share)) = heaviest else {
                return Err(full());
            };
            if share <= mine {
                return Err(full());
            }
            let Some(state) = self.agencies.get(h) else {
                return Err(full());
            };
            let Some(load) = loads.get_mut(h) else {
                return Err(full());
            };
            let Some((_, &(key, seq))) = state.by_arrival.iter().rev().nth(load.2) else {
                return Err(full());
            };
            let victim_size = self
                .signers
                .get(&key)
                .and_then(|q| q.txs.get(&seq))
                .map_or(0, Entry::size);
            load.0 -= 1;
            load.1 -= victim_size;
            load.2 += 1;
            txs -= 1;
            bytes -= victim_size;
            victims.push((key, seq));
        }
        Ok(victims)
    }

    /// Evict the planned victims and insert.
    fn place(
        &mut self,
        vtx: VerifiedTx,
        agency: AgencyId,
        victims: Vec<(PublicKey, Seq)>,
        origin: Origin,
        now: TimestampMs,
    ) -> Admitted {
        let mut evicted = Vec::with_capacity(victims.len());
        for (key, seq) in victims {
            if let Some(e) = self.remove_entry(&key, seq) {
                evicted.push(e.tx.hash());
                self.cache.put(e.tx.hash(), Verdict::Valid(e.tx));
            }
        }
        let hash = vtx.hash();
        self.cache.remove(&hash);
        let key = vtx.tx().body.signer;
        let seq = vtx.tx().body.seq;
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        let entry = Entry {
            tx: vtx,
            arrival,
            admitted_at: now,
            origin,
        };
        let size = entry.size();
        let q = self.signers.entry(key).or_insert_with(|| SignerQueue {
            agency: agency.clone(),
            txs: BTreeMap::new(),
        });
        q.txs.insert(seq, entry);
        let a = self.agencies.entry(agency).or_default();
        a.txs += 1;
        a.bytes += size;
        a.signers.insert(key);
        a.by_arrival.insert(arrival, (key, seq));
        self.by_hash.insert(hash, (key, seq));
        self.expiry.insert((now, arrival), (key, seq));
        if origin == Origin::Local || self.config.gossip_peer_txs {
            self.gossip.insert(arrival, (key, seq));
        }
        self.txs += 1;
        self.bytes += size;
        Admitted { hash, evicted }
    }

    /// Remove one entry, keeping every index consistent.
    fn remove_entry(&mut self, key: &PublicKey, seq: Seq) -> Option<Entry> {
        let q = self.signers.get_mut(key)?;
        let entry = q.txs.remove(&seq)?;
        let agency = q.agency.clone();
        if q.txs.is_empty() {
            self.signers.remove(key);
        }
        let size = entry.size();
        if let Some(a) = self.agencies.get_mut(&agency) {
            a.txs -= 1;
            a.bytes -= size;
            a.by_arrival.remove(&entry.arrival);
            if !self.signers.contains_key(key) {
                a.signers.remove(key);
            }
            if a.txs == 0 {
                self.agencies.remove(&agency);
            }
        }
        self.by_hash.remove(&entry.tx.hash());
        self.expiry.remove(&(entry.admitted_at, entry.arrival));
        self.gossip.remove(&entry.arrival);
        self.txs -= 1;
        self.bytes -= size;
        Some(entry)
    }

    // ------------------------------------------------------------------ selection

    /// A block's worth of transactions, executable in order: for each signer, a gap-free run
    /// starting at `view.next_seq(signer)`. Agencies are served round-robin (starting at
    /// `limits.rotation` modulo the number of agencies, in agency-id order), and within an
    /// agency its signers round-robin in key order, one transaction per turn. A transaction that
    /// does not fit the remaining bytes ends its signer's run for this block.
    ///
    /// The result depends only on the set of pending transactions, `limits` and the view, never
    /// on arrival order.
    pub fn select(&self, limits: &BlockLimits, view: &impl AdmissionView) -> Vec<VerifiedTx> {
        struct Turns<'a> {
            fresh: std::collections::btree_set::Iter<'a, PublicKey>,
            again: VecDeque<(&'a SignerQueue, Seq)>,
        }
        let txs_max = limits.txs_max.min(BLOCK_TXS_MAX);
        let bytes_max = limits.bytes_max.min(BLOCK_BYTES_MAX);
        let mut ring: VecDeque<Turns<'_>> = self
            .agencies
            .values()
            .map(|a| Turns {
                fresh: a.signers.iter(),
                again: VecDeque::new(),
            })
            .collect();
        if !ring.is_empty() {
            let n = ring.len() as u64;
            ring.rotate_left((limits.rotation % n) as usize);
        }
        let mut out = Vec::new();
        let mut bytes = 0usize;
        while out.len() < txs_max {
            let Some(mut turns) = ring.pop_front() else {
                break;
            };
            // This agency's next signer with an executable transaction that fits.
            let picked = loop {
                let (q, seq) = if let Some(key) = turns.fresh.next() {
                    let Some(q) = self.signers.get(key) else {
                        continue;
                    };
                    (q, view.next_seq(key))
                } else if let Some(t) = turns.again.pop_front() {
                    t
                } else {
                    break None;
                };
                match q.txs.get(&seq) {
                    Some(e) if bytes + e.size() <= bytes_max => break Some((q, seq, e)),
                    _ => continue,
                }
            };
            let Some((q, seq, e)) = picked else {
                continue; // the agency has nothing more for this block
            };
            out.push(e.tx.clone());
            bytes += e.size();
            if let Some(next) = seq.0.checked_add(1).map(Seq) {
                if q.txs.contains_key(&next) {
                    turns.again.push_back((q, next));
                }
            }
            ring.push_back(turns);
        }
        out
    }

    // ------------------------------------------------------------------ eviction

    /// After a block is finalized: drop its transactions, and every pending transaction that can
    /// no longer execute — sequence below its signer's new `next_seq` (superseded), or signer
    /// unknown or revoked. Only signers touched by the block (its signers and the keys it
    /// revokes) are re-examined. Every transaction of the block counts towards the finalized
    /// rate that sets the backlog bound ([`Mempool::backlog_max`]).
    pub fn on_committed<'a>(
        &mut self,
        block_txs: impl IntoIterator<Item = &'a Transaction>,
        view: &impl AdmissionView,
    ) -> CommitSweep {
        let mut sweep = CommitSweep::default();
        let mut touched: BTreeSet<PublicKey> = BTreeSet::new();
        for t in block_txs {
            // Every finalized transaction counts for the rate, pending here or not.
            self.rate.total = self.rate.total.saturating_add(1);
            let key = t.body.signer;
            let is_pending = self
                .signers
                .get(&key)
                .and_then(|q| q.txs.get(&t.body.seq))
                .is_some_and(|e| e.tx.tx() == t);
            if is_pending {
                if let Some(e) = self.remove_entry(&key, t.body.seq) {
                    sweep.committed.push(e.tx.hash());
                }
            }
            touched.insert(key);
            if let Record::RevokeMember(r) = &t.body.record {
                touched.insert(r.key);
            }
        }
        for key in touched {
            let Some(q) = self.signers.get(&key) else {
                continue;
            };
            let alive = view.member(&key).is_some_and(|m| !m.revoked);
            let next = view.next_seq(&key);
            let dead: Vec<Seq> = if alive {
                q.txs.range(..next).map(|(s, _)| *s).collect()
            } else {
                q.txs.keys().copied().collect()
            };
            for seq in dead {
                if let Some(e) = self.remove_entry(&key, seq) {
                    sweep.stale.push(e.tx.hash());
                }
            }
        }
        sweep
    }

    /// Drop every transaction admitted at or before `now - ttl_ms`. Returns their hashes, oldest
    /// first. Expired transactions stay in the verification cache.
    pub fn evict_expired(&mut self, now: TimestampMs) -> Vec<TxHash> {
        self.observe(now);
        let mut out = Vec::new();
        while let Some((&(at, _), &(key, seq))) = self.expiry.first_key_value() {
            if at.0.saturating_add(self.config.ttl_ms) > now.0 {
                break;
            }
            match self.remove_entry(&key, seq) {
                Some(e) => {
                    out.push(e.tx.hash());
                    self.cache.put(e.tx.hash(), Verdict::Valid(e.tx));
                }
                None => {
                    // Unreachable while the indexes are consistent; never loop forever.
                    self.expiry.pop_first();
                }
            }
        }
        out
    }

    // ------------------------------------------------------------------ gossip

    /// Up to `txs_max` (and at most `gossip_batch_txs_max` / `gossip_batch_bytes_max`) still
    /// pending transactions admitted at or after `cursor`, oldest first; peers' transactions are
    /// included only if `gossip_peer_txs`. Transactions that left the pool are skipped.
    pub fn pending_since(&self, cursor: GossipCursor, txs_max: usize) -> GossipBatch {
        self.gossip_batch(cursor, None, txs_max)
    }

    /// Like [`Mempool::pending_since`], but only transactions admitted at or before
    /// `admitted_by`: the batch ends at the first one admitted later (admission order is
    /// nearly time order; one admitted under a clock that stepped back waits a round).
    /// For re-gossip of transactions still pending long after they were first sent.
    pub fn pending_admitted_by(
        &self,
        cursor: GossipCursor,
        admitted_by: TimestampMs,
        txs_max: usize,
    ) -> GossipBatch {
        self.gossip_batch(cursor, Some(admitted_by), txs_max)
    }

    fn gossip_batch(
        &self,
        cursor: GossipCursor,
        admitted_by: Option<TimestampMs>,
        txs_max: usize,
    ) -> GossipBatch {
        let txs_max = txs_max.min(self.config.gossip_batch_txs_max);
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut next = cursor;
        for (&arrival, (key, seq)) in self.gossip.range(cursor.0..) {
            if out.len() >= txs_max {
                break;
            }
            let Some(e) = self.signers.get(key).and_then(|q| q.txs.get(seq)) else {
                continue;
            };
            if admitted_by.is_some_and(|by| e.admitted_at > by) {
                break;
            }
            if bytes + e.size() > self.config.gossip_batch_bytes_max {
                break;
            }
            bytes += e.size();
            out.push(e.tx.clone());
            next = GossipCursor(arrival + 1);
        }
        GossipBatch { txs: out, next }
    }

    // ------------------------------------------------------------------ invariants

    /// Check every internal invariant; for tests and the simulator. Costs O(n log n).
    pub fn check_invariants(&self) -> Result<(), String> {
        let c = &self.config;
        if self.txs > c.txs_max || self.bytes > c.bytes_max {
            return Err(format!(
                "pool holds {} txs / {} bytes, limits {} / {}",
                self.txs, self.bytes, c.txs_max, c.bytes_max
            ));
        }
        let mut txs = 0usize;
        let mut bytes = 0usize;
        let mut per_agency: BTreeMap<&AgencyId, (usize, usize, BTreeSet<PublicKey>)> =
            BTreeMap::new();
        let mut arrivals: BTreeSet<u64> = BTreeSet::new();
        for (key, q) in &self.signers {
            if q.txs.is_empty() {
                return Err(format!("signer {key} has an empty queue"));
            }
            if q.txs.len() > c.per_signer_max {
                return Err(format!(
                    "signer {key} holds {} > per_signer_max",
                    q.txs.len()
                ));
            }
            let a = per_agency.entry(&q.agency).or_default();
            a.2.insert(*key);
            for (seq, e) in &q.txs {
                let body = &e.tx.tx().body;
                if body.signer != *key || body.seq != *seq {
                    return Err(format!(
                        "entry ({key}, {seq}) holds ({}, {})",
                        body.signer, body.seq
                    ));
                }
                if self.by_hash.get(&e.tx.hash()) != Some(&(*key, *seq)) {
                    return Err(format!("hash index misses ({key}, {seq})"));
                }
                if self.expiry.get(&(e.admitted_at, e.arrival)) != Some(&(*key, *seq)) {
                    return Err(format!("expiry index misses ({key}, {seq})"));
                }
                let gossiped = e.origin == Origin::Local || c.gossip_peer_txs;
                if gossiped != (self.gossip.get(&e.arrival) == Some(&(*key, *seq))) {
                    return Err(format!("gossip index wrong for ({key}, {seq})"));
                }
                let in_agency = self
                    .agencies
                    .get(&q.agency)
                    .and_then(|s| s.by_arrival.get(&e.arrival));
                if in_agency != Some(&(*key, *seq)) {
                    return Err(format!("agency arrival index misses ({key}, {seq})"));
                }
                if !arrivals.insert(e.arrival) || e.arrival >= self.next_arrival {
                    return Err(format!("arrival number {} reused or ahead", e.arrival));
                }
                txs += 1;
                bytes += e.size();
                a.0 += 1;
                a.1 += e.size();
            }
        }
        if txs != self.txs || bytes != self.bytes {
            return Err(format!(
                "counters say {} txs / {} bytes, entries {txs} / {bytes}",
                self.txs, self.bytes
            ));
        }
        if self.by_hash.len() != txs || self.expiry.len() != txs || self.gossip.len() > txs {
            return Err(format!(
                "index sizes: hash {}, expiry {}, gossip {}, entries {txs}",
                self.by_hash.len(),
                self.expiry.len(),
                self.gossip.len()
            ));
        }
        if per_agency.len() != self.agencies.len() {
            return Err(format!(
                "{} agencies hold entries, {} are indexed",
                per_agency.len(),
                self.agencies.len()
            ));
        }
        for (agency, (t, b, signers)) in per_agency {
            let Some(s) = self.agencies.get(agency) else {
                return Err(format!("agency {agency} not indexed"));
            };
            if s.txs != t || s.bytes != b || s.signers != signers || s.by_arrival.len() != t {
                return Err(format!("agency {agency} counters or signer set wrong"));
            }
            if t > c.agency_txs_max || b > c.agency_bytes_max {
                return Err(format!(
                    "agency {agency} holds {t} txs / {b} bytes, over its share"
                ));
            }
        }
        self.cache.check()?;
        if self.by_hash.keys().any(|h| self.cache.get(h).is_some()) {
            return Err("a pending transaction is also in the verification cache".into());
        }
        Ok(())
    }
}
