//! A small HTTP load generator for the node API: fixed concurrency, bounded duration,
//! keep-alive HTTP/1.1 connections (hyper), one connection per worker.
//!
//! It first samples targets from the server itself: the transactions of blocks at random
//! heights (`GET /v1/blocks/{h}`), so reads are spread over the whole ledger; then each
//! worker requests `GET /v1/assets/{id}` (`--kind asset`, ids of asset records) or
//! `GET /v1/receipts/{hash}` (`--kind receipt`) in a loop until the duration is over.
//!
//! ```sh
//! cargo run --release -p chancery-api --example load -- \
//!     --url http://127.0.0.1:26700 --kind asset --concurrency 32 --duration-s 10
//! ```
//!
//! Prints requests per second, the status counts and latency percentiles.

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::{Duration, Instant};

/// Most targets sampled.
const TARGETS_MAX: usize = 100_000;
/// Most latency samples kept per worker.
const SAMPLES_MAX: usize = 2_000_000;

struct Args {
    url: String,
    kind: String,
    concurrency: usize,
    duration_s: u64,
    sample_blocks: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        url: "http://127.0.0.1:26700".into(),
        kind: "asset".into(),
        concurrency: 32,
        duration_s: 10,
        sample_blocks: 200,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--url" => a.url = v()?,
            "--kind" => a.kind = v()?,
            "--concurrency" => a.concurrency = v()?.parse().map_err(|e| format!("{k}: {e}"))?,
            "--duration-s" => a.duration_s = v()?.parse().map_err(|e| format!("{k}: {e}"))?,
            "--sample-blocks" => {
                a.sample_blocks = v()?.parse().map_err(|e| format!("{k}: {e}"))?
            }
            _ => return Err(format!("unknown argument {k}; expected --url --kind asset|receipt --concurrency N --duration-s N --sample-blocks N")),
        }
    }
    if a.kind != "asset" && a.kind != "receipt" {
        return Err(format!("--kind must be asset or receipt, found {}", a.kind));
    }
    if a.concurrency == 0 || a.concurrency > 4096 || a.duration_s == 0 || a.duration_s > 3600 {
        return Err("--concurrency must be 1..=4096 and --duration-s 1..=3600".into());
    }
    Ok(a)
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>;

async fn get(c: &HttpClient, url: &str) -> Result<(u16, Bytes), String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let res = c.get(uri).await.map_err(|e| format!("{url}: {e}"))?;
    let status = res.status().as_u16();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{url}: {e}"))?
        .to_bytes();
    Ok((status, body))
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let a = args()?;
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(a.concurrency)
        .build_http();
    let (st, body) = get(&client, &format!("{}/v1/status", a.url)).await?;
    if st != 200 {
        return Err(format!("status answered {st}"));
    }
    let status: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let tip = status["tip"]["height"].as_u64().unwrap_or(0);
    if tip == 0 {
        return Err("the ledger has no block".into());
    }
    // Sample targets from blocks at spread-out heights (a fixed-step walk: deterministic).
    let mut targets = Vec::new();
    let step = (tip / a.sample_blocks.max(1) as u64).max(1);
    // Each sampled block contributes at most its share, so targets span the whole ledger.
    let per_block = (TARGETS_MAX / (tip / step).max(1) as usize).max(1);
    let mut h = 1 + (tip % step);
    while h <= tip && targets.len() < TARGETS_MAX {
        let mut taken = 0;
        let (st, body) = get(&client, &format!("{}/v1/blocks/{h}", a.url)).await?;
        if st == 200 {
            let b: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            for t in b["transactions"].as_array().into_iter().flatten() {
                if taken == per_block {
                    break;
                }
                let kind = t["record_kind"].as_str().unwrap_or("");
                let path = match a.kind.as_str() {
                    "asset" if kind.ends_with("_asset") => {
                        format!("/v1/assets/{}", t["subject"].as_str().unwrap_or(""))
                    }
                    "receipt" => format!("/v1/receipts/{}", t["hash"].as_str().unwrap_or("")),
                    _ => continue,
                };
                targets.push(format!("{}{path}", a.url));
                taken += 1;
            }
        }
        h += step;
    }
    if targets.is_empty() {
        return Err(format!("no {} targets found in the sampled blocks", a.kind));
    }
    eprintln!(
        "{} targets from blocks every {step} heights of {tip}; {} workers for {} s",
        targets.len(),
        a.concurrency,
        a.duration_s
    );
    let targets = std::sync::Arc::new(targets);
    let deadline = Instant::now() + Duration::from_secs(a.duration_s);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..a.concurrency {
        let client = client.clone();
        let targets = targets.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let (mut ok, mut other, mut errors) = (0u64, 0u64, 0u64);
            let mut i = w * 7919;
            while Instant::now() < deadline {
                let url = &targets[i % targets.len()];
                i += 1;
                let t0 = Instant::now();
                match get(&client, url).await {
                    Ok((200, _)) => ok += 1,
                    Ok(_) => other += 1,
                    Err(_) => errors += 1,
                }
                if lat.len() < SAMPLES_MAX {
                    lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
            }
            (ok, other, errors, lat)
        }));
    }
    let (mut ok, mut other, mut errors, mut lat) = (0, 0, 0, Vec::new());
    for t in tasks {
        let (o, x, e, l) = t.await.map_err(|e| e.to_string())?;
        ok += o;
        other += x;
        errors += e;
        lat.extend(l);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    println!(
        "kind={} concurrency={} duration_s={:.1} requests={} ok={} non_200={} errors={} req_per_s={:.0} p50_us={} p99_us={} max_us={}",
        a.kind,
        a.concurrency,
        secs,
        ok + other + errors,
        ok,
        other,
        errors,
        (ok + other + errors) as f64 / secs,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(0)
    );
    Ok(())
}
