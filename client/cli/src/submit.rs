//! `chancery submit KIND [FIELD=VALUE | FIELD:=JSON]... [--file F] --key FILE --node URL`:
//! build a record of any kind from fields on the command line and/or a JSON or TOML file,
//! sign it with a member key file, submit it, and optionally wait for finality.
//!
//! Fields use the record's JSON names (see `docs/client.md`); `name=value` sets a string,
//! `name:=json` sets any JSON value (numbers, objects, lists), and a dotted name sets a
//! nested field (`document.title=...`). Command-line fields override the file's.
//! Restricted fields (`location`, `counterparty`, `constraints`) given as plain values are
//! sealed with a fresh random salt, printed to stderr, unless `--disclose` is given.

use crate::files::read_limited;
use crate::Outcome;
use anyhow::{anyhow, bail, Context, Result};
use chancery_client::types::TxStatusDto;
use chancery_client::{Client, NODE_DEFAULT};
use chancery_core::crypto::SecretKey;
use chancery_core::ids::{ChainId, Seq};
use chancery_core::record::{Constraint, Record, RecordKind, Restricted};
use chancery_core::tx::{Transaction, TxBody};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Largest record file, in bytes.
pub const RECORD_FILE_BYTES_MAX: usize = 1024 * 1024;
/// Most FIELD=VALUE arguments.
pub const FIELDS_MAX: usize = 256;
/// Pause between two status polls of `--wait`, in milliseconds.
pub const POLL_INTERVAL_MS: u64 = 200;

/// Arguments of `submit`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Record kind: register_asset, transfer_asset, dispose_asset, award_procurement,
    /// amend_award, cancel_award, grant_data_access, revoke_grant, anchor_document,
    /// register_member, revoke_member.
    kind: String,
    /// Fields: `name=string`, `name:=json`, dotted names for nested fields.
    fields: Vec<String>,
    /// A JSON (.json) or TOML (.toml) file with the record's fields.
    #[arg(long)]
    file: Option<PathBuf>,
    /// The member key file that signs.
    #[arg(long)]
    key: PathBuf,
    /// The node's API base URL.
    #[arg(long, env = "CHANCERY_NODE", default_value = NODE_DEFAULT)]
    node: String,
    /// Sequence number; by default the node's `next_seq` for the key.
    #[arg(long)]
    seq: Option<u64>,
    /// Wait until the transaction is finalized or rejected.
    #[arg(long)]
    wait: bool,
    /// Deadline of `--wait`, in seconds.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
    /// Put restricted fields on the ledger in the clear instead of sealing them.
    #[arg(long)]
    disclose: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// The kind named `s`, or an error listing the kinds.
pub fn parse_kind(s: &str) -> Result<RecordKind> {
    RecordKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| {
            anyhow!(
                "unknown record kind {s:?}: expected one of {}",
                RecordKind::ALL.map(|k| k.as_str()).join(", ")
            )
        })
}

/// Read a JSON or TOML file of record fields into a JSON object.
pub fn read_fields_file(path: &std::path::Path) -> Result<Map<String, Value>> {
    let bytes = read_limited(path, RECORD_FILE_BYTES_MAX)?;
    let text = std::str::from_utf8(&bytes)
        .with_context(|| format!("{} is not UTF-8 text", path.display()))?;
    let is_toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let v: Value = if is_toml {
        toml::from_str(text)
            .with_context(|| format!("{} is not a TOML document", path.display()))?
    } else {
        serde_json::from_str(text)
            .with_context(|| format!("{} is not a JSON document", path.display()))?
    };
    // A fixture-style file `{ "json": {...} }` or a transaction body `{ "record": {...} }`
    // is accepted too: take the record object inside.
    let v = match v {
        Value::Object(mut m) if !m.contains_key("kind") && m.contains_key("record") => {
            m.remove("record").unwrap_or_default()
        }
        other => other,
    };
    match v {
        Value::Object(m) => Ok(m),
        _ => bail!(
            "{}: expected an object (table) of record fields",
            path.display()
        ),
    }
}

