//! The explorer in a real browser: headless Chromium (Debian's `chromium`) renders the
//! pages of a running testnet after the demo workload. It opens the home page, searches
//! for a supplier (the search form's GET), opens an award found in the rendered result,
//! follows the page's language link to English, then downloads the receipt the page links
//! to and verifies it offline with the `chancery verify` binary against the genesis file
//! the page links to. The same receipt is then checked in the page itself (`/verify`,
//! issue 23): valid; pinned to a wrong chain id, invalid at the genesis step; the page
//! saved to disk checks the receipt file offline, and refuses the tampered file at the
//! inclusion step; an asset's and a grant's current state are checked in the page by their
//! state proofs. Screenshots of the main pages are taken (into `docs/screenshots/`
//! when `CHANCERY_SCREENSHOTS=1`, else into a temporary directory) and checked to be PNGs.
//!
//! Without a `chromium` binary the test prints SKIP and passes (tests/run installs it).

mod common;

use chancery_client::enc;
use common::{bin, demo, start_testnet, wait_indexed, wait_log_size};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

struct Browser {
    exe: PathBuf,
    profile: tempfile::TempDir,
}

impl Browser {
    fn cmd(&self, window: &str) -> Command {
        let mut c = Command::new(&self.exe);
        c.args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
            "--lang=zh-CN",
            &format!("--window-size={window}"),
            &format!("--user-data-dir={}", self.profile.path().display()),
        ]);
        c
    }

    /// The DOM after the browser loaded and rendered `url` (scripts run).
    fn dom(&self, url: &str) -> String {
        self.dom_with(url, &["--timeout=15000"])
    }

    /// The DOM once the page's scripts, their fetches included, are done: Chromium's
    /// virtual time waits for pending network requests, so no wall-clock wait is needed.
    fn dom_after_scripts(&self, url: &str) -> String {
        self.dom_with(url, &["--virtual-time-budget=30000"])
    }

    fn dom_with(&self, url: &str, flags: &[&str]) -> String {
        let out = self
            .cmd("1280,900")
            .args(flags)
            .args(["--dump-dom", url])
            .output()
            .expect("run chromium");
        let dom = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success() && dom.contains("</html>"),
            "chromium could not render {url}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dom
    }

    fn screenshot(&self, url: &str, file: &Path, window: &str) {
        let out = self
            .cmd(window)
            .args([
                // The verify page: virtual time, so that its fetches finish before the
                // picture. Not for the others: the home page's live event stream would
                // hold virtual time forever.
                if url.contains("/verify?") {
                    "--virtual-time-budget=30000"
                } else {
                    "--timeout=15000"
                },
                &format!("--screenshot={}", file.display()),
                url,
            ])
            .output()
            .expect("run chromium");
        let png = std::fs::read(file).unwrap_or_default();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
            "no screenshot of {url} ({} bytes):\n{}",
            png.len(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The first `href="..."` in `dom` that starts with `prefix`, HTML entities undone.
fn href(dom: &str, prefix: &str) -> Option<String> {
    let needle = format!("href=\"{prefix}");
    let i = dom.find(&needle)? + 6;
    let end = dom[i..].find('"')? + i;
    Some(dom[i..end].replace("&amp;", "&"))
}

/// The in-page verifier's verdict: `#verify-result`'s `data-status`, `data-failed` and
/// `data-ms` attributes.
fn verdict(dom: &str) -> (String, Option<String>, Option<f64>) {
    let i = dom
        .find("id=\"verify-result\"")
        .expect("a #verify-result element");
    let start = dom[..i].rfind('<').expect("tag start");
    let end = i + dom[i..].find('>').expect("tag end");
    let tag = &dom[start..end];
    let attr = |name: &str| -> Option<String> {
        let k = format!("{name}=\"");
        let a = tag.find(&k)? + k.len();
        Some(tag[a..a + tag[a..].find('"')?].to_string())
    };
    (
        attr("data-status").unwrap_or_default(),
        attr("data-failed"),
        attr("data-ms").and_then(|m| m.parse().ok()),
    )
}

/// The served `/verify` page saved to `file`, with a script that checks `receipt`
/// against `genesis` through the page's own entry point (the one its file inputs and drop
/// zone call): the page as a reader saves it, then used offline from `file://`.
fn saved_verify_page(page: &str, receipt: &str, genesis: &str, file: &Path) -> String {
    let lit = |s: &str| serde_json::to_string(s).unwrap().replace("</", "<\\/");
    let run = format!(
        "<script>chanceryVerifyPage.run({}, {}, {{}}, {{id: 'files', ok: true, detail: 'test files'}});</script></body>",
        lit(receipt),
        lit(genesis)
    );
    let saved = page.replacen("</body>", &run, 1);
    assert_ne!(saved, page, "the page has a body");
    std::fs::write(file, saved).expect("write the saved page");
    format!("file://{}", file.display())
}

/// GET `path` of the node at `api`, requiring 200: the body as served.
fn fetch(api: &str, path: &str) -> Vec<u8> {
    common::client(api)
        .get_bytes(path)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn explorer_in_headless_chromium() {
    let Some(exe) = chromium() else {
        println!(
            "SKIP explorer_in_headless_chromium: no chromium binary (apt-get install chromium)"
        );
        return;
    };
    let (net, apis) = start_testnet(0);
    let txs = demo(&net, 0, 2);
    let api = apis[4].clone(); // the observer serves the explorer too
    wait_log_size(&api, txs, Instant::now() + Duration::from_secs(120));
    wait_indexed(&api, Instant::now() + Duration::from_secs(60));
    let b = Browser {
        exe,
        profile: tempfile::tempdir().expect("profile dir"),
    };

    // Home: checkpoint, validators, counts.
    let home = b.dom(&format!("{api}/"));
    assert!(home.contains("lang=\"zh-Hans\""), "Chinese by default");
    for s in ["最新检查点", "验证人", "各类记录数量", "采购授标"] {
        assert!(home.contains(s), "home page lacks {s}");
    }

    // Search a supplier by name, as the search form does (GET /search?q=...).
    let supplier = "北京华信科技有限公司";
    let found = b.dom(&format!("{api}/search?q={}", enc(supplier)));
    assert!(found.contains(supplier), "search result names the supplier");
    let award_href = href(&found, "/award?ocid=").expect("an award link in the result");

    // Open the award.
    let award = b.dom(&format!("{api}{award_href}"));
    assert!(
        award.contains(supplier) && award.contains("合同金额调整"),
        "award with its amendment"
    );
    assert!(award.contains("chancery verify receipt-") && award.contains("--genesis genesis.json"));

    // Switch to English with the page's own link.
    let en_href = href(&award, "/award?")
        .filter(|h| h.contains("lang=en"))
        .or_else(|| {
            let i = award.find("hreflang=\"en\"")?;
            let start = award[..i].rfind("href=\"")? + 6;
            Some(award[start..].split('"').next()?.replace("&amp;", "&"))
        });
    let en_href = en_href.expect("a link to the English page");
    let award_en = b.dom(&format!("{api}{en_href}"));
    assert!(award_en.contains("<html lang=\"en\">") && award_en.contains("Check it yourself"));
    assert!(award_en.contains("Download the receipt"));

    // Download the receipt and the genesis file the page links to; verify offline.
    let receipt_href = href(&award_en, "/v1/receipts/").expect("receipt link");
    let dir = tempfile::tempdir().expect("temp dir");
    let receipt = dir.path().join("receipt.json");
    let genesis = dir.path().join("genesis.json");
    let receipt_text = String::from_utf8(fetch(&api, &receipt_href)).expect("utf-8 receipt");
    let genesis_text = String::from_utf8(fetch(&api, "/genesis.json")).expect("utf-8 genesis");
    std::fs::write(&receipt, &receipt_text).expect("write receipt");
    std::fs::write(&genesis, &genesis_text).expect("write genesis");
    let out = Command::new(bin("chancery"))
        .arg("verify")
        .arg(&receipt)
        .arg("--genesis")
        .arg(&genesis)
        .output()
        .expect("run chancery verify");
    assert!(
        out.status.success(),
        "chancery verify refused the explorer's receipt:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The same file with one byte changed must fail: the check is real.
    let mut bad = std::fs::read_to_string(&receipt).expect("receipt");
    let at = bad.find("\"index\":").expect("index field") + 8;
    let digit = bad[at..].trim_start().chars().next().expect("digit");
    let pos = at + bad[at..].find(digit).expect("digit position");
    bad.replace_range(pos..pos + 1, if digit == '9' { "8" } else { "9" });
    std::fs::write(&receipt, bad).expect("write");
    let out = Command::new(bin("chancery"))
        .arg("verify")
        .arg(&receipt)
        .arg("--genesis")
        .arg(&genesis)
        .output()
        .expect("run chancery verify");
    assert!(!out.status.success(), "a tampered receipt verified");
    let tampered_text = std::fs::read_to_string(&receipt).expect("tampered receipt");

    // The same check in the browser, one click from the award page (issue 23).
    let verify_href = href(&award_en, "/verify?tx=").expect("a link to verify in the browser");
    let page = b.dom_after_scripts(&format!("{api}{verify_href}"));
    // (data-ms is not read here: under virtual time the page's clock stands still;
    // node/explorer/assets/verify/bench-browser.js measures the time in Chromium.)
    let (status, failed, _) = verdict(&page);
    assert_eq!(
        status, "valid",
        "in-page verdict on the award's receipt:\n{page}"
    );
    assert_eq!(failed, None);
    for step in ["format", "genesis", "entry", "checkpoint", "inclusion"] {
        assert!(
            page.contains(&format!("data-step=\"{step}\" data-ok=\"true\"")),
            "step {step} shown as passed:\n{page}"
        );
    }
    // Pinned to another chain id: invalid, at the genesis step.
    let pinned = b.dom_after_scripts(&format!("{api}{verify_href}&chain={}", "ab".repeat(32)));
    assert_eq!(
        verdict(&pinned),
        (
            "invalid".to_string(),
            Some("genesis".to_string()),
            verdict(&pinned).2
        ),
        "{pinned}"
    );
    // Pinned to the right one (the id the page says it trusted): valid.
    let chain_id = common::status(&api).chain_id;
    let right = b.dom_after_scripts(&format!("{api}{verify_href}&chain={chain_id}"));
    assert_eq!(verdict(&right).0, "valid", "{right}");
    // The page saved to disk, offline, with the receipt file and then the tampered one.
    let served = String::from_utf8(fetch(&api, "/verify?lang=en")).expect("utf-8 page");
    let good = saved_verify_page(
        &served,
        &receipt_text,
        &genesis_text,
        &dir.path().join("good.html"),
    );
    assert_eq!(verdict(&b.dom_after_scripts(&good)).0, "valid");
    let bad = saved_verify_page(
        &served,
        &tampered_text,
        &genesis_text,
        &dir.path().join("bad.html"),
    );
    let dom = b.dom_after_scripts(&bad);
    assert_eq!(
        (verdict(&dom).0, verdict(&dom).1),
        ("invalid".to_string(), Some("inclusion".to_string())),
        "the tampered receipt file:\n{dom}"
    );

    // The whole process of the award, from tender to final payment, with receipts.
    let process_href = href(&award, "/process?ocid=").expect("a link to the whole process");
    // The profile remembers the English choice (cookie): ask for Chinese.
    let process = b.dom(&format!("{api}{process_href}&lang=zh"));
    for s in ["发布招标", "招标截止", "签订合同", "尾款", "/v1/receipts/"] {
        assert!(process.contains(s), "process page lacks {s}");
    }
    // The dashboards, in both languages, without script: charts and their tables.
    for (lang, title) in [("zh", "运行效能看板"), ("en", "Efficiency dashboard")] {
        for section in ["procurement", "assets", "sharing"] {
            let d = b.dom(&format!("{api}/dashboard?section={section}&lang={lang}"));
            assert!(d.contains(title), "{section} {lang}: title");
            assert!(
                d.contains("<svg") && d.contains("<table"),
                "{section} {lang}: chart and table"
            );
        }
    }

    // Screenshots of the main pages.
    let shots = if std::env::var("CHANCERY_SCREENSHOTS").as_deref() == Ok("1") {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots")
    } else {
        dir.path().join("screenshots")
    };
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let asset_href = href(&home, "/asset?").unwrap_or_else(|| "/asset?id=mof-asset-0".into());
    let agency_href = href(&award, "/agency?id=").expect("agency link");
    let grants = b.dom(&format!("{api}/grants"));
    let grant_href = href(&grants, "/grant?id=").expect("grant link");
    let asset_href = if asset_href.contains("id=") {
        let agency = b.dom(&format!("{api}{agency_href}"));
        href(&agency, "/asset?id=").unwrap_or(asset_href)
    } else {
        asset_href
    };
    // State pages: the current state checked in the page, by its state proof.
    let mut state_verify = Vec::new();
    for page in [&asset_href, &grant_href] {
        let dom = b.dom(&format!("{api}{page}&lang=en"));
        let link = href(&dom, "/verify?asset=")
            .or_else(|| href(&dom, "/verify?grant="))
            .expect("a link to verify the current state");
        let checked = b.dom_after_scripts(&format!("{api}{link}"));
        assert_eq!(
            verdict(&checked),
            ("valid".to_string(), None, verdict(&checked).2),
            "{link}:\n{checked}"
        );
        assert!(
            checked.contains("data-step=\"state\" data-ok=\"true\""),
            "{checked}"
        );
        let wrong = b.dom_after_scripts(&format!("{api}{link}&chain={}", "cd".repeat(32)));
        assert_eq!(verdict(&wrong).1.as_deref(), Some("genesis"), "{wrong}");
        state_verify.push(link);
    }

    for (name, path, window) in [
        ("home-zh", "/".to_string(), "1280,1400"),
        ("awards-zh", "/awards".to_string(), "1280,1100"),
        ("award-zh", award_href.clone(), "1280,2200"),
        ("award-en", en_href.clone(), "1280,2200"),
        ("asset-zh", asset_href, "1280,1800"),
        ("grant-zh", grant_href, "1280,1700"),
        ("agency-zh", agency_href, "1280,1800"),
        ("award-phone-zh", award_href, "390,2400"),
        ("process-zh", process_href, "1280,2400"),
        ("dashboard-zh", "/dashboard".to_string(), "1280,3200"),
        (
            "dashboard-en",
            "/dashboard?lang=en".to_string(),
            "1280,3200",
        ),
        (
            "dashboard-assets-zh",
            "/dashboard?section=assets".to_string(),
            "1280,2600",
        ),
        (
            "dashboard-sharing-zh",
            "/dashboard?section=sharing".to_string(),
            "1280,2400",
        ),
        ("dashboard-phone-zh", "/dashboard".to_string(), "390,1800"),
        ("verify-zh", verify_href.clone(), "1280,1500"),
        (
            "verify-phone-en",
            format!("{verify_href}&lang=en"),
            "390,2000",
        ),
        (
            "verify-asset-en",
            format!("{}&lang=en", state_verify[0]),
            "1280,1500",
        ),
    ] {
        // The profile remembers the English choice (cookie): Chinese pages ask for it.
        let path = if name.ends_with("-zh") && !path.contains("lang=") {
            format!(
                "{path}{}lang=zh",
                if path.contains('?') { '&' } else { '?' }
            )
        } else {
            path
        };
        b.screenshot(
            &format!("{api}{path}"),
            &shots.join(format!("{name}.png")),
            window,
        );
    }
}
