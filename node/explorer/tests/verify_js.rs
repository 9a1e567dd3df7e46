//! The in-browser receipt verifier (assets/verify/verify.js) reaches the kernel's verdict
//! on every input tried: receipts built here with the kernel (v1 and v2 with epoch links,
//! applied and rejected outcomes, a record of every kind, 4 and 31 validators of unequal
//! power) and the committed fixture receipt, each untouched and with every single byte of
//! its entry, checkpoint, proof hashes and epoch links changed, plus index, format, hex and
//! pin changes; the Ed25519 acceptance rule's edge cases (speccheck vectors, torsioned
//! signatures, small-order and undecodable keys, non-canonical S); and the genesis file's
//! chain id and JSON rules; and state-proof bundles (`verifyStateProof` against the
//! checks of `chancery verify`'s `verify_state_bundle`) of every value kind, present and
//! absent, tampered byte by byte and field by field. One `node verify-cli.js --batch`
//! process per test (three for the state bundles); without
//! `node` on PATH each test prints `SKIP: node not found` and passes.

mod jsdiff;

use chancery_core::block::{self, BlockHeader, LogEntry, Outcome, ReasonCode};
use chancery_core::cert::{Certificate, IndexedSignature, VoteBody, VoteKind};
use chancery_core::checkpoint::Checkpoint;
use chancery_core::crypto::{self, BatchItem, SecretKey};
use chancery_core::domain;
use chancery_core::epoch::EpochLink;
use chancery_core::genesis::{Agency, ChainParams, Genesis};
use chancery_core::merkle::{self, Blake3Hasher};
use chancery_core::receipt::Receipt;
use chancery_core::record::Record;
use chancery_core::suite::Suite;
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::validator::{Validator, ValidatorSet};
use chancery_core::{
    codec, AgencyId, Digest, Epoch, Height, NetworkKey, PublicKey, Seq, Signature, TimestampMs,
    View,
};
use jsdiff::Case;
use serde_json::{json, Value};
use std::path::PathBuf;

/// Blocks per epoch: epoch `e` holds heights `8e + 1 ..= 8(e + 1)`.
const EPOCH_BLOCKS: u64 = 8;
/// One entry per block up to this height.
const HEIGHT_MAX: u64 = 24;

fn fixtures() -> PathBuf {
    jsdiff::workspace_dir().join("client/core/tests/fixtures")
}

/// One record of every kind, from the kernel's committed fixtures (`record_*.json`).
fn records() -> Vec<Record> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("record_") && n.ends_with(".json"))
        })
        .collect();
    paths.sort();
    let records: Vec<Record> = paths
        .iter()
        .map(|p| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(p).expect("fixture"))
                .expect("fixture JSON");
            serde_json::from_value(v["json"].clone()).expect("a record")
        })
        .collect();
    let kinds: std::collections::BTreeSet<&str> =
        records.iter().map(|r| r.kind().as_str()).collect();
    assert_eq!(kinds.len(), 19, "a record of each of the 19 kinds");
    records
}

/// A chain of `n` validators (see [`Chain::power`]), new keys every epoch, one
/// transaction per block; every fifth is rejected.
struct Chain {
    n: usize,
    /// Every validator of power 1 (else see [`Chain::power`]).
    equal: bool,
    genesis: Genesis,
    entries: Vec<LogEntry>,
    leaves: Vec<Digest>,
}

fn key(e: u64, i: usize) -> SecretKey {
    let mut seed = [0x77u8; 32];
    seed[0] = e as u8;
    seed[1] = i as u8;
    SecretKey::from_seed(seed)
}

fn member() -> SecretKey {
    SecretKey::from_seed([250; 32])
}

impl Chain {
    fn new(n: usize) -> Chain {
        Chain::with_powers(n, false)
    }

    fn with_powers(n: usize, equal: bool) -> Chain {
        Chain::with_records(n, equal, records(), HEIGHT_MAX)
    }

    /// A chain of `height` blocks whose transactions carry `records` in turn.
    fn with_records(n: usize, equal: bool, records: Vec<Record>, height: u64) -> Chain {
        let mut chain = Chain {
            n,
            equal,
            genesis: Genesis {
                chain_name: format!("verify-js-{n}"),
                genesis_time: TimestampMs(1_795_737_600_000),
                agencies: vec![Agency {
                    id: AgencyId("mof".into()),
                    name_zh: "财政部".into(),
                    name_en: "Ministry of Finance".into(),
                    admin_keys: vec![member().public()],
                }],
                members: vec![],
                validators: ValidatorSet {
                    epoch: Epoch(0),
                    start_height: Height(1),
                    validators: vec![],
                },
                params: ChainParams::default(),
                crypto: Suite::default(),
                procurement_limits: Default::default(),
            },
            entries: vec![],
            leaves: vec![],
        };
        chain.genesis.validators = chain.set(0);
        let reasons = [
            ReasonCode::MissingRole,
            ReasonCode::AssetUnknown,
            ReasonCode::PaymentExceedsContract,
        ];
        for h in 1..=height {
            let body = TxBody {
                chain_id: chain.genesis.chain_id(),
                signer: member().public(),
                seq: Seq(h - 1),
                record: records[(h as usize - 1) % records.len()].clone(),
            };
            let outcome = if h % 5 == 0 {
                Outcome::Rejected(reasons[(h as usize / 5) % reasons.len()])
            } else {
                Outcome::Applied
            };
            chain.entries.push(LogEntry {
                height: Height(h),
                time: TimestampMs(1_795_737_600_000 + h * 1000),
                tx: Transaction::sign(body, &member()),
                outcome,
            });
        }
        chain.leaves = chain
            .entries
            .iter()
            .map(|e| merkle::leaf_hash(Suite::default(), &codec::encode(e)))
            .collect();
        chain
    }

    fn set(&self, e: u64) -> ValidatorSet {
        ValidatorSet {
            epoch: Epoch(e),
            start_height: Height(if e == 0 { 1 } else { EPOCH_BLOCKS * e + 1 }),
            validators: (0..self.n)
                .map(|i| Validator {
                    name: format!("v{i}"),
                    agency: AgencyId("mof".into()),
                    consensus_key: key(e, i).public(),
                    network_key: NetworkKey([(e as u8) << 5 | i as u8; 32]),
                    power: self.power(i),
                })
                .collect(),
        }
    }

    /// Equal powers in a set of 4; in a larger set one validator holds most of the power
    /// (100, then 2, 3, 1, 2, 3, 1, ...), so that a quorum of power is a few signers, far
    /// fewer than two thirds of the count.
    fn power(&self, i: usize) -> u64 {
        match (self.n, i) {
            _ if self.equal => 1,
            (4, _) => 1,
            (_, 0) => 100,
            _ => 1 + (i as u64 % 3),
        }
    }

