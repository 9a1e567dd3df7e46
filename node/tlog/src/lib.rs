//! # chancery-tlog — the transaction log Merkle tree over storage
//!
//! An append-only RFC 6962-shaped tree whose complete-subtree hashes are stored in
//! [`Column::LogTree`]: key `level (1 byte) || index (8 bytes, big-endian)` -> the 32-byte
//! hash of leaves `[index * 2^level, (index + 1) * 2^level)`. Level 0 holds the leaf
//! hashes. A node is written once, when its last leaf is appended, and never changes, so
//! the column is append-only as the storage layer requires.
//!
//! - [`LogTree::append`] returns the puts for the caller's atomic write batch (the ledger
//!   writes them with the block): one leaf plus on average one interior node per leaf,
//!   O(log n) hashing in the worst case and O(1) amortised.
//! - The tree keeps its *frontier* in memory: the roots of the complete subtrees that make up
//!   the current tree (one per set bit of the size, at most 64), so [`LogTree::root`] and
//!   appends need no reads.
//! - Proofs for any index at any past size `<= size()` read O(log n) stored hashes and
//!   never touch the leaves: every node of a proof is either a complete subtree (one read)
//!   or the single right-border subtree of the old size (one read per set bit below it).
//! - The size is not stored separately (`LogTree` keys are immutable): [`LogTree::open`]
//!   finds the last leaf with one reverse scan of level 0.
//!
//! Contract with the caller: after `append`, write the returned puts before asking for
//! proofs or roots at the new size; if the write fails, drop this `LogTree` and `open` a
//! new one from the store. A proof that needs a node that is not stored fails with
//! [`TlogError::MissingNode`], never a panic.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use chancery_core::limits::{PROOF_HASHES_MAX, TREE_SIZE_MAX};
use chancery_core::merkle::{split_point, Blake3Hasher, MerkleHasher, ProofError};
use chancery_core::Digest;
use chancery_storage::{Column, Store, StoreError};
use thiserror::Error;

/// Most leaves appended in one call (a block holds at most 20,000 transactions).
pub const APPEND_LEAVES_MAX: usize = 1 << 20;

/// A put for the caller's write batch: always in [`Column::LogTree`].
pub type Put = (Column, Vec<u8>, Vec<u8>);

