//! `/verify?tx=HASH[&chain=CHAIN_ID]`: the record's proof checked in the reader's own
//! browser (issue 23); `/verify?asset=ID` or `?grant=ID`: the state proof of an asset's or
//! a grant's current state, likewise. The page carries, inline, the vendored noble libraries
//! (`assets/verify/vendor/noble.js`), the verifier (`assets/verify/verify.js`, the same
//! steps as `chancery verify`) and the page's glue (`assets/verify/verify-page.js`), so a
//! copy saved to disk still checks a receipt file and a genesis file offline. Without
//! JavaScript the page says how to check with `chancery verify` instead. The verdict is
//! in the DOM: `#verify-result[data-status]` is `valid` or `invalid` (with
//! `data-failed`, the failing step), or `unsupported` for an SM2/SM3 chain.

use crate::locale::Lang;
use crate::render::{respond, Page};
use crate::{Ctx, Explorer};
use axum::extract::State;
use axum::response::Response;
use maud::html;

/// The scripts of the page, inline: the libraries, the verifier, the glue.
pub const SCRIPT: &str = concat!(
    include_str!("../assets/verify/vendor/noble.js"),
    "\n;\n",
    include_str!("../assets/verify/verify.js"),
    "\n;\n",
    include_str!("../assets/verify/verify-page.js"),
);

/// Whether `s` is 64 lower-case hex digits.
fn hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `s` is an asset or grant id as the API takes it (1..=64 of A-Z a-z 0-9 - _ . : /).
fn id_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= chancery_core::limits::ID_BYTES_MAX
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':' | b'/'))
}