    fn header(&self, e: u64, height: u64, next: Digest) -> BlockHeader {
        let n = height as usize;
        BlockHeader {
            chain_id: self.genesis.chain_id(),
            epoch: Epoch(e),
            height: Height(height),
            view: View(height + 3),
            parent: Digest([7; 32]),
            proposer: 0,
            time: TimestampMs(1_795_737_600_000 + height * 1000),
            txs_hash: block::txs_hash(Suite::default(), [self.entries[n - 1].tx.hash()]),
            tx_count: 1,
            log_size: height,
            log_root: merkle::root(Suite::default(), &self.leaves[..n]),
            state_root: Digest([9; 32]),
            validator_set: self.set(e).hash(),
            next_validator_set: next,
        }
    }

    /// Certified by a quorum of power, skipping every fourth validator while it can (so
    /// the signers are not a prefix of the set).
    fn certify(&self, header: BlockHeader) -> Checkpoint {
        let e = header.epoch.0;
        let set = self.set(e);
        let body = VoteBody {
            chain_id: self.genesis.chain_id(),
            epoch: header.epoch,
            view: header.view,
            kind: VoteKind::Finalize,
            block: header.hash(Suite::default()),
        };
        let mut signers: Vec<usize> = Vec::new();
        let mut power = 0;
        let order = (0..self.n)
            .filter(|i| i % 4 != 1)
            .chain((0..self.n).filter(|i| i % 4 == 1));
        for i in order {
            if power >= set.quorum_power() {
                break;
            }
            signers.push(i);
            power += set.validators[i].power;
        }
        signers.sort_unstable();
        let certificate = Certificate {
            kind: VoteKind::Finalize,
            epoch: header.epoch,
            view: header.view,
            block: header.hash(Suite::default()),
            signatures: signers
                .iter()
                .map(|&i| IndexedSignature {
                    index: i as u16,
                    signature: body.sign(&key(e, i)),
                })
                .collect(),
        };
        Checkpoint {
            header,
            certificate,
        }
    }

    /// The link that ends epoch `e`. In the 4-validator chain the boundary of epoch 1 is
    /// finalized through a suffix of two empty blocks (docs/governance.md), so the
    /// certificate signs the last suffix header.
    fn link(&self, e: u64) -> EpochLink {
        let next = self.set(e + 1);
        let boundary = self.header(e, EPOCH_BLOCKS * (e + 1), next.hash());
        let mut suffix: Vec<BlockHeader> = Vec::new();
        if self.n == 4 && e == 1 {
            for k in 1..=2u64 {
                let parent = suffix.last().unwrap_or(&boundary).clone();
                suffix.push(chancery_core::epoch::suffix_child(
                    Suite::default(),
                    &boundary,
                    &parent,
                    View(parent.view.0 + 2),
                    k as u16,
                    TimestampMs(parent.time.0 + 500),
                ));
            }
        }
        let cp = self.certify(suffix.last().unwrap_or(&boundary).clone());
        EpochLink {
            header: boundary,
            certificate: cp.certificate,
            next,
            suffix,
        }
    }

    /// The receipt of the entry at `height` under a checkpoint of epoch `e` at `cp_height`.
    fn receipt(&self, height: u64, e: u64, cp_height: u64) -> Receipt {
        let cp = self.certify(self.header(e, cp_height, Digest::ZERO));
        let links: Vec<EpochLink> = (0..e).map(|i| self.link(i)).collect();
        let index = height - 1;
        let proof =
            merkle::inclusion_proof_with(&Blake3Hasher, &self.leaves[..cp_height as usize], index)
                .expect("index below size");
        Receipt::new(&self.entries[index as usize], index, &proof, &cp).with_epochs(&links)
    }

    fn genesis_text(&self) -> String {
        serde_json::to_string_pretty(&self.genesis).expect("genesis JSON")
    }
}

#[test]
fn every_single_byte_tampering_gets_the_kernels_verdict() {
    if jsdiff::node_or_skip("every_single_byte_tampering_gets_the_kernels_verdict").is_none() {
        return;
    }
    let mut texts = Vec::new();
    let mut cases: Vec<Case> = Vec::new();
    // The committed fixture receipt with its genesis.
    let dir = fixtures().join("ed25519-blake3");
    let fixture: Receipt =
        serde_json::from_str(&std::fs::read_to_string(dir.join("receipt.json")).unwrap()).unwrap();
    texts.push(std::fs::read_to_string(dir.join("genesis.json")).unwrap());
    let chain = jsdiff::load_genesis(&texts[0]).unwrap().chain_id().to_hex();
    cases.extend(jsdiff::cases_of("fixture", &fixture, 0, &chain, 1));
    // Built receipts: (validators, entry height, checkpoint epoch, checkpoint height).
    for (n, receipts) in [
        (4, vec![(3, 0, 8), (5, 0, 8), (19, 2, 21), (10, 2, 20)]),
        (31, vec![(4, 0, 7), (15, 1, 15)]),
    ] {
        let c = Chain::new(n);
        texts.push(c.genesis_text());
        let g = texts.len() - 1;
        let chain = c.genesis.chain_id().to_hex();
        for (height, e, cp_height) in receipts {
            let r = c.receipt(height, e, cp_height);
            let label =
                format!("{n} validators, entry {height}, epoch {e} checkpoint at {cp_height}");
            cases.extend(jsdiff::cases_of(&label, &r, g, &chain, 1));
        }
    }
    let report = jsdiff::differential(&texts, &cases);
    jsdiff::assert_report("built and fixture receipts", &report);
    // Both outcomes and several kinds were verified valid.
    let kinds: std::collections::BTreeSet<String> = cases
        .iter()
        .filter(|c| c.field == "untouched")
        .filter_map(|c| {
            let bytes = hex::decode(&c.receipt.entry).ok()?;
            let e: LogEntry = codec::decode_in(Suite::default(), &bytes).ok()?;
            Some(format!(
                "{} {:?}",
                e.tx.body.record.kind().as_str(),
                e.outcome
            ))
        })
        .collect();
    assert!(kinds.len() >= 4, "several kinds and outcomes: {kinds:?}");
    assert!(
        kinds.iter().any(|k| k.contains("Rejected")),
        "a rejected transaction among {kinds:?}"
    );
}