/// Errors of the stored tree.
#[derive(Debug, Error)]
pub enum TlogError {
    /// The store failed.
    #[error("log tree storage: {0}")]
    Store(#[from] StoreError),
    /// A node that must exist is not stored.
    #[error("log tree node at level {level} index {index} is missing (tree size {size})")]
    MissingNode {
        /// Level.
        level: u8,
        /// Index within the level.
        index: u64,
        /// The tree's size.
        size: u64,
    },
    /// A stored node is not 32 bytes, or a key is malformed.
    #[error("corrupt log tree entry at key {key_hex}: {problem}")]
    Corrupt {
        /// Key, hex.
        key_hex: String,
        /// What is wrong.
        problem: String,
    },
    /// A requested size is beyond the current tree.
    #[error("tree size {requested} requested, but the log has only {size} leaves")]
    SizeBeyondTree {
        /// Requested.
        requested: u64,
        /// Current size.
        size: u64,
    },
    /// Too many leaves in one append, or the tree would exceed its limit.
    #[error("append of {found} leaves refused: at most {max} per call and {tree_max} in the tree")]
    AppendTooLarge {
        /// Leaves given.
        found: usize,
        /// Per-call limit.
        max: usize,
        /// Tree limit.
        tree_max: u64,
    },
    /// Invalid proof request.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

/// Storage key of the complete subtree at `level`, `index`.
pub fn node_key(level: u8, index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = level;
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

/// The append-only log tree over a [`Store`]. Generic over the hash (the ledger uses
/// [`Blake3Hasher`]; tests also use SHA-256 to compare with RFC 6962 vectors).
pub struct LogTree<S: Store + ?Sized, H: MerkleHasher = Blake3Hasher> {
    store: std::sync::Arc<S>,
    hasher: H,
    size: u64,
    /// Roots of the complete subtrees of the current tree, largest (leftmost) first; one per
    /// set bit of `size`.
    frontier: Vec<Digest>,
}

impl<S: Store + ?Sized> LogTree<S, Blake3Hasher> {
    /// Open the ledger's tree stored in `store` (empty if nothing is stored).
    pub fn open(store: std::sync::Arc<S>) -> Result<Self, TlogError> {
        Self::open_with(store, Blake3Hasher)
    }
}

impl<S: Store + ?Sized, H: MerkleHasher> LogTree<S, H> {
    /// Open with a given hasher.
    pub fn open_with(store: std::sync::Arc<S>, hasher: H) -> Result<Self, TlogError> {
        let last = store.scan(Column::LogTree, &[0u8], Some(&[1u8]), true, 1)?;
        let size = match last.first() {
            None => 0,
            Some((k, _)) => {
                let idx: [u8; 8] = k.get(1..).and_then(|s| s.try_into().ok()).ok_or_else(|| {
                    TlogError::Corrupt {
                        key_hex: hex_of(k),
                        problem: "leaf key is not 9 bytes".into(),
                    }
                })?;
                u64::from_be_bytes(idx).saturating_add(1)
            }
        };
        let mut t = LogTree {
            store,
            hasher,
            size,
            frontier: Vec::new(),
        };
        let mut frontier = Vec::with_capacity(64);
        let mut lo = 0u64;
        for level in (0..64u8).rev() {
            let w = 1u64 << level;
            if size & w != 0 {
                frontier.push(t.read(level, lo >> level)?);
                lo += w;
            }
        }
        t.frontier = frontier;
        Ok(t)
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Root of the current tree (no reads).
    pub fn root(&self) -> Digest {
        fold_right(&self.hasher, &self.frontier).unwrap_or_else(|| self.hasher.empty_root())
    }

    /// Append leaf hashes. Returns the puts to write (atomically, with the block); the
    /// in-memory state moves to the new size at once.
    pub fn append(&mut self, leaf_hashes: &[Digest]) -> Result<Vec<Put>, TlogError> {
        let too_large = leaf_hashes.len() > APPEND_LEAVES_MAX
            || self.size.saturating_add(leaf_hashes.len() as u64) > TREE_SIZE_MAX;
        if too_large {
            return Err(TlogError::AppendTooLarge {
                found: leaf_hashes.len(),
                max: APPEND_LEAVES_MAX,
                tree_max: TREE_SIZE_MAX,
            });
        }
        let mut puts = Vec::with_capacity(leaf_hashes.len() * 2 + 64);
        for leaf in leaf_hashes {
            let mut idx = self.size;
            let mut level = 0u8;
            let mut h = *leaf;
            puts.push(put(level, idx, &h));
            // Each trailing one bit of the old size is a complete left sibling to merge.
            while idx & 1 == 1 {
                let Some(left) = self.frontier.pop() else {
                    break;
                };
                h = self.hasher.hash_node(&left, &h);
                idx >>= 1;
                level += 1;
                puts.push(put(level, idx, &h));
            }
            self.frontier.push(h);
            self.size += 1;
        }
        Ok(puts)
    }

    /// Root of the tree at a past (or the current) size.
    pub fn root_at(&self, size: u64) -> Result<Digest, TlogError> {
        self.check_size(size)?;
        if size == self.size {
            return Ok(self.root());
        }
        self.range_hash(0, size)
    }

    /// Inclusion proof of leaf `index` in the tree of `size` leaves (bottom-up).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Digest>, TlogError> {
        self.check_size(size)?;
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size }.into());
        }
        let mut out = Vec::with_capacity(PROOF_HASHES_MAX);
        self.path(index, 0, size, &mut out)?;
        Ok(out)
    }

