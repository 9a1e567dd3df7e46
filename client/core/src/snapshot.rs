//! State snapshots: the state and the log as of a certified height, in pieces that each
//! verify on their own against the block header's roots. Pure: no IO.
//!
//! A new node can start from a snapshot instead of replaying the whole history: it takes a
//! header of height `h` that it verified with its epoch chain (a
//! [`VerifiedCheckpoint`], from [`crate::epoch::VerifiedEpochs::verify_checkpoint`] or
//! [`crate::epoch::verify_checkpoint_with_links`]), then fetches the pieces from untrusted
//! peers and checks each one against that header's state root or log root.
//!
//! **State chunks.** The state tree ([`crate::state`]) is cut by the first `prefix_bits`
//! bits of the key hash: chunk `i` holds every leaf whose key hash starts with the bits of
//! `i` (most significant first), which is the subtree at depth `prefix_bits` on that path.
//! A chunk carries its leaves (key and value, sorted by key hash) and, for each depth `d`
//! above it, the sibling subtree at depth `d + 1` as a [`Subtree`]: empty, a single leaf
//! (key hash and value hash), or an interior node (its hash). The state tree compresses
//! paths (a subtree of one entry *is* that entry's leaf, at whatever depth), so the fold
//! from the chunk up to the root must know whether a side is empty or a single leaf:
//! [`Subtree::combine`] is exactly the tree's rule, and its hashing is the kernel's
//! ([`crate::state::leaf_hash`], [`crate::state::node_hash`]). [`verify_chunk`] recomputes
//! the chunk's subtree from its leaves, folds it up with the siblings, and compares the
//! result with the certified state root. A sibling given as a single leaf must lie on the
//! sibling's side (otherwise a peer could hide a leaf of the chunk by presenting it as the
//! sibling of an empty chunk); with that check, and collision resistance, a chunk that
//! verifies holds exactly the state's entries under its prefix.
//!
//! **Log pieces.** The log (RFC 6962 shape, [`crate::merkle`]) is cut into pieces of
//! [`SNAPSHOT_LOG_PIECE_ENTRIES_MAX`] = 256 consecutive entries (the last piece may be
//! shorter). Piece `k` covers entries `[256k, min(256(k+1), n))` of the log of size `n`:
//! a node of the tree at level 8, since the tree above level 8 is itself an RFC 6962 tree
//! over the `ceil(n / 256)` level-8 nodes. [`verify_log_piece`] hashes the entries into
//! their subtree root and checks it with the kernel's inclusion verifier
//! ([`crate::merkle::verify_inclusion`]) as leaf `k` of a tree of `ceil(n / 256)` leaves
//! under the certified log root. The proof is the upper part of the inclusion proof of
//! the piece's first entry, so any node that serves receipts can serve it.
//!
//! Unverified types ([`SnapshotManifest`], [`SnapshotChunk`], [`LogPiece`]) are what peers
//! send (canonical encodings with `BYTES_MAX` and `validate`); the verified ones
//! ([`VerifiedManifest`], [`VerifiedChunk`], [`VerifiedLogPiece`]) come only out of the
//! verifiers.

use crate::block::LogEntry;
use crate::checkpoint::VerifiedCheckpoint;
use crate::codec::{self, check, Canonical, ValidationError};
use crate::ids::{Digest, Height};
use crate::limits::{
    PROOF_HASHES_MAX, SNAPSHOT_CHUNK_BYTES_MAX, SNAPSHOT_CHUNK_LEAVES_MAX,
    SNAPSHOT_LOG_PIECE_BYTES_MAX, SNAPSHOT_LOG_PIECE_ENTRIES_MAX, SNAPSHOT_MANIFEST_BYTES_MAX,
    SNAPSHOT_PREFIX_BITS_MAX,
};
use crate::merkle::{self, ProofError};
use crate::state::{bit, leaf_hash, node_hash, StateKey, StateValue, EMPTY};
use crate::suite::Suite;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A subtree of the state tree as the fold above a chunk needs it: whether it is empty, a
/// single leaf, or an interior node (two entries or more below).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
pub enum Subtree {
    /// No entry: hashes to [`EMPTY`].
    Empty,
    /// Exactly one entry: the subtree *is* its leaf.
    Leaf {
        /// The entry's key hash.
        key_hash: Digest,
        /// Its value hash.
        value_hash: Digest,
    },
    /// Two entries or more: an interior node with this hash.
    Node(Digest),
}

