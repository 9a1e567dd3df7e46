//! The procurement process beyond the award (issue 22): tender, contract, implementation,
//! and the procurement limit standards (采购限额标准) that decide which method a value
//! requires.
//!
//! The records follow the stages of the Open Contracting Data Standard: a purchasing
//! agency publishes a tender ([`PublishTender`]) and closes it ([`CloseTender`]), awards it
//! (`AwardProcurement`, in `record.rs`), signs a contract against an active award
//! ([`SignContract`]), may amend it ([`AmendContract`]), records milestones and payments
//! ([`RecordImplementation`]) and may end it early ([`TerminateContract`]). Validation here
//! checks formats and limits; the ordering rules (no contract without an active award, no
//! payment above the contract value, dates in order) are the ledger's.
//!
//! Limit standards ([`ProcurementLimits`]) never reject a record: the facts must be
//! recorded. A tender, award or contract whose value breaks them carries a
//! [`ComplianceFlag`] in the state, next to it, provable like any other state entry.

use crate::codec::{check, ValidationError};
use crate::ids::{AgencyId, Amount, Date};
use crate::limits::{ID_BYTES_MAX, LIMIT_RULES_MAX, NAME_BYTES_MAX, TEXT_BYTES_MAX};
use crate::record::{DocumentRef, Item, ProcurementMethod, Restricted, Supplier};
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Open a tender: the first public step of a contracting process.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct PublishTender {
    /// OCDS contracting process id; one tender per process.
    pub ocid: String,
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
    /// Budget (OCDS tender.value).
    pub budget: Amount,
    /// Items to be procured.
    pub items: Vec<Item>,
    /// Day the tender is published (start of the tender period).
    pub publish_date: Date,
    /// Last day bids may be submitted (end of the tender period); not before
    /// `publish_date`.
    pub submission_deadline: Date,
    /// Tender documents.
    pub documents: Vec<DocumentRef>,
}

/// Close a tender once bids are in.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct CloseTender {
    /// The process.
    pub ocid: String,
    /// Day the tender closed; not before it was published.
    pub date: Date,
    /// Number of bids received (OCDS tender.numberOfTenderers counts bidders; this counts
    /// bids, which may differ when a bidder bids for several lots).
    pub bids_received: u32,
    /// The bidders: names and unified social credit codes, restricted by default (losing
    /// bidders are private parties).
    pub bidders: Restricted<Vec<Supplier>>,
}

/// Sign a contract against an active award of the same process.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct SignContract {
    /// The process.
    pub ocid: String,
    /// Contract id, unique within the process.
    pub contract_id: String,
    /// The award it implements; must be active.
    pub award_id: String,
    /// Title.
    pub title: String,
    /// Contract value; in the award's currency.
    pub value: Amount,
    /// Day of signature; not before the award date.
    pub signed_date: Date,
    /// First day of the contract period; not before the signature.
    pub period_start: Date,
    /// Last day of the contract period; not before its first day.
    pub period_end: Date,
    /// Contract documents.
    pub documents: Vec<DocumentRef>,
}

/// Change a signed contract's value or period (OCDS contract amendment).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct AmendContract {
    /// The process.
    pub ocid: String,
    /// The contract.
    pub contract_id: String,
    /// Why.
    pub rationale: String,
    /// Day of the amendment; not before the contract's last recorded date.
    pub date: Date,
    /// New value, if it changes; never below what was already paid.
    pub value: Option<Amount>,
    /// New last day of the period, if it changes.
    pub period_end: Option<Date>,
    /// Documents added.
    pub documents: Vec<DocumentRef>,
}

/// What a step of implementation records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
pub enum ImplementationKind {
    /// A milestone met (delivery, acceptance); a value is optional.
    Milestone,
    /// A payment to the supplier; the value is required and counts against the contract
    /// value.
    Payment,
    /// The final payment: as `Payment`, and the contract is complete afterwards.
    FinalPayment,
}

