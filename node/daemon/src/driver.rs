//! The host of the sans-IO consensus core: the one task that owns the core, the
//! application state (ledger handle and mempool) and carries out every effect — sends,
//! timers, vote persistence, proposals, validation, commits.
//!
//! Order of effects is preserved: a `Persist` is written (synced) and acknowledged before
//! any later effect of the same step is performed, so a vote is never sent before it is
//! durable.

use crate::app::{App, FinalBlock, Verdict};
use crate::compact::{self, CompactProposal, RecentTxs, SeenTxs, TX_FETCH_HASHES_MAX};
use crate::runtime::{JobPool, Runtime};
use crate::sigcache::{CachedVerifier, SigCache, SIG_CACHE_ITEMS_MAX};
use crate::signmark::{self, SignMark, SignMarkFile};
use crate::sync::{self, SyncRequest, SyncResponse, SYNC_BLOCKS_MAX};
use chancery_consensus::{
    Block as CBlock, BlockRef, Config as CoreConfig, Core, Effect, Evidence, Input, Message, Peer,
    TimeoutKind, Vote,
};
use chancery_core::block::{Block, BlockHeader};
use chancery_core::codec;
use chancery_core::crypto::SecretKey;
use chancery_core::ids::{Digest, Epoch, Height, TimestampMs, TxHash, View};
use chancery_core::tx::Transaction;
use chancery_core::validator::ValidatorSet;
use chancery_mempool::{AdmitError, Origin};
use chancery_net::{Bytes, Channel, Inbound, Misbehaviour, Network, PeerName};
use chancery_storage::{Column, Store, WriteBatch};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};

pub use chancery_api::handle::{Command, Event, NodeStatus};

/// Most consensus messages handed to the core in one batch (their signatures are checked
/// together).
pub const INBOUND_BATCH_MAX: usize = 256;
/// Most transactions forwarded to peers in one gossip message.
pub const GOSSIP_TXS_MAX: usize = 2048;
/// Most blocks waiting for their parent to be applied before they can be checked.
pub const PENDING_VALIDATIONS_MAX: usize = 64;
/// Most finalized blocks held while waiting for the descendant that finalized them.
pub const FINALIZED_WAITING_MAX: usize = 1024;
/// Most peer transaction batches being signature-checked off the driver at once.
pub const GOSSIP_CHECKS_MAX: usize = 8;
/// Most batches of consensus messages being signature-checked off the driver at once
/// (`sigcache::precheck`); more are handed to the core unchecked (it checks them itself).
pub const SIG_PRECHECKS_MAX: usize = 4;
const _: () = assert!(
    crate::sigcache::SIG_CACHE_ITEMS_MAX
        >= SIG_PRECHECKS_MAX * crate::sigcache::SIG_PRECHECK_ITEMS_MAX,
    "the signature cache holds every pre-check in flight"
);
/// Most commands queued from the API.
pub const COMMANDS_MAX: usize = 4096;
/// Executions shorter than this do not defer the timeouts (see `Driver::defer_timers`).
const DEFER_TIMERS_MIN: Duration = Duration::from_millis(5);
/// Most locally submitted transactions waiting for the next gossip flush: eight full gossip
/// messages, so a burst of submissions is forwarded whole yet cannot grow without bound.
pub const GOSSIP_OUT_TXS_MAX: usize = GOSSIP_TXS_MAX * 8;
/// Most catch-up results waiting for the driver: one sync is in flight at a time, so a
/// few slots are plenty and the sync task never waits.
pub const SYNC_RESULTS_MAX: usize = 4;
/// Interval between gossip flushes, in milliseconds: short next to Δ (hundreds of ms), so
/// forwarding adds little to a transaction's latency, yet batches several submissions.
pub const GOSSIP_FLUSH_INTERVAL_MS: u64 = 20;
/// Interval between catch-up checks, in milliseconds: about Δ, so a node that fell behind
/// starts syncing within a view or two.
pub const SYNC_TICK_INTERVAL_MS: u64 = 500;
/// A local transaction still pending this long after admission, in milliseconds, is
/// gossiped again (`Driver::regossip`): a few block times, so a healthy chain has
/// finalized it long before and re-gossip costs nothing.
pub const REGOSSIP_AGE_MS: u64 = 2_000;
/// Interval between re-gossip rounds, in milliseconds.
pub const REGOSSIP_INTERVAL_MS: u64 = 1_000;
/// Most transactions gossiped again per round (one gossip message): re-gossip of a large
/// backlog costs peers at most this many hash lookups per round (what they hold is not
/// checked again, `Driver::on_tx_gossip`).
pub const REGOSSIP_TXS_MAX: usize = 1_024;
const _: () = assert!(REGOSSIP_TXS_MAX <= GOSSIP_TXS_MAX);
/// Interval between status publications to the API, in milliseconds: often enough for
/// `/v1/status` and readiness checks, rarely enough to cost nothing.
pub const STATUS_TICK_INTERVAL_MS: u64 = 250;
/// How long the driver sleeps when no timer is pending, in milliseconds: an hour, i.e.
/// until a message, a command or a tick wakes it.
const IDLE_WAKE_MS: u64 = 3_600_000;
/// On a chain that never rests (`heartbeat_ms` = 0), the longest an idle leader waits
/// before proposing an empty block, in milliseconds (when Δ is longer).
pub const IDLE_BLOCK_MS: u64 = 250;
/// Most proposals received by hash that wait at once for transactions this node lacks;
/// a further one evicts the oldest (its view has most likely passed).
pub const COMPACT_PENDING_MAX: usize = 8;
/// How long a proposal received by hash waits for the transactions it lacks to arrive by
/// gossip before they are fetched from the proposer, in milliseconds. The proposer flushes
/// its gossip just before it sends the proposal, so they are usually in flight already.
pub const COMPACT_FETCH_WAIT_MS: u64 = 10;
/// Most fetch requests for one proposal's transactions (each answer must bring at least
/// one that was asked for): a proposer answering one at a time cannot keep us asking.
pub const TX_FETCH_ROUNDS_MAX: usize = 8;
/// Our vote records are pruned every this many finalized heights (`prune_votes`): often
/// enough that they stay a few hundred rows, rarely enough that the range deletions cost
/// nothing.
pub const VOTE_PRUNE_INTERVAL_BLOCKS: u64 = 32;
/// Rows of stored votes read per scan at start: bounds the memory of one page.
const VOTE_SCAN_PAGE_ROWS: usize = 1024;
/// Largest gossiped transaction batch the decoder accepts, in bytes: `GOSSIP_TXS_MAX`
/// typical transactions (a few KiB each) with room to spare. The network's own limit on a
/// transaction message (`chancery_net::GOSSIP_TXS_BYTES_MAX`) is tighter and bites first.
pub const TX_BATCH_BYTES_MAX: usize = 16 * 1024 * 1024;

/// The OS wall clock as consensus-block time candidates (used only to propose and to
/// bound a proposal's time, never in execution). The driver itself reads its runtime's
/// wall clock (`Runtime::system_time_ms`); this is the production one, for callers outside.
pub fn now_ms() -> TimestampMs {
    TimestampMs(crate::runtime::TokioRuntime.system_time_ms())
}

/// What woke the driver's loop ([`Driver::next_source`]).
enum Source {
    Shutdown,
    Inbound(Inbound),
    Command(Command),
    GossipChecked(GossipChecked),
    Fetched(Fetched),
    Prechecked(Prechecked),
    Sync(SyncOutcome),
    Config(Arc<chancery_genesis::config::NodeConfig>),
    /// The deadline the loop slept until passed.
    Time,
}

/// A channel's item if one is ready (`None`: nothing yet, or the channel is closed).
fn ready_some<T>(p: Poll<Option<T>>) -> Option<T> {
    match p {
        Poll::Ready(Some(t)) => Some(t),
        _ => None,
    }
}

