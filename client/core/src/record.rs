//! The records the ledger carries: assets, procurement awards, data-sharing grants,
//! document anchors and membership.
//!
//! Every record is a typed struct with the fields a real register needs. Validation
//! ([`Record::validate`]) checks formats and limits only; who may do what is the ledger's
//! business (`chancery-ledger`).
//!
//! ## Restricted fields
//! A field of type [`Restricted`] is either disclosed (`Open`) or present only as a salted
//! commitment (`Sealed`): the public sees that the field exists and can later check a
//! disclosed value against the commitment, but never sees the content on the ledger. The
//! client seals these fields unless told to disclose them:
//! - [`RegisterAsset::location`] — where state-owned assets physically are is a security
//!   matter;
//! - [`DisposeAsset::counterparty`] — the buyer or recipient may be a private person;
//! - [`GrantDataAccess::constraints`] — they may name internal systems and people.
//!
//! Normative specification: docs/spec/03-structures.md, sections 3.4 and 3.5.

use crate::codec::{check, ValidationError};
use crate::domain;
use crate::governance::{self, Change};
use crate::ids::{AgencyId, Amount, Date, Digest, PublicKey, TimestampMs, TxHash};
use crate::limits::*;
pub use crate::procurement::{
    AmendContract, CloseTender, ImplementationKind, PublishTender, RecordImplementation,
    SignContract, TerminateContract,
};
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// A value that is either disclosed or committed to with a salted hash.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restricted<T> {
    /// Disclosed value.
    Open(T),
    /// `H(RESTRICTED_FIELD, salt || canonical(value))`; salt and value are kept off-ledger.
    Sealed(Digest),
}

impl<T: Encode> Restricted<T> {
    /// The commitment to `value` under `salt` in a chain of `suite`:
    /// `H(RESTRICTED_FIELD, salt || canonical(value))`, `H` the suite's hash.
    pub fn commitment(suite: crate::suite::Suite, salt: &[u8; 32], value: &T) -> Digest {
        let mut h = suite.hasher(domain::RESTRICTED_FIELD);
        h.update(salt);
        h.update(&crate::codec::encode(value));
        h.finalize()
    }

    /// Seal `value` under `salt` in a chain of `suite`.
    pub fn seal(suite: crate::suite::Suite, salt: &[u8; 32], value: &T) -> Self {
        Restricted::Sealed(Self::commitment(suite, salt, value))
    }

    /// Does `(salt, value)` open this field of a chain of `suite`? An `Open` field opens
    /// only to its own value.
    pub fn opens_to(&self, suite: crate::suite::Suite, salt: &[u8; 32], value: &T) -> bool
    where
        T: PartialEq,
    {
        match self {
            Restricted::Open(v) => v == value,
            Restricted::Sealed(d) => *d == Self::commitment(suite, salt, value),
        }
    }

    /// Is the content hidden?
    pub fn is_sealed(&self) -> bool {
        matches!(self, Restricted::Sealed(_))
    }
}

/// Roles a member key can hold; each role allows signing some record kinds.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Registers and revokes members of its own agency.
    Admin,
    /// Registers, transfers and disposes of assets.
    AssetOfficer,
    /// Publishes and closes tenders; awards, amends and cancels; signs, amends and
    /// terminates contracts and records their implementation.
    ProcurementOfficer,
    /// Grants and revokes access to the agency's datasets.
    DataSteward,
    /// Anchors documents.
    Archivist,
}

impl Role {
    /// Every role, in order.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::AssetOfficer,
        Role::ProcurementOfficer,
        Role::DataSteward,
        Role::Archivist,
    ];

    /// The role's name as written in genesis files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::AssetOfficer => "asset_officer",
            Role::ProcurementOfficer => "procurement_officer",
            Role::DataSteward => "data_steward",
            Role::Archivist => "archivist",
        }
    }

    /// Parse a role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The kind of a record, for indexes, roles and reason codes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RecordKind {
    RegisterAsset,
    TransferAsset,
    DisposeAsset,
    AwardProcurement,
    AmendAward,
    CancelAward,
    GrantDataAccess,
    RevokeGrant,
    AnchorDocument,
    RegisterMember,
    RevokeMember,
    ProposeChange,
    Vote,
    // Issue 22: the procurement process beyond the award. Appended, so the canonical
    // encoding of every earlier kind is unchanged.
    PublishTender,
    CloseTender,
    SignContract,
    AmendContract,
    RecordImplementation,
    TerminateContract,
}

