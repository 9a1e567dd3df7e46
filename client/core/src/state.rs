//! The ledger state as committed by block headers, and proofs about it.
//!
//! The state is a map from [`StateKey`] to [`StateValue`] (assets, awards, grants, members,
//! sequence numbers, dataset owners). Block headers carry its root: the root of a binary
//! Merkle trie over `key_hash = H(STATE_KEY, canonical(key))`, 256 bits deep in principle,
//! with compressed paths:
//!
//! - an empty subtree hashes to [`EMPTY`] (the zero digest);
//! - a subtree holding exactly one entry *is* that entry's leaf, whatever its depth:
//!   `leaf = H(STATE_LEAF, 0x01 || key_hash || value_hash)` with
//!   `value_hash = H(STATE_LEAF, 0x00 || canonical(value))` (the prefix byte keeps the two
//!   uses of the tag apart);
//! - any other subtree is an interior node `H(STATE_NODE, left || right)`; bit `d` of the
//!   key hash (most significant bit of byte 0 first) chooses the child at depth `d`.
//!
//! So a proof is the list of sibling hashes from the root down to where the key's path
//! ends, about `log2(n)` hashes for `n` entries, never more than [`PROOF_SIBLINGS_MAX`].
//! A path ends in the key's own leaf (existence), in an empty subtree, or in the leaf of
//! another key that shares the path's prefix (both non-existence).
//!
//! [`verify_state_proof`] checks a [`StateProof`] against a state root: pure, no IO. With a
//! checkpoint (a block header and its finalization certificate) it proves offline, with
//! only the genesis file, "asset X is held by agency Y as of block H" or "grant G is (not)
//! active at the time of block H" ([`GrantState::is_active_at`]).
//!
//! Normative specification: docs/spec/04-proofs.md, section 4.2; keys and values: 03-structures.md, section 3.14.

use crate::codec::{self, check, Canonical, ValidationError};
use crate::domain;
use crate::governance::{AgencyState, GovernanceState, ProposalState, ValidatorKeyState};
use crate::ids::{
    AgencyId, Amount, Date, Digest, Epoch, Height, NetworkKey, PublicKey, Seq, TimestampMs, TxHash,
};
use crate::limits::{
    ID_BYTES_MAX, NAME_BYTES_MAX, PROOF_SIBLINGS_MAX, ROLES_MAX, STATE_PROOF_ENCODING_BYTES_MAX,
    STATE_VALUE_ENCODING_BYTES_MAX, SUPPLIERS_MAX,
};
use crate::procurement::{ComplianceFlag, ComplianceRule, ProcurementLimits};
use crate::record::{AwardStatus, ProcurementMethod, Role, Supplier};
use crate::suite::Suite;
use crate::validator::ValidatorSet;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The hash of an empty subtree (and the root of an empty state).
pub const EMPTY: Digest = Digest::ZERO;

/// A key of the state map.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
pub enum StateKey {
    /// An asset, by asset id.
    Asset(String),
    /// An award, by (ocid, award id).
    Award(String, String),
    /// A data-sharing grant, by grant id.
    Grant(String),
    /// A member key.
    Member(PublicKey),
    /// The next sequence number of a signer key.
    Seq(PublicKey),
    /// The owner agency of a dataset id.
    Dataset(String),
    /// An agency (genesis or added by governance).
    Agency(AgencyId),
    /// A governance proposal, by proposal id.
    Proposal(String),
    /// The consortium's electorate and epochs (one entry).
    Governance,
    /// The validator set of an epoch.
    EpochSet(Epoch),
    /// A validator key ever used: a consensus key, or in an `ed25519-blake3` chain also a
    /// network key (both Ed25519 there, so one namespace; [`StateKey::network_key`]).
    ValidatorKey(PublicKey),
    /// A network key ever used, in a chain whose signer keys are not Ed25519 (`sm2-sm3`).
    NetworkKey(NetworkKey),
    // Issue 22, appended so that every earlier key keeps its encoding and its path.
    /// The tender of a contracting process, by ocid.
    Tender(String),
    /// A contract, by (ocid, contract id).
    Contract(String, String),
    /// The limit-standard assessment of a tender, award or contract; present only where a
    /// standard applied when it was recorded or last changed.
    Compliance(ComplianceSubject),
    /// The chain's procurement limit standards (one entry; absent: none).
    ProcurementLimits,
}

