//! `chancery verify FILE --genesis GENESIS_JSON`: offline verification of a receipt or of
//! a state-proof bundle; the kind of file is detected from its fields.
//!
//! - A receipt (`chancery receipt`, `GET /v1/receipts/{tx}`) has `entry`, `index`, `proof`
//!   and `checkpoint`: the kernel's `receipt::verify` checks it.
//! - A state-proof bundle (`GET /v1/proofs/state/{asset|grant}/{id}`) has a state proof
//!   (`proof` or `state_proof`: the kernel's `StateProof`, as JSON or canonical hex) and a
//!   `checkpoint` (canonical hex, or the checkpoint answer `{"checkpoint": HEX, ...}`): the
//!   checkpoint is verified against the genesis (a checkpoint of epoch `e > 0` with the `e`
//!   epoch links the bundle carries in `epochs`, like a v2 receipt), then the proof against
//!   its state root. A governance proposal (`GET /v1/governance/proposals/{id}`,
//!   `{proposal, proof}`) is checked as its `proof` bundle, and the proposal shown must be
//!   the proven one.
//! - An evidence document (`GET /v1/evidence/{id}`) has `evidence` (canonical hex of the
//!   consensus crate's `Evidence`): the set of its epoch is proven from the genesis by the
//!   epoch links it carries in `epochs` (none for epoch 0; the kernel's
//!   `verify_set_of_epoch`), then the consensus crate's own check proves that one validator
//!   of that set signed two conflicting messages, and names it.

use crate::files::read_limited;
use crate::Outcome;
use anyhow::{Context, Result};
use chancery_core::checkpoint::Checkpoint;
use chancery_core::codec;
use chancery_core::epoch::{verify_checkpoint_with_links, EpochLink};
use chancery_core::epoch_set::verify_set_of_epoch;
use chancery_core::genesis::Genesis;
use chancery_core::limits::RECEIPT_BYTES_MAX;
use chancery_core::receipt::{self, decode_epoch_links, Receipt};
use chancery_core::state::{verify_state_proof, StateProof, StateValue};
use chancery_core::suite::Suite;
use serde_json::Value;
use std::path::PathBuf;