impl RecordKind {
    /// Every kind, in order.
    pub const ALL: [RecordKind; 19] = [
        RecordKind::RegisterAsset,
        RecordKind::TransferAsset,
        RecordKind::DisposeAsset,
        RecordKind::AwardProcurement,
        RecordKind::AmendAward,
        RecordKind::CancelAward,
        RecordKind::GrantDataAccess,
        RecordKind::RevokeGrant,
        RecordKind::AnchorDocument,
        RecordKind::RegisterMember,
        RecordKind::RevokeMember,
        RecordKind::ProposeChange,
        RecordKind::Vote,
        RecordKind::PublishTender,
        RecordKind::CloseTender,
        RecordKind::SignContract,
        RecordKind::AmendContract,
        RecordKind::RecordImplementation,
        RecordKind::TerminateContract,
    ];

    /// The kinds of the procurement process, in the order of its stages.
    pub const PROCUREMENT: [RecordKind; 9] = [
        RecordKind::PublishTender,
        RecordKind::CloseTender,
        RecordKind::AwardProcurement,
        RecordKind::AmendAward,
        RecordKind::CancelAward,
        RecordKind::SignContract,
        RecordKind::AmendContract,
        RecordKind::RecordImplementation,
        RecordKind::TerminateContract,
    ];

    /// The role a signer needs to submit this kind.
    pub fn required_role(self) -> Role {
        use RecordKind::*;
        match self {
            RegisterAsset | TransferAsset | DisposeAsset => Role::AssetOfficer,
            AwardProcurement | AmendAward | CancelAward | PublishTender | CloseTender
            | SignContract | AmendContract | RecordImplementation | TerminateContract => {
                Role::ProcurementOfficer
            }
            GrantDataAccess | RevokeGrant => Role::DataSteward,
            AnchorDocument => Role::Archivist,
            RegisterMember | RevokeMember | ProposeChange | Vote => Role::Admin,
        }
    }

    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        use RecordKind::*;
        match self {
            RegisterAsset => "register_asset",
            TransferAsset => "transfer_asset",
            DisposeAsset => "dispose_asset",
            AwardProcurement => "award_procurement",
            AmendAward => "amend_award",
            CancelAward => "cancel_award",
            GrantDataAccess => "grant_data_access",
            RevokeGrant => "revoke_grant",
            AnchorDocument => "anchor_document",
            RegisterMember => "register_member",
            RevokeMember => "revoke_member",
            ProposeChange => "propose_change",
            Vote => "vote",
            PublishTender => "publish_tender",
            CloseTender => "close_tender",
            SignContract => "sign_contract",
            AmendContract => "amend_contract",
            RecordImplementation => "record_implementation",
            TerminateContract => "terminate_contract",
        }
    }
}

/// A document referenced by a record: its hash, title and where to fetch it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct DocumentRef {
    /// BLAKE3 hash of the document's bytes.
    pub hash: Digest,
    /// Kind, e.g. `approval`, `invoice`, `contract` (OCDS documentType for awards).
    pub kind: String,
    /// Title.
    pub title: String,
    /// Where the document can be fetched; empty if not published.
    pub url: String,
}

impl DocumentRef {
    fn validate(&self, f: &str) -> Result<(), ValidationError> {
        check::id(&format!("{f}.kind"), &self.kind, ID_BYTES_MAX)?;
        check::nonempty(&format!("{f}.title"), &self.title, NAME_BYTES_MAX)?;
        check::text(&format!("{f}.url"), &self.url, URL_BYTES_MAX)
    }
}

/// Check a list of document references (count and each one's fields).
pub(crate) fn check_documents(f: &str, docs: &[DocumentRef]) -> Result<(), ValidationError> {
    documents(f, docs)
}

fn documents(f: &str, docs: &[DocumentRef]) -> Result<(), ValidationError> {
    check::list(f, docs, DOCUMENTS_MAX)?;
    for (i, d) in docs.iter().enumerate() {
        d.validate(&format!("{f}[{i}]"))?;
    }
    Ok(())
}

// ---------------------------------------------------------------- assets

/// How an asset was acquired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum AcquisitionMethod {
    Purchase,
    Construction,
    Allocation,
    Donation,
    Exchange,
    Other,
}

/// Where the money came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum FundingSource {
    FiscalAppropriation,
    SpecialFund,
    SelfRaised,
    Donation,
    Other,
}

