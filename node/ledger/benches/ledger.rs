//! Ledger throughput, footprint and state proofs.
//!
//! `cargo bench -p chancery-ledger --bench ledger` runs:
//! - `apply/<kind>/<n>`: execute + apply one block of `n` transactions of one record kind
//!   (signatures verified beforehand, as at admission; one store write per block);
//! - `apply/mixed/10000`: the same for a block of 10,000 transactions of ten kinds
//!   interleaved (1,000 each), the issue-16 figure; it prints the synced puts per
//!   transaction of the block's batch;
//! - `proof/generate` and `proof/verify` over a state of `PROOF_ASSETS` assets;
//! - before them, a footprint report: bytes stored per record after `FOOTPRINT_RECORDS`
//!   records (default 100,000), against the raw canonical transaction bytes.
//!
//! `LEDGER_INDEX=1 cargo bench -p chancery-ledger --bench ledger` instead runs the indexer
//! case ([`index_bench`]): the synced puts per transaction of the block batches and the
//! indexer's throughput on a mixed workload, 3 rounds and their median.
//!
//! The store is `RocksStore` (synced write per block) in a temporary directory, or the
//! in-memory `MemStore` with `LEDGER_BENCH_STORE=mem`.
// `criterion_group!` declares a public function that cannot carry a doc comment.
#![allow(missing_docs)]

use chancery_core::block::{Block, Outcome};
use chancery_core::crypto::SecretKey;
use chancery_core::record::*;
use chancery_core::state::{verify_state_proof, StateKey};
use chancery_core::tx::Transaction;
use chancery_core::{AgencyId, Amount, Currency, Date, Digest, PublicKey, TimestampMs};
use chancery_ledger::testing::fixture::{named_key, Fixture};
use chancery_ledger::{verify_block_txs, CheckedTx, Ledger};
use chancery_storage::{Column, MemStore, Store};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ag(s: &str) -> AgencyId {
    AgencyId(s.into())
}
fn d(m: u8) -> Date {
    Date::new(2026, m, 1).unwrap_or(Date {
        year: 2026,
        month: 1,
        day: 1,
    })
}
fn cny(minor: u64) -> Amount {
    Amount {
        minor,
        currency: Currency::CNY,
    }
}

fn register(id: &str) -> Record {
    Record::RegisterAsset(RegisterAsset {
        asset_id: id.into(),
        category: "A02010104".into(),
        name: "Laptop".into(),
        spec_model: "X1 Carbon".into(),
        quantity: 1,
        unit: "台".into(),
        acquisition_method: AcquisitionMethod::Purchase,
        acquisition_date: d(1),
        original_value: cny(800_000),
        funding_source: FundingSource::FiscalAppropriation,
        custodian: ag("mof"),
        location: Restricted::Sealed(Digest([7; 32])),
        documents: vec![],
    })
}

fn award(id: &str) -> Record {
    Record::AwardProcurement(AwardProcurement {
        ocid: "ocds-bench".into(),
        award_id: id.into(),
        project_number: "P-1".into(),
        title: "Servers".into(),
        description: "Rack servers for the data centre".into(),
        purchaser: ag("mof"),
        method: ProcurementMethod::Open,
        method_details: "公开招标".into(),
        suppliers: vec![Supplier {
            name: "Supplier Co".into(),
            credit_code: "91110000100000000A".into(),
        }],
        value: cny(1_000_000),
        award_date: d(3),
        status: AwardStatus::Active,
        items: vec![],
        documents: vec![],
    })
}

fn grant(id: &str) -> Record {
    Record::GrantDataAccess(GrantDataAccess {
        grant_id: id.into(),
        dataset_id: "ds-bench".into(),
        grantor: ag("mof"),
        grantee: ag("moe"),
        actions: vec![Action::Read],
        purpose: "statistics".into(),
        condition: SharingCondition::Conditional,
        valid_from: d(1),
        valid_until: d(12),
        constraints: Restricted::Sealed(Digest([3; 32])),
    })
}

/// The records of one kind: what must exist first, then the measured ones.
type Signed = Vec<(Role, Record)>;

