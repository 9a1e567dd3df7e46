//! Integrity check of a whole database.
//!
//! [`check`] re-derives everything from the stored blocks: it replays every block (header,
//! certificate, transactions from the log) into a fresh ledger over a scratch store, which
//! re-verifies every certificate and signature and recomputes every outcome, log root,
//! state root, state-tree node, state version and tx-index entry; the replayed ledger's
//! indexer then rebuilds the secondary index up to the checked database's
//! `indexed_height`, so index entries missing, extra, or beyond that height are reported
//! (an extra entry whose log index lies beyond it says so). Then it compares the two databases column by column, key by key. Any difference is a
//! [`Problem`] naming the column, the key, and what was expected versus found.

use crate::schema::{self, StoredBlock};
use crate::{logtree, tree, Ledger, LedgerConfig, LedgerError};
use chancery_core::block::{Block, BlockHeader, LogEntry};
use chancery_core::cert::Certificate;
use chancery_core::codec;
use chancery_core::genesis::Genesis;
use chancery_core::Height;
use chancery_storage::{Column, Store};
use chancery_tlog::TILE_WIDTH;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

/// Most problems listed in a report (the total is still counted).
pub const PROBLEMS_MAX: usize = 1000;
/// Most descendant headers followed to find the block a certificate finalizes.
const DESCENDANTS_MAX: usize = 1024;
/// Entries read per scan while comparing.
const CHUNK_ENTRIES: usize = 1024;

/// One corruption found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Column.
    pub column: Column,
    /// Key, hex.
    pub key_hex: String,
    /// What should be there (hex of the value, or a description).
    pub expected: String,
    /// What is there.
    pub found: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "column {} key {}: expected {}, found {}",
            self.column.name(),
            self.key_hex,
            self.expected,
            self.found
        )
    }
}

/// The result of [`check`].
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    /// Last applied height recorded.
    pub height: Height,
    /// Blocks replayed successfully.
    pub blocks_replayed: u64,
    /// Entries compared, all columns.
    pub entries_compared: u64,
    /// Problems (at most [`PROBLEMS_MAX`]).
    pub problems: Vec<Problem>,
    /// Number of problems, listed or not.
    pub problems_total: u64,
}

impl CheckReport {
    /// No problem found?
    pub fn is_ok(&self) -> bool {
        self.problems_total == 0
    }

    fn add(
        &mut self,
        column: Column,
        key: &[u8],
        expected: impl Into<String>,
        found: impl Into<String>,
    ) {
        self.problems_total += 1;
        if self.problems.len() < PROBLEMS_MAX {
            self.problems.push(Problem {
                column,
                key_hex: hex::encode(key),
                expected: expected.into(),
                found: found.into(),
            });
        }
    }
}

fn short(v: &[u8]) -> String {
    let h = hex::encode(&v[..v.len().min(48)]);
    if v.len() > 48 {
        format!("{h}... ({} bytes)", v.len())
    } else {
        h
    }
}

