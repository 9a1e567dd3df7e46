//! [`RocksStore`]: the durable store, one RocksDB column family per [`Column`].
//!
//! Every [`Store::write`] is one RocksDB write batch written with `sync = true` (WAL on),
//! so it is atomic across column families and durable when it returns. Options are tuned
//! for the ledger's pattern: append-mostly, mostly sequential keys per column, point
//! lookups by whole key in `TxIndex` (by hash) and `StateTree` (by path and hash). Every
//! column gets a whole-key bloom filter because every write looks up its keys first (the
//! immutability check).

use crate::{
    checksum, prepare, Column, ColumnStats, CorruptEntry, Entries, IntegrityReport, Limits, Store,
    StoreError, StoreStats, WriteBatch, SCHEMA_KEY, SCHEMA_VERSION,
};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType,
    DBRecoveryMode, Options, ReadOptions, WriteOptions, DB,
};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Tuning and limits for [`RocksStore::open_with`].
#[derive(Clone, Debug)]
pub struct RocksConfig {
    /// Limits checked on every call.
    pub limits: Limits,
    /// Shared LRU block cache, in bytes.
    pub block_cache_bytes: usize,
    /// Memtable size per column family, in bytes.
    pub write_buffer_bytes: usize,
    /// Most open SST files (bounds file descriptors).
    pub open_files_max: i32,
    /// Free bytes kept on the database's filesystem: a write that finds less free space
    /// is refused with [`StoreError::DiskFull`] before it reaches RocksDB. Why: RocksDB
    /// (7.8, Debian's) aborts the whole process on an internal assertion when a synced
    /// write meets a full disk (`tests/disk_full.rs`), and its memtable flushes and
    /// compactions need room of their own. 0 turns the check off.
    pub disk_free_min_bytes: u64,
}

/// Default [`RocksConfig::disk_free_min_bytes`]: a few memtable flushes' worth.
pub const DISK_FREE_MIN_BYTES_DEFAULT: u64 = 256 << 20;

impl Default for RocksConfig {
    fn default() -> Self {
        RocksConfig {
            limits: Limits::default(),
            block_cache_bytes: 128 << 20,
            write_buffer_bytes: 32 << 20,
            open_files_max: 1024,
            disk_free_min_bytes: DISK_FREE_MIN_BYTES_DEFAULT,
        }
    }
}

/// The RocksDB store.
pub struct RocksStore {
    db: DB,
    path: PathBuf,
    limits: Limits,
    /// Serialises writes so that the immutability check and the write are one step.
    write_lock: Mutex<()>,
    /// The first failed write, if any. After a failed write (a full disk, typically)
    /// RocksDB's writer is in an error state in which a further write can abort the whole
    /// process on an internal assertion (found on a full tmpfs, `tests/disk_full.rs`): so
    /// every later write and checkpoint is refused here with the first error, until the
    /// database is reopened.
    failed: Mutex<Option<StoreError>>,
    /// [`RocksConfig::disk_free_min_bytes`].
    disk_free_min_bytes: u64,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore")
            .field("path", &self.path)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn engine(column: Option<Column>, e: impl std::fmt::Display) -> StoreError {
    let message = e.to_string();
    // RocksDB reports ENOSPC as an IO error with the OS's text: say what it means and what
    // to do (the write that failed was not applied, and RocksDB refuses further writes
    // until it is reopened).
    if message.contains("No space left on device") || message.contains("Disk quota exceeded") {
        return StoreError::DiskFull { column, message };
    }
    StoreError::Engine { column, message }
}

/// The column-family names a database of this schema has: RocksDB's `default` and one per
/// [`Column`], sorted.
pub fn expected_column_families() -> Vec<String> {
    let mut names: Vec<String> = Column::ALL.iter().map(|c| c.name().to_string()).collect();
    names.push(rocksdb::DEFAULT_COLUMN_FAMILY_NAME.to_string());
    names.sort();
    names
}

/// Options for the database and for each column family.
fn db_options(config: &RocksConfig, fresh: bool) -> Options {
    let mut opts = Options::default();
    opts.create_if_missing(fresh);
    opts.create_missing_column_families(fresh);
    opts.set_max_background_jobs(2);
    opts.set_max_open_files(config.open_files_max);
    opts.set_bytes_per_sync(1 << 20);
    opts.set_keep_log_file_num(10);
    // A torn record at the WAL's tail belongs to a write that never returned: drop it.
    opts.set_wal_recovery_mode(DBRecoveryMode::PointInTime);
    opts.set_paranoid_checks(true);
    opts
}

pub(crate) fn cf_options(col: Column, cache: &Cache, config: &RocksConfig) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_format_version(5);
    // Whole-key bloom filters everywhere: the immutability check looks up every key.
    table.set_bloom_filter(10.0, false);
    table.set_whole_key_filtering(true);
    // Index and filter blocks live in the block cache, partitioned into small blocks with a
    // pinned top level. Whole (unpartitioned) filter and index blocks of a large SST file are
    // each about a megabyte: bigger than a cache shard can keep, so every lookup re-read them
    // from the file (measured: a 10^6-record ledger spent its time in pread of filter
    // blocks during the immutability check, over a terabyte read in ten minutes).
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    table.set_index_type(rocksdb::BlockBasedIndexType::TwoLevelIndexSearch);
    table.set_partition_filters(true);
    table.set_metadata_block_size(4 << 10);
    table.set_pin_top_level_index_and_filter(true);
    let point_lookups = matches!(col, Column::TxIndex | Column::StateTree);
    table.set_block_size(if point_lookups { 4 << 10 } else { 16 << 10 });

