//! `chancery-testnet soak`: a Jepsen-style run (issue 20). A fresh network of 4 or 7
//! validators, each in its own network namespace (root), under steady load, with a seeded
//! schedule of faults; then an independent check (`soak_check.rs`).
//!
//! * Load: one thread per agency member key submits batches of `AnchorDocument` records
//!   (consecutive sequence numbers) to a random node and polls the nodes until each is
//!   `finalized` (acknowledged: its hash is recorded) or `rejected`. A batch not committed
//!   within `RESUBMIT_MS` is sent again, the same bytes, to another node; after
//!   `ABANDON_MS` it is given up (unacknowledged, so not counted as lost) and the signer's
//!   sequence is read again from the ledger.
//! * Faults, one at a time, each on at most f = (n-1)/3 validators, so a quorum always
//!   remains: SIGKILL then start, SIGSTOP then SIGCONT, SIGTERM then start (restart), a
//!   minority cut off, a bridge (the victims reach only one node of the majority), the
//!   proposer of the latest block isolated, and a slow disk (the node's process moved into
//!   a blkio/io cgroup throttled on its data directory's device). A clock jump is not
//!   injected: see [`CLOCK_JUMP_SKIPPED`]. After each fault ends the run measures the
//!   stall: the time until every node's height passes the highest height any node had when
//!   the fault ended; the next fault waits for it (at most `RECOVERY_MAX_MS`, else a
//!   liveness violation ends the fault schedule).
//! * Checkpoints: every `CHECKPOINT_EVERY_MS` one node's latest checkpoint is kept, for the
//!   checker's pairwise consistency proofs.
//!
//! The schedule is a pure function of (seed, duration, validators) ([`schedule`]); the run
//! prints each fault with its time, and on a violation the replay command.

use crate::manifest::Manifest;
use crate::soak_check::{self, CheckpointReport, Findings, SeenCheckpoint};
use crate::{manifest, netns, procs};
use anyhow::{anyhow, bail, Context, Result};
use chancery_client::types::BatchItem;
use chancery_client::Client;
use chancery_core::crypto::SecretKey;
use chancery_core::record::{AnchorDocument, DocumentRef, Record, RecordRef};
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::{domain, ChainId, Seq};
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Why no clock jump is injected (printed in the summary and in docs/testing.md).
pub const CLOCK_JUMP_SKIPPED: &str = "clock jump not injected: the nodes read CLOCK_REALTIME, \
     which Linux time namespaces do not virtualise (they offset only the monotonic and boot \
     clocks), libfaketime is not installed, and setting the machine's clock would move every \
     node's clock (and the other users'), not one node's";

/// Time before the first fault, in milliseconds (the network forms and the load starts).
const WARMUP_MS: u64 = 5_000;
/// Shortest and longest pause between the end of one fault's recovery and the next fault.
const GAP_MS: (u64, u64) = (2_000, 8_000);
/// Shortest and longest time a fault is held (a node down, paused, cut off, throttled).
const HOLD_MS: (u64, u64) = (3_000, 12_000);
/// Longest wait, after a fault ends, for every node's height to pass the highest height
/// seen when it ended; longer is a liveness violation.
pub const RECOVERY_MAX_MS: u64 = 180_000;
/// Pause between two polls of the nodes' status while waiting, in milliseconds.
const POLL_MS: u64 = 200;
/// Bound of one status or transaction query during the run, in milliseconds (a paused or
/// cut-off node must not hold the load or the monitor for long).
const QUERY_TIMEOUT_MS: u64 = 2_000;
/// Bound of one submission, in milliseconds.
const SUBMIT_TIMEOUT_MS: u64 = 5_000;
/// Transactions per submitted batch (consecutive sequence numbers of one signer).
const BATCH_TXS: u64 = 5;
/// A batch not committed after this long is sent again, to another node, in milliseconds.
const RESUBMIT_MS: u64 = 6_000;
/// A batch not committed after this long is given up (unacknowledged), in milliseconds.
const ABANDON_MS: u64 = 90_000;
/// Once the load is stopping, a batch not committed after this long is given up, in
/// milliseconds (the run does not wait `ABANDON_MS` for a batch that cannot commit).
const STOPPING_ABANDON_MS: u64 = 20_000;
/// How often one node's latest checkpoint is collected, in milliseconds.
const CHECKPOINT_EVERY_MS: u64 = 15_000;
/// Most checkpoints collected (the checker verifies every pair: quadratic).
pub const CHECKPOINTS_MAX: usize = 200;
/// Longest wait, after the load stops, for every node to reach the others' log size.
const CONVERGE_MAX_MS: u64 = 180_000;
/// Write (and read) bandwidth of the slow disk, in bytes per second.
const SLOW_DISK_BPS: u64 = 256 * 1024;
/// Write (and read) operations per second of the slow disk.
const SLOW_DISK_IOPS: u64 = 20;
/// Where the cgroup hierarchies are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// What the soak was asked to do.
pub struct Args {
    /// Directory for the network (must not hold one).
    pub dir: PathBuf,
    /// How long faults are injected, in seconds.
    pub duration_s: u64,
    /// The schedule's seed (random if not given; printed either way).
    pub seed: Option<u64>,
    /// 4 or 7.
    pub validators: usize,
    /// Print the summary as JSON on stdout (the timeline goes to stderr).
    pub json: bool,
    /// First port of the network (see `up --base-port`).
    pub base_port: u16,
    /// The chain's crypto suite.
    pub crypto: chancery_core::suite::Suite,
}

// ------------------------------------------------------------------ the schedule

/// A kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// SIGKILL, held down, then started again.
    Kill,
    /// SIGSTOP, held, then SIGCONT.
    Pause,
    /// SIGTERM (clean stop), then started again at once.
    Restart,
    /// The targets (a minority) cut off from the rest.
    PartitionMinority,
    /// The targets reach only the bridge node, which also reaches the rest.
    PartitionBridge,
    /// The proposer of the latest block cut off from everyone.
    IsolateLeader,
    /// The target's process throttled on its data directory's disk.
    SlowDisk,
}

