//! Pinned fixtures of a small chain in each crypto suite (issue 21): its genesis and chain
//! id, the log leaves and Merkle root of seven signed entries, and a receipt of one of them
//! that verifies against the genesis: SM2 votes over SM3 hashes in `sm2-sm3`, Ed25519 over
//! BLAKE3 in `ed25519-blake3`. Another implementation reproduces these files to show it
//! reads the chain as we do; the CLI's tests verify the pinned receipts with `chancery
//! verify` and recompute the SM3 hashes with OpenSSL; the kernel's `suites` benchmark
//! times their verification.
//!
//! The files live in `tests/fixtures/<suite>/`. A deliberate format change regenerates them
//! with `CHANCERY_BLESS=1 cargo test -p chancery-core --test chain_fixtures` (signing is
//! deterministic in both suites: SM2's nonce is derived from the key and message).

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

/// Entries in the fixture log.
const ENTRIES: usize = 7;
/// The entry the pinned receipt proves.
const RECEIPT_INDEX: usize = 3;

fn dir(suite: Suite) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(suite.name())
}

fn blessing() -> bool {
    std::env::var("CHANCERY_BLESS").is_ok_and(|v| v == "1")
}

/// The key of `suite` with secret `[byte; 32]` (an SM2 scalar in range for every byte used
/// here).
fn key(suite: Suite, byte: u8) -> SecretKey {
    SecretKey::from_secret(suite, [byte; 32]).expect("a scalar in 1..n-1")
}

struct Chain {
    suite: Suite,
    genesis: Genesis,
    validators: Vec<SecretKey>,
    entries: Vec<LogEntry>,
}

fn chain(suite: Suite) -> Chain {
    let validators: Vec<SecretKey> = (1..=4).map(|b| key(suite, b)).collect();
    let admin = key(suite, 0x20);
    let member = key(suite, 0x21);
    let genesis = Genesis {
        chain_name: format!("chancery-{suite}-fixture"),
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
        crypto: suite,
        procurement_limits: Default::default(),
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
                        hash: suite.hash(domain::DOCUMENT_HASH, title.as_bytes()),
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
        suite,
        genesis,
        validators,
        entries,
    }
}

impl Chain {
    fn leaves(&self) -> Vec<Digest> {
        self.entries
            .iter()
            .map(|e| merkle::leaf_hash(self.suite, &codec::encode(e)))
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
            txs_hash: block::txs_hash(self.suite, self.entries.iter().map(|e| e.tx.hash())),
            tx_count: ENTRIES as u32,
            log_size: ENTRIES as u64,
            log_root: merkle::root(self.suite, &self.leaves()),
            state_root: Digest([9; 32]),
            validator_set: self.genesis.validators.hash(),
            next_validator_set: Digest::ZERO,
        };
        let block = header.hash(self.suite);
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
            merkle::inclusion_proof_with(&SuiteLogHasher(self.suite), &self.leaves(), index as u64)
                .expect("an index in the log");
        Receipt::new(
            &self.entries[index],
            index as u64,
            &proof,
            &self.checkpoint(),
        )
    }

    /// The pinned Merkle facts: every leaf and the root, hex.
    fn merkle_json(&self) -> Value {
        let leaves = self.leaves();
        json!({
            "description": match self.suite {
                Suite::Sm2Sm3 => "SM3 log tree (RFC 6962 shape, leaf SM3(\"chancery/v1/hash/log-leaf\" || 0x00 || entry), node SM3(\"chancery/v1/hash/log-node\" || 0x00 || left || right)) over the seven canonical log entries of the fixture chain",
                Suite::Ed25519Blake3 => "BLAKE3 log tree (RFC 6962 shape, keyed BLAKE3 leaf and node hashes: docs/tlog.md) over the seven canonical log entries of the fixture chain",
            },
            "entries_hex": self.entries.iter().map(|e| hex::encode(codec::encode(e))).collect::<Vec<_>>(),
            "leaves": leaves.iter().map(Digest::to_hex).collect::<Vec<_>>(),
            "root": merkle::root(self.suite, &leaves).to_hex(),
            "tx_hashes": self.entries.iter().map(|e| e.tx.hash().to_hex()).collect::<Vec<_>>(),
        })
    }
}

/// The pinned file `name` of `suite`, or (blessing) the freshly built `value` written in
/// its place.
fn pinned(suite: Suite, name: &str, value: &Value) -> Value {
    let path = dir(suite).join(name);
    if blessing() {
        std::fs::create_dir_all(dir(suite)).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(value).unwrap() + "\n").unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; bless with CHANCERY_BLESS=1 cargo test -p chancery-core --test chain_fixtures",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn read(suite: Suite, name: &str) -> Value {
    let path = dir(suite).join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn the_chain_fixtures_are_what_the_kernel_builds() {
    for suite in Suite::ALL {
        let c = chain(suite);
        let genesis = serde_json::to_value(&c.genesis).unwrap();
        assert_eq!(
            pinned(suite, "genesis.json", &genesis),
            genesis,
            "{suite}: genesis.json changed"
        );
        let ids = json!({
            "chain_id": c.genesis.chain_id().to_hex(),
            "genesis_encoding_hex": hex::encode(codec::encode(&c.genesis)),
            "validator_set_hash": c.genesis.validators.hash().to_hex(),
            "block_1_hash": c.checkpoint().header.hash(suite).to_hex(),
        });
        assert_eq!(
            pinned(suite, "ids.json", &ids),
            ids,
            "{suite}: ids.json changed"
        );
        let m = c.merkle_json();
        assert_eq!(
            pinned(suite, "merkle.json", &m),
            m,
            "{suite}: merkle.json changed"
        );
        let r = serde_json::to_value(c.receipt(RECEIPT_INDEX)).unwrap();
        assert_eq!(
            pinned(suite, "receipt.json", &r),
            r,
            "{suite}: receipt.json changed"
        );
    }
}

#[test]
fn each_pinned_receipt_verifies_against_its_pinned_genesis_only() {
    if blessing() {
        // The other test is rewriting the files.
        return;
    }
    for suite in Suite::ALL {
        let g: Genesis = serde_json::from_value(read(suite, "genesis.json")).unwrap();
        assert_eq!(g.crypto, suite);
        assert_eq!(Genesis::from_bytes(&codec::encode(&g)), Ok(g.clone()));
        let r: Receipt = serde_json::from_value(read(suite, "receipt.json")).unwrap();
        let sum = receipt::verify(&r, &g).expect("the pinned receipt verifies");
        assert_eq!(sum.index, RECEIPT_INDEX as u64);
        assert_eq!(sum.checkpoint_size, ENTRIES as u64);
        // The chain id, every hash and every signature depend on the suite: the same
        // genesis named as the other suite is another chain, and the receipt does not
        // verify against it.
        let mut other = g.clone();
        other.crypto = Suite::ALL.into_iter().find(|s| *s != suite).unwrap();
        assert!(receipt::verify(&r, &other).is_err(), "{suite}");
        // The pinned Merkle root is the one the receipt's checkpoint commits to.
        let cp: Checkpoint = codec::decode_in(suite, &hex::decode(&r.checkpoint).unwrap()).unwrap();
        assert_eq!(
            read(suite, "merkle.json")["root"],
            cp.header.log_root.to_hex()
        );
        // A flipped proof byte fails.
        let mut bad = r.clone();
        let mut p0 = hex::decode(&bad.proof[0]).unwrap();
        p0[0] ^= 1;
        bad.proof[0] = hex::encode(p0);
        assert!(receipt::verify(&bad, &g).is_err(), "{suite}");
    }
}
