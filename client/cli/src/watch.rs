//! `chancery watch --node URL --node URL ... --genesis G [--state FILE]`: a split-view
//! monitor. It polls `GET /v1/checkpoints/latest` from every node, verifies each
//! checkpoint against the genesis, and checks that it and the last verified checkpoint
//! describe one history: same header at the same height, and a consistency proof
//! (`GET /v1/proofs/consistency`, asked of every node until one verifies) between their
//! logs. If no node can prove consistency, or two headers differ at one height, it prints
//! both signed checkpoints and exits 3. The last verified checkpoint is kept in `--state`
//! and checked again on restart, so a rewrite of history between runs is caught too.
//!
//! Across epochs, with only the genesis: a checkpoint of an epoch the watcher has not
//! reached yet makes it fetch the missing links of the epoch chain from the node that
//! served it (`GET /v1/epochs`), verify them from the last set it holds, and verify the
//! checkpoint with its epoch's set. The links are kept (and saved in `--state`), so each
//! node's later checkpoints are checked against the one chain the watcher verified; a
//! checkpoint that claims an epoch at a height after that epoch's boundary (certified by a
//! set that has since been replaced: keys retired or a quorum that signed two histories)
//! is a split view, shown with the boundary it contradicts.

use crate::files::read_limited;
use crate::Outcome;
use anyhow::{anyhow, bail, Context, Result};
use chancery_client::types::CheckpointDto;
use chancery_client::Client;
use chancery_core::checkpoint::{verify_verified_consistency, Checkpoint};
use chancery_core::codec;
use chancery_core::epoch::{EpochLink, EpochProofError, VerifiedEpochs};
use chancery_core::genesis::Genesis;
use chancery_core::receipt::decode_epoch_links;
use chancery_core::suite::Suite;
use chancery_core::Digest;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Most nodes watched.
pub const NODES_MAX: usize = 64;
/// Largest state file, in bytes: a checkpoint and the epoch links (as large as a
/// receipt's).
pub const STATE_FILE_BYTES_MAX: usize = chancery_core::limits::RECEIPT_BYTES_MAX;
/// Most hashes accepted in one consistency proof.
pub const PROOF_HASHES_MAX: usize = chancery_core::limits::PROOF_HASHES_MAX;

/// Arguments of `watch`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A node's API base URL (repeat for several nodes; CHANCERY_NODE may list them,
    /// comma-separated).
    #[arg(
        long = "node",
        required = true,
        env = "CHANCERY_NODE",
        value_delimiter = ','
    )]
    nodes: Vec<String>,
    /// The genesis file (JSON).
    #[arg(long)]
    genesis: PathBuf,
    /// Keep the last verified checkpoint in this file, and check it on start.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Pause between polling rounds, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    interval_ms: u64,
    /// Poll every node once, then exit (0: consistent; 1: a node failed; 3: split view).
    #[arg(long)]
    once: bool,
}

/// A checkpoint and who served it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The checkpoint (verified against the genesis).
    pub checkpoint: Checkpoint,
    /// Where it came from (a node URL, or the state file).
    pub source: String,
}

/// Two checkpoints that cannot both be true: a split view.
#[derive(Clone, Debug)]
pub struct Alarm {
    /// The last verified checkpoint.
    pub old: Seen,
    /// The conflicting one.
    pub new: Seen,
    /// Why they conflict.
    pub reason: String,
}

impl Alarm {
    /// The alarm text with both signed checkpoints in text form (signers named by the set
    /// of each checkpoint's epoch, as far as `epochs` reaches).
    pub fn render(&self, genesis: &Genesis, epochs: &VerifiedEpochs) -> String {
        let text = |s: &Seen| {
            let set = epochs
                .set(s.checkpoint.header.epoch)
                .unwrap_or(&genesis.validators);
            s.checkpoint
                .to_text(set)
                .unwrap_or_else(|e| format!("(no text form: {e})\n"))
        };
        format!(
            "ALARM: split view: {}\n\n-- checkpoint from {} (height {}, header {}):\n{}\n-- checkpoint from {} (height {}, header {}):\n{}",
            self.reason,
            self.old.source,
            self.old.checkpoint.header.height,
            self.old.checkpoint.header.hash(genesis.crypto),
            text(&self.old),
            self.new.source,
            self.new.checkpoint.header.height,
            self.new.checkpoint.header.hash(genesis.crypto),
            text(&self.new),
        )
    }
}

