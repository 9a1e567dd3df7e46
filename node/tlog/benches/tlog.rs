//! Log tree throughput through the `Store` trait: appends at 10^6 and 10^7 leaves, and
//! proof generation at 10^7 leaves.
//!
//! The store is a compact in-memory `Store` (one vector of 32-byte hashes per tree level)
//! so that 10^7 leaves (2 * 10^7 nodes) fit in about 700 MB; every node still goes through
//! `Store::write` and `Store::get` as byte vectors. Run:
//! `CARGO_TARGET_DIR=... cargo bench -p chancery-tlog --bench tlog`
// `criterion_group!` declares a public function that cannot carry a doc comment.
#![allow(missing_docs)]

use chancery_core::merkle::{self};
use chancery_core::Digest;
use chancery_storage::{Column, Store, StoreError, WriteBatch};
use chancery_tlog::LogTree;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

#[derive(Default)]
struct LevelStore {
    levels: RwLock<Vec<Vec<[u8; 32]>>>,
}

fn parse_key(key: &[u8]) -> Option<(usize, usize)> {
    if key.len() != 9 {
        return None;
    }
    let idx = u64::from_be_bytes(key[1..].try_into().ok()?);
    Some((usize::from(key[0]), usize::try_from(idx).ok()?))
}

impl Store for LevelStore {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        assert_eq!(col, Column::LogTree);
        let Some((l, i)) = parse_key(key) else {
            return Ok(None);
        };
        let levels = self.levels.read().unwrap();
        Ok(levels.get(l).and_then(|v| v.get(i)).map(|h| h.to_vec()))
    }
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut levels = self.levels.write().unwrap();
        for (col, k, v) in batch.puts {
            assert_eq!(col, Column::LogTree);
            let (l, i) = parse_key(&k).expect("node key");
            while levels.len() <= l {
                levels.push(Vec::new());
            }
            // Appends arrive in index order per level.
            assert_eq!(levels[l].len(), i, "append-only");
            levels[l].push(v.as_slice().try_into().expect("32 bytes"));
        }
        Ok(())
    }
    fn scan(
        &self,
        _col: Column,
        _start: &[u8],
        _end: Option<&[u8]>,
        _reverse: bool,
        _limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        // Only `open` scans, for the last leaf; benches start from an empty store.
        let levels = self.levels.read().unwrap();
        Ok(match levels.first().and_then(|l| l.len().checked_sub(1)) {
            Some(i) => vec![(
                chancery_tlog::node_key(0, i as u64).to_vec(),
                levels[0][i].to_vec(),
            )],
            None => Vec::new(),
        })
    }
}

const BLOCK: u64 = 1000;

fn grow(t: &mut LogTree<LevelStore>, store: &LevelStore, to: u64) {
    while t.size() < to {
        let start = t.size();
        let end = (start + BLOCK).min(to);
        let leaves: Vec<Digest> = (start..end)
            .map(|i| merkle::leaf_hash(&i.to_le_bytes()))
            .collect();
        let puts = t.append(&leaves).unwrap();
        store.write(WriteBatch { puts }).unwrap();
    }
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn benches(c: &mut Criterion) {
    let store = Arc::new(LevelStore::default());
    let mut t = LogTree::open(store.clone()).unwrap();
    let mut g = c.benchmark_group("tlog");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    for target in [1_000_000u64, 10_000_000] {
        grow(&mut t, &store, target);
        // Pre-hashed leaves: the figure is tree work + store writes, not leaf hashing.
        let leaves: Vec<Digest> = (0..BLOCK)
            .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
            .collect();
        g.throughput(Throughput::Elements(BLOCK));
        g.bench_function(BenchmarkId::new("append_block_of_1000_at", target), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let puts = t.append(&leaves).unwrap();
                    store.write(WriteBatch { puts }).unwrap();
                }
                start.elapsed()
            })
        });
    }
    let n = t.size();
    g.throughput(Throughput::Elements(1));
    let mut x = 0x9e3779b97f4a7c15u64;
    g.bench_function(BenchmarkId::new("inclusion_proof_at", n), |b| {
        b.iter(|| {
            let i = xorshift(&mut x) % n;
            t.inclusion_proof(i, n).unwrap()
        })
    });
    g.bench_function(BenchmarkId::new("inclusion_proof_past_size_at", n), |b| {
        b.iter(|| {
            let size = 1 + xorshift(&mut x) % n;
            let i = xorshift(&mut x) % size;
            t.inclusion_proof(i, size).unwrap()
        })
    });
    g.bench_function(BenchmarkId::new("consistency_proof_at", n), |b| {
        b.iter(|| {
            let size1 = 1 + xorshift(&mut x) % n;
            t.consistency_proof(size1, n).unwrap()
        })
    });
    g.bench_function(BenchmarkId::new("root_at_past_size", n), |b| {
        b.iter(|| t.root_at(1 + xorshift(&mut x) % n).unwrap())
    });
    g.finish();
}

criterion_group!(tlog, benches);
criterion_main!(tlog);
