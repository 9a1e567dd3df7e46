//! # chancery-ledger — execution, state commitments, block application, queries, checks
//!
//! The ledger owns the database schema ([`schema`]) over any [`Store`]:
//!
//! - [`Ledger::open`] writes the genesis state once, then reopens at the last applied block;
//! - [`Ledger::execute`] runs a candidate block's transactions against the current state
//!   and returns the outcomes and the roots a header must carry, without committing: the
//!   proposer fills its header with it, validators check proposals with the same code;
//! - [`Ledger::apply`] commits a finalized block in one atomic, synced [`Store::write`]
//!   (block, certificate, log entries, tx index, versioned state, state-tree nodes,
//!   log-tree hashes and the "last applied" pointer), after checking its header against
//!   what execution computed;
//! - the indexer ([`Ledger::index_pending`], [`Ledger::index_chunk`], [`Ledger::reindex`])
//!   writes the secondary indexes afterwards, from the stored blocks, in its own
//!   not-synced batches; index queries answer as of [`Ledger::indexed_height`];
//! - queries ([`Ledger::tx`], [`Ledger::block`], [`Ledger::asset`], [`Ledger::awards`], ...)
//!   with cursor pagination and a page limit;
//! - state proofs ([`Ledger::prove`]) that the kernel verifies offline
//!   (`chancery_core::state::verify_state_proof`);
//! - [`check()`]: re-derive the whole database from its blocks and compare.
//!
//! Nothing a client or a peer sends makes execution panic: every rule failure becomes an
//! [`Outcome::Rejected`] with a [`ReasonCode`], every storage failure an error.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod agencies;
mod apply_checked;
mod check;
mod epochs;
mod exec;
pub mod explore;
mod governance;
mod indexer;
mod logtree;
mod procure;
mod proofs;
mod query;
pub mod schema;
mod smt;
mod snapshot;
mod speculative;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tree;
mod verify;

pub use check::{check, CheckReport, Problem, PROBLEMS_MAX};
pub use indexer::{IndexProgress, INDEX_BATCH_PUTS_MAX, META_INDEXED_HEIGHT};
pub use proofs::{ProofRequestError, DESCENDANT_SEARCH_MAX};
pub use query::{
    AwardFilter, AwardKey, EvidenceRecord, GrantFilter, GrantStatus, Page, TxRecord,
    EVIDENCE_BYTES_MAX, EVIDENCE_KEY_PREFIX, PAGE_SIZE_MAX, TX_OCCURRENCES_MAX,
};
pub use snapshot::{
    store_kind, InstallError, SnapshotInstaller, StoreKind, META_FIRST_HEIGHT,
    META_SNAPSHOT_INSTALL, SNAPSHOT_TOPS_KEPT,
};
pub use speculative::{SpeculativeView, SPECULATIVE_DEPTH_MAX, SPECULATIVE_KEPT_MAX};
pub use tree::{META_TREE_FLUSHED, META_TREE_SNAPSHOT};
pub use verify::{
    verify_block_txs, verify_block_txs_with, VerifyConfig, CHUNK_TXS_MIN_DEFAULT,
    VERIFY_THREADS_MAX,
};

use chancery_core::block::{Block, BlockHeader, LogEntry, Outcome, ReasonCode};
use chancery_core::cert::{CertError, Certificate, VoteKind};
use chancery_core::codec::{self, Canonical};
use chancery_core::genesis::Genesis;
use chancery_core::governance::{
    AgencyState, GovernanceState, KeyUse, ValidatorKeyState, VALIDATORS_MIN,
};
use chancery_core::limits::BLOCK_TXS_MAX;
use chancery_core::record::Role;
use chancery_core::state::{MemberState, StateKey, StateProof, StateValue, EMPTY};
use chancery_core::tx::{Transaction, VerifiedTx};
use chancery_core::validator::ValidatorSet;
use chancery_core::{AgencyId, ChainId, Digest, Epoch, Height, TimestampMs, TxHash};
use chancery_storage::{Column, Store, StoreError, WriteBatch};
use schema::{StateEntry, StoredBlock, TxLoc};
use smt::Node;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use thiserror::Error;

/// Errors of the ledger. Rule violations by transactions are not errors: they are
/// outcomes ([`Outcome::Rejected`]).
#[derive(Debug, Error)]
pub enum LedgerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored value is not what was written (bad encoding or hash).
    #[error("corrupt data in column {column:?} at key {key_hex}: {what}")]
    Corrupt {
        /// Column.
        column: Column,
        /// Key, hex.
        key_hex: String,
        /// What is wrong.
        what: String,
    },
    /// The genesis document cannot start a ledger.
    #[error("bad genesis: {0}")]
    Genesis(String),
    /// The database was made for another chain.
    #[error("database is for chain {found}, genesis given is chain {expected}")]
    GenesisMismatch {
        /// Chain id of the genesis given.
        expected: ChainId,
        /// Chain id stored.
        found: ChainId,
    },
    /// A block was to be executed on a parent that has no result here: neither the
    /// committed tip nor a kept speculative result (R15).
    #[error("parent {parent} has no result to execute on: expected the last committed block or a block executed speculatively")]
    NoResult {
        /// The parent asked for.
        parent: Digest,
    },
    /// A block was to be executed on a chain of uncommitted parents longer than the limit.
    #[error("more than {max} uncommitted parents: expected at most speculative_depth_max = {max} blocks between the committed tip and the new block")]
    SpeculationTooDeep {
        /// The limit ([`SPECULATIVE_DEPTH_MAX`]).
        max: u64,
    },
    /// A block at the wrong height.
    #[error("block height {found}, expected {expected}")]
    WrongHeight {
        /// Next height.
        expected: Height,
        /// Given.
        found: Height,
    },
    /// A block whose parent is not the last applied block.
    #[error("block parent {found}, expected {expected}")]
    WrongParent {
        /// Last applied block's hash.
        expected: Digest,
        /// Given.
        found: Digest,
    },
    /// Block time not after the parent's.
    #[error("block time {found} is not after the parent's {parent}")]
    TimeNotAfterParent {
        /// Parent time.
        parent: TimestampMs,
        /// Given.
        found: TimestampMs,
    },
    /// Too many transactions.
    #[error("{found} transactions in a block, at most {max}")]
    TooManyTxs {
        /// Limit.
        max: usize,
        /// Given.
        found: usize,
    },
    /// A header field differs from what execution computed.
    #[error("header {field}: execution computed {expected}, header says {found}")]
    HeaderMismatch {
        /// Field.
        field: &'static str,
        /// Computed.
        expected: String,
        /// In the header.
        found: String,
    },
    /// The finalization certificate does not certify the block.
    #[error("finalization certificate: {0}")]
    Certificate(String),
    /// A block was found beyond the last applied height (a torn write).
    #[error("torn write: data for height {height} present beyond the last applied height")]
    Torn {
        /// Height found.
        height: Height,
    },
    /// A page larger than allowed.
    #[error("page of {found} entries requested, at most {max}")]
    PageTooLarge {
        /// Limit.
        max: usize,
        /// Requested.
        found: usize,
    },
    /// A cursor that this ledger did not produce.
    #[error("bad cursor {0:?}")]
    BadCursor(String),
    /// A state proof at a height whose tree is no longer kept (see the retention policy in
    /// docs/ledger.md).
    #[error(
        "no state proof at height {found}: the state tree is kept for every height from \
         {window_from} on and for flushed heights (every {flush_blocks} blocks or sooner)"
    )]
    NotRetained {
        /// Asked.
        found: Height,
        /// First height of the retained window.
        window_from: Height,
        /// Most blocks between two flushed heights.
        flush_blocks: u64,
    },
    /// A height below the first one this ledger holds: it was installed from the snapshot
    /// of `first` (docs/ledger.md, "Snapshots"), so the blocks, state versions and state
    /// trees below it are not here.
    #[error(
        "height {found} is below the first height this node holds ({first}): it started \
         from a snapshot of height {first}; ask a node that holds the full history"
    )]
    BeforeFirstHeight {
        /// Asked.
        found: Height,
        /// The first height held.
        first: Height,
    },
    /// A snapshot piece that does not exist (or a snapshot of height 0).
    #[error("snapshot of height {height}: no {what} {index} (there are {count})")]
    SnapshotIndex {
        /// The snapshot's height.
        height: Height,
        /// "chunk", "log piece" or "height".
        what: &'static str,
        /// Asked.
        index: u64,
        /// How many there are.
        count: u64,
    },
    /// Keys so clustered that even the longest prefix leaves a chunk over the limit.
    #[error("snapshot: at {bits} prefix bits a chunk still takes {found} bytes, at most {max}")]
    SnapshotTooDense {
        /// The longest prefix length.
        bits: u8,
        /// The largest chunk at that length, in bytes.
        found: usize,
        /// The limit.
        max: usize,
    },
    /// The store holds a snapshot install that did not finish.
    #[error(
        "the store holds an unfinished snapshot install of height {height}: start again \
         with an empty store"
    )]
    SnapshotIncomplete {
        /// The snapshot's height.
        height: Height,
    },
    /// A height not yet applied.
    #[error("height {found} not applied (last applied {last})")]
    NoSuchHeight {
        /// Asked.
        found: Height,
        /// Last applied.
        last: Height,
    },
}

