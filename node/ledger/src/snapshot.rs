//! State snapshots, node side (docs/ledger.md, "Snapshots"): serving the pieces of the
//! snapshot of any applied height, and installing verified pieces into an empty store so
//! that the ledger opens at that height without the blocks below it.
//!
//! **Serving.** [`Ledger::snapshot_manifest`], [`Ledger::snapshot_chunk`] and
//! [`Ledger::snapshot_log_piece`] read the versioned `State` column as of the height (the
//! last version at or below it of each key), the log entries and the log tiles, so the
//! snapshot of a past height is served correctly while the node commits new blocks. The
//! top of the state tree (the subtrees of every key-hash prefix of
//! [`SNAPSHOT_PREFIX_BITS_MAX`] bits) is computed once per height in one pass over the
//! state, checked against the header's state root, and kept for the last height asked.
//! The prefix length is the shortest whose largest chunk is under
//! `LedgerConfig::snapshot_chunk_target_bytes` (default
//! `chancery_core::limits::SNAPSHOT_CHUNK_TARGET_BYTES`; and at least
//! `LedgerConfig::snapshot_prefix_bits_min`), else the one whose largest chunk is smallest,
//! which must be under [`SNAPSHOT_CHUNK_BYTES_MAX`].
//!
//! **Installing.** [`SnapshotInstaller`] takes a manifest verified against a checkpoint
//! (`chancery_core::snapshot::SnapshotManifest::verify`), then every
//! [`VerifiedChunk`] (any order) and every [`VerifiedLogPiece`] (in order, after the
//! chunks), and [`SnapshotInstaller::finish`] writes the header and certificate of the
//! height and the pointers last. The state versions are written at the snapshot's height,
//! the state tree's nodes at their path keys (so the tree counts as flushed at that height
//! and the ledger replays nothing at open), the log with its tx index, tiles and the
//! secondary index entries of its records (the log gives all of them; the acting agency
//! of a record is its signer's, from the installed state). The blocks below the height
//! are absent: reading one, or a state value or proof below it, is
//! [`LedgerError::BeforeFirstHeight`].

use crate::indexer::{passed_keys_with, PassedInBlock, PassedState};
use crate::schema::{self, StateEntry, StoredBlock, TxLoc};
use crate::smt::{self, Node};
use crate::{corrupt, decode_at, exec, logtree, Ledger, LedgerError};
use chancery_core::block::Outcome;
use chancery_core::codec;
use chancery_core::genesis::Genesis;
use chancery_core::governance::ProposalState;
use chancery_core::limits::{SNAPSHOT_CHUNK_BYTES_MAX, SNAPSHOT_PREFIX_BITS_MAX};
use chancery_core::record::Record;
use chancery_core::snapshot::{
    chunk_start, log_piece_len, log_piece_proof, LogPiece, SnapshotChunk, SnapshotLeaf,
    SnapshotManifest, Subtree, TopLevels, VerifiedChunk, VerifiedLogPiece, VerifiedManifest,
};
use chancery_core::state::{StateKey, StateValue};
use chancery_core::{AgencyId, ChainId, Digest, Height, PublicKey};
use chancery_storage::{Column, Store, StoreError, WriteBatch};
use chancery_tlog::TileReader;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use thiserror::Error;

/// `Meta` key of the first height a store holds a block of: absent for a ledger that
/// started from the genesis, the snapshot's height for one installed from a snapshot.
pub const META_FIRST_HEIGHT: &[u8] = b"first_height";
/// `Meta` key written when a snapshot install starts (its height): a store that has it but
/// no genesis is a partial install, which [`Ledger::open`] refuses.
pub const META_SNAPSHOT_INSTALL: &[u8] = b"snapshot_install";

/// Room in a chunk's encoding beyond its leaves, in bytes: version, height, prefix bits,
/// index and the two list lengths.
const CHUNK_FRAME_BYTES: usize = 64;
/// Encoded size of one sibling, in bytes: the variant tag and two digests at most.
const SIBLING_BYTES: usize = 4 + 64;
/// Snapshot tops kept (each is one pass over the state to rebuild): as many as the heights
/// a node offers at once, the latest and the one before.
pub const SNAPSHOT_TOPS_KEPT: usize = 2;
/// Entries read per store scan while walking the state.
const SCAN_PAGE_MAX: usize = 4096;

/// The top of the state tree as of one height, cut at the prefix length the snapshot
/// uses.
#[derive(Debug)]
pub(crate) struct SnapshotTop {
    height: Height,
    manifest: SnapshotManifest,
    top: TopLevels,
}