    let mut opts = Options::default();
    opts.set_block_based_table_factory(&table);
    opts.set_write_buffer_size(config.write_buffer_bytes);
    opts.set_level_compaction_dynamic_level_bytes(true);
    opts.set_memtable_whole_key_filtering(true);
    opts.set_memtable_prefix_bloom_ratio(0.05);
    // Hashes and signatures do not compress; blocks, log entries and indexes somewhat do.
    // Zstd rather than Snappy, by measurement (docs/ledger.md, "Figures"): the ledger of
    // 10^6 mixed records takes 3.09x its raw transaction bytes on disk with Snappy, 2.84x
    // with Zstd, at the same apply rate (compression runs in the flush and compaction
    // threads, not in the synced write).
    let compress = !matches!(col, Column::TxIndex | Column::StateTree | Column::LogTree);
    opts.set_compression_type(if compress {
        DBCompressionType::Zstd
    } else {
        DBCompressionType::None
    });
    opts
}

fn is_database(path: &Path) -> bool {
    path.join("CURRENT").exists()
}

impl RocksStore {
    /// Create or open the database at `path` with default [`RocksConfig`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, RocksConfig::default())
    }

    /// Create or open the database at `path`. An existing database must have exactly the
    /// expected column families and schema version ([`SCHEMA_KEY`] in [`Column::Meta`]);
    /// otherwise [`StoreError::Schema`] says what was found.
    pub fn open_with(path: impl AsRef<Path>, config: RocksConfig) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let path_str = path.display().to_string();
        let fresh = !is_database(&path);
        if !fresh {
            let mut found = DB::list_cf(&Options::default(), &path).map_err(|e| engine(None, e))?;
            found.sort();
            let expected = expected_column_families();
            if found != expected {
                return Err(StoreError::Schema {
                    path: path_str,
                    expected: format!("column families {expected:?}"),
                    found: format!("column families {found:?}"),
                });
            }
        }
        let cache = Cache::new_lru_cache(config.block_cache_bytes).map_err(|e| engine(None, e))?;
        let descriptors = Column::ALL
            .iter()
            .map(|&c| ColumnFamilyDescriptor::new(c.name(), cf_options(c, &cache, &config)));
        let db = DB::open_cf_descriptors(&db_options(&config, fresh), &path, descriptors)
            .map_err(|e| engine(None, e))?;
        RocksStore::opened(db, path, &config, &path_str)
    }

    /// The store around a database just opened, once its schema version checks out.
    fn opened(
        db: DB,
        path: PathBuf,
        config: &RocksConfig,
        path_str: &str,
    ) -> Result<RocksStore, StoreError> {
        let (limits, disk_free_min_bytes) = (config.limits, config.disk_free_min_bytes);
        let store = RocksStore {
            db,
            path,
            limits,
            write_lock: Mutex::new(()),
            failed: Mutex::new(None),
            disk_free_min_bytes,
        };
        store.check_schema(path_str)?;
        Ok(store)
    }

    /// Open an existing database read-only: no lock is taken and nothing is written, so
    /// another process (a running node) may hold it open for writing. Reads see the data
    /// as of the open; writes fail with [`StoreError::Engine`]. For audits and checks.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let config = RocksConfig::default();
        let path = path.as_ref().to_path_buf();
        let path_str = path.display().to_string();
        if !is_database(&path) {
            return Err(StoreError::Schema {
                path: path_str,
                expected: "an existing database".into(),
                found: "no RocksDB CURRENT file".into(),
            });
        }
        let cache = Cache::new_lru_cache(config.block_cache_bytes).map_err(|e| engine(None, e))?;
        let cfs = Column::ALL
            .iter()
            .map(|&c| (c.name(), cf_options(c, &cache, &config)));
        let db =
            DB::open_cf_with_opts_for_read_only(&db_options(&config, false), &path, cfs, false)
                .map_err(|e| engine(None, e))?;
        RocksStore::opened(db, path, &config, &path_str)
    }

    /// Check the schema version; write it into a database that is still empty (new, or
    /// created by a process that died before writing it).
    fn check_schema(&self, path: &str) -> Result<(), StoreError> {
        let meta = self.cf(Column::Meta)?;
        let stored = self
            .db
            .get_pinned_cf(meta, SCHEMA_KEY)
            .map_err(|e| engine(Some(Column::Meta), e))?;
        let expected = SCHEMA_VERSION.to_be_bytes();
        match stored {
            Some(stored) => {
                let found = checksum::open(Column::Meta, SCHEMA_KEY, &stored)?;
                if found != expected {
                    return Err(StoreError::Schema {
                        path: path.to_string(),
                        expected: format!("schema version {SCHEMA_VERSION}"),
                        found: format!("schema version bytes {}", hex::encode(found)),
                    });
                }
                Ok(())
            }
            None => {
                for col in Column::ALL {
                    let mut it = self.db.raw_iterator_cf(self.cf(col)?);
                    it.seek_to_first();
                    if it.valid() {
                        return Err(StoreError::Schema {
                            path: path.to_string(),
                            expected: format!("schema version {SCHEMA_VERSION}"),
                            found: format!("no schema version but data in column {col:?}"),
                        });
                    }
                    it.status().map_err(|e| engine(Some(col), e))?;
                }
                let mut batch = rocksdb::WriteBatch::default();
                batch.put_cf(
                    meta,
                    SCHEMA_KEY,
                    checksum::seal(Column::Meta, SCHEMA_KEY, &expected),
                );
                self.write_synced(batch)
            }
        }
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn cf(&self, col: Column) -> Result<&ColumnFamily, StoreError> {
        self.db
            .cf_handle(col.name())
            .ok_or_else(|| engine(Some(col), "column family handle missing"))
    }

    fn write_synced(&self, batch: rocksdb::WriteBatch) -> Result<(), StoreError> {
        self.write_engine(batch, true)
    }

    fn write_engine(&self, batch: rocksdb::WriteBatch, sync: bool) -> Result<(), StoreError> {
        self.refuse_after_failure()?;
        self.check_free_space()?;
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        self.db.write_opt(batch, &opts).map_err(|e| {
            let e = engine(None, e);
            let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
            failed.get_or_insert_with(|| e.clone());
            e
        })
    }

    /// [`StoreError::DiskFull`] when the database's filesystem has less free space than
    /// the reserve. Nothing is recorded: once space is freed, writes go through again.
    fn check_free_space(&self) -> Result<(), StoreError> {
        if self.disk_free_min_bytes == 0 {
            return Ok(());
        }
        let st = nix::sys::statvfs::statvfs(&self.path).map_err(|e| {
            engine(
                None,
                format!("reading the free space of {}: {e}", self.path.display()),
            )
        })?;
        // Blocks available to unprivileged users, in fragment-size units (statvfs(3)).
        let free = (st.blocks_available() as u64).saturating_mul(st.fragment_size() as u64);
        if free < self.disk_free_min_bytes {
            return Err(StoreError::DiskFull {
                column: None,
                message: format!(
                    "{free} bytes free on the filesystem of {}, below the reserve of {} bytes (disk_free_min_bytes) kept for the database's own flushes and compactions; the write was refused before it reached the database",
                    self.path.display(),
                    self.disk_free_min_bytes
                ),
            });
        }
        Ok(())
    }

    /// The first write error, again, if a write has failed since the open.
    fn refuse_after_failure(&self) -> Result<(), StoreError> {
        let failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        match failed.as_ref() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Check, seal and write `batch` in one RocksDB write batch, synced or not.
    fn write_with(&self, batch: WriteBatch, sync: bool) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let puts = prepare::prepare(&self.limits, batch, |keys| {
            // `keys` come sorted by (column, key): one batched, sorted lookup per column.
            let mut found = Vec::with_capacity(keys.len());
            for run in keys.chunk_by(|a, b| a.0 == b.0) {
                let col = run[0].0;
                let cf = self.cf(col)?;
                for r in self
                    .db
                    .batched_multi_get_cf(cf, run.iter().map(|(_, k)| *k), true)
                {
                    let v = r.map_err(|e| engine(Some(col), e))?;
                    found.push(v.map(|s| s.to_vec()));
                }
            }
            Ok(found)
        })?;
        if puts.is_empty() {
            return Ok(());
        }
        let mut batch = rocksdb::WriteBatch::default();
        for (col, key, stored) in &puts {
            batch.put_cf(self.cf(*col)?, key, stored);
        }
        self.write_engine(batch, sync)
    }

    /// Approximate number of keys in `col` (RocksDB's estimate).
    pub fn estimate_keys(&self, col: Column) -> Result<u64, StoreError> {
        Ok(self
            .db
            .property_int_value_cf(self.cf(col)?, "rocksdb.estimate-num-keys")
            .map_err(|e| engine(Some(col), e))?
            .unwrap_or(0))
    }
}

