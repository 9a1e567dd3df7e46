//! The governance pages over a ledger taken to epoch 2 in-process: the epoch in force and
//! the proposals (by status), a proposal's changes, votes and proof instructions, the
//! epochs with their validator sets; in Chinese and in English.

use chancery_api::{ApiLimits, NodeHandle};
use chancery_core::block::Outcome;
use chancery_core::Epoch;
use chancery_ledger::testing::fixture::named_key;
use chancery_ledger::testing::governed::{add_agency, Chain};
use std::sync::Arc;

mod support;
use support::{get_text as get, ok_text as ok};

fn app() -> (axum::Router, Chain) {
    let mut c = Chain::new();
    c.index = true;
    c.rotate_to_next_epoch("v3", "one");
    c.rotate_to_next_epoch("v1", "two");
    assert_eq!(
        c.propose("moe", "add-mee", vec![add_agency("mee", &named_key("mee"))]),
        Outcome::Applied
    );
    assert_eq!(c.vote("nhc", "add-mee", true), Outcome::Applied);
    assert_eq!(c.ledger.proposals(None, None, 10).unwrap().items.len(), 3);
    let h = NodeHandle::read_only(
        c.ledger.clone(),
        Arc::new(c.fx.genesis.clone()),
        ApiLimits::default(),
    );
    (chancery_explorer::router(h), c)
}

#[tokio::test]
async fn the_governance_page_lists_the_epoch_in_force_and_the_proposals() {
    let (app, _c) = app();
    let b = ok(&app, "/governance").await;
    assert!(
        b.contains("当前纪元") && b.contains("投票中") && b.contains("已通过"),
        "{b}"
    );
    // Newest first.
    let (open, passed) = (b.find("add-mee").unwrap(), b.find("rotate-v1-two").unwrap());
    assert!(open < passed && passed < b.find("rotate-v3-one").unwrap());
    let e = ok(&app, "/governance?lang=en").await;
    assert!(e.contains("Epoch in force"), "{e}");
    assert!(e.contains("Rotate a validator"), "{e}");
    assert!(
        e.contains("href=\"/governance\""),
        "the menu links the page"
    );
    // By status.
    let p = ok(&app, "/governance?status=passed&lang=en").await;
    assert!(p.contains("rotate-v1-two") && !p.contains("add-mee"), "{p}");
    let o = ok(&app, "/governance?status=open&lang=en").await;
    assert!(o.contains("add-mee") && !o.contains("rotate-v1-two"), "{o}");
    let (s, _) = get(&app, "/governance?status=closed").await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn a_proposal_page_shows_changes_votes_and_how_to_check_it() {
    let (app, c) = app();
    let b = ok(&app, "/governance/proposal?id=rotate-v3-one&lang=en").await;
    assert!(b.contains("passed at height"), "{b}");
    assert!(b.contains("start epoch 1"), "{b}");
    assert!(
        b.contains(&named_key("v3-one").public().to_hex()),
        "the new key is shown: {b}"
    );
    assert_eq!(b.matches("badge ok\">for").count(), 3, "{b}");
    assert!(b.contains("/v1/governance/proposals/rotate-v3-one"));
    assert!(b.contains("chancery gov show rotate-v3-one --genesis genesis.json"));
    let z = ok(&app, "/governance/proposal?id=add-mee").await;
    assert!(
        z.contains("投票中") && z.contains("赞成") && z.contains("新增机构"),
        "{z}"
    );
    let (s, _) = get(&app, "/governance/proposal?id=nope").await;
    assert_eq!(s, 404);
    let (s, _) = get(&app, "/governance/proposal?id=a%20b").await;
    assert_eq!(s, 400);
    let _ = c;
}

#[tokio::test]
async fn the_epochs_page_lists_each_set_with_its_heights() {
    let (app, c) = app();
    let b = ok(&app, "/epochs?lang=en").await;
    let links = c.ledger.epoch_links(Epoch(2)).unwrap();
    for l in &links {
        assert!(
            b.contains(&format!("href=\"/blocks/{}\"", l.header.height.0)),
            "the boundary {} is linked: {b}",
            l.header.height
        );
    }
    let set2 = c.ledger.validator_set_of_epoch(Epoch(2)).unwrap().unwrap();
    assert!(b.contains("in force"), "{b}");
    assert!(b.contains(&set2.hash().to_hex()[..12]), "{b}");
    assert!(b.contains("href=\"/v1/epochs\""));
    let z = ok(&app, "/epochs").await;
    assert!(z.contains("纪元与验证人集合") && z.contains("当前"), "{z}");
    let (s, _) = get(&app, "/epochs?from=x").await;
    assert_eq!(s, 400);
}
