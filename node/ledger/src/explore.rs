//! Queries for the public explorer and the OCDS export that the core query layer
//! (`query.rs`) does not offer: block headers without their transactions, runs of log
//! entries, awards in a chosen order, every record of one contracting process (ocid), and
//! the award releases of a time range across the three award kinds.
//!
//! Same rules as `query.rs`: index answers are as of [`Ledger::indexed_height`] (entries of
//! later heights skipped, candidates checked against the state as of that height); every
//! call is bounded (page size at most the ledger's
//! `page_size_max`, index scans at most `EXPLORE_SCAN_MAX` keys), cursors are opaque hex.

use crate::schema::{self, ix, KeyBuf, RawLogEntry, StoredBlock};
use crate::{corrupt, decode_at, AwardFilter, AwardKey, Ledger, LedgerError, Page, TxRecord};
use chancery_core::block::{BlockHeader, LogEntry};
use chancery_core::cert::Certificate;
use chancery_core::record::RecordKind;
use chancery_core::state::AwardState;
use chancery_core::{Currency, Height, TimestampMs};
use chancery_storage::Column;

/// Most index keys one explorer query scans before it returns what it found with a cursor.
pub const EXPLORE_SCAN_MAX: usize = 4096;

/// The order of [`Ledger::awards_ordered`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwardOrder {
    /// Award date, oldest first.
    DateAsc,
    /// Award date, newest first.
    DateDesc,
    /// Current value in one currency, smallest first.
    AmountAsc(Currency),
    /// Current value in one currency, largest first.
    AmountDesc(Currency),
}

fn take_str(b: &[u8]) -> Option<(String, &[u8])> {
    let n = b.iter().position(|c| *c == 0)?;
    Some((String::from_utf8(b[..n].to_vec()).ok()?, &b[n + 1..]))
}

fn index_of(k: &[u8]) -> Result<u64, LedgerError> {
    schema::read_be(&k[k.len().saturating_sub(8)..])
        .ok_or_else(|| corrupt(Column::Index, k, "short index key"))
}

/// Does the current state of an award satisfy every condition of `f`?
pub fn award_matches(f: &AwardFilter, a: &AwardState) -> bool {
    f.purchaser.as_ref().is_none_or(|p| *p == a.purchaser)
        && f.supplier_code
            .as_ref()
            .is_none_or(|c| a.suppliers.iter().any(|s| s.credit_code == *c))
        && f.supplier_name
            .as_ref()
            .is_none_or(|n| a.suppliers.iter().any(|s| s.name == *n))
        && f.date_from.is_none_or(|d| a.award_date >= d)
        && f.date_until.is_none_or(|d| a.award_date <= d)
        && f.amount_min
            .is_none_or(|m| a.value.currency == m.currency && a.value.minor >= m.minor)
        && f.amount_max
            .is_none_or(|m| a.value.currency == m.currency && a.value.minor <= m.minor)
        && f.status.is_none_or(|s| s == a.status)
}

impl Ledger {
    fn explore_limit(&self, limit: usize) -> Result<usize, LedgerError> {
        if limit > self.config.page_size_max {
            return Err(LedgerError::PageTooLarge {
                max: self.config.page_size_max,
                found: limit,
            });
        }
        Ok(limit.max(1))
    }

    /// The header of the block at `height` and the log index of its first transaction,
    /// without reading its transactions.
    pub fn block_header(&self, height: Height) -> Result<Option<(BlockHeader, u64)>, LedgerError> {
        Ok(self.stored_block(height)?.map(
            |StoredBlock {
                 header,
                 first_index,
             }| (header, first_index),
        ))
    }

    /// The stored finalization certificate of the block at `height` (its own or a
    /// descendant's, see [`Ledger::block`]).
    pub fn block_certificate(&self, height: Height) -> Result<Option<Certificate>, LedgerError> {
        let k = schema::be(height.0);
        match self.store.get(Column::Certs, &k)? {
            None => Ok(None),
            Some(v) => Ok(Some(decode_at(Column::Certs, &k, &v)?)),
        }
    }

