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
}

impl Args {
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
