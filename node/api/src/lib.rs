//! # chancery-api — the HTTP layer
//!
//! Thin by design: parse the request, call the query layer (`chancery-ledger`) or send a
//! command to the node's driver, render JSON. This crate is the only part of the node that
//! knows JSON (and, with the explorer, HTML).
//!
//! Limits: request bodies (`request_bytes_max`), page sizes (`page_entries_max`),
//! concurrent requests and a per-request timeout, all from the node config.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod handle;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chancery_core::block::{Block, Outcome};
use chancery_core::genesis::Genesis;
use chancery_core::ids::{Digest, Height};
use chancery_core::tx::Transaction;
use chancery_ledger::Ledger;
use futures_util::stream::Stream;
use handle::{Command, Event, NodeStatus};
use serde::Serialize;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// Limits of the HTTP layer.
#[derive(Clone, Debug)]
pub struct ApiLimits {
    /// Largest request body, in bytes.
    pub request_bytes_max: usize,
    /// Most entries in one page.
    pub page_entries_max: usize,
    /// Most requests served at once.
    pub concurrent_requests_max: usize,
    /// Longest a request may take, in milliseconds.
    pub request_timeout_ms: u64,
    /// Most transactions in one batch submission.
    pub batch_txs_max: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            request_bytes_max: 1024 * 1024,
            page_entries_max: 100,
            concurrent_requests_max: 256,
            request_timeout_ms: 10_000,
            batch_txs_max: 1024,
        }
    }
}

/// Everything a request handler can reach.
#[derive(Clone)]
pub struct NodeHandle {
    /// The ledger (query layer).
    pub ledger: Arc<Ledger>,
    /// The genesis document.
    pub genesis: Arc<Genesis>,
    /// Commands to the driver.
    pub commands: mpsc::Sender<Command>,
    /// The node's status.
    pub status: watch::Receiver<NodeStatus>,
    /// Finalized blocks as they are applied.
    pub events: broadcast::Sender<Event>,
    /// Limits.
    pub limits: ApiLimits,
}

/// An error answer: `{code, message, details}` with an HTTP status.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: String,
    /// Human explanation: what was expected.
    pub message: String,
    /// Structured details.
    pub details: Value,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            details: Value::Null,
        }
    }
    fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    fn not_found(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    fn internal(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
    fn unavailable(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.code, "message": self.message, "details": self.details});
        (self.status, Json(body)).into_response()
    }
}

impl From<chancery_ledger::LedgerError> for ApiError {
    fn from(e: chancery_ledger::LedgerError) -> Self {
        ApiError::internal(e.to_string())
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The router with every route.
pub fn router(h: NodeHandle) -> Router {
    let limits = h.limits.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/status", get(status))
        .route("/v1/transactions", post(submit))
        .route("/v1/transactions/batch", post(submit_batch))
        .route("/v1/transactions/{hash}", get(tx_status))
        .route("/v1/blocks/latest", get(block_latest))
        .route("/v1/blocks/{height}", get(block_at))
        .route("/v1/members/{key}", get(member))
        .route("/v1/events", get(events))
        .layer(DefaultBodyLimit::max(limits.request_bytes_max))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(limits.request_timeout_ms),
        ))
        .layer(tower::limit::ConcurrencyLimitLayer::new(
            limits.concurrent_requests_max,
        ))
        .with_state(h)
}

/// Serve the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    h: NodeHandle,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(h))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(h): State<NodeHandle>) -> Response {
    let s = h.status.borrow().clone();
    let code = if s.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "ready": s.ready(),
        "height": s.height,
        "peer_height": s.peer_height,
        "validators_live": s.validators_live,
        "quorum": s.quorum,
        "validators": s.validators,
    });
    (code, Json(body)).into_response()
}

