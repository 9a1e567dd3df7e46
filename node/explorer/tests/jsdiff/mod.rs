//! The differential between the kernel's `receipt::verify` and the in-browser verifier
//! (node/explorer/assets/verify/verify.js, run by `node verify-cli.js --batch`), shared by
//! node/explorer/tests/verify_js.rs (receipts built here) and tests/e2e/tests/verify_js.rs
//! (receipts of a live testnet), which includes this file by path.
//!
//! A case is a receipt (untouched or tampered), a genesis file and the caller's pins. The
//! kernel's verdict is what `chancery verify` would reach: the genesis loaded as
//! `load_genesis` loads it, `receipt::verify`, then the pins (chain id, transaction hash),
//! which are the caller's checks. Each kernel error is mapped to the verifier's step by
//! [`step_of`], a match without a wildcard, so that a new `ReceiptError` variant fails to
//! compile here until it is given a step.

#![allow(dead_code)] // each including test uses a part

pub mod state;

use chancery_core::codec;
use chancery_core::genesis::Genesis;
use chancery_core::receipt::{self, Receipt, ReceiptError, ReceiptSummary};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The verifier's step a kernel error belongs to.
pub fn step_of(e: &ReceiptError) -> &'static str {
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

/// `node` on PATH, or None after printing the SKIP line.
pub fn node_or_skip(test: &str) -> Option<PathBuf> {
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => Some(PathBuf::from("node")),
        _ => {
            // Straight to stderr, past the test harness's capture, so that it shows.
            let _ = writeln!(
                std::io::stderr(),
                "SKIP: node not found ({test} needs Node.js to run the in-browser verifier)"
            );
            None
        }
    }
}

/// node/explorer/assets/verify, found from the including crate's directory upwards.
pub fn assets_dir() -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    loop {
        let candidate = dir.join("node/explorer/assets/verify");
        if candidate.join("verify-cli.js").is_file() {
            return candidate;
        }
        assert!(
            dir.pop(),
            "node/explorer/assets/verify not found above the crate"
        );
    }
}

/// The workspace root (the directory holding node/explorer).
pub fn workspace_dir() -> PathBuf {
    assets_dir()
        .ancestors()
        .nth(4)
        .expect("assets are 4 levels below the root")
        .to_path_buf()
}

