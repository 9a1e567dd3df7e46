//! Node status, submission, transaction status, the event stream.

use crate::caps::SseSlots;
use crate::handle::{Command, Event, NodeStatus};
use crate::params::{digest, P};
use crate::{ApiError, ApiResult, NodeHandle};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chancery_api_types::{
    BatchDto, BatchItem, BatchRequest, BlockEvent, ErrorBody, ReadyDto, StateTreeDto, StatusDto,
    SubmitDto, TipDto, TxStatusDto,
};
use chancery_core::block::Outcome;
use chancery_core::ids::Digest;
use chancery_core::suite::Suite;
use chancery_core::tx::Transaction;
use chancery_mempool::{AdmitError, Verdicts};
use futures_util::stream::Stream;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::oneshot;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "node",
    responses((status = 200, description = "alive", body = String, content_type = "text/plain")))]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: caught up and, for a validator, seeing a quorum. 200 with the status, or 503
/// with the error shape (`not_ready`) and the status in `details`.
#[utoipa::path(get, path = "/readyz", tag = "node",
    responses(
        (status = 200, description = "ready", body = ReadyDto),
        (status = 503, description = "not ready", body = ErrorBody)))]
pub(crate) async fn readyz(State(h): State<NodeHandle>) -> Response {
    let s = h.status.borrow().clone();
    let body = ReadyDto {
        ready: s.ready(),
        height: s.height,
        peer_height: s.peer_height,
        validators_live: s.validators_live,
        quorum: s.quorum,
        validators: s.validators,
    };
    if s.ready() {
        return (StatusCode::OK, Json(body)).into_response();
    }
    let why = if !s.started {
        "consensus is not running on this node (not started, or a read-only API server)".to_string()
    } else if s.height + NodeStatus::LAG_BLOCKS_MAX < s.peer_height {
        format!(
            "catching up: at height {}, peers at {} (at most {} behind is ready)",
            s.height,
            s.peer_height,
            NodeStatus::LAG_BLOCKS_MAX
        )
    } else {
        format!(
            "this validator sees {} live validators, a quorum needs {}",
            s.validators_live, s.quorum
        )
    };
    let mut e = ApiError::unavailable(format!("not ready: {why}"));
    e.code = "not_ready".into();
    e.details = serde_json::to_value(&body).unwrap_or(Value::Null);
    e.into_response()
}

/// Chain id, node status, the tip (height, hash, time, log size and root, state root) and
/// the indexed height (index queries answer as of it).
#[utoipa::path(get, path = "/v1/status", tag = "node",
    responses((status = 200, description = "status", body = StatusDto)))]
pub(crate) async fn status(State(h): State<NodeHandle>) -> Json<StatusDto> {
    let s = h.status.borrow().clone();
    let tip = h.ledger.tip();
    Json(StatusDto {
        chain_id: h.ledger.chain_id().to_hex(),
        chain_name: h.genesis.chain_name.clone(),
        crypto: h.genesis.crypto.name().to_string(),
        node: s,
        tip: TipDto {
            height: tip.height.0,
            hash: tip.hash.to_hex(),
            time: tip.time.0,
            log_size: tip.log_size,
            log_root: tip.log_root.to_hex(),
            state_root: tip.state_root.to_hex(),
        },
        // One point read; an unreadable value shows as not indexed.
        indexed_height: h.ledger.indexed_height().ok().flatten().map(|h| h.0),
        state_tree: Some({
            let t = h.ledger.tree_status();
            StateTreeDto {
                flushed_height: t.flushed.0,
                proofs_from_height: t.window_from.0,
                nodes_in_memory: t.nodes_in_memory as u64,
                flush_failures: t.flush_failures,
            }
        }),
    })
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum SubmitJson {
    Hex { tx: String },
    Tx(Box<Transaction>),
}

fn parse_tx_hex(suite: Suite, s: &str) -> ApiResult<Transaction> {
    let bytes = hex::decode(s).map_err(|e| {
        ApiError::bad_request(
            "malformed",
            format!("`tx` must be the transaction's canonical bytes in hex: {e}"),
        )
    })?;
    Transaction::from_bytes(suite, &bytes)
        .map_err(|e| ApiError::bad_request("malformed", e.to_string()))
}

fn parse_submission(suite: Suite, headers: &HeaderMap, body: &[u8]) -> ApiResult<Transaction> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/json") {
        let j: SubmitJson = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(
                "malformed",
                format!("expected {{\"tx\": HEX}} or a transaction object: {e}"),
            )
        })?;
        match j {
            SubmitJson::Hex { tx } => parse_tx_hex(suite, &tx),
            SubmitJson::Tx(t) => {
                // Round-trip through the canonical codec so every rule applies to JSON too.
                Transaction::from_bytes(suite, &t.to_bytes())
                    .map_err(|e| ApiError::bad_request("malformed", e.to_string()))
            }
        }
    } else {
        Transaction::from_bytes(suite, body)
            .map_err(|e| ApiError::bad_request("malformed", e.to_string()))
    }
}

