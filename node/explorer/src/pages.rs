//! The HTML pages. Each handler reads the ledger through its query layer and renders one
//! [`Page`]; errors become an error page with the right status.

use crate::locale::{decimals, Lang};
use crate::render::{
    agency_change, agency_link, agency_name, fields, outcome, pager, proof_box, respond, short,
    short_key, state_box, tx_link, Page,
};
use crate::{url, Ctx, Explorer, ExplorerError, PAGE_ITEMS_DEFAULT, PAGE_ITEMS_MAX};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chancery_core::record::{AwardStatus, Record};
use chancery_core::state::{AssetStatus, ComplianceSubject};
use chancery_core::{AgencyId, Amount, Currency, Date, Digest, Height};
use chancery_ledger::explore::AwardOrder;
use chancery_ledger::{AwardFilter, GrantFilter, GrantStatus, TxRecord};
use maud::{html, Markup};

pub(crate) type R = Result<Page, ExplorerError>;

/// Blocks listed on the home page.
const HOME_BLOCKS: u64 = 10;
/// Transactions listed on one page of a block.
const BLOCK_TXS_PAGE: usize = 100;
/// History entries shown on an asset, award or grant page.
pub(crate) const HISTORY_MAX: usize = 100;
/// Results of each kind a search shows.
const SEARCH_RESULTS_MAX: usize = 20;

pub(crate) fn page(title: impl Into<String>, body: Markup) -> R {
    Ok(Page {
        title: title.into(),
        body,
        script: None,
    })
}

pub(crate) fn bad(name: &'static str, expected: &'static str, found: &str) -> ExplorerError {
    ExplorerError::BadParam {
        name,
        expected,
        found: found.to_string(),
    }
}

pub(crate) fn limit(cx: &Ctx) -> Result<usize, ExplorerError> {
    match cx.q("limit") {
        None => Ok(PAGE_ITEMS_DEFAULT),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=PAGE_ITEMS_MAX).contains(&n) => Ok(n),
            _ => Err(bad("limit", "a number from 1 to 100", s)),
        },
    }
}

fn agency_param(cx: &Ctx, name: &'static str) -> Result<Option<AgencyId>, ExplorerError> {
    cx.q(name)
        .map(|s| s.parse().map_err(|_| bad(name, "an agency id", s)))
        .transpose()
}

fn date_param(cx: &Ctx, name: &'static str) -> Result<Option<Date>, ExplorerError> {
    cx.q(name)
        .map(|s| s.parse().map_err(|_| bad(name, "a date YYYY-MM-DD", s)))
        .transpose()
}

/// A decimal amount in major units (`1234.5`) in `currency`, as minor units.
fn amount_param(
    cx: &Ctx,
    name: &'static str,
    currency: Currency,
) -> Result<Option<Amount>, ExplorerError> {
    let Some(s) = cx.q(name) else {
        return Ok(None);
    };
    let err = || {
        bad(
            name,
            "a non-negative decimal amount, e.g. 1500000 or 1500000.50",
            s,
        )
    };
    let d = decimals(currency) as usize;
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || frac.len() > d
        || !format!("{int}{frac}").bytes().all(|b| b.is_ascii_digit())
    {
        return Err(err());
    }
    let frac = format!("{frac:0<d$}");
    let minor = format!("{int}{frac}").parse::<u64>().map_err(|_| err())?;
    Ok(Some(Amount { minor, currency }))
}

pub(crate) fn find<T>(what: &'static str, id: &str, v: Option<T>) -> Result<T, ExplorerError> {
    v.ok_or_else(|| ExplorerError::NotFound {
        what,
        id: id.to_string(),
    })
}

pub(crate) fn required<'a>(cx: &'a Ctx, name: &'static str) -> Result<&'a str, ExplorerError> {
    cx.q(name).ok_or_else(|| bad(name, "a value", ""))
}

// ------------------------------------------------------------------ home

const LIVE_SCRIPT: &str = r#"
(function(){
  if(!window.EventSource)return;
  var es=new EventSource('/v1/events');
  var live=document.getElementById('live');
  es.addEventListener('block',function(ev){
    try{var b=JSON.parse(ev.data);}catch(e){return;}
    if(live){live.textContent=live.getAttribute('data-label')+' '+b.height;}
    var tb=document.getElementById('blocks-body');
    if(tb&&tb.rows.length){
      var tr=document.createElement('tr');
      var a=document.createElement('a');a.href='/blocks/'+b.height;a.textContent=String(b.height);
      var td1=document.createElement('td');td1.appendChild(a);tr.appendChild(td1);
      var td2=document.createElement('td');td2.textContent=live?live.getAttribute('data-now'):'';tr.appendChild(td2);
      var td3=document.createElement('td');td3.className='num';td3.textContent=String(b.tx_count);tr.appendChild(td3);
      var td4=document.createElement('td');td4.className='hash';td4.textContent=String(b.hash).slice(0,12)+'…';tr.appendChild(td4);
      tb.insertBefore(tr,tb.firstChild);
      while(tb.rows.length>10)tb.deleteRow(tb.rows.length-1);
    }
  });
})();
"#;

/// `GET /`: latest blocks and checkpoint, validators and quorum, counts per record kind.
pub async fn home(State(x): State<Explorer>, cx: Ctx) -> Response {
    x.refresh_catalog();
    let r = home_page(&x, &cx).map(|mut p| {
        p.script = Some(LIVE_SCRIPT);
        p
    });
    respond(&x, &cx, r)
}

/// The algorithms of a suite, in Chinese.
fn suite_zh(s: chancery_core::suite::Suite) -> &'static str {
    match s {
        chancery_core::suite::Suite::Ed25519Blake3 => "（Ed25519 签名，BLAKE3 哈希）",
        chancery_core::suite::Suite::Sm2Sm3 => "（国密 SM2 签名，SM3 哈希）",
    }
}

/// The algorithms of a suite, in English.
fn suite_en(s: chancery_core::suite::Suite) -> &'static str {
    match s {
        chancery_core::suite::Suite::Ed25519Blake3 => "(Ed25519 signatures, BLAKE3 hashes)",
        chancery_core::suite::Suite::Sm2Sm3 => "(SM2 signatures, SM3 hashes)",
    }
}

