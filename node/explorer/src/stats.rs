//! Efficiency indicators (issue 22): aggregates of procurement, assets and data sharing,
//! kept in memory and updated once per applied log entry as the catalog reads it (derived
//! data: rebuilt from the log at start, never by scanning the ledger on a page view).
//!
//! Months are those of the records' own dates (award date, tender publication, contract
//! signature, payment day, acquisition, transfer effective date, disposal date, grant
//! start). Values are in minor units per currency and are those recorded at each stage
//! (an award's value as awarded; amendments change the award's state, not these sums).
//! Compliance flags are counted as the ledger's assessment reads when the catalog reads
//! the record. Every map is bounded ([`STATS_KEYS_MAX`] keys each): beyond it new keys are
//! not added and `truncated` says so.

use chancery_core::block::LogEntry;
use chancery_core::procurement::ImplementationKind;
use chancery_core::record::{Action, DisposalMethod, ProcurementMethod, Record};
use chancery_core::state::ComplianceSubject;
use chancery_core::{AgencyId, Amount, Currency, Date, TimestampMs};
use chancery_ledger::{Ledger, LedgerError};
use std::collections::{BTreeMap, BTreeSet};

/// Most keys of each aggregate map (and suppliers tracked).
pub const STATS_KEYS_MAX: usize = 1_000_000;
/// Most distinct grant purposes counted by name; the rest are counted as "other".
pub const PURPOSES_MAX: usize = 1_000;
/// Longest duration counted in a histogram, in days (longer ones count as this).
pub const DAYS_MAX: u32 = 3_650;

/// A calendar month, `YYYY-MM`.
pub type Month = (u16, u8);

/// The month of a date.
pub fn month(d: Date) -> Month {
    (d.year, d.month)
}

/// A count and a sum of minor units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Agg {
    /// How many.
    pub count: u64,
    /// Sum of their values, minor units (saturating).
    pub minor: u64,
}

impl Agg {
    fn add(&mut self, minor: u64) {
        self.count += 1;
        self.minor = self.minor.saturating_add(minor);
    }
}

/// Key of the procurement aggregates: agency, method, currency, month.
pub type ProcKey = (AgencyId, ProcurementMethod, Currency, Month);

/// Days between two stages, by agency.
pub type Histogram = BTreeMap<u32, u64>;

