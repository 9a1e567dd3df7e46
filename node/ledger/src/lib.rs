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
//!   log-tree hashes, secondary indexes and the "last applied" pointer), after checking its
//!   header against what execution computed;
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

mod apply_checked;
mod check;
mod exec;
pub mod explore;
mod logtree;
mod proofs;
mod query;
pub mod schema;
mod smt;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod verify;

pub use check::{check, CheckReport, Problem};
pub use proofs::{ProofRequestError, DESCENDANT_SEARCH_MAX};
pub use query::{
    AwardFilter, AwardKey, EvidenceRecord, GrantFilter, GrantStatus, Page, TxRecord,
    EVIDENCE_BYTES_MAX, EVIDENCE_KEY_PREFIX, PAGE_SIZE_MAX, TX_OCCURRENCES_MAX,
};
pub use verify::{
    verify_block_txs, verify_block_txs_with, VerifyConfig, CHUNK_TXS_MIN_DEFAULT,
    VERIFY_THREADS_MAX,
};

use chancery_core::block::{Block, BlockHeader, LogEntry, Outcome, ReasonCode};
use chancery_core::cert::{CertError, Certificate, VoteKind};
use chancery_core::codec::{self, Canonical};
use chancery_core::genesis::Genesis;
use chancery_core::limits::BLOCK_TXS_MAX;
use chancery_core::record::Role;
use chancery_core::state::{MemberState, StateKey, StateProof, StateValue, EMPTY};
use chancery_core::tx::{Transaction, VerifiedTx};
use chancery_core::{AgencyId, ChainId, Digest, Height, TimestampMs, TxHash};
use chancery_storage::{Column, Store, StoreError, WriteBatch};
use schema::{StateEntry, StoredBlock, TxLoc};
use smt::Node;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
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

pub(crate) fn decode_at<T: Canonical>(col: Column, key: &[u8], v: &[u8]) -> Result<T, LedgerError> {
    codec::decode(v).map_err(|e| corrupt(col, key, e.to_string()))
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
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            page_size_max: PAGE_SIZE_MAX,
            node_cache_max: 4_000_000,
            value_cache_max: 1_000_000,
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
    agencies: Vec<Option<AgencyId>>,
    changes: BTreeMap<Digest, (StateKey, StateValue)>,
    nodes: Vec<(Digest, Node)>,
    log_nodes: Vec<(u8, u64, Digest)>,
    frontier: logtree::Frontier,
    values_read: HashMap<Digest, Option<StateValue>>,
}