/// What happened to one observed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It is the new last verified checkpoint.
    Advanced,
    /// It is consistent with the last one and not newer.
    Consistent,
}

/// Why an observed checkpoint was not accepted.
#[derive(Clone, Debug)]
pub enum Problem {
    /// A split view: two checkpoints that cannot both be true.
    Alarm(Box<Alarm>),
    /// A checkpoint that does not verify (a bad node, not a split view).
    Bad(String),
}

/// Consistency proofs from `first` to `second` log sizes: each source's answer (or error).
pub type ProofSource<'a> = dyn FnMut(u64, u64) -> Vec<Result<Vec<Digest>, String>> + 'a;

/// The epoch links that end epochs `from..upto`, from the node that served the checkpoint
/// being observed.
pub type LinkSource<'a> = dyn FnMut(u64, u64) -> Result<Vec<EpochLink>, String> + 'a;

/// The monitor's memory: the epoch chain it verified and the last verified checkpoint.
pub struct Watcher {
    /// The sets of every epoch reached, verified from the genesis.
    epochs: VerifiedEpochs,
    /// The links of that chain (to save and to show in an alarm).
    links: Vec<EpochLink>,
    /// The last verified checkpoint.
    pub last: Option<Seen>,
}

impl Watcher {
    /// A watcher that has seen nothing and knows the genesis set only.
    pub fn new(genesis: Genesis) -> Watcher {
        Watcher {
            epochs: VerifiedEpochs::genesis(&genesis),
            links: Vec::new(),
            last: None,
        }
    }

    /// The verified epoch chain.
    pub fn epochs(&self) -> &VerifiedEpochs {
        &self.epochs
    }

    /// The links of the verified epoch chain.
    pub fn links(&self) -> &[EpochLink] {
        &self.links
    }

    /// Verify `links` as the continuation of the chain and keep them.
    pub fn learn(&mut self, links: &[EpochLink]) -> Result<(), String> {
        self.epochs.extend(links).map_err(|e| e.to_string())?;
        self.links.extend_from_slice(links);
        Ok(())
    }