fn records(kind: RecordKind, tag: &str, n: usize) -> (Signed, Signed) {
    use RecordKind::*;
    use Role::*;
    let ids: Vec<String> = (0..n).map(|i| format!("{tag}-{i}")).collect();
    let member = |i: usize| named_key(&format!("member-{tag}-{i}")).public();
    match kind {
        RegisterAsset => (
            vec![],
            ids.iter().map(|i| (AssetOfficer, register(i))).collect(),
        ),
        TransferAsset | DisposeAsset => (
            ids.iter().map(|i| (AssetOfficer, register(i))).collect(),
            ids.iter()
                .map(|i| {
                    let r = if kind == TransferAsset {
                        Record::TransferAsset(chancery_core::record::TransferAsset {
                            asset_id: i.clone(),
                            from: ag("mof"),
                            to: ag("moe"),
                            kind: TransferKind::Allocation,
                            approval_document: Digest([1; 32]),
                            effective_date: d(2),
                        })
                    } else {
                        Record::DisposeAsset(chancery_core::record::DisposeAsset {
                            asset_id: i.clone(),
                            method: DisposalMethod::Scrapping,
                            approval_document: Digest([2; 32]),
                            date: d(3),
                            proceeds: None,
                            counterparty: None,
                        })
                    };
                    (AssetOfficer, r)
                })
                .collect(),
        ),
        AwardProcurement => (
            vec![],
            ids.iter().map(|i| (ProcurementOfficer, award(i))).collect(),
        ),
        AmendAward | CancelAward => (
            ids.iter().map(|i| (ProcurementOfficer, award(i))).collect(),
            ids.iter()
                .map(|i| {
                    let r = if kind == AmendAward {
                        Record::AmendAward(chancery_core::record::AmendAward {
                            ocid: "ocds-bench".into(),
                            award_id: i.clone(),
                            rationale: "price".into(),
                            date: d(4),
                            value: Some(cny(900_000)),
                            suppliers: None,
                            items: None,
                            status: None,
                            documents: vec![],
                        })
                    } else {
                        Record::CancelAward(chancery_core::record::CancelAward {
                            ocid: "ocds-bench".into(),
                            award_id: i.clone(),
                            reason: "withdrawn".into(),
                            date: d(4),
                        })
                    };
                    (ProcurementOfficer, r)
                })
                .collect(),
        ),
        GrantDataAccess => (
            vec![],
            ids.iter().map(|i| (DataSteward, grant(i))).collect(),
        ),
        RevokeGrant => (
            ids.iter().map(|i| (DataSteward, grant(i))).collect(),
            ids.iter()
                .map(|i| {
                    (
                        DataSteward,
                        Record::RevokeGrant(chancery_core::record::RevokeGrant {
                            grant_id: i.clone(),
                            reason: "ended".into(),
                        }),
                    )
                })
                .collect(),
        ),
        AnchorDocument => (
            vec![],
            ids.iter()
                .map(|i| {
                    (
                        Archivist,
                        Record::AnchorDocument(chancery_core::record::AnchorDocument {
                            document: DocumentRef {
                                hash: chancery_core::domain::DOCUMENT_HASH.hash(i.as_bytes()),
                                kind: "invoice".into(),
                                title: "Invoice".into(),
                                url: String::new(),
                            },
                            supports: RecordRef::None,
                        }),
                    )
                })
                .collect(),
        ),
        RegisterMember | RevokeMember => {
            let reg: Vec<(Role, Record)> = (0..n)
                .map(|i| {
                    (
                        Admin,
                        Record::RegisterMember(chancery_core::record::RegisterMember {
                            agency: ag("mof"),
                            key: member(i),
                            name: "clerk".into(),
                            roles: vec![AssetOfficer],
                        }),
                    )
                })
                .collect();
            if kind == RegisterMember {
                (vec![], reg)
            } else {
                let rev = (0..n)
                    .map(|i| {
                        (
                            Admin,
                            Record::RevokeMember(chancery_core::record::RevokeMember {
                                agency: ag("mof"),
                                key: member(i),
                                reason: "left".into(),
                            }),
                        )
                    })
                    .collect();
                (reg, rev)
            }
        }
        PublishTender | CloseTender => {
            use chancery_ledger::testing::process as p;
            let tenders: Signed = ids
                .iter()
                .map(|i| {
                    (
                        ProcurementOfficer,
                        p::tender(i, "mof", ProcurementMethod::Open, 5_000_000),
                    )
                })
                .collect();
            if kind == PublishTender {
                (vec![], tenders)
            } else {
                let closes = ids
                    .iter()
                    .map(|i| (ProcurementOfficer, p::close(i, p::day(3, 22))))
                    .collect();
                (tenders, closes)
            }
        }
        SignContract | AmendContract | RecordImplementation | TerminateContract => {
            use chancery_ledger::testing::process as p;
            let awards: Signed = ids.iter().map(|i| (ProcurementOfficer, award(i))).collect();
            let contract = |i: &String| p::contract("ocds-bench", i, i, 10_000, p::day(4, 1));
            let contracts: Signed = ids
                .iter()
                .map(|i| (ProcurementOfficer, contract(i)))
                .collect();
            if kind == SignContract {
                (awards, contracts)
            } else {
                let step = |i: &String| match kind {
                    AmendContract => p::amend("ocds-bench", i, 9_000, p::day(5, 1)),
                    RecordImplementation => p::step(
                        "ocds-bench",
                        i,
                        ImplementationKind::Payment,
                        Some(5_000),
                        p::day(5, 1),
                    ),
                    _ => p::terminate("ocds-bench", i, p::day(5, 1)),
                };
                let before = awards.into_iter().chain(contracts).collect();
                (
                    before,
                    ids.iter().map(|i| (ProcurementOfficer, step(i))).collect(),
                )
            }
        }
        ProposeChange | Vote => {
            let propose = |i: usize, id: &String| {
                (
                    Admin,
                    Record::ProposeChange(chancery_core::record::ProposeChange {
                        proposal_id: id.clone(),
                        changes: vec![chancery_core::governance::Change::RotateValidatorKeys {
                            name: "v0".into(),
                            consensus_key: Some(member(i)),
                            network_key: None,
                        }],
                        deadline: TimestampMs(u64::MAX),
                        reason: Digest([4; 32]),
                    }),
                )
            };
            let proposals: Signed = ids
                .iter()
                .enumerate()
                .map(|(i, id)| propose(i, id))
                .collect();
            if kind == ProposeChange {
                (vec![], proposals)
            } else {
                // One rejection of three agencies decides each proposal (failed).
                let votes = ids
                    .iter()
                    .map(|id| {
                        (
                            Admin,
                            Record::Vote(chancery_core::record::Vote {
                                proposal_id: id.clone(),
                                approve: false,
                            }),
                        )
                    })
                    .collect();
                (proposals, votes)
            }
        }
    }
}

