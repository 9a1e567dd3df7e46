//! [`MemNetwork`]: endpoints in one process, joined through a [`MemHub`] by bounded
//! channels. Same trait, same limits and scoring as the libp2p network, no sockets.
//!
//! Differences from [`crate::P2pNetwork`], by design: there is no per-peer outbound queue —
//! a send goes straight into the receiver's bounded inbound channel, and when that is full
//! the message is refused (counted in `refused_full`) whatever the channel; messages are
//! delivered in send order. Links can be cut and restored with [`MemHub::set_link`] to
//! model partitions.
//!
//! Each endpoint has its own allowed set (names; keys and addresses are checked by
//! [`Network::set_peers`] but otherwise ignored), starting as the hub's: two endpoints are
//! linked when each allows the other, as two libp2p nodes connect when each gate admits
//! the other.

use crate::peers::check_peers;
use crate::queue::Scores;
use crate::{
    BoxFuture, Bytes, Channel, Counters, CountersSnapshot, Inbound, Limits, Misbehaviour, Network,
    PeerConfig, PeerName, PeerSetChange, PeerStatus, RequestError, RequestHandler, SendError,
    SetPeersError,
};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};

struct Endpoint {
    inbound: mpsc::Sender<Inbound>,
    handler: Arc<dyn RequestHandler>,
    handler_slots: Arc<Semaphore>,
    counters: Arc<Counters>,
    scores: Arc<Mutex<Scores>>,
    status: watch::Sender<PeerStatus>,
}

struct HubInner {
    /// The set every endpoint starts with (on join, and again on a restart).
    initial: BTreeSet<PeerName>,
    /// Per joined endpoint, the names it allows (never itself); `set_peers` replaces it.
    allowed: HashMap<PeerName, BTreeSet<PeerName>>,
    endpoints: HashMap<PeerName, Arc<Endpoint>>,
    cut: BTreeSet<(PeerName, PeerName)>,
}

/// Connects [`MemNetwork`] endpoints in one process. Cheap to clone.
#[derive(Clone)]
pub struct MemHub {
    inner: Arc<Mutex<HubInner>>,
    limits: Limits,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock poisons it; the data is still consistent for our uses
    // (every critical section is a few map operations), so carry on.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn link_key(a: &PeerName, b: &PeerName) -> (PeerName, PeerName) {
    if a <= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    }
}

impl MemHub {
    /// A hub whose endpoints start with the allowed peer set `allowed` (the genesis
    /// validators plus observers); each endpoint may replace its own with
    /// [`Network::set_peers`]. Endpoints with other names may join but can reach no one
    /// until others allow them, like a node whose key is not in the genesis.
    pub fn new(allowed: impl IntoIterator<Item = PeerName>, limits: Limits) -> MemHub {
        MemHub {
            inner: Arc::new(Mutex::new(HubInner {
                initial: allowed.into_iter().collect(),
                allowed: HashMap::new(),
                endpoints: HashMap::new(),
                cut: BTreeSet::new(),
            })),
            limits,
        }
    }

    /// Join the hub as `name`; returns the endpoint and its inbound channel. Joining again
    /// with the same name replaces the earlier endpoint (a restart), whose allowed set
    /// starts again as the hub's.
    pub fn join(
        &self,
        name: PeerName,
        handler: Arc<dyn RequestHandler>,
    ) -> (MemNetwork, mpsc::Receiver<Inbound>) {
        let (tx, rx) = mpsc::channel(self.limits.inbound_messages_max.max(1));
        let (status, _) = watch::channel(PeerStatus::default());
        let endpoint = Arc::new(Endpoint {
            inbound: tx,
            handler,
            handler_slots: Arc::new(Semaphore::new(self.limits.handler_tasks_max)),
            counters: Arc::new(Counters::default()),
            scores: Arc::new(Mutex::new(Scores::default())),
            status,
        });
        {
            let mut inner = lock(&self.inner);
            let mut allowed = inner.initial.clone();
            allowed.remove(&name);
            inner.allowed.insert(name.clone(), allowed);
            inner.endpoints.insert(name.clone(), endpoint.clone());
            Self::refresh_connected(&inner);
        }
        let net = MemNetwork {
            name,
            hub: self.clone(),
            endpoint,
        };
        (net, rx)
    }

