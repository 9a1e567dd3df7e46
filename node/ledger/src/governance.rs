//! Governance execution: `propose_change` and `vote` records, and the changes a passed
//! proposal makes (docs/governance.md).
//!
//! - ProposeChange: the id is unused (`ProposalExists`); the deadline is after the block
//!   time (`ProposalExpired`); the changes must apply to the current state as if the
//!   proposal passed now (the invariants below, with their codes), else it is refused.
//! - Vote: the proposal exists (`ProposalUnknown`), is open (`ProposalClosed`) and its
//!   deadline is after the block time (`ProposalExpired`). The agency's vote replaces its
//!   previous one (one vote per agency, the latest counts). Then, over the agencies not
//!   removed: approvals pass the threshold in force -> the changes apply (if one breaks an
//!   invariant, the vote is rejected with that code and nothing changes); approvals can no
//!   longer pass it -> failed.
//! - Changes: agencies, admin keys and procurement limit standards (whose agencies must
//!   exist: `UnknownAgency`) at once; validators and parameters in a pending
//!   epoch that starts `epoch_delay_blocks` blocks after the block that passed it.
//!
//! Invariants: `UnknownAgency` (an agency that does not exist or was removed),
//! `AgencyExists` (ids are never reused), `AgencyHasValidator` (an agency with a validator
//! in the set in force or the pending one cannot be removed), `ValidatorExists`,
//! `ValidatorUnknown` (by name, in the next set), `KeyReused` (a validator key or admin key
//! used before, anywhere), `ValidatorSetTooSmall` (a removal may not leave fewer than
//! `min(4, genesis set size)` validators), `LimitExceeded` (`VALIDATORS_MAX`, total power,
//! `AGENCIES_MAX`).

use crate::exec::{Exec, Rule};
use crate::LedgerError;
use chancery_core::block::ReasonCode::{self, *};
use chancery_core::codec::Canonical;
use chancery_core::governance::{
    AgencyState, AgencyVote, Change, GovernanceState, KeyUse, PendingEpoch, ProposalState,
    ProposalStatus, ValidatorKeyState,
};
use chancery_core::limits::{AGENCIES_MAX, VALIDATORS_MAX};
use chancery_core::record::{ProposeChange, Role, Vote};
use chancery_core::state::{MemberState, StateKey, StateValue};
use chancery_core::validator::{Validator, ValidatorSet};
use chancery_core::{AgencyId, Digest, Epoch, Height, NetworkKey, PublicKey, TxHash};
use chancery_storage::Column;
use std::collections::BTreeMap;

/// What a passed proposal writes, and when its epoch changes start.
struct Enacted {
    writes: Vec<(StateKey, StateValue)>,
    /// The pending epoch and its first height, if the proposal has epoch changes.
    epoch: Option<(Epoch, Height)>,
}

/// Writes of one proposal's changes, read back by the later changes of the same proposal.
struct Work<'e, 'a> {
    exec: &'e Exec<'a>,
    writes: BTreeMap<Digest, (StateKey, StateValue)>,
}

impl Work<'_, '_> {
    fn get(&self, key: &StateKey) -> Result<Option<StateValue>, LedgerError> {
        match self.writes.get(&key.hash(self.exec.suite)) {
            Some((_, v)) => Ok(Some(v.clone())),
            None => self.exec.get(key),
        }
    }

    fn put(&mut self, key: StateKey, value: StateValue) {
        self.writes.insert(key.hash(self.exec.suite), (key, value));
    }

    /// The agency, if it exists and was not removed.
    fn agency(&self, id: &AgencyId) -> Result<Option<AgencyState>, LedgerError> {
        Ok(match self.get(&StateKey::Agency(id.clone()))? {
            Some(StateValue::Agency(a)) if !a.removed => Some(a),
            _ => None,
        })
    }

    /// Was `key` ever a validator key?
    fn key_used(&self, key: &StateKey) -> Result<bool, LedgerError> {
        Ok(self.get(key)?.is_some())
    }

    /// Where a consensus key is recorded.
    fn consensus(key: PublicKey) -> StateKey {
        StateKey::ValidatorKey(key)
    }

    /// Where a network key is recorded (depends on the suite, `StateKey::network_key`).
    fn network(&self, key: NetworkKey) -> StateKey {
        StateKey::network_key(self.exec.suite, key)
    }

