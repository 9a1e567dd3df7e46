//! The efficiency dashboards (issue 22): figures agree with the record lists and the OCDS
//! export, every chart has its table and links, JSON and CSV carry the same numbers,
//! filters narrow them and bad filters are named.

mod support;

use serde_json::Value;
use support::{get_text, ok_text, process_world, world, OCID_FULL};

async fn json(app: &axum::Router, uri: &str) -> Value {
    let b = ok_text(app, uri).await;
    serde_json::from_str(&b).unwrap_or_else(|e| panic!("{uri}: {e}: {b}"))
}

fn rows<'a>(v: &'a Value, table: &str) -> &'a Vec<Value> {
    v["tables"][table]["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no table {table} in {v}"))
}

#[tokio::test]
async fn procurement_figures_agree_with_the_records_and_the_ocds_export() {
    let w = process_world();
    let app = chancery_explorer::router(w.handle());
    let v = json(&app, "/v1/stats/procurement").await;
    // Two awards: a selective 4,800,000 and a direct 300,000 (yuan).
    let by_method = rows(&v, "by_method");
    let find = |m: &str| by_method.iter().find(|r| r["method"] == m).unwrap().clone();
    assert_eq!(find("selective")["awards"], 1);
    assert_eq!(find("selective")["value"]["minor"], 480_000_000u64);
    assert_eq!(find("direct")["value"]["minor"], 30_000_000u64);
    let share = &rows(&v, "open_share")[0];
    assert_eq!(
        (share["awards"].clone(), share["open_awards"].clone()),
        (2.into(), 0.into())
    );
    // The award list behind the figures has as many awards.
    let list = ok_text(&app, "/awards?lang=en").await;
    assert_eq!(list.matches("/award?ocid=").count(), 2, "{list}");
    // The OCDS export pays what the dashboard says was paid by mof.
    let by_agency = rows(&v, "by_agency");
    let mof = by_agency.iter().find(|r| r["agency"] == "mof 部").unwrap();
    assert_eq!(mof["paid"]["minor"], 490_000_000u64);
    assert_eq!(mof["tenders"], 1);
    assert_eq!(mof["contracts"], 1);
    let pkg = json(&app, &format!("/ocds/records/{OCID_FULL}")).await;
    let paid: f64 = pkg["records"][0]["compiledRelease"]["contracts"][0]["implementation"]
        ["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["value"]["amount"].as_f64().unwrap())
        .sum();
    assert_eq!(paid * 100.0, 490_000_000.0);
    // Days: tender published 03-01, awarded 03-25 (24 days); awarded 03-25, contract 04-01.
    let d = rows(&v, "durations");
    let mof = d.iter().find(|r| r["agency"] == "mof 部").unwrap();
    assert_eq!(mof["tender_to_award_median"], 24);
    assert_eq!(mof["award_to_contract_median"], 7);
    // The breach is counted on the tender, the award and the contract of mof's process.
    let flags = rows(&v, "flags");
    let breach = flags
        .iter()
        .find(|r| r["rule"] == "open_tender_required" && r["agency"] == "mof 部")
        .unwrap();
    assert_eq!(breach["count"], 3);
    // Concentration: the one supplier of both awards holds the whole value.
    let top = &rows(&v, "top_suppliers")[0];
    assert_eq!(top["share_permille"], 1000);
    assert!(top["records"]
        .as_str()
        .unwrap()
        .contains("/awards?supplier="));

    // Filters narrow the figures: only moe, only March 2026.
    let moe = json(&app, "/v1/stats/procurement?agency=moe").await;
    assert_eq!(rows(&moe, "open_share")[0]["awards"], 1);
    let march = json(&app, "/v1/stats/procurement?from=2026-03&to=2026-03").await;
    assert_eq!(rows(&march, "open_share")[0]["awards"], 1);
    let usd = json(&app, "/v1/stats/procurement?currency=USD").await;
    assert_eq!(rows(&usd, "open_share")[0]["awards"], 0);
    // Bad filters are named.
    let (s, b) = get_text(&app, "/v1/stats/procurement?from=2026-13").await;
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("YYYY-MM"), "{b}");
    let (s, b) = get_text(&app, "/v1/stats/nothing").await;
    assert_eq!(s, 400);
    assert!(b.contains("procurement, assets or sharing"), "{b}");

    // CSV: the same numbers, a header row.
    let csv = ok_text(&app, "/v1/stats/procurement/by_method.csv").await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "method,awards,value");
    assert!(lines.contains(&"selective,1,4800000"), "{csv}");
    // Shares are integers per mille in CSV (as in JSON); the page shows them in %.
    let csv = ok_text(&app, "/v1/stats/procurement/open_share.csv").await;
    assert_eq!(csv.lines().nth(1), Some("2,0,0,0"), "{csv}");
    let (s, _) = get_text(&app, "/v1/stats/procurement/nothing.csv").await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn the_dashboard_pages_render_charts_tables_and_links_in_both_languages() {
    let w = process_world();
    let app = chancery_explorer::router(w.handle());
    let other = chancery_explorer::router(world().handle());
    for lang in ["zh", "en"] {
        for section in ["procurement", "assets", "sharing"] {
            let on = if section == "procurement" {
                &app
            } else {
                &other
            };
            let p = ok_text(on, &format!("/dashboard?section={section}&lang={lang}")).await;
            assert!(p.contains("<table"), "{section} {lang}");
            assert!(!p.contains("<script"), "the dashboard needs no script");
            assert!(p.contains(&format!("/v1/stats/{section}/")), "CSV links");
        }
    }
    let p = ok_text(&app, "/dashboard?lang=en").await;
    assert!(p.contains("<svg"), "charts are SVG");
    assert!(p.contains("Limit-standard flags"));
    // Every bar of the purchaser chart links to that purchaser's awards.
    assert!(p.contains("/awards?purchaser=mof"), "{p}");
    let zh = ok_text(&app, "/dashboard").await;
    assert!(zh.contains("运行效能看板"));
}

