//! # chancery-storage — the key-value engine behind a trait
//!
//! The ledger (`chancery-ledger`) owns the schema: what keys mean and how values are
//! encoded. This crate owns durability: column families, atomic synced write batches,
//! point reads, ordered range scans, and integrity (checksums re-checked on read).
//!
//! Invariants:
//! - one [`Store::write`] is atomic and durable when it returns (synced to disk for the
//!   RocksDB store): after a crash either all of a batch is visible or none of it;
//! - there is no delete: nothing committed is ever removed (no pruning). The *record*
//!   columns ([`Column::is_record`]: blocks, certificates, the log) are immutable: a put
//!   that would change an existing key there is refused. [`Column::Meta`] holds mutable
//!   pointers. The other columns hold *derived* data (indexes, trees, state versions)
//!   that the ledger can rebuild from the records; a put there may replace a value (a
//!   partial log tile grows, a rebuilt index entry is written again);
//! - [`Store::write_behind`] writes a batch atomically but without waiting for the disk:
//!   for derived data, which a crash may lose and the ledger rebuilds;
//! - every stored value carries an 8-byte checksum (see [`checksum`]) that is checked on
//!   every read; a mismatch is [`StoreError::Corrupt`] naming the column and key, and
//!   [`Store::verify_all`] walks every column and lists every corrupt entry;
//! - every key, value, batch and scan is bounded by [`Limits`]; exceeding one is
//!   [`StoreError::Limit`] naming the limit;
//! - the in-memory ([`MemStore`]) and RocksDB (`RocksStore`) stores, and the fault
//!   injector ([`FaultyStore`]) with no fault planned, pass the same test suite ([`suite`], also usable by other crates on their wrappers via [`store_suite!`]).
//!
//! Modules: [`mem`] (in-memory store), `rocks` (RocksDB store), [`faulty`] (fault
//! injection wrapper for tests), [`checksum`] (the value envelope), [`suite`] (the shared
//! conformance suite).
//!
//! ## Features
//! - `rocksdb` (default): the RocksDB store, `RocksStore`. Crates that need only the
//!   [`Store`] trait and [`MemStore`] depend on this crate with `default-features = false`
//!   and do not link RocksDB (`tests/e2e/tests/deps.rs` checks it).
//! - `testing`: test-only inspection and corruption of a [`MemStore`]
//!   ([`MemStore::keys`], [`MemStore::tamper_put`], [`MemStore::tamper_remove`]); enable it
//!   from `[dev-dependencies]` only.
//!
//! ## The cost of immutability
//! Refusing overwrites means every put outside [`Column::Meta`] is preceded by a point
//! lookup of its key (one RocksDB `multi_get` per batch; bloom filters on every column make
//! the usual "absent" answer cheap). Writes are serialised by a mutex so that the check and
//! the write cannot interleave with another writer. Measured cost: see `benches/store.rs`.

pub mod checksum;
pub mod faulty;
pub mod mem;
mod prepare;
#[cfg(feature = "rocksdb")]
pub mod rocks;
#[doc(hidden)]
pub mod suite;

pub use faulty::{BitFlip, FaultPlan, FaultyStore};
pub use mem::MemStore;
#[cfg(feature = "rocksdb")]
pub use rocks::{RocksConfig, RocksStore};

use std::sync::Arc;
use thiserror::Error;

/// The column families. The ledger decides what goes where; the list is fixed so that a
/// database can be opened and checked without the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    /// Small mutable pointers: last applied height, schema version.
    Meta,
    /// Block headers and bodies by height.
    Blocks,
    /// Finalization certificates by height.
    Certs,
    /// Transaction log entries by log index.
    Log,
    /// Transaction hash -> log index and height.
    TxIndex,
    /// Complete-subtree hashes of the log Merkle tree.
    LogTree,
    /// Versioned state values: (state key, height) -> value.
    State,
    /// Nodes of the state tree, content-addressed.
    StateTree,
    /// Secondary indexes for queries.
    Index,
}

impl Column {
    /// Every column, in order.
    pub const ALL: [Column; 9] = [
        Column::Meta,
        Column::Blocks,
        Column::Certs,
        Column::Log,
        Column::TxIndex,
        Column::LogTree,
        Column::State,
        Column::StateTree,
        Column::Index,
    ];

    /// Position of this column in [`Column::ALL`].
    pub fn index(self) -> usize {
        match self {
            Column::Meta => 0,
            Column::Blocks => 1,
            Column::Certs => 2,
            Column::Log => 3,
            Column::TxIndex => 4,
            Column::LogTree => 5,
            Column::State => 6,
            Column::StateTree => 7,
            Column::Index => 8,
        }
    }

