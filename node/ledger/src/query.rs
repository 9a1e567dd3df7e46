//! Queries: point lookups and index scans with cursor pagination.
//!
//! The index is built after the blocks by the indexer (`indexer.rs`) and answers as of
//! [`Ledger::indexed_height`]: index queries skip entries of later heights and check their
//! candidates against the state as of that height (an [`IndexView`] taken once per call),
//! so a client sees the ledger of one height, a little behind the tip while the indexer
//! lags. Point lookups (a transaction, a block, an object's current state) read the tip.
//!
//! Index entries are append-only (the store never deletes), so an entry can be stale: an
//! award indexed under its old amount after an amendment. Filtered queries therefore check
//! every candidate against the state and report each object once. A page scans at
//! most `SCAN_PER_PAGE_MAX` index entries; when that budget runs out it returns what it
//! found with a cursor to continue from, so one call's work is bounded.

use crate::explore::award_matches;
use crate::indexer::IndexView;
use crate::schema::{self, ix, KeyBuf, TxLoc};
use crate::{corrupt, decode_at, Ledger, LedgerError};
use chancery_core::block::{Block, LogEntry};
use chancery_core::cert::Certificate;
use chancery_core::record::{AwardStatus, RecordKind};
use chancery_core::state::{
    AssetState, AwardState, ComplianceState, ComplianceSubject, ContractState, GrantState,
    MemberState, StateKey, StateValue, TenderState,
};
use chancery_core::{AgencyId, Amount, Date, Height, PublicKey, TimestampMs, TxHash};
use chancery_storage::Column;
use serde::{Deserialize, Serialize};

/// An award's identity: (ocid, award id).
pub type AwardKey = (String, String);

/// Default and largest page size.
pub const PAGE_SIZE_MAX: usize = 1000;
/// Most occurrences of one transaction hash [`Ledger::tx`] looks at.
pub const TX_OCCURRENCES_MAX: usize = 64;
/// Key prefix, in the `Meta` column, of the evidence of equivocation the consensus driver
/// stores (the rest of the key identifies the evidence; the value is its canonical
/// encoding, which this crate does not decode: the consensus crate does).
pub const EVIDENCE_KEY_PREFIX: &[u8] = b"consensus/evidence/";
/// Largest stored evidence record this layer returns, in bytes (a larger one is skipped
/// as not evidence).
pub const EVIDENCE_BYTES_MAX: usize = 64 * 1024;

/// One stored evidence record: the key after [`EVIDENCE_KEY_PREFIX`] and the stored bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceRecord {
    /// The key after the prefix (the evidence's id, hex in the API).
    pub id: Vec<u8>,
    /// The stored value (canonical encoding of the consensus crate's `Evidence`).
    pub bytes: Vec<u8>,
}

/// Most index entries one page may scan, as a multiple of the page size.
const SCAN_PER_PAGE_MAX: usize = 8;

/// One page of results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// Items.
    pub items: Vec<T>,
    /// Pass this to get the next page; `None` at the end.
    pub next: Option<String>,
}

/// A transaction with where it is in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxRecord {
    /// Its hash.
    pub hash: TxHash,
    /// Log index.
    pub index: u64,
    /// The log entry (height, time, transaction, outcome).
    pub entry: LogEntry,
}

/// Filters for [`Ledger::awards`]; all given conditions must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwardFilter {
    /// Purchasing agency.
    pub purchaser: Option<AgencyId>,
    /// A supplier's unified social credit code.
    pub supplier_code: Option<String>,
    /// A supplier's exact name.
    pub supplier_name: Option<String>,
    /// Award date on or after.
    pub date_from: Option<Date>,
    /// Award date on or before.
    pub date_until: Option<Date>,
    /// Current value at least (same currency).
    pub amount_min: Option<Amount>,
    /// Current value at most (same currency).
    pub amount_max: Option<Amount>,
    /// Current status.
    pub status: Option<AwardStatus>,
}

/// A grant's status at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    /// Within its dates and not revoked.
    Active,
    /// Before its first day.
    NotYetValid,
    /// After its last day.
    Expired,
    /// Revoked by the grantor.
    Revoked,
}