/// Register a state-owned fixed asset (GB/T 14885 categories).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct RegisterAsset {
    /// Asset id, unique on the ledger.
    pub asset_id: String,
    /// GB/T 14885 category code, e.g. `A02010104`.
    pub category: String,
    /// Name.
    pub name: String,
    /// Specification / model.
    pub spec_model: String,
    /// Quantity, in `unit`.
    pub quantity: u64,
    /// Unit of measure, e.g. `台`.
    pub unit: String,
    /// How it was acquired.
    pub acquisition_method: AcquisitionMethod,
    /// When it was acquired.
    pub acquisition_date: Date,
    /// Original value.
    pub original_value: Amount,
    /// Where the money came from.
    pub funding_source: FundingSource,
    /// Agency that holds it; must be the signer's agency.
    pub custodian: AgencyId,
    /// Where it is (restricted by default).
    pub location: Restricted<String>,
    /// Supporting documents.
    pub documents: Vec<DocumentRef>,
}

/// Kinds of transfer between agencies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum TransferKind {
    Allocation,
    FreeTransfer,
    Exchange,
}

/// Move an asset from its custodian agency to another.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct TransferAsset {
    /// The asset.
    pub asset_id: String,
    /// Current custodian; must be the signer's agency.
    pub from: AgencyId,
    /// New custodian.
    pub to: AgencyId,
    /// Kind of transfer. Named `transfer_kind` in JSON: `kind` is [`Record`]'s tag there.
    #[serde(rename = "transfer_kind")]
    pub kind: TransferKind,
    /// Hash of the approval document.
    pub approval_document: Digest,
    /// When it takes effect.
    pub effective_date: Date,
}

/// How an asset leaves the register.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum DisposalMethod {
    Transfer,
    Donation,
    Sale,
    Exchange,
    Scrapping,
    WriteOff,
}

/// Dispose of an asset; a disposed asset can do nothing more.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct DisposeAsset {
    /// The asset.
    pub asset_id: String,
    /// Method.
    pub method: DisposalMethod,
    /// Hash of the approval document.
    pub approval_document: Digest,
    /// Date of disposal.
    pub date: Date,
    /// Proceeds of a sale, if any.
    pub proceeds: Option<Amount>,
    /// Buyer or recipient (restricted by default), if any.
    pub counterparty: Option<Restricted<String>>,
}

// ---------------------------------------------------------------- procurement

/// OCDS procurement method.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ProcurementMethod {
    Open,
    Selective,
    Limited,
    Direct,
}

/// OCDS award status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum AwardStatus {
    Pending,
    Active,
    Unsuccessful,
    Cancelled,
}

/// A supplier on an award.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct Supplier {
    /// Legal name.
    pub name: String,
    /// Unified social credit code (统一社会信用代码), 18 characters.
    pub credit_code: String,
}

/// An item on an award.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct Item {
    /// Item id, unique within the award.
    pub id: String,
    /// Description.
    pub description: String,
    /// Classification scheme, e.g. `CPV` or `GB/T 14885`; empty if none.
    pub classification_scheme: String,
    /// Classification code; empty if none.
    pub classification_id: String,
    /// Quantity.
    pub quantity: u64,
    /// Unit name.
    pub unit: String,
    /// Value per unit, if known.
    pub unit_value: Option<Amount>,
}

/// A procurement award (public by law); maps losslessly onto an OCDS 1.1 release.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct AwardProcurement {
    /// OCDS contracting process id, e.g. `ocds-abc123-2026-0001`.
    pub ocid: String,
    /// Award id, unique within the process.
    pub award_id: String,
    /// Project number (项目编号).
    pub project_number: String,
    /// Title.
    pub title: String,
    /// Description (may be empty).
    pub description: String,
    /// Purchasing agency; must be the signer's agency.
    pub purchaser: AgencyId,
    /// Procurement method.
    pub method: ProcurementMethod,
    /// Method in local terms, e.g. `公开招标` (OCDS procurementMethodDetails).
    pub method_details: String,
    /// Suppliers.
    pub suppliers: Vec<Supplier>,
    /// Award value.
    pub value: Amount,
    /// Date of the award.
    pub award_date: Date,
    /// Status.
    pub status: AwardStatus,
    /// Items.
    pub items: Vec<Item>,
    /// Documents.
    pub documents: Vec<DocumentRef>,
}

