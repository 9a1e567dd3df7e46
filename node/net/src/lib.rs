//! # chancery-net — the network layer
//!
//! One small trait, [`Network`], is all the node's consensus and ledger loop sees of the
//! network. Two implementations exist:
//!
//! - [`MemNetwork`] (from a [`MemHub`]): endpoints in one process joined by bounded channels;
//!   for tests, simulators and single-process demos.
//! - [`P2pNetwork`]: libp2p 0.57 over TCP + Noise + Yamux, with an allow-listed peer set,
//!   bounded per-peer outbound queues, one long-lived stream per peer and channel carrying
//!   framed batches under credit-based flow control, peer scoring and bans.
//!
//! The allowed peer set (names and network keys) is given at start and replaced at runtime
//! with [`Network::set_peers`] when the validator set changes (governance, at an epoch
//! boundary).
//!
//! What the trait carries is opaque bytes: the node defines payloads (votes, proposals,
//! transaction batches, catch-up requests) and verifies their signatures itself. The
//! transport never signs a message again. Delivery is **best effort and at most once**:
//! a message may be lost (queue overflow, connection drop), never duplicated by this layer.
//! Consensus must tolerate loss (timeouts, catch-up by [`Network::request`]).
//!
//! Received messages arrive on a bounded `tokio::sync::mpsc` channel as [`Inbound`] values;
//! requests are answered by a [`RequestHandler`] the node supplies when it builds the
//! network. See `docs/network.md` for the design, the limits and measured figures.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod mem;
pub mod p2p;
mod peers;
mod queue;
mod streams;
mod wire;

/// The frame codec of the message streams, for the fuzz targets
/// (`fuzz/fuzz_targets/net_frame.rs`); not an API of the network.
#[doc(hidden)]
pub mod frame {
    use super::{Bytes, Channel, Limits};

    /// Decode a frame body (what follows its length prefix) of `channel` as a receiver
    /// with `limits` does: the length checked first, then the messages; the error says
    /// what was expected.
    pub fn decode(limits: &Limits, channel: Channel, body: &[u8]) -> Result<Vec<Bytes>, String> {
        crate::wire::check_frame_len(limits, channel, body.len()).map_err(|e| e.to_string())?;
        crate::wire::decode_frame(limits, channel, &Bytes::copy_from_slice(body))
            .map_err(|e| e.to_string())
    }

    /// One frame holding `msgs`, its 4-byte length prefix included (`None` only past
    /// 4 GiB).
    pub fn encode(msgs: &[Bytes]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        crate::wire::encode_frame(msgs, &mut out).ok()?;
        Some(out)
    }
}

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use libp2p::bytes::Bytes;
pub use libp2p::Multiaddr;
pub use mem::{MemHub, MemNetwork};
pub use p2p::{peer_id_of, peers_of, P2pConfig, P2pError, P2pNetwork};

/// A boxed future, so that [`Network`] stays object-safe (`Arc<dyn Network>`).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The name of a peer: a validator's `name` from the genesis, or an observer's name from
/// the node configuration. Unique within one network. Cheap to clone.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerName(Arc<str>);

impl PeerName {
    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for PeerName {
    fn from(s: &str) -> Self {
        PeerName(Arc::from(s))
    }
}

impl From<String> for PeerName {
    fn from(s: String) -> Self {
        PeerName(Arc::from(s))
    }
}

impl fmt::Display for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

/// A peer this node may talk to: an entry of the allowed peer set, given at start
/// ([`P2pConfig::peers`]) and replaced at runtime with [`Network::set_peers`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    /// Its name (validator name in the genesis or the current validator set, or observer
    /// name).
    pub name: PeerName,
    /// Its 32-byte Ed25519 network key; the libp2p identity the gate admits under `name`.
    /// [`MemNetwork`] checks it like [`P2pNetwork`] does but otherwise ignores it.
    pub network_key: chancery_core::ids::NetworkKey,
    /// Where to dial it; empty if it dials us (or addresses come later through
    /// [`P2pNetwork::add_address`]). Ignored by [`MemNetwork`].
    pub addrs: Vec<Multiaddr>,
}

