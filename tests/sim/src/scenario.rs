//! Named scenarios: each turns a seed into a concrete setup (size, network, faults).

use crate::byzantine::ByzKind;
pub use crate::epochs::Epochs;
use chancery_consensus::Message;
use chancery_core::cert::VoteKind;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Network parameters.
#[derive(Clone, Debug)]
pub struct Net {
    /// Smallest per-link base latency, ms.
    pub latency_min_ms: u64,
    /// Largest per-link base latency, ms.
    pub latency_max_ms: u64,
    /// Per-message extra delay, uniform in `0..=jitter_ms` (reorders messages).
    pub jitter_ms: u64,
    /// Probability a message is lost.
    pub loss: f64,
    /// Probability a message is delivered twice.
    pub duplicate: f64,
}

/// A partition: from `start_ms` to `heal_ms`, messages between `side` and the rest drop.
#[derive(Clone, Debug)]
pub struct Partition {
    /// Start time.
    pub start_ms: u64,
    /// Heal time.
    pub heal_ms: u64,
    /// Nodes on one side.
    pub side: Vec<usize>,
}

/// A crash of `node` at `at_ms`, restarting at `restart_ms`.
#[derive(Clone, Debug)]
pub struct Crash {
    /// Node.
    pub node: usize,
    /// Crash time.
    pub at_ms: u64,
    /// Restart time.
    pub restart_ms: u64,
}

/// A concrete setup.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Scenario name.
    pub name: String,
    /// Number of validators.
    pub n: usize,
    /// The crypto suite of the validators' keys and signatures (issue 21). The simulated
    /// application's block digest stays the consensus crate's hash rule in every suite.
    pub suite: chancery_core::suite::Suite,
    /// Byzantine nodes and their behaviour.
    pub byzantine: Vec<(usize, ByzKind)>,
    /// Network.
    pub net: Net,
    /// Partitions.
    pub partitions: Vec<Partition>,
    /// Crashes.
    pub crashes: Vec<Crash>,
    /// Crash the leader of the view current at this time (measures recovery).
    pub leader_crash_at_ms: Option<(u64, u64)>,
    /// Validator-set changes at epoch boundaries (R13); `None`: epoch 0 only, nodes
    /// `0..n` are its validators.
    pub epochs: Option<Epochs>,
    /// Δ used for the timeouts, ms.
    pub delta_ms: u64,
    /// Delay of a persist, ms.
    pub persist_ms: u64,
    /// Delay of proposing and validating, ms.
    pub app_ms: u64,
    /// Simulated time to run, ms.
    pub duration_ms: u64,
    /// After the last fault heals, every honest node must finalize within this many ms.
    pub liveness_bound_ms: u64,
    /// The cores' `views_behind_max` (prune distance), when not the default.
    pub views_behind_max: Option<u64>,
    /// Give every node its own signature cache (a shared cache would hide a signature
    /// that one node accepts and another refuses).
    pub per_node_cache: bool,
    /// A period of slow links: from `start_ms` to `heal_ms` every message is delayed by up
    /// to `extra_ms` more (uniform), so that views end by nullification, notarizations
    /// form late and nothing is finalized for many views.
    pub slow: Option<Slow>,
    /// Whether liveness is checked after the last fault heals. Off only where the run has
    /// more than `views_behind_max` views without finalization, after which the core
    /// cannot make progress (docs/consensus.md §10); safety is always checked.
    pub liveness: bool,
    /// Every crashed node restarts with its stored votes lost (a wiped database, or one
    /// restored from an old backup: only the older half of its votes is back). Its signing
    /// high-water mark, kept beside the key, survives (issue 14, finding 4).
    pub wipe_on_restart: bool,
    /// Ignore the signing mark at restart (only to show that `wipe` catches the bug the
    /// mark prevents; never in a scenario of `SCENARIOS`).
    pub ignore_sign_mark: bool,
    /// An idle chain that rests (R14): work comes and goes; `None`: always work.
    pub rest: Option<Rest>,
    /// Views whose notarization only one node sees, so that their blocks are notarized and
    /// then skipped (R15); `None`: no such views.
    pub skip_views: Option<SkipViews>,
    /// The host reads the header of any parent block its core hands it (the core holds
    /// it), not only of blocks it built, found valid or committed: a leader without the
    /// parent's result proposes an empty block on it, and a validator checks an empty
    /// block on it. Off: the node host's `parent_info` (node/daemon/src/app.rs), which can
    /// stall for ever on a notarized block that fewer than a quorum of nodes checked
    /// (docs/consensus.md §8); only to show that; never off in `SCENARIOS`.
    pub host_reads_parent_header: bool,
    /// The held-parent rule (R15): an honest host that must build or check a block on a
    /// parent it holds no result for first executes the parent, and its ancestors down to
    /// a block it holds a result for, reading them from its core (`Core::held_block`),
    /// checking and keeping each ([`crate::state::Host::fill`]); it falls back to the
    /// rules below when the core does not hold one of them. Off: the host executes only
    /// blocks it built or checked as proposals (the node host before the rule), which a
    /// leader that sends its proposal to just enough validators stalls for ever
    /// (`byz-partial`, docs/consensus.md §8); only to show that; never off in `SCENARIOS`.
    pub host_executes_held_parents: bool,
    /// How long a leader without its parent's result waits for the parent's finalization
    /// before it proposes (an empty block, unless the parent was finalized), ms; 0: it
    /// proposes the empty block at once. The node host waits Δ (node/daemon/src/driver.rs,
    /// `propose_wait`), which can stall the chain (docs/consensus.md §8); only to show
    /// that; 0 in `SCENARIOS`.
    pub parent_wait_ms: u64,
    /// Validators accept any claimed post-state (they still execute the block and keep
    /// their own result): only to show that the state checks catch it; never in
    /// `SCENARIOS`.
    pub accept_any_state: bool,
    /// Do not report an honest node notarizing an invalid block: only to show that the
    /// check at finalization catches a wrong claimed post-state on its own; never in
    /// `SCENARIOS`.
    pub unchecked_notarize: bool,
    /// R13: a host whose core is still in epoch e builds and accepts empty blocks past
    /// the epoch's last height (suffix blocks, never delivered), so that a boundary block
    /// whose own view can be neither finalized nor nullified is finalized by a suffix
    /// block's certificate. Off: it builds and accepts nothing past the boundary, and such
    /// a boundary block stops the chain for good (docs/consensus.md §8); only to show
    /// that; on in `SCENARIOS`.
    pub boundary_suffix: bool,
    /// The liveness window opens no earlier than this, ms: a scenario whose fault never
    /// heals (a Byzantine actor whose attack, once it takes, stops the chain for good)
    /// sets it past the time by which the attack has been tried, so that a stall after
    /// the first blocks is caught; 0: the window opens when the last fault heals.
    pub liveness_from_ms: u64,
}