/// `GET /verify`: the in-browser verifier.
pub async fn verify(State(x): State<Explorer>, cx: Ctx) -> Response {
    let l = cx.lang;
    let tx = cx.q("tx").map(str::to_ascii_lowercase);
    let chain = cx.q("chain").map(str::to_ascii_lowercase);
    let node_chain = x.node.ledger.chain_id().to_hex();
    let bad = |what: &str, v: &Option<String>| {
        v.as_deref()
            .is_some_and(|v| !hex64(v))
            .then(|| what.to_string())
    };
    // A state page's check: `asset=ID` or `grant=ID` (the state proof of its current state).
    let state = [("asset", cx.q("asset")), ("grant", cx.q("grant"))]
        .into_iter()
        .find_map(|(k, v)| v.map(|v| (k, v.to_string())));
    let mut problems: Vec<String> = [bad("tx", &tx), bad("chain", &chain)]
        .into_iter()
        .flatten()
        .collect();
    if let Some((k, v)) = &state {
        if !id_ok(v) {
            problems.push(format!(
                "{k} ({})",
                l.t(
                    "应为 1 至 64 个 A-Z a-z 0-9 - _ . : / 字符",
                    "expected 1 to 64 of A-Z a-z 0-9 - _ . : /"
                )
            ));
        }
    }
    let state_ok = state.as_ref().filter(|(_, v)| id_ok(v));
    let tx_ok = tx.as_deref().filter(|t| hex64(t));
    let body = html! {
        p {
            (l.t("本页在您的浏览器中完成与 ", "This page runs, in your browser, the same checks as "))
            code { "chancery verify" }
            (l.t(" 相同的核验：创世文件的哈希等于链标识；检查点由验证人法定多数（按投票权）签名；交易所在的日志条目在该检查点的日志根之下。核验只用到收据和创世文件，不向任何地方发送数据。",
                 ": the genesis file hashes to the chain id; the checkpoint is signed by a quorum of validators (by voting power); the transaction's log entry is under that checkpoint's log root. It needs only the receipt and the genesis file and sends nothing anywhere."))
        }
        @if !problems.is_empty() {
            p role="alert" {
                (l.t("参数有误：", "Bad parameter: ")) (problems.join(", "))
                (l.t("（应为 64 位小写十六进制）", " (expected 64 lower-case hex digits)"))
            }
        }
        form.filters method="get" action="/verify" {
            label { (l.t("交易哈希", "Transaction hash"))
                input name="tx" value=[tx.as_deref()] pattern="[0-9a-fA-F]{64}" required[state.is_none()]
                    placeholder=(l.t("64 位十六进制", "64 hex digits")) spellcheck="false" autocomplete="off"; }
            label { (l.t("固定链标识（可选）", "Pinned chain id (optional)"))
                input name="chain" value=[chain.as_deref()] pattern="[0-9a-fA-F]{64}"
                    placeholder=(l.t("各机构公布的链标识", "the chain id the agencies publish")) spellcheck="false" autocomplete="off"; }
            @if let Some((k, v)) = &state { input type="hidden" name=(k) value=(v); }
            @if l == Lang::En { input type="hidden" name="lang" value="en"; }
            button type="submit" { (l.t("验证", "Verify")) }
        }
        section aria-labelledby="verify-h" {
            h2 #verify-h { (l.t("结果", "Result")) }
            div #verify-result role="status" aria-live="polite" data-status="pending" {
                noscript {
                    (l.t("浏览器验证需要 JavaScript。也可以下载收据和创世文件，在自己的电脑上运行 ",
                         "Checking in the browser needs JavaScript. You can also download the receipt and the genesis file and run, on your own computer, "))
                    code { "chancery verify " (if state.is_some() { "state" } else { "receipt" }) ".json --genesis genesis.json" } "."
                }
            }
            ol #verify-steps {}
            div #verify-summary {}
            p #verify-trust .muted {}
            @if let Some((k, v)) = state_ok {
                p {
                    a download=(format!("state-{k}.json")) href=(format!("/v1/proofs/state/{k}/{}", crate::render::path_segment(v))) { (l.t("下载状态证明", "Download the state proof")) }
                    " · "
                    a download="genesis.json" href="/genesis.json" { (l.t("下载创世文件", "Download the genesis file")) }
                }
            }
            @if let Some(t) = tx_ok {
                p {
                    a download="receipt.json" href=(format!("/v1/receipts/{t}")) { (l.t("下载收据", "Download the receipt")) }
                    " · "
                    a download="genesis.json" href="/genesis.json" { (l.t("下载创世文件", "Download the genesis file")) }
                    " · "
                    a href=(format!("/tx/{t}")) { (l.t("交易页面", "Transaction page")) }
                }
            }
        }
        section aria-labelledby="offline-h" {
            h2 #offline-h { (l.t("离线核验", "Check offline")) }
            p { (l.t("选择（或拖入下方区域）一个收据文件和一个创世文件。另存本页后，断网也能使用。",
                     "Choose (or drop below) a receipt file and a genesis file. Saved to disk, this page works with no network.")) }
            div #drop .proof {
                label { (l.t("收据或状态证明文件", "Receipt or state-proof file")) " " input #receipt-file type="file" accept=".json,application/json"; }
                br;
                label { (l.t("创世文件", "Genesis file")) " " input #genesis-file type="file" accept=".json,application/json"; }
                p .muted { (l.t("也可以把两个文件一起拖到这里。", "Or drop both files here.")) }
            }
        }
        section aria-labelledby="pin-h" {
            h2 #pin-h { (l.t("固定链标识", "Pinning the chain id")) }
            p {
                (l.t("本节点报告的链标识是 ", "The chain id this node reports is "))
                code { (node_chain) }
                (l.t("。节点可能说谎：只有当创世文件的哈希等于一个您从别处（例如各机构网站）得到的链标识时，核验才证明记录属于那条链。在地址中加上 ",
                     ". A node can lie: a check proves the record belongs to a chain only when the genesis file hashes to a chain id you got elsewhere (the agencies publish theirs on their own sites). Add "))
                code { "&chain=" (node_chain) }
                (l.t(" 即可固定。", " to the address to pin it."))
            }
            p .muted {
                (l.t("密码库：@noble/hashes 与 @noble/curves 2.0.1（随页面提供，不从网络加载）；Ed25519 按内核的 ZIP-215 规则验证。",
                     "Libraries: @noble/hashes and @noble/curves 2.0.1 (served with the page, not loaded from elsewhere); Ed25519 checked under the kernel's ZIP-215 rule."))
            }
        }
    };
    respond(
        &x,
        &cx,
        Ok(Page {
            title: l.t("在浏览器中验证", "Verify in this browser").to_string(),
            body,
            script: Some(SCRIPT),
        }),
    )
}
