//! The simulated application's state under pipelined execution (R15, docs/consensus.md §3).
//!
//! A block's payload is `[proposer byte] [transactions] [claimed post-state, 32 bytes]`.
//! Executing transactions on a state is `H(state || transactions)` under the simulator's own
//! BLAKE3 domain tag; a block without transactions (an empty block) leaves the state as it
//! is. Each node's [`Host`] keeps what the node host keeps: the committed state of its
//! finalized root, a speculative result for every block it built or found valid (at most
//! [`SPECULATIVE_DEPTH_MAX`] heights above the root, at most [`SPECULATIVE_KEPT_MAX`]), the
//! headers of those blocks, the validations waiting for a parent's result and the proposal
//! it owes while it waits for a parent's finalization. [`Host::fill`] is the held-parent
//! rule: a parent the host holds no result for is executed, with its ancestors down to a
//! block it holds a result for, from the blocks its core holds. [`Truth`] is the
//! simulator's own record of every block's true post-state and claim.

use chancery_consensus::{Block, BlockRef};
use chancery_core::domain::Tag;
use chancery_core::ids::{Digest, View};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// Most heights above the finalized root at which a block is executed (R15; the ledger's
/// `SPECULATIVE_DEPTH_MAX`).
pub const SPECULATIVE_DEPTH_MAX: u64 = 8;

/// Most speculative results a host keeps (the ledger's `SPECULATIVE_KEPT_MAX`).
pub const SPECULATIVE_KEPT_MAX: usize = 64;

/// Most validations a host puts off (the driver's `PENDING_VALIDATIONS_MAX`).
pub const PENDING_VALIDATIONS_MAX: usize = 64;

/// Length of the claimed post-state at the end of a payload.
pub const CLAIM_BYTES: usize = 32;

/// A proposer byte that marks a payload invalid (the simulator's stand-in for a payload
/// the application refuses); honest proposers never write it.
pub const INVALID_PROPOSER: u8 = 0xFF;

/// The simulator's domain tag for execution.
const STATE_HASH: Tag = Tag("chancery/sim/v1/hash/state");

/// The state before the first block.
pub fn genesis_state() -> Digest {
    STATE_HASH.hash(b"genesis")
}

/// A payload: the proposer's byte, the transactions, the claimed post-state.
pub fn payload(proposer: u8, transactions: &[u8], claim: Digest) -> Vec<u8> {
    let mut p = Vec::with_capacity(1 + transactions.len() + CLAIM_BYTES);
    p.push(proposer);
    p.extend_from_slice(transactions);
    p.extend_from_slice(claim.as_bytes());
    p
}

/// The transactions of a payload; `None` when it is too short to hold a claim.
pub fn transactions(payload: &[u8]) -> Option<&[u8]> {
    let end = payload.len().checked_sub(CLAIM_BYTES)?;
    payload.get(1..end)
}

/// The post-state a payload claims; `None` when it is too short to hold one.
pub fn claim(payload: &[u8]) -> Option<Digest> {
    transactions(payload)?;
    let tail = &payload[payload.len() - CLAIM_BYTES..];
    let mut d = [0u8; CLAIM_BYTES];
    d.copy_from_slice(tail);
    Some(Digest(d))
}

/// The state after executing `transactions` on `state` (an empty block changes nothing).
pub fn execute(state: Digest, transactions: &[u8]) -> Digest {
    if transactions.is_empty() {
        return state;
    }
    let mut bytes = Vec::with_capacity(32 + transactions.len());
    bytes.extend_from_slice(state.as_bytes());
    bytes.extend_from_slice(transactions);
    STATE_HASH.hash(&bytes)
}

/// The state after executing `block` on `state` (a malformed payload executes as empty).
pub fn execute_block(state: Digest, block: &Block) -> Digest {
    execute(state, transactions(&block.payload).unwrap_or(&[]))
}

/// What the simulator knows of a block it saw built.
#[derive(Clone, Copy, Debug)]
struct Known {
    truth: Digest,
    claim: Option<Digest>,
}

/// Every block built in a run (honest or Byzantine): its true post-state, computed on its
/// parent's, and its claim. The genesis root (`Digest::ZERO`) has the genesis state.
#[derive(Debug)]
pub struct Truth {
    blocks: HashMap<Digest, Known>,
}

impl Default for Truth {
    fn default() -> Truth {
        let mut blocks = HashMap::new();
        blocks.insert(
            Digest::ZERO,
            Known {
                truth: genesis_state(),
                claim: Some(genesis_state()),
            },
        );
        Truth { blocks }
    }
}

