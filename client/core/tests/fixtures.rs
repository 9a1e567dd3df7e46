//! Pinned fixtures: the canonical encodings and hashes of one known value of every record
//! kind and of a genesis, a transaction, a block header, a block, a vote, a certificate and
//! log entries, all built deterministically from fixed seeds (`strategies/samples.rs`).
//!
//! Each fixture file `tests/fixtures/NAME.json` holds the value's canonical bytes in hex,
//! its hashes (transaction hash, block hash, chain id, ...) and its JSON (serde) form. The
//! test fails if any of them changes. A format change must be deliberate: rerun with
//!
//! ```text
//! CHANCERY_BLESS=1 cargo test -p chancery-core --test fixtures
//! ```
//!
//! which rewrites the files (and the generated tables in `docs/encoding.md`); commit them
//! with the change that explains why. Without the variable this test never writes anything.
// Tests decode in the default suite.
#![allow(clippy::disallowed_methods)]

mod strategies;

use chancery_core::block::{Block, BlockHeader, LogEntry};
use chancery_core::cert::{CertError, Certificate};
use chancery_core::codec::{decode, encode, Canonical};
use chancery_core::domain;
use chancery_core::genesis::Genesis;
use chancery_core::limits;
use chancery_core::record::Record;
use chancery_core::tx::Transaction;
use chancery_core::validator::ValidatorSet;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use strategies::{samples, CanonicalRecord, CanonicalVote};

const BLESS_VAR: &str = "CHANCERY_BLESS";
const BLESS_HELP: &str = "If the change is deliberate, regenerate the fixtures with\n\n    \
     CHANCERY_BLESS=1 cargo test -p chancery-core --test fixtures\n\nand commit the \
     rewritten files together with the change (and a note on why the format changed).";

fn blessing() -> bool {
    std::env::var(BLESS_VAR).is_ok_and(|v| v == "1")
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn encoding_doc() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/encoding.md")
}

/// One pinned value.
struct Fixture {
    name: String,
    ty: &'static str,
    description: String,
    bytes: Vec<u8>,
    hashes: BTreeMap<&'static str, String>,
    json: Value,
    /// Decodes the bytes as the fixture's type and compares with the built value.
    decodes_back: Result<(), String>,
}

impl Fixture {
    fn new<T>(name: impl Into<String>, description: impl Into<String>, value: &T) -> Fixture
    where
        T: Canonical + serde::Serialize + PartialEq + Debug,
    {
        let bytes = encode(value);
        let decodes_back = match decode::<T>(&bytes) {
            Ok(v) if v == *value => Ok(()),
            Ok(v) => Err(format!("decoded to a different value: {v:?}")),
            Err(e) => Err(format!("does not decode: {e}")),
        };
        Fixture {
            name: name.into(),
            ty: T::NAME,
            description: description.into(),
            bytes,
            hashes: BTreeMap::new(),
            json: serde_json::to_value(value).expect("kernel types serialize to JSON"),
            decodes_back,
        }
    }

    fn hash(mut self, name: &'static str, d: chancery_core::Digest) -> Fixture {
        self.hashes.insert(name, d.to_hex());
        self
    }

    fn file_name(&self) -> String {
        format!("{}.json", self.name)
    }

    fn contents(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.ty,
            "description": self.description,
            "encoding_bytes": self.bytes.len(),
            "encoding_hex": hex::encode(&self.bytes),
            "hashes": self.hashes,
            "json": self.json,
        })
    }
}