    /// The column with this RocksDB column-family name, if any.
    pub fn from_name(name: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Is this a record column (blocks, certificates, log): the chain itself, immutable
    /// once written? The other columns except [`Column::Meta`] hold derived data.
    pub fn is_record(self) -> bool {
        matches!(self, Column::Blocks | Column::Certs | Column::Log)
    }

    /// The RocksDB column-family name.
    pub fn name(self) -> &'static str {
        match self {
            Column::Meta => "meta",
            Column::Blocks => "blocks",
            Column::Certs => "certs",
            Column::Log => "log",
            Column::TxIndex => "tx_index",
            Column::LogTree => "log_tree",
            Column::State => "state",
            Column::StateTree => "state_tree",
            Column::Index => "index",
        }
    }
}

/// A set of puts applied atomically by [`Store::write`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    /// The puts, applied in order.
    pub puts: Vec<(Column, Vec<u8>, Vec<u8>)>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }
    /// Add a put.
    pub fn put(&mut self, col: Column, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.puts.push((col, key.into(), value.into()));
    }
    /// Number of puts.
    pub fn len(&self) -> usize {
        self.puts.len()
    }
    /// Is it empty?
    pub fn is_empty(&self) -> bool {
        self.puts.is_empty()
    }
    /// Total key and value bytes.
    pub fn bytes(&self) -> usize {
        self.puts.iter().map(|(_, k, v)| k.len() + v.len()).sum()
    }
}

/// Storage failures. Every variant says where.
#[derive(Clone, Debug, Error)]
pub enum StoreError {
    /// The engine failed (IO error, corruption detected by RocksDB, ...).
    #[error("storage engine error in column {column:?}: {message}")]
    Engine {
        /// Column involved, if known.
        column: Option<Column>,
        /// The engine's message.
        message: String,
    },
    /// The filesystem holding the database is full (or over quota). The write that failed
    /// was not applied; nothing committed before it is lost.
    #[error("the disk holding the database is full: {message}. Nothing committed is lost; free space on that filesystem and start the node again")]
    DiskFull {
        /// Column involved, if known.
        column: Option<Column>,
        /// The engine's message.
        message: String,
    },
    /// A stored value failed its checksum.
    #[error("corrupt value in column {column:?} at key {key_hex}: {message}")]
    Corrupt {
        /// Column.
        column: Column,
        /// Key, hex.
        key_hex: String,
        /// What was wrong.
        message: String,
    },
    /// A put would change an existing key of a record column ([`Column::is_record`]).
    #[error("refusing to overwrite existing key {key_hex} in column {column:?}: committed data is immutable")]
    Overwrite {
        /// Column.
        column: Column,
        /// Key, hex.
        key_hex: String,
    },
    /// Injected fault (tests only).
    #[error("injected fault: {0}")]
    Injected(String),
    /// A key, value, batch or scan exceeds one of the [`Limits`].
    #[error("{limit} exceeded in column {column:?}: {found} > {max}")]
    Limit {
        /// The limit's name, e.g. `"key_bytes_max"`.
        limit: &'static str,
        /// Column involved, if any.
        column: Option<Column>,
        /// The limit.
        max: u64,
        /// What was asked for.
        found: u64,
    },
    /// The database on disk is not one this version can open (unexpected column families,
    /// missing or different schema version).
    #[error("database at {path} has an unexpected schema: expected {expected}, found {found}")]
    Schema {
        /// The database directory.
        path: String,
        /// What this version expects.
        expected: String,
        /// What was found.
        found: String,
    },
    /// A put to a key reserved by the storage layer itself (see [`SCHEMA_KEY`]).
    #[error("key {key_hex} in column {column:?} is reserved by the storage layer")]
    Reserved {
        /// Column.
        column: Column,
        /// Key, hex.
        key_hex: String,
    },
    /// The store cannot do this (e.g. an in-memory store has no files to copy).
    #[error("{operation} is not supported by the {store} store")]
    Unsupported {
        /// What was asked.
        operation: &'static str,
        /// Which store.
        store: &'static str,
    },
    /// A deletion in a record column ([`Column::is_record`]): committed data is never
    /// deleted.
    #[error("refusing to delete in record column {column:?}: committed data is never deleted (deletions are for the node's own derived data)")]
    RecordDelete {
        /// Column.
        column: Column,
    },
    /// A backup target that is not a new directory.
    #[error("backup target {path} already exists (expected a path that does not exist yet)")]
    TargetExists {
        /// The path given.
        path: String,
    },
}

