//! `chancery gov propose|vote|show|list`: governance from the command line
//! (docs/governance.md, docs/client.md).
//!
//! - `propose` builds a `propose_change` record from `--change` flags and/or a TOML file
//!   (`--changes FILE`), with a deadline in block time (`--deadline-ms` or `--deadline-in
//!   10m`, from the node's last block time) and a reason document (`--reason FILE`, hashed,
//!   or `--reason-hash HEX`), signs it with an admin key file and submits it.
//! - `vote --proposal ID --approve|--reject` signs and submits a vote.
//! - With `--wait`, both wait until the transaction is final, then until the proposal is
//!   decided, and, when it passed with validator or parameter changes, until the node's
//!   `GET /v1/governance` shows the new epoch in force.
//! - `show ID --genesis G` prints a proposal with its votes and status and verifies its
//!   state proof (and the epoch links of its checkpoint) against the genesis; `list` pages
//!   through proposals, newest first.
//!
//! Every command prints machine-readable JSON with `--json`.
//!
//! A change is a table with `change = "KIND"` and the kind's fields (the kernel's
//! `Change` JSON): `add_agency` (id, name_zh, name_en, admin_keys), `remove_agency` (id),
//! `add_validator` (agency, name, consensus_key, network_key, power), `remove_validator`
//! (name), `rotate_validator_keys` (name, consensus_key and/or network_key),
//! `set_admin_keys` (agency, admin_keys), `set_params` (the parameters to change; the
//! others keep the values in force). A key is 64 hex digits, or a key file: `KEY_file =
//! "path"` in TOML (`admin_key_files` for a list; paths relative to the TOML file),
//! `KEY=@path` in a flag. Admin keys are sorted for the kernel.

use crate::files::read_limited;
use crate::verify::{load_genesis, verify_proposal};
use crate::Outcome;
use anyhow::{anyhow, bail, Context, Result};
use chancery_client::types::{GovernanceDto, ProposalDto};
use chancery_client::{Client, NODE_DEFAULT};
use chancery_core::domain::DOCUMENT_HASH;
use chancery_core::genesis::ChainParams;
use chancery_core::governance::Change;
use chancery_core::limits::CHANGES_MAX;
use chancery_core::record::{ProposeChange, Record, Vote};
use chancery_core::{Digest, PublicKey, TimestampMs};
use chancery_genesis::keyfile::{self, KeyKind};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Largest changes file, in bytes.
pub const CHANGES_FILE_BYTES_MAX: usize = 1024 * 1024;
/// Largest reason document hashed by `--reason`, in bytes.
pub const REASON_FILE_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Longest `--change` argument, in characters.
pub const CHANGE_ARG_CHARS_MAX: usize = 16 * 1024;
/// Pause between two polls of `--wait`, in milliseconds.
pub const POLL_INTERVAL_MS: u64 = 500;
/// Most proposals `list` asks for in one page.
pub const LIST_PAGE_MAX: u64 = 100;

/// The kinds of change, as in JSON and TOML.
pub const CHANGE_KINDS: [&str; 7] = [
    "add_agency",
    "remove_agency",
    "add_validator",
    "remove_validator",
    "rotate_validator_keys",
    "set_admin_keys",
    "set_params",
];

/// Governance commands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Propose changes (signed by an agency admin key).
    Propose(ProposeArgs),
    /// Vote on a proposal as an agency admin.
    Vote(VoteArgs),
    /// Show a proposal with its votes and status, and verify its proof against the genesis.
    Show(ShowArgs),
    /// List proposals, newest first.
    List(ListArgs),
}

