//! Language-neutral test vectors (`tests/vectors/*.json` at the workspace root), generated
//! from the kernel and pinned: this test builds every vector deterministically (fixed
//! seeds, no time, no randomness), computes the kernel's verdict on each, and checks that
//! the result equals the committed files byte for byte. The format of each file is in
//! `tests/vectors/README.md`; node/explorer/tests/vectors_js.rs runs them through the
//! in-browser verifier.
//!
//! A change of any encoding, hash, verdict or error message fails this test. If the change
//! is deliberate, regenerate the files with
//!
//! ```text
//! CHANCERY_BLESS=1 cargo test -p chancery-core --test vectors
//! ```
//!
//! and commit them with the change that explains why. Without the variable this test
//! never writes anything.
// Tests decode in the default suite.
#![allow(clippy::disallowed_methods)]

mod strategies;

use chancery_core::block::{self, BlockHeader, LogEntry, Outcome, ReasonCode};
use chancery_core::cert::{Certificate, IndexedSignature, VoteBody, VoteKind};
use chancery_core::checkpoint::Checkpoint;
use chancery_core::codec::{self, Canonical};
use chancery_core::crypto::{self, BatchItem, SecretKey};
use chancery_core::domain::{self, Tag};
use chancery_core::epoch::{verify_checkpoint_with_links, EpochLink};
use chancery_core::genesis::Genesis;
use chancery_core::merkle::{self, Blake3Hasher};
use chancery_core::receipt::{
    self, decode_epoch_links, Receipt, ReceiptError, ReceiptSummary, RECEIPT_FORMAT,
    RECEIPT_FORMAT_V2,
};
use chancery_core::record::{Record, RecordKind};
use chancery_core::state::{
    self as st, AssetState, AssetStatus, ProofEnd, StateKey, StateProof, StateValue,
};
use chancery_core::suite::Suite;
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::validator::{Validator, ValidatorSet};
use chancery_core::{AgencyId, Digest, Epoch, Height, NetworkKey, PublicKey, Seq, Signature};
use chancery_core::{TimestampMs, View};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use strategies::samples;

const BLESS_VAR: &str = "CHANCERY_BLESS";
const BLESS_CMD: &str = "CHANCERY_BLESS=1 cargo test -p chancery-core --test vectors";

fn vectors_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors")).to_path_buf()
}

fn suite() -> Suite {
    Suite::default()
}

// ------------------------------------------------------------------------ steps

/// The verifier's step a receipt error belongs to (as node/explorer/tests/jsdiff/mod.rs
/// `step_of`). No wildcard: a new `ReceiptError` variant fails to compile here until it is
/// given a step.
fn receipt_step(e: &ReceiptError) -> &'static str {
    match e {
        ReceiptError::Format { .. }
        | ReceiptError::Hex { .. }
        | ReceiptError::ProofTooLong { .. }
        | ReceiptError::EpochsField(_) => "format",
        ReceiptError::Entry(_)
        | ReceiptError::WrongChain { .. }
        | ReceiptError::TxSignature { .. } => "entry",
        ReceiptError::CheckpointEncoding(_)
        | ReceiptError::EpochLinkEncoding { .. }
        | ReceiptError::Epochs(_)
        | ReceiptError::Checkpoint(_) => "checkpoint",
        ReceiptError::EntryAfterCheckpoint { .. } | ReceiptError::Inclusion { .. } => "inclusion",
    }
}

/// The step of an error decoding a bundle's `epochs` (jsdiff/state.rs `bundle_links`).
fn links_step(e: &ReceiptError) -> &'static str {
    match e {
        ReceiptError::EpochsField(_) | ReceiptError::Hex { .. } => "format",
        ReceiptError::EpochLinkEncoding { .. }
        | ReceiptError::Format { .. }
        | ReceiptError::ProofTooLong { .. }
        | ReceiptError::Entry(_)
        | ReceiptError::WrongChain { .. }
        | ReceiptError::TxSignature { .. }
        | ReceiptError::CheckpointEncoding(_)
        | ReceiptError::Epochs(_)
        | ReceiptError::Checkpoint(_)
        | ReceiptError::EntryAfterCheckpoint { .. }
        | ReceiptError::Inclusion { .. } => "checkpoint",
    }
}

/// Every reason code in encoding order (the property tests' shared list). The match stops
/// compiling when a code is added to the enum: add it to that list too.
fn reason_codes() -> Vec<ReasonCode> {
    use ReasonCode::*;
    let all = strategies::REASON_CODES.to_vec();
    for c in &all {
        match c {
            WrongChain
            | BadSignature
            | Malformed
            | UnknownSigner
            | SignerRevoked
            | MissingRole
            | BadSequence
            | WrongAgency
            | UnknownAgency
            | AssetExists
            | AssetUnknown
            | AssetDisposed
            | NotCustodian
            | AwardExists
            | AwardUnknown
            | AwardCancelled
            | NotPurchaser
            | GrantExists
            | GrantUnknown
            | GrantRevoked
            | NotGrantor
            | DatasetNotOwned
            | MemberExists
            | MemberUnknown
            | NotAdmin
            | DuplicateTx
            | ProposalExists
            | ProposalUnknown
            | ProposalClosed
            | ProposalExpired
            | AgencyExists
            | AgencyHasValidator
            | ValidatorExists
            | ValidatorUnknown
            | KeyReused
            | ValidatorSetTooSmall
            | LimitExceeded
            | TenderExists
            | TenderUnknown
            | TenderClosed
            | TenderOpen
            | DatesOutOfOrder
            | AwardNotActive
            | ContractExists
            | ContractUnknown
            | ContractClosed
            | CurrencyMismatch
            | PaymentExceedsContract => {}
        }
    }
    all
}

fn flip(hex_s: &str, at: usize) -> String {
    let mut b = hex::decode(hex_s).expect("hex");
    b[at] ^= 1 << (at % 8);
    hex::encode(b)
}

fn tagged(tag: Tag, d: Digest) -> Value {
    json!({ "tag": tag.0, "hex": d.to_hex() })
}

// ------------------------------------------------------------------------ the chain

/// Blocks per epoch: epoch `e` holds heights `30e + 1 ..= 30(e + 1)`.
const EPOCH_LEN: u64 = 30;
/// One entry per block up to this height.
const HEIGHT_MAX: u64 = 75;

fn keys(e: u64) -> Vec<SecretKey> {
    if e == 0 {
        return samples::validator_keys();
    }
    (0..4u8)
        .map(|i| SecretKey::from_seed([e as u8 * 16 + i + 1; 32]))
        .collect()
}

fn set(e: u64) -> ValidatorSet {
    let g = samples::genesis().validators;
    if e == 0 {
        return g;
    }
    ValidatorSet {
        epoch: Epoch(e),
        start_height: Height(EPOCH_LEN * e + 1),
        validators: g
            .validators
            .into_iter()
            .zip(keys(e))
            .enumerate()
            .map(|(i, (v, k))| Validator {
                consensus_key: k.public(),
                network_key: NetworkKey([200 + e as u8 * 4 + i as u8; 32]),
                ..v
            })
            .collect(),
    }
}

/// The record of every kind, in `RecordKind::ALL` order, in a transaction of the member.
fn record_txs() -> Vec<Transaction> {
    let k = samples::mof_asset_officer();
    let records = samples::records();
    assert_eq!(
        records.iter().map(Record::kind).collect::<Vec<_>>(),
        RecordKind::ALL.to_vec()
    );
    records
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            Transaction::sign(
                TxBody {
                    chain_id: samples::chain_id(),
                    signer: k.public(),
                    seq: Seq(i as u64),
                    record,
                },
                &k,
            )
        })
        .collect()
}

fn time(h: u64) -> TimestampMs {
    TimestampMs(samples::block_time().0 + h * 1000)
}

