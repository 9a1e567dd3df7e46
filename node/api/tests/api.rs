//! Every endpoint's happy path and main errors, over a small in-memory ledger.
// Tests decode in the default suite.
#![allow(clippy::disallowed_methods)]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chancery_api::ApiLimits;
use chancery_core::block::Block;
use chancery_core::block::Outcome;
use chancery_core::cert::Certificate;
use chancery_core::checkpoint::Checkpoint;
use chancery_core::codec;
use chancery_core::merkle;
use chancery_core::receipt::{self, Receipt};
use chancery_core::record::Role;
use chancery_core::state::{verify_state_proof, StateProof, StateValue};
use chancery_core::{Digest, Height};
use chancery_ledger::testing::propose_and_apply_unindexed;
use common::*;
use serde_json::Value;

fn digests(v: &Value) -> Vec<Digest> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().parse().unwrap())
        .collect()
}

fn checkpoint_of(e: &Env, hex_str: &str) -> Checkpoint {
    let cp: Checkpoint = codec::decode(&hex::decode(hex_str).unwrap()).unwrap();
    cp.verify(&e.fx.genesis).unwrap();
    cp
}

#[tokio::test]
async fn node_status_and_health() {
    let e = env();
    let a = get(&e.app, "/healthz").await;
    assert_eq!(a.status, StatusCode::OK);
    let s = get_json(&e.app, "/v1/status", StatusCode::OK).await;
    assert_eq!(s["tip"]["height"], 4);
    assert_eq!(s["tip"]["log_size"], 9);
    assert_eq!(s["indexed_height"], 4);
    // Four blocks, no flush due yet: the genesis tree is the flushed one, the rest is in
    // memory, and proofs cover every height.
    assert_eq!(s["state_tree"]["flushed_height"], 0);
    assert_eq!(s["state_tree"]["proofs_from_height"], 0);
    assert!(s["state_tree"]["nodes_in_memory"].as_u64().unwrap() > 0);
    assert_eq!(s["state_tree"]["flush_failures"], 0);
    // A store's error message may name the node's files: it is logged, never served.
    assert!(s["state_tree"].get("last_flush_error").is_none());
    assert_eq!(s["chain_id"], e.fx.genesis.chain_id().to_hex());
    // A read-only server has no consensus: not ready.
    let r = get_json(&e.app, "/readyz", StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(r["code"], "not_ready");
    assert_eq!(r["details"]["ready"], false);
    assert_eq!(r["details"]["quorum"], 3);
}

/// While the indexer lags, `/v1/status` says how far the index goes and lists answer as of
/// that height; point reads see the tip at once.
#[tokio::test]
async fn lists_answer_as_of_the_indexed_height_while_the_indexer_lags() {
    let e = env();
    let key = e.fx.signer("mof", Role::AssetOfficer).clone();
    let tx = e.fx.tx(&key, 3, register("A9", "mof"));
    let applied = propose_and_apply_unindexed(&e.ledger, &e.fx, vec![tx]).unwrap();
    assert_eq!(applied.outcomes, vec![Outcome::Applied]);
    let s = get_json(&e.app, "/v1/status", StatusCode::OK).await;
    assert_eq!(s["tip"]["height"], 5);
    assert_eq!(s["indexed_height"], 4);
    let held = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == "A9" || a["asset_id"] == "A9")
    };
    get_json(&e.app, "/v1/assets/A9", StatusCode::OK).await;
    let list = get_json(&e.app, "/v1/assets?custodian=mof", StatusCode::OK).await;
    assert!(!held(&list), "{list}");
    e.ledger.index_pending().unwrap();
    let s = get_json(&e.app, "/v1/status", StatusCode::OK).await;
    assert_eq!(s["indexed_height"], 5);
    let list = get_json(&e.app, "/v1/assets?custodian=mof", StatusCode::OK).await;
    assert!(held(&list), "{list}");
}