/// Largest genesis file, in bytes.
pub const GENESIS_FILE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Arguments of `verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The receipt or state-proof bundle file (JSON).
    receipt: PathBuf,
    /// The genesis file (JSON).
    #[arg(long)]
    genesis: PathBuf,
    /// Receipts: the hash of the transaction the receipt must be for (64 hex digits); a
    /// valid receipt of another transaction is refused.
    #[arg(long, value_name = "HASH")]
    tx: Option<String>,
    /// Receipts: the outcome the transaction must have had; a valid receipt of a
    /// transaction that execution rejected (or applied) is refused.
    #[arg(long, value_enum, value_name = "OUTCOME")]
    expect: Option<Expect>,
    /// Receipts: print the result as one JSON object on stdout (also when invalid): the
    /// verdict, the transaction hash, its signer, its outcome, the checkpoint and every
    /// step passed.
    #[arg(long)]
    json: bool,
}

/// The outcome `--expect` asks for.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Execution applied the transaction.
    Applied,
    /// Execution rejected it (it is in the log, and changed no state).
    Rejected,
}

/// The steps of a receipt's verification, in order (docs/spec, the browser verifier's
/// step ids).
const RECEIPT_STEPS: [(&str, &str); 5] = [
    ("format", "receipt format: fields, hex, proof length, epoch links"),
    ("genesis", "genesis file valid; chain id is the hash of its canonical encoding"),
    (
        "entry",
        "log entry decodes, is for this chain, and its transaction is signed by its signer",
    ),
    (
        "checkpoint",
        "checkpoint certified by validators holding a quorum of the voting power (epoch links verified from the genesis)",
    ),
    ("inclusion", "the entry is in the checkpoint's log under its root"),
];

/// A receipt's verification with the caller's expectations (`--tx`, `--expect`).
fn verify_receipt(
    r: &Receipt,
    genesis: &Genesis,
    tx: Option<&str>,
    expect: Option<Expect>,
) -> Result<receipt::ReceiptSummary, String> {
    let s = receipt::verify(r, genesis).map_err(|e| e.to_string())?;
    if let Some(want) = tx {
        if s.tx_hash.to_hex() != want.to_ascii_lowercase() {
            return Err(format!(
                "the receipt is for transaction {}, expected {want} (--tx)",
                s.tx_hash
            ));
        }
    }
    let applied = matches!(s.outcome, chancery_core::block::Outcome::Applied);
    match (expect, applied) {
        (Some(Expect::Applied), false) => Err(format!(
            "transaction {} was rejected by execution ({}), expected applied (--expect applied)",
            s.tx_hash,
            outcome_text(&s.outcome)
        )),
        (Some(Expect::Rejected), true) => Err(format!(
            "transaction {} was applied, expected rejected (--expect rejected)",
            s.tx_hash
        )),
        _ => Ok(s),
    }
}

fn outcome_text(o: &chancery_core::block::Outcome) -> String {
    match o {
        chancery_core::block::Outcome::Applied => "applied".into(),
        chancery_core::block::Outcome::Rejected(r) => format!("rejected: {}", r.as_str()),
    }
}

/// The `--json` answer for a receipt.
fn receipt_json(genesis: &Genesis, r: &Result<receipt::ReceiptSummary, String>) -> String {
    let steps: Vec<Value> = RECEIPT_STEPS
        .iter()
        .map(|(id, what)| serde_json::json!({"id": id, "checked": what}))
        .collect();
    let v = match r {
        Ok(s) => serde_json::json!({
            "status": "valid",
            "chain_id": genesis.chain_id().to_hex(),
            "tx_hash": s.tx_hash.to_hex(),
            "signer": s.signer.to_hex(),
            "kind": s.kind.as_str(),
            "subject_id": s.subject_id,
            "height": s.height.0,
            "index": s.index,
            "outcome": match s.outcome {
                chancery_core::block::Outcome::Applied => "applied",
                chancery_core::block::Outcome::Rejected(_) => "rejected",
            },
            "reason": match s.outcome {
                chancery_core::block::Outcome::Applied => Value::Null,
                chancery_core::block::Outcome::Rejected(c) => Value::from(c.as_str()),
            },
            "checkpoint": {
                "height": s.checkpoint_height.0,
                "log_size": s.checkpoint_size,
                "epoch": s.checkpoint_epoch.0,
            },
            "steps": steps,
        }),
        Err(e) => serde_json::json!({
            "status": "invalid",
            "chain_id": genesis.chain_id().to_hex(),
            "error": e,
        }),
    };
    v.to_string()
}

/// Read and check a genesis file: JSON, then the kernel's validation (via a canonical
/// round trip, which runs `Genesis::validate`).
pub fn load_genesis(path: &std::path::Path) -> Result<Genesis> {
    let bytes = read_limited(path, GENESIS_FILE_BYTES_MAX)?;
    let g: Genesis = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a genesis JSON document", path.display()))?;
    Genesis::from_bytes(&codec::encode(&g))
        .with_context(|| format!("{} is not a valid genesis", path.display()))
}

/// What kind of proof file a JSON document is.
#[derive(Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A transaction receipt.
    Receipt,
    /// A state-proof bundle.
    StateProof,
    /// A governance proposal with the proof of its state.
    Proposal,
    /// Evidence of equivocation.
    Evidence,
    /// Neither.
    Unknown,
}

/// Detect the kind of a proof file from its fields.
pub fn detect(v: &Value) -> FileKind {
    let has = |k: &str| v.get(k).is_some();
    if has("entry") && has("index") {
        FileKind::Receipt
    } else if has("proposal")
        && v.get("proof")
            .is_some_and(|p| p.get("checkpoint").is_some())
    {
        FileKind::Proposal
    } else if (has("state_proof") || has("proof")) && has("checkpoint") {
        FileKind::StateProof
    } else if has("evidence") && has("first") && has("second") {
        FileKind::Evidence
    } else {
        FileKind::Unknown
    }
}

fn hex_field(what: &str, s: &str) -> Result<Vec<u8>, String> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!("{what}: expected lower-case hex"));
    }
    hex::decode(s).map_err(|e| format!("{what}: expected hex, {e}"))
}

/// Decode the checkpoint of a bundle: hex, or an object with a `checkpoint` hex field.
fn bundle_checkpoint(suite: Suite, v: &Value) -> Result<Checkpoint, String> {
    let hex = match v {
        Value::String(s) => s.as_str(),
        Value::Object(m) => m
            .get("checkpoint")
            .and_then(Value::as_str)
            .ok_or("checkpoint: expected hex or an object with a `checkpoint` hex field")?,
        _ => return Err("checkpoint: expected hex or an object".into()),
    };
    let bytes = hex_field("checkpoint", hex)?;
    codec::decode_in(suite, &bytes).map_err(|e| format!("checkpoint: {e}"))
}

/// Decode the state proof of a bundle: the kernel JSON form, or canonical hex.
fn bundle_proof(suite: Suite, v: &Value) -> Result<StateProof, String> {
    match v {
        Value::String(s) => {
            let bytes = hex_field("state proof", s)?;
            codec::decode_in(suite, &bytes).map_err(|e| format!("state proof: {e}"))
        }
        other => {
            let p: StateProof = serde_json::from_value(other.clone())
                .map_err(|e| format!("state proof is not a state proof: {e}"))?;
            // Same rules as bytes from outside: limits and formats.
            codec::decode_in(suite, &codec::encode(&p)).map_err(|e| format!("state proof: {e}"))
        }
    }
}

/// Decode the `epochs` a document carries (none when absent): the hex of canonical epoch
/// links, verified later from the genesis by the kernel.
fn bundle_links(suite: Suite, v: &Value) -> Result<Vec<EpochLink>, String> {
    match v.get("epochs") {
        None => Ok(Vec::new()),
        Some(e) => {
            let list: Vec<String> = serde_json::from_value(e.clone())
                .map_err(|e| format!("epochs: expected a list of hex epoch links: {e}"))?;
            decode_epoch_links(suite, &list).map_err(|e| e.to_string())
        }
    }
}

/// Verify a state-proof bundle; the text says what it proves.
pub fn verify_state_bundle(v: &Value, genesis: &Genesis) -> Result<String, String> {
    let proof_v = v
        .get("state_proof")
        .or_else(|| v.get("proof"))
        .ok_or("no `proof` field")?;
    let proof = bundle_proof(genesis.crypto, proof_v)?;
    // The node's answer carries the proof twice (JSON and canonical hex): they must agree.
    if let Some(h) = v.get("proof_hex") {
        if bundle_proof(genesis.crypto, h)? != proof {
            return Err("`proof` and `proof_hex` are different proofs".into());
        }
    }
    let cp = bundle_checkpoint(
        genesis.crypto,
        v.get("checkpoint").ok_or("no `checkpoint` field")?,
    )?;
    let links = bundle_links(genesis.crypto, v)?;
    let cp = verify_checkpoint_with_links(genesis, &links, &cp)
        .map_err(|e| format!("checkpoint: {e}"))?;
    // Fields repeated for readers must be the checkpoint's.
    let header = cp.header();
    if let Some(h) = v.get("height") {
        if h.as_u64() != Some(header.height.0) {
            return Err(format!(
                "`height` is {h}, the checkpoint's is {}",
                header.height
            ));
        }
    }
    if let Some(r) = v.get("state_root") {
        if r.as_str() != Some(header.state_root.to_hex().as_str()) {
            return Err(format!(
                "`state_root` is {r}, the checkpoint's is {}",
                header.state_root
            ));
        }
    }
    let value = verify_state_proof(cp.suite(), &cp.header().state_root, &proof).map_err(|e| {
        format!(
            "state proof against the state root of height {}: {e}",
            cp.header().height
        )
    })?;
    let key = serde_json::to_string(&proof.key).unwrap_or_default();
    Ok(match value {
        Some(val) => format!(
            "valid: state key {key} has value {} at height {} (state root {})",
            serde_json::to_string(&val).unwrap_or_default(),
            cp.header().height,
            cp.header().state_root
        ),
        None => format!(
            "valid: state key {key} is absent at height {} (state root {})",
            cp.header().height,
            cp.header().state_root
        ),
    })
}

/// Verify a governance proposal document (`{proposal, proof}`): its proof bundle, and that
/// the proposal shown is the proven value's (id, changes, votes, status). The text says
/// what it proves.
pub fn verify_proposal(v: &Value, genesis: &Genesis) -> Result<String, String> {
    let bundle = v.get("proof").ok_or("no `proof` field")?;
    let text = verify_state_bundle(bundle, genesis)?;
    let proof = bundle_proof(
        genesis.crypto,
        bundle
            .get("proof")
            .or_else(|| bundle.get("state_proof"))
            .ok_or("no proof in `proof`")?,
    )?;
    let shown = v.get("proposal").ok_or("no `proposal` field")?;
    let (chancery_core::state::StateKey::Proposal(id), Some(StateValue::Proposal(p))) =
        (&proof.key, &proof.value)
    else {
        return Err("the proof is not of a proposal's state".into());
    };
    let cp = bundle_checkpoint(
        genesis.crypto,
        bundle.get("checkpoint").ok_or("no `checkpoint` field")?,
    )?;
    let checks: [(&str, Value); 5] = [
        ("id", Value::from(id.as_str())),
        (
            "status",
            serde_json::to_value(p.phase_at(cp.header.time)).unwrap_or_default(),
        ),
        (
            "changes",
            serde_json::to_value(&p.changes).unwrap_or_default(),
        ),
        ("deadline_ms", Value::from(p.deadline.0)),
        ("reason", Value::from(p.reason.to_hex())),
    ];
    for (field, want) in checks {
        if shown.get(field) != Some(&want) {
            return Err(format!(
                "`proposal.{field}` is {}, the proven proposal's is {want}",
                shown.get(field).cloned().unwrap_or(Value::Null)
            ));
        }
    }
    let votes: Vec<Value> = p
        .votes
        .iter()
        .map(|x| {
            serde_json::json!({"agency": x.agency.as_str(), "approve": x.approve,
                "signer": x.signer.to_hex(), "height": x.height.0})
        })
        .collect();
    if shown.get("votes") != Some(&Value::from(votes.clone())) {
        return Err(format!(
            "`proposal.votes` are not the proven votes {}",
            Value::from(votes)
        ));
    }
    Ok(text)
}

/// Verify an evidence document; the text names the culprit. The canonical `evidence` hex
/// is what is checked; the fields repeated for readers (`first`, `second`, `culprit`,
/// `epoch`, `view`) must agree with it.
pub fn verify_evidence(v: &Value, genesis: &Genesis) -> Result<String, String> {
    let hex = v
        .get("evidence")
        .and_then(Value::as_str)
        .ok_or("`evidence`: expected canonical hex")?;
    let ev: chancery_consensus::Evidence =
        codec::decode_in(genesis.crypto, &hex_field("evidence", hex)?)
            .map_err(|e| format!("evidence: {e}"))?;
    // The set of the evidence's epoch, proven from the genesis by the links it carries.
    let links = bundle_links(genesis.crypto, v)?;
    let set = verify_set_of_epoch(genesis, &links, ev.epoch())
        .map_err(|e| format!("the validator set of evidence of epoch {}: {e}", ev.epoch()))?;
    let culprit = ev
        .verify(genesis.chain_id(), set.set())
        .map_err(|e| format!("evidence does not prove misbehaviour: {e}"))?;
    let (epoch, view) = (ev.epoch().0, ev.view().0);
    let (kind, first, second) = ev.encoded_parts();
    let repeated = [
        ("kind", Value::from(kind)),
        ("first", Value::from(hex::encode(first))),
        ("second", Value::from(hex::encode(second))),
        ("culprit", Value::from(culprit)),
        ("epoch", Value::from(epoch)),
        ("view", Value::from(view)),
    ];
    for (field, value) in repeated {
        if let Some(found) = v.get(field) {
            if *found != value {
                return Err(format!("`{field}` is {found}, the evidence says {value}"));
            }
        }
    }
    let name = set.set().get(culprit).map_or("?", |v| v.name.as_str());
    let chain = if links.is_empty() {
        String::new()
    } else {
        format!(" ({} epoch links verified from the genesis)", links.len())
    };
    Ok(format!(
        "valid: validator {name} (index {culprit}) signed two conflicting votes in epoch {epoch}, view {view}{chain}"
    ))
}

/// Run `verify`.
pub fn run(a: Args) -> Result<Outcome> {
    let genesis = load_genesis(&a.genesis)?;
    let bytes = read_limited(&a.receipt, RECEIPT_BYTES_MAX)?;
    if let Some(t) = &a.tx {
        if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            anyhow::bail!(
                "--tx: expected a transaction hash of 64 hex digits, found {:?}",
                t.chars().take(80).collect::<String>()
            );
        }
    }
    let v: Value = match crate::files::json_strict(&bytes) {
        Ok(v) => v,
        Err(e) => return Ok(Outcome::Invalid(format!("file is not strict JSON: {e}"))),
    };
    let kind = detect(&v);
    if kind != FileKind::Receipt && (a.tx.is_some() || a.expect.is_some() || a.json) {
        anyhow::bail!(
            "--tx, --expect and --json apply to receipts; this file is {kind:?}, not a receipt"
        );
    }
    match kind {
        FileKind::Receipt => {
            let r: Receipt = match serde_json::from_value(v) {
                Ok(r) => r,
                Err(e) => {
                    return Ok(Outcome::Invalid(format!(
                        "receipt is not receipt JSON: {e}"
                    )))
                }
            };
            let result = verify_receipt(&r, &genesis, a.tx.as_deref(), a.expect);
            Ok(match (a.json, result) {
                (false, Ok(s)) => Outcome::Ok(format!("{s}; signed by {}", s.signer)),
                (false, Err(e)) => Outcome::Invalid(e),
                (true, Ok(s)) => Outcome::Ok(receipt_json(&genesis, &Ok(s))),
                (true, Err(e)) => Outcome::InvalidWith {
                    stdout: receipt_json(&genesis, &Err(e.clone())),
                    reason: e,
                },
            })
        }
        FileKind::Proposal => Ok(match verify_proposal(&v, &genesis) {
            Ok(s) => Outcome::Ok(s),
            Err(e) => Outcome::Invalid(e),
        }),
        FileKind::StateProof => Ok(match verify_state_bundle(&v, &genesis) {
            Ok(s) => Outcome::Ok(s),
            Err(e) => Outcome::Invalid(e),
        }),
        FileKind::Evidence => Ok(match verify_evidence(&v, &genesis) {
            Ok(s) => Outcome::Ok(s),
            Err(e) => Outcome::Invalid(e),
        }),
        FileKind::Unknown => Ok(Outcome::Invalid(
            "the file is not receipt JSON (fields entry, index, proof, checkpoint), a state-proof bundle (fields proof, checkpoint) nor an evidence document (fields evidence, first, second)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_core::record::{AnchorDocument, DocumentRef, Record, RecordRef, Role};
    use chancery_core::state::StateKey;
    use chancery_ledger::testing::{fixture::Fixture, propose_and_apply};
    use chancery_ledger::Ledger;
    use chancery_storage::MemStore;
    use std::sync::Arc;

    /// A bundle as `GET /v1/proofs/state/...` answers it, for a genesis member's key.
    fn bundle() -> (Fixture, Value) {
        let fx = Fixture::new();
        let ledger = Ledger::open(Arc::new(MemStore::new()), &fx.genesis).unwrap();
        let key = fx.signer("nhc", Role::Archivist).clone();
        let tx = fx.tx(
            &key,
            0,
            Record::AnchorDocument(AnchorDocument {
                document: DocumentRef {
                    hash: chancery_core::domain::DOCUMENT_HASH.hash(b"d"),
                    kind: "report".into(),
                    title: "t".into(),
                    url: String::new(),
                },
                supports: RecordRef::None,
            }),
        );
        propose_and_apply(&ledger, &fx, vec![tx]).unwrap();
        let (proof, cp) = ledger
            .state_proof(&StateKey::Member(key.public()), None)
            .unwrap();
        let v = serde_json::json!({
            "height": cp.header.height.0,
            "state_root": cp.header.state_root.to_hex(),
            "proof": serde_json::to_value(&proof).unwrap(),
            "proof_hex": hex::encode(codec::encode(&proof)),
            "checkpoint": hex::encode(codec::encode(&cp)),
        });
        (fx, v)
    }

    #[test]
    fn a_state_proof_bundle_verifies_and_every_alteration_fails() {
        let (fx, v) = bundle();
        assert_eq!(detect(&v), FileKind::StateProof);
        let ok = verify_state_bundle(&v, &fx.genesis).unwrap();
        assert!(ok.starts_with("valid: state key {\"member\""), "{ok}");
        let flip = |s: &str, at: usize| {
            let mut b = s.as_bytes().to_vec();
            b[at] = if b[at] == b'0' { b'1' } else { b'0' };
            String::from_utf8(b).unwrap()
        };
        let mut bad = Vec::new();
        let mut t = v.clone();
        t["proof"]["value"]["member"]["name"] = "someone else".into();
        bad.push(t);
        let mut t = v.clone();
        let sib = v["proof"]["siblings"][0].as_str().unwrap();
        t["proof"]["siblings"][0] = flip(sib, 3).into();
        t["proof_hex"] = Value::Null;
        t.as_object_mut().unwrap().remove("proof_hex");
        bad.push(t);
        let mut t = v.clone();
        t["proof_hex"] = flip(v["proof_hex"].as_str().unwrap(), 40).into();
        bad.push(t);
        let cp = v["checkpoint"].as_str().unwrap();
        for at in [10, cp.len() / 2, cp.len() - 2] {
            let mut t = v.clone();
            t["checkpoint"] = flip(cp, at).into();
            bad.push(t);
        }
        let mut t = v.clone();
        t["height"] = 7.into();
        bad.push(t);
        for (i, t) in bad.iter().enumerate() {
            assert!(
                verify_state_bundle(t, &fx.genesis).is_err(),
                "alteration {i} verified"
            );
        }
    }

    /// An evidence document as `GET /v1/evidence/{id}` serves it: validator 1 of the
    /// fixture signed notarize votes for two blocks in view 7.
    pub(crate) fn evidence_doc(fx: &Fixture) -> Value {
        use chancery_consensus::{Evidence, Vote};
        use chancery_core::cert::VoteKind;
        use chancery_core::{Digest, View};
        let set = &fx.genesis.validators;
        let vote = |block: u8| {
            Vote::sign(
                fx.genesis.chain_id(),
                set.epoch,
                View(7),
                VoteKind::Notarize,
                Digest([block; 32]),
                1,
                &fx.validators[1],
            )
        };
        let ev = Evidence::Votes {
            first: vote(1),
            second: vote(2),
        };
        serde_json::json!({
            "id": "00",
            "kind": "votes",
            "epoch": set.epoch.0,
            "view": 7,
            "culprit": 1,
            "first": hex::encode(ev.encoded_parts().1),
            "second": hex::encode(ev.encoded_parts().2),
            "evidence": hex::encode(codec::encode(&ev)),
            "verified": true,
        })
    }

    #[test]
    fn evidence_verifies_and_names_the_culprit_and_tampering_fails() {
        let fx = Fixture::new();
        let v = evidence_doc(&fx);
        assert_eq!(detect(&v), FileKind::Evidence);
        let ok = verify_evidence(&v, &fx.genesis).unwrap();
        let name = &fx.genesis.validators.validators[1].name;
        assert!(ok.contains(&format!("validator {name} (index 1)")), "{ok}");
        let ev = v["evidence"].as_str().unwrap();
        // A flipped bit in the second signature (the last 64 bytes of the encoding).
        let mut b = hex::decode(ev).unwrap();
        let n = b.len();
        b[n - 3] ^= 1;
        let mut t = v.clone();
        t["evidence"] = hex::encode(&b).into();
        let e = verify_evidence(&t, &fx.genesis).unwrap_err();
        assert!(
            e.contains("does not verify") || e.contains("evidence"),
            "{e}"
        );
        // A claim about someone else.
        let mut t = v.clone();
        t["culprit"] = 2.into();
        assert!(verify_evidence(&t, &fx.genesis).is_err());
        // Another chain's genesis.
        let mut other = fx.genesis.clone();
        other.chain_name = format!("{}-other", other.chain_name);
        assert!(verify_evidence(&v, &other).is_err());
    }

    /// A ledger taken to epoch 2, and the bundle of a proposal as
    /// `GET /v1/governance/proposals/{id}` serves it (the proof under the latest
    /// checkpoint, of epoch 2, with its two links).
    fn proposal_doc() -> (chancery_ledger::testing::governed::Chain, Value) {
        let mut c = chancery_ledger::testing::governed::Chain::new();
        c.rotate_to_next_epoch("v3", "one");
        c.rotate_to_next_epoch("v1", "two");
        c.empty_blocks(1);
        let (proof, cp) = c
            .ledger
            .state_proof(&StateKey::Proposal("rotate-v3-one".into()), None)
            .unwrap();
        assert_eq!(cp.header.epoch, chancery_core::Epoch(2));
        let links = c.ledger.epoch_links(cp.header.epoch).unwrap();
        let Some(StateValue::Proposal(p)) = &proof.value else {
            panic!("{:?}", proof.value)
        };
        let votes: Vec<Value> = p
            .votes
            .iter()
            .map(|v| {
                serde_json::json!({"agency": v.agency.as_str(), "approve": v.approve,
                    "signer": v.signer.to_hex(), "height": v.height.0})
            })
            .collect();
        let doc = serde_json::json!({
            "proposal": {
                "id": "rotate-v3-one",
                "status": "passed",
                "changes": serde_json::to_value(&p.changes).unwrap(),
                "deadline_ms": p.deadline.0,
                "reason": p.reason.to_hex(),
                "votes": votes,
            },
            "proof": {
                "height": cp.header.height.0,
                "state_root": cp.header.state_root.to_hex(),
                "proof": serde_json::to_value(&proof).unwrap(),
                "proof_hex": hex::encode(codec::encode(&proof)),
                "checkpoint": hex::encode(codec::encode(&cp)),
                "epochs": links.iter().map(|l| hex::encode(codec::encode(l))).collect::<Vec<_>>(),
            }
        });
        (c, doc)
    }

    #[test]
    fn a_bundle_of_a_later_epoch_verifies_with_its_links_and_names_a_tampered_one() {
        let (c, doc) = proposal_doc();
        let g = &c.fx.genesis;
        assert_eq!(detect(&doc), FileKind::Proposal);
        let ok = verify_proposal(&doc, g).unwrap();
        assert!(ok.starts_with("valid: state key {\"proposal\""), "{ok}");
        // The bundle alone is a state-proof bundle.
        assert_eq!(detect(&doc["proof"]), FileKind::StateProof);
        assert!(verify_state_bundle(&doc["proof"], g).is_ok());
        // Without its links, a checkpoint of epoch 2 does not verify from the genesis.
        let mut t = doc.clone();
        t["proof"].as_object_mut().unwrap().remove("epochs");
        let e = verify_proposal(&t, g).unwrap_err();
        assert!(e.contains("epoch 2"), "{e}");
        // A link's byte flipped: the error names the link.
        let mut t = doc.clone();
        let l1 = t["proof"]["epochs"][1].as_str().unwrap().to_string();
        let mut b = hex::decode(&l1).unwrap();
        let n = b.len();
        b[n - 5] ^= 1;
        t["proof"]["epochs"][1] = hex::encode(b).into();
        let e = verify_proposal(&t, g).unwrap_err();
        assert!(e.contains("epoch link 1"), "{e}");
        // A proposal shown otherwise than proven.
        for (field, v) in [
            ("status", Value::from("failed")),
            ("id", Value::from("another")),
            ("deadline_ms", Value::from(1)),
        ] {
            let mut t = doc.clone();
            t["proposal"][field] = v;
            let e = verify_proposal(&t, g).unwrap_err();
            assert!(e.contains(&format!("proposal.{field}")), "{e}");
        }
        let mut t = doc.clone();
        t["proposal"]["votes"][0]["approve"] = false.into();
        assert!(verify_proposal(&t, g)
            .unwrap_err()
            .contains("proposal.votes"));
    }
}
