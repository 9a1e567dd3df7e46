//! The secondary indexes (`Column::Index`), built after the blocks are durable.
//!
//! The index entries are derived data: [`Ledger::apply`] does not write them. The indexer
//! reads what is already stored — the blocks above `Meta/indexed_height` up to the last
//! applied block, and their log entries — and writes their index entries together with
//! the new `indexed_height` in one [`Store::write_behind`] batch per chunk (whole blocks,
//! closed once it holds [`INDEX_BATCH_PUTS_MAX`] puts). A batch and its height land
//! atomically, so the index holds exactly the entries of heights `..= indexed_height`
//! (plus, after a crash, nothing more: a lost batch is simply written again).
//!
//! - No `indexed_height` at all: nothing is indexed, not even the genesis members. The
//!   first chunk writes the genesis members' entries (log index `GENESIS_INDEX`) and the
//!   heights after it; `indexed_height = 0` means "the genesis members are indexed".
//! - The acting agency of an applied record is its signer's agency. A member's agency never
//!   changes and keys are never reused, so the current state's `Member(signer)` gives it.
//! - Rejected transactions get no entries (as [`crate::exec`] decides).
//! - A vote that passes a proposal also gets the entries of what the proposal did to
//!   members and agencies (`Ledger::passed_keys`): the admin keys it registered are listed
//!   with their agency's members like keys a `register_member` registered.
//!
//! Queries ([`crate::query`], [`crate::explore`]) read through an [`IndexView`]: entries of
//! heights above `indexed_height` are skipped and candidates are checked against the state
//! as of `indexed_height`, so every index answer is the answer of the ledger at that height.

use crate::schema::{self, ix, KeyBuf, StoredBlock};
use crate::{agencies, corrupt, decode_at, exec, genesis_members, Ledger, LedgerError};
use chancery_core::block::Outcome;
use chancery_core::governance::{Change, ProposalStatus};
use chancery_core::record::Record;
use chancery_core::state::{StateKey, StateValue};
use chancery_core::{AgencyId, Height, PublicKey, TimestampMs, TxHash};
use chancery_storage::{Column, Store, WriteBatch};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// `Column::Meta` key of the last height whose index entries are written (8 bytes BE).
pub const META_INDEXED_HEIGHT: &[u8] = b"indexed_height";

/// Puts after which an index batch is closed (at the end of the block that reaches it:
/// a batch holds whole blocks, so it is at most this plus one block's entries).
pub const INDEX_BATCH_PUTS_MAX: usize = 16_384;

/// One indexer writes at a time: two chunks written concurrently from the same starting
/// height could otherwise move `indexed_height` back (harmless to queries, which never
/// look beyond it, but untidy). Held only while a chunk is built and written.
static INDEXING: Mutex<()> = Mutex::new(());

/// What an indexing call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexProgress {
    /// The indexed height afterwards (`None`: nothing indexed, not even genesis).
    pub indexed_height: Option<Height>,
    /// Blocks indexed by the call.
    pub blocks: u64,
    /// Applied transactions indexed by the call.
    pub txs: u64,
    /// Index entries written by the call (genesis members included).
    pub entries: u64,
    /// Batches written by the call.
    pub batches: u64,
    /// Applied blocks still to index after the call (0: caught up with the tip it saw).
    pub pending: u64,
}

impl IndexProgress {
    fn add(&mut self, o: &IndexProgress) {
        self.indexed_height = o.indexed_height;
        self.blocks += o.blocks;
        self.txs += o.txs;
        self.entries += o.entries;
        self.batches += o.batches;
        self.pending = o.pending;
    }
}

/// What the proposals passed so far in the block being indexed did to member keys.
#[derive(Default)]
pub(crate) struct PassedInBlock {
    /// Admin keys registered.
    pub registered: HashSet<PublicKey>,
    /// Admin lists set, by agency.
    pub admins: HashMap<AgencyId, Vec<PublicKey>>,
}

