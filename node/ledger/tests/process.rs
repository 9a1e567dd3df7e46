//! The procurement process beyond the award (issue 22): the rules of each stage with their
//! reason codes, the process and contract histories, and the limit standards' flags.

use chancery_core::block::{Outcome, ReasonCode};
use chancery_core::crypto::SecretKey;
use chancery_core::procurement::{ComplianceRule, ImplementationKind, LimitRule};
use chancery_core::record::{
    AwardProcurement, AwardStatus, ProcurementMethod, Record, RecordKind, Role,
};
use chancery_core::state::{
    verify_state_proof, ComplianceSubject, ContractStatus, StateKey, TenderStatus,
};
use chancery_core::{AgencyId, Amount, Currency};
use chancery_ledger::testing::governed::Chain;
use chancery_ledger::testing::process::*;

use ImplementationKind::*;
use ProcurementMethod::*;
use ReasonCode::*;

fn officer(c: &Chain, agency: &str) -> SecretKey {
    c.fx.signer(agency, Role::ProcurementOfficer).clone()
}

fn rejected(r: ReasonCode) -> Outcome {
    Outcome::Rejected(r)
}

const OK: Outcome = Outcome::Applied;

#[test]
fn a_process_from_tender_to_final_payment_keeps_its_rules() {
    let mut c = Chain::new();
    c.index = true;
    let (mof, moe) = (officer(&c, "mof"), officer(&c, "moe"));
    let o = "ocds-p-1";

    // Tender: the purchaser is the signer's agency, one per process.
    assert_eq!(
        c.one(mof.clone(), tender(o, "moe", Open, 500)),
        rejected(NotPurchaser)
    );
    assert_eq!(c.one(mof.clone(), tender(o, "mof", Open, 500)), OK);
    assert_eq!(
        c.one(mof.clone(), tender(o, "mof", Open, 500)),
        rejected(TenderExists)
    );
    let asset_officer = c.fx.signer("mof", Role::AssetOfficer).clone();
    assert_eq!(
        c.one(asset_officer, close(o, day(3, 22))),
        rejected(MissingRole)
    );

    // No award while the tender takes bids.
    let a1 = award(o, "a1", "mof", Open, 450, day(3, 25));
    assert_eq!(c.one(mof.clone(), a1.clone()), rejected(TenderOpen));

    // Close: by the purchaser, not before publication, once.
    assert_eq!(
        c.one(moe.clone(), close(o, day(3, 22))),
        rejected(NotPurchaser)
    );
    assert_eq!(
        c.one(mof.clone(), close("ocds-none", day(3, 22))),
        rejected(TenderUnknown)
    );
    assert_eq!(
        c.one(mof.clone(), close(o, day(2, 1))),
        rejected(DatesOutOfOrder)
    );
    assert_eq!(c.one(mof.clone(), close(o, day(3, 22))), OK);
    assert_eq!(
        c.one(mof.clone(), close(o, day(3, 23))),
        rejected(TenderClosed)
    );
    let t = c.ledger.tender(o).unwrap().unwrap();
    assert_eq!(
        (t.status, t.closed, t.bids_received),
        (TenderStatus::Complete, Some(day(3, 22)), Some(3))
    );

    // Award: not dated before the close, and of the tender's purchaser.
    let early = award(o, "a1", "mof", Open, 450, day(3, 20));
    assert_eq!(c.one(mof.clone(), early), rejected(DatesOutOfOrder));
    let other = award(o, "a1", "moe", Open, 450, day(3, 25));
    assert_eq!(c.one(moe.clone(), other), rejected(NotPurchaser));
    assert_eq!(c.one(mof.clone(), a1), OK);

    // A pending award takes no contract.
    let pending = match award(o, "a2", "mof", Open, 10, day(3, 25)) {
        Record::AwardProcurement(a) => Record::AwardProcurement(AwardProcurement {
            status: AwardStatus::Pending,
            ..a
        }),
        _ => unreachable!(),
    };
    assert_eq!(c.one(mof.clone(), pending), OK);
    assert_eq!(
        c.one(mof.clone(), contract(o, "c2", "a2", 10, day(4, 1))),
        rejected(AwardNotActive)
    );

    // Contract: against a known, active award of the signer's agency, in its currency,
    // not signed before the award.
    assert_eq!(
        c.one(mof.clone(), contract(o, "c1", "zz", 400, day(4, 1))),
        rejected(AwardUnknown)
    );
    assert_eq!(
        c.one(moe.clone(), contract(o, "c1", "a1", 400, day(4, 1))),
        rejected(NotPurchaser)
    );
    assert_eq!(
        c.one(mof.clone(), contract(o, "c1", "a1", 400, day(3, 24))),
        rejected(DatesOutOfOrder)
    );
    let usd = match contract(o, "c1", "a1", 400, day(4, 1)) {
        Record::SignContract(mut s) => {
            s.value.currency = Currency(*b"USD");
            Record::SignContract(s)
        }
        _ => unreachable!(),
    };
    assert_eq!(c.one(mof.clone(), usd), rejected(CurrencyMismatch));
    assert_eq!(
        c.one(mof.clone(), contract(o, "c1", "a1", 400, day(4, 1))),
        OK
    );
    assert_eq!(
        c.one(mof.clone(), contract(o, "c1", "a1", 400, day(4, 2))),
        rejected(ContractExists)
    );

    // Implementation: payments never above the value; steps in date order.
    let pay = |yuan, d| step(o, "c1", Payment, Some(yuan), d);
    assert_eq!(
        c.one(mof.clone(), pay(401, day(5, 1))),
        rejected(PaymentExceedsContract)
    );
    assert_eq!(
        c.one(mof.clone(), pay(100, day(3, 30))),
        rejected(DatesOutOfOrder)
    );
    assert_eq!(
        c.one(moe.clone(), pay(100, day(5, 1))),
        rejected(NotPurchaser)
    );
    assert_eq!(
        c.one(mof.clone(), step(o, "c9", Payment, Some(1), day(5, 1))),
        rejected(ContractUnknown)
    );
    assert_eq!(
        c.one(mof.clone(), step(o, "c1", Milestone, None, day(5, 1))),
        OK
    );
    assert_eq!(c.one(mof.clone(), pay(300, day(5, 2))), OK);
    assert_eq!(
        c.one(mof.clone(), pay(200, day(5, 3))),
        rejected(PaymentExceedsContract)
    );
    // An amendment may not go below what was paid; above it, the payment fits.
    assert_eq!(
        c.one(mof.clone(), amend(o, "c1", 299, day(5, 4))),
        rejected(PaymentExceedsContract)
    );
    assert_eq!(c.one(mof.clone(), amend(o, "c1", 500, day(5, 4))), OK);
    assert_eq!(c.one(mof.clone(), pay(150, day(5, 5))), OK);
    assert_eq!(
        c.one(
            mof.clone(),
            step(o, "c1", FinalPayment, Some(50), day(6, 1))
        ),
        OK
    );
    let k = c.ledger.contract(o, "c1").unwrap().unwrap();
    assert_eq!(
        (k.status, k.paid, k.value),
        (ContractStatus::Complete, cny(500), cny(500))
    );
    // A complete contract takes nothing more.
    assert_eq!(
        c.one(mof.clone(), step(o, "c1", Milestone, None, day(6, 2))),
        rejected(ContractClosed)
    );
    assert_eq!(
        c.one(mof.clone(), terminate(o, "c1", day(6, 2))),
        rejected(ContractClosed)
    );

    // The process page lists every applied record of the process, in order; the contract
    // page its own.
    let kinds = |items: Vec<chancery_ledger::TxRecord>| -> Vec<RecordKind> {
        items
            .iter()
            .map(|r| r.entry.tx.body.record.kind())
            .collect()
    };
    let p = c.ledger.process_history(o, None, 100).unwrap();
    use RecordKind as K;
    assert_eq!(
        kinds(p.items),
        vec![
            K::PublishTender,
            K::CloseTender,
            K::AwardProcurement,
            K::AwardProcurement,
            K::SignContract,
            K::RecordImplementation,
            K::RecordImplementation,
            K::AmendContract,
            K::RecordImplementation,
            K::RecordImplementation,
        ]
    );
    let h = c.ledger.contract_history(o, "c1", None, 100).unwrap();
    assert_eq!(h.items.len(), 6);
    // The award's history shows the contract signed against it.
    let a = c.ledger.award_history(o, "a1", None, 100).unwrap();
    assert_eq!(kinds(a.items), vec![K::AwardProcurement, K::SignContract]);
}

