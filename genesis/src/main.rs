//! `chancery-genesis`: build, inspect and generate genesis documents, key files and local
//! testnets. See `docs/genesis.md`.

use anyhow::{Context, Result};
use chancery_core::suite::Suite;
use chancery_core::TimestampMs;
use chancery_genesis::inspect::Summary;
use chancery_genesis::keyfile::{
    generate_key, generate_network_key, write_key_file, write_public_key_file, KeyKind,
};
use chancery_genesis::rules::Rules;
use chancery_genesis::spec::parse_time;
use chancery_genesis::testnet::{generate, TestnetOptions};
use chancery_genesis::{build_from_file, load_genesis, write_genesis};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "chancery-genesis",
    version,
    about = "Chancery genesis, key and testnet tool"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Member,
    Consensus,
    Network,
}

impl From<Kind> for KeyKind {
    fn from(k: Kind) -> KeyKind {
        match k {
            Kind::Member => KeyKind::Member,
            Kind::Consensus => KeyKind::Consensus,
            Kind::Network => KeyKind::Network,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Build genesis.json from a consortium description (TOML) and print the chain id.
    Build {
        /// The consortium description.
        spec: PathBuf,
        /// Where to write the genesis document.
        #[arg(long, default_value = "genesis.json")]
        out: PathBuf,
        /// Allow fewer than 4 validators (a development chain without fault tolerance).
        #[arg(long)]
        dev: bool,
    },
    /// Write a new secret key file (mode 0600); never overwrites.
    Keygen {
        /// The key file to create.
        #[arg(long)]
        out: PathBuf,
        /// What the key is for.
        #[arg(long, value_enum, default_value = "member")]
        kind: Kind,
        /// Also write the public key file (no secret) here, for the consortium description.
        #[arg(long)]
        public_out: Option<PathBuf>,
        /// The chain's crypto suite (`ed25519-blake3` or `sm2-sm3`); network keys are
        /// Ed25519 in every suite.
        #[arg(long, default_value = "ed25519-blake3")]
        crypto: Suite,
    },
    /// Show a genesis document: chain id, agencies, validators, quorum, members, params.
    Inspect {
        /// The genesis document.
        genesis: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Generate keys, genesis and node configs for a local network on 127.0.0.1.
    Testnet {
        /// Number of validators.
        #[arg(long)]
        validators: usize,
        /// Number of observers.
        #[arg(long, default_value_t = 0)]
        observers: usize,
        /// Output directory (must not exist or be empty).
        #[arg(long)]
        out: PathBuf,
        /// First port; node i uses base+2i (p2p) and base+2i+1 (API).
        #[arg(long, default_value_t = 26000)]
        base_port: u16,
        /// Chain name.
        #[arg(long, default_value = "chancery-testnet")]
        chain_name: String,
        /// Genesis time (RFC 3339 or date); default now.
        #[arg(long)]
        genesis_time: Option<String>,
        /// Allow fewer than 4 validators.
        #[arg(long)]
        dev: bool,
        /// The chain's crypto suite: `ed25519-blake3` or `sm2-sm3`.
        #[arg(long, default_value = "ed25519-blake3")]
        crypto: Suite,
    },
}

fn now() -> Result<TimestampMs> {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("system clock before 1970")?;
    // Whole seconds: a readable genesis time.
    Ok(TimestampMs(d.as_secs().saturating_mul(1000)))
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Our errors include their causes in their messages; print each once.
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Build { spec, out, dev } => {
            let rules = if dev { Rules::DEV } else { Rules::PRODUCTION };
            let g = build_from_file(&spec, rules)?;
            write_genesis(&out, &g)?;
            println!("{}", g.chain_id());
            eprintln!(
                "wrote {} ({} agencies, {} validators, {} members)",
                out.display(),
                g.agencies.len(),
                g.validators.len(),
                g.members.len()
            );
        }
        Command::Keygen {
            out,
            kind,
            public_out,
            crypto,
        } => {
            let key = match kind {
                Kind::Network => generate_network_key()?,
                _ => generate_key(crypto)?,
            };
            write_key_file(&out, kind.into(), &key)?;
            if let Some(p) = public_out {
                write_public_key_file(&p, kind.into(), &key.public())?;
            }
            // The public key only; the secret is never printed.
            println!("{}", key.public());
        }
        Command::Inspect { genesis, json } => {
            let g = load_genesis(&genesis)?;
            let s = Summary::of(&g);
            if json {
                println!("{}", s.to_json());
            } else {
                print!("{}", s.to_text());
            }
        }
        Command::Testnet {
            validators,
            observers,
            out,
            base_port,
            chain_name,
            genesis_time,
            dev,
            crypto,
        } => {
            let genesis_time = match genesis_time {
                Some(t) => parse_time(&t).map_err(|p| anyhow::anyhow!("--genesis-time: {p}"))?,
                None => now()?,
            };
            let t = generate(&TestnetOptions {
                validators,
                observers,
                out: out.clone(),
                base_port,
                chain_name,
                genesis_time,
                dev,
                crypto,
            })?;
            println!("{}", t.chain_id);
            for n in &t.nodes {
                eprintln!(
                    "{:<14} p2p {}  api {}  {}",
                    n.name,
                    n.config.p2p_listen,
                    n.config.api_listen,
                    n.config_path.display()
                );
            }
            eprintln!("wrote {}", t.genesis_path.display());
        }
    }
    Ok(())
}
