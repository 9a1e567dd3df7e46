//! The state tree's write-behind: new tree nodes stay in memory and are flushed in batches.
//!
//! A finalized block's synced batch holds the block, its log entries and the state
//! versions, not its state-tree nodes: those are derived data (every node follows from the
//! state versions, which follow from the log). The ledger keeps the nodes created since the
//! last flush in memory ([`TreeMem::pending`]) and writes the ones still reachable from the
//! current root in one [`Store::write_behind`] batch when a flush is due
//! ([`TreeMem::due`]: every `tree_flush_blocks` blocks, or sooner after
//! `tree_flush_changes` changed keys). Nodes of intermediate roots that a later block
//! replaced before the flush are never written.
//!
//! The flush batch also moves `Meta/state_tree_flushed` to the flushed height and records
//! the flushed root under `Meta/state_tree_snapshot ‖ height`. After a crash (or any
//! restart) [`Ledger::replay_tree`] re-derives the nodes of the blocks above the flushed
//! height by re-running their transactions against the state versions as of each parent
//! and checks each resulting root against the block's header.
//!
//! Retention (what [`Ledger::prove`] can prove): every height from the previous flush on
//! (the nodes of the last two flush windows are in memory or in the store), and every
//! flushed height forever (its nodes are never overwritten: each is keyed by its position
//! and its own hash, `smt::store_key`).
//! The flush rule depends only on the chain (heights and change counts), so every node
//! flushes at the same heights and `check` can compare the column with a replay.

use crate::exec::{self, StateRead};
use crate::schema::{self, TxLoc};
use crate::smt::{self, Node};
use crate::{corrupt, decode_at, Inner, Ledger, LedgerError};
use chancery_core::block::{LogEntry, Outcome, ReasonCode};
use chancery_core::state::{StateKey, StateValue};
use chancery_core::{Digest, Height, TxHash};
use chancery_storage::{Column, WriteBatch};
use std::collections::HashMap;

/// Meta key of the height whose state tree is the last one flushed.
pub const META_TREE_FLUSHED: &[u8] = b"state_tree_flushed";
/// Meta key prefix of flushed roots: `prefix ‖ height (8 BE)` -> root (32 bytes).
pub const META_TREE_SNAPSHOT: &[u8] = b"state_tree_snapshot/";

/// The heights of every flushed tree recorded in `store` (ascending), read in pages.
pub(crate) fn snapshot_heights(
    store: &dyn chancery_storage::Store,
) -> Result<Vec<Height>, LedgerError> {
    let page = 1024;
    let end = schema::prefix_end(META_TREE_SNAPSHOT);
    let mut start = META_TREE_SNAPSHOT.to_vec();
    let mut out = Vec::new();
    loop {
        let rows = store.scan(Column::Meta, &start, end.as_deref(), false, page)?;
        for (k, _) in &rows {
            let h = schema::read_be(&k[META_TREE_SNAPSHOT.len()..])
                .filter(|_| k.len() == META_TREE_SNAPSHOT.len() + 8)
                .ok_or_else(|| corrupt(Column::Meta, k, "not a snapshot key"))?;
            out.push(Height(h));
        }
        match rows.last() {
            Some((k, _)) if rows.len() == page => start = chancery_storage::successor(k),
            _ => return Ok(out),
        }
    }
}

/// `Meta` key recording the root flushed at `height`.
pub fn snapshot_key(height: Height) -> Vec<u8> {
    let mut k = META_TREE_SNAPSHOT.to_vec();
    k.extend_from_slice(&schema::be(height.0));
    k
}

/// A tree whose flush is due, its nodes set aside until the flush has landed.
#[derive(Debug)]
pub(crate) struct Sealed {
    /// The height whose tree it is.
    pub height: Height,
    /// Its root.
    pub root: Digest,
    /// The nodes created in its window (since the previous seal).
    pub nodes: HashMap<Digest, Node>,
}