fn body_error(r: BytesRejection) -> ApiError {
    let status = r.status();
    ApiError::new(
        status,
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "bad_body"
        },
        format!("request body: {}", r.body_text()),
    )
}

/// What the submission routes know of the pool's backlog bound ([`AdmitError::Backlog`]):
/// the bound as the pool last reported it, in a backlog refusal or an `unverified` answer
/// (0: none yet). With the node's status (pending transactions, at most a status tick old),
/// it tells when a submission is likely past the bound: then the pool is asked first, with
/// no signature checked, and only what it would take is checked (issue 17).
#[derive(Clone, Default)]
pub(crate) struct BacklogGate(Arc<AtomicUsize>);

impl BacklogGate {
    /// Whether `pending` transactions are at or past the bound last reported.
    fn ask_first(&self, pending: usize) -> bool {
        let max = self.0.load(Ordering::Relaxed);
        max > 0 && pending >= max
    }

    /// Remember the bound the pool reported in `answers`, if it did.
    fn learn(&self, answers: &[Result<Digest, AdmitError>]) {
        let reported = answers.iter().rev().find_map(|a| match a {
            Err(AdmitError::Backlog { backlog_max, .. })
            | Err(AdmitError::Unverified { backlog_max, .. }) => Some(*backlog_max),
            _ => None,
        });
        if let Some(max) = reported {
            self.0.store(max, Ordering::Relaxed);
        }
    }
}

/// One submission to the driver, with signature verdicts (or [`Verdicts::deferred`]).
async fn command(
    h: &NodeHandle,
    txs: Vec<Transaction>,
    verdicts: Verdicts,
) -> ApiResult<Vec<Result<Digest, AdmitError>>> {
    let n = txs.len();
    let (reply, rx) = oneshot::channel();
    h.commands
        .try_send(Command::Submit {
            txs,
            verdicts,
            reply,
        })
        .map_err(|e| match e {
            TrySendError::Full(_) => {
                ApiError::unavailable("the node is busy: its command queue is full; retry")
                    .retry_after(crate::caps::RETRY_AFTER_S)
            }
            TrySendError::Closed(_) => ApiError::unavailable(
                "this node does not accept transactions (a read-only API server, or shutting down); submit to a node running consensus",
            ),
        })?;
    let answers = rx
        .await
        .map_err(|_| ApiError::unavailable("the node is shutting down"))?;
    if answers.len() != n {
        return Err(ApiError::internal(format!(
            "the mempool answered {} results for {n} transactions",
            answers.len()
        )));
    }
    Ok(answers)
}

/// Submit `txs` to the pool ([`submit_to_pool`]) and record the answers in the node's
/// metrics: the admitted ones' submission time (for their finality), the refusals by code.
async fn send_submit(
    h: &NodeHandle,
    gate: &BacklogGate,
    txs: Vec<Transaction>,
) -> ApiResult<Vec<Result<Digest, AdmitError>>> {
    let received = std::time::Instant::now();
    let results = submit_to_pool(h, gate, txs).await?;
    h.metrics.submitted_at(
        results.iter().filter_map(|r| r.as_ref().ok().copied()),
        received,
    );
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        h.metrics.refused(e.code());
    }
    Ok(results)
}

