//! Multi-process test (issue 14, finding 8): API load must not starve consensus.
//!
//! A real 4-validator testnet (loopback only) finalizes empty blocks at a steady rate when
//! idle (an idle leader proposes after 250 ms). The test measures validator `cnao-1`'s own
//! finalization rate for a fixed window, then floods its API from this process — supplier
//! search, raw block pages, receipts, award queries, explorer pages, event streams, and a
//! eighty idle TCP connections — with bounded concurrency for the same window, and checks
//! that the node kept finalizing at least at half its unloaded rate and is ready after.
//! Every thread stops by itself at the end of the window; all counts are bounded.

mod common;
use common::*;
use std::io::Read;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Length of each measurement window.
const WINDOW: Duration = Duration::from_secs(10);
/// Threads sending heavy requests at once.
const FLOOD_THREADS: usize = 32;
/// Event streams the flood opens (more than the per-address cap of 8).
const SSE_STREAMS: usize = 12;
/// Idle TCP connections the flood holds (below the per-address cap of 128, so that the
/// flood's own requests and the measurements still get through).
const IDLE_CONNECTIONS: usize = 80;

/// Most times a probe of the flooded node is asked again after a rate-limit answer.
const PROBE_RETRIES_MAX: u32 = 500;

/// The finalized height `api` reports. The probe shares the flood's address, so the
/// node's per-client rate limit may refuse it (429, which is the limit working): it asks
/// again after the wait the node names, at least a millisecond, a bounded number of times.
fn probe_height(api: &str) -> u64 {
    let c = client(api);
    for _ in 0..PROBE_RETRIES_MAX {
        match c.status() {
            Ok(s) => return s.tip.height,
            Err(chancery_client::ClientError::Status { status: 429, .. }) => {
                // Backing off as the node asks, not a synchronisation point.
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("{api}: /v1/status refused by the rate limit {PROBE_RETRIES_MAX} times in a row")
}

/// Finalized heights of `api` per second over `WINDOW`, from `/v1/status` (the height is
/// the node's own: a starved node falls behind the others).
fn rate_over_window(api: &str) -> f64 {
    let h0 = probe_height(api);
    let t0 = Instant::now();
    // The window itself is what is measured, not a synchronisation point.
    std::thread::sleep(WINDOW);
    let h1 = probe_height(api);
    (h1.saturating_sub(h0)) as f64 / t0.elapsed().as_secs_f64()
}

#[test]
fn consensus_keeps_finalizing_while_the_api_is_flooded() {
    flooded(&[], 7);
}

/// The same on an `sm2-sm3` chain (issue 21), where every admission check is an SM2
/// verification, eight times an Ed25519 one.
#[test]
fn an_sm2_sm3_chain_keeps_finalizing_while_the_api_is_flooded() {
    flooded(&["--crypto", "sm2-sm3"], 8);
}

fn flooded(up: &[&str], slot: u16) {
    let (net, apis) = start_testnet_with(slot, up);
    let target = apis[0].clone();
    // Some records, so that searches, receipts and raw pages have work to do.
    let expected = demo(&net, 0, 2);
    let deadline = Instant::now() + Duration::from_secs(180);
    wait_log_size(&target, expected, deadline);
    wait_indexed(&target, deadline);
    let records = client(&target)
        .records(&[
            ("kind", Some("register_asset".into())),
            ("limit", Some("5".into())),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    let tx = records
        .items
        .first()
        .expect("a registered asset")
        .hash
        .clone();

    let unloaded = rate_over_window(&target);
    assert!(unloaded > 0.0, "the idle testnet finalizes blocks");

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let paths: Vec<String> = vec![
        "/search?q=%E5%85%AC%E5%8F%B8".into(), // "公司": a supplier-name scan
        "/search?q=ocds".into(),
        "/v1/blocks/raw?from=1&limit=100".into(),
        format!("/v1/receipts/{tx}"),
        "/v1/awards?supplier=%E5%8C%97%E4%BA%AC%E5%8D%8E%E4%BF%A1%E7%A7%91%E6%8A%80%E6%9C%89%E9%99%90%E5%85%AC%E5%8F%B8".into(),
        "/".into(),
        "/awards".into(),
        "/evidence".into(),
    ];
    let mut threads = Vec::new();
    for t in 0..FLOOD_THREADS {
        let (stop, answered, refused) = (stop.clone(), answered.clone(), refused.clone());
        let (target, paths) = (target.clone(), paths.clone());
        threads.push(std::thread::spawn(move || {
            let node = client(&target);
            let mut i = t;
            while !stop.load(Ordering::Relaxed) {
                let path = &paths[i % paths.len()];
                i += 1;
                // Any status counts: the raw answer, read whole (bounded by the client).
                match node.get_raw(path) {
                    Ok(r) => {
                        let code = r.status;
                        if code == 503 || code == 429 {
                            refused.fetch_add(1, Ordering::Relaxed);
                        } else {
                            assert!(code < 500, "{}: {code}", node.url(path));
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    // Event streams beyond the per-address cap, held for the window.
    let addr = target.trim_start_matches("http://").to_string();
    let mut streams = Vec::new();
    let mut streams_refused = 0;
    for _ in 0..SSE_STREAMS {
        let mut s = TcpStream::connect(&addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        std::io::Write::write_all(
            &mut s,
            format!("GET /v1/events HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).expect("an answer");
        let head = String::from_utf8_lossy(&head).to_string();
        if head.contains(" 200") {
            streams.push(s);
        } else {
            assert!(
                head.contains(" 429") || head.contains(" 503"),
                "event stream over the cap: {head}"
            );
            streams_refused += 1;
        }
    }
    // Idle connections, held for the window.
    let idle: Vec<TcpStream> = (0..IDLE_CONNECTIONS)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();

    let loaded = rate_over_window(&target);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("flood thread");
    }
    drop(idle);
    drop(streams);

    let (answered, refused) = (
        answered.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    println!(
        "finalized heights/s of {target}: unloaded {unloaded:.2}, flooded {loaded:.2}; \
         flood requests answered {answered}, refused (503/429) {refused}; \
         event streams refused {streams_refused} of {SSE_STREAMS}"
    );
    assert!(answered > 0, "the flood reached the API");
    assert!(
        streams_refused >= SSE_STREAMS - 8,
        "event streams over the per-address cap were refused"
    );
    assert!(
        loaded >= unloaded / 2.0,
        "consensus slowed under API load: {loaded:.2} heights/s flooded vs {unloaded:.2} unloaded"
    );
    let ready = client(&target).ready();
    assert!(
        ready.as_ref().is_ok_and(|r| r.ready),
        "the flooded node is ready: {ready:?}"
    );
}
