//! The OCDS export validates against the official OCDS 1.1.5 JSON Schemas (draft 4) with a
//! real validator, over a workload with every award variant: awards in CNY, USD and JPY,
//! amendments of value, suppliers, items and status, a cancellation, several suppliers,
//! items with and without classification and unit price, documents with and without URL.

mod support;

use axum::body::Body;
use axum::http::Request;
use serde_json::Value;
use std::path::PathBuf;
use tower::ServiceExt;

const RELEASE_SCHEMA_ID: &str =
    "https://standard.open-contracting.org/schema/1__1__5/release-schema.json";
/// The record package schema also refers to the versioned release schema, which is not in
/// the conformance set: the export never writes `versionedRelease`, so it is mapped to a
/// schema that rejects everything (a record carrying one would fail validation).
const VERSIONED_SCHEMA_ID: &str =
    "https://standard.open-contracting.org/schema/1__1__5/versioned-release-validation-schema.json";

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/ocds-1.1.5")
}

fn load(name: &str) -> Value {
    let p = schema_dir().join(name);
    let s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("parsing {}: {e}", p.display()))
}

/// Resolves the release schema's absolute id to the local copy; nothing else is fetched.
struct LocalSchemas {
    release: Value,
}

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        if uri.as_str() == RELEASE_SCHEMA_ID {
            Ok(self.release.clone())
        } else if uri.as_str() == VERSIONED_SCHEMA_ID {
            Ok(serde_json::json!({"not": {}}))
        } else {
            Err(format!("no local copy of {uri} (only the release schema is mapped)").into())
        }
    }
}

fn validator(package_schema: &str) -> jsonschema::Validator {
    let schema = load(package_schema);
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .with_retriever(LocalSchemas {
            release: load("release-schema-1.1.5.json"),
        })
        .build(&schema)
        .unwrap_or_else(|e| panic!("compiling {package_schema}: {e}"))
}

fn assert_valid(v: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} is not valid OCDS 1.1.5:\n{}",
        errors.join("\n")
    );
}