/// Every aggregate.
#[derive(Default, Debug)]
pub struct Stats {
    /// Tenders published: budget.
    pub tenders: BTreeMap<ProcKey, Agg>,
    /// Awards made: value as awarded.
    pub awards: BTreeMap<ProcKey, Agg>,
    /// Contracts signed: value at signature (method: the process's, if known).
    pub contracts: BTreeMap<(AgencyId, Currency, Month), Agg>,
    /// Payments made (final payments included).
    pub payments: BTreeMap<(AgencyId, Currency, Month), Agg>,
    /// Days from a tender's publication to an award of its process, by purchaser.
    pub tender_to_award: BTreeMap<AgencyId, Histogram>,
    /// Days from an award to a contract signed against it, by purchaser.
    pub award_to_contract: BTreeMap<AgencyId, Histogram>,
    /// Value awarded per supplier (credit code) and currency.
    pub suppliers: BTreeMap<(Currency, String), (String, u64)>,
    /// The same, ordered by value (largest first), for the top suppliers.
    pub supplier_rank: BTreeSet<(Currency, std::cmp::Reverse<u64>, String)>,
    /// Compliance flags: rule, agency, month -> count.
    pub flags: BTreeMap<(&'static str, AgencyId, Month), u64>,
    /// Assets registered: agency, category class (first three characters), month -> value.
    pub registered: BTreeMap<(AgencyId, String, Month), Agg>,
    /// Transfers: from, to, month.
    pub transfers: BTreeMap<(AgencyId, AgencyId, Month), u64>,
    /// Disposals: agency, method, month.
    pub disposals: BTreeMap<(AgencyId, DisposalMethod, Month), u64>,
    /// Assets held now per custodian (registered and received, minus given and disposed).
    pub holdings: BTreeMap<AgencyId, i64>,
    /// Grants issued: grantor, grantee, month.
    pub grants: BTreeMap<(AgencyId, AgencyId, Month), u64>,
    /// Grants issued per action.
    pub actions: BTreeMap<Action, u64>,
    /// Grants issued per purpose (at most [`PURPOSES_MAX`]; the rest under "").
    pub purposes: BTreeMap<String, u64>,
    /// Grants by last day of validity: (issued, revoked).
    pub grants_until: BTreeMap<Date, (u64, u64)>,
    /// Grants by first day of validity: (issued, revoked).
    pub grants_from: BTreeMap<Date, (u64, u64)>,
    /// A map was full and a key was not added.
    pub truncated: bool,
    /// Lookups the catalog would otherwise make in the ledger for every record (each a
    /// versioned state read: at 10^6 records they were most of the catalog's start-up):
    /// a signer's agency (members never change agency), each tender's publication day
    /// and each award's day, as their applied records said. Bounded like the rest; past
    /// the bound the ledger is asked.
    memo: Memo,
}

impl Memo {
    /// The agency of a member key.
    fn agency(
        &mut self,
        ledger: &Ledger,
        key: &chancery_core::PublicKey,
    ) -> Result<Option<AgencyId>, LedgerError> {
        if let Some(a) = self.agency_of.get(key) {
            return Ok(Some(a.clone()));
        }
        let a = ledger.member(key)?.map(|m| m.agency);
        if let (Some(a), true) = (&a, self.agency_of.len() < STATS_KEYS_MAX) {
            self.agency_of.insert(*key, a.clone());
        }
        Ok(a)
    }
}

/// See [`Stats`]'s `memo`.
#[derive(Default, Debug)]
struct Memo {
    agency_of: std::collections::HashMap<chancery_core::PublicKey, AgencyId>,
    tender_day: std::collections::HashMap<String, Date>,
    award_day: std::collections::HashMap<(String, String), Date>,
}

fn bump<K: Ord>(m: &mut BTreeMap<K, Agg>, k: K, minor: u64, truncated: &mut bool) {
    if m.len() < STATS_KEYS_MAX || m.contains_key(&k) {
        m.entry(k).or_default().add(minor);
    } else {
        *truncated = true;
    }
}

fn count<K: Ord>(m: &mut BTreeMap<K, u64>, k: K, truncated: &mut bool) {
    if m.len() < STATS_KEYS_MAX || m.contains_key(&k) {
        *m.entry(k).or_default() += 1;
    } else {
        *truncated = true;
    }
}

fn days_between(a: Date, b: Date) -> u32 {
    let (a, b) = (a.start_ms().0, b.start_ms().0);
    (b.saturating_sub(a) / 86_400_000).min(u64::from(DAYS_MAX)) as u32
}

impl Stats {
    /// Add one applied log entry. `ledger` answers the lookups a record needs (the
    /// signer's agency, a tender's or award's dates, an assessment).
    pub fn add(&mut self, ledger: &Ledger, e: &LogEntry) -> Result<(), LedgerError> {
        let mut t = self.truncated;
        let signer = e.tx.body.signer;
        match &e.tx.body.record {
            Record::PublishTender(r) => {
                if self.memo.tender_day.len() < STATS_KEYS_MAX {
                    self.memo.tender_day.insert(r.ocid.clone(), r.publish_date);
                }
                let k = (
                    r.purchaser.clone(),
                    r.method,
                    r.budget.currency,
                    month(r.publish_date),
                );
                bump(&mut self.tenders, k, r.budget.minor, &mut t);
                self.flags_of(
                    ledger,
                    ComplianceSubject::Tender(r.ocid.clone()),
                    &r.purchaser,
                    month(r.publish_date),
                )?;
            }
            Record::AwardProcurement(r) => {
                let m = month(r.award_date);
                let k = (r.purchaser.clone(), r.method, r.value.currency, m);
                bump(&mut self.awards, k, r.value.minor, &mut t);
                if self.memo.award_day.len() < STATS_KEYS_MAX {
                    self.memo
                        .award_day
                        .insert((r.ocid.clone(), r.award_id.clone()), r.award_date);
                }
                let published = match self.memo.tender_day.get(&r.ocid) {
                    Some(d) => Some(*d),
                    None => ledger.tender(&r.ocid)?.map(|t| t.publish_date),
                };
                if let Some(published) = published {
                    let d = days_between(published, r.award_date);
                    *self
                        .tender_to_award
                        .entry(r.purchaser.clone())
                        .or_default()
                        .entry(d)
                        .or_default() += 1;
                }
                self.supplier_value(r.value, &r.suppliers);
                let s = ComplianceSubject::Award(r.ocid.clone(), r.award_id.clone());
                self.flags_of(ledger, s, &r.purchaser, m)?;
            }
            Record::SignContract(r) => {
                let awarded = match self
                    .memo
                    .award_day
                    .get(&(r.ocid.clone(), r.award_id.clone()))
                {
                    Some(d) => Some(*d),
                    None => ledger.award(&r.ocid, &r.award_id)?.map(|a| a.award_date),
                };
                if let (Some(a), Some(award_date)) = (self.memo.agency(ledger, &signer)?, awarded) {
                    let m = month(r.signed_date);
                    bump(
                        &mut self.contracts,
                        (a.clone(), r.value.currency, m),
                        r.value.minor,
                        &mut t,
                    );
                    let d = days_between(award_date, r.signed_date);
                    *self
                        .award_to_contract
                        .entry(a.clone())
                        .or_default()
                        .entry(d)
                        .or_default() += 1;
                    let s = ComplianceSubject::Contract(r.ocid.clone(), r.contract_id.clone());
                    self.flags_of(ledger, s, &a, m)?;
                }
            }
            Record::RecordImplementation(r) => {
                if let (
                    ImplementationKind::Payment | ImplementationKind::FinalPayment,
                    Some(v),
                    Some(a),
                ) = (r.kind, r.value, self.memo.agency(ledger, &signer)?)
                {
                    bump(
                        &mut self.payments,
                        (a, v.currency, month(r.date)),
                        v.minor,
                        &mut t,
                    );
                }
            }
            Record::RegisterAsset(r) => {
                let class: String = r.category.chars().take(3).collect();
                let k = (r.custodian.clone(), class, month(r.acquisition_date));
                bump(&mut self.registered, k, r.original_value.minor, &mut t);
                *self.holdings.entry(r.custodian.clone()).or_default() += 1;
            }
            Record::TransferAsset(r) => {
                count(
                    &mut self.transfers,
                    (r.from.clone(), r.to.clone(), month(r.effective_date)),
                    &mut t,
                );
                *self.holdings.entry(r.from.clone()).or_default() -= 1;
                *self.holdings.entry(r.to.clone()).or_default() += 1;
            }
            Record::DisposeAsset(r) => {
                if let Some(a) = self.memo.agency(ledger, &signer)? {
                    count(
                        &mut self.disposals,
                        (a.clone(), r.method, month(r.date)),
                        &mut t,
                    );
                    *self.holdings.entry(a).or_default() -= 1;
                }
            }
            Record::GrantDataAccess(r) => {
                count(
                    &mut self.grants,
                    (r.grantor.clone(), r.grantee.clone(), month(r.valid_from)),
                    &mut t,
                );
                for a in &r.actions {
                    *self.actions.entry(*a).or_default() += 1;
                }
                let p = if self.purposes.len() < PURPOSES_MAX
                    || self.purposes.contains_key(&r.purpose)
                {
                    r.purpose.clone()
                } else {
                    String::new()
                };
                *self.purposes.entry(p).or_default() += 1;
                self.grants_until.entry(r.valid_until).or_default().0 += 1;
                self.grants_from.entry(r.valid_from).or_default().0 += 1;
            }
            Record::RevokeGrant(r) => {
                if let Some(g) = ledger.grant(&r.grant_id)? {
                    self.grants_until.entry(g.valid_until).or_default().1 += 1;
                    self.grants_from.entry(g.valid_from).or_default().1 += 1;
                }
            }
            _ => {}
        }
        self.truncated |= t;
        Ok(())
    }