    /// Cut (`up = false`) or restore the link between `a` and `b`, both directions.
    pub fn set_link(&self, a: &PeerName, b: &PeerName, up: bool) {
        let mut inner = lock(&self.inner);
        if up {
            inner.cut.remove(&link_key(a, b));
        } else {
            inner.cut.insert(link_key(a, b));
        }
        Self::refresh_connected(&inner);
    }

    /// Does `who` allow `peer`?
    fn allows(inner: &HubInner, who: &PeerName, peer: &PeerName) -> bool {
        inner.allowed.get(who).is_some_and(|s| s.contains(peer))
    }

    fn linked(inner: &HubInner, a: &PeerName, b: &PeerName) -> bool {
        Self::allows(inner, a, b)
            && Self::allows(inner, b, a)
            && !inner.cut.contains(&link_key(a, b))
    }

    fn refresh_connected(inner: &HubInner) {
        for (name, ep) in &inner.endpoints {
            let connected: BTreeSet<PeerName> = inner
                .endpoints
                .keys()
                .filter(|p| {
                    *p != name
                        && Self::linked(inner, name, p)
                        && !lock(&ep.scores).is_banned(p, Instant::now())
                })
                .cloned()
                .collect();
            ep.status.send_if_modified(|s| {
                let changed = s.connected != connected;
                s.connected = connected;
                changed
            });
        }
    }

    /// The destination endpoint if `from` may reach it now; counts a refusal at the
    /// destination when it does not allow `from`.
    fn route(&self, from: &PeerName, to: &PeerName) -> Option<Arc<Endpoint>> {
        let inner = lock(&self.inner);
        let ep = inner.endpoints.get(to)?.clone();
        if !Self::linked(&inner, from, to) {
            if !Self::allows(&inner, to, from) {
                ep.status.send_modify(|s| s.refused_connections += 1);
                tracing::warn!(peer = %from, "refused: not in the allowed peer set");
            }
            return None;
        }
        drop(inner);
        if lock(&ep.scores).is_banned(from, Instant::now()) {
            return None;
        }
        Some(ep)
    }
}

/// One endpoint of a [`MemHub`].
#[derive(Clone)]
pub struct MemNetwork {
    name: PeerName,
    hub: MemHub,
    endpoint: Arc<Endpoint>,
}

impl Network for MemNetwork {
    fn local_name(&self) -> &PeerName {
        &self.name
    }