impl Subtree {
    /// The subtree's hash, as the state tree of a chain of `suite` has it.
    pub fn hash(&self, suite: Suite) -> Digest {
        match self {
            Subtree::Empty => EMPTY,
            Subtree::Leaf {
                key_hash,
                value_hash,
            } => leaf_hash(suite, key_hash, value_hash),
            Subtree::Node(h) => *h,
        }
    }

    /// The parent of `left` (bit 0) and `right` (bit 1), by the state tree's rule: a
    /// parent of at most one entry is that entry's leaf (or empty); any other parent is
    /// the interior node `H(STATE_NODE, left || right)`.
    pub fn combine(suite: Suite, left: &Subtree, right: &Subtree) -> Subtree {
        match (left, right) {
            (Subtree::Empty, Subtree::Empty) => Subtree::Empty,
            (Subtree::Empty, leaf @ Subtree::Leaf { .. })
            | (leaf @ Subtree::Leaf { .. }, Subtree::Empty) => *leaf,
            (l, r) => Subtree::Node(node_hash(suite, &l.hash(suite), &r.hash(suite))),
        }
    }

    /// The subtree at `depth` of `entries` (key hash, value hash), which must be sorted by
    /// key hash without duplicates and share their first `depth` bits: the same tree the
    /// ledger builds.
    pub fn of_sorted(suite: Suite, depth: usize, entries: &[(Digest, Digest)]) -> Subtree {
        match entries {
            [] => Subtree::Empty,
            [(key_hash, value_hash)] => Subtree::Leaf {
                key_hash: *key_hash,
                value_hash: *value_hash,
            },
            // Distinct 256-bit keys split before depth 256: unreachable, never recurse on.
            _ if depth >= 256 => Subtree::Empty,
            _ => {
                let mid = entries.partition_point(|(k, _)| !bit(k, depth));
                let l = Subtree::of_sorted(suite, depth + 1, &entries[..mid]);
                let r = Subtree::of_sorted(suite, depth + 1, &entries[mid..]);
                Subtree::combine(suite, &l, &r)
            }
        }
    }
}

/// Does `key_hash` start with the `bits` bits of `prefix` (most significant first)?
pub fn has_prefix(key_hash: &Digest, prefix: u32, bits: u8) -> bool {
    (0..bits).all(|d| bit(key_hash, usize::from(d)) == prefix_bit(prefix, bits, d))
}

/// Bit `d` (from the top) of the `bits`-bit prefix `prefix`.
fn prefix_bit(prefix: u32, bits: u8, d: u8) -> bool {
    (prefix >> (bits - 1 - d)) & 1 == 1
}

/// The first `bits` bits of `key_hash` as a number: the index of its chunk.
pub fn chunk_of(key_hash: &Digest, bits: u8) -> u32 {
    (0..bits).fold(0u32, |acc, d| {
        (acc << 1) | u32::from(bit(key_hash, usize::from(d)))
    })
}

/// The smallest key hash of chunk `index` (its prefix, then zeros): where its leaves start
/// in key-hash order.
pub fn chunk_start(index: u32, bits: u8) -> Digest {
    let mut out = [0u8; 32];
    if bits > 0 {
        let v = u64::from(index) << (64 - u32::from(bits));
        out[..8].copy_from_slice(&v.to_be_bytes());
    }
    Digest(out)
}

/// Every level of the top of the state tree, from the subtrees at depth `bits` (one per
/// chunk) up to the root: what a snapshot producer gives each chunk as its siblings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopLevels {
    /// The chain's suite (how subtrees combine and hash).
    suite: Suite,
    /// `levels[d][j]`: the subtree of the prefix `j` of `d` bits, for `d` in `0..=bits`.
    levels: Vec<Vec<Subtree>>,
}