async fn get(app: &axum::Router, uri: &str) -> (u16, Value) {
    let r = app
        .clone()
        .oneshot(
            Request::get(uri)
                .header("host", "explorer.test")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = r.status().as_u16();
    let b = axum::body::to_bytes(r.into_body(), 16 << 20).await.unwrap();
    (status, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

fn app() -> axum::Router {
    let w = support::world();
    chancery_explorer::router(w.handle())
}

#[tokio::test]
async fn release_packages_validate_and_cover_every_award_variant() {
    let app = app();
    let v = validator("release-package-schema-1.1.5.json");
    let (s, pkg) = get(&app, "/ocds/releases").await;
    assert_eq!(s, 200, "{pkg}");
    assert_valid(&v, &pkg, "release package");
    let rels = pkg["releases"].as_array().unwrap();
    // 4 awards, 3 amendments, 1 cancellation.
    assert_eq!(rels.len(), 8, "{pkg:#}");
    let tags: Vec<&str> = rels.iter().map(|r| r["tag"][0].as_str().unwrap()).collect();
    assert_eq!(tags.iter().filter(|t| **t == "award").count(), 4);
    assert_eq!(tags.iter().filter(|t| **t == "awardUpdate").count(), 3);
    assert_eq!(
        tags.iter().filter(|t| **t == "awardCancellation").count(),
        1
    );
    let currencies: std::collections::BTreeSet<&str> = rels
        .iter()
        .filter_map(|r| r["awards"][0]["value"]["currency"].as_str())
        .collect();
    assert_eq!(
        currencies.into_iter().collect::<Vec<_>>(),
        ["CNY", "JPY", "USD"]
    );
    // JPY has no minor unit, CNY two decimals.
    let jpy = rels
        .iter()
        .find(|r| r["awards"][0]["value"]["currency"] == "JPY")
        .unwrap();
    assert_eq!(
        jpy["awards"][0]["value"]["amount"],
        serde_json::json!(3_500_000)
    );
    // Every release links to its receipt.
    for r in rels {
        let docs = r["awards"][0]["documents"].as_array().unwrap();
        let receipt = docs
            .iter()
            .find(|d| d["documentType"] == "x_chanceryReceipt");
        let url = receipt
            .and_then(|d| d["url"].as_str())
            .unwrap_or_else(|| panic!("no receipt in {r}"));
        assert!(
            url.starts_with("http://explorer.test/v1/receipts/"),
            "{url}"
        );
        assert_eq!(url.len(), "http://explorer.test/v1/receipts/".len() + 64);
    }
    // Supplier parties carry their credit code.
    let a1 = &rels[0];
    let sup = a1["parties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == support::SUPPLIER_NAME)
        .unwrap();
    assert_eq!(sup["identifier"]["id"], support::SUPPLIER_CODE);
    assert_eq!(sup["roles"][0], "supplier");
}

#[tokio::test]
async fn release_pages_filters_and_cursors() {
    let app = app();
    let v = validator("release-package-schema-1.1.5.json");
    // Pages of 3: 3 + 3 + 2, each valid, next links chained, no release twice.
    let mut uri = "/ocds/releases?limit=3".to_string();
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let (s, pkg) = get(&app, &uri).await;
        assert_eq!(s, 200, "{pkg}");
        assert_valid(&v, &pkg, "release package page");
        for r in pkg["releases"].as_array().unwrap() {
            ids.push(r["id"].as_str().unwrap().to_string());
        }
        pages += 1;
        match pkg["links"]["next"].as_str() {
            Some(n) => uri = n.trim_start_matches("http://explorer.test").to_string(),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(ids.len(), 8);
    let mut dedup = ids.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 8, "{ids:?}");
    // Purchaser filter: moe has one award and its cancellation.
    let (_, pkg) = get(&app, "/ocds/releases?purchaser=moe").await;
    assert_valid(&v, &pkg, "filtered package");
    let rels = pkg["releases"].as_array().unwrap();
    assert_eq!(rels.len(), 2);
    assert!(rels.iter().all(|r| r["buyer"]["id"] == "moe"));
    // Date filter: nothing before the fixture's genesis time (2026-09-21).
    let (_, pkg) = get(&app, "/ocds/releases?to=2020-01-01").await;
    assert_eq!(pkg["releases"].as_array().unwrap().len(), 0);
    let (_, pkg) = get(&app, "/ocds/releases?from=2020-01-01").await;
    assert_eq!(pkg["releases"].as_array().unwrap().len(), 8);
    // Bad input is a 400 naming what was expected.
    let (s, e) = get(&app, "/ocds/releases?from=yesterday").await;
    assert_eq!(s, 400);
    assert!(e["message"].as_str().unwrap().contains("YYYY-MM-DD"), "{e}");
    let (s, _) = get(&app, "/ocds/releases?cursor=zz").await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn record_packages_validate_with_compiled_releases() {
    let app = app();
    let v = validator("record-package-schema-1.1.5.json");
    let (s, pkg) = get(&app, &format!("/ocds/records/{}", support::OCID_A)).await;
    assert_eq!(s, 200, "{pkg}");
    assert_valid(&v, &pkg, "record package A");
    let rec = &pkg["records"][0];
    assert_eq!(rec["ocid"], support::OCID_A);
    // Two awards, three amendments, oldest first.
    let rels = rec["releases"].as_array().unwrap();
    let tags: Vec<&str> = rels.iter().map(|r| r["tag"][0].as_str().unwrap()).collect();
    assert_eq!(
        tags,
        [
            "award",
            "award",
            "awardUpdate",
            "awardUpdate",
            "awardUpdate"
        ]
    );
    // The second amendment of award 2 says which release it amends.
    assert_eq!(
        rels[4]["awards"][0]["amendments"][0]["amendsReleaseID"],
        rels[3]["id"],
    );
    let c = &rec["compiledRelease"];
    assert_eq!(c["tag"][0], "compiled");
    let awards = c["awards"].as_array().unwrap();
    assert_eq!(awards.len(), 2);
    let a1 = awards.iter().find(|a| a["id"] == "1").unwrap();
    let a2 = awards.iter().find(|a| a["id"] == "2").unwrap();
    assert_eq!(a1["value"]["amount"], serde_json::json!(110000));
    assert_eq!(a1["value"]["currency"], "CNY");
    assert_eq!(a1["amendments"].as_array().unwrap().len(), 1);
    assert_eq!(a2["status"], "active");
    assert_eq!(a2["value"]["amount"], serde_json::json!(21500.5));
    assert_eq!(a2["suppliers"].as_array().unwrap().len(), 2);
    assert_eq!(a2["amendments"].as_array().unwrap().len(), 2);
    assert_eq!(a2["items"][0]["classification"]["scheme"], "CPV");

    let (s, pkg) = get(&app, &format!("/ocds/records/{}", support::OCID_B)).await;
    assert_eq!(s, 200);
    assert_valid(&v, &pkg, "record package B");
    let c = &pkg["records"][0]["compiledRelease"];
    assert_eq!(c["awards"][0]["status"], "cancelled");
    assert_eq!(c["awards"][0]["value"]["currency"], "JPY");
    assert_eq!(
        c["awards"][0]["amendments"][0]["rationale"],
        "供应商资格不符"
    );

    let (s, e) = get(&app, "/ocds/records/ocds-nothing-here").await;
    assert_eq!(s, 404, "{e}");
}

#[test]
fn the_validator_rejects_a_broken_release() {
    // A release without its required `ocid` and with a bad tag must fail: the check can fail.
    let v = validator("release-package-schema-1.1.5.json");
    let bad = serde_json::json!({
        "uri": "http://x.test/ocds/releases", "version": "1.1",
        "publishedDate": "2026-11-27T00:00:00Z", "publisher": {"name": "x"},
        "releases": [{"id": "1", "date": "2026-11-27T00:00:00Z", "tag": ["bogus"], "initiationType": "tender"}]
    });
    assert!(!v.is_valid(&bad));
    let example = load("award-example.json");
    assert_valid(&v, &example, "the official award example");
}

/// The whole process (issue 22): every stage is a release of its own tag, the package and
/// the releases validate against the official schemas, the compiled release follows the
/// process to its final payment, and the limit-standard flags are in the export.
#[tokio::test]
async fn a_process_from_tender_to_final_payment_exports_every_stage_and_validates() {
    let w = support::process_world();
    let app = chancery_explorer::router(w.handle());
    let v = validator("record-package-schema-1.1.5.json");
    // Each stage's releases alone first: the record package's `oneOf` hides which rule
    // a release breaks.
    let rv = validator("release-package-schema-1.1.5.json");
    let (s, pkg) = get(&app, "/ocds/releases").await;
    assert_eq!(s, 200, "{pkg}");
    assert_valid(&rv, &pkg, "release package of every stage");
    let (s, pkg) = get(&app, &format!("/ocds/records/{}", support::OCID_FULL)).await;
    assert_eq!(s, 200, "{pkg}");
    assert_valid(&v, &pkg, "record package of the whole process");
    let rec = &pkg["records"][0];
    let rels = rec["releases"].as_array().unwrap();
    let tags: Vec<&str> = rels.iter().map(|r| r["tag"][0].as_str().unwrap()).collect();
    assert_eq!(
        tags,
        [
            "tender",
            "tenderUpdate",
            "award",
            "contract",
            "implementation",
            "implementation",
            "contractAmendment",
            "implementation"
        ]
    );
    // Every stage's release links its receipt.
    let text = serde_json::to_string(rels).unwrap();
    assert_eq!(text.matches("x_chanceryReceipt").count(), rels.len());
    // The amendment says which release of the contract it amends.
    assert_eq!(
        rels[6]["contracts"][0]["amendments"][0]["amendsReleaseID"],
        rels[5]["id"]
    );

    let c = &rec["compiledRelease"];
    assert_eq!(c["tender"]["status"], "complete");
    assert_eq!(c["tender"]["numberOfTenderers"], 3);
    assert_eq!(c["tender"]["tenderers"][0]["name"], support::SUPPLIER_NAME);
    assert_eq!(c["tender"]["value"]["amount"], serde_json::json!(5_000_000));
    let k = &c["contracts"][0];
    assert_eq!(k["awardID"], "1");
    assert_eq!(
        k["status"], "terminated",
        "a final payment closes the contract"
    );
    assert_eq!(k["value"]["amount"], serde_json::json!(4_900_000));
    let imp = &k["implementation"];
    assert_eq!(imp["transactions"].as_array().unwrap().len(), 2);
    assert_eq!(imp["milestones"].as_array().unwrap().len(), 1);
    let paid: f64 = imp["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["value"]["amount"].as_f64().unwrap())
        .sum();
    assert_eq!(paid, 4_900_000.0);
    // A selective tender above the open-tendering limit: flagged on the tender, the award
    // and the contract, with the rule it broke, and said in the rationale.
    for flagged in [&c["tender"], &c["awards"][0], k] {
        let f = &flagged["x_chanceryCompliance"][0];
        assert_eq!(f["rule"], "open_tender_required", "{flagged}");
        assert_eq!(f["breach"], true);
        assert_eq!(f["limit"]["amount"], serde_json::json!(4_000_000));
    }
    assert!(c["tender"]["procurementMethodRationale"]
        .as_str()
        .unwrap()
        .contains("open_tender_required"));

    // The release package carries every stage of both processes, and validates.
    let v = validator("release-package-schema-1.1.5.json");
    let (s, pkg) = get(&app, "/ocds/releases").await;
    assert_eq!(s, 200, "{pkg}");
    assert_valid(&v, &pkg, "release package of every stage");
    let tags: Vec<&str> = pkg["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tag"][0].as_str().unwrap())
        .collect();
    assert_eq!(tags.len(), 11, "{tags:?}");
    assert!(tags.contains(&"contractTermination"));
    let (s, pkg) = get(&app, "/ocds/records/ocds-213czf-2026-0101").await;
    assert_eq!(s, 200);
    let v = validator("record-package-schema-1.1.5.json");
    assert_valid(&v, &pkg, "record package of a terminated contract");
    let k = &pkg["records"][0]["compiledRelease"]["contracts"][0];
    assert_eq!(k["status"], "terminated");
    assert_eq!(k["amendments"][0]["rationale"], "supplier defaulted");
}
