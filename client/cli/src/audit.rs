//! `chancery audit`: re-verify a whole ledger from the genesis file alone, with the same
//! kernel and ledger code the nodes run.
//!
//! Sources: a node (`--node URL`, pages of `GET /v1/blocks/raw`), a node's data directory
//! (`--data DIR`, opened read-only through `chancery-storage`, no network; a running
//! node's database is seen as of the open), or an export file (`--file F`, see [`crate::blockfile`]).
//!
//! For every block, in height order: the height follows the last one, the header is for
//! this chain and follows the previous header; the transactions hash to the header's
//! `txs_hash`; the finalization certificate (the block's own, or a descendant's together
//! with the headers linking the two) verifies against the validator set of the block's
//! epoch; every transaction signature is checked (a bad one must have been logged as
//! rejected); the block is re-executed into a fresh ledger, and the header's `epoch`,
//! `validator_set`, `next_validator_set`, `tx_count`, `log_size`, `log_root` and
//! `state_root` must be what execution computed. The first difference is reported as a
//! [`Discrepancy`] (height, field, expected, found) and the command exits 1.
//!
//! Across epochs: the audit follows the validator sets from the genesis as the re-executed
//! governance decides them. The set of each height is the re-executed ledger's; a block
//! that ends an epoch must commit the next set that re-execution computed; at the end,
//! the epoch chain of the audited history (one link per boundary) is verified again with
//! the kernel (`verify_epoch_chain`) and, from a node, compared link by link with what the
//! node serves at `GET /v1/epochs`. So a certificate by a set that governance did not
//! install, or a boundary that commits another set, is found at its height.
//!
//! The work is pipelined over the cores ([`audit`]): a reader thread reads and decodes the
//! blocks ahead and does what depends on one block alone ([`Prepared`]: transaction hashes,
//! signature checks across the cores, the certificate's signatures against the set of its
//! epoch if already known, [`KnownSets`]), at most [`BLOCKS_AHEAD_MAX`] blocks ahead,
//! while the calling thread checks the links and re-executes in order (and checks again
//! a certificate that was prepared with another set than its height's). The checks are
//! the same and run in the same order of blocks, so the first discrepancy is the one a
//! serial audit finds.

use crate::blockfile::{self, RawBlock};
use crate::Outcome;
use anyhow::{bail, Context, Result};
use chancery_core::block::{Block, BlockHeader, Outcome as TxOutcome};
use chancery_core::cert::{Certificate, VoteKind};
use chancery_core::codec;
use chancery_core::epoch::{verify_epoch_chain, EpochLink};
use chancery_core::genesis::Genesis;
use chancery_core::suite::Suite;
use chancery_core::validator::ValidatorSet;
use chancery_core::{Digest, Epoch, Height, TxHash};
use chancery_ledger::schema::{self, StoredBlock};
use chancery_ledger::{verify_block_txs, CheckedTx, Ledger, LedgerConfig, LedgerError};
use chancery_storage::{Column, Store};
use std::collections::VecDeque;
use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// Most blocks held while looking for the descendant that a certificate finalizes.
pub const DESCENDANTS_MAX: usize = 1024;

/// Most blocks the reader thread prepares ahead of execution (the bound of the channel
/// between the two; with blocks of up to `BLOCK_TXS_MAX` transactions, this bounds memory).
pub const BLOCKS_AHEAD_MAX: usize = 4;

/// Arguments of `audit`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Audit the ledger a node serves (its API base URL). Without --node, --data or
    /// --file, the node named by the CHANCERY_NODE environment variable.
    #[arg(long, conflicts_with_all = ["data", "file"])]
    node: Option<String>,
    /// Audit a node's data directory (opened read-only), without network.
    #[arg(long, conflicts_with = "file")]
    data: Option<PathBuf>,
    /// Audit an export file written by `chancery export blocks`.
    #[arg(long)]
    file: Option<PathBuf>,
    /// The genesis file (JSON).
    #[arg(long)]
    genesis: PathBuf,
    /// Re-execute into a temporary RocksDB database in this directory instead of memory
    /// (for ledgers larger than memory).
    #[arg(long)]
    scratch: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// The first thing found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discrepancy {
    /// Height of the block.
    pub height: u64,
    /// What was checked (a header field, `certificate`, `encoding`, ...).
    pub field: String,
    /// What it should be.
    pub expected: String,
    /// What it is.
    pub found: String,
}

impl fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "height {}: {}: expected {}, found {}",
            self.height, self.field, self.expected, self.found
        )
    }
}

fn disc(height: u64, field: &str, expected: impl ToString, found: impl ToString) -> Discrepancy {
    Discrepancy {
        height,
        field: field.into(),
        expected: expected.to_string(),
        found: found.to_string(),
    }
}

/// One block to audit.
#[derive(Clone, Debug)]
pub struct Item {
    /// The height the source says it is at.
    pub height: u64,
    /// The block.
    pub block: Block,
    /// Its finalization certificate (own or a descendant's).
    pub cert: Certificate,
    /// The suffix headers of a boundary finalized through them (docs/governance.md):
    /// never applied, they link the boundary to its certificate; empty otherwise.
    pub suffix: Vec<BlockHeader>,
    /// Outcomes the source logged for its transactions, if it has them (data dirs).
    pub outcomes: Option<Vec<TxOutcome>>,
}

