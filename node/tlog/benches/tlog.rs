//! Log tree throughput through the `Store` trait: puts and bytes per entry by block size
//! (printed first), appends at 10^6 and 10^7 leaves, and proof generation at 10^6 and
//! 10^7 leaves: from a tree kept open, as the ledger serves a receipt without a shared
//! cache (a fresh `TileReader` per request, so no tile cache carries over), and with
//! one `TileCache` shared by the per-request readers (what `proofs.rs` does).
//!
//! The store is `chancery_storage::MemStore`, the in-memory store every test uses: every
//! tile goes through `Store::write` (limits, checksum) and `Store::get` (checksum check)
//! as byte vectors. 10^7 leaves take about 40,000 level-0 tiles (320 MB of hashes). Run:
//! `cargo bench -p chancery-tlog --bench tlog`
// `criterion_group!` declares a public function that cannot carry a doc comment.
#![allow(missing_docs)]

use chancery_core::merkle::{self, Blake3Hasher};
use chancery_core::Digest;
use chancery_storage::{MemStore, Store, WriteBatch};
use chancery_tlog::{LogTree, TileCache, TileReader};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BLOCK: u64 = 1000;

fn grow(t: &mut LogTree<MemStore>, store: &MemStore, to: u64) {
    while t.size() < to {
        let start = t.size();
        let end = (start + BLOCK).min(to);
        let leaves: Vec<Digest> = (start..end)
            .map(|i| merkle::leaf_hash(chancery_core::suite::Suite::default(), &i.to_le_bytes()))
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

/// Puts and bytes written per entry when blocks of `block` entries are appended, averaged
/// over 100,000 entries from an empty tree.
fn write_cost(block: u64) -> (f64, f64) {
    let store = Arc::new(MemStore::new());
    let mut t = LogTree::open(store.clone()).unwrap();
    let (mut puts, mut bytes) = (0usize, 0usize);
    let total = 100_000u64;
    while t.size() < total {
        let start = t.size();
        let leaves: Vec<Digest> = (start..(start + block).min(total))
            .map(|i| merkle::leaf_hash(chancery_core::suite::Suite::default(), &i.to_le_bytes()))
            .collect();
        let p = t.append(&leaves).unwrap();
        puts += p.len();
        bytes += p.iter().map(|(_, k, v)| k.len() + v.len()).sum::<usize>();
        store.write(WriteBatch { puts: p }).unwrap();
    }
    (puts as f64 / total as f64, bytes as f64 / total as f64)
}

fn benches(c: &mut Criterion) {
    for block in [1u64, 10, 100, 1000, 10_000] {
        let (p, b) = write_cost(block);
        println!(
            "write cost, blocks of {block:>6} entries: {p:.3} puts and {b:.1} bytes per entry"
        );
    }
    let store = Arc::new(MemStore::new());
    let mut t = LogTree::open(store.clone()).unwrap();
    let mut g = c.benchmark_group("tlog");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    for target in [1_000_000u64, 10_000_000] {
        grow(&mut t, &store, target);
        // Proofs at exactly `target` leaves.
        let n = t.size();
        g.throughput(Throughput::Elements(1));
        let mut x = 0x2545_f491_4f6c_dd1du64;
        g.bench_function(BenchmarkId::new("inclusion_proof_at", n), |b| {
            b.iter(|| {
                let i = xorshift(&mut x) % n;
                t.inclusion_proof(i, n).unwrap()
            })
        });
        // As `Ledger::inclusion_proof` (receipts) does it: a fresh reader per request.
        g.bench_function(BenchmarkId::new("ledger_proof_fresh_reader_at", n), |b| {
            b.iter(|| {
                let i = xorshift(&mut x) % n;
                let r = TileReader::new(store.clone(), Blake3Hasher, n);
                r.inclusion_proof(i, n).unwrap()
            })
        });
        // A fresh reader per request sharing one tile cache (what a long-lived ledger
        // can keep).
        let cache = Arc::new(TileCache::default());
        g.bench_function(BenchmarkId::new("ledger_proof_shared_cache_at", n), |b| {
            b.iter(|| {
                let i = xorshift(&mut x) % n;
                let r = TileReader::with_cache(store.clone(), Blake3Hasher, n, cache.clone());
                r.inclusion_proof(i, n).unwrap()
            })
        });
    }
    let n = t.size();
    g.throughput(Throughput::Elements(1));
    let mut x = 0x9e3779b97f4a7c15u64;
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
    // Appends: a second tree at 10^6, then this one (at 10^7); criterion's iterations grow
    // each tree past its target while it measures.
    let small_store = Arc::new(MemStore::new());
    let mut small = LogTree::open(small_store.clone()).unwrap();
    grow(&mut small, &small_store, 1_000_000);
    // Pre-hashed leaves: the figure is tree work + store writes, not leaf hashing.
    let leaves: Vec<Digest> = (0..BLOCK)
        .map(|i| merkle::leaf_hash(chancery_core::suite::Suite::default(), &i.to_be_bytes()))
        .collect();
    g.throughput(Throughput::Elements(BLOCK));
    for (target, tree, store) in [
        (1_000_000u64, &mut small, &small_store),
        (10_000_000, &mut t, &store),
    ] {
        g.bench_function(BenchmarkId::new("append_block_of_1000_at", target), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let puts = tree.append(&leaves).unwrap();
                    store.write(WriteBatch { puts }).unwrap();
                }
                start.elapsed()
            })
        });
    }
    g.finish();
}

criterion_group!(tlog, benches);
criterion_main!(tlog);
