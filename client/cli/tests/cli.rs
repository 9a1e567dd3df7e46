//! The `chancery` binary, run as a process.
// Tests decode in the default suite.
#![allow(clippy::disallowed_methods)]

use chancery_core::block::{self, BlockHeader, LogEntry, Outcome};
use chancery_core::cert::{Certificate, IndexedSignature, VoteBody, VoteKind};
use chancery_core::checkpoint::Checkpoint;
use chancery_core::crypto::SecretKey;
use chancery_core::genesis::{Agency, ChainParams, Genesis};
use chancery_core::merkle::{self, Blake3Hasher, MerkleHasher, Sha256Hasher};
use chancery_core::receipt::Receipt;
use chancery_core::record::{AnchorDocument, DocumentRef, Record, RecordRef};
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::validator::{Validator, ValidatorSet};
use chancery_core::{codec, AgencyId, Digest, Epoch, Height, Seq, TimestampMs, View};
use std::path::Path;
use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(args)
        .output()
        .expect("run chancery");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim_end().to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const RFC_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

fn write_leaves(dir: &Path, leaves: &[&str]) -> String {
    let p = dir.join("leaves.txt");
    std::fs::write(&p, leaves.join("\n") + "\n").unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn tlog_sha256_root_prove_verify() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_leaves(dir.path(), &RFC_LEAVES);
    let (code, root, _) = run(&["tlog", "root", "--hash", "sha256", "--leaves", &f]);
    assert_eq!(code, 0);
    assert_eq!(
        root,
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    );
    let h = Sha256Hasher;
    for index in 0..8u64 {
        let i = index.to_string();
        let (code, proof, _) = run(&[
            "tlog",
            "prove-inclusion",
            "--hash",
            "sha256",
            "--leaves",
            &f,
            "--index",
            &i,
        ]);
        assert_eq!(code, 0);
        assert_eq!(proof.split(',').count(), 3);
        let leaf = h
            .hash_leaf(&hex::decode(RFC_LEAVES[index as usize]).unwrap())
            .to_hex();
        let args = |proof: &str, leaf: &str| {
            run(&[
                "tlog",
                "verify-inclusion",
                "--hash",
                "sha256",
                "--size",
                "8",
                "--index",
                &i,
                "--leaf-hash",
                leaf,
                "--root",
                &root,
                "--proof",
                proof,
            ])
        };
        let (code, out, _) = args(&proof, &leaf);
        assert_eq!((code, out.as_str()), (0, "valid"));
        // A different leaf: exit 1 with the reason.
        let other = h.hash_leaf(b"x").to_hex();
        let (code, _, err) = args(&proof, &other);
        assert_eq!(code, 1);
        assert!(err.contains("root computed from the proof"), "{err}");
        // A truncated proof: exit 1, the length is named.
        let short: Vec<&str> = proof.split(',').take(2).collect();
        let (code, _, err) = args(&short.join(","), &leaf);
        assert_eq!(code, 1);
        assert!(err.contains("needs exactly 3"), "{err}");
    }
    for size1 in 1..=8u64 {
        let s1 = size1.to_string();
        let (code, proof, _) = run(&[
            "tlog",
            "prove-consistency",
            "--hash",
            "sha256",
            "--leaves",
            &f,
            "--size1",
            &s1,
        ]);
        assert_eq!(code, 0);
        let sub = write_leaves(dir.path(), &RFC_LEAVES[..size1 as usize]);
        let (_, root1, _) = run(&["tlog", "root", "--hash", "sha256", "--leaves", &sub]);
        let (code, out, err) = run(&[
            "tlog",
            "verify-consistency",
            "--hash",
            "sha256",
            "--size1",
            &s1,
            "--size2",
            "8",
            "--root1",
            &root1,
            "--root2",
            &root,
            "--proof",
            &proof,
        ]);
        assert_eq!((code, out.as_str()), (0, "valid"), "{size1}: {err}");
        if size1 == 8 {
            assert_eq!(proof, "");
        }
        // Restore the full leaves file for the next round.
        write_leaves(dir.path(), &RFC_LEAVES);
    }
    // Size 0 consistency and garbage input are refused with exit 1.
    let (code, _, err) = run(&[
        "tlog",
        "verify-consistency",
        "--hash",
        "sha256",
        "--size1",
        "0",
        "--size2",
        "8",
        "--root1",
        &root,
        "--root2",
        &root,
        "--proof",
        "",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("size 0"), "{err}");
    let (code, _, err) = run(&[
        "tlog",
        "verify-inclusion",
        "--hash",
        "sha256",
        "--size",
        "8",
        "--index",
        "0",
        "--leaf-hash",
        "zz",
        "--root",
        &root,
        "--proof",
        "",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("--leaf-hash"), "{err}");
}

/// SM3 of `bytes` by the `openssl` command (an implementation independent of ours), or
/// `None` when there is no `openssl` with SM3.
fn openssl_sm3(bytes: &[u8]) -> Option<[u8; 32]> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(["dgst", "-sm3", "-binary"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(bytes).ok()?;
    let out = child.wait_with_output().ok()?;
    out.status.success().then_some(())?;
    out.stdout.try_into().ok()
}

/// RFC 6962's MTH over `leaves` with every hash computed by `openssl dgst -sm3`.
fn openssl_sm3_root(leaves: &[Vec<u8>]) -> Option<[u8; 32]> {
    match leaves.len() {
        0 => openssl_sm3(b""),
        1 => openssl_sm3(&[&[0u8][..], &leaves[0]].concat()),
        n => {
            // The largest power of two below n.
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            let l = openssl_sm3_root(&leaves[..k])?;
            let r = openssl_sm3_root(&leaves[k..])?;
            openssl_sm3(&[&[1u8][..], &l, &r].concat())
        }
    }
}

#[test]
fn tlog_sm3_is_rfc6962_with_sm3_as_openssl_computes_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_leaves(dir.path(), &RFC_LEAVES);
    let (code, root, err) = run(&["tlog", "root", "--hash", "sm3", "--leaves", &f]);
    assert_eq!(code, 0, "{err}");
    // Not SHA-256's root, not BLAKE3's.
    let (_, sha, _) = run(&["tlog", "root", "--hash", "sha256", "--leaves", &f]);
    assert_ne!(root, sha);
    let leaves: Vec<Vec<u8>> = RFC_LEAVES.iter().map(|l| hex::decode(l).unwrap()).collect();
    match openssl_sm3_root(&leaves) {
        Some(want) => assert_eq!(root, hex::encode(want), "openssl disagrees"),
        None => eprintln!("SKIP openssl cross-check: no `openssl` with SM3 on PATH"),
    }
    for (size, want_len) in [(1usize, 0usize), (3, 1), (8, 3)] {
        let sub = write_leaves(dir.path(), &RFC_LEAVES[..size]);
        if let Some(want) = openssl_sm3_root(&leaves[..size]) {
            let (_, got, _) = run(&["tlog", "root", "--hash", "sm3", "--leaves", &sub]);
            assert_eq!(got, hex::encode(want), "size {size}");
        }
        let (_, sub_root, _) = run(&["tlog", "root", "--hash", "sm3", "--leaves", &sub]);
        let index = (size - 1).to_string();
        let (code, proof, _) = run(&[
            "tlog",
            "prove-inclusion",
            "--hash",
            "sm3",
            "--leaves",
            &sub,
            "--index",
            &index,
        ]);
        assert_eq!(code, 0);
        assert_eq!(proof.split(',').filter(|p| !p.is_empty()).count(), want_len);
        let leaf = merkle::Sm3Hasher.hash_leaf(&leaves[size - 1]).to_hex();
        let verify = |leaf: &str, hash: &str| {
            run(&[
                "tlog",
                "verify-inclusion",
                "--hash",
                hash,
                "--size",
                &size.to_string(),
                "--index",
                &index,
                "--leaf-hash",
                leaf,
                "--root",
                &sub_root,
                "--proof",
                &proof,
            ])
        };
        assert_eq!(verify(&leaf, "sm3").0, 0, "size {size}");
        // The same proof under another hash, or another leaf: refused.
        if size > 1 {
            assert_eq!(verify(&leaf, "sha256").0, 1);
        }
        let other = merkle::Sm3Hasher.hash_leaf(b"x").to_hex();
        assert_eq!(verify(&other, "sm3").0, 1);
    }
}

#[test]
fn tlog_blake3_single_leaf_empty_proof() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_leaves(dir.path(), &["abcd"]);
    let (code, root, _) = run(&["tlog", "root", "--hash", "blake3", "--leaves", &f]);
    assert_eq!(code, 0);
    let leaf = merkle::leaf_hash(chancery_core::suite::Suite::default(), &[0xab, 0xcd]);
    assert_eq!(root, leaf.to_hex());
    let (code, proof, _) = run(&[
        "tlog",
        "prove-inclusion",
        "--hash",
        "blake3",
        "--leaves",
        &f,
        "--index",
        "0",
    ]);
    assert_eq!((code, proof.as_str()), (0, ""));
    let (code, out, _) = run(&[
        "tlog",
        "verify-inclusion",
        "--hash",
        "blake3",
        "--size",
        "1",
        "--index",
        "0",
        "--leaf-hash",
        &leaf.to_hex(),
        "--root",
        &root,
        "--proof",
        "",
    ]);
    assert_eq!((code, out.as_str()), (0, "valid"));
    // The same data under SHA-256 is a different tree.
    let (code, _, _) = run(&[
        "tlog",
        "verify-inclusion",
        "--hash",
        "sha256",
        "--size",
        "1",
        "--index",
        "0",
        "--leaf-hash",
        &leaf.to_hex(),
        "--root",
        &root,
        "--proof",
        "",
    ]);
    assert_eq!(
        code, 0,
        "a one-leaf tree's root is its leaf hash under any hasher"
    );
    let _ = Blake3Hasher.empty_root();
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

fn receipt(g: &Genesis, keys: &[SecretKey], signers: &[usize]) -> Receipt {
    receipt_with(g, keys, signers, Outcome::Applied)
}

/// A receipt of entry 2 of a 5-entry block, whose outcome is `outcome`.
fn receipt_with(g: &Genesis, keys: &[SecretKey], signers: &[usize], outcome: Outcome) -> Receipt {
    let chain_id = g.chain_id();
    let member = SecretKey::from_seed([200; 32]);
    let entries: Vec<LogEntry> = (0..5u64)
        .map(|i| LogEntry {
            height: Height(1),
            time: TimestampMs(1_795_737_600_000),
            tx: Transaction::sign(
                TxBody {
                    chain_id,
                    signer: member.public(),
                    seq: Seq(i),
                    record: Record::AnchorDocument(AnchorDocument {
                        document: DocumentRef {
                            hash: Digest([i as u8; 32]),
                            kind: "contract".into(),
                            title: "Contract".into(),
                            url: String::new(),
                        },
                        supports: RecordRef::None,
                    }),
                },
                &member,
            ),
            outcome,
        })
        .collect();
    let leaves: Vec<Digest> = entries
        .iter()
        .map(|e| merkle::leaf_hash(chancery_core::suite::Suite::default(), &codec::encode(e)))
        .collect();
    let header = BlockHeader {
        chain_id,
        epoch: Epoch(0),
        height: Height(1),
        view: View(1),
        parent: Digest::ZERO,
        proposer: 0,
        time: TimestampMs(1_795_737_600_001),
        txs_hash: block::txs_hash(
            chancery_core::suite::Suite::default(),
            entries.iter().map(|e| e.tx.hash()),
        ),
        tx_count: 5,
        log_size: 5,
        log_root: merkle::root(chancery_core::suite::Suite::default(), &leaves),
        state_root: Digest([9; 32]),
        validator_set: g.validators.hash(),
        next_validator_set: chancery_core::Digest::ZERO,
    };
    let body = VoteBody {
        chain_id,
        epoch: Epoch(0),
        view: View(1),
        kind: VoteKind::Finalize,
        block: header.hash(chancery_core::suite::Suite::default()),
    };
    let certificate = Certificate {
        kind: VoteKind::Finalize,
        epoch: Epoch(0),
        view: View(1),
        block: header.hash(chancery_core::suite::Suite::default()),
        signatures: signers
            .iter()
            .map(|&i| IndexedSignature {
                index: i as u16,
                signature: body.sign(&keys[i]),
            })
            .collect(),
    };
    let proof = merkle::inclusion_proof_with(&Blake3Hasher, &leaves, 2).unwrap();
    Receipt::new(
        &entries[2],
        2,
        &proof,
        &Checkpoint {
            header,
            certificate,
        },
    )
}

#[test]
fn verify_receipt_command() {
    let dir = tempfile::tempdir().unwrap();
    let (g, keys) = genesis(4, "test-chain");
    let gp = dir.path().join("genesis.json");
    std::fs::write(&gp, serde_json::to_string_pretty(&g).unwrap()).unwrap();
    let gp = gp.to_str().unwrap();
    let write = |name: &str, r: &Receipt| {
        let p = dir.path().join(name);
        std::fs::write(&p, serde_json::to_string_pretty(r).unwrap()).unwrap();
        p.to_str().unwrap().to_string()
    };
    let good = write("good.json", &receipt(&g, &keys, &[0, 1, 2]));
    let (code, out, err) = run(&["verify", &good, "--genesis", gp]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("valid: anchor_document"), "{out}");
    assert!(
        out.contains("log index 2") && out.contains("size 5"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1);

    let two = write("two.json", &receipt(&g, &keys, &[1, 3]));
    let (code, _, err) = run(&["verify", &two, "--genesis", gp]);
    assert_eq!(code, 1);
    assert!(err.contains("quorum not reached: 2 of 3"), "{err}");

    let (other, _) = genesis(4, "other-chain");
    let op = dir.path().join("other.json");
    std::fs::write(&op, serde_json::to_string(&other).unwrap()).unwrap();
    let (code, _, err) = run(&["verify", &good, "--genesis", op.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("wrong chain"), "{err}");

    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"format\": 1}").unwrap();
    let (code, _, err) = run(&["verify", junk.to_str().unwrap(), "--genesis", gp]);
    assert_eq!(code, 1);
    assert!(err.contains("not receipt JSON"), "{err}");
}

/// `--tx` (the receipt must be for that transaction), `--expect` (and for that outcome),
/// `--json` (the verdict, transaction, signer, outcome and steps on stdout, also when
/// invalid), and duplicate JSON keys refused (issue 25).
#[test]
fn verify_receipt_for_a_transaction_an_outcome_and_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let (g, keys) = genesis(4, "test-chain");
    let gp = dir.path().join("genesis.json");
    std::fs::write(&gp, serde_json::to_string_pretty(&g).unwrap()).unwrap();
    let gp = gp.to_str().unwrap();
    let applied = receipt(&g, &keys, &[0, 1, 2]);
    let rejected = receipt_with(
        &g,
        &keys,
        &[0, 1, 2],
        Outcome::Rejected(block::ReasonCode::AssetExists),
    );
    let hash_of = |r: &Receipt| {
        let bytes = hex::decode(&r.entry).unwrap();
        let e: LogEntry = codec::decode(&bytes).unwrap();
        e.tx.hash().to_hex()
    };
    let (ha, hr) = (hash_of(&applied), hash_of(&rejected));
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let a = write("a.json", &serde_json::to_string(&applied).unwrap());
    let r = write("r.json", &serde_json::to_string(&rejected).unwrap());
    let verify = |file: &str, extra: &[&str]| {
        let mut args = vec!["verify", file, "--genesis", gp];
        args.extend_from_slice(extra);
        run(&args)
    };

    // --tx: this transaction passes, another's receipt is refused and both are named.
    assert_eq!(verify(&a, &["--tx", &ha]).0, 0);
    // (The rejected receipt carries the same transaction: the outcome is not part of it.)
    assert_eq!(ha, hr);
    let other = "ab".repeat(32);
    let (code, _, err) = verify(&r, &["--tx", &other]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&hr) && err.contains(&other) && err.contains("--tx"),
        "{err}"
    );
    let (code, _, err) = verify(&a, &["--tx", "12ab"]);
    assert_eq!(code, 1);
    assert!(err.contains("64 hex digits"), "{err}");

    // A rejected transaction's receipt is valid (the ledger holds it) unless the caller
    // expects it applied.
    let (code, out, _) = verify(&r, &[]);
    assert_eq!(code, 0);
    assert!(out.contains("rejected (asset_exists)"), "{out}");
    let (code, _, err) = verify(&r, &["--expect", "applied"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("rejected by execution") && err.contains("asset_exists"),
        "{err}"
    );
    assert_eq!(verify(&r, &["--expect", "rejected"]).0, 0);
    assert_eq!(verify(&a, &["--expect", "rejected"]).0, 1);
    assert_eq!(verify(&a, &["--expect", "applied"]).0, 0);

    // --json: one object on stdout, valid or not.
    let (code, out, _) = verify(&a, &["--json", "--tx", &ha]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["status"], "valid");
    assert_eq!(v["tx_hash"], ha.as_str());
    assert_eq!(
        v["signer"],
        SecretKey::from_seed([200; 32]).public().to_hex().as_str()
    );
    assert_eq!(v["outcome"], "applied");
    assert_eq!(v["checkpoint"]["log_size"], 5);
    let steps: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["format", "genesis", "entry", "checkpoint", "inclusion"]
    );
    let (code, out, _) = verify(&r, &["--json", "--expect", "applied"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["status"], "invalid");
    assert!(
        v["error"].as_str().unwrap().contains("expected applied"),
        "{v}"
    );
    // The flags are for receipts only.
    let (code, _, err) = verify(gp, &["--json"]);
    assert_eq!(code, 1, "{err}");

    // A duplicated key is refused, though the last value alone would verify.
    let text = serde_json::to_string(&applied).unwrap();
    let dup = text.replacen("\"index\":2", "\"index\":7,\"index\":2", 1);
    assert_ne!(dup, text);
    let d = write("dup.json", &dup);
    let (code, _, err) = verify(&d, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("duplicate key \"index\""), "{err}");
}

/// An evidence document as `GET /v1/evidence/{id}` serves it: validator `signer` of `g`
/// signed notarize votes for two blocks in view 7.
fn evidence_doc(g: &Genesis, keys: &[SecretKey], signer: u16) -> serde_json::Value {
    let vote = |block: u8| {
        chancery_consensus::Vote::sign(
            g.chain_id(),
            g.validators.epoch,
            View(7),
            VoteKind::Notarize,
            Digest([block; 32]),
            signer,
            &keys[usize::from(signer)],
        )
    };
    let ev = chancery_consensus::Evidence::Votes {
        first: vote(1),
        second: vote(2),
    };
    serde_json::json!({
        "id": "00",
        "kind": "votes",
        "epoch": 0,
        "view": 7,
        "culprit": signer,
        "first": hex::encode(ev.encoded_parts().1),
        "second": hex::encode(ev.encoded_parts().2),
        "evidence": hex::encode(codec::encode(&ev)),
        "verified": true,
    })
}

#[test]
fn verify_evidence_command_names_the_culprit_and_refuses_a_tampered_one() {
    let dir = tempfile::tempdir().unwrap();
    let (g, keys) = genesis(4, "test-chain");
    let gp = dir.path().join("genesis.json");
    std::fs::write(&gp, serde_json::to_string_pretty(&g).unwrap()).unwrap();
    let gp = gp.to_str().unwrap();
    let write = |name: &str, v: &serde_json::Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
        p.to_str().unwrap().to_string()
    };
    let doc = evidence_doc(&g, &keys, 2);
    let good = write("evidence.json", &doc);
    let (code, out, err) = run(&["verify", &good, "--genesis", gp]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("validator mof-2 (index 2)"), "{out}");

    // One bit of the second vote's signature flipped.
    let mut b = hex::decode(doc["evidence"].as_str().unwrap()).unwrap();
    let n = b.len();
    b[n - 3] ^= 1;
    let mut t = doc.clone();
    t["evidence"] = hex::encode(&b).into();
    let tampered = write("tampered.json", &t);
    let (code, _, err) = run(&["verify", &tampered, "--genesis", gp]);
    assert_eq!(code, 1);
    assert!(err.contains("does not prove misbehaviour"), "{err}");
}

/// Evidence of epoch 1, signed with a consensus key that governance rotated in (the
/// genesis set does not know it), verifies with the genesis alone through the epoch link it
/// carries; a tampered or missing link fails and says so.
#[test]
fn verify_evidence_of_a_later_epoch_with_its_links_and_only_the_genesis() {
    use chancery_ledger::testing::governed::Chain;
    let mut c = Chain::new();
    assert_eq!(c.rotate_to_next_epoch("v3", "one"), Epoch(1));
    let set1 = c.ledger.validator_set_of_epoch(Epoch(1)).unwrap().unwrap();
    let culprit = set1.validators.iter().position(|v| v.name == "v3").unwrap() as u16;
    let key = c.keys["v3"].clone();
    let g = &c.fx.genesis;
    let vote = |block: u8| {
        chancery_consensus::Vote::sign(
            g.chain_id(),
            Epoch(1),
            View(4),
            VoteKind::Notarize,
            Digest([block; 32]),
            culprit,
            &key,
        )
    };
    let ev = chancery_consensus::Evidence::Votes {
        first: vote(1),
        second: vote(2),
    };
    let links: Vec<String> = c
        .ledger
        .epoch_links(Epoch(1))
        .unwrap()
        .iter()
        .map(|l| hex::encode(codec::encode(l)))
        .collect();
    assert_eq!(links.len(), 1);
    let doc = serde_json::json!({
        "id": "00", "kind": "votes", "epoch": 1, "view": 4, "culprit": culprit,
        "first": hex::encode(ev.encoded_parts().1),
        "second": hex::encode(ev.encoded_parts().2),
        "evidence": hex::encode(codec::encode(&ev)),
        "verified": true,
        "epochs": links,
    });
    let dir = tempfile::tempdir().unwrap();
    let gp = dir.path().join("genesis.json");
    std::fs::write(&gp, serde_json::to_string_pretty(g).unwrap()).unwrap();
    let gp = gp.to_str().unwrap();
    let verify = |name: &str, v: &serde_json::Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
        run(&["verify", p.to_str().unwrap(), "--genesis", gp])
    };
    let (code, out, err) = verify("evidence.json", &doc);
    assert_eq!(code, 0, "{out} {err}");
    assert!(
        out.contains(&format!("validator v3 (index {culprit})")) && out.contains("epoch 1"),
        "{out}"
    );
    assert!(
        out.contains("1 epoch links verified from the genesis"),
        "{out}"
    );

    // Without its link the genesis set is all there is, and epoch 1 is not proven.
    let mut t = doc.clone();
    t.as_object_mut().unwrap().remove("epochs");
    let (code, _, err) = verify("no-links.json", &t);
    assert_eq!(code, 1);
    assert!(
        err.contains("exactly 1 epoch links") && err.contains("found 0"),
        "{err}"
    );

    // A byte of the link flipped: in the certificate, then in the next set it carries.
    let link = hex::decode(doc["epochs"][0].as_str().unwrap()).unwrap();
    for at in [link.len() / 2, link.len() - 5] {
        let mut b = link.clone();
        b[at] ^= 1;
        let mut t = doc.clone();
        t["epochs"][0] = hex::encode(&b).into();
        let (code, out, err) = verify("tampered-link.json", &t);
        assert_eq!(code, 1, "byte {at}: {out}");
        assert!(err.contains("epoch link 0"), "byte {at}: {err}");
    }

    // A link that verifies but proves another chain's set: the genesis' own chain only.
    let mut other = g.clone();
    other.chain_name = format!("{}-other", other.chain_name);
    let op = dir.path().join("other.json");
    std::fs::write(&op, serde_json::to_string_pretty(&other).unwrap()).unwrap();
    let p = dir.path().join("evidence.json");
    let (code, _, err) = run(&[
        "verify",
        p.to_str().unwrap(),
        "--genesis",
        op.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("epoch link 0"), "{err}");
}

#[test]
fn verify_a_receipt_of_a_later_epoch_with_only_the_genesis() {
    use chancery_ledger::testing::fixture::anchor;
    use chancery_ledger::testing::governed::Chain;
    let mut c = Chain::new();
    c.rotate_to_next_epoch("v3", "one");
    c.rotate_to_next_epoch("v1", "two");
    let archivist =
        c.fx.signer("mof", chancery_core::record::Role::Archivist)
            .clone();
    let (_, b) = c.block(vec![(archivist, anchor("late"))]);
    let r = c.ledger.receipt(&b.txs[0].hash()).unwrap().unwrap();
    assert_eq!(r.epochs.as_ref().map(Vec::len), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let gp = dir.path().join("genesis.json");
    std::fs::write(&gp, serde_json::to_string_pretty(&c.fx.genesis).unwrap()).unwrap();
    let gp = gp.to_str().unwrap();
    let write = |name: &str, r: &Receipt| {
        let p = dir.path().join(name);
        std::fs::write(&p, serde_json::to_string_pretty(r).unwrap()).unwrap();
        p.to_str().unwrap().to_string()
    };
    let good = write("late.json", &r);
    let (code, out, err) = run(&["verify", &good, "--genesis", gp]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("epoch 2 (2 epoch links verified from the genesis)"),
        "{out}"
    );
    // The first link's certificate loses a signature: the error names the link.
    let mut bad = r.clone();
    let links = bad.epochs.as_mut().unwrap();
    let mut l0: chancery_core::epoch::EpochLink =
        codec::decode(&hex::decode(&links[0]).unwrap()).unwrap();
    l0.certificate.signatures.truncate(2);
    links[0] = hex::encode(codec::encode(&l0));
    let bad = write("bad.json", &bad);
    let (code, _, err) = run(&["verify", &bad, "--genesis", gp]);
    assert_eq!(code, 1);
    assert!(
        err.contains("epoch link 0") && err.contains("quorum not reached"),
        "{err}"
    );
}

#[test]
fn gov_propose_refuses_bad_changes_before_asking_a_node() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("changes.toml");
    std::fs::write(
        &f,
        "[[changes]]\nchange = \"remove_validator\"\nname = \"v1\"\n\n[[changes]]\nchange = \"add_validator\"\nname = \"v9\"\n",
    )
    .unwrap();
    let hash = "00".repeat(32);
    let args = [
        "gov",
        "propose",
        "--changes",
        f.to_str().unwrap(),
        "--key",
        "no-such.key",
        "--reason-hash",
        &hash,
        "--node",
        "http://127.0.0.1:9",
    ];
    let (code, _, err) = run(&args);
    assert_eq!(code, 1);
    assert!(
        err.contains("changes[1] (add_validator)") && err.contains("missing field"),
        "{err}"
    );
    // Without a reason.
    let (code, _, err) = run(&args[..6]);
    assert_eq!(code, 1);
    assert!(err.contains("--reason"), "{err}");
    // A vote must approve or reject.
    let (code, _, err) = run(&["gov", "vote", "--proposal", "p", "--key", "k"]);
    assert_eq!(code, 2, "{err}");
}

/// Write `signer.pem` in `dir` from a DER `SubjectPublicKeyInfo` given in hex, with OpenSSL.
fn openssl_pem_from_spki(dir: &std::path::Path, der_hex: &str) {
    std::fs::write(dir.join("signer.der"), hex::decode(der_hex).unwrap()).unwrap();
    let conv = Command::new("openssl")
        .current_dir(dir)
        .args([
            "pkey",
            "-pubin",
            "-inform",
            "DER",
            "-in",
            "signer.der",
            "-out",
            "signer.pem",
        ])
        .output()
        .unwrap();
    assert!(
        conv.status.success(),
        "{}",
        String::from_utf8_lossy(&conv.stderr)
    );
}

/// `openssl pkeyutl -verify` of `signed_bytes.bin` in `dir` by `signer.pem` against the
/// signature file `sig_file`, with the scheme's `extra` options.
fn openssl_verify(dir: &std::path::Path, sig_file: &str, extra: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .current_dir(dir)
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "signer.pem",
            "-rawin",
        ])
        .args(extra)
        .args(["-in", "signed_bytes.bin", "-sigfile", sig_file])
        .output()
        .unwrap()
}

