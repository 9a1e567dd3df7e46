//! The simulation loop: a seeded event queue drives the cores, the network, the disk, the
//! application and the fault schedule; invariants are checked as effects come out.

use crate::byzantine::{ByzKind, Byzantine, Ctx, Retired};
use crate::epochs::Epochs;
use crate::scenario::Scenario;
use crate::state::{self, FillError, Host, Truth, SPECULATIVE_DEPTH_MAX};
use chancery_consensus::verify::{verify_certificate, Verifier};
use chancery_consensus::{
    Block, BlockBinding, BlockRef, Config, Core, Effect, HashBinding, Input, Message, TimeoutKind,
    Vote,
};
use chancery_core::cert::{Certificate, VoteKind};
use chancery_core::codec;
use chancery_core::crypto::{self, BatchItem, KeyCache, SecretKey, SignatureError};
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

/// The simulated application's digest rule ([`HashBinding`]) and its boundary blocks: the
/// block at the height before an epoch's first ends the epoch before (a boundary header
/// commits the next validator set, docs/governance.md).
struct SimBinding {
    ends: Vec<u64>,
}

impl BlockBinding for SimBinding {
    fn check(&self, block: &Block) -> Result<(), String> {
        HashBinding.check(block)
    }

    fn ends_epoch(&self, block: &Block) -> bool {
        self.ends.contains(&block.height.0)
    }
}

/// A broken invariant, with what is needed to replay it.
#[derive(Debug, Clone)]
pub struct Violation {
    /// Scenario name.
    pub scenario: String,
    /// The validators' crypto suite.
    pub suite: chancery_core::suite::Suite,
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
            "VIOLATION in scenario {} seed {} at {} ms (commit {}): {}\n  replay: {}",
            self.scenario,
            self.seed,
            self.at_ms,
            crate::BUILT_FROM_COMMIT,
            self.what,
            crate::replay_command_in(self.suite, &self.scenario, self.seed)
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
    /// Epoch switches (`Effect::EpochChanged`) at honest nodes.
    pub epoch_switches: u64,
    /// The last epoch's number (0 without epoch changes).
    pub last_epoch: u64,
    /// Messages a host gate dropped: their sender is not a validator of the receiver's
    /// current set.
    pub gate_dropped: u64,
    /// A removed validator's messages delivered through its Byzantine relay.
    pub relayed: u64,
    /// Signatures made with retired keys (removed validators' and rotated-out keys).
    pub retired_signatures: u64,
    /// Proposals honest validators refused because the block's height belongs to another
    /// epoch than the proposal's (a stale core's proposal after the boundary).
    pub wrong_epoch_refused: u64,
    /// Blocks an honest leader's host would not build: the height belongs to the next
    /// epoch (its parent is the boundary block, not yet finalized).
    pub wrong_epoch_unbuilt: u64,
    /// Empty suffix blocks honest leaders built past an epoch's last height (R13).
    pub suffix_proposals: u64,
    /// Boundary blocks finalized by a suffix block's certificate (at honest nodes).
    pub suffix_finalized: u64,
    /// Distinct certificates checked against their epoch's set.
    pub certificates_checked: u64,
    /// Finalized blocks honest hosts committed from block sync.
    pub synced_blocks: u64,
    /// Times an honest host restarted its core after block sync or a key rotation.
    pub core_rebuilds: u64,
    /// Late joiners (honest).
    pub late_joiners: u64,
    /// Late joiners whose signature is in a certificate of an epoch they are a validator
    /// of (their votes counted).
    pub late_joiners_counted: u64,
    /// Rotated validators (honest) whose new key signed a certificate of an epoch after
    /// their rotation.
    pub rotated_counted: u64,
    /// Rotated validators (honest).
    pub rotated: u64,
    /// Validators crashed at a boundary.
    pub boundary_crashes: u64,
    /// How far past the scenario's end an epoch plan needed to take its last change, in
    /// ms (0: it ended in time; at most [`EPOCH_GRACE_MS`]).
    pub epoch_grace_ms: u64,
}

/// Largest number of signature checks the simulator allows for one delivery of `sigs`
/// signatures: `2·s·(⌈log2 s⌉ + 1)`, what a bisection that halves the rest after each
/// bad item needs when every signature is bad. A search that re-verifies the rest after
/// each bad item needs about `s²` and fails this bound from about ten bad signatures.
pub fn verify_work_bound(sigs: u64) -> u64 {
    let log = u64::from(64 - sigs.saturating_sub(1).leading_zeros());
    2 * sigs * (log + 1)
}

/// Most virtual time a run with epoch changes continues past its end while an honest
/// node has not reached the last epoch, in ms. Found by the 10^5-seed campaign: in
/// `epoch-mixed` seed 1002135 (n = 6, one member stale, so every quorum needs every honest
/// vote, 2% loss) the chain advanced a block per 200 ms and was two heights short of the
/// last epoch at 5.5 s.
pub const EPOCH_GRACE_MS: u64 = 6_000;

/// A signature cache shared by the simulated cores (or one per node): each signature is
/// checked once. Counts the checks it does in `work`.
#[derive(Clone)]
pub struct CachedVerifier {
    cache: Arc<Mutex<HashSet<CacheKey>>>,
    /// Checked keys: a key's two decompressions (the key rule) were most of a check's
    /// cost, paid again for every signature of the same few validators.
    keys: Arc<Mutex<KeyCache>>,
    work: Arc<AtomicU64>,
}

/// Keys a [`CachedVerifier`] keeps checked: more than any scenario's validators, old and
/// new, and the Byzantine nodes' forged keys.
const SIM_KEYS_MAX: usize = 4096;

impl Default for CachedVerifier {
    fn default() -> Self {
        CachedVerifier::counting(Arc::default())
    }
}

