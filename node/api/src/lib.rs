//! # chancery-api — the HTTP layer
//!
//! Thin by design: parse the request, call the query layer (`chancery-ledger`) or send a
//! command to the node's driver, render JSON. This crate is the only part of the node that
//! knows JSON (and, with the explorer, HTML). The routes and their shapes are in
//! `docs/api.md`; the OpenAPI 3 document, generated from the handlers with `utoipa`, is
//! served at `GET /v1/openapi.json`.
//!
//! Limits: request bodies (`request_bytes_max`), page sizes (`page_entries_max`),
//! concurrent requests, a per-request timeout, a request rate per client address
//! (`requests_per_s_max`, `request_burst_max`), handlers on a bounded blocking pool
//! (`blocking_reads_max`), raw block pages by bytes (`raw_page_bytes_max`), event streams
//! and TCP connections in total and per address (`sse_streams_max`,
//! `sse_streams_per_address_max`, `connections_max`, `connections_per_address_max`), all
//! from the node config (see [`caps`]). Every answer that
//! is not a success is the JSON error `{code, message, details}`, including the ones the
//! framework makes (unknown route, wrong method, body too large), and a handler that panics
//! answers 500 instead of dropping the connection.

pub mod caps;
pub mod evidence;
pub mod governance;
pub mod handle;
mod layers;
pub mod metrics;
mod params;
pub mod process;
mod proofs;
mod reads;
mod tx;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chancery_core::genesis::Genesis;
use chancery_ledger::{Ledger, LedgerError, ProofRequestError};
use handle::{Command, Event, NodeStatus};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, watch};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use axum::Router;
pub use layers::RateLimiter;

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
    /// Sustained requests per second allowed to one client address.
    pub requests_per_s_max: u32,
    /// Requests one client address may send at once above the sustained rate.
    pub request_burst_max: u32,
    /// Most client addresses whose rate is tracked; beyond it, idle ones are forgotten.
    pub rate_limit_clients_max: usize,
    /// Most handlers running on the blocking thread pool at once (store reads, large
    /// encodings); over it a request is answered 503 with `Retry-After`.
    pub blocking_reads_max: usize,
    /// Most supplier names one search scans for a name containing the query (names that
    /// start with it are found through the sorted index, without a scan).
    pub search_scan_max: usize,
    /// A page of raw blocks stops before the block that would bring its hex (blocks and
    /// certificates) past this many bytes; a page holds at least one block.
    pub raw_page_bytes_max: usize,
    /// Most event streams open at once.
    pub sse_streams_max: usize,
    /// Most event streams open at once from one client address.
    pub sse_streams_per_address_max: usize,
    /// Most TCP connections open at once.
    pub connections_max: usize,
    /// Most TCP connections open at once from one client address.
    pub connections_per_address_max: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            request_bytes_max: 1024 * 1024,
            page_entries_max: 100,
            concurrent_requests_max: 256,
            request_timeout_ms: 10_000,
            batch_txs_max: 1024,
            requests_per_s_max: 2000,
            request_burst_max: 4000,
            rate_limit_clients_max: 100_000,
            blocking_reads_max: 4,
            search_scan_max: 20_000,
            raw_page_bytes_max: 4 * 1024 * 1024,
            sse_streams_max: 256,
            sse_streams_per_address_max: 8,
            connections_max: 1024,
            connections_per_address_max: 128,
        }
    }
}

/// Default page size when a request gives no `limit`.
pub const PAGE_ENTRIES_DEFAULT: usize = 50;
/// Most blocks in one page of `GET /v1/blocks/raw`.
pub const RAW_BLOCKS_MAX: usize = 100;
/// Longest cursor accepted, in characters.
pub const CURSOR_CHARS_MAX: usize = 1024;

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
    /// The node's metrics (`GET /metrics`), shared with its commit path.
    pub metrics: Arc<metrics::Metrics>,
}

impl NodeHandle {
    /// A handle for a read-only API server over a ledger (no driver, no consensus):
    /// submissions answer 503, the status says `started: false`, no events are sent.
    pub fn read_only(ledger: Arc<Ledger>, genesis: Arc<Genesis>, limits: ApiLimits) -> NodeHandle {
        // The receiver is dropped at once: every command fails as "closed".
        let (commands, _) = mpsc::channel(1);
        let set = &genesis.validators;
        let (status_tx, status) = watch::channel(NodeStatus {
            height: ledger.tip().height.0,
            peer_height: ledger.tip().height.0,
            validators: set.len(),
            quorum: quorum_count(set),
            ..NodeStatus::default()
        });
        // Nobody updates the status: keep the value readable after the sender is gone.
        drop(status_tx);
        let (events, _) = broadcast::channel(1);
        NodeHandle {
            ledger,
            genesis,
            commands,
            status,
            events,
            limits,
            metrics: Arc::default(),
        }
    }
}

