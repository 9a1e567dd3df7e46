//! `chancery keys new --out FILE` and `chancery keys show FILE`: member key files in the
//! format `chancery-genesis` writes (JSON `{kind, public, secret}`, mode 0600).

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
    },
    /// Print the public key (hex) of a key file (secret or public).
    Show {
        /// The key file.
        file: PathBuf,
        /// Print `{"kind", "public"}` JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Run a key command.
pub fn run(c: Command) -> Result<Outcome> {
    match c {
        Command::New { out } => {
            let key = keyfile::generate_key()?;
            keyfile::write_key_file(&out, KeyKind::Member, &key)?;
            Ok(Outcome::Ok(key.public().to_hex()))
        }
        Command::Show { file, json } => {
            let (kind, public) = keyfile::read_public_key(&file)?;
            Ok(Outcome::Ok(if json {
                serde_json::json!({"kind": kind, "public": public}).to_string()
            } else {
                public.to_hex()
            }))
        }
    }
}
