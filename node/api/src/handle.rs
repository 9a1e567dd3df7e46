//! The interface between the HTTP layer and the node: commands the API sends to the
//! consensus driver, events it receives, and the status it reads.

use chancery_core::ids::{Digest, Height, TxHash};
use chancery_core::tx::Transaction;
use chancery_mempool::AdmitError;
use tokio::sync::oneshot;

/// A request from the API to the driver.
pub enum Command {
    /// Admit transactions to the mempool (and gossip them).
    Submit {
        /// The transactions (decoded, unverified).
        txs: Vec<Transaction>,
        /// Their signature verdicts, computed by the API before sending (on its blocking
        /// pool), so the driver — which runs consensus — does not check signatures.
        verdicts: chancery_mempool::Verdicts,
        /// One answer per transaction.
        reply: oneshot::Sender<Vec<Result<TxHash, AdmitError>>>,
    },
    /// Is this transaction pending in the mempool?
    IsPending {
        /// Hash.
        hash: TxHash,
        /// Answer.
        reply: oneshot::Sender<bool>,
    },
}

/// Something that happened, for the event stream.
#[derive(Clone, Debug)]
pub enum Event {
    /// A block was applied.
    Block {
        /// Height.
        height: Height,
        /// Header hash.
        hash: Digest,
        /// Transactions in it.
        tx_count: u32,
        /// Log size after it.
        log_size: u64,
    },
}

/// What the node reports about itself (`/readyz`, the explorer's home page).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct NodeStatus {
    /// Current view of the consensus core.
    pub view: u64,
    /// Last applied height.
    pub height: u64,
    /// The peers' height, at least ours: the highest height that f + 1 validators claimed
    /// in the last 10 s (so one lying peer cannot set it, and it goes down when claims stop).
    pub peer_height: u64,
    /// Validators we are connected to (ourselves included if a validator).
    pub validators_live: usize,
    /// Validators needed for a quorum.
    pub quorum: usize,
    /// Number of validators.
    pub validators: usize,
    /// Pending transactions in the mempool.
    pub mempool_txs: usize,
    /// Evidence of misbehaviour seen.
    pub evidence: usize,
    /// Whether this node votes.
    pub validator: bool,
    /// Whether the driver has started.
    pub started: bool,
    /// Finalized blocks from peers that did not decode or apply (fetched again by sync).
    pub finalized_refused: u64,
    /// Finalized blocks refused because too many waited for their certificate (fetched
    /// again by sync).
    pub finalized_waiting_overflow: u64,
}

impl NodeStatus {
    /// How far behind its peers a node may be and still be ready, in blocks.
    pub const LAG_BLOCKS_MAX: u64 = 2;

    /// Caught up and, for a validator, seeing a quorum.
    pub fn ready(&self) -> bool {
        self.started
            && self.height + Self::LAG_BLOCKS_MAX >= self.peer_height
            && (!self.validator || self.validators_live >= self.quorum)
    }
}
