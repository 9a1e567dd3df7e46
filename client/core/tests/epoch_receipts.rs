//! Receipts across epochs (docs/governance.md): a receipt whose checkpoint is of epoch
//! `e > 0` carries the `e` links of the epoch chain, and verifies with only the genesis;
//! a tampered link, certificate or next set fails with an error naming the link.
//!
//! The chain: 4 validators with fresh keys every epoch; epoch `e` ends at height
//! `10 (e + 1)`. Transactions are anchors signed by one member key.

use chancery_core::block::{self, BlockHeader, LogEntry, Outcome};
use chancery_core::cert::{CertError, Certificate, IndexedSignature, VoteBody, VoteKind};
use chancery_core::checkpoint::{Checkpoint, CheckpointError};
use chancery_core::crypto::SecretKey;
use chancery_core::epoch::{
    EpochChainError, EpochLink, EpochProofError, VerifiedEpochs, EPOCH_LINK_ENCODING_BYTES_MAX,
};
use chancery_core::genesis::{Agency, ChainParams, Genesis};
use chancery_core::merkle::{self, Blake3Hasher};
use chancery_core::receipt::{self, Receipt, ReceiptError, RECEIPT_FORMAT, RECEIPT_FORMAT_V2};
use chancery_core::record::{AnchorDocument, DocumentRef, Record, RecordRef};
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::validator::{Validator, ValidatorSet};
use chancery_core::{codec, AgencyId, Digest, Epoch, Height, NetworkKey, Seq, TimestampMs, View};

/// Consensus keys of epoch `e`.
fn keys(e: u64) -> Vec<SecretKey> {
    (0..4u8)
        .map(|i| SecretKey::from_seed([e as u8 * 16 + i + 1; 32]))
        .collect()
}

/// First height of epoch `e`.
fn start(e: u64) -> u64 {
    if e == 0 {
        1
    } else {
        10 * e + 1
    }
}

fn set(e: u64) -> ValidatorSet {
    ValidatorSet {
        epoch: Epoch(e),
        start_height: Height(start(e)),
        validators: keys(e)
            .iter()
            .enumerate()
            .map(|(i, k)| Validator {
                name: format!("v{i}"),
                agency: AgencyId("mof".into()),
                consensus_key: k.public(),
                network_key: NetworkKey([200 + e as u8 * 4 + i as u8; 32]),
                power: 1,
            })
            .collect(),
    }
}

fn member() -> SecretKey {
    SecretKey::from_seed([250; 32])
}

fn genesis() -> Genesis {
    Genesis {
        chain_name: "epochs".into(),
        genesis_time: TimestampMs(1_795_737_600_000),
        agencies: vec![Agency {
            id: AgencyId("mof".into()),
            name_zh: "财政部".into(),
            name_en: "Ministry of Finance".into(),
            admin_keys: vec![member().public()],
        }],
        members: vec![],
        validators: set(0),
        params: ChainParams::default(),
        crypto: Default::default(),
        procurement_limits: Default::default(),
    }
}

struct Chain {
    genesis: Genesis,
    entries: Vec<LogEntry>,
    leaves: Vec<Digest>,
}

/// One anchor per height from 1 to 35 (epochs 0..=3).
fn chain() -> Chain {
    let genesis = genesis();
    let entries: Vec<LogEntry> = (1..=35u64)
        .map(|h| {
            let body = TxBody {
                chain_id: genesis.chain_id(),
                signer: member().public(),
                seq: Seq(h - 1),
                record: Record::AnchorDocument(AnchorDocument {
                    document: DocumentRef {
                        hash: Digest([h as u8; 32]),
                        kind: "minutes".into(),
                        title: format!("Minutes {h}"),
                        url: String::new(),
                    },
                    supports: RecordRef::None,
                }),
            };
            LogEntry {
                height: Height(h),
                time: TimestampMs(1_795_737_600_000 + h * 1000),
                tx: Transaction::sign(body, &member()),
                outcome: Outcome::Applied,
            }
        })
        .collect();
    let leaves = entries
        .iter()
        .map(|e| merkle::leaf_hash(chancery_core::suite::Suite::default(), &codec::encode(e)))
        .collect();
    Chain {
        genesis,
        entries,
        leaves,
    }
}

