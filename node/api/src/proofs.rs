//! Proofs: checkpoints, receipts, log inclusion and consistency proofs, state proofs. Each
//! verifies offline with the kernel and the genesis file (a receipt or a state proof of a
//! later epoch carries the epoch links that prove its checkpoint from the genesis).

use crate::params::{digest, height, id, number, P, Q};
use crate::{ApiError, ApiResult, NodeHandle};
use axum::extract::State;
use axum::Json;
use chancery_api_types::*;
use chancery_core::checkpoint::Checkpoint;
use chancery_core::codec;
use chancery_core::receipt::Receipt;
use chancery_core::state::{StateKey, StateProof};
use chancery_core::validator::ValidatorSet;
use chancery_core::Height;
use serde::Deserialize;
use utoipa::IntoParams;

/// The validator set of a checkpoint's epoch (its signers' names for the text form).
fn checkpoint_set(h: &NodeHandle, cp: &Checkpoint) -> ApiResult<ValidatorSet> {
    h.ledger
        .validator_set_of_epoch(cp.header.epoch)?
        .ok_or_else(|| {
            ApiError::internal(format!(
                "checkpoint at height {} is of epoch {}, which has no validator set here",
                cp.header.height, cp.header.epoch
            ))
        })
}

pub(crate) fn checkpoint_dto(h: &NodeHandle, cp: &Checkpoint) -> ApiResult<CheckpointDto> {
    let set = checkpoint_set(h, cp)?;
    let text = cp.to_text(&set).map_err(|e| {
        ApiError::internal(format!(
            "checkpoint at height {} has no text form: {e}",
            cp.header.height
        ))
    })?;
    Ok(CheckpointDto {
        height: cp.header.height.0,
        size: cp.header.log_size,
        root: cp.header.log_root.to_hex(),
        state_root: cp.header.state_root.to_hex(),
        checkpoint: hex::encode(codec::encode(cp)),
        text,
    })
}

/// The latest checkpoint: the highest block carrying its own finalization certificate.
#[utoipa::path(get, path = "/v1/checkpoints/latest", tag = "proofs",
    responses((status = 200, body = CheckpointDto), (status = 404, body = ErrorBody)))]
pub(crate) async fn checkpoint_latest(
    State(h): State<NodeHandle>,
) -> ApiResult<Json<CheckpointDto>> {
    let cp = h
        .ledger
        .latest_checkpoint()?
        .ok_or_else(|| ApiError::not_found("no block has been finalized yet"))?;
    Ok(Json(checkpoint_dto(&h, &cp)?))
}

