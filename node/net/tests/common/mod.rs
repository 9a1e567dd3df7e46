//! Test harness shared by the behavioural suites: builds a set of nodes of either kind.
#![allow(dead_code)]

pub mod raw;

use chancery_net::{
    Bytes, CountersSnapshot, Inbound, Limits, MemHub, Multiaddr, Network, P2pConfig, P2pNetwork,
    PeerConfig, PeerName, PeerStatus, RequestHandler,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Only a failure guard: nothing waits for this long unless something is broken.
pub const GUARD: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Mem,
    P2p,
}

pub struct Node {
    pub net: Arc<dyn Network>,
    pub rx: mpsc::Receiver<Inbound>,
    /// Where it listens (libp2p only).
    pub addr: Option<Multiaddr>,
}

/// Answers `me|from|payload`; declines the payload `decline`.
pub fn echo(me: &str) -> Arc<dyn RequestHandler> {
    let me = me.to_string();
    Arc::new(move |from: &PeerName, req: Bytes| -> Option<Bytes> {
        if &req[..] == b"decline" {
            return None;
        }
        let mut out = format!("{me}|{from}|").into_bytes();
        out.extend_from_slice(&req);
        Some(Bytes::from(out))
    })
}

/// Build `allowed` nodes plus `outsiders` (not in the allowed set), in that order.
pub async fn build(kind: Kind, allowed: &[&str], outsiders: &[&str], limits: Limits) -> Vec<Node> {
    match kind {
        Kind::Mem => {
            let hub = MemHub::new(allowed.iter().map(|n| PeerName::from(*n)), limits);
            allowed
                .iter()
                .chain(outsiders)
                .map(|n| {
                    let (net, rx) = hub.join((*n).into(), echo(n));
                    Node {
                        net: Arc::new(net),
                        rx,
                        addr: None,
                    }
                })
                .collect()
        }
        Kind::P2p => {
            let specs: Vec<Spec> = allowed
                .iter()
                .map(|n| Spec::new(n, limits.clone(), true))
                .chain(
                    outsiders
                        .iter()
                        .map(|n| Spec::new(n, limits.clone(), false)),
                )
                .collect();
            build_p2p(&specs)
                .await
                .into_iter()
                .map(|(net, rx)| Node {
                    addr: net.listen_addrs().first().cloned(),
                    net: Arc::new(net),
                    rx,
                })
                .collect()
        }
    }
}

/// One libp2p node to build.
pub struct Spec {
    pub name: String,
    pub limits: Limits,
    /// In the allowed set (genesis) or an outsider.
    pub allowed: bool,
}

impl Spec {
    pub fn new(name: &str, limits: Limits, allowed: bool) -> Spec {
        Spec {
            name: name.to_string(),
            limits,
            allowed,
        }
    }
}

/// A deterministic seed per name.
pub fn seed(name: &str) -> [u8; 32] {
    let mut s = [7u8; 32];
    for (i, b) in name.bytes().enumerate().take(32) {
        s[i] = b;
    }
    s
}

/// The peer-set entry of the node started with `seed(key_name)`, under `name`, dialled
/// at `addr` if given.
pub fn peer_entry(name: &str, key_name: &str, addr: Option<&Multiaddr>) -> PeerConfig {
    PeerConfig {
        name: name.into(),
        network_key: chancery_core::NetworkKey::from_seed(seed(key_name)),
        addrs: addr.into_iter().cloned().collect(),
    }
}

/// Start one libp2p node `name` with the identity `seed(key_name)` on 127.0.0.1 (an
/// ephemeral port), allowing `peers`.
pub async fn start_p2p(
    name: &str,
    key_name: &str,
    peers: Vec<PeerConfig>,
    limits: Limits,
) -> (P2pNetwork, mpsc::Receiver<Inbound>) {
    let config = P2pConfig {
        name: name.into(),
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")],
        peers,
        limits,
    };
    P2pNetwork::start(config, seed(key_name), echo(name))
        .await
        .expect("start")
}

