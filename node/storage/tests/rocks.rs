//! RocksStore specifics: persistence across reopen, schema checks, corruption planted on
//! disk through a raw RocksDB handle.

mod common;

use chancery_storage::{checksum, Column, Entries, RocksStore, Store, StoreError, WriteBatch};

fn put1(s: &impl Store, col: Column, key: &[u8], value: &[u8]) {
    let mut b = WriteBatch::new();
    b.put(col, key, value);
    s.write(b).expect("write");
}

fn raw_cfs() -> Vec<String> {
    Column::ALL.iter().map(|c| c.name().to_string()).collect()
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let s = RocksStore::open(&path).expect("create");
        let mut b = WriteBatch::new();
        for i in 0..100u64 {
            b.put(Column::Log, i.to_be_bytes(), vec![i as u8; 40]);
        }
        b.put(Column::Meta, b"tip", b"99");
        s.write(b).expect("write");
        s.flush().expect("flush");
        put1(&s, Column::Certs, b"c", b"after flush");
    }
    let s = RocksStore::open(&path).expect("reopen");
    assert_eq!(
        s.get(Column::Meta, b"tip").expect("get"),
        Some(b"99".to_vec())
    );
    assert_eq!(
        s.get(Column::Certs, b"c").expect("get"),
        Some(b"after flush".to_vec())
    );
    let all = s.scan(Column::Log, b"", None, false, 1000).expect("scan");
    assert_eq!(all.len(), 100);
    assert_eq!(all[42], (42u64.to_be_bytes().to_vec(), vec![42u8; 40]));
    // Immutability holds across reopen (the check reads from disk, not from a cache).
    assert!(matches!(
        s.write({
            let mut b = WriteBatch::new();
            b.put(Column::Log, 42u64.to_be_bytes(), b"changed");
            b
        }),
        Err(StoreError::Overwrite { .. })
    ));
    assert!(s.verify_all().expect("verify").is_clean());
    assert!(s.estimate_keys(Column::Log).expect("estimate") > 0);
}

/// An online backup: a checkpoint taken while another thread keeps writing holds a
/// consistent prefix of the writes (each batch whole or absent, in order), opens as a
/// store, and passes the integrity walk; the live store goes on. An existing target is
/// refused, naming it.
#[test]
fn a_checkpoint_taken_during_writes_is_a_consistent_openable_copy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = std::sync::Arc::new(RocksStore::open(dir.path().join("db")).expect("create"));
    let writer = {
        let s = s.clone();
        std::thread::spawn(move || {
            for i in 0..2_000u64 {
                // Each batch: a log entry and the tip that names it.
                let mut b = WriteBatch::new();
                b.put(Column::Log, i.to_be_bytes(), vec![i as u8; 64]);
                b.put(Column::Meta, b"tip", i.to_be_bytes());
                s.write_behind(b).expect("write");
            }
        })
    };
    let target = dir.path().join("backup");
    // Not synchronisation: the copy is checked for consistency whenever it is taken.
    while s.get(Column::Meta, b"tip").expect("get").is_none() {
        std::thread::yield_now();
    }
    s.checkpoint(&target).expect("checkpoint");
    writer.join().expect("writer");
    let b = RocksStore::open(&target).expect("open the backup");
    assert!(b.verify_all().expect("verify").is_clean());
    let tip = b.get(Column::Meta, b"tip").expect("get").expect("a tip");
    let tip = u64::from_be_bytes(tip.try_into().expect("8 bytes"));
    let log = b.scan(Column::Log, b"", None, false, 4096).expect("scan");
    assert_eq!(
        log.len() as u64,
        tip + 1,
        "the copy holds exactly the batches up to its tip"
    );
    // The live store kept every write.
    assert_eq!(
        s.scan(Column::Log, b"", None, false, 4096)
            .expect("scan")
            .len(),
        2_000
    );
    let e = s.checkpoint(&target).expect_err("the target exists");
    assert!(
        matches!(&e, StoreError::TargetExists { path } if path.contains("backup")),
        "{e}"
    );
}

#[test]
fn stats_report_every_column_and_grow_with_flushed_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = RocksStore::open(dir.path().join("db")).expect("create");
    let before = s.stats();
    let cols: Vec<Column> = before.columns.iter().map(|c| c.column).collect();
    assert_eq!(cols, Column::ALL.to_vec(), "one entry per column, in order");
    assert_eq!(before.write_stopped, Some(false));
    assert_eq!(before.delayed_write_rate_bytes_per_s, Some(0));
    let stall = before
        .write_stall_s
        .expect("RocksDB 7 reports its cumulative stall");
    assert!(stall >= 0.0, "stall {stall}");
    let mut b = WriteBatch::new();
    for i in 0..1000u64 {
        b.put(Column::Log, i.to_be_bytes(), vec![i as u8; 200]);
    }
    s.write(b).expect("write");
    s.flush().expect("flush");
    let after = s.stats();
    let log = |st: &chancery_storage::StoreStats| st.columns[Column::Log.index()].sst_bytes;
    assert!(
        log(&after) > log(&before) + 1000,
        "the log column's table files grew: {before:?} -> {after:?}"
    );
    assert_eq!(
        after.columns[Column::Certs.index()].sst_bytes,
        0,
        "an untouched column has no table file"
    );
    // The in-memory store reports nothing (the trait's default).
    assert_eq!(
        chancery_storage::MemStore::new().stats(),
        chancery_storage::StoreStats::default()
    );
}