/// Every kind the schedule draws from.
pub const FAULT_KINDS: [FaultKind; 7] = [
    FaultKind::Kill,
    FaultKind::Pause,
    FaultKind::Restart,
    FaultKind::PartitionMinority,
    FaultKind::PartitionBridge,
    FaultKind::IsolateLeader,
    FaultKind::SlowDisk,
];

impl FaultKind {
    fn name(self) -> &'static str {
        match self {
            FaultKind::Kill => "kill",
            FaultKind::Pause => "pause",
            FaultKind::Restart => "restart",
            FaultKind::PartitionMinority => "partition_minority",
            FaultKind::PartitionBridge => "partition_bridge",
            FaultKind::IsolateLeader => "isolate_leader",
            FaultKind::SlowDisk => "slow_disk",
        }
    }
}

/// One planned fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Planned {
    /// Earliest start, in milliseconds from the start of the run (a fault also waits for
    /// the previous one's recovery).
    pub at_ms: u64,
    /// What.
    pub kind: FaultKind,
    /// The faulty validators (indexes in manifest order). For `IsolateLeader`, the one
    /// isolated if the leader cannot be read when the fault starts.
    pub targets: Vec<usize>,
    /// For `PartitionBridge`: the node that reaches both sides.
    pub bridge: Option<usize>,
    /// How long it is held, in milliseconds (0 for a restart).
    pub hold_ms: u64,
}

/// SplitMix64: a small seeded generator, enough for a reproducible schedule.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi` (`lo` if `hi < lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }
    /// `k` distinct indexes of `0..n`, sorted.
    fn pick(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..k.min(n) {
            let j = i + (self.next_u64() % (n - i) as u64) as usize;
            all.swap(i, j);
        }
        let mut out: Vec<usize> = all.into_iter().take(k.min(n)).collect();
        out.sort_unstable();
        out
    }
}

/// Faulty validators a network of `n` tolerates.
pub fn f_of(n: usize) -> usize {
    n.saturating_sub(1) / 3
}

/// The fault schedule of a run: a pure function of its arguments.
pub fn schedule(seed: u64, duration_ms: u64, n: usize) -> Vec<Planned> {
    let mut rng = Rng::new(seed);
    let f = f_of(n).max(1);
    let mut out = Vec::new();
    let mut t = WARMUP_MS;
    while t < duration_ms {
        let kind = FAULT_KINDS[(rng.next_u64() % FAULT_KINDS.len() as u64) as usize];
        let hold_ms = if kind == FaultKind::Restart {
            0
        } else {
            rng.range(HOLD_MS.0, HOLD_MS.1)
        };
        // Kills, pauses and partitions take up to f validators; the rest one.
        let k = match kind {
            FaultKind::Kill
            | FaultKind::Pause
            | FaultKind::PartitionMinority
            | FaultKind::PartitionBridge => rng.range(1, f as u64) as usize,
            _ => 1,
        };
        let targets = rng.pick(n, k);
        let bridge = if kind == FaultKind::PartitionBridge {
            let rest: Vec<usize> = (0..n).filter(|i| !targets.contains(i)).collect();
            Some(rest[(rng.next_u64() % rest.len() as u64) as usize])
        } else {
            None
        };
        out.push(Planned {
            at_ms: t,
            kind,
            targets,
            bridge,
            hold_ms,
        });
        t += hold_ms + rng.range(GAP_MS.0, GAP_MS.1);
    }
    out
}

/// The pairs of nodes (i < j) that cannot reach each other under a partition fault.
fn cut_pairs(
    kind: FaultKind,
    targets: &[usize],
    bridge: Option<usize>,
    n: usize,
) -> BTreeSet<(usize, usize)> {
    let mut cut = BTreeSet::new();
    for &t in targets {
        for o in (0..n).filter(|o| !targets.contains(o)) {
            if kind == FaultKind::PartitionBridge && Some(o) == bridge {
                continue;
            }
            cut.insert((t.min(o), t.max(o)));
        }
    }
    cut
}

// ------------------------------------------------------------------ the run

/// One fault as injected.
#[derive(Clone, Debug, Serialize)]
pub struct Injected {
    /// Seconds from the start of the run.
    pub at_s: f64,
    /// What.
    pub kind: FaultKind,
    /// The faulty nodes.
    pub nodes: Vec<String>,
    /// For a bridge: the node that reaches both sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    /// How long it was held, in milliseconds.
    pub hold_ms: u64,
    /// From its end until every node's height passed the highest seen then, in ms.
    pub stall_ms: Option<u64>,
    /// Why it was not injected, if it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// The load's results.
#[derive(Debug, Default)]
struct LoadStats {
    acked: Vec<String>,
    submitted: u64,
    rejected: u64,
    abandoned: u64,
}

/// The summary (`--json`).
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The schedule's seed.
    pub seed: u64,
    /// Validators.
    pub validators: usize,
    /// Seconds of faults asked for.
    pub duration_s: u64,
    /// Seconds the whole run took (network up to checks done).
    pub elapsed_s: f64,
    /// Faults injected, by kind.
    pub faults: BTreeMap<FaultKind, u64>,
    /// All faults injected.
    pub faults_total: u64,
    /// Faults of the schedule not injected, by kind (with why in the timeline).
    pub faults_skipped: BTreeMap<FaultKind, u64>,
    /// Why the clock jump is not among the faults.
    pub clock_jump: String,
    /// Transactions admitted by a node.
    pub submitted: u64,
    /// Transactions acknowledged as finalized.
    pub acknowledged: usize,
    /// Transactions committed as rejected (e.g. a sequence reused after a give-up).
    pub rejected: u64,
    /// Transactions given up on (never acknowledged; not counted as lost).
    pub abandoned: u64,
    /// (node, acknowledged tx) pairs missing from a log.
    pub lost: usize,
    /// (node, tx) pairs at two indexes of one log.
    pub duplicated: usize,
    /// Node pairs whose logs or chains differ.
    pub divergence: usize,
    /// Longest stall after a fault ended, in milliseconds.
    pub longest_stall_after_heal_ms: u64,
    /// Which fault that was.
    pub longest_stall_fault: Option<String>,
    /// Final height and log size of the longest log.
    pub final_height: u64,
    /// Final log size.
    pub final_log_size: u64,
    /// Checkpoints and pairwise consistency proofs verified.
    pub checkpoints: CheckpointReport,
    /// `chancery-node check` per node: its last line, or why it failed.
    pub node_check: BTreeMap<String, String>,
    /// `chancery audit --data` per node: its last line, or why it failed.
    pub audit: BTreeMap<String, String>,
    /// The checker's findings in detail (first ones of each kind).
    pub findings: Findings,
    /// Every violation, in words; empty on a clean run.
    pub violations: Vec<String>,
    /// The command that replays this run's schedule.
    pub replay: String,
    /// Every fault injected, in order.
    pub timeline: Vec<Injected>,
}

