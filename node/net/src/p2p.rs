//! [`P2pNetwork`]: libp2p 0.57 over TCP + Noise + Yamux.
//!
//! - Identity: the node's 32-byte Ed25519 seed; peers' `PeerId`s come from the network
//!   keys in the genesis (validators) and the node configuration (observers).
//! - Gate: an allow list of exactly those `PeerId`s (`libp2p::allow_block_list`). Any other
//!   peer is refused once its Noise handshake reveals its identity, with a warning naming
//!   it. Bans remove a peer from the allow list for a while (which also closes its
//!   connections). `connection_limits` caps connections per peer and pending handshakes,
//!   sized from the current peer set.
//! - Runtime peer set: [`Network::set_peers`] swaps the peer table (`peers.rs`) at once for
//!   senders and wakes the swarm task, which applies it: removed identities are disallowed
//!   and disconnected, new ones allowed and dialled, limits resized.
//! - Delivery: direct sends over `/chancery/msg/2` (`streams.rs`): per peer, one
//!   connection sends, on one long-lived stream per channel, the queued messages as
//!   length-prefixed frames. The receiver grants credits (frames) on the same stream and
//!   returns one when a frame's messages are in its inbound channel; without credit the
//!   sender stops, which is the back-pressure path from a slow receiver to the sender's
//!   bounded queue. No transport-level signatures (Noise already authenticates the
//!   connection; payloads carry their own signatures).
//! - Catch-up: `/chancery/req/1`, answered by the node's [`RequestHandler`].
//! - Redial: every configured peer with an address is dialled at start and redialled after
//!   a drop or a failed dial, with a delay doubling from [`Limits::redial_ms_min`] to
//!   [`Limits::redial_ms_max`].

use crate::peers::{check_peers, PeerBook};
use crate::queue::Scores;
use crate::streams::{self, StreamCtx};
use crate::wire::{Answer, ReqCodec, WireError, REQ_PROTOCOL};
use crate::{
    BoxFuture, Bytes, Channel, Counters, CountersSnapshot, Inbound, Limits, Misbehaviour, Network,
    PeerConfig, PeerName, PeerSetChange, PeerStatus, RequestError, RequestHandler, SendError,
    SetPeersError,
};
use chancery_core::ids::NetworkKey;
use chancery_core::validator::ValidatorSet;
use libp2p::futures::StreamExt;
use libp2p::multiaddr::Multiaddr;
use libp2p::request_response::{
    self, InboundFailure, Message, OutboundFailure, OutboundRequestId, ProtocolSupport,
    ResponseChannel,
};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ListenError, NetworkBehaviour, SwarmEvent};
use libp2p::{allow_block_list, connection_limits, identity, noise, tcp, yamux, PeerId, Swarm};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Notify, Semaphore};
use tokio::time::Instant;

/// Everything a [`P2pNetwork`] needs besides its secret seed and request handler.
#[derive(Clone, Debug)]
pub struct P2pConfig {
    /// This node's name.
    pub name: PeerName,
    /// Addresses to listen on, e.g. `/ip4/0.0.0.0/tcp/7000` (port 0 picks one).
    pub listen: Vec<Multiaddr>,
    /// The allowed peer set at start, excluding this node (an entry for this node is
    /// ignored); replaced at runtime by [`Network::set_peers`].
    pub peers: Vec<PeerConfig>,
    /// Limits.
    pub limits: Limits,
}

/// Why a [`P2pNetwork`] could not start.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// The peer list is invalid (a bad or repeated key, a repeated name, too many peers).
    #[error("peer set refused: {0}")]
    Peers(#[from] SetPeersError),
    /// The secret seed was rejected.
    #[error("secret seed rejected: {reason}")]
    BadSeed {
        /// The decoder's complaint.
        reason: String,
    },
    /// Building the transport failed.
    #[error("transport setup failed: {reason}")]
    Transport {
        /// What failed.
        reason: String,
    },
    /// Listening on an address failed.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// What failed.
        reason: String,
    },
}

