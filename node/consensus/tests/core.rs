//! Unit-level checks of the core's rules with hand-fed inputs.

use chancery_consensus::{
    Block, Config, Core, Effect, Evidence, HashBinding, Input, Message, TimeoutKind, Vote,
};
use chancery_core::cert::VoteKind;
use chancery_core::crypto::SecretKey;
use chancery_core::ids::{Digest, Epoch, Height, Signature, View};

mod common;

use common::{keys, set, CHAIN, ROOT};

fn core(keys: &[SecretKey], me: usize, restored: Vec<Vote>) -> Core {
    let cfg = Config::with_delta(CHAIN, set(keys), Some(keys[me].clone()), ROOT, 50);
    Core::new(cfg, restored, Box::new(HashBinding)).expect("valid config")
}

fn vote(keys: &[SecretKey], signer: usize, view: u64, kind: VoteKind, block: Digest) -> Vote {
    Vote::sign(
        CHAIN,
        Epoch(0),
        View(view),
        kind,
        block,
        signer as u16,
        &keys[signer],
    )
}

fn msg(from: usize, m: Message) -> (u16, Vec<u8>) {
    (from as u16, m.encode())
}

fn broadcasts(effects: &[Effect]) -> Vec<&Message> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Broadcast { message } => Some(message),
            _ => None,
        })
        .collect()
}

#[test]
fn leader_persists_before_it_sends() {
    let k = keys(4);
    let mut c = core(&k, 1, vec![]); // leader of view 1 = 1 mod 4
    let e = c.handle(Input::Start);
    let parent = e
        .iter()
        .find_map(|e| match e {
            Effect::Propose { view, parent } if *view == View(1) => Some(*parent),
            _ => None,
        })
        .expect("the leader is asked to propose");
    assert_eq!(parent, ROOT);
    let block = Block {
        digest: HashBinding::digest(parent.digest, Height(1), View(1), b"x"),
        parent: parent.digest,
        height: Height(1),
        view: View(1),
        payload: b"x".to_vec(),
    };
    let e = c.handle(Input::Proposed { block });
    let id = e
        .iter()
        .find_map(|e| match e {
            Effect::Persist { id, vote } => {
                assert_eq!(vote.kind, VoteKind::Notarize);
                Some(*id)
            }
            _ => None,
        })
        .expect("own vote persisted");
    assert!(
        broadcasts(&e).is_empty(),
        "nothing may leave before the persist is acked"
    );
    let e = c.handle(Input::PersistAcked { id });
    let b = broadcasts(&e);
    assert!(matches!(b[0], Message::Proposal(_)));
    assert!(matches!(b[1], Message::Vote(v) if v.kind == VoteKind::Notarize));
}

#[test]
fn restart_resends_the_stored_vote_and_signs_nothing_new() {
    let k = keys(4);
    let stored = vote(&k, 2, 1, VoteKind::Nullify, Digest::ZERO);
    let mut c = core(&k, 2, vec![stored]);
    let e = c.handle(Input::Start);
    assert!(broadcasts(&e).contains(&&Message::Vote(stored)));
    assert_eq!(c.view(), View(1));
    for kind in [TimeoutKind::Leader, TimeoutKind::View, TimeoutKind::Retry] {
        let e = c.handle(Input::Timeout {
            view: View(1),
            kind,
        });
        assert!(
            !e.iter().any(|e| matches!(e, Effect::Persist { .. })),
            "{kind:?} made a restarted node sign again: {e:?}"
        );
    }
}