/// Tree nodes not yet flushed, and the flush schedule.
#[derive(Debug, Default)]
pub(crate) struct TreeMem {
    /// Nodes created since the last seal, by hash.
    pub pending: HashMap<Digest, Node>,
    /// The tree sealed for a flush that has not landed yet (at most one).
    pub sealed: Option<Sealed>,
    /// Nodes of the window before the last flush (kept so that every height from the
    /// previous flush on stays provable); dropped at the next flush.
    pub previous: HashMap<Digest, Node>,
    /// Height of the last flushed tree (0: the genesis tree, written with the genesis).
    pub flushed: Height,
    /// Height of the flush before it: heights from here on are provable.
    pub window_from: Height,
    /// Height of the last seal (or flush): the schedule counts from it.
    pub scheduled: Height,
    /// Changed keys since the last seal.
    pub changes: u64,
}

impl TreeMem {
    /// A node not yet flushed (or flushed in the last window).
    pub fn get(&self, h: &Digest) -> Option<Node> {
        self.pending
            .get(h)
            .or_else(|| self.sealed.as_ref().and_then(|s| s.nodes.get(h)))
            .or_else(|| self.previous.get(h))
            .copied()
    }

    /// Record a block's new nodes and its number of changed keys.
    pub fn add<'a>(
        &mut self,
        nodes: impl IntoIterator<Item = (&'a Digest, &'a Node)>,
        changes: usize,
    ) {
        for (h, n) in nodes {
            self.pending.insert(*h, *n);
        }
        self.changes = self.changes.saturating_add(changes as u64);
    }

    /// Is a flush due after the block at `height`? Decided from the chain alone, so that
    /// every node (and a replay) flushes at the same heights.
    pub fn due(&self, height: Height, flush_blocks: u64, flush_changes: u64) -> bool {
        height.0.saturating_sub(self.scheduled.0) >= flush_blocks.max(1)
            || self.changes >= flush_changes.max(1)
    }

    /// Set the tree of `height` (root `root`) aside for its flush. The previous seal must
    /// have landed: nodes of one window are flushed only after the window before (a
    /// flush does not descend below nodes it does not hold, which must be stored).
    pub fn seal(&mut self, height: Height, root: Digest) {
        debug_assert!(self.sealed.is_none(), "sealing over an unflushed seal");
        self.sealed = Some(Sealed {
            height,
            root,
            nodes: std::mem::take(&mut self.pending),
        });
        self.scheduled = height;
        self.changes = 0;
    }

    /// The flush of the sealed tree: every node of its window reachable from its root
    /// (the others belong to replaced intermediate roots), under its path key, the
    /// snapshot record and the new flushed height. Children are visited only through the
    /// window's nodes: a node not among them is already stored, and so is its subtree.
    pub fn sealed_batch(&self) -> Option<(Height, WriteBatch)> {
        let s = self.sealed.as_ref()?;
        let mut b = WriteBatch::new();
        for (k, n) in smt::positioned(s.root, &|h| s.nodes.get(h).copied()) {
            b.put(Column::StateTree, k, n.encode());
        }
        b.put(
            Column::Meta,
            snapshot_key(s.height),
            s.root.as_bytes().to_vec(),
        );
        b.put(
            Column::Meta,
            META_TREE_FLUSHED,
            schema::be(s.height.0).to_vec(),
        );
        Some((s.height, b))
    }

    /// Undo [`TreeMem::seal`] (its flush failed): the nodes return to the pending ones
    /// and the schedule to where it was.
    pub fn unseal(&mut self, scheduled: Height, changes: u64) {
        if let Some(s) = self.sealed.take() {
            self.pending.extend(s.nodes);
        }
        self.scheduled = scheduled;
        self.changes = changes;
    }

    /// After the flush of the seal at `height` landed: the window moves on. A flush of an
    /// older seal (landed twice: by the worker and by the commit path) changes nothing.
    pub fn landed(&mut self, height: Height) {
        if self.sealed.as_ref().is_some_and(|s| s.height == height) {
            if let Some(s) = self.sealed.take() {
                self.previous = s.nodes;
            }
            self.window_from = self.flushed;
            self.flushed = height;
        }
    }

    /// Nodes held in memory.
    pub fn len(&self) -> usize {
        self.pending.len() + self.sealed.as_ref().map_or(0, |s| s.nodes.len()) + self.previous.len()
    }
}

/// The state as of a past block's parent, for replaying that block: values as of
/// `as_of`, transactions applied before log index `before`.
struct HistoricReader<'a> {
    ledger: &'a Ledger,
    as_of: Height,
    before: u64,
}