/// The libp2p `PeerId` of a 32-byte Ed25519 network key.
pub fn peer_id_of(network_key: &NetworkKey) -> Result<PeerId, String> {
    let pk = identity::ed25519::PublicKey::try_from_bytes(network_key.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(identity::PublicKey::from(pk).to_peer_id())
}

/// The peer set of a validator set: every validator by name and network key, no addresses.
pub fn peers_of(set: &ValidatorSet) -> Vec<PeerConfig> {
    set.validators
        .iter()
        .map(|v| PeerConfig {
            name: PeerName::from(v.name.as_str()),
            network_key: v.network_key,
            addrs: Vec::new(),
        })
        .collect()
}

#[derive(NetworkBehaviour)]
#[behaviour(prelude = "libp2p::swarm::derive_prelude")]
struct Behaviour {
    allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    limits: connection_limits::Behaviour,
    msg: streams::Behaviour,
    req: request_response::Behaviour<ReqCodec>,
}

enum Command {
    Request {
        to: PeerId,
        payload: Bytes,
        reply: oneshot::Sender<Result<Bytes, RequestError>>,
    },
    Report {
        peer: PeerName,
        why: Misbehaviour,
    },
    AddAddress {
        peer: PeerId,
        addr: Multiaddr,
    },
}

/// State shared between the handle and the swarm task.
struct Shared {
    name: PeerName,
    limits: Limits,
    /// The allowed peers and their outbound queues (each drained by the peer's sending
    /// connection's handler); replaced whole by `set_peers`.
    book: Arc<PeerBook>,
    /// Wakes the swarm task to apply a new peer table.
    peers_changed: Arc<Notify>,
    counters: Arc<Counters>,
    status: watch::Sender<PeerStatus>,
    commands: mpsc::Sender<Command>,
    local_id: PeerId,
    listen_addrs: Vec<Multiaddr>,
}

/// A libp2p network endpoint. Cheap to clone; the swarm task stops when the last clone
/// is dropped.
#[derive(Clone)]
pub struct P2pNetwork {
    shared: Arc<Shared>,
}

/// Capacity of the command channel (requests, reports, addresses) into the swarm task.
const COMMANDS_MAX: usize = 1024;
/// An established connection stays open this long without traffic; validators talk
/// constantly, and a closed idle connection would only be redialled.
const IDLE_TIMEOUT_MS: u64 = 24 * 3600 * 1000;
/// Incoming connections being set up at once, per allowed peer: a peer redialling while its
/// old connection closes needs two.
const PENDING_INCOMING_PER_PEER_MAX: u32 = 2;
/// Incoming connections being set up at once beyond the per-peer share: room for
/// strangers, whom the allow-list then refuses, without starving the peers.
const PENDING_INCOMING_SPARE_MAX: u32 = 8;
/// Concurrent request streams per request-handler task: one being answered, one waiting.
const REQ_STREAMS_PER_HANDLER_MAX: usize = 2;
/// Fewest concurrent request streams, whatever the handler limit.
const REQ_STREAMS_MIN: usize = 8;
/// Slack on top of twice the protocol's request timeout before a request whose reply
/// was lost is given up, in milliseconds.
const REPLY_GUARD_SLACK_MS: u64 = 1000;
/// How long the swarm task sleeps when no timer is pending, in milliseconds: a day, i.e.
/// until an event or a command wakes it.
const IDLE_WAKE_MS: u64 = 24 * 3600 * 1000;

impl P2pNetwork {
    /// Start listening and dialling. Returns once every listen address is bound.
    pub async fn start(
        config: P2pConfig,
        seed: [u8; 32],
        handler: Arc<dyn RequestHandler>,
    ) -> Result<(P2pNetwork, mpsc::Receiver<Inbound>), P2pError> {
        let secret =
            identity::ed25519::SecretKey::try_from_bytes(seed).map_err(|e| P2pError::BadSeed {
                reason: e.to_string(),
            })?;
        let keypair = identity::Keypair::from(identity::ed25519::Keypair::from(secret));
        let local_id = keypair.public().to_peer_id();

        let checked = check_peers(
            &config.name,
            Some(local_id),
            config.peers.clone(),
            &config.limits,
        )?;
        let book = Arc::new(PeerBook::new(checked));
        let table = book.current();
        let peers: HashMap<PeerId, PeerState> = table
            .ids
            .iter()
            .map(|(name, id)| {
                let addrs = table.addrs.get(id).cloned().unwrap_or_default();
                (*id, PeerState::new(name.clone(), addrs, &config.limits))
            })
            .collect();

        let limits = Arc::new(config.limits.clone());
        let timeout = Duration::from_millis(config.limits.request_timeout_ms);
        let mut allow = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
        for id in peers.keys() {
            allow.allow_peer(*id);
        }
        let (inbound_tx, inbound_rx) = mpsc::channel(config.limits.inbound_messages_max.max(1));
        let counters = Arc::new(Counters::default());
        let stream_ctx = Arc::new(StreamCtx {
            limits: config.limits.clone(),
            counters: counters.clone(),
            inbound: inbound_tx,
            book: book.clone(),
        });
        let behaviour = Behaviour {
            allow,
            limits: connection_limits::Behaviour::new(connection_limits_for(
                table.ids.len(),
                &config.limits,
            )),
            msg: streams::Behaviour::new(stream_ctx),
            req: request_response::Behaviour::with_codec(
                ReqCodec {
                    limits: limits.clone(),
                },
                [(REQ_PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(timeout)
                    .with_max_concurrent_streams(
                        config
                            .limits
                            .handler_tasks_max
                            .saturating_mul(REQ_STREAMS_PER_HANDLER_MAX)
                            .max(REQ_STREAMS_MIN),
                    ),
            ),
        };
        let transport_err = |e: &dyn std::fmt::Display| P2pError::Transport {
            reason: e.to_string(),
        };
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| transport_err(&e))?
            .with_behaviour(|_| behaviour)
            .map_err(|e| transport_err(&e))?
            .with_swarm_config(|c| {
                c.with_idle_connection_timeout(Duration::from_millis(IDLE_TIMEOUT_MS))
            })
            .build();

        let mut listen_addrs = Vec::new();
        for addr in &config.listen {
            swarm
                .listen_on(addr.clone())
                .map_err(|e| P2pError::Listen {
                    addr: addr.clone(),
                    reason: e.to_string(),
                })?;
        }
        while listen_addrs.len() < config.listen.len() {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => listen_addrs.push(address),
                SwarmEvent::ListenerError { error, .. }
                | SwarmEvent::ListenerClosed {
                    reason: Err(error), ..
                } => {
                    return Err(P2pError::Listen {
                        addr: config
                            .listen
                            .get(listen_addrs.len())
                            .cloned()
                            .unwrap_or_else(Multiaddr::empty),
                        reason: error.to_string(),
                    })
                }
                _ => {}
            }
        }

        let (cmd_tx, cmd_rx) = mpsc::channel(COMMANDS_MAX);
        let (status, _) = watch::channel(PeerStatus::default());
        let peers_changed = Arc::new(Notify::new());
        let shared = Arc::new(Shared {
            name: config.name.clone(),
            limits: config.limits.clone(),
            book,
            peers_changed: peers_changed.clone(),
            counters,
            status,
            commands: cmd_tx,
            local_id,
            listen_addrs,
        });
        let (answers_tx, answers_rx) = mpsc::channel(config.limits.handler_tasks_max.max(1));
        let mut task = Task {
            swarm,
            shared: Weak::new(),
            peers,
            generation: table.generation,
            peers_changed,
            scores: Scores::default(),
            pending: HashMap::new(),
            answers_tx,
            handler,
            handler_slots: Arc::new(Semaphore::new(config.limits.handler_tasks_max)),
            limits: config.limits,
        };
        task.shared = Arc::downgrade(&shared);
        tokio::spawn(task.run(cmd_rx, answers_rx));
        Ok((P2pNetwork { shared }, inbound_rx))
    }

    /// The addresses this node listens on (with the ports actually bound).
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.shared.listen_addrs
    }

    /// This node's libp2p identity.
    pub fn peer_id(&self) -> PeerId {
        self.shared.local_id
    }

    /// Learn an address of an allowed peer, and dial it if not connected. The address is
    /// kept while the peer stays in the allowed set under the same key (a later
    /// [`Network::set_peers`] entry with addresses replaces it).
    pub fn add_address(&self, peer: &PeerName, addr: Multiaddr) -> Result<(), SendError> {
        let id = self
            .id(peer)
            .map_err(|_| SendError::UnknownPeer { peer: peer.clone() })?;
        self.shared
            .commands
            .try_send(Command::AddAddress { peer: id, addr })
            .map_err(|_| SendError::Closed)
    }

    fn id(&self, peer: &PeerName) -> Result<PeerId, ()> {
        self.shared.book.read().ids.get(peer).copied().ok_or(())
    }
}

