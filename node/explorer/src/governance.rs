//! The governance pages: proposals (newest first, by status), one proposal with its
//! changes, votes and status and how to check its proof offline, and the epochs with their
//! validator sets and the links of the epoch chain (`GET /v1/epochs`).

use crate::locale::Lang;
use crate::pages::{bad, find, limit, page, required, R};
use crate::render::{agency_link, fields, pager, respond, short, short_key, tx_link};
use crate::{url, Ctx, Explorer, ExplorerError};
use axum::extract::State;
use axum::response::Response;
use chancery_core::governance::{Change, ProposalPhase, ProposalState, ProposalStatus};
use chancery_core::Epoch;
use chancery_ledger::explore::EPOCH_LINKS_PAGE_MAX;
use maud::{html, Markup};

/// Epochs on one page of `/epochs`.
const EPOCHS_PAGE: usize = 32;

fn phase_label(l: Lang, p: ProposalPhase) -> Markup {
    match p {
        ProposalPhase::Open => html! { span.badge { (l.t("投票中", "open")) } },
        ProposalPhase::Passed => html! { span.badge.ok { (l.t("已通过", "passed")) } },
        ProposalPhase::Failed => html! { span.badge.bad { (l.t("未通过", "failed")) } },
        ProposalPhase::Expired => html! { span.badge.bad { (l.t("已过期", "expired")) } },
    }
}

fn change_label(l: Lang, c: &Change) -> &'static str {
    match c {
        Change::AddAgency { .. } => l.t("新增机构", "Add an agency"),
        Change::RemoveAgency { .. } => l.t("移除机构", "Remove an agency"),
        Change::AddValidator { .. } => l.t("新增验证人", "Add a validator"),
        Change::RemoveValidator { .. } => l.t("移除验证人", "Remove a validator"),
        Change::RotateValidatorKeys { .. } => l.t("更换验证人密钥", "Rotate a validator's keys"),
        Change::SetAdminKeys { .. } => l.t("设置机构管理员密钥", "Set an agency's admin keys"),
        Change::SetParams { .. } => l.t("修改链参数", "Change the chain parameters"),
        Change::SetProcurementLimits { .. } => {
            l.t("修改采购限额标准", "Set the procurement limit standards")
        }
    }
}

fn parse_phase(cx: &Ctx) -> Result<Option<ProposalPhase>, ExplorerError> {
    match cx.q("status") {
        None | Some("") => Ok(None),
        Some("open") => Ok(Some(ProposalPhase::Open)),
        Some("passed") => Ok(Some(ProposalPhase::Passed)),
        Some("failed") => Ok(Some(ProposalPhase::Failed)),
        Some("expired") => Ok(Some(ProposalPhase::Expired)),
        Some(s) => Err(bad("status", "open, passed, failed or expired", s)),
    }
}

/// `GET /governance`: the epoch in force and its validators, the pending epoch, and the
/// proposals, newest first (`?status=` filters).
pub async fn governance(State(x): State<Explorer>, cx: Ctx) -> Response {
    let r = governance_page(&x, &cx);
    respond(&x, &cx, r)
}

