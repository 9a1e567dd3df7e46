//! R13 at the boundary (found by the simulator's epoch scenarios, tests/sim): a batch of
//! messages that switches the core to the next epoch, and a boundary block that can never
//! be finalized.

mod common;

use chancery_consensus::{Effect, Input, Message, ProposalMsg, Vote};
use chancery_core::cert::VoteKind;
use chancery_core::crypto::SecretKey;
use chancery_core::ids::{AgencyId, Digest, Epoch, Height, Signature, View};
use chancery_core::validator::{Validator, ValidatorSet};
use common::*;

/// The set of `epoch` from `start`: validators named by their key's index in `k` (their
/// identity across epochs), in the order of `order`.
fn named_set(k: &[SecretKey], order: &[usize], epoch: u64, start: u64) -> ValidatorSet {
    ValidatorSet {
        epoch: Epoch(epoch),
        start_height: Height(start),
        validators: order
            .iter()
            .map(|&i| Validator {
                name: format!("v{i}"),
                agency: AgencyId("a".into()),
                consensus_key: k[i].public(),
                network_key: chancery_core::NetworkKey::from_seed([100 + i as u8; 32]),
                power: 1,
            })
            .collect(),
    }
}

fn proposal(k: &[SecretKey], proposer: usize, b: chancery_consensus::Block) -> Message {
    Message::Proposal(ProposalMsg {
        proposal: propose(k, proposer, 0, b),
        parent_cert: None,
        nullifications: Vec::new(),
    })
}

fn switched(effects: &[Effect]) -> bool {
    effects
        .iter()
        .any(|e| matches!(e, Effect::EpochChanged { epoch, .. } if *epoch == Epoch(1)))
}

/// Validator 0's core in epoch 0 (v0..v3), told that epoch 1 (v4 first, then v0, v1, v2;
/// v3 removed) starts at height 2, holding the boundary block (height 1, view 1) proposed
/// by v1. Returns the core and the boundary block.
fn at_the_boundary(k: &[SecretKey]) -> (chancery_consensus::Core, chancery_consensus::Block) {
    let mut c = core(&k[..4], 0);
    c.handle(Input::Start);
    c.handle(Input::EpochChange {
        set: named_set(k, &[4, 0, 1, 2], 1, 2),
        from_height: Height(2),
    });
    let b = block(Digest::ZERO, 1, 1, b"boundary");
    feed(&mut c, 1, proposal(k, 1, b.clone()));
    (c, b)
}

/// A batch whose finalization switches the core to epoch 1 also carries a vote of epoch 1
/// with a bad signature from v2, which the host named by its index in epoch 0 (2). In
/// epoch 1, index 2 is v1: the report must name v2 (index 3 there), not an honest peer.
#[test]
fn a_batch_that_switches_epochs_names_later_senders_in_the_new_set() {
    let k = keys(5);
    let (mut c, b) = at_the_boundary(&k);
    let mut bad = Vote::sign(
        CHAIN,
        Epoch(1),
        View(1),
        VoteKind::Nullify,
        Digest::ZERO,
        3,
        &k[2],
    );
    bad.signature = Signature([9; 64]);
    let e = c.handle(Input::Messages(vec![
        (
            1,
            Message::Certificate(cert(&k, &[1, 2, 3], 1, VoteKind::Finalize, b.digest)).encode(),
        ),
        (2, Message::Vote(bad).encode()),
    ]));
    assert!(switched(&e), "the finalization switches the epoch: {e:?}");
    assert_eq!(
        accused(&e),
        vec![3],
        "v2 is index 3 in epoch 1; index 2 is v1, which sent nothing wrong"
    );
}

/// The same batch with garbage from v3, which epoch 1 removed: v3 has no index in epoch 1,
/// so nobody is reported (its old index 3 is v2's in epoch 1).
#[test]
fn a_batch_that_switches_epochs_blames_nobody_for_a_removed_validator() {
    let k = keys(5);
    let (mut c, b) = at_the_boundary(&k);
    let e = c.handle(Input::Messages(vec![
        (
            1,
            Message::Certificate(cert(&k, &[1, 2, 3], 1, VoteKind::Finalize, b.digest)).encode(),
        ),
        (3, vec![0xde, 0xad]),
    ]));
    assert!(switched(&e), "the finalization switches the epoch: {e:?}");
    assert_eq!(
        accused(&e),
        Vec::<u16>::new(),
        "v3 is not a validator of epoch 1"
    );
}

