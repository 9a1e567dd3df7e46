//! # chancery-tlog — the transaction log Merkle tree over storage, stored as tiles
//!
//! An append-only RFC 6962-shaped tree stored in [`Column::LogTree`] in the C2SP
//! tlog-tiles layout (as Sunlight and Tessera store theirs): the tile at *tile level* `L`
//! and *tile index* `N` holds up to [`TILE_WIDTH`] (256) consecutive hashes of tree level
//! `8·L`, namely the hashes of the complete subtrees `N·256 .. N·256 + width` of that level
//! (level-0 tiles hold the leaf hashes). Key `L (1 byte) || N (8 bytes, big-endian)`, value
//! the concatenated 32-byte hashes, so the width is `value length / 32`. The tile at the
//! right edge of each tile level is *partial* (1 to 255 hashes) and is rewritten as it
//! grows; `Column::LogTree` is a derived column, so the store allows the rewrite. A full
//! tile never changes again. A past partial tile is a prefix of today's tile, so the tiles
//! of today's tree serve every past size.
//!
//! - [`LogTree::append`] returns the puts for the caller's atomic write batch: one put per
//!   tile the call touched (the tiles it completed, and the partial tile of each tile level
//!   it changed), O(levels) for a call of a few hundred leaves, not two per leaf.
//! - [`Edge`] is the right edge of the tree in memory: the roots of the complete subtrees of
//!   the current size (one per set bit, so [`LogTree::root`] and appends need no reads) and
//!   the partial tile of every tile level. The ledger keeps one to compute a candidate
//!   block's log root without committing.
//! - Proofs for any index at any past size `<= size()` read O(log n) tiles: every node of a
//!   proof is either a complete subtree, whose hash is in one tile (a node between tile
//!   levels is recomputed from the tile's hashes), or the right-border subtree of the old
//!   size (one complete subtree per set bit below it). A bounded [`TileCache`]
//!   ([`LEAF_TILES_MAX`], [`UPPER_TILES_MAX`]) keeps the inner trees of recently used
//!   tiles, so a tile a proof crosses several times, and the upper tiles that every proof
//!   crosses, are hashed once.
//! - The size is not stored separately: [`LogTree::open`] finds the last level-0 tile with
//!   one reverse scan (size = `N·256 + width`).
//!
//! Contract with the caller: after `append`, write the returned puts before asking for
//! proofs or roots at the new size; if the write fails, drop this `LogTree` and `open` a
//! new one from the store. A proof that needs a tile that is not stored, or is shorter
//! than the size needs, fails with an error naming the tile, never a panic.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use chancery_core::limits::{PROOF_HASHES_MAX, TREE_SIZE_MAX};
use chancery_core::merkle::{split_point, Blake3Hasher, MerkleHasher, ProofError};
use chancery_core::Digest;
use chancery_storage::{Column, Store, StoreError};
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// Most leaves appended in one call (a block holds at most 20,000 transactions).
pub const APPEND_LEAVES_MAX: usize = 1 << 20;
/// Tree levels per tile: a tile's hashes are the leaves of a subtree of this height.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile (`2^TILE_HEIGHT`).
pub const TILE_WIDTH: usize = 1 << TILE_HEIGHT;
/// Bytes of a full tile.
pub const TILE_BYTES_MAX: usize = TILE_WIDTH * 32;
/// Tile levels a tree of up to `TREE_SIZE_MAX` (2^63) leaves uses (tree levels 0..=63).
pub const TILE_LEVELS_MAX: usize = 8;
/// Inner trees of recently used level-0 tiles a [`TileCache`] keeps (each at most 511
/// hashes, about 16 KiB): a proof reads one or two, random proofs rarely share one.
pub const LEAF_TILES_MAX: usize = 16;
/// Inner trees of recently used upper tiles (tile level >= 1) a [`TileCache`] keeps: every
/// proof crosses one per tile level, and there are only `size / 65,536` level-1 tiles, so
/// 256 (about 4 MiB) keep all of them up to 2^24 leaves.
pub const UPPER_TILES_MAX: usize = 256;

/// A put for the caller's write batch: always in [`Column::LogTree`].
pub type Put = (Column, Vec<u8>, Vec<u8>);