/// What every command that submits takes.
#[derive(clap::Args, Debug)]
pub struct SubmitOpts {
    /// The admin key file that signs.
    #[arg(long)]
    key: PathBuf,
    /// The node's API base URL.
    #[arg(long, env = "CHANCERY_NODE", default_value = NODE_DEFAULT)]
    node: String,
    /// Sequence number; by default the node's `next_seq` for the key.
    #[arg(long)]
    seq: Option<u64>,
    /// Wait until the transaction is final and the proposal decided (and, if it passed
    /// with validator or parameter changes, until the new epoch is in force).
    #[arg(long)]
    wait: bool,
    /// Deadline of `--wait`, in seconds.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `gov propose`.
#[derive(clap::Args, Debug)]
pub struct ProposeArgs {
    /// Proposal id (1 to 64 of A-Z a-z 0-9 - _ . : /); by default `p-` and 8 random hex
    /// digits.
    #[arg(long)]
    id: Option<String>,
    /// A change: `KIND FIELD=VALUE ...`, e.g. `rotate_validator_keys name=mof-1
    /// consensus_key=@keys/mof-1-new.key` (repeat for several; after those of --changes).
    #[arg(long = "change")]
    change: Vec<String>,
    /// A TOML file of changes: `[[changes]]` tables with `change = "KIND"` and its fields.
    #[arg(long)]
    changes: Option<PathBuf>,
    /// Voting deadline in block time, ms since 1970.
    #[arg(long, conflicts_with = "deadline_in")]
    deadline_ms: Option<u64>,
    /// Voting deadline from the node's last block time: `90s`, `10m`, `2h`, `7d`
    /// (default 24h).
    #[arg(long)]
    deadline_in: Option<String>,
    /// The document that explains the proposal (its hash goes on the ledger).
    #[arg(long, conflicts_with = "reason_hash")]
    reason: Option<PathBuf>,
    /// The hash of that document, 64 hex digits.
    #[arg(long)]
    reason_hash: Option<String>,
    #[command(flatten)]
    opts: SubmitOpts,
}

/// Arguments of `gov vote`.
#[derive(clap::Args, Debug)]
pub struct VoteArgs {
    /// The proposal id.
    #[arg(long)]
    proposal: String,
    /// Approve the proposal.
    #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
    approve: bool,
    /// Reject the proposal.
    #[arg(long)]
    reject: bool,
    #[command(flatten)]
    opts: SubmitOpts,
}

/// Arguments of `gov show`.
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// The proposal id.
    id: String,
    /// The genesis file (JSON) the proof is verified against.
    #[arg(long)]
    genesis: PathBuf,
    /// The node's API base URL.
    #[arg(long, env = "CHANCERY_NODE", default_value = NODE_DEFAULT)]
    node: String,
    /// Print the proposal and the verification as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `gov list`.
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Only proposals in this status: open, passed, failed, expired.
    #[arg(long)]
    status: Option<String>,
    /// Proposals in the page (1 to 100).
    #[arg(long, default_value_t = 20)]
    limit: u64,
    /// The `next` cursor of the previous page.
    #[arg(long)]
    cursor: Option<String>,
    /// The node's API base URL.
    #[arg(long, env = "CHANCERY_NODE", default_value = NODE_DEFAULT)]
    node: String,
    /// Print the page as JSON.
    #[arg(long)]
    json: bool,
}

/// Run a governance command.
pub fn run(c: Command) -> Result<Outcome> {
    match c {
        Command::Propose(a) => propose(a),
        Command::Vote(a) => vote(a),
        Command::Show(a) => show(a),
        Command::List(a) => list(a),
    }
}

// ------------------------------------------------------------------- parsing changes

/// A duration: a number and a unit, `ms`, `s`, `m`, `h` or `d`.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let err = || anyhow!("duration {s:?}: expected a number and a unit: 500ms, 90s, 10m, 2h, 7d");
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| err())?;
    let ms = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        _ => return Err(err()),
    }
    .ok_or_else(err)?;
    Ok(Duration::from_millis(ms))
}

/// Split a `--change` argument into words: spaces separate, double quotes group (`name_zh="公安 部"`),
/// a backslash escapes the next character.
pub fn split_words(s: &str) -> Result<Vec<String>> {
    if s.chars().count() > CHANGE_ARG_CHARS_MAX {
        bail!("a --change argument longer than {CHANGE_ARG_CHARS_MAX} characters");
    }
    let mut words = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut started, mut chars) = (false, false, s.chars());
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(
                    chars
                        .next()
                        .ok_or_else(|| anyhow!("--change {s:?}: a backslash at the end"))?,
                );
                started = true;
            }
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            c => {
                cur.push(c);
                started = true;
            }
        }
    }
    if quoted {
        bail!("--change {s:?}: an unclosed double quote");
    }
    if started {
        words.push(cur);
    }
    Ok(words)
}

/// Fields whose flag values are numbers.
const NUMBER_FIELDS: [&str; 6] = [
    "power",
    "block_txs_max",
    "block_bytes_max",
    "delta_ms",
    "heartbeat_ms",
    "epoch_delay_blocks",
];

/// One `--change` argument as a change table (the same form as a TOML `[[changes]]`
/// table): `KIND FIELD=VALUE ...`; `KEY=@path` names a key file, `admin_keys=a,b` a list,
/// `governance_threshold=2/3` a fraction.
pub fn change_from_flag(arg: &str) -> Result<Map<String, Value>> {
    let words = split_words(arg)?;
    let Some((kind, fields)) = words.split_first() else {
        bail!(
            "--change is empty: expected KIND FIELD=VALUE ..., KIND one of {}",
            CHANGE_KINDS.join(", ")
        );
    };
    let mut obj = Map::new();
    obj.insert("change".into(), Value::String(kind.clone()));
    for f in fields {
        let (name, value) = f
            .split_once('=')
            .ok_or_else(|| anyhow!("--change {kind}: {f:?} is not FIELD=VALUE"))?;
        if name.is_empty() || obj.contains_key(name) {
            bail!("--change {kind}: field {name:?} is empty or given twice");
        }
        let v = if name == "admin_keys" {
            let mut keys = Vec::new();
            let mut files = Vec::new();
            for k in value.split(',').filter(|k| !k.is_empty()) {
                match k.strip_prefix('@') {
                    Some(path) => files.push(Value::String(path.into())),
                    None => keys.push(Value::String(k.into())),
                }
            }
            if !files.is_empty() {
                obj.insert("admin_key_files".into(), Value::Array(files));
            }
            Value::Array(keys)
        } else if let Some(path) = value.strip_prefix('@') {
            obj.insert(format!("{name}_file"), Value::String(path.into()));
            continue;
        } else if NUMBER_FIELDS.contains(&name) {
            let n: u64 = value.parse().map_err(|_| {
                anyhow!("--change {kind}: {name} must be a whole number, found {value:?}")
            })?;
            Value::from(n)
        } else if name == "governance_threshold" {
            let (n, d) = value
                .split_once('/')
                .and_then(|(n, d)| Some((n.parse::<u32>().ok()?, d.parse::<u32>().ok()?)))
                .ok_or_else(|| {
                    anyhow!("--change {kind}: governance_threshold must be N/D, found {value:?}")
                })?;
            serde_json::json!({"numerator": n, "denominator": d})
        } else {
            Value::String(value.into())
        };
        obj.insert(name.into(), v);
    }
    Ok(obj)
}