async fn status(State(h): State<NodeHandle>) -> Json<Value> {
    let s = h.status.borrow().clone();
    let tip = h.ledger.tip();
    Json(json!({
        "chain_id": h.ledger.chain_id(),
        "chain_name": h.genesis.chain_name,
        "node": s,
        "tip": {
            "height": tip.height,
            "hash": tip.hash,
            "time": tip.time,
            "log_size": tip.log_size,
            "log_root": tip.log_root,
            "state_root": tip.state_root,
        }
    }))
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum SubmitJson {
    Hex { tx: String },
    Tx(Box<Transaction>),
}

fn parse_tx_hex(s: &str) -> ApiResult<Transaction> {
    let bytes = hex::decode(s).map_err(|e| {
        ApiError::bad_request(
            "malformed",
            format!("`tx` must be the transaction's canonical bytes in hex: {e}"),
        )
    })?;
    Transaction::from_bytes(&bytes).map_err(|e| ApiError::bad_request("malformed", e.to_string()))
}

fn parse_submission(headers: &HeaderMap, body: &[u8]) -> ApiResult<Transaction> {
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
            SubmitJson::Hex { tx } => parse_tx_hex(&tx),
            SubmitJson::Tx(t) => {
                // Round-trip through the canonical codec so every rule applies to JSON too.
                Transaction::from_bytes(&t.to_bytes())
                    .map_err(|e| ApiError::bad_request("malformed", e.to_string()))
            }
        }
    } else {
        Transaction::from_bytes(body).map_err(|e| ApiError::bad_request("malformed", e.to_string()))
    }
}

async fn send_submit(
    h: &NodeHandle,
    txs: Vec<Transaction>,
) -> ApiResult<Vec<Result<Digest, chancery_mempool::AdmitError>>> {
    let (reply, rx) = oneshot::channel();
    h.commands
        .try_send(Command::Submit { txs, reply })
        .map_err(|_| ApiError::unavailable("the node is busy: its command queue is full; retry"))?;
    rx.await
        .map_err(|_| ApiError::unavailable("the node is shutting down"))
}

fn admit_error(e: &chancery_mempool::AdmitError) -> ApiError {
    let status = match e.code() {
        "pool_full" => StatusCode::SERVICE_UNAVAILABLE,
        "duplicate" => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let mut err = ApiError::new(status, e.code(), e.to_string());
    err.details = json!({ "reason": e.code() });
    err
}

async fn submit(
    State(h): State<NodeHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let tx = parse_submission(&headers, &body)?;
    let mut results = send_submit(&h, vec![tx]).await?;
    match results.pop() {
        Some(Ok(hash)) => Ok((StatusCode::ACCEPTED, Json(json!({"hash": hash}))).into_response()),
        Some(Err(e)) => Err(admit_error(&e)),
        None => Err(ApiError::internal("no answer from the mempool")),
    }
}

#[derive(serde::Deserialize)]
struct BatchJson {
    txs: Vec<String>,
}

async fn submit_batch(
    State(h): State<NodeHandle>,
    Json(b): Json<BatchJson>,
) -> ApiResult<Response> {
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
    let mut txs = Vec::with_capacity(b.txs.len());
    for (i, s) in b.txs.iter().enumerate() {
        txs.push(parse_tx_hex(s).map_err(|mut e| {
            e.message = format!("txs[{i}]: {}", e.message);
            e
        })?);
    }
    let results = send_submit(&h, txs).await?;
    let out: Vec<Value> = results
        .iter()
        .map(|r| match r {
            Ok(hash) => json!({"hash": hash}),
            Err(e) => json!({"code": e.code(), "message": e.to_string()}),
        })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(json!({ "results": out }))).into_response())
}

fn parse_digest(s: &str, what: &str) -> ApiResult<Digest> {
    s.parse().map_err(|_| {
        ApiError::bad_request(
            "malformed",
            format!("{what} must be 64 lower-case hex digits, found {s:?}"),
        )
    })
}

