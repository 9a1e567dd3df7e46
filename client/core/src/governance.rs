//! Governance: the changes agencies vote on, the policy that decides them, and the
//! governance state the ledger commits to (so every decision is provable).
//!
//! Records ([`crate::record::ProposeChange`], [`crate::record::Vote`]) are signed by agency
//! admin keys (members holding [`crate::record::Role::Admin`]). The policy is in the
//! genesis [`ChainParams`] and changeable only by a proposal that passes under it. The
//! rules the ledger applies are in `docs/governance.md`; this module checks formats and
//! limits only, and holds the pure decision arithmetic ([`Threshold`]).

use crate::codec::{check, ValidationError};
use crate::genesis::ChainParams;
use crate::ids::{AgencyId, Digest, Epoch, Height, NetworkKey, PublicKey, TimestampMs, TxHash};
use crate::limits::{
    ADMIN_KEYS_MAX, AGENCIES_MAX, BLOCK_BYTES_MAX, BLOCK_TXS_MAX, CHANGES_MAX, DELTA_MS_MAX,
    EPOCH_DELAY_BLOCKS_MAX, HEARTBEAT_MS_MAX, ID_BYTES_MAX, NAME_BYTES_MAX,
    THRESHOLD_DENOMINATOR_MAX,
};
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// The share of agencies whose approval passes a proposal: a proposal passes when
/// `approving agencies / agencies > numerator / denominator` (strictly more).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct Threshold {
    /// Numerator, below the denominator.
    pub numerator: u32,
    /// Denominator, 1..=[`THRESHOLD_DENOMINATOR_MAX`].
    pub denominator: u32,
}

impl Default for Threshold {
    /// More than two thirds of the agencies.
    fn default() -> Self {
        Threshold {
            numerator: 2,
            denominator: 3,
        }
    }
}

impl Threshold {
    /// Check the fraction: `0 <= numerator < denominator <= THRESHOLD_DENOMINATOR_MAX`.
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        if self.denominator == 0 || self.denominator as usize > THRESHOLD_DENOMINATOR_MAX {
            return Err(ValidationError::new(
                format!("{field}.denominator"),
                format!("1..={THRESHOLD_DENOMINATOR_MAX}"),
                self.denominator.to_string(),
            ));
        }
        if self.numerator >= self.denominator {
            return Err(ValidationError::new(
                format!("{field}.numerator"),
                format!(
                    "below the denominator {} (a proposal needs strictly more than the fraction)",
                    self.denominator
                ),
                self.numerator.to_string(),
            ));
        }
        Ok(())
    }

    /// Do `approvals` of `agencies` agencies pass a proposal?
    pub fn passes(&self, approvals: u64, agencies: u64) -> bool {
        u128::from(approvals) * u128::from(self.denominator)
            > u128::from(self.numerator) * u128::from(agencies)
    }

    /// The fewest approvals that pass among `agencies` agencies.
    pub fn approvals_needed(&self, agencies: u64) -> u64 {
        // Smallest a with a * den > num * n: floor(num * n / den) + 1.
        let n = u128::from(self.numerator) * u128::from(agencies);
        let d = u128::from(self.denominator.max(1));
        u64::try_from(n / d + 1).unwrap_or(u64::MAX)
    }
}

/// Default of [`ChainParams::epoch_delay_blocks`].
pub const EPOCH_DELAY_BLOCKS_DEFAULT: u64 = 2;

/// The fewest validators a change may leave when it removes one: n = 3f + 1 with f >= 1.
/// A chain whose genesis set is smaller (a development chain) may not go below its
/// genesis size instead (see docs/governance.md).
pub const VALIDATORS_MIN: usize = 4;