/// What a compliance assessment is about.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
pub enum ComplianceSubject {
    /// The tender of a process (ocid).
    Tender(String),
    /// An award (ocid, award id).
    Award(String, String),
    /// A contract (ocid, contract id).
    Contract(String, String),
}

impl ComplianceSubject {
    fn validate(&self) -> Result<(), ValidationError> {
        match self {
            ComplianceSubject::Tender(o) => check::id("key.ocid", o, ID_BYTES_MAX),
            ComplianceSubject::Award(o, a) | ComplianceSubject::Contract(o, a) => {
                check::id("key.ocid", o, ID_BYTES_MAX)?;
                check::id("key.id", a, ID_BYTES_MAX)
            }
        }
    }
}

impl StateKey {
    /// Where a validator's network key is recorded in a chain of `suite`: under
    /// [`StateKey::ValidatorKey`] with the same bytes in the default suite (as before suites
    /// existed; network and consensus keys are both Ed25519 there and must differ), under
    /// [`StateKey::NetworkKey`] in `sm2-sm3`, where a signer key is 65 bytes and could not
    /// hold it.
    pub fn network_key(suite: crate::suite::Suite, key: NetworkKey) -> StateKey {
        match suite {
            crate::suite::Suite::Ed25519Blake3 => StateKey::ValidatorKey(key.as_public_key()),
            crate::suite::Suite::Sm2Sm3 => StateKey::NetworkKey(key),
        }
    }

    /// `H(STATE_KEY, canonical(key))`: the key's path in the tree, `H` the chain's suite's.
    pub fn hash(&self, suite: Suite) -> Digest {
        suite.hash(domain::STATE_KEY, &codec::encode(self))
    }

    /// Check formats and limits.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            StateKey::Asset(a) => check::id("key.asset", a, ID_BYTES_MAX),
            StateKey::Award(o, a) => {
                check::id("key.ocid", o, ID_BYTES_MAX)?;
                check::id("key.award_id", a, ID_BYTES_MAX)
            }
            StateKey::Grant(g) => check::id("key.grant", g, ID_BYTES_MAX),
            StateKey::Dataset(d) => check::id("key.dataset", d, ID_BYTES_MAX),
            StateKey::Agency(a) => a.validate("key.agency"),
            StateKey::Proposal(p) => check::id("key.proposal", p, ID_BYTES_MAX),
            StateKey::Tender(o) => check::id("key.ocid", o, ID_BYTES_MAX),
            StateKey::Contract(o, c) => {
                check::id("key.ocid", o, ID_BYTES_MAX)?;
                check::id("key.contract_id", c, ID_BYTES_MAX)
            }
            StateKey::Compliance(s) => s.validate(),
            StateKey::ProcurementLimits
            | StateKey::Member(_)
            | StateKey::Seq(_)
            | StateKey::Governance
            | StateKey::EpochSet(_)
            | StateKey::ValidatorKey(_)
            | StateKey::NetworkKey(_) => Ok(()),
        }
    }
}

/// Whether an asset is still on the register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
pub enum AssetStatus {
    /// Held by its custodian.
    Held,
    /// Disposed of; it can do nothing more.
    Disposed,
}

/// Current state of an asset.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct AssetState {
    /// Custodian agency.
    pub custodian: AgencyId,
    /// Status.
    pub status: AssetStatus,
    /// Height of the block that registered it.
    pub registered_at: Height,
    /// The last transaction that changed it.
    pub last_tx: TxHash,
}

/// Current state of an award.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct AwardState {
    /// Purchasing agency.
    pub purchaser: AgencyId,
    /// Status (`Cancelled` once cancelled).
    pub status: AwardStatus,
    /// Current value.
    pub value: Amount,
    /// Award date.
    pub award_date: Date,
    /// Current suppliers.
    pub suppliers: Vec<Supplier>,
    /// The last transaction that changed it.
    pub last_tx: TxHash,
}

/// Where a tender is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
pub enum TenderStatus {
    /// Published, taking bids.
    Active,
    /// Closed: bids are in and awards may follow.
    Complete,
}

/// Current state of a tender.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct TenderState {
    /// Purchasing agency.
    pub purchaser: AgencyId,
    /// Procurement method (awards of the process are assessed with it).
    pub method: ProcurementMethod,
    /// Budget.
    pub budget: Amount,
    /// Day published.
    pub publish_date: Date,
    /// Last day for bids.
    pub submission_deadline: Date,
    /// Status.
    pub status: TenderStatus,
    /// Day closed, once closed.
    pub closed: Option<Date>,
    /// Bids received, once closed.
    pub bids_received: Option<u32>,
    /// The last transaction that changed it.
    pub last_tx: TxHash,
}

