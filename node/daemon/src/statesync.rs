//! State sync (issue 19): a new node with only the genesis installs the latest snapshot
//! that untrusted peers serve, verifying everything, and replaces a peer that serves a bad
//! piece; and the serving side, which offers snapshots of every `interval_blocks`-th
//! height.
//!
//! The order of trust: the epoch chain from the genesis (`VerifiedEpochs`) proves the set
//! of the snapshot's epoch; that set verifies the checkpoint of the snapshot's height; the
//! checkpoint verifies the manifest; the manifest verifies every state chunk and log piece
//! (`chancery_core::snapshot`). A source whose answer fails a check is penalised, dropped
//! for the rest of the sync and named in the report; its piece is asked of the next
//! source. The pieces go into an empty store through [`chancery_ledger::SnapshotInstaller`];
//! then `Ledger::open` starts at the snapshot's height and block sync follows the chain.
//!
//! Sources are behind [`SnapshotSource`]: a peer over the network ([`NetSource`]) in the
//! node, a ledger in the tests. `chancery-node start --state-sync` runs [`state_sync`]
//! before it opens the ledger (docs/ops/state-sync.md).

use crate::sync::{SyncRequest, SyncResponse, SYNC_EPOCH_LINKS_MAX, SYNC_REFUSAL_BYTES_MAX};
use chancery_core::checkpoint::Checkpoint;
use chancery_core::codec;
use chancery_core::epoch::{EpochLink, VerifiedEpochs};
use chancery_core::genesis::Genesis;
use chancery_core::snapshot::{
    verify_chunk, verify_log_piece, LogPiece, SnapshotChunk, SnapshotManifest,
};
use chancery_core::{Epoch, Height};
use chancery_ledger::{InstallError, Ledger, SnapshotInstaller};
use chancery_net::{Bytes, Misbehaviour, Network, PeerName};
use chancery_storage::Store;
use std::sync::Arc;

/// Most sources one sync uses.
pub const SOURCES_MAX: usize = 64;
/// Snapshot heights a node serves at once: the latest and the one before, so that a sync
/// under way survives the next snapshot height.
pub const OFFERED_MAX: usize = 2;
/// Multiples of the interval looked at, from the tip down, for heights with their own
/// certificate (a boundary finalized through suffix blocks has none and is skipped).
const OFFER_SEARCH_MAX: u64 = 8;

/// Why a source's answer was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceFault {
    /// The source did not answer, does not have it, or refused: not its fault.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The source answered something that fails a check: a fault, penalised.
    #[error("invalid: {0}")]
    Invalid(String),
}

/// What a source of snapshots answers. Every answer is untrusted.
pub trait SnapshotSource: Send + Sync {
    /// A name for logs and the report.
    fn name(&self) -> String;
    /// The checkpoint of the latest snapshot it offers (a header with its own
    /// certificate).
    fn checkpoint(&self) -> Result<Checkpoint, SourceFault>;
    /// The epoch links of epochs `0..epoch` (the chain that proves `epoch`'s set).
    fn epoch_links(&self, epoch: Epoch) -> Result<Vec<EpochLink>, SourceFault>;
    /// The manifest of the snapshot at `height`.
    fn manifest(&self, height: Height) -> Result<SnapshotManifest, SourceFault>;
    /// State chunk `index` of the snapshot at `height`.
    fn chunk(&self, height: Height, index: u32) -> Result<SnapshotChunk, SourceFault>;
    /// Log piece `index` of the snapshot at `height`.
    fn log_piece(&self, height: Height, index: u64) -> Result<LogPiece, SourceFault>;
    /// The source served something that failed a check (`why`): lower its standing.
    fn penalise(&self, _why: &str) {}
}

/// Why a state sync failed.
#[derive(Debug, thiserror::Error)]
pub enum StateSyncError {
    /// No source (left) that answers correctly.
    #[error("no source served a verifiable {what}: {reasons}")]
    NoSource {
        /// What was asked.
        what: String,
        /// Each dropped source and why.
        reasons: String,
    },
    /// More sources than one sync uses.
    #[error("{found} sources, at most {max}")]
    TooManySources {
        /// The limit.
        max: usize,
        /// Given.
        found: usize,
    },
    /// Installing failed (this node's store, or a store that is not empty).
    #[error("installing the snapshot: {0}")]
    Install(#[from] InstallError),
    /// No source offers a snapshot (none was taken yet, or snapshots are off): nothing
    /// was written.
    #[error("no peer offers a snapshot yet: {reasons}")]
    NoOffer {
        /// Each source and what it said.
        reasons: String,
    },
    /// No peer connected in time.
    #[error("no peer connected within {waited_s} s (expected at least one of {peers} allowed peers; check [[peers]] addresses and that they admit this node's network key)")]
    NoPeers {
        /// How long it waited.
        waited_s: u64,
        /// Peers allowed.
        peers: usize,
    },
    /// The blocking task running the sync failed.
    #[error("the state sync task failed: {0}")]
    Task(String),
}

/// What a state sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateSyncReport {
    /// The height installed.
    pub height: Height,
    /// State chunks installed.
    pub chunks: u32,
    /// Log pieces installed.
    pub log_pieces: u64,
    /// Sources dropped, with the reason (a fault, or unavailable).
    pub dropped: Vec<(String, String)>,
}

