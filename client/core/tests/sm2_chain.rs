//! Pinned fixtures of an `sm2-sm3` chain (issue 21): its genesis and chain id, the SM3
//! log leaves and Merkle root of seven signed entries, and a receipt of one of them
//! (SM2 votes over an SM3 block hash) that verifies against the genesis. Another
//! implementation reproduces these files to show it reads the chain as we do; the CLI's
//! tests verify the pinned receipt with `chancery verify`.
//!
//! The files live in `tests/fixtures/sm2-sm3/`. A deliberate format change regenerates them
//! with `CHANCERY_BLESS=1 cargo test -p chancery-core --test sm2_chain` (SM2 signing here
//! is deterministic: the nonce is derived from the key and message, RFC 6979 style).

use chancery_core::block::{self, BlockHeader, LogEntry, Outcome};
use chancery_core::cert::{Certificate, IndexedSignature, VoteBody, VoteKind};
use chancery_core::checkpoint::Checkpoint;
use chancery_core::crypto::SecretKey;
use chancery_core::genesis::{Agency, ChainParams, Genesis, Member};
use chancery_core::merkle::{self, SuiteLogHasher};
use chancery_core::receipt::{self, Receipt};
use chancery_core::record::{AnchorDocument, DocumentRef, Record, RecordRef, Role};
use chancery_core::suite::Suite;
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::validator::{Validator, ValidatorSet};
use chancery_core::{codec, domain, AgencyId, Digest, Epoch, Height, Seq, TimestampMs, View};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const SM2: Suite = Suite::Sm2Sm3;
/// Entries in the fixture log.
const ENTRIES: usize = 7;
/// The entry the pinned receipt proves.
const RECEIPT_INDEX: usize = 3;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sm2-sm3")
}

fn blessing() -> bool {
    std::env::var("CHANCERY_BLESS").is_ok_and(|v| v == "1")
}

/// The SM2 key with secret scalar `[byte; 32]` (in range for every byte used here).
fn key(byte: u8) -> SecretKey {
    SecretKey::from_secret(SM2, [byte; 32]).expect("a scalar in 1..n-1")
}

struct Chain {
    genesis: Genesis,
    validators: Vec<SecretKey>,
    entries: Vec<LogEntry>,
}

fn chain() -> Chain {
    let validators: Vec<SecretKey> = (1..=4).map(key).collect();
    let admin = key(0x20);
    let member = key(0x21);
    let genesis = Genesis {
        chain_name: "chancery-sm2-fixture".into(),
        genesis_time: TimestampMs(1_795_737_600_000),
        agencies: vec![Agency {
            id: AgencyId("mof".into()),
            name_zh: "财政部".into(),
            name_en: "Ministry of Finance".into(),
            admin_keys: vec![admin.public()],
        }],
        members: vec![Member {
            agency: AgencyId("mof".into()),
            key: member.public(),
            name: "档案员".into(),
            roles: vec![Role::Archivist],
        }],
        validators: ValidatorSet {
            epoch: Epoch(0),
            start_height: Height(1),
            validators: validators
                .iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    name: format!("mof-{}", i + 1),
                    agency: AgencyId("mof".into()),
                    consensus_key: k.public(),
                    network_key: chancery_core::NetworkKey::from_seed([0x40 + i as u8; 32]),
                    power: 1,
                })
                .collect(),
        },
        params: ChainParams::default(),
        crypto: SM2,
    };
    let chain_id = genesis.chain_id();
    let entries = (0..ENTRIES)
        .map(|i| {
            let title = format!("审批文件 {i}");
            let body = TxBody {
                chain_id,
                signer: member.public(),
                seq: Seq(i as u64),
                record: Record::AnchorDocument(AnchorDocument {
                    document: DocumentRef {
                        // Documents are hashed with the chain's suite as well.
                        hash: SM2.hash(domain::DOCUMENT_HASH, title.as_bytes()),
                        kind: "approval".into(),
                        title,
                        url: String::new(),
                    },
                    supports: RecordRef::None,
                }),
            };
            LogEntry {
                height: Height(1),
                time: TimestampMs(1_795_737_601_000),
                tx: Transaction::sign(body, &member),
                outcome: Outcome::Applied,
            }
        })
        .collect();
    Chain {
        genesis,
        validators,
        entries,
    }
}

impl Chain {
    fn leaves(&self) -> Vec<Digest> {
        self.entries
            .iter()
            .map(|e| merkle::leaf_hash(SM2, &codec::encode(e)))
            .collect()
    }