/// Where a contract is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    /// Signed and running.
    Active,
    /// Final payment made.
    Complete,
    /// Ended early.
    Terminated,
}

/// Current state of a contract.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct ContractState {
    /// Purchasing agency.
    pub purchaser: AgencyId,
    /// The award it implements.
    pub award_id: String,
    /// Current value.
    pub value: Amount,
    /// Paid so far (in the value's currency); never above `value`.
    pub paid: Amount,
    /// Day signed.
    pub signed_date: Date,
    /// Last day of the period.
    pub period_end: Date,
    /// The latest date recorded on it (signature, amendment, step): later steps may not
    /// be dated before it.
    pub last_date: Date,
    /// Status.
    pub status: ContractStatus,
    /// The process's method, where known (from its tender or its award's assessment): the
    /// contract is assessed with it.
    pub method: Option<ProcurementMethod>,
    /// The last transaction that changed it.
    pub last_tx: TxHash,
}

/// The assessment of a tender, award or contract against the limit standards.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct ComplianceState {
    /// The method assessed.
    pub method: ProcurementMethod,
    /// Flags earned (empty: compliant).
    pub flags: Vec<ComplianceFlag>,
}

/// Current state of a data-sharing grant.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct GrantState {
    /// Dataset.
    pub dataset_id: String,
    /// Granting agency (the dataset's owner).
    pub grantor: AgencyId,
    /// Agency allowed to use the dataset.
    pub grantee: AgencyId,
    /// First day of validity.
    pub valid_from: Date,
    /// Last day of validity.
    pub valid_until: Date,
    /// Revoked by the grantor?
    pub revoked: bool,
    /// The last transaction that changed it.
    pub last_tx: TxHash,
}

/// Milliseconds in a day.
const DAY_MS: u64 = 86_400_000;

impl GrantState {
    /// Is the grant active at block time `t`: not revoked, and
    /// `start of valid_from <= t < start of the day after valid_until` (UTC)?
    pub fn is_active_at(&self, t: TimestampMs) -> bool {
        let from = self.valid_from.start_ms().0;
        let until = self.valid_until.start_ms().0.saturating_add(DAY_MS);
        !self.revoked && from <= t.0 && t.0 < until
    }
}

/// Current state of a member key.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct MemberState {
    /// Its agency.
    pub agency: AgencyId,
    /// Display name.
    pub name: String,
    /// Roles, sorted, no duplicates.
    pub roles: Vec<Role>,
    /// Revoked?
    pub revoked: bool,
}

impl MemberState {
    /// Does the key hold `role` (and is it not revoked)?
    pub fn may(&self, role: Role) -> bool {
        !self.revoked && self.roles.binary_search(&role).is_ok()
    }
}

/// A value of the state map; its variant matches its key's.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
pub enum StateValue {
    /// For [`StateKey::Asset`].
    Asset(AssetState),
    /// For [`StateKey::Award`].
    Award(AwardState),
    /// For [`StateKey::Grant`].
    Grant(GrantState),
    /// For [`StateKey::Member`].
    Member(MemberState),
    /// For [`StateKey::Seq`]: the next sequence number the key must use.
    Seq(Seq),
    /// For [`StateKey::Dataset`]: the owner agency.
    Dataset(AgencyId),
    /// For [`StateKey::Agency`].
    Agency(AgencyState),
    /// For [`StateKey::Proposal`].
    Proposal(ProposalState),
    /// For [`StateKey::Governance`].
    Governance(GovernanceState),
    /// For [`StateKey::EpochSet`].
    ValidatorSet(ValidatorSet),
    /// For [`StateKey::ValidatorKey`].
    ValidatorKey(ValidatorKeyState),
    // Issue 22, appended.
    /// For [`StateKey::Tender`].
    Tender(TenderState),
    /// For [`StateKey::Contract`].
    Contract(ContractState),
    /// For [`StateKey::Compliance`].
    Compliance(ComplianceState),
    /// For [`StateKey::ProcurementLimits`].
    ProcurementLimits(ProcurementLimits),
}