    fn flags_of(
        &mut self,
        ledger: &Ledger,
        s: ComplianceSubject,
        agency: &AgencyId,
        m: Month,
    ) -> Result<(), LedgerError> {
        if let Some(c) = ledger.compliance(&s)? {
            for f in &c.flags {
                let mut t = self.truncated;
                count(
                    &mut self.flags,
                    (f.rule.as_str(), agency.clone(), m),
                    &mut t,
                );
                self.truncated = t;
            }
        }
        Ok(())
    }

    fn supplier_value(&mut self, v: Amount, suppliers: &[chancery_core::record::Supplier]) {
        // The value is shared equally among an award's suppliers.
        let n = suppliers.len().max(1) as u64;
        for s in suppliers {
            let key = (v.currency, s.credit_code.clone());
            let before = match self.suppliers.get(&key) {
                Some((_, b)) => *b,
                None if self.suppliers.len() >= STATS_KEYS_MAX => {
                    self.truncated = true;
                    continue;
                }
                None => 0,
            };
            let after = before.saturating_add(v.minor / n);
            self.supplier_rank.remove(&(
                v.currency,
                std::cmp::Reverse(before),
                s.credit_code.clone(),
            ));
            self.supplier_rank.insert((
                v.currency,
                std::cmp::Reverse(after),
                s.credit_code.clone(),
            ));
            self.suppliers.insert(key, (s.name.clone(), after));
        }
    }

