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
//! Prints requests per second, the status counts and latency percentiles (from an
//! hdrhistogram of microseconds). Flags: `--help`; an unknown one is an error.

use clap::Parser;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::{Duration, Instant};

/// Most targets sampled.
const TARGETS_MAX: usize = 100_000;
/// Most concurrent workers (connections).
const CONCURRENCY_MAX: u64 = 4096;
/// Longest run, in seconds.
const DURATION_S_MAX: u64 = 3600;
/// Longest request latency the histogram tells apart, in microseconds (a minute); a longer
/// one counts as this.
const LATENCY_US_MAX: u64 = 60_000_000;
/// Significant decimal digits of the latency histogram (0.1 % resolution).
const LATENCY_SIGFIGS: u8 = 3;

/// What each worker requests.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `GET /v1/assets/{id}` for ids of asset records.
    Asset,
    /// `GET /v1/receipts/{hash}`.
    Receipt,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Asset => "asset",
            Kind::Receipt => "receipt",
        }
    }
}

/// HTTP load on one node's API.
#[derive(clap::Parser, Debug)]
#[command(name = "load")]
struct Args {
    /// The node's API base URL.
    #[arg(long, default_value = "http://127.0.0.1:26700")]
    url: String,
    /// What to request.
    #[arg(long, value_enum, default_value_t = Kind::Asset)]
    kind: Kind,
    /// Concurrent workers, each with one keep-alive connection.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=CONCURRENCY_MAX))]
    concurrency: u64,
    /// Seconds of load.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=DURATION_S_MAX))]
    duration_s: u64,
    /// Blocks, spread over the ledger, whose transactions become the targets.
    #[arg(long, default_value_t = 200)]
    sample_blocks: usize,
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

/// An empty latency histogram: microseconds up to `LATENCY_US_MAX`.
fn latency_histogram() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, LATENCY_US_MAX, LATENCY_SIGFIGS)
        .map_err(|e| format!("latency histogram: {e:?}"))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let a = Args::parse();
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(a.concurrency as usize)
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
                let path = match a.kind {
                    Kind::Asset if kind.ends_with("_asset") => {
                        format!("/v1/assets/{}", t["subject"].as_str().unwrap_or(""))
                    }
                    Kind::Receipt => {
                        format!("/v1/receipts/{}", t["hash"].as_str().unwrap_or(""))
                    }
                    Kind::Asset => continue,
                };
                targets.push(format!("{}{path}", a.url));
                taken += 1;
            }
        }
        h += step;
    }
    if targets.is_empty() {
        return Err(format!(
            "no {} targets found in the sampled blocks",
            a.kind.as_str()
        ));
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
    let empty = latency_histogram()?;
    for w in 0..a.concurrency as usize {
        let client = client.clone();
        let targets = targets.clone();
        let mut lat = empty.clone();
        tasks.push(tokio::spawn(async move {
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
                lat.saturating_record(u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            (ok, other, errors, lat)
        }));
    }
    let (mut ok, mut other, mut errors, mut lat) = (0, 0, 0, empty);
    for t in tasks {
        let (o, x, e, l) = t.await.map_err(|e| e.to_string())?;
        ok += o;
        other += x;
        errors += e;
        lat.add(&l)
            .map_err(|e| format!("merging latencies: {e:?}"))?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "kind={} concurrency={} duration_s={:.1} requests={} ok={} non_200={} errors={} req_per_s={:.0} p50_us={} p99_us={} max_us={}",
        a.kind.as_str(),
        a.concurrency,
        secs,
        ok + other + errors,
        ok,
        other,
        errors,
        (ok + other + errors) as f64 / secs,
        lat.value_at_quantile(0.5),
        lat.value_at_quantile(0.99),
        lat.max()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Args, clap::Error> {
        Args::try_parse_from(line.split_whitespace())
    }

    #[test]
    fn the_documented_command_parses() {
        let a = parse(
            "load --url http://127.0.0.1:26790 --kind receipt --concurrency 32 --duration-s 10 --sample-blocks 20",
        )
        .unwrap();
        assert_eq!(a.url, "http://127.0.0.1:26790");
        assert_eq!(a.kind, Kind::Receipt);
        assert_eq!((a.concurrency, a.duration_s, a.sample_blocks), (32, 10, 20));
    }

    #[test]
    fn an_unknown_flag_is_an_error_naming_it() {
        let e = parse("load --duration 10").unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
        assert!(e.to_string().contains("--duration"), "{e}");
    }

    #[test]
    fn values_out_of_bounds_are_errors() {
        assert!(parse("load --kind assets").is_err());
        assert!(parse("load --concurrency 0").is_err());
        assert!(parse(&format!("load --duration-s {}", DURATION_S_MAX + 1)).is_err());
    }
}
