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

/// What the node reports about itself (`/readyz`, `/v1/status`, the explorer's home page):
/// the shared API type, so that clients read exactly what the node writes.
pub use chancery_api_types::NodeStatus;