/// The change tables of a TOML changes file (`[[changes]]`).
pub fn changes_from_toml(text: &str, what: &str) -> Result<Vec<Map<String, Value>>> {
    let v: Value =
        toml::from_str(text).with_context(|| format!("{what} is not a TOML document"))?;
    let Value::Object(mut top) = v else {
        bail!("{what}: expected a table with [[changes]]");
    };
    if let Some(k) = top.keys().find(|k| *k != "changes") {
        bail!("{what}: unknown key {k:?}: the file holds [[changes]] tables only");
    }
    let Some(Value::Array(list)) = top.remove("changes") else {
        bail!("{what}: no [[changes]] tables");
    };
    list.into_iter()
        .enumerate()
        .map(|(i, c)| match c {
            Value::Object(m) => Ok(m),
            other => bail!("{what}: changes[{i}] is {other}, expected a table"),
        })
        .collect()
}

/// Read a key file's public key, requiring its kind.
fn key_from_file(path: &Path, want: KeyKind, what: &str) -> Result<Value> {
    let (kind, public) = keyfile::read_public_key(path)
        .with_context(|| format!("{what}: reading the key file {}", path.display()))?;
    if kind != want {
        bail!(
            "{what}: {} is a {} key file, expected a {} key",
            path.display(),
            kind.as_str(),
            want.as_str()
        );
    }
    Ok(Value::String(public.to_hex()))
}

