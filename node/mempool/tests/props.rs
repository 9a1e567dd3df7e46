//! Random operation sequences never break the pool's invariants.

mod common;

use chancery_core::crypto::SecretKey;
use chancery_core::tx::Transaction;
use chancery_core::{PublicKey, Seq, TxHash};
use chancery_mempool::{
    AdmissionView, AdmitError, BlockLimits, GossipCursor, Mempool, MempoolConfig, Origin,
};
use common::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

const SIGNERS: usize = 6;
const SEQS: u64 = 12;
const VARIANTS: u64 = 2;

/// Signed once for all cases: by signer, seq and variant (the last variant has a bad signature).
struct Fixture {
    keys: Vec<SecretKey>,
    txs: BTreeMap<(usize, u64, u64), Transaction>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let keys: Vec<SecretKey> = (0..SIGNERS)
            .map(|i| key(1 + (i % 3) as u8, i as u16))
            .collect();
        let mut txs = BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            for seq in 0..SEQS {
                for v in 0..VARIANTS {
                    // Sizes vary with the variant and signer, so the byte bound matters.
                    let record = anchor(seq ^ (v << 32), 40 * (i % 3) + 100 * v as usize);
                    txs.insert((i, seq, v), signed(k, seq, record, CHAIN));
                }
                txs.insert((i, seq, VARIANTS), tx_bad_sig(k, seq));
            }
        }
        Fixture { keys, txs }
    })
}

