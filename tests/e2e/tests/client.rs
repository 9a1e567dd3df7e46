//! End to end with the `chancery` client on a running testnet: one record of every kind
//! submitted and finalized, every receipt verified offline and every tampered receipt
//! refused; `chancery audit` passes on the clean ledger (from a node and from an export
//! file) and `chancery watch` sees one history; then a stopped node's stored data is
//! altered on disk and `chancery audit` names the height and what is wrong. All of it in
//! both crypto suites; on the `sm2-sm3` chain OpenSSL also checks the running network's
//! transaction and vote signatures and its transaction and block hashes (issue 21).

mod common;

use chancery_client::types::ReceiptDto;
use chancery_core::cert::Certificate;
use chancery_core::codec;
use chancery_core::suite::Suite;
use chancery_storage::{checksum, Column, RawAccess, RocksStore, Store};
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn chancery(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin("chancery"))
        .args(args)
        .output()
        .expect("run chancery");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = chancery(args);
    assert_eq!(code, 0, "chancery {args:?} failed:\n{out}\n{err}");
    out
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

struct Ctx {
    api: String,
    genesis: PathBuf,
    dir: PathBuf,
}

/// What `chancery submit --json` prints (the fields this test reads).
#[derive(Debug, serde::Deserialize)]
struct Submitted {
    hash: String,
    kind: String,
    status: String,
    receipt: String,
}

impl Ctx {
    /// `chancery submit KIND FIELDS... --key K --wait --json`: the finalized result.
    fn submit(&self, key: &Path, kind: &str, fields: &[&str], file: Option<&Path>) -> Submitted {
        let mut args = vec!["submit", kind];
        args.extend_from_slice(fields);
        args.extend_from_slice(&["--key", s(key), "--node", &self.api, "--wait", "--json"]);
        args.extend_from_slice(&["--timeout-s", "60"]);
        if let Some(f) = file {
            args.extend_from_slice(&["--file", s(f)]);
        }
        let out = ok(&args);
        let v: Submitted = serde_json::from_str(out.trim()).expect("submit --json output");
        assert_eq!(v.status, "finalized", "{kind}: {v:?}");
        assert_eq!(v.kind, kind);
        assert!(
            v.receipt.ends_with(&format!("/v1/receipts/{}", v.hash)),
            "{v:?}"
        );
        v
    }
}

fn flip_hex(s: &str, at: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[at] = if b[at] == b'0' { b'1' } else { b'0' };
    String::from_utf8(b).unwrap()
}

#[test]
fn client_submits_every_kind_verifies_receipts_and_audits() {
    client_flow(Suite::Ed25519Blake3, 0);
}

#[test]
fn an_sm2_sm3_chain_does_the_same_and_openssl_checks_its_signatures_and_hashes() {
    client_flow(Suite::Sm2Sm3, 1);
}