/// Turn a change table into a kernel `Change`: key files read (relative to `base`),
/// admin keys sorted, `set_params` completed from `params` (the parameters in force),
/// then the kernel's format checks. Errors name the change (`changes[i] (KIND)`).
pub fn build_change(
    i: usize,
    mut obj: Map<String, Value>,
    base: &Path,
    params: Option<&ChainParams>,
) -> Result<Change> {
    let kind = match obj.get("change") {
        Some(Value::String(k)) if CHANGE_KINDS.contains(&k.as_str()) => k.clone(),
        Some(other) => bail!(
            "changes[{i}]: change {other} is not one of {}",
            CHANGE_KINDS.join(", ")
        ),
        None => bail!(
            "changes[{i}]: no `change` field (one of {})",
            CHANGE_KINDS.join(", ")
        ),
    };
    let what = format!("changes[{i}] ({kind})");
    for (field, use_) in [
        ("consensus_key", KeyKind::Consensus),
        ("network_key", KeyKind::Network),
    ] {
        if let Some(p) = obj.remove(&format!("{field}_file")) {
            let p = p
                .as_str()
                .ok_or_else(|| anyhow!("{what}: {field}_file must be a path"))?;
            if obj.contains_key(field) {
                bail!("{what}: both {field} and {field}_file");
            }
            obj.insert(field.into(), key_from_file(&base.join(p), use_, &what)?);
        }
    }
    if let Some(files) = obj.remove("admin_key_files") {
        let files = files
            .as_array()
            .ok_or_else(|| anyhow!("{what}: admin_key_files must be a list of paths"))?
            .clone();
        let mut keys = match obj.remove("admin_keys") {
            None => Vec::new(),
            Some(Value::Array(a)) => a,
            Some(other) => bail!("{what}: admin_keys must be a list, found {other}"),
        };
        for f in files {
            let p = f
                .as_str()
                .ok_or_else(|| anyhow!("{what}: admin_key_files must be paths"))?;
            keys.push(key_from_file(&base.join(p), KeyKind::Member, &what)?);
        }
        obj.insert("admin_keys".into(), Value::Array(keys));
    }
    if let Some(Value::Array(keys)) = obj.get_mut("admin_keys") {
        // The kernel wants them strictly sorted; sorting is the caller's convenience, a
        // duplicate still fails.
        let mut parsed = Vec::with_capacity(keys.len());
        for k in keys.iter() {
            let s = k
                .as_str()
                .ok_or_else(|| anyhow!("{what}: admin key {k} is not a string"))?;
            let pk: PublicKey = s
                .parse()
                .map_err(|_| anyhow!("{what}: admin key {s:?} is not 64 lower-case hex digits"))?;
            parsed.push(pk);
        }
        parsed.sort();
        *keys = parsed.iter().map(|k| Value::String(k.to_hex())).collect();
    }
    if kind == "set_params" {
        let mut given = match obj.remove("params") {
            Some(Value::Object(m)) => m,
            Some(other) => bail!("{what}: params must be a table, found {other}"),
            None => Map::new(),
        };
        for (k, v) in std::mem::take(&mut obj) {
            if k != "change" {
                given.insert(k, v);
            }
        }
        let params = params.ok_or_else(|| {
            anyhow!("{what}: the parameters in force are needed to complete set_params")
        })?;
        let Value::Object(mut full) = serde_json::to_value(params)? else {
            bail!("{what}: the parameters in force are not a table");
        };
        for (k, v) in given {
            if !full.contains_key(&k) {
                bail!(
                    "{what}: unknown parameter {k:?}: expected {}",
                    full.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            }
            full.insert(k, v);
        }
        obj.insert("change".into(), Value::String(kind.clone()));
        obj.insert("params".into(), Value::Object(full));
    }
    let c: Change =
        serde_json::from_value(Value::Object(obj)).map_err(|e| anyhow!("{what}: {e}"))?;
    c.validate().map_err(|e| anyhow!("{what}: {e}"))?;
    Ok(c)
}

/// Every change of a proposal: the TOML file's (paths relative to it), then the flags'
/// (paths relative to the working directory). 1..=`CHANGES_MAX`, at most one
/// `set_params`.
pub fn collect_changes(
    file: Option<(&str, &Path)>,
    flags: &[String],
    params: Option<&ChainParams>,
) -> Result<Vec<Change>> {
    let mut tables = Vec::new();
    if let Some((text, path)) = file {
        let base = path.parent().unwrap_or(Path::new("."));
        for t in changes_from_toml(text, &path.display().to_string())? {
            tables.push((t, base.to_path_buf()));
        }
    }
    for f in flags {
        tables.push((change_from_flag(f)?, PathBuf::from(".")));
    }
    if tables.is_empty() {
        bail!("no changes: give --change KIND FIELD=VALUE ... or --changes FILE.toml");
    }
    if tables.len() > CHANGES_MAX {
        bail!(
            "{} changes, at most {CHANGES_MAX} in one proposal",
            tables.len()
        );
    }
    let changes = tables
        .into_iter()
        .enumerate()
        .map(|(i, (t, base))| build_change(i, t, &base, params))
        .collect::<Result<Vec<_>>>()?;
    if changes
        .iter()
        .filter(|c| matches!(c, Change::SetParams { .. }))
        .count()
        > 1
    {
        bail!("at most one set_params change in one proposal");
    }
    Ok(changes)
}

/// Do the change tables need the parameters in force (a `set_params`)?
fn needs_params(file: Option<&str>, flags: &[String]) -> bool {
    flags
        .iter()
        .any(|f| f.trim_start().starts_with("set_params"))
        || file.is_some_and(|t| t.contains("set_params"))
}

/// One line about a change (its kind and what it names).
pub fn describe(c: &Value) -> String {
    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    let kind = s("change");
    match kind.as_str() {
        "add_agency" => format!(
            "add_agency {} ({} / {})",
            s("id"),
            s("name_zh"),
            s("name_en")
        ),
        "remove_agency" => format!("remove_agency {}", s("id")),
        "add_validator" => format!(
            "add_validator {} (agency {}, power {})",
            s("name"),
            s("agency"),
            c.get("power").cloned().unwrap_or(Value::Null)
        ),
        "remove_validator" => format!("remove_validator {}", s("name")),
        "rotate_validator_keys" => {
            let mut which = Vec::new();
            if c.get("consensus_key").is_some_and(|v| !v.is_null()) {
                which.push("consensus key");
            }
            if c.get("network_key").is_some_and(|v| !v.is_null()) {
                which.push("network key");
            }
            format!("rotate_validator_keys {} ({})", s("name"), which.join(", "))
        }
        "set_admin_keys" => format!(
            "set_admin_keys {} ({} keys)",
            s("agency"),
            c.get("admin_keys")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        ),
        "set_params" => format!(
            "set_params {}",
            c.get("params").cloned().unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

// ----------------------------------------------------------------------- submitting

/// A fresh proposal id: `p-` and 8 random hex digits.
fn fresh_id() -> Result<String> {
    let mut b = [0u8; 4];
    getrandom::getrandom(&mut b).map_err(|e| anyhow!("the OS random generator failed: {e}"))?;
    Ok(format!("p-{}", hex::encode(b)))
}

/// What `propose` and `vote` print (`--json`).
#[derive(serde::Serialize, Debug, Default)]
struct Submitted {
    /// The proposal.
    proposal: String,
    /// The transaction's hash.
    tx: String,
    /// `pending`, `finalized` or `rejected`.
    status: String,
    /// Where it was committed, with `--wait`.
    height: Option<u64>,
    /// The rejection's reason code.
    reason: Option<String>,
    /// With `--wait`: the proposal's status when the wait ended (`passed`, `failed`,
    /// `expired`).
    proposal_status: Option<String>,
    /// With `--wait`, if it passed with epoch changes: the epoch they start.
    epoch: Option<u64>,
    /// And the first height of that epoch.
    effective_height: Option<u64>,
    /// With `--wait`: the epoch in force when the wait ended.
    epoch_in_force: Option<u64>,
}

/// Sign and submit `record`, and with `--wait` follow it to its end.
fn submit(record: Record, proposal: &str, o: &SubmitOpts) -> Result<Outcome> {
    record
        .validate()
        .map_err(|e| anyhow!("invalid {} record: {e}", record.kind().as_str()))?;
    let key = chancery_genesis::read_key_file(&o.key)?.secret;
    let client = Client::new(&o.node);
    let chain = crate::submit::chain_id(&client)?;
    let seq = match o.seq {
        Some(s) => s,
        None => crate::submit::next_seq(&client, &key.public())?,
    };
    let tx = crate::submit::sign(record, &key, chain, seq);
    let hash = crate::submit::post(&client, &tx)?;
    let mut out = Submitted {
        proposal: proposal.to_string(),
        tx: hash.clone(),
        status: "pending".into(),
        ..Submitted::default()
    };
    let mut failed = false;
    if o.wait {
        let deadline = Instant::now() + Duration::from_secs(o.timeout_s);
        let st = crate::submit::wait(&client, &hash, Duration::from_secs(o.timeout_s))?;
        out.status = st.status;
        out.height = st.height;
        out.reason = st.reason;
        if out.status == "rejected" {
            failed = true;
        } else {
            let p = wait_decided(&client, proposal, deadline)?;
            failed = p.status != "passed";
            out.proposal_status = Some(p.status.clone());
            out.epoch = p.epoch;
            out.effective_height = p.effective_height;
            let g = match p.epoch {
                Some(e) if p.status == "passed" => wait_epoch(&client, e, deadline)?,
                _ => client.governance()?,
            };
            out.epoch_in_force = Some(g.epoch);
        }
    }
    let text = if o.json {
        serde_json::to_string(&out)?
    } else {
        let mut s = format!("proposal {proposal}\ntx {hash}\n");
        match out.status.as_str() {
            "finalized" => s.push_str(&format!(
                "finalized at height {}\n",
                out.height.unwrap_or(0)
            )),
            "rejected" => s.push_str(&format!(
                "rejected at height {}: {}\n",
                out.height.unwrap_or(0),
                out.reason.as_deref().unwrap_or("?")
            )),
            _ => s.push_str("pending (use --wait to wait for the decision)\n"),
        }
        if let Some(ps) = &out.proposal_status {
            s.push_str(&format!("proposal {ps}"));
            if let (Some(e), Some(h)) = (out.epoch, out.effective_height) {
                s.push_str(&format!(
                    "; its validator and parameter changes start epoch {e} at height {h}"
                ));
            }
            if let Some(e) = out.epoch_in_force {
                s.push_str(&format!("\nepoch in force: {e}"));
            }
        }
        s.trim_end().to_string()
    };
    Ok(if failed {
        Outcome::Invalid(text)
    } else {
        Outcome::Ok(text)
    })
}

/// Poll the proposal until it is no longer open (or the deadline).
fn wait_decided(client: &Client, id: &str, deadline: Instant) -> Result<ProposalDto> {
    loop {
        let last = match client.proposal(id) {
            Ok(d) if d.proposal.status != "open" => return Ok(d.proposal),
            Ok(d) => format!("status {}", d.proposal.status),
            // Not yet under a checkpoint: keep polling.
            Err(e) if e.status() == Some(404) => e.to_string(),
            Err(e) => return Err(e.into()),
        };
        if Instant::now() >= deadline {
            bail!(
                "proposal {id} not decided before the --timeout-s deadline (last answer: {last})"
            );
        }
        std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MS));
    }
}

/// Poll `GET /v1/governance` until `epoch` is in force (or the deadline).
fn wait_epoch(client: &Client, epoch: u64, deadline: Instant) -> Result<GovernanceDto> {
    loop {
        let g = client.governance()?;
        if g.epoch >= epoch {
            return Ok(g);
        }
        if Instant::now() >= deadline {
            bail!(
                "epoch {epoch} not in force before the --timeout-s deadline (epoch {} at height {})",
                g.epoch,
                g.height
            );
        }
        std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MS));
    }
}

