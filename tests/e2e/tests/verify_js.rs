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
//! Then the state-proof bundles (`GET /v1/proofs/state/{asset|grant}/{id}`) of up to
//! three assets and three grants of the demo and of an absent asset and grant: each
//! untouched (in every form `chancery verify` accepts, with the right and a wrong pinned
//! chain) and tampered — every 7th byte of the proof's canonical bytes, every field of its
//! JSON form, every byte of one bundle's checkpoint and epoch links, the repeated height and
//! state root, shapes and spellings — gets the kernel's verdict (`verify_state_bundle`'s
//! steps with the kernel's functions, and `chancery verify` itself on each untouched bundle
//! and one tampering of each) from verify.js's `verifyStateProof`.
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
/// State-proof bundles of at most this many assets and this many grants are checked.
const STATE_BUNDLES_MAX: usize = 3;

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
    let report = jsdiff::differential(std::slice::from_ref(&genesis), &cases);
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

    // State-proof bundles (`GET /v1/proofs/state/{asset|grant}/{id}`): a few assets and
    // grants of the demo, and an absent one of each.
    let subjects = |kinds: &[&str]| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for h in 1..=tip {
            for tx in c.block(h).unwrap_or_else(|e| panic!("{e}")).transactions {
                if kinds.contains(&tx.record_kind.as_str()) && !out.contains(&tx.subject) {
                    out.push(tx.subject);
                }
            }
        }
        out
    };
    let mut assets = subjects(&["register_asset", "transfer_asset", "dispose_asset"]);
    let mut grants = subjects(&["grant_data_access", "revoke_grant"]);
    assert!(
        !assets.is_empty() && !grants.is_empty(),
        "the demo registers assets ({assets:?}) and grants ({grants:?})"
    );
    assets.truncate(STATE_BUNDLES_MAX);
    grants.truncate(STATE_BUNDLES_MAX);
    assets.push("no-such-asset".into());
    grants.push("no-such-grant".into());
    let mut bundles: Vec<(String, serde_json::Value)> = Vec::new();
    for (kind, ids) in [("asset", &assets), ("grant", &grants)] {
        for id in ids {
            let answer = c
                .get_raw(&format!("/v1/proofs/state/{kind}/{id}"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(answer.status, 200, "state proof of {kind} {id}");
            let b: serde_json::Value = serde_json::from_slice(&answer.body).expect("a bundle");
            bundles.push((format!("{kind} {id}"), b));
        }
    }
    let mut state_cases = Vec::new();
    for (i, (label, b)) in bundles.iter().enumerate() {
        let depth = jsdiff::state::Depth {
            proof_step: 7,
            checkpoint: i == 0,
        };
        state_cases.extend(jsdiff::state::state_cases_of(label, b, 0, &chain, depth));
    }
    let report = jsdiff::state::state_differential(std::slice::from_ref(&genesis), &state_cases);
    jsdiff::assert_report(
        &format!("{} live state-proof bundles", bundles.len()),
        &report,
    );
    // The kernel's verdicts here are `verify_state_bundle`'s steps repeated in jsdiff; the
    // CLI itself agrees on each untouched bundle and on a tampered one of each.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let genesis_file = dir.path().join("genesis.json");
    std::fs::write(&genesis_file, &genesis).expect("genesis written");
    let loaded = jsdiff::load_genesis(&genesis);
    for (label, b) in &bundles {
        let mut tampered = b.clone();
        tampered["proof_hex"] =
            jsdiff::flip_byte(b["proof_hex"].as_str().expect("proof_hex"), 9).into();
        for (what, doc) in [("untouched", b), ("tampered", &tampered)] {
            let file = dir.path().join("bundle.json");
            std::fs::write(&file, doc.to_string()).expect("bundle written");
            let out = Command::new(bin("chancery"))
                .arg("verify")
                .arg(&file)
                .arg("--genesis")
                .arg(&genesis_file)
                .output()
                .expect("run chancery verify");
            let kernel = jsdiff::state::kernel_state_verdict(doc, &loaded, None);
            assert_eq!(
                out.status.success(),
                kernel.is_ok(),
                "{label} {what}: chancery verify says {}{}, jsdiff {kernel:?}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(kernel.is_ok(), what == "untouched", "{label} {what}");
        }
    }
    println!("verify_js e2e took {:?}", started.elapsed());
}