/// Smallest number of validators whose power reaches the quorum (the most powerful first).
fn quorum_count(set: &chancery_core::validator::ValidatorSet) -> usize {
    let mut powers: Vec<u64> = set.validators.iter().map(|v| v.power).collect();
    powers.sort_unstable_by(|a, b| b.cmp(a));
    let need = set.quorum_power();
    let mut sum = 0u64;
    for (i, p) in powers.iter().enumerate() {
        sum = sum.saturating_add(*p);
        if sum >= need {
            return i + 1;
        }
    }
    powers.len()
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
    /// Seconds after which the same request may succeed (`Retry-After`): set on refusals
    /// for load (a full pool, a busy node or thread pool), not on refusals a retry cannot
    /// cure.
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            details: Value::Null,
            retry_after_s: None,
        }
    }
    /// The same error, telling the client to retry after `s` seconds.
    pub(crate) fn retry_after(mut self, s: u64) -> ApiError {
        self.retry_after_s = Some(s);
        self
    }
    pub(crate) fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub(crate) fn internal(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
    fn unavailable(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.code, "message": self.message, "details": self.details});
        let mut res = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        res
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        match &e {
            LedgerError::PageTooLarge { max, found } => {
                let mut err = ApiError::bad_request("limit_too_large", e.to_string());
                err.details = json!({"max": max, "found": found});
                err
            }
            LedgerError::BadCursor(_) => ApiError::bad_request(
                "bad_cursor",
                "cursor was not produced by this query: pass the `next` value of the previous page unchanged",
            ),
            LedgerError::NoSuchHeight { found, last } => {
                let mut err = ApiError::not_found(e.to_string());
                err.details = json!({"height": found.0, "last": last.0});
                err
            }
            LedgerError::NotRetained {
                found,
                window_from,
                flush_blocks,
            } => {
                let mut err = ApiError::new(StatusCode::GONE, "proof_not_retained", e.to_string());
                err.details = json!({
                    "height": found.0,
                    "window_from": window_from.0,
                    "flush_blocks": flush_blocks,
                });
                err
            }
            // A node started from a snapshot holds no block below it (docs/ledger.md,
            // "Snapshots"): the data is elsewhere, not broken.
            LedgerError::BeforeFirstHeight { found, first } => {
                let mut err = ApiError::new(StatusCode::GONE, "before_first_height", e.to_string());
                err.details = json!({"height": found.0, "first_height": first.0});
                err
            }
            _ => {
                tracing::error!(error = %e, "ledger error while answering a request (the client got 500); if it says corrupt, stop the node and run `chancery-node check`");
                ApiError::internal(e.to_string())
            }
        }
    }
}

impl From<ProofRequestError> for ApiError {
    fn from(e: ProofRequestError) -> Self {
        match e {
            ProofRequestError::Ledger(l) => l.into(),
            ProofRequestError::SizeBeyondLog { requested, size } => {
                let mut err = ApiError::new(
                    StatusCode::NOT_FOUND,
                    "size_beyond_log",
                    format!("log size {requested} requested, but the log has {size} entries"),
                );
                err.details = json!({"requested": requested, "size": size});
                err
            }
            ProofRequestError::Proof(p) => {
                ApiError::bad_request("bad_proof_request", p.to_string())
            }
            e @ ProofRequestError::NotCertified { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_certified", e.to_string())
            }
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The OpenAPI document's fixed parts; the paths come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chancery node API",
        description = "Read the ledger, submit signed transactions, fetch proofs that verify offline with the genesis file. Errors are `{code, message, details}`; pages are `{items, next}` with `?limit=` and `?cursor=`. Every route but /healthz, /readyz, /v1/status, /v1/events and /metrics runs on a bounded pool of reader threads (`blocking_reads_max`): when all are busy the answer is 503 `busy` with `Retry-After: 1`. Connections are capped in total and per client address (`connections_max`, `connections_per_address_max`); event streams likewise (`sse_streams_max`, `sse_streams_per_address_max`)."
    ),
    tags(
        (name = "node", description = "Health and status"),
        (name = "transactions", description = "Submit and track transactions"),
        (name = "blocks", description = "Finalized blocks"),
        (name = "records", description = "Assets, awards, grants, records"),
        (name = "governance", description = "Agencies, members, validators, epochs, proposals and votes"),
        (name = "proofs", description = "Checkpoints, receipts, log and state proofs")
    )
)]
struct ApiDoc;