impl Chain {
    /// The header at `height` of epoch `e` (one entry per block, so log size = height).
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
            txs_hash: block::txs_hash(
                chancery_core::suite::Suite::default(),
                [self.entries[n - 1].tx.hash()],
            ),
            tx_count: 1,
            log_size: height,
            log_root: merkle::root(chancery_core::suite::Suite::default(), &self.leaves[..n]),
            state_root: Digest([9; 32]),
            validator_set: set(e).hash(),
            next_validator_set: next,
        }
    }

    fn certify(&self, header: BlockHeader, signers: &[SecretKey]) -> Checkpoint {
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
            signatures: signers[..3]
                .iter()
                .enumerate()
                .map(|(i, k)| IndexedSignature {
                    index: i as u16,
                    signature: body.sign(k),
                })
                .collect(),
        };
        Checkpoint {
            header,
            certificate,
        }
    }

    /// The link that ends epoch `e`.
    fn link(&self, e: u64) -> EpochLink {
        let next = set(e + 1);
        let cp = self.certify(self.header(e, 10 * (e + 1), next.hash()), &keys(e));
        EpochLink {
            header: cp.header,
            certificate: cp.certificate,
            next,
            suffix: vec![],
        }
    }

    fn links(&self, n: u64) -> Vec<EpochLink> {
        (0..n).map(|e| self.link(e)).collect()
    }

    /// A checkpoint of epoch `e` at `height`, certified by that epoch's keys.
    fn checkpoint(&self, e: u64, height: u64) -> Checkpoint {
        self.certify(self.header(e, height, Digest::ZERO), &keys(e))
    }

    /// The receipt of the entry at `height` under `cp`, carrying `links`.
    fn receipt(&self, height: u64, cp: &Checkpoint, links: &[EpochLink]) -> Receipt {
        let index = height - 1;
        let size = cp.header.log_size as usize;
        let proof = merkle::inclusion_proof_with(&Blake3Hasher, &self.leaves[..size], index)
            .expect("index below size");
        Receipt::new(&self.entries[index as usize], index, &proof, cp).with_epochs(links)
    }
}

fn verify_json(r: &Receipt, g: &Genesis) -> Result<receipt::ReceiptSummary, ReceiptError> {
    // Through the JSON form, as `chancery verify` reads it.
    let back: Receipt = serde_json::from_str(&serde_json::to_string(r).unwrap()).unwrap();
    receipt::verify(&back, g)
}

#[test]
fn a_receipt_of_epoch_0_is_v1_without_links() {
    let c = chain();
    let cp = c.checkpoint(0, 8);
    let r = c.receipt(5, &cp, &[]);
    assert_eq!(r.format, RECEIPT_FORMAT);
    assert_eq!(r.epochs, None);
    let json = serde_json::to_value(&r).unwrap();
    assert!(json.get("epochs").is_none(), "{json}");
    let s = verify_json(&r, &c.genesis).unwrap();
    assert_eq!((s.checkpoint_epoch, s.height), (Epoch(0), Height(5)));
    assert!(!s.to_string().contains("epoch links"), "{s}");
}

#[test]
fn a_receipt_of_epoch_2_carries_two_links_and_verifies_from_the_genesis() {
    let c = chain();
    let cp = c.checkpoint(2, 25);
    // An entry of epoch 0 proven under a checkpoint of epoch 2, and one of epoch 2.
    for h in [3, 24] {
        let r = c.receipt(h, &cp, &c.links(2));
        assert_eq!(r.format, RECEIPT_FORMAT_V2);
        assert_eq!(r.epochs.as_ref().map(Vec::len), Some(2));
        let s = verify_json(&r, &c.genesis).unwrap();
        assert_eq!(s.checkpoint_epoch, Epoch(2));
        assert_eq!(s.checkpoint_height, Height(25));
        assert_eq!(s.height, Height(h));
        assert!(
            s.to_string().contains("epoch 2 (2 epoch links verified"),
            "{s}"
        );
    }
    // Without the chain, the genesis alone cannot verify it.
    let mut bare = c.receipt(24, &cp, &c.links(2));
    bare.format = RECEIPT_FORMAT.into();
    bare.epochs = None;
    let e = receipt::verify(&bare, &c.genesis).unwrap_err();
    assert!(
        matches!(
            e,
            ReceiptError::Checkpoint(CheckpointError::UnknownEpoch { .. })
        ),
        "{e}"
    );
}