fn home_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let ledger = &x.node.ledger;
    let tip = ledger.tip();
    let status = x.node.status.borrow().clone();
    let g = &x.node.genesis;
    let quorum = if status.quorum > 0 {
        status.quorum
    } else {
        g.validators.validators.len() * 2 / 3 + 1
    };
    let quorum_live = status.validators_live >= quorum;
    let mut blocks = Vec::new();
    let mut h = tip.height.0;
    while h > 0 && blocks.len() < HOME_BLOCKS as usize {
        if let Some((hd, _)) = ledger.block_header(Height(h))? {
            blocks.push(hd);
        }
        h -= 1;
    }
    let counts = x.catalog.counts();
    let indexed = match ledger.indexed_height()? {
        Some(h) => l.number(h.0),
        None => "—".to_string(),
    };
    let body = html! {
        section aria-labelledby="h-cp" {
            h2 #h-cp { (l.t("最新检查点", "Latest checkpoint")) }
            dl.kv {
                dt { (l.t("区块高度", "Height")) }
                dd #live data-label=(l.t("最新区块：", "Latest block:")) data-now=(l.t("刚刚", "just now")) {
                    a href=(format!("/blocks/{}", tip.height.0)) { (l.number(tip.height.0)) }
                }
                dt { (l.t("时间", "Time")) } dd { (l.time(tip.time)) }
                dt { (l.t("日志大小（记录数）", "Log size (records)")) } dd { (l.number(tip.log_size)) }
                // Lists and histories answer as of this height (the indexer trails the tip).
                dt { (l.t("已索引高度", "Indexed height")) } dd { (indexed) }
                dt { (l.t("日志根", "Log root")) } dd { code { (tip.log_root.to_hex()) } }
                dt { (l.t("状态根", "State root")) } dd { code { (tip.state_root.to_hex()) } }
                // Which algorithms every hash and signature here uses (issue 21).
                dt { (l.t("密码套件", "Crypto suite")) }
                dd { code { (g.crypto.name()) } " " (l.t(suite_zh(g.crypto), suite_en(g.crypto))) }
                dt { (l.t("下载", "Download")) }
                dd { a href="/v1/checkpoints/latest" { (l.t("检查点（JSON，含签名）", "checkpoint (JSON, with signatures)")) } }
            }
        }
        section aria-labelledby="h-val" {
            h2 #h-val { (l.t("验证人", "Validators")) }
            p {
                @if quorum_live {
                    span.badge.ok { (l.t("法定多数在线", "Quorum live")) }
                } @else {
                    span.badge.bad { (l.t("法定多数不在线", "No quorum live")) }
                }
                " "
                (l.t("本节点可见在线验证人 ", "This node sees "))
                strong { (status.validators_live) }
                " / " (g.validators.validators.len())
                (l.t("，法定多数需 ", " validators live; a quorum needs "))
                strong { (quorum) } (l.t("。", "."))
            }
            p { a href="/evidence" { (l.t("验证人作恶证据 »", "Evidence of validator misbehaviour »")) } }
            div.scroll { table {
                thead { tr { th scope="col" { (l.t("名称", "Name")) } th scope="col" { (l.t("所属机构", "Agency")) } th scope="col" { (l.t("共识公钥", "Consensus key")) } } }
                tbody {
                    @for v in &g.validators.validators {
                        tr { td { (v.name) } td { (agency_link(x, l, &v.agency)) } td { (short_key(&v.consensus_key)) } }
                    }
                }
            } }
        }
        section aria-labelledby="h-blocks" {
            h2 #h-blocks { (l.t("最新确定的区块", "Latest finalized blocks")) }
            div.scroll { table {
                thead { tr {
                    th scope="col" { (l.t("高度", "Height")) } th scope="col" { (l.t("时间", "Time")) }
                    th.num scope="col" { (l.t("交易数", "Transactions")) } th scope="col" { (l.t("区块哈希", "Block hash")) }
                } }
                tbody #blocks-body {
                    @for b in &blocks {
                        tr {
                            td { a href=(format!("/blocks/{}", b.height.0)) { (l.number(b.height.0)) } }
                            td { (l.time(b.time)) }
                            td.num { (b.tx_count) }
                            td { (short(&b.hash(x.suite()))) }
                        }
                    }
                }
            } }
            @if blocks.is_empty() { p.muted { (l.t("尚无区块。", "No blocks yet.")) } }
        }
        section aria-labelledby="h-counts" {
            h2 #h-counts { (l.t("各类记录数量", "Records by kind")) }
            div.scroll { table {
                thead { tr { th scope="col" { (l.t("类型", "Kind")) } th.num scope="col" { (l.t("已生效记录", "Applied records")) } } }
                tbody {
                    @for (k, n) in &counts.per_kind {
                        tr { td { (l.kind(*k)) } td.num { (l.number(*n)) } }
                    }
                }
            } }
            @if counts.log_size < tip.log_size {
                p.muted { (l.t("统计中：已读取日志 ", "Counting: read ")) (l.number(counts.log_size)) " / " (l.number(tip.log_size)) }
            }
        }
    };
    page(l.t("账本概览", "Ledger overview"), body)
}

// ------------------------------------------------------------------ blocks, transactions

/// `GET /blocks/{height}`.
pub async fn block(State(x): State<Explorer>, cx: Ctx, Path(h): Path<String>) -> Response {
    let r = block_page(&x, &cx, &h);
    respond(&x, &cx, r)
}

fn block_page(x: &Explorer, cx: &Ctx, h: &str) -> R {
    let l = cx.lang;
    let height: u64 = h.parse().map_err(|_| bad("height", "a block height", h))?;
    let ledger = &x.node.ledger;
    let (hd, first) = find("block", h, ledger.block_header(Height(height))?)?;
    let cert = ledger.block_certificate(Height(height))?;
    let skip: usize = match cx.q("from") {
        None => 0,
        Some(s) => s
            .parse()
            .ok()
            .filter(|n| *n < hd.tx_count as usize)
            .ok_or_else(|| bad("from", "a transaction position in the block", s))?,
    };
    let n = (hd.tx_count as usize)
        .saturating_sub(skip)
        .min(BLOCK_TXS_PAGE);
    let txs = if n > 0 {
        ledger.log_entries(first + skip as u64, n)?
    } else {
        Vec::new()
    };
    let next = (skip + n < hd.tx_count as usize).then(|| (skip + n).to_string());
    let proposer = x
        .node
        .genesis
        .validators
        .validators
        .get(hd.proposer as usize)
        .map(|v| v.name.clone())
        .unwrap_or_else(|| hd.proposer.to_string());
    let body = html! {
        dl.kv {
            dt { (l.t("时间", "Time")) } dd { (l.time(hd.time)) }
            dt { (l.t("区块哈希", "Block hash")) } dd { code { (hd.hash(x.suite()).to_hex()) } }
            dt { (l.t("父区块", "Parent")) } dd {
                @if height > 1 { a href=(format!("/blocks/{}", height - 1)) { code { (hd.parent.to_hex()) } } }
                @else { code { (hd.parent.to_hex()) } }
            }
            dt { (l.t("提议者", "Proposer")) } dd { (proposer) }
            dt { (l.t("交易数", "Transactions")) } dd { (hd.tx_count) }
            dt { (l.t("此后日志大小", "Log size after it")) } dd { (l.number(hd.log_size)) }
            dt { (l.t("日志根", "Log root")) } dd { code { (hd.log_root.to_hex()) } }
            dt { (l.t("状态根", "State root")) } dd { code { (hd.state_root.to_hex()) } }
            @if let Some(c) = &cert {
                dt { (l.t("确定证书", "Finality certificate")) }
                dd {
                    (c.signatures.len()) (l.t(" 个验证人签名", " validator signatures"))
                    @if c.block != hd.hash(x.suite()) {
                        " " (l.t("（由后继区块的证书一并确定）", "(finalized by a descendant's certificate)"))
                    }
                }
            }
        }
        h2 { (l.t("交易", "Transactions")) }
        (tx_table(x, l, &txs))
        @if let Some(n) = next {
            nav.pager { a href=(cx.with(&[("from", Some(&n))])) rel="next" { (l.t("更多交易 »", "More transactions »")) } }
        }
    };
    page(
        format!("{} {}", l.t("区块", "Block"), l.number(height)),
        body,
    )
}

