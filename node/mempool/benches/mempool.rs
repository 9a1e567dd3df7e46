//! Admission throughput (batched vs single verification) and selection time.
//!
//! `CARGO_TARGET_DIR=... cargo bench -p chancery-mempool --bench mempool`
// `criterion_group!` declares a public function that cannot carry a doc comment.
#![allow(missing_docs)]

use chancery_core::crypto::SecretKey;
use chancery_core::record::{AnchorDocument, DocumentRef, Record, RecordRef, Role};
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::{AgencyId, ChainId, Digest, PublicKey, Seq, TimestampMs};
use chancery_mempool::{AdmissionView, BlockLimits, MemberInfo, Mempool, MempoolConfig, Origin};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::collections::BTreeMap;
use std::hint::black_box;

const CHAIN: ChainId = Digest([7u8; 32]);

#[derive(Default)]
struct View {
    members: BTreeMap<PublicKey, MemberInfo>,
}

impl AdmissionView for View {
    fn member(&self, key: &PublicKey) -> Option<MemberInfo> {
        self.members.get(key).cloned()
    }
    fn next_seq(&self, _key: &PublicKey) -> Seq {
        Seq(0)
    }
}

/// `agencies * signers` keys, each signing `per_signer` anchors (about 200 bytes each).
fn workload(agencies: u16, signers: u16, per_signer: u64) -> (View, Vec<Transaction>) {
    let mut view = View::default();
    let mut txs = Vec::new();
    for a in 0..agencies {
        for s in 0..signers {
            let mut seed = [0u8; 32];
            seed[..2].copy_from_slice(&a.to_le_bytes());
            seed[2..4].copy_from_slice(&s.to_le_bytes());
            let key = SecretKey::from_seed(seed);
            view.members.insert(
                key.public(),
                MemberInfo {
                    agency: AgencyId(format!("agency-{a}")),
                    roles: vec![Role::Archivist],
                    revoked: false,
                },
            );
            for seq in 0..per_signer {
                let mut h = [0u8; 32];
                h[..8].copy_from_slice(&seq.to_le_bytes());
                let record = Record::AnchorDocument(AnchorDocument {
                    document: DocumentRef {
                        hash: Digest(h),
                        kind: "approval".into(),
                        title: "minutes of the board".into(),
                        url: "https://docs.example.gov/a/b/c".into(),
                    },
                    supports: RecordRef::None,
                });
                let body = TxBody {
                    chain_id: CHAIN,
                    signer: key.public(),
                    seq: Seq(seq),
                    record,
                };
                txs.push(Transaction::sign(body, &key));
            }
        }
    }
    (view, txs)
}

fn big_config() -> MempoolConfig {
    MempoolConfig {
        txs_max: 100_000,
        agency_txs_max: 100_000,
        // The backlog bound off: 100,000 are admitted at once to measure selection.
        backlog_txs_min: 100_000,
        ..MempoolConfig::default()
    }
}

fn admission(c: &mut Criterion) {
    // 1,024 transactions from 8 agencies x 4 signers x 32.
    let (view, txs) = workload(8, 4, 32);
    let mut g = c.benchmark_group("admit");
    g.sample_size(20);
    g.warm_up_time(std::time::Duration::from_secs(1));
    for batch in [256usize, 1024] {
        g.throughput(Throughput::Elements(txs.len() as u64));
        g.bench_function(format!("insert_batch/{batch}"), |b| {
            b.iter_batched(
                || {
                    let config = MempoolConfig {
                        verify_batch_txs_max: batch,
                        ..big_config()
                    };
                    (Mempool::new(CHAIN, config).unwrap(), txs.clone())
                },
                |(mut pool, txs)| {
                    let r = pool.insert_batch(txs, Origin::Local, TimestampMs(0), &view);
                    assert!(r.iter().all(Result::is_ok));
                    black_box(pool)
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.bench_function("insert/single", |b| {
        b.iter_batched(
            || (Mempool::new(CHAIN, big_config()).unwrap(), txs.clone()),
            |(mut pool, txs)| {
                for t in txs {
                    pool.insert(t, Origin::Local, TimestampMs(0), &view)
                        .unwrap();
                }
                black_box(pool)
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn selection(c: &mut Criterion) {
    // 100,000 pending: 20 agencies x 50 signers x 100.
    let (view, txs) = workload(20, 50, 100);
    let mut pool = Mempool::new(CHAIN, big_config()).unwrap();
    let r = pool.insert_batch(txs, Origin::Local, TimestampMs(0), &view);
    assert!(r.iter().all(Result::is_ok));
    assert_eq!(pool.len(), 100_000);
    let limits = BlockLimits {
        txs_max: 10_000,
        ..BlockLimits::default()
    };
    let mut g = c.benchmark_group("select");
    g.sample_size(20);
    g.warm_up_time(std::time::Duration::from_secs(1));
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("10k_of_100k", |b| {
        b.iter(|| {
            let sel = pool.select(&limits, &view);
            assert_eq!(sel.len(), 10_000);
            black_box(sel)
        })
    });
    g.finish();
}

criterion_group!(benches, admission, selection);
criterion_main!(benches);
