//! # chancery-sim — a deterministic simulator for the Simplex core
//!
//! Runs `n` production [`chancery_consensus::Core`]s against a seeded network and clock
//! (latency, jitter, loss, duplication, reordering, partitions, crash/restart with a torn
//! last write) with Byzantine actors ([`byzantine`]), checking safety invariants after every
//! event and liveness after the last fault heals. The same seed always yields the same
//! trace digest.
//!
//! [`host`] runs the production node host instead (the `chancery-node` library's driver,
//! app, ledger and mempool on its deterministic runtime; the `host-sim` binary).

pub mod args;
pub mod byzantine;
pub mod epochs;
pub mod host;
pub mod scenario;
pub mod sim;
pub mod state;

pub use args::Args;
pub use scenario::{scenario, Scenario, SCENARIOS};
pub use sim::{run, Outcome, Violation};

/// The commit this simulator was built from (`build.rs`; `+changes` when the work tree
/// differed from it): a violation names it, since a seed replays only on the same code.
pub const BUILT_FROM_COMMIT: &str = env!("CHANCERY_SIM_COMMIT");

/// The command that replays one seed of one scenario.
pub fn replay_command(scenario: &str, seed: u64) -> String {
    format!("cargo run --release -p chancery-sim -- --scenario {scenario} --seed {seed}")
}

/// The command that replays one seed of one scenario with validators of `suite`.
pub fn replay_command_in(suite: chancery_core::suite::Suite, scenario: &str, seed: u64) -> String {
    if suite.is_default() {
        replay_command(scenario, seed)
    } else {
        format!("{} --crypto {suite}", replay_command(scenario, seed))
    }
}