/// Speccheck vectors, torsioned signatures of every order, small-order and undecodable
/// keys, S + L, flipped bits: the kernel's single-item verdict and the JS verdict agree.
#[test]
fn ed25519_edge_cases_get_the_kernels_verdict() {
    if jsdiff::node_or_skip("ed25519_edge_cases_get_the_kernels_verdict").is_none() {
        return;
    }
    let mut vectors: Vec<(String, PublicKey, Vec<u8>, Signature)> = Vec::new();
    // ed25519-speccheck (tests/conformance/ed25519-speccheck/cases.json).
    let text = std::fs::read_to_string(
        jsdiff::workspace_dir().join("tests/conformance/ed25519-speccheck/cases.json"),
    )
    .expect("the vendored speccheck vectors");
    let cases: Vec<Value> = serde_json::from_str(&text).expect("cases.json");
    assert_eq!(cases.len(), 12, "12 speccheck cases");
    for (i, c) in cases.iter().enumerate() {
        let h = |k: &str| hex::decode(c[k].as_str().expect("hex field")).expect("hex");
        vectors.push((
            format!("speccheck {i}"),
            PublicKey::Ed25519(h("pub_key").try_into().expect("32 bytes")),
            h("message"),
            Signature(h("signature").try_into().expect("64 bytes")),
        ));
    }
    let signer = key(9, 9);
    let message = domain::TX_SIGN.signing_bytes(b"edge cases");
    for order in [1u8, 2, 4, 8] {
        vectors.push((
            format!("torsioned, order {order}"),
            signer.public(),
            message.clone(),
            crypto::testing::sign_torsioned(&signer, domain::TX_SIGN, b"edge cases", order),
        ));
    }
    let good = signer.sign(domain::TX_SIGN, b"edge cases");
    vectors.push(("valid".into(), signer.public(), message.clone(), good));
    // S + L: the same signature with a non-canonical S.
    let l: [u8; 32] =
        hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
            .unwrap()
            .try_into()
            .unwrap();
    let mut s_plus_l = good;
    let mut carry = 0u16;
    for (s, l) in s_plus_l.0[32..].iter_mut().zip(l) {
        let v = u16::from(*s) + u16::from(l) + carry;
        *s = v as u8;
        carry = v >> 8;
    }
    vectors.push(("S + L".into(), signer.public(), message.clone(), s_plus_l));
    // Every bit of the valid signature and of the key flipped.
    for bit in (0..512).step_by(7) {
        let mut s = good;
        s.0[bit / 8] ^= 1 << (bit % 8);
        vectors.push((
            format!("signature bit {bit}"),
            signer.public(),
            message.clone(),
            s,
        ));
    }
    for bit in (0..256).step_by(5) {
        let mut k = *signer
            .public()
            .as_bytes()
            .first_chunk::<32>()
            .expect("32 bytes");
        k[bit / 8] ^= 1 << (bit % 8);
        vectors.push((
            format!("key bit {bit}"),
            PublicKey::Ed25519(k),
            message.clone(),
            good,
        ));
    }
    // Small-order keys (the eight torsion points' encodings, and non-canonical ones).
    for k in [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0100000000000000000000000000000000000000000000000000000000000080",
    ] {
        vectors.push((
            format!("small-order key {k}"),
            PublicKey::Ed25519(hex::decode(k).unwrap().try_into().unwrap()),
            message.clone(),
            good,
        ));
    }
    let lines: Vec<Value> = vectors
        .iter()
        .map(|(_, k, m, s)| {
            json!({ "ed25519": { "key": k.to_hex(), "message": hex::encode(m), "signature": s.to_hex() } })
        })
        .collect();
    let js = jsdiff::run_batch(&lines);
    let mut accepted = 0;
    for ((what, k, m, s), j) in vectors.iter().zip(&js) {
        let kernel = crypto::verify_item(&BatchItem {
            key: *k,
            message: m,
            signature: *s,
        })
        .is_ok();
        accepted += usize::from(kernel);
        assert_eq!(
            j["ok"],
            json!(kernel),
            "{what}: kernel says {kernel}, JS {j}"
        );
    }
    println!(
        "{} Ed25519 vectors agree ({accepted} accepted)",
        vectors.len()
    );
    assert!(
        accepted >= 5,
        "the valid, torsioned and speccheck-valid signatures are accepted"
    );
}

