//! The simulation loop: a seeded event queue drives the cores, the network, the disk, the
//! application and the fault schedule; invariants are checked as effects come out.

use crate::byzantine::{ByzKind, Byzantine, Ctx};
use crate::scenario::Scenario;
use crate::state::{self, FillError, Host, Truth, SPECULATIVE_DEPTH_MAX};
use chancery_consensus::verify::Verifier;
use chancery_consensus::{
    Block, BlockBinding, BlockRef, Config, Core, Effect, HashBinding, Input, Message, TimeoutKind,
    Vote,
};
use chancery_core::cert::{Certificate, VoteKind};
use chancery_core::crypto::{self, BatchItem, SecretKey, SignatureError};
use chancery_core::domain;
use chancery_core::ids::{AgencyId, ChainId, Digest, Epoch, Height, PublicKey, Signature, View};
use chancery_core::validator::{Validator, ValidatorSet};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The simulated application's block digest: a hash of everything consensus carries
/// (the consensus crate's [`HashBinding`] rule).
pub fn block_digest(parent: Digest, height: Height, view: View, payload: &[u8]) -> Digest {
    HashBinding::digest(parent, height, view, payload)
}

/// A broken invariant, with what is needed to replay it.
#[derive(Debug, Clone)]
pub struct Violation {
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Simulated time, ms.
    pub at_ms: u64,
    /// What broke.
    pub what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VIOLATION in scenario {} seed {} at {} ms: {}\n  replay: {}",
            self.scenario,
            self.seed,
            self.at_ms,
            self.what,
            crate::replay_command(&self.scenario, self.seed)
        )
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Digest of the whole event trace (same seed, same digest).
    pub trace: u64,
    /// Lowest finalized height over honest nodes at the end.
    pub height_min: u64,
    /// Highest view reached by an honest node.
    pub view_max: u64,
    /// Messages sent.
    pub messages: u64,
    /// Evidence reports (all verified, all against Byzantine nodes).
    pub evidence: u64,
    /// Mean ms from a proposal's broadcast to the first notarization of it.
    pub notarize_ms_mean: f64,
    /// Mean ms from a proposal's broadcast to an honest node finalizing it by its own cert.
    pub finalize_ms_mean: f64,
    /// Views from a leader crash to the next finalized block's view.
    pub recovery_views: Option<u64>,
    /// Evidence reports of proposal equivocation (included in `evidence`).
    pub evidence_proposals: u64,
    /// Misbehaviour reports naming a Byzantine node.
    pub byzantine_reported: u64,
    /// Signature checks done by the verifiers (a failed batch counts twice: once to
    /// check, once to locate the bad item).
    pub verify_work: u64,
    /// Signatures carried by the messages delivered to honest nodes.
    pub signatures_received: u64,
    /// Full blocks honest leaders built at once on a notarized, not yet finalized parent
    /// whose result they held (R15 pipelining).
    pub pipelined_proposals: u64,
    /// Empty blocks honest leaders proposed because they held no result for the parent
    /// (or the new block would be more than `SPECULATIVE_DEPTH_MAX` heights above the
    /// root) when their wait for the parent's finalization ended.
    pub empty_proposals: u64,
    /// Proposals honest leaders could not build: no result and no header for the parent.
    pub proposals_unbuilt: u64,
    /// Blocks notarized at an honest node whose speculative result an honest node dropped
    /// because another block was finalized at their height (skipped notarized blocks).
    pub skipped_notarized: u64,
    /// Finalized blocks an honest node executed on finalizing them, holding no result.
    pub reexecutions: u64,
    /// The same, by honest nodes that never crashed.
    pub reexecutions_uncrashed: u64,
    /// Validations an honest node put off because it held no result for the parent.
    pub validations_waited: u64,
    /// Proposals honest validators refused because the claimed post-state is not the one
    /// their execution gives.
    pub state_refused: u64,
    /// Most heights above its finalized root for which an honest node held results.
    pub speculative_depth_max: u64,
    /// Parents an honest host executed from its core's blocks (the held-parent rule,
    /// [`Scenario::host_executes_held_parents`]): times it had to build or check a block
    /// on a parent it held no result for, and executed the parent (and its ancestors down
    /// to a result it held).
    pub parents_filled: u64,
    /// Blocks executed in those fills.
    pub parent_blocks_filled: u64,
    /// Attempts at such a fill that failed (the core held no block for an ancestor, a block
    /// was refused, or the results were full); the host then falls back.
    pub parents_unfilled: u64,
}

/// Largest number of signature checks the simulator allows for one delivery of `sigs`
/// signatures: `2·s·(⌈log2 s⌉ + 1)`, what a bisection that halves the rest after each
/// bad item needs when every signature is bad. A search that re-verifies the rest after
/// each bad item needs about `s²` and fails this bound from about ten bad signatures.
pub fn verify_work_bound(sigs: u64) -> u64 {
    let log = u64::from(64 - sigs.saturating_sub(1).leading_zeros());
    2 * sigs * (log + 1)
}

/// A signature cache shared by the simulated cores (or one per node): each signature is
/// checked once. Counts the checks it does in `work`.
#[derive(Clone, Default)]
pub struct CachedVerifier {
    cache: Arc<Mutex<HashSet<CacheKey>>>,
    work: Arc<AtomicU64>,
}

impl CachedVerifier {
    /// A cache of its own that adds its work to `work`.
    pub fn counting(work: Arc<AtomicU64>) -> CachedVerifier {
        CachedVerifier {
            cache: Arc::default(),
            work,
        }
    }
}

type CacheKey = (PublicKey, Signature, Vec<u8>);

