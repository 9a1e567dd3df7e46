//! The procurement process pages (issue 22): `/process?ocid=` follows a contracting process
//! from its tender to its final payment, each step with its receipt; `/contract?ocid=&id=`
//! shows one contract's value, payments and status. Limit-standard flags are shown where
//! the ledger recorded them.

use crate::locale::Lang;
use crate::pages::{award_a, contract_a, creation, find, history, page, required, HISTORY_MAX, R};
use crate::render::{agency_link, proof_box, respond};
use crate::{Ctx, Explorer, ExplorerError};
use axum::extract::State;
use axum::response::Response;
use chancery_core::record::Record;
use chancery_core::state::{ComplianceSubject, TenderStatus};
use maud::{html, Markup};

/// The limit-standard assessment of `subject`, if the ledger made one.
pub(crate) fn compliance_box(
    x: &Explorer,
    l: Lang,
    subject: &ComplianceSubject,
) -> Result<Markup, ExplorerError> {
    let Some(c) = x.node.ledger.compliance(subject)? else {
        return Ok(html! {});
    };
    Ok(html! {
        section.compliance {
            h2 { (l.t("限额标准核查", "Limit standards")) }
            @if c.flags.is_empty() {
                p { span.badge.ok { (l.t("符合", "Compliant")) } " " (l.method(c.method)) }
            }
            @for f in &c.flags {
                p {
                    @if f.rule.is_breach() { span.badge.bad { (l.t("违反标准", "Breach")) } }
                    @else { span.badge { (l.t("提示", "Note")) } }
                    " " (l.compliance_rule(f.rule)) " · "
                    (l.t("标准 ", "standard ")) code { (f.standard) } " · "
                    (l.t("限额 ", "limit ")) (l.amount(f.limit)) " · "
                    (l.t("金额 ", "value ")) (l.amount(f.value)) " · "
                    (l.t("方式 ", "method ")) (l.method(c.method))
                }
            }
            p.muted { (l.t("核查结果是账本状态的一部分，可与其他状态一样出具证明。",
                           "The assessment is part of the ledger state and is provable like any other state entry.")) }
        }
    })
}

/// `GET /process?ocid=`: tender, awards, contracts and the whole timeline.
pub async fn process(State(x): State<Explorer>, cx: Ctx) -> Response {
    let r = process_page(&x, &cx);
    respond(&x, &cx, r)
}