#[tokio::test]
async fn asset_and_sharing_figures_agree_with_the_records() {
    let w = world();
    let app = chancery_explorer::router(w.handle());
    let a = json(&app, "/v1/stats/assets").await;
    let s = json(&app, "/v1/stats/sharing").await;
    // Holdings add up to the assets on the register (registered minus disposed).
    let held: i64 = rows(&a, "holdings")
        .iter()
        .map(|r| r["held"].as_i64().unwrap())
        .sum();
    let registered: u64 = rows(&a, "by_month")
        .iter()
        .map(|r| r["registered"].as_u64().unwrap())
        .sum();
    let disposed: u64 = rows(&a, "by_month")
        .iter()
        .map(|r| r["disposed"].as_u64().unwrap())
        .sum();
    assert!(registered > 0 && disposed > 0);
    assert_eq!(held, (registered - disposed) as i64);
    // Grants by status add up to the grants issued; the revoked ones match the list.
    let status = rows(&s, "status");
    let total: u64 = status.iter().map(|r| r["grants"].as_u64().unwrap()).sum();
    let issued: u64 = rows(&s, "by_month")
        .iter()
        .map(|r| r["grants"].as_u64().unwrap())
        .sum();
    assert_eq!(total, issued);
    let revoked = status.iter().find(|r| r["status"] == "revoked").unwrap()["grants"]
        .as_u64()
        .unwrap();
    let list = ok_text(&app, "/grants?status=revoked&lang=en").await;
    assert_eq!(list.matches("/grant?id=").count() as u64, revoked, "{list}");
}

/// `/v1/stats/...` is in the node's OpenAPI document (merged from the explorer), with its
/// filters and their patterns, and every section's answer is an instance of the documented
/// schema.
#[tokio::test]
async fn the_stats_routes_are_in_the_openapi_document_and_answer_as_it_says() {
    let w = process_world();
    let app = chancery_api::routes_with_doc(w.handle(), chancery_explorer::openapi())
        .merge(chancery_explorer::router(w.handle()));
    let doc = json(&app, "/v1/openapi.json").await;
    // The API's own routes are still there.
    assert!(doc["paths"]["/v1/assets"].is_object(), "{doc}");
    let op = &doc["paths"]["/v1/stats/{section}"]["get"];
    let params: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("no /v1/stats/{{section}} in {}", doc["paths"]))
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in ["section", "agency", "from", "to", "currency", "lang"] {
        assert!(params.contains(&p), "{p} missing from {params:?}");
    }
    let from = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "from")
        .unwrap();
    assert_eq!(from["schema"]["pattern"], "^[0-9]{4}-(0[1-9]|1[0-2])$");
    let sections = &doc["components"]["schemas"]["Section"]["enum"];
    assert_eq!(
        sections,
        &serde_json::json!(["procurement", "assets", "sharing"])
    );
    let csv = &doc["paths"]["/v1/stats/{section}/{file}"]["get"]["responses"]["200"];
    assert!(csv["content"]["text/csv"].is_object(), "{csv}");

    // Every section's answer validates against the documented schema.
    let schema = serde_json::json!({
        "$ref": "#/components/schemas/StatsDoc",
        "components": doc["components"],
    });
    let v = jsonschema::validator_for(&schema).expect("the schema compiles");
    assert!(!v.is_valid(&serde_json::json!({"section": "procurement"})));
    for section in ["procurement", "assets", "sharing"] {
        let answer = json(&app, &format!("/v1/stats/{section}")).await;
        let errors: Vec<String> = v
            .iter_errors(&answer)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{section}: {errors:?}");
    }
    // And a bad filter answers in the documented error shape.
    let (s, b) = get_text(&app, "/v1/stats/assets/nothing.csv").await;
    assert_eq!(s, 400);
    let e: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(e["code"], "bad_param", "{b}");
}