impl From<CertError> for LedgerError {
    fn from(e: CertError) -> Self {
        LedgerError::Certificate(e.to_string())
    }
}

pub(crate) fn corrupt(column: Column, key: &[u8], what: impl Into<String>) -> LedgerError {
    LedgerError::Corrupt {
        column,
        key_hex: hex::encode(key),
        what: what.into(),
    }
}

/// Decode a stored value of a chain of `suite`; a value that does not decode is corruption.
pub(crate) fn decode_at<T: Canonical>(
    suite: chancery_core::suite::Suite,
    col: Column,
    key: &[u8],
    v: &[u8],
) -> Result<T, LedgerError> {
    codec::decode_in(suite, v).map_err(|e| corrupt(col, key, e.to_string()))
}

/// A transaction of a block after signature checking: verified, or rejected up front.
#[derive(Clone, Debug)]
pub enum CheckedTx {
    /// Signature and chain id checked.
    Valid(VerifiedTx),
    /// Failed signature, chain or format checks; it is logged with this reason.
    Invalid {
        /// The transaction.
        tx: Box<Transaction>,
        /// Its hash.
        hash: TxHash,
        /// Why.
        reason: ReasonCode,
    },
}

impl From<VerifiedTx> for CheckedTx {
    fn from(v: VerifiedTx) -> Self {
        CheckedTx::Valid(v)
    }
}

impl CheckedTx {
    /// The transaction.
    pub fn tx(&self) -> &Transaction {
        match self {
            CheckedTx::Valid(v) => v.tx(),
            CheckedTx::Invalid { tx, .. } => tx,
        }
    }
    /// Its hash.
    pub fn hash(&self) -> TxHash {
        match self {
            CheckedTx::Valid(v) => v.hash(),
            CheckedTx::Invalid { hash, .. } => *hash,
        }
    }
}

/// Limits of a ledger.
#[derive(Clone, Debug)]
pub struct LedgerConfig {
    /// Largest page a query returns.
    pub page_size_max: usize,
    /// Most state-tree nodes kept in memory (the cache is cleared when full).
    pub node_cache_max: usize,
    /// Most state values kept in memory (the cache is cleared when full).
    pub value_cache_max: usize,
    /// Flush the state tree at least every this many blocks.
    pub tree_flush_blocks: u64,
    /// Flush the state tree sooner once this many keys changed since the last flush.
    pub tree_flush_changes: u64,
    /// Leave a due flush to [`Ledger::flush_sealed`] (a worker off the commit path)
    /// instead of writing it in the commit that made it due; the commit after the next
    /// due one writes it if no worker did. The node sets it; tools and tests do not.
    pub tree_flush_background: bool,
    /// Most execution results kept for blocks not yet finalized (candidates of this
    /// height from several views or leaders); the oldest is dropped first.
    pub executed_kept_max: usize,
    /// Size the snapshots this ledger serves aim each chunk at, in bytes (at most
    /// `chancery_core::limits::SNAPSHOT_CHUNK_BYTES_MAX`; tests lower it to get many
    /// chunks from a small state).
    pub snapshot_chunk_target_bytes: usize,
    /// The shortest key-hash prefix the snapshots this ledger serves are cut by, in bits
    /// (at most `chancery_core::limits::SNAPSHOT_PREFIX_BITS_MAX`): more chunks than the
    /// target alone asks for, for fetching from more peers at once.
    pub snapshot_prefix_bits_min: u8,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            page_size_max: PAGE_SIZE_MAX,
            node_cache_max: 4_000_000,
            value_cache_max: 1_000_000,
            tree_flush_blocks: 256,
            tree_flush_changes: 100_000,
            tree_flush_background: false,
            executed_kept_max: 8,
            snapshot_chunk_target_bytes: chancery_core::limits::SNAPSHOT_CHUNK_TARGET_BYTES,
            snapshot_prefix_bits_min: 0,
        }
    }
}

/// The last applied block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tip {
    /// Height (0 before the first block).
    pub height: Height,
    /// Header hash ([`Digest::ZERO`] at height 0).
    pub hash: Digest,
    /// Block time (genesis time at height 0).
    pub time: TimestampMs,
    /// State root.
    pub state_root: Digest,
    /// Log root.
    pub log_root: Digest,
    /// Log size.
    pub log_size: u64,
}

