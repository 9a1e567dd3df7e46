//! The language-neutral test vectors (tests/vectors/, generated and pinned by
//! client/core/tests/vectors.rs) run through the in-browser verifier
//! (assets/verify/verify.js, by one `node verify-cli.js --batch` process). Every vector of
//! every file is checked by the JS, none skipped (the test counts them per file):
//! - receipts.json, state_proofs.json: every receipt and state-proof bundle gets the
//!   vector's verdict (invalid ones fail at the vector's step; valid ones show the vector's
//!   summary), every genesis the vector's chain id;
//! - signatures.json: every Ed25519 vector gets the vector's verdict, and every tagged one
//!   has `message_hex` = the JS's signing bytes of `body_hex` under `tag`;
//! - merkle.json: every tree's leaf hashes (from the leaf data) and root, the empty root,
//!   the leaf and node tags, every inclusion and consistency proof with the vector's
//!   verdict and the kernel's error message;
//! - encoding.json: every vector's `hex` decodes in the JS (all bytes consumed, validated;
//!   the genesis from its JSON encodes to `hex`), every named hash the JS computes from
//!   the bytes equals the vector's (tag and value), the decoded fields equal the vector's
//!   JSON (headers, certificates, checkpoints, epoch links, validator sets entirely;
//!   transactions and log entries in their chain id, signer, seq, signature, record kind,
//!   height, time and outcome, and the member's signature verifies), the hashes computed
//!   directly over `hex` with Tag::hash agree, and the certificate's vote signing bytes;
//!   each transaction's hash is also what the JS shows in a receipt's summary.
//!
//! A tampered expectation of each kind of check is reported as a disagreement (the test
//! flips one of each in memory), so the test can fail. This test reads only the JSON
//! files, not the kernel: what it checks is what any other implementation can check.
//! Without `node` on PATH the test prints `SKIP: node not found` and passes.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The files the generator writes; any other `.json` file in tests/vectors/ fails the test
/// (it would go unchecked here).
const FILES: [&str; 5] = [
    "encoding.json",
    "signatures.json",
    "merkle.json",
    "receipts.json",
    "state_proofs.json",
];

mod jsdiff;

fn root() -> PathBuf {
    jsdiff::workspace_dir()
}

fn read(name: &str) -> Value {
    let path = root().join("tests/vectors").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn list<'a>(v: &'a Value, field: &str) -> &'a Vec<Value> {
    v[field]
        .as_array()
        .unwrap_or_else(|| panic!("`{field}` is a list"))
}