impl GrantStatus {
    /// The status of `g` at block time `t`.
    pub fn of(g: &GrantState, t: TimestampMs) -> GrantStatus {
        if g.revoked {
            GrantStatus::Revoked
        } else if g.is_active_at(t) {
            GrantStatus::Active
        } else if t < g.valid_from.start_ms() {
            GrantStatus::NotYetValid
        } else {
            GrantStatus::Expired
        }
    }
}

/// Filters for [`Ledger::grants`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantFilter {
    /// Dataset id.
    pub dataset: Option<String>,
    /// Grantee agency.
    pub grantee: Option<AgencyId>,
    /// Grantor agency.
    pub grantor: Option<AgencyId>,
    /// Status at `at`.
    pub status: Option<GrantStatus>,
    /// Time for the status (default: the time of the indexed block).
    pub at: Option<TimestampMs>,
}

/// How the field before the object id in an index key is laid out.
#[derive(Clone, Copy)]
enum Field {
    /// A NUL-terminated string.
    Str,
    /// Fixed width.
    Fixed(usize),
}

/// Split NUL-terminated strings off `b`.
fn take_str(b: &[u8]) -> Option<(String, &[u8])> {
    let n = b.iter().position(|c| *c == 0)?;
    Some((String::from_utf8(b[..n].to_vec()).ok()?, &b[n + 1..]))
}

fn skip_field(b: &[u8], f: Field) -> Option<&[u8]> {
    match f {
        Field::Str => take_str(b).map(|(_, r)| r),
        Field::Fixed(n) => b.get(n..),
    }
}

fn date_bytes(d: Date) -> [u8; 4] {
    [(d.year >> 8) as u8, d.year as u8, d.month, d.day]
}