/// The checkpoint certifying the block at `height` (for a block finalized together with a
/// descendant, that descendant's checkpoint: `height` in the answer is then higher).
#[utoipa::path(get, path = "/v1/checkpoints/{height}", tag = "proofs",
    params(("height" = u64, Path, description = "block height")),
    responses((status = 200, body = CheckpointDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn checkpoint_at(
    State(h): State<NodeHandle>,
    P(ht): P<String>,
) -> ApiResult<Json<CheckpointDto>> {
    let ht = height(&ht, "height")?;
    let cp = h.ledger.checkpoint(ht)?;
    Ok(Json(checkpoint_dto(&h, &cp)?))
}

/// The receipt of a transaction in the log: exactly the kernel's
/// `chancery_core::receipt::Receipt`, which `chancery verify receipt.json --genesis
/// genesis.json` checks offline. A receipt whose checkpoint is of epoch `e > 0` is v2 and
/// carries the `e` links of the epoch chain (`GET /v1/epochs`) in `epochs`.
#[utoipa::path(get, path = "/v1/receipts/{tx_hash}", tag = "proofs",
    params(("tx_hash" = String, Path, description = "transaction hash, 64 hex digits")),
    responses((status = 200, body = ReceiptDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn receipt(
    State(h): State<NodeHandle>,
    P(hash): P<String>,
) -> ApiResult<Json<Receipt>> {
    let hash = digest(&hash, "transaction hash")?;
    let r = h.ledger.receipt(&hash)?.ok_or_else(|| {
        ApiError::not_found(format!(
            "transaction {hash} is not in the log of this node (pending, unknown, or not yet finalized)"
        ))
    })?;
    Ok(Json(r))
}

/// Query of `GET /v1/proofs/inclusion`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct InclusionQuery {
    /// Log index (required).
    #[param(value_type = u64)]
    index: Option<String>,
    /// Log size, index < size <= current size (required).
    #[param(value_type = u64)]
    size: Option<String>,
}

fn required<'a>(v: &'a Option<String>, name: &str, what: &str) -> ApiResult<&'a str> {
    v.as_deref().ok_or_else(|| {
        ApiError::bad_request(
            "missing_parameter",
            format!("`{name}` ({what}) is required"),
        )
    })
}

/// Inclusion proof of log entry `index` in the log of `size` entries, with the entry.
#[utoipa::path(get, path = "/v1/proofs/inclusion", tag = "proofs", params(InclusionQuery),
    responses((status = 200, body = InclusionDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn inclusion(
    State(h): State<NodeHandle>,
    Q(q): Q<InclusionQuery>,
) -> ApiResult<Json<InclusionDto>> {
    let index = number(required(&q.index, "index", "a log index")?, "index")?;
    let size = number(required(&q.size, "size", "a log size")?, "size")?;
    let proof = h.ledger.inclusion_proof(index, size)?;
    let leaf = h.ledger.log_entry_bytes(index)?.ok_or_else(|| {
        ApiError::internal(format!("log entry {index} below the log size is missing"))
    })?;
    Ok(Json(InclusionDto {
        index,
        size,
        proof: proof.iter().map(|d| d.to_hex()).collect(),
        leaf: hex::encode(leaf),
    }))
}

/// Query of `GET /v1/proofs/consistency`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConsistencyQuery {
    /// Old log size, at least 1 (required).
    #[param(value_type = u64)]
    first: Option<String>,
    /// New log size, first <= second <= current size (required).
    #[param(value_type = u64)]
    second: Option<String>,
}

/// Consistency proof from the log of `first` entries to the log of `second` entries.
#[utoipa::path(get, path = "/v1/proofs/consistency", tag = "proofs", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn consistency(
    State(h): State<NodeHandle>,
    Q(q): Q<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyDto>> {
    let first = number(required(&q.first, "first", "the old log size")?, "first")?;
    let second = number(required(&q.second, "second", "the new log size")?, "second")?;
    let proof = h.ledger.consistency_proof(first, second)?;
    Ok(Json(ConsistencyDto {
        first,
        second,
        proof: proof.iter().map(|d| d.to_hex()).collect(),
    }))
}

/// Query of the state proofs.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct StateQuery {
    /// Height of the state (default: the latest checkpoint).
    #[param(value_type = Option<u64>)]
    height: Option<String>,
}

/// A proof of `key` against the checkpoint at `at` (the latest if `None`).
pub(crate) fn state_proof(
    h: &NodeHandle,
    key: StateKey,
    at: Option<Height>,
) -> ApiResult<(StateProof, Checkpoint)> {
    Ok(h.ledger.state_proof(&key, at)?)
}

/// The bundle `chancery verify` checks: the proof, its checkpoint and, for a checkpoint of
/// epoch `e > 0`, the `e` epoch links that prove its validator set from the genesis.
pub(crate) fn state_proof_dto(
    h: &NodeHandle,
    proof: &StateProof,
    cp: &Checkpoint,
) -> ApiResult<StateProofDto> {
    let links = h.ledger.epoch_links(cp.header.epoch)?;
    Ok(StateProofDto {
        height: cp.header.height.0,
        state_root: cp.header.state_root.to_hex(),
        proof: serde_json::to_value(proof).unwrap_or(serde_json::Value::Null),
        proof_hex: hex::encode(codec::encode(proof)),
        checkpoint: hex::encode(codec::encode(cp)),
        epochs: links
            .iter()
            .map(|l| hex::encode(codec::encode(l)))
            .collect(),
    })
}

fn state_bundle(h: &NodeHandle, key: StateKey, q: &StateQuery) -> ApiResult<StateProofDto> {
    let at: Option<Height> = q
        .height
        .as_deref()
        .map(|s| height(s, "height"))
        .transpose()?;
    let (proof, cp) = state_proof(h, key, at)?;
    state_proof_dto(h, &proof, &cp)
}

/// Proof of an asset's state (custodian, status) or absence at a height, with the
/// checkpoint whose state root it leads to.
#[utoipa::path(get, path = "/v1/proofs/state/asset/{id}", tag = "proofs",
    params(("id" = String, Path, description = "asset id"), StateQuery),
    responses((status = 200, body = StateProofDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn state_asset(
    State(h): State<NodeHandle>,
    P(aid): P<String>,
    Q(q): Q<StateQuery>,
) -> ApiResult<Json<StateProofDto>> {
    let aid = id(&aid, "asset id")?;
    Ok(Json(state_bundle(
        &h,
        StateKey::Asset(aid.to_string()),
        &q,
    )?))
}

/// Proof of a grant's state (dates, revoked) or absence at a height, with the checkpoint
/// whose state root it leads to; the grant is active at that checkpoint's block time iff
/// `GrantState::is_active_at(header.time)`.
#[utoipa::path(get, path = "/v1/proofs/state/grant/{id}", tag = "proofs",
    params(("id" = String, Path, description = "grant id"), StateQuery),
    responses((status = 200, body = StateProofDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn state_grant(
    State(h): State<NodeHandle>,
    P(gid): P<String>,
    Q(q): Q<StateQuery>,
) -> ApiResult<Json<StateProofDto>> {
    let gid = id(&gid, "grant id")?;
    Ok(Json(state_bundle(
        &h,
        StateKey::Grant(gid.to_string()),
        &q,
    )?))
}