#[derive(Clone, Debug)]
enum Op {
    Insert {
        signer: usize,
        seq: u64,
        variant: u64,
        peer: bool,
    },
    Batch(Vec<(usize, u64, u64)>),
    Select {
        txs_max: usize,
        bytes_max: usize,
        rotation: u64,
    },
    /// Commit a selected block; `foreign` also commits another variant for some signer.
    Commit {
        txs_max: usize,
        foreign: Option<(usize, u64)>,
    },
    Expire {
        advance_ms: u64,
    },
    Revoke {
        signer: usize,
    },
    Gossip {
        txs_max: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let idx = (0..SIGNERS, 0..SEQS, 0..=VARIANTS);
    prop_oneof![
        4 => (0..SIGNERS, 0..SEQS, 0..=VARIANTS, any::<bool>())
            .prop_map(|(signer, seq, variant, peer)| Op::Insert { signer, seq, variant, peer }),
        2 => prop::collection::vec(idx, 0..20).prop_map(Op::Batch),
        2 => (0usize..12, 0usize..3000, 0u64..5)
            .prop_map(|(txs_max, bytes_max, rotation)| Op::Select { txs_max, bytes_max, rotation }),
        2 => (0usize..10, prop::option::of((0..SIGNERS, 0..VARIANTS)))
            .prop_map(|(txs_max, foreign)| Op::Commit { txs_max, foreign }),
        1 => (0u64..800).prop_map(|advance_ms| Op::Expire { advance_ms }),
        1 => (0..SIGNERS * 4).prop_map(|signer| Op::Revoke { signer }),
        1 => (0usize..6).prop_map(|txs_max| Op::Gossip { txs_max }),
    ]
}

fn config() -> MempoolConfig {
    MempoolConfig {
        txs_max: 16,
        bytes_max: 16 * 300,
        per_signer_max: 5,
        agency_txs_max: 10,
        agency_bytes_max: 10 * 300,
        tx_bytes_max: 400,
        seq_window_max: 8,
        ttl_ms: 1000,
        verify_batch_txs_max: 7,
        gossip_batch_txs_max: 4,
        gossip_batch_bytes_max: 1200,
        verified_cache_txs_max: 10,
        verified_cache_bytes_max: 2000,
        gossip_peer_txs: false,
        // Below txs_max, so random operations meet the backlog bound too.
        backlog_txs_min: 6,
        ..MempoolConfig::default()
    }
}

/// Properties of a selection: limits hold, no duplicate, per signer a gap-free run from next_seq,
/// and every selected transaction is pending.
fn check_selection(
    p: &Mempool,
    sel: &[chancery_core::tx::VerifiedTx],
    limits: &BlockLimits,
    view: &View,
) {
    assert!(sel.len() <= limits.txs_max);
    assert!(sel.iter().map(|v| v.bytes().len()).sum::<usize>() <= limits.bytes_max);
    let unique: BTreeSet<TxHash> = sel.iter().map(|v| v.hash()).collect();
    assert_eq!(unique.len(), sel.len(), "duplicate in selection");
    let mut expect: BTreeMap<PublicKey, Seq> = BTreeMap::new();
    for v in sel {
        assert!(p.contains(&v.hash()));
        let b = &v.tx().body;
        let want = expect
            .entry(b.signer)
            .or_insert_with(|| view.next_seq(&b.signer));
        assert_eq!(b.seq, *want, "selection not a gap-free run from next_seq");
        *want = want.next();
    }
}

fn run(ops: Vec<Op>) {
    let f = fixture();
    let mut view = View::default();
    for (i, k) in f.keys.iter().enumerate() {
        view.add(k, &agency(1 + (i % 3) as u8));
    }
    let mut p = pool(config());
    let mut now = 0u64;
    let mut cursor = GossipCursor::default();
    for op in ops {
        match op {
            Op::Insert {
                signer,
                seq,
                variant,
                peer,
            } => {
                let tx = f.txs[&(signer, seq, variant)].clone();
                let hash = tx.hash();
                let before = p.len();
                let origin = if peer { Origin::Peer } else { Origin::Local };
                let signer_key = f.keys[signer].public();
                let highest = (0..SEQS)
                    .rev()
                    .find(|s| (0..=VARIANTS).any(|v| p.contains(&f.txs[&(signer, *s, v)].hash())));
                let fills_gap =
                    seq == view.next_seq(&signer_key).0 || highest.is_some_and(|h| h > seq);
                match p.insert(tx, origin, chancery_core::TimestampMs(now), &view) {
                    Err(AdmitError::Backlog {
                        backlog,
                        backlog_max,
                        ..
                    }) => {
                        assert!(!peer, "a peer's transaction refused by the backlog bound");
                        assert!(!fills_gap, "a gap filler refused by the backlog bound");
                        assert_eq!(backlog, before);
                        assert!(backlog >= backlog_max && backlog_max < 16);
                    }
                    Ok(a) => {
                        assert!(p.contains(&hash));
                        assert_eq!(p.len(), before + 1 - a.evicted.len());
                        assert!(a.evicted.iter().all(|h| !p.contains(h)));
                    }
                    Err(e) => {
                        assert_eq!(p.len(), before, "a refusal changed the pool: {e}");
                    }
                }
                if variant == VARIANTS {
                    assert!(!p.contains(&hash), "bad signature admitted");
                }
            }
            Op::Batch(items) => {
                let txs: Vec<Transaction> = items.iter().map(|k| f.txs[k].clone()).collect();
                let rs = p.insert_batch(txs, Origin::Local, chancery_core::TimestampMs(now), &view);
                assert_eq!(rs.len(), items.len());
                for (k, r) in items.iter().zip(&rs) {
                    if k.2 == VARIANTS {
                        assert!(r.is_err(), "bad signature admitted in a batch");
                    }
                }
            }
            Op::Select {
                txs_max,
                bytes_max,
                rotation,
            } => {
                let limits = BlockLimits {
                    txs_max,
                    bytes_max,
                    rotation,
                };
                let sel = p.select(&limits, &view);
                check_selection(&p, &sel, &limits, &view);
            }
            Op::Commit { txs_max, foreign } => {
                let limits = BlockLimits {
                    txs_max,
                    ..BlockLimits::default()
                };
                let sel = p.select(&limits, &view);
                check_selection(&p, &sel, &limits, &view);
                let mut block: Vec<Transaction> = sel.iter().map(|v| v.tx().clone()).collect();
                if let Some((signer, variant)) = foreign {
                    let key = f.keys[signer].public();
                    let seq = view.next_seq(&key).0
                        + block.iter().filter(|t| t.body.signer == key).count() as u64;
                    if let Some(t) = f.txs.get(&(signer, seq, variant)) {
                        block.push(t.clone());
                    }
                }
                view.commit(&block);
                let sweep = p.on_committed(&block, &view);
                let committed: BTreeSet<TxHash> = sweep.committed.iter().copied().collect();
                assert!(sel.iter().all(|v| committed.contains(&v.hash())));
                for t in &block {
                    assert!(!p.contains(&t.hash()));
                }
            }
            Op::Expire { advance_ms } => {
                now += advance_ms;
                p.evict_expired(chancery_core::TimestampMs(now));
            }
            Op::Revoke { signer } => {
                if signer < SIGNERS {
                    let key = f.keys[signer].public();
                    if let Some(m) = view.members.get_mut(&key) {
                        m.revoked = true;
                    }
                    // The pool learns of it through a committed block naming the key.
                    let admin = key_admin();
                    let r = revoke(&admin, 0, "x", key);
                    p.on_committed(std::slice::from_ref(&r), &view);
                    assert_eq!(p.signer_len(&key), 0);
                }
            }
            Op::Gossip { txs_max } => {
                let batch = p.pending_since(cursor, txs_max);
                assert!(batch.txs.len() <= txs_max.min(4));
                assert!(batch.next >= cursor);
                let mut seen = BTreeSet::new();
                for v in &batch.txs {
                    assert!(p.contains(&v.hash()));
                    assert!(
                        seen.insert(v.hash()),
                        "a transaction twice in one gossip batch"
                    );
                }
                cursor = batch.next;
            }
        }
        ok(&p);
    }
}

fn key_admin() -> SecretKey {
    key(200, 0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn random_operations_keep_the_invariants(ops in prop::collection::vec(op(), 1..80)) {
        run(ops);
    }
}
