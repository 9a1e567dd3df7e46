//! Test helpers shared by the integration tests.
#![allow(dead_code)]

use chancery_storage::Limits;
#[cfg(feature = "rocksdb")]
use chancery_storage::{
    Column, Entries, IntegrityReport, RawAccess, RocksConfig, RocksStore, Store, StoreError,
    WriteBatch,
};

/// Limits small enough that the limit cases of the suite stay cheap, large enough for the
/// suite's large batch (10,000 x 308 B) and pages (3,000).
pub fn small_limits() -> Limits {
    Limits {
        key_bytes_max: 64,
        value_bytes_max: 128 << 10,
        batch_bytes_max: 4 << 20,
        batch_puts_max: 20_000,
        scan_entries_max: 5_000,
        report_corrupt_max: 100,
    }
}

/// A RocksStore in a temporary directory removed on drop.
#[cfg(feature = "rocksdb")]
pub struct TempRocks {
    pub store: RocksStore,
    pub dir: tempfile::TempDir,
}

#[cfg(feature = "rocksdb")]
impl TempRocks {
    pub fn new(limits: Limits) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = RocksConfig {
            limits,
            block_cache_bytes: 8 << 20,
            write_buffer_bytes: 4 << 20,
            ..RocksConfig::default()
        };
        let store = RocksStore::open_with(dir.path().join("db"), config).expect("open");
        TempRocks { store, dir }
    }
}

#[cfg(feature = "rocksdb")]
impl Store for TempRocks {
    fn limits(&self) -> Limits {
        self.store.limits()
    }
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(col, key)
    }
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.store.write(batch)
    }
    fn scan(
        &self,
        col: Column,
        start: &[u8],
        end: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        self.store.scan(col, start, end, reverse, limit)
    }
    fn multi_get(&self, col: Column, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.store.multi_get(col, keys)
    }
    fn verify_all(&self) -> Result<IntegrityReport, StoreError> {
        self.store.verify_all()
    }
    fn delete_range(&self, col: Column, start: &[u8], end: &[u8]) -> Result<(), StoreError> {
        self.store.delete_range(col, start, end)
    }
}

#[cfg(feature = "rocksdb")]
impl RawAccess for TempRocks {
    fn put_raw(&self, col: Column, key: &[u8], stored: &[u8]) -> Result<(), StoreError> {
        self.store.put_raw(col, key, stored)
    }
}