fn governance_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let phase = parse_phase(cx)?;
    let now = x.node.ledger.governance_now()?;
    let res = x.node.ledger.proposals(phase, cx.q("cursor"), limit(cx)?)?;
    let t = &now.params.governance_threshold;
    let filters = [
        ("", l.t("全部", "All")),
        ("open", l.t("投票中", "Open")),
        ("passed", l.t("已通过", "Passed")),
        ("failed", l.t("未通过", "Failed")),
        ("expired", l.t("已过期", "Expired")),
    ];
    let body = html! {
        dl.kv {
            dt { (l.t("当前纪元", "Epoch in force")) }
            dd { (now.epoch.0) " · " (l.t("自高度 ", "from height ")) (l.number(now.epoch_start.0)) " · "
                 a href="/epochs" { (l.t("全部纪元 »", "All epochs »")) } }
            dt { (l.t("验证人", "Validators")) }
            dd { @for (i, v) in now.set.validators.iter().enumerate() {
                @if i > 0 { ", " } (v.name) " (" (agency_link(x, l, &v.agency)) ")"
            } }
            dt { (l.t("表决机构", "Voting agencies")) }
            dd { @for (i, a) in now.state.agencies.iter().enumerate() {
                @if i > 0 { ", " } (agency_link(x, l, a))
            } }
            dt { (l.t("通过门槛", "Threshold")) }
            dd { (l.t("赞成机构须多于 ", "approving agencies must be more than ")) (t.numerator) "/" (t.denominator)
                 (l.t("，即目前至少 ", ", now at least ")) (t.approvals_needed(now.state.agencies.len() as u64))
                 (l.t(" 家", "")) }
            dt { (l.t("生效延迟", "Epoch delay")) }
            dd { (now.params.epoch_delay_blocks) (l.t(" 个区块", " blocks")) }
            @if let Some(p) = &now.pending {
                dt { (l.t("待生效纪元", "Pending epoch")) }
                dd { (p.epoch.0) (l.t("，自高度 ", ", from height ")) (l.number(p.start_height.0))
                     (l.t("（由高度 ", " (passed at height ")) (l.number(p.passed_at.0)) (l.t(" 的提案通过）", ")")) }
            }
        }
        h2 { (l.t("提案", "Proposals")) }
        p { @for (i, (code, label)) in filters.iter().enumerate() {
            @if i > 0 { " · " }
            @if cx.q("status").unwrap_or("") == *code { strong { (label) } }
            @else { a href=(if code.is_empty() { "/governance".to_string() } else { url("/governance", [("status", *code)]) }) { (label) } }
        } }
        @if res.items.is_empty() { p.muted { (l.t("没有提案。", "No proposals.")) } }
        @else { div.scroll { table {
            thead { tr {
                th scope="col" { (l.t("提案", "Proposal")) } th scope="col" { (l.t("状态", "Status")) }
                th scope="col" { (l.t("提出机构", "Proposed by")) } th.num scope="col" { (l.t("高度", "Height")) }
                th scope="col" { (l.t("变更", "Changes")) } th.num scope="col" { (l.t("赞成/反对", "For/against")) }
            } }
            tbody { @for (id, p, ph) in &res.items {
                @let (yes, no) = p.tally(&now.state.agencies);
                tr {
                    td { a href=(url("/governance/proposal", [("id", id.as_str())])) { code { (id) } } }
                    td { (phase_label(l, *ph)) }
                    td { (agency_link(x, l, &p.agency)) }
                    td.num { a href=(format!("/blocks/{}", p.proposed_at.0)) { (l.number(p.proposed_at.0)) } }
                    td { @for (i, c) in p.changes.iter().enumerate() { @if i > 0 { "; " } (change_label(l, c)) } }
                    td.num { (yes) " / " (no) }
                }
            } }
        } } }
        (pager(cx, res.next.as_deref()))
    };
    page(l.t("治理", "Governance"), body)
}

/// `GET /governance/proposal?id=`: a proposal's changes, votes and status, and how to
/// check its state proof offline.
pub async fn proposal(State(x): State<Explorer>, cx: Ctx) -> Response {
    let r = proposal_page(&x, &cx);
    respond(&x, &cx, r)
}

fn status_line(l: Lang, p: &ProposalState) -> Markup {
    match p.status {
        ProposalStatus::Open => html! { (l.t("尚未决定", "not decided")) },
        ProposalStatus::Passed {
            at,
            epoch,
            effective_height,
        } => html! {
            (l.t("于高度 ", "passed at height ")) (l.number(at.0)) (l.t(" 通过", ""))
            @if let (Some(e), Some(h)) = (epoch, effective_height) {
                (l.t("；验证人和参数变更自纪元 ", "; its validator and parameter changes start epoch "))
                (e.0) (l.t("（高度 ", " at height ")) (l.number(h.0)) (l.t("）起生效", ""))
            }
        },
        ProposalStatus::Failed { at } => html! {
            (l.t("于高度 ", "failed at height ")) (l.number(at.0)) (l.t(" 未通过", ""))
        },
    }
}

fn proposal_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let id = required(cx, "id")?;
    if chancery_core::codec::check::id("id", id, chancery_core::limits::ID_BYTES_MAX).is_err() {
        return Err(bad("id", "a proposal id", id));
    }
    let p = find("proposal", id, x.node.ledger.proposal(id)?)?;
    let now = x.node.ledger.governance_now()?;
    let phase = p.phase_at(x.node.ledger.tip().time);
    let (yes, no) = p.tally(&now.state.agencies);
    let needed = now
        .params
        .governance_threshold
        .approvals_needed(now.state.agencies.len() as u64);
    // Ids are `A-Z a-z 0-9 - _ . : /`: only the slash needs escaping in a path.
    let api = format!("/v1/governance/proposals/{}", id.replace('/', "%2F"));
    let body = html! {
        dl.kv {
            dt { (l.t("状态", "Status")) } dd { (phase_label(l, phase)) " " (status_line(l, &p)) }
            dt { (l.t("提出机构", "Proposed by")) } dd { (agency_link(x, l, &p.agency)) " · " code { (short_key(&p.proposer)) } }
            dt { (l.t("提出高度", "Proposed at height")) } dd { a href=(format!("/blocks/{}", p.proposed_at.0)) { (l.number(p.proposed_at.0)) } }
            dt { (l.t("投票截止（区块时间）", "Voting deadline (block time)")) } dd { (l.time(p.deadline)) }
            dt { (l.t("理由文件哈希", "Reason document hash")) } dd { code { (p.reason.to_hex()) } }
            dt { (l.t("最近交易", "Last transaction")) } dd { (tx_link(&p.last_tx)) }
        }
        h2 { (l.t("变更", "Changes")) }
        ol { @for c in &p.changes {
            li { strong { (change_label(l, c)) } (fields(x, l, &serde_json::to_value(c).unwrap_or_default())) }
        } }
        h2 { (l.t("投票", "Votes")) }
        p { (l.t("赞成 ", "For: ")) (yes) (l.t("，反对 ", "; against: ")) (no) (l.t("，通过需要 ", "; needed to pass: ")) (needed)
            (l.t("（每个机构一票，以最后一次为准）", " (one vote per agency, the latest counts)")) }
        @if p.votes.is_empty() { p.muted { (l.t("尚无投票。", "No votes yet.")) } }
        @else { div.scroll { table {
            thead { tr { th scope="col" { (l.t("机构", "Agency")) } th scope="col" { (l.t("投票", "Vote")) }
                         th scope="col" { (l.t("签名密钥", "Signed by")) } th.num scope="col" { (l.t("高度", "Height")) } } }
            tbody { @for v in &p.votes {
                tr {
                    td { (agency_link(x, l, &v.agency)) }
                    td { @if v.approve { span.badge.ok { (l.t("赞成", "for")) } } @else { span.badge.bad { (l.t("反对", "against")) } } }
                    td { code { (short_key(&v.signer)) } }
                    td.num { a href=(format!("/blocks/{}", v.height.0)) { (l.number(v.height.0)) } }
                }
            } }
        } } }
        section.proof {
            h2 { (l.t("自行验证", "Check it yourself")) }
            p { (l.t("提案的状态在账本的状态树中，可用最新检查点证明。下载 ", "The proposal's state is in the ledger's state tree, proven against the latest checkpoint. Save "))
                a href=(api) { (l.t("证明", "its proof")) }
                (l.t(" 并离线验证：", " and check it offline:")) }
            pre { code { "chancery verify proposal.json --genesis genesis.json" } }
            p { (l.t("或者：", "or:")) }
            pre { code { "chancery gov show " (id) " --genesis genesis.json" } }
        }
    };
    page(format!("{} {}", l.t("提案", "Proposal"), id), body)
}