/// Every documented route, with its OpenAPI description.
fn api_routes() -> OpenApiRouter<NodeHandle> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(tx::healthz))
        .routes(routes!(tx::readyz))
        .routes(routes!(tx::status))
        .routes(routes!(tx::submit))
        .routes(routes!(tx::submit_batch))
        .routes(routes!(tx::tx_status))
        .routes(routes!(tx::events))
        .routes(routes!(reads::blocks))
        .routes(routes!(reads::blocks_raw))
        .routes(routes!(reads::block_latest))
        .routes(routes!(reads::block_at))
        .routes(routes!(reads::assets))
        .routes(routes!(reads::asset))
        .routes(routes!(reads::asset_history))
        .routes(routes!(reads::awards))
        .routes(routes!(reads::award))
        .routes(routes!(reads::process))
        .routes(routes!(reads::contract))
        .routes(routes!(reads::procurement_limits))
        .routes(routes!(reads::grants))
        .routes(routes!(reads::grant))
        .routes(routes!(reads::records))
        .routes(routes!(reads::agencies))
        .routes(routes!(reads::agency_one))
        .routes(routes!(reads::members))
        .routes(routes!(reads::member))
        .routes(routes!(reads::validators))
        .routes(routes!(governance::governance))
        .routes(routes!(governance::proposals))
        .routes(routes!(governance::proposal_one))
        .routes(routes!(governance::epochs))
        .routes(routes!(evidence::evidence_list))
        .routes(routes!(evidence::evidence_one))
        .routes(routes!(proofs::checkpoint_latest))
        .routes(routes!(proofs::checkpoint_at))
        .routes(routes!(proofs::receipt))
        .routes(routes!(proofs::inclusion))
        .routes(routes!(proofs::consistency))
        .routes(routes!(proofs::state_asset))
        .routes(routes!(proofs::state_grant))
        .routes(routes!(openapi_json))
        .routes(routes!(metrics::metrics))
}

/// The OpenAPI 3 document of every route (what `GET /v1/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().split_for_parts().1
}

/// The served OpenAPI document, rendered once.
#[derive(Clone)]
struct OpenApiJson(Arc<String>);

/// The OpenAPI 3 document of this API.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "node",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json", body = Object)))]
async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        doc.0.as_str().to_owned(),
    )
        .into_response()
}

/// Every route of the API, without the limits: merge other routers into it (the
/// explorer's), then wrap the whole with [`with_limits`].
pub fn routes(h: NodeHandle) -> Router {
    routes_with_doc(h, utoipa::openapi::OpenApi::default())
}

/// [`routes`], with the OpenAPI description of routes merged in from elsewhere (the
/// explorer's `/v1/stats/...`) so that `/v1/openapi.json` lists them too.
pub fn routes_with_doc(h: NodeHandle, more: utoipa::openapi::OpenApi) -> Router {
    let (routes, mut doc) = api_routes().split_for_parts();
    doc.merge(more);
    let doc = OpenApiJson(Arc::new(
        serde_json::to_string(&doc).unwrap_or_else(|_| "{}".to_string()),
    ));
    routes
        .layer(Extension(doc))
        .layer(Extension(tx::BacklogGate::default()))
        .with_state(h)
}

/// Wrap an application in the API's limits: body size, timeout, concurrency, rate per
/// client address, a JSON 404 for unknown routes, JSON errors for every failure that is
/// not already JSON or HTML, and a 500 (not a dropped connection) if a handler panics.
pub fn with_limits(app: Router, limits: &ApiLimits) -> Router {
    let limiter = RateLimiter::new(limits);
    let sse = caps::SseSlots(
        caps::AddressSlots::new(limits.sse_streams_max, limits.sse_streams_per_address_max),
        Arc::default(),
    );
    app.fallback(layers::no_route)
        .layer(axum::middleware::from_fn_with_state(
            caps::BlockingPool::new(limits.blocking_reads_max),
            caps::blocking_reads,
        ))
        .layer(Extension(sse))
        .layer(DefaultBodyLimit::max(limits.request_bytes_max))
        .layer(axum::middleware::from_fn_with_state(
            limits.request_timeout_ms,
            layers::timeout,
        ))
        .layer(tower::limit::ConcurrencyLimitLayer::new(
            limits.concurrent_requests_max,
        ))
        .layer(axum::middleware::from_fn_with_state(
            limiter,
            layers::rate_limit,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            layers::panic_response,
        ))
        .layer(axum::middleware::from_fn(layers::json_errors))
}

/// Count and time every request of `app` in `metrics` (`chancery_api_requests_total`,
/// `chancery_api_request_duration_seconds`), by matched route template, method and
/// status. Apply it last, over [`with_limits`], so that the answers the limits give
/// (429, 408, 503) are counted too.
pub fn with_request_metrics(app: Router, metrics: &Arc<metrics::Metrics>) -> Router {
    app.layer(axum::middleware::from_fn_with_state(
        metrics.clone(),
        metrics::track,
    ))
}

/// The API with its limits and request metrics:
/// `with_request_metrics(with_limits(routes(h), &h.limits), &h.metrics)`.
pub fn router(h: NodeHandle) -> Router {
    let limits = h.limits.clone();
    let metrics = h.metrics.clone();
    with_request_metrics(with_limits(routes(h), &limits), &metrics)
}

/// Serve `app` (usually [`router`], possibly merged with other routers) on `listener`
/// until `shutdown` resolves, admitting at most `connections_max` connections at once and
/// `connections_per_address_max` per client address (see [`caps::CappedListener`]).
/// Client addresses are available to the rate limiter.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: &ApiLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = caps::CappedListener::new(listener, limits).tap_io(|s| {
        // Small answers go out at once; a failure here only costs latency.
        let _ = s.tcp().set_nodelay(true);
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Serve the API ([`router`]) on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    h: NodeHandle,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = h.limits.clone();
    serve_router(listener, router(h), &limits, shutdown).await
}