struct Bench {
    fx: Fixture,
    ledger: Ledger,
    store: Arc<dyn Store>,
    seqs: HashMap<PublicKey, u64>,
    _dir: Option<tempfile::TempDir>,
}

impl Bench {
    fn new() -> Bench {
        let fx = Fixture::new();
        let (store, dir) = open_store();
        let ledger = Ledger::open(store.clone(), &fx.genesis).unwrap_or_else(|e| panic!("{e}"));
        Bench {
            fx,
            ledger,
            store,
            seqs: HashMap::new(),
            _dir: dir,
        }
    }

    fn sign(&mut self, recs: &[(Role, Record)]) -> Vec<CheckedTx> {
        let txs: Vec<Transaction> = recs
            .iter()
            .map(|(role, r)| {
                let key: SecretKey = self.fx.signer("mof", *role).clone();
                let s = self.seqs.entry(key.public()).or_insert(0);
                *s += 1;
                self.fx.tx(&key, *s - 1, r.clone())
            })
            .collect();
        verify_block_txs(&self.ledger.chain_id(), txs, |_| None)
    }

    /// Execute and apply one block; the work a node does per finalized block.
    fn block(&self, txs: &[CheckedTx]) -> Duration {
        self.block_puts(txs).0
    }

    /// [`Bench::block`], also returning the puts of the block's synced batch.
    fn block_puts(&self, txs: &[CheckedTx]) -> (Duration, usize) {
        let tip = self.ledger.tip();
        let time = TimestampMs(tip.time.0 + 1000);
        let executions = self.ledger.executions();
        let start = Instant::now();
        let ex = self
            .ledger
            .execute(txs, time, tip.height.next())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut header = self.fx.header(tip.height.next(), tip.hash, time);
        ex.fill_header(&mut header);
        let block = Block {
            header,
            txs: txs.iter().map(|c| c.tx().clone()).collect(),
        };
        let cert = self.fx.finalize(&block);
        let applied = self
            .ledger
            .apply(&block, &cert)
            .unwrap_or_else(|e| panic!("{e}"));
        let elapsed = start.elapsed();
        assert!(applied.outcomes.iter().all(|o| *o == Outcome::Applied));
        // Execute once: applying commits the execution above, it does not redo it.
        assert_eq!(
            self.ledger.executions(),
            executions + 1,
            "block executed twice"
        );
        (elapsed, applied.puts)
    }