/// What a store holds, for a node deciding how to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// Nothing: a new node (it may start from a snapshot).
    Empty,
    /// A snapshot install that did not finish: wipe it and start again.
    UnfinishedInstall,
    /// A ledger (from the genesis or an installed snapshot).
    Ledger,
}

/// What `store` holds.
pub fn store_kind(store: &dyn Store) -> Result<StoreKind, LedgerError> {
    if store.get(Column::Meta, schema::META_GENESIS)?.is_some() {
        return Ok(StoreKind::Ledger);
    }
    if store.get(Column::Meta, META_SNAPSHOT_INSTALL)?.is_some() {
        return Ok(StoreKind::UnfinishedInstall);
    }
    Ok(StoreKind::Empty)
}

impl Ledger {
    /// The first height this ledger holds a block of: 0, or the height of the snapshot it
    /// was installed from (blocks, state values and proofs below it are absent).
    pub fn first_height(&self) -> Height {
        self.first_height
    }

    /// Refuse a read below the first height held.
    pub(crate) fn check_held(&self, height: Height) -> Result<(), LedgerError> {
        if height < self.first_height {
            return Err(LedgerError::BeforeFirstHeight {
                found: height,
                first: self.first_height,
            });
        }
        Ok(())
    }

    /// The manifest of the snapshot of applied height `height` (at least 1: the genesis
    /// has no certificate to verify it with).
    pub fn snapshot_manifest(&self, height: Height) -> Result<SnapshotManifest, LedgerError> {
        Ok(self.snapshot_top(height)?.manifest.clone())
    }

    /// Chunk `index` of the snapshot of `height`: the state leaves under its key-hash
    /// prefix as of that height, and the sibling subtrees above it.
    pub fn snapshot_chunk(&self, height: Height, index: u32) -> Result<SnapshotChunk, LedgerError> {
        let top = self.snapshot_top(height)?;
        let m = &top.manifest;
        if index >= m.chunk_count {
            return Err(LedgerError::SnapshotIndex {
                height,
                what: "chunk",
                index: u64::from(index),
                count: u64::from(m.chunk_count),
            });
        }
        let bits = m.prefix_bits;
        let start = schema::state_key(&chunk_start(index, bits), Height(0));
        let end = (index + 1 < m.chunk_count)
            .then(|| schema::state_key(&chunk_start(index + 1, bits), Height(0)));
        let mut leaves = Vec::new();
        let mut hashes = Vec::new();
        self.for_each_leaf_as_of(start, end, height, &mut |kh, entry, _| {
            hashes.push((kh, entry.value.hash(self.genesis.crypto)));
            leaves.push(SnapshotLeaf {
                key: entry.key,
                value: entry.value,
            });
            Ok(())
        })?;
        // The pass that made the top saw the same versions: they never change.
        let subtree = Subtree::of_sorted(self.genesis.crypto, usize::from(bits), &hashes);
        if top.top.at(bits, index) != Some(&subtree) {
            return Err(corrupt(
                Column::State,
                &chunk_start(index, bits).0[..4],
                format!(
                    "chunk {index} of height {height} differs from the pass over the whole state"
                ),
            ));
        }
        let siblings = top.top.siblings(index).unwrap_or_default();
        Ok(SnapshotChunk {
            height,
            prefix_bits: bits,
            index,
            leaves,
            siblings,
        })
    }

    /// Log piece `index` of the snapshot of `height`: entries `[256 index, ...)` of the log
    /// as of that height, with the inclusion proof of their subtree.
    pub fn snapshot_log_piece(&self, height: Height, index: u64) -> Result<LogPiece, LedgerError> {
        let header = self.snapshot_header(height)?;
        let size = header.log_size;
        let count = chancery_core::snapshot::log_piece_count(size);
        if index >= count {
            return Err(LedgerError::SnapshotIndex {
                height,
                what: "log piece",
                index,
                count,
            });
        }
        let first = index * chancery_core::limits::SNAPSHOT_LOG_PIECE_ENTRIES_MAX as u64;
        let len = log_piece_len(index, size);
        let mut entries = Vec::with_capacity(len as usize);
        for i in first..first + len {
            entries.push(
                self.log_entry(i)?
                    .ok_or_else(|| corrupt(Column::Log, &schema::be(i), "missing"))?,
            );
        }
        let reader = TileReader::with_cache(
            self.store.clone(),
            chancery_core::merkle::SuiteLogHasher(self.genesis.crypto),
            self.tip().log_size,
            self.log_tiles.clone(),
        );
        let full = reader
            .inclusion_proof(first, size)
            .map_err(logtree::tlog_corrupt)?;
        Ok(LogPiece {
            height,
            index,
            entries,
            proof: log_piece_proof(index, size, &full),
        })
    }