fn tx_table(x: &Explorer, l: Lang, txs: &[TxRecord]) -> Markup {
    html! {
        @if txs.is_empty() { p.muted { (l.t("无。", "None.")) } }
        @else {
            div.scroll { table {
                thead { tr {
                    th scope="col" { (l.t("类型", "Kind")) } th scope="col" { (l.t("对象", "Subject")) }
                    th scope="col" { (l.t("时间", "Time")) } th scope="col" { (l.t("结果", "Outcome")) }
                    th scope="col" { (l.t("交易", "Transaction")) }
                } }
                tbody {
                    @for t in txs {
                        tr {
                            td { (l.kind(t.entry.tx.body.record.kind())) }
                            td { (subject_link(x, l, &t.entry.tx.body.record)) }
                            td { (l.time(t.entry.time)) }
                            td { (outcome(l, &t.entry.outcome)) }
                            td { (tx_link(&t.hash)) }
                        }
                    }
                }
            } }
        }
    }
}

fn subject_link(x: &Explorer, l: Lang, r: &Record) -> Markup {
    match r {
        Record::RegisterAsset(a) => asset_a(&a.asset_id),
        Record::TransferAsset(a) => asset_a(&a.asset_id),
        Record::DisposeAsset(a) => asset_a(&a.asset_id),
        Record::AwardProcurement(a) => award_a(&a.ocid, &a.award_id, &a.title),
        Record::AmendAward(a) => {
            award_a(&a.ocid, &a.award_id, &format!("{}/{}", a.ocid, a.award_id))
        }
        Record::CancelAward(a) => {
            award_a(&a.ocid, &a.award_id, &format!("{}/{}", a.ocid, a.award_id))
        }
        Record::GrantDataAccess(g) => grant_a(&g.grant_id),
        Record::RevokeGrant(g) => grant_a(&g.grant_id),
        Record::AnchorDocument(d) => html! { (d.document.title) },
        Record::RegisterMember(m) => html! { (m.name) " · " (agency_name(x, l, &m.agency)) },
        Record::RevokeMember(m) => {
            html! { (short_key(&m.key)) " · " (agency_name(x, l, &m.agency)) }
        }
        Record::ProposeChange(p) => html! { (p.proposal_id) },
        Record::Vote(v) => html! { (v.proposal_id) },
        Record::PublishTender(t) => process_a(&t.ocid, &t.title),
        Record::CloseTender(t) => process_a(&t.ocid, &t.ocid),
        Record::SignContract(c) => contract_a(&c.ocid, &c.contract_id),
        Record::AmendContract(c) => contract_a(&c.ocid, &c.contract_id),
        Record::RecordImplementation(c) => contract_a(&c.ocid, &c.contract_id),
        Record::TerminateContract(c) => contract_a(&c.ocid, &c.contract_id),
    }
}

pub(crate) fn process_a(ocid: &str, text: &str) -> Markup {
    html! { a href=(url("/process", [("ocid", ocid)])) { (text) } }
}
pub(crate) fn contract_a(ocid: &str, id: &str) -> Markup {
    html! { a href=(url("/contract", [("ocid", ocid), ("id", id)])) { (ocid) "/" (id) } }
}

fn asset_a(id: &str) -> Markup {
    html! { a href=(url("/asset", [("id", id)])) { (id) } }
}
pub(crate) fn award_a(ocid: &str, id: &str, text: &str) -> Markup {
    html! { a href=(url("/award", [("ocid", ocid), ("id", id)])) { (text) } }
}
fn grant_a(id: &str) -> Markup {
    html! { a href=(url("/grant", [("id", id)])) { (id) } }
}

/// `GET /tx/{hash}`: one record.
pub async fn tx(State(x): State<Explorer>, cx: Ctx, Path(h): Path<String>) -> Response {
    let r = tx_page(&x, &cx, &h);
    respond(&x, &cx, r)
}

fn tx_page(x: &Explorer, cx: &Ctx, h: &str) -> R {
    let l = cx.lang;
    let hash: Digest = h
        .parse()
        .map_err(|_| bad("hash", "a transaction hash (64 lower-case hex digits)", h))?;
    let t = find("transaction", h, x.node.ledger.tx(&hash)?)?;
    let record = &t.entry.tx.body.record;
    let signer = t.entry.tx.body.signer;
    let member = x.node.ledger.member(&signer)?;
    let json = serde_json::to_value(record).unwrap_or_default();
    let body = html! {
        dl.kv {
            dt { (l.t("类型", "Kind")) } dd { (l.kind(record.kind())) }
            dt { (l.t("对象", "Subject")) } dd { (subject_link(x, l, record)) }
            dt { (l.t("结果", "Outcome")) } dd { (outcome(l, &t.entry.outcome)) }
            dt { (l.t("时间", "Time")) } dd { (l.time(t.entry.time)) }
            dt { (l.t("区块", "Block")) } dd { a href=(format!("/blocks/{}", t.entry.height.0)) { (l.number(t.entry.height.0)) } }
            dt { (l.t("交易哈希", "Transaction hash")) } dd { code { (hash.to_hex()) } }
            dt { (l.t("签名者", "Signed by")) } dd {
                @if let Some(m) = &member { (m.name) " · " (agency_link(x, l, &m.agency)) " · " }
                code { (signer.to_hex()) }
            }
        }
        h2 { (l.t("记录内容", "Record")) }
        (fields(x, l, &json))
        (proof_box(x, l, &hash, t.index, t.entry.height.0))
    };
    page(
        format!("{} · {}", l.kind(record.kind()), record.subject_id()),
        body,
    )
}

pub(crate) fn history(x: &Explorer, l: Lang, items: &[TxRecord]) -> Markup {
    html! {
        ol.timeline {
            @for t in items {
                li {
                    strong { (l.kind(t.entry.tx.body.record.kind())) } " "
                    (outcome(l, &t.entry.outcome))
                    br;
                    span.muted { (l.time(t.entry.time)) " · " (l.t("区块 ", "block ")) (t.entry.height.0) " · " }
                    (tx_link(&t.hash))
                    " · "
                    a download=(format!("receipt-{}.json", &t.hash.to_hex()[..16])) href=(format!("/v1/receipts/{}", t.hash.to_hex())) { (l.t("收据", "receipt")) }
                    (history_detail(x, l, &t.entry.tx.body.record))
                }
            }
        }
    }
}