#[test]
fn a_tampered_link_fails_and_the_error_names_it() {
    let c = chain();
    let cp = c.checkpoint(2, 25);
    let good = c.links(2);
    let check = |links: Vec<EpochLink>, want: &dyn Fn(&ReceiptError) -> bool, name: &str| {
        let e = verify_json(&c.receipt(24, &cp, &links), &c.genesis).unwrap_err();
        assert!(want(&e), "unexpected error: {e}");
        assert!(e.to_string().contains(name), "{e} does not name {name}");
    };
    // A changed boundary header (its state root): its certificate no longer signs it.
    let mut links = good.clone();
    links[1].header.state_root = Digest([1; 32]);
    check(
        links,
        &|e| {
            matches!(
                e,
                ReceiptError::Epochs(EpochProofError::Chain(EpochChainError::Checkpoint {
                    index: 1,
                    source: CheckpointError::CertificateMismatch { field: "block", .. }
                }))
            )
        },
        "epoch link 1",
    );
    // A forged signature in the first link's certificate.
    let mut links = good.clone();
    links[0].certificate.signatures[2].signature.0[7] ^= 1;
    check(
        links,
        &|e| {
            matches!(
                e,
                ReceiptError::Epochs(EpochProofError::Chain(EpochChainError::Checkpoint {
                    index: 0,
                    source: CheckpointError::Certificate(CertError::BadSignature { index: 2, .. })
                }))
            )
        },
        "epoch link 0",
    );
    // A next set that is not the one the boundary committed (one more vote for v0).
    let mut links = good.clone();
    links[1].next.validators[0].power = 3;
    check(
        links,
        &|e| {
            matches!(
                e,
                ReceiptError::Epochs(EpochProofError::Chain(EpochChainError::NextSetMismatch {
                    index: 1,
                    ..
                }))
            )
        },
        "epoch link 1",
    );
    // A next set of the attacker's keys, with a boundary header committing it, signed by
    // the attacker (not by the old set).
    let mut links = good.clone();
    let forged = ValidatorSet {
        validators: set(1)
            .validators
            .into_iter()
            .zip(keys(9))
            .map(|(v, k)| Validator {
                consensus_key: k.public(),
                ..v
            })
            .collect(),
        ..set(1)
    };
    let h = c.header(0, 10, forged.hash());
    let cp0 = c.certify(h, &keys(9));
    links[0] = EpochLink {
        header: cp0.header,
        certificate: cp0.certificate,
        next: forged,
        suffix: vec![],
    };
    check(
        links,
        &|e| {
            matches!(
                e,
                ReceiptError::Epochs(EpochProofError::Chain(EpochChainError::Checkpoint {
                    index: 0,
                    ..
                }))
            )
        },
        "epoch link 0",
    );
    // Links out of order, missing, one too many.
    let mut links = good.clone();
    links.swap(0, 1);
    check(
        links,
        &|e| {
            matches!(
                e,
                ReceiptError::Epochs(EpochProofError::Chain(EpochChainError::WrongEpoch {
                    index: 0,
                    ..
                }))
            )
        },
        "epoch link 0",
    );
    check(
        good[..1].to_vec(),
        &|e| {
            matches!(
                e,
                ReceiptError::Epochs(EpochProofError::EpochNotProven {
                    found: Epoch(2),
                    reached: Epoch(1)
                })
            )
        },
        "epoch 2",
    );
    check(
        c.links(3),
        &|e| {
            matches!(
                e,
                ReceiptError::Epochs(EpochProofError::TooManyLinks { found: 3, .. })
            )
        },
        "3 epoch links",
    );
}

#[test]
fn a_checkpoint_signed_by_an_older_set_fails_even_with_the_chain() {
    let c = chain();
    // Epoch 2's header, certified by the genesis keys.
    let cp = c.certify(c.header(2, 25, Digest::ZERO), &keys(0));
    let e = verify_json(&c.receipt(24, &cp, &c.links(2)), &c.genesis).unwrap_err();
    assert!(
        matches!(
            e,
            ReceiptError::Epochs(EpochProofError::Checkpoint {
                epoch: Epoch(2),
                source: CheckpointError::Certificate(CertError::BadSignature { .. })
            })
        ),
        "{e}"
    );
}