impl StateValue {
    /// `H(STATE_LEAF, 0x00 || canonical(value))`, `H` the chain's suite's.
    pub fn hash(&self, suite: Suite) -> Digest {
        let mut h = suite.hasher(domain::STATE_LEAF);
        h.update(&[0x00]);
        h.update(&codec::encode(self));
        h.finalize()
    }

    /// Does this value's variant belong to `key`'s variant?
    pub fn fits(&self, key: &StateKey) -> bool {
        matches!(
            (key, self),
            (StateKey::Asset(_), StateValue::Asset(_))
                | (StateKey::Award(..), StateValue::Award(_))
                | (StateKey::Grant(_), StateValue::Grant(_))
                | (StateKey::Member(_), StateValue::Member(_))
                | (StateKey::Seq(_), StateValue::Seq(_))
                | (StateKey::Dataset(_), StateValue::Dataset(_))
                | (StateKey::Agency(_), StateValue::Agency(_))
                | (StateKey::Proposal(_), StateValue::Proposal(_))
                | (StateKey::Governance, StateValue::Governance(_))
                | (StateKey::EpochSet(_), StateValue::ValidatorSet(_))
                | (StateKey::ValidatorKey(_), StateValue::ValidatorKey(_))
                | (StateKey::NetworkKey(_), StateValue::ValidatorKey(_))
                | (StateKey::Tender(_), StateValue::Tender(_))
                | (StateKey::Contract(..), StateValue::Contract(_))
                | (StateKey::Compliance(_), StateValue::Compliance(_))
                | (
                    StateKey::ProcurementLimits,
                    StateValue::ProcurementLimits(_)
                )
        )
    }

    /// Check formats and limits.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            StateValue::Asset(a) => a.custodian.validate("asset.custodian"),
            StateValue::Award(a) => {
                a.purchaser.validate("award.purchaser")?;
                check::list("award.suppliers", &a.suppliers, SUPPLIERS_MAX)
            }
            StateValue::Grant(g) => {
                check::id("grant.dataset_id", &g.dataset_id, ID_BYTES_MAX)?;
                g.grantor.validate("grant.grantor")?;
                g.grantee.validate("grant.grantee")
            }
            StateValue::Member(m) => {
                m.agency.validate("member.agency")?;
                check::text("member.name", &m.name, NAME_BYTES_MAX)?;
                check::list("member.roles", &m.roles, ROLES_MAX)?;
                check::strictly_sorted("member.roles", &m.roles)
            }
            StateValue::Seq(_) => Ok(()),
            StateValue::Dataset(a) => a.validate("dataset.owner"),
            StateValue::Agency(a) => a.validate(),
            StateValue::Proposal(p) => p.validate(),
            StateValue::Governance(g) => g.validate(),
            StateValue::ValidatorSet(v) => {
                Canonical::validate(v).map_err(|e| e.within("validator_set"))
            }
            StateValue::ValidatorKey(k) => {
                check::id("validator_key.validator", &k.validator, ID_BYTES_MAX)
            }
            StateValue::Tender(t) => t.purchaser.validate("tender.purchaser"),
            StateValue::Contract(c) => {
                c.purchaser.validate("contract.purchaser")?;
                check::id("contract.award_id", &c.award_id, ID_BYTES_MAX)
            }
            StateValue::Compliance(c) => {
                check::list("compliance.flags", &c.flags, ComplianceRule::ALL.len())
            }
            StateValue::ProcurementLimits(l) => {
                l.validate().map_err(|e| e.within("procurement_limits"))
            }
        }
    }
}

impl Canonical for StateValue {
    const NAME: &'static str = "state value";
    const BYTES_MAX: usize = STATE_VALUE_ENCODING_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        StateValue::validate(self)
    }
}

/// `H(STATE_LEAF, 0x01 || key_hash || value_hash)`.
pub fn leaf_hash(suite: Suite, key_hash: &Digest, value_hash: &Digest) -> Digest {
    let mut h = suite.hasher(domain::STATE_LEAF);
    h.update(&[0x01]);
    h.update(key_hash.as_bytes());
    h.update(value_hash.as_bytes());
    h.finalize()
}

/// `H(STATE_NODE, left || right)`.
pub fn node_hash(suite: Suite, left: &Digest, right: &Digest) -> Digest {
    let mut h = suite.hasher(domain::STATE_NODE);
    h.update(left.as_bytes());
    h.update(right.as_bytes());
    h.finalize()
}