    /// The header of an applied height a snapshot can be taken of.
    fn snapshot_header(
        &self,
        height: Height,
    ) -> Result<chancery_core::block::BlockHeader, LedgerError> {
        let last = self.tip().height;
        if height > last {
            return Err(LedgerError::NoSuchHeight {
                found: height,
                last,
            });
        }
        if height == Height(0) {
            return Err(LedgerError::SnapshotIndex {
                height,
                what: "height",
                index: 0,
                count: 0,
            });
        }
        Ok(self
            .stored_block(height)?
            .ok_or_else(|| corrupt(Column::Blocks, &schema::be(height.0), "missing"))?
            .header)
    }

    /// The top of the state tree at `height`, from the cache or one pass over the state.
    fn snapshot_top(&self, height: Height) -> Result<Arc<SnapshotTop>, LedgerError> {
        let header = self.snapshot_header(height)?;
        let cached = |l: &Ledger| {
            l.snapshot_top
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .find(|t| t.height == height)
                .cloned()
        };
        if let Some(t) = cached(self) {
            return Ok(t);
        }
        // One pass at a time: a request that waited here finds the top the pass before
        // it built.
        let _pass = self.snapshot_pass.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = cached(self) {
            return Ok(t);
        }
        let buckets = 1usize << SNAPSHOT_PREFIX_BITS_MAX;
        let bits_max = SNAPSHOT_PREFIX_BITS_MAX as u8;
        let mut bottom = vec![Subtree::Empty; buckets];
        let mut bytes = vec![0usize; buckets];
        let mut current: Option<usize> = None;
        let mut list: Vec<(Digest, Digest)> = Vec::new();
        let depth = SNAPSHOT_PREFIX_BITS_MAX;
        let close = |b: usize, list: &mut Vec<(Digest, Digest)>, bottom: &mut Vec<Subtree>| {
            if let Some(slot) = bottom.get_mut(b) {
                *slot = Subtree::of_sorted(self.genesis.crypto, depth, list);
            }
            list.clear();
        };
        self.for_each_leaf_as_of(Vec::new(), None, height, &mut |kh, entry, size| {
            let b = chancery_core::snapshot::chunk_of(&kh, bits_max) as usize;
            if current != Some(b) {
                if let Some(prev) = current {
                    close(prev, &mut list, &mut bottom);
                }
                current = Some(b);
            }
            list.push((kh, entry.value.hash(self.genesis.crypto)));
            if let Some(n) = bytes.get_mut(b) {
                *n += size;
            }
            Ok(())
        })?;
        if let Some(prev) = current {
            close(prev, &mut list, &mut bottom);
        }
        let levels = TopLevels::new(self.genesis.crypto, bottom)
            .ok_or_else(|| corrupt(Column::State, b"", "snapshot buckets not a power of two"))?;
        if levels.root() != header.state_root {
            return Err(corrupt(
                Column::State,
                b"",
                format!(
                    "the state as of height {height} hashes to {}, its header says {}",
                    levels.root(),
                    header.state_root
                ),
            ));
        }
        let bits = choose_bits(
            bytes,
            self.config.snapshot_chunk_target_bytes,
            usize::from(self.config.snapshot_prefix_bits_min),
        )?;
        let top = levels
            .cut(bits)
            .ok_or_else(|| corrupt(Column::State, b"", "snapshot cut beyond the levels"))?;
        let t = Arc::new(SnapshotTop {
            height,
            manifest: SnapshotManifest::for_header(&header, bits),
            top,
        });
        let mut tops = self.snapshot_top.lock().unwrap_or_else(|e| e.into_inner());
        if tops.len() >= SNAPSHOT_TOPS_KEPT {
            tops.remove(0);
        }
        tops.push(t.clone());
        Ok(t)
    }