/// What is expected of one batch line, and how to compare the answer.
enum Check {
    /// A receipt or state-proof vector: verdict, step, summary.
    Verdict { file: &'static str, vector: Value },
    /// A genesis: its chain id (None: the file is refused).
    ChainId {
        what: String,
        chain_id: Option<String>,
    },
    /// An Ed25519 vector.
    Signature { vector: Value },
    /// A Merkle inclusion or consistency proof: the verdict and the kernel's message.
    Proof {
        what: String,
        valid: bool,
        error: Value,
    },
    /// A Merkle tree from its leaf data: leaf hashes and root (and the tags of the file).
    Tree {
        what: String,
        leaf_hashes: Value,
        root: Value,
        leaf_tag: Value,
        node_tag: Value,
    },
    /// An encoding.json vector decoded (or, for the genesis, encoded from its JSON).
    Encoding { vector: Value },
    /// Bytes the JS computes (a tagged hash, signing bytes): `{ok, hex}`.
    Bytes { what: String, hex: Value },
}

fn last_detail(j: &Value) -> String {
    j["steps"]
        .as_array()
        .and_then(|s| s.last())
        .and_then(|s| s["detail"].as_str())
        .unwrap_or("")
        .to_string()
}

/// None if the JS answer `j` agrees with the check, else what differs.
fn disagreement(check: &Check, j: &Value) -> Option<String> {
    match check {
        Check::Verdict { file, vector } => {
            let name = format!("{file}: {}", vector["name"]);
            let status = j["status"].as_str().unwrap_or("?");
            if last_detail(j).starts_with("internal error") {
                return Some(format!("{name}: JS internal error: {}", last_detail(j)));
            }
            if vector["valid"] == json!(true) {
                if status != "valid" {
                    return Some(format!(
                        "{name}: valid, JS {status} at {}: {}",
                        j["failed"],
                        last_detail(j)
                    ));
                }
                let sum = &j["summary"];
                if *file == "receipts.json" {
                    let want = &vector["summary"];
                    for f in [
                        "kind",
                        "subject_id",
                        "tx_hash",
                        "height",
                        "index",
                        "checkpoint_size",
                        "checkpoint_height",
                        "checkpoint_epoch",
                    ] {
                        if sum[f] != want[f] {
                            return Some(format!(
                                "{name}: summary `{f}` is {}, the vector's {}",
                                sum[f], want[f]
                            ));
                        }
                    }
                    let outcome = &want["outcome"];
                    if sum["outcome"] != outcome["status"]
                        || (outcome["status"] == json!("rejected")
                            && sum["reason"] != outcome["reason"])
                    {
                        return Some(format!(
                            "{name}: outcome {} {}, the vector's {outcome}",
                            sum["outcome"], sum["reason"]
                        ));
                    }
                } else if sum["present"] != vector["present"] || sum["value"] != vector["value"] {
                    return Some(format!(
                        "{name}: JS proves present={} value={}, the vector present={} value={}",
                        sum["present"], sum["value"], vector["present"], vector["value"]
                    ));
                }
                None
            } else if status != "invalid" {
                Some(format!(
                    "{name}: invalid at {} ({}), JS {status}",
                    vector["step"], vector["error"]
                ))
            } else if j["failed"] != vector["step"] {
                Some(format!(
                    "{name}: invalid at {} ({}), JS invalid at {}: {}",
                    vector["step"],
                    vector["error"],
                    j["failed"],
                    last_detail(j)
                ))
            } else {
                None
            }
        }
        Check::ChainId { what, chain_id } => match chain_id {
            Some(id) if j["chain_id"] != json!(id) => {
                Some(format!("{what}: chain id {id}, JS {j}"))
            }
            None if j.get("error").is_none() => {
                Some(format!("{what}: refused by the kernel, JS {j}"))
            }
            _ => None,
        },
        Check::Signature { vector } => (j["ok"] != vector["valid"]).then(|| {
            format!(
                "signatures.json: {}: valid={}, JS {j}",
                vector["why"], vector["valid"]
            )
        }),
        Check::Proof { what, valid, error } => (j["ok"] != json!(valid) || j["error"] != *error)
            .then(|| format!("{what}: valid={valid} error={error}, JS {j}")),
        Check::Tree {
            what,
            leaf_hashes,
            root,
            leaf_tag,
            node_tag,
        } => (j["ok"] != json!(true)
            || j["leaf_hashes"] != *leaf_hashes
            || j["root"] != *root
            || j["leaf_tag"] != *leaf_tag
            || j["node_tag"] != *node_tag)
            .then(|| format!("{what}: leaf hashes {leaf_hashes}, root {root}, JS {j}")),
        Check::Encoding { vector } => encoding_disagreement(vector, j),
        Check::Bytes { what, hex } => {
            (j["ok"] != json!(true) || j["hex"] != *hex).then(|| format!("{what}: {hex}, JS {j}"))
        }
    }
}

/// What differs between an encoding.json vector and the JS's decoding of it.
fn encoding_disagreement(v: &Value, j: &Value) -> Option<String> {
    let name = format!("encoding.json: {}", v["name"]);
    if j["ok"] != json!(true) {
        return Some(format!("{name}: the JS does not decode it: {}", j["error"]));
    }
    if j["hashes"] != v["hashes"] {
        return Some(format!(
            "{name}: hashes {}, JS {}",
            v["hashes"], j["hashes"]
        ));
    }
    let value = &j["value"];
    let ty = v["type"].as_str().unwrap_or("?");
    match ty {
        // Encoded from its JSON: the same bytes.
        "genesis" => (j["hex"] != v["hex"])
            .then(|| format!("{name}: the JS encodes its JSON to {}", j["hex"])),
        "block header" | "certificate" | "checkpoint" | "epoch link" | "validator set" => {
            (*value != v["json"]).then(|| format!("{name}: JSON {}, JS decoded {value}", v["json"]))
        }
        "transaction" | "log entry" => {
            let (tx, want) = if ty == "transaction" {
                (value, &v["json"])
            } else {
                for f in ["height", "time", "outcome"] {
                    if value[f] != v["json"][f] {
                        return Some(format!(
                            "{name}: `{f}` is {}, JS decoded {}",
                            v["json"][f], value[f]
                        ));
                    }
                }
                (&value["tx"], &v["json"]["tx"])
            };
            for f in ["chain_id", "signer", "seq"] {
                if tx["body"][f] != want["body"][f] {
                    return Some(format!(
                        "{name}: body.{f} is {}, JS decoded {}",
                        want["body"][f], tx["body"][f]
                    ));
                }
            }
            if tx["signature"] != want["signature"] {
                return Some(format!(
                    "{name}: signature differs, JS decoded {}",
                    tx["signature"]
                ));
            }
            // The record's kind: tx_<kind> for the transactions; every log entry carries
            // the transaction of tx_register_asset.
            let kind = v["name"]
                .as_str()
                .and_then(|n| n.strip_prefix("tx_"))
                .unwrap_or("register_asset");
            if tx["body"]["record"]["kind"] != json!(kind) {
                return Some(format!(
                    "{name}: record kind {kind}, JS decoded {}",
                    tx["body"]["record"]["kind"]
                ));
            }
            (tx["signature_valid"] != json!(true))
                .then(|| format!("{name}: the member's signature does not verify in the JS"))
        }
        _ => Some(format!("{name}: a type this test does not know: {ty}")),
    }
}

/// The same check with one expectation changed: its disagreement must be reported.
fn tampered(check: &Check) -> Check {
    /// One hex digit changed.
    fn flip(v: &Value) -> Value {
        let s = v.as_str().expect("hex");
        let last = if s.ends_with('0') { "1" } else { "0" };
        json!(format!("{}{last}", &s[..s.len() - 1]))
    }
    match check {
        Check::Verdict { file, vector } => {
            let mut vector = vector.clone();
            vector["valid"] = json!(vector["valid"] != json!(true));
            vector["step"] = json!("format");
            Check::Verdict { file, vector }
        }
        Check::ChainId { what, chain_id } => Check::ChainId {
            what: what.clone(),
            chain_id: match chain_id {
                Some(id) => Some(flip(&json!(id)).as_str().expect("hex").to_string()),
                None => Some("00".repeat(32)),
            },
        },
        Check::Signature { vector } => {
            let mut vector = vector.clone();
            vector["valid"] = json!(vector["valid"] != json!(true));
            Check::Signature { vector }
        }
        Check::Proof { what, valid, error } => Check::Proof {
            what: what.clone(),
            valid: !valid,
            error: error.clone(),
        },
        Check::Tree {
            what,
            leaf_hashes,
            root,
            leaf_tag,
            node_tag,
        } => Check::Tree {
            what: what.clone(),
            leaf_hashes: leaf_hashes.clone(),
            root: flip(root),
            leaf_tag: leaf_tag.clone(),
            node_tag: node_tag.clone(),
        },
        Check::Encoding { vector } => {
            let mut vector = vector.clone();
            let first = vector["hashes"]
                .as_object()
                .and_then(|h| h.keys().next().cloned())
                .expect("a hash");
            vector["hashes"][&first]["hex"] = flip(&vector["hashes"][&first]["hex"]);
            Check::Encoding { vector }
        }
        Check::Bytes { what, hex } => Check::Bytes {
            what: what.clone(),
            hex: flip(hex),
        },
    }
}

#[test]
fn every_vector_gets_the_kernels_verdict_from_the_js_verifier() {
    if jsdiff::node_or_skip("every_vector_gets_the_kernels_verdict_from_the_js_verifier").is_none()
    {
        return;
    }
    // Every file of tests/vectors/ is one this test reads.
    let dir = root().join("tests/vectors");
    for e in std::fs::read_dir(&dir).expect("tests/vectors").flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        assert!(
            n == "README.md" || FILES.contains(&n.as_str()),
            "tests/vectors/{n}: a file this test does not know; check it here"
        );
    }
    let files: BTreeMap<&str, Value> = FILES.iter().map(|f| (*f, read(f))).collect();
    let mut lines: Vec<Value> = Vec::new();
    let mut checks: Vec<Check> = Vec::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();