    fn run(&mut self, recs: &[(Role, Record)], chunk: usize) {
        for c in recs.chunks(chunk) {
            let txs = self.sign(c);
            self.block(&txs);
        }
    }
}

/// RocksDB (synced writes, a fresh temporary directory) unless `LEDGER_BENCH_STORE=mem`.
fn open_store() -> (Arc<dyn Store>, Option<tempfile::TempDir>) {
    if std::env::var("LEDGER_BENCH_STORE").as_deref() == Ok("mem") {
        return (Arc::new(MemStore::new()), None);
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = chancery_storage::RocksStore::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    (Arc::new(store), Some(dir))
}

fn apply_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("apply");
    g.sample_size(10);
    g.sampling_mode(criterion::SamplingMode::Flat);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    for n in [1_000usize, 10_000] {
        for kind in RecordKind::ALL {
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::new(kind.as_str(), n), &n, |b, &n| {
                let mut bench = Bench::new();
                let mut round = 0;
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        round += 1;
                        let (setup, measured) = records(kind, &format!("r{round}"), n);
                        bench.run(&setup, n);
                        let txs = bench.sign(&measured);
                        total += bench.block(&txs);
                    }
                    total
                });
            });
        }
    }
    g.finish();
}

/// Kinds of the mixed block, 1,000 transactions each.
const MIXED: [RecordKind; 10] = [
    RecordKind::RegisterAsset,
    RecordKind::TransferAsset,
    RecordKind::DisposeAsset,
    RecordKind::AwardProcurement,
    RecordKind::AmendAward,
    RecordKind::GrantDataAccess,
    RecordKind::RevokeGrant,
    RecordKind::AnchorDocument,
    RecordKind::RegisterMember,
    RecordKind::CancelAward,
];

/// A mixed block: the setups of every kind, then their measured records interleaved.
fn mixed(round: u64, per_kind: usize) -> (Signed, Signed) {
    let mut setup = Vec::new();
    let mut lists = Vec::new();
    for kind in MIXED {
        let (s, m) = records(kind, &format!("x{round}-{}", kind.as_str()), per_kind);
        setup.extend(s);
        lists.push(m);
    }
    let mut measured = Vec::with_capacity(per_kind * MIXED.len());
    for i in 0..per_kind {
        for l in &lists {
            if let Some(r) = l.get(i) {
                measured.push(r.clone());
            }
        }
    }
    (setup, measured)
}

fn mixed_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("apply");
    g.sample_size(10);
    g.sampling_mode(criterion::SamplingMode::Flat);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(5));
    let per_kind = 1_000;
    let n = per_kind * MIXED.len();
    g.throughput(Throughput::Elements(n as u64));
    g.bench_with_input(BenchmarkId::new("mixed", n), &n, |b, _| {
        let mut bench = Bench::new();
        let mut round = 0;
        let (mut puts, mut txs_total) = (0usize, 0usize);
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let (setup, measured) = mixed(round, per_kind);
                bench.run(&setup, n);
                let txs = bench.sign(&measured);
                let (elapsed, applied_puts) = bench.block_puts(&txs);
                total += elapsed;
                puts += applied_puts;
                txs_total += txs.len();
            }
            total
        });
        if txs_total > 0 {
            println!(
                "apply/mixed/{n}: {:.2} synced puts per transaction",
                puts as f64 / txs_total as f64
            );
        }
    });
    g.finish();
}

/// Number of assets in the state for the proof benchmarks.
const PROOF_ASSETS: usize = 100_000;

fn proof_benches(c: &mut Criterion) {
    let mut bench = Bench::new();
    let (_, regs) = records(RecordKind::RegisterAsset, "p", PROOF_ASSETS);
    bench.run(&regs, 10_000);
    let h = bench.ledger.tip().height;
    let root = bench.ledger.tip().state_root;
    let keys: Vec<StateKey> = (0..1000)
        .map(|i| StateKey::Asset(format!("p-{}", i * 97)))
        .collect();
    let proofs: Vec<_> = keys
        .iter()
        .map(|k| bench.ledger.prove(k, h).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let mut g = c.benchmark_group("proof");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("generate", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            bench.ledger.prove(&keys[i], h).map(|p| p.siblings.len())
        })
    });
    g.bench_function("verify", |b| {
        b.iter(|| {
            i = (i + 1) % proofs.len();
            verify_state_proof(chancery_core::suite::Suite::default(), &root, &proofs[i]).is_ok()
        })
    });
    g.finish();
    let avg: f64 =
        proofs.iter().map(|p| p.siblings.len() as f64).sum::<f64>() / proofs.len() as f64;
    println!("proof: {PROOF_ASSETS} assets, average {avg:.1} siblings per proof");
}