/// Where [`passed_keys_with`] reads the state: the proposal as it is now (once passed it
/// never changes), and the state before the block being indexed. The ledger reads its
/// store; a snapshot install, which has no state below its height, tracks what it needs
/// while it walks the log (`snapshot.rs`).
pub(crate) trait PassedState {
    /// The proposal `id`, if any.
    fn proposal(
        &self,
        id: &str,
    ) -> Result<Option<chancery_core::governance::ProposalState>, LedgerError>;
    /// The admin keys of `agency` before the block (empty if it did not exist).
    fn admins_before(&self, agency: &AgencyId) -> Result<Vec<PublicKey>, LedgerError>;
    /// Was `key` a member (of any agency, revoked or not) before the block?
    fn member_before(&self, key: &PublicKey) -> Result<bool, LedgerError>;
}

/// The ledger's own state, before the block at `height`.
struct LedgerBefore<'a> {
    ledger: &'a Ledger,
    before: Height,
}

impl PassedState for LedgerBefore<'_> {
    fn proposal(
        &self,
        id: &str,
    ) -> Result<Option<chancery_core::governance::ProposalState>, LedgerError> {
        Ok(
            match self
                .ledger
                .state_value(&StateKey::Proposal(id.to_string()))?
            {
                Some(StateValue::Proposal(p)) => Some(p),
                _ => None,
            },
        )
    }
    fn admins_before(&self, agency: &AgencyId) -> Result<Vec<PublicKey>, LedgerError> {
        Ok(
            match self
                .ledger
                .value_at(&StateKey::Agency(agency.clone()), self.before)?
            {
                Some(StateValue::Agency(a)) => a.admin_keys,
                _ => Vec::new(),
            },
        )
    }
    fn member_before(&self, key: &PublicKey) -> Result<bool, LedgerError> {
        Ok(self
            .ledger
            .value_at(&StateKey::Member(*key), self.before)?
            .is_some())
    }
}

/// What the queries see of the index: the heights up to `height` (if any).
#[derive(Clone, Copy, Debug)]
pub(crate) struct IndexView {
    /// Indexed height; `None`: nothing indexed.
    pub height: Option<Height>,
    /// Log size at that height: entries of log indexes at or beyond it are not shown.
    pub log_size: u64,
    /// Block time at that height (genesis time at 0).
    pub time: TimestampMs,
}

impl IndexView {
    /// Is the entry written for log index `index` part of this view?
    pub fn shows(&self, index: u64) -> bool {
        match self.height {
            None => false,
            Some(_) => index == schema::GENESIS_INDEX || index < self.log_size,
        }
    }

    /// Is the index entry `key` (ending with a log index) part of this view?
    pub fn shows_key(&self, key: &[u8]) -> bool {
        key.len() >= 8
            && schema::read_be(&key[key.len() - 8..]).is_some_and(|index| self.shows(index))
    }
}

impl Ledger {
    /// The last height whose index entries are written (`None`: nothing indexed yet, not
    /// even the genesis members). Index queries answer as of this height.
    pub fn indexed_height(&self) -> Result<Option<Height>, LedgerError> {
        let k = META_INDEXED_HEIGHT;
        match self.store.get(Column::Meta, k)? {
            None => Ok(None),
            Some(v) => schema::read_be(&v)
                .filter(|_| v.len() == 8)
                .map(|h| Some(Height(h)))
                .ok_or_else(|| corrupt(Column::Meta, k, "not an 8-byte height")),
        }
    }

    /// Applied blocks not yet indexed (the genesis members count as one if not indexed).
    pub fn index_lag(&self) -> Result<u64, LedgerError> {
        let tip = self.tip().height;
        Ok(match self.indexed_height()? {
            None => tip.0.saturating_add(1),
            Some(h) => tip.0.saturating_sub(h.0),
        })
    }

