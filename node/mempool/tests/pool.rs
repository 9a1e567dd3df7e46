//! Admission, bounds, selection, fairness, eviction, gossip and determinism.

mod common;

use chancery_core::record::{RecordKind, Role};
use chancery_core::{AgencyId, Digest, Seq, TxHash};
use chancery_mempool::{AdmitError, BlockLimits, GossipCursor, MempoolConfig, Origin, PoolLimit};
use common::*;
use std::collections::BTreeSet;

fn small() -> MempoolConfig {
    MempoolConfig {
        txs_max: 100,
        bytes_max: 1 << 20,
        per_signer_max: 50,
        agency_txs_max: 100,
        agency_bytes_max: 1 << 20,
        seq_window_max: 64,
        ..MempoolConfig::default()
    }
}

fn hashes(v: &[chancery_core::tx::VerifiedTx]) -> Vec<TxHash> {
    v.iter().map(|t| t.hash()).collect()
}

#[test]
fn every_reason_code_is_produced() {
    let mut view = View::default();
    let a = key(1, 0);
    let b = key(2, 0);
    let stranger = key(9, 0);
    let revoked = key(1, 1);
    let no_role = key(1, 2);
    view.add(&a, "a");
    view.add(&b, "b");
    view.add(&revoked, "a");
    view.members.get_mut(&revoked.public()).unwrap().revoked = true;
    view.add_roles(&no_role, "a", vec![Role::AssetOfficer]);
    view.next.insert(a.public(), Seq(5));
    let a2 = key(1, 3);
    view.add(&a2, "a");
    let config = MempoolConfig {
        txs_max: 4,
        per_signer_max: 3,
        agency_txs_max: 3,
        seq_window_max: 10,
        tx_bytes_max: 600,
        agency_bytes_max: 1 << 20,
        gossip_batch_bytes_max: 1 << 20,
        ..MempoolConfig::default()
    };
    let mut p = pool(config);
    let now = t(0);
    let mut seen = BTreeSet::new();
    let mut refuse = |p: &mut chancery_mempool::Mempool, tx, code: &str| {
        let e = p.insert(tx, Origin::Local, now, &view).unwrap_err();
        assert_eq!(e.code(), code, "{e}");
        seen.insert(e.code());
        ok(p);
        e
    };

    let big = signed(&a, 5, anchor(5, 1000), CHAIN);
    let e = refuse(&mut p, big, "too_large");
    assert!(matches!(e, AdmitError::TooLarge { limit: 600, found } if found > 1000));

    let e = refuse(
        &mut p,
        signed(&a, 5, anchor(5, 0), Digest([8; 32])),
        "wrong_chain",
    );
    assert_eq!(
        e,
        AdmitError::WrongChain {
            expected: CHAIN,
            found: Digest([8; 32])
        }
    );
    let e = refuse(&mut p, tx(&stranger, 0), "unknown_signer");
    assert_eq!(
        e,
        AdmitError::UnknownSigner {
            key: stranger.public()
        }
    );
    refuse(&mut p, tx(&revoked, 0), "signer_revoked");
    let e = refuse(&mut p, tx(&no_role, 0), "missing_role");
    assert_eq!(
        e,
        AdmitError::MissingRole {
            key: no_role.public(),
            role: Role::Archivist,
            kind: RecordKind::AnchorDocument
        }
    );
    for (seq, _) in [(4u64, "below"), (15, "beyond window")] {
        let e = refuse(&mut p, tx(&a, seq), "bad_sequence");
        assert_eq!(
            e,
            AdmitError::BadSequence {
                key: a.public(),
                expected_min: Seq(5),
                expected_max: Seq(14),
                found: Seq(seq)
            }
        );
    }
    refuse(&mut p, tx_bad_sig(&a, 14), "bad_signature");

    let first = p.insert(tx(&a, 5), Origin::Local, now, &view).unwrap();
    let e = refuse(&mut p, tx(&a, 5), "duplicate");
    assert_eq!(e, AdmitError::Duplicate { hash: first.hash });
    let e = refuse(&mut p, tx_variant(&a, 5, 1), "sequence_taken");
    assert_eq!(
        e,
        AdmitError::SequenceTaken {
            key: a.public(),
            seq: Seq(5),
            pending: first.hash
        }
    );
    p.insert(tx(&a, 6), Origin::Local, now, &view).unwrap();
    p.insert(tx(&a, 7), Origin::Local, now, &view).unwrap();
    let e = refuse(&mut p, tx(&a, 8), "signer_full");
    assert_eq!(
        e,
        AdmitError::SignerFull {
            key: a.public(),
            limit: 3
        }
    );
    let e = refuse(&mut p, tx(&a2, 0), "agency_full");
    assert_eq!(
        e,
        AdmitError::AgencyFull {
            agency: AgencyId("a".into()),
            limit: PoolLimit::AgencyTxs,
            max: 3
        }
    );
    // b fills the pool, then displaces a's newest while a holds more than b would.
    p.insert(tx(&b, 0), Origin::Local, now, &view).unwrap();
    let r = p.insert(tx(&b, 1), Origin::Local, now, &view).unwrap();
    assert_eq!(r.evicted, vec![tx(&a, 7).hash()]);
    // a holds 2, b would hold 3: nobody may be evicted for b.
    let e = refuse(&mut p, tx(&b, 2), "pool_full");
    assert_eq!(
        e,
        AdmitError::PoolFull {
            limit: PoolLimit::Txs,
            max: 4
        }
    );

    let all: BTreeSet<&str> = AdmitError::CODES.into_iter().collect();
    assert_eq!(seen, all, "every documented code is produced by a test");
}

