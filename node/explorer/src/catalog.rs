//! What the explorer keeps in memory beyond the ledger's indexes: applied records per kind
//! (the home page's counts), awards by project number, and the distinct supplier names
//! (search by part of a name). Built by reading the log from the start and kept current
//! by reading each new entry once; bounded by `catalog_entries_max`.

use chancery_core::block::Outcome;
use chancery_core::record::{Record, RecordKind};
use chancery_ledger::{AwardKey, Ledger, LedgerError};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, RwLock};

use crate::stats::Stats;

/// Most project numbers and supplier names the catalog holds (each); beyond that new ones
/// are not added (search then relies on the ledger's exact indexes only).
pub const CATALOG_ENTRIES_MAX: usize = 2_000_000;
/// Most awards remembered under one project number.
pub const AWARDS_PER_PROJECT_MAX: usize = 64;
/// Log entries read per step.
const STEP_ENTRIES: usize = 1000;

/// The catalog's content.
#[derive(Default)]
struct State {
    /// Log index of the next entry to read.
    next_index: u64,
    /// Applied records per kind, in `RecordKind::ALL` order.
    counts: [u64; RecordKind::ALL.len()],
    /// Project number to awards.
    projects: HashMap<String, Vec<AwardKey>>,
    /// Supplier name to credit code.
    suppliers: BTreeMap<String, String>,
    /// The efficiency indicators (`stats.rs`).
    stats: Stats,
}

/// Suppliers whose name matches a search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SupplierMatches {
    /// (name, credit code), names starting with the query first.
    pub items: Vec<(String, String)>,
    /// Whether the scan for names containing the query stopped at its budget
    /// (`search_scan_max`) before the end of the catalog: more names may match.
    pub partial: bool,
}

/// A snapshot of the counts.
#[derive(Clone, Debug)]
pub struct Counts {
    /// Applied records per kind.
    pub per_kind: Vec<(RecordKind, u64)>,
    /// Log entries read so far (the counts are as of this log size).
    pub log_size: u64,
}

/// The explorer's in-memory catalog.
#[derive(Default)]
pub struct Catalog {
    state: RwLock<State>,
    /// Held while reading new entries, so one reader does the work.
    refreshing: Mutex<()>,
}

impl Catalog {
    /// Read up to `max_entries` new log entries. Returns whether the catalog is caught up
    /// with the ledger's log. If another call is already reading, returns at once.
    pub fn refresh(&self, ledger: &Ledger, max_entries: usize) -> Result<bool, LedgerError> {
        let Ok(_guard) = self.refreshing.try_lock() else {
            return Ok(false);
        };
        let size = ledger.tip().log_size;
        let mut read = 0usize;
        loop {
            let next = self.state.read().map(|s| s.next_index).unwrap_or(0);
            if next >= size {
                return Ok(true);
            }
            if read >= max_entries {
                return Ok(false);
            }
            let want = STEP_ENTRIES
                .min(max_entries - read)
                .min((size - next) as usize);
            let rows = ledger.log_entries(next, want)?;
            if rows.is_empty() {
                return Ok(false);
            }
            read += rows.len();
            let Ok(mut s) = self.state.write() else {
                return Ok(false);
            };
            for r in rows {
                if r.index != s.next_index {
                    break;
                }
                if r.entry.outcome != Outcome::Applied {
                    s.next_index += 1;
                    continue;
                }
                // First, as it may fail (a store read): the entry is then read again.
                s.stats.add(ledger, &r.entry)?;
                s.next_index += 1;
                let record = &r.entry.tx.body.record;
                let k = record.kind();
                if let Some(i) = RecordKind::ALL.iter().position(|x| *x == k) {
                    s.counts[i] += 1;
                }
                if let Record::AwardProcurement(a) = record {
                    let n = s.projects.len();
                    let key = (a.ocid.clone(), a.award_id.clone());
                    match s.projects.get_mut(&a.project_number) {
                        Some(v) if v.len() < AWARDS_PER_PROJECT_MAX => v.push(key),
                        Some(_) => {}
                        None if n < CATALOG_ENTRIES_MAX => {
                            s.projects.insert(a.project_number.clone(), vec![key]);
                        }
                        None => {}
                    }
                }
                let suppliers = match record {
                    Record::AwardProcurement(a) => Some(&a.suppliers),
                    Record::AmendAward(a) => a.suppliers.as_ref(),
                    _ => None,
                };
                for sup in suppliers.into_iter().flatten() {
                    if s.suppliers.len() < CATALOG_ENTRIES_MAX
                        || s.suppliers.contains_key(&sup.name)
                    {
                        s.suppliers
                            .insert(sup.name.clone(), sup.credit_code.clone());
                    }
                }
            }
        }
    }