impl TopLevels {
    /// Build from the `2^bits` subtrees at depth `bits`, in prefix order. `None` if their
    /// number is not a power of two of at most [`SNAPSHOT_PREFIX_BITS_MAX`] bits.
    pub fn new(suite: Suite, bottom: Vec<Subtree>) -> Option<TopLevels> {
        let n = bottom.len();
        if !n.is_power_of_two() || n.trailing_zeros() as usize > SNAPSHOT_PREFIX_BITS_MAX {
            return None;
        }
        let mut levels = vec![bottom];
        while let Some(last) = levels.last().filter(|l| l.len() > 1) {
            let up = last
                .chunks(2)
                .map(|p| match p {
                    [l, r] => Subtree::combine(suite, l, r),
                    _ => Subtree::Empty,
                })
                .collect();
            levels.push(up);
        }
        levels.reverse();
        Some(TopLevels { suite, levels })
    }

    /// The chain's suite the levels were combined with.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The prefix length of the bottom level.
    pub fn bits(&self) -> u8 {
        (self.levels.len() - 1) as u8
    }

    /// The subtree of prefix `index` of `depth` bits (`depth <= bits`).
    pub fn at(&self, depth: u8, index: u32) -> Option<&Subtree> {
        self.levels.get(usize::from(depth))?.get(index as usize)
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Digest {
        self.at(0, 0).map_or(EMPTY, |s| s.hash(self.suite))
    }

    /// A level coarser than the bottom: the tree's top as cut at `bits` bits.
    pub fn cut(&self, bits: u8) -> Option<TopLevels> {
        let levels = self.levels.get(..=usize::from(bits))?.to_vec();
        Some(TopLevels {
            suite: self.suite,
            levels,
        })
    }

    /// The siblings of chunk `index` at the bottom level, from depth 1 down to the
    /// chunk's depth (what [`SnapshotChunk::siblings`] carries).
    pub fn siblings(&self, index: u32) -> Option<Vec<Subtree>> {
        let bits = self.bits();
        (0..bits)
            .map(|d| {
                let here = index >> (bits - 1 - d);
                self.at(d + 1, here ^ 1).copied()
            })
            .collect()
    }
}

/// What a snapshot of height `height` consists of; the producer's answer to "which
/// snapshot do you have". Unverified: [`SnapshotManifest::verify`] binds it to a verified
/// checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct SnapshotManifest {
    /// The height the snapshot is the state after.
    pub height: Height,
    /// That header's state root.
    pub state_root: Digest,
    /// That header's log size.
    pub log_size: u64,
    /// That header's log root.
    pub log_root: Digest,
    /// The chunks split the state by this many leading key-hash bits.
    pub prefix_bits: u8,
    /// `2^prefix_bits`.
    pub chunk_count: u32,
    /// `ceil(log_size / 256)`.
    pub log_piece_count: u64,
}

/// The number of log pieces of a log of `size` entries.
pub fn log_piece_count(size: u64) -> u64 {
    size.div_ceil(SNAPSHOT_LOG_PIECE_ENTRIES_MAX as u64)
}

impl Canonical for SnapshotManifest {
    const NAME: &'static str = "snapshot manifest";
    const BYTES_MAX: usize = SNAPSHOT_MANIFEST_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        if usize::from(self.prefix_bits) > SNAPSHOT_PREFIX_BITS_MAX {
            return Err(ValidationError::new(
                "prefix_bits",
                format!("at most {SNAPSHOT_PREFIX_BITS_MAX}"),
                self.prefix_bits.to_string(),
            ));
        }
        if self.chunk_count != 1u32 << self.prefix_bits {
            return Err(ValidationError::new(
                "chunk_count",
                format!("2^prefix_bits = {}", 1u32 << self.prefix_bits),
                self.chunk_count.to_string(),
            ));
        }
        if self.log_piece_count != log_piece_count(self.log_size) {
            return Err(ValidationError::new(
                "log_piece_count",
                format!("ceil(log_size / 256) = {}", log_piece_count(self.log_size)),
                self.log_piece_count.to_string(),
            ));
        }
        Ok(())
    }
}