/// The result of executing a candidate block; commit it with [`Ledger::apply`].
#[derive(Clone, Debug)]
pub struct Executed {
    /// Height executed at.
    pub height: Height,
    /// Block time.
    pub time: TimestampMs,
    /// The epoch of this height.
    pub epoch: Epoch,
    /// Hash of the validator set of that epoch.
    pub validator_set: Digest,
    /// Hash of the next epoch's set if this block ends its epoch, else [`Digest::ZERO`].
    pub next_validator_set: Digest,
    /// The next epoch's set if this block ends its epoch.
    pub next_set: Option<ValidatorSet>,
    /// Hash of the parent block.
    pub parent: Digest,
    /// One outcome per transaction, in order.
    pub outcomes: Vec<Outcome>,
    /// Hash over the transaction hashes.
    pub txs_hash: Digest,
    /// Number of transactions.
    pub tx_count: u32,
    /// State root after the block.
    pub state_root: Digest,
    /// Log root after the block.
    pub log_root: Digest,
    /// Log size after the block.
    pub log_size: u64,
    plan: Arc<Plan>,
}

#[derive(Debug)]
struct Plan {
    entries: Vec<(TxHash, LogEntry)>,
    /// The outcome of each transaction hash's last occurrence in the block: a child
    /// executed on this block's speculative result asks it whether a transaction was
    /// applied (`speculative.rs`).
    outcomes_by_hash: HashMap<TxHash, Outcome>,
    changes: BTreeMap<Digest, (StateKey, StateValue)>,
    /// The state-tree nodes the block created, by hash (a child executed on this block's
    /// speculative result loads them from here).
    nodes: HashMap<Digest, Node>,
    /// The block's log-tile puts (one per tile the block changed).
    log_nodes: Vec<chancery_tlog::Put>,
    frontier: logtree::Frontier,
    values_read: HashMap<Digest, Option<StateValue>>,
}

impl Executed {
    /// Copy the execution results into a header (height, time, epoch and validator sets,
    /// txs, log and state roots).
    pub fn fill_header(&self, header: &mut BlockHeader) {
        header.height = self.height;
        header.time = self.time;
        header.epoch = self.epoch;
        header.validator_set = self.validator_set;
        header.next_validator_set = self.next_validator_set;
        header.parent = self.parent;
        header.txs_hash = self.txs_hash;
        header.tx_count = self.tx_count;
        header.log_size = self.log_size;
        header.log_root = self.log_root;
        header.state_root = self.state_root;
    }

    /// Hashes of the transactions executed, in order.
    pub fn tx_hashes(&self) -> impl Iterator<Item = TxHash> + '_ {
        self.plan.entries.iter().map(|(h, _)| *h)
    }
}

/// The state tree's write-behind ([`Ledger::tree_status`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeStatus {
    /// Height of the last flushed tree.
    pub flushed: Height,
    /// State proofs can be made at every height from here on (and at flushed heights).
    pub window_from: Height,
    /// Tree nodes held in memory, not yet flushed or kept for the window.
    pub nodes_in_memory: usize,
    /// Flushes that failed (retried after the next block).
    pub flush_failures: u64,
    /// The last flush failure.
    pub last_flush_error: Option<String>,
}

/// What [`Ledger::apply`] committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// Height.
    pub height: Height,
    /// Block hash.
    pub hash: Digest,
    /// Log index of the block's first transaction.
    pub first_index: u64,
    /// Outcomes, in order.
    pub outcomes: Vec<Outcome>,
    /// State root after the block.
    pub state_root: Digest,
    /// Puts in the write batch.
    pub puts: usize,
    /// Bytes in the write batch.
    pub bytes: usize,
}

struct Inner {
    tip: Tip,
    frontier: logtree::Frontier,
    /// Recently created or used state-tree nodes (a cache; cleared when full).
    nodes: HashMap<Digest, Node>,
    values: HashMap<Digest, Option<StateValue>>,
    /// Execution results of candidate blocks at the next height, newest last: the one a
    /// finalized block matches is committed without executing again.
    executed: std::collections::VecDeque<Executed>,
    /// Speculative results (R15 of docs/consensus.md) of blocks not yet committed, by
    /// block hash: each executed on its parent's result or on the tip
    /// (`speculative.rs`). Pruned at every commit.
    speculative: HashMap<Digest, Executed>,
    /// Blocks executed so far (candidates, and finalized blocks that matched none).
    executions: u64,
    /// State-tree nodes not yet flushed, and the flush schedule.
    tree: tree::TreeMem,
    tree_flush_failures: u64,
    tree_flush_error: Option<String>,
}

/// The ledger over a store.
pub struct Ledger {
    store: Arc<dyn Store>,
    genesis: Genesis,
    chain_id: ChainId,
    /// The fewest validators a governance change may leave: `min(4, genesis set size)`.
    validators_min: usize,
    config: LedgerConfig,
    inner: Mutex<Inner>,
    /// Inner trees of recently read log tiles, shared by the proofs (`proofs.rs`).
    log_tiles: Arc<chancery_tlog::TileCache>,
    /// The first height held: 0, or the height of the snapshot the store was installed
    /// from (`snapshot.rs`).
    first_height: Height,
    /// The top of the state tree of the last snapshot height served (`snapshot.rs`).
    snapshot_top: Mutex<Vec<Arc<snapshot::SnapshotTop>>>,
    /// Held while a pass over the state builds a snapshot top, so that concurrent requests
    /// for the same height make one pass, not several.
    snapshot_pass: Mutex<()>,
}

/// Genesis members: admin keys (role Admin) merged with listed members.
fn genesis_members(
    g: &Genesis,
) -> Result<BTreeMap<chancery_core::PublicKey, MemberState>, LedgerError> {
    let mut out: BTreeMap<chancery_core::PublicKey, MemberState> = BTreeMap::new();
    let mut add = |key, agency: &AgencyId, name: &str, roles: &[Role]| -> Result<(), LedgerError> {
        let m = out.entry(key).or_insert_with(|| MemberState {
            agency: agency.clone(),
            name: name.to_string(),
            roles: vec![],
            revoked: false,
        });
        if m.agency != *agency {
            return Err(LedgerError::Genesis(format!(
                "key {key} is a member of both {} and {agency}",
                m.agency
            )));
        }
        let set: BTreeSet<Role> = m.roles.iter().chain(roles).copied().collect();
        m.roles = set.into_iter().collect();
        Ok(())
    };
    let agencies: BTreeSet<&AgencyId> = g.agencies.iter().map(|a| &a.id).collect();
    for a in &g.agencies {
        for k in &a.admin_keys {
            add(*k, &a.id, &a.name_en, &[Role::Admin])?;
        }
    }
    for m in &g.members {
        if !agencies.contains(&m.agency) {
            return Err(LedgerError::Genesis(format!(
                "member {} of unknown agency {}",
                m.key, m.agency
            )));
        }
        add(m.key, &m.agency, &m.name, &m.roles)?;
    }
    Ok(out)
}

