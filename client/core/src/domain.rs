//! Domain separation: every hash and every signature in Chancery has its own tag.
//!
//! A tag is an ASCII constant without NUL bytes. Hashes use BLAKE3 in key-derivation mode
//! with the tag as context, so two purposes can never produce the same digest for the same
//! bytes. Signed messages are `tag || 0x00 || body`: the NUL ends the tag unambiguously.
//!
//! This list is the only place tags are defined; adding a purpose means adding a line here.
//!
//! Normative specification: docs/spec/02-hashing-signing.md, sections 2.1 to 2.3.

use crate::ids::Digest;

/// A domain-separation tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag(pub &'static str);

/// Hash of a whole signed transaction: its id.
pub const TX_HASH: Tag = Tag("chancery/v1/hash/tx");
/// Signature of a transaction body by its signer.
pub const TX_SIGN: Tag = Tag("chancery/v1/sign/tx");
/// Hash of a block header: the block id.
pub const BLOCK_HASH: Tag = Tag("chancery/v1/hash/block-header");
/// Hash of a block's transaction list (the header commits to it).
pub const BLOCK_TXS_HASH: Tag = Tag("chancery/v1/hash/block-txs");
/// Hash of a validator set.
pub const VALIDATOR_SET_HASH: Tag = Tag("chancery/v1/hash/validator-set");
/// Hash of the canonical genesis document: the chain id.
pub const GENESIS_HASH: Tag = Tag("chancery/v1/hash/genesis");
/// Consensus vote signature (notarize, nullify, finalize).
pub const VOTE_SIGN: Tag = Tag("chancery/v1/sign/vote");
/// Consensus block proposal signature by the leader.
pub const PROPOSAL_SIGN: Tag = Tag("chancery/v1/sign/proposal");
/// Leaf of the transaction log Merkle tree.
pub const LOG_LEAF: Tag = Tag("chancery/v1/hash/log-leaf");
/// Interior node of the transaction log Merkle tree.
pub const LOG_NODE: Tag = Tag("chancery/v1/hash/log-node");
/// Leaf of the state tree.
pub const STATE_LEAF: Tag = Tag("chancery/v1/hash/state-leaf");
/// Interior node of the state tree.
pub const STATE_NODE: Tag = Tag("chancery/v1/hash/state-node");
/// Key of an entry in the state tree.
pub const STATE_KEY: Tag = Tag("chancery/v1/hash/state-key");
/// Salted commitment to a restricted field.
pub const RESTRICTED_FIELD: Tag = Tag("chancery/v1/hash/restricted-field");
/// Hash of an anchored document's bytes (when computed by Chancery tools).
pub const DOCUMENT_HASH: Tag = Tag("chancery/v1/hash/document");
/// Checkpoint note signature (text form of a checkpoint).
pub const CHECKPOINT_SIGN: Tag = Tag("chancery/v1/sign/checkpoint");

/// Every tag, for the uniqueness test and for documentation.
pub const ALL: &[Tag] = &[
    TX_HASH,
    TX_SIGN,
    BLOCK_HASH,
    BLOCK_TXS_HASH,
    VALIDATOR_SET_HASH,
    GENESIS_HASH,
    VOTE_SIGN,
    PROPOSAL_SIGN,
    LOG_LEAF,
    LOG_NODE,
    STATE_LEAF,
    STATE_NODE,
    STATE_KEY,
    RESTRICTED_FIELD,
    DOCUMENT_HASH,
    CHECKPOINT_SIGN,
];

impl Tag {
    /// A BLAKE3 hasher in key-derivation mode for this tag.
    pub fn hasher(self) -> blake3::Hasher {
        blake3::Hasher::new_derive_key(self.0)
    }

    /// The 32-byte key that BLAKE3 derives from this tag, for keyed hashing on hot paths.
    pub fn derived_key(self) -> [u8; 32] {
        blake3::derive_key(self.0, b"")
    }

    /// Hash `bytes` under this tag.
    pub fn hash(self, bytes: &[u8]) -> Digest {
        let mut h = self.hasher();
        h.update(bytes);
        Digest(*h.finalize().as_bytes())
    }

    /// The bytes that are signed for `body` under this tag: `tag || 0x00 || body`.
    pub fn signing_bytes(self, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() + 1 + body.len());
        out.extend_from_slice(self.0.as_bytes());
        out.push(0);
        out.extend_from_slice(body);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_unique_and_nul_free() {
        for (i, a) in ALL.iter().enumerate() {
            assert!(!a.0.as_bytes().contains(&0), "{} contains NUL", a.0);
            assert!(a.0.starts_with("chancery/v1/"), "{} lacks the prefix", a.0);
            for b in &ALL[i + 1..] {
                assert_ne!(a.0, b.0);
            }
        }
    }

    #[test]
    fn same_bytes_different_tags_differ() {
        assert_ne!(TX_HASH.hash(b"x"), BLOCK_HASH.hash(b"x"));
        assert_eq!(TX_HASH.hash(b"x"), TX_HASH.hash(b"x"));
    }
}