/// The tick after the one due at `due`, seen at `now`: an interval later, or an interval
/// from now when the loop fell more than a whole interval behind.
fn next_tick(due: Instant, now: Instant, every: Duration) -> Instant {
    let next = due + every;
    if next <= now {
        now + every
    } else {
        next
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: Instant,
    seq: u64,
    view: View,
    kind: TimeoutKindOrd,
}

#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
struct TimeoutKindOrd(u8);

impl From<TimeoutKind> for TimeoutKindOrd {
    fn from(k: TimeoutKind) -> Self {
        TimeoutKindOrd(match k {
            TimeoutKind::Leader => 0,
            TimeoutKind::View => 1,
            TimeoutKind::Retry => 2,
            TimeoutKind::Rest => 3,
        })
    }
}

impl TimeoutKindOrd {
    fn kind(self) -> TimeoutKind {
        match self.0 {
            0 => TimeoutKind::Leader,
            1 => TimeoutKind::View,
            2 => TimeoutKind::Retry,
            _ => TimeoutKind::Rest,
        }
    }
}

/// Consensus messages from peers as the core takes them: sender index and bytes.
type ConsensusBatch = Vec<(Peer, Vec<u8>)>;

/// A finished sync request: the peer, the height it claimed (if it answered the status
/// request), and its last answer.
type SyncOutcome = (PeerName, Option<Height>, Result<SyncResponse, String>);

struct PendingPropose {
    view: View,
    parent: BlockRef,
    /// When the core asked.
    asked: Instant,
    deadline: Instant,
}

/// A proposal received by hash that waits for transactions this node lacks.
struct PendingCompact {
    /// The proposer (who sent it, and who is asked for what is missing).
    from: u16,
    compact: Box<CompactProposal>,
    digest: Digest,
    /// Transactions fetched so far (hash checked).
    fetched: HashMap<TxHash, Transaction>,
    /// When to fetch what is still missing.
    fetch_at: Instant,
    fetching: bool,
}

/// A fetch's outcome: the proposal's digest and the transactions the proposer sent.
type Fetched = (Digest, Result<Vec<Transaction>, String>);

struct PendingValidate {
    block: CBlock,
    parent: BlockRef,
}

/// Everything the driver needs.
pub struct Driver {
    core: Core,
    core_cfg: CoreConfig,
    /// Application state.
    pub app: App,
    net: Arc<dyn Network>,
    inbound: mpsc::Receiver<Inbound>,
    commands: mpsc::Receiver<Command>,
    store: Arc<dyn Store>,
    names: Vec<PeerName>,
    index_of: HashMap<PeerName, u16>,
    timers: BinaryHeap<Reverse<Timer>>,
    timer_seq: u64,
    pending_propose: Option<PendingPropose>,
    pending_validate: VecDeque<PendingValidate>,
    propose_wait: Duration,
    /// How long an idle leader waits for transactions before proposing an empty block:
    /// the heartbeat (R14), or min(Δ, `IDLE_BLOCK_MS`) on a chain that never rests.
    idle_wait: Duration,
    /// Whether the chain rests while idle (`heartbeat_ms` > 0).
    rests: bool,
    /// What the core was last told about pending work ([`Input::Work`]).
    work_told: bool,
    gossip_out: Vec<Vec<u8>>,
    /// When the oldest transaction in `gossip_out` was queued (None: nothing queued).
    gossip_first_at: Option<Instant>,
    /// When gossip was last flushed.
    gossip_last: Instant,
    events: broadcast::Sender<Event>,
    status: watch::Sender<NodeStatus>,
    sync_tx: mpsc::Sender<SyncOutcome>,
    sync_rx: mpsc::Receiver<SyncOutcome>,
    sync_in_flight: bool,
    /// Gossiped transactions whose signatures were checked off this task (finding 5).
    gossip_tx: mpsc::Sender<GossipChecked>,
    gossip_rx: mpsc::Receiver<GossipChecked>,
    /// Gossip batches being checked on the verify pool (at most `GOSSIP_CHECKS_MAX`).
    gossip_checking: usize,
    /// Threads that check gossiped transactions' signatures, one per core (the
    /// runtime's job pool).
    verify: Arc<dyn JobPool>,
    /// Time, timers and tasks: the driver reads the clock and spawns only through it.
    rt: Arc<dyn Runtime>,
    /// When the next catch-up check is due (every `SYNC_TICK_INTERVAL_MS`).
    sync_tick_at: Instant,
    /// When the status is next published (every `STATUS_TICK_INTERVAL_MS`).
    status_tick_at: Instant,
    /// Which source the loop looks at first on its next turn: the sources take turns,
    /// so none starves the others and the order is the same on every run.
    turn: usize,
    /// Gossip batches dropped because `GOSSIP_CHECKS_MAX` were being checked.
    gossip_dropped: u64,
    /// When the next re-gossip round is due (every `REGOSSIP_INTERVAL_MS`).
    regossip_at: Instant,
    /// Where the next re-gossip round continues in the pool's admission order.
    regossip_cursor: chancery_mempool::GossipCursor,
    /// Transactions gossiped again because they stayed pending (`REGOSSIP_AGE_MS`).
    txs_regossiped: u64,
    /// Gossiped transactions not checked because they were already pending here.
    gossip_txs_known: u64,
    /// Our proposals built on a parent not yet committed (R15).
    proposals_pipelined: u64,
    /// Certified parents executed from the core's copy (R15, the held-parent rule).
    parents_filled: u64,
    /// Our turns to propose skipped because the parent's result was not here.
    proposals_not_built: u64,
    /// The node's configuration, for the peers it admits (`None` in tests that run no
    /// real network): the peer gate follows the validator sets ([`Driver::refresh_peers`]).
    node_config: Option<Arc<chancery_genesis::config::NodeConfig>>,
    /// Reloaded configurations (see [`DriverParts::config_updates`]).
    config_updates: Option<mpsc::Receiver<Arc<chancery_genesis::config::NodeConfig>>>,
    /// The (epoch in force, hash of the next epoch's set) the peer gate was last set for.
    peers_for: Option<(Epoch, Option<Digest>)>,
    /// Consensus signatures verified so far (by the pre-checks on the verify pool or by
    /// the core's verifier), shared with both.
    sig_cache: Arc<SigCache>,
    /// Consensus batches handed to the verify pool, in arrival order, each with its
    /// sequence number and, once its pre-check came back, its messages. At most
    /// `SIG_PRECHECKS_MAX`.
    prechecks: VecDeque<(u64, Option<ConsensusBatch>)>,
    /// Sequence number of the next pre-check.
    precheck_seq: u64,
    /// Pre-checks that came back (room for every one in flight).
    precheck_tx: mpsc::Sender<Prechecked>,
    precheck_rx: mpsc::Receiver<Prechecked>,
    /// The core's validator set as the pre-checks see it (replaced when the epoch changes).
    precheck_set: Arc<ValidatorSet>,
    /// Consensus batches handed to the core without a pre-check (no idle verify thread, or
    /// `SIG_PRECHECKS_MAX` in flight).
    precheck_bypassed: u64,
    /// Finalized blocks waiting for the descendant whose certificate finalized them.
    finalized_waiting: Vec<FinalBlock>,
    sync_next_peer: usize,
    /// Heights the validators claim, for readiness (finding 9).
    peer_heights: sync::PeerHeights,
    evidence: usize,
    /// Finalized blocks not applied because their payload or run was bad (finding 1).
    finalized_refused: u64,
    /// Finalized blocks refused because `finalized_waiting` was full.
    finalized_waiting_overflow: u64,
    /// Start a block sync at the next turn of the loop, not at the next tick.
    sync_wanted: bool,
    /// The signing high-water mark (validators started with one).
    sign_mark: Option<SignMarkFile>,
    /// Transactions of our recent proposals, for peers' fetches (shared with the request
    /// handler, `compact.rs`).
    recent: Arc<RecentTxs>,
    /// The height at which our vote records were last pruned, and the view below which
    /// they were (`prune_votes`).
    votes_pruned_at: Height,
    votes_pruned_below: View,
    /// Proposals received by hash, waiting for transactions (at most
    /// `COMPACT_PENDING_MAX`).
    compact_pending: VecDeque<PendingCompact>,
    /// Gossiped transactions by hash, before their check (`compact::SeenTxs`).
    seen: SeenTxs,
    /// The chain's crypto suite (its genesis's): how everything from a peer decodes and
    /// hashes.
    suite: chancery_core::suite::Suite,
    fetch_tx: mpsc::Sender<Fetched>,
    fetch_rx: mpsc::Receiver<Fetched>,
    compact: CompactCounters,
}

/// What proposals by hash did (reported in the status).
#[derive(Default, Debug, Clone, Copy)]
struct CompactCounters {
    sent: u64,
    received: u64,
    from_pool: u64,
    after_wait: u64,
    with_fetch: u64,
    txs_fetched: u64,
    failed: u64,
    requests_held: u64,
}

/// How the driver is set up.
pub struct DriverParts {
    /// Application state.
    pub app: App,
    /// Validator set.
    pub set: ValidatorSet,
    /// Our consensus key (validators).
    pub key: Option<SecretKey>,
    /// Δ in milliseconds.
    pub delta_ms: u64,
    /// The chain's heartbeat (`ChainParams::heartbeat_ms`; 0: never rest).
    pub heartbeat_ms: u64,
    /// Network.
    pub net: Arc<dyn Network>,
    /// Its inbound messages.
    pub inbound: mpsc::Receiver<Inbound>,
    /// API commands.
    pub commands: mpsc::Receiver<Command>,
    /// Store (for votes).
    pub store: Arc<dyn Store>,
    /// Event stream.
    pub events: broadcast::Sender<Event>,
    /// Status publication.
    pub status: watch::Sender<NodeStatus>,
    /// The signing high-water mark file (validators; see `signmark`).
    pub sign_mark: Option<SignMarkStart>,
    /// Our proposals' transactions, shared with the request handler that answers fetches.
    pub recent: Arc<RecentTxs>,
    /// The node's configuration (its peers and observers), for the peer gate; `None`
    /// leaves the network's peer set as it was started.
    pub node_config: Option<Arc<chancery_genesis::config::NodeConfig>>,
    /// Reloaded configurations (SIGHUP): their `[[peers]]` replace the observers admitted.
    pub config_updates: Option<mpsc::Receiver<Arc<chancery_genesis::config::NodeConfig>>>,
    /// Time, timers, tasks and the job pool (`TokioRuntime` in production, virtual time
    /// in the simulator).
    pub runtime: Arc<dyn Runtime>,
}

/// Where a validator's signing mark lives and what the operator allows.
pub struct SignMarkStart {
    /// The mark file (`<consensus key file>.sign-mark`).
    pub path: std::path::PathBuf,
    /// `--allow-sign-below-mark`: sign even if the database lost votes.
    pub allow_below: bool,
}

const VOTE_PREFIX: &[u8] = b"consensus/vote/";

fn vote_key(v: &Vote) -> Vec<u8> {
    let mut k = VOTE_PREFIX.to_vec();
    k.extend_from_slice(&v.epoch.0.to_be_bytes());
    k.extend_from_slice(&v.view.0.to_be_bytes());
    k.push(match v.kind {
        chancery_core::cert::VoteKind::Notarize => 0,
        chancery_core::cert::VoteKind::Nullify => 1,
        chancery_core::cert::VoteKind::Finalize => 2,
    });
    k
}

/// Every vote of ours persisted for views after `after`.
fn restored_votes(
    suite: chancery_core::suite::Suite,
    store: &dyn Store,
    epoch: u64,
    after: View,
) -> anyhow::Result<Vec<Vote>> {
    let mut start = VOTE_PREFIX.to_vec();
    start.extend_from_slice(&epoch.to_be_bytes());
    start.extend_from_slice(&(after.0 + 1).to_be_bytes());
    let mut end = VOTE_PREFIX.to_vec();
    end.extend_from_slice(&(epoch + 1).to_be_bytes());
    let mut out = Vec::new();
    let mut from = start;
    loop {
        let page = store.scan(Column::Meta, &from, Some(&end), false, VOTE_SCAN_PAGE_ROWS)?;
        let n = page.len();
        for (k, v) in &page {
            match Message::decode(suite, v) {
                Ok(Message::Vote(vote)) => out.push(vote),
                other => {
                    anyhow::bail!("stored vote at {} is not a vote: {other:?}", hex::encode(k))
                }
            }
        }
        match page.last() {
            Some((k, _)) if n == VOTE_SCAN_PAGE_ROWS => {
                from = k.clone();
                from.push(0);
            }
            _ => break,
        }
    }
    Ok(out)
}

/// Delete our vote records that restart safety can never need again: every record of an
/// epoch before `epoch`, and those of `epoch` below view `below`. The core never signs at
/// or below its finalized root view, and a restart restores only the votes above the
/// root ([`restored_votes`]); the signing mark's floor reads the highest vote, which stays.
/// Not synced: a crash may bring some back, which is harmless.
fn prune_votes(
    store: &dyn Store,
    epoch: u64,
    below: View,
) -> Result<(), chancery_storage::StoreError> {
    let mut end = VOTE_PREFIX.to_vec();
    end.extend_from_slice(&epoch.to_be_bytes());
    end.extend_from_slice(&below.0.to_be_bytes());
    store.delete_range(Column::Meta, VOTE_PREFIX, &end)
}

/// The view of our highest vote persisted in `epoch`, if any.
fn highest_own_vote(
    suite: chancery_core::suite::Suite,
    store: &dyn Store,
    epoch: u64,
) -> anyhow::Result<Option<View>> {
    let mut start = VOTE_PREFIX.to_vec();
    start.extend_from_slice(&epoch.to_be_bytes());
    let mut end = VOTE_PREFIX.to_vec();
    end.extend_from_slice(&epoch.saturating_add(1).to_be_bytes());
    let page = store.scan(Column::Meta, &start, Some(&end), true, 1)?;
    match page.first() {
        None => Ok(None),
        Some((k, v)) => match Message::decode(suite, v) {
            Ok(Message::Vote(vote)) => Ok(Some(vote.view)),
            other => anyhow::bail!("stored vote at {} is not a vote: {other:?}", hex::encode(k)),
        },
    }
}

/// Read the signing mark and decide the signing floor at start (issue 14, finding 4).
fn start_sign_mark(
    suite: chancery_core::suite::Suite,
    start: SignMarkStart,
    store: &dyn Store,
    epoch: u64,
) -> anyhow::Result<(Option<View>, SignMarkFile)> {
    let mark = signmark::read(&start.path)?;
    // What the database vouches for: its highest own vote, or the mark it recorded with
    // its votes (the file reserves ahead, `SIGN_MARK_RESERVE_VIEWS`), whichever is higher.
    let recorded = store
        .get(Column::Meta, signmark::DB_MARK_KEY)?
        .and_then(|v| SignMark::from_db(&v))
        .filter(|m| m.epoch == epoch)
        .map(|m| m.view);
    let db = highest_own_vote(suite, store, epoch)?.max(recorded);
    let d = signmark::decide(&start.path, mark, epoch, db, start.allow_below)?;
    if d.db_behind {
        let mark_view = mark.map(|m| m.view.0).unwrap_or(0);
        let db_view = db.map(|v| v.0);
        if d.floor.is_some() {
            tracing::error!(
                mark = %start.path.display(),
                mark_view,
                ?db_view,
                "the database lost votes (restored or wiped): its highest own vote is below the signing mark; this validator will not sign at or below view {mark_view} (start with --allow-sign-below-mark only if you know it never signed there)"
            );
        } else {
            tracing::warn!(
                mark = %start.path.display(),
                mark_view,
                ?db_view,
                "the database lost votes, but --allow-sign-below-mark was given: signing below the mark is allowed"
            );
        }
    }
    let current = match (d.write, mark) {
        (Some(w), _) => {
            signmark::write(&start.path, w)?;
            w
        }
        (None, Some(m)) => m,
        (None, None) => SignMark {
            epoch,
            view: View(0),
        },
    };
    Ok((d.floor, SignMarkFile::new(start.path, current)))
}

/// The consensus root for the ledger's tip.
fn root_of(app: &App) -> anyhow::Result<(BlockRef, Option<chancery_core::cert::Certificate>)> {
    let tip = app.ledger.tip();
    if tip.height == Height(0) {
        return Ok((
            BlockRef {
                digest: Digest::ZERO,
                height: Height(0),
                view: View(0),
            },
            None,
        ));
    }
    let (block, cert) = app
        .ledger
        .block(tip.height)?
        .ok_or_else(|| anyhow::anyhow!("tip block {} missing from the store", tip.height))?;
    let next_epoch = app.ledger.validator_set_at(tip.height.next())?.epoch;
    if block.header.epoch != next_epoch {
        // The tip ends its epoch: the next epoch's consensus starts on it at view 0, with
        // no certificate of its own epoch (R13), as a core that switched live does. A
        // validator restarted right after the boundary must not resume at the old epoch's
        // view numbers.
        return Ok((
            BlockRef {
                digest: tip.hash,
                height: tip.height,
                view: View(0),
            },
            None,
        ));
    }
    Ok((
        BlockRef {
            digest: tip.hash,
            height: tip.height,
            view: block.header.view,
        },
        Some(cert),
    ))
}

impl Driver {
    /// Build the driver: restores the consensus root from the ledger and our persisted votes.
    pub fn new(p: DriverParts) -> anyhow::Result<Driver> {
        let (root, root_cert) = root_of(&p.app)?;
        let suite = p.app.ledger.genesis().crypto;
        let mut cfg =
            CoreConfig::with_delta(p.app.chain_id, p.set.clone(), p.key, root, p.delta_ms);
        cfg.root_cert = root_cert;
        cfg.heartbeat_ms = p.heartbeat_ms;
        let mut sign_mark = None;
        if let (Some(start), true) = (p.sign_mark, cfg.key.is_some()) {
            let (floor, file) = start_sign_mark(p.set.suite(), start, &*p.store, p.set.epoch.0)?;
            cfg.sign_floor = floor;
            sign_mark = Some(file);
        }
        let restored = restored_votes(p.set.suite(), &*p.store, p.set.epoch.0, root.view)?;
        let sig_cache = Arc::new(SigCache::new(SIG_CACHE_ITEMS_MAX));
        let core = new_core(suite, cfg.clone(), restored, &sig_cache)?;
        let names: Vec<PeerName> = p
            .set
            .validators
            .iter()
            .map(|v| PeerName::from(v.name.as_str()))
            .collect();
        let index_of = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u16))
            .collect();
        let (sync_tx, sync_rx) = mpsc::channel(SYNC_RESULTS_MAX);
        let (gossip_tx, gossip_rx) = mpsc::channel(GOSSIP_CHECKS_MAX);
        let (precheck_tx, precheck_rx) = mpsc::channel(SIG_PRECHECKS_MAX);
        let (fetch_tx, fetch_rx) = mpsc::channel(COMPACT_PENDING_MAX);
        let rt = p.runtime;
        let verify = rt
            .job_pool(GOSSIP_CHECKS_MAX)
            .map_err(|e| anyhow::anyhow!("starting the signature-check threads: {e}"))?;
        let mut app = p.app;
        app.set_runtime(rt.clone());
        let start = rt.now();
        tracing::debug!(
            threads = verify.threads(),
            "gossiped transactions are checked on their own threads"
        );
        Ok(Driver {
            core,
            propose_wait: Duration::from_millis(p.delta_ms),
            // Resting: the heartbeat, which the others wait for (R14). Otherwise below the
            // 2Δ leader timeout, so an idle chain still makes (empty) progress without
            // spinning out empty blocks back to back.
            idle_wait: Duration::from_millis(if p.heartbeat_ms > 0 {
                p.heartbeat_ms
            } else {
                p.delta_ms.min(IDLE_BLOCK_MS)
            }),
            rests: p.heartbeat_ms > 0,
            work_told: true,
            core_cfg: cfg,
            app,
            net: p.net,
            inbound: p.inbound,
            commands: p.commands,
            store: p.store,
            names,
            index_of,
            timers: BinaryHeap::new(),
            timer_seq: 0,
            pending_propose: None,
            pending_validate: VecDeque::new(),
            gossip_out: Vec::new(),
            gossip_first_at: None,
            gossip_last: start,
            events: p.events,
            status: p.status,
            sync_tx,
            sync_rx,
            sync_in_flight: false,
            gossip_tx,
            gossip_rx,
            gossip_checking: 0,
            verify,
            rt,
            // Both ticks are due at once, as an interval's first tick is.
            sync_tick_at: start,
            status_tick_at: start,
            turn: 0,
            gossip_dropped: 0,
            regossip_at: start,
            regossip_cursor: chancery_mempool::GossipCursor::default(),
            txs_regossiped: 0,
            gossip_txs_known: 0,
            proposals_pipelined: 0,
            parents_filled: 0,
            proposals_not_built: 0,
            node_config: p.node_config,
            config_updates: p.config_updates,
            peers_for: None,
            sig_cache,
            prechecks: VecDeque::new(),
            precheck_seq: 0,
            precheck_tx,
            precheck_rx,
            precheck_set: Arc::new(p.set.clone()),
            precheck_bypassed: 0,
            finalized_waiting: Vec::new(),
            sync_next_peer: 0,
            // f + 1 validators vouch for a height: at least one of them is honest.
            peer_heights: sync::PeerHeights::new((p.set.len().saturating_sub(1)) / 3 + 1),
            evidence: 0,
            finalized_refused: 0,
            finalized_waiting_overflow: 0,
            sync_wanted: false,
            sign_mark,
            recent: p.recent,
            compact_pending: VecDeque::new(),
            seen: SeenTxs::new(suite),
            suite,
            fetch_tx,
            fetch_rx,
            compact: CompactCounters::default(),
            votes_pruned_at: Height(0),
            votes_pruned_below: View(0),
        })
    }

    /// Run until `shutdown` turns true.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        self.step(Input::Start)?;
        self.tell_work()?;
        loop {
            match self.next_source(&mut shutdown).await {
                Source::Shutdown => {
                    if *shutdown.borrow() {
                        break;
                    }
                }
                Source::Inbound(first) => self.on_inbound(first)?,
                Source::Command(cmd) => self.on_command(cmd),
                Source::GossipChecked(checked) => self.on_gossip_checked(checked)?,
                Source::Fetched(fetched) => self.on_fetched(fetched)?,
                Source::Prechecked(checked) => self.on_prechecked(checked)?,
                Source::Sync((peer, claimed, res)) => {
                    if let Some(h) = claimed {
                        self.on_claim(&peer, h);
                    }
                    self.on_sync(peer, res)?
                }
                Source::Config(cfg) => self.on_config(cfg),
                Source::Time => self.on_time()?,
            }
            if std::mem::take(&mut self.sync_wanted) {
                self.start_sync();
            }
            self.tell_work()?;
        }
        tracing::info!(height = self.app.ledger.tip().height.0, "driver stopped");
        Ok(())
    }

    /// Wait for the next thing to do: the shutdown signal (looked at first), a message, a
    /// command, a finished job or task, or the next deadline ([`Driver::next_deadline`],
    /// one timer of the runtime for all of them). When several are ready, the sources take
    /// turns (`turn`): fair, and the same order on every run, which the simulator needs
    /// (a `tokio::select!` picks at random).
    async fn next_source(&mut self, shutdown: &mut watch::Receiver<bool>) -> Source {
        /// The sources that take turns: seven channels and the timer.
        const SOURCES: usize = 8;
        let mut sleep = self.rt.sleep_until(self.next_deadline());
        let first = self.turn;
        self.turn = (self.turn + 1) % SOURCES;
        let mut changed = std::pin::pin!(shutdown.changed());
        let inbound = &mut self.inbound;
        let commands = &mut self.commands;
        let gossip = &mut self.gossip_rx;
        let fetch = &mut self.fetch_rx;
        let precheck = &mut self.precheck_rx;
        let sync = &mut self.sync_rx;
        let mut config = self.config_updates.as_mut();
        std::future::poll_fn(move |cx| {
            if changed.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Source::Shutdown);
            }
            for i in 0..SOURCES {
                // A closed channel (`Ready(None)`) is skipped, as `select!` disables it.
                let ready = match (first + i) % SOURCES {
                    0 => ready_some(inbound.poll_recv(cx)).map(Source::Inbound),
                    1 => ready_some(commands.poll_recv(cx)).map(Source::Command),
                    2 => ready_some(gossip.poll_recv(cx)).map(Source::GossipChecked),
                    3 => ready_some(fetch.poll_recv(cx)).map(Source::Fetched),
                    4 => ready_some(precheck.poll_recv(cx)).map(Source::Prechecked),
                    5 => ready_some(sync.poll_recv(cx)).map(Source::Sync),
                    6 => match config.as_mut() {
                        Some(rx) => ready_some(rx.poll_recv(cx)).map(Source::Config),
                        None => None,
                    },
                    _ => sleep.as_mut().poll(cx).is_ready().then_some(Source::Time),
                };
                if let Some(source) = ready {
                    return Poll::Ready(source);
                }
            }
            Poll::Pending
        })
        .await
    }

    /// The earliest of everything the driver waits for in time: its timers
    /// ([`Driver::next_wake`]), the gossip flush while something is queued, and the
    /// catch-up and status ticks.
    fn next_deadline(&self) -> Instant {
        let mut at = self
            .next_wake()
            .min(self.sync_tick_at)
            .min(self.status_tick_at);
        if let Some(due) = self.gossip_due() {
            at = at.min(due);
        }
        at
    }

    /// A deadline passed: fire what is due — timers, proposals and fetches
    /// ([`Driver::on_wake`]), the gossip flush, the catch-up and status ticks. A tick that
    /// fell behind (a long step) is taken once and the next one is an interval from now.
    fn on_time(&mut self) -> anyhow::Result<()> {
        self.on_wake()?;
        let now = self.rt.now();
        if self.gossip_due().is_some_and(|due| due <= now) {
            self.flush_gossip();
        }
        if self.sync_tick_at <= now {
            self.sync_tick_at = next_tick(
                self.sync_tick_at,
                now,
                Duration::from_millis(SYNC_TICK_INTERVAL_MS),
            );
            self.start_sync();
        }
        // On the catch-up tick (no wake of its own): a round is at most this late.
        if self.regossip_at <= now {
            self.regossip_at = next_tick(
                self.regossip_at,
                now,
                Duration::from_millis(REGOSSIP_INTERVAL_MS),
            );
            self.regossip();
        }
        if self.status_tick_at <= now {
            self.status_tick_at = next_tick(
                self.status_tick_at,
                now,
                Duration::from_millis(STATUS_TICK_INTERVAL_MS),
            );
            self.publish_status();
        }
        Ok(())
    }

    /// The runtime's wall clock as a block-time candidate ([`now_ms`]).
    fn now_ms(&self) -> TimestampMs {
        TimestampMs(self.rt.system_time_ms())
    }

    /// R14: tell the core when pending work appears or runs out (the pool's transactions:
    /// those admitted and not yet in a committed block).
    fn tell_work(&mut self) -> anyhow::Result<()> {
        let pending = !self.app.mempool.is_empty();
        if pending != self.work_told {
            self.work_told = pending;
            self.step(Input::Work { pending })?;
        }
        Ok(())
    }

    fn next_wake(&self) -> Instant {
        let far = self.rt.now() + Duration::from_millis(IDLE_WAKE_MS);
        let t = self.timers.peek().map(|Reverse(t)| t.at).unwrap_or(far);
        let p = self
            .pending_propose
            .as_ref()
            .map(|p| p.deadline)
            .unwrap_or(far);
        let f = self
            .compact_pending
            .iter()
            .filter(|c| !c.fetching)
            .map(|c| c.fetch_at)
            .min()
            .unwrap_or(far);
        t.min(p).min(f)
    }

    fn on_wake(&mut self) -> anyhow::Result<()> {
        let now = self.rt.now();
        self.fetch_due(now);
        while let Some(Reverse(t)) = self.timers.peek() {
            if t.at > now {
                break;
            }
            let Some(Reverse(t)) = self.timers.pop() else {
                break;
            };
            self.step(Input::Timeout {
                view: t.view,
                kind: t.kind.kind(),
            })?;
        }
        let Some(p) = self.pending_propose.as_mut().filter(|p| p.deadline <= now) else {
            return Ok(());
        };
        let heartbeat = p.asked + self.idle_wait;
        if self.rests && self.app.mempool.is_empty() && heartbeat > now {
            // The work we waited for (the parent's transactions) was committed with the
            // parent: nothing is pending, so this view rests until the heartbeat (R14).
            p.deadline = heartbeat;
            return Ok(());
        }
        // The parent did not get finalized in time, or the heartbeat is due: propose
        // (an empty block, unless transactions follow a parent we can execute on).
        self.propose_now()
    }

    fn on_inbound(&mut self, first: Inbound) -> anyhow::Result<()> {
        let mut consensus = Vec::new();
        let mut txs = Vec::new();
        let mut compacts = Vec::new();
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m.channel {
                Channel::Consensus => {
                    // Observers and unknown names do not vote.
                    if let Some(&i) = self.index_of.get(&m.from) {
                        match compact::decode(self.suite, &m.payload) {
                            Ok(compact::Inbound::Message(bytes)) => consensus.push((i, bytes)),
                            Ok(compact::Inbound::Compact(c)) => compacts.push((i, m.from, c)),
                            Err(e) => {
                                tracing::info!(peer = %m.from, error = %e, "peer sent an invalid consensus frame");
                                self.net.report(&m.from, Misbehaviour::Invalid);
                            }
                        }
                    }
                }
                Channel::Transactions => txs.push((m.from, m.payload)),
            }
            if consensus.len() < INBOUND_BATCH_MAX {
                next = self.inbound.try_recv().ok();
            }
        }
        for (from, payload) in txs {
            self.on_tx_gossip(&from, payload);
        }
        // After the gossip that came with them: a leader's latest transactions travel just
        // ahead of its proposal.
        for (i, from, c) in compacts {
            if let Some(bytes) = self.on_compact(i, &from, c) {
                consensus.push((i, bytes));
            }
        }
        if !consensus.is_empty() {
            self.precheck(consensus)?;
        }
        Ok(())
    }

    /// Consensus messages from peers: their signatures are verified on the verify pool
    /// first (`sigcache::precheck`) and the core is stepped with them when that comes
    /// back ([`Driver::on_prechecked`]), finding its checks in the cache. With no idle
    /// verify thread (transaction batches keep them busy) or `SIG_PRECHECKS_MAX` batches
    /// in flight, the core is stepped at once and checks the signatures itself, so
    /// consensus never waits for the pool.
    ///
    /// Order: pre-checked batches reach the core in arrival order (`prechecks` is a FIFO),
    /// so a peer's messages keep their order among them. A batch stepped at once may
    /// overtake batches still being checked (by at most `SIG_PRECHECKS_MAX` batches of a
    /// few milliseconds' work). That is harmless for this core: the network itself may
    /// reorder messages around a replaced stream (docs/network.md), and the core is built
    /// for it (the simulator runs it under reordering): votes are counted as sets per
    /// view and kind, certificates carry their own proof and are idempotent, a proposal
    /// carries its justification (or finds it held), a missing parent is fetched, and
    /// the first-proposal rule only matters for a leader that signed two blocks, which
    /// is evidence whichever arrives first.
    fn precheck(&mut self, list: ConsensusBatch) -> anyhow::Result<()> {
        if self.prechecks.len() >= SIG_PRECHECKS_MAX || !self.verify.has_idle_thread() {
            self.precheck_bypassed += 1;
            return self.step(Input::Messages(list));
        }
        if self.precheck_set.epoch != self.core.epoch() {
            self.precheck_set = Arc::new(self.core.validator_set().clone());
        }
        let seq = self.precheck_seq;
        self.precheck_seq = self.precheck_seq.wrapping_add(1);
        let reply = PrecheckReply {
            seq,
            list: Some(list),
            out: self.precheck_tx.clone(),
        };
        let chain_id = self.app.chain_id;
        let set = self.precheck_set.clone();
        let root_view = self.core.finalized().view;
        let cache = self.sig_cache.clone();
        let job = Box::new(move || {
            let list = reply.list.as_deref().unwrap_or_default();
            crate::sigcache::precheck(list, chain_id, &set, root_view, &cache);
            // `reply` is dropped here and sends the messages back.
        });
        self.prechecks.push_back((seq, None));
        // A job the pool refuses is dropped, and so replies at once, unchecked.
        let _ = self.verify.try_run(job);
        Ok(())
    }

    /// A pre-check came back: step the core with every batch at the head of `prechecks`
    /// whose check is done, in arrival order.
    fn on_prechecked(&mut self, done: Prechecked) -> anyhow::Result<()> {
        match self.prechecks.iter_mut().find(|(s, _)| *s == done.seq) {
            Some(slot) => slot.1 = Some(done.list),
            // Not ours (cannot happen): the core still gets the messages.
            None => return self.step(Input::Messages(done.list)),
        }
        while self.prechecks.front().is_some_and(|(_, l)| l.is_some()) {
            if let Some((_, Some(list))) = self.prechecks.pop_front() {
                self.step(Input::Messages(list))?;
            }
        }
        Ok(())
    }

    /// The bytes of a consensus message on the wire: our own proposal by transaction hash
    /// (`compact.rs`; its transactions kept to answer fetches, and our queued gossip sent
    /// first so the peers hold them), anything else whole.
    fn wire_bytes(&mut self, message: &Message) -> Vec<u8> {
        if let Message::Proposal(pm) = message {
            let built = self
                .app
                .last_built
                .as_ref()
                .filter(|b| b.digest == pm.proposal.block.digest);
            if let Some(b) = built {
                let hashes = b.txs.iter().map(|t| t.hash()).collect();
                let c = CompactProposal::of(pm, &b.header, hashes);
                self.recent.add(b.digest, &b.txs);
                self.compact.sent += 1;
                self.flush_gossip();
                return compact::encode_compact(&c);
            }
        }
        compact::encode_message(message)
    }

    /// A proposal received by hash from validator `i`: rebuilt at once from our pool if
    /// we hold every transaction (its bytes go to the core like any message), else kept
    /// until gossip brings what is missing or it is fetched from the proposer.
    fn on_compact(&mut self, i: u16, from: &PeerName, c: Box<CompactProposal>) -> Option<Vec<u8>> {
        self.compact.received += 1;
        if c.proposer != i {
            // Only the proposer sends its proposal by hash: we would ask it for what is
            // missing, and nobody else may make us ask.
            tracing::info!(peer = %from, proposer = c.proposer, "peer relayed a proposal by hash");
            self.net.report(from, Misbehaviour::Invalid);
            return None;
        }
        let digest = c.digest(self.suite);
        if self.compact_pending.iter().any(|p| p.digest == digest) {
            return None;
        }
        let pool = &self.app.mempool;
        let seen = &self.seen;
        if let Ok(m) = c.rebuild(self.suite, |h| {
            pool.verified(h)
                .map(|v| v.tx().clone())
                .or_else(|| seen.get(h))
        }) {
            self.compact.from_pool += 1;
            return Some(m.encode());
        }
        if self.compact_pending.len() >= COMPACT_PENDING_MAX {
            self.compact_pending.pop_front();
            self.compact.failed += 1;
        }
        self.compact_pending.push_back(PendingCompact {
            from: i,
            compact: c,
            digest,
            fetched: HashMap::new(),
            fetch_at: self.rt.now() + Duration::from_millis(COMPACT_FETCH_WAIT_MS),
            fetching: false,
        });
        None
    }

    /// Rebuild every waiting proposal whose transactions are now all here and hand them
    /// to the core, in arrival order.
    fn retry_compact(&mut self) -> anyhow::Result<()> {
        if self.compact_pending.is_empty() {
            return Ok(());
        }
        let mut ready = Vec::new();
        let pool = &self.app.mempool;
        let seen = &self.seen;
        self.compact_pending.retain(|p| {
            let rebuilt = p.compact.rebuild(self.suite, |h| {
                p.fetched
                    .get(h)
                    .cloned()
                    .or_else(|| pool.verified(h).map(|v| v.tx().clone()))
                    .or_else(|| seen.get(h))
            });
            match rebuilt {
                Ok(m) => {
                    ready.push((p.from, m.encode(), !p.fetched.is_empty()));
                    false
                }
                Err(_) => true,
            }
        });
        for (_, _, fetched) in &ready {
            if *fetched {
                self.compact.with_fetch += 1;
            } else {
                self.compact.after_wait += 1;
            }
        }
        let ready: ConsensusBatch = ready.into_iter().map(|(i, m, _)| (i, m)).collect();
        if ready.is_empty() {
            return Ok(());
        }
        self.precheck(ready)
    }

    /// Fetch what the waiting proposals whose wait is over still lack, from their
    /// proposers (`SyncRequest::Txs`, answered from the proposer's recent proposals).
    fn fetch_due(&mut self, now: Instant) {
        for p in self.compact_pending.iter_mut() {
            if p.fetching || p.fetch_at > now {
                continue;
            }
            p.fetching = true;
            let pool = &self.app.mempool;
            let fetched = &p.fetched;
            let seen = &self.seen;
            let missing = p.compact.missing(|h| {
                fetched.contains_key(h) || pool.verified(h).is_some() || seen.get(h).is_some()
            });
            let Some(peer) = self.names.get(usize::from(p.from)).cloned() else {
                continue;
            };
            let net = self.net.clone();
            let out = self.fetch_tx.clone();
            let digest = p.digest;
            let suite = self.suite;
            self.rt.spawn(Box::pin(async move {
                let res = fetch_txs(suite, &*net, &peer, missing).await;
                let _ = out.send((digest, res)).await;
            }));
        }
    }

    /// A fetch came back: rebuild the proposal with what came; a proposal still lacking
    /// transactions is dropped (its view times out like a lost proposal's).
    fn on_fetched(&mut self, (digest, res): Fetched) -> anyhow::Result<()> {
        let Some(p) = self.compact_pending.iter_mut().find(|p| p.digest == digest) else {
            return Ok(());
        };
        match res {
            Ok(txs) => {
                self.compact.txs_fetched += txs.len() as u64;
                for t in txs {
                    p.fetched.insert(t.hash(), t);
                }
            }
            Err(reason) => {
                tracing::info!(digest = %digest.to_hex(), %reason, "transactions of a proposal could not be fetched");
            }
        }
        self.retry_compact()?;
        let before = self.compact_pending.len();
        self.compact_pending.retain(|p| p.digest != digest);
        self.compact.failed += (before - self.compact_pending.len()) as u64;
        Ok(())
    }

    /// A peer's transaction batch: decoded and signature-checked on the verify pool, not
    /// on this task, which runs consensus (issue 14, finding 5); admitted when the
    /// check comes back ([`Driver::on_gossip_checked`]). At most `GOSSIP_CHECKS_MAX`
    /// batches are checked at once; more are dropped and counted (the transactions are in
    /// their senders' pools and reach the chain through them).
    fn on_tx_gossip(&mut self, from: &PeerName, payload: Bytes) {
        let batch = match codec::decode_in::<TxBatch>(self.suite, &payload) {
            Ok(batch) => {
                // What is pending here already (a peer's re-gossip, `Driver::regossip`)
                // is neither remembered nor checked again.
                let pool = &self.app.mempool;
                let suite = self.suite;
                let before = batch.0.len();
                let fresh: Vec<Vec<u8>> = batch
                    .0
                    .into_iter()
                    .filter(|b| !pool.contains(&suite.hash(chancery_core::domain::TX_HASH, b)))
                    .collect();
                self.gossip_txs_known += (before - fresh.len()) as u64;
                if fresh.is_empty() {
                    return;
                }
                // Remembered by hash before the check, for proposals by hash (`SeenTxs`).
                self.seen.add(fresh.iter().cloned());
                if let Err(e) = self.retry_compact() {
                    tracing::warn!(error = %e, "stepping a rebuilt proposal failed");
                }
                Ok(TxBatch(fresh))
            }
            // Checked (and reported) on the pool like any batch.
            Err(_) => Err(payload),
        };
        if self.gossip_checking >= GOSSIP_CHECKS_MAX {
            self.gossip_dropped += 1;
            return;
        }
        let chain_id = self.app.chain_id;
        let suite = self.suite;
        let from = from.clone();
        let out = self.gossip_tx.clone();
        let job = Box::new(move || {
            let checked = match batch {
                Ok(batch) => check_gossip_batch(&chain_id, suite, from, batch),
                Err(payload) => check_gossip(&chain_id, suite, from, &payload),
            };
            // The receiver lives as long as the driver; after it stops nothing is owed.
            // `gossip_tx` has room for every batch in flight (GOSSIP_CHECKS_MAX).
            let _ = out.try_send(checked);
        });
        if self.verify.try_run(job).is_err() {
            self.gossip_dropped += 1;
            return;
        }
        self.gossip_checking += 1;
    }

    fn on_gossip_checked(&mut self, checked: GossipChecked) -> anyhow::Result<()> {
        self.gossip_checking = self.gossip_checking.saturating_sub(1);
        let GossipChecked { from, result } = checked;
        let (txs, verdicts) = match result {
            Ok(ok) => ok,
            Err(reason) => {
                tracing::info!(peer = %from, %reason, "peer sent an invalid transaction batch");
                self.net.report(&from, Misbehaviour::Invalid);
                return Ok(());
            }
        };
        // Honest nodes gossip only transactions they admitted, so a bad signature in a
        // peer's batch is that peer's misbehaviour.
        let bad = verdicts.bad_signatures();
        if bad > 0 {
            tracing::info!(peer = %from, bad, "peer gossiped transactions with bad signatures");
            self.net.report(&from, Misbehaviour::Invalid);
        }
        let now_ms = self.now_ms();
        let view = crate::app::LedgerView(&self.app.ledger);
        let _ = self
            .app
            .mempool
            .insert_batch_with(txs, verdicts, Origin::Peer, now_ms, &view);
        self.wake_idle_leader();
        // The transactions a proposal received by hash waited for may have come.
        self.retry_compact()
    }

    /// A leader waiting for transactions proposes as soon as some follow its parent (on
    /// the parent's result: the tip or a notarized block it checked, R15); on a parent it
    /// cannot execute on it waits at most `propose_wait` more for the parent's finalization.
    fn wake_idle_leader(&mut self) {
        if self.app.mempool.is_empty() {
            return;
        }
        let Some(p) = self.pending_propose.as_mut() else {
            return;
        };
        let parent = p.parent.digest;
        if !self.app.can_execute_on(&parent) {
            p.deadline = p.deadline.min(self.rt.now() + self.propose_wait);
            return;
        }
        if self.app.has_work_on(&parent) {
            if let Err(e) = self.propose_now() {
                tracing::warn!(error = %e, "proposal failed");
            }
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Submit {
                txs,
                verdicts,
                reply,
            } => {
                let bytes: Vec<Vec<u8>> = txs.iter().map(Transaction::to_bytes).collect();
                let now = self.rt.now();
                let now_ms = self.now_ms();
                let view = crate::app::LedgerView(&self.app.ledger);
                let results =
                    self.app
                        .mempool
                        .insert_batch_with(txs, verdicts, Origin::Local, now_ms, &view);
                let out: Vec<Result<TxHash, AdmitError>> = results
                    .into_iter()
                    .zip(bytes)
                    .map(|(r, b)| {
                        r.map(|a| {
                            if self.gossip_out.len() >= GOSSIP_OUT_TXS_MAX {
                                // Send now rather than drop: a proposal names its
                                // transactions by hash, so peers should hold them all.
                                self.flush_gossip();
                            }
                            self.gossip_first_at.get_or_insert(now);
                            self.gossip_out.push(b);
                            a.hash
                        })
                    })
                    .collect();
                let _ = reply.send(out);
                self.wake_idle_leader();
            }
            Command::IsPending { hash, reply } => {
                let _ = reply.send(self.app.mempool.contains(&hash));
            }
        }
    }

    /// When queued transactions are due for gossip: at once if the last flush was
    /// `GOSSIP_FLUSH_INTERVAL_MS` ago, else that long after it (so a loaded node sends one
    /// batch per interval and a quiet one sends without delay); never (`None`) while
    /// nothing is queued, so an idle node does not wake for gossip (issue 17).
    fn gossip_due(&self) -> Option<Instant> {
        self.gossip_first_at
            .map(|t| t.max(self.gossip_last + Duration::from_millis(GOSSIP_FLUSH_INTERVAL_MS)))
    }

    fn flush_gossip(&mut self) {
        self.gossip_first_at = None;
        self.gossip_last = self.rt.now();
        while !self.gossip_out.is_empty() {
            // At most GOSSIP_TXS_MAX transactions and GOSSIP_TXS_BYTES_MAX bytes (the wire
            // limit of the transaction channel is derived from both); at least one.
            let mut n = 0;
            let mut bytes = 0usize;
            for tx in self.gossip_out.iter().take(GOSSIP_TXS_MAX) {
                if n > 0 && bytes + tx.len() > chancery_net::GOSSIP_TXS_BYTES_MAX {
                    break;
                }
                bytes += tx.len();
                n += 1;
            }
            let batch = TxBatch(self.gossip_out.drain(..n).collect());
            if let Err(e) = self
                .net
                .broadcast(Channel::Transactions, Bytes::from(codec::encode(&batch)))
            {
                tracing::debug!(error = %e, "transaction gossip not sent");
            }
        }
    }

    /// Gossip again the local transactions still pending `REGOSSIP_AGE_MS` after
    /// admission, at most `REGOSSIP_TXS_MAX` a round, sweeping the pool in admission order.
    /// Gossip goes out once, to the peers connected then: a peer cut off at that moment
    /// (a partition, a restart) would never hold the transaction, and a leader without
    /// pending work rests until its heartbeat while the followers that hold work nullify
    /// its view (R14), so the transaction would wait for a holder's turn to lead, view
    /// after failed view (the host simulator's seed 11184, docs/testing.md).
    fn regossip(&mut self) {
        let Some(by) = self.now_ms().0.checked_sub(REGOSSIP_AGE_MS) else {
            return;
        };
        let pool = &self.app.mempool;
        let mut batch =
            pool.pending_admitted_by(self.regossip_cursor, TimestampMs(by), REGOSSIP_TXS_MAX);
        if batch.txs.is_empty() && self.regossip_cursor != Default::default() {
            // The sweep reached the end (or the young): start over.
            batch = pool.pending_admitted_by(Default::default(), TimestampMs(by), REGOSSIP_TXS_MAX);
        }
        self.regossip_cursor = batch.next;
        if batch.txs.is_empty() {
            return;
        }
        self.txs_regossiped += batch.txs.len() as u64;
        tracing::debug!(
            txs = batch.txs.len(),
            "re-gossip of transactions still pending"
        );
        // Through the gossip queue, whose flush cuts messages to the wire's limits.
        if self.gossip_out.len() + batch.txs.len() > GOSSIP_OUT_TXS_MAX {
            self.flush_gossip();
        }
        self.gossip_out
            .extend(batch.txs.iter().map(|v| v.bytes().to_vec()));
        self.flush_gossip();
    }

    fn start_sync(&mut self) {
        if self.sync_in_flight || self.names.is_empty() {
            return;
        }
        let peers = self.net.peers();
        if peers.is_empty() {
            return;
        }
        let peer = peers[self.sync_next_peer % peers.len()].clone();
        self.sync_next_peer = self.sync_next_peer.wrapping_add(1);
        let from = self.app.ledger.tip().height.next();
        let net = self.net.clone();
        let suite = self.suite;
        let tx = self.sync_tx.clone();
        self.sync_in_flight = true;
        self.rt.spawn(Box::pin(async move {
            let mut claimed = None;
            let res = async {
                let status = net
                    .request(&peer, Bytes::from(codec::encode(&SyncRequest::Status)))
                    .await
                    .map_err(|e| e.to_string())?;
                let status: SyncResponse =
                    codec::decode_in(suite, &status).map_err(|e| e.to_string())?;
                let SyncResponse::Status { height } = status else {
                    return Err("expected a status".to_string());
                };
                claimed = Some(height);
                if height < from {
                    return Ok(SyncResponse::Status { height });
                }
                let req = SyncRequest::Blocks {
                    from,
                    max: SYNC_BLOCKS_MAX,
                };
                let bytes = net
                    .request(&peer, Bytes::from(codec::encode(&req)))
                    .await
                    .map_err(|e| e.to_string())?;
                codec::decode_in::<SyncResponse>(suite, &bytes).map_err(|e| e.to_string())
            }
            .await;
            let _ = tx.send((peer, claimed, res)).await;
        }));
    }

    /// A peer's claimed height (its sync status answer), for readiness. Only validators'
    /// claims count (observers may be many).
    fn on_claim(&mut self, peer: &PeerName, height: Height) {
        if self.index_of.contains_key(peer) {
            self.peer_heights.claim(peer.clone(), height, self.rt.now());
        }
    }

    fn on_sync(&mut self, peer: PeerName, res: Result<SyncResponse, String>) -> anyhow::Result<()> {
        self.sync_in_flight = false;
        match res {
            Err(e) => tracing::debug!(peer = %peer, error = %e, "sync request failed"),
            Ok(SyncResponse::Status { height }) => self.on_claim(&peer, height),
            Ok(
                other @ (SyncResponse::Txs { .. }
                | SyncResponse::SnapshotOffer { .. }
                | SyncResponse::EpochLinks { .. }
                | SyncResponse::SnapshotManifest { .. }
                | SyncResponse::SnapshotChunk { .. }
                | SyncResponse::SnapshotLogPiece { .. }
                | SyncResponse::Refused { .. }),
            ) => {
                tracing::debug!(peer = %peer, answer = other.kind(), "a blocks request answered with something else");
                self.net.report(&peer, Misbehaviour::Invalid);
            }
            Ok(SyncResponse::Blocks { blocks }) => {
                let tip = self.app.ledger.tip().height;
                let run: Vec<FinalBlock> = blocks
                    .into_iter()
                    .filter(|f| f.block.header.height > tip)
                    .collect();
                let out = self.app.commit_fetched_run(run);
                for b in &out.applied {
                    self.announce(b);
                }
                match out.error {
                    Some(e) if e.is_fatal() => {
                        anyhow::bail!("cannot store synced block {}: {e}", e.height())
                    }
                    // A run cut short by the response limits: the next request resumes.
                    Some(e @ crate::app::CommitRunError::Unlinked { .. }) => {
                        tracing::debug!(peer = %peer, error = %e, "sync run ends before its certificate")
                    }
                    Some(e) => {
                        tracing::warn!(peer = %peer, error = %e, "peer sent blocks we cannot apply");
                        self.net.report(&peer, Misbehaviour::Invalid);
                    }
                    None => {}
                }
                let tip = self.app.ledger.tip().height;
                if !out.applied.is_empty() {
                    tracing::info!(peer = %peer, applied = out.applied.len(), height = tip.0, "caught up from peer");
                    if tip > self.core.finalized().height {
                        self.rebuild_core()?;
                    }
                    self.sync_in_flight = false;
                    self.start_sync();
                }
            }
        }
        Ok(())
    }

    /// After catching up past the core's root, restart the core at the new tip.
    fn rebuild_core(&mut self) -> anyhow::Result<()> {
        // Catch-up may have crossed epoch boundaries: the core restarts with the set
        // that finalizes the next height.
        let next = self.app.ledger.tip().height.next();
        let set = self.app.ledger.validator_set_at(next)?;
        if set.epoch != self.core_cfg.set.epoch {
            self.adopt_epoch(set)?;
        }
        let (root, root_cert) = root_of(&self.app)?;
        let mut cfg = self.core_cfg.clone();
        cfg.root = root;
        cfg.root_cert = root_cert;
        let restored = restored_votes(self.suite, &*self.store, cfg.set.epoch.0, root.view)?;
        self.core = new_core(self.suite, cfg, restored, &self.sig_cache)?;
        self.pending_propose = None;
        self.pending_validate.clear();
        self.step(Input::Start)
    }

    /// The core switched epochs (R13) on `root`, the last block of the old one. The host
    /// follows ([`Driver::adopt_epoch`]); when the new epoch's timing parameters differ,
    /// the core is restarted on the same root with them (it has no state in the new
    /// epoch yet beyond entering view 1).
    fn on_epoch_changed(&mut self, epoch: Epoch, root: BlockRef) -> anyhow::Result<()> {
        let set = self.core.validator_set().clone();
        let timing_changed = self.adopt_epoch(set)?;
        tracing::info!(
            epoch = epoch.0,
            height = root.height.0,
            validators = self.names.len(),
            validator = self.core.index().is_some(),
            "epoch changed"
        );
        if timing_changed {
            let mut cfg = self.core_cfg.clone();
            cfg.root = root;
            cfg.root_cert = None;
            let restored = restored_votes(self.suite, &*self.store, cfg.set.epoch.0, root.view)?;
            self.core = new_core(self.suite, cfg, restored, &self.sig_cache)?;
            self.step(Input::Work {
                pending: self.work_told,
            })?;
            self.step(Input::Start)?;
        }
        Ok(())
    }

    /// The consensus key to sign with in the epoch of `set`: ours, or, when governance
    /// rotated it (the set lists another key under our name), the key file beside the
    /// configured one that holds the new key (`NodeConfig::find_consensus_key`), so that
    /// a rotated validator votes from the new epoch on without a restart. Without such a
    /// file it keeps its old key, which the new set does not list: it does not vote.
    fn consensus_key_for(&self, set: &ValidatorSet) -> Option<chancery_core::crypto::SecretKey> {
        let current = self.core_cfg.key.clone();
        let Some(cfg) = self.node_config.as_ref() else {
            return current;
        };
        let Some(v) = set.validators.iter().find(|v| v.name == cfg.name) else {
            return current;
        };
        if current
            .as_ref()
            .is_some_and(|k| k.public() == v.consensus_key)
        {
            return current;
        }
        match cfg.find_consensus_key(&v.consensus_key) {
            Ok(Some((file, kp))) => {
                tracing::info!(
                    epoch = set.epoch.0,
                    file = %file.display(),
                    key = %v.consensus_key,
                    "signing with the rotated consensus key from this epoch on"
                );
                Some(kp.secret)
            }
            Ok(None) => {
                tracing::warn!(
                    epoch = set.epoch.0,
                    key = %v.consensus_key,
                    "the validator set lists another consensus key for this node, and no key file beside the configured one holds it: not voting until the node has that key"
                );
                current
            }
            Err(e) => {
                tracing::warn!(epoch = set.epoch.0, error = %e, "looking for the rotated consensus key failed: not voting until the node has it");
                current
            }
        }
    }

    /// Take on the epoch of `set` in the host: peer names by index, the parameters in
    /// force from its first height (block limits, Δ, heartbeat), the configuration the
    /// core is rebuilt with, and drop what belonged to the old epoch's views: view
    /// numbers restart at 1 in a new epoch, so an old timer would time out a new view.
    /// Returns whether the core must be rebuilt: the consensus timing (Δ or the
    /// heartbeat) or our consensus key changed.
    fn adopt_epoch(&mut self, set: ValidatorSet) -> anyhow::Result<bool> {
        let params = self.app.ledger.params_at(set.start_height)?;
        self.names = set
            .validators
            .iter()
            .map(|v| PeerName::from(v.name.as_str()))
            .collect();
        self.index_of = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u16))
            .collect();
        let key = self.consensus_key_for(&set);
        // The live core keeps the key it was built with: a rotated key needs a new core.
        let key_changed =
            key.as_ref().map(|k| k.public()) != self.core_cfg.key.as_ref().map(|k| k.public());
        let mut cfg = CoreConfig::with_delta(
            self.core_cfg.chain_id,
            set,
            key,
            self.core_cfg.root,
            params.delta_ms,
        );
        cfg.heartbeat_ms = params.heartbeat_ms;
        // The database is intact while the node runs: the votes of the new epoch (none
        // yet, or those stored before a restart) are restored from it, so no floor.
        cfg.sign_floor = None;
        let timing_changed = cfg.leader_timeout_ms != self.core_cfg.leader_timeout_ms
            || cfg.heartbeat_ms != self.core_cfg.heartbeat_ms
            || key_changed;
        self.core_cfg = cfg;
        self.propose_wait = Duration::from_millis(params.delta_ms);
        self.idle_wait = Duration::from_millis(if params.heartbeat_ms > 0 {
            params.heartbeat_ms
        } else {
            params.delta_ms.min(IDLE_BLOCK_MS)
        });
        self.rests = params.heartbeat_ms > 0;
        self.app.set_block_limits(
            params.block_txs_max as usize,
            params.block_bytes_max as usize,
        );
        self.timers.clear();
        self.pending_propose = None;
        self.pending_validate.clear();
        self.refresh_peers()?;
        Ok(timing_changed)
    }

    /// A reloaded configuration: its `[[peers]]` are admitted (with the validators of the
    /// sets), at once. Other keys take effect at the next start.
    fn on_config(&mut self, cfg: Arc<chancery_genesis::config::NodeConfig>) {
        tracing::info!(
            peers = cfg.peers.len(),
            "configuration reloaded: applying its [[peers]] (other keys take effect at the next start)"
        );
        self.node_config = Some(cfg);
        self.peers_for = None;
        if let Err(e) = self.refresh_peers() {
            tracing::error!(error = %e, "applying the reloaded peers failed; asking again after the next commit");
        }
    }

    /// The peer gate follows the validator sets: the network admits the validators of
    /// the epoch in force and of the next one once scheduled, and the config's observers
    /// (`startup::validators_to_admit`). A validator removed at a switch is disconnected
    /// and refused from then on; one added is admitted from the block that passed it, so
    /// that it can catch up before it must vote. Asked after every commit; the network is
    /// told only when the sets changed.
    fn refresh_peers(&mut self) -> anyhow::Result<()> {
        let Some(cfg) = self.node_config.clone() else {
            return Ok(());
        };
        let current = self.core_cfg.set.clone();
        let next = self
            .app
            .ledger
            .validator_set_of_epoch(Epoch(current.epoch.0 + 1))?;
        let key = (current.epoch, next.as_ref().map(|n| n.hash()));
        if self.peers_for == Some(key) {
            return Ok(());
        }
        self.peers_for = Some(key);
        let admit = crate::startup::validators_to_admit(&current, next.as_ref());
        match self
            .net
            .set_peers(crate::startup::allowed_peers(&cfg, &admit))
        {
            Ok(change) if !change.is_empty() => tracing::info!(
                epoch = current.epoch.0,
                added = ?change.added,
                removed = ?change.removed,
                rotated = ?change.rotated,
                "peer set follows the validator sets"
            ),
            Ok(_) => {}
            // Validator sets are checked by the ledger (unique keys, at most
            // VALIDATORS_MAX): this is a config entry the network refuses; keep the
            // previous set and say why.
            Err(e) => {
                // Asked again after the next commit.
                self.peers_for = None;
                tracing::error!(error = %e, "the network refused the new peer set; keeping the previous one and asking again after the next commit (fix the [[peers]] entry it names in node.toml and restart)")
            }
        }
        Ok(())
    }

    fn announce(&mut self, block: &Block) {
        let _ = self.events.send(Event::Block {
            height: block.header.height,
            hash: block.header.hash(self.suite),
            tx_count: block.header.tx_count,
            log_size: block.header.log_size,
        });
    }

    fn publish_status(&mut self) {
        let connected = self.net.status().borrow().connected.clone();
        let me = self.core.index();
        let live = self
            .names
            .iter()
            .enumerate()
            .filter(|(i, n)| me == Some(*i as u16) || connected.contains(*n))
            .count();
        let set = self.core.validator_set();
        let total = set.len();
        let quorum = (2 * total) / 3 + 1;
        let tip = self.app.ledger.tip().height.0;
        let sigs = self.sig_cache.counters();
        let net = self.net.counters();
        self.status.send_replace(NodeStatus {
            view: self.core.view().0,
            height: tip,
            peer_height: self.peer_heights.height(self.rt.now()).0.max(tip),
            peer_height_vouched: self.peer_heights.vouched(self.rt.now())
                || (me.is_some() && total == 1),
            validators_live: live,
            quorum,
            validators: total,
            mempool_txs: self.app.mempool.len(),
            evidence: self.evidence,
            validator: me.is_some(),
            started: true,
            finalized_refused: self.finalized_refused,
            finalized_waiting_overflow: self.finalized_waiting_overflow,
            consensus_sigs_prechecked: sigs.prechecked,
            consensus_sig_cache_hits: sigs.hits,
            consensus_sig_cache_misses: sigs.misses,
            consensus_prechecks_bypassed: self.precheck_bypassed,
            proposals_pipelined: self.proposals_pipelined,
            parents_filled: self.parents_filled,
            speculative_results: self.app.ledger.speculative_len(),
            executions: self.app.ledger.executions(),
            mempool_bytes: self.app.mempool.bytes(),
            peers: connected.len(),
            epoch: set.epoch.0,
            proposals_compact_sent: self.compact.sent,
            proposals_compact_received: self.compact.received,
            proposals_rebuilt_from_pool: self.compact.from_pool,
            proposals_rebuilt_after_wait: self.compact.after_wait,
            proposals_rebuilt_with_fetch: self.compact.with_fetch,
            block_requests_held: self.compact.requests_held,
            own_votes_pruned_below: self.votes_pruned_below.0,
            proposal_txs_fetched: self.compact.txs_fetched,
            proposals_compact_failed: self.compact.failed,
            txs_regossiped: self.txs_regossiped,
            gossip_txs_known: self.gossip_txs_known,
            p2p_consensus_bytes_sent: net.bytes_sent[Channel::Consensus.to_byte() as usize],
            p2p_transactions_bytes_sent: net.bytes_sent[Channel::Transactions.to_byte() as usize],
        });
    }

    /// Feed one input and carry out every effect, including the inputs they produce.
    fn step(&mut self, input: Input) -> anyhow::Result<()> {
        let mut inputs = VecDeque::from([input]);
        while let Some(input) = inputs.pop_front() {
            for e in self.core_handle(input) {
                self.effect(e, &mut inputs)?;
            }
        }
        Ok(())
    }

    /// The core's step, with its input and effects in the trace log (`RUST_LOG=
    /// chancery_node::driver=trace`: how a view went, message by message).
    fn core_handle(&mut self, input: Input) -> Vec<Effect> {
        let tracing = tracing::enabled!(tracing::Level::TRACE);
        if tracing {
            tracing::trace!(view = self.core.view().0, input = %describe_input(self.suite, &input), "core input");
        }
        let effects = self.core.handle(input);
        if tracing {
            for e in &effects {
                tracing::trace!(view = self.core.view().0, effect = %describe_effect(e), "core effect");
            }
        }
        effects
    }

    fn effect(&mut self, e: Effect, inputs: &mut VecDeque<Input>) -> anyhow::Result<()> {
        match e {
            Effect::Send { to, message } => self.send(to, &message),
            Effect::Broadcast { message } => {
                let bytes = self.wire_bytes(&message);
                if let Err(err) = self.net.broadcast(Channel::Consensus, Bytes::from(bytes)) {
                    tracing::debug!(error = %err, "consensus broadcast failed");
                }
            }
            Effect::ScheduleTimeout {
                view,
                kind,
                after_ms,
            } => {
                self.timer_seq += 1;
                self.timers.push(Reverse(Timer {
                    at: self.rt.now() + Duration::from_millis(after_ms),
                    seq: self.timer_seq,
                    view,
                    kind: kind.into(),
                }));
            }
            Effect::Persist { id, vote } => self.persist_vote(id, vote, inputs)?,
            Effect::Propose { view, parent } => self.on_propose(view, parent, inputs)?,
            Effect::Validate { block, parent } => {
                self.validate(block, parent, inputs);
            }
            Effect::Finalized {
                block,
                finalization,
            } => self.on_finalized(block, finalization, inputs)?,
            Effect::Evidence(ev) => self.store_evidence(&ev)?,
            Effect::PeerMisbehaved { peer, reason } => {
                if let Some(name) = self.names.get(usize::from(peer)) {
                    tracing::info!(peer = %name, %reason, "peer misbehaved");
                    self.net.report(name, Misbehaviour::Invalid);
                }
            }
            Effect::EpochChanged { epoch, root } => self.on_epoch_changed(epoch, root)?,
        }
        Ok(())
    }

    /// Send a consensus message to validator `to` (a failed send is the network's to
    /// retry or drop; consensus tolerates lost messages).
    fn send(&mut self, to: Peer, message: &Message) {
        if let Message::BlockRequest { digest } = message {
            // A block we are rebuilding from its hashes: fetch what it lacks now rather
            // than have the whole block sent (the rebuilt proposal satisfies the core).
            if let Some(p) = self
                .compact_pending
                .iter_mut()
                .find(|p| p.digest == *digest)
            {
                p.fetch_at = p.fetch_at.min(self.rt.now());
                self.compact.requests_held += 1;
                return;
            }
        }
        let bytes = self.wire_bytes(message);
        if let Some(name) = self.names.get(usize::from(to)) {
            if let Err(err) = self.net.send(name, Channel::Consensus, Bytes::from(bytes)) {
                tracing::debug!(to = %name, error = %err, "consensus send failed");
            }
        }
    }

    /// Persist our vote (and first raise the signing mark), synced, then acknowledge it to
    /// the core and carry out what that releases, before any later input.
    fn persist_vote(
        &mut self,
        id: u64,
        vote: Vote,
        inputs: &mut VecDeque<Input>,
    ) -> anyhow::Result<()> {
        // The mark first: it is then at least as new as any vote persisted or sent.
        let raised = match self.sign_mark.as_mut() {
            Some(mark) => mark.raise(vote.epoch.0, vote.view)?,
            None => None,
        };
        let mut b = WriteBatch::new();
        b.put(Column::Meta, vote_key(&vote), Message::Vote(vote).encode());
        // The reservation goes into the database with the vote: at start an intact
        // database matches the file.
        if let Some(m) = raised {
            b.put(
                Column::Meta,
                signmark::DB_MARK_KEY.to_vec(),
                m.to_db().to_vec(),
            );
        }
        // Synced before the acknowledgement: the vote is sent only after this.
        self.store.write(b)?;
        // Acknowledge before any later input so effect order is preserved.
        for e in self.core_handle(Input::PersistAcked { id }) {
            self.effect(e, inputs)?;
        }
        Ok(())
    }

    /// Our turn to propose in `view` on `parent`: propose at once if transactions follow
    /// the parent (executed on the tip or on the parent's speculative result, R15);
    /// otherwise wait for transactions or the parent's finalization (or, idle, the
    /// heartbeat) before an empty block.
    fn on_propose(
        &mut self,
        view: View,
        parent: BlockRef,
        inputs: &mut VecDeque<Input>,
    ) -> anyhow::Result<()> {
        // R15: on a parent we never checked, execute it from the core's copy first.
        if !self.fill_parent(&parent.digest) {
            // Neither the parent's result nor its ancestors: no block can be built (its
            // epoch fields follow from the parent's state, `App::build`). The view times
            // out and the next leader proposes.
            self.proposals_not_built += 1;
            tracing::debug!(view = view.0, parent = %parent.digest, "no proposal: the parent is not executed here");
            return Ok(());
        }
        let idle = self.app.mempool.is_empty();
        let wait = if idle {
            self.idle_wait
        } else {
            self.propose_wait
        };
        let asked = self.rt.now();
        self.pending_propose = Some(PendingPropose {
            view,
            parent,
            asked,
            deadline: asked + wait,
        });
        let suffix = self
            .app
            .suffix_past(&parent.digest, self.core.epoch())
            .is_some();
        if suffix || (!idle && self.app.has_work_on(&parent.digest)) {
            // A suffix block (R13) is empty by rule: nothing to wait for.
            self.propose_now_into(inputs)?;
        }
        Ok(())
    }

    /// Store evidence of equivocation the core reported, under its id in `Meta`.
    fn store_evidence(&mut self, ev: &Evidence) -> anyhow::Result<()> {
        self.evidence += 1;
        let mut b = WriteBatch::new();
        // One record per (epoch, view, culprit): the core reports each once, and a
        // repeat after a restart overwrites a key of `Meta` with the same meaning.
        let mut key = chancery_ledger::EVIDENCE_KEY_PREFIX.to_vec();
        key.extend_from_slice(&ev.id());
        b.put(Column::Meta, key, codec::encode(ev));
        self.store.write(b)?;
        tracing::warn!(
            culprit = ev.culprit(),
            view = ev.view().0,
            "evidence of equivocation"
        );
        Ok(())
    }

    /// A block the core finalized (issue 14, finding 1). Its payload came from a peer: one
    /// that does not decode, hashes to another block than the certificate's, or does not
    /// apply is logged with its height and the reason, counted, never announced, and the
    /// node falls back to block sync (certified blocks, re-verified by the ledger) from
    /// another peer. Only a failure of our own storage stops the node.
    fn on_finalized(
        &mut self,
        block: CBlock,
        finalization: chancery_core::cert::Certificate,
        inputs: &mut VecDeque<Input>,
    ) -> anyhow::Result<()> {
        if block.height <= self.app.ledger.tip().height {
            return Ok(()); // already applied through catch-up
        }
        let decoded: Block = match codec::decode_in(self.suite, &block.payload) {
            Ok(b) => b,
            Err(e) => {
                self.refuse_finalized(
                    block.height,
                    &format!("payload is not a canonical block: {e}"),
                );
                return Ok(());
            }
        };
        let hash = decoded.header.hash(self.suite);
        if hash != block.digest || decoded.header.height != block.height {
            self.refuse_finalized(
                block.height,
                &format!(
                    "payload is block {hash} at height {}, the finalized block is {} at height {}",
                    decoded.header.height, block.digest, block.height
                ),
            );
            return Ok(());
        }
        let mut suffix = Vec::new();
        if finalization.block != block.digest && decoded.header.is_boundary() {
            // R13: a boundary finalized through the old epoch's suffix blocks, which the
            // core never delivers but holds: their headers go with it to the ledger.
            match self.held_suffix(&block.digest, &finalization.block) {
                Ok(s) => suffix = s,
                Err(why) => {
                    self.refuse_finalized(block.height, &why);
                    return Ok(());
                }
            }
        }
        if finalization.block != block.digest && suffix.is_empty() {
            // Finalized by a descendant, which the core delivers next.
            if self.finalized_waiting.len() < FINALIZED_WAITING_MAX {
                self.finalized_waiting
                    .push(FinalBlock::new(decoded, finalization));
            } else {
                self.finalized_waiting_overflow += 1;
                self.sync_wanted = true;
                tracing::warn!(
                    height = block.height.0,
                    waiting_max = FINALIZED_WAITING_MAX,
                    overflow = self.finalized_waiting_overflow,
                    "finalized block refused: too many blocks wait for their certificate; fetching it by block sync"
                );
            }
            return Ok(());
        }
        let mut run = std::mem::take(&mut self.finalized_waiting);
        run.push(FinalBlock {
            block: decoded,
            cert: finalization,
            suffix,
        });
        let out = self.app.commit_run(run);
        for b in &out.applied {
            self.announce(b);
        }
        if let Some(e) = out.error {
            if e.is_fatal() {
                anyhow::bail!("cannot store finalized block {}: {e}", e.height());
            }
            self.refuse_finalized(e.height(), &e.to_string());
        }
        if !out.applied.is_empty() {
            tracing::debug!(
                height = block.height.0,
                blocks = out.applied.len(),
                "finalized"
            );
            self.after_commit(inputs)?;
        }
        Ok(())
    }

    /// The suffix headers from the child of the boundary block `boundary` up to `certified`
    /// (R13), read from the blocks the core holds, at most `EPOCH_SUFFIX_MAX`; or why not.
    /// The ledger checks them ([`chancery_core::epoch::check_suffix`]).
    fn held_suffix(
        &self,
        boundary: &Digest,
        certified: &Digest,
    ) -> Result<Vec<BlockHeader>, String> {
        let mut suffix = Vec::new();
        let mut d = *certified;
        while d != *boundary {
            if suffix.len() >= chancery_core::limits::EPOCH_SUFFIX_MAX {
                return Err(format!(
                    "the certificate's block {certified} is not within {} suffix blocks of the boundary",
                    chancery_core::limits::EPOCH_SUFFIX_MAX
                ));
            }
            let b = self
                .core
                .held_block(&d)
                .ok_or_else(|| format!("suffix block {d} is not held"))?;
            let h = codec::decode_in::<Block>(self.suite, &b.payload)
                .map_err(|e| format!("suffix block {d} is not a canonical block: {e}"))?
                .header;
            d = h.parent;
            suffix.push(h);
        }
        suffix.reverse();
        Ok(suffix)
    }

    /// A finalized block we could not apply: say so loudly, count it, and fetch the chain
    /// from peers by block sync instead.
    fn refuse_finalized(&mut self, height: Height, reason: &str) {
        self.finalized_refused += 1;
        self.sync_wanted = true;
        tracing::error!(
            height = height.0,
            reason,
            refused = self.finalized_refused,
            "finalized block not applied; catching up by block sync from another peer"
        );
    }

    /// The held-parent rule (R15): give `parent` a result here if it has none, by executing
    /// the blocks the core holds from the first ancestor that has one (the tip or a kept
    /// result) up to `parent`, in height order, each checked as a proposal is (its result
    /// is kept), at most [`chancery_ledger::SPECULATIVE_DEPTH_MAX`] of them. Without it, a
    /// block notarized by a quorum of which fewer than a quorum checked it (a leader that
    /// sent its proposal to just enough validators, or crashes) could never get a child
    /// notarized: the others could check neither a full nor an empty child. When an
    /// ancestor is not held, the parent's header is still remembered, so that an empty
    /// block can be built and checked on it. Returns whether `parent` can be executed on.
    fn fill_parent(&mut self, parent: &Digest) -> bool {
        if self.app.can_execute_on(parent) {
            return true;
        }
        // Remember the held headers up from the parent: a suffix parent (R13) needs its
        // chain back to the boundary, any other at least its own header.
        let mut d = *parent;
        for _ in 0..=chancery_core::limits::EPOCH_SUFFIX_MAX {
            let Some(b) = self.core.held_block(&d) else {
                break;
            };
            let b = b.clone();
            self.app.remember_held(&b);
            d = b.parent;
        }
        if self.app.suffix_past(parent, self.core.epoch()).is_some() {
            // Past our epoch's boundary: an empty suffix block is built or checked on
            // headers alone.
            return true;
        }
        let mut chain: Vec<CBlock> = Vec::new();
        let mut d = *parent;
        while !self.app.can_execute_on(&d) {
            if chain.len() as u64 >= chancery_ledger::SPECULATIVE_DEPTH_MAX {
                return false;
            }
            let Some(b) = self.core.held_block(&d) else {
                return false;
            };
            d = b.parent;
            chain.push(b.clone());
        }
        let epoch = self.core.epoch();
        for b in chain.into_iter().rev() {
            // `check` reads the parent's digest and height only.
            let pref = BlockRef {
                digest: b.parent,
                height: Height(b.height.0.saturating_sub(1)),
                view: self
                    .core
                    .held_ref(&b.parent)
                    .map(|r| r.view)
                    .unwrap_or(View(0)),
            };
            let leader = self.core.leader(b.view);
            let started = self.rt.now();
            let verdict = self.app.check(&b, &pref, leader, epoch, self.now_ms());
            self.defer_timers(self.rt.now().saturating_duration_since(started));
            match verdict {
                Verdict::Valid => self.parents_filled += 1,
                Verdict::Invalid(e) => {
                    // A certified block that does not execute to its own header: more than
                    // f validators notarized an invalid block. Nothing is built on it here.
                    tracing::error!(height = b.height.0, view = b.view.0, error = %e, "a certified block is invalid: more than f validators notarized it; nothing is built on it here (report this line to the network's operators)");
                    return false;
                }
                Verdict::NeedParent => return false,
            }
        }
        self.app.can_execute_on(parent)
    }

    fn validate(&mut self, block: CBlock, parent: BlockRef, inputs: &mut VecDeque<Input>) {
        self.fill_parent(&parent.digest);
        let leader = self.core.leader(block.view);
        let epoch = self.core.epoch();
        let started = self.rt.now();
        let verdict = self
            .app
            .check(&block, &parent, leader, epoch, self.now_ms());
        self.defer_timers(self.rt.now().saturating_duration_since(started));
        match verdict {
            Verdict::Valid => {
                inputs.push_back(Input::Validated {
                    digest: block.digest,
                    valid: true,
                });
                self.after_valid(block.digest, inputs);
            }
            Verdict::Invalid(e) => {
                tracing::warn!(height = block.height.0, view = block.view.0, error = %e, "proposal rejected");
                inputs.push_back(Input::Validated {
                    digest: block.digest,
                    valid: false,
                });
            }
            Verdict::NeedParent => {
                if self.pending_validate.len() >= PENDING_VALIDATIONS_MAX {
                    self.pending_validate.pop_front();
                }
                self.pending_validate
                    .push_back(PendingValidate { block, parent });
            }
        }
    }

    /// A block was found valid and its result kept (R15): the blocks that waited for it
    /// as their parent can be checked now, and if we lead on it we can build on it.
    fn after_valid(&mut self, digest: Digest, inputs: &mut VecDeque<Input>) {
        let (ready, waiting): (Vec<PendingValidate>, Vec<PendingValidate>) = self
            .pending_validate
            .drain(..)
            .partition(|p| p.parent.digest == digest);
        self.pending_validate = waiting.into();
        for p in ready {
            self.validate(p.block, p.parent, inputs);
        }
        let leads_on_it = self
            .pending_propose
            .as_ref()
            .is_some_and(|p| p.parent.digest == digest);
        let suffix = self.app.suffix_past(&digest, self.core.epoch()).is_some();
        if leads_on_it && (suffix || self.app.has_work_on(&digest)) {
            if let Err(e) = self.propose_now_into(inputs) {
                tracing::warn!(error = %e, "proposal failed");
            }
        }
    }

    fn after_commit(&mut self, inputs: &mut VecDeque<Input>) -> anyhow::Result<()> {
        let tip = self.app.ledger.tip();
        // R13: the block just committed may end its epoch (docs/governance.md): the core
        // switches to the next set, which the ledger computed with the block. A run of
        // blocks ends at a boundary (a certificate is valid only in its own epoch, so the
        // boundary is finalized by its own certificate), hence the tip is the one to ask.
        if let Some(next) = self.app.ledger.epoch_end(tip.height)? {
            if next.epoch > self.core.epoch() {
                tracing::info!(
                    epoch = next.epoch.0,
                    from_height = tip.height.next().0,
                    validators = next.len(),
                    "the committed block ends the epoch"
                );
                inputs.push_front(Input::EpochChange {
                    set: next,
                    from_height: tip.height.next(),
                });
            }
        }
        // A proposal that passed may have scheduled validators to admit.
        self.refresh_peers()?;
        if tip.height.0 >= self.votes_pruned_at.0 + VOTE_PRUNE_INTERVAL_BLOCKS {
            let root = self.core.finalized();
            match prune_votes(&*self.store, self.core.epoch().0, root.view) {
                Ok(()) => self.votes_pruned_below = root.view,
                Err(e) => tracing::warn!(error = %e, "pruning our old vote records failed"),
            }
            self.votes_pruned_at = tip.height;
        }
        // Blocks that waited for their parent.
        let waiting: Vec<PendingValidate> = self.pending_validate.drain(..).collect();
        for p in waiting {
            if p.block.height <= tip.height {
                continue; // superseded
            }
            if p.parent.digest == tip.hash || self.app.parent_info(&p.parent.digest).is_some() {
                self.validate(p.block, p.parent, inputs);
            } else {
                self.pending_validate.push_back(p);
            }
        }
        let parent = self.pending_propose.as_ref().map(|p| p.parent.digest);
        if parent.is_some_and(|d| self.app.has_work_on(&d)) {
            self.propose_now_into(inputs)?;
        }
        Ok(())
    }

    /// Push every pending timeout back by `spent`, the time this node just spent executing
    /// a proposal (building ours or checking the leader's). The timeouts exist to notice a
    /// silent leader or a stuck view, and time during which this node could not listen is
    /// neither: without this, a node that took longer than 2Δ to check a large block would
    /// nullify a view whose proposal it had just found valid. The deferral is bounded by
    /// the execution time of one block, which the genesis block limits and the proposers'
    /// pace (`app::Pace`) bound.
    fn defer_timers(&mut self, spent: Duration) {
        if spent < DEFER_TIMERS_MIN || self.timers.is_empty() {
            return;
        }
        let timers = std::mem::take(&mut self.timers);
        self.timers = timers
            .into_iter()
            .map(|Reverse(mut t)| {
                t.at += spent;
                Reverse(t)
            })
            .collect();
    }

    fn propose_now(&mut self) -> anyhow::Result<()> {
        let mut inputs = VecDeque::new();
        self.propose_now_into(&mut inputs)?;
        while let Some(i) = inputs.pop_front() {
            self.step(i)?;
        }
        Ok(())
    }

    fn propose_now_into(&mut self, inputs: &mut VecDeque<Input>) -> anyhow::Result<()> {
        let Some(p) = self.pending_propose.take() else {
            return Ok(());
        };
        if p.view != self.core.view() {
            return Ok(()); // the view moved on
        }
        let Some(me) = self.core.index() else {
            return Ok(());
        };
        let started = self.rt.now();
        // Built on a parent not yet committed, on its speculative result (R15).
        let pipelined = p.parent.digest != self.app.ledger.tip().hash
            && self.app.can_execute_on(&p.parent.digest);
        let built = self
            .app
            .build(self.core.epoch(), p.view, me, &p.parent, self.now_ms());
        let spent = self.rt.now().saturating_duration_since(started);
        self.defer_timers(spent);
        match built {
            Ok(block) => {
                if pipelined {
                    self.proposals_pipelined += 1;
                }
                tracing::debug!(
                    view = p.view.0,
                    height = block.height.0,
                    took_ms = spent.as_millis() as u64,
                    us_per_tx = self.app.pace.us_per_tx().unwrap_or(0.0),
                    "proposed"
                );
                inputs.push_back(Input::Proposed { block })
            }
            Err(e) => tracing::warn!(view = p.view.0, error = %e, "could not build a proposal"),
        }
        Ok(())
    }
}