/// The governance entries of the genesis state: each agency, the electorate and epoch 0,
/// the genesis validator set and its keys (docs/governance.md).
fn genesis_governance(g: &Genesis) -> Result<Vec<(StateKey, StateValue)>, LedgerError> {
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for a in &g.agencies {
        if !ids.insert(a.id.clone()) {
            return Err(LedgerError::Genesis(format!(
                "agency {} listed twice",
                a.id
            )));
        }
        out.push((
            StateKey::Agency(a.id.clone()),
            StateValue::Agency(AgencyState {
                name_zh: a.name_zh.clone(),
                name_en: a.name_en.clone(),
                admin_keys: a.admin_keys.clone(),
                removed: false,
            }),
        ));
    }
    let set = &g.validators;
    out.push((
        StateKey::Governance,
        StateValue::Governance(GovernanceState {
            agencies: ids.into_iter().collect(),
            epoch: set.epoch,
            params: g.params.clone(),
            pending: None,
        }),
    ));
    out.push((
        StateKey::EpochSet(set.epoch),
        StateValue::ValidatorSet(set.clone()),
    ));
    // Only a genesis with standards has the entry: every earlier genesis state (and its
    // root) is unchanged.
    if !g.procurement_limits.is_empty() {
        out.push((
            StateKey::ProcurementLimits,
            StateValue::ProcurementLimits(g.procurement_limits.clone()),
        ));
    }
    for v in &set.validators {
        for (key, key_use) in [
            (StateKey::ValidatorKey(v.consensus_key), KeyUse::Consensus),
            (
                StateKey::network_key(g.crypto, v.network_key),
                KeyUse::Network,
            ),
        ] {
            out.push((
                key,
                StateValue::ValidatorKey(ValidatorKeyState {
                    validator: v.name.clone(),
                    key_use,
                    retired_at: None,
                }),
            ));
        }
    }
    Ok(out)
}

pub(crate) const META_GENESIS_ROOT: &[u8] = b"genesis_state_root";

impl Ledger {
    /// Open the ledger in `store` for `genesis`: writes the genesis state on first use,
    /// otherwise reopens at the last applied block (checking the chain id and that no data
    /// lies beyond it).
    pub fn open(store: Arc<dyn Store>, genesis: &Genesis) -> Result<Ledger, LedgerError> {
        Self::open_with(store, genesis, LedgerConfig::default())
    }