impl Network for P2pNetwork {
    fn local_name(&self) -> &PeerName {
        &self.shared.name
    }

    fn peers(&self) -> Vec<PeerName> {
        self.shared.book.read().names.clone()
    }

    fn set_peers(&self, peers: Vec<PeerConfig>) -> Result<PeerSetChange, SetPeersError> {
        let checked = check_peers(
            &self.shared.name,
            Some(self.shared.local_id),
            peers,
            &self.shared.limits,
        )?;
        let change = self.shared.book.replace(checked);
        // The task applies the table it finds (the latest), so one wake-up is enough
        // however many replacements it missed; `notify_one` keeps it if the task is busy.
        self.shared.peers_changed.notify_one();
        if !change.is_empty() {
            tracing::info!(
                added = ?change.added,
                removed = ?change.removed,
                rotated = ?change.rotated,
                "allowed peer set replaced"
            );
        }
        Ok(change)
    }

    fn send(&self, to: &PeerName, channel: Channel, payload: Bytes) -> Result<(), SendError> {
        let table = self.shared.book.read();
        let slot = table
            .slot_of(to)
            .ok_or_else(|| SendError::UnknownPeer { peer: to.clone() })?;
        self.shared.limits.check_message(channel, payload.len())?;
        slot.push(channel, payload, &self.shared.limits, &self.shared.counters);
        Ok(())
    }

