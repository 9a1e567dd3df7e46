//! `GET /metrics`: the node's metrics in the Prometheus text exposition format (version
//! 0.0.4), for an operator's Prometheus. `docs/ops/metrics.md` lists every metric.
//!
//! Two kinds of figures:
//! - **read at scrape time** from what the node already reports (its [`NodeStatus`], the
//!   ledger's tip, the store's [`chancery_storage::Store::stats`], `/proc/self`): gauges,
//!   and counters the driver keeps (a fresh registry per scrape holds them);
//! - **recorded** where things happen, in [`Metrics`]: histograms of transaction
//!   finality, block commit time and transactions per block, and counters of commits,
//!   refusals and API requests. The node shares one `Arc<Metrics>` between its commit path
//!   (`App::commit` in the daemon), the submission routes and the request layer.
//!
//! The metrics are kept with `prometheus-client`, whose encoder writes OpenMetrics text;
//! [`prometheus_text`] turns that into the Prometheus text format (counter families named
//! with their `_total` suffix, no `# UNIT` and `# EOF` lines), which every Prometheus and
//! `promtool check metrics` read. Labels are bounded: routes are the matched route
//! templates (never the raw path), refusal reasons the mempool's fixed codes, columns the
//! store's fixed list.
//!
//! Names follow Prometheus' conventions: `chancery_` prefix, base units (seconds, bytes)
//! as suffixes, `_total` on counters. The process metrics keep the names every Prometheus
//! client library gives them (`process_cpu_seconds_total`, ...), so that existing
//! dashboards and alerts apply.

use crate::handle::NodeStatus;
use crate::process::{self, ProcessStats};
use crate::NodeHandle;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chancery_core::ids::TxHash;
use chancery_storage::{Store, StoreStats};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Most transactions submitted to this node whose admission time is kept until their
/// block commits (for `chancery_transaction_finality_seconds`): 65,536 entries, about
/// 4 MiB. Past it the oldest is forgotten and counted in
/// `chancery_transaction_finality_untracked_total`.
pub const SUBMITTED_TRACKED_MAX: usize = 65_536;

/// The content type of `GET /metrics`: the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Label of requests that matched no route (answered 404 `no_route`).
pub const ROUTE_UNMATCHED: &str = "unmatched";

/// Buckets of `chancery_transaction_finality_seconds`, in seconds.
const FINALITY_BUCKETS_S: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0,
];
/// Buckets of `chancery_block_commit_duration_seconds`, in seconds.
const COMMIT_BUCKETS_S: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Buckets of `chancery_block_transactions` (0: empty blocks).
const BLOCK_TXS_BUCKETS: [f64; 11] = [
    0.0, 1.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 2500.0, 5000.0, 10_000.0, 20_000.0,
];
/// Buckets of `chancery_api_request_duration_seconds`, in seconds.
const API_BUCKETS_S: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A refusal's reason: an admission code of the mempool.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// An API request: matched route template, method, status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

/// An API request's route and method (the duration histogram's labels).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

/// A column of the store.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ColumnLabels {
    column: &'static str,
}

/// A peer's role.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RoleLabels {
    role: &'static str,
}

/// The node's version.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

type HistogramFamily<S> = Family<S, Histogram, fn() -> Histogram>;

fn api_histogram() -> Histogram {
    Histogram::new(API_BUCKETS_S)
}

/// Admission times of transactions submitted to this node, until their block commits;
/// at most [`SUBMITTED_TRACKED_MAX`], oldest forgotten first.
#[derive(Default)]
struct Submitted {
    at: HashMap<TxHash, Instant>,
    /// Insertion order, for forgetting the oldest; may still name hashes already removed
    /// from `at` (at most [`SUBMITTED_TRACKED_MAX`] entries all the same).
    order: VecDeque<TxHash>,
}