impl CachedVerifier {
    /// A cache of its own that adds its work to `work`.
    pub fn counting(work: Arc<AtomicU64>) -> CachedVerifier {
        CachedVerifier {
            cache: Arc::default(),
            keys: Arc::new(Mutex::new(KeyCache::new(SIM_KEYS_MAX))),
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
        let res = match self.keys.lock() {
            Ok(mut keys) => crypto::verify_batch_cached(&sub, &mut keys),
            Err(_) => crypto::verify_batch(&sub),
        };
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
    /// A late joiner starts, from the genesis root.
    Join {
        node: usize,
    },
    /// A host's periodic block-sync request is due.
    SyncTick {
        node: usize,
    },
    /// A block-sync request reaches `to`: the finalized blocks above height `after`.
    SyncRequest {
        to: usize,
        from: usize,
        after: u64,
    },
    /// A block-sync answer reaches `to`.
    SyncReply {
        to: usize,
        blocks: Vec<Synced>,
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
    /// The current core has been started (`Input::Start`): the host may feed it an epoch
    /// change.
    started: bool,
    /// The epoch change the host fed the current core, if any.
    fed: Option<u64>,
    /// The host never feeds its core an epoch change (a removed validator left running).
    unannounced: bool,
    /// The core must be restarted with a new key (a rotation took effect).
    rebuild: bool,
    /// The finalized blocks with the certificates they were delivered with (kept with
    /// epoch changes, to answer block sync).
    blocks: Vec<Synced>,
    /// The next node a block-sync request goes to.
    sync_next: usize,
    /// The retired key a `Ghost` or `KeyThief` signs with.
    retired: Option<Retired>,
}

/// A finalized block as a host keeps it to answer block sync: the certificate it was
/// finalized with and, when that certificate is a suffix block's (R13), the blocks from
/// this one's child up to the certificate's block (the link, read from the core).
#[derive(Clone, Debug)]
struct Synced {
    block: Block,
    cert: Certificate,
    links: Vec<Block>,
}

/// The validator sets of a run by epoch, and every node's index and key in them.
struct Plan {
    /// The scenario's plan (`None`: epoch 0 only, nodes `0..n`).
    epochs: Option<Epochs>,
    /// The set of each epoch.
    sets: Vec<ValidatorSet>,
    /// `[epoch][index]`: the node.
    members: Vec<Vec<usize>>,
    /// `[epoch][node]`: its index, if it is a validator.
    index: Vec<Vec<Option<u16>>>,
    /// `[epoch][node]`: its key generation, if it is a validator.
    gens: Vec<Vec<Option<usize>>>,
    /// The first height of each epoch.
    starts: Vec<u64>,
    /// The height whose finalization tells a host of each epoch (0 for epoch 0).
    announce: Vec<u64>,
}

impl Plan {
    fn new(sc: &Scenario, keys: &[Vec<SecretKey>]) -> Plan {
        let epochs = sc.epochs.clone();
        let e = epochs.clone().unwrap_or_else(|| Epochs::genesis(sc.n));
        let mut plan = Plan {
            epochs,
            sets: Vec::new(),
            members: Vec::new(),
            index: Vec::new(),
            gens: Vec::new(),
            starts: Vec::new(),
            announce: Vec::new(),
        };
        for epoch in 0..=e.last() {
            let members = e.members(epoch);
            let mut index = vec![None; sc.n];
            let mut gens = vec![None; sc.n];
            for (i, (node, gen)) in members.iter().enumerate() {
                index[*node] = Some(i as u16);
                gens[*node] = Some(*gen);
            }
            plan.sets.push(ValidatorSet {
                epoch: Epoch(epoch as u64),
                start_height: Height(e.start_of(epoch)),
                validators: members
                    .iter()
                    .map(|(node, gen)| Validator {
                        name: format!("v{node}"),
                        agency: AgencyId(format!("agency-{node}")),
                        consensus_key: keys[*node][*gen].public(),
                        network_key: chancery_core::NetworkKey::from_seed([*node as u8 + 1; 32]),
                        power: 1,
                    })
                    .collect(),
            });
            plan.members.push(members.iter().map(|m| m.0).collect());
            plan.index.push(index);
            plan.gens.push(gens);
            plan.starts.push(e.start_of(epoch));
            plan.announce.push(
                epoch
                    .checked_sub(1)
                    .map_or(0, |p| e.changes[p].announce_height),
            );
        }
        plan
    }

    /// The epoch that governs `height`.
    fn epoch_of(&self, height: u64) -> usize {
        self.starts.iter().rposition(|s| *s <= height).unwrap_or(0)
    }

    /// The number of the last epoch.
    fn last(&self) -> usize {
        self.sets.len() - 1
    }

    /// The node at `index` of `epoch`'s set.
    fn node(&self, epoch: u64, index: u16) -> Option<usize> {
        self.members
            .get(epoch as usize)?
            .get(usize::from(index))
            .copied()
    }

    /// `node`'s index in `epoch`'s set.
    fn idx(&self, epoch: u64, node: usize) -> Option<u16> {
        *self.index.get(epoch as usize)?.get(node)?
    }

    /// The key generation `node` signs with in `epoch`: its own there, else the last one
    /// it had, else the first it will have.
    fn gen_for(&self, node: usize, epoch: usize) -> usize {
        let before = (0..=epoch).rev().find_map(|e| self.gens[e][node]);
        let after = (epoch..self.sets.len()).find_map(|e| self.gens[e][node]);
        before.or(after).unwrap_or(0)
    }

    /// The retired key a `Ghost` (its own, from the first epoch it is not a validator of)
    /// or a `KeyThief` (the first rotated validator's old key, from its rotation) signs
    /// with.
    fn retired(&self, node: usize, kind: ByzKind, keys: &[Vec<SecretKey>]) -> Option<Retired> {
        match kind {
            ByzKind::Ghost => {
                let out = (1..self.sets.len())
                    .find(|e| self.gens[e - 1][node].is_some() && self.gens[*e][node].is_none())?;
                Some(Retired {
                    key: keys[node][self.gens[out - 1][node]?].clone(),
                    index: self.index[out - 1][node]?,
                    from: Epoch(out as u64),
                })
            }
            ByzKind::KeyThief => {
                for e in 1..self.sets.len() {
                    for (r, gen) in self.gens[e].iter().enumerate() {
                        let old = self.gens[e - 1][r];
                        if let (Some(g), Some(o)) = (gen, old) {
                            if g != &o && r != node {
                                return Some(Retired {
                                    key: keys[r][o].clone(),
                                    index: self.index[e][r]?,
                                    from: Epoch(e as u64),
                                });
                            }
                        }
                    }
                }
                None
            }
            _ => None,
        }
    }
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
    /// The validator sets by epoch.
    plan: Plan,
    /// Every node's consensus keys, by generation.
    keys: Vec<Vec<SecretKey>>,
    /// Every signature made with a retired key.
    retired_sigs: HashSet<Signature>,
    /// Certificates already checked against their epoch's set (hashes of their bytes).
    certs_checked: HashSet<u64>,
    /// The checks' own signature cache (its work is not the cores').
    checker: CachedVerifier,
    /// The latest restart of a crash at a boundary (known only when it happens), ms.
    dyn_heal: u64,
    /// When an honest node first switched into each epoch, ms.
    first_switch: BTreeMap<u64, u64>,
    /// When an honest node first finalized a block of each epoch, ms.
    first_final: BTreeMap<u64, u64>,
    /// Late joiners whose signature is in a certificate of an epoch they validate.
    late_counted: HashSet<usize>,
    /// Rotated validators whose new key signed a certificate after their rotation.
    rotated_counted: HashSet<usize>,
    /// Boundary crashes already triggered: (node, epoch).
    crashes_done: HashSet<(usize, u64)>,
}

fn is_honest(n: &Node) -> bool {
    n.byz.is_none()
}

/// A validator key of `suite` from the run's generator. An Ed25519 seed is any 32 bytes
/// (one draw, as before suites existed, so default-suite runs replay unchanged); an SM2
/// secret must lie in `1..n-1`, so a draw outside (probability about 2^-32) is redrawn.
fn draw_key(suite: chancery_core::suite::Suite, rng: &mut ChaCha8Rng) -> SecretKey {
    loop {
        let mut s = [0u8; 32];
        rng.fill(&mut s);
        if let Ok(k) = SecretKey::from_secret(suite, s) {
            return k;
        }
    }
}

/// Run `sc` with `seed`; `Err` names the first broken invariant.
pub fn run(sc: &Scenario, seed: u64) -> Result<Outcome, Violation> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let first_keys: Vec<SecretKey> = (0..sc.n).map(|_| draw_key(sc.suite, &mut rng)).collect();
    let chain_id = domain::GENESIS_HASH.hash(&seed.to_le_bytes());
    let latency = (0..sc.n)
        .map(|_| {
            (0..sc.n)
                .map(|_| rng.gen_range(sc.net.latency_min_ms..=sc.net.latency_max_ms))
                .collect()
        })
        .collect();
    // Rotated keys, drawn after everything a run without epoch changes draws.
    let mut keys: Vec<Vec<SecretKey>> = first_keys.into_iter().map(|k| vec![k]).collect();
    if let Some(e) = &sc.epochs {
        for epoch in 1..=e.last() {
            for (node, gen) in e.members(epoch) {
                while keys[node].len() <= gen {
                    keys[node].push(draw_key(sc.suite, &mut rng));
                }
            }
        }
    }
    let plan = Plan::new(sc, &keys);
    let root = BlockRef {
        digest: Digest::ZERO,
        height: Height(0),
        view: View(0),
    };
    let unannounced: Vec<usize> = sc
        .epochs
        .as_ref()
        .map(|e| e.unannounced.clone())
        .unwrap_or_default();
    let nodes = (0..sc.n)
        .map(|i| {
            let kind = sc.byzantine.iter().find(|(j, _)| *j == i).map(|(_, k)| *k);
            Node {
                key: keys[i][plan.gen_for(i, 0)].clone(),
                core: None,
                inc: 0,
                durable: Vec::new(),
                mark: None,
                set: plan.sets[0].clone(),
                root,
                root_cert: None,
                chain: Vec::new(),
                finalized_at_ms: Vec::new(),
                byz: kind.map(Byzantine::new),
                work: sc.rest.is_none(),
                held: None,
                closing: false,
                host: Host::default(),
                crashed: false,
                started: false,
                fed: None,
                unannounced: unannounced.contains(&i),
                rebuild: false,
                blocks: Vec::new(),
                sync_next: i + 1,
                retired: kind.and_then(|k| plan.retired(i, k, &keys)),
            }
        })
        .collect();
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
        trace: DefaultHasher::new(),
        out: Outcome::default(),
        proposed_at: HashMap::new(),
        notarized_at: HashMap::new(),
        final_lat: Vec::new(),
        crash_view: None,
        truth: Truth::default(),
        state_at: BTreeMap::from([(0, state::genesis_state())]),
        skipped: HashSet::new(),
        plan,
        keys,
        retired_sigs: HashSet::new(),
        certs_checked: HashSet::new(),
        checker: CachedVerifier::counting(Arc::new(AtomicU64::new(0))),
        dyn_heal: 0,
        first_switch: BTreeMap::new(),
        first_final: BTreeMap::new(),
        late_counted: HashSet::new(),
        rotated_counted: HashSet::new(),
        crashes_done: HashSet::new(),
    };
    sim.main()
}

impl Sim<'_> {
    fn fail(&self, what: String) -> Violation {
        Violation {
            scenario: self.sc.name.clone(),
            suite: self.sc.suite,
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
        self.sc.heal_ms().max(self.dyn_heal)
    }

    fn main(mut self) -> Result<Outcome, Violation> {
        let late: Vec<(usize, u64)> = self
            .plan
            .epochs
            .as_ref()
            .map(|e| e.late.clone())
            .unwrap_or_default();
        for i in 0..self.sc.n {
            match late.iter().find(|l| l.0 == i) {
                Some(&(_, at)) => self.push(at, Ev::Join { node: i }),
                None => self.start(i)?,
            }
        }
        if let Some(sync) = self.plan.epochs.as_ref().and_then(|e| e.sync.clone()) {
            for i in 0..self.sc.n {
                // Spread the hosts' requests over the interval.
                let at = sync.interval_ms + (i as u64 * 37) % sync.interval_ms;
                self.push(at, Ev::SyncTick { node: i });
            }
        }
        self.out.last_epoch = self.plan.last() as u64;
        self.out.late_joiners = late.iter().filter(|l| is_honest(&self.nodes[l.0])).count() as u64;
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
        let mut end = 0;
        while let Some(Reverse((t, seq))) = self.queue.pop() {
            // A crash at a boundary moves the end (its restart is known when it happens).
            end = self
                .sc
                .duration_ms
                .max(self.heal_ms() + self.sc.liveness_bound_ms + 1);
            // An epoch plan's changes must all take effect: a slow (lossy, every vote
            // needed) but live chain gets up to `EPOCH_GRACE_MS` more to reach the last
            // epoch; a stalled one still fails `check_epochs`.
            if t > end
                && (t > end + EPOCH_GRACE_MS
                    || self.plan.epochs.is_none()
                    || self.every_follower_in_last_epoch())
            {
                break;
            }
            if t > end && self.out.epoch_grace_ms < t - end {
                self.out.epoch_grace_ms = t - end;
            }
            self.now = t;
            let Some(ev) = self.events.remove(&seq) else {
                continue;
            };
            self.step(ev)?;
        }
        let heal = self.heal_ms();
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
        self.check_epochs(heal)?;
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
        self.boot(i, false)
    }

    /// Build node `i`'s core from its host's durable state (root, set, key, stored votes)
    /// and start it: after a crash or a late start (`rebuilt` false: the incarnation's
    /// speculative results are gone), or when the host restarts it at a new root after
    /// block sync or with a new key after a rotation (`rebuilt`: results kept, events of
    /// the former core dropped).
    fn boot(&mut self, i: usize, rebuilt: bool) -> Result<(), Violation> {
        if rebuilt {
            self.nodes[i].inc += 1;
            if is_honest(&self.nodes[i]) {
                self.out.core_rebuilds += 1;
            }
        }
        let cfg = self.config(i);
        let restored = self.nodes[i].durable.clone();
        let verifier = if self.sc.per_node_cache {
            CachedVerifier::counting(self.work.clone())
        } else {
            self.cache.clone()
        };
        let binding: Box<dyn BlockBinding> = if self.plan.epochs.is_some() {
            Box::new(SimBinding {
                ends: self.plan.starts.iter().skip(1).map(|s| s - 1).collect(),
            })
        } else {
            Box::new(HashBinding)
        };
        let core = Core::with_verifier(cfg, restored, Box::new(verifier), binding)
            .map_err(|e| self.fail(format!("config refused: {e}")))?;
        let n = &mut self.nodes[i];
        n.core = Some(core);
        n.held = None;
        n.started = false;
        n.fed = None;
        n.rebuild = false;
        if rebuilt {
            // The ledger keeps its results; the former core's requests are gone.
            n.host.waiting.clear();
            n.host.proposing = None;
        } else {
            // Speculative results and waiting validations die with the incarnation.
            n.host.restart();
        }
        // The host tells a fresh core about its pool before it starts (R14).
        let pending = n.work;
        self.input(i, Input::Work { pending })?;
        self.nodes[i].started = true;
        self.input(i, Input::Start)?;
        // R13: a core started at a root runs the epoch that governs the next height (its
        // host tells it of a change announced at or below its root, and it switches at
        // once when the root is the boundary block).
        let n = &self.nodes[i];
        if self.plan.epochs.is_some() && is_honest(n) && !n.unannounced {
            let want = self.plan.epoch_of(n.chain.len() as u64 + 1) as u64;
            let have = n.core.as_ref().map_or(want, |c| c.epoch().0);
            if have != want {
                return Err(self.fail(format!(
                    "honest node {i} started its core in epoch {have} at height {}; the next \
                     height belongs to epoch {want}",
                    n.chain.len()
                )));
            }
        }
        Ok(())
    }

    /// R13, the host's side: once its node has finalized the height at which the next
    /// epoch was announced (the governance proposal's block), the host tells its core of
    /// the new set; the core switches when the boundary block is finalized. Never for an
    /// `unannounced` node, never twice to one core.
    fn announce(&mut self, i: usize) -> Result<(), Violation> {
        let n = &self.nodes[i];
        if n.unannounced || !n.started {
            return Ok(());
        }
        let Some(core) = n.core.as_ref() else {
            return Ok(());
        };
        let next = core.epoch().0 + 1;
        let e = next as usize;
        if e > self.plan.last() || n.fed == Some(next) {
            return Ok(());
        }
        if (n.chain.len() as u64) < self.plan.announce[e] {
            return Ok(());
        }
        let from_height = self.plan.starts[e];
        if core.finalized().height.0 >= from_height && is_honest(n) {
            return Err(self.fail(format!(
                "honest node {i} finalized height {} in epoch {} before its host learned \
                 that epoch {next} starts at height {from_height}",
                core.finalized().height,
                core.epoch()
            )));
        }
        let set = self.plan.sets[e].clone();
        self.nodes[i].fed = Some(next);
        self.input(
            i,
            Input::EpochChange {
                set,
                from_height: Height(from_height),
            },
        )
    }

    fn step(&mut self, ev: Ev) -> Result<(), Violation> {
        let mut h = DefaultHasher::new();
        self.now.hash(&mut h);
        match ev {
            Ev::Deliver { to, from, bytes } => {
                (0u8, to, from, &bytes).hash(&mut h);
                let mut batch = vec![(from, bytes)];
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
                        batch.push((from, bytes));
                    }
                }
                self.trace.write_u64(h.finish());
                if self.nodes[to].core.is_some() {
                    let batch: Vec<(u16, Vec<u8>)> = batch
                        .into_iter()
                        .filter_map(|(from, bytes)| self.gate(to, from).map(|p| (p, bytes)))
                        .collect();
                    if batch.is_empty() {
                        return Ok(());
                    }
                    self.observe(to, &batch);
                    let suite = self.nodes[to].set.suite();
                    let sigs: u64 = batch.iter().map(|(_, b)| signatures_in(suite, b)).sum();
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
                let epoch = self.nodes[0].set.epoch.0;
                let leader = self.nodes[0]
                    .core
                    .as_ref()
                    .and_then(|c| self.plan.node(epoch, c.leader(next)))
                    .unwrap_or(0);
                (7u8, leader).hash(&mut h);
                self.trace.write_u64(h.finish());
                self.crash_view = Some(view.0);
                self.nodes[leader].core = None;
                self.nodes[leader].inc += 1;
                self.nodes[leader].crashed = true;
                self.push(restart_ms, Ev::Restart { node: leader });
            }
            Ev::Join { node } => {
                (11u8, node).hash(&mut h);
                self.trace.write_u64(h.finish());
                self.start(node)?;
            }
            Ev::SyncTick { node } => {
                (12u8, node).hash(&mut h);
                self.trace.write_u64(h.finish());
                self.sync_tick(node);
            }
            Ev::SyncRequest { to, from, after } => {
                (13u8, to, from, after).hash(&mut h);
                self.trace.write_u64(h.finish());
                self.sync_answer(to, from, after);
            }
            Ev::SyncReply { to, blocks } => {
                (14u8, to, blocks.len()).hash(&mut h);
                self.trace.write_u64(h.finish());
                self.on_sync(to, blocks)?;
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
        if self.nodes[i].rebuild {
            // A rotation took effect: the core cannot change its key, so the host restarts
            // it with the new one (the node host does the same on `EpochChanged`).
            return self.boot(i, true);
        }
        self.announce(i)
    }

    fn effect(&mut self, i: usize, e: Effect) -> Result<(), Violation> {
        let inc = self.nodes[i].inc;
        match e {
            Effect::Send { to, message } => self.send(i, Some(to), message)?,
            Effect::Broadcast { message } => self.send(i, None, message)?,
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
                // R13: a block belongs to the epoch that governs its height (the header
                // carries it); a host that knows the plan refuses a proposal of another
                // epoch (a core still in the old epoch proposing past the boundary).
                let epoch = self.nodes[i].set.epoch.0;
                let empty = state::transactions(&block.payload).is_some_and(|t| t.is_empty());
                let suffix = empty && self.suffix_height(i, block.height.0);
                if self.plan.epochs.is_some()
                    && !self.nodes[i].unannounced
                    && self.plan.epoch_of(block.height.0) as u64 != epoch
                    && !suffix
                {
                    if is_honest(&self.nodes[i]) {
                        self.out.wrong_epoch_refused += 1;
                    }
                    self.answer(i, block.digest, false);
                    return Ok(());
                }
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
                // The checker's own cache: every node reports the same evidence.
                match ev.verify_with(self.chain_id, set, &mut self.checker) {
                    Ok(culprit) => {
                        let node = self.plan.node(set.epoch.0, culprit);
                        if node.is_none_or(|j| is_honest(&self.nodes[j])) {
                            return Err(self.fail(format!(
                                "node {i} produced evidence against honest node {} (index \
                                 {culprit} of epoch {})",
                                node.map_or("?".to_string(), |j| j.to_string()),
                                set.epoch
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
                // The peer is an index in the reporting core's current set.
                let epoch = self.nodes[i].set.epoch.0;
                let accused = self.plan.node(epoch, peer);
                if is_honest(&self.nodes[i]) {
                    let Some(j) = accused else {
                        return Err(self.fail(format!(
                            "node {i} accused peer {peer}, not a validator of epoch {epoch}: \
                             {reason}"
                        )));
                    };
                    if is_honest(&self.nodes[j]) {
                        return Err(self.fail(format!(
                            "node {i} accused honest node {j} (index {peer} of epoch {epoch}): \
                             {reason}"
                        )));
                    }
                    // A removed validator is a validator only of epochs in which it sends
                    // nothing invalid: its messages of later epochs are dropped by the
                    // gates or ignored by the cores, never blamed on it.
                    if matches!(
                        self.nodes[j].byz.as_ref().map(|b| b.kind),
                        Some(ByzKind::Stale | ByzKind::Ghost)
                    ) {
                        return Err(self.fail(format!(
                            "node {i} reported node {j}, a removed validator, in epoch \
                             {epoch}: {reason}"
                        )));
                    }
                    self.out.byzantine_reported += 1;
                }
            }
            Effect::EpochChanged { epoch, root } => self.on_epoch_changed(i, epoch, root)?,
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
        let height = parent.height.next();
        // R13: the host builds only blocks of its core's epoch (the header carries the
        // epoch of its height); a host that does not know of the change (a removed
        // validator left running) builds one, invalid, past the boundary.
        let epoch_ok = self.plan.epoch_of(height.0) as u64 == self.nodes[i].set.epoch.0;
        let suffix = self.suffix_height(i, height.0);
        if !epoch_ok && !self.nodes[i].unannounced && !suffix {
            if is_honest(&self.nodes[i]) {
                self.out.wrong_epoch_unbuilt += 1;
            }
            return Ok(None);
        }
        let mut txs = vec![0u8; 8];
        self.rng.fill(&mut txs[..]);
        let base = self.base_filled(i, parent.digest, height.0)?;
        let pipelined = base.is_some() && parent.digest != self.nodes[i].host.root;
        let (txs, claim) = match base {
            // A suffix block is empty: it changes nothing (and is never committed).
            _ if suffix => match base.or_else(|| self.parent_claim(i, parent.digest)) {
                Some(c) => (Vec::new(), c),
                None => return Ok(None),
            },
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
        // Past the boundary only an empty block (a suffix block) is valid, whoever built it.
        let beyond = self.plan.epoch_of(height.0) as u64 > self.nodes[i].set.epoch.0;
        let suffix_ok = self.sc.boundary_suffix && beyond && txs.is_empty();
        let valid = self.truth.register(&block) && (epoch_ok || suffix_ok);
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
            if suffix {
                self.out.suffix_proposals += 1;
            } else if base.is_none() {
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

    /// What node `i`'s Byzantine actor sees of the simulation. Indices are into its core's
    /// current set.
    fn ctx(&mut self, i: usize) -> Ctx<'_> {
        let epoch = self.nodes[i].set.epoch;
        let n = self.plan.members[epoch.0 as usize].len();
        let me = self.plan.idx(epoch.0, i).map_or(n, usize::from);
        let node = &self.nodes[i];
        Ctx {
            chain_id: self.chain_id,
            me,
            n,
            epoch,
            retired: node.retired.as_ref(),
            retired_sigs: &mut self.retired_sigs,
            key: &node.key,
            rng: &mut self.rng,
            proposed: &mut self.proposed,
            truth: &mut self.truth,
            root: node.host.root,
            committed: node.host.committed,
        }
    }

    /// Node `i`'s core sends `msg` to the validator at index `to` of its current set, or
    /// to every other node (`None`: a broadcast reaches every node; each host's gate keeps
    /// what comes from its own core's validators).
    fn send(&mut self, i: usize, to: Option<u16>, msg: Message) -> Result<(), Violation> {
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
                for c in m.parent_cert.iter().chain(m.nullifications.iter()) {
                    self.check_cert(i, c)?;
                }
            }
            if let Message::Certificate(c) = &msg {
                if c.kind == VoteKind::Notarize {
                    self.notarized_at.entry(c.block).or_insert(self.now);
                }
                self.check_cert(i, c)?;
            }
        }
        let epoch = self.nodes[i].set.epoch.0;
        let sends: Vec<(usize, Vec<u8>)> = if let Some(mut byz) = self.nodes[i].byz.take() {
            let mut ctx = self.ctx(i);
            let to: Vec<usize> = match to {
                Some(t) => vec![usize::from(t)],
                None => (0..ctx.n).filter(|j| *j != ctx.me).collect(),
            };
            let s = byz.transform(&mut ctx, &to, msg);
            self.nodes[i].byz = Some(byz);
            s.into_iter()
                .filter_map(|(j, b)| self.plan.node(epoch, j as u16).map(|n| (n, b)))
                .collect()
        } else {
            let b = msg.encode();
            match to {
                Some(t) => self
                    .plan
                    .node(epoch, t)
                    .map(|j| (j, b))
                    .into_iter()
                    .collect(),
                None => (0..self.sc.n)
                    .filter(|j| *j != i)
                    .map(|j| (j, b.clone()))
                    .collect(),
            }
        };
        for (j, bytes) in sends {
            self.transmit(i, j, bytes);
        }
        Ok(())
    }

    /// A Byzantine node sees what it receives (to answer or record it); `from` are indices
    /// into its core's current set.
    fn observe(&mut self, i: usize, batch: &[(u16, Vec<u8>)]) {
        let Some(mut byz) = self.nodes[i].byz.take() else {
            return;
        };
        let epoch = self.nodes[i].set.epoch.0;
        let mut sends = Vec::new();
        let suite = self.nodes[i].set.suite();
        for (from, bytes) in batch {
            let Ok(msg) = Message::decode(suite, bytes) else {
                continue;
            };
            let mut ctx = self.ctx(i);
            sends.extend(byz.observe(&mut ctx, usize::from(*from), &msg));
        }
        self.nodes[i].byz = Some(byz);
        for (j, bytes) in sends {
            if let Some(node) = self.plan.node(epoch, j as u16) {
                self.transmit(i, node, bytes);
            }
        }
    }

    /// The host gate of node `to`: the index in its core's current set of a message's
    /// sender, `None` (dropped) when the sender is not one of its validators. A
    /// [`ByzKind::Ghost`]'s messages reach such a node through the scenario's relay, as
    /// the relay's.
    fn gate(&mut self, to: usize, from: usize) -> Option<u16> {
        let epoch = self.nodes[to].set.epoch.0;
        if let Some(p) = self.plan.idx(epoch, from) {
            return Some(p);
        }
        let relay = self.plan.epochs.as_ref().and_then(|e| e.relay);
        let ghost = self.nodes[from].byz.as_ref().map(|b| b.kind) == Some(ByzKind::Ghost);
        if let Some(p) = relay
            .filter(|_| ghost)
            .and_then(|r| self.plan.idx(epoch, r))
        {
            self.out.relayed += 1;
            return Some(p);
        }
        self.out.gate_dropped += 1;
        None
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
            if skip.drops(self.nodes[to].set.suite(), &bytes, to, self.sc.n) {
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
        if self.plan.epochs.is_some() {
            // Kept to answer block sync, with the link to a suffix block's certificate.
            let links = self.suffix_links(i, &block, &cert);
            self.nodes[i].blocks.push(Synced {
                block: block.clone(),
                cert: cert.clone(),
                links,
            });
        }
        if !is_honest(&self.nodes[i]) {
            // A Byzantine node's host keeps its state too (its actor may use it, and its
            // finalized height tells it of epoch changes).
            self.nodes[i].host.finalize(&block);
            let now = self.now;
            let n = &mut self.nodes[i];
            n.chain.push(block.digest);
            n.finalized_at_ms.push(now);
            n.root_cert = (cert.block == block.digest).then_some(cert);
            n.root = block.reference();
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
        if self.plan.epochs.is_some() {
            // R13: a block is finalized by a quorum of the set of its height's epoch.
            let e = self.plan.epoch_of(block.height.0) as u64;
            if cert.epoch.0 != e {
                return Err(self.fail(format!(
                    "node {i} finalized height {} of epoch {e} with a certificate of epoch {}",
                    block.height, cert.epoch
                )));
            }
            self.check_cert(i, &cert)?;
            self.first_final.entry(e).or_insert(self.now);
            self.boundary_crash(i, block.height.0);
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

impl Sim<'_> {
    /// R13: node `i`'s core switched to `epoch` at `root`. Its host takes the new set,
    /// drops its votes of the old epoch, and, when the node's consensus key rotated,
    /// restarts the core with the new key (a core keeps its key across a switch: it would
    /// run the new epoch as an observer). An honest core switches epochs in order, at the
    /// boundary block of the finalized chain, with views restarting at 0.
    fn on_epoch_changed(
        &mut self,
        i: usize,
        epoch: Epoch,
        root: BlockRef,
    ) -> Result<(), Violation> {
        let e = epoch.0 as usize;
        let prev = self.nodes[i].set.epoch;
        if is_honest(&self.nodes[i]) {
            let h = root.height.0;
            let on_chain = match h {
                0 => Digest::ZERO,
                h => self.nodes[i]
                    .chain
                    .get(h as usize - 1)
                    .copied()
                    .unwrap_or(Digest::ZERO),
            };
            if epoch.0 != prev.0 + 1
                || self.plan.starts.get(e) != Some(&(h + 1))
                || root.view != View(0)
                || root.digest != on_chain
            {
                return Err(self.fail(format!(
                    "honest node {i} switched from epoch {prev} to epoch {epoch} at height {h} \
                     view {} ({}); the plan starts epoch {epoch} at height {:?} and its chain \
                     has {} there",
                    root.view,
                    root.digest.to_hex(),
                    self.plan.starts.get(e),
                    on_chain.to_hex()
                )));
            }
            self.out.epoch_switches += 1;
            self.first_switch.entry(epoch.0).or_insert(self.now);
        }
        let Some(set) = self.plan.sets.get(e).cloned() else {
            return Err(self.fail(format!(
                "node {i} switched to epoch {epoch}, not in the plan"
            )));
        };
        let key = self.keys[i][self.plan.gen_for(i, e)].clone();
        let n = &mut self.nodes[i];
        n.set = set;
        n.root = root;
        n.root_cert = None;
        // The host drops votes of the old epoch.
        n.durable.retain(|v| v.epoch == epoch);
        if n.key.public() != key.public() && self.plan.idx(epoch.0, i).is_some() {
            n.key = key;
            n.rebuild = true;
        }
        Ok(())
    }

    /// Every certificate an honest node sends, or finalizes with, is a quorum of its
    /// epoch's set: no signature of a removed validator or of a rotated-out key counts in
    /// it. Each distinct certificate is checked once; the signers whose votes counted are
    /// noted (late joiners, rotated validators).
    fn check_cert(&mut self, i: usize, c: &Certificate) -> Result<(), Violation> {
        if self.plan.epochs.is_none() {
            return Ok(());
        }
        let mut h = DefaultHasher::new();
        codec::encode(c).hash(&mut h);
        if !self.certs_checked.insert(h.finish()) {
            return Ok(());
        }
        self.out.certificates_checked += 1;
        let e = c.epoch.0 as usize;
        let what = format!(
            "honest node {i} holds a {:?} certificate of epoch {} view {} for {}",
            c.kind,
            c.epoch,
            c.view,
            c.block.to_hex()
        );
        let Some(set) = self.plan.sets.get(e) else {
            return Err(self.fail(format!("{what}: no such epoch")));
        };
        if let Err(err) = verify_certificate(c, self.chain_id, set, &mut self.checker) {
            return Err(self.fail(format!(
                "{what} that is not a quorum of epoch {}'s set: {err}",
                c.epoch
            )));
        }
        if let Some(s) = c
            .signatures
            .iter()
            .find(|s| self.retired_sigs.contains(&s.signature))
        {
            return Err(self.fail(format!(
                "{what} carrying a signature made with a retired key (index {})",
                s.index
            )));
        }
        let late: Vec<usize> = self
            .plan
            .epochs
            .as_ref()
            .map(|x| x.late.iter().map(|l| l.0).collect())
            .unwrap_or_default();
        for s in &c.signatures {
            let Some(node) = self.plan.node(c.epoch.0, s.index) else {
                continue;
            };
            if !is_honest(&self.nodes[node]) {
                continue;
            }
            if late.contains(&node) {
                self.late_counted.insert(node);
            }
            if self.plan.gens[e][node].is_some_and(|g| g > 0) {
                self.rotated_counted.insert(node);
            }
        }
        Ok(())
    }

    /// Crash node `i` if it is to be killed at the boundary block it just finalized.
    fn boundary_crash(&mut self, i: usize, height: u64) {
        let Some(e) = self.plan.epochs.as_ref() else {
            return;
        };
        let due: Vec<(u64, u64, u64)> = e
            .boundary_crashes
            .iter()
            .filter(|c| {
                c.node == i && self.plan.starts.get(c.epoch as usize) == Some(&(height + 1))
            })
            .map(|c| (c.epoch, c.delay_ms, c.down_ms))
            .collect();
        for (epoch, delay, down) in due {
            if !self.crashes_done.insert((i, epoch)) {
                continue;
            }
            self.out.boundary_crashes += 1;
            self.push(self.now + delay, Ev::Crash { node: i });
            self.push(self.now + delay + down, Ev::Restart { node: i });
            self.dyn_heal = self.dyn_heal.max(self.now + delay + down);
        }
    }

    /// When a message from `from` to `to` arrives (a sync request or answer), if it does:
    /// the link's latency and jitter, its loss, and partitions.
    fn link(&mut self, from: usize, to: usize) -> Option<u64> {
        if from == to || self.partitioned(from, to) || self.rng.gen_bool(self.sc.net.loss) {
            return None;
        }
        Some(self.now + self.latency[from][to] + self.rng.gen_range(0..=self.sc.net.jitter_ms))
    }

    /// A host's block-sync request is due: ask the next node for the blocks above its tip.
    fn sync_tick(&mut self, i: usize) {
        let Some(sync) = self.plan.epochs.as_ref().and_then(|e| e.sync.clone()) else {
            return;
        };
        self.push(self.now + sync.interval_ms, Ev::SyncTick { node: i });
        let n = &self.nodes[i];
        if !is_honest(n) || n.unannounced || n.core.is_none() {
            return;
        }
        let mut peer = n.sync_next % self.sc.n;
        if peer == i {
            peer = (peer + 1) % self.sc.n;
        }
        self.nodes[i].sync_next = peer + 1;
        let after = self.nodes[i].chain.len() as u64;
        if let Some(at) = self.link(i, peer) {
            self.push(
                at,
                Ev::SyncRequest {
                    to: peer,
                    from: i,
                    after,
                },
            );
        }
    }

    /// Node `i` answers a block-sync request with its finalized blocks above `after`, at
    /// most `blocks_max` (more while the last one's certificate names a later block), each
    /// with the certificate it was finalized with (and a suffix block's link). Honest nodes
    /// answer, and the Byzantine kinds whose hosts are honest (a removed validator's, a
    /// relay's, a key thief's).
    fn sync_answer(&mut self, i: usize, from: usize, after: u64) {
        let Some(sync) = self.plan.epochs.as_ref().and_then(|e| e.sync.clone()) else {
            return;
        };
        let n = &self.nodes[i];
        let answers = match n.byz.as_ref().map(|b| b.kind) {
            None => true,
            Some(k) => matches!(
                k,
                ByzKind::Stale | ByzKind::Ghost | ByzKind::Relay | ByzKind::KeyThief
            ),
        };
        if !answers || n.core.is_none() || n.blocks.len() as u64 <= after {
            return;
        }
        let mut blocks: Vec<Synced> = Vec::new();
        for s in &n.blocks[after as usize..] {
            let done = blocks
                .last()
                .is_some_and(|l| l.cert.block == l.block.digest || !l.links.is_empty())
                && blocks.len() >= sync.blocks_max;
            if done {
                break;
            }
            blocks.push(s.clone());
        }
        if let Some(at) = self.link(i, from) {
            self.push(at, Ev::SyncReply { to: from, blocks });
        }
    }

    /// Whether node `i`'s host builds and accepts an empty suffix block at `height` (R13):
    /// the height belongs to a later epoch than its core's, and the host knows the plan.
    fn suffix_height(&self, i: usize, height: u64) -> bool {
        let n = &self.nodes[i];
        self.sc.boundary_suffix
            && self.plan.epochs.is_some()
            && !n.unannounced
            && self.plan.epoch_of(height) as u64 > n.set.epoch.0
    }

    /// The blocks from `block`'s child up to the block `cert` names, when that is a suffix
    /// block past `block`'s epoch (R13: never delivered, read from node `i`'s core); empty
    /// otherwise.
    fn suffix_links(&mut self, i: usize, block: &Block, cert: &Certificate) -> Vec<Block> {
        let Some(core) = self.nodes[i].core.as_ref() else {
            return Vec::new();
        };
        if cert.block == block.digest {
            return Vec::new();
        }
        let past = core
            .held_block(&cert.block)
            .is_some_and(|c| self.plan.epoch_of(c.height.0) != self.plan.epoch_of(block.height.0));
        if !past {
            return Vec::new();
        }
        let mut links = Vec::new();
        let mut d = cert.block;
        while let Some(b) = core.held_block(&d) {
            links.push(b.clone());
            if b.parent == block.digest || links.len() > 64 {
                break;
            }
            d = b.parent;
        }
        links.reverse();
        if is_honest(&self.nodes[i]) {
            self.out.suffix_finalized += 1;
        }
        links
    }

    /// Whether `s`'s certificate is a finalization of `epoch`'s set for its block, for a
    /// later block of `run` (from index `k`), or for the last of its suffix links, which
    /// lead from it; `Err` when the certificate itself does not verify.
    fn sync_certified(&mut self, run: &[Synced], k: usize, epoch: usize) -> Result<bool, String> {
        let s = &run[k];
        let c = &s.cert;
        let in_run = run[k..].iter().any(|r| r.block.digest == c.block);
        let mut parent = s.block.digest;
        let mut height = s.block.height.0;
        let linked = !s.links.is_empty()
            && s.links.iter().all(|l| {
                let ok =
                    l.parent == parent && l.height.0 == height + 1 && HashBinding.check(l).is_ok();
                parent = l.digest;
                height = l.height.0;
                ok
            })
            && parent == c.block;
        if !in_run && !linked {
            return Ok(false);
        }
        if c.kind != VoteKind::Finalize || c.epoch.0 as usize != epoch {
            return Err(format!("a {:?} certificate of epoch {}", c.kind, c.epoch));
        }
        verify_certificate(c, self.chain_id, &self.plan.sets[epoch], &mut self.checker)
            .map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// Node `i`'s host received finalized blocks by block sync: it commits those that
    /// extend its tip, up to the end of the first one's epoch, each with a finalization
    /// certificate of that epoch's set for it, for a later block of the run, or for a
    /// suffix block it links to (checked), then restarts its core at the new tip (its host
    /// then tells the core of the next epoch, and the core switches when the tip is the
    /// boundary block).
    fn on_sync(&mut self, i: usize, blocks: Vec<Synced>) -> Result<(), Violation> {
        let n = &self.nodes[i];
        if !is_honest(n) || n.unannounced || n.core.is_none() {
            return Ok(());
        }
        let tip = n.chain.len() as u64;
        let run: Vec<Synced> = blocks
            .into_iter()
            .filter(|s| s.block.height.0 > tip)
            .collect();
        let Some(first) = run.first() else {
            return Ok(());
        };
        let epoch = self.plan.epoch_of(first.block.height.0);
        // The linked prefix of the run, within one epoch.
        let mut parent = n.chain.last().copied().unwrap_or(Digest::ZERO);
        let mut linked = 0;
        for (k, s) in run.iter().enumerate() {
            let b = &s.block;
            if b.height.0 != tip + 1 + k as u64
                || b.parent != parent
                || self.plan.epoch_of(b.height.0) != epoch
                || HashBinding.check(b).is_err()
            {
                break;
            }
            parent = b.digest;
            linked = k + 1;
        }
        let run = &run[..linked];
        // The longest part of it whose every block is certified within it.
        let mut take = 0;
        for k in 0..run.len() {
            match self.sync_certified(run, k, epoch) {
                Ok(true) => take = k + 1,
                Ok(false) => break,
                Err(e) => {
                    return Err(self.fail(format!(
                        "node {i} was sent height {} of epoch {epoch} with {e}",
                        run[k].block.height
                    )))
                }
            }
        }
        for s in run[..take].iter().cloned() {
            self.out.synced_blocks += 1;
            self.on_finalized(i, s.block, s.cert)?;
            // Its core never held the suffix: keep the link that came with it.
            if let Some(kept) = self.nodes[i].blocks.last_mut() {
                if kept.links.is_empty() {
                    kept.links = s.links;
                }
            }
        }
        let n = &mut self.nodes[i];
        let root = n.core.as_ref().map_or(0, |c| c.finalized().height.0);
        if take == 0 || (n.chain.len() as u64) <= root {
            return Ok(());
        }
        // Restart the core at the new tip, in the epoch that finalized it.
        let Some(last) = n.blocks.last().cloned() else {
            return Ok(());
        };
        let (b, c) = (last.block, last.cert);
        let e = self.plan.epoch_of(b.height.0);
        n.set = self.plan.sets[e].clone();
        n.key = self.keys[i][self.plan.gen_for(i, e)].clone();
        n.root = b.reference();
        n.root_cert = (c.block == b.digest).then_some(c);
        n.durable.retain(|v| v.epoch.0 as usize == e);
        self.boot(i, true)
    }

    /// Whether every honest node that follows the epoch changes runs the last epoch and
    /// has reached its first height.
    fn every_follower_in_last_epoch(&self) -> bool {
        let last = self.plan.last();
        let start = self.plan.starts[last];
        self.nodes.iter().all(|n| {
            !is_honest(n)
                || n.unannounced
                || n.core
                    .as_ref()
                    .is_none_or(|c| c.epoch().0 as usize == last && n.chain.len() as u64 >= start)
        })
    }

    /// At the end of a run with epoch changes: every honest node that follows the changes
    /// runs the last epoch and has finalized a block of it; every epoch's first block was
    /// finalized within the liveness bound of its switch (or of the last fault's heal).
    fn check_epochs(&mut self, heal: u64) -> Result<(), Violation> {
        if self.plan.epochs.is_none() {
            return Ok(());
        }
        let last = self.plan.last();
        let start = self.plan.starts[last];
        for (i, n) in self.nodes.iter().enumerate() {
            if !is_honest(n) || n.unannounced {
                continue;
            }
            let Some(core) = n.core.as_ref() else {
                continue;
            };
            if core.epoch().0 as usize != last || (n.chain.len() as u64) < start {
                return Err(self.fail(format!(
                    "epoch liveness: honest node {i} ended in epoch {} at height {} \
                     ({EPOCH_GRACE_MS} ms after the scenario's end); the last epoch, {last}, \
                     starts at height {start}",
                    core.epoch(),
                    n.chain.len()
                )));
            }
        }
        let bound = self.sc.liveness_bound_ms;
        for ep in 1..=last as u64 {
            let Some(&t) = self.first_switch.get(&ep) else {
                return Err(self.fail(format!("no honest node switched to epoch {ep}")));
            };
            let due = t.max(heal) + bound;
            if self.first_final.get(&ep).is_none_or(|f| *f > due) {
                return Err(self.fail(format!(
                    "epoch liveness: epoch {ep} began at {t} ms but no honest node finalized a \
                     block of it by {due} ms"
                )));
            }
        }
        self.out.late_joiners_counted = self.late_counted.len() as u64;
        self.out.rotated_counted = self.rotated_counted.len() as u64;
        self.out.rotated = (0..self.sc.n)
            .filter(|i| is_honest(&self.nodes[*i]))
            .filter(|i| self.plan.gens.iter().any(|g| g[*i].is_some_and(|x| x > 0)))
            .count() as u64;
        self.out.retired_signatures = self.retired_sigs.len() as u64;
        Ok(())
    }
}

/// How many signatures a message carries (0 when it does not decode).
fn signatures_in(suite: chancery_core::suite::Suite, bytes: &[u8]) -> u64 {
    let Ok(m) = Message::decode(suite, bytes) else {
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
