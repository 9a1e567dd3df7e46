//! The differential for state-proof bundles (`GET /v1/proofs/state/{asset|grant}/{id}`):
//! the kernel's verdict as `chancery verify` reaches it (client/cli/src/verify.rs
//! `verify_state_bundle`, whose private helpers are repeated here step by step with the
//! same kernel calls, each error given the verifier's step) against verify.js's
//! `verifyStateProof` (`node verify-cli.js --batch`, lines of kind "state").

use super::{flip_byte, load_genesis, run_batch, Report};
use chancery_core::checkpoint::Checkpoint;
use chancery_core::codec;
use chancery_core::epoch::{verify_checkpoint_with_links, EpochLink};
use chancery_core::genesis::Genesis;
use chancery_core::receipt::{decode_epoch_links, ReceiptError};
use chancery_core::state::{verify_state_proof, ProofEnd, StateProof};
use chancery_core::suite::Suite;
use serde_json::{json, Value};

/// One case: a bundle (untouched or tampered), its genesis, the caller's pin.
#[derive(Clone, Debug)]
pub struct StateCase {
    /// What was changed ("proof_hex", "checkpoint", "epochs[1]", ...) or "untouched".
    pub field: String,
    /// A short label for messages.
    pub label: String,
    /// The bundle.
    pub bundle: Value,
    /// Index of its genesis text in the differential's list.
    pub genesis: usize,
    /// Chain id pinned by the caller.
    pub chain: Option<String>,
}

/// What a valid bundle proves, as the verifier's summary must show it.
#[derive(Clone, Debug)]
pub struct StateSummary {
    /// The key, as serde writes it.
    pub key: Value,
    /// The value, as serde writes it (None: absent).
    pub value: Option<Value>,
    /// The checkpoint's height, log size, epoch, time and state root.
    pub height: u64,
    /// Log size.
    pub size: u64,
    /// Epoch.
    pub epoch: u64,
    /// Block time.
    pub time: u64,
    /// State root (hex).
    pub state_root: String,
    /// Chain id (hex).
    pub chain_id: String,
}

type Verdict<T> = Result<T, (&'static str, String)>;

/// verify.rs `hex_field`; a hex error is the verifier's `format` step.
fn hex_field(what: &str, s: &str) -> Verdict<Vec<u8>> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(("format", format!("{what}: expected lower-case hex")));
    }
    hex::decode(s).map_err(|e| ("format", format!("{what}: expected hex, {e}")))
}

/// verify.rs `bundle_proof`: decoding is the `state` step.
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

/// verify.rs `bundle_checkpoint`: shape and hex are `format`, decoding `checkpoint`.
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

/// verify.rs `bundle_links`: the list and its hex are `format`, a link's decoding
/// `checkpoint`. A match without a wildcard: a new `ReceiptError` variant needs a step.
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
            decode_epoch_links(suite, &list).map_err(|e| {
                let step = match &e {
                    ReceiptError::EpochsField(_) | ReceiptError::Hex { .. } => "format",
                    ReceiptError::EpochLinkEncoding { .. } => "checkpoint",
                    ReceiptError::Format { .. }
                    | ReceiptError::ProofTooLong { .. }
                    | ReceiptError::Entry(_)
                    | ReceiptError::WrongChain { .. }
                    | ReceiptError::TxSignature { .. }
                    | ReceiptError::CheckpointEncoding(_)
                    | ReceiptError::Epochs(_)
                    | ReceiptError::Checkpoint(_)
                    | ReceiptError::EntryAfterCheckpoint { .. }
                    | ReceiptError::Inclusion { .. } => "checkpoint",
                };
                (step, e.to_string())
            })
        }
    }
}

/// The kernel's verdict on a bundle: `verify_state_bundle`'s checks in its order, then
/// the caller's pin.
pub fn kernel_state_verdict(
    v: &Value,
    genesis: &Result<Genesis, String>,
    chain: Option<&str>,
) -> Verdict<StateSummary> {
    let g = genesis.as_ref().map_err(|e| ("genesis", e.clone()))?;
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
    let cp = verify_checkpoint_with_links(g, &links, &cp)
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
    let value = verify_state_proof(cp.suite(), &header.state_root, &proof)
        .map_err(|e| ("state", format!("state proof: {e}")))?;
    if let Some(chain) = chain {
        if *chain != g.chain_id().to_hex() {
            return Err((
                "genesis",
                format!("chain {} is not the pinned {chain}", g.chain_id()),
            ));
        }
    }
    Ok(StateSummary {
        key: serde_json::to_value(&proof.key).expect("key JSON"),
        value: value.map(|v| serde_json::to_value(&v).expect("value JSON")),
        height: header.height.0,
        size: header.log_size,
        epoch: header.epoch.0,
        time: header.time.0,
        state_root: header.state_root.to_hex(),
        chain_id: g.chain_id().to_hex(),
    })
}

