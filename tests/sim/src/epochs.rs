//! Validator-set changes at epoch boundaries (R13, docs/governance.md): the plan of a run
//! (which nodes validate in each epoch, under which key, and how their hosts learn of each
//! change) and the `epoch-*` scenarios built on it.
//!
//! Node `i` is a process with its own identity (name `v{i}`, network key) for the whole run;
//! its index in a validator set changes from epoch to epoch (members are removed and
//! inserted anywhere), and its consensus key changes when it rotates (a new key
//! generation). Its host feeds its core `Input::EpochChange` for epoch `e` once it has
//! finalized the height at which the change was announced (the block in which the
//! governance proposal passed), unless it is one of the `unannounced` nodes (a removed
//! validator that keeps running the old epoch).

use crate::byzantine::ByzKind;
use crate::scenario::{f_of, Crash, Net, Partition, Scenario};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One validator of an epoch: a node and the generation of its consensus key (0: the key
/// it started with; each rotation moves it to the next).
pub type Member = (usize, usize);

/// One epoch after the genesis.
#[derive(Clone, Debug)]
pub struct EpochPlan {
    /// Its first height: the block at `start_height - 1` (the boundary block) is the last
    /// of the epoch before.
    pub start_height: u64,
    /// The height whose finalization tells a host of this epoch (the block in which the
    /// governance proposal passed: `start_height - 1 - epoch_delay_blocks`); 0: every host
    /// knows from the start. A host tells its core once it has finalized this height.
    pub announce_height: u64,
    /// The validators, in index order.
    pub members: Vec<Member>,
}

/// A crash of `node` `delay_ms` after it finalizes the boundary block of `epoch` (the last
/// block of the epoch before), for `down_ms`; it restarts from its durable votes.
#[derive(Clone, Debug)]
pub struct BoundaryCrash {
    /// The node.
    pub node: usize,
    /// The epoch whose boundary block triggers the crash.
    pub epoch: u64,
    /// From the finalization of the boundary block to the crash, ms.
    pub delay_ms: u64,
    /// From the crash to the restart, ms.
    pub down_ms: u64,
}

/// Host block sync (node/daemon/src/sync.rs, `Driver::rebuild_core`): every `interval_ms`
/// an honest host asks the next node for the finalized blocks above its tip with their
/// certificates, verifies each certificate against the set of its block's epoch, commits
/// the blocks up to the end of the epoch of the first one, and restarts its core at the
/// new tip; it then tells the core of the next epoch if it knows of it, and the core
/// switches (R13) when the tip is the boundary block.
#[derive(Clone, Debug)]
pub struct HostSync {
    /// Between two requests of one host, ms.
    pub interval_ms: u64,
    /// Most blocks in one answer.
    pub blocks_max: usize,
}

/// The validator sets of a run.
#[derive(Clone, Debug)]
pub struct Epochs {
    /// The genesis set (epoch 0), in index order, every node with its first key.
    pub genesis: Vec<usize>,
    /// Epochs 1, 2, ... in order.
    pub changes: Vec<EpochPlan>,
    /// Nodes that start late, from the genesis root, at this time (ms): they catch up by
    /// host sync and, from the first epoch they are a member of, vote.
    pub late: Vec<(usize, u64)>,
    /// Nodes whose hosts never tell their cores of an epoch change: they keep running the
    /// epoch they started in (a removed validator whose operator never upgraded).
    pub unannounced: Vec<usize>,
    /// Crashes at epoch boundaries.
    pub boundary_crashes: Vec<BoundaryCrash>,
    /// A Byzantine member that relays what the `Ghost` (a removed validator) sends to the
    /// nodes whose host gate drops it (a host delivers only messages from validators of its
    /// core's current set: the ghost's messages reach a core of a later epoch only through
    /// such an accomplice, reported in its place).
    pub relay: Option<usize>,
    /// Host block sync, for every honest node; `None`: none.
    pub sync: Option<HostSync>,
}

impl Epochs {
    /// Epoch 0 only, validators `0..n`, with host sync.
    pub fn genesis(n: usize) -> Epochs {
        Epochs {
            genesis: (0..n).collect(),
            changes: Vec::new(),
            late: Vec::new(),
            unannounced: Vec::new(),
            boundary_crashes: Vec::new(),
            relay: None,
            sync: Some(HostSync {
                interval_ms: 200,
                blocks_max: 16,
            }),
        }
    }

    /// The members of `epoch` (0: the genesis set).
    pub fn members(&self, epoch: usize) -> Vec<Member> {
        match epoch {
            0 => self.genesis.iter().map(|n| (*n, 0)).collect(),
            e => self.changes[e - 1].members.clone(),
        }
    }

    /// Add the next epoch.
    pub fn push_change(&mut self, start_height: u64, announce_height: u64, members: Vec<Member>) {
        self.changes.push(EpochPlan {
            start_height,
            announce_height,
            members,
        });
    }

    /// The number of the last epoch.
    pub fn last(&self) -> usize {
        self.changes.len()
    }

    /// The first height of `epoch`.
    pub fn start_of(&self, epoch: usize) -> u64 {
        match epoch {
            0 => 1,
            e => self.changes[e - 1].start_height,
        }
    }

    /// Whether `node` is a validator of `epoch`.
    pub fn is_member(&self, epoch: usize, node: usize) -> bool {
        self.members(epoch).iter().any(|m| m.0 == node)
    }

    /// Every epoch has fewer than a third of its validators among `faulty`.
    pub fn faults_ok(&self, faulty: &[usize]) -> bool {
        (0..=self.last()).all(|e| {
            let m = self.members(e);
            let bad = m.iter().filter(|x| faulty.contains(&x.0)).count();
            bad <= f_of(m.len())
        })
    }

    /// The members of the last epoch with their current key generation.
    fn current(&self) -> Vec<Member> {
        self.members(self.last())
    }

    /// The next epoch: `members`, starting 4 to 9 heights after the last one, announced
    /// (the governance proposal passes) 1 to 3 heights before its boundary block
    /// (`epoch_delay_blocks` is at least 1, docs/governance.md), in the epoch before, or
    /// only at the boundary block (whose header commits the next set: the latest a host
    /// can learn of it).
    fn next(&mut self, rng: &mut ChaCha8Rng, members: Vec<Member>) {
        let before = self.start_of(self.last());
        let start = before + rng.gen_range(4..10);
        let announce = if rng.gen_bool(0.3) {
            start - 1
        } else {
            (start - 1 - rng.gen_range(1..=3)).max(before)
        };
        self.push_change(start, announce, members);
    }
}

/// `members` with `(node, 0)` inserted at a random index (the others' indices shift).
fn insert(rng: &mut ChaCha8Rng, members: &[Member], node: usize) -> Vec<Member> {
    let mut m = members.to_vec();
    let at = rng.gen_range(0..=m.len());
    m.insert(at, (node, 0));
    m
}

/// `members` without `node`.
fn without(members: &[Member], node: usize) -> Vec<Member> {
    members.iter().copied().filter(|m| m.0 != node).collect()
}

/// `members` with `node`'s key rotated to the next generation.
fn rotated(members: &[Member], node: usize) -> Vec<Member> {
    members
        .iter()
        .map(|m| if m.0 == node { (m.0, m.1 + 1) } else { *m })
        .collect()
}

fn pick(rng: &mut ChaCha8Rng, from: &[usize]) -> usize {
    from[rng.gen_range(0..from.len())]
}

/// The links of the epoch scenarios: rough, 2% loss.
fn rough() -> Net {
    Net {
        latency_min_ms: 5,
        latency_max_ms: 40,
        jitter_ms: 30,
        loss: 0.02,
        duplicate: 0.05,
    }
}

/// How the removed validator behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Removed {
    /// Its host never feeds the change: its core keeps running the old epoch (its honest
    /// votes and proposals of that epoch go on).
    Stale,
    /// The same, and it signs messages of the later epochs with its key (retired).
    GhostStale,
    /// Its host feeds the change (its core follows as an observer), and it signs messages of
    /// the later epochs with its retired key and replays its old votes.
    GhostObserver,
    /// Honest: its host feeds the change, its core follows as an observer.
    Honest,
}