    /// Consistency proof from the tree of `size1` leaves to the tree of `size2` leaves
    /// (`0 < size1 <= size2 <= size()`; equal sizes give an empty proof).
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Digest>, TlogError> {
        self.check_size(size2)?;
        if size1 > size2 {
            return Err(ProofError::SizesReversed { size1, size2 }.into());
        }
        if size1 == 0 {
            return Err(ProofError::EmptyOldTree.into());
        }
        let mut out = Vec::with_capacity(PROOF_HASHES_MAX);
        self.subproof(size1, 0, size2, true, &mut out)?;
        Ok(out)
    }

    /// The stored hash of the complete subtree at `level`, `index`.
    pub fn node(&self, level: u8, index: u64) -> Result<Digest, TlogError> {
        self.read(level, index)
    }

    fn check_size(&self, size: u64) -> Result<(), TlogError> {
        if size > self.size {
            return Err(TlogError::SizeBeyondTree {
                requested: size,
                size: self.size,
            });
        }
        Ok(())
    }

    fn read(&self, level: u8, index: u64) -> Result<Digest, TlogError> {
        let key = node_key(level, index);
        let v = self
            .store
            .get(Column::LogTree, &key)?
            .ok_or(TlogError::MissingNode {
                level,
                index,
                size: self.size,
            })?;
        let arr: [u8; 32] = v.as_slice().try_into().map_err(|_| TlogError::Corrupt {
            key_hex: hex_of(&key),
            problem: format!("value is {} bytes, expected 32", v.len()),
        })?;
        Ok(Digest(arr))
    }

    /// `MTH(D[lo:hi])` for a range that starts at a multiple of the smallest power of two
    /// `>= hi - lo` (every range a proof needs): complete subtrees from the store, folded.
    fn range_hash(&self, lo: u64, hi: u64) -> Result<Digest, TlogError> {
        if lo == hi {
            return Ok(self.hasher.empty_root());
        }
        let mut parts = Vec::with_capacity(64);
        let mut at = lo;
        while at < hi {
            let level = 63 - (hi - at).leading_zeros();
            let w = 1u64 << level;
            parts.push(self.read(level as u8, at >> level)?);
            at += w;
        }
        Ok(fold_right(&self.hasher, &parts).unwrap_or_else(|| self.hasher.empty_root()))
    }

    /// RFC 6962 PATH(m, D[lo:hi]) with `m` absolute.
    fn path(&self, m: u64, lo: u64, hi: u64, out: &mut Vec<Digest>) -> Result<(), TlogError> {
        let n = hi - lo;
        if n <= 1 {
            return Ok(());
        }
        let k = split_point(n);
        if m < lo + k {
            self.path(m, lo, lo + k, out)?;
            out.push(self.range_hash(lo + k, hi)?);
        } else {
            self.path(m, lo + k, hi, out)?;
            out.push(self.range_hash(lo, lo + k)?);
        }
        Ok(())
    }

    /// RFC 6962 SUBPROOF(m, D[lo:hi], b) with `m` relative to `lo`.
    fn subproof(
        &self,
        m: u64,
        lo: u64,
        hi: u64,
        b: bool,
        out: &mut Vec<Digest>,
    ) -> Result<(), TlogError> {
        let n = hi - lo;
        if m == n {
            if !b {
                out.push(self.range_hash(lo, hi)?);
            }
            return Ok(());
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, lo, lo + k, b, out)?;
            out.push(self.range_hash(lo + k, hi)?);
        } else {
            self.subproof(m - k, lo + k, hi, false, out)?;
            out.push(self.range_hash(lo, lo + k)?);
        }
        Ok(())
    }
}

fn put(level: u8, index: u64, h: &Digest) -> Put {
    (
        Column::LogTree,
        node_key(level, index).to_vec(),
        h.0.to_vec(),
    )
}

/// Fold subtree roots (left to right) into one root: `node(a, node(b, node(c, d)))`.
fn fold_right<H: MerkleHasher>(h: &H, parts: &[Digest]) -> Option<Digest> {
    let (last, rest) = parts.split_last()?;
    let mut acc = *last;
    for p in rest.iter().rev() {
        acc = h.hash_node(p, &acc);
    }
    Some(acc)
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