impl SnapshotManifest {
    /// The manifest of the snapshot of `header`'s height cut at `prefix_bits` bits.
    pub fn for_header(header: &crate::block::BlockHeader, prefix_bits: u8) -> SnapshotManifest {
        SnapshotManifest {
            height: header.height,
            state_root: header.state_root,
            log_size: header.log_size,
            log_root: header.log_root,
            prefix_bits,
            chunk_count: 1u32.checked_shl(u32::from(prefix_bits)).unwrap_or(0),
            log_piece_count: log_piece_count(header.log_size),
        }
    }

    /// Bind this manifest to a checkpoint verified with the epoch chain: every field must
    /// be the header's (the prefix length is the producer's choice, within its limit).
    pub fn verify(&self, cp: &VerifiedCheckpoint) -> Result<VerifiedManifest, SnapshotError> {
        Canonical::validate(self).map_err(|e| SnapshotError::BadManifest {
            reason: e.to_string(),
        })?;
        let h = cp.header();
        let mism = |field: &'static str, expected: String, found: String| {
            Err(SnapshotError::ManifestMismatch {
                field,
                expected,
                found,
            })
        };
        if self.height != h.height {
            return mism("height", h.height.to_string(), self.height.to_string());
        }
        if self.state_root != h.state_root {
            return mism(
                "state_root",
                h.state_root.to_hex(),
                self.state_root.to_hex(),
            );
        }
        if self.log_size != h.log_size {
            return mism(
                "log_size",
                h.log_size.to_string(),
                self.log_size.to_string(),
            );
        }
        if self.log_root != h.log_root {
            return mism("log_root", h.log_root.to_hex(), self.log_root.to_hex());
        }
        Ok(VerifiedManifest {
            manifest: self.clone(),
            checkpoint: cp.clone(),
        })
    }
}

/// A manifest bound to a verified checkpoint: its roots are certified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedManifest {
    manifest: SnapshotManifest,
    checkpoint: VerifiedCheckpoint,
}

impl VerifiedManifest {
    /// The manifest.
    pub fn manifest(&self) -> &SnapshotManifest {
        &self.manifest
    }
    /// The checkpoint it is bound to (header and finalization certificate of its height).
    pub fn checkpoint(&self) -> &VerifiedCheckpoint {
        &self.checkpoint
    }
    /// The snapshot's height.
    pub fn height(&self) -> Height {
        self.manifest.height
    }
    /// The certified state root.
    pub fn state_root(&self) -> Digest {
        self.manifest.state_root
    }
}

/// One entry of the state: a key and its value.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct SnapshotLeaf {
    /// The key.
    pub key: StateKey,
    /// Its value as of the snapshot's height.
    pub value: StateValue,
}

/// The state leaves under one key-hash prefix, with the sibling subtrees from the top of
/// the tree down to the prefix. Unverified: check with [`verify_chunk`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct SnapshotChunk {
    /// The snapshot's height.
    pub height: Height,
    /// The prefix length of the snapshot.
    pub prefix_bits: u8,
    /// The chunk's index: its key-hash prefix.
    pub index: u32,
    /// The leaves, sorted by key hash.
    pub leaves: Vec<SnapshotLeaf>,
    /// `siblings[d]`: the subtree at depth `d + 1` beside the chunk's path, for `d` in
    /// `0..prefix_bits` (top first).
    pub siblings: Vec<Subtree>,
}