/// Set `name=value` or `name:=json` in `obj`.
pub fn apply_field(obj: &mut Map<String, Value>, arg: &str) -> Result<()> {
    let (name, value) = if let Some((n, j)) = arg.split_once(":=") {
        let v: Value = serde_json::from_str(j)
            .with_context(|| format!("field {n}: `{n}:=` needs a JSON value, found {j:?}"))?;
        (n, v)
    } else if let Some((n, s)) = arg.split_once('=') {
        (n, Value::String(s.to_string()))
    } else {
        bail!("field argument {arg:?}: expected NAME=VALUE or NAME:=JSON");
    };
    if name.is_empty() || name.split('.').any(str::is_empty) {
        bail!("field argument {arg:?}: empty field name");
    }
    let parts: Vec<&str> = name.split('.').collect();
    let mut cur = obj;
    for p in &parts[..parts.len() - 1] {
        let e = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !e.is_object() {
            *e = Value::Object(Map::new());
        }
        cur = e
            .as_object_mut()
            .ok_or_else(|| anyhow!("field {name}: {p} is not an object"))?;
    }
    cur.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// Is `v` already a `Restricted` JSON form (`{"open": ..}` or `{"sealed": ..}`)?
fn is_restricted_form(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.len() == 1 && (m.contains_key("open") || m.contains_key("sealed")))
}

/// A salt from the OS RNG (every sealed field gets its own: a salt derived from public
/// data would let anyone brute-force the sealed value from its commitment).
pub(crate) fn fresh_salt() -> Result<[u8; 32]> {
    let mut s = [0u8; 32];
    getrandom::getrandom(&mut s).map_err(|e| anyhow!("the OS random generator failed: {e}"))?;
    Ok(s)
}

/// One sealed field: its name, the salt, and the value (to disclose later).
#[derive(Debug, serde::Serialize)]
pub struct Sealed {
    /// Field name.
    pub field: String,
    /// Salt, hex.
    pub salt: String,
    /// The value that was sealed.
    pub value: Value,
}

/// Seal (or, with `disclose`, open) the restricted fields of `obj` given as plain values,
/// committing with the hash of the chain's `suite` (the signing key's).
pub fn restrict_fields(
    suite: chancery_core::suite::Suite,
    kind: RecordKind,
    obj: &mut Map<String, Value>,
    disclose: bool,
) -> Result<Vec<Sealed>> {
    let field = match kind {
        RecordKind::RegisterAsset => "location",
        RecordKind::DisposeAsset => "counterparty",
        RecordKind::GrantDataAccess => "constraints",
        _ => return Ok(vec![]),
    };
    let Some(v) = obj.get(field).cloned() else {
        return Ok(vec![]);
    };
    if v.is_null() || is_restricted_form(&v) {
        return Ok(vec![]);
    }
    if disclose {
        obj.insert(field.into(), serde_json::json!({ "open": v }));
        return Ok(vec![]);
    }
    let salt = fresh_salt()?;
    let digest = if field == "constraints" {
        let cs: Vec<Constraint> = serde_json::from_value(v.clone()).with_context(|| {
            format!("field constraints: expected a list of {{left_operand, operator, right_operand}}, found {v}")
        })?;
        Restricted::commitment(suite, &salt, &cs)
    } else {
        let s = v
            .as_str()
            .ok_or_else(|| anyhow!("field {field}: expected a string, found {v}"))?;
        Restricted::commitment(suite, &salt, &s.to_string())
    };
    obj.insert(field.into(), serde_json::json!({ "sealed": digest }));
    Ok(vec![Sealed {
        field: field.into(),
        salt: hex::encode(salt),
        value: v,
    }])
}