/// The boundary block (height 1; epoch 1 starts at height 2) is notarized in view 1, and
/// view 1 is also nullified (the others timed out before they saw the notarization), so it
/// can never be finalized by its own view, and a descendant would be at height 2, in epoch
/// 1, which starts only once a block at height 1 is finalized. The leader of view 3 must
/// not extend it: it proposes on the root, over the nullified views 1 and 2 (R4 lets it),
/// so that another block at height 1 can be finalized and the epoch can change.
#[test]
fn a_boundary_block_notarized_in_a_nullified_view_is_skipped() {
    let k = keys(4);
    let mut c = core(&k, 3); // leader of view 3
    c.handle(Input::Start);
    c.handle(Input::EpochChange {
        set: named_set(&k, &[0, 1, 2, 3], 1, 2),
        from_height: Height(2),
    });
    let b = block(Digest::ZERO, 1, 1, b"boundary");
    feed(&mut c, 1, proposal(&k, 1, b.clone()));
    feed_cert(
        &mut c,
        0,
        cert(&k, &[0, 1, 2], 1, VoteKind::Notarize, b.digest),
    );
    feed_cert(
        &mut c,
        0,
        cert(&k, &[0, 1, 2], 1, VoteKind::Nullify, Digest::ZERO),
    );
    let e = feed_cert(
        &mut c,
        0,
        cert(&k, &[0, 1, 2], 2, VoteKind::Nullify, Digest::ZERO),
    );
    let asked = e.iter().find_map(|e| match e {
        Effect::Propose { view, parent } if *view == View(3) => Some(*parent),
        _ => None,
    });
    assert_eq!(
        asked,
        Some(ROOT),
        "the leader must propose on the root, not on the dead boundary block: {e:?}"
    );
    // Its proposal carries the nullifications of the views it skips.
    let next = block(Digest::ZERO, 1, 3, b"boundary again");
    let e = c.handle(Input::Proposed {
        block: next.clone(),
    });
    let e = ack_all(&mut c, &e);
    let sent = e
        .iter()
        .find_map(|e| match e {
            Effect::Broadcast {
                message: Message::Proposal(m),
            } => Some(m.clone()),
            _ => None,
        })
        .expect("the proposal is sent");
    assert_eq!(sent.proposal.block, next);
    let skipped: Vec<View> = sent.nullifications.iter().map(|c| c.view).collect();
    assert_eq!(skipped, vec![View(1), View(2)]);
}

/// Without an epoch change the same leader extends the notarized block (a descendant's
/// finalization finalizes it): the skip is only for a boundary block.
#[test]
fn without_an_epoch_change_a_notarized_block_in_a_nullified_view_is_extended() {
    let k = keys(4);
    let mut c = core(&k, 3);
    c.handle(Input::Start);
    let b = block(Digest::ZERO, 1, 1, b"block");
    feed(&mut c, 1, proposal(&k, 1, b.clone()));
    feed_cert(
        &mut c,
        0,
        cert(&k, &[0, 1, 2], 1, VoteKind::Notarize, b.digest),
    );
    feed_cert(
        &mut c,
        0,
        cert(&k, &[0, 1, 2], 1, VoteKind::Nullify, Digest::ZERO),
    );
    let e = feed_cert(
        &mut c,
        0,
        cert(&k, &[0, 1, 2], 2, VoteKind::Nullify, Digest::ZERO),
    );
    let asked = e.iter().find_map(|e| match e {
        Effect::Propose { view, parent } if *view == View(3) => Some(*parent),
        _ => None,
    });
    assert_eq!(asked.map(|p| p.digest), Some(b.digest), "{e:?}");
}