/// Decode a raw block and certificate; a bad encoding is a discrepancy at its height.
pub fn decode_raw(suite: Suite, r: &RawBlock) -> Result<Item, Discrepancy> {
    let block: Block = codec::decode_in(suite, &r.block)
        .map_err(|e| disc(r.height, "block encoding", "a canonical block", e))?;
    let cert: Certificate = codec::decode_in(suite, &r.cert).map_err(|e| {
        disc(
            r.height,
            "certificate encoding",
            "a canonical certificate",
            e,
        )
    })?;
    let suffix = r
        .suffix
        .iter()
        .enumerate()
        .map(|(i, b)| {
            codec::decode_in::<BlockHeader>(suite, b).map_err(|e| {
                disc(
                    r.height,
                    &format!("suffix header {i} encoding"),
                    "a canonical block header",
                    e,
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Item {
        height: r.height,
        block,
        cert,
        suffix,
        outcomes: None,
    })
}

/// The validator sets the audit knows so far, by epoch: the genesis set, then each set
/// the re-execution installs (added by the main thread when it applies the block that ends
/// an epoch). Shared with the reader thread so that it checks certificates ahead with the
/// set of their epoch; a block prepared before its epoch's set was known is checked again
/// by the main thread, in order, with the set of its height.
#[derive(Clone, Debug)]
pub struct KnownSets(Arc<RwLock<Vec<ValidatorSet>>>);

impl KnownSets {
    /// The genesis set alone.
    pub fn new(genesis: &Genesis) -> KnownSets {
        KnownSets(Arc::new(RwLock::new(vec![genesis.validators.clone()])))
    }

    /// The set of `epoch`, if known (a poisoned lock knows nothing: the main thread checks).
    fn get(&self, epoch: Epoch) -> Option<ValidatorSet> {
        let sets = self.0.read().ok()?;
        usize::try_from(epoch.0)
            .ok()
            .and_then(|e| sets.get(e))
            .cloned()
    }

    /// Learn the set of the next epoch.
    fn push(&self, set: ValidatorSet) {
        if let Ok(mut sets) = self.0.write() {
            if sets.len() as u64 == set.epoch.0 {
                sets.push(set);
            }
        }
    }
}

/// A block with what can be checked from it alone, computed ahead of execution (on the
/// reader thread in [`audit`]): its transactions' hashes and signature verdicts, and the
/// verdict on its certificate's signatures. [`Auditor`] checks everything else in order.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The block.
    pub item: Item,
    /// One verdict per transaction, in block order.
    checked: Vec<CheckedTx>,
    /// The hash of the set the certificate was checked against (the set of its epoch as
    /// known then), and whether it verifies as a finalization by that set (whatever block
    /// it names); `None` if the set of its epoch was not known yet.
    cert_verdict: Option<(Digest, Result<(), String>)>,
}

impl Prepared {
    /// Hash and verify `item`'s transactions (across the cores) and its certificate, with
    /// the set of the certificate's epoch if `known` has it.
    pub fn new(item: Item, genesis: &Genesis, known: &KnownSets) -> Prepared {
        let chain = genesis.chain_id();
        let checked = verify_block_txs(&chain, item.block.txs.clone(), |_| None);
        let cert_verdict = known.get(item.cert.epoch).map(|set| {
            let v = item
                .cert
                .verify_kind(VoteKind::Finalize, chain, &set)
                .map_err(|e| e.to_string());
            (set.hash(), v)
        });
        Prepared {
            item,
            checked,
            cert_verdict,
        }
    }

    fn tx_hashes(&self) -> impl Iterator<Item = TxHash> + '_ {
        self.checked.iter().map(CheckedTx::hash)
    }
}

/// What an audit verified.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    /// Blocks verified.
    pub blocks: u64,
    /// Transactions verified and re-executed.
    pub txs: u64,
    /// Of which applied.
    pub applied: u64,
    /// Of which rejected by the rules (logged with a reason).
    pub rejected: u64,
    /// Of which with a bad signature or wrong chain (logged as rejected).
    pub bad_signatures: u64,
    /// Certificates verified.
    pub certificates: u64,
    /// Last height.
    pub height: u64,
    /// Log size after the last block.
    pub log_size: u64,
    /// Log root after the last block.
    pub log_root: String,
    /// State root after the last block.
    pub state_root: String,
    /// Epoch of the last block: the epoch boundaries crossed, each verified.
    pub epoch: u64,
    /// The epoch chain of the audited history (one link per boundary), verified from the
    /// genesis by the kernel.
    #[serde(skip)]
    pub links: Vec<EpochLink>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Transactions per second.
    pub txs_per_s: f64,
}

/// The re-verifier: feed it blocks in order with [`Auditor::push`], then [`Auditor::finish`].
pub struct Auditor {
    genesis: Genesis,
    ledger: Ledger,
    known: KnownSets,
    pending: VecDeque<Prepared>,
    prev: Option<BlockHeader>,
    verified_cert: Option<Certificate>,
    summary: Summary,
}

impl Auditor {
    /// A fresh in-memory ledger for `genesis` over `scratch` (an empty store).
    pub fn new(genesis: &Genesis, scratch: Arc<dyn Store>) -> Result<Auditor, LedgerError> {
        let config = LedgerConfig {
            // Re-execution reads every value it writes soon after: keep more in memory.
            value_cache_max: 4_000_000,
            ..LedgerConfig::default()
        };
        Ok(Auditor {
            ledger: Ledger::open_with(scratch, genesis, config)?,
            known: KnownSets::new(genesis),
            genesis: genesis.clone(),
            pending: VecDeque::new(),
            prev: None,
            verified_cert: None,
            summary: Summary::default(),
        })
    }

    /// The counts so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The validator sets learned so far, to prepare blocks with ([`Prepared::new`]).
    pub fn known_sets(&self) -> KnownSets {
        self.known.clone()
    }

    /// Check one block's own fields and links, hold it until its certificate's block is
    /// seen, and re-execute every block that is then final.
    #[cfg(test)]
    pub fn push(&mut self, item: Item) -> Result<(), Discrepancy> {
        let p = Prepared::new(item, &self.genesis, &self.known);
        self.push_prepared(p)
    }

    /// [`Auditor::push`] for a block prepared ahead ([`Prepared::new`] with this genesis
    /// and [`Auditor::known_sets`]).
    pub fn push_prepared(&mut self, p: Prepared) -> Result<(), Discrepancy> {
        let item = &p.item;
        let h = &item.block.header;
        let height = item.height;
        let expected_height = self.prev.as_ref().map_or(1, |p| p.height.0 + 1);
        if height != expected_height {
            return Err(disc(
                height,
                "height (order of blocks)",
                expected_height,
                height,
            ));
        }
        if h.height.0 != height {
            return Err(disc(height, "header.height", height, h.height));
        }
        let chain = self.genesis.chain_id();
        if h.chain_id != chain {
            return Err(disc(height, "header.chain_id", chain, h.chain_id));
        }
        let (parent, parent_time) = match &self.prev {
            Some(p) => (p.hash(self.genesis.crypto), p.time),
            None => (Digest::ZERO, self.genesis.genesis_time),
        };
        if h.parent != parent {
            return Err(disc(height, "header.parent", parent, h.parent));
        }
        if h.time <= parent_time {
            return Err(disc(
                height,
                "header.time",
                format!("after {parent_time}"),
                h.time,
            ));
        }
        if item.block.txs.len() != h.tx_count as usize {
            return Err(disc(
                height,
                "header.tx_count",
                item.block.txs.len(),
                h.tx_count,
            ));
        }
        let txs_hash = chancery_core::block::txs_hash(self.genesis.crypto, p.tx_hashes());
        if txs_hash != h.txs_hash {
            return Err(disc(
                height,
                "header.txs_hash (hash of the block's transactions)",
                txs_hash,
                h.txs_hash,
            ));
        }
        self.prev = Some(h.clone());
        self.pending.push_back(p);
        self.drain()
    }

    /// Apply every pending block whose certificate's block has been seen.
    fn drain(&mut self) -> Result<(), Discrepancy> {
        while let Some(front) = self.pending.front().map(|p| &p.item) {
            let target = front.cert.block;
            // The certificate's block: a pending block, or the last suffix header of a
            // pending boundary (R13), whose suffix then ends the descendants.
            let found = self.pending.iter().enumerate().find_map(|(j, p)| {
                if p.item.block.header.hash(self.genesis.crypto) == target {
                    Some((j, Vec::new()))
                } else if p
                    .item
                    .suffix
                    .last()
                    .is_some_and(|s| s.hash(self.genesis.crypto) == target)
                {
                    Some((j, p.item.suffix.clone()))
                } else {
                    None
                }
            });
            let Some((j, suffix)) = found else {
                if self.pending.len() > DESCENDANTS_MAX {
                    return Err(disc(
                        front.height,
                        "certificate.block",
                        format!(
                            "this block's hash {} or one of its next {DESCENDANTS_MAX} descendants'",
                            front.block.header.hash(self.genesis.crypto)
                        ),
                        target,
                    ));
                }
                return Ok(());
            };
            let Some(p) = self.pending.pop_front() else {
                return Ok(());
            };
            let descendants: Vec<BlockHeader> = self
                .pending
                .iter()
                .take(j)
                .map(|p| p.item.block.header.clone())
                .chain(suffix)
                .collect();
            let certified = descendants.last().unwrap_or(&p.item.block.header).clone();
            self.check_cert(&p, &certified)?;
            self.apply(p, &descendants)?;
        }
        Ok(())
    }

    fn check_cert(&mut self, p: &Prepared, certified: &BlockHeader) -> Result<(), Discrepancy> {
        let (height, cert) = (p.item.height, &p.item.cert);
        if self.verified_cert.as_ref() == Some(cert) {
            return Ok(());
        }
        let field = if certified.height.0 == height {
            "certificate".to_string()
        } else {
            format!("certificate (of descendant {})", certified.height)
        };
        if cert.view != certified.view {
            return Err(disc(
                height,
                &format!("{field}.view"),
                certified.view,
                cert.view,
            ));
        }
        if cert.epoch != certified.epoch {
            return Err(disc(
                height,
                &format!("{field}.epoch"),
                certified.epoch,
                cert.epoch,
            ));
        }
        // The set that finalizes this height, as the re-executed governance decides it
        // (the genesis set in epoch 0).
        let set = self
            .ledger
            .validator_set_at(Height(height))
            .map_err(|e| disc(height, "validator set", "the set of this height", e))?;
        let verdict = match &p.cert_verdict {
            Some((used, v)) if *used == set.hash() => v.clone(),
            _ => cert
                .verify_kind(VoteKind::Finalize, self.genesis.chain_id(), &set)
                .map_err(|e| e.to_string()),
        };
        verdict.map_err(|e| {
            disc(
                height,
                &field,
                format!(
                    "a finalization certificate of a quorum of the validators of epoch {}",
                    set.epoch
                ),
                e,
            )
        })?;
        self.verified_cert = Some(cert.clone());
        self.summary.certificates += 1;
        Ok(())
    }

    fn apply(&mut self, p: Prepared, descendants: &[BlockHeader]) -> Result<(), Discrepancy> {
        let Prepared { item, checked, .. } = p;
        let height = item.height;
        let h = &item.block.header;
        let bad = checked
            .iter()
            .filter(|c| matches!(c, CheckedTx::Invalid { .. }))
            .count() as u64;
        let ex = self
            .ledger
            .execute(&checked, h.time, h.height)
            .map_err(|e| disc(height, "execution", "the block to execute", e))?;
        let checks: [(&str, String, String); 7] = [
            ("header.epoch", ex.epoch.to_string(), h.epoch.to_string()),
            (
                "header.validator_set",
                ex.validator_set.to_hex(),
                h.validator_set.to_hex(),
            ),
            (
                "header.next_validator_set",
                ex.next_validator_set.to_hex(),
                h.next_validator_set.to_hex(),
            ),
            (
                "header.tx_count",
                ex.tx_count.to_string(),
                h.tx_count.to_string(),
            ),
            (
                "header.log_size",
                ex.log_size.to_string(),
                h.log_size.to_string(),
            ),
            ("header.log_root", ex.log_root.to_hex(), h.log_root.to_hex()),
            (
                "header.state_root",
                ex.state_root.to_hex(),
                h.state_root.to_hex(),
            ),
        ];
        for (field, expected, found) in checks {
            if expected != found {
                return Err(disc(
                    height,
                    &format!("{field} (re-executed)"),
                    expected,
                    found,
                ));
            }
        }
        if let Some(logged) = &item.outcomes {
            for (i, (l, e)) in logged.iter().zip(&ex.outcomes).enumerate() {
                if l != e {
                    return Err(disc(
                        height,
                        &format!("outcome of transaction {i} in the stored log"),
                        format!("{e:?}"),
                        format!("{l:?}"),
                    ));
                }
            }
        }
        self.ledger
            .apply_by_descendant(&item.block, &item.cert, descendants)
            .map_err(|e| disc(height, "apply", "the block to apply", e))?;
        if let Some(next) = &ex.next_set {
            // This block ends its epoch: the reader may check the next epoch's
            // certificates ahead from now on.
            self.known.push(next.clone());
        }
        let s = &mut self.summary;
        s.blocks += 1;
        s.txs += ex.outcomes.len() as u64;
        s.applied += ex
            .outcomes
            .iter()
            .filter(|o| matches!(o, TxOutcome::Applied))
            .count() as u64;
        s.rejected += ex
            .outcomes
            .iter()
            .filter(|o| !matches!(o, TxOutcome::Applied))
            .count() as u64;
        s.bad_signatures += bad;
        s.height = height;
        s.log_size = ex.log_size;
        s.log_root = ex.log_root.to_hex();
        s.state_root = ex.state_root.to_hex();
        s.epoch = h.epoch.0;
        Ok(())
    }

    /// The epoch chain of the audited history: one link per boundary applied (header,
    /// stored certificate, next set, as re-executed), verified from the genesis by the
    /// kernel. A failure is reported at the boundary's height.
    pub fn audited_links(&self) -> Result<Vec<EpochLink>, Discrepancy> {
        let ended = self
            .ledger
            .governance_now()
            .map_err(|e| disc(self.summary.height, "governance state", "readable", e))?
            .epoch;
        let links = self
            .ledger
            .epoch_links(ended)
            .map_err(|e| disc(self.summary.height, "epoch chain", "every boundary", e))?;
        verify_epoch_chain(&self.genesis, &links).map_err(|e| {
            let height = match &e {
                chancery_core::epoch::EpochChainError::TooLong { .. } => self.summary.height,
                _ => links
                    .get(epoch_link_index(&e))
                    .map_or(self.summary.height, |l| l.header.height.0),
            };
            disc(
                height,
                "epoch chain",
                "links that verify from the genesis",
                e,
            )
        })?;
        Ok(links)
    }

    /// Every block must have been finalized; the summary, with the audited epoch chain
    /// ([`Auditor::audited_links`]).
    pub fn finish(mut self) -> Result<Summary, Discrepancy> {
        if let Some(front) = self.pending.front().map(|p| &p.item) {
            return Err(disc(
                front.height,
                "certificate.block",
                "this block's hash or a later block's",
                format!(
                    "{} (no such block up to height {})",
                    front.cert.block,
                    self.prev.as_ref().map_or(0, |p| p.height.0)
                ),
            ));
        }
        self.summary.links = self.audited_links()?;
        Ok(self.summary)
    }
}

/// The position of the link an epoch-chain error names (0 for a chain too long).
fn epoch_link_index(e: &chancery_core::epoch::EpochChainError) -> usize {
    e.link_index().unwrap_or(0)
}

/// Compare the epoch links a node serves with the audited ones: the same links, byte for
/// byte (a node that serves another boundary, certificate or next set for an epoch shows
/// a history the audit did not verify).
pub fn compare_links(audited: &[EpochLink], served: &[EpochLink]) -> Result<(), String> {
    if audited.len() != served.len() {
        return Err(format!(
            "the node serves {} epoch links, the audited history has {}",
            served.len(),
            audited.len()
        ));
    }
    for (i, (a, b)) in audited.iter().zip(served).enumerate() {
        if a != b {
            return Err(format!(
                "epoch link {i}: the node serves boundary header {} at height {}, the audited history has {} at height {}{}",
                b.header.hash(b.next.suite()),
                b.header.height,
                a.header.hash(a.next.suite()),
                a.header.height,
                if a.header == b.header { " (same header, another certificate or next set)" } else { "" }
            ));
        }
    }
    Ok(())
}

/// Where blocks come from.
pub enum Source {
    /// A node's API.
    Node {
        /// The node's API.
        client: chancery_client::Client,
        /// Next height to ask for; `None` when done.
        from: Option<u64>,
        /// Fetched, not yet returned.
        buf: VecDeque<RawBlock>,
    },
    /// A data directory.
    Data {
        /// The store.
        store: Arc<dyn Store>,
        /// Next height.
        next: u64,
        /// Last applied height.
        last: u64,
    },
    /// An export file.
    File(blockfile::Reader<std::io::BufReader<std::fs::File>>),
}

/// Open a node's RocksDB data directory (`DIR/db` if it exists, else `DIR`).
pub fn open_data_dir(dir: &Path) -> Result<Arc<dyn Store>> {
    let db = if dir.join("db").is_dir() {
        dir.join("db")
    } else {
        dir.to_path_buf()
    };
    if !db.join("CURRENT").exists() {
        bail!(
            "{}: not a node database (no RocksDB CURRENT file)",
            db.display()
        );
    }
    let store = chancery_storage::RocksStore::open_read_only(&db)
        .with_context(|| format!("opening the database {} read-only", db.display()))?;
    Ok(Arc::new(store))
}

/// Read block `h` of a data directory: header, transactions from the log, certificate.
pub fn read_stored(suite: Suite, store: &dyn Store, h: u64) -> Result<Item, Discrepancy> {
    let k = schema::be(h);
    let col_err = |col: Column, what: &str, e: &dyn fmt::Display| {
        disc(
            h,
            &format!("stored {} (column {})", what, col.name()),
            format!("a readable {what}"),
            e,
        )
    };
    let v = store
        .get(Column::Blocks, &k)
        .map_err(|e| col_err(Column::Blocks, "block", &e))?
        .ok_or_else(|| disc(h, "stored block", "a block", "nothing"))?;
    let sb: StoredBlock =
        codec::decode_in(suite, &v).map_err(|e| col_err(Column::Blocks, "block", &e))?;
    let count = u64::from(sb.header.tx_count);
    let mut txs = Vec::with_capacity(count as usize);
    let mut outcomes = Vec::with_capacity(count as usize);
    // One ordered scan of the block's log range, in pages the store allows.
    let page = store.limits().scan_entries_max.max(1) as u64;
    let end = sb.first_index + count;
    let mut next = sb.first_index;
    while next < end {
        let upto = end.min(next + page);
        let rows = store
            .scan(
                Column::Log,
                &schema::be(next),
                Some(&schema::be(upto)),
                false,
                (upto - next) as usize,
            )
            .map_err(|e| col_err(Column::Log, "log entry", &e))?;
        if rows.is_empty() {
            return Err(disc(h, &format!("log entry {next}"), "an entry", "nothing"));
        }
        for (k, v) in rows {
            let found = schema::read_be(&k).filter(|_| k.len() == 8);
            if found != Some(next) {
                return Err(disc(
                    h,
                    &format!("log entry {next}"),
                    "an entry",
                    format!("nothing (next key is {})", hex::encode(&k)),
                ));
            }
            let index = next;
            let e: chancery_core::block::LogEntry = codec::decode_in(suite, &v)
                .map_err(|e| disc(h, &format!("log entry {index}"), "a canonical log entry", e))?;
            if e.height.0 != h {
                return Err(disc(h, &format!("log entry {index} height"), h, e.height));
            }
            txs.push(e.tx);
            outcomes.push(e.outcome);
            next += 1;
        }
    }
    let c = store
        .get(Column::Certs, &k)
        .map_err(|e| col_err(Column::Certs, "certificate", &e))?
        .ok_or_else(|| disc(h, "stored certificate", "a certificate", "nothing"))?;
    let cert: Certificate =
        codec::decode_in(suite, &c).map_err(|e| col_err(Column::Certs, "certificate", &e))?;
    let suffix = match store
        .get(Column::Meta, &schema::suffix_key(sb.header.height))
        .map_err(|e| col_err(Column::Meta, "suffix", &e))?
    {
        None => Vec::new(),
        Some(v) => {
            codec::decode_in::<schema::StoredSuffix>(suite, &v)
                .map_err(|e| col_err(Column::Meta, "suffix", &e))?
                .0
        }
    };
    Ok(Item {
        height: h,
        block: Block {
            header: sb.header,
            txs,
        },
        cert,
        suffix,
        outcomes: Some(outcomes),
    })
}

/// An error of the source itself (network, file) rather than of the ledger's content.
#[derive(Debug)]
pub enum Next {
    /// A block.
    Item(Box<Item>),
    /// The block at this height is wrong.
    Bad(Discrepancy),
}

impl Source {
    /// Blocks the source will give, if known.
    pub fn total(&self) -> Option<u64> {
        match self {
            Source::Node { client, .. } => client.status().ok().map(|s| s.tip.height),
            Source::Data { last, .. } => Some(*last),
            Source::File(_) => None,
        }
    }

    /// The next block, `None` at the end.
    pub fn next_item(&mut self, suite: Suite) -> Result<Option<Next>> {
        match self {
            Source::Node { client, from, buf } => {
                if buf.is_empty() {
                    let Some(f) = *from else { return Ok(None) };
                    let (page, next) =
                        blockfile::fetch_raw_page(client, f, blockfile::RAW_PAGE_BLOCKS_MAX)?;
                    *from = if page.is_empty() { None } else { next };
                    buf.extend(page);
                }
                Ok(buf.pop_front().map(|r| match decode_raw(suite, &r) {
                    Ok(i) => Next::Item(Box::new(i)),
                    Err(d) => Next::Bad(d),
                }))
            }
            Source::Data { store, next, last } => {
                if *next > *last {
                    return Ok(None);
                }
                let h = *next;
                *next += 1;
                Ok(Some(match read_stored(suite, store.as_ref(), h) {
                    Ok(i) => Next::Item(Box::new(i)),
                    Err(d) => Next::Bad(d),
                }))
            }
            Source::File(r) => Ok(r.next_block()?.map(|r| match decode_raw(suite, &r) {
                Ok(i) => Next::Item(Box::new(i)),
                Err(d) => Next::Bad(d),
            })),
        }
    }
}

/// What the reader thread of [`audit`] hands over: a prepared block, or a block that is
/// wrong as read.
enum Ahead {
    Block(Box<Prepared>),
    Bad(Discrepancy),
}

/// Audit every block of `source`: the summary, or the first discrepancy. Blocks are read
/// and prepared ([`Prepared`]) on a second thread, ahead of re-execution on this one.
pub fn audit(
    genesis: &Genesis,
    source: &mut Source,
    scratch: Arc<dyn Store>,
    progress: &indicatif::ProgressBar,
) -> Result<Result<Summary, Discrepancy>> {
    let start = Instant::now();
    let mut auditor = Auditor::new(genesis, scratch)?;
    let known = auditor.known_sets();
    // The reader thread reads, decodes and prepares blocks in order, at most
    // BLOCKS_AHEAD_MAX ahead; it stops after the source's end, its first bad block or
    // error, or when this thread stops listening (a discrepancy).
    let (ahead_tx, ahead_rx) = std::sync::mpsc::sync_channel::<Result<Ahead>>(BLOCKS_AHEAD_MAX);
    let found = std::thread::scope(|s| -> Result<Option<Discrepancy>> {
        s.spawn(move || loop {
            let next = match source.next_item(genesis.crypto) {
                Ok(Some(Next::Item(i))) => {
                    Ok(Ahead::Block(Box::new(Prepared::new(*i, genesis, &known))))
                }
                Ok(Some(Next::Bad(d))) => Ok(Ahead::Bad(d)),
                Ok(None) => break,
                Err(e) => Err(e),
            };
            let last = !matches!(next, Ok(Ahead::Block(_)));
            if ahead_tx.send(next).is_err() || last {
                break;
            }
        });
        for next in ahead_rx {
            let p = match next? {
                Ahead::Block(p) => *p,
                Ahead::Bad(d) => return Ok(Some(d)),
            };
            if let Err(d) = auditor.push_prepared(p) {
                return Ok(Some(d));
            }
            progress.set_position(auditor.summary().blocks);
            progress.set_message(format!("{} txs", auditor.summary().txs));
        }
        Ok(None)
    })?;
    if let Some(d) = found {
        return Ok(Err(d));
    }
    progress.finish_and_clear();
    Ok(auditor.finish().map(|mut s| {
        s.seconds = start.elapsed().as_secs_f64();
        s.txs_per_s = if s.seconds > 0.0 {
            s.txs as f64 / s.seconds
        } else {
            0.0
        };
        s
    }))
}

/// Run `audit`.
pub fn run(a: Args) -> Result<Outcome> {
    let genesis = crate::verify::load_genesis(&a.genesis)?;
    // `--node`, else CHANCERY_NODE when neither --data nor --file is given (read here, not
    // by clap, so that the variable cannot conflict with --data or --file).
    let node = a.node.clone().or_else(|| {
        (a.data.is_none() && a.file.is_none())
            .then(|| std::env::var(chancery_client::NODE_ENV).ok())
            .flatten()
            .filter(|u| !u.is_empty())
    });
    let mut source = if let Some(url) = &node {
        Source::Node {
            client: chancery_client::Client::new(url),
            from: Some(1),
            buf: VecDeque::new(),
        }
    } else if let Some(dir) = &a.data {
        let store = open_data_dir(dir)?;
        let last = match store.get(Column::Meta, schema::META_LAST_APPLIED)? {
            Some(v) if v.len() == 8 => schema::read_be(&v).unwrap_or(0),
            Some(_) => bail!("{}: the last-applied height is not 8 bytes", dir.display()),
            None => bail!(
                "{}: no last-applied height: not a ledger database",
                dir.display()
            ),
        };
        Source::Data {
            store,
            next: 1,
            last,
        }
    } else if let Some(f) = &a.file {
        let file = std::fs::File::open(f).with_context(|| format!("opening {}", f.display()))?;
        let r = blockfile::Reader::new(std::io::BufReader::new(file))?;
        if r.chain_id != genesis.chain_id() {
            return Ok(Outcome::Invalid(format!(
                "the export file is for chain {}, the genesis is chain {}",
                r.chain_id,
                genesis.chain_id()
            )));
        }
        Source::File(r)
    } else {
        bail!("give one of --node URL (or set CHANCERY_NODE), --data DIR or --file EXPORT");
    };
    let _tmp;
    let scratch: Arc<dyn Store> = match &a.scratch {
        Some(dir) => {
            let t = tempfile::tempdir_in(dir)
                .with_context(|| format!("creating a scratch directory in {}", dir.display()))?;
            let s = chancery_storage::RocksStore::open(t.path())?;
            _tmp = t;
            Arc::new(s)
        }
        // In memory: the same rules and limits as the RocksDB store, values checksummed,
        // nothing written to disk (`--scratch DIR` when the ledger does not fit in memory).
        None => Arc::new(chancery_storage::MemStore::new()),
    };
    let progress = if std::io::stderr().is_terminal() {
        let pb = match source.total() {
            Some(n) => indicatif::ProgressBar::new(n),
            None => indicatif::ProgressBar::new_spinner(),
        };
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} audit [{elapsed_precise}] {bar:40} {pos}/{len} blocks, {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };
    let result = audit(&genesis, &mut source, scratch, &progress)?;
    if let (Ok(s), Source::Node { client, .. }) = (&result, &source) {
        // The node's epoch chain must be the audited one: what receipts of later epochs
        // carry and what `chancery watch` follows.
        let served = crate::epochs::fetch_links(client, genesis.crypto, 0, s.links.len() as u64)
            .map_err(|e| anyhow::anyhow!(e))?;
        if let Err(e) = compare_links(&s.links, &served) {
            return Ok(Outcome::Invalid(format!("audit failed: {e}")));
        }
    }
    match result {
        Ok(s) => Ok(Outcome::Ok(if a.json {
            serde_json::to_string(&s)?
        } else {
            format!(
                "audit passed: {} blocks, {} transactions ({} applied, {} rejected, {} with a bad signature), {} certificates verified\n\
                 height {}, epoch {} ({} epoch links verified), log size {}, log root {}, state root {}\n\
                 {:.2} s, {:.0} tx/s",
                s.blocks, s.txs, s.applied, s.rejected, s.bad_signatures, s.certificates,
                s.height, s.epoch, s.links.len(), s.log_size, s.log_root, s.state_root, s.seconds, s.txs_per_s
            )
        })),
        Err(d) => Ok(Outcome::Invalid(format!("audit failed: {d}"))),
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests decode in the default suite
mod tests {
    use super::*;
    use chancery_core::record::{Record, Role};
    use chancery_ledger::testing::{fixture::Fixture, propose_and_apply};
    use chancery_storage::MemStore;

    fn mem() -> Arc<MemStore> {
        Arc::new(MemStore::new())
    }

    /// A chain of `blocks` blocks of `per_block` document anchors each, as export bytes.
    pub(crate) fn chain(blocks: u64, per_block: u64) -> (Fixture, Vec<(Block, Certificate)>) {
        let fx = Fixture::new();
        let ledger = Ledger::open(mem(), &fx.genesis).unwrap();
        let key = fx.signer("mof", Role::Archivist).clone();
        let mut seq = 0;
        let mut out = Vec::new();
        for h in 1..=blocks {
            let txs = (0..per_block)
                .map(|i| {
                    let r = chancery_ledger::testing::fixture::anchor(&format!("{h}-{i}"));
                    seq += 1;
                    fx.tx(&key, seq - 1, r)
                })
                .collect();
            propose_and_apply(&ledger, &fx, txs).unwrap();
            out.push(ledger.block(chancery_core::Height(h)).unwrap().unwrap());
        }
        (fx, out)
    }

    fn export(fx: &Fixture, blocks: &[(Block, Certificate)]) -> Vec<u8> {
        let mut buf = Vec::new();
        blockfile::write_header(&mut buf, &fx.genesis.chain_id()).unwrap();
        for (i, (b, c)) in blocks.iter().enumerate() {
            let raw = RawBlock {
                height: i as u64 + 1,
                block: codec::encode(b),
                cert: codec::encode(c),
                suffix: vec![],
            };
            blockfile::write_block(&mut buf, &raw).unwrap();
        }
        buf
    }

    /// Audit an export file held in memory.
    fn audit_bytes(genesis: &Genesis, bytes: &[u8]) -> Result<Summary, Discrepancy> {
        let mut r = blockfile::Reader::new(std::io::Cursor::new(bytes)).unwrap();
        let mut a = Auditor::new(genesis, mem()).unwrap();
        while let Some(raw) = r.next_block().unwrap() {
            a.push(decode_raw(genesis.crypto, &raw)?)?;
        }
        a.finish()
    }

    #[test]
    fn a_clean_chain_passes_with_every_count() {
        let (fx, blocks) = chain(3, 4);
        let s = audit_bytes(&fx.genesis, &export(&fx, &blocks)).unwrap();
        assert_eq!((s.blocks, s.txs, s.applied, s.certificates), (3, 12, 12, 3));
        assert_eq!(s.height, 3);
        assert_eq!(s.state_root, blocks[2].0.header.state_root.to_hex());
        assert_eq!(s.log_root, blocks[2].0.header.log_root.to_hex());
    }

    #[test]
    fn a_block_finalized_by_its_descendants_certificate_passes() {
        let (fx, mut blocks) = chain(3, 2);
        // Block 1 carries block 3's certificate (Simplex finalizes ancestors too).
        blocks[0].1 = blocks[2].1.clone();
        let s = audit_bytes(&fx.genesis, &export(&fx, &blocks)).unwrap();
        assert_eq!(s.blocks, 3);
        // A certificate for a block that never comes is reported at the waiting block.
        let (fx, mut blocks) = chain(2, 1);
        blocks[1].1.block = chancery_core::domain::BLOCK_HASH.hash(b"elsewhere");
        let d = audit_bytes(&fx.genesis, &export(&fx, &blocks)).unwrap_err();
        assert_eq!((d.height, d.field.as_str()), (2, "certificate.block"));
    }

    #[test]
    fn a_tampered_transaction_is_reported_at_its_height() {
        let (fx, mut blocks) = chain(3, 2);
        if let Record::AnchorDocument(a) = &mut blocks[1].0.txs[1].body.record {
            a.document.title = "report 2-1 (edited)".into();
        }
        let d = audit_bytes(&fx.genesis, &export(&fx, &blocks)).unwrap_err();
        // The kernel's decoding already re-checks the transactions' hash.
        assert_eq!((d.height, d.field.as_str()), (2, "block encoding"));
        let header = blocks[1].0.header.txs_hash.to_hex();
        assert!(d.found.contains("header.txs_hash"), "{d}");
        assert!(d.found.contains(&format!("found {header}")), "{d}");
        // From a data directory, where the block is assembled from the log, the header
        // check of the auditor names the field.
        let mut item = Item {
            height: 1,
            block: blocks[0].0.clone(),
            cert: blocks[0].1.clone(),
            suffix: vec![],
            outcomes: None,
        };
        item.block.txs.swap(0, 1);
        let mut a = Auditor::new(&fx.genesis, mem()).unwrap();
        let d = a.push(item).unwrap_err();
        assert_eq!(d.height, 1);
        assert!(d.field.starts_with("header.txs_hash"), "{d}");
        assert_eq!(d.found, blocks[0].0.header.txs_hash.to_hex());
    }

    #[test]
    fn a_tampered_certificate_is_reported_with_the_bad_signer() {
        let (fx, mut blocks) = chain(3, 1);
        blocks[2].1.signatures[1].signature.0[5] ^= 1;
        let d = audit_bytes(&fx.genesis, &export(&fx, &blocks)).unwrap_err();
        assert_eq!((d.height, d.field.as_str()), (3, "certificate"));
        assert!(
            d.found.contains("signature of validator 1 (v1) is invalid"),
            "{d}"
        );
        // Too few signers.
        let (fx, mut blocks) = chain(2, 1);
        blocks[0].1.signatures.truncate(2);
        let d = audit_bytes(&fx.genesis, &export(&fx, &blocks)).unwrap_err();
        assert_eq!((d.height, d.field.as_str()), (1, "certificate"));
        assert!(d.found.contains("quorum not reached"), "{d}");
    }

    #[test]
    fn a_wrong_state_root_signed_by_a_quorum_is_found_by_re_execution() {
        let (fx, mut blocks) = chain(3, 2);
        let truth = blocks[1].0.header.state_root;
        blocks[1].0.header.state_root.0[0] ^= 0x80;
        // A quorum of validators signs the bad header (a Byzantine majority).
        blocks[1].1 = fx.finalize(&blocks[1].0);
        let d = audit_bytes(&fx.genesis, &export(&fx, &blocks)).unwrap_err();
        assert_eq!(d.height, 2);
        assert_eq!(d.field, "header.state_root (re-executed)");
        assert_eq!(d.expected, truth.to_hex());
        assert_eq!(d.found, blocks[1].0.header.state_root.to_hex());
    }

    #[test]
    fn a_forged_transaction_signature_changes_the_log_and_is_found() {
        let (fx, mut blocks) = chain(2, 2);
        let b = &mut blocks[1].0;
        b.txs[0].signature.0[0] ^= 1;
        b.header.txs_hash = chancery_core::block::txs_hash(
            chancery_core::suite::Suite::default(),
            b.txs.iter().map(|t| t.hash()),
        );
        blocks[1].1 = fx.finalize(&blocks[1].0);
        let d = audit_bytes(&fx.genesis, &export(&fx, &blocks)).unwrap_err();
        assert_eq!(d.height, 2);
        // Logged as rejected (bad signature) instead of applied: another log entry.
        assert_eq!(d.field, "header.log_root (re-executed)");
    }

    /// Audit export bytes as `chancery audit --file` does: pipelined, from a file.
    fn audit_pipelined(genesis: &Genesis, bytes: &[u8]) -> Result<Summary, Discrepancy> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export");
        std::fs::write(&path, bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let r = blockfile::Reader::new(std::io::BufReader::new(file)).unwrap();
        let mut source = Source::File(r);
        audit(
            genesis,
            &mut source,
            mem(),
            &indicatif::ProgressBar::hidden(),
        )
        .unwrap()
    }

    #[test]
    fn the_pipelined_audit_reports_what_the_serial_one_reports() {
        // More blocks than the reader may prepare ahead, so that it waits for execution.
        let blocks_n = BLOCKS_AHEAD_MAX as u64 * 3;
        let (fx, blocks) = chain(blocks_n, 3);
        let clean = export(&fx, &blocks);
        let serial = audit_bytes(&fx.genesis, &clean).unwrap();
        let piped = audit_pipelined(&fx.genesis, &clean).unwrap();
        assert_eq!(
            (piped.blocks, piped.txs, piped.certificates, piped.height),
            (blocks_n, blocks_n * 3, blocks_n, blocks_n)
        );
        assert_eq!(
            (&piped.log_root, &piped.state_root, piped.applied),
            (&serial.log_root, &serial.state_root, serial.applied)
        );
        // Several faults: the first one in block order is reported, as the serial audit
        // reports it, although the reader has already seen (and prepared) later ones.
        let mut bad = blocks.clone();
        let b = &mut bad[7].0;
        b.txs[0].signature.0[0] ^= 1;
        b.header.txs_hash = chancery_core::block::txs_hash(
            chancery_core::suite::Suite::default(),
            b.txs.iter().map(|t| t.hash()),
        );
        bad[7].1 = fx.finalize(&bad[7].0);
        bad[8].1.signatures[1].signature.0[5] ^= 1;
        bad[3].1.signatures[0].signature.0[5] ^= 1;
        let mut bytes = export(&fx, &bad);
        let want = audit_bytes(&fx.genesis, &bytes).unwrap_err();
        assert_eq!((want.height, want.field.as_str()), (4, "certificate"));
        assert_eq!(audit_pipelined(&fx.genesis, &bytes).unwrap_err(), want);
        // Block 4 finalized by block 6's certificate: then the forged signature in block 8
        // comes first.
        bad[3].1 = bad[5].1.clone();
        bytes = export(&fx, &bad);
        let want = audit_bytes(&fx.genesis, &bytes).unwrap_err();
        assert_eq!(
            (want.height, want.field.as_str()),
            (8, "header.log_root (re-executed)")
        );
        assert_eq!(audit_pipelined(&fx.genesis, &bytes).unwrap_err(), want);
        // Bytes that do not decode, after a block whose certificate is its descendant's.
        bad[7] = blocks[7].clone();
        bad[8] = blocks[8].clone();
        bytes = export(&fx, &bad);
        assert!(audit_bytes(&fx.genesis, &bytes).is_ok());
        // Inside the last certificate (the file ends with its 4-byte suffix count, 0).
        let at = bytes.len() - 4 - 3;
        bytes[at] ^= 0xff;
        let want = audit_bytes(&fx.genesis, &bytes).unwrap_err();
        assert_eq!(want.height, blocks_n);
        assert_eq!(audit_pipelined(&fx.genesis, &bytes).unwrap_err(), want);
    }

    #[test]
    fn bad_bytes_and_bad_order_are_reported() {
        let (fx, blocks) = chain(2, 1);
        let mut bytes = export(&fx, &blocks);
        // The first block's version byte (after magic, chain id and the length).
        let at = blockfile::MAGIC.len() + 32 + 4;
        bytes[at] ^= 0xff;
        let d = audit_bytes(&fx.genesis, &bytes).unwrap_err();
        assert_eq!((d.height, d.field.as_str()), (1, "block encoding"));
        let swapped = vec![blocks[1].clone(), blocks[0].clone()];
        let d = audit_bytes(&fx.genesis, &export(&fx, &swapped)).unwrap_err();
        assert_eq!((d.height, d.field.as_str()), (1, "header.height"));
        let other = Fixture {
            genesis: Genesis {
                chain_name: "another".into(),
                ..fx.genesis.clone()
            },
            ..Fixture::new()
        };
        let d = audit_bytes(&other.genesis, &export(&fx, &blocks)).unwrap_err();
        assert_eq!((d.height, d.field.as_str()), (1, "header.chain_id"));
    }

    #[test]
    fn a_data_directory_is_read_with_its_logged_outcomes() {
        let (fx, blocks) = chain(2, 3);
        let store = mem();
        let ledger = Ledger::open(store.clone(), &fx.genesis).unwrap();
        for (b, c) in &blocks {
            ledger.apply(b, c).unwrap();
        }
        let mut a = Auditor::new(&fx.genesis, mem()).unwrap();
        for h in 1..=2 {
            a.push(read_stored(Suite::default(), store.as_ref(), h).unwrap())
                .unwrap();
        }
        assert_eq!(a.finish().unwrap().txs, 6);
        // A log entry whose outcome was altered on disk.
        let first = read_stored(Suite::default(), store.as_ref(), 2).unwrap();
        let index = blocks[0].0.header.log_size + 1;
        let mut e: chancery_core::block::LogEntry =
            codec::decode(&store.get(Column::Log, &schema::be(index)).unwrap().unwrap()).unwrap();
        e.outcome = TxOutcome::Rejected(chancery_core::block::ReasonCode::Malformed);
        store.tamper_put(Column::Log, &schema::be(index), &codec::encode(&e));
        let mut a = Auditor::new(&fx.genesis, mem()).unwrap();
        a.push(read_stored(Suite::default(), store.as_ref(), 1).unwrap())
            .unwrap();
        let item = read_stored(Suite::default(), store.as_ref(), 2).unwrap();
        assert_eq!(item.block, first.block);
        let d = a.push(item).unwrap_err();
        assert_eq!(d.height, 2);
        assert_eq!(d.field, "outcome of transaction 1 in the stored log");
        // A log entry missing from the store.
        assert!(store.tamper_remove(Column::Log, &schema::be(index)));
        let d = read_stored(Suite::default(), store.as_ref(), 2).unwrap_err();
        assert_eq!(
            (d.height, d.field.clone()),
            (2, format!("log entry {index}"))
        );
    }

    /// A chain taken to epoch 2 by two key rotations, with anchors in every epoch: the
    /// fixture, its blocks with their stored certificates, and the keys of each epoch.
    fn governed_chain() -> (
        chancery_ledger::testing::governed::Chain,
        Vec<(Block, Certificate)>,
    ) {
        use chancery_ledger::testing::fixture::anchor;
        let mut c = chancery_ledger::testing::governed::Chain::new();
        let archivist = c.fx.signer("mof", Role::Archivist).clone();
        c.block(vec![(archivist.clone(), anchor("e0"))]);
        assert_eq!(c.rotate_to_next_epoch("v3", "one"), chancery_core::Epoch(1));
        c.block(vec![(archivist.clone(), anchor("e1"))]);
        assert_eq!(c.rotate_to_next_epoch("v0", "two"), chancery_core::Epoch(2));
        c.block(vec![(archivist, anchor("e2"))]);
        let tip = c.ledger.tip().height.0;
        let blocks = (1..=tip)
            .map(|h| c.ledger.block(chancery_core::Height(h)).unwrap().unwrap())
            .collect();
        (c, blocks)
    }

    #[test]
    fn an_audit_follows_the_validator_sets_across_epochs() {
        let (c, blocks) = governed_chain();
        let fx = &c.fx;
        let bytes = export(fx, &blocks);
        let s = audit_bytes(&fx.genesis, &bytes).unwrap();
        assert_eq!(s.blocks, blocks.len() as u64);
        assert_eq!(s.epoch, 2);
        assert_eq!(
            s.links,
            c.ledger.epoch_links(chancery_core::Epoch(2)).unwrap()
        );
        // The pipelined audit prepares blocks before it knows their epoch's set: same result.
        let piped = audit_pipelined(&fx.genesis, &bytes).unwrap();
        assert_eq!((piped.epoch, piped.links.len()), (2, 2));
        assert_eq!(piped.state_root, s.state_root);
        // The node serving these links agrees; one serving another next set does not.
        assert!(compare_links(&s.links, &s.links).is_ok());
        let mut other = s.links.clone();
        other[1].next.validators[0].power = 2;
        let e = compare_links(&s.links, &other).unwrap_err();
        assert!(
            e.starts_with("epoch link 1:") && e.contains("another certificate or next set"),
            "{e}"
        );
    }

    #[test]
    fn a_block_of_a_later_epoch_certified_by_the_old_set_is_found() {
        let (c, mut blocks) = governed_chain();
        let fx = &c.fx;
        // The first block of epoch 1, certified by the genesis keys (v3 has since rotated).
        let set1 = c
            .ledger
            .validator_set_of_epoch(chancery_core::Epoch(1))
            .unwrap()
            .unwrap();
        let i = set1.start_height.0 as usize - 1;
        blocks[i].1 = fx.finalize_by(&blocks[i].0, &fx.validators);
        let d = audit_bytes(&fx.genesis, &export(fx, &blocks)).unwrap_err();
        assert_eq!(
            (d.height, d.field.as_str()),
            (set1.start_height.0, "certificate")
        );
        assert!(d.expected.contains("validators of epoch 1"), "{d}");
        let piped = audit_pipelined(&fx.genesis, &export(fx, &blocks)).unwrap_err();
        assert_eq!(piped, d);
    }

    #[test]
    fn a_boundary_that_commits_another_next_set_is_found_at_its_height() {
        let (c, mut blocks) = governed_chain();
        let fx = &c.fx;
        let set1 = c
            .ledger
            .validator_set_of_epoch(chancery_core::Epoch(1))
            .unwrap()
            .unwrap();
        let b = set1.start_height.0 as usize - 2;
        assert_eq!(blocks[b].0.header.next_validator_set, set1.hash());
        // A quorum of the old set signs a boundary that commits another set.
        blocks[b].0.header.next_validator_set = fx.genesis.validators.hash();
        blocks[b].1 = fx.finalize_by(&blocks[b].0, &fx.validators[..3]);
        // Its child must follow it.
        blocks[b + 1].0.header.parent = blocks[b]
            .0
            .header
            .hash(chancery_core::suite::Suite::default());
        let d = audit_bytes(&fx.genesis, &export(fx, &blocks)).unwrap_err();
        assert_eq!(d.height, b as u64 + 1);
        assert_eq!(d.field, "header.next_validator_set (re-executed)");
        assert_eq!(d.expected, set1.hash().to_hex());
    }

    /// A chain whose epoch-0 boundary (with an anchor) was finalized through two suffix
    /// blocks, then a block of epoch 1: the export (with the suffix) and the ledger.
    fn suffix_chain() -> (chancery_ledger::testing::governed::Chain, Vec<u8>) {
        use chancery_ledger::testing::fixture::{anchor, named_key};
        use chancery_ledger::testing::governed::{rotate, Chain, ALL};
        let mut c = Chain::new();
        let new = named_key("v3-audit-suffix");
        c.pass("rotate", vec![rotate("v3", &new)], &ALL);
        c.run_to_boundary();
        let archivist = c.fx.signer("mof", Role::Archivist).clone();
        let (b, suffix, cert) = c.boundary_with_suffix(vec![(archivist, 0, anchor("b"))], 2);
        c.ledger.apply_by_descendant(&b, &cert, &suffix).unwrap();
        c.keys.insert("v3".into(), new);
        c.block(vec![]);
        let buf = export_ledger(&c, c.ledger.tip().height.0, |_, _| {});
        (c, buf)
    }

    /// The export of `c`'s blocks 1..=`upto` as stored (with their suffixes), each raw
    /// block edited by `edit` before it is written.
    fn export_ledger(
        c: &chancery_ledger::testing::governed::Chain,
        upto: u64,
        edit: impl Fn(u64, &mut RawBlock),
    ) -> Vec<u8> {
        let mut buf = Vec::new();
        blockfile::write_header(&mut buf, &c.fx.genesis.chain_id()).unwrap();
        for h in 1..=upto {
            let (b, cert) = c.ledger.block(chancery_core::Height(h)).unwrap().unwrap();
            let suffix = c.ledger.block_suffix(chancery_core::Height(h)).unwrap();
            let mut raw = RawBlock {
                height: h,
                block: codec::encode(&b),
                cert: codec::encode(&cert),
                suffix: suffix.iter().map(codec::encode).collect(),
            };
            edit(h, &mut raw);
            blockfile::write_block(&mut buf, &raw).unwrap();
        }
        buf
    }

    #[test]
    fn a_boundary_finalized_through_suffix_blocks_is_audited_with_its_suffix() {
        let (c, bytes) = suffix_chain();
        let s = audit_bytes(&c.fx.genesis, &bytes).unwrap();
        assert_eq!((s.blocks, s.epoch), (c.ledger.tip().height.0, 1));
        let served = c.ledger.epoch_links(chancery_core::Epoch(1)).unwrap();
        assert_eq!(served[0].suffix.len(), 2);
        assert_eq!(s.links, served);
        let piped = audit_pipelined(&c.fx.genesis, &bytes).unwrap();
        assert_eq!(piped.links, served);
    }

    #[test]
    fn a_suffix_header_that_changes_the_state_is_found_at_the_boundary() {
        let (c, _) = suffix_chain();
        let boundary = c
            .ledger
            .epoch_link(chancery_core::Epoch(0))
            .unwrap()
            .unwrap();
        let height = boundary.header.height.0;
        // A quorum of the old set certifies a "suffix" block with another state root.
        let mut forged = boundary.suffix.clone();
        forged[1].state_root = chancery_core::Digest([9; 32]);
        let cert = c.fx.finalize_by(
            &Block {
                header: forged[1].clone(),
                txs: vec![],
            },
            &c.fx.validators,
        );
        let buf = export_ledger(&c, height, |h, raw| {
            if h == height {
                raw.cert = codec::encode(&cert);
                raw.suffix = forged.iter().map(codec::encode).collect();
            }
        });
        let d = audit_bytes(&c.fx.genesis, &buf).unwrap_err();
        assert_eq!((d.height, d.field.as_str()), (height, "apply"));
        assert!(d.found.contains("state_root"), "{d}");
    }

    #[test]
    fn a_first_format_export_without_suffix_parts_is_still_read() {
        let (fx, blocks) = chain(3, 2);
        let mut v1 = blockfile::MAGIC_V1.to_vec();
        v1.extend_from_slice(fx.genesis.chain_id().as_bytes());
        for (b, c) in &blocks {
            for part in [codec::encode(b), codec::encode(c)] {
                v1.extend_from_slice(&(part.len() as u32).to_be_bytes());
                v1.extend_from_slice(&part);
            }
        }
        let s = audit_bytes(&fx.genesis, &v1).unwrap();
        assert_eq!(s.blocks, 3);
        let v2 = audit_bytes(&fx.genesis, &export(&fx, &blocks)).unwrap();
        assert_eq!((v2.blocks, v2.state_root), (s.blocks, s.state_root.clone()));
    }
}
