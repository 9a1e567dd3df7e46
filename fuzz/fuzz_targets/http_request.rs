//! HTTP requests to a node's routes (`chancery_api::routes` merged with
//! `chancery_explorer::router`, as `chancery-node` serves them), over an in-memory ledger
//! of the fixture with records, governance and an epoch change: every path and query
//! parameter parser of the API and the explorer. The input is a method selector byte, the
//! request target up to the first newline, and a body.
//!
//! Within the API's limits layer (`chancery_api::with_limits`, as the node wraps them),
//! with rate limits the fuzzer cannot reach; the layer turns a handler's panic into a
//! 500, which fails here. Properties (as `node/api/tests/fuzz.rs`): no panic, no 5xx other
//! than 503, every `/v1` answer that is not a success is the JSON error shape, and every
//! JSON success body is JSON.
#![no_main]

use axum::body::Body;
use axum::http::{header, Method, Request};
use chancery_api::{ApiLimits, NodeHandle, Router};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

struct Node {
    rt: tokio::runtime::Runtime,
    app: Router,
}

fn node() -> &'static Node {
    static NODE: OnceLock<Node> = OnceLock::new();
    NODE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        let chain = chancery_fuzz::ledger::chain();
        let limits = ApiLimits {
            page_entries_max: 100,
            requests_per_s_max: u32::MAX,
            request_burst_max: u32::MAX,
            ..ApiLimits::default()
        };
        let handle = NodeHandle::read_only(
            chain.ledger.clone(),
            Arc::new(chain.fx.genesis.clone()),
            limits.clone(),
        );
        // Inside the runtime, so the explorer starts its catalog task.
        let app = rt.block_on(async {
            let app = chancery_api::routes_with_doc(handle.clone(), chancery_explorer::openapi())
                .merge(chancery_explorer::router(handle));
            chancery_api::with_limits(app, &limits)
        });
        Node { rt, app }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&m, rest)) = data.split_first() else {
        return;
    };
    let method = match m % 8 {
        0..=4 => Method::GET,
        5 => Method::POST,
        6 => Method::HEAD,
        _ => Method::OPTIONS,
    };
    let (target, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(req) = Request::builder()
        .method(method.clone())
        .uri(target)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
    else {
        return;
    };
    let path = req.uri().path().to_string();
    let n = node();
    let answer = n.rt.block_on(async {
        let res = match n.app.clone().oneshot(req).await {
            Ok(r) => r,
            Err(e) => match e {},
        };
        let status = res.status();
        let content_type = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        // An event stream never ends: its head is the answer.
        let body = if content_type.starts_with("text/event-stream") {
            Vec::new()
        } else {
            match axum::body::to_bytes(res.into_body(), 64 * 1024 * 1024).await {
                Ok(b) => b.to_vec(),
                Err(e) => panic!("{method} {path}: body: {e}"),
            }
        };
        (status, content_type, body)
    });
    let (status, content_type, body) = answer;
    assert!(
        !status.is_server_error() || status.as_u16() == 503,
        "{method} {path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    if method == Method::HEAD {
        return;
    }
    if path.starts_with("/v1/") && !status.is_success() {
        assert!(
            content_type.starts_with("application/json"),
            "{method} {path}: {status} with content type {content_type:?}"
        );
        let v: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{method} {path}: error body is not JSON: {e}"));
        let shape = v.as_object().is_some_and(|o| {
            o.len() == 3
                && o.get("code")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
                && o.get("message")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
                && o.contains_key("details")
        });
        assert!(shape, "{method} {path}: not the error shape: {v}");
    } else if status.is_success() && content_type.starts_with("application/json") {
        assert!(
            serde_json::from_slice::<Value>(&body).is_ok(),
            "{method} {path}: 2xx body is not JSON"
        );
    }
});
