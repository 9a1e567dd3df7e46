//! Checkpoints and receipts over a real signed sample: 4 validators, signed transactions,
//! a finalized header with the right log root.

use chancery_core::block::{self, BlockHeader, LogEntry, Outcome};
use chancery_core::cert::{CertError, Certificate, IndexedSignature, VoteBody, VoteKind};
use chancery_core::checkpoint::{
    self, key_id, parse_signature_line, verify_checkpoint_consistency, Checkpoint, CheckpointError,
};
use chancery_core::crypto::SecretKey;
use chancery_core::genesis::{Agency, ChainParams, Genesis};
use chancery_core::merkle::{self, Blake3Hasher, ProofError};
use chancery_core::receipt::{self, Receipt, ReceiptError};
use chancery_core::record::{AnchorDocument, DocumentRef, Record, RecordRef};
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::validator::{Validator, ValidatorSet};
use chancery_core::{codec, domain, AgencyId, Digest, Epoch, Height, Seq, TimestampMs, View};

struct Sample {
    genesis: Genesis,
    keys: Vec<SecretKey>,
    entries: Vec<LogEntry>,
    leaves: Vec<Digest>,
}

fn genesis(n: usize, name: &str) -> (Genesis, Vec<SecretKey>) {
    let keys: Vec<SecretKey> = (0..n)
        .map(|i| SecretKey::from_seed([i as u8 + 1; 32]))
        .collect();
    let member = SecretKey::from_seed([200; 32]);
    let g = Genesis {
        chain_name: name.into(),
        genesis_time: TimestampMs(1_795_737_600_000),
        agencies: vec![Agency {
            id: AgencyId("mof".into()),
            name_zh: "财政部".into(),
            name_en: "Ministry of Finance".into(),
            admin_keys: vec![member.public()],
        }],
        members: vec![],
        validators: ValidatorSet {
            epoch: Epoch(0),
            start_height: Height(1),
            validators: keys
                .iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    name: format!("mof-{i}"),
                    agency: AgencyId("mof".into()),
                    consensus_key: k.public(),
                    network_key: chancery_core::NetworkKey::from_seed([100 + i as u8; 32]),
                    power: 1,
                })
                .collect(),
        },
        params: ChainParams::default(),
        crypto: Default::default(),
        procurement_limits: Default::default(),
    };
    (g, keys)
}

fn sample(n: usize, entries: usize) -> Sample {
    let (genesis, keys) = genesis(n, "test-chain");
    let chain_id = genesis.chain_id();
    let member = SecretKey::from_seed([200; 32]);
    let entries: Vec<LogEntry> = (0..entries)
        .map(|i| {
            let body = TxBody {
                chain_id,
                signer: member.public(),
                seq: Seq(i as u64),
                record: Record::AnchorDocument(AnchorDocument {
                    document: DocumentRef {
                        hash: Digest([i as u8; 32]),
                        kind: "approval".into(),
                        title: format!("Approval {i}"),
                        url: String::new(),
                    },
                    supports: RecordRef::None,
                }),
            };
            LogEntry {
                height: Height(1 + i as u64 / 3),
                time: TimestampMs(1_795_737_600_000 + i as u64),
                tx: Transaction::sign(body, &member),
                outcome: Outcome::Applied,
            }
        })
        .collect();
    let leaves = entries
        .iter()
        .map(|e| merkle::leaf_hash(chancery_core::suite::Suite::default(), &codec::encode(e)))
        .collect();
    Sample {
        genesis,
        keys,
        entries,
        leaves,
    }
}

impl Sample {
    /// A checkpoint over the first `size` entries, signed by validators `signers`.
    fn checkpoint(&self, size: usize, height: u64, signers: &[usize]) -> Checkpoint {
        let chain_id = self.genesis.chain_id();
        let txs = &self.entries[..size];
        let header = BlockHeader {
            chain_id,
            epoch: Epoch(0),
            height: Height(height),
            view: View(height + 2),
            parent: Digest([7; 32]),
            proposer: 1,
            time: TimestampMs(1_795_737_700_000 + height),
            txs_hash: block::txs_hash(
                chancery_core::suite::Suite::default(),
                txs.iter().map(|e| e.tx.hash()),
            ),
            tx_count: size as u32,
            log_size: size as u64,
            log_root: merkle::root(chancery_core::suite::Suite::default(), &self.leaves[..size]),
            state_root: Digest([9; 32]),
            validator_set: self.genesis.validators.hash(),
            next_validator_set: chancery_core::Digest::ZERO,
        };
        self.certify(header, signers)
    }

