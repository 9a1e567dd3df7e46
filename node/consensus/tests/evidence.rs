//! Evidence of equivocation (R10): conflicting votes and two proposals of one leader for
//! one view, detected or received, reported once and gossiped once; forged evidence is the
//! sender's misbehaviour.
// Tests decode in the default suite.
#![allow(clippy::disallowed_methods)]

mod common;

use chancery_consensus::{Effect, Evidence, EvidenceError, Input, Message, ProposalMsg, Vote};
use chancery_core::cert::VoteKind;
use chancery_core::codec;
use chancery_core::ids::{Digest, Epoch, View};
use common::*;

fn evidence(effects: &[Effect]) -> Vec<Evidence> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Evidence(x) => Some(x.clone()),
            _ => None,
        })
        .collect()
}

fn gossiped(effects: &[Effect]) -> Vec<Evidence> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Broadcast {
                message: Message::Evidence(x),
            } => Some(x.clone()),
            _ => None,
        })
        .collect()
}

fn proposal_msg(p: chancery_consensus::Proposal) -> Message {
    Message::Proposal(ProposalMsg {
        proposal: p,
        parent_cert: None,
        nullifications: vec![],
    })
}

#[test]
fn two_proposals_of_one_leader_become_evidence_once() {
    let k = keys(4);
    let mut c = core(&k, 0);
    c.handle(Input::Start);
    let a = propose(&k, 1, 0, block(Digest::ZERO, 1, 1, b"a"));
    let b = propose(&k, 1, 0, block(Digest::ZERO, 1, 1, b"b"));
    let e = feed(&mut c, 1, proposal_msg(a.clone()));
    assert!(evidence(&e).is_empty());
    let e = feed(&mut c, 2, proposal_msg(b.clone()));
    let ev = evidence(&e);
    assert_eq!(ev.len(), 1, "{e:?}");
    assert!(matches!(&ev[0], Evidence::Proposals { first, second } if *first == a && *second == b));
    assert_eq!(ev[0].verify(CHAIN, &set(&k)), Ok(1));
    assert_eq!(
        (ev[0].culprit(), ev[0].epoch(), ev[0].view()),
        (1, Epoch(0), View(1))
    );
    assert_eq!(gossiped(&e), ev, "gossiped once");
    assert!(
        accused(&e).is_empty(),
        "the relaying peer is not blamed: {e:?}"
    );
    // A third block, or the same evidence received back: nothing more.
    let c3 = propose(&k, 1, 0, block(Digest::ZERO, 1, 1, b"c"));
    let mut e = feed(&mut c, 3, proposal_msg(c3));
    e.extend(feed(&mut c, 3, Message::Evidence(ev[0].clone())));
    assert!(evidence(&e).is_empty() && gossiped(&e).is_empty(), "{e:?}");
    // Canonical encoding through the kernel codec.
    let bytes = codec::encode(&ev[0]);
    assert_eq!(codec::decode::<Evidence>(&bytes), Ok(ev[0].clone()));
}

#[test]
fn a_forged_second_proposal_blames_its_sender_not_the_leader() {
    let k = keys(4);
    let mut c = core(&k, 0);
    c.handle(Input::Start);
    feed(
        &mut c,
        1,
        proposal_msg(propose(&k, 1, 0, block(Digest::ZERO, 1, 1, b"a"))),
    );
    // Validator 3 signs a block in the leader's name with its own key.
    let mut forged = propose(&k, 3, 0, block(Digest::ZERO, 1, 1, b"b"));
    forged.proposer = 1;
    let e = feed(&mut c, 3, proposal_msg(forged));
    assert!(evidence(&e).is_empty(), "{e:?}");
    assert_eq!(accused(&e), vec![3]);
}

