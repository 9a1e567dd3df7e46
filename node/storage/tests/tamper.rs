//! The test-only inspection and tampering API of `MemStore` (feature `testing`), and the
//! read counter of `FaultyStore`: what tests of other crates build their corruption cases
//! and read bounds on.

use chancery_storage::{
    checksum, Column, FaultPlan, FaultyStore, MemStore, RawAccess, Store, StoreError, WriteBatch,
};
use std::sync::Arc;

fn store_with(col: Column, entries: &[(&[u8], &[u8])]) -> MemStore {
    let s = MemStore::new();
    let mut b = WriteBatch::new();
    for (k, v) in entries {
        b.put(col, *k, *v);
    }
    s.write(b).expect("write");
    s
}

#[test]
fn keys_lists_one_column_in_order() {
    let s = store_with(Column::Log, &[(b"b", b"2"), (b"a", b"1"), (b"c", b"3")]);
    let mut b = WriteBatch::new();
    b.put(Column::Blocks, b"z".to_vec(), b"other".to_vec());
    s.write(b).expect("write");
    assert_eq!(
        s.keys(Column::Log),
        vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
    );
    assert_eq!(s.keys(Column::Blocks), vec![b"z".to_vec()]);
    assert!(s.keys(Column::State).is_empty());
}

#[test]
fn column_size_counts_keys_and_values_as_written() {
    let s = store_with(Column::Log, &[(b"k1", b"value"), (b"k2", b"")]);
    assert_eq!(s.column_size(Column::Log), (2, 2 + 5 + 2));
    assert_eq!(s.column_size(Column::Meta), (0, 0));
    // Stored values are longer by their checksum, which is not counted.
    let stored = checksum::seal(Column::Log, b"k1", b"value").len();
    assert_eq!(stored, 5 + checksum::CHECKSUM_BYTES);
}

#[test]
fn tamper_put_overwrites_with_a_valid_checksum() {
    let s = store_with(Column::Log, &[(b"k", b"honest")]);
    // The store itself refuses the overwrite...
    let mut b = WriteBatch::new();
    b.put(Column::Log, b"k".to_vec(), b"forged".to_vec());
    assert!(matches!(s.write(b), Err(StoreError::Overwrite { .. })));
    // ...tampering bypasses it, and the forged value reads back clean: only the reader's
    // own checks can catch it.
    s.tamper_put(Column::Log, b"k", b"forged");
    assert_eq!(s.get(Column::Log, b"k").unwrap(), Some(b"forged".to_vec()));
    assert!(s.verify_all().unwrap().is_clean());
    // Values beyond the limits are planted too.
    let big = vec![7u8; s.limits().value_bytes_max + 1];
    s.tamper_put(Column::Log, b"big", &big);
    assert_eq!(s.get(Column::Log, b"big").unwrap(), Some(big));
}

#[test]
fn tamper_remove_loses_an_entry() {
    let s = store_with(Column::Log, &[(b"a", b"1"), (b"b", b"2")]);
    assert!(s.tamper_remove(Column::Log, b"a"));
    assert!(!s.tamper_remove(Column::Log, b"a"), "already gone");
    assert!(!s.tamper_remove(Column::Blocks, b"b"), "other column");
    assert_eq!(s.get(Column::Log, b"a").unwrap(), None);
    assert_eq!(s.keys(Column::Log), vec![b"b".to_vec()]);
}

#[test]
fn put_raw_plants_bytes_that_fail_their_checksum() {
    let s = store_with(Column::Log, &[(b"k", b"v")]);
    s.put_raw(Column::Log, b"k", b"not sealed").unwrap();
    assert!(matches!(
        s.get(Column::Log, b"k"),
        Err(StoreError::Corrupt {
            column: Column::Log,
            ..
        })
    ));
}

#[test]
fn faulty_store_counts_point_reads() {
    let inner = Arc::new(store_with(Column::Log, &[(b"a", b"1"), (b"b", b"2")]));
    let s = FaultyStore::new(inner.clone());
    assert_eq!(s.point_reads(), 0);
    s.get(Column::Log, b"a").unwrap();
    s.get(Column::Log, b"missing").unwrap();
    assert_eq!(s.point_reads(), 2);
    s.multi_get(Column::Log, &[b"a", b"b", b"c"]).unwrap();
    assert_eq!(s.point_reads(), 5);
    s.scan(Column::Log, b"", None, false, 10).unwrap();
    assert_eq!(s.point_reads(), 5, "scans are not point reads");
    // Reads of the shared inner store are not seen by the wrapper.
    inner.get(Column::Log, b"a").unwrap();
    assert_eq!(s.point_reads(), 5);
    // A failed read still counts.
    s.set_plan(FaultPlan {
        fail_reads: vec![Column::Log],
        ..FaultPlan::default()
    });
    assert!(s.get(Column::Log, b"a").is_err());
    assert_eq!(s.point_reads(), 6);
}

#[test]
fn faulty_store_over_a_shared_store_leaves_the_torn_prefix_visible() {
    // What a ledger test does: the ledger writes through the wrapper, the test checks the
    // store underneath afterwards.
    let inner = Arc::new(MemStore::new());
    let s = FaultyStore::with_plan(
        inner.clone(),
        FaultPlan {
            tear_write: Some((1, 1)),
            ..FaultPlan::default()
        },
    );
    let mut b = WriteBatch::new();
    b.put(Column::Log, b"1".to_vec(), b"one".to_vec());
    b.put(Column::Log, b"2".to_vec(), b"two".to_vec());
    assert!(matches!(s.write(b), Err(StoreError::Injected(_))));
    assert_eq!(inner.keys(Column::Log), vec![b"1".to_vec()]);
}
