//! Helpers shared by the multi-process tests: start a testnet in a temporary directory,
//! drive it with `chancery demo`, wait on node event streams, compare chains.
#![allow(dead_code)] // each test file uses its own subset

pub use chancery_client::manifest::Manifest;
pub use chancery_client::types::StatusDto;
pub use chancery_client::Client;
use chancery_client::Event;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The directory holding the workspace's binaries (target/debug or target/release).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/network-<hash> -> target/<profile>
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("target directory")
}

pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} is missing: build the workspace first (`cargo build --workspace`)",
        p.display()
    );
    p
}

pub struct Testnet {
    pub dir: tempfile::TempDir,
}

impl Drop for Testnet {
    fn drop(&mut self) {
        let _ = Command::new(bin("chancery-testnet"))
            .arg("down")
            .arg("--dir")
            .arg(self.dir.path())
            .status();
    }
}

/// Timeout of one request of these tests, in milliseconds.
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;

/// A client of the node at `api`.
pub fn client(api: &str) -> Client {
    Client::with_timeout_ms(api, Some(REQUEST_TIMEOUT_MS))
}

/// The manifest of the testnet in `dir`.
pub fn manifest(dir: &Path) -> Manifest {
    Manifest::load(dir).unwrap_or_else(|e| panic!("{e}"))
}

/// Block until `api` reports a log of at least `size` entries, reading its event stream.
pub fn wait_log_size(api: &str, size: u64, deadline: Instant) {
    wait_event(
        api,
        deadline,
        &format!("log size {size}"),
        || status(api).tip.log_size >= size,
        |b| b.log_size >= size,
    )
}

/// Block until `api`'s indexer has caught up with the height the node had applied when
/// called: index queries (histories, lists by agency, kind, supplier, the explorer's
/// lists) answer as of `indexed_height`, which trails the tip while the indexer works.
/// Polls the status until the deadline.
pub fn wait_indexed(api: &str, deadline: Instant) {
    let target = status(api).tip.height;
    loop {
        let indexed = status(api).indexed_height;
        if indexed.is_some_and(|h| h >= target) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{api}: indexed height {indexed:?} did not reach {target} in time"
        );
        std::thread::sleep(Duration::from_millis(20)); // poll interval, not a sync point
    }
}

/// Block until `done_now()` holds or a block event of `api`'s stream satisfies `done_by`.
/// Subscribes first, then asks `done_now`, so no block can slip between the two.
fn wait_event(
    api: &str,
    deadline: Instant,
    what: &str,
    done_now: impl Fn() -> bool,
    done_by: impl Fn(&chancery_client::types::BlockEvent) -> bool,
) {
    let timeout = deadline.saturating_duration_since(Instant::now());
    let events = Client::with_timeout_ms(api, Some(timeout.as_millis() as u64))
        .events()
        .unwrap_or_else(|e| panic!("{e}"));
    if done_now() {
        return;
    }
    for e in events {
        match e {
            Ok(Event::Block(b)) if done_by(&b) => return,
            Ok(_) => {}
            Err(e) => panic!("{api}: event stream ended before {what}: {e}"),
        }
    }
    panic!("{api}: event stream closed before {what}");
}

pub fn testnet_cmd(net: &Testnet, args: &[&str]) -> String {
    let out = Command::new(bin("chancery-testnet"))
        .args(args)
        .arg("--dir")
        .arg(net.dir.path())
        .output()
        .expect("run chancery-testnet");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        // Show the end of the named node's log, if any: the temp dir goes with the test.
        let log = args
            .get(1)
            .and_then(|n| std::fs::read_to_string(net.dir.path().join(n).join("node.log")).ok())
            .unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!(
            "chancery-testnet {args:?} failed:\n{text}\nnode log tail:\n{}",
            tail.join("\n")
        );
    }
    text
}

/// Start a testnet; `slot` keeps concurrently running tests on different ports.
pub fn start_testnet(slot: u16) -> (Testnet, Vec<String>) {
    start_testnet_with(slot, &[])
}

/// Is this process root? Network namespaces (`start_testnet_netns`) need it.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Start a testnet whose nodes each run in their own network namespace (root only), so
/// that `chancery-testnet partition` and `heal` work; the APIs are reached over its bridge.
/// The test's `Testnet` guard (`down`) removes the namespaces and the bridge.
pub fn start_testnet_netns(slot: u16) -> (Testnet, Vec<String>) {
    start_testnet_with(slot, &["--netns"])
}

/// Start a testnet with extra `chancery-testnet up` arguments.
pub fn start_testnet_with(slot: u16, extra: &[&str]) -> (Testnet, Vec<String>) {
    let net = Testnet {
        dir: tempfile::tempdir().expect("temp dir"),
    };
    // Below the kernel's ephemeral range (32768-60999), so that no outgoing connection can
    // take a killed node's port before it restarts; spread by process id so concurrent
    // test processes (nextest) do not collide.
    let base_port = 10_000 + (std::process::id() % 1_000) as u16 * 20 + slot * 10;
    let base_port = base_port.to_string();
    let mut args = vec![
        "up",
        "--detach",
        "--ready-timeout-s",
        "120",
        "--base-port",
        &base_port,
    ];
    args.extend_from_slice(extra);
    let out = testnet_cmd(&net, &args);
    let m = manifest(net.dir.path());
    let apis: Vec<String> = m.nodes.iter().map(|n| n.api.clone()).collect();
    assert_eq!(apis.len(), 5, "4 validators and 1 observer");
    assert_eq!(m.member_keys.len(), AGENCIES, "one member key per agency");
    assert!(
        out.contains(&format!("export CHANCERY_NODE={}\n", apis[0])),
        "`up` prints the line that points the client at the first node:\n{out}"
    );
    (net, apis)
}