/// Views whose notarization only one node sees (see [`Scenario::skip_views`]): in every
/// view `v` with `v % every == 0`, notarize votes reach only the leader of `v + 1`,
/// notarizations of `v` reach nobody, and the proposal of `v + 1` reaches nobody. The
/// other nodes validate the block of `v`, keep its result, never see it notarized and
/// nullify `v` and `v + 1`; the leader of `v + 1` builds on it and keeps that result too.
/// The leader of `v + 2` builds on the block before `v`, whose finalization makes every
/// node drop the notarized block's result (at its height) and the leader of `v + 1` its
/// child's (not descending from the new root).
#[derive(Clone, Debug)]
pub struct SkipViews {
    /// Every how many views one is skipped.
    pub every: u64,
}

impl SkipViews {
    /// Whether `view` is one of the skipped views.
    pub fn chosen(&self, view: u64) -> bool {
        view > 0 && self.every > 0 && view % self.every == 0
    }

    /// The one node that sees the notarize votes of `view`: the leader of the next.
    pub fn holder(&self, view: u64, n: usize) -> usize {
        ((view + 1) % n as u64) as usize
    }

    /// Whether the message `bytes` to node `to` is dropped.
    pub fn drops(
        &self,
        suite: chancery_core::suite::Suite,
        bytes: &[u8],
        to: usize,
        n: usize,
    ) -> bool {
        match Message::decode(suite, bytes) {
            Ok(Message::Vote(v)) => {
                v.kind == VoteKind::Notarize
                    && self.chosen(v.view.0)
                    && to != self.holder(v.view.0, n)
            }
            Ok(Message::Certificate(c)) => c.kind == VoteKind::Notarize && self.chosen(c.view.0),
            Ok(Message::Proposal(p)) => {
                let v = p.proposal.block.view.0;
                v > 0 && self.chosen(v - 1)
            }
            _ => false,
        }
    }
}

