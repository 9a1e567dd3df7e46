//! `verify::signature_items` lists exactly the signatures the core checks (same key, same
//! signed bytes, same signature), so that a host that verifies them ahead of the core can
//! serve the core's verifier from a cache.

mod common;

use chancery_consensus::verify::{signature_items, KernelVerifier, SignedItem, Verifier};
use chancery_consensus::{Core, Evidence, HashBinding, Input, Message, ProposalMsg, Vote};
use chancery_core::cert::VoteKind;
use chancery_core::crypto::{BatchItem, SignatureError};
use chancery_core::ids::{Digest, Epoch, View};
use common::*;
use std::sync::{Arc, Mutex};

/// The kernel verifier, recording every item the core hands it.
#[derive(Clone, Default)]
struct Recording(Arc<Mutex<Vec<SignedItem>>>);

impl Recording {
    fn take(&self) -> Vec<SignedItem> {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }
}

impl Verifier for Recording {
    fn verify_batch(&mut self, items: &[BatchItem<'_>]) -> Result<(), SignatureError> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend(items.iter().map(|i| SignedItem {
                key: i.key,
                message: i.message.to_vec(),
                signature: i.signature,
            }));
        KernelVerifier.verify_batch(items)
    }
}

/// Feed `m` from `from`; every item the core checked must be listed for `m`. Returns how
/// many items the core checked.
fn checked_items_are_listed(core: &mut Core, rec: &Recording, from: u16, m: Message) -> usize {
    let listed = signature_items(&m, CHAIN, core.validator_set());
    core.handle(Input::Message {
        from,
        bytes: m.encode(),
    });
    let checked = rec.take();
    for item in &checked {
        assert!(
            listed.contains(item),
            "the core checked an item not listed for {m:?}: {item:?}"
        );
    }
    checked.len()
}

#[test]
fn the_listed_items_are_the_ones_the_core_checks() {
    let keys = keys(4);
    let rec = Recording::default();
    let mut core = Core::with_verifier(
        config(&keys, 0),
        vec![],
        Box::new(rec.clone()),
        Box::new(HashBinding),
    )
    .expect("valid config");
    core.handle(Input::Start);

    // A proposal of view 1 by its leader (validator 1) on the root.
    let b1 = block(Digest::ZERO, 1, 1, b"one");
    let p1 = ProposalMsg {
        proposal: propose(&keys, 1, 0, b1.clone()),
        parent_cert: None,
        nullifications: vec![],
    };
    assert_eq!(
        checked_items_are_listed(&mut core, &rec, 1, Message::Proposal(p1)),
        1
    );

    // Two votes, one at a time.
    for i in [2usize, 3] {
        let v = Vote::sign(
            CHAIN,
            Epoch(0),
            View(1),
            VoteKind::Notarize,
            b1.digest,
            i as u16,
            &keys[i],
        );
        assert_eq!(
            checked_items_are_listed(&mut core, &rec, i as u16, Message::Vote(v)),
            1
        );
    }

    // A nullification of view 2 (three signatures).
    let n2 = cert(&keys, &[1, 2, 3], 2, VoteKind::Nullify, Digest::ZERO);
    assert_eq!(
        checked_items_are_listed(&mut core, &rec, 2, Message::Certificate(n2.clone())),
        3
    );

    // A proposal of view 3 (leader 3) on block 1, with the parent's notarization (the core
    // does not hold it yet) and the nullification of view 2 (which it holds).
    let b3 = block(b1.digest, 2, 3, b"three");
    let notarized = cert(&keys, &[1, 2, 3], 1, VoteKind::Notarize, b1.digest);
    let p3 = ProposalMsg {
        proposal: propose(&keys, 3, 1, b3),
        parent_cert: Some(notarized),
        nullifications: vec![n2],
    };
    let listed = signature_items(&Message::Proposal(p3.clone()), CHAIN, core.validator_set());
    assert_eq!(
        listed.len(),
        1 + 3 + 3,
        "proposal, parent certificate, nullification"
    );
    assert_eq!(
        checked_items_are_listed(&mut core, &rec, 3, Message::Proposal(p3)),
        1 + 3
    );

    // Evidence: validator 2 notarized two blocks in view 4.
    let vote = |digest: Digest| {
        Vote::sign(
            CHAIN,
            Epoch(0),
            View(4),
            VoteKind::Notarize,
            digest,
            2,
            &keys[2],
        )
    };
    let ev = Evidence::Votes {
        first: vote(Digest([1; 32])),
        second: vote(Digest([2; 32])),
    };
    assert_eq!(
        checked_items_are_listed(&mut core, &rec, 1, Message::Evidence(ev)),
        2
    );
}

#[test]
fn messages_the_core_refuses_unchecked_list_nothing() {
    let keys = keys(4);
    let set = set(&keys);
    // Another epoch.
    let v = Vote::sign(
        CHAIN,
        Epoch(1),
        View(1),
        VoteKind::Nullify,
        Digest::ZERO,
        1,
        &keys[1],
    );
    assert!(signature_items(&Message::Vote(v), CHAIN, &set).is_empty());
    // A signer outside the set.
    let mut v = Vote::sign(
        CHAIN,
        Epoch(0),
        View(1),
        VoteKind::Nullify,
        Digest::ZERO,
        1,
        &keys[1],
    );
    v.signer = 9;
    assert!(signature_items(&Message::Vote(v), CHAIN, &set).is_empty());
    // A proposal of view 1 not by its leader (validator 1).
    let p = ProposalMsg {
        proposal: propose(&keys, 2, 0, block(Digest::ZERO, 1, 1, b"x")),
        parent_cert: None,
        nullifications: vec![],
    };
    assert!(signature_items(&Message::Proposal(p), CHAIN, &set).is_empty());
    assert!(signature_items(
        &Message::BlockRequest {
            digest: Digest([3; 32])
        },
        CHAIN,
        &set
    )
    .is_empty());
}
