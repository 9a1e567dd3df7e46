//! Speculative execution (R15 of docs/consensus.md): blocks executed on uncommitted
//! parents, committed without executing again, and dropped when their branch is skipped.

use chancery_core::block::{Block, Outcome, ReasonCode};
use chancery_core::record::Role;
use chancery_core::state::{StateKey, StateValue};
use chancery_core::tx::Transaction;
use chancery_core::{Digest, Height, Seq, TimestampMs, View};
use chancery_ledger::testing::fixture::{anchor, register_asset, Fixture};
use chancery_ledger::{verify_block_txs, Executed, Ledger, LedgerError, SPECULATIVE_DEPTH_MAX};
use chancery_storage::MemStore;
use std::sync::Arc;

fn ledger(fx: &Fixture) -> Ledger {
    Ledger::open(Arc::new(MemStore::new()), &fx.genesis).unwrap()
}

/// A block parent → (hash, height, time).
#[derive(Clone, Copy)]
struct At {
    hash: Digest,
    height: Height,
    time: TimestampMs,
}

fn tip(l: &Ledger) -> At {
    let t = l.tip();
    At {
        hash: t.hash,
        height: t.height,
        time: t.time,
    }
}

/// Execute `txs` on `parent` (committed or not), build the block for `view`, keep its
/// result; what a leader or a validator does.
fn build(
    l: &Ledger,
    fx: &Fixture,
    parent: At,
    view: u64,
    txs: Vec<Transaction>,
) -> (Block, Executed, At) {
    let height = parent.height.next();
    let time = TimestampMs(parent.time.0 + 10);
    let checked = verify_block_txs(&l.chain_id(), txs.clone(), |_| None);
    let ex = l.execute_on(&parent.hash, &checked, time, height).unwrap();
    let mut header = fx.header(height, parent.hash, time);
    header.view = View(view);
    ex.fill_header(&mut header);
    let block = Block { header, txs };
    let hash = block.header.hash(chancery_core::suite::Suite::default());
    assert!(
        l.keep_speculative(hash, &ex),
        "result of height {height} kept"
    );
    (block, ex, At { hash, height, time })
}

fn officer(fx: &Fixture) -> &chancery_core::crypto::SecretKey {
    fx.signer("mof", Role::AssetOfficer)
}

#[test]
fn a_chain_built_on_uncommitted_parents_commits_without_executing_again() {
    let fx = Fixture::new();
    let l = ledger(&fx);
    let k = officer(&fx);
    let p1_txs = vec![
        fx.tx(k, 0, register_asset("S1", "mof")),
        fx.tx(k, 1, register_asset("S2", "mof")),
    ];
    let (b1, e1, a1) = build(&l, &fx, tip(&l), 1, p1_txs.clone());
    // Height 2 on the uncommitted height 1: its sequence numbers continue height 1's, a
    // replay of height 1's first transaction is a duplicate, and a second registration of
    // S1 is refused because height 1 registered it.
    let (b2, e2, a2) = build(
        &l,
        &fx,
        a1,
        2,
        vec![
            fx.tx(k, 2, register_asset("S3", "mof")),
            p1_txs[0].clone(),
            fx.tx(k, 3, register_asset("S1", "mof")),
        ],
    );
    assert_eq!(e1.outcomes, vec![Outcome::Applied, Outcome::Applied]);
    assert_eq!(
        e2.outcomes,
        vec![
            Outcome::Applied,
            Outcome::Rejected(ReasonCode::DuplicateTx),
            Outcome::Rejected(ReasonCode::AssetExists)
        ]
    );
    // A refused transaction does not use up its sequence number.
    let (b3, e3, a3) = build(
        &l,
        &fx,
        a2,
        3,
        vec![fx.tx(k, 3, register_asset("S4", "mof"))],
    );
    assert_eq!(e3.outcomes, vec![Outcome::Applied]);
    // The state after the uncommitted height 3, read through its parents.
    let view = l.view_on(&a3.hash).unwrap();
    assert_eq!(view.depth(), 3);
    assert_eq!(
        view.value(&StateKey::Seq(k.public())).unwrap(),
        Some(StateValue::Seq(Seq(4)))
    );
    assert_eq!(l.speculative_len(), 3);
    let executions = l.executions();
    for b in [&b1, &b2, &b3] {
        l.apply(b, &fx.finalize(b)).unwrap();
    }
    assert_eq!(
        l.executions(),
        executions,
        "no block executed again at its commit"
    );
    assert_eq!(l.tip().hash, a3.hash);
    assert_eq!(l.speculative_len(), 0, "committed results are spent");
    // A node that saw none of it executes the blocks one by one, to the same state.
    let other = ledger(&fx);
    for b in [&b1, &b2, &b3] {
        other.apply(b, &fx.finalize(b)).unwrap();
    }
    assert_eq!(other.tip(), l.tip());
    assert_eq!(other.executions(), 3);
}