/// Check the database in `store` by replaying it into `scratch` (an empty store: an
/// in-memory one for small databases, a temporary RocksDB for large ones) and comparing.
pub fn check(store: Arc<dyn Store>, scratch: Arc<dyn Store>) -> Result<CheckReport, LedgerError> {
    let mut report = CheckReport::default();
    // A store installed from a snapshot has no blocks below its first height to replay:
    // say so, rather than report every entry the replay cannot reach (snapshot.rs).
    if let Some(v) = store.get(Column::Meta, crate::META_FIRST_HEIGHT)? {
        let first = Height(schema::read_be(&v).unwrap_or(0));
        if first > Height(0) {
            return Err(LedgerError::BeforeFirstHeight {
                found: Height(1),
                first,
            });
        }
    }
    let Some(g) = store.get(Column::Meta, schema::META_GENESIS)? else {
        report.add(
            Column::Meta,
            schema::META_GENESIS,
            "the genesis document",
            "nothing",
        );
        return Ok(report);
    };
    let genesis = match Genesis::from_bytes(&g) {
        Ok(g) => g,
        Err(e) => {
            report.add(
                Column::Meta,
                schema::META_GENESIS,
                "a genesis document",
                e.to_string(),
            );
            return Ok(report);
        }
    };
    let last = store
        .get(Column::Meta, schema::META_LAST_APPLIED)?
        .and_then(|v| schema::read_be(&v).filter(|_| v.len() == 8));
    let Some(last) = last else {
        report.add(
            Column::Meta,
            schema::META_LAST_APPLIED,
            "an 8-byte height",
            "something else",
        );
        return Ok(report);
    };
    report.height = Height(last);
    // The state tree is flushed where the database flushed it (tree.rs), so that the
    // StateTree column and the snapshot records compare key by key.
    let snapshots: BTreeSet<Height> = tree::snapshot_heights(store.as_ref())?
        .into_iter()
        .collect();
    let never = LedgerConfig {
        tree_flush_blocks: u64::MAX,
        tree_flush_changes: u64::MAX,
        ..LedgerConfig::default()
    };
    let replay = Ledger::open_with(scratch.clone(), &genesis, never)?;
    for h in 1..=last {
        match replay_block(store.as_ref(), &replay, Height(h), &mut report) {
            Ok(true) => report.blocks_replayed += 1,
            Ok(false) => break,
            Err(e) => return Err(e),
        }
        if snapshots.contains(&Height(h)) {
            replay.flush_tree()?;
        }
    }
    let indexed_log_size = rebuild_index(store.as_ref(), &replay, Height(last), &mut report)?;
    for col in Column::ALL {
        if col == Column::Meta {
            // Meta also holds the store's own keys (schema version): compare the ledger's.
            let mut keys: Vec<Vec<u8>> = vec![
                schema::META_GENESIS.to_vec(),
                schema::META_LAST_APPLIED.to_vec(),
                crate::META_GENESIS_ROOT.to_vec(),
                crate::META_INDEXED_HEIGHT.to_vec(),
                tree::META_TREE_FLUSHED.to_vec(),
            ];
            keys.extend(snapshots.iter().map(|h| tree::snapshot_key(*h)));
            for k in &keys {
                let (f, e) = (store.get(col, k)?, scratch.get(col, k)?);
                report.entries_compared += 1;
                if f != e {
                    let show =
                        |v: &Option<Vec<u8>>| v.as_deref().map(short).unwrap_or("no entry".into());
                    report.add(col, k, show(&e), show(&f));
                }
            }
            continue;
        }
        let beyond = (col == Column::Index).then_some(indexed_log_size).flatten();
        compare_column(store.as_ref(), scratch.as_ref(), col, beyond, &mut report)?;
    }
    Ok(report)
}

/// Index the replayed ledger as far as the checked database says its index goes (its
/// `indexed_height`, which must not exceed the last applied height `last`). Returns the
/// log size at that height: index entries of later log indexes are beyond it (`None`: no
/// index claimed, every entry is beyond).
fn rebuild_index(
    store: &dyn Store,
    replay: &Ledger,
    last: Height,
    report: &mut CheckReport,
) -> Result<Option<u64>, LedgerError> {
    let k = crate::META_INDEXED_HEIGHT;
    let indexed = match store.get(Column::Meta, k)? {
        None => None,
        Some(v) => match schema::read_be(&v).filter(|_| v.len() == 8) {
            Some(h) => Some(Height(h)),
            None => {
                report.add(Column::Meta, k, "an 8-byte height", short(&v));
                return Ok(Some(0));
            }
        },
    };
    if let Some(h) = indexed.filter(|h| *h > last) {
        report.add(
            Column::Meta,
            k,
            format!("an indexed height at most the last applied height {last}"),
            format!("indexed height {h}"),
        );
    }
    replay.index_up_to(indexed)?;
    Ok(match replay.indexed_height()? {
        None => None,
        Some(h) if h == replay.tip().height => Some(replay.tip().log_size),
        Some(Height(0)) => Some(0),
        Some(h) => replay.header(h)?.map(|(hd, _)| hd.log_size),
    })
}

/// Replay one block; `false` (with a problem recorded) if it cannot be replayed.
fn replay_block(
    store: &dyn Store,
    replay: &Ledger,
    h: Height,
    report: &mut CheckReport,
) -> Result<bool, LedgerError> {
    let k = schema::be(h.0);
    let Some((sb, cert)) = stored_block(store, replay, h, report)? else {
        return Ok(false);
    };
    let Some(entries) = stored_entries(replay.suite(), store, &sb, report)? else {
        return Ok(false);
    };
    let block = Block {
        header: sb.header.clone(),
        txs: entries.iter().map(|e| e.tx.clone()).collect(),
    };
    let descendants = stored_descendants(replay.suite(), store, h, &sb, &cert)?;
    match replay.apply_by_descendant(&block, &cert, &descendants) {
        Ok(applied) => {
            for (i, (e, o)) in entries.iter().zip(&applied.outcomes).enumerate() {
                if e.outcome != *o || e.height != h || e.time != sb.header.time {
                    report.add(
                        Column::Log,
                        &schema::be(sb.first_index + i as u64),
                        format!("outcome {o:?} at height {h}"),
                        format!("outcome {:?} at height {}", e.outcome, e.height),
                    );
                }
            }
            Ok(true)
        }
        Err(e) => {
            let col = match e {
                LedgerError::Certificate(_) => Column::Certs,
                _ => Column::Blocks,
            };
            report.add(
                col,
                &k,
                "a block that re-executes to its header",
                e.to_string(),
            );
            Ok(false)
        }
    }
}