/// Work that comes and goes, on a chain with a heartbeat (R14).
#[derive(Clone, Debug)]
pub struct Rest {
    /// The heartbeat: cores' `heartbeat_ms`, and how long an idle leader waits before it
    /// proposes.
    pub heartbeat_ms: u64,
    /// Windows `[start_ms, end_ms)` in which transactions are pending; idle in between.
    pub work: Vec<(u64, u64)>,
    /// Largest delay, per node, before a window's start or end reaches it (gossip and
    /// commit are not simultaneous), ms.
    pub spread_ms: u64,
    /// After a window opens, every honest node must finalize a block within this many ms.
    pub wake_bound_ms: u64,
    /// Run the cores without R14 (heartbeat 0) while idle leaders still wait for the
    /// heartbeat: only to show that the checks catch it; never in `SCENARIOS`.
    pub cores_never_rest: bool,
    /// Idle leaders propose at once instead of at the heartbeat: only to show that the
    /// checks catch it; never in `SCENARIOS`.
    pub leaders_never_wait: bool,
}

impl Rest {
    /// The end of the last work window, ms.
    pub fn end_ms(&self) -> u64 {
        self.work.iter().map(|w| w.1).max().unwrap_or(0)
    }

    /// The idle gaps `[from, to)` between windows (and after the last until `until_ms`),
    /// starting `settle_ms` after a window closes.
    pub fn gaps(&self, settle_ms: u64, until_ms: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        for (i, w) in self.work.iter().enumerate() {
            let next = self.work.get(i + 1).map(|n| n.0).unwrap_or(until_ms);
            let from = w.1 + settle_ms;
            if next > from {
                out.push((from, next));
            }
        }
        out
    }
}

/// A period of slow links (see [`Scenario::slow`]).
#[derive(Clone, Debug)]
pub struct Slow {
    /// Start time.
    pub start_ms: u64,
    /// End time.
    pub heal_ms: u64,
    /// Largest extra delay per message.
    pub extra_ms: u64,
}

/// Every scenario name.
pub const SCENARIOS: &[&str] = &[
    "happy",
    "lossy",
    "partition",
    "crash",
    "wipe",
    "leader-crash",
    "byz-equivocate",
    "byz-conflict",
    "byz-impersonate",
    "byz-nullify",
    "byz-withhold",
    "byz-garbage",
    "byz-forge-fetch",
    "byz-split-payload",
    "byz-replay",
    "byz-torsion",
    "byz-sig-flood",
    "mixed",
    "epoch",
    "epoch-remove",
    "epoch-add",
    "epoch-rotate",
    "epoch-crash",
    "epoch-mixed",
    "large",
    "rest",
    "rest-crash",
    "rest-byz",
    "pipeline",
    "pipeline-skip",
    "byz-stale-state",
    "byz-partial",
];

pub(crate) fn f_of(n: usize) -> usize {
    (n - 1) / 3
}

/// Cut one honest node off from everybody for a while.
fn isolate_one(s: &mut Scenario, rng: &mut ChaCha8Rng) {
    let honest: Vec<usize> = (0..s.n)
        .filter(|i| !s.byzantine.iter().any(|(j, _)| j == i))
        .collect();
    let node = honest[rng.gen_range(0..honest.len())];
    let start = rng.gen_range(300..800);
    s.partitions.push(Partition {
        start_ms: start,
        heal_ms: start + rng.gen_range(600..1_500),
        side: vec![node],
    });
    s.duration_ms = s.duration_ms.max(5_000);
    s.liveness_bound_ms = 3_000;
}

