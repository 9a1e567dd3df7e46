//! The rules of the procurement process beyond the award (issue 22), and the limit-standard
//! assessment of tenders, awards and contracts.
//!
//! - PublishTender: purchaser = acting agency (`NotPurchaser`); the process has no tender
//!   yet (`TenderExists`).
//! - CloseTender: the tender exists (`TenderUnknown`), purchaser = acting agency
//!   (`NotPurchaser`), still active (`TenderClosed`), closed on or after it was published
//!   (`DatesOutOfOrder`).
//! - AwardProcurement, in a process with a tender: same purchaser (`NotPurchaser`), tender
//!   closed (`TenderOpen`), award dated on or after the close (`DatesOutOfOrder`). An award
//!   in a process without a tender (direct procurement, or records from before tenders
//!   existed) has no such rule.
//! - SignContract: the award exists (`AwardUnknown`), purchaser = acting agency
//!   (`NotPurchaser`), active (`AwardNotActive`); contract id unused in the process
//!   (`ContractExists`); value in the award's currency (`CurrencyMismatch`); signed on or
//!   after the award date (`DatesOutOfOrder`).
//! - AmendContract, RecordImplementation, TerminateContract: the contract exists
//!   (`ContractUnknown`), purchaser = acting agency (`NotPurchaser`), active
//!   (`ContractClosed`), dated on or after the contract's last recorded date
//!   (`DatesOutOfOrder`); values in the contract's currency (`CurrencyMismatch`).
//!   Payments may not bring the total paid above the value, and an amendment may not set
//!   the value below it (`PaymentExceedsContract`). A final payment completes the
//!   contract.
//!
//! Assessment: where the chain has limit standards ([`StateKey::ProcurementLimits`]) and
//! one applies to the purchaser in the value's currency, a tender (budget, its method), an
//! award (value, its method) and a contract (value, the method of its process's tender, or
//! else of its award's assessment) get a [`StateKey::Compliance`] entry with the flags they
//! earn; amendments of the value assess again. The record is never rejected for it.

use crate::exec::{Exec, Rule};
use crate::LedgerError;
use chancery_core::block::ReasonCode::*;
use chancery_core::procurement::{ImplementationKind, ProcurementLimits};
use chancery_core::record::{
    AmendContract, AwardProcurement, AwardStatus, CloseTender, ProcurementMethod, PublishTender,
    RecordImplementation, SignContract, TerminateContract,
};
use chancery_core::state::{
    ComplianceState, ComplianceSubject, ContractState, ContractStatus, StateKey, StateValue,
    TenderState, TenderStatus,
};
use chancery_core::{AgencyId, Amount, Date, TxHash};

