//! Middleware: rate limit per client address, request timeout, JSON errors for everything
//! the framework answers by itself, and a 500 for a handler that panics.

use crate::{ApiError, ApiLimits};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::Quota;
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Longest part of a framework error text or a path quoted back in an error, in bytes.
const QUOTE_BYTES_MAX: usize = 256;

type Keyed = governor::RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>;

/// A token-bucket (GCRA) rate limiter keyed by client IP address.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Keyed>,
    clock: DefaultClock,
    per_s: u32,
    burst: u32,
    clients_max: usize,
}

impl RateLimiter {
    /// A limiter for `limits.requests_per_s_max` sustained requests per second per address
    /// with bursts of `limits.request_burst_max` (each at least 1).
    pub fn new(limits: &ApiLimits) -> RateLimiter {
        let per_s = NonZeroU32::new(limits.requests_per_s_max).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.request_burst_max).unwrap_or(NonZeroU32::MIN);
        RateLimiter {
            inner: Arc::new(Keyed::keyed(Quota::per_second(per_s).allow_burst(burst))),
            clock: DefaultClock::default(),
            per_s: per_s.get(),
            burst: burst.get(),
            clients_max: limits.rate_limit_clients_max.max(1),
        }
    }

    /// Count one request from `ip`: `Err(wait)` if it is over its rate.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        if self.inner.len() >= self.clients_max {
            // Forget addresses whose bucket is full again (idle ones).
            self.inner.retain_recent();
            self.inner.shrink_to_fit();
        }
        self.inner
            .check_key(&ip)
            .map_err(|nu| nu.wait_time_from(self.clock.now()))
    }
}

/// Answer 429 with a JSON error to a client address over its rate.
pub(crate) async fn rate_limit(
    State(limiter): State<RateLimiter>,
    req: Request,
    next: Next,
) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    match limiter.check(ip) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let retry_s = wait.as_secs_f64().ceil().max(1.0) as u64;
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "client {ip} sent more than {} requests per second (bursts up to {}); retry in {} ms",
                    limiter.per_s,
                    limiter.burst,
                    wait.as_millis()
                ),
            );
            e.details = json!({
                "requests_per_s_max": limiter.per_s,
                "request_burst_max": limiter.burst,
                "retry_after_ms": wait.as_millis() as u64,
            });
            e.retry_after(retry_s).into_response()
        }
    }
}

/// Answer 408 with a JSON error if producing the response takes longer than the limit.
pub(crate) async fn timeout(State(ms): State<u64>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(Duration::from_millis(ms), next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            let mut e = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!("the request took longer than the limit of {ms} ms"),
            );
            e.details = json!({ "request_timeout_ms": ms });
            e.into_response()
        }
    }
}

/// The answer to a route that does not exist.
pub(crate) async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        format!(
            "no route {method} {}; the routes are listed in /v1/openapi.json",
            quote(uri.path())
        ),
    )
}

/// The answer when a handler panicked (a bug): a JSON 500, logged.
pub(crate) fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    tracing::error!(panic = %what, "API handler panicked (a bug: report this line; the client got 500 and the node goes on)");
    ApiError::internal("the server failed to answer this request (a bug, logged)").into_response()
}

fn quote(s: &str) -> String {
    if s.len() <= QUOTE_BYTES_MAX {
        return s.to_string();
    }
    let mut end = QUOTE_BYTES_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// Turn every error answer that is neither JSON nor HTML (the framework's own: wrong
/// method, body too large, bad path encoding) into the JSON error shape.
pub(crate) async fn json_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = quote(req.uri().path());
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let ct = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/json") || ct.starts_with("text/html") {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, QUOTE_BYTES_MAX * 4)
        .await
        .map(|b| quote(String::from_utf8_lossy(&b).trim()))
        .unwrap_or_default();
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed".to_string(),
            format!("{method} is not allowed on {path}; /v1/openapi.json lists the methods of each route"),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too_large".to_string(),
            format!("the request body is larger than the limit ({text})"),
        ),
        s => (
            s.canonical_reason()
                .unwrap_or("error")
                .to_ascii_lowercase()
                .replace(' ', "_"),
            if text.is_empty() {
                s.canonical_reason().unwrap_or("error").to_string()
            } else {
                text
            },
        ),
    };
    let mut out = ApiError {
        status,
        code,
        message,
        details: serde_json::Value::Null,
        retry_after_s: None,
    }
    .into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}
