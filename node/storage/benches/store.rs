//! Storage benchmarks, to compare with the raw RocksDB figures in docs/BENCHMARKS.md (raw RocksDB 7.8.3 on this
//! machine: synced batches of 1,000 x 300 B at 460/s with sequential 8-byte keys and 190/s
//! with random 32-byte keys; 128k point reads/s on 1M keys).
//!
//! Our numbers include what the store adds: checksums, the immutability check (one
//! multi_get of the batch's keys before each write) and the write mutex.
//!
//! Run: `cargo bench -p chancery-storage --bench store`.
// `criterion_group!` declares a public function that cannot carry a doc comment.
#![allow(missing_docs)]

use chancery_storage::{Column, RocksStore, Store, WriteBatch};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

const BATCH_PUTS: usize = 1_000;
const VALUE_BYTES: usize = 300;
const READ_KEYS: u64 = 1_000_000;
const READS_PER_ITER: usize = 1_000;

fn value(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut v = vec![0u8; VALUE_BYTES];
    rng.fill(&mut v[..]);
    v
}

fn writes(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RocksStore::open(dir.path().join("db")).expect("open");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut next: u64 = 0;
    let mut group = c.benchmark_group("write_batch_synced_1000x300B");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(1));
    group.bench_function("sequential_8B_keys", |b| {
        b.iter_batched(
            || {
                let mut batch = WriteBatch::new();
                for _ in 0..BATCH_PUTS {
                    batch.put(Column::Log, next.to_be_bytes(), value(&mut rng));
                    next += 1;
                }
                batch
            },
            |batch| store.write(batch).expect("write"),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("random_32B_keys", |b| {
        b.iter_batched(
            || {
                let mut batch = WriteBatch::new();
                for _ in 0..BATCH_PUTS {
                    let key: [u8; 32] = rng.gen();
                    batch.put(Column::TxIndex, key, value(&mut rng));
                }
                batch
            },
            |batch| store.write(batch).expect("write"),
            BatchSize::PerIteration,
        )
    });
    // The same load through a bare RocksDB handle (default options, no checksum, no
    // immutability check), to see what the store adds on this machine today.
    let raw_dir = tempfile::tempdir().expect("tempdir");
    let raw = rocksdb::DB::open_default(raw_dir.path()).expect("raw open");
    let mut sync = rocksdb::WriteOptions::default();
    sync.set_sync(true);
    let mut raw_next: u64 = 0;
    group.bench_function("bare_rocksdb_sequential_8B_keys", |b| {
        b.iter_batched(
            || {
                let mut batch = rocksdb::WriteBatch::default();
                for _ in 0..BATCH_PUTS {
                    batch.put(raw_next.to_be_bytes(), value(&mut rng));
                    raw_next += 1;
                }
                batch
            },
            |batch| raw.write_opt(batch, &sync).expect("raw write"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn reads(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RocksStore::open(dir.path().join("db")).expect("open");
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for chunk in 0..READ_KEYS / BATCH_PUTS as u64 {
        let mut batch = WriteBatch::new();
        for i in 0..BATCH_PUTS as u64 {
            let key = chunk * BATCH_PUTS as u64 + i;
            batch.put(Column::Log, key.to_be_bytes(), value(&mut rng));
        }
        store.write(batch).expect("load");
    }
    store.flush().expect("flush");
    let mut group = c.benchmark_group("point_reads_1M_keys");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(READS_PER_ITER as u64));
    group.bench_function("get_random", |b| {
        b.iter_batched(
            || {
                (0..READS_PER_ITER)
                    .map(|_| rng.gen_range(0..READ_KEYS).to_be_bytes())
                    .collect::<Vec<_>>()
            },
            |keys| {
                for k in &keys {
                    store.get(Column::Log, k).expect("get").expect("present");
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("multi_get_random_1000", |b| {
        b.iter_batched(
            || {
                (0..READS_PER_ITER)
                    .map(|_| rng.gen_range(0..READ_KEYS).to_be_bytes())
                    .collect::<Vec<_>>()
            },
            |keys| {
                let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
                let got = store.multi_get(Column::Log, &refs).expect("multi_get");
                assert!(got.iter().all(Option::is_some));
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, writes, reads);
criterion_main!(benches);
