//! The runtime peer set (`Network::set_peers`, governance: validators join, leave and rotate
//! keys at epoch boundaries). The shared scenarios run against both implementations; key
//! rotation, dialling and connection limits are libp2p's own.
//!
//! No sleeps: every wait is on a channel, a status watch or the counters, under a generous
//! timeout that only turns a hang into a failure.

mod common;

use chancery_net::{
    peer_id_of, Bytes, Channel, Inbound, Limits, Misbehaviour, Network, PeerConfig, PeerName,
    PeerSetChange, RequestError, SendError, SetPeersError,
};
use common::{build, peer_entry, recv, start_p2p, wait_status, Kind, Node};
use tokio::sync::mpsc;

fn name(n: &str) -> PeerName {
    PeerName::from(n)
}

fn names(ns: &[&str]) -> Vec<PeerName> {
    ns.iter().map(|n| name(n)).collect()
}

fn entry(n: &str, node: &Node) -> PeerConfig {
    peer_entry(n, n, node.addr.as_ref())
}

/// The next message on `rx`, skipping earlier messages listed in `skip` (sent before the
/// link existed; libp2p delivers them once it does, the memory network drops them).
async fn recv_skipping(rx: &mut mpsc::Receiver<Inbound>, skip: &[&[u8]]) -> Inbound {
    loop {
        let m = recv(rx).await;
        if !skip.contains(&&m.payload[..]) {
            return m;
        }
    }
}

/// (a) A stranger is refused; once `set_peers` lists it (without an address: it dials us),
/// it is admitted and messages flow both ways, and the kept peer is not disturbed.
async fn stranger_admitted_after_set_peers(kind: Kind) {
    let mut nodes = build(kind, &["a", "b"], &["c"], Limits::default()).await;
    let (a, b, c) = (name("a"), name("b"), name("c"));
    let mut a_status = nodes[0].net.status();
    wait_status(&mut a_status, |s| s.connected.contains(&b)).await;

    // c knows a (libp2p: dials it; memory: sends to it); a's gate refuses it.
    nodes[2]
        .net
        .send(&a, Channel::Consensus, Bytes::from_static(b"refused"))
        .expect("c allows a");
    wait_status(&mut a_status, |s| s.refused_connections >= 1).await;
    assert!(!a_status.borrow().connected.contains(&c));
    assert_eq!(
        nodes[0]
            .net
            .send(&c, Channel::Consensus, Bytes::from_static(b"x")),
        Err(SendError::UnknownPeer { peer: c.clone() })
    );

    let change = nodes[0]
        .net
        .set_peers(vec![entry("b", &nodes[1]), peer_entry("c", "c", None)])
        .expect("valid list");
    assert_eq!(
        change,
        PeerSetChange {
            added: vec![c.clone()],
            ..PeerSetChange::default()
        }
    );
    assert_eq!(nodes[0].net.peers(), names(&["b", "c"]));
    wait_status(&mut a_status, |s| {
        s.connected.contains(&c) && s.connected.contains(&b)
    })
    .await;

    nodes[0]
        .net
        .send(&c, Channel::Consensus, Bytes::from_static(b"a->c"))
        .expect("c is allowed now");
    let m = recv(&mut nodes[2].rx).await;
    assert_eq!((&m.from, &m.payload[..]), (&a, &b"a->c"[..]));
    nodes[2]
        .net
        .send(&a, Channel::Transactions, Bytes::from_static(b"c->a"))
        .expect("send");
    let m = recv_skipping(&mut nodes[0].rx, &[b"refused"]).await;
    assert_eq!(
        (&m.from, m.channel, &m.payload[..]),
        (&c, Channel::Transactions, &b"c->a"[..])
    );
    // The kept peer still works.
    nodes[0]
        .net
        .send(&b, Channel::Consensus, Bytes::from_static(b"a->b"))
        .expect("send");
    let m = recv(&mut nodes[1].rx).await;
    assert_eq!((&m.from, &m.payload[..]), (&a, &b"a->b"[..]));
}

