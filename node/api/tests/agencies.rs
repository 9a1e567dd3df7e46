//! Agencies and members as governance changes them, over HTTP: `GET /v1/agencies` lists
//! the agencies proposals added (removed ones marked, with the proposal and block that
//! removed them), `GET /v1/agencies/{id}` finds them, and `GET /v1/members` lists the admin
//! keys a passed proposal registered.

mod common;

use axum::http::StatusCode;
use chancery_api::{ApiLimits, NodeHandle};
use chancery_core::block::Outcome;
use chancery_core::governance::Change;
use chancery_core::AgencyId;
use chancery_ledger::testing::fixture::named_key;
use chancery_ledger::testing::governed::{add_agency, Chain, ALL};
use common::get_json;
use serde_json::Value;
use std::sync::Arc;

#[tokio::test]
async fn agencies_added_and_removed_by_governance_are_listed_with_their_members() {
    let mut c = Chain::new();
    c.index = true;
    let mee = named_key("mee-admin");
    let mee2 = named_key("mee-admin-2");
    assert_eq!(
        c.pass("add-mee", vec![add_agency("mee", &mee)], &ALL),
        Outcome::Applied
    );
    let added_at = c.ledger.tip().height.0;
    let keys = Change::SetAdminKeys {
        agency: AgencyId("mee".into()),
        admin_keys: vec![mee2.public()],
    };
    assert_eq!(c.pass("mee-keys", vec![keys], &ALL), Outcome::Applied);
    let rm = Change::RemoveAgency {
        id: AgencyId("mee".into()),
    };
    assert_eq!(c.pass("rm-mee", vec![rm], &ALL), Outcome::Applied);
    let removed_at = c.ledger.tip().height.0;
    let app = chancery_api::router(NodeHandle::read_only(
        c.ledger.clone(),
        Arc::new(c.fx.genesis.clone()),
        ApiLimits::default(),
    ));

    let all = get_json(&app, "/v1/agencies", StatusCode::OK).await;
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mof", "moe", "nhc", "mee"]);
    let mof = &all[0];
    assert_eq!(
        (&mof["genesis"], &mof["removed"]),
        (&Value::Bool(true), &Value::Bool(false))
    );
    assert!(mof.get("added_by").is_none() && mof.get("removed_by").is_none());
    let m = &all[3];
    assert_eq!(m["genesis"], false);
    assert_eq!(m["removed"], true);
    assert_eq!(m["name_en"], "Ministry mee");
    assert_eq!(
        m["added_by"],
        serde_json::json!({"proposal": "add-mee", "height": added_at})
    );
    assert_eq!(
        m["removed_by"],
        serde_json::json!({"proposal": "rm-mee", "height": removed_at})
    );
    // The admin keys listed now: the ones `set_admin_keys` set.
    assert_eq!(
        m["admin_keys"],
        serde_json::json!([mee2.public().to_string()])
    );
    // Both admin keys a proposal registered are its members, the replaced one revoked.
    assert_eq!(m["member_count"], 2);

    let one = get_json(&app, "/v1/agencies/mee", StatusCode::OK).await;
    assert_eq!(&one, m);
    let nf = get_json(&app, "/v1/agencies/xyz", StatusCode::NOT_FOUND).await;
    assert!(nf["message"].as_str().unwrap().contains("xyz"), "{nf}");

    let members = get_json(&app, "/v1/members?agency=mee", StatusCode::OK).await;
    let mut got: Vec<(String, bool)> = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            assert_eq!(x["roles"], serde_json::json!(["admin"]));
            assert_eq!(x["agency"], "mee");
            (
                x["key"].as_str().unwrap().to_string(),
                x["revoked"].as_bool().unwrap(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        (mee.public().to_string(), true),
        (mee2.public().to_string(), false),
    ];
    want.sort();
    assert_eq!(got, want);
}
