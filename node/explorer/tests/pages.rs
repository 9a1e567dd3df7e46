//! Every explorer page over a ledger with every record kind: content, language switch,
//! escaping, restricted fields, receipts and verify instructions, errors.

mod support;

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

struct Answer {
    status: u16,
    body: String,
    cookie: Option<String>,
    location: Option<String>,
}

async fn get_with(app: &axum::Router, uri: &str, cookie: Option<&str>) -> Answer {
    let mut req = Request::get(uri).header("host", "explorer.test");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = r.status().as_u16();
    let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string());
    let cookie = h("set-cookie");
    let location = h("location");
    let b = axum::body::to_bytes(r.into_body(), 16 << 20).await.unwrap();
    Answer {
        status,
        body: String::from_utf8(b.to_vec()).unwrap(),
        cookie,
        location,
    }
}

async fn get(app: &axum::Router, uri: &str) -> Answer {
    get_with(app, uri, None).await
}

async fn ok(app: &axum::Router, uri: &str) -> String {
    let a = get(app, uri).await;
    assert_eq!(a.status, 200, "{uri}: {}", a.body);
    assert!(a.body.starts_with("<!DOCTYPE html>"), "{uri}");
    a.body
}

fn app() -> (axum::Router, support::World) {
    let w = support::world();
    (chancery_explorer::router(w.handle()), w)
}

#[tokio::test]
async fn home_shows_blocks_checkpoint_validators_and_counts() {
    let (app, w) = app();
    let tip = w.ledger.tip();
    let b = ok(&app, "/").await;
    assert!(b.contains("lang=\"zh-Hans\""));
    assert!(b.contains("最新检查点"));
    assert!(b.contains(&tip.log_root.to_hex()), "checkpoint root shown");
    let indexed = w.ledger.indexed_height().unwrap().expect("indexed");
    assert!(
        b.contains(&format!("<dt>已索引高度</dt><dd>{}</dd>", indexed.0)),
        "indexed height shown"
    );
    assert!(b.contains("法定多数在线"), "quorum live (4 of 4, quorum 3)");
    for h in 1..=tip.height.0 {
        assert!(
            b.contains(&format!("href=\"/blocks/{h}\"")),
            "block {h} listed"
        );
    }
    // Counts per kind: 4 awards, 3 amendments, 1 cancellation, 2 assets registered.
    let row = |kind: &str, n: u64| format!("<td>{kind}</td><td class=\"num\">{n}</td>");
    assert!(b.contains(&row("采购授标", 4)), "{b}");
    assert!(b.contains(&row("授标变更", 3)));
    assert!(b.contains(&row("授标撤销", 1)));
    assert!(b.contains(&row("资产登记", 2)));
    // The optional live script follows the event stream; the page is complete without it.
    assert!(b.contains("new EventSource('/v1/events')"));
    let en = ok(&app, "/?lang=en").await;
    assert!(en.contains("Latest checkpoint") && en.contains("Quorum live"));
    assert!(en.contains(&row("Procurement award", 4)));
}

#[tokio::test]
async fn language_switch_sets_a_cookie_and_keeps_the_query() {
    let (app, _) = app();
    let a = get(&app, "/awards?purchaser=mof&lang=en").await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("<html lang=\"en\">"));
    assert!(
        a.cookie.as_deref().unwrap_or("").starts_with("lang=en"),
        "{:?}",
        a.cookie
    );
    // The switch link goes back to Chinese on the same filtered list.
    assert!(
        a.body
            .contains("href=\"/awards?lang=zh&amp;purchaser=mof\""),
        "{}",
        a.body
    );
    // The cookie alone keeps English.
    let b = get_with(&app, "/awards", Some("lang=en")).await;
    assert!(b.body.contains("<html lang=\"en\">") && b.cookie.is_none());
    // Default: Chinese.
    assert!(get(&app, "/awards")
        .await
        .body
        .contains("<html lang=\"zh-Hans\">"));
}