#[test]
fn pool_full_evicts_newest_of_the_heaviest_agency_but_never_below_the_newcomer() {
    let mut view = View::default();
    let a: Vec<_> = (0..5).map(|i| key(1, i)).collect();
    let b = key(2, 0);
    for k in &a {
        view.add(k, "a");
    }
    view.add(&b, "b");
    let mut p = pool(MempoolConfig {
        txs_max: 10,
        agency_txs_max: 10,
        ..small()
    });
    let mut order = Vec::new();
    for seq in 0..2 {
        for k in &a {
            order.push(
                p.insert(tx(k, seq), Origin::Local, t(0), &view)
                    .unwrap()
                    .hash,
            );
        }
    }
    assert_eq!(p.len(), 10);
    // b's first four transactions each evict a's newest one.
    for seq in 0..4 {
        let r = p.insert(tx(&b, seq), Origin::Local, t(1), &view).unwrap();
        let newest = order.pop().unwrap();
        assert_eq!(r.evicted, vec![newest]);
        assert!(!p.contains(&newest));
        ok(&p);
    }
    // a holds 6, b 4: b's fifth would leave b at 5 and a at 5 (a must stay strictly heavier
    // than b would be): evict one more. Then a=5, b=5: refuse.
    let r = p.insert(tx(&b, 4), Origin::Local, t(1), &view).unwrap();
    assert_eq!(r.evicted.len(), 1);
    assert_eq!(p.agency_load(&AgencyId("a".into())).0, 5);
    let e = p.insert(tx(&b, 5), Origin::Local, t(1), &view).unwrap_err();
    assert_eq!(
        e,
        AdmitError::PoolFull {
            limit: PoolLimit::Txs,
            max: 10
        }
    );
    ok(&p);
    assert_eq!(p.len(), 10);
}

#[test]
fn bytes_bound_holds_and_evicts_by_share() {
    let mut view = View::default();
    let a = key(1, 0);
    let b = key(2, 0);
    view.add(&a, "a");
    view.add(&b, "b");
    let one = tx(&a, 0).to_bytes().len() + 2000;
    let config = MempoolConfig {
        txs_max: 1000,
        bytes_max: one * 5,
        agency_bytes_max: one * 5,
        tx_bytes_max: 4000,
        gossip_batch_bytes_max: 1 << 20,
        ..small()
    };
    let mut p = pool(config);
    for seq in 0..5 {
        p.insert(
            signed(&a, seq, anchor(seq, 2000), CHAIN),
            Origin::Local,
            t(0),
            &view,
        )
        .unwrap();
        ok(&p);
    }
    // a's sixth large one: the agency share (here the whole pool) is checked first.
    let e = p
        .insert(
            signed(&a, 5, anchor(5, 2000), CHAIN),
            Origin::Local,
            t(0),
            &view,
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            AdmitError::AgencyFull {
                limit: PoolLimit::AgencyBytes,
                ..
            }
        ),
        "{e}"
    );
    // b's small transaction displaces one of a's large ones.
    let r = p.insert(tx(&b, 0), Origin::Local, t(0), &view).unwrap();
    assert_eq!(r.evicted.len(), 1);
    assert!(p.bytes() <= one * 5);
    ok(&p);
}

