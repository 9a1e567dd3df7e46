//! `GET /metrics` of an in-process app: the Prometheus text format, every family the
//! operators rely on with its `# HELP` and `# TYPE`, figures that match the ledger, and
//! labels that stay bounded however many distinct paths clients ask for.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chancery_api::metrics::{Metrics, Scrape, CONTENT_TYPE, ROUTE_UNMATCHED};
use chancery_core::record::Role;
use chancery_storage::{Column, ColumnStats, StoreStats};
use common::*;
use std::collections::{BTreeMap, BTreeSet};

/// One family of the exposition: its type, help, and samples (name with labels, value).
#[derive(Debug, Default)]
struct Family {
    kind: String,
    help: String,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

/// Parse the Prometheus text format strictly enough for these checks: every sample must
/// belong to a family announced by `# HELP` and `# TYPE` (histograms through their
/// `_bucket`, `_sum` and `_count` series).
fn parse(text: &str) -> BTreeMap<String, Family> {
    let mut fams: BTreeMap<String, Family> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name and text");
            fams.entry(name.into()).or_default().help = help.into();
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name and type");
            fams.entry(name.into()).or_default().kind = kind.into();
        } else if line.starts_with('#') || line.is_empty() {
            panic!("unexpected line {line:?}");
        } else {
            let (series, value) = line.rsplit_once(' ').expect("sample and value");
            let (name, labels) = match series.split_once('{') {
                Some((n, l)) => (n, l.strip_suffix('}').expect("closing brace")),
                None => (series, ""),
            };
            let labels: BTreeMap<String, String> = labels
                .split(',')
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (k, v) = l.split_once('=').expect("label=value");
                    (k.to_string(), v.trim_matches('"').to_string())
                })
                .collect();
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("value of {line:?}")),
            };
            let family = if fams.contains_key(name) {
                name.to_string()
            } else {
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .filter(|base| fams.get(*base).is_some_and(|f| f.kind == "histogram"))
                    .unwrap_or_else(|| panic!("sample {name} of no announced family"))
                    .to_string()
            };
            fams.get_mut(&family)
                .expect("family")
                .samples
                .push((name.to_string(), labels, value));
        }
    }
    for (name, f) in &fams {
        assert!(!f.help.is_empty(), "{name} has no HELP");
        assert!(!f.help.ends_with(".."), "{name}: HELP ends in two periods");
        assert!(!f.kind.is_empty(), "{name} has no TYPE");
        assert!(
            name.starts_with("chancery_") || name.starts_with("process_"),
            "{name}: not a chancery_ (or standard process_) metric"
        );
        assert_eq!(
            f.kind == "counter",
            name.ends_with("_total"),
            "{name}: counters, and only counters, end in _total"
        );
    }
    fams
}

fn value(fams: &BTreeMap<String, Family>, name: &str) -> f64 {
    let f = fams
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing: {:?}", fams.keys()));
    assert_eq!(f.samples.len(), 1, "{name}: one sample");
    f.samples[0].2
}

/// Families every node exports, with their type.
const FAMILIES: [(&str, &str); 22] = [
    ("chancery_finalized_height", "gauge"),
    ("chancery_consensus_view", "gauge"),
    ("chancery_epoch", "gauge"),
    ("chancery_finalized_block_age_seconds", "gauge"),
    ("chancery_finalized_block_timestamp_seconds", "gauge"),
    ("chancery_transaction_finality_seconds", "histogram"),
    ("chancery_block_commit_duration_seconds", "histogram"),
    ("chancery_block_transactions", "histogram"),
    ("chancery_blocks_committed_total", "counter"),
    ("chancery_transactions_committed_total", "counter"),
    ("chancery_mempool_transactions", "gauge"),
    ("chancery_mempool_bytes", "gauge"),
    ("chancery_mempool_refused_total", "counter"),
    ("chancery_peers_connected", "gauge"),
    ("chancery_validators_reachable", "gauge"),
    ("chancery_catch_up_lag_blocks", "gauge"),
    ("chancery_api_requests_total", "counter"),
    ("chancery_api_request_duration_seconds", "histogram"),
    ("chancery_node_ready", "gauge"),
    ("chancery_build_info", "gauge"),
    ("chancery_indexed_height", "gauge"),
    ("chancery_transaction_finality_untracked_total", "counter"),
];

async fn scrape(app: &axum::Router) -> (String, BTreeMap<String, Family>) {
    let a = get(app, "/metrics").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type, CONTENT_TYPE);
    let text = String::from_utf8(a.body).expect("UTF-8");
    let fams = parse(&text);
    (text, fams)
}