async fn submit_to_pool(
    h: &NodeHandle,
    gate: &BacklogGate,
    txs: Vec<Transaction>,
) -> ApiResult<Vec<Result<Digest, AdmitError>>> {
    let n = txs.len();
    let mut results: Vec<Option<Result<Digest, AdmitError>>> = vec![None; n];
    // Past the backlog bound most submissions are refused: ask the pool first, without
    // signatures, so that a refusal costs no signature check (issue 17).
    let ask_first = gate.ask_first(h.status.borrow().mempool_txs);
    let (to_check, txs): (Vec<usize>, Vec<Transaction>) = if ask_first {
        let answers = command(h, txs.clone(), Verdicts::deferred()).await?;
        gate.learn(&answers);
        let mut to_check = Vec::new();
        for (i, a) in answers.into_iter().enumerate() {
            match a {
                Err(AdmitError::Unverified { .. }) => to_check.push(i),
                a => results[i] = Some(a),
            }
        }
        let mut txs: Vec<Option<Transaction>> = txs.into_iter().map(Some).collect();
        let picked = to_check.iter().filter_map(|&i| txs[i].take()).collect();
        (to_check, picked)
    } else {
        ((0..n).collect(), txs)
    };
    if !txs.is_empty() {
        // Signatures are checked here, on the API's bounded blocking pool (every submission
        // route runs there), not by the driver that runs consensus (issue 14, finding 5).
        let verdicts = Verdicts::compute(&h.ledger.chain_id(), &txs);
        let answers = command(h, txs, verdicts).await?;
        gate.learn(&answers);
        for (i, a) in to_check.into_iter().zip(answers) {
            results[i] = Some(a);
        }
    }
    results
        .into_iter()
        .map(|r| r.ok_or_else(|| ApiError::internal("no answer from the mempool")))
        .collect()
}

/// Seconds after which a refused transaction may be admitted, for refusals a wait can cure:
/// past the backlog bound, the pool's estimate; a full pool, [`crate::caps::RETRY_AFTER_S`].
fn retry_after_s(e: &AdmitError) -> Option<u64> {
    match e {
        AdmitError::PoolFull { .. } => Some(crate::caps::RETRY_AFTER_S),
        e => e.retry_after_s(),
    }
}

fn admit_error(e: &AdmitError) -> ApiError {
    let status = match e.code() {
        "pool_full" => StatusCode::SERVICE_UNAVAILABLE,
        "duplicate" => StatusCode::CONFLICT,
        "unverified" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let mut err = ApiError::new(status, e.code(), e.to_string());
    err.details = match e {
        AdmitError::Backlog {
            backlog,
            backlog_max,
            retry_after_s,
        } => json!({
            "reason": e.code(),
            "limit": "backlog_max",
            "backlog_max": backlog_max,
            "backlog": backlog,
            "retry_after_s": retry_after_s,
        }),
        AdmitError::PoolFull { limit, max } => json!({
            "reason": e.code(),
            "limit": limit.as_str(),
            "max": max,
            "retry_after_s": crate::caps::RETRY_AFTER_S,
        }),
        _ => json!({ "reason": e.code() }),
    };
    if let Some(s) = retry_after_s(e) {
        err = err.retry_after(s);
    }
    err
}

/// Submit one signed transaction: its canonical bytes (`application/octet-stream`), or
/// JSON `{"tx": HEX}` or the transaction object (`application/json`). Answers 202 with its hash.
#[utoipa::path(post, path = "/v1/transactions", tag = "transactions",
    request_body(content(
        (Vec<u8> = "application/octet-stream"),
        (Object = "application/json"))),
    responses(
        (status = 202, description = "admitted to the mempool", body = SubmitDto),
        (status = 400, description = "malformed", body = ErrorBody),
        (status = 409, description = "duplicate", body = ErrorBody),
        (status = 413, description = "body too large", body = ErrorBody),
        (status = 422, description = "refused by admission rules", body = ErrorBody),
        (status = 503, description = "`pool_full` (with `Retry-After`): the pool is full, or past its backlog bound (a few seconds of work at the finalized rate) and this transaction would extend its signer's tail; `details` names the limit (`limit`: `backlog_max`, with `backlog_max`, `backlog`, `retry_after_s`; or `txs_max`/`bytes_max` with `max`). Also a busy node (`unavailable`, with `Retry-After`) or a read-only server (without)", body = ErrorBody)))]
