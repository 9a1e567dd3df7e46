//! The agencies of the consortium as governance made them: the genesis agencies and those
//! that passed proposals added, each with its current state (names, admin keys, removed)
//! and the proposals that added and removed it.
//!
//! The state tree holds every agency (`Agency(id)`), but it is keyed by hash, so it cannot
//! be listed. The indexer writes one `AGENCY_CHANGE` entry per agency added or removed
//! by a passed proposal (the log index of the vote that passed it, `Ledger::passed_keys`);
//! agency ids are never reused, so an agency has at most one of each. The list answers as
//! of the indexed height for those entries, plus the electorate of the current state (an
//! agency just added shows before its addition is indexed, without its proposal).

use crate::schema::{self, ix, KeyBuf};
use crate::{corrupt, Ledger, LedgerError};
use chancery_core::governance::AgencyState;
use chancery_core::record::Record;
use chancery_core::state::{StateKey, StateValue};
use chancery_core::{AgencyId, Height};
use chancery_storage::{successor, Column};
use std::collections::BTreeMap;

/// Most agencies [`Ledger::agencies`] lists: the electorate's limit (`AGENCIES_MAX`,
/// 1024) plus as many removed agencies. Past it, the agencies added last are left out.
pub const AGENCIES_LISTED_MAX: usize = 2 * chancery_core::limits::AGENCIES_MAX;

/// What a passed proposal did to an agency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    /// `add_agency`.
    Added = 0,
    /// `remove_agency`.
    Removed = 1,
}

/// `AGENCY_CHANGE` key: agency id, change, log index of the vote that passed the proposal.
pub(crate) fn change_key(agency: &AgencyId, kind: ChangeKind, index: u64) -> Vec<u8> {
    KeyBuf::new(ix::AGENCY_CHANGE)
        .s(agency.as_str())
        .b(&[kind as u8])
        .n(index)
        .done()
}

/// A proposal's change to an agency: which proposal, passed in which block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgencyChange {
    /// The proposal.
    pub proposal: String,
    /// The block that passed it (where the change took effect).
    pub height: Height,
    /// Log index of the vote that passed it.
    pub index: u64,
}

/// An agency as the ledger knows it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgencyEntry {
    /// Its id.
    pub id: AgencyId,
    /// Its current state: names, admin keys, removed.
    pub state: AgencyState,
    /// In the genesis document (else added by a proposal).
    pub genesis: bool,
    /// The proposal that added it (`None` for a genesis agency, or an addition not
    /// indexed yet).
    pub added: Option<AgencyChange>,
    /// The proposal that removed it, if it was removed (and the removal is indexed).
    pub removed: Option<AgencyChange>,
}

impl Ledger {
    /// Every agency: the genesis agencies in genesis order, then those added by passed
    /// proposals in the order they were added (agencies of the current electorate whose
    /// addition is not indexed yet last, by id); removed ones included, marked. At most
    /// [`AGENCIES_LISTED_MAX`].
    pub fn agencies(&self) -> Result<Vec<AgencyEntry>, LedgerError> {
        let changes = self.agency_changes(None)?;
        let mut ids: Vec<AgencyId> = self.genesis.agencies.iter().map(|a| a.id.clone()).collect();
        let mut added: Vec<(u64, &AgencyId)> = changes
            .iter()
            .filter_map(|(id, (a, _))| a.as_ref().map(|a| (a.index, id)))
            .filter(|(_, id)| self.genesis.agency(id).is_none())
            .collect();
        added.sort();
        ids.extend(added.into_iter().map(|(_, id)| id.clone()));
        if let Some(StateValue::Governance(g)) = self.state_value(&StateKey::Governance)? {
            for id in g.agencies {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        ids.truncate(AGENCIES_LISTED_MAX);
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let (added, removed) = changes.get(&id).cloned().unwrap_or_default();
            if let Some(e) = self.agency_entry_with(id, added, removed)? {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// One agency, genesis or added by a proposal, removed or not; `None` if no agency has
    /// this id.
    pub fn agency_entry(&self, id: &AgencyId) -> Result<Option<AgencyEntry>, LedgerError> {
        let (added, removed) = self
            .agency_changes(Some(id))?
            .remove(id)
            .unwrap_or_default();
        self.agency_entry_with(id.clone(), added, removed)
    }

    fn agency_entry_with(
        &self,
        id: AgencyId,
        added: Option<AgencyChange>,
        removed: Option<AgencyChange>,
    ) -> Result<Option<AgencyEntry>, LedgerError> {
        let Some(StateValue::Agency(state)) = self.state_value(&StateKey::Agency(id.clone()))?
        else {
            return Ok(None);
        };
        Ok(Some(AgencyEntry {
            genesis: self.genesis.agency(&id).is_some(),
            // A removal the index has not reached yet still shows in the state.
            removed: removed.filter(|_| state.removed),
            id,
            state,
            added,
        }))
    }

    /// The indexed additions and removals, of one agency or of all (at most
    /// [`AGENCIES_LISTED_MAX`] agencies' worth: two entries each).
    #[allow(clippy::type_complexity)]
    fn agency_changes(
        &self,
        one: Option<&AgencyId>,
    ) -> Result<BTreeMap<AgencyId, (Option<AgencyChange>, Option<AgencyChange>)>, LedgerError> {
        let prefix = match one {
            Some(id) => KeyBuf::new(ix::AGENCY_CHANGE).s(id.as_str()).done(),
            None => vec![ix::AGENCY_CHANGE],
        };
        let end = schema::prefix_end(&prefix);
        let view = self.index_view()?;
        let page = self.store.limits().scan_entries_max.clamp(1, 1024);
        let max = 2 * AGENCIES_LISTED_MAX;
        let mut out: BTreeMap<AgencyId, (Option<AgencyChange>, Option<AgencyChange>)> =
            BTreeMap::new();
        let mut from = prefix.clone();
        let mut seen = 0;
        while seen < max {
            let rows = self
                .store
                .scan(Column::Index, &from, end.as_deref(), false, page)?;
            let Some((last, _)) = rows.last() else {
                break;
            };
            from = successor(last);
            let full = rows.len() == page;
            for (k, _) in rows {
                seen += 1;
                if !view.shows_key(&k) {
                    continue;
                }
                let bad = || corrupt(Column::Index, &k, "bad agency change key");
                let rest = &k[1..];
                let n = rest.iter().position(|c| *c == 0).ok_or_else(bad)?;
                let id = AgencyId(String::from_utf8(rest[..n].to_vec()).map_err(|_| bad())?);
                let tail = &rest[n + 1..];
                if tail.len() != 9 {
                    return Err(bad());
                }
                let index = schema::read_be(&tail[1..]).ok_or_else(bad)?;
                let change = self.agency_change_at(index)?;
                let slot = out.entry(id).or_default();
                match tail[0] {
                    0 => slot.0 = Some(change),
                    1 => slot.1 = Some(change),
                    _ => return Err(bad()),
                }
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// The proposal and block of the vote at log `index`.
    fn agency_change_at(&self, index: u64) -> Result<AgencyChange, LedgerError> {
        let entry = self
            .log_entry(index)?
            .ok_or_else(|| corrupt(Column::Log, &schema::be(index), "log entry missing"))?;
        match entry.tx.body.record {
            Record::Vote(v) => Ok(AgencyChange {
                proposal: v.proposal_id,
                height: entry.height,
                index,
            }),
            _ => Err(corrupt(
                Column::Log,
                &schema::be(index),
                "an agency change indexed at a record that is not a vote",
            )),
        }
    }
}