/// Genesis files: the chain id of every fixture, and edits that the kernel accepts or
/// refuses, get the same answer in JS.
#[test]
fn genesis_files_get_the_kernels_chain_id_or_refusal() {
    if jsdiff::node_or_skip("genesis_files_get_the_kernels_chain_id_or_refusal").is_none() {
        return;
    }
    let dir = fixtures();
    let read = |p: PathBuf| std::fs::read_to_string(p).expect("fixture");
    let top: Value = serde_json::from_str(&read(dir.join("genesis.json"))).unwrap();
    let base = read(dir.join("ed25519-blake3/genesis.json"));
    let mut files: Vec<(String, String)> = vec![
        (
            "fixtures/genesis.json".into(),
            serde_json::to_string(&top["json"]).unwrap(),
        ),
        ("fixtures/ed25519-blake3/genesis.json".into(), base.clone()),
        ("built, 31 validators".into(), Chain::new(31).genesis_text()),
    ];
    let v: Value = serde_json::from_str(&base).unwrap();
    let edit = |name: &str, f: &dyn Fn(&mut Value)| {
        let mut w = v.clone();
        f(&mut w);
        (name.to_string(), serde_json::to_string(&w).unwrap())
    };
    let edits = [
        edit("unknown top-level field", &|w| {
            w["comment"] = json!("ignored by serde")
        }),
        edit("unknown nested field", &|w| {
            w["params"]["note"] = json!([1, 2])
        }),
        edit("genesis_time a string", &|w| {
            w["genesis_time"] = json!("1795737600000")
        }),
        edit("genesis_time negative", &|w| w["genesis_time"] = json!(-1)),
        edit("genesis_time a float", &|w| w["genesis_time"] = json!(1.5)),
        edit("genesis_time 2^64", &|w| {
            w["genesis_time"] = serde_json::from_str("18446744073709551616").unwrap()
        }),
        edit("genesis_time u64::MAX", &|w| {
            w["genesis_time"] = json!(u64::MAX)
        }),
        edit("missing delta_ms", &|w| {
            w["params"].as_object_mut().unwrap().remove("delta_ms");
        }),
        edit("missing members", &|w| {
            w.as_object_mut().unwrap().remove("members");
        }),
        edit("heartbeat as block_interval_ms", &|w| {
            let hb = w["params"]["heartbeat_ms"].take();
            w["params"].as_object_mut().unwrap().remove("heartbeat_ms");
            w["params"]["block_interval_ms"] = hb;
        }),
        edit("heartbeat under both names", &|w| {
            w["params"]["block_interval_ms"] = json!(7)
        }),
        edit("no governance threshold", &|w| {
            w["params"]
                .as_object_mut()
                .unwrap()
                .remove("governance_threshold");
        }),
        edit("threshold 3/3", &|w| {
            w["params"]["governance_threshold"] = json!({"numerator": 3, "denominator": 3})
        }),
        edit("epoch delay 0", &|w| {
            w["params"]["epoch_delay_blocks"] = json!(0)
        }),
        edit("block_txs_max 2^32", &|w| {
            w["params"]["block_txs_max"] = json!(1u64 << 32)
        }),
        edit("block_txs_max 0 (not checked at genesis)", &|w| {
            w["params"]["block_txs_max"] = json!(0)
        }),
        edit("chain name with a space", &|w| {
            w["chain_name"] = json!("two words")
        }),
        edit("no validators", &|w| {
            w["validators"]["validators"] = json!([])
        }),
        edit("validator power 0", &|w| {
            w["validators"]["validators"][0]["power"] = json!(0)
        }),
        edit("validator names twice", &|w| {
            let n = w["validators"]["validators"][0]["name"].clone();
            w["validators"]["validators"][1]["name"] = n;
        }),
        edit("upper-case key", &|w| {
            let k = w["validators"]["validators"][0]["consensus_key"]
                .as_str()
                .unwrap()
                .to_uppercase();
            w["validators"]["validators"][0]["consensus_key"] = json!(k);
        }),
        edit("an sm2-sm3 key", &|w| {
            w["agencies"][0]["admin_keys"][0] = json!(format!("04{}", "ab".repeat(64)))
        }),
        edit("unknown suite", &|w| w["crypto"] = json!("rsa")),
        edit("explicit default suite", &|w| {
            w["crypto"] = json!("ed25519-blake3")
        }),
        edit(
            "unknown role",
            &|w| {
                w["members"] = json!([{"agency": "mof", "key": "11".repeat(32), "name": "m", "roles": ["king"]}])
            },
        ),
        edit(
            "roles unsorted",
            &|w| w["members"] = json!([{"agency": "mof", "key": "11".repeat(32), "name": "m", "roles": ["archivist", "admin"]}]),
        ),
        edit(
            "procurement limits",
            &|w| w["procurement_limits"] = json!({"rules": [{"name": "national", "agencies": [], "open_tender_from": {"minor": 400, "currency": "CNY"}, "record_from": {"minor": 100, "currency": "CNY"}}]}),
        ),
        edit("procurement limits, empty", &|w| {
            w["procurement_limits"] = json!({"rules": []})
        }),
        edit("procurement limits of an unknown agency", &|w| {
            w["procurement_limits"] = json!({"rules": [{"name": "x", "agencies": ["nobody"], "open_tender_from": {"minor": 400, "currency": "CNY"}, "record_from": {"minor": 100, "currency": "CNY"}}]})
        }),
        edit("agency name empty", &|w| {
            w["agencies"][0]["name_en"] = json!("")
        }),
        edit("name with a control character", &|w| {
            w["agencies"][0]["name_en"] = json!("a\u{7}b")
        }),
        edit("a one-letter chain name", &|w| w["chain_name"] = json!("x")),
        edit("params null", &|w| w["params"] = Value::Null),
        edit("params as an array", &|w| {
            let p = &w["params"];
            let a = json!([
                p["block_txs_max"],
                p["block_bytes_max"],
                p["delta_ms"],
                p["heartbeat_ms"]
            ]);
            w["params"] = a;
        }),
        edit("params as an array with an element too many", &|w| {
            w["params"] = json!([1, 2, 3, 4, {"numerator": 2, "denominator": 3}, 2, 9])
        }),
        edit("params as an array with an element too few", &|w| {
            w["params"] = json!([1, 2, 3])
        }),
        edit("threshold as an array", &|w| {
            w["params"]["governance_threshold"] = json!([1, 2])
        }),
        edit("suite as {name: null}", &|w| {
            w["crypto"] = json!({"ed25519-blake3": null})
        }),
        edit("suite as {name: 1}", &|w| {
            w["crypto"] = json!({"ed25519-blake3": 1})
        }),
        edit(
            "role as {name: null}",
            &|w| w["members"] = json!([{"agency": "mof", "key": "11".repeat(32), "name": "m", "roles": [{"admin": null}]}]),
        ),
    ];
    files.extend(edits);
    files.push((
        "duplicate field".into(),
        base.replacen("\"chain_name\"", "\"chain_name\": \"x\", \"chain_name\"", 1),
    ));
    files.push((
        "trailing comma".into(),
        base.replacen("\"chain_name\"", "\"x\": 1,, \"chain_name\"", 1),
    ));
    files.push((
        "lone surrogate escape".into(),
        base.replacen("\"chain_name\"", "\"x\": \"\\ud800\", \"chain_name\"", 1),
    ));
    files.push((
        "lone surrogate in the chain name".into(),
        base.replacen("\"chain_name\": \"", "\"chain_name\": \"\\udc00", 1),
    ));
    files.push((
        "-0".into(),
        base.replacen("\"genesis_time\": ", "\"genesis_time\": -0, \"g\": ", 1),
    ));
    files.push(("not JSON".into(), "{".into()));
    let fields = [
        "chain_name",
        "genesis_time",
        "agencies",
        "members",
        "validators",
        "params",
    ];
    files.push((
        "the whole genesis as an array".into(),
        Value::Array(fields.iter().map(|f| v[*f].clone()).collect()).to_string(),
    ));
    let sm2 = read(dir.join("sm2-sm3/genesis.json"));
    let mut lines: Vec<Value> = files
        .iter()
        .map(|(_, t)| json!({ "chain_id_of": t }))
        .collect();
    lines.push(json!({ "chain_id_of": sm2 }));
    let js = jsdiff::run_batch(&lines);
    let (mut accepted, mut refused) = (0, 0);
    for ((what, text), j) in files.iter().zip(&js) {
        match jsdiff::load_genesis(text) {
            Ok(g) => {
                accepted += 1;
                assert_eq!(
                    j["chain_id"],
                    json!(g.chain_id().to_hex()),
                    "{what}: JS {j}"
                );
            }
            Err(e) => {
                refused += 1;
                assert!(
                    j["error"].is_string(),
                    "{what}: the kernel refuses ({e}), JS {j}"
                );
            }
        }
    }
    assert_eq!(
        js.last().map(|j| j["unsupported"].clone()),
        Some(json!("sm2-sm3")),
        "an sm2-sm3 genesis is unsupported in JS"
    );
    let top_id = top["hashes"]["chain_id"]
        .as_str()
        .expect("the fixture's chain id");
    assert_eq!(
        js[0]["chain_id"],
        json!(top_id),
        "the fixture's recorded chain id"
    );
    println!(
        "{} genesis files agree: {accepted} accepted, {refused} refused",
        files.len()
    );
    assert!(
        accepted >= 8 && refused >= 20,
        "{accepted} accepted, {refused} refused"
    );
}