    fn certify(&self, header: BlockHeader, signers: &[usize]) -> Checkpoint {
        let body = VoteBody {
            chain_id: self.genesis.chain_id(),
            epoch: header.epoch,
            view: header.view,
            kind: VoteKind::Finalize,
            block: header.hash(chancery_core::suite::Suite::default()),
        };
        let certificate = Certificate {
            kind: VoteKind::Finalize,
            epoch: header.epoch,
            view: header.view,
            block: header.hash(chancery_core::suite::Suite::default()),
            signatures: signers
                .iter()
                .map(|&i| IndexedSignature {
                    index: i as u16,
                    signature: body.sign(&self.keys[i]),
                })
                .collect(),
        };
        Checkpoint {
            header,
            certificate,
        }
    }

    fn receipt(&self, index: usize, cp: &Checkpoint) -> Receipt {
        let size = cp.header.log_size as usize;
        let proof = merkle::inclusion_proof_with(&Blake3Hasher, &self.leaves[..size], index as u64)
            .unwrap();
        Receipt::new(&self.entries[index], index as u64, &proof, cp)
    }
}

fn parse_and_verify(bytes: &[u8], g: &Genesis) -> Result<receipt::ReceiptSummary, String> {
    let r: Receipt = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    receipt::verify(&r, g).map_err(|e| e.to_string())
}

#[test]
fn receipts_verify_and_summarise() {
    let s = sample(4, 7);
    let cp = s.checkpoint(7, 3, &[0, 1, 3]);
    for i in 0..7 {
        let r = s.receipt(i, &cp);
        let sum = receipt::verify(&r, &s.genesis).unwrap();
        assert_eq!(sum.index, i as u64);
        assert_eq!(sum.checkpoint_size, 7);
        assert_eq!(sum.height, s.entries[i].height);
        assert_eq!(sum.subject_id, Digest([i as u8; 32]).to_hex());
        assert_eq!(sum.tx_hash, s.entries[i].tx.hash());
        assert!(sum.to_string().contains("anchor_document"));
        // A receipt for another index with this entry's proof fails.
        let mut wrong = r.clone();
        wrong.index = (i as u64 + 1) % 7;
        assert!(matches!(
            receipt::verify(&wrong, &s.genesis),
            Err(ReceiptError::Inclusion { .. })
        ));
    }
}

