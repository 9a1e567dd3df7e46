//! The production host in the simulator, many seeds: `host-sim --seeds N [--start S]`;
//! one seed (a replay): `host-sim --seed S`. Prints each violation with its replay
//! command, then the seeds run, the violations and the seeds per minute; exits non-zero on
//! any violation.

use chancery_sim::host::{run_host_with, HostConfig};
use clap::Parser;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The arguments of `host-sim`.
#[derive(clap::Parser, Debug)]
#[command(name = "host-sim")]
struct HostArgs {
    /// Seeds to run.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Run this one seed only (replays a reported violation), printing its figures.
    #[arg(long, conflicts_with_all = ["seeds", "start"])]
    seed: Option<u64>,
    /// Virtual time after the heal, in ms (default: the scenario's, 4,000 ms): how long
    /// the network has to show progress once every fault is gone.
    #[arg(long)]
    after_heal_ms: Option<u64>,
    /// Threads running seeds side by side (default: the machine's cores). A seed's run
    /// depends on its seed alone, so the verdicts do not depend on this.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: Option<u16>,
}

fn main() -> ExitCode {
    let args = HostArgs::parse();
    // RUST_LOG=info (or debug) shows the drivers' own logs, e.g. while replaying a seed.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let (first, count) = match args.seed {
        Some(s) => (s, 1),
        None => (args.start, args.seeds),
    };
    let started = Instant::now();
    let config = |seed: u64| {
        let mut cfg = HostConfig::for_seed(seed);
        if let Some(ms) = args.after_heal_ms {
            cfg.duration_ms = cfg.heal_at_ms + ms;
        }
        cfg
    };
    if let Some(seed) = args.seed {
        println!("seed {seed}: {:?}", config(seed));
    }
    let jobs = match args.jobs {
        Some(j) => usize::from(j),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
    .min(usize::try_from(count).unwrap_or(usize::MAX))
    .max(1);
    let next = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= count {
                    break;
                }
                let seed = first.saturating_add(k);
                match run_host_with(&config(seed), seed) {
                    Ok(o) if args.seed.is_some() => println!("seed {seed}: {o:?}"),
                    Ok(_) => {}
                    Err(v) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        println!("{v}");
                    }
                }
            });
        }
    });
    let violations = failed.load(Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "host-sim: {count} seeds from {first} on {jobs} threads, {violations} violations, {:.1} s, {:.0} seeds/minute",
        secs,
        count as f64 * 60.0 / secs.max(1e-9)
    );
    if violations == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
