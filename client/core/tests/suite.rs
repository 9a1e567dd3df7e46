//! The crypto suite in the genesis (issue 21): how it is encoded, what it does to the
//! chain id, and that a suite this build cannot run yet is refused with a clear error.

mod strategies;

use chancery_core::codec::{self, CodecError};
use chancery_core::domain;
use chancery_core::genesis::Genesis;
use chancery_core::suite::Suite;
use strategies::samples;

fn sm_genesis() -> Genesis {
    Genesis {
        crypto: Suite::Sm2Sm3,
        ..samples::genesis()
    }
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
    // JSON: no `crypto` key for the default suite, so existing files stay as they are.
    let json = serde_json::to_value(&g).unwrap();
    assert!(json.get("crypto").is_none(), "{json}");
}

#[test]
fn an_sm2_sm3_genesis_ends_with_its_code_and_hashes_its_chain_id_with_sm3() {
    let d = codec::encode(&samples::genesis());
    let g = sm_genesis();
    let bytes = codec::encode(&g);
    assert_eq!(bytes.len(), d.len() + 1);
    assert_eq!(&bytes[..d.len()], &d[..], "the suite byte only follows");
    assert_eq!(bytes[d.len()], Suite::Sm2Sm3.code());
    assert_eq!(
        g.chain_id(),
        chancery_core::sm::sm3_tagged(domain::GENESIS_HASH, &bytes)
    );
    assert_ne!(g.chain_id(), samples::genesis().chain_id());
    let json = serde_json::to_value(&g).unwrap();
    assert_eq!(json["crypto"], "sm2-sm3");
}

#[test]
fn an_sm2_sm3_genesis_is_refused_until_the_suite_is_wired() {
    let err = codec::decode::<Genesis>(&codec::encode(&sm_genesis())).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, CodecError::Invalid { .. })
            && text.contains("`crypto`")
            && text.contains("expected ed25519-blake3")
            && text.contains("found sm2-sm3"),
        "{text}"
    );
    // From JSON as well: the suite name parses, the validation refuses it.
    let json = serde_json::to_string(&sm_genesis()).unwrap();
    let g: Genesis = serde_json::from_str(&json).unwrap();
    assert_eq!(g.crypto, Suite::Sm2Sm3);
    assert!(codec::Canonical::validate(&g).is_err());
}

#[test]
fn suite_bytes_that_are_not_canonical_or_unknown_are_refused() {
    let d = codec::encode(&samples::genesis());
    // The default suite's code written out: a second encoding of the same genesis.
    let mut explicit = d.clone();
    explicit.push(Suite::Ed25519Blake3.code());
    let err = codec::decode::<Genesis>(&explicit).unwrap_err();
    assert!(
        matches!(err, CodecError::Malformed { .. })
            && err.to_string().contains("encoded by its absence"),
        "explicit default code: {err}"
    );
    // An unknown code: the error names it and the codes expected.
    let mut unknown = d.clone();
    unknown.push(7);
    let text = codec::decode::<Genesis>(&unknown).unwrap_err().to_string();
    assert!(
        text.contains("code 7") && text.contains("1 (sm2-sm3)"),
        "{text}"
    );
    // Two bytes after the parameters: one is the suite, the other is trailing.
    let mut two = d.clone();
    two.extend([Suite::Sm2Sm3.code(), 0]);
    let err = codec::decode::<Genesis>(&two).unwrap_err();
    assert!(
        matches!(err, CodecError::TrailingBytes { found: 1, .. }),
        "{err}"
    );
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