impl Canonical for SnapshotChunk {
    const NAME: &'static str = "snapshot chunk";
    const BYTES_MAX: usize = SNAPSHOT_CHUNK_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        if usize::from(self.prefix_bits) > SNAPSHOT_PREFIX_BITS_MAX {
            return Err(ValidationError::new(
                "prefix_bits",
                format!("at most {SNAPSHOT_PREFIX_BITS_MAX}"),
                self.prefix_bits.to_string(),
            ));
        }
        check::list("leaves", &self.leaves, SNAPSHOT_CHUNK_LEAVES_MAX)?;
        check::list("siblings", &self.siblings, SNAPSHOT_PREFIX_BITS_MAX)?;
        for (i, l) in self.leaves.iter().enumerate() {
            l.key
                .validate()
                .and_then(|()| l.value.validate())
                .map_err(|e| e.within(&format!("leaves[{i}]")))?;
        }
        Ok(())
    }
}

/// A chunk that [`verify_chunk`] accepted: exactly the state's entries under its prefix
/// at the manifest's height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedChunk {
    height: Height,
    state_root: Digest,
    prefix_bits: u8,
    index: u32,
    leaves: Vec<SnapshotLeaf>,
    hashes: Vec<(Digest, Digest)>,
    subtree: Subtree,
}

impl VerifiedChunk {
    /// The snapshot's height.
    pub fn height(&self) -> Height {
        self.height
    }
    /// The certified state root it was verified against.
    pub fn state_root(&self) -> Digest {
        self.state_root
    }
    /// The prefix length.
    pub fn prefix_bits(&self) -> u8 {
        self.prefix_bits
    }
    /// The chunk's index (prefix).
    pub fn index(&self) -> u32 {
        self.index
    }
    /// The leaves, sorted by key hash.
    pub fn leaves(&self) -> &[SnapshotLeaf] {
        &self.leaves
    }
    /// `(key hash, value hash)` of each leaf, in the same order.
    pub fn hashes(&self) -> &[(Digest, Digest)] {
        &self.hashes
    }
    /// The chunk's subtree (at depth `prefix_bits`).
    pub fn subtree(&self) -> Subtree {
        self.subtree
    }
}