    fn broadcast(&self, channel: Channel, payload: Bytes) -> Result<(), SendError> {
        self.shared.limits.check_message(channel, payload.len())?;
        let table = self.shared.book.read();
        for slot in table.slots.values() {
            slot.push(
                channel,
                payload.clone(),
                &self.shared.limits,
                &self.shared.counters,
            );
        }
        Ok(())
    }

    fn request(&self, to: &PeerName, payload: Bytes) -> BoxFuture<Result<Bytes, RequestError>> {
        let id = self.id(to);
        let to = to.clone();
        let commands = self.shared.commands.clone();
        let limits_bytes = self.shared.limits.request_bytes_max;
        let timeout_ms = self.shared.limits.request_timeout_ms;
        Box::pin(async move {
            let Ok(id) = id else {
                return Err(RequestError::UnknownPeer { peer: to });
            };
            if payload.len() > limits_bytes {
                return Err(RequestError::TooLarge {
                    bytes: payload.len(),
                    bytes_max: limits_bytes,
                });
            }
            let (reply, answer) = oneshot::channel();
            commands
                .send(Command::Request {
                    to: id,
                    payload,
                    reply,
                })
                .await
                .map_err(|_| RequestError::Closed)?;
            // The protocol has its own timeout; this one only guards against a lost reply.
            let guard = Duration::from_millis(
                timeout_ms
                    .saturating_mul(2)
                    .saturating_add(REPLY_GUARD_SLACK_MS),
            );
            match tokio::time::timeout(guard, answer).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err(RequestError::Closed),
                Err(_) => Err(RequestError::Timeout {
                    peer: to,
                    timeout_ms,
                }),
            }
        })
    }

    fn report(&self, peer: &PeerName, why: Misbehaviour) {
        if self
            .shared
            .commands
            .try_send(Command::Report {
                peer: peer.clone(),
                why,
            })
            .is_err()
        {
            tracing::warn!(%peer, ?why, "report dropped: command queue full");
        }
    }

    fn status(&self) -> watch::Receiver<PeerStatus> {
        self.shared.status.subscribe()
    }

    fn counters(&self) -> CountersSnapshot {
        self.shared.counters.snapshot()
    }
}