    // Receipts and state proofs, each with its genesis text.
    for (file, kind) in [("receipts.json", "receipt"), ("state_proofs.json", "state")] {
        let doc = &files[file];
        let geneses = list(doc, "geneses");
        for g in geneses {
            lines.push(json!({ "chain_id_of": g["text"] }));
            checks.push(Check::ChainId {
                what: format!("{file}: genesis {}", g["name"]),
                chain_id: g["chain_id"].as_str().map(str::to_string),
            });
            *counts.entry(format!("{file} geneses")).or_default() += 1;
        }
        for v in list(doc, "vectors") {
            let g = &geneses[v["genesis"].as_u64().expect("genesis index") as usize];
            let mut l = if kind == "receipt" {
                json!({ "receipt": v["receipt"], "genesis": g["text"] })
            } else {
                json!({ "kind": "state", "bundle": v["bundle"], "genesis": g["text"] })
            };
            for pin in ["chain", "tx"] {
                if let Some(p) = v.get(pin) {
                    l[pin] = p.clone();
                }
            }
            lines.push(l);
            checks.push(Check::Verdict {
                file,
                vector: v.clone(),
            });
            *counts.entry(file.to_string()).or_default() += 1;
        }
    }
    // Signatures.
    for v in list(&files["signatures.json"], "vectors") {
        lines.push(json!({ "ed25519": {
            "key": v["key"], "message": v["message_hex"], "signature": v["signature"],
        }}));
        checks.push(Check::Signature { vector: v.clone() });
        *counts.entry("signatures.json".into()).or_default() += 1;
        // message_hex is the signing bytes of body_hex under tag (the speccheck cases,
        // without a tag, give the raw message: their verdict above is their check).
        if let Some(tag) = v["tag"].as_str() {
            lines.push(json!({ "signing_bytes": { "tag": tag, "body": v["body_hex"] } }));
            checks.push(Check::Bytes {
                what: format!("signatures.json: {}: message_hex", v["why"]),
                hex: v["message_hex"].clone(),
            });
            *counts.entry("signatures.json messages".into()).or_default() += 1;
        } else {
            assert!(
                v["body_hex"].is_null(),
                "signatures.json: {}: a body without a tag",
                v["why"]
            );
            *counts
                .entry("signatures.json raw messages".into())
                .or_default() += 1;
        }
    }
    // Merkle: every tree, the empty tree, every inclusion and consistency proof.
    let merkle = &files["merkle.json"];
    let tree_check = |what: String, leaf_hashes: Value, root: Value| Check::Tree {
        what,
        leaf_hashes,
        root,
        leaf_tag: merkle["leaf_tag"].clone(),
        node_tag: merkle["node_tag"].clone(),
    };
    for t in list(merkle, "trees") {
        lines.push(json!({ "merkle_tree": { "leaves": t["leaves_hex"] } }));
        checks.push(tree_check(
            format!("merkle.json: tree of size {}", t["size"]),
            t["leaf_hashes"].clone(),
            t["root"].clone(),
        ));
        *counts.entry("merkle.json trees".into()).or_default() += 1;
    }
    lines.push(json!({ "merkle_tree": { "leaves": [] } }));
    checks.push(tree_check(
        "merkle.json: empty_root".into(),
        json!([]),
        merkle["empty_root"].clone(),
    ));
    *counts.entry("merkle.json empty_root".into()).or_default() += 1;
    for (field, kind) in [
        ("inclusion", "merkle_inclusion"),
        ("consistency", "merkle_consistency"),
    ] {
        for v in list(merkle, field) {
            lines.push(json!({ kind: v }));
            checks.push(Check::Proof {
                what: format!("merkle.json: {field}: {}", v["name"]),
                valid: v["valid"] == json!(true),
                error: v["error"].clone(),
            });
            *counts.entry(format!("merkle.json {field}")).or_default() += 1;
        }
    }
    // Encoding: the genesis's chain id from its JSON form.
    let encoding = list(&files["encoding.json"], "vectors");
    for v in encoding.iter().filter(|v| v["type"] == json!("genesis")) {
        lines.push(json!({ "chain_id_of": v["json"].to_string() }));
        checks.push(Check::ChainId {
            what: format!("encoding.json: {}", v["name"]),
            chain_id: v["hashes"]["chain_id"]["hex"].as_str().map(str::to_string),
        });
        *counts.entry("encoding.json chain ids".into()).or_default() += 1;
    }
    // Encoding: every vector decoded (the genesis encoded from its JSON), its hashes
    // computed from its bytes; the hashes that are Tag::hash over the vector's bytes also
    // by the plain tagged hash; the certificate's vote signing bytes.
    let chain_id = encoding
        .iter()
        .find(|v| v["type"] == json!("genesis"))
        .map(|v| v["hashes"]["chain_id"]["hex"].clone())
        .expect("encoding.json has the genesis");
    for v in encoding {
        let ty = v["type"].as_str().expect("type");
        lines.push(if ty == "genesis" {
            json!({ "genesis_encoding": v["json"].to_string() })
        } else {
            json!({ "decode": { "type": ty, "hex": v["hex"] } })
        });
        checks.push(Check::Encoding { vector: v.clone() });
        *counts.entry("encoding.json".into()).or_default() += 1;
        let over_hex = match ty {
            "genesis" => Some("chain_id"),
            "validator set" => Some("validator_set_hash"),
            "transaction" => Some("tx_hash"),
            "block header" => Some("block_hash"),
            _ => None,
        };
        if let Some(h) = over_hex {
            let want = &v["hashes"][h];
            lines.push(json!({ "tag_hash": { "tag": want["tag"], "hex": v["hex"] } }));
            checks.push(Check::Bytes {
                what: format!("encoding.json: {}: {h} as Tag::hash over hex", v["name"]),
                hex: want["hex"].clone(),
            });
            *counts
                .entry("encoding.json tagged hashes over hex".into())
                .or_default() += 1;
        }
        if let Some(bytes) = v.get("vote_signing_bytes_hex") {
            lines.push(
                json!({ "vote_signing_bytes": { "chain_id": chain_id, "certificate": v["hex"] } }),
            );
            checks.push(Check::Bytes {
                what: format!("encoding.json: {}: vote_signing_bytes_hex", v["name"]),
                hex: bytes.clone(),
            });
            *counts
                .entry("encoding.json vote signing bytes".into())
                .or_default() += 1;
        }
    }