    /// Counts per record kind.
    pub fn counts(&self) -> Counts {
        let s = self.state.read();
        match s {
            Ok(s) => Counts {
                per_kind: RecordKind::ALL
                    .iter()
                    .copied()
                    .zip(s.counts.iter().copied())
                    .collect(),
                log_size: s.next_index,
            },
            Err(_) => Counts {
                per_kind: Vec::new(),
                log_size: 0,
            },
        }
    }

    /// Run `f` on the efficiency indicators and the log size they are as of.
    pub fn with_stats<R>(&self, f: impl FnOnce(&Stats, u64) -> R) -> Option<R> {
        self.state.read().ok().map(|s| f(&s.stats, s.next_index))
    }

    /// Awards with this exact project number.
    pub fn project(&self, number: &str) -> Vec<AwardKey> {
        self.state
            .read()
            .ok()
            .and_then(|s| s.projects.get(number).cloned())
            .unwrap_or_default()
    }

    /// Up to `max` suppliers (name, credit code) whose name contains `part`: first those
    /// whose name starts with `part`, found through the sorted map in O(log n + max); then
    /// those containing it elsewhere, looking at no more than `scan_max` names (so one
    /// search costs at most O(log n + max + scan_max) whatever the catalog's size). The
    /// result is `partial` when that scan stopped before the end of the catalog.
    pub fn suppliers_matching(&self, part: &str, max: usize, scan_max: usize) -> SupplierMatches {
        let mut out = SupplierMatches::default();
        let Ok(s) = self.state.read() else {
            return out;
        };
        for (n, c) in s
            .suppliers
            .range::<str, _>((std::ops::Bound::Included(part), std::ops::Bound::Unbounded))
            .take_while(|(n, _)| n.starts_with(part))
            .take(max)
        {
            out.items.push((n.clone(), c.clone()));
        }
        for (scanned, (n, c)) in s.suppliers.iter().enumerate() {
            if out.items.len() >= max {
                break;
            }
            if scanned >= scan_max {
                out.partial = true;
                break;
            }
            if !n.starts_with(part) && n.contains(part) {
                out.items.push((n.clone(), c.clone()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(names: impl IntoIterator<Item = String>) -> Catalog {
        let c = Catalog::default();
        {
            let mut s = c.state.write().unwrap();
            for n in names {
                s.suppliers.insert(n, "91110000100000000A".into());
            }
        }
        c
    }

    #[test]
    fn supplier_search_uses_the_index_for_prefixes_and_bounds_the_substring_scan() {
        // 1,000 names before the one sought, in the map's order.
        let c = catalog(
            (0..1000)
                .map(|i| format!("A-{i:04}"))
                .chain(["Z-needle".to_string()]),
        );
        // A prefix is found through the sorted map whatever the scan budget.
        let m = c.suppliers_matching("Z-nee", 20, 10);
        assert_eq!(m.items.len(), 1);
        assert_eq!(m.items[0].0, "Z-needle");
        // A substring beyond the budget is not found, and the result says it is partial.
        let m = c.suppliers_matching("needle", 20, 10);
        assert!(m.items.is_empty());
        assert!(m.partial);
        // With budget for the whole catalog: found, complete.
        let m = c.suppliers_matching("needle", 20, 10_000);
        assert_eq!(m.items.len(), 1);
        assert!(!m.partial);
        // Never more than `max`.
        let m = c.suppliers_matching("A-", 20, 10_000);
        assert_eq!(m.items.len(), 20);
    }
}