struct PeerState {
    name: PeerName,
    addrs: Vec<Multiaddr>,
    connections: usize,
    redial_at: Option<Instant>,
    backoff_ms: u64,
}

impl PeerState {
    fn new(name: PeerName, addrs: Vec<Multiaddr>, limits: &Limits) -> PeerState {
        PeerState {
            name,
            redial_at: (!addrs.is_empty()).then(Instant::now),
            addrs,
            connections: 0,
            backoff_ms: limits.redial_ms_min.max(1),
        }
    }
}

type ReqRequest = Result<Bytes, WireError>;

enum Event {
    Swarm(SwarmEvent<BehaviourEvent>),
    Command(Command),
    Answer(HandlerAnswer),
    Timer,
    PeersChanged,
}
type HandlerAnswer = (ResponseChannel<Answer>, Answer);

struct Task {
    swarm: Swarm<Behaviour>,
    shared: Weak<Shared>,
    /// The allowed identities as applied to the swarm (allow-list, dials, limits).
    peers: HashMap<PeerId, PeerState>,
    /// The generation of the peer table `peers` reflects.
    generation: u64,
    /// Woken by `set_peers`.
    peers_changed: Arc<Notify>,
    scores: Scores,
    /// Catch-up requests waiting for their answer.
    pending: HashMap<OutboundRequestId, (PeerName, oneshot::Sender<Result<Bytes, RequestError>>)>,
    answers_tx: mpsc::Sender<HandlerAnswer>,
    handler: Arc<dyn RequestHandler>,
    handler_slots: Arc<Semaphore>,
    limits: Limits,
}