/// The height carrying a transaction whose member signature does not verify.
const FORGED_HEIGHT: u64 = 68;

struct Chain {
    genesis: Genesis,
    entries: Vec<LogEntry>,
    leaves: Vec<Digest>,
}

/// Heights 1..=19: a record of each kind, applied; 20..=67: rejected with each reason
/// code in turn; 68: a transaction with a forged signature (rejected, bad_signature);
/// then applied again.
fn chain() -> Chain {
    let txs = record_txs();
    let codes = reason_codes();
    let k = samples::mof_asset_officer();
    let entries: Vec<LogEntry> = (1..=HEIGHT_MAX)
        .map(|h| {
            let i = (h - 1) as usize;
            let tx = if i < txs.len() {
                txs[i].clone()
            } else {
                Transaction::sign(
                    TxBody {
                        seq: Seq(h - 1),
                        ..txs[i % txs.len()].body.clone()
                    },
                    &k,
                )
            };
            let (tx, outcome) = match h {
                1..=19 => (tx, Outcome::Applied),
                FORGED_HEIGHT => {
                    let mut t = tx;
                    t.signature.0[5] ^= 0x10;
                    (t, Outcome::Rejected(ReasonCode::BadSignature))
                }
                _ if (h as usize) < 20 + codes.len() => {
                    (tx, Outcome::Rejected(codes[h as usize - 20]))
                }
                _ => (tx, Outcome::Applied),
            };
            LogEntry {
                height: Height(h),
                time: time(h),
                tx,
                outcome,
            }
        })
        .collect();
    let leaves = entries
        .iter()
        .map(|e| merkle::leaf_hash(suite(), &codec::encode(e)))
        .collect();
    Chain {
        genesis: samples::genesis(),
        entries,
        leaves,
    }
}

impl Chain {
    fn header(&self, e: u64, height: u64, size: u64, next: Digest, state: Digest) -> BlockHeader {
        let n = size as usize;
        BlockHeader {
            chain_id: self.genesis.chain_id(),
            epoch: Epoch(e),
            height: Height(height),
            view: View(height + 3),
            parent: Digest([7; 32]),
            proposer: 0,
            time: time(height),
            txs_hash: block::txs_hash(suite(), [self.entries[n - 1].tx.hash()]),
            tx_count: 1,
            log_size: size,
            log_root: merkle::root(suite(), &self.leaves[..n]),
            state_root: state,
            validator_set: set(e).hash(),
            next_validator_set: next,
        }
    }

    fn certify(&self, header: BlockHeader) -> Checkpoint {
        let e = header.epoch.0;
        let body = VoteBody {
            chain_id: self.genesis.chain_id(),
            epoch: header.epoch,
            view: header.view,
            kind: VoteKind::Finalize,
            block: header.hash(suite()),
        };
        let keys = keys(e);
        Checkpoint {
            certificate: Certificate {
                kind: VoteKind::Finalize,
                epoch: header.epoch,
                view: header.view,
                block: body.block,
                signatures: [0u16, 1, 3]
                    .into_iter()
                    .map(|index| IndexedSignature {
                        index,
                        signature: body.sign(&keys[usize::from(index)]),
                    })
                    .collect(),
            },
            header,
        }
    }

    fn link(&self, e: u64) -> EpochLink {
        let next = set(e + 1);
        let h = EPOCH_LEN * (e + 1);
        let cp = self.certify(self.header(e, h, h, next.hash(), Digest([9; 32])));
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

    fn checkpoint(&self, e: u64, height: u64, state: Digest) -> Checkpoint {
        self.certify(self.header(e, height, height, Digest::ZERO, state))
    }

    fn receipt(&self, height: u64, cp: &Checkpoint, links: &[EpochLink]) -> Receipt {
        let index = height - 1;
        let size = cp.header.log_size as usize;
        let proof = merkle::inclusion_proof_with(&Blake3Hasher, &self.leaves[..size], index)
            .expect("index below size");
        Receipt::new(&self.entries[index as usize], index, &proof, cp).with_epochs(links)
    }
}

fn genesis_text(g: &Genesis) -> String {
    serde_json::to_string_pretty(g).expect("genesis JSON")
}

/// Read a genesis file as `chancery verify` does: JSON, then a canonical round trip that
/// runs `Genesis::validate`.
fn load_genesis(text: &str) -> Result<Genesis, String> {
    let g: Genesis = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Genesis::from_bytes(&codec::encode(&g)).map_err(|e| e.to_string())
}

/// The geneses the receipt and state-proof files refer to: the chain's, another chain's
/// (valid, another chain id) and a file that does not load (no `chain_name`).
fn geneses() -> Vec<(&'static str, String)> {
    let g = samples::genesis();
    let mut other = g.clone();
    other.chain_name = "chancery-fixture-other".into();
    let mut broken: Value = serde_json::to_value(&g).expect("genesis JSON");
    broken.as_object_mut().expect("object").remove("chain_name");
    vec![
        ("chain", genesis_text(&g)),
        ("other chain", genesis_text(&other)),
        (
            "broken (no chain_name)",
            serde_json::to_string_pretty(&broken).expect("JSON"),
        ),
    ]
}

fn geneses_json(list: &[(&'static str, String)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(name, text)| {
                json!({
                    "name": name,
                    "text": text,
                    "chain_id": load_genesis(text).ok().map(|g| g.chain_id().to_hex()),
                })
            })
            .collect(),
    )
}

// ------------------------------------------------------------------------ encoding.json

fn enc<T: Canonical + serde::Serialize>(
    name: impl Into<String>,
    value: &T,
    hashes: Vec<(&str, Tag, Digest)>,
) -> Value {
    let mut h = serde_json::Map::new();
    for (n, tag, d) in hashes {
        h.insert(n.to_string(), tagged(tag, d));
    }
    json!({
        "name": name.into(),
        "type": T::NAME,
        "json": serde_json::to_value(value).expect("kernel JSON"),
        "hex": hex::encode(codec::encode(value)),
        "hashes": h,
    })
}

fn encoding() -> Value {
    let c = chain();
    let mut out = Vec::new();
    let g = &c.genesis;
    out.push(enc(
        "genesis",
        g,
        vec![
            ("chain_id", domain::GENESIS_HASH, g.chain_id()),
            (
                "validator_set_hash",
                domain::VALIDATOR_SET_HASH,
                g.validators.hash(),
            ),
        ],
    ));
    for e in 0..3 {
        let s = set(e);
        out.push(enc(
            format!("validator_set_epoch_{e}"),
            &s,
            vec![("validator_set_hash", domain::VALIDATOR_SET_HASH, s.hash())],
        ));
    }
    for tx in record_txs() {
        let kind = tx.body.record.kind().as_str();
        out.push(enc(
            format!("tx_{kind}"),
            &tx,
            vec![("tx_hash", domain::TX_HASH, tx.hash())],
        ));
    }
    let applied = &c.entries[0];
    let leaf = |e: &LogEntry| merkle::leaf_hash(suite(), &codec::encode(e));
    out.push(enc(
        "log_entry_applied",
        applied,
        vec![
            ("leaf_hash", domain::LOG_LEAF, leaf(applied)),
            ("tx_hash", domain::TX_HASH, applied.tx.hash()),
        ],
    ));
    for code in reason_codes() {
        let e = LogEntry {
            outcome: Outcome::Rejected(code),
            ..applied.clone()
        };
        out.push(enc(
            format!("log_entry_rejected_{}", code.as_str()),
            &e,
            vec![
                ("leaf_hash", domain::LOG_LEAF, leaf(&e)),
                ("tx_hash", domain::TX_HASH, e.tx.hash()),
            ],
        ));
    }
    let cp = c.checkpoint(0, 25, Digest([9; 32]));
    out.push(enc(
        "block_header",
        &cp.header,
        vec![
            ("block_hash", domain::BLOCK_HASH, cp.header.hash(suite())),
            ("txs_hash", domain::BLOCK_TXS_HASH, cp.header.txs_hash),
        ],
    ));
    let body = VoteBody {
        chain_id: g.chain_id(),
        epoch: cp.header.epoch,
        view: cp.header.view,
        kind: VoteKind::Finalize,
        block: cp.header.hash(suite()),
    };
    let mut cert = enc(
        "certificate",
        &cp.certificate,
        vec![("block_hash", domain::BLOCK_HASH, cp.certificate.block)],
    );
    cert["vote_signing_bytes_hex"] = json!(hex::encode(body.signed_message()));
    out.push(cert);
    out.push(enc(
        "checkpoint",
        &cp,
        vec![("block_hash", domain::BLOCK_HASH, cp.header.hash(suite()))],
    ));
    for link in c.links(2) {
        let e = link.header.epoch.0;
        out.push(enc(
            format!("epoch_link_{e}"),
            &link,
            vec![
                ("block_hash", domain::BLOCK_HASH, link.header.hash(suite())),
                (
                    "next_validator_set_hash",
                    domain::VALIDATOR_SET_HASH,
                    link.next.hash(),
                ),
            ],
        ));
    }
    json!({
        "description": "Canonical encodings (hex), kernel JSON (serde) and hashes of one value of each kernel structure: a transaction of every record kind, a log entry applied and one rejected with each reason code, a block header, a certificate, a checkpoint, a genesis, validator sets and epoch links.",
        "vectors": out,
    })
}