#[test]
fn refuses_database_with_unexpected_column_families() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let mut cfs = raw_cfs();
        cfs.retain(|c| c != "certs");
        cfs.push("surprise".to_string());
        rocksdb::DB::open_cf(&opts, &path, &cfs).expect("raw create");
    }
    match RocksStore::open(&path) {
        Err(StoreError::Schema {
            expected, found, ..
        }) => {
            assert!(expected.contains("certs"), "{expected}");
            assert!(found.contains("surprise"), "{found}");
        }
        other => panic!("expected Schema error, got {other:?}"),
    }
}

#[test]
fn refuses_other_schema_version_and_data_without_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    drop(RocksStore::open(&path).expect("create"));
    let raw_put = |col: &str, key: &[u8], value: &[u8]| {
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, raw_cfs()).expect("raw");
        let cf = db.cf_handle(col).expect("cf");
        db.put_cf(cf, key, value).expect("raw put");
    };
    // A different version: the previous one (an older database is refused, not misread).
    raw_put(
        "meta",
        chancery_storage::SCHEMA_KEY,
        &checksum::seal(
            Column::Meta,
            chancery_storage::SCHEMA_KEY,
            &(chancery_storage::SCHEMA_VERSION - 1).to_be_bytes(),
        ),
    );
    match RocksStore::open(&path) {
        Err(StoreError::Schema { found, .. }) => {
            let previous = hex::encode((chancery_storage::SCHEMA_VERSION - 1).to_be_bytes());
            assert!(found.contains(&previous), "{found}")
        }
        other => panic!("expected Schema error, got {other:?}"),
    }
    // No version at all, but data.
    let dir2 = tempfile::tempdir().expect("tempdir");
    let path2 = dir2.path().join("db");
    {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let db = rocksdb::DB::open_cf(&opts, &path2, raw_cfs()).expect("raw create");
        db.put_cf(db.cf_handle("log").expect("cf"), b"k", b"v")
            .expect("put");
    }
    match RocksStore::open(&path2) {
        Err(StoreError::Schema { found, .. }) => assert!(found.contains("Log"), "{found}"),
        other => panic!("expected Schema error, got {other:?}"),
    }
    // An empty database without a version (creation interrupted) is adopted.
    let dir3 = tempfile::tempdir().expect("tempdir");
    let path3 = dir3.path().join("db");
    {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        rocksdb::DB::open_cf(&opts, &path3, raw_cfs()).expect("raw create");
    }
    let s = RocksStore::open(&path3).expect("adopt empty");
    put1(&s, Column::Log, b"k", b"v");
}

#[test]
fn corruption_planted_on_disk_is_found_on_read_and_by_verify_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let s = RocksStore::open(&path).expect("create");
        for col in [Column::Blocks, Column::StateTree] {
            let mut b = WriteBatch::new();
            for i in 0..20u64 {
                b.put(col, i.to_be_bytes(), format!("value {i}"));
            }
            s.write(b).expect("write");
        }
        s.flush().expect("flush to SST files");
    }
    {
        // Behind the store's back: a bad checksum, a truncated value, a swapped value.
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, raw_cfs()).expect("raw");
        let blocks = db.cf_handle("blocks").expect("cf");
        let mut v = checksum::seal(Column::Blocks, &3u64.to_be_bytes(), b"value 3");
        v[2] ^= 0x04;
        db.put_cf(blocks, 3u64.to_be_bytes(), v).expect("put");
        db.put_cf(blocks, 7u64.to_be_bytes(), b"short")
            .expect("put");
        let state_tree = db.cf_handle("state_tree").expect("cf");
        let other = checksum::seal(Column::StateTree, &1u64.to_be_bytes(), b"value 1");
        db.put_cf(state_tree, 2u64.to_be_bytes(), other)
            .expect("put");
    }
    let s = RocksStore::open(&path).expect("reopen");
    match s.get(Column::Blocks, &3u64.to_be_bytes()) {
        Err(StoreError::Corrupt {
            column,
            key_hex,
            message,
        }) => {
            assert_eq!(column, Column::Blocks);
            assert_eq!(key_hex, "0000000000000003");
            assert!(message.contains("checksum"), "{message}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(
        s.get(Column::Blocks, &4u64.to_be_bytes())
            .expect("neighbour"),
        Some(b"value 4".to_vec())
    );
    let report = s.verify_all().expect("verify");
    let listed: Vec<(Column, &str)> = report
        .corrupt
        .iter()
        .map(|c| (c.column, c.key_hex.as_str()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (Column::Blocks, "0000000000000003"),
            (Column::Blocks, "0000000000000007"),
            (Column::StateTree, "0000000000000002"),
        ]
    );
    assert_eq!(report.entries_checked[Column::Blocks.index()], 20);
    assert_eq!(report.entries_checked[Column::StateTree.index()], 20);
    // The default (scan-based) walk of the trait finds the same entries.
    struct ViaScan(RocksStore);
    impl Store for ViaScan {
        fn get(&self, c: Column, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
            self.0.get(c, k)
        }
        fn write(&self, b: WriteBatch) -> Result<(), StoreError> {
            self.0.write(b)
        }
        fn scan(
            &self,
            c: Column,
            s: &[u8],
            e: Option<&[u8]>,
            r: bool,
            l: usize,
        ) -> Result<Entries, StoreError> {
            self.0.scan(c, s, e, r, l)
        }
        fn delete_range(&self, c: Column, s: &[u8], e: &[u8]) -> Result<(), StoreError> {
            self.0.delete_range(c, s, e)
        }
    }
    let via_scan = ViaScan(s).verify_all().expect("verify via scan");
    assert_eq!(via_scan, report);
}