/// (b) A peer no longer listed is disconnected, refused when it comes back, unknown to
/// `send`/`request`, and its score forgotten; the kept peer keeps its connection.
async fn removed_peer_is_cut_off(kind: Kind) {
    let mut nodes = build(kind, &["a", "b", "c"], &[], Limits::default()).await;
    let (a, b, c) = (name("a"), name("b"), name("c"));
    let mut a_status = nodes[0].net.status();
    wait_status(&mut a_status, |s| {
        s.connected.contains(&b) && s.connected.contains(&c)
    })
    .await;
    // A message to c opens its stream (libp2p), so we can tell the connection is kept.
    nodes[0]
        .net
        .send(&c, Channel::Consensus, Bytes::from_static(b"before"))
        .expect("send");
    assert_eq!(&recv(&mut nodes[2].rx).await.payload[..], b"before");
    nodes[0].net.report(&b, Misbehaviour::Spam);
    wait_status(&mut a_status, |s| s.scores.get(&b) == Some(&-5)).await;
    let streams_before = nodes[0].net.counters().streams_opened;
    let refused_before = a_status.borrow().refused_connections;

    let change = nodes[0]
        .net
        .set_peers(vec![entry("c", &nodes[2])])
        .expect("valid list");
    assert_eq!(
        change,
        PeerSetChange {
            removed: vec![b.clone()],
            ..PeerSetChange::default()
        }
    );
    // At once, without waiting for the transport.
    assert_eq!(nodes[0].net.peers(), names(&["c"]));
    assert_eq!(
        nodes[0]
            .net
            .send(&b, Channel::Consensus, Bytes::from_static(b"x")),
        Err(SendError::UnknownPeer { peer: b.clone() })
    );
    assert_eq!(
        nodes[0].net.request(&b, Bytes::from_static(b"q")).await,
        Err(RequestError::UnknownPeer { peer: b.clone() })
    );
    wait_status(&mut a_status, |s| {
        !s.connected.contains(&b) && !s.scores.contains_key(&b)
    })
    .await;
    let mut b_status = nodes[1].net.status();
    wait_status(&mut b_status, |s| !s.connected.contains(&a)).await;

    // b still allows a and tries again (libp2p: it redials; memory: the send): refused.
    nodes[1]
        .net
        .send(&a, Channel::Consensus, Bytes::from_static(b"from b"))
        .expect("b still allows a");
    wait_status(&mut a_status, |s| s.refused_connections > refused_before).await;
    assert!(!a_status.borrow().connected.contains(&b));

    // The kept peer: same connection and stream, both directions.
    nodes[0]
        .net
        .broadcast(Channel::Consensus, Bytes::from_static(b"after"))
        .expect("broadcast");
    let m = recv(&mut nodes[2].rx).await;
    assert_eq!((&m.from, &m.payload[..]), (&a, &b"after"[..]));
    assert_eq!(nodes[0].net.counters().streams_opened, streams_before);
    nodes[2]
        .net
        .send(&a, Channel::Consensus, Bytes::from_static(b"c->a"))
        .expect("send");
    let m = recv(&mut nodes[0].rx).await;
    assert_eq!(
        (&m.from, &m.payload[..]),
        (&c, &b"c->a"[..]),
        "nothing from b got through"
    );
    assert_eq!(
        nodes[0].net.request(&c, Bytes::from_static(b"q")).await,
        Ok(Bytes::from_static(b"c|a|q"))
    );
}

/// A 32-byte value that is not an Ed25519 public key (not a curve point).
fn bad_key() -> chancery_core::NetworkKey {
    (0u8..=255)
        .map(|b| chancery_core::NetworkKey([b; 32]))
        .find(|k| peer_id_of(k).is_err())
        .expect("some byte pattern is not a curve point")
}

