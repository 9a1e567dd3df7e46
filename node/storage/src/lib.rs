//! # chancery-storage — the key-value engine behind a trait
//!
//! The ledger (`chancery-ledger`) owns the schema: what keys mean and how values are
//! encoded. This crate owns durability: column families, atomic synced write batches,
//! point reads, ordered range scans, and integrity (checksums re-checked on read).
//!
//! Invariants:
//! - one [`Store::write`] is atomic and durable when it returns (synced to disk for the
//!   RocksDB store): after a crash either all of a batch is visible or none of it;
//! - there is no delete: nothing committed is ever removed (no pruning); a put to an
//!   existing key is allowed only in [`Column::Meta`] (the "last applied height" style
//!   pointers), which the ledger writes in the same batch as the data they point to;
//! - the in-memory and RocksDB stores pass the same test suite (`tests/suite.rs`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

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
#[derive(Debug, Error)]
pub enum StoreError {
    /// The engine failed (IO error, corruption detected by RocksDB, ...).
    #[error("storage engine error in column {column:?}: {message}")]
    Engine {
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
    /// A put would overwrite an existing key outside [`Column::Meta`].
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
}

/// An ordered key-value store with column families and atomic, durable batches.
pub trait Store: Send + Sync + 'static {
    /// Read one value.
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Apply `batch` atomically; durable (synced) when this returns `Ok`.
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError>;

    /// Up to `limit` entries with `start <= key < end` (`end = None`: no upper bound), in
    /// ascending key order, or descending if `reverse` (then starting from the largest key
    /// below `end`).
    fn scan(
        &self,
        col: Column,
        start: &[u8],
        end: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError>;
}
