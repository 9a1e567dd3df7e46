//! The production host in the simulator (issue 20): `n` production
//! [`chancery_node::driver::Driver`]s — each with its `App`, a `Ledger` over a `MemStore`,
//! a `Mempool` and the node's own catch-up handler — on one
//! [`chancery_node::runtime::Deterministic`] runtime (virtual time, seeded scheduling),
//! joined by [`SimNet`], a seeded in-memory network with delay, loss, duplication and
//! reordering whose links are cut and healed by a seeded fault schedule. One node crashes
//! (its driver is dropped where it stands) and restarts over the same store; clients
//! submit transactions through the drivers' command channels and resubmit them elsewhere
//! when they are not finalized in time.
//!
//! Checked after every slice of virtual time: agreement (one block hash per height across
//! nodes; equal hashes mean equal state roots, and the state root each ledger computed is
//! compared too) and no driver error. After the run: every transaction a client saw
//! finalized is in every node's log exactly once (and no transaction is there twice),
//! every transaction a node admitted (and did not lose in a crash) was finalized, and
//! after the last heal every node's height rose (liveness). A failure names the seed and
//! the replay command ([`host_replay_command`]).
//!
//! Why not `chancery_net::MemNetwork`: it runs request handlers on Tokio's blocking pool
//! with a real-time timeout and delivers every message at once, so neither its timing nor
//! its order would follow the seed. [`SimNet`] answers requests on the simulator's
//! executor and delays each message by a seeded amount of virtual time.

use chancery_core::block::Outcome as TxOutcome;
use chancery_core::crypto::SecretKey;
use chancery_core::genesis::Genesis;
use chancery_core::ids::{Digest, Height, TxHash};
use chancery_core::tx::Transaction;
use chancery_ledger::testing::fixture::{anchor, Fixture};
use chancery_ledger::Ledger;
use chancery_net::{
    BoxFuture, Bytes, Channel, CountersSnapshot, Inbound, Misbehaviour, Network, PeerConfig,
    PeerName, PeerSetChange, PeerStatus, RequestError, RequestHandler, SendError, SetPeersError,
};
use chancery_node::app::{App, CLOCK_DRIFT_MS_MAX};
use chancery_node::compact::RecentTxs;
use chancery_node::driver::{Command, Driver, DriverParts, NodeStatus};
use chancery_node::runtime::{Deterministic, Runtime};
use chancery_node::statesync::SnapshotOffers;
use chancery_storage::mem::MemStore;
use chancery_storage::Store;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// Virtual time of one slice between two rounds of checks and client actions, in ms.
pub const SLICE_MS: u64 = 50;
/// Most polls in one slice before the run is declared a livelock.
pub const SLICE_POLLS_MAX: u64 = 2_000_000;
/// Most commands queued to a simulated node's driver.
const SIM_COMMANDS_MAX: usize = 256;
/// Events buffered per simulated node (nobody reads them; the driver never waits).
const SIM_EVENTS_MAX: usize = 64;
/// Messages a simulated node's inbound channel holds (as the network's default limit).
const SIM_INBOUND_MAX: usize = 4096;
/// Snapshot interval of the simulated nodes' handlers (state sync is not simulated).
const SIM_SNAPSHOT_INTERVAL_BLOCKS: u64 = 1_000;

/// The scenario of one host-simulator run; [`HostConfig::for_seed`] draws one from a seed.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Validators (the fixture's four).
    pub nodes: usize,
    /// Virtual time of the whole run, in ms.
    pub duration_ms: u64,
    /// When every fault is healed (links restored, crashed node restarted), in ms.
    pub heal_at_ms: u64,
    /// Least and most delay of a message, in ms.
    pub delay_min_ms: u64,
    /// See `delay_min_ms`.
    pub delay_max_ms: u64,
    /// Probability that a message is lost, before the heal.
    pub loss: f64,
    /// Probability that a message is delivered twice.
    pub duplication: f64,
    /// Link cuts: (from ms, to ms, node a, node b).
    pub cuts: Vec<(u64, u64, usize, usize)>,
    /// The crash: (at ms, restart at ms, node).
    pub crash: Option<(u64, u64, usize)>,
    /// Clients (at most three: one per agency's archivist), each submitting one
    /// transaction at a time.
    pub clients: usize,
    /// Δ of the chain, in ms.
    pub delta_ms: u64,
    /// The chain's heartbeat, in ms.
    pub heartbeat_ms: u64,
    /// Each node's wall clock minus virtual time, in ms (clock skew between nodes).
    pub clock_offsets_ms: Vec<i64>,
    /// A clock jump: (at ms, node, by ms): the node's wall clock moves by that much at
    /// once and is set right again at the heal. Beyond the chain's drift bound
    /// (`CLOCK_DRIFT_MS_MAX`) the node's proposals are refused until then.
    pub clock_jump: Option<(u64, usize, i64)>,
}