/// Why [`Network::set_peers`] (or [`P2pNetwork::start`]) refused a peer list. Nothing was
/// changed.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum SetPeersError {
    /// A network key is not a valid Ed25519 public key.
    #[error("network key {key} of peer {peer} is not a valid Ed25519 public key: {reason}")]
    BadNetworkKey {
        /// Whose key.
        peer: PeerName,
        /// The key, hex.
        key: String,
        /// The decoder's complaint.
        reason: String,
    },
    /// Two entries have the same name.
    #[error("peer {peer} appears twice in the peer set")]
    DuplicateName {
        /// The name.
        peer: PeerName,
    },
    /// Two entries have the same network key (one identity cannot have two names).
    #[error("peers {first} and {peer} have the same network key {key}")]
    DuplicateKey {
        /// The later entry.
        peer: PeerName,
        /// The earlier entry with that key.
        first: PeerName,
        /// The key, hex.
        key: String,
    },
    /// More peers than [`Limits::peers_max`] (entries naming this node not counted).
    #[error("{peers} peers is over the limit of {peers_max} peers")]
    TooMany {
        /// Peers in the list.
        peers: usize,
        /// The limit.
        peers_max: usize,
    },
}

/// What [`Network::set_peers`] changed, for the caller's log. Each list is in name order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerSetChange {
    /// Names allowed now that were not before.
    pub added: Vec<PeerName>,
    /// Names no longer allowed: disconnected, their queues dropped, refused from now on.
    pub removed: Vec<PeerName>,
    /// Names kept whose network key changed: the old identity was removed (disconnected,
    /// refused, its queue, score and ban dropped) and the new one added.
    /// Always empty for [`MemNetwork`], which ignores keys.
    pub rotated: Vec<PeerName>,
}

impl PeerSetChange {
    /// True if the new list allowed exactly the peers allowed before.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.rotated.is_empty()
    }
}

/// A named one-way channel. Each has its own size limit and its own per-peer queue, so
/// that a backlog of transaction batches never delays a vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// Consensus messages (proposals, votes, certificates). Queue policy: drop the oldest
    /// when full — newer consensus messages supersede older ones.
    Consensus,
    /// Transaction batches (mempool gossip). Queue policy: refuse the newest when full —
    /// the transactions stay in the sender's mempool, and refusing pushes back on the source.
    Transactions,
}

impl Channel {
    /// Every channel, in wire order.
    pub const ALL: [Channel; 2] = [Channel::Consensus, Channel::Transactions];

    /// The byte that names this channel on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            Channel::Consensus => 0,
            Channel::Transactions => 1,
        }
    }

    /// The channel a wire byte names, if any.
    pub fn from_byte(b: u8) -> Option<Channel> {
        match b {
            0 => Some(Channel::Consensus),
            1 => Some(Channel::Transactions),
            _ => None,
        }
    }

    fn index(self) -> usize {
        self.to_byte() as usize
    }
}

/// One received message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inbound {
    /// Who sent it (authenticated by the transport: the Noise handshake for libp2p).
    pub from: PeerName,
    /// On which channel.
    pub channel: Channel,
    /// The opaque payload.
    pub payload: Bytes,
}

/// Why the application reports a peer (see [`Network::report`]). Each kind costs the peer
/// a number of points ([`Misbehaviour::penalty`]); at [`Limits::score_ban`] the peer is
/// disconnected and refused for [`Limits::ban_ms`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misbehaviour {
    /// A payload the application could not decode or that failed validation.
    Invalid,
    /// A payload with a signature that does not verify.
    BadSignature,
    /// Well-formed but unwanted traffic (duplicates, stale messages beyond reason).
    Spam,
    /// A message over its channel's size limit (detected by the transport itself).
    Oversize,
    /// Framing the transport cannot decode (detected by the transport itself).
    BadFraming,
}

impl Misbehaviour {
    /// Points subtracted from the peer's score.
    pub fn penalty(self) -> i64 {
        match self {
            Misbehaviour::Invalid => 25,
            Misbehaviour::BadSignature => 50,
            Misbehaviour::Spam => 5,
            Misbehaviour::Oversize => 40,
            Misbehaviour::BadFraming => 40,
        }
    }
}