#[test]
fn a_terminated_contract_takes_nothing_more_and_awards_without_tender_keep_working() {
    let mut c = Chain::new();
    let mof = officer(&c, "mof");
    let o = "ocds-direct";
    // No tender: a direct award needs none, and dates are not tied to one.
    assert_eq!(
        c.one(mof.clone(), award(o, "a1", "mof", Direct, 80, day(1, 5))),
        OK
    );
    assert_eq!(
        c.one(mof.clone(), contract(o, "c1", "a1", 80, day(1, 6))),
        OK
    );
    assert_eq!(
        c.one(mof.clone(), terminate(o, "c1", day(1, 5))),
        rejected(DatesOutOfOrder)
    );
    assert_eq!(c.one(mof.clone(), terminate(o, "c1", day(2, 1))), OK);
    assert_eq!(
        c.ledger.contract(o, "c1").unwrap().unwrap().status,
        ContractStatus::Terminated
    );
    assert_eq!(
        c.one(mof.clone(), step(o, "c1", Payment, Some(1), day(2, 2))),
        rejected(ContractClosed)
    );
    // A cancelled award takes no new contract.
    let cancel = Record::CancelAward(chancery_core::record::CancelAward {
        ocid: o.into(),
        award_id: "a1".into(),
        reason: "withdrawn".into(),
        date: day(2, 3),
    });
    assert_eq!(c.one(mof.clone(), cancel), OK);
    assert_eq!(
        c.one(mof.clone(), contract(o, "c2", "a1", 80, day(2, 4))),
        rejected(AwardNotActive)
    );
    // Malformed stages are refused by their format rules (a payment without a value, a
    // tender whose deadline is before it opens).
    assert_eq!(
        c.one(mof.clone(), step(o, "c1", Payment, None, day(3, 1))),
        rejected(Malformed)
    );
    let backwards = match tender("ocds-b", "mof", Open, 1) {
        Record::PublishTender(mut t) => {
            t.submission_deadline = day(2, 1);
            Record::PublishTender(t)
        }
        _ => unreachable!(),
    };
    assert_eq!(c.one(mof, backwards), rejected(Malformed));
}

