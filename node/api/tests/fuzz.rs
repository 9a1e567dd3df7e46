//! Schema-driven fuzzing: for every path and method of the generated OpenAPI document,
//! random path parameters, query strings and bodies (valid-looking, garbage, huge,
//! unicode) go through the router. The server never panics, never answers 5xx other than
//! 503, and every answer that is not a success is the JSON error shape.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chancery_api::ApiLimits;
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

/// One operation of the document: method, path template, parameters `(name, in, required)`.
#[derive(Clone, Debug)]
struct Op {
    method: Method,
    path: String,
    params: Vec<(String, String)>,
}

fn operations(doc: &Value) -> Vec<Op> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (m, op) in item.as_object().unwrap() {
            let method: Method = m.to_uppercase().parse().unwrap();
            let params = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            (
                                p["name"].as_str().unwrap().to_string(),
                                p["in"].as_str().unwrap().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(Op {
                method,
                path: path.clone(),
                params,
            });
        }
    }
    out
}

/// Percent-encode everything but unreserved characters.
fn enc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// Values: plausible ones (ids of the fixture, heights, hashes), edge numbers, garbage,
/// unicode, and huge.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("A1".to_string()),
        Just("G1".to_string()),
        Just("ocds-x-1".to_string()),
        Just("aw-1".to_string()),
        Just("mof".to_string()),
        Just("2026-03-10".to_string()),
        Just("register_asset".to_string()),
        Just("active".to_string()),
        Just("revoked".to_string()),
        Just(CODE.to_string()),
        (0u64..12).prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        Just(u64::MAX.to_string()),
        Just("18446744073709551616".to_string()),
        Just("-1".to_string()),
        Just(String::new()),
        "[0-9a-f]{64}",
        "[0-9a-fA-F]{0,70}",
        ".{0,40}",
        "\\PC{0,30}",
        "[\\u{0}-\\u{7f}]{0,20}",
        (1usize..20_000).prop_map(|n| "x".repeat(n)),
        Just("é漢字🦀\u{202e}".to_string()),
        Just("../../etc/passwd".to_string()),
        Just("%00%ff".to_string()),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        proptest::collection::vec(any::<u8>(), 0..200),
        Just(b"{\"txs\": []}".to_vec()),
        Just(b"{\"txs\": [\"00\", \"zz\"]}".to_vec()),
        Just(b"{\"tx\": \"0011\"}".to_vec()),
        Just(b"{\"body\": {}, \"signature\": 1}".to_vec()),
        Just(b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".to_vec()),
        ".{0,100}".prop_map(|s| s.into_bytes()),
        (1usize..3).prop_map(|n| vec![b'{'; n * 600_000]),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    op: usize,
    values: Vec<String>,
    extra: Option<(String, String)>,
    omit: Vec<bool>,
    body: Vec<u8>,
    json: bool,
}

fn case(ops: usize) -> impl Strategy<Value = Case> {
    (
        0..ops,
        proptest::collection::vec(value(), 8),
        proptest::option::weighted(0.2, (".{0,10}", value())),
        proptest::collection::vec(any::<bool>(), 8),
        body(),
        any::<bool>(),
    )
        .prop_map(|(op, values, extra, omit, body, json)| Case {
            op,
            values,
            extra,
            omit,
            body,
            json,
        })
}

fn request(op: &Op, c: &Case) -> Option<Request<Body>> {
    let mut path = op.path.clone();
    let mut query = Vec::new();
    for (i, (name, place)) in op.params.iter().enumerate() {
        let v = &c.values[i % c.values.len()];
        match place.as_str() {
            "path" => path = path.replace(&format!("{{{name}}}"), &enc(v)),
            "query" if !c.omit[i % c.omit.len()] => query.push(format!("{}={}", enc(name), enc(v))),
            _ => {}
        }
    }
    if let Some((k, v)) = &c.extra {
        query.push(format!("{}={}", enc(k), enc(v)));
    }
    let uri = if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    };
    let mut b = Request::builder().method(op.method.clone()).uri(uri);
    if c.json {
        b = b.header(header::CONTENT_TYPE, "application/json");
    }
    let body = if op.method == Method::GET {
        Body::empty()
    } else {
        Body::from(c.body.clone())
    };
    b.body(body).ok()
}

fn check(op: &Op, a: &Answer) -> Result<(), TestCaseError> {
    let what = format!("{} {}", op.method, op.path);
    prop_assert!(
        !a.status.is_server_error() || a.status == StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {} {}",
        a.status,
        String::from_utf8_lossy(&a.body)
    );
    if !a.status.is_success() {
        prop_assert!(
            a.content_type.starts_with("application/json"),
            "{what}: {} with content type {:?}",
            a.status,
            a.content_type
        );
        let v: Value = serde_json::from_slice(&a.body)
            .map_err(|e| TestCaseError::fail(format!("{what}: error body is not JSON: {e}")))?;
        let ok = v.as_object().is_some_and(|o| {
            o.len() == 3
                && o.get("code")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
                && o.get("message")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
                && o.contains_key("details")
        });
        prop_assert!(ok, "{what}: not the error shape: {v}");
    } else if a.content_type.starts_with("application/json") {
        prop_assert!(
            serde_json::from_slice::<Value>(&a.body).is_ok(),
            "{what}: 2xx body is not JSON"
        );
    }
    Ok(())
}

#[test]
fn random_requests_to_every_operation_never_fail_the_server() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = env_with(ApiLimits {
        page_entries_max: 100,
        request_bytes_max: 1024 * 1024,
        requests_per_s_max: 1_000_000,
        request_burst_max: 1_000_000,
        ..ApiLimits::default()
    });
    let doc = serde_json::to_value(chancery_api::openapi()).unwrap();
    let ops = operations(&doc);
    assert!(ops.len() >= 32, "only {} operations", ops.len());
    // Every operation with every plausible value first, then random cases.
    for op in &ops {
        for v in ["A1", "0", "1", "4", "", "%2F", "x"] {
            let c = Case {
                op: 0,
                values: vec![v.to_string(); 8],
                extra: None,
                omit: vec![false; 8],
                body: Vec::new(),
                json: false,
            };
            if let Some(req) = request(op, &c) {
                let a = rt.block_on(send(&e.app, req));
                check(op, &a).unwrap();
            }
        }
    }
    let mut runner = TestRunner::new(Config {
        cases: 3000,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&case(ops.len()), |c| {
            let op = &ops[c.op];
            let Some(req) = request(op, &c) else {
                return Ok(());
            };
            let a = rt.block_on(send(&e.app, req));
            check(op, &a)
        })
        .unwrap();
}

#[test]
fn garbage_paths_and_methods_get_json_errors() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = env();
    let op = Op {
        method: Method::GET,
        path: "(any)".into(),
        params: vec![],
    };
    let mut runner = TestRunner::new(Config {
        cases: 500,
        failure_persistence: None,
        ..Config::default()
    });
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ];
    runner
        .run(
            &(
                proptest::collection::vec(value(), 1..5),
                0..methods.len(),
                prop_oneof![Just("/v1/"), Just("/"), Just("/v1/proofs/state/")],
            ),
            |(segs, m, prefix)| {
                let path: Vec<String> = segs.iter().map(|s| enc(s)).collect();
                let uri = format!("{prefix}{}", path.join("/"));
                let Ok(req) = Request::builder()
                    .method(methods[m].clone())
                    .uri(uri)
                    .body(Body::empty())
                else {
                    return Ok(());
                };
                let a = rt.block_on(send(&e.app, req));
                check(&op, &a)
            },
        )
        .unwrap();
}