    /// Walk the state entries with key hashes in `[start, end)` (State column keys) as of
    /// `height`: for each key hash, its last version at or below `height`, in key-hash
    /// order, with the stored entry's size in bytes.
    fn for_each_leaf_as_of(
        &self,
        start: Vec<u8>,
        end: Option<Vec<u8>>,
        height: Height,
        f: &mut dyn FnMut(Digest, StateEntry, usize) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        let page = self.store.limits().scan_entries_max.clamp(1, SCAN_PAGE_MAX);
        let mut from = start;
        let mut pending: Option<(Vec<u8>, Vec<u8>)> = None;
        let emit = |(k, v): (Vec<u8>, Vec<u8>),
                    f: &mut dyn FnMut(Digest, StateEntry, usize) -> Result<(), LedgerError>|
         -> Result<(), LedgerError> {
            let e: StateEntry = decode_at(self.suite(), Column::State, &k, &v)?;
            let kh = e.key.hash(self.genesis.crypto);
            if kh.as_bytes()[..] != k[..32] {
                return Err(corrupt(Column::State, &k, "entry for another key"));
            }
            f(kh, e, v.len())
        };
        loop {
            let rows = self
                .store
                .scan(Column::State, &from, end.as_deref(), false, page)?;
            let full = rows.len() == page;
            let last = rows.last().map(|(k, _)| k.clone());
            for (k, v) in rows {
                let version = schema::read_be(k.get(32..).unwrap_or_default())
                    .filter(|_| k.len() == 40)
                    .ok_or_else(|| corrupt(Column::State, &k, "not a state key"))?;
                if let Some((pk, _)) = &pending {
                    if pk[..32] != k[..32] {
                        if let Some(p) = pending.take() {
                            emit(p, f)?;
                        }
                    }
                }
                if version <= height.0 {
                    pending = Some((k, v));
                }
            }
            match last {
                Some(k) if full => from = chancery_storage::successor(&k),
                _ => break,
            }
        }
        if let Some(p) = pending {
            emit(p, f)?;
        }
        Ok(())
    }
}

/// The shortest prefix length of at least `min` bits whose largest chunk is under `target`
/// bytes (else the one whose largest chunk is smallest), from the leaf bytes of every
/// prefix of [`SNAPSHOT_PREFIX_BITS_MAX`] bits.
fn choose_bits(mut bytes: Vec<usize>, target: usize, min: usize) -> Result<u8, LedgerError> {
    // by_bits[b]: the largest chunk's leaf bytes when cut at b bits.
    let mut by_bits = [0usize; SNAPSHOT_PREFIX_BITS_MAX + 1];
    for b in (0..=SNAPSHOT_PREFIX_BITS_MAX).rev() {
        by_bits[b] = bytes.iter().copied().max().unwrap_or(0);
        bytes = bytes.chunks(2).map(|p| p.iter().sum()).collect();
    }
    let size = |b: usize| by_bits[b] + b * SIBLING_BYTES + CHUNK_FRAME_BYTES;
    let target = target.min(SNAPSHOT_CHUNK_BYTES_MAX);
    let min = min.min(SNAPSHOT_PREFIX_BITS_MAX);
    if let Some(b) = (min..=SNAPSHOT_PREFIX_BITS_MAX).find(|b| size(*b) <= target) {
        return Ok(b as u8);
    }
    // No cut meets the target (a leaf larger than it, or keys clustered on a prefix): the
    // cut whose largest chunk is smallest, the shortest of those.
    let best = (min..=SNAPSHOT_PREFIX_BITS_MAX)
        .min_by_key(|b| (size(*b), *b))
        .unwrap_or(0);
    if size(best) > SNAPSHOT_CHUNK_BYTES_MAX {
        return Err(LedgerError::SnapshotTooDense {
            bits: best as u8,
            found: size(best),
            max: SNAPSHOT_CHUNK_BYTES_MAX,
        });
    }
    Ok(best as u8)
}