impl HostConfig {
    /// The scenario for `seed`: delay, loss and duplication, a few link cuts and partitions
    /// of one node, one crash and restart, all before the heal at two thirds of the run.
    pub fn for_seed(seed: u64) -> HostConfig {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x005e_ed0f_0057);
        let nodes = 4;
        let duration_ms = 16_000;
        let heal_at_ms = 8_000;
        let mut cuts = Vec::new();
        for _ in 0..rng.gen_range(0..=4) {
            let from = rng.gen_range(0..heal_at_ms - 500);
            let to = (from + rng.gen_range(200..3_000)).min(heal_at_ms);
            let a = rng.gen_range(0..nodes);
            if rng.gen_bool(0.3) {
                // Isolate `a` from everyone.
                for b in (0..nodes).filter(|b| *b != a) {
                    cuts.push((from, to, a, b));
                }
            } else {
                let b = (a + rng.gen_range(1..nodes)) % nodes;
                cuts.push((from, to, a, b));
            }
        }
        let crash = rng.gen_bool(0.8).then(|| {
            let at = rng.gen_range(500..heal_at_ms - 1_000);
            let back = (at + rng.gen_range(300..4_000)).min(heal_at_ms);
            (at, back, rng.gen_range(0..nodes))
        });
        let delay_min_ms = rng.gen_range(1..10);
        let delay_max_ms = delay_min_ms + rng.gen_range(0..60);
        let loss = [0.0, 0.01, 0.05, 0.15][rng.gen_range(0..4)];
        let duplication = [0.0, 0.02][rng.gen_range(0..2)];
        let clients = rng.gen_range(1..=3);
        // Drawn after everything above so that older seeds keep their network faults.
        // Offsets within half the drift bound each: any two clocks stay within the bound.
        let skew_max = (CLOCK_DRIFT_MS_MAX / 2) as i64 - 100;
        let clock_offsets_ms = (0..nodes)
            .map(|_| {
                if rng.gen_bool(0.5) {
                    rng.gen_range(-skew_max..=skew_max)
                } else {
                    0
                }
            })
            .collect();
        let clock_jump = rng.gen_bool(0.3).then(|| {
            let at = rng.gen_range(0..heal_at_ms - 1_000);
            let by = if rng.gen_bool(0.5) {
                // Far ahead: past the bound.
                rng.gen_range(CLOCK_DRIFT_MS_MAX as i64 + 1_000..=30_000)
            } else {
                // Back: block times must still rise.
                -rng.gen_range(1_000..=20_000)
            };
            (at, rng.gen_range(0..nodes), by)
        });
        HostConfig {
            nodes,
            duration_ms,
            heal_at_ms,
            delay_min_ms,
            delay_max_ms,
            loss,
            duplication,
            cuts,
            crash,
            clients,
            delta_ms: 200,
            heartbeat_ms: 1_000,
            clock_offsets_ms,
            clock_jump,
        }
    }
}

/// What a run that found no violation measured.
#[derive(Clone, Debug, Default)]
pub struct HostOutcome {
    /// The lowest tip height across nodes at the end.
    pub height_min: u64,
    /// The highest.
    pub height_max: u64,
    /// Transactions clients saw finalized.
    pub txs_final: usize,
    /// Resubmissions (a transaction sent again to another node).
    pub resubmitted: usize,
    /// Messages delivered, lost (or cut) and duplicated by the network.
    pub delivered: u64,
    /// See `delivered`.
    pub lost: u64,
    /// See `delivered`.
    pub duplicated: u64,
    /// Executor polls.
    pub polls: u64,
}

/// A broken invariant, with the seed and the replay command.
#[derive(Clone, Debug)]
pub struct HostViolation {
    /// The seed.
    pub seed: u64,
    /// Virtual time when it was found, in ms.
    pub at_ms: u64,
    /// What broke.
    pub what: String,
}

impl fmt::Display for HostViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "host-sim VIOLATION seed {} at {} ms (commit {}): {}\n  replay: {}",
            self.seed,
            self.at_ms,
            crate::BUILT_FROM_COMMIT,
            self.what,
            host_replay_command(self.seed)
        )
    }
}

/// The command that replays one seed of the host simulator.
pub fn host_replay_command(seed: u64) -> String {
    format!("cargo run --release -p chancery-sim --bin host-sim -- --seed {seed}")
}

// ---------------------------------------------------------------------------------------
// The network.

struct Endpoint {
    inbound: mpsc::Sender<Inbound>,
    handler: Arc<dyn RequestHandler>,
}

struct NetState {
    endpoints: BTreeMap<PeerName, Endpoint>,
    cut: BTreeSet<(PeerName, PeerName)>,
    rng: ChaCha8Rng,
    delay_min_ms: u64,
    delay_max_ms: u64,
    loss: f64,
    duplication: f64,
    delivered: u64,
    lost: u64,
    duplicated: u64,
}

fn link(a: &PeerName, b: &PeerName) -> (PeerName, PeerName) {
    if a <= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    }
}

/// The simulated network's shared state: endpoints, cut links, the seeded generator of
/// delays and losses.
#[derive(Clone)]
pub struct SimHub {
    state: Arc<Mutex<NetState>>,
    rt: Deterministic,
    names: Vec<PeerName>,
}

