//! Queries for the public explorer, the OCDS export and the governance reads that the core
//! query layer (`query.rs`) does not offer: block headers without their transactions, runs
//! of log entries, awards in a chosen order, every record of one contracting process
//! (ocid), the award releases of a time range across the three award kinds, and
//! governance: the epoch in force and the pending one ([`Ledger::governance_now`]), the
//! epoch chain a page at a time ([`Ledger::epoch_links_page`], what `GET /v1/epochs`
//! serves), the epochs with their sets ([`Ledger::epochs_page`]) and the proposals,
//! newest first ([`Ledger::proposals`]).
//!
//! Same rules as `query.rs`: index answers are as of [`Ledger::indexed_height`] (entries of
//! later heights skipped, candidates checked against the state as of that height); every
//! call is bounded (page size at most the ledger's
//! `page_size_max`, index scans at most `EXPLORE_SCAN_MAX` keys), cursors are opaque hex.

use crate::schema::{self, ix, KeyBuf, RawLogEntry, StoredBlock};
use crate::{corrupt, decode_at, AwardFilter, AwardKey, Ledger, LedgerError, Page, TxRecord};
use chancery_core::block::{BlockHeader, LogEntry};
use chancery_core::cert::Certificate;
use chancery_core::epoch::EpochLink;
use chancery_core::genesis::ChainParams;
use chancery_core::governance::{GovernanceState, PendingEpoch, ProposalPhase, ProposalState};
use chancery_core::record::RecordKind;
use chancery_core::state::AwardState;
use chancery_core::state::{StateKey, StateValue};
use chancery_core::validator::ValidatorSet;
use chancery_core::Epoch;
use chancery_core::{Currency, Height, TimestampMs};
use chancery_storage::Column;

/// Most index keys one explorer query scans before it returns what it found with a cursor.
pub const EXPLORE_SCAN_MAX: usize = 4096;
/// Most epoch links (or epochs) one page returns: a link holds a header, a certificate and
/// a validator set (a few KiB for tens of validators, at most about 1 MiB for the largest
/// set), so a page stays a few MiB at worst.
pub const EPOCH_LINKS_PAGE_MAX: usize = 64;

/// The consortium's governance as of the tip: what `GET /v1/governance` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GovernanceNow {
    /// The last applied height (the state is as of it).
    pub height: Height,
    /// The epoch in force for the next block.
    pub epoch: Epoch,
    /// Its first height.
    pub epoch_start: Height,
    /// The parameters in force for the next block.
    pub params: ChainParams,
    /// The validator set in force for the next block.
    pub set: ValidatorSet,
    /// The next epoch, scheduled and not started yet.
    pub pending: Option<PendingEpoch>,
    /// The stored governance value (electorate, stored epoch and pending epoch).
    pub state: GovernanceState,
}