    /// Check `new` (already decoded) against the epoch chain (fetching the links it lacks
    /// with `links(from, upto)`) and the last verified checkpoint. `proofs(first,
    /// second)` asks for consistency proofs; one that verifies suffices. A split view is
    /// [`Problem::Alarm`].
    pub fn observe(
        &mut self,
        new: Seen,
        proofs: &mut ProofSource<'_>,
        links: &mut LinkSource<'_>,
    ) -> Result<Verdict, Problem> {
        let epoch = new.checkpoint.header.epoch;
        if epoch > self.epochs.epoch() {
            let from = self.epochs.epoch().0;
            let got = links(from, epoch.0).map_err(|e| {
                Problem::Bad(format!(
                    "{}: epoch links {from} to {}: {e}",
                    new.source,
                    epoch.0 - 1
                ))
            })?;
            self.learn(&got).map_err(|e| {
                Problem::Bad(format!(
                    "{}: the epoch chain it serves does not verify: {e}",
                    new.source
                ))
            })?;
        }
        let verified_new = match self.epochs.verify_checkpoint(&new.checkpoint) {
            Ok(v) => v,
            Err(EpochProofError::AfterEpochEnd {
                epoch,
                height,
                next_start,
            }) => {
                return Err(self.after_epoch_end(new, epoch, height, next_start));
            }
            Err(e) => {
                return Err(Problem::Bad(format!(
                    "{}: checkpoint does not verify: {e}",
                    new.source
                )))
            }
        };
        let Some(old) = self.last.clone() else {
            self.last = Some(new);
            return Ok(Verdict::Advanced);
        };
        let (ho, hn) = (&old.checkpoint.header, &new.checkpoint.header);
        if ho.height == hn.height {
            if ho.hash(self.epochs.suite()) == hn.hash(self.epochs.suite()) {
                return Ok(Verdict::Consistent);
            }
            return Err(Problem::Alarm(Box::new(Alarm {
                reason: format!(
                    "two different finalized headers at height {}: {} and {}",
                    ho.height,
                    ho.hash(self.epochs.suite()),
                    hn.hash(self.epochs.suite())
                ),
                old,
                new,
            })));
        }
        // Order the two by height; the lower one's log must be a prefix of the higher's.
        let newer = hn.height > ho.height;
        let (lo, hi) = if newer { (&old, &new) } else { (&new, &old) };
        let (s1, s2) = (lo.checkpoint.header.log_size, hi.checkpoint.header.log_size);
        if s2 < s1 {
            return Err(Problem::Alarm(Box::new(Alarm {
                reason: format!(
                    "the log shrank: size {s1} at height {} but {s2} at height {}",
                    lo.checkpoint.header.height, hi.checkpoint.header.height
                ),
                old,
                new,
            })));
        }
        let candidates = if s1 == s2 || s1 == 0 {
            vec![Ok(vec![])]
        } else {
            proofs(s1, s2)
        };
        // The old checkpoint verified when it was observed; again now, with every epoch
        // learned since (a checkpoint past its epoch's end is a split view).
        let verified_old = match self.epochs.verify_checkpoint(&old.checkpoint) {
            Ok(v) => v,
            Err(EpochProofError::AfterEpochEnd {
                epoch,
                height,
                next_start,
            }) => return Err(self.after_epoch_end(old, epoch, height, next_start)),
            Err(e) => {
                return Err(Problem::Bad(format!(
                    "{}: the last verified checkpoint no longer verifies: {e}",
                    old.source
                )))
            }
        };
        let (vlo, vhi) = if newer {
            (&verified_old, &verified_new)
        } else {
            (&verified_new, &verified_old)
        };
        let mut why = Vec::new();
        for c in candidates {
            match c {
                Ok(p) => match verify_verified_consistency(vlo, vhi, &p) {
                    Ok(()) => {
                        if newer {
                            self.last = Some(new);
                            return Ok(Verdict::Advanced);
                        }
                        return Ok(Verdict::Consistent);
                    }
                    Err(e) => why.push(e.to_string()),
                },
                Err(e) => why.push(e),
            }
        }
        Err(Problem::Alarm(Box::new(Alarm {
            reason: format!(
                "no consistency proof from log size {s1} to {s2} verifies ({})",
                if why.is_empty() {
                    "no node gave one".to_string()
                } else {
                    why.join("; ")
                }
            ),
            old,
            new,
        })))
    }
}

impl Watcher {
    /// The alarm for a checkpoint of `epoch` at `height`, after the boundary of that epoch
    /// (the next one starts at `next_start`): both are certified by the epoch's set.
    fn after_epoch_end(
        &self,
        seen: Seen,
        epoch: chancery_core::Epoch,
        height: chancery_core::Height,
        next_start: chancery_core::Height,
    ) -> Problem {
        let boundary = usize::try_from(epoch.0)
            .ok()
            .and_then(|e| self.links.get(e))
            .map(|l| Seen {
                checkpoint: Checkpoint {
                    header: l.header.clone(),
                    certificate: l.certificate.clone(),
                },
                source: format!("the epoch chain (the boundary that ends epoch {epoch})"),
            });
        match boundary {
            Some(b) => Problem::Alarm(Box::new(Alarm {
                reason: format!(
                    "a checkpoint of epoch {epoch} at height {height}, after epoch {epoch} ended at height {}: its set certified two histories",
                    next_start.0.saturating_sub(1)
                ),
                old: b,
                new: seen,
            })),
            None => Problem::Bad(format!(
                "{}: checkpoint of epoch {epoch} at height {height} is after that epoch's end",
                seen.source
            )),
        }
    }
}