    fn use_key(&mut self, key: StateKey, validator: &str, key_use: KeyUse) {
        self.put(
            key,
            StateValue::ValidatorKey(ValidatorKeyState {
                validator: validator.to_string(),
                key_use,
                retired_at: None,
            }),
        );
    }

    fn retire_key(
        &mut self,
        key: StateKey,
        validator: &str,
        key_use: KeyUse,
        at: Height,
    ) -> Result<(), LedgerError> {
        let state = match self.get(&key)? {
            Some(StateValue::ValidatorKey(k)) => ValidatorKeyState {
                retired_at: Some(at),
                ..k
            },
            _ => ValidatorKeyState {
                validator: validator.to_string(),
                key_use,
                retired_at: Some(at),
            },
        };
        self.put(key, StateValue::ValidatorKey(state));
        Ok(())
    }

    /// Register `key` as an Admin member of `agency`, unless it was ever a member.
    fn add_admin(
        &mut self,
        key: PublicKey,
        agency: &AgencyId,
        name: &str,
    ) -> Result<Result<(), ReasonCode>, LedgerError> {
        if self.get(&StateKey::Member(key))?.is_some() {
            return Ok(Err(KeyReused));
        }
        self.put(
            StateKey::Member(key),
            StateValue::Member(MemberState {
                agency: agency.clone(),
                name: name.to_string(),
                roles: vec![Role::Admin],
                revoked: false,
            }),
        );
        Ok(Ok(()))
    }
}

/// Early return of a refusal from a nested `Result<Result<_, ReasonCode>, _>`.
macro_rules! refuse {
    ($e:expr) => {
        match $e? {
            Ok(v) => v,
            Err(code) => return Ok(Err(code)),
        }
    };
}

