//! Speculative execution (rule R15 of docs/consensus.md): a block is executed on its
//! parent's *result* before the parent is committed, so a leader can build on a notarized
//! parent at once and validators can check such a block, instead of waiting for the
//! parent's finalization.
//!
//! A result ([`Executed`]) holds everything its block changes (state values, tree nodes,
//! log frontier, transaction outcomes). A child's reads go through the uncommitted
//! results between it and the committed tip, nearest first, then to the committed state.
//! The results are kept by block hash ([`Ledger::keep_speculative`]); committing a block
//! whose result is kept writes that result without executing again, and every commit
//! drops the results that no longer descend from the tip (a notarized block that was
//! skipped, and its descendants). Nothing here writes to the store: a speculative result
//! becomes durable only through [`Ledger::apply_by_descendant`], like any other.

use super::{logtree, Executed, Inner, Ledger, LedgerError, Plan};
use chancery_core::state::{StateKey, StateValue};
use chancery_core::{Digest, Height, TimestampMs};
use std::collections::HashSet;
use std::sync::Arc;

/// Most heights above the committed tip at which a block may be executed: a chain of
/// notarized but unfinalized blocks longer than this waits for finalization. Bounds the
/// memory of the results kept and the length of every read's walk.
pub const SPECULATIVE_DEPTH_MAX: u64 = 8;

/// Most speculative results kept (candidates of several views at several heights); past
/// it a new result is not kept, so its block cannot be built on until it is committed.
pub const SPECULATIVE_KEPT_MAX: usize = 64;

/// What a block is executed on: the committed tip, or a parent's speculative result with
/// the uncommitted results below it.
pub(crate) struct Base {
    /// The parent's height.
    pub height: Height,
    /// The parent's hash.
    pub hash: Digest,
    /// The parent's time.
    pub time: TimestampMs,
    /// State root after the parent.
    pub state_root: Digest,
    /// Log frontier after the parent.
    pub frontier: logtree::Frontier,
    /// The uncommitted results from the parent down to the tip's child, nearest first
    /// (empty on the tip).
    pub plans: Vec<Arc<Plan>>,
}

impl Base {
    /// The committed tip.
    pub(crate) fn tip(inner: &Inner) -> Base {
        Base {
            height: inner.tip.height,
            hash: inner.tip.hash,
            time: inner.tip.time,
            state_root: inner.tip.state_root,
            frontier: inner.frontier.clone(),
            plans: Vec::new(),
        }
    }

    /// On block `parent`: the tip, or a kept result whose chain of kept results reaches
    /// the tip within [`SPECULATIVE_DEPTH_MAX`].
    pub(crate) fn on(inner: &Inner, parent: &Digest) -> Result<Base, LedgerError> {
        if *parent == inner.tip.hash {
            return Ok(Base::tip(inner));
        }
        let first = inner
            .speculative
            .get(parent)
            .ok_or(LedgerError::NoResult { parent: *parent })?;
        let mut plans = vec![Arc::clone(&first.plan)];
        let mut cur = first;
        while cur.parent != inner.tip.hash {
            // A block one level deeper than the limit is refused before the walk is long.
            if plans.len() as u64 >= SPECULATIVE_DEPTH_MAX {
                return Err(LedgerError::SpeculationTooDeep {
                    max: SPECULATIVE_DEPTH_MAX,
                });
            }
            // Heights fall by one per step, so the walk ends (results are our own, but a
            // broken chain must be an error, not a loop).
            let up = inner
                .speculative
                .get(&cur.parent)
                .filter(|p| p.height.next() == cur.height && p.height > inner.tip.height)
                .ok_or(LedgerError::NoResult { parent: cur.parent })?;
            plans.push(Arc::clone(&up.plan));
            cur = up;
        }
        if plans.len() as u64 >= SPECULATIVE_DEPTH_MAX {
            return Err(LedgerError::SpeculationTooDeep {
                max: SPECULATIVE_DEPTH_MAX,
            });
        }
        Ok(Base {
            height: first.height,
            hash: *parent,
            time: first.time,
            state_root: first.state_root,
            frontier: first.plan.frontier.clone(),
            plans,
        })
    }
}

