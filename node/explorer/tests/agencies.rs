//! The agency pages over a ledger whose agencies changed by governance: `/agencies` lists
//! the agency a proposal added and marks it removed once another proposal removed it, with
//! both proposals; `/agency?id=` shows it with the admin keys proposals registered; in
//! Chinese and in English.

use chancery_api::{ApiLimits, NodeHandle};
use chancery_core::block::Outcome;
use chancery_core::governance::Change;
use chancery_core::AgencyId;
use chancery_ledger::testing::fixture::named_key;
use chancery_ledger::testing::governed::{add_agency, Chain, ALL};
use std::sync::Arc;

mod support;
use support::ok_text as ok;

fn router(c: &Chain) -> axum::Router {
    chancery_explorer::router(NodeHandle::read_only(
        c.ledger.clone(),
        Arc::new(c.fx.genesis.clone()),
        ApiLimits::default(),
    ))
}

#[tokio::test]
async fn agencies_added_and_removed_by_proposals_are_shown_as_such() {
    let mut c = Chain::new();
    c.index = true;
    let admin = named_key("mee-admin");
    assert_eq!(
        c.pass("add-mee", vec![add_agency("mee", &admin)], &ALL),
        Outcome::Applied
    );
    let added_at = c.ledger.tip().height.0;

    // Added: listed after the genesis agencies, with its proposal, as a member.
    let app = router(&c);
    let b = ok(&app, "/agencies?lang=en").await;
    let mee = b.find("Ministry mee").expect("the added agency is listed");
    assert!(b.find("/agency?id=nhc").unwrap() < mee, "{b}");
    assert!(
        b.contains("href=\"/governance/proposal?id=add-mee\""),
        "{b}"
    );
    assert!(b.contains(&format!("href=\"/blocks/{added_at}\"")), "{b}");
    assert!(!b.contains("removed"), "{b}");
    let p = ok(&app, "/agency?id=mee&lang=en").await;
    assert!(p.contains("Ministry mee") && p.contains("mee 部"), "{p}");
    assert!(p.contains("by proposal"), "{p}");
    // Its admin key, which the proposal registered, is among its member keys.
    let short = &admin.public().to_string()[..8];
    assert!(
        p.contains(short),
        "the admin key {short} is not listed: {p}"
    );

    // Removed: still listed, marked, with the proposal that removed it.
    let rm = Change::RemoveAgency {
        id: AgencyId("mee".into()),
    };
    assert_eq!(c.pass("rm-mee", vec![rm], &ALL), Outcome::Applied);
    let app = router(&c);
    let b = ok(&app, "/agencies?lang=en").await;
    assert!(b.contains("Ministry mee") && b.contains("removed"), "{b}");
    assert!(b.contains("href=\"/governance/proposal?id=rm-mee\""), "{b}");
    let z = ok(&app, "/agencies").await;
    assert!(z.contains("已移除") && z.contains("mee 部"), "{z}");
    let p = ok(&app, "/agency?id=mee&lang=en").await;
    assert!(p.contains("removed") && p.contains("rm-mee"), "{p}");
    assert!(p.contains("revoked (agency removed)"), "{p}");
    let p = ok(&app, "/agency?id=mee").await;
    assert!(p.contains("已移除"), "{p}");
}