/// Whether an `openssl` with SM2 and SM3 is on PATH (tests/run installs it); `Err` says
/// why not.
fn openssl_with_sm2() -> Result<(), String> {
    let out = Command::new("openssl")
        .args(["list", "-public-key-algorithms"])
        .output()
        .map_err(|e| format!("no openssl on PATH ({e})"))?;
    if !String::from_utf8_lossy(&out.stdout).contains("SM2") {
        return Err("openssl lists no SM2 public-key algorithm".into());
    }
    Ok(())
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn unhex(v: &serde_json::Value, field: &str) -> Vec<u8> {
    hex::decode(
        v[field]
            .as_str()
            .unwrap_or_else(|| panic!("no `{field}` in {v}")),
    )
    .unwrap_or_else(|e| panic!("`{field}` is not hex: {e}"))
}

/// OpenSSL's `SM3(bytes)`, hex.
fn openssl_sm3(dir: &Path, bytes: &[u8]) -> String {
    std::fs::write(dir.join("preimage.bin"), bytes).unwrap();
    let out = openssl(dir, &["dgst", "-sm3", "-r", "preimage.bin"]);
    out.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// OpenSSL verifies the SM2 signature `sig` (an `inspect` JSON object with the signer's
/// SPKI and the DER signature) over `signed` with the default distinguishing ID; and
/// refuses it over altered bytes.
fn openssl_verifies(dir: &Path, sig: &serde_json::Value, signed: &[u8]) {
    assert_eq!(sig["scheme"], "sm2", "{sig}");
    assert_eq!(sig["dist_id"], "1234567812345678", "{sig}");
    // The key as OpenSSL reads it: its DER SubjectPublicKeyInfo, turned into PEM by OpenSSL.
    std::fs::write(dir.join("signer.der"), unhex(sig, "signer_spki_der")).unwrap();
    openssl(
        dir,
        &[
            "pkey",
            "-pubin",
            "-inform",
            "DER",
            "-in",
            "signer.der",
            "-out",
            "signer.pem",
        ],
    );
    std::fs::write(dir.join("signature.der"), unhex(sig, "signature_der")).unwrap();
    let verify = |msg: &[u8]| {
        std::fs::write(dir.join("signed.bin"), msg).unwrap();
        Command::new("openssl")
            .args([
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "signer.pem",
                "-rawin",
                "-digest",
                "sm3",
                "-in",
                "signed.bin",
                "-sigfile",
                "signature.der",
                "-pkeyopt",
                "distid:1234567812345678",
            ])
            .current_dir(dir)
            .output()
            .expect("run openssl")
    };
    let out = verify(signed);
    assert!(
        out.status.success()
            && String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully"),
        "openssl refused a signature of the running network: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut altered = signed.to_vec();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    assert!(
        !verify(&altered).status.success(),
        "openssl accepted the signature over altered bytes"
    );
}

/// On an sm2-sm3 chain: OpenSSL recomputes the transactions' ids and verifies their
/// signatures, and for each of a few blocks recomputes the block hash and verifies every
/// vote of its finalization certificate, all as `chancery inspect` shows them from the
/// running network.
fn openssl_checks_the_network(ctx: &Ctx, hashes: &[String]) {
    if let Err(why) = openssl_with_sm2() {
        // tests/run installs openssl; a machine without it says so and checks the rest.
        println!("SKIPPED: the OpenSSL checks of the sm2-sm3 network: {why}");
        return;
    }
    let work = ctx.dir.join("openssl");
    std::fs::create_dir_all(&work).unwrap();
    let mut heights = std::collections::BTreeSet::new();
    for h in hashes {
        let v: serde_json::Value =
            serde_json::from_str(&ok(&["inspect", "tx", h, "--node", &ctx.api, "--json"])).unwrap();
        assert_eq!(openssl_sm3(&work, &unhex(&v, "hash_preimage")), *h, "{v}");
        openssl_verifies(&work, &v, &unhex(&v, "signed_bytes"));
        heights.insert(client(&ctx.api).tx(h).unwrap().height.expect("finalized"));
    }
    let mut votes = 0;
    for height in heights.iter().take(3) {
        let height = height.to_string();
        let c: serde_json::Value = serde_json::from_str(&ok(&[
            "inspect",
            "cert",
            &height,
            "--node",
            &ctx.api,
            "--genesis",
            s(&ctx.genesis),
            "--json",
        ]))
        .unwrap();
        assert_eq!(
            openssl_sm3(&work, &unhex(&c, "block_hash_preimage")),
            c["block"].as_str().unwrap(),
            "{c}"
        );
        let signed = unhex(&c, "signed_bytes");
        let list = c["votes"].as_array().expect("votes");
        assert!(list.len() >= 3, "a quorum of 4 validators signs: {c}");
        for vote in list {
            assert_eq!(vote["signature_valid"], true, "{vote}");
            openssl_verifies(&work, vote, &signed);
            votes += 1;
        }
    }
    assert!(votes >= 3, "no votes were checked");
}

fn client_flow(suite: Suite, slot: u16) {
    let (net, apis) = start_testnet_with(slot, &["--crypto", suite.name()]);
    let dir = net.dir.path().to_path_buf();
    let manifest = manifest(&dir);
    let ctx = Ctx {
        api: apis[0].clone(),
        genesis: manifest.genesis.clone(),
        dir: dir.clone(),
    };
    let keys = &manifest.member_keys;
    let (a0, k0) = (keys[0].agency.clone(), keys[0].key.clone());
    let (a1, k1) = (keys[1].agency.clone(), keys[1].key.clone());

    // keys new / show.
    let newkey = dir.join("new-member.key");
    let public = ok(&["keys", "new", "--out", s(&newkey), "--crypto", suite.name()])
        .trim()
        .to_string();
    assert_eq!(public.len(), 2 * chancery_core::PublicKey::len_of(suite));
    assert_eq!(ok(&["keys", "show", s(&newkey)]).trim(), public);
    let (code, _, err) = chancery(&["keys", "new", "--out", s(&newkey), "--crypto", suite.name()]);
    assert_eq!(code, 1, "a key file is never overwritten");
    assert!(err.contains("already exists"), "{err}");

    // A missing field is named.
    let (code, _, err) = chancery(&[
        "submit",
        "revoke_grant",
        "grant_id=x",
        "--key",
        s(&k0),
        "--node",
        &ctx.api,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("missing field `reason`"), "{err}");

    let doc = "9f0c7f1e6b2a4d3c8e5f7a9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d";
    let asset = "e2e-asset-1";
    let ocid = "ocds-e2e-0001";
    let mut hashes = Vec::new();
    let mut record = |v: Submitted| hashes.push(v.hash);

    record(ctx.submit(
        &k0,
        "register_asset",
        &[
            &format!("asset_id={asset}"),
            "category=A02010104",
            "name=台式计算机",
            "spec_model=M437",
            "quantity:=3",
            "unit=台",
            "acquisition_method=purchase",
            "acquisition_date=2026-11-27",
            r#"original_value:={"minor":1680000,"currency":"CNY"}"#,
            "funding_source=fiscal_appropriation",
            &format!("custodian={a0}"),
            "location=Building 2, room 301",
            "documents:=[]",
        ],
        None,
    ));
    // award_procurement from a JSON file.
    let award = dir.join("award.json");
    std::fs::write(
        &award,
        serde_json::json!({
            "ocid": ocid, "award_id": "1", "project_number": "E2E-0001",
            "title": "办公设备采购", "description": "", "purchaser": a0,
            "method": "open", "method_details": "公开招标",
            "suppliers": [{"name": "北京华信科技有限公司", "credit_code": "911101080000000001"}],
            "value": {"minor": 11200000, "currency": "CNY"}, "award_date": "2026-11-27",
            "status": "active", "items": [], "documents": []
        })
        .to_string(),
    )
    .unwrap();
    record(ctx.submit(&k0, "award_procurement", &[], Some(&award)));
    // amend_award from a TOML file, with a field overridden on the command line.
    let amend = dir.join("amend.toml");
    std::fs::write(
        &amend,
        format!(
            "ocid = \"{ocid}\"\naward_id = \"1\"\nrationale = \"price\"\ndate = \"2026-11-27\"\ndocuments = []\n\n[value]\nminor = 11000000\ncurrency = \"CNY\"\n"
        ),
    )
    .unwrap();
    record(ctx.submit(
        &k0,
        "amend_award",
        &["rationale=合同金额调整"],
        Some(&amend),
    ));
    record(ctx.submit(
        &k0,
        "grant_data_access",
        &[
            "grant_id=e2e-grant-1",
            "dataset_id=e2e-dataset",
            &format!("grantor={a0}"),
            &format!("grantee={a1}"),
            r#"actions:=["read","use"]"#,
            "purpose=联合审批",
            "condition=conditional",
            "valid_from=2026-11-27",
            "valid_until=2027-12-31",
            r#"constraints:=[{"left_operand":"count","operator":"lteq","right_operand":"1000"}]"#,
        ],
        None,
    ));
    record(ctx.submit(
        &k0,
        "anchor_document",
        &[
            &format!("document.hash={doc}"),
            "document.kind=report",
            "document.title=年度资产报告",
            "document.url=",
            &format!(r#"supports:={{"asset":"{asset}"}}"#),
        ],
        None,
    ));
    record(ctx.submit(
        &k0,
        "revoke_grant",
        &["grant_id=e2e-grant-1", "reason=项目结束"],
        None,
    ));
    record(ctx.submit(
        &k0,
        "cancel_award",
        &[
            &format!("ocid={ocid}"),
            "award_id=1",
            "reason=撤销",
            "date=2026-11-28",
        ],
        None,
    ));
    record(ctx.submit(
        &k0,
        "transfer_asset",
        &[
            &format!("asset_id={asset}"),
            &format!("from={a0}"),
            &format!("to={a1}"),
            "transfer_kind=allocation",
            &format!("approval_document={doc}"),
            "effective_date=2026-11-28",
        ],
        None,
    ));
    record(ctx.submit(
        &k1,
        "dispose_asset",
        &[
            &format!("asset_id={asset}"),
            "method=sale",
            &format!("approval_document={doc}"),
            "date=2026-11-29",
            r#"proceeds:={"minor":50000,"currency":"CNY"}"#,
            "counterparty=张三",
        ],
        None,
    ));
    record(ctx.submit(
        &k0,
        "register_member",
        &[
            &format!("agency={a0}"),
            &format!("key={public}"),
            "name=档案员",
            r#"roles:=["archivist"]"#,
        ],
        None,
    ));
    record(ctx.submit(
        &k0,
        "revoke_member",
        &[
            &format!("agency={a0}"),
            &format!("key={public}"),
            "reason=调岗",
        ],
        None,
    ));
    assert_eq!(hashes.len(), 11, "one record of every kind");

    // Reads.
    let st: StatusDto =
        serde_json::from_str(&ok(&["get", "status", "--node", &ctx.api, "--json"])).unwrap();
    assert!(st.tip.height >= 1, "{st:?}");
    let tx = ok(&["get", "tx", &hashes[0], "--node", &ctx.api]);
    assert!(tx.contains("status: finalized"), "{tx}");

    // A transaction's signature material from the node: the signer, the exact signed
    // bytes and the signature, and the kernel's verdict (OpenSSL checks the same fields in
    // client/cli/tests/cli.rs).
    for h in &hashes {
        let v: serde_json::Value =
            serde_json::from_str(&ok(&["inspect", "tx", h, "--node", &ctx.api, "--json"])).unwrap();
        assert_eq!(v["tx_hash"], h.as_str(), "{v}");
        assert_eq!(v["signature_valid"], true, "{v}");
        let scheme = match suite {
            Suite::Ed25519Blake3 => "ed25519",
            Suite::Sm2Sm3 => "sm2",
        };
        assert_eq!(v["scheme"], scheme, "{v}");
        let signed = v["signed_bytes"].as_str().unwrap();
        assert!(
            signed.starts_with(
                &b"chancery/v1/sign/tx\0"
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ),
            "{v}"
        );
    }

    if suite == Suite::Sm2Sm3 {
        openssl_checks_the_network(&ctx, &hashes);
    }

    // The explorer serves the chain: its overview names the suite, a transaction's and a
    // block's pages render.
    let page = |path: &str| {
        let a = client(&ctx.api).get_raw(path).unwrap();
        assert_eq!(a.status, 200, "{path}");
        String::from_utf8(a.body).unwrap()
    };
    assert!(
        page("/").contains(suite.name()),
        "the overview names the suite"
    );
    assert!(page(&format!("/tx/{}", hashes[0])).contains(&hashes[0]));
    page("/blocks/1");

    // Receipts: fetch, verify offline, tamper.
    for (i, h) in hashes.iter().enumerate() {
        let text = ok(&["receipt", h, "--node", &ctx.api]);
        let path = ctx.dir.join(format!("receipt-{i}.json"));
        std::fs::write(&path, &text).unwrap();
        let out = ok(&["verify", s(&path), "--genesis", s(&ctx.genesis)]);
        assert!(
            out.starts_with("valid:") && out.contains(h.as_str()),
            "{out}"
        );
        let r: ReceiptDto = serde_json::from_str(&text).unwrap();
        let mut tampered = Vec::new();
        for at in [r.entry.len() / 2, r.entry.len() - 1] {
            let mut t = r.clone();
            t.entry = flip_hex(&r.entry, at);
            tampered.push(("entry", t));
        }
        if let Some(p0) = r.proof.first() {
            let mut t = r.clone();
            t.proof[0] = flip_hex(p0, 10);
            tampered.push(("proof[0]", t));
        }
        for at in [r.checkpoint.len() / 3, r.checkpoint.len() - 3] {
            let mut t = r.clone();
            t.checkpoint = flip_hex(&r.checkpoint, at);
            tampered.push(("checkpoint", t));
        }
        let mut t = r.clone();
        t.index += 1;
        tampered.push(("index", t));
        for (what, t) in tampered {
            let bad = ctx.dir.join(format!("receipt-{i}-bad.json"));
            std::fs::write(&bad, serde_json::to_string(&t).unwrap()).unwrap();
            let (code, out, err) = chancery(&["verify", s(&bad), "--genesis", s(&ctx.genesis)]);
            assert_eq!(code, 1, "tampered {what} of receipt {i} verified:\n{out}");
            assert!(err.starts_with("invalid:"), "{err}");
        }
    }

    // State proofs: the asset's and the grant's current state, verified offline from the
    // genesis (the state tree of the chain's suite); an altered byte is refused.
    for (i, path) in [
        format!("/v1/proofs/state/asset/{asset}"),
        "/v1/proofs/state/grant/e2e-grant-1".to_string(),
    ]
    .iter()
    .enumerate()
    {
        let answer = client(&ctx.api).get_raw(path).unwrap();
        assert_eq!(answer.status, 200, "{path}");
        let file = ctx.dir.join(format!("state-proof-{i}.json"));
        std::fs::write(&file, &answer.body).unwrap();
        let out = ok(&["verify", s(&file), "--genesis", s(&ctx.genesis)]);
        assert!(out.starts_with("valid: state key"), "{out}");
        let mut v: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        let cp = v["checkpoint"]["checkpoint"]
            .as_str()
            .or_else(|| v["checkpoint"].as_str())
            .expect("a checkpoint in the bundle")
            .to_string();
        let bad = flip_hex(&cp, cp.len() / 2);
        if v["checkpoint"].is_string() {
            v["checkpoint"] = serde_json::Value::String(bad);
        } else {
            v["checkpoint"]["checkpoint"] = serde_json::Value::String(bad);
        }
        std::fs::write(&file, v.to_string()).unwrap();
        let (code, out, _) = chancery(&["verify", s(&file), "--genesis", s(&ctx.genesis)]);
        assert_eq!(
            code, 1,
            "a state proof with an altered checkpoint verified: {out}"
        );
    }

    // Audit from a node and from an export file.
    let out = ok(&["audit", "--node", &ctx.api, "--genesis", s(&ctx.genesis)]);
    assert!(out.starts_with("audit passed:"), "{out}");
    let export = dir.join("blocks.export");
    ok(&["export", "blocks", "--node", &ctx.api, "--out", s(&export)]);
    let out = ok(&["audit", "--file", s(&export), "--genesis", s(&ctx.genesis)]);
    assert!(out.starts_with("audit passed:"), "{out}");

    // Watch: every node shows one history.
    let state = dir.join("watch.json");
    let mut args = vec![
        "watch",
        "--once",
        "--genesis",
        s(&ctx.genesis),
        "--state",
        s(&state),
    ];
    for a in &apis {
        args.extend_from_slice(&["--node", a]);
    }
    ok(&args);
    assert!(state.exists());

    // Alter a stopped node's data on disk: a signature byte of the certificate stored at
    // the height of the register_asset transaction (resealed, so the storage checksum
    // still passes: deliberate tampering, not bit rot).
    let tx0 = client(&ctx.api).tx(&hashes[0]).unwrap();
    let height = tx0.height.expect("a finalized transaction's height");
    let node = &manifest.nodes[4];
    let name = node.name.as_str();
    let data = node.data_dir.clone();
    testnet_cmd(&net, &["stop", name]);
    {
        let store = RocksStore::open(data.join("db")).expect("open the stopped node's database");
        let key = height.to_be_bytes();
        let v = store
            .get(Column::Certs, &key)
            .unwrap()
            .expect("stored certificate");
        let mut cert: Certificate = codec::decode_in(suite, &v).unwrap();
        cert.signatures[0].signature.0[7] ^= 0x01;
        let bad = codec::encode(&cert);
        store
            .put_raw(
                Column::Certs,
                &key,
                &checksum::seal(Column::Certs, &key, &bad),
            )
            .unwrap();
    }
    let expect = format!("height {height}: certificate");
    let serve_available = Command::new(bin("chancery-node"))
        .args(["serve", "--help"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if serve_available {
        // The stopped observer's API port (node 4 of this slot's range).
        let port = 10_000 + (std::process::id() % 1_000) as u16 * 20 + slot * 10 + 9;
        let addr = format!("127.0.0.1:{port}");
        let mut child = Command::new(bin("chancery-node"))
            .args([
                "serve",
                "--data",
                s(&data),
                "--genesis",
                s(&ctx.genesis),
                "--api",
                &addr,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chancery-node serve");
        let url = format!("http://{addr}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while client(&url).get_raw("/healthz").is_err() {
            assert!(
                Instant::now() < deadline,
                "chancery-node serve did not come up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let (code, out, err) = chancery(&["audit", "--node", &url, "--genesis", s(&ctx.genesis)]);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(code, 1, "audit passed on altered data:\n{out}");
        assert!(err.contains(&expect), "{err}");
        assert!(err.contains("signature of validator"), "{err}");
    } else {
        eprintln!("chancery-node has no `serve` subcommand: auditing the data directory instead");
    }
    let (code, out, err) = chancery(&["audit", "--data", s(&data), "--genesis", s(&ctx.genesis)]);
    assert_eq!(code, 1, "audit passed on altered data:\n{out}");
    assert!(
        err.contains(&expect) && err.contains("signature of validator"),
        "{err}"
    );

    // Alter the stored record itself: the asset's name in its log entry.
    {
        let store = RocksStore::open(data.join("db")).expect("open the stopped node's database");
        let index = tx0.index.expect("a finalized transaction's log index");
        let key = index.to_be_bytes();
        let v = store
            .get(Column::Log, &key)
            .unwrap()
            .expect("stored log entry");
        let mut e: chancery_core::block::LogEntry = codec::decode_in(suite, &v).unwrap();
        match &mut e.tx.body.record {
            chancery_core::record::Record::RegisterAsset(r) => r.name.push('X'),
            other => panic!("log entry {index} is not the asset registration: {other:?}"),
        }
        let bad = codec::encode(&e);
        store
            .put_raw(Column::Log, &key, &checksum::seal(Column::Log, &key, &bad))
            .unwrap();
    }
    let (code, out, err) = chancery(&["audit", "--data", s(&data), "--genesis", s(&ctx.genesis)]);
    assert_eq!(code, 1, "audit passed on an altered record:\n{out}");
    assert!(
        err.contains(&format!("height {height}: header.txs_hash")),
        "{err}"
    );
}
