//! Execution rules, state proofs, queries, recovery and integrity checks, end to end over
//! an in-memory store.

use chancery_core::block::{Block, Outcome, ReasonCode};
use chancery_core::crypto::SecretKey;
use chancery_core::record::*;
use chancery_core::state::{verify_state_proof, AssetStatus, StateKey, StateValue};
use chancery_core::tx::Transaction;
use chancery_core::{
    AgencyId, Amount, Currency, Date, Digest, Height, PublicKey, TimestampMs, TxHash,
};
use chancery_ledger::testing::fixture::{named_key, Fixture};
use chancery_ledger::testing::propose_and_apply;
use chancery_ledger::{check, AwardFilter, GrantFilter, GrantStatus, Ledger, LedgerError};
use chancery_storage::{Column, FaultPlan, FaultyStore, MemStore, Store};
use std::collections::HashMap;
use std::sync::Arc;

use ReasonCode::*;
use Role::*;

/// A fresh in-memory store, shared so that a test can look underneath its ledger.
fn mem() -> Arc<MemStore> {
    Arc::new(MemStore::new())
}

/// `inner` behind a fault injector that applies `plan` (writes numbered from 1).
fn faulty(inner: &Arc<MemStore>, plan: FaultPlan) -> Arc<FaultyStore<Arc<MemStore>>> {
    Arc::new(FaultyStore::with_plan(inner.clone(), plan))
}

fn ag(s: &str) -> AgencyId {
    AgencyId(s.into())
}

fn date(y: u16, m: u8, d: u8) -> Date {
    Date::new(y, m, d).unwrap()
}

fn cny(minor: u64) -> Amount {
    Amount {
        minor,
        currency: Currency::CNY,
    }
}

fn register(id: &str, custodian: &str) -> Record {
    chancery_ledger::testing::fixture::register_asset(id, custodian)
}

fn transfer(id: &str, from: &str, to: &str) -> Record {
    Record::TransferAsset(TransferAsset {
        asset_id: id.into(),
        from: ag(from),
        to: ag(to),
        kind: TransferKind::Allocation,
        approval_document: Digest([1; 32]),
        effective_date: date(2026, 2, 1),
    })
}

fn dispose(id: &str) -> Record {
    Record::DisposeAsset(DisposeAsset {
        asset_id: id.into(),
        method: DisposalMethod::Scrapping,
        approval_document: Digest([2; 32]),
        date: date(2026, 3, 1),
        proceeds: None,
        counterparty: None,
    })
}

fn supplier(code: &str) -> Supplier {
    Supplier {
        name: format!("Supplier {code}"),
        credit_code: code.into(),
    }
}

fn award(ocid: &str, id: &str, purchaser: &str, minor: u64, code: &str, d: Date) -> Record {
    Record::AwardProcurement(AwardProcurement {
        ocid: ocid.into(),
        award_id: id.into(),
        project_number: "P-1".into(),
        title: "Servers".into(),
        description: String::new(),
        purchaser: ag(purchaser),
        method: ProcurementMethod::Open,
        method_details: "公开招标".into(),
        suppliers: vec![supplier(code)],
        value: cny(minor),
        award_date: d,
        status: AwardStatus::Active,
        items: vec![],
        documents: vec![],
    })
}

fn amend(ocid: &str, id: &str, minor: u64) -> Record {
    Record::AmendAward(AmendAward {
        ocid: ocid.into(),
        award_id: id.into(),
        rationale: "price change".into(),
        date: date(2026, 4, 1),
        value: Some(cny(minor)),
        suppliers: None,
        items: None,
        status: None,
        documents: vec![],
    })
}

fn cancel(ocid: &str, id: &str) -> Record {
    Record::CancelAward(CancelAward {
        ocid: ocid.into(),
        award_id: id.into(),
        reason: "withdrawn".into(),
        date: date(2026, 4, 2),
    })
}

fn grant(id: &str, dataset: &str, grantor: &str, grantee: &str, from: Date, until: Date) -> Record {
    Record::GrantDataAccess(GrantDataAccess {
        grant_id: id.into(),
        dataset_id: dataset.into(),
        grantor: ag(grantor),
        grantee: ag(grantee),
        actions: vec![Action::Read, Action::Use],
        purpose: "statistics".into(),
        condition: SharingCondition::Conditional,
        valid_from: from,
        valid_until: until,
        constraints: Restricted::Open(vec![]),
    })
}

fn revoke_grant(id: &str) -> Record {
    Record::RevokeGrant(RevokeGrant {
        grant_id: id.into(),
        reason: "ended".into(),
    })
}

fn anchor(supports: RecordRef) -> Record {
    Record::AnchorDocument(AnchorDocument {
        document: DocumentRef {
            hash: Digest([9; 32]),
            kind: "invoice".into(),
            title: "Invoice".into(),
            url: String::new(),
        },
        supports,
    })
}

fn register_member(agency: &str, key: PublicKey, roles: Vec<Role>) -> Record {
    Record::RegisterMember(RegisterMember {
        agency: ag(agency),
        key,
        name: "new member".into(),
        roles,
    })
}

fn revoke_member(agency: &str, key: PublicKey) -> Record {
    Record::RevokeMember(RevokeMember {
        agency: ag(agency),
        key,
        reason: "left".into(),
    })
}

/// A ledger with a fixture and per-key sequence numbers.
struct World {
    fx: Fixture,
    ledger: Ledger,
    seqs: HashMap<PublicKey, u64>,
}

impl World {
    fn new() -> World {
        let fx = Fixture::new();
        let ledger = Ledger::open(mem(), &fx.genesis).unwrap();
        World {
            fx,
            ledger,
            seqs: HashMap::new(),
        }
    }

    fn signed(&self, key: &SecretKey, record: Record) -> Transaction {
        let seq = self.seqs.get(&key.public()).copied().unwrap_or(0);
        self.fx.tx(key, seq, record)
    }

    /// Send one record from a key in its own block; returns the outcome.
    fn send_key(&mut self, key: &SecretKey, record: Record) -> Outcome {
        let tx = self.signed(key, record);
        let out = self.block(vec![tx]);
        out[0]
    }

    fn send(&mut self, agency: &str, role: Role, record: Record) -> Outcome {
        let key = self.fx.signer(agency, role).clone();
        self.send_key(&key, record)
    }

    /// Apply a block of transactions; bump the sequence of every applied signer.
    fn block(&mut self, txs: Vec<Transaction>) -> Vec<Outcome> {
        let applied = propose_and_apply(&self.ledger, &self.fx, txs.clone()).unwrap();
        for (tx, o) in txs.iter().zip(&applied.outcomes) {
            if *o == Outcome::Applied {
                *self.seqs.entry(tx.body.signer).or_insert(0) += 1;
            }
        }
        applied.outcomes
    }
}

fn rejected(r: ReasonCode) -> Outcome {
    Outcome::Rejected(r)
}

