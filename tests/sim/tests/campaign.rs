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
        let h = sc.epochs.as_ref().expect("epoch scenario").changes[0].start_height;
        let o = run(&sc, seed).unwrap_or_else(|v| panic!("{v}"));
        assert!(
            o.height_min > h + 2,
            "seed {seed}: stopped at {} before passing the epoch change at {h}",
            o.height_min
        );
    }
}

/// Seeds of each `epoch-*` scenario in its campaign test.
const EPOCH_SEEDS: u64 = 25;

/// Issue 18: a validator removed at the boundary keeps running: stale (its host never
/// feeds the change, its core keeps proposing and voting in the old epoch) or a ghost
/// signing messages of the new epoch with its retired key, which the gates drop or a
/// Byzantine member relays. None of its signatures is in any certificate of the new epoch
/// (the simulator checks every certificate against its epoch's set and against every
/// signature a retired key made), honest nodes never report it (they cannot name it in the
/// new set) and report the relay.
#[test]
fn a_removed_validator_that_keeps_voting_never_counts() {
    let o = campaign("epoch-remove", 0..EPOCH_SEEDS);
    for x in &o {
        assert!(x.epoch_switches > 0, "{x:?}");
    }
    let retired: u64 = o.iter().map(|x| x.retired_signatures).sum();
    assert!(
        retired > 0,
        "no removed validator signed with its retired key"
    );
    assert!(
        o.iter().any(|x| x.gate_dropped > 0),
        "no host gate dropped a removed validator's message"
    );
    assert!(
        o.iter().any(|x| x.relayed > 0 && x.byzantine_reported > 0),
        "no relayed message of a removed validator was refused and reported"
    );
}

/// Issue 18: validators added; each starts late from the genesis root, catches up by
/// block sync epoch by epoch (its core switches at each boundary as its host tells it),
/// and votes: its signature is in a certificate of an epoch it validates. In a third of
/// the seeds the new set needs it for every quorum.
#[test]
fn a_late_joiner_catches_up_across_epochs_and_votes() {
    let o = campaign("epoch-add", 0..EPOCH_SEEDS);
    for x in &o {
        assert!(x.late_joiners > 0, "{x:?}");
        assert_eq!(x.late_joiners_counted, x.late_joiners, "{x:?}");
        assert!(x.synced_blocks > 0, "{x:?}");
    }
    assert!(
        o.iter().any(|x| x.last_epoch == 2),
        "no seed crossed two epochs"
    );
}

/// Issue 18: a consensus key rotated (same validator and index): the validator's host
/// restarts its core with the new key at the switch, and certificates of the new epochs
/// carry the new key's signatures; a member holding the old key signs conflicting votes
/// in the rotated validator's name, which are refused and reported, never counted (with
/// n = 4 and the thief withholding its votes, every quorum needs the new key).
#[test]
fn a_rotated_key_counts_and_the_old_one_does_not() {
    let o = campaign("epoch-rotate", 0..EPOCH_SEEDS);
    for x in &o {
        assert_eq!(x.rotated_counted, x.rotated, "{x:?}");
        assert!(x.rotated > 0, "{x:?}");
    }
    assert!(
        o.iter()
            .any(|x| x.retired_signatures > 0 && x.byzantine_reported > 0),
        "no old-key vote was made and refused"
    );
}

/// Issue 18: validators killed right after they finalize the boundary block restart from
/// their durable votes in the new epoch, never sign twice, and the chain goes on.
#[test]
fn validators_killed_at_the_boundary_resume_in_the_right_epoch() {
    let o = campaign("epoch-crash", 0..EPOCH_SEEDS);
    for x in &o {
        assert!(x.boundary_crashes > 0, "{x:?}");
    }
}

/// Issue 18: two or three set changes under a partition around the first boundary, a
/// crash, a crash at a boundary, late joiners, removed validators and a Byzantine member of
/// a new set.
#[test]
fn epoch_changes_under_partitions_crashes_and_byzantine_members() {
    campaign("epoch-mixed", 0..EPOCH_SEEDS);
}

/// Found by the 10^5-seed campaign: n = 6 with a stale member (every quorum needs every
/// honest vote) over a 2% lossy network advances a block per ~200 ms and was two heights
/// short of the last epoch when the scenario's 5.5 s ended. A live chain gets
/// `EPOCH_GRACE_MS` more to take the plan's last change; this seed needs some of it.
#[test]
fn a_slow_but_live_epoch_plan_gets_its_grace_time() {
    let seed = 1_002_135;
    let sc = scenario("epoch-mixed", seed).expect("a scenario");
    let o = run(&sc, seed).unwrap_or_else(|v| panic!("{v}"));
    assert!(
        o.epoch_grace_ms > 0 && o.epoch_grace_ms <= chancery_sim::sim::EPOCH_GRACE_MS,
        "seed {seed} took {} ms past its end",
        o.epoch_grace_ms
    );
}

