//! Measurements on a running testnet (`up --detach` first), driven by the demo workload.
//!
//! * `bench latency`: runs `chancery demo` at a given pace and follows one node's event
//!   stream; each transaction's latency is from the moment the node accepted its batch (the
//!   demo prints a line when the POST returns 202) to the moment that node applied the block
//!   holding it. Transactions are matched by (signer, seq): every agency signs with one
//!   member key whose sequence numbers the demo uses in order.
//! * `bench catchup`: stops a validator (SIGTERM), has the others finalize a workload,
//!   restarts it and times until its log reaches theirs: transactions caught up per second.

use crate::manifest::Manifest;
use crate::procs;
use anyhow::{anyhow, bail, Context, Result};
use chancery_client::{Client, Event};
use hdrhistogram::Histogram;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Most transactions one latency run tracks (memory bound of the matching tables).
pub const TRACKED_TXS_MAX: usize = 1_000_000;
/// Seconds the latency bench waits, after the last submission, for every transaction to
/// be finalized.
pub const FINALITY_WAIT_S: u64 = 120;
/// Longest latency the histogram tells apart, in microseconds (an hour); a longer one
/// counts as this.
pub const LATENCY_US_MAX: u64 = 3_600_000_000;
/// Significant decimal digits of the latency histogram (0.1 % resolution).
const LATENCY_SIGFIGS: u8 = 3;

fn log_size(api: &str) -> Result<u64> {
    Ok(tip(api)?.0)
}

/// The next unused demo round for this testnet directory (record ids include the round, so
/// each run must use fresh rounds), reserving `rounds` of them.
fn reserve_rounds(dir: &Path, rounds: u64) -> Result<u64> {
    let p = dir.join("bench-next-round");
    let next = std::fs::read_to_string(&p)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1_000_000u64);
    std::fs::write(&p, (next + rounds).to_string())
        .with_context(|| format!("writing {}", p.display()))?;
    Ok(next)
}

fn demo_command(dir: &Path, from: u64, rounds: u64, pause_ms: u64) -> Command {
    let mut c = Command::new(procs::sibling("chancery"));
    c.arg("demo")
        .arg("--testnet")
        .arg(dir)
        .args(["--from-round", &from.to_string()])
        .args(["--rounds", &rounds.to_string()])
        .args(["--pause-ms", &pause_ms.to_string()]);
    c
}

/// Parse a demo line `round N: AGENCY submitted K records to URL...` into (agency, K).
fn parse_demo_line(line: &str) -> Option<(String, u64)> {
    let rest = line.strip_prefix("round ")?;
    let (_, rest) = rest.split_once(": ")?;
    let (agency, rest) = rest.split_once(" submitted ")?;
    let (k, _) = rest.split_once(" records")?;
    Some((agency.to_string(), k.parse().ok()?))
}

/// Agency -> member public key (hex), from the key files listed in the manifest.
fn member_keys(m: &Manifest) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for k in &m.member_keys {
        let (_, public) = chancery_genesis::keyfile::read_public_key(&k.key)?;
        out.insert(k.agency.clone(), public.to_string());
    }
    if out.is_empty() {
        bail!("the manifest lists no member keys");
    }
    Ok(out)
}

/// Median of a few figures (one per run); NaN when there are none.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// An empty latency histogram: microseconds up to `LATENCY_US_MAX`, `LATENCY_SIGFIGS`
/// significant digits.
fn latency_histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, LATENCY_US_MAX, LATENCY_SIGFIGS)
        .map_err(|e| anyhow!("latency histogram: {e:?}"))
}

/// Record one latency (longer than `LATENCY_US_MAX` counts as that).
fn record_latency(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
}

/// The summary line: p50, p90, p99 and max in milliseconds.
fn latency_line(h: &Histogram<u64>) -> String {
    let ms = |us: u64| us as f64 / 1000.0;
    format!(
        "  submit-to-finality: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        ms(h.value_at_quantile(0.50)),
        ms(h.value_at_quantile(0.90)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max())
    )
}

/// `bench latency`: finalized tx/s and submit-to-finality latency at the demo's pace.
pub fn latency(dir: &Path, node: Option<&str>, rounds: u64, pause_ms: u64) -> Result<()> {
    let m = Manifest::load(dir)?;
    let n = match node {
        Some(name) => m.node(name)?,
        None => m
            .nodes
            .iter()
            .find(|n| n.role == "validator")
            .ok_or_else(|| anyhow!("no validator in the manifest"))?,
    };
    let api = n.api.clone();
    let keys = member_keys(&m)?;
    // Each agency's next sequence number: the demo starts from it too.
    let mut next_seq: HashMap<String, u64> = HashMap::new();
    for (agency, key) in &keys {
        next_seq.insert(agency.clone(), member_next_seq(&api, key)?);
    }
    let applied = follow_blocks(&api)?;
    let from = reserve_rounds(dir, rounds)?;
    let start = Instant::now();
    let submitted = run_demo(dir, from, rounds, pause_ms, &keys, &mut next_seq)?;
    let total = submitted.len();
    let (latency, last) = await_finality(&api, submitted, &applied, start)?;
    let secs = last.duration_since(start).as_secs_f64();
    println!(
        "latency bench at {} ({}): {total} transactions, {rounds} demo rounds, pause {pause_ms} ms",
        n.name, api
    );
    println!(
        "  finalized {:.0} tx/s (first submission to last finalization, {secs:.1} s)",
        total as f64 / secs
    );
    println!("{}", latency_line(&latency));
    Ok(())
}