fn history_detail(x: &Explorer, l: Lang, r: &Record) -> Markup {
    match r {
        Record::TransferAsset(t) => html! {
            br; (agency_name(x, l, &t.from)) " → " (agency_link(x, l, &t.to))
        },
        Record::AmendAward(a) => html! {
            br; (a.rationale)
            @if let Some(v) = a.value { " · " (l.t("新金额 ", "new value ")) (l.amount(v)) }
        },
        Record::CancelAward(c) => html! { br; (c.reason) },
        Record::RevokeGrant(g) => html! { br; (g.reason) },
        Record::AnchorDocument(d) => html! { br; (d.document.title) },
        Record::PublishTender(t) => html! {
            br; (t.title) " · " (l.method(t.method)) " · " (l.t("预算 ", "budget ")) (l.amount(t.budget))
            " · " (l.t("截止 ", "bids due ")) (l.date(t.submission_deadline))
        },
        Record::CloseTender(t) => html! {
            br; (l.t("收到投标 ", "bids received: ")) (t.bids_received)
        },
        Record::AwardProcurement(a) => html! {
            br; (award_a(&a.ocid, &a.award_id, &a.title)) " · " (l.amount(a.value))
        },
        Record::SignContract(c) => html! {
            br; (contract_a(&c.ocid, &c.contract_id)) " · " (l.amount(c.value))
            " · " (l.date(c.period_start)) " – " (l.date(c.period_end))
        },
        Record::AmendContract(c) => html! {
            br; (c.rationale)
            @if let Some(v) = c.value { " · " (l.t("新金额 ", "new value ")) (l.amount(v)) }
        },
        Record::RecordImplementation(s) => html! {
            br; (l.step_kind(s.kind)) " · " (s.title) " · " (l.date(s.date))
            @if let Some(v) = s.value { " · " (l.amount(v)) }
        },
        Record::TerminateContract(t) => html! { br; (t.reason) },
        _ => html! {},
    }
}

/// The first applied record of a history (the one that created the object).
pub(crate) fn creation(items: &[TxRecord]) -> Option<&TxRecord> {
    items
        .iter()
        .find(|t| t.entry.outcome == chancery_core::block::Outcome::Applied)
}

// ------------------------------------------------------------------ assets

/// `GET /asset?id=`: custodian, status, history timeline.
pub async fn asset(State(x): State<Explorer>, cx: Ctx) -> Response {
    let r = asset_page(&x, &cx);
    respond(&x, &cx, r)
}

fn asset_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let id = required(cx, "id")?;
    let ledger = &x.node.ledger;
    let a = find("asset", id, ledger.asset(id)?)?;
    let hist = ledger.asset_history(id, None, HISTORY_MAX)?;
    let reg = creation(&hist.items);
    let last = find("transaction", &a.last_tx.to_hex(), ledger.tx(&a.last_tx)?)?;
    let body = html! {
        dl.kv {
            dt { (l.t("当前保管机构", "Current custodian")) } dd { (agency_link(x, l, &a.custodian)) }
            dt { (l.t("状态", "Status")) } dd {
                @match a.status {
                    AssetStatus::Held => span.badge.ok { (l.t("在册", "Held")) },
                    AssetStatus::Disposed => span.badge.bad { (l.t("已处置", "Disposed")) },
                }
            }
            dt { (l.t("登记区块", "Registered in block")) } dd { a href=(format!("/blocks/{}", a.registered_at.0)) { (a.registered_at.0) } }
        }
        @if let Some(r) = reg {
            h2 { (l.t("登记信息", "Registration")) }
            (fields(x, l, &serde_json::to_value(&r.entry.tx.body.record).unwrap_or_default()))
        }
        h2 { (l.t("变动历史", "History")) }
        (history(x, l, &hist.items))
        (proof_box(x, l, &a.last_tx, last.index, last.entry.height.0))
        (state_box(l, "asset", id))
    };
    page(format!("{} {}", l.t("资产", "Asset"), id), body)
}

// ------------------------------------------------------------------ awards

fn award_status_param(cx: &Ctx) -> Result<Option<AwardStatus>, ExplorerError> {
    cx.q("status")
        .map(|s| match s {
            "pending" => Ok(AwardStatus::Pending),
            "active" => Ok(AwardStatus::Active),
            "unsuccessful" => Ok(AwardStatus::Unsuccessful),
            "cancelled" => Ok(AwardStatus::Cancelled),
            _ => Err(bad(
                "status",
                "pending, active, unsuccessful or cancelled",
                s,
            )),
        })
        .transpose()
}

/// `GET /awards`: filters purchaser, supplier (name or credit code), date range, amount
/// range (with currency), status; sort by date or amount, newest award first unless asked
/// otherwise; paginated.
pub async fn awards(State(x): State<Explorer>, cx: Ctx) -> Response {
    let r = awards_page(&x, &cx);
    respond(&x, &cx, r)
}

