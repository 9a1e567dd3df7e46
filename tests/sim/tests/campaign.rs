//! Seeds across every scenario, with invariants checked inside each run; determinism.

use chancery_sim::{replay_command, run, scenario, Outcome};

fn campaign(name: &str, seeds: std::ops::Range<u64>) -> Vec<Outcome> {
    let mut out = Vec::new();
    for seed in seeds {
        let sc = scenario(name, seed).expect("known scenario").quick();
        match run(&sc, seed) {
            Ok(o) => {
                assert!(
                    o.height_min >= 2,
                    "{name} seed {seed}: honest nodes finalized only {} blocks\n  replay: {}",
                    o.height_min,
                    replay_command(name, seed)
                );
                out.push(o);
            }
            Err(v) => panic!("{v}"),
        }
    }
    out
}

#[test]
fn happy() {
    let o = campaign("happy", 0..20);
    // Every honest node finalizes a block per view: heights keep pace with views.
    for x in &o {
        assert!(x.height_min * 10 >= x.view_max * 8, "{x:?}");
    }
}

#[test]
fn lossy() {
    campaign("lossy", 0..20);
}

#[test]
fn partition() {
    campaign("partition", 0..20);
}

#[test]
fn crash_restart_with_torn_writes() {
    campaign("crash", 0..25);
}

/// Issue 14, finding 4: validators whose databases are wiped or restored from an old
/// backup restart with the signing mark kept beside their key, and never sign twice.
#[test]
fn wiped_databases_with_the_signing_mark_never_sign_twice() {
    campaign("wipe", 0..25);
}

/// The same runs without the signing mark: a validator that lost its stored votes signs
/// again in views it already voted in, and the simulator's safety checks catch it.
#[test]
fn without_the_signing_mark_a_wiped_database_signs_twice() {
    let mut caught = Vec::new();
    for seed in 0..40 {
        let mut sc = scenario("wipe", seed).expect("known scenario").quick();
        sc.ignore_sign_mark = true;
        if let Err(v) = run(&sc, seed) {
            assert!(
                v.what.starts_with("honest node"),
                "an unexpected violation: {v}"
            );
            caught.push(seed);
        }
    }
    assert!(
        !caught.is_empty(),
        "40 seeds of `wipe` without the signing mark found no double vote"
    );
}

#[test]
fn leader_crash_recovers() {
    let o = campaign("leader-crash", 0..15);
    for x in &o {
        let r = x.recovery_views.expect("leader crash measured");
        assert!(r <= 4, "recovery took {r} views: {x:?}");
    }
}

#[test]
fn byzantine_equivocating_leader() {
    let o = campaign("byz-equivocate", 0..20);
    assert!(
        o.iter().any(|x| x.evidence_proposals > 0),
        "no proposal equivocation became evidence"
    );
}

#[test]
fn byzantine_conflicting_voter_is_caught() {
    let o = campaign("byz-conflict", 0..20);
    assert!(o.iter().all(|x| x.evidence > 0), "no evidence collected");
}

#[test]
fn byzantine_impersonator() {
    campaign("byz-impersonate", 0..20);
}

#[test]
fn byzantine_nullify_only() {
    campaign("byz-nullify", 0..20);
}

#[test]
fn byzantine_withholding_leader() {
    campaign("byz-withhold", 0..20);
}

#[test]
fn byzantine_garbage() {
    campaign("byz-garbage", 0..20);
}

#[test]
fn byzantine_forging_fetch_responder() {
    let o = campaign("byz-forge-fetch", 0..10);
    assert!(
        o.iter().any(|x| x.byzantine_reported > 0),
        "no forged block was ever refused"
    );
}

#[test]
fn byzantine_split_payload_leader() {
    campaign("byz-split-payload", 0..15);
}

#[test]
fn byzantine_certificate_replayer() {
    campaign("byz-replay", 0..15);
}

#[test]
fn byzantine_torsion_signer() {
    campaign("byz-torsion", 0..10);
}

#[test]
fn byzantine_signature_flooder_is_reported_and_bounded() {
    let o = campaign("byz-sig-flood", 0..5);
    for x in &o {
        assert!(x.byzantine_reported > 0, "flooder never reported: {x:?}");
        assert!(
            x.verify_work <= chancery_sim::sim::verify_work_bound(x.signatures_received),
            "{x:?}"
        );
    }
}

#[test]
fn mixed_faults() {
    campaign("mixed", 0..8);
}

#[test]
fn epoch_change() {
    for seed in 0..10 {
        let sc = scenario("epoch", seed).expect("known").quick();
        let h = sc.epoch_change_height.expect("epoch scenario");
        let o = run(&sc, seed).unwrap_or_else(|v| panic!("{v}"));
        assert!(
            o.height_min > h + 2,
            "seed {seed}: stopped at {} before passing the epoch change at {h}",
            o.height_min
        );
    }
}

#[test]
fn large_validator_sets() {
    campaign("large", 0..3);
}

#[test]
fn same_seed_same_trace() {
    for name in ["mixed", "byz-garbage", "crash"] {
        let a = run(&scenario(name, 7).expect("known").quick(), 7).expect("run");
        let b = run(&scenario(name, 7).expect("known").quick(), 7).expect("run");
        let c = run(&scenario(name, 8).expect("known").quick(), 8).expect("run");
        assert_eq!(a.trace, b.trace, "{name}: same seed, different traces");
        assert_ne!(a.trace, c.trace, "{name}: different seeds, same trace");
    }
}

/// R14: an idle chain rests (a block per heartbeat), work wakes it within a bound, and a
/// leader crash or withholding leaders while it rests cost a heartbeat, not liveness.
#[test]
fn an_idle_chain_rests_and_work_wakes_it() {
    campaign("rest", 0..15);
}

#[test]
fn a_crash_while_the_chain_rests_is_survived() {
    campaign("rest-crash", 0..15);
}

#[test]
fn withholding_leaders_while_the_chain_rests_cost_a_heartbeat() {
    campaign("rest-byz", 0..15);
}

/// The rest checks can fail: cores that do not rest nullify the idle leader's heartbeat
/// block (no block in an idle gap), and leaders that do not wait make a block per view.
#[test]
fn the_rest_checks_catch_a_core_that_does_not_rest_and_a_leader_that_does_not_wait() {
    for (what, expect) in [
        ("cores", "no heartbeat block"),
        ("leaders", "blocks in the idle gap"),
    ] {
        let mut caught = 0;
        for seed in 0..10 {
            let mut sc = scenario("rest", seed).expect("known scenario").quick();
            let rest = sc.rest.as_mut().expect("rest scenario");
            if what == "cores" {
                rest.cores_never_rest = true;
            } else {
                rest.leaders_never_wait = true;
            }
            if let Err(v) = run(&sc, seed) {
                assert!(v.what.contains(expect), "{what}: unexpected violation {v}");
                caught += 1;
            }
        }
        assert!(caught >= 5, "{what}: only {caught} of 10 seeds caught");
    }
}