    let answers = jsdiff::run_batch(&lines);
    let mut problems = Vec::new();
    for (c, j) in checks.iter().zip(&answers) {
        if let Some(p) = disagreement(c, j) {
            problems.push(p);
        }
    }

    // Encoding: each transaction's hash is what the JS shows in the summary of a valid
    // receipt whose entry carries the transaction's canonical bytes.
    let receipts = list(&files["receipts.json"], "vectors");
    let first_line_of_receipts = files["receipts.json"]["geneses"]
        .as_array()
        .expect("geneses")
        .len();
    for v in encoding
        .iter()
        .filter(|v| v["type"] == json!("transaction"))
    {
        let hash = v["hashes"]["tx_hash"]["hex"].as_str().expect("tx hash");
        // The version byte (the first) is the transaction's own; inside the entry the
        // transaction's fields follow the entry's.
        let body = &v["hex"].as_str().expect("hex")[2..];
        let found = receipts.iter().enumerate().find(|(_, r)| {
            r["valid"] == json!(true)
                && r["receipt"]["entry"]
                    .as_str()
                    .is_some_and(|e| e.contains(body))
        });
        match found {
            None => problems.push(format!(
                "encoding.json: {}: no valid receipt carries this transaction",
                v["name"]
            )),
            Some((i, _)) => {
                let j = &answers[first_line_of_receipts + i];
                if j["summary"]["tx_hash"] != json!(hash) {
                    problems.push(format!(
                        "encoding.json: {}: tx hash {hash}, JS summary {}",
                        v["name"], j["summary"]["tx_hash"]
                    ));
                }
                *counts.entry("encoding.json tx hashes".into()).or_default() += 1;
            }
        }
    }

