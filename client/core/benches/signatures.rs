//! Ed25519 verification throughput: one by one, and batches of 1,024 signatures by 16
//! signers and by 1,024 signers (keys taken from a warm `KeyCache`, as a node does).
//! Run: `CARGO_TARGET_DIR=... cargo bench -p chancery-core --bench signatures`
//! Figures: docs/consensus.md, "Signature acceptance rule".
// `criterion_group!` declares a public function that cannot carry a doc comment.
#![allow(missing_docs)]

use chancery_core::crypto::{self, BatchItem, KeyCache, SecretKey};
use chancery_core::domain;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;

const BATCH: usize = 1024;

/// `BATCH` signed messages by `signers` keys, round robin.
fn signed(signers: usize) -> (Vec<SecretKey>, Vec<Vec<u8>>) {
    let keys: Vec<SecretKey> = (0..signers)
        .map(|i| {
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            SecretKey::from_seed(seed)
        })
        .collect();
    let bodies: Vec<Vec<u8>> = (0..BATCH)
        .map(|i| {
            let mut b = vec![0u8; 200];
            b[..8].copy_from_slice(&(i as u64).to_le_bytes());
            b
        })
        .collect();
    (keys, bodies)
}

fn verification(c: &mut Criterion) {
    let mut g = c.benchmark_group("ed25519_verify");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(BATCH as u64));

    // One by one: 1,024 signatures by 1,024 signers.
    let (keys, bodies) = signed(BATCH);
    let sigs: Vec<_> = (0..BATCH)
        .map(|i| keys[i].sign(domain::TX_SIGN, &bodies[i]))
        .collect();
    let publics: Vec<_> = keys.iter().map(SecretKey::public).collect();
    g.bench_function(BenchmarkId::new("single", BATCH), |b| {
        b.iter(|| {
            for i in 0..BATCH {
                crypto::verify(&publics[i], domain::TX_SIGN, &bodies[i], &sigs[i])
                    .expect("valid signature");
            }
        })
    });

    for signers in [16usize, BATCH] {
        let (keys, bodies) = signed(signers);
        let messages: Vec<Vec<u8>> = bodies
            .iter()
            .map(|b| domain::TX_SIGN.signing_bytes(b))
            .collect();
        let items: Vec<BatchItem<'_>> = (0..BATCH)
            .map(|i| BatchItem {
                key: keys[i % signers].public(),
                message: &messages[i],
                signature: keys[i % signers].sign(domain::TX_SIGN, &bodies[i]),
            })
            .collect();
        let mut cache = KeyCache::new(4 * BATCH);
        crypto::verify_batch_cached(&items, &mut cache).expect("valid batch");
        g.bench_function(
            BenchmarkId::new(format!("batch_by_{signers}_signers"), BATCH),
            |b| b.iter(|| crypto::verify_batch_cached(&items, &mut cache).expect("valid batch")),
        );
    }
    g.finish();
}

criterion_group!(benches, verification);
criterion_main!(benches);
