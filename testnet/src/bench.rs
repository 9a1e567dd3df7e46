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
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Most transactions one latency run tracks (memory bound of the matching tables).
pub const TRACKED_TXS_MAX: usize = 1_000_000;

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

fn get_json(url: &str) -> Result<Value> {
    let mut r = agent(Duration::from_secs(10))
        .get(url)
        .call()
        .with_context(|| format!("GET {url}"))?;
    let text = r
        .body_mut()
        .read_to_string()
        .with_context(|| format!("GET {url}: body"))?;
    serde_json::from_str(&text).with_context(|| format!("GET {url}: expected JSON, got {text:?}"))
}

fn log_size(api: &str) -> Result<u64> {
    Ok(tip(api)?.0)
}

/// (log size, height) of the node's finalized tip.
fn tip(api: &str) -> Result<(u64, u64)> {
    let v = get_json(&format!("{api}/v1/status"))?;
    match (v["tip"]["log_size"].as_u64(), v["tip"]["height"].as_u64()) {
        (Some(s), Some(h)) => Ok((s, h)),
        _ => bail!("{api}/v1/status: expected tip.log_size and tip.height, got {v}"),
    }
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
        let text = std::fs::read_to_string(&k.key)
            .with_context(|| format!("reading {}", k.key.display()))?;
        let v: Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", k.key.display()))?;
        let public = v["public"]
            .as_str()
            .ok_or_else(|| anyhow!("{}: no `public` field", k.key.display()))?;
        out.insert(k.agency.clone(), public.to_string());
    }
    if out.is_empty() {
        bail!("the manifest lists no member keys");
    }
    Ok(out)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(v, 50.0)
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
        let v = get_json(&format!("{api}/v1/members/{key}"))?;
        let s = v["next_seq"]
            .as_u64()
            .ok_or_else(|| anyhow!("{api}/v1/members/{key}: no next_seq: {v}"))?;
        next_seq.insert(agency.clone(), s);
    }
    // Follow the node's blocks: (signer, seq) -> when it was applied.
    let (tx, rx) = mpsc::channel::<(Instant, u64)>();
    let stream = agent(Duration::from_secs(3600))
        .get(&format!("{api}/v1/events"))
        .call()
        .with_context(|| format!("{api}/v1/events"))?;
    std::thread::spawn(move || {
        let reader = BufReader::new(stream.into_body().into_reader());
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if let Some(data) = line.strip_prefix("data:") {
                let v: Value = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
                if let (Some(h), Some(c)) = (v["height"].as_u64(), v["tx_count"].as_u64()) {
                    if c > 0 && tx.send((Instant::now(), h)).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let from = reserve_rounds(dir, rounds)?;
    let start = Instant::now();
    let mut child = demo_command(dir, from, rounds, pause_ms)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting `chancery demo` (is it built?)")?;
    let out = child.stdout.take().ok_or_else(|| anyhow!("demo stdout"))?;
    let mut submitted: HashMap<(String, u64), Instant> = HashMap::new();
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
    let total = submitted.len();
    let mut latencies_ms = Vec::with_capacity(total);
    let mut last = start;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !submitted.is_empty() {
        let wait = deadline.saturating_duration_since(Instant::now());
        let (at, h) = rx.recv_timeout(wait).map_err(|_| {
            anyhow!(
                "{} of {total} transactions not finalized at {api} within 120 s of the last submission",
                submitted.len()
            )
        })?;
        let b = get_json(&format!("{api}/v1/blocks/{h}"))?;
        for t in b["transactions"].as_array().cloned().unwrap_or_default() {
            let (Some(signer), Some(seq)) = (t["signer"].as_str(), t["seq"].as_u64()) else {
                continue;
            };
            if let Some(sent) = submitted.remove(&(signer.to_string(), seq)) {
                latencies_ms.push(at.saturating_duration_since(sent).as_secs_f64() * 1e3);
                last = at;
            }
        }
    }
    latencies_ms.sort_by(f64::total_cmp);
    let secs = last.duration_since(start).as_secs_f64();
    println!(
        "latency bench at {} ({}): {total} transactions, {rounds} demo rounds, pause {pause_ms} ms",
        n.name, api
    );
    println!(
        "  finalized {:.0} tx/s (first submission to last finalization, {secs:.1} s)",
        total as f64 / secs
    );
    println!(
        "  submit-to-finality: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&latencies_ms, 50.0),
        percentile(&latencies_ms, 90.0),
        percentile(&latencies_ms, 99.0),
        percentile(&latencies_ms, 100.0)
    );
    Ok(())
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
    fn percentiles() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 50.0), 3.0);
        assert_eq!(percentile(&v, 100.0), 5.0);
    }
}