impl Verifier for CachedVerifier {
    fn verify_batch(&mut self, items: &[BatchItem<'_>]) -> Result<(), SignatureError> {
        let Ok(mut cache) = self.cache.lock() else {
            return crypto::verify_batch(items);
        };
        let todo: Vec<usize> = (0..items.len())
            .filter(|i| {
                let it = &items[*i];
                !cache.contains(&(it.key, it.signature, it.message.to_vec()))
            })
            .collect();
        if todo.is_empty() {
            return Ok(());
        }
        let sub: Vec<BatchItem<'_>> = todo.iter().map(|i| items[*i].clone()).collect();
        let res = crypto::verify_batch(&sub);
        let n = sub.len() as u64;
        self.work
            .fetch_add(if res.is_ok() { n } else { 2 * n }, Ordering::Relaxed);
        let good = match &res {
            Ok(()) => sub.len(),
            Err(SignatureError::BatchItem { index, .. }) => *index,
            Err(_) => 0,
        };
        for it in &sub[..good] {
            cache.insert((it.key, it.signature, it.message.to_vec()));
        }
        match res {
            Ok(()) => Ok(()),
            Err(SignatureError::BatchItem { index, key }) => Err(SignatureError::BatchItem {
                index: todo[index],
                key,
            }),
            Err(e) => Err(e),
        }
    }
}

enum Ev {
    Deliver {
        to: usize,
        from: usize,
        bytes: Vec<u8>,
    },
    Timer {
        node: usize,
        inc: u64,
        view: View,
        kind: TimeoutKind,
    },
    Persisted {
        node: usize,
        inc: u64,
        id: u64,
        vote: Vote,
    },
    Proposed {
        node: usize,
        inc: u64,
        block: Block,
    },
    Validated {
        node: usize,
        inc: u64,
        digest: Digest,
        valid: bool,
    },
    /// A leader's wait for its parent's finalization is over (R15).
    ProposeDue {
        node: usize,
        inc: u64,
        view: View,
    },
    Crash {
        node: usize,
    },
    Restart {
        node: usize,
    },
    LeaderCrash {
        restart_ms: u64,
    },
    /// Work reaches a node (transactions gossiped) or runs out (committed): R14.
    Work {
        node: usize,
        pending: bool,
    },
    /// No more work arrives at a node: its pool empties with the next block it finalizes.
    WorkEnds {
        node: usize,
    },
}

struct Node {
    key: SecretKey,
    core: Option<Core>,
    inc: u64,
    durable: Vec<Vote>,
    /// The signing high-water mark beside the key: the highest (epoch, view) of any vote
    /// this node made durable (so before it was sent). Survives a wiped database.
    mark: Option<(Epoch, View)>,
    set: ValidatorSet,
    root: BlockRef,
    root_cert: Option<Certificate>,
    chain: Vec<Digest>,
    finalized_at_ms: Vec<u64>,
    byz: Option<Byzantine>,
    /// Whether work is pending at this node (always, without [`Scenario::rest`]).
    work: bool,
    /// The block this node, as an idle leader, holds until the heartbeat (or work).
    held: Option<(u64, Block)>,
    /// The work has stopped coming: the next finalized block commits what is pending.
    closing: bool,
    /// The application state: committed and speculative results (R15).
    host: Host,
    /// Whether this node ever crashed.
    crashed: bool,
}

struct Sim<'a> {
    sc: &'a Scenario,
    seed: u64,
    rng: ChaCha8Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: HashMap<u64, Ev>,
    nodes: Vec<Node>,
    chain_id: ChainId,
    latency: Vec<Vec<u64>>,
    cache: CachedVerifier,
    work: Arc<AtomicU64>,
    reported: HashSet<(usize, u64, Epoch, View, u16)>,
    proposed: HashMap<Digest, bool>,
    finalized: BTreeMap<u64, Digest>,
    votes: HashMap<(usize, Epoch, View, VoteKind), Digest>,
    epoch1: Option<ValidatorSet>,
    trace: DefaultHasher,
    out: Outcome,
    proposed_at: HashMap<Digest, u64>,
    notarized_at: HashMap<Digest, u64>,
    final_lat: Vec<u64>,
    crash_view: Option<u64>,
    /// True post-state and claim of every block built.
    truth: Truth,
    /// The state after each finalized height, computed once from the finalized chain.
    state_at: BTreeMap<u64, Digest>,
    /// Notarized blocks whose speculative result was dropped as skipped.
    skipped: HashSet<Digest>,
}

fn is_honest(n: &Node) -> bool {
    n.byz.is_none()
}

/// Run `sc` with `seed`; `Err` names the first broken invariant.
pub fn run(sc: &Scenario, seed: u64) -> Result<Outcome, Violation> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let keys: Vec<SecretKey> = (0..sc.n)
        .map(|_| {
            let mut s = [0u8; 32];
            rng.fill(&mut s);
            SecretKey::from_seed(s)
        })
        .collect();
    let set = ValidatorSet {
        epoch: Epoch(0),
        start_height: Height(1),
        validators: keys
            .iter()
            .enumerate()
            .map(|(i, k)| Validator {
                name: format!("v{i}"),
                agency: AgencyId(format!("agency-{i}")),
                consensus_key: k.public(),
                network_key: SecretKey::from_seed([i as u8 + 1; 32]).public(),
                power: 1,
            })
            .collect(),
    };
    let chain_id = domain::GENESIS_HASH.hash(&seed.to_le_bytes());
    let latency = (0..sc.n)
        .map(|_| {
            (0..sc.n)
                .map(|_| rng.gen_range(sc.net.latency_min_ms..=sc.net.latency_max_ms))
                .collect()
        })
        .collect();
    let root = BlockRef {
        digest: Digest::ZERO,
        height: Height(0),
        view: View(0),
    };
    let nodes = keys
        .into_iter()
        .enumerate()
        .map(|(i, key)| Node {
            key,
            core: None,
            inc: 0,
            durable: Vec::new(),
            mark: None,
            set: set.clone(),
            root,
            root_cert: None,
            chain: Vec::new(),
            finalized_at_ms: Vec::new(),
            byz: sc
                .byzantine
                .iter()
                .find(|(j, _)| *j == i)
                .map(|(_, k)| Byzantine::new(*k)),
            work: sc.rest.is_none(),
            held: None,
            closing: false,
            host: Host::default(),
            crashed: false,
        })
        .collect();
    let epoch1 = sc.epoch_change_height.map(|_| {
        let mut s = set.clone();
        s.epoch = Epoch(1);
        s
    });
    let work = Arc::new(AtomicU64::new(0));
    let sim = Sim {
        sc,
        seed,
        rng,
        now: 0,
        seq: 0,
        queue: BinaryHeap::new(),
        events: HashMap::new(),
        nodes,
        chain_id,
        latency,
        cache: CachedVerifier::counting(work.clone()),
        work,
        reported: HashSet::new(),
        proposed: HashMap::new(),
        finalized: BTreeMap::new(),
        votes: HashMap::new(),
        epoch1,
        trace: DefaultHasher::new(),
        out: Outcome::default(),
        proposed_at: HashMap::new(),
        notarized_at: HashMap::new(),
        final_lat: Vec::new(),
        crash_view: None,
        truth: Truth::default(),
        state_at: BTreeMap::from([(0, state::genesis_state())]),
        skipped: HashSet::new(),
    };
    sim.main()
}

