//! `chancery`: the command-line client and offline auditor.
//!
//! One module per subcommand group; `main` only parses and dispatches. Exit status 0 on
//! success (and "valid" for verifications), 1 when a verification fails or input is bad
//! (with the reason on stderr), 2 for usage errors (clap).

mod audit;
mod bench;
mod blockfile;
mod demo;
mod epochs;
mod files;
mod get;
mod gov;
mod inspect;
mod keys;
mod ocds;
mod receipt;
mod submit;
mod tlog;
mod verify;
mod watch;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Chancery command-line client and offline auditor.
#[derive(Parser, Debug)]
#[command(name = "chancery", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Merkle log tools: verify and produce inclusion and consistency proofs.
    #[command(subcommand)]
    Tlog(tlog::Command),
    /// Verify a receipt or a state-proof bundle offline against the genesis file.
    Verify(verify::Args),
    /// Submit a stream of realistic records to a local testnet.
    Demo(demo::Args),
    /// Load-test a running network and measure finality latency and throughput.
    Bench(bench::Args),
    /// Member key files: make one, show its public key.
    #[command(subcommand)]
    Keys(keys::Command),
    /// Sign and submit a record of any kind; optionally wait for finality.
    Submit(submit::Args),
    /// Read from a node: status, blocks, transactions, assets, awards, grants, ...
    Get(get::Args),
    /// A transaction's signer, exact signed bytes and signature (hex), to check with
    /// another tool.
    #[command(subcommand)]
    Inspect(inspect::Command),
    /// Fetch a transaction's receipt (JSON) for offline verification.
    Receipt(receipt::Args),
    /// Re-verify a whole ledger (node, data directory or export file) from the genesis.
    Audit(audit::Args),
    /// Export the ledger's blocks and certificates to a file.
    #[command(subcommand)]
    Export(blockfile::Command),
    /// Watch several nodes' checkpoints and raise an alarm on a split view.
    Watch(watch::Args),
    /// Governance: propose changes, vote, show and list proposals.
    #[command(subcommand)]
    Gov(gov::Command),
}

/// What a command concluded.
pub enum Outcome {
    /// Success: print this to stdout.
    Ok(String),
    /// A verification failed: print the reason to stderr, exit 1.
    Invalid(String),
    /// A split view was seen: print the evidence to stdout, exit 3.
    Alarm(String),
    /// A verification failed and the caller asked for a machine-readable answer: print
    /// `stdout` (JSON) to stdout and the reason to stderr, exit 1.
    InvalidWith {
        /// The answer, on stdout.
        stdout: String,
        /// The reason, on stderr.
        reason: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Tlog(c) => tlog::run(c),
        Command::Verify(a) => verify::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Keys(c) => keys::run(c),
        Command::Submit(a) => submit::run(a),
        Command::Get(a) => get::run(a),
        Command::Receipt(a) => receipt::run(a),
        Command::Inspect(c) => inspect::run(c),
        Command::Audit(a) => audit::run(a),
        Command::Export(c) => blockfile::run(c),
        Command::Watch(a) => watch::run(a),
        Command::Gov(c) => gov::run(c),
    };
    match result {
        Ok(Outcome::Ok(s)) => {
            if !s.is_empty() {
                println!("{s}");
            }
            ExitCode::SUCCESS
        }
        Ok(Outcome::Alarm(s)) => {
            println!("{s}");
            ExitCode::from(3)
        }
        Ok(Outcome::Invalid(s)) => {
            eprintln!("invalid: {s}");
            ExitCode::from(1)
        }
        Ok(Outcome::InvalidWith { stdout, reason }) => {
            println!("{stdout}");
            eprintln!("invalid: {reason}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
