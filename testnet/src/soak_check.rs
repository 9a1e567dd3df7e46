//! The soak's independent checker (`chancery-testnet soak`, see `soak.rs`).
//!
//! It trusts nothing the node computes for it: it reads each node's blocks as canonical
//! bytes (`GET /v1/blocks/raw`), decodes them with the kernel and hashes the transactions
//! itself; it verifies the checkpoints it collected during the run with the kernel's
//! checkpoint and consistency-proof verifiers; and after the run it runs the offline tools on
//! every data directory (`chancery-node check`, `chancery audit --data`). The node's query
//! layer (transaction status, indexes) is not used to judge anything.
//!
//! What it finds ([`check_logs`]):
//! * lost: an acknowledged transaction (its status was `finalized` on some node during the
//!   run) missing from a node's log;
//! * duplicated: a transaction hash at two indexes of one node's log;
//! * divergence: two nodes whose logs (transaction hashes by index) or chains (header hashes
//!   by height) differ at an index both have, i.e. one is not a prefix of the other.

use crate::procs;
use anyhow::{anyhow, bail, Context, Result};
use chancery_client::Client;
use chancery_core::block::Block;
use chancery_core::checkpoint::{verify_checkpoint_consistency, Checkpoint};
use chancery_core::codec;
use chancery_core::genesis::Genesis;
use chancery_core::Digest;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

/// Blocks asked for per page of `GET /v1/blocks/raw`.
const BLOCKS_PAGE_MAX: u64 = 100;
/// Bound of one request of the checker, in milliseconds.
const REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Most findings of each kind kept in the report (the counts are exact).
pub const FINDINGS_SHOWN_MAX: usize = 20;

/// One node's history as the checker reads it.
#[derive(Clone, Debug, Default)]
pub struct NodeLog {
    /// Node name.
    pub node: String,
    /// Header hash (hex) of each block, by height from 1.
    pub headers: Vec<String>,
    /// Transaction hash (hex) of each log entry, by log index.
    pub txs: Vec<String>,
}

/// An acknowledged transaction missing from a node's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lost {
    /// The node.
    pub node: String,
    /// Transaction hash, hex.
    pub tx: String,
}

/// A transaction hash at more than one index of a node's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    /// The node.
    pub node: String,
    /// Transaction hash, hex.
    pub tx: String,
    /// The log indexes where it is.
    pub indexes: Vec<u64>,
}

/// Two nodes whose histories differ at a position both hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// `log index` (transaction hashes) or `height` (header hashes).
    pub what: String,
    /// The first position where they differ.
    pub at: u64,
    /// The reference node (the one with the longest log) and its value there.
    pub node_a: String,
    /// Its value.
    pub value_a: String,
    /// The other node.
    pub node_b: String,
    /// Its value.
    pub value_b: String,
}

/// What [`check_logs`] found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Findings {
    /// Acknowledged transactions checked.
    pub acknowledged: usize,
    /// Count of (node, acknowledged tx) pairs missing.
    pub lost: usize,
    /// Count of (node, tx) pairs at more than one index.
    pub duplicated: usize,
    /// Count of (node pair) divergences.
    pub divergence: usize,
    /// The first lost ones.
    pub lost_shown: Vec<Lost>,
    /// The first duplicated ones.
    pub duplicated_shown: Vec<Duplicate>,
    /// The first divergences.
    pub divergence_shown: Vec<Divergence>,
}

/// The first index where `a` and `b` differ among the indexes both have.
fn first_difference(a: &[String], b: &[String]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x != y)
}

/// Judge the nodes' logs against the acknowledged transactions (hex hashes).
pub fn check_logs(acked: &[String], logs: &[NodeLog]) -> Findings {
    let mut f = Findings {
        acknowledged: acked.len(),
        ..Findings::default()
    };
    for log in logs {
        let mut at: HashMap<&str, Vec<u64>> = HashMap::with_capacity(log.txs.len());
        for (i, tx) in log.txs.iter().enumerate() {
            at.entry(tx.as_str()).or_default().push(i as u64);
        }
        for tx in acked {
            if !at.contains_key(tx.as_str()) {
                f.lost += 1;
                if f.lost_shown.len() < FINDINGS_SHOWN_MAX {
                    f.lost_shown.push(Lost {
                        node: log.node.clone(),
                        tx: tx.clone(),
                    });
                }
            }
        }
        // Sorted so that the report is the same from run to run.
        let dups: BTreeMap<&str, &Vec<u64>> = at
            .iter()
            .filter(|(_, ix)| ix.len() > 1)
            .map(|(k, v)| (*k, v))
            .collect();
        for (tx, ix) in dups {
            f.duplicated += 1;
            if f.duplicated_shown.len() < FINDINGS_SHOWN_MAX {
                f.duplicated_shown.push(Duplicate {
                    node: log.node.clone(),
                    tx: tx.to_string(),
                    indexes: ix.clone(),
                });
            }
        }
    }
    // Every log against the longest: a log that is a prefix of the longest is a prefix of
    // every other such log too.
    if let Some(reference) = logs.iter().max_by_key(|l| (l.txs.len(), l.headers.len())) {
        for other in logs.iter().filter(|l| l.node != reference.node) {
            let pairs: [(&str, &[String], &[String]); 2] = [
                ("log index", &reference.txs, &other.txs),
                ("height", &reference.headers, &other.headers),
            ];
            for (what, a, b) in pairs {
                if let Some(i) = first_difference(a, b) {
                    f.divergence += 1;
                    if f.divergence_shown.len() < FINDINGS_SHOWN_MAX {
                        // Heights start at 1, log indexes at 0.
                        let at = if what == "height" {
                            i as u64 + 1
                        } else {
                            i as u64
                        };
                        f.divergence_shown.push(Divergence {
                            what: what.to_string(),
                            at,
                            node_a: reference.node.clone(),
                            value_a: a[i].clone(),
                            node_b: other.node.clone(),
                            value_b: b[i].clone(),
                        });
                    }
                    // One divergence per pair of nodes: the log and the chain differ together.
                    break;
                }
            }
        }
    }
    f
}