/// Why a snapshot cannot be installed.
#[derive(Debug, Error)]
pub enum InstallError {
    /// The store already holds data.
    #[error("snapshot install needs an empty store: column {column:?} holds data")]
    NotEmpty {
        /// A column with data.
        column: Column,
    },
    /// The snapshot is of another chain than the genesis given.
    #[error("snapshot is of chain {found}, the genesis given is chain {expected}")]
    WrongChain {
        /// The genesis's chain id.
        expected: ChainId,
        /// The snapshot header's.
        found: ChainId,
    },
    /// A piece verified against another snapshot's roots.
    #[error(
        "{what} {index} was verified for another snapshot: {field} {found}, this one's {expected}"
    )]
    OtherSnapshot {
        /// "chunk" or "log piece".
        what: &'static str,
        /// Its index.
        index: u64,
        /// The field that differs.
        field: &'static str,
        /// This snapshot's.
        expected: String,
        /// The piece's.
        found: String,
    },
    /// A chunk given twice.
    #[error("chunk {chunk} is already installed")]
    ChunkTwice {
        /// Chunk index.
        chunk: u32,
    },
    /// A log piece given before every chunk is in (its records' agencies come from the
    /// state).
    #[error("log piece {piece} given while {missing} chunks are still missing: install every chunk first")]
    LogBeforeState {
        /// Piece index.
        piece: u64,
        /// Chunks not installed yet.
        missing: u32,
    },
    /// A log piece out of order.
    #[error("log piece {found} given, expected piece {expected} (pieces go in order)")]
    LogOutOfOrder {
        /// The next piece.
        expected: u64,
        /// Given.
        found: u64,
    },
    /// `finish` before every piece is in.
    #[error("snapshot incomplete: {chunks} chunks and {pieces} log pieces missing")]
    Incomplete {
        /// Chunks missing.
        chunks: u32,
        /// Log pieces missing.
        pieces: u64,
    },
    /// A record's signer has no member entry in the installed state.
    #[error("log entry {index}: signer {signer} has no member entry in the snapshot's state")]
    UnknownSigner {
        /// Log index.
        index: u64,
        /// The signer.
        signer: PublicKey,
    },
    /// What the installed pieces add up to differs from the certified header (cannot
    /// happen with verified pieces of one snapshot; checked before the pointers land).
    #[error("installed {what} is {found}, the certified header says {expected}")]
    Mismatch {
        /// "state root", "log root" or "log size".
        what: &'static str,
        /// The header's.
        expected: String,
        /// Computed.
        found: String,
    },
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Installs a verified snapshot into an empty store; then [`Ledger::open`] opens the store
/// at the snapshot's height.
pub struct SnapshotInstaller {
    store: Arc<dyn Store>,
    genesis: Genesis,
    manifest: VerifiedManifest,
    /// The subtree of each installed chunk.
    chunks: Vec<Option<Subtree>>,
    chunks_missing: u32,
    frontier: logtree::Frontier,
    next_piece: u64,
    agencies: HashMap<PublicKey, AgencyId>,
    /// What the index entries of passed proposals need of the state before each block
    /// (`indexer::passed_keys_with`), tracked along the log: there is no state below the
    /// snapshot's height to read it from.
    walk: Walk,
}

/// The state before the block being walked, as far as the index of passed proposals needs
/// it: every agency's admin keys and every key that is a member. Admin keys change only by
/// `add_agency` and `set_admin_keys`; members are made by the genesis, `register_member`
/// and those two changes (every key in their lists is a member afterwards).
#[derive(Default)]
struct Walk {
    /// The block being walked.
    height: Option<Height>,
    /// Admin keys by agency, before it.
    admins: HashMap<AgencyId, Vec<PublicKey>>,
    /// Member keys, before it.
    members: HashSet<PublicKey>,
    /// Keys `register_member` registered in it so far.
    registered: Vec<PublicKey>,
    /// What its passed proposals did so far.
    passed: PassedInBlock,
}

impl Walk {
    fn new(genesis: &Genesis) -> Result<Walk, LedgerError> {
        Ok(Walk {
            admins: genesis
                .agencies
                .iter()
                .map(|a| (a.id.clone(), a.admin_keys.clone()))
                .collect(),
            members: crate::genesis_members(genesis)?.into_keys().collect(),
            ..Walk::default()
        })
    }

    /// Enter the block at `height`: what the previous block did is now "before".
    fn enter(&mut self, height: Height) {
        if self.height == Some(height) {
            return;
        }
        let passed = std::mem::take(&mut self.passed);
        self.admins.extend(passed.admins);
        self.members.extend(passed.registered);
        self.members.extend(self.registered.drain(..));
        self.height = Some(height);
    }
}

/// [`PassedState`] of an install: proposals from the installed state (a proposal passed
/// at or below the snapshot's height is final there), the rest from the walk.
struct WalkState<'a> {
    suite: chancery_core::suite::Suite,
    store: &'a dyn Store,
    height: Height,
    admins: &'a HashMap<AgencyId, Vec<PublicKey>>,
    members: &'a HashSet<PublicKey>,
}