impl Executed {
    /// Copy the execution results into a header (height, time, txs, log and state roots).
    pub fn fill_header(&self, header: &mut BlockHeader) {
        header.height = self.height;
        header.time = self.time;
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
    nodes: HashMap<Digest, Node>,
    values: HashMap<Digest, Option<StateValue>>,
    last: Option<Executed>,
}

/// The ledger over a store.
pub struct Ledger {
    store: Arc<dyn Store>,
    genesis: Genesis,
    chain_id: ChainId,
    agencies: BTreeSet<AgencyId>,
    config: LedgerConfig,
    inner: Mutex<Inner>,
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
        let agencies = genesis.agencies.iter().map(|a| a.id.clone()).collect();
        let ledger = Ledger {
            store,
            genesis: genesis.clone(),
            chain_id,
            agencies,
            config,
            inner: Mutex::new(Inner {
                tip: Tip {
                    height: Height(0),
                    hash: Digest::ZERO,
                    time: genesis.genesis_time,
                    state_root: EMPTY,
                    log_root: logtree::empty_root(),
                    log_size: 0,
                },
                frontier: logtree::Frontier::default(),
                nodes: HashMap::new(),
                values: HashMap::new(),
                last: None,
            }),
        };
        match ledger.store.get(Column::Meta, schema::META_GENESIS)? {
            None => ledger.write_genesis()?,
            Some(bytes) => {
                let stored: Genesis = decode_at(Column::Meta, schema::META_GENESIS, &bytes)?;
                if stored.chain_id() != chain_id {
                    return Err(LedgerError::GenesisMismatch {
                        expected: chain_id,
                        found: stored.chain_id(),
                    });
                }
            }
        }
        let tip = ledger.load_tip()?;
        let frontier = logtree::Frontier::load(tip.log_size, &mut |level, index| {
            let k = logtree::node_key(level, index);
            let v = ledger
                .store
                .get(Column::LogTree, &k)?
                .ok_or_else(|| corrupt(Column::LogTree, &k, "missing log subtree"))?;
            let d: [u8; 32] = v
                .as_slice()
                .try_into()
                .map_err(|_| corrupt(Column::LogTree, &k, "not 32 bytes"))?;
            Ok::<Digest, LedgerError>(Digest(d))
        })?;
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
        {
            let mut inner = ledger.lock();
            inner.tip = tip;
            inner.frontier = frontier;
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
        for (key, m) in &members {
            let k = StateKey::Member(*key);
            let v = StateValue::Member(m.clone());
            changes.push((k.hash(), v.hash()));
            batch.put(
                Column::State,
                schema::state_key(&k.hash(), Height(0)),
                codec::encode(&StateEntry { key: k, value: v }),
            );
            batch.put(
                Column::Index,
                exec::member_key(&m.agency, key, schema::GENESIS_INDEX),
                Vec::new(),
            );
        }
        changes.sort();
        let up = smt::update(EMPTY, &changes, &mut |h: &Digest| {
            Err::<Node, LedgerError>(corrupt(Column::StateTree, h.as_bytes(), "missing"))
        })?;
        let mut seen = HashSet::new();
        for (h, n) in &up.nodes {
            if seen.insert(*h) {
                batch.put(Column::StateTree, h.as_bytes().to_vec(), n.encode());
            }
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
                log_root: logtree::empty_root(),
                log_size: 0,
            });
        }
        let sb = self
            .stored_block(Height(h))?
            .ok_or_else(|| corrupt(Column::Blocks, &schema::be(h), "last applied block missing"))?;
        Ok(Tip {
            height: sb.header.height,
            hash: sb.header.hash(),
            time: sb.header.time,
            state_root: sb.header.state_root,
            log_root: sb.header.log_root,
            log_size: sb.header.log_size,
        })
    }

    pub(crate) fn stored_block(&self, h: Height) -> Result<Option<StoredBlock>, LedgerError> {
        let k = schema::be(h.0);
        match self.store.get(Column::Blocks, &k)? {
            None => Ok(None),
            Some(v) => {
                let sb: StoredBlock = decode_at(Column::Blocks, &k, &v)?;
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

    /// The chain id.
    pub fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    /// The genesis document.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
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

    /// Latest stored value of a key as of `height` (inclusive), from the store.
    pub(crate) fn value_at(
        &self,
        key: &StateKey,
        height: Height,
    ) -> Result<Option<StateValue>, LedgerError> {
        let kh = key.hash();
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
                let e: StateEntry = decode_at(Column::State, &k, &v)?;
                if e.key != *key {
                    return Err(corrupt(Column::State, &k, "entry for another key"));
                }
                Ok(Some(e.value))
            }
            _ => Ok(None),
        }
    }

    /// Current value of a state key.
    pub fn state_value(&self, key: &StateKey) -> Result<Option<StateValue>, LedgerError> {
        if let Some(v) = self.lock().values.get(&key.hash()) {
            return Ok(v.clone());
        }
        self.value_at(key, Height(u64::MAX))
    }

    fn load_node(&self, nodes: &HashMap<Digest, Node>, h: &Digest) -> Result<Node, LedgerError> {
        if let Some(n) = nodes.get(h) {
            return Ok(*n);
        }
        let v = self
            .store
            .get(Column::StateTree, h.as_bytes())?
            .ok_or_else(|| corrupt(Column::StateTree, h.as_bytes(), "missing state-tree node"))?;
        let n = Node::decode(&v)
            .ok_or_else(|| corrupt(Column::StateTree, h.as_bytes(), "not a node"))?;
        if n.hash() != *h {
            return Err(corrupt(
                Column::StateTree,
                h.as_bytes(),
                format!("node hashes to {}", n.hash()),
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
        inner.last = Some(ex.clone());
        Ok(ex)
    }

    fn execute_locked(
        &self,
        inner: &Inner,
        txs: &[CheckedTx],
        time: TimestampMs,
        height: Height,
    ) -> Result<Executed, LedgerError> {
        let tip = &inner.tip;
        if height != tip.height.next() {
            return Err(LedgerError::WrongHeight {
                expected: tip.height.next(),
                found: height,
            });
        }
        if time <= tip.time {
            return Err(LedgerError::TimeNotAfterParent {
                parent: tip.time,
                found: time,
            });
        }
        let max = (self.genesis.params.block_txs_max as usize).min(BLOCK_TXS_MAX);
        if txs.len() > max {
            return Err(LedgerError::TooManyTxs {
                max,
                found: txs.len(),
            });
        }
        let reader = Reader {
            ledger: self,
            cache: &inner.values,
            misses: RefCell::new(HashMap::new()),
        };
        let mut exec = exec::Exec::new(self.chain_id, &self.agencies, height, &reader);
        let mut entries = Vec::with_capacity(txs.len());
        let mut agencies = Vec::with_capacity(txs.len());
        let mut outcomes = Vec::with_capacity(txs.len());
        let mut frontier = inner.frontier.clone();
        let mut log_nodes = Vec::with_capacity(txs.len() * 2);
        for c in txs {
            let pre = match c {
                CheckedTx::Valid(_) => None,
                CheckedTx::Invalid { reason, .. } => Some(*reason),
            };
            let (outcome, agency) = exec.run(c.tx(), c.hash(), pre)?;
            let entry = LogEntry {
                height,
                time,
                tx: c.tx().clone(),
                outcome,
            };
            log_nodes.extend(frontier.push(logtree::leaf_hash(&codec::encode(&entry))));
            outcomes.push(outcome);
            agencies.push(agency);
            entries.push((c.hash(), entry));
        }
        let changes = std::mem::take(&mut exec.overlay);
        drop(exec);
        let list: Vec<(Digest, Digest)> =
            changes.iter().map(|(k, (_, v))| (*k, v.hash())).collect();
        let up = smt::update(tip.state_root, &list, &mut |h| {
            self.load_node(&inner.nodes, h)
        })?;
        let txs_hash = chancery_core::block::txs_hash(entries.iter().map(|(h, _)| *h));
        Ok(Executed {
            height,
            time,
            parent: tip.hash,
            outcomes,
            txs_hash,
            tx_count: entries.len() as u32,
            state_root: up.root,
            log_root: frontier.root(),
            log_size: frontier.size(),
            plan: Arc::new(Plan {
                entries,
                agencies,
                changes,
                nodes: up.nodes,
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
        let ex = self.executed(&mut inner, block, &tip)?;
        check_header(h, &ex)?;
        let batch = self.build_batch(&inner, block, cert, &ex)?;
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
        let hash = h.hash();
        let mut link = hash;
        for (i, d) in descendants.iter().enumerate() {
            if d.parent != link || d.height.0 != h.height.0 + 1 + i as u64 {
                return Err(LedgerError::Certificate(format!(
                    "descendant header {i} (height {}) does not extend {link}",
                    d.height
                )));
            }
            link = d.hash();
        }
        if cert.block != link {
            return Err(LedgerError::Certificate(format!(
                "certifies block {}, header hash is {link}",
                cert.block
            )));
        }
        cert.verify_kind(VoteKind::Finalize, self.chain_id, &self.genesis.validators)?;
        Ok(hash)
    }

    /// The execution of `block` on `tip`: the result [`Ledger::execute`] just kept for
    /// this very block (same height, parent, time and transactions), or a fresh execution
    /// after verifying the transactions' signatures in one batch.
    fn executed(
        &self,
        inner: &mut Inner,
        block: &Block,
        tip: &Tip,
    ) -> Result<Executed, LedgerError> {
        let h = &block.header;
        let reuse = inner.last.take().filter(|e| {
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
        match reuse {
            Some(e) => Ok(e),
            None => {
                let checked = verify_block_txs(&self.chain_id, block.txs.clone(), |_| None);
                self.execute_locked(inner, &checked, h.time, h.height)
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
        inner.frontier = plan.frontier.clone();
        inner.tip = Tip {
            height: h.height,
            hash,
            time: h.time,
            state_root: ex.state_root,
            log_root: ex.log_root,
            log_size: ex.log_size,
        };
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
        for (i, ((hash, entry), agency)) in plan.entries.iter().zip(&plan.agencies).enumerate() {
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
            if let Some(agency) = agency {
                for k in exec::index_keys(&entry.tx.body.record, agency, index, h.time) {
                    b.put(Column::Index, k, Vec::new());
                }
            }
        }
        for (level, index, hash) in &plan.log_nodes {
            b.put(
                Column::LogTree,
                logtree::node_key(*level, *index),
                hash.as_bytes().to_vec(),
            );
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
        // Content-addressed nodes may already exist (same subtree seen before): write each
        // new one once. One already in the store is put again with the same bytes, which
        // the store's immutability check drops (the `Store` contract): a lookup of our own
        // here cost a second search per node, and state-tree nodes are about half of a
        // block's puts (10 of 21 per transaction at 30-transaction blocks).
        let mut seen = HashSet::new();
        for (nh, n) in &plan.nodes {
            if !seen.insert(*nh) || inner.nodes.contains_key(nh) {
                continue;
            }
            b.put(Column::StateTree, nh.as_bytes().to_vec(), n.encode());
        }
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
        let tip = self.tip();
        if height > tip.height {
            return Err(LedgerError::NoSuchHeight {
                found: height,
                last: tip.height,
            });
        }
        let root = if height == tip.height {
            tip.state_root
        } else if height == Height(0) {
            let v = self
                .store
                .get(Column::Meta, META_GENESIS_ROOT)?
                .unwrap_or_default();
            Digest(
                v.as_slice()
                    .try_into()
                    .map_err(|_| corrupt(Column::Meta, META_GENESIS_ROOT, "not 32 bytes"))?,
            )
        } else {
            self.stored_block(height)?
                .ok_or_else(|| corrupt(Column::Blocks, &schema::be(height.0), "missing"))?
                .header
                .state_root
        };
        let kh = key.hash();
        let nodes = HashMap::new();
        let (siblings, end) = smt::prove(root, &kh, &mut |h| self.load_node(&nodes, h))?;
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
    cache: &'a HashMap<Digest, Option<StateValue>>,
    misses: RefCell<HashMap<Digest, Option<StateValue>>>,
}

impl exec::StateRead for Reader<'_> {
    fn value(&self, key: &StateKey) -> Result<Option<StateValue>, LedgerError> {
        let kh = key.hash();
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
        // the latest occurrence tells.
        Ok(match self.ledger.tx_occurrences(hash, 1)?.pop() {
            Some(loc) => {
                loc.outcome == Outcome::Applied
                    || loc.outcome == Outcome::Rejected(ReasonCode::DuplicateTx)
            }
            None => false,
        })
    }
}