/// Ask `peer` for the transactions `missing` (in requests of at most
/// [`TX_FETCH_HASHES_MAX`] hashes, at most [`TX_FETCH_ROUNDS_MAX`] rounds each); returns
/// those whose hash was asked for. An error if an answer does not decode or brings none
/// of what was asked.
async fn fetch_txs(
    suite: chancery_core::suite::Suite,
    net: &dyn Network,
    peer: &PeerName,
    missing: Vec<TxHash>,
) -> Result<Vec<Transaction>, String> {
    let mut got = Vec::new();
    for chunk in missing.chunks(TX_FETCH_HASHES_MAX) {
        let mut want: Vec<TxHash> = chunk.to_vec();
        for _ in 0..TX_FETCH_ROUNDS_MAX {
            if want.is_empty() {
                break;
            }
            let req = SyncRequest::Txs {
                hashes: want.clone(),
            };
            let bytes = net
                .request(peer, Bytes::from(codec::encode(&req)))
                .await
                .map_err(|e| e.to_string())?;
            let SyncResponse::Txs { txs } =
                codec::decode_in::<SyncResponse>(suite, &bytes).map_err(|e| e.to_string())?
            else {
                return Err("expected transactions in the answer".into());
            };
            let before = want.len();
            for b in txs {
                let t = Transaction::from_bytes(suite, &b).map_err(|e| e.to_string())?;
                let h = t.hash();
                if let Some(pos) = want.iter().position(|w| *w == h) {
                    want.swap_remove(pos);
                    got.push(t);
                }
            }
            if want.len() == before {
                return Err(format!(
                    "the proposer sent none of the {before} transactions asked for"
                ));
            }
        }
        if !want.is_empty() {
            return Err(format!(
                "{} transactions still missing after {TX_FETCH_ROUNDS_MAX} requests",
                want.len()
            ));
        }
    }
    Ok(got)
}