impl PassedState for WalkState<'_> {
    fn proposal(&self, id: &str) -> Result<Option<ProposalState>, LedgerError> {
        let k = schema::state_key(
            &StateKey::Proposal(id.to_string()).hash(self.suite),
            self.height,
        );
        Ok(match self.store.get(Column::State, &k)? {
            Some(v) => match decode_at::<StateEntry>(self.suite, Column::State, &k, &v)?.value {
                StateValue::Proposal(p) => Some(p),
                _ => None,
            },
            None => None,
        })
    }
    fn admins_before(&self, agency: &AgencyId) -> Result<Vec<PublicKey>, LedgerError> {
        Ok(self.admins.get(agency).cloned().unwrap_or_default())
    }
    fn member_before(&self, key: &PublicKey) -> Result<bool, LedgerError> {
        Ok(self.members.contains(key))
    }
}

impl SnapshotInstaller {
    /// Start installing the snapshot `manifest` (verified against a checkpoint of the
    /// chain of `genesis`) into `store`, which must be empty.
    pub fn new(
        store: Arc<dyn Store>,
        genesis: &Genesis,
        manifest: VerifiedManifest,
    ) -> Result<SnapshotInstaller, InstallError> {
        let found = manifest.checkpoint().header().chain_id;
        if found != genesis.chain_id() {
            return Err(InstallError::WrongChain {
                expected: genesis.chain_id(),
                found,
            });
        }
        for column in Column::ALL {
            let rows = store.scan(column, &[], None, false, 2)?;
            // A fresh store may hold its own schema key in Meta, nothing of the ledger's.
            let ledger_rows = rows
                .iter()
                .filter(|(k, _)| {
                    column != Column::Meta || k.as_slice() != chancery_storage::SCHEMA_KEY
                })
                .count();
            if ledger_rows > 0 {
                return Err(InstallError::NotEmpty { column });
            }
        }
        let h = manifest.height();
        let mut b = WriteBatch::new();
        b.put(
            Column::Meta,
            META_SNAPSHOT_INSTALL,
            schema::be(h.0).to_vec(),
        );
        store.write(b)?;
        let n = manifest.manifest().chunk_count;
        Ok(SnapshotInstaller {
            store,
            genesis: genesis.clone(),
            manifest,
            chunks: vec![None; n as usize],
            chunks_missing: n,
            frontier: logtree::Frontier::empty(genesis.crypto),
            next_piece: 0,
            agencies: HashMap::new(),
            walk: Walk::new(genesis)?,
        })
    }

    /// Chunks not installed yet.
    pub fn chunks_missing(&self) -> u32 {
        self.chunks_missing
    }

    /// The next log piece to install.
    pub fn next_log_piece(&self) -> u64 {
        self.next_piece
    }

    /// Install a verified chunk: its state entries (versions at the snapshot's height) and
    /// the state-tree nodes of its subtree, in one write.
    pub fn add_chunk(&mut self, chunk: VerifiedChunk) -> Result<(), InstallError> {
        let m = self.manifest.manifest();
        let index = chunk.index();
        let other = |field, expected: String, found: String| InstallError::OtherSnapshot {
            what: "chunk",
            index: u64::from(index),
            field,
            expected,
            found,
        };
        if chunk.height() != m.height {
            return Err(other(
                "height",
                m.height.to_string(),
                chunk.height().to_string(),
            ));
        }
        if chunk.state_root() != m.state_root {
            return Err(other(
                "state root",
                m.state_root.to_hex(),
                chunk.state_root().to_hex(),
            ));
        }
        if chunk.prefix_bits() != m.prefix_bits {
            return Err(other(
                "prefix bits",
                m.prefix_bits.to_string(),
                chunk.prefix_bits().to_string(),
            ));
        }
        let slot = self
            .chunks
            .get_mut(index as usize)
            .ok_or_else(|| other("index", m.chunk_count.to_string(), index.to_string()))?;
        if slot.is_some() {
            return Err(InstallError::ChunkTwice { chunk: index });
        }
        let bits = usize::from(m.prefix_bits);
        let mut b = WriteBatch::new();
        for l in chunk.leaves() {
            b.put(
                Column::State,
                schema::state_key(&l.key.hash(self.genesis.crypto), m.height),
                codec::encode(&StateEntry {
                    key: l.key.clone(),
                    value: l.value.clone(),
                }),
            );
        }
        // A chunk of one leaf is stored where the walk from the root meets it, which the
        // whole top decides: `finish` writes it. Interior nodes sit below the chunk's depth.
        if let Subtree::Node(root) = chunk.subtree() {
            let up = smt::build_at(self.genesis.crypto, bits, chunk.hashes());
            let nodes: HashMap<Digest, Node> = up.nodes.into_iter().collect();
            let path = chunk_start(index, m.prefix_bits);
            for (k, n) in smt::positioned_at(root, bits, path, &|h| nodes.get(h).copied()) {
                b.put(Column::StateTree, k, n.encode());
            }
        }
        self.store.write(b)?;
        *slot = Some(chunk.subtree());
        self.chunks_missing -= 1;
        Ok(())
    }