/// The epoch scenarios keep f < n/3 faulty validators in every epoch's set.
#[test]
fn every_epoch_scenario_keeps_an_honest_majority_in_every_set() {
    for name in chancery_sim::SCENARIOS
        .iter()
        .filter(|n| n.starts_with("epoch"))
    {
        for seed in 0..500 {
            let sc = scenario(name, seed).expect("known scenario");
            let e = sc.epochs.as_ref().expect("an epoch scenario");
            let faulty: Vec<usize> = sc.byzantine.iter().map(|b| b.0).collect();
            assert!(e.faults_ok(&faulty), "{name} seed {seed}: {sc:?}");
        }
    }
}

/// R13: without suffix blocks (a host that builds and accepts nothing past an epoch's
/// last height), a boundary block whose view collected finalize votes from some nodes and
/// nullify votes from others (a partition at the boundary) can be neither finalized by its
/// own view nor by a descendant's, and the chain stops for good: the liveness checks fail.
#[test]
fn without_suffix_blocks_a_boundary_block_can_stop_the_chain() {
    let mut caught = Vec::new();
    for seed in 0..SUFFIX_SEEDS {
        let mut sc = scenario("epoch-mixed", seed)
            .expect("known scenario")
            .quick();
        sc.boundary_suffix = false;
        if let Err(v) = run(&sc, seed) {
            assert!(v.what.contains("liveness"), "an unexpected violation: {v}");
            caught.push(seed);
        }
    }
    assert!(
        !caught.is_empty(),
        "{SUFFIX_SEEDS} seeds of `epoch-mixed` without suffix blocks never stalled"
    );
}

/// Seeds of `epoch-mixed` run without suffix blocks (1 of the first 25 stalls: seed 1).
const SUFFIX_SEEDS: u64 = 4;

#[test]
fn large_validator_sets() {
    campaign("large", 0..3);
}