    /// [`Ledger::open`] with explicit limits.
    pub fn open_with(
        store: Arc<dyn Store>,
        genesis: &Genesis,
        config: LedgerConfig,
    ) -> Result<Ledger, LedgerError> {
        genesis
            .validate()
            .map_err(|e| LedgerError::Genesis(e.to_string()))?;
        let chain_id = genesis.chain_id();
        let validators_min = VALIDATORS_MIN.min(genesis.validators.len());
        let mut ledger = Ledger {
            first_height: Height(0),
            snapshot_top: Mutex::new(Vec::new()),
            snapshot_pass: Mutex::new(()),
            store,
            genesis: genesis.clone(),
            chain_id,
            validators_min,
            config,
            log_tiles: Arc::default(),
            inner: Mutex::new(Inner {
                tip: Tip {
                    height: Height(0),
                    hash: Digest::ZERO,
                    time: genesis.genesis_time,
                    state_root: EMPTY,
                    log_root: logtree::empty_root(genesis.crypto),
                    log_size: 0,
                },
                frontier: logtree::Frontier::empty(genesis.crypto),
                nodes: HashMap::new(),
                values: HashMap::new(),
                executed: Default::default(),
                speculative: HashMap::new(),
                executions: 0,
                tree: Default::default(),
                tree_flush_failures: 0,
                tree_flush_error: None,
            }),
        };
        match ledger.store.get(Column::Meta, schema::META_GENESIS)? {
            None => {
                if let Some(v) = ledger.store.get(Column::Meta, META_SNAPSHOT_INSTALL)? {
                    return Err(LedgerError::SnapshotIncomplete {
                        height: Height(schema::read_be(&v).unwrap_or(0)),
                    });
                }
                ledger.write_genesis()?
            }
            Some(bytes) => {
                let stored = Genesis::from_bytes(&bytes)
                    .map_err(|e| corrupt(Column::Meta, schema::META_GENESIS, e.to_string()))?;
                if stored.chain_id() != chain_id {
                    return Err(LedgerError::GenesisMismatch {
                        expected: chain_id,
                        found: stored.chain_id(),
                    });
                }
            }
        }
        if let Some(v) = ledger.store.get(Column::Meta, META_FIRST_HEIGHT)? {
            ledger.first_height = Height(
                schema::read_be(&v)
                    .filter(|_| v.len() == 8)
                    .ok_or_else(|| {
                        corrupt(Column::Meta, META_FIRST_HEIGHT, "not an 8-byte height")
                    })?,
            );
        }
        let tip = ledger.load_tip()?;
        let frontier =
            logtree::Frontier::load(ledger.genesis.crypto, ledger.store.as_ref(), tip.log_size)?;
        if frontier.root() != tip.log_root {
            return Err(corrupt(
                Column::LogTree,
                b"",
                format!(
                    "log root {} but header says {}",
                    frontier.root(),
                    tip.log_root
                ),
            ));
        }
        let flushed = ledger.load_flushed()?;
        if flushed > tip.height {
            return Err(corrupt(
                Column::Meta,
                tree::META_TREE_FLUSHED,
                format!(
                    "state tree flushed at height {flushed}, beyond the last applied {}",
                    tip.height
                ),
            ));
        }
        {
            let mut inner = ledger.lock();
            inner.tip = tip;
            inner.frontier = frontier;
            inner.tree.flushed = flushed;
            inner.tree.window_from = flushed;
            inner.tree.scheduled = flushed;
            ledger.replay_tree(&mut inner)?;
        }
        Ok(ledger)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the store inconsistent (writes are
        // atomic); recover the guard.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write_genesis(&self) -> Result<(), LedgerError> {
        let members = genesis_members(&self.genesis)?;
        let mut batch = WriteBatch::new();
        let mut changes = Vec::new();
        let entries = members
            .iter()
            .map(|(key, m)| (StateKey::Member(*key), StateValue::Member(m.clone())))
            .chain(genesis_governance(&self.genesis)?);
        for (k, v) in entries {
            changes.push((k.hash(self.genesis.crypto), v.hash(self.genesis.crypto)));
            batch.put(
                Column::State,
                schema::state_key(&k.hash(self.genesis.crypto), Height(0)),
                codec::encode(&StateEntry { key: k, value: v }),
            );
        }
        changes.sort();
        let up = smt::update(
            self.genesis.crypto,
            EMPTY,
            &changes,
            &mut |h: &Digest, _, _| {
                Err::<Node, LedgerError>(corrupt(Column::StateTree, h.as_bytes(), "missing"))
            },
        )?;
        // The genesis tree is written with the genesis (height 0 is the first flushed
        // height); later trees are written behind (`tree.rs`).
        let created: std::collections::HashMap<Digest, Node> = up.nodes.iter().copied().collect();
        for (k, n) in smt::positioned(up.root, &|h| created.get(h).copied()) {
            batch.put(Column::StateTree, k, n.encode());
        }
        batch.put(Column::Meta, META_GENESIS_ROOT, up.root.as_bytes().to_vec());
        batch.put(
            Column::Meta,
            schema::META_GENESIS,
            codec::encode(&self.genesis),
        );
        batch.put(
            Column::Meta,
            schema::META_LAST_APPLIED,
            schema::be(0).to_vec(),
        );
        self.store.write(batch)?;
        Ok(())
    }

    fn load_tip(&self) -> Result<Tip, LedgerError> {
        let key = schema::META_LAST_APPLIED;
        let v = self
            .store
            .get(Column::Meta, key)?
            .ok_or_else(|| corrupt(Column::Meta, key, "missing last applied height"))?;
        let h = schema::read_be(&v)
            .filter(|_| v.len() == 8)
            .ok_or_else(|| corrupt(Column::Meta, key, "not an 8-byte height"))?;
        let next = schema::be(h.saturating_add(1));
        if self.store.get(Column::Blocks, &next)?.is_some() {
            return Err(LedgerError::Torn {
                height: Height(h.saturating_add(1)),
            });
        }
        if h == 0 {
            let k = META_GENESIS_ROOT;
            let v = self
                .store
                .get(Column::Meta, k)?
                .ok_or_else(|| corrupt(Column::Meta, k, "missing genesis state root"))?;
            let root: [u8; 32] = v
                .as_slice()
                .try_into()
                .map_err(|_| corrupt(Column::Meta, k, "not 32 bytes"))?;
            return Ok(Tip {
                height: Height(0),
                hash: Digest::ZERO,
                time: self.genesis.genesis_time,
                state_root: Digest(root),
                log_root: logtree::empty_root(self.genesis.crypto),
                log_size: 0,
            });
        }
        let sb = self
            .stored_block(Height(h))?
            .ok_or_else(|| corrupt(Column::Blocks, &schema::be(h), "last applied block missing"))?;
        Ok(Tip {
            height: sb.header.height,
            hash: sb.header.hash(self.genesis.crypto),
            time: sb.header.time,
            state_root: sb.header.state_root,
            log_root: sb.header.log_root,
            log_size: sb.header.log_size,
        })
    }

    pub(crate) fn stored_block(&self, h: Height) -> Result<Option<StoredBlock>, LedgerError> {
        self.check_held(h)?;
        let k = schema::be(h.0);
        match self.store.get(Column::Blocks, &k)? {
            None => Ok(None),
            Some(v) => {
                let sb: StoredBlock = decode_at(self.suite(), Column::Blocks, &k, &v)?;
                if sb.header.height != h {
                    return Err(corrupt(
                        Column::Blocks,
                        &k,
                        format!("header height {} under key {h}", sb.header.height),
                    ));
                }
                Ok(Some(sb))
            }
        }
    }

    /// The suffix headers stored with the boundary block at `height` (docs/governance.md):
    /// the old epoch's empty blocks through which its certificate finalized it, from its
    /// child up to the certified one. Empty for any other block, and for a boundary with
    /// its own certificate.
    pub fn block_suffix(&self, height: Height) -> Result<Vec<BlockHeader>, LedgerError> {
        let k = schema::suffix_key(height);
        match self.store.get(Column::Meta, &k)? {
            None => Ok(Vec::new()),
            Some(v) => Ok(decode_at::<schema::StoredSuffix>(self.suite(), Column::Meta, &k, &v)?.0),
        }
    }

    /// The chain id.
    pub fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    /// The genesis document.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The chain's crypto suite (its genesis's): how its stored values decode and hash.
    pub fn suite(&self) -> chancery_core::suite::Suite {
        self.genesis.crypto
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The last applied block.
    pub fn tip(&self) -> Tip {
        self.lock().tip.clone()
    }

    /// Limits in force.
    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// Blocks executed since open: candidates (proposals built or checked) and finalized
    /// blocks that matched no kept candidate. A validator that checked a proposal commits
    /// it without executing it again, so this grows by one per block in normal operation.
    pub fn executions(&self) -> u64 {
        self.lock().executions
    }

    /// Where the state tree's write-behind stands.
    pub fn tree_status(&self) -> TreeStatus {
        let inner = self.lock();
        TreeStatus {
            flushed: inner.tree.flushed,
            window_from: inner.tree.window_from,
            nodes_in_memory: inner.tree.len(),
            flush_failures: inner.tree_flush_failures,
            last_flush_error: inner.tree_flush_error.clone(),
        }
    }

    /// Latest stored value of a key as of `height` (inclusive), from the store.
    pub(crate) fn value_at(
        &self,
        key: &StateKey,
        height: Height,
    ) -> Result<Option<StateValue>, LedgerError> {
        self.check_held(height)?;
        let kh = key.hash(self.genesis.crypto);
        let start = schema::state_key(&kh, Height(0));
        let end = if height.0 == u64::MAX {
            schema::prefix_end(kh.as_bytes())
        } else {
            Some(schema::state_key(&kh, Height(height.0 + 1)))
        };
        let rows = self
            .store
            .scan(Column::State, &start, end.as_deref(), true, 1)?;
        match rows.into_iter().next() {
            Some((k, v)) if k.starts_with(kh.as_bytes()) && k.len() == 40 => {
                let e: StateEntry = decode_at(self.suite(), Column::State, &k, &v)?;
                if e.key != *key {
                    return Err(corrupt(Column::State, &k, "entry for another key"));
                }
                Ok(Some(e.value))
            }
            _ => Ok(None),
        }
    }

    /// The value of a state key as of an applied height (after that block), for any
    /// height: values are versioned in `Column::State`, whatever the state tree keeps.
    pub fn value_as_of(
        &self,
        key: &StateKey,
        height: Height,
    ) -> Result<Option<StateValue>, LedgerError> {
        let last = self.tip().height;
        if height > last {
            return Err(LedgerError::NoSuchHeight {
                found: height,
                last,
            });
        }
        self.value_at(key, height)
    }

    /// Current value of a state key.
    pub fn state_value(&self, key: &StateKey) -> Result<Option<StateValue>, LedgerError> {
        if let Some(v) = self.lock().values.get(&key.hash(self.genesis.crypto)) {
            return Ok(v.clone());
        }
        self.value_at(key, Height(u64::MAX))
    }

    /// The genesis state root.
    fn genesis_root(&self) -> Result<Digest, LedgerError> {
        let v = self
            .store
            .get(Column::Meta, META_GENESIS_ROOT)?
            .unwrap_or_default();
        Ok(Digest(v.as_slice().try_into().map_err(|_| {
            corrupt(Column::Meta, META_GENESIS_ROOT, "not 32 bytes")
        })?))
    }

    /// The state-tree node `h` at `depth` on the path of `path`: from the cache, the
    /// unflushed nodes, or the store under its path key (re-hashed).
    fn load_node(
        &self,
        inner: &Inner,
        plans: &[Arc<Plan>],
        h: &Digest,
        depth: usize,
        path: &Digest,
    ) -> Result<Node, LedgerError> {
        // Nodes of uncommitted parents first (speculative execution, R15).
        if let Some(n) = plans.iter().find_map(|p| p.nodes.get(h)) {
            return Ok(*n);
        }
        if let Some(n) = inner.nodes.get(h) {
            return Ok(*n);
        }
        if let Some(n) = inner.tree.get(h) {
            return Ok(n);
        }
        let key = smt::store_key(h, depth, path);
        let v = self
            .store
            .get(Column::StateTree, &key)?
            .ok_or_else(|| corrupt(Column::StateTree, &key, "missing state-tree node"))?;
        let n = Node::decode(&v).ok_or_else(|| corrupt(Column::StateTree, &key, "not a node"))?;
        if n.hash(self.genesis.crypto) != *h {
            return Err(corrupt(
                Column::StateTree,
                &key,
                format!("node hashes to {}", n.hash(self.genesis.crypto)),
            ));
        }
        Ok(n)
    }

    /// Execute a candidate block at the next height without committing it.
    pub fn execute(
        &self,
        txs: &[CheckedTx],
        time: TimestampMs,
        height: Height,
    ) -> Result<Executed, LedgerError> {
        let mut inner = self.lock();
        let ex = self.execute_locked(&inner, txs, time, height)?;
        inner.executions += 1;
        if inner.executed.len() >= self.config.executed_kept_max.max(1) {
            inner.executed.pop_front();
        }
        inner.executed.push_back(ex.clone());
        Ok(ex)
    }

    fn execute_locked(
        &self,
        inner: &Inner,
        txs: &[CheckedTx],
        time: TimestampMs,
        height: Height,
    ) -> Result<Executed, LedgerError> {
        let base = speculative::Base::tip(inner);
        self.execute_on_base(inner, base, txs, time, height)
    }

    /// Execute `txs` as the block at `height` on `base` (the tip, or a parent's
    /// speculative result): reads go through the base's uncommitted results first.
    fn execute_on_base(
        &self,
        inner: &Inner,
        base: speculative::Base,
        txs: &[CheckedTx],
        time: TimestampMs,
        height: Height,
    ) -> Result<Executed, LedgerError> {
        if height != base.height.next() {
            return Err(LedgerError::WrongHeight {
                expected: base.height.next(),
                found: height,
            });
        }
        if time <= base.time {
            return Err(LedgerError::TimeNotAfterParent {
                parent: base.time,
                found: time,
            });
        }
        let reader = Reader {
            ledger: self,
            plans: &base.plans,
            cache: &inner.values,
            misses: RefCell::new(HashMap::new()),
        };
        let mut exec = exec::Exec::new(
            self.chain_id,
            height,
            time,
            self.validators_min,
            self.genesis.crypto,
            &reader,
        );
        // The block limit in force at this height (a governance epoch may change it).
        let in_force = exec.governance()?;
        let max = (in_force.params_at(height).block_txs_max as usize).min(BLOCK_TXS_MAX);
        if txs.len() > max {
            return Err(LedgerError::TooManyTxs {
                max,
                found: txs.len(),
            });
        }
        let mut entries = Vec::with_capacity(txs.len());
        let mut outcomes = Vec::with_capacity(txs.len());
        let mut outcomes_by_hash = HashMap::with_capacity(txs.len());
        let mut frontier = base.frontier;
        for c in txs {
            let pre = match c {
                CheckedTx::Valid(_) => None,
                CheckedTx::Invalid { reason, .. } => Some(*reason),
            };
            let (outcome, _agency) = exec.run(c.tx(), c.hash(), pre)?;
            let entry = LogEntry {
                height,
                time,
                tx: c.tx().clone(),
                outcome,
            };
            frontier.push(logtree::leaf_hash(
                self.genesis.crypto,
                &codec::encode(&entry),
            ));
            outcomes.push(outcome);
            outcomes_by_hash.insert(c.hash(), outcome);
            entries.push((c.hash(), entry));
        }
        let log_nodes = frontier.take_puts();
        // The header's epoch fields, from the state after this block: its own epoch (no
        // block can change the epoch of its own height) and, if it ends its epoch, the next
        // set.
        let gov = exec.governance()?;
        let epoch = gov.epoch_at(height);
        let set = exec.epoch_set(epoch)?;
        let next_set = match gov.epoch_ending_at(height) {
            Some(e) => Some(exec.epoch_set(e)?),
            None => None,
        };
        let changes = std::mem::take(&mut exec.overlay);
        drop(exec);
        let list: Vec<(Digest, Digest)> = changes
            .iter()
            .map(|(k, (_, v))| (*k, v.hash(self.genesis.crypto)))
            .collect();
        let up = smt::update(
            self.genesis.crypto,
            base.state_root,
            &list,
            &mut |h, d, p| self.load_node(inner, &base.plans, h, d, p),
        )?;
        let txs_hash =
            chancery_core::block::txs_hash(self.genesis.crypto, entries.iter().map(|(h, _)| *h));
        Ok(Executed {
            height,
            time,
            epoch,
            validator_set: set.hash(),
            next_validator_set: next_set.as_ref().map_or(Digest::ZERO, ValidatorSet::hash),
            next_set,
            parent: base.hash,
            outcomes,
            txs_hash,
            tx_count: entries.len() as u32,
            state_root: up.root,
            log_root: frontier.root(),
            log_size: frontier.size(),
            plan: Arc::new(Plan {
                entries,
                outcomes_by_hash,
                changes,
                nodes: up.nodes.into_iter().collect(),
                log_nodes,
                frontier,
                values_read: reader.misses.into_inner(),
            }),
        })
    }

    /// Commit a finalized block. Checks height, parent, time, the certificate (a Finalize
    /// certificate of the genesis validator set on this header's hash) and every
    /// execution-derived header field; then writes everything in one synced batch.
    ///
    /// If the block was just executed with [`Ledger::execute`] (same height, parent, time and
    /// transactions) that result is reused; otherwise its transactions are verified in one
    /// batch and executed here.
    pub fn apply(&self, block: &Block, cert: &Certificate) -> Result<Applied, LedgerError> {
        self.apply_by_descendant(block, cert, &[])
    }

    /// Commit a block that was finalized by the certificate of a descendant: Simplex
    /// finalizes a block together with all its ancestors, so a block that was only
    /// notarized in its own view is final once a later block is. `descendants` are the
    /// headers from this block's child up to the certified block, each the parent of the
    /// next; the certificate must be a valid finalization of the last one. With no
    /// descendants this is [`Ledger::apply`]. The certificate is stored with the block.
    pub fn apply_by_descendant(
        &self,
        block: &Block,
        cert: &Certificate,
        descendants: &[BlockHeader],
    ) -> Result<Applied, LedgerError> {
        let h = &block.header;
        let hash = self.check_finalized(block, cert, descendants)?;
        let mut inner = self.lock();
        let tip = inner.tip.clone();
        check_extends(h, &tip)?;
        let ex = self.executed(&mut inner, block, &hash, &tip)?;
        check_header(h, &ex)?;
        let mut batch = self.build_batch(&inner, block, cert, &ex)?;
        if h.is_boundary() && !descendants.is_empty() {
            // The boundary was finalized through the old epoch's suffix blocks, which are
            // never applied: keep their headers with it, for its epoch link (the link to
            // its certificate), atomically with the block.
            batch.put(
                Column::Meta,
                schema::suffix_key(h.height),
                codec::encode(&schema::StoredSuffix(descendants.to_vec())),
            );
        }
        let (puts, bytes) = (batch.len(), batch.bytes());
        self.store.write(batch)?;
        self.advance(&mut inner, &ex, h, hash);
        Ok(Applied {
            height: h.height,
            hash,
            first_index: tip.log_size,
            outcomes: ex.outcomes.clone(),
            state_root: ex.state_root,
            puts,
            bytes,
        })
    }

    /// Is `block` final by `cert`? It is if `descendants` link it, parent by parent, to the
    /// block `cert` certifies, and `cert` is a valid finalization by the genesis validator
    /// set. Returns the block's hash. Needs no lock: nothing here reads the ledger's state.
    fn check_finalized(
        &self,
        block: &Block,
        cert: &Certificate,
        descendants: &[BlockHeader],
    ) -> Result<Digest, LedgerError> {
        let h = &block.header;
        if h.chain_id != self.chain_id {
            return Err(LedgerError::HeaderMismatch {
                field: "chain_id",
                expected: self.chain_id.to_hex(),
                found: h.chain_id.to_hex(),
            });
        }
        let hash = h.hash(self.genesis.crypto);
        if h.is_boundary() && !descendants.is_empty() {
            // Past a boundary only suffix blocks: empty, changing nothing (R13).
            chancery_core::epoch::check_suffix(self.genesis.crypto, h, descendants)
                .map_err(|e| LedgerError::Certificate(format!("boundary suffix: {e}")))?;
        }
        let mut link = hash;
        for (i, d) in descendants.iter().enumerate() {
            if d.parent != link || d.height.0 != h.height.0 + 1 + i as u64 {
                return Err(LedgerError::Certificate(format!(
                    "descendant header {i} (height {}) does not extend {link}",
                    d.height
                )));
            }
            // A certificate is valid only for the epoch that contains its block.
            if d.epoch != h.epoch {
                return Err(LedgerError::Certificate(format!(
                    "descendant header {i} (height {}) is of epoch {}, the block of epoch {}",
                    d.height, d.epoch, h.epoch
                )));
            }
            link = d.hash(self.genesis.crypto);
        }
        if cert.block != link {
            return Err(LedgerError::Certificate(format!(
                "certifies block {}, header hash is {link}",
                cert.block
            )));
        }
        let set = self.validator_set_of_epoch(h.epoch)?.ok_or_else(|| {
            LedgerError::Certificate(format!(
                "block is of epoch {}, which has no validator set here",
                h.epoch
            ))
        })?;
        if h.height < set.start_height {
            return Err(LedgerError::Certificate(format!(
                "block at height {} is before epoch {} starts at {}",
                h.height, h.epoch, set.start_height
            )));
        }
        cert.verify_kind(VoteKind::Finalize, self.chain_id, &set)?;
        Ok(hash)
    }

    /// The execution of `block` on `tip`: the result [`Ledger::execute`] just kept for
    /// this very block (same height, parent, time and transactions), or a fresh execution
    /// after verifying the transactions' signatures in one batch.
    fn executed(
        &self,
        inner: &mut Inner,
        block: &Block,
        hash: &Digest,
        tip: &Tip,
    ) -> Result<Executed, LedgerError> {
        let h = &block.header;
        // A result kept for this very header (R15): its hash binds height, parent, time,
        // transactions and roots; the transactions are compared too (the body is given).
        if let Some(e) = Self::take_speculative(inner, hash) {
            let same = e.tx_count as usize == block.txs.len()
                && e.plan
                    .entries
                    .iter()
                    .zip(&block.txs)
                    .all(|((_, en), t)| en.tx == *t);
            if same {
                return Ok(e);
            }
        }
        let found = inner.executed.iter().position(|e| {
            e.height == h.height
                && e.parent == tip.hash
                && e.time == h.time
                && e.txs_hash == h.txs_hash
                && e.tx_count as usize == block.txs.len()
                && e.plan
                    .entries
                    .iter()
                    .zip(&block.txs)
                    .all(|((_, en), t)| en.tx == *t)
        });
        let reuse = found.and_then(|i| inner.executed.remove(i));
        match reuse {
            Some(e) => Ok(e),
            None => {
                let checked = verify_block_txs(&self.chain_id, block.txs.clone(), |_| None);
                let ex = self.execute_locked(inner, &checked, h.time, h.height)?;
                inner.executions += 1;
                Ok(ex)
            }
        }
    }

    /// After the write: move the in-memory view (value and node caches, log frontier,
    /// tip) to the committed block `h` (hash `hash`), executed as `ex`. Caches that would
    /// outgrow their limit are emptied first.
    fn advance(&self, inner: &mut Inner, ex: &Executed, h: &BlockHeader, hash: Digest) {
        let plan = &ex.plan;
        if inner.values.len() + plan.changes.len() + plan.values_read.len()
            > self.config.value_cache_max
        {
            inner.values.clear();
        }
        for (k, v) in &plan.values_read {
            inner.values.insert(*k, v.clone());
        }
        for (k, (_, v)) in &plan.changes {
            inner.values.insert(*k, Some(v.clone()));
        }
        if inner.nodes.len() + plan.nodes.len() > self.config.node_cache_max {
            inner.nodes.clear();
        }
        for (n, node) in &plan.nodes {
            inner.nodes.insert(*n, *node);
        }
        inner.tree.add(plan.nodes.iter(), plan.changes.len());
        // Candidates of this height are spent; later heights' stay.
        inner.executed.retain(|e| e.height > h.height);
        inner.frontier = plan.frontier.clone();
        inner.tip = Tip {
            height: h.height,
            hash,
            time: h.time,
            state_root: ex.state_root,
            log_root: ex.log_root,
            log_size: ex.log_size,
        };
        // Results that no longer descend from the tip are dropped (R15).
        Self::prune_speculative(inner);
        let inline = !self.config.tree_flush_background;
        self.flush_tree_if_due(inner, h.height, ex.state_root, inline);
    }

    fn build_batch(
        &self,
        inner: &Inner,
        block: &Block,
        cert: &Certificate,
        ex: &Executed,
    ) -> Result<WriteBatch, LedgerError> {
        let h = &block.header;
        let plan = &ex.plan;
        let first = inner.tip.log_size;
        let mut b = WriteBatch::new();
        b.put(
            Column::Blocks,
            schema::be(h.height.0).to_vec(),
            codec::encode(&StoredBlock {
                header: h.clone(),
                first_index: first,
            }),
        );
        b.put(
            Column::Certs,
            schema::be(h.height.0).to_vec(),
            codec::encode(cert),
        );
        // Secondary indexes are not written here: the indexer builds them from the stored
        // block once it is durable (`indexer.rs`).
        for (i, (hash, entry)) in plan.entries.iter().enumerate() {
            let index = first + i as u64;
            b.put(
                Column::Log,
                schema::be(index).to_vec(),
                codec::encode(entry),
            );
            b.put(
                Column::TxIndex,
                schema::tx_key(hash, index),
                codec::encode(&TxLoc {
                    index,
                    height: h.height,
                    outcome: entry.outcome,
                }),
            );
        }
        for (col, key, tile) in &plan.log_nodes {
            b.put(*col, key.clone(), tile.clone());
        }
        for (kh, (key, value)) in &plan.changes {
            b.put(
                Column::State,
                schema::state_key(kh, h.height),
                codec::encode(&StateEntry {
                    key: key.clone(),
                    value: value.clone(),
                }),
            );
        }
        // State-tree nodes are not here: they are written behind (`tree.rs`).
        // Last, the pointer that makes the block count as applied.
        b.put(
            Column::Meta,
            schema::META_LAST_APPLIED,
            schema::be(h.height.0).to_vec(),
        );
        Ok(b)
    }

    /// A proof of `key`'s value (or absence) as of `height` (its header's state root).
    pub fn prove(&self, key: &StateKey, height: Height) -> Result<StateProof, LedgerError> {
        self.check_held(height)?;
        let inner = self.lock();
        let tip = &inner.tip;
        if height > tip.height {
            return Err(LedgerError::NoSuchHeight {
                found: height,
                last: tip.height,
            });
        }
        // Retention (tree.rs): the recent window, and every flushed height.
        let retained = height >= inner.tree.window_from
            || height == Height(0)
            || self
                .store
                .get(Column::Meta, &tree::snapshot_key(height))?
                .is_some();
        if !retained {
            return Err(LedgerError::NotRetained {
                found: height,
                window_from: inner.tree.window_from,
                flush_blocks: self.config.tree_flush_blocks,
            });
        }
        let root = if height == tip.height {
            tip.state_root
        } else if height == Height(0) {
            self.genesis_root()?
        } else {
            self.stored_block(height)?
                .ok_or_else(|| corrupt(Column::Blocks, &schema::be(height.0), "missing"))?
                .header
                .state_root
        };
        let kh = key.hash(self.genesis.crypto);
        let (siblings, end) = smt::prove(root, &kh, &mut |h, d, p| {
            self.load_node(&inner, &[], h, d, p)
        })?;
        drop(inner);
        let end = end.to_proof_end(&kh);
        let value = match end {
            chancery_core::state::ProofEnd::Value => self.value_at(key, height)?,
            _ => None,
        };
        Ok(StateProof {
            key: key.clone(),
            value,
            siblings,
            end,
        })
    }
}

/// Does `h` extend `tip`: the next height, on the tip's hash?
fn check_extends(h: &BlockHeader, tip: &Tip) -> Result<(), LedgerError> {
    if h.height != tip.height.next() {
        return Err(LedgerError::WrongHeight {
            expected: tip.height.next(),
            found: h.height,
        });
    }
    if h.parent != tip.hash {
        return Err(LedgerError::WrongParent {
            expected: tip.hash,
            found: h.parent,
        });
    }
    Ok(())
}

fn check_header(h: &BlockHeader, ex: &Executed) -> Result<(), LedgerError> {
    let mism = |field: &'static str, expected: String, found: String| {
        Err(LedgerError::HeaderMismatch {
            field,
            expected,
            found,
        })
    };
    if h.epoch != ex.epoch {
        return mism("epoch", ex.epoch.to_string(), h.epoch.to_string());
    }
    if h.validator_set != ex.validator_set {
        return mism(
            "validator_set",
            ex.validator_set.to_hex(),
            h.validator_set.to_hex(),
        );
    }
    if h.next_validator_set != ex.next_validator_set {
        return mism(
            "next_validator_set",
            ex.next_validator_set.to_hex(),
            h.next_validator_set.to_hex(),
        );
    }
    if h.txs_hash != ex.txs_hash {
        return mism("txs_hash", ex.txs_hash.to_hex(), h.txs_hash.to_hex());
    }
    if h.tx_count != ex.tx_count {
        return mism("tx_count", ex.tx_count.to_string(), h.tx_count.to_string());
    }
    if h.log_size != ex.log_size {
        return mism("log_size", ex.log_size.to_string(), h.log_size.to_string());
    }
    if h.log_root != ex.log_root {
        return mism("log_root", ex.log_root.to_hex(), h.log_root.to_hex());
    }
    if h.state_root != ex.state_root {
        return mism("state_root", ex.state_root.to_hex(), h.state_root.to_hex());
    }
    Ok(())
}

struct Reader<'a> {
    ledger: &'a Ledger,
    /// Speculative results between the committed tip and the block's parent, nearest
    /// first: their changes and transactions shadow the committed state (R15).
    plans: &'a [Arc<Plan>],
    cache: &'a HashMap<Digest, Option<StateValue>>,
    misses: RefCell<HashMap<Digest, Option<StateValue>>>,
}