/// Why a message could not be queued for sending.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// The destination is not in the allowed peer set (never was, or was removed by
    /// [`Network::set_peers`]).
    #[error("unknown peer {peer}")]
    UnknownPeer {
        /// The name asked for.
        peer: PeerName,
    },
    /// The payload is over the channel's size limit.
    #[error("{channel:?} message of {bytes} bytes is over the limit of {bytes_max} bytes")]
    TooLarge {
        /// The channel.
        channel: Channel,
        /// Payload size.
        bytes: usize,
        /// The limit.
        bytes_max: usize,
    },
    /// The network has shut down.
    #[error("network is shut down")]
    Closed,
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    /// The destination is not in the allowed peer set (never was, or was removed by
    /// [`Network::set_peers`]).
    #[error("unknown peer {peer}")]
    UnknownPeer {
        /// The name asked for.
        peer: PeerName,
    },
    /// The request is over [`Limits::request_bytes_max`].
    #[error("request of {bytes} bytes is over the limit of {bytes_max} bytes")]
    TooLarge {
        /// Request size.
        bytes: usize,
        /// The limit.
        bytes_max: usize,
    },
    /// No answer within [`Limits::request_timeout_ms`].
    #[error("no answer from {peer} within {timeout_ms} ms")]
    Timeout {
        /// The peer asked.
        peer: PeerName,
        /// The timeout.
        timeout_ms: u64,
    },
    /// The peer's handler declined to answer.
    #[error("{peer} declined the request")]
    Declined {
        /// The peer asked.
        peer: PeerName,
    },
    /// The peer is at its limit of concurrent handler tasks.
    #[error("{peer} is busy (at its limit of concurrent requests)")]
    Busy {
        /// The peer asked.
        peer: PeerName,
    },
    /// The transport failed (not connected, connection closed, bad response...).
    #[error("request to {peer} failed: {reason}")]
    Failed {
        /// The peer asked.
        peer: PeerName,
        /// What went wrong.
        reason: String,
    },
    /// The network has shut down.
    #[error("network is shut down")]
    Closed,
}

/// Answers catch-up requests. The node supplies it when building a network; it runs on a
/// blocking thread (it may read storage), at most [`Limits::handler_tasks_max`] at once.
/// Returning `None` declines the request (the requester gets [`RequestError::Declined`]).
pub trait RequestHandler: Send + Sync + 'static {
    /// Answer `request` from `from`.
    fn handle(&self, from: &PeerName, request: Bytes) -> Option<Bytes>;
}

impl<F> RequestHandler for F
where
    F: Fn(&PeerName, Bytes) -> Option<Bytes> + Send + Sync + 'static,
{
    fn handle(&self, from: &PeerName, request: Bytes) -> Option<Bytes> {
        self(from, request)
    }
}

/// A handler that declines every request.
pub fn no_requests() -> Arc<dyn RequestHandler> {
    Arc::new(|_: &PeerName, _: Bytes| -> Option<Bytes> { None })
}

/// Default [`Limits::peers_max`]: as many validators as a validator set may hold
/// (`chancery_core::limits::VALIDATORS_MAX`), and as many observers again.
pub const PEERS_MAX_DEFAULT: usize = 2 * chancery_core::limits::VALIDATORS_MAX;