/// Writes receipts and genesis files for `bench.js` (node/explorer/assets/verify/bench.js)
/// into `$CHANCERY_VERIFY_BENCH_DIR`: `receipt-N.json` and `genesis-N.json` for N = 4 and
/// 31 validators of equal power (so 3 and 21 signatures), a v1 receipt each, and
/// `receipt-31-v2.json`, a v2 receipt with 2 epoch links (63 signatures in all).
#[test]
#[ignore = "writes the benchmark's input files; run by hand, see bench.js"]
fn write_bench_receipts() {
    let dir = PathBuf::from(
        std::env::var_os("CHANCERY_VERIFY_BENCH_DIR").expect("CHANCERY_VERIFY_BENCH_DIR is set"),
    );
    std::fs::create_dir_all(&dir).expect("the bench directory");
    for n in [4, 31] {
        let c = Chain::with_powers(n, true);
        let g = c.genesis_text();
        std::fs::write(dir.join(format!("genesis-{n}.json")), &g).expect("write");
        let r = c.receipt(3, 0, 8);
        let write = |name: String, r: &Receipt| {
            let text = serde_json::to_string_pretty(r).expect("receipt JSON");
            // The kernel verifies what it wrote.
            chancery_core::receipt::verify(r, &jsdiff::load_genesis(&g).expect("genesis"))
                .expect("the bench receipt verifies");
            std::fs::write(dir.join(name), text).expect("write");
        };
        write(format!("receipt-{n}.json"), &r);
        if n == 31 {
            write(format!("receipt-{n}-v2.json"), &c.receipt(19, 2, 21));
        }
    }
    println!("bench receipts written to {}", dir.display());
}

/// Records that break (or just meet) each of the kernel's field rules, in entries that
/// decode: the kernel refuses the broken ones at the entry (`Transaction::validate`), and
/// so must verify.js; the ones at the limit are valid in both.
fn rule_cases() -> Vec<(String, Record)> {
    use chancery_core::governance::Change;
    use chancery_core::ids::{Currency, Date};
    use chancery_core::record::{Action, AwardStatus, Restricted, Role};
    let base: Vec<Record> = records();
    let of = |kind: &str| -> Record {
        base.iter()
            .find(|r| r.kind().as_str() == kind)
            .cloned()
            .expect("a fixture of each kind")
    };
    // Each fixture as it is (valid), then the changed ones.
    let mut out: Vec<(String, Record)> = base
        .iter()
        .map(|r| (format!("fixture {}", r.kind().as_str()), r.clone()))
        .collect();
    let mut add = |label: &str, r: Record| out.push((label.to_string(), r));
    let text_variants: [(&str, String); 10] = [
        ("empty", String::new()),
        ("64 bytes", "a".repeat(64)),
        ("65 bytes", "a".repeat(65)),
        (
            "256 bytes of 3-byte characters and one more",
            "名".repeat(85) + "a",
        ),
        ("257 bytes", "名".repeat(85) + "ab"),
        ("a newline", "a\nb".into()),
        ("a bell", "a\u{7}b".into()),
        ("U+0085", "a\u{85}b".into()),
        ("a BOM first", "\u{feff}x".into()),
        ("a space", "a b".into()),
    ];
    for (what, t) in &text_variants {
        if let Record::RegisterAsset(mut r) = of("register_asset") {
            r.asset_id = t.clone();
            add(&format!("asset_id {what}"), Record::RegisterAsset(r));
        }
        if let Record::RegisterAsset(mut r) = of("register_asset") {
            r.name = t.clone();
            add(&format!("asset name {what}"), Record::RegisterAsset(r));
        }
        if let Record::RegisterAsset(mut r) = of("register_asset") {
            r.category = t.clone();
            add(&format!("category {what}"), Record::RegisterAsset(r));
        }
        if let Record::RevokeGrant(mut r) = of("revoke_grant") {
            r.reason = t.clone();
            add(&format!("revoke reason {what}"), Record::RevokeGrant(r));
        }
        if let Record::AnchorDocument(mut r) = of("anchor_document") {
            r.document.kind = t.clone();
            add(&format!("document kind {what}"), Record::AnchorDocument(r));
        }
    }
    for (what, d) in [
        (
            "1899-12-31",
            Date {
                year: 1899,
                month: 12,
                day: 31,
            },
        ),
        (
            "1900-02-29",
            Date {
                year: 1900,
                month: 2,
                day: 29,
            },
        ),
        (
            "2000-02-29",
            Date {
                year: 2000,
                month: 2,
                day: 29,
            },
        ),
        (
            "2026-04-31",
            Date {
                year: 2026,
                month: 4,
                day: 31,
            },
        ),
        (
            "2026-13-01",
            Date {
                year: 2026,
                month: 13,
                day: 1,
            },
        ),
        (
            "9999-12-31",
            Date {
                year: 9999,
                month: 12,
                day: 31,
            },
        ),
    ] {
        if let Record::CancelAward(mut r) = of("cancel_award") {
            r.date = d;
            add(&format!("date {what}"), Record::CancelAward(r));
        }
    }
    if let Record::RegisterAsset(mut r) = of("register_asset") {
        r.quantity = 0;
        add("quantity 0", Record::RegisterAsset(r));
    }
    if let Record::RegisterAsset(mut r) = of("register_asset") {
        r.original_value.currency = Currency(*b"cny");
        add("lower-case currency", Record::RegisterAsset(r));
    }
    if let Record::RegisterAsset(mut r) = of("register_asset") {
        r.location = Restricted::Open("x".repeat(4097));
        add("location 4097 bytes", Record::RegisterAsset(r));
    }
    if let Record::RegisterAsset(mut r) = of("register_asset") {
        let d = r.documents[0].clone();
        r.documents = vec![d; 33];
        add("33 documents", Record::RegisterAsset(r));
    }
    if let Record::TransferAsset(mut r) = of("transfer_asset") {
        r.to = r.from.clone();
        add("transfer to itself", Record::TransferAsset(r));
    }
    for (what, actions) in [
        ("unsorted", vec![Action::Use, Action::Read]),
        ("twice", vec![Action::Read, Action::Read]),
        ("none", vec![]),
        (
            "all five",
            vec![
                Action::Read,
                Action::Use,
                Action::Derive,
                Action::Aggregate,
                Action::Distribute,
            ],
        ),
    ] {
        if let Record::GrantDataAccess(mut r) = of("grant_data_access") {
            r.actions = actions;
            add(&format!("actions {what}"), Record::GrantDataAccess(r));
        }
    }
    if let Record::GrantDataAccess(mut r) = of("grant_data_access") {
        std::mem::swap(&mut r.valid_from, &mut r.valid_until);
        add("valid_until before valid_from", Record::GrantDataAccess(r));
    }
    if let Record::GrantDataAccess(mut r) = of("grant_data_access") {
        r.grantee = r.grantor.clone();
        add("grant to itself", Record::GrantDataAccess(r));
    }
    if let Record::GrantDataAccess(mut r) = of("grant_data_access") {
        if let Restricted::Open(cs) = &mut r.constraints {
            cs[0].left_operand = "two words".into();
        }
        add("constraint operand not an id", Record::GrantDataAccess(r));
    }
    for status in [AwardStatus::Cancelled, AwardStatus::Pending] {
        if let Record::AwardProcurement(mut r) = of("award_procurement") {
            r.status = status;
            add(
                &format!("award status {status:?}"),
                Record::AwardProcurement(r),
            );
        }
    }
    if let Record::AwardProcurement(mut r) = of("award_procurement") {
        r.status = AwardStatus::Active;
        r.suppliers.clear();
        add(
            "active award without suppliers",
            Record::AwardProcurement(r),
        );
    }
    if let Record::AwardProcurement(mut r) = of("award_procurement") {
        r.suppliers[0].credit_code = r.suppliers[0].credit_code.to_lowercase();
        add("credit code in lower case", Record::AwardProcurement(r));
    }
    if let Record::AwardProcurement(mut r) = of("award_procurement") {
        let it = r.items[0].clone();
        r.items.push(it);
        add("item ids twice", Record::AwardProcurement(r));
    }
    if let Record::AmendAward(mut r) = of("amend_award") {
        r.status = Some(AwardStatus::Cancelled);
        add("amend to cancelled", Record::AmendAward(r));
    }
    for (what, roles) in [
        ("unsorted", vec![Role::Archivist, Role::Admin]),
        ("none", vec![]),
        ("all", Role::ALL.to_vec()),
    ] {
        if let Record::RegisterMember(mut r) = of("register_member") {
            r.roles = roles;
            add(&format!("roles {what}"), Record::RegisterMember(r));
        }
    }
    if let Record::ProposeChange(mut r) = of("propose_change") {
        r.deadline = TimestampMs(0);
        add("deadline 0", Record::ProposeChange(r));
    }
    if let Record::ProposeChange(mut r) = of("propose_change") {
        r.changes.clear();
        add("no changes", Record::ProposeChange(r));
    }
    if let Record::ProposeChange(mut r) = of("propose_change") {
        let p = Change::SetParams {
            params: ChainParams::default(),
        };
        r.changes = vec![p.clone(), p];
        add("two set_params", Record::ProposeChange(r));
    }
    for (what, params) in [
        (
            "delta_ms 0",
            ChainParams {
                delta_ms: 0,
                ..ChainParams::default()
            },
        ),
        (
            "heartbeat over an hour",
            ChainParams {
                heartbeat_ms: 3_600_001,
                ..ChainParams::default()
            },
        ),
        (
            "block_txs_max 20001",
            ChainParams {
                block_txs_max: 20_001,
                ..ChainParams::default()
            },
        ),
        (
            "epoch delay 10000",
            ChainParams {
                epoch_delay_blocks: 10_000,
                ..ChainParams::default()
            },
        ),
    ] {
        if let Record::ProposeChange(mut r) = of("propose_change") {
            r.changes = vec![Change::SetParams { params }];
            add(&format!("set_params {what}"), Record::ProposeChange(r));
        }
    }
    let k1 = key(5, 1).public();
    let k2 = key(5, 2).public();
    for (what, change) in [
        (
            "remove an agency",
            Change::RemoveAgency {
                id: AgencyId("mof".into()),
            },
        ),
        (
            "admin keys unsorted",
            Change::SetAdminKeys {
                agency: AgencyId("mof".into()),
                admin_keys: if k1 < k2 { vec![k2, k1] } else { vec![k1, k2] },
            },
        ),
        (
            "no admin keys",
            Change::SetAdminKeys {
                agency: AgencyId("mof".into()),
                admin_keys: vec![],
            },
        ),
        (
            "rotate nothing",
            Change::RotateValidatorKeys {
                name: "v1".into(),
                consensus_key: None,
                network_key: None,
            },
        ),
        (
            "rotate to one key for both",
            Change::RotateValidatorKeys {
                name: "v1".into(),
                consensus_key: Some(k1),
                network_key: Some(NetworkKey(
                    *k1.as_bytes().first_chunk::<32>().expect("32 bytes"),
                )),
            },
        ),
        (
            "validator of power 0",
            Change::AddValidator {
                agency: AgencyId("mof".into()),
                name: "v9".into(),
                consensus_key: k1,
                network_key: NetworkKey([3; 32]),
                power: 0,
            },
        ),
        (
            "remove validator with a bad name",
            Change::RemoveValidator { name: "v 1".into() },
        ),
    ] {
        if let Record::ProposeChange(mut r) = of("propose_change") {
            r.changes = vec![change];
            add(&format!("change: {what}"), Record::ProposeChange(r));
        }
    }
    if let Record::PublishTender(mut r) = of("publish_tender") {
        std::mem::swap(&mut r.publish_date, &mut r.submission_deadline);
        add("deadline before publication", Record::PublishTender(r));
    }
    if let Record::CloseTender(mut r) = of("close_tender") {
        r.bids_received = 1;
        add("more bidders than bids", Record::CloseTender(r));
    }
    if let Record::SignContract(mut r) = of("sign_contract") {
        std::mem::swap(&mut r.period_start, &mut r.period_end);
        add("period ends before it starts", Record::SignContract(r));
    }
    if let Record::AmendContract(mut r) = of("amend_contract") {
        r.value = None;
        r.period_end = None;
        add("amend nothing", Record::AmendContract(r));
    }
    if let Record::RecordImplementation(mut r) = of("record_implementation") {
        r.value = None;
        add("payment without a value", Record::RecordImplementation(r));
    }
    if let Record::Vote(mut r) = of("vote") {
        r.proposal_id = "ä".into();
        add("proposal id not ASCII", Record::Vote(r));
    }
    out
}

