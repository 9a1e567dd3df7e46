//! Governance and the epoch chain over HTTP: `GET /v1/epochs`, `GET /v1/governance`,
//! `GET /v1/governance/proposals[/{id}]`, and receipts, state proofs and checkpoints of a
//! later epoch, each verified with the kernel from the genesis alone.
//!
//! The ledger runs governance in-process (`chancery_ledger::testing::governed`): two
//! rotations take it to epoch 2; anchors are recorded in epochs 0 and 2; a third proposal
//! stays open and a fourth expires.
// Tests decode in the default suite.
#![allow(clippy::disallowed_methods)]

mod common;

use axum::http::StatusCode;
use chancery_api::{ApiLimits, NodeHandle};
use chancery_core::block::Outcome;
use chancery_core::checkpoint::Checkpoint;
use chancery_core::codec;
use chancery_core::epoch::{verify_checkpoint_with_links, verify_epoch_chain, EpochLink};
use chancery_core::receipt::{self, Receipt, ReceiptError, RECEIPT_FORMAT, RECEIPT_FORMAT_V2};
use chancery_core::record::Role;
use chancery_core::state::{verify_state_proof, StateProof, StateValue};
use chancery_core::{Epoch, TimestampMs, TxHash};
use chancery_ledger::testing::fixture::{anchor, named_key, register_asset};
use chancery_ledger::testing::governed::{add_agency, Chain};
use common::get_json;
use serde_json::Value;
use std::sync::Arc;

struct Env {
    c: Chain,
    app: axum::Router,
    /// An anchor recorded in epoch 0 and one in epoch 2.
    tx0: TxHash,
    tx2: TxHash,
}

fn env() -> Env {
    let mut c = Chain::new();
    c.index = true;
    let archivist = c.fx.signer("mof", Role::Archivist).clone();
    let (o, b) = c.block(vec![(archivist.clone(), anchor("epoch-0"))]);
    assert_eq!(o, vec![Outcome::Applied]);
    let tx0 = b.txs[0].hash();
    assert_eq!(c.rotate_to_next_epoch("v3", "one"), Epoch(1));
    assert_eq!(c.rotate_to_next_epoch("v1", "two"), Epoch(2));
    let officer = c.fx.signer("mof", Role::AssetOfficer).clone();
    let (o, b) = c.block(vec![
        (archivist, anchor("epoch-2")),
        (officer, register_asset("A-2", "mof")),
    ]);
    assert_eq!(o, vec![Outcome::Applied, Outcome::Applied]);
    let tx2 = b.txs[0].hash();
    // An open proposal, and one that expires (deadline one block ahead).
    assert_eq!(
        c.propose(
            "moe",
            "open-one",
            vec![add_agency("mee", &named_key("mee"))]
        ),
        Outcome::Applied
    );
    let soon = TimestampMs(c.ledger.tip().time.0 + 1500);
    assert_eq!(
        c.propose_until(
            "nhc",
            "soon",
            vec![add_agency("mps", &named_key("mps"))],
            soon
        ),
        Outcome::Applied
    );
    c.empty_blocks(2);
    let handle = NodeHandle::read_only(
        c.ledger.clone(),
        Arc::new(c.fx.genesis.clone()),
        ApiLimits::default(),
    );
    let app = chancery_api::router(handle);
    Env { c, app, tx0, tx2 }
}

