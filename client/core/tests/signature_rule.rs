//! One signature acceptance rule on every path (docs/consensus.md, "Signature acceptance
//! rule"): single and batch verification agree on every input, whatever else is in the
//! batch, and finding the bad items of a batch costs linear work (issue 14, findings 2
//! and 5).

use chancery_core::crypto::{self, testing, BatchItem, SecretKey, SignatureError};
use chancery_core::domain::{self, Tag};
use chancery_core::record::{AnchorDocument, DocumentRef, Record, RecordRef};
use chancery_core::tx::{self, Transaction, TxBody};
use chancery_core::{ChainId, Digest, PublicKey, Seq, Signature};

fn key(i: u32) -> SecretKey {
    let mut seed = [0x5au8; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    SecretKey::from_seed(seed)
}

/// A signed message: its signer, the full signed bytes (tag included) and the signature.
struct Signed {
    key: PublicKey,
    message: Vec<u8>,
    signature: Signature,
}

impl Signed {
    fn valid(signer: &SecretKey, tag: Tag, body: &[u8]) -> Signed {
        Signed {
            key: signer.public(),
            message: tag.signing_bytes(body),
            signature: signer.sign(tag, body),
        }
    }

    fn torsioned(signer: &SecretKey, tag: Tag, body: &[u8], order: u8) -> Signed {
        Signed {
            key: signer.public(),
            message: tag.signing_bytes(body),
            signature: testing::sign_torsioned(signer, tag, body, order),
        }
    }

    fn item(&self) -> BatchItem<'_> {
        BatchItem {
            key: self.key,
            message: &self.message,
            signature: self.signature,
        }
    }
}

/// The single-check verdict of every item, through the public single path
/// ([`crypto::verify`], which takes the tag and body apart again).
fn single_verdicts(tag: Tag, signed: &[Signed]) -> Vec<bool> {
    let prefix = tag.signing_bytes(&[]).len();
    signed
        .iter()
        .map(|s| crypto::verify(&s.key, tag, &s.message[prefix..], &s.signature).is_ok())
        .collect()
}

/// The batch verdict must be "all good" exactly when every single check passes, and on
/// failure it must name the first item that fails alone.
fn assert_batch_agrees(tag: Tag, signed: &[Signed], what: &str) {
    let singles = single_verdicts(tag, signed);
    let items: Vec<BatchItem<'_>> = signed.iter().map(Signed::item).collect();
    let batch = crypto::verify_batch(&items);
    match singles.iter().position(|ok| !ok) {
        None => assert_eq!(
            batch,
            Ok(()),
            "{what}: every item passes alone, the batch fails"
        ),
        Some(first) => match batch {
            Err(SignatureError::BatchItem { index, .. }) => assert_eq!(
                index, first,
                "{what}: the batch names item {index}, the first single failure is {first}"
            ),
            other => panic!(
                "{what}: item {first} fails alone, the batch gives {other:?} (singles {singles:?})"
            ),
        },
    }
}

/// A signature whose R has a small-order component is accepted by the cofactored (ZIP-215)
/// equation, alone.
#[test]
fn torsioned_signatures_are_valid_alone() {
    let signer = key(1);
    for order in [1u8, 2, 4, 8] {
        let s = testing::sign_torsioned(&signer, domain::TX_SIGN, b"torsion", order);
        assert_eq!(
            crypto::verify(&signer.public(), domain::TX_SIGN, b"torsion", &s),
            Ok(()),
            "R with a component of order {order}"
        );
        // And it still signs only this message, under this tag and key.
        assert!(crypto::verify(&signer.public(), domain::TX_SIGN, b"torsiom", &s).is_err());
        assert!(crypto::verify(&signer.public(), domain::VOTE_SIGN, b"torsion", &s).is_err());
        assert!(crypto::verify(&key(2).public(), domain::TX_SIGN, b"torsion", &s).is_err());
    }
    // The constructor really adds torsion: RFC 8032 strict (cofactorless) verification,
    // the old single path, accepts order 1 only.
    let vk =
        ed25519_dalek::VerifyingKey::from_bytes(signer.public().as_bytes().try_into().unwrap())
            .unwrap();
    let message = domain::TX_SIGN.signing_bytes(b"torsion");
    for (order, strict_ok) in [(1u8, true), (2, false), (4, false), (8, false)] {
        let s = testing::sign_torsioned(&signer, domain::TX_SIGN, b"torsion", order);
        let s = ed25519_dalek::Signature::from_bytes(&s.0);
        assert_eq!(
            vk.verify_strict(&message, &s).is_ok(),
            strict_ok,
            "order {order} under strict verification"
        );
    }
}