#[test]
fn quorum_is_2f_plus_1_and_moves_to_the_next_view() {
    let k = keys(4);
    let mut c = core(&k, 0, vec![]);
    c.handle(Input::Start);
    let d = Digest([3; 32]);
    let e = c.handle(Input::Messages(vec![
        msg(1, Message::Vote(vote(&k, 1, 1, VoteKind::Notarize, d))),
        msg(2, Message::Vote(vote(&k, 2, 1, VoteKind::Notarize, d))),
    ]));
    assert!(!broadcasts(&e)
        .iter()
        .any(|m| matches!(m, Message::Certificate(_))));
    assert_eq!(c.view(), View(1), "2f votes are not a quorum");
    let e = c.handle(Input::Message {
        from: 3,
        bytes: Message::Vote(vote(&k, 3, 1, VoteKind::Notarize, d)).encode(),
    });
    let cert = broadcasts(&e)
        .into_iter()
        .find_map(|m| match m {
            Message::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .expect("notarization formed and re-broadcast");
    assert_eq!(cert.kind, VoteKind::Notarize);
    cert.verify(CHAIN, &set(&k)).expect("kernel verifies it");
    assert_eq!(c.view(), View(2));
    // It finalizes the notarized block (it did not nullify view 1): persisted first.
    assert!(e.iter().any(
        |e| matches!(e, Effect::Persist { vote, .. } if vote.kind == VoteKind::Finalize && vote.block == d)
    ));
}

#[test]
fn a_bad_signature_in_a_batch_names_the_sender_and_the_rest_count() {
    let k = keys(4);
    let mut c = core(&k, 0, vec![]);
    c.handle(Input::Start);
    let d = Digest([3; 32]);
    let mut forged = vote(&k, 3, 1, VoteKind::Notarize, d);
    forged.signature = Signature([5; 64]);
    let e = c.handle(Input::Messages(vec![
        msg(1, Message::Vote(vote(&k, 1, 1, VoteKind::Notarize, d))),
        msg(2, Message::Vote(forged)),
        msg(2, Message::Vote(vote(&k, 2, 1, VoteKind::Notarize, d))),
        msg(3, Message::Vote(vote(&k, 3, 1, VoteKind::Notarize, d))),
    ]));
    let accused: Vec<u16> = e
        .iter()
        .filter_map(|e| match e {
            Effect::PeerMisbehaved { peer, .. } => Some(*peer),
            _ => None,
        })
        .collect();
    assert_eq!(accused, vec![2]);
    assert_eq!(
        c.view(),
        View(2),
        "the three good votes formed a notarization"
    );
}

#[test]
fn conflicting_votes_become_verifiable_evidence() {
    let k = keys(4);
    let mut c = core(&k, 0, vec![]);
    c.handle(Input::Start);
    let e = c.handle(Input::Messages(vec![
        msg(
            2,
            Message::Vote(vote(&k, 2, 1, VoteKind::Notarize, Digest([1; 32]))),
        ),
        msg(
            2,
            Message::Vote(vote(&k, 2, 1, VoteKind::Notarize, Digest([2; 32]))),
        ),
    ]));
    let ev: Vec<&Evidence> = e
        .iter()
        .filter_map(|e| match e {
            Effect::Evidence(x) => Some(x),
            _ => None,
        })
        .collect();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].verify(CHAIN, &set(&k)), Ok(2));
    let mut tampered = ev[0].clone();
    if let Evidence::Votes { second, .. } = &mut tampered {
        second.block = Digest([4; 32]);
    }
    assert!(tampered.verify(CHAIN, &set(&k)).is_err());
    // Nullify and finalize in one view also conflict.
    let e = c.handle(Input::Messages(vec![
        msg(
            3,
            Message::Vote(vote(&k, 3, 5, VoteKind::Nullify, Digest::ZERO)),
        ),
        msg(
            3,
            Message::Vote(vote(&k, 3, 5, VoteKind::Finalize, Digest([1; 32]))),
        ),
    ]));
    assert!(e
        .iter()
        .any(|e| matches!(e, Effect::Evidence(x) if x.verify(CHAIN, &set(&k)) == Ok(3))));
}

#[test]
fn votes_far_ahead_are_dropped_and_memory_stays_bounded() {
    let k = keys(4);
    let mut c = core(&k, 0, vec![]);
    c.handle(Input::Start);
    let mut flood = Vec::new();
    for v in 66..2_000u64 {
        flood.push(msg(
            1,
            Message::Vote(vote(&k, 1, v, VoteKind::Nullify, Digest::ZERO)),
        ));
    }
    let e = c.handle(Input::Messages(flood));
    assert!(e.is_empty(), "{e:?}");
    assert!(c.views_tracked() <= 2, "tracked {}", c.views_tracked());
    // Within the window they are kept, one view each.
    let near: Vec<_> = (2..=65u64)
        .map(|v| {
            msg(
                1,
                Message::Vote(vote(&k, 1, v, VoteKind::Nullify, Digest::ZERO)),
            )
        })
        .collect();
    c.handle(Input::Messages(near));
    assert!(c.views_tracked() <= 66);
}

#[test]
fn garbage_is_reported_not_fatal() {
    let k = keys(4);
    let mut c = core(&k, 0, vec![]);
    c.handle(Input::Start);
    for bytes in [
        vec![],
        vec![9, 9, 9],
        vec![1, 1, 255, 255, 255, 255, 255, 255, 255, 255],
    ] {
        let e = c.handle(Input::Message { from: 3, bytes });
        assert!(
            matches!(e.as_slice(), [Effect::PeerMisbehaved { peer: 3, .. }]),
            "{e:?}"
        );
    }
}

#[test]
fn wire_roundtrip_is_canonical() {
    let k = keys(4);
    let v = vote(&k, 1, 4, VoteKind::Finalize, Digest([8; 32]));
    let m = Message::Vote(v);
    assert_eq!(
        Message::decode(chancery_core::suite::Suite::default(), &m.encode()),
        Ok(m.clone())
    );
    let mut bytes = m.encode();
    bytes.push(0);
    assert!(
        Message::decode(chancery_core::suite::Suite::default(), &bytes).is_err(),
        "trailing byte accepted"
    );
    // A nullify vote must carry the zero digest.
    let bad = Message::Vote(vote(&k, 1, 4, VoteKind::Nullify, Digest([8; 32])));
    assert!(Message::decode(chancery_core::suite::Suite::default(), &bad.encode()).is_err());
}

#[test]
fn core_is_send_so_a_host_can_move_it_to_a_task() {
    fn is_send<T: Send>(_: &T) -> bool {
        true
    }
    let k = keys(4);
    assert!(is_send(&core(&k, 0, vec![])));
}