#[test]
fn results_of_a_skipped_block_and_its_descendants_are_dropped_at_the_commit() {
    let fx = Fixture::new();
    let l = ledger(&fx);
    let k = fx.signer("mof", Role::Archivist);
    let t0 = tip(&l);
    // Two candidates at height 1 (views 1 and 2), and a child of the first.
    let (_p, _, ap) = build(&l, &fx, t0, 1, vec![fx.tx(k, 0, anchor("p"))]);
    let (_c, _, ac) = build(&l, &fx, ap, 3, vec![fx.tx(k, 1, anchor("c"))]);
    let (q, _, aq) = build(&l, &fx, t0, 2, vec![fx.tx(k, 0, anchor("q"))]);
    assert_eq!(l.speculative_len(), 3);
    assert!(l.can_execute_on(&ac.hash));
    // View 2's block is finalized: view 1's block was skipped, and its child with it.
    l.apply(&q, &fx.finalize(&q)).unwrap();
    assert_eq!(l.tip().hash, aq.hash);
    assert_eq!(l.speculative_len(), 0);
    assert!(!l.can_execute_on(&ac.hash));
    let err = l
        .execute_on(&ap.hash, &[], TimestampMs(ap.time.0 + 1), Height(2))
        .unwrap_err();
    match err {
        LedgerError::NoResult { parent } => assert_eq!(parent, ap.hash),
        e => panic!("expected NoResult, got {e}"),
    }
    assert!(err_text(&l, &ap).contains("expected the last committed block"));
    // Building on the committed block works; the skipped child's sequence is free again.
    let (_, e, _) = build(&l, &fx, aq, 4, vec![fx.tx(k, 1, anchor("after q"))]);
    assert_eq!(e.outcomes, vec![Outcome::Applied]);
}

fn err_text(l: &Ledger, parent: &At) -> String {
    l.execute_on(
        &parent.hash,
        &[],
        TimestampMs(parent.time.0 + 1),
        parent.height.next(),
    )
    .unwrap_err()
    .to_string()
}

#[test]
fn the_chain_of_uncommitted_parents_is_bounded() {
    let fx = Fixture::new();
    let l = ledger(&fx);
    let mut at = tip(&l);
    for v in 1..=SPECULATIVE_DEPTH_MAX {
        at = build(&l, &fx, at, v, vec![]).2;
    }
    let err = l
        .execute_on(&at.hash, &[], TimestampMs(at.time.0 + 1), at.height.next())
        .unwrap_err();
    assert!(
        matches!(err, LedgerError::SpeculationTooDeep { max } if max == SPECULATIVE_DEPTH_MAX),
        "{err}"
    );
    assert!(err.to_string().contains("speculative_depth_max"));
}

#[test]
fn a_result_is_kept_only_above_the_tip_on_a_known_parent() {
    let fx = Fixture::new();
    let l = ledger(&fx);
    let k = fx.signer("mof", Role::Archivist);
    let t0 = tip(&l);
    let (b1, e1, a1) = build(&l, &fx, t0, 1, vec![fx.tx(k, 0, anchor("one"))]);
    l.apply(&b1, &fx.finalize(&b1)).unwrap();
    // At the tip's height: not kept.
    assert!(!l.keep_speculative(a1.hash, &e1));
    // On a parent that has no result: not kept.
    let stray = l
        .execute_on(&a1.hash, &[], TimestampMs(a1.time.0 + 1), Height(2))
        .unwrap();
    let mut orphan = stray.clone();
    orphan.parent = Digest([9; 32]);
    assert!(!l.keep_speculative(Digest([8; 32]), &orphan));
    assert!(l.keep_speculative(Digest([7; 32]), &stray));
    assert_eq!(l.speculative_len(), 1);
}
