//! Multi-process partition tests on a real testnet of 4 validators and 1 observer, each node
//! in its own Linux network namespace on a bridge (`chancery-testnet up --netns`), with
//! `chancery-testnet partition` / `heal` cutting and restoring the traffic between them
//! (tc on the host side of each node's veth; see docs/network.md). Root only: without root
//! the tests print "SKIP: needs root for network namespaces" and pass.
//!
//! 4. Partition 2|2: no block is finalized on either side while transactions keep arriving;
//!    heal: progress resumes, every node holds the same chain.
//! 5. Partition 3|1: the three validators keep finalizing, the one does not (and hears of no
//!    newer height); heal: it catches up and agrees.
//!
//! Waits on event streams where there is an event; where a test must show that something
//! does NOT happen, it polls `/v1/status` over a bounded window (explained at that place).

mod common;
use common::*;
use std::time::{Duration, Instant};

fn skip_without_root() -> bool {
    if is_root() {
        return false;
    }
    println!("SKIP: needs root for network namespaces");
    true
}

/// Tips of the nodes `idx`, once two readings `settle_ms` apart agree: a certificate whose
/// votes all arrived before the cut may still finalize a block just after it. Bounded.
fn settled_tips(apis: &[String], idx: &[usize], settle_ms: u64) -> Vec<u64> {
    let read = || -> Vec<u64> { idx.iter().map(|&i| tip_height(&apis[i])).collect() };
    let until = Instant::now() + Duration::from_secs(30);
    let mut before = read();
    loop {
        std::thread::sleep(Duration::from_millis(settle_ms)); // observation gap, not a sync point
        let now = read();
        if now == before {
            return now;
        }
        assert!(
            Instant::now() < until,
            "tips kept moving after the partition: {before:?} -> {now:?}"
        );
        before = now;
    }
}

#[test]
fn partition_2_2_finalizes_nothing_then_heals_without_divergence() {
    if skip_without_root() {
        return;
    }
    let (net, apis) = start_testnet_netns(5);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut expected = demo(&net, 0, 1);
    for api in &apis {
        wait_log_size(api, expected, deadline);
    }
    // Two validators on each side; the observer with the first pair.
    testnet_cmd(
        &net,
        &["partition", "cnao-1,mof-1,observer-1", "nda-1,ndrc-1"],
    );
    let everyone = [0usize, 1, 2, 3, 4];
    let delta_ms = genesis_delta_ms(&net);
    let tips = settled_tips(&apis, &everyone, 3 * delta_ms);
    // Load keeps arriving on both sides (the demo spreads its submissions over all nodes)...
    expected += demo(&net, 1, 1);
    wait_mempool_nonempty(&apis, &[1, 2]);
    // ...but neither side holds a quorum (3 of 4): no tip moves for 6 view timeouts (3Δ).
    assert_no_progress(
        &apis,
        &everyone,
        &tips,
        Duration::from_millis(6 * 3 * delta_ms),
        "while partitioned",
    );

    testnet_cmd(&net, &["heal"]);
    for api in &apis {
        wait_log_size(api, expected, deadline);
    }
    assert!(tip_height(&apis[0]) > tips[0], "progress resumed");
    let tx_hashes = same_chain(&apis);
    assert_eq!(
        tx_hashes.len() as u64,
        expected,
        "every submitted transaction is committed once"
    );
}

#[test]
fn partition_3_1_the_three_progress_and_the_one_catches_up_after_heal() {
    partition_3_1(&[], 6);
}

/// The same on an `sm2-sm3` chain (issue 21): the cut-off node catches up by sync,
/// decoding and checking blocks and certificates in the chain's suite.
#[test]
fn partition_3_1_of_an_sm2_sm3_chain_heals_the_same_way() {
    partition_3_1(&["--crypto", "sm2-sm3"], 4);
}

fn partition_3_1(crypto: &[&str], slot: u16) {
    if skip_without_root() {
        return;
    }
    let mut up = vec!["--netns"];
    up.extend_from_slice(crypto);
    let (net, apis) = start_testnet_with(slot, &up);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut expected = demo(&net, 0, 1);
    for api in &apis {
        wait_log_size(api, expected, deadline);
    }
    let alone = 3; // ndrc-1
    testnet_cmd(
        &net,
        &["partition", "cnao-1,mof-1,nda-1,observer-1", NAMES[alone]],
    );
    let delta_ms = genesis_delta_ms(&net);
    let cut_tip = settled_tips(&apis, &[alone], 3 * delta_ms)[0];

    // The three validators (a quorum) keep finalizing the load, and the observer follows.
    // The clients submit on the majority side: a transaction accepted by the cut-off node
    // would wait in its mempool until the heal (and hold back its signer's later ones).
    let majority = [0usize, 1, 2, 4];
    expected += demo_via(&net, &majority, 1, 2);
    for &i in &majority {
        wait_log_size(&apis[i], expected, deadline);
    }
    let majority_tip = tip_height(&apis[0]);
    for &i in &majority {
        wait_height(&apis[i], cut_tip + 5, deadline);
    }
    // The one finalized nothing and heard of none of it: no message crossed the cut.
    let s = status(&apis[alone]);
    assert_eq!(
        s.tip.height, cut_tip,
        "the cut-off validator finalized a block alone: {s:?}"
    );
    let heard = s.node.peer_height;
    assert!(
        heard < majority_tip,
        "the cut-off validator heard of height {heard} (majority at {majority_tip}): {s:?}"
    );

    testnet_cmd(&net, &["heal"]);
    wait_log_size(&apis[alone], expected, deadline);
    // It catches up to where the others were when it rejoined, and follows from there.
    let h = tip_height(&apis[0]);
    wait_height(&apis[alone], h, deadline);
    let tx_hashes = same_chain(&apis);
    assert_eq!(
        tx_hashes.len() as u64,
        expected,
        "every submitted transaction is committed once"
    );
}