#[tokio::test]
async fn metrics_name_every_family_with_bounded_labels() {
    let e = env();
    // A driver whose pool is full: every submission refused with pool_full.
    let (commands, mut rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        while let Some(cmd) = rx.recv().await {
            if let chancery_api::handle::Command::Submit { txs, reply, .. } = cmd {
                let refusals = txs
                    .iter()
                    .map(|_| {
                        Err(chancery_mempool::AdmitError::PoolFull {
                            limit: chancery_mempool::PoolLimit::Txs,
                            max: 10,
                        })
                    })
                    .collect();
                let _ = reply.send(refusals);
            }
        }
    });
    let handle = chancery_api::NodeHandle {
        commands,
        ..e.handle.clone()
    };
    let app = chancery_api::router(handle);
    // Many distinct raw paths: found and missing assets, unknown routes.
    for i in 0..40 {
        get(&app, &format!("/v1/assets/X{i}")).await;
        get(&app, &format!("/no/such/route/{i}")).await;
    }
    get(&app, "/v1/assets/A1").await;
    let key = e.fx.signer("mof", Role::AssetOfficer);
    let tx = e.fx.tx(key, 3, register("A9", "mof"));
    let a = send(
        &app,
        Request::builder()
            .method(Method::POST)
            .uri("/v1/transactions")
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(tx.to_bytes()))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);

    let (text, fams) = scrape(&app).await;
    for (name, kind) in FAMILIES {
        let f = fams
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from:\n{text}"));
        assert_eq!(f.kind, kind, "{name}");
    }
    assert_eq!(
        value(&fams, "chancery_finalized_height"),
        e.ledger.tip().height.0 as f64
    );
    assert!(value(&fams, "chancery_finalized_height") > 0.0);

    // Routes are templates of the app's own routes, or `unmatched`: 81 distinct paths
    // were asked, a handful of series exist.
    let doc = chancery_api::openapi();
    let mut templates: BTreeSet<String> = doc.paths.paths.keys().cloned().collect();
    templates.insert(ROUTE_UNMATCHED.to_string());
    let requests = &fams["chancery_api_requests_total"];
    let routes: BTreeSet<&str> = requests
        .samples
        .iter()
        .map(|(_, l, _)| l["route"].as_str())
        .collect();
    for r in &routes {
        assert!(
            templates.contains(*r),
            "route label {r:?} is not a template"
        );
    }
    assert!(routes.contains("/v1/assets/{id}"), "{routes:?}");
    assert!(routes.contains(ROUTE_UNMATCHED), "{routes:?}");
    let count = |route: &str, status: &str| {
        requests
            .samples
            .iter()
            .filter(|(_, l, _)| l["route"] == route && l["status"] == status)
            .map(|(_, _, v)| *v)
            .sum::<f64>()
    };
    assert_eq!(count("/v1/assets/{id}", "404"), 40.0);
    assert_eq!(count("/v1/assets/{id}", "200"), 1.0);
    assert_eq!(count(ROUTE_UNMATCHED, "404"), 40.0);
    assert_eq!(count("/v1/transactions", "503"), 1.0);
    for (_, l, _) in &requests.samples {
        let keys: Vec<&str> = l.keys().map(String::as_str).collect();
        assert_eq!(keys, ["method", "route", "status"]);
    }
    let durations = &fams["chancery_api_request_duration_seconds"];
    for (_, l, _) in &durations.samples {
        assert!(templates.contains(&l["route"]), "{l:?}");
    }
    assert!(
        requests.samples.len() < 10,
        "label sets stay few: {:?}",
        requests.samples
    );

    // The refusal, by reason; every reason is a mempool code or `other`.
    let refused = &fams["chancery_mempool_refused_total"];
    let mut reasons: BTreeSet<&str> = chancery_mempool::AdmitError::CODES.into();
    reasons.insert("other");
    for (_, l, v) in &refused.samples {
        assert!(reasons.contains(l["reason"].as_str()), "{l:?}");
        let want = if l["reason"] == "pool_full" { 1.0 } else { 0.0 };
        assert_eq!(*v, want, "{l:?}");
    }
    let roles: BTreeSet<&str> = fams["chancery_peers_connected"]
        .samples
        .iter()
        .map(|(_, l, _)| l["role"].as_str())
        .collect();
    assert_eq!(roles, BTreeSet::from(["observer", "validator"]));

    // Linux: the process's own resources.
    if cfg!(target_os = "linux") {
        assert!(value(&fams, "process_resident_memory_bytes") > 0.0);
        assert!(value(&fams, "process_open_fds") > 0.0);
        assert!(value(&fams, "process_start_time_seconds") > 1.6e9);
        assert_eq!(fams["process_cpu_seconds_total"].kind, "counter");
    }
    promtool_accepts(&text);
}