fn client(api: &str) -> Client {
    Client::with_timeout_ms(api, Some(REQUEST_TIMEOUT_MS))
}

/// Read a node's whole history through `GET /v1/blocks/raw`, decoding each block with the
/// kernel and hashing its transactions here.
pub fn fetch_log(suite: chancery_core::suite::Suite, node: &str, api: &str) -> Result<NodeLog> {
    let c = client(api);
    let mut log = NodeLog {
        node: node.to_string(),
        ..NodeLog::default()
    };
    let mut from = 1;
    loop {
        let page = c
            .blocks_raw(from, BLOCKS_PAGE_MAX)
            .with_context(|| format!("{node}: reading blocks from height {from}"))?;
        for raw in &page.items {
            let want = log.headers.len() as u64 + 1;
            if raw.height != want {
                bail!(
                    "{node}: blocks out of order: expected height {want}, found {}",
                    raw.height
                );
            }
            let bytes = hex::decode(&raw.block)
                .map_err(|e| anyhow!("{node}: block {} is not hex: {e}", raw.height))?;
            let block: Block = codec::decode_in(suite, &bytes)
                .map_err(|e| anyhow!("{node}: block {} does not decode: {e}", raw.height))?;
            if block.header.height.0 != raw.height {
                bail!(
                    "{node}: the block served at height {} has header height {}",
                    raw.height,
                    block.header.height.0
                );
            }
            log.headers.push(block.header.hash(suite).to_hex());
            log.txs.extend(block.txs.iter().map(|t| t.hash().to_hex()));
        }
        match page.next {
            Some(n) if n > from && !page.items.is_empty() => from = n,
            _ => break,
        }
    }
    Ok(log)
}

/// A checkpoint collected during the run.
#[derive(Clone, Debug)]
pub struct SeenCheckpoint {
    /// Which node served it.
    pub node: String,
    /// Its canonical bytes.
    pub bytes: Vec<u8>,
}

/// What [`verify_checkpoints`] found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckpointReport {
    /// Distinct checkpoints (by header hash) verified against the genesis.
    pub checkpoints: usize,
    /// Pairs whose consistency proof was verified.
    pub pairs_verified: usize,
    /// Failures: a checkpoint that does not verify, a fork, a proof that does not hold.
    pub failures: Vec<String>,
}

/// Verify every collected checkpoint against the genesis (epoch 0: the soak changes no
/// validator set) and the consistency between every pair, with proofs from `api` (a node
/// whose log holds every checkpoint's size).
pub fn verify_checkpoints(
    seen: &[SeenCheckpoint],
    genesis: &Genesis,
    api: &str,
) -> Result<CheckpointReport> {
    let mut r = CheckpointReport::default();
    let mut distinct: BTreeMap<(u64, String), (Checkpoint, String)> = BTreeMap::new();
    for s in seen {
        let cp: Checkpoint = match codec::decode_in(genesis.crypto, &s.bytes) {
            Ok(c) => c,
            Err(e) => {
                r.failures
                    .push(format!("a checkpoint from {} does not decode: {e}", s.node));
                continue;
            }
        };
        if let Err(e) = cp.verify(genesis) {
            r.failures.push(format!(
                "checkpoint at height {} from {} does not verify: {e}",
                cp.header.height.0, s.node
            ));
            continue;
        }
        distinct.insert(
            (cp.header.height.0, cp.header.hash(genesis.crypto).to_hex()),
            (cp, s.node.clone()),
        );
    }
    r.checkpoints = distinct.len();
    let list: Vec<&(Checkpoint, String)> = distinct.values().collect();
    let c = client(api);
    for (i, (old, from_a)) in list.iter().enumerate() {
        for (new, from_b) in &list[i + 1..] {
            let (s1, s2) = (old.header.log_size, new.header.log_size);
            let proof: Vec<Digest> = if s1 == s2 || s1 == 0 {
                Vec::new()
            } else {
                let dto = c
                    .consistency(s1, s2)
                    .with_context(|| format!("consistency proof {s1} -> {s2} from {api}"))?;
                dto.proof
                    .iter()
                    .map(|h| h.parse::<Digest>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| anyhow!("consistency proof {s1} -> {s2}: {e}"))?
            };
            match verify_checkpoint_consistency(old, new, &proof, genesis) {
                Ok(()) => r.pairs_verified += 1,
                Err(e) => r.failures.push(format!(
                    "checkpoints at heights {} ({from_a}) and {} ({from_b}): {e}",
                    old.header.height.0, new.header.height.0
                )),
            }
        }
    }
    Ok(r)
}