#[test]
fn the_epochs_field_must_fit_the_format() {
    let c = chain();
    let cp = c.checkpoint(2, 25);
    let good = c.receipt(24, &cp, &c.links(2));
    // v1 with links, v2 without, v2 with an empty list.
    let mut r = good.clone();
    r.format = RECEIPT_FORMAT.into();
    assert!(matches!(
        receipt::verify(&r, &c.genesis),
        Err(ReceiptError::EpochsField(_))
    ));
    let mut r = good.clone();
    r.epochs = None;
    assert!(matches!(
        receipt::verify(&r, &c.genesis),
        Err(ReceiptError::EpochsField(_))
    ));
    let mut r = good.clone();
    r.epochs = Some(vec![]);
    assert!(matches!(
        receipt::verify(&r, &c.genesis),
        Err(ReceiptError::EpochsField(_))
    ));
    // Upper-case hex and bytes that do not decode name the link.
    let mut r = good.clone();
    let l1 = r.epochs.as_ref().unwrap()[1].clone();
    r.epochs.as_mut().unwrap()[1] = l1.to_uppercase();
    let e = receipt::verify(&r, &c.genesis).unwrap_err();
    assert!(e.to_string().contains("epochs[1]"), "{e}");
    let mut r = good.clone();
    r.epochs.as_mut().unwrap()[1] = format!("{l1}00");
    let e = receipt::verify(&r, &c.genesis).unwrap_err();
    assert!(
        matches!(e, ReceiptError::EpochLinkEncoding { index: 1, .. }),
        "{e}"
    );
    // An unknown format.
    let mut r = good;
    r.format = "chancery-receipt/v3".into();
    assert!(matches!(
        receipt::verify(&r, &c.genesis),
        Err(ReceiptError::Format { .. })
    ));
}

#[test]
fn flipping_bytes_of_the_carried_chain_breaks_the_receipt() {
    let c = chain();
    let cp = c.checkpoint(2, 25);
    let json = serde_json::to_string_pretty(&c.receipt(24, &cp, &c.links(2))).unwrap();
    let start = json.find("\"epochs\"").unwrap();
    let bytes = json.as_bytes();
    assert!(serde_json::from_slice::<Receipt>(bytes)
        .map(|r| receipt::verify(&r, &c.genesis).is_ok())
        .unwrap());
    // Every 5th byte of the epochs field (signature checks dominate: keep it quick).
    let mut checked = 0;
    for i in (start..bytes.len()).step_by(5) {
        let mut b = bytes.to_vec();
        b[i] ^= 0x01;
        let ok = serde_json::from_slice::<Receipt>(&b)
            .ok()
            .is_some_and(|r| receipt::verify(&r, &c.genesis).is_ok());
        assert!(!ok, "flipping byte {i} still verifies");
        checked += 1;
    }
    assert!(checked > 400, "{checked}");
}

#[test]
fn a_verifier_holding_later_links_refuses_a_checkpoint_after_its_epochs_end() {
    let c = chain();
    // The genesis keys, retired after epoch 0, certify a header of epoch 0 at height 25.
    let stale = c.certify(c.header(0, 25, Digest::ZERO), &keys(0));
    // With the genesis alone it verifies: nothing tells the verifier epoch 0 ended.
    assert!(stale.verify(&c.genesis).is_ok());
    // With the chain it does not.
    let epochs = VerifiedEpochs::verify(&c.genesis, &c.links(3)).unwrap();
    assert_eq!(epochs.epoch(), Epoch(3));
    assert_eq!(
        epochs.verify_checkpoint(&stale).unwrap_err(),
        EpochProofError::AfterEpochEnd {
            epoch: Epoch(0),
            height: Height(25),
            next_start: Height(11)
        }
    );
    // Checkpoints of each epoch verify with the right set.
    for (e, h) in [(0, 5), (1, 15), (2, 25), (3, 35)] {
        let cp = c.checkpoint(e, h);
        assert_eq!(epochs.verify_checkpoint(&cp).unwrap().header().height.0, h);
    }
    assert!(EPOCH_LINK_ENCODING_BYTES_MAX > codec::encode(&c.link(0)).len());
}