/// Record a milestone or a payment of a contract (OCDS contracts.implementation).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct RecordImplementation {
    /// The process.
    pub ocid: String,
    /// The contract.
    pub contract_id: String,
    /// Milestone or payment. Named `step_kind` in JSON: `kind` is the record's tag there.
    #[serde(rename = "step_kind")]
    pub kind: ImplementationKind,
    /// What happened, e.g. `交付验收` or `首期款`.
    pub title: String,
    /// Day it happened; not before the contract's last recorded date.
    pub date: Date,
    /// Value: required for a payment, in the contract's currency.
    pub value: Option<Amount>,
    /// Documents (invoice, acceptance report).
    pub documents: Vec<DocumentRef>,
}

/// End a contract before completion.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct TerminateContract {
    /// The process.
    pub ocid: String,
    /// The contract.
    pub contract_id: String,
    /// Day of termination; not before the contract's last recorded date.
    pub date: Date,
    /// Why.
    pub reason: String,
}

// ---------------------------------------------------------------- limit standards

/// One procurement limit standard: for the agencies it names (or, with none named, every
/// agency no other rule names), the value from which open tendering is required and the
/// value below which no procurement process is required at all.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct LimitRule {
    /// Name of the standard, e.g. `central` or `provincial` (the agency level it serves).
    pub name: String,
    /// The agencies it applies to, strictly sorted; empty: every agency no other rule
    /// names (at most one such rule).
    pub agencies: Vec<AgencyId>,
    /// Values at or above this need open tendering (公开招标数额标准).
    pub open_tender_from: Amount,
    /// Values below this need no procurement process (采购限额标准); at most
    /// `open_tender_from`, in the same currency.
    pub record_from: Amount,
}

/// The chain's procurement limit standards: set at genesis, changed by governance
/// (`set_procurement_limits`). No rules: nothing is assessed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct ProcurementLimits {
    /// The rules, at most [`LIMIT_RULES_MAX`]; names unique; an agency in at most one.
    pub rules: Vec<LimitRule>,
}

impl ProcurementLimits {
    /// No rules?
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Check formats and limits: names are ids and unique, each agency listed once, at most
    /// one rule for all, `record_from <= open_tender_from` in one currency.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check::list("rules", &self.rules, LIMIT_RULES_MAX)?;
        let mut names = std::collections::BTreeSet::new();
        let mut agencies = std::collections::BTreeSet::new();
        let mut defaults = 0;
        for (i, r) in self.rules.iter().enumerate() {
            let f = format!("rules[{i}]");
            check::id(&format!("{f}.name"), &r.name, ID_BYTES_MAX)?;
            if !names.insert(r.name.as_str()) {
                return Err(ValidationError::new(
                    format!("{f}.name"),
                    "a name no other rule has",
                    format!("{:?} again", r.name),
                ));
            }
            check::list(
                &format!("{f}.agencies"),
                &r.agencies,
                crate::limits::AGENCIES_MAX,
            )?;
            check::strictly_sorted(&format!("{f}.agencies"), &r.agencies)?;
            for a in &r.agencies {
                a.validate(&format!("{f}.agencies"))?;
                if !agencies.insert(a.clone()) {
                    return Err(ValidationError::new(
                        format!("{f}.agencies"),
                        "each agency in at most one rule",
                        format!("{a} again"),
                    ));
                }
            }
            if r.agencies.is_empty() {
                defaults += 1;
                if defaults > 1 {
                    return Err(ValidationError::new(
                        format!("{f}.agencies"),
                        "at most one rule for all agencies (no agencies listed)",
                        "a second one",
                    ));
                }
            }
            r.open_tender_from
                .validate(&format!("{f}.open_tender_from"))?;
            r.record_from.validate(&format!("{f}.record_from"))?;
            if r.record_from.currency != r.open_tender_from.currency {
                return Err(ValidationError::new(
                    format!("{f}.record_from.currency"),
                    format!(
                        "the currency of open_tender_from ({})",
                        r.open_tender_from.currency
                    ),
                    r.record_from.currency.to_string(),
                ));
            }
            if r.record_from.minor > r.open_tender_from.minor {
                return Err(ValidationError::new(
                    format!("{f}.record_from"),
                    format!("at most open_tender_from ({})", r.open_tender_from),
                    r.record_from.to_string(),
                ));
            }
        }
        Ok(())
    }

    /// The rule that applies to `agency`: the one naming it, else the one for all.
    pub fn rule_for(&self, agency: &AgencyId) -> Option<&LimitRule> {
        self.rules
            .iter()
            .find(|r| r.agencies.binary_search(agency).is_ok())
            .or_else(|| self.rules.iter().find(|r| r.agencies.is_empty()))
    }

    /// Assess a value procured by `agency` with `method`: the flags it earns, or `None` if
    /// no rule applies (no rule for the agency, or a value in another currency than the
    /// rule's, which is not converted).
    pub fn assess(
        &self,
        agency: &AgencyId,
        method: ProcurementMethod,
        value: Amount,
    ) -> Option<Vec<ComplianceFlag>> {
        let rule = self.rule_for(agency)?;
        if value.currency != rule.open_tender_from.currency {
            return None;
        }
        let mut flags = Vec::new();
        if value.minor >= rule.open_tender_from.minor && method != ProcurementMethod::Open {
            flags.push(ComplianceFlag {
                rule: ComplianceRule::OpenTenderRequired,
                standard: rule.name.clone(),
                limit: rule.open_tender_from,
                value,
            });
        }
        if value.minor < rule.record_from.minor {
            flags.push(ComplianceFlag {
                rule: ComplianceRule::BelowRecordLimit,
                standard: rule.name.clone(),
                limit: rule.record_from,
                value,
            });
        }
        Some(flags)
    }
}

