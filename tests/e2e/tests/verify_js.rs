//! The in-browser receipt verifier (node/explorer/assets/verify/verify.js) against the
//! kernel on a live testnet's receipts: a 4-validator ed25519-blake3 testnet runs two demo
//! rounds and one transaction the ledger rejects; receipts of at least five record kinds
//! and of the rejected transaction are fetched from `GET /v1/receipts/{tx}`, the genesis
//! from the node's `GET /genesis.json`; each receipt untouched and tampered — every byte of
//! its entry and its checkpoint, every 7th byte of each proof hash (a sample: each proof
//! hash is hashed the same way wherever the byte is, and the fast test,
//! node/explorer/tests/verify_js.rs, changes every byte of its proofs), every byte of any
//! epoch link, the index ±1, format, hex and pin changes — gets the same verdict, and for
//! an invalid one the same failing step, from the kernel (`receipt::verify`, as
//! `chancery verify` runs it) and from verify.js (`node verify-cli.js --batch`, one process).
//! Without `node` on PATH the test prints `SKIP: node not found` and passes.

mod common;
#[path = "../../../node/explorer/tests/jsdiff/mod.rs"]
mod jsdiff;

use chancery_core::receipt::Receipt;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// Receipts of at least this many record kinds are checked.
const KINDS_MIN: usize = 5;

#[test]
fn live_receipts_and_every_tampering_get_the_kernels_verdict() {
    if jsdiff::node_or_skip("live_receipts_and_every_tampering_get_the_kernels_verdict").is_none() {
        return;
    }
    let started = Instant::now();
    let (net, apis) = start_testnet(12);
    let api = &apis[0];
    let sent = demo(&net, 0, 2);
    // The demo's transactions committed first, so that the member key's next sequence
    // number, which `submit` reads from the node, is not one a pending one holds.
    let deadline = Instant::now() + Duration::from_secs(60);
    wait_log_size(api, sent, deadline);

    // One transaction the ledger rejects: revoking a grant that does not exist.
    let m = manifest(net.dir.path());
    let key = net.dir.path().join(&m.member_keys[0].key);
    let out = Command::new(bin("chancery"))
        .args([
            "submit",
            "revoke_grant",
            "grant_id=no-such-grant",
            "reason=e2e rejection",
        ])
        .arg("--key")
        .arg(&key)
        .args(["--node", api, "--wait", "--json"])
        .output()
        .expect("run chancery submit");
    // `--json` prints the answer (on stderr after "invalid: " when rejected).
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = text
        .find('{')
        .zip(text.rfind('}'))
        .and_then(|(a, b)| serde_json::from_str(&text[a..=b]).ok())
        .unwrap_or_else(|| panic!("a JSON answer from chancery submit:\n{text}"));
    assert_eq!(answer["status"], "rejected", "{text}");
    let rejected = answer["hash"].as_str().expect("the hash").to_string();

    wait_log_size(api, sent + 1, deadline);
    wait_indexed(api, deadline);

    // The first transaction of each kind, and the rejected one.
    let c = client(api);
    let tip = tip_height(api);
    let mut picked: Vec<(String, String)> = Vec::new();
    for h in 1..=tip {
        let block = c.block(h).unwrap_or_else(|e| panic!("{e}"));
        for tx in block.transactions {
            if picked.iter().any(|(_, h)| *h == tx.hash) {
                // A transaction in the log twice (seen with the rejected one: a rejected
                // transaction takes no sequence number, so another leader may include it
                // again) has one receipt by its hash: it is checked once.
                println!("tx {} ({}) also at height {h}", tx.hash, tx.record_kind);
            } else if tx.hash == rejected {
                picked.push((format!("rejected {}", tx.record_kind), tx.hash));
            } else if !picked.iter().any(|(k, _)| *k == tx.record_kind) {
                picked.push((tx.record_kind, tx.hash));
            }
        }
    }
    assert!(
        picked.iter().any(|(k, _)| k.starts_with("rejected")),
        "the rejected transaction {rejected} is in a block"
    );
    assert!(
        picked.len() > KINDS_MIN,
        "receipts of at least {KINDS_MIN} kinds and the rejected transaction: {picked:?}"
    );

    let genesis = c.get_raw("/genesis.json").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(genesis.status, 200, "GET /genesis.json");
    let genesis = String::from_utf8(genesis.body).expect("UTF-8 genesis");
    let chain = jsdiff::load_genesis(&genesis)
        .expect("the node's genesis loads")
        .chain_id()
        .to_hex();

    let mut cases = Vec::new();
    for (kind, hash) in &picked {
        let answer = c
            .get_raw(&format!("/v1/receipts/{hash}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(answer.status, 200, "receipt of {hash}");
        let r: Receipt = serde_json::from_slice(&answer.body).expect("a receipt");
        cases.extend(jsdiff::cases_of(
            &format!("{kind} {hash}"),
            &r,
            0,
            &chain,
            7,
        ));
    }
    let report = jsdiff::differential(&[genesis], &cases);
    jsdiff::assert_report(
        &format!(
            "{} live receipts ({})",
            picked.len(),
            picked
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        &report,
    );
    assert_eq!(
        report.valid,
        2 * picked.len(),
        "each untouched receipt is valid, with and without the pins"
    );
    println!("verify_js e2e took {:?}", started.elapsed());
}