#[test]
fn received_vote_evidence_is_reported_once_and_forged_evidence_is_refused() {
    let k = keys(4);
    let mut c = core(&k, 0);
    c.handle(Input::Start);
    let v = |block: u8| {
        Vote::sign(
            CHAIN,
            Epoch(0),
            View(2),
            VoteKind::Notarize,
            Digest([block; 32]),
            2,
            &k[2],
        )
    };
    let good = Evidence::Votes {
        first: v(1),
        second: v(2),
    };
    // Forged: the second vote's digest changed after signing.
    let mut second = v(2);
    second.block = Digest([3; 32]);
    let forged = Evidence::Votes {
        first: v(1),
        second,
    };
    assert_eq!(
        forged.verify(CHAIN, &set(&k)),
        Err(EvidenceError::BadSignature { which: "second" })
    );
    let e = feed(&mut c, 3, Message::Evidence(forged));
    assert!(evidence(&e).is_empty());
    assert_eq!(accused(&e), vec![3]);
    let e = feed(&mut c, 3, Message::Evidence(good.clone()));
    assert_eq!(evidence(&e), vec![good.clone()]);
    assert_eq!(gossiped(&e), vec![good.clone()]);
    // The same culprit in the same view is reported once, whatever the proof.
    let again = Evidence::Votes {
        first: v(1),
        second: v(4),
    };
    let mut e = feed(&mut c, 1, Message::Evidence(good));
    e.extend(feed(&mut c, 1, Message::Evidence(again)));
    e.extend(c.handle(Input::Messages(vec![
        (2, Message::Vote(v(1)).encode()),
        (2, Message::Vote(v(5)).encode()),
    ])));
    assert!(evidence(&e).is_empty() && gossiped(&e).is_empty(), "{e:?}");
}

#[test]
fn proposal_evidence_against_a_non_leader_does_not_verify() {
    let k = keys(4);
    // Validator 2 does not lead view 1: its two blocks prove nothing.
    let ev = Evidence::Proposals {
        first: propose(&k, 2, 0, block(Digest::ZERO, 1, 1, b"a")),
        second: propose(&k, 2, 0, block(Digest::ZERO, 1, 1, b"b")),
    };
    assert!(matches!(
        ev.verify(CHAIN, &set(&k)),
        Err(EvidenceError::NotLeader {
            expected: 1,
            found: 2,
            ..
        })
    ));
    // One block twice is no equivocation.
    let a = propose(&k, 1, 0, block(Digest::ZERO, 1, 1, b"a"));
    let same = Evidence::Proposals {
        first: a.clone(),
        second: a,
    };
    assert!(matches!(
        same.verify(CHAIN, &set(&k)),
        Err(EvidenceError::NotConflicting(_))
    ));
}

#[test]
fn received_proposal_evidence_is_reported_once_and_a_forged_one_blames_the_sender() {
    let k = keys(4);
    let mut c = core(&k, 0);
    c.handle(Input::Start);
    let a = propose(&k, 1, 0, block(Digest::ZERO, 1, 1, b"a"));
    let b = propose(&k, 1, 0, block(Digest::ZERO, 1, 1, b"b"));
    // Forged: the second block's payload changed after signing.
    let mut tampered = b.clone();
    tampered.block = block(Digest::ZERO, 1, 1, b"c");
    let forged = Evidence::Proposals {
        first: a.clone(),
        second: tampered,
    };
    let e = feed(&mut c, 2, Message::Evidence(forged));
    assert!(evidence(&e).is_empty(), "{e:?}");
    assert_eq!(accused(&e), vec![2]);
    let good = Evidence::Proposals {
        first: a,
        second: b,
    };
    let e = feed(&mut c, 3, Message::Evidence(good.clone()));
    assert_eq!(evidence(&e), vec![good.clone()]);
    assert_eq!(gossiped(&e), vec![good.clone()]);
    assert!(accused(&e).is_empty());
    let e = feed(&mut c, 2, Message::Evidence(good));
    assert!(evidence(&e).is_empty() && gossiped(&e).is_empty(), "{e:?}");
}