fn old_vote(k: &[SecretKey], signer: usize, view: u64, kind: VoteKind, block: Digest) -> Vec<u8> {
    Message::Vote(Vote::sign(
        CHAIN,
        Epoch(0),
        View(view),
        kind,
        block,
        signer as u16,
        &k[signer],
    ))
    .encode()
}

/// One batch of votes of epoch 0: the finalize votes of the boundary block (the third
/// completes its finalization and switches the core to epoch 1), then nullify votes of view
/// 2. They were all checked against epoch 0's set, but from the switch on they are votes
/// of another epoch: none may count in epoch 1 (whose views restart at 1), where they
/// would make a nullification of view 2 and move the core to view 3.
#[test]
fn a_vote_batch_that_switches_epochs_counts_no_old_vote_in_the_new_epoch() {
    let k = keys(5);
    let (mut c, b) = at_the_boundary(&k);
    let mut batch: Vec<(u16, Vec<u8>)> = (1..4)
        .map(|i| (i as u16, old_vote(&k, i, 1, VoteKind::Finalize, b.digest)))
        .collect();
    batch.extend((1..4).map(|i| {
        (
            i as u16,
            old_vote(&k, i, 2, VoteKind::Nullify, Digest::ZERO),
        )
    }));
    let e = c.handle(Input::Messages(batch));
    assert!(switched(&e), "the finalize votes switch the epoch: {e:?}");
    assert_eq!(c.epoch(), Epoch(1));
    assert_eq!(
        c.view(),
        View(1),
        "votes of epoch 0 moved the view of epoch 1: {e:?}"
    );
    let late_certs: Vec<_> = e
        .iter()
        .skip_while(|e| !matches!(e, Effect::EpochChanged { .. }))
        .filter_map(|e| match e {
            Effect::Broadcast {
                message: Message::Certificate(c),
            } => Some((c.epoch, c.kind, c.view)),
            _ => None,
        })
        .collect();
    assert_eq!(late_certs, vec![], "no certificate forms after the switch");
}

/// The same batch with a vote of epoch 0 carrying a bad signature from v2 after the
/// switch: it is reported under v2's index in epoch 1 (3), never under its old index (2,
/// v1's in epoch 1).
#[test]
fn a_bad_old_vote_after_a_switch_in_its_batch_names_the_sender_in_the_new_set() {
    let k = keys(5);
    let (mut c, b) = at_the_boundary(&k);
    let mut batch: Vec<(u16, Vec<u8>)> = (1..4)
        .map(|i| (i as u16, old_vote(&k, i, 1, VoteKind::Finalize, b.digest)))
        .collect();
    let mut bad = Vote::sign(
        CHAIN,
        Epoch(0),
        View(2),
        VoteKind::Nullify,
        Digest::ZERO,
        2,
        &k[2],
    );
    bad.signature = Signature([9; 64]);
    batch.push((2, Message::Vote(bad).encode()));
    let e = c.handle(Input::Messages(batch));
    assert!(switched(&e), "the finalize votes switch the epoch: {e:?}");
    assert!(
        !accused(&e).contains(&2),
        "v1 (index 2 in epoch 1) sent nothing wrong: {e:?}"
    );
}