    /// Install the next verified log piece (pieces in order, after every chunk): its
    /// entries, their tx-index entries and secondary index entries, and the log tiles it
    /// completes or grows, in one write.
    pub fn add_log_piece(&mut self, piece: VerifiedLogPiece) -> Result<(), InstallError> {
        let m = self.manifest.manifest().clone();
        if piece.log_root() != m.log_root {
            return Err(InstallError::OtherSnapshot {
                what: "log piece",
                index: piece.index(),
                field: "log root",
                expected: m.log_root.to_hex(),
                found: piece.log_root().to_hex(),
            });
        }
        if self.chunks_missing > 0 {
            return Err(InstallError::LogBeforeState {
                piece: piece.index(),
                missing: self.chunks_missing,
            });
        }
        if piece.index() != self.next_piece {
            return Err(InstallError::LogOutOfOrder {
                expected: self.next_piece,
                found: piece.index(),
            });
        }
        let mut b = WriteBatch::new();
        for (i, (e, leaf)) in piece.entries().iter().zip(piece.leaf_hashes()).enumerate() {
            let index = piece.first_index() + i as u64;
            let hash = e.tx.hash();
            b.put(Column::Log, schema::be(index).to_vec(), codec::encode(e));
            b.put(
                Column::TxIndex,
                schema::tx_key(&hash, index),
                codec::encode(&TxLoc {
                    index,
                    height: e.height,
                    outcome: e.outcome,
                }),
            );
            self.walk.enter(e.height);
            if e.outcome == Outcome::Applied {
                let agency = self.agency(index, &e.tx.body.signer)?;
                for key in exec::index_keys(&e.tx.body.record, &agency, index, e.time) {
                    b.put(Column::Index, key, Vec::new());
                }
                match &e.tx.body.record {
                    Record::RegisterMember(r) => self.walk.registered.push(r.key),
                    Record::Vote(v) => {
                        let state = WalkState {
                            suite: self.genesis.crypto,
                            store: self.store.as_ref(),
                            height: m.height,
                            admins: &self.walk.admins,
                            members: &self.walk.members,
                        };
                        let keys = passed_keys_with(
                            &state,
                            v,
                            &hash,
                            e.height,
                            index,
                            &mut self.walk.passed,
                        )?;
                        for key in keys {
                            b.put(Column::Index, key, Vec::new());
                        }
                    }
                    _ => {}
                }
            }
            self.frontier.push(*leaf);
        }
        for (col, key, tile) in self.frontier.take_puts() {
            b.put(col, key, tile);
        }
        self.store.write(b)?;
        self.next_piece += 1;
        Ok(())
    }

    /// The agency of a record's signer: its member entry in the installed state (a
    /// member's agency never changes and keys are never reused).
    fn agency(&mut self, index: u64, signer: &PublicKey) -> Result<AgencyId, InstallError> {
        if let Some(a) = self.agencies.get(signer) {
            return Ok(a.clone());
        }
        let key = StateKey::Member(*signer);
        let k = schema::state_key(&key.hash(self.genesis.crypto), self.manifest.height());
        let agency = match self.store.get(Column::State, &k)? {
            Some(v) => {
                match decode_at::<StateEntry>(self.genesis.crypto, Column::State, &k, &v)?.value {
                    StateValue::Member(m) => m.agency,
                    _ => {
                        return Err(InstallError::UnknownSigner {
                            index,
                            signer: *signer,
                        })
                    }
                }
            }
            None => {
                return Err(InstallError::UnknownSigner {
                    index,
                    signer: *signer,
                })
            }
        };
        self.agencies.insert(*signer, agency.clone());
        Ok(agency)
    }