fn footprint() {
    let n: usize = std::env::var("FOOTPRINT_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let fx = Fixture::new();
    let store = Arc::new(MemStore::new());
    // FOOTPRINT_STORE=rocks also measures the bytes RocksDB keeps on disk.
    let rocks = std::env::var("FOOTPRINT_STORE").is_ok_and(|s| s == "rocks");
    // FOOTPRINT_DIR=PATH keeps the database as a node data directory (PATH/db, with
    // PATH/genesis.json), for measuring the API and the explorer over a large ledger.
    let keep = std::env::var_os("FOOTPRINT_DIR").map(std::path::PathBuf::from);
    let (bench_store, dir, disk_path): (Arc<dyn Store>, Option<tempfile::TempDir>, _) =
        match (&keep, rocks) {
            (Some(path), _) => {
                std::fs::create_dir_all(path).unwrap_or_else(|e| panic!("{e}"));
                chancery_genesis::document::write_genesis(&path.join("genesis.json"), &fx.genesis)
                    .unwrap_or_else(|e| panic!("{e}"));
                let db = path.join("db");
                let s = chancery_storage::RocksStore::open(&db).unwrap_or_else(|e| panic!("{e}"));
                (Arc::new(s), None, Some(db))
            }
            (None, true) => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
                let s = chancery_storage::RocksStore::open(dir.path())
                    .unwrap_or_else(|e| panic!("{e}"));
                let path = dir.path().to_path_buf();
                (Arc::new(s), Some(dir), Some(path))
            }
            (None, false) => (store.clone(), None, None),
        };
    let rocks = disk_path.is_some();
    let ledger = Ledger::open(bench_store.clone(), &fx.genesis).unwrap_or_else(|e| panic!("{e}"));
    let mut bench = Bench {
        fx,
        ledger,
        store: bench_store,
        seqs: HashMap::new(),
        _dir: dir,
    };
    // A mix: assets registered and transferred, awards, grants, anchors.
    let per = n / 5;
    let mut recs = Vec::new();
    for kind in [
        RecordKind::TransferAsset,
        RecordKind::AwardProcurement,
        RecordKind::GrantDataAccess,
        RecordKind::AnchorDocument,
    ] {
        let (setup, measured) = records(kind, "f", per);
        recs.extend(setup);
        recs.extend(measured);
    }
    let signed = bench.sign(&recs);
    let raw: usize = signed.iter().map(|c| c.tx().to_bytes().len()).sum();
    let started = Instant::now();
    for (i, c) in signed.chunks(10_000).enumerate() {
        bench.block(c);
        if (i + 1) % 10 == 0 {
            eprintln!(
                "  applied {} records in {:.1} s",
                (i + 1) * 10_000,
                started.elapsed().as_secs_f64()
            );
        }
    }
    // The secondary indexes are built after the commit and the state tree is written
    // behind: index and flush what is still pending, so that the figure is the ledger at
    // rest, indexes included.
    bench
        .ledger
        .index_pending()
        .unwrap_or_else(|e| panic!("{e}"));
    let nodes = bench.ledger.tree_status().nodes_in_memory;
    let flush_started = Instant::now();
    bench.ledger.flush_tree().unwrap_or_else(|e| panic!("{e}"));
    println!(
        "  state-tree flush of {nodes} nodes in memory: {:.0} ms",
        flush_started.elapsed().as_secs_f64() * 1e3
    );
    let mut total = 0;
    println!(
        "footprint: {} records, {} raw transaction bytes ({:.0} per record)",
        recs.len(),
        raw,
        raw as f64 / recs.len() as f64
    );
    if !rocks {
        for col in Column::ALL {
            let (entries, bytes) = store.column_size(col);
            total += bytes;
            println!(
                "  {:10} {:>9} entries {:>12} bytes {:>8.1} bytes/record",
                col.name(),
                entries,
                bytes,
                bytes as f64 / recs.len() as f64
            );
        }
        println!(
            "  total {total} bytes, {:.0} per record, {:.2}x raw",
            total as f64 / recs.len() as f64,
            total as f64 / raw as f64
        );
    }
    if let Some(path) = disk_path {
        let _ = bench.store.flush();
        let on_disk = dir_bytes(&path);
        println!(
            "  RocksDB on disk: {on_disk} bytes, {:.0} per record, {:.2}x raw",
            on_disk as f64 / recs.len() as f64,
            on_disk as f64 / raw as f64
        );
        return;
    }
    let _ = bench.store;
}