impl Store for RocksStore {
    fn limits(&self) -> Limits {
        self.limits
    }

    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.limits.check_key(col, key)?;
        let stored = self
            .db
            .get_pinned_cf(self.cf(col)?, key)
            .map_err(|e| engine(Some(col), e))?;
        match stored {
            None => Ok(None),
            Some(stored) => Ok(Some(checksum::open(col, key, &stored)?.to_vec())),
        }
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.write_with(batch, true)
    }

    fn write_behind(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.write_with(batch, false)
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
        let mut opts = ReadOptions::default();
        opts.set_iterate_lower_bound(start);
        if let Some(end) = end {
            opts.set_iterate_upper_bound(end);
        }
        let mut it = self.db.raw_iterator_cf_opt(self.cf(col)?, opts);
        if reverse {
            it.seek_to_last();
        } else {
            it.seek(start);
        }
        let mut out = Vec::new();
        while out.len() < limit {
            let Some((key, stored)) = it.item() else {
                break;
            };
            // The bounds are enforced by RocksDB; check them anyway (cheap, and a wrong
            // answer here would be silent).
            if key < start || end.is_some_and(|e| key >= e) {
                return Err(engine(
                    Some(col),
                    "iterator returned a key outside the bounds",
                ));
            }
            out.push((key.to_vec(), checksum::open(col, key, stored)?.to_vec()));
            if reverse {
                it.prev();
            } else {
                it.next();
            }
        }
        it.status().map_err(|e| engine(Some(col), e))?;
        Ok(out)
    }

    fn multi_get(&self, col: Column, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.limits.check_scan(col, keys.len())?;
        for key in keys {
            self.limits.check_key(col, key)?;
        }
        let cf = self.cf(col)?;
        self.db
            .batched_multi_get_cf(cf, keys.iter(), false)
            .into_iter()
            .zip(keys)
            .map(|(r, key)| match r.map_err(|e| engine(Some(col), e))? {
                None => Ok(None),
                Some(stored) => Ok(Some(checksum::open(col, key, &stored)?.to_vec())),
            })
            .collect()
    }

    fn flush(&self) -> Result<(), StoreError> {
        for col in Column::ALL {
            self.db
                .flush_cf(self.cf(col)?)
                .map_err(|e| engine(Some(col), e))?;
        }
        Ok(())
    }

    fn delete_range(&self, col: Column, start: &[u8], end: &[u8]) -> Result<(), StoreError> {
        self.limits.check_delete_range(col, start, end)?;
        if end <= start {
            return Ok(());
        }
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut batch = rocksdb::WriteBatch::default();
        batch.delete_range_cf(self.cf(col)?, start, end);
        self.write_engine(batch, false)
    }

    fn stats(&self) -> StoreStats {
        let int_cf =
            |cf: &ColumnFamily, name: &str| self.db.property_int_value_cf(cf, name).ok().flatten();
        let columns = Column::ALL
            .into_iter()
            .filter_map(|col| {
                let cf = self.cf(col).ok()?;
                Some(ColumnStats {
                    column: col,
                    sst_bytes: int_cf(cf, "rocksdb.total-sst-files-size")?,
                    memtable_bytes: int_cf(cf, "rocksdb.size-all-mem-tables").unwrap_or(0),
                    pending_compaction_bytes: int_cf(
                        cf,
                        "rocksdb.estimate-pending-compaction-bytes",
                    )
                    .unwrap_or(0),
                })
            })
            .collect();
        let int = |name: &str| self.db.property_int_value(name).ok().flatten();
        StoreStats {
            columns,
            write_stopped: int("rocksdb.is-write-stopped").map(|v| v != 0),
            delayed_write_rate_bytes_per_s: int("rocksdb.actual-delayed-write-rate"),
            write_stall_s: self
                .db
                .property_value("rocksdb.dbstats")
                .ok()
                .flatten()
                .and_then(|text| cumulative_stall_s(&text)),
        }
    }

    fn checkpoint(&self, target: &std::path::Path) -> Result<(), StoreError> {
        if target.exists() {
            return Err(StoreError::TargetExists {
                path: target.display().to_string(),
            });
        }
        self.refuse_after_failure()?;
        // One checkpoint is a consistent view of every column family: RocksDB flushes the
        // memtables (log_size_for_flush 0) and links the live files of one version.
        let cp = rocksdb::checkpoint::Checkpoint::new(&self.db).map_err(|e| engine(None, e))?;
        cp.create_checkpoint(target).map_err(|e| engine(None, e))
    }

    fn verify_all(&self) -> Result<IntegrityReport, StoreError> {
        let mut report = IntegrityReport::default();
        for col in Column::ALL {
            let mut opts = ReadOptions::default();
            opts.fill_cache(false);
            opts.set_verify_checksums(true);
            let mut it = self.db.raw_iterator_cf_opt(self.cf(col)?, opts);
            it.seek_to_first();
            while let Some((key, stored)) = it.item() {
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
                it.next();
            }
            it.status().map_err(|e| engine(Some(col), e))?;
        }
        Ok(report)
    }
}