/// The sources still trusted enough to ask, in turn, and the ones dropped.
struct Rotation<'a> {
    sources: Vec<&'a dyn SnapshotSource>,
    next: usize,
    dropped: Vec<(String, String)>,
}

impl<'a> Rotation<'a> {
    /// Drop `s` for `fault`, penalising it when the fault is its own.
    fn drop_source(&mut self, s: &dyn SnapshotSource, fault: &SourceFault) {
        if let SourceFault::Invalid(why) = fault {
            s.penalise(why);
        }
        self.dropped.push((s.name(), fault.to_string()));
    }

    /// Ask sources in turn until one answers `ask` with something `check` accepts; a
    /// source that fails either is dropped (and named; penalised if its answer failed a
    /// check). `None` when none is left.
    fn first_good<T, V>(
        &mut self,
        ask: impl Fn(&dyn SnapshotSource) -> Result<T, SourceFault>,
        check: impl Fn(T) -> Result<V, String>,
    ) -> Option<V> {
        while !self.sources.is_empty() {
            let i = self.next % self.sources.len();
            let s = self.sources[i];
            match ask(s).and_then(|t| check(t).map_err(SourceFault::Invalid)) {
                Ok(v) => {
                    // Spread the load: the next piece goes to the next source.
                    self.next = i + 1;
                    return Some(v);
                }
                Err(fault) => {
                    self.drop_source(s, &fault);
                    self.sources.remove(i);
                }
            }
        }
        None
    }