/// Why a snapshot piece does not verify. Every variant names the chunk or piece.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SnapshotError {
    /// The manifest breaks its own rules.
    #[error("snapshot manifest: {reason}")]
    BadManifest {
        /// What is wrong.
        reason: String,
    },
    /// The manifest disagrees with the verified checkpoint.
    #[error(
        "snapshot manifest {field}: the certified header says {expected}, the manifest {found}"
    )]
    ManifestMismatch {
        /// Field.
        field: &'static str,
        /// The header's.
        expected: String,
        /// The manifest's.
        found: String,
    },
    /// A chunk of another height.
    #[error("chunk {chunk}: of height {found}, the snapshot is of height {expected}")]
    ChunkHeight {
        /// Chunk index.
        chunk: u32,
        /// The snapshot's height.
        expected: Height,
        /// The chunk's.
        found: Height,
    },
    /// A chunk cut at another prefix length.
    #[error("chunk {chunk}: cut at {found} prefix bits, the snapshot at {expected}")]
    ChunkPrefixBits {
        /// Chunk index.
        chunk: u32,
        /// The manifest's.
        expected: u8,
        /// The chunk's.
        found: u8,
    },
    /// A chunk index beyond the manifest's count.
    #[error("chunk {chunk}: the snapshot has {count} chunks")]
    ChunkIndex {
        /// Chunk index.
        chunk: u32,
        /// Chunks in the snapshot.
        count: u32,
    },
    /// Too many leaves.
    #[error("chunk {chunk}: {found} leaves, at most {max}")]
    TooManyLeaves {
        /// Chunk index.
        chunk: u32,
        /// The limit.
        max: usize,
        /// Leaves given.
        found: usize,
    },
    /// Not one sibling per prefix bit.
    #[error("chunk {chunk}: {found} siblings, expected {expected} (one per prefix bit)")]
    SiblingCount {
        /// Chunk index.
        chunk: u32,
        /// The prefix length.
        expected: usize,
        /// Siblings given.
        found: usize,
    },
    /// A leaf breaks the format rules or its value is not of its key's kind.
    #[error("chunk {chunk}: leaf {leaf}: {reason}")]
    BadLeaf {
        /// Chunk index.
        chunk: u32,
        /// Leaf position in the chunk.
        leaf: usize,
        /// What is wrong.
        reason: String,
    },
    /// Leaves not in strictly ascending key-hash order.
    #[error("chunk {chunk}: leaf {leaf} (key hash {key_hash}) is not after the one before it")]
    Unsorted {
        /// Chunk index.
        chunk: u32,
        /// Leaf position.
        leaf: usize,
        /// Its key hash.
        key_hash: Digest,
    },
    /// A leaf whose key hash is not under the chunk's prefix.
    #[error("chunk {chunk}: leaf {leaf} (key hash {key_hash}) lies outside the chunk's prefix")]
    OutsidePrefix {
        /// Chunk index.
        chunk: u32,
        /// Leaf position.
        leaf: usize,
        /// Its key hash.
        key_hash: Digest,
    },
    /// A sibling given as a single leaf that is not on the sibling's side of the path.
    #[error("chunk {chunk}: sibling at depth {depth} is a leaf (key hash {key_hash}) not on the sibling's side")]
    SiblingOffPath {
        /// Chunk index.
        chunk: u32,
        /// Depth of the sibling.
        depth: usize,
        /// The leaf's key hash.
        key_hash: Digest,
    },
    /// The chunk does not lead to the certified state root.
    #[error("chunk {chunk}: leads to state root {found}, the certified root is {expected}")]
    RootMismatch {
        /// Chunk index.
        chunk: u32,
        /// The certified root.
        expected: Digest,
        /// The root the chunk leads to.
        found: Digest,
    },
    /// A log piece of another height.
    #[error("log piece {piece}: of height {found}, the snapshot is of height {expected}")]
    PieceHeight {
        /// Piece index.
        piece: u64,
        /// The snapshot's height.
        expected: Height,
        /// The piece's.
        found: Height,
    },
    /// A log piece index beyond the manifest's count.
    #[error("log piece {piece}: the snapshot has {count} log pieces")]
    PieceIndex {
        /// Piece index.
        piece: u64,
        /// Pieces in the snapshot.
        count: u64,
    },
    /// A log piece with the wrong number of entries.
    #[error("log piece {piece}: {found} entries, expected {expected}")]
    PieceLength {
        /// Piece index.
        piece: u64,
        /// Entries it must hold.
        expected: usize,
        /// Entries given.
        found: usize,
    },
    /// A log entry of a block after the snapshot's.
    #[error(
        "log piece {piece}: entry {index} is of height {found}, after the snapshot's {snapshot}"
    )]
    EntryAfterSnapshot {
        /// Piece index.
        piece: u64,
        /// Log index of the entry.
        index: u64,
        /// The entry's height.
        found: Height,
        /// The snapshot's height.
        snapshot: Height,
    },
    /// The piece's subtree is not in the certified log.
    #[error("log piece {piece}: not in the certified log: {source}")]
    PieceProof {
        /// Piece index.
        piece: u64,
        /// Why.
        source: ProofError,
    },
}