/// (d) An invalid list changes nothing, and the error says which peer and why.
async fn invalid_lists_change_nothing(kind: Kind) {
    let limits = Limits {
        peers_max: 2,
        ..Limits::default()
    };
    let mut nodes = build(kind, &["a", "b"], &["c", "d"], limits).await;
    let (a, b) = (name("a"), name("b"));
    let mut a_status = nodes[0].net.status();
    wait_status(&mut a_status, |s| s.connected.contains(&b)).await;
    let eb = entry("b", &nodes[1]);
    let ec = entry("c", &nodes[2]);
    let ed = entry("d", &nodes[3]);
    let bad = PeerConfig {
        network_key: bad_key(),
        ..ec.clone()
    };
    let cases: Vec<(Vec<PeerConfig>, SetPeersError)> = vec![
        (
            vec![ec.clone(), eb.clone(), peer_entry("b", "d", None)],
            SetPeersError::DuplicateName { peer: b.clone() },
        ),
        (
            vec![eb.clone(), peer_entry("c", "b", None)],
            SetPeersError::DuplicateKey {
                peer: name("c"),
                first: b.clone(),
                key: eb.network_key.to_hex(),
            },
        ),
        (
            vec![eb.clone(), bad.clone()],
            SetPeersError::BadNetworkKey {
                peer: name("c"),
                key: bad.network_key.to_hex(),
                reason: peer_id_of(&bad.network_key).expect_err("bad key"),
            },
        ),
        (
            vec![eb.clone(), ec.clone(), ed.clone()],
            SetPeersError::TooMany {
                peers: 3,
                peers_max: 2,
            },
        ),
    ];
    for (list, want) in cases {
        let got = nodes[0].net.set_peers(list).expect_err("invalid list");
        assert_eq!(got, want);
        let text = got.to_string();
        if let Some(peer) = match &got {
            SetPeersError::DuplicateName { peer }
            | SetPeersError::DuplicateKey { peer, .. }
            | SetPeersError::BadNetworkKey { peer, .. } => Some(peer),
            SetPeersError::TooMany { .. } => None,
        } {
            assert!(text.contains(peer.as_str()), "{text}");
        }
        assert_eq!(nodes[0].net.peers(), names(&["b"]), "after {text}");
        nodes[0]
            .net
            .send(&b, Channel::Consensus, Bytes::from(text.clone()))
            .expect("b is still a peer");
        let m = recv(&mut nodes[1].rx).await;
        assert_eq!((&m.from, &m.payload[..]), (&a, text.as_bytes()));
        assert!(a_status.borrow().connected.contains(&b));
    }
    // This node's own entry is ignored and not counted: two peers and a is within the limit.
    let change = nodes[0]
        .net
        .set_peers(vec![peer_entry("a", "a", None), eb, ec])
        .expect("own entry ignored");
    assert_eq!(change.added, vec![name("c")]);
    assert_eq!(nodes[0].net.peers(), names(&["b", "c"]));
}