/// One change a proposal makes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A new agency joins; its admin keys become Admin members at once.
    AddAgency {
        /// Its id, never used before.
        id: AgencyId,
        /// Name in Chinese.
        name_zh: String,
        /// Name in English.
        name_en: String,
        /// Admin keys, strictly sorted, 1..=`ADMIN_KEYS_MAX`, never used before.
        admin_keys: Vec<PublicKey>,
    },
    /// An agency leaves (it must run no validator): its member keys are revoked.
    RemoveAgency {
        /// The agency.
        id: AgencyId,
    },
    /// A validator joins at the next epoch.
    AddValidator {
        /// The agency that runs it.
        agency: AgencyId,
        /// Node name, unique in the set.
        name: String,
        /// Consensus key, never used before.
        consensus_key: PublicKey,
        /// Network key, never used before.
        network_key: NetworkKey,
        /// Voting power, at least 1.
        power: u64,
    },
    /// A validator leaves at the next epoch; its keys are retired for good.
    RemoveValidator {
        /// Its name.
        name: String,
    },
    /// A validator's keys change at the next epoch; the old keys are retired for good.
    RotateValidatorKeys {
        /// Its name.
        name: String,
        /// New consensus key, if it changes.
        consensus_key: Option<PublicKey>,
        /// New network key, if it changes.
        network_key: Option<NetworkKey>,
    },
    /// An agency's admin keys become exactly these, at once: keys no longer listed are
    /// revoked, new ones become Admin members.
    SetAdminKeys {
        /// The agency.
        agency: AgencyId,
        /// Admin keys, strictly sorted, 1..=`ADMIN_KEYS_MAX`.
        admin_keys: Vec<PublicKey>,
    },
    /// The chain parameters become these at the next epoch.
    SetParams {
        /// The new parameters, whole.
        params: ChainParams,
    },
    /// The procurement limit standards become these, at once (issue 22): records after
    /// the block that passes it are assessed with them; earlier assessments stand.
    SetProcurementLimits {
        /// The new standards, whole (no rules: stop assessing).
        limits: crate::procurement::ProcurementLimits,
    },
}

impl Change {
    /// snake_case name of the change, as in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Change::AddAgency { .. } => "add_agency",
            Change::RemoveAgency { .. } => "remove_agency",
            Change::AddValidator { .. } => "add_validator",
            Change::RemoveValidator { .. } => "remove_validator",
            Change::RotateValidatorKeys { .. } => "rotate_validator_keys",
            Change::SetAdminKeys { .. } => "set_admin_keys",
            Change::SetParams { .. } => "set_params",
            Change::SetProcurementLimits { .. } => "set_procurement_limits",
        }
    }

    /// Does it take effect at the next epoch (validators, parameters) rather than at once
    /// (agencies, admin keys)?
    pub fn is_epoch_change(&self) -> bool {
        matches!(
            self,
            Change::AddValidator { .. }
                | Change::RemoveValidator { .. }
                | Change::RotateValidatorKeys { .. }
                | Change::SetParams { .. }
        )
    }

    /// Check formats and limits.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Change::AddAgency {
                id,
                name_zh,
                name_en,
                admin_keys: keys,
            } => {
                id.validate("id")?;
                check::nonempty("name_zh", name_zh, NAME_BYTES_MAX)?;
                check::nonempty("name_en", name_en, NAME_BYTES_MAX)?;
                admin_keys(keys)
            }
            Change::RemoveAgency { id } => id.validate("id"),
            Change::AddValidator {
                agency,
                name,
                consensus_key,
                network_key,
                power,
            } => {
                agency.validate("agency")?;
                check::id("name", name, ID_BYTES_MAX)?;
                if consensus_key.as_bytes() == network_key.as_bytes() {
                    return Err(ValidationError::new(
                        "network_key",
                        "a key other than the consensus key",
                        network_key.to_hex(),
                    ));
                }
                if *power == 0 {
                    return Err(ValidationError::new("power", "at least 1", "0"));
                }
                Ok(())
            }
            Change::RemoveValidator { name } => check::id("name", name, ID_BYTES_MAX),
            Change::RotateValidatorKeys {
                name,
                consensus_key,
                network_key,
            } => {
                check::id("name", name, ID_BYTES_MAX)?;
                match (consensus_key, network_key) {
                    (None, None) => Err(ValidationError::new(
                        "consensus_key",
                        "a new consensus key, a new network key, or both",
                        "neither",
                    )),
                    (Some(c), Some(n)) if c.as_bytes() == n.as_bytes() => {
                        Err(ValidationError::new(
                            "network_key",
                            "a key other than the new consensus key",
                            n.to_hex(),
                        ))
                    }
                    _ => Ok(()),
                }
            }
            Change::SetAdminKeys {
                agency,
                admin_keys: keys,
            } => {
                agency.validate("agency")?;
                admin_keys(keys)
            }
            Change::SetParams { params } => params.validate().map_err(|e| e.within("params")),
            Change::SetProcurementLimits { limits } => {
                limits.validate().map_err(|e| e.within("limits"))
            }
        }
    }
}

