//! The page layout, the style sheet and pieces shared by pages. maud escapes every
//! interpolated value; `PreEscaped` is used only for the constant style sheet and script.

use crate::locale::Lang;
use crate::{html, url, Ctx, Explorer, ExplorerError};
use axum::http::StatusCode;
use axum::response::Response;
use chancery_core::block::{Outcome, ReasonCode};
use chancery_core::state::{StateKey, StateValue};
use chancery_core::{AgencyId, Amount, Date, Digest};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::Value;

/// A rendered page: its title and main content.
pub struct Page {
    /// Title (also the `h1`).
    pub title: String,
    /// Content of `main`.
    pub body: Markup,
    /// An optional inline script (constant text only).
    pub script: Option<&'static str>,
}

const CSS: &str = r#"
:root{--fg:#1a1a1a;--muted:#555;--bg:#fff;--line:#d0d0d0;--accent:#0b5394;--soft:#f3f6fa;--warn:#8a3b00}
*{box-sizing:border-box}
body{margin:0;font:16px/1.55 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}a:focus,button:focus,input:focus,select:focus{outline:3px solid #f2a900;outline-offset:1px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px}
header{background:#0b2e4f;color:#fff;padding:.6rem 1rem}
header a{color:#fff}
.bar{max-width:72rem;margin:0 auto;display:flex;flex-wrap:wrap;gap:.5rem 1.2rem;align-items:center}
.brand{font-weight:700;text-decoration:none;font-size:1.1rem}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.2rem 1rem}
svg.chart{display:block;max-width:100%;height:auto}
form.search{display:flex;gap:.3rem;flex:1 1 16rem}
form.search input{flex:1;min-width:0;padding:.35rem .5rem;border:1px solid #fff;border-radius:3px}
button{padding:.35rem .8rem;border:1px solid var(--accent);background:var(--accent);color:#fff;border-radius:3px;cursor:pointer}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.4rem 0 1rem;overflow-wrap:anywhere}h2{font-size:1.2rem;margin-top:1.6rem;border-bottom:1px solid var(--line)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{border-bottom:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:var(--soft)}td.num,th.num{text-align:right;white-space:nowrap}
dl.kv{display:grid;grid-template-columns:minmax(8rem,max-content) 1fr;gap:.2rem 1rem;margin:0}
dl.kv dt{font-weight:600;color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}
@media (max-width:40rem){dl.kv{grid-template-columns:1fr}dl.kv dd{margin-bottom:.4rem}}
code,.hash{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.88em;overflow-wrap:anywhere}
pre{background:var(--soft);padding:.6rem;overflow-x:auto;border-radius:3px}
.restricted{color:var(--warn);font-weight:600}
.badge{display:inline-block;padding:0 .45rem;border-radius:3px;background:#e7eef7;font-size:.85rem}
.badge.bad{background:#fbe3e3;color:#7a0000}.badge.ok{background:#e2f4e5;color:#0c5a1b}
.proof{border:1px solid var(--line);border-left:4px solid var(--accent);padding:.4rem 1rem;margin:1.4rem 0;background:var(--soft)}
form.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.5rem 1rem;align-items:end;margin-bottom:1rem}
form.filters label{display:flex;flex-direction:column;font-size:.9rem;color:var(--muted)}
form.filters input,form.filters select{padding:.3rem;border:1px solid #888;border-radius:3px;font-size:1rem}
ol.timeline{list-style:none;padding:0;border-left:3px solid var(--accent);margin-left:.5rem}
ol.timeline>li{padding:.2rem 0 .8rem 1rem;position:relative}
ol.timeline>li::before{content:"";position:absolute;left:-.55rem;top:.55rem;width:.8rem;height:.8rem;border-radius:50%;background:var(--accent)}
.pager{display:flex;gap:1rem;margin:1rem 0}
footer{max-width:72rem;margin:2rem auto;padding:1rem;color:var(--muted);font-size:.85rem;border-top:1px solid var(--line)}
.muted{color:var(--muted)}
#drop.over{outline:3px dashed var(--accent)}
#verify-steps{padding-left:1.4rem}#verify-steps li{margin:.3rem 0;overflow-wrap:anywhere}
#verify-result{font-size:1.05rem;margin:.5rem 0}
a.verify{font-weight:700}
"#;

/// Render a page result as a full HTML document.
pub fn respond(x: &Explorer, cx: &Ctx, r: Result<Page, ExplorerError>) -> Response {
    match r {
        Ok(p) => html(
            cx,
            StatusCode::OK,
            layout(x, cx, &p.title, p.body, p.script).into_string(),
        ),
        Err(e) => {
            let l = cx.lang;
            let title = match e.status() {
                StatusCode::NOT_FOUND => l.t("未找到", "Not found"),
                StatusCode::BAD_REQUEST => l.t("请求有误", "Bad request"),
                _ => l.t("出错了", "Something went wrong"),
            };
            let body = html! {
                p role="alert" { (e.to_string()) }
                p { a href=(url("/", [])) { (l.t("返回首页", "Back to the home page")) } }
            };
            html(
                cx,
                e.status(),
                layout(x, cx, title, body, None).into_string(),
            )
        }
    }
}

/// The document around a page's content; `script` is an optional inline script.
pub fn layout(x: &Explorer, cx: &Ctx, title: &str, body: Markup, script: Option<&str>) -> Markup {
    let l = cx.lang;
    let other = l.other();
    let g = &x.node.genesis;
    html! {
        (DOCTYPE)
        html lang=(l.html()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (l.t("政务共享账本公开查询", "Chancery public explorer")) }
                style { (PreEscaped(CSS)) }
            }
            body {
                a.skip href="#main" { (l.t("跳到正文", "Skip to content")) }
                header {
                    div.bar {
                        a.brand href="/" { (l.t("政务共享账本 · 公开查询", "Chancery · public explorer")) }
                        nav aria-label=(l.t("主导航", "Main")) {
                            ul {
                                li { a href="/" { (l.t("首页", "Home")) } }
                                li { a href="/awards" { (l.t("采购合同", "Procurement awards")) } }
                                li { a href="/grants" { (l.t("数据共享", "Data sharing")) } }
                                li { a href="/dashboard" { (l.t("效能看板", "Dashboard")) } }
                                li { a href="/agencies" { (l.t("机构", "Agencies")) } }
                                li { a href="/governance" { (l.t("治理", "Governance")) } }
                            }
                        }
                        form.search role="search" action="/search" method="get" {
                            label.skip for="q" { (l.t("搜索", "Search")) }
                            input #q type="search" name="q" value=[cx.q("q").filter(|_| cx.path == "/search")]
                                placeholder=(l.t("记录编号、交易哈希、项目编号、供应商、机构…", "Record id, tx hash, ocid, project no., supplier, agency…"));
                            button type="submit" { (l.t("搜索", "Search")) }
                        }
                        a href=(cx.with(&[("lang", Some(other.code()))])) hreflang=(other.html()) lang=(other.html()) {
                            (match other { Lang::En => "English", Lang::Zh => "中文" })
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
                footer {
                    p {
                        (l.t("链", "Chain")) " " (g.chain_name) " · "
                        (l.t("链标识（创世文件哈希）", "chain id (hash of the genesis file)")) " "
                        code { (x.node.ledger.chain_id().to_hex()) } " · "
                        a href="/genesis.json" download="genesis.json" { (l.t("下载创世文件", "Download the genesis file")) }
                    }
                    p { (l.t("本页内容均来自经验证人法定多数签名确认的账本；每条记录均可离线验证。",
                             "Everything on this page comes from the ledger as finalized by a quorum of validators; every record can be checked offline.")) }
                }
                @if let Some(s) = script {
                    script { (PreEscaped(s)) }
                }
            }
        }
    }
}

/// A shortened hash for tables (full value in the title attribute).
pub fn short(d: &Digest) -> Markup {
    let h = d.to_hex();
    html! { span.hash title=(h) { (&h[..12]) "…" } }
}

/// A shortened public key for tables (full value in the title attribute). An SM2 key's
/// hex opens with `04` (uncompressed), an Ed25519 key's does not, so the suite shows.
pub fn short_key(k: &chancery_core::PublicKey) -> Markup {
    let h = k.to_hex();
    html! { span.hash title=(h) { (&h[..12]) "…" } }
}

/// A link to a transaction.
pub fn tx_link(d: &Digest) -> Markup {
    html! { a href=(format!("/tx/{}", d.to_hex())) { (short(d)) } }
}

/// An agency's display name.
pub fn agency_name(x: &Explorer, l: Lang, a: &AgencyId) -> String {
    let pick = |zh: &str, en: &str| match l {
        Lang::Zh => zh.to_string(),
        Lang::En => en.to_string(),
    };
    if let Some(g) = x.node.genesis.agency(a) {
        return pick(&g.name_zh, &g.name_en);
    }
    // An agency a proposal added: its names are in the state.
    match x.node.ledger.state_value(&StateKey::Agency(a.clone())) {
        Ok(Some(StateValue::Agency(s))) => pick(&s.name_zh, &s.name_en),
        _ => a.to_string(),
    }
}

/// A passed proposal that added or removed an agency: a link to the proposal and to the
/// block that passed it.
pub fn agency_change(l: Lang, c: &chancery_ledger::agencies::AgencyChange) -> Markup {
    html! {
        a href=(url("/governance/proposal", [("id", c.proposal.as_str())])) { (c.proposal) }
        (l.t("，高度 ", ", height ")) a href=(format!("/blocks/{}", c.height.0)) { (l.number(c.height.0)) }
    }
}

/// A link to an agency, with its name.
pub fn agency_link(x: &Explorer, l: Lang, a: &AgencyId) -> Markup {
    html! { a href=(url("/agency", [("id", a.as_str())])) { (agency_name(x, l, a)) } }
}

/// The outcome of a transaction.
pub fn outcome(l: Lang, o: &Outcome) -> Markup {
    match o {
        Outcome::Applied => html! { span.badge.ok { (l.t("已生效", "Applied")) } },
        Outcome::Rejected(r) => html! {
            span.badge.bad { (l.t("被拒绝", "Rejected")) } " " code { (reason(r)) }
        },
    }
}

fn reason(r: &ReasonCode) -> String {
    r.as_str()
}

/// "Check the current state": the state proof of an asset or a grant (`what` is `asset`
/// or `grant`) under the latest checkpoint's state root, in the browser or offline.
pub fn state_box(l: Lang, what: &str, id: &str) -> Markup {
    let file = format!("state-{what}.json");
    let api = format!("/v1/proofs/state/{what}/{}", path_segment(id));
    html! {
        section.proof aria-labelledby="state-proof" {
            h2 #state-proof { (l.t("核验当前状态", "Check the current state")) }
            p {
                a.verify href=(url("/verify", [(what, id)])) { (l.t("在浏览器中验证", "Verify in this browser")) }
                (l.t("：上面的当前状态是账本状态，可在最新检查点的状态根之下得到证明。",
                     ": the current state above is ledger state, provable under the latest checkpoint's state root."))
            }
            p {
                a download=(file) href=(api) { (l.t("下载状态证明", "Download the state proof")) }
                " · "
                a download="genesis.json" href="/genesis.json" { (l.t("下载创世文件", "Download the genesis file")) }
            }
            pre { code { "chancery verify " (file) " --genesis genesis.json" } }
        }
    }
}

/// `s` percent-encoded as one path segment (ids may hold `/` and `:`).
pub fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// "How to check this offline": receipt download, the command, the checkpoint.
pub fn proof_box(x: &Explorer, l: Lang, tx: &Digest, index: u64, height: u64) -> Markup {
    let tip = x.node.ledger.tip();
    let file = format!("receipt-{}.json", &tx.to_hex()[..16]);
    let cmd = format!("chancery verify {file} --genesis genesis.json");
    html! {
        section.proof aria-labelledby=(format!("proof-{}", &tx.to_hex()[..8])) {
            h2 id=(format!("proof-{}", &tx.to_hex()[..8])) { (l.t("自行验证", "Check it yourself")) }
            p {
                (l.t("这条记录是账本日志的第 ", "This record is entry "))
                strong { (l.number(index)) }
                (l.t(" 条，收录于区块 ", " of the ledger's log, included in block "))
                a href=(format!("/blocks/{height}")) { (l.number(height)) } "."
            }
            p {
                a.verify href=(format!("/verify?tx={}", tx.to_hex())) { (l.t("在浏览器中验证", "Verify in this browser")) }
                (l.t("：本页在您的浏览器中核验签名和包含证明，无需安装任何软件。",
                     ": the page checks the signatures and the inclusion proof in your browser, nothing to install."))
            }
            p {
                a download=(file) href=(format!("/v1/receipts/{}", tx.to_hex())) { (l.t("下载收据", "Download the receipt")) }
                " · "
                a download="genesis.json" href="/genesis.json" { (l.t("下载创世文件", "Download the genesis file")) }
            }
            p { (l.t("然后在自己的电脑上运行（无需联网，也无需信任本网站）：",
                     "Then run, on your own computer (no network needed, no need to trust this site):")) }
            pre { code { (cmd) } }
            p {
                (l.t("收据锚定在下载时的最新检查点：区块高度 ", "The receipt is anchored to the latest checkpoint at download time: height "))
                strong { (l.number(tip.height.0)) }
                (l.t("，日志大小 ", ", log size "))
                strong { (l.number(tip.log_size)) }
                (l.t("，日志根 ", ", log root "))
                code { (tip.log_root.to_hex()) }
                (l.t("。该检查点由法定多数验证人签名；命令会对照创世文件核验签名和包含证明。",
                     ". That checkpoint is signed by a quorum of validators; the command checks the signatures and the inclusion proof against the genesis file."))
            }
            p.muted { (l.t("请从可信来源核对创世文件的链标识（页脚所示）。",
                           "Check the genesis file's chain id (shown in the footer) against a source you trust.")) }
        }
    }
}

fn label(l: Lang, key: &str) -> String {
    let zh = match key {
        "kind" => "类型",
        "asset_id" => "资产编号",
        "category" => "分类代码",
        "name" => "名称",
        "spec_model" => "规格型号",
        "quantity" => "数量",
        "unit" => "计量单位",
        "acquisition_method" => "取得方式",
        "acquisition_date" => "取得日期",
        "original_value" => "原值",
        "funding_source" => "资金来源",
        "custodian" => "保管机构",
        "location" => "存放地点",
        "documents" => "附件",
        "from" => "调出机构",
        "to" => "调入机构",
        "transfer_kind" => "调拨方式",
        "approval_document" => "批准文件哈希",
        "effective_date" => "生效日期",
        "method" => "方式",
        "date" => "日期",
        "proceeds" => "处置收入",
        "counterparty" => "交易对方",
        "ocid" => "开放合同编号 (ocid)",
        "award_id" => "授标编号",
        "project_number" => "项目编号",
        "title" => "标题",
        "description" => "说明",
        "purchaser" => "采购人",
        "method_details" => "采购方式",
        "suppliers" => "供应商",
        "credit_code" => "统一社会信用代码",
        "value" => "金额",
        "award_date" => "授标日期",
        "status" => "状态",
        "items" => "标的",
        "rationale" => "变更理由",
        "reason" => "理由",
        "grant_id" => "授权编号",
        "dataset_id" => "数据集",
        "grantor" => "授权方",
        "grantee" => "被授权方",
        "actions" => "允许操作",
        "purpose" => "用途",
        "condition" => "共享条件",
        "valid_from" => "生效日期",
        "valid_until" => "截止日期",
        "constraints" => "约束条件",
        "document" => "文件",
        "supports" => "关联记录",
        "hash" => "哈希",
        "url" => "链接",
        "agency" => "机构",
        "key" => "公钥",
        "roles" => "角色",
        "unit_value" => "单价",
        "classification_scheme" => "分类体系",
        "classification_id" => "分类代码",
        "id" => "编号",
        _ => "",
    };
    match (l, zh) {
        (Lang::Zh, z) if !z.is_empty() => z.to_string(),
        _ => key.replace('_', " "),
    }
}

fn is_agency_field(k: &str) -> bool {
    matches!(
        k,
        "purchaser" | "custodian" | "from" | "to" | "grantor" | "grantee" | "agency"
    )
}

/// A record's fields as a definition list; restricted fields show only their commitment.
pub fn fields(x: &Explorer, l: Lang, v: &Value) -> Markup {
    match v {
        Value::Object(m) => html! {
            dl.kv {
                @for (k, v) in m {
                    @if k != "kind" {
                        dt { (label(l, k)) }
                        dd { (field(x, l, k, v)) }
                    }
                }
            }
        },
        other => value(x, l, other),
    }
}

fn field(x: &Explorer, l: Lang, k: &str, v: &Value) -> Markup {
    if let Value::String(s) = v {
        if is_agency_field(k) {
            return agency_link(x, l, &AgencyId(s.clone()));
        }
        match k {
            "asset_id" => return html! { a href=(url("/asset", [("id", s.as_str())])) { (s) } },
            "grant_id" => return html! { a href=(url("/grant", [("id", s.as_str())])) { (s) } },
            _ => {}
        }
    }
    value(x, l, v)
}

fn value(x: &Explorer, l: Lang, v: &Value) -> Markup {
    match v {
        Value::Null => html! { span.muted { "—" } },
        Value::Bool(b) => html! { (if *b { l.t("是", "yes") } else { l.t("否", "no") }) },
        Value::Number(n) => html! { (n.to_string()) },
        Value::String(s) => {
            if let Ok(d) = serde_json::from_value::<Date>(Value::String(s.clone())) {
                html! { time datetime=(s) { (l.date(d)) } }
            } else if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                html! { code { (s) } }
            } else {
                html! { (s) }
            }
        }
        Value::Array(a) if a.is_empty() => html! { span.muted { "—" } },
        Value::Array(a) => html! {
            ol { @for e in a { li { (value(x, l, e)) } } }
        },
        Value::Object(m) => {
            if let Some(Value::String(c)) = m.get("sealed").filter(|_| m.len() == 1) {
                return html! {
                    span.restricted { (l.restricted()) }
                    " — " (l.t("仅公开哈希承诺：", "hash commitment only: ")) code { (c) }
                };
            }
            if let Some(open) = m.get("open").filter(|_| m.len() == 1) {
                return value(x, l, open);
            }
            if let Ok(a) = serde_json::from_value::<Amount>(v.clone()) {
                return html! { (l.amount(a)) };
            }
            fields(x, l, v)
        }
    }
}

/// Links to the previous/next page.
pub fn pager(cx: &Ctx, next: Option<&str>) -> Markup {
    let l = cx.lang;
    html! {
        nav.pager aria-label=(l.t("分页", "Pages")) {
            @if cx.q("cursor").is_some() {
                a href=(cx.with(&[("cursor", None)])) { (l.t("« 第一页", "« First page")) }
            }
            @if let Some(n) = next {
                a href=(cx.with(&[("cursor", Some(n))])) rel="next" { (l.t("下一页 »", "Next page »")) }
            }
        }
    }
}