#[test]
fn asset_rules() {
    let mut w = World::new();
    assert_eq!(
        w.send("mof", AssetOfficer, register("A1", "mof")),
        Outcome::Applied
    );
    assert_eq!(
        w.send("mof", AssetOfficer, register("A1", "mof")),
        rejected(AssetExists)
    );
    assert_eq!(
        w.send("moe", AssetOfficer, register("A1", "moe")),
        rejected(AssetExists)
    );
    assert_eq!(
        w.send("mof", AssetOfficer, register("A2", "moe")),
        rejected(WrongAgency)
    );
    // Transfer: from must be the signer's agency, and the current custodian.
    assert_eq!(
        w.send("mof", AssetOfficer, transfer("A1", "moe", "nhc")),
        rejected(WrongAgency)
    );
    assert_eq!(
        w.send("moe", AssetOfficer, transfer("A1", "moe", "nhc")),
        rejected(NotCustodian)
    );
    assert_eq!(
        w.send("mof", AssetOfficer, transfer("A9", "mof", "nhc")),
        rejected(AssetUnknown)
    );
    assert_eq!(
        w.send("mof", AssetOfficer, transfer("A1", "mof", "xyz")),
        rejected(UnknownAgency)
    );
    assert_eq!(
        w.send("mof", ProcurementOfficer, transfer("A1", "mof", "moe")),
        rejected(MissingRole)
    );
    assert_eq!(
        w.send("mof", AssetOfficer, transfer("A1", "mof", "moe")),
        Outcome::Applied
    );
    assert_eq!(w.ledger.asset("A1").unwrap().unwrap().custodian, ag("moe"));
    // Only the current custodian may dispose.
    assert_eq!(
        w.send("mof", AssetOfficer, dispose("A1")),
        rejected(NotCustodian)
    );
    assert_eq!(
        w.send("moe", AssetOfficer, dispose("A9")),
        rejected(AssetUnknown)
    );
    assert_eq!(w.send("moe", AssetOfficer, dispose("A1")), Outcome::Applied);
    assert_eq!(
        w.ledger.asset("A1").unwrap().unwrap().status,
        AssetStatus::Disposed
    );
    // A disposed asset can do nothing more.
    assert_eq!(
        w.send("moe", AssetOfficer, dispose("A1")),
        rejected(AssetDisposed)
    );
    assert_eq!(
        w.send("moe", AssetOfficer, transfer("A1", "moe", "mof")),
        rejected(AssetDisposed)
    );
    // History: register, transfer, dispose.
    let h = w.ledger.asset_history("A1", None, 10).unwrap();
    let kinds: Vec<RecordKind> = h
        .items
        .iter()
        .map(|r| r.entry.tx.body.record.kind())
        .collect();
    assert_eq!(
        kinds,
        vec![
            RecordKind::RegisterAsset,
            RecordKind::TransferAsset,
            RecordKind::DisposeAsset
        ]
    );
}

#[test]
fn procurement_rules() {
    let mut w = World::new();
    let d = date(2026, 3, 3);
    let code = "91110000100000000A";
    assert_eq!(
        w.send(
            "mof",
            ProcurementOfficer,
            award("ocds-1", "a1", "moe", 100, code, d)
        ),
        rejected(NotPurchaser)
    );
    assert_eq!(
        w.send(
            "mof",
            ProcurementOfficer,
            award("ocds-1", "a1", "mof", 100, code, d)
        ),
        Outcome::Applied
    );
    assert_eq!(
        w.send(
            "mof",
            ProcurementOfficer,
            award("ocds-1", "a1", "mof", 100, code, d)
        ),
        rejected(AwardExists)
    );
    assert_eq!(
        w.send(
            "mof",
            AssetOfficer,
            award("ocds-1", "a2", "mof", 100, code, d)
        ),
        rejected(MissingRole)
    );
    assert_eq!(
        w.send("moe", ProcurementOfficer, amend("ocds-1", "a1", 5)),
        rejected(NotPurchaser)
    );
    assert_eq!(
        w.send("mof", ProcurementOfficer, amend("ocds-1", "zz", 5)),
        rejected(AwardUnknown)
    );
    assert_eq!(
        w.send("mof", ProcurementOfficer, amend("ocds-1", "a1", 250)),
        Outcome::Applied
    );
    assert_eq!(
        w.ledger.award("ocds-1", "a1").unwrap().unwrap().value,
        cny(250)
    );
    assert_eq!(
        w.send("moe", ProcurementOfficer, cancel("ocds-1", "a1")),
        rejected(NotPurchaser)
    );
    assert_eq!(
        w.send("mof", ProcurementOfficer, cancel("ocds-1", "zz")),
        rejected(AwardUnknown)
    );
    assert_eq!(
        w.send("mof", ProcurementOfficer, cancel("ocds-1", "a1")),
        Outcome::Applied
    );
    assert_eq!(
        w.send("mof", ProcurementOfficer, cancel("ocds-1", "a1")),
        rejected(AwardCancelled)
    );
    assert_eq!(
        w.send("mof", ProcurementOfficer, amend("ocds-1", "a1", 7)),
        rejected(AwardCancelled)
    );
    let a = w.ledger.award("ocds-1", "a1").unwrap().unwrap();
    assert_eq!(a.status, AwardStatus::Cancelled);
    assert_eq!(
        w.ledger
            .award_history("ocds-1", "a1", None, 10)
            .unwrap()
            .items
            .len(),
        3
    );
}

#[test]
fn data_sharing_rules_and_activity_in_block_time() {
    let mut w = World::new();
    let (from, until) = (date(2026, 1, 1), date(2026, 12, 31));
    assert_eq!(
        w.send(
            "mof",
            DataSteward,
            grant("g1", "ds1", "moe", "nhc", from, until)
        ),
        rejected(WrongAgency)
    );
    assert_eq!(
        w.send(
            "mof",
            DataSteward,
            grant("g1", "ds1", "mof", "xyz", from, until)
        ),
        rejected(UnknownAgency)
    );
    assert_eq!(
        w.send(
            "mof",
            AssetOfficer,
            grant("g1", "ds1", "mof", "nhc", from, until)
        ),
        rejected(MissingRole)
    );
    assert_eq!(
        w.send(
            "mof",
            DataSteward,
            grant("g1", "ds1", "mof", "nhc", from, until)
        ),
        Outcome::Applied
    );
    assert_eq!(
        w.send(
            "mof",
            DataSteward,
            grant("g1", "ds2", "mof", "moe", from, until)
        ),
        rejected(GrantExists)
    );
    // The first grant made mof the owner of ds1: nobody else may grant it.
    assert_eq!(
        w.send(
            "moe",
            DataSteward,
            grant("g2", "ds1", "moe", "nhc", from, until)
        ),
        rejected(DatasetNotOwned)
    );
    assert_eq!(
        w.send(
            "mof",
            DataSteward,
            grant("g2", "ds1", "mof", "moe", from, date(2026, 6, 30))
        ),
        Outcome::Applied
    );
    assert_eq!(
        w.send("moe", DataSteward, revoke_grant("g1")),
        rejected(NotGrantor)
    );
    assert_eq!(
        w.send("mof", DataSteward, revoke_grant("gx")),
        rejected(GrantUnknown)
    );
    assert_eq!(
        w.send("mof", DataSteward, revoke_grant("g1")),
        Outcome::Applied
    );
    assert_eq!(
        w.send("mof", DataSteward, revoke_grant("g1")),
        rejected(GrantRevoked)
    );
    // Status is measured in block time.
    let g2 = w.ledger.grant("g2").unwrap().unwrap();
    assert!(g2.is_active_at(date(2026, 6, 30).start_ms()));
    assert!(!g2.is_active_at(date(2026, 7, 1).start_ms()));
    let at = |t: TimestampMs, status| GrantFilter {
        dataset: Some("ds1".into()),
        status: Some(status),
        at: Some(t),
        ..GrantFilter::default()
    };
    let ids = |f: GrantFilter| -> Vec<String> {
        w.ledger
            .grants(&f, None, 10)
            .unwrap()
            .items
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    };
    assert_eq!(
        ids(at(date(2026, 3, 1).start_ms(), GrantStatus::Active)),
        vec!["g2".to_string()]
    );
    assert_eq!(
        ids(at(date(2026, 8, 1).start_ms(), GrantStatus::Expired)),
        vec!["g2".to_string()]
    );
    assert_eq!(
        ids(at(date(2025, 8, 1).start_ms(), GrantStatus::NotYetValid)),
        vec!["g2".to_string()]
    );
    assert_eq!(
        ids(at(date(2026, 3, 1).start_ms(), GrantStatus::Revoked)),
        vec!["g1".to_string()]
    );
    let by_grantee = GrantFilter {
        grantee: Some(ag("nhc")),
        ..GrantFilter::default()
    };
    assert_eq!(ids(by_grantee), vec!["g1".to_string()]);
}