#[test]
fn record_rules_get_the_kernels_verdict() {
    if jsdiff::node_or_skip("record_rules_get_the_kernels_verdict").is_none() {
        return;
    }
    let rules = rule_cases();
    let records: Vec<Record> = rules.iter().map(|(_, r)| r.clone()).collect();
    let n = records.len() as u64;
    let chain = Chain::with_records(4, false, records, n);
    let text = chain.genesis_text();
    let cases: Vec<Case> = (1..=n)
        .map(|h| Case {
            field: "untouched".into(),
            label: rules[h as usize - 1].0.clone(),
            receipt: chain.receipt(h, 0, n),
            genesis: 0,
            chain: None,
            tx: None,
        })
        .collect();
    let report = jsdiff::differential(&[text], &cases);
    println!(
        "record rules: {} records, {} agree, {} valid by the kernel",
        report.cases, report.agree, report.valid
    );
    assert!(
        report.disagreements.is_empty(),
        "record rules disagree:\n{}",
        report.disagreements.join("\n")
    );
    let refused = report.cases - report.valid;
    assert!(
        refused >= 60 && report.valid >= 19 + 15,
        "the rules both refuse and accept: {refused} refused, {} valid",
        report.valid
    );
}

/// The vendored BLAKE3 (noble's, which no firm has audited) gives the reference crate's
/// output on the inputs of BLAKE3's official test vectors (every length class up to
/// 100 KiB, 131 bytes of extended output) in the three modes the kernel's hashes use or
/// build on: hash, keyed hash (log leaves and nodes) and key derivation (tagged hashes).
#[test]
fn vendored_blake3_agrees_with_the_reference_crate() {
    if jsdiff::node_or_skip("vendored_blake3_agrees_with_the_reference_crate").is_none() {
        return;
    }
    const KEY: &[u8; 32] = b"whats the Elvish word for friend";
    const CONTEXT: &str = "BLAKE3 2019-12-27 16:29:52 test vectors context";
    const OUT: usize = 131;
    let lens = [
        0usize, 1, 2, 3, 4, 5, 6, 7, 8, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025, 2048, 2049,
        3072, 3073, 4096, 4097, 5120, 5121, 6144, 6145, 7168, 7169, 8192, 8193, 16384, 31744,
        102400,
    ];
    let mut lines = Vec::new();
    let mut want = Vec::new();
    for len in lens {
        let input: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let xof = |mut h: blake3::Hasher| {
            h.update(&input);
            let mut out = [0u8; OUT];
            h.finalize_xof().fill(&mut out);
            hex::encode(out)
        };
        lines.push(json!({ "blake3": { "input_len": len, "out_len": OUT } }));
        want.push((format!("hash of {len} bytes"), xof(blake3::Hasher::new())));
        lines.push(
            json!({ "blake3": { "input_len": len, "out_len": OUT, "key": hex::encode(KEY) } }),
        );
        want.push((
            format!("keyed hash of {len} bytes"),
            xof(blake3::Hasher::new_keyed(KEY)),
        ));
        lines.push(json!({ "blake3": { "input_len": len, "out_len": OUT, "context": CONTEXT } }));
        want.push((
            format!("derived key of {len} bytes"),
            xof(blake3::Hasher::new_derive_key(CONTEXT)),
        ));
    }
    let js = jsdiff::run_batch(&lines);
    for ((what, hex), j) in want.iter().zip(&js) {
        assert_eq!(j["hex"], json!(hex), "{what}");
    }
    println!("{} BLAKE3 outputs agree", want.len());
}

