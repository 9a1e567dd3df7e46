//! Execute once, and the state tree's write-behind: flushes, crashes between a block and
//! its flush, replay at open, and the retention policy of state proofs.

use chancery_core::block::Block;
use chancery_core::record::*;
use chancery_core::state::{verify_state_proof, StateKey, StateValue};
use chancery_core::{Height, TimestampMs};
use chancery_ledger::testing::fixture::Fixture;
use chancery_ledger::testing::propose_and_apply;
use chancery_ledger::{check, verify_block_txs, Ledger, LedgerConfig, LedgerError};
use chancery_storage::{Column, FaultPlan, FaultyStore, MemStore};
use std::sync::Arc;

fn mem() -> Arc<MemStore> {
    Arc::new(MemStore::new())
}

/// Flush every `blocks` blocks.
fn config(blocks: u64) -> LedgerConfig {
    LedgerConfig {
        tree_flush_blocks: blocks,
        ..LedgerConfig::default()
    }
}

fn register(id: &str) -> Record {
    chancery_ledger::testing::fixture::register_asset(id, "mof")
}

/// One block registering asset `A{i}` (signer sequence `i`).
fn block(fx: &Fixture, ledger: &Ledger, i: u64) {
    let k = fx.signer("mof", Role::AssetOfficer);
    let tx = fx.tx(k, i, register(&format!("A{i}")));
    propose_and_apply(ledger, fx, vec![tx]).unwrap();
}

fn state_tree_keys(store: &MemStore) -> usize {
    store.keys(Column::StateTree).len()
}

/// Proof of asset `A{i}` at `h`, checked against that block's header.
fn proven(ledger: &Ledger, i: u64, h: Height) -> Result<bool, LedgerError> {
    let proof = ledger.prove(&StateKey::Asset(format!("A{i}")), h)?;
    let root = ledger.block(h)?.expect("block").0.header.state_root;
    Ok(matches!(
        verify_state_proof(chancery_core::suite::Suite::default(), &root, &proof)
            .expect("proof verifies"),
        Some(StateValue::Asset(_))
    ))
}

#[test]
fn a_checked_proposal_is_committed_without_executing_it_again() {
    let fx = Fixture::new();
    let ledger = Ledger::open(mem(), &fx.genesis).unwrap();
    let k = fx.signer("mof", Role::AssetOfficer);
    let tip = ledger.tip();
    let (height, time) = (tip.height.next(), TimestampMs(tip.time.0 + 1000));
    // Two candidates for the same height (two views' leaders), the second checked last.
    let mut blocks = Vec::new();
    for id in ["X", "Y"] {
        let txs = vec![fx.tx(k, 0, register(id))];
        let checked = verify_block_txs(&ledger.chain_id(), txs.clone(), |_| None);
        let ex = ledger.execute(&checked, time, height).unwrap();
        let mut header = fx.header(height, tip.hash, time);
        ex.fill_header(&mut header);
        blocks.push(Block { header, txs });
    }
    assert_eq!(ledger.executions(), 2);
    // The first is finalized: its kept result is committed as it is.
    let cert = fx.finalize(&blocks[0]);
    ledger.apply(&blocks[0], &cert).unwrap();
    assert_eq!(
        ledger.executions(),
        2,
        "the finalized block was executed again"
    );
    assert_eq!(ledger.tip().state_root, blocks[0].header.state_root);
    // A block nobody here executed (caught up from a peer) is executed once at apply.
    let reference = Ledger::open(mem(), &fx.genesis).unwrap();
    reference.apply(&blocks[0], &cert).unwrap();
    assert_eq!(reference.executions(), 1);
}

