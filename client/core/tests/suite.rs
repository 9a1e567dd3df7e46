//! The crypto suite in the genesis (issue 21): how it is encoded, what it does to the
//! chain id, keys of each suite decoded with the chain's suite, and that a suite this build
//! cannot run yet is refused with a clear error.
// Tests decode in the default suite.
#![allow(clippy::disallowed_methods)]

mod strategies;

use chancery_core::codec::{self, CodecError};
use chancery_core::crypto::SecretKey;
use chancery_core::domain;
use chancery_core::genesis::Genesis;
use chancery_core::suite::Suite;
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::{PublicKey, Seq};
use strategies::samples;

/// An SM2 key for a placeholder: the key of the SM2 secret `[i + 1; 32]`.
fn sm2_key(i: usize) -> PublicKey {
    SecretKey::from_secret(Suite::Sm2Sm3, [(i as u8).wrapping_add(1); 32])
        .unwrap()
        .public()
}

/// The sample genesis as an `sm2-sm3` chain: every signer key an SM2 key (network keys
/// stay Ed25519).
fn sm_genesis() -> Genesis {
    let mut g = samples::genesis();
    g.crypto = Suite::Sm2Sm3;
    let mut i = 0;
    let mut next = || {
        i += 1;
        sm2_key(i)
    };
    for a in &mut g.agencies {
        for k in &mut a.admin_keys {
            *k = next();
        }
    }
    for m in &mut g.members {
        m.key = next();
    }
    for v in &mut g.validators.validators {
        v.consensus_key = next();
    }
    g
}

#[test]
fn a_default_genesis_encodes_without_a_suite_byte_and_keeps_its_chain_id() {
    let g = samples::genesis();
    assert_eq!(g.crypto, Suite::Ed25519Blake3);
    let bytes = codec::encode(&g);
    // The chain id is BLAKE3 under the genesis tag over exactly these bytes (the pinned
    // fixture, tests/fixtures/genesis.json, holds both and fails on any change).
    assert_eq!(g.chain_id(), domain::GENESIS_HASH.hash(&bytes));
    let back: Genesis = codec::decode(&bytes).expect("decodes");
    assert_eq!(back, g);
    // A genesis names its own suite: decoding it under either context gives the same.
    let back: Genesis = codec::decode_in(Suite::Sm2Sm3, &bytes).expect("decodes");
    assert_eq!(back, g);
    // JSON: no `crypto` key for the default suite, so existing files stay as they are.
    let json = serde_json::to_value(&g).unwrap();
    assert!(json.get("crypto").is_none(), "{json}");
}

#[test]
fn an_sm2_sm3_genesis_opens_with_its_suite_and_hashes_its_chain_id_with_sm3() {
    let g = sm_genesis();
    let bytes = codec::encode(&g);
    // Version byte, the marker, the code: before any key, whose length depends on it.
    assert_eq!(bytes[1], chancery_core::genesis::SUITE_MARKER);
    assert_eq!(bytes[2], Suite::Sm2Sm3.code());
    // A default genesis opens with its chain name's length, never the marker.
    assert_eq!(
        codec::encode(&samples::genesis())[1] as usize,
        g.chain_name.len()
    );
    assert_eq!(
        g.chain_id(),
        chancery_core::sm::sm3_tagged(domain::GENESIS_HASH, &bytes)
    );
    assert_ne!(g.chain_id(), samples::genesis().chain_id());
    let json = serde_json::to_value(&g).unwrap();
    assert_eq!(json["crypto"], "sm2-sm3");
    // Its SM2 keys are 65 bytes each, read back as such from JSON.
    let back: Genesis = serde_json::from_value(json).unwrap();
    assert_eq!(back, g);
}

#[test]
fn an_sm2_sm3_genesis_decodes_under_either_context_and_validates() {
    // The bytes decode (keys of 65 bytes, read with the suite the genesis names, under
    // either context), re-encode canonically and pass validation; `from_bytes` needs no
    // context at all.
    let g = sm_genesis();
    for context in Suite::ALL {
        let back = codec::decode_in::<Genesis>(context, &codec::encode(&g)).expect("decodes");
        assert_eq!(back, g);
    }
    assert_eq!(Genesis::from_bytes(&codec::encode(&g)), Ok(g.clone()));
    // From JSON as well.
    let json = serde_json::to_string(&g).unwrap();
    let back: Genesis = serde_json::from_str(&json).unwrap();
    assert_eq!(back.crypto, Suite::Sm2Sm3);
    assert_eq!(codec::Canonical::validate(&back), Ok(()));
}