    fn peers(&self) -> Vec<PeerName> {
        let inner = lock(&self.hub.inner);
        inner
            .allowed
            .get(&self.name)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn set_peers(&self, peers: Vec<PeerConfig>) -> Result<PeerSetChange, SetPeersError> {
        let checked = check_peers(&self.name, None, peers, &self.hub.limits)?;
        let next: BTreeSet<PeerName> = checked.into_iter().map(|c| c.config.name).collect();
        let inner = &mut *lock(&self.hub.inner);
        let old = inner.allowed.get(&self.name).cloned().unwrap_or_default();
        let change = PeerSetChange {
            added: next.difference(&old).cloned().collect(),
            removed: old.difference(&next).cloned().collect(),
            rotated: Vec::new(),
        };
        inner.allowed.insert(self.name.clone(), next);
        {
            let mut scores = lock(&self.endpoint.scores);
            for name in &change.removed {
                scores.forget(name);
            }
            self.endpoint.status.send_modify(|s| scores.fill(s));
        }
        MemHub::refresh_connected(inner);
        if !change.is_empty() {
            tracing::info!(
                node = %self.name,
                added = ?change.added,
                removed = ?change.removed,
                "allowed peer set replaced"
            );
        }
        Ok(change)
    }

    fn send(&self, to: &PeerName, channel: Channel, payload: Bytes) -> Result<(), SendError> {
        if !MemHub::allows(&lock(&self.hub.inner), &self.name, to) {
            return Err(SendError::UnknownPeer { peer: to.clone() });
        }
        self.hub.limits.check_message(channel, payload.len())?;
        let i = channel.index();
        // Unreachable peers (absent, cut off, or refusing us) lose the message silently,
        // as over a real network.
        let Some(dest) = self.hub.route(&self.name, to) else {
            return Ok(());
        };
        let bytes = payload.len() as u64;
        let msg = Inbound {
            from: self.name.clone(),
            channel,
            payload,
        };
        match dest.inbound.try_send(msg) {
            Ok(()) => {
                Counters::add(&self.endpoint.counters.sent[i], 1);
                Counters::add(&self.endpoint.counters.bytes_sent[i], bytes);
                Counters::add(&dest.counters.received[i], 1);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                Counters::add(&self.endpoint.counters.refused_full[i], 1);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
        Ok(())
    }

    fn request(&self, to: &PeerName, payload: Bytes) -> BoxFuture<Result<Bytes, RequestError>> {
        let limits = self.hub.limits.clone();
        let to = to.clone();
        let from = self.name.clone();
        let allowed = MemHub::allows(&lock(&self.hub.inner), &from, &to);
        let dest = self.hub.route(&from, &to);
        Box::pin(async move {
            if !allowed {
                return Err(RequestError::UnknownPeer { peer: to });
            }
            if payload.len() > limits.request_bytes_max {
                return Err(RequestError::TooLarge {
                    bytes: payload.len(),
                    bytes_max: limits.request_bytes_max,
                });
            }
            let Some(dest) = dest else {
                return Err(RequestError::Failed {
                    peer: to,
                    reason: "not connected".into(),
                });
            };
            let Ok(permit) = dest.handler_slots.clone().try_acquire_owned() else {
                return Err(RequestError::Busy { peer: to });
            };
            let handler = dest.handler.clone();
            let counters = dest.counters.clone();
            let asker = from.clone();
            let task = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                Counters::add(&counters.requests_served, 1);
                handler.handle(&asker, payload)
            });
            let timeout = Duration::from_millis(limits.request_timeout_ms);
            match tokio::time::timeout(timeout, task).await {
                Err(_) => Err(RequestError::Timeout {
                    peer: to,
                    timeout_ms: limits.request_timeout_ms,
                }),
                Ok(Err(join)) => Err(RequestError::Failed {
                    peer: to,
                    reason: format!("handler failed: {join}"),
                }),
                Ok(Ok(None)) => Err(RequestError::Declined { peer: to }),
                Ok(Ok(Some(answer))) if answer.len() > limits.response_bytes_max => {
                    Err(RequestError::Failed {
                        peer: to,
                        reason: format!(
                            "response of {} bytes is over the limit of {} bytes",
                            answer.len(),
                            limits.response_bytes_max
                        ),
                    })
                }
                Ok(Ok(Some(answer))) => Ok(answer),
            }
        })
    }

    fn report(&self, peer: &PeerName, why: Misbehaviour) {
        let now = Instant::now();
        let mut scores = lock(&self.endpoint.scores);
        scores.expire(now);
        let banned = scores.penalise(peer, why, &self.hub.limits, now);
        self.endpoint.status.send_modify(|s| {
            scores.fill(s);
            if banned {
                s.connected.remove(peer);
            }
        });
        drop(scores);
        if banned {
            tracing::warn!(%peer, ?why, "peer banned");
            MemHub::refresh_connected(&lock(&self.hub.inner));
        }
    }

    fn status(&self) -> watch::Receiver<PeerStatus> {
        self.endpoint.status.subscribe()
    }

    fn counters(&self) -> CountersSnapshot {
        self.endpoint.counters.snapshot()
    }
}