/// The cumulative write stall of RocksDB's `rocksdb.dbstats` text, in seconds: its line
/// `Cumulative stall: HH:MM:SS.mmm H:M:S, P percent` (RocksDB 7). `None` if the text has
/// no such line or it does not parse (another engine version): the metric is then absent
/// rather than wrong.
pub(crate) fn cumulative_stall_s(dbstats: &str) -> Option<f64> {
    let line = dbstats
        .lines()
        .find_map(|l| l.trim().strip_prefix("Cumulative stall:"))?;
    let hms = line.split_whitespace().next()?;
    let mut parts = hms.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(h >= 0.0 && m >= 0.0 && s >= 0.0) {
        return None;
    }
    Some(h * 3600.0 + m * 60.0 + s)
}

impl crate::RawAccess for RocksStore {
    fn put_raw(&self, col: Column, key: &[u8], stored: &[u8]) -> Result<(), StoreError> {
        let mut batch = rocksdb::WriteBatch::default();
        batch.put_cf(self.cf(col)?, key, stored);
        self.write_synced(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::cumulative_stall_s;

    #[test]
    fn the_cumulative_stall_line_of_dbstats_parses_to_seconds() {
        let text = "\n** DB Stats **\nUptime(secs): 12.0 total, 12.0 interval\n\
                    Cumulative writes: 10 writes, 10 keys, 10 commit groups, 1.0 writes per commit group, ingest: 0.00 GB, 0.00 MB/s\n\
                    Cumulative WAL: 10 writes, 10 syncs, 1.00 writes per sync, written: 0.00 GB, 0.00 MB/s\n\
                    Cumulative stall: 01:02:3.500 H:M:S, 0.5 percent\n\
                    Interval stall: 00:00:0.000 H:M:S, 0.0 percent\n";
        assert_eq!(cumulative_stall_s(text), Some(3723.5));
        assert_eq!(
            cumulative_stall_s("Cumulative stall: 00:00:0.000 H:M:S, 0.0 percent"),
            Some(0.0)
        );
        assert_eq!(
            cumulative_stall_s("Interval stall: 00:00:1.000 H:M:S"),
            None
        );
        assert_eq!(
            cumulative_stall_s("Cumulative stall: soon, 0.0 percent"),
            None
        );
        assert_eq!(cumulative_stall_s("Cumulative stall: 1:2:3:4 H:M:S"), None);
    }
}