/// The consensus core over the shared signature cache ([`CachedVerifier`]).
fn new_core(
    suite: chancery_core::suite::Suite,
    cfg: CoreConfig,
    restored: Vec<Vote>,
    cache: &Arc<SigCache>,
) -> anyhow::Result<Core> {
    Core::with_verifier(
        cfg,
        restored,
        Box::new(CachedVerifier::new(cache.clone())),
        Box::new(crate::app::KernelBinding { suite }),
    )
    .map_err(|e| anyhow::anyhow!("consensus configuration: {e}"))
}

/// A batch of consensus messages whose pre-check is over (done, refused or lost).
pub struct Prechecked {
    /// The pre-check's sequence number.
    pub seq: u64,
    /// The messages, unchanged.
    pub list: ConsensusBatch,
}

/// Sends its messages back to the driver when dropped: after the pre-check ran, and also
/// if the pool refused the job, dropped it unrun or the check panicked, so the core gets
/// every batch. `precheck_tx` has room for every batch in flight (`SIG_PRECHECKS_MAX`).
struct PrecheckReply {
    seq: u64,
    list: Option<ConsensusBatch>,
    out: mpsc::Sender<Prechecked>,
}

impl Drop for PrecheckReply {
    fn drop(&mut self) {
        if let Some(list) = self.list.take() {
            // After the driver stops nothing is owed.
            let _ = self.out.try_send(Prechecked {
                seq: self.seq,
                list,
            });
        }
    }
}

