//! [`MemStore`]: an in-memory store with the same semantics as the RocksDB store (limits,
//! immutability, checksummed values), for tests, simulations and scratch ledgers (the
//! `chancery audit` replay). Not durable.
//!
//! With the `testing` feature it also lists keys and lets a test tamper with its contents,
//! bypassing every rule ([`MemStore::tamper_put`], [`MemStore::tamper_remove`]), to
//! simulate a database damaged or rewritten behind the store's back.

use crate::{
    checksum, prepare, Column, CorruptEntry, Entries, IntegrityReport, Limits, Store, StoreError,
    WriteBatch,
};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

type Columns = [BTreeMap<Vec<u8>, Vec<u8>>; Column::ALL.len()];

/// An in-memory store: one ordered map per [`Column`] behind a lock. Values are kept
/// sealed (with their checksum), exactly as on disk, so corruption tests behave the same.
#[derive(Debug, Default)]
pub struct MemStore {
    columns: RwLock<Columns>,
    limits: Limits,
}

impl MemStore {
    /// An empty store with default [`Limits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        MemStore {
            columns: RwLock::default(),
            limits,
        }
    }

    /// Number of entries in `col`.
    pub fn len(&self, col: Column) -> usize {
        self.read()[col.index()].len()
    }

    /// Is every column empty?
    pub fn is_empty(&self) -> bool {
        self.read().iter().all(BTreeMap::is_empty)
    }

    /// Entries of `col` and their logical bytes: keys plus values as written, without
    /// the [`checksum::CHECKSUM_BYTES`] each value carries in the store.
    pub fn column_size(&self, col: Column) -> (usize, usize) {
        let cols = self.read();
        let map = &cols[col.index()];
        let bytes = map
            .iter()
            .map(|(k, v)| k.len() + v.len().saturating_sub(checksum::CHECKSUM_BYTES))
            .sum();
        (map.len(), bytes)
    }

    /// Test support (feature `testing`): every key of `col`, in order. Unbounded: for
    /// small test stores only.
    #[cfg(feature = "testing")]
    pub fn keys(&self, col: Column) -> Vec<Vec<u8>> {
        self.read()[col.index()].keys().cloned().collect()
    }

    /// Test support (feature `testing`): store `value` at (`col`, `key`), sealed with a
    /// valid checksum, bypassing limits and immutability: a database rewritten by someone
    /// who recomputed the checksums. Only the reader's own checks (the ledger's) can catch
    /// it. To plant bytes that fail their checksum, use [`crate::RawAccess::put_raw`].
    #[cfg(feature = "testing")]
    pub fn tamper_put(&self, col: Column, key: &[u8], value: &[u8]) {
        let stored = checksum::seal(col, key, value);
        self.write_lock()[col.index()].insert(key.to_vec(), stored);
    }

    /// Test support (feature `testing`): remove the entry at (`col`, `key`), bypassing the
    /// no-delete rule (a lost entry). Returns whether there was one.
    #[cfg(feature = "testing")]
    pub fn tamper_remove(&self, col: Column, key: &[u8]) -> bool {
        self.write_lock()[col.index()].remove(key).is_some()
    }

    // A panic while holding the lock cannot leave a map half-updated (each write applies
    // already-checked puts with infallible inserts), so a poisoned lock is still usable.
    fn read(&self) -> RwLockReadGuard<'_, Columns> {
        self.columns.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_lock(&self) -> RwLockWriteGuard<'_, Columns> {
        self.columns.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemStore {
    fn limits(&self) -> Limits {
        self.limits
    }

    fn checkpoint(&self, _target: &std::path::Path) -> Result<(), StoreError> {
        Err(StoreError::Unsupported {
            operation: "checkpoint",
            store: "in-memory",
        })
    }

    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.limits.check_key(col, key)?;
        let cols = self.read();
        match cols[col.index()].get(key) {
            None => Ok(None),
            Some(stored) => Ok(Some(checksum::open(col, key, stored)?.to_vec())),
        }
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut cols = self.write_lock();
        let puts = prepare::prepare(&self.limits, batch, |keys| {
            Ok(keys
                .iter()
                .map(|(col, key)| cols[col.index()].get(*key).cloned())
                .collect())
        })?;
        for (col, key, stored) in puts {
            cols[col.index()].insert(key, stored);
        }
        Ok(())
    }

    fn scan(
        &self,
        col: Column,
        start: &[u8],
        end: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        self.limits.check_scan(col, limit)?;
        if end.is_some_and(|e| e <= start) || limit == 0 {
            return Ok(Vec::new());
        }
        let cols = self.read();
        let upper = match end {
            Some(e) => Bound::Excluded(e),
            None => Bound::Unbounded,
        };
        let range = cols[col.index()].range::<[u8], _>((Bound::Included(start), upper));
        let open = |(k, v): (&Vec<u8>, &Vec<u8>)| -> Result<(Vec<u8>, Vec<u8>), StoreError> {
            Ok((k.clone(), checksum::open(col, k, v)?.to_vec()))
        };
        if reverse {
            range.rev().take(limit).map(open).collect()
        } else {
            range.take(limit).map(open).collect()
        }
    }

    fn multi_get(&self, col: Column, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.limits.check_scan(col, keys.len())?;
        keys.iter().map(|k| self.get(col, k)).collect()
    }

    fn verify_all(&self) -> Result<IntegrityReport, StoreError> {
        let cols = self.read();
        let mut report = IntegrityReport::default();
        for col in Column::ALL {
            for (key, stored) in &cols[col.index()] {
                report.entries_checked[col.index()] += 1;
                if let Err(StoreError::Corrupt { message, .. }) = checksum::open(col, key, stored) {
                    report.record(
                        CorruptEntry {
                            column: col,
                            key_hex: hex::encode(key),
                            message,
                        },
                        self.limits.report_corrupt_max,
                    );
                }
            }
        }
        Ok(report)
    }
}

impl crate::RawAccess for MemStore {
    fn put_raw(&self, col: Column, key: &[u8], stored: &[u8]) -> Result<(), StoreError> {
        self.write_lock()[col.index()].insert(key.to_vec(), stored.to_vec());
        Ok(())
    }
}