pub(crate) async fn submit(
    State(h): State<NodeHandle>,
    Extension(gate): Extension<BacklogGate>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(body_error)?;
    let tx = parse_submission(h.ledger.genesis().crypto, &headers, &body)?;
    let mut results = send_submit(&h, &gate, vec![tx]).await?;
    match results.pop() {
        Some(Ok(hash)) => Ok((
            StatusCode::ACCEPTED,
            Json(SubmitDto {
                hash: hash.to_hex(),
            }),
        )
            .into_response()),
        Some(Err(e)) => Err(admit_error(&e)),
        None => Err(ApiError::internal("no answer from the mempool")),
    }
}

/// Submit up to `batch_txs_max` transactions: `{"txs": [HEX, ...]}`; one result per
/// transaction, `{"hash"}` or `{"code","message"}`.
#[utoipa::path(post, path = "/v1/transactions/batch", tag = "transactions",
    request_body(content = BatchRequest, content_type = "application/json", description = "{\"txs\": [HEX, ...]}"),
    responses(
        (status = 202, description = "one result per transaction; a `pool_full` refusal (a full pool, or past the backlog bound a transaction that would extend its signer's tail) carries `retry_after_s`, and the answer then has `Retry-After` (the longest)", body = BatchDto),
        (status = 400, description = "malformed", body = ErrorBody),
        (status = 503, description = "node busy (with `Retry-After`) or a read-only server", body = ErrorBody)))]
pub(crate) async fn submit_batch(
    State(h): State<NodeHandle>,
    Extension(gate): Extension<BacklogGate>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(body_error)?;
    let b: BatchRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "malformed",
            format!("expected {{\"txs\": [HEX, ...]}}: {e}"),
        )
    })?;
    if b.txs.len() > h.limits.batch_txs_max {
        return Err(ApiError::bad_request(
            "too_many",
            format!(
                "at most {} transactions per batch, found {}",
                h.limits.batch_txs_max,
                b.txs.len()
            ),
        ));
    }
    let suite = h.ledger.genesis().crypto;
    let mut txs = Vec::with_capacity(b.txs.len());
    for (i, s) in b.txs.iter().enumerate() {
        txs.push(parse_tx_hex(suite, s).map_err(|mut e| {
            e.message = format!("txs[{i}]: {}", e.message);
            e
        })?);
    }
    let results = send_submit(&h, &gate, txs).await?;
    // Refusals a wait can cure say when, per transaction and (the longest) in the header,
    // as a single refusal does.
    let mut retry_after: Option<u64> = None;
    let results = results
        .iter()
        .map(|r| match r {
            Ok(hash) => BatchItem::Admitted {
                hash: hash.to_hex(),
            },
            Err(e) => {
                let wait = retry_after_s(e);
                retry_after = retry_after.max(wait);
                BatchItem::Refused {
                    code: e.code().to_string(),
                    message: e.to_string(),
                    retry_after_s: wait,
                }
            }
        })
        .collect();
    let mut res = (StatusCode::ACCEPTED, Json(BatchDto { results })).into_response();
    if let Some(s) = retry_after {
        res.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, s.into());
    }
    Ok(res)
}

/// A transaction's status: `pending`, `finalized` (height, index, result) or `rejected` (reason).
#[utoipa::path(get, path = "/v1/transactions/{hash}", tag = "transactions",
    params(("hash" = String, Path, description = "transaction hash, 64 hex digits")),
    responses(
        (status = 200, description = "status", body = TxStatusDto),
        (status = 400, description = "malformed hash", body = ErrorBody),
        (status = 404, description = "unknown", body = ErrorBody)))]
