//! The Jepsen-style soak, short: `chancery-testnet soak --duration-s 60 --json` on a fresh
//! network of 4 validators in network namespaces (root only: without root the test prints
//! "SKIP: needs root for network namespaces" and passes). Its independent checker must find
//! no lost, duplicated or divergent entry, every node's `check` and `audit` must pass, and
//! faults must have been injected. The 30-minute run and its figures are in docs/testing.md.

mod common;
use common::*;
use std::process::Command;

#[test]
fn a_one_minute_soak_injects_faults_and_finds_no_violation() {
    soak("ed25519-blake3", 0);
}

/// The same soak on an `sm2-sm3` chain (issue 21).
#[test]
fn a_one_minute_soak_of_an_sm2_sm3_chain_finds_no_violation() {
    soak("sm2-sm3", 10);
}

fn soak(crypto: &str, slot: u16) {
    if !is_root() {
        println!("SKIP: needs root for network namespaces");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let net = dir.path().join("net");
    // A base port of its own (spread by process id like the other multi-process tests), so
    // that its namespaces' subnet does not clash with a concurrent test's.
    let base_port = (20_000 + (std::process::id() % 500) as u16 * 20 + slot).to_string();
    let out = Command::new(bin("chancery-testnet"))
        .args(["soak", "--dir"])
        .arg(&net)
        .args(["--duration-s", "60", "--seed", "20", "--json"])
        .args(["--base-port", &base_port, "--crypto", crypto])
        .output()
        .expect("run chancery-testnet soak");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "soak failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let s: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("the summary is not JSON ({e}):\n{stdout}\n{stderr}"));
    let n = |k: &str| {
        s[k].as_u64()
            .unwrap_or_else(|| panic!("summary field {k} missing: {s}"))
    };
    assert_eq!(n("lost"), 0, "{s}");
    assert_eq!(n("duplicated"), 0, "{s}");
    assert_eq!(n("divergence"), 0, "{s}");
    assert!(n("faults_total") > 0, "no fault injected: {s}");
    assert!(n("acknowledged") > 0, "no transaction acknowledged: {s}");
    assert_eq!(s["violations"], serde_json::json!([]), "{s}");
    assert_eq!(s["seed"], 20, "the seed is reported: {s}");
    for node in ["cnao-1", "mof-1", "nda-1", "ndrc-1"] {
        let check = s["node_check"][node].as_str().unwrap_or_default();
        assert!(check.contains(", 0 problems"), "check of {node}: {s}");
    }
    assert!(
        s["checkpoints"]["pairs_verified"].as_u64().unwrap_or(0) > 0,
        "no checkpoint pair verified: {s}"
    );
    // The timeline shows each fault with its time.
    assert!(stderr.contains(" s] "), "no timeline on stderr:\n{stderr}");
}
