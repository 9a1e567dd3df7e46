//! # chancery-core — the kernel
//!
//! The vocabulary and the proofs that every Chancery node and every outside verifier share:
//! identifiers, records, the transaction envelope, canonical encoding, domain-separated
//! hashing and signing, validator sets and quorum certificates, block headers.
//!
//! Invariants (see `docs/ARCHITECTURE.md`):
//! - no IO of any kind: no files, sockets, clocks or randomness (keys are made from bytes
//!   that the caller supplies);
//! - depends on none of tokio, rocksdb, libp2p, axum (checked by `tests/e2e/tests/deps.rs`);
//! - every decode of outside bytes goes through [`codec::decode`], which rejects trailing
//!   bytes, unknown versions, oversize inputs and non-canonical forms;
//! - every hash and every signature carries a tag from [`domain`].
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod block;
pub mod cert;
pub mod checkpoint;
pub mod codec;
pub mod crypto;
pub mod domain;
pub mod epoch;
pub mod epoch_set;
pub mod genesis;
pub mod governance;
pub mod ids;
pub mod limits;
pub mod merkle;
pub mod procurement;
pub mod receipt;
pub mod record;
pub mod sm;
pub mod snapshot;
pub mod state;
pub mod suite;
pub mod tx;
pub mod validator;

pub use codec::{decode, decode_in, encode, Canonical, CodecError};
pub use ids::*;