/// Build scenario `name` for `seed`; `None` for an unknown name.
pub fn scenario(name: &str, seed: u64) -> Option<Scenario> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5ce7_a210);
    let calm = Net {
        latency_min_ms: 10,
        latency_max_ms: 30,
        jitter_ms: 5,
        loss: 0.0,
        duplicate: 0.0,
    };
    let rough = Net {
        latency_min_ms: 5,
        latency_max_ms: 40,
        jitter_ms: 30,
        loss: 0.05,
        duplicate: 0.05,
    };
    let mut s = Scenario {
        name: name.to_string(),
        n: 4,
        suite: chancery_core::suite::Suite::default(),
        byzantine: Vec::new(),
        net: calm.clone(),
        partitions: Vec::new(),
        crashes: Vec::new(),
        leader_crash_at_ms: None,
        epochs: None,
        delta_ms: 50,
        persist_ms: 2,
        app_ms: 1,
        duration_ms: 3_000,
        liveness_bound_ms: 2_000,
        views_behind_max: None,
        per_node_cache: false,
        slow: None,
        liveness: true,
        wipe_on_restart: false,
        ignore_sign_mark: false,
        rest: None,
        skip_views: None,
        host_reads_parent_header: true,
        host_executes_held_parents: true,
        parent_wait_ms: 0,
        accept_any_state: false,
        unchecked_notarize: false,
        liveness_from_ms: 0,
        boundary_suffix: true,
    };
    let small = |rng: &mut ChaCha8Rng| [4usize, 4, 5, 7, 7, 10][rng.gen_range(0..6)];
    let byz = |s: &mut Scenario, rng: &mut ChaCha8Rng, kind: ByzKind| {
        s.n = small(rng);
        s.net = rough.clone();
        s.net.loss = 0.02;
        let f = f_of(s.n);
        let count = rng.gen_range(1..=f);
        let mut nodes: Vec<usize> = (0..s.n).collect();
        for i in 0..count {
            let j = rng.gen_range(i..nodes.len());
            nodes.swap(i, j);
            s.byzantine.push((nodes[i], kind));
        }
        s.duration_ms = 4_000;
    };
    match name {
        "happy" => {
            s.n = small(&mut rng);
        }
        "lossy" => {
            s.n = small(&mut rng);
            s.net = rough.clone();
            s.net.loss = rng.gen_range(0.02..0.15);
            s.duration_ms = 5_000;
            s.liveness_bound_ms = 4_000;
        }
        "partition" => {
            s.n = small(&mut rng);
            s.net = rough.clone();
            let k = rng.gen_range(1..s.n);
            let mut nodes: Vec<usize> = (0..s.n).collect();
            for i in 0..k {
                let j = rng.gen_range(i..nodes.len());
                nodes.swap(i, j);
            }
            let start = rng.gen_range(200..1_000);
            s.partitions.push(Partition {
                start_ms: start,
                heal_ms: start + rng.gen_range(300..1_500),
                side: nodes[..k].to_vec(),
            });
            s.duration_ms = 6_000;
            s.liveness_bound_ms = 4_000;
        }
        "crash" | "wipe" => {
            s.wipe_on_restart = name == "wipe";
            s.n = small(&mut rng);
            s.net = rough.clone();
            let f = f_of(s.n);
            for _ in 0..rng.gen_range(1..=2 * f) {
                let at = rng.gen_range(100..2_000);
                s.crashes.push(Crash {
                    node: rng.gen_range(0..s.n),
                    at_ms: at,
                    restart_ms: at + rng.gen_range(50..800),
                });
            }
            s.duration_ms = 6_000;
            s.liveness_bound_ms = 4_000;
        }
        "leader-crash" => {
            s.n = small(&mut rng);
            let at = rng.gen_range(500..1_000);
            s.leader_crash_at_ms = Some((at, at + 1_500));
            s.duration_ms = 5_000;
        }
        "byz-equivocate" => byz(&mut s, &mut rng, ByzKind::Equivocator),
        "byz-conflict" => byz(&mut s, &mut rng, ByzKind::Conflicter),
        "byz-impersonate" => byz(&mut s, &mut rng, ByzKind::Impersonator),
        "byz-nullify" => byz(&mut s, &mut rng, ByzKind::NullifyOnly),
        "byz-withhold" => byz(&mut s, &mut rng, ByzKind::Withholder),
        "byz-garbage" => byz(&mut s, &mut rng, ByzKind::Garbage),
        "byz-forge-fetch" => {
            byz(&mut s, &mut rng, ByzKind::ForgingResponder);
            // The isolated node fetches the blocks it missed when it returns.
            isolate_one(&mut s, &mut rng);
        }
        "byz-split-payload" => byz(&mut s, &mut rng, ByzKind::SplitPayloadLeader),
        "byz-stale-state" => byz(&mut s, &mut rng, ByzKind::StaleStateLeader),
        "byz-partial" => {
            // One `PartialLeader`: its attack needs its 2f recipients honest (with it they
            // are a quorum, without it they are not). It leads within the first n views,
            // and again every n views until a block of its sticks, well before 2 s.
            s.n = [4usize, 7][rng.gen_range(0..2)];
            s.net = rough.clone();
            s.net.loss = 0.02;
            s.byzantine
                .push((rng.gen_range(0..s.n), ByzKind::PartialLeader));
            s.liveness_from_ms = 2_000;
            s.duration_ms = 5_000;
        }
        "pipeline" => {
            // Leaders build on notarized parents at once (R15); one node crashes and comes
            // back without its speculative results.
            s.n = small(&mut rng);
            let at = rng.gen_range(500..1_500);
            s.crashes.push(Crash {
                node: rng.gen_range(0..s.n),
                at_ms: at,
                restart_ms: at + rng.gen_range(100..600),
            });
            s.duration_ms = 4_000;
        }
        "pipeline-skip" => {
            s.n = small(&mut rng);
            s.skip_views = Some(SkipViews {
                every: rng.gen_range(3..6),
            });
            s.duration_ms = 4_000;
        }
        "byz-replay" => {
            byz(&mut s, &mut rng, ByzKind::CertReplayer);
            // Slow links: views end by nullification, some of them after a late
            // notarization, and nothing is finalized for more than `views_behind_max`
            // views, so honest nodes prune views they nullified while the replayer sends
            // their notarizations again. Past that the core stalls (§10): no liveness.
            s.views_behind_max = Some(4);
            s.net.loss = 0.0;
            let start = rng.gen_range(300..600);
            s.slow = Some(Slow {
                start_ms: start,
                heal_ms: start + rng.gen_range(1_500..2_500),
                extra_ms: rng.gen_range(150..300),
            });
            s.liveness = false;
        }
        "byz-torsion" => {
            byz(&mut s, &mut rng, ByzKind::TorsionSigner);
            s.per_node_cache = true;
        }
        "byz-sig-flood" => {
            byz(&mut s, &mut rng, ByzKind::SigFlooder);
            // Flooded messages arrive together, so they are verified as one batch.
            s.net.jitter_ms = 0;
        }
        "mixed" => {
            s.n = [7usize, 10, 13][rng.gen_range(0..3)];
            s.net = rough.clone();
            let f = f_of(s.n);
            let kinds = ByzKind::MIXED;
            let byz_count = rng.gen_range(0..=f);
            let mut nodes: Vec<usize> = (0..s.n).collect();
            for i in 0..s.n {
                let j = rng.gen_range(i..nodes.len());
                nodes.swap(i, j);
            }
            for &node in &nodes[..byz_count] {
                s.byzantine
                    .push((node, kinds[rng.gen_range(0..kinds.len())]));
            }
            // Crash honest nodes only, so that at most f are faulty while crashed.
            for &node in &nodes[byz_count..byz_count + (f - byz_count).max(1).min(s.n - byz_count)]
            {
                let at = rng.gen_range(100..2_000);
                s.crashes.push(Crash {
                    node,
                    at_ms: at,
                    restart_ms: at + rng.gen_range(50..800),
                });
            }
            let start = rng.gen_range(200..1_500);
            s.partitions.push(Partition {
                start_ms: start,
                heal_ms: start + rng.gen_range(200..1_000),
                side: nodes[..rng.gen_range(1..s.n)].to_vec(),
            });
            s.duration_ms = 7_000;
            s.liveness_bound_ms = 4_000;
        }
        "epoch" => {
            s.n = small(&mut rng);
            let h = rng.gen_range(3..8);
            // Epoch 1 has the same validators; every host knows of it from the start.
            let mut e = Epochs::genesis(s.n);
            e.push_change(h, 0, e.members(0));
            s.epochs = Some(e);
            s.duration_ms = 3_000;
        }
        "epoch-remove" | "epoch-add" | "epoch-rotate" | "epoch-crash" | "epoch-mixed" => {
            crate::epochs::build(&mut s, &mut rng);
        }
        "large" => {
            s.n = [31, 16, 22][(seed % 3) as usize];
            s.net.loss = 0.01;
            s.delta_ms = 60;
            s.duration_ms = 1_500;
            s.liveness_bound_ms = 1_400;
        }
        "rest" | "rest-crash" | "rest-byz" => {
            s.n = small(&mut rng);
            s.net = rough.clone();
            s.net.loss = 0.01;
            if name == "rest-byz" {
                // Leaders that never propose to enough peers, while resting or not.
                byz(&mut s, &mut rng, ByzKind::Withholder);
            }
            let heartbeat_ms = rng.gen_range(300..800);
            let wake_bound_ms = 1_000;
            // Long enough gaps that f failed leaders in a row cannot explain a gap without
            // a heartbeat block (the check in `sim::check_rest`).
            let f = f_of(s.n) as u64;
            let gap_min = (f + 2) * (heartbeat_ms + 3 * s.delta_ms) + 2 * wake_bound_ms;
            let mut work = Vec::new();
            let mut t = rng.gen_range(100..1_500);
            for _ in 0..3 {
                let len = rng.gen_range(100..600);
                work.push((t, t + len));
                t += len + gap_min + rng.gen_range(0..4 * heartbeat_ms);
            }
            s.duration_ms = t;
            s.rest = Some(Rest {
                heartbeat_ms,
                work,
                spread_ms: 40,
                // Each node learns of the work within `spread_ms`; then a few views at 2Δ.
                wake_bound_ms,
                cores_never_rest: false,
                leaders_never_wait: false,
            });
            s.liveness_bound_ms = s.rest_liveness_ms();
            if name == "rest-crash" {
                // Crash a node while the chain rests, for up to a few heartbeats.
                let at = s.duration_ms / 2 + rng.gen_range(0..heartbeat_ms);
                s.crashes.push(Crash {
                    node: rng.gen_range(0..s.n),
                    at_ms: at,
                    restart_ms: at + rng.gen_range(heartbeat_ms..3 * heartbeat_ms),
                });
            }
        }
        _ => return None,
    }
    Some(s)
}