/// Every limit of the network layer. The defaults suit 4-31 validators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest [`Channel::Consensus`] message, bytes.
    pub consensus_bytes_max: usize,
    /// Largest [`Channel::Transactions`] message, bytes.
    pub transactions_bytes_max: usize,
    /// Largest request, bytes.
    pub request_bytes_max: usize,
    /// Largest response (e.g. a batch of blocks with certificates), bytes.
    pub response_bytes_max: usize,
    /// Per peer and channel: most messages waiting to be sent.
    pub queue_messages_max: usize,
    /// Per peer and channel: most bytes waiting to be sent.
    pub queue_bytes_max: usize,
    /// Capacity of the inbound channel, messages.
    pub inbound_messages_max: usize,
    /// Soft size of one outbound frame (the queued messages of one channel sent in one
    /// write), bytes. A single larger message still goes alone.
    pub batch_bytes_max: usize,
    /// Most messages in one frame.
    pub batch_messages_max: usize,
    /// Per inbound stream (one per peer and channel): the credit this node grants, i.e.
    /// the most frames the peer may have sent and not yet seen credited back (a frame is
    /// credited back once its messages are in the inbound channel).
    pub inflight_batches_max: usize,
    /// How long a request may wait for its answer (and a stream for its negotiation), ms.
    pub request_timeout_ms: u64,
    /// Most request handlers running at once; more requests are answered "busy".
    pub handler_tasks_max: usize,
    /// First redial delay after a connection drops or a dial fails, ms.
    pub redial_ms_min: u64,
    /// Largest redial delay (the delay doubles up to this), ms.
    pub redial_ms_max: u64,
    /// Score at or below which a peer is disconnected and refused (negative).
    pub score_ban: i64,
    /// How long a banned peer is refused, ms. Its score restarts at 0 afterwards.
    pub ban_ms: u64,
    /// Most established connections per peer.
    pub connections_per_peer_max: u32,
    /// Most peers in the allowed set (this node not counted), at start and in
    /// [`Network::set_peers`]: validators (at most `VALIDATORS_MAX`, 256) plus observers.
    /// Connection limits follow the current set's size, so this bounds them too.
    pub peers_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        const MIB: usize = 1024 * 1024;
        Limits {
            consensus_bytes_max: 4 * MIB,
            transactions_bytes_max: 4 * MIB,
            request_bytes_max: 64 * 1024,
            response_bytes_max: 16 * MIB,
            queue_messages_max: 1024,
            queue_bytes_max: 32 * MIB,
            inbound_messages_max: 4096,
            batch_bytes_max: MIB,
            batch_messages_max: 512,
            inflight_batches_max: 4,
            request_timeout_ms: 10_000,
            handler_tasks_max: 8,
            redial_ms_min: 200,
            redial_ms_max: 30_000,
            score_ban: -100,
            ban_ms: 60_000,
            connections_per_peer_max: 2,
            peers_max: PEERS_MAX_DEFAULT,
        }
    }
}

impl Limits {
    /// The size limit of one message on `channel`, bytes.
    pub fn message_bytes_max(&self, channel: Channel) -> usize {
        match channel {
            Channel::Consensus => self.consensus_bytes_max,
            Channel::Transactions => self.transactions_bytes_max,
        }
    }

    fn check_message(&self, channel: Channel, bytes: usize) -> Result<(), SendError> {
        let bytes_max = self.message_bytes_max(channel);
        if bytes > bytes_max {
            return Err(SendError::TooLarge {
                channel,
                bytes,
                bytes_max,
            });
        }
        Ok(())
    }
}

/// Bytes of a canonical block encoding beyond its transactions' bytes (version byte,
/// header, list lengths): the kernel's margin in `Block::BYTES_MAX`.
pub const BLOCK_FRAMING_BYTES_MAX: usize = chancery_core::limits::BLOCK_FRAME_BYTES_MAX;
/// Bytes of a certificate beyond its signatures (kind, epoch, view, block, list length):
/// the kernel's margin in `Certificate::BYTES_MAX`.
pub const CERTIFICATE_FRAMING_BYTES_MAX: usize = chancery_core::limits::CERTIFICATE_FRAME_BYTES_MAX;
/// Bytes of one signature in a certificate (index and Ed25519 signature).
pub const CERTIFICATE_SIGNATURE_BYTES: usize = 2 + 64;
/// Bytes of a message beyond its block and certificates (tags, ids, the leader's signature).
pub const MESSAGE_FRAMING_BYTES_MAX: usize = 1024;
/// Most transaction bytes in one gossip batch (the mempool's default
/// `gossip_batch_bytes_max`); each transaction also carries an 8-byte length.
pub const GOSSIP_TXS_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Block bytes a sync answer aims at; one block larger than this still goes alone.
pub const SYNC_BLOCKS_BYTES_TARGET: usize = 16 * 1024 * 1024;
/// Bytes of the length that precedes each transaction in a gossip message (a `u64`).
pub const GOSSIP_TX_LENGTH_BYTES: usize = 8;
/// Bytes per block of a sync answer beyond its block and certificate (the lengths of the
/// pair).
pub const SYNC_BLOCK_FRAMING_BYTES_MAX: usize = 16;
/// Largest consensus or transaction messages a per-peer queue holds at least, so one
/// large message never finds the queue too small for it and the next.
pub const QUEUE_LARGEST_MESSAGES_MIN: usize = 2;