fn awards_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let currency: Currency = match cx.q("currency") {
        None => Currency::CNY,
        Some(s) => s
            .parse()
            .map_err(|_| bad("currency", "an ISO 4217 code such as CNY", s))?,
    };
    let supplier = cx.q("supplier");
    let is_code = supplier.is_some_and(|s| {
        s.len() == 18
            && s.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    });
    let filter = AwardFilter {
        purchaser: agency_param(cx, "purchaser")?,
        supplier_code: supplier.filter(|_| is_code).map(str::to_string),
        supplier_name: supplier.filter(|_| !is_code).map(str::to_string),
        date_from: date_param(cx, "from")?,
        date_until: date_param(cx, "to")?,
        amount_min: amount_param(cx, "min", currency)?,
        amount_max: amount_param(cx, "max", currency)?,
        status: award_status_param(cx)?,
    };
    let order = match cx.q("sort") {
        // Newest first by default (issue 22). A supplier filter keeps its own, far more
        // selective index (award by award id within the supplier).
        None if filter.supplier_code.is_some() || filter.supplier_name.is_some() => None,
        None => Some(AwardOrder::DateDesc),
        Some("date") => Some(AwardOrder::DateAsc),
        Some("-date") => Some(AwardOrder::DateDesc),
        Some("amount") => Some(AwardOrder::AmountAsc(currency)),
        Some("-amount") => Some(AwardOrder::AmountDesc(currency)),
        Some(s) => return Err(bad("sort", "date, -date, amount or -amount", s)),
    };
    let n = limit(cx)?;
    let cursor = cx.q("cursor");
    let ledger = &x.node.ledger;
    // No sort asked: the most selective index (supplier, purchaser, amount, date) in its
    // own order; a sort: the date or amount index in that order.
    let res = match order {
        None => ledger.awards(&filter, cursor, n)?,
        Some(o) => ledger.awards_ordered(&filter, o, cursor, n)?,
    };
    let sort_link = |key: &str, label: &str| -> Markup {
        let cur = cx.q("sort").or(match order {
            Some(AwardOrder::DateDesc) => Some("-date"),
            _ => None,
        });
        let (next, mark) = match cur {
            Some(c) if c == key => (format!("-{key}"), " ▲"),
            Some(c) if c.strip_prefix('-') == Some(key) => (key.to_string(), " ▼"),
            _ => (format!("-{key}"), ""),
        };
        let aria = match mark {
            " ▲" => "ascending",
            " ▼" => "descending",
            _ => "none",
        };
        html! { a href=(cx.with(&[("sort", Some(&next)), ("cursor", None)])) aria-sort=(aria) { (label) (mark) } }
    };
    let agencies = &x.node.genesis.agencies;
    let body = html! {
        form.filters method="get" action="/awards" aria-label=(l.t("筛选", "Filters")) {
            label { (l.t("采购人", "Purchaser"))
                select name="purchaser" {
                    option value="" { (l.t("全部", "All")) }
                    @for a in agencies {
                        option value=(a.id.as_str()) selected[cx.q("purchaser") == Some(a.id.as_str())] { (agency_name(x, l, &a.id)) }
                    }
                }
            }
            label { (l.t("供应商名称或统一社会信用代码", "Supplier name or credit code"))
                input type="text" name="supplier" value=[supplier]; }
            label { (l.t("授标日期自", "Award date from")) input type="date" name="from" value=[cx.q("from")]; }
            label { (l.t("至", "to")) input type="date" name="to" value=[cx.q("to")]; }
            label { (l.t("金额不少于", "Amount at least")) input type="text" inputmode="decimal" name="min" value=[cx.q("min")]; }
            label { (l.t("金额不超过", "Amount at most")) input type="text" inputmode="decimal" name="max" value=[cx.q("max")]; }
            label { (l.t("币种", "Currency")) input type="text" name="currency" maxlength="3" value=(currency.as_str()); }
            label { (l.t("状态", "Status"))
                select name="status" {
                    option value="" { (l.t("全部", "All")) }
                    @for (v, s) in [("active", AwardStatus::Active), ("pending", AwardStatus::Pending), ("unsuccessful", AwardStatus::Unsuccessful), ("cancelled", AwardStatus::Cancelled)] {
                        option value=(v) selected[cx.q("status") == Some(v)] { (l.award_status(s)) }
                    }
                }
            }
            @if let Some(s) = cx.q("sort") { input type="hidden" name="sort" value=(s); }
            button type="submit" { (l.t("筛选", "Filter")) }
        }
        @if res.items.is_empty() {
            p { (l.t("没有符合条件的采购合同。", "No awards match.")) }
        } @else {
            div.scroll { table {
                caption.skip { (l.t("采购合同列表", "Procurement awards")) }
                thead { tr {
                    th scope="col" { (l.t("项目", "Award")) }
                    th scope="col" { (l.t("采购人", "Purchaser")) }
                    th scope="col" { (l.t("供应商", "Suppliers")) }
                    th.num scope="col" { (sort_link("amount", l.t("金额", "Value"))) }
                    th scope="col" { (sort_link("date", l.t("授标日期", "Award date"))) }
                    th scope="col" { (l.t("状态", "Status")) }
                } }
                tbody {
                    @for ((ocid, id), a) in &res.items {
                        tr {
                            td { (award_a(ocid, id, &format!("{ocid}/{id}"))) }
                            td { (agency_link(x, l, &a.purchaser)) }
                            td { @for (i, s) in a.suppliers.iter().enumerate() { @if i > 0 { "、" } (s.name) } }
                            td.num { (l.amount(a.value)) }
                            td { (l.date(a.award_date)) }
                            td { (l.award_status(a.status)) }
                        }
                    }
                }
            } }
        }
        (pager(cx, res.next.as_deref()))
        p.muted { a href="/ocds/releases" { (l.t("以开放合同数据标准（OCDS 1.1）格式下载", "Download as Open Contracting Data Standard (OCDS 1.1)")) } }
    };
    page(l.t("采购合同", "Procurement awards"), body)
}

/// `GET /award?ocid=&id=`: current state, history (award, amendments, cancellation).
pub async fn award(State(x): State<Explorer>, cx: Ctx) -> Response {
    let r = award_page(&x, &cx);
    respond(&x, &cx, r)
}

fn award_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let ocid = required(cx, "ocid")?;
    let id = required(cx, "id")?;
    let ledger = &x.node.ledger;
    let key = format!("{ocid}/{id}");
    let a = find("award", &key, ledger.award(ocid, id)?)?;
    let hist = ledger.award_history(ocid, id, None, HISTORY_MAX)?;
    let last = find("transaction", &a.last_tx.to_hex(), ledger.tx(&a.last_tx)?)?;
    let original = creation(&hist.items).and_then(|t| match &t.entry.tx.body.record {
        Record::AwardProcurement(p) => Some(p.clone()),
        _ => None,
    });
    let title = original.as_ref().map_or(key.clone(), |p| p.title.clone());
    let body = html! {
        dl.kv {
            dt { (l.t("开放合同编号 (ocid)", "Contracting process (ocid)")) } dd { code { (ocid) } }
            dt { (l.t("授标编号", "Award id")) } dd { code { (id) } }
            @if let Some(p) = &original {
                dt { (l.t("项目编号", "Project number")) } dd { (p.project_number) }
            }
            dt { (l.t("采购人", "Purchaser")) } dd { (agency_link(x, l, &a.purchaser)) }
            dt { (l.t("当前状态", "Current status")) } dd { (l.award_status(a.status)) }
            dt { (l.t("当前金额", "Current value")) } dd { strong { (l.amount(a.value)) } }
            dt { (l.t("授标日期", "Award date")) } dd { (l.date(a.award_date)) }
            dt { (l.t("供应商", "Suppliers")) } dd {
                ul { @for s in &a.suppliers {
                    li { a href=(url("/awards", [("supplier", s.name.as_str())])) { (s.name) } " · " (l.t("统一社会信用代码 ", "credit code ")) code { (s.credit_code) } }
                } }
            }
        }
        @if let Some(p) = &original {
            h2 { (l.t("授标原始记录", "Original award record")) }
            (fields(x, l, &serde_json::to_value(Record::AwardProcurement(p.clone())).unwrap_or_default()))
        }
        h2 { (l.t("变更历史", "History")) }
        (history(x, l, &hist.items))
        p {
            (process_a(ocid, l.t("整个采购流程 »", "The whole procurement process »")))
            " · "
            a href=(format!("/ocds/records/{ocid}")) { (l.t("OCDS 记录包（JSON）", "OCDS record package (JSON)")) }
        }
        (crate::process::compliance_box(x, l, &ComplianceSubject::Award(ocid.into(), id.into()))?)
        (proof_box(x, l, &a.last_tx, last.index, last.entry.height.0))
    };
    page(title, body)
}

// ------------------------------------------------------------------ grants

fn grant_status_param(cx: &Ctx) -> Result<Option<GrantStatus>, ExplorerError> {
    cx.q("status")
        .map(|s| match s {
            "active" => Ok(GrantStatus::Active),
            "revoked" => Ok(GrantStatus::Revoked),
            "expired" => Ok(GrantStatus::Expired),
            "pending" | "not_yet_valid" => Ok(GrantStatus::NotYetValid),
            _ => Err(bad("status", "active, revoked, expired or pending", s)),
        })
        .transpose()
}

