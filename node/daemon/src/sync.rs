//! Catch-up: a node that was down, or a new observer, fetches finalized blocks with their
//! certificates from peers by request-response, verifies them, and applies them.
//!
//! Requests and responses are canonical kernel encodings. A response carries a run of
//! consecutive blocks, each with the finalization certificate its sender stored. The
//! requester applies them in order through the ledger, which checks each certificate
//! (quorum of the validator set, this block), the parent link, re-executes the block and
//! checks every root: a lying peer can waste a request but never make us apply anything
//! uncertified.

use crate::app::FinalBlock;
use crate::compact::{RecentTxs, TX_FETCH_HASHES_MAX};
use crate::statesync::SnapshotOffers;
use bincode::{Decode, Encode};
use chancery_core::checkpoint::Checkpoint;
use chancery_core::codec::{self, check, Canonical, ValidationError};
use chancery_core::epoch::EpochLink;
use chancery_core::ids::{Epoch, Height, TxHash};
use chancery_core::snapshot::{LogPiece, SnapshotChunk, SnapshotManifest};
use chancery_ledger::Ledger;

/// Most blocks in one response.
pub const SYNC_BLOCKS_MAX: u32 = 64;
/// Most epoch links in one response (state sync's chain from the genesis, a page at a
/// time).
pub const SYNC_EPOCH_LINKS_MAX: u32 = 256;
/// Longest reason in a [`SyncResponse::Refused`], in bytes.
pub const SYNC_REFUSAL_BYTES_MAX: usize = 1024;
/// Largest response decoded, in bytes: a static ceiling (the kernel's largest encoding);
/// the network refuses larger answers first, at `WireLimits::response_bytes_max`, which
/// the genesis determines.
pub const SYNC_RESPONSE_BYTES_MAX: usize = chancery_core::limits::ENCODING_BYTES_MAX;

/// A catch-up request.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[bincode(decode_context = "chancery_core::suite::Suite")]
pub enum SyncRequest {
    /// What is your last applied height?
    Status,
    /// Finalized blocks from `from` on, at most `max`.
    Blocks {
        /// First height wanted.
        from: Height,
        /// Most blocks wanted.
        max: u32,
    },
    /// Transactions of a proposal by hash (the receiver of a compact proposal lacks
    /// them; `compact.rs`).
    Txs {
        /// The hashes, at most [`TX_FETCH_HASHES_MAX`].
        hashes: Vec<TxHash>,
    },
    /// State sync: the checkpoint of the latest snapshot you offer.
    SnapshotOffer,
    /// State sync: epoch links from `from` on, at most `max` (the chain that proves a
    /// snapshot's validator set from the genesis).
    EpochLinks {
        /// First epoch whose link is wanted.
        from: Epoch,
        /// Most links wanted.
        max: u32,
    },
    /// State sync: the manifest of the snapshot of `height` (an offered height).
    SnapshotManifest {
        /// The snapshot's height.
        height: Height,
    },
    /// State sync: state chunk `index` of the snapshot of `height`.
    SnapshotChunk {
        /// The snapshot's height.
        height: Height,
        /// The chunk.
        index: u32,
    },
    /// State sync: log piece `index` of the snapshot of `height`.
    SnapshotLogPiece {
        /// The snapshot's height.
        height: Height,
        /// The piece.
        index: u64,
    },
}