/// Start libp2p nodes on 127.0.0.1 with ephemeral ports. The allowed set is every spec
/// with `allowed`; outsiders know the allowed set (and its addresses), nobody knows them.
pub async fn build_p2p(specs: &[Spec]) -> Vec<(P2pNetwork, mpsc::Receiver<Inbound>)> {
    let allowed: Vec<PeerConfig> = specs
        .iter()
        .filter(|s| s.allowed)
        .map(|s| PeerConfig {
            name: s.name.as_str().into(),
            network_key: chancery_core::NetworkKey::from_seed(seed(&s.name)),
            addrs: Vec::new(),
        })
        .collect();
    let mut nodes = Vec::new();
    for s in specs {
        let config = P2pConfig {
            name: s.name.as_str().into(),
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")],
            peers: allowed.clone(),
            limits: s.limits.clone(),
        };
        let node = P2pNetwork::start(config, seed(&s.name), echo(&s.name))
            .await
            .expect("start");
        nodes.push(node);
    }
    for (i, s) in specs.iter().enumerate() {
        if !s.allowed {
            continue;
        }
        let addr = nodes[i].0.listen_addrs()[0].clone();
        for (j, (other, _)) in nodes.iter().enumerate() {
            if i != j {
                other
                    .add_address(&s.name.as_str().into(), addr.clone())
                    .expect("add address");
            }
        }
    }
    nodes
}

/// Start node `name`, whose allowed set also holds `raw_name`, and a [`raw::Raw`] peer with
/// that name's identity connected to it; returns once the node sees the raw peer connected.
pub async fn node_and_raw(
    name: &str,
    raw_name: &str,
    limits: Limits,
) -> (P2pNetwork, mpsc::Receiver<Inbound>, raw::Raw) {
    let peers: Vec<PeerConfig> = [name, raw_name]
        .iter()
        .map(|n| PeerConfig {
            name: (*n).into(),
            network_key: chancery_core::NetworkKey::from_seed(seed(n)),
            addrs: Vec::new(),
        })
        .collect();
    let config = P2pConfig {
        name: name.into(),
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")],
        peers,
        limits,
    };
    let (net, rx) = P2pNetwork::start(config, seed(name), echo(name))
        .await
        .expect("start");
    let raw = raw::Raw::connect(seed(raw_name), net.peer_id(), net.listen_addrs()[0].clone());
    let mut status = net.status();
    let raw_peer = PeerName::from(raw_name);
    wait_status(&mut status, |s| s.connected.contains(&raw_peer)).await;
    (net, rx, raw)
}

/// The next inbound message, or a test failure after [`GUARD`].
pub async fn recv(rx: &mut mpsc::Receiver<Inbound>) -> Inbound {
    tokio::time::timeout(GUARD, rx.recv())
        .await
        .expect("timed out waiting for a message")
        .expect("inbound channel closed")
}

/// Wait until the status satisfies `f`, or fail after [`GUARD`].
pub async fn wait_status(rx: &mut watch::Receiver<PeerStatus>, f: impl FnMut(&PeerStatus) -> bool) {
    if tokio::time::timeout(GUARD, rx.wait_for(f)).await.is_err() {
        panic!("timed out waiting for a status; last: {:?}", *rx.borrow());
    }
}

/// How often [`wait_counters`] re-reads the counters.
const COUNTERS_POLL: Duration = Duration::from_millis(5);

/// Wait until `net`'s counters satisfy `f` and return them, or fail after [`GUARD`].
/// Counters have no change notification, so they are re-read every few milliseconds: a
/// wait on a condition, whose outcome does not depend on the interval.
pub async fn wait_counters(
    net: &dyn Network,
    mut f: impl FnMut(&CountersSnapshot) -> bool,
) -> CountersSnapshot {
    let wait = async {
        let mut tick = tokio::time::interval(COUNTERS_POLL);
        loop {
            tick.tick().await;
            let c = net.counters();
            if f(&c) {
                return c;
            }
        }
    };
    match tokio::time::timeout(GUARD, wait).await {
        Ok(c) => c,
        Err(_) => panic!("timed out waiting for counters; last: {:?}", net.counters()),
    }
}