fn admin_keys(keys: &[PublicKey]) -> Result<(), ValidationError> {
    if keys.is_empty() {
        return Err(ValidationError::new(
            "admin_keys",
            "at least one admin key",
            "none",
        ));
    }
    check::list("admin_keys", keys, ADMIN_KEYS_MAX)?;
    check::strictly_sorted("admin_keys", keys)
}

/// The changes of a proposal: 1..=`CHANGES_MAX`, each valid, at most one `set_params`.
pub(crate) fn changes(v: &[Change]) -> Result<(), ValidationError> {
    if v.is_empty() {
        return Err(ValidationError::new(
            "changes",
            "at least one change",
            "none",
        ));
    }
    check::list("changes", v, CHANGES_MAX)?;
    let mut params = 0;
    for (i, c) in v.iter().enumerate() {
        c.validate()
            .map_err(|e| e.within(&format!("changes[{i}].{}", c.as_str())))?;
        if matches!(c, Change::SetParams { .. }) {
            params += 1;
            if params > 1 {
                return Err(ValidationError::new(
                    format!("changes[{i}]"),
                    "at most one set_params change per proposal",
                    "a second one",
                ));
            }
        }
    }
    Ok(())
}

impl ChainParams {
    /// Check every parameter against the kernel's limits (what a `set_params` change may
    /// set). A genesis is checked with [`ChainParams::validate_governance`] only, so files
    /// written before these checks keep loading.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let range = |f: &str, v: u64, min: u64, max: u64| {
            if v < min || v > max {
                return Err(ValidationError::new(
                    f,
                    format!("{min}..={max}"),
                    v.to_string(),
                ));
            }
            Ok(())
        };
        range(
            "block_txs_max",
            u64::from(self.block_txs_max),
            1,
            BLOCK_TXS_MAX as u64,
        )?;
        range(
            "block_bytes_max",
            u64::from(self.block_bytes_max),
            1,
            BLOCK_BYTES_MAX as u64,
        )?;
        range("delta_ms", self.delta_ms, 1, DELTA_MS_MAX)?;
        range("heartbeat_ms", self.heartbeat_ms, 0, HEARTBEAT_MS_MAX)?;
        self.validate_governance()
    }

    /// Check the governance policy: the threshold and the epoch delay.
    pub fn validate_governance(&self) -> Result<(), ValidationError> {
        self.governance_threshold.validate("governance_threshold")?;
        if self.epoch_delay_blocks == 0 || self.epoch_delay_blocks > EPOCH_DELAY_BLOCKS_MAX {
            return Err(ValidationError::new(
                "epoch_delay_blocks",
                format!("1..={EPOCH_DELAY_BLOCKS_MAX}"),
                self.epoch_delay_blocks.to_string(),
            ));
        }
        Ok(())
    }
}

// ----------------------------------------------------------------------------- state

/// Current state of an agency ([`crate::state::StateKey::Agency`]).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct AgencyState {
    /// Name in Chinese.
    pub name_zh: String,
    /// Name in English.
    pub name_en: String,
    /// The admin keys listed for it (genesis, `add_agency`, `set_admin_keys`).
    pub admin_keys: Vec<PublicKey>,
    /// Removed by a proposal: its member keys count as revoked, its id is never reused.
    pub removed: bool,
}