fn propose(a: ProposeArgs) -> Result<Outcome> {
    let file = match &a.changes {
        Some(p) => {
            let bytes = read_limited(p, CHANGES_FILE_BYTES_MAX)?;
            Some((
                String::from_utf8(bytes)
                    .map_err(|_| anyhow!("{} is not UTF-8 text", p.display()))?,
                p.clone(),
            ))
        }
        None => None,
    };
    let reason = match (&a.reason, &a.reason_hash) {
        // Hashed as documents are on the chain: with its suite, the proposer key's.
        (Some(p), _) => chancery_genesis::read_key_file(&a.opts.key)?
            .secret
            .suite()
            .hash(DOCUMENT_HASH, &read_limited(p, REASON_FILE_BYTES_MAX)?),
        (None, Some(h)) => h
            .parse::<Digest>()
            .map_err(|_| anyhow!("--reason-hash must be 64 lower-case hex digits, found {h:?}"))?,
        (None, None) => bail!(
            "give --reason FILE (the document that explains the proposal) or --reason-hash HEX"
        ),
    };
    let id = match &a.id {
        Some(i) => i.clone(),
        None => fresh_id()?,
    };
    let deadline_in = a
        .deadline_in
        .as_deref()
        .map(parse_duration)
        .transpose()?
        .unwrap_or(Duration::from_secs(24 * 3600));
    let client = Client::new(&a.opts.node);
    // The node is asked only when the changes need the parameters in force.
    let params = if needs_params(file.as_ref().map(|f| f.0.as_str()), &a.change) {
        let g = client.governance()?;
        Some(
            serde_json::from_value::<ChainParams>(g.params).map_err(|e| {
                anyhow!(
                    "{}: params are not chain parameters: {e}",
                    client.url("/v1/governance")
                )
            })?,
        )
    } else {
        None
    };
    let changes = collect_changes(
        file.as_ref().map(|(t, p)| (t.as_str(), p.as_path())),
        &a.change,
        params.as_ref(),
    )?;
    let deadline = match a.deadline_ms {
        Some(ms) => TimestampMs(ms),
        None => {
            let tip = client.status()?.tip.time;
            let ms = u64::try_from(deadline_in.as_millis()).unwrap_or(u64::MAX);
            TimestampMs(tip.saturating_add(ms))
        }
    };
    let record = Record::ProposeChange(ProposeChange {
        proposal_id: id.clone(),
        changes,
        deadline,
        reason,
    });
    submit(record, &id, &a.opts)
}