/// A boundary block whose view can be neither finalized nor nullified (a partition split
/// its finalize and nullify votes) is finalized by a descendant's finalization: a block of
/// the old epoch past its last height (a suffix block, which the host builds empty). The
/// core delivers the boundary block with that certificate and switches; the suffix block
/// is never delivered, and the core keeps it so that the host can read the link from the
/// boundary block to the certificate's block and peers can fetch it.
#[test]
fn a_suffix_block_finalizes_the_boundary_block_and_stays_readable() {
    let k = keys(5);
    let (mut c, b) = at_the_boundary(&k);
    let suffix = block(b.digest, 2, 2, b"");
    let m = Message::Proposal(ProposalMsg {
        proposal: propose(&k, 2, 1, suffix.clone()),
        parent_cert: Some(cert(&k, &[1, 2, 3], 1, VoteKind::Notarize, b.digest)),
        nullifications: Vec::new(),
    });
    feed(&mut c, 2, m);
    let e = feed_cert(
        &mut c,
        1,
        cert(&k, &[1, 2, 3], 2, VoteKind::Finalize, suffix.digest),
    );
    let delivered: Vec<(Height, Digest)> = e
        .iter()
        .filter_map(|e| match e {
            Effect::Finalized {
                block,
                finalization,
            } => Some((block.height, finalization.block)),
            _ => None,
        })
        .collect();
    assert_eq!(
        delivered,
        vec![(Height(1), suffix.digest)],
        "the boundary block, with the suffix block's certificate, and nothing past it"
    );
    assert!(switched(&e));
    assert_eq!(
        c.held_block(&suffix.digest),
        Some(&suffix),
        "the host reads the certificate's block"
    );
    // v2 (index 3 in epoch 1) asks for it.
    let e = feed(
        &mut c,
        3,
        Message::BlockRequest {
            digest: suffix.digest,
        },
    );
    assert!(
        e.iter().any(|e| matches!(
            e,
            Effect::Send { to: 3, message: Message::Block(p) } if p.block == suffix
        )),
        "a peer may fetch it: {e:?}"
    );
}

/// The simulator's digest rule, with the block at height 1 ending its epoch (as a
/// boundary header does by committing the next validator set).
struct EndsAtOne;

impl chancery_consensus::BlockBinding for EndsAtOne {
    fn check(&self, b: &chancery_consensus::Block) -> Result<(), String> {
        chancery_consensus::BlockBinding::check(&chancery_consensus::HashBinding, b)
    }

    fn ends_epoch(&self, b: &chancery_consensus::Block) -> bool {
        b.height == Height(1)
    }
}

/// One finalization may cover the block in which the change was decided, the boundary
/// block and suffix blocks past it, before the host (which learns of the change from the
/// first) could tell the core: the core never delivers past a block that ends its epoch,
/// whether or not it was told of the next set, and switches once it is.
#[test]
fn delivery_stops_at_a_block_that_ends_its_epoch() {
    let k = keys(4);
    let mut c = chancery_consensus::Core::new(config(&k, 0), vec![], Box::new(EndsAtOne))
        .expect("valid config");
    c.handle(Input::Start);
    let b = block(Digest::ZERO, 1, 1, b"boundary");
    feed(&mut c, 1, proposal(&k, 1, b.clone()));
    let suffix = block(b.digest, 2, 2, b"");
    feed(
        &mut c,
        2,
        Message::Proposal(ProposalMsg {
            proposal: propose(&k, 2, 1, suffix.clone()),
            parent_cert: Some(cert(&k, &[1, 2, 3], 1, VoteKind::Notarize, b.digest)),
            nullifications: Vec::new(),
        }),
    );
    let e = feed_cert(
        &mut c,
        1,
        cert(&k, &[1, 2, 3], 2, VoteKind::Finalize, suffix.digest),
    );
    let heights: Vec<Height> = e
        .iter()
        .filter_map(|e| match e {
            Effect::Finalized { block, .. } => Some(block.height),
            _ => None,
        })
        .collect();
    assert_eq!(
        heights,
        vec![Height(1)],
        "nothing past the boundary block: {e:?}"
    );
    assert_eq!(c.finalized().height, Height(1));
    assert_eq!(c.held_block(&suffix.digest), Some(&suffix));
    // The same finalization again delivers nothing more.
    let e = feed_cert(
        &mut c,
        2,
        cert(&k, &[0, 1, 2], 2, VoteKind::Finalize, suffix.digest),
    );
    assert!(
        !e.iter().any(|e| matches!(e, Effect::Finalized { .. })),
        "{e:?}"
    );
    // The host, having finalized the boundary block, tells the core of the next set.
    let e = c.handle(Input::EpochChange {
        set: named_set(&k, &[0, 1, 2, 3], 1, 2),
        from_height: Height(2),
    });
    assert!(switched(&e), "{e:?}");
    assert_eq!((c.epoch(), c.view()), (Epoch(1), View(1)));
}