/// Reads of the state as it is after an uncommitted block ([`Ledger::view_on`]): that
/// block's and its uncommitted ancestors' changes first, then the committed state.
pub struct SpeculativeView<'a> {
    ledger: &'a Ledger,
    plans: Vec<Arc<Plan>>,
}

impl SpeculativeView<'_> {
    /// The value of `key` after the block.
    pub fn value(&self, key: &StateKey) -> Result<Option<StateValue>, LedgerError> {
        let kh = key.hash(self.ledger.genesis.crypto);
        if let Some((_, v)) = self.plans.iter().find_map(|p| p.changes.get(&kh)) {
            return Ok(Some(v.clone()));
        }
        self.ledger.state_value(key)
    }

    /// How many uncommitted blocks lie between the committed tip and this state.
    pub fn depth(&self) -> usize {
        self.plans.len()
    }
}

impl Ledger {
    /// Execute a candidate block at `height` on block `parent` without committing it:
    /// `parent` is the committed tip or a block whose result is kept
    /// ([`Ledger::keep_speculative`]). Errors name the parent when it has no result, and
    /// the limit when the chain of uncommitted parents is too long.
    pub fn execute_on(
        &self,
        parent: &Digest,
        txs: &[super::CheckedTx],
        time: TimestampMs,
        height: Height,
    ) -> Result<Executed, LedgerError> {
        let mut inner = self.lock();
        let base = Base::on(&inner, parent)?;
        let ex = self.execute_on_base(&inner, base, txs, time, height)?;
        inner.executions += 1;
        Ok(ex)
    }

    /// Keep `ex` as the result of the block whose header hash is `block`; the caller
    /// binds them: `block` must be the hash of a header that `ex` filled
    /// ([`Executed::fill_header`]) or was checked against. Returns whether it was kept:
    /// not when the block is at or below the tip, when its parent is neither the tip nor
    /// kept, or when [`SPECULATIVE_KEPT_MAX`] results are kept already.
    pub fn keep_speculative(&self, block: Digest, ex: &Executed) -> bool {
        let mut inner = self.lock();
        let linked = ex.parent == inner.tip.hash || inner.speculative.contains_key(&ex.parent);
        if ex.height <= inner.tip.height || !linked {
            return false;
        }
        if inner.speculative.len() >= SPECULATIVE_KEPT_MAX
            && !inner.speculative.contains_key(&block)
        {
            return false;
        }
        inner.speculative.insert(block, ex.clone());
        true
    }

    /// Can a block be executed on `parent` now ([`Ledger::execute_on`])?
    pub fn can_execute_on(&self, parent: &Digest) -> bool {
        let inner = self.lock();
        Base::on(&inner, parent).is_ok()
    }

    /// Reads of the state after block `parent` (the tip or a kept result).
    pub fn view_on(&self, parent: &Digest) -> Result<SpeculativeView<'_>, LedgerError> {
        let inner = self.lock();
        let base = Base::on(&inner, parent)?;
        Ok(SpeculativeView {
            ledger: self,
            plans: base.plans,
        })
    }

    /// How many speculative results are kept.
    pub fn speculative_len(&self) -> usize {
        self.lock().speculative.len()
    }

    /// Take the kept result of block `hash` if it extends the tip: the one a commit of
    /// that block reuses.
    pub(crate) fn take_speculative(inner: &mut Inner, hash: &Digest) -> Option<Executed> {
        match inner.speculative.get(hash) {
            Some(e) if e.parent == inner.tip.hash => inner.speculative.remove(hash),
            _ => None,
        }
    }

    /// After the tip moved: drop every kept result at or below it, and every one that does
    /// not descend from it (the blocks of skipped views, and their descendants).
    pub(crate) fn prune_speculative(inner: &mut Inner) {
        if inner.speculative.is_empty() {
            return;
        }
        let tip = (inner.tip.height, inner.tip.hash);
        let mut order: Vec<(Height, Digest, Digest)> = inner
            .speculative
            .iter()
            .map(|(d, e)| (e.height, *d, e.parent))
            .collect();
        order.sort();
        let mut live: HashSet<Digest> = HashSet::from([tip.1]);
        for (height, digest, parent) in order {
            if height > tip.0 && live.contains(&parent) {
                live.insert(digest);
            }
        }
        inner.speculative.retain(|d, _| live.contains(d));
    }
}