fn vote(a: VoteArgs) -> Result<Outcome> {
    let record = Record::Vote(Vote {
        proposal_id: a.proposal.clone(),
        approve: a.approve,
    });
    submit(record, &a.proposal, &a.opts)
}

// --------------------------------------------------------------------------- reading

/// The text of one proposal: status, changes, votes, tally.
fn proposal_text(p: &ProposalDto) -> String {
    let mut s = format!(
        "proposal {} — {}\nproposed by {} at height {}; deadline {} ms; reason {}\n",
        p.id, p.status, p.agency, p.proposed_at, p.deadline_ms, p.reason
    );
    if let Some(at) = p.decided_at {
        s.push_str(&format!("decided at height {at}"));
        if let (Some(e), Some(h)) = (p.epoch, p.effective_height) {
            s.push_str(&format!("; epoch {e} from height {h}"));
        }
        s.push('\n');
    }
    s.push_str("changes:\n");
    for c in &p.changes {
        s.push_str(&format!("  {}\n", describe(c)));
    }
    s.push_str(&format!(
        "votes: {} approve, {} reject, {} needed\n",
        p.approvals, p.rejections, p.approvals_needed
    ));
    for v in &p.votes {
        s.push_str(&format!(
            "  {} {} (at height {}, by {})\n",
            v.agency,
            if v.approve { "approve" } else { "reject" },
            v.height,
            v.signer
        ));
    }
    s
}

fn show(a: ShowArgs) -> Result<Outcome> {
    let genesis = load_genesis(&a.genesis)?;
    let client = Client::new(&a.node);
    let path = format!("/v1/governance/proposals/{}", chancery_client::enc(&a.id));
    // Verify the bytes the node sent, not a re-serialization.
    let bytes = client.get_bytes(&path)?;
    let v: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not JSON", client.url(&path)))?;
    let detail: chancery_client::types::ProposalDetail = serde_json::from_value(v.clone())
        .with_context(|| format!("{}: not a proposal", client.url(&path)))?;
    let verdict = verify_proposal(&v, &genesis);
    if a.json {
        let out = serde_json::json!({
            "proposal": detail.proposal,
            "verified": verdict.is_ok(),
            "verification": match &verdict { Ok(t) => t.clone(), Err(e) => e.clone() },
            "checkpoint_height": detail.proof.height,
            "epoch_links": detail.proof.epochs.len(),
        });
        let text = serde_json::to_string(&out)?;
        return Ok(if verdict.is_ok() {
            Outcome::Ok(text)
        } else {
            Outcome::Invalid(text)
        });
    }
    Ok(match verdict {
        Ok(t) => Outcome::Ok(format!(
            "{}verified against the genesis: checkpoint at height {} ({} epoch links)\n{t}",
            proposal_text(&detail.proposal),
            detail.proof.height,
            detail.proof.epochs.len()
        )),
        Err(e) => Outcome::Invalid(format!(
            "the proof of proposal {} does not verify: {e}",
            a.id
        )),
    })
}