/// Decode the checkpoint of a `GET /v1/checkpoints/latest` answer.
/// of a chain of `suite`.
pub fn parse_checkpoint_answer(suite: Suite, v: &CheckpointDto) -> Result<Checkpoint, String> {
    let bytes = hex::decode(&v.checkpoint).map_err(|e| format!("checkpoint is not hex: {e}"))?;
    codec::decode_in(suite, &bytes).map_err(|e| format!("checkpoint: {e}"))
}

fn fetch_proof(node: &Client, first: u64, second: u64) -> Result<Vec<Digest>, String> {
    let url = node.url(&format!(
        "/v1/proofs/consistency?first={first}&second={second}"
    ));
    let list = node
        .consistency(first, second)
        .map_err(|e| e.to_string())?
        .proof;
    if list.len() > PROOF_HASHES_MAX {
        return Err(format!(
            "{url}: {} proof hashes, more than {PROOF_HASHES_MAX}",
            list.len()
        ));
    }
    list.iter()
        .map(|h| {
            h.parse::<Digest>()
                .map_err(|_| format!("{url}: proof hash {h:?} is not 64 hex digits"))
        })
        .collect()
}

/// The state file's JSON.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    format: String,
    checkpoint: String,
    height: u64,
    size: u64,
    source: String,
    /// v2: the verified epoch chain, hex canonical links (absent in v1: epoch 0 only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    epochs: Vec<String>,
}

const STATE_FORMAT: &str = "chancery-watch/v1";
const STATE_FORMAT_V2: &str = "chancery-watch/v2";

/// Load the watcher's memory from a state file: the epoch chain (verified from the
/// genesis) into `w`, and the last verified checkpoint (verified with that chain).
pub fn load_state(path: &Path, w: &mut Watcher) -> Result<Option<Seen>> {
    if !path.exists() {
        return Ok(None);
    }
    let bytes = read_limited(path, STATE_FILE_BYTES_MAX)?;
    let s: StateFile = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a watch state file", path.display()))?;
    if s.format != STATE_FORMAT && s.format != STATE_FORMAT_V2 {
        bail!(
            "{}: format {:?}, expected {STATE_FORMAT_V2:?} (or {STATE_FORMAT:?})",
            path.display(),
            s.format
        );
    }
    let suite = w.epochs().suite();
    let links = decode_epoch_links(suite, &s.epochs)
        .map_err(|e| anyhow!("{}: epoch chain: {e}", path.display()))?;
    w.learn(&links).map_err(|e| {
        anyhow!(
            "{}: the stored epoch chain does not verify: {e}",
            path.display()
        )
    })?;
    let cp: Checkpoint = hex::decode(&s.checkpoint)
        .map_err(|e| anyhow!("{}: checkpoint is not hex: {e}", path.display()))
        .and_then(|b| {
            codec::decode_in(suite, &b).map_err(|e| anyhow!("{}: checkpoint: {e}", path.display()))
        })?;
    w.epochs().verify_checkpoint(&cp).map_err(|e| {
        anyhow!(
            "{}: the stored checkpoint does not verify: {e}",
            path.display()
        )
    })?;
    Ok(Some(Seen {
        checkpoint: cp,
        source: format!("{} (from {})", path.display(), s.source),
    }))
}