impl Removed {
    fn draw(rng: &mut ChaCha8Rng) -> Removed {
        [
            Removed::Stale,
            Removed::GhostStale,
            Removed::GhostObserver,
            Removed::Honest,
        ][rng.gen_range(0..4)]
    }

    /// Mark `node` as this kind of removed validator.
    fn apply(self, s: &mut Scenario, e: &mut Epochs, node: usize) {
        match self {
            Removed::Stale => s.byzantine.push((node, ByzKind::Stale)),
            Removed::GhostStale | Removed::GhostObserver => {
                s.byzantine.push((node, ByzKind::Ghost))
            }
            Removed::Honest => {}
        }
        if matches!(self, Removed::Stale | Removed::GhostStale) {
            e.unannounced.push(node);
        }
    }
}

/// Build the `epoch-*` scenario `s.name` (every one: rough links with 2% loss, host sync,
/// honest majority in every epoch's set).
pub fn build(s: &mut Scenario, rng: &mut ChaCha8Rng) {
    s.net = rough();
    s.duration_ms = 4_000;
    s.liveness_bound_ms = 2_500;
    match s.name.as_str() {
        "epoch-remove" => remove(s, rng),
        "epoch-add" => add(s, rng),
        "epoch-rotate" => rotate(s, rng),
        "epoch-crash" => crash(s, rng),
        _ => mixed(s, rng),
    }
}