fn flags(c: &Chain, s: ComplianceSubject) -> Option<Vec<ComplianceRule>> {
    c.ledger
        .compliance(&s)
        .unwrap()
        .map(|x| x.flags.iter().map(|f| f.rule).collect())
}

#[test]
fn limit_standards_flag_tenders_awards_and_contracts_but_never_reject() {
    let mut c = Chain::with_genesis(|g| g.procurement_limits = limits());
    let mof = officer(&c, "mof");
    use ComplianceSubject as S;
    let s = |x: &str| x.to_string();

    // A selective tender of 5,000,000 yuan: open tendering was required. Recorded, flagged.
    assert_eq!(
        c.one(mof.clone(), tender("t1", "mof", Selective, 5_000_000)),
        OK
    );
    assert_eq!(
        flags(&c, S::Tender(s("t1"))),
        Some(vec![ComplianceRule::OpenTenderRequired])
    );
    assert_eq!(c.one(mof.clone(), close("t1", day(3, 22))), OK);
    // The award is assessed with its own method and value, the contract with the
    // process's (the tender's) method.
    assert_eq!(
        c.one(
            mof.clone(),
            award("t1", "a1", "mof", Selective, 4_500_000, day(3, 25))
        ),
        OK
    );
    assert_eq!(
        flags(&c, S::Award(s("t1"), s("a1"))),
        Some(vec![ComplianceRule::OpenTenderRequired])
    );
    assert_eq!(
        c.one(
            mof.clone(),
            contract("t1", "c1", "a1", 4_500_000, day(4, 1))
        ),
        OK
    );
    assert_eq!(
        flags(&c, S::Contract(s("t1"), s("c1"))),
        Some(vec![ComplianceRule::OpenTenderRequired])
    );
    let f = &c
        .ledger
        .compliance(&S::Contract(s("t1"), s("c1")))
        .unwrap()
        .unwrap()
        .flags[0];
    assert_eq!(
        (f.standard.as_str(), f.limit, f.value),
        ("central", cny(4_000_000), cny(4_500_000))
    );

    // An open award above the limit is compliant: assessed, no flags.
    assert_eq!(
        c.one(
            mof.clone(),
            award("o2", "a1", "mof", Open, 6_000_000, day(1, 2))
        ),
        OK
    );
    assert_eq!(flags(&c, S::Award(s("o2"), s("a1"))), Some(vec![]));
    // Below the record limit: a note, not a breach.
    assert_eq!(
        c.one(
            mof.clone(),
            award("o3", "a1", "mof", Direct, 50_000, day(1, 2))
        ),
        OK
    );
    assert_eq!(
        flags(&c, S::Award(s("o3"), s("a1"))),
        Some(vec![ComplianceRule::BelowRecordLimit])
    );
    assert!(!ComplianceRule::BelowRecordLimit.is_breach());
    // A direct award of 3,000,000 is compliant until an amendment raises it to 5,000,000;
    // its contract (no tender) is assessed with the award's method.
    assert_eq!(
        c.one(
            mof.clone(),
            award("o4", "a1", "mof", Direct, 3_000_000, day(1, 2))
        ),
        OK
    );
    assert_eq!(flags(&c, S::Award(s("o4"), s("a1"))), Some(vec![]));
    let raise = Record::AmendAward(chancery_core::record::AmendAward {
        ocid: s("o4"),
        award_id: s("a1"),
        rationale: s("scope"),
        date: day(1, 3),
        value: Some(cny(5_000_000)),
        suppliers: None,
        items: None,
        status: None,
        documents: vec![],
    });
    assert_eq!(c.one(mof.clone(), raise), OK);
    assert_eq!(
        flags(&c, S::Award(s("o4"), s("a1"))),
        Some(vec![ComplianceRule::OpenTenderRequired])
    );
    assert_eq!(
        c.one(
            mof.clone(),
            contract("o4", "c1", "a1", 3_900_000, day(1, 4))
        ),
        OK
    );
    assert_eq!(flags(&c, S::Contract(s("o4"), s("c1"))), Some(vec![]));
    assert_eq!(
        c.one(mof.clone(), amend("o4", "c1", 4_100_000, day(1, 5))),
        OK
    );
    assert_eq!(
        flags(&c, S::Contract(s("o4"), s("c1"))),
        Some(vec![ComplianceRule::OpenTenderRequired])
    );
    // A value in another currency is not converted: no assessment.
    let usd = match award("o5", "a1", "mof", Direct, 9_000_000, day(1, 2)) {
        Record::AwardProcurement(mut a) => {
            a.value = Amount {
                minor: 1,
                currency: Currency(*b"USD"),
            };
            Record::AwardProcurement(a)
        }
        _ => unreachable!(),
    };
    assert_eq!(c.one(mof.clone(), usd), OK);
    assert_eq!(flags(&c, S::Award(s("o5"), s("a1"))), None);

    // The flag is state: an auditor proves it against the block's state root.
    let key = StateKey::Compliance(S::Award(s("t1"), s("a1")));
    let (proof, cp) = c.ledger.state_proof(&key, None).unwrap();
    let value = verify_state_proof(c.fx.genesis.crypto, &cp.header.state_root, &proof).unwrap();
    assert!(matches!(
        value,
        Some(chancery_core::state::StateValue::Compliance(ref x)) if x.flags.len() == 1
    ));
}