    /// Index one chunk towards the last applied block: one [`Store::write_behind`] batch
    /// of whole blocks, closed at [`INDEX_BATCH_PUTS_MAX`] puts. Writes nothing when caught
    /// up. Safe to call from any thread while blocks are applied.
    pub fn index_chunk(&self) -> Result<IndexProgress, LedgerError> {
        let _one = INDEXING.lock().unwrap_or_else(|e| e.into_inner());
        let from = self.indexed_height()?;
        self.index_from(from, self.tip().height, INDEX_BATCH_PUTS_MAX)
    }

    /// Index every applied block not yet indexed (up to the tip seen at the call), chunk
    /// by chunk.
    pub fn index_pending(&self) -> Result<IndexProgress, LedgerError> {
        let target = self.tip().height;
        let mut total = IndexProgress::default();
        loop {
            let p = {
                let _one = INDEXING.lock().unwrap_or_else(|e| e.into_inner());
                let from = self.indexed_height()?;
                if from.is_some_and(|h| h >= target) {
                    total.indexed_height = from;
                    total.pending = self.index_lag()?;
                    return Ok(total);
                }
                self.index_from(from, target, INDEX_BATCH_PUTS_MAX)?
            };
            total.add(&p);
        }
    }

    /// Rebuild the whole index from the log: every entry of the genesis members and of
    /// every applied block is written again (identical keys; the index column accepts
    /// re-puts), whatever `indexed_height` says, chunk by chunk up to the tip. The store
    /// has no deletes, so entries that no block produces (a corrupted or foreign key)
    /// stay: queries skip those beyond `indexed_height`, and [`crate::check()`] lists them.
    pub fn reindex(&self) -> Result<IndexProgress, LedgerError> {
        let target = self.tip().height;
        let mut total = IndexProgress::default();
        let mut from = None;
        loop {
            let p = {
                let _one = INDEXING.lock().unwrap_or_else(|e| e.into_inner());
                self.index_from(from, target, INDEX_BATCH_PUTS_MAX)?
            };
            total.add(&p);
            from = p.indexed_height;
            if from.is_some_and(|h| h >= target) {
                return Ok(total);
            }
        }
    }

    /// Index up to `target` exactly (for [`crate::check()`], which rebuilds the index of
    /// a replayed ledger as far as the checked database claims to have it).
    pub(crate) fn index_up_to(&self, target: Option<Height>) -> Result<(), LedgerError> {
        let Some(target) = target else {
            return Ok(());
        };
        let target = target.min(self.tip().height);
        loop {
            let _one = INDEXING.lock().unwrap_or_else(|e| e.into_inner());
            let from = self.indexed_height()?;
            if from.is_some_and(|h| h >= target) {
                return Ok(());
            }
            self.index_from(from, target, INDEX_BATCH_PUTS_MAX)?;
        }
    }

    /// One batch: from the indexed height `from` (exclusive; `None`: genesis first) up to
    /// `target` at most, closed at `puts_max` puts. The caller holds [`INDEXING`].
    fn index_from(
        &self,
        from: Option<Height>,
        target: Height,
        puts_max: usize,
    ) -> Result<IndexProgress, LedgerError> {
        let mut p = IndexProgress::default();
        let mut batch = WriteBatch::new();
        let mut at = match from {
            Some(h) => h,
            None => {
                for (key, m) in genesis_members(&self.genesis)? {
                    batch.put(
                        Column::Index,
                        exec::member_key(&m.agency, &key, schema::GENESIS_INDEX),
                        Vec::new(),
                    );
                }
                Height(0)
            }
        };
        let mut agencies: HashMap<PublicKey, AgencyId> = HashMap::new();
        while at < target && batch.len() < puts_max {
            let h = at.next();
            let sb = self.stored_block(h)?.ok_or_else(|| {
                corrupt(Column::Blocks, &schema::be(h.0), "applied block missing")
            })?;
            p.txs += self.index_block(&sb, &mut agencies, &mut batch)?;
            p.blocks += 1;
            at = h;
        }
        if from == Some(at) {
            p.indexed_height = from;
            p.pending = target.0.saturating_sub(at.0);
            return Ok(p);
        }
        p.entries = batch.len() as u64;
        batch.put(Column::Meta, META_INDEXED_HEIGHT, schema::be(at.0).to_vec());
        self.store.write_behind(batch)?;
        p.batches = 1;
        p.indexed_height = Some(at);
        p.pending = self.tip().height.0.saturating_sub(at.0);
        Ok(p)
    }