#[test]
fn membership_signer_and_sequence_rules() {
    let mut w = World::new();
    let newbie = named_key("newbie");
    let existing = w.fx.signer("moe", AssetOfficer).public();
    // Only admins register, only in their own agency, only fresh keys.
    assert_eq!(
        w.send(
            "mof",
            AssetOfficer,
            register_member("mof", newbie.public(), vec![AssetOfficer])
        ),
        rejected(NotAdmin)
    );
    assert_eq!(
        w.send(
            "mof",
            Admin,
            register_member("moe", newbie.public(), vec![AssetOfficer])
        ),
        rejected(WrongAgency)
    );
    assert_eq!(
        w.send(
            "mof",
            Admin,
            register_member("mof", existing, vec![AssetOfficer])
        ),
        rejected(MemberExists)
    );
    // An unregistered key cannot sign.
    assert_eq!(
        w.send_key(&newbie.clone(), register("N1", "mof")),
        rejected(UnknownSigner)
    );
    assert_eq!(
        w.send(
            "mof",
            Admin,
            register_member("mof", newbie.public(), vec![AssetOfficer])
        ),
        Outcome::Applied
    );
    assert_eq!(
        w.send_key(&newbie.clone(), register("N1", "mof")),
        Outcome::Applied
    );
    // Revocation: only by an admin of the member's own agency.
    assert_eq!(
        w.send("moe", Admin, revoke_member("mof", newbie.public())),
        rejected(WrongAgency)
    );
    assert_eq!(
        w.send("moe", Admin, revoke_member("moe", newbie.public())),
        rejected(MemberUnknown)
    );
    assert_eq!(
        w.send("mof", Admin, revoke_member("mof", newbie.public())),
        Outcome::Applied
    );
    assert_eq!(
        w.send("mof", Admin, revoke_member("mof", newbie.public())),
        rejected(MemberUnknown)
    );
    assert_eq!(
        w.send_key(&newbie.clone(), register("N2", "mof")),
        rejected(SignerRevoked)
    );
    // A revoked key cannot be registered again.
    assert_eq!(
        w.send(
            "mof",
            Admin,
            register_member("mof", newbie.public(), vec![Archivist])
        ),
        rejected(MemberExists)
    );
    let members = w.ledger.members(&ag("mof"), None, 100).unwrap();
    assert_eq!(members.items.len(), 1 + 4 + 1);
    assert!(members
        .items
        .iter()
        .any(|(k, m)| *k == newbie.public() && m.revoked));

    // Sequence numbers: exactly the next one; rejected transactions consume none.
    let key = w.fx.signer("nhc", AssetOfficer).clone();
    let gap = w.fx.tx(&key, 1, register("S1", "nhc"));
    assert_eq!(w.block(vec![gap]), vec![rejected(BadSequence)]);
    assert_eq!(w.send_key(&key, register("S1", "nhc")), Outcome::Applied); // seq 0
    let replay = w.fx.tx(&key, 0, register("S2", "nhc"));
    assert_eq!(w.block(vec![replay]), vec![rejected(BadSequence)]);
    let bad = w.fx.tx(&key, 1, register("S1", "nhc"));
    assert_eq!(w.block(vec![bad]), vec![rejected(AssetExists)]);
    let next = w.fx.tx(&key, 1, register("S2", "nhc"));
    assert_eq!(w.block(vec![next]), vec![Outcome::Applied]);
}

#[test]
fn anchors_need_their_subject() {
    let mut w = World::new();
    assert_eq!(
        w.send("mof", Archivist, anchor(RecordRef::Asset("nope".into()))),
        rejected(AssetUnknown)
    );
    assert_eq!(
        w.send(
            "mof",
            Archivist,
            anchor(RecordRef::Award("o".into(), "a".into()))
        ),
        rejected(AwardUnknown)
    );
    assert_eq!(
        w.send("mof", Archivist, anchor(RecordRef::Grant("g".into()))),
        rejected(GrantUnknown)
    );
    assert_eq!(
        w.send("mof", AssetOfficer, anchor(RecordRef::None)),
        rejected(MissingRole)
    );
    assert_eq!(
        w.send("mof", Archivist, anchor(RecordRef::None)),
        Outcome::Applied
    );
    assert_eq!(
        w.send("mof", AssetOfficer, register("D1", "mof")),
        Outcome::Applied
    );
    assert_eq!(
        w.send("moe", Archivist, anchor(RecordRef::Asset("D1".into()))),
        Outcome::Applied
    );
    assert_eq!(
        w.ledger.asset_history("D1", None, 10).unwrap().items.len(),
        2
    );
}

#[test]
fn byzantine_blocks_are_rejected_per_transaction_identically() {
    let mut w = World::new();
    let k = w.fx.signer("mof", AssetOfficer).clone();
    let good = w.fx.tx(&k, 0, register("B1", "mof"));
    let mut forged = w.fx.tx(&k, 1, register("B2", "mof"));
    forged.signature.0[0] ^= 1;
    let mut other_chain = w.fx.tx(&k, 1, register("B3", "mof"));
    other_chain.body.chain_id = Digest([5; 32]);
    let other_chain = Transaction::sign(other_chain.body, &k);
    let malformed = w.fx.tx(&k, 1, register("", "mof"));
    let outs = w.block(vec![
        good.clone(),
        good.clone(),
        forged,
        other_chain,
        malformed,
    ]);
    assert_eq!(
        outs,
        vec![
            Outcome::Applied,
            rejected(DuplicateTx),
            rejected(BadSignature),
            rejected(WrongChain),
            rejected(Malformed)
        ]
    );
    // The same transaction in a later block is a duplicate too.
    assert_eq!(w.block(vec![good.clone()]), vec![rejected(DuplicateTx)]);
    // Rejections consumed no sequence number.
    assert_eq!(w.send_key(&k, register("B4", "mof")), Outcome::Applied);
    // The rejected transactions are in the log with their reasons.
    let rec = w.ledger.tx(&good.hash()).unwrap().unwrap();
    assert_eq!(rec.entry.outcome, Outcome::Applied);
    assert_eq!(rec.index, 0);
    assert_eq!(
        w.ledger.log_entry(2).unwrap().unwrap().outcome,
        rejected(BadSignature)
    );
    // A second node applying the same blocks reaches the same state.
    let other = Ledger::open(mem(), &w.fx.genesis).unwrap();
    for h in 1..=w.ledger.tip().height.0 {
        let (block, cert) = w.ledger.block(Height(h)).unwrap().unwrap();
        other.apply(&block, &cert).unwrap();
    }
    assert_eq!(other.tip(), w.ledger.tip());
}

#[test]
fn headers_that_disagree_with_execution_are_refused_by_name() {
    let w = World::new();
    let k = w.fx.signer("mof", AssetOfficer);
    let txs = vec![w.fx.tx(k, 0, register("H1", "mof"))];
    let tip = w.ledger.tip();
    let time = TimestampMs(tip.time.0 + 5);
    let checked = chancery_ledger::verify_block_txs(&w.ledger.chain_id(), txs.clone(), |_| None);
    let ex = w.ledger.execute(&checked, time, Height(1)).unwrap();
    let mut header = w.fx.header(Height(1), tip.hash, time);
    ex.fill_header(&mut header);
    let good = Block {
        header: header.clone(),
        txs: txs.clone(),
    };
    let mut bad = good.clone();
    bad.header.state_root = Digest([3; 32]);
    let err = w.ledger.apply(&bad, &w.fx.finalize(&bad)).unwrap_err();
    match err {
        LedgerError::HeaderMismatch {
            field,
            expected,
            found,
        } => {
            assert_eq!(field, "state_root");
            assert_eq!(expected, ex.state_root.to_hex());
            assert_eq!(found, Digest([3; 32]).to_hex());
        }
        e => panic!("unexpected {e}"),
    }
    // A certificate for another block is refused too.
    assert!(matches!(
        w.ledger.apply(&good, &w.fx.finalize(&bad)),
        Err(LedgerError::Certificate(_))
    ));
    assert_eq!(w.ledger.tip(), tip);
    let applied = w.ledger.apply(&good, &w.fx.finalize(&good)).unwrap();
    assert_eq!(applied.state_root, ex.state_root);
    // Wrong height / parent.
    assert!(matches!(
        w.ledger.apply(&good, &w.fx.finalize(&good)),
        Err(LedgerError::WrongHeight { .. })
    ));
}