/// A client with the run's short query bound.
fn quick(api: &str) -> Client {
    Client::with_timeout_ms(api, Some(QUERY_TIMEOUT_MS))
}

/// The soak: network up, load and faults for `duration_s`, checks, summary.
pub fn run(a: Args) -> Result<()> {
    netns::require_root("soak")?;
    if a.validators != 4 && a.validators != 7 {
        bail!("--validators must be 4 or 7, found {}", a.validators);
    }
    if a.dir.exists()
        && std::fs::read_dir(&a.dir)
            .with_context(|| format!("listing {}", a.dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty: the soak makes a fresh network; give it a new or empty --dir",
            a.dir.display()
        );
    }
    let seed = a.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let replay = format!(
        "chancery-testnet soak --dir NEW_DIR --duration-s {} --seed {seed} --validators {}{}",
        a.duration_s,
        a.validators,
        if a.json { " --json" } else { "" }
    );
    let log = |line: String| {
        if a.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    log(format!(
        "soak: seed {seed}, {} validators, {} s of faults; replay with: {replay}",
        a.validators, a.duration_s
    ));
    let started = Instant::now();

    // The network: generated, namespaced, started.
    generate(&a.dir, a.validators, a.base_port, a.crypto)?;
    let mut m = manifest::from_configs(&a.dir)?;
    netns::plan(&mut m)?;
    m.save(&a.dir)?;
    netns::setup(&m)?;
    let result = (|| -> Result<Summary> {
        for n in &mut m.nodes {
            n.pid = procs::spawn(&a.dir, n)?;
        }
        m.save(&a.dir)?;
        for n in &m.nodes {
            procs::wait_ready(n, Duration::from_secs(120)).with_context(|| {
                format!(
                    "{} did not become ready; see {}",
                    n.name,
                    n.log_path().display()
                )
            })?;
        }
        let mut s = Soak::new(&a, seed, &mut m, log)?;
        s.run_faults()?;
        s.finish(started, replay.clone())
    })();
    // Whatever happened, stop the nodes and remove the network.
    let _ = netns::heal(&mut m);
    for n in &m.nodes {
        let _ = signal::kill(Pid::from_raw(n.pid as i32), Signal::SIGCONT);
        let _ = procs::stop(n);
    }
    let _ = m.save(&a.dir);
    let _ = netns::teardown(&m);
    let mut summary = result?;
    // The offline checks, on the stopped nodes.
    let genesis_path = m.genesis.clone();
    for n in &m.nodes {
        match soak_check::node_check(&n.data_dir, &genesis_path) {
            Ok(l) => summary.node_check.insert(n.name.clone(), l),
            Err(e) => {
                summary.violations.push(format!("{}: {e}", n.name));
                summary.node_check.insert(n.name.clone(), e)
            }
        };
        match soak_check::audit(&n.data_dir, &genesis_path) {
            Ok(l) => summary.audit.insert(n.name.clone(), l),
            Err(e) => {
                summary.violations.push(format!("{}: {e}", n.name));
                summary.audit.insert(n.name.clone(), e)
            }
        };
    }
    summary.elapsed_s = started.elapsed().as_secs_f64();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    if !summary.violations.is_empty() {
        bail!(
            "soak found {} violation(s) with seed {seed}: {}; replay with: {}",
            summary.violations.len(),
            summary.violations.join("; "),
            summary.replay
        );
    }
    Ok(())
}

/// `chancery-genesis testnet` without observers, its report kept off stdout (which holds
/// the JSON summary with `--json`).
fn generate(
    dir: &Path,
    validators: usize,
    base_port: u16,
    crypto: chancery_core::suite::Suite,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let out = std::process::Command::new(procs::sibling("chancery-genesis"))
        .arg("testnet")
        .args(["--crypto", crypto.name()])
        .args(["--validators", &validators.to_string()])
        .args(["--observers", "0"])
        .args(["--base-port", &base_port.to_string()])
        .arg("--out")
        .arg(dir)
        .output()
        .context(
            "running chancery-genesis testnet (is it built? `cargo build -p chancery-genesis`)",
        )?;
    if !out.status.success() {
        bail!(
            "chancery-genesis testnet failed with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn print_summary(s: &Summary) {
    println!(
        "soak summary (seed {}, {} validators):",
        s.seed, s.validators
    );
    let kinds: Vec<String> = s
        .faults
        .iter()
        .map(|(k, v)| format!("{} {v}", k.name()))
        .collect();
    println!(
        "  faults injected: {} ({})",
        s.faults_total,
        kinds.join(", ")
    );
    if !s.faults_skipped.is_empty() {
        let sk: Vec<String> = s
            .faults_skipped
            .iter()
            .map(|(k, v)| format!("{} {v}", k.name()))
            .collect();
        println!("  faults skipped: {}", sk.join(", "));
    }
    println!("  {}", s.clock_jump);
    println!(
        "  transactions: {} admitted, {} acknowledged, {} rejected, {} abandoned",
        s.submitted, s.acknowledged, s.rejected, s.abandoned
    );
    println!(
        "  lost {}, duplicated {}, divergence {}",
        s.lost, s.duplicated, s.divergence
    );
    println!(
        "  longest stall after a heal: {} ms ({})",
        s.longest_stall_after_heal_ms,
        s.longest_stall_fault.as_deref().unwrap_or("-")
    );
    println!(
        "  checkpoints: {} verified, {} pairs consistent, {} failures",
        s.checkpoints.checkpoints,
        s.checkpoints.pairs_verified,
        s.checkpoints.failures.len()
    );
    println!(
        "  final height {}, log size {}",
        s.final_height, s.final_log_size
    );
    for (n, l) in &s.node_check {
        println!("  check {n}: {l}");
    }
    for (n, l) in &s.audit {
        println!("  audit {n}: {l}");
    }
    if s.violations.is_empty() {
        println!("  no violation");
    } else {
        for v in &s.violations {
            println!("  VIOLATION: {v}");
        }
        println!("  replay: {}", s.replay);
    }
}

/// The running soak.
struct Soak<'a, L: Fn(String)> {
    dir: PathBuf,
    seed: u64,
    duration_ms: u64,
    m: &'a mut Manifest,
    log: L,
    start: Instant,
    stop: Arc<AtomicBool>,
    load: Arc<Mutex<LoadStats>>,
    workers: Vec<std::thread::JoinHandle<()>>,
    checkpoints: Vec<SeenCheckpoint>,
    last_checkpoint: Instant,
    checkpoint_turn: usize,
    timeline: Vec<Injected>,
    violations: Vec<String>,
    slow_disk: Result<SlowDisk, String>,
}

impl<'a, L: Fn(String)> Soak<'a, L> {
    fn new(a: &Args, seed: u64, m: &'a mut Manifest, log: L) -> Result<Self> {
        let genesis = chancery_genesis::load_genesis(&m.genesis)?;
        let chain = genesis.chain_id();
        let apis: Vec<String> = m.nodes.iter().map(|n| n.api.clone()).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let load = Arc::new(Mutex::new(LoadStats::default()));
        let mut workers = Vec::new();
        for (i, k) in m.member_keys.iter().enumerate() {
            let key = chancery_genesis::read_key_file(&k.key)
                .with_context(|| format!("reading {}", k.key.display()))?
                .secret;
            let w = Worker {
                agency: k.agency.clone(),
                key,
                chain,
                apis: apis.clone(),
                rng: Rng::new(seed ^ (0xA5A5_0000 + i as u64)),
                stop: stop.clone(),
                stats: load.clone(),
                counter: 0,
            };
            workers.push(std::thread::spawn(move || w.run()));
        }
        let slow_disk = SlowDisk::probe(&m.nodes[0].data_dir);
        Ok(Soak {
            dir: a.dir.clone(),
            seed,
            duration_ms: a.duration_s.saturating_mul(1000),
            m,
            log,
            start: Instant::now(),
            stop,
            load,
            workers,
            checkpoints: Vec::new(),
            last_checkpoint: Instant::now() - Duration::from_millis(CHECKPOINT_EVERY_MS),
            checkpoint_turn: 0,
            timeline: Vec::new(),
            violations: Vec::new(),
            slow_disk,
        })
    }

    fn t_s(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn say(&self, what: String) {
        (self.log)(format!("[{:>8.1} s] {what}", self.t_s()));
    }

    /// Sleep until `until`, collecting checkpoints on the way.
    fn idle_until(&mut self, until: Instant) {
        loop {
            self.maybe_checkpoint();
            let now = Instant::now();
            if now >= until {
                return;
            }
            // Waiting on the wall clock: the fault's hold or gap is the point.
            std::thread::sleep((until - now).min(Duration::from_millis(POLL_MS)));
        }
    }

    fn maybe_checkpoint(&mut self) {
        if self.last_checkpoint.elapsed() < Duration::from_millis(CHECKPOINT_EVERY_MS)
            || self.checkpoints.len() >= CHECKPOINTS_MAX
        {
            return;
        }
        self.last_checkpoint = Instant::now();
        let n = self.m.nodes.len();
        for k in 0..n {
            let node = &self.m.nodes[(self.checkpoint_turn + k) % n];
            if let Ok(cp) = quick(&node.api).checkpoint_latest() {
                if let Ok(bytes) = hex::decode(&cp.checkpoint) {
                    self.checkpoints.push(SeenCheckpoint {
                        node: node.name.clone(),
                        bytes,
                    });
                    break;
                }
            }
        }
        self.checkpoint_turn += 1;
    }

    /// Heights of the nodes that answer now.
    fn heights(&self) -> Vec<Option<u64>> {
        self.m
            .nodes
            .iter()
            .map(|n| quick(&n.api).status().ok().map(|s| s.tip.height))
            .collect()
    }

    fn run_faults(&mut self) -> Result<()> {
        let plan = schedule(self.seed, self.duration_ms, self.m.nodes.len());
        let end = self.start + Duration::from_millis(self.duration_ms);
        for p in plan {
            let at = self.start + Duration::from_millis(p.at_ms);
            if at >= end {
                break;
            }
            self.idle_until(at);
            if Instant::now() >= end {
                break;
            }
            let injected = self.inject(&p)?;
            let failed = injected.stall_ms.is_none() && injected.skipped.is_none();
            self.timeline.push(injected);
            if failed {
                // Liveness lost: more faults would only hide what happened.
                self.say("stopping the fault schedule after a liveness violation".into());
                break;
            }
        }
        self.idle_until(end);
        Ok(())
    }

    fn spawn(&mut self, i: usize) -> Result<()> {
        let pid = procs::spawn(&self.dir, &self.m.nodes[i])?;
        self.m.nodes[i].pid = pid;
        self.m.save(&self.dir)?;
        Ok(())
    }

    /// The validator that proposed the latest block, if a node says.
    fn leader(&self) -> Option<usize> {
        for n in &self.m.nodes {
            let c = quick(&n.api);
            let (Ok(b), Ok(v)) = (c.block_latest(), c.validators()) else {
                continue;
            };
            let idx = b.header.get("proposer")?.as_u64()?;
            let name = &v
                .validators
                .iter()
                .find(|x| u64::from(x.index) == idx)?
                .name;
            return self.m.nodes.iter().position(|n| &n.name == name);
        }
        None
    }

    fn cut(&mut self, pairs: &BTreeSet<(usize, usize)>) -> Result<()> {
        netns::heal(self.m)?;
        let n = self.m.nodes.len();
        for i in 0..n {
            let foreign: Vec<Ipv4Addr> = (0..n)
                .filter(|&j| pairs.contains(&(i.min(j), i.max(j))))
                .filter_map(|j| self.m.nodes[j].netns.as_ref().map(|ns| ns.ip))
                .collect();
            if foreign.is_empty() {
                continue;
            }
            let veth = self.m.nodes[i]
                .netns
                .as_ref()
                .ok_or_else(|| anyhow!("{} has no namespace", self.m.nodes[i].name))?
                .veth
                .clone();
            netns::cut(&veth, &foreign)?;
        }
        Ok(())
    }

    fn inject(&mut self, p: &Planned) -> Result<Injected> {
        let mut targets = p.targets.clone();
        if p.kind == FaultKind::IsolateLeader {
            if let Some(l) = self.leader() {
                targets = vec![l];
            }
        }
        let names: Vec<String> = targets
            .iter()
            .map(|&i| self.m.nodes[i].name.clone())
            .collect();
        let bridge = p.bridge.map(|b| self.m.nodes[b].name.clone());
        let mut rec = Injected {
            at_s: self.t_s(),
            kind: p.kind,
            nodes: names.clone(),
            bridge: bridge.clone(),
            hold_ms: p.hold_ms,
            stall_ms: None,
            skipped: None,
        };
        let hold = Duration::from_millis(p.hold_ms);
        let shown = names.join(",");
        match p.kind {
            FaultKind::Kill => {
                self.say(format!("kill -9 {shown} (down {} ms)", p.hold_ms));
                for &i in &targets {
                    procs::kill(&self.m.nodes[i])?;
                }
                self.idle_until(Instant::now() + hold);
                for &i in &targets {
                    self.spawn(i)?;
                }
                self.say(format!("started {shown}"));
            }
            FaultKind::Pause => {
                self.say(format!("SIGSTOP {shown} (paused {} ms)", p.hold_ms));
                for &i in &targets {
                    signal::kill(Pid::from_raw(self.m.nodes[i].pid as i32), Signal::SIGSTOP)?;
                }
                self.idle_until(Instant::now() + hold);
                for &i in &targets {
                    signal::kill(Pid::from_raw(self.m.nodes[i].pid as i32), Signal::SIGCONT)?;
                }
                self.say(format!("SIGCONT {shown}"));
            }
            FaultKind::Restart => {
                self.say(format!("restart (SIGTERM, start) {shown}"));
                for &i in &targets {
                    procs::stop(&self.m.nodes[i])?;
                    self.spawn(i)?;
                }
            }
            FaultKind::PartitionMinority
            | FaultKind::PartitionBridge
            | FaultKind::IsolateLeader => {
                let n = self.m.nodes.len();
                let pairs = cut_pairs(p.kind, &targets, p.bridge, n);
                let what = match (p.kind, &bridge) {
                    (FaultKind::PartitionBridge, Some(b)) => {
                        format!("bridge partition: {shown} reach only {b}")
                    }
                    (FaultKind::IsolateLeader, _) => format!("isolate the leader {shown}"),
                    _ => format!("partition: {shown} cut off from the rest"),
                };
                self.say(format!("{what} ({} ms)", p.hold_ms));
                self.cut(&pairs)?;
                self.idle_until(Instant::now() + hold);
                netns::heal(self.m)?;
                self.say("healed".into());
            }
            FaultKind::SlowDisk => {
                let i = targets[0];
                match &self.slow_disk {
                    Err(why) => {
                        self.say(format!("slow disk on {shown}: SKIPPED ({why})"));
                        rec.skipped = Some(why.clone());
                        return Ok(rec);
                    }
                    Ok(sd) => {
                        let sd = sd.clone();
                        let pid = self.m.nodes[i].pid;
                        self.say(format!(
                            "slow disk on {shown}: {} KiB/s, {SLOW_DISK_IOPS} IOPS via {} ({} ms)",
                            SLOW_DISK_BPS / 1024,
                            sd.how(),
                            p.hold_ms
                        ));
                        let undo = sd.throttle(pid)?;
                        self.idle_until(Instant::now() + hold);
                        sd.release(pid, &undo)?;
                        self.say(format!("disk of {shown} unthrottled"));
                    }
                }
            }
        }
        rec.stall_ms = self.recover(&format!("{} {shown}", p.kind.name()));
        Ok(rec)
    }

    /// After a fault: wait until every node's height passes the highest seen now. The
    /// stall in milliseconds, or None (a violation) after `RECOVERY_MAX_MS`.
    fn recover(&mut self, what: &str) -> Option<u64> {
        let t0 = Instant::now();
        let top = self.heights().into_iter().flatten().max().unwrap_or(0);
        loop {
            let hs = self.heights();
            if hs.iter().all(|h| h.is_some_and(|h| h > top)) {
                let ms = t0.elapsed().as_millis() as u64;
                self.say(format!("all nodes past height {top} after {ms} ms"));
                return Some(ms);
            }
            if t0.elapsed() > Duration::from_millis(RECOVERY_MAX_MS) {
                let v = format!(
                    "liveness: {RECOVERY_MAX_MS} ms after {what} ended, not every node passed \
                     height {top} (heights {hs:?})"
                );
                self.say(v.clone());
                self.violations.push(v);
                return None;
            }
            self.idle_until(Instant::now() + Duration::from_millis(POLL_MS));
        }
    }

    /// Stop the load, let the nodes converge, check.
    fn finish(mut self, started: Instant, replay: String) -> Result<Summary> {
        self.say("fault schedule done: stopping the load".into());
        self.stop.store(true, Ordering::SeqCst);
        for w in std::mem::take(&mut self.workers) {
            let _ = w.join();
        }
        // Every node reaches the longest log seen now.
        let sizes = || -> Vec<Option<u64>> {
            self.m
                .nodes
                .iter()
                .map(|n| quick(&n.api).status().ok().map(|s| s.tip.log_size))
                .collect()
        };
        let target = sizes().into_iter().flatten().max().unwrap_or(0);
        let t0 = Instant::now();
        loop {
            let now = sizes();
            if now.iter().all(|s| s.is_some_and(|s| s >= target)) {
                break;
            }
            if t0.elapsed() > Duration::from_millis(CONVERGE_MAX_MS) {
                self.violations.push(format!(
                    "liveness: {CONVERGE_MAX_MS} ms after the load stopped, not every node \
                     reached log size {target} ({now:?})"
                ));
                break;
            }
            std::thread::sleep(Duration::from_millis(POLL_MS)); // polling other processes
        }
        self.last_checkpoint = Instant::now() - Duration::from_millis(CHECKPOINT_EVERY_MS);
        self.maybe_checkpoint();
        self.say("reading every node's blocks".into());
        let genesis = chancery_genesis::load_genesis(&self.m.genesis)?;
        let mut logs = Vec::new();
        for n in &self.m.nodes {
            logs.push(soak_check::fetch_log(genesis.crypto, &n.name, &n.api)?);
        }
        let stats = std::mem::take(&mut *self.load.lock().map_err(|_| anyhow!("load stats"))?);
        let findings = soak_check::check_logs(&stats.acked, &logs);
        let longest = logs
            .iter()
            .max_by_key(|l| l.txs.len())
            .ok_or_else(|| anyhow!("no logs"))?;
        let reference = self.m.node(&longest.node)?.api.clone();
        self.say(format!(
            "verifying {} checkpoints pairwise through {reference}",
            self.checkpoints.len()
        ));
        let checkpoints = soak_check::verify_checkpoints(&self.checkpoints, &genesis, &reference)?;
        let mut violations = std::mem::take(&mut self.violations);
        if findings.lost > 0 {
            violations.push(format!(
                "{} acknowledged transaction(s) lost: {:?}",
                findings.lost, findings.lost_shown
            ));
        }
        if findings.duplicated > 0 {
            violations.push(format!(
                "{} duplicated: {:?}",
                findings.duplicated, findings.duplicated_shown
            ));
        }
        if findings.divergence > 0 {
            violations.push(format!(
                "{} divergence(s): {:?}",
                findings.divergence, findings.divergence_shown
            ));
        }
        violations.extend(checkpoints.failures.iter().cloned());
        let mut faults = BTreeMap::new();
        let mut skipped = BTreeMap::new();
        for i in &self.timeline {
            let m = if i.skipped.is_some() {
                &mut skipped
            } else {
                &mut faults
            };
            *m.entry(i.kind).or_insert(0u64) += 1;
        }
        let (stall, stall_fault) = self
            .timeline
            .iter()
            .filter_map(|i| i.stall_ms.map(|s| (s, i)))
            .max_by_key(|(s, _)| *s)
            .map(|(s, i)| {
                (
                    s,
                    Some(format!(
                        "{} {} at {:.1} s",
                        i.kind.name(),
                        i.nodes.join(","),
                        i.at_s
                    )),
                )
            })
            .unwrap_or((0, None));
        Ok(Summary {
            seed: self.seed,
            validators: self.m.nodes.len(),
            duration_s: self.duration_ms / 1000,
            elapsed_s: started.elapsed().as_secs_f64(),
            faults_total: faults.values().sum(),
            faults,
            faults_skipped: skipped,
            clock_jump: CLOCK_JUMP_SKIPPED.to_string(),
            submitted: stats.submitted,
            acknowledged: stats.acked.len(),
            rejected: stats.rejected,
            abandoned: stats.abandoned,
            lost: findings.lost,
            duplicated: findings.duplicated,
            divergence: findings.divergence,
            longest_stall_after_heal_ms: stall,
            longest_stall_fault: stall_fault,
            final_height: longest.headers.len() as u64,
            final_log_size: longest.txs.len() as u64,
            checkpoints,
            node_check: BTreeMap::new(),
            audit: BTreeMap::new(),
            findings,
            violations,
            replay,
            timeline: self.timeline,
        })
    }
}

// ------------------------------------------------------------------ the load

struct Worker {
    agency: String,
    key: SecretKey,
    chain: ChainId,
    apis: Vec<String>,
    rng: Rng,
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<LoadStats>>,
    counter: u64,
}

impl Worker {
    fn any(&mut self) -> usize {
        (self.rng.next_u64() % self.apis.len() as u64) as usize
    }

    /// The signer's next sequence number: the highest any node reports (a node that lags
    /// behind, e.g. just healed, reports an older one, and transactions built on it would
    /// be refused by the others and never commit).
    fn next_seq(&mut self) -> Option<u64> {
        let key = self.key.public().to_string();
        self.apis
            .iter()
            .filter_map(|api| quick(api).member(&key).ok().map(|m| m.next_seq))
            .max()
    }

    fn tx(&mut self, seq: u64) -> String {
        self.counter += 1;
        let title = format!("soak {} seq {seq} n {}", self.agency, self.counter);
        let record = Record::AnchorDocument(AnchorDocument {
            document: DocumentRef {
                hash: self
                    .key
                    .suite()
                    .hash(domain::DOCUMENT_HASH, title.as_bytes()),
                kind: "soak".into(),
                title,
                url: String::new(),
            },
            supports: RecordRef::None,
        });
        let body = TxBody {
            chain_id: self.chain,
            signer: self.key.public(),
            seq: Seq(seq),
            record,
        };
        hex::encode(Transaction::sign(body, &self.key).to_bytes())
    }

    /// Submit `txs` to one node; the hashes of those admitted, in order, up to the first
    /// refusal (a later one would wait for the refused sequence number forever).
    fn submit(&mut self, node: usize, txs: &[String]) -> Vec<String> {
        let c = Client::with_timeout_ms(&self.apis[node], Some(SUBMIT_TIMEOUT_MS));
        match c.submit_batch(txs.to_vec()) {
            Ok(a) => a
                .results
                .into_iter()
                .map_while(|r| match r {
                    BatchItem::Admitted { hash } => Some(hash),
                    BatchItem::Refused { .. } => None,
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn run(mut self) {
        while !self.stop.load(Ordering::SeqCst) {
            let Some(seq) = self.next_seq() else {
                std::thread::sleep(Duration::from_millis(POLL_MS)); // no node answers yet
                continue;
            };
            let txs: Vec<String> = (seq..seq + BATCH_TXS).map(|s| self.tx(s)).collect();
            let node = self.any();
            let admitted = self.submit(node, &txs);
            if admitted.is_empty() {
                std::thread::sleep(Duration::from_millis(POLL_MS)); // the node is down or cut
                continue;
            }
            let sent: Vec<String> = txs[..admitted.len()].to_vec();
            if let Ok(mut s) = self.stats.lock() {
                s.submitted += admitted.len() as u64;
            }
            self.await_batch(admitted, sent);
        }
    }

    /// Poll until every admitted transaction is committed, sending the batch again to
    /// another node now and then; give up after `ABANDON_MS`.
    fn await_batch(&mut self, mut pending: Vec<String>, sent: Vec<String>) {
        let t0 = Instant::now();
        let mut last_send = Instant::now();
        while !pending.is_empty() {
            // Polling other processes' HTTP APIs: there is nothing to block on.
            std::thread::sleep(Duration::from_millis(POLL_MS));
            let i = self.any();
            let c = quick(&self.apis[i]);
            let mut still = Vec::new();
            for h in pending {
                match c.tx(&h) {
                    Ok(st) if st.status == "finalized" => {
                        if let Ok(mut s) = self.stats.lock() {
                            s.acked.push(h);
                        }
                    }
                    Ok(st) if st.is_committed() => {
                        if let Ok(mut s) = self.stats.lock() {
                            s.rejected += 1;
                        }
                    }
                    _ => still.push(h),
                }
            }
            pending = still;
            if pending.is_empty() {
                return;
            }
            let bound = if self.stop.load(Ordering::SeqCst) {
                STOPPING_ABANDON_MS
            } else {
                ABANDON_MS
            };
            if t0.elapsed() > Duration::from_millis(bound) {
                if let Ok(mut s) = self.stats.lock() {
                    s.abandoned += pending.len() as u64;
                }
                return;
            }
            if last_send.elapsed() > Duration::from_millis(RESUBMIT_MS) {
                last_send = Instant::now();
                let node = self.any();
                // The same bytes: a node that has them already says so.
                let _ = self.submit(node, &sent);
            }
        }
    }
}

// ------------------------------------------------------------------ the slow disk

/// A throttle on one block device through a cgroup: v2 `io.max` when the unified
/// hierarchy offers the io controller, else v1 `blkio.throttle.*`.
#[derive(Clone, Debug)]
struct SlowDisk {
    /// `MAJ:MIN` of the device holding the data directories.
    device: String,
    v2: bool,
}

/// Where a throttled process was, to put it back.
struct Undo {
    group: PathBuf,
    original: PathBuf,
}

fn dev_major_minor(dev: u64) -> (u64, u64) {
    // glibc's gnu_dev_major / gnu_dev_minor.
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major, minor)
}

impl SlowDisk {
    /// Can this machine throttle the disk of `data`? Err says why not.
    fn probe(data: &Path) -> Result<SlowDisk, String> {
        let meta = std::fs::metadata(data).map_err(|e| format!("stat {}: {e}", data.display()))?;
        let (major, minor) = dev_major_minor(meta.dev());
        let device = format!("{major}:{minor}");
        if !Path::new(&format!("/sys/dev/block/{device}")).exists() {
            return Err(format!(
                "the data directory is on device {device}, which is not a block device (tmpfs, \
                 overlay or a network file system): a cgroup cannot throttle it"
            ));
        }
        let root = Path::new(CGROUP_ROOT);
        let v2 = std::fs::read_to_string(root.join("cgroup.controllers"))
            .map(|s| s.split_whitespace().any(|c| c == "io"))
            .unwrap_or(false);
        if v2 {
            return Ok(SlowDisk { device, v2: true });
        }
        if root.join("blkio/blkio.throttle.write_bps_device").exists() {
            return Ok(SlowDisk { device, v2: false });
        }
        Err(
            "no cgroup v2 io controller and no cgroup v1 blkio throttle on this machine"
                .to_string(),
        )
    }

    fn how(&self) -> &'static str {
        if self.v2 {
            "cgroup v2 io.max"
        } else {
            "cgroup v1 blkio.throttle"
        }
    }

    fn hierarchy(&self) -> PathBuf {
        if self.v2 {
            PathBuf::from(CGROUP_ROOT)
        } else {
            Path::new(CGROUP_ROOT).join("blkio")
        }
    }

    /// The cgroup `pid` is in now, in this hierarchy.
    fn current(&self, pid: u32) -> Result<PathBuf> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .with_context(|| format!("reading /proc/{pid}/cgroup"))?;
        for line in text.lines() {
            let mut parts = line.splitn(3, ':');
            let (id, ctrls, path) = (parts.next(), parts.next(), parts.next());
            let hit = if self.v2 {
                id == Some("0") && ctrls == Some("")
            } else {
                ctrls.is_some_and(|c| c.split(',').any(|x| x == "blkio"))
            };
            if let (true, Some(p)) = (hit, path) {
                return Ok(self.hierarchy().join(p.trim_start_matches('/')));
            }
        }
        bail!("process {pid} is in no {} cgroup", self.how())
    }

    fn throttle(&self, pid: u32) -> Result<Undo> {
        let original = self.current(pid)?;
        let group = self.hierarchy().join(format!("chancery-soak-{pid}"));
        std::fs::create_dir_all(&group).with_context(|| format!("creating {}", group.display()))?;
        let d = &self.device;
        let w = |file: &str, v: String| -> Result<()> {
            std::fs::write(group.join(file), &v)
                .with_context(|| format!("writing {v:?} to {}", group.join(file).display()))
        };
        if self.v2 {
            let _ = std::fs::write(self.hierarchy().join("cgroup.subtree_control"), "+io");
            w(
                "io.max",
                format!(
                    "{d} rbps={SLOW_DISK_BPS} wbps={SLOW_DISK_BPS} riops={SLOW_DISK_IOPS} wiops={SLOW_DISK_IOPS}"
                ),
            )?;
        } else {
            w(
                "blkio.throttle.read_bps_device",
                format!("{d} {SLOW_DISK_BPS}"),
            )?;
            w(
                "blkio.throttle.write_bps_device",
                format!("{d} {SLOW_DISK_BPS}"),
            )?;
            w(
                "blkio.throttle.read_iops_device",
                format!("{d} {SLOW_DISK_IOPS}"),
            )?;
            w(
                "blkio.throttle.write_iops_device",
                format!("{d} {SLOW_DISK_IOPS}"),
            )?;
        }
        w("cgroup.procs", pid.to_string())?;
        Ok(Undo { group, original })
    }

    fn release(&self, pid: u32, u: &Undo) -> Result<()> {
        // The process may have died meanwhile: then there is nothing to move back.
        if procs::alive(pid) {
            std::fs::write(u.original.join("cgroup.procs"), pid.to_string())
                .with_context(|| format!("moving {pid} back to {}", u.original.display()))?;
        }
        std::fs::remove_dir(&u.group).with_context(|| format!("removing {}", u.group.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG_MS: u64 = 2 * 3600 * 1000;

    #[test]
    fn the_same_seed_gives_the_same_schedule_and_another_seed_another() {
        let a = schedule(42, LONG_MS, 4);
        assert!(!a.is_empty());
        assert_eq!(a, schedule(42, LONG_MS, 4));
        assert_ne!(a, schedule(43, LONG_MS, 4));
    }

    #[test]
    fn never_more_than_f_validators_faulty_at_once() {
        for n in [4usize, 7] {
            let f = f_of(n);
            for seed in 0..50 {
                let plan = schedule(seed, LONG_MS, n);
                for (i, p) in plan.iter().enumerate() {
                    assert!(
                        (1..=f).contains(&p.targets.len()),
                        "n {n} seed {seed}: {p:?} has {} faulty, f = {f}",
                        p.targets.len()
                    );
                    assert!(p.targets.iter().all(|&t| t < n));
                    if let Some(b) = p.bridge {
                        assert!(!p.targets.contains(&b), "the bridge is not a victim: {p:?}");
                    }
                    // One fault at a time: each ends before the next starts.
                    if let Some(next) = plan.get(i + 1) {
                        assert!(p.at_ms + p.hold_ms < next.at_ms, "{p:?} overlaps {next:?}");
                    }
                    // A partition leaves a connected quorum: the non-victims see each other.
                    let cut = cut_pairs(p.kind, &p.targets, p.bridge, n);
                    let victims: BTreeSet<usize> = cut
                        .iter()
                        .flat_map(|&(a, b)| [a, b])
                        .filter(|x| p.targets.contains(x))
                        .collect();
                    assert!(victims.len() <= f, "{p:?}: cut {cut:?}");
                    for &(a, b) in &cut {
                        assert!(
                            p.targets.contains(&a) != p.targets.contains(&b),
                            "{p:?} cuts two nodes on the same side: {a}, {b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_fault_kind_appears_in_a_long_schedule() {
        for n in [4usize, 7] {
            let kinds: BTreeSet<FaultKind> =
                schedule(7, LONG_MS, n).iter().map(|p| p.kind).collect();
            assert_eq!(
                kinds,
                FAULT_KINDS.into_iter().collect::<BTreeSet<_>>(),
                "n {n}"
            );
        }
    }

    #[test]
    fn a_bridge_keeps_the_victims_linked_to_the_bridge_only() {
        let cut = cut_pairs(FaultKind::PartitionBridge, &[0], Some(2), 4);
        assert_eq!(cut, [(0, 1), (0, 3)].into_iter().collect());
        let cut = cut_pairs(FaultKind::PartitionMinority, &[1], None, 4);
        assert_eq!(cut, [(0, 1), (1, 2), (1, 3)].into_iter().collect());
    }

    #[test]
    fn device_numbers_split_like_glibc() {
        // makedev(254, 0) and makedev(8, 17).
        assert_eq!(dev_major_minor(0xfe00), (254, 0));
        assert_eq!(dev_major_minor(0x811), (8, 17));
    }
}