/// Every fixture, built from the samples.
fn fixtures() -> Vec<Fixture> {
    let mut out = Vec::new();
    for r in samples::records() {
        let kind = r.kind().as_str();
        out.push(Fixture::new(
            format!("record_{kind}"),
            format!("A {kind} record on its own (as it sits inside a transaction body)."),
            &CanonicalRecord(r),
        ));
    }
    let g = samples::genesis();
    out.push(
        Fixture::new(
            "genesis",
            "Four agencies (财政部, 国家发展和改革委员会, 住房和城乡建设部, 国家统计局), one \
             validator each, one extra member, default parameters.",
            &g,
        )
        .hash("chain_id", g.chain_id())
        .hash("validator_set_hash", g.validators.hash()),
    );
    out.push(
        Fixture::new(
            "validator_set",
            "The genesis validator set (epoch 0, from height 1).",
            &g.validators,
        )
        .hash("validator_set_hash", g.validators.hash()),
    );
    let tx = samples::transaction();
    out.push(
        Fixture::new(
            "transaction",
            "财政部's asset officer registers 50 desktop computers (sequence 0), signed.",
            &tx,
        )
        .hash("tx_hash", tx.hash())
        .hash("chain_id", tx.body.chain_id),
    );
    let h = samples::block_header();
    out.push(
        Fixture::new(
            "block_header",
            "The first block's header (log and state roots are stand-in digests).",
            &h,
        )
        .hash("block_hash", h.hash(chancery_core::suite::Suite::default()))
        .hash("txs_hash", h.txs_hash),
    );
    let block = Block {
        header: h.clone(),
        txs: vec![tx],
    };
    out.push(
        Fixture::new(
            "block",
            "The first block: its header and its one transaction.",
            &block,
        )
        .hash(
            "block_hash",
            block.header.hash(chancery_core::suite::Suite::default()),
        ),
    );
    let c = samples::certificate();
    let vote = c.body(samples::chain_id());
    out.push(
        Fixture::new(
            "vote_body",
            "What each finalize vote for the first block signs.",
            &CanonicalVote(vote),
        )
        .hash(
            "signed_message_hash",
            domain::VOTE_SIGN.hash(&vote.signed_message()),
        ),
    );
    out.push(
        Fixture::new(
            "certificate",
            "Finalization of the first block by validators 0, 1 and 3 (3 of 4).",
            &c,
        )
        .hash("block_hash", c.block),
    );
    for (name, entry, what) in [
        ("log_entry", samples::log_entry(), "applied at height 1"),
        (
            "log_entry_rejected",
            samples::log_entry_rejected(),
            "replayed at height 2 and rejected as a duplicate",
        ),
    ] {
        // The log's own leaf hash (keyed BLAKE3 under LOG_LEAF's derived key, as every
        // inclusion proof computes it), not the tag's derive-key hash.
        let leaf = chancery_core::merkle::leaf_hash(
            chancery_core::suite::Suite::default(),
            &encode(&entry),
        );
        out.push(
            Fixture::new(
                name,
                format!("The fixture transaction's log leaf, {what}."),
                &entry,
            )
            .hash("leaf_hash", leaf)
            .hash("tx_hash", entry.tx.hash()),
        );
    }
    out
}

/// Compare `found` with the pinned `expected`, field by field, describing differences.
fn differences(expected: &Value, found: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let keys: std::collections::BTreeSet<&String> = expected
        .as_object()
        .into_iter()
        .chain(found.as_object())
        .flat_map(|o| o.keys())
        .collect();
    for k in keys {
        let (e, f) = (&expected[k.as_str()], &found[k.as_str()]);
        if e == f {
            continue;
        }
        match (e.as_str(), f.as_str(), k.as_str()) {
            (Some(eh), Some(fh), "encoding_hex") => {
                let at = eh
                    .bytes()
                    .zip(fh.bytes())
                    .position(|(a, b)| a != b)
                    .unwrap_or(eh.len().min(fh.len()));
                out.push(format!(
                    "encoding changed: first difference at byte {} (pinned {} bytes, now {} bytes)\n      \
                     pinned: …{}…\n      now:    …{}…",
                    at / 2,
                    eh.len() / 2,
                    fh.len() / 2,
                    &eh[at.saturating_sub(16) & !1..(at + 32).min(eh.len())],
                    &fh[at.saturating_sub(16) & !1..(at + 32).min(fh.len())],
                ));
            }
            _ => out.push(format!(
                "`{k}` changed:\n      pinned: {e}\n      now:    {f}"
            )),
        }
    }
    out
}

fn write_json(path: &Path, v: &Value) {
    let mut s = serde_json::to_string_pretty(v).expect("JSON");
    s.push('\n');
    std::fs::write(path, s).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

#[test]
fn encodings_and_hashes_match_the_pinned_fixtures() {
    let dir = fixtures_dir();
    let bless = blessing();
    if bless {
        std::fs::create_dir_all(&dir).expect("create tests/fixtures");
    }
    let fixtures = fixtures();
    let mut problems = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for f in &fixtures {
        assert!(names.insert(f.file_name()), "duplicate fixture {}", f.name);
        if let Err(e) = &f.decodes_back {
            problems.push(format!("{}: the canonical bytes {e}", f.name));
        }
        let path = dir.join(f.file_name());
        let now = f.contents();
        if bless {
            write_json(&path, &now);
            continue;
        }
        let pinned: Value = match std::fs::read_to_string(&path) {
            Ok(s) => match serde_json::from_str(&s) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!("{}: not valid JSON: {e}", path.display()));
                    continue;
                }
            },
            Err(e) => {
                problems.push(format!("{}: missing ({e})", path.display()));
                continue;
            }
        };
        for d in differences(&pinned, &now) {
            problems.push(format!("{}: {d}", f.name));
        }
    }
    // Files no fixture produces any more.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.ends_with(".json") && !names.contains(&n) {
                if bless {
                    std::fs::remove_file(e.path()).expect("remove stale fixture");
                } else {
                    problems.push(format!("{n}: stale fixture file (no fixture produces it)"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} fixture problem(s):\n  - {}\n\n{BLESS_HELP}",
        problems.len(),
        problems.join("\n  - ")
    );
}