/// `GET /grants`: by dataset, grantee, grantor, status.
pub async fn grants(State(x): State<Explorer>, cx: Ctx) -> Response {
    let r = grants_page(&x, &cx);
    respond(&x, &cx, r)
}

fn grants_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let filter = GrantFilter {
        dataset: cx.q("dataset").map(str::to_string),
        grantee: agency_param(cx, "grantee")?,
        grantor: agency_param(cx, "grantor")?,
        status: grant_status_param(cx)?,
        at: None,
    };
    let ledger = &x.node.ledger;
    let res = ledger.grants(&filter, cx.q("cursor"), limit(cx)?)?;
    let at = ledger.tip().time;
    let agencies = &x.node.genesis.agencies;
    let body = html! {
        form.filters method="get" action="/grants" aria-label=(l.t("筛选", "Filters")) {
            label { (l.t("数据集", "Dataset")) input type="text" name="dataset" value=[cx.q("dataset")]; }
            @for (name, zh, en) in [("grantor", "授权方", "Grantor"), ("grantee", "被授权方", "Grantee")] {
                label { (l.t(zh, en))
                    select name=(name) {
                        option value="" { (l.t("全部", "All")) }
                        @for a in agencies {
                            option value=(a.id.as_str()) selected[cx.q(name) == Some(a.id.as_str())] { (agency_name(x, l, &a.id)) }
                        }
                    }
                }
            }
            label { (l.t("状态", "Status"))
                select name="status" {
                    option value="" { (l.t("全部", "All")) }
                    @for (v, s) in [("active", GrantStatus::Active), ("revoked", GrantStatus::Revoked), ("expired", GrantStatus::Expired), ("pending", GrantStatus::NotYetValid)] {
                        option value=(v) selected[cx.q("status") == Some(v)] { (l.grant_status(s)) }
                    }
                }
            }
            button type="submit" { (l.t("筛选", "Filter")) }
        }
        @if res.items.is_empty() {
            p { (l.t("没有符合条件的授权。", "No grants match.")) }
        } @else {
            div.scroll { table {
                thead { tr {
                    th scope="col" { (l.t("授权编号", "Grant")) } th scope="col" { (l.t("数据集", "Dataset")) }
                    th scope="col" { (l.t("授权方", "Grantor")) } th scope="col" { (l.t("被授权方", "Grantee")) }
                    th scope="col" { (l.t("有效期", "Valid")) } th scope="col" { (l.t("状态", "Status")) }
                } }
                tbody {
                    @for (id, g) in &res.items {
                        tr {
                            td { (grant_a(id)) }
                            td { a href=(url("/grants", [("dataset", g.dataset_id.as_str())])) { (g.dataset_id) } }
                            td { (agency_link(x, l, &g.grantor)) }
                            td { (agency_link(x, l, &g.grantee)) }
                            td { (l.date(g.valid_from)) " – " (l.date(g.valid_until)) }
                            td { (l.grant_status(GrantStatus::of(g, at))) }
                        }
                    }
                }
            } }
        }
        (pager(cx, res.next.as_deref()))
    };
    page(l.t("数据共享授权", "Data-sharing grants"), body)
}

/// `GET /grant?id=`.
pub async fn grant(State(x): State<Explorer>, cx: Ctx) -> Response {
    let r = grant_page(&x, &cx);
    respond(&x, &cx, r)
}

fn grant_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let id = required(cx, "id")?;
    let ledger = &x.node.ledger;
    let g = find("grant", id, ledger.grant(id)?)?;
    let hist = ledger.grant_history(id, None, HISTORY_MAX)?;
    let last = find("transaction", &g.last_tx.to_hex(), ledger.tx(&g.last_tx)?)?;
    let status = GrantStatus::of(&g, ledger.tip().time);
    let original = creation(&hist.items);
    let body = html! {
        dl.kv {
            dt { (l.t("状态", "Status")) } dd {
                @match status {
                    GrantStatus::Active => span.badge.ok { (l.grant_status(status)) },
                    _ => span.badge.bad { (l.grant_status(status)) },
                }
                " " span.muted { (l.t("（按最新区块时间）", "(as of the latest block's time)")) }
            }
            dt { (l.t("数据集", "Dataset")) } dd { (g.dataset_id) }
            dt { (l.t("授权方", "Grantor")) } dd { (agency_link(x, l, &g.grantor)) }
            dt { (l.t("被授权方", "Grantee")) } dd { (agency_link(x, l, &g.grantee)) }
            dt { (l.t("有效期", "Valid")) } dd { (l.date(g.valid_from)) " – " (l.date(g.valid_until)) }
        }
        @if let Some(r) = original {
            h2 { (l.t("授权内容", "Grant record")) }
            (fields(x, l, &serde_json::to_value(&r.entry.tx.body.record).unwrap_or_default()))
        }
        h2 { (l.t("历史", "History")) }
        (history(x, l, &hist.items))
        (proof_box(x, l, &g.last_tx, last.index, last.entry.height.0))
        (state_box(l, "grant", id))
    };
    page(
        format!("{} {}", l.t("数据共享授权", "Data-sharing grant"), id),
        body,
    )
}

// ------------------------------------------------------------------ agencies

/// `GET /agencies`: the genesis agencies, then those that proposals added; removed ones
/// marked, with the proposal that removed them.
pub async fn agencies(State(x): State<Explorer>, cx: Ctx) -> Response {
    let r = agencies_page(&x, &cx);
    respond(&x, &cx, r)
}

fn agencies_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let all = x.node.ledger.agencies()?;
    let body = html! {
        div.scroll { table {
            thead { tr {
                th scope="col" { (l.t("机构", "Agency")) } th scope="col" { (l.t("标识", "Id")) }
                th scope="col" { (l.t("其他语言名称", "Name in Chinese")) }
                th scope="col" { (l.t("加入", "Joined")) } th scope="col" { (l.t("状态", "Status")) }
            } }
            tbody {
                @for a in &all {
                    tr {
                        td { (agency_link(x, l, &a.id)) }
                        td { code { (a.id.as_str()) } }
                        td { (match l { Lang::Zh => &a.state.name_en, Lang::En => &a.state.name_zh }) }
                        td { @if a.genesis { (l.t("创世", "genesis")) }
                             @else if let Some(c) = &a.added { (l.t("提案 ", "proposal ")) (agency_change(l, c)) }
                             @else { (l.t("治理提案", "by a proposal")) } }
                        td { @if a.state.removed {
                                span.badge.bad { (l.t("已移除", "removed")) }
                                @if let Some(c) = &a.removed { " " (l.t("提案 ", "proposal ")) (agency_change(l, c)) }
                             } @else { span.badge.ok { (l.t("成员", "member")) } } }
                    }
                }
            }
        } }
    };
    page(l.t("机构", "Agencies"), body)
}

/// `GET /evidence`: evidence of equivocation this node stored (two conflicting messages
/// signed by one validator), each checked against the validator set of its epoch, with a
/// link to its JSON (with the epoch links) that `chancery verify` checks offline.
pub async fn evidence(State(x): State<Explorer>, cx: Ctx) -> Response {
    let r = evidence_page(&x, &cx);
    respond(&x, &cx, r)
}