impl Exec<'_> {
    fn tender(&self, ocid: &str) -> Result<Option<TenderState>, LedgerError> {
        Ok(match self.get(&StateKey::Tender(ocid.to_string()))? {
            Some(StateValue::Tender(t)) => Some(t),
            _ => None,
        })
    }

    fn contract(&self, ocid: &str, id: &str) -> Result<Option<ContractState>, LedgerError> {
        Ok(
            match self.get(&StateKey::Contract(ocid.to_string(), id.to_string()))? {
                Some(StateValue::Contract(c)) => Some(c),
                _ => None,
            },
        )
    }

    fn limits(&self) -> Result<Option<ProcurementLimits>, LedgerError> {
        Ok(match self.get(&StateKey::ProcurementLimits)? {
            Some(StateValue::ProcurementLimits(l)) if !l.is_empty() => Some(l),
            _ => None,
        })
    }

    /// The compliance entry of `subject`, if a standard applies.
    fn assess(
        &self,
        subject: ComplianceSubject,
        agency: &AgencyId,
        method: ProcurementMethod,
        value: Amount,
    ) -> Result<Option<(StateKey, StateValue)>, LedgerError> {
        let Some(limits) = self.limits()? else {
            return Ok(None);
        };
        Ok(limits.assess(agency, method, value).map(|flags| {
            (
                StateKey::Compliance(subject),
                StateValue::Compliance(ComplianceState { method, flags }),
            )
        }))
    }

    /// The rule for an award in a process that has a tender, and the award's assessment.
    /// Called by `award_procurement` after its own checks passed.
    pub(crate) fn award_in_process(
        &self,
        r: &AwardProcurement,
        agency: &AgencyId,
    ) -> Result<Rule, LedgerError> {
        if let Some(t) = self.tender(&r.ocid)? {
            if t.purchaser != *agency {
                return Ok(Err(NotPurchaser));
            }
            match t.closed {
                None => return Ok(Err(TenderOpen)),
                Some(closed) if r.award_date < closed => return Ok(Err(DatesOutOfOrder)),
                Some(_) => {}
            }
        }
        let subject = ComplianceSubject::Award(r.ocid.clone(), r.award_id.clone());
        Ok(Ok(self
            .assess(subject, agency, r.method, r.value)?
            .into_iter()
            .collect()))
    }

    /// A new value of an award: assess it again with the method it was assessed with.
    pub(crate) fn award_value_changed(
        &self,
        ocid: &str,
        award_id: &str,
        agency: &AgencyId,
        value: Amount,
    ) -> Result<Vec<(StateKey, StateValue)>, LedgerError> {
        let subject = ComplianceSubject::Award(ocid.to_string(), award_id.to_string());
        let method = match self.get(&StateKey::Compliance(subject.clone()))? {
            Some(StateValue::Compliance(c)) => c.method,
            _ => return Ok(vec![]),
        };
        Ok(self
            .assess(subject, agency, method, value)?
            .into_iter()
            .collect())
    }

    pub(crate) fn publish_tender(
        &self,
        r: &PublishTender,
        agency: &AgencyId,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        if r.purchaser != *agency {
            return Ok(Err(NotPurchaser));
        }
        if self.tender(&r.ocid)?.is_some() {
            return Ok(Err(TenderExists));
        }
        let mut writes = vec![(
            StateKey::Tender(r.ocid.clone()),
            StateValue::Tender(TenderState {
                purchaser: agency.clone(),
                method: r.method,
                budget: r.budget,
                publish_date: r.publish_date,
                submission_deadline: r.submission_deadline,
                status: TenderStatus::Active,
                closed: None,
                bids_received: None,
                last_tx: tx,
            }),
        )];
        let subject = ComplianceSubject::Tender(r.ocid.clone());
        writes.extend(self.assess(subject, agency, r.method, r.budget)?);
        Ok(Ok(writes))
    }

    pub(crate) fn close_tender(
        &self,
        r: &CloseTender,
        agency: &AgencyId,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        Ok(match self.tender(&r.ocid)? {
            None => Err(TenderUnknown),
            Some(t) if t.purchaser != *agency => Err(NotPurchaser),
            Some(t) if t.status != TenderStatus::Active => Err(TenderClosed),
            Some(t) if r.date < t.publish_date => Err(DatesOutOfOrder),
            Some(t) => Ok(vec![(
                StateKey::Tender(r.ocid.clone()),
                StateValue::Tender(TenderState {
                    status: TenderStatus::Complete,
                    closed: Some(r.date),
                    bids_received: Some(r.bids_received),
                    last_tx: tx,
                    ..t
                }),
            )]),
        })
    }

    pub(crate) fn sign_contract(
        &self,
        r: &SignContract,
        agency: &AgencyId,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        let award = match self.award(&r.ocid, &r.award_id)? {
            None => return Ok(Err(AwardUnknown)),
            Some(a) if a.purchaser != *agency => return Ok(Err(NotPurchaser)),
            Some(a) if a.status != AwardStatus::Active => return Ok(Err(AwardNotActive)),
            Some(a) => a,
        };
        if self.contract(&r.ocid, &r.contract_id)?.is_some() {
            return Ok(Err(ContractExists));
        }
        if r.value.currency != award.value.currency {
            return Ok(Err(CurrencyMismatch));
        }
        if r.signed_date < award.award_date {
            return Ok(Err(DatesOutOfOrder));
        }
        // The process's method: its tender's, else the one its award was assessed with.
        let method = match self.tender(&r.ocid)? {
            Some(t) => Some(t.method),
            None => {
                let s = ComplianceSubject::Award(r.ocid.clone(), r.award_id.clone());
                match self.get(&StateKey::Compliance(s))? {
                    Some(StateValue::Compliance(c)) => Some(c.method),
                    _ => None,
                }
            }
        };
        let mut writes = vec![(
            StateKey::Contract(r.ocid.clone(), r.contract_id.clone()),
            StateValue::Contract(ContractState {
                purchaser: agency.clone(),
                award_id: r.award_id.clone(),
                value: r.value,
                paid: Amount {
                    minor: 0,
                    currency: r.value.currency,
                },
                signed_date: r.signed_date,
                period_end: r.period_end,
                last_date: r.signed_date,
                status: ContractStatus::Active,
                method,
                last_tx: tx,
            }),
        )];
        if let Some(m) = method {
            let subject = ComplianceSubject::Contract(r.ocid.clone(), r.contract_id.clone());
            writes.extend(self.assess(subject, agency, m, r.value)?);
        }
        Ok(Ok(writes))
    }

    /// The contract if `agency` may record on it at `date`.
    fn open_contract(
        &self,
        ocid: &str,
        id: &str,
        agency: &AgencyId,
        date: Date,
    ) -> Result<Result<ContractState, chancery_core::block::ReasonCode>, LedgerError> {
        Ok(match self.contract(ocid, id)? {
            None => Err(ContractUnknown),
            Some(c) if c.purchaser != *agency => Err(NotPurchaser),
            Some(c) if c.status != ContractStatus::Active => Err(ContractClosed),
            Some(c) if date < c.last_date => Err(DatesOutOfOrder),
            Some(c) => Ok(c),
        })
    }

    pub(crate) fn amend_contract(
        &self,
        r: &AmendContract,
        agency: &AgencyId,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        let mut c = match self.open_contract(&r.ocid, &r.contract_id, agency, r.date)? {
            Ok(c) => c,
            Err(reason) => return Ok(Err(reason)),
        };
        let mut writes = Vec::with_capacity(2);
        if let Some(v) = r.value {
            if v.currency != c.value.currency {
                return Ok(Err(CurrencyMismatch));
            }
            if v.minor < c.paid.minor {
                return Ok(Err(PaymentExceedsContract));
            }
            c.value = v;
            if let Some(m) = c.method {
                let subject = ComplianceSubject::Contract(r.ocid.clone(), r.contract_id.clone());
                writes.extend(self.assess(subject, agency, m, v)?);
            }
        }
        if let Some(end) = r.period_end {
            if end < c.signed_date {
                return Ok(Err(DatesOutOfOrder));
            }
            c.period_end = end;
        }
        c.last_date = r.date;
        c.last_tx = tx;
        writes.push((
            StateKey::Contract(r.ocid.clone(), r.contract_id.clone()),
            StateValue::Contract(c),
        ));
        Ok(Ok(writes))
    }

    pub(crate) fn record_implementation(
        &self,
        r: &RecordImplementation,
        agency: &AgencyId,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        let mut c = match self.open_contract(&r.ocid, &r.contract_id, agency, r.date)? {
            Ok(c) => c,
            Err(reason) => return Ok(Err(reason)),
        };
        if let Some(v) = r.value {
            if v.currency != c.value.currency {
                return Ok(Err(CurrencyMismatch));
            }
        }
        match (r.kind, r.value) {
            (ImplementationKind::Payment | ImplementationKind::FinalPayment, Some(v)) => {
                match c.paid.minor.checked_add(v.minor) {
                    Some(total) if total <= c.value.minor => c.paid.minor = total,
                    _ => return Ok(Err(PaymentExceedsContract)),
                }
                if r.kind == ImplementationKind::FinalPayment {
                    c.status = ContractStatus::Complete;
                }
            }
            // A payment without a value is malformed (`Record::validate`); a milestone's
            // value is informative and counts against nothing.
            (ImplementationKind::Payment | ImplementationKind::FinalPayment, None) => {
                return Ok(Err(Malformed))
            }
            (ImplementationKind::Milestone, _) => {}
        }
        c.last_date = r.date;
        c.last_tx = tx;
        Ok(Ok(vec![(
            StateKey::Contract(r.ocid.clone(), r.contract_id.clone()),
            StateValue::Contract(c),
        )]))
    }

    pub(crate) fn terminate_contract(
        &self,
        r: &TerminateContract,
        agency: &AgencyId,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        Ok(
            match self.open_contract(&r.ocid, &r.contract_id, agency, r.date)? {
                Err(reason) => Err(reason),
                Ok(c) => Ok(vec![(
                    StateKey::Contract(r.ocid.clone(), r.contract_id.clone()),
                    StateValue::Contract(ContractState {
                        status: ContractStatus::Terminated,
                        last_date: r.date,
                        last_tx: tx,
                        ..c
                    }),
                )]),
            },
        )
    }
}