/// A peer's transaction batch after the checks done off the driver: the decoded
/// transactions and their signature verdicts, or why the batch is invalid.
pub struct GossipChecked {
    /// The sender.
    pub from: PeerName,
    /// The transactions and verdicts, or the reason the batch does not decode.
    pub result: Result<(Vec<Transaction>, chancery_mempool::Verdicts), String>,
}

/// Decode a gossiped batch and check its signatures (runs on the blocking pool).
pub fn check_gossip(
    chain_id: &chancery_core::ids::ChainId,
    suite: chancery_core::suite::Suite,
    from: PeerName,
    payload: &[u8],
) -> GossipChecked {
    match codec::decode_in::<TxBatch>(suite, payload) {
        Ok(batch) => check_gossip_batch(chain_id, suite, from, batch),
        Err(e) => GossipChecked {
            from,
            result: Err(format!("undecodable transaction batch: {e}")),
        },
    }
}

/// [`check_gossip`] of a batch already decoded.
pub fn check_gossip_batch(
    chain_id: &chancery_core::ids::ChainId,
    suite: chancery_core::suite::Suite,
    from: PeerName,
    batch: TxBatch,
) -> GossipChecked {
    let result = batch
        .0
        .iter()
        .map(|b| {
            Transaction::from_bytes(suite, b)
                .map_err(|e| format!("undecodable transaction in a batch: {e}"))
        })
        .collect::<Result<Vec<Transaction>, String>>()
        .map(|txs| {
            let verdicts = chancery_mempool::Verdicts::compute(chain_id, &txs);
            (txs, verdicts)
        });
    GossipChecked { from, result }
}

/// Transactions gossiped between nodes: canonical transaction bytes.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
#[bincode(decode_context = "chancery_core::suite::Suite")]
pub struct TxBatch(pub Vec<Vec<u8>>);

impl codec::Canonical for TxBatch {
    const NAME: &'static str = "transaction batch";
    const BYTES_MAX: usize = TX_BATCH_BYTES_MAX;
    fn validate(&self) -> Result<(), codec::ValidationError> {
        codec::check::list("txs", &self.0, GOSSIP_TXS_MAX)
    }
}

/// One line on a consensus message for the trace log (what, which view, which block).
fn describe_message(m: &Message) -> String {
    let short = |d: &Digest| d.to_hex()[..8].to_string();
    match m {
        Message::Proposal(p) => format!(
            "proposal view {} height {} block {} on {} (view {}) payload {} B nullifications {} parent_cert {}",
            p.proposal.block.view.0,
            p.proposal.block.height.0,
            short(&p.proposal.block.digest),
            short(&p.proposal.block.parent),
            p.proposal.parent_view.0,
            p.proposal.block.payload.len(),
            p.nullifications.len(),
            p.parent_cert.is_some()
        ),
        Message::Vote(v) => format!(
            "vote {:?} view {} block {} by {}",
            v.kind,
            v.view.0,
            short(&v.block),
            v.signer
        ),
        Message::Certificate(c) => format!(
            "certificate {:?} view {} block {} ({} signatures)",
            c.kind,
            c.view.0,
            short(&c.block),
            c.signatures.len()
        ),
        Message::BlockRequest { digest } => format!("block request {}", short(digest)),
        Message::Block(p) => format!("block view {} {}", p.block.view.0, short(&p.block.digest)),
        Message::Evidence(_) => "evidence".to_string(),
    }
}

/// One line on a core input for the trace log.
fn describe_input(suite: chancery_core::suite::Suite, input: &Input) -> String {
    match input {
        Input::Messages(list) => {
            let parts: Vec<String> = list
                .iter()
                .map(|(from, bytes)| match Message::decode(suite, bytes) {
                    Ok(m) => format!("from {from}: {}", describe_message(&m)),
                    Err(e) => format!("from {from}: undecodable ({e})"),
                })
                .collect();
            format!("messages [{}]", parts.join("; "))
        }
        Input::Message { from, bytes } => match Message::decode(suite, bytes) {
            Ok(m) => format!("message from {from}: {}", describe_message(&m)),
            Err(e) => format!("message from {from}: undecodable ({e})"),
        },
        other => format!("{other:?}").chars().take(200).collect(),
    }
}

/// One line on a core effect for the trace log.
fn describe_effect(e: &Effect) -> String {
    match e {
        Effect::Send { to, message } => format!("send to {to}: {}", describe_message(message)),
        Effect::Broadcast { message } => format!("broadcast {}", describe_message(message)),
        Effect::Validate { block, parent } => format!(
            "validate view {} height {} block {} on {}",
            block.view.0,
            block.height.0,
            &block.digest.to_hex()[..8],
            &parent.digest.to_hex()[..8]
        ),
        other => format!("{other:?}").chars().take(200).collect(),
    }
}