#[test]
fn storage_figures_are_rendered_by_column() {
    let scrape = Scrape {
        store: StoreStats {
            columns: vec![
                ColumnStats {
                    column: Column::Blocks,
                    sst_bytes: 4096,
                    memtable_bytes: 10,
                    pending_compaction_bytes: 0,
                },
                ColumnStats {
                    column: Column::Log,
                    sst_bytes: 8192,
                    memtable_bytes: 0,
                    pending_compaction_bytes: 7,
                },
            ],
            write_stopped: Some(false),
            delayed_write_rate_bytes_per_s: Some(0),
            write_stall_s: Some(1.5),
        },
        ..Scrape::default()
    };
    let text = Metrics::default().render(&scrape);
    let fams = parse(&text);
    let sst: BTreeMap<&str, f64> = fams["chancery_storage_bytes"]
        .samples
        .iter()
        .map(|(_, l, v)| (l["column"].as_str(), *v))
        .collect();
    assert_eq!(sst, BTreeMap::from([("blocks", 4096.0), ("log", 8192.0)]));
    assert_eq!(value(&fams, "chancery_storage_write_stopped"), 0.0);
    assert_eq!(
        value(&fams, "chancery_storage_write_stall_seconds_total"),
        1.5
    );
    assert_eq!(
        fams["chancery_storage_pending_compaction_bytes"]
            .samples
            .len(),
        2
    );
    // A store that reports nothing (the in-memory one) has no storage families.
    let fams = parse(&Metrics::default().render(&Scrape::default()));
    assert!(!fams.keys().any(|k| k.starts_with("chancery_storage_")));
    promtool_accepts(&text);
}

/// Every metric a node can export: a scrape with every optional figure present.
fn every_family() -> BTreeMap<String, Family> {
    let scrape = Scrape {
        indexed_height: Some(1),
        store: StoreStats {
            columns: vec![ColumnStats {
                column: Column::Log,
                sst_bytes: 1,
                memtable_bytes: 1,
                pending_compaction_bytes: 1,
            }],
            write_stopped: Some(false),
            delayed_write_rate_bytes_per_s: Some(0),
            write_stall_s: Some(0.0),
        },
        process: chancery_api::process::ProcessStats {
            cpu_s: Some(1.0),
            resident_bytes: Some(1),
            virtual_bytes: Some(1),
            open_fds: Some(1),
            max_fds: Some(1),
            start_time_s: Some(1.0),
            threads: Some(1),
        },
        ..Scrape::default()
    };
    let m = Metrics::default();
    // Families with labels have no series (and are not written) before their first.
    m.api_request("/v1/status".into(), "GET", 200, std::time::Duration::ZERO);
    parse(&m.render(&scrape))
}

/// Every query of the shipped Grafana dashboard names only metrics a node exports (a
/// histogram through its `_bucket`, `_sum` or `_count` series), and the dashboard covers
/// the figures operators watch.
#[test]
fn every_dashboard_query_names_an_exported_metric() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/ops/grafana-dashboard.json");
    let text = std::fs::read_to_string(&path).expect("docs/ops/grafana-dashboard.json");
    let dash: serde_json::Value = serde_json::from_str(&text).expect("dashboard JSON");
    let mut exprs = Vec::new();
    fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("expr", serde_json::Value::String(e)) => out.push(e.clone()),
                        ("definition", serde_json::Value::String(e)) => out.push(e.clone()),
                        _ => collect(x, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
            _ => {}
        }
    }
    collect(&dash, &mut exprs);
    assert!(exprs.len() >= 20, "queries found: {exprs:?}");
    let fams = every_family();
    let mut used = BTreeSet::new();
    for e in &exprs {
        let names: Vec<&str> = e
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("chancery_") || w.starts_with("process_"))
            .collect();
        assert!(!names.is_empty(), "query names no metric: {e}");
        for n in names {
            let family = if fams.contains_key(n) {
                n
            } else {
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| n.strip_suffix(s))
                    .filter(|b| fams.get(*b).is_some_and(|f| f.kind == "histogram"))
                    .unwrap_or_else(|| panic!("dashboard query names {n}, not exported: {e}"))
            };
            used.insert(family.to_string());
        }
    }
    for want in [
        "chancery_finalized_height",
        "chancery_transaction_finality_seconds",
        "chancery_transactions_committed_total",
        "chancery_mempool_transactions",
        "chancery_peers_connected",
        "chancery_storage_bytes",
        "chancery_api_requests_total",
        "chancery_api_request_duration_seconds",
    ] {
        assert!(used.contains(want), "the dashboard does not show {want}");
    }
}

/// `promtool check metrics` (Prometheus' own linter) accepts `text`; without promtool,
/// say so and check nothing more (tests/run installs it).
fn promtool_accepts(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("SKIP promtool check: no `promtool` on PATH (Debian package prometheus)");
        return;
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