/// Bit `depth` of `key` (0 = most significant bit of byte 0): 0 goes left, 1 right.
pub fn bit(key: &Digest, depth: usize) -> bool {
    match key.0.get(depth / 8) {
        Some(b) => (b >> (7 - (depth % 8))) & 1 == 1,
        None => false,
    }
}

/// Do `a` and `b` agree on their first `bits` bits?
pub fn same_prefix(a: &Digest, b: &Digest, bits: usize) -> bool {
    (0..bits.min(256)).all(|d| bit(a, d) == bit(b, d))
}

/// Where a proof's path ends.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
pub enum ProofEnd {
    /// The key's own leaf: the value is in [`StateProof::value`].
    Value,
    /// An empty subtree: the key is absent.
    Empty,
    /// The leaf of another key with the same path prefix: the key is absent.
    OtherLeaf {
        /// That key's hash.
        key_hash: Digest,
        /// Its value's hash.
        value_hash: Digest,
    },
}

/// A proof that `key` maps to `value` (or to nothing) under some state root.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct StateProof {
    /// The key.
    pub key: StateKey,
    /// The value, or `None` for a proof of absence.
    pub value: Option<StateValue>,
    /// Sibling hashes from the root (depth 0) down to the end of the path.
    pub siblings: Vec<Digest>,
    /// What the path ends in.
    pub end: ProofEnd,
}

impl Canonical for StateProof {
    const NAME: &'static str = "state proof";
    const BYTES_MAX: usize = STATE_PROOF_ENCODING_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        self.key.validate()?;
        check::list("siblings", &self.siblings, PROOF_SIBLINGS_MAX)?;
        if let Some(v) = &self.value {
            v.validate().map_err(|e| e.within("value"))?;
        }
        Ok(())
    }
}

/// Why a state proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StateProofError {
    /// More siblings than key bits.
    #[error("proof has {found} siblings, at most {max} allowed")]
    TooLong {
        /// The limit.
        max: usize,
        /// Siblings in the proof.
        found: usize,
    },
    /// `value` and `end` disagree (a value with an absence end, or no value with a leaf end).
    #[error("proof claims {claim} but its path ends in {end}")]
    Inconsistent {
        /// What `value` claims.
        claim: &'static str,
        /// What `end` says.
        end: &'static str,
    },
    /// The value's variant does not belong to the key's.
    #[error("value of kind {value} cannot belong to a key of kind {key}")]
    ValueKindMismatch {
        /// The key's variant.
        key: String,
        /// The value's variant.
        value: String,
    },
    /// The other leaf of an absence proof is the key itself, or is not on the key's path.
    #[error("absence proof ends in leaf {found}, which is not another key on the path of {key}")]
    BadOtherLeaf {
        /// The key hash being proven absent.
        key: Digest,
        /// The leaf's key hash.
        found: Digest,
    },
    /// The recomputed root differs.
    #[error("proof leads to root {found}, expected {expected}")]
    RootMismatch {
        /// The trusted root.
        expected: Digest,
        /// The root the proof leads to.
        found: Digest,
    },
}

fn key_kind(k: &StateKey) -> &'static str {
    match k {
        StateKey::Asset(_) => "asset",
        StateKey::Award(..) => "award",
        StateKey::Grant(_) => "grant",
        StateKey::Member(_) => "member",
        StateKey::Seq(_) => "seq",
        StateKey::Dataset(_) => "dataset",
        StateKey::Agency(_) => "agency",
        StateKey::Proposal(_) => "proposal",
        StateKey::Governance => "governance",
        StateKey::EpochSet(_) => "epoch_set",
        StateKey::ValidatorKey(_) => "validator_key",
        StateKey::NetworkKey(_) => "network_key",
        StateKey::Tender(_) => "tender",
        StateKey::Contract(..) => "contract",
        StateKey::Compliance(_) => "compliance",
        StateKey::ProcurementLimits => "procurement_limits",
    }
}

fn value_kind(v: &StateValue) -> &'static str {
    match v {
        StateValue::Asset(_) => "asset",
        StateValue::Award(_) => "award",
        StateValue::Grant(_) => "grant",
        StateValue::Member(_) => "member",
        StateValue::Seq(_) => "seq",
        StateValue::Dataset(_) => "dataset",
        StateValue::Agency(_) => "agency",
        StateValue::Proposal(_) => "proposal",
        StateValue::Governance(_) => "governance",
        StateValue::ValidatorSet(_) => "epoch_set",
        StateValue::ValidatorKey(_) => "validator_key",
        StateValue::Tender(_) => "tender",
        StateValue::Contract(_) => "contract",
        StateValue::Compliance(_) => "compliance",
        StateValue::ProcurementLimits(_) => "procurement_limits",
    }
}

