//! `chancery keys new --out FILE` and `chancery keys show FILE`: member key files in the
//! format `chancery-genesis` writes (JSON `{kind, suite, public, secret}`, mode 0600).

use crate::Outcome;
use anyhow::Result;
use chancery_genesis::keyfile::{self, KeyKind};
use std::path::PathBuf;

/// Key commands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Make a new member key and write it to a new file (mode 0600; never overwrites).
    New {
        /// The key file to create.
        #[arg(long)]
        out: PathBuf,
        /// The chain's crypto suite: `ed25519-blake3` or `sm2-sm3`.
        #[arg(long, default_value = "ed25519-blake3")]
        crypto: chancery_core::suite::Suite,
    },
    /// Print the public key (hex) of a key file (secret or public).
    Show {
        /// The key file.
        file: PathBuf,
        /// Print `{"kind", "suite", "public"}` JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Run a key command.
pub fn run(c: Command) -> Result<Outcome> {
    match c {
        Command::New { out, crypto } => {
            let key = keyfile::generate_key(crypto)?;
            keyfile::write_key_file(&out, KeyKind::Member, &key)?;
            Ok(Outcome::Ok(key.public().to_hex()))
        }
        Command::Show { file, json } => {
            let (kind, public) = keyfile::read_public_key(&file)?;
            Ok(Outcome::Ok(if json {
                serde_json::json!({"kind": kind, "suite": public.suite(), "public": public})
                    .to_string()
            } else {
                public.to_hex()
            }))
        }
    }
}
