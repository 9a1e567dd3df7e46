//! The vote gate (docs/consensus.md §3, "vote gate"): every vote the core signs passes one
//! check against its own persisted votes, the prune floor and the host's sign floor
//! (issue 14, findings 3 and 4).

mod common;

use chancery_consensus::{Core, Effect, HashBinding, Input, TimeoutKind};
use chancery_core::cert::VoteKind;
use chancery_core::ids::{Digest, View};
use common::*;

#[test]
fn a_replayed_notarization_of_a_pruned_nullified_view_is_never_finalized() {
    let k = keys(4);
    let mut cfg = config(&k, 0);
    cfg.views_behind_max = 3;
    let mut c = Core::new(cfg, vec![], Box::new(HashBinding)).expect("valid config");
    c.handle(Input::Start);
    assert_eq!(c.view(), View(1));
    // We nullify view 1 (its leader, validator 1, stays silent).
    let e = c.handle(Input::Timeout {
        view: View(1),
        kind: TimeoutKind::Leader,
    });
    assert_eq!(own_votes(&e, 0), vec![(View(1), VoteKind::Nullify)]);
    ack_all(&mut c, &e);
    // Views 1..=8 end without finalization (nullified by the others).
    for v in 1..=8 {
        let e = feed_cert(
            &mut c,
            1,
            cert(&k, &[1, 2, 3], v, VoteKind::Nullify, Digest::ZERO),
        );
        for (view, kind) in own_votes(&e, 0) {
            assert_ne!(kind, VoteKind::Finalize, "finalize signed in view {view}");
        }
    }
    assert_eq!(c.view(), View(9));
    // A Byzantine peer replays a notarization of view 1 (signed by 1, 2, 3: validator 1
    // notarized, 2 and 3 equivocated — or simply an old certificate of a view that the
    // others nullified later).
    let e = feed_cert(
        &mut c,
        2,
        cert(&k, &[1, 2, 3], 1, VoteKind::Notarize, Digest([9; 32])),
    );
    assert!(
        !own_votes(&e, 0)
            .iter()
            .any(|(v, kind)| *v == View(1) && *kind == VoteKind::Finalize),
        "the core signed finalize in view 1, which it nullified: {e:?}"
    );
}

#[test]
fn a_sign_floor_silences_own_votes_up_to_it_and_certificates_still_move_the_core() {
    let k = keys(4);
    let mut cfg = config(&k, 0);
    cfg.sign_floor = Some(View(10));
    let mut c = Core::new(cfg, vec![], Box::new(HashBinding)).expect("valid config");
    let mut effects = c.handle(Input::Start);
    for v in 1..=10u64 {
        for kind in [TimeoutKind::Leader, TimeoutKind::View, TimeoutKind::Retry] {
            effects.extend(c.handle(Input::Timeout {
                view: View(v),
                kind,
            }));
        }
        let acks = ack_all(&mut c, &effects);
        effects.extend(acks);
        // Views 4 and 8 are led by us (view mod 4 == 0): we must not even propose.
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, Effect::Propose { view, .. } if view.0 <= 10)),
            "asked to propose in a view at or below the sign floor: {effects:?}"
        );
        let signed = own_votes(&effects, 0);
        assert!(
            signed.is_empty(),
            "own vote in view {v} at or below the sign floor: {signed:?}"
        );
        // Notarized and then nullified by the others: the core follows them.
        let d = Digest([v as u8; 32]);
        effects = feed_cert(&mut c, 1, cert(&k, &[1, 2, 3], v, VoteKind::Notarize, d));
        assert_eq!(c.view(), View(v + 1), "the core follows certificates");
    }
    let acks = ack_all(&mut c, &effects);
    effects.extend(acks);
    assert!(own_votes(&effects, 0).is_empty(), "{effects:?}");
    // From view 11 on it votes again.
    let e = c.handle(Input::Timeout {
        view: View(11),
        kind: TimeoutKind::Leader,
    });
    assert_eq!(own_votes(&e, 0), vec![(View(11), VoteKind::Nullify)]);
}