impl SimHub {
    fn lock(&self) -> std::sync::MutexGuard<'_, NetState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new(rt: Deterministic, names: Vec<PeerName>, seed: u64, cfg: &HostConfig) -> SimHub {
        SimHub {
            state: Arc::new(Mutex::new(NetState {
                endpoints: BTreeMap::new(),
                cut: BTreeSet::new(),
                rng: ChaCha8Rng::seed_from_u64(seed ^ 0x0e7),
                delay_min_ms: cfg.delay_min_ms,
                delay_max_ms: cfg.delay_max_ms,
                loss: cfg.loss,
                duplication: cfg.duplication,
                delivered: 0,
                lost: 0,
                duplicated: 0,
            })),
            rt,
            names,
        }
    }

    /// Join (or rejoin, after a restart) as `name`.
    fn join(
        &self,
        name: &PeerName,
        handler: Arc<dyn RequestHandler>,
    ) -> (SimNet, mpsc::Receiver<Inbound>) {
        let (tx, rx) = mpsc::channel(SIM_INBOUND_MAX);
        self.lock().endpoints.insert(
            name.clone(),
            Endpoint {
                inbound: tx,
                handler,
            },
        );
        let connected = self.names.iter().filter(|n| *n != name).cloned().collect();
        let (status_tx, status) = watch::channel(PeerStatus {
            connected,
            ..PeerStatus::default()
        });
        let net = SimNet {
            name: name.clone(),
            hub: self.clone(),
            _status_tx: status_tx,
            status,
            reports: Arc::new(AtomicU64::new(0)),
        };
        (net, rx)
    }

    /// A crashed node's endpoint is gone: messages to it are lost.
    fn leave(&self, name: &PeerName) {
        self.lock().endpoints.remove(name);
    }

    fn set_link(&self, a: &PeerName, b: &PeerName, up: bool) {
        let mut st = self.lock();
        if up {
            st.cut.remove(&link(a, b));
        } else {
            st.cut.insert(link(a, b));
        }
    }

    fn heal(&self) {
        let mut st = self.lock();
        st.cut.clear();
        st.loss = 0.0;
    }

    fn linked(&self, a: &PeerName, b: &PeerName) -> bool {
        let st = self.lock();
        !st.cut.contains(&link(a, b)) && st.endpoints.contains_key(b)
    }

    /// The delays of the copies of one message from `a` to `b` (none: lost).
    fn plan(&self, a: &PeerName, b: &PeerName) -> Vec<u64> {
        let mut st = self.lock();
        if st.cut.contains(&link(a, b)) || !st.endpoints.contains_key(b) {
            st.lost += 1;
            return Vec::new();
        }
        let (loss, dup) = (st.loss, st.duplication);
        if loss > 0.0 && st.rng.gen_bool(loss) {
            st.lost += 1;
            return Vec::new();
        }
        let (lo, hi) = (st.delay_min_ms, st.delay_max_ms.max(st.delay_min_ms));
        let mut out = vec![st.rng.gen_range(lo..=hi)];
        if dup > 0.0 && st.rng.gen_bool(dup) {
            st.duplicated += 1;
            out.push(st.rng.gen_range(lo..=hi));
        }
        out
    }

    fn delay(&self) -> u64 {
        let mut st = self.lock();
        let (lo, hi) = (st.delay_min_ms, st.delay_max_ms.max(st.delay_min_ms));
        st.rng.gen_range(lo..=hi)
    }

    fn deliver(&self, to: &PeerName, msg: Inbound) {
        let mut st = self.lock();
        if st.cut.contains(&link(&msg.from, to)) {
            st.lost += 1;
            return;
        }
        let Some(ep) = st.endpoints.get(to) else {
            st.lost += 1;
            return;
        };
        if ep.inbound.try_send(msg).is_ok() {
            st.delivered += 1;
        } else {
            st.lost += 1;
        }
    }

    fn handler(&self, to: &PeerName) -> Option<Arc<dyn RequestHandler>> {
        self.lock().endpoints.get(to).map(|e| e.handler.clone())
    }
}

/// One node's endpoint of the simulated network.
pub struct SimNet {
    name: PeerName,
    hub: SimHub,
    _status_tx: watch::Sender<PeerStatus>,
    status: watch::Receiver<PeerStatus>,
    reports: Arc<AtomicU64>,
}

impl Network for SimNet {
    fn local_name(&self) -> &PeerName {
        &self.name
    }

    fn peers(&self) -> Vec<PeerName> {
        self.hub
            .names
            .iter()
            .filter(|n| **n != self.name)
            .cloned()
            .collect()
    }

    fn set_peers(&self, _peers: Vec<PeerConfig>) -> Result<PeerSetChange, SetPeersError> {
        // The simulated validator set never changes.
        Ok(PeerSetChange::default())
    }

    fn send(&self, to: &PeerName, channel: Channel, payload: Bytes) -> Result<(), SendError> {
        for delay in self.hub.plan(&self.name, to) {
            let hub = self.hub.clone();
            let to = to.clone();
            let msg = Inbound {
                from: self.name.clone(),
                channel,
                payload: payload.clone(),
            };
            let at = hub.rt.now() + Duration::from_millis(delay);
            let sleep = hub.rt.sleep_until(at);
            self.hub.rt.spawn(Box::pin(async move {
                sleep.await;
                hub.deliver(&to, msg);
            }));
        }
        Ok(())
    }

