//! Governance and the epoch chain: `GET /v1/epochs` (the links that prove each epoch's
//! validator set from the genesis), `GET /v1/governance` (the epoch in force, its
//! parameters and validators, the pending epoch), `GET /v1/governance/proposals` (newest
//! first) and `GET /v1/governance/proposals/{id}` (with the proof of its state). Parse,
//! call the ledger's query layer (`chancery_ledger::explore`), render.

use crate::params::{id, number, page, short, P, Q};
use crate::proofs::state_proof;
use crate::{ApiError, ApiResult, NodeHandle};
use axum::extract::State;
use axum::Json;
use chancery_api_types::*;
use chancery_core::codec;
use chancery_core::epoch::EpochLink;
use chancery_core::governance::{ProposalPhase, ProposalState, ProposalStatus};
use chancery_core::state::{StateKey, StateValue};
use chancery_core::validator::ValidatorSet;
use chancery_core::Epoch;
use chancery_ledger::explore::{GovernanceNow, EPOCH_LINKS_PAGE_MAX};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

/// Links in a page of `GET /v1/epochs` when the request gives no `limit`.
pub const EPOCH_LINKS_PAGE_DEFAULT: usize = 16;

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn names(set: &ValidatorSet) -> Vec<String> {
    set.validators.iter().map(|v| v.name.clone()).collect()
}

/// Query of `GET /v1/epochs`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EpochsQuery {
    /// The first link: the one that ends this epoch (default 0).
    #[param(value_type = Option<u64>)]
    from: Option<String>,
    /// Links in the page, 1..=64 (`EPOCH_LINKS_PAGE_MAX`; default 16).
    #[param(value_type = Option<u64>)]
    limit: Option<String>,
}

fn link_dto(h: &NodeHandle, link: &EpochLink) -> ApiResult<EpochLinkDto> {
    let epoch = link.header.epoch;
    let start = h
        .ledger
        .validator_set_of_epoch(epoch)?
        .map(|s| s.start_height.0)
        .ok_or_else(|| ApiError::internal(format!("epoch {epoch} has no validator set")))?;
    Ok(EpochLinkDto {
        epoch: epoch.0,
        start_height: start,
        end_height: link.header.height.0,
        validator_set: link.header.validator_set.to_hex(),
        next_validator_set: link.header.next_validator_set.to_hex(),
        next_validators: names(&link.next),
        header: to_value(&link.header),
        certificate: to_value(&link.certificate),
        next: to_value(&link.next),
        suffix: link.suffix.iter().map(to_value).collect(),
        link: hex::encode(codec::encode(link)),
    })
}

/// The epoch chain: for each ended epoch, the boundary header (its last block, which
/// commits the next epoch's validator set), its finalization certificate by the epoch's
/// own set (over the header, or over the last of the empty suffix headers it carries),
/// and the next set. From the genesis alone, `verify_epoch_chain` over
/// the `link` hex of epochs `0..e` proves epoch `e`'s set; receipts and state proofs of a
/// later epoch carry these links.
#[utoipa::path(get, path = "/v1/epochs", tag = "proofs", params(EpochsQuery),
    responses((status = 200, body = EpochsDto), (status = 400, body = ErrorBody)))]
pub(crate) async fn epochs(
    State(h): State<NodeHandle>,
    Q(q): Q<EpochsQuery>,
) -> ApiResult<Json<EpochsDto>> {
    let from = match q.from.as_deref() {
        None => Epoch(0),
        Some(s) => Epoch(number(s, "from")?),
    };
    let limit = match q.limit.as_deref() {
        None => EPOCH_LINKS_PAGE_DEFAULT,
        Some(s) => {
            let n = number(s, "limit")?;
            if n == 0 || n > EPOCH_LINKS_PAGE_MAX as u64 {
                let mut e = ApiError::bad_request(
                    "limit_too_large",
                    format!("limit must be from 1 to {EPOCH_LINKS_PAGE_MAX}, found {n}"),
                );
                e.details = serde_json::json!({"max": EPOCH_LINKS_PAGE_MAX, "found": n});
                return Err(e);
            }
            n as usize
        }
    };
    let now = h.ledger.governance_now()?;
    let (links, next) = h.ledger.epoch_links_page(from, limit)?;
    let mut items = Vec::with_capacity(links.len());
    for l in &links {
        items.push(link_dto(&h, l)?);
    }
    Ok(Json(EpochsDto {
        current_epoch: now.epoch.0,
        current_start_height: now.epoch_start.0,
        items,
        next: next.map(|e| e.0),
    }))
}

fn validator_dtos(set: &ValidatorSet) -> Vec<ValidatorDto> {
    set.validators
        .iter()
        .enumerate()
        .map(|(i, v)| ValidatorDto {
            index: i as u16,
            name: v.name.clone(),
            agency: v.agency.to_string(),
            consensus_key: v.consensus_key.to_string(),
            network_key: v.network_key.to_string(),
            power: v.power,
            signed_latest: false,
        })
        .collect()
}

fn approvals_needed(now: &GovernanceNow) -> u64 {
    now.params
        .governance_threshold
        .approvals_needed(now.state.agencies.len() as u64)
}

/// The consortium's governance now: the epoch in force for the next block, its first
/// height, validators and parameters (with the governance threshold and the epoch delay),
/// the electorate, the approvals a proposal needs, and the next epoch if one is scheduled.
#[utoipa::path(get, path = "/v1/governance", tag = "governance",
    responses((status = 200, body = GovernanceDto)))]