/// Finding 2: one torsioned signature among valid ones, at several positions in batches
/// of 1..=64 items. Single and batch verification must give the same verdict whatever
/// the rest of the batch is.
#[test]
fn torsioned_signature_single_equals_batch_in_mixed_batches() {
    let signers: Vec<SecretKey> = (0..8).map(key).collect();
    for order in [2u8, 4, 8] {
        for len in 1..=64usize {
            let mut positions = vec![0, len / 3, len / 2, len - 1];
            positions.dedup();
            for &at in &positions {
                let signed: Vec<Signed> = (0..len)
                    .map(|i| {
                        let body = format!("order {order} len {len} at {at} item {i}");
                        let signer = &signers[i % signers.len()];
                        if i == at {
                            Signed::torsioned(signer, domain::TX_SIGN, body.as_bytes(), order)
                        } else {
                            Signed::valid(signer, domain::TX_SIGN, body.as_bytes())
                        }
                    })
                    .collect();
                assert_batch_agrees(
                    domain::TX_SIGN,
                    &signed,
                    &format!("order {order}, batch of {len}, torsioned item at {at}"),
                );
            }
        }
    }
}

fn junk_transactions(chain_id: ChainId, n: usize) -> Vec<Transaction> {
    let member = key(7);
    (0..n)
        .map(|i| {
            let body = TxBody {
                chain_id,
                signer: member.public(),
                seq: Seq(i as u64 + 1),
                record: Record::AnchorDocument(AnchorDocument {
                    document: DocumentRef {
                        hash: Digest([(i % 251) as u8; 32]),
                        kind: "approval".into(),
                        title: format!("junk {i}"),
                        url: String::new(),
                    },
                    supports: RecordRef::None,
                }),
            };
            let mut tx = Transaction::sign(body, &member);
            // A well-formed but wrong signature: S changed (still canonical).
            tx.signature.0[40] ^= 0x01;
            tx
        })
        .collect()
}

/// Finding 5: an all-bad batch of 1,024 transactions (one `POST
/// /v1/transactions/batch`) costs O(n) signature checks, not O(n^2).
#[test]
fn all_bad_batch_of_1024_costs_linear_work() {
    let chain_id: ChainId = Digest([3u8; 32]);
    let n = 1024;
    let txs = junk_transactions(chain_id, n);
    let before = testing::work();
    let results = tx::verify_batch(&chain_id, txs);
    let work = testing::work() - before;
    eprintln!("{work} signature checks for {n} bad signatures");
    assert_eq!(results.len(), n);
    assert!(
        results.iter().all(Result::is_err),
        "every junk signature refused"
    );
    assert!(
        work <= 12 * n as u64,
        "{work} signature checks for {n} bad signatures (bound {})",
        12 * n
    );
}

/// One ed25519-speccheck case (tests/conformance/ed25519-speccheck/cases.json).
#[derive(serde::Deserialize)]
struct Case {
    message: String,
    pub_key: String,
    signature: String,
}

struct Vector {
    key: PublicKey,
    message: Vec<u8>,
    signature: Signature,
}

/// The vendored vectors. Panics (fails the test) if the file is missing or malformed.
fn speccheck_vectors() -> Vec<Vector> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/ed25519-speccheck/cases.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the vendored vectors {} must exist: {e}", path.display()));
    let cases: Vec<Case> = serde_json::from_str(&text).expect("cases.json parses");
    cases
        .into_iter()
        .map(|c| Vector {
            key: PublicKey::Ed25519(hex::decode(&c.pub_key).unwrap().try_into().unwrap()),
            message: hex::decode(&c.message).unwrap(),
            signature: Signature(hex::decode(&c.signature).unwrap().try_into().unwrap()),
        })
        .collect()
}

/// Chancery's expected verdict for each speccheck case: ZIP-215 ("Zebra" row of the
/// speccheck README) with small-order keys refused (cases 0, 1, 10, 11); see
/// tests/conformance/ed25519-speccheck/README.md.
const SPECCHECK_EXPECTED: [bool; 12] = [
    false, false, true, true, true, true, false, false, false, true, false, false,
];