/// One validator removed at the boundary: stale, a ghost (stale or an observer) signing
/// later epochs' messages with its retired key, or honest; with n >= 7, a Byzantine member
/// of the new set may relay the ghost's messages.
fn remove(s: &mut Scenario, rng: &mut ChaCha8Rng) {
    s.n = [5usize, 5, 7, 8][rng.gen_range(0..4)];
    let mut e = Epochs::genesis(s.n);
    let removed = rng.gen_range(0..s.n);
    let how = Removed::draw(rng);
    let members = without(&e.members(0), removed);
    e.next(rng, members);
    how.apply(s, &mut e, removed);
    let ghost = matches!(how, Removed::GhostStale | Removed::GhostObserver);
    if ghost && s.n >= 7 && rng.gen_bool(0.7) {
        let others: Vec<usize> = (0..s.n).filter(|n| *n != removed).collect();
        let relay = pick(rng, &others);
        s.byzantine.push((relay, ByzKind::Relay));
        e.relay = Some(relay);
    }
    // The boundary (at most height 13) is finalized well before the window opens.
    s.liveness_from_ms = 1_500;
    s.epochs = Some(e);
}

/// Validators added: a late joiner that starts from the genesis root after the switch and
/// catches up across one or two epochs by host sync; in a third of the seeds the new set
/// needs it for every quorum (4 validators, one of them nullify-only, one old validator
/// removed), so the chain stalls until it has caught up and votes.
fn add(s: &mut Scenario, rng: &mut ChaCha8Rng) {
    if rng.gen_bool(1.0 / 3.0) {
        s.n = 5;
        let mut e = Epochs::genesis(4);
        let joiner = 4;
        let removed = rng.gen_range(0..4);
        let stays: Vec<usize> = (0..4).filter(|n| *n != removed).collect();
        let nullifier = pick(rng, &stays);
        s.byzantine.push((nullifier, ByzKind::NullifyOnly));
        let members = insert(rng, &without(&e.members(0), removed), joiner);
        e.next(rng, members);
        e.late.push((joiner, rng.gen_range(800..2_000)));
        s.epochs = Some(e);
        return;
    }
    let n0 = [4usize, 6, 7][rng.gen_range(0..3)];
    let mut e = Epochs::genesis(n0);
    let first = n0;
    let members = insert(rng, &e.members(0), first);
    e.next(rng, members);
    let t1 = rng.gen_range(1_000..3_000);
    e.late.push((first, t1));
    s.n = n0 + 1;
    if rng.gen_bool(0.5) {
        // Epoch 2 adds a second late joiner, a member of epoch 2 only.
        let second = n0 + 1;
        let members = insert(rng, &e.current(), second);
        e.next(rng, members);
        e.late.push((second, rng.gen_range(1_000..3_000)));
        s.n = n0 + 2;
    }
    if rng.gen_bool(0.5) {
        let kinds = ByzKind::MIXED;
        let node = rng.gen_range(0..n0);
        let kind = kinds[rng.gen_range(0..kinds.len())];
        if e.faults_ok(&[node]) {
            s.byzantine.push((node, kind));
        }
    }
    s.epochs = Some(e);
}

