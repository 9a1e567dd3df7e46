//! `chancery`: the command-line client and offline auditor.
//!
//! One module per subcommand group; `main` only parses and dispatches. Exit status 0 on
//! success (and "valid" for verifications), 1 when a verification fails or input is bad
//! (with the reason on stderr), 2 for usage errors (clap).
#![forbid(unsafe_code)]

mod demo;
mod files;
mod tlog;
mod verify;

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
    /// Verify a receipt offline against the genesis file.
    Verify(verify::Args),
    /// Submit a stream of realistic records to a local testnet.
    Demo(demo::Args),
}

/// What a command concluded.
pub enum Outcome {
    /// Success: print this to stdout.
    Ok(String),
    /// A verification failed: print the reason to stderr, exit 1.
    Invalid(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Tlog(c) => tlog::run(c),
        Command::Verify(a) => verify::run(a),
        Command::Demo(a) => demo::run(a),
    };
    match result {
        Ok(Outcome::Ok(s)) => {
            if !s.is_empty() {
                println!("{s}");
            }
            ExitCode::SUCCESS
        }
        Ok(Outcome::Invalid(s)) => {
            eprintln!("invalid: {s}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