/// Build and check a record of `kind` from a JSON object of its fields.
pub fn build_record(kind: RecordKind, mut obj: Map<String, Value>) -> Result<Record> {
    match obj.get("kind") {
        Some(Value::String(k)) if k != kind.as_str() => {
            bail!(
                "the fields say kind {k:?} but the command says {}",
                kind.as_str()
            )
        }
        _ => {}
    }
    obj.insert("kind".into(), Value::String(kind.as_str().into()));
    let r: Record = serde_json::from_value(Value::Object(obj)).map_err(|e| {
        anyhow!(
            "{} record: {e} (give fields as NAME=VALUE or NAME:=JSON, or in --file; see docs/client.md)",
            kind.as_str()
        )
    })?;
    r.validate()
        .map_err(|e| anyhow!("invalid {} record: {e}", kind.as_str()))?;
    Ok(r)
}

/// The chain id the node serves (from `GET /v1/status`).
pub fn chain_id(client: &Client) -> Result<ChainId> {
    let s = client.status()?.chain_id;
    s.parse().map_err(|_| {
        anyhow!(
            "{}: chain_id is not 64 hex digits: {s:?}",
            client.url("/v1/status")
        )
    })
}

/// The key's next sequence number (from `GET /v1/members/{key}`).
pub fn next_seq(client: &Client, key: &chancery_core::PublicKey) -> Result<u64> {
    Ok(client.member(&key.to_string())?.next_seq)
}

/// Sign `record` with `key` for `chain_id` at `seq`.
pub fn sign(record: Record, key: &SecretKey, chain_id: ChainId, seq: u64) -> Transaction {
    let body = TxBody {
        chain_id,
        signer: key.public(),
        seq: Seq(seq),
        record,
    };
    Transaction::sign(body, key)
}

/// Submit a signed transaction; the hash the node answered.
pub fn post(client: &Client, tx: &Transaction) -> Result<String> {
    let hash = client
        .submit(&tx.to_bytes())
        .context("the node refused the transaction")?
        .hash;
    let mine = tx.hash().to_hex();
    if hash != mine {
        bail!(
            "{}: the node answered hash {hash}, the transaction's hash is {mine}",
            client.url("/v1/transactions")
        );
    }
    Ok(hash)
}

/// Poll `GET /v1/transactions/{hash}` until finalized or rejected, or the deadline.
pub fn wait(client: &Client, hash: &str, timeout: Duration) -> Result<TxStatusDto> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match client.tx(hash) {
            Ok(st) if st.is_committed() => return Ok(st),
            Ok(st) => st.status,
            // Not yet seen by this node: keep polling.
            Err(e) if e.status() == Some(404) => e.to_string(),
            Err(e) => return Err(e.into()),
        };
        if Instant::now() >= deadline {
            bail!(
                "transaction {hash} not finalized within {} s (last answer: {last})",
                timeout.as_secs(),
            );
        }
        std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MS));
    }
}

/// What `submit` prints (`--json`) about the transaction.
#[derive(serde::Serialize)]
struct Submitted {
    hash: String,
    kind: &'static str,
    subject: String,
    seq: u64,
    /// `pending`, `finalized` or `rejected`.
    status: String,
    receipt: String,
    sealed: Vec<Sealed>,
    /// Where it was committed, with `--wait`.
    height: Option<u64>,
    index: Option<u64>,
    reason: Option<String>,
}