/// `GET /epochs`: each epoch with its first and last height and its validator set; the
/// epoch chain itself is at `/v1/epochs`.
pub async fn epochs(State(x): State<Explorer>, cx: Ctx) -> Response {
    let r = epochs_page(&x, &cx);
    respond(&x, &cx, r)
}

fn epochs_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let from = match cx.q("from") {
        None => Epoch(0),
        Some(s) => Epoch(s.parse().map_err(|_| bad("from", "an epoch number", s))?),
    };
    let (items, next) = x
        .node
        .ledger
        .epochs_page(from, EPOCHS_PAGE.min(EPOCH_LINKS_PAGE_MAX))?;
    let body = html! {
        p { (l.t("验证人集合只在纪元边界更换。每个纪元的最后一个区块承诺下一纪元的验证人集合，并由本纪元的验证人签名确认；从创世文件出发逐个验证这些区块（",
                 "Validator sets change only at epoch boundaries. The last block of each epoch commits the next epoch's set and is certified by its own epoch's validators; checking these blocks one by one from the genesis file (the "))
            a href="/v1/epochs" { (l.t("纪元链", "epoch chain")) }
            (l.t("）即可证明任一纪元的验证人集合。", ") proves the set of any epoch.")) }
        div.scroll { table {
            thead { tr {
                th.num scope="col" { (l.t("纪元", "Epoch")) } th.num scope="col" { (l.t("起始高度", "First height")) }
                th.num scope="col" { (l.t("结束高度", "Last height")) } th scope="col" { (l.t("验证人", "Validators")) }
                th scope="col" { (l.t("集合哈希", "Set hash")) }
            } }
            tbody { @for e in &items {
                tr {
                    td.num { (e.set.epoch.0) }
                    td.num { (l.number(e.set.start_height.0)) }
                    td.num { @match (e.end, e.pending) {
                        (Some(h), _) => a href=(format!("/blocks/{}", h.0)) { (l.number(h.0)) },
                        (None, true) => span.badge { (l.t("待生效", "pending")) },
                        (None, false) => span.badge.ok { (l.t("当前", "in force")) },
                    } }
                    td { @for (i, v) in e.set.validators.iter().enumerate() {
                        @if i > 0 { ", " } (v.name) " (" (agency_link(x, l, &v.agency)) ")"
                    } }
                    td { (short(&e.set.hash())) }
                }
            } }
        } }
        @if let Some(n) = next {
            p { a href=(url("/epochs", [("from", n.0.to_string().as_str())])) { (l.t("下一页 »", "Next page »")) } }
        }
    };
    page(l.t("纪元与验证人集合", "Epochs and validator sets"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_and_phase_has_a_label_in_both_languages() {
        let c = Change::RemoveValidator { name: "v".into() };
        assert_ne!(change_label(Lang::Zh, &c), change_label(Lang::En, &c));
        for p in [
            ProposalPhase::Open,
            ProposalPhase::Passed,
            ProposalPhase::Failed,
            ProposalPhase::Expired,
        ] {
            assert_ne!(
                phase_label(Lang::Zh, p).into_string(),
                phase_label(Lang::En, p).into_string()
            );
        }
    }
}