impl AgencyState {
    /// Check formats and limits.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check::text("agency.name_zh", &self.name_zh, NAME_BYTES_MAX)?;
        check::text("agency.name_en", &self.name_en, NAME_BYTES_MAX)?;
        check::list("agency.admin_keys", &self.admin_keys, ADMIN_KEYS_MAX)
    }
}

/// One agency's vote on a proposal: the latest vote by any of its admins.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct AgencyVote {
    /// The agency.
    pub agency: AgencyId,
    /// Approve or reject.
    pub approve: bool,
    /// The admin key that cast it.
    pub signer: PublicKey,
    /// Height of the block that carried it.
    pub height: Height,
}

/// Where a proposal stands, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Open for votes until its deadline (after it, it counts as expired:
    /// [`ProposalState::phase_at`]).
    Open,
    /// Passed in the block at `at`. Its agency and admin-key changes took effect there;
    /// its validator and parameter changes, if any, take effect with `epoch`, from
    /// `effective_height` (later proposals passed before that height may push it back).
    Passed {
        /// Height of the block that passed it.
        at: Height,
        /// The epoch its validator and parameter changes start, if it has any.
        epoch: Option<Epoch>,
        /// The first height of that epoch, as scheduled when it passed.
        effective_height: Option<Height>,
    },
    /// Failed in the block at `at`: passing had become impossible.
    Failed {
        /// Height of the block that decided it.
        at: Height,
    },
}

/// A proposal's phase at a given block time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalPhase {
    /// Open for votes.
    Open,
    /// Passed.
    Passed,
    /// Failed by votes.
    Failed,
    /// Still open at its deadline: failed by time.
    Expired,
}

/// Current state of a proposal ([`crate::state::StateKey::Proposal`]).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct ProposalState {
    /// The proposing agency.
    pub agency: AgencyId,
    /// The admin key that proposed it.
    pub proposer: PublicKey,
    /// The changes.
    pub changes: Vec<Change>,
    /// Voting deadline in block time: from a block whose time is at or after it, the
    /// proposal is expired.
    pub deadline: TimestampMs,
    /// Hash of the document that explains it.
    pub reason: Digest,
    /// Height of the block that carried the proposal.
    pub proposed_at: Height,
    /// One vote per agency (the latest counts), strictly sorted by agency.
    pub votes: Vec<AgencyVote>,
    /// As stored.
    pub status: ProposalStatus,
    /// The last transaction that changed it.
    pub last_tx: TxHash,
}

impl ProposalState {
    /// Its phase in a block at time `t`: an open proposal whose deadline is at or before
    /// `t` is expired (deadlines are block time, like grant validity; nothing is written
    /// when a deadline passes, so a block without transactions changes nothing).
    pub fn phase_at(&self, t: TimestampMs) -> ProposalPhase {
        match self.status {
            ProposalStatus::Passed { .. } => ProposalPhase::Passed,
            ProposalStatus::Failed { .. } => ProposalPhase::Failed,
            ProposalStatus::Open if t >= self.deadline => ProposalPhase::Expired,
            ProposalStatus::Open => ProposalPhase::Open,
        }
    }

    /// Approvals and rejections by the agencies in `active` (strictly sorted).
    pub fn tally(&self, active: &[AgencyId]) -> (u64, u64) {
        let (mut yes, mut no) = (0, 0);
        for v in &self.votes {
            if active.binary_search(&v.agency).is_ok() {
                if v.approve {
                    yes += 1;
                } else {
                    no += 1;
                }
            }
        }
        (yes, no)
    }

    /// Check formats and limits.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.agency.validate("proposal.agency")?;
        changes(&self.changes).map_err(|e| e.within("proposal"))?;
        check::list("proposal.votes", &self.votes, AGENCIES_MAX)?;
        let agencies: Vec<&AgencyId> = self.votes.iter().map(|v| &v.agency).collect();
        check::strictly_sorted("proposal.votes.agency", &agencies)
    }
}