// ------------------------------------------------------------------------ signatures.json

/// The group order L, little-endian.
const L_HEX: &str = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

fn add_le(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut carry = 0u16;
    for i in 0..a.len() {
        let v = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    out
}

fn signatures() -> Value {
    let mut out = Vec::new();
    let mut push = |why: String,
                    key: PublicKey,
                    tag: Option<Tag>,
                    body: Option<&[u8]>,
                    message: Vec<u8>,
                    sig: Signature| {
        let valid = crypto::verify_item(&BatchItem {
            key,
            message: &message,
            signature: sig,
        })
        .is_ok();
        out.push(json!({
            "key": key.to_hex(),
            "tag": tag.map(|t| t.0),
            "body_hex": body.map(hex::encode),
            "message_hex": hex::encode(&message),
            "signature": sig.to_hex(),
            "valid": valid,
            "why": why,
        }));
    };
    let signer = SecretKey::from_seed([0x5a; 32]);
    let body: &[u8] = b"chancery signature vectors";
    for tag in [
        domain::TX_SIGN,
        domain::VOTE_SIGN,
        domain::PROPOSAL_SIGN,
        domain::CHECKPOINT_SIGN,
    ] {
        push(
            format!("valid signature under {}", tag.0),
            signer.public(),
            Some(tag),
            Some(body),
            tag.signing_bytes(body),
            signer.sign(tag, body),
        );
    }
    let tag = domain::TX_SIGN;
    let message = tag.signing_bytes(body);
    let good = signer.sign(tag, body);
    push(
        "signature under another tag (vote) checked as a transaction signature".into(),
        signer.public(),
        Some(tag),
        Some(body),
        message.clone(),
        signer.sign(domain::VOTE_SIGN, body),
    );
    push(
        "signature of another body".into(),
        signer.public(),
        Some(tag),
        Some(body),
        message.clone(),
        signer.sign(tag, b"another body"),
    );
    push(
        "another key".into(),
        SecretKey::from_seed([0x5b; 32]).public(),
        Some(tag),
        Some(body),
        message.clone(),
        good,
    );
    for order in [1u8, 2, 4, 8] {
        push(
            format!("torsioned R: a torsion point of order {order} added to R"),
            signer.public(),
            Some(tag),
            Some(body),
            message.clone(),
            crypto::testing::sign_torsioned(&signer, tag, body, order),
        );
    }
    let l = hex::decode(L_HEX).expect("L");
    let mut s_plus_l = good;
    s_plus_l.0[32..].copy_from_slice(&add_le(&good.0[32..], &l));
    push(
        "S + L: the valid signature with a non-canonical S (S >= L)".into(),
        signer.public(),
        Some(tag),
        Some(body),
        message.clone(),
        s_plus_l,
    );
    let mut s_eq_l = good;
    s_eq_l.0[32..].copy_from_slice(&l);
    push(
        "S = L".into(),
        signer.public(),
        Some(tag),
        Some(body),
        message.clone(),
        s_eq_l,
    );
    let mut s_high = good;
    s_high.0[63] |= 0xe0;
    push(
        "S with its three top bits set (S >= 2^253)".into(),
        signer.public(),
        Some(tag),
        Some(body),
        message.clone(),
        s_high,
    );
    for bit in (0..512).step_by(37) {
        let mut s = good;
        s.0[bit / 8] ^= 1 << (bit % 8);
        push(
            format!("signature bit {bit} flipped"),
            signer.public(),
            Some(tag),
            Some(body),
            message.clone(),
            s,
        );
    }
    let pk: [u8; 32] = *signer.public().as_bytes().first_chunk().expect("32 bytes");
    for bit in (0..256).step_by(29) {
        let mut k = pk;
        k[bit / 8] ^= 1 << (bit % 8);
        push(
            format!("key bit {bit} flipped"),
            PublicKey::Ed25519(k),
            Some(tag),
            Some(body),
            message.clone(),
            good,
        );
    }
    for (k, what) in [
        (
            "0100000000000000000000000000000000000000000000000000000000000000",
            "the identity (order 1)",
        ),
        (
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "order 2",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "order 4",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000080",
            "order 4, sign bit set",
        ),
        (
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            "order 8",
        ),
        (
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
            "order 8",
        ),
        (
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "non-canonical y = p + 1 (the identity)",
        ),
        (
            "0100000000000000000000000000000000000000000000000000000000000080",
            "non-canonical: the identity with the sign bit set",
        ),
        (
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "non-canonical y = p",
        ),
    ] {
        push(
            format!("small-order or non-canonical key: {what}"),
            PublicKey::Ed25519(hex::decode(k).expect("hex").try_into().expect("32")),
            Some(tag),
            Some(body),
            message.clone(),
            good,
        );
    }
    // A signature by the identity key with R = identity and S = 0 (valid under the
    // cofactorless equation for any message unless small-order keys are refused).
    let mut trivial = [0u8; 64];
    trivial[0] = 1;
    push(
        "identity key, R = identity, S = 0".into(),
        PublicKey::Ed25519(
            hex::decode("0100000000000000000000000000000000000000000000000000000000000000")
                .expect("hex")
                .try_into()
                .expect("32"),
        ),
        Some(tag),
        Some(body),
        message.clone(),
        Signature(trivial),
    );
    // ed25519-speccheck, vendored in the repository.
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/ed25519-speccheck/cases.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let cases: Vec<Value> = serde_json::from_str(&text).expect("cases.json");
    assert_eq!(cases.len(), 12, "12 speccheck cases");
    for (i, c) in cases.iter().enumerate() {
        let h = |k: &str| hex::decode(c[k].as_str().expect("hex field")).expect("hex");
        push(
            format!("ed25519-speccheck case {i}"),
            PublicKey::Ed25519(h("pub_key").try_into().expect("32 bytes")),
            None,
            None,
            h("message"),
            Signature(h("signature").try_into().expect("64 bytes")),
        );
    }
    let valid = out.iter().filter(|v| v["valid"] == json!(true)).count();
    assert!(valid >= 5 && valid < out.len(), "both verdicts occur");
    json!({
        "description": "Ed25519 under the kernel's acceptance rule (crypto::verify_item): `message_hex` is what is verified (the signing bytes of `body_hex` under `tag`, or a raw speccheck message when `tag` is null).",
        "vectors": out,
    })
}

// ------------------------------------------------------------------------ merkle.json

fn merkle_vectors() -> Value {
    let s = suite();
    let data = |i: usize| format!("leaf {i}").into_bytes();
    let mut trees = Vec::new();
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    let all_leaves: Vec<Digest> = (0..20).map(|i| merkle::leaf_hash(s, &data(i))).collect();
    let root = |n: usize| merkle::root(s, &all_leaves[..n]);
    let incl = |name: String,
                index: u64,
                size: u64,
                leaf: Digest,
                proof: Vec<Digest>,
                root: Digest|
     -> Value {
        let r = merkle::verify_inclusion(s, index, size, &leaf, &proof, &root);
        json!({
            "name": name, "index": index, "size": size, "leaf_hash": leaf.to_hex(),
            "proof": proof.iter().map(Digest::to_hex).collect::<Vec<_>>(),
            "root": root.to_hex(), "valid": r.is_ok(),
            "error": r.err().map(|e| e.to_string()),
        })
    };
    let cons = |name: String,
                size1: u64,
                size2: u64,
                proof: Vec<Digest>,
                root1: Digest,
                root2: Digest|
     -> Value {
        let r = merkle::verify_consistency(s, size1, size2, &proof, &root1, &root2);
        json!({
            "name": name, "size1": size1, "size2": size2,
            "proof": proof.iter().map(Digest::to_hex).collect::<Vec<_>>(),
            "root1": root1.to_hex(), "root2": root2.to_hex(), "valid": r.is_ok(),
            "error": r.err().map(|e| e.to_string()),
        })
    };
    for n in 1..=20usize {
        trees.push(json!({
            "size": n,
            "leaves_hex": (0..n).map(|i| hex::encode(data(i))).collect::<Vec<_>>(),
            "leaf_hashes": all_leaves[..n].iter().map(Digest::to_hex).collect::<Vec<_>>(),
            "root": root(n).to_hex(),
        }));
        for i in 0..n as u64 {
            let p =
                merkle::inclusion_proof_with(&Blake3Hasher, &all_leaves[..n], i).expect("proof");
            inclusion.push(incl(
                format!("size {n} index {i}"),
                i,
                n as u64,
                all_leaves[i as usize],
                p,
                root(n),
            ));
        }
        for m in 1..=n as u64 {
            let p =
                merkle::consistency_proof_with(&Blake3Hasher, &all_leaves[..n], m).expect("proof");
            consistency.push(cons(
                format!("size {m} to {n}"),
                m,
                n as u64,
                p,
                root(m as usize),
                root(n),
            ));
        }
    }
    // Tampered.
    for (n, i) in [
        (1usize, 0u64),
        (2, 1),
        (3, 2),
        (5, 3),
        (7, 6),
        (8, 0),
        (13, 9),
        (20, 17),
    ] {
        let size = n as u64;
        let leaf = all_leaves[i as usize];
        let p = merkle::inclusion_proof_with(&Blake3Hasher, &all_leaves[..n], i).expect("proof");
        let r = root(n);
        let t = |what: &str| format!("size {n} index {i}: {what}");
        for k in 0..p.len() {
            let mut q = p.clone();
            q[k].0[k % 32] ^= 1;
            inclusion.push(incl(t(&format!("proof[{k}] changed")), i, size, leaf, q, r));
        }
        if i + 1 < size {
            inclusion.push(incl(t("index + 1"), i + 1, size, leaf, p.clone(), r));
        }
        if i > 0 {
            inclusion.push(incl(t("index - 1"), i - 1, size, leaf, p.clone(), r));
        }
        inclusion.push(incl(t("size + 1"), i, size + 1, leaf, p.clone(), r));
        inclusion.push(incl(t("index = size"), size, size, leaf, p.clone(), r));
        let mut longer = p.clone();
        longer.push(Digest::ZERO);
        inclusion.push(incl(t("one hash too many"), i, size, leaf, longer, r));
        if !p.is_empty() {
            let mut shorter = p.clone();
            shorter.pop();
            inclusion.push(incl(t("one hash too few"), i, size, leaf, shorter, r));
        }
        inclusion.push(incl(
            t("another leaf"),
            i,
            size,
            merkle::leaf_hash(s, b"another leaf"),
            p.clone(),
            r,
        ));
        inclusion.push(incl(
            t("the leaf's data instead of its hash"),
            i,
            size,
            Digest(*blake3::hash(&data(i as usize)).as_bytes()),
            p.clone(),
            r,
        ));
        let mut wrong = r;
        wrong.0[0] ^= 0x80;
        inclusion.push(incl(t("wrong root"), i, size, leaf, p, wrong));
    }
    for (m, n) in [
        (1u64, 2usize),
        (3, 7),
        (4, 8),
        (5, 13),
        (7, 20),
        (16, 20),
        (6, 6),
    ] {
        let p = merkle::consistency_proof_with(&Blake3Hasher, &all_leaves[..n], m).expect("proof");
        let (r1, r2) = (root(m as usize), root(n));
        let size2 = n as u64;
        let t = |what: &str| format!("size {m} to {n}: {what}");
        for k in 0..p.len() {
            let mut q = p.clone();
            q[k].0[31 - k % 32] ^= 2;
            consistency.push(cons(t(&format!("proof[{k}] changed")), m, size2, q, r1, r2));
        }
        let mut longer = p.clone();
        longer.push(Digest::ZERO);
        consistency.push(cons(t("one hash too many"), m, size2, longer, r1, r2));
        if !p.is_empty() {
            let mut shorter = p.clone();
            shorter.pop();
            consistency.push(cons(t("one hash too few"), m, size2, shorter, r1, r2));
        }
        consistency.push(cons(t("roots swapped"), m, size2, p.clone(), r2, r1));
        if m > 1 {
            consistency.push(cons(t("size1 - 1"), m - 1, size2, p.clone(), r1, r2));
        }
        consistency.push(cons(
            t("size1 > size2"),
            size2 + 1,
            size2,
            p.clone(),
            r1,
            r2,
        ));
        let mut wrong = r1;
        wrong.0[3] ^= 4;
        consistency.push(cons(t("wrong first root"), m, size2, p, wrong, r2));
    }
    json!({
        "description": "The ledger's Merkle log (RFC 6962 shape, BLAKE3 suite): leaf_hash = BLAKE3 keyed with derive_key(LOG_LEAF tag) over the leaf data, node_hash = BLAKE3 keyed with derive_key(LOG_NODE tag) over left || right, empty root = the node key over nothing.",
        "leaf_tag": domain::LOG_LEAF.0,
        "node_tag": domain::LOG_NODE.0,
        "empty_root": merkle::empty_root(s).to_hex(),
        "trees": trees,
        "inclusion": inclusion,
        "consistency": consistency,
    })
}

// ------------------------------------------------------------------------ receipts.json

/// The kernel's verdict on a receipt, as `chancery verify` reaches it: the genesis
/// loaded, `receipt::verify`, then the caller's pins.
fn receipt_verdict(
    r: &Receipt,
    genesis: &str,
    chain: Option<&str>,
    tx: Option<&str>,
) -> Result<ReceiptSummary, (&'static str, String)> {
    let g = load_genesis(genesis).map_err(|e| ("genesis", e))?;
    let s = receipt::verify(r, &g).map_err(|e| (receipt_step(&e), e.to_string()))?;
    if let Some(chain) = chain {
        if chain != g.chain_id().to_hex() {
            return Err((
                "genesis",
                format!("chain {} is not the pinned {chain}", g.chain_id()),
            ));
        }
    }
    if let Some(tx) = tx {
        if tx != s.tx_hash.to_hex() {
            return Err((
                "entry",
                format!("tx {} is not the expected {tx}", s.tx_hash),
            ));
        }
    }
    Ok(s)
}

fn receipt_vector(
    name: &str,
    geneses: &[(&'static str, String)],
    genesis: usize,
    r: &Receipt,
    chain: Option<&str>,
    tx: Option<&str>,
) -> Value {
    let mut v = json!({
        "name": name,
        "genesis": genesis,
        "receipt": serde_json::to_value(r).expect("receipt JSON"),
    });
    if let Some(c) = chain {
        v["chain"] = json!(c);
    }
    if let Some(t) = tx {
        v["tx"] = json!(t);
    }
    match receipt_verdict(r, &geneses[genesis].1, chain, tx) {
        Ok(s) => {
            v["valid"] = json!(true);
            v["summary"] = json!({
                "kind": s.kind.as_str(),
                "subject_id": s.subject_id,
                "tx_hash": s.tx_hash.to_hex(),
                "height": s.height.0,
                "index": s.index,
                "outcome": serde_json::to_value(s.outcome).expect("outcome JSON"),
                "checkpoint_size": s.checkpoint_size,
                "checkpoint_height": s.checkpoint_height.0,
                "checkpoint_epoch": s.checkpoint_epoch.0,
            });
        }
        Err((step, e)) => {
            v["valid"] = json!(false);
            v["step"] = json!(step);
            v["error"] = json!(e);
        }
    }
    v
}

fn receipts() -> Value {
    let c = chain();
    let gs = geneses();
    let chain_hex = c.genesis.chain_id().to_hex();
    let mut out = Vec::new();
    let cp0 = c.checkpoint(0, 25, Digest([9; 32]));
    let cp1 = c.checkpoint(1, 50, Digest([9; 32]));
    let cp2 = c.checkpoint(2, HEIGHT_MAX, Digest([9; 32]));
    let (l1, l2) = (c.links(1), c.links(2));
    // Valid: every entry once, v1 under the checkpoint of epoch 0, v2 under epochs 1, 2.
    for h in 1..=HEIGHT_MAX {
        let (cp, links, v) = match h {
            1..=25 => (&cp0, &[][..], "v1"),
            26..=50 => (&cp1, &l1[..], "v2 (1 link)"),
            _ => (&cp2, &l2[..], "v2 (2 links)"),
        };
        let e = &c.entries[h as usize - 1];
        let what = match e.outcome {
            Outcome::Applied => "applied".to_string(),
            Outcome::Rejected(r) => format!("rejected {}", r.as_str()),
        };
        let note = if h == FORGED_HEIGHT {
            " (its transaction's signature does not verify)"
        } else {
            ""
        };
        out.push(receipt_vector(
            &format!(
                "{v}: {} at height {h}, {what}{note}",
                e.tx.body.record.kind().as_str()
            ),
            &gs,
            0,
            &c.receipt(h, cp, links),
            None,
            None,
        ));
    }
    out.push(receipt_vector(
        "v2 (2 links): an entry of epoch 0 under a checkpoint of epoch 2",
        &gs,
        0,
        &c.receipt(3, &cp2, &l2),
        None,
        None,
    ));
    let b1 = c.receipt(5, &cp0, &[]);
    let b2 = c.receipt(70, &cp2, &l2);
    for (label, r) in [("v1", &b1), ("v2", &b2)] {
        let tx = {
            let bytes = hex::decode(&r.entry).expect("hex");
            let e: LogEntry = codec::decode(&bytes).expect("entry");
            e.tx.hash().to_hex()
        };
        let mut push = |what: &str, t: &Receipt, g: usize, ch: Option<&str>, tx: Option<&str>| {
            out.push(receipt_vector(
                &format!("{label}: {what}"),
                &gs,
                g,
                t,
                ch,
                tx,
            ));
        };
        push(
            "untouched, chain and tx pinned",
            r,
            0,
            Some(&chain_hex),
            Some(&tx),
        );
        push("wrong pinned chain", r, 0, Some(&flip(&chain_hex, 5)), None);
        push("wrong expected tx", r, 0, None, Some(&flip(&tx, 31)));
        push("another chain's genesis (wrong chain)", r, 1, None, None);
        push("a genesis file that does not load", r, 2, None, None);
        let n = r.entry.len() / 2;
        for at in [0, 1, n / 2, n - 70, n - 1] {
            let mut t = r.clone();
            t.entry = flip(&r.entry, at);
            push(&format!("entry byte {at} changed"), &t, 0, None, None);
        }
        let n = r.checkpoint.len() / 2;
        for at in [0, 9, n / 3, n / 2, n - 1] {
            let mut t = r.clone();
            t.checkpoint = flip(&r.checkpoint, at);
            push(&format!("checkpoint byte {at} changed"), &t, 0, None, None);
        }
        for (i, p) in r.proof.iter().enumerate() {
            let mut t = r.clone();
            t.proof[i] = flip(p, i % 32);
            push(&format!("proof[{i}] changed"), &t, 0, None, None);
        }
        if let Some(links) = &r.epochs {
            for (i, l) in links.iter().enumerate() {
                let n = l.len() / 2;
                for at in [0, n / 2, n - 1] {
                    let mut t = r.clone();
                    if let Some(e) = t.epochs.as_mut() {
                        e[i] = flip(l, at);
                    }
                    push(&format!("epochs[{i}] byte {at} changed"), &t, 0, None, None);
                }
            }
            let mut t = r.clone();
            t.epochs.as_mut().expect("links").pop();
            push("one epoch link dropped", &t, 0, None, None);
            let mut t = r.clone();
            t.epochs.as_mut().expect("links").swap(0, 1);
            push("epoch links swapped", &t, 0, None, None);
            let mut t = r.clone();
            t.format = RECEIPT_FORMAT.into();
            push("v1 format with epochs", &t, 0, None, None);
            let mut t = r.clone();
            t.epochs = None;
            push("v2 format without epochs", &t, 0, None, None);
            t.epochs = Some(Vec::new());
            push("v2 format with an empty epochs list", &t, 0, None, None);
            let mut t = r.clone();
            t.format = RECEIPT_FORMAT.into();
            t.epochs = None;
            push(
                "v1 without the links its checkpoint needs",
                &t,
                0,
                None,
                None,
            );
            let mut t = r.clone();
            t.epochs.as_mut().expect("links").push(links[1].clone());
            push("one epoch link too many", &t, 0, None, None);
            let mut t = r.clone();
            if let Some(e) = t.epochs.as_mut() {
                e[1] = e[1].to_uppercase();
            }
            push("an epoch link in upper-case hex", &t, 0, None, None);
        } else {
            let mut t = r.clone();
            t.format = RECEIPT_FORMAT_V2.into();
            push("v2 format without epochs", &t, 0, None, None);
            let mut t = r.clone();
            t.epochs = Some(Vec::new());
            push("v1 with an empty epochs list", &t, 0, None, None);
            let mut t = r.clone();
            t.epochs = Some(l1.iter().map(|l| hex::encode(codec::encode(l))).collect());
            t.format = RECEIPT_FORMAT_V2.into();
            push(
                "v2 with a link its epoch-0 checkpoint does not need",
                &t,
                0,
                None,
                None,
            );
        }
        let mut t = r.clone();
        t.index += 1;
        push("index + 1", &t, 0, None, None);
        let mut t = r.clone();
        t.index -= 1;
        push("index - 1", &t, 0, None, None);
        let mut t = r.clone();
        t.index = 1000;
        push("index beyond the log", &t, 0, None, None);
        let mut t = r.clone();
        t.format = "chancery-receipt/v3".into();
        push("unknown format", &t, 0, None, None);
        let mut t = r.clone();
        t.entry = r.entry.to_uppercase();
        push("entry in upper-case hex", &t, 0, None, None);
        let mut t = r.clone();
        t.checkpoint.pop();
        push("checkpoint of odd hex length", &t, 0, None, None);
        let mut t = r.clone();
        t.entry.replace_range(0..1, "g");
        push("a non-hex character in the entry", &t, 0, None, None);
        let mut t = r.clone();
        t.proof.pop();
        push("one proof hash less", &t, 0, None, None);
        let mut t = r.clone();
        t.proof[0].truncate(62);
        push("a 31-byte proof hash", &t, 0, None, None);
        let mut t = r.clone();
        t.proof.push("00".repeat(32));
        push("one proof hash more", &t, 0, None, None);
        let mut t = r.clone();
        t.proof = vec!["00".repeat(32); 65];
        push("too long a proof (65 hashes)", &t, 0, None, None);
        let mut t = r.clone();
        t.entry.truncate(r.entry.len() - 2);
        push("entry truncated by one byte", &t, 0, None, None);
        let mut t = r.clone();
        t.entry.push_str("00");
        push("entry extended by one byte", &t, 0, None, None);
        let mut t = r.clone();
        t.checkpoint.push_str("00");
        push("checkpoint extended by one byte", &t, 0, None, None);
    }
    // A certificate signature forged; the entry's block after the checkpoint's.
    let mut forged = cp0.clone();
    forged.certificate.signatures[1].signature.0[9] ^= 1;
    out.push(receipt_vector(
        "v1: a checkpoint certificate signature forged",
        &gs,
        0,
        &c.receipt(5, &forged, &[]),
        None,
        None,
    ));
    let mut short = cp0.clone();
    short.certificate.signatures.truncate(2);
    out.push(receipt_vector(
        "v1: a checkpoint certificate of 2 of 4 signatures (no quorum)",
        &gs,
        0,
        &c.receipt(5, &short, &[]),
        None,
        None,
    ));
    let early = c.certify(c.header(0, 10, 20, Digest::ZERO, Digest([9; 32])));
    out.push(receipt_vector(
        "v1: the entry's block (height 15) is after the checkpoint's (height 10)",
        &gs,
        0,
        &c.receipt(15, &early, &[]),
        None,
        None,
    ));
    let cp0_under_1 = c.checkpoint(1, 40, Digest([9; 32]));
    out.push(receipt_vector(
        "v1: a checkpoint of epoch 1 without its link",
        &gs,
        0,
        &c.receipt(5, &cp0_under_1, &[]),
        None,
        None,
    ));
    let valid = out.iter().filter(|v| v["valid"] == json!(true)).count();
    assert!(
        valid > HEIGHT_MAX as usize - 2,
        "the untouched receipts verify"
    );
    json!({
        "description": "Receipts (receipt::verify, then the caller's pins) with the genesis each is checked against (an index into `geneses`), the verdict, and for invalid ones the step that fails and the kernel's error message.",
        "geneses": geneses_json(&gs),
        "vectors": out,
    })
}

// ------------------------------------------------------------------------ state_proofs.json

type Verdict<T> = Result<T, (&'static str, String)>;

fn hex_field(what: &str, s: &str) -> Verdict<Vec<u8>> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(("format", format!("{what}: expected lower-case hex")));
    }
    hex::decode(s).map_err(|e| ("format", format!("{what}: expected hex, {e}")))
}

fn bundle_proof(suite: Suite, v: &Value) -> Verdict<StateProof> {
    match v {
        Value::String(s) => {
            let bytes = hex_field("state proof", s)?;
            codec::decode_in(suite, &bytes).map_err(|e| ("state", format!("state proof: {e}")))
        }
        other => {
            let p: StateProof = serde_json::from_value(other.clone())
                .map_err(|e| ("state", format!("state proof is not a state proof: {e}")))?;
            codec::decode_in(suite, &codec::encode(&p))
                .map_err(|e| ("state", format!("state proof: {e}")))
        }
    }
}

fn bundle_checkpoint(suite: Suite, v: &Value) -> Verdict<Checkpoint> {
    let hex = match v {
        Value::String(s) => s.as_str(),
        Value::Object(m) => m.get("checkpoint").and_then(Value::as_str).ok_or((
            "format",
            "checkpoint: expected hex or an object with a `checkpoint` hex field".to_string(),
        ))?,
        _ => return Err(("format", "checkpoint: expected hex or an object".into())),
    };
    let bytes = hex_field("checkpoint", hex)?;
    codec::decode_in(suite, &bytes).map_err(|e| ("checkpoint", format!("checkpoint: {e}")))
}

fn bundle_links(suite: Suite, v: &Value) -> Verdict<Vec<EpochLink>> {
    match v.get("epochs") {
        None => Ok(Vec::new()),
        Some(e) => {
            let list: Vec<String> = serde_json::from_value(e.clone()).map_err(|e| {
                (
                    "format",
                    format!("epochs: expected a list of hex epoch links: {e}"),
                )
            })?;
            decode_epoch_links(suite, &list).map_err(|e| (links_step(&e), e.to_string()))
        }
    }
}

/// The kernel's verdict on a bundle, as `chancery verify` reaches it
/// (client/cli/src/verify.rs `verify_state_bundle`), then the caller's pin. Returns the
/// proven value (None: absent).
fn state_verdict(v: &Value, genesis: &str, chain: Option<&str>) -> Verdict<Option<StateValue>> {
    let g = load_genesis(genesis).map_err(|e| ("genesis", e))?;
    let proof_v = v
        .get("state_proof")
        .or_else(|| v.get("proof"))
        .ok_or(("format", "no `proof` field".to_string()))?;
    let proof = bundle_proof(g.crypto, proof_v)?;
    if let Some(h) = v.get("proof_hex") {
        if bundle_proof(g.crypto, h)? != proof {
            return Err((
                "state",
                "`proof` and `proof_hex` are different proofs".into(),
            ));
        }
    }
    let cp = bundle_checkpoint(
        g.crypto,
        v.get("checkpoint")
            .ok_or(("format", "no `checkpoint` field".to_string()))?,
    )?;
    let links = bundle_links(g.crypto, v)?;
    let cp = verify_checkpoint_with_links(&g, &links, &cp)
        .map_err(|e| ("checkpoint", format!("checkpoint: {e}")))?;
    let header = cp.header();
    if let Some(h) = v.get("height") {
        if h.as_u64() != Some(header.height.0) {
            return Err(("checkpoint", format!("`height` is {h}")));
        }
    }
    if let Some(r) = v.get("state_root") {
        if r.as_str() != Some(header.state_root.to_hex().as_str()) {
            return Err(("checkpoint", format!("`state_root` is {r}")));
        }
    }
    let value = st::verify_state_proof(cp.suite(), &header.state_root, &proof)
        .map_err(|e| ("state", format!("state proof: {e}")))?;
    if let Some(chain) = chain {
        if chain != g.chain_id().to_hex() {
            return Err((
                "genesis",
                format!("chain {} is not the pinned {chain}", g.chain_id()),
            ));
        }
    }
    Ok(value)
}

/// A compressed binary trie over `(key hash, leaf hash)` (state.rs module docs).
fn trie_root(entries: &[(Digest, Digest)], depth: usize) -> Digest {
    match entries {
        [] => st::EMPTY,
        [(_, leaf)] => *leaf,
        _ => {
            let (l, r): (Vec<_>, Vec<_>) = entries.iter().partition(|(k, _)| !st::bit(k, depth));
            st::node_hash(
                suite(),
                &trie_root(&l, depth + 1),
                &trie_root(&r, depth + 1),
            )
        }
    }
}

struct State {
    entries: Vec<(StateKey, StateValue)>,
    hashed: Vec<(Digest, Digest)>,
}

impl State {
    fn new(entries: Vec<(StateKey, StateValue)>) -> State {
        let hashed = entries
            .iter()
            .map(|(k, v)| {
                let kh = k.hash(suite());
                (kh, st::leaf_hash(suite(), &kh, &v.hash(suite())))
            })
            .collect();
        State { entries, hashed }
    }

    fn root(&self) -> Digest {
        trie_root(&self.hashed, 0)
    }

    fn proof(&self, key: &StateKey) -> StateProof {
        let kh = key.hash(suite());
        let mut here: Vec<usize> = (0..self.entries.len()).collect();
        let mut siblings = Vec::new();
        let mut depth = 0;
        loop {
            match here.as_slice() {
                [] => {
                    return StateProof {
                        key: key.clone(),
                        value: None,
                        siblings,
                        end: ProofEnd::Empty,
                    }
                }
                [i] => {
                    let (k, v) = &self.entries[*i];
                    return if k == key {
                        StateProof {
                            key: key.clone(),
                            value: Some(v.clone()),
                            siblings,
                            end: ProofEnd::Value,
                        }
                    } else {
                        StateProof {
                            key: key.clone(),
                            value: None,
                            siblings,
                            end: ProofEnd::OtherLeaf {
                                key_hash: self.hashed[*i].0,
                                value_hash: v.hash(suite()),
                            },
                        }
                    };
                }
                _ => {
                    let b = st::bit(&kh, depth);
                    let (same, other): (Vec<usize>, Vec<usize>) = here
                        .iter()
                        .partition(|i| st::bit(&self.hashed[**i].0, depth) == b);
                    let other: Vec<(Digest, Digest)> =
                        other.iter().map(|i| self.hashed[*i]).collect();
                    siblings.push(trie_root(&other, depth + 1));
                    here = same;
                    depth += 1;
                }
            }
        }
    }
}

fn state() -> State {
    let member = samples::mof_asset_officer().public();
    let mut entries = Vec::new();
    for i in 1..=6u64 {
        entries.push((
            StateKey::Asset(format!("asset-{i}")),
            StateValue::Asset(AssetState {
                custodian: AgencyId(samples::AGENCIES[i as usize % 4].0.into()),
                status: if i == 4 {
                    AssetStatus::Disposed
                } else {
                    AssetStatus::Held
                },
                registered_at: Height(i),
                last_tx: Digest([i as u8; 32]),
            }),
        ));
    }
    entries.push((StateKey::Seq(member), StateValue::Seq(Seq(19))));
    entries.push((
        StateKey::Dataset("mof:data-1".into()),
        StateValue::Dataset(AgencyId("mof".into())),
    ));
    State::new(entries)
}

fn bundle(p: &StateProof, cp: &Checkpoint, links: &[EpochLink]) -> Value {
    json!({
        "height": cp.header.height.0,
        "state_root": cp.header.state_root.to_hex(),
        "proof": serde_json::to_value(p).expect("proof JSON"),
        "proof_hex": hex::encode(codec::encode(p)),
        "checkpoint": hex::encode(codec::encode(cp)),
        "epochs": links.iter().map(|l| hex::encode(codec::encode(l))).collect::<Vec<_>>(),
    })
}

fn state_vector(
    name: &str,
    gs: &[(&'static str, String)],
    genesis: usize,
    b: &Value,
    chain: Option<&str>,
) -> Value {
    let mut v = json!({ "name": name, "genesis": genesis, "bundle": b });
    if let Some(c) = chain {
        v["chain"] = json!(c);
    }
    match state_verdict(b, &gs[genesis].1, chain) {
        Ok(value) => {
            v["valid"] = json!(true);
            v["present"] = json!(value.is_some());
            v["value"] = serde_json::to_value(&value).expect("value JSON");
        }
        Err((step, e)) => {
            v["valid"] = json!(false);
            v["step"] = json!(step);
            v["error"] = json!(e);
        }
    }
    v
}

fn state_proofs() -> Value {
    let c = chain();
    let gs = geneses();
    let s = state();
    let root = s.root();
    let chain_hex = c.genesis.chain_id().to_hex();
    let cp0 = c.checkpoint(0, 25, root);
    let cp2 = c.checkpoint(2, HEIGHT_MAX, root);
    let l2 = c.links(2);
    let absent = |want_empty: bool| -> StateKey {
        (0..500)
            .map(|i| StateKey::Asset(format!("absent-{i}")))
            .find(|k| matches!(s.proof(k).end, ProofEnd::Empty) == want_empty)
            .expect("an absent key of each ending")
    };
    let (absent_empty, absent_other) = (absent(true), absent(false));
    let mut out = Vec::new();
    let keys: Vec<(String, StateKey)> = s
        .entries
        .iter()
        .map(|(k, _)| (serde_json::to_string(k).expect("key JSON"), k.clone()))
        .chain([
            ("absent, path ends empty".to_string(), absent_empty.clone()),
            (
                "absent, path ends in another key's leaf".to_string(),
                absent_other.clone(),
            ),
        ])
        .collect();
    for (label, cp, links) in [("epoch 0", &cp0, &[][..]), ("epoch 2", &cp2, &l2[..])] {
        for (what, k) in &keys {
            out.push(state_vector(
                &format!("{label}: {what}"),
                &gs,
                0,
                &bundle(&s.proof(k), cp, links),
                None,
            ));
        }
    }
    // Tamperings of a present and two absent proofs.
    let base = [
        (
            "epoch 0: asset-1",
            s.proof(&StateKey::Asset("asset-1".into())),
            &cp0,
            &[][..],
        ),
        (
            "epoch 2: absent (empty)",
            s.proof(&absent_empty),
            &cp2,
            &l2[..],
        ),
        (
            "epoch 0: absent (other leaf)",
            s.proof(&absent_other),
            &cp0,
            &[][..],
        ),
    ];
    for (label, p, cp, links) in base {
        let b = bundle(&p, cp, links);
        let mut push = |what: &str, t: &Value, g: usize, ch: Option<&str>| {
            out.push(state_vector(&format!("{label}: {what}"), &gs, g, t, ch));
        };
        push("chain pinned", &b, 0, Some(&chain_hex));
        push("wrong pinned chain", &b, 0, Some(&flip(&chain_hex, 3)));
        push("another chain's genesis", &b, 1, None);
        push("a genesis file that does not load", &b, 2, None);
        let ph = b["proof_hex"].as_str().expect("hex").to_string();
        let n = ph.len() / 2;
        // Both forms changed together (else the two disagree).
        for at in [0, 3, n / 2, n - 1] {
            let mut t = b.clone();
            let changed = flip(&ph, at);
            t["proof"] = json!(changed);
            t.as_object_mut().expect("object").remove("proof_hex");
            push(
                &format!("proof byte {at} changed (`proof` as hex, no `proof_hex`)"),
                &t,
                0,
                None,
            );
        }
        let mut t = b.clone();
        t["proof_hex"] = json!(flip(&ph, n - 1));
        push("proof_hex differs from proof", &t, 0, None);
        let mut t = b.clone();
        t.as_object_mut().expect("object").remove("proof_hex");
        push("proof only (no proof_hex)", &t, 0, None);
        let mut t = b.clone();
        t["proof_hex"] = json!(ph.to_uppercase());
        push("proof_hex in upper case", &t, 0, None);
        let mut t = b.clone();
        t.as_object_mut().expect("object").remove("proof");
        t.as_object_mut().expect("object").remove("proof_hex");
        push("no proof", &t, 0, None);
        let mut t = b.clone();
        t.as_object_mut().expect("object").remove("checkpoint");
        push("no checkpoint", &t, 0, None);
        let cph = b["checkpoint"].as_str().expect("hex").to_string();
        let n = cph.len() / 2;
        for at in [0, 40, n / 2, n - 1] {
            let mut t = b.clone();
            t["checkpoint"] = json!(flip(&cph, at));
            push(&format!("checkpoint byte {at} changed"), &t, 0, None);
        }
        let mut t = b.clone();
        t["height"] = json!(cp.header.height.0 + 1);
        push("height + 1", &t, 0, None);
        let mut t = b.clone();
        t["state_root"] = json!(flip(&root.to_hex(), 0));
        push("state_root changed", &t, 0, None);
        if !links.is_empty() {
            let lh = b["epochs"][1].as_str().expect("hex").to_string();
            let mut t = b.clone();
            t["epochs"][1] = json!(flip(&lh, lh.len() / 4));
            push("epochs[1] changed", &t, 0, None);
            let mut t = b.clone();
            t["epochs"].as_array_mut().expect("list").pop();
            push("one epoch link dropped", &t, 0, None);
            let mut t = b.clone();
            t["epochs"] = json!("not a list");
            push("epochs not a list", &t, 0, None);
        } else {
            let mut t = b.clone();
            t["epochs"] = json!([hex::encode(codec::encode(&c.link(0)))]);
            push("a link the epoch-0 checkpoint does not need", &t, 0, None);
        }
        // Changed proofs, both forms consistent.
        let mut with = |what: &str, q: StateProof| {
            let t = bundle(&q, cp, links);
            out.push(state_vector(&format!("{label}: {what}"), &gs, 0, &t, None));
        };
        let mut q = p.clone();
        q.siblings.push(Digest::ZERO);
        with("one sibling more", q);
        if !p.siblings.is_empty() {
            let mut q = p.clone();
            q.siblings.pop();
            with("one sibling less", q);
            let mut q = p.clone();
            q.siblings[0].0[0] ^= 1;
            with("sibling 0 changed", q);
        }
        let mut q = p.clone();
        q.key = StateKey::Asset("asset-99".into());
        with("another key", q);
        let mut q = p.clone();
        match &p.value {
            Some(_) => {
                q.value = Some(StateValue::Seq(Seq(1)));
                with("a value of another kind", q);
                let mut q = p.clone();
                q.end = ProofEnd::Empty;
                with("a value with an empty end", q);
                let mut q = p.clone();
                q.value = None;
                with("absence with the key's own leaf as end", q);
                let mut q = p.clone();
                if let Some(StateValue::Asset(a)) = q.value.as_mut() {
                    a.status = AssetStatus::Disposed;
                }
                with("the asset's status changed", q);
            }
            None => {
                q.value = Some(StateValue::Asset(AssetState {
                    custodian: AgencyId("mof".into()),
                    status: AssetStatus::Held,
                    registered_at: Height(1),
                    last_tx: Digest::ZERO,
                }));
                with("claims a value", q);
                let mut q = p.clone();
                q.end = ProofEnd::OtherLeaf {
                    key_hash: p.key.hash(suite()),
                    value_hash: Digest::ZERO,
                };
                with("ends in its own key's leaf as another's", q);
                if let ProofEnd::OtherLeaf {
                    key_hash,
                    value_hash,
                } = &p.end
                {
                    let mut q = p.clone();
                    let mut kh = *key_hash;
                    kh.0[31] ^= 1;
                    q.end = ProofEnd::OtherLeaf {
                        key_hash: kh,
                        value_hash: *value_hash,
                    };
                    with("the other leaf's key hash changed", q);
                    let mut q = p.clone();
                    q.end = ProofEnd::Empty;
                    with("ends empty instead of in the other leaf", q);
                }
            }
        }
    }
    let valid = out.iter().filter(|v| v["valid"] == json!(true)).count();
    assert!(valid >= 2 * keys.len(), "the untouched bundles verify");
    json!({
        "description": "State-proof bundles (as GET /v1/proofs/state/... serves them) with the genesis each is checked against (an index into `geneses`), the verdict as `chancery verify` reaches it, and for invalid ones the step that fails and the kernel's error message.",
        "state_root": root.to_hex(),
        "geneses": geneses_json(&gs),
        "vectors": out,
    })
}

// ------------------------------------------------------------------------ the pin

fn files() -> Vec<(&'static str, Value)> {
    vec![
        ("encoding.json", encoding()),
        ("signatures.json", signatures()),
        ("merkle.json", merkle_vectors()),
        ("receipts.json", receipts()),
        ("state_proofs.json", state_proofs()),
    ]
}

fn render(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON");
    s.push('\n');
    s
}

#[test]
fn vectors_match_the_committed_files() {
    let dir = vectors_dir();
    let bless = std::env::var(BLESS_VAR).is_ok_and(|v| v == "1");
    let mut problems = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    let mut total = 0;
    for (name, v) in files() {
        names.insert(name.to_string());
        let now = render(&v);
        total += now.len();
        let path = dir.join(name);
        if bless {
            std::fs::create_dir_all(&dir).expect("create tests/vectors");
            std::fs::write(&path, &now)
                .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
            continue;
        }
        match std::fs::read_to_string(&path) {
            Err(e) => problems.push(format!("tests/vectors/{name}: missing ({e})")),
            Ok(pinned) if pinned != now => {
                let line = pinned
                    .lines()
                    .zip(now.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(pinned.lines().count().min(now.lines().count()));
                let show = |s: &str| s.lines().nth(line).unwrap_or("<end of file>").to_string();
                let cut = |s: String| s.chars().take(200).collect::<String>();
                problems.push(format!(
                    "tests/vectors/{name} differs from what the kernel generates, first at line {}:\n      committed: {}\n      generated: {}",
                    line + 1,
                    cut(show(&pinned)),
                    cut(show(&now))
                ));
            }
            Ok(_) => {}
        }
    }
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.ends_with(".json") && !names.contains(&n) {
            problems.push(format!(
                "tests/vectors/{n}: stale file (no generator writes it)"
            ));
        }
    }
    assert!(
        total < 2_000_000,
        "the vectors total {total} bytes; keep them under ~2 MB"
    );
    assert!(
        problems.is_empty(),
        "{} test-vector problem(s):\n  - {}\n\nA change of an encoding, hash, verdict or error message changes the vectors. If it is deliberate, regenerate them with\n\n    {BLESS_CMD}\n\nand commit tests/vectors/ with the change (and say why in the commit message).",
        problems.len(),
        problems.join("\n  - ")
    );
}

/// The vectors are meaningful: every encoding decodes back, the state trie built here
/// agrees with the kernel's proof verification, and tampering is caught.
#[test]
fn vectors_are_self_consistent() {
    let v = encoding();
    let list = v["vectors"].as_array().expect("vectors");
    let kinds = list
        .iter()
        .filter(|e| e["name"].as_str().is_some_and(|n| n.starts_with("tx_")))
        .count();
    assert_eq!(kinds, RecordKind::ALL.len());
    let tx: Transaction = serde_json::from_value(list[4]["json"].clone()).expect("tx JSON");
    assert_eq!(hex::encode(codec::encode(&tx)), list[4]["hex"]);
    let s = state();
    for (k, _) in &s.entries {
        st::verify_state_proof(suite(), &s.root(), &s.proof(k)).expect("present proofs verify");
    }
    let r = receipts();
    let steps: std::collections::BTreeSet<&str> = r["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .filter_map(|v| v["step"].as_str())
        .collect();
    for step in ["format", "genesis", "entry", "checkpoint", "inclusion"] {
        assert!(steps.contains(step), "a receipt failing at {step}");
    }
    let sp = state_proofs();
    let steps: std::collections::BTreeSet<&str> = sp["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .filter_map(|v| v["step"].as_str())
        .collect();
    for step in ["format", "genesis", "checkpoint", "state"] {
        assert!(steps.contains(step), "a state bundle failing at {step}");
    }
}
