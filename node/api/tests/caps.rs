//! The caps that keep API load away from consensus (issue 14, finding 8): event streams
//! per address and in total, TCP connections per address at accept, raw block pages by
//! bytes with cursor continuation, and the bounded blocking pool (503 with `Retry-After`).

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get as route_get;
use chancery_api::ApiLimits;
use common::*;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

/// Safety net for a test that would otherwise hang on a regression.
const DEADLINE: Duration = Duration::from_secs(30);

/// More event streams than the default caps allow (8 per address, 256 in total).
const STREAMS_TRIED: usize = 300;

/// Open one event stream (the response holds its slot until dropped).
async fn open_stream(app: &axum::Router) -> axum::response::Response {
    app.clone()
        .oneshot(Request::get("/v1/events").body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn event_streams_from_one_address_are_capped_with_a_json_429() {
    let e = env();
    let mut open = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..STREAMS_TRIED {
        let res = open_stream(&e.app).await;
        if res.status() == StatusCode::OK {
            // Held open: the stream keeps its slot.
            open.push(res);
        } else {
            refused.push(res);
        }
    }
    assert!(
        !refused.is_empty(),
        "all {STREAMS_TRIED} event streams from one address were accepted"
    );
    assert_eq!(
        open.len(),
        ApiLimits::default().sse_streams_per_address_max,
        "streams open from one address"
    );
    let res = refused.pop().unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    let body = axum::body::to_bytes(res.into_body(), 64 * 1024)
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_error_shape(&v);
    assert_eq!(v["code"], "too_many_streams");
    assert_eq!(
        v["details"]["sse_streams_per_address_max"],
        ApiLimits::default().sse_streams_per_address_max
    );
    // A closed stream gives its slot back.
    open.pop();
    let res = open_stream(&e.app).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn event_streams_in_total_are_capped_with_a_json_503() {
    let e = env_with(ApiLimits {
        sse_streams_max: 3,
        sse_streams_per_address_max: 10,
        ..ApiLimits::default()
    });
    let mut open = Vec::new();
    for _ in 0..3 {
        let res = open_stream(&e.app).await;
        assert_eq!(res.status(), StatusCode::OK);
        open.push(res);
    }
    let a = get(&e.app, "/v1/events").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.headers.contains_key(header::RETRY_AFTER));
    let v = a.json();
    assert_error_shape(&v);
    assert_eq!(v["details"]["sse_streams_max"], 3);
}

/// More connections from one address than the default cap (128).
const CONNECTIONS_TRIED: usize = 200;

/// Send a request on `s` and read the status line of the answer ("" if the server closed
/// the connection without answering).
async fn status_line(s: &mut tokio::net::TcpStream) -> String {
    let _ = s
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n")
        .await;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        match tokio::time::timeout(DEADLINE, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            Ok(_) => break,
            Err(_) => panic!("no answer within {DEADLINE:?}"),
        }
    }
    String::from_utf8_lossy(&buf)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_from_one_address_are_capped_at_accept() {
    let e = env();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(chancery_api::serve(listener, e.handle.clone(), async {
        let _ = stop_rx.await;
    }));
    let mut held = Vec::new();
    let (mut served, mut refused) = (0usize, 0usize);
    for _ in 0..CONNECTIONS_TRIED {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let line = status_line(&mut s).await;
        if line.contains(" 200 ") {
            served += 1;
        } else {
            assert!(
                line.is_empty() || line.contains(" 503 "),
                "a refused connection answers 503 or nothing: {line:?}"
            );
            refused += 1;
        }
        // Keep every connection open (keep-alive) so it holds its slot.
        held.push(s);
    }
    assert!(
        refused > 0,
        "all {CONNECTIONS_TRIED} connections from one address were served"
    );
    assert_eq!(
        served,
        ApiLimits::default().connections_per_address_max,
        "connections served from one address"
    );
    drop(held);
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(DEADLINE, server).await;
}

/// The hex length of each block and certificate of the whole ledger, by height.
async fn raw_sizes(e: &Env) -> Vec<(u64, usize)> {
    let p = get_json(&e.app, "/v1/blocks/raw?from=1&limit=100", StatusCode::OK).await;
    p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["height"].as_u64().unwrap(),
                b["block"].as_str().unwrap().len() + b["certificate"].as_str().unwrap().len(),
            )
        })
        .collect()
}