/// The validator set and parameters scheduled for the next epoch.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct PendingEpoch {
    /// The epoch (the current one plus one).
    pub epoch: Epoch,
    /// Its first height: the block after `epoch_delay_blocks` blocks following `passed_at`.
    pub start_height: Height,
    /// Its parameters.
    pub params: ChainParams,
    /// Height of the block that passed the last proposal merged into it.
    pub passed_at: Height,
}

/// The consortium and the epochs ([`crate::state::StateKey::Governance`]). The validator
/// set of each epoch is under [`crate::state::StateKey::EpochSet`].
///
/// The switch to a pending epoch writes nothing: from `pending.start_height` on, the
/// pending epoch *is* the current one ([`GovernanceState::epoch_at`]); the next change to
/// this value folds it in. So the state after a block tells the epoch of every following
/// height until another proposal passes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct GovernanceState {
    /// The agencies not removed, strictly sorted: the electorate.
    pub agencies: Vec<AgencyId>,
    /// The epoch in force when this value was written.
    pub epoch: Epoch,
    /// Its parameters.
    pub params: ChainParams,
    /// The next epoch, once a proposal with validator or parameter changes passed.
    pub pending: Option<PendingEpoch>,
}

impl GovernanceState {
    /// The epoch in force at `height` (for heights after the block this state is from).
    pub fn epoch_at(&self, height: Height) -> Epoch {
        match &self.pending {
            Some(p) if height >= p.start_height => p.epoch,
            _ => self.epoch,
        }
    }

    /// The parameters in force at `height`.
    pub fn params_at(&self, height: Height) -> &ChainParams {
        match &self.pending {
            Some(p) if height >= p.start_height => &p.params,
            _ => &self.params,
        }
    }

    /// If the block at `height` is the last of its epoch: the next epoch.
    pub fn epoch_ending_at(&self, height: Height) -> Option<Epoch> {
        match &self.pending {
            Some(p) if p.start_height == height.next() => Some(p.epoch),
            _ => None,
        }
    }

    /// The same state with a pending epoch that started at or before `height` folded in.
    pub fn settled_at(&self, height: Height) -> GovernanceState {
        match &self.pending {
            Some(p) if height >= p.start_height => GovernanceState {
                agencies: self.agencies.clone(),
                epoch: p.epoch,
                params: p.params.clone(),
                pending: None,
            },
            _ => self.clone(),
        }
    }

    /// Is `agency` in the electorate?
    pub fn is_active(&self, agency: &AgencyId) -> bool {
        self.agencies.binary_search(agency).is_ok()
    }

    /// Check formats and limits.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check::list("governance.agencies", &self.agencies, AGENCIES_MAX)?;
        check::strictly_sorted("governance.agencies", &self.agencies)
    }
}

/// What a validator key is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
pub enum KeyUse {
    /// Signs consensus votes.
    Consensus,
    /// Network (libp2p) identity.
    Network,
}

