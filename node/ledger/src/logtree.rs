//! The transaction log's Merkle tree (RFC 6962 shape, BLAKE3 with domain tags):
//! leaf `H(LOG_LEAF, canonical LogEntry)`, node `H(LOG_NODE, left || right)`; the root of
//! `n` leaves folds the perfect subtrees of `n`'s binary decomposition right to left; the
//! empty log's root is `merkle::empty_root()`.
//!
//! Hashes are the kernel's (`chancery_core::merkle`, keyed BLAKE3), so roots match what
//! auditors verify with receipts and checkpoints.
//!
//! Storage (`Column::LogTree`): C2SP tlog-tiles, in `chancery-tlog`'s layout (see that
//! crate): the tile at tile level `L`, index `N` holds up to 256 consecutive hashes of tree
//! level `8·L` (level-0 tiles hold the leaf hashes), keyed `L (1 byte) || N (8 bytes BE)`,
//! value the concatenated 32-byte hashes. The partial tile at the right edge of each tile
//! level is rewritten as it grows. The in-memory frontier ([`Frontier`], a
//! [`chancery_tlog::Edge`]) gives the root and the tile puts of a candidate block without
//! reading or committing anything.

use crate::{corrupt, LedgerError};
use chancery_core::merkle::{self, SuiteLogHasher};
use chancery_core::suite::Suite;
use chancery_core::Digest;
use chancery_storage::{Column, Store};
use chancery_tlog::{Edge, Put, TlogError};

/// Leaf hash of canonical entry bytes in a chain of `suite`.
pub fn leaf_hash(suite: Suite, entry_bytes: &[u8]) -> Digest {
    merkle::leaf_hash(suite, entry_bytes)
}

/// Root of the empty log in a chain of `suite`.
pub fn empty_root(suite: Suite) -> Digest {
    merkle::empty_root(suite)
}

/// `Column::LogTree` key of a tile.
pub fn tile_key(level: u8, index: u64) -> Vec<u8> {
    chancery_tlog::tile_key(level, index).to_vec()
}

/// A log-tree read error as the ledger's corruption error, naming the tile's key.
pub fn tlog_corrupt(e: TlogError) -> LedgerError {
    let key = match &e {
        TlogError::MissingTile { level, index, .. }
        | TlogError::TileTooShort { level, index, .. }
        | TlogError::CorruptTile { level, index, .. } => tile_key(*level, *index),
        _ => Vec::new(),
    };
    match e {
        TlogError::Store(s) => s.into(),
        e => corrupt(Column::LogTree, &key, e.to_string()),
    }
}

/// The right edge of the log tree: the roots of its perfect subtrees and the partial tile
/// of every tile level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    edge: Edge<SuiteLogHasher>,
}

impl Frontier {
    /// The frontier of the empty log of a chain of `suite`.
    pub fn empty(suite: Suite) -> Frontier {
        Frontier {
            edge: Edge::empty(SuiteLogHasher(suite)),
        }
    }

    /// Rebuild from the stored partial tiles of the log of `size` entries.
    pub fn load(suite: Suite, store: &dyn Store, size: u64) -> Result<Frontier, LedgerError> {
        let edge = Edge::read(store, SuiteLogHasher(suite), size).map_err(tlog_corrupt)?;
        Ok(Frontier { edge })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.edge.size()
    }

    /// Append a leaf.
    pub fn push(&mut self, leaf: Digest) {
        self.edge.push(leaf);
    }

    /// The tile puts for the block's batch: one per tile changed since the last call.
    pub fn take_puts(&mut self) -> Vec<Put> {
        self.edge.take_puts()
    }

    /// The root.
    pub fn root(&self) -> Digest {
        self.edge.root()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_storage::{MemStore, WriteBatch};

    /// RFC 6962 MTH by its recursive definition.
    fn mth(leaves: &[Digest]) -> Digest {
        match leaves.len() {
            0 => empty_root(chancery_core::suite::Suite::default()),
            1 => leaves[0],
            n => {
                let k = (n as u64).next_power_of_two() as usize / 2;
                let k = if k == n { n / 2 } else { k };
                merkle::node_hash(
                    chancery_core::suite::Suite::default(),
                    &mth(&leaves[..k]),
                    &mth(&leaves[k..]),
                )
            }
        }
    }

    #[test]
    fn frontier_matches_the_recursive_definition_and_reloads_from_tiles() {
        let store = MemStore::new();
        let mut f = Frontier::empty(Suite::default());
        let mut leaves = Vec::new();
        // Blocks of uneven sizes crossing tile boundaries (256) more than once.
        let mut i = 0u64;
        let mut block = 1u64;
        while i < 700 {
            for _ in 0..block {
                let l = leaf_hash(chancery_core::suite::Suite::default(), &i.to_be_bytes());
                leaves.push(l);
                f.push(l);
                i += 1;
            }
            let puts = f.take_puts();
            assert!(!puts.is_empty() && puts.len() <= 4, "{} puts", puts.len());
            store.write(WriteBatch { puts }).unwrap();
            assert_eq!(f.root(), mth(&leaves), "size {i}");
            assert_eq!(
                f.root(),
                merkle::root(chancery_core::suite::Suite::default(), &leaves),
                "size {i}"
            );
            assert_eq!(
                Frontier::load(chancery_core::suite::Suite::default(), &store, i).unwrap(),
                f
            );
            block = block * 3 % 97 + 1;
        }
    }

    #[test]
    fn a_missing_or_short_tile_is_corruption_naming_the_tile() {
        let store = MemStore::new();
        let mut f = Frontier::empty(Suite::default());
        for i in 0..10u64 {
            f.push(leaf_hash(
                chancery_core::suite::Suite::default(),
                &i.to_be_bytes(),
            ));
        }
        store
            .write(WriteBatch {
                puts: f.take_puts(),
            })
            .unwrap();
        let e = Frontier::load(chancery_core::suite::Suite::default(), &store, 11).unwrap_err();
        assert!(
            matches!(&e, LedgerError::Corrupt { key_hex, .. } if *key_hex == hex::encode(tile_key(0, 0))),
            "{e}"
        );
        let e = Frontier::load(chancery_core::suite::Suite::default(), &store, 300).unwrap_err();
        assert!(
            matches!(&e, LedgerError::Corrupt { key_hex, .. } if *key_hex == hex::encode(tile_key(0, 1))),
            "{e}"
        );
    }
}