#[tokio::test]
async fn awards_list_filters_sorts_and_pages() {
    let (app, _) = app();
    let all = ok(&app, "/awards").await;
    for needle in [
        "ocds-213czf-2026-0001/1",
        "ocds-213czf-2026-0001/2",
        "ocds-213czf-2026-0002/1",
        "ocds-213czf-2026-0003/1",
    ] {
        assert!(all.contains(needle), "{needle}");
    }
    // Locale formatting: yuan with grouping, current (amended) value.
    assert!(all.contains("¥110,000.00"), "amended value shown");
    assert!(all.contains("2026年11月20日"));
    let en = ok(&app, "/awards?lang=en").await;
    assert!(
        en.contains("CNY 110,000.00")
            && en.contains("JPY 3,500,000")
            && en.contains("USD 21,500.50")
    );
    assert!(en.contains("20 Nov 2026"));
    // Filters.
    let moe = ok(&app, "/awards?purchaser=moe").await;
    assert!(moe.contains("ocds-213czf-2026-0002/1") && !moe.contains("ocds-213czf-2026-0001/1"));
    let by_code = ok(
        &app,
        &format!("/awards?supplier={}", support::SUPPLIER_CODE),
    )
    .await;
    assert!(
        by_code.contains("ocds-213czf-2026-0001/1") && by_code.contains("ocds-213czf-2026-0003/1")
    );
    assert!(!by_code.contains("ocds-213czf-2026-0001/2"));
    let cancelled = ok(&app, "/awards?status=cancelled").await;
    assert!(
        cancelled.contains("ocds-213czf-2026-0002/1")
            && !cancelled.contains("ocds-213czf-2026-0001/1")
    );
    let range = ok(&app, "/awards?min=10000&max=200000&currency=CNY").await;
    assert!(
        range.contains("ocds-213czf-2026-0001/1") && !range.contains("ocds-213czf-2026-0003/1")
    );
    // Sorted by amount, largest first (CNY): 110,000.00 before 9,999.99.
    let s = ok(&app, "/awards?sort=-amount").await;
    let (p1, p2) = (
        s.find("ocds-213czf-2026-0001/1").unwrap(),
        s.find("ocds-213czf-2026-0003/1").unwrap(),
    );
    assert!(p1 < p2);
    let s = ok(&app, "/awards?sort=amount").await;
    let (p1, p2) = (
        s.find("ocds-213czf-2026-0001/1").unwrap(),
        s.find("ocds-213czf-2026-0003/1").unwrap(),
    );
    assert!(p2 < p1);
    // Pages of one: a next link, and the second page differs from the first.
    let p = ok(&app, "/awards?limit=1").await;
    let start = p
        .find("rel=\"next\"")
        .map(|i| p[..i].rfind("href=\"").unwrap() + 6)
        .expect("next link");
    let href = p[start..].split('"').next().unwrap().replace("&amp;", "&");
    let p2 = ok(&app, &href).await;
    assert_ne!(p, p2);
    // Bad parameters are a 400 that says what was expected.
    let a = get(&app, "/awards?from=tomorrow").await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("YYYY-MM-DD"));
    assert_eq!(get(&app, "/awards?limit=100000").await.status, 400);
    assert_eq!(get(&app, "/awards?sort=colour").await.status, 400);
}

#[tokio::test]
async fn award_page_has_history_receipt_command_and_checkpoint() {
    let (app, w) = app();
    let b = ok(&app, "/award?ocid=ocds-213czf-2026-0001&id=1").await;
    let a = w
        .ledger
        .award("ocds-213czf-2026-0001", "1")
        .unwrap()
        .unwrap();
    assert!(b.contains(support::SUPPLIER_NAME) && b.contains(support::SUPPLIER_CODE));
    assert!(b.contains("ZB-ocds-213czf-2026-0001-1"), "project number");
    assert!(b.contains("合同金额调整"), "amendment in the timeline");
    assert!(b.contains(&format!("/v1/receipts/{}", a.last_tx.to_hex())));
    assert!(b.contains("chancery verify receipt-"));
    assert!(b.contains("--genesis genesis.json"));
    assert!(
        b.contains(&w.ledger.tip().log_root.to_hex()),
        "anchoring checkpoint"
    );
    let c = ok(&app, "/award?ocid=ocds-213czf-2026-0002&id=1").await;
    assert!(c.contains("已撤销") && c.contains("供应商资格不符"));
    assert_eq!(get(&app, "/award?ocid=nope&id=1").await.status, 404);
    assert_eq!(get(&app, "/award?ocid=nope").await.status, 400);
}

