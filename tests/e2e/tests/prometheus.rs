//! The node's metrics through Debian's real Prometheus: a testnet of 4 validators and an
//! observer (separate `chancery-node` processes), a Prometheus scraping every node's
//! `GET /metrics` from a generated scrape config, and the checks made through
//! Prometheus' own HTTP query API: every target up, `chancery_finalized_height` rising on
//! every node, the finality histogram fed by the demo's submissions, storage figures by
//! column. `promtool check metrics` must accept each node's `/metrics` as served.
//!
//! Every wait polls with a deadline (Prometheus scrapes on its own clock; nothing signals
//! a scrape); none is a sleep standing for synchronisation. Without `prometheus` or
//! `promtool` on PATH the test prints SKIP with the reason and passes (tests/run installs
//! Debian's `prometheus` package, which has both).

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How often Prometheus scrapes each node in this test, in seconds.
const SCRAPE_INTERVAL_S: u64 = 1;

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A Prometheus server, stopped (by its process id) when dropped.
struct Prometheus {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Poll `/-/ready` until Prometheus answers 200 (it starts listening a moment after
    /// its process starts), or fail at `deadline`.
    fn wait_ready(&mut self, deadline: Instant) {
        loop {
            if let Ok(a) = client(&self.url).get_raw("/-/ready") {
                if a.status == 200 {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited ({status}):\n{}", self.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus at {} not ready at the deadline:\n{}",
                self.url,
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100)); // poll interval, not a sync point
        }
    }

    /// `GET /api/v1/query?query=q`: the instant vector's samples as (labels, value).
    fn query(&self, q: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        let path = format!("/api/v1/query?query={}", chancery_client::enc(q));
        let v: Value = client(&self.url)
            .get(&path)
            .unwrap_or_else(|e| panic!("Prometheus query {q}: {e}\n{}", self.log_tail()));
        assert_eq!(v["status"], "success", "query {q}: {v}");
        v["data"]["result"]
            .as_array()
            .unwrap_or_else(|| panic!("query {q}: no result array: {v}"))
            .iter()
            .map(|s| {
                let labels = s["metric"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                let value = s["value"][1]
                    .as_str()
                    .and_then(|x| x.parse().ok())
                    .unwrap_or_else(|| panic!("query {q}: sample value: {s}"));
                (labels, value)
            })
            .collect()
    }

    /// `q`'s value by node (the `node` label of the scrape config), one sample per node.
    fn by_node(&self, q: &str) -> BTreeMap<String, f64> {
        self.query(q)
            .into_iter()
            .map(|(l, v)| (l.get("node").cloned().unwrap_or_default(), v))
            .collect()
    }

    /// Poll `q` until `done` holds of its value by node, or fail at `deadline`.
    fn wait_for(
        &self,
        q: &str,
        what: &str,
        deadline: Instant,
        done: impl Fn(&BTreeMap<String, f64>) -> bool,
    ) -> BTreeMap<String, f64> {
        loop {
            let v = self.by_node(q);
            if done(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: `{q}` is {v:?} at the deadline\nPrometheus log:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(250)); // poll interval, not a sync point
        }
    }
}

/// A free TCP port on loopback (the kernel's choice, released at once for Prometheus).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The scrape config: one static target per node, labelled with its name.
fn scrape_config(nodes: &[(String, String)]) -> String {
    let mut s = format!(
        "global:\n  scrape_interval: {SCRAPE_INTERVAL_S}s\n  scrape_timeout: {SCRAPE_INTERVAL_S}s\n\
         scrape_configs:\n  - job_name: chancery\n    metrics_path: /metrics\n    static_configs:\n"
    );
    for (name, api) in nodes {
        let host = api
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        s.push_str(&format!(
            "      - targets: ['{host}']\n        labels:\n          node: '{name}'\n"
        ));
    }
    s
}

fn start_prometheus(exe: &Path, dir: &Path, config: &str) -> Prometheus {
    let config_file = dir.join("prometheus.yml");
    std::fs::write(&config_file, config).expect("write scrape config");
    let log = dir.join("prometheus.log");
    let out = std::fs::File::create(&log).expect("prometheus log");
    let port = free_port();
    let child = Command::new(exe)
        .arg(format!("--config.file={}", config_file.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("prometheus-data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .expect("start prometheus");
    Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
        log,
    }
}

fn promtool_check(promtool: &Path, node: &str, text: &[u8]) {
    use std::io::Write;
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text)
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics refuses {node}'s /metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn prometheus_scrapes_every_node_and_sees_the_height_rise() {
    let (Some(prometheus), Some(promtool)) = (on_path("prometheus"), on_path("promtool")) else {
        println!(
            "SKIP prometheus_scrapes_every_node_and_sees_the_height_rise: no `prometheus` or \
             `promtool` on PATH (apt-get install prometheus; tests/run installs it)"
        );
        return;
    };
    let (net, apis) = start_testnet(8);
    let m = manifest(net.dir.path());
    let nodes: Vec<(String, String)> = m
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.api.clone()))
        .collect();
    assert_eq!(nodes.len(), apis.len());
    let names: Vec<String> = nodes.iter().map(|(n, _)| n.clone()).collect();
    let every = |v: &BTreeMap<String, f64>| names.iter().all(|n| v.contains_key(n));

    // promtool accepts each node's exposition as served.
    for (name, api) in &nodes {
        let text = client(api)
            .get_bytes("/metrics")
            .unwrap_or_else(|e| panic!("{e}"));
        promtool_check(&promtool, name, &text);
    }

    let mut prom = start_prometheus(&prometheus, net.dir.path(), &scrape_config(&nodes));
    let deadline = Instant::now() + Duration::from_secs(120);
    prom.wait_ready(deadline);
    let up = prom.wait_for("up", "every node scraped", deadline, |v| {
        every(v) && v.values().all(|x| *x == 1.0)
    });
    assert_eq!(up.len(), nodes.len(), "one target per node: {up:?}");
    let first = prom.wait_for(
        "chancery_finalized_height",
        "a height from every node",
        deadline,
        every,
    );

    // Transactions submitted to the nodes: their finality is measured where submitted.
    let expected = demo(&net, 0, 1);
    for api in &apis {
        wait_log_size(api, expected, deadline);
    }
    let risen = prom.wait_for(
        "chancery_finalized_height",
        "the height rising on every node",
        deadline,
        |v| every(v) && names.iter().all(|n| v[n] > first[n]),
    );
    for n in &names {
        assert!(risen[n] > first[n], "{n}: {} -> {}", first[n], risen[n]);
    }
    prom.wait_for(
        "sum(chancery_transaction_finality_seconds_count)",
        "finality measured for the demo's transactions",
        deadline,
        |v| v.values().sum::<f64>() >= 1.0,
    );
    prom.wait_for(
        "histogram_quantile(0.5, sum by (le) (chancery_transaction_finality_seconds_bucket))",
        "a finality median",
        deadline,
        |v| v.values().all(|x| x.is_finite() && *x > 0.0) && !v.is_empty(),
    );
    prom.wait_for(
        "sum by (node) (chancery_transactions_committed_total)",
        "committed transactions counted on every node",
        deadline,
        |v| every(v) && v.values().all(|x| *x >= expected as f64),
    );
    // Storage by column, from RocksDB: nine columns on every node.
    let columns = prom.wait_for(
        "count by (node) (chancery_storage_bytes)",
        "storage figures of every column",
        deadline,
        every,
    );
    assert!(columns.values().all(|c| *c == 9.0), "{columns:?}");
    // The scrapes themselves are counted under their route template.
    prom.wait_for(
        "sum by (node) (chancery_api_requests_total{route=\"/metrics\",status=\"200\"})",
        "scrapes counted by the API metrics",
        deadline,
        |v| every(v) && v.values().all(|x| *x >= 1.0),
    );
}