/// Amend an existing, not cancelled award. `None` fields are unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct AmendAward {
    /// Process id.
    pub ocid: String,
    /// Award id.
    pub award_id: String,
    /// Why.
    pub rationale: String,
    /// Date of the amendment.
    pub date: Date,
    /// New value.
    pub value: Option<Amount>,
    /// New suppliers.
    pub suppliers: Option<Vec<Supplier>>,
    /// New items.
    pub items: Option<Vec<Item>>,
    /// New status (not `Cancelled`: use [`CancelAward`]).
    pub status: Option<AwardStatus>,
    /// Documents added.
    pub documents: Vec<DocumentRef>,
}

/// Cancel an award.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct CancelAward {
    /// Process id.
    pub ocid: String,
    /// Award id.
    pub award_id: String,
    /// Why.
    pub reason: String,
    /// Date of cancellation.
    pub date: Date,
}

// ---------------------------------------------------------------- data sharing

/// ODRL actions a grant may permit.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode, Serialize, Deserialize,
)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Action {
    Read,
    Use,
    Derive,
    Aggregate,
    Distribute,
}

/// Sharing condition (国务院政务数据共享: 无条件共享 / 有条件共享).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum SharingCondition {
    Unconditional,
    Conditional,
}

/// ODRL constraint operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Operator {
    Eq,
    Neq,
    Lt,
    Lteq,
    Gt,
    Gteq,
    IsAnyOf,
    IsNoneOf,
}

/// An ODRL constraint, e.g. `spatial eq 110000` or `count lteq 1000`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct Constraint {
    /// Left operand, e.g. `spatial`, `purpose`, `count`, `recipient`.
    pub left_operand: String,
    /// Operator.
    pub operator: Operator,
    /// Right operand.
    pub right_operand: String,
}

/// Agency A lets agency B use dataset X for a purpose, from a date until a date.
///
/// Validity is measured in block time (UTC): active from the start of `valid_from` until the
/// end of `valid_until`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct GrantDataAccess {
    /// Grant id, unique on the ledger.
    pub grant_id: String,
    /// Dataset id, owned by the grantor.
    pub dataset_id: String,
    /// Owner of the dataset; must be the signer's agency.
    pub grantor: AgencyId,
    /// Agency allowed to use it.
    pub grantee: AgencyId,
    /// Permitted actions, sorted, no duplicates.
    pub actions: Vec<Action>,
    /// Purpose.
    pub purpose: String,
    /// Condition.
    pub condition: SharingCondition,
    /// First day of validity.
    pub valid_from: Date,
    /// Last day of validity.
    pub valid_until: Date,
    /// Constraints (restricted by default).
    pub constraints: Restricted<Vec<Constraint>>,
}

/// Revoke a grant; the grant stays in history but is no longer active.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct RevokeGrant {
    /// The grant.
    pub grant_id: String,
    /// Why.
    pub reason: String,
}

// ---------------------------------------------------------------- documents, membership

/// What a document anchor supports.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
pub enum RecordRef {
    /// Nothing in particular.
    None,
    /// An asset.
    Asset(String),
    /// An award: (ocid, award id).
    Award(String, String),
    /// A grant.
    Grant(String),
    /// Any transaction.
    Tx(TxHash),
}

/// Anchor a document's hash on the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct AnchorDocument {
    /// The document.
    pub document: DocumentRef,
    /// What it supports.
    pub supports: RecordRef,
}

/// Register a member key of the signer's own agency.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct RegisterMember {
    /// The agency; must be the signer's agency.
    pub agency: AgencyId,
    /// The new member's key.
    pub key: PublicKey,
    /// Display name (person or system).
    pub name: String,
    /// Roles, sorted, no duplicates.
    pub roles: Vec<Role>,
}

/// Revoke a member key of the signer's own agency.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct RevokeMember {
    /// The agency; must be the signer's agency.
    pub agency: AgencyId,
    /// The key to revoke.
    pub key: PublicKey,
    /// Why.
    pub reason: String,
}

/// Propose governance changes (signed by an agency admin); see docs/governance.md.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct ProposeChange {
    /// Proposal id, unique on the ledger.
    pub proposal_id: String,
    /// The changes, applied in order if it passes: 1..=`CHANGES_MAX`.
    pub changes: Vec<Change>,
    /// Voting deadline in block time; must be after the time of the block that carries it.
    pub deadline: TimestampMs,
    /// Hash of the document that explains the proposal.
    pub reason: Digest,
}