/// Receipt verification time as a function of the epochs crossed, for sets of 4 and 16
/// validators: median of 15 runs each. A measurement, not a check: run it in release mode,
/// `cargo test --release -p chancery-core --test epoch_receipts -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: run in release mode with --ignored --nocapture"]
fn receipt_verification_time_by_epochs_crossed() {
    use std::time::Instant;
    const RUNS: usize = 15;
    let member = member();
    for n in [4usize, 16] {
        let keys_of = |e: u64| -> Vec<SecretKey> {
            (0..n)
                .map(|i| {
                    let mut seed = [0u8; 32];
                    seed[..8].copy_from_slice(&e.to_be_bytes());
                    seed[8] = i as u8;
                    seed[9] = 0xee;
                    SecretKey::from_seed(seed)
                })
                .collect()
        };
        let set_of = |e: u64| ValidatorSet {
            epoch: Epoch(e),
            start_height: Height(start(e)),
            validators: keys_of(e)
                .iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    name: format!("agency{i}-node"),
                    agency: AgencyId(format!("agency{i}")),
                    consensus_key: k.public(),
                    network_key: chancery_core::NetworkKey::from_seed([i as u8 + 100; 32]),
                    power: 1,
                })
                .collect(),
        };
        let genesis = Genesis {
            validators: set_of(0),
            ..genesis()
        };
        let quorum = n - (n - 1) / 3;
        let certify = |h: BlockHeader, keys: &[SecretKey]| -> Certificate {
            let body = VoteBody {
                chain_id: genesis.chain_id(),
                epoch: h.epoch,
                view: h.view,
                kind: VoteKind::Finalize,
                block: h.hash(chancery_core::suite::Suite::default()),
            };
            Certificate {
                kind: VoteKind::Finalize,
                epoch: h.epoch,
                view: h.view,
                block: h.hash(chancery_core::suite::Suite::default()),
                signatures: keys[..quorum]
                    .iter()
                    .enumerate()
                    .map(|(i, k)| IndexedSignature {
                        index: i as u16,
                        signature: body.sign(k),
                    })
                    .collect(),
            }
        };
        // One entry, in a block of every epoch: the receipt's checkpoint is its own block.
        let entry = LogEntry {
            height: Height(1),
            time: TimestampMs(1_795_737_601_000),
            tx: Transaction::sign(
                TxBody {
                    chain_id: genesis.chain_id(),
                    signer: member.public(),
                    seq: Seq(0),
                    record: Record::AnchorDocument(AnchorDocument {
                        document: DocumentRef {
                            hash: Digest([1; 32]),
                            kind: "minutes".into(),
                            title: "Minutes".into(),
                            url: String::new(),
                        },
                        supports: RecordRef::None,
                    }),
                },
                &member,
            ),
            outcome: Outcome::Applied,
        };
        let leaf = merkle::leaf_hash(
            chancery_core::suite::Suite::default(),
            &codec::encode(&entry),
        );
        let header = |e: u64, height: u64, next: Digest| BlockHeader {
            chain_id: genesis.chain_id(),
            epoch: Epoch(e),
            height: Height(height),
            view: View(height),
            parent: Digest([7; 32]),
            proposer: 0,
            time: TimestampMs(1_795_737_600_000 + height * 1000),
            txs_hash: Digest([8; 32]),
            tx_count: 0,
            log_size: 1,
            log_root: merkle::root(chancery_core::suite::Suite::default(), &[leaf]),
            state_root: Digest([9; 32]),
            validator_set: set_of(e).hash(),
            next_validator_set: next,
        };
        let max_epochs = 64u64;
        let links: Vec<EpochLink> = (0..max_epochs)
            .map(|e| {
                let next = set_of(e + 1);
                let h = header(e, 10 * (e + 1), next.hash());
                EpochLink {
                    certificate: certify(h.clone(), &keys_of(e)),
                    header: h,
                    next,
                    suffix: vec![],
                }
            })
            .collect();
        println!("\n{n} validators (quorum {quorum}), median of {RUNS} runs:");
        println!("epochs crossed | receipt bytes (JSON) | verify (ms)");
        for e in [0u64, 1, 2, 4, 8, 16, 32, 64] {
            let h = header(e, start(e) + 2, Digest::ZERO);
            let cp = Checkpoint {
                certificate: certify(h.clone(), &keys_of(e)),
                header: h,
            };
            let r = Receipt::new(&entry, 0, &[], &cp).with_epochs(&links[..e as usize]);
            let json = serde_json::to_string(&r).unwrap();
            let mut times: Vec<f64> = (0..RUNS)
                .map(|_| {
                    let t = Instant::now();
                    let back: Receipt = serde_json::from_str(&json).unwrap();
                    let s = receipt::verify(&back, &genesis).unwrap();
                    assert_eq!(s.checkpoint_epoch, Epoch(e));
                    t.elapsed().as_secs_f64() * 1000.0
                })
                .collect();
            times.sort_by(f64::total_cmp);
            println!("{e:>14} | {:>20} | {:>10.3}", json.len(), times[RUNS / 2]);
        }
    }
}