/// Run one offline tool on a stopped node's data directory; Ok(summary line) if it passed.
fn offline(program: &str, args: &[&str], data: &Path, genesis: &Path) -> Result<String, String> {
    let out = Command::new(procs::sibling(program))
        .args(args)
        .arg("--data")
        .arg(data)
        .arg("--genesis")
        .arg(genesis)
        .output()
        .map_err(|e| format!("running {program}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let last = text.lines().last().unwrap_or("").to_string();
    if out.status.success() {
        Ok(last)
    } else {
        Err(format!(
            "{program} {} failed ({}): {last} {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `chancery-node check --data DATA --genesis GENESIS` (the node must be stopped).
pub fn node_check(data: &Path, genesis: &Path) -> Result<String, String> {
    offline("chancery-node", &["check"], data, genesis)
}

/// `chancery audit --data DATA --genesis GENESIS` (the node must be stopped).
pub fn audit(data: &Path, genesis: &Path) -> Result<String, String> {
    offline("chancery", &["audit"], data, genesis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(node: &str, txs: &[&str], headers: &[&str]) -> NodeLog {
        NodeLog {
            node: node.into(),
            txs: txs.iter().map(|s| s.to_string()).collect(),
            headers: headers.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn acked(txs: &[&str]) -> Vec<String> {
        txs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn prefixes_with_every_acknowledged_tx_are_clean() {
        let f = check_logs(
            &acked(&["a", "b"]),
            &[
                log("n0", &["a", "b", "c"], &["h1", "h2"]),
                log("n1", &["a", "b"], &["h1"]),
            ],
        );
        assert_eq!((f.lost, f.duplicated, f.divergence), (0, 0, 0), "{f:?}");
        assert_eq!(f.acknowledged, 2);
    }

    #[test]
    fn a_lost_transaction_is_flagged_on_the_node_that_lacks_it() {
        let f = check_logs(
            &acked(&["a", "b", "c"]),
            &[
                log("n0", &["a", "b", "c"], &["h1"]),
                log("n1", &["a", "b"], &["h1"]),
            ],
        );
        assert_eq!(f.lost, 1);
        assert_eq!(
            f.lost_shown,
            vec![Lost {
                node: "n1".into(),
                tx: "c".into()
            }]
        );
        assert_eq!((f.duplicated, f.divergence), (0, 0));
    }

    #[test]
    fn a_duplicate_is_flagged_with_its_indexes() {
        let f = check_logs(
            &acked(&["a", "b"]),
            &[
                log("n0", &["a", "b", "a"], &["h1", "h2"]),
                log("n1", &["a", "b", "a"], &["h1", "h2"]),
            ],
        );
        assert_eq!(f.duplicated, 2);
        assert_eq!(f.duplicated_shown[0].indexes, vec![0, 2]);
        assert_eq!((f.lost, f.divergence), (0, 0));
    }

    #[test]
    fn a_divergent_entry_is_flagged_at_its_index() {
        let f = check_logs(
            &acked(&["a"]),
            &[
                log("n0", &["a", "b", "c"], &["h1", "h2"]),
                log("n1", &["a", "x"], &["h1", "h2"]),
            ],
        );
        assert_eq!(f.divergence, 1);
        let d = &f.divergence_shown[0];
        assert_eq!(
            (
                d.what.as_str(),
                d.at,
                d.value_a.as_str(),
                d.value_b.as_str()
            ),
            ("log index", 1, "b", "x")
        );
        assert_eq!((f.lost, f.duplicated), (0, 0));
    }

    #[test]
    fn a_divergent_chain_with_the_same_transactions_is_flagged() {
        let f = check_logs(
            &acked(&["a"]),
            &[
                log("n0", &["a"], &["h1", "h2"]),
                log("n1", &["a"], &["h1", "other"]),
            ],
        );
        assert_eq!(f.divergence, 1);
        assert_eq!(f.divergence_shown[0].what, "height");
        assert_eq!(f.divergence_shown[0].at, 2);
    }
}