impl Exec<'_> {
    /// The governance state after the parent (and this block's earlier transactions).
    pub(crate) fn governance(&self) -> Result<GovernanceState, LedgerError> {
        let key = StateKey::Governance;
        match self.get(&key)? {
            Some(StateValue::Governance(g)) => Ok(g),
            _ => Err(crate::corrupt(
                Column::State,
                key.hash(self.suite).as_bytes(),
                "missing governance state",
            )),
        }
    }

    /// The validator set of `epoch`.
    pub(crate) fn epoch_set(&self, epoch: Epoch) -> Result<ValidatorSet, LedgerError> {
        let key = StateKey::EpochSet(epoch);
        match self.get(&key)? {
            Some(StateValue::ValidatorSet(s)) => Ok(s),
            _ => Err(crate::corrupt(
                Column::State,
                key.hash(self.suite).as_bytes(),
                format!("missing validator set of epoch {epoch}"),
            )),
        }
    }

    /// Is `agency` an agency that was not removed?
    pub(crate) fn is_agency(&self, agency: &AgencyId) -> Result<bool, LedgerError> {
        Ok(matches!(
            self.get(&StateKey::Agency(agency.clone()))?,
            Some(StateValue::Agency(a)) if !a.removed
        ))
    }

    pub(crate) fn propose_change(
        &self,
        r: &ProposeChange,
        agency: &AgencyId,
        signer: PublicKey,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        let key = StateKey::Proposal(r.proposal_id.clone());
        if self.get(&key)?.is_some() {
            return Ok(Err(ProposalExists));
        }
        if r.deadline <= self.time {
            return Ok(Err(ProposalExpired));
        }
        // Refuse now what could never pass as the state stands.
        refuse!(self.enact(&r.changes));
        Ok(Ok(vec![(
            key,
            StateValue::Proposal(ProposalState {
                agency: agency.clone(),
                proposer: signer,
                changes: r.changes.clone(),
                deadline: r.deadline,
                reason: r.reason,
                proposed_at: self.height,
                votes: vec![],
                status: ProposalStatus::Open,
                last_tx: tx,
            }),
        )]))
    }

    pub(crate) fn vote(
        &self,
        r: &Vote,
        agency: &AgencyId,
        signer: PublicKey,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        let key = StateKey::Proposal(r.proposal_id.clone());
        let mut p = match self.get(&key)? {
            Some(StateValue::Proposal(p)) => p,
            _ => return Ok(Err(ProposalUnknown)),
        };
        if p.status != ProposalStatus::Open {
            return Ok(Err(ProposalClosed));
        }
        if self.time >= p.deadline {
            return Ok(Err(ProposalExpired));
        }
        let vote = AgencyVote {
            agency: agency.clone(),
            approve: r.approve,
            signer,
            height: self.height,
        };
        match p.votes.binary_search_by(|v| v.agency.cmp(agency)) {
            Ok(i) => p.votes[i] = vote,
            Err(i) => p.votes.insert(i, vote),
        }
        let gov = self.governance()?.settled_at(self.height);
        let n = gov.agencies.len() as u64;
        let threshold = gov.params.governance_threshold;
        let (yes, no) = p.tally(&gov.agencies);
        let mut writes = Vec::new();
        if threshold.passes(yes, n) {
            let enacted = refuse!(self.enact(&p.changes));
            p.status = ProposalStatus::Passed {
                at: self.height,
                epoch: enacted.epoch.map(|(e, _)| e),
                effective_height: enacted.epoch.map(|(_, h)| h),
            };
            writes = enacted.writes;
        } else if !threshold.passes(n.saturating_sub(no), n) {
            p.status = ProposalStatus::Failed { at: self.height };
        }
        p.last_tx = tx;
        writes.push((key, StateValue::Proposal(p)));
        Ok(Ok(writes))
    }

    /// Apply `changes` as passed in this block: the writes, or the first refusal.
    fn enact(&self, changes: &[Change]) -> Result<Result<Enacted, ReasonCode>, LedgerError> {
        let height = self.height;
        let mut gov = self.governance()?.settled_at(height);
        let in_force = self.epoch_set(gov.epoch)?;
        let (mut next, mut next_params) = match &gov.pending {
            Some(p) => (self.epoch_set(p.epoch)?, p.params.clone()),
            None => (in_force.clone(), gov.params.clone()),
        };
        let mut epoch_change = false;
        let mut w = Work {
            exec: self,
            writes: BTreeMap::new(),
        };
        for c in changes {
            match c {
                Change::AddAgency {
                    id,
                    name_zh,
                    name_en,
                    admin_keys,
                } => {
                    if w.get(&StateKey::Agency(id.clone()))?.is_some() {
                        return Ok(Err(AgencyExists));
                    }
                    if gov.agencies.len() >= AGENCIES_MAX {
                        return Ok(Err(LimitExceeded));
                    }
                    for k in admin_keys {
                        refuse!(w.add_admin(*k, id, name_en));
                    }
                    w.put(
                        StateKey::Agency(id.clone()),
                        StateValue::Agency(AgencyState {
                            name_zh: name_zh.clone(),
                            name_en: name_en.clone(),
                            admin_keys: admin_keys.clone(),
                            removed: false,
                        }),
                    );
                    if let Err(i) = gov.agencies.binary_search(id) {
                        gov.agencies.insert(i, id.clone());
                    }
                }
                Change::RemoveAgency { id } => {
                    let Some(a) = w.agency(id)? else {
                        return Ok(Err(UnknownAgency));
                    };
                    let runs = |s: &ValidatorSet| s.validators.iter().any(|v| v.agency == *id);
                    if runs(&in_force) || runs(&next) {
                        return Ok(Err(AgencyHasValidator));
                    }
                    w.put(
                        StateKey::Agency(id.clone()),
                        StateValue::Agency(AgencyState { removed: true, ..a }),
                    );
                    if let Ok(i) = gov.agencies.binary_search(id) {
                        gov.agencies.remove(i);
                    }
                }
                Change::AddValidator {
                    agency,
                    name,
                    consensus_key,
                    network_key,
                    power,
                } => {
                    if w.agency(agency)?.is_none() {
                        return Ok(Err(UnknownAgency));
                    }
                    if next.validators.iter().any(|v| v.name == *name) {
                        return Ok(Err(ValidatorExists));
                    }
                    if w.key_used(&Work::consensus(*consensus_key))?
                        || w.key_used(&w.network(*network_key))?
                    {
                        return Ok(Err(KeyReused));
                    }
                    if next.validators.len() >= VALIDATORS_MAX {
                        return Ok(Err(LimitExceeded));
                    }
                    w.use_key(Work::consensus(*consensus_key), name, KeyUse::Consensus);
                    w.use_key(w.network(*network_key), name, KeyUse::Network);
                    next.validators.push(Validator {
                        name: name.clone(),
                        agency: agency.clone(),
                        consensus_key: *consensus_key,
                        network_key: *network_key,
                        power: *power,
                    });
                    epoch_change = true;
                }
                Change::RemoveValidator { name } => {
                    let Some(i) = next.validators.iter().position(|v| v.name == *name) else {
                        return Ok(Err(ValidatorUnknown));
                    };
                    if next.validators.len() - 1 < self.validators_min {
                        return Ok(Err(ValidatorSetTooSmall));
                    }
                    let v = next.validators.remove(i);
                    w.retire_key(
                        Work::consensus(v.consensus_key),
                        name,
                        KeyUse::Consensus,
                        height,
                    )?;
                    w.retire_key(w.network(v.network_key), name, KeyUse::Network, height)?;
                    epoch_change = true;
                }
                Change::RotateValidatorKeys {
                    name,
                    consensus_key,
                    network_key,
                } => {
                    let Some(i) = next.validators.iter().position(|v| v.name == *name) else {
                        return Ok(Err(ValidatorUnknown));
                    };
                    let new_keys = consensus_key
                        .iter()
                        .map(|k| Work::consensus(*k))
                        .chain(network_key.iter().map(|k| w.network(*k)));
                    for k in new_keys.collect::<Vec<_>>() {
                        if w.key_used(&k)? {
                            return Ok(Err(KeyReused));
                        }
                    }
                    let v = &mut next.validators[i];
                    if let Some(k) = consensus_key {
                        w.retire_key(
                            Work::consensus(v.consensus_key),
                            name,
                            KeyUse::Consensus,
                            height,
                        )?;
                        w.use_key(Work::consensus(*k), name, KeyUse::Consensus);
                        v.consensus_key = *k;
                    }
                    if let Some(k) = network_key {
                        let (old, new) = (w.network(v.network_key), w.network(*k));
                        w.retire_key(old, name, KeyUse::Network, height)?;
                        w.use_key(new, name, KeyUse::Network);
                        v.network_key = *k;
                    }
                    epoch_change = true;
                }
                Change::SetAdminKeys { agency, admin_keys } => {
                    let Some(a) = w.agency(agency)? else {
                        return Ok(Err(UnknownAgency));
                    };
                    for k in admin_keys {
                        if !a.admin_keys.contains(k) {
                            refuse!(w.add_admin(*k, agency, &a.name_en));
                        }
                    }
                    for k in &a.admin_keys {
                        if admin_keys.contains(k) {
                            continue;
                        }
                        if let Some(StateValue::Member(m)) = w.get(&StateKey::Member(*k))? {
                            if m.agency == *agency {
                                w.put(
                                    StateKey::Member(*k),
                                    StateValue::Member(MemberState { revoked: true, ..m }),
                                );
                            }
                        }
                    }
                    w.put(
                        StateKey::Agency(agency.clone()),
                        StateValue::Agency(AgencyState {
                            admin_keys: admin_keys.clone(),
                            ..a
                        }),
                    );
                }
                Change::SetParams { params } => {
                    next_params = params.clone();
                    epoch_change = true;
                }
                Change::SetProcurementLimits { limits } => {
                    for r in &limits.rules {
                        for a in &r.agencies {
                            if w.agency(a)?.is_none() {
                                return Ok(Err(UnknownAgency));
                            }
                        }
                    }
                    w.put(
                        StateKey::ProcurementLimits,
                        StateValue::ProcurementLimits(limits.clone()),
                    );
                }
            }
        }
        let mut epoch = None;
        if epoch_change {
            let e = gov.epoch.next();
            // The delay in force when it passed, not the one it may set.
            let start = Height(
                height
                    .0
                    .saturating_add(gov.params.epoch_delay_blocks)
                    .saturating_add(1),
            );
            next.epoch = e;
            next.start_height = start;
            if next.validate().is_err() {
                return Ok(Err(LimitExceeded));
            }
            w.put(StateKey::EpochSet(e), StateValue::ValidatorSet(next));
            gov.pending = Some(PendingEpoch {
                epoch: e,
                start_height: start,
                params: next_params,
                passed_at: height,
            });
            epoch = Some((e, start));
        }
        w.put(StateKey::Governance, StateValue::Governance(gov));
        Ok(Ok(Enacted {
            writes: w.writes.into_values().collect(),
            epoch,
        }))
    }
}