pub(crate) async fn governance(State(h): State<NodeHandle>) -> ApiResult<Json<GovernanceDto>> {
    let now = h.ledger.governance_now()?;
    let pending = match &now.pending {
        None => None,
        Some(p) => {
            let set = h.ledger.validator_set_of_epoch(p.epoch)?.ok_or_else(|| {
                ApiError::internal(format!("pending epoch {} has no validator set", p.epoch))
            })?;
            Some(PendingEpochDto {
                epoch: p.epoch.0,
                start_height: p.start_height.0,
                passed_at: p.passed_at.0,
                params: to_value(&p.params),
                validator_set: set.hash().to_hex(),
                validators: names(&set),
            })
        }
    };
    Ok(Json(GovernanceDto {
        height: now.height.0,
        epoch: now.epoch.0,
        epoch_start_height: now.epoch_start.0,
        validator_set: now.set.hash().to_hex(),
        validators: validator_dtos(&now.set),
        params: to_value(&now.params),
        agencies: now.state.agencies.iter().map(|a| a.to_string()).collect(),
        approvals_needed: approvals_needed(&now),
        pending,
    }))
}

fn phase_text(p: ProposalPhase) -> &'static str {
    match p {
        ProposalPhase::Open => "open",
        ProposalPhase::Passed => "passed",
        ProposalPhase::Failed => "failed",
        ProposalPhase::Expired => "expired",
    }
}

fn proposal_dto(
    id: &str,
    p: &ProposalState,
    phase: ProposalPhase,
    now: &GovernanceNow,
) -> ProposalDto {
    let (approvals, rejections) = p.tally(&now.state.agencies);
    let (decided_at, epoch, effective_height) = match p.status {
        ProposalStatus::Open => (None, None, None),
        ProposalStatus::Passed {
            at,
            epoch,
            effective_height,
        } => (
            Some(at.0),
            epoch.map(|e| e.0),
            effective_height.map(|h| h.0),
        ),
        ProposalStatus::Failed { at } => (Some(at.0), None, None),
    };
    ProposalDto {
        id: id.to_string(),
        status: phase_text(phase).to_string(),
        agency: p.agency.to_string(),
        proposer: p.proposer.to_string(),
        changes: p.changes.iter().map(to_value).collect(),
        deadline_ms: p.deadline.0,
        reason: p.reason.to_hex(),
        proposed_at: p.proposed_at.0,
        votes: p
            .votes
            .iter()
            .map(|v| VoteDto {
                agency: v.agency.to_string(),
                approve: v.approve,
                signer: v.signer.to_string(),
                height: v.height.0,
            })
            .collect(),
        approvals,
        rejections,
        approvals_needed: approvals_needed(now),
        decided_at,
        epoch,
        effective_height,
        last_tx: p.last_tx.to_hex(),
    }
}

/// Query of `GET /v1/governance/proposals`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ProposalsQuery {
    /// Only proposals in this status: `open`, `passed`, `failed` or `expired`.
    status: Option<String>,
    /// Page size, 1..=page_entries_max (default 50).
    #[param(value_type = Option<u64>)]
    limit: Option<String>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
}

fn parse_phase(s: &str) -> ApiResult<ProposalPhase> {
    match s {
        "open" => Ok(ProposalPhase::Open),
        "passed" => Ok(ProposalPhase::Passed),
        "failed" => Ok(ProposalPhase::Failed),
        "expired" => Ok(ProposalPhase::Expired),
        other => Err(ApiError::bad_request(
            "bad_status",
            format!(
                "status must be open, passed, failed or expired, found {:?}",
                short(other)
            ),
        )),
    }
}

/// Governance proposals, newest first, with their votes and status (as of the indexed
/// height; an open proposal past its deadline is `expired`).
#[utoipa::path(get, path = "/v1/governance/proposals", tag = "governance", params(ProposalsQuery),
    responses((status = 200, body = Page<ProposalDto>), (status = 400, body = ErrorBody)))]
pub(crate) async fn proposals(
    State(h): State<NodeHandle>,
    Q(q): Q<ProposalsQuery>,
) -> ApiResult<Json<Page<ProposalDto>>> {
    let phase = q.status.as_deref().map(parse_phase).transpose()?;
    let (limit, cursor) = page(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        h.limits.page_entries_max,
    )?;
    let now = h.ledger.governance_now()?;
    let p = h.ledger.proposals(phase, cursor, limit)?;
    Ok(Json(Page {
        items: p
            .items
            .iter()
            .map(|(id, st, ph)| proposal_dto(id, st, *ph, &now))
            .collect(),
        next: p.next,
    }))
}

/// One proposal, as proven against the state root of the latest checkpoint: its changes,
/// votes and status at that checkpoint's block time, and the proof (with the epoch links
/// that prove the checkpoint from the genesis). `chancery gov show ID --genesis G` and
/// `chancery verify` check it.
#[utoipa::path(get, path = "/v1/governance/proposals/{id}", tag = "governance",
    params(("id" = String, Path, description = "proposal id")),
    responses((status = 200, body = ProposalDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn proposal_one(
    State(h): State<NodeHandle>,
    P(pid): P<String>,
) -> ApiResult<Json<ProposalDetail>> {
    let pid = id(&pid, "proposal id")?;
    let (proof, cp) = state_proof(&h, StateKey::Proposal(pid.to_string()), None)?;
    let Some(StateValue::Proposal(st)) = &proof.value else {
        return Err(ApiError::not_found(format!(
            "no proposal {pid} as of the latest checkpoint (height {})",
            cp.header.height
        )));
    };
    let now = h.ledger.governance_now()?;
    let phase = st.phase_at(cp.header.time);
    Ok(Json(ProposalDetail {
        proposal: proposal_dto(pid, st, phase, &now),
        proof: crate::proofs::state_proof_dto(&h, &proof, &cp)?,
    }))
}