impl Task {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut answers: mpsc::Receiver<HandlerAnswer>,
    ) {
        loop {
            let next_timer = self.next_timer();
            let sleep = tokio::time::sleep_until(next_timer.unwrap_or_else(far_future));
            let peers_changed = self.peers_changed.clone();
            let event = tokio::select! {
                event = self.swarm.select_next_some() => Event::Swarm(event),
                cmd = commands.recv() => match cmd {
                    Some(cmd) => Event::Command(cmd),
                    // Every handle is gone: stop.
                    None => return,
                },
                Some(answer) = answers.recv() => Event::Answer(answer),
                _ = sleep, if next_timer.is_some() => Event::Timer,
                _ = peers_changed.notified() => Event::PeersChanged,
            };
            // The task holds the shared state only weakly, so that dropping the last
            // handle closes the command channel and ends this loop.
            let Some(shared) = self.shared.upgrade() else {
                return;
            };
            // Before anything else, so that a command sent after `set_peers` returned
            // (a request, an address of a new peer) finds the new set applied.
            self.apply_peers(&shared);
            match event {
                Event::Swarm(e) => self.on_swarm(e, &shared),
                Event::Command(c) => self.on_command(c, &shared),
                Event::Answer((channel, answer)) => {
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .req
                        .send_response(channel, answer);
                }
                Event::Timer => self.on_timers(&shared),
                Event::PeersChanged => {}
            }
        }
    }

    /// Apply the current peer table if it is newer than the one applied: disallow and
    /// disconnect identities no longer allowed under their name, allow (and dial, with
    /// addresses) new ones, take new addresses of kept ones, resize the connection limits.
    fn apply_peers(&mut self, shared: &Shared) {
        let table = shared.book.current();
        if table.generation == self.generation {
            return;
        }
        self.generation = table.generation;
        let gone: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(id, p)| table.ids.get(&p.name) != Some(*id))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            let Some(p) = self.peers.remove(&id) else {
                continue;
            };
            // Disallowing refuses it from now on (and closes its connections on the
            // behaviour's next poll); disconnecting closes them now.
            self.swarm.behaviour_mut().allow.disallow_peer(id);
            let connected = self.swarm.disconnect_peer_id(id).is_ok();
            // Its score and ban belonged to the identity that left (a rotated key starts
            // afresh; a name added again later is a new peer).
            self.scores.forget(&p.name);
            tracing::info!(peer = %p.name, %id, connected, "peer removed from the allowed set");
        }
        let now = Instant::now();
        for (name, id) in &table.ids {
            let addrs = table.addrs.get(id).cloned().unwrap_or_default();
            match self.peers.get_mut(id) {
                Some(p) => {
                    if !addrs.is_empty() && p.addrs != addrs {
                        p.addrs = addrs;
                        if p.connections == 0 {
                            p.redial_at = Some(now);
                        }
                    }
                }
                None => {
                    self.swarm.behaviour_mut().allow.allow_peer(*id);
                    tracing::info!(peer = %name, %id, addrs = addrs.len(), "peer added to the allowed set");
                    // Dialled by the timer at once if it has addresses.
                    self.peers
                        .insert(*id, PeerState::new(name.clone(), addrs, &self.limits));
                }
            }
        }
        *self.swarm.behaviour_mut().limits.limits_mut() =
            connection_limits_for(table.ids.len(), &self.limits);
        self.publish(shared);
    }

    fn next_timer(&self) -> Option<Instant> {
        let redial = self.peers.values().filter_map(|p| p.redial_at).min();
        let unban = self.scores.next_expiry().map(Instant::from_std);
        match (redial, unban) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn on_timers(&mut self, shared: &Shared) {
        let now = Instant::now();
        let table = shared.book.current();
        for name in self.scores.expire(now.into_std()) {
            if let Some(id) = table.ids.get(&name) {
                self.swarm.behaviour_mut().allow.allow_peer(*id);
                if let Some(p) = self.peers.get_mut(id) {
                    p.redial_at = (!p.addrs.is_empty()).then_some(now);
                }
                tracing::info!(peer = %name, "ban lifted");
            }
            self.publish(shared);
        }
        let due: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.redial_at.is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.dial(id);
        }
    }

    fn dial(&mut self, id: PeerId) {
        let Some(p) = self.peers.get_mut(&id) else {
            return;
        };
        p.redial_at = None;
        if p.connections > 0
            || p.addrs.is_empty()
            || self.scores.is_banned(&p.name, std::time::Instant::now())
        {
            return;
        }
        let opts = DialOpts::peer_id(id)
            .addresses(p.addrs.clone())
            .condition(PeerCondition::DisconnectedAndNotDialing)
            .build();
        if let Err(e) = self.swarm.dial(opts) {
            tracing::debug!(peer = %p.name, error = %e, "dial not started");
            self.schedule_redial(id);
        }
    }

    fn schedule_redial(&mut self, id: PeerId) {
        let max = self.limits.redial_ms_max.max(1);
        if let Some(p) = self.peers.get_mut(&id) {
            if p.connections > 0 || p.addrs.is_empty() || p.redial_at.is_some() {
                return;
            }
            p.redial_at = Some(Instant::now() + Duration::from_millis(p.backoff_ms));
            p.backoff_ms = p.backoff_ms.saturating_mul(2).min(max);
        }
    }

    fn publish(&self, shared: &Shared) {
        let connected: BTreeSet<PeerName> = self
            .peers
            .values()
            .filter(|p| p.connections > 0)
            .map(|p| p.name.clone())
            .collect();
        shared.status.send_modify(|s| {
            s.connected = connected;
            self.scores.fill(s);
        });
    }

    fn penalise(&mut self, id: PeerId, why: Misbehaviour, shared: &Shared) {
        let Some(name) = self.peers.get(&id).map(|p| p.name.clone()) else {
            return;
        };
        let now = std::time::Instant::now();
        self.scores.expire(now);
        if self.scores.penalise(&name, why, &self.limits, now) {
            tracing::warn!(peer = %name, %id, ?why, ban_ms = self.limits.ban_ms, "peer banned");
            // Removing it from the allow list also closes its connections.
            self.swarm.behaviour_mut().allow.disallow_peer(id);
            if let Some(p) = self.peers.get_mut(&id) {
                p.redial_at = None;
            }
        } else {
            tracing::info!(peer = %name, ?why, "peer scored down");
        }
        self.publish(shared);
    }

    fn on_command(&mut self, cmd: Command, shared: &Shared) {
        match cmd {
            Command::Request { to, payload, reply } => {
                let name = self.peers.get(&to).map(|p| p.name.clone());
                let Some(name) = name else {
                    // Removed by `set_peers` after the request found it.
                    let _ = reply.send(Err(RequestError::Failed {
                        peer: PeerName::from(to.to_string()),
                        reason: "not an allowed peer".into(),
                    }));
                    return;
                };
                let id = self
                    .swarm
                    .behaviour_mut()
                    .req
                    .send_request(&to, Ok(payload));
                self.pending.insert(id, (name, reply));
            }
            Command::Report { peer, why } => {
                let id = shared.book.read().ids.get(&peer).copied();
                if let Some(id) = id {
                    self.penalise(id, why, shared);
                }
            }
            Command::AddAddress { peer, addr } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    if !p.addrs.contains(&addr) {
                        p.addrs.push(addr);
                    }
                    if p.connections == 0 {
                        self.dial(peer);
                    }
                }
            }
        }
    }

    fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>, shared: &Shared) {
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                if let Some(p) = self.peers.get_mut(&peer_id) {
                    p.connections += 1;
                    p.redial_at = None;
                    p.backoff_ms = self.limits.redial_ms_min.max(1);
                    tracing::debug!(peer = %p.name, "connected");
                }
                self.publish(shared);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                if let Some(p) = self.peers.get_mut(&peer_id) {
                    p.connections = num_established as usize;
                    if num_established == 0 {
                        tracing::info!(peer = %p.name, cause = ?cause, "disconnected");
                    }
                }
                self.schedule_redial(peer_id);
                self.publish(shared);
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(id),
                error,
                ..
            } => {
                if let Some(p) = self.peers.get(&id) {
                    tracing::debug!(peer = %p.name, %error, "dial failed");
                }
                self.schedule_redial(id);
            }
            SwarmEvent::IncomingConnectionError {
                peer_id,
                error: ListenError::Denied { cause },
                send_back_addr,
                ..
            } => {
                tracing::warn!(
                    peer = ?peer_id,
                    from = %send_back_addr,
                    reason = %cause,
                    "connection refused: peer not in the allowed set, banned, or over a limit"
                );
                shared.status.send_modify(|s| s.refused_connections += 1);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Msg(streams::Event::Misbehaved {
                peer,
                error,
            })) => self.invalid(peer, &error, shared),
            SwarmEvent::Behaviour(BehaviourEvent::Req(e)) => self.on_req(e, shared),
            _ => {}
        }
    }

    fn invalid(&mut self, peer: PeerId, wire: &WireError, shared: &Shared) {
        Counters::add(&shared.counters.inbound_rejected, 1);
        tracing::warn!(%peer, error = %wire, "invalid data from peer");
        let why = match wire {
            WireError::Oversize { .. } => Misbehaviour::Oversize,
            WireError::BadFraming { .. } | WireError::NoCredit { .. } => Misbehaviour::BadFraming,
        };
        self.penalise(peer, why, shared);
    }

    fn inbound_failure(&mut self, peer: PeerId, error: InboundFailure, shared: &Shared) {
        let InboundFailure::Io(e) = &error else {
            tracing::debug!(%peer, %error, "inbound transfer failed");
            return;
        };
        let Some(wire) = WireError::of(e) else {
            tracing::debug!(%peer, %error, "inbound transfer failed");
            return;
        };
        let wire = wire.clone();
        self.invalid(peer, &wire, shared);
    }

    fn on_req(&mut self, event: request_response::Event<ReqRequest, Answer>, shared: &Shared) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let Some(name) = self.peers.get(&peer).map(|p| p.name.clone()) else {
                    return;
                };
                let request = match request {
                    Ok(r) => r,
                    Err(wire) => return self.invalid(peer, &wire, shared),
                };
                let Ok(permit) = self.handler_slots.clone().try_acquire_owned() else {
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .req
                        .send_response(channel, Answer::Busy);
                    return;
                };
                let handler = self.handler.clone();
                let answers = self.answers_tx.clone();
                let weak = self.shared.clone();
                let response_max = self.limits.response_bytes_max;
                tokio::spawn(async move {
                    let job = tokio::task::spawn_blocking(move || handler.handle(&name, request));
                    let answer = match job.await {
                        Ok(Some(b)) if b.len() <= response_max => Answer::Ok(b),
                        Ok(Some(b)) => {
                            tracing::warn!(
                                bytes = b.len(),
                                response_max,
                                "handler answer over the response limit; declining"
                            );
                            Answer::Declined
                        }
                        Ok(None) | Err(_) => Answer::Declined,
                    };
                    if let Some(s) = weak.upgrade() {
                        Counters::add(&s.counters.requests_served, 1);
                    }
                    drop(permit);
                    let _ = answers.send((channel, answer)).await;
                });
            }
            request_response::Event::Message {
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some((name, reply)) = self.pending.remove(&request_id) {
                    let result = match response {
                        Answer::Ok(b) => Ok(b),
                        Answer::Declined => Err(RequestError::Declined { peer: name }),
                        Answer::Busy => Err(RequestError::Busy { peer: name }),
                    };
                    let _ = reply.send(result);
                }
            }
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some((name, reply)) = self.pending.remove(&request_id) {
                    let result = match error {
                        OutboundFailure::Timeout => Err(RequestError::Timeout {
                            peer: name,
                            timeout_ms: self.limits.request_timeout_ms,
                        }),
                        other => Err(RequestError::Failed {
                            peer: name,
                            reason: other.to_string(),
                        }),
                    };
                    let _ = reply.send(result);
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                self.inbound_failure(peer, error, shared)
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }
}

/// Connection limits for `peers` allowed peers: `connections_per_peer_max` each, one
/// spare, and pending handshakes for each peer plus room for strangers (refused after
/// their handshake). Recomputed whenever the peer set changes.
fn connection_limits_for(peers: usize, limits: &Limits) -> connection_limits::ConnectionLimits {
    let n = u32::try_from(peers).unwrap_or(u32::MAX);
    let per_peer = limits.connections_per_peer_max;
    connection_limits::ConnectionLimits::default()
        .with_max_established_per_peer(Some(per_peer))
        .with_max_established(Some(n.saturating_mul(per_peer).saturating_add(1)))
        .with_max_pending_incoming(Some(
            n.saturating_mul(PENDING_INCOMING_PER_PEER_MAX)
                .saturating_add(PENDING_INCOMING_SPARE_MAX),
        ))
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_millis(IDLE_WAKE_MS)
}