#[test]
fn a_genesis_key_of_the_other_suite_is_refused_by_name() {
    // An SM2 member key in a default chain (JSON can say so: the length tells them apart).
    let mut g = samples::genesis();
    g.members[0].key = sm2_key(0);
    let e = codec::Canonical::validate(&g).unwrap_err();
    assert_eq!(e.field, "members[0].key");
    let text = e.to_string();
    assert!(
        text.contains("a ed25519-blake3 key (32 bytes")
            && text.contains("a sm2-sm3 key (65 bytes)"),
        "{text}"
    );
    // An Ed25519 admin key in an SM2 chain: named likewise, before the suite is refused.
    let mut g = sm_genesis();
    g.agencies[0].admin_keys[0] = samples::genesis().agencies[0].admin_keys[0];
    let e = codec::Canonical::validate(&g).unwrap_err();
    assert_eq!(e.field, "agencies[0].admin_keys[0]");
}

#[test]
fn transactions_of_an_sm2_chain_decode_with_its_suite_and_verify_with_sm2() {
    let sk = SecretKey::from_secret(Suite::Sm2Sm3, [5; 32]).unwrap();
    let chain_id = sm_genesis().chain_id();
    let body = TxBody {
        chain_id,
        signer: sk.public(),
        seq: Seq(0),
        record: samples::transaction().body.record,
    };
    let tx = Transaction::sign(body, &sk);
    let bytes = codec::encode(&tx);
    let back: Transaction = codec::decode_in(Suite::Sm2Sm3, &bytes).expect("decodes as sm2-sm3");
    assert_eq!(back, tx);
    assert_eq!(back.body.signer.suite(), Suite::Sm2Sm3);
    back.verify(&chain_id)
        .expect("an SM2 signature by the signer");
    // The same bytes read as a default-suite chain: not this transaction.
    assert!(codec::decode::<Transaction>(&bytes).map_or(true, |t| t != tx));
    // A flipped bit of the signature: refused.
    let mut bad = tx.clone();
    bad.signature.0[10] ^= 1;
    assert!(bad.verify(&chain_id).is_err());
}

#[test]
fn suite_bytes_that_are_not_canonical_or_unknown_are_refused() {
    let d = codec::encode(&samples::genesis());
    let marked = |code: u8| {
        let mut b = vec![d[0], chancery_core::genesis::SUITE_MARKER, code];
        b.extend_from_slice(&d[1..]);
        b
    };
    // The default suite's code written out: a second encoding of the same genesis.
    let err = codec::decode::<Genesis>(&marked(Suite::Ed25519Blake3.code())).unwrap_err();
    assert!(
        matches!(err, CodecError::Malformed { .. })
            && err.to_string().contains("encoded by its absence"),
        "explicit default code: {err}"
    );
    // An unknown code: the error names it and the codes expected.
    let text = codec::decode::<Genesis>(&marked(7))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("code 7") && text.contains("1 (sm2-sm3)"),
        "{text}"
    );
    // A byte after the parameters other than the limit standards' marker: trailing, as
    // before suites existed.
    let mut trailing = d.clone();
    trailing.push(chancery_core::genesis::LIMITS_MARKER + 1);
    let err = codec::decode::<Genesis>(&trailing).unwrap_err();
    assert!(
        matches!(err, CodecError::TrailingBytes { found: 1, .. }),
        "{err}"
    );
    // The marker opens the standards, here cut short; an empty list written out is a
    // second encoding of "no standards" and refused by name.
    let mut cut = d.clone();
    cut.push(chancery_core::genesis::LIMITS_MARKER);
    assert!(matches!(
        codec::decode::<Genesis>(&cut).unwrap_err(),
        CodecError::Malformed { .. }
    ));
    cut.extend_from_slice(&chancery_core::encode(&0u64)[1..]);
    let err = codec::decode::<Genesis>(&cut).unwrap_err();
    assert!(err.to_string().contains("encoded by its absence"), "{err}");
    // JSON with a suite name that does not exist: serde names the accepted ones.
    let mut json = serde_json::to_value(samples::genesis()).unwrap();
    json["crypto"] = "sm2".into();
    let text = serde_json::from_value::<Genesis>(json)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("sm2") && text.contains("ed25519-blake3") && text.contains("sm2-sm3"),
        "{text}"
    );
}