fn process_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let ocid = required(cx, "ocid")?;
    let ledger = &x.node.ledger;
    let hist = ledger.process_history(ocid, None, HISTORY_MAX)?;
    let hist = find(
        "contracting process",
        ocid,
        (!hist.items.is_empty()).then_some(hist),
    )?;
    let tender = ledger.tender(ocid)?;
    let applied =
        |t: &&chancery_ledger::TxRecord| t.entry.outcome == chancery_core::block::Outcome::Applied;
    let title = hist
        .items
        .iter()
        .filter(applied)
        .find_map(|t| match &t.entry.tx.body.record {
            Record::PublishTender(p) => Some(p.title.clone()),
            Record::AwardProcurement(a) => Some(a.title.clone()),
            _ => None,
        })
        .unwrap_or_else(|| ocid.to_string());
    let mut awards = Vec::new();
    let mut contracts = Vec::new();
    for t in hist.items.iter().filter(applied) {
        match &t.entry.tx.body.record {
            Record::AwardProcurement(a) => {
                if let Some(s) = ledger.award(ocid, &a.award_id)? {
                    awards.push((a.award_id.clone(), a.title.clone(), s));
                }
            }
            Record::SignContract(c) => {
                if let Some(s) = ledger.contract(ocid, &c.contract_id)? {
                    contracts.push((c.contract_id.clone(), s));
                }
            }
            _ => {}
        }
    }
    let last = hist
        .items
        .last()
        .map(|t| (t.hash, t.index, t.entry.height.0));
    let body = html! {
        dl.kv {
            dt { (l.t("开放合同编号 (ocid)", "Contracting process (ocid)")) } dd { code { (ocid) } }
            @if let Some(t) = &tender {
                dt { (l.t("采购人", "Purchaser")) } dd { (agency_link(x, l, &t.purchaser)) }
                dt { (l.t("采购方式", "Method")) } dd { (l.method(t.method)) }
                dt { (l.t("预算", "Budget")) } dd { (l.amount(t.budget)) }
                dt { (l.t("招标期", "Tender period")) } dd { (l.date(t.publish_date)) " – " (l.date(t.submission_deadline)) }
                dt { (l.t("招标状态", "Tender status")) } dd {
                    @match t.status {
                        TenderStatus::Active => span.badge { (l.t("投标中", "Taking bids")) },
                        TenderStatus::Complete => span.badge.ok { (l.t("已截止", "Closed")) },
                    }
                    @if let Some(n) = t.bids_received { " · " (l.t("投标数 ", "bids: ")) (n) }
                }
            } @else {
                dt { (l.t("招标", "Tender")) } dd.muted { (l.t("无招标记录（如单一来源采购）", "No tender on the ledger (e.g. direct procurement)")) }
            }
        }
        @if tender.is_some() {
            (compliance_box(x, l, &ComplianceSubject::Tender(ocid.into()))?)
        }
        h2 { (l.t("授标", "Awards")) }
        @if awards.is_empty() { p.muted { (l.t("无。", "None.")) } }
        @else {
            div.scroll { table {
                thead { tr {
                    th scope="col" { (l.t("授标", "Award")) } th scope="col" { (l.t("状态", "Status")) }
                    th scope="col" { (l.t("金额", "Value")) } th scope="col" { (l.t("日期", "Date")) }
                } }
                tbody { @for (id, t, a) in &awards {
                    tr {
                        td { (award_a(ocid, id, t)) }
                        td { (l.award_status(a.status)) }
                        td.num { (l.amount(a.value)) }
                        td { (l.date(a.award_date)) }
                    }
                } }
            } }
        }
        h2 { (l.t("合同", "Contracts")) }
        @if contracts.is_empty() { p.muted { (l.t("无。", "None.")) } }
        @else {
            div.scroll { table {
                thead { tr {
                    th scope="col" { (l.t("合同", "Contract")) } th scope="col" { (l.t("状态", "Status")) }
                    th scope="col" { (l.t("合同金额", "Value")) } th scope="col" { (l.t("已付", "Paid")) }
                } }
                tbody { @for (id, c) in &contracts {
                    tr {
                        td { (contract_a(ocid, id)) }
                        td { (l.contract_status(c.status)) }
                        td.num { (l.amount(c.value)) }
                        td.num { (l.amount(c.paid)) }
                    }
                } }
            } }
        }
        h2 { (l.t("全流程", "The whole process")) }
        p.muted { (l.t("每一步都有收据，可离线验证。", "Every step has a receipt that verifies offline.")) }
        (history(x, l, &hist.items))
        p { a href=(format!("/ocds/records/{ocid}")) { (l.t("OCDS 记录包（JSON）", "OCDS record package (JSON)")) } }
        @if let Some((h, i, height)) = last { (proof_box(x, l, &h, i, height)) }
    };
    page(title, body)
}

/// `GET /contract?ocid=&id=`: value, payments, status, flags and history of a contract.
pub async fn contract(State(x): State<Explorer>, cx: Ctx) -> Response {
    let r = contract_page(&x, &cx);
    respond(&x, &cx, r)
}

fn contract_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let ocid = required(cx, "ocid")?;
    let id = required(cx, "id")?;
    let ledger = &x.node.ledger;
    let key = format!("{ocid}/{id}");
    let c = find("contract", &key, ledger.contract(ocid, id)?)?;
    let hist = ledger.contract_history(ocid, id, None, HISTORY_MAX)?;
    let title = creation(&hist.items)
        .and_then(|t| match &t.entry.tx.body.record {
            Record::SignContract(s) => Some(s.title.clone()),
            _ => None,
        })
        .unwrap_or_else(|| key.clone());
    let last = find("transaction", &c.last_tx.to_hex(), ledger.tx(&c.last_tx)?)?;
    let body = html! {
        dl.kv {
            dt { (l.t("采购流程", "Contracting process")) } dd { (crate::pages::process_a(ocid, ocid)) }
            dt { (l.t("授标", "Award")) } dd { (award_a(ocid, &c.award_id, &c.award_id)) }
            dt { (l.t("采购人", "Purchaser")) } dd { (agency_link(x, l, &c.purchaser)) }
            dt { (l.t("状态", "Status")) } dd { (l.contract_status(c.status)) }
            dt { (l.t("合同金额", "Value")) } dd { strong { (l.amount(c.value)) } }
            dt { (l.t("已付", "Paid")) } dd { (l.amount(c.paid)) }
            dt { (l.t("签订日期", "Signed")) } dd { (l.date(c.signed_date)) }
            dt { (l.t("合同期至", "Period ends")) } dd { (l.date(c.period_end)) }
        }
        (compliance_box(x, l, &ComplianceSubject::Contract(ocid.into(), id.into()))?)
        h2 { (l.t("履行历史", "History")) }
        (history(x, l, &hist.items))
        (proof_box(x, l, &c.last_tx, last.index, last.entry.height.0))
    };
    page(title, body)
}