    for (what, n) in &counts {
        println!("{what}: {n} checked");
    }
    println!(
        "{} batch lines, {} agree",
        lines.len(),
        lines.len() - problems.len().min(lines.len())
    );
    assert!(
        problems.is_empty(),
        "{} vector(s) where the JS verifier disagrees with the kernel:\n{}",
        problems.len(),
        problems
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Both verdicts occur in every kind of vector, so a verifier answering always the
    // same fails.
    for file in ["receipts.json", "state_proofs.json", "signatures.json"] {
        let vs = list(&files[file], "vectors");
        let valid = vs.iter().filter(|v| v["valid"] == json!(true)).count();
        assert!(
            valid > 0 && valid < vs.len(),
            "{file}: both valid and invalid vectors"
        );
    }
    assert_eq!(
        counts.get("encoding.json tx hashes"),
        Some(&19),
        "a transaction of each of the 19 record kinds"
    );
    // Every vector of every file was checked, none skipped.
    let n = |file: &str, field: &str| list(&files[file], field).len();
    let sigs = list(&files["signatures.json"], "vectors");
    let tagged = sigs.iter().filter(|v| !v["tag"].is_null()).count();
    let count = |k: &str| counts.get(k).copied().unwrap_or(0);
    for (what, got, want) in [
        (
            "receipts.json",
            count("receipts.json"),
            n("receipts.json", "vectors"),
        ),
        (
            "receipts.json geneses",
            count("receipts.json geneses"),
            n("receipts.json", "geneses"),
        ),
        (
            "state_proofs.json",
            count("state_proofs.json"),
            n("state_proofs.json", "vectors"),
        ),
        (
            "state_proofs.json geneses",
            count("state_proofs.json geneses"),
            n("state_proofs.json", "geneses"),
        ),
        ("signatures.json", count("signatures.json"), sigs.len()),
        (
            "signatures.json messages",
            count("signatures.json messages"),
            tagged,
        ),
        (
            "signatures.json raw messages",
            count("signatures.json raw messages"),
            sigs.len() - tagged,
        ),
        (
            "merkle.json trees",
            count("merkle.json trees"),
            n("merkle.json", "trees"),
        ),
        ("merkle.json empty_root", count("merkle.json empty_root"), 1),
        (
            "merkle.json inclusion",
            count("merkle.json inclusion"),
            n("merkle.json", "inclusion"),
        ),
        (
            "merkle.json consistency",
            count("merkle.json consistency"),
            n("merkle.json", "consistency"),
        ),
        ("encoding.json", count("encoding.json"), encoding.len()),
        (
            "encoding.json vote signing bytes",
            count("encoding.json vote signing bytes"),
            1,
        ),
    ] {
        assert_eq!(got, want, "{what}: every vector checked");
    }
    assert_eq!(
        encoding.len(),
        77,
        "encoding.json: the vectors its README lists"
    );
    for field in ["inclusion", "consistency"] {
        let vs = list(merkle, field);
        let valid = vs.iter().filter(|v| v["valid"] == json!(true)).count();
        assert!(
            valid > 0 && valid < vs.len(),
            "merkle.json {field}: both valid and invalid vectors"
        );
    }
    // The test can fail: one tampered expectation of each kind of check is a disagreement.
    let mut kinds_tampered = std::collections::BTreeSet::new();
    for (c, j) in checks.iter().zip(&answers) {
        let kind = std::mem::discriminant(c);
        if kinds_tampered.contains(&format!("{kind:?}")) {
            continue;
        }
        assert!(
            disagreement(&tampered(c), j).is_some(),
            "a tampered expectation goes unnoticed: {:?}",
            disagreement(c, j)
        );
        kinds_tampered.insert(format!("{kind:?}"));
    }
    // Also one of each encoding type, each merkle verdict and each signature verdict.
    let mut seen = std::collections::BTreeSet::new();
    for (c, j) in checks.iter().zip(&answers) {
        let key = match c {
            Check::Encoding { vector } => format!("encoding {}", vector["type"]),
            Check::Proof { what, valid, .. } => {
                format!("{} {valid}", what.split(':').nth(1).unwrap_or(""))
            }
            Check::Signature { vector } => format!("signature {}", vector["valid"]),
            Check::Verdict { file, vector } => format!("{file} {}", vector["valid"]),
            _ => continue,
        };
        if seen.insert(key.clone()) {
            assert!(
                disagreement(&tampered(c), j).is_some(),
                "{key}: a tampered expectation goes unnoticed"
            );
        }
    }
    assert_eq!(kinds_tampered.len(), 7, "each kind of check tampered once");
    println!(
        "tampered: {} kinds of check, {} kinds of vector, each reported",
        kinds_tampered.len(),
        seen.len()
    );
}
