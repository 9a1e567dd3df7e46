//! The client against a scripted local HTTP server: typed answers, errors that name the URL
//! and status, bounded bodies and excerpts, the event stream.

use chancery_client::types::{NodeStatus, StateTreeDto, StatusDto, TipDto};
use chancery_client::{Client, ClientError, Event, EXCERPT_CHARS_MAX};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

/// A server answering each connection in turn with the next of `answers` (status line,
/// content type, body), then closing it; the thread returns the request lines it saw.
fn serve(answers: Vec<(&'static str, &'static str, String)>) -> (String, JoinHandle<Vec<String>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", l.local_addr().expect("address"));
    let t = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for (status, ctype, body) in answers {
            let (mut s, _) = l.accept().expect("accept");
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut first = String::new();
            r.read_line(&mut first).expect("request line");
            seen.push(first.trim_end().to_string());
            let mut length = 0usize;
            loop {
                let mut h = String::new();
                r.read_line(&mut h).expect("header");
                if h.trim_end().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().expect("length");
                }
            }
            let mut req_body = vec![0; length];
            r.read_exact(&mut req_body).expect("request body");
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            // The client may stop reading early (a body over its limit).
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body.as_bytes());
        }
        seen
    });
    (url, t)
}

fn status_json() -> StatusDto {
    StatusDto {
        chain_id: "ab".repeat(32),
        chain_name: "test".into(),
        crypto: "ed25519-blake3".into(),
        node: NodeStatus {
            height: 7,
            started: true,
            ..NodeStatus::default()
        },
        tip: TipDto {
            height: 7,
            hash: "cd".repeat(32),
            time: 1_700_000_000_000,
            log_size: 12,
            log_root: "ef".repeat(32),
            state_root: "01".repeat(32),
        },
        indexed_height: Some(6),
        state_tree: Some(StateTreeDto {
            flushed_height: 0,
            proofs_from_height: 0,
            nodes_in_memory: 40,
            flush_failures: 0,
        }),
    }
}

#[test]
fn a_typed_answer_is_decoded_with_its_status() {
    let body = serde_json::to_string(&status_json()).unwrap();
    let (url, t) = serve(vec![
        ("200 OK", "application/json", body.clone()),
        ("200 OK", "application/json", body),
    ]);
    let c = Client::new(&format!("{url}/"));
    assert_eq!(c.status().unwrap(), status_json());
    let (code, s): (u16, StatusDto) = c.get_with_status("/v1/status").unwrap();
    assert_eq!((code, s.tip.log_size), (200, 12));
    assert_eq!(
        t.join().unwrap(),
        vec!["GET /v1/status HTTP/1.1", "GET /v1/status HTTP/1.1"]
    );
}

#[test]
fn an_error_answer_names_the_url_the_status_and_the_nodes_message() {
    let body = r#"{"code":"not_found","message":"no asset a/1","details":{"id":"a/1"}}"#;
    let (url, t) = serve(vec![("404 Not Found", "application/json", body.into())]);
    let e = Client::new(&url).asset("a/1").unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(404), Some("not_found")));
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "GET {url}/v1/assets/a%2F1: 404 not_found: no asset a/1"
        )),
        "{text}"
    );
    assert!(text.contains(r#"(details: {"id":"a/1"})"#), "{text}");
    t.join().unwrap();
}

#[test]
fn a_long_body_is_quoted_only_up_to_the_excerpt_limit() {
    let long = "x".repeat(EXCERPT_CHARS_MAX * 4);
    let (url, t) = serve(vec![("502 Bad Gateway", "text/plain", long)]);
    let e = Client::new(&url).status().unwrap_err();
    let ClientError::Status {
        status, message, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(*status, 502);
    assert_eq!(message.len(), EXCERPT_CHARS_MAX + "...".len(), "{message}");
    t.join().unwrap();
}

#[test]
fn an_answer_over_the_size_limit_is_refused() {
    let (url, t) = serve(vec![("200 OK", "application/json", "[".repeat(4096))]);
    let e = Client::new(&url)
        .with_answer_bytes_max(1024)
        .status()
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Read { url: u, reason, .. }
            if u == &format!("{url}/v1/status") && reason.contains("1024 bytes")),
        "{e:?}"
    );
    t.join().unwrap();
}

#[test]
fn a_wrong_shape_says_what_was_expected_and_what_came() {
    let (url, t) = serve(vec![(
        "200 OK",
        "application/json",
        r#"{"chain":1}"#.into(),
    )]);
    let e = Client::new(&url).status().unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("expected chancery_api_types::StatusDto"),
        "{text}"
    );
    assert!(text.contains(r#"{\"chain\":1}"#), "{text}");
    t.join().unwrap();
}

#[test]
fn no_node_at_the_address_is_an_error_naming_it() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let e = Client::new(&url).status().unwrap_err();
    assert!(matches!(e, ClientError::Unreachable { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains(&format!("GET {url}/v1/status: no answer")),
        "{e}"
    );
}

#[test]
fn a_batch_is_posted_as_json_and_its_results_are_typed() {
    let body = r#"{"results":[{"hash":"aa"},{"code":"bad_seq","message":"seq 3, expected 2"}]}"#;
    let (url, t) = serve(vec![("202 Accepted", "application/json", body.into())]);
    let r = Client::new(&url)
        .submit_batch(vec!["00".into(), "01".into()])
        .unwrap();
    use chancery_client::types::BatchItem;
    assert_eq!(
        r.results,
        vec![
            BatchItem::Admitted { hash: "aa".into() },
            BatchItem::Refused {
                code: "bad_seq".into(),
                message: "seq 3, expected 2".into(),
                retry_after_s: None
            }
        ]
    );
    assert_eq!(
        t.join().unwrap(),
        vec!["POST /v1/transactions/batch HTTP/1.1"]
    );
}

#[test]
fn the_event_stream_yields_typed_events_in_order() {
    let stream = "event: block\ndata: {\"height\":3,\"hash\":\"ab\",\"tx_count\":2,\"log_size\":9}\n\n\
                  event: lagged\ndata: {}\n\n: keep-alive\n\n\
                  event: block\ndata: {\"height\":4,\"hash\":\"cd\",\"tx_count\":0,\"log_size\":9}\n\n";
    let (url, t) = serve(vec![("200 OK", "text/event-stream", stream.into())]);
    let events: Vec<Event> = Client::new(&url)
        .events()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let heights: Vec<Option<u64>> = events
        .iter()
        .map(|e| match e {
            Event::Block(b) => Some(b.height),
            _ => None,
        })
        .collect();
    assert_eq!(heights, vec![Some(3), None, Some(4)]);
    assert!(matches!(events[1], Event::Lagged));
    t.join().unwrap();
}

#[test]
fn an_event_line_over_the_limit_is_an_error_not_a_split_event() {
    let long = format!(
        "event: block\ndata: {}\n\n",
        "x".repeat(chancery_client::EVENT_LINE_BYTES_MAX as usize)
    );
    let (url, t) = serve(vec![("200 OK", "text/event-stream", long)]);
    let first = Client::new(&url).events().unwrap().next();
    assert!(
        matches!(&first, Some(Err(ClientError::Read { reason, .. })) if reason.contains("longer than")),
        "{first:?}"
    );
    t.join().unwrap();
}