impl Ledger {
    /// Stored evidence of equivocation, by id, `limit` at a time; the cursor is the last
    /// id of the previous page (hex).
    pub fn evidence_records(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<EvidenceRecord>, LedgerError> {
        let limit = self.page_limit(limit)?;
        let end = schema::prefix_end(EVIDENCE_KEY_PREFIX);
        let mut start = EVIDENCE_KEY_PREFIX.to_vec();
        if let Some(c) = cursor {
            let id = hex::decode(c).map_err(|_| LedgerError::BadCursor(c.to_string()))?;
            start.extend_from_slice(&id);
            start.push(0);
        }
        // One more than a page, to know whether another page follows.
        let mut rows = self
            .store
            .scan(Column::Meta, &start, end.as_deref(), false, limit + 1)?;
        let full = rows.len() > limit;
        rows.truncate(limit);
        let mut items = Vec::with_capacity(rows.len());
        let mut last = None;
        for (k, v) in rows {
            let id = k[EVIDENCE_KEY_PREFIX.len().min(k.len())..].to_vec();
            last = Some(hex::encode(&id));
            if v.len() <= EVIDENCE_BYTES_MAX {
                items.push(EvidenceRecord { id, bytes: v });
            }
        }
        Ok(Page {
            items,
            next: if full { last } else { None },
        })
    }

    /// One stored evidence record by its id (the key after [`EVIDENCE_KEY_PREFIX`]).
    pub fn evidence_record(&self, id: &[u8]) -> Result<Option<EvidenceRecord>, LedgerError> {
        let mut k = EVIDENCE_KEY_PREFIX.to_vec();
        k.extend_from_slice(id);
        Ok(self
            .store
            .get(Column::Meta, &k)?
            .filter(|v| v.len() <= EVIDENCE_BYTES_MAX)
            .map(|bytes| EvidenceRecord {
                id: id.to_vec(),
                bytes,
            }))
    }

    fn page_limit(&self, limit: usize) -> Result<usize, LedgerError> {
        if limit > self.config.page_size_max {
            return Err(LedgerError::PageTooLarge {
                max: self.config.page_size_max,
                found: limit,
            });
        }
        Ok(limit.max(1))
    }

    /// Scan index keys in `[start, end)` after `cursor`; `f` maps a key to an item (or
    /// skips it). With `dedupe`, keys equal but for the trailing log index give one item.
    /// Keys beyond `view` are skipped (they count towards the scan budget).
    #[allow(clippy::too_many_arguments)]
    fn scan_index<T>(
        &self,
        view: &IndexView,
        start: Vec<u8>,
        end: Option<Vec<u8>>,
        cursor: Option<&str>,
        limit: usize,
        dedupe: bool,
        mut f: impl FnMut(&[u8]) -> Result<Option<T>, LedgerError>,
    ) -> Result<Page<T>, LedgerError> {
        let limit = self.page_limit(limit)?;
        let mut from = start.clone();
        let mut last_identity: Option<Vec<u8>> = None;
        if let Some(c) = cursor {
            let k = hex::decode(c).map_err(|_| LedgerError::BadCursor(c.to_string()))?;
            if k < start || end.as_ref().is_some_and(|e| k >= *e) {
                return Err(LedgerError::BadCursor(c.to_string()));
            }
            if dedupe && k.len() >= 8 {
                last_identity = Some(k[..k.len() - 8].to_vec());
            }
            from = k;
            from.push(0);
        }
        let mut items = Vec::new();
        let mut scanned = 0usize;
        let budget = limit.saturating_mul(SCAN_PER_PAGE_MAX);
        loop {
            let chunk = (limit * 2).min(budget - scanned).max(1);
            let rows = self
                .store
                .scan(Column::Index, &from, end.as_deref(), false, chunk)?;
            let exhausted = rows.len() < chunk;
            for (k, _) in rows {
                scanned += 1;
                let identity = k[..k.len().saturating_sub(8)].to_vec();
                let dup = dedupe && last_identity.as_ref() == Some(&identity);
                if !dup && view.shows_key(&k) {
                    if let Some(item) = f(&k)? {
                        items.push(item);
                        last_identity = Some(identity);
                    }
                }
                from = k;
                from.push(0);
                if items.len() == limit || scanned >= budget {
                    let mut c = from.clone();
                    c.pop();
                    return Ok(Page {
                        items,
                        next: Some(hex::encode(c)),
                    });
                }
            }
            if exhausted {
                return Ok(Page { items, next: None });
            }
        }
    }

    fn records(
        &self,
        prefix: Vec<u8>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TxRecord>, LedgerError> {
        let end = schema::prefix_end(&prefix);
        let view = self.index_view()?;
        self.scan_index(&view, prefix, end, cursor, limit, false, |k| {
            let index = schema::read_be(&k[k.len().saturating_sub(8)..])
                .ok_or_else(|| corrupt(Column::Index, k, "short key"))?;
            self.record_at(index)
        })
    }

    fn record_at(&self, index: u64) -> Result<Option<TxRecord>, LedgerError> {
        Ok(self.log_entry(index)?.map(|entry| TxRecord {
            hash: entry.tx.hash(),
            index,
            entry,
        }))
    }

    /// The log entry at `index`.
    pub fn log_entry(&self, index: u64) -> Result<Option<LogEntry>, LedgerError> {
        let k = schema::be(index);
        match self.store.get(Column::Log, &k)? {
            None => Ok(None),
            Some(v) => Ok(Some(
                decode_at::<schema::RawLogEntry>(self.suite(), Column::Log, &k, &v)?.0,
            )),
        }
    }

    /// The latest `max` occurrences of a transaction in the log, oldest first.
    pub(crate) fn tx_occurrences(
        &self,
        hash: &TxHash,
        max: usize,
    ) -> Result<Vec<TxLoc>, LedgerError> {
        let end = schema::prefix_end(hash.as_bytes());
        let rows = self
            .store
            .scan(Column::TxIndex, hash.as_bytes(), end.as_deref(), true, max)?;
        let mut out = Vec::with_capacity(rows.len());
        for (k, v) in rows.into_iter().rev() {
            let loc: TxLoc = decode_at(self.suite(), Column::TxIndex, &k, &v)?;
            if schema::read_be(&k[32..]) != Some(loc.index) {
                return Err(corrupt(
                    Column::TxIndex,
                    &k,
                    "key and value disagree on the log index",
                ));
            }
            out.push(loc);
        }
        Ok(out)
    }

    /// A transaction by hash: the occurrence where it was applied, or else its latest
    /// (rejected) occurrence. Looks at the latest `TX_OCCURRENCES_MAX` occurrences.
    pub fn tx(&self, hash: &TxHash) -> Result<Option<TxRecord>, LedgerError> {
        let occ = self.tx_occurrences(hash, TX_OCCURRENCES_MAX)?;
        let Some(loc) = occ
            .iter()
            .find(|l| l.outcome == chancery_core::block::Outcome::Applied)
            .or(occ.last())
            .copied()
        else {
            return Ok(None);
        };
        let rec = self
            .record_at(loc.index)?
            .ok_or_else(|| corrupt(Column::Log, &schema::be(loc.index), "missing entry"))?;
        if rec.hash != *hash || rec.entry.height != loc.height {
            return Err(corrupt(
                Column::Log,
                &schema::be(loc.index),
                format!("entry has hash {} at height {}", rec.hash, rec.entry.height),
            ));
        }
        Ok(Some(rec))
    }

    /// Does `cert` certify a stored descendant of the block at `height` (a block finalized
    /// together with a later one)? Follows at most 64 later heights.
    fn finalizes_descendant(
        &self,
        height: Height,
        cert: &Certificate,
    ) -> Result<bool, LedgerError> {
        let mut h = height;
        for _ in 0..64 {
            // A boundary finalized through suffix blocks keeps their headers (R13).
            if self
                .block_suffix(h)?
                .last()
                .is_some_and(|s| s.hash(self.genesis.crypto) == cert.block)
            {
                return Ok(true);
            }
            h = h.next();
            match self.stored_block(h)? {
                Some(sb) if sb.header.hash(self.genesis.crypto) == cert.block => return Ok(true),
                Some(_) => continue,
                None => return Ok(false),
            }
        }
        Ok(false)
    }

    /// The header of the block at `height` as stored (no transactions read), with the log
    /// index of its first transaction.
    pub fn header(
        &self,
        height: Height,
    ) -> Result<Option<(chancery_core::block::BlockHeader, u64)>, LedgerError> {
        Ok(self
            .stored_block(height)?
            .map(|sb| (sb.header, sb.first_index)))
    }

    /// A block and its finalization certificate (its own, or a descendant's that finalized
    /// it too); the transactions' hash is re-checked against the header.
    pub fn block(&self, height: Height) -> Result<Option<(Block, Certificate)>, LedgerError> {
        let Some(sb) = self.stored_block(height)? else {
            return Ok(None);
        };
        let mut txs = Vec::with_capacity(sb.header.tx_count as usize);
        for i in 0..u64::from(sb.header.tx_count) {
            let index = sb.first_index + i;
            let e = self
                .log_entry(index)?
                .ok_or_else(|| corrupt(Column::Log, &schema::be(index), "missing entry"))?;
            txs.push(e.tx);
        }
        let got = chancery_core::block::txs_hash(self.genesis.crypto, txs.iter().map(|t| t.hash()));
        let k = schema::be(height.0);
        if got != sb.header.txs_hash {
            return Err(corrupt(
                Column::Log,
                &k,
                format!(
                    "transactions hash to {got}, header says {}",
                    sb.header.txs_hash
                ),
            ));
        }
        let c = self
            .store
            .get(Column::Certs, &k)?
            .ok_or_else(|| corrupt(Column::Certs, &k, "missing certificate"))?;
        let cert: Certificate = decode_at(self.suite(), Column::Certs, &k, &c)?;
        if cert.block != sb.header.hash(self.genesis.crypto)
            && !self.finalizes_descendant(height, &cert)?
        {
            return Err(corrupt(
                Column::Certs,
                &k,
                "certificate is neither for this block nor for a stored descendant",
            ));
        }
        Ok(Some((
            Block {
                header: sb.header,
                txs,
            },
            cert,
        )))
    }

    /// An asset's state as the index sees it.
    fn asset_in(&self, view: &IndexView, id: &str) -> Result<Option<AssetState>, LedgerError> {
        Ok(
            match self.value_in(view, &StateKey::Asset(id.to_string()))? {
                Some(StateValue::Asset(a)) => Some(a),
                _ => None,
            },
        )
    }

    /// An award's state as the index sees it.
    pub(crate) fn award_in(
        &self,
        view: &IndexView,
        ocid: &str,
        award_id: &str,
    ) -> Result<Option<AwardState>, LedgerError> {
        let key = StateKey::Award(ocid.to_string(), award_id.to_string());
        Ok(match self.value_in(view, &key)? {
            Some(StateValue::Award(a)) => Some(a),
            _ => None,
        })
    }

    /// A grant's state as the index sees it.
    fn grant_in(&self, view: &IndexView, id: &str) -> Result<Option<GrantState>, LedgerError> {
        Ok(
            match self.value_in(view, &StateKey::Grant(id.to_string()))? {
                Some(StateValue::Grant(g)) => Some(g),
                _ => None,
            },
        )
    }

    /// A member's state as the index sees it.
    fn member_in(
        &self,
        view: &IndexView,
        key: &PublicKey,
    ) -> Result<Option<MemberState>, LedgerError> {
        Ok(match self.value_in(view, &StateKey::Member(*key))? {
            Some(StateValue::Member(m)) => Some(m),
            _ => None,
        })
    }

    /// Current state of an asset.
    pub fn asset(&self, id: &str) -> Result<Option<AssetState>, LedgerError> {
        Ok(match self.state_value(&StateKey::Asset(id.to_string()))? {
            Some(StateValue::Asset(a)) => Some(a),
            _ => None,
        })
    }

    /// Current state of an award.
    pub fn award(&self, ocid: &str, award_id: &str) -> Result<Option<AwardState>, LedgerError> {
        Ok(
            match self.state_value(&StateKey::Award(ocid.to_string(), award_id.to_string()))? {
                Some(StateValue::Award(a)) => Some(a),
                _ => None,
            },
        )
    }

    /// Current state of a grant.
    pub fn grant(&self, id: &str) -> Result<Option<GrantState>, LedgerError> {
        Ok(match self.state_value(&StateKey::Grant(id.to_string()))? {
            Some(StateValue::Grant(g)) => Some(g),
            _ => None,
        })
    }

    /// Current state of a member key.
    pub fn member(&self, key: &PublicKey) -> Result<Option<MemberState>, LedgerError> {
        Ok(match self.state_value(&StateKey::Member(*key))? {
            Some(StateValue::Member(m)) => Some(m),
            _ => None,
        })
    }

    /// Records about an asset (register, transfers, disposal, anchored documents), oldest first.
    pub fn asset_history(
        &self,
        id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TxRecord>, LedgerError> {
        let p = KeyBuf::new(ix::SUBJECT).b(&[ix::CLASS_ASSET]).s(id).done();
        self.records(p, cursor, limit)
    }

    /// Records about an award (award, amendments, cancellation, documents), oldest first.
    pub fn award_history(
        &self,
        ocid: &str,
        award_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TxRecord>, LedgerError> {
        let p = KeyBuf::new(ix::SUBJECT)
            .b(&[ix::CLASS_AWARD])
            .s(ocid)
            .s(award_id)
            .done();
        self.records(p, cursor, limit)
    }

    /// Every record of a contracting process (tender, awards, contracts, implementation,
    /// amendments, cancellations), oldest first.
    pub fn process_history(
        &self,
        ocid: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TxRecord>, LedgerError> {
        let p = KeyBuf::new(ix::SUBJECT)
            .b(&[ix::CLASS_PROCESS])
            .s(ocid)
            .done();
        self.records(p, cursor, limit)
    }

    /// Records about a contract (signature, amendments, milestones, payments,
    /// termination), oldest first.
    pub fn contract_history(
        &self,
        ocid: &str,
        contract_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TxRecord>, LedgerError> {
        let p = KeyBuf::new(ix::SUBJECT)
            .b(&[ix::CLASS_CONTRACT])
            .s(ocid)
            .s(contract_id)
            .done();
        self.records(p, cursor, limit)
    }

    /// Current state of a process's tender.
    pub fn tender(&self, ocid: &str) -> Result<Option<TenderState>, LedgerError> {
        Ok(
            match self.state_value(&StateKey::Tender(ocid.to_string()))? {
                Some(StateValue::Tender(t)) => Some(t),
                _ => None,
            },
        )
    }

    /// Current state of a contract.
    pub fn contract(
        &self,
        ocid: &str,
        contract_id: &str,
    ) -> Result<Option<ContractState>, LedgerError> {
        let key = StateKey::Contract(ocid.to_string(), contract_id.to_string());
        Ok(match self.state_value(&key)? {
            Some(StateValue::Contract(c)) => Some(c),
            _ => None,
        })
    }

    /// The limit-standard assessment of a tender, award or contract, if one was made.
    pub fn compliance(
        &self,
        subject: &ComplianceSubject,
    ) -> Result<Option<ComplianceState>, LedgerError> {
        Ok(
            match self.state_value(&StateKey::Compliance(subject.clone()))? {
                Some(StateValue::Compliance(c)) => Some(c),
                _ => None,
            },
        )
    }

    /// The procurement limit standards in force (empty: none).
    pub fn procurement_limits(
        &self,
    ) -> Result<chancery_core::procurement::ProcurementLimits, LedgerError> {
        Ok(match self.state_value(&StateKey::ProcurementLimits)? {
            Some(StateValue::ProcurementLimits(l)) => l,
            _ => Default::default(),
        })
    }

    /// Records about a grant, oldest first.
    pub fn grant_history(
        &self,
        id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TxRecord>, LedgerError> {
        let p = KeyBuf::new(ix::SUBJECT).b(&[ix::CLASS_GRANT]).s(id).done();
        self.records(p, cursor, limit)
    }

    /// Applied records signed by members of `agency`, oldest first.
    pub fn records_by_agency(
        &self,
        agency: &AgencyId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TxRecord>, LedgerError> {
        self.records(
            KeyBuf::new(ix::AGENCY).s(agency.as_str()).done(),
            cursor,
            limit,
        )
    }

    /// Applied records of one kind with block time in `[from, until)`, oldest first.
    pub fn records_by_kind(
        &self,
        kind: RecordKind,
        from: TimestampMs,
        until: TimestampMs,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TxRecord>, LedgerError> {
        let p = KeyBuf::new(ix::KIND_TIME).b(&[kind as u8]);
        let start = p.clone().n(from.0).done();
        let end = p.n(until.0).done();
        let view = self.index_view()?;
        self.scan_index(&view, start, Some(end), cursor, limit, false, |k| {
            let index = schema::read_be(&k[k.len().saturating_sub(8)..])
                .ok_or_else(|| corrupt(Column::Index, k, "short key"))?;
            self.record_at(index)
        })
    }

    /// Members of an agency (revoked ones included), by key, as of the indexed height.
    pub fn members(
        &self,
        agency: &AgencyId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<(PublicKey, MemberState)>, LedgerError> {
        let p = KeyBuf::new(ix::MEMBER_AGENCY).s(agency.as_str()).done();
        let end = schema::prefix_end(&p);
        let n = p.len();
        let view = self.index_view()?;
        self.scan_index(&view, p, end, cursor, limit, true, |k| {
            let suite = self.genesis.crypto;
            let key = k
                .get(n..n + PublicKey::len_of(suite))
                .and_then(|b| PublicKey::from_slice(suite, b).ok())
                .ok_or_else(|| corrupt(Column::Index, k, "bad member key"))?;
            Ok(self
                .member_in(&view, &key)?
                .filter(|m| m.agency == *agency)
                .map(|m| (key, m)))
        })
    }

    /// Assets held by an agency as of the indexed height (disposed ones included), by
    /// asset id.
    pub fn assets_by_custodian(
        &self,
        agency: &AgencyId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<(String, AssetState)>, LedgerError> {
        let p = KeyBuf::new(ix::ASSET_CUSTODIAN).s(agency.as_str()).done();
        let end = schema::prefix_end(&p);
        let n = p.len();
        let view = self.index_view()?;
        self.scan_index(&view, p, end, cursor, limit, true, |k| {
            let (id, _) = take_str(&k[n..]).ok_or_else(|| corrupt(Column::Index, k, "bad key"))?;
            Ok(self
                .asset_in(&view, &id)?
                .filter(|a| a.custodian == *agency)
                .map(|a| (id, a)))
        })
    }

    /// Awards matching `filter`, with their state as of the indexed height.
    pub fn awards(
        &self,
        filter: &AwardFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<(AwardKey, AwardState)>, LedgerError> {
        // The amount index keeps an entry for every value an award ever had: only the entry
        // for its current value counts, or an amended award would be listed twice.
        let mut by_amount = false;
        let (start, end, field_at) = if let Some(c) = &filter.supplier_code {
            let p = KeyBuf::new(ix::AWARD_SUPPLIER_CODE).s(c).done();
            (p.clone(), schema::prefix_end(&p), (1, Field::Str))
        } else if let Some(nm) = &filter.supplier_name {
            let p = KeyBuf::new(ix::AWARD_SUPPLIER_NAME).s(nm).done();
            (p.clone(), schema::prefix_end(&p), (1, Field::Str))
        } else if let Some(a) = &filter.purchaser {
            let p = KeyBuf::new(ix::AWARD_PURCHASER).s(a.as_str()).done();
            (p.clone(), schema::prefix_end(&p), (1, Field::Str))
        } else if let Some(cur) = filter.amount_min.or(filter.amount_max).map(|a| a.currency) {
            by_amount = true;
            let p = KeyBuf::new(ix::AWARD_AMOUNT).b(&cur.0);
            let lo = filter.amount_min.map_or(0, |a| a.minor);
            let start = p.clone().n(lo).done();
            let end = match filter.amount_max {
                Some(m) => schema::prefix_end(&p.n(m.minor).done()),
                None => schema::prefix_end(&p.done()),
            };
            (start, end, (1, Field::Fixed(11)))
        } else {
            let p = KeyBuf::new(ix::AWARD_DATE);
            let start = match filter.date_from {
                Some(d) => p.clone().b(&date_bytes(d)).done(),
                None => p.clone().done(),
            };
            let end = match filter.date_until {
                Some(d) => schema::prefix_end(&p.b(&date_bytes(d)).done()),
                None => schema::prefix_end(&p.done()),
            };
            (start, end, (1, Field::Fixed(4)))
        };
        let view = self.index_view()?;
        self.scan_index(&view, start, end, cursor, limit, true, |k| {
            let bad = || corrupt(Column::Index, k, "bad award index key");
            let rest = k.get(field_at.0..).ok_or_else(bad)?;
            let rest = skip_field(rest, field_at.1).ok_or_else(bad)?;
            let (ocid, rest) = take_str(rest).ok_or_else(bad)?;
            let (award, _) = take_str(rest).ok_or_else(bad)?;
            let Some(a) = self.award_in(&view, &ocid, &award)? else {
                return Ok(None);
            };
            if by_amount {
                let current = k.get(1..4) == Some(&a.value.currency.0[..])
                    && k.get(4..12).and_then(schema::read_be) == Some(a.value.minor);
                if !current {
                    return Ok(None);
                }
            }
            Ok(award_matches(filter, &a).then_some(((ocid, award), a)))
        })
    }

    /// Grants matching `filter`, with their state as of the indexed height (`at` defaults
    /// to that block's time).
    pub fn grants(
        &self,
        filter: &GrantFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<(String, GrantState)>, LedgerError> {
        let p = if let Some(d) = &filter.dataset {
            KeyBuf::new(ix::GRANT_DATASET).s(d).done()
        } else if let Some(a) = &filter.grantee {
            KeyBuf::new(ix::GRANT_GRANTEE).s(a.as_str()).done()
        } else if let Some(a) = &filter.grantor {
            KeyBuf::new(ix::GRANT_GRANTOR).s(a.as_str()).done()
        } else if filter.status == Some(GrantStatus::Revoked) {
            KeyBuf::new(ix::GRANT_STATUS).b(&[1]).done()
        } else {
            KeyBuf::new(ix::GRANT_STATUS).b(&[0]).done()
        };
        let view = self.index_view()?;
        let at = filter.at.unwrap_or(view.time);
        let end = schema::prefix_end(&p);
        let n = p.len();
        self.scan_index(&view, p, end, cursor, limit, true, |k| {
            let (id, _) = take_str(&k[n..]).ok_or_else(|| corrupt(Column::Index, k, "bad key"))?;
            let Some(g) = self.grant_in(&view, &id)? else {
                return Ok(None);
            };
            let ok = filter.dataset.as_ref().is_none_or(|d| *d == g.dataset_id)
                && filter.grantee.as_ref().is_none_or(|a| *a == g.grantee)
                && filter.grantor.as_ref().is_none_or(|a| *a == g.grantor)
                && filter.status.is_none_or(|s| s == GrantStatus::of(&g, at));
            Ok(ok.then_some((id, g)))
        })
    }
}