#[test]
fn tree_nodes_are_written_behind_and_only_the_flushed_trees_reach_the_store() {
    let fx = Fixture::new();
    let store = mem();
    let ledger = Ledger::open_with(store.clone(), &fx.genesis, config(4)).unwrap();
    let genesis_nodes = state_tree_keys(&store);
    for i in 0..3 {
        block(&fx, &ledger, i);
    }
    // Three blocks applied, no flush yet: no tree node in any block's batch.
    assert_eq!(state_tree_keys(&store), genesis_nodes);
    assert_eq!(ledger.tree_status().flushed, Height(0));
    block(&fx, &ledger, 3);
    let status = ledger.tree_status();
    assert_eq!(status.flushed, Height(4));
    let after_flush = state_tree_keys(&store);
    assert!(after_flush > genesis_nodes);
    // Only the nodes of the flushed root are written, not those of heights 1-3 that
    // height 4 replaced: a ledger flushing after every block writes more.
    let every_store = mem();
    let every = Ledger::open_with(every_store.clone(), &fx.genesis, config(1)).unwrap();
    for i in 0..4 {
        block(&fx, &every, i);
    }
    assert_eq!(every.tip().state_root, ledger.tip().state_root);
    assert!(
        state_tree_keys(&every_store) > after_flush,
        "flushing every block wrote {} nodes, flushing once {after_flush}",
        state_tree_keys(&every_store)
    );
    let report = check(store.clone(), mem()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[test]
fn a_crash_between_a_block_and_its_tree_flush_replays_to_the_same_roots() {
    let fx = Fixture::new();
    let reference = Ledger::open_with(mem(), &fx.genesis, config(4)).unwrap();
    for i in 0..10 {
        block(&fx, &reference, i);
    }
    let store = mem();
    let ledger = Ledger::open_with(store.clone(), &fx.genesis, config(4)).unwrap();
    for i in 0..6 {
        block(&fx, &ledger, i);
    }
    assert_eq!(ledger.tree_status().flushed, Height(4));
    // Killed: blocks 5 and 6 are durable, their tree nodes only in memory.
    drop(ledger);
    let reopened = Ledger::open_with(store.clone(), &fx.genesis, config(4)).unwrap();
    assert_eq!(reopened.tip().height, Height(6));
    let status = reopened.tree_status();
    assert_eq!(status.flushed, Height(4));
    assert!(status.nodes_in_memory > 0, "blocks 5 and 6 replayed");
    for i in 0..6 {
        assert!(proven(&reopened, i, Height(6)).unwrap(), "A{i} at 6");
    }
    assert!(proven(&reopened, 5, Height(6)).unwrap());
    for i in 6..10 {
        block(&fx, &reopened, i);
    }
    assert_eq!(reopened.tip(), reference.tip());
    assert_eq!(reopened.tree_status().flushed, Height(8));
    let report = check(store, mem()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[test]
fn a_failed_flush_keeps_the_block_and_is_retried_after_the_next_one() {
    let fx = Fixture::new();
    let inner = mem();
    // Write 1 is the genesis; each of blocks 1-3 is its block write and its index batch
    // (writes 2-7); write 8 is block 4 and write 9 the tree flush its apply runs.
    let store = Arc::new(FaultyStore::with_plan(
        inner.clone(),
        FaultPlan {
            fail_write: Some(9),
            ..FaultPlan::default()
        },
    ));
    let ledger = Ledger::open_with(store, &fx.genesis, config(4)).unwrap();
    for i in 0..4 {
        block(&fx, &ledger, i);
    }
    let status = ledger.tree_status();
    assert_eq!(
        ledger.tip().height,
        Height(4),
        "the block itself is applied"
    );
    assert_eq!(status.flushed, Height(0));
    assert_eq!(status.flush_failures, 1);
    assert!(status.last_flush_error.is_some());
    block(&fx, &ledger, 4);
    assert_eq!(ledger.tree_status().flushed, Height(5));
    drop(ledger);
    let reopened = Ledger::open_with(inner.clone(), &fx.genesis, config(4)).unwrap();
    assert_eq!(reopened.tree_status().flushed, Height(5));
    assert!(proven(&reopened, 4, Height(5)).unwrap());
    let report = check(inner, mem()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[test]
fn state_proofs_follow_the_retention_policy() {
    let fx = Fixture::new();
    let ledger = Ledger::open_with(mem(), &fx.genesis, config(4)).unwrap();
    for i in 0..14 {
        block(&fx, &ledger, i);
    }
    // Flushed at 4, 8 and 12: the window starts at the flush before the last.
    let status = ledger.tree_status();
    assert_eq!(status.flushed, Height(12));
    assert_eq!(status.window_from, Height(8));
    for h in [4u64, 8, 9, 10, 11, 12, 13, 14] {
        assert!(proven(&ledger, 0, Height(h)).unwrap(), "height {h}");
    }
    for h in [1u64, 2, 3, 5, 6, 7] {
        match proven(&ledger, 0, Height(h)) {
            Err(LedgerError::NotRetained {
                found,
                window_from,
                flush_blocks,
            }) => {
                assert_eq!(found, Height(h));
                assert_eq!(window_from, Height(8));
                assert_eq!(flush_blocks, 4);
            }
            other => panic!("height {h}: expected NotRetained, got {other:?}"),
        }
    }
    // Values as of any height still answer (they are versioned in the state column).
    let key = StateKey::Asset("A2".into());
    assert!(ledger.value_as_of(&key, Height(3)).unwrap().is_some());
    assert!(ledger.value_as_of(&key, Height(2)).unwrap().is_none());
}

#[test]
fn a_tree_flushed_before_a_planned_stop_is_not_replayed_at_open() {
    let fx = Fixture::new();
    let store = mem();
    let ledger = Ledger::open_with(store.clone(), &fx.genesis, config(256)).unwrap();
    for i in 0..5 {
        block(&fx, &ledger, i);
    }
    assert_eq!(ledger.tree_status().flushed, Height(0));
    ledger.flush_tree().unwrap();
    drop(ledger);
    let reopened = Ledger::open_with(store.clone(), &fx.genesis, config(256)).unwrap();
    let status = reopened.tree_status();
    assert_eq!(status.flushed, Height(5));
    assert_eq!(status.nodes_in_memory, 0, "nothing to replay");
    assert!(proven(&reopened, 4, Height(5)).unwrap());
    // The unscheduled flush height is a snapshot like the others: check agrees.
    block(&fx, &reopened, 5);
    let report = check(store, mem()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[test]
fn a_background_flush_leaves_the_commit_and_is_written_by_flush_sealed() {
    let fx = Fixture::new();
    let store = mem();
    let background = LedgerConfig {
        tree_flush_background: true,
        ..config(4)
    };
    let ledger = Ledger::open_with(store.clone(), &fx.genesis, background.clone()).unwrap();
    let genesis_nodes = state_tree_keys(&store);
    for i in 0..4 {
        block(&fx, &ledger, i);
    }
    // Due at 4, sealed, not written by the commit.
    assert_eq!(ledger.tree_status().flushed, Height(0));
    assert_eq!(state_tree_keys(&store), genesis_nodes);
    for i in 0..4 {
        assert!(
            proven(&ledger, i, Height(4)).unwrap(),
            "A{i} at 4 from memory"
        );
    }
    assert_eq!(ledger.flush_sealed().unwrap(), Some(Height(4)));
    assert_eq!(
        ledger.flush_sealed().unwrap(),
        None,
        "nothing sealed any more"
    );
    assert_eq!(ledger.tree_status().flushed, Height(4));
    assert!(state_tree_keys(&store) > genesis_nodes);
    // No worker: the next due commit writes the seal it finds (at 8), then seals 12.
    for i in 4..12 {
        block(&fx, &ledger, i);
    }
    assert_eq!(ledger.tree_status().flushed, Height(8));
    for h in [4u64, 8, 9, 12] {
        assert!(proven(&ledger, 0, Height(h)).unwrap(), "height {h}");
    }
    assert_eq!(ledger.flush_sealed().unwrap(), Some(Height(12)));
    // The same roots and the same stored tree as a ledger flushing inline.
    let inline_store = mem();
    let inline = Ledger::open_with(inline_store.clone(), &fx.genesis, config(4)).unwrap();
    for i in 0..12 {
        block(&fx, &inline, i);
    }
    assert_eq!(inline.tip(), ledger.tip());
    assert_eq!(
        inline_store.keys(Column::StateTree),
        store.keys(Column::StateTree)
    );
    drop(ledger);
    let reopened = Ledger::open_with(store.clone(), &fx.genesis, background).unwrap();
    assert_eq!(reopened.tree_status().flushed, Height(12));
    let report = check(store, mem()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}