/// What the node records as it runs (see the module documentation). Cheap to update:
/// atomic counters, and one short lock per submission or commit for the finality map.
pub struct Metrics {
    finality: Histogram,
    finality_untracked: Counter,
    commit: Histogram,
    block_txs: Histogram,
    blocks_committed: Counter,
    txs_committed: Counter,
    refused: Family<ReasonLabels, Counter>,
    api_requests: Family<RequestLabels, Counter>,
    api_duration: HistogramFamily<RouteLabels>,
    submitted: Mutex<Submitted>,
}

impl Default for Metrics {
    fn default() -> Self {
        let refused = Family::<ReasonLabels, Counter>::default();
        // Every reason from the start, at 0, so that rates exist before the first refusal.
        for reason in chancery_mempool::AdmitError::CODES {
            let _ = refused.get_or_create(&ReasonLabels { reason });
        }
        Metrics {
            finality: Histogram::new(FINALITY_BUCKETS_S),
            finality_untracked: Counter::default(),
            commit: Histogram::new(COMMIT_BUCKETS_S),
            block_txs: Histogram::new(BLOCK_TXS_BUCKETS),
            blocks_committed: Counter::default(),
            txs_committed: Counter::default(),
            refused,
            api_requests: Family::default(),
            api_duration: Family::new_with_constructor(api_histogram),
            submitted: Mutex::new(Submitted::default()),
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    fn submitted(&self) -> MutexGuard<'_, Submitted> {
        // A panic while holding the lock leaves a consistent map: keep using it.
        self.submitted.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Transactions admitted for clients of this node at `at` (when their submission
    /// reached the API): their finality is measured when their block commits here.
    pub fn submitted_at(&self, hashes: impl IntoIterator<Item = TxHash>, at: Instant) {
        let mut s = self.submitted();
        for hash in hashes {
            if s.order.len() >= SUBMITTED_TRACKED_MAX {
                if let Some(old) = s.order.pop_front() {
                    if s.at.remove(&old).is_some() {
                        self.finality_untracked.inc();
                    }
                }
            }
            if s.at.insert(hash, at).is_none() {
                s.order.push_back(hash);
            }
        }
    }

    /// A submission to this node refused by the mempool with `code` (an
    /// [`chancery_mempool::AdmitError::code`]; any other code counts as `other`).
    pub fn refused(&self, code: &str) {
        let reason = chancery_mempool::AdmitError::CODES
            .into_iter()
            .find(|c| *c == code)
            .unwrap_or("other");
        self.refused.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// A block of `txs` transactions committed, its commit (ledger apply) having taken
    /// `spent`. `committed` are the hashes of the transactions of the block that were
    /// pending in this node's pool, `dropped` those the commit made unexecutable (they will
    /// never commit): a tracked submission among the former gets its finality measured,
    /// one among the latter is forgotten.
    pub fn block_committed(
        &self,
        txs: usize,
        spent: Duration,
        committed: &[TxHash],
        dropped: &[TxHash],
    ) {
        self.commit.observe(spent.as_secs_f64());
        self.block_txs.observe(txs as f64);
        self.blocks_committed.inc();
        self.txs_committed.inc_by(txs as u64);
        if committed.is_empty() && dropped.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut s = self.submitted();
        if s.at.is_empty() {
            return;
        }
        for hash in committed {
            if let Some(at) = s.at.remove(hash) {
                self.finality
                    .observe(now.saturating_duration_since(at).as_secs_f64());
            }
        }
        for hash in dropped {
            s.at.remove(hash);
        }
        if s.at.is_empty() {
            s.order.clear();
        }
    }

    /// Transactions whose submission time is kept now (at most [`SUBMITTED_TRACKED_MAX`]).
    pub fn submissions_tracked(&self) -> usize {
        self.submitted().at.len()
    }

    /// One API request answered: `route` is its matched route template (or
    /// [`ROUTE_UNMATCHED`]), never a raw path, so that the label stays bounded. (The
    /// request layer calls this for every request; a family has no series before its first.)
    pub fn api_request(&self, route: String, method: &'static str, status: u16, spent: Duration) {
        self.api_duration
            .get_or_create(&RouteLabels {
                route: route.clone(),
                method,
            })
            .observe(spent.as_secs_f64());
        self.api_requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
    }

    /// The metrics text for a scrape: `scrape`'s figures and everything recorded.
    pub fn render(&self, scrape: &Scrape) -> String {
        let mut r = Registry::default();
        scrape.register(&mut r);
        r.register(
            "chancery_blocks_committed",
            "Blocks committed by this node since it started (consensus and catch-up)",
            self.blocks_committed.clone(),
        );
        r.register(
            "chancery_transactions_committed",
            "Transactions in the blocks committed by this node since it started",
            self.txs_committed.clone(),
        );
        r.register(
            "chancery_block_transactions",
            "Transactions per committed block",
            self.block_txs.clone(),
        );
        r.register(
            "chancery_block_commit_duration_seconds",
            "Time to commit a finalized block: ledger apply, one synced write batch",
            self.commit.clone(),
        );
        r.register(
            "chancery_transaction_finality_seconds",
            "Time from a transaction's submission to this node's API to the commit of its block on this node, for transactions admitted here",
            self.finality.clone(),
        );
        r.register(
            "chancery_transaction_finality_untracked",
            "Transactions submitted here whose finality was not measured: the tracker (bounded) forgot them, oldest first",
            self.finality_untracked.clone(),
        );
        r.register(
            "chancery_mempool_refused",
            "Transactions submitted to this node that the mempool refused, by reason (its admission code)",
            self.refused.clone(),
        );
        r.register(
            "chancery_api_requests",
            "HTTP requests answered, by route template, method and status",
            self.api_requests.clone(),
        );
        r.register(
            "chancery_api_request_duration_seconds",
            "Time to answer an HTTP request (to its headers, for event streams), by route template and method",
            self.api_duration.clone(),
        );
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode_registry(&mut text, &r);
        prometheus_text(&text)
    }
}

/// The figures read at scrape time.
#[derive(Clone, Debug, Default)]
pub struct Scrape {
    /// The driver's status.
    pub status: NodeStatus,
    /// Height of the finalized tip.
    pub height: u64,
    /// Block time of the tip, ms since 1970.
    pub tip_time_ms: u64,
    /// Now, ms since 1970.
    pub now_ms: u64,
    /// Last indexed height, if any.
    pub indexed_height: Option<u64>,
    /// State-tree nodes held in memory.
    pub tree_nodes_in_memory: u64,
    /// Failed state-tree flushes since start.
    pub tree_flush_failures: u64,
    /// The store's figures.
    pub store: StoreStats,
    /// The process's resources.
    pub process: ProcessStats,
}

fn gauge_i(v: u64) -> Gauge {
    let g = Gauge::default();
    g.set(i64::try_from(v).unwrap_or(i64::MAX));
    g
}

fn gauge_f(v: f64) -> Gauge<f64, AtomicU64> {
    let g = Gauge::<f64, AtomicU64>::default();
    g.set(v);
    g
}

fn counter_i(v: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(v);
    c
}

fn counter_f(v: f64) -> Counter<f64, AtomicU64> {
    let c = Counter::<f64, AtomicU64>::default();
    c.inc_by(v.max(0.0));
    c
}

impl Scrape {
    /// Read the figures of the node behind `h` now.
    pub fn of(h: &NodeHandle) -> Scrape {
        let tip = h.ledger.tip();
        let tree = h.ledger.tree_status();
        Scrape {
            status: h.status.borrow().clone(),
            height: tip.height.0,
            tip_time_ms: tip.time.0,
            now_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            indexed_height: h.ledger.indexed_height().ok().flatten().map(|x| x.0),
            tree_nodes_in_memory: tree.nodes_in_memory as u64,
            tree_flush_failures: tree.flush_failures,
            store: h.ledger.store().stats(),
            process: process::read(),
        }
    }

    fn register(&self, r: &mut Registry) {
        let s = &self.status;
        let info = Family::<VersionLabels, Gauge>::default();
        info.get_or_create(&VersionLabels {
            version: env!("CARGO_PKG_VERSION"),
        })
        .set(1);
        r.register(
            "chancery_build_info",
            "The node's version, as a label; the value is always 1",
            info,
        );
        r.register(
            "chancery_finalized_height",
            "Height of the last finalized block this node committed",
            gauge_i(self.height),
        );
        r.register(
            "chancery_finalized_block_timestamp_seconds",
            "Block time of the last finalized block, in seconds since 1970",
            gauge_f(self.tip_time_ms as f64 / 1000.0),
        );
        r.register(
            "chancery_finalized_block_age_seconds",
            "Seconds since the block time of the last finalized block (grows while the chain rests or stalls)",
            gauge_f(self.now_ms.saturating_sub(self.tip_time_ms) as f64 / 1000.0),
        );
        r.register(
            "chancery_consensus_view",
            "Current view of the consensus core",
            gauge_i(s.view),
        );
        r.register(
            "chancery_epoch",
            "Epoch of the validator set the consensus core runs",
            gauge_i(s.epoch),
        );
        if let Some(h) = self.indexed_height {
            r.register(
                "chancery_indexed_height",
                "Height up to which the secondary indexes are written (index queries answer as of it)",
                gauge_i(h),
            );
        }
        r.register(
            "chancery_peer_height",
            "Highest height that f + 1 validators claimed in the last 10 s (at least this node's)",
            gauge_i(s.peer_height.max(self.height)),
        );
        r.register(
            "chancery_catch_up_lag_blocks",
            "Blocks this node is behind its peers (peer height minus finalized height)",
            gauge_i(s.peer_height.saturating_sub(self.height)),
        );
        r.register(
            "chancery_node_ready",
            "1 when the node is caught up and, for a validator, sees a quorum (as /readyz)",
            gauge_i(u64::from(s.ready())),
        );
        r.register(
            "chancery_node_validator",
            "1 when this node votes (a validator), 0 for an observer",
            gauge_i(u64::from(s.validator)),
        );
        r.register(
            "chancery_validators",
            "Validators in the current set",
            gauge_i(s.validators as u64),
        );
        r.register(
            "chancery_validators_quorum",
            "Validators needed for a quorum",
            gauge_i(s.quorum as u64),
        );
        r.register(
            "chancery_validators_reachable",
            "Validators this node is connected to, itself included if a validator",
            gauge_i(s.validators_live as u64),
        );
        let peers = Family::<RoleLabels, Gauge>::default();
        let validator_peers = s.validators_live.saturating_sub(usize::from(s.validator));
        peers
            .get_or_create(&RoleLabels { role: "validator" })
            .set(validator_peers as i64);
        peers
            .get_or_create(&RoleLabels { role: "observer" })
            .set(s.peers.saturating_sub(validator_peers) as i64);
        r.register(
            "chancery_peers_connected",
            "Peers this node is connected to, by role (validator or observer)",
            peers,
        );
        r.register(
            "chancery_mempool_transactions",
            "Transactions pending in the mempool",
            gauge_i(s.mempool_txs as u64),
        );
        r.register(
            "chancery_mempool_bytes",
            "Bytes of the transactions pending in the mempool",
            gauge_i(s.mempool_bytes as u64),
        );
        r.register(
            "chancery_finalized_refused",
            "Finalized blocks from peers that did not decode or apply (fetched again by block sync)",
            counter_i(s.finalized_refused),
        );
        r.register(
            "chancery_evidence_seen",
            "Evidence of validator equivocation this node stored since it started",
            counter_i(s.evidence as u64),
        );
        r.register(
            "chancery_block_executions",
            "Block executions since start (proposals built or checked, finalized blocks without a kept result)",
            counter_i(s.executions),
        );
        r.register(
            "chancery_state_tree_nodes_in_memory",
            "State-tree nodes held in memory (not yet flushed, or kept for the proof window)",
            gauge_i(self.tree_nodes_in_memory),
        );
        r.register(
            "chancery_state_tree_flush_failures",
            "State-tree flushes that failed since start (each is retried; the node's log says why)",
            counter_i(self.tree_flush_failures),
        );
        self.register_store(r);
        self.register_process(r);
    }

    fn register_store(&self, r: &mut Registry) {
        let st = &self.store;
        if !st.columns.is_empty() {
            let sst = Family::<ColumnLabels, Gauge>::default();
            let mem = Family::<ColumnLabels, Gauge>::default();
            let pending = Family::<ColumnLabels, Gauge>::default();
            for c in &st.columns {
                let l = ColumnLabels {
                    column: c.column.name(),
                };
                let set = |f: &Family<ColumnLabels, Gauge>, v: u64| {
                    f.get_or_create(&l)
                        .set(i64::try_from(v).unwrap_or(i64::MAX));
                };
                set(&sst, c.sst_bytes);
                set(&mem, c.memtable_bytes);
                set(&pending, c.pending_compaction_bytes);
            }
            r.register(
                "chancery_storage_bytes",
                "Bytes of the store's table files on disk, by column",
                sst,
            );
            r.register(
                "chancery_storage_memtable_bytes",
                "Bytes of the store's in-memory tables (not yet flushed to files), by column",
                mem,
            );
            r.register(
                "chancery_storage_pending_compaction_bytes",
                "Bytes the store's compaction still has to rewrite (estimate), by column; writes slow down, then stop, when it grows too large",
                pending,
            );
        }
        if let Some(stopped) = st.write_stopped {
            r.register(
                "chancery_storage_write_stopped",
                "1 while the store stops writes (too much waiting for compaction)",
                gauge_i(u64::from(stopped)),
            );
        }
        if let Some(rate) = st.delayed_write_rate_bytes_per_s {
            r.register(
                "chancery_storage_delayed_write_rate_bytes_per_second",
                "Rate the store slows writes to now, in bytes per second; 0 when writes are not delayed",
                gauge_i(rate),
            );
        }
        if let Some(s) = st.write_stall_s {
            r.register(
                "chancery_storage_write_stall_seconds",
                "Time writes spent stalled (slowed or stopped) by the store since it opened",
                counter_f(s),
            );
        }
    }

    fn register_process(&self, r: &mut Registry) {
        let p = &self.process;
        if let Some(v) = p.cpu_s {
            r.register(
                "process_cpu_seconds",
                "User and system CPU time spent by the node's process, in seconds",
                counter_f(v),
            );
        }
        let gauges: [(&str, &str, Option<u64>); 5] = [
            (
                "process_resident_memory_bytes",
                "Resident memory of the node's process, in bytes",
                p.resident_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory of the node's process, in bytes",
                p.virtual_bytes,
            ),
            (
                "process_open_fds",
                "Open file descriptors of the node's process",
                p.open_fds,
            ),
            (
                "process_max_fds",
                "Most file descriptors the node's process may open (soft limit)",
                p.max_fds,
            ),
            (
                "process_threads",
                "Threads of the node's process",
                p.threads,
            ),
        ];
        for (name, help, v) in gauges {
            if let Some(v) = v {
                r.register(name, help, gauge_i(v));
            }
        }
        if let Some(v) = p.start_time_s {
            r.register(
                "process_start_time_seconds",
                "Start time of the node's process, in seconds since 1970",
                gauge_f(v),
            );
        }
    }
}

/// Turn `prometheus-client`'s OpenMetrics text into the Prometheus text format 0.0.4: a
/// counter family's `# HELP` and `# TYPE` lines take the `_total` name its samples carry,
/// `# UNIT` and `# EOF` lines go, everything else (gauges, histograms, samples) is the
/// same in both formats.
pub fn prometheus_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut help: Option<(&str, &str)> = None;
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            help = Some((name, text));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (name_out, kind_out) = match kind {
                "counter" => (format!("{name}_total"), "counter"),
                "unknown" => (name.to_string(), "untyped"),
                k => (name.to_string(), k),
            };
            if let Some((h_name, text)) = help.take() {
                if h_name == name {
                    out.push_str(&format!("# HELP {name_out} {text}\n"));
                }
            }
            out.push_str(&format!("# TYPE {name_out} {kind_out}\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `GET /metrics`: the node's metrics, Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "node",
    responses((status = 200, description = "metrics in the Prometheus text format 0.0.4 (docs/ops/metrics.md lists them)", body = String, content_type = "text/plain")))]
pub(crate) async fn metrics(State(h): State<NodeHandle>) -> Response {
    let text = h.metrics.render(&Scrape::of(&h));
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Count every request and time its answer, by matched route template (never the raw
/// path: the label takes as many values as there are routes), method and status.
pub(crate) async fn track(State(m): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| ROUTE_UNMATCHED.to_string(), |p| p.as_str().to_string());
    let method = method_label(req.method());
    let started = Instant::now();
    let res = next.run(req).await;
    m.api_request(route, method, res.status().as_u16(), started.elapsed());
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_core::ids::Digest;

    fn hash(i: u8) -> TxHash {
        Digest([i; 32])
    }

    #[test]
    fn counters_take_their_total_name_and_openmetrics_lines_go() {
        let om = "# HELP a_things Things.\n# TYPE a_things counter\na_things_total 3\n\
                  # HELP b_seconds B.\n# TYPE b_seconds gauge\n# UNIT b_seconds seconds\nb_seconds 1.5\n# EOF\n";
        assert_eq!(
            prometheus_text(om),
            "# HELP a_things_total Things.\n# TYPE a_things_total counter\na_things_total 3\n\
             # HELP b_seconds B.\n# TYPE b_seconds gauge\nb_seconds 1.5\n"
        );
    }

    #[test]
    fn finality_is_measured_for_tracked_submissions_only() {
        let m = Metrics::default();
        let t0 = Instant::now();
        m.submitted_at([hash(1), hash(2), hash(3)], t0);
        assert_eq!(m.submissions_tracked(), 3);
        // 1 committed, 2 dropped, 9 was never submitted here.
        m.block_committed(3, Duration::from_millis(4), &[hash(1), hash(9)], &[hash(2)]);
        assert_eq!(m.submissions_tracked(), 1);
        let text = m.render(&Scrape::default());
        assert!(
            text.contains("chancery_transaction_finality_seconds_count 1\n"),
            "{text}"
        );
        assert!(
            text.contains("chancery_block_transactions_count 1\n"),
            "{text}"
        );
        assert!(
            text.contains("chancery_transactions_committed_total 3\n"),
            "{text}"
        );
        assert!(
            text.contains("chancery_blocks_committed_total 1\n"),
            "{text}"
        );
    }

    #[test]
    fn the_tracker_forgets_the_oldest_past_its_bound() {
        let m = Metrics::default();
        let t0 = Instant::now();
        let hashes: Vec<TxHash> = (0..SUBMITTED_TRACKED_MAX as u32 + 5)
            .map(|i| {
                let mut d = [0u8; 32];
                d[..4].copy_from_slice(&i.to_be_bytes());
                Digest(d)
            })
            .collect();
        m.submitted_at(hashes.iter().copied(), t0);
        assert_eq!(m.submissions_tracked(), SUBMITTED_TRACKED_MAX);
        let text = m.render(&Scrape::default());
        assert!(
            text.contains("chancery_transaction_finality_untracked_total 5\n"),
            "the 5 oldest were forgotten and counted"
        );
        // The oldest is gone: its commit measures nothing; the newest is measured.
        m.block_committed(
            2,
            Duration::ZERO,
            &[hashes[0], hashes[hashes.len() - 1]],
            &[],
        );
        let text = m.render(&Scrape::default());
        assert!(text.contains("chancery_transaction_finality_seconds_count 1\n"));
    }

    #[test]
    fn refusal_reasons_are_the_mempools_codes_or_other() {
        let m = Metrics::default();
        m.refused("pool_full");
        m.refused("pool_full");
        m.refused("something new");
        let text = m.render(&Scrape::default());
        assert!(text.contains("chancery_mempool_refused_total{reason=\"pool_full\"} 2\n"));
        assert!(text.contains("chancery_mempool_refused_total{reason=\"bad_sequence\"} 0\n"));
        assert!(text.contains("chancery_mempool_refused_total{reason=\"other\"} 1\n"));
    }
}
