//! Fault injection: what each fault does, and why atomic batches matter.

use chancery_storage::{
    BitFlip, Column, FaultPlan, FaultyStore, MemStore, Store, StoreError, WriteBatch,
};

fn batch(first: u64, n: u64) -> WriteBatch {
    let mut b = WriteBatch::new();
    for i in first..first + n {
        b.put(Column::Log, i.to_be_bytes(), format!("entry {i}"));
    }
    b.put(Column::Meta, b"log_len", (first + n).to_be_bytes());
    b
}

fn log_len(s: &impl Store) -> u64 {
    s.scan(Column::Log, b"", None, false, 10_000)
        .expect("scan")
        .len() as u64
}

fn meta_len(s: &impl Store) -> Option<u64> {
    s.get(Column::Meta, b"log_len")
        .expect("get")
        .map(|v| u64::from_be_bytes(v.as_slice().try_into().expect("8 bytes")))
}

#[test]
fn failed_write_applies_nothing_and_is_numbered() {
    let s = FaultyStore::with_plan(
        MemStore::new(),
        FaultPlan {
            fail_write: Some(3),
            ..FaultPlan::default()
        },
    );
    s.write(batch(0, 10)).expect("write 1");
    s.write(batch(10, 10)).expect("write 2");
    let err = s.write(batch(20, 10)).expect_err("write 3 fails");
    assert!(
        matches!(err, StoreError::Injected(ref m) if m.contains("#3")),
        "{err}"
    );
    assert_eq!(log_len(&s), 20);
    assert_eq!(meta_len(&s), Some(20));
    // Only the third write fails; retrying succeeds.
    s.write(batch(20, 10)).expect("write 4");
    assert_eq!(log_len(&s), 30);
    assert_eq!(s.writes_attempted(), 4);
    assert_eq!(s.faults_injected(), 1);
}

#[test]
fn torn_write_applies_exactly_a_prefix() {
    let s = FaultyStore::with_plan(
        MemStore::new(),
        FaultPlan {
            tear_write: Some((2, 4)),
            ..FaultPlan::default()
        },
    );
    s.write(batch(0, 10)).expect("write 1");
    let err = s.write(batch(10, 10)).expect_err("torn");
    assert!(
        matches!(err, StoreError::Injected(ref m) if m.contains("applied 4 of 11")),
        "{err}"
    );
    // The torn batch left 4 log entries but not the pointer: the state a non-atomic engine
    // would leave after a crash. The pointer (written last) still says 10.
    assert_eq!(log_len(&s), 14);
    assert_eq!(meta_len(&s), Some(10));
    // Re-applying the whole batch after the "crash" is allowed: the 4 entries already there
    // are identical (idempotent re-apply), the rest are new.
    s.write(batch(10, 10)).expect("re-apply");
    assert_eq!(log_len(&s), 20);
    assert_eq!(meta_len(&s), Some(20));
}

#[test]
fn torn_write_with_a_different_retry_is_caught_by_immutability() {
    // Why atomicity matters: if a torn write is retried with different contents (say, the
    // block was re-proposed), the prefix that leaked makes the retry fail loudly instead of
    // silently mixing two versions.
    let s = FaultyStore::with_plan(
        MemStore::new(),
        FaultPlan {
            tear_write: Some((1, 3)),
            ..FaultPlan::default()
        },
    );
    s.write(batch(0, 10)).expect_err("torn");
    let mut other = WriteBatch::new();
    for i in 0..10u64 {
        other.put(Column::Log, i.to_be_bytes(), format!("other {i}"));
    }
    match s.write(other) {
        Err(StoreError::Overwrite { column, key_hex }) => {
            assert_eq!(column, Column::Log);
            assert_eq!(key_hex, hex::encode(0u64.to_be_bytes()));
        }
        r => panic!("expected Overwrite, got {r:?}"),
    }
    assert_eq!(log_len(&s), 3);
}

#[test]
fn crash_on_fault_fails_every_later_write_until_replanned() {
    let s = FaultyStore::with_plan(
        MemStore::new(),
        FaultPlan {
            tear_write: Some((1, 2)),
            crash_on_fault: true,
            ..FaultPlan::default()
        },
    );
    s.write(batch(0, 5)).expect_err("torn");
    s.write(batch(100, 5)).expect_err("crashed");
    s.write(batch(200, 5)).expect_err("crashed");
    assert_eq!(log_len(&s), 2);
    assert_eq!(s.faults_injected(), 3);
    s.set_plan(FaultPlan::default());
    s.write(batch(0, 5)).expect("recovered");
    assert_eq!(log_len(&s), 5);
}

#[test]
fn failed_reads_of_one_column_only() {
    let s = FaultyStore::new(MemStore::new());
    s.write(batch(0, 3)).expect("write");
    s.set_plan(FaultPlan {
        fail_reads: vec![Column::Log],
        ..FaultPlan::default()
    });
    assert!(matches!(
        s.get(Column::Log, &0u64.to_be_bytes()),
        Err(StoreError::Injected(_))
    ));
    assert!(matches!(
        s.scan(Column::Log, b"", None, false, 10),
        Err(StoreError::Injected(_))
    ));
    assert!(matches!(
        s.multi_get(Column::Log, &[b"x"]),
        Err(StoreError::Injected(_))
    ));
    assert_eq!(meta_len(&s), Some(3));
    // Writes still work.
    s.write(batch(3, 1)).expect("write");
    assert_eq!(
        s.inner().get(Column::Meta, b"log_len").expect("get"),
        Some(4u64.to_be_bytes().to_vec())
    );
}

#[test]
fn bit_flip_damages_exactly_one_bit_of_matching_values() {
    let s = FaultyStore::new(MemStore::new());
    s.write(batch(0, 3)).expect("write");
    let key1 = 1u64.to_be_bytes();
    s.set_plan(FaultPlan {
        flip: Some(BitFlip {
            column: Column::Log,
            key: Some(key1.to_vec()),
            bit: 9,
        }),
        ..FaultPlan::default()
    });
    let good = b"entry 1".to_vec();
    let got = s.get(Column::Log, &key1).expect("get").expect("present");
    let diff: Vec<(usize, u8)> = good
        .iter()
        .zip(&got)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| (i, a ^ b))
        .collect();
    assert_eq!(diff, vec![(1, 0b10)], "bit 9 = byte 1, bit 1");
    // Other keys, and the same key through the inner store, are untouched.
    assert_eq!(
        s.get(Column::Log, &0u64.to_be_bytes()).expect("get"),
        Some(b"entry 0".to_vec())
    );
    assert_eq!(
        s.inner().get(Column::Log, &key1).expect("get"),
        Some(good.clone())
    );
    // Scans and multi_get see the same damage: deterministic.
    let scanned = s.scan(Column::Log, b"", None, false, 10).expect("scan");
    assert_eq!(scanned[1].1, got);
    let multi = s.multi_get(Column::Log, &[&key1]).expect("multi_get");
    assert_eq!(multi[0].as_deref(), Some(got.as_slice()));
    // The bit index wraps around the value's length.
    s.set_plan(FaultPlan {
        flip: Some(BitFlip {
            column: Column::Log,
            key: None,
            bit: good.len() * 8 + 9,
        }),
        ..FaultPlan::default()
    });
    assert_eq!(s.get(Column::Log, &key1).expect("get"), Some(got));
    assert_eq!(s.faults_injected(), 4);
}
