//! The conformance suite every [`Store`] must pass. Run it with [`run_all`], or use
//! [`store_suite!`](crate::store_suite) to get one `#[test]` per case. Other crates run it
//! against their own wrappers.
//!
//! Each case takes a fresh, empty store and panics (with a message) if the store
//! misbehaves. Cases that need to plant corrupt bytes require [`RawAccess`].
//!
//! Give the stores small [`Limits`](crate::Limits): the limit case builds a batch just
//! over `batch_bytes_max` and one just over `batch_puts_max`. The large-batch case needs
//! room for 10,000 puts of 308 bytes and scans of 3,000 entries.

use crate::{checksum, Column, RawAccess, Store, StoreError, WriteBatch};

/// A store-making function.
pub trait MakeStore<S>: Fn() -> S {}
impl<S, F: Fn() -> S> MakeStore<S> for F {}

/// A named suite case.
pub type Case<S> = (&'static str, fn(&S));

/// The cases every store must pass, by name.
pub fn cases<S: Store>() -> Vec<Case<S>> {
    vec![
        ("get_put", get_put::<S>),
        (
            "atomic_batch_refused_whole",
            atomic_batch_refused_whole::<S>,
        ),
        ("scan_ascending_descending", scan_ascending_descending::<S>),
        ("scan_bounds_and_limits", scan_bounds_and_limits::<S>),
        ("overwrite_refused", overwrite_refused::<S>),
        ("identical_reput_allowed", identical_reput_allowed::<S>),
        ("duplicate_in_batch", duplicate_in_batch::<S>),
        ("unordered_batch", unordered_batch::<S>),
        ("hash_keyed_column_scans", hash_keyed_column_scans::<S>),
        ("meta_overwrite_allowed", meta_overwrite_allowed::<S>),
        ("write_behind_lands", write_behind_lands::<S>),
        ("columns_are_separate", columns_are_separate::<S>),
        ("empty_batch", empty_batch::<S>),
        ("large_batch", large_batch::<S>),
        ("limits_enforced", limits_enforced::<S>),
        ("multi_get_matches_get", multi_get_matches_get::<S>),
        ("verify_all_clean", verify_all_clean::<S>),
        ("delete_range_derived_only", delete_range_derived_only::<S>),
    ]
}

/// Cases that plant corrupt bytes through [`RawAccess`].
pub fn raw_cases<S: Store + RawAccess>() -> Vec<Case<S>> {
    vec![
        (
            "corruption_detected_on_read",
            corruption_detected_on_read::<S>,
        ),
        (
            "verify_all_lists_every_corrupt_entry",
            verify_all_lists_every_corrupt_entry::<S>,
        ),
        (
            "overwrite_of_corrupt_value_reports_corruption",
            overwrite_of_corrupt_value::<S>,
        ),
    ]
}

/// Run every case of [`cases`], each on a fresh store from `make`.
pub fn run_all<S: Store>(make: impl Fn() -> S) {
    for (_name, case) in cases::<S>() {
        case(&make());
    }
}

/// Run every case of [`raw_cases`], each on a fresh store from `make`.
pub fn run_raw<S: Store + RawAccess>(make: impl Fn() -> S) {
    for (_name, case) in raw_cases::<S>() {
        case(&make());
    }
}

/// Generate one `#[test]` per suite case in a module `$name`, each on a store from
/// `$make` (an expression evaluating to a `Fn() -> S`). Add `raw` to include the cases
/// that need [`RawAccess`].
#[macro_export]
macro_rules! store_suite {
    (@cases $name:ident, $make:expr, [$($case:ident),*]) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $case() {
                    let make = $make;
                    $crate::suite::$case(&make());
                }
            )*
        }
    };
    ($name:ident, $make:expr) => {
        $crate::store_suite!(@cases $name, $make, [
            get_put, atomic_batch_refused_whole, scan_ascending_descending,
            scan_bounds_and_limits, overwrite_refused, identical_reput_allowed,
            duplicate_in_batch, meta_overwrite_allowed, write_behind_lands,
            columns_are_separate, empty_batch,
            large_batch, limits_enforced, multi_get_matches_get, verify_all_clean,
            unordered_batch, hash_keyed_column_scans
        ]);
    };
    ($name:ident, $make:expr, raw) => {
        $crate::store_suite!(@cases $name, $make, [
            get_put, atomic_batch_refused_whole, scan_ascending_descending,
            scan_bounds_and_limits, overwrite_refused, identical_reput_allowed,
            duplicate_in_batch, meta_overwrite_allowed, write_behind_lands,
            columns_are_separate, empty_batch,
            large_batch, limits_enforced, multi_get_matches_get, verify_all_clean,
            unordered_batch, hash_keyed_column_scans, corruption_detected_on_read, verify_all_lists_every_corrupt_entry,
            overwrite_of_corrupt_value
        ]);
    };
}