/// Errors of the stored tree.
#[derive(Debug, Error)]
pub enum TlogError {
    /// The store failed.
    #[error("log tree storage: {0}")]
    Store(#[from] StoreError),
    /// A tile that must exist is not stored.
    #[error(
        "log tile at level {level} index {index} is missing (width {width} needed, tree size {size})"
    )]
    MissingTile {
        /// Tile level.
        level: u8,
        /// Tile index within the level.
        index: u64,
        /// Hashes needed from it.
        width: usize,
        /// The tree's size.
        size: u64,
    },
    /// A stored tile holds fewer hashes than the tree size needs.
    #[error("log tile at level {level} index {index} is too short: expected width >= {expected}, found {found}")]
    TileTooShort {
        /// Tile level.
        level: u8,
        /// Tile index within the level.
        index: u64,
        /// Hashes needed.
        expected: usize,
        /// Hashes stored.
        found: usize,
    },
    /// A stored tile's value is not 1 to 256 whole 32-byte hashes.
    #[error("corrupt log tile at level {level} index {index}: value is {found_bytes} bytes, expected a multiple of 32 from 32 to {TILE_BYTES_MAX}")]
    CorruptTile {
        /// Tile level.
        level: u8,
        /// Tile index within the level.
        index: u64,
        /// Length of the stored value.
        found_bytes: usize,
    },
    /// A stored key is malformed.
    #[error("corrupt log tree key {key_hex}: expected 9 bytes (level, index)")]
    CorruptKey {
        /// Key, hex.
        key_hex: String,
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

/// Storage key of the tile at tile level `level`, tile index `index`.
pub fn tile_key(level: u8, index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = level;
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

/// The hashes of a stored tile value (1 to 256 whole 32-byte hashes), or
/// [`TlogError::CorruptTile`] naming the tile.
pub fn parse_tile(level: u8, index: u64, value: &[u8]) -> Result<Vec<Digest>, TlogError> {
    if value.is_empty() || value.len() % 32 != 0 || value.len() > TILE_BYTES_MAX {
        return Err(TlogError::CorruptTile {
            level,
            index,
            found_bytes: value.len(),
        });
    }
    Ok(value
        .chunks_exact(32)
        .map(|c| {
            let mut d = [0u8; 32];
            d.copy_from_slice(c);
            Digest(d)
        })
        .collect())
}

/// The value stored for a tile: its hashes concatenated.
pub fn tile_value(hashes: &[Digest]) -> Vec<u8> {
    let mut v = Vec::with_capacity(hashes.len() * 32);
    for h in hashes {
        v.extend_from_slice(h.as_bytes());
    }
    v
}

/// Read the first `width` hashes of a stored tile (a tile stored wider, because the tree
/// grew, serves any prefix).
pub fn read_tile<S: Store + ?Sized>(
    store: &S,
    level: u8,
    index: u64,
    width: usize,
    size: u64,
) -> Result<Vec<Digest>, TlogError> {
    let v = store
        .get(Column::LogTree, &tile_key(level, index))?
        .ok_or(TlogError::MissingTile {
            level,
            index,
            width,
            size,
        })?;
    let mut hashes = parse_tile(level, index, &v)?;
    if hashes.len() < width {
        return Err(TlogError::TileTooShort {
            level,
            index,
            expected: width,
            found: hashes.len(),
        });
    }
    hashes.truncate(width);
    Ok(hashes)
}

/// Number of hashes of tree level `level` in a tree of `size` leaves (complete subtrees).
fn level_count(size: u64, level: u32) -> u64 {
    size.checked_shr(level).unwrap_or(0)
}

/// The tiles the tree of `size` leaves has: `(tile level, tile index, width)` for the
/// partial tile of every tile level (`width` 1..=255) — every other tile is full.
pub fn partial_tiles(size: u64) -> impl Iterator<Item = (u8, u64, usize)> {
    (0..TILE_LEVELS_MAX as u32).filter_map(move |l| {
        let count = level_count(size, TILE_HEIGHT * l);
        let width = (count % TILE_WIDTH as u64) as usize;
        (width > 0).then_some((l as u8, count / TILE_WIDTH as u64, width))
    })
}

/// Root of a perfect subtree over `hashes` (a power of two of them).
fn perfect_root<H: MerkleHasher>(h: &H, hashes: &[Digest]) -> Digest {
    let mut layer: Vec<Digest> = hashes.to_vec();
    while layer.len() > 1 {
        layer = layer
            .chunks(2)
            .map(|p| match p {
                [a, b] => h.hash_node(a, b),
                [a] => *a,
                _ => h.empty_root(),
            })
            .collect();
    }
    layer.first().copied().unwrap_or_else(|| h.empty_root())
}

/// The right edge of the tree in memory: the roots of the complete subtrees of the current
/// size (one per set bit, largest first) and the partial tile of every tile level. Pure: it
/// reads nothing after [`Edge::read`], and [`Edge::take_puts`] hands over the tiles that
/// changed since the last call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge<H: MerkleHasher = Blake3Hasher> {
    hasher: H,
    size: u64,
    /// (tree level, hash), levels strictly decreasing.
    peaks: Vec<(u8, Digest)>,
    /// The partial tile of each tile level (empty when the level's tiles are all full).
    tiles: Vec<Vec<Digest>>,
    /// Tiles completed since the last `take_puts`: (tile level, tile index, 256 hashes).
    done: Vec<(u8, u64, Vec<Digest>)>,
    /// Bit `l`: the partial tile of tile level `l` changed since the last `take_puts`.
    touched: u8,
}

impl<H: MerkleHasher + Default> Default for Edge<H> {
    fn default() -> Self {
        Edge::empty(H::default())
    }
}

impl<H: MerkleHasher> Edge<H> {
    /// The edge of the empty tree.
    pub fn empty(hasher: H) -> Self {
        Edge {
            hasher,
            size: 0,
            peaks: Vec::new(),
            tiles: Vec::new(),
            done: Vec::new(),
            touched: 0,
        }
    }

    /// Rebuild the edge of the tree of `size` leaves from its stored partial tiles (at most
    /// one read per tile level).
    pub fn read<S: Store + ?Sized>(store: &S, hasher: H, size: u64) -> Result<Self, TlogError> {
        let mut tiles = vec![Vec::new(); TILE_LEVELS_MAX];
        for (level, index, width) in partial_tiles(size) {
            tiles[level as usize] = read_tile(store, level, index, width, size)?;
        }
        while tiles.last().is_some_and(Vec::is_empty) {
            tiles.pop();
        }
        // The peaks, largest first: the top tile level holds the highest set bits of size.
        let mut peaks = Vec::with_capacity(64);
        for (l, tile) in tiles.iter().enumerate().rev() {
            let mut at = 0usize;
            for j in (0..TILE_HEIGHT).rev() {
                let w = 1usize << j;
                if tile.len() & w != 0 {
                    let level = (TILE_HEIGHT * l as u32 + j) as u8;
                    peaks.push((level, perfect_root(&hasher, &tile[at..at + w])));
                    at += w;
                }
            }
        }
        Ok(Edge {
            hasher,
            size,
            peaks,
            tiles,
            done: Vec::new(),
            touched: 0,
        })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append one leaf hash.
    pub fn push(&mut self, leaf: Digest) {
        let index = self.size;
        self.tile_push(0, leaf);
        let mut cur = (0u8, leaf);
        while let Some(&(level, left)) = self.peaks.last() {
            if level != cur.0 {
                break;
            }
            self.peaks.pop();
            cur = (level + 1, self.hasher.hash_node(&left, &cur.1));
            if u32::from(cur.0) % TILE_HEIGHT == 0 {
                // The tile below is full: its root is the next hash of this tile level.
                let tl = (u32::from(cur.0) / TILE_HEIGHT) as usize;
                let below = tl - 1;
                if let Some(t) = self.tiles.get_mut(below) {
                    let full = std::mem::take(t);
                    self.done
                        .push((below as u8, index >> (TILE_HEIGHT as usize * tl), full));
                    self.touched &= !(1u8 << below);
                }
                self.tile_push(tl, cur.1);
            }
        }
        self.peaks.push(cur);
        self.size += 1;
    }

    fn tile_push(&mut self, tile_level: usize, h: Digest) {
        while self.tiles.len() <= tile_level {
            self.tiles.push(Vec::with_capacity(TILE_WIDTH));
        }
        if let Some(t) = self.tiles.get_mut(tile_level) {
            t.push(h);
        }
        self.touched |= 1u8 << tile_level;
    }

    /// The tiles changed since the last call, as puts: every tile completed, then the
    /// partial tile of each tile level that changed. One put per tile.
    pub fn take_puts(&mut self) -> Vec<Put> {
        let mut puts = Vec::with_capacity(self.done.len() + TILE_LEVELS_MAX);
        for (level, index, hashes) in self.done.drain(..) {
            puts.push((
                Column::LogTree,
                tile_key(level, index).to_vec(),
                tile_value(&hashes),
            ));
        }
        for (l, tile) in self.tiles.iter().enumerate() {
            if self.touched & (1u8 << l) != 0 && !tile.is_empty() {
                let index = level_count(self.size, TILE_HEIGHT * l as u32) / TILE_WIDTH as u64;
                puts.push((
                    Column::LogTree,
                    tile_key(l as u8, index).to_vec(),
                    tile_value(tile),
                ));
            }
        }
        self.touched = 0;
        puts
    }

    /// Root of the current tree (no reads).
    pub fn root(&self) -> Digest {
        let mut it = self.peaks.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return self.hasher.empty_root();
        };
        for (_, h) in it {
            acc = self.hasher.hash_node(h, &acc);
        }
        acc
    }
}

/// The inner tree of a tile: layer `k` holds the hashes of its complete subtrees of `2^k`
/// tile hashes (layer 0 is the tile itself).
type Inner = Vec<Vec<Digest>>;

#[derive(Default)]
struct CacheState {
    /// (tile level, tile index) -> (inner tree, last use).
    entries: std::collections::HashMap<(u8, u64), (Arc<Inner>, u64)>,
    leaf_tiles: usize,
    clock: u64,
}

/// Bounded cache of the inner trees of recently used tiles ([`LEAF_TILES_MAX`] level-0
/// tiles, [`UPPER_TILES_MAX`] upper tiles; least recently used evicted), shareable by the
/// readers of one store: a tile's hashes never change, a partial tile only grows, so an
/// entry stays true and serves any width up to its own.
pub struct TileCache {
    state: Mutex<CacheState>,
    leaf_tiles_max: usize,
    upper_tiles_max: usize,
}

impl Default for TileCache {
    fn default() -> Self {
        TileCache::new(LEAF_TILES_MAX, UPPER_TILES_MAX)
    }
}

impl TileCache {
    /// A cache of at most `leaf_tiles_max` level-0 and `upper_tiles_max` upper tiles (0 and
    /// 0 cache nothing beyond one proof's own reads).
    pub fn new(leaf_tiles_max: usize, upper_tiles_max: usize) -> Self {
        TileCache {
            state: Mutex::new(CacheState::default()),
            leaf_tiles_max,
            upper_tiles_max,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // The cache holds only recomputable hashes: a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, key: (u8, u64), width: usize) -> Option<Arc<Inner>> {
        let mut st = self.lock();
        st.clock += 1;
        let now = st.clock;
        let (inner, used) = st.entries.get_mut(&key)?;
        *used = now;
        inner
            .first()
            .is_some_and(|t| t.len() >= width)
            .then(|| inner.clone())
    }

    fn put(&self, key: (u8, u64), inner: Arc<Inner>) {
        let leaf = key.0 == 0;
        let max = if leaf {
            self.leaf_tiles_max
        } else {
            self.upper_tiles_max
        };
        if max == 0 {
            return;
        }
        let mut st = self.lock();
        st.clock += 1;
        let now = st.clock;
        if st.entries.insert(key, (inner, now)).is_some() {
            return;
        }
        let count = if leaf {
            st.leaf_tiles += 1;
            st.leaf_tiles
        } else {
            st.entries.len() - st.leaf_tiles
        };
        if count > max {
            let oldest = st
                .entries
                .iter()
                .filter(|(k, _)| (k.0 == 0) == leaf)
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                st.entries.remove(&k);
                if leaf {
                    st.leaf_tiles -= 1;
                }
            }
        }
    }
}

/// The append-only log tree over a [`Store`]: the in-memory [`Edge`] for appends and the
/// current root, and a [`TileReader`] for proofs. Generic over the hash (the ledger uses
/// [`Blake3Hasher`]; tests also use SHA-256 to compare with RFC 6962 vectors).
pub struct LogTree<S: Store + ?Sized, H: MerkleHasher = Blake3Hasher> {
    reader: TileReader<S, H>,
    edge: Edge<H>,
}

impl<S: Store + ?Sized> LogTree<S, Blake3Hasher> {
    /// Open the ledger's tree stored in `store` (empty if nothing is stored).
    pub fn open(store: Arc<S>) -> Result<Self, TlogError> {
        Self::open_with(store, Blake3Hasher)
    }
}

impl<S: Store + ?Sized, H: MerkleHasher + Clone> LogTree<S, H> {
    /// Open with a given hasher: the size is that of the last level-0 tile.
    pub fn open_with(store: Arc<S>, hasher: H) -> Result<Self, TlogError> {
        let last = store.scan(Column::LogTree, &[0u8], Some(&[1u8]), true, 1)?;
        let size = match last.first() {
            None => 0,
            Some((k, v)) => {
                let index: [u8; 8] = k
                    .get(1..)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| TlogError::CorruptKey { key_hex: hex_of(k) })?;
                let index = u64::from_be_bytes(index);
                let width = parse_tile(0, index, v)?.len() as u64;
                index
                    .checked_mul(TILE_WIDTH as u64)
                    .and_then(|s| s.checked_add(width))
                    .filter(|s| *s <= TREE_SIZE_MAX)
                    .ok_or_else(|| TlogError::CorruptKey { key_hex: hex_of(k) })?
            }
        };
        Self::open_at(store, hasher, size)
    }

    /// Open the tree as of `size` leaves (the caller knows the size, e.g. from a header):
    /// reads the partial tiles only.
    pub fn open_at(store: Arc<S>, hasher: H, size: u64) -> Result<Self, TlogError> {
        let edge = Edge::read(store.as_ref(), hasher.clone(), size)?;
        Ok(LogTree {
            reader: TileReader::new(store, hasher, size),
            edge,
        })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.edge.size()
    }

    /// Root of the current tree (no reads).
    pub fn root(&self) -> Digest {
        self.edge.root()
    }

    /// Append leaf hashes. Returns the puts to write (atomically, with the block): one per
    /// tile touched. The in-memory state moves to the new size at once.
    pub fn append(&mut self, leaf_hashes: &[Digest]) -> Result<Vec<Put>, TlogError> {
        let too_large = leaf_hashes.len() > APPEND_LEAVES_MAX
            || self.size().saturating_add(leaf_hashes.len() as u64) > TREE_SIZE_MAX;
        if too_large {
            return Err(TlogError::AppendTooLarge {
                found: leaf_hashes.len(),
                max: APPEND_LEAVES_MAX,
                tree_max: TREE_SIZE_MAX,
            });
        }
        for leaf in leaf_hashes {
            self.edge.push(*leaf);
        }
        self.reader.size = self.edge.size();
        Ok(self.edge.take_puts())
    }

    /// Root of the tree at a past (or the current) size.
    pub fn root_at(&self, size: u64) -> Result<Digest, TlogError> {
        if size == self.size() {
            return Ok(self.root());
        }
        self.reader.root_at(size)
    }

    /// Inclusion proof of leaf `index` in the tree of `size` leaves (bottom-up).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Digest>, TlogError> {
        self.reader.inclusion_proof(index, size)
    }

    /// Consistency proof from the tree of `size1` leaves to the tree of `size2` leaves
    /// (`0 < size1 <= size2 <= size()`; equal sizes give an empty proof).
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Digest>, TlogError> {
        self.reader.consistency_proof(size1, size2)
    }

    /// The hash of the complete subtree at tree level `level`, index `index` (leaves
    /// `[index·2^level, (index+1)·2^level)`, which must all be in the tree).
    pub fn node(&self, level: u8, index: u64) -> Result<Digest, TlogError> {
        self.reader.node(level, index)
    }

    /// The proof reader of this tree (shares nothing mutable with it).
    pub fn reader(&self) -> &TileReader<S, H> {
        &self.reader
    }
}