/// The stored block at `h` and its stored certificate, if both decode and the block
/// starts where the replayed log ends; otherwise `None`, with the problem recorded.
fn stored_block(
    store: &dyn Store,
    replay: &Ledger,
    h: Height,
    report: &mut CheckReport,
) -> Result<Option<(StoredBlock, Certificate)>, LedgerError> {
    let k = schema::be(h.0);
    let Some(v) = store.get(Column::Blocks, &k)? else {
        report.add(Column::Blocks, &k, "a block", "nothing");
        return Ok(None);
    };
    let sb: StoredBlock = match codec::decode_in(replay.suite(), &v) {
        Ok(sb) => sb,
        Err(e) => {
            report.add(Column::Blocks, &k, "a stored block", e.to_string());
            return Ok(None);
        }
    };
    let log_size = replay.tip().log_size;
    if sb.first_index != log_size {
        report.add(
            Column::Blocks,
            &k,
            format!("first log index {log_size}"),
            format!("first log index {}", sb.first_index),
        );
        return Ok(None);
    }
    let Some(c) = store.get(Column::Certs, &k)? else {
        report.add(Column::Certs, &k, "a certificate", "nothing");
        return Ok(None);
    };
    match codec::decode_in(replay.suite(), &c) {
        Ok(cert) => Ok(Some((sb, cert))),
        Err(e) => {
            report.add(Column::Certs, &k, "a certificate", e.to_string());
            Ok(None)
        }
    }
}

/// The block's log entries, each checked against its leaf hash in the stored level-0 log
/// tile (which names the exact entry that was corrupted); `None` if one is missing or does
/// not decode, with the problem recorded.
fn stored_entries(
    suite: chancery_core::suite::Suite,
    store: &dyn Store,
    sb: &StoredBlock,
    report: &mut CheckReport,
) -> Result<Option<Vec<LogEntry>>, LedgerError> {
    let mut entries: Vec<LogEntry> = Vec::with_capacity(sb.header.tx_count as usize);
    // The level-0 tile of the entries being read: (tile index, stored value).
    let mut tile: Option<(u64, Option<Vec<u8>>)> = None;
    for i in 0..u64::from(sb.header.tx_count) {
        let index = sb.first_index + i;
        let lk = schema::be(index);
        let Some(v) = store.get(Column::Log, &lk)? else {
            report.add(Column::Log, &lk, "a log entry", "nothing");
            return Ok(None);
        };
        let tile_index = index / TILE_WIDTH as u64;
        if tile.as_ref().map(|(n, _)| *n) != Some(tile_index) {
            let value = store.get(Column::LogTree, &logtree::tile_key(0, tile_index))?;
            tile = Some((tile_index, value));
        }
        let at = (index % TILE_WIDTH as u64) as usize * 32;
        let leaf = tile
            .as_ref()
            .and_then(|(_, v)| v.as_deref())
            .and_then(|v| v.get(at..at + 32));
        let got = logtree::leaf_hash(suite, &v);
        if leaf != Some(got.as_bytes().as_slice()) {
            report.add(
                Column::Log,
                &lk,
                format!(
                    "an entry with leaf hash {}",
                    leaf.map(short).unwrap_or_default()
                ),
                format!("an entry with leaf hash {got}"),
            );
        }
        match codec::decode_in::<schema::RawLogEntry>(suite, &v) {
            Ok(e) => entries.push(e.0),
            Err(e) => {
                report.add(Column::Log, &lk, "a log entry", e.to_string());
                return Ok(None);
            }
        }
    }
    Ok(Some(entries))
}

/// For a block finalized by a descendant's certificate: the stored headers from its child
/// up to the certified block (at most [`DESCENDANTS_MAX`]), as the live node had them.
/// Empty if the certificate is the block's own.
fn stored_descendants(
    suite: chancery_core::suite::Suite,
    store: &dyn Store,
    h: Height,
    sb: &StoredBlock,
    cert: &Certificate,
) -> Result<Vec<BlockHeader>, LedgerError> {
    let mut descendants = Vec::new();
    if cert.block == sb.header.hash(suite) {
        return Ok(descendants);
    }
    let mut at = (h, sb.header.is_boundary());
    while descendants.len() < DESCENDANTS_MAX {
        if at.1 {
            // A boundary's certificate signs the last of its suffix headers (never
            // applied, stored with it): the descendants end there.
            let k = schema::suffix_key(at.0);
            if let Some(v) = store.get(Column::Meta, &k)? {
                if let Ok(s) = codec::decode_in::<schema::StoredSuffix>(suite, &v) {
                    descendants.extend(s.0);
                }
            }
            break;
        }
        let next = at.0.next();
        let Some(v) = store.get(Column::Blocks, &schema::be(next.0))? else {
            break;
        };
        let Ok(d) = codec::decode_in::<StoredBlock>(suite, &v) else {
            break;
        };
        let done = d.header.hash(suite) == cert.block;
        at = (next, d.header.is_boundary());
        descendants.push(d.header);
        if done {
            break;
        }
    }
    Ok(descendants)
}