#[test]
fn the_log_tree_of_each_suite() {
    use chancery_core::merkle::{self, Blake3Hasher, MerkleHasher, SuiteLogHasher};
    let leaves: Vec<Vec<u8>> = (0..7u8).map(|i| vec![i; usize::from(i) * 3]).collect();
    // The default suite's log tree is the ledger's, unchanged.
    let d = SuiteLogHasher(Suite::Ed25519Blake3);
    let sm = SuiteLogHasher(Suite::Sm2Sm3);
    let hashes = |h: &SuiteLogHasher| -> Vec<chancery_core::Digest> {
        leaves.iter().map(|l| h.hash_leaf(l)).collect()
    };
    let (dh, sh) = (hashes(&d), hashes(&sm));
    assert_eq!(
        dh,
        leaves
            .iter()
            .map(|l| Blake3Hasher.hash_leaf(l))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        merkle::root_with(&d, &dh),
        merkle::root_with(&Blake3Hasher, &dh)
    );
    // The SM3 tree, built from its definition with plain SM3.
    let plain = |tag: &str, body: &[u8]| {
        let mut m = tag.as_bytes().to_vec();
        m.push(0);
        m.extend_from_slice(body);
        chancery_core::Digest(chancery_core::sm::sm3(&m))
    };
    assert_eq!(sh[3], plain("chancery/v1/hash/log-leaf", &leaves[3]));
    let node = sm.hash_node(&sh[0], &sh[1]);
    assert_eq!(
        node,
        plain("chancery/v1/hash/log-node", &[sh[0].0, sh[1].0].concat())
    );
    assert_eq!(sm.empty_root(), plain("chancery/v1/hash/log-node", b""));
    assert_eq!(merkle::root_with(&sm, &sh[..2]), node);
    // Proofs: made and checked in the SM3 tree; refused under the other suite's hasher.
    let root = merkle::root_with(&sm, &sh);
    for i in 0..sh.len() as u64 {
        let proof = merkle::inclusion_proof_with(&sm, &sh, i).unwrap();
        merkle::verify_inclusion_with(&sm, i, 7, &sh[i as usize], &proof, &root).unwrap();
        assert!(merkle::verify_inclusion_with(&d, i, 7, &sh[i as usize], &proof, &root).is_err());
    }
    let c = merkle::consistency_proof_with(&sm, &sh, 3).unwrap();
    merkle::verify_consistency_with(&sm, 3, 7, &c, &merkle::root_with(&sm, &sh[..3]), &root)
        .unwrap();
    assert_ne!(root, merkle::root_with(&d, &dh));
}

/// `r` with every signer key in it replaced by an SM2 key (network keys stay Ed25519).
fn with_sm2_keys(r: chancery_core::record::Record, i: &mut usize) -> chancery_core::record::Record {
    use chancery_core::governance::Change;
    use chancery_core::record::Record;
    let mut next = || {
        *i += 1;
        sm2_key(100 + *i)
    };
    match r {
        Record::RegisterMember(mut m) => {
            m.key = next();
            Record::RegisterMember(m)
        }
        Record::RevokeMember(mut m) => {
            m.key = next();
            Record::RevokeMember(m)
        }
        Record::ProposeChange(mut p) => {
            for c in &mut p.changes {
                match c {
                    Change::AddAgency { admin_keys, .. }
                    | Change::SetAdminKeys { admin_keys, .. } => {
                        for k in admin_keys.iter_mut() {
                            *k = next();
                        }
                    }
                    Change::AddValidator { consensus_key, .. } => *consensus_key = next(),
                    Change::RotateValidatorKeys {
                        consensus_key: Some(k),
                        ..
                    } => *k = next(),
                    _ => {}
                }
            }
            Record::ProposeChange(p)
        }
        other => other,
    }
}