/// An agency admin's vote on an open proposal; the latest vote of each agency counts.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct Vote {
    /// The proposal.
    pub proposal_id: String,
    /// Approve (true) or reject (false).
    pub approve: bool,
}

/// Any record.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Record {
    RegisterAsset(RegisterAsset),
    TransferAsset(TransferAsset),
    DisposeAsset(DisposeAsset),
    AwardProcurement(AwardProcurement),
    AmendAward(AmendAward),
    CancelAward(CancelAward),
    GrantDataAccess(GrantDataAccess),
    RevokeGrant(RevokeGrant),
    AnchorDocument(AnchorDocument),
    RegisterMember(RegisterMember),
    RevokeMember(RevokeMember),
    ProposeChange(ProposeChange),
    Vote(Vote),
    PublishTender(PublishTender),
    CloseTender(CloseTender),
    SignContract(SignContract),
    AmendContract(AmendContract),
    RecordImplementation(RecordImplementation),
    TerminateContract(TerminateContract),
}

/// Check a list of suppliers (count, names, credit codes).
pub(crate) fn check_suppliers(f: &str, v: &[Supplier]) -> Result<(), ValidationError> {
    suppliers(f, v)
}

/// Check a list of items (count, fields, unique ids).
pub(crate) fn check_items(f: &str, v: &[Item]) -> Result<(), ValidationError> {
    items(f, v)
}

fn suppliers(f: &str, v: &[Supplier]) -> Result<(), ValidationError> {
    check::list(f, v, SUPPLIERS_MAX)?;
    for (i, s) in v.iter().enumerate() {
        let f = format!("{f}[{i}]");
        check::nonempty(&format!("{f}.name"), &s.name, NAME_BYTES_MAX)?;
        let c = &s.credit_code;
        if c.len() != 18
            || !c
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            return Err(ValidationError::new(
                format!("{f}.credit_code"),
                "an 18-character unified social credit code (digits and upper-case letters)",
                format!("{c:?}"),
            ));
        }
    }
    Ok(())
}

fn items(f: &str, v: &[Item]) -> Result<(), ValidationError> {
    check::list(f, v, ITEMS_MAX)?;
    for (i, it) in v.iter().enumerate() {
        let f = format!("{f}[{i}]");
        check::id(&format!("{f}.id"), &it.id, ID_BYTES_MAX)?;
        check::nonempty(&format!("{f}.description"), &it.description, TEXT_BYTES_MAX)?;
        check::text(
            &format!("{f}.classification_scheme"),
            &it.classification_scheme,
            ID_BYTES_MAX,
        )?;
        check::text(
            &format!("{f}.classification_id"),
            &it.classification_id,
            ID_BYTES_MAX,
        )?;
        check::text(&format!("{f}.unit"), &it.unit, NAME_BYTES_MAX)?;
        if let Some(a) = &it.unit_value {
            a.validate(&format!("{f}.unit_value"))?;
        }
    }
    let mut ids: Vec<&str> = v.iter().map(|i| i.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(ValidationError::new(
            format!("{f}.id"),
            "item ids unique within the award",
            format!("{:?} twice", w[0]),
        ));
    }
    Ok(())
}