#[test]
fn flipping_any_byte_of_a_receipt_breaks_it() {
    let s = sample(4, 5);
    let cp = s.checkpoint(5, 2, &[0, 2, 3]);
    let json = serde_json::to_string_pretty(&s.receipt(3, &cp)).unwrap();
    let bytes = json.as_bytes();
    assert!(parse_and_verify(bytes, &s.genesis).is_ok());
    let mut checked = 0;
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x20, 0x80] {
            let mut b = bytes.to_vec();
            b[i] ^= mask;
            let r = parse_and_verify(&b, &s.genesis);
            assert!(
                r.is_err(),
                "flipping byte {i} with {mask:#x} still verifies: {r:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 3 * bytes.len());
}

#[test]
fn quorum_signature_chain_and_validator_set_errors_are_named() {
    let s = sample(4, 4);
    // Two of four: quorum is three.
    let cp = s.checkpoint(4, 2, &[0, 1]);
    let e = receipt::verify(&s.receipt(1, &cp), &s.genesis).unwrap_err();
    assert_eq!(
        e,
        ReceiptError::Checkpoint(CheckpointError::Certificate(CertError::NoQuorum {
            expected: 3,
            found: 2
        }))
    );
    assert!(e.to_string().contains("quorum"), "{e}");
    // A bad signature is named.
    let mut cp = s.checkpoint(4, 2, &[0, 1, 2]);
    cp.certificate.signatures[1].signature.0[10] ^= 1;
    let e = receipt::verify(&s.receipt(1, &cp), &s.genesis).unwrap_err();
    assert!(e.to_string().contains("validator 1 (mof-1)"), "{e}");
    // Wrong genesis: another chain.
    let (other, _) = genesis(4, "other-chain");
    let cp = s.checkpoint(4, 2, &[0, 1, 2]);
    let e = receipt::verify(&s.receipt(1, &cp), &other).unwrap_err();
    assert!(matches!(e, ReceiptError::WrongChain { .. }), "{e}");
    assert!(e.to_string().contains("wrong chain"));
    // A header naming another validator set, properly signed.
    let mut h = cp.header.clone();
    h.validator_set = Digest([1; 32]);
    let cp = s.certify(h, &[0, 1, 2]);
    let e = receipt::verify(&s.receipt(1, &cp), &s.genesis).unwrap_err();
    assert!(
        matches!(
            e,
            ReceiptError::Checkpoint(CheckpointError::WrongValidatorSet { .. })
        ),
        "{e}"
    );
    // Certificate for another block.
    let mut cp = s.checkpoint(4, 2, &[0, 1, 2]);
    cp.certificate.block = Digest([3; 32]);
    let e = receipt::verify(&s.receipt(1, &cp), &s.genesis).unwrap_err();
    assert!(e.to_string().contains("certificate block"), "{e}");
}

#[test]
fn checkpoint_text_round_trip_and_strictness() {
    let s = sample(4, 6);
    let cid = s.genesis.chain_id();
    let set = &s.genesis.validators;
    let cp = s.checkpoint(6, 2, &[0, 1, 3]);
    let text = cp.to_text(set).unwrap();
    println!("{text}");
    let back = Checkpoint::from_text(&text, &cid, set).unwrap();
    assert_eq!(back, cp);
    back.verify(&s.genesis).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], cid.to_hex());
    assert_eq!(lines[1], "6");
    assert_eq!(lines[14], "");
    assert_eq!(lines.len(), 18);
    // Signature lines carry the C2SP key id of the validator's key.
    for (line, idx) in lines[15..].iter().zip([0usize, 1, 3]) {
        let sig = parse_signature_line(line).unwrap();
        let v = &set.validators[idx];
        assert_eq!(sig.name, v.name);
        assert_eq!(sig.key_id, key_id(&v.name, &v.consensus_key));
    }
    let bad: Vec<(String, &str)> = vec![
        (text.trim_end().to_string(), "no final newline"),
        (format!("{text}\n"), "extra blank line"),
        (
            text.replace("\nheight 2\n", "\nheight 02\n"),
            "leading zero",
        ),
        (
            text.replace("\nheight 2\n", "\nheight  2\n"),
            "double space",
        ),
        (
            text.replace("\nview 4\n", "\nview 4\nview 4\n"),
            "duplicate line",
        ),
        (text.replace("\nview 4\n", "\nviews 4\n"), "unknown key"),
        (text.replace('\n', "\r\n"), "CRLF"),
        (
            text.replacen(&cid.to_hex(), &Digest([5; 32]).to_hex(), 1),
            "unknown origin",
        ),
        (format!("{text}{}\n", lines[15]), "duplicate signature"),
        (
            format!(
                "{}\n\n{}\n{}\n",
                lines[..14].join("\n"),
                lines[16],
                lines[15]
            ),
            "signature order",
        ),
        (text.replace("mof-1", "mof-9"), "unknown signer"),
        (lines[..15].join("\n") + "\n", "no signatures"),
    ];
    for (t, why) in &bad {
        assert!(
            Checkpoint::from_text(t, &cid, set).is_err(),
            "{why} accepted"
        );
    }
    // Flip every byte of the text: never parses and verifies.
    let b = text.as_bytes();
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] ^= 0x01;
        let Ok(t) = String::from_utf8(m) else {
            continue;
        };
        let ok = Checkpoint::from_text(&t, &cid, set)
            .ok()
            .map(|c| c.verify(&s.genesis).is_ok());
        assert_ne!(ok, Some(true), "flipping text byte {i} still verifies");
    }
    // Text with 2 signatures parses but does not verify (quorum).
    let cp2 = s.checkpoint(6, 2, &[0, 1]);
    let t2 = cp2.to_text(set).unwrap();
    let c2 = Checkpoint::from_text(&t2, &cid, set).unwrap();
    assert!(matches!(
        c2.verify(&s.genesis),
        Err(CheckpointError::Certificate(CertError::NoQuorum { .. }))
    ));
}

#[test]
fn checkpoint_consistency() {
    let s = sample(4, 9);
    let old = s.checkpoint(4, 2, &[0, 1, 2]);
    let new = s.checkpoint(9, 3, &[1, 2, 3]);
    let proof = merkle::consistency_proof_with(&Blake3Hasher, &s.leaves, 4).unwrap();
    verify_checkpoint_consistency(&old, &new, &proof, &s.genesis).unwrap();
    let mut bad = proof.clone();
    bad[0].0[0] ^= 1;
    assert!(matches!(
        verify_checkpoint_consistency(&old, &new, &bad, &s.genesis),
        Err(CheckpointError::Inconsistent { .. })
    ));
    // Old and new swapped.
    assert!(verify_checkpoint_consistency(&new, &old, &proof, &s.genesis).is_err());
    // Empty old log.
    let mut h = old.header.clone();
    h.log_size = 0;
    h.log_root = merkle::empty_root(chancery_core::suite::Suite::default());
    h.height = Height(1);
    let empty = s.certify(h, &[0, 1, 2]);
    verify_checkpoint_consistency(&empty, &new, &[], &s.genesis).unwrap();
    assert!(verify_checkpoint_consistency(&empty, &new, &proof, &s.genesis).is_err());
    // A fork: two different headers at one height.
    let fork = s.checkpoint(5, 2, &[0, 1, 2]);
    assert!(matches!(
        verify_checkpoint_consistency(&old, &fork, &[], &s.genesis),
        Err(CheckpointError::Fork { .. })
    ));
    // Equal checkpoints are consistent with an empty proof.
    verify_checkpoint_consistency(&old, &old, &[], &s.genesis).unwrap();
    // An unsigned new checkpoint is refused before the proof is looked at.
    let unsigned = s.checkpoint(9, 3, &[1]);
    assert!(matches!(
        verify_checkpoint_consistency(&old, &unsigned, &proof, &s.genesis),
        Err(CheckpointError::Certificate(_))
    ));
    let _ = ProofError::EmptyOldTree;
}