    /// Up to `max` consecutive log entries starting at index `from`, with their indexes.
    pub fn log_entries(&self, from: u64, max: usize) -> Result<Vec<TxRecord>, LedgerError> {
        let max = self.explore_limit(max)?;
        let rows = self
            .store
            .scan(Column::Log, &schema::be(from), None, false, max)?;
        let mut out = Vec::with_capacity(rows.len());
        for (k, v) in rows {
            let index = schema::read_be(&k).ok_or_else(|| corrupt(Column::Log, &k, "short key"))?;
            let entry: LogEntry = decode_at::<RawLogEntry>(Column::Log, &k, &v)?.0;
            out.push(TxRecord {
                hash: entry.tx.hash(),
                index,
                entry,
            });
        }
        Ok(out)
    }

    /// Awards matching `filter`, in `order`. Scans the date or amount index (at most
    /// [`EXPLORE_SCAN_MAX`] keys a page) and checks each candidate's state as of the
    /// indexed height, so a page of a very selective filter may be short, with a cursor to
    /// go on.
    pub fn awards_ordered(
        &self,
        filter: &AwardFilter,
        order: AwardOrder,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<(AwardKey, AwardState)>, LedgerError> {
        let limit = self.explore_limit(limit)?;
        let (prefix, skip, reverse) = match order {
            AwardOrder::DateAsc => (KeyBuf::new(ix::AWARD_DATE).done(), 4, false),
            AwardOrder::DateDesc => (KeyBuf::new(ix::AWARD_DATE).done(), 4, true),
            AwardOrder::AmountAsc(c) => (KeyBuf::new(ix::AWARD_AMOUNT).b(&c.0).done(), 8, false),
            AwardOrder::AmountDesc(c) => (KeyBuf::new(ix::AWARD_AMOUNT).b(&c.0).done(), 8, true),
        };
        let end = schema::prefix_end(&prefix);
        let mut lo = prefix.clone();
        let mut hi = end.clone();
        let mut last_identity: Option<Vec<u8>> = None;
        if let Some(c) = cursor {
            let k = hex::decode(c).map_err(|_| LedgerError::BadCursor(c.to_string()))?;
            if !k.starts_with(&prefix) || k.len() < prefix.len() + 8 {
                return Err(LedgerError::BadCursor(c.to_string()));
            }
            last_identity = Some(k[..k.len() - 8].to_vec());
            if reverse {
                hi = Some(k);
            } else {
                lo = k;
                lo.push(0);
            }
        }
        let view = self.index_view()?;
        let mut items = Vec::new();
        let mut scanned = 0usize;
        loop {
            let chunk = (limit * 2).min(EXPLORE_SCAN_MAX - scanned).max(1);
            let rows = self
                .store
                .scan(Column::Index, &lo, hi.as_deref(), reverse, chunk)?;
            let exhausted = rows.len() < chunk;
            for (k, _) in rows {
                scanned += 1;
                let identity = k[..k.len().saturating_sub(8)].to_vec();
                if last_identity.as_ref() != Some(&identity) && view.shows_key(&k) {
                    let bad = || corrupt(Column::Index, &k, "bad award index key");
                    let field = k.get(prefix.len()..prefix.len() + skip).ok_or_else(bad)?;
                    let rest = &k[prefix.len() + skip..];
                    let (ocid, rest) = take_str(rest).ok_or_else(bad)?;
                    let (award, _) = take_str(rest).ok_or_else(bad)?;
                    if let Some(a) = self.award_in(&view, &ocid, &award)? {
                        // An entry written before an amendment names an old amount: skip it.
                        let current = match order {
                            AwardOrder::AmountAsc(_) | AwardOrder::AmountDesc(_) => {
                                field == schema::be(a.value.minor)
                            }
                            _ => true,
                        };
                        if current && award_matches(filter, &a) {
                            items.push(((ocid, award), a));
                            last_identity = Some(identity);
                        }
                    }
                }
                if reverse {
                    hi = Some(k.clone());
                } else {
                    lo = k.clone();
                    lo.push(0);
                }
                if items.len() == limit || scanned >= EXPLORE_SCAN_MAX {
                    return Ok(Page {
                        items,
                        next: Some(hex::encode(k)),
                    });
                }
            }
            if exhausted {
                return Ok(Page { items, next: None });
            }
        }
    }

    /// Every record about the awards of one contracting process (award, amendments,
    /// cancellation, anchored documents), by award id and then oldest first.
    pub fn ocid_records(
        &self,
        ocid: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TxRecord>, LedgerError> {
        let limit = self.explore_limit(limit)?;
        let prefix = KeyBuf::new(ix::SUBJECT)
            .b(&[ix::CLASS_AWARD])
            .s(ocid)
            .done();
        let end = schema::prefix_end(&prefix);
        let mut from = prefix.clone();
        if let Some(c) = cursor {
            let k = hex::decode(c).map_err(|_| LedgerError::BadCursor(c.to_string()))?;
            if !k.starts_with(&prefix) {
                return Err(LedgerError::BadCursor(c.to_string()));
            }
            from = k;
            from.push(0);
        }
        let view = self.index_view()?;
        let rows = self
            .store
            .scan(Column::Index, &from, end.as_deref(), false, limit)?;
        let full = rows.len() == limit;
        let mut items = Vec::with_capacity(rows.len());
        let mut last = None;
        for (k, _) in rows {
            let index = index_of(&k)?;
            if !view.shows(index) {
                last = Some(k);
                continue;
            }
            if let Some(r) = self
                .log_entries(index, 1)?
                .pop()
                .filter(|r| r.index == index)
            {
                items.push(r);
            }
            last = Some(k);
        }
        Ok(Page {
            items,
            next: if full { last.map(hex::encode) } else { None },
        })
    }

    /// Applied award, amendment and cancellation records with block time in
    /// `[from, until)`, oldest first (by time, then log index). The cursor is the last
    /// record's time and log index.
    pub fn award_releases(
        &self,
        from: TimestampMs,
        until: TimestampMs,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TxRecord>, LedgerError> {
        let limit = self.explore_limit(limit)?;
        // Position strictly after (time, index).
        let after: Option<(u64, u64)> = match cursor {
            None => None,
            Some(c) => {
                let b = hex::decode(c).map_err(|_| LedgerError::BadCursor(c.to_string()))?;
                match (schema::read_be(&b), b.get(8..).and_then(schema::read_be)) {
                    (Some(t), Some(i)) if b.len() == 16 => Some((t, i)),
                    _ => return Err(LedgerError::BadCursor(c.to_string())),
                }
            }
        };
        let kinds = [
            RecordKind::AwardProcurement,
            RecordKind::AmendAward,
            RecordKind::CancelAward,
        ];
        let view = self.index_view()?;
        // (time, index) of up to `limit` candidates from each kind, merged.
        let mut found: Vec<(u64, u64)> = Vec::new();
        for kind in kinds {
            let p = KeyBuf::new(ix::KIND_TIME).b(&[kind as u8]);
            let start = match after {
                Some((t, i)) if t >= from.0 => {
                    let mut k = p.clone().n(t).n(i).done();
                    k.push(0);
                    k
                }
                _ => p.clone().n(from.0).done(),
            };
            let end = p.clone().n(until.0).done();
            let n = p.done().len();
            let rows = self
                .store
                .scan(Column::Index, &start, Some(&end), false, limit)?;
            for (k, _) in rows {
                let t = k
                    .get(n..)
                    .and_then(schema::read_be)
                    .ok_or_else(|| corrupt(Column::Index, &k, "short kind-time key"))?;
                let index = index_of(&k)?;
                if view.shows(index) {
                    found.push((t, index));
                }
            }
        }
        found.sort_unstable();
        let more = found.len() > limit;
        found.truncate(limit);
        let mut items = Vec::with_capacity(found.len());
        for (_, index) in &found {
            if let Some(r) = self
                .log_entries(*index, 1)?
                .pop()
                .filter(|r| r.index == *index)
            {
                items.push(r);
            }
        }
        let next = if more || found.len() == limit {
            found.last().map(|(t, i)| {
                let mut b = schema::be(*t).to_vec();
                b.extend_from_slice(&schema::be(*i));
                hex::encode(b)
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }
}