pub(crate) async fn tx_status(
    State(h): State<NodeHandle>,
    P(hash): P<String>,
) -> ApiResult<Json<TxStatusDto>> {
    let hash = digest(&hash, "transaction hash")?;
    if let Some(rec) = h.ledger.tx(&hash)? {
        let (status, reason) = match rec.entry.outcome {
            Outcome::Applied => ("finalized", None),
            Outcome::Rejected(r) => ("rejected", Some(r)),
        };
        return Ok(Json(TxStatusDto {
            hash: hash.to_hex(),
            status: status.into(),
            reason: reason.map(|r| r.as_str()),
            height: Some(rec.entry.height.0),
            index: Some(rec.index),
            time: Some(rec.entry.time.0),
            record_kind: Some(rec.entry.tx.body.record.kind().as_str().to_string()),
            subject: Some(rec.entry.tx.body.record.subject_id()),
            transaction: Some(
                serde_json::to_value(&rec.entry.tx)
                    .map_err(|e| ApiError::internal(format!("rendering the transaction: {e}")))?,
            ),
        }));
    }
    let (reply, rx) = oneshot::channel();
    if h.commands
        .try_send(Command::IsPending { hash, reply })
        .is_ok()
        && rx.await.unwrap_or(false)
    {
        return Ok(Json(TxStatusDto {
            hash: hash.to_hex(),
            status: "pending".into(),
            reason: None,
            height: None,
            index: None,
            time: None,
            record_kind: None,
            subject: None,
            transaction: None,
        }));
    }
    Err(ApiError::not_found(format!(
        "transaction {hash} is neither finalized nor pending on this node"
    )))
}

/// Server-sent events: `block` for each finalized block (height, hash, tx_count,
/// log_size), then `checkpoint` with the latest checkpoint (the same JSON as
/// `/v1/checkpoints/latest`; a block finalized by a later one repeats the previous
/// checkpoint, so watchers keep the highest height); `lagged` if this client missed some.
/// At most `sse_streams_max` streams are open at once (then 503) and
/// `sse_streams_per_address_max` per client address (then 429), both with `Retry-After`.
#[utoipa::path(get, path = "/v1/events", tag = "node",
    responses((status = 200, description = "event stream", content_type = "text/event-stream", body = String),
        (status = 429, description = "too many streams from this address", body = ErrorBody),
        (status = 503, description = "too many streams in total", body = ErrorBody)))]
pub(crate) async fn events(
    State(h): State<NodeHandle>,
    Extension(slots): Extension<SseSlots>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, crate::caps::StreamRefused> {
    use futures_util::StreamExt;
    let ip = client.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0 .0.ip());
    // Held by the stream: released when the client goes away.
    let slot = slots.acquire(ip)?;
    let rx = h.events.subscribe();
    let stream = tokio_stream::wrappers::BroadcastStream::new(rx).flat_map(move |e| {
        let _held = &slot;
        let mut out: Vec<Result<SseEvent, Infallible>> = Vec::with_capacity(2);
        match e {
            Ok(Event::Block {
                height,
                hash,
                tx_count,
                log_size,
            }) => {
                let block = BlockEvent {
                    height: height.0,
                    hash: hash.to_hex(),
                    tx_count,
                    log_size,
                };
                out.push(Ok(SseEvent::default()
                    .event("block")
                    .data(serde_json::to_string(&block).unwrap_or_default())));
                // A checkpoint that cannot be read now is skipped: the next block brings one.
                if let Some(data) = cached_checkpoint_json(&h, &slots.1) {
                    out.push(Ok(SseEvent::default().event("checkpoint").data(data)));
                }
            }
            // A slow client missed events: it can re-read the latest block.
            Err(_) => out.push(Ok(SseEvent::default().event("lagged").data("{}"))),
        }
        futures_util::stream::iter(out)
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// [`latest_checkpoint_json`] through the streams' shared cache, keyed by the tip height.
fn cached_checkpoint_json(h: &NodeHandle, cache: &crate::caps::CheckpointCache) -> Option<String> {
    let tip = h.ledger.tip().height.0;
    if let Ok(c) = cache.lock() {
        if let Some((_, json)) = c.as_ref().filter(|(at, _)| *at == tip) {
            return Some(json.to_string());
        }
    }
    let json = latest_checkpoint_json(h)?;
    if let Ok(mut c) = cache.lock() {
        *c = Some((tip, json.as_str().into()));
    }
    Some(json)
}

/// The latest checkpoint as `/v1/checkpoints/latest` renders it, if there is one.
fn latest_checkpoint_json(h: &NodeHandle) -> Option<String> {
    let cp = h.ledger.latest_checkpoint().ok()??;
    let dto = crate::proofs::checkpoint_dto(h, &cp).ok()?;
    serde_json::to_string(&dto).ok()
}