/// The handler that answers peers' catch-up requests from the ledger, within the
/// genesis-derived wire limits.
pub fn sync_handler(
    ledger: Arc<chancery_ledger::Ledger>,
    recent: Arc<RecentTxs>,
    snapshots: crate::statesync::SnapshotOffers,
    wire: chancery_net::WireLimits,
) -> Arc<dyn chancery_net::RequestHandler> {
    Arc::new(move |_: &PeerName, req: Bytes| -> Option<Bytes> {
        sync::answer(
            &ledger,
            &recent,
            &snapshots,
            &req,
            wire.sync_blocks_bytes_max,
        )
        .map(Bytes::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_core::block::BlockHeader;
    use chancery_core::cert::{Certificate, VoteKind};
    use chancery_core::ids::TimestampMs;
    use chancery_ledger::testing::fixture::Fixture;
    use chancery_ledger::Ledger;
    use chancery_net::{MemHub, MemNetwork};
    use chancery_storage::MemStore;

    pub(super) struct Rig {
        pub(super) drv: Driver,
        events: broadcast::Receiver<Event>,
        status: watch::Receiver<NodeStatus>,
        pub(super) _peers: Vec<(MemNetwork, mpsc::Receiver<Inbound>)>,
    }

    pub(super) fn rig(fx: &Fixture) -> Rig {
        rig_with(fx, Arc::new(MemStore::new()), None)
    }

    fn rig_with(fx: &Fixture, store: Arc<dyn Store>, sign_mark: Option<SignMarkStart>) -> Rig {
        try_rig(fx, store, sign_mark).expect("driver")
    }

    pub(super) fn try_rig(
        fx: &Fixture,
        store: Arc<dyn Store>,
        sign_mark: Option<SignMarkStart>,
    ) -> anyhow::Result<Rig> {
        try_rig_answering(fx, store, sign_mark, chancery_net::no_requests())
    }

    /// A rig whose peer 1 answers requests with `answers`.
    pub(super) fn rig_answering(
        fx: &Fixture,
        answers: Arc<dyn chancery_net::RequestHandler>,
    ) -> Rig {
        try_rig_answering(fx, Arc::new(MemStore::new()), None, answers).expect("driver")
    }

    fn try_rig_answering(
        fx: &Fixture,
        store: Arc<dyn Store>,
        sign_mark: Option<SignMarkStart>,
        answers: Arc<dyn chancery_net::RequestHandler>,
    ) -> anyhow::Result<Rig> {
        let ledger = Arc::new(Ledger::open(store.clone(), &fx.genesis).expect("ledger"));
        // As the node starts: the set that finalizes the next height.
        let set = ledger.validator_set_at(ledger.tip().height.next())?;
        let mempool = chancery_mempool::Mempool::new(
            fx.genesis.chain_id(),
            chancery_mempool::MempoolConfig::default(),
        )
        .expect("mempool");
        let app = App::new(
            ledger,
            mempool,
            fx.genesis.params.block_txs_max as usize,
            fx.genesis.params.block_bytes_max as usize,
            Duration::from_millis(50),
        );
        let names: Vec<PeerName> = set
            .validators
            .iter()
            .map(|v| PeerName::from(v.name.as_str()))
            .collect();
        let hub = MemHub::new(names.clone(), chancery_net::Limits::default());
        let (net, inbound) = hub.join(names[0].clone(), chancery_net::no_requests());
        let peers = names[1..]
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let handler = if i == 0 {
                    answers.clone()
                } else {
                    chancery_net::no_requests()
                };
                hub.join(n.clone(), handler)
            })
            .collect();
        let (_cmd_tx, commands) = mpsc::channel(4);
        let (events, events_rx) = broadcast::channel(64);
        let (status, status_rx) = watch::channel(NodeStatus::default());
        let drv = Driver::new(DriverParts {
            app,
            set,
            key: Some(fx.validators[0].clone()),
            delta_ms: 500,
            heartbeat_ms: 0,
            net: Arc::new(net),
            inbound,
            commands,
            store,
            events,
            status,
            sign_mark,
            recent: Arc::new(RecentTxs::new()),
            node_config: None,
            config_updates: None,
            runtime: crate::runtime::TokioRuntime::shared(),
        })?;
        Ok(Rig {
            drv,
            events: events_rx,
            status: status_rx,
            _peers: peers,
        })
    }

    /// An empty kernel block at `height` on `parent` whose roots repeat the genesis state
    /// (valid on top of an empty chain).
    fn empty_block(fx: &Fixture, ledger: &Ledger, height: u64, parent: Digest) -> Block {
        let tip = ledger.tip();
        let mut header: BlockHeader = fx.header(
            Height(height),
            parent,
            TimestampMs(tip.time.0 + 1000 * height),
        );
        header.log_size = tip.log_size;
        header.log_root = tip.log_root;
        header.state_root = tip.state_root;
        Block {
            header,
            txs: Vec::new(),
        }
    }

    fn cert_for(view: View, digest: Digest) -> Certificate {
        Certificate {
            kind: VoteKind::Finalize,
            epoch: Epoch(0),
            view,
            block: digest,
            signatures: Vec::new(),
        }
    }

    pub(super) fn finalized(block: CBlock, finalization: Certificate) -> Effect {
        Effect::Finalized {
            block,
            finalization,
        }
    }

    fn announced(events: &mut broadcast::Receiver<Event>) -> Vec<Height> {
        let mut out = Vec::new();
        while let Ok(Event::Block { height, .. }) = events.try_recv() {
            out.push(height);
        }
        out
    }

    /// A finalized block from peers that could not be applied: the node keeps running,
    /// applies and announces nothing, counts it, and falls back to block sync.
    fn assert_refused_and_synced(r: &mut Rig, res: anyhow::Result<()>) {
        assert!(res.is_ok(), "the node stopped: {:?}", res.err());
        assert_eq!(r.drv.app.ledger.tip().height, Height(0));
        assert!(announced(&mut r.events).is_empty());
        assert_eq!(r.drv.finalized_refused, 1);
        assert!(r.drv.sync_wanted, "falls back to block sync");
    }

    #[test]
    fn a_finalized_block_whose_payload_does_not_decode_does_not_stop_the_node() {
        let fx = Fixture::new();
        let mut r = rig(&fx);
        let digest = Digest([7; 32]);
        let block = CBlock {
            digest,
            parent: Digest::ZERO,
            height: Height(1),
            view: View(1),
            payload: vec![1, 2, 3],
        };
        let res = r.drv.effect(
            finalized(block, cert_for(View(1), digest)),
            &mut VecDeque::new(),
        );
        assert_refused_and_synced(&mut r, res);
    }

    #[test]
    fn a_finalized_payload_that_hashes_elsewhere_is_not_announced() {
        let fx = Fixture::new();
        let mut r = rig(&fx);
        let tip = r.drv.app.ledger.tip().hash;
        let real = empty_block(&fx, &r.drv.app.ledger, 1, tip);
        let mut forged = real.clone();
        forged.header.time = TimestampMs(forged.header.time.0 + 1);
        // The certificate and the consensus digest name the real block; the payload is
        // another block.
        let block = CBlock {
            digest: real.header.hash(chancery_core::suite::Suite::default()),
            parent: tip,
            height: Height(1),
            view: View(1),
            payload: codec::encode(&forged),
        };
        let res = r
            .drv
            .effect(finalized(block, fx.finalize(&real)), &mut VecDeque::new());
        assert_refused_and_synced(&mut r, res);
    }

    #[test]
    fn a_finalized_run_whose_links_break_does_not_stop_the_node() {
        let fx = Fixture::new();
        let mut r = rig(&fx);
        let tip = r.drv.app.ledger.tip().hash;
        let b1 = empty_block(&fx, &r.drv.app.ledger, 1, tip);
        // Height 2 does not name b1 as its parent: the run's link is broken.
        let b2 = empty_block(&fx, &r.drv.app.ledger, 2, Digest([9; 32]));
        let c2 = fx.finalize(&b2);
        // b1 is finalized by b2's certificate (a descendant), so it waits first.
        let res = r.drv.effect(
            finalized(
                crate::app::to_consensus(chancery_core::suite::Suite::default(), &b1),
                c2.clone(),
            ),
            &mut VecDeque::new(),
        );
        assert!(res.is_ok(), "{:?}", res.err());
        let res = r.drv.effect(
            finalized(
                crate::app::to_consensus(chancery_core::suite::Suite::default(), &b2),
                c2,
            ),
            &mut VecDeque::new(),
        );
        assert_refused_and_synced(&mut r, res);
    }

    #[test]
    fn a_good_finalized_block_is_applied_and_announced_once() {
        let fx = Fixture::new();
        let mut r = rig(&fx);
        let tip = r.drv.app.ledger.tip().hash;
        let b1 = empty_block(&fx, &r.drv.app.ledger, 1, tip);
        let res = r.drv.effect(
            finalized(
                crate::app::to_consensus(chancery_core::suite::Suite::default(), &b1),
                fx.finalize(&b1),
            ),
            &mut VecDeque::new(),
        );
        assert!(res.is_ok(), "{:?}", res.err());
        assert_eq!(r.drv.app.ledger.tip().height, Height(1));
        assert_eq!(announced(&mut r.events), vec![Height(1)]);
        assert_eq!(r.drv.finalized_refused, 0);
    }

    #[test]
    fn finalized_blocks_over_the_waiting_limit_are_counted_and_synced() {
        let fx = Fixture::new();
        let mut r = rig(&fx);
        let tip = r.drv.app.ledger.tip().hash;
        let b1 = empty_block(&fx, &r.drv.app.ledger, 1, tip);
        let later = cert_for(View(5), Digest([5; 32]));
        for _ in 0..FINALIZED_WAITING_MAX {
            r.drv
                .finalized_waiting
                .push(FinalBlock::new(b1.clone(), later.clone()));
        }
        let res = r.drv.effect(
            finalized(
                crate::app::to_consensus(chancery_core::suite::Suite::default(), &b1),
                later,
            ),
            &mut VecDeque::new(),
        );
        assert!(res.is_ok(), "{:?}", res.err());
        assert_eq!(r.drv.finalized_waiting.len(), FINALIZED_WAITING_MAX);
        assert_eq!(r.drv.finalized_waiting_overflow, 1);
        assert!(r.drv.sync_wanted, "fetched again by block sync");
    }

    fn vote(fx: &Fixture, view: u64) -> Vote {
        Vote::sign(
            fx.genesis.chain_id(),
            Epoch(0),
            View(view),
            VoteKind::Nullify,
            Digest::ZERO,
            0,
            &fx.validators[0],
        )
    }

    /// Pruning our vote records changes nothing a restart reads: the votes above the
    /// finalized root and the highest vote (the signing mark's floor) are the same before
    /// and after, so a validator restarted after pruning signs exactly what it would have
    /// signed without it (and never a view it voted in).
    #[test]
    fn pruned_vote_records_leave_what_a_restart_reads_unchanged() {
        let fx = Fixture::new();
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        Ledger::open(store.clone(), &fx.genesis).expect("ledger");
        let mut b = WriteBatch::new();
        for (epoch, views) in [(0u64, 1..=20u64), (1, 1..=12)] {
            for view in views {
                let v = Vote::sign(
                    fx.genesis.chain_id(),
                    Epoch(epoch),
                    View(view),
                    VoteKind::Nullify,
                    Digest::ZERO,
                    0,
                    &fx.validators[0],
                );
                b.put(Column::Meta, vote_key(&v), Message::Vote(v).encode());
            }
        }
        store.write(b).expect("write");
        let root = View(7);
        let views = |s: &dyn Store| -> Vec<u64> {
            restored_votes(chancery_core::suite::Suite::default(), s, 1, root)
                .expect("restore")
                .iter()
                .map(|v| v.view.0)
                .collect()
        };
        let before = (
            views(&*store),
            highest_own_vote(chancery_core::suite::Suite::default(), &*store, 1).expect("highest"),
        );
        prune_votes(&*store, 1, root).expect("prune");
        let after = (
            views(&*store),
            highest_own_vote(chancery_core::suite::Suite::default(), &*store, 1).expect("highest"),
        );
        assert_eq!(before, after);
        assert_eq!(after.0, (8..=12).collect::<Vec<u64>>());
        // What went: all of epoch 0 and epoch 1 below the root; the root's own vote stays.
        let left = store
            .scan(
                Column::Meta,
                VOTE_PREFIX,
                Some(b"consensus/vote0"),
                false,
                1000,
            )
            .expect("scan");
        assert_eq!(left.len(), 6, "views 7..=12 of epoch 1");
        assert_eq!(
            highest_own_vote(chancery_core::suite::Suite::default(), &*store, 0).expect("highest"),
            None
        );
        // Nothing else in Meta is touched (the ledger's records, the schema key).
        assert!(Ledger::open(store.clone(), &fx.genesis).is_ok());
    }

    fn store_with_vote(fx: &Fixture, view: u64) -> Arc<dyn Store> {
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        // The ledger's genesis state first, as a node's database has it.
        Ledger::open(store.clone(), &fx.genesis).expect("ledger");
        let v = vote(fx, view);
        let mut b = WriteBatch::new();
        b.put(Column::Meta, vote_key(&v), Message::Vote(v).encode());
        store.write(b).expect("write");
        store
    }

    fn mark_dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("chancery-driver-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        d.join("consensus.key.sign-mark")
    }

    fn mark(view: u64) -> SignMark {
        SignMark {
            epoch: 0,
            view: View(view),
        }
    }

    #[test]
    fn a_database_behind_the_signing_mark_sets_the_sign_floor() {
        let fx = Fixture::new();
        let path = mark_dir("behind");
        signmark::write(&path, mark(50)).expect("mark");
        let start = |allow_below| {
            Some(SignMarkStart {
                path: path.clone(),
                allow_below,
            })
        };
        let r = rig_with(&fx, store_with_vote(&fx, 5), start(false));
        assert_eq!(r.drv.core_cfg.sign_floor, Some(View(50)));
        let r = rig_with(&fx, store_with_vote(&fx, 5), start(true));
        assert_eq!(r.drv.core_cfg.sign_floor, None, "the operator's flag");
        // A database at the mark: no floor.
        let r = rig_with(&fx, store_with_vote(&fx, 50), start(false));
        assert_eq!(r.drv.core_cfg.sign_floor, None);
    }

    #[test]
    fn a_missing_mark_is_created_from_the_database_and_votes_raise_it_first() {
        let fx = Fixture::new();
        let path = mark_dir("raise");
        let mut r = rig_with(
            &fx,
            store_with_vote(&fx, 7),
            Some(SignMarkStart {
                path: path.clone(),
                allow_below: false,
            }),
        );
        assert_eq!(r.drv.core_cfg.sign_floor, None);
        assert_eq!(signmark::read(&path).expect("mark"), Some(mark(7)));
        let res = r.drv.effect(
            Effect::Persist {
                id: 999,
                vote: vote(&fx, 9),
            },
            &mut VecDeque::new(),
        );
        assert!(res.is_ok(), "{:?}", res.err());
        // The file reserves views ahead; the database records the reservation with the vote.
        let reserved = mark(9 + signmark::SIGN_MARK_RESERVE_VIEWS);
        assert_eq!(signmark::read(&path).expect("mark"), Some(reserved));
        // A vote within the reservation does not write the file again.
        let res = r.drv.effect(
            Effect::Persist {
                id: 1000,
                vote: vote(&fx, 10),
            },
            &mut VecDeque::new(),
        );
        assert!(res.is_ok(), "{:?}", res.err());
        assert_eq!(signmark::read(&path).expect("mark"), Some(reserved));
        // Restarted on the same (intact) database: no floor, although its votes are below
        // the file's reservation.
        let store = r.drv.store.clone();
        drop(r);
        let again = rig_with(
            &fx,
            store,
            Some(SignMarkStart {
                path: path.clone(),
                allow_below: false,
            }),
        );
        assert_eq!(again.drv.core_cfg.sign_floor, None, "an intact database");
        drop(again);
        // The same mark with a database that lost those votes: the floor is the reservation.
        let lost = rig_with(
            &fx,
            store_with_vote(&fx, 7),
            Some(SignMarkStart {
                path: path.clone(),
                allow_below: false,
            }),
        );
        assert_eq!(lost.drv.core_cfg.sign_floor, Some(reserved.view));
        drop(lost);
        // A garbage mark refuses to start, naming the file.
        std::fs::write(&path, "garbage").expect("write");
        let e = try_rig(
            &fx,
            store_with_vote(&fx, 7),
            Some(SignMarkStart {
                path: path.clone(),
                allow_below: false,
            }),
        )
        .err()
        .expect("a mark that does not parse refuses to start");
        assert!(e.to_string().contains("consensus.key.sign-mark"), "{e}");
    }

    /// A node that has heard no validator's height does not know it is behind: not ready
    /// (it was, at height 0, with a chain far ahead); f + 1 claims make it ready.
    #[test]
    fn a_node_that_heard_no_peer_height_is_not_ready() {
        let fx = Fixture::new();
        let mut r = rig(&fx);
        r.drv.publish_status();
        let s = r.status.borrow().clone();
        assert!(!s.peer_height_vouched && !s.ready(), "{s:?}");
        let claim = |h: u64| Ok(SyncResponse::Status { height: Height(h) });
        r.drv.on_sync(PeerName::from("v1"), claim(0)).expect("sync");
        r.drv.publish_status();
        assert!(!r.status.borrow().ready(), "one claim is not f + 1");
        r.drv.on_sync(PeerName::from("v2"), claim(0)).expect("sync");
        r.drv.publish_status();
        let s = r.status.borrow().clone();
        assert!(s.peer_height_vouched && s.ready(), "{s:?}");
    }

    #[test]
    fn a_lying_peer_claiming_a_huge_height_does_not_make_the_node_unready() {
        let fx = Fixture::new();
        let mut r = rig(&fx);
        let liar = PeerName::from("v1");
        let claim = |h: u64| Ok(SyncResponse::Status { height: Height(h) });
        r.drv.on_sync(liar, claim(1_000_000_000)).expect("sync");
        r.drv.on_sync(PeerName::from("v2"), claim(0)).expect("sync");
        r.drv.on_sync(PeerName::from("v3"), claim(0)).expect("sync");
        r.drv.publish_status();
        let s = r.status.borrow().clone();
        assert!(
            s.ready(),
            "one lying peer makes the node unready: height {}, peer height {}",
            s.height,
            s.peer_height
        );
        // Two validators (f + 1) ahead: the node is behind, not ready.
        r.drv.on_sync(PeerName::from("v2"), claim(5)).expect("sync");
        r.drv.on_sync(PeerName::from("v3"), claim(5)).expect("sync");
        r.drv.publish_status();
        let s = r.status.borrow().clone();
        assert_eq!(s.peer_height, 5);
        assert!(!s.ready());
    }

    /// Issue 14, finding 5: a peer's transaction batch is checked off the driver, its good
    /// transactions admitted without a second signature check, and a peer that gossips a
    /// bad signature is reported (it loses points in the network's score).
    #[test]
    fn gossip_with_a_bad_signature_is_checked_off_the_driver_and_reports_the_peer() {
        use chancery_core::record::{Record, RegisterMember, Role};
        let fx = Fixture::new();
        let mut r = rig(&fx);
        let admin = fx.signer("mof", Role::Admin).clone();
        let member = |i: u8| {
            Record::RegisterMember(RegisterMember {
                agency: chancery_core::AgencyId("mof".into()),
                key: chancery_core::crypto::SecretKey::from_seed([40 + i; 32]).public(),
                name: format!("member {i}"),
                roles: vec![Role::Archivist],
            })
        };
        let good = fx.tx(&admin, 0, member(0));
        let mut bad = fx.tx(&admin, 1, member(1));
        bad.signature.0[9] ^= 1;
        let batch = TxBatch(vec![good.to_bytes(), bad.to_bytes()]);
        let peer = PeerName::from("v1");
        let checked = check_gossip(
            &fx.genesis.chain_id(),
            chancery_core::suite::Suite::default(),
            peer.clone(),
            &codec::encode(&batch),
        );
        let before = r.drv.app.mempool.signatures_checked();
        r.drv.gossip_checking = 1;
        r.drv.on_gossip_checked(checked).expect("admitted");
        assert_eq!(r.drv.gossip_checking, 0);
        assert_eq!(
            r.drv.app.mempool.signatures_checked(),
            before,
            "the driver checked signatures again"
        );
        assert!(
            r.drv.app.mempool.contains(&good.hash()),
            "the good transaction was not admitted"
        );
        assert!(!r.drv.app.mempool.contains(&bad.hash()));
        let scores = r.drv.net.status().borrow().scores.clone();
        assert!(
            scores.get(&peer).is_some_and(|s| *s < 0),
            "the peer that gossiped a bad signature was not reported: {scores:?}"
        );
        // A batch that does not decode is reported too, and admits nothing.
        let junk = check_gossip(
            &fx.genesis.chain_id(),
            chancery_core::suite::Suite::default(),
            PeerName::from("v2"),
            b"junk",
        );
        assert!(junk.result.is_err());
        r.drv.on_gossip_checked(junk).expect("refused");
        let scores = r.drv.net.status().borrow().scores.clone();
        assert!(
            scores.get(&PeerName::from("v2")).is_some_and(|s| *s < 0),
            "{scores:?}"
        );
    }

    /// A nullify vote of `view` by validator `i`, as validator `i` sends it.
    fn nullify_vote(fx: &Fixture, i: usize, view: u64) -> Vote {
        Vote::sign(
            fx.genesis.chain_id(),
            Epoch(0),
            View(view),
            VoteKind::Nullify,
            Digest::ZERO,
            i as u16,
            &fx.validators[i],
        )
    }

    fn from(i: usize, v: Vote) -> (Peer, Vec<u8>) {
        (i as u16, Message::Vote(v).encode())
    }

    /// A rig whose core has started (view 1; validator 0 is us, 1 leads view 1), with two
    /// verify threads whatever the machine has: a thread is free for each pre-check even
    /// while the previous job (which replies just before it ends) still counts as busy.
    fn started(fx: &Fixture) -> Rig {
        let mut r = rig(fx);
        r.drv.verify =
            Arc::new(crate::verifypool::VerifyPool::new(2, GOSSIP_CHECKS_MAX).expect("pool"));
        r.drv.step(Input::Start).expect("start");
        assert_eq!(r.drv.core.view(), View(1));
        r
    }

    /// Hand `list` to the pre-check, wait for it, and step the core with what comes back.
    fn precheck_and_step(r: &mut Rig, list: ConsensusBatch) {
        let sent = list.clone();
        r.drv.precheck(list).expect("precheck");
        assert_eq!(r.drv.prechecks.len(), 1, "not handed to the verify pool");
        let back = r
            .drv
            .precheck_rx
            .blocking_recv()
            .expect("the pre-check replies");
        assert_eq!(back.list, sent, "the messages come back unchanged");
        r.drv.on_prechecked(back).expect("step");
        assert!(r.drv.prechecks.is_empty());
    }

    fn reported(r: &Rig, i: usize) -> bool {
        let scores = r.drv.net.status().borrow().scores.clone();
        scores.get(&r.drv.names[i]).is_some_and(|s| *s < 0)
    }

    /// Issue 17: good votes are verified on the verify pool; the core forms the certificate
    /// with every signature found in the cache (none verified on the driver).
    #[test]
    fn prechecked_votes_form_a_certificate_with_no_signature_check_on_the_driver() {
        let fx = Fixture::new();
        let mut r = started(&fx);
        let list = (1..4).map(|i| from(i, nullify_vote(&fx, i, 1))).collect();
        precheck_and_step(&mut r, list);
        assert_eq!(r.drv.core.view(), View(2), "the nullification did not form");
        let c = r.drv.sig_cache.counters();
        assert_eq!(c.prechecked, 3);
        assert_eq!(c.misses, 0, "signatures verified on the driver");
        assert_eq!(c.hits, 3);
        r.drv.publish_status();
        let s = r.status.borrow().clone();
        assert_eq!(
            (
                s.consensus_sigs_prechecked,
                s.consensus_sig_cache_hits,
                s.consensus_sig_cache_misses,
                s.consensus_prechecks_bypassed
            ),
            (3, 3, 0, 0)
        );
    }

    /// A bad vote signature is not cached by the pre-check: the core verifies it itself,
    /// refuses the vote and reports the sender, as without a pre-check.
    #[test]
    fn a_prechecked_vote_with_a_bad_signature_is_refused_and_its_sender_reported() {
        let fx = Fixture::new();
        let mut r = started(&fx);
        let mut bad = nullify_vote(&fx, 1, 1);
        bad.signature.0[7] ^= 1;
        let list = vec![
            from(1, bad),
            from(2, nullify_vote(&fx, 2, 1)),
            from(3, nullify_vote(&fx, 3, 1)),
        ];
        precheck_and_step(&mut r, list);
        assert!(
            reported(&r, 1),
            "the sender of the bad vote was not reported"
        );
        assert!(!reported(&r, 2) && !reported(&r, 3));
        assert_eq!(r.drv.core.view(), View(1), "a bad vote was counted");
        let c = r.drv.sig_cache.counters();
        assert_eq!(
            (c.hits, c.misses),
            (2, 1),
            "the bad one is checked by the core"
        );
        // The good votes were counted: one more forms the certificate.
        precheck_and_step(&mut r, vec![from(1, nullify_vote(&fx, 1, 1))]);
        assert_eq!(r.drv.core.view(), View(2));
    }

    /// Bytes that do not decode pass through the pre-check unchanged; the core reports
    /// their sender as before.
    #[test]
    fn an_undecodable_message_reaches_the_core_unchanged_and_is_reported() {
        let fx = Fixture::new();
        let mut r = started(&fx);
        let list = vec![
            (2, b"not a message".to_vec()),
            from(1, nullify_vote(&fx, 1, 1)),
        ];
        precheck_and_step(&mut r, list);
        assert!(reported(&r, 2), "the sender of junk was not reported");
        assert!(!reported(&r, 1));
        let c = r.drv.sig_cache.counters();
        assert_eq!((c.prechecked, c.hits, c.misses), (1, 1, 0));
    }

    /// With `SIG_PRECHECKS_MAX` pre-checks in flight the core is stepped at once and
    /// verifies the signatures itself.
    #[test]
    fn with_too_many_prechecks_in_flight_the_core_is_stepped_at_once() {
        let fx = Fixture::new();
        let mut r = started(&fx);
        for seq in 0..SIG_PRECHECKS_MAX as u64 {
            r.drv.prechecks.push_back((1000 + seq, None));
        }
        let list = (1..4).map(|i| from(i, nullify_vote(&fx, i, 1))).collect();
        r.drv.precheck(list).expect("step");
        assert_eq!(r.drv.core.view(), View(2));
        assert_eq!(r.drv.precheck_bypassed, 1);
        let c = r.drv.sig_cache.counters();
        assert_eq!((c.prechecked, c.hits, c.misses), (0, 0, 3));
    }

    /// Pre-checked batches reach the core in arrival order, whichever check ends first.
    #[test]
    fn prechecked_batches_reach_the_core_in_arrival_order() {
        let fx = Fixture::new();
        let mut r = started(&fx);
        let first = vec![from(1, nullify_vote(&fx, 1, 1))];
        let second = vec![(3, b"junk".to_vec())];
        r.drv.precheck(first).expect("precheck");
        r.drv.precheck(second).expect("precheck");
        assert_eq!(r.drv.prechecks.len(), 2);
        let mut back = [
            r.drv.precheck_rx.blocking_recv().expect("reply"),
            r.drv.precheck_rx.blocking_recv().expect("reply"),
        ];
        back.sort_by_key(|b| std::cmp::Reverse(b.seq));
        let [second, first] = back;
        r.drv.on_prechecked(second).expect("step");
        assert!(!reported(&r, 3), "the second batch overtook the first");
        assert_eq!(r.drv.prechecks.len(), 2);
        r.drv.on_prechecked(first).expect("step");
        assert!(reported(&r, 3));
        assert!(r.drv.prechecks.is_empty());
    }

    /// A job the pool refuses still gives its batch back, unchecked.
    #[test]
    fn a_refused_precheck_gives_its_messages_back() {
        let fx = Fixture::new();
        let mut r = started(&fx);
        let list = vec![from(1, nullify_vote(&fx, 1, 1))];
        drop(PrecheckReply {
            seq: 7,
            list: Some(list.clone()),
            out: r.drv.precheck_tx.clone(),
        });
        let back = r.drv.precheck_rx.blocking_recv().expect("reply");
        assert_eq!((back.seq, back.list), (7, list));
    }
}

#[cfg(test)]
mod held_parent_tests {
    //! R15, the held-parent rule, in the driver.
    use super::*;
    use chancery_consensus::{Message, Proposal, ProposalMsg};
    use chancery_core::cert::{Certificate, IndexedSignature, VoteBody, VoteKind};
    use chancery_core::ids::Epoch;
    use chancery_core::record::Role;
    use chancery_ledger::testing::fixture::{anchor, Fixture};
    use chancery_mempool::Origin;

    fn submit(a: &mut App, fx: &Fixture, seqs: std::ops::Range<u64>) {
        let key = fx.signer("mof", Role::Archivist);
        let txs = seqs
            .map(|s| fx.tx(key, s, anchor(&format!("h{s}"))))
            .collect();
        let view = crate::app::LedgerView(&a.ledger);
        for r in a.mempool.insert_batch(txs, Origin::Local, now_ms(), &view) {
            r.unwrap();
        }
    }

    fn notarization(fx: &Fixture, view: View, block: Digest, signers: &[usize]) -> Certificate {
        let body = VoteBody {
            chain_id: fx.genesis.chain_id(),
            epoch: Epoch(0),
            view,
            kind: VoteKind::Notarize,
            block,
        };
        Certificate {
            kind: VoteKind::Notarize,
            epoch: Epoch(0),
            view,
            block,
            signatures: signers
                .iter()
                .map(|&i| IndexedSignature {
                    index: i as u16,
                    signature: body.sign(&fx.validators[i]),
                })
                .collect(),
        }
    }

    /// Validator 0 never receives the proposal of view 1 (its leader sent it to the
    /// others only); it learns the notarization and fetches the block, which its core then
    /// holds. The leader of view 2 builds a full block on it. Validator 0 executes view 1's
    /// block from its core's copy and finds view 2's valid; without the rule it could not
    /// check view 2's block until view 1's was finalized, which a leader that withholds its
    /// votes can prevent forever.
    #[test]
    fn a_notarized_parent_never_checked_is_executed_from_the_cores_copy() {
        let fx = Fixture::new();
        let mut r = super::tests::rig(&fx);
        r.drv.step(Input::Start).expect("start");
        assert_eq!(r.drv.core.view(), View(1));
        let chain = fx.genesis.chain_id();
        let mut leader = crate::app::test_app(&fx);
        let genesis = BlockRef {
            digest: leader.ledger.tip().hash,
            height: Height(0),
            view: View(0),
        };
        submit(&mut leader, &fx, 0..3);
        let b1 = leader
            .build(Epoch(0), View(1), 1, &genesis, now_ms())
            .unwrap();
        submit(&mut leader, &fx, 3..5);
        let b1_ref = b1.reference();
        let b2 = leader
            .build(Epoch(0), View(2), 2, &b1_ref, now_ms())
            .unwrap();
        assert!(!b2.payload.is_empty());
        let p1 = Proposal::sign(chain, Epoch(0), View(0), b1.clone(), 1, &fx.validators[1]);
        let p2 = Proposal::sign(chain, Epoch(0), View(1), b2.clone(), 2, &fx.validators[2]);
        let n1 = notarization(&fx, View(1), b1.digest, &[1, 2, 3]);
        // The certificate moves validator 0 to view 2; view 2's proposal makes its core
        // fetch the parent; the block comes back from a peer.
        let msgs = vec![
            (1u16, Message::Certificate(n1.clone()).encode()),
            (
                2u16,
                Message::Proposal(ProposalMsg {
                    proposal: p2,
                    parent_cert: Some(n1),
                    nullifications: vec![],
                })
                .encode(),
            ),
            (1u16, Message::Block(p1).encode()),
        ];
        for m in msgs {
            r.drv.step(Input::Messages(vec![m])).expect("step");
        }
        assert_eq!(r.drv.core.view(), View(2));
        assert!(
            r.drv.core.held_block(&b1.digest).is_some(),
            "view 1's block not held"
        );
        assert_eq!(
            r.drv.parents_filled, 1,
            "view 1's block was not executed from the core"
        );
        assert!(
            r.drv.app.can_execute_on(&b2.digest),
            "view 2's block was not found valid"
        );
        assert!(r.drv.pending_validate.is_empty());
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests decode in the default suite
mod compact_tests {
    //! Proposals by transaction hash in the driver (issue 17, `compact.rs`).
    use super::tests::Rig;
    use super::*;
    use chancery_consensus::{Proposal, ProposalMsg};
    use chancery_core::ids::Epoch;
    use chancery_core::record::Role;
    use chancery_ledger::testing::fixture::{anchor, Fixture};

    fn txs(fx: &Fixture, seqs: std::ops::Range<u64>) -> Vec<Transaction> {
        let key = fx.signer("mof", Role::Archivist);
        seqs.map(|s| fx.tx(key, s, anchor(&format!("h{s}"))))
            .collect()
    }

    fn admit(a: &mut App, txs: Vec<Transaction>) {
        let view = crate::app::LedgerView(&a.ledger);
        for r in a.mempool.insert_batch(txs, Origin::Local, now_ms(), &view) {
            r.unwrap();
        }
    }

    /// Validator 1 (the leader of view 1) builds a block of `n` transactions on the
    /// genesis and signs it; returns its proposal and its compact form, and the
    /// leader's application (which holds the block's transactions).
    fn leader_proposal(fx: &Fixture, n: u64) -> (ProposalMsg, CompactProposal, App) {
        let mut leader = crate::app::test_app(fx);
        admit(&mut leader, txs(fx, 0..n));
        let genesis = BlockRef {
            digest: leader.ledger.tip().hash,
            height: Height(0),
            view: View(0),
        };
        let b1 = leader
            .build(Epoch(0), View(1), 1, &genesis, now_ms())
            .unwrap();
        let chain = fx.genesis.chain_id();
        let pm = ProposalMsg {
            proposal: Proposal::sign(chain, Epoch(0), View(0), b1, 1, &fx.validators[1]),
            parent_cert: None,
            nullifications: vec![],
        };
        let built = leader.last_built.clone().expect("built");
        assert_eq!(
            built.txs.len() as u64,
            n,
            "the block holds every transaction"
        );
        let hashes = built.txs.iter().map(|t| t.hash()).collect();
        let c = CompactProposal::of(&pm, &built.header, hashes);
        (pm, c, leader)
    }

    /// The transaction batches the peers received on the gossip channel.
    fn gossip_received(r: &mut Rig) -> Vec<Vec<TxHash>> {
        let mut out = Vec::new();
        for (_, rx) in r._peers.iter_mut() {
            while let Ok(m) = rx.try_recv() {
                if m.channel == Channel::Transactions {
                    let batch: TxBatch = codec::decode(&m.payload).expect("a batch");
                    out.push(
                        batch
                            .0
                            .iter()
                            .map(|b| chancery_core::domain::TX_HASH.hash(b))
                            .collect(),
                    );
                }
            }
        }
        out
    }

    #[test]
    fn transactions_still_pending_after_the_regossip_age_are_gossiped_again() {
        let fx = Fixture::new();
        let mut r = super::tests::rig(&fx);
        // Three admitted 3 s ago (their first gossip went nowhere: never sent here), one
        // just now.
        let old = txs(&fx, 0..3);
        let view = crate::app::LedgerView(&r.drv.app.ledger);
        let long_ago = TimestampMs(now_ms().0 - REGOSSIP_AGE_MS - 1_000);
        for res in r
            .drv
            .app
            .mempool
            .insert_batch(old.clone(), Origin::Local, long_ago, &view)
        {
            res.expect("admitted");
        }
        admit(&mut r.drv.app, txs(&fx, 3..4));
        assert!(gossip_received(&mut r).is_empty());
        r.drv.regossip();
        let want: Vec<TxHash> = old.iter().map(Transaction::hash).collect();
        let got = gossip_received(&mut r);
        assert_eq!(
            got,
            vec![want.clone(); 3],
            "each of the 3 peers gets the old three"
        );
        assert_eq!(r.drv.txs_regossiped, 3);
        // The next round sends them again (a peer may still lack them), not the young one.
        r.drv.regossip();
        assert_eq!(gossip_received(&mut r), vec![want; 3]);
    }

    #[test]
    fn gossiped_transactions_already_pending_are_not_checked_again() {
        let fx = Fixture::new();
        let mut r = super::tests::rig(&fx);
        r.drv.verify =
            Arc::new(crate::verifypool::VerifyPool::new(1, GOSSIP_CHECKS_MAX).expect("pool"));
        let all = txs(&fx, 0..3);
        admit(&mut r.drv.app, all[..2].to_vec());
        let from = r.drv.names[1].clone();
        let batch = |t: &[Transaction]| {
            Bytes::from(codec::encode(&TxBatch(
                t.iter().map(Transaction::to_bytes).collect(),
            )))
        };
        r.drv.on_tx_gossip(&from, batch(&all[..2]));
        assert_eq!(
            r.drv.gossip_checking, 0,
            "a batch of known transactions was checked"
        );
        assert_eq!(r.drv.gossip_txs_known, 2);
        // A batch with one new transaction: only that one goes to the check.
        r.drv.on_tx_gossip(&from, batch(&all));
        assert_eq!(r.drv.gossip_checking, 1);
        assert_eq!(r.drv.gossip_txs_known, 4);
        let checked = r.drv.gossip_rx.blocking_recv().expect("checked");
        let txs_checked = checked.result.as_ref().map(|(t, _)| t.clone());
        assert_eq!(txs_checked, Ok(vec![all[2].clone()]));
        r.drv.on_gossip_checked(checked).expect("admitted");
        assert!(r.drv.app.mempool.contains(&all[2].hash()));
    }

    fn inbound(r: &Rig, from: usize, payload: Vec<u8>) -> Inbound {
        Inbound {
            from: r.drv.names[from].clone(),
            channel: Channel::Consensus,
            payload: Bytes::from(payload),
        }
    }

    /// Start the fetches of every waiting proposal now, wait for the first to come back
    /// and hand it to the driver; returns how the fetch went (the count of transactions
    /// or why it failed).
    fn fetch_now(r: &mut Rig) -> Result<usize, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            r.drv.fetch_due(Instant::now() + Duration::from_secs(1));
            let fetched = r.drv.fetch_rx.recv().await.expect("the fetch returns");
            let outcome = fetched.1.as_ref().map(Vec::len).map_err(Clone::clone);
            r.drv.on_fetched(fetched).expect("fetched");
            outcome
        })
    }

    /// Wait for the pre-check the driver started and step the core with it.
    fn finish_precheck(r: &mut Rig) {
        let back = r
            .drv
            .precheck_rx
            .blocking_recv()
            .expect("the pre-check replies");
        r.drv.on_prechecked(back).expect("step");
    }

    fn started(fx: &Fixture, r: Rig) -> Rig {
        let mut r = r;
        r.drv.verify =
            Arc::new(crate::verifypool::VerifyPool::new(2, GOSSIP_CHECKS_MAX).expect("pool"));
        r.drv.step(Input::Start).expect("start");
        assert_eq!(r.drv.core.view(), View(1));
        let _ = fx;
        r
    }

    /// The block a proposal by hash names is rebuilt byte for byte from the pool, its
    /// signature checks, and the driver finds it valid, with nothing fetched.
    #[test]
    fn a_proposal_by_hash_is_rebuilt_from_the_pool_and_checked() {
        let fx = Fixture::new();
        let mut r = started(&fx, super::tests::rig(&fx));
        let (pm, c, _leader) = leader_proposal(&fx, 5);
        admit(&mut r.drv.app, txs(&fx, 0..5));
        let digest = pm.proposal.block.digest;
        let bytes = compact::encode_compact(&c);
        assert!(
            bytes.len() * 2 < Message::Proposal(pm).encode().len(),
            "the compact form is not smaller"
        );
        r.drv.on_inbound(inbound(&r, 1, bytes)).expect("inbound");
        finish_precheck(&mut r);
        assert!(
            r.drv.app.can_execute_on(&digest),
            "the rebuilt block was not checked"
        );
        assert_eq!(r.drv.compact.received, 1);
        assert_eq!(r.drv.compact.from_pool, 1);
        assert_eq!(r.drv.compact.txs_fetched, 0);
        assert!(r.drv.compact_pending.is_empty());
    }

    /// The leader's latest transactions arrive in a gossip batch with its proposal: the
    /// proposal is rebuilt from the batch at once, before the batch's signatures are
    /// checked and its transactions admitted (the block check verifies them).
    #[test]
    fn a_proposal_by_hash_is_rebuilt_from_gossip_that_came_with_it() {
        let fx = Fixture::new();
        let mut r = started(&fx, super::tests::rig(&fx));
        let (pm, c, _leader) = leader_proposal(&fx, 4);
        let digest = pm.proposal.block.digest;
        admit(&mut r.drv.app, txs(&fx, 0..1));
        let gossip = TxBatch(txs(&fx, 1..4).iter().map(Transaction::to_bytes).collect());
        let first = inbound(&r, 1, compact::encode_compact(&c));
        let second = Inbound {
            from: r.drv.names[1].clone(),
            channel: Channel::Transactions,
            payload: Bytes::from(codec::encode(&gossip)),
        };
        // Both in one turn of the loop, the proposal first: the gossip waits in the
        // driver's inbound channel, sent by peer 1.
        let me = r.drv.names[0].clone();
        r._peers[0]
            .0
            .send(&me, second.channel, second.payload)
            .expect("gossip sent");
        r.drv.on_inbound(first).expect("inbound");
        finish_precheck(&mut r);
        assert_eq!(r.drv.compact.from_pool, 1, "not rebuilt at once");
        assert!(r.drv.compact_pending.is_empty());
        assert!(
            r.drv.app.can_execute_on(&digest),
            "the rebuilt block was not checked"
        );
    }

    /// A transaction the pool lacks is fetched from the proposer, which answers from its
    /// recent proposals (`RecentTxs`, as the node's request handler does).
    #[test]
    fn a_missing_transaction_is_fetched_from_the_proposer() {
        let fx = Fixture::new();
        let (pm, c, leader) = leader_proposal(&fx, 5);
        let built = leader.last_built.clone().expect("built");
        let recent = Arc::new(RecentTxs::new());
        recent.add(built.digest, &built.txs);
        let wire = crate::startup::wire_limits(&fx.genesis);
        let handler = sync_handler(
            leader.ledger.clone(),
            recent,
            crate::statesync::SnapshotOffers::new(0),
            wire,
        );
        let mut r = started(&fx, super::tests::rig_answering(&fx, handler));
        admit(&mut r.drv.app, txs(&fx, 0..3));
        let digest = pm.proposal.block.digest;
        r.drv
            .on_inbound(inbound(&r, 1, compact::encode_compact(&c)))
            .expect("inbound");
        assert_eq!(
            r.drv.compact_pending.len(),
            1,
            "it waits for two transactions"
        );
        assert!(!r.drv.app.can_execute_on(&digest));
        let fetched = fetch_now(&mut r);
        assert!(fetched.is_ok(), "{fetched:?}");
        finish_precheck(&mut r);
        assert_eq!(
            r.drv.compact.txs_fetched, 2,
            "only the two missing were fetched"
        );
        assert_eq!(r.drv.compact.from_pool, 0);
        assert!(r.drv.compact_pending.is_empty());
        assert!(
            r.drv.app.can_execute_on(&digest),
            "the rebuilt block was not checked"
        );
    }

    /// While a proposal is being rebuilt from its hashes, the core's request for that
    /// block (it saw the block certified) is held back and the missing transactions are
    /// fetched at once: the whole block would only come a second time.
    #[test]
    fn the_cores_request_for_a_block_being_rebuilt_fetches_its_transactions_instead() {
        let fx = Fixture::new();
        let mut r = started(&fx, super::tests::rig(&fx));
        let (pm, c, _leader) = leader_proposal(&fx, 3);
        admit(&mut r.drv.app, txs(&fx, 0..2));
        r.drv
            .on_inbound(inbound(&r, 1, compact::encode_compact(&c)))
            .expect("inbound");
        let digest = pm.proposal.block.digest;
        assert!(!r.drv.compact_pending[0].fetching);
        r.drv.send(2, &Message::BlockRequest { digest });
        assert_eq!(r.drv.compact.requests_held, 1);
        assert!(r.drv.compact_pending[0].fetch_at <= Instant::now());
        assert!(
            r.drv.next_wake() <= Instant::now(),
            "the fetch is not due at once"
        );
        // A request for any other block goes out.
        r.drv.send(
            2,
            &Message::BlockRequest {
                digest: Digest([5; 32]),
            },
        );
        assert_eq!(r.drv.compact.requests_held, 1);
    }

    /// A proposer that answers a fetch with transactions it was not asked for gets
    /// nothing in: the proposal is dropped, counted, and never reaches the core.
    #[test]
    fn a_proposer_answering_with_other_transactions_gets_its_proposal_dropped() {
        let fx = Fixture::new();
        let (pm, c, _leader) = leader_proposal(&fx, 3);
        let other = txs(&fx, 10..11)[0].to_bytes();
        let liar = Arc::new(move |_: &PeerName, _: Bytes| -> Option<Bytes> {
            Some(Bytes::from(codec::encode(&SyncResponse::Txs {
                txs: vec![other.clone()],
            })))
        });
        let mut r = started(&fx, super::tests::rig_answering(&fx, liar));
        admit(&mut r.drv.app, txs(&fx, 0..2));
        r.drv
            .on_inbound(inbound(&r, 1, compact::encode_compact(&c)))
            .expect("inbound");
        let fetched = fetch_now(&mut r);
        assert!(fetched.is_err(), "the wrong answer was accepted");
        assert_eq!(r.drv.compact.failed, 1);
        assert!(r.drv.compact_pending.is_empty());
        assert!(r.drv.prechecks.is_empty(), "something reached the core");
        assert!(!r.drv.app.can_execute_on(&pm.proposal.block.digest));
    }

    /// Only the proposer may send its proposal by hash (we would ask the sender for what
    /// is missing): a validator relaying another's proposal by hash is reported, and a
    /// hash list that is not the header's is refused before anything is fetched.
    #[test]
    fn a_relayed_or_inconsistent_proposal_by_hash_is_refused_and_reported() {
        let fx = Fixture::new();
        let mut r = started(&fx, super::tests::rig(&fx));
        let (_pm, c, _leader) = leader_proposal(&fx, 3);
        r.drv
            .on_inbound(inbound(&r, 2, compact::encode_compact(&c)))
            .expect("inbound");
        assert!(r.drv.compact_pending.is_empty(), "a relayed proposal waits");
        let scores = r.drv.net.status().borrow().scores.clone();
        assert!(
            scores.get(&r.drv.names[2]).is_some_and(|s| *s < 0),
            "relay not reported"
        );
        let mut bad = c.clone();
        bad.txs.swap(0, 1);
        r.drv
            .on_inbound(inbound(&r, 1, compact::encode_compact(&bad)))
            .expect("inbound");
        assert!(
            r.drv.compact_pending.is_empty(),
            "an inconsistent list waits"
        );
        let scores = r.drv.net.status().borrow().scores.clone();
        assert!(
            scores.get(&r.drv.names[1]).is_some_and(|s| *s < 0),
            "proposer not reported"
        );
        assert_eq!(r.drv.compact.received, 1, "only the relayed one decoded");
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests decode in the default suite
mod epoch_tests {
    //! The host's side of an epoch switch (R13, docs/governance.md): the committed
    //! boundary block tells the core the next set, the host follows it, and a restart
    //! right after the boundary resumes in the new epoch at view 0.
    use super::tests::{finalized, try_rig, Rig};
    use super::*;
    use chancery_core::cert::{Certificate, VoteKind};
    use chancery_core::governance::Change;
    use chancery_core::record::{ProposeChange, Record, Role, Vote};
    use chancery_core::state::{StateKey, StateValue};
    use chancery_ledger::testing::fixture::{named_key, Fixture};
    use chancery_ledger::verify_block_txs;
    use chancery_storage::MemStore;

    /// Execute the next block with `txs` on the rig's ledger, hand it to the driver as
    /// the core's finalized block, and return the inputs the driver queued.
    fn commit(r: &mut Rig, fx: &Fixture, txs: Vec<(SecretKey, Record)>) -> VecDeque<Input> {
        let ledger = r.drv.app.ledger.clone();
        let txs: Vec<Transaction> = txs
            .into_iter()
            .map(|(k, rec)| {
                let seq = match ledger.state_value(&StateKey::Seq(k.public())).unwrap() {
                    Some(StateValue::Seq(s)) => s.0,
                    _ => 0,
                };
                fx.tx(&k, seq, rec)
            })
            .collect();
        let tip = ledger.tip();
        let height = tip.height.next();
        let time = TimestampMs(tip.time.0 + 1000);
        let checked = verify_block_txs(&ledger.chain_id(), txs.clone(), |_| None);
        let ex = ledger.execute(&checked, time, height).unwrap();
        let mut header = fx.header(height, tip.hash, time);
        ex.fill_header(&mut header);
        let block = Block { header, txs };
        let mut inputs = VecDeque::new();
        r.drv
            .effect(
                finalized(
                    crate::app::to_consensus(chancery_core::suite::Suite::default(), &block),
                    fx.finalize(&block),
                ),
                &mut inputs,
            )
            .unwrap();
        assert_eq!(ledger.tip().height, height, "the block was applied");
        inputs
    }

    /// Pass a proposal rotating v3's consensus key (all three agencies approve); returns
    /// the new key.
    fn pass_rotation(r: &mut Rig, fx: &Fixture) -> SecretKey {
        let new = named_key("v3-rotated");
        pass_rotation_of(r, fx, "v3", &new);
        new
    }

    /// Pass a proposal rotating validator `name`'s consensus key to `new`.
    fn pass_rotation_of(r: &mut Rig, fx: &Fixture, name: &str, new: &SecretKey) {
        let change = Change::RotateValidatorKeys {
            name: name.into(),
            consensus_key: Some(new.public()),
            network_key: None,
        };
        let deadline = TimestampMs(r.drv.app.ledger.tip().time.0 + 3_600_000);
        let admin = |a: &str| fx.signer(a, Role::Admin).clone();
        let propose = Record::ProposeChange(ProposeChange {
            proposal_id: "rotate".into(),
            changes: vec![change],
            deadline,
            reason: Digest([7; 32]),
        });
        let vote = || {
            Record::Vote(Vote {
                proposal_id: "rotate".into(),
                approve: true,
            })
        };
        commit(r, fx, vec![(admin("mof"), propose)]);
        commit(
            r,
            fx,
            vec![
                (admin("mof"), vote()),
                (admin("moe"), vote()),
                (admin("nhc"), vote()),
            ],
        );
    }

    #[test]
    fn the_boundary_block_switches_the_core_and_the_host_follows() {
        let fx = Fixture::new();
        let mut r = try_rig(&fx, Arc::new(MemStore::new()), None).unwrap();
        let new = pass_rotation(&mut r, &fx);
        let passed = r.drv.app.ledger.tip().height;
        let delay = fx.genesis.params.epoch_delay_blocks;
        // The delay: blocks passed+1 ..= passed+delay; the last of them is the boundary.
        for _ in 1..delay {
            let queued = commit(&mut r, &fx, vec![]);
            assert!(
                !queued
                    .iter()
                    .any(|i| matches!(i, Input::EpochChange { .. })),
                "no switch before the boundary"
            );
            assert_eq!(r.drv.core.epoch(), Epoch(0));
        }
        let mut queued = commit(&mut r, &fx, vec![]);
        let boundary = r.drv.app.ledger.tip().height;
        assert_eq!(boundary.0, passed.0 + delay);
        let Some(Input::EpochChange { set, from_height }) = queued.pop_front() else {
            panic!("the boundary block must tell the core the next set first");
        };
        assert_eq!((set.epoch, from_height), (Epoch(1), boundary.next()));
        assert_eq!(set.validators[3].consensus_key, new.public());
        // The core finalized the boundary (its root) and is still in epoch 0 until it is
        // told: as the core that delivered the boundary block is (this rig hands blocks
        // to the driver directly, so the core is set at the boundary here).
        let (b, cert) = r.drv.app.ledger.block(boundary).unwrap().unwrap();
        let mut cfg = r.drv.core_cfg.clone();
        assert_eq!(cfg.set.epoch, Epoch(0));
        cfg.root = BlockRef {
            digest: b.header.hash(chancery_core::suite::Suite::default()),
            height: boundary,
            view: b.header.view,
        };
        cfg.root_cert = Some(cert);
        r.drv.core = new_core(
            chancery_core::suite::Suite::default(),
            cfg,
            Vec::new(),
            &r.drv.sig_cache,
        )
        .unwrap();
        r.drv.timers.push(Reverse(Timer {
            at: Instant::now(),
            seq: 999,
            view: View(3),
            kind: TimeoutKind::Leader.into(),
        }));
        r.drv.step(Input::EpochChange { set, from_height }).unwrap();
        assert_eq!(r.drv.core.epoch(), Epoch(1));
        assert_eq!(r.drv.core.finalized().height, boundary);
        assert_eq!(r.drv.core.finalized().view, View(0), "views restart");
        assert_eq!(
            r.drv.core_cfg.set.epoch,
            Epoch(1),
            "a rebuilt core keeps the epoch"
        );
        assert_eq!(
            r.drv.core.validator_set().validators[3].consensus_key,
            new.public()
        );
        assert!(
            r.drv.timers.iter().all(|t| t.0.seq != 999),
            "timers of the old epoch's views are dropped"
        );
        assert_eq!(r.drv.names.len(), 4);
    }

    #[test]
    fn a_restart_right_after_the_boundary_resumes_in_the_new_epoch_at_view_zero() {
        let fx = Fixture::new();
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let mut r = try_rig(&fx, store.clone(), None).unwrap();
        pass_rotation(&mut r, &fx);
        for _ in 0..fx.genesis.params.epoch_delay_blocks {
            commit(&mut r, &fx, vec![]);
        }
        let boundary = r.drv.app.ledger.tip();
        let boundary_view = r
            .drv
            .app
            .ledger
            .block(boundary.height)
            .unwrap()
            .unwrap()
            .0
            .header
            .view;
        assert!(boundary_view > View(0));
        drop(r);
        let again = try_rig(&fx, store, None).unwrap();
        assert_eq!(again.drv.core.epoch(), Epoch(1));
        assert_eq!(again.drv.core.finalized().view, View(0));
        let (root, cert) = root_of(&again.drv.app).unwrap();
        assert_eq!((root.height, root.view), (boundary.height, View(0)));
        assert!(cert.is_none(), "no certificate of the new epoch yet");
    }

    fn cert_of(fx: &Fixture, kind: VoteKind, view: View, block: Digest) -> Certificate {
        let body = chancery_core::cert::VoteBody {
            chain_id: fx.genesis.chain_id(),
            epoch: Epoch(0),
            view,
            kind,
            block,
        };
        Certificate {
            kind,
            epoch: Epoch(0),
            view,
            block,
            signatures: [1usize, 2, 3]
                .iter()
                .map(|&i| chancery_core::cert::IndexedSignature {
                    index: i as u16,
                    signature: body.sign(&fx.validators[i]),
                })
                .collect(),
        }
    }

    /// R13 in the node: the boundary block is notarized in view 11 but its own view does
    /// not finalize it. This node leads view 12 and builds an empty suffix block of epoch
    /// 0 on it; that block's finalization finalizes the boundary, which the node commits
    /// with the suffix header, and the core switches to epoch 1. The epoch link carries
    /// the suffix and verifies from the genesis.
    #[test]
    fn a_boundary_is_finalized_through_a_suffix_block_this_node_builds() {
        use chancery_consensus::{Proposal, ProposalMsg};
        let fx = Fixture::new();
        let mut r = try_rig(&fx, Arc::new(MemStore::new()), None).unwrap();
        pass_rotation(&mut r, &fx);
        for _ in 1..fx.genesis.params.epoch_delay_blocks {
            commit(&mut r, &fx, vec![]);
        }
        // The core's root is the tip (the rig hands blocks to the driver directly), at a
        // view chosen so that validator 3 leads view 11 and this node (0) view 12.
        let tip = r.drv.app.ledger.tip();
        let (_, tip_cert) = r.drv.app.ledger.block(tip.height).unwrap().unwrap();
        let mut cfg = r.drv.core_cfg.clone();
        cfg.root = BlockRef {
            digest: tip.hash,
            height: tip.height,
            view: View(10),
        };
        cfg.root_cert = Some(tip_cert);
        r.drv.core = new_core(
            chancery_core::suite::Suite::default(),
            cfg,
            Vec::new(),
            &r.drv.sig_cache,
        )
        .unwrap();
        r.drv.step(Input::Start).unwrap();
        assert_eq!(r.drv.core.leader(View(11)), 3);
        assert_eq!(r.drv.core.leader(View(12)), 0);

        let chain = fx.genesis.chain_id();
        let mut leader = crate::app::test_app_on(&fx, r.drv.app.ledger.clone());
        let parent = BlockRef {
            digest: tip.hash,
            height: tip.height,
            view: View(10),
        };
        let b = leader
            .build(Epoch(0), View(11), 3, &parent, now_ms())
            .unwrap();
        let boundary: Block = codec::decode(&b.payload).unwrap();
        assert!(boundary.header.is_boundary());
        let p = Proposal::sign(chain, Epoch(0), View(10), b.clone(), 3, &fx.validators[3]);
        let msgs = vec![
            (
                3u16,
                Message::Proposal(ProposalMsg {
                    proposal: p,
                    parent_cert: None,
                    nullifications: vec![],
                })
                .encode(),
            ),
            // Notarized; its finalize votes never reach a quorum.
            (
                1u16,
                Message::Certificate(cert_of(&fx, VoteKind::Notarize, View(11), b.digest)).encode(),
            ),
        ];
        for m in msgs {
            r.drv.step(Input::Messages(vec![m])).unwrap();
        }
        assert_eq!(r.drv.core.view(), View(12));
        // This node led view 12: its proposal is an empty block of epoch 0 on the boundary.
        let built = r
            .drv
            .app
            .last_built
            .clone()
            .expect("a proposal for view 12");
        assert_eq!(built.header.parent, b.digest);
        assert_eq!(
            chancery_core::epoch::check_suffix(
                chancery_core::suite::Suite::default(),
                &boundary.header,
                std::slice::from_ref(&built.header)
            ),
            Ok(built.digest)
        );
        assert_eq!(
            r.drv.app.ledger.tip().height,
            tip.height,
            "nothing final yet"
        );

        let fin = cert_of(&fx, VoteKind::Finalize, View(12), built.digest);
        r.drv
            .step(Input::Messages(vec![(
                1u16,
                Message::Certificate(fin.clone()).encode(),
            )]))
            .unwrap();
        let ledger = r.drv.app.ledger.clone();
        assert_eq!(ledger.tip().hash, b.digest, "the boundary is committed");
        assert_eq!(
            ledger.block_suffix(ledger.tip().height).unwrap(),
            vec![built.header.clone()]
        );
        assert_eq!(r.drv.core.epoch(), Epoch(1), "the core switched");
        let link = ledger.epoch_link(Epoch(0)).unwrap().unwrap();
        assert_eq!((link.certificate, link.suffix.len()), (fin, 1));
        let links = ledger.epoch_links(Epoch(1)).unwrap();
        let set1 = chancery_core::epoch::verify_epoch_chain(&fx.genesis, &links).unwrap();
        assert_eq!(set1.epoch(), Epoch(1));
    }

    /// SIGHUP's reload: an observer added to `[[peers]]` is admitted at once (and a
    /// removed one dropped), the validators stay.
    #[test]
    fn a_reloaded_config_admits_its_new_observer_peer_at_once() {
        let fx = Fixture::new();
        let mut r = try_rig(&fx, Arc::new(MemStore::new()), None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let base = "name = \"v0\"\nrole = \"validator\"\ndata_dir = \"data\"\ngenesis = \"g.json\"\n\
                    consensus_key_file = \"consensus.key\"\nnetwork_key_file = \"network.key\"\np2p_listen = \"127.0.0.1:1\"\napi_listen = \"127.0.0.1:2\"\n";
        let parse = |text: &str| {
            Arc::new(
                chancery_genesis::config::NodeConfig::parse(text, &dir.path().join("node.toml"))
                    .unwrap(),
            )
        };
        r.drv.on_config(parse(base));
        let before = r.drv.net.peers();
        assert!(!before.contains(&PeerName::from("obs-new")));
        let observer = named_key("obs-new").public();
        let with_observer = format!(
            "{base}[[peers]]\nname = \"obs-new\"\naddress = \"127.0.0.1:3\"\nnetwork_key = \"{observer}\"\n"
        );
        r.drv.on_config(parse(&with_observer));
        let after = r.drv.net.peers();
        assert!(after.contains(&PeerName::from("obs-new")), "{after:?}");
        for v in &before {
            assert!(after.contains(v), "validator {v} still admitted: {after:?}");
        }
        r.drv.on_config(parse(base));
        assert!(!r.drv.net.peers().contains(&PeerName::from("obs-new")));
    }

    /// Governance rotates this node's (v0's) consensus key. With the new key in a file
    /// beside the configured one, the node signs with it from the new epoch on, without a
    /// restart; without that file it does not vote in the new epoch (its old key is not
    /// listed) and says so.
    #[test]
    fn a_rotated_validator_signs_with_its_new_key_from_the_new_epoch_without_a_restart() {
        use chancery_genesis::keyfile::{write_key_file, KeyKind};
        for with_file in [true, false] {
            let fx = Fixture::new();
            let mut r = try_rig(&fx, Arc::new(MemStore::new()), None).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let old_file = dir.path().join("consensus.key");
            write_key_file(&old_file, KeyKind::Consensus, &fx.validators[0]).unwrap();
            let new = named_key(&format!("v0-hot-{with_file}"));
            if with_file {
                write_key_file(
                    &dir.path().join("consensus-1.key"),
                    KeyKind::Consensus,
                    &new,
                )
                .unwrap();
            }
            let toml = format!(
                "name = \"v0\"\nrole = \"validator\"\ndata_dir = \"data\"\ngenesis = \"g.json\"\n\
                 consensus_key_file = {:?}\nnetwork_key_file = \"network.key\"\n\
                 p2p_listen = \"127.0.0.1:1\"\napi_listen = \"127.0.0.1:2\"\n",
                old_file.display().to_string()
            );
            let cfg =
                chancery_genesis::config::NodeConfig::parse(&toml, &dir.path().join("node.toml"))
                    .unwrap();
            r.drv.node_config = Some(Arc::new(cfg));
            pass_rotation_of(&mut r, &fx, "v0", &new);
            let mut queued = VecDeque::new();
            for _ in 0..fx.genesis.params.epoch_delay_blocks {
                queued = commit(&mut r, &fx, vec![]);
            }
            let Some(Input::EpochChange { set, from_height }) = queued.pop_front() else {
                panic!("the boundary must announce the next set");
            };
            assert_eq!(set.validators[0].consensus_key, new.public());
            // The core at the boundary, as the one that delivered it would be, with the
            // timing of the new epoch already, so that only the key can make the host
            // rebuild it.
            let boundary = r.drv.app.ledger.tip();
            let (b, cert) = r.drv.app.ledger.block(boundary.height).unwrap().unwrap();
            let params = r.drv.app.ledger.params_at(from_height).unwrap();
            let root = BlockRef {
                digest: b.header.hash(chancery_core::suite::Suite::default()),
                height: boundary.height,
                view: b.header.view,
            };
            let old = r.drv.core_cfg.clone();
            let mut cfg =
                CoreConfig::with_delta(old.chain_id, old.set, old.key, root, params.delta_ms);
            cfg.heartbeat_ms = params.heartbeat_ms;
            cfg.root_cert = Some(cert);
            r.drv.core_cfg = cfg.clone();
            r.drv.core = new_core(
                chancery_core::suite::Suite::default(),
                cfg,
                Vec::new(),
                &r.drv.sig_cache,
            )
            .unwrap();
            assert_eq!(
                r.drv.core.index(),
                Some(0),
                "votes in epoch 0 with its old key"
            );
            r.drv.step(Input::EpochChange { set, from_height }).unwrap();
            assert_eq!(r.drv.core.epoch(), Epoch(1));
            let signing = r.drv.core_cfg.key.as_ref().map(|k| k.public());
            if with_file {
                assert_eq!(signing, Some(new.public()));
                assert_eq!(
                    r.drv.core.index(),
                    Some(0),
                    "votes in epoch 1 with its new key"
                );
            } else {
                assert_eq!(signing, Some(fx.validators[0].public()));
                assert_eq!(
                    r.drv.core.index(),
                    None,
                    "its old key is not in the new set"
                );
            }
        }
    }
}