/// Run `submit`.
pub fn run(a: Args) -> Result<Outcome> {
    let kind = parse_kind(&a.kind)?;
    if a.fields.len() > FIELDS_MAX {
        bail!(
            "at most {FIELDS_MAX} field arguments, found {}",
            a.fields.len()
        );
    }
    let mut obj = match &a.file {
        Some(f) => read_fields_file(f)?,
        None => Map::new(),
    };
    for f in &a.fields {
        apply_field(&mut obj, f)?;
    }
    let key = chancery_genesis::read_key_file(&a.key)?.secret;
    // The chain's suite is the signing key's (a chain admits only keys of its suite).
    let sealed = restrict_fields(key.suite(), kind, &mut obj, a.disclose)?;
    let record = build_record(kind, obj)?;
    let client = Client::new(&a.node);
    let chain = chain_id(&client)?;
    let seq = match a.seq {
        Some(s) => s,
        None => next_seq(&client, &key.public())?,
    };
    let subject = record.subject_id();
    let tx = sign(record, &key, chain, seq);
    for s in &sealed {
        eprintln!(
            "sealed field {} with salt {} (keep the salt and the value to disclose it later)",
            s.field, s.salt
        );
    }
    let hash = post(&client, &tx)?;
    let receipt = client.url(&format!("/v1/receipts/{hash}"));
    let mut out = Submitted {
        hash: hash.clone(),
        kind: kind.as_str(),
        subject: subject.clone(),
        seq,
        status: "pending".into(),
        receipt: receipt.clone(),
        sealed,
        height: None,
        index: None,
        reason: None,
    };
    if a.wait {
        let st = wait(&client, &hash, Duration::from_secs(a.timeout_s))?;
        out.status = st.status;
        out.height = st.height;
        out.index = st.index;
        out.reason = st.reason;
    }
    let rejected = out.status == "rejected";
    let text = if a.json {
        serde_json::to_string(&out)?
    } else {
        let mut s = format!("tx {hash}\n{} {subject} (seq {seq})\n", kind.as_str());
        let at = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
        match out.status.as_str() {
            "finalized" => s.push_str(&format!(
                "finalized at height {} (log index {})\n",
                at(out.height),
                at(out.index)
            )),
            "rejected" => s.push_str(&format!(
                "rejected at height {} (log index {}): {}\n",
                at(out.height),
                at(out.index),
                out.reason.as_deref().unwrap_or("?")
            )),
            _ => s.push_str("pending (use --wait to wait for finality)\n"),
        }
        s.push_str(&format!("receipt: {receipt}"));
        s
    };
    Ok(if rejected {
        Outcome::Invalid(text)
    } else {
        Outcome::Ok(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_core::suite::Suite;

    #[test]
    fn fields_build_a_record_and_name_what_is_missing() {
        let mut obj = Map::new();
        apply_field(&mut obj, "grant_id=g-1").unwrap();
        let err = build_record(RecordKind::RevokeGrant, obj.clone()).unwrap_err();
        assert!(err.to_string().contains("missing field `reason`"), "{err}");
        apply_field(&mut obj, "reason=done").unwrap();
        let r = build_record(RecordKind::RevokeGrant, obj).unwrap();
        assert_eq!(r.subject_id(), "g-1");
        let mut obj = Map::new();
        apply_field(&mut obj, "document.title=t").unwrap();
        apply_field(&mut obj, "quantity:=3").unwrap();
        assert_eq!(obj["document"]["title"], "t");
        assert_eq!(obj["quantity"], 3);
        assert!(apply_field(&mut obj, "quantity:=x").is_err());
        assert!(apply_field(&mut obj, "novalue").is_err());
        assert!(parse_kind("register_assets").is_err());
    }

    #[test]
    fn restricted_fields_are_sealed_unless_disclosed() {
        let mut obj = Map::new();
        apply_field(&mut obj, "location=Room 5").unwrap();
        let s =
            restrict_fields(Suite::default(), RecordKind::RegisterAsset, &mut obj, false).unwrap();
        assert_eq!(s.len(), 1);
        let salt: [u8; 32] = hex::decode(&s[0].salt).unwrap().try_into().unwrap();
        let sealed: Restricted<String> = serde_json::from_value(obj["location"].clone()).unwrap();
        assert!(sealed.is_sealed());
        assert!(sealed.opens_to(Suite::default(), &salt, &"Room 5".to_string()));
        assert!(!sealed.opens_to(Suite::default(), &salt, &"Room 6".to_string()));
        let mut obj = Map::new();
        apply_field(&mut obj, "location=Room 5").unwrap();
        restrict_fields(Suite::default(), RecordKind::RegisterAsset, &mut obj, true).unwrap();
        assert_eq!(obj["location"]["open"], "Room 5");
    }
}