    fn request(&self, to: &PeerName, payload: Bytes) -> BoxFuture<Result<Bytes, RequestError>> {
        let hub = self.hub.clone();
        let from = self.name.clone();
        let to = to.clone();
        Box::pin(async move {
            let there = hub.rt.now() + Duration::from_millis(hub.delay());
            hub.rt.sleep_until(there).await;
            let handler = match hub.handler(&to) {
                Some(h) if hub.linked(&from, &to) => h,
                _ => {
                    return Err(RequestError::Failed {
                        peer: to,
                        reason: "not connected".into(),
                    })
                }
            };
            // The handler is synchronous (it reads the ledger): it runs here, on the
            // simulator's one thread, at a point the seed decides.
            let answer = handler.handle(&from, payload);
            let back = hub.rt.now() + Duration::from_millis(hub.delay());
            hub.rt.sleep_until(back).await;
            if !hub.linked(&to, &from) {
                return Err(RequestError::Failed {
                    peer: to,
                    reason: "connection lost".into(),
                });
            }
            answer.ok_or(RequestError::Declined { peer: to })
        })
    }

    fn report(&self, _peer: &PeerName, _why: Misbehaviour) {
        self.reports.fetch_add(1, Ordering::Relaxed);
    }

    fn status(&self) -> watch::Receiver<PeerStatus> {
        self.status.clone()
    }

    fn counters(&self) -> CountersSnapshot {
        CountersSnapshot::default()
    }
}

// ---------------------------------------------------------------------------------------
// The nodes.

struct Node {
    name: PeerName,
    key: SecretKey,
    /// The node's wall clock (kept across crashes: the machine's clock, not the process's).
    clock: Arc<SkewedClock>,
    store: Arc<dyn Store>,
    /// Running: its ledger, command channel, the driver's task and its shutdown signal.
    live: Option<Live>,
}

struct Live {
    ledger: Arc<Ledger>,
    commands: mpsc::Sender<Command>,
    task: u64,
    _shutdown: watch::Sender<bool>,
    _status: watch::Receiver<NodeStatus>,
}

/// Errors the drivers returned (a driver stops only on its own storage's failure).
type DriverErrors = Arc<Mutex<Vec<String>>>;

/// One node's view of the simulator's runtime: the same virtual time, timers and tasks,
/// and a wall clock off by an offset that the schedule may change (skew, jumps).
struct SkewedClock {
    rt: Deterministic,
    offset_ms: std::sync::atomic::AtomicI64,
}

impl SkewedClock {
    fn new(rt: Deterministic, offset_ms: i64) -> SkewedClock {
        SkewedClock {
            rt,
            offset_ms: std::sync::atomic::AtomicI64::new(offset_ms),
        }
    }

    fn set_offset(&self, offset_ms: i64) {
        self.offset_ms.store(offset_ms, Ordering::Relaxed);
    }
}

impl Runtime for SkewedClock {
    fn now(&self) -> std::time::Instant {
        self.rt.now()
    }

    fn system_time_ms(&self) -> u64 {
        self.rt
            .system_time_ms()
            .saturating_add_signed(self.offset_ms.load(Ordering::Relaxed))
    }

    fn sleep_until(&self, at: std::time::Instant) -> chancery_node::runtime::Sleep {
        self.rt.sleep_until(at)
    }

    fn spawn(&self, task: chancery_node::runtime::Task) {
        self.rt.spawn(task)
    }

    fn job_pool(
        &self,
        queue_max: usize,
    ) -> std::io::Result<Arc<dyn chancery_node::runtime::JobPool>> {
        self.rt.job_pool(queue_max)
    }
}