#[tokio::test]
async fn mem_stranger_admitted_after_set_peers() {
    stranger_admitted_after_set_peers(Kind::Mem).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p2p_stranger_admitted_after_set_peers() {
    stranger_admitted_after_set_peers(Kind::P2p).await;
}

#[tokio::test]
async fn mem_removed_peer_is_cut_off() {
    removed_peer_is_cut_off(Kind::Mem).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p2p_removed_peer_is_cut_off() {
    removed_peer_is_cut_off(Kind::P2p).await;
}

#[tokio::test]
async fn mem_invalid_lists_change_nothing() {
    invalid_lists_change_nothing(Kind::Mem).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p2p_invalid_lists_change_nothing() {
    invalid_lists_change_nothing(Kind::P2p).await;
}

/// The memory network follows names only: a key change is no change, and a restarted
/// endpoint starts again from the hub's set.
#[tokio::test]
async fn mem_ignores_keys_and_restart_resets_the_set() {
    let hub = chancery_net::MemHub::new(names(&["a", "b"]), Limits::default());
    let (a, _a_rx) = hub.join(name("a"), chancery_net::no_requests());
    let (_b, _b_rx) = hub.join(name("b"), chancery_net::no_requests());
    let change = a
        .set_peers(vec![peer_entry("b", "other key", None)])
        .expect("valid");
    assert!(change.is_empty(), "{change:?}");
    a.set_peers(Vec::new()).expect("valid");
    assert!(a.peers().is_empty());
    let (a2, _a2_rx) = hub.join(name("a"), chancery_net::no_requests());
    assert_eq!(a2.peers(), names(&["b"]));
}

/// (c) Key rotation: b restarts with a new key under the same name. a refuses it until
/// `set_peers` gives the new key, then accepts it, drops what was queued for the old
/// identity, and refuses the old key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p2p_rotated_key_replaces_the_identity() {
    let limits = Limits::default();
    let (a, mut a_rx) = start_p2p("a", "a", vec![peer_entry("b", "b", None)], limits.clone()).await;
    let a_addr = a.listen_addrs()[0].clone();
    let (b_old, b_old_rx) = start_p2p(
        "b",
        "b",
        vec![peer_entry("a", "a", Some(&a_addr))],
        limits.clone(),
    )
    .await;
    let (an, bn) = (name("a"), name("b"));
    let mut a_status = a.status();
    wait_status(&mut a_status, |s| s.connected.contains(&bn)).await;

    // b stops; it comes back with a new key under the same name.
    drop((b_old, b_old_rx));
    wait_status(&mut a_status, |s| !s.connected.contains(&bn)).await;
    let (b_new, mut b_new_rx) = start_p2p(
        "b",
        "b-rotated",
        vec![peer_entry("a", "a", Some(&a_addr))],
        limits.clone(),
    )
    .await;
    wait_status(&mut a_status, |s| s.refused_connections >= 1).await;
    assert!(!a_status.borrow().connected.contains(&bn));
    // Queued for the old identity (a still knows only that one): never goes to the new one.
    a.send(
        &bn,
        Channel::Consensus,
        Bytes::from_static(b"for the old b"),
    )
    .expect("b (old key) is still allowed");

    let b_new_addr = b_new.listen_addrs()[0].clone();
    let change = a
        .set_peers(vec![peer_entry("b", "b-rotated", Some(&b_new_addr))])
        .expect("valid list");
    assert_eq!(
        change,
        PeerSetChange {
            rotated: vec![bn.clone()],
            ..PeerSetChange::default()
        }
    );
    assert_eq!(a.peers(), vec![bn.clone()]);
    wait_status(&mut a_status, |s| s.connected.contains(&bn)).await;
    a.send(
        &bn,
        Channel::Consensus,
        Bytes::from_static(b"for the new b"),
    )
    .expect("send");
    let m = recv(&mut b_new_rx).await;
    assert_eq!(
        (&m.from, &m.payload[..]),
        (&an, &b"for the new b"[..]),
        "what was queued for the old key is not sent to the new one"
    );
    b_new
        .send(
            &an,
            Channel::Consensus,
            Bytes::from_static(b"from the new b"),
        )
        .expect("send");
    let m = recv(&mut a_rx).await;
    assert_eq!((&m.from, &m.payload[..]), (&bn, &b"from the new b"[..]));

    // Every refusal of the new key happened before the set was applied (a counts in order
    // and saw b connected after); from here on only the old key is refused.
    let refused = a_status.borrow().refused_connections;
    let (_b_again, _b_again_rx) =
        start_p2p("b", "b", vec![peer_entry("a", "a", Some(&a_addr))], limits).await;
    wait_status(&mut a_status, |s| s.refused_connections > refused).await;
    assert!(a_status.borrow().connected.contains(&bn));
    a.send(&bn, Channel::Consensus, Bytes::from_static(b"still new"))
        .expect("send");
    assert_eq!(&recv(&mut b_new_rx).await.payload[..], b"still new");
}

/// New peers with addresses are dialled (they do not know our address), and the connection
/// limits follow the set: a node started with no peers at all (limits sized for none)
/// connects to the two it is given later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p2p_new_peers_are_dialled_and_limits_follow_the_set() {
    let limits = Limits::default();
    let (a, mut a_rx) = start_p2p("a", "a", Vec::new(), limits.clone()).await;
    assert!(a.peers().is_empty());
    // b and c allow a but do not know where it is.
    let (b, mut b_rx) = start_p2p("b", "b", vec![peer_entry("a", "a", None)], limits.clone()).await;
    let (c, mut c_rx) = start_p2p("c", "c", vec![peer_entry("a", "a", None)], limits).await;
    let change = a
        .set_peers(vec![
            peer_entry("b", "b", b.listen_addrs().first()),
            peer_entry("c", "c", c.listen_addrs().first()),
        ])
        .expect("valid list");
    assert_eq!(change.added, names(&["b", "c"]));
    let mut a_status = a.status();
    wait_status(&mut a_status, |s| {
        s.connected.contains(&name("b")) && s.connected.contains(&name("c"))
    })
    .await;
    a.broadcast(Channel::Consensus, Bytes::from_static(b"hello"))
        .expect("broadcast");
    for rx in [&mut b_rx, &mut c_rx] {
        let m = recv(rx).await;
        assert_eq!((m.from.as_str(), &m.payload[..]), ("a", &b"hello"[..]));
    }
    for (net, n) in [(&b, "b"), (&c, "c")] {
        net.send(&name("a"), Channel::Consensus, Bytes::from(n.to_string()))
            .expect("send");
    }
    let mut from: Vec<String> = Vec::new();
    for _ in 0..2 {
        let m = recv(&mut a_rx).await;
        assert_eq!(m.from.as_str().as_bytes(), &m.payload[..]);
        from.push(m.from.to_string());
    }
    from.sort();
    assert_eq!(from, ["b", "c"]);
}