/// A validator key ever used ([`crate::state::StateKey::ValidatorKey`]): present for good,
/// so no key is ever used twice.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct ValidatorKeyState {
    /// The validator's name.
    pub validator: String,
    /// What it is for.
    pub key_use: KeyUse,
    /// Retired (rotated out or its validator removed) by the proposal that passed at this
    /// height; it leaves the set at that proposal's epoch.
    pub retired_at: Option<Height>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_threshold_is_more_than_two_thirds() {
        let t = Threshold::default();
        // n = 3f + 1 agencies need 2f + 1 approvals.
        for f in 0..20u64 {
            let n = 3 * f + 1;
            assert_eq!(t.approvals_needed(n), 2 * f + 1, "n = {n}");
            assert!(t.passes(2 * f + 1, n));
            assert!(!t.passes(2 * f, n));
        }
        // Exactly two thirds is not more than two thirds.
        assert!(!t.passes(2, 3));
        assert!(!t.passes(4, 6));
        assert!(t.passes(5, 6));
    }

    #[test]
    fn approvals_needed_is_the_least_that_passes() {
        for (num, den) in [(0, 1), (1, 2), (2, 3), (3, 4), (99, 100)] {
            let t = Threshold {
                numerator: num,
                denominator: den,
            };
            for n in 1..50 {
                let a = t.approvals_needed(n);
                assert!(t.passes(a, n), "{num}/{den} of {n}: {a}");
                assert!(a == 0 || !t.passes(a - 1, n), "{num}/{den} of {n}: {a}");
            }
        }
    }

    #[test]
    fn thresholds_outside_zero_to_one_are_refused() {
        let bad = |num, den| {
            Threshold {
                numerator: num,
                denominator: den,
            }
            .validate("t")
            .unwrap_err()
            .field
        };
        assert_eq!(bad(1, 0), "t.denominator");
        assert_eq!(bad(3, 3), "t.numerator");
        assert_eq!(bad(4, 3), "t.numerator");
        assert_eq!(
            bad(1, THRESHOLD_DENOMINATOR_MAX as u32 + 1),
            "t.denominator"
        );
    }

    #[test]
    fn pending_epoch_takes_over_at_its_start_height() {
        let params = ChainParams::default();
        let next = ChainParams {
            heartbeat_ms: 1,
            ..params.clone()
        };
        let g = GovernanceState {
            agencies: vec![],
            epoch: Epoch(3),
            params: params.clone(),
            pending: Some(PendingEpoch {
                epoch: Epoch(4),
                start_height: Height(13),
                params: next.clone(),
                passed_at: Height(10),
            }),
        };
        assert_eq!(g.epoch_at(Height(12)), Epoch(3));
        assert_eq!(g.epoch_at(Height(13)), Epoch(4));
        assert_eq!(g.params_at(Height(12)), &params);
        assert_eq!(g.params_at(Height(13)), &next);
        assert_eq!(g.epoch_ending_at(Height(11)), None);
        assert_eq!(g.epoch_ending_at(Height(12)), Some(Epoch(4)));
        assert_eq!(g.epoch_ending_at(Height(13)), None);
        assert_eq!(g.settled_at(Height(12)), g);
        let s = g.settled_at(Height(13));
        assert_eq!((s.epoch, s.pending, s.params), (Epoch(4), None, next));
    }

    #[test]
    fn change_rules() {
        let k = |b: u8| PublicKey::Ed25519([b; 32]);
        let ok = Change::AddValidator {
            agency: AgencyId("a".into()),
            name: "a-5".into(),
            consensus_key: k(1),
            network_key: NetworkKey([2; 32]),
            power: 1,
        };
        assert_eq!(ok.validate(), Ok(()));
        let same = Change::AddValidator {
            agency: AgencyId("a".into()),
            name: "a-5".into(),
            consensus_key: k(1),
            network_key: NetworkKey([1; 32]),
            power: 1,
        };
        assert_eq!(same.validate().unwrap_err().field, "network_key");
        let none = Change::RotateValidatorKeys {
            name: "a-1".into(),
            consensus_key: None,
            network_key: None,
        };
        assert_eq!(none.validate().unwrap_err().field, "consensus_key");
        let unsorted = Change::SetAdminKeys {
            agency: AgencyId("a".into()),
            admin_keys: vec![k(2), k(1)],
        };
        assert_eq!(unsorted.validate().unwrap_err().field, "admin_keys");
        let p = Change::SetParams {
            params: ChainParams {
                epoch_delay_blocks: 0,
                ..ChainParams::default()
            },
        };
        assert_eq!(p.validate().unwrap_err().field, "params.epoch_delay_blocks");
        let two = vec![
            Change::SetParams {
                params: ChainParams::default(),
            },
            Change::SetParams {
                params: ChainParams::default(),
            },
        ];
        assert_eq!(changes(&two).unwrap_err().field, "changes[1]");
        assert_eq!(changes(&[]).unwrap_err().field, "changes");
        assert_eq!(
            changes(&vec![ok; CHANGES_MAX + 1]).unwrap_err().field,
            "changes"
        );
    }
}