/// Verify `chunk` against the manifest's certified state root: its height and prefix
/// length, its leaves (valid, of their key's kind, sorted, under its prefix), its
/// siblings (one per prefix bit; a single-leaf sibling on the sibling's side), and the
/// root that its subtree and siblings fold to.
pub fn verify_chunk(
    manifest: &VerifiedManifest,
    chunk: SnapshotChunk,
) -> Result<VerifiedChunk, SnapshotError> {
    let m = &manifest.manifest;
    let suite = manifest.checkpoint().suite();
    let c = chunk.index;
    if chunk.height != m.height {
        return Err(SnapshotError::ChunkHeight {
            chunk: c,
            expected: m.height,
            found: chunk.height,
        });
    }
    if chunk.prefix_bits != m.prefix_bits {
        return Err(SnapshotError::ChunkPrefixBits {
            chunk: c,
            expected: m.prefix_bits,
            found: chunk.prefix_bits,
        });
    }
    if c >= m.chunk_count {
        return Err(SnapshotError::ChunkIndex {
            chunk: c,
            count: m.chunk_count,
        });
    }
    if chunk.leaves.len() > SNAPSHOT_CHUNK_LEAVES_MAX {
        return Err(SnapshotError::TooManyLeaves {
            chunk: c,
            max: SNAPSHOT_CHUNK_LEAVES_MAX,
            found: chunk.leaves.len(),
        });
    }
    let bits = m.prefix_bits;
    if chunk.siblings.len() != usize::from(bits) {
        return Err(SnapshotError::SiblingCount {
            chunk: c,
            expected: usize::from(bits),
            found: chunk.siblings.len(),
        });
    }
    let mut hashes: Vec<(Digest, Digest)> = Vec::with_capacity(chunk.leaves.len());
    for (i, l) in chunk.leaves.iter().enumerate() {
        let bad = |reason: String| SnapshotError::BadLeaf {
            chunk: c,
            leaf: i,
            reason,
        };
        l.key.validate().map_err(|e| bad(e.to_string()))?;
        l.value.validate().map_err(|e| bad(e.to_string()))?;
        if !l.value.fits(&l.key) {
            return Err(bad(format!(
                "a value of another kind than its key {:?}",
                l.key
            )));
        }
        let kh = l.key.hash(suite);
        if hashes.last().is_some_and(|(prev, _)| *prev >= kh) {
            return Err(SnapshotError::Unsorted {
                chunk: c,
                leaf: i,
                key_hash: kh,
            });
        }
        if !has_prefix(&kh, c, bits) {
            return Err(SnapshotError::OutsidePrefix {
                chunk: c,
                leaf: i,
                key_hash: kh,
            });
        }
        hashes.push((kh, l.value.hash(suite)));
    }
    let subtree = Subtree::of_sorted(suite, usize::from(bits), &hashes);
    let mut cur = subtree;
    for d in (0..bits).rev() {
        let sib = &chunk.siblings[usize::from(d)];
        let right = prefix_bit(c, bits, d);
        if let Subtree::Leaf { key_hash, .. } = sib {
            // The sibling's side: the chunk's first d bits, then the other bit d.
            let side = (c >> (bits - 1 - d)) ^ 1;
            if !has_prefix(key_hash, side, d + 1) {
                return Err(SnapshotError::SiblingOffPath {
                    chunk: c,
                    depth: usize::from(d) + 1,
                    key_hash: *key_hash,
                });
            }
        }
        cur = if right {
            Subtree::combine(suite, sib, &cur)
        } else {
            Subtree::combine(suite, &cur, sib)
        };
    }
    let found = cur.hash(suite);
    if found != m.state_root {
        return Err(SnapshotError::RootMismatch {
            chunk: c,
            expected: m.state_root,
            found,
        });
    }
    Ok(VerifiedChunk {
        height: m.height,
        state_root: m.state_root,
        prefix_bits: bits,
        index: c,
        leaves: chunk.leaves,
        hashes,
        subtree,
    })
}

/// Consecutive log entries of a snapshot's log, a complete subtree of it (see the module
/// docs), with the inclusion proof of that subtree. Unverified: check with
/// [`verify_log_piece`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct LogPiece {
    /// The snapshot's height.
    pub height: Height,
    /// The piece's index: it holds the entries from `256 · index` on.
    pub index: u64,
    /// The entries, in log order.
    pub entries: Vec<LogEntry>,
    /// Inclusion proof of the piece's subtree root as leaf `index` of the tree of
    /// `ceil(log_size / 256)` level-8 nodes (bottom-up).
    pub proof: Vec<Digest>,
}

impl Canonical for LogPiece {
    const NAME: &'static str = "snapshot log piece";
    const BYTES_MAX: usize = SNAPSHOT_LOG_PIECE_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        // Entries are not format-checked: a transaction rejected as `Malformed` is logged
        // as it came. The log root binds every byte of them.
        check::list("entries", &self.entries, SNAPSHOT_LOG_PIECE_ENTRIES_MAX)?;
        check::list("proof", &self.proof, PROOF_HASHES_MAX)
    }
}