fn evidence_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let res = x.node.ledger.evidence_records(cx.q("cursor"), limit(cx)?)?;
    let items: Vec<_> = res
        .items
        .iter()
        .map(|r| {
            chancery_api::evidence::evidence_dto(r, &x.node.genesis, |e| {
                chancery_api::evidence::set_of_epoch(&x.node, e)
            })
        })
        .collect();
    let body = html! {
        p { (l.t("验证人对同一视图签署两条相互冲突的消息即为作恶证据。每条证据都已用其所在纪元的验证人公钥检查；其 JSON 附带从创世文件证明该纪元验证人集合的纪元链。下载后可用 ",
                 "A validator that signs two conflicting messages for one view leaves evidence of misbehaviour. Each item is checked here against the validator keys of its epoch; its JSON carries the epoch chain that proves that epoch's set from the genesis. Save it from "))
            code { "/v1/evidence/{id}" }
            (l.t(" 的 JSON 离线验证：", " and check it offline with "))
            code { "chancery verify evidence.json --genesis genesis.json" } (l.t("。", ".")) }
        @if items.is_empty() { p.muted { (l.t("本节点未发现作恶证据。", "This node has seen no evidence of misbehaviour.")) } }
        @else { div.scroll { table {
            thead { tr {
                th scope="col" { (l.t("验证人", "Validator")) } th.num scope="col" { (l.t("纪元", "Epoch")) }
                th.num scope="col" { (l.t("视图", "View")) } th scope="col" { (l.t("类型", "Kind")) }
                th scope="col" { (l.t("检查结果", "Check")) } th scope="col" { "JSON" }
            } }
            tbody { @for e in &items {
                tr {
                    td { (e.culprit_name.as_deref().unwrap_or("?")) " (#" (e.culprit) ")" }
                    td.num { (e.epoch) } td.num { (l.number(e.view)) }
                    td { @if e.kind == "votes" { (l.t("冲突投票", "conflicting votes")) } @else { (l.t("冲突提案", "conflicting proposals")) } }
                    td { @if e.verified { span.badge.bad { (l.t("已证实", "proven")) } }
                         @else { span.badge { (l.t("无效证据", "not valid")) } " " (e.error.as_deref().unwrap_or("")) } }
                    td { a href=(format!("/v1/evidence/{}", e.id)) { (l.t("下载", "download")) } }
                }
            } }
        } } }
        (pager(cx, res.next.as_deref()))
    };
    page(l.t("作恶证据", "Evidence of misbehaviour"), body)
}

/// `GET /agency?id=`: its assets, awards, grants (given and received), members.
pub async fn agency(State(x): State<Explorer>, cx: Ctx) -> Response {
    let r = agency_page(&x, &cx);
    respond(&x, &cx, r)
}

fn agency_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let id = required(cx, "id")?;
    let aid: AgencyId = id.parse().map_err(|_| bad("id", "an agency id", id))?;
    let g = find("agency", id, x.node.ledger.agency_entry(&aid)?)?;
    let ledger = &x.node.ledger;
    // Five index queries build this page, each reading the current state of every item it
    // lists: the first few of each, with links to the full, paginated lists, keep it fast.
    let n = AGENCY_ITEMS_MAX;
    let assets = ledger.assets_by_custodian(&aid, None, n)?;
    let awards = ledger.awards(
        &AwardFilter {
            purchaser: Some(aid.clone()),
            ..AwardFilter::default()
        },
        None,
        n,
    )?;
    let given = ledger.grants(
        &GrantFilter {
            grantor: Some(aid.clone()),
            ..GrantFilter::default()
        },
        None,
        n,
    )?;
    let received = ledger.grants(
        &GrantFilter {
            grantee: Some(aid.clone()),
            ..GrantFilter::default()
        },
        None,
        n,
    )?;
    let members = ledger.members(&aid, None, n)?;
    let at = ledger.tip().time;
    let more = |next: &Option<String>| next.is_some();
    let body = html! {
        dl.kv {
            dt { (l.t("标识", "Id")) } dd { code { (aid.as_str()) } }
            dt { "中文名称" } dd lang="zh-Hans" { (g.state.name_zh) }
            dt { "English name" } dd lang="en" { (g.state.name_en) }
            dt { (l.t("加入", "Joined")) }
            dd { @if g.genesis { (l.t("创世", "at the genesis")) }
                 @else if let Some(c) = &g.added { (l.t("提案 ", "by proposal ")) (agency_change(l, c)) }
                 @else { (l.t("治理提案", "by a proposal")) } }
            dt { (l.t("状态", "Status")) }
            dd { @if g.state.removed {
                    span.badge.bad { (l.t("已移除", "removed")) }
                    @if let Some(c) = &g.removed { " " (l.t("提案 ", "by proposal ")) (agency_change(l, c)) }
                    (l.t("：不再参与表决，其成员密钥视为已注销。", ": it no longer votes, and its member keys count as revoked."))
                 } @else { span.badge.ok { (l.t("成员", "member")) } } }
        }
        h2 { (l.t("保管的资产", "Assets held")) }
        @if assets.items.is_empty() { p.muted { (l.t("无。", "None.")) } }
        ul { @for (aid2, a) in &assets.items {
            li { (asset_a(aid2)) " · " @match a.status { AssetStatus::Held => (l.t("在册", "held")), AssetStatus::Disposed => (l.t("已处置", "disposed")) } }
        } }
        @if more(&assets.next) { p.muted { (l.t("仅显示前 ", "Showing the first ")) (n) (l.t(" 项。", "."))  } }
        h2 { (l.t("采购合同", "Procurement awards")) }
        @if awards.items.is_empty() { p.muted { (l.t("无。", "None.")) } }
        ul { @for ((o, i), a) in &awards.items {
            li { (award_a(o, i, &format!("{o}/{i}"))) " · " (l.amount(a.value)) " · " (l.award_status(a.status)) }
        } }
        p { a href=(url("/awards", [("purchaser", aid.as_str())])) { (l.t("全部采购合同 »", "All its awards »")) } }
        h2 { (l.t("授出的数据共享", "Data access granted")) }
        @if given.items.is_empty() { p.muted { (l.t("无。", "None.")) } }
        ul { @for (gid, gr) in &given.items {
            li { (grant_a(gid)) " · " (gr.dataset_id) " → " (agency_link(x, l, &gr.grantee)) " · " (l.grant_status(GrantStatus::of(gr, at))) }
        } }
        p { a href=(url("/grants", [("grantor", aid.as_str())])) { (l.t("全部授出的数据共享 »", "All grants it gave »")) } }
        h2 { (l.t("获得的数据共享", "Data access received")) }
        @if received.items.is_empty() { p.muted { (l.t("无。", "None.")) } }
        ul { @for (gid, gr) in &received.items {
            li { (grant_a(gid)) " · " (gr.dataset_id) " ← " (agency_link(x, l, &gr.grantor)) " · " (l.grant_status(GrantStatus::of(gr, at))) }
        } }
        p { a href=(url("/grants", [("grantee", aid.as_str())])) { (l.t("全部获得的数据共享 »", "All grants it received »")) } }
        h2 { (l.t("成员密钥", "Member keys")) }
        div.scroll { table {
            thead { tr { th scope="col" { (l.t("名称", "Name")) } th scope="col" { (l.t("角色", "Roles")) } th scope="col" { (l.t("公钥", "Key")) } th scope="col" { (l.t("状态", "Status")) } } }
            tbody { @for (k, m) in &members.items {
                tr {
                    td { (m.name) }
                    td { @for (i, r) in m.roles.iter().enumerate() { @if i > 0 { ", " } code { (r.as_str()) } } }
                    td { (short_key(k)) }
                    td { @if m.revoked { span.badge.bad { (l.t("已注销", "revoked")) } }
                         @else if g.state.removed { span.badge.bad { (l.t("已注销（机构已移除）", "revoked (agency removed)")) } }
                         @else { span.badge.ok { (l.t("有效", "active")) } } }
                }
            } }
        } }
    };
    page(agency_name(x, l, &aid), body)
}