#[test]
fn signed_note_vectors() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/conformance/rfc6962/signed-note-vectors.json"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("signed-note vectors missing at {path}: {e}"));
    let d: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut sigs_checked = 0;
    for n in d["notes"].as_array().unwrap() {
        let mut keys = Vec::new();
        for vk in n["verifier_keys"].as_array().unwrap() {
            let parts: Vec<&str> = vk.as_str().unwrap().split('+').collect();
            let raw = checkpoint::base64_decode(parts[2]).unwrap();
            assert_eq!((raw[0], raw.len()), (0x01, 33));
            let key: [u8; 32] = raw[1..].try_into().unwrap();
            assert_eq!(
                hex::encode(key_id(parts[0], &chancery_core::PublicKey::Ed25519(key))),
                parts[1],
                "key id of {}",
                parts[0]
            );
            keys.push((parts[0].to_string(), key));
        }
        let note = n["signed_note"].as_str().unwrap();
        let split = note.rfind("\n\n").unwrap();
        let body = &note[..split + 1];
        for line in note[split + 2..].lines() {
            let sig = parse_signature_line(line).unwrap();
            let (_, key) = keys.iter().find(|(name, _)| *name == sig.name).unwrap();
            assert_eq!(
                sig.key_id,
                key_id(&sig.name, &chancery_core::PublicKey::Ed25519(*key))
            );
            let vk = ed25519_dalek::VerifyingKey::from_bytes(key).unwrap();
            let s = ed25519_dalek::Signature::from_slice(&sig.signature).unwrap();
            vk.verify_strict(body.as_bytes(), &s).unwrap();
            assert!(vk.verify_strict(format!("{body}x").as_bytes(), &s).is_err());
            sigs_checked += 1;
        }
    }
    assert_eq!(sigs_checked, 3);
    // The cosigned checkpoint: signature lines parse, the cosignature carries its timestamp.
    let cl = &d["cosignature_layout"];
    let note = cl["cosigned_checkpoint"].as_str().unwrap();
    let split = note.rfind("\n\n").unwrap();
    let lines: Vec<&str> = note[split + 2..].lines().collect();
    let cos = parse_signature_line(lines[1]).unwrap();
    assert_eq!(cos.signature.len(), 8 + 64);
    let ts = u64::from_be_bytes(cos.signature[..8].try_into().unwrap());
    assert!(cl["example_signed_message"]
        .as_str()
        .unwrap()
        .contains(&format!("time {ts}\n")));
    // Malformed lines are refused.
    for bad in [
        "- name AAAA",
        "\u{2014} name",
        "\u{2014} na me AAAAAAAA",
        "\u{2014} n +++",
    ] {
        assert!(parse_signature_line(bad).is_err(), "{bad}");
    }
}

/// A log entry whose transaction is not signed by the member key it names — included in
/// the log and certified by a quorum (as a colluding quorum could) — does not verify: the
/// receipt checks the member's own signature too (issue 25), and names the signer.
#[test]
fn a_receipt_whose_transaction_is_not_signed_by_its_signer_fails() {
    let mut s = sample(4, 5);
    let impostor = SecretKey::from_seed([201; 32]);
    let forged = &mut s.entries[2];
    forged.tx.signature = impostor.sign(domain::TX_SIGN, &codec::encode(&forged.tx.body));
    s.leaves = s
        .entries
        .iter()
        .map(|e| merkle::leaf_hash(chancery_core::suite::Suite::default(), &codec::encode(e)))
        .collect();
    let cp = s.checkpoint(5, 2, &[0, 1, 2]);
    for i in [0, 1, 3, 4] {
        receipt::verify(&s.receipt(i, &cp), &s.genesis).expect("honest entries verify");
    }
    match receipt::verify(&s.receipt(2, &cp), &s.genesis) {
        Err(ReceiptError::TxSignature { signer, .. }) => {
            assert_eq!(*signer, s.entries[2].tx.body.signer)
        }
        other => panic!("expected TxSignature, got {other:?}"),
    }
}