    /// Put the index entries of one stored block's applied transactions into `batch`;
    /// returns how many transactions were applied.
    fn index_block(
        &self,
        sb: &StoredBlock,
        agencies: &mut HashMap<PublicKey, AgencyId>,
        batch: &mut WriteBatch,
    ) -> Result<u64, LedgerError> {
        let h = &sb.header;
        let n = u64::from(h.tx_count);
        let end = sb.first_index.saturating_add(n);
        let page = self.store.limits().scan_entries_max.max(1);
        let mut next = sb.first_index;
        let mut applied = 0;
        // What passed proposals did earlier in this block (admin keys registered, admin
        // lists set), for a later proposal of the same block that changes them again.
        let mut passed = PassedInBlock::default();
        while next < end {
            let want = usize::try_from(end - next).unwrap_or(usize::MAX).min(page);
            let rows = self.store.scan(
                Column::Log,
                &schema::be(next),
                Some(&schema::be(end)),
                false,
                want,
            )?;
            if rows.is_empty() {
                break;
            }
            for (k, v) in rows {
                if schema::read_be(&k) != Some(next) {
                    return Err(corrupt(Column::Log, &schema::be(next), "log entry missing"));
                }
                let entry = decode_at::<schema::RawLogEntry>(self.suite(), Column::Log, &k, &v)?.0;
                if entry.height != h.height {
                    return Err(corrupt(
                        Column::Log,
                        &k,
                        format!("entry of height {} in block {}", entry.height, h.height),
                    ));
                }
                if entry.outcome == Outcome::Applied {
                    let signer = entry.tx.body.signer;
                    let agency = match agencies.get(&signer) {
                        Some(a) => a.clone(),
                        None => {
                            let a = self.signer_agency(&signer)?;
                            agencies.insert(signer, a.clone());
                            a
                        }
                    };
                    for key in exec::index_keys(&entry.tx.body.record, &agency, next, h.time) {
                        batch.put(Column::Index, key, Vec::new());
                    }
                    if let Record::Vote(v) = &entry.tx.body.record {
                        let tx = entry.tx.hash();
                        for key in self.passed_keys(v, &tx, h.height, next, &mut passed)? {
                            batch.put(Column::Index, key, Vec::new());
                        }
                    }
                    applied += 1;
                }
                next += 1;
            }
        }
        if next != end {
            return Err(corrupt(Column::Log, &schema::be(next), "log entry missing"));
        }
        Ok(applied)
    }

    /// The index entries of what a proposal did if the vote at log `index` of the block
    /// at `height` passed it (the proposal passed in that block and this vote is the last
    /// transaction that changed it): the admin keys `add_agency` and `set_admin_keys`
    /// registered, in the members-by-agency index and in their member history; the keys
    /// `set_admin_keys` revoked, in their member history (as a `revoke_member` is); an
    /// agency's addition and removal, in the agency-changes index
    /// ([`crate::agencies`]). Nothing for any other vote.
    ///
    /// The proposal is read from the current state: once passed it never changes, and its
    /// status names the block. A key is new if it was no member before this block and no
    /// earlier proposal of the block registered it (as execution decides: a member key is
    /// never registered twice).
    fn passed_keys(
        &self,
        vote: &chancery_core::record::Vote,
        tx: &TxHash,
        height: Height,
        index: u64,
        passed: &mut PassedInBlock,
    ) -> Result<Vec<Vec<u8>>, LedgerError> {
        let state = LedgerBefore {
            ledger: self,
            before: Height(height.0.saturating_sub(1)),
        };
        passed_keys_with(&state, vote, tx, height, index, passed)
    }