    /// Each dropped source and why, in one line.
    fn reasons(&self) -> String {
        self.dropped
            .iter()
            .map(|(n, w)| format!("{n}: {w}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn none_left(&self, what: String) -> StateSyncError {
        StateSyncError::NoSource {
            what,
            reasons: self.reasons(),
        }
    }
}

/// Install, into the empty `store`, the highest snapshot the sources offer that verifies
/// from `genesis`. The offers are taken from every source, highest first; the chain and
/// manifest of the chosen one come from the source that offered it; chunks and pieces
/// from every source that offers the same checkpoint (all are checked against the one
/// verified manifest).
pub fn state_sync(
    genesis: &Genesis,
    store: Arc<dyn Store>,
    sources: &[&dyn SnapshotSource],
) -> Result<StateSyncReport, StateSyncError> {
    if sources.len() > SOURCES_MAX {
        return Err(StateSyncError::TooManySources {
            max: SOURCES_MAX,
            found: sources.len(),
        });
    }
    let mut rot = Rotation {
        sources: Vec::new(),
        next: 0,
        dropped: Vec::new(),
    };
    let mut offers: Vec<(&dyn SnapshotSource, Checkpoint)> = Vec::new();
    for s in sources {
        match s.checkpoint() {
            Ok(cp) => offers.push((*s, cp)),
            Err(fault) => rot.drop_source(*s, &fault),
        }
    }
    // Highest first; a forged high offer fails below and costs its sender.
    offers.sort_by_key(|o| std::cmp::Reverse(o.1.header.height));
    let mut chosen = None;
    for (s, cp) in &offers {
        let got = s
            .epoch_links(cp.header.epoch)
            .and_then(|links| Ok((links, s.manifest(cp.header.height)?)))
            .and_then(|(links, manifest)| {
                let epochs = VerifiedEpochs::verify(genesis, &links)
                    .map_err(|e| SourceFault::Invalid(format!("epoch chain: {e}")))?;
                let vcp = epochs
                    .verify_checkpoint(cp)
                    .map_err(|e| SourceFault::Invalid(format!("checkpoint: {e}")))?;
                manifest
                    .verify(&vcp)
                    .map_err(|e| SourceFault::Invalid(format!("manifest: {e}")))
            });
        match got {
            Ok(m) => {
                chosen = Some((m, cp.header.hash(genesis.crypto)));
                break;
            }
            Err(fault) => rot.drop_source(*s, &fault),
        }
    }
    let Some((manifest, header_hash)) = chosen else {
        if offers.is_empty() {
            return Err(StateSyncError::NoOffer {
                reasons: rot.reasons(),
            });
        }
        return Err(rot.none_left("snapshot offer".into()));
    };
    // The pieces come from every source that offered this very checkpoint.
    rot.sources = offers
        .iter()
        .filter(|(s, cp)| {
            cp.header.hash(genesis.crypto) == header_hash
                && !rot.dropped.iter().any(|(n, _)| *n == s.name())
        })
        .map(|(s, _)| *s)
        .collect();
    let m = manifest.manifest().clone();
    let h = m.height;
    let mut installer = SnapshotInstaller::new(store, genesis, manifest.clone())?;
    // Fetching and verifying (network, hashing) run on one thread, installing (store
    // writes) on this one, a few pieces apart: the two overlap.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Piece>(PIPELINE_PIECES_MAX);
    let fetched = std::thread::scope(|scope| {
        let fetcher = scope.spawn(|| -> Result<Rotation<'_>, StateSyncError> {
            // Owned here, so that the installer's loop ends when this thread does.
            let tx = tx;
            let mut rot = rot;
            for i in 0..m.chunk_count {
                let chunk = rot
                    .first_good(
                        |s| s.chunk(h, i),
                        |c| verify_chunk(&manifest, c).map_err(|e| e.to_string()),
                    )
                    .ok_or_else(|| rot.none_left(format!("state chunk {i} of height {h}")))?;
                if tx.send(Piece::Chunk(chunk)).is_err() {
                    // The installer stopped (its error is the one reported).
                    return Ok(rot);
                }
            }
            for k in 0..m.log_piece_count {
                let piece = rot
                    .first_good(
                        |s| s.log_piece(h, k),
                        |p| verify_log_piece(&manifest, p).map_err(|e| e.to_string()),
                    )
                    .ok_or_else(|| rot.none_left(format!("log piece {k} of height {h}")))?;
                if tx.send(Piece::Log(piece)).is_err() {
                    return Ok(rot);
                }
            }
            Ok(rot)
        });
        let mut installed: Result<(), StateSyncError> = Ok(());
        for piece in rx {
            let r = match piece {
                Piece::Chunk(c) => installer.add_chunk(c),
                Piece::Log(p) => installer.add_log_piece(p),
            };
            if let Err(e) = r {
                installed = Err(e.into());
                break;
            }
        }
        // Leaving the loop dropped the receiver: a fetcher still sending stops.
        let rot = fetcher
            .join()
            .map_err(|_| StateSyncError::Task("the fetching thread panicked".into()))?;
        installed?;
        rot
    })?;
    let height = installer.finish()?;
    Ok(StateSyncReport {
        height,
        chunks: m.chunk_count,
        log_pieces: m.log_piece_count,
        dropped: fetched.dropped,
    })
}

/// A verified piece on its way from the fetching thread to the installer.
enum Piece {
    Chunk(chancery_core::snapshot::VerifiedChunk),
    Log(chancery_core::snapshot::VerifiedLogPiece),
}

/// Verified pieces waiting for the installer at most (each at most
/// `SNAPSHOT_LOG_PIECE_BYTES_MAX`, about 16 MiB, so at most about 64 MiB held).
pub const PIPELINE_PIECES_MAX: usize = 4;

/// The serving side: which snapshot heights this node offers, and the answers to the
/// snapshot requests of [`crate::sync`]. A snapshot of height *h* costs one pass over the
/// state when first asked (its manifest; the ledger keeps the tops of the last
/// [`OFFERED_MAX`] heights), so only offered heights are served: a peer cannot make this
/// node walk its state for heights of its choosing.
#[derive(Debug, Clone)]
pub struct SnapshotOffers {
    interval_blocks: u64,
    /// Snapshot requests being served now (at most [`SNAPSHOT_REQUESTS_MAX`]).
    serving: Arc<std::sync::atomic::AtomicUsize>,
}

/// Snapshot requests (manifest, chunk, log piece) served at once; more are refused as
/// busy. Below the network's request handlers (`Limits::handler_tasks_max`, 8 by
/// default), so that peers fetching snapshots never take every handler from block sync.
pub const SNAPSHOT_REQUESTS_MAX: usize = 4;

/// A place among the snapshot requests being served; freed when dropped.
struct Serving(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl SnapshotOffers {
    /// Offer the heights that are multiples of `interval_blocks` (0: offer none).
    pub fn new(interval_blocks: u64) -> SnapshotOffers {
        SnapshotOffers {
            interval_blocks,
            serving: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        }
    }

    /// A place to serve one snapshot request, or why not.
    fn enter(&self) -> Result<Serving, String> {
        use std::sync::atomic::Ordering;
        self.serving
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < SNAPSHOT_REQUESTS_MAX).then_some(n + 1)
            })
            .map(|_| Serving(self.serving.clone()))
            .map_err(|_| {
                format!(
                    "busy: {SNAPSHOT_REQUESTS_MAX} snapshot requests are being served (at most {SNAPSHOT_REQUESTS_MAX} at once); ask again or ask another peer"
                )
            })
    }

    /// The heights served, latest first, at most [`OFFERED_MAX`]: of the multiples of the
    /// interval at or below the tip and the last epoch boundary (the block that ended the
    /// previous epoch), those at or above the first height held whose block has its own
    /// certificate (a boundary finalized through suffix blocks has none).
    pub fn offered(&self, ledger: &Ledger) -> Vec<Height> {
        let tip = ledger.tip().height;
        let boundary = ledger
            .validator_set_at(tip.next())
            .ok()
            .map(|set| set.start_height.0.saturating_sub(1));
        let own = |h: u64| {
            ledger
                .checkpoint(Height(h))
                .is_ok_and(|cp| cp.header.height == Height(h))
        };
        candidates(
            self.interval_blocks,
            tip.0,
            ledger.first_height().0,
            boundary,
        )
        .into_iter()
        .filter(|h| own(*h))
        .take(OFFERED_MAX)
        .map(Height)
        .collect()
    }

    /// Answer a snapshot request (`Refused` with the reason for anything not served).
    pub fn answer(&self, ledger: &Ledger, req: SyncRequest, bytes_max: usize) -> SyncResponse {
        self.try_answer(ledger, req, bytes_max)
            .unwrap_or_else(|reason| SyncResponse::Refused {
                reason: truncate(reason, SYNC_REFUSAL_BYTES_MAX),
            })
    }

    fn try_answer(
        &self,
        ledger: &Ledger,
        req: SyncRequest,
        bytes_max: usize,
    ) -> Result<SyncResponse, String> {
        let served = |height: Height| -> Result<Serving, String> {
            let offered = self.offered(ledger);
            if offered.contains(&height) {
                return self.enter();
            }
            Err(format!(
                "no snapshot of height {height} is offered (offered: {})",
                offered
                    .iter()
                    .map(|h| h.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        Ok(match req {
            SyncRequest::SnapshotOffer => {
                let checkpoint = match self.offered(ledger).first() {
                    Some(h) => Some(Box::new(ledger.checkpoint(*h).map_err(|e| e.to_string())?)),
                    None => None,
                };
                SyncResponse::SnapshotOffer { checkpoint }
            }
            SyncRequest::EpochLinks { from, max } => {
                let limit = max.min(SYNC_EPOCH_LINKS_MAX) as usize;
                let limit = limit.min(chancery_ledger::explore::EPOCH_LINKS_PAGE_MAX);
                let (mut links, mut next) = ledger
                    .epoch_links_page(from, limit)
                    .map_err(|e| e.to_string())?;
                // Within the answer's byte budget (at least one link).
                let mut bytes = 0usize;
                let keep = links
                    .iter()
                    .take_while(|l| {
                        bytes = bytes.saturating_add(codec::encode(*l).len());
                        bytes <= bytes_max
                    })
                    .count()
                    .max(1)
                    .min(links.len());
                if keep < links.len() {
                    links.truncate(keep);
                    next = Some(Epoch(from.0 + keep as u64));
                }
                SyncResponse::EpochLinks { links, next }
            }
            SyncRequest::SnapshotManifest { height } => {
                let _serving = served(height)?;
                SyncResponse::SnapshotManifest {
                    manifest: Box::new(
                        ledger
                            .snapshot_manifest(height)
                            .map_err(|e| e.to_string())?,
                    ),
                }
            }
            SyncRequest::SnapshotChunk { height, index } => {
                let _serving = served(height)?;
                SyncResponse::SnapshotChunk {
                    chunk: ledger
                        .snapshot_chunk(height, index)
                        .map_err(|e| e.to_string())?,
                }
            }
            SyncRequest::SnapshotLogPiece { height, index } => {
                let _serving = served(height)?;
                SyncResponse::SnapshotLogPiece {
                    piece: ledger
                        .snapshot_log_piece(height, index)
                        .map_err(|e| e.to_string())?,
                }
            }
            other => return Err(format!("not a snapshot request: {other:?}")),
        })
    }
}

/// The heights a node may offer, latest first, before the own-certificate check: the
/// last [`OFFER_SEARCH_MAX`] multiples of `interval` (0: none) at or below `tip`, and the
/// last epoch boundary when there is one (snapshots off leave it out too), all at or
/// above `first` (and above 0).
fn candidates(interval: u64, tip: u64, first: u64, boundary: Option<u64>) -> Vec<u64> {
    if interval == 0 {
        return Vec::new();
    }
    let low = first.max(1);
    let mut out: Vec<u64> = (0..OFFER_SEARCH_MAX)
        .filter_map(|k| (tip / interval).checked_sub(k).map(|m| m * interval))
        .filter(|h| *h >= low)
        .collect();
    if let Some(b) = boundary.filter(|b| *b >= low && *b <= tip) {
        out.push(b);
    }
    out.sort_unstable_by(|a, b| b.cmp(a));
    out.dedup();
    out
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Times a busy peer is asked again for one piece before it is dropped.
pub const BUSY_RETRIES_MAX: u32 = 5;
/// Wait before asking a busy peer again, times the attempt, in milliseconds.
pub const BUSY_BACKOFF_MS: u64 = 200;

/// A peer over the network as a snapshot source. Its calls block on the network: run
/// [`state_sync`] on a blocking thread of the runtime `rt` belongs to.
pub struct NetSource {
    net: Arc<dyn Network>,
    peer: PeerName,
    rt: tokio::runtime::Handle,
    /// The chain's suite: how the answers decode.
    suite: chancery_core::suite::Suite,
}

impl NetSource {
    /// Ask `peer` of a chain of `suite` through `net`.
    pub fn new(
        net: Arc<dyn Network>,
        peer: PeerName,
        rt: tokio::runtime::Handle,
        suite: chancery_core::suite::Suite,
    ) -> NetSource {
        NetSource {
            net,
            peer,
            rt,
            suite,
        }
    }

    fn ask(&self, req: &SyncRequest) -> Result<SyncResponse, SourceFault> {
        let mut busy = 0u32;
        loop {
            let bytes = self
                .rt
                .block_on(
                    self.net
                        .request(&self.peer, Bytes::from(codec::encode(req))),
                )
                .map_err(|e| SourceFault::Unavailable(e.to_string()))?;
            let resp: SyncResponse = codec::decode_in(self.suite, &bytes)
                .map_err(|e| SourceFault::Invalid(format!("undecodable answer: {e}")))?;
            match resp {
                // A peer serving others: ask again a little later, a few times.
                SyncResponse::Refused { reason }
                    if reason.starts_with("busy") && busy < BUSY_RETRIES_MAX =>
                {
                    busy += 1;
                    std::thread::sleep(std::time::Duration::from_millis(
                        BUSY_BACKOFF_MS * u64::from(busy),
                    ));
                }
                SyncResponse::Refused { reason } => {
                    return Err(SourceFault::Unavailable(format!("refused: {reason}")))
                }
                r => return Ok(r),
            }
        }
    }
}

/// A request handler set once the ledger is open; until then every request is declined
/// (a node installing a snapshot has nothing to serve yet).
#[derive(Default)]
pub struct LateHandler(std::sync::OnceLock<Arc<dyn chancery_net::RequestHandler>>);

impl LateHandler {
    /// Answer with `handler` from now on (the first call wins).
    pub fn set(&self, handler: Arc<dyn chancery_net::RequestHandler>) {
        let _ = self.0.set(handler);
    }
}

impl chancery_net::RequestHandler for LateHandler {
    fn handle(&self, from: &PeerName, request: Bytes) -> Option<Bytes> {
        self.0.get()?.handle(from, request)
    }
}

/// After the first peer connects, how long to wait for the others before asking the
/// ones connected, in milliseconds.
pub const PEERS_SETTLE_MS: u64 = 2_000;

/// State sync over `net`: wait (at most `peers_wait`) for a first peer to connect, and
/// briefly for the others, then run [`state_sync`] on a blocking thread with every
/// connected peer (at most [`SOURCES_MAX`]) as a source.
pub async fn sync_over(
    net: Arc<dyn Network>,
    genesis: Arc<Genesis>,
    store: Arc<dyn Store>,
    peers_wait: std::time::Duration,
) -> Result<StateSyncReport, StateSyncError> {
    let mut status = net.status();
    let allowed = net.peers().len();
    let connected_now =
        |s: &tokio::sync::watch::Receiver<chancery_net::PeerStatus>| s.borrow().connected.len();
    let first = tokio::time::timeout(peers_wait, async {
        while connected_now(&status) == 0 {
            if status.changed().await.is_err() {
                break;
            }
        }
    })
    .await;
    if first.is_err() || connected_now(&status) == 0 {
        return Err(StateSyncError::NoPeers {
            waited_s: peers_wait.as_secs(),
            peers: allowed,
        });
    }
    let _ = tokio::time::timeout(std::time::Duration::from_millis(PEERS_SETTLE_MS), async {
        while connected_now(&status) < allowed {
            if status.changed().await.is_err() {
                break;
            }
        }
    })
    .await;
    let peers: Vec<PeerName> = status
        .borrow()
        .connected
        .iter()
        .take(SOURCES_MAX)
        .cloned()
        .collect();
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let sources: Vec<NetSource> = peers
            .into_iter()
            .map(|p| NetSource::new(net.clone(), p, rt.clone(), genesis.crypto))
            .collect();
        let refs: Vec<&dyn SnapshotSource> =
            sources.iter().map(|s| s as &dyn SnapshotSource).collect();
        state_sync(&genesis, store, &refs)
    })
    .await
    .map_err(|e| StateSyncError::Task(e.to_string()))?
}

/// An answer of the wrong kind: the peer's fault.
fn unexpected(asked: &str, got: &SyncResponse) -> SourceFault {
    SourceFault::Invalid(format!("asked for {asked}, answered {}", got.kind()))
}

impl SnapshotSource for NetSource {
    fn name(&self) -> String {
        self.peer.to_string()
    }
    fn checkpoint(&self) -> Result<Checkpoint, SourceFault> {
        match self.ask(&SyncRequest::SnapshotOffer)? {
            SyncResponse::SnapshotOffer {
                checkpoint: Some(cp),
            } => Ok(*cp),
            SyncResponse::SnapshotOffer { checkpoint: None } => Err(SourceFault::Unavailable(
                "offers no snapshot yet".to_string(),
            )),
            r => Err(unexpected("a snapshot offer", &r)),
        }
    }
    fn epoch_links(&self, epoch: Epoch) -> Result<Vec<EpochLink>, SourceFault> {
        let mut links: Vec<EpochLink> = Vec::new();
        while (links.len() as u64) < epoch.0 {
            let from = Epoch(links.len() as u64);
            match self.ask(&SyncRequest::EpochLinks {
                from,
                max: SYNC_EPOCH_LINKS_MAX,
            })? {
                SyncResponse::EpochLinks { links: page, .. } if page.is_empty() => {
                    return Err(SourceFault::Invalid(format!(
                        "no epoch links from epoch {from}, though it offers a snapshot of epoch {epoch}"
                    )))
                }
                SyncResponse::EpochLinks { links: page, .. } => links.extend(page),
                r => return Err(unexpected("epoch links", &r)),
            }
        }
        links.truncate(epoch.0 as usize);
        Ok(links)
    }
    fn manifest(&self, height: Height) -> Result<SnapshotManifest, SourceFault> {
        match self.ask(&SyncRequest::SnapshotManifest { height })? {
            SyncResponse::SnapshotManifest { manifest } => Ok(*manifest),
            r => Err(unexpected("a snapshot manifest", &r)),
        }
    }
    fn chunk(&self, height: Height, index: u32) -> Result<SnapshotChunk, SourceFault> {
        match self.ask(&SyncRequest::SnapshotChunk { height, index })? {
            SyncResponse::SnapshotChunk { chunk } => Ok(chunk),
            r => Err(unexpected("a state chunk", &r)),
        }
    }
    fn log_piece(&self, height: Height, index: u64) -> Result<LogPiece, SourceFault> {
        match self.ask(&SyncRequest::SnapshotLogPiece { height, index })? {
            SyncResponse::SnapshotLogPiece { piece } => Ok(piece),
            r => Err(unexpected("a log piece", &r)),
        }
    }
    fn penalise(&self, why: &str) {
        tracing::warn!(peer = %self.peer, reason = why, "a peer served a snapshot piece that fails verification; penalised and replaced");
        self.net.report(&self.peer, Misbehaviour::BadSignature);
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests decode in the default suite
mod tests {
    use super::*;
    use chancery_core::record::Role;
    use chancery_ledger::testing::fixture::{anchor, Fixture};
    use chancery_ledger::testing::propose_and_apply;
    use chancery_ledger::{Ledger, LedgerConfig};
    use chancery_storage::MemStore;

    /// An honest source: a ledger.
    struct Honest<'a>(&'a Ledger);

    impl SnapshotSource for Honest<'_> {
        fn name(&self) -> String {
            "honest".into()
        }
        fn checkpoint(&self) -> Result<Checkpoint, SourceFault> {
            self.0
                .latest_checkpoint()
                .map_err(|e| SourceFault::Unavailable(e.to_string()))?
                .ok_or_else(|| SourceFault::Unavailable("no block yet".to_string()))
        }
        fn epoch_links(&self, epoch: Epoch) -> Result<Vec<EpochLink>, SourceFault> {
            self.0
                .epoch_links(epoch)
                .map_err(|e| SourceFault::Unavailable(e.to_string()))
        }
        fn manifest(&self, height: Height) -> Result<SnapshotManifest, SourceFault> {
            self.0
                .snapshot_manifest(height)
                .map_err(|e| SourceFault::Unavailable(e.to_string()))
        }
        fn chunk(&self, height: Height, index: u32) -> Result<SnapshotChunk, SourceFault> {
            self.0
                .snapshot_chunk(height, index)
                .map_err(|e| SourceFault::Unavailable(e.to_string()))
        }
        fn log_piece(&self, height: Height, index: u64) -> Result<LogPiece, SourceFault> {
            self.0
                .snapshot_log_piece(height, index)
                .map_err(|e| SourceFault::Unavailable(e.to_string()))
        }
    }

    /// A Byzantine source: the honest answers, with a state value or a log entry changed
    /// (a leaf of every chunk that has one; the first entry of every piece).
    struct Liar<'a> {
        honest: Honest<'a>,
        chunks: bool,
        log: bool,
    }

    impl SnapshotSource for Liar<'_> {
        fn name(&self) -> String {
            "liar".into()
        }
        fn checkpoint(&self) -> Result<Checkpoint, SourceFault> {
            self.honest.checkpoint()
        }
        fn epoch_links(&self, epoch: Epoch) -> Result<Vec<EpochLink>, SourceFault> {
            self.honest.epoch_links(epoch)
        }
        fn manifest(&self, height: Height) -> Result<SnapshotManifest, SourceFault> {
            self.honest.manifest(height)
        }
        fn chunk(&self, height: Height, index: u32) -> Result<SnapshotChunk, SourceFault> {
            let mut c = self.honest.chunk(height, index)?;
            if self.chunks {
                if let Some(l) = c.leaves.first_mut() {
                    l.value = chancery_core::state::StateValue::Seq(chancery_core::Seq(999_999));
                }
            }
            Ok(c)
        }
        fn log_piece(&self, height: Height, index: u64) -> Result<LogPiece, SourceFault> {
            let mut p = self.honest.log_piece(height, index)?;
            if self.log {
                if let Some(e) = p.entries.first_mut() {
                    e.time = chancery_core::TimestampMs(e.time.0 + 1);
                }
            }
            Ok(p)
        }
    }

    /// A ledger of a few hundred anchors over `blocks` blocks.
    fn source(fx: &Fixture, blocks: u64) -> Ledger {
        let l = Ledger::open_with(
            Arc::new(MemStore::new()),
            &fx.genesis,
            LedgerConfig {
                snapshot_prefix_bits_min: 4,
                ..LedgerConfig::default()
            },
        )
        .unwrap();
        let key = fx.signer("mof", Role::Archivist).clone();
        let mut seq = 0;
        for b in 0..blocks {
            let txs = (0..40)
                .map(|i| {
                    seq += 1;
                    fx.tx(&key, seq - 1, anchor(&format!("{b}-{i}")))
                })
                .collect();
            propose_and_apply(&l, fx, txs).unwrap();
        }
        l
    }

    #[test]
    fn a_snapshot_installs_from_honest_sources_and_liars_are_dropped_and_named() {
        let fx = Fixture::new();
        let src = source(&fx, 8);
        let honest = Honest(&src);
        let liar = Liar {
            honest: Honest(&src),
            chunks: true,
            log: false,
        };
        let log_liar = Liar {
            honest: Honest(&src),
            chunks: false,
            log: true,
        };
        // The liars come first: each is caught at its first bad piece and replaced.
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let report = state_sync(
            &fx.genesis,
            store.clone(),
            &[&liar as &dyn SnapshotSource, &log_liar, &honest],
        )
        .unwrap();
        assert_eq!(report.height, src.tip().height);
        assert!(report.chunks >= 16 && report.log_pieces >= 1, "{report:?}");
        let names: Vec<&str> = report.dropped.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["liar", "liar"], "{:?}", report.dropped);
        let installed = Ledger::open(store, &fx.genesis).unwrap();
        assert_eq!(installed.tip(), src.tip());
    }

    #[test]
    fn with_only_liars_the_sync_fails_naming_the_piece_and_each_reason() {
        let fx = Fixture::new();
        let src = source(&fx, 3);
        let liar = Liar {
            honest: Honest(&src),
            chunks: true,
            log: true,
        };
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let e = state_sync(&fx.genesis, store, &[&liar as &dyn SnapshotSource]).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("state chunk") && text.contains("liar:"),
            "{text}"
        );
        // A source whose chain is not the genesis' is refused at the manifest.
        let mut other = Fixture::new();
        other.genesis.chain_name = "another chain".into();
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let e = state_sync(
            &other.genesis,
            store,
            &[&Honest(&src) as &dyn SnapshotSource],
        )
        .unwrap_err();
        assert!(e.to_string().contains("snapshot offer"), "{e}");
    }

    /// A source ledger served over an in-memory network by the production handler.
    fn honest_handler(
        fx: &Fixture,
        src: &Arc<Ledger>,
        interval: u64,
    ) -> Arc<dyn chancery_net::RequestHandler> {
        crate::driver::sync_handler(
            src.clone(),
            Arc::new(crate::compact::RecentTxs::new()),
            SnapshotOffers::new(interval),
            crate::startup::wire_limits(&fx.genesis),
        )
    }

    fn ask(h: &Arc<dyn chancery_net::RequestHandler>, req: SyncRequest) -> SyncResponse {
        let bytes = h
            .handle(&PeerName::from("asker"), Bytes::from(codec::encode(&req)))
            .expect("answered");
        codec::decode(&bytes).expect("decodes")
    }

    #[test]
    fn only_offered_heights_are_served_and_a_refusal_names_them() {
        let fx = Fixture::new();
        let src = Arc::new(source(&fx, 8));
        let h = honest_handler(&fx, &src, 3);
        assert_eq!(
            SnapshotOffers::new(3).offered(&src),
            [Height(6), Height(3)],
            "the latest two multiples of the interval"
        );
        let SyncResponse::SnapshotOffer {
            checkpoint: Some(cp),
        } = ask(&h, SyncRequest::SnapshotOffer)
        else {
            panic!("an offer expected")
        };
        assert_eq!(cp.header.height, Height(6));
        // A height that is not offered costs no pass over the state: refused, naming
        // what is offered.
        for req in [
            SyncRequest::SnapshotManifest { height: Height(5) },
            SyncRequest::SnapshotChunk {
                height: Height(8),
                index: 0,
            },
            SyncRequest::SnapshotLogPiece {
                height: Height(1),
                index: 0,
            },
        ] {
            match ask(&h, req) {
                SyncResponse::Refused { reason } => {
                    assert!(reason.contains("offered: 6, 3"), "{reason}")
                }
                r => panic!("a refusal expected, got {}", r.kind()),
            }
        }
        assert!(matches!(
            ask(&h, SyncRequest::SnapshotManifest { height: Height(3) }),
            SyncResponse::SnapshotManifest { manifest } if manifest.height == Height(3)
        ));
        // No epoch has ended: an empty chain.
        assert!(matches!(
            ask(&h, SyncRequest::EpochLinks { from: Epoch(0), max: 8 }),
            SyncResponse::EpochLinks { links, next: None } if links.is_empty()
        ));
        // Snapshots off: no offer, nothing served.
        let off = honest_handler(&fx, &src, 0);
        assert!(matches!(
            ask(&off, SyncRequest::SnapshotOffer),
            SyncResponse::SnapshotOffer { checkpoint: None }
        ));
        assert!(matches!(
            ask(&off, SyncRequest::SnapshotManifest { height: Height(6) }),
            SyncResponse::Refused { .. }
        ));
        // Two kept tops: the offered heights alternate without a new pass each time.
        assert_eq!(chancery_ledger::SNAPSHOT_TOPS_KEPT, OFFERED_MAX);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_new_node_installs_over_the_network_and_a_peer_serving_bad_chunks_is_penalised() {
        let fx = Fixture::new();
        let src = Arc::new(source(&fx, 8));
        let names = ["new", "honest", "liar", "empty"].map(PeerName::from);
        let limits =
            chancery_net::Limits::default().with_wire(&crate::startup::wire_limits(&fx.genesis));
        let hub = chancery_net::MemHub::new(names.clone(), limits);
        let honest = honest_handler(&fx, &src, 4);
        let _h = hub.join(names[1].clone(), honest.clone());
        // The liar answers like the honest node, with one state value changed in every
        // chunk.
        let liar = move |from: &PeerName, req: Bytes| -> Option<Bytes> {
            let answer = honest.handle(from, req)?;
            match codec::decode::<SyncResponse>(&answer).ok()? {
                SyncResponse::SnapshotChunk { mut chunk } => {
                    if let Some(l) = chunk.leaves.first_mut() {
                        l.value =
                            chancery_core::state::StateValue::Seq(chancery_core::Seq(424_242));
                    }
                    Some(Bytes::from(codec::encode(&SyncResponse::SnapshotChunk {
                        chunk,
                    })))
                }
                _ => Some(answer),
            }
        };
        let _l = hub.join(names[2].clone(), Arc::new(liar));
        // A peer that offers nothing (snapshots off) is passed over, not penalised.
        let _e = hub.join(names[3].clone(), honest_handler(&fx, &src, 0));
        let (net, _inbound) = hub.join(names[0].clone(), chancery_net::no_requests());
        let net: Arc<dyn Network> = Arc::new(net);
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let report = sync_over(
            net.clone(),
            Arc::new(fx.genesis.clone()),
            store.clone(),
            std::time::Duration::from_secs(5),
        )
        .await
        .expect("installed");
        assert_eq!(report.height, Height(8));
        let why = |n: &str| {
            report
                .dropped
                .iter()
                .find(|(name, _)| name == n)
                .map(|(_, w)| w.clone())
                .unwrap_or_default()
        };
        assert!(why("liar").starts_with("invalid:"), "{:?}", report.dropped);
        assert!(
            why("empty").contains("offers no snapshot"),
            "{:?}",
            report.dropped
        );
        assert!(why("honest").is_empty(), "{:?}", report.dropped);
        let scores = net.status().borrow().scores.clone();
        assert!(
            scores.get(&names[2]).is_some_and(|s| *s < 0),
            "the liar is penalised: {scores:?}"
        );
        assert!(!scores.contains_key(&names[3]), "{scores:?}");
        let installed = Ledger::open(store, &fx.genesis).unwrap();
        assert_eq!(installed.tip().height, Height(8));
        assert_eq!(installed.first_height(), Height(8));
        assert_eq!(
            installed.tip().state_root,
            src.checkpoint(Height(8)).unwrap().header.state_root
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_no_offer_anywhere_nothing_is_written_and_the_error_says_so() {
        let fx = Fixture::new();
        let src = Arc::new(source(&fx, 2));
        let names = ["new", "a"].map(PeerName::from);
        let limits =
            chancery_net::Limits::default().with_wire(&crate::startup::wire_limits(&fx.genesis));
        let hub = chancery_net::MemHub::new(names.clone(), limits);
        // Interval 4 on a 2-block chain: no multiple yet.
        let _a = hub.join(names[1].clone(), honest_handler(&fx, &src, 4));
        let (net, _inbound) = hub.join(names[0].clone(), chancery_net::no_requests());
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let e = sync_over(
            Arc::new(net),
            Arc::new(fx.genesis.clone()),
            store.clone(),
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, StateSyncError::NoOffer { .. }), "{e}");
        assert_eq!(
            chancery_ledger::store_kind(&*store).unwrap(),
            chancery_ledger::StoreKind::Empty
        );
    }

    #[test]
    fn offered_candidates_are_the_latest_multiples_and_the_last_epoch_boundary() {
        assert_eq!(candidates(10, 47, 0, None)[..3], [40, 30, 20]);
        assert_eq!(candidates(10, 47, 0, Some(44))[..3], [44, 40, 30]);
        // A boundary that is a multiple counts once; one below the first height held, or
        // the genesis, not at all.
        assert_eq!(candidates(10, 47, 0, Some(40))[..2], [40, 30]);
        assert_eq!(candidates(10, 47, 35, Some(33)), [40]);
        assert_eq!(candidates(10, 47, 0, Some(0)).last(), Some(&10));
        assert!(candidates(10, 9, 0, None).is_empty());
        assert!(candidates(0, 47, 0, Some(44)).is_empty(), "snapshots off");
        assert_eq!(
            candidates(10, 1_000, 0, None).len(),
            OFFER_SEARCH_MAX as usize
        );
    }

    /// Peers fetching snapshots never take every request handler: past
    /// `SNAPSHOT_REQUESTS_MAX` at once a snapshot request is refused as busy, and a
    /// blocks request is still answered.
    #[test]
    fn snapshot_requests_past_the_limit_are_refused_as_busy_and_block_sync_goes_on() {
        let fx = Fixture::new();
        let src = source(&fx, 4);
        let offers = SnapshotOffers::new(2);
        let held: Vec<Serving> = (0..SNAPSHOT_REQUESTS_MAX)
            .map(|_| offers.enter().expect("a place"))
            .collect();
        match offers.answer(
            &src,
            SyncRequest::SnapshotManifest { height: Height(4) },
            1 << 20,
        ) {
            SyncResponse::Refused { reason } => assert!(reason.starts_with("busy"), "{reason}"),
            r => panic!("busy expected, got {}", r.kind()),
        }
        let recent = crate::compact::RecentTxs::new();
        let blocks = crate::sync::answer(
            &src,
            &recent,
            &offers,
            &codec::encode(&SyncRequest::Blocks {
                from: Height(1),
                max: 4,
            }),
            1 << 20,
        )
        .expect("answered");
        assert!(matches!(
            codec::decode::<SyncResponse>(&blocks).unwrap(),
            SyncResponse::Blocks { blocks } if blocks.len() == 4
        ));
        drop(held);
        assert!(matches!(
            offers.answer(
                &src,
                SyncRequest::SnapshotManifest { height: Height(4) },
                1 << 20
            ),
            SyncResponse::SnapshotManifest { .. }
        ));
    }
}