/// Finding 2, edge cases of "Taming the many EdDSAs": the single verdict matches the rule,
/// and a batch gives the same verdict, alone and mixed into valid signatures at several
/// positions.
#[test]
fn speccheck_vectors_single_and_batch_agree_with_the_rule() {
    let vectors = speccheck_vectors();
    assert_eq!(
        vectors.len(),
        SPECCHECK_EXPECTED.len(),
        "12 speccheck cases"
    );
    let signer = key(9);
    let valid: Vec<Signed> = (0..16)
        .map(|i| Signed::valid(&signer, domain::TX_SIGN, format!("filler {i}").as_bytes()))
        .collect();
    for (case, (v, expected)) in vectors.iter().zip(SPECCHECK_EXPECTED).enumerate() {
        let item = BatchItem {
            key: v.key,
            message: &v.message,
            signature: v.signature,
        };
        let single = crypto::verify_item(&item).is_ok();
        assert_eq!(single, expected, "case {case}: single verdict");
        assert_eq!(
            crypto::verify_batch(std::slice::from_ref(&item)).is_ok(),
            expected,
            "case {case}: batch of one"
        );
        for len in [2usize, 5, 16] {
            for at in [0, len / 2, len - 1] {
                let mut items: Vec<BatchItem<'_>> =
                    valid[..len - 1].iter().map(Signed::item).collect();
                items.insert(at, item.clone());
                let mut cache = crypto::KeyCache::new(8);
                let bad = crypto::bad_items(&items, &mut cache);
                let want: Vec<usize> = if expected { vec![] } else { vec![at] };
                assert_eq!(bad, want, "case {case}: batch of {len}, vector at {at}");
                assert_eq!(
                    crypto::verify_batch(&items).is_ok(),
                    expected,
                    "case {case}: verify_batch of {len}, vector at {at}"
                );
            }
        }
    }
}

/// Several torsioned signatures (every order) and several bad ones, by signers that also
/// sign valid messages: `bad_items` names exactly the bad ones, whatever the batch size.
#[test]
fn torsioned_and_bad_signatures_mixed() {
    let signers: Vec<SecretKey> = (0..5).map(key).collect();
    for len in 1..=64usize {
        let mut expected = Vec::new();
        let signed: Vec<Signed> = (0..len)
            .map(|i| {
                let body = format!("len {len} item {i}");
                let signer = &signers[i % signers.len()];
                match i % 7 {
                    1 => Signed::torsioned(signer, domain::VOTE_SIGN, body.as_bytes(), 2),
                    3 => Signed::torsioned(signer, domain::VOTE_SIGN, body.as_bytes(), 8),
                    5 if i % 2 == 1 => {
                        expected.push(i);
                        let mut s =
                            Signed::torsioned(signer, domain::VOTE_SIGN, body.as_bytes(), 4);
                        s.message.push(0); // signs another message
                        s
                    }
                    _ => Signed::valid(signer, domain::VOTE_SIGN, body.as_bytes()),
                }
            })
            .collect();
        let items: Vec<BatchItem<'_>> = signed.iter().map(Signed::item).collect();
        let singles: Vec<usize> = (0..len)
            .filter(|&i| crypto::verify_item(&items[i]).is_err())
            .collect();
        assert_eq!(singles, expected, "batch of {len}: single verdicts");
        assert_eq!(
            crypto::bad_items(&items, &mut crypto::KeyCache::new(16)),
            expected,
            "batch of {len}: bad_items"
        );
    }
}

/// A single bad item in a large batch costs a few batch terms per item, not one check per
/// item; an all-good batch costs exactly one batch equation.
#[test]
fn bad_items_work_is_linear_for_one_bad_and_minimal_for_none() {
    let signers: Vec<SecretKey> = (0..16).map(key).collect();
    let n = 1024usize;
    let mut signed: Vec<Signed> = (0..n)
        .map(|i| Signed::valid(&signers[i % 16], domain::TX_SIGN, &(i as u64).to_le_bytes()))
        .collect();
    let mut cache = crypto::KeyCache::new(64);
    let items: Vec<BatchItem<'_>> = signed.iter().map(Signed::item).collect();
    let before = testing::work();
    assert!(crypto::bad_items(&items, &mut cache).is_empty());
    assert_eq!(
        testing::work() - before,
        n as u64,
        "all good: one batch equation"
    );
    signed[700].signature.0[33] ^= 0x10;
    let items: Vec<BatchItem<'_>> = signed.iter().map(Signed::item).collect();
    let before = testing::work();
    assert_eq!(crypto::bad_items(&items, &mut cache), vec![700]);
    let work = testing::work() - before;
    assert!(
        work <= 3 * n as u64,
        "one bad item among {n}: {work} checks"
    );
}