/// One epoch as the explorer lists it: its set and, once it ended, its boundary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochInfo {
    /// Its validator set (with its epoch and first height).
    pub set: ValidatorSet,
    /// Its last height, if it has ended (the boundary block is applied).
    pub end: Option<Height>,
    /// Scheduled and not started yet (a pending epoch's set may still change).
    pub pending: bool,
}

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
            Some(v) => Ok(Some(decode_at(self.suite(), Column::Certs, &k, &v)?)),
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
            let entry: LogEntry = decode_at::<RawLogEntry>(self.suite(), Column::Log, &k, &v)?.0;
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
        // By date with a purchaser: that purchaser's own date index, so a page reads only
        // its awards.
        let by_date = |agency: &Option<chancery_core::AgencyId>| match agency {
            Some(a) => KeyBuf::new(ix::AWARD_PURCHASER_DATE).s(a.as_str()).done(),
            None => KeyBuf::new(ix::AWARD_DATE).done(),
        };
        let (prefix, skip, reverse) = match order {
            AwardOrder::DateAsc => (by_date(&filter.purchaser), 4, false),
            AwardOrder::DateDesc => (by_date(&filter.purchaser), 4, true),
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

    /// Applied records of every stage of the procurement process
    /// (`RecordKind::PROCUREMENT`) with block time in `[from, until)`, oldest first (by
    /// time, then log index). The cursor is the last record's time and log index.
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
        // Every stage of the procurement process (issue 22), not only the award.
        let kinds = RecordKind::PROCUREMENT;
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

impl Ledger {
    /// The governance state as of the tip: the epoch, parameters and validator set in force
    /// for the next block, and the pending epoch if it has not started.
    pub fn governance_now(&self) -> Result<GovernanceNow, LedgerError> {
        let tip = self.tip().height;
        let state = match self.value_as_of(&StateKey::Governance, tip)? {
            Some(StateValue::Governance(g)) => g,
            _ => {
                return Err(corrupt(
                    Column::State,
                    StateKey::Governance.hash(self.genesis.crypto).as_bytes(),
                    format!("no governance state as of height {tip}"),
                ))
            }
        };
        let next = tip.next();
        let set = self.validator_set_at(next)?;
        Ok(GovernanceNow {
            height: tip,
            epoch: state.epoch_at(next),
            epoch_start: set.start_height,
            params: state.params_at(next).clone(),
            pending: state.pending.clone().filter(|p| p.start_height > next),
            set,
            state,
        })
    }

    /// The link of the epoch chain that ends `epoch` (its boundary header, its certificate,
    /// the next set and, for a boundary finalized through suffix blocks, their headers), or
    /// `None` if `epoch` has not ended (its boundary block is not applied yet).
    pub fn epoch_link(&self, epoch: Epoch) -> Result<Option<EpochLink>, LedgerError> {
        let Some(next) = self.validator_set_of_epoch(epoch.next())? else {
            return Ok(None);
        };
        let boundary = Height(next.start_height.0.saturating_sub(1));
        if boundary > self.tip().height {
            return Ok(None);
        }
        let k = schema::be(boundary.0);
        let sb = self
            .stored_block(boundary)?
            .ok_or_else(|| corrupt(Column::Blocks, &k, "missing boundary block"))?;
        let certificate = self
            .block_certificate(boundary)?
            .ok_or_else(|| corrupt(Column::Certs, &k, "missing certificate"))?;
        let suffix = self.block_suffix(boundary)?;
        let certified =
            chancery_core::epoch::check_suffix(self.genesis.crypto, &sb.header, &suffix).ok();
        if sb.header.epoch != epoch || certified != Some(certificate.block) {
            return Err(corrupt(
                Column::Certs,
                &k,
                format!(
                    "the boundary of epoch {epoch} is not a header of that epoch with its own certificate or that of its suffix"
                ),
            ));
        }
        Ok(Some(EpochLink {
            header: sb.header,
            certificate,
            next,
            suffix,
        }))
    }

    /// Links of the epoch chain from the one that ends epoch `from`, at most `limit`
    /// (1..=[`EPOCH_LINKS_PAGE_MAX`]): the links of the ended epochs, in order, and the
    /// epoch to ask from next (`None` when the page reaches the epoch in force).
    pub fn epoch_links_page(
        &self,
        from: Epoch,
        limit: usize,
    ) -> Result<(Vec<EpochLink>, Option<Epoch>), LedgerError> {
        let limit = epochs_limit(limit)?;
        let mut links = Vec::new();
        let mut e = from;
        while links.len() < limit {
            match self.epoch_link(e)? {
                Some(l) => links.push(l),
                None => return Ok((links, None)),
            }
            e = e.next();
        }
        let more = self.epoch_link(e)?.is_some();
        Ok((links, more.then_some(e)))
    }

    /// Epochs from `from` on, at most `limit` (1..=[`EPOCH_LINKS_PAGE_MAX`]): the ended
    /// ones, the one in force and a pending one; and the epoch to ask from next.
    pub fn epochs_page(
        &self,
        from: Epoch,
        limit: usize,
    ) -> Result<(Vec<EpochInfo>, Option<Epoch>), LedgerError> {
        let limit = epochs_limit(limit)?;
        let tip = self.tip().height;
        let mut out = Vec::new();
        let mut e = from;
        while out.len() < limit {
            let Some(set) = self.validator_set_of_epoch(e)? else {
                return Ok((out, None));
            };
            let next_start = self
                .validator_set_of_epoch(e.next())?
                .map(|n| n.start_height);
            let end = next_start
                .map(|s| Height(s.0.saturating_sub(1)))
                .filter(|b| *b <= tip);
            out.push(EpochInfo {
                pending: set.start_height > tip.next(),
                set,
                end,
            });
            e = e.next();
        }
        let more = self.validator_set_of_epoch(e)?.is_some();
        Ok((out, more.then_some(e)))
    }

    /// Proposals, newest first (by the block that carried them), as of the indexed height,
    /// with their state and phase then; with `phase`, only those in that phase at the
    /// indexed block's time (an open proposal past its deadline is `expired`). Scans at most
    /// [`EXPLORE_SCAN_MAX`] index keys a page; the cursor is opaque hex.
    pub fn proposals(
        &self,
        phase: Option<ProposalPhase>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<(String, ProposalState, ProposalPhase)>, LedgerError> {
        let limit = self.explore_limit(limit)?;
        let prefix = KeyBuf::new(ix::KIND_TIME)
            .b(&[RecordKind::ProposeChange as u8])
            .done();
        let lo = prefix.clone();
        let mut hi = schema::prefix_end(&prefix);
        if let Some(c) = cursor {
            let k = hex::decode(c).map_err(|_| LedgerError::BadCursor(c.to_string()))?;
            if !k.starts_with(&prefix) || k.len() != prefix.len() + 16 {
                return Err(LedgerError::BadCursor(c.to_string()));
            }
            hi = Some(k);
        }
        let view = self.index_view()?;
        let mut items = Vec::new();
        let mut scanned = 0usize;
        loop {
            let chunk = (limit * 2).min(EXPLORE_SCAN_MAX - scanned).max(1);
            let rows = self
                .store
                .scan(Column::Index, &lo, hi.as_deref(), true, chunk)?;
            let exhausted = rows.len() < chunk;
            for (k, _) in rows {
                scanned += 1;
                if view.shows_key(&k) {
                    let index = index_of(&k)?;
                    let entry = self
                        .log_entry(index)?
                        .ok_or_else(|| corrupt(Column::Log, &schema::be(index), "missing entry"))?;
                    let chancery_core::record::Record::ProposeChange(p) = &entry.tx.body.record
                    else {
                        return Err(corrupt(
                            Column::Index,
                            &k,
                            "a proposal index entry names another record",
                        ));
                    };
                    let key = StateKey::Proposal(p.proposal_id.clone());
                    if let Some(StateValue::Proposal(st)) = self.value_in(&view, &key)? {
                        let ph = st.phase_at(view.time);
                        if phase.is_none_or(|want| want == ph) {
                            items.push((p.proposal_id.clone(), st, ph));
                        }
                    }
                }
                hi = Some(k.clone());
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

    /// A proposal's current state (at the tip).
    pub fn proposal(&self, id: &str) -> Result<Option<ProposalState>, LedgerError> {
        Ok(
            match self.state_value(&StateKey::Proposal(id.to_string()))? {
                Some(StateValue::Proposal(p)) => Some(p),
                _ => None,
            },
        )
    }
}

fn epochs_limit(limit: usize) -> Result<usize, LedgerError> {
    if limit > EPOCH_LINKS_PAGE_MAX {
        return Err(LedgerError::PageTooLarge {
            max: EPOCH_LINKS_PAGE_MAX,
            found: limit,
        });
    }
    Ok(limit.max(1))
}