/// Total size of the files under `path`.
fn dir_bytes(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Records of each kind per round of [`index_bench`] (`INDEX_RECORDS`, default 2,000).
const INDEX_RECORDS: usize = 2_000;

/// The indexer on the mixed workload: every record kind, `INDEX_RECORDS` each (and what
/// they need first), in blocks of 1,000, applied on a fresh store; then the whole index
/// built by `index_pending` (one not-synced batch per `INDEX_BATCH_PUTS_MAX` puts), timed.
/// Prints the synced puts per transaction of the block batches (`Applied::puts`), the
/// same plus the index entries (what the block batch held when it wrote the index), and
/// the indexer's entries/s and tx/s; three rounds and the median.
fn index_bench() {
    let n: usize = std::env::var("INDEX_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(INDEX_RECORDS);
    let genesis_entries = {
        let fx = Fixture::new();
        let l =
            Ledger::open(Arc::new(MemStore::new()), &fx.genesis).unwrap_or_else(|e| panic!("{e}"));
        l.index_pending().unwrap_or_else(|e| panic!("{e}")).entries
    };
    let mut rows: Vec<(f64, f64, f64, f64)> = Vec::new();
    for round in 0..3 {
        let mut bench = Bench::new();
        let (mut puts, mut txs, mut blocks) = (0usize, 0usize, 0usize);
        for kind in RecordKind::ALL {
            let (setup, measured) = records(kind, &format!("i{round}-{}", kind.as_str()), n);
            for part in [setup, measured] {
                for c in part.chunks(1000) {
                    let checked = bench.sign(c);
                    let tip = bench.ledger.tip();
                    let time = TimestampMs(tip.time.0 + 1000);
                    let ex = bench
                        .ledger
                        .execute(&checked, time, tip.height.next())
                        .unwrap_or_else(|e| panic!("{e}"));
                    let mut header = bench.fx.header(tip.height.next(), tip.hash, time);
                    ex.fill_header(&mut header);
                    let block = Block {
                        header,
                        txs: checked.iter().map(|c| c.tx().clone()).collect(),
                    };
                    let cert = bench.fx.finalize(&block);
                    let applied = bench
                        .ledger
                        .apply(&block, &cert)
                        .unwrap_or_else(|e| panic!("{e}"));
                    puts += applied.puts;
                    txs += checked.len();
                    blocks += 1;
                }
            }
        }
        let start = Instant::now();
        let p = bench
            .ledger
            .index_pending()
            .unwrap_or_else(|e| panic!("{e}"));
        let secs = start.elapsed().as_secs_f64();
        let entries = p.entries - genesis_entries;
        let row = (
            puts as f64 / txs as f64,
            (puts as u64 + entries) as f64 / txs as f64,
            p.entries as f64 / secs,
            p.txs as f64 / secs,
        );
        println!(
            "index round {round}: {txs} tx in {blocks} blocks; synced batch {:.2} puts/tx \
             ({:.2} with the index entries in it); indexer: {} entries ({:.2}/tx) and {} \
             applied tx in {} batches, {secs:.2} s = {:.0} entries/s, {:.0} tx/s",
            row.0,
            row.1,
            p.entries,
            entries as f64 / txs as f64,
            p.txs,
            p.batches,
            row.2,
            row.3
        );
        rows.push(row);
    }
    let median = |f: fn(&(f64, f64, f64, f64)) -> f64| {
        let mut v: Vec<f64> = rows.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "index median of 3: synced batch {:.2} puts/tx (with index entries {:.2}); indexer {:.0} entries/s, {:.0} tx/s",
        median(|r| r.0),
        median(|r| r.1),
        median(|r| r.2),
        median(|r| r.3)
    );
}

criterion_group!(benches, mixed_benches, apply_benches, proof_benches);

fn main() {
    if std::env::var("LEDGER_INDEX").is_ok() {
        index_bench();
        return;
    }
    if std::env::var("LEDGER_FOOTPRINT").is_ok() {
        footprint();
        return;
    }
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
