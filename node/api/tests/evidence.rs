//! `GET /v1/evidence`: conflicting votes stored as the driver stores them are served,
//! checked against the validator set of their epoch, paged, and a forged one is marked.
// Tests decode in the default suite.
#![allow(clippy::disallowed_methods)]

mod common;

use axum::http::StatusCode;
use chancery_consensus::{Evidence, Vote};
use chancery_core::cert::VoteKind;
use chancery_core::codec;
use chancery_core::{Digest, View};
use chancery_storage::{Column, WriteBatch};
use common::*;
use serde_json::Value;

/// Evidence that validator `signer` notarized two blocks in `view`.
fn conflicting(e: &Env, signer: u16, view: u64) -> Evidence {
    let set = &e.fx.genesis.validators;
    let vote = |block: u8| {
        Vote::sign(
            e.fx.genesis.chain_id(),
            set.epoch,
            View(view),
            VoteKind::Notarize,
            Digest([block; 32]),
            signer,
            &e.fx.validators[usize::from(signer)],
        )
    };
    Evidence::Votes {
        first: vote(1),
        second: vote(2),
    }
}

/// Store `ev` as the driver does (Meta, `consensus/evidence/` + its id).
fn store(e: &Env, ev: &Evidence) -> String {
    let id = ev.id();
    let mut key = b"consensus/evidence/".to_vec();
    key.extend_from_slice(&id);
    let mut b = WriteBatch::new();
    b.put(Column::Meta, key, codec::encode(ev));
    e.ledger.store().write(b).unwrap();
    hex::encode(id)
}