/// Every leaf of a JSON value changed in turn: a hex string by one digit at its start,
/// middle and end, another string by one character, a number by one, a boolean negated;
/// and each object field removed. (path, changed document) pairs.
fn leaf_changes(v: &Value) -> Vec<(String, Value)> {
    fn put(root: &Value, path: &[Value], new: Value, what: &str, out: &mut Vec<(String, Value)>) {
        let mut doc = root.clone();
        let mut cur = &mut doc;
        for p in path {
            cur = match p {
                Value::String(k) => &mut cur[k.as_str()],
                Value::Number(n) => &mut cur[n.as_u64().expect("index") as usize],
                _ => unreachable!("paths hold keys and indexes"),
            };
        }
        *cur = new;
        let name: Vec<String> = path
            .iter()
            .map(|p| match p {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        out.push((format!("{} {what}", name.join(".")), doc));
    }
    fn walk(root: &Value, path: &mut Vec<Value>, at: &Value, out: &mut Vec<(String, Value)>) {
        match at {
            Value::String(s) => {
                let hex =
                    !s.is_empty() && s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit());
                if hex {
                    let n = s.len() / 2;
                    for i in [0, n / 2, n - 1] {
                        put(root, path, Value::from(flip_byte(s, i)), "digit", out);
                    }
                } else {
                    put(root, path, Value::from(format!("{s}x")), "longer", out);
                    if let Some(c) = s.chars().next() {
                        let other = if c == 'a' { 'b' } else { 'a' };
                        put(
                            root,
                            path,
                            Value::from(format!("{other}{}", &s[c.len_utf8()..])),
                            "char",
                            out,
                        );
                    }
                }
            }
            Value::Number(n) => {
                let x = n.as_u64().unwrap_or(0);
                put(root, path, Value::from(x + 1), "+1", out);
            }
            Value::Bool(b) => put(root, path, Value::from(!b), "negated", out),
            Value::Null => put(root, path, json!("x"), "non-null", out),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Value::from(i));
                    walk(root, path, item, out);
                    path.pop();
                }
                if !items.is_empty() {
                    let mut shorter = items.clone();
                    shorter.pop();
                    put(root, path, Value::from(shorter), "shorter", out);
                }
            }
            Value::Object(m) => {
                for (k, item) in m {
                    path.push(Value::from(k.as_str()));
                    walk(root, path, item, out);
                    path.pop();
                    let mut fewer = m.clone();
                    fewer.remove(k);
                    put(
                        root,
                        path,
                        Value::Object(fewer),
                        &format!("without {k}"),
                        out,
                    );
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), v, &mut out);
    out
}

/// How much of a bundle to tamper with: every `step`-th byte of the proof's canonical
/// bytes (1: every byte), and whether the checkpoint and the epoch links are changed
/// byte by byte too (they are the same for every bundle of one checkpoint).
#[derive(Clone, Copy, Debug)]
pub struct Depth {
    /// Every `proof_step`-th byte of `proof_hex`.
    pub proof_step: usize,
    /// Every byte of the checkpoint and of each epoch link.
    pub checkpoint: bool,
}