/// The bundle `GET /v1/proofs/state/...` serves for `key` under the checkpoint at `at`
/// (the latest if None), as node/api/src/proofs.rs `state_proof_dto` builds it.
fn state_bundle(
    ledger: &chancery_ledger::Ledger,
    key: &chancery_core::state::StateKey,
    at: Option<Height>,
) -> (chancery_core::state::StateProof, Value) {
    let (proof, cp) = ledger.state_proof(key, at).expect("a state proof");
    let links = ledger.epoch_links(cp.header.epoch).expect("epoch links");
    let v = json!({
        "height": cp.header.height.0,
        "state_root": cp.header.state_root.to_hex(),
        "proof": serde_json::to_value(&proof).expect("proof JSON"),
        "proof_hex": hex::encode(codec::encode(&proof)),
        "checkpoint": hex::encode(codec::encode(&cp)),
        "epochs": links.iter().map(|l| hex::encode(codec::encode(l))).collect::<Vec<_>>(),
    });
    (proof, v)
}

/// State-proof bundles of a ledger (the ledger crate's governed test chain): an asset, a
/// grant, a tender and a key of every other kind the ledger holds, present, and absent
/// keys whose paths end in an empty subtree and in another key's leaf, under a checkpoint
/// of epoch 0 and one of epoch 2 (with its two epoch links). Each bundle untouched (in each
/// form `chancery verify` accepts) and tampered — every byte of the proof's canonical bytes
/// (every byte for the asset, grant and absent keys, every 3rd for the others), every
/// field of its JSON form, every byte of each checkpoint and epoch link, the repeated
/// height and state root, shapes, spellings and a wrong pinned chain — gets the kernel's
/// verdict, step and summary from verify.js.
#[test]
fn state_proof_bundles_and_every_tampering_get_the_kernels_verdict() {
    use chancery_core::record::{ProcurementMethod, Role};
    use chancery_core::state::{ComplianceSubject, ProofEnd, StateKey};
    use chancery_ledger::testing::{fixture, governed, process};
    use jsdiff::state::{state_cases_of, state_differential, Depth};
    if jsdiff::node_or_skip("state_proof_bundles_and_every_tampering_get_the_kernels_verdict")
        .is_none()
    {
        return;
    }
    // With the fixture's limit standards in the genesis, so that the process records
    // below earn compliance entries.
    let mut c = governed::Chain::with_genesis(|g| g.procurement_limits = process::limits());
    let officer = c.fx.signer("mof", Role::AssetOfficer).clone();
    assert_eq!(
        c.one(officer.clone(), fixture::register_asset("asset-1", "mof")),
        Outcome::Applied
    );
    assert_eq!(
        c.one(officer, fixture::register_asset("asset-2", "mof")),
        Outcome::Applied
    );
    // A grant from the record fixture, granted by mof (whose dataset it becomes) to moe.
    let mut grant: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("record_grant_data_access.json")).unwrap(),
    )
    .unwrap();
    let grant = &mut grant["json"];
    grant["grant_id"] = json!("grant-1");
    grant["grantor"] = json!("mof");
    grant["grantee"] = json!("moe");
    grant["dataset_id"] = json!("mof:data-1");
    let grant: Record = serde_json::from_value(grant.clone()).unwrap();
    let steward = c.fx.signer("mof", Role::DataSteward).clone();
    assert_eq!(c.one(steward.clone(), grant), Outcome::Applied);
    // A contracting process: tender, close, award, contract.
    let buyer = c.fx.signer("mof", Role::ProcurementOfficer).clone();
    let open = ProcurementMethod::Open;
    for r in [
        process::tender("ocds-1", "mof", open, 500),
        process::close("ocds-1", process::day(3, 22)),
        process::award("ocds-1", "a1", "mof", open, 450, process::day(3, 25)),
        process::contract("ocds-1", "c1", "a1", 400, process::day(4, 1)),
    ] {
        assert_eq!(c.one(buyer.clone(), r), Outcome::Applied);
    }

    // Absent asset ids whose paths end in an empty subtree and in another key's leaf.
    let absent = |c: &governed::Chain, want_empty: bool| -> StateKey {
        (0..500)
            .map(|i| StateKey::Asset(format!("absent-{i}")))
            .find(|k| {
                let (p, _) = c.ledger.state_proof(k, None).unwrap();
                p.value.is_none() && matches!(p.end, ProofEnd::Empty) == want_empty
            })
            .expect("an absent key of each ending")
    };
    let full = Depth {
        proof_step: 1,
        checkpoint: false,
    };
    let mut bundles: Vec<(String, Value, Depth)> = Vec::new();
    let epoch0 = c.ledger.tip().height;
    let first_keys = [
        StateKey::Asset("asset-1".into()),
        StateKey::Grant("grant-1".into()),
        absent(&c, true),
        absent(&c, false),
    ];
    for (i, k) in first_keys.iter().enumerate() {
        let (_, b) = state_bundle(&c.ledger, k, None);
        let depth = Depth {
            proof_step: 1,
            checkpoint: i == 0,
        };
        bundles.push((
            format!("epoch 0: {}", serde_json::to_string(k).unwrap()),
            b,
            depth,
        ));
    }

    // Two epochs on: proofs under a checkpoint of epoch 2, with two links.
    c.rotate_to_next_epoch("v3", "one");
    c.rotate_to_next_epoch("v1", "two");
    c.empty_blocks(1);
    let member = steward.public();
    let mut keys = vec![
        (StateKey::Asset("asset-1".into()), full),
        (StateKey::Grant("grant-1".into()), full),
        (absent(&c, true), full),
        (absent(&c, false), full),
    ];
    let some = Depth {
        proof_step: 3,
        checkpoint: false,
    };
    for k in [
        StateKey::Asset("asset-2".into()),
        StateKey::Tender("ocds-1".into()),
        StateKey::Award("ocds-1".into(), "a1".into()),
        StateKey::Contract("ocds-1".into(), "c1".into()),
        StateKey::Compliance(ComplianceSubject::Tender("ocds-1".into())),
        StateKey::Compliance(ComplianceSubject::Award("ocds-1".into(), "a1".into())),
        StateKey::Dataset("mof:data-1".into()),
        StateKey::Member(member),
        StateKey::Seq(member),
        StateKey::Agency(AgencyId("mof".into())),
        StateKey::Proposal("rotate-v3-one".into()),
        StateKey::Governance,
        StateKey::EpochSet(Epoch(2)),
        StateKey::ValidatorKey(c.fx.validators[3].public()),
        StateKey::ProcurementLimits,
        StateKey::Grant("no-such-grant".into()),
    ] {
        keys.push((k, some));
    }
    for (i, (k, depth)) in keys.iter().enumerate() {
        let (_, b) = state_bundle(&c.ledger, k, None);
        let depth = Depth {
            checkpoint: i == 0,
            ..*depth
        };
        bundles.push((
            format!("epoch 2: {}", serde_json::to_string(k).unwrap()),
            b,
            depth,
        ));
    }
    // The same asset under the epoch-0 checkpoint, asked for by height after the epochs.
    let (_, b) = state_bundle(&c.ledger, &StateKey::Asset("asset-1".into()), Some(epoch0));
    bundles.push((
        "epoch 0 by height: asset-1".into(),
        b,
        Depth {
            proof_step: 7,
            checkpoint: false,
        },
    ));

    let text = serde_json::to_string_pretty(&c.fx.genesis).unwrap();
    let chain = c.fx.genesis.chain_id().to_hex();
    let mut cases = Vec::new();
    let mut present = std::collections::BTreeSet::new();
    for (label, b, depth) in &bundles {
        if b["proof"]["value"].is_object() {
            present.insert(
                b["proof"]["value"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .next()
                    .unwrap()
                    .clone(),
            );
        }
        cases.extend(state_cases_of(label, b, 0, &chain, *depth));
    }
    let report = state_differential(std::slice::from_ref(&text), &cases);
    jsdiff::assert_report("state-proof bundles", &report);
    // Each untouched bundle in its five forms, and with the right pin, is valid (and so,
    // as the verdicts agree, valid in JS too). A few changes keep a bundle valid, by the
    // kernel and in JS alike: a proven-absent key changed into another absent key on the
    // same path (an absence proof ending in another key's leaf proves both), a field
    // removed that serde defaults to the same value (`value` of an absence proof, a
    // parameter with a default).
    let genesis = jsdiff::load_genesis(&text);
    let verdict = |c: &jsdiff::state::StateCase| {
        jsdiff::state::kernel_state_verdict(&c.bundle, &genesis, c.chain.as_deref())
    };
    let untouched: Vec<_> = cases.iter().filter(|c| c.field == "untouched").collect();
    assert_eq!(untouched.len(), 6 * bundles.len());
    for c in &untouched {
        assert!(verdict(c).is_ok(), "{}: {:?}", c.label, verdict(c).err());
    }
    println!(
        "{} tampered bundles are still valid (by both)",
        report.valid - untouched.len()
    );
    println!("value kinds proven present: {present:?}");
    // What the asset and grant pages render: the summaries of the first two bundles.
    let shown = jsdiff::run_batch(&[
        json!({"kind": "state", "bundle": bundles[0].1, "genesis": text}),
        json!({"kind": "state", "bundle": bundles[1].1, "genesis_ref": 0}),
    ]);
    for a in &shown {
        println!("summary: {}", a["summary"]);
    }
    assert_eq!(shown[0]["summary"]["value"]["asset"]["custodian"], "mof");
    assert_eq!(shown[1]["summary"]["value"]["grant"]["grantee"], "moe");
    // An sm2-sm3 genesis: the browser has no SM2/SM3, so the answer is `unsupported` at the
    // genesis step (`chancery verify` decides such bundles).
    let sm2 = std::fs::read_to_string(fixtures().join("sm2-sm3/genesis.json")).unwrap();
    assert!(
        jsdiff::load_genesis(&sm2).is_ok(),
        "the sm2-sm3 fixture genesis loads"
    );
    let answers =
        jsdiff::run_batch(&[json!({"kind": "state", "bundle": bundles[0].1, "genesis": sm2})]);
    assert_eq!(answers[0]["status"], "unsupported", "{}", answers[0]);
    assert_eq!(answers[0]["failed"], "genesis", "{}", answers[0]);
    for kind in [
        "asset",
        "grant",
        "tender",
        "award",
        "contract",
        "compliance",
        "procurement_limits",
        "proposal",
        "governance",
        "validator_set",
    ] {
        assert!(present.contains(kind), "a present {kind} among {present:?}");
    }
    let epochs: std::collections::BTreeSet<u64> = bundles
        .iter()
        .map(|(_, b, _)| b["epochs"].as_array().unwrap().len() as u64)
        .collect();
    assert!(epochs.contains(&0) && epochs.contains(&2), "{epochs:?}");
}

/// A proof file with a key written twice is refused at `format` by the JavaScript, as
/// `chancery verify` refuses it (`json_strict`), though JSON.parse alone would keep the
/// last value and the receipt would then verify.
#[test]
fn a_duplicated_key_is_refused_by_the_javascript_too() {
    let Some(node) = jsdiff::node_or_skip("a_duplicated_key_is_refused_by_the_javascript_too")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixtures().join("ed25519-blake3/receipt.json")).unwrap();
    let genesis = fixtures().join("ed25519-blake3/genesis.json");
    let i = good.find("\"index\"").expect("an index field");
    let dup = format!("{}\"index\": 999999,\n  {}", &good[..i], &good[i..]);
    let run = |text: &str| {
        let p = dir.path().join("r.json");
        std::fs::write(&p, text).unwrap();
        let out = std::process::Command::new(&node)
            .arg(jsdiff::assets_dir().join("verify-cli.js"))
            .arg(&p)
            .arg(&genesis)
            .output()
            .expect("run node");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, out) = run(&good);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run(&dup);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("\"failed\": \"format\"") && out.contains("twice"),
        "{out}"
    );
}