impl Truth {
    /// Record a block built on a known parent; `true` when its claim is its true post-state
    /// (`false` too when the parent is unknown).
    pub fn register(&mut self, block: &Block) -> bool {
        let Some(parent) = self.truth(block.parent) else {
            return false;
        };
        let truth = execute_block(parent, block);
        let claim = claim(&block.payload);
        self.blocks.insert(block.digest, Known { truth, claim });
        claim == Some(truth)
    }

    /// The true post-state of block `digest`.
    pub fn truth(&self, digest: Digest) -> Option<Digest> {
        self.blocks.get(&digest).map(|k| k.truth)
    }

    /// The post-state block `digest` claims (what a host reads from the header of a block
    /// its core holds).
    pub fn claim(&self, digest: Digest) -> Option<Digest> {
        self.blocks.get(&digest).and_then(|k| k.claim)
    }
}

/// A speculative result: the state after a block not yet finalized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Speculative {
    /// The block's height.
    pub height: u64,
    /// Its parent's digest.
    pub parent: Digest,
    /// The state after it.
    pub post: Digest,
}

/// A proposal the host owes its core while it waits for the parent's finalization (R15:
/// the leader holds no result for the parent).
#[derive(Clone, Copy, Debug)]
pub struct Proposing {
    /// The view.
    pub view: View,
    /// The parent the core chose.
    pub parent: BlockRef,
}

/// Why [`Host::fill`] gave the host no result for a parent; the host then falls back to
/// building an empty block on the parent's header, or to waiting for its commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillError {
    /// The core holds no block under this digest (it pruned it, or never had it).
    Unheld(Digest),
    /// The chain down from the parent does not reach the root or a kept result within
    /// [`SPECULATIVE_DEPTH_MAX`] blocks above the root, or this block's height does not
    /// follow its parent's.
    Unlinked(Digest),
    /// This block is invalid: a malformed or invalid payload, or a claimed post-state that
    /// is not the state executing it on its parent's result gives. It is not kept.
    Refused(Digest),
    /// [`SPECULATIVE_KEPT_MAX`] results are kept already; this block's is not.
    Full(Digest),
}

/// What finalizing a block did to a host.
#[derive(Clone, Debug)]
pub struct Committed {
    /// The committed state after the block.
    pub post: Digest,
    /// It held no result and executed the block on its committed state.
    pub executed: bool,
    /// Speculative results dropped (at the block's height or lower, or not descending
    /// from it), besides the block's own.
    pub dropped: Vec<Digest>,
}

/// One node's application state, as the node's host keeps it (node/daemon/src/app.rs and
/// node/ledger/src/speculative.rs). `root`, `root_height` and `committed` are durable (the
/// finalized chain); the rest belongs to one incarnation.
#[derive(Clone, Debug)]
pub struct Host {
    /// The last finalized block (`Digest::ZERO` at genesis).
    pub root: Digest,
    /// Its height.
    pub root_height: u64,
    /// The state after it.
    pub committed: Digest,
    /// Speculative results by block digest.
    pub speculative: BTreeMap<Digest, Speculative>,
    /// Headers remembered (blocks built or found valid, above the root): height and
    /// claimed post-state.
    pub headers: BTreeMap<Digest, (u64, Digest)>,
    /// Blocks above the root whose result this incarnation kept, with their heights.
    pub executed: HashMap<Digest, u64>,
    /// Validations waiting for their parent's result (or header), oldest first; at most
    /// [`PENDING_VALIDATIONS_MAX`].
    pub waiting: VecDeque<Block>,
    /// The proposal owed while waiting for the parent's finalization.
    pub proposing: Option<Proposing>,
}

impl Default for Host {
    fn default() -> Host {
        Host {
            root: Digest::ZERO,
            root_height: 0,
            committed: genesis_state(),
            speculative: BTreeMap::new(),
            headers: BTreeMap::new(),
            executed: HashMap::new(),
            waiting: VecDeque::new(),
            proposing: None,
        }
    }
}

impl Host {
    /// A restart: everything but the committed state is lost.
    pub fn restart(&mut self) {
        self.speculative.clear();
        self.headers.clear();
        self.executed.clear();
        self.waiting.clear();
        self.proposing = None;
    }

    /// The state a block at `height` on `parent` is executed on, if it can be: the
    /// committed state when `parent` is the root, else the parent's kept result, and the
    /// block at most [`SPECULATIVE_DEPTH_MAX`] heights above the root.
    pub fn base(&self, parent: Digest, height: u64) -> Option<Digest> {
        if height > self.root_height + SPECULATIVE_DEPTH_MAX {
            return None;
        }
        if parent == self.root {
            return Some(self.committed);
        }
        self.speculative.get(&parent).map(|s| s.post)
    }