impl Scenario {
    /// The liveness window a resting chain needs: up to f+1 resting views whose leaders
    /// failed, each a heartbeat plus 2Δ, then a heartbeat.
    fn rest_liveness_ms(&self) -> u64 {
        let h = self.rest.as_ref().map(|r| r.heartbeat_ms).unwrap_or(0);
        let f = f_of(self.n) as u64;
        (f + 2) * (h + 3 * self.delta_ms) + 1_500
    }

    /// Time at which the last scheduled fault heals (0 without faults), ms; at least
    /// [`Scenario::liveness_from_ms`].
    pub fn heal_ms(&self) -> u64 {
        let p = self.partitions.iter().map(|p| p.heal_ms);
        let c = self.crashes.iter().map(|c| c.restart_ms);
        let l = self.leader_crash_at_ms.iter().map(|(_, r)| *r);
        let s = self.slow.iter().map(|s| s.heal_ms);
        let from = std::iter::once(self.liveness_from_ms);
        // A late joiner is a fault until it starts.
        let late = self.epochs.iter().flat_map(|e| e.late.iter().map(|l| l.1));
        p.chain(c)
            .chain(l)
            .chain(s)
            .chain(from)
            .chain(late)
            .max()
            .unwrap_or(0)
    }

    /// The scenario with validators of `suite`.
    pub fn with_suite(mut self, suite: chancery_core::suite::Suite) -> Scenario {
        self.suite = suite;
        self
    }

    /// A shorter run for `cargo test`: stop once the liveness window after the last fault
    /// has passed (the window is capped at 2.5 s of simulated time).
    pub fn quick(mut self) -> Scenario {
        self.liveness_bound_ms = self.liveness_bound_ms.min(2_500);
        if self.rest.is_some() {
            // The rests are the point: keep every window and gap, and a liveness window
            // long enough for a resting view with a failed leader.
            self.liveness_bound_ms = self.liveness_bound_ms.max(self.rest_liveness_ms());
            self.duration_ms = self
                .duration_ms
                .max(self.heal_ms() + self.liveness_bound_ms + 1);
            return self;
        }
        self.duration_ms = self.heal_ms() + self.liveness_bound_ms + 1;
        self
    }
}