/// A log piece that [`verify_log_piece`] accepted: exactly the certified log's entries at
/// its indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedLogPiece {
    log_root: Digest,
    index: u64,
    entries: Vec<LogEntry>,
    leaf_hashes: Vec<Digest>,
}

impl VerifiedLogPiece {
    /// The certified log root it was verified against.
    pub fn log_root(&self) -> Digest {
        self.log_root
    }
    /// The piece's index.
    pub fn index(&self) -> u64 {
        self.index
    }
    /// Log index of its first entry.
    pub fn first_index(&self) -> u64 {
        self.index * SNAPSHOT_LOG_PIECE_ENTRIES_MAX as u64
    }
    /// The entries.
    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }
    /// Their leaf hashes (`merkle::leaf_hash` of each canonical entry).
    pub fn leaf_hashes(&self) -> &[Digest] {
        &self.leaf_hashes
    }
}

/// The number of entries piece `index` of a log of `size` entries holds.
pub fn log_piece_len(index: u64, size: u64) -> u64 {
    let per = SNAPSHOT_LOG_PIECE_ENTRIES_MAX as u64;
    size.saturating_sub(index.saturating_mul(per)).min(per)
}

/// Verify `piece` against the manifest's certified log root and size: its height and
/// index, its length, that no entry is of a later block, and that the Merkle root of its
/// entries is leaf `index` of the level-8 tree under the log root.
pub fn verify_log_piece(
    manifest: &VerifiedManifest,
    piece: LogPiece,
) -> Result<VerifiedLogPiece, SnapshotError> {
    let m = &manifest.manifest;
    let suite = manifest.checkpoint().suite();
    let p = piece.index;
    if piece.height != m.height {
        return Err(SnapshotError::PieceHeight {
            piece: p,
            expected: m.height,
            found: piece.height,
        });
    }
    if p >= m.log_piece_count {
        return Err(SnapshotError::PieceIndex {
            piece: p,
            count: m.log_piece_count,
        });
    }
    let expected = log_piece_len(p, m.log_size) as usize;
    if piece.entries.len() != expected {
        return Err(SnapshotError::PieceLength {
            piece: p,
            expected,
            found: piece.entries.len(),
        });
    }
    let first = p * SNAPSHOT_LOG_PIECE_ENTRIES_MAX as u64;
    let mut leaf_hashes = Vec::with_capacity(expected);
    for (i, e) in piece.entries.iter().enumerate() {
        if e.height > m.height {
            return Err(SnapshotError::EntryAfterSnapshot {
                piece: p,
                index: first + i as u64,
                found: e.height,
                snapshot: m.height,
            });
        }
        leaf_hashes.push(merkle::leaf_hash(suite, &codec::encode(e)));
    }
    let root = merkle::root(suite, &leaf_hashes);
    merkle::verify_inclusion(
        suite,
        p,
        m.log_piece_count,
        &root,
        &piece.proof,
        &m.log_root,
    )
    .map_err(|source| SnapshotError::PieceProof { piece: p, source })?;
    Ok(VerifiedLogPiece {
        log_root: m.log_root,
        index: p,
        entries: piece.entries,
        leaf_hashes,
    })
}

/// The proof a [`LogPiece`] carries, cut from the inclusion proof of its first entry in
/// the whole log (`entry_proof`, bottom-up, as [`merkle::inclusion_proof_with`] and the
/// node's tile reader give it): the hashes inside the piece's own subtree are dropped.
pub fn log_piece_proof(index: u64, size: u64, entry_proof: &[Digest]) -> Vec<Digest> {
    let len = log_piece_len(index, size);
    let inner = if len == 0 {
        0
    } else {
        merkle::inclusion_proof_len(0, len)
    };
    entry_proof.get(inner..).unwrap_or_default().to_vec()
}

#[cfg(test)]
mod tests;
