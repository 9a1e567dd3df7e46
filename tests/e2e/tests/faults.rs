//! Multi-process fault tests on a real testnet of 4 validators and 1 observer (separate
//! `chancery-node` processes over libp2p on loopback):
//!
//! 1. two of four validators killed: no block is finalized (safety over liveness); one
//!    restarted: progress resumes and every node holds the same chain;
//! 2. a node whose network identity is not in the genesis is refused and gets no block;
//! 3. a validator killed with SIGKILL and restarted six times in a row, and once more after
//!    it pruned its own vote records: no node ever sees conflicting votes (evidence stays
//!    0) and all nodes hold the same chain.
//!
//! Waits on the nodes' server-sent event streams where there is an event to wait on;
//! deadlines only turn a hang into a failure. Where a test must show that something does
//! NOT happen, it polls `/v1/status` over a bounded window (explained at that place).
//!
//! The helpers live in `common/mod.rs`, shared with `network.rs`.

mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn two_of_four_validators_killed_nothing_is_finalized_until_one_returns() {
    let (net, apis) = start_testnet(2);
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut expected = demo(&net, 0, 1);
    for api in &apis {
        wait_log_size(api, expected, deadline);
    }
    testnet_cmd(&net, &["kill", "nda-1"]);
    testnet_cmd(&net, &["kill", "ndrc-1"]);
    let live = [0usize, 1, 4];
    // A block whose certificate was already in flight may still land just after the kills;
    // record the tips only once the live nodes agree on one (bounded poll: no event marks
    // "nothing more arrives").
    let settle = Instant::now() + Duration::from_secs(30);
    let mut tips: Vec<u64> = live.iter().map(|&i| tip_height(&apis[i])).collect();
    while tips.iter().any(|&t| t != tips[0]) {
        assert!(
            Instant::now() < settle,
            "live nodes never agreed on a tip: {tips:?}"
        );
        std::thread::sleep(Duration::from_millis(50)); // poll interval, not a sync point
        tips = live.iter().map(|&i| tip_height(&apis[i])).collect();
    }
    let tip = tips[0];
    let submitted = demo(&net, 1, 1);
    // The submitted transactions reach the live nodes (an event that does happen)...
    wait_mempool_nonempty(&apis, &live[..2]);
    // ...but with 2 of 4 validators there is no quorum (3): neither a notarization nor a
    // nullification can form, so the consensus view cannot advance either and there is no
    // event to wait on. Proving a negative needs a window: poll every live node's status for
    // 20 view timeouts (3Δ each; the core nullifies and re-sends every 3Δ) and check that no
    // tip moves. This is an observation window, not synchronisation.
    let window = Duration::from_millis(20 * 3 * genesis_delta_ms(&net));
    // `validators_live` is not asserted: it is published every 250 ms and lags the
    // connection teardown after a kill, so it would race (seen in CI).
    let tips = vec![tip; live.len()];
    assert_no_progress(
        &apis,
        &live,
        &tips,
        window,
        "with only 2 of 4 validators live",
    );

    // One validator returns: 3 of 4 is a quorum again and the pending round commits.
    testnet_cmd(&net, &["start", "ndrc-1"]);
    expected += submitted;
    let running = [0usize, 1, 3, 4];
    for &i in &running {
        wait_log_size(&apis[i], expected, deadline);
    }
    let running_apis: Vec<String> = running.iter().map(|&i| apis[i].clone()).collect();
    let tx_hashes = same_chain(&running_apis);
    assert_eq!(
        tx_hashes.len() as u64,
        expected,
        "every submitted transaction is committed once"
    );
    assert!(tip_height(&apis[0]) > tip, "progress resumed");
}

/// Kills the intruder node when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind an ephemeral port")
        .local_addr()
        .expect("local addr")
        .port()
}

fn refused_lines(net: &Testnet) -> usize {
    NAMES[..4]
        .iter()
        .map(|n| {
            std::fs::read_to_string(net.dir.path().join(n).join("node.log"))
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains("connection refused"))
                .count()
        })
        .sum()
}