pub const AGENCIES: usize = 4;
/// Records per agency per demo round (one of each kind the demo sends).
pub const RECORDS_PER_ROUND: u64 = 13;

/// Submit `rounds` demo rounds starting at round `from`; returns how many transactions.
pub fn demo(net: &Testnet, from: u64, rounds: u64) -> u64 {
    demo_dir(net.dir.path(), from, rounds)
}

/// Like `demo`, but submitting only to the nodes at `nodes` (manifest order), e.g. the
/// majority side of a partition: the demo is pointed at a copy of the manifest that lists
/// only them.
pub fn demo_via(net: &Testnet, nodes: &[usize], from: u64, rounds: u64) -> u64 {
    let mut m = manifest(net.dir.path());
    m.nodes = nodes.iter().map(|&i| m.nodes[i].clone()).collect();
    let name: Vec<String> = nodes.iter().map(usize::to_string).collect();
    let dir = net.dir.path().join(format!("clients-{}", name.join("-")));
    std::fs::create_dir_all(&dir).expect("clients dir");
    std::fs::write(
        dir.join("testnet.json"),
        serde_json::to_string(&m).expect("manifest JSON"),
    )
    .expect("write manifest");
    demo_dir(&dir, from, rounds)
}

/// Run `chancery demo --testnet dir`; returns how many transactions it submitted.
pub fn demo_dir(dir: &Path, from: u64, rounds: u64) -> u64 {
    let out = Command::new(bin("chancery"))
        .args(["demo", "--pause-ms", "0"])
        .args([
            "--from-round",
            &from.to_string(),
            "--rounds",
            &rounds.to_string(),
        ])
        .arg("--testnet")
        .arg(dir)
        .output()
        .expect("run chancery demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("refused"),
        "the demo's transactions were refused:\n{text}"
    );
    rounds * RECORDS_PER_ROUND * AGENCIES as u64
}

/// Every node in `apis` holds the same finalized chain up to the lowest tip; returns the
/// transaction hashes of that chain, checked to be unique.
pub fn same_chain(apis: &[String]) -> Vec<String> {
    let tips: Vec<u64> = apis.iter().map(|a| tip_height(a)).collect();
    let common = *tips.iter().min().expect("tips");
    let clients: Vec<Client> = apis.iter().map(|a| client(a)).collect();
    let mut tx_hashes = Vec::new();
    for h in 1..=common {
        let blocks: Vec<_> = clients
            .iter()
            .map(|c| c.block(h).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        for (a, b) in apis.iter().zip(&blocks) {
            assert_eq!(
                b.hash, blocks[0].hash,
                "node {a} has a different block at height {h}"
            );
            // The whole header: log and state roots, transactions hash, proposer, ...
            assert_eq!(b.header, blocks[0].header, "node {a}, height {h}");
        }
        tx_hashes.extend(blocks[0].transactions.iter().map(|t| t.hash.clone()));
    }
    let mut unique = tx_hashes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        tx_hashes.len(),
        "a transaction was committed twice"
    );
    tx_hashes
}

/// The finalized tip height `api` reports.
pub fn tip_height(api: &str) -> u64 {
    status(api).tip.height
}

/// Block until `api` has finalized height `height`, reading its event stream.
pub fn wait_height(api: &str, height: u64, deadline: Instant) {
    wait_event(
        api,
        deadline,
        &format!("height {height}"),
        || tip_height(api) >= height,
        |b| b.height >= height,
    )
}

/// `params.delta_ms` of the testnet's genesis (the consensus message-delay bound).
pub fn genesis_delta_ms(net: &Testnet) -> u64 {
    let g: chancery_core::genesis::Genesis = serde_json::from_str(
        &std::fs::read_to_string(net.dir.path().join("genesis.json")).expect("genesis"),
    )
    .expect("genesis JSON");
    g.params.delta_ms
}

/// The testnet's nodes, in manifest order (by name).
pub const NAMES: [&str; 5] = ["cnao-1", "mof-1", "nda-1", "ndrc-1", "observer-1"];

/// Poll the nodes `idx` for `window`: none may finalize beyond `tips` (same order); `why`
/// completes the failure message. No event marks "nothing more arrives", so proving a
/// negative needs this observation window; it is not synchronisation.
pub fn assert_no_progress(
    apis: &[String],
    idx: &[usize],
    tips: &[u64],
    window: Duration,
    why: &str,
) {
    let start = Instant::now();
    let mut polls = 0u32;
    while start.elapsed() < window {
        for (&i, &tip) in idx.iter().zip(tips) {
            let s = status(&apis[i]);
            assert_eq!(
                s.tip.height, tip,
                "{} finalized a block {why}: {s:?}",
                NAMES[i]
            );
        }
        polls += 1;
        std::thread::sleep(Duration::from_millis(100)); // poll interval, not a sync point
    }
    assert!(polls >= 10, "too few polls ({polls}) to observe the window");
}

/// A node's `/v1/status`.
pub fn status(api: &str) -> StatusDto {
    client(api).status().unwrap_or_else(|e| panic!("{e}"))
}

/// Wait (up to 30 s) until each node of `idx` holds pending transactions: the event that
/// submitted load has reached it.
pub fn wait_mempool_nonempty(apis: &[String], idx: &[usize]) {
    for &i in idx {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let s = status(&apis[i]);
            if s.node.mempool_txs > 0 {
                break;
            }
            assert!(
                Instant::now() < until,
                "{}: transactions never arrived: {s:?}",
                NAMES[i]
            );
            std::thread::sleep(Duration::from_millis(50)); // poll interval, not a sync point
        }
    }
}
