//! # chancery-consensus — a sans-IO Simplex consensus core
//!
//! Implements Simplex (Chan and Pass, TCC 2023) as a pure state machine: the host feeds
//! [`Input`]s to [`Core::handle`] and carries out the returned [`Effect`]s (send,
//! broadcast, schedule a timer, persist a vote, ask the application to propose or validate
//! a block, deliver a finalized block, report evidence). The core has no clock, socket,
//! disk, randomness or async. The rules and their paper references are in
//! `docs/consensus.md`; match arms cite them as `R1`..`R13`.
//!
//! The core is generic over blocks: it sees a [`Block`] as digest, parent digest, height,
//! view and opaque payload bytes. The application computes digests and validates payloads.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod binding;
mod core;
pub mod verify;
pub mod wire;

pub use crate::binding::{BlockBinding, HashBinding};
pub use crate::core::{Config, ConfigError, Core, Effect, Input, Peer, TimeoutKind};
pub use crate::wire::{
    Block, BlockRef, Evidence, EvidenceError, Message, Proposal, ProposalMsg, Vote,
};
