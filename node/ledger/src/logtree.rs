//! The transaction log's Merkle tree (RFC 6962 shape, BLAKE3 with domain tags):
//! leaf `H(LOG_LEAF, canonical LogEntry)`, node `H(LOG_NODE, left || right)`; the root of
//! `n` leaves folds the perfect subtrees of `n`'s binary decomposition right to left; the
//! empty log's root is `merkle::empty_root()`.
//!
//! Hashes are the kernel's (`chancery_core::merkle`, keyed BLAKE3), so roots match what
//! auditors verify with receipts and checkpoints.
//!
//! Storage (`Column::LogTree`): every complete perfect subtree's hash, keyed
//! `level (1 byte) || index at that level (8 bytes BE)`; level 0 holds the leaf hashes.
//! The in-memory frontier (one hash per set bit of the size) gives the root.

use chancery_core::merkle;
use chancery_core::Digest;

/// Leaf hash of canonical entry bytes.
pub fn leaf_hash(entry_bytes: &[u8]) -> Digest {
    merkle::leaf_hash(entry_bytes)
}

/// Interior node hash.
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    merkle::node_hash(left, right)
}

/// Root of the empty log.
pub fn empty_root() -> Digest {
    merkle::empty_root()
}

/// `Column::LogTree` key of a subtree.
pub fn node_key(level: u8, index: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(level);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// The right edge of the log tree: the roots of its perfect subtrees, largest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (level, hash), levels strictly decreasing.
    peaks: Vec<(u8, Digest)>,
}

impl Frontier {
    /// Rebuild from stored subtree hashes.
    pub fn load<E>(
        size: u64,
        get: &mut dyn FnMut(u8, u64) -> Result<Digest, E>,
    ) -> Result<Frontier, E> {
        let mut peaks = Vec::new();
        let mut offset = 0u64;
        for level in (0..64u8).rev() {
            if size & (1u64 << level) != 0 {
                peaks.push((level, get(level, offset >> level)?));
                offset += 1u64 << level;
            }
        }
        Ok(Frontier { size, peaks })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append a leaf; returns the subtree hashes completed, as `(level, index, hash)`.
    pub fn push(&mut self, leaf: Digest) -> Vec<(u8, u64, Digest)> {
        let index = self.size;
        let mut out = vec![(0u8, index, leaf)];
        let mut cur = (0u8, leaf);
        while let Some(&(level, h)) = self.peaks.last() {
            if level != cur.0 {
                break;
            }
            self.peaks.pop();
            let up = (level + 1, node_hash(&h, &cur.1));
            out.push((up.0, index >> up.0, up.1));
            cur = up;
        }
        self.peaks.push(cur);
        self.size += 1;
        out
    }

    /// The root.
    pub fn root(&self) -> Digest {
        let mut it = self.peaks.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return empty_root();
        };
        for (_, h) in it {
            acc = node_hash(h, &acc);
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// RFC 6962 MTH by its recursive definition.
    fn mth(leaves: &[Digest]) -> Digest {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = (n as u64).next_power_of_two() as usize / 2;
                let k = if k == n { n / 2 } else { k };
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn frontier_matches_the_recursive_definition_and_reloads() {
        let mut f = Frontier::default();
        let mut leaves = Vec::new();
        let mut stored: HashMap<(u8, u64), Digest> = HashMap::new();
        for i in 0..70u64 {
            let l = leaf_hash(&i.to_be_bytes());
            leaves.push(l);
            for (lv, idx, h) in f.push(l) {
                assert!(
                    stored.insert((lv, idx), h).is_none(),
                    "subtree written twice"
                );
            }
            assert_eq!(f.root(), mth(&leaves), "size {}", i + 1);
            assert_eq!(f.root(), merkle::root(&leaves), "size {}", i + 1);
            let mut get = |lv: u8, idx: u64| -> Result<Digest, ()> {
                stored.get(&(lv, idx)).copied().ok_or(())
            };
            assert_eq!(Frontier::load(i + 1, &mut get).unwrap(), f);
        }
    }
}