type Row = (Vec<u8>, Vec<u8>);

struct Scanner<'a> {
    store: &'a dyn Store,
    col: Column,
    from: Vec<u8>,
    buf: VecDeque<Row>,
    done: bool,
}

impl<'a> Scanner<'a> {
    fn new(store: &'a dyn Store, col: Column) -> Self {
        Scanner {
            store,
            col,
            from: Vec::new(),
            buf: VecDeque::new(),
            done: false,
        }
    }

    fn peek(&mut self) -> Result<Option<&Row>, LedgerError> {
        if self.buf.is_empty() && !self.done {
            let rows = self
                .store
                .scan(self.col, &self.from, None, false, CHUNK_ENTRIES)?;
            self.done = rows.len() < CHUNK_ENTRIES;
            if let Some((k, _)) = rows.last() {
                self.from = k.clone();
                self.from.push(0);
            }
            self.buf.extend(rows);
        }
        Ok(self.buf.front())
    }

    fn pop(&mut self) -> Option<Row> {
        self.buf.pop_front()
    }
}

/// Compare one column key by key. For the index, `indexed_log_size` is the log size at the
/// indexed height: an extra entry of a later log index is reported as beyond it.
fn compare_column(
    found: &dyn Store,
    expected: &dyn Store,
    col: Column,
    indexed_log_size: Option<u64>,
    report: &mut CheckReport,
) -> Result<(), LedgerError> {
    let mut f = Scanner::new(found, col);
    let mut e = Scanner::new(expected, col);
    loop {
        let fk = f.peek()?.map(|(k, _)| k.clone());
        let ek = e.peek()?.map(|(k, _)| k.clone());
        if fk.is_none() && ek.is_none() {
            return Ok(());
        }
        report.entries_compared += 1;
        let ord = match (&fk, &ek) {
            (Some(a), Some(b)) => a.cmp(b),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match ord {
            std::cmp::Ordering::Equal => {
                if let (Some((k, fv)), Some((_, ev))) = (f.pop(), e.pop()) {
                    if fv != ev && col == Column::LogTree {
                        let (e, f) = tile_difference(&k, &ev, &fv);
                        report.add(col, &k, e, f);
                    } else if fv != ev {
                        report.add(col, &k, short(&ev), short(&fv));
                    }
                }
            }
            std::cmp::Ordering::Less => {
                if let Some((k, fv)) = f.pop() {
                    let index = k
                        .len()
                        .checked_sub(8)
                        .and_then(|at| schema::read_be(&k[at..]));
                    let beyond = match (col, index, indexed_log_size) {
                        (Column::Index, Some(i), size) if i != schema::GENESIS_INDEX => {
                            size.is_none_or(|s| i >= s)
                        }
                        (Column::Index, Some(_), None) => true,
                        _ => false,
                    };
                    let expected = if beyond {
                        "no entry (its log index is beyond the indexed height)"
                    } else {
                        "no entry"
                    };
                    report.add(col, &k, expected, short(&fv));
                }
            }
            std::cmp::Ordering::Greater => {
                if let Some((k, ev)) = e.pop() {
                    report.add(col, &k, short(&ev), "no entry");
                }
            }
        }
    }
}

/// A log tile that differs from the one replayed from the log, named: its level, index and
/// width, and the first hash that differs.
fn tile_difference(key: &[u8], expected: &[u8], found: &[u8]) -> (String, String) {
    let name = match key {
        [level, index @ ..] => match <[u8; 8]>::try_from(index) {
            Ok(i) => format!("log tile level {level} index {}", u64::from_be_bytes(i)),
            Err(_) => "log tile with a malformed key".to_string(),
        },
        [] => "log tile with an empty key".to_string(),
    };
    let first = expected
        .chunks(32)
        .zip(found.chunks(32))
        .position(|(e, f)| e != f)
        .unwrap_or(expected.len().min(found.len()) / 32);
    let hash_at = |v: &[u8]| {
        v.get(first * 32..(first * 32 + 32).min(v.len()))
            .map(hex::encode)
            .unwrap_or_else(|| "nothing".to_string())
    };
    let describe = |v: &[u8]| {
        let width = if v.len() % 32 == 0 {
            format!("width {}", v.len() / 32)
        } else {
            format!("{} bytes, not whole 32-byte hashes", v.len())
        };
        format!("{name} ({width}) with hash {first} = {}", hash_at(v))
    };
    (describe(expected), describe(found))
}