#[test]
fn state_proofs_verify_in_the_kernel_as_of_any_height() {
    let mut w = World::new();
    for i in 0..40 {
        assert_eq!(
            w.send("mof", AssetOfficer, register(&format!("P{i}"), "mof")),
            Outcome::Applied
        );
    }
    let h_before = w.ledger.tip().height;
    assert_eq!(
        w.send("mof", AssetOfficer, transfer("P7", "mof", "nhc")),
        Outcome::Applied
    );
    let h_after = w.ledger.tip().height;
    let root_at = |h: Height| w.ledger.block(h).unwrap().unwrap().0.header.state_root;
    let key = StateKey::Asset("P7".into());
    let before = w.ledger.prove(&key, h_before).unwrap();
    let after = w.ledger.prove(&key, h_after).unwrap();
    let custodian = |v: Option<StateValue>| match v {
        Some(StateValue::Asset(a)) => a.custodian,
        other => panic!("not an asset: {other:?}"),
    };
    assert_eq!(
        custodian(
            verify_state_proof(
                chancery_core::suite::Suite::default(),
                &root_at(h_before),
                &before
            )
            .unwrap()
        ),
        ag("mof")
    );
    assert_eq!(
        custodian(
            verify_state_proof(
                chancery_core::suite::Suite::default(),
                &root_at(h_after),
                &after
            )
            .unwrap()
        ),
        ag("nhc")
    );
    assert!(verify_state_proof(
        chancery_core::suite::Suite::default(),
        &root_at(h_after),
        &before
    )
    .is_err());
    assert!(
        after.siblings.len() < 20,
        "proof of {} siblings",
        after.siblings.len()
    );
    // Absence.
    let missing = w
        .ledger
        .prove(&StateKey::Asset("nope".into()), h_after)
        .unwrap();
    assert_eq!(
        verify_state_proof(
            chancery_core::suite::Suite::default(),
            &root_at(h_after),
            &missing
        )
        .unwrap(),
        None
    );
    // Genesis members are proven at height 0 too.
    let admin = w.fx.signer("moe", Admin).public();
    let p0 = w.ledger.prove(&StateKey::Member(admin), Height(0)).unwrap();
    assert!(matches!(p0.value, Some(StateValue::Member(ref m)) if m.agency == ag("moe")));
    assert!(w.ledger.prove(&key, Height(0)).unwrap().value.is_none());
}

#[test]
fn award_queries_filter_and_paginate() {
    let mut w = World::new();
    let k = w.fx.signer("mof", ProcurementOfficer).clone();
    let codes = ["91110000100000000A", "91110000100000000B"];
    let mut txs = Vec::new();
    for i in 0..30u64 {
        let rec = award(
            "ocds-q",
            &format!("a{i:02}"),
            "mof",
            1000 + i,
            codes[(i % 2) as usize],
            date(2026, 1, 1 + (i % 28) as u8),
        );
        txs.push(w.fx.tx(&k, i, rec));
    }
    assert!(w.block(txs).iter().all(|o| *o == Outcome::Applied));
    assert_eq!(
        w.send("mof", ProcurementOfficer, amend("ocds-q", "a00", 5000)),
        Outcome::Applied
    );
    // Paginate all awards by date, 7 per page.
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let p = w
            .ledger
            .awards(&AwardFilter::default(), cursor.as_deref(), 7)
            .unwrap();
        assert!(p.items.len() <= 7);
        seen.extend(p.items.into_iter().map(|((_, id), _)| id));
        match p.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 30);
    // By supplier code.
    let f = AwardFilter {
        supplier_code: Some(codes[1].into()),
        ..AwardFilter::default()
    };
    assert_eq!(w.ledger.awards(&f, None, 100).unwrap().items.len(), 15);
    // By amount: the amended award left its old amount.
    let f = AwardFilter {
        amount_min: Some(cny(1000)),
        amount_max: Some(cny(1001)),
        ..AwardFilter::default()
    };
    let ids: Vec<String> = w
        .ledger
        .awards(&f, None, 100)
        .unwrap()
        .items
        .into_iter()
        .map(|((_, a), _)| a)
        .collect();
    assert_eq!(ids, vec!["a01".to_string()]);
    let f = AwardFilter {
        amount_min: Some(cny(4000)),
        ..AwardFilter::default()
    };
    assert_eq!(w.ledger.awards(&f, None, 100).unwrap().items.len(), 1);
    // By date range.
    let f = AwardFilter {
        date_from: Some(date(2026, 1, 1)),
        date_until: Some(date(2026, 1, 2)),
        ..AwardFilter::default()
    };
    assert_eq!(w.ledger.awards(&f, None, 100).unwrap().items.len(), 4);
    // Page limits and bad cursors.
    assert!(matches!(
        w.ledger.awards(&AwardFilter::default(), None, 100_000),
        Err(LedgerError::PageTooLarge { .. })
    ));
    assert!(matches!(
        w.ledger.awards(&AwardFilter::default(), Some("zz"), 10),
        Err(LedgerError::BadCursor(_))
    ));
    // Records by agency and by kind/time.
    let r = w.ledger.records_by_agency(&ag("mof"), None, 100).unwrap();
    assert_eq!(r.items.len(), 31);
    let r = w
        .ledger
        .records_by_kind(
            RecordKind::AmendAward,
            TimestampMs(0),
            TimestampMs(u64::MAX),
            None,
            100,
        )
        .unwrap();
    assert_eq!(r.items.len(), 1);
}

/// Apply `n` small blocks to `ledger`; return the tip.
fn run_blocks(fx: &Fixture, ledger: &Ledger, from: u64, n: u64) {
    let k = fx.signer("mof", AssetOfficer);
    for i in from..from + n {
        let tx = fx.tx(k, i, register(&format!("R{i}"), "mof"));
        propose_and_apply(ledger, fx, vec![tx]).unwrap();
    }
}

