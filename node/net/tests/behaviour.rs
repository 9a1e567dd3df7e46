//! One behavioural test suite, run against every implementation of `Network`.
//!
//! No sleeps: every wait is on a channel or a status watch, under a generous timeout that
//! only turns a hang into a failure.

mod common;

use chancery_net::{Bytes, Channel, Limits, Misbehaviour, RequestError, SendError};
use common::{build, recv, wait_status, Kind};
use std::collections::BTreeMap;

/// Every broadcast reaches every other node exactly once, on the channel it was sent on.
async fn broadcast_exactly_once(kind: Kind) {
    let names = ["a", "b", "c", "d"];
    let mut nodes = build(kind, &names, &[], Limits::default()).await;
    let per_node = 25u32;
    for (i, n) in nodes.iter().enumerate() {
        for k in 0..per_node {
            let channel = if k % 2 == 0 {
                Channel::Consensus
            } else {
                Channel::Transactions
            };
            let payload = Bytes::from(format!("{i}:{k}:{}", "x".repeat(300)));
            n.net.broadcast(channel, payload).expect("broadcast");
        }
    }
    let expected = (names.len() as u32 - 1) * per_node;
    for (i, node) in nodes.iter_mut().enumerate() {
        let mut seen: BTreeMap<(String, u32), Channel> = BTreeMap::new();
        for _ in 0..expected {
            let m = recv(&mut node.rx).await;
            let text = String::from_utf8(m.payload.to_vec()).expect("utf8");
            let mut parts = text.split(':');
            let src: usize = parts.next().and_then(|s| s.parse().ok()).expect("src");
            let k: u32 = parts.next().and_then(|s| s.parse().ok()).expect("k");
            assert_ne!(src, i, "a node received its own broadcast");
            assert_eq!(m.from.as_str(), names[src], "sender name matches payload");
            let want = if k % 2 == 0 {
                Channel::Consensus
            } else {
                Channel::Transactions
            };
            assert_eq!(m.channel, want);
            assert!(
                seen.insert((names[src].to_string(), k), m.channel)
                    .is_none(),
                "duplicate delivery of {src}:{k} at node {i}"
            );
        }
        assert_eq!(seen.len() as u32, expected);
    }
    // Exactly once: after a final marker from every other node, nothing else is pending.
    for (i, n) in nodes.iter().enumerate() {
        n.net
            .broadcast(Channel::Consensus, Bytes::from(format!("end:{i}")))
            .expect("broadcast");
    }
    for node in nodes.iter_mut() {
        for _ in 0..names.len() - 1 {
            let m = recv(&mut node.rx).await;
            assert!(
                m.payload.starts_with(b"end:"),
                "unexpected extra message {:?}",
                m.payload
            );
        }
        assert!(node.rx.try_recv().is_err(), "extra message after markers");
    }
    for n in &nodes {
        let c = n.net.counters();
        assert_eq!(c.refused_full, [0, 0]);
        assert_eq!(c.dropped_oldest, [0, 0]);
    }
}

/// A request returns the remote handler's answer; declines, unknown peers and oversize
/// requests are errors.
async fn request_response(kind: Kind) {
    let limits = Limits {
        request_bytes_max: 1000,
        ..Limits::default()
    };
    let nodes = build(kind, &["a", "b", "c"], &[], limits).await;
    let b = nodes[1].net.local_name().clone();
    let answer = nodes[0]
        .net
        .request(&b, Bytes::from_static(b"blocks from 7"))
        .await
        .expect("answer");
    assert_eq!(&answer[..], b"b|a|blocks from 7");
    let answer = nodes[2]
        .net
        .request(&b, Bytes::from_static(b"hi"))
        .await
        .expect("answer");
    assert_eq!(&answer[..], b"b|c|hi");
    let declined = nodes[0]
        .net
        .request(&b, Bytes::from_static(b"decline"))
        .await;
    assert_eq!(declined, Err(RequestError::Declined { peer: b.clone() }));
    let unknown = nodes[0].net.request(&"zz".into(), Bytes::new()).await;
    assert!(matches!(unknown, Err(RequestError::UnknownPeer { .. })));
    let big = nodes[0].net.request(&b, Bytes::from(vec![0u8; 1001])).await;
    assert_eq!(
        big,
        Err(RequestError::TooLarge {
            bytes: 1001,
            bytes_max: 1000
        })
    );
    assert_eq!(nodes[1].net.counters().requests_served, 3);
}