/// The cases of one bundle as the node serves it (`height`, `state_root`, `proof`,
/// `proof_hex`, `checkpoint`, `epochs`): untouched in each form the CLI accepts, with the
/// right and a wrong pinned chain, and tampered.
pub fn state_cases_of(
    label: &str,
    b: &Value,
    genesis: usize,
    chain: &str,
    depth: Depth,
) -> Vec<StateCase> {
    let case = |field: &str, bundle: Value, chain: Option<String>| StateCase {
        field: field.to_string(),
        label: label.to_string(),
        bundle,
        genesis,
        chain,
    };
    let mut out = Vec::new();
    let proof_hex = b["proof_hex"].as_str().expect("proof_hex").to_string();
    let cp = b["checkpoint"]
        .as_str()
        .expect("checkpoint hex")
        .to_string();
    let mut base = json!({ "checkpoint": cp });
    if let Some(e) = b.get("epochs") {
        base["epochs"] = e.clone();
    }
    // The forms: the node's, the hex proof alone, the JSON proof alone, `state_proof`, the
    // checkpoint as the checkpoint answer object.
    let mut hex_form = base.clone();
    hex_form["proof"] = Value::from(proof_hex.clone());
    let mut json_form = base.clone();
    json_form["proof"] = b["proof"].clone();
    let mut state_form = base.clone();
    state_form["state_proof"] = Value::from(proof_hex.clone());
    let mut cp_object = b.clone();
    cp_object["checkpoint"] = json!({ "height": b["height"], "checkpoint": cp, "text": "..." });
    out.push(case("untouched", b.clone(), None));
    out.push(case("untouched", b.clone(), Some(chain.to_string())));
    out.push(case("pinned chain", b.clone(), Some(flip_byte(chain, 5))));
    out.push(case("untouched", hex_form.clone(), None));
    out.push(case("untouched", json_form.clone(), None));
    out.push(case("untouched", state_form.clone(), None));
    out.push(case("untouched", cp_object, None));

    // The proof's canonical bytes, alone and as the node's twin of the JSON proof.
    let n = proof_hex.len() / 2;
    for at in (0..n).step_by(depth.proof_step.max(1)) {
        let mut t = hex_form.clone();
        t["proof"] = Value::from(flip_byte(&proof_hex, at));
        out.push(case("proof hex", t, None));
    }
    for at in (0..n).step_by(depth.proof_step.max(1) * 5) {
        let mut t = b.clone();
        t["proof_hex"] = Value::from(flip_byte(&proof_hex, at));
        out.push(case("proof_hex twin", t, None));
    }
    let mut t = hex_form.clone();
    t["proof"] = Value::from(format!("{proof_hex}00"));
    out.push(case("proof hex", t, None));
    let mut t = hex_form.clone();
    t["proof"] = Value::from(proof_hex[..proof_hex.len() - 2].to_string());
    out.push(case("proof hex", t, None));
    // Every field of the JSON proof, alone and beside its (untouched) twin.
    for (what, p) in leaf_changes(&b["proof"]) {
        let mut t = json_form.clone();
        t["proof"] = p.clone();
        out.push(case("proof json", t, None));
        let mut t = b.clone();
        t["proof"] = p;
        out.push(case("proof json twin", t, None));
        let _ = what;
    }
    // A present key claimed absent through its own leaf: the same root, refused by the
    // kernel's check that the leaf an absence proof ends in is another key's.
    let proof: StateProof = serde_json::from_value(b["proof"].clone()).expect("a state proof");
    if let (Some(v), ProofEnd::Value) = (&proof.value, &proof.end) {
        let mut t = json_form.clone();
        t["proof"]["value"] = Value::Null;
        t["proof"]["end"] = json!({ "other_leaf": {
            "key_hash": proof.key.hash(Suite::default()).to_hex(),
            "value_hash": v.hash(Suite::default()).to_hex(),
        }});
        out.push(case("proof json", t, None));
    }
    // The checkpoint and the epoch links.
    if depth.checkpoint {
        for at in 0..cp.len() / 2 {
            let mut t = b.clone();
            t["checkpoint"] = Value::from(flip_byte(&cp, at));
            out.push(case("checkpoint", t, None));
        }
        if let Some(links) = b.get("epochs").and_then(Value::as_array) {
            for (i, l) in links.iter().enumerate() {
                let l = l.as_str().expect("hex link");
                for at in 0..l.len() / 2 {
                    let mut t = b.clone();
                    t["epochs"][i] = Value::from(flip_byte(l, at));
                    out.push(case(&format!("epochs[{i}]"), t, None));
                }
            }
        }
    }
    let links = b
        .get("epochs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut t = b.clone();
    let mut more = links.clone();
    more.push(links.last().cloned().unwrap_or_else(|| Value::from("00")));
    t["epochs"] = Value::from(more);
    out.push(case("epochs", t, None));
    if !links.is_empty() {
        let mut t = b.clone();
        let mut fewer = links.clone();
        fewer.pop();
        t["epochs"] = Value::from(fewer);
        out.push(case("epochs", t, None));
        let mut t = b.clone();
        t.as_object_mut().expect("object").remove("epochs");
        out.push(case("epochs", t, None));
    }
    let mut t = b.clone();
    t["epochs"] = Value::Null;
    out.push(case("epochs", t, None));
    // The fields repeated for readers.
    let mut t = b.clone();
    t["height"] = Value::from(b["height"].as_u64().expect("height") + 1);
    out.push(case("height", t, None));
    let mut t = b.clone();
    t["height"] = Value::from(b["height"].to_string());
    out.push(case("height", t, None));
    let mut t = b.clone();
    t["state_root"] = Value::from(flip_byte(b["state_root"].as_str().expect("root"), 31));
    out.push(case("state_root", t, None));
    let mut t = b.clone();
    t["state_root"] = Value::from(b["state_root"].as_str().expect("root").to_uppercase());
    out.push(case("state_root", t, None));
    // Shapes and spellings.
    let mut t = b.clone();
    t["proof_hex"] = Value::from(proof_hex.to_uppercase());
    out.push(case("format", t, None));
    let mut t = b.clone();
    t["proof_hex"] = Value::Null;
    out.push(case("format", t, None));
    let mut t = b.clone();
    t["checkpoint"] = Value::from(cp[..cp.len() - 1].to_string());
    out.push(case("format", t, None));
    let mut t = b.clone();
    t["checkpoint"] = json!(5);
    out.push(case("format", t, None));
    let mut t = b.clone();
    t["checkpoint"] = json!({ "height": 1 });
    out.push(case("format", t, None));
    let mut t = b.clone();
    t.as_object_mut().expect("object").remove("checkpoint");
    out.push(case("format", t, None));
    let mut t = b.clone();
    t.as_object_mut().expect("object").remove("proof");
    out.push(case("format", t, None));
    let mut t = b.clone();
    t["state_proof"] = Value::from("zz");
    out.push(case("format", t, None));
    let mut t = hex_form.clone();
    t["proof"] = Value::from(format!("g{}", &proof_hex[1..]));
    out.push(case("format", t, None));
    out.push(case("format", json!([b]), None));
    out.push(case("format", json!(null), None));
    out
}

/// Run every case through the kernel and through one node process, and compare verdicts,
/// failing steps and summaries.
pub fn state_differential(genesis_texts: &[String], cases: &[StateCase]) -> Report {
    let geneses: Vec<Result<Genesis, String>> =
        genesis_texts.iter().map(|t| load_genesis(t)).collect();
    let mut lines: Vec<Value> = Vec::with_capacity(cases.len());
    let mut first_line = vec![None; genesis_texts.len()];
    for c in cases {
        let mut l = json!({ "kind": "state", "bundle": c.bundle });
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
        lines.push(l);
    }
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
                        .map(|c| {
                            kernel_state_verdict(&c.bundle, &geneses[c.genesis], c.chain.as_deref())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let kernel: Vec<Verdict<StateSummary>> = handles
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
        let last = j["steps"]
            .as_array()
            .and_then(|s| s.last())
            .and_then(|s| s["detail"].as_str())
            .unwrap_or("")
            .to_string();
        let internal = j["steps"].as_array().is_some_and(|steps| {
            steps.iter().any(|st| {
                st["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("internal error"))
            })
        });
        let problem = match k {
            _ if internal => Some(format!("JS internal error: {last}")),
            Ok(s) => {
                report.valid += 1;
                let sum = &j["summary"];
                let want = json!({
                    "kind": sum["kind"],
                    "key": s.key,
                    "present": s.value.is_some(),
                    "value": s.value.clone().unwrap_or(Value::Null),
                    "checkpoint_height": s.height,
                    "checkpoint_size": s.size,
                    "checkpoint_epoch": s.epoch,
                    "checkpoint_time_ms": s.time,
                    "state_root": s.state_root,
                    "chain_id": s.chain_id,
                });
                let kind_ok = s
                    .key
                    .as_object()
                    .and_then(|m| m.keys().next().cloned())
                    .or_else(|| s.key.as_str().map(str::to_string))
                    .is_some_and(|k| sum["kind"] == json!(k));
                if status != "valid" {
                    Some(format!("kernel valid, JS {status} at {failed:?}: {last}"))
                } else if *sum != want || !kind_ok {
                    Some(format!("summaries differ: kernel {want}, JS {sum}"))
                } else {
                    None
                }
            }
            Err((step, e)) => {
                if status != "invalid" {
                    Some(format!("kernel invalid at {step} ({e}), JS {status}"))
                } else if failed != Some(step) {
                    Some(format!(
                        "kernel invalid at {step} ({e}), JS invalid at {failed:?}: {last}"
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