/// Every record kind, signed by SM2 keys and carrying SM2 keys, in one block: its bytes
/// decode with the `sm2-sm3` suite to the same block, every signature verifies, and the
/// encoding is the default one but for the keys (65 bytes each instead of 32).
#[test]
fn a_block_of_every_record_kind_round_trips_in_an_sm2_chain() {
    use chancery_core::block::{txs_hash, Block};
    let chain_id = sm_genesis().chain_id();
    let mut i = 0;
    let mut keys_in_records = 0;
    let txs: Vec<Transaction> = samples::records()
        .into_iter()
        .enumerate()
        .map(|(n, r)| {
            let before = i;
            let record = with_sm2_keys(r, &mut i);
            keys_in_records += i - before;
            let sk = SecretKey::from_secret(Suite::Sm2Sm3, [n as u8 + 30; 32]).unwrap();
            let body = TxBody {
                chain_id,
                signer: sk.public(),
                seq: Seq(n as u64),
                record,
            };
            Transaction::sign(body, &sk)
        })
        .collect();
    assert!(keys_in_records >= 5, "the sample records hold keys");
    let mut header = samples::block_header();
    header.tx_count = txs.len() as u32;
    header.txs_hash = txs_hash(Suite::Sm2Sm3, txs.iter().map(Transaction::hash));
    let block = Block { header, txs };
    let bytes = codec::encode(&block);
    let back: Block = codec::decode_in(Suite::Sm2Sm3, &bytes).expect("an sm2-sm3 block");
    assert_eq!(back, block);
    for tx in back.txs {
        tx.verify(&chain_id).expect("an SM2 signature");
    }
    // Read as a default-suite chain, the same bytes are not this block.
    assert!(codec::decode::<Block>(&bytes).map_or(true, |b| b != block));
    // Its id and its transactions' hash are SM3 under their tags.
    assert_eq!(
        block.header.hash(Suite::Sm2Sm3),
        chancery_core::sm::sm3_tagged(domain::BLOCK_HASH, &codec::encode(&block.header))
    );
    assert_ne!(
        block.header.hash(Suite::Sm2Sm3),
        block.header.hash(Suite::Ed25519Blake3)
    );
    // A header whose txs_hash was taken with the other suite is refused, named.
    let mut wrong = block.clone();
    wrong.header.txs_hash = txs_hash(
        Suite::Ed25519Blake3,
        wrong.txs.iter().map(Transaction::hash),
    );
    let e = codec::Canonical::validate_in(&wrong, Suite::Sm2Sm3).unwrap_err();
    assert_eq!(e.field, "header.txs_hash");
    // A default-suite block cannot carry an SM2 signer: refused, named.
    let e = codec::Canonical::validate_in(&block, Suite::Ed25519Blake3).unwrap_err();
    assert_eq!(e.field, "txs[0].body.signer");
}

/// A transaction's id and a validator set's hash are taken with their keys' suite, which
/// is the chain's: SM3 in an `sm2-sm3` chain, BLAKE3 (unchanged) in the default one.
#[test]
fn transaction_ids_and_validator_set_hashes_use_their_keys_suite() {
    let d = samples::transaction();
    assert_eq!(d.hash(), domain::TX_HASH.hash(&codec::encode(&d)));
    let sk = SecretKey::from_secret(Suite::Sm2Sm3, [6; 32]).unwrap();
    let body = TxBody {
        signer: sk.public(),
        ..d.body.clone()
    };
    let tx = Transaction::sign(body, &sk);
    let want = chancery_core::sm::sm3_tagged(domain::TX_HASH, &codec::encode(&tx));
    assert_eq!(tx.hash(), want);
    let verified = tx.clone().verify(&tx.body.chain_id).unwrap();
    assert_eq!(
        verified.hash(),
        want,
        "a verified transaction keeps the same id"
    );

    let g = sm_genesis();
    let set = &g.validators;
    assert_eq!(set.suite(), Suite::Sm2Sm3);
    assert_eq!(
        set.hash(),
        chancery_core::sm::sm3_tagged(domain::VALIDATOR_SET_HASH, &codec::encode(set))
    );
    let dset = samples::genesis().validators;
    assert_eq!(
        dset.hash(),
        domain::VALIDATOR_SET_HASH.hash(&codec::encode(&dset))
    );
    // A set mixing suites has no one hash: refused, naming the key.
    let mut mixed = set.clone();
    mixed.validators[1].consensus_key = dset.validators[0].consensus_key;
    let e = codec::Canonical::validate(&mixed).unwrap_err();
    assert_eq!(e.field, "validators[1].consensus_key");
}