/// Largest canonical encoding of a block whose transactions total at most
/// `block_bytes_max` bytes (the genesis parameter), in bytes.
pub fn block_encoding_bytes_max(block_bytes_max: u32) -> usize {
    (block_bytes_max as usize).saturating_add(BLOCK_FRAMING_BYTES_MAX)
}

/// What, besides the genesis, bounds the node's messages: the shape of its protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageShape {
    /// Most certificates one consensus message carries (a proposal: the parent's and every
    /// skipped view's nullification).
    pub certificates_per_message_max: usize,
    /// Most blocks one consensus message carries (evidence of a leader's equivocation
    /// carries its two signed proposals).
    pub blocks_per_message_max: usize,
    /// Most blocks in one sync answer.
    pub blocks_per_response_max: usize,
    /// Most transactions in one gossip batch.
    pub txs_per_gossip_max: usize,
    /// Most validators a certificate is sized for: governance may grow the set while the
    /// node runs (docs/governance.md), and the limits are fixed at start. The genesis
    /// set's size is used when it is larger.
    pub validators_max: usize,
}

/// Every wire limit that depends on the chain (issue 14, finding 6), derived in one place
/// from the genesis parameters: the largest block the genesis allows must fit in a
/// proposal, and a sync answer within the response limit, so no limit contradicts another.
/// [`Limits::with_wire`] applies them to the transport; the node uses the same values to
/// build proposals, sync answers and gossip batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireLimits {
    /// Largest canonical encoding of a block the genesis allows, bytes.
    pub block_bytes_max: usize,
    /// Largest certificate of the validator set, bytes.
    pub certificate_bytes_max: usize,
    /// Largest consensus message (a proposal of the largest block with its justification).
    pub consensus_bytes_max: usize,
    /// Most transaction bytes in one gossip batch.
    pub gossip_txs_bytes_max: usize,
    /// Largest transaction gossip message, bytes.
    pub transactions_bytes_max: usize,
    /// Most block bytes in one sync answer (at least one largest block).
    pub sync_blocks_bytes_max: usize,
    /// Largest sync answer, bytes.
    pub response_bytes_max: usize,
}

impl WireLimits {
    /// The limits of the chain of `genesis` (its `block_bytes_max`, and the size of its
    /// validator set or `shape.validators_max`, the larger) for messages of `shape`.
    pub fn from_genesis(genesis: &chancery_core::genesis::Genesis, shape: MessageShape) -> Self {
        let block_bytes_max = block_encoding_bytes_max(genesis.params.block_bytes_max);
        let certificate_bytes_max = CERTIFICATE_FRAMING_BYTES_MAX.saturating_add(
            genesis
                .validators
                .len()
                .max(shape.validators_max)
                .saturating_mul(CERTIFICATE_SIGNATURE_BYTES),
        );
        let justified = block_bytes_max.saturating_add(
            shape
                .certificates_per_message_max
                .saturating_mul(certificate_bytes_max),
        );
        let blocks = shape
            .blocks_per_message_max
            .saturating_mul(block_bytes_max.saturating_add(MESSAGE_FRAMING_BYTES_MAX));
        let consensus_bytes_max = justified
            .max(blocks)
            .saturating_add(MESSAGE_FRAMING_BYTES_MAX);
        let transactions_bytes_max = GOSSIP_TXS_BYTES_MAX
            .saturating_add(
                shape
                    .txs_per_gossip_max
                    .saturating_mul(GOSSIP_TX_LENGTH_BYTES),
            )
            .saturating_add(MESSAGE_FRAMING_BYTES_MAX);
        let sync_blocks_bytes_max = SYNC_BLOCKS_BYTES_TARGET.max(block_bytes_max);
        let response_bytes_max =
            sync_blocks_bytes_max
                .saturating_add(shape.blocks_per_response_max.saturating_mul(
                    certificate_bytes_max.saturating_add(SYNC_BLOCK_FRAMING_BYTES_MAX),
                ))
                .saturating_add(MESSAGE_FRAMING_BYTES_MAX)
                // A state-sync answer: a snapshot's largest log piece (or state chunk).
                .max(
                    chancery_core::limits::SNAPSHOT_LOG_PIECE_BYTES_MAX
                        .max(chancery_core::limits::SNAPSHOT_CHUNK_BYTES_MAX)
                        .saturating_add(MESSAGE_FRAMING_BYTES_MAX),
                );
        WireLimits {
            block_bytes_max,
            certificate_bytes_max,
            consensus_bytes_max,
            gossip_txs_bytes_max: GOSSIP_TXS_BYTES_MAX,
            transactions_bytes_max,
            sync_blocks_bytes_max,
            response_bytes_max,
        }
    }
}