/// Items per list on an agency page (assets, awards, grants given and received, members).
const AGENCY_ITEMS_MAX: usize = 10;

// ------------------------------------------------------------------ search

/// `GET /search?q=`: record id, tx hash, ocid, project number, supplier name or credit
/// code, agency name. A single exact hit redirects to its page.
pub async fn search(State(x): State<Explorer>, cx: Ctx) -> Response {
    x.refresh_catalog();
    match search_hits(&x, &cx) {
        Ok((hits, false)) if hits.len() == 1 && cx.q("all").is_none() => {
            Redirect::to(&hits[0].1).into_response()
        }
        Ok((hits, partial)) => {
            let l = cx.lang;
            let q = cx.q("q").unwrap_or("");
            let body = html! {
                @if hits.is_empty() {
                    p { (l.t("没有找到与此匹配的记录：", "Nothing matches: ")) strong { (q) } }
                    p.muted { (l.t("可搜索：资产编号、授权编号、开放合同编号 (ocid)、项目编号、交易哈希、供应商名称或统一社会信用代码、机构名称。",
                                   "You can search for an asset id, grant id, contracting process id (ocid), project number, transaction hash, supplier name or credit code, or agency name.")) }
                } @else {
                    ul { @for (label, href) in &hits { li { a href=(href) { (label) } } } }
                }
                @if partial {
                    p.muted.partial {
                        (l.t("部分结果：供应商名称只检查了前 ", "Partial results: only the first "))
                        (x.node.limits.search_scan_max)
                        (l.t(" 个；以名称开头搜索可找到全部。", " supplier names were scanned for this text; search for the beginning of a name to find them all."))
                    }
                }
            };
            respond(
                &x,
                &cx,
                page(format!("{} “{}”", l.t("搜索", "Search"), q), body),
            )
        }
        Err(e) => respond(&x, &cx, Err(e)),
    }
}

/// The hits of a search, and whether the supplier-name scan stopped at its budget.
fn search_hits(x: &Explorer, cx: &Ctx) -> Result<(Vec<(String, String)>, bool), ExplorerError> {
    let l = cx.lang;
    let q = cx.q("q").unwrap_or("").trim();
    let mut hits: Vec<(String, String)> = Vec::new();
    if q.is_empty() {
        return Ok((hits, false));
    }
    let ledger = &x.node.ledger;
    if let Ok(h) = q.to_ascii_lowercase().parse::<Digest>() {
        if ledger.tx(&h)?.is_some() {
            hits.push((
                format!("{} {}", l.t("交易", "Transaction"), h.to_hex()),
                format!("/tx/{}", h.to_hex()),
            ));
        }
        if let Ok(hd) = ledger.block_header(ledger.tip().height) {
            if hd.is_some_and(|(b, _)| b.hash(x.suite()) == h) {
                hits.push((
                    format!("{} {}", l.t("区块", "Block"), ledger.tip().height.0),
                    format!("/blocks/{}", ledger.tip().height.0),
                ));
            }
        }
    }
    if ledger.asset(q)?.is_some() {
        hits.push((
            format!("{} {q}", l.t("资产", "Asset")),
            url("/asset", [("id", q)]),
        ));
    }
    if ledger.grant(q)?.is_some() {
        hits.push((
            format!("{} {q}", l.t("数据共享授权", "Grant")),
            url("/grant", [("id", q)]),
        ));
    }
    if let Some((ocid, id)) = q.rsplit_once('/') {
        if ledger.award(ocid, id)?.is_some() {
            hits.push((
                format!("{} {q}", l.t("采购合同", "Award")),
                award_href(ocid, id),
            ));
        }
    }
    for r in ledger.ocid_records(q, None, SEARCH_RESULTS_MAX)?.items {
        let rec = &r.entry.tx.body.record;
        if let Record::AwardProcurement(a) = rec {
            hits.push((
                format!(
                    "{} {}/{} · {}",
                    l.t("采购合同", "Award"),
                    a.ocid,
                    a.award_id,
                    a.title
                ),
                award_href(&a.ocid, &a.award_id),
            ));
        }
    }
    for (ocid, id) in x.catalog.project(q) {
        hits.push((
            format!("{} {q} · {ocid}/{id}", l.t("项目编号", "Project number")),
            award_href(&ocid, &id),
        ));
    }
    if q.len() == 18
        && q.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        let f = AwardFilter {
            supplier_code: Some(q.to_string()),
            ..AwardFilter::default()
        };
        if !ledger.awards(&f, None, 1)?.items.is_empty() {
            hits.push((
                format!(
                    "{} {q}",
                    l.t("供应商（统一社会信用代码）", "Supplier (credit code)")
                ),
                url("/awards", [("supplier", q)]),
            ));
        }
    }
    let suppliers =
        x.catalog
            .suppliers_matching(q, SEARCH_RESULTS_MAX, x.node.limits.search_scan_max);
    for (name, code) in suppliers.items {
        hits.push((
            format!("{} {name} · {code}", l.t("供应商", "Supplier")),
            url("/awards", [("supplier", name.as_str())]),
        ));
    }
    let ql = q.to_lowercase();
    for a in &x.node.genesis.agencies {
        if a.name_zh.contains(q) || a.name_en.to_lowercase().contains(&ql) || a.id.as_str() == q {
            hits.push((
                format!("{} {}", l.t("机构", "Agency"), agency_name(x, l, &a.id)),
                url("/agency", [("id", a.id.as_str())]),
            ));
        }
    }
    hits.dedup_by(|a, b| a.1 == b.1);
    Ok((hits, suppliers.partial))
}

fn award_href(ocid: &str, id: &str) -> String {
    url("/award", [("ocid", ocid), ("id", id)])
}

/// `GET /genesis.json`: the genesis document, for `chancery verify --genesis`.
pub async fn genesis(State(x): State<Explorer>) -> Response {
    match serde_json::to_string_pretty(&*x.node.genesis) {
        Ok(s) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"genesis.json\"",
                ),
            ],
            s,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
