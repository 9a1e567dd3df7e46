//! R14: an idle chain rests. While the host reports no pending work, a view waits
//! `heartbeat_ms + leader_timeout_ms` for its proposal (the `Rest` timeout) instead of the
//! 2Δ/3Δ timeouts; work wakes it, and a vote for its proposal ends the rest.

use chancery_consensus::{Core, Effect, HashBinding, Input, Message, TimeoutKind};
use chancery_core::cert::VoteKind;
use chancery_core::ids::View;

mod common;

use common::{block, config, feed, keys, own_votes, propose, ROOT};

const HEARTBEAT_MS: u64 = 2_000;

/// Validator 2 (not the leader of view 1) on a chain with a heartbeat.
fn resting_core(heartbeat_ms: u64) -> Core {
    let k = keys(4);
    let mut cfg = config(&k, 2);
    cfg.heartbeat_ms = heartbeat_ms;
    Core::new(cfg, vec![], Box::new(HashBinding)).expect("valid config")
}

fn timers(effects: &[Effect]) -> Vec<(View, TimeoutKind, u64)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::ScheduleTimeout {
                view,
                kind,
                after_ms,
            } => Some((*view, *kind, *after_ms)),
            _ => None,
        })
        .collect()
}

fn fire(c: &mut Core, view: u64, kind: TimeoutKind) -> Vec<(View, VoteKind)> {
    let e = c.handle(Input::Timeout {
        view: View(view),
        kind,
    });
    own_votes(&e, 2)
}

#[test]
fn an_idle_view_waits_for_the_heartbeat_not_for_two_delta() {
    let mut c = resting_core(HEARTBEAT_MS);
    assert!(c.handle(Input::Work { pending: false }).is_empty());
    let e = c.handle(Input::Start);
    // Δ = 50 ms: the rest timeout is the heartbeat plus the 2Δ leader timeout.
    assert_eq!(
        timers(&e),
        vec![(View(1), TimeoutKind::Rest, HEARTBEAT_MS + 100)]
    );
    // Stale 2Δ/3Δ timeouts (scheduled before the view rested) are ignored while it rests.
    assert!(fire(&mut c, 1, TimeoutKind::Leader).is_empty());
    assert!(fire(&mut c, 1, TimeoutKind::View).is_empty());
    // No proposal by the heartbeat: the silent leader is nullified as before.
    assert_eq!(
        fire(&mut c, 1, TimeoutKind::Rest),
        vec![(View(1), VoteKind::Nullify)]
    );
}

#[test]
fn work_wakes_a_resting_view_with_the_usual_timeouts() {
    let mut c = resting_core(HEARTBEAT_MS);
    c.handle(Input::Work { pending: false });
    c.handle(Input::Start);
    let e = c.handle(Input::Work { pending: true });
    assert_eq!(
        timers(&e),
        vec![
            (View(1), TimeoutKind::Leader, 100),
            (View(1), TimeoutKind::View, 150)
        ]
    );
    // Awake again: the rest timeout no longer counts, the leader timeout does.
    assert!(fire(&mut c, 1, TimeoutKind::Rest).is_empty());
    assert_eq!(
        fire(&mut c, 1, TimeoutKind::Leader),
        vec![(View(1), VoteKind::Nullify)]
    );
}

#[test]
fn a_view_at_work_goes_to_rest_when_the_work_runs_out() {
    let mut c = resting_core(HEARTBEAT_MS);
    let e = c.handle(Input::Start);
    assert_eq!(
        timers(&e),
        vec![
            (View(1), TimeoutKind::Leader, 100),
            (View(1), TimeoutKind::View, 150)
        ],
        "the core assumes work until the host says otherwise"
    );
    let e = c.handle(Input::Work { pending: false });
    assert_eq!(
        timers(&e),
        vec![(View(1), TimeoutKind::Rest, HEARTBEAT_MS + 100)]
    );
    assert!(fire(&mut c, 1, TimeoutKind::Leader).is_empty());
}

#[test]
fn a_vote_for_the_proposal_ends_the_rest_and_the_view_timeout_watches_again() {
    let k = keys(4);
    let mut c = resting_core(HEARTBEAT_MS);
    c.handle(Input::Work { pending: false });
    c.handle(Input::Start);
    // The heartbeat proposal of the leader of view 1 (validator 1).
    let b = block(ROOT.digest, 1, 1, b"heartbeat");
    let p = propose(&k, 1, 0, b.clone());
    let e = feed(
        &mut c,
        1,
        Message::Proposal(chancery_consensus::ProposalMsg {
            proposal: p,
            parent_cert: None,
            nullifications: vec![],
        }),
    );
    assert!(
        e.iter().any(|e| matches!(e, Effect::Validate { .. })),
        "{e:?}"
    );
    let e = c.handle(Input::Validated {
        digest: b.digest,
        valid: true,
    });
    assert_eq!(own_votes(&e, 2), vec![(View(1), VoteKind::Notarize)]);
    assert_eq!(timers(&e), vec![(View(1), TimeoutKind::View, 150)]);
    // The view no longer rests: no notarization within 3Δ nullifies it.
    assert_eq!(
        fire(&mut c, 1, TimeoutKind::View),
        vec![(View(1), VoteKind::Nullify)]
    );
}

#[test]
fn without_a_heartbeat_the_chain_never_rests() {
    let mut c = resting_core(0);
    c.handle(Input::Work { pending: false });
    let e = c.handle(Input::Start);
    assert_eq!(
        timers(&e),
        vec![
            (View(1), TimeoutKind::Leader, 100),
            (View(1), TimeoutKind::View, 150)
        ]
    );
    assert_eq!(
        fire(&mut c, 1, TimeoutKind::Leader),
        vec![(View(1), VoteKind::Nullify)]
    );
}
