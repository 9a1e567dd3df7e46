//! Server-side render time of every explorer page, through the router (tower `oneshot`),
//! as p50 / p99 over many renders.
//!
//! ```sh
//! # over an existing data directory (a node's RocksDB) and its genesis:
//! CHANCERY_BENCH_DATA=DIR CHANCERY_BENCH_GENESIS=DIR/genesis.json \
//!   cargo bench -p chancery-explorer --bench pages
//! # or over a ledger it builds in a temporary directory (CHANCERY_BENCH_RECORDS, default 100000):
//! cargo bench -p chancery-explorer --bench pages
//! ```
//! `CHANCERY_BENCH_RENDERS` renders per page (default 300).

#[path = "../tests/support/mod.rs"]
mod support;

use axum::body::Body;
use axum::http::Request;
use chancery_core::record::*;
use chancery_ledger::{AwardFilter, GrantFilter, Ledger};
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Build `n` records (a third each assets, awards with an amendment, grants) in blocks of
/// 2,000 transactions on the test fixture.
fn build(n: usize, dir: &std::path::Path) -> (Arc<Ledger>, chancery_core::genesis::Genesis) {
    let store: Arc<dyn chancery_storage::Store> =
        Arc::new(chancery_storage::RocksStore::open(dir).unwrap_or_else(|e| panic!("{e}")));
    let fx = chancery_ledger::testing::fixture::Fixture::new();
    let ledger = Arc::new(Ledger::open(store, &fx.genesis).unwrap_or_else(|e| panic!("{e}")));
    let mut w = support::World::over(ledger.clone());
    let agencies = ["mof", "moe", "nhc"];
    let mut i = 0usize;
    let started = Instant::now();
    while i < n {
        let mut txs = Vec::with_capacity(2000);
        while txs.len() < 2000 && i < n {
            let a = agencies[i % 3];
            let next = agencies[(i + 1) % 3];
            let r = match (i / 3) % 4 {
                0 => Record::RegisterAsset(RegisterAsset {
                    asset_id: format!("{a}-asset-{i}"),
                    category: "A02010104".into(),
                    name: "台式计算机".into(),
                    spec_model: "M437".into(),
                    quantity: 1,
                    unit: "台".into(),
                    acquisition_method: AcquisitionMethod::Purchase,
                    acquisition_date: support::d(2026, 1, 1 + (i % 28) as u8),
                    original_value: support::money(560_000, "CNY"),
                    funding_source: FundingSource::FiscalAppropriation,
                    custodian: support::ag(a),
                    location: Restricted::seal(
                        chancery_core::suite::Suite::default(),
                        &[1; 32],
                        &"x".to_string(),
                    ),
                    documents: vec![],
                }),
                1 | 2 => Record::AwardProcurement(AwardProcurement {
                    ocid: format!("ocds-bench-{a}-{i}"),
                    award_id: "1".into(),
                    project_number: format!("ZB-{i}"),
                    title: "办公设备采购项目".into(),
                    description: String::new(),
                    purchaser: support::ag(a),
                    method: ProcurementMethod::Open,
                    method_details: "公开招标".into(),
                    suppliers: vec![Supplier {
                        name: format!("供应商 {}", i % 5000),
                        credit_code: format!("91110108{:010}", i % 5000),
                    }],
                    value: support::money(100_000 + (i as u64 * 7919) % 10_000_000, "CNY"),
                    award_date: support::d(2026, 1 + (i % 12) as u8, 1 + (i % 28) as u8),
                    status: AwardStatus::Active,
                    items: vec![],
                    documents: vec![],
                }),
                _ => Record::GrantDataAccess(GrantDataAccess {
                    grant_id: format!("{a}-grant-{i}"),
                    dataset_id: format!("{a}-dataset-{}", i % 10),
                    grantor: support::ag(a),
                    grantee: support::ag(next),
                    actions: vec![Action::Read],
                    purpose: "统计".into(),
                    condition: SharingCondition::Conditional,
                    valid_from: support::d(2026, 1, 1),
                    valid_until: support::d(2099, 1, 1),
                    constraints: Restricted::Open(vec![]),
                }),
            };
            txs.push(w.tx(a, r));
            i += 1;
        }
        w.block(txs);
    }
    eprintln!(
        "built {n} records in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    (ledger, w.fx.genesis.clone())
}

/// Longest render time the histogram tells apart, in microseconds (a minute).
const RENDER_US_MAX: u64 = 60_000_000;

/// A render time of the histogram (microseconds) in milliseconds.
fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn main() {
    let renders = env_usize("CHANCERY_BENCH_RENDERS", 300);
    let _tmp;
    let (ledger, genesis, source) = match std::env::var("CHANCERY_BENCH_DATA") {
        Ok(dir) => {
            let gpath = std::env::var("CHANCERY_BENCH_GENESIS")
                .unwrap_or_else(|_| format!("{dir}/genesis.json"));
            // The ledger checks that the database was made with this genesis.
            let text = std::fs::read_to_string(&gpath).unwrap_or_else(|e| panic!("{gpath}: {e}"));
            let g: chancery_core::genesis::Genesis =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{gpath}: {e}"));
            let db = [format!("{dir}/db"), dir.clone()]
                .into_iter()
                .find(|p| std::path::Path::new(p).join("CURRENT").exists())
                .unwrap_or_else(|| panic!("no RocksDB (CURRENT file) in {dir} or {dir}/db"));
            let store: Arc<dyn chancery_storage::Store> = Arc::new(
                chancery_storage::RocksStore::open(&db).unwrap_or_else(|e| panic!("{db}: {e}")),
            );
            let l = Arc::new(Ledger::open(store, &g).unwrap_or_else(|e| panic!("{e}")));
            (l, g, format!("data directory {db}"))
        }
        Err(_) => {
            let n = env_usize("CHANCERY_BENCH_RECORDS", 100_000);
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let (l, g) = build(n, dir.path());
            _tmp = dir;
            (
                l,
                g,
                format!("a ledger of {n} records built in a temporary directory"),
            )
        }
    };
    let tip = ledger.tip();
    println!(
        "explorer pages over {source}: height {}, log size {}, {renders} renders per page (release build)",
        tip.height, tip.log_size
    );
    // Ids to render, found through the query layer.
    let award = ledger
        .awards(&AwardFilter::default(), None, 1)
        .ok()
        .and_then(|p| p.items.into_iter().next());
    let grant = ledger
        .grants(&GrantFilter::default(), None, 1)
        .ok()
        .and_then(|p| p.items.into_iter().next());
    let asset = ledger
        .records_by_kind(
            RecordKind::RegisterAsset,
            chancery_core::TimestampMs(0),
            chancery_core::TimestampMs(u64::MAX),
            None,
            1,
        )
        .ok()
        .and_then(|p| p.items.into_iter().next())
        .map(|r| r.entry.tx.body.record.subject_id());
    let agency = genesis.agencies[0].id.to_string();
    let mut pages: Vec<(String, String)> = vec![
        ("home".into(), "/".into()),
        ("block".into(), format!("/blocks/{}", tip.height.0)),
        ("awards".into(), "/awards".into()),
        (
            "awards sorted -amount".into(),
            "/awards?sort=-amount".into(),
        ),
        (
            "awards by purchaser".into(),
            format!("/awards?purchaser={agency}"),
        ),
        ("grants".into(), "/grants".into()),
        ("grants active".into(), "/grants?status=active".into()),
        ("agency".into(), format!("/agency?id={agency}")),
        (
            "search agency".into(),
            "/search?q=no-such-thing&all=1".into(),
        ),
    ];
    if let Some(((ocid, id), a)) = &award {
        pages.push(("award".into(), format!("/award?ocid={ocid}&id={id}")));
        pages.push(("tx".into(), format!("/tx/{}", a.last_tx.to_hex())));
        pages.push(("ocds record".into(), format!("/ocds/records/{ocid}")));
        if let Some(s) = a.suppliers.first() {
            pages.push((
                "awards by supplier".into(),
                format!("/awards?supplier={}", s.credit_code),
            ));
            pages.push((
                "search credit code".into(),
                format!("/search?q={}&all=1", s.credit_code),
            ));
        }
    }
    if let Some((id, _)) = &grant {
        pages.push(("grant".into(), format!("/grant?id={id}")));
    }
    if let Some(id) = &asset {
        pages.push(("asset".into(), format!("/asset?id={id}")));
    }
    pages.push(("ocds releases (100)".into(), "/ocds/releases".into()));
    // The efficiency dashboards (issue 22), unfiltered and filtered, and their JSON.
    pages.push(("dashboard procurement".into(), "/dashboard".into()));
    pages.push((
        "dashboard agency+period".into(),
        format!("/dashboard?agency={agency}&from=2026-03&to=2026-09"),
    ));
    pages.push((
        "dashboard assets".into(),
        "/dashboard?section=assets".into(),
    ));
    pages.push((
        "dashboard sharing".into(),
        "/dashboard?section=sharing".into(),
    ));
    pages.push((
        "stats procurement JSON".into(),
        "/v1/stats/procurement".into(),
    ));
    pages.push((
        "stats by_agency CSV".into(),
        "/v1/stats/procurement/by_agency.csv".into(),
    ));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let h = support::World::over(ledger.clone()).handle_with(genesis.clone());
        let x = chancery_explorer::Explorer {
            node: h,
            catalog: Arc::new(chancery_explorer::catalog::Catalog::default()),
        };
        // The catalog (counts, project numbers, supplier names) is read once, as a node
        // does in the background at start.
        let t = Instant::now();
        while !x
            .catalog
            .refresh(&x.node.ledger, usize::MAX)
            .unwrap_or(true)
        {}
        println!(
            "catalog built from the log in {:.2} s",
            t.elapsed().as_secs_f64()
        );
        let app = chancery_explorer::router_with(x);
        println!(
            "{:<24} {:>9} {:>9} {:>9} {:>8}",
            "page", "p50 ms", "p99 ms", "max ms", "KiB"
        );
        for (name, uri) in &pages {
            let mut times = Histogram::<u64>::new_with_bounds(1, RENDER_US_MAX, 3)
                .unwrap_or_else(|e| panic!("{e:?}"));
            let mut size = 0;
            for _ in 0..renders {
                let req = Request::get(uri.as_str())
                    .header("host", "bench.test")
                    .body(Body::empty())
                    .unwrap_or_else(|e| panic!("{e}"));
                let t = Instant::now();
                let r = app
                    .clone()
                    .oneshot(req)
                    .await
                    .unwrap_or_else(|e| match e {});
                let status = r.status();
                let b = axum::body::to_bytes(r.into_body(), 64 << 20)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                times.saturating_record(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                assert!(
                    status.is_success(),
                    "{uri}: {status}: {}",
                    String::from_utf8_lossy(&b)
                );
                size = b.len();
            }
            println!(
                "{:<24} {:>9.2} {:>9.2} {:>9.2} {:>8.1}",
                name,
                ms(times.value_at_quantile(0.5)),
                ms(times.value_at_quantile(0.99)),
                ms(times.max()),
                size as f64 / 1024.0
            );
        }
    });
}