/// A consensus key rotated (same node and index, new key): a `KeyThief` member holding
/// the old key signs votes of the new epochs in the rotated validator's name and otherwise
/// withholds its votes, so that with n = 4 every quorum needs the new key; in half the
/// n = 7 seeds the same validator rotates again in epoch 2.
fn rotate(s: &mut Scenario, rng: &mut ChaCha8Rng) {
    s.n = [4usize, 4, 5, 7][rng.gen_range(0..4)];
    let mut e = Epochs::genesis(s.n);
    let r = rng.gen_range(0..s.n);
    let members = rotated(&e.members(0), r);
    e.next(rng, members);
    if s.n == 7 && rng.gen_bool(0.5) {
        let members = rotated(&e.current(), r);
        e.next(rng, members);
    }
    if s.n == 4 || rng.gen_bool(0.5) {
        let others: Vec<usize> = (0..s.n).filter(|n| *n != r).collect();
        s.byzantine.push((pick(rng, &others), ByzKind::KeyThief));
    }
    s.liveness_from_ms = 1_500;
    s.epochs = Some(e);
}

/// Validators killed right at the boundary: each crashes 0 to 2Δ after it finalizes the
/// boundary block and restarts from its durable votes 100 to 800 ms later. The change is
/// none, a removal, an addition (the new validator runs from the start as an observer) or a
/// rotation (whose validator is among those killed in half the seeds).
fn crash(s: &mut Scenario, rng: &mut ChaCha8Rng) {
    s.n = [4usize, 5, 7][rng.gen_range(0..3)];
    let n0 = s.n;
    let mut e = Epochs::genesis(n0);
    let mut killed: Vec<usize> = Vec::new();
    let g = e.members(0);
    let members = match rng.gen_range(0..4) {
        1 if n0 >= 5 => without(&g, rng.gen_range(0..n0)),
        2 => {
            s.n = n0 + 1;
            insert(rng, &g, n0)
        }
        3 => {
            let r = rng.gen_range(0..n0);
            if rng.gen_bool(0.5) {
                killed.push(r);
            }
            rotated(&g, r)
        }
        _ => g.clone(),
    };
    e.next(rng, members);
    let both: Vec<usize> = (0..n0).filter(|n| e.is_member(1, *n)).collect();
    let f = f_of(n0).min(f_of(e.members(1).len())).max(1);
    while killed.len() < f {
        let node = pick(rng, &both);
        if !killed.contains(&node) {
            killed.push(node);
        }
    }
    for node in killed {
        e.boundary_crashes.push(BoundaryCrash {
            node,
            epoch: 1,
            delay_ms: rng.gen_range(0..=2 * s.delta_ms),
            down_ms: rng.gen_range(100..800),
        });
    }
    s.liveness_from_ms = 1_500;
    s.epochs = Some(e);
}

