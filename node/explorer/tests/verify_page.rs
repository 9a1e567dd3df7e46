//! The `/verify` page (issue 23): it carries the verifier inline (libraries, verifier,
//! glue) so that a saved copy works offline, shows the `chancery verify` fallback without
//! script, names a malformed parameter, and every record page links to it. The verdicts
//! themselves are tested against the kernel in `verify_js.rs` and in Chromium by the
//! end-to-end browser test.

mod support;

use support::{get_text, ok_text, world, OCID_A};

#[tokio::test]
async fn the_verify_page_carries_the_verifier_and_a_fallback() {
    let w = world();
    let app = chancery_explorer::router(w.handle());
    let award = ok_text(&app, &format!("/award?ocid={OCID_A}&id=1")).await;
    let i = award
        .find("href=\"/verify?tx=")
        .unwrap_or_else(|| panic!("no link to /verify on the award page:\n{award}"));
    let link = &award[i + 6..i + 6 + award[i + 6..].find('"').unwrap()];
    let tx = link.strip_prefix("/verify?tx=").unwrap();
    assert_eq!(tx.len(), 64, "{link}");

    let page = ok_text(&app, link).await;
    assert!(
        page.contains("id=\"verify-result\"") && page.contains("data-status=\"pending\""),
        "{page}"
    );
    // Inline, in order: the libraries, the verifier, the glue; one script element, so
    // nothing in the scripts closes it early.
    let (lib, verifier, glue) = (
        page.find("globalThis.chanceryNoble").expect("noble inline"),
        page.find("globalThis.chanceryVerify =")
            .expect("verifier inline"),
        page.find("chanceryVerifyPage").expect("page glue inline"),
    );
    assert!(lib < verifier && verifier < glue);
    assert_eq!(page.matches("</script>").count(), 1);
    assert_eq!(page.to_ascii_lowercase().matches("</script").count(), 1);
    // No script: the command line instead, and the files to download.
    assert!(page.contains("<noscript>") && page.contains("chancery verify receipt.json"));
    assert!(page.contains(&format!("href=\"/v1/receipts/{tx}\"")));
    // The chain id the node reports, and how to pin it.
    let chain = w.handle().ledger.chain_id().to_hex();
    assert!(page.contains(&format!("&amp;chain={chain}")), "{page}");

    // A malformed hash is named, in the page's language.
    let (s, b) = get_text(&app, "/verify?tx=zz&lang=en").await;
    assert_eq!(s, 200);
    assert!(
        b.contains("Bad parameter: tx") && b.contains("64 lower-case hex"),
        "{b}"
    );
    let (_, b) = get_text(&app, &format!("/verify?tx={tx}&chain=12")).await;
    assert!(b.contains("参数有误：chain"), "{b}");
}

/// Asset and grant pages link to the state-proof check of their current state; the
/// verify page offers the bundle for download and names a malformed id.
#[tokio::test]
async fn state_pages_link_to_the_check_of_their_current_state() {
    let w = world();
    let app = chancery_explorer::router(w.handle());
    for (page, what, id) in [
        ("/asset?id=mof-asset-1", "asset", "mof-asset-1"),
        ("/grant?id=mof-grant-1", "grant", "mof-grant-1"),
    ] {
        let b = ok_text(&app, page).await;
        let link = format!("href=\"/verify?{what}={id}\"");
        assert!(b.contains(&link), "{page} lacks {link}");
        assert!(
            b.contains(&format!("href=\"/v1/proofs/state/{what}/{id}\"")),
            "{page}"
        );
        let v = ok_text(&app, &format!("/verify?{what}={id}&lang=en")).await;
        assert!(
            v.contains(&format!("href=\"/v1/proofs/state/{what}/{id}\""))
                && v.contains("chancery verify state.json"),
            "{v}"
        );
        // The proof the page will fetch is served.
        let (s, proof) = get_text(
            &chancery_api::routes(w.handle()),
            &format!("/v1/proofs/state/{what}/{id}"),
        )
        .await;
        assert_eq!(s, 200, "{proof}");
    }
    let (_, b) = get_text(&app, "/verify?asset=%3Cscript%3E&lang=en").await;
    assert!(b.contains("Bad parameter: asset"), "{b}");
    assert!(!b.contains("<script>alert"), "escaped");
    // An id with a slash is one path segment in the proof's URL.
    let b = ok_text(&app, "/verify?asset=a%2Fb").await;
    assert!(b.contains("/v1/proofs/state/asset/a%2Fb"), "{b}");
}
