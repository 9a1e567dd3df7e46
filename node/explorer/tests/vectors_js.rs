//! The language-neutral test vectors (tests/vectors/, generated and pinned by
//! client/core/tests/vectors.rs) run through the in-browser verifier
//! (assets/verify/verify.js, by one `node verify-cli.js --batch` process): every receipt,
//! state-proof bundle and Ed25519 vector gets the vector's verdict (and, for invalid ones,
//! fails at the vector's step; for valid ones, shows the vector's summary), every genesis
//! the vector's chain id, and every transaction of encoding.json the vector's hash (through
//! the summary of the receipt that carries it). This test reads only the JSON files, not
//! the kernel: what it checks is what any other implementation can check.
//!
//! What verify-cli.js cannot compute today is listed in tests/vectors/README.md (Merkle
//! proofs on their own, BLAKE3 of arbitrary bytes, canonical encodings). Without `node` on
//! PATH the test prints `SKIP: node not found` and passes.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The files the generator writes; any other `.json` file in tests/vectors/ fails the test
/// (it would go unchecked here).
const FILES: [&str; 5] = [
    "encoding.json",
    "signatures.json",
    "merkle.json",
    "receipts.json",
    "state_proofs.json",
];

fn root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).to_path_buf()
}

fn node_or_skip(test: &str) -> bool {
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => true,
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIP: node not found ({test} needs Node.js to run the in-browser verifier)"
            );
            false
        }
    }
}

/// One `node verify-cli.js --batch` over `lines`; one answer per line.
fn run_batch(lines: &[Value]) -> Vec<Value> {
    let cli = root().join("node/explorer/assets/verify/verify-cli.js");
    let mut child = Command::new("node")
        .arg(&cli)
        .arg("--batch")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let mut input = String::new();
    for l in lines {
        input.push_str(&l.to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("stdin piped");
    // Written from another thread: node answers while it reads.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("node runs");
    writer
        .join()
        .expect("writer thread")
        .expect("stdin written");
    assert!(
        out.status.success(),
        "verify-cli.js --batch failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Vec<Value> = String::from_utf8(out.stdout)
        .expect("UTF-8 answers")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each answer is JSON"))
        .collect();
    assert_eq!(answers.len(), lines.len(), "one answer per input line");
    answers
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
    }
}

#[test]
fn every_vector_gets_the_kernels_verdict_from_the_js_verifier() {
    if !node_or_skip("every_vector_gets_the_kernels_verdict_from_the_js_verifier") {
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

    let answers = run_batch(&lines);
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
}