impl Limits {
    /// These limits with the chain's message limits; per-peer queues grow to hold at least
    /// two of the largest consensus messages.
    pub fn with_wire(mut self, w: &WireLimits) -> Limits {
        self.consensus_bytes_max = w.consensus_bytes_max;
        self.transactions_bytes_max = w.transactions_bytes_max;
        self.response_bytes_max = w.response_bytes_max;
        self.queue_bytes_max = self
            .queue_bytes_max
            .max(
                w.consensus_bytes_max
                    .saturating_mul(QUEUE_LARGEST_MESSAGES_MIN),
            )
            .max(
                w.transactions_bytes_max
                    .saturating_mul(QUEUE_LARGEST_MESSAGES_MIN),
            );
        self
    }
}

/// What a network knows about its peers; published through a `tokio::sync::watch`
/// channel whenever it changes (connections, scores, bans, refusals), so tests and the
/// node can wait on it instead of polling.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerStatus {
    /// Peers with at least one established connection.
    pub connected: BTreeSet<PeerName>,
    /// Current score of every peer that has lost points.
    pub scores: BTreeMap<PeerName, i64>,
    /// Peers currently banned.
    pub banned: BTreeSet<PeerName>,
    /// Connections refused at the gate because the remote is not in the allowed set
    /// (or is banned). Counts attempts, not peers.
    pub refused_connections: u64,
}

/// Traffic counters (monotonic), read with [`Network::counters`].
#[derive(Debug, Default)]
pub struct Counters {
    sent: [AtomicU64; 2],
    received: [AtomicU64; 2],
    dropped_oldest: [AtomicU64; 2],
    refused_full: [AtomicU64; 2],
    inbound_rejected: AtomicU64,
    batches_failed: AtomicU64,
    requests_served: AtomicU64,
    streams_opened: [AtomicU64; 2],
    frames_sent: AtomicU64,
    bytes_sent: [AtomicU64; 2],
}

/// A snapshot of [`Counters`]; per-channel arrays are indexed in [`Channel::ALL`] order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// Messages handed to the transport (per channel).
    pub sent: [u64; 2],
    /// Messages delivered to the inbound channel (per channel).
    pub received: [u64; 2],
    /// Queued messages dropped to make room (drop-oldest policy, per channel).
    pub dropped_oldest: [u64; 2],
    /// New messages refused because the queue was full (refuse policy, per channel).
    pub refused_full: [u64; 2],
    /// Inbound frames or requests rejected as oversize, undecodable or sent without
    /// credit (each is a peer offence).
    pub inbound_rejected: u64,
    /// Outbound frames whose stream or connection failed before they were credited back:
    /// possibly lost with their messages (possibly delivered: at most once, never resent).
    pub batches_failed: u64,
    /// Requests answered by the local handler.
    pub requests_served: u64,
    /// Outbound message streams opened (per channel); one per peer and channel while
    /// connections and streams stay up.
    pub streams_opened: [u64; 2],
    /// Outbound frames written (each carries one or more messages of one channel).
    pub frames_sent: u64,
    /// Bytes of the messages taken into frames, framing included (per channel); for
    /// `MemNetwork`, of the messages delivered.
    pub bytes_sent: [u64; 2],
}