impl Record {
    /// The record's kind.
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::RegisterAsset(_) => RecordKind::RegisterAsset,
            Record::TransferAsset(_) => RecordKind::TransferAsset,
            Record::DisposeAsset(_) => RecordKind::DisposeAsset,
            Record::AwardProcurement(_) => RecordKind::AwardProcurement,
            Record::AmendAward(_) => RecordKind::AmendAward,
            Record::CancelAward(_) => RecordKind::CancelAward,
            Record::GrantDataAccess(_) => RecordKind::GrantDataAccess,
            Record::RevokeGrant(_) => RecordKind::RevokeGrant,
            Record::AnchorDocument(_) => RecordKind::AnchorDocument,
            Record::RegisterMember(_) => RecordKind::RegisterMember,
            Record::RevokeMember(_) => RecordKind::RevokeMember,
            Record::ProposeChange(_) => RecordKind::ProposeChange,
            Record::Vote(_) => RecordKind::Vote,
            Record::PublishTender(_) => RecordKind::PublishTender,
            Record::CloseTender(_) => RecordKind::CloseTender,
            Record::SignContract(_) => RecordKind::SignContract,
            Record::AmendContract(_) => RecordKind::AmendContract,
            Record::RecordImplementation(_) => RecordKind::RecordImplementation,
            Record::TerminateContract(_) => RecordKind::TerminateContract,
        }
    }

    /// The id a person would look this record up by (asset id, `ocid/award id`, grant id,
    /// document hash, member key, proposal id, the ocid of a tender, `ocid/contract id`).
    pub fn subject_id(&self) -> String {
        match self {
            Record::RegisterAsset(r) => r.asset_id.clone(),
            Record::TransferAsset(r) => r.asset_id.clone(),
            Record::DisposeAsset(r) => r.asset_id.clone(),
            Record::AwardProcurement(r) => format!("{}/{}", r.ocid, r.award_id),
            Record::AmendAward(r) => format!("{}/{}", r.ocid, r.award_id),
            Record::CancelAward(r) => format!("{}/{}", r.ocid, r.award_id),
            Record::GrantDataAccess(r) => r.grant_id.clone(),
            Record::RevokeGrant(r) => r.grant_id.clone(),
            Record::AnchorDocument(r) => r.document.hash.to_hex(),
            Record::RegisterMember(r) => r.key.to_hex(),
            Record::RevokeMember(r) => r.key.to_hex(),
            Record::ProposeChange(r) => r.proposal_id.clone(),
            Record::Vote(r) => r.proposal_id.clone(),
            Record::PublishTender(r) => r.ocid.clone(),
            Record::CloseTender(r) => r.ocid.clone(),
            Record::SignContract(r) => format!("{}/{}", r.ocid, r.contract_id),
            Record::AmendContract(r) => format!("{}/{}", r.ocid, r.contract_id),
            Record::RecordImplementation(r) => format!("{}/{}", r.ocid, r.contract_id),
            Record::TerminateContract(r) => format!("{}/{}", r.ocid, r.contract_id),
        }
    }

    /// The contracting process (ocid) a procurement record belongs to; `None` for the
    /// other kinds.
    pub fn ocid(&self) -> Option<&str> {
        match self {
            Record::AwardProcurement(r) => Some(&r.ocid),
            Record::AmendAward(r) => Some(&r.ocid),
            Record::CancelAward(r) => Some(&r.ocid),
            Record::PublishTender(r) => Some(&r.ocid),
            Record::CloseTender(r) => Some(&r.ocid),
            Record::SignContract(r) => Some(&r.ocid),
            Record::AmendContract(r) => Some(&r.ocid),
            Record::RecordImplementation(r) => Some(&r.ocid),
            Record::TerminateContract(r) => Some(&r.ocid),
            _ => None,
        }
    }

    /// Check formats and limits of every field. Error paths start with the kind, e.g.
    /// `award_procurement.suppliers[2].name`.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.validate_fields()
            .map_err(|e| e.within(self.kind().as_str()))
    }

    // The `?`s in the per-kind checks return early, so the kind prefix is added by
    // `validate`, not there.
    fn validate_fields(&self) -> Result<(), ValidationError> {
        match self {
            Record::RegisterAsset(r) => register_asset(r),
            Record::TransferAsset(r) => transfer_asset(r),
            Record::DisposeAsset(r) => dispose_asset(r),
            Record::AwardProcurement(r) => award_procurement(r),
            Record::AmendAward(r) => amend_award(r),
            Record::CancelAward(r) => cancel_award(r),
            Record::GrantDataAccess(r) => grant_data_access(r),
            Record::RevokeGrant(r) => revoke_grant(r),
            Record::AnchorDocument(r) => anchor_document(r),
            Record::RegisterMember(r) => register_member(r),
            Record::RevokeMember(r) => revoke_member(r),
            Record::ProposeChange(r) => propose_change(r),
            Record::Vote(r) => check::id("proposal_id", &r.proposal_id, ID_BYTES_MAX),
            Record::PublishTender(r) => crate::procurement::publish_tender(r),
            Record::CloseTender(r) => crate::procurement::close_tender(r),
            Record::SignContract(r) => crate::procurement::sign_contract(r),
            Record::AmendContract(r) => crate::procurement::amend_contract(r),
            Record::RecordImplementation(r) => crate::procurement::record_implementation(r),
            Record::TerminateContract(r) => crate::procurement::terminate_contract(r),
        }
    }
}

// ------------------------------------------------------------ field checks per record kind

/// An award's status set by a record other than `cancel_award`: anything but cancelled.
fn not_cancelled(status: Option<AwardStatus>) -> Result<(), ValidationError> {
    if status == Some(AwardStatus::Cancelled) {
        return Err(ValidationError::new(
            "status",
            "pending, active or unsuccessful (cancel with cancel_award)",
            "cancelled",
        ));
    }
    Ok(())
}

