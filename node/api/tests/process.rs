//! `/v1/processes/{ocid}`, `/v1/contracts/{ocid}/{id}` and `/v1/procurement-limits`
//! (issue 22): a process from tender to final payment, with its assessments.

mod common;

use axum::http::StatusCode;
use chancery_api::{ApiLimits, NodeHandle};
use chancery_core::block::Outcome;
use chancery_core::procurement::ImplementationKind::*;
use chancery_core::record::{ProcurementMethod::*, Role};
use chancery_ledger::testing::governed::Chain;
use chancery_ledger::testing::process::*;
use common::{assert_error_shape, get_json};
use std::sync::Arc;

#[tokio::test]
async fn a_process_its_contract_and_the_standards_are_served_with_their_flags() {
    let mut c = Chain::with_genesis(|g| g.procurement_limits = limits());
    c.index = true;
    let k = c.fx.signer("mof", Role::ProcurementOfficer).clone();
    let o = "ocds-api-1";
    for r in [
        tender(o, "mof", Selective, 5_000_000),
        close(o, day(3, 22)),
        award(o, "a1", "mof", Selective, 4_800_000, day(3, 25)),
        contract(o, "c1", "a1", 4_800_000, day(4, 1)),
        step(o, "c1", Payment, Some(1_000_000), day(5, 1)),
        step(o, "c1", FinalPayment, Some(3_800_000), day(6, 1)),
    ] {
        assert_eq!(c.one(k.clone(), r), Outcome::Applied);
    }
    let h = NodeHandle::read_only(
        c.ledger.clone(),
        Arc::new(c.fx.genesis.clone()),
        ApiLimits::default(),
    );
    let app = chancery_api::router(h);

    let p = get_json(&app, &format!("/v1/processes/{o}"), StatusCode::OK).await;
    assert_eq!(p["tender"]["status"], "complete");
    assert_eq!(p["tender"]["bids_received"], 3);
    assert_eq!(p["awards"][0]["award_id"], "a1");
    assert_eq!(p["contracts"][0]["status"], "complete");
    assert_eq!(p["contracts"][0]["paid_minor"], 480_000_000u64);
    let subjects: Vec<&str> = p["compliance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["tender", "award", "contract"]);
    for x in p["compliance"].as_array().unwrap() {
        assert_eq!(x["flags"][0]["rule"], "open_tender_required", "{x}");
        assert_eq!(x["flags"][0]["breach"], true);
    }
    assert_eq!(p["history"]["items"].as_array().unwrap().len(), 6);
    // The history pages.
    let first = get_json(&app, &format!("/v1/processes/{o}?limit=4"), StatusCode::OK).await;
    assert_eq!(first["history"]["items"].as_array().unwrap().len(), 4);
    let next = first["history"]["next"].as_str().unwrap();
    let rest = get_json(
        &app,
        &format!("/v1/processes/{o}?limit=4&cursor={next}"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(rest["history"]["items"].as_array().unwrap().len(), 2);

    let k = get_json(&app, &format!("/v1/contracts/{o}/c1"), StatusCode::OK).await;
    assert_eq!(k["contract"]["amount_minor"], 480_000_000u64);
    assert_eq!(k["compliance"]["subject"], "contract");
    assert_eq!(k["history"]["items"].as_array().unwrap().len(), 3);

    let l = get_json(&app, "/v1/procurement-limits", StatusCode::OK).await;
    assert_eq!(l["rules"][0]["name"], "central");

    // Unknown ids: 404 with the error shape; malformed ids: 400.
    let e = get_json(&app, "/v1/processes/ocds-none", StatusCode::NOT_FOUND).await;
    assert_error_shape(&e);
    assert!(e["message"].as_str().unwrap().contains("ocds-none"));
    let e = get_json(
        &app,
        &format!("/v1/contracts/{o}/zz"),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_error_shape(&e);
    let e = get_json(&app, "/v1/processes/bad%20id", StatusCode::BAD_REQUEST).await;
    assert_error_shape(&e);
}