/// The fixture values are meaningful, not just stable: everything validates, the
/// transaction verifies on the fixture chain, the certificate is a real quorum.
#[test]
fn fixture_values_are_valid_and_verify() {
    let g = samples::genesis();
    assert_eq!(g.validate(), Ok(()));
    let kinds: Vec<_> = samples::records().iter().map(Record::kind).collect();
    assert_eq!(kinds, chancery_core::record::RecordKind::ALL.to_vec());
    for r in samples::records() {
        assert_eq!(r.validate(), Ok(()), "{:?}", r.kind());
    }
    let tx = samples::transaction();
    let chain = g.chain_id();
    let verified = tx
        .clone()
        .verify(&chain)
        .expect("the fixture transaction verifies");
    assert_eq!(verified.hash(), tx.hash());

    let h = samples::block_header();
    assert_eq!(h.validate(), Ok(()));
    assert_eq!(h.validator_set, g.validators.hash());
    let c = samples::certificate();
    assert_eq!(c.block, h.hash(chancery_core::suite::Suite::default()));
    c.verify(chain, &g.validators)
        .expect("3 of 4 validators finalize");
    // Two signatures are not a quorum of four.
    let mut short = c.clone();
    short.signatures.truncate(2);
    assert_eq!(
        short.verify(chain, &g.validators),
        Err(CertError::NoQuorum {
            expected: 3,
            found: 2
        })
    );
    // A certificate for another chain does not verify.
    let mut other = chain;
    other.0[31] ^= 1;
    assert!(matches!(
        c.verify(other, &g.validators),
        Err(CertError::BadSignature { .. })
    ));
    let block = Block {
        header: h,
        txs: vec![tx],
    };
    assert_eq!(block.validate(), Ok(()));
    assert_eq!(samples::log_entry().validate(), Ok(()));
    // Sealed fields open to their values under the fixture salt.
    let Record::RegisterAsset(ra) = &samples::records()[0] else {
        panic!("first sample is register_asset")
    };
    assert!(ra.location.is_sealed());
    assert!(ra.location.opens_to(
        chancery_core::suite::Suite::default(),
        &samples::SALT,
        &"北京市西城区三里河南三巷3号 财政部办公楼 B座 412 室".to_string()
    ));
}

// ------------------------------------------------------------------ docs/encoding.md tables

