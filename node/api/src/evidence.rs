//! Evidence of equivocation: `GET /v1/evidence` and `GET /v1/evidence/{id}`.
//!
//! The consensus driver stores each piece of evidence in the `Meta` column under
//! `consensus/evidence/`; the query layer lists the raw records and [`evidence_dto`] — the
//! one place that knows the consensus crate's `Evidence` type — decodes and checks them.

use crate::params::{page, short, P, Q};
use crate::reads::PageQuery;
use crate::{ApiError, ApiResult, NodeHandle};
use axum::extract::State;
use axum::Json;
use chancery_api_types::{ErrorBody, EvidenceDto, Page};
use chancery_core::codec;
use chancery_core::genesis::Genesis;
use chancery_ledger::EvidenceRecord;

/// Decode one stored evidence record and verify it against the genesis validator set.
/// A record that does not decode is shown with `verified: false` and the decoding error.
pub fn evidence_dto(r: &EvidenceRecord, genesis: &Genesis) -> EvidenceDto {
    let mut dto = EvidenceDto {
        id: hex::encode(&r.id),
        kind: "votes".to_string(),
        epoch: 0,
        view: 0,
        culprit: 0,
        culprit_name: None,
        first: String::new(),
        second: String::new(),
        evidence: hex::encode(&r.bytes),
        verified: false,
        error: None,
    };
    let ev: chancery_consensus::Evidence = match codec::decode(&r.bytes) {
        Ok(ev) => ev,
        Err(e) => {
            dto.error = Some(format!("does not decode as evidence: {e}"));
            return dto;
        }
    };
    dto.epoch = ev.epoch().0;
    dto.view = ev.view().0;
    dto.culprit = ev.culprit();
    let (kind, first, second) = ev.encoded_parts();
    dto.kind = kind.to_string();
    dto.first = hex::encode(first);
    dto.second = hex::encode(second);
    match ev.verify(genesis.chain_id(), &genesis.validators) {
        Ok(culprit) => {
            dto.culprit = culprit;
            dto.verified = true;
        }
        Err(e) => dto.error = Some(e.to_string()),
    }
    dto.culprit_name = genesis.validators.get(dto.culprit).map(|v| v.name.clone());
    dto
}

/// Evidence of equivocation this node has seen: two conflicting messages signed by one
/// validator, each with `verified` (checked here against the genesis validator set) and
/// the canonical hex that `chancery verify` checks offline. Ordered by id.
#[utoipa::path(get, path = "/v1/evidence", tag = "governance", params(PageQuery),
    responses((status = 200, body = Page<EvidenceDto>), (status = 400, body = ErrorBody)))]
pub(crate) async fn evidence_list(
    State(h): State<NodeHandle>,
    Q(q): Q<PageQuery>,
) -> ApiResult<Json<Page<EvidenceDto>>> {
    let (limit, cursor) = page(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        h.limits.page_entries_max,
    )?;
    let p = h.ledger.evidence_records(cursor, limit)?;
    Ok(Json(Page {
        items: p
            .items
            .iter()
            .map(|r| evidence_dto(r, &h.genesis))
            .collect(),
        next: p.next,
    }))
}

/// One piece of evidence by id (the `id` of the list).
#[utoipa::path(get, path = "/v1/evidence/{id}", tag = "governance",
    params(("id" = String, Path, description = "evidence id (hex)")),
    responses((status = 200, body = EvidenceDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn evidence_one(
    State(h): State<NodeHandle>,
    P(id): P<String>,
) -> ApiResult<Json<EvidenceDto>> {
    let key = hex::decode(&id).map_err(|_| {
        ApiError::bad_request(
            "bad_id",
            format!("evidence id must be hex, found {:?}", short(&id)),
        )
    })?;
    let r = h
        .ledger
        .evidence_record(&key)?
        .ok_or_else(|| ApiError::not_found(format!("no evidence {:?} on this node", short(&id))))?;
    Ok(Json(evidence_dto(&r, &h.genesis)))
}