/// Oversize sends are refused locally with the limit named.
async fn oversize_send_refused(kind: Kind) {
    let limits = Limits {
        consensus_bytes_max: 100,
        transactions_bytes_max: 200,
        ..Limits::default()
    };
    let mut nodes = build(kind, &["a", "b"], &[], limits).await;
    let b = nodes[1].net.local_name().clone();
    let err = nodes[0]
        .net
        .send(&b, Channel::Consensus, Bytes::from(vec![0u8; 101]))
        .unwrap_err();
    assert_eq!(
        err,
        SendError::TooLarge {
            channel: Channel::Consensus,
            bytes: 101,
            bytes_max: 100
        }
    );
    assert!(nodes[0]
        .net
        .broadcast(Channel::Transactions, Bytes::from(vec![0u8; 201]))
        .is_err());
    // A message at the limit goes through.
    nodes[0]
        .net
        .send(&b, Channel::Transactions, Bytes::from(vec![7u8; 200]))
        .expect("at the limit");
    let m = recv(&mut nodes[1].rx).await;
    assert_eq!(m.payload.len(), 200);
    assert_eq!(
        nodes[0]
            .net
            .send(&"nobody".into(), Channel::Consensus, Bytes::new()),
        Err(SendError::UnknownPeer {
            peer: "nobody".into()
        })
    );
}

/// Reported misbehaviour lowers a peer's score; at the threshold it is banned and what it
/// sends is no longer delivered, while other peers still get through.
async fn report_bans_peer(kind: Kind) {
    let mut nodes = build(kind, &["a", "b", "c"], &[], Limits::default()).await;
    let (a, b) = (
        nodes[0].net.local_name().clone(),
        nodes[1].net.local_name().clone(),
    );
    // b hears from a first, so the connection is up before the ban.
    nodes[0]
        .net
        .send(&b, Channel::Consensus, Bytes::from_static(b"hello"))
        .expect("send");
    assert_eq!(recv(&mut nodes[1].rx).await.from, a);
    nodes[1].net.report(&a, Misbehaviour::Invalid);
    let mut status = nodes[1].net.status();
    wait_status(&mut status, |s| s.scores.get(&a) == Some(&-25)).await;
    assert!(!status.borrow().banned.contains(&a));
    nodes[1].net.report(&a, Misbehaviour::BadSignature);
    nodes[1].net.report(&a, Misbehaviour::BadSignature);
    wait_status(&mut status, |s| {
        s.banned.contains(&a) && !s.connected.contains(&a)
    })
    .await;
    nodes[0]
        .net
        .send(&b, Channel::Consensus, Bytes::from_static(b"from banned"))
        .expect("send is queued");
    nodes[2]
        .net
        .send(&b, Channel::Consensus, Bytes::from_static(b"marker"))
        .expect("send");
    let m = recv(&mut nodes[1].rx).await;
    assert_eq!(
        &m.payload[..],
        b"marker",
        "a banned peer's message was delivered"
    );
}

/// A node whose identity is not in the allowed set reaches no one: it is refused (and
/// the refusal counted), its requests fail, and nothing it sends is delivered.
async fn outsider_refused(kind: Kind) {
    let mut nodes = build(kind, &["a", "b"], &["mallory"], Limits::default()).await;
    let a = nodes[0].net.local_name().clone();
    let mallory = nodes.pop().expect("outsider");
    mallory
        .net
        .broadcast(Channel::Consensus, Bytes::from_static(b"evil"))
        .expect("outsider's broadcast is only queued");
    let r = mallory.net.request(&a, Bytes::from_static(b"hi")).await;
    assert!(r.is_err(), "outsider's request answered: {r:?}");
    let mut status = nodes[0].net.status();
    wait_status(&mut status, |s| s.refused_connections >= 1).await;
    assert!(!status
        .borrow()
        .connected
        .iter()
        .any(|p| p.as_str() == "mallory"));
    nodes[1]
        .net
        .send(&a, Channel::Consensus, Bytes::from_static(b"marker"))
        .expect("send");
    let m = recv(&mut nodes[0].rx).await;
    assert_eq!(
        &m.payload[..],
        b"marker",
        "an outsider's message was delivered"
    );
    assert_eq!(m.from.as_str(), "b");
}

macro_rules! suite {
    ($module:ident, $kind:expr) => {
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn broadcast_reaches_every_other_node_exactly_once() {
                broadcast_exactly_once($kind).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn request_returns_the_handlers_answer() {
                request_response($kind).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn oversize_sends_are_refused_locally() {
                oversize_send_refused($kind).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn reported_peer_is_banned() {
                report_bans_peer($kind).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn outsider_cannot_connect() {
                outsider_refused($kind).await;
            }
        }
    };
}

suite!(mem, Kind::Mem);
suite!(p2p, Kind::P2p);