#[tokio::test]
async fn blocks_summaries_raw_and_detail() {
    let e = env();
    let p = get_json(&e.app, "/v1/blocks?from=2&limit=2", StatusCode::OK).await;
    let items = p["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["height"], 2);
    assert_eq!(items[1]["tx_count"], 2);
    assert_eq!(p["next"], 4);
    let last = get_json(&e.app, "/v1/blocks?from=4", StatusCode::OK).await;
    assert_eq!(last["items"].as_array().unwrap().len(), 1);
    assert_eq!(last["next"], Value::Null);
    let past = get_json(&e.app, "/v1/blocks?from=99", StatusCode::OK).await;
    assert!(past["items"].as_array().unwrap().is_empty());

    let raw = get_json(&e.app, "/v1/blocks/raw?from=1&limit=100", StatusCode::OK).await;
    let items = raw["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    for it in items {
        let h = Height(it["height"].as_u64().unwrap());
        let b: Block = codec::decode(&hex::decode(it["block"].as_str().unwrap()).unwrap()).unwrap();
        let c: Certificate =
            codec::decode(&hex::decode(it["certificate"].as_str().unwrap()).unwrap()).unwrap();
        assert_eq!((b, c), e.ledger.block(h).unwrap().unwrap());
    }
    let too_many = get_json(&e.app, "/v1/blocks/raw?limit=101", StatusCode::BAD_REQUEST).await;
    assert_eq!(too_many["code"], "limit_too_large");

    let b = get_json(&e.app, "/v1/blocks/2", StatusCode::OK).await;
    assert_eq!(b["transactions"].as_array().unwrap().len(), 3);
    assert_eq!(b["transactions"][0]["hash"], e.txs[3].to_hex());
    let latest = get_json(&e.app, "/v1/blocks/latest", StatusCode::OK).await;
    assert_eq!(latest["header"]["height"], 4);
    let none = get_json(&e.app, "/v1/blocks/5", StatusCode::NOT_FOUND).await;
    assert!(none["message"].as_str().unwrap().contains("the last is 4"));
    let bad = get_json(&e.app, "/v1/blocks/x1", StatusCode::BAD_REQUEST).await;
    assert!(bad["message"].as_str().unwrap().contains("decimal"));
}

#[tokio::test]
async fn assets_by_id_custodian_and_history_with_pagination() {
    let e = env();
    let a = get_json(&e.app, "/v1/assets/A1", StatusCode::OK).await;
    assert_eq!(a["custodian"], "moe");
    assert_eq!(a["status"], "held");
    assert_eq!(a["last_tx"], e.txs[3].to_hex());
    get_json(&e.app, "/v1/assets/NOPE", StatusCode::NOT_FOUND).await;
    let bad = get_json(&e.app, "/v1/assets/a%20b", StatusCode::BAD_REQUEST).await;
    assert_eq!(bad["code"], "bad_id");

    let held = get_json(&e.app, "/v1/assets?custodian=mof", StatusCode::OK).await;
    let ids: Vec<&str> = held["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["A2"], "A1 moved to moe");
    let missing = get_json(&e.app, "/v1/assets", StatusCode::BAD_REQUEST).await;
    assert!(missing["message"].as_str().unwrap().contains("custodian"));

    let h = get_json(&e.app, "/v1/assets/A1/history?limit=1", StatusCode::OK).await;
    assert_eq!(h["items"].as_array().unwrap().len(), 1);
    assert_eq!(h["items"][0]["kind"], "register_asset");
    // The sealed location is a commitment, never the text.
    let loc = &h["items"][0]["record"]["location"];
    assert!(
        loc["sealed"].as_str().is_some_and(|s| s.len() == 64),
        "{loc}"
    );
    assert!(!h.to_string().contains("Building 3"));
    let next = h["next"].as_str().unwrap();
    let h2 = get_json(
        &e.app,
        &format!("/v1/assets/A1/history?limit=1&cursor={next}"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(h2["items"][0]["kind"], "transfer_asset");
    assert_eq!(h2["items"][0]["hash"], e.txs[3].to_hex());
    let bad = get_json(
        &e.app,
        "/v1/assets/A1/history?cursor=zz",
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(bad["code"], "bad_cursor");
    let big = get_json(
        &e.app,
        "/v1/assets/A1/history?limit=101",
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(big["details"]["max"], 100);
    let zero = get_json(
        &e.app,
        "/v1/assets/A1/history?limit=0",
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(zero["code"], "limit_too_large");
    let unknown = get_json(
        &e.app,
        "/v1/assets/A1/history?lmit=1",
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(unknown["message"].as_str().unwrap().contains("lmit"));
}

#[tokio::test]
async fn awards_filters_and_detail() {
    let e = env();
    let all = get_json(
        &e.app,
        &format!("/v1/awards?supplier={CODE}"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let mof = get_json(&e.app, "/v1/awards?purchaser=mof", StatusCode::OK).await;
    assert_eq!(mof["items"].as_array().unwrap().len(), 1);
    assert_eq!(mof["items"][0]["amount_minor"], 2_000_000, "amended value");
    let big = get_json(&e.app, "/v1/awards?amount_min=1000000", StatusCode::OK).await;
    assert_eq!(big["items"].as_array().unwrap().len(), 1);
    assert_eq!(big["items"][0]["ocid"], "ocds-x-1");
    let dated = get_json(
        &e.app,
        "/v1/awards?from=2026-03-10&to=2026-03-10&status=active",
        StatusCode::OK,
    )
    .await;
    assert_eq!(dated["items"].as_array().unwrap().len(), 2);
    let none = get_json(&e.app, "/v1/awards?from=2026-03-11", StatusCode::OK).await;
    assert!(none["items"].as_array().unwrap().is_empty());
    let bad = get_json(
        &e.app,
        "/v1/awards?from=2026-13-01",
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["message"].as_str().unwrap().contains("YYYY-MM-DD"));
    let bad = get_json(&e.app, "/v1/awards?status=won", StatusCode::BAD_REQUEST).await;
    assert!(bad["message"].as_str().unwrap().contains("cancelled"));

    let d = get_json(&e.app, "/v1/awards/ocds-x-1/aw-1", StatusCode::OK).await;
    assert_eq!(d["award"]["purchaser"], "mof");
    let kinds: Vec<&str> = d["history"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["award_procurement", "amend_award"]);
    get_json(&e.app, "/v1/awards/ocds-x-1/aw-9", StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn grants_filters_status_and_detail() {
    let e = env();
    let revoked = get_json(&e.app, "/v1/grants?status=revoked", StatusCode::OK).await;
    let ids: Vec<&str> = revoked["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["G1"]);
    let active = get_json(
        &e.app,
        "/v1/grants?dataset=D1&status=active",
        StatusCode::OK,
    )
    .await;
    assert_eq!(active["items"][0]["id"], "G2");
    assert_eq!(active["items"].as_array().unwrap().len(), 1);
    let to_nhc = get_json(&e.app, "/v1/grants?grantee=nhc", StatusCode::OK).await;
    assert_eq!(to_nhc["items"][0]["id"], "G2");
    get_json(
        &e.app,
        "/v1/grants?status=sleeping",
        StatusCode::BAD_REQUEST,
    )
    .await;
    let g = get_json(&e.app, "/v1/grants/G1", StatusCode::OK).await;
    assert_eq!(g["grant"]["status"], "revoked");
    assert_eq!(g["history"]["items"].as_array().unwrap().len(), 2);
    assert!(
        !g.to_string().contains("\"open\""),
        "constraints stay sealed"
    );
    get_json(&e.app, "/v1/grants/G3", StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn records_agencies_members_validators() {
    let e = env();
    let r = get_json(&e.app, "/v1/records?kind=register_asset", StatusCode::OK).await;
    assert_eq!(r["items"].as_array().unwrap().len(), 2);
    let moe = get_json(&e.app, "/v1/records?agency=moe", StatusCode::OK).await;
    assert_eq!(moe["items"].as_array().unwrap().len(), 1);
    let both = get_json(
        &e.app,
        "/v1/records?agency=mof&kind=revoke_grant",
        StatusCode::OK,
    )
    .await;
    assert_eq!(both["items"].as_array().unwrap().len(), 1);
    let bad = get_json(&e.app, "/v1/records?kind=steal", StatusCode::BAD_REQUEST).await;
    assert!(bad["message"].as_str().unwrap().contains("register_asset"));
    get_json(&e.app, "/v1/records", StatusCode::BAD_REQUEST).await;

    let ags = get_json(&e.app, "/v1/agencies", StatusCode::OK).await;
    assert_eq!(ags.as_array().unwrap().len(), 3);
    let mof = get_json(&e.app, "/v1/agencies/mof", StatusCode::OK).await;
    // The admin and one officer per other role.
    assert_eq!(
        mof["member_count"].as_u64().unwrap() as usize,
        chancery_core::record::Role::ALL.len()
    );
    get_json(&e.app, "/v1/agencies/xyz", StatusCode::NOT_FOUND).await;

    let m = get_json(&e.app, "/v1/members?agency=mof&limit=100", StatusCode::OK).await;
    let steward =
        e.fx.signer("mof", chancery_core::record::Role::DataSteward)
            .public();
    let item = m["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == steward.to_hex())
        .unwrap();
    assert_eq!(item["next_seq"], 3);
    let one = get_json(
        &e.app,
        &format!("/v1/members/{}", steward.to_hex()),
        StatusCode::OK,
    )
    .await;
    assert_eq!(one["roles"][0], "data_steward");
    get_json(&e.app, "/v1/members/abc", StatusCode::BAD_REQUEST).await;
    get_json(
        &e.app,
        &format!("/v1/members/{}", "0".repeat(64)),
        StatusCode::NOT_FOUND,
    )
    .await;

    let v = get_json(&e.app, "/v1/validators", StatusCode::OK).await;
    assert_eq!(v["validators"].as_array().unwrap().len(), 4);
    assert_eq!(v["quorum"], 3);
    assert_eq!(v["signed_latest"], 3);
    assert_eq!(v["latest_height"], 4);
}

#[tokio::test]
async fn checkpoints_verify_and_carry_the_text_form() {
    let e = env();
    let l = get_json(&e.app, "/v1/checkpoints/latest", StatusCode::OK).await;
    let cp = checkpoint_of(&e, l["checkpoint"].as_str().unwrap());
    assert_eq!(l["height"], 4);
    assert_eq!(l["size"], 9);
    assert_eq!(l["root"], cp.header.log_root.to_hex());
    let text = l["text"].as_str().unwrap();
    let parsed =
        Checkpoint::from_text(text, &e.fx.genesis.chain_id(), &e.fx.genesis.validators).unwrap();
    assert_eq!(parsed, cp);
    let c2 = get_json(&e.app, "/v1/checkpoints/2", StatusCode::OK).await;
    assert_eq!(c2["size"], 6);
    checkpoint_of(&e, c2["checkpoint"].as_str().unwrap());
    get_json(&e.app, "/v1/checkpoints/5", StatusCode::NOT_FOUND).await;
    get_json(&e.app, "/v1/checkpoints/0", StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn receipts_are_the_kernel_receipt_and_verify_offline() {
    let e = env();
    for h in &e.txs {
        let a = get(&e.app, &format!("/v1/receipts/{}", h.to_hex())).await;
        assert_eq!(a.status, StatusCode::OK);
        // Exactly the kernel type (it refuses unknown fields).
        let r: Receipt = serde_json::from_slice(&a.body).unwrap();
        let s = receipt::verify(&r, &e.fx.genesis).unwrap();
        assert_eq!(s.tx_hash, *h);
        let mut bad = r.clone();
        bad.index += 1;
        assert!(receipt::verify(&bad, &e.fx.genesis).is_err());
    }
    let unknown = get_json(
        &e.app,
        &format!("/v1/receipts/{}", "ab".repeat(32)),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(unknown["message"]
        .as_str()
        .unwrap()
        .contains("not in the log"));
    get_json(&e.app, "/v1/receipts/ABC", StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn log_proofs_verify_against_checkpoints() {
    let e = env();
    let c2 = get_json(&e.app, "/v1/checkpoints/2", StatusCode::OK).await;
    let c4 = get_json(&e.app, "/v1/checkpoints/4", StatusCode::OK).await;
    let cp2 = checkpoint_of(&e, c2["checkpoint"].as_str().unwrap());
    let cp4 = checkpoint_of(&e, c4["checkpoint"].as_str().unwrap());
    for i in 0..6 {
        let p = get_json(
            &e.app,
            &format!("/v1/proofs/inclusion?index={i}&size=6"),
            StatusCode::OK,
        )
        .await;
        let leaf = merkle::leaf_hash(
            chancery_core::suite::Suite::default(),
            &hex::decode(p["leaf"].as_str().unwrap()).unwrap(),
        );
        merkle::verify_inclusion(
            chancery_core::suite::Suite::default(),
            i,
            6,
            &leaf,
            &digests(&p["proof"]),
            &cp2.header.log_root,
        )
        .unwrap();
        assert!(merkle::verify_inclusion(
            chancery_core::suite::Suite::default(),
            i,
            6,
            &leaf,
            &digests(&p["proof"]),
            &cp4.header.log_root
        )
        .is_err());
    }
    let c = get_json(
        &e.app,
        "/v1/proofs/consistency?first=6&second=9",
        StatusCode::OK,
    )
    .await;
    merkle::verify_consistency(
        chancery_core::suite::Suite::default(),
        6,
        9,
        &digests(&c["proof"]),
        &cp2.header.log_root,
        &cp4.header.log_root,
    )
    .unwrap();
    let beyond = get_json(
        &e.app,
        "/v1/proofs/inclusion?index=0&size=10",
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(beyond["details"]["size"], 9);
    let out = get_json(
        &e.app,
        "/v1/proofs/inclusion?index=6&size=6",
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(out["message"].as_str().unwrap().contains("out of range"));
    let missing = get_json(
        &e.app,
        "/v1/proofs/inclusion?index=1",
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(missing["message"].as_str().unwrap().contains("size"));
    get_json(
        &e.app,
        "/v1/proofs/consistency?first=0&second=9",
        StatusCode::BAD_REQUEST,
    )
    .await;
    get_json(
        &e.app,
        "/v1/proofs/consistency?first=9&second=6",
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn state_proofs_verify_against_their_checkpoint() {
    let e = env();
    let p = get_json(&e.app, "/v1/proofs/state/asset/A1", StatusCode::OK).await;
    let cp = checkpoint_of(&e, p["checkpoint"].as_str().unwrap());
    let proof: StateProof = serde_json::from_value(p["proof"].clone()).unwrap();
    let from_hex: StateProof =
        codec::decode(&hex::decode(p["proof_hex"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(proof, from_hex);
    match verify_state_proof(
        chancery_core::suite::Suite::default(),
        &cp.header.state_root,
        &proof,
    )
    .unwrap()
    {
        Some(StateValue::Asset(a)) => assert_eq!(a.custodian, ag("moe")),
        other => panic!("{other:?}"),
    }
    // At height 1 the asset was still with mof.
    let p1 = get_json(&e.app, "/v1/proofs/state/asset/A1?height=1", StatusCode::OK).await;
    let cp1 = checkpoint_of(&e, p1["checkpoint"].as_str().unwrap());
    let proof1: StateProof = serde_json::from_value(p1["proof"].clone()).unwrap();
    match verify_state_proof(
        chancery_core::suite::Suite::default(),
        &cp1.header.state_root,
        &proof1,
    )
    .unwrap()
    {
        Some(StateValue::Asset(a)) => assert_eq!(a.custodian, ag("mof")),
        other => panic!("{other:?}"),
    }
    assert!(verify_state_proof(
        chancery_core::suite::Suite::default(),
        &cp.header.state_root,
        &proof1
    )
    .is_err());
    let g = get_json(&e.app, "/v1/proofs/state/grant/G1", StatusCode::OK).await;
    let cpg = checkpoint_of(&e, g["checkpoint"].as_str().unwrap());
    let pg: StateProof = serde_json::from_value(g["proof"].clone()).unwrap();
    match verify_state_proof(
        chancery_core::suite::Suite::default(),
        &cpg.header.state_root,
        &pg,
    )
    .unwrap()
    {
        Some(StateValue::Grant(s)) => assert!(s.revoked && !s.is_active_at(cpg.header.time)),
        other => panic!("{other:?}"),
    }
    // Absence is proven too.
    let none = get_json(&e.app, "/v1/proofs/state/grant/G9", StatusCode::OK).await;
    let pn: StateProof = serde_json::from_value(none["proof"].clone()).unwrap();
    assert_eq!(
        verify_state_proof(
            chancery_core::suite::Suite::default(),
            &cpg.header.state_root,
            &pn
        )
        .unwrap(),
        None
    );
    get_json(
        &e.app,
        "/v1/proofs/state/asset/A1?height=9",
        StatusCode::NOT_FOUND,
    )
    .await;
    get_json(
        &e.app,
        "/v1/proofs/state/asset/A1?height=-1",
        StatusCode::BAD_REQUEST,
    )
    .await;
}

/// `POST /v1/transactions` with the transaction's canonical bytes.
async fn post_tx(app: &axum::Router, tx: &chancery_core::tx::Transaction) -> Answer {
    send(
        app,
        Request::builder()
            .method(Method::POST)
            .uri("/v1/transactions")
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(tx.to_bytes()))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_read_only_server_refuses_submissions_with_503() {
    let e = env();
    let key =
        e.fx.signer("mof", chancery_core::record::Role::AssetOfficer);
    let tx = e.fx.tx(key, 3, register("A9", "mof"));
    let a = post_tx(&e.app, &tx).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    let v = a.json();
    assert_error_shape(&v);
    assert!(v["message"].as_str().unwrap().contains("read-only"));
    // A malformed one is refused before that, naming the problem.
    let a = send(
        &e.app,
        Request::builder()
            .method(Method::POST)
            .uri("/v1/transactions")
            .body(Body::from(vec![1, 2, 3]))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_error_shape(&a.json());
}

#[tokio::test]
async fn a_full_pool_tells_the_client_when_to_retry() {
    let e = env();
    // A driver whose pool is full: every transaction refused with pool_full.
    let (commands, mut rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        while let Some(cmd) = rx.recv().await {
            if let chancery_api::handle::Command::Submit { txs, reply, .. } = cmd {
                let refusals = txs
                    .iter()
                    .map(|_| {
                        Err(chancery_mempool::AdmitError::PoolFull {
                            limit: chancery_mempool::PoolLimit::Txs,
                            max: 10,
                        })
                    })
                    .collect();
                let _ = reply.send(refusals);
            }
        }
    });
    let handle = chancery_api::NodeHandle {
        commands,
        ..e.handle.clone()
    };
    let app = chancery_api::router(handle);
    let key = e.fx.signer("mof", Role::AssetOfficer);
    let tx = e.fx.tx(key, 3, register("A9", "mof"));
    let a = post_tx(&app, &tx).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.json()["code"], "pool_full");
    assert_eq!(a.headers[header::RETRY_AFTER], "1");
    // A batch answers 202 with one refusal per transaction, and the same header.
    let body = serde_json::json!({ "txs": [hex::encode(tx.to_bytes())] }).to_string();
    let a = send(
        &app,
        Request::builder()
            .method(Method::POST)
            .uri("/v1/transactions/batch")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(a.json()["results"][0]["code"], "pool_full");
    assert_eq!(a.headers[header::RETRY_AFTER], "1");
    // A refusal a retry cannot cure (a read-only server) has no Retry-After.
    let a = post_tx(&e.app, &tx).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!a.headers.contains_key(header::RETRY_AFTER));
}

/// The ledger as the pool needs it (the node's driver does the same).
struct LedgerView<'a>(&'a chancery_ledger::Ledger);

impl chancery_mempool::AdmissionView for LedgerView<'_> {
    fn member(&self, key: &chancery_core::PublicKey) -> Option<chancery_mempool::MemberInfo> {
        self.0
            .member(key)
            .ok()
            .flatten()
            .map(|m| chancery_mempool::MemberInfo {
                agency: m.agency,
                roles: m.roles,
                revoked: m.revoked,
            })
    }

    fn next_seq(&self, key: &chancery_core::PublicKey) -> chancery_core::Seq {
        match self
            .0
            .state_value(&chancery_core::state::StateKey::Seq(*key))
        {
            Ok(Some(chancery_core::state::StateValue::Seq(s))) => s,
            _ => chancery_core::Seq(0),
        }
    }
}

/// Issue 17: past the pool's backlog bound, a transaction that would extend its signer's
/// tail is refused with 503 `pool_full`, `Retry-After` set to the pool's hint, and the JSON
/// error naming the limit (`backlog_max`), the backlog and the seconds. Once the API has
/// seen the bound, a submission past it goes to the pool before any signature check, and
/// only what the pool would take is checked.
#[tokio::test]
async fn past_the_backlog_bound_a_tail_extension_is_refused_with_retry_after() {
    let e = env();
    // A driver with a real pool whose bound is 1 transaction (its floor; no rate measured,
    // so 1 per 3 s is assumed), recording what each submission carried:
    // (deferred verdicts, verdicts, transactions).
    let (commands, mut rx) = tokio::sync::mpsc::channel(4);
    let (status_tx, status) = tokio::sync::watch::channel(chancery_api_types::NodeStatus {
        started: true,
        ..Default::default()
    });
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(bool, usize, usize)>::new()));
    let (ledger, seen_by_driver) = (e.ledger.clone(), seen.clone());
    tokio::spawn(async move {
        let config = chancery_mempool::MempoolConfig {
            backlog_txs_min: 1,
            ..Default::default()
        };
        let mut pool = chancery_mempool::Mempool::new(ledger.chain_id(), config).unwrap();
        while let Some(cmd) = rx.recv().await {
            if let chancery_api::handle::Command::Submit {
                txs,
                verdicts,
                reply,
            } = cmd
            {
                seen_by_driver.lock().unwrap().push((
                    verdicts.is_deferred(),
                    verdicts.len(),
                    txs.len(),
                ));
                let view = LedgerView(&ledger);
                let r = pool.insert_batch_with(
                    txs,
                    verdicts,
                    chancery_mempool::Origin::Local,
                    chancery_core::TimestampMs(0),
                    &view,
                );
                status_tx.send_modify(|s| s.mempool_txs = pool.len());
                let _ = reply.send(r.into_iter().map(|r| r.map(|a| a.hash)).collect());
            }
        }
    });
    let handle = chancery_api::NodeHandle {
        commands,
        status,
        ..e.handle.clone()
    };
    let app = chancery_api::router(handle);
    let asset = e.fx.signer("mof", Role::AssetOfficer);
    let proc = e.fx.signer("mof", Role::ProcurementOfficer);
    // The signer's next sequence (3) is admitted; the pool is then at its bound.
    let a = post_tx(&app, &e.fx.tx(asset, 3, register("A9", "mof"))).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.json());
    // Its 4 would extend its tail: refused, 1 over the bound at 1 per 3 s.
    let tail = e.fx.tx(asset, 4, register("A10", "mof"));
    let a = post_tx(&app, &tail).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.headers[header::RETRY_AFTER], "3");
    let j = a.json();
    assert_error_shape(&j);
    assert_eq!(j["code"], "pool_full");
    assert_eq!(j["details"]["limit"], "backlog_max");
    assert_eq!(j["details"]["backlog_max"], 1);
    assert_eq!(j["details"]["backlog"], 1);
    assert_eq!(j["details"]["retry_after_s"], 3);
    let message = j["message"].as_str().unwrap_or("");
    assert!(message.contains("backlog_max = 1"), "{message}");
    // Until then the API knew no bound: both were checked before they reached the pool.
    assert_eq!(*seen.lock().unwrap(), [(false, 1, 1), (false, 1, 1)]);
    // Now it does: a batch of the same tail extension and another signer's next
    // transaction (a gap-filler) goes to the pool first, unchecked; only the gap-filler is
    // checked and submitted again.
    let filler =
        e.fx.tx(proc, 2, award("ocds-x-9", "aw-1", "mof", 1_000, CODE));
    let body = serde_json::json!({
        "txs": [hex::encode(tail.to_bytes()), hex::encode(filler.to_bytes())]
    })
    .to_string();
    let a = send(
        &app,
        Request::builder()
            .method(Method::POST)
            .uri("/v1/transactions/batch")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    let j = a.json();
    assert_eq!(j["results"][0]["code"], "pool_full");
    assert_eq!(j["results"][0]["retry_after_s"], 3);
    assert_eq!(j["results"][1]["hash"], filler.hash().to_hex());
    assert!(j["results"][1].get("retry_after_s").is_none());
    assert_eq!(a.headers[header::RETRY_AFTER], "3");
    assert_eq!(
        seen.lock().unwrap()[2..],
        [(true, 0, 2), (false, 1, 1)],
        "the refused transaction's signature was checked"
    );
}

#[tokio::test]
async fn framework_errors_are_json_too() {
    let e = env_with(ApiLimits {
        request_bytes_max: 1000,
        ..ApiLimits::default()
    });
    let nr = get_json(&e.app, "/v2/nothing", StatusCode::NOT_FOUND).await;
    assert_eq!(nr["code"], "no_route");
    let a = send(
        &e.app,
        Request::builder()
            .method(Method::DELETE)
            .uri("/v1/assets/A1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_error_shape(&a.json());
    let a = send(
        &e.app,
        Request::builder()
            .method(Method::POST)
            .uri("/v1/transactions")
            .body(Body::from(vec![0u8; 5000]))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error_shape(&a.json());
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_json() {
    let e = env_with(ApiLimits {
        requests_per_s_max: 1,
        request_burst_max: 3,
        ..ApiLimits::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(get(&e.app, "/v1/status").await);
    }
    assert!(statuses[..3].iter().all(|a| a.status == StatusCode::OK));
    let over = &statuses[4];
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    let v = over.json();
    assert_error_shape(&v);
    assert_eq!(v["code"], "rate_limited");
    assert_eq!(v["details"]["request_burst_max"], 3);
    assert!(over.headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_of_the_contract() {
    let e = env();
    let doc = get_json(&e.app, "/v1/openapi.json", StatusCode::OK).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let want = [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/v1/status", "get"),
        ("/v1/transactions", "post"),
        ("/v1/transactions/batch", "post"),
        ("/v1/transactions/{hash}", "get"),
        ("/v1/blocks/latest", "get"),
        ("/v1/blocks/{height}", "get"),
        ("/v1/members/{key}", "get"),
        ("/v1/events", "get"),
        ("/v1/blocks", "get"),
        ("/v1/blocks/raw", "get"),
        ("/v1/assets/{id}", "get"),
        ("/v1/assets/{id}/history", "get"),
        ("/v1/assets", "get"),
        ("/v1/awards", "get"),
        ("/v1/awards/{ocid}/{award_id}", "get"),
        ("/v1/processes/{ocid}", "get"),
        ("/v1/contracts/{ocid}/{contract_id}", "get"),
        ("/v1/procurement-limits", "get"),
        ("/v1/grants", "get"),
        ("/v1/grants/{id}", "get"),
        ("/v1/records", "get"),
        ("/v1/agencies", "get"),
        ("/v1/agencies/{id}", "get"),
        ("/v1/members", "get"),
        ("/v1/validators", "get"),
        ("/v1/governance", "get"),
        ("/v1/governance/proposals", "get"),
        ("/v1/governance/proposals/{id}", "get"),
        ("/v1/epochs", "get"),
        ("/v1/evidence", "get"),
        ("/v1/evidence/{id}", "get"),
        ("/v1/checkpoints/latest", "get"),
        ("/v1/checkpoints/{height}", "get"),
        ("/v1/receipts/{tx_hash}", "get"),
        ("/v1/proofs/inclusion", "get"),
        ("/v1/proofs/consistency", "get"),
        ("/v1/proofs/state/asset/{id}", "get"),
        ("/v1/proofs/state/grant/{id}", "get"),
        ("/v1/openapi.json", "get"),
        ("/metrics", "get"),
    ];
    for (p, m) in want {
        assert!(
            paths.get(p).and_then(|o| o.get(m)).is_some(),
            "{m} {p} missing from the OpenAPI document"
        );
    }
    assert_eq!(paths.len(), want.len(), "routes not in the contract");
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    // The document served is the one generated from the code.
    assert_eq!(doc, serde_json::to_value(chancery_api::openapi()).unwrap());
}

#[tokio::test]
async fn events_stream_each_block_then_the_latest_checkpoint() {
    use futures_util::StreamExt;
    use tower::ServiceExt;
    let e = env();
    let res = e
        .app
        .clone()
        .oneshot(Request::get("/v1/events").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The handler has subscribed by now: a block published now reaches this stream.
    let tip = e.ledger.tip();
    e.handle
        .events
        .send(chancery_api::handle::Event::Block {
            height: tip.height,
            hash: tip.hash,
            tx_count: 0,
            log_size: tip.log_size,
        })
        .unwrap();
    let mut body = res.into_body().into_data_stream();
    let mut text = String::new();
    let deadline = std::time::Duration::from_secs(30);
    while !(text.contains("event: checkpoint") && text.ends_with("\n\n")) {
        let chunk = tokio::time::timeout(deadline, body.next())
            .await
            .expect("the block's events within the deadline")
            .expect("the stream stays open")
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let events: Vec<(&str, Value)> = text
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|b| {
            let name = b.lines().find_map(|l| l.strip_prefix("event: ")).unwrap();
            let data = b.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            (name, serde_json::from_str(data).unwrap())
        })
        .collect();
    assert_eq!(events[0].0, "block");
    assert_eq!(events[0].1["height"], tip.height.0);
    assert_eq!(events[1].0, "checkpoint");
    let latest = get_json(&e.app, "/v1/checkpoints/latest", StatusCode::OK).await;
    assert_eq!(events[1].1, latest);
}
