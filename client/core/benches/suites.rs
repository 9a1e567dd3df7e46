//! The two crypto suites side by side (issue 21), per core: signing and verifying one
//! 200-byte transaction body (Ed25519 one by one, as SM2 has no batch verification; SM2
//! both with its key prepared once, `Z_A` included, as the node's key cache holds it, and
//! from the bare key), hashing under a tag (BLAKE3 in key-derivation mode against SM3 with
//! the tag prefix) at 1 KiB and 1 MiB, and verifying the pinned receipt of each suite's
//! fixture chain (tests/fixtures/<suite>: three votes, a 7-leaf log).
//! Run: `CARGO_TARGET_DIR=... cargo bench -p chancery-core --bench suites`
//! Figures: docs/crypto.md, "Throughput".
// `criterion_group!` declares a public function that cannot carry a doc comment.
#![allow(missing_docs)]

use chancery_core::crypto::{self, SecretKey};
use chancery_core::domain;
use chancery_core::genesis::Genesis;
use chancery_core::receipt::{self, Receipt};
use chancery_core::sm::{self, Sm2SecretKey};
use chancery_core::suite::Suite;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;

fn body() -> Vec<u8> {
    (0..200u8).collect()
}

fn signatures(c: &mut Criterion) {
    let mut g = c.benchmark_group("signature");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    let body = body();
    let ed = SecretKey::from_seed([7; 32]);
    let ed_pub = ed.public();
    let ed_sig = ed.sign(domain::TX_SIGN, &body);
    g.bench_function("ed25519_sign", |b| {
        b.iter(|| ed.sign(domain::TX_SIGN, &body))
    });
    g.bench_function("ed25519_verify", |b| {
        b.iter(|| crypto::verify(&ed_pub, domain::TX_SIGN, &body, &ed_sig).expect("valid"))
    });
    let sm_key = Sm2SecretKey::from_bytes([7; 32]).expect("a scalar in range");
    let sm_pub = sm_key.public();
    let msg = domain::TX_SIGN.signing_bytes(&body);
    let sm_sig = sm_key.sign(&msg).expect("signs");
    g.bench_function("sm2_sign", |b| b.iter(|| sm_key.sign(&msg).expect("signs")));
    g.bench_function("sm2_verify", |b| {
        b.iter(|| sm::verify(&sm_pub, &msg, &sm_sig).expect("valid"))
    });
    let prepared = sm::Sm2Verifier::new(&sm_pub).expect("a valid key");
    g.bench_function("sm2_verify_prepared", |b| {
        b.iter(|| prepared.verify(&msg, &sm_sig).expect("valid"))
    });
    g.finish();
}

fn hashes(c: &mut Criterion) {
    let mut g = c.benchmark_group("tagged_hash");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for size in [1024usize, 1 << 20] {
        let data = vec![0xa5u8; size];
        g.throughput(Throughput::Bytes(size as u64));
        for suite in Suite::ALL {
            g.bench_with_input(BenchmarkId::new(suite.name(), size), &data, |b, d| {
                b.iter(|| suite.hash(domain::LOG_LEAF, d))
            });
        }
    }
    g.finish();
}

fn receipts(c: &mut Criterion) {
    let mut g = c.benchmark_group("receipt_verify");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    for suite in Suite::ALL {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(suite.name());
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("a fixture");
        let genesis: Genesis = serde_json::from_str(&read("genesis.json")).expect("genesis");
        let r: Receipt = serde_json::from_str(&read("receipt.json")).expect("receipt");
        g.bench_function(suite.name(), |b| {
            b.iter(|| receipt::verify(&r, &genesis).expect("verifies"))
        });
    }
    g.finish();
}

criterion_group!(benches, signatures, hashes, receipts);
criterion_main!(benches);