    /// Block 1, holding every entry, finalized by validators 0, 1 and 3.
    fn checkpoint(&self) -> Checkpoint {
        let header = BlockHeader {
            chain_id: self.genesis.chain_id(),
            epoch: Epoch(0),
            height: Height(1),
            view: View(1),
            parent: Digest::ZERO,
            proposer: 1,
            time: TimestampMs(1_795_737_601_000),
            txs_hash: block::txs_hash(SM2, self.entries.iter().map(|e| e.tx.hash())),
            tx_count: ENTRIES as u32,
            log_size: ENTRIES as u64,
            log_root: merkle::root(SM2, &self.leaves()),
            state_root: Digest([9; 32]),
            validator_set: self.genesis.validators.hash(),
            next_validator_set: Digest::ZERO,
        };
        let block = header.hash(SM2);
        let body = VoteBody {
            chain_id: self.genesis.chain_id(),
            epoch: header.epoch,
            view: header.view,
            kind: VoteKind::Finalize,
            block,
        };
        let certificate = Certificate {
            kind: VoteKind::Finalize,
            epoch: header.epoch,
            view: header.view,
            block,
            signatures: [0usize, 1, 3]
                .iter()
                .map(|&i| IndexedSignature {
                    index: i as u16,
                    signature: body.sign(&self.validators[i]),
                })
                .collect(),
        };
        Checkpoint {
            header,
            certificate,
        }
    }

    fn receipt(&self, index: usize) -> Receipt {
        let proof =
            merkle::inclusion_proof_with(&SuiteLogHasher(SM2), &self.leaves(), index as u64)
                .expect("an index in the log");
        Receipt::new(&self.entries[index], index as u64, &proof, &self.checkpoint())
    }

    /// The pinned Merkle facts: every leaf and the root, hex.
    fn merkle_json(&self) -> Value {
        let leaves = self.leaves();
        json!({
            "description": "SM3 log tree (RFC 6962 shape, leaf SM3(\"chancery/v1/hash/log-leaf\" || 0x00 || entry), node SM3(\"chancery/v1/hash/log-node\" || 0x00 || left || right)) over the seven canonical log entries of the fixture chain",
            "entries_hex": self.entries.iter().map(|e| hex::encode(codec::encode(e))).collect::<Vec<_>>(),
            "leaves": leaves.iter().map(Digest::to_hex).collect::<Vec<_>>(),
            "root": merkle::root(SM2, &leaves).to_hex(),
            "tx_hashes": self.entries.iter().map(|e| e.tx.hash().to_hex()).collect::<Vec<_>>(),
        })
    }
}

/// The pinned file `name`, or (blessing) the freshly built `value` written in its place.
fn pinned(name: &str, value: &Value) -> Value {
    let path = dir().join(name);
    if blessing() {
        std::fs::create_dir_all(dir()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(value).unwrap() + "\n").unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; bless with CHANCERY_BLESS=1 cargo test -p chancery-core --test sm2_chain",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_sm2_chain_fixtures_are_what_the_kernel_builds() {
    let c = chain();
    let genesis = serde_json::to_value(&c.genesis).unwrap();
    assert_eq!(pinned("genesis.json", &genesis), genesis, "genesis.json changed");
    let ids = json!({
        "chain_id": c.genesis.chain_id().to_hex(),
        "genesis_encoding_hex": hex::encode(codec::encode(&c.genesis)),
        "validator_set_hash": c.genesis.validators.hash().to_hex(),
        "block_1_hash": c.checkpoint().header.hash(SM2).to_hex(),
    });
    assert_eq!(pinned("ids.json", &ids), ids, "ids.json changed");
    let m = c.merkle_json();
    assert_eq!(pinned("merkle.json", &m), m, "merkle.json changed");
    let r = serde_json::to_value(c.receipt(RECEIPT_INDEX)).unwrap();
    assert_eq!(pinned("receipt.json", &r), r, "receipt.json changed");
}

#[test]
fn the_pinned_receipt_verifies_against_the_pinned_genesis_only() {
    let g: Genesis =
        serde_json::from_str(&std::fs::read_to_string(dir().join("genesis.json")).unwrap())
            .unwrap();
    assert_eq!(g.crypto, SM2);
    assert_eq!(Genesis::from_bytes(&codec::encode(&g)), Ok(g.clone()));
    let text = std::fs::read_to_string(dir().join("receipt.json")).unwrap();
    let r: Receipt = serde_json::from_str(&text).unwrap();
    let sum = receipt::verify(&r, &g).expect("the pinned receipt verifies");
    assert_eq!(sum.index, RECEIPT_INDEX as u64);
    assert_eq!(sum.checkpoint_size, ENTRIES as u64);
    // The chain id, every hash and every signature depend on the suite: the same genesis
    // read as a default chain (its keys are SM2 keys, so only the suite field differs) is
    // another chain, and the receipt does not verify against it.
    let mut other = g.clone();
    other.crypto = Suite::Ed25519Blake3;
    assert!(receipt::verify(&r, &other).is_err());
    // The pinned Merkle root is the one the receipt's checkpoint commits to.
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("merkle.json")).unwrap())
            .unwrap();
    let cp: Checkpoint = codec::decode_in(SM2, &hex::decode(&r.checkpoint).unwrap()).unwrap();
    assert_eq!(m["root"], cp.header.log_root.to_hex());
    // A flipped proof byte fails.
    let mut bad = r.clone();
    let mut p0 = hex::decode(&bad.proof[0]).unwrap();
    p0[0] ^= 1;
    bad.proof[0] = hex::encode(p0);
    assert!(receipt::verify(&bad, &g).is_err());
}