/// The disclosed constraints of a data-sharing grant.
fn constraints(f: &str, cs: &[Constraint]) -> Result<(), ValidationError> {
    check::list(f, cs, CONSTRAINTS_MAX)?;
    for (i, c) in cs.iter().enumerate() {
        check::id(
            &format!("{f}[{i}].left_operand"),
            &c.left_operand,
            ID_BYTES_MAX,
        )?;
        check::nonempty(
            &format!("{f}[{i}].right_operand"),
            &c.right_operand,
            NAME_BYTES_MAX,
        )?;
    }
    Ok(())
}

/// Formats and limits of the fields of [`RegisterAsset`].
fn register_asset(r: &RegisterAsset) -> Result<(), ValidationError> {
    use check::{id, nonempty, text};
    id("asset_id", &r.asset_id, ID_BYTES_MAX)?;
    if r.category.is_empty()
        || r.category.len() > CATEGORY_BYTES_MAX
        || !r.category.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(ValidationError::new(
            "category",
            format!("a GB/T 14885 code of 1..={CATEGORY_BYTES_MAX} letters and digits"),
            format!("{:?}", r.category),
        ));
    }
    nonempty("name", &r.name, NAME_BYTES_MAX)?;
    text("spec_model", &r.spec_model, NAME_BYTES_MAX)?;
    if r.quantity == 0 {
        return Err(ValidationError::new("quantity", "at least 1", "0"));
    }
    nonempty("unit", &r.unit, NAME_BYTES_MAX)?;
    r.acquisition_date.validate("acquisition_date")?;
    r.original_value.validate("original_value")?;
    r.custodian.validate("custodian")?;
    if let Restricted::Open(l) = &r.location {
        text("location", l, TEXT_BYTES_MAX)?;
    }
    documents("documents", &r.documents)
}

/// Formats and limits of the fields of [`TransferAsset`].
fn transfer_asset(r: &TransferAsset) -> Result<(), ValidationError> {
    use check::id;
    id("asset_id", &r.asset_id, ID_BYTES_MAX)?;
    r.from.validate("from")?;
    r.to.validate("to")?;
    if r.from == r.to {
        return Err(ValidationError::new(
            "to",
            "an agency other than `from`",
            r.to.to_string(),
        ));
    }
    r.effective_date.validate("effective_date")
}

/// Formats and limits of the fields of [`DisposeAsset`].
fn dispose_asset(r: &DisposeAsset) -> Result<(), ValidationError> {
    use check::{id, nonempty};
    id("asset_id", &r.asset_id, ID_BYTES_MAX)?;
    r.date.validate("date")?;
    if let Some(p) = &r.proceeds {
        p.validate("proceeds")?;
    }
    if let Some(Restricted::Open(c)) = &r.counterparty {
        nonempty("counterparty", c, NAME_BYTES_MAX)?;
    }
    Ok(())
}

/// Formats and limits of the fields of [`AwardProcurement`].
fn award_procurement(r: &AwardProcurement) -> Result<(), ValidationError> {
    use check::{id, nonempty, text};
    id("ocid", &r.ocid, ID_BYTES_MAX)?;
    id("award_id", &r.award_id, ID_BYTES_MAX)?;
    nonempty("project_number", &r.project_number, ID_BYTES_MAX)?;
    nonempty("title", &r.title, NAME_BYTES_MAX)?;
    text("description", &r.description, TEXT_BYTES_MAX)?;
    r.purchaser.validate("purchaser")?;
    text("method_details", &r.method_details, NAME_BYTES_MAX)?;
    if r.suppliers.is_empty() && r.status == AwardStatus::Active {
        return Err(ValidationError::new(
            "suppliers",
            "at least one supplier on an active award",
            "none",
        ));
    }
    not_cancelled(Some(r.status))?;
    suppliers("suppliers", &r.suppliers)?;
    r.value.validate("value")?;
    r.award_date.validate("award_date")?;
    items("items", &r.items)?;
    documents("documents", &r.documents)
}

/// Formats and limits of the fields of [`AmendAward`].
fn amend_award(r: &AmendAward) -> Result<(), ValidationError> {
    use check::{id, nonempty};
    id("ocid", &r.ocid, ID_BYTES_MAX)?;
    id("award_id", &r.award_id, ID_BYTES_MAX)?;
    nonempty("rationale", &r.rationale, TEXT_BYTES_MAX)?;
    r.date.validate("date")?;
    if let Some(v) = &r.value {
        v.validate("value")?;
    }
    if let Some(s) = &r.suppliers {
        suppliers("suppliers", s)?;
    }
    if let Some(i) = &r.items {
        items("items", i)?;
    }
    not_cancelled(r.status)?;
    documents("documents", &r.documents)
}