/// The rule a compliance flag reports.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
pub enum ComplianceRule {
    /// A breach: the value is at or above the open-tendering limit but the method is not
    /// open tendering.
    OpenTenderRequired,
    /// A note, not a breach: the value is below the limit from which a procurement process
    /// is required; it was recorded anyway.
    BelowRecordLimit,
}

impl ComplianceRule {
    /// Every rule, in order.
    pub const ALL: [ComplianceRule; 2] = [
        ComplianceRule::OpenTenderRequired,
        ComplianceRule::BelowRecordLimit,
    ];

    /// snake_case name, as in the API and the OCDS export.
    pub fn as_str(self) -> &'static str {
        match self {
            ComplianceRule::OpenTenderRequired => "open_tender_required",
            ComplianceRule::BelowRecordLimit => "below_record_limit",
        }
    }

    /// Is it a breach of the standard (rather than a note)?
    pub fn is_breach(self) -> bool {
        matches!(self, ComplianceRule::OpenTenderRequired)
    }
}

/// A limit standard a value broke (or, for a note, fell under).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct ComplianceFlag {
    /// Which rule.
    pub rule: ComplianceRule,
    /// Name of the standard ([`LimitRule::name`]) that applied.
    pub standard: String,
    /// The limit.
    pub limit: Amount,
    /// The value assessed.
    pub value: Amount,
}

// ---------------------------------------------------------------- field checks

fn documents(f: &str, docs: &[DocumentRef]) -> Result<(), ValidationError> {
    crate::record::check_documents(f, docs)
}

fn ocid_and(f: &str, ocid: &str, id: &str) -> Result<(), ValidationError> {
    check::id("ocid", ocid, ID_BYTES_MAX)?;
    check::id(f, id, ID_BYTES_MAX)
}