async fn tx_status(
    State(h): State<NodeHandle>,
    Path(hash): Path<String>,
) -> ApiResult<Json<Value>> {
    let hash = parse_digest(&hash, "transaction hash")?;
    if let Some(rec) = h.ledger.tx(&hash)? {
        let (status, reason) = match rec.entry.outcome {
            Outcome::Applied => ("finalized", Value::Null),
            Outcome::Rejected(r) => ("rejected", json!(r)),
        };
        return Ok(Json(json!({
            "hash": hash,
            "status": status,
            "reason": reason,
            "height": rec.entry.height,
            "index": rec.index,
            "time": rec.entry.time,
            "record_kind": rec.entry.tx.body.record.kind(),
            "subject": rec.entry.tx.body.record.subject_id(),
            "transaction": rec.entry.tx,
        })));
    }
    let (reply, rx) = oneshot::channel();
    if h.commands
        .try_send(Command::IsPending { hash, reply })
        .is_ok()
        && rx.await.unwrap_or(false)
    {
        return Ok(Json(json!({"hash": hash, "status": "pending"})));
    }
    Err(ApiError::not_found(format!(
        "transaction {hash} is neither finalized nor pending on this node"
    )))
}

#[derive(Serialize)]
struct BlockJson<'a> {
    hash: Digest,
    header: &'a chancery_core::block::BlockHeader,
    transactions: Vec<Value>,
    certificate: &'a chancery_core::cert::Certificate,
}

fn render_block(b: &Block, cert: &chancery_core::cert::Certificate) -> Value {
    let txs = b
        .txs
        .iter()
        .map(|t| {
            json!({
                "hash": t.hash(),
                "signer": t.body.signer,
                "seq": t.body.seq,
                "record_kind": t.body.record.kind(),
                "subject": t.body.record.subject_id(),
            })
        })
        .collect();
    serde_json::to_value(BlockJson {
        hash: b.header.hash(),
        header: &b.header,
        transactions: txs,
        certificate: cert,
    })
    .unwrap_or(Value::Null)
}

async fn block_at(
    State(h): State<NodeHandle>,
    Path(height): Path<String>,
) -> ApiResult<Json<Value>> {
    let height: u64 = height.parse().map_err(|_| {
        ApiError::bad_request(
            "malformed",
            format!("height must be a decimal integer, found {height:?}"),
        )
    })?;
    match h.ledger.block(Height(height))? {
        Some((b, c)) => Ok(Json(render_block(&b, &c))),
        None => Err(ApiError::not_found(format!(
            "no block at height {height}; the last is {}",
            h.ledger.tip().height
        ))),
    }
}

async fn block_latest(State(h): State<NodeHandle>) -> ApiResult<Json<Value>> {
    let tip = h.ledger.tip().height;
    if tip == Height(0) {
        return Err(ApiError::not_found("no block has been finalized yet"));
    }
    match h.ledger.block(tip)? {
        Some((b, c)) => Ok(Json(render_block(&b, &c))),
        None => Err(ApiError::internal(format!("tip block {tip} missing"))),
    }
}

async fn events(
    State(h): State<NodeHandle>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    use futures_util::StreamExt;
    let rx = h.events.subscribe();
    let stream = tokio_stream::wrappers::BroadcastStream::new(rx).filter_map(|e| async move {
        match e {
            Ok(Event::Block {
                height,
                hash,
                tx_count,
                log_size,
            }) => Some(Ok(SseEvent::default().event("block").data(
                json!({"height": height, "hash": hash, "tx_count": tx_count, "log_size": log_size})
                    .to_string(),
            ))),
            // A slow client missed events: it can re-read the latest block.
            Err(_) => Some(Ok(SseEvent::default().event("lagged").data("{}"))),
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn member(State(h): State<NodeHandle>, Path(key): Path<String>) -> ApiResult<Json<Value>> {
    let key: chancery_core::PublicKey = key.parse().map_err(|_| {
        ApiError::bad_request(
            "malformed",
            format!("member key must be 64 lower-case hex digits, found {key:?}"),
        )
    })?;
    let m = h
        .ledger
        .member(&key)?
        .ok_or_else(|| ApiError::not_found(format!("{key} is not a member key on this ledger")))?;
    let next_seq = match h
        .ledger
        .state_value(&chancery_core::state::StateKey::Seq(key))?
    {
        Some(chancery_core::state::StateValue::Seq(s)) => s.0,
        _ => 0,
    };
    Ok(Json(json!({
        "key": key,
        "agency": m.agency,
        "name": m.name,
        "roles": m.roles,
        "revoked": m.revoked,
        "next_seq": next_seq,
    })))
}