    /// The agency of a member key (members are never removed, their agency never changes).
    fn signer_agency(&self, key: &PublicKey) -> Result<AgencyId, LedgerError> {
        match self.state_value(&StateKey::Member(*key))? {
            Some(StateValue::Member(m)) => Ok(m.agency),
            _ => Err(corrupt(
                Column::State,
                key.as_bytes(),
                "the signer of an applied transaction is not a member",
            )),
        }
    }

    /// The index as queries see it now.
    pub(crate) fn index_view(&self) -> Result<IndexView, LedgerError> {
        let tip = self.tip();
        let Some(h) = self.indexed_height()? else {
            return Ok(IndexView {
                height: None,
                log_size: 0,
                time: self.genesis.genesis_time,
            });
        };
        let h = h.min(tip.height);
        let (log_size, time) = if h == tip.height {
            (tip.log_size, tip.time)
        } else if h == Height(0) {
            (0, self.genesis.genesis_time)
        } else {
            let sb = self
                .stored_block(h)?
                .ok_or_else(|| corrupt(Column::Blocks, &schema::be(h.0), "missing"))?;
            (sb.header.log_size, sb.header.time)
        };
        Ok(IndexView {
            height: Some(h),
            log_size,
            time,
        })
    }

    /// A state value as of the view's height (the state the index answers for).
    pub(crate) fn value_in(
        &self,
        view: &IndexView,
        key: &StateKey,
    ) -> Result<Option<StateValue>, LedgerError> {
        match view.height {
            None => Ok(None),
            // Read as of the height, not from the tip's cache: a block applied since the
            // view was taken must not show through.
            Some(h) => self.value_at(key, h),
        }
    }
}

/// The index entries of what a proposal did if the vote at log `index` of the block at
/// `height` passed it: see `Ledger::passed_keys`, which reads the state from the ledger;
/// `state` gives the proposal and the state before the block.
pub(crate) fn passed_keys_with(
    state: &dyn PassedState,
    vote: &chancery_core::record::Vote,
    tx: &TxHash,
    height: Height,
    index: u64,
    passed: &mut PassedInBlock,
) -> Result<Vec<Vec<u8>>, LedgerError> {
    let mut out = Vec::new();
    let Some(p) = state.proposal(&vote.proposal_id)? else {
        return Ok(out);
    };
    match p.status {
        ProposalStatus::Passed { at, .. } if at == height && p.last_tx == *tx => {}
        _ => return Ok(out),
    }
    let member = |k: &PublicKey| {
        KeyBuf::new(ix::SUBJECT)
            .b(&[ix::CLASS_MEMBER])
            .b(k.as_bytes())
            .n(index)
            .done()
    };
    for c in &p.changes {
        match c {
            Change::AddAgency { id, admin_keys, .. } => {
                for k in admin_keys {
                    out.push(exec::member_key(id, k, index));
                    out.push(member(k));
                    passed.registered.insert(*k);
                }
                passed.admins.insert(id.clone(), admin_keys.clone());
                out.push(agencies::change_key(id, agencies::ChangeKind::Added, index));
            }
            Change::RemoveAgency { id } => {
                out.push(agencies::change_key(
                    id,
                    agencies::ChangeKind::Removed,
                    index,
                ));
            }
            Change::SetAdminKeys { agency, admin_keys } => {
                let prior = match passed.admins.get(agency) {
                    Some(l) => l.clone(),
                    None => state.admins_before(agency)?,
                };
                for k in admin_keys {
                    if prior.contains(k) || passed.registered.contains(k) {
                        continue;
                    }
                    if !state.member_before(k)? {
                        out.push(exec::member_key(agency, k, index));
                        out.push(member(k));
                        passed.registered.insert(*k);
                    }
                }
                for k in prior.iter().filter(|k| !admin_keys.contains(k)) {
                    out.push(member(k));
                }
                passed.admins.insert(agency.clone(), admin_keys.clone());
            }
            Change::AddValidator { .. }
            | Change::RemoveValidator { .. }
            | Change::RotateValidatorKeys { .. }
            | Change::SetParams { .. }
            | Change::SetProcurementLimits { .. } => {}
        }
    }
    Ok(out)
}