    /// The post-state block `digest`'s header claims, if the host knows the header: the
    /// root's (its committed state) or a remembered one.
    pub fn header_claim(&self, digest: Digest) -> Option<Digest> {
        if digest == self.root {
            return Some(self.committed);
        }
        self.headers.get(&digest).map(|h| h.1)
    }

    /// Remember the header of a block built or found valid.
    pub fn remember(&mut self, block: &Block, claim: Digest) {
        if block.height.0 > self.root_height {
            self.headers.insert(block.digest, (block.height.0, claim));
        }
    }

    /// Keep the result of `block`, computed by this incarnation; `false` (not kept) when
    /// the block is at or below the root, its parent is neither the root nor kept, or
    /// [`SPECULATIVE_KEPT_MAX`] results are kept already.
    pub fn keep(&mut self, block: &Block, post: Digest) -> bool {
        let linked = block.parent == self.root || self.speculative.contains_key(&block.parent);
        if block.height.0 <= self.root_height || !linked {
            return false;
        }
        if self.speculative.len() >= SPECULATIVE_KEPT_MAX
            && !self.speculative.contains_key(&block.digest)
        {
            return false;
        }
        self.speculative.insert(
            block.digest,
            Speculative {
                height: block.height.0,
                parent: block.parent,
                post,
            },
        );
        self.executed.insert(block.digest, block.height.0);
        true
    }

    /// The held-parent rule (R15): give the host a result for `parent` by executing it, and
    /// its ancestors down to the first block the host holds a result for (the root or a
    /// kept result), in height order, reading each from `held` (the blocks the node's core
    /// holds). Each is checked as a proposal is (its claimed post-state against its
    /// execution on its parent's result) and its result and header kept; at most
    /// [`SPECULATIVE_DEPTH_MAX`] blocks. Returns how many blocks were executed (0: the
    /// host held `parent`'s result already). On an error the blocks below the one named
    /// keep their results; the one named and those above it are not executed.
    pub fn fill(
        &mut self,
        parent: Digest,
        held: impl Fn(&Digest) -> Option<Block>,
    ) -> Result<usize, FillError> {
        let mut chain: Vec<Block> = Vec::new();
        let mut at = parent;
        while at != self.root && !self.speculative.contains_key(&at) {
            if chain.len() >= SPECULATIVE_DEPTH_MAX as usize {
                return Err(FillError::Unlinked(at));
            }
            let block = held(&at).ok_or(FillError::Unheld(at))?;
            if block.digest != at || block.height.0 <= self.root_height {
                return Err(FillError::Unlinked(at));
            }
            at = block.parent;
            chain.push(block);
        }
        let (mut state, mut height) = match self.speculative.get(&at) {
            Some(s) => (s.post, s.height),
            None => (self.committed, self.root_height),
        };
        for block in chain.iter().rev() {
            if block.height.0 != height + 1
                || block.height.0 > self.root_height + SPECULATIVE_DEPTH_MAX
            {
                return Err(FillError::Unlinked(block.digest));
            }
            let (Some(txs), Some(claim)) = (transactions(&block.payload), claim(&block.payload))
            else {
                return Err(FillError::Refused(block.digest));
            };
            let post = execute(state, txs);
            if claim != post || block.payload.first() == Some(&INVALID_PROPOSER) {
                return Err(FillError::Refused(block.digest));
            }
            self.remember(block, claim);
            if !self.keep(block, post) {
                return Err(FillError::Full(block.digest));
            }
            (state, height) = (post, block.height.0);
        }
        Ok(chain.len())
    }

    /// Put off the validation of `block` (the oldest goes past
    /// [`PENDING_VALIDATIONS_MAX`]).
    pub fn wait(&mut self, block: Block) {
        if self.waiting.len() >= PENDING_VALIDATIONS_MAX {
            self.waiting.pop_front();
        }
        self.waiting.push_back(block);
    }