/// Formats and limits of the fields of [`CancelAward`].
fn cancel_award(r: &CancelAward) -> Result<(), ValidationError> {
    use check::{id, nonempty};
    id("ocid", &r.ocid, ID_BYTES_MAX)?;
    id("award_id", &r.award_id, ID_BYTES_MAX)?;
    nonempty("reason", &r.reason, TEXT_BYTES_MAX)?;
    r.date.validate("date")
}

/// Formats and limits of the fields of [`GrantDataAccess`].
fn grant_data_access(r: &GrantDataAccess) -> Result<(), ValidationError> {
    use check::{id, list, nonempty, strictly_sorted};
    id("grant_id", &r.grant_id, ID_BYTES_MAX)?;
    id("dataset_id", &r.dataset_id, ID_BYTES_MAX)?;
    r.grantor.validate("grantor")?;
    r.grantee.validate("grantee")?;
    if r.grantor == r.grantee {
        return Err(ValidationError::new(
            "grantee",
            "an agency other than the grantor",
            r.grantee.to_string(),
        ));
    }
    if r.actions.is_empty() {
        return Err(ValidationError::new(
            "actions",
            "at least one action",
            "none",
        ));
    }
    list("actions", &r.actions, ACTIONS_MAX)?;
    strictly_sorted("actions", &r.actions)?;
    nonempty("purpose", &r.purpose, TEXT_BYTES_MAX)?;
    r.valid_from.validate("valid_from")?;
    r.valid_until.validate("valid_until")?;
    if r.valid_until < r.valid_from {
        return Err(ValidationError::new(
            "valid_until",
            format!("on or after valid_from ({})", r.valid_from),
            r.valid_until.to_string(),
        ));
    }
    match &r.constraints {
        Restricted::Open(cs) => constraints("constraints", cs),
        Restricted::Sealed(_) => Ok(()),
    }
}

/// Formats and limits of the fields of [`RevokeGrant`].
fn revoke_grant(r: &RevokeGrant) -> Result<(), ValidationError> {
    use check::{id, nonempty};
    id("grant_id", &r.grant_id, ID_BYTES_MAX)?;
    nonempty("reason", &r.reason, TEXT_BYTES_MAX)
}

/// Formats and limits of the fields of [`AnchorDocument`].
fn anchor_document(r: &AnchorDocument) -> Result<(), ValidationError> {
    use check::id;
    r.document.validate("document")?;
    match &r.supports {
        RecordRef::Asset(a) => id("supports.asset", a, ID_BYTES_MAX),
        RecordRef::Award(o, a) => {
            id("supports.ocid", o, ID_BYTES_MAX)?;
            id("supports.award_id", a, ID_BYTES_MAX)
        }
        RecordRef::Grant(g) => id("supports.grant", g, ID_BYTES_MAX),
        RecordRef::None | RecordRef::Tx(_) => Ok(()),
    }
}

/// Formats and limits of the fields of [`RegisterMember`].
fn register_member(r: &RegisterMember) -> Result<(), ValidationError> {
    use check::{list, nonempty, strictly_sorted};
    r.agency.validate("agency")?;
    nonempty("name", &r.name, NAME_BYTES_MAX)?;
    if r.roles.is_empty() {
        return Err(ValidationError::new("roles", "at least one role", "none"));
    }
    list("roles", &r.roles, ROLES_MAX)?;
    strictly_sorted("roles", &r.roles)
}

/// Formats and limits of the fields of [`RevokeMember`].
fn revoke_member(r: &RevokeMember) -> Result<(), ValidationError> {
    use check::nonempty;
    r.agency.validate("agency")?;
    nonempty("reason", &r.reason, TEXT_BYTES_MAX)
}

/// Formats and limits of the fields of [`ProposeChange`].
fn propose_change(r: &ProposeChange) -> Result<(), ValidationError> {
    check::id("proposal_id", &r.proposal_id, ID_BYTES_MAX)?;
    if r.deadline == TimestampMs(0) {
        return Err(ValidationError::new(
            "deadline",
            "a block time after 0",
            "0",
        ));
    }
    governance::changes(&r.changes)
}