/// A transaction as the latency bench tracks it: (signer's public key in hex, seq).
type TxId = (String, u64);

/// Follow the node's event stream on a thread: (arrival, height) of every block that
/// holds transactions.
fn follow_blocks(api: &str) -> Result<mpsc::Receiver<(Instant, u64)>> {
    let (tx, rx) = mpsc::channel::<(Instant, u64)>();
    let reader = open_events(api)?;
    std::thread::spawn(move || {
        for (h, c) in reader {
            if c > 0 && tx.send((Instant::now(), h)).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// Run `chancery demo` and note when each of its transactions was accepted (the demo
/// prints a line when its POST returns 202); `next_seq` advances past them.
fn run_demo(
    dir: &Path,
    from: u64,
    rounds: u64,
    pause_ms: u64,
    keys: &HashMap<String, String>,
    next_seq: &mut HashMap<String, u64>,
) -> Result<HashMap<TxId, Instant>> {
    let mut child = demo_command(dir, from, rounds, pause_ms)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting `chancery demo` (is it built?)")?;
    let out = child.stdout.take().ok_or_else(|| anyhow!("demo stdout"))?;
    let mut submitted: HashMap<TxId, Instant> = HashMap::new();
    for line in BufReader::new(out).lines() {
        let line = line.context("reading the demo's output")?;
        let at = Instant::now();
        if line.contains("refused") {
            bail!("the demo's transactions were refused: {line}");
        }
        if let Some((agency, k)) = parse_demo_line(&line) {
            let key = keys
                .get(&agency)
                .ok_or_else(|| anyhow!("demo agency {agency} has no member key"))?;
            let s = next_seq
                .get_mut(&agency)
                .ok_or_else(|| anyhow!("agency {agency}"))?;
            for q in *s..*s + k {
                if submitted.len() >= TRACKED_TXS_MAX {
                    bail!("more than {TRACKED_TXS_MAX} transactions: use fewer rounds");
                }
                submitted.insert((key.clone(), q), at);
            }
            *s += k;
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("chancery demo failed with {status}");
    }
    Ok(submitted)
}

/// Match the applied blocks to the submitted transactions until every one is finalized
/// (at most `FINALITY_WAIT_S` after the last submission): their latencies, and when the
/// last was applied.
fn await_finality(
    api: &str,
    mut submitted: HashMap<TxId, Instant>,
    applied: &mpsc::Receiver<(Instant, u64)>,
    start: Instant,
) -> Result<(Histogram<u64>, Instant)> {
    let total = submitted.len();
    let mut latency = latency_histogram()?;
    let mut last = start;
    let deadline = Instant::now() + Duration::from_secs(FINALITY_WAIT_S);
    while !submitted.is_empty() {
        let wait = deadline.saturating_duration_since(Instant::now());
        let (at, h) = applied.recv_timeout(wait).map_err(|_| {
            anyhow!(
                "{} of {total} transactions not finalized at {api} within {FINALITY_WAIT_S} s of the last submission",
                submitted.len()
            )
        })?;
        for id in block_txs(api, h)? {
            if let Some(sent) = submitted.remove(&id) {
                record_latency(&mut latency, at.saturating_duration_since(sent));
                last = at;
            }
        }
    }
    Ok((latency, last))
}

/// `bench catchup`: catch-up rate of a restarted validator, median of `runs`.
pub fn catchup(dir: &Path, node: &str, rounds: u64, runs: u32) -> Result<()> {
    let mut m = Manifest::load(dir)?;
    let first = m.node(node)?.clone();
    let others: Vec<String> = m
        .nodes
        .iter()
        .filter(|n| n.name != first.name && n.role == "validator")
        .map(|n| n.api.clone())
        .collect();
    let witness = others
        .first()
        .ok_or_else(|| anyhow!("no other validator to finalize while {node} is down"))?
        .clone();
    let mut rates = Vec::new();
    let mut finals = Vec::new();
    for run in 1..=runs {
        let victim = m.node(node)?.clone();
        let (behind, behind_h) = tip(&victim.api)?;
        procs::stop(&victim)?;
        let before = log_size(&witness)?;
        let from = reserve_rounds(dir, rounds)?;
        let t = Instant::now();
        let out = demo_command(dir, from, rounds, 0)
            .output()
            .context("running `chancery demo`")?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || text.contains("refused") {
            bail!(
                "demo failed or was refused:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let sent: u64 = text.lines().filter_map(parse_demo_line).map(|x| x.1).sum();
        let target = before + sent;
        wait_until(&witness, target, Duration::from_secs(600))?;
        let finalized_s = t.elapsed().as_secs_f64();
        let (target, target_h) = tip(&witness)?;
        // Restart the victim and time it to the others' log size.
        let t0 = Instant::now();
        let pid = procs::spawn(dir, &victim)?;
        m.node_mut(node)?.pid = pid;
        m.save(dir)?;
        let mut up = None;
        loop {
            if let Ok(s) = log_size(&victim.api) {
                up.get_or_insert(t0.elapsed());
                if s >= target {
                    break;
                }
            }
            if !procs::alive(pid) {
                bail!(
                    "{node} exited while catching up; see {}",
                    victim.log_path().display()
                );
            }
            if t0.elapsed() > Duration::from_secs(600) {
                bail!("{node} did not catch up within 600 s");
            }
            std::thread::sleep(Duration::from_millis(20)); // polling another process
        }
        let took = t0.elapsed().as_secs_f64();
        let txs = target - behind;
        let rate = txs as f64 / took;
        let up_s = up.map(|d| d.as_secs_f64()).unwrap_or(0.0);
        println!(
            "run {run}: {sent} txs finalized by the others in {finalized_s:.1} s ({:.0} tx/s); \
             {node} caught up {txs} txs in {} blocks in {took:.2} s from restart: {rate:.0} tx/s \
             (API up after {up_s:.2} s; {:.0} tx/s from then)",
            sent as f64 / finalized_s,
            target_h.saturating_sub(behind_h),
            txs as f64 / (took - up_s).max(1e-3)
        );
        rates.push(rate);
        finals.push(sent as f64 / finalized_s);
        // Let it take part again before the next run.
        procs::wait_ready(m.node(node)?, Duration::from_secs(120))?;
    }
    println!(
        "catch-up median of {runs}: {:.0} tx/s (restart to tip); finalized by 3 of 4 at full demo speed: median {:.0} tx/s",
        median(&mut rates),
        median(&mut finals)
    );
    Ok(())
}

fn wait_until(api: &str, size: u64, timeout: Duration) -> Result<()> {
    let t = Instant::now();
    while log_size(api)? < size {
        if t.elapsed() > timeout {
            bail!(
                "{api} did not reach log size {size} within {} s",
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(20)); // polling another process
    }
    Ok(())
}

// Every call to a node's HTTP API is in the small functions below, one per endpoint, all
// through `chancery_client`.

/// Bound of one request, in milliseconds.
const REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Bound of the event stream a latency run follows, in milliseconds.
const EVENTS_TIMEOUT_MS: u64 = 3_600_000;

fn client(api: &str) -> Client {
    Client::with_timeout_ms(api, Some(REQUEST_TIMEOUT_MS))
}

/// (log size, height) of the node's finalized tip.
fn tip(api: &str) -> Result<(u64, u64)> {
    let s = client(api).status()?;
    Ok((s.tip.log_size, s.tip.height))
}

/// The next sequence number of a member key (`GET /v1/members/{key}`).
fn member_next_seq(api: &str, key: &str) -> Result<u64> {
    Ok(client(api).member(key)?.next_seq)
}

/// The node's block events (`GET /v1/events`): (height, transaction count) as they come.
fn open_events(api: &str) -> Result<impl Iterator<Item = (u64, u32)>> {
    let events = Client::with_timeout_ms(api, Some(EVENTS_TIMEOUT_MS)).events()?;
    Ok(events.map_while(|e| e.ok()).filter_map(|e| match e {
        Event::Block(b) => Some((b.height, b.tx_count)),
        _ => None,
    }))
}

/// (signer, seq) of every transaction of the block at height `h` (`GET /v1/blocks/{h}`).
fn block_txs(api: &str, h: u64) -> Result<Vec<TxId>> {
    let b = client(api).block(h)?;
    Ok(b.transactions
        .into_iter()
        .map(|t| (t.signer, t.seq))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_lines() {
        assert_eq!(
            parse_demo_line("round 3: mof submitted 7 records to http://127.0.0.1:1"),
            Some(("mof".to_string(), 7))
        );
        assert_eq!(parse_demo_line("demo finished after 3 rounds"), None);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 3.0);
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn latency_line_in_milliseconds() {
        let mut h = latency_histogram().unwrap();
        for ms in 1..=1000 {
            record_latency(&mut h, Duration::from_millis(ms));
        }
        assert_eq!(
            latency_line(&h),
            "  submit-to-finality: p50 500 ms, p90 900 ms, p99 990 ms, max 1000 ms"
        );
    }
}
