//! Long simulation campaigns: `chancery-sim --seeds N [--start S] [--scenario NAME]`, or
//! one seed: `chancery-sim --scenario NAME --seed S`.

use chancery_sim::{run, scenario, SCENARIOS};
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut seeds: u64 = 100;
    let mut start: u64 = 0;
    let mut names: Vec<String> = SCENARIOS.iter().map(|s| s.to_string()).collect();
    let mut i = 0;
    while i < args.len() {
        let val = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--seeds" => seeds = val.parse().unwrap_or(seeds),
            "--start" => start = val.parse().unwrap_or(start),
            "--seed" => {
                start = val.parse().unwrap_or(start);
                seeds = 1;
            }
            "--scenario" => names = vec![val],
            other => {
                eprintln!("unknown argument {other}; usage: chancery-sim [--seeds N] [--start S] [--seed S] [--scenario NAME]; scenarios: {}", SCENARIOS.join(", "));
                return ExitCode::from(2);
            }
        }
        i += 2;
    }
    let t0 = Instant::now();
    let mut runs: u64 = 0;
    let mut failures: u64 = 0;
    for k in 0..seeds {
        let seed = start + k;
        let name = &names[(k as usize) % names.len()];
        let Some(sc) = scenario(name, seed) else {
            eprintln!("unknown scenario {name}; known: {}", SCENARIOS.join(", "));
            return ExitCode::from(2);
        };
        runs += 1;
        match run(&sc, seed) {
            Ok(o) => {
                if seeds == 1 {
                    println!("{name} seed {seed}: n={} ok: {o:?}", sc.n);
                }
            }
            Err(v) => {
                failures += 1;
                println!("{v}");
            }
        }
        if runs % 1000 == 0 {
            eprintln!(
                "{runs} seeds, {failures} violations, {:.0} seeds/min",
                runs as f64 * 60.0 / t0.elapsed().as_secs_f64()
            );
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{runs} seeds ({}) in {secs:.1} s = {:.0} seeds/min; {failures} violations",
        names.join(","),
        runs as f64 * 60.0 / secs
    );
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
