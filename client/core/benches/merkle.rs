//! Proof verification and receipt verification speed.
//! Run: `CARGO_TARGET_DIR=... cargo bench -p chancery-core --bench merkle`
// `criterion_group!` declares a public function that cannot carry a doc comment.
#![allow(missing_docs)]

use chancery_core::block::{self, BlockHeader, LogEntry, Outcome};
use chancery_core::cert::{Certificate, IndexedSignature, VoteBody, VoteKind};
use chancery_core::checkpoint::Checkpoint;
use chancery_core::crypto::SecretKey;
use chancery_core::genesis::{Agency, ChainParams, Genesis};
use chancery_core::merkle::{self, Blake3Hasher};
use chancery_core::receipt::{self, Receipt};
use chancery_core::record::{AnchorDocument, DocumentRef, Record, RecordRef};
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::validator::{Validator, ValidatorSet};
use chancery_core::{codec, AgencyId, Digest, Epoch, Height, Seq, TimestampMs, View};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const N: u64 = 10_000_000;

fn proofs(c: &mut Criterion) {
    // A tree of 10^7 leaves in memory; one inclusion and one consistency proof from it.
    let leaves: Vec<Digest> = (0..N)
        .map(|i| merkle::leaf_hash(chancery_core::suite::Suite::default(), &i.to_le_bytes()))
        .collect();
    let root = merkle::root(chancery_core::suite::Suite::default(), &leaves);
    let index = 7_654_321u64;
    let ip = merkle::inclusion_proof_with(&Blake3Hasher, &leaves, index).unwrap();
    let size1 = 6_543_210u64;
    let cp = merkle::consistency_proof_with(&Blake3Hasher, &leaves, size1).unwrap();
    let root1 = merkle::root(
        chancery_core::suite::Suite::default(),
        &leaves[..size1 as usize],
    );
    let mut g = c.benchmark_group("merkle_verify");
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::new("inclusion_at", N), |b| {
        b.iter(|| {
            merkle::verify_inclusion(
                chancery_core::suite::Suite::default(),
                index,
                N,
                &leaves[index as usize],
                &ip,
                &root,
            )
            .unwrap()
        })
    });
    g.bench_function(BenchmarkId::new("consistency_at", N), |b| {
        b.iter(|| {
            merkle::verify_consistency(
                chancery_core::suite::Suite::default(),
                size1,
                N,
                &cp,
                &root1,
                &root,
            )
            .unwrap()
        })
    });
    g.finish();
}

fn sample(n: usize) -> (Genesis, Receipt) {
    let keys: Vec<SecretKey> = (0..n)
        .map(|i| SecretKey::from_seed([i as u8 + 1; 32]))
        .collect();
    let member = SecretKey::from_seed([250; 32]);
    let genesis = Genesis {
        chain_name: "bench".into(),
        genesis_time: TimestampMs(0),
        agencies: vec![Agency {
            id: AgencyId("mof".into()),
            name_zh: "财政部".into(),
            name_en: "Ministry of Finance".into(),
            admin_keys: vec![member.public()],
        }],
        members: vec![],
        validators: ValidatorSet {
            epoch: Epoch(0),
            start_height: Height(1),
            validators: keys
                .iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    name: format!("v{i}"),
                    agency: AgencyId("mof".into()),
                    consensus_key: k.public(),
                    network_key: chancery_core::NetworkKey::from_seed([100 + i as u8; 32]),
                    power: 1,
                })
                .collect(),
        },
        params: ChainParams::default(),
        crypto: Default::default(),
        procurement_limits: Default::default(),
    };
    let chain_id = genesis.chain_id();
    let entries: Vec<LogEntry> = (0..1000u64)
        .map(|i| LogEntry {
            height: Height(1),
            time: TimestampMs(1),
            tx: Transaction::sign(
                TxBody {
                    chain_id,
                    signer: member.public(),
                    seq: Seq(i),
                    record: Record::AnchorDocument(AnchorDocument {
                        document: DocumentRef {
                            hash: Digest([i as u8; 32]),
                            kind: "approval".into(),
                            title: "Approval".into(),
                            url: String::new(),
                        },
                        supports: RecordRef::None,
                    }),
                },
                &member,
            ),
            outcome: Outcome::Applied,
        })
        .collect();
    let leaves: Vec<Digest> = entries
        .iter()
        .map(|e| merkle::leaf_hash(chancery_core::suite::Suite::default(), &codec::encode(e)))
        .collect();
    let header = BlockHeader {
        chain_id,
        epoch: Epoch(0),
        height: Height(1),
        view: View(1),
        parent: Digest::ZERO,
        proposer: 0,
        time: TimestampMs(1),
        txs_hash: block::txs_hash(
            chancery_core::suite::Suite::default(),
            entries.iter().map(|e| e.tx.hash()),
        ),
        tx_count: 1000,
        log_size: 1000,
        log_root: merkle::root(chancery_core::suite::Suite::default(), &leaves),
        state_root: Digest([9; 32]),
        validator_set: genesis.validators.hash(),
        next_validator_set: chancery_core::Digest::ZERO,
    };
    let body = VoteBody {
        chain_id,
        epoch: Epoch(0),
        view: View(1),
        kind: VoteKind::Finalize,
        block: header.hash(chancery_core::suite::Suite::default()),
    };
    let quorum = genesis.validators.quorum_power() as usize;
    let certificate = Certificate {
        kind: VoteKind::Finalize,
        epoch: Epoch(0),
        view: View(1),
        block: header.hash(chancery_core::suite::Suite::default()),
        signatures: (0..quorum)
            .map(|i| IndexedSignature {
                index: i as u16,
                signature: body.sign(&keys[i]),
            })
            .collect(),
    };
    let proof = merkle::inclusion_proof_with(&Blake3Hasher, &leaves, 617).unwrap();
    let r = Receipt::new(
        &entries[617],
        617,
        &proof,
        &Checkpoint {
            header,
            certificate,
        },
    );
    (genesis, r)
}

fn receipts(c: &mut Criterion) {
    let mut g = c.benchmark_group("receipt_verify");
    for n in [4usize, 31] {
        let (genesis, r) = sample(n);
        receipt::verify(&r, &genesis).unwrap();
        g.bench_function(BenchmarkId::new("validators", n), |b| {
            b.iter(|| receipt::verify(&r, &genesis).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, proofs, receipts);
criterion_main!(benches);
