//! A small in-memory ledger with a few records of every main kind, and an HTTP client that
//! calls the router directly (`tower::ServiceExt::oneshot`).
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chancery_api::{ApiLimits, NodeHandle, Router};
use chancery_core::block::Outcome;
use chancery_core::record::*;
use chancery_core::{AgencyId, Amount, Currency, Date, Digest, TxHash};
use chancery_ledger::testing::fixture::Fixture;
use chancery_ledger::testing::propose_and_apply;
use chancery_ledger::Ledger;
use chancery_storage::MemStore;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

pub fn ag(s: &str) -> AgencyId {
    AgencyId(s.into())
}

pub fn date(y: u16, m: u8, d: u8) -> Date {
    Date::new(y, m, d).unwrap()
}

pub fn cny(minor: u64) -> Amount {
    Amount {
        minor,
        currency: Currency::CNY,
    }
}

pub fn register(id: &str, custodian: &str) -> Record {
    Record::RegisterAsset(RegisterAsset {
        asset_id: id.into(),
        category: "A02010104".into(),
        name: "Laptop".into(),
        spec_model: "X1".into(),
        quantity: 1,
        unit: "台".into(),
        acquisition_method: AcquisitionMethod::Purchase,
        acquisition_date: date(2026, 1, 5),
        original_value: cny(800_000),
        funding_source: FundingSource::FiscalAppropriation,
        custodian: ag(custodian),
        location: Restricted::seal(
            chancery_core::suite::Suite::default(),
            &[7; 32],
            &"Building 3, room 12".to_string(),
        ),
        documents: vec![],
    })
}

pub fn transfer(id: &str, from: &str, to: &str) -> Record {
    Record::TransferAsset(TransferAsset {
        asset_id: id.into(),
        from: ag(from),
        to: ag(to),
        kind: TransferKind::Allocation,
        approval_document: Digest([1; 32]),
        effective_date: date(2026, 2, 1),
    })
}

pub fn award(ocid: &str, id: &str, purchaser: &str, minor: u64, code: &str) -> Record {
    Record::AwardProcurement(AwardProcurement {
        ocid: ocid.into(),
        award_id: id.into(),
        project_number: "P-1".into(),
        title: "Servers".into(),
        description: String::new(),
        purchaser: ag(purchaser),
        method: ProcurementMethod::Open,
        method_details: "公开招标".into(),
        suppliers: vec![Supplier {
            name: format!("Supplier {code}"),
            credit_code: code.into(),
        }],
        value: cny(minor),
        award_date: date(2026, 3, 10),
        status: AwardStatus::Active,
        items: vec![],
        documents: vec![],
    })
}

pub fn amend(ocid: &str, id: &str, minor: u64) -> Record {
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

pub fn grant(id: &str, dataset: &str, grantor: &str, grantee: &str) -> Record {
    Record::GrantDataAccess(GrantDataAccess {
        grant_id: id.into(),
        dataset_id: dataset.into(),
        grantor: ag(grantor),
        grantee: ag(grantee),
        actions: vec![Action::Read, Action::Use],
        purpose: "statistics".into(),
        condition: SharingCondition::Conditional,
        valid_from: date(2026, 1, 1),
        valid_until: date(2030, 12, 31),
        constraints: Restricted::seal(chancery_core::suite::Suite::default(), &[3; 32], &vec![]),
    })
}

pub fn revoke_grant(id: &str) -> Record {
    Record::RevokeGrant(RevokeGrant {
        grant_id: id.into(),
        reason: "ended".into(),
    })
}

pub const CODE: &str = "91110000100000000A";

/// The ledger: 4 blocks, 9 transactions.
pub struct Env {
    pub fx: Fixture,
    pub ledger: Arc<Ledger>,
    pub handle: NodeHandle,
    pub app: Router,
    /// Every transaction hash, in log order.
    pub txs: Vec<TxHash>,
}

pub fn env_with(limits: ApiLimits) -> Env {
    let fx = Fixture::new();
    let ledger = Arc::new(Ledger::open(Arc::new(MemStore::new()), &fx.genesis).unwrap());
    let asset = fx.signer("mof", Role::AssetOfficer).clone();
    let proc = fx.signer("mof", Role::ProcurementOfficer).clone();
    let steward = fx.signer("mof", Role::DataSteward).clone();
    let moe_proc = fx.signer("moe", Role::ProcurementOfficer).clone();
    let blocks = vec![
        vec![
            fx.tx(&asset, 0, register("A1", "mof")),
            fx.tx(&proc, 0, award("ocds-x-1", "aw-1", "mof", 1_000_000, CODE)),
            fx.tx(&steward, 0, grant("G1", "D1", "mof", "moe")),
        ],
        vec![
            fx.tx(&asset, 1, transfer("A1", "mof", "moe")),
            fx.tx(&proc, 1, amend("ocds-x-1", "aw-1", 2_000_000)),
            fx.tx(&asset, 2, register("A2", "mof")),
        ],
        vec![
            fx.tx(&steward, 1, grant("G2", "D1", "mof", "nhc")),
            fx.tx(&moe_proc, 0, award("ocds-x-2", "aw-1", "moe", 50_000, CODE)),
        ],
        vec![fx.tx(&steward, 2, revoke_grant("G1"))],
    ];
    let mut txs = Vec::new();
    for b in blocks {
        txs.extend(b.iter().map(|t| t.hash()));
        let applied = propose_and_apply(&ledger, &fx, b).unwrap();
        assert!(
            applied.outcomes.iter().all(|o| *o == Outcome::Applied),
            "{:?}",
            applied.outcomes
        );
    }
    let handle = NodeHandle::read_only(ledger.clone(), Arc::new(fx.genesis.clone()), limits);
    let app = chancery_api::router(handle.clone());
    Env {
        fx,
        ledger,
        handle,
        app,
        txs,
    }
}

pub fn env() -> Env {
    env_with(ApiLimits {
        page_entries_max: 100,
        ..ApiLimits::default()
    })
}

/// An answer: status, content type, body bytes (not read for an event stream).
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Vec<u8>,
    pub headers: axum::http::HeaderMap,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> Answer {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = if content_type.starts_with("text/event-stream") {
        Vec::new()
    } else {
        axum::body::to_bytes(res.into_body(), 64 * 1024 * 1024)
            .await
            .unwrap()
            .to_vec()
    };
    Answer {
        status,
        content_type,
        body,
        headers,
    }
}

pub async fn get(app: &Router, uri: &str) -> Answer {
    send(
        app,
        Request::builder()
            .method(Method::GET)
            .uri(uri)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// GET and expect `status`; the JSON body.
pub async fn get_json(app: &Router, uri: &str, status: StatusCode) -> Value {
    let a = get(app, uri).await;
    assert_eq!(
        a.status,
        status,
        "{uri}: {}",
        String::from_utf8_lossy(&a.body)
    );
    let v = a.json();
    if !status.is_success() {
        assert_error_shape(&v);
    }
    v
}

/// `{code, message, details}` with a non-empty code and message.
pub fn assert_error_shape(v: &Value) {
    let o = v
        .as_object()
        .unwrap_or_else(|| panic!("error is not an object: {v}"));
    assert!(
        o.get("code")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty()),
        "no code: {v}"
    );
    assert!(
        o.get("message")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty()),
        "no message: {v}"
    );
    assert!(o.contains_key("details"), "no details: {v}");
    assert_eq!(o.len(), 3, "extra fields: {v}");
}