    /// Grants by status at block time `now`: (active, not yet valid, expired, revoked).
    pub fn grant_status(&self, now: TimestampMs) -> (u64, u64, u64, u64) {
        let today = date_of(now);
        let revoked: u64 = self.grants_until.values().map(|(_, r)| r).sum();
        let issued: u64 = self.grants_until.values().map(|(i, _)| i).sum();
        let expired: u64 = self
            .grants_until
            .range(..today)
            .map(|(_, (i, r))| i - r.min(i))
            .sum();
        let pending: u64 = self
            .grants_from
            .range((std::ops::Bound::Excluded(today), std::ops::Bound::Unbounded))
            .map(|(_, (i, r))| i - r.min(i))
            .sum();
        let active = issued.saturating_sub(revoked + expired + pending);
        (active, pending, expired, revoked)
    }
}

/// The UTC date of a block time.
pub fn date_of(t: TimestampMs) -> Date {
    let days = (t.0 / 86_400_000) as i64;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = if m <= 2 { y + 1 } else { y };
    Date {
        year: y.clamp(1900, 9999) as u16,
        month: m,
        day: d,
    }
}

/// The median and 90th percentile of a histogram (days), if it has any count.
pub fn quantiles(h: &Histogram) -> Option<(u32, u32)> {
    let n: u64 = h.values().sum();
    if n == 0 {
        return None;
    }
    let at = |q: f64| -> u32 {
        let rank = ((q * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (d, c) in h {
            seen += c;
            if seen >= rank {
                return *d;
            }
        }
        0
    };
    Some((at(0.5), at(0.9)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_block_times_and_quantiles() {
        assert_eq!(date_of(TimestampMs(0)), Date::new(1970, 1, 1).unwrap());
        let d = Date::new(2026, 12, 4).unwrap();
        assert_eq!(date_of(d.start_ms()), d);
        assert_eq!(date_of(TimestampMs(d.start_ms().0 + 86_399_999)), d);
        let leap = Date::new(2028, 2, 29).unwrap();
        assert_eq!(date_of(leap.start_ms()), leap);
        let h: Histogram = [(1, 5), (10, 4), (30, 1)].into_iter().collect();
        assert_eq!(quantiles(&h), Some((1, 10)));
        assert_eq!(quantiles(&Histogram::new()), None);
    }
}