fn links_of(v: &Value) -> Vec<EpochLink> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| codec::decode(&hex::decode(i["link"].as_str().unwrap()).unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn the_epoch_chain_is_served_in_pages_and_verifies_from_the_genesis() {
    let e = env();
    let g = &e.c.fx.genesis;
    let v = get_json(&e.app, "/v1/epochs", StatusCode::OK).await;
    assert_eq!(v["current_epoch"], 2);
    assert_eq!(v["next"], Value::Null);
    let links = links_of(&v);
    assert_eq!(links.len(), 2);
    assert_eq!(links, e.c.ledger.epoch_links(Epoch(2)).unwrap());
    let proven = verify_epoch_chain(g, &links).unwrap();
    assert_eq!(
        proven.set(),
        &e.c.ledger
            .validator_set_of_epoch(Epoch(2))
            .unwrap()
            .unwrap()
    );
    assert_eq!(v["current_start_height"], proven.set().start_height.0);
    // The JSON view says what the link says.
    let first = &v["items"][0];
    assert_eq!(first["epoch"], 0);
    assert_eq!(first["start_height"], 1);
    assert_eq!(first["end_height"], links[0].header.height.0);
    assert_eq!(first["next_validator_set"], links[0].next.hash().to_hex());
    assert_eq!(first["next"], serde_json::to_value(&links[0].next).unwrap());
    assert_eq!(
        first["next_validators"],
        serde_json::json!(["v0", "v1", "v2", "v3"])
    );
    assert_eq!(v["items"][1]["start_height"], links[0].next.start_height.0);
    // Pages.
    let p = get_json(&e.app, "/v1/epochs?from=0&limit=1", StatusCode::OK).await;
    assert_eq!(
        (links_of(&p), &p["next"]),
        (vec![links[0].clone()], &Value::from(1))
    );
    let p = get_json(&e.app, "/v1/epochs?from=1&limit=1", StatusCode::OK).await;
    assert_eq!(
        (links_of(&p), &p["next"]),
        (vec![links[1].clone()], &Value::Null)
    );
    let p = get_json(&e.app, "/v1/epochs?from=7", StatusCode::OK).await;
    assert!(links_of(&p).is_empty());
    // The limits and the parameters are checked.
    for (uri, code) in [
        ("/v1/epochs?limit=0", "limit_too_large"),
        ("/v1/epochs?limit=65", "limit_too_large"),
        ("/v1/epochs?from=x", "bad_number"),
        ("/v1/epochs?cursor=1", "bad_query"),
    ] {
        let v = get_json(&e.app, uri, StatusCode::BAD_REQUEST).await;
        assert_eq!(v["code"], code, "{uri}: {v}");
    }
}

#[tokio::test]
async fn governance_shows_the_epoch_in_force_and_the_pending_one() {
    let mut e = env();
    let v = get_json(&e.app, "/v1/governance", StatusCode::OK).await;
    let set2 =
        e.c.ledger
            .validator_set_of_epoch(Epoch(2))
            .unwrap()
            .unwrap();
    assert_eq!(v["epoch"], 2);
    assert_eq!(v["epoch_start_height"], set2.start_height.0);
    assert_eq!(v["validator_set"], set2.hash().to_hex());
    assert_eq!(
        v["validators"][1]["consensus_key"],
        named_key("v1-two").public().to_hex()
    );
    assert_eq!(v["agencies"], serde_json::json!(["moe", "mof", "nhc"]));
    assert_eq!(v["approvals_needed"], 3);
    assert_eq!(v["params"]["epoch_delay_blocks"], 2);
    assert_eq!(v["pending"], Value::Null);
    // The validators route follows the epoch too.
    let vals = get_json(&e.app, "/v1/validators", StatusCode::OK).await;
    assert_eq!(vals["epoch"], 2);
    assert_eq!(
        vals["validators"][3]["consensus_key"],
        named_key("v3-one").public().to_hex()
    );
    // A passed rotation schedules epoch 3.
    let k = named_key("v0-three");
    assert_eq!(
        e.c.pass(
            "three",
            vec![chancery_ledger::testing::governed::rotate("v0", &k)],
            &chancery_ledger::testing::governed::ALL
        ),
        Outcome::Applied
    );
    let v = get_json(&e.app, "/v1/governance", StatusCode::OK).await;
    assert_eq!(v["epoch"], 2);
    let pending = e.c.governance().pending.unwrap();
    assert_eq!(v["pending"]["epoch"], 3);
    assert_eq!(v["pending"]["start_height"], pending.start_height.0);
    let set3 =
        e.c.ledger
            .validator_set_of_epoch(Epoch(3))
            .unwrap()
            .unwrap();
    assert_eq!(v["pending"]["validator_set"], set3.hash().to_hex());
    // The chain has no link for epoch 2 until its boundary is applied.
    let p = get_json(&e.app, "/v1/epochs?from=2", StatusCode::OK).await;
    assert!(links_of(&p).is_empty());
}

#[tokio::test]
async fn proposals_are_listed_newest_first_by_status_and_in_pages() {
    let e = env();
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = get_json(&e.app, "/v1/governance/proposals", StatusCode::OK).await;
    assert_eq!(
        ids(&all),
        ["soon", "open-one", "rotate-v1-two", "rotate-v3-one"]
    );
    let passed = get_json(
        &e.app,
        "/v1/governance/proposals?status=passed",
        StatusCode::OK,
    )
    .await;
    assert_eq!(ids(&passed), ["rotate-v1-two", "rotate-v3-one"]);
    let p = &passed["items"][0];
    assert_eq!(p["status"], "passed");
    assert_eq!(p["epoch"], 2);
    assert_eq!(
        (&p["approvals"], &p["rejections"]),
        (&Value::from(3), &Value::from(0))
    );
    assert_eq!(p["votes"].as_array().unwrap().len(), 3);
    assert_eq!(p["changes"][0]["change"], "rotate_validator_keys");
    let open = get_json(
        &e.app,
        "/v1/governance/proposals?status=open",
        StatusCode::OK,
    )
    .await;
    assert_eq!(ids(&open), ["open-one"]);
    let expired = get_json(
        &e.app,
        "/v1/governance/proposals?status=expired",
        StatusCode::OK,
    )
    .await;
    assert_eq!(ids(&expired), ["soon"]);
    // One at a time, with the cursor.
    let mut seen = Vec::new();
    let mut uri = "/v1/governance/proposals?limit=1".to_string();
    loop {
        let v = get_json(&e.app, &uri, StatusCode::OK).await;
        seen.extend(ids(&v));
        match v["next"].as_str() {
            Some(c) => uri = format!("/v1/governance/proposals?limit=1&cursor={c}"),
            None => break,
        }
        assert!(seen.len() <= 4, "{seen:?}");
    }
    assert_eq!(seen, ids(&all));
    let v = get_json(
        &e.app,
        "/v1/governance/proposals?status=closed",
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(v["code"], "bad_status");
    let v = get_json(
        &e.app,
        "/v1/governance/proposals?cursor=zz",
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(v["code"], "bad_cursor");
}

#[tokio::test]
async fn a_proposal_comes_with_a_proof_that_verifies_across_epochs() {
    let e = env();
    let g = &e.c.fx.genesis;
    let v = get_json(
        &e.app,
        "/v1/governance/proposals/rotate-v3-one",
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["proposal"]["status"], "passed");
    let b = &v["proof"];
    let cp: Checkpoint =
        codec::decode(&hex::decode(b["checkpoint"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(cp.header.epoch, Epoch(2));
    let links: Vec<EpochLink> = b["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| codec::decode(&hex::decode(l.as_str().unwrap()).unwrap()).unwrap())
        .collect();
    assert_eq!(links.len(), 2);
    let cp = verify_checkpoint_with_links(g, &links, &cp).unwrap();
    let proof: StateProof =
        codec::decode(&hex::decode(b["proof_hex"].as_str().unwrap()).unwrap()).unwrap();
    match verify_state_proof(
        chancery_core::suite::Suite::default(),
        &cp.header().state_root,
        &proof,
    )
    .unwrap()
    {
        Some(StateValue::Proposal(p)) => {
            assert_eq!(p.votes.len(), 3);
            assert_eq!(
                v["proposal"]["changes"],
                serde_json::to_value(&p.changes).unwrap()
            );
        }
        other => panic!("{other:?}"),
    }
    // Without the links the checkpoint does not verify from the genesis.
    assert!(verify_checkpoint_with_links(g, &[], &cp.checkpoint().clone()).is_err());
    let v = get_json(
        &e.app,
        "/v1/governance/proposals/nope",
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(v["code"], "not_found");
    let v = get_json(
        &e.app,
        "/v1/governance/proposals/bad%20id",
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(v["code"], "bad_id");
}

#[tokio::test]
async fn receipts_state_proofs_and_checkpoints_of_a_later_epoch_verify_with_the_genesis() {
    let e = env();
    let g = &e.c.fx.genesis;
    // Epoch 0: a v1 receipt, as before governance.
    let r0: Receipt = serde_json::from_value(
        get_json(&e.app, &format!("/v1/receipts/{}", e.tx0), StatusCode::OK).await,
    )
    .unwrap();
    assert_eq!((r0.format.as_str(), &r0.epochs), (RECEIPT_FORMAT, &None));
    assert_eq!(receipt::verify(&r0, g).unwrap().checkpoint_epoch, Epoch(0));
    // Epoch 2: a v2 receipt with the two links.
    let v = get_json(&e.app, &format!("/v1/receipts/{}", e.tx2), StatusCode::OK).await;
    let r2: Receipt = serde_json::from_value(v).unwrap();
    assert_eq!(r2.format, RECEIPT_FORMAT_V2);
    assert_eq!(r2.epochs.as_ref().map(Vec::len), Some(2));
    let s = receipt::verify(&r2, g).unwrap();
    assert_eq!(s.checkpoint_epoch, Epoch(2));
    assert_eq!(s.tx_hash, e.tx2);
    // A tampered link (a byte of its next set) fails, naming the link.
    let mut bad = r2.clone();
    let l1 = &mut bad.epochs.as_mut().unwrap()[1];
    let at = l1.len() - 10;
    let flipped = if &l1[at..at + 1] == "0" { "1" } else { "0" };
    l1.replace_range(at..at + 1, flipped);
    let err = receipt::verify(&bad, g).unwrap_err();
    assert!(
        matches!(
            err,
            ReceiptError::Epochs(_) | ReceiptError::EpochLinkEncoding { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("link 1"), "{err}");
    // A checkpoint of epoch 2: its text form names the signers of the epoch-2 set.
    let cp = get_json(&e.app, "/v1/checkpoints/latest", StatusCode::OK).await;
    let set2 =
        e.c.ledger
            .validator_set_of_epoch(Epoch(2))
            .unwrap()
            .unwrap();
    let parsed = Checkpoint::from_text(cp["text"].as_str().unwrap(), &g.chain_id(), &set2).unwrap();
    assert!(parsed.verify_with(&g.chain_id(), &set2).is_ok());
    // A state proof of epoch 2 carries its links too.
    let v = get_json(&e.app, "/v1/proofs/state/asset/A-2", StatusCode::OK).await;
    let links: Vec<EpochLink> = v["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| codec::decode(&hex::decode(l.as_str().unwrap()).unwrap()).unwrap())
        .collect();
    assert_eq!(links, e.c.ledger.epoch_links(Epoch(2)).unwrap());
    let cp: Checkpoint =
        codec::decode(&hex::decode(v["checkpoint"].as_str().unwrap()).unwrap()).unwrap();
    let cp = verify_checkpoint_with_links(g, &links, &cp).unwrap();
    let proof: StateProof =
        codec::decode(&hex::decode(v["proof_hex"].as_str().unwrap()).unwrap()).unwrap();
    assert!(matches!(
        verify_state_proof(
            chancery_core::suite::Suite::default(),
            &cp.header().state_root,
            &proof
        )
        .unwrap(),
        Some(StateValue::Asset(_))
    ));
}