/// Proofs and past roots of the stored tree of a known size, read from its tiles: O(log n)
/// tile reads per proof, nothing read at construction. Keeps the inner trees of recently
/// used tiles in a [`TileCache`], its own or one shared by the readers of the same store.
pub struct TileReader<S: Store + ?Sized, H: MerkleHasher = Blake3Hasher> {
    store: Arc<S>,
    hasher: H,
    size: u64,
    cache: Arc<TileCache>,
}

impl<S: Store + ?Sized, H: MerkleHasher> TileReader<S, H> {
    /// A reader of the tree of `size` leaves stored in `store` (the size is trusted: a
    /// tile the size needs that is missing or short is an error when a proof needs it).
    pub fn new(store: Arc<S>, hasher: H, size: u64) -> Self {
        Self::with_cache(store, hasher, size, Arc::new(TileCache::default()))
    }

    /// A reader that shares `cache` (which must only ever have been used with `store`).
    pub fn with_cache(store: Arc<S>, hasher: H, size: u64, cache: Arc<TileCache>) -> Self {
        TileReader {
            store,
            hasher,
            size,
            cache,
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Root of the tree at `size <= size()` leaves.
    pub fn root_at(&self, size: u64) -> Result<Digest, TlogError> {
        self.check_size(size)?;
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

    /// The hash of the complete subtree at tree level `level`, index `index` (leaves
    /// `[index·2^level, (index+1)·2^level)`, which must all be in the tree).
    pub fn node(&self, level: u8, index: u64) -> Result<Digest, TlogError> {
        let in_tree = u32::from(level) < 64
            && index
                .checked_add(1)
                .and_then(|n| n.checked_mul(1u64 << level))
                .is_some_and(|end| end <= self.size);
        if !in_tree {
            return Err(ProofError::IndexOutOfRange {
                index,
                size: level_count(self.size, u32::from(level)),
            }
            .into());
        }
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

    /// The inner tree of tile (`tile_level`, `tile_index`) over at least `width` hashes.
    fn inner(
        &self,
        tile_level: u8,
        tile_index: u64,
        width: usize,
    ) -> Result<Arc<Inner>, TlogError> {
        let key = (tile_level, tile_index);
        if let Some(hit) = self.cache.get(key, width) {
            return Ok(hit);
        }
        // Read what the current tree has of this tile (a prefix of a wider stored tile).
        let have = level_count(self.size, TILE_HEIGHT * u32::from(tile_level))
            .saturating_sub(tile_index.saturating_mul(TILE_WIDTH as u64))
            .min(TILE_WIDTH as u64) as usize;
        let tile = read_tile(
            self.store.as_ref(),
            tile_level,
            tile_index,
            have.max(width),
            self.size,
        )?;
        let mut inner: Inner = Vec::with_capacity(TILE_HEIGHT as usize);
        inner.push(tile);
        while let Some(last) = inner.last() {
            if last.len() < 2 {
                break;
            }
            let up: Vec<Digest> = last
                .chunks_exact(2)
                .map(|p| self.hasher.hash_node(&p[0], &p[1]))
                .collect();
            inner.push(up);
        }
        let inner = Arc::new(inner);
        self.cache.put(key, inner.clone());
        Ok(inner)
    }

    /// The hash of the complete subtree at tree `level`, `index`, from its tile.
    fn read(&self, level: u8, index: u64) -> Result<Digest, TlogError> {
        let tile_level = (u32::from(level) / TILE_HEIGHT) as u8;
        let k = u32::from(level) % TILE_HEIGHT;
        // The subtree covers tile hashes [first, first + 2^k) of tree level 8·tile_level.
        let first = index << k;
        let tile_index = first / TILE_WIDTH as u64;
        let offset = (first % TILE_WIDTH as u64) as usize;
        let inner = self.inner(tile_level, tile_index, offset + (1usize << k))?;
        inner
            .get(k as usize)
            .and_then(|layer| layer.get(offset >> k))
            .copied()
            .ok_or(TlogError::TileTooShort {
                level: tile_level,
                index: tile_index,
                expected: offset + (1usize << k),
                found: inner.first().map_or(0, Vec::len),
            })
    }

    /// `MTH(D[lo:hi])` for a range that starts at a multiple of the smallest power of two
    /// `>= hi - lo` (every range a proof needs): complete subtrees from the tiles, folded.
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
