//! Catch-up: a node that was down, or a new observer, fetches finalized blocks with their
//! certificates from peers by request-response, verifies them, and applies them.
//!
//! Requests and responses are canonical kernel encodings. A response carries a run of
//! consecutive blocks, each with the finalization certificate its sender stored. The
//! requester applies them in order through the ledger, which checks each certificate
//! (quorum of the validator set, this block), the parent link, re-executes the block and
//! checks every root: a lying peer can waste a request but never make us apply anything
//! uncertified.

use bincode::{Decode, Encode};
use chancery_core::block::Block;
use chancery_core::cert::Certificate;
use chancery_core::codec::{self, check, Canonical, ValidationError};
use chancery_core::ids::Height;
use chancery_ledger::Ledger;

/// Most blocks in one response.
pub const SYNC_BLOCKS_MAX: u32 = 64;
/// Largest response decoded, in bytes: a static ceiling (the kernel's largest encoding);
/// the network refuses larger answers first, at `WireLimits::response_bytes_max`, which
/// the genesis determines.
pub const SYNC_RESPONSE_BYTES_MAX: usize = chancery_core::limits::ENCODING_BYTES_MAX;

/// A catch-up request.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
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
}

impl Canonical for SyncRequest {
    const NAME: &'static str = "sync request";
    const BYTES_MAX: usize = 64;
    fn validate(&self) -> Result<(), ValidationError> {
        match self {
            SyncRequest::Blocks { max, .. } if *max == 0 || *max > SYNC_BLOCKS_MAX => Err(
                ValidationError::new("max", format!("1..={SYNC_BLOCKS_MAX}"), max.to_string()),
            ),
            _ => Ok(()),
        }
    }
}

/// A catch-up response.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum SyncResponse {
    /// Our last applied height.
    Status {
        /// Height.
        height: Height,
    },
    /// Consecutive finalized blocks from the height asked, each with the finalization
    /// certificate the peer stored for it. The requester's ledger checks each certificate
    /// and re-executes each block before applying it.
    Blocks {
        /// The blocks and certificates, in height order.
        blocks: Vec<(Block, Certificate)>,
    },
}

impl Canonical for SyncResponse {
    const NAME: &'static str = "sync response";
    const BYTES_MAX: usize = SYNC_RESPONSE_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        if let SyncResponse::Blocks { blocks } = self {
            check::list("blocks", blocks, SYNC_BLOCKS_MAX as usize)?;
            for (i, (b, c)) in blocks.iter().enumerate() {
                b.validate()
                    .map_err(|e| e.within(&format!("blocks[{i}]")))?;
                c.validate()
                    .map_err(|e| e.within(&format!("blocks[{i}].cert")))?;
            }
        }
        Ok(())
    }
}

/// Answer a request from our ledger; the blocks of one answer total at most
/// `blocks_bytes_max` bytes (`WireLimits::sync_blocks_bytes_max`), or are one block.
pub fn answer(ledger: &Ledger, request: &[u8], blocks_bytes_max: usize) -> Option<Vec<u8>> {
    let req: SyncRequest = codec::decode(request).ok()?;
    let resp = match req {
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
                let b = ledger.block(h).ok().flatten()?;
                h = h.next();
                Some(b)
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
    stored: impl Iterator<Item = (Block, Certificate)>,
    max: usize,
    bytes_max: usize,
) -> Vec<(Block, Certificate)> {
    let mut blocks = Vec::new();
    let mut bytes = 0usize;
    for (b, c) in stored.take(max.min(SYNC_BLOCKS_MAX as usize)) {
        let size = codec::encode(&b).len();
        if bytes.saturating_add(size) > bytes_max && !blocks.is_empty() {
            break;
        }
        bytes = bytes.saturating_add(size);
        blocks.push((b, c));
    }
    blocks
}