#[tokio::test]
async fn markup_in_records_is_escaped() {
    let (app, _) = app();
    for uri in [
        "/awards",
        "/award?ocid=ocds-213czf-2026-0003&id=1",
        "/agency?id=nhc",
    ] {
        let b = ok(&app, uri).await;
        assert!(!b.contains("<script>alert"), "{uri} lets markup through");
        if uri.starts_with("/award?") {
            assert!(b.contains("&lt;script&gt;alert"), "{uri}");
        }
    }
    // Markup in a query parameter is escaped too.
    let a = get(&app, "/search?q=%3Cscript%3Ealert(1)%3C/script%3E").await;
    assert!(!a.body.contains("<script>alert(1)") && a.body.contains("&lt;script&gt;alert(1)"));
}

#[tokio::test]
async fn asset_page_shows_custodian_history_and_only_commitments_of_restricted_fields() {
    let (app, _) = app();
    let b = ok(&app, "/asset?id=mof-asset-1").await;
    assert!(b.contains("当前保管机构"));
    assert!(b.contains("/agency?id=moe"), "custodian after the transfer");
    assert!(b.contains("资产调拨"), "transfer in the timeline");
    assert!(b.contains("受限"), "restricted location marked");
    assert!(
        !b.contains(support::SECRET_LOCATION),
        "sealed content never shown"
    );
    let en = ok(&app, "/asset?id=mof-asset-1&lang=en").await;
    assert!(en.contains("restricted") && en.contains("hash commitment only"));
    // An open (disclosed) location is shown.
    let moe = ok(&app, "/asset?id=moe-asset-1").await;
    assert!(moe.contains("教育部大院") && moe.contains("已处置"));
    assert_eq!(get(&app, "/asset?id=missing").await.status, 404);
}

#[tokio::test]
async fn grants_block_tx_and_agency_pages() {
    let (app, w) = app();
    let g = ok(&app, "/grants").await;
    assert!(g.contains("mof-grant-1") && g.contains("moe-grant-1"));
    let active = ok(&app, "/grants?status=active").await;
    assert!(active.contains("mof-grant-1") && !active.contains("moe-grant-1"));
    let revoked = ok(&app, "/grants?status=revoked").await;
    assert!(revoked.contains("moe-grant-1") && !revoked.contains("mof-grant-1"));
    let by_grantee = ok(&app, "/grants?grantee=nhc").await;
    assert!(by_grantee.contains("mof-grant-1") && !by_grantee.contains("moe-grant-1"));
    let by_dataset = ok(&app, "/grants?dataset=moe-schools").await;
    assert!(by_dataset.contains("moe-grant-1") && !by_dataset.contains("mof-grant-1"));
    let d = ok(&app, "/grant?id=mof-grant-1").await;
    assert!(d.contains("预算执行监督") && d.contains("受限") && d.contains("/v1/receipts/"));
    let r = ok(&app, "/grant?id=moe-grant-1").await;
    assert!(r.contains("已撤回") && r.contains("项目结束"));

    let blk = ok(&app, "/blocks/3").await;
    assert!(blk.contains("授标撤销") && blk.contains("资产调拨"));
    assert_eq!(get(&app, "/blocks/99").await.status, 404);
    assert_eq!(get(&app, "/blocks/x").await.status, 400);

    let a = w
        .ledger
        .award("ocds-213czf-2026-0002", "1")
        .unwrap()
        .unwrap();
    let t = ok(&app, &format!("/tx/{}", a.last_tx.to_hex())).await;
    assert!(t.contains("授标撤销") && t.contains("chancery verify") && t.contains("已生效"));
    assert_eq!(
        get(&app, &format!("/tx/{}", "0".repeat(64))).await.status,
        404
    );

    let ag = ok(&app, "/agency?id=mof").await;
    assert!(ag.contains("ocds-213czf-2026-0001/1"), "its awards");
    assert!(ag.contains("mof-grant-1"), "grants it gave");
    assert!(ag.contains("moe-grant-1"), "grants it received");
    assert!(ag.contains("procurement_officer"), "members with roles");
    let moe = ok(&app, "/agency?id=moe").await;
    assert!(moe.contains("mof-asset-1"), "assets it holds");
    assert!(ok(&app, "/agencies").await.contains("/agency?id=nhc"));
}

