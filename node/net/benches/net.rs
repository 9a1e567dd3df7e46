//! Throughput of `P2pNetwork` on loopback: messages per second and process CPU per
//! message, for 300-byte and 64 KiB messages between two nodes (300-byte ones also one at
//! a time, which costs a whole transfer per message), and a 4-node broadcast.
//! Each scenario runs `RUNS` times; the median is reported.
//!
//! Run: `cargo bench -p chancery-net --bench net` (release). CPU time is read from
//! /proc/self/stat (user + system, 10 ms ticks), so it is only meaningful for runs of a
//! second or more, and it includes both (or all four) nodes: it is the cost of a message
//! end to end, sender plus receiver.

use chancery_net::{
    no_requests, Bytes, Channel, Inbound, Limits, Network, P2pConfig, P2pNetwork, PeerConfig,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};

const RUNS: usize = 5;

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is field 14, stime 15.
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn limits() -> Limits {
    Limits {
        queue_messages_max: 1 << 16,
        queue_bytes_max: 512 << 20,
        inbound_messages_max: 1 << 14,
        ..Limits::default()
    }
}

async fn nodes(n: usize) -> Vec<(P2pNetwork, mpsc::Receiver<Inbound>)> {
    let seed = |i: usize| [i as u8 + 1; 32];
    let peers: Vec<PeerConfig> = (0..n)
        .map(|i| PeerConfig {
            name: format!("n{i}").into(),
            network_key: chancery_core::NetworkKey::from_seed(seed(i)),
            addrs: Vec::new(),
        })
        .collect();
    let mut out = Vec::new();
    for i in 0..n {
        let config = P2pConfig {
            name: format!("n{i}").into(),
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")],
            peers: peers.clone(),
            limits: limits(),
        };
        out.push(
            P2pNetwork::start(config, seed(i), no_requests())
                .await
                .expect("start"),
        );
    }
    for i in 0..n {
        let addr = out[i].0.listen_addrs()[0].clone();
        for (j, (net, _)) in out.iter().enumerate() {
            if i != j {
                net.add_address(&format!("n{i}").into(), addr.clone())
                    .expect("addr");
            }
        }
    }
    for (net, _) in &out {
        let mut st = net.status();
        st.wait_for(|s| s.connected.len() == n - 1)
            .await
            .expect("connect");
    }
    out
}

/// Every node broadcasts `per_node` messages of `size` bytes; returns (deliveries/s,
/// CPU µs per delivery). At most `window` messages per sender are undelivered at a time,
/// so the bounded queues never overflow.
async fn run(n: usize, size: usize, per_node: u64, window: u64) -> (f64, f64) {
    let mut ns = nodes(n).await;
    let delivered = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(Notify::new());
    let total = per_node * n as u64 * (n as u64 - 1);
    let mut receivers = Vec::new();
    for (_, rx) in ns.iter_mut() {
        let (_, placeholder) = mpsc::channel(1);
        let mut rx = std::mem::replace(rx, placeholder);
        let delivered = delivered.clone();
        let progress = progress.clone();
        let expect = per_node * (n as u64 - 1);
        receivers.push(tokio::spawn(async move {
            for _ in 0..expect {
                if rx.recv().await.is_none() {
                    break;
                }
                delivered.fetch_add(1, Ordering::Relaxed);
                progress.notify_waiters();
            }
        }));
    }
    let payload = Bytes::from(vec![0xa5u8; size]);
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let mut senders = Vec::new();
    for (net, _) in &ns {
        let net = net.clone();
        let payload = payload.clone();
        let delivered = delivered.clone();
        let progress = progress.clone();
        senders.push(tokio::spawn(async move {
            for k in 0..per_node {
                // Keep the whole system within `window` undelivered messages per sender.
                loop {
                    let notified = progress.notified();
                    let sent_all = k * n as u64 * (n as u64 - 1);
                    if sent_all < delivered.load(Ordering::Relaxed) + window * n as u64 {
                        break;
                    }
                    let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
                }
                net.broadcast(Channel::Transactions, payload.clone())
                    .expect("broadcast");
            }
        }));
    }
    for s in senders {
        s.await.expect("sender");
    }
    for r in receivers {
        r.await.expect("receiver");
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    for (net, _) in &ns {
        let c = net.counters();
        assert_eq!(c.refused_full, [0, 0], "bench overflowed a queue");
    }
    assert_eq!(delivered.load(Ordering::Relaxed), total);
    (total as f64 / secs, cpu / total as f64 * 1e6)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let scenarios: [(&str, usize, usize, u64, u64); 4] = [
        ("2 nodes, 300 B, one way both ways", 2, 300, 100_000, 8192),
        // One message in flight per sender: every message is its own batch, so this
        // measures the fixed cost of a transfer (latency-bound, like votes at low load).
        ("2 nodes, 300 B, one in flight", 2, 300, 5_000, 1),
        ("2 nodes, 64 KiB", 2, 64 * 1024, 4_000, 256),
        ("4 nodes, 300 B broadcast", 4, 300, 30_000, 4096),
    ];
    for (label, n, size, per_node, window) in scenarios {
        let mut rates = Vec::new();
        let mut cpus = Vec::new();
        for _ in 0..RUNS {
            let (rate, cpu) = rt.block_on(run(n, size, per_node, window));
            rates.push(rate);
            cpus.push(cpu);
        }
        let mb = median(rates.clone()) * size as f64 / 1e6;
        println!(
            "{label}: median {:.0} msgs/s ({mb:.0} MB/s), {:.1} us CPU per delivered message; runs: {:?}",
            median(rates.clone()),
            median(cpus),
            rates.iter().map(|r| *r as u64).collect::<Vec<_>>()
        );
    }
}
