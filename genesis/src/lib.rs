//! # chancery-genesis
//!
//! Builds the canonical genesis document from a human-written TOML consortium description,
//! checks the consortium rules, writes and reads key files, defines the node configuration
//! file and generates local testnets. The `chancery-genesis` binary is a thin command line
//! over this library; `chancery-node` and the `chancery` CLI reuse [`keyfile`],
//! [`config`] and [`document`]. See `docs/genesis.md`.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod config;
pub mod document;
pub mod inspect;
pub mod keyfile;
pub mod rules;
pub mod spec;
pub mod testnet;

pub use document::{load_genesis, write_genesis, GenesisFileError};
pub use keyfile::{read_key_file, write_key_file, KeyFileError, KeyKind, KeyPair};
pub use rules::{Problem, Rules};
pub use spec::{build_from_file, BuildError, ConsortiumSpec};