impl StateRead for HistoricReader<'_> {
    fn value(&self, key: &StateKey) -> Result<Option<StateValue>, LedgerError> {
        self.ledger.value_at(key, self.as_of)
    }

    fn tx_applied(&self, hash: &TxHash) -> Result<bool, LedgerError> {
        // As the live reader: the latest occurrence before the block tells.
        let start = schema::tx_key(hash, 0);
        let end = schema::tx_key(hash, self.before);
        let rows = self
            .ledger
            .store()
            .scan(Column::TxIndex, &start, Some(&end), true, 1)?;
        Ok(match rows.into_iter().next() {
            Some((k, v)) => {
                let loc: TxLoc = decode_at(self.ledger.suite(), Column::TxIndex, &k, &v)?;
                loc.outcome == Outcome::Applied
                    || loc.outcome == Outcome::Rejected(ReasonCode::DuplicateTx)
            }
            None => false,
        })
    }
}

/// Reasons found while verifying signatures, chain and format: a logged transaction
/// rejected for one of them is replayed as rejected for it (replay trusts its own log for
/// signatures; everything the state depends on is re-derived and the root is checked).
fn pre_reason(outcome: Outcome) -> Option<ReasonCode> {
    match outcome {
        Outcome::Rejected(
            r @ (ReasonCode::BadSignature | ReasonCode::WrongChain | ReasonCode::Malformed),
        ) => Some(r),
        _ => None,
    }
}

impl Ledger {
    /// Re-derive the tree nodes of the blocks above the flushed height (at open): re-run
    /// each block's logged transactions against the state as of its parent, check every
    /// outcome against the log and the new root against the header, and keep the nodes in
    /// memory (flushing when due, as the live path does).
    pub(crate) fn replay_tree(&self, inner: &mut Inner) -> Result<(), LedgerError> {
        let tip = inner.tip.height;
        let mut root = self.root_at_flushed(inner.tree.flushed)?;
        let mut h = inner.tree.flushed;
        while h < tip {
            h = h.next();
            let sb = self
                .stored_block(h)?
                .ok_or_else(|| corrupt(Column::Blocks, &schema::be(h.0), "missing"))?;
            let header = &sb.header;
            let count = header.tx_count as u64;
            let mut entries: Vec<LogEntry> = Vec::with_capacity(count as usize);
            for i in sb.first_index..sb.first_index + count {
                let e = self
                    .log_entry(i)?
                    .ok_or_else(|| corrupt(Column::Log, &schema::be(i), "missing"))?;
                entries.push(e);
            }
            let reader = HistoricReader {
                ledger: self,
                as_of: Height(h.0 - 1),
                before: sb.first_index,
            };
            let mut ex = exec::Exec::new(
                self.chain_id,
                h,
                header.time,
                self.validators_min,
                self.genesis.crypto,
                &reader,
            );
            for (i, e) in entries.iter().enumerate() {
                let (outcome, _) = ex.run(&e.tx, e.tx.hash(), pre_reason(e.outcome))?;
                if outcome != e.outcome {
                    let k = schema::be(sb.first_index + i as u64);
                    return Err(corrupt(
                        Column::Log,
                        &k,
                        format!(
                            "replay gives outcome {outcome:?}, the log says {:?}",
                            e.outcome
                        ),
                    ));
                }
            }
            let changes = std::mem::take(&mut ex.overlay);
            drop(ex);
            let list: Vec<(Digest, Digest)> = changes
                .iter()
                .map(|(k, (_, v))| (*k, v.hash(self.genesis.crypto)))
                .collect();
            let up = smt::update(self.genesis.crypto, root, &list, &mut |n, d, p| {
                self.load_node(inner, &[], n, d, p)
            })?;
            if up.root != header.state_root {
                return Err(corrupt(
                    Column::Blocks,
                    &schema::be(h.0),
                    format!(
                        "replaying the block gives state root {}, its header says {}",
                        up.root, header.state_root
                    ),
                ));
            }
            root = up.root;
            inner
                .tree
                .add(up.nodes.iter().map(|(h, n)| (h, n)), changes.len());
            // Replay writes its flushes at once: the node serves only after it.
            self.flush_tree_if_due(inner, h, root, true);
        }
        Ok(())
    }