impl Sim<'_> {
    fn fail(&self, what: String) -> Violation {
        Violation {
            scenario: self.sc.name.clone(),
            seed: self.seed,
            at_ms: self.now,
            what,
        }
    }

    fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq)));
        self.events.insert(self.seq, ev);
    }

    fn heal_ms(&self) -> u64 {
        self.sc.heal_ms()
    }

    fn main(mut self) -> Result<Outcome, Violation> {
        for i in 0..self.sc.n {
            self.start(i)?;
        }
        for c in &self.sc.crashes {
            self.push(c.at_ms, Ev::Crash { node: c.node });
            self.push(c.restart_ms, Ev::Restart { node: c.node });
        }
        if let Some((at, restart_ms)) = self.sc.leader_crash_at_ms {
            self.push(at, Ev::LeaderCrash { restart_ms });
        }
        if let Some(rest) = &self.sc.rest {
            for &(start, end) in &rest.work {
                for node in 0..self.sc.n {
                    let a = start + self.rng.gen_range(0..=rest.spread_ms);
                    let b = end + self.rng.gen_range(0..=rest.spread_ms);
                    self.push(
                        a,
                        Ev::Work {
                            node,
                            pending: true,
                        },
                    );
                    self.push(b, Ev::WorkEnds { node });
                }
            }
        }
        let heal = self.heal_ms();
        let end = self
            .sc
            .duration_ms
            .max(heal + self.sc.liveness_bound_ms + 1);
        while let Some(Reverse((t, seq))) = self.queue.pop() {
            if t > end {
                break;
            }
            self.now = t;
            let Some(ev) = self.events.remove(&seq) else {
                continue;
            };
            self.step(ev)?;
        }
        self.now = end;
        // Liveness: after the last fault heals, every honest node finalizes within bound.
        for (i, n) in self.nodes.iter().enumerate() {
            if !is_honest(n) || !self.sc.liveness {
                continue;
            }
            let ok = n
                .finalized_at_ms
                .iter()
                .any(|t| *t > heal && *t <= heal + self.sc.liveness_bound_ms);
            if !ok {
                return Err(self.fail(format!(
                    "liveness: honest node {i} finalized nothing between {heal} ms (last fault \
                     healed) and {} ms; its height is {}, view {}",
                    heal + self.sc.liveness_bound_ms,
                    n.chain.len(),
                    n.core.as_ref().map(|c| c.view().0).unwrap_or(0)
                )));
            }
        }
        self.check_rest()?;
        let honest: Vec<&Node> = self.nodes.iter().filter(|n| is_honest(n)).collect();
        self.out.height_min = honest
            .iter()
            .map(|n| n.chain.len() as u64)
            .min()
            .unwrap_or(0);
        self.out.view_max = honest
            .iter()
            .filter_map(|n| n.core.as_ref().map(|c| c.view().0))
            .max()
            .unwrap_or(0);
        let nl: Vec<u64> = self
            .notarized_at
            .iter()
            .filter_map(|(d, t)| self.proposed_at.get(d).map(|p| t - p))
            .collect();
        self.out.notarize_ms_mean = mean(&nl);
        self.out.finalize_ms_mean = mean(&self.final_lat);
        self.out.skipped_notarized = self.skipped.len() as u64;
        self.out.trace = self.trace.finish();
        Ok(self.out)
    }

    fn config(&self, i: usize) -> Config {
        let n = &self.nodes[i];
        let mut cfg = Config::with_delta(
            self.chain_id,
            n.set.clone(),
            Some(n.key.clone()),
            n.root,
            self.sc.delta_ms,
        );
        cfg.root_cert = n.root_cert.clone();
        if let Some(b) = self.sc.views_behind_max {
            cfg.views_behind_max = b;
        }
        if let Some(r) = self.sc.rest.as_ref().filter(|r| !r.cores_never_rest) {
            cfg.heartbeat_ms = r.heartbeat_ms;
        }
        // The node host's start decision (node/daemon/src/signmark.rs): stored votes below
        // the mark of this epoch were lost, so sign nothing at or below the mark.
        if let Some((epoch, view)) = n.mark.filter(|_| !self.sc.ignore_sign_mark) {
            let stored = n
                .durable
                .iter()
                .filter(|v| v.epoch == epoch)
                .map(|v| v.view)
                .max();
            if epoch == n.set.epoch && stored.is_none_or(|s| s < view) {
                cfg.sign_floor = Some(view);
            }
        }
        cfg
    }

    fn start(&mut self, i: usize) -> Result<(), Violation> {
        let cfg = self.config(i);
        let restored = self.nodes[i].durable.clone();
        let verifier = if self.sc.per_node_cache {
            CachedVerifier::counting(self.work.clone())
        } else {
            self.cache.clone()
        };
        let core = Core::with_verifier(cfg, restored, Box::new(verifier), Box::new(HashBinding))
            .map_err(|e| self.fail(format!("config refused: {e}")))?;
        self.nodes[i].core = Some(core);
        self.nodes[i].held = None;
        // Speculative results and waiting validations die with the incarnation.
        self.nodes[i].host.restart();
        // The host tells a fresh core about its pool before it starts (R14).
        let pending = self.nodes[i].work;
        self.input(i, Input::Work { pending })?;
        self.input(i, Input::Start)?;
        if let (Some(set), Some(h)) = (self.epoch1.clone(), self.sc.epoch_change_height) {
            if self.nodes[i].set.epoch == Epoch(0) {
                self.input(
                    i,
                    Input::EpochChange {
                        set,
                        from_height: Height(h),
                    },
                )?;
            }
        }
        Ok(())
    }

    fn step(&mut self, ev: Ev) -> Result<(), Violation> {
        let mut h = DefaultHasher::new();
        self.now.hash(&mut h);
        match ev {
            Ev::Deliver { to, from, bytes } => {
                (0u8, to, from, &bytes).hash(&mut h);
                let mut batch = vec![(from as u16, bytes)];
                // Messages arriving together are verified as one batch.
                while let Some(Reverse((t, seq))) = self.queue.peek().copied() {
                    if t != self.now {
                        break;
                    }
                    match self.events.get(&seq) {
                        Some(Ev::Deliver { to: t2, .. }) if *t2 == to => {}
                        _ => break,
                    }
                    self.queue.pop();
                    if let Some(Ev::Deliver { from, bytes, .. }) = self.events.remove(&seq) {
                        (from, &bytes).hash(&mut h);
                        batch.push((from as u16, bytes));
                    }
                }
                self.trace.write_u64(h.finish());
                if self.nodes[to].core.is_some() {
                    self.observe(to, &batch);
                    let sigs: u64 = batch.iter().map(|(_, b)| signatures_in(b)).sum();
                    let before = self.work.load(Ordering::Relaxed);
                    self.input(to, Input::Messages(batch))?;
                    let work = self.work.load(Ordering::Relaxed) - before;
                    if is_honest(&self.nodes[to]) {
                        self.out.signatures_received += sigs;
                        self.out.verify_work += work;
                    }
                    if work > verify_work_bound(sigs) {
                        return Err(self.fail(format!(
                            "node {to} did {work} signature checks for a delivery carrying \
                             {sigs} signatures (bound {})",
                            verify_work_bound(sigs)
                        )));
                    }
                }
            }
            Ev::Timer {
                node,
                inc,
                view,
                kind,
            } => {
                (1u8, node, inc, view.0, kind).hash(&mut h);
                self.trace.write_u64(h.finish());
                if self.nodes[node].inc == inc && self.nodes[node].core.is_some() {
                    self.input(node, Input::Timeout { view, kind })?;
                }
            }
            Ev::Persisted {
                node,
                inc,
                id,
                vote,
            } => {
                (2u8, node, inc, id).hash(&mut h);
                self.trace.write_u64(h.finish());
                if self.nodes[node].inc == inc && self.nodes[node].core.is_some() {
                    self.nodes[node].durable.push(vote);
                    let mark = &mut self.nodes[node].mark;
                    if mark.is_none_or(|m| m < (vote.epoch, vote.view)) {
                        *mark = Some((vote.epoch, vote.view));
                    }
                    self.input(node, Input::PersistAcked { id })?;
                }
            }
            Ev::Proposed { node, inc, block } => {
                (3u8, node, inc, block.digest).hash(&mut h);
                self.trace.write_u64(h.finish());
                if self.nodes[node].inc == inc && self.nodes[node].core.is_some() {
                    self.input(node, Input::Proposed { block })?;
                }
            }
            Ev::Validated {
                node,
                inc,
                digest,
                valid,
            } => {
                (4u8, node, inc, digest, valid).hash(&mut h);
                self.trace.write_u64(h.finish());
                if self.nodes[node].inc == inc && self.nodes[node].core.is_some() {
                    self.input(node, Input::Validated { digest, valid })?;
                }
            }
            Ev::ProposeDue { node, inc, view } => {
                (10u8, node, inc, view.0).hash(&mut h);
                self.trace.write_u64(h.finish());
                if self.nodes[node].inc == inc && self.nodes[node].core.is_some() {
                    self.propose_owed(node, Some(view))?;
                }
            }
            Ev::Crash { node } => {
                (5u8, node).hash(&mut h);
                self.trace.write_u64(h.finish());
                // Torn write: persists not yet acknowledged are lost with the incarnation.
                self.nodes[node].core = None;
                self.nodes[node].inc += 1;
                self.nodes[node].crashed = true;
            }
            Ev::Restart { node } => {
                (6u8, node).hash(&mut h);
                self.trace.write_u64(h.finish());
                if self.nodes[node].core.is_none() {
                    self.nodes[node].inc += 1;
                    if self.sc.wipe_on_restart {
                        // An old backup: only the older half of the stored votes is back.
                        let d = &mut self.nodes[node].durable;
                        d.truncate(d.len() / 2);
                    }
                    self.start(node)?;
                }
            }
            Ev::LeaderCrash { restart_ms } => {
                let view = self
                    .nodes
                    .iter()
                    .filter_map(|n| n.core.as_ref().map(|c| c.view()))
                    .max()
                    .unwrap_or(View(0));
                let next = view.next();
                let leader = self.nodes[0]
                    .core
                    .as_ref()
                    .map(|c| c.leader(next) as usize)
                    .unwrap_or(0);
                (7u8, leader).hash(&mut h);
                self.trace.write_u64(h.finish());
                self.crash_view = Some(view.0);
                self.nodes[leader].core = None;
                self.nodes[leader].inc += 1;
                self.nodes[leader].crashed = true;
                self.push(restart_ms, Ev::Restart { node: leader });
            }
            Ev::WorkEnds { node } => {
                (9u8, node).hash(&mut h);
                self.trace.write_u64(h.finish());
                self.nodes[node].closing = true;
            }
            Ev::Work { node, pending } => {
                (8u8, node, pending).hash(&mut h);
                self.trace.write_u64(h.finish());
                self.nodes[node].work = pending;
                if self.nodes[node].core.is_some() {
                    self.input(node, Input::Work { pending })?;
                }
                // An idle leader holding its block proposes as soon as work comes; one
                // that waits for its parent's finalization waits at most
                // `parent_wait_ms` more (R15).
                if pending {
                    if let Some((inc, block)) = self.nodes[node].held.take() {
                        self.push(self.now + self.sc.app_ms, Ev::Proposed { node, inc, block });
                    }
                    let owed = self.nodes[node].host.proposing;
                    if let Some(p) = owed.filter(|_| self.nodes[node].core.is_some()) {
                        if self
                            .base_filled(node, p.parent.digest, p.parent.height.next().0)?
                            .is_some()
                        {
                            self.propose_owed(node, Some(p.view))?;
                        } else {
                            let inc = self.nodes[node].inc;
                            self.push(
                                self.now + self.sc.parent_wait_ms,
                                Ev::ProposeDue {
                                    node,
                                    inc,
                                    view: p.view,
                                },
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn input(&mut self, i: usize, input: Input) -> Result<(), Violation> {
        let Some(core) = self.nodes[i].core.as_mut() else {
            return Ok(());
        };
        let effects = core.handle(input);
        for e in effects {
            self.effect(i, e)?;
        }
        Ok(())
    }

    fn effect(&mut self, i: usize, e: Effect) -> Result<(), Violation> {
        let inc = self.nodes[i].inc;
        match e {
            Effect::Send { to, message } => self.send(i, &[usize::from(to)], message)?,
            Effect::Broadcast { message } => {
                let to: Vec<usize> = (0..self.sc.n).filter(|j| *j != i).collect();
                self.send(i, &to, message)?;
            }
            Effect::ScheduleTimeout {
                view,
                kind,
                after_ms,
            } => self.push(
                self.now + after_ms,
                Ev::Timer {
                    node: i,
                    inc,
                    view,
                    kind,
                },
            ),
            Effect::Persist { id, vote } => self.push(
                self.now + self.sc.persist_ms,
                Ev::Persisted {
                    node: i,
                    inc,
                    id,
                    vote,
                },
            ),
            Effect::Propose { view, parent } => {
                let resting = match &self.sc.rest {
                    Some(r) if !self.nodes[i].work && !r.leaders_never_wait => Some(r.heartbeat_ms),
                    _ => None,
                };
                let base = self.base_filled(i, parent.digest, parent.height.next().0)?;
                if base.is_some() {
                    let Some(block) = self.build(i, view, parent)? else {
                        return Ok(());
                    };
                    // The node host's policy (R14): an idle leader waits for the heartbeat,
                    // or for work, whichever comes first.
                    let delay = match resting {
                        Some(h) => {
                            self.nodes[i].held = Some((inc, block.clone()));
                            h
                        }
                        None => self.sc.app_ms,
                    };
                    self.push(
                        self.now + delay,
                        Ev::Proposed {
                            node: i,
                            inc,
                            block,
                        },
                    );
                } else {
                    // R15: no result for the parent: wait up to `parent_wait_ms` (idle: the
                    // heartbeat) for its finalization, then propose on what is held then.
                    self.nodes[i].host.proposing = Some(state::Proposing { view, parent });
                    match resting.unwrap_or(self.sc.parent_wait_ms) {
                        0 => self.propose_owed(i, Some(view))?,
                        wait => self.push(self.now + wait, Ev::ProposeDue { node: i, inc, view }),
                    }
                }
            }
            Effect::Validate { block, parent } => {
                let bound = block.digest
                    == block_digest(block.parent, block.height, block.view, &block.payload)
                    && block.parent == parent.digest
                    && block.payload.first() != Some(&state::INVALID_PROPOSER);
                if !bound {
                    self.push(
                        self.now + self.sc.app_ms,
                        Ev::Validated {
                            node: i,
                            inc,
                            digest: block.digest,
                            valid: false,
                        },
                    );
                } else if self.validate(i, &block)? {
                    self.resume(i)?;
                } else {
                    // R15: no result (or header) for the parent: check it once there is.
                    if is_honest(&self.nodes[i]) {
                        self.out.validations_waited += 1;
                    }
                    self.nodes[i].host.wait(block);
                }
            }
            Effect::Finalized {
                block,
                finalization,
            } => self.on_finalized(i, block, finalization)?,
            Effect::Evidence(ev) => {
                let set = &self.nodes[i].set;
                match ev.verify(self.chain_id, set) {
                    Ok(culprit) => {
                        if self.nodes[usize::from(culprit)].byz.is_none() {
                            return Err(self.fail(format!(
                                "node {i} produced evidence against honest node {culprit}"
                            )));
                        }
                        // Reported once per (epoch, view, culprit) by each core (incarnation).
                        let key = (i, self.nodes[i].inc, ev.epoch(), ev.view(), culprit);
                        if self.nodes[i].core.is_some() && !self.reported.insert(key) {
                            return Err(self.fail(format!(
                                "node {i} reported evidence against {culprit} in view {} twice",
                                ev.view()
                            )));
                        }
                        self.out.evidence += 1;
                        if matches!(ev, chancery_consensus::Evidence::Proposals { .. }) {
                            self.out.evidence_proposals += 1;
                        }
                    }
                    Err(e) => return Err(self.fail(format!("node {i} produced bad evidence: {e}"))),
                }
            }
            Effect::PeerMisbehaved { peer, reason } => {
                if is_honest(&self.nodes[i]) && is_honest(&self.nodes[usize::from(peer)]) {
                    return Err(self.fail(format!("node {i} accused honest node {peer}: {reason}")));
                }
                if is_honest(&self.nodes[i]) {
                    self.out.byzantine_reported += 1;
                }
            }
            Effect::EpochChanged { root, .. } => {
                let n = &mut self.nodes[i];
                if let Some(set) = &self.epoch1 {
                    n.set = set.clone();
                }
                n.root = root;
                n.root_cert = None;
                // The host drops votes of the old epoch.
                let e = n.set.epoch;
                n.durable.retain(|v| v.epoch == e);
            }
        }
        Ok(())
    }

    /// The host builds a block on `parent` (R15): a full block on the parent's result when
    /// it holds one or gets one by the held-parent rule ([`Sim::base_filled`]) (pipelined
    /// when the parent is not finalized), else an empty block repeating the claimed
    /// post-state of the parent's header, when it knows the header; `None` when it knows
    /// neither (the node host fails to build: no proposal).
    fn build(
        &mut self,
        i: usize,
        view: View,
        parent: BlockRef,
    ) -> Result<Option<Block>, Violation> {
        let mut txs = vec![0u8; 8];
        self.rng.fill(&mut txs[..]);
        let height = parent.height.next();
        let base = self.base_filled(i, parent.digest, height.0)?;
        let pipelined = base.is_some() && parent.digest != self.nodes[i].host.root;
        let (txs, claim) = match base {
            Some(s) => {
                let post = state::execute(s, &txs);
                (txs, post)
            }
            None => match self.parent_claim(i, parent.digest) {
                Some(c) => (Vec::new(), c),
                None => {
                    if is_honest(&self.nodes[i]) {
                        self.out.proposals_unbuilt += 1;
                    }
                    return Ok(None);
                }
            },
        };
        // The first byte is the proposer's index, never 0xFF: honest blocks are valid.
        let payload = state::payload(i as u8, &txs, claim);
        let digest = block_digest(parent.digest, height, view, &payload);
        let block = Block {
            digest,
            parent: parent.digest,
            height,
            view,
            payload,
        };
        let valid = self.truth.register(&block);
        self.proposed.insert(digest, valid);
        let host = &mut self.nodes[i].host;
        host.remember(&block, claim);
        if base.is_some() {
            host.keep(&block, claim);
            self.check_host(i)?;
        }
        if is_honest(&self.nodes[i]) {
            if pipelined {
                self.out.pipelined_proposals += 1;
            }
            if base.is_none() {
                self.out.empty_proposals += 1;
            }
        }
        Ok(Some(block))
    }

    /// The post-state the header of `parent` claims, as node `i`'s host knows it: the
    /// root's or a remembered header's; with [`Scenario::host_reads_parent_header`], any
    /// block's (the core holds the parent it hands the host).
    fn parent_claim(&self, i: usize, parent: Digest) -> Option<Digest> {
        self.nodes[i].host.header_claim(parent).or_else(|| {
            self.sc
                .host_reads_parent_header
                .then(|| self.truth.claim(parent))
                .flatten()
        })
    }

    /// The leader's owed proposal (R15), if its view is `view` (any view: `None`): built
    /// now, full if the parent can now be executed on, else empty, else not at all.
    fn propose_owed(&mut self, i: usize, view: Option<View>) -> Result<(), Violation> {
        let host = &mut self.nodes[i].host;
        let Some(p) = host.proposing.filter(|p| view.is_none_or(|v| v == p.view)) else {
            return Ok(());
        };
        host.proposing = None;
        let inc = self.nodes[i].inc;
        if let Some(block) = self.build(i, p.view, p.parent)? {
            self.push(
                self.now + self.sc.app_ms,
                Ev::Proposed {
                    node: i,
                    inc,
                    block,
                },
            );
        }
        Ok(())
    }

    /// The host checks a bound block on its parent (R15) and answers, after the held-parent
    /// rule ([`Sim::base_filled`]) if it holds no result for the parent; `false` when it
    /// must wait, without answering: it knows no header for the parent, or (a block with
    /// transactions) holds no result for it within `SPECULATIVE_DEPTH_MAX`. An empty
    /// block must repeat its parent's claimed post-state; a block with transactions must
    /// claim what executing them on the parent's result gives.
    fn validate(&mut self, i: usize, block: &Block) -> Result<bool, Violation> {
        let (Some(txs), Some(claim)) = (
            state::transactions(&block.payload),
            state::claim(&block.payload),
        ) else {
            self.answer(i, block.digest, false);
            return Ok(true);
        };
        // The held-parent rule first: it also gives the host the parent's header.
        let base = self.base_filled(i, block.parent, block.height.0)?;
        let Some(parent_claim) = self.parent_claim(i, block.parent) else {
            return Ok(false);
        };
        let (claim_ok, post) = if txs.is_empty() {
            (claim == parent_claim, base)
        } else {
            let Some(s) = base else {
                return Ok(false);
            };
            let post = state::execute(s, txs);
            (claim == post, Some(post))
        };
        let valid = claim_ok || self.sc.accept_any_state;
        if valid {
            let host = &mut self.nodes[i].host;
            host.remember(block, claim);
            if let Some(post) = post {
                host.keep(block, post);
            }
            self.check_host(i)?;
        }
        if !claim_ok && is_honest(&self.nodes[i]) {
            self.out.state_refused += 1;
        }
        self.answer(i, block.digest, valid);
        Ok(true)
    }

    fn answer(&mut self, i: usize, digest: Digest, valid: bool) {
        let inc = self.nodes[i].inc;
        self.push(
            self.now + self.sc.app_ms,
            Ev::Validated {
                node: i,
                inc,
                digest,
                valid,
            },
        );
    }

    /// After node `i` kept a result or committed a block: check the waiting validations
    /// that can be checked now, oldest first (one can give the result the next waits for),
    /// and forget those at or below the finalized height or on a parent that lost to the
    /// finalized block of its height; then build the owed proposal if its parent can now
    /// be executed on and work is pending.
    fn resume(&mut self, i: usize) -> Result<(), Violation> {
        let host = &mut self.nodes[i].host;
        let (root, root_height) = (host.root, host.root_height);
        host.waiting.retain(|b| {
            let h = b.height.0;
            h > root_height && (h > root_height + 1 || b.parent == root)
        });
        let mut k = 0;
        while k < self.nodes[i].host.waiting.len() {
            let block = self.nodes[i].host.waiting[k].clone();
            if self.validate(i, &block)? {
                self.nodes[i].host.waiting.remove(k);
                k = 0;
            } else {
                k += 1;
            }
        }
        let owed = match self.nodes[i].host.proposing {
            Some(p) if self.nodes[i].work => self
                .base_filled(i, p.parent.digest, p.parent.height.next().0)?
                .is_some(),
            _ => false,
        };
        if owed {
            self.propose_owed(i, None)?;
        }
        Ok(())
    }

    /// The state node `i`'s host executes a block at `height` on `parent` on
    /// ([`Host::base`]), after applying the held-parent rule when it holds no result for
    /// the parent ([`Scenario::host_executes_held_parents`], honest hosts only): it
    /// executes the parent, and its ancestors down to a block it holds a result for, from
    /// the blocks its core holds, checking and keeping each ([`Host::fill`]). Nothing is
    /// filled for a block more than `SPECULATIVE_DEPTH_MAX` heights above the root (it
    /// could not be executed anyway).
    fn base_filled(
        &mut self,
        i: usize,
        parent: Digest,
        height: u64,
    ) -> Result<Option<Digest>, Violation> {
        let n = &mut self.nodes[i];
        let base = n.host.base(parent, height);
        if base.is_some()
            || !self.sc.host_executes_held_parents
            || n.byz.is_some()
            || height > n.host.root_height + SPECULATIVE_DEPTH_MAX
        {
            return Ok(base);
        }
        let Some(core) = n.core.as_ref() else {
            return Ok(None);
        };
        match n.host.fill(parent, |d| core.held_block(d).cloned()) {
            Ok(blocks) => {
                self.out.parents_filled += 1;
                self.out.parent_blocks_filled += blocks as u64;
            }
            Err(FillError::Refused(d)) if self.proposed.get(&d) == Some(&true) => {
                return Err(self.fail(format!(
                    "honest node {i} refused {}, a valid block its core holds, when it \
                     executed the parents of a block at height {height}",
                    d.to_hex()
                )));
            }
            Err(_) => self.out.parents_unfilled += 1,
        }
        self.check_host(i)?;
        Ok(self.nodes[i].host.base(parent, height))
    }

    /// R15 bounds on an honest node's speculative results.
    fn check_host(&mut self, i: usize) -> Result<(), Violation> {
        if !is_honest(&self.nodes[i]) {
            return Ok(());
        }
        let host = &self.nodes[i].host;
        if let Err(e) = host.check() {
            return Err(self.fail(format!("honest node {i} {e}")));
        }
        self.out.speculative_depth_max = self.out.speculative_depth_max.max(host.depth());
        Ok(())
    }

    fn send(&mut self, i: usize, to: &[usize], msg: Message) -> Result<(), Violation> {
        let honest = is_honest(&self.nodes[i]);
        if honest {
            // Invariant: an honest node never signs conflicting votes.
            if let Message::Vote(v) = &msg {
                self.check_vote(i, v)?;
            }
            if let Message::Proposal(m) = &msg {
                self.proposed_at
                    .entry(m.proposal.block.digest)
                    .or_insert(self.now);
            }
            if let Message::Certificate(c) = &msg {
                if c.kind == VoteKind::Notarize {
                    self.notarized_at.entry(c.block).or_insert(self.now);
                }
            }
        }
        let sends: Vec<(usize, Vec<u8>)> = if let Some(mut byz) = self.nodes[i].byz.take() {
            let mut ctx = Ctx {
                chain_id: self.chain_id,
                me: i,
                n: self.sc.n,
                key: &self.nodes[i].key,
                rng: &mut self.rng,
                proposed: &mut self.proposed,
                truth: &mut self.truth,
                root: self.nodes[i].host.root,
                committed: self.nodes[i].host.committed,
            };
            let s = byz.transform(&mut ctx, to, msg);
            self.nodes[i].byz = Some(byz);
            s
        } else {
            let b = msg.encode();
            to.iter().map(|j| (*j, b.clone())).collect()
        };
        for (j, bytes) in sends {
            self.transmit(i, j, bytes);
        }
        Ok(())
    }

    /// A Byzantine node sees what it receives (to answer or record it).
    fn observe(&mut self, i: usize, batch: &[(u16, Vec<u8>)]) {
        let Some(mut byz) = self.nodes[i].byz.take() else {
            return;
        };
        let mut sends = Vec::new();
        for (from, bytes) in batch {
            let Ok(msg) = Message::decode(bytes) else {
                continue;
            };
            let mut ctx = Ctx {
                chain_id: self.chain_id,
                me: i,
                n: self.sc.n,
                key: &self.nodes[i].key,
                rng: &mut self.rng,
                proposed: &mut self.proposed,
                truth: &mut self.truth,
                root: self.nodes[i].host.root,
                committed: self.nodes[i].host.committed,
            };
            sends.extend(byz.observe(&mut ctx, usize::from(*from), &msg));
        }
        self.nodes[i].byz = Some(byz);
        for (j, bytes) in sends {
            self.transmit(i, j, bytes);
        }
    }

    fn check_vote(&mut self, i: usize, v: &Vote) -> Result<(), Violation> {
        // R15: an honest node never notarizes a block whose claimed post-state is wrong
        // (nor any other invalid block).
        if v.kind == VoteKind::Notarize
            && self.proposed.get(&v.block) == Some(&false)
            && !self.sc.unchecked_notarize
        {
            return Err(self.fail(format!(
                "honest node {i} notarized {} in view {}, an invalid block (a wrong claimed \
                 post-state or an invalid payload)",
                v.block.to_hex(),
                v.view
            )));
        }
        let key = (i, v.epoch, v.view, v.kind);
        if let Some(d) = self.votes.get(&key) {
            if *d != v.block {
                return Err(self.fail(format!(
                    "honest node {i} double-voted {:?} in view {}",
                    v.kind, v.view
                )));
            }
        }
        let other = match v.kind {
            VoteKind::Nullify => Some(VoteKind::Finalize),
            VoteKind::Finalize => Some(VoteKind::Nullify),
            VoteKind::Notarize => None,
        };
        if let Some(o) = other {
            if self.votes.contains_key(&(i, v.epoch, v.view, o)) {
                return Err(self.fail(format!(
                    "honest node {i} both nullified and finalized view {}",
                    v.view
                )));
            }
        }
        self.votes.insert(key, v.block);
        Ok(())
    }

    fn partitioned(&self, a: usize, b: usize) -> bool {
        self.sc.partitions.iter().any(|p| {
            self.now >= p.start_ms
                && self.now < p.heal_ms
                && (p.side.contains(&a) != p.side.contains(&b))
        })
    }

    fn transmit(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        self.out.messages += 1;
        if from == to || self.partitioned(from, to) {
            return;
        }
        if let Some(skip) = &self.sc.skip_views {
            if skip.drops(&bytes, to, self.sc.n) {
                return;
            }
        }
        if self.rng.gen_bool(self.sc.net.loss) {
            return;
        }
        let copies = if self.rng.gen_bool(self.sc.net.duplicate) {
            2
        } else {
            1
        };
        let slow = match &self.sc.slow {
            Some(s) if self.now >= s.start_ms && self.now < s.heal_ms => s.extra_ms,
            _ => 0,
        };
        for _ in 0..copies {
            let mut jitter = self.rng.gen_range(0..=self.sc.net.jitter_ms);
            if slow > 0 {
                jitter += self.rng.gen_range(0..=slow);
            }
            let at = self.now + self.latency[from][to] + jitter;
            self.push(
                at,
                Ev::Deliver {
                    to,
                    from,
                    bytes: bytes.clone(),
                },
            );
        }
    }

    fn on_finalized(&mut self, i: usize, block: Block, cert: Certificate) -> Result<(), Violation> {
        if !is_honest(&self.nodes[i]) {
            // A Byzantine node's host keeps its state too (its actor may use it).
            self.nodes[i].host.finalize(&block);
            return self.resume(i);
        }
        // Every delivered block is the block its digest names (the digest binds payload,
        // parent, height and view).
        if let Err(e) = HashBinding.check(&block) {
            return Err(self.fail(format!(
                "node {i} delivered height {} whose digest does not bind it: {e}",
                block.height
            )));
        }
        let n = &self.nodes[i];
        let expect_height = n.chain.len() as u64 + 1;
        let expect_parent = n.chain.last().copied().unwrap_or(Digest::ZERO);
        if block.height.0 != expect_height || block.parent != expect_parent {
            return Err(self.fail(format!(
                "node {i} finalized height {} parent {} but its chain has height {} tip {}",
                block.height,
                block.parent.to_hex(),
                expect_height - 1,
                expect_parent.to_hex()
            )));
        }
        // Agreement and prefix: one digest per height across honest nodes.
        if let Some(d) = self.finalized.get(&block.height.0) {
            if *d != block.digest {
                return Err(self.fail(format!(
                    "agreement: height {} finalized as {} and as {} (node {i})",
                    block.height,
                    d.to_hex(),
                    block.digest.to_hex()
                )));
            }
        }
        // R15: it claims the state the finalized chain has at its height (before the
        // general validity check, which would also catch it, to name the state).
        let truth = self.check_claim(i, &block)?;
        // Validity: it was proposed and it is valid.
        if self.proposed.get(&block.digest) != Some(&true) {
            return Err(self.fail(format!(
                "validity: node {i} finalized {} which was never proposed as a valid block",
                block.digest.to_hex()
            )));
        }
        if cert.kind != VoteKind::Finalize {
            return Err(self.fail(format!("node {i} delivered with a {:?} cert", cert.kind)));
        }
        self.finalized.insert(block.height.0, block.digest);
        self.commit(i, &block, truth)?;
        if cert.block == block.digest {
            if let Some(t) = self.proposed_at.get(&block.digest) {
                self.final_lat.push(self.now - t);
            }
        }
        if let Some(v0) = self.crash_view {
            if block.view.0 > v0 && self.out.recovery_views.is_none() && cert.epoch == Epoch(0) {
                self.out.recovery_views = Some(block.view.0 - v0);
            }
        }
        let now = self.now;
        let n = &mut self.nodes[i];
        n.chain.push(block.digest);
        n.finalized_at_ms.push(now);
        n.root_cert = (cert.block == block.digest).then_some(cert);
        n.root = block.reference();
        if std::mem::take(&mut n.closing) {
            // The pending transactions are in this block (or an earlier one): the pool is
            // empty now.
            self.push(
                now,
                Ev::Work {
                    node: i,
                    pending: false,
                },
            );
        }
        Ok(())
    }
}

impl Sim<'_> {
    /// R15: the finalized `block` claims the state the finalized chain has at its height
    /// (computed once per height, from the state below it); returns that state.
    fn check_claim(&mut self, i: usize, block: &Block) -> Result<Digest, Violation> {
        let h = block.height.0;
        let truth = match self.state_at.get(&h) {
            Some(t) => *t,
            None => {
                let Some(before) = self.state_at.get(&(h - 1)).copied() else {
                    return Err(self.fail(format!(
                        "node {i} finalized height {h} before the chain's state at height {} \
                         was known",
                        h - 1
                    )));
                };
                let t = state::execute_block(before, block);
                self.state_at.insert(h, t);
                t
            }
        };
        let claim = state::claim(&block.payload);
        if claim != Some(truth) {
            return Err(self.fail(format!(
                "node {i} finalized height {h} ({}) whose claimed post-state {} is not the \
                 state {} that executing the finalized chain gives",
                block.digest.to_hex(),
                claim.map_or("(none)".to_string(), |c| c.to_hex()),
                truth.to_hex()
            )));
        }
        Ok(truth)
    }

    /// R15 on an honest node finalizing `block`, whose state is `truth`: the node commits
    /// its held result (executing only when it holds none, never for a block this
    /// incarnation built or validated), that result is the chain's state, and the results
    /// left after pruning keep the bounds.
    fn commit(&mut self, i: usize, block: &Block, truth: Digest) -> Result<(), Violation> {
        let h = block.height.0;
        let built_or_validated = self.nodes[i].host.executed.contains_key(&block.digest);
        let done = self.nodes[i].host.finalize(block);
        if done.post != truth {
            return Err(self.fail(format!(
                "state agreement: node {i} committed post-state {} at height {h}, the finalized \
                 chain's state there is {}",
                done.post.to_hex(),
                truth.to_hex()
            )));
        }
        if done.executed {
            if built_or_validated {
                return Err(self.fail(format!(
                    "honest node {i} executed height {h} ({}) again on finalizing it, though it \
                     built or validated it in this incarnation (its result was dropped)",
                    block.digest.to_hex()
                )));
            }
            self.out.reexecutions += 1;
            if !self.nodes[i].crashed {
                self.out.reexecutions_uncrashed += 1;
            }
        }
        for d in done.dropped {
            if self.notarized_at.contains_key(&d) {
                self.skipped.insert(d);
            }
        }
        self.check_host(i)?;
        self.resume(i)
    }

    /// R14 checks on a resting chain, after the last fault heals: work wakes every honest
    /// node within `wake_bound_ms`, and an idle gap makes at most one block per heartbeat
    /// (plus the view that was under way) and at least one when it spans three heartbeats.
    fn check_rest(&self) -> Result<(), Violation> {
        let Some(rest) = &self.sc.rest else {
            return Ok(());
        };
        let heal = self.heal_ms();
        for (i, n) in self.nodes.iter().enumerate() {
            if !is_honest(n) {
                continue;
            }
            for &(start, _) in rest.work.iter().filter(|w| w.0 > heal) {
                let woke = n
                    .finalized_at_ms
                    .iter()
                    .any(|t| *t > start && *t <= start + rest.wake_bound_ms);
                if !woke {
                    return Err(self.fail(format!(
                        "rest: work came at {start} ms but honest node {i} finalized nothing \
                         within {} ms",
                        rest.wake_bound_ms
                    )));
                }
            }
            // A gap starts once the last window's blocks are final everywhere.
            let settle = rest.wake_bound_ms;
            for (from, to) in rest.gaps(settle, self.now) {
                if from <= heal {
                    continue;
                }
                // Blocks delivered at one instant are one catch-up, not blocks made.
                let mut at: Vec<u64> = n
                    .finalized_at_ms
                    .iter()
                    .copied()
                    .filter(|t| *t >= from && *t < to)
                    .collect();
                at.dedup();
                let made = at.len() as u64;
                let most = (to - from) / rest.heartbeat_ms + 2;
                if made > most {
                    return Err(self.fail(format!(
                        "rest: honest node {i} finalized {made} blocks in the idle gap \
                         {from}..{to} ms; a heartbeat of {} ms allows at most {most}",
                        rest.heartbeat_ms
                    )));
                }
                // f failed leaders in a row rest a heartbeat plus 2Δ each before the
                // next leader's heartbeat.
                let f = (self.sc.n as u64 - 1) / 3;
                let need = (f + 2) * (rest.heartbeat_ms + 3 * self.sc.delta_ms);
                if to - from >= need + rest.wake_bound_ms && made == 0 {
                    return Err(self.fail(format!(
                        "rest: honest node {i} finalized no heartbeat block in the idle gap \
                         {from}..{to} ms (heartbeat {} ms)",
                        rest.heartbeat_ms
                    )));
                }
            }
        }
        Ok(())
    }
}

/// How many signatures a message carries (0 when it does not decode).
fn signatures_in(bytes: &[u8]) -> u64 {
    let Ok(m) = Message::decode(bytes) else {
        return 0;
    };
    let n = match m {
        Message::Vote(_) | Message::Block(_) => 1,
        Message::Certificate(c) => c.signatures.len(),
        Message::Proposal(p) => {
            1 + p.parent_cert.map_or(0, |c| c.signatures.len())
                + p.nullifications
                    .iter()
                    .map(|c| c.signatures.len())
                    .sum::<usize>()
        }
        Message::Evidence(_) => 2,
        Message::BlockRequest { .. } => 0,
    };
    n as u64
}

fn mean(v: &[u64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<u64>() as f64 / v.len() as f64
    }
}

/// The Byzantine kinds present in a scenario (for reports).
pub fn kinds(sc: &Scenario) -> Vec<ByzKind> {
    sc.byzantine.iter().map(|(_, k)| *k).collect()
}