#[tokio::test]
async fn raw_block_pages_stop_at_the_byte_cap_and_the_cursor_continues() {
    let sizes = raw_sizes(&env()).await;
    assert_eq!(sizes.len(), 4);
    // Room for blocks 1 and 2, not 3.
    let cap = sizes[0].1 + sizes[1].1;
    let e = env_with(ApiLimits {
        raw_page_bytes_max: cap,
        ..ApiLimits::default()
    });
    let mut from = 1u64;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let p = get_json(
            &e.app,
            &format!("/v1/blocks/raw?from={from}&limit=100"),
            StatusCode::OK,
        )
        .await;
        pages += 1;
        let items = p["items"].as_array().unwrap();
        assert!(!items.is_empty(), "a page holds at least one block");
        let bytes: usize = items
            .iter()
            .map(|b| b["block"].as_str().unwrap().len() + b["certificate"].as_str().unwrap().len())
            .sum();
        assert!(
            items.len() == 1 || bytes <= cap,
            "page from {from}: {bytes} bytes of hex over the cap of {cap}"
        );
        seen.extend(items.iter().map(|b| b["height"].as_u64().unwrap()));
        match p["next"].as_u64() {
            Some(n) => {
                assert_eq!(n, seen.last().unwrap() + 1, "next continues after the page");
                from = n;
            }
            None => break,
        }
    }
    assert_eq!(seen, vec![1, 2, 3, 4], "every block exactly once");
    assert!(pages >= 2, "the cap split the ledger into pages");
    // A cap below one block: one block per page.
    let e = env_with(ApiLimits {
        raw_page_bytes_max: 1,
        ..ApiLimits::default()
    });
    let p = get_json(&e.app, "/v1/blocks/raw?from=2&limit=100", StatusCode::OK).await;
    assert_eq!(p["items"].as_array().unwrap().len(), 1);
    assert_eq!(p["next"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_over_the_blocking_pool_bound_get_a_json_503_with_retry_after() {
    let e = env_with(ApiLimits {
        blocking_reads_max: 1,
        ..ApiLimits::default()
    });
    // A route that holds its blocking thread until told to finish.
    let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let entered_tx = std::sync::Arc::new(std::sync::Mutex::new(entered_tx));
    let release_rx = std::sync::Arc::new(std::sync::Mutex::new(release_rx));
    let slow = axum::Router::new().route(
        "/slow",
        route_get(move || {
            let entered = entered_tx.clone();
            let release = release_rx.clone();
            async move {
                let _ = entered.lock().unwrap().send(());
                let _ = release.lock().unwrap().recv_timeout(DEADLINE);
                "done"
            }
        }),
    );
    let app = chancery_api::with_limits(
        chancery_api::routes(e.handle.clone()).merge(slow),
        &e.handle.limits,
    );
    let first = tokio::spawn({
        let app = app.clone();
        async move { get(&app, "/slow").await.status }
    });
    tokio::task::spawn_blocking(move || entered_rx.recv_timeout(DEADLINE))
        .await
        .unwrap()
        .expect("the slow handler started");
    let a = get(&app, "/v1/blocks").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.headers.get(header::RETRY_AFTER).unwrap(), "1");
    let v = a.json();
    assert_error_shape(&v);
    assert_eq!(v["code"], "busy");
    assert_eq!(v["details"]["blocking_reads_max"], 1);
    // Liveness and the event stream are not behind the pool.
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);
    release_tx.send(()).unwrap();
    assert_eq!(first.await.unwrap(), StatusCode::OK);
    // The permit came back.
    get_json(&app, "/v1/blocks", StatusCode::OK).await;
}