    /// Finalize `block` (the child of the root): commit its result, or execute it on the
    /// committed state if none is held; then drop every result at its height or lower and
    /// every result that does not descend from it (R15).
    pub fn finalize(&mut self, block: &Block) -> Committed {
        let held = self.speculative.remove(&block.digest).map(|s| s.post);
        let executed = held.is_none();
        let post = held.unwrap_or_else(|| execute_block(self.committed, block));
        self.root = block.digest;
        self.root_height = block.height.0;
        self.committed = post;
        // Keep what descends from the new root, going up by height.
        let mut by_height: Vec<(u64, Digest, Digest)> = self
            .speculative
            .iter()
            .map(|(d, s)| (s.height, *d, s.parent))
            .collect();
        by_height.sort();
        let mut kept: HashSet<Digest> = HashSet::from([self.root]);
        let mut dropped = Vec::new();
        for (height, digest, parent) in by_height {
            if height > self.root_height && kept.contains(&parent) {
                kept.insert(digest);
            } else {
                dropped.push(digest);
            }
        }
        for d in &dropped {
            self.speculative.remove(d);
        }
        let root_height = self.root_height;
        self.executed.retain(|_, h| *h > root_height);
        self.headers.retain(|_, h| h.0 > root_height);
        Committed {
            post,
            executed,
            dropped,
        }
    }

    /// The R15 bounds on the speculative results: at most [`SPECULATIVE_KEPT_MAX`], each
    /// above the root, at most [`SPECULATIVE_DEPTH_MAX`] heights above it, and descending
    /// from it.
    pub fn check(&self) -> Result<(), String> {
        if self.speculative.len() > SPECULATIVE_KEPT_MAX {
            return Err(format!(
                "holds {} speculative results, more than {SPECULATIVE_KEPT_MAX}",
                self.speculative.len()
            ));
        }
        for (d, s) in &self.speculative {
            if s.height <= self.root_height {
                return Err(format!(
                    "holds a speculative result for {} at height {}, at or below its finalized \
                     height {}",
                    d.to_hex(),
                    s.height,
                    self.root_height
                ));
            }
            if s.height > self.root_height + SPECULATIVE_DEPTH_MAX {
                return Err(format!(
                    "holds a speculative result for {} at height {}, more than {} heights \
                     above its finalized height {}",
                    d.to_hex(),
                    s.height,
                    SPECULATIVE_DEPTH_MAX,
                    self.root_height
                ));
            }
            let mut at = *s;
            while at.parent != self.root {
                match self.speculative.get(&at.parent) {
                    Some(p) if p.height + 1 == at.height => at = *p,
                    _ => {
                        return Err(format!(
                            "holds a speculative result for {} at height {} that does not \
                             descend from its root {}",
                            d.to_hex(),
                            s.height,
                            self.root.to_hex()
                        ))
                    }
                }
            }
            if at.height != self.root_height + 1 {
                return Err(format!(
                    "holds a speculative result for {} whose chain reaches its root {} from \
                     height {}",
                    d.to_hex(),
                    self.root.to_hex(),
                    at.height
                ));
            }
        }
        Ok(())
    }