fn start_node(
    node: &mut Node,
    genesis: &Genesis,
    hub: &SimHub,
    rt: &Deterministic,
    errors: &DriverErrors,
) -> anyhow::Result<()> {
    let ledger = Arc::new(Ledger::open(node.store.clone(), genesis)?);
    let set = ledger.validator_set_at(ledger.tip().height.next())?;
    let recent = Arc::new(RecentTxs::new());
    let handler = chancery_node::driver::sync_handler(
        ledger.clone(),
        recent.clone(),
        SnapshotOffers::new(SIM_SNAPSHOT_INTERVAL_BLOCKS),
        chancery_node::startup::wire_limits(genesis),
    );
    let (net, inbound) = hub.join(&node.name, handler);
    let mempool = chancery_mempool::Mempool::new(
        genesis.chain_id(),
        chancery_mempool::MempoolConfig::default(),
    )
    .map_err(|e| anyhow::anyhow!("mempool: {e}"))?;
    let app = App::new(
        ledger.clone(),
        mempool,
        genesis.params.block_txs_max as usize,
        genesis.params.block_bytes_max as usize,
        Duration::from_millis(genesis.params.delta_ms / 2),
    );
    let (cmd_tx, commands) = mpsc::channel(SIM_COMMANDS_MAX);
    let (events, _) = broadcast::channel(SIM_EVENTS_MAX);
    let (status_tx, status_rx) = watch::channel(NodeStatus::default());
    let drv = Driver::new(DriverParts {
        app,
        set,
        key: Some(node.key.clone()),
        delta_ms: genesis.params.delta_ms,
        heartbeat_ms: genesis.params.heartbeat_ms,
        net: Arc::new(net),
        inbound,
        commands,
        store: node.store.clone(),
        events,
        status: status_tx,
        sign_mark: None,
        recent,
        node_config: None,
        config_updates: None,
        runtime: node.clock.clone(),
    })?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let errs = errors.clone();
    let name = node.name.clone();
    let span = tracing::info_span!("node", name = %node.name);
    let task = rt.spawn_task(Box::pin(tracing::Instrument::instrument(
        async move {
            if let Err(e) = drv.run(shutdown_rx).await {
                errs.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!("{name}: driver stopped: {e:#}"));
            }
        },
        span,
    )));
    node.live = Some(Live {
        ledger,
        commands: cmd_tx,
        task,
        _shutdown: shutdown_tx,
        _status: status_rx,
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Clients.

struct Client {
    key: SecretKey,
    next_seq: u64,
    /// The transaction in flight: it, the node it went to, when, and the admission answer.
    pending: Option<Pending>,
}

struct Pending {
    tx: Transaction,
    sent_ms: u64,
    /// The node it was last sent to.
    node: usize,
    reply: Option<oneshot::Receiver<Vec<Result<TxHash, chancery_mempool::AdmitError>>>>,
}

/// How long a client waits for its transaction to be finalized before sending it again to
/// another node, in virtual ms.
const RESUBMIT_AFTER_MS: u64 = 3_000;

// ---------------------------------------------------------------------------------------
// The run.

struct Checker {
    /// The block hash and state root seen at each height (from any node).
    seen: BTreeMap<u64, (Digest, Digest, usize)>,
    /// Per node, the height checked up to.
    checked: Vec<u64>,
}

impl Checker {
    /// Agreement and equal state roots on the heights `node` added since the last check.
    fn check(&mut self, i: usize, ledger: &Ledger) -> Result<(), String> {
        let tip = ledger.tip().height.0;
        let from = self.checked[i].min(tip);
        for h in from + 1..=tip {
            let Some((block, _)) = ledger.block(Height(h)).map_err(|e| e.to_string())? else {
                return Err(format!(
                    "node {i}: block {h} below its tip {tip} is missing"
                ));
            };
            let hash = block.header.hash(ledger.genesis().crypto);
            let root = block.header.state_root;
            match self.seen.get(&h) {
                Some((other, other_root, by)) if *other != hash || *other_root != root => {
                    return Err(format!(
                        "agreement: height {h} is {} (state root {}) on node {i} but {} (state root {}) on node {by}",
                        hash.to_hex(),
                        root.to_hex(),
                        other.to_hex(),
                        other_root.to_hex()
                    ));
                }
                Some(_) => {}
                None => {
                    self.seen.insert(h, (hash, root, i));
                }
            }
        }
        // The state root the ledger itself holds for its tip is the tip block's.
        let t = ledger.tip();
        if let Some((_, root, by)) = self.seen.get(&t.height.0) {
            if t.height.0 > 0 && *root != t.state_root {
                return Err(format!(
                    "state root: node {i}'s tip {} has state root {} but the block (from node {by}) says {}",
                    t.height.0,
                    t.state_root.to_hex(),
                    root.to_hex()
                ));
            }
        }
        self.checked[i] = tip;
        Ok(())
    }
}

/// Run one seed of the host simulator.
pub fn run_host(seed: u64) -> Result<HostOutcome, HostViolation> {
    run_host_with(&HostConfig::for_seed(seed), seed)
}

/// Run `cfg` with `seed` (scheduling, network and clients are drawn from it).
pub fn run_host_with(cfg: &HostConfig, seed: u64) -> Result<HostOutcome, HostViolation> {
    let mut fx = Fixture::new();
    fx.genesis.params.delta_ms = cfg.delta_ms;
    fx.genesis.params.heartbeat_ms = cfg.heartbeat_ms;
    let genesis = fx.genesis.clone();
    let rt = Deterministic::new(seed, genesis.genesis_time.0 + 1_000);
    let out = Sim::new(cfg, seed, &fx, rt.clone()).and_then(|mut s| s.run());
    // Break the cycles between the tasks and the runtime they hold.
    rt.shutdown();
    out
}

struct Sim<'a> {
    cfg: &'a HostConfig,
    seed: u64,
    genesis: Genesis,
    rt: Deterministic,
    hub: SimHub,
    nodes: Vec<Node>,
    clients: Vec<Client>,
    errors: DriverErrors,
    checker: Checker,
    rng: ChaCha8Rng,
    /// Transactions clients saw finalized: hash → height.
    finalized: HashMap<TxHash, u64>,
    /// Transactions a node admitted (its reply was `Ok`): hash → (node, virtual ms the
    /// client sent it).
    acknowledged: HashMap<TxHash, (usize, u64)>,
    resubmitted: usize,
}

impl<'a> Sim<'a> {
    fn new(
        cfg: &'a HostConfig,
        seed: u64,
        fx: &Fixture,
        rt: Deterministic,
    ) -> Result<Sim<'a>, HostViolation> {
        let genesis = fx.genesis.clone();
        let names: Vec<PeerName> = genesis
            .validators
            .validators
            .iter()
            .take(cfg.nodes)
            .map(|v| PeerName::from(v.name.as_str()))
            .collect();
        let hub = SimHub::new(rt.clone(), names.clone(), seed, cfg);
        let nodes = names
            .iter()
            .zip(&fx.validators)
            .enumerate()
            .map(|(i, (n, k))| Node {
                name: n.clone(),
                key: k.clone(),
                clock: Arc::new(SkewedClock::new(
                    rt.clone(),
                    cfg.clock_offsets_ms.get(i).copied().unwrap_or(0),
                )),
                store: Arc::new(MemStore::new()),
                live: None,
            })
            .collect();
        // Document anchors need the archivist role: one client per agency's archivist.
        let signers: Vec<SecretKey> = chancery_ledger::testing::fixture::AGENCIES
            .iter()
            .map(|a| fx.signer(a, chancery_core::record::Role::Archivist).clone())
            .collect();
        let clients = signers
            .into_iter()
            .take(cfg.clients)
            .map(|key| Client {
                key,
                next_seq: 0,
                pending: None,
            })
            .collect();
        let mut sim = Sim {
            cfg,
            seed,
            genesis,
            rt,
            hub,
            nodes,
            clients,
            errors: Arc::default(),
            checker: Checker {
                seen: BTreeMap::new(),
                checked: vec![0; cfg.nodes],
            },
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x00c1_1e27),
            finalized: HashMap::new(),
            acknowledged: HashMap::new(),
            resubmitted: 0,
        };
        for i in 0..sim.nodes.len() {
            sim.start(i)?;
        }
        Ok(sim)
    }

    fn violation(&self, what: impl Into<String>) -> HostViolation {
        HostViolation {
            seed: self.seed,
            at_ms: self.rt.elapsed().as_millis() as u64,
            what: what.into(),
        }
    }

    fn start(&mut self, i: usize) -> Result<(), HostViolation> {
        let node = &mut self.nodes[i];
        start_node(node, &self.genesis, &self.hub, &self.rt, &self.errors).map_err(|e| {
            HostViolation {
                seed: self.seed,
                at_ms: self.rt.elapsed().as_millis() as u64,
                what: format!("node {i} did not start: {e:#}"),
            }
        })
    }

    fn crash(&mut self, i: usize) {
        if let Some(live) = self.nodes[i].live.take() {
            self.rt.abort(live.task);
            self.hub.leave(&self.nodes[i].name);
        }
    }

    fn run(&mut self) -> Result<HostOutcome, HostViolation> {
        let cfg = self.cfg;
        let mut t = 0;
        let mut heights_at_heal: Option<Vec<u64>> = None;
        while t < cfg.duration_ms {
            // Faults due now.
            for &(from, to, a, b) in &cfg.cuts {
                let (na, nb) = (self.nodes[a].name.clone(), self.nodes[b].name.clone());
                if from == t || (from > t.saturating_sub(SLICE_MS) && from < t) {
                    self.hub.set_link(&na, &nb, false);
                }
                if to == t || (to > t.saturating_sub(SLICE_MS) && to < t) {
                    self.hub.set_link(&na, &nb, true);
                }
            }
            if let Some((at, i, by)) = cfg.clock_jump {
                let base = cfg.clock_offsets_ms.get(i).copied().unwrap_or(0);
                if at <= t && at + SLICE_MS > t {
                    self.nodes[i].clock.set_offset(base.saturating_add(by));
                }
                if cfg.heal_at_ms <= t && cfg.heal_at_ms + SLICE_MS > t {
                    self.nodes[i].clock.set_offset(base);
                }
            }
            if let Some((at, back, i)) = cfg.crash {
                if at <= t && at + SLICE_MS > t {
                    self.crash(i);
                }
                if back <= t && back + SLICE_MS > t && self.nodes[i].live.is_none() {
                    self.start(i)?;
                }
            }
            if t >= cfg.heal_at_ms && heights_at_heal.is_none() {
                self.hub.heal();
                for i in 0..self.nodes.len() {
                    if self.nodes[i].live.is_none() {
                        self.start(i)?;
                    }
                }
                heights_at_heal = Some(self.heights());
            }
            self.clients_act(t);
            t += SLICE_MS;
            if self
                .rt
                .run_until(Duration::from_millis(t), SLICE_POLLS_MAX)
                .is_err()
            {
                return Err(self.violation(format!(
                    "livelock: over {SLICE_POLLS_MAX} polls without virtual time passing"
                )));
            }
            self.check_slice()?;
            if t % 500 == 0 {
                self.debug_status();
            }
        }
        match heights_at_heal {
            Some(h) => self.final_checks(h),
            None => Err(self.violation("liveness: the run ended before the heal")),
        }
    }

    fn heights(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .map(|n| n.live.as_ref().map_or(0, |l| l.ledger.tip().height.0))
            .collect()
    }

    /// `HOST_SIM_DEBUG`: each live node's published status.
    fn debug_status(&self) {
        if std::env::var_os("HOST_SIM_DEBUG").is_none() {
            return;
        }
        {
            let st = self.hub.lock();
            for (name, ep) in &st.endpoints {
                eprintln!(
                    "{} ms {name}: inbound room {} of {}, cut {:?}, loss {}",
                    self.rt.elapsed().as_millis(),
                    ep.inbound.capacity(),
                    ep.inbound.max_capacity(),
                    st.cut,
                    st.loss
                );
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(l) = &n.live {
                let s = l._status.borrow().clone();
                eprintln!(
                    "{} ms node {i}: view {} height {} peer_height {} mempool {} evidence {} refused {} waiting_overflow {} compact_failed {}",
                    self.rt.elapsed().as_millis(),
                    s.view,
                    s.height,
                    s.peer_height,
                    s.mempool_txs,
                    s.evidence,
                    s.finalized_refused,
                    s.finalized_waiting_overflow,
                    s.proposals_compact_failed
                );
            }
        }
    }

    fn check_slice(&mut self) -> Result<(), HostViolation> {
        if let Some(e) = self
            .errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .first()
        {
            return Err(self.violation(e.clone()));
        }
        for i in 0..self.nodes.len() {
            if let Some(live) = &self.nodes[i].live {
                let ledger = live.ledger.clone();
                if let Err(e) = self.checker.check(i, &ledger) {
                    return Err(self.violation(e));
                }
            }
        }
        Ok(())
    }

    /// Each client without a transaction in flight sends its next one to a random live
    /// node; one whose transaction was finalized on the node it went to records it; one
    /// that waited too long sends the same transaction to another node.
    fn clients_act(&mut self, now_ms: u64) {
        let live: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].live.is_some())
            .collect();
        for c in 0..self.clients.len() {
            // Finalized where it went (or anywhere, after a resubmission)?
            if let Some(p) = &self.clients[c].pending {
                let hash = p.tx.hash();
                let found = live.iter().find_map(|&i| {
                    let l = self.nodes[i].live.as_ref()?;
                    l.ledger.tx(&hash).ok().flatten()
                });
                if let Some(rec) = found {
                    if std::env::var_os("HOST_SIM_DEBUG").is_some() {
                        eprintln!(
                            "{now_ms} client {c}: seq {} {} finalized at height {}: {:?}",
                            p.tx.body.seq.0,
                            hash.to_hex(),
                            rec.entry.height.0,
                            rec.entry.outcome
                        );
                    }
                    if rec.entry.outcome == TxOutcome::Applied {
                        self.finalized.insert(hash, rec.entry.height.0);
                    }
                    let client = &mut self.clients[c];
                    client.pending = None;
                    client.next_seq += 1;
                }
            }
            let due = match &mut self.clients[c].pending {
                None => true,
                Some(p) => {
                    // An admission refusal (a full pool, a node restarting): send again.
                    if let Some(rx) = p.reply.as_mut() {
                        if let Ok(res) = rx.try_recv() {
                            p.reply = None;
                            if std::env::var_os("HOST_SIM_DEBUG").is_some() {
                                eprintln!("{now_ms} client {c}: {res:?}");
                            }
                            if res.iter().any(Result::is_err) {
                                p.sent_ms = 0;
                            } else {
                                // Admitted between the send and now: a crash of that
                                // node after the send may have lost it.
                                self.acknowledged.insert(p.tx.hash(), (p.node, p.sent_ms));
                            }
                        }
                    }
                    now_ms.saturating_sub(p.sent_ms) >= RESUBMIT_AFTER_MS
                }
            };
            if !due || live.is_empty() || now_ms >= self.cfg.heal_at_ms + 1_000 {
                continue;
            }
            let node = live[self.rng.gen_range(0..live.len())];
            let client = &self.clients[c];
            let tx = match &client.pending {
                Some(p) => {
                    self.resubmitted += 1;
                    p.tx.clone()
                }
                None => Transaction::sign(
                    chancery_core::tx::TxBody {
                        chain_id: self.genesis.chain_id(),
                        signer: client.key.public(),
                        seq: chancery_core::Seq(client.next_seq),
                        record: anchor(&format!("c{c}-{}", client.next_seq)),
                    },
                    &client.key,
                ),
            };
            let Some(l) = self.nodes[node].live.as_ref() else {
                continue;
            };
            let verdicts = chancery_mempool::Verdicts::compute(
                &self.genesis.chain_id(),
                std::slice::from_ref(&tx),
            );
            let (reply, rx) = oneshot::channel();
            let sent = l
                .commands
                .try_send(Command::Submit {
                    txs: vec![tx.clone()],
                    verdicts,
                    reply,
                })
                .is_ok();
            self.clients[c].pending = Some(Pending {
                tx,
                node,
                sent_ms: if sent { now_ms } else { 0 },
                reply: sent.then_some(rx),
            });
        }
    }

    fn final_checks(&mut self, at_heal: Vec<u64>) -> Result<HostOutcome, HostViolation> {
        let heights = self.heights();
        // Every acknowledged transaction finalized: a node that admitted a transaction and
        // kept running gets it into the chain (its pool and re-gossip, issue 20), without
        // the client's help (clients stop resubmitting a second after the heal). Admission
        // is not durable: a node that crashed after admitting it is exempt.
        let mut acked: Vec<(&TxHash, &(usize, u64))> = self.acknowledged.iter().collect();
        acked.sort_by_key(|(h, (_, at))| (*at, **h));
        for (hash, &(node, at)) in acked {
            let crashed_after = self
                .cfg
                .crash
                .is_some_and(|(crash_at, _, i)| i == node && crash_at >= at);
            if crashed_after {
                continue;
            }
            let found = self.nodes.iter().any(|n| {
                n.live
                    .as_ref()
                    .is_some_and(|l| matches!(l.ledger.tx(hash), Ok(Some(_))))
            });
            if !found {
                return Err(self.violation(format!(
                    "acknowledged: transaction {} sent at {at} ms and admitted by node {node} is not finalized at the end ({} ms after the heal); heights at the end {heights:?}",
                    hash.to_hex(),
                    self.cfg.duration_ms - self.cfg.heal_at_ms
                )));
            }
        }
        // Liveness after the heal: every node's height rose past the highest at the heal.
        let best_at_heal = at_heal.iter().copied().max().unwrap_or(0);
        for (i, h) in heights.iter().enumerate() {
            if *h <= best_at_heal {
                return Err(self.violation(format!(
                    "liveness: node {i} is at height {h} at the end, not above {best_at_heal} (the highest at the heal, {} ms before the end); heights at the heal {at_heal:?}, at the end {heights:?}",
                    self.cfg.duration_ms - self.cfg.heal_at_ms
                )));
            }
        }
        // Every finalized transaction in every log exactly once; none twice anywhere.
        for (i, node) in self.nodes.iter().enumerate() {
            let Some(live) = &node.live else { continue };
            let tip = live.ledger.tip().height.0;
            let mut count: HashMap<TxHash, u32> = HashMap::new();
            for h in 1..=tip {
                let block = match live.ledger.block(Height(h)) {
                    Ok(Some((b, _))) => b,
                    other => {
                        return Err(self.violation(format!(
                            "node {i}: block {h} unreadable: {:?}",
                            other.err()
                        )))
                    }
                };
                for tx in &block.txs {
                    *count.entry(tx.hash()).or_default() += 1;
                }
            }
            if std::env::var_os("HOST_SIM_DEBUG").is_some() {
                eprintln!(
                    "node {i}: tip {tip}, {} transactions in its log",
                    count.len()
                );
            }
            if let Some((hash, n)) = count.iter().find(|(_, n)| **n > 1) {
                return Err(self.violation(format!(
                    "exactly once: transaction {} is {n} times in node {i}'s log",
                    hash.to_hex()
                )));
            }
            for (hash, at) in &self.finalized {
                if *at <= tip && count.get(hash).copied().unwrap_or(0) != 1 {
                    return Err(self.violation(format!(
                        "exactly once: transaction {} finalized at height {at} is not in node {i}'s log (tip {tip})",
                        hash.to_hex()
                    )));
                }
            }
        }
        let (delivered, lost, duplicated) = {
            let st = self.hub.lock();
            (st.delivered, st.lost, st.duplicated)
        };
        Ok(HostOutcome {
            height_min: heights.iter().copied().min().unwrap_or(0),
            height_max: heights.iter().copied().max().unwrap_or(0),
            txs_final: self.finalized.len(),
            resubmitted: self.resubmitted,
            delivered,
            lost,
            duplicated,
            polls: self.rt.polls(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_ledger::testing::governed::Chain;

    #[test]
    fn the_agreement_checker_catches_two_blocks_at_one_height() {
        let (mut a, mut b) = (Chain::new(), Chain::new());
        let key =
            a.fx.signer("mof", chancery_core::record::Role::Archivist)
                .clone();
        a.one(key.clone(), anchor("a"));
        b.one(key, anchor("b"));
        let mut checker = Checker {
            seen: BTreeMap::new(),
            checked: vec![0; 2],
        };
        checker
            .check(0, &a.ledger)
            .expect("the first node alone agrees");
        checker.check(0, &a.ledger).expect("and again");
        let err = checker
            .check(1, &b.ledger)
            .expect_err("two blocks at height 1");
        assert!(err.starts_with("agreement: height 1 is "), "{err}");
    }

    #[test]
    fn a_run_without_time_after_the_heal_is_a_liveness_violation_with_its_replay() {
        let mut cfg = HostConfig::for_seed(5);
        // One slice after the heal: too short for a block (Δ is 200 ms, no client sends).
        cfg.heal_at_ms = cfg.duration_ms - SLICE_MS;
        cfg.clients = 0;
        let v = run_host_with(&cfg, 5).expect_err("no time to recover");
        assert!(v.what.starts_with("liveness: node "), "{v}");
        let shown = v.to_string();
        assert!(shown.contains("seed 5"), "{shown}");
        assert!(shown.contains(&host_replay_command(5)), "{shown}");
    }
}