#[tokio::test]
async fn stored_evidence_is_served_verified_and_paged() {
    let e = env();
    let empty = get_json(&e.app, "/v1/evidence", StatusCode::OK).await;
    assert_eq!(empty["items"], Value::Array(vec![]));
    let good = conflicting(&e, 1, 7);
    let good_id = store(&e, &good);
    // A forged record: the second vote's signature altered.
    let mut forged = conflicting(&e, 2, 9);
    if let Evidence::Votes { second, .. } = &mut forged {
        second.signature.0[5] ^= 1;
    }
    let forged_id = store(&e, &forged);

    let all = get_json(&e.app, "/v1/evidence?limit=10", StatusCode::OK).await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let by_id = |id: &str| items.iter().find(|i| i["id"] == id).unwrap().clone();
    let g = by_id(&good_id);
    assert_eq!(g["verified"], true, "{g}");
    assert_eq!(g["culprit"], 1);
    assert_eq!(
        g["culprit_name"],
        e.fx.genesis.validators.validators[1].name.as_str()
    );
    assert_eq!(g["view"], 7);
    assert_eq!(g["kind"], "votes");
    let Evidence::Votes { first, second } = &good else {
        unreachable!("built as votes")
    };
    assert_eq!(g["first"], hex::encode(codec::encode(first)));
    assert_eq!(g["second"], hex::encode(codec::encode(second)));
    let decoded: Evidence =
        codec::decode(&hex::decode(g["evidence"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(decoded, good);
    let f = by_id(&forged_id);
    assert_eq!(f["verified"], false, "{f}");
    assert!(f["error"].as_str().unwrap().contains("signature"), "{f}");

    // One by id, the same as in the list.
    let one = get_json(&e.app, &format!("/v1/evidence/{good_id}"), StatusCode::OK).await;
    assert_eq!(one, g);
    get_json(&e.app, "/v1/evidence/00ff", StatusCode::NOT_FOUND).await;
    get_json(&e.app, "/v1/evidence/not-hex", StatusCode::BAD_REQUEST).await;

    // Pages of one.
    let p1 = get_json(&e.app, "/v1/evidence?limit=1", StatusCode::OK).await;
    let next = p1["next"].as_str().unwrap().to_string();
    let p2 = get_json(
        &e.app,
        &format!("/v1/evidence?limit=1&cursor={next}"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(p2["next"], Value::Null);
    let mut ids = vec![
        p1["items"][0]["id"].as_str().unwrap().to_string(),
        p2["items"][0]["id"].as_str().unwrap().to_string(),
    ];
    ids.sort();
    let mut want = vec![good_id, forged_id];
    want.sort();
    assert_eq!(ids, want);
}

/// Evidence of epoch 1, by a validator whose consensus key governance rotated in (the
/// genesis set does not have it): verified here against the set of epoch 1, and
/// `GET /v1/evidence/{id}` carries the epoch link that proves that set from the genesis,
/// with which the kernel and the consensus check verify it offline. The list carries none.
#[tokio::test]
async fn evidence_of_a_later_epoch_carries_the_links_that_prove_its_set() {
    use chancery_api::{ApiLimits, NodeHandle};
    use chancery_core::epoch::EpochLink;
    use chancery_core::epoch_set::{verify_set_of_epoch, EpochSetError};
    use chancery_core::Epoch;
    use chancery_ledger::testing::governed::Chain;
    use std::sync::Arc;

    let mut c = Chain::new();
    assert_eq!(c.rotate_to_next_epoch("v3", "one"), Epoch(1));
    let set1 = c.ledger.validator_set_of_epoch(Epoch(1)).unwrap().unwrap();
    let culprit = set1.validators.iter().position(|v| v.name == "v3").unwrap() as u16;
    let g = c.fx.genesis.clone();
    let vote = |block: u8| {
        Vote::sign(
            g.chain_id(),
            Epoch(1),
            View(4),
            VoteKind::Notarize,
            Digest([block; 32]),
            culprit,
            &c.keys["v3"],
        )
    };
    let ev = Evidence::Votes {
        first: vote(1),
        second: vote(2),
    };
    let id = hex::encode(ev.id());
    let mut key = b"consensus/evidence/".to_vec();
    key.extend_from_slice(&ev.id());
    let mut b = WriteBatch::new();
    b.put(Column::Meta, key, codec::encode(&ev));
    c.ledger.store().write(b).unwrap();
    let app = chancery_api::router(NodeHandle::read_only(
        c.ledger.clone(),
        Arc::new(g.clone()),
        ApiLimits::default(),
    ));

    let one = get_json(&app, &format!("/v1/evidence/{id}"), StatusCode::OK).await;
    assert_eq!(one["verified"], true, "{one}");
    assert_eq!(
        (one["epoch"].as_u64(), one["culprit"].as_u64()),
        (Some(1), Some(u64::from(culprit)))
    );
    assert_eq!(one["culprit_name"], "v3");
    let links: Vec<EpochLink> = one["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| codec::decode(&hex::decode(h.as_str().unwrap()).unwrap()).unwrap())
        .collect();
    assert_eq!(links, c.ledger.epoch_links(Epoch(1)).unwrap());
    // Offline: the links from the genesis, then the evidence against the proven set.
    let decoded: Evidence =
        codec::decode(&hex::decode(one["evidence"].as_str().unwrap()).unwrap()).unwrap();
    let proven = verify_set_of_epoch(&g, &links, decoded.epoch()).unwrap();
    assert_eq!(decoded.verify(g.chain_id(), proven.set()).unwrap(), culprit);
    // Against the genesis set alone it fails: the key is not there.
    assert!(decoded.verify(g.chain_id(), &g.validators).is_err());
    assert!(matches!(
        verify_set_of_epoch(&g, &[], Epoch(1)),
        Err(EpochSetError::LinkCount { .. })
    ));
    // A tampered link does not prove the set.
    let mut bad = links.clone();
    bad[0].certificate.signatures[0].signature.0[3] ^= 1;
    assert!(matches!(
        verify_set_of_epoch(&g, &bad, Epoch(1)),
        Err(EpochSetError::Chain(_))
    ));

    // The list shows the same evidence without links.
    let list = get_json(&app, "/v1/evidence", StatusCode::OK).await;
    let item = &list["items"][0];
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["verified"], true);
    assert!(item.get("epochs").is_none(), "{item}");
}