#[test]
fn agency_bytes_share_is_enforced() {
    let mut view = View::default();
    let a = key(1, 0);
    view.add(&a, "a");
    let size = tx(&a, 0).to_bytes().len();
    let mut p = pool(MempoolConfig {
        tx_bytes_max: size + 8,
        agency_bytes_max: size * 2 + 8,
        gossip_batch_bytes_max: 1 << 20,
        ..small()
    });
    p.insert(tx(&a, 0), Origin::Local, t(0), &view).unwrap();
    p.insert(tx(&a, 1), Origin::Local, t(0), &view).unwrap();
    let e = p.insert(tx(&a, 2), Origin::Local, t(0), &view).unwrap_err();
    assert!(
        matches!(
            e,
            AdmitError::AgencyFull {
                limit: PoolLimit::AgencyBytes,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn select_returns_gap_free_runs_from_next_seq() {
    let mut view = View::default();
    let a = key(1, 0);
    let b = key(1, 1);
    view.add(&a, "a");
    view.add(&b, "a");
    let mut p = pool(small());
    for seq in [0u64, 1, 2, 4, 5] {
        p.insert(tx(&a, seq), Origin::Local, t(0), &view).unwrap();
    }
    for seq in [1u64, 2] {
        p.insert(tx(&b, seq), Origin::Local, t(0), &view).unwrap();
    }
    let sel = p.select(&BlockLimits::default(), &view);
    let got: Vec<(bool, u64)> = sel
        .iter()
        .map(|v| (v.tx().body.signer == a.public(), v.tx().body.seq.0))
        .collect();
    // b's run needs seq 0 first: nothing of b. a: 0,1,2 then the gap at 3 stops it.
    assert_eq!(got, vec![(true, 0), (true, 1), (true, 2)]);

    // Once the ledger has executed a's 0..=3 elsewhere, a's run restarts at 4.
    view.next.insert(a.public(), Seq(4));
    view.next.insert(b.public(), Seq(1));
    let sel = p.select(&BlockLimits::default(), &view);
    let mut got: Vec<(bool, u64)> = sel
        .iter()
        .map(|v| (v.tx().body.signer == a.public(), v.tx().body.seq.0))
        .collect();
    got.sort();
    assert_eq!(got, vec![(false, 1), (false, 2), (true, 4), (true, 5)]);

    // Limits: two transactions at most; bytes too small for anything.
    let two = p.select(
        &BlockLimits {
            txs_max: 2,
            ..BlockLimits::default()
        },
        &view,
    );
    assert_eq!(two.len(), 2);
    let none = p.select(
        &BlockLimits {
            bytes_max: 10,
            ..BlockLimits::default()
        },
        &view,
    );
    assert!(none.is_empty());
}

#[test]
fn a_small_agency_is_not_starved_by_a_flood() {
    let mut view = View::default();
    let flood: Vec<_> = (0..10).map(|i| key(1, i)).collect();
    let small_agency: Vec<_> = (0..2).map(|i| key(2, i)).collect();
    for k in &flood {
        view.add(k, "a-flood");
    }
    for k in &small_agency {
        view.add(k, "b-small");
    }
    let mut p = pool(MempoolConfig::default());
    // Agency A submits 10,000 first (1,000 per key), agency B 10 afterwards.
    let mut batch = Vec::new();
    for k in &flood {
        for seq in 0..1000 {
            batch.push(tx(k, seq));
        }
    }
    for r in p.insert_batch(batch, Origin::Local, t(0), &view) {
        r.unwrap();
    }
    for k in &small_agency {
        for seq in 0..5 {
            p.insert(tx(k, seq), Origin::Peer, t(1), &view).unwrap();
        }
    }
    ok(&p);
    assert_eq!(p.len(), 10_010);
    let sel = p.select(
        &BlockLimits {
            txs_max: 100,
            ..BlockLimits::default()
        },
        &view,
    );
    assert_eq!(sel.len(), 100);
    let b_keys: BTreeSet<_> = small_agency.iter().map(|k| k.public()).collect();
    let b_positions: Vec<usize> = sel
        .iter()
        .enumerate()
        .filter(|(_, v)| b_keys.contains(&v.tx().body.signer))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        b_positions.len(),
        10,
        "all of B's transactions are in the first block"
    );
    assert!(
        b_positions.iter().all(|&i| i < 20),
        "B alternates with A: {b_positions:?}"
    );
    // Within A, the ten keys take turns: the first ten A transactions are from ten keys.
    let a_first: BTreeSet<_> = sel
        .iter()
        .filter(|v| !b_keys.contains(&v.tx().body.signer))
        .take(10)
        .map(|v| v.tx().body.signer)
        .collect();
    assert_eq!(a_first.len(), 10);
}

#[test]
fn committed_and_superseded_and_revoked_are_evicted() {
    let mut view = View::default();
    let a = key(1, 0);
    let b = key(1, 1);
    let admin = key(1, 2);
    view.add(&a, "a");
    view.add(&b, "a");
    view.add_roles(&admin, "a", vec![Role::Admin]);
    let mut p = pool(small());
    for seq in 0..4 {
        p.insert(tx(&a, seq), Origin::Local, t(0), &view).unwrap();
        p.insert(tx(&b, seq), Origin::Local, t(0), &view).unwrap();
    }
    let sel = p.select(
        &BlockLimits {
            txs_max: 3,
            ..BlockLimits::default()
        },
        &view,
    );
    let block: Vec<_> = sel.iter().map(|v| v.tx().clone()).collect();
    // Another node's block also carries a different transaction of a at seq 2 (after a's 0, 1).
    let mut block = block;
    let a_in_block = block.iter().filter(|t| t.body.signer == a.public()).count() as u64;
    for seq in a_in_block..3 {
        block.push(tx_variant(&a, seq, 9));
    }
    block.push(revoke(&admin, 0, "a", b.public()));
    view.commit(&block);
    let sweep = p.on_committed(&block, &view);
    ok(&p);
    let committed: BTreeSet<_> = sel.iter().map(|v| v.hash()).collect();
    assert_eq!(
        sweep.committed.iter().copied().collect::<BTreeSet<_>>(),
        committed
    );
    // a: seq 2 superseded (if it was pending), seq 3 remains; b: revoked, all gone.
    assert_eq!(p.signer_len(&a.public()), 1);
    assert!(p.contains(&tx(&a, 3).hash()));
    assert_eq!(p.signer_len(&b.public()), 0);
    assert_eq!(p.len(), 1);
    assert!(!sweep.stale.is_empty());
    let next = p.select(&BlockLimits::default(), &view);
    assert_eq!(hashes(&next), vec![tx(&a, 3).hash()]);
}

#[test]
fn ttl_eviction_and_the_verification_cache() {
    let mut view = View::default();
    let a = key(1, 0);
    view.add(&a, "a");
    let mut p = pool(MempoolConfig {
        ttl_ms: 1000,
        ..small()
    });
    p.insert(tx(&a, 0), Origin::Local, t(100), &view).unwrap();
    p.insert(tx(&a, 1), Origin::Local, t(600), &view).unwrap();
    assert_eq!(p.signatures_checked(), 2);
    assert!(p.evict_expired(t(1099)).is_empty());
    assert_eq!(p.evict_expired(t(1100)), vec![tx(&a, 0).hash()]);
    ok(&p);
    assert_eq!(p.len(), 1);
    assert_eq!(p.evict_expired(t(5000)), vec![tx(&a, 1).hash()]);
    assert!(p.is_empty());
    ok(&p);
    // Resubmitting an expired transaction does not verify its signature again.
    assert!(p.verified(&tx(&a, 0).hash()).is_some());
    p.insert(tx(&a, 0), Origin::Local, t(6000), &view).unwrap();
    assert_eq!(p.signatures_checked(), 2);
    ok(&p);
    // A bad signature is remembered too.
    assert_eq!(
        p.insert(tx_bad_sig(&a, 1), Origin::Local, t(6000), &view)
            .unwrap_err()
            .code(),
        "bad_signature"
    );
    assert_eq!(
        p.insert(tx_bad_sig(&a, 1), Origin::Local, t(6000), &view)
            .unwrap_err()
            .code(),
        "bad_signature"
    );
    assert_eq!(p.signatures_checked(), 3);
    // Verifying a proposal: the pending one is not re-verified, the other is verified once.
    let r = p.verify_cached(vec![tx(&a, 0), tx(&a, 5), tx(&a, 5), tx_bad_sig(&a, 1)]);
    assert!(r[0].is_ok() && r[1].is_ok() && r[2].is_ok());
    assert_eq!(r[3].as_ref().unwrap_err().code(), "bad_signature");
    assert_eq!(p.signatures_checked(), 4);
    ok(&p);
}

#[test]
fn insert_batch_matches_single_inserts_and_finds_bad_signatures() {
    let mut view = View::default();
    let keys: Vec<_> = (0..4).map(|i| key(1 + (i % 2) as u8, i)).collect();
    for (i, k) in keys.iter().enumerate() {
        view.add(k, &agency(1 + (i % 2) as u8));
    }
    let mut txs = Vec::new();
    for seq in 0..30 {
        for k in &keys {
            txs.push(tx(k, seq));
        }
    }
    txs[7] = tx_bad_sig(&keys[3], 1);
    txs[40] = txs[39].clone(); // duplicate within the batch
    txs.push(tx_variant(&keys[0], 0, 3)); // sequence taken
    let config = MempoolConfig {
        txs_max: 100,
        agency_txs_max: 50,
        verify_batch_txs_max: 16,
        ..small()
    };
    let mut single = pool(config.clone());
    let mut batched = pool(config);
    let one: Vec<_> = txs
        .iter()
        .map(|t| {
            single
                .insert(t.clone(), Origin::Local, t_now(), &view)
                .map(|a| a.hash)
                .map_err(|e| e.code())
        })
        .collect();
    let many: Vec<_> = batched
        .insert_batch(txs.clone(), Origin::Local, t_now(), &view)
        .into_iter()
        .map(|r| r.map(|a| a.hash).map_err(|e| e.code()))
        .collect();
    assert_eq!(one, many);
    assert_eq!(many[7], Err("bad_signature"));
    assert_eq!(many[40], Err("duplicate"));
    assert_eq!(many.last().unwrap(), &Err("sequence_taken"));
    assert!(many.contains(&Err("agency_full")));
    ok(&single);
    ok(&batched);
    let limits = BlockLimits::default();
    assert_eq!(
        hashes(&single.select(&limits, &view)),
        hashes(&batched.select(&limits, &view))
    );
}

/// Issue 14, finding 5: signatures can be checked off the pool's task. Verdicts computed
/// beforehand give the same admissions as the pool's own checks, and the pool then checks
/// no signature itself.
#[test]
fn verdicts_computed_off_the_pool_give_the_same_admissions_without_pool_checks() {
    let mut view = View::default();
    let keys: Vec<_> = (0..4).map(|i| key(1 + (i % 2) as u8, i)).collect();
    for (i, k) in keys.iter().enumerate() {
        view.add(k, &agency(1 + (i % 2) as u8));
    }
    let mut txs = Vec::new();
    for seq in 0..20 {
        for k in &keys {
            txs.push(tx(k, seq));
        }
    }
    txs[5] = tx_bad_sig(&keys[1], 1);
    txs[33] = tx_bad_sig(&keys[1], 8);
    let config = MempoolConfig {
        verify_batch_txs_max: 16,
        ..small()
    };
    let mut own = pool(config.clone());
    let mut given = pool(config);
    let expected: Vec<_> = own
        .insert_batch(txs.clone(), Origin::Local, t_now(), &view)
        .into_iter()
        .map(|r| r.map(|a| a.hash).map_err(|e| e.code()))
        .collect();
    let verdicts = chancery_mempool::Verdicts::compute(&CHAIN, &txs);
    assert_eq!(verdicts.bad_signatures(), 2);
    let found: Vec<_> = given
        .insert_batch_with(txs.clone(), verdicts, Origin::Local, t_now(), &view)
        .into_iter()
        .map(|r| r.map(|a| a.hash).map_err(|e| e.code()))
        .collect();
    assert_eq!(expected, found);
    assert_eq!(found[5], Err("bad_signature"));
    assert!(own.signatures_checked() >= txs.len() as u64 - 2);
    assert_eq!(
        given.signatures_checked(),
        0,
        "the pool checked signatures again"
    );
    ok(&given);
}

fn t_now() -> chancery_core::TimestampMs {
    t(0)
}

#[test]
fn selection_does_not_depend_on_arrival_order() {
    let mut view = View::default();
    let keys: Vec<_> = (0..9).map(|i| key((i % 3) as u8, i)).collect();
    for (i, k) in keys.iter().enumerate() {
        view.add(k, &agency((i % 3) as u8));
    }
    let mut txs = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        for seq in 0..(3 + i as u64) {
            txs.push(tx(k, seq));
        }
    }
    let mut p1 = pool(small());
    for r in p1.insert_batch(txs.clone(), Origin::Local, t(0), &view) {
        r.unwrap();
    }
    // Reverse order (within each signer too: the window accepts out-of-order sequences) and
    // a different interleaving, peer origin and times.
    let mut p2 = pool(small());
    for (i, tx) in txs.iter().rev().enumerate() {
        p2.insert(tx.clone(), Origin::Peer, t(i as u64), &view)
            .unwrap();
    }
    ok(&p1);
    ok(&p2);
    for rotation in 0..4 {
        for txs_max in [1, 7, 20, 1000] {
            let limits = BlockLimits {
                txs_max,
                rotation,
                ..BlockLimits::default()
            };
            let s1 = hashes(&p1.select(&limits, &view));
            assert_eq!(s1, hashes(&p2.select(&limits, &view)));
            assert_eq!(s1.len(), txs_max.min(txs.len()));
        }
    }
    // Rotation changes which agency goes first.
    let first = |r| {
        p1.select(
            &BlockLimits {
                txs_max: 1,
                rotation: r,
                ..BlockLimits::default()
            },
            &view,
        )[0]
        .tx()
        .body
        .signer
    };
    let firsts: BTreeSet<_> = (0..3).map(first).collect();
    assert_eq!(firsts.len(), 3);
}

#[test]
fn gossip_batches_are_bounded_and_skip_peer_and_removed_txs() {
    let mut view = View::default();
    let a = key(1, 0);
    let b = key(2, 0);
    view.add(&a, "a");
    view.add(&b, "b");
    let mut p = pool(MempoolConfig {
        gossip_batch_txs_max: 4,
        ..small()
    });
    for seq in 0..10 {
        p.insert(tx(&a, seq), Origin::Local, t(0), &view).unwrap();
        p.insert(tx(&b, seq), Origin::Peer, t(0), &view).unwrap();
    }
    view.commit(&[tx(&a, 0), tx(&a, 1)]);
    p.on_committed(&[tx(&a, 0), tx(&a, 1)], &view);
    let mut cursor = GossipCursor::default();
    let mut got = Vec::new();
    let mut rounds = 0;
    loop {
        let batch = p.pending_since(cursor, 100);
        assert!(batch.txs.len() <= 4);
        if batch.txs.is_empty() {
            assert_eq!(batch.next, cursor);
            break;
        }
        got.extend(batch.txs.iter().map(|v| v.tx().body.seq.0));
        assert!(batch.txs.iter().all(|v| v.tx().body.signer == a.public()));
        cursor = batch.next;
        rounds += 1;
        assert!(rounds < 10);
    }
    assert_eq!(got, (2..10).collect::<Vec<_>>());
    // New admissions appear after the cursor.
    p.insert(tx(&a, 10), Origin::Local, t(0), &view).unwrap();
    let batch = p.pending_since(cursor, 100);
    assert_eq!(hashes(&batch.txs), vec![tx(&a, 10).hash()]);
    // Caller's smaller bound wins.
    assert_eq!(p.pending_since(GossipCursor::default(), 2).txs.len(), 2);
}

#[test]
fn configs_that_cannot_work_are_refused() {
    let bad = [
        MempoolConfig {
            txs_max: 0,
            ..MempoolConfig::default()
        },
        MempoolConfig {
            agency_txs_max: 200_000,
            ..MempoolConfig::default()
        },
        MempoolConfig {
            tx_bytes_max: 1 << 20,
            ..MempoolConfig::default()
        },
        MempoolConfig {
            agency_bytes_max: 10,
            ..MempoolConfig::default()
        },
        MempoolConfig {
            seq_window_max: 0,
            ..MempoolConfig::default()
        },
    ];
    for c in bad {
        assert!(
            chancery_mempool::Mempool::new(CHAIN, c.clone()).is_err(),
            "{c:?}"
        );
    }
    assert!(MempoolConfig::default().validate().is_ok());
}