#[tokio::test]
async fn search_finds_every_kind_of_identifier() {
    let (app, w) = app();
    let a = w
        .ledger
        .award("ocds-213czf-2026-0001", "1")
        .unwrap()
        .unwrap();
    let cases: Vec<(String, &str)> = vec![
        ("mof-asset-1".into(), "/asset?id=mof-asset-1"),
        ("mof-grant-1".into(), "/grant?id=mof-grant-1"),
        (a.last_tx.to_hex(), "/tx/"),
        (
            "ZB-ocds-213czf-2026-0002-1".into(),
            "/award?ocid=ocds-213czf-2026-0002&id=1",
        ),
        (
            "ocds-213czf-2026-0002".into(),
            "/award?ocid=ocds-213czf-2026-0002&id=1",
        ),
        ("Acme".into(), "/awards?supplier=Acme+Analytics+Ltd"),
    ];
    for (q, target) in cases {
        let r = get(&app, &format!("/search?q={}", q.replace(' ', "+"))).await;
        assert_eq!(r.status, 303, "{q}: {}", r.body);
        assert!(
            r.location.as_deref().unwrap_or("").starts_with(target),
            "{q} -> {:?}",
            r.location
        );
    }
    // Several hits: a list (the supplier by name and by code, the ocid with two awards).
    let b = ok(&app, "/search?q=ocds-213czf-2026-0001").await;
    assert!(b.contains("ocds-213czf-2026-0001/1") && b.contains("ocds-213czf-2026-0001/2"));
    let r = get(&app, &format!("/search?q={}", support::SUPPLIER_CODE)).await;
    assert_eq!(
        r.location,
        Some(format!("/awards?supplier={}", support::SUPPLIER_CODE))
    );
    let r = get(&app, "/search?q=%E5%8D%8E%E4%BF%A1").await; // 华信, part of a supplier's name
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location.unwrap().starts_with("/awards?supplier="));
    // Agency by name.
    let r = get(&app, "/search?q=Ministry+nhc").await;
    assert_eq!(r.location.as_deref(), Some("/agency?id=nhc"));
    // Nothing.
    let b = ok(&app, "/search?q=no-such-thing").await;
    assert!(b.contains("没有找到"));
}

#[tokio::test]
async fn genesis_download_is_the_verifiers_genesis() {
    let (app, w) = app();
    let a = get(&app, "/genesis.json").await;
    assert_eq!(a.status, 200);
    let g: chancery_core::genesis::Genesis = serde_json::from_str(&a.body).unwrap();
    assert_eq!(g.chain_id(), w.ledger.chain_id());
}

#[tokio::test]
async fn evidence_page_lists_stored_conflicting_votes_and_the_home_page_links_it() {
    use chancery_consensus::{Evidence, Vote};
    use chancery_core::cert::VoteKind;
    use chancery_core::{codec, Digest, View};
    let (app, w) = app();
    let empty = ok(&app, "/evidence?lang=en").await;
    assert!(empty.contains("has seen no evidence"), "{empty}");
    let g = &w.fx.genesis;
    let vote = |block: u8| {
        Vote::sign(
            g.chain_id(),
            g.validators.epoch,
            View(11),
            VoteKind::Notarize,
            Digest([block; 32]),
            2,
            &w.fx.validators[2],
        )
    };
    let ev = Evidence::Votes {
        first: vote(1),
        second: vote(2),
    };
    let id = ev.id();
    let mut key = b"consensus/evidence/".to_vec();
    key.extend_from_slice(&id);
    let mut b = chancery_storage::WriteBatch::new();
    b.put(chancery_storage::Column::Meta, key, codec::encode(&ev));
    w.ledger.store().write(b).unwrap();

    let en = ok(&app, "/evidence?lang=en").await;
    let name = &g.validators.validators[2].name;
    assert!(en.contains(&format!("{name} (#2)")), "{en}");
    assert!(en.contains("proven"), "{en}");
    assert!(
        en.contains(&format!("/v1/evidence/{}", hex::encode(id))),
        "{en}"
    );
    assert!(en.contains("chancery verify evidence.json"), "{en}");
    let zh = ok(&app, "/evidence?lang=zh").await;
    assert!(zh.contains("作恶证据") && zh.contains("已证实"), "{zh}");
    let home = ok(&app, "/?lang=en").await;
    assert!(home.contains("href=\"/evidence\""), "{home}");
}