impl Counters {
    fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// A consistent-enough snapshot (each counter read once, relaxed).
    pub fn snapshot(&self) -> CountersSnapshot {
        let r = |a: &[AtomicU64; 2]| [a[0].load(Ordering::Relaxed), a[1].load(Ordering::Relaxed)];
        CountersSnapshot {
            sent: r(&self.sent),
            received: r(&self.received),
            dropped_oldest: r(&self.dropped_oldest),
            refused_full: r(&self.refused_full),
            inbound_rejected: self.inbound_rejected.load(Ordering::Relaxed),
            batches_failed: self.batches_failed.load(Ordering::Relaxed),
            requests_served: self.requests_served.load(Ordering::Relaxed),
            streams_opened: r(&self.streams_opened),
            frames_sent: self.frames_sent.load(Ordering::Relaxed),
            bytes_sent: r(&self.bytes_sent),
        }
    }
}

/// The network as the node sees it. Object-safe: use `Arc<dyn Network>`.
///
/// Sends never block: a message is checked against its size limit, then queued (bounded,
/// per peer and channel) or dropped by the channel's policy, which is counted in
/// [`Network::counters`]. Received messages come out of the `mpsc::Receiver<Inbound>`
/// returned when the network was built.
pub trait Network: Send + Sync + 'static {
    /// This node's own name.
    fn local_name(&self) -> &PeerName;

    /// Every allowed peer (not including this node), in name order: the set given at start
    /// or by the latest [`Network::set_peers`].
    fn peers(&self) -> Vec<PeerName>;

    /// Replace the allowed peer set with `peers` (entries naming this node, by name or by
    /// network key, are ignored). The list is checked first (keys decode, no name or key
    /// twice, at most [`Limits::peers_max`] peers); on error nothing changes and the error
    /// names the peer and the reason.
    ///
    /// Then, at once for sends and requests and without waiting for the transport:
    /// - a name no longer listed is removed: its connections are closed, new ones refused,
    ///   its outbound queue dropped, its score and ban forgotten; `send` and `request` to
    ///   it return `UnknownPeer`. (Messages already received from it stay in the inbound
    ///   channel: the application filters by the validator set it knows.)
    /// - a new name is allowed, and dialled if its entry has addresses; one without
    ///   addresses is accepted when it dials us.
    /// - a kept name whose network key changed (a rotation) is a removal of the old
    ///   identity and an addition of the new one.
    /// - a kept name with the same key keeps its connections, queues, score, ban and the
    ///   addresses learned by `add_address`, unless its new entry gives addresses, which
    ///   then replace them.
    ///
    /// [`Network::peers`], the status and the connection limits follow the new set.
    fn set_peers(&self, peers: Vec<PeerConfig>) -> Result<PeerSetChange, SetPeersError>;

    /// Queue `payload` for `to` on `channel`.
    fn send(&self, to: &PeerName, channel: Channel, payload: Bytes) -> Result<(), SendError>;

    /// Queue `payload` for every allowed peer on `channel`.
    fn broadcast(&self, channel: Channel, payload: Bytes) -> Result<(), SendError> {
        for peer in self.peers() {
            match self.send(&peer, channel, payload.clone()) {
                Ok(()) | Err(SendError::UnknownPeer { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Ask `to` for something (catch-up); resolves to the peer handler's answer, or an
    /// error after at most [`Limits::request_timeout_ms`].
    fn request(&self, to: &PeerName, payload: Bytes) -> BoxFuture<Result<Bytes, RequestError>>;

    /// Report that `peer` sent something invalid. Lowers its score; at the threshold the
    /// peer is disconnected and refused for a while.
    fn report(&self, peer: &PeerName, why: Misbehaviour);

    /// Peer status, updated as it changes.
    fn status(&self) -> tokio::sync::watch::Receiver<PeerStatus>;

    /// Traffic counters.
    fn counters(&self) -> CountersSnapshot;
}