/// A bad key is a bad item, on the single and the batch path alike, and never cached.
#[test]
fn bad_keys_are_bad_items() {
    let signer = key(4);
    let signed: Vec<Signed> = (0..6)
        .map(|i| Signed::valid(&signer, domain::TX_SIGN, &[i]))
        .collect();
    let mut items: Vec<BatchItem<'_>> = signed.iter().map(Signed::item).collect();
    items[1].key = PublicKey::Ed25519([0u8; 32]); // small order
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2; // y = 2 is not on the curve
    items[4].key = PublicKey::Ed25519(not_a_point);
    for i in [1, 4] {
        assert!(matches!(
            crypto::verify_item(&items[i]),
            Err(SignatureError::BatchItem { index: 0, .. })
        ));
        assert!(items[i].key.check().is_err());
    }
    let mut cache = crypto::KeyCache::new(8);
    assert_eq!(crypto::bad_items(&items, &mut cache), vec![1, 4]);
    assert_eq!(cache.len(), 1, "only the valid signer's key is kept");
    assert!(matches!(
        crypto::verify_batch_cached(&items, &mut cache),
        Err(SignatureError::BatchItem { index: 1, .. })
    ));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// For any batch size and any subset of bad items (wrong S, wrong R, wrong message,
        /// torsioned-and-wrong), `bad_items` returns exactly that subset, and
        /// `verify_batch` names its smallest element.
        #[test]
        fn bad_items_returns_exactly_the_bad_subset(
            kinds in proptest::collection::vec(0u8..6, 1..80),
            signers in 1usize..6,
        ) {
            let keys: Vec<SecretKey> = (0..signers as u32).map(key).collect();
            let mut expected = Vec::new();
            let signed: Vec<Signed> = kinds.iter().enumerate().map(|(i, kind)| {
                let body = format!("prop item {i}");
                let k = &keys[i % signers];
                let mut s = match kind {
                    5 => Signed::torsioned(k, domain::TX_SIGN, body.as_bytes(), 8),
                    _ => Signed::valid(k, domain::TX_SIGN, body.as_bytes()),
                };
                match kind {
                    1 => s.signature.0[40] ^= 0x04,
                    2 => s.signature.0[3] ^= 0x80,
                    3 => s.message.push(1),
                    4 => s.signature.0[63] |= 0xf0, // S >= L: not canonical
                    _ => {}
                }
                if (1..=4).contains(kind) {
                    expected.push(i);
                }
                s
            }).collect();
            let items: Vec<BatchItem<'_>> = signed.iter().map(Signed::item).collect();
            let bad = crypto::bad_items(&items, &mut crypto::KeyCache::new(4));
            prop_assert_eq!(&bad, &expected);
            let first = crypto::verify_batch(&items).err().map(|e| match e {
                SignatureError::BatchItem { index, .. } => index,
                other => panic!("unexpected {other:?}"),
            });
            prop_assert_eq!(first, expected.first().copied());
        }
    }
}

/// Transactions: the batch path gives, transaction by transaction, exactly the result of
/// `Transaction::verify` alone (wrong chain, bad key, bad signature, torsioned, valid).
#[test]
fn transaction_batch_results_equal_single_results() {
    let chain_id: ChainId = Digest([5u8; 32]);
    let member = key(21);
    let mut txs = junk_transactions(chain_id, 40);
    for (i, tx) in txs.iter_mut().enumerate() {
        match i % 5 {
            0 => {
                tx.body.signer = member.public();
                *tx = Transaction::sign(tx.body.clone(), &member);
            }
            1 => {
                tx.body.signer = member.public();
                let body = codec_body(tx);
                tx.signature = testing::sign_torsioned(&member, domain::TX_SIGN, &body, 8);
            }
            2 => tx.body.chain_id = Digest([6u8; 32]),
            3 => tx.body.signer = PublicKey::Ed25519([0u8; 32]),
            _ => {} // junk signature
        }
    }
    let singles: Vec<_> = txs.iter().map(|t| t.clone().verify(&chain_id)).collect();
    let batch = tx::verify_batch_cached(&chain_id, txs, &mut crypto::KeyCache::new(4));
    assert_eq!(batch, singles);
    assert_eq!(batch.iter().filter(|r| r.is_ok()).count(), 16);
}

/// The bytes a transaction's signature covers, without the tag.
fn codec_body(tx: &Transaction) -> Vec<u8> {
    chancery_core::codec::encode(&tx.body)
}