#[test]
fn a_node_outside_the_genesis_is_refused_and_gets_no_block() {
    let (net, apis) = start_testnet(3);
    let dir = net.dir.path().join("intruder");
    std::fs::create_dir_all(&dir).expect("intruder dir");
    let out = Command::new(bin("chancery-genesis"))
        .args(["keygen", "--kind", "network", "--out"])
        .arg(dir.join("network.key"))
        .output()
        .expect("run chancery-genesis keygen");
    assert!(out.status.success(), "keygen failed: {out:?}");
    let refused_before = refused_lines(&net);

    // The intruder: observer-1's configuration with another name, ports and identity.
    let template = std::fs::read_to_string(net.dir.path().join("observer-1").join("node.toml"))
        .expect("observer-1 node.toml");
    let (p2p, api_port) = (free_port(), free_port());
    // Only the top-level keys change (they come before the first `[table]`).
    let mut top = true;
    let config: String = template
        .lines()
        .map(|l| {
            top &= !l.starts_with('[');
            if !top {
                l.to_string()
            } else if l.starts_with("name = ") {
                "name = \"intruder\"".to_string()
            } else if l.starts_with("p2p_listen = ") {
                format!("p2p_listen = \"127.0.0.1:{p2p}\"")
            } else if l.starts_with("api_listen = ") {
                format!("api_listen = \"127.0.0.1:{api_port}\"")
            } else if l.starts_with("data_dir = ") {
                "data_dir = \"data\"".to_string()
            } else if l.starts_with("network_key_file = ") {
                "network_key_file = \"network.key\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        config.contains("[[peers]]"),
        "the intruder dials the validators"
    );
    std::fs::write(dir.join("node.toml"), config + "\n").expect("write node.toml");
    let log = std::fs::File::create(dir.join("node.log")).expect("intruder log");
    let _intruder = Child(
        Command::new(bin("chancery-node"))
            .arg("start")
            .arg("--config")
            .arg(dir.join("node.toml"))
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start the intruder"),
    );
    let intruder = format!("http://127.0.0.1:{api_port}");

    // Its API comes up (bounded poll: the node has no event stream to wait on before it
    // listens).
    let deadline = Instant::now() + Duration::from_secs(180);
    let up = Instant::now() + Duration::from_secs(60);
    loop {
        if client(&intruder).status().is_ok() {
            break;
        }
        assert!(
            Instant::now() < up,
            "intruder API never came up: {}",
            std::fs::read_to_string(dir.join("node.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100)); // poll interval, not a sync point
    }

    // The real network moves on by 10 heights (with a round of transactions in them)...
    let h0 = tip_height(&apis[0]);
    let expected = demo(&net, 0, 1);
    for api in &apis {
        wait_log_size(api, expected, deadline);
        wait_height(api, h0 + 10, deadline);
    }
    // ...and the intruder got nothing from it.
    let s = status(&intruder);
    assert_eq!(s.tip.height, 0, "intruder got a block: {s:?}");
    assert_eq!(s.tip.log_size, 0, "intruder: {s:?}");
    // It never learned of any finalized height either: no peer ever answered it.
    assert_eq!(s.node.peer_height, 0, "intruder: {s:?}");
    // Not asserted: `validators_live`. On the dialing side it counts transport-level
    // connections, and the intruder's outgoing connections are established locally (the
    // Noise handshake completes) before the validator refuses and closes them, so it flaps
    // between 0 and the number of validators while the intruder redials.
    // The validators logged refusing its connections.
    assert!(
        refused_lines(&net) > refused_before,
        "no validator logged a refused connection from the intruder"
    );
    // The real nodes are unaffected.
    same_chain(&apis);
}

#[test]
fn a_validator_killed_and_restarted_six_times_never_equivocates() {
    killed_and_restarted(&[], 4);
}

/// The same on an `sm2-sm3` chain (issue 21): its stored votes and signing mark are read
/// back in the chain's suite at every restart.
#[test]
fn an_sm2_sm3_validator_killed_and_restarted_six_times_never_equivocates() {
    killed_and_restarted(&["--crypto", "sm2-sm3"], 5);
}

fn killed_and_restarted(up: &[&str], slot: u16) {
    let (net, apis) = start_testnet_with(slot, up);
    let victim = 2; // nda-1
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut expected = demo(&net, 0, 1);
    for api in &apis {
        wait_log_size(api, expected, deadline);
    }
    // Kill the victim, submit a demo round, restart it; it catches up and takes part in
    // consensus again before the next kill (the others finalize 3 more heights after it
    // caught up and it sees them too). Returns the transactions submitted.
    let kill_and_restart = |round: u64, expected: u64| -> u64 {
        testnet_cmd(&net, &["kill", NAMES[victim]]);
        let expected = expected + demo(&net, round, 1);
        for (i, api) in apis.iter().enumerate() {
            if i != victim {
                wait_log_size(api, expected, deadline);
            }
        }
        testnet_cmd(&net, &["start", NAMES[victim]]);
        wait_log_size(&apis[victim], expected, deadline);
        let h = tip_height(&apis[0]);
        wait_height(&apis[victim], h + 3, deadline);
        expected
    };
    for round in 1..=6u64 {
        expected = kill_and_restart(round, expected);
    }
    // Once more after the victim pruned its own vote records (every
    // VOTE_PRUNE_INTERVAL_BLOCKS heights): a restart after pruning never double-votes.
    let mut round = 7;
    while status(&apis[victim]).node.own_votes_pruned_below == 0 {
        // A round makes a few heights; pruning comes every 32 (VOTE_PRUNE_INTERVAL_BLOCKS).
        assert!(
            Instant::now() < deadline && round < 7 + 100,
            "the victim never pruned its votes (at height {})",
            tip_height(&apis[victim])
        );
        expected += demo(&net, round, 1);
        wait_log_size(&apis[victim], expected, deadline);
        round += 1;
    }
    expected = kill_and_restart(round, expected);
    for (i, api) in apis.iter().enumerate() {
        let s = status(api);
        assert_eq!(
            s.node.evidence, 0,
            "{} observed conflicting votes: {s:?}",
            NAMES[i]
        );
    }
    let tx_hashes = same_chain(&apis);
    assert_eq!(
        tx_hashes.len() as u64,
        expected,
        "every transaction committed once"
    );
}
