//! Delivery walks parent links with exact heights (R12, issue 14 finding 1): even a host
//! binding that lets a forged block through cannot make the core deliver a block at an
//! attacker-chosen height, and the core refuses fetched blocks whose digest does not bind
//! their contents.

mod common;

use chancery_consensus::{Block, BlockBinding, Core, Effect, Input, Message};
use chancery_core::cert::VoteKind;
use chancery_core::ids::{Digest, Height, View};
use common::*;

/// A binding that checks nothing: stands for a host whose digest rule misses a field.
struct AcceptAll;

impl BlockBinding for AcceptAll {
    fn check(&self, _: &Block) -> Result<(), String> {
        Ok(())
    }
}

fn delivered(effects: &[Effect]) -> Vec<(Height, Digest)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Finalized { block, .. } => Some((block.height, block.digest)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_fetched_block_with_a_forged_height_is_never_delivered() {
    let k = keys(4);
    let mut c = Core::new(config(&k, 0), vec![], Box::new(AcceptAll)).expect("valid config");
    c.handle(Input::Start);
    // A finalization for view 5 of a block the core does not hold: it asks for it.
    let d = Digest([5; 32]);
    let e = feed_cert(&mut c, 2, cert(&k, &[1, 2, 3], 5, VoteKind::Finalize, d));
    assert!(e.iter().any(|e| matches!(
        e,
        Effect::Send { message: Message::BlockRequest { digest }, .. } if *digest == d
    )));
    // Validator 1 (leader of view 5) answers with a block of its own making under that
    // digest: parent the root, but height 7.
    let forged = Block {
        digest: d,
        parent: Digest::ZERO,
        height: Height(7),
        view: View(5),
        payload: b"forged".to_vec(),
    };
    let e = feed(&mut c, 1, Message::Block(propose(&k, 1, 0, forged)));
    assert_eq!(
        delivered(&e),
        vec![],
        "a block at height 7 was delivered on root height 0: {e:?}"
    );
    assert!(accused(&e).contains(&1), "the forger is reported: {e:?}");
    assert_eq!(c.finalized().height, Height(0));
    assert!(
        e.iter().any(|e| matches!(
            e,
            Effect::Send { message: Message::BlockRequest { digest }, .. } if *digest == d
        )),
        "the digest is fetched again: {e:?}"
    );
}

#[test]
fn a_fetched_block_that_does_not_bind_its_digest_is_refused_and_refetched() {
    let k = keys(4);
    let mut c = core(&k, 0);
    c.handle(Input::Start);
    let real = block(Digest::ZERO, 1, 5, b"real");
    feed_cert(
        &mut c,
        2,
        cert(&k, &[1, 2, 3], 5, VoteKind::Finalize, real.digest),
    );
    let mut forged = real.clone();
    forged.payload = b"other".to_vec();
    let e = feed(&mut c, 1, Message::Block(propose(&k, 1, 0, forged)));
    assert_eq!(delivered(&e), vec![]);
    assert_eq!(accused(&e), vec![1]);
    let e = feed(&mut c, 3, Message::Block(propose(&k, 1, 0, real.clone())));
    assert_eq!(delivered(&e), vec![(Height(1), real.digest)]);
}