    /// The state root at a flushed height (the genesis root at 0).
    fn root_at_flushed(&self, h: Height) -> Result<Digest, LedgerError> {
        if h == Height(0) {
            return self.genesis_root();
        }
        let k = snapshot_key(h);
        let v = self
            .store()
            .get(Column::Meta, &k)?
            .ok_or_else(|| corrupt(Column::Meta, &k, "missing flushed state root"))?;
        Ok(Digest(
            v.as_slice()
                .try_into()
                .map_err(|_| corrupt(Column::Meta, &k, "not 32 bytes"))?,
        ))
    }

    /// After block `h` (state root `root`): if a flush is due, seal the tree and, when
    /// `inline` (or when the previous seal has still not landed), write it now. A failed
    /// flush is not the block's failure (the block is durable, the nodes stay in memory):
    /// it is counted and retried after the next block. With `inline` false the sealed tree
    /// waits for [`Ledger::flush_sealed`] (the node's indexer task), off the commit path.
    pub(crate) fn flush_tree_if_due(
        &self,
        inner: &mut Inner,
        h: Height,
        root: Digest,
        inline: bool,
    ) {
        let cfg = &self.config;
        if !inner
            .tree
            .due(h, cfg.tree_flush_blocks, cfg.tree_flush_changes)
        {
            return;
        }
        // The previous seal first: windows land in order.
        if inner.tree.sealed.is_some() && self.write_sealed_locked(inner).is_err() {
            return;
        }
        let (scheduled, changes) = (inner.tree.scheduled, inner.tree.changes);
        inner.tree.seal(h, root);
        if inline && self.write_sealed_locked(inner).is_err() {
            // Not sealed after all: the flush stays due and the next block retries it
            // with its own, later tree.
            inner.tree.unseal(scheduled, changes);
        }
    }

    /// Write the sealed tree while holding the ledger (counting a failure).
    fn write_sealed_locked(&self, inner: &mut Inner) -> Result<(), LedgerError> {
        let Some((h, batch)) = inner.tree.sealed_batch() else {
            return Ok(());
        };
        match self.store().write_behind(batch) {
            Ok(()) => {
                inner.tree.landed(h);
                Ok(())
            }
            Err(e) => {
                inner.tree_flush_failures += 1;
                inner.tree_flush_error = Some(e.to_string());
                Err(e.into())
            }
        }
    }

    /// Write the tree sealed for a flush, if any, without holding the ledger during the
    /// write (commits go on meanwhile): what the node's indexer task calls after each
    /// commit when the ledger was opened with `tree_flush_background`. Returns the height
    /// flushed. Writing a seal the commit path has meanwhile written too is harmless
    /// (same keys, same values).
    pub fn flush_sealed(&self) -> Result<Option<Height>, LedgerError> {
        let Some((h, batch)) = self.lock().tree.sealed_batch() else {
            return Ok(None);
        };
        let written = self.store().write_behind(batch);
        let mut inner = self.lock();
        match written {
            Ok(()) => {
                inner.tree.landed(h);
                Ok(Some(h))
            }
            Err(e) => {
                inner.tree_flush_failures += 1;
                inner.tree_flush_error = Some(e.to_string());
                Err(e.into())
            }
        }
    }

    /// Flush the current tree now, whatever the schedule: before a backup or a planned
    /// stop (the next open then replays nothing), and in the integrity check, which
    /// flushes a replay at the heights the database flushed at.
    pub fn flush_tree(&self) -> Result<(), LedgerError> {
        let mut inner = self.lock();
        if inner.tree.sealed.is_some() {
            self.write_sealed_locked(&mut inner)?;
        }
        let (h, root) = (inner.tip.height, inner.tip.state_root);
        if inner.tree.flushed != h {
            inner.tree.seal(h, root);
            self.write_sealed_locked(&mut inner)?;
        }
        Ok(())
    }

    /// The flushed tree height stored (0 if none was recorded: the genesis tree).
    pub(crate) fn load_flushed(&self) -> Result<Height, LedgerError> {
        match self.store().get(Column::Meta, META_TREE_FLUSHED)? {
            None => Ok(Height(0)),
            Some(v) => schema::read_be(&v)
                .filter(|_| v.len() == 8)
                .map(Height)
                .ok_or_else(|| corrupt(Column::Meta, META_TREE_FLUSHED, "not an 8-byte height")),
        }
    }
}