/// Evaluate a constant expression made of integer literals, earlier constants (`known`),
/// `+`, `*` and `<<`.
fn eval_expr(expr: &str, known: &BTreeMap<String, u64>) -> Option<u64> {
    let factor = |t: &str| -> Option<u64> {
        let t = t.trim();
        match t.split_once("<<") {
            Some((a, b)) => {
                let (a, b): (u64, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                a.checked_shl(b)
            }
            None => t
                .replace('_', "")
                .parse()
                .ok()
                .or_else(|| known.get(t).copied()),
        }
    };
    expr.split('+').try_fold(0u64, |sum, term| {
        let product = term
            .split('*')
            .try_fold(1u64, |acc, t| acc.checked_mul(factor(t)?))?;
        sum.checked_add(product)
    })
}

/// Values of the limits known when this test was written, to check the evaluator.
fn known_limit(name: &str) -> Option<u64> {
    use limits::*;
    let v = match name {
        "TX_BYTES_MAX" => TX_BYTES_MAX,
        "ENCODING_BYTES_MAX" => ENCODING_BYTES_MAX,
        "ID_BYTES_MAX" => ID_BYTES_MAX,
        "NAME_BYTES_MAX" => NAME_BYTES_MAX,
        "TEXT_BYTES_MAX" => TEXT_BYTES_MAX,
        "URL_BYTES_MAX" => URL_BYTES_MAX,
        "CATEGORY_BYTES_MAX" => CATEGORY_BYTES_MAX,
        "DOCUMENTS_MAX" => DOCUMENTS_MAX,
        "SUPPLIERS_MAX" => SUPPLIERS_MAX,
        "ITEMS_MAX" => ITEMS_MAX,
        "ACTIONS_MAX" => ACTIONS_MAX,
        "CONSTRAINTS_MAX" => CONSTRAINTS_MAX,
        "ROLES_MAX" => ROLES_MAX,
        "VALIDATORS_MAX" => VALIDATORS_MAX,
        "BLOCK_TXS_MAX" => BLOCK_TXS_MAX,
        "BLOCK_BYTES_MAX" => BLOCK_BYTES_MAX,
        "AGENCIES_MAX" => AGENCIES_MAX,
        "GENESIS_MEMBERS_MAX" => GENESIS_MEMBERS_MAX,
        "ADMIN_KEYS_MAX" => ADMIN_KEYS_MAX,
        "GENESIS_ENCODING_BYTES_MAX" => GENESIS_ENCODING_BYTES_MAX,
        "BLOCK_HEADER_ENCODING_BYTES_MAX" => BLOCK_HEADER_ENCODING_BYTES_MAX,
        "BLOCK_FRAME_BYTES_MAX" => BLOCK_FRAME_BYTES_MAX,
        "BLOCK_ENCODING_BYTES_MAX" => BLOCK_ENCODING_BYTES_MAX,
        "LOG_ENTRY_ENCODING_BYTES_MAX" => LOG_ENTRY_ENCODING_BYTES_MAX,
        "CERTIFICATE_SIGNATURE_BYTES_MAX" => CERTIFICATE_SIGNATURE_BYTES_MAX,
        "CERTIFICATE_FRAME_BYTES_MAX" => CERTIFICATE_FRAME_BYTES_MAX,
        "CERTIFICATE_ENCODING_BYTES_MAX" => CERTIFICATE_ENCODING_BYTES_MAX,
        "CHECKPOINT_ENCODING_BYTES_MAX" => CHECKPOINT_ENCODING_BYTES_MAX,
        "VALIDATOR_SET_ENCODING_BYTES_MAX" => VALIDATOR_SET_ENCODING_BYTES_MAX,
        "PROOF_HASHES_MAX" => PROOF_HASHES_MAX,
        "TREE_SIZE_MAX" => return Some(TREE_SIZE_MAX),
        "PROOF_SIBLINGS_MAX" => PROOF_SIBLINGS_MAX,
        "STATE_VALUE_ENCODING_BYTES_MAX" => STATE_VALUE_ENCODING_BYTES_MAX,
        "STATE_PROOF_ENCODING_BYTES_MAX" => STATE_PROOF_ENCODING_BYTES_MAX,
        "CHECKPOINT_BODY_LINES" => CHECKPOINT_BODY_LINES,
        "CHECKPOINT_TEXT_BYTES_MAX" => CHECKPOINT_TEXT_BYTES_MAX,
        "RECEIPT_BYTES_MAX" => RECEIPT_BYTES_MAX,
        "DECODE_SMALL_BYTES_MAX" => DECODE_SMALL_BYTES_MAX,
        "DECODE_MEDIUM_BYTES_MAX" => DECODE_MEDIUM_BYTES_MAX,
        "DECODE_RESERVE_PER_BYTE_MAX" => DECODE_RESERVE_PER_BYTE_MAX,
        "DECODE_RESERVE_BYTES_MAX" => DECODE_RESERVE_BYTES_MAX,
        _ => return None,
    };
    Some(v as u64)
}

/// A byte count, with KiB or MiB when it is a whole number of them.
fn human(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n % MIB == 0 {
        format!("{n} ({} MiB)", n / MIB)
    } else if n >= 1024 && n % 1024 == 0 {
        format!("{n} ({} KiB)", n / 1024)
    } else {
        n.to_string()
    }
}

/// `(doc comment, name, type, value expression)` of each `pub const` in Rust source.
fn pub_consts(src: &str) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    let mut doc: Vec<String> = Vec::new();
    let mut pending = String::new();
    for line in src.lines() {
        let t = line.trim();
        if !pending.is_empty() || (t.starts_with("pub const ") && !t.ends_with(';')) {
            // A definition that rustfmt wrapped: read on to its `;`.
            pending.push_str(t);
            pending.push(' ');
            if !t.ends_with(';') {
                continue;
            }
        }
        let joined = std::mem::take(&mut pending);
        let t = if joined.is_empty() { t } else { joined.trim() };
        if let Some(d) = t.strip_prefix("///") {
            doc.push(d.trim().to_string());
            continue;
        }
        if let Some(rest) = t.strip_prefix("pub const ") {
            if let Some((name, rest)) = rest.split_once(':') {
                if let Some((ty, expr)) = rest.split_once('=') {
                    out.push((
                        doc.join(" "),
                        name.trim().to_string(),
                        ty.trim().to_string(),
                        expr.trim().trim_end_matches(';').trim().to_string(),
                    ));
                }
            }
        }
        doc.clear();
    }
    out
}