/// The [`Column::Meta`] key under which the storage schema version is kept. Reserved: a
/// [`WriteBatch`] that puts it is refused with [`StoreError::Reserved`].
pub const SCHEMA_KEY: &[u8] = b"chancery-storage/schema-version";

/// The storage schema version written under [`SCHEMA_KEY`] (u32, big-endian). Version 1:
/// one column family per [`Column`], values sealed by [`checksum`]. Version 2: the same
/// columns, with the ledger's storage v2 layout (log tiles, write-behind state tree and
/// indexes). Version 3: state-tree nodes keyed by their path, depth and hash instead of
/// their hash alone. An older database is refused rather than misread.
pub const SCHEMA_VERSION: u32 = 3;

/// Bounds on what one call may ask of a store. Checked before anything is read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest key, in bytes.
    pub key_bytes_max: usize,
    /// Largest value (before the checksum), in bytes.
    pub value_bytes_max: usize,
    /// Largest batch: sum of key and value bytes ([`WriteBatch::bytes`]).
    pub batch_bytes_max: usize,
    /// Most puts in one batch.
    pub batch_puts_max: usize,
    /// Largest `limit` a scan may ask for (page through bigger ranges); also bounds
    /// [`Store::multi_get`].
    pub scan_entries_max: usize,
    /// Most corrupt entries listed in an [`IntegrityReport`] (the rest are only counted).
    pub report_corrupt_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            key_bytes_max: 1024,
            value_bytes_max: 16 << 20,
            batch_bytes_max: 256 << 20,
            batch_puts_max: 1_000_000,
            scan_entries_max: 100_000,
            report_corrupt_max: 10_000,
        }
    }
}

fn limit_err(limit: &'static str, column: Option<Column>, max: usize, found: usize) -> StoreError {
    StoreError::Limit {
        limit,
        column,
        max: max as u64,
        found: found as u64,
    }
}

impl Limits {
    /// Check a batch against these limits and refuse puts to reserved keys.
    pub fn check_batch(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        if batch.len() > self.batch_puts_max {
            return Err(limit_err(
                "batch_puts_max",
                None,
                self.batch_puts_max,
                batch.len(),
            ));
        }
        let bytes = batch.bytes();
        if bytes > self.batch_bytes_max {
            return Err(limit_err(
                "batch_bytes_max",
                None,
                self.batch_bytes_max,
                bytes,
            ));
        }
        for (col, key, value) in &batch.puts {
            self.check_key(*col, key)?;
            if value.len() > self.value_bytes_max {
                return Err(limit_err(
                    "value_bytes_max",
                    Some(*col),
                    self.value_bytes_max,
                    value.len(),
                ));
            }
            if *col == Column::Meta && key.as_slice() == SCHEMA_KEY {
                return Err(StoreError::Reserved {
                    column: *col,
                    key_hex: hex::encode(key),
                });
            }
        }
        Ok(())
    }

    /// Check a range deletion ([`Store::delete_range`]): not in a record column, not over
    /// [`SCHEMA_KEY`], keys within their length limit.
    pub fn check_delete_range(
        &self,
        col: Column,
        start: &[u8],
        end: &[u8],
    ) -> Result<(), StoreError> {
        if col.is_record() {
            return Err(StoreError::RecordDelete { column: col });
        }
        self.check_key(col, start)?;
        self.check_key(col, end)?;
        if col == Column::Meta && start <= SCHEMA_KEY && SCHEMA_KEY < end {
            return Err(StoreError::Reserved {
                column: col,
                key_hex: hex::encode(SCHEMA_KEY),
            });
        }
        Ok(())
    }

    /// Check one key's length.
    pub fn check_key(&self, col: Column, key: &[u8]) -> Result<(), StoreError> {
        if key.len() > self.key_bytes_max {
            return Err(limit_err(
                "key_bytes_max",
                Some(col),
                self.key_bytes_max,
                key.len(),
            ));
        }
        Ok(())
    }

    /// Check a scan or multi-get size.
    pub fn check_scan(&self, col: Column, entries: usize) -> Result<(), StoreError> {
        if entries > self.scan_entries_max {
            return Err(limit_err(
                "scan_entries_max",
                Some(col),
                self.scan_entries_max,
                entries,
            ));
        }
        Ok(())
    }
}

/// One corrupt entry found by [`Store::verify_all`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorruptEntry {
    /// Column.
    pub column: Column,
    /// Key, hex.
    pub key_hex: String,
    /// What was wrong.
    pub message: String,
}

