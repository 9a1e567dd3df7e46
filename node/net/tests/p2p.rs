//! libp2p-specific behaviour: oversize data from a peer is rejected and the peer scored
//! down, then banned and disconnected; messages queued before a connection are delivered.
//! No sleeps: waits are on status watches, channels and counters.

mod common;

use chancery_net::{Bytes, Channel, Limits, Network};
use common::{build_p2p, recv, wait_counters, wait_status, Spec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_message_is_rejected_and_sender_scored_down_then_banned() {
    // The sender believes 64 KiB is fine; the receiver allows 1 KiB consensus messages.
    let big = Limits {
        consensus_bytes_max: 64 * 1024,
        ..Limits::default()
    };
    let small = Limits {
        consensus_bytes_max: 1024,
        ..Limits::default()
    };
    let mut nodes = build_p2p(&[Spec::new("a", big, true), Spec::new("b", small, true)]).await;
    let (a, b) = (
        nodes[0].0.local_name().clone(),
        nodes[1].0.local_name().clone(),
    );
    let mut status = nodes[1].0.status();
    wait_status(&mut status, |s| s.connected.contains(&a)).await;

    nodes[0]
        .0
        .send(&b, Channel::Consensus, Bytes::from(vec![1u8; 4096]))
        .expect("the sender's own limit allows it");
    wait_status(&mut status, |s| s.scores.get(&a) == Some(&-40)).await;
    assert_eq!(nodes[1].0.counters().inbound_rejected, 1);
    assert!(!status.borrow().banned.contains(&a));
    // b closed the stream; once a has seen it (the frame counted lost), its next send opens
    // a new stream. (A message a writes before seeing the reset is lost: at most once.)
    wait_counters(&nodes[0].0, |c| c.batches_failed == 1).await;

    // A valid message still gets through, and it is the first thing b receives.
    nodes[0]
        .0
        .send(&b, Channel::Consensus, Bytes::from_static(b"ok"))
        .expect("send");
    let m = recv(&mut nodes[1].1).await;
    assert_eq!((&m.payload[..], &m.from), (&b"ok"[..], &a));

    // Two more offences cross the threshold (-120 <= -100): banned and disconnected.
    for (score, failed) in [(-80, 2), (-120, 3)] {
        nodes[0]
            .0
            .send(&b, Channel::Consensus, Bytes::from(vec![2u8; 2048]))
            .expect("send");
        wait_status(&mut status, |s| s.scores.get(&a) == Some(&score)).await;
        wait_counters(&nodes[0].0, |c| c.batches_failed == failed).await;
    }
    wait_status(&mut status, |s| {
        s.banned.contains(&a) && !s.connected.contains(&a)
    })
    .await;
    // a notices the disconnection; its redials are refused at b's gate.
    let mut a_status = nodes[0].0.status();
    wait_status(&mut a_status, |s| !s.connected.contains(&b)).await;
    wait_status(&mut status, |s| s.refused_connections >= 1).await;
    let c = nodes[0].0.counters();
    assert_eq!(c.batches_failed, 3, "{c:?}");
    // Each offending frame closed its stream: "ok" and the second offence shared the
    // second of three streams.
    assert_eq!(c.streams_opened, [3, 0], "{c:?}");
    assert_eq!(nodes[1].0.counters().received, [1, 0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_queued_before_connecting_are_delivered_and_queues_are_bounded() {
    let limits = Limits {
        queue_messages_max: 8,
        ..Limits::default()
    };
    let mut nodes = build_p2p(&[
        Spec::new("a", limits.clone(), true),
        Spec::new("b", limits, true),
    ])
    .await;
    let b = nodes[1].0.local_name().clone();
    // Queued at once, before or while connecting: 20 transaction batches, 8 fit.
    for i in 0..20u8 {
        nodes[0]
            .0
            .send(&b, Channel::Transactions, Bytes::from(vec![i; 10]))
            .expect("send");
    }
    let sent = nodes[0].0.counters();
    // Some may already have left the queue if the connection was up; at most 8 wait.
    let delivered_expected = 20 - sent.refused_full[1];
    assert!(delivered_expected >= 8, "{sent:?}");
    let mut got = Vec::new();
    for _ in 0..delivered_expected {
        got.push(recv(&mut nodes[1].1).await.payload[0]);
    }
    assert_eq!(
        got[0], 0,
        "the oldest queued message is kept (refuse-newest policy)"
    );
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
}