fn limits_table() -> String {
    let mut rows = vec![
        "| Limit | Defined as | Value | Meaning |".to_string(),
        "|---|---|---|---|".to_string(),
    ];
    let mut known = BTreeMap::new();
    for (doc, name, ty, expr) in pub_consts(include_str!("../src/limits.rs")) {
        if ty != "usize" && ty != "u64" {
            continue;
        }
        let value = eval_expr(&expr, &known);
        match (value, known_limit(&name)) {
            (Some(v), Some(k)) => assert_eq!(v, k, "evaluated {name} = {expr} wrongly"),
            (None, Some(_)) => panic!("could not evaluate {name} = {expr}"),
            _ => {}
        }
        let shown = match value {
            Some(v) if name.contains("BYTES") => human(v),
            Some(v) => v.to_string(),
            None => "see source".into(),
        };
        if let Some(v) = value {
            known.insert(name.clone(), v);
        }
        rows.push(format!("| `{name}` | `{expr}` | {shown} | {doc} |"));
    }
    rows.join("\n")
}

fn tags_table() -> String {
    let mut rows = vec![
        "| Constant | Tag | Purpose |".to_string(),
        "|---|---|---|".to_string(),
    ];
    let mut parsed = Vec::new();
    for (doc, name, ty, expr) in pub_consts(include_str!("../src/domain.rs")) {
        if ty != "Tag" {
            continue;
        }
        let tag = expr
            .trim_start_matches("Tag(\"")
            .trim_end_matches("\")")
            .to_string();
        rows.push(format!("| `{name}` | `{tag}` | {doc} |"));
        parsed.push(tag);
    }
    let all: Vec<String> = domain::ALL.iter().map(|t| t.0.to_string()).collect();
    assert_eq!(
        parsed, all,
        "domain.rs: the tag constants and `domain::ALL` differ (every tag must be in ALL, in \
         declaration order)"
    );
    rows.join("\n")
}

fn bytes_max_table() -> String {
    fn row<T: Canonical>(rust: &str) -> String {
        format!(
            "| `{rust}` | {} | {} |",
            T::NAME,
            human(T::BYTES_MAX as u64)
        )
    }
    [
        "| Type | Name in errors | `BYTES_MAX` (bytes, version byte included) |".to_string(),
        "|---|---|---|".to_string(),
        row::<Transaction>("tx::Transaction"),
        row::<LogEntry>("block::LogEntry"),
        row::<BlockHeader>("block::BlockHeader"),
        row::<Block>("block::Block"),
        row::<Certificate>("cert::Certificate"),
        row::<ValidatorSet>("validator::ValidatorSet"),
        row::<Genesis>("genesis::Genesis"),
        row::<chancery_core::snapshot::SnapshotManifest>("snapshot::SnapshotManifest"),
        row::<chancery_core::snapshot::SnapshotChunk>("snapshot::SnapshotChunk"),
        row::<chancery_core::snapshot::LogPiece>("snapshot::LogPiece"),
    ]
    .join("\n")
}

/// Replace the text between `<!-- generated:NAME -->` and `<!-- end generated:NAME -->`.
fn splice(doc: &str, name: &str, body: &str) -> Option<String> {
    let begin = format!("<!-- generated:{name} -->");
    let end = format!("<!-- end generated:{name} -->");
    let b = doc.find(&begin)? + begin.len();
    let e = b + doc[b..].find(&end)?;
    Some(format!("{}\n{body}\n{}", &doc[..b], &doc[e..]))
}

/// The limits, domain tags and size limits in `docs/encoding.md` are generated from the
/// kernel source (`limits.rs`, `domain.rs`) and must match it.
#[test]
fn encoding_doc_tables_are_current() {
    let path = encoding_doc();
    let doc = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut new = doc.clone();
    for (name, body) in [
        ("limits", limits_table()),
        ("domain-tags", tags_table()),
        ("bytes-max", bytes_max_table()),
    ] {
        new = splice(&new, name, &body).unwrap_or_else(|| {
            panic!(
                "{}: markers `<!-- generated:{name} -->` … `<!-- end generated:{name} -->` missing",
                path.display()
            )
        });
    }
    if new == doc {
        return;
    }
    if blessing() {
        std::fs::write(&path, new).expect("rewrite docs/encoding.md");
        return;
    }
    panic!(
        "{} is out of date with the kernel source (limits.rs, domain.rs or a \
         BYTES_MAX).\n\n{BLESS_HELP}",
        path.display()
    );
}