/// Formats and limits of the fields of [`PublishTender`].
pub(crate) fn publish_tender(r: &PublishTender) -> Result<(), ValidationError> {
    check::id("ocid", &r.ocid, ID_BYTES_MAX)?;
    check::nonempty("title", &r.title, NAME_BYTES_MAX)?;
    check::text("description", &r.description, TEXT_BYTES_MAX)?;
    r.purchaser.validate("purchaser")?;
    check::text("method_details", &r.method_details, NAME_BYTES_MAX)?;
    r.budget.validate("budget")?;
    crate::record::check_items("items", &r.items)?;
    r.publish_date.validate("publish_date")?;
    r.submission_deadline.validate("submission_deadline")?;
    if r.submission_deadline < r.publish_date {
        return Err(ValidationError::new(
            "submission_deadline",
            format!("on or after publish_date ({})", r.publish_date),
            r.submission_deadline.to_string(),
        ));
    }
    documents("documents", &r.documents)
}

/// Formats and limits of the fields of [`CloseTender`].
pub(crate) fn close_tender(r: &CloseTender) -> Result<(), ValidationError> {
    check::id("ocid", &r.ocid, ID_BYTES_MAX)?;
    r.date.validate("date")?;
    if let Restricted::Open(b) = &r.bidders {
        crate::record::check_suppliers("bidders", b)?;
        if b.len() as u64 > u64::from(r.bids_received) {
            return Err(ValidationError::new(
                "bidders",
                format!("at most bids_received ({}) bidders", r.bids_received),
                b.len().to_string(),
            ));
        }
    }
    Ok(())
}

/// Formats and limits of the fields of [`SignContract`].
pub(crate) fn sign_contract(r: &SignContract) -> Result<(), ValidationError> {
    ocid_and("contract_id", &r.ocid, &r.contract_id)?;
    check::id("award_id", &r.award_id, ID_BYTES_MAX)?;
    check::nonempty("title", &r.title, NAME_BYTES_MAX)?;
    r.value.validate("value")?;
    r.signed_date.validate("signed_date")?;
    r.period_start.validate("period_start")?;
    r.period_end.validate("period_end")?;
    if r.period_start < r.signed_date {
        return Err(ValidationError::new(
            "period_start",
            format!("on or after signed_date ({})", r.signed_date),
            r.period_start.to_string(),
        ));
    }
    if r.period_end < r.period_start {
        return Err(ValidationError::new(
            "period_end",
            format!("on or after period_start ({})", r.period_start),
            r.period_end.to_string(),
        ));
    }
    documents("documents", &r.documents)
}

/// Formats and limits of the fields of [`AmendContract`].
pub(crate) fn amend_contract(r: &AmendContract) -> Result<(), ValidationError> {
    ocid_and("contract_id", &r.ocid, &r.contract_id)?;
    check::nonempty("rationale", &r.rationale, TEXT_BYTES_MAX)?;
    r.date.validate("date")?;
    if let Some(v) = &r.value {
        v.validate("value")?;
    }
    if let Some(d) = &r.period_end {
        d.validate("period_end")?;
    }
    if r.value.is_none() && r.period_end.is_none() {
        return Err(ValidationError::new(
            "value",
            "a new value, a new period_end, or both",
            "neither",
        ));
    }
    documents("documents", &r.documents)
}

/// Formats and limits of the fields of [`RecordImplementation`].
pub(crate) fn record_implementation(r: &RecordImplementation) -> Result<(), ValidationError> {
    ocid_and("contract_id", &r.ocid, &r.contract_id)?;
    check::nonempty("title", &r.title, NAME_BYTES_MAX)?;
    r.date.validate("date")?;
    match (&r.value, r.kind) {
        (None, ImplementationKind::Payment | ImplementationKind::FinalPayment) => {
            return Err(ValidationError::new(
                "value",
                "the amount paid (a payment needs a value)",
                "none",
            ))
        }
        (Some(v), _) => v.validate("value")?,
        (None, ImplementationKind::Milestone) => {}
    }
    documents("documents", &r.documents)
}

/// Formats and limits of the fields of [`TerminateContract`].
pub(crate) fn terminate_contract(r: &TerminateContract) -> Result<(), ValidationError> {
    ocid_and("contract_id", &r.ocid, &r.contract_id)?;
    r.date.validate("date")?;
    check::nonempty("reason", &r.reason, TEXT_BYTES_MAX)
}