/// Run `node verify-cli.js --batch` once over `lines`; one answer per line.
pub fn run_batch(lines: &[Value]) -> Vec<Value> {
    let mut child = Command::new("node")
        .arg(assets_dir().join("verify-cli.js"))
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
    // For profiling the verifier on the same input: CHANCERY_JSDIFF_DUMP=FILE keeps it.
    if let Some(path) = std::env::var_os("CHANCERY_JSDIFF_DUMP") {
        std::fs::write(path, &input).expect("the dump file is writable");
    }
    let mut stdin = child.stdin.take().expect("stdin piped");
    // Written from another thread: node answers while it reads, and a full stdout pipe
    // would otherwise block both sides.
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

/// Read a genesis file as `chancery verify` does (client/cli/src/verify.rs
/// `load_genesis`): JSON, then a canonical round trip that runs `Genesis::validate`.
pub fn load_genesis(text: &str) -> Result<Genesis, String> {
    let g: Genesis = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Genesis::from_bytes(&codec::encode(&g)).map_err(|e| e.to_string())
}

/// One case of the differential.
#[derive(Clone, Debug)]
pub struct Case {
    /// What was changed: the field name ("entry", "epochs[1]", ...) or "untouched".
    pub field: String,
    /// A short label for messages.
    pub label: String,
    /// The receipt.
    pub receipt: Receipt,
    /// Index of its genesis text in the differential's list.
    pub genesis: usize,
    /// Chain id pinned by the caller.
    pub chain: Option<String>,
    /// Transaction hash the caller expects.
    pub tx: Option<String>,
}

/// The kernel's verdict: the summary, or the step that failed with the error text.
pub fn kernel_verdict(
    case: &Case,
    genesis: &Result<Genesis, String>,
) -> Result<ReceiptSummary, (&'static str, String)> {
    let g = genesis.as_ref().map_err(|e| ("genesis", e.clone()))?;
    let s = receipt::verify(&case.receipt, g).map_err(|e| (step_of(&e), e.to_string()))?;
    if let Some(chain) = &case.chain {
        if *chain != g.chain_id().to_hex() {
            return Err((
                "genesis",
                format!("chain {} is not the pinned {chain}", g.chain_id()),
            ));
        }
    }
    if let Some(tx) = &case.tx {
        if *tx != s.tx_hash.to_hex() {
            return Err((
                "entry",
                format!("tx {} is not the expected {tx}", s.tx_hash),
            ));
        }
    }
    Ok(s)
}

/// Change byte `at` of a hex string by flipping one of its bits (bit `at % 8`), which
/// changes exactly one hex digit.
pub fn flip_byte(hex: &str, at: usize) -> String {
    let mut b = hex::decode(hex).expect("hex");
    b[at] ^= 1 << (at % 8);
    hex::encode(b)
}

/// Every tampering of `r` the differential tries: each byte of the entry and the
/// checkpoint, every `proof_step`-th byte of each proof hash (1: every byte), each byte
/// of each epoch link, the index ±1, format changes, hex spellings and proof lengths.
pub fn tamperings(r: &Receipt, proof_step: usize) -> Vec<(String, Receipt)> {
    let mut out = Vec::new();
    for at in 0..r.entry.len() / 2 {
        let mut t = r.clone();
        t.entry = flip_byte(&r.entry, at);
        out.push(("entry".to_string(), t));
    }
    for at in 0..r.checkpoint.len() / 2 {
        let mut t = r.clone();
        t.checkpoint = flip_byte(&r.checkpoint, at);
        out.push(("checkpoint".to_string(), t));
    }
    for (i, p) in r.proof.iter().enumerate() {
        for at in (0..p.len() / 2).step_by(proof_step.max(1)) {
            let mut t = r.clone();
            t.proof[i] = flip_byte(p, at);
            out.push((format!("proof[{i}]"), t));
        }
    }
    if let Some(links) = &r.epochs {
        for (i, l) in links.iter().enumerate() {
            for at in 0..l.len() / 2 {
                let mut t = r.clone();
                if let Some(e) = t.epochs.as_mut() {
                    e[i] = flip_byte(l, at);
                }
                out.push((format!("epochs[{i}]"), t));
            }
        }
    }
    let mut t = r.clone();
    t.index += 1;
    out.push(("index".into(), t));
    if r.index > 0 {
        let mut t = r.clone();
        t.index -= 1;
        out.push(("index".into(), t));
    }
    // The format and the epochs rule.
    let mut t = r.clone();
    t.format = "chancery-receipt/v3".into();
    out.push(("format".into(), t));
    let mut t = r.clone();
    if r.epochs.is_some() {
        t.format = receipt::RECEIPT_FORMAT.into();
        out.push(("format".into(), t.clone()));
        t.format = receipt::RECEIPT_FORMAT_V2.into();
        t.epochs = None;
        out.push(("format".into(), t.clone()));
        t.epochs = Some(Vec::new());
        out.push(("format".into(), t));
        // One link dropped: the chain is too short for the checkpoint's epoch.
        let mut t = r.clone();
        if let Some(e) = t.epochs.as_mut() {
            e.pop();
            if e.is_empty() {
                t.epochs = None;
                t.format = receipt::RECEIPT_FORMAT.into();
            }
        }
        out.push(("epochs".into(), t));
    } else {
        t.format = receipt::RECEIPT_FORMAT_V2.into();
        out.push(("format".into(), t.clone()));
        t.format = receipt::RECEIPT_FORMAT.into();
        t.epochs = Some(Vec::new());
        out.push(("format".into(), t));
    }
    // Hex spellings: upper case, odd length, a non-hex character.
    let mut t = r.clone();
    t.entry = r.entry.to_uppercase();
    out.push(("hex".into(), t));
    let mut t = r.clone();
    t.checkpoint.pop();
    out.push(("hex".into(), t));
    let mut t = r.clone();
    t.entry.replace_range(0..1, "g");
    out.push(("hex".into(), t));
    // Proof lengths: one hash less, one more, a short hash, over the limit.
    if !r.proof.is_empty() {
        let mut t = r.clone();
        t.proof.pop();
        out.push(("proof".into(), t));
        let mut t = r.clone();
        t.proof[0].truncate(62);
        out.push(("proof".into(), t));
    }
    let mut t = r.clone();
    t.proof.push("00".repeat(32));
    out.push(("proof".into(), t));
    let mut t = r.clone();
    t.proof = vec!["00".repeat(32); 65];
    out.push(("proof".into(), t));
    // The entry truncated and extended.
    let mut t = r.clone();
    t.entry.truncate(r.entry.len() - 2);
    out.push(("entry".into(), t));
    let mut t = r.clone();
    t.entry.push_str("00");
    out.push(("entry".into(), t));
    out
}

/// The cases of one receipt: untouched (alone, with the right pins, with a wrong pinned
/// chain, with a wrong expected transaction) and every tampering.
pub fn cases_of(
    label: &str,
    r: &Receipt,
    genesis: usize,
    chain: &str,
    proof_step: usize,
) -> Vec<Case> {
    let tx = receipt_tx(r);
    let case = |field: &str, receipt: Receipt, chain: Option<String>, tx: Option<String>| Case {
        field: field.to_string(),
        label: label.to_string(),
        receipt,
        genesis,
        chain,
        tx,
    };
    let mut out = vec![
        case("untouched", r.clone(), None, None),
        case(
            "untouched",
            r.clone(),
            Some(chain.to_string()),
            Some(tx.clone()),
        ),
        case("pinned chain", r.clone(), Some(flip_byte(chain, 5)), None),
        case("expected tx", r.clone(), None, Some(flip_byte(&tx, 31))),
    ];
    for (field, t) in tamperings(r, proof_step) {
        out.push(case(&field, t, None, None));
    }
    out
}

/// The transaction hash of an (untouched) receipt, from the kernel.
fn receipt_tx(r: &Receipt) -> String {
    let bytes = hex::decode(&r.entry).expect("hex entry");
    let e: chancery_core::block::LogEntry =
        codec::decode_in(chancery_core::suite::Suite::default(), &bytes).expect("entry decodes");
    e.tx.hash().to_hex()
}

/// What a differential run found.
#[derive(Debug, Default)]
pub struct Report {
    /// Cases run.
    pub cases: usize,
    /// Cases where the verdicts (and steps, and summaries) agree.
    pub agree: usize,
    /// Kernel-valid cases.
    pub valid: usize,
    /// By field: (cases, cases the JS verifier found invalid).
    pub by_field: BTreeMap<String, (usize, usize)>,
    /// Disagreements, described.
    pub disagreements: Vec<String>,
    /// Time the kernel took over all cases (on every core, beside node), in milliseconds.
    pub kernel_ms: u128,
    /// Time the one node process took, start to end, in milliseconds.
    pub js_ms: u128,
}

/// Run every case through the kernel (on the available cores) and through one node
/// process, and compare.
pub fn differential(genesis_texts: &[String], cases: &[Case]) -> Report {
    let geneses: Vec<Result<Genesis, String>> =
        genesis_texts.iter().map(|t| load_genesis(t)).collect();
    // The JS verifier's input: each genesis text once, then receipts referring to it.
    let mut lines: Vec<Value> = Vec::with_capacity(cases.len());
    let mut first_line = vec![None; genesis_texts.len()];
    for c in cases {
        let mut l = json!({ "receipt": serde_json::to_value(&c.receipt).expect("receipt JSON") });
        match first_line[c.genesis] {
            Some(n) => l["genesis_ref"] = json!(n),
            None => {
                first_line[c.genesis] = Some(lines.len());
                l["genesis"] = json!(genesis_texts[c.genesis]);
            }
        }
        if let Some(ch) = &c.chain {
            l["chain"] = json!(ch);
        }
        if let Some(tx) = &c.tx {
            l["tx"] = json!(tx);
        }
        lines.push(l);
    }
    // The node process and the kernel (on the other cores) at the same time.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let chunk = cases.len().div_ceil(threads).max(1);
    let ((js, js_ms), (kernel, kernel_ms)) = std::thread::scope(|s| {
        let node = s.spawn(|| {
            let started = std::time::Instant::now();
            let js = run_batch(&lines);
            (js, started.elapsed().as_millis())
        });
        let started = std::time::Instant::now();
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                let geneses = &geneses;
                s.spawn(move || {
                    part.iter()
                        .map(|c| kernel_verdict(c, &geneses[c.genesis]))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let kernel: Vec<Result<ReceiptSummary, (&'static str, String)>> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("kernel thread"))
            .collect();
        let kernel_ms = started.elapsed().as_millis();
        (node.join().expect("node thread"), (kernel, kernel_ms))
    });
    let mut report = Report {
        cases: cases.len(),
        kernel_ms,
        js_ms,
        ..Report::default()
    };
    for ((c, k), j) in cases.iter().zip(&kernel).zip(&js) {
        let status = j["status"].as_str().unwrap_or("?");
        let failed = j["failed"].as_str();
        let entry = report.by_field.entry(c.field.clone()).or_default();
        entry.0 += 1;
        if status == "invalid" {
            entry.1 += 1;
        }
        let internal = j["steps"].as_array().is_some_and(|steps| {
            steps.iter().any(|st| {
                st["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("internal error"))
            })
        });
        let problem = match k {
            _ if internal => Some(format!("JS internal error: {}", last_detail(j))),
            Ok(s) => {
                report.valid += 1;
                let sum = &j["summary"];
                if status != "valid" {
                    Some(format!(
                        "kernel valid, JS {status} at {failed:?}: {}",
                        last_detail(j)
                    ))
                } else if sum["kind"] != json!(s.kind.as_str())
                    || sum["subject_id"] != json!(s.subject_id)
                    || sum["tx_hash"] != json!(s.tx_hash.to_hex())
                    || sum["height"] != json!(s.height.0)
                    || sum["index"] != json!(s.index)
                    || sum["checkpoint_size"] != json!(s.checkpoint_size)
                    || sum["checkpoint_height"] != json!(s.checkpoint_height.0)
                    || sum["checkpoint_epoch"] != json!(s.checkpoint_epoch.0)
                    || sum["outcome"]
                        != json!(match s.outcome {
                            chancery_core::block::Outcome::Applied => "applied",
                            chancery_core::block::Outcome::Rejected(_) => "rejected",
                        })
                {
                    Some(format!("summaries differ: kernel {s:?}, JS {sum}"))
                } else {
                    None
                }
            }
            Err((step, e)) => {
                if status != "invalid" {
                    Some(format!("kernel invalid at {step} ({e}), JS {status}"))
                } else if failed != Some(step) {
                    Some(format!(
                        "kernel invalid at {step} ({e}), JS invalid at {failed:?}: {}",
                        last_detail(j)
                    ))
                } else {
                    None
                }
            }
        };
        match problem {
            None => report.agree += 1,
            Some(p) => report
                .disagreements
                .push(format!("{} / {}: {p}", c.label, c.field)),
        }
    }
    report
}

fn last_detail(j: &Value) -> String {
    j["steps"]
        .as_array()
        .and_then(|s| s.last())
        .and_then(|s| s["detail"].as_str())
        .unwrap_or("")
        .to_string()
}

/// Assert a report: every case agrees, and every field tampered was found invalid at
/// least once (so a verifier that says "valid" to everything fails).
pub fn assert_report(what: &str, r: &Report) {
    println!(
        "{what}: {} cases, {} agree, {} valid by the kernel (kernel {} ms, node {} ms)",
        r.cases, r.agree, r.valid, r.kernel_ms, r.js_ms
    );
    for (field, (n, invalid)) in &r.by_field {
        println!("  {field}: {n} cases, {invalid} invalid in JS");
    }
    assert!(
        r.disagreements.is_empty(),
        "{what}: {} of {} cases disagree; first ones:\n{}",
        r.disagreements.len(),
        r.cases,
        r.disagreements
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(r.valid > 0, "{what}: no case was valid");
    for (field, (n, invalid)) in &r.by_field {
        if field != "untouched" {
            assert!(
                *invalid > 0,
                "{what}: none of the {n} tamperings of {field} was found invalid"
            );
        }
    }
}
