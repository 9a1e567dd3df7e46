//! Governance on a running multi-process testnet (issue 18, docs/governance.md): under the
//! demo load, a fifth agency joins with a validator, which catches up and votes; an
//! original validator leaves while its process keeps running; another rotates its
//! consensus key. Finalization never stops, every node holds one chain, and every epoch's
//! transactions are on it.

mod common;

use common::*;
use std::time::{Duration, Instant};

/// Longest wait for the chain to move on, in seconds.
const PROGRESS_S: u64 = 60;

/// The tip of every node in `apis` rises past where it is now.
fn finalization_continues(apis: &[&str]) {
    for api in apis {
        let h = tip_height(api);
        wait_height(api, h + 2, Instant::now() + Duration::from_secs(PROGRESS_S));
    }
}

#[test]
fn agencies_join_validators_leave_and_rotate_while_the_chain_finalizes() {
    let (net, apis) = start_testnet(9);
    let dir = net.dir.path().to_path_buf();
    let mut round = 0;
    demo(&net, round, 2);
    round += 2;
    assert_eq!(status(&apis[0]).node.epoch, 0);

    // A fifth agency joins with a validator: the command returns once every validator,
    // the new one included, is in the new epoch and the new node is ready (caught up).
    let out = testnet_cmd(&net, &["join", "--agency", "audit", "--validator"]);
    assert!(out.contains("joined with validator audit-1"), "{out}");
    let m = manifest(&dir);
    let joined = m.node("audit-1").expect("the manifest lists the new node");
    let joined_api = joined.api.clone();
    let s = status(&joined_api);
    assert!(s.node.epoch >= 1, "{s:?}");
    assert!(s.node.validator, "the new node votes: {s:?}");
    assert_eq!(s.node.validators, 5, "{s:?}");
    demo(&net, round, 2);
    round += 2;
    finalization_continues(&[&apis[0], &joined_api]);

    // An original validator leaves; its process keeps running but no longer votes, and
    // the others go on with four.
    let out = testnet_cmd(&net, &["leave", "--node", NAMES[1]]);
    assert!(out.contains("left the validator set"), "{out}");
    let left = status(&apis[1]);
    assert!(!left.node.validator, "{} still votes: {left:?}", NAMES[1]);
    let s = status(&apis[0]);
    assert_eq!(s.node.validators, 4, "{s:?}");
    let epoch_after_leave = s.node.epoch;
    demo_via(&net, &[0, 2, 3], round, 2);
    round += 2;
    finalization_continues(&[&apis[0], &apis[2], &joined_api]);

    // Another rotates its consensus key and is restarted with it.
    let out = testnet_cmd(&net, &["rotate", "--node", NAMES[2]]);
    assert!(out.contains("rotated its consensus key"), "{out}");
    let s = status(&apis[2]);
    assert!(s.node.epoch > epoch_after_leave, "{s:?}");
    assert!(
        s.node.validator,
        "the rotated validator votes with its new key: {s:?}"
    );
    demo_via(&net, &[0, 2, 3], round, 2);
    finalization_continues(&[&apis[0], &apis[2], &apis[3], &joined_api]);

    // One chain on every node: the voting ones, the observer, and the removed validator,
    // whose process still runs (it is disconnected, so its tip stops near where it left:
    // it must hold a prefix of the same chain).
    let all: Vec<String> = vec![
        apis[0].clone(),
        apis[2].clone(),
        apis[3].clone(),
        apis[4].clone(),
        joined_api,
    ];
    let hashes = same_chain(&all);
    assert!(!hashes.is_empty());
    let removed = status(&apis[1]);
    assert!(removed.tip.height > 0, "{removed:?}");
    same_chain(&[apis[0].clone(), apis[1].clone()]);
}