/// `chancery inspect tx` prints what an outside tool needs to check a transaction's
/// signature; OpenSSL (an implementation independent of ours) checks it when present.
#[test]
fn inspect_tx_gives_bytes_that_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (g, keys) = genesis(4, "inspect");
    let r = receipt(&g, &keys, &[0, 1, 2]);
    let rf = dir.path().join("receipt.json");
    std::fs::write(&rf, serde_json::to_string(&r).unwrap()).unwrap();
    let (code, out, err) = run(&["inspect", "tx", "--file", rf.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let entry: LogEntry = codec::decode(&hex::decode(&r.entry).unwrap()).unwrap();
    let tx = entry.tx;
    assert_eq!(v["tx_hash"], tx.hash().to_hex());
    assert_eq!(v["signer"], tx.body.signer.to_hex());
    assert_eq!(v["signature"], tx.signature.to_hex());
    assert_eq!(v["signature_valid"], true);
    let signed = hex::decode(v["signed_bytes"].as_str().unwrap()).unwrap();
    // The signed bytes are the tag, a NUL and the canonical body, nothing else.
    let mut want = b"chancery/v1/sign/tx\0".to_vec();
    want.extend(codec::encode(&tx.body));
    assert_eq!(signed, want);
    // The same from the transaction's canonical bytes in hex, and in the human form.
    let tf = dir.path().join("tx.hex");
    std::fs::write(&tf, hex::encode(tx.to_bytes())).unwrap();
    let (code, human, err) = run(&["inspect", "tx", "--file", tf.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        human.contains(&format!("signed_bytes: {}", hex::encode(&signed))),
        "{human}"
    );
    // A flipped signature bit: still printed, but not valid.
    let mut bad = tx.clone();
    bad.signature.0[5] ^= 1;
    std::fs::write(&tf, hex::encode(bad.to_bytes())).unwrap();
    let (_, out, _) = run(&["inspect", "tx", "--file", tf.to_str().unwrap(), "--json"]);
    let b: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(b["signature_valid"], false);
    // Garbage and a missing source are refused, saying what was expected.
    std::fs::write(&tf, "zz").unwrap();
    let (code, _, err) = run(&["inspect", "tx", "--file", tf.to_str().unwrap()]);
    assert_eq!(code, 1, "bad input: {err}");
    assert!(
        err.contains("expected a receipt (JSON) or a transaction"),
        "{err}"
    );
    let (code, _, err) = run(&["inspect", "tx"]);
    assert_eq!(code, 2, "a usage error: {err}");
    assert!(err.contains("--file") || err.contains("HASH"), "{err}");
    // OpenSSL: the key as PEM from its SPKI DER, the signed bytes and the signature.
    let has_openssl = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_openssl {
        eprintln!("SKIP openssl check: no `openssl` on PATH");
        return;
    }
    openssl_pem_from_spki(dir.path(), v["signer_spki_der"].as_str().unwrap());
    std::fs::write(dir.path().join("signed_bytes.bin"), &signed).unwrap();
    let check = |sig_bytes: &[u8]| {
        std::fs::write(dir.path().join("signature.bin"), sig_bytes).unwrap();
        openssl_verify(dir.path(), "signature.bin", &[])
    };
    let good = check(&tx.signature.0);
    assert!(
        good.status.success(),
        "openssl refused our signature: {}{}",
        String::from_utf8_lossy(&good.stdout),
        String::from_utf8_lossy(&good.stderr)
    );
    let refused = check(&bad.signature.0);
    assert!(
        !refused.status.success(),
        "openssl accepted a flipped signature"
    );
}

/// The SM2 form of `chancery inspect tx`: a transaction of an `sm2-sm3` chain (signed by
/// the kernel) read with `--crypto sm2-sm3`, its key as SPKI DER and its signature as DER,
/// and OpenSSL (independent of ours) verifies it under the GM/T 0009 default ID.
#[test]
fn inspect_tx_of_an_sm2_chain_gives_what_openssl_verifies() {
    use chancery_core::crypto::SecretKey;
    use chancery_core::suite::Suite;
    let dir = tempfile::tempdir().unwrap();
    let (g, keys) = genesis(4, "inspect-sm2");
    let r = receipt(&g, &keys, &[0, 1, 2]);
    let entry: LogEntry = codec::decode(&hex::decode(&r.entry).unwrap()).unwrap();
    let sk = SecretKey::from_secret(Suite::Sm2Sm3, [0x5a; 32]).unwrap();
    let mut body = entry.tx.body.clone();
    body.signer = sk.public();
    let tx = chancery_core::tx::Transaction::sign(body, &sk);
    let tf = dir.path().join("tx.hex");
    std::fs::write(&tf, hex::encode(tx.to_bytes())).unwrap();
    // Without --crypto the bytes are read as a default-suite chain's: refused, naming it.
    let (code, _, err) = run(&["inspect", "tx", "--file", tf.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("ed25519-blake3") && err.contains("--crypto"),
        "{err}"
    );
    let (code, out, err) = run(&[
        "inspect",
        "tx",
        "--file",
        tf.to_str().unwrap(),
        "--crypto",
        "sm2-sm3",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["scheme"], "sm2");
    assert_eq!(v["signer"], sk.public().to_hex());
    assert_eq!(v["dist_id"], "1234567812345678");
    assert_eq!(v["signature_valid"], true);
    assert_eq!(v["tx_hash"], tx.hash().to_hex());
    let mut want = b"chancery/v1/sign/tx\0".to_vec();
    want.extend(codec::encode(&tx.body));
    let signed = hex::decode(v["signed_bytes"].as_str().unwrap()).unwrap();
    assert_eq!(signed, want);
    let has_sm2 = Command::new("openssl")
        .args(["list", "-public-key-algorithms"])
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("SM2"));
    if !has_sm2 {
        eprintln!("SKIP openssl SM2 check: no `openssl` with SM2 on PATH");
        return;
    }
    let d = dir.path();
    openssl_pem_from_spki(d, v["signer_spki_der"].as_str().unwrap());
    std::fs::write(d.join("signed_bytes.bin"), &signed).unwrap();
    let check = |der_hex: &str| {
        std::fs::write(d.join("signature.der"), hex::decode(der_hex).unwrap()).unwrap();
        openssl_verify(
            d,
            "signature.der",
            &["-digest", "sm3", "-pkeyopt", "distid:1234567812345678"],
        )
    };
    let good = check(v["signature_der"].as_str().unwrap());
    assert!(
        good.status.success(),
        "openssl refused our SM2 signature: {}{}",
        String::from_utf8_lossy(&good.stdout),
        String::from_utf8_lossy(&good.stderr)
    );
    // Another transaction's signature on these bytes: OpenSSL refuses it.
    let mut other = tx.body.clone();
    other.seq = chancery_core::Seq(other.seq.0 + 1);
    let other = chancery_core::tx::Transaction::sign(other, &sk);
    let other_der = chancery_core::sm::Sm2Signature::from_bytes(other.signature.0)
        .unwrap()
        .to_der();
    let refused = check(&hex::encode(other_der));
    assert!(
        !refused.status.success(),
        "openssl accepted another message's signature"
    );
}

/// `tag || 0x00 || bytes`: what a tagged SM3 hash hashes.
fn tagged(tag: &str, bytes: &[u8]) -> Vec<u8> {
    [tag.as_bytes(), &[0u8], bytes].concat()
}

/// The log tree of the pinned sm2-sm3 fixtures (RFC 6962 shape, tagged SM3) with every
/// hash by `openssl dgst -sm3`.
fn openssl_sm3_log_root(leaves: &[[u8; 32]]) -> Option<[u8; 32]> {
    if leaves.len() == 1 {
        return Some(leaves[0]);
    }
    let mut k = 1;
    while k * 2 < leaves.len() {
        k *= 2;
    }
    let l = openssl_sm3_log_root(&leaves[..k])?;
    let r = openssl_sm3_log_root(&leaves[k..])?;
    openssl_sm3(&tagged("chancery/v1/hash/log-node", &[l, r].concat()))
}

/// The pinned receipts of a chain of each suite (client/core/tests/fixtures/<suite>, built
/// by the kernel's `chain_fixtures` test) verify with `chancery verify` against their
/// genesis files, and OpenSSL recomputes the sm2-sm3 chain's id, every log leaf and the log
/// root from the pinned bytes.
#[test]
fn the_pinned_chain_receipts_verify_and_openssl_recomputes_the_sm3_hashes() {
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures");
    let verify = |receipt: &str, genesis: &str| {
        run(&[
            "verify",
            all.join(receipt).to_str().unwrap(),
            "--genesis",
            all.join(genesis).to_str().unwrap(),
        ])
    };
    for suite in ["sm2-sm3", "ed25519-blake3"] {
        let (code, out, err) = verify(
            &format!("{suite}/receipt.json"),
            &format!("{suite}/genesis.json"),
        );
        assert_eq!(code, 0, "{suite}: {out}{err}");
        assert!(out.starts_with("valid: anchor_document"), "{out}");
    }
    // A receipt of one suite's chain is not one of the other's.
    let (code, out, _) = verify("sm2-sm3/receipt.json", "ed25519-blake3/genesis.json");
    assert_eq!(code, 1, "{out}");
    let fixtures = all.join("sm2-sm3");

    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(fixtures.join(name)).unwrap()).unwrap()
    };
    let ids = read("ids.json");
    let merkle = read("merkle.json");
    let genesis_bytes = hex::decode(ids["genesis_encoding_hex"].as_str().unwrap()).unwrap();
    let Some(chain_id) = openssl_sm3(&tagged("chancery/v1/hash/genesis", &genesis_bytes)) else {
        eprintln!("SKIP openssl cross-check: no `openssl` with SM3 on PATH");
        return;
    };
    assert_eq!(ids["chain_id"], hex::encode(chain_id));
    let mut leaves = Vec::new();
    for (i, e) in merkle["entries_hex"].as_array().unwrap().iter().enumerate() {
        let entry = hex::decode(e.as_str().unwrap()).unwrap();
        let leaf = openssl_sm3(&tagged("chancery/v1/hash/log-leaf", &entry)).unwrap();
        assert_eq!(merkle["leaves"][i], hex::encode(leaf), "leaf {i}");
        leaves.push(leaf);
    }
    assert_eq!(leaves.len(), 7);
    let root = openssl_sm3_log_root(&leaves).unwrap();
    assert_eq!(merkle["root"], hex::encode(root));
}