    /// The most heights above the root for which a result is held.
    pub fn depth(&self) -> u64 {
        self.speculative
            .values()
            .map(|s| s.height.saturating_sub(self.root_height))
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_core::ids::Height;

    fn block(parent: Digest, height: u64, tag: u8, state: Digest) -> Block {
        let txs = [tag; 4];
        let payload = payload(0, &txs, execute(state, &txs));
        let mut d = [tag; 32];
        d[0] = height as u8;
        Block {
            digest: Digest(d),
            parent,
            height: Height(height),
            view: View(height),
            payload,
        }
    }

    #[test]
    fn a_payload_carries_its_claim_and_an_empty_block_keeps_the_state() {
        let s = genesis_state();
        let p = payload(7, b"tx", execute(s, b"tx"));
        assert_eq!(transactions(&p), Some(&b"tx"[..]));
        assert_eq!(claim(&p), Some(execute(s, b"tx")));
        assert_ne!(execute(s, b"tx"), s);
        assert_eq!(execute(s, b""), s);
        assert_eq!(claim(&[1u8; 32]), None);
    }

    #[test]
    fn finalizing_commits_the_held_result_and_drops_results_off_the_new_root() {
        let mut h = Host::default();
        let g = h.committed;
        let a = block(Digest::ZERO, 1, 1, g);
        let a_post = claim(&a.payload).unwrap();
        let b = block(a.digest, 2, 2, a_post);
        let b_post = claim(&b.payload).unwrap();
        let a2 = block(Digest::ZERO, 1, 3, g); // a sibling of a
        let c2 = block(a2.digest, 2, 4, claim(&a2.payload).unwrap());
        for (x, post) in [(&a, a_post), (&b, b_post)] {
            assert!(h.keep(x, post));
        }
        assert!(h.keep(&a2, claim(&a2.payload).unwrap()));
        assert!(h.keep(&c2, claim(&c2.payload).unwrap()));
        assert!(h.check().is_ok());
        let done = h.finalize(&a);
        assert!(!done.executed);
        assert_eq!(done.post, a_post);
        let mut dropped = done.dropped.clone();
        dropped.sort();
        let mut want = vec![a2.digest, c2.digest];
        want.sort();
        assert_eq!(dropped, want);
        assert_eq!(h.base(b.digest, 3), Some(b_post));
        assert!(h.check().is_ok());
        // Without a held result the block is executed on the committed state.
        h.restart();
        let done = h.finalize(&b);
        assert!(done.executed);
        assert_eq!(done.post, b_post);
    }

    #[test]
    fn the_check_catches_a_result_left_below_the_root_or_off_it() {
        let mut h = Host::default();
        let g = h.committed;
        let a = block(Digest::ZERO, 1, 1, g);
        let a2 = block(Digest::ZERO, 1, 3, g);
        assert!(h.keep(&a, claim(&a.payload).unwrap()));
        h.finalize(&a);
        h.speculative.insert(
            a2.digest,
            Speculative {
                height: 1,
                parent: Digest::ZERO,
                post: g,
            },
        );
        assert!(h.check().unwrap_err().contains("at or below"));
        h.speculative.clear();
        // A result whose parent is not kept: `keep` refuses it, `check` catches it.
        let orphan = block(a2.digest, 2, 5, g);
        assert!(!h.keep(&orphan, g));
        h.speculative.insert(
            orphan.digest,
            Speculative {
                height: 2,
                parent: a2.digest,
                post: g,
            },
        );
        assert!(h.check().unwrap_err().contains("does not descend"));
    }

    #[test]
    fn a_parent_chain_held_by_the_core_is_executed_checked_and_kept() {
        let mut h = Host::default();
        let g = h.committed;
        let a = block(Digest::ZERO, 1, 1, g);
        let a_post = claim(&a.payload).unwrap();
        let b = block(a.digest, 2, 2, a_post);
        let b_post = claim(&b.payload).unwrap();
        let held: HashMap<Digest, Block> = [(a.digest, a.clone()), (b.digest, b.clone())].into();
        assert_eq!(h.base(b.digest, 3), None);
        assert_eq!(h.fill(b.digest, |d| held.get(d).cloned()), Ok(2));
        assert_eq!(h.base(b.digest, 3), Some(b_post));
        assert_eq!(h.header_claim(a.digest), Some(a_post));
        assert!(h.check().is_ok());
        // Held already: nothing to execute.
        assert_eq!(h.fill(b.digest, |d| held.get(d).cloned()), Ok(0));
        // An ancestor the core does not hold: nothing is executed.
        let mut h = Host::default();
        assert_eq!(
            h.fill(b.digest, |d| (*d == b.digest).then(|| b.clone())),
            Err(FillError::Unheld(a.digest))
        );
        assert!(h.speculative.is_empty());
    }

    #[test]
    fn a_held_parent_with_a_wrong_claim_is_refused_and_not_kept() {
        let mut h = Host::default();
        let g = h.committed;
        let a = block(Digest::ZERO, 1, 1, g);
        // b claims the post-state of its transactions on the genesis state, not on a's.
        let b = block(a.digest, 2, 2, g);
        let held: HashMap<Digest, Block> = [(a.digest, a.clone()), (b.digest, b.clone())].into();
        assert_eq!(
            h.fill(b.digest, |d| held.get(d).cloned()),
            Err(FillError::Refused(b.digest))
        );
        assert!(h.speculative.contains_key(&a.digest));
        assert!(!h.speculative.contains_key(&b.digest));
        assert_eq!(h.header_claim(b.digest), None);
        assert_eq!(h.base(b.digest, 3), None);
    }

    #[test]
    fn blocks_above_the_depth_bound_are_not_executed_and_the_check_catches_a_deep_result() {
        let mut h = Host::default();
        let mut parent = Digest::ZERO;
        let mut state = h.committed;
        for height in 1..=SPECULATIVE_DEPTH_MAX + 1 {
            let b = block(parent, height, height as u8, state);
            let base = h.base(parent, height);
            assert_eq!(base.is_some(), height <= SPECULATIVE_DEPTH_MAX, "{height}");
            state = claim(&b.payload).unwrap();
            assert!(h.keep(&b, state));
            parent = b.digest;
        }
        assert!(h.check().unwrap_err().contains("more than 8 heights"));
    }
}