#[test]
fn a_failed_write_changes_nothing_and_the_block_can_be_applied_again() {
    let fx = Fixture::new();
    let reference = Ledger::open(mem(), &fx.genesis).unwrap();
    run_blocks(&fx, &reference, 0, 6);
    // Write 1 is the genesis state, then each block is two writes (the block, then its
    // index batch): fail write 8 (block 4).
    let inner = mem();
    let store = faulty(
        &inner,
        FaultPlan {
            fail_write: Some(8),
            ..FaultPlan::default()
        },
    );
    let ledger = Ledger::open(store, &fx.genesis).unwrap();
    run_blocks(&fx, &ledger, 0, 3);
    let tip = ledger.tip();
    let tx = fx.tx(fx.signer("mof", AssetOfficer), 3, register("R3", "mof"));
    assert!(matches!(
        propose_and_apply(&ledger, &fx, vec![tx]),
        Err(LedgerError::Store(_))
    ));
    assert_eq!(ledger.tip(), tip);
    // The same ledger retries and converges.
    run_blocks(&fx, &ledger, 3, 3);
    assert_eq!(ledger.tip(), reference.tip());
    // Reopened (as after kill -9), it is at its last applied block and consistent.
    let reopened = Ledger::open(inner.clone(), &fx.genesis).unwrap();
    assert_eq!(reopened.tip(), reference.tip());
    let report = check(inner, mem()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[test]
fn a_crash_before_the_write_reopens_at_the_previous_block() {
    let fx = Fixture::new();
    // Write 6 (block 3; each block is followed by its index batch) is torn before its
    // first put.
    let inner = mem();
    let store = faulty(
        &inner,
        FaultPlan {
            tear_write: Some((6, 0)),
            ..FaultPlan::default()
        },
    );
    let ledger = Ledger::open(store, &fx.genesis).unwrap();
    run_blocks(&fx, &ledger, 0, 2);
    let tip = ledger.tip();
    let tx = fx.tx(fx.signer("mof", AssetOfficer), 2, register("R2", "mof"));
    assert!(propose_and_apply(&ledger, &fx, vec![tx]).is_err());
    drop(ledger);
    let reopened = Ledger::open(inner.clone(), &fx.genesis).unwrap();
    assert_eq!(reopened.tip(), tip);
    run_blocks(&fx, &reopened, 2, 2);
    assert!(check(inner, mem()).unwrap().is_ok());
}

#[test]
fn a_torn_write_is_detected_on_reopen_and_by_check() {
    // Only a store without atomic batches can tear; the ledger still notices.
    let fx = Fixture::new();
    // A one-transaction block's batch has a handful of puts (storage v2 writes tree nodes
    // and indexes behind): tear inside it.
    for torn_after in [1usize, 3, 6] {
        // Write 6 (block 3, after two blocks and their index batches) keeps only its
        // first `torn_after` puts.
        let inner = mem();
        let store = faulty(
            &inner,
            FaultPlan {
                tear_write: Some((6, torn_after)),
                ..FaultPlan::default()
            },
        );
        let ledger = Ledger::open(store, &fx.genesis).unwrap();
        run_blocks(&fx, &ledger, 0, 2);
        let tx = fx.tx(fx.signer("mof", AssetOfficer), 2, register("R2", "mof"));
        assert!(propose_and_apply(&ledger, &fx, vec![tx]).is_err());
        match Ledger::open(inner.clone(), &fx.genesis) {
            Err(LedgerError::Torn { height }) => assert_eq!(height, Height(3)),
            other => panic!(
                "torn write after {torn_after} puts not detected: {:?}",
                other.err()
            ),
        }
        let report = check(inner, mem()).unwrap();
        assert!(!report.is_ok());
        assert!(
            report.problems.iter().any(|p| p.column == Column::Blocks),
            "{:?}",
            report.problems
        );
    }
}

#[test]
fn check_finds_a_flipped_byte_in_every_column() {
    let fx = Fixture::new();
    let store = mem();
    let ledger = Ledger::open(store.clone(), &fx.genesis).unwrap();
    let mut seq = 0;
    let k = fx.signer("mof", ProcurementOfficer);
    for b in 0..4u64 {
        let txs = (0..5)
            .map(|i| {
                seq += 1;
                fx.tx(
                    k,
                    seq - 1,
                    award(
                        "ocds-c",
                        &format!("c{b}-{i}"),
                        "mof",
                        10 + i,
                        "91110000100000000A",
                        date(2026, 5, 5),
                    ),
                )
            })
            .collect();
        propose_and_apply(&ledger, &fx, txs).unwrap();
    }
    let clean = check(store.clone(), mem()).unwrap();
    assert!(clean.is_ok(), "{:?}", clean.problems);
    assert!(clean.entries_compared > 100);
    for col in Column::ALL {
        // A copy whose values are then rewritten with valid checksums: only the ledger's
        // own checks can find the change.
        let copy = mem();
        for c in Column::ALL {
            for key in store.keys(c) {
                copy.tamper_put(c, &key, &store.get(c, &key).unwrap().unwrap());
            }
        }
        let keys = copy.keys(col);
        let key = &keys[keys.len() / 2];
        let mut v = copy.get(col, key).unwrap().unwrap();
        if v.is_empty() {
            // Index entries carry everything in the key: flip a key byte instead.
            let mut k2 = key.clone();
            let at = k2.len() - 9;
            k2[at] ^= 0x01;
            assert!(copy.tamper_remove(col, key));
            copy.tamper_put(col, &k2, &v);
        } else {
            let at = v.len() - 1;
            v[at] ^= 0x01;
            copy.tamper_put(col, key, &v);
        }
        let report = check(copy, mem()).unwrap();
        assert!(!report.is_ok(), "flip in {col:?} not detected");
        let named = report.problems.iter().any(|p| p.column == col);
        assert!(
            named,
            "flip in {col:?} at {} reported as {:?}",
            hex::encode(key),
            report.problems
        );
    }
}

#[test]
fn rocksdb_store_reopens_at_the_last_block_and_checks_clean() {
    let fx = Fixture::new();
    let dir = tempfile::tempdir().unwrap();
    let tip = {
        let store = Arc::new(chancery_storage::RocksStore::open(dir.path()).unwrap());
        let ledger = Ledger::open(store, &fx.genesis).unwrap();
        run_blocks(&fx, &ledger, 0, 5);
        ledger.tip()
    };
    let store = Arc::new(chancery_storage::RocksStore::open(dir.path()).unwrap());
    let ledger = Ledger::open(store.clone(), &fx.genesis).unwrap();
    assert_eq!(ledger.tip(), tip);
    assert_eq!(ledger.asset("R4").unwrap().unwrap().custodian, ag("mof"));
    run_blocks(&fx, &ledger, 5, 1);
    let report = check(store, Arc::new(chancery_storage::MemStore::new())).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.blocks_replayed, 6);
}

#[test]
fn the_log_tree_column_is_what_chancery_tlog_reads() {
    // The ledger writes Column::LogTree in chancery-tlog's layout with the kernel's hashes,
    // so the log's inclusion and consistency proofs come from chancery_tlog::LogTree.
    let fx = Fixture::new();
    let store = mem();
    let ledger = Ledger::open(store.clone(), &fx.genesis).unwrap();
    run_blocks(&fx, &ledger, 0, 7);
    let tree = chancery_tlog::LogTree::open(store.clone()).unwrap();
    let tip = ledger.tip();
    assert_eq!(tree.size(), tip.log_size);
    assert_eq!(tree.root(), tip.log_root);
    let entry = ledger.log_entry(3).unwrap().unwrap();
    let leaf = chancery_core::merkle::leaf_hash(
        chancery_core::suite::Suite::default(),
        &chancery_core::codec::encode(&entry),
    );
    let proof = tree.inclusion_proof(3, tip.log_size).unwrap();
    chancery_core::merkle::verify_inclusion_with(
        &chancery_core::merkle::Blake3Hasher,
        3,
        tip.log_size,
        &leaf,
        &proof,
        &tip.log_root,
    )
    .unwrap();
}

/// `blocks` blocks of `per` asset registrations each, the first with sequence `from`;
/// returns the transaction hashes.
fn run_wide_blocks(fx: &Fixture, ledger: &Ledger, from: u64, blocks: u64, per: u64) -> Vec<TxHash> {
    let k = fx.signer("mof", AssetOfficer);
    let mut hashes = Vec::new();
    for b in 0..blocks {
        let txs: Vec<Transaction> = (0..per)
            .map(|i| {
                let seq = from + b * per + i;
                fx.tx(k, seq, register(&format!("W{seq}"), "mof"))
            })
            .collect();
        hashes.extend(txs.iter().map(|t| t.hash()));
        propose_and_apply(ledger, fx, txs).unwrap();
    }
    hashes
}

#[test]
fn log_tiles_survive_a_failed_block_write_across_a_tile_boundary_and_a_reopen() {
    // 60 entries per block: block 5 (entries 240..300) completes the first level-0 tile and
    // starts the second; its write fails, the node is dropped and reopened (its frontier
    // reloaded from the partial tile of 240 entries), and it replays blocks 5 and 6.
    let fx = Fixture::new();
    let reference = Ledger::open(mem(), &fx.genesis).unwrap();
    let hashes = run_wide_blocks(&fx, &reference, 0, 6, 60);
    let inner = mem();
    let store = faulty(
        &inner,
        FaultPlan {
            // Write 1 is the genesis state, then each of blocks 1..=4 is its block write
            // and its index batch (writes 2..=9): write 10 is block 5.
            fail_write: Some(10),
            crash_on_fault: true,
            ..FaultPlan::default()
        },
    );
    let ledger = Ledger::open(store, &fx.genesis).unwrap();
    run_wide_blocks(&fx, &ledger, 0, 4, 60);
    let tip = ledger.tip();
    assert_eq!(tip.log_size, 240);
    let k = fx.signer("mof", AssetOfficer);
    let txs: Vec<Transaction> = (240..300)
        .map(|s| fx.tx(k, s, register(&format!("W{s}"), "mof")))
        .collect();
    assert!(matches!(
        propose_and_apply(&ledger, &fx, txs),
        Err(LedgerError::Store(_))
    ));
    assert_eq!(ledger.tip(), tip);
    drop(ledger);
    let reopened = Ledger::open(inner.clone(), &fx.genesis).unwrap();
    assert_eq!(reopened.tip(), tip);
    run_wide_blocks(&fx, &reopened, 240, 2, 60);
    // Reopened once more between blocks, at a size inside the second tile.
    drop(reopened);
    let reopened = Ledger::open(inner.clone(), &fx.genesis).unwrap();
    assert_eq!(reopened.tip(), reference.tip());
    // The same roots, proofs and receipts as the node that never crashed.
    let n = reference.tip().log_size;
    assert_eq!(n, 360);
    for size in [1, 200, 255, 256, 257, 300, 359, n] {
        for index in [0, size / 2, size - 1] {
            assert_eq!(
                reopened.inclusion_proof(index, size).unwrap(),
                reference.inclusion_proof(index, size).unwrap()
            );
        }
        assert_eq!(
            reopened.consistency_proof(size, n).unwrap(),
            reference.consistency_proof(size, n).unwrap()
        );
    }
    for h in [hashes[0], hashes[255], hashes[256], hashes[359]] {
        let r = reopened.receipt(&h).unwrap().unwrap();
        assert_eq!(Some(r.clone()), reference.receipt(&h).unwrap());
        chancery_core::receipt::verify(&r, &fx.genesis).unwrap();
    }
    let tree = chancery_tlog::LogTree::open(inner.clone()).unwrap();
    assert_eq!((tree.size(), tree.root()), (n, reference.tip().log_root));
    let report = check(inner.clone(), mem()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    // The tiles on disk: one full level-0 tile and a partial one of 104 hashes.
    let tile = |i: u64| {
        inner
            .get(Column::LogTree, &chancery_tlog::tile_key(0, i))
            .unwrap()
    };
    assert_eq!(tile(0).map(|v| v.len()), Some(256 * 32));
    assert_eq!(tile(1).map(|v| v.len()), Some(104 * 32));
    assert_eq!(tile(2), None);
}

#[test]
fn check_names_a_damaged_log_tile() {
    let fx = Fixture::new();
    let store = mem();
    let ledger = Ledger::open(store.clone(), &fx.genesis).unwrap();
    run_wide_blocks(&fx, &ledger, 0, 5, 60);
    assert!(check(store.clone(), mem()).unwrap().is_ok());
    for (tile, byte) in [(0u64, 37 * 32 + 5), (1, 3)] {
        let copy = mem();
        for c in Column::ALL {
            for key in store.keys(c) {
                copy.tamper_put(c, &key, &store.get(c, &key).unwrap().unwrap());
            }
        }
        let key = chancery_tlog::tile_key(0, tile);
        let mut v = copy.get(Column::LogTree, &key).unwrap().unwrap();
        v[byte] ^= 0x10;
        copy.tamper_put(Column::LogTree, &key, &v);
        let report = check(copy, mem()).unwrap();
        let width = if tile == 0 { 256 } else { 44 };
        let problem = report
            .problems
            .iter()
            .find(|p| p.column == Column::LogTree)
            .unwrap_or_else(|| panic!("tile {tile} not named: {:?}", report.problems));
        assert_eq!(problem.key_hex, hex::encode(key));
        let name = format!(
            "log tile level 0 index {tile} (width {width}) with hash {}",
            byte / 32
        );
        assert!(problem.found.starts_with(&name), "{problem}");
        assert!(problem.expected.starts_with(&name), "{problem}");
        // A damaged tile is also caught where an entry is compared with its leaf hash.
        assert!(report.problems.iter().any(|p| p.column == Column::Log));
    }
}

/// Random records from random signers with small id pools (so they collide), some with
/// wrong sequence numbers: execution never panics, two nodes agree, and check is clean.
#[test]
fn random_traffic_is_deterministic_and_checks_clean() {
    let fx = Fixture::new();
    let a = Ledger::open(mem(), &fx.genesis).unwrap();
    let store_b = mem();
    let b = Ledger::open(store_b.clone(), &fx.genesis).unwrap();
    let mut rng: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let agencies = ["mof", "moe", "nhc"];
    let mut keys: Vec<SecretKey> = fx.admins.values().cloned().collect();
    keys.extend(fx.officers.values().cloned());
    let mut seqs: HashMap<PublicKey, u64> = HashMap::new();
    let mut reasons = std::collections::BTreeSet::new();
    for _block in 0..25 {
        let mut txs = Vec::new();
        for _ in 0..12 {
            let ag1 = agencies[next(3) as usize];
            let ag2 = agencies[next(3) as usize];
            let id = format!("x{}", next(6));
            let rec = match next(11) {
                0 => register(&id, ag1),
                1 => transfer(&id, ag1, ag2),
                2 => dispose(&id),
                3 => award(
                    "ocds-r",
                    &id,
                    ag1,
                    next(1000),
                    "91110000100000000A",
                    date(2026, 1, 1),
                ),
                4 => amend("ocds-r", &id, next(1000)),
                5 => cancel("ocds-r", &id),
                6 => grant(
                    &id,
                    &format!("ds{}", next(3)),
                    ag1,
                    ag2,
                    date(2026, 1, 1),
                    date(2027, 1, 1),
                ),
                7 => revoke_grant(&id),
                8 => anchor(RecordRef::Asset(id.clone())),
                9 => register_member(ag1, named_key(&id).public(), vec![AssetOfficer]),
                _ => revoke_member(ag1, keys[next(keys.len() as u64) as usize].public()),
            };
            let key = keys[next(keys.len() as u64) as usize].clone();
            let s = seqs.get(&key.public()).copied().unwrap_or(0);
            let seq = if next(10) == 0 { s + next(3) } else { s };
            let tx = fx.tx(&key, seq, rec);
            txs.push(tx);
        }
        let applied = propose_and_apply(&a, &fx, txs.clone()).unwrap();
        for (tx, o) in txs.iter().zip(&applied.outcomes) {
            match o {
                Outcome::Applied => *seqs.entry(tx.body.signer).or_insert(0) += 1,
                Outcome::Rejected(r) => {
                    reasons.insert(*r);
                }
            }
        }
        let (block, cert) = a.block(applied.height).unwrap().unwrap();
        assert_eq!(b.apply(&block, &cert).unwrap().outcomes, applied.outcomes);
    }
    assert_eq!(a.tip(), b.tip());
    assert!(reasons.len() >= 8, "only {reasons:?}");
    let report = check(store_b, mem()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

/// Simplex finalizes a block together with its ancestors: a block that has no
/// finalization of its own is applied with its descendant's certificate and the headers
/// that link the two, is served with that certificate, and passes the integrity check.
#[test]
fn block_finalized_by_a_descendants_certificate() {
    let fx = Fixture::new();
    let store = mem();
    let ledger = Ledger::open(store.clone(), &fx.genesis).unwrap();
    let tip = ledger.tip();
    let t1 = TimestampMs(tip.time.0 + 1000);
    let ex = ledger.execute(&[], t1, Height(1)).unwrap();
    let mut h1 = fx.header(Height(1), tip.hash, t1);
    ex.fill_header(&mut h1);
    let b1 = Block {
        header: h1.clone(),
        txs: vec![],
    };
    // An empty child repeats its parent's roots.
    let mut h2 = fx.header(
        Height(2),
        h1.hash(chancery_core::suite::Suite::default()),
        TimestampMs(t1.0 + 1000),
    );
    h2.log_size = h1.log_size;
    h2.log_root = h1.log_root;
    h2.state_root = h1.state_root;
    let b2 = Block {
        header: h2.clone(),
        txs: vec![],
    };
    let cert2 = fx.finalize(&b2);

    // Without the linking headers the certificate is for another block.
    assert!(matches!(
        ledger.apply(&b1, &cert2),
        Err(LedgerError::Certificate(_))
    ));
    // A chain that does not link is refused.
    let mut wrong = h2.clone();
    wrong.parent = Digest([7; 32]);
    assert!(matches!(
        ledger.apply_by_descendant(&b1, &cert2, &[wrong]),
        Err(LedgerError::Certificate(_))
    ));
    assert_eq!(
        ledger.tip().height,
        Height(0),
        "nothing applied by refused calls"
    );

    ledger
        .apply_by_descendant(&b1, &cert2, &[h2.clone()])
        .unwrap();
    ledger.apply(&b2, &cert2).unwrap();
    assert_eq!(
        ledger.tip().hash,
        h2.hash(chancery_core::suite::Suite::default())
    );
    let (served, served_cert) = ledger.block(Height(1)).unwrap().unwrap();
    assert_eq!(served, b1);
    assert_eq!(served_cert, cert2);
    let report = check(store.clone(), mem()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

/// The indexer: index entries are written after the block is durable, in their own
/// not-synced batches; these tests crash it at every new point.
mod indexing {
    use super::*;
    use chancery_core::cert::Certificate;
    use chancery_ledger::explore::AwardOrder;
    use chancery_ledger::testing::propose_and_apply_unindexed;
    use chancery_ledger::META_INDEXED_HEIGHT;

    /// `blocks` blocks of random traffic (every record kind, rejections included) applied
    /// and indexed on a reference ledger; returns it and its blocks with certificates.
    fn traffic(fx: &Fixture, blocks: usize) -> (Ledger, Arc<MemStore>, Vec<(Block, Certificate)>) {
        let store = mem();
        let reference = Ledger::open(store.clone(), &fx.genesis).unwrap();
        let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let agencies = ["mof", "moe", "nhc"];
        let mut seqs: HashMap<PublicKey, u64> = HashMap::new();
        let mut out = Vec::new();
        for _ in 0..blocks {
            let mut txs = Vec::new();
            for _ in 0..10 {
                let (a1, a2) = (agencies[next(3) as usize], agencies[next(3) as usize]);
                let id = format!("x{}", next(6));
                let rec = match next(10) {
                    0 => register(&id, a1),
                    1 => transfer(&id, a1, a2),
                    2 => award(
                        "ocds-r",
                        &id,
                        a1,
                        next(1000),
                        "91110000100000000A",
                        date(2026, 1, 1),
                    ),
                    3 => amend("ocds-r", &id, next(1000)),
                    4 => cancel("ocds-r", &id),
                    5 => grant(
                        &id,
                        &format!("ds-{a1}"),
                        a1,
                        a2,
                        date(2026, 1, 1),
                        date(2027, 1, 1),
                    ),
                    6 => revoke_grant(&id),
                    7 => anchor(RecordRef::Award("ocds-r".into(), id.clone())),
                    8 => register_member(
                        a1,
                        named_key(&format!("{id}-{}", next(1000))).public(),
                        vec![AssetOfficer],
                    ),
                    _ => dispose(&id),
                };
                // Mostly the right signer (agency a1, the kind's role): most records apply;
                // one in eight from another agency, rejected or not by the rules.
                let signer_agency = if next(8) == 0 { a2 } else { a1 };
                let key = fx.signer(signer_agency, rec.kind().required_role()).clone();
                let s = seqs.get(&key.public()).copied().unwrap_or(0);
                txs.push(fx.tx(&key, s, rec));
                // Later transactions of this key in the same block need the next sequence
                // only if this one applies: guessing is fine, a miss is a rejection.
                *seqs.entry(key.public()).or_insert(0) += 1;
            }
            let applied = propose_and_apply(&reference, fx, txs.clone()).unwrap();
            for (tx, o) in txs.iter().zip(&applied.outcomes) {
                if *o != Outcome::Applied {
                    // Give the sequence back: a rejection consumes none.
                    if let Some(s) = seqs.get_mut(&tx.body.signer) {
                        *s = s.saturating_sub(1);
                    }
                }
            }
            out.push(reference.block(applied.height).unwrap().unwrap());
        }
        (reference, store, out)
    }

    /// What every index query answers.
    fn answers(l: &Ledger) -> Vec<String> {
        let mut out = Vec::new();
        let mut add = |s: String| out.push(s);
        for a in ["mof", "moe", "nhc"] {
            let a = ag(a);
            add(format!(
                "{:?}",
                l.records_by_agency(&a, None, 1000).unwrap()
            ));
            add(format!("{:?}", l.members(&a, None, 1000).unwrap()));
            add(format!(
                "{:?}",
                l.assets_by_custodian(&a, None, 1000).unwrap()
            ));
            let f = AwardFilter {
                purchaser: Some(a.clone()),
                ..AwardFilter::default()
            };
            add(format!("{:?}", l.awards(&f, None, 1000).unwrap()));
            let g = GrantFilter {
                grantor: Some(a.clone()),
                ..GrantFilter::default()
            };
            add(format!("{:?}", l.grants(&g, None, 1000).unwrap()));
        }
        for i in 0..6 {
            let id = format!("x{i}");
            add(format!("{:?}", l.asset_history(&id, None, 1000).unwrap()));
            add(format!(
                "{:?}",
                l.award_history("ocds-r", &id, None, 1000).unwrap()
            ));
            add(format!("{:?}", l.grant_history(&id, None, 1000).unwrap()));
        }
        let f = AwardFilter {
            amount_min: Some(cny(100)),
            ..AwardFilter::default()
        };
        add(format!("{:?}", l.awards(&f, None, 1000).unwrap()));
        let f = AwardFilter {
            supplier_code: Some("91110000100000000A".into()),
            ..AwardFilter::default()
        };
        add(format!("{:?}", l.awards(&f, None, 1000).unwrap()));
        for status in [GrantStatus::Active, GrantStatus::Revoked] {
            let g = GrantFilter {
                status: Some(status),
                ..GrantFilter::default()
            };
            add(format!("{:?}", l.grants(&g, None, 1000).unwrap()));
        }
        for kind in RecordKind::ALL {
            let (from, until) = (TimestampMs(0), TimestampMs(u64::MAX));
            add(format!(
                "{:?}",
                l.records_by_kind(kind, from, until, None, 1000).unwrap()
            ));
        }
        for order in [AwardOrder::DateAsc, AwardOrder::AmountDesc(Currency::CNY)] {
            let f = AwardFilter::default();
            add(format!(
                "{:?}",
                l.awards_ordered(&f, order, None, 1000).unwrap()
            ));
        }
        add(format!(
            "{:?}",
            l.ocid_records("ocds-r", None, 1000).unwrap()
        ));
        let (from, until) = (TimestampMs(0), TimestampMs(u64::MAX));
        add(format!(
            "{:?}",
            l.award_releases(from, until, None, 1000).unwrap()
        ));
        out
    }

    /// Apply `blocks` on `ledger` without indexing.
    fn apply_all(ledger: &Ledger, blocks: &[(Block, Certificate)]) {
        for (b, c) in blocks {
            ledger.apply(b, c).unwrap();
        }
    }

    #[test]
    fn the_block_batch_writes_no_index_entry_and_the_indexer_writes_them_all() {
        let fx = Fixture::new();
        let (reference, ref_store, blocks) = traffic(&fx, 12);
        assert!(ref_store.keys(Column::Index).len() > 100);
        let store = mem();
        let ledger = Ledger::open(store.clone(), &fx.genesis).unwrap();
        apply_all(&ledger, &blocks);
        assert_eq!(ledger.tip(), reference.tip());
        // Committed, not indexed: nothing in the index, not even the genesis members.
        assert!(store.keys(Column::Index).is_empty());
        assert_eq!(ledger.indexed_height().unwrap(), None);
        assert_eq!(ledger.index_lag().unwrap(), 13);
        assert!(ledger
            .members(&ag("mof"), None, 100)
            .unwrap()
            .items
            .is_empty());
        let p = ledger.index_pending().unwrap();
        assert_eq!(p.indexed_height, Some(Height(12)));
        assert_eq!((p.blocks, p.pending), (12, 0));
        assert_eq!(p.entries as usize, ref_store.keys(Column::Index).len());
        assert_eq!(store.keys(Column::Index), ref_store.keys(Column::Index));
        assert_eq!(answers(&ledger), answers(&reference));
        // Caught up: another call writes nothing.
        assert_eq!(ledger.index_chunk().unwrap().batches, 0);
        assert!(check(store, mem()).unwrap().is_ok());
    }

    #[test]
    fn queries_answer_as_of_the_indexed_height_while_the_indexer_lags() {
        let fx = Fixture::new();
        let (_, _, blocks) = traffic(&fx, 10);
        // A reference that stopped at height 6, and a ledger at 10 indexed up to 6.
        let at6 = Ledger::open(mem(), &fx.genesis).unwrap();
        apply_all(&at6, &blocks[..6]);
        at6.index_pending().unwrap();
        let ledger = Ledger::open(mem(), &fx.genesis).unwrap();
        apply_all(&ledger, &blocks[..6]);
        ledger.index_pending().unwrap();
        apply_all(&ledger, &blocks[6..]);
        assert_eq!(ledger.indexed_height().unwrap(), Some(Height(6)));
        assert_eq!(ledger.index_lag().unwrap(), 4);
        assert_eq!(answers(&ledger), answers(&at6));
        let at10 = answers(&{
            let l = Ledger::open(mem(), &fx.genesis).unwrap();
            apply_all(&l, &blocks);
            l.index_pending().unwrap();
            l
        });
        assert_ne!(
            answers(&ledger),
            at10,
            "the traffic must change the answers"
        );
        ledger.index_pending().unwrap();
        assert_eq!(answers(&ledger), at10);
    }

    /// The index batch fails (nothing written) or is torn (a prefix of its entries
    /// written, without the new height) and the process dies; reopened, the indexer
    /// catches up and the index is the one of a ledger that never crashed.
    #[test]
    fn a_failed_or_torn_index_batch_is_written_again_after_reopening() {
        let fx = Fixture::new();
        let (reference, ref_store, blocks) = traffic(&fx, 8);
        let want_keys = ref_store.keys(Column::Index);
        let want = answers(&reference);
        // Writes: 1 genesis state, 2..=6 blocks 1-5, 7 the index batch of heights 0-5.
        for plan in [
            FaultPlan {
                fail_write: Some(7),
                crash_on_fault: true,
                ..FaultPlan::default()
            },
            FaultPlan {
                tear_write: Some((7, 0)),
                crash_on_fault: true,
                ..FaultPlan::default()
            },
            FaultPlan {
                tear_write: Some((7, 40)),
                crash_on_fault: true,
                ..FaultPlan::default()
            },
        ] {
            let inner = mem();
            let ledger = Ledger::open(faulty(&inner, plan.clone()), &fx.genesis).unwrap();
            apply_all(&ledger, &blocks[..5]);
            assert!(matches!(ledger.index_pending(), Err(LedgerError::Store(_))));
            assert_eq!(ledger.indexed_height().unwrap(), None, "{plan:?}");
            drop(ledger);
            let reopened = Ledger::open(inner.clone(), &fx.genesis).unwrap();
            assert_eq!(reopened.indexed_height().unwrap(), None);
            // Entries of a torn batch lie beyond the indexed height: no query shows them,
            // and check names them.
            let stray = inner.keys(Column::Index).len();
            assert!(reopened
                .members(&ag("mof"), None, 100)
                .unwrap()
                .items
                .is_empty());
            if stray > 0 {
                let r = check(inner.clone(), mem()).unwrap();
                assert_eq!(r.problems_total as usize, stray, "{:?}", r.problems);
                assert!(r.problems.iter().all(|p| p.column == Column::Index
                    && p.expected.contains("beyond the indexed height")));
            }
            apply_all(&reopened, &blocks[5..]);
            reopened.index_pending().unwrap();
            assert_eq!(reopened.tip(), reference.tip());
            assert_eq!(inner.keys(Column::Index), want_keys, "{plan:?}");
            assert_eq!(answers(&reopened), want, "{plan:?}");
            let r = check(inner, mem()).unwrap();
            assert!(r.is_ok(), "{plan:?}: {:?}", r.problems);
        }
    }

    /// Killed between a block's commit and its index batch (the ledger dropped with
    /// blocks applied and not indexed): reopened, the indexer catches up from
    /// `indexed_height` and every query answers as on a ledger that never crashed.
    #[test]
    fn dropped_between_commit_and_index_batch_catches_up_after_reopening() {
        let fx = Fixture::new();
        let (reference, ref_store, blocks) = traffic(&fx, 9);
        let inner = mem();
        let ledger = Ledger::open(inner.clone(), &fx.genesis).unwrap();
        apply_all(&ledger, &blocks[..4]);
        ledger.index_pending().unwrap();
        // Blocks 5-7 are committed, their index batches never written.
        for (b, c) in &blocks[4..7] {
            ledger.apply(b, c).unwrap();
        }
        drop(ledger);
        let reopened = Ledger::open(inner.clone(), &fx.genesis).unwrap();
        assert_eq!(reopened.indexed_height().unwrap(), Some(Height(4)));
        assert_eq!(reopened.index_lag().unwrap(), 3);
        apply_all(&reopened, &blocks[7..]);
        let p = reopened.index_pending().unwrap();
        assert_eq!((p.indexed_height, p.blocks), (Some(Height(9)), 5));
        assert_eq!(inner.keys(Column::Index), ref_store.keys(Column::Index));
        assert_eq!(answers(&reopened), answers(&reference));
        assert!(check(inner, mem()).unwrap().is_ok());
    }

    /// The same on a proposer: blocks executed and applied by the node itself.
    #[test]
    fn a_proposer_dropped_before_indexing_catches_up_after_reopening() {
        let fx = Fixture::new();
        let k = fx.signer("mof", AssetOfficer);
        let run = |l: &Ledger, from: u64, n: u64, index: bool| {
            for i in from..from + n {
                let tx = fx.tx(k, i, register(&format!("R{i}"), "mof"));
                if index {
                    propose_and_apply(l, &fx, vec![tx]).unwrap();
                } else {
                    propose_and_apply_unindexed(l, &fx, vec![tx]).unwrap();
                }
            }
        };
        let reference = Ledger::open(mem(), &fx.genesis).unwrap();
        run(&reference, 0, 6, true);
        let inner = mem();
        let ledger = Ledger::open(inner.clone(), &fx.genesis).unwrap();
        run(&ledger, 0, 2, true);
        run(&ledger, 2, 3, false);
        drop(ledger);
        let reopened = Ledger::open(inner.clone(), &fx.genesis).unwrap();
        assert_eq!(reopened.indexed_height().unwrap(), Some(Height(2)));
        run(&reopened, 5, 1, true);
        assert_eq!(reopened.indexed_height().unwrap(), Some(Height(6)));
        assert_eq!(answers(&reopened), answers(&reference));
        assert!(check(inner, mem()).unwrap().is_ok());
    }

    #[test]
    fn reindex_rebuilds_a_lost_index_from_the_log() {
        let fx = Fixture::new();
        let (reference, ref_store, blocks) = traffic(&fx, 6);
        // A copy without its index (as a store that lost the column).
        let copy = mem();
        for c in Column::ALL {
            for key in ref_store.keys(c) {
                if c != Column::Index && !(c == Column::Meta && key == META_INDEXED_HEIGHT) {
                    copy.tamper_put(c, &key, &ref_store.get(c, &key).unwrap().unwrap());
                }
            }
        }
        let ledger = Ledger::open(copy.clone(), &fx.genesis).unwrap();
        assert_eq!(ledger.indexed_height().unwrap(), None);
        let p = ledger.reindex().unwrap();
        assert_eq!(p.indexed_height, Some(Height(blocks.len() as u64)));
        assert_eq!(copy.keys(Column::Index), ref_store.keys(Column::Index));
        assert_eq!(answers(&ledger), answers(&reference));
        // Reindexing an intact index rewrites the same keys.
        ledger.reindex().unwrap();
        assert_eq!(copy.keys(Column::Index), ref_store.keys(Column::Index));
        assert!(check(copy, mem()).unwrap().is_ok());
    }

    #[test]
    fn check_reports_index_entries_missing_extra_and_beyond_the_indexed_height() {
        let fx = Fixture::new();
        let (_, store, _) = traffic(&fx, 6);
        assert!(check(store.clone(), mem()).unwrap().is_ok());
        let keys = store.keys(Column::Index);
        // Missing: an entry removed.
        let gone = keys[keys.len() / 2].clone();
        assert!(store.tamper_remove(Column::Index, &gone));
        // Extra: an entry no record produces, at log index 0.
        let mut extra = vec![ix_agency()];
        extra.extend_from_slice(b"nobody\0");
        extra.extend_from_slice(&0u64.to_be_bytes());
        store.tamper_put(Column::Index, &extra, b"");
        // Beyond: an entry at a log index past the indexed height's log size.
        let mut beyond = vec![ix_agency()];
        beyond.extend_from_slice(b"mof\0");
        beyond.extend_from_slice(&1_000_000u64.to_be_bytes());
        store.tamper_put(Column::Index, &beyond, b"");
        let r = check(store.clone(), mem()).unwrap();
        let find = |k: &[u8]| {
            r.problems
                .iter()
                .find(|p| p.column == Column::Index && p.key_hex == hex::encode(k))
                .unwrap_or_else(|| panic!("{} not reported: {:?}", hex::encode(k), r.problems))
        };
        assert_eq!(find(&gone).found, "no entry");
        assert_eq!(find(&extra).expected, "no entry");
        assert!(find(&beyond).expected.contains("beyond the indexed height"));
        assert_eq!(r.problems_total, 3, "{:?}", r.problems);
        // An indexed height above the last applied one.
        store.tamper_put(Column::Meta, META_INDEXED_HEIGHT, &99u64.to_be_bytes());
        let r = check(store, mem()).unwrap();
        assert!(
            r.problems.iter().any(|p| p.column == Column::Meta
                && p.key_hex == hex::encode(META_INDEXED_HEIGHT)
                && p.found.contains("99")),
            "{:?}",
            r.problems
        );
    }

    fn ix_agency() -> u8 {
        chancery_ledger::schema::ix::AGENCY
    }
}