#[test]
fn same_seed_same_trace() {
    for name in [
        "mixed",
        "byz-garbage",
        "crash",
        "pipeline-skip",
        "epoch-mixed",
    ] {
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

/// R15: leaders build full blocks on notarized, not yet finalized parents at once; a node
/// that never crashed commits every finalized block from the result it kept, and the node
/// that crashed comes back without results and executes what it finalizes.
#[test]
fn pipelined_execution_builds_on_notarized_parents() {
    let o = campaign("pipeline", 0..12);
    let pipelined: u64 = o.iter().map(|x| x.pipelined_proposals).sum();
    assert!(pipelined > 0, "no proposal was built on a notarized parent");
    for x in &o {
        assert_eq!(x.reexecutions_uncrashed, 0, "{x:?}");
    }
    assert!(
        o.iter().any(|x| x.reexecutions > 0),
        "the crashed nodes never executed a block on finalizing it"
    );
}

/// R15: a block notarized in a view that is also nullified is skipped; every node drops
/// its result when another block is finalized at its height.
#[test]
fn pipelined_results_of_skipped_notarized_blocks_are_dropped() {
    let o = campaign("pipeline-skip", 0..12);
    for x in &o {
        assert!(
            x.skipped_notarized > 0,
            "no notarized block was skipped: {x:?}"
        );
    }
}

/// R15: a leader that claims the post-state of its transactions on a stale state (its
/// committed state instead of its notarized parent's result) is refused by every honest
/// validator: its blocks are never notarized by them, never finalized.
#[test]
fn byzantine_stale_state_leader_is_refused() {
    let o = campaign("byz-stale-state", 0..12);
    let refused: u64 = o.iter().map(|x| x.state_refused).sum();
    assert!(refused > 0, "no stale-state block was refused");
}

/// The state checks can fail: validators that accept any claimed post-state notarize the
/// stale-state leader's blocks (caught at the vote), and, with that check off, finalize
/// them (caught at finalization, against the state of the finalized chain).
#[test]
fn the_state_checks_catch_validators_that_accept_any_post_state() {
    for (unchecked_notarize, expect) in [
        (false, "an invalid block (a wrong claimed post-state"),
        (true, "whose claimed post-state"),
    ] {
        let mut caught = 0;
        for seed in 0..8 {
            let mut sc = scenario("byz-stale-state", seed)
                .expect("known scenario")
                .quick();
            sc.accept_any_state = true;
            sc.unchecked_notarize = unchecked_notarize;
            if let Err(v) = run(&sc, seed) {
                assert!(v.what.contains(expect), "unexpected violation: {v}");
                caught += 1;
            }
        }
        assert!(caught >= 4, "{expect}: only {caught} of 8 seeds caught");
    }
}

/// R15 without the held-parent rule can stall: a host that executes only blocks it built
/// or checked, and knows only the headers of blocks it built, found valid or committed,
/// cannot build or check anything on a notarized block that fewer than a quorum of nodes
/// checked (one that checked it crashed, another timed out first), and a leader that waits
/// Δ for such a parent's finalization proposes its empty block too late for the others' 2Δ
/// leader timeout. Without the rule, the simulated host reads the parent's header from its
/// core and proposes the empty block at once; each of the two alone, and the node host's
/// former policy, fail the liveness check.
#[test]
fn r15_needs_the_parents_header_and_the_empty_block_at_once() {
    let delta_ms = scenario("wipe", 0).expect("known scenario").delta_ms;
    for (reads_header, wait_ms) in [(false, delta_ms), (false, 0), (true, delta_ms)] {
        let mut caught = Vec::new();
        for seed in 0..17 {
            let mut sc = scenario("wipe", seed).expect("known scenario").quick();
            sc.host_executes_held_parents = false;
            sc.host_reads_parent_header = reads_header;
            sc.parent_wait_ms = wait_ms;
            if let Err(v) = run(&sc, seed) {
                assert!(v.what.starts_with("liveness"), "unexpected violation: {v}");
                caught.push(seed);
            }
        }
        assert!(
            !caught.is_empty(),
            "17 seeds of `wipe` never stalled (parent's header read: {reads_header}, wait \
             {wait_ms} ms)"
        );
    }
}

/// R15, the held-parent rule: a leader that sends its proposal to exactly 2f validators
/// (with it, a quorum) and otherwise never votes gets its block notarized, and not
/// finalized whenever one of the f left out nullified the view first; those f never
/// checked it. They execute it from
/// their cores when they must check (or build) a child of it, so children get a quorum and
/// the chain goes on.
#[test]
fn byzantine_partial_leader_is_survived_by_executing_held_parents() {
    let o = campaign("byz-partial", 0..BYZ_PARTIAL_SEEDS);
    let filled: u64 = o.iter().map(|x| x.parents_filled).sum();
    assert!(filled > 0, "no host executed a parent from its core");
}

/// Seeds of `byz-partial` in its campaign and in the test of the former node host.
const BYZ_PARTIAL_SEEDS: u64 = 12;

/// The same seeds with the node host before the held-parent rule (it executes only blocks
/// it built or checked, and knows only their headers): once a partial leader's block is
/// notarized and not finalized, the f nodes left out can check no child of it, the partial
/// leader does not vote, and no child is ever notarized: the liveness check fails.
#[test]
fn without_the_held_parent_rule_a_partial_leader_stalls_the_chain() {
    let mut caught = Vec::new();
    for seed in 0..BYZ_PARTIAL_SEEDS {
        let mut sc = scenario("byz-partial", seed)
            .expect("known scenario")
            .quick();
        sc.host_executes_held_parents = false;
        sc.host_reads_parent_header = false;
        if let Err(v) = run(&sc, seed) {
            assert!(v.what.starts_with("liveness"), "unexpected violation: {v}");
            caught.push(seed);
        }
    }
    assert!(
        !caught.is_empty(),
        "{BYZ_PARTIAL_SEEDS} seeds of `byz-partial` never stalled the former node host"
    );
}

/// Seeds of the commit-seeded run (`cargo test`; the long campaigns use the binary).
const COMMIT_SEEDS: u64 = 200;

/// The first seed of the commit-seeded run: from the commit the simulator was built from,
/// so that every commit explores seeds no earlier commit ran (`unknown`: a fixed start).
fn commit_start(commit: &str) -> u64 {
    let hex: String = commit.chars().take(8).collect();
    let x = u64::from_str_radix(&hex, 16).unwrap_or(0);
    1_000_000_000 + x * 1_000
}

/// A few hundred seeds of the default mix (every scenario in turn, full length, as
/// `chancery-sim --seeds 200 --start S` runs them) from a start that changes with each
/// commit. A violation prints its seed, the commit and the replay command.
#[test]
fn seeds_from_a_start_that_changes_with_each_commit() {
    let commit = chancery_sim::BUILT_FROM_COMMIT;
    let start = commit_start(commit);
    assert_ne!(commit_start("0123abcd"), commit_start("0123abce"));
    println!("commit {commit}: seeds {start}..{}", start + COMMIT_SEEDS);
    let names = chancery_sim::SCENARIOS;
    for k in 0..COMMIT_SEEDS {
        let seed = start + k;
        let name = names[(k as usize) % names.len()];
        let sc = scenario(name, seed).expect("known scenario");
        if let Err(v) = run(&sc, seed) {
            panic!("{v}\n  (the commit-seeded run: chancery-sim --seeds {COMMIT_SEEDS} --start {start})");
        }
    }
}

/// Every scenario once, its validators holding SM2 keys (issue 21): votes, proposals,
/// certificates and evidence signed with SM2 (checked one by one: SM2 has no batch
/// verification), validator sets hashed with SM3, keys rotated to SM2 keys across epochs.
/// The same invariants hold as in the default suite.
#[test]
fn the_scenario_mix_in_the_sm2_sm3_suite() {
    let sm2 = chancery_core::suite::Suite::Sm2Sm3;
    for (k, name) in chancery_sim::SCENARIOS.iter().enumerate() {
        let seed = 7_000 + k as u64;
        let sc = scenario(name, seed)
            .expect("known scenario")
            .quick()
            .with_suite(sm2);
        match run(&sc, seed) {
            Ok(o) => assert!(
                o.height_min >= 2,
                "{name} seed {seed} (sm2-sm3): honest nodes finalized only {} blocks\n  replay: {}",
                o.height_min,
                chancery_sim::replay_command_in(sm2, name, seed)
            ),
            Err(v) => panic!("{v}"),
        }
    }
}
