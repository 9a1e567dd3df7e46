//! `/chancery/msg/2`: long-lived streams per peer and channel, frames and credits.
//!
//! Between two nodes: streams are reused across many frames, a receiver that does not drain
//! its inbound channel stops the sender at its credit, and a consensus message overtakes a
//! saturated transactions stream. Against a raw libp2p peer (`common::raw`): frames without
//! credit, oversize frames and unknown channels get the peer scored down then banned, and a
//! stream the receiver resets is replaced on the next send without resending anything.
//! No sleeps: waits are on channels, status watches and counters, under a guard timeout.

mod common;

use chancery_net::{Bytes, Channel, Limits, Network, PeerName};
use common::raw::{read_frame, read_to_close, read_u32, write_frame};
use common::{build_p2p, node_and_raw, recv, wait_counters, wait_status, Spec};
use libp2p::futures::AsyncWriteExt;

/// Two connected nodes with these limits.
async fn pair(
    limits: Limits,
) -> Vec<(
    chancery_net::P2pNetwork,
    tokio::sync::mpsc::Receiver<chancery_net::Inbound>,
)> {
    let nodes = build_p2p(&[
        Spec::new("a", limits.clone(), true),
        Spec::new("b", limits, true),
    ])
    .await;
    for (i, (net, _)) in nodes.iter().enumerate() {
        let other = PeerName::from(if i == 0 { "b" } else { "a" });
        let mut status = net.status();
        wait_status(&mut status, |s| s.connected.contains(&other)).await;
    }
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_frames_to_one_peer_reuse_one_stream_per_channel() {
    let mut nodes = pair(Limits::default()).await;
    let b = PeerName::from("b");
    let rounds = 1000u32;
    // One message per channel at a time, each received before the next is sent: every
    // message is a frame of its own.
    for k in 0..rounds {
        let payload = Bytes::from(k.to_be_bytes().to_vec());
        for channel in Channel::ALL {
            nodes[0].0.send(&b, channel, payload.clone()).expect("send");
        }
        for _ in Channel::ALL {
            let m = recv(&mut nodes[1].1).await;
            assert_eq!(m.payload, payload, "in order, once");
        }
    }
    let c = nodes[0].0.counters();
    assert_eq!(c.sent, [rounds as u64, rounds as u64], "{c:?}");
    assert_eq!(c.frames_sent, 2 * rounds as u64, "{c:?}");
    // Each frame: its length, a count of one, the message's length and 4 payload bytes.
    let frame_bytes = 4 + 4 + 4 + 4;
    assert_eq!(
        c.bytes_sent,
        [rounds as u64 * frame_bytes, rounds as u64 * frame_bytes],
        "{c:?}"
    );
    assert_eq!(c.streams_opened, [1, 1], "one stream per channel: {c:?}");
    assert_eq!(c.batches_failed, 0, "{c:?}");
    // Counted just after each message enters the channel, so possibly after we read it.
    let r = wait_counters(&nodes[1].0, |c| {
        c.received == [rounds as u64, rounds as u64]
    })
    .await;
    assert_eq!(r.streams_opened, [0, 0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_does_not_drain_stops_the_sender_at_its_credit() {
    // One message per frame; b grants 4 frames and has room for 4 messages; a queues 16.
    let limits = Limits {
        batch_messages_max: 1,
        inflight_batches_max: 4,
        inbound_messages_max: 4,
        queue_messages_max: 16,
        ..Limits::default()
    };
    let mut nodes = pair(limits).await;
    let b = PeerName::from("b");
    let offered = 100u64;
    for i in 0..offered {
        nodes[0]
            .0
            .send(&b, Channel::Transactions, Bytes::from(vec![i as u8; 10]))
            .expect("send");
    }
    // b delivers 4 (its channel is then full) and credits them back: a has sent 4 + 4.
    wait_counters(&nodes[1].0, |c| c.received == [0, 4]).await;
    wait_counters(&nodes[0].0, |c| c.sent == [0, 8]).await;
    // A full round trip through both nodes later, a is still stopped at its credit.
    let answer = nodes[0]
        .0
        .request(&b, Bytes::from_static(b"ping"))
        .await
        .expect("b answers requests while its inbound channel is full");
    assert_eq!(&answer[..], b"b|a|ping");
    let c = nodes[0].0.counters();
    assert_eq!(c.sent, [0, 8], "the sender went past its credit: {c:?}");
    assert_eq!(nodes[1].0.counters().received, [0, 4]);
    // The rest waited in a's bounded queue (16), the others were refused.
    let accepted = offered - c.refused_full[1];
    assert!(accepted <= 8 + 16, "{c:?}");
    assert!(c.refused_full[1] > 0, "{c:?}");
    // Draining b lets everything accepted through, in order, exactly once.
    let mut got = Vec::new();
    for _ in 0..accepted {
        got.push(recv(&mut nodes[1].1).await.payload[0]);
    }
    assert_eq!(got[0], 0);
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
    let c = wait_counters(&nodes[0].0, |c| c.sent == [0, accepted]).await;
    assert_eq!(c.batches_failed, 0, "{c:?}");
    assert!(
        nodes[1].1.try_recv().is_err(),
        "nothing beyond what was accepted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consensus_message_overtakes_a_saturated_transactions_stream() {
    let mut nodes = pair(Limits::default()).await;
    let b = PeerName::from("b");
    // Open both streams first.
    for channel in Channel::ALL {
        nodes[0]
            .0
            .send(&b, channel, Bytes::from_static(b"warm"))
            .expect("send");
        recv(&mut nodes[1].1).await;
    }
    // 400 transaction batches of 64 KiB (25 MiB; 4 frames of 16 in flight at a time), then
    // one vote.
    let txs = 400usize;
    for i in 0..txs {
        let mut tx = vec![0u8; 64 * 1024];
        tx[..4].copy_from_slice(&(i as u32).to_be_bytes());
        nodes[0]
            .0
            .send(&b, Channel::Transactions, Bytes::from(tx))
            .expect("send");
    }
    nodes[0]
        .0
        .send(&b, Channel::Consensus, Bytes::from_static(b"vote"))
        .expect("send");
    let mut before = None;
    let mut seen = 0usize;
    while seen < txs || before.is_none() {
        let m = recv(&mut nodes[1].1).await;
        match m.channel {
            Channel::Consensus => {
                assert_eq!(&m.payload[..], b"vote");
                before = Some(seen);
            }
            Channel::Transactions => {
                let i = u32::from_be_bytes(m.payload[..4].try_into().expect("index"));
                assert_eq!(i as usize, seen, "transactions in order");
                seen += 1;
            }
        }
    }
    let before = before.unwrap_or(txs);
    assert!(
        before < txs / 2,
        "the vote waited behind {before} of {txs} transaction batches"
    );
    assert_eq!(nodes[0].0.counters().streams_opened, [1, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_without_credit_oversize_frames_and_unknown_channels_get_the_sender_banned() {
    // The node has room for one message and grants 4 frames per stream.
    let limits = Limits {
        inbound_messages_max: 1,
        inflight_batches_max: 4,
        ..Limits::default()
    };
    let (node, _rx, mut raw) = node_and_raw("a", "mallory", limits).await;
    let mallory = PeerName::from("mallory");
    let mut status = node.status();

    // 1. Frames beyond the credit: the node grants 4, and one more per frame it delivers,
    // which is one (its channel then stays full): the 6th frame has no credit.
    let mut s = raw.open().await;
    s.write_all(&[Channel::Transactions.to_byte()])
        .await
        .expect("header");
    assert_eq!(read_u32(&mut s).await.expect("initial grant"), 4);
    for i in 0..10u8 {
        if write_frame(&mut s, &[&[i; 8]]).await.is_err() {
            break; // the node already closed the stream
        }
    }
    wait_status(&mut status, |st| st.scores.get(&mallory) == Some(&-40)).await;
    let grants = read_to_close(&mut s).await;
    assert!(grants.len() <= 4, "at most one more credit: {grants:?}");
    assert_eq!(node.counters().inbound_rejected, 1);
    assert_eq!(node.counters().received, [0, 1]);

    // 2. A frame length over the limit, refused before anything is read or allocated.
    let mut s = raw.open().await;
    s.write_all(&[Channel::Consensus.to_byte()])
        .await
        .expect("header");
    s.write_all(&u32::MAX.to_be_bytes()).await.expect("length");
    s.flush().await.expect("flush");
    wait_status(&mut status, |st| st.scores.get(&mallory) == Some(&-80)).await;
    read_to_close(&mut s).await;
    assert!(!status.borrow().banned.contains(&mallory));

    // 3. An unknown channel: -120 <= -100, banned and disconnected.
    let mut s = raw.open().await;
    s.write_all(&[7]).await.expect("header");
    s.flush().await.expect("flush");
    wait_status(&mut status, |st| {
        st.banned.contains(&mallory) && !st.connected.contains(&mallory)
    })
    .await;
    assert_eq!(status.borrow().scores.get(&mallory), Some(&-120));
    assert_eq!(node.counters().inbound_rejected, 3);
    assert_eq!(node.counters().received, [0, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_stream_is_replaced_on_the_next_send_and_nothing_is_resent() {
    let (node, _rx, mut raw) = node_and_raw("a", "mallory", Limits::default()).await;
    let mallory = PeerName::from("mallory");

    node.send(&mallory, Channel::Consensus, Bytes::from_static(b"one"))
        .expect("send");
    let mut s = raw.accept().await;
    let mut header = [0u8; 1];
    libp2p::futures::AsyncReadExt::read_exact(&mut s, &mut header)
        .await
        .expect("header");
    assert_eq!(header[0], Channel::Consensus.to_byte());
    s.write_all(&4u32.to_be_bytes()).await.expect("grant");
    s.flush().await.expect("flush");
    assert_eq!(
        read_frame(&mut s).await.expect("frame"),
        vec![b"one".to_vec()]
    );
    // Reset it without crediting the frame back: the node counts it possibly lost.
    drop(s);
    wait_counters(&node, |c| c.batches_failed == 1).await;

    node.send(&mallory, Channel::Consensus, Bytes::from_static(b"two"))
        .expect("send");
    let mut s = raw.accept().await;
    libp2p::futures::AsyncReadExt::read_exact(&mut s, &mut header)
        .await
        .expect("header");
    assert_eq!(header[0], Channel::Consensus.to_byte());
    s.write_all(&4u32.to_be_bytes()).await.expect("grant");
    s.flush().await.expect("flush");
    assert_eq!(
        read_frame(&mut s).await.expect("frame"),
        vec![b"two".to_vec()],
        "only the new message: \"one\" is not sent twice"
    );
    let c = node.counters();
    assert_eq!(c.streams_opened, [2, 0], "{c:?}");
    assert_eq!(c.sent, [2, 0], "{c:?}");
    assert_eq!(c.batches_failed, 1, "{c:?}");
}