    /// Check that every piece is in and adds up to the certified roots, write the top of
    /// the state tree, then in one synced batch the genesis, the header and certificate of
    /// the snapshot's height and the pointers (first height, flushed tree, indexed height,
    /// last applied). Returns the height [`Ledger::open`] will start at.
    pub fn finish(self) -> Result<Height, InstallError> {
        let m = self.manifest.manifest().clone();
        let pieces_missing = m.log_piece_count.saturating_sub(self.next_piece);
        if self.chunks_missing > 0 || pieces_missing > 0 {
            return Err(InstallError::Incomplete {
                chunks: self.chunks_missing,
                pieces: pieces_missing,
            });
        }
        let mism = |what, expected: String, found: String| InstallError::Mismatch {
            what,
            expected,
            found,
        };
        if self.frontier.size() != m.log_size {
            return Err(mism(
                "log size",
                m.log_size.to_string(),
                self.frontier.size().to_string(),
            ));
        }
        if self.frontier.root() != m.log_root {
            return Err(mism(
                "log root",
                m.log_root.to_hex(),
                self.frontier.root().to_hex(),
            ));
        }
        let bottom: Vec<Subtree> = self
            .chunks
            .iter()
            .map(|c| c.unwrap_or(Subtree::Empty))
            .collect();
        let top = TopLevels::new(self.genesis.crypto, bottom).ok_or_else(|| {
            mism(
                "chunk count",
                "a power of two".into(),
                m.chunk_count.to_string(),
            )
        })?;
        if top.root() != m.state_root {
            return Err(mism(
                "state root",
                m.state_root.to_hex(),
                top.root().to_hex(),
            ));
        }
        let mut b = WriteBatch::new();
        write_top(&top, 0, 0, &mut b);
        self.store.write_behind(b)?;

        let h = m.height;
        let cp = self.manifest.checkpoint();
        let header = cp.header().clone();
        let mut b = WriteBatch::new();
        b.put(
            Column::Meta,
            schema::META_GENESIS,
            codec::encode(&self.genesis),
        );
        for (key, member) in crate::genesis_members(&self.genesis)? {
            b.put(
                Column::Index,
                exec::member_key(&member.agency, &key, schema::GENESIS_INDEX),
                Vec::new(),
            );
        }
        b.put(
            Column::Blocks,
            schema::be(h.0).to_vec(),
            codec::encode(&StoredBlock {
                first_index: header.log_size.saturating_sub(u64::from(header.tx_count)),
                header,
            }),
        );
        b.put(
            Column::Certs,
            schema::be(h.0).to_vec(),
            codec::encode(&cp.checkpoint().certificate),
        );
        b.put(
            Column::Meta,
            crate::tree::snapshot_key(h),
            m.state_root.as_bytes().to_vec(),
        );
        b.put(
            Column::Meta,
            crate::tree::META_TREE_FLUSHED,
            schema::be(h.0).to_vec(),
        );
        b.put(
            Column::Meta,
            crate::indexer::META_INDEXED_HEIGHT,
            schema::be(h.0).to_vec(),
        );
        b.put(Column::Meta, META_FIRST_HEIGHT, schema::be(h.0).to_vec());
        b.put(
            Column::Meta,
            schema::META_LAST_APPLIED,
            schema::be(h.0).to_vec(),
        );
        self.store.write(b)?;
        Ok(h)
    }
}

/// Put the state-tree nodes of the top above the chunks: interior nodes above the chunk
/// depth, and each single leaf where the walk from the root meets it (the chunks' own
/// interior nodes are already written).
fn write_top(top: &TopLevels, depth: u8, index: u32, b: &mut WriteBatch) {
    let Some(t) = top.at(depth, index) else {
        return;
    };
    let path = chunk_start(index, depth);
    match t {
        Subtree::Empty => {}
        Subtree::Leaf {
            key_hash,
            value_hash,
        } => {
            let n = Node::Leaf {
                key: *key_hash,
                value: *value_hash,
            };
            b.put(
                Column::StateTree,
                smt::store_key(&n.hash(top.suite()), usize::from(depth), &path),
                n.encode(),
            );
        }
        Subtree::Node(h) => {
            if depth == top.bits() {
                return;
            }
            let (l, r) = (2 * index, 2 * index + 1);
            let (Some(left), Some(right)) = (top.at(depth + 1, l), top.at(depth + 1, r)) else {
                return;
            };
            let n = Node::Internal {
                left: left.hash(top.suite()),
                right: right.hash(top.suite()),
            };
            b.put(
                Column::StateTree,
                smt::store_key(h, usize::from(depth), &path),
                n.encode(),
            );
            write_top(top, depth + 1, l, b);
            write_top(top, depth + 1, r, b);
        }
    }
}
