//! Governance on a running multi-process testnet (issue 18, docs/governance.md): under the
//! demo load, a fifth agency joins with a validator, which catches up and votes; an
//! original validator leaves while its process keeps running; another rotates its
//! consensus key. Finalization never stops, every node holds one chain, and every epoch's
//! transactions are on it.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Longest wait for the chain to move on, in seconds.
const PROGRESS_S: u64 = 60;

/// Run `chancery` with `args`.
fn chancery(args: &[&str]) -> Output {
    Command::new(bin("chancery"))
        .args(args)
        .output()
        .expect("run chancery")
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// One transaction hash finalized in each epoch of the chain at `api`, by epoch.
fn a_transaction_per_epoch(api: &str) -> Vec<(u64, String)> {
    let c = client(api);
    let epochs = c.epochs(0, Some(64)).expect("GET /v1/epochs");
    let mut ranges: Vec<(u64, u64, u64)> = epochs
        .items
        .iter()
        .map(|l| (l.epoch, l.start_height, l.end_height))
        .collect();
    ranges.push((
        epochs.current_epoch,
        epochs.current_start_height,
        tip_height(api),
    ));
    let mut out = Vec::new();
    for (epoch, start, end) in ranges {
        let found = (start.max(1)..=end).find_map(|h| {
            let b = c.block(h).expect("GET /v1/blocks/{height}");
            b.transactions.first().map(|t| t.hash.clone())
        });
        let hash = found.unwrap_or_else(|| panic!("no transaction in epoch {epoch}"));
        out.push((epoch, hash));
    }
    out
}

/// Receipts of every epoch verify offline with only the genesis; one whose epoch link
/// is tampered with fails, naming the link; the audit passes over all epochs.
fn receipts_and_audit_across_epochs(dir: &Path, api: &str) {
    let genesis = dir.join("genesis.json");
    let genesis = genesis.to_str().expect("utf-8 path");
    let picks = a_transaction_per_epoch(api);
    assert!(picks.len() >= 4, "epochs 0..=3 at least: {picks:?}");
    let mut later = None;
    for (epoch, hash) in &picks {
        let r = chancery(&["receipt", hash, "--node", api]);
        assert!(r.status.success(), "receipt of {hash}: {}", text(&r));
        let file = dir.join(format!("receipt-{epoch}.json"));
        std::fs::write(&file, &r.stdout).expect("write receipt");
        let v = chancery(&[
            "verify",
            file.to_str().expect("utf-8"),
            "--genesis",
            genesis,
        ]);
        assert!(
            v.status.success(),
            "the receipt of epoch {epoch} does not verify: {}",
            text(&v)
        );
        let body = String::from_utf8_lossy(&r.stdout).to_string();
        if *epoch > 0 {
            assert!(body.contains("chancery-receipt/v2"), "{body}");
            later = Some(body);
        }
    }
    // Flip one hex digit in the middle of the first epoch link.
    let mut receipt: serde_json::Value =
        serde_json::from_str(&later.expect("a receipt after epoch 0")).expect("receipt JSON");
    let link = receipt["epochs"][0]
        .as_str()
        .expect("epoch links")
        .to_string();
    let mid = link.len() / 2;
    let flipped = if &link[mid..mid + 1] == "0" { "1" } else { "0" };
    let tampered = format!("{}{flipped}{}", &link[..mid], &link[mid + 1..]);
    receipt["epochs"][0] = serde_json::Value::String(tampered);
    let file = dir.join("receipt-tampered.json");
    std::fs::write(&file, receipt.to_string()).expect("write receipt");
    let v = chancery(&[
        "verify",
        file.to_str().expect("utf-8"),
        "--genesis",
        genesis,
    ]);
    assert!(!v.status.success(), "a tampered epoch link verified");
    assert!(text(&v).contains("epoch link"), "{}", text(&v));

    let a = chancery(&["audit", "--node", api, "--genesis", genesis]);
    assert!(a.status.success(), "audit over every epoch: {}", text(&a));
}

/// The tip of every node in `apis` rises past where it is now.
fn finalization_continues(apis: &[&str]) {
    for api in apis {
        let h = tip_height(api);
        wait_height(api, h + 2, Instant::now() + Duration::from_secs(PROGRESS_S));
    }
}

#[test]
fn agencies_join_validators_leave_and_rotate_while_the_chain_finalizes() {
    governed(&[], 9);
}

/// The same on an `sm2-sm3` chain (issue 21): joining, rotated and new keys are SM2 keys,
/// epoch links and receipts across epochs verify with SM3.
#[test]
fn an_sm2_sm3_chain_governs_its_validators_the_same_way() {
    governed(&["--crypto", "sm2-sm3"], 7);
}

fn governed(up: &[&str], slot: u16) {
    let (net, apis) = start_testnet_with(slot, up);
    let dir = net.dir.path().to_path_buf();
    let mut round = 0;
    demo(&net, round, 2);
    round += 2;
    assert_eq!(status(&apis[0]).node.epoch, 0);

    // A fifth agency joins with a validator: the command returns once every validator,
    // the new one included, is in the new epoch and the new node is ready (caught up).
    let out = testnet_cmd(&net, &["join", "--agency", "audit", "--validator"]);
    assert!(out.contains("joined with validator audit-1"), "{out}");
    println!("{out}"); // the time from proposal to active validator (issue 18's figure)
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

    // An original validator leaves; its process keeps running (and may still believe it
    // votes: the others disconnect it at the switch, possibly before it saw the boundary
    // finalized), its votes no longer count, and the others go on with four.
    let out = testnet_cmd(&net, &["leave", "--node", NAMES[1]]);
    assert!(out.contains("left the validator set"), "{out}");
    println!("{out}");
    let left = status(&apis[1]);
    let s = status(&apis[0]);
    assert!(
        left.node.epoch < s.node.epoch || !left.node.validator,
        "{} is in the new epoch and still a validator: {left:?}",
        NAMES[1]
    );
    assert_eq!(s.node.validators, 4, "{s:?}");
    let epoch_after_leave = s.node.epoch;
    demo_via(&net, &[0, 2, 3], round, 2);
    round += 2;
    finalization_continues(&[&apis[0], &apis[2], &joined_api]);

    // Another rotates its consensus key: the running process finds the new key beside the
    // old one at the switch and votes with it, without a restart (same process).
    let pid_before = manifest(&dir).node(NAMES[2]).expect("listed").pid;
    let out = testnet_cmd(&net, &["rotate", "--node", NAMES[2]]);
    assert!(out.contains("rotated its consensus key"), "{out}");
    println!("{out}");
    assert_eq!(
        manifest(&dir).node(NAMES[2]).expect("listed").pid,
        pid_before,
        "rotated without a restart"
    );
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

    receipts_and_audit_across_epochs(&dir, &apis[0]);

    // The governance history through the client: every proposal passed, and `show`
    // verifies its state proof (with its checkpoint's epoch links) from the genesis.
    let genesis = dir.join("genesis.json");
    let genesis = genesis.to_str().expect("utf-8 path");
    let list = chancery(&["gov", "list", "--node", &apis[0], "--json"]);
    assert!(list.status.success(), "{}", text(&list));
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    for id in ["join-audit", "leave-mof-1", "rotate-nda-1-1"] {
        assert!(listed.contains(id), "{id} missing from gov list: {listed}");
        let show = chancery(&["gov", "show", id, "--node", &apis[0], "--genesis", genesis]);
        assert!(show.status.success(), "gov show {id}: {}", text(&show));
        assert!(text(&show).contains("passed"), "{id}: {}", text(&show));
    }
}