/// The state tree of an `sm2-sm3` chain hashes keys, values, leaves and nodes with SM3: a
/// proof verifies against its root with that suite, and not with the default one.
#[test]
fn state_proofs_verify_with_the_chains_suite_only() {
    use chancery_core::state::{
        leaf_hash, node_hash, verify_state_proof, ProofEnd, StateKey, StateProof, StateValue,
    };
    let key = StateKey::Seq(sm2_key(1));
    let value = StateValue::Seq(Seq(7));
    let s = Suite::Sm2Sm3;
    let first_bit = |d: &chancery_core::Digest| d.0[0] & 0x80 != 0;
    let (kh, vh) = (key.hash(s), value.hash(s));
    // A second key on the other side of the root.
    let other = (2..)
        .map(|i| StateKey::Seq(sm2_key(i)))
        .find(|k| first_bit(&k.hash(s)) != first_bit(&kh))
        .unwrap();
    assert_eq!(
        kh,
        chancery_core::sm::sm3_tagged(domain::STATE_KEY, &codec::encode(&key))
    );
    // Two leaves under one root; which side each is on follows the first bit.
    let (ok, ov) = (other.hash(s), StateValue::Seq(Seq(1)).hash(s));
    let (la, lb) = (leaf_hash(s, &kh, &vh), leaf_hash(s, &ok, &ov));
    let root = if first_bit(&kh) {
        node_hash(s, &lb, &la)
    } else {
        node_hash(s, &la, &lb)
    };
    let proof = StateProof {
        key: key.clone(),
        value: Some(value.clone()),
        siblings: vec![lb],
        end: ProofEnd::Value,
    };
    assert_eq!(verify_state_proof(s, &root, &proof), Ok(Some(value)));
    assert!(verify_state_proof(Suite::Ed25519Blake3, &root, &proof).is_err());
}

/// The ledger's log tree in an `sm2-sm3` chain is SM3 under the log's tags: its root and
/// proofs verify with that suite, not with the default one.
#[test]
fn log_proofs_verify_with_the_chains_suite_only() {
    use chancery_core::merkle::{self, inclusion_proof_with, SuiteLogHasher};
    let s = Suite::Sm2Sm3;
    let leaves: Vec<_> = (0u32..13)
        .map(|i| merkle::leaf_hash(s, &i.to_be_bytes()))
        .collect();
    assert_eq!(
        leaves[0],
        chancery_core::sm::sm3_tagged(domain::LOG_LEAF, &0u32.to_be_bytes())
    );
    let root = merkle::root(s, &leaves);
    assert_ne!(root, merkle::root(Suite::Ed25519Blake3, &leaves));
    let proof = inclusion_proof_with(&SuiteLogHasher(s), &leaves, 5).unwrap();
    assert_eq!(
        merkle::verify_inclusion(s, 5, 13, &leaves[5], &proof, &root),
        Ok(())
    );
    assert!(
        merkle::verify_inclusion(Suite::Ed25519Blake3, 5, 13, &leaves[5], &proof, &root).is_err()
    );
    assert_eq!(
        merkle::empty_root(s),
        chancery_core::sm::sm3_tagged(domain::LOG_NODE, b"")
    );
}

/// A sealed field of an `sm2-sm3` chain commits with SM3: it opens with the same suite only.
#[test]
fn sealed_fields_commit_with_the_chains_suite() {
    use chancery_core::record::Restricted;
    let salt = [3u8; 32];
    let value = "办公楼 3 层".to_string();
    let sealed = Restricted::seal(Suite::Sm2Sm3, &salt, &value);
    let mut input = salt.to_vec();
    input.extend(codec::encode(&value));
    assert_eq!(
        sealed,
        Restricted::Sealed(chancery_core::sm::sm3_tagged(
            domain::RESTRICTED_FIELD,
            &input
        ))
    );
    assert!(sealed.opens_to(Suite::Sm2Sm3, &salt, &value));
    assert!(!sealed.opens_to(Suite::Ed25519Blake3, &salt, &value));
    assert!(!sealed.opens_to(Suite::Sm2Sm3, &[4; 32], &value));
}
