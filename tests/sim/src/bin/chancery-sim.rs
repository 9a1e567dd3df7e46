//! Long simulation campaigns: `chancery-sim --seeds N [--start S] [--scenario NAME]`; one
//! seed: `chancery-sim --scenario NAME --seed S`; the figures: `chancery-sim --measure`.

use chancery_sim::{run, scenario, Args, SCENARIOS};
use clap::Parser;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Happy-path latency in message delays (fixed latency, no jitter, instant disk and app)
/// and mean views to recover after a leader crash.
fn measure(seeds: u64) -> ExitCode {
    let latency_ms = 20;
    let mut notarize = Vec::new();
    let mut finalize = Vec::new();
    for seed in 0..seeds.min(50) {
        let Some(mut sc) = scenario("happy", seed) else {
            return ExitCode::FAILURE;
        };
        sc.net.latency_min_ms = latency_ms;
        sc.net.latency_max_ms = latency_ms;
        sc.net.jitter_ms = 0;
        sc.persist_ms = 0;
        sc.app_ms = 0;
        match run(&sc, seed) {
            Ok(o) => {
                notarize.push(o.notarize_ms_mean / latency_ms as f64);
                finalize.push(o.finalize_ms_mean / latency_ms as f64);
            }
            Err(v) => {
                println!("{v}");
                return ExitCode::FAILURE;
            }
        }
    }
    let mut recovery = Vec::new();
    for seed in 0..seeds {
        let Some(sc) = scenario("leader-crash", seed) else {
            return ExitCode::FAILURE;
        };
        match run(&sc, seed) {
            Ok(o) => recovery.extend(o.recovery_views),
            Err(v) => {
                println!("{v}");
                return ExitCode::FAILURE;
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let rec: Vec<f64> = recovery.iter().map(|x| *x as f64).collect();
    println!(
        "happy path ({} seeds, latency {latency_ms} ms, no jitter): notarization after {:.2} message delays, finalization after {:.2}",
        notarize.len(),
        mean(&notarize),
        mean(&finalize)
    );
    println!(
        "leader crash ({} seeds): mean {:.2} views from the crash to the next finalized view (max {})",
        rec.len(),
        mean(&rec),
        recovery.iter().max().copied().unwrap_or(0)
    );
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.measure {
        return measure(args.seeds);
    }
    let (start, seeds, names) = (args.first_seed(), args.seed_count(), args.scenarios());
    for name in &names {
        if scenario(name, start).is_none() {
            eprintln!("unknown scenario {name}; known: {}", SCENARIOS.join(", "));
            return ExitCode::from(2);
        }
    }
    let t0 = Instant::now();
    // Seed k goes to whichever thread takes it next; a seed's run depends on its seed
    // alone, so the set of verdicts is the same for any number of threads.
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let jobs = args
        .job_count()
        .min(usize::try_from(seeds).unwrap_or(usize::MAX))
        .max(1);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= seeds {
                    break;
                }
                let seed = start + k;
                let name = &names[(k as usize) % names.len()];
                let Some(sc) = scenario(name, seed) else {
                    break; // every name was checked above
                };
                let sc = sc.with_suite(args.crypto);
                match run(&sc, seed) {
                    Ok(o) => {
                        if seeds == 1 {
                            println!("{name} seed {seed}: n={} ok: {o:?}", sc.n);
                        }
                    }
                    Err(v) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        println!("{v}");
                    }
                }
                let runs = done.fetch_add(1, Ordering::Relaxed) + 1;
                if runs % 1000 == 0 {
                    eprintln!(
                        "{runs} seeds, {} violations, {:.0} seeds/min",
                        failed.load(Ordering::Relaxed),
                        runs as f64 * 60.0 / t0.elapsed().as_secs_f64()
                    );
                }
            });
        }
    });
    let runs = done.load(Ordering::Relaxed);
    let failures = failed.load(Ordering::Relaxed);
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{runs} seeds ({}) on {jobs} threads in {secs:.1} s = {:.0} seeds/min; {failures} violations",
        names.join(","),
        runs as f64 * 60.0 / secs
    );
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