/// Fold a path bottom-up: start from `bottom` at depth `siblings.len()` and hash with each
/// sibling up to the root, going left or right by the bits of `key_hash`.
pub fn fold_path(suite: Suite, key_hash: &Digest, bottom: Digest, siblings: &[Digest]) -> Digest {
    let mut cur = bottom;
    for (depth, sib) in siblings.iter().enumerate().rev() {
        cur = if bit(key_hash, depth) {
            node_hash(suite, sib, &cur)
        } else {
            node_hash(suite, &cur, sib)
        };
    }
    cur
}

/// Verify `proof` against the trusted state `root`; returns the proven value (`None`: the
/// key is absent).
pub fn verify_state_proof(
    suite: Suite,
    root: &Digest,
    proof: &StateProof,
) -> Result<Option<StateValue>, StateProofError> {
    if proof.siblings.len() > PROOF_SIBLINGS_MAX {
        return Err(StateProofError::TooLong {
            max: PROOF_SIBLINGS_MAX,
            found: proof.siblings.len(),
        });
    }
    let key_hash = proof.key.hash(suite);
    let bottom = match (&proof.value, &proof.end) {
        (Some(v), ProofEnd::Value) => {
            if !v.fits(&proof.key) {
                return Err(StateProofError::ValueKindMismatch {
                    key: key_kind(&proof.key).to_string(),
                    value: value_kind(v).to_string(),
                });
            }
            leaf_hash(suite, &key_hash, &v.hash(suite))
        }
        (None, ProofEnd::Empty) => EMPTY,
        (
            None,
            ProofEnd::OtherLeaf {
                key_hash: other,
                value_hash,
            },
        ) => {
            if *other == key_hash || !same_prefix(other, &key_hash, proof.siblings.len()) {
                return Err(StateProofError::BadOtherLeaf {
                    key: key_hash,
                    found: *other,
                });
            }
            leaf_hash(suite, other, value_hash)
        }
        (Some(_), _) => {
            return Err(StateProofError::Inconsistent {
                claim: "a value",
                end: "an absence",
            })
        }
        (None, ProofEnd::Value) => {
            return Err(StateProofError::Inconsistent {
                claim: "absence",
                end: "the key's own leaf",
            })
        }
    };
    let found = fold_path(suite, &key_hash, bottom, &proof.siblings);
    if found != *root {
        return Err(StateProofError::RootMismatch {
            expected: *root,
            found,
        });
    }
    Ok(proof.value.clone())
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests decode in the default suite
mod tests {
    use super::*;

    fn member(agency: &str) -> StateValue {
        StateValue::Member(MemberState {
            agency: AgencyId(agency.into()),
            name: "x".into(),
            roles: vec![Role::Admin],
            revoked: false,
        })
    }

    /// Two keys whose hashes differ at bit 0 form a root of two leaves.
    fn two_leaves() -> (StateKey, StateKey, Digest) {
        let mut keys: Vec<StateKey> = (0..64u8)
            .map(|i| StateKey::Member(PublicKey::Ed25519([i; 32])))
            .collect();
        keys.sort_by_key(|k| bit(&k.hash(crate::suite::Suite::default()), 0));
        let a = keys[0].clone();
        let b = keys.last().cloned().unwrap_or_else(|| a.clone());
        assert!(
            !bit(&a.hash(crate::suite::Suite::default()), 0)
                && bit(&b.hash(crate::suite::Suite::default()), 0)
        );
        let la = leaf_hash(
            crate::suite::Suite::default(),
            &a.hash(crate::suite::Suite::default()),
            &member("mof").hash(crate::suite::Suite::default()),
        );
        let lb = leaf_hash(
            crate::suite::Suite::default(),
            &b.hash(crate::suite::Suite::default()),
            &member("moe").hash(crate::suite::Suite::default()),
        );
        (a, b, node_hash(crate::suite::Suite::default(), &la, &lb))
    }

    #[test]
    fn existence_and_absence_verify_and_tampering_fails() {
        let (a, b, root) = two_leaves();
        let lb = leaf_hash(
            crate::suite::Suite::default(),
            &b.hash(crate::suite::Suite::default()),
            &member("moe").hash(crate::suite::Suite::default()),
        );
        let proof = StateProof {
            key: a.clone(),
            value: Some(member("mof")),
            siblings: vec![lb],
            end: ProofEnd::Value,
        };
        assert_eq!(
            verify_state_proof(crate::suite::Suite::default(), &root, &proof),
            Ok(Some(member("mof")))
        );
        let mut bad = proof.clone();
        bad.value = Some(member("moe"));
        assert!(matches!(
            verify_state_proof(crate::suite::Suite::default(), &root, &bad),
            Err(StateProofError::RootMismatch { .. })
        ));
        // An absent key on a's side of the root ends at a's leaf.
        let absent = (0..1000)
            .map(|i| StateKey::Grant(format!("g{i}")))
            .find(|k| !bit(&k.hash(crate::suite::Suite::default()), 0))
            .unwrap();
        let la = leaf_hash(
            crate::suite::Suite::default(),
            &a.hash(crate::suite::Suite::default()),
            &member("mof").hash(crate::suite::Suite::default()),
        );
        let _ = la;
        let absence = StateProof {
            key: absent.clone(),
            value: None,
            siblings: vec![lb],
            end: ProofEnd::OtherLeaf {
                key_hash: a.hash(crate::suite::Suite::default()),
                value_hash: member("mof").hash(crate::suite::Suite::default()),
            },
        };
        assert_eq!(
            verify_state_proof(crate::suite::Suite::default(), &root, &absence),
            Ok(None)
        );
        // Claiming the key itself as the "other" leaf is refused.
        let mut selfish = absence.clone();
        selfish.key = a.clone();
        assert!(matches!(
            verify_state_proof(crate::suite::Suite::default(), &root, &selfish),
            Err(StateProofError::BadOtherLeaf { .. })
        ));
        // Wrong kinds of value are refused before hashing.
        let mut wrong = proof.clone();
        wrong.value = Some(StateValue::Seq(Seq(3)));
        assert!(matches!(
            verify_state_proof(crate::suite::Suite::default(), &root, &wrong),
            Err(StateProofError::ValueKindMismatch { .. })
        ));
        let mut inconsistent = proof;
        inconsistent.end = ProofEnd::Empty;
        assert!(matches!(
            verify_state_proof(crate::suite::Suite::default(), &root, &inconsistent),
            Err(StateProofError::Inconsistent { .. })
        ));
    }

    #[test]
    fn overlong_proofs_are_refused() {
        let p = StateProof {
            key: StateKey::Asset("a".into()),
            value: None,
            siblings: vec![Digest::ZERO; PROOF_SIBLINGS_MAX + 1],
            end: ProofEnd::Empty,
        };
        assert_eq!(
            verify_state_proof(crate::suite::Suite::default(), &Digest::ZERO, &p),
            Err(StateProofError::TooLong {
                max: PROOF_SIBLINGS_MAX,
                found: PROOF_SIBLINGS_MAX + 1
            })
        );
        let bytes = codec::encode(&p);
        assert!(codec::decode::<StateProof>(&bytes).is_err());
    }

    #[test]
    fn empty_state_proves_absence() {
        let p = StateProof {
            key: StateKey::Asset("a".into()),
            value: None,
            siblings: vec![],
            end: ProofEnd::Empty,
        };
        assert_eq!(
            verify_state_proof(crate::suite::Suite::default(), &EMPTY, &p),
            Ok(None)
        );
        assert!(verify_state_proof(crate::suite::Suite::default(), &Digest([1; 32]), &p).is_err());
    }

    #[test]
    fn grant_activity_follows_block_time() {
        let g = GrantState {
            dataset_id: "d".into(),
            grantor: AgencyId("a".into()),
            grantee: AgencyId("b".into()),
            valid_from: Date::new(2026, 1, 1).unwrap(),
            valid_until: Date::new(2026, 1, 31).unwrap(),
            revoked: false,
            last_tx: Digest::ZERO,
        };
        let start = g.valid_from.start_ms().0;
        let end = Date::new(2026, 2, 1).unwrap().start_ms().0;
        assert!(!g.is_active_at(TimestampMs(start - 1)));
        assert!(g.is_active_at(TimestampMs(start)));
        assert!(g.is_active_at(TimestampMs(end - 1)));
        assert!(!g.is_active_at(TimestampMs(end)));
        let revoked = GrantState { revoked: true, ..g };
        assert!(!revoked.is_active_at(TimestampMs(start)));
    }
}
