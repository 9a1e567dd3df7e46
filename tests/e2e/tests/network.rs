//! Multi-process test: a real testnet of 4 validators and 1 observer (separate
//! `chancery-node` processes over libp2p on loopback) commits a mixed workload.
//!
//! Checks: every submitted transaction is finalized exactly once and applied; every node
//! holds the same finalized chain (same block hashes, hence the same log and state roots).
//! Waits on each node's server-sent event stream, never on a timer; a generous deadline
//! only turns a hang into a failure.

mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn four_validators_commit_a_mixed_workload_identically() {
    mixed_workload(&[], 0);
}

/// The same on an `sm2-sm3` chain (issue 21): SM2 signatures, SM3 ids and trees.
#[test]
fn four_validators_of_an_sm2_sm3_chain_commit_a_mixed_workload_identically() {
    mixed_workload(&["--crypto", "sm2-sm3"], 2);
}

fn mixed_workload(up: &[&str], slot: u16) {
    let (net, apis) = start_testnet_with(slot, up);
    let expected = demo(&net, 0, 3);
    let deadline = Instant::now() + Duration::from_secs(180);
    for api in &apis {
        wait_log_size(api, expected, deadline);
    }
    let tx_hashes = same_chain(&apis);
    assert_eq!(
        tx_hashes.len() as u64,
        expected,
        "every submitted transaction is committed"
    );
    let observer = client(&apis[4]);
    for hash in &tx_hashes {
        let s = observer.tx(hash).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.status, "finalized", "transaction {hash}: {s:?}");
    }
    // Proposals travelled with their transactions by hash (issue 17) and were rebuilt.
    let nodes: Vec<_> = apis
        .iter()
        .map(|a| client(a).status().unwrap_or_else(|e| panic!("{e}")).node)
        .collect();
    let sent: u64 = nodes.iter().map(|n| n.proposals_compact_sent).sum();
    let received: u64 = nodes.iter().map(|n| n.proposals_compact_received).sum();
    let rebuilt: u64 = nodes.iter().map(|n| n.proposals_rebuilt_from_pool).sum();
    assert!(sent > 0, "no proposal was sent by hash: {nodes:?}");
    assert!(
        received >= sent && rebuilt > 0,
        "proposals by hash not received or rebuilt: sent {sent}, received {received}, rebuilt from the pool {rebuilt}"
    );

    // Offline integrity check of every node's database, once the nodes are stopped.
    testnet_cmd(&net, &["down"]);
    for node in ["cnao-1", "mof-1", "nda-1", "ndrc-1", "observer-1"] {
        let out = Command::new(bin("chancery-node"))
            .arg("check")
            .arg("--data")
            .arg(net.dir.path().join(node).join("data"))
            .arg("--genesis")
            .arg(net.dir.path().join("genesis.json"))
            .output()
            .expect("run chancery-node check");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(", 0 problems"),
            "check of {node} failed:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_killed_validator_restarts_catches_up_and_agrees() {
    killed_validator(&[], 1);
}

/// The same on an `sm2-sm3` chain: restart and catch-up decode and check with its suite.
#[test]
fn a_killed_validator_of_an_sm2_sm3_chain_restarts_catches_up_and_agrees() {
    killed_validator(&["--crypto", "sm2-sm3"], 3);
}

fn killed_validator(up: &[&str], slot: u16) {
    let (net, apis) = start_testnet_with(slot, up);
    // Manifest order is by node name: cnao-1, mof-1, nda-1, ndrc-1, observer-1.
    let victim = 3;
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut expected = demo(&net, 0, 1);
    // The demo reads each signer's next sequence from the ledger: let round 0 commit first.
    for api in &apis {
        wait_log_size(api, expected, deadline);
    }
    testnet_cmd(&net, &["kill", "ndrc-1"]);
    // The other three validators hold a quorum (3 of 4) and keep finalizing.
    expected += demo(&net, 1, 2);
    for (i, api) in apis.iter().enumerate() {
        if i != victim {
            wait_log_size(api, expected, deadline);
        }
    }
    testnet_cmd(&net, &["start", "ndrc-1"]);
    wait_log_size(&apis[victim], expected, deadline);
    let tx_hashes = same_chain(&apis);
    assert_eq!(
        tx_hashes.len() as u64,
        expected,
        "every submitted transaction is committed"
    );
}