/// Two or three changes, each an addition (a late joiner, or one running from the start),
/// a removal (any kind of removed validator) or a rotation; a Byzantine member of a new
/// set; a partition around the first boundary; a crash; a crash at a boundary.
fn mixed(s: &mut Scenario, rng: &mut ChaCha8Rng) {
    let n0 = [4usize, 5, 7, 7][rng.gen_range(0..4)];
    s.n = n0;
    let mut e = Epochs::genesis(n0);
    let mut removed = Vec::new();
    for _ in 0..rng.gen_range(2..=3) {
        let cur = e.current();
        let nodes: Vec<usize> = cur.iter().map(|m| m.0).collect();
        let members = match rng.gen_range(0..3) {
            0 if cur.len() > 4 => {
                let r = pick(rng, &nodes);
                removed.push((r, Removed::draw(rng)));
                without(&cur, r)
            }
            1 => rotated(&cur, pick(rng, &nodes)),
            _ => {
                let node = s.n;
                s.n += 1;
                if rng.gen_bool(0.7) {
                    e.late.push((node, rng.gen_range(1_000..2_500)));
                }
                insert(rng, &cur, node)
            }
        };
        e.next(rng, members);
    }
    for (node, how) in removed {
        // A faulty removed validator only while every epoch keeps its honest majority.
        let mut faulty: Vec<usize> = s.byzantine.iter().map(|b| b.0).collect();
        faulty.push(node);
        let how = if how == Removed::Honest || e.faults_ok(&faulty) {
            how
        } else {
            Removed::Honest
        };
        how.apply(s, &mut e, node);
    }
    // A Byzantine member of a later set (if every epoch keeps its honest majority).
    let faulty: Vec<usize> = s.byzantine.iter().map(|b| b.0).collect();
    let later: Vec<usize> = e.current().iter().map(|m| m.0).collect();
    let node = pick(rng, &later);
    let kinds = ByzKind::MIXED;
    let kind = kinds[rng.gen_range(0..kinds.len())];
    let mut with = faulty.clone();
    with.push(node);
    if !faulty.contains(&node) && e.faults_ok(&with) {
        s.byzantine.push((node, kind));
    }
    if s.byzantine.iter().any(|b| b.1 == ByzKind::Ghost) && rng.gen_bool(0.5) {
        let faulty: Vec<usize> = s.byzantine.iter().map(|b| b.0).collect();
        let node = pick(rng, &later);
        let mut with = faulty.clone();
        with.push(node);
        if !faulty.contains(&node) && e.faults_ok(&with) {
            s.byzantine.push((node, ByzKind::Relay));
            e.relay = Some(node);
        }
    }
    let honest: Vec<usize> = (0..s.n)
        .filter(|n| !s.byzantine.iter().any(|b| b.0 == *n))
        .filter(|n| !e.late.iter().any(|l| l.0 == *n))
        .collect();
    let start = rng.gen_range(300..1_200);
    let k = rng.gen_range(1..s.n);
    let mut nodes: Vec<usize> = (0..s.n).collect();
    for i in 0..k {
        let j = rng.gen_range(i..nodes.len());
        nodes.swap(i, j);
    }
    s.partitions.push(Partition {
        start_ms: start,
        heal_ms: start + rng.gen_range(300..1_000),
        side: nodes[..k].to_vec(),
    });
    if rng.gen_bool(0.5) {
        let at = rng.gen_range(200..2_500);
        s.crashes.push(Crash {
            node: pick(rng, &honest),
            at_ms: at,
            restart_ms: at + rng.gen_range(100..800),
        });
    }
    if rng.gen_bool(0.5) {
        let epoch = rng.gen_range(1..=e.last());
        let both: Vec<usize> = honest
            .iter()
            .copied()
            .filter(|n| e.is_member(epoch - 1, *n) && e.is_member(epoch, *n))
            .collect();
        if !both.is_empty() {
            e.boundary_crashes.push(BoundaryCrash {
                node: pick(rng, &both),
                epoch: epoch as u64,
                delay_ms: rng.gen_range(0..=2 * s.delta_ms),
                down_ms: rng.gen_range(100..800),
            });
        }
    }
    // Up to three boundaries (height 28 at most), behind a partition and late joiners.
    s.duration_ms = 5_500;
    s.liveness_from_ms = 2_500;
    s.epochs = Some(e);
}