fn list(a: ListArgs) -> Result<Outcome> {
    if a.limit == 0 || a.limit > LIST_PAGE_MAX {
        bail!(
            "--limit must be from 1 to {LIST_PAGE_MAX}, found {}",
            a.limit
        );
    }
    let client = Client::new(&a.node);
    let page = client.proposals(a.status.clone(), Some(a.limit), a.cursor.clone())?;
    if a.json {
        return Ok(Outcome::Ok(serde_json::to_string(&page)?));
    }
    let mut s = String::new();
    if page.items.is_empty() {
        s.push_str("no proposals\n");
    }
    for p in &page.items {
        s.push_str(&format!(
            "{}  {}  by {} at height {}  {}/{} approvals  {}\n",
            p.id,
            p.status,
            p.agency,
            p.proposed_at,
            p.approvals,
            p.approvals_needed,
            p.changes
                .iter()
                .map(|c| c.get("change").and_then(Value::as_str).unwrap_or("?"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(n) = &page.next {
        s.push_str(&format!("more: --cursor {n}\n"));
    }
    Ok(Outcome::Ok(s.trim_end().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_core::crypto::SecretKey;
    use chancery_core::AgencyId;

    fn key(seed: u8) -> SecretKey {
        SecretKey::from_seed([seed; 32])
    }

    fn write_key(dir: &Path, name: &str, kind: KeyKind, k: &SecretKey) -> PathBuf {
        let p = dir.join(name);
        keyfile::write_key_file(&p, kind, k).unwrap();
        p
    }

    #[test]
    fn every_kind_of_change_parses_from_toml_with_key_files() {
        let dir = tempfile::tempdir().unwrap();
        write_key(dir.path(), "c.key", KeyKind::Consensus, &key(1));
        write_key(dir.path(), "n.key", KeyKind::Network, &key(2));
        write_key(dir.path(), "a.key", KeyKind::Member, &key(3));
        let toml = format!(
            r#"
[[changes]]
change = "add_agency"
id = "mps"
name_zh = "公安部"
name_en = "Ministry of Public Security"
admin_key_files = ["a.key"]
admin_keys = ["{a4}"]

[[changes]]
change = "add_validator"
agency = "mps"
name = "mps-1"
consensus_key_file = "c.key"
network_key_file = "n.key"
power = 1

[[changes]]
change = "rotate_validator_keys"
name = "mof-1"
consensus_key = "{c5}"

[[changes]]
change = "remove_validator"
name = "nda-1"

[[changes]]
change = "set_admin_keys"
agency = "mof"
admin_keys = ["{a4}"]

[[changes]]
change = "remove_agency"
id = "nda"

[[changes]]
change = "set_params"
block_txs_max = 5000
governance_threshold = {{ numerator = 1, denominator = 2 }}
"#,
            a4 = key(4).public().to_hex(),
            c5 = key(5).public().to_hex()
        );
        let path = dir.path().join("changes.toml");
        let params = ChainParams::default();
        let c = collect_changes(Some((&toml, &path)), &[], Some(&params)).unwrap();
        assert_eq!(c.len(), 7);
        let mut admins = vec![key(3).public(), key(4).public()];
        admins.sort();
        assert_eq!(
            c[0],
            Change::AddAgency {
                id: AgencyId("mps".into()),
                name_zh: "公安部".into(),
                name_en: "Ministry of Public Security".into(),
                admin_keys: admins,
            }
        );
        assert_eq!(
            c[1],
            Change::AddValidator {
                agency: AgencyId("mps".into()),
                name: "mps-1".into(),
                consensus_key: key(1).public(),
                network_key: chancery_core::NetworkKey::of_ed25519(&key(2).public()).unwrap(),
                power: 1,
            }
        );
        assert_eq!(
            c[2],
            Change::RotateValidatorKeys {
                name: "mof-1".into(),
                consensus_key: Some(key(5).public()),
                network_key: None,
            }
        );
        assert_eq!(
            c[3],
            Change::RemoveValidator {
                name: "nda-1".into()
            }
        );
        assert_eq!(
            c[5],
            Change::RemoveAgency {
                id: AgencyId("nda".into())
            }
        );
        let Change::SetParams { params: p } = &c[6] else {
            panic!("{:?}", c[6]);
        };
        // Given fields change, the others keep the values in force.
        assert_eq!(p.block_txs_max, 5000);
        assert_eq!(p.governance_threshold.numerator, 1);
        assert_eq!(p.delta_ms, params.delta_ms);
        assert_eq!(p.epoch_delay_blocks, params.epoch_delay_blocks);
    }

    #[test]
    fn flags_build_the_same_changes_as_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = write_key(dir.path(), "c.key", KeyKind::Consensus, &key(1));
        let flag = format!(
            "rotate_validator_keys name=mof-1 consensus_key=@{}",
            c.display()
        );
        let from_flag = collect_changes(None, &[flag], None).unwrap();
        let toml = "[[changes]]\nchange = \"rotate_validator_keys\"\nname = \"mof-1\"\nconsensus_key_file = \"c.key\"\n";
        let from_file =
            collect_changes(Some((toml, &dir.path().join("x.toml"))), &[], None).unwrap();
        assert_eq!(from_flag, from_file);
        // Quotes group words, numbers and fractions are typed.
        let c = collect_changes(
            None,
            &[
                format!(
                    "add_agency id=mps name_zh=\"公安 部\" name_en=\"Public Security\" admin_keys={}",
                    key(3).public().to_hex()
                ),
                "set_params block_txs_max=10 governance_threshold=3/4".into(),
            ],
            Some(&ChainParams::default()),
        )
        .unwrap();
        assert!(matches!(&c[0], Change::AddAgency { name_zh, .. } if name_zh == "公安 部"));
        assert!(
            matches!(&c[1], Change::SetParams { params } if params.block_txs_max == 10
            && params.governance_threshold.denominator == 4)
        );
        assert_eq!(
            split_words(r#"a b="c d" e\ f"#).unwrap(),
            vec!["a", "b=c d", "e f"]
        );
        assert!(split_words("a \"b").is_err());
    }

    #[test]
    fn bad_changes_are_refused_with_the_change_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let p = ChainParams::default();
        let err = |toml: &str| {
            collect_changes(Some((toml, &path)), &[], Some(&p))
                .unwrap_err()
                .to_string()
        };
        let e = err("[[changes]]\nchange = \"add_validators\"\n");
        assert!(
            e.contains("changes[0]") && e.contains("add_validator,"),
            "{e}"
        );
        let e = err("[[changes]]\nchange = \"remove_agency\"\nid = \"mof\"\n[[changes]]\nchange = \"add_validator\"\nname = \"x\"\n");
        assert!(
            e.contains("changes[1] (add_validator)") && e.contains("missing field"),
            "{e}"
        );
        let e = err("[[changes]]\nchange = \"rotate_validator_keys\"\nname = \"v\"\nconsensus_key = \"ABCD\"\n");
        assert!(e.contains("changes[0] (rotate_validator_keys)"), "{e}");
        // The kernel's own rule: a rotation with no key.
        let e = err("[[changes]]\nchange = \"rotate_validator_keys\"\nname = \"v\"\n");
        assert!(
            e.contains("a new consensus key, a new network key, or both"),
            "{e}"
        );
        let e = err("[[changes]]\nchange = \"set_params\"\nblock_tx_max = 1\n");
        assert!(e.contains("unknown parameter \"block_tx_max\""), "{e}");
        let e = err("[[changes]]\nchange = \"set_params\"\nblock_txs_max = 0\n");
        assert!(e.contains("block_txs_max"), "{e}");
        let e = err("[[changes]]\nchange = \"set_params\"\n[[changes]]\nchange = \"set_params\"\n");
        assert!(e.contains("at most one set_params"), "{e}");
        let e = err("proposal = \"x\"\n");
        assert!(e.contains("unknown key \"proposal\""), "{e}");
        let e = err("[[changes]\n");
        assert!(e.contains("not a TOML document"), "{e}");
        let many: String = (0..CHANGES_MAX + 1)
            .map(|i| format!("[[changes]]\nchange = \"remove_validator\"\nname = \"v{i}\"\n"))
            .collect();
        assert!(err(&many).contains(&format!("at most {CHANGES_MAX}")));
        // A key file of the wrong kind.
        write_key(dir.path(), "m.key", KeyKind::Member, &key(9));
        let e = err("[[changes]]\nchange = \"rotate_validator_keys\"\nname = \"v\"\nconsensus_key_file = \"m.key\"\n");
        assert!(
            e.contains("is a member key file, expected a consensus key"),
            "{e}"
        );
        assert!(collect_changes(None, &[], None)
            .unwrap_err()
            .to_string()
            .contains("no changes"));
        assert!(change_from_flag("add_validator power=x").is_err());
        assert!(change_from_flag("add_validator name").is_err());
    }

    #[test]
    fn durations_parse_with_their_unit() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(
            parse_duration("2d").unwrap(),
            Duration::from_secs(2 * 86_400)
        );
        for bad in ["", "10", "m", "1.5h", "-1s", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_change_is_described_in_one_line() {
        let c = serde_json::to_value(Change::RotateValidatorKeys {
            name: "mof-1".into(),
            consensus_key: Some(key(1).public()),
            network_key: None,
        })
        .unwrap();
        assert_eq!(describe(&c), "rotate_validator_keys mof-1 (consensus key)");
    }
}