fn put1<S: Store>(s: &S, col: Column, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
    let mut b = WriteBatch::new();
    b.put(col, key, value);
    s.write(b)
}

fn k(i: u64) -> Vec<u8> {
    i.to_be_bytes().to_vec()
}

fn fill<S: Store>(s: &S, col: Column, keys: impl IntoIterator<Item = u64>) {
    let mut b = WriteBatch::new();
    for i in keys {
        b.put(col, k(i), format!("v{i}"));
    }
    s.write(b).expect("fill");
}

fn keys_of(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u64> {
    entries
        .iter()
        .map(|(key, v)| {
            let i = u64::from_be_bytes(key.as_slice().try_into().expect("8-byte key"));
            assert_eq!(v, format!("v{i}").as_bytes(), "value of key {i}");
            i
        })
        .collect()
}

/// Put then get; absent keys are `None`; empty keys and values work.
pub fn get_put<S: Store>(s: &S) {
    assert_eq!(s.get(Column::Blocks, b"a").expect("get"), None);
    put1(s, Column::Blocks, b"a", b"1").expect("put");
    assert_eq!(
        s.get(Column::Blocks, b"a").expect("get"),
        Some(b"1".to_vec())
    );
    assert_eq!(s.get(Column::Blocks, b"b").expect("get"), None);
    assert_eq!(s.get(Column::Blocks, b"").expect("get"), None);
    put1(s, Column::Blocks, b"", b"").expect("empty key and value");
    assert_eq!(s.get(Column::Blocks, b"").expect("get"), Some(Vec::new()));
    let big = vec![0xAB; 100_000];
    put1(s, Column::Log, b"big", &big).expect("put big");
    assert_eq!(s.get(Column::Log, b"big").expect("get"), Some(big));
}

/// A batch that is refused (one overwrite among many puts) leaves nothing behind.
pub fn atomic_batch_refused_whole<S: Store>(s: &S) {
    put1(s, Column::Log, &k(5), b"old").expect("put");
    let mut b = WriteBatch::new();
    for i in 0..10 {
        b.put(Column::Log, k(i), format!("v{i}"));
    }
    b.put(Column::Meta, b"tip", b"9");
    let err = s.write(b).expect_err("contains an overwrite of key 5");
    match err {
        StoreError::Overwrite { column, key_hex } => {
            assert_eq!(column, Column::Log);
            assert_eq!(key_hex, hex::encode(k(5)));
        }
        other => panic!("expected Overwrite, got {other:?}"),
    }
    for i in (0..10).filter(|&i| i != 5) {
        assert_eq!(
            s.get(Column::Log, &k(i)).expect("get"),
            None,
            "key {i} leaked"
        );
    }
    assert_eq!(s.get(Column::Meta, b"tip").expect("get"), None);
    assert_eq!(
        s.get(Column::Log, &k(5)).expect("get"),
        Some(b"old".to_vec())
    );
    // A good batch across several columns is wholly visible.
    let mut b = WriteBatch::new();
    b.put(Column::Blocks, k(1), b"block");
    b.put(Column::Certs, k(1), b"cert");
    b.put(Column::Meta, b"tip", b"1");
    s.write(b).expect("write");
    assert_eq!(
        s.get(Column::Blocks, &k(1)).expect("get"),
        Some(b"block".to_vec())
    );
    assert_eq!(
        s.get(Column::Certs, &k(1)).expect("get"),
        Some(b"cert".to_vec())
    );
    assert_eq!(
        s.get(Column::Meta, b"tip").expect("get"),
        Some(b"1".to_vec())
    );
}

/// Full scans in both directions, across batches written out of order.
pub fn scan_ascending_descending<S: Store>(s: &S) {
    fill(s, Column::Index, (0..25).rev().map(|i| 2 * i));
    fill(s, Column::Index, (1..50).step_by(2));
    let up = s.scan(Column::Index, b"", None, false, 1000).expect("scan");
    assert_eq!(keys_of(&up), (0..50).collect::<Vec<_>>());
    let down = s.scan(Column::Index, b"", None, true, 1000).expect("scan");
    assert_eq!(keys_of(&down), (0..50).rev().collect::<Vec<_>>());
    // Variable-length keys sort bytewise.
    let mut b = WriteBatch::new();
    for key in [&b"b"[..], b"a", b"ab", b"", b"\xff", b"a\x00"] {
        b.put(Column::State, key, b"x");
    }
    s.write(b).expect("write");
    let all = s.scan(Column::State, b"", None, false, 100).expect("scan");
    let keys: Vec<&[u8]> = all.iter().map(|(k, _)| k.as_slice()).collect();
    assert_eq!(keys, vec![&b""[..], b"a", b"a\x00", b"ab", b"b", b"\xff"]);
}

/// `start` is inclusive, `end` exclusive, `limit` caps the answer from the right end.
pub fn scan_bounds_and_limits<S: Store>(s: &S) {
    fill(s, Column::Log, 10..30);
    let r = |start: u64, end: Option<u64>, rev: bool, limit: usize| {
        let end = end.map(k);
        keys_of(
            &s.scan(Column::Log, &k(start), end.as_deref(), rev, limit)
                .expect("scan"),
        )
    };
    assert_eq!(r(12, Some(15), false, 100), vec![12, 13, 14]);
    assert_eq!(r(12, Some(15), true, 100), vec![14, 13, 12]);
    assert_eq!(r(12, None, false, 3), vec![12, 13, 14]);
    assert_eq!(r(12, None, true, 3), vec![29, 28, 27]);
    assert_eq!(r(0, Some(12), true, 1), vec![11]);
    assert_eq!(r(0, Some(11), false, 100), vec![10]);
    assert_eq!(r(0, Some(10), false, 100), Vec::<u64>::new());
    assert_eq!(r(30, None, false, 100), Vec::<u64>::new());
    assert_eq!(r(30, None, true, 100), Vec::<u64>::new());
    assert_eq!(r(15, Some(15), false, 100), Vec::<u64>::new());
    assert_eq!(r(20, Some(15), true, 100), Vec::<u64>::new());
    assert_eq!(r(10, None, false, 0), Vec::<u64>::new());
    // Keys between stored keys as bounds.
    let mid = |i: u64| {
        let mut m = k(i);
        m.push(0);
        m
    };
    let got = s
        .scan(Column::Log, &mid(12), Some(&mid(15)), false, 100)
        .expect("scan");
    assert_eq!(keys_of(&got), vec![13, 14, 15]);
    let got = s
        .scan(Column::Log, &mid(12), Some(&mid(15)), true, 2)
        .expect("scan");
    assert_eq!(keys_of(&got), vec![15, 14]);
    // Other columns are untouched by the scan.
    assert!(s
        .scan(Column::Blocks, b"", None, false, 100)
        .expect("scan")
        .is_empty());
}

/// A changed value for an existing key of a record column is refused and the old value
/// stays; in a derived column the new value replaces it.
pub fn overwrite_refused<S: Store>(s: &S) {
    let records: Vec<Column> = Column::ALL.into_iter().filter(|c| c.is_record()).collect();
    assert_eq!(records, [Column::Blocks, Column::Certs, Column::Log]);
    for col in Column::ALL.into_iter().filter(|c| !c.is_record()) {
        put1(s, col, b"key", b"first").expect("put");
        put1(s, col, b"key", b"second").expect("a derived column accepts a new value");
        assert_eq!(s.get(col, b"key").expect("get"), Some(b"second".to_vec()));
    }
    for col in records {
        put1(s, col, b"key", b"first").expect("put");
        match put1(s, col, b"key", b"second") {
            Err(StoreError::Overwrite { column, key_hex }) => {
                assert_eq!(column, col);
                assert_eq!(key_hex, hex::encode(b"key"));
            }
            other => panic!("column {col:?}: expected Overwrite, got {other:?}"),
        }
        // A prefix or extension of the value is a different value too.
        assert!(matches!(
            put1(s, col, b"key", b"firs"),
            Err(StoreError::Overwrite { .. })
        ));
        assert!(matches!(
            put1(s, col, b"key", b"first\0"),
            Err(StoreError::Overwrite { .. })
        ));
        assert_eq!(s.get(col, b"key").expect("get"), Some(b"first".to_vec()));
    }
}

/// Re-applying a batch that is already stored (after a crash) succeeds and changes nothing.
pub fn identical_reput_allowed<S: Store>(s: &S) {
    let mut b = WriteBatch::new();
    for i in 0..20 {
        b.put(Column::Log, k(i), format!("v{i}"));
    }
    b.put(Column::Meta, b"tip", b"19");
    s.write(b.clone()).expect("first");
    s.write(b.clone()).expect("identical re-apply");
    // Partly applied before: the rest is added.
    let mut more = b.clone();
    for i in 20..25 {
        more.put(Column::Log, k(i), format!("v{i}"));
    }
    s.write(more).expect("superset re-apply");
    let all = s.scan(Column::Log, b"", None, false, 100).expect("scan");
    assert_eq!(keys_of(&all), (0..25).collect::<Vec<_>>());
}

/// Two puts to one immutable key in one batch: fine if identical, refused otherwise; in a
/// derived column the last one wins.
pub fn duplicate_in_batch<S: Store>(s: &S) {
    let mut b = WriteBatch::new();
    b.put(Column::Certs, b"h", b"1");
    b.put(Column::Certs, b"h", b"1");
    s.write(b).expect("identical duplicate");
    let mut b = WriteBatch::new();
    b.put(Column::Certs, b"g", b"1");
    b.put(Column::Certs, b"g", b"2");
    b.put(Column::Log, b"other", b"x");
    assert!(matches!(
        s.write(b),
        Err(StoreError::Overwrite {
            column: Column::Certs,
            ..
        })
    ));
    assert_eq!(s.get(Column::Certs, b"g").expect("get"), None);
    assert_eq!(s.get(Column::Log, b"other").expect("get"), None);
    let mut b = WriteBatch::new();
    b.put(Column::LogTree, b"t", b"partial");
    b.put(Column::LogTree, b"t", b"partial, grown");
    s.write(b).expect("derived duplicate");
    assert_eq!(
        s.get(Column::LogTree, b"t").expect("get"),
        Some(b"partial, grown".to_vec())
    );
    // In Meta, the last put of a batch wins.
    let mut b = WriteBatch::new();
    b.put(Column::Meta, b"m", b"1");
    b.put(Column::Meta, b"m", b"2");
    s.write(b).expect("meta duplicate");
    assert_eq!(s.get(Column::Meta, b"m").expect("get"), Some(b"2".to_vec()));
}

/// [`Store::write_behind`] is atomic, checked like [`Store::write`] (a changed record is
/// refused and nothing of the batch lands), and visible to reads at once.
pub fn write_behind_lands<S: Store>(s: &S) {
    let mut b = WriteBatch::new();
    for i in 0..10 {
        b.put(Column::Index, k(i), b"");
    }
    b.put(Column::Meta, b"indexed", b"10");
    s.write_behind(b).expect("write behind");
    assert_eq!(
        s.scan(Column::Index, b"", None, false, 100)
            .expect("scan")
            .len(),
        10
    );
    assert_eq!(
        s.get(Column::Meta, b"indexed").expect("get"),
        Some(b"10".to_vec())
    );
    put1(s, Column::Log, &k(1), b"record").expect("put");
    let mut b = WriteBatch::new();
    b.put(Column::Index, k(99), b"");
    b.put(Column::Log, k(1), b"changed");
    assert!(matches!(
        s.write_behind(b),
        Err(StoreError::Overwrite {
            column: Column::Log,
            ..
        })
    ));
    assert_eq!(s.get(Column::Index, &k(99)).expect("get"), None);
}

/// A batch whose puts arrive out of key order, interleaved across columns (as the ledger
/// writes them): every value lands, the later of two `Meta` puts wins, and an overwrite
/// hidden among thousands of fresh keys in several columns is still found.
pub fn unordered_batch<S: Store>(s: &S) {
    let cols = [Column::Log, Column::StateTree, Column::Index];
    // A scrambled order: multiplying by an odd number permutes 0..4096.
    let order: Vec<u64> = (0..4096u64).map(|i| (i * 2_654_435_761) % 4096).collect();
    let mut b = WriteBatch::new();
    for (n, &i) in order.iter().enumerate() {
        let col = cols[n % cols.len()];
        b.put(col, k(i), i.to_be_bytes());
        if n == 100 {
            b.put(Column::Meta, b"m", b"first");
        }
    }
    b.put(Column::Meta, b"m", b"last");
    s.write(b).expect("unordered batch");
    assert_eq!(
        s.get(Column::Meta, b"m").expect("get"),
        Some(b"last".to_vec())
    );
    for (n, &i) in order.iter().enumerate() {
        let col = cols[n % cols.len()];
        assert_eq!(
            s.get(col, &k(i)).expect("get"),
            Some(i.to_be_bytes().to_vec()),
            "key {i} in {col:?}"
        );
    }
    // Re-putting all of it is idempotent; one changed value among them refuses the batch.
    let mut b = WriteBatch::new();
    for (n, &i) in order.iter().enumerate().rev() {
        let col = cols[n % cols.len()];
        let value = if n == 2_001 { 7u64 } else { i };
        b.put(col, k(i), value.to_be_bytes());
    }
    b.put(Column::Log, k(99_999), b"new");
    match s.write(b) {
        Err(StoreError::Overwrite { column, key_hex }) => {
            assert_eq!(column, cols[2_001 % cols.len()]);
            assert_eq!(key_hex, hex::encode(k(order[2_001])));
        }
        other => panic!("expected an overwrite refusal, got {other:?}"),
    }
    assert_eq!(s.get(Column::Log, &k(99_999)).expect("get"), None);
}

/// The state tree is keyed by 32-byte hashes and may be stored differently (RocksDB gives
/// it a hash-bucketed memtable): point reads, and scans across many keys in both
/// directions with bounds, still see every key once, in order.
pub fn hash_keyed_column_scans<S: Store>(s: &S) {
    // 2,000 scattered 32-byte keys, written in two batches.
    let key = |i: u64| -> Vec<u8> {
        let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
        [
            x.to_be_bytes(),
            i.to_be_bytes(),
            x.to_le_bytes(),
            (!i).to_be_bytes(),
        ]
        .concat()
    };
    for half in [0..1_000u64, 1_000..2_000] {
        let mut b = WriteBatch::new();
        for i in half {
            b.put(Column::StateTree, key(i), i.to_be_bytes());
        }
        s.write(b).expect("write");
    }
    let mut want: Vec<Vec<u8>> = (0..2_000).map(key).collect();
    want.sort();
    for i in (0..2_000).step_by(97) {
        assert_eq!(
            s.get(Column::StateTree, &key(i)).expect("get"),
            Some(i.to_be_bytes().to_vec())
        );
    }
    let all = s
        .scan(Column::StateTree, b"", None, false, 5_000)
        .expect("scan");
    let got: Vec<Vec<u8>> = all.into_iter().map(|(k, _)| k).collect();
    assert_eq!(got, want, "a full scan lists every key once, in order");
    let (lo, hi) = (&want[300], &want[1_700]);
    let fwd = s
        .scan(Column::StateTree, lo, Some(hi), false, 5_000)
        .expect("scan");
    assert_eq!(fwd.len(), 1_400);
    assert_eq!(&fwd[0].0, lo);
    let rev = s
        .scan(Column::StateTree, lo, Some(hi), true, 10)
        .expect("scan");
    let rev_keys: Vec<Vec<u8>> = rev.into_iter().map(|(k, _)| k).collect();
    let expect_rev: Vec<Vec<u8>> = want[1_690..1_700].iter().rev().cloned().collect();
    assert_eq!(rev_keys, expect_rev);
    assert!(s.verify_all().expect("verify").is_clean());
}

/// Meta keys can be overwritten; the schema key cannot be written at all.
pub fn meta_overwrite_allowed<S: Store>(s: &S) {
    for h in 0..5u64 {
        put1(s, Column::Meta, b"last_applied", &k(h)).expect("meta put");
        assert_eq!(
            s.get(Column::Meta, b"last_applied").expect("get"),
            Some(k(h))
        );
    }
    match put1(s, Column::Meta, crate::SCHEMA_KEY, b"x") {
        Err(StoreError::Reserved { column, .. }) => assert_eq!(column, Column::Meta),
        other => panic!("expected Reserved, got {other:?}"),
    }
}

/// A range deletion removes exactly `[start, end)` of a derived column, and is refused whole
/// in record columns and over the schema key.
pub fn delete_range_derived_only<S: Store>(s: &S) {
    for col in [Column::Meta, Column::Index, Column::Blocks] {
        let mut b = WriteBatch::new();
        for i in 0..6u64 {
            b.put(col, k(i), k(i));
        }
        s.write(b).expect("write");
    }
    s.delete_range(Column::Meta, &k(1), &k(4)).expect("delete");
    let left: Vec<Vec<u8>> = s
        .scan(Column::Meta, &k(0), Some(&k(6)), false, 100)
        .expect("scan")
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(left, vec![k(0), k(4), k(5)]);
    // Another column is untouched; an empty or inverted range does nothing.
    s.delete_range(Column::Index, &k(3), &k(3)).expect("empty");
    s.delete_range(Column::Index, &k(5), &k(2))
        .expect("inverted");
    let index = s
        .scan(Column::Index, &k(0), None, false, 100)
        .expect("scan");
    assert_eq!(index.len(), 6);
    match s.delete_range(Column::Blocks, &k(0), &k(6)) {
        Err(StoreError::RecordDelete { column }) => assert_eq!(column, Column::Blocks),
        other => panic!("expected RecordDelete, got {other:?}"),
    }
    assert_eq!(
        s.scan(Column::Blocks, &k(0), None, false, 100)
            .expect("scan")
            .len(),
        6
    );
    match s.delete_range(Column::Meta, b"", b"\xff") {
        Err(StoreError::Reserved { column, .. }) => assert_eq!(column, Column::Meta),
        other => panic!("expected Reserved over the schema key, got {other:?}"),
    }
    assert!(s.get(Column::Meta, &k(5)).expect("get").is_some());
}

/// The same key in every column holds independent values.
pub fn columns_are_separate<S: Store>(s: &S) {
    let mut b = WriteBatch::new();
    for col in Column::ALL {
        b.put(col, b"same-key", col.name());
    }
    s.write(b).expect("write");
    for col in Column::ALL {
        assert_eq!(
            s.get(col, b"same-key").expect("get"),
            Some(col.name().as_bytes().to_vec())
        );
        let all = s
            .scan(col, b"same", Some(b"same-kez"), false, 10)
            .expect("scan");
        assert_eq!(
            all,
            vec![(b"same-key".to_vec(), col.name().as_bytes().to_vec())]
        );
    }
}

/// An empty batch succeeds and writes nothing.
pub fn empty_batch<S: Store>(s: &S) {
    s.write(WriteBatch::new()).expect("empty");
    for col in Column::ALL {
        let entries = s.scan(col, b"", None, false, 10).expect("scan");
        assert!(
            entries.iter().all(|(k, _)| k != b"" || col == Column::Meta),
            "empty batch wrote to {col:?}"
        );
        if col != Column::Meta {
            assert!(entries.is_empty(), "empty batch wrote to {col:?}");
        }
    }
}

/// A batch of 10,000 puts of 300 bytes is applied whole.
pub fn large_batch<S: Store>(s: &S) {
    let n = 10_000u64;
    let mut b = WriteBatch::new();
    for i in 0..n {
        let mut v = vec![(i % 251) as u8; 300];
        v[..8].copy_from_slice(&i.to_le_bytes());
        b.put(Column::Log, k(i), v);
    }
    s.write(b).expect("large batch");
    let mut start = Vec::new();
    let mut seen = 0u64;
    loop {
        let page = s
            .scan(Column::Log, &start, None, false, 3000)
            .expect("scan");
        for (key, v) in &page {
            assert_eq!(key, &k(seen));
            assert_eq!(v.len(), 300);
            assert_eq!(&v[..8], &seen.to_le_bytes());
            seen += 1;
        }
        match page.last() {
            Some((last, _)) if page.len() == 3000 => start = crate::successor(last),
            _ => break,
        }
    }
    assert_eq!(seen, n);
}

/// Oversized keys, values, batches and scans are refused, naming the limit.
pub fn limits_enforced<S: Store>(s: &S) {
    let limits = s.limits();
    let expect_limit = |r: Result<(), StoreError>, name: &str| match r {
        Err(StoreError::Limit { limit, .. }) => assert_eq!(limit, name),
        other => panic!("expected {name}, got {other:?}"),
    };
    let long_key = vec![1u8; limits.key_bytes_max + 1];
    expect_limit(put1(s, Column::Log, &long_key, b"v"), "key_bytes_max");
    expect_limit(s.get(Column::Log, &long_key).map(|_| ()), "key_bytes_max");
    put1(s, Column::Log, &long_key[1..], b"v").expect("key at the limit");
    let big_value = vec![0u8; limits.value_bytes_max + 1];
    expect_limit(put1(s, Column::Blocks, b"k", &big_value), "value_bytes_max");
    assert_eq!(s.get(Column::Blocks, b"k").expect("get"), None);
    let mut b = WriteBatch::new();
    let chunk = vec![0u8; limits.value_bytes_max];
    for i in 0..=(limits.batch_bytes_max / limits.value_bytes_max) as u64 {
        b.put(Column::Blocks, k(i), chunk.clone());
    }
    expect_limit(s.write(b), "batch_bytes_max");
    assert_eq!(s.get(Column::Blocks, &k(0)).expect("get"), None);
    expect_limit(
        s.scan(Column::Log, b"", None, false, limits.scan_entries_max + 1)
            .map(|_| ()),
        "scan_entries_max",
    );
    let mut b = WriteBatch::new();
    for i in 0..=limits.batch_puts_max as u64 {
        b.put(Column::Index, k(i), Vec::new());
    }
    expect_limit(s.write(b), "batch_puts_max");
    assert_eq!(s.get(Column::Index, &k(0)).expect("get"), None);
}

/// `multi_get` answers like `get`, in order, including absent keys.
pub fn multi_get_matches_get<S: Store>(s: &S) {
    fill(s, Column::TxIndex, (0..100).step_by(3));
    let keys: Vec<Vec<u8>> = (0..100).rev().map(k).collect();
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let got = s.multi_get(Column::TxIndex, &refs).expect("multi_get");
    assert_eq!(got.len(), keys.len());
    for (key, v) in keys.iter().zip(&got) {
        assert_eq!(v, &s.get(Column::TxIndex, key).expect("get"));
    }
    assert_eq!(got.iter().filter(|v| v.is_some()).count(), 34);
    assert!(s.multi_get(Column::TxIndex, &[]).expect("empty").is_empty());
}

/// A store written normally verifies clean and counts every entry.
pub fn verify_all_clean<S: Store>(s: &S) {
    let before = s.verify_all().expect("verify");
    assert!(before.is_clean());
    fill(s, Column::Log, 0..100);
    fill(s, Column::StateTree, 0..7);
    put1(s, Column::Meta, b"tip", b"x").expect("put");
    let report = s.verify_all().expect("verify");
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.entries_checked[Column::Log.index()], 100);
    assert_eq!(report.entries_checked[Column::StateTree.index()], 7);
    assert_eq!(report.total_checked(), before.total_checked() + 108);
}

