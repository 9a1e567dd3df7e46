//! The arguments of the `chancery-sim` binary.

use crate::SCENARIOS;
use clap::builder::PossibleValuesParser;

/// Long simulation campaigns: `chancery-sim --seeds N [--start S] [--scenario NAME]`; one
/// seed: `chancery-sim --scenario NAME --seed S`; the figures: `chancery-sim --measure`.
#[derive(clap::Parser, Debug, Clone, PartialEq, Eq)]
#[command(name = "chancery-sim")]
pub struct Args {
    /// Seeds to run, over the scenarios in turn (with --measure: leader-crash seeds, and
    /// at most 50 happy-path seeds).
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    pub start: u64,
    /// Run this one seed only (replays a reported violation).
    #[arg(long, conflicts_with_all = ["seeds", "start"])]
    pub seed: Option<u64>,
    /// Run only this scenario (default: every scenario in turn).
    #[arg(long, value_parser = PossibleValuesParser::new(SCENARIOS.iter().copied()))]
    pub scenario: Option<String>,
    /// Print the happy-path latency in message delays and the views to recover from a
    /// leader crash, instead of a campaign.
    #[arg(long, conflicts_with_all = ["start", "seed", "scenario"])]
    pub measure: bool,
    /// Threads running seeds side by side (default: the machine's cores). Each seed runs
    /// on one thread from its own seed alone, so the verdicts do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,
    /// The validators' crypto suite: `ed25519-blake3` (the default) or `sm2-sm3`.
    #[arg(long, default_value = "ed25519-blake3")]
    pub crypto: chancery_core::suite::Suite,
}

impl Args {
    /// Threads to run seeds on.
    pub fn job_count(&self) -> usize {
        match self.jobs {
            Some(j) => usize::from(j),
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// The first seed to run.
    pub fn first_seed(&self) -> u64 {
        self.seed.unwrap_or(self.start)
    }

    /// How many seeds to run.
    pub fn seed_count(&self) -> u64 {
        if self.seed.is_some() {
            1
        } else {
            self.seeds
        }
    }

    /// The scenarios to run, in turn.
    pub fn scenarios(&self) -> Vec<String> {
        match &self.scenario {
            Some(name) => vec![name.clone()],
            None => SCENARIOS.iter().map(|s| s.to_string()).collect(),
        }
    }
}
