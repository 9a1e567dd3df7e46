//! Admission, bounds, selection, fairness, eviction, gossip and determinism.

mod common;

use chancery_core::record::{RecordKind, Role};
use chancery_core::tx::Transaction;
use chancery_core::{AgencyId, Digest, Seq, TxHash};
use chancery_mempool::{
    AdmitError, BlockLimits, GossipCursor, MempoolConfig, Origin, PoolLimit, Verdicts,
};
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

    // With deferred verdicts, what passes every other check comes back unchecked.
    let mut q = pool(small());
    let r = q.insert_batch_with(
        vec![tx(&b, 0)],
        Verdicts::deferred(),
        Origin::Local,
        now,
        &view,
    );
    let e = r[0].clone().unwrap_err();
    assert_eq!(
        e,
        AdmitError::Unverified {
            hash: tx(&b, 0).hash(),
            backlog_max: 100
        }
    );
    seen.insert(e.code());

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
    // The backlog bound off (at txs_max): 10,000 at once on a quiet chain is past its floor.
    let mut p = pool(MempoolConfig {
        backlog_txs_min: MempoolConfig::default().txs_max,
        ..MempoolConfig::default()
    });
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
fn regossip_batches_hold_only_transactions_admitted_by_the_cutoff() {
    let mut view = View::default();
    let a = key(1, 0);
    let b = key(2, 0);
    view.add(&a, "a");
    view.add(&b, "b");
    let mut p = pool(small());
    // Admitted at 0, 1000, 2000, ... ms; b's are a peer's and never gossiped by us.
    for seq in 0..6 {
        p.insert(tx(&a, seq), Origin::Local, t(seq * 1000), &view)
            .unwrap();
        p.insert(tx(&b, seq), Origin::Peer, t(seq * 1000), &view)
            .unwrap();
    }
    let seqs = |batch: &chancery_mempool::GossipBatch| -> Vec<u64> {
        batch.txs.iter().map(|v| v.tx().body.seq.0).collect()
    };
    let start = GossipCursor::default();
    // Cut-off 2500 ms: seqs 0, 1, 2; the batch ends at the first younger one.
    let batch = p.pending_admitted_by(start, t(2500), 100);
    assert_eq!(seqs(&batch), vec![0, 1, 2]);
    assert!(batch.txs.iter().all(|v| v.tx().body.signer == a.public()));
    // From its cursor, nothing more is old enough yet; later it is.
    assert!(p
        .pending_admitted_by(batch.next, t(2500), 100)
        .txs
        .is_empty());
    assert_eq!(
        seqs(&p.pending_admitted_by(batch.next, t(4000), 100)),
        vec![3, 4]
    );
    // Bounded by the caller; a committed transaction is not sent again.
    assert_eq!(seqs(&p.pending_admitted_by(start, t(9000), 2)), vec![0, 1]);
    view.commit(&[tx(&a, 0)]);
    p.on_committed(&[tx(&a, 0)], &view);
    assert_eq!(seqs(&p.pending_admitted_by(start, t(1000), 100)), vec![1]);
    // A cut-off before everything gives nothing.
    assert!(p.pending_admitted_by(start, t(0), 100).txs.is_empty());
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
        MempoolConfig {
            backlog_drain_ms: 0,
            ..MempoolConfig::default()
        },
        MempoolConfig {
            backlog_txs_min: 0,
            ..MempoolConfig::default()
        },
        MempoolConfig {
            backlog_rate_window_ms: chancery_mempool::BACKLOG_RATE_WINDOW_MS_MAX + 1,
            ..MempoolConfig::default()
        },
        MempoolConfig {
            retry_after_s_min: 0,
            ..MempoolConfig::default()
        },
        MempoolConfig {
            retry_after_s_min: 10,
            retry_after_s_max: 9,
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

// ---------------------------------------------------------------------- backlog (issue 17)

/// A pool whose backlog bound is 4 transactions until a rate is measured (the floor; the
/// assumed rate is then 4 transactions in 3 s).
fn bounded() -> MempoolConfig {
    MempoolConfig {
        backlog_txs_min: 4,
        backlog_drain_ms: 3_000,
        ..small()
    }
}

fn backlog(backlog: usize, backlog_max: usize, retry_after_s: u64) -> AdmitError {
    AdmitError::Backlog {
        backlog,
        backlog_max,
        retry_after_s,
    }
}

/// Over the bound, a client's transaction that extends its signer's tail is refused with
/// `pool_full` and a time to retry, before any signature check; a peer's is admitted; an
/// agency below its share of the bound is still admitted.
#[test]
fn over_the_backlog_bound_a_tail_extension_is_refused_with_a_retry_hint() {
    let mut view = View::default();
    let a = key(1, 0);
    let b = key(2, 0);
    view.add(&a, "a");
    view.add(&b, "b");
    let mut p = pool(bounded());
    let now = t(0);
    assert_eq!(p.backlog_max(), 4);
    for seq in 0..4 {
        p.insert(tx(&a, seq), Origin::Local, now, &view).unwrap();
    }
    // 4 pending, bound 4: one over it drains in 3/4 s at 4 per 3 s, rounded up to 1 s.
    let e = p.insert(tx(&a, 4), Origin::Local, now, &view).unwrap_err();
    assert_eq!(e, backlog(4, 4, 1));
    assert_eq!(e.code(), "pool_full");
    assert_eq!(e.retry_after_s(), Some(1));
    assert!(e.to_string().contains("backlog_max = 4"), "{e}");
    // The batch path refuses the same way, and checks no signature for it (a bad one
    // is not even looked at).
    let checked = p.signatures_checked();
    let r = p.insert_batch(
        vec![tx(&a, 4), tx_bad_sig(&a, 5)],
        Origin::Local,
        now,
        &view,
    );
    assert_eq!(r, vec![Err(backlog(4, 4, 1)), Err(backlog(4, 4, 1))]);
    assert_eq!(
        p.signatures_checked(),
        checked,
        "a refusal cost a signature check"
    );
    // A peer's transaction was admitted by its node: not refused here.
    p.insert(tx(&a, 4), Origin::Peer, now, &view).unwrap();
    // Agency b holds nothing: its share of the bound is 4 / 2 agencies = 2.
    p.insert(tx(&b, 0), Origin::Local, now, &view).unwrap();
    p.insert(tx(&b, 1), Origin::Local, now, &view).unwrap();
    // 7 pending: 4 over the bound, 3 s at 4 per 3 s.
    let e = p.insert(tx(&b, 2), Origin::Local, now, &view).unwrap_err();
    assert_eq!(e, backlog(7, 4, 3));
    assert_eq!(p.len(), 7);
    ok(&p);
}

/// Over the bound, a transaction that fills a gap is admitted: the signer's next sequence
/// on the ledger, or one below a pending transaction of its signer. Then every pending
/// transaction is executable.
#[test]
fn over_the_backlog_bound_a_gap_filler_is_admitted() {
    let mut view = View::default();
    let [a, a2, a3] = [key(1, 0), key(1, 1), key(1, 2)];
    for k in [&a, &a2, &a3] {
        view.add(k, "a");
    }
    view.next.insert(a2.public(), Seq(7));
    let mut p = pool(bounded());
    let now = t(0);
    for t in [tx(&a, 0), tx(&a, 1), tx(&a, 3), tx(&a2, 9)] {
        p.insert(t, Origin::Local, now, &view).unwrap();
    }
    assert_eq!(p.len(), p.backlog_max());
    // a: 2 fills the gap below 3; 4 and 5 would extend the tail.
    p.insert(tx(&a, 2), Origin::Local, now, &view).unwrap();
    for seq in [5, 4] {
        let e = p
            .insert(tx(&a, seq), Origin::Local, now, &view)
            .unwrap_err();
        assert!(matches!(e, AdmitError::Backlog { .. }), "{e}");
    }
    // a2: 7 is its next on the ledger, 8 is below its pending 9, 10 extends the tail.
    let r = p.insert_batch(
        vec![tx(&a2, 7), tx(&a2, 8), tx(&a2, 10)],
        Origin::Local,
        now,
        &view,
    );
    assert!(r[0].is_ok() && r[1].is_ok(), "{r:?}");
    assert!(matches!(r[2], Err(AdmitError::Backlog { .. })), "{r:?}");
    // a3 has nothing pending: its next on the ledger is admitted, its second is not.
    p.insert(tx(&a3, 0), Origin::Local, now, &view).unwrap();
    let e = p.insert(tx(&a3, 1), Origin::Local, now, &view).unwrap_err();
    assert!(matches!(e, AdmitError::Backlog { .. }), "{e}");
    // No gap is left: a block takes everything pending.
    assert_eq!(p.len(), 8);
    assert_eq!(p.select(&BlockLimits::default(), &view).len(), 8);
    ok(&p);
}

/// Under the bound every transaction that passes the pool's own checks is admitted, tail
/// extensions and out-of-order sequences included.
#[test]
fn under_the_backlog_bound_everything_is_admitted() {
    let mut view = View::default();
    let a = key(1, 0);
    view.add(&a, "a");
    let mut p = pool(bounded());
    let now = t(0);
    for seq in [0, 5, 1, 9] {
        assert!(p.len() < p.backlog_max());
        p.insert(tx(&a, seq), Origin::Local, now, &view).unwrap();
    }
    let e = p.insert(tx(&a, 10), Origin::Local, now, &view).unwrap_err();
    assert_eq!(e, backlog(4, 4, 1));
    ok(&p);
}

/// The hint is the time to drain to the bound at the rate, clamped to
/// `retry_after_s_min..=retry_after_s_max`; the greatest when nothing is finalized.
#[test]
fn the_retry_hint_is_clamped() {
    let mut view = View::default();
    let a = key(1, 0);
    view.add(&a, "a");
    let mut p = pool(MempoolConfig {
        retry_after_s_min: 2,
        retry_after_s_max: 30,
        ..bounded()
    });
    let now = t(0);
    let local =
        |p: &mut chancery_mempool::Mempool, seq| p.insert(tx(&a, seq), Origin::Local, now, &view);
    for seq in 0..4 {
        local(&mut p, seq).unwrap();
    }
    // One over: 3/4 s at 4 per 3 s, 1 s rounded up, raised to the least hint.
    assert_eq!(local(&mut p, 4).unwrap_err(), backlog(4, 4, 2));
    // Peers' transactions bring the pool to 12: 9 over, 6.75 s.
    let peer = |p: &mut chancery_mempool::Mempool, seqs: std::ops::Range<u64>| {
        for seq in seqs {
            p.insert(tx(&a, seq), Origin::Peer, now, &view).unwrap();
        }
    };
    peer(&mut p, 4..12);
    assert_eq!(local(&mut p, 12).unwrap_err(), backlog(12, 4, 7));
    // 44: 41 over, 30.75 s, cut to the greatest hint.
    peer(&mut p, 12..44);
    assert_eq!(local(&mut p, 44).unwrap_err(), backlog(44, 4, 30));
    // Two seconds measured with nothing finalized: the greatest hint.
    let later = t(2_000);
    p.evict_expired(t(1_000));
    let e = p
        .insert(tx(&a, 44), Origin::Local, later, &view)
        .unwrap_err();
    assert_eq!(e, backlog(44, 4, 30));
    let e = p
        .insert(tx(&a, 44), Origin::Local, t(2_250), &view)
        .unwrap_err();
    assert_eq!(e, backlog(44, 4, 30));
}

/// The bound is `backlog_drain_ms` of work at the rate finalized over the window, at least
/// the floor, at most `txs_max` (then off); the floor until a rate is measured, and again
/// after a quiet spell; the hint follows the measured rate.
#[test]
fn the_backlog_bound_follows_the_finalized_rate() {
    let mut view = View::default();
    let a = key(1, 0);
    view.add(&a, "a");
    let mut p = pool(MempoolConfig {
        backlog_txs_min: 4,
        backlog_drain_ms: 1_000,
        backlog_rate_window_ms: 10_000,
        ..MempoolConfig::default()
    });
    let one = tx(&a, 0);
    let block = |n: usize| std::iter::repeat_n(&one, n).collect::<Vec<&Transaction>>();
    p.evict_expired(t(0));
    assert_eq!(p.backlog_max(), 4, "no rate yet: the floor");
    p.on_committed(block(3_000), &view);
    p.evict_expired(t(500));
    assert_eq!(p.backlog_max(), 4, "half a second is too short to measure");
    p.evict_expired(t(1_000));
    assert_eq!(p.backlog_max(), 3_000, "3,000 tx/s for 1 s of drain");
    p.on_committed(block(6_000), &view);
    p.evict_expired(t(2_000));
    assert_eq!(p.backlog_max(), 4_500, "9,000 in 2 s");
    // The window slides: from 1 s to 11 s, 6,000 were finalized.
    p.evict_expired(t(11_000));
    assert_eq!(p.backlog_max(), 600);
    // After a quiet spell longer than the window, the floor again.
    p.evict_expired(t(30_000));
    assert_eq!(p.backlog_max(), 4);
    // Never more than the pool's capacity: at txs_max the bound is off.
    p.on_committed(block(1_000_000), &view);
    p.evict_expired(t(31_000));
    assert_eq!(p.backlog_max(), MempoolConfig::default().txs_max);

    // The hint at a measured rate: 8 finalized in 1 s, bound 8; with 24 pending, 17 over
    // take 2.125 s, so 3.
    let mut p = pool(MempoolConfig {
        backlog_txs_min: 4,
        backlog_drain_ms: 1_000,
        ..small()
    });
    p.evict_expired(t(0));
    p.on_committed(block(8), &view);
    for seq in 0..24 {
        let origin = if seq < 8 { Origin::Local } else { Origin::Peer };
        p.insert(tx(&a, seq), origin, t(1_000), &view).unwrap();
    }
    assert_eq!(p.backlog_max(), 8);
    let e = p
        .insert(tx(&a, 24), Origin::Local, t(1_000), &view)
        .unwrap_err();
    assert_eq!(e, backlog(24, 8, 3));
}

/// With deferred verdicts the pool checks no signature: what passes every other check comes
/// back `unverified` and is not admitted; what the bound refuses is refused; a cached
/// verdict is used. Submitted again with verdicts, the unverified ones are admitted (or
/// refused for a bad signature) without a check by the pool.
#[test]
fn deferred_verdicts_check_no_signature_and_admit_only_cached_ones() {
    let mut view = View::default();
    let a = key(1, 0);
    let stranger = key(9, 0);
    view.add(&a, "a");
    let mut p = pool(MempoolConfig {
        ttl_ms: 1_000,
        ..bounded()
    });
    let now = t(0);
    p.insert(tx(&a, 0), Origin::Local, now, &view).unwrap();
    p.insert(tx(&a, 1), Origin::Local, now, &view).unwrap();
    let checked = p.signatures_checked();
    let batch = vec![tx(&a, 2), tx_bad_sig(&a, 3), tx(&a, 1), tx(&stranger, 0)];
    let r = p.insert_batch_with(batch, Verdicts::deferred(), Origin::Local, now, &view);
    let codes: Vec<&str> = r.iter().map(|r| r.as_ref().unwrap_err().code()).collect();
    assert_eq!(
        codes,
        ["unverified", "unverified", "duplicate", "unknown_signer"]
    );
    assert_eq!(
        r[0],
        Err(AdmitError::Unverified {
            hash: tx(&a, 2).hash(),
            backlog_max: 4
        })
    );
    assert_eq!(p.len(), 2);
    assert_eq!(p.signatures_checked(), checked);
    // Checked off the pool and submitted again.
    let again = vec![tx(&a, 2), tx_bad_sig(&a, 3)];
    let verdicts = Verdicts::compute(&CHAIN, &again);
    assert!(!verdicts.is_deferred() && Verdicts::deferred().is_deferred());
    let r = p.insert_batch_with(again, verdicts, Origin::Local, now, &view);
    assert!(r[0].is_ok(), "{r:?}");
    assert_eq!(r[1].as_ref().unwrap_err().code(), "bad_signature");
    assert_eq!(p.signatures_checked(), checked);
    // At the bound (4 pending), a tail extension is refused, not handed back.
    p.insert(tx(&a, 3), Origin::Local, now, &view).unwrap();
    let r = p.insert_batch_with(
        vec![tx(&a, 4)],
        Verdicts::deferred(),
        Origin::Local,
        now,
        &view,
    );
    assert_eq!(r, vec![Err(backlog(4, 4, 1))]);
    // An expired transaction's verdict is cached: admitted at once, unchecked.
    let expired = p.evict_expired(t(1_000));
    assert_eq!(expired.len(), 4);
    let r = p.insert_batch_with(
        vec![tx(&a, 0)],
        Verdicts::deferred(),
        Origin::Local,
        t(1_000),
        &view,
    );
    assert_eq!(r[0].as_ref().map(|x| x.hash), Ok(tx(&a, 0).hash()));
    assert_eq!(
        p.signatures_checked(),
        checked + 1,
        "only a:3, inserted singly, was checked"
    );
    ok(&p);
}

/// A pool on an `sm2-sm3` chain knows its transactions by their ids, which are SM3 there
/// (issue 21): a pool that hashed with BLAKE3 would not find the transaction a client asks
/// about, nor drop it when its block commits.
#[test]
fn transactions_of_an_sm2_chain_are_known_by_their_sm3_ids() {
    use chancery_core::crypto::SecretKey;
    use chancery_core::suite::Suite;
    let mut view = View::default();
    let a = SecretKey::from_secret(Suite::Sm2Sm3, [7; 32]).unwrap();
    view.add(&a, "a");
    let mut p = pool(small());
    let t0 = tx(&a, 0);
    assert_eq!(
        t0.hash(),
        Suite::Sm2Sm3.hash(chancery_core::domain::TX_HASH, &t0.to_bytes())
    );
    p.insert(t0.clone(), Origin::Local, t(100), &view).unwrap();
    assert!(p.contains(&t0.hash()));
    assert!(p.get(&t0.hash()).is_some());
    ok(&p);
}