/// A value with a bad checksum is refused by get, scan and multi_get, naming column and key.
pub fn corruption_detected_on_read<S: Store + RawAccess>(s: &S) {
    fill(s, Column::Blocks, 0..5);
    let mut stored = checksum::seal(Column::Blocks, &k(2), b"v2");
    stored[0] ^= 0x01;
    s.put_raw(Column::Blocks, &k(2), &stored).expect("raw");
    let is_corrupt_2 = |e: StoreError| match e {
        StoreError::Corrupt {
            column, key_hex, ..
        } => {
            assert_eq!(column, Column::Blocks);
            assert_eq!(key_hex, hex::encode(k(2)));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    };
    is_corrupt_2(s.get(Column::Blocks, &k(2)).expect_err("corrupt"));
    is_corrupt_2(
        s.scan(Column::Blocks, b"", None, false, 10)
            .expect_err("corrupt"),
    );
    is_corrupt_2(
        s.scan(Column::Blocks, b"", None, true, 10)
            .expect_err("corrupt"),
    );
    is_corrupt_2(
        s.multi_get(Column::Blocks, &[&k(1), &k(2)])
            .expect_err("corrupt"),
    );
    // Neighbours are fine.
    assert_eq!(
        s.get(Column::Blocks, &k(1)).expect("get"),
        Some(b"v1".to_vec())
    );
    let below = s
        .scan(Column::Blocks, b"", Some(&k(2)), false, 10)
        .expect("scan");
    assert_eq!(keys_of(&below), vec![0, 1]);
    // A value moved to another key (valid checksum for its old key) is caught too.
    let moved = checksum::seal(Column::Blocks, &k(3), b"v3");
    s.put_raw(Column::Blocks, &k(9), &moved).expect("raw");
    assert!(matches!(
        s.get(Column::Blocks, &k(9)),
        Err(StoreError::Corrupt { .. })
    ));
    // Too short to hold a checksum.
    s.put_raw(Column::Blocks, &k(10), b"abc").expect("raw");
    assert!(matches!(
        s.get(Column::Blocks, &k(10)),
        Err(StoreError::Corrupt { .. })
    ));
}

/// `verify_all` lists each corrupt entry with its column and key, and counts the rest.
pub fn verify_all_lists_every_corrupt_entry<S: Store + RawAccess>(s: &S) {
    fill(s, Column::Log, 0..50);
    fill(s, Column::State, 0..50);
    let bad = [
        (Column::Log, 0u64),
        (Column::Log, 17),
        (Column::Log, 49),
        (Column::State, 30),
    ];
    for (col, i) in bad {
        let mut stored = checksum::seal(col, &k(i), format!("v{i}").as_bytes());
        let last = stored.len() - 1;
        stored[last] ^= 0x80; // damage the checksum itself
        s.put_raw(col, &k(i), &stored).expect("raw");
    }
    let report = s.verify_all().expect("verify");
    assert!(!report.is_clean());
    assert_eq!(report.entries_checked[Column::Log.index()], 50);
    assert_eq!(report.entries_checked[Column::State.index()], 50);
    let mut found: Vec<(Column, String)> = report
        .corrupt
        .iter()
        .map(|c| (c.column, c.key_hex.clone()))
        .collect();
    found.sort();
    let mut want: Vec<(Column, String)> =
        bad.iter().map(|(c, i)| (*c, hex::encode(k(*i)))).collect();
    want.sort();
    assert_eq!(found, want);
    assert_eq!(report.corrupt_unlisted, 0);
}

/// Re-putting over a corrupt value reports the corruption, not a plain overwrite.
pub fn overwrite_of_corrupt_value<S: Store + RawAccess>(s: &S) {
    let mut stored = checksum::seal(Column::Log, b"x", b"good");
    stored[1] ^= 0x10;
    s.put_raw(Column::Log, b"x", &stored).expect("raw");
    match put1(s, Column::Log, b"x", b"good") {
        Err(StoreError::Corrupt { column, .. }) => assert_eq!(column, Column::Log),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