/// Write the last verified checkpoint and the epoch chain atomically (temporary file,
/// then rename).
pub fn save_state(path: &Path, seen: &Seen, links: &[EpochLink]) -> Result<()> {
    let s = StateFile {
        format: STATE_FORMAT_V2.into(),
        checkpoint: hex::encode(codec::encode(&seen.checkpoint)),
        height: seen.checkpoint.header.height.0,
        size: seen.checkpoint.header.log_size,
        source: seen.source.clone(),
        epochs: links
            .iter()
            .map(|l| hex::encode(codec::encode(l)))
            .collect(),
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&s)? + "\n")
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// Run `watch`.
pub fn run(a: Args) -> Result<Outcome> {
    if a.nodes.len() > NODES_MAX {
        bail!("at most {NODES_MAX} nodes, found {}", a.nodes.len());
    }
    let genesis = crate::verify::load_genesis(&a.genesis)?;
    let mut w = Watcher::new(genesis.clone());
    if let Some(p) = &a.state {
        w.last = load_state(p, &mut w)?;
        if let Some(s) = &w.last {
            eprintln!(
                "resuming from the checkpoint at height {} (log size {}) in {}",
                s.checkpoint.header.height,
                s.checkpoint.header.log_size,
                p.display()
            );
        }
    }
    let clients: Vec<Client> = a.nodes.iter().map(|n| Client::new(n)).collect();
    let suite = w.epochs().suite();
    loop {
        let mut failures = Vec::new();
        for (i, client) in clients.iter().enumerate() {
            let node = client.base();
            let url = client.url("/v1/checkpoints/latest");
            let cp = match client
                .checkpoint_latest()
                .map_err(|e| e.to_string())
                .and_then(|v| parse_checkpoint_answer(suite, &v).map_err(|e| format!("{url}: {e}")))
            {
                Ok(cp) => cp,
                Err(e) => {
                    eprintln!("warning: {e}");
                    failures.push(e);
                    continue;
                }
            };
            let seen = Seen {
                checkpoint: cp,
                source: node.to_string(),
            };
            // Ask the serving node first, then the others.
            let mut order = vec![client];
            order.extend(
                clients
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, c)| c),
            );
            let mut proofs = |f: u64, s: u64| -> Vec<Result<Vec<Digest>, String>> {
                order.iter().map(|n| fetch_proof(n, f, s)).collect()
            };
            let mut links =
                |from: u64, upto: u64| crate::epochs::fetch_links(client, suite, from, upto);
            match w.observe(seen, &mut proofs, &mut links) {
                Ok(v) => {
                    if v == Verdict::Advanced {
                        if let (Some(p), Some(last)) = (&a.state, &w.last) {
                            save_state(p, last, w.links())?;
                        }
                    }
                    if let Some(l) = &w.last {
                        eprintln!(
                            "{node}: consistent; last verified height {} log size {}",
                            l.checkpoint.header.height, l.checkpoint.header.log_size
                        );
                    }
                }
                Err(Problem::Alarm(alarm)) => {
                    return Ok(Outcome::Alarm(alarm.render(&genesis, w.epochs())))
                }
                Err(Problem::Bad(e)) => {
                    eprintln!("warning: {e}");
                    failures.push(e);
                }
            }
        }
        if a.once {
            let last = w
                .last
                .as_ref()
                .map(|l| {
                    format!(
                        "height {} log size {}",
                        l.checkpoint.header.height, l.checkpoint.header.log_size
                    )
                })
                .unwrap_or_else(|| "none".into());
            return Ok(if failures.is_empty() {
                Outcome::Ok(format!(
                    "consistent: {} nodes, last verified checkpoint {last}",
                    clients.len()
                ))
            } else {
                Outcome::Invalid(format!(
                    "{} of {} nodes failed: {}",
                    failures.len(),
                    clients.len(),
                    failures.join("; ")
                ))
            });
        }
        std::thread::sleep(Duration::from_millis(a.interval_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_core::merkle::{self, Blake3Hasher};
    use chancery_core::record::{AnchorDocument, DocumentRef, Record, RecordRef, Role};
    use chancery_core::Height;
    use chancery_ledger::testing::{fixture::Fixture, propose_and_apply};
    use chancery_ledger::Ledger;
    use chancery_storage::MemStore;
    use std::sync::Arc;

    /// A ledger of `blocks` blocks of two anchors each; `tag` makes the content differ.
    fn ledger(fx: &Fixture, tag: &str, blocks: u64) -> Ledger {
        let ledger = Ledger::open(Arc::new(MemStore::new()), &fx.genesis).unwrap();
        let key = fx.signer("moe", Role::Archivist).clone();
        let mut seq = 0;
        for h in 1..=blocks {
            let txs = (0..2)
                .map(|i| {
                    seq += 1;
                    fx.tx(
                        &key,
                        seq - 1,
                        Record::AnchorDocument(AnchorDocument {
                            document: DocumentRef {
                                hash: chancery_core::domain::DOCUMENT_HASH
                                    .hash(format!("{tag}-{h}-{i}").as_bytes()),
                                kind: "minutes".into(),
                                title: format!("{tag} {h}-{i}"),
                                url: String::new(),
                            },
                            supports: RecordRef::None,
                        }),
                    )
                })
                .collect();
            propose_and_apply(&ledger, fx, txs).unwrap();
        }
        ledger
    }

    /// A node that serves no epoch links (the tests of one epoch never ask).
    fn no_links(from: u64, upto: u64) -> Result<Vec<EpochLink>, String> {
        Err(format!("no links asked for ({from}..{upto})"))
    }

    fn checkpoint(l: &Ledger, h: u64, source: &str) -> Seen {
        let (b, c) = l.block(Height(h)).unwrap().unwrap();
        Seen {
            checkpoint: Checkpoint {
                header: b.header,
                certificate: c,
            },
            source: source.into(),
        }
    }

    fn leaves(l: &Ledger) -> Vec<Digest> {
        (0..l.tip().log_size)
            .map(|i| {
                merkle::leaf_hash(
                    chancery_core::suite::Suite::default(),
                    &codec::encode(&l.log_entry(i).unwrap().unwrap()),
                )
            })
            .collect()
    }

    /// Proofs computed from `l`'s log, as an honest node of that history would give.
    fn honest(l: &Ledger) -> impl FnMut(u64, u64) -> Vec<Result<Vec<Digest>, String>> {
        let leaves = leaves(l);
        move |first, second| {
            vec![
                merkle::consistency_proof_with(&Blake3Hasher, &leaves[..second as usize], first)
                    .map_err(|e| e.to_string()),
            ]
        }
    }

    #[test]
    fn one_history_advances_and_a_lagging_node_is_consistent() {
        let fx = Fixture::new();
        let a = ledger(&fx, "a", 3);
        let mut w = Watcher::new(fx.genesis.clone());
        let mut p = honest(&a);
        assert_eq!(
            w.observe(checkpoint(&a, 1, "n1"), &mut p, &mut no_links)
                .unwrap(),
            Verdict::Advanced
        );
        assert_eq!(
            w.observe(checkpoint(&a, 3, "n2"), &mut p, &mut no_links)
                .unwrap(),
            Verdict::Advanced
        );
        assert_eq!(
            w.observe(checkpoint(&a, 2, "n3"), &mut p, &mut no_links)
                .unwrap(),
            Verdict::Consistent
        );
        assert_eq!(
            w.observe(checkpoint(&a, 3, "n1"), &mut p, &mut no_links)
                .unwrap(),
            Verdict::Consistent
        );
        assert_eq!(w.last.as_ref().unwrap().checkpoint.header.height, Height(3));
    }

    #[test]
    fn two_headers_at_one_height_raise_the_alarm_with_both_checkpoints() {
        let fx = Fixture::new();
        let (a, b) = (ledger(&fx, "a", 2), ledger(&fx, "b", 2));
        let mut w = Watcher::new(fx.genesis.clone());
        let mut p = honest(&a);
        w.observe(checkpoint(&a, 2, "http://n1"), &mut p, &mut no_links)
            .unwrap();
        let Err(Problem::Alarm(alarm)) =
            w.observe(checkpoint(&b, 2, "http://n2"), &mut p, &mut no_links)
        else {
            panic!("no alarm on a fork");
        };
        assert!(alarm
            .reason
            .contains("two different finalized headers at height 2"));
        let text = alarm.render(&fx.genesis, w.epochs());
        assert!(
            text.contains("checkpoint from http://n1")
                && text.contains("checkpoint from http://n2")
        );
        // Both signed notes, each with the quorum's signature lines.
        assert_eq!(text.matches("\u{2014} v").count(), 6, "{text}");
        // The last verified checkpoint stays the first one.
        assert_eq!(w.last.as_ref().unwrap().source, "http://n1");
    }

    #[test]
    fn a_newer_checkpoint_of_another_history_has_no_valid_proof() {
        let fx = Fixture::new();
        let (a, b) = (ledger(&fx, "a", 3), ledger(&fx, "b", 3));
        let mut w = Watcher::new(fx.genesis.clone());
        w.observe(checkpoint(&a, 1, "n1"), &mut honest(&a), &mut no_links)
            .unwrap();
        // Node n2 shows history b and proves consistency within b only; n1 within a.
        let (mut pa, mut pb) = (honest(&a), honest(&b));
        let mut both = |f: u64, s: u64| {
            let mut v = pb(f, s);
            v.extend(pa(f, s));
            v
        };
        let Err(Problem::Alarm(alarm)) =
            w.observe(checkpoint(&b, 3, "n2"), &mut both, &mut no_links)
        else {
            panic!("no alarm on another history");
        };
        assert!(
            alarm
                .reason
                .contains("no consistency proof from log size 2 to 6"),
            "{}",
            alarm.reason
        );
    }

    #[test]
    fn a_checkpoint_that_does_not_verify_is_a_bad_node_not_an_alarm() {
        let fx = Fixture::new();
        let a = ledger(&fx, "a", 1);
        let mut w = Watcher::new(fx.genesis.clone());
        let mut cp = checkpoint(&a, 1, "n1");
        cp.checkpoint.certificate.signatures.truncate(1);
        let r = w.observe(cp, &mut honest(&a), &mut no_links);
        assert!(
            matches!(r, Err(Problem::Bad(ref e)) if e.contains("quorum not reached")),
            "{r:?}"
        );
        assert!(w.last.is_none());
    }

    #[test]
    fn the_state_file_detects_a_rewrite_across_restarts() {
        let fx = Fixture::new();
        let (a, b) = (ledger(&fx, "a", 2), ledger(&fx, "b", 2));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watch.json");
        let mut w = Watcher::new(fx.genesis.clone());
        w.observe(checkpoint(&a, 2, "n1"), &mut honest(&a), &mut no_links)
            .unwrap();
        save_state(&path, w.last.as_ref().unwrap(), w.links()).unwrap();
        // Restart: the stored checkpoint is verified and used.
        let mut w = Watcher::new(fx.genesis.clone());
        w.last = load_state(&path, &mut w).unwrap();
        assert_eq!(
            w.last.as_ref().unwrap().checkpoint,
            checkpoint(&a, 2, "").checkpoint
        );
        let r = w.observe(checkpoint(&b, 2, "n1"), &mut honest(&b), &mut no_links);
        assert!(matches!(r, Err(Problem::Alarm(_))), "{r:?}");
        // A tampered state file is refused.
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut cp = hex::decode(v["checkpoint"].as_str().unwrap()).unwrap();
        let n = cp.len();
        cp[n - 1] ^= 1;
        let bad = text.replace(v["checkpoint"].as_str().unwrap(), &hex::encode(cp));
        std::fs::write(&path, bad).unwrap();
        let e = load_state(&path, &mut Watcher::new(fx.genesis.clone())).unwrap_err();
        assert!(e.to_string().contains("does not verify"), "{e}");
    }

    /// A chain taken to epoch 2; links served from its ledger.
    fn governed() -> chancery_ledger::testing::governed::Chain {
        let mut c = chancery_ledger::testing::governed::Chain::new();
        let archivist = c.fx.signer("mof", Role::Archivist).clone();
        c.block(vec![(
            archivist.clone(),
            chancery_ledger::testing::fixture::anchor("0"),
        )]);
        c.rotate_to_next_epoch("v3", "one");
        c.rotate_to_next_epoch("v1", "two");
        c.block(vec![(
            archivist,
            chancery_ledger::testing::fixture::anchor("2"),
        )]);
        c
    }

    fn serve_links(l: &Ledger) -> impl FnMut(u64, u64) -> Result<Vec<EpochLink>, String> + '_ {
        move |from, upto| {
            (from..upto)
                .map(|e| {
                    l.epoch_link(chancery_core::Epoch(e))
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| format!("no link {e}"))
                })
                .collect()
        }
    }

    #[test]
    fn the_watcher_follows_the_epoch_chain_from_the_genesis() {
        let c = governed();
        let l = &c.ledger;
        let tip = l.tip().height.0;
        let mut w = Watcher::new(c.fx.genesis.clone());
        let mut p = honest(l);
        // A checkpoint of epoch 0, then one of epoch 2: the two links are fetched once.
        assert_eq!(
            w.observe(checkpoint(l, 1, "n1"), &mut p, &mut no_links)
                .unwrap(),
            Verdict::Advanced
        );
        let mut asked = Vec::new();
        let mut links = |f: u64, u: u64| {
            asked.push((f, u));
            serve_links(l)(f, u)
        };
        assert_eq!(
            w.observe(checkpoint(l, tip, "n2"), &mut p, &mut links)
                .unwrap(),
            Verdict::Advanced
        );
        assert_eq!(asked, [(0, 2)]);
        assert_eq!(w.epochs().epoch(), chancery_core::Epoch(2));
        assert_eq!(w.links(), l.epoch_links(chancery_core::Epoch(2)).unwrap());
        // Later checkpoints of epoch 2 need no more links.
        assert_eq!(
            w.observe(checkpoint(l, tip - 1, "n3"), &mut p, &mut no_links)
                .unwrap(),
            Verdict::Consistent
        );
        // The state file keeps the chain: a restarted watcher verifies the checkpoint.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watch.json");
        save_state(&path, w.last.as_ref().unwrap(), w.links()).unwrap();
        let mut again = Watcher::new(c.fx.genesis.clone());
        again.last = load_state(&path, &mut again).unwrap();
        assert_eq!(again.epochs().epoch(), chancery_core::Epoch(2));
        assert_eq!(again.last.as_ref().unwrap().checkpoint.header.height.0, tip);
    }

    #[test]
    fn a_tampered_link_is_a_bad_node_and_a_retired_set_signing_on_is_a_split_view() {
        let c = governed();
        let l = &c.ledger;
        let tip = l.tip().height.0;
        let mut p = honest(l);
        // A node serving a link whose next set is not the committed one.
        let mut w = Watcher::new(c.fx.genesis.clone());
        let mut bad_links = |f: u64, u: u64| {
            let mut v = serve_links(l)(f, u)?;
            v[1].next.validators[2].power = 5;
            Ok(v)
        };
        let r = w.observe(checkpoint(l, tip, "n1"), &mut p, &mut bad_links);
        assert!(
            matches!(&r, Err(Problem::Bad(e)) if e.contains("epoch link 1") && e.contains("next validator set")),
            "{r:?}"
        );
        assert_eq!(w.epochs().epoch(), chancery_core::Epoch(0));
        assert!(w.last.is_none());
        // The genesis keys, retired, certify a header of epoch 0 after epoch 0 ended.
        let mut w = Watcher::new(c.fx.genesis.clone());
        w.observe(checkpoint(l, tip, "n1"), &mut p, &mut serve_links(l))
            .unwrap();
        let (mut b, _) = l.block(chancery_core::Height(tip)).unwrap().unwrap();
        b.header.epoch = chancery_core::Epoch(0);
        b.header.validator_set = c.fx.genesis.validators.hash();
        let stale = Seen {
            checkpoint: Checkpoint {
                certificate: c.fx.finalize_by(&b, &c.fx.validators[..3]),
                header: b.header,
            },
            source: "n2".into(),
        };
        // The genesis alone would accept it.
        assert!(stale.checkpoint.verify(&c.fx.genesis).is_ok());
        let Err(Problem::Alarm(alarm)) = w.observe(stale, &mut p, &mut no_links) else {
            panic!("no alarm on a checkpoint of an ended epoch");
        };
        assert!(
            alarm.reason.contains("after epoch 0 ended"),
            "{}",
            alarm.reason
        );
        assert!(alarm.old.source.contains("the boundary that ends epoch 0"));
        let text = alarm.render(&c.fx.genesis, w.epochs());
        assert_eq!(text.matches("\u{2014} v").count(), 7, "{text}");
    }
}
