//! How the application binds a block's digest to its contents.
//!
//! Consensus treats blocks as opaque, so it cannot itself tell whether a [`Block`]'s
//! `digest` really commits to its `payload`, `parent`, `height` and `view`. A proposal or a
//! fetched block whose digest does not bind its contents must never be stored, voted for
//! or delivered: a certificate signs the digest, so the bytes delivered under it must be
//! the bytes the quorum checked. The core asks the host's [`BlockBinding`] before it keeps
//! any block (issue 14, finding 1).

use crate::wire::Block;

/// The application's digest rule, checked by the core on every proposal and fetched block
/// before it is stored.
pub trait BlockBinding: Send {
    /// `Ok(())` when `block.digest` is the application's digest of `block.payload`, and the
    /// payload names exactly `block.parent`, `block.height` and `block.view`; otherwise an
    /// error that says what differs (expected and found).
    fn check(&self, block: &Block) -> Result<(), String>;

    /// Whether `block` is the last block of its epoch (R13): its header commits the next
    /// validator set (Chancery: `next_validator_set` is not the zero digest). The core never
    /// delivers a block past it in the same epoch: a finalization that covers it and
    /// blocks past it (the old epoch's suffix) delivers it and stops, so that its host,
    /// which learns of the next set from the chain, can tell the core before anything of
    /// the next epoch is delivered. Called only on blocks the core stored (`check` passed).
    /// By default no block ends an epoch.
    fn ends_epoch(&self, block: &Block) -> bool {
        let _ = block;
        false
    }
}

/// A simple digest rule for simulators and tests: the BLAKE3 block-hash (domain
/// `BLOCK_HASH`) of the canonical encoding of `(parent, height, view, payload)`. Chancery's
/// node uses the kernel block header hash instead.
#[derive(Debug, Default, Clone, Copy)]
pub struct HashBinding;

impl HashBinding {
    /// The digest this rule gives a block with these contents.
    pub fn digest(
        parent: chancery_core::ids::Digest,
        height: chancery_core::ids::Height,
        view: chancery_core::ids::View,
        payload: &[u8],
    ) -> chancery_core::ids::Digest {
        chancery_core::domain::BLOCK_HASH.hash(&chancery_core::codec::encode(&(
            parent,
            height,
            view,
            payload.to_vec(),
        )))
    }
}

impl BlockBinding for HashBinding {
    fn check(&self, block: &Block) -> Result<(), String> {
        let expected = HashBinding::digest(block.parent, block.height, block.view, &block.payload);
        if expected == block.digest {
            Ok(())
        } else {
            Err(format!(
                "block digest {} does not bind its contents: expected {}",
                block.digest, expected
            ))
        }
    }
}