#[test]
fn a_chain_without_standards_assesses_nothing_and_governance_sets_them() {
    let mut c = Chain::new();
    let mof = officer(&c, "mof");
    use ComplianceSubject as S;
    assert_eq!(
        c.one(
            mof.clone(),
            award("g1", "a1", "mof", Direct, 9_000_000, day(1, 2))
        ),
        OK
    );
    assert_eq!(flags(&c, S::Award("g1".into(), "a1".into())), None);
    assert!(c.ledger.procurement_limits().unwrap().is_empty());

    // A standard naming an agency that does not exist is refused with its code.
    let mut bad = limits();
    bad.rules.push(LimitRule {
        name: "nowhere".into(),
        agencies: vec![AgencyId("xyz".into())],
        open_tender_from: cny(1),
        record_from: cny(1),
    });
    let change = |l| chancery_core::governance::Change::SetProcurementLimits { limits: l };
    assert_eq!(
        c.propose("mof", "p-bad", vec![change(bad)]),
        rejected(UnknownAgency)
    );
    // Passed by the agencies, the standards apply at once to later records only.
    assert_eq!(
        c.pass("p-limits", vec![change(limits())], &["mof", "moe", "nhc"]),
        OK
    );
    assert_eq!(c.ledger.procurement_limits().unwrap(), limits());
    assert_eq!(flags(&c, S::Award("g1".into(), "a1".into())), None);
    assert_eq!(
        c.one(mof, award("g2", "a1", "mof", Direct, 9_000_000, day(1, 2))),
        OK
    );
    assert_eq!(
        flags(&c, S::Award("g2".into(), "a1".into())),
        Some(vec![ComplianceRule::OpenTenderRequired])
    );
}
