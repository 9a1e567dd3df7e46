//! The efficiency dashboards on a live testnet (issue 22): after demo rounds that run whole
//! procurements (one breaking the open-tendering standard), the dashboard's figures agree
//! with the API's record lists and with the OCDS export.

mod common;
use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

fn json(c: &chancery_client::Client, path: &str) -> Value {
    let b = c.get_bytes(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_slice(&b).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn dashboard_figures_agree_with_the_record_lists_and_the_ocds_export() {
    let (net, apis) = start_testnet(0);
    // Rounds 3 and 4: round 4's procurements are selective tenders above the limit.
    let txs = demo(&net, 3, 2);
    let api = apis[4].clone(); // the observer
    wait_log_size(&api, txs, Instant::now() + Duration::from_secs(120));
    wait_indexed(&api, Instant::now() + Duration::from_secs(60));
    let c = client(&api);
    // The aggregates are as of the whole log (the page reads new entries first).
    let deadline = Instant::now() + Duration::from_secs(60);
    let stats = loop {
        let v = json(&c, "/v1/stats/procurement");
        if v["as_of_log_size"].as_u64() >= Some(txs) {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "stats stuck at {}",
            v["as_of_log_size"]
        );
        std::thread::sleep(Duration::from_millis(200)); // polling another process
    };
    let table = |t: &str| stats["tables"][t]["rows"].as_array().unwrap().clone();

    // Awards: the dashboard's count is the API's list.
    let mut awards = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/awards?limit=100&cursor={c}"),
            None => "/v1/awards?limit=100".to_string(),
        };
        let page = json(&c, &path);
        awards += page["items"].as_array().unwrap().len();
        match page["next"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => break,
        }
    }
    let share = &table("open_share")[0];
    assert_eq!(share["awards"].as_u64(), Some(awards as u64), "{share}");
    assert_eq!(
        awards as u64,
        2 * AGENCIES as u64,
        "one award per agency and round"
    );
    // Half of them (round 3) were open tenders.
    assert_eq!(share["count_share_permille"], 500);

    // Payments: what the dashboard says was paid is what the OCDS export's transactions
    // add up to.
    let paid: u64 = table("by_agency")
        .iter()
        .map(|r| r["paid"]["minor"].as_u64().unwrap())
        .sum();
    let releases = json(&c, "/ocds/releases?limit=1000");
    let mut exported = 0f64;
    for r in releases["releases"].as_array().unwrap() {
        for k in r["contracts"].as_array().into_iter().flatten() {
            for t in k["implementation"]["transactions"]
                .as_array()
                .into_iter()
                .flatten()
            {
                exported += t["value"]["amount"].as_f64().unwrap();
            }
        }
    }
    assert!(paid > 0);
    assert_eq!((exported * 100.0).round() as u64, paid);

    // Flags: round 4's breaches, on tender, award and contract of each agency, as the
    // process pages of the API say.
    let flagged: u64 = table("flags")
        .iter()
        .filter(|r| r["rule"] == "open_tender_required")
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert_eq!(flagged, 3 * AGENCIES as u64);
    let m = manifest(net.dir.path());
    let agency = &m.member_keys[0].agency;
    let p = json(&c, &format!("/v1/processes/ocds-chancery-{agency}-4"));
    assert_eq!(p["compliance"].as_array().unwrap().len(), 3, "{p}");
    assert_eq!(p["contracts"][0]["status"], "complete");
}