impl exec::StateRead for Reader<'_> {
    fn value(&self, key: &StateKey) -> Result<Option<StateValue>, LedgerError> {
        let kh = key.hash(self.ledger.genesis.crypto);
        if let Some((_, v)) = self.plans.iter().find_map(|p| p.changes.get(&kh)) {
            return Ok(Some(v.clone()));
        }
        if let Some(v) = self.cache.get(&kh) {
            return Ok(v.clone());
        }
        if let Some(v) = self.misses.borrow().get(&kh) {
            return Ok(v.clone());
        }
        let v = self.ledger.value_at(key, Height(u64::MAX))?;
        self.misses.borrow_mut().insert(kh, v.clone());
        Ok(v)
    }

    fn tx_applied(&self, hash: &TxHash) -> Result<bool, LedgerError> {
        // Once a transaction is applied, every later occurrence is a rejected duplicate:
        // the latest occurrence tells (an uncommitted parent's is later than the store's).
        if let Some(o) = self.plans.iter().find_map(|p| p.outcomes_by_hash.get(hash)) {
            return Ok(*o == Outcome::Applied || *o == Outcome::Rejected(ReasonCode::DuplicateTx));
        }
        Ok(match self.ledger.tx_occurrences(hash, 1)?.pop() {
            Some(loc) => {
                loc.outcome == Outcome::Applied
                    || loc.outcome == Outcome::Rejected(ReasonCode::DuplicateTx)
            }
            None => false,
        })
    }
}
