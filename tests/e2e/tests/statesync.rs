//! State sync on a running testnet (issue 19, docs/ops/state-sync.md): under the demo load,
//! `chancery-testnet add-node --observer --state-sync` adds an observer that starts from
//! the latest snapshot its peers offer (verified from the genesis), not from a replay; it
//! then follows the chain, holds the same blocks as a validator, and serves receipts that
//! verify offline, also for transactions below its first height.

mod common;

use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// Snapshot interval of the test network, in blocks.
const INTERVAL: u64 = 10;

#[test]
fn an_observer_added_with_state_sync_starts_from_a_snapshot_and_follows_the_chain() {
    state_sync(&[], 0);
}

/// The same on an `sm2-sm3` chain (issue 21): the snapshot's SM3 trees verify.
#[test]
fn an_observer_of_an_sm2_sm3_chain_state_syncs_and_follows_the_chain() {
    state_sync(&["--crypto", "sm2-sm3"], 2);
}

fn state_sync(crypto: &[&str], slot: u16) {
    let mut up = vec!["--demo", "--snapshot-interval-blocks", "10"];
    up.extend_from_slice(crypto);
    let (net, apis) = start_testnet_with(slot, &up);
    let deadline = Instant::now() + Duration::from_secs(120);
    // Past a few snapshot heights, so the snapshot is not of height 0.
    wait_height(&apis[0], 3 * INTERVAL, deadline);
    let out = testnet_cmd(
        &net,
        &["add-node", "--name", "late-1", "--observer", "--state-sync"],
    );
    assert!(out.contains("started from a snapshot"), "{out}");
    let m = manifest(net.dir.path());
    let late = m
        .nodes
        .iter()
        .find(|n| n.name == "late-1")
        .expect("late-1 in the manifest");
    let api = late.api.clone();

    // It installed a snapshot: its log says of which height, and blocks below are absent
    // with a clear 410 naming the first height held.
    let log = std::fs::read_to_string(late.log_path()).expect("late-1's log");
    let line = log
        .lines()
        .find(|l| l.contains("installed a verified snapshot"))
        .unwrap_or_else(|| panic!("no install line in late-1's log:\n{log}"));
    let first: u64 = line
        .split("height=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .map(|t| t.trim_matches(|c: char| !c.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no height in {line:?}"));
    assert!(first >= INTERVAL && first % INTERVAL == 0, "{line}");
    let below = client(&api)
        .block(1)
        .expect_err("block 1 is below late-1's first height")
        .to_string();
    assert!(
        below.contains("410") && below.contains("before_first_height"),
        "{below}"
    );

    // It follows the chain: new blocks arrive, identical to a validator's.
    let now = tip_height(&apis[0]);
    wait_height(&api, now + 3, deadline);
    let c0 = client(&apis[0]);
    let cl = client(&api);
    for h in first..=now {
        assert_eq!(
            c0.block(h).expect("validator block").hash,
            cl.block(h).expect("late-1 block").hash,
            "block {h}"
        );
    }

    // Receipts from late-1 verify offline with only the genesis, for a transaction
    // finalized after its first height and for one below it.
    let genesis = net.dir.path().join("genesis.json");
    let tx_in = |h: u64| {
        (h..h + INTERVAL).find_map(|h| {
            c0.block(h)
                .ok()
                .and_then(|b| b.transactions.first().map(|t| t.hash.clone()))
        })
    };
    for (what, hash) in [
        ("below the first height", tx_in(1)),
        ("above the first height", tx_in(first + 1)),
    ] {
        let hash = hash.unwrap_or_else(|| panic!("no transaction {what}"));
        let r = Command::new(bin("chancery"))
            .args(["receipt", &hash, "--node", &api])
            .output()
            .expect("run chancery receipt");
        assert!(
            r.status.success(),
            "receipt {what}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        let file = net.dir.path().join(format!("receipt-{}.json", &hash[..8]));
        std::fs::write(&file, &r.stdout).expect("write receipt");
        let v = Command::new(bin("chancery"))
            .arg("verify")
            .arg(&file)
            .arg("--genesis")
            .arg(&genesis)
            .output()
            .expect("run chancery verify");
        assert!(
            v.status.success(),
            "the receipt {what} does not verify: {}{}",
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&v.stderr)
        );
    }
}