/// The result of walking every entry of every column ([`Store::verify_all`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Entries checked, per column, in [`Column::ALL`] order.
    pub entries_checked: [u64; Column::ALL.len()],
    /// Corrupt entries found, at most [`Limits::report_corrupt_max`].
    pub corrupt: Vec<CorruptEntry>,
    /// Corrupt entries found beyond those listed.
    pub corrupt_unlisted: u64,
}

impl IntegrityReport {
    /// No corrupt entry found?
    pub fn is_clean(&self) -> bool {
        self.corrupt.is_empty() && self.corrupt_unlisted == 0
    }
    /// Total entries checked.
    pub fn total_checked(&self) -> u64 {
        self.entries_checked.iter().sum()
    }
    /// Record a corrupt entry, listing at most `max`.
    pub fn record(&mut self, entry: CorruptEntry, max: usize) {
        if self.corrupt.len() < max {
            self.corrupt.push(entry);
        } else {
            self.corrupt_unlisted += 1;
        }
    }
}

/// Key-value pairs answered by [`Store::scan`], in scan order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// An ordered key-value store with column families and atomic, durable batches.
pub trait Store: Send + Sync + 'static {
    /// Read one value.
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Apply `batch` atomically; durable (synced) when this returns `Ok`. Refused whole,
    /// before anything is written, if it breaks a [`Limits`] bound, puts [`SCHEMA_KEY`], or
    /// changes the value of an existing key of a record column ([`Column::is_record`];
    /// [`StoreError::Overwrite`]; re-putting the identical value is allowed, so a batch
    /// can be re-applied after a crash). In the other columns a later put replaces the
    /// value (within a batch, the last put of a key wins). An empty batch is a no-op.
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError>;

    /// [`Store::write`] without waiting for the disk: atomic, checked the same way, and
    /// ordered after every earlier write, but a machine crash may lose it (a process crash
    /// does not, for RocksDB: its log is written before this returns). For derived data
    /// that the caller rebuilds after a crash; a later synced write makes it durable too.
    /// The default is [`Store::write`].
    fn write_behind(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.write(batch)
    }

    /// Up to `limit` entries with `start <= key < end` (`end = None`: no upper bound), in
    /// ascending key order, or descending if `reverse` (then starting from the largest key
    /// below `end`). `limit` may be at most [`Limits::scan_entries_max`] (otherwise
    /// [`StoreError::Limit`]): page through larger ranges, continuing from
    /// [`successor`] of the last key (or from the last key as `end` when descending).
    /// Every value's checksum is checked; the first bad one fails the whole scan.
    fn scan(
        &self,
        col: Column,
        start: &[u8],
        end: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Entries, StoreError>;

    /// The limits this store enforces. The default is [`Limits::default`]; wrappers should
    /// forward their inner store's.
    fn limits(&self) -> Limits {
        Limits::default()
    }

    /// Read several keys of one column; the answer is in the order of `keys`. At most
    /// [`Limits::scan_entries_max`] keys. The default calls [`Store::get`] for each.
    fn multi_get(&self, col: Column, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        keys.iter().map(|k| self.get(col, k)).collect()
    }

    /// Flush in-memory buffers to the engine's files (not needed for durability: every
    /// write is already synced; useful before a backup). The default does nothing.
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Remove every key `start <= key < end` of `col` (absent keys are no matter; an empty
    /// range does nothing). Refused, before anything is removed, in record columns
    /// ([`StoreError::RecordDelete`]: committed data is never deleted) and over
    /// [`SCHEMA_KEY`] ([`StoreError::Reserved`]). Like [`Store::write_behind`] it is
    /// ordered after every earlier write but not synced: a machine crash may undo it, so
    /// it is only for data whose return is harmless (the node prunes its own votes below
    /// the finalized view with it).
    fn delete_range(&self, col: Column, start: &[u8], end: &[u8]) -> Result<(), StoreError>;

    /// What the engine reports about its size and write stalls, for the node's metrics.
    /// Cheap (engine properties, no scan). The default reports nothing: the in-memory
    /// store has no files and never stalls.
    fn stats(&self) -> StoreStats {
        StoreStats::default()
    }

    /// Write a consistent copy of the whole store, as of one moment, into the new directory
    /// `target` (which must not exist), while the store stays in use: an online backup that
    /// opens as a store of the same kind. RocksDB makes a checkpoint (hard links to its
    /// immutable files where `target` is on the same filesystem, copies otherwise). The
    /// default is [`StoreError::Unsupported`].
    fn checkpoint(&self, target: &std::path::Path) -> Result<(), StoreError> {
        let _ = target;
        Err(StoreError::Unsupported {
            operation: "checkpoint",
            store: "this",
        })
    }

    /// Walk every entry of every column, checking each value's checksum, and list every
    /// corrupt entry. Fails only if the walk itself cannot continue (engine error).
    ///
    /// The default pages through [`Store::scan`] and skips past each entry reported as
    /// [`StoreError::Corrupt`]; the stores of this crate walk their data directly.
    fn verify_all(&self) -> Result<IntegrityReport, StoreError> {
        let page = 1024;
        let mut report = IntegrityReport::default();
        for col in Column::ALL {
            let mut start: Vec<u8> = Vec::new();
            loop {
                match self.scan(col, &start, None, false, page) {
                    Ok(entries) => {
                        report.entries_checked[col.index()] += entries.len() as u64;
                        let Some((last, _)) = entries.last() else {
                            break;
                        };
                        start = successor(last);
                        if entries.len() < page {
                            break;
                        }
                    }
                    Err(StoreError::Corrupt {
                        column,
                        key_hex,
                        message,
                    }) => {
                        let key = hex::decode(&key_hex).map_err(|e| StoreError::Engine {
                            column: Some(column),
                            message: format!("corrupt key {key_hex} is not hex: {e}"),
                        })?;
                        // The entries before the corrupt one are unseen by this page's
                        // result; count them by re-reading up to the corrupt key.
                        let before = self.scan(col, &start, Some(&key), false, page)?;
                        report.entries_checked[col.index()] += before.len() as u64 + 1;
                        report.record(
                            CorruptEntry {
                                column,
                                key_hex,
                                message,
                            },
                            self.limits().report_corrupt_max,
                        );
                        start = successor(&key);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(report)
    }
}

/// The engine's own figures about its size and write stalls ([`Store::stats`]), for
/// metrics. Every field is what the engine reported; `None` or an empty list when it
/// reports nothing (the in-memory store) or a property could not be read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreStats {
    /// One entry per column whose figures the engine reported, in [`Column::ALL`] order.
    pub columns: Vec<ColumnStats>,
    /// Whether the engine stops writes right now (too many files waiting for compaction).
    pub write_stopped: Option<bool>,
    /// The rate the engine slows writes to now, in bytes per second; 0 when it does not.
    pub delayed_write_rate_bytes_per_s: Option<u64>,
    /// Time writes spent stalled (slowed or stopped) since the engine opened, in seconds.
    pub write_stall_s: Option<f64>,
}

/// The size of one column as the engine reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnStats {
    /// The column.
    pub column: Column,
    /// Bytes of its table files on disk.
    pub sst_bytes: u64,
    /// Bytes of its in-memory tables (writes not yet flushed to table files).
    pub memtable_bytes: u64,
    /// Bytes compaction still has to rewrite (the engine's estimate); writes slow down
    /// and then stop when it grows too large.
    pub pending_compaction_bytes: u64,
}

/// A shared store is a store: lets a test keep an `Arc` to the store it wraps (in a
/// [`FaultyStore`], or under a ledger) and inspect it afterwards. Every method forwards.
impl<S: Store + ?Sized> Store for Arc<S> {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(col, key)
    }
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        (**self).write(batch)
    }
    fn write_behind(&self, batch: WriteBatch) -> Result<(), StoreError> {
        (**self).write_behind(batch)
    }
    fn scan(
        &self,
        col: Column,
        start: &[u8],
        end: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        (**self).scan(col, start, end, reverse, limit)
    }
    fn limits(&self) -> Limits {
        (**self).limits()
    }
    fn multi_get(&self, col: Column, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        (**self).multi_get(col, keys)
    }
    fn flush(&self) -> Result<(), StoreError> {
        (**self).flush()
    }
    fn checkpoint(&self, target: &std::path::Path) -> Result<(), StoreError> {
        (**self).checkpoint(target)
    }
    fn delete_range(&self, col: Column, start: &[u8], end: &[u8]) -> Result<(), StoreError> {
        (**self).delete_range(col, start, end)
    }
    fn verify_all(&self) -> Result<IntegrityReport, StoreError> {
        (**self).verify_all()
    }
    fn stats(&self) -> StoreStats {
        (**self).stats()
    }
}

/// Test support: write stored (sealed) bytes directly, bypassing every check, to simulate
/// corruption on disk. Implemented by [`MemStore`] and `RocksStore`; never use it outside
/// tests.
#[doc(hidden)]
pub trait RawAccess {
    /// Store `stored` as the raw bytes at (`col`, `key`).
    fn put_raw(&self, col: Column, key: &[u8], stored: &[u8]) -> Result<(), StoreError>;
}

/// The smallest key greater than `key` (`key || 0x00`).
pub fn successor(key: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(key.len() + 1);
    next.extend_from_slice(key);
    next.push(0);
    next
}