impl Canonical for SyncRequest {
    const NAME: &'static str = "sync request";
    const BYTES_MAX: usize = 64 + 32 * TX_FETCH_HASHES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        match self {
            SyncRequest::Blocks { max, .. } if *max == 0 || *max > SYNC_BLOCKS_MAX => Err(
                ValidationError::new("max", format!("1..={SYNC_BLOCKS_MAX}"), max.to_string()),
            ),
            SyncRequest::Txs { hashes } => check::list("hashes", hashes, TX_FETCH_HASHES_MAX),
            SyncRequest::EpochLinks { max, .. } if *max == 0 || *max > SYNC_EPOCH_LINKS_MAX => {
                Err(ValidationError::new(
                    "max",
                    format!("1..={SYNC_EPOCH_LINKS_MAX}"),
                    max.to_string(),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// A catch-up response.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[bincode(decode_context = "chancery_core::suite::Suite")]
pub enum SyncResponse {
    /// Our last applied height.
    Status {
        /// Height.
        height: Height,
    },
    /// Consecutive finalized blocks from the height asked, each with the finalization
    /// certificate the peer stored for it (and, for a boundary finalized through suffix
    /// blocks, their headers). The requester's ledger checks each certificate and suffix
    /// and re-executes each block before applying it.
    Blocks {
        /// The blocks, certificates and suffixes, in height order.
        blocks: Vec<FinalBlock>,
    },
    /// Canonical bytes of the transactions asked for that the peer holds (from its own
    /// recent proposals), in the order asked. The requester hashes each and keeps only
    /// those it asked for.
    Txs {
        /// The transactions.
        txs: Vec<Vec<u8>>,
    },
    /// The checkpoint of the latest snapshot offered (`None`: none yet, or snapshots are
    /// off). The requester verifies it with the epoch chain.
    SnapshotOffer {
        /// A header of the snapshot's height with its own certificate.
        checkpoint: Option<Box<Checkpoint>>,
    },
    /// Epoch links from the epoch asked, in order, and the first epoch of the next page
    /// (`None`: no more links).
    EpochLinks {
        /// The links.
        links: Vec<EpochLink>,
        /// Where the next page starts.
        next: Option<Epoch>,
    },
    /// A snapshot's manifest.
    SnapshotManifest {
        /// The manifest.
        manifest: Box<SnapshotManifest>,
    },
    /// A snapshot's state chunk.
    SnapshotChunk {
        /// The chunk.
        chunk: SnapshotChunk,
    },
    /// A snapshot's log piece.
    SnapshotLogPiece {
        /// The piece.
        piece: LogPiece,
    },
    /// The request was understood and refused: the reason says what is served (for
    /// example which snapshot heights are offered).
    Refused {
        /// Why, at most [`SYNC_REFUSAL_BYTES_MAX`] bytes.
        reason: String,
    },
}

impl SyncResponse {
    /// The answer's kind, for logs and errors (never its contents, which may be large).
    pub fn kind(&self) -> &'static str {
        match self {
            SyncResponse::Status { .. } => "status",
            SyncResponse::Blocks { .. } => "blocks",
            SyncResponse::Txs { .. } => "transactions",
            SyncResponse::SnapshotOffer { .. } => "a snapshot offer",
            SyncResponse::EpochLinks { .. } => "epoch links",
            SyncResponse::SnapshotManifest { .. } => "a snapshot manifest",
            SyncResponse::SnapshotChunk { .. } => "a state chunk",
            SyncResponse::SnapshotLogPiece { .. } => "a log piece",
            SyncResponse::Refused { .. } => "a refusal",
        }
    }
}

impl Canonical for SyncResponse {
    const NAME: &'static str = "sync response";
    const BYTES_MAX: usize = SYNC_RESPONSE_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        if let SyncResponse::Blocks { blocks } = self {
            check::list("blocks", blocks, SYNC_BLOCKS_MAX as usize)?;
            for (i, f) in blocks.iter().enumerate() {
                f.block
                    .validate()
                    .map_err(|e| e.within(&format!("blocks[{i}]")))?;
                f.cert
                    .validate()
                    .map_err(|e| e.within(&format!("blocks[{i}].cert")))?;
                let suffix = format!("blocks[{i}].suffix");
                check::list(&suffix, &f.suffix, chancery_core::limits::EPOCH_SUFFIX_MAX)?;
                for (j, h) in f.suffix.iter().enumerate() {
                    h.validate()
                        .map_err(|e| e.within(&format!("{suffix}[{j}]")))?;
                }
            }
        }
        match self {
            SyncResponse::Txs { txs } => {
                check::list("txs", txs, TX_FETCH_HASHES_MAX)?;
                for (i, t) in txs.iter().enumerate() {
                    check::list(&format!("txs[{i}]"), t, chancery_core::limits::TX_BYTES_MAX)?;
                }
            }
            SyncResponse::SnapshotOffer {
                checkpoint: Some(cp),
            } => cp.validate().map_err(|e| e.within("checkpoint"))?,
            SyncResponse::EpochLinks { links, .. } => {
                check::list("links", links, SYNC_EPOCH_LINKS_MAX as usize)?;
                for (i, l) in links.iter().enumerate() {
                    l.validate().map_err(|e| e.within(&format!("links[{i}]")))?;
                }
            }
            SyncResponse::SnapshotManifest { manifest } => {
                manifest.validate().map_err(|e| e.within("manifest"))?
            }
            SyncResponse::SnapshotChunk { chunk } => {
                chunk.validate().map_err(|e| e.within("chunk"))?
            }
            SyncResponse::SnapshotLogPiece { piece } => {
                piece.validate().map_err(|e| e.within("piece"))?
            }
            SyncResponse::Refused { reason } => {
                check::list("reason", reason.as_bytes(), SYNC_REFUSAL_BYTES_MAX)?
            }
            _ => {}
        }
        Ok(())
    }
}

/// How long a peer's claimed height counts, in milliseconds (issue 14, finding 9).
pub const PEER_CLAIM_TTL_MS: u64 = 10_000;

/// The heights peers claim in their sync `Status` answers, for readiness (issue 14,
/// finding 9). A claim is not evidence: one Byzantine peer can claim any height. So a
/// height counts only when `vouchers` distinct validators (f + 1: at least one honest)
/// claim at least that much, and only claims younger than [`PEER_CLAIM_TTL_MS`] count, so
/// the estimate goes down when claims stop. One entry per validator name.
#[derive(Debug)]
pub struct PeerHeights {
    vouchers: usize,
    claims: std::collections::HashMap<chancery_net::PeerName, (Height, std::time::Instant)>,
}

impl PeerHeights {
    /// Heights vouched for by `vouchers` peers (at least 1).
    pub fn new(vouchers: usize) -> PeerHeights {
        PeerHeights {
            vouchers: vouchers.max(1),
            claims: std::collections::HashMap::new(),
        }
    }

    /// `peer` (a validator) claims to be at `height` at `now`; replaces its earlier claim,
    /// even a higher one.
    pub fn claim(&mut self, peer: chancery_net::PeerName, height: Height, now: std::time::Instant) {
        self.claims.insert(peer, (height, now));
    }

    /// Whether `vouchers` peers have claimed a height within the last
    /// [`PEER_CLAIM_TTL_MS`]: until then [`PeerHeights::height`] says nothing about where
    /// the chain is (a node that has heard nobody does not know it is behind).
    pub fn vouched(&self, now: std::time::Instant) -> bool {
        let ttl = std::time::Duration::from_millis(PEER_CLAIM_TTL_MS);
        self.claims
            .values()
            .filter(|(_, at)| now.saturating_duration_since(*at) < ttl)
            .count()
            >= self.vouchers
    }

    /// The highest height that `vouchers` fresh claims reach at `now` (0 with fewer claims).
    pub fn height(&self, now: std::time::Instant) -> Height {
        let ttl = std::time::Duration::from_millis(PEER_CLAIM_TTL_MS);
        let mut fresh: Vec<Height> = self
            .claims
            .values()
            .filter(|(_, at)| now.saturating_duration_since(*at) < ttl)
            .map(|(h, _)| *h)
            .collect();
        fresh.sort_unstable_by(|a, b| b.cmp(a));
        fresh.get(self.vouchers - 1).copied().unwrap_or(Height(0))
    }
}

/// Answer a request from our ledger (or, for transactions, our recent proposals); the
/// blocks or transactions of one answer total at most `blocks_bytes_max` bytes
/// (`WireLimits::sync_blocks_bytes_max`), or are one block or transaction.
pub fn answer(
    ledger: &Ledger,
    recent: &RecentTxs,
    snapshots: &SnapshotOffers,
    request: &[u8],
    blocks_bytes_max: usize,
) -> Option<Vec<u8>> {
    let req: SyncRequest = codec::decode_in(ledger.suite(), request).ok()?;
    let resp = match req {
        SyncRequest::SnapshotOffer
        | SyncRequest::EpochLinks { .. }
        | SyncRequest::SnapshotManifest { .. }
        | SyncRequest::SnapshotChunk { .. }
        | SyncRequest::SnapshotLogPiece { .. } => snapshots.answer(ledger, req, blocks_bytes_max),
        SyncRequest::Txs { hashes } => SyncResponse::Txs {
            txs: recent.answer(&hashes, blocks_bytes_max),
        },
        SyncRequest::Status => SyncResponse::Status {
            height: ledger.tip().height,
        },
        SyncRequest::Blocks { from, max } => {
            let tip = ledger.tip().height;
            let mut h = from;
            let stored = std::iter::from_fn(|| {
                if h > tip {
                    return None;
                }
                let (block, cert) = ledger.block(h).ok().flatten()?;
                let suffix = ledger.block_suffix(h).ok()?;
                h = h.next();
                Some(FinalBlock {
                    block,
                    cert,
                    suffix,
                })
            });
            SyncResponse::Blocks {
                blocks: pack(stored, max as usize, blocks_bytes_max),
            }
        }
    };
    Some(codec::encode(&resp))
}

/// The blocks of one sync answer: consecutive blocks from `stored`, at most `max`, whose
/// encodings total at most `bytes_max` (a first block larger than that goes alone).
pub fn pack(
    stored: impl Iterator<Item = FinalBlock>,
    max: usize,
    bytes_max: usize,
) -> Vec<FinalBlock> {
    let mut blocks = Vec::new();
    let mut bytes = 0usize;
    for f in stored.take(max.min(SYNC_BLOCKS_MAX as usize)) {
        let size = f.encoded_len();
        if bytes.saturating_add(size) > bytes_max && !blocks.is_empty() {
            break;
        }
        bytes = bytes.saturating_add(size);
        blocks.push(f);
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_net::PeerName;
    use std::time::{Duration, Instant};

    #[test]
    fn a_lying_peer_does_not_set_the_height_and_stale_claims_expire() {
        // Four validators: f = 1, two vouchers.
        let mut p = PeerHeights::new(2);
        let t0 = Instant::now();
        p.claim(PeerName::from("liar"), Height(1_000_000_000), t0);
        assert_eq!(p.height(t0), Height(0), "one claim is no evidence");
        p.claim(PeerName::from("a"), Height(10), t0);
        p.claim(PeerName::from("b"), Height(12), t0);
        assert_eq!(p.height(t0), Height(12), "the second highest claim");
        // Claims expire: after the TTL the estimate goes down.
        let later = t0 + Duration::from_millis(PEER_CLAIM_TTL_MS + 1);
        assert_eq!(p.height(later), Height(0));
        p.claim(PeerName::from("a"), Height(11), later);
        p.claim(PeerName::from("b"), Height(11), later);
        assert_eq!(p.height(later), Height(11));
        // A peer's new, lower claim replaces its old one.
        p.claim(PeerName::from("b"), Height(3), later);
        assert_eq!(p.height(later), Height(3));
    }
}
