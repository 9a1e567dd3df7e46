//! The production host in the simulator, many seeds: `host-sim --seeds N [--start S]`;
//! one seed (a replay): `host-sim --seed S`. Prints each violation with its replay
//! command, then the seeds run, the violations and the seeds per minute; exits non-zero on
//! any violation.

use chancery_sim::host::{run_host, HostConfig};
use clap::Parser;
use std::process::ExitCode;
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
}

fn main() -> ExitCode {
    let args = HostArgs::parse();
    let (first, count) = match args.seed {
        Some(s) => (s, 1),
        None => (args.start, args.seeds),
    };
    let started = Instant::now();
    let mut violations = 0u64;
    if let Some(seed) = args.seed {
        println!("seed {seed}: {:?}", HostConfig::for_seed(seed));
    }
    for seed in first..first.saturating_add(count) {
        match run_host(seed) {
            Ok(o) if args.seed.is_some() => println!("seed {seed}: {o:?}"),
            Ok(_) => {}
            Err(v) => {
                violations += 1;
                println!("{v}");
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "host-sim: {count} seeds from {first}, {violations} violations, {:.1} s, {:.0} seeds/minute",
        secs,
        count as f64 * 60.0 / secs.max(1e-9)
    );
    if violations == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
