//! Wire messages of the consensus protocol and their canonical encoding.
//!
//! Everything here is *unverified*: [`Message::decode`] checks the canonical encoding and
//! size limits only. The core turns a message into verified state only after checking its
//! signatures against the epoch's validator set (see `docs/consensus.md`, "Message formats").

use bincode::{Decode, Encode};
use chancery_core::cert::{Certificate, VoteBody, VoteKind};
use chancery_core::codec::{self, check, Canonical, CodecError, ValidationError};
use chancery_core::crypto::SecretKey;
use chancery_core::domain;
use chancery_core::ids::{ChainId, Digest, Epoch, Height, Signature, View};
use chancery_core::validator::ValidatorSet;

/// Largest opaque block payload the core accepts, in bytes (the kernel's block limit plus
/// room for the header).
pub const PAYLOAD_BYTES_MAX: usize = chancery_core::limits::BLOCK_BYTES_MAX + 8 * 1024;
/// Most nullification certificates a proposal may carry to justify skipped views.
pub const SKIPPED_VIEWS_MAX: usize = 256;
/// Largest encoded consensus message, in bytes.
pub const MESSAGE_BYTES_MAX: usize = PAYLOAD_BYTES_MAX
    + (SKIPPED_VIEWS_MAX + 1) * (64 + chancery_core::limits::VALIDATORS_MAX * 66)
    + 1024;

/// A block as consensus sees it: the application's digest of it, its parent, height, the
/// view it was proposed in, and opaque payload bytes the application interprets.
///
/// The application guarantees that `digest` commits to everything else (it checks this
/// when asked to validate); consensus never interprets `payload`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub struct Block {
    /// Application-defined digest (for Chancery: the block header hash).
    pub digest: Digest,
    /// Digest of the parent block.
    pub parent: Digest,
    /// Height: parent height + 1.
    pub height: Height,
    /// View in which it is proposed.
    pub view: View,
    /// Opaque application bytes (for Chancery: the canonical `Block`).
    pub payload: Vec<u8>,
}

/// A reference to a block without its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub struct BlockRef {
    /// Digest.
    pub digest: Digest,
    /// Height.
    pub height: Height,
    /// View it was proposed in (0 for the root of an epoch).
    pub view: View,
}

impl Block {
    /// This block's reference.
    pub fn reference(&self) -> BlockRef {
        BlockRef {
            digest: self.digest,
            height: self.height,
            view: self.view,
        }
    }
}

/// A leader's signed proposal of a block in its view.
///
/// Signed bytes: `PROPOSAL_SIGN || 0 || encode((chain_id, epoch, parent_view, block))`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Proposal {
    /// Epoch.
    pub epoch: Epoch,
    /// View of the parent block (the views strictly between it and `block.view` must be
    /// nullified).
    pub parent_view: View,
    /// The block.
    pub block: Block,
    /// Index of the proposer (the leader of `block.view`).
    pub proposer: u16,
    /// Leader's signature.
    pub signature: Signature,
}

impl Proposal {
    fn signed_body(chain_id: ChainId, epoch: Epoch, parent_view: View, block: &Block) -> Vec<u8> {
        codec::encode(&(chain_id, epoch, parent_view, block))
    }

    /// Sign a proposal (the leader does this; tests and Byzantine actors may too).
    pub fn sign(
        chain_id: ChainId,
        epoch: Epoch,
        parent_view: View,
        block: Block,
        proposer: u16,
        key: &SecretKey,
    ) -> Proposal {
        let signature = key.sign(
            domain::PROPOSAL_SIGN,
            &Self::signed_body(chain_id, epoch, parent_view, &block),
        );
        Proposal {
            epoch,
            parent_view,
            block,
            proposer,
            signature,
        }
    }

    /// The exact signed bytes, tag included.
    pub fn signed_message(&self, chain_id: ChainId) -> Vec<u8> {
        domain::PROPOSAL_SIGN.signing_bytes(&Self::signed_body(
            chain_id,
            self.epoch,
            self.parent_view,
            &self.block,
        ))
    }
}

/// One signed vote as it travels: the [`VoteBody`] fields (without the chain id, which is
/// implied) plus the signer's index and signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub struct Vote {
    /// Epoch.
    pub epoch: Epoch,
    /// View.
    pub view: View,
    /// Kind.
    pub kind: VoteKind,
    /// Block digest ([`Digest::ZERO`] for nullify).
    pub block: Digest,
    /// Signer index in the epoch's validator set.
    pub signer: u16,
    /// Signature over [`VoteBody::signed_message`].
    pub signature: Signature,
}

impl Vote {
    /// The body this vote signs.
    pub fn body(&self, chain_id: ChainId) -> VoteBody {
        VoteBody {
            chain_id,
            epoch: self.epoch,
            view: self.view,
            kind: self.kind,
            block: self.block,
        }
    }

    /// Sign a vote.
    pub fn sign(
        chain_id: ChainId,
        epoch: Epoch,
        view: View,
        kind: VoteKind,
        block: Digest,
        signer: u16,
        key: &SecretKey,
    ) -> Vote {
        let body = VoteBody {
            chain_id,
            epoch,
            view,
            kind,
            block,
        };
        Vote {
            epoch,
            view,
            kind,
            block,
            signer,
            signature: body.sign(key),
        }
    }

    /// Do two votes by the same signer in the same view conflict (Simplex forbids them)?
    /// Two notarize votes for different blocks, two finalize votes for different blocks, or
    /// a nullify together with a finalize.
    pub fn conflicts_with(&self, other: &Vote) -> bool {
        if self.signer != other.signer || self.view != other.view || self.epoch != other.epoch {
            return false;
        }
        use VoteKind::*;
        match (self.kind, other.kind) {
            (Notarize, Notarize) | (Finalize, Finalize) => self.block != other.block,
            (Nullify, Finalize) | (Finalize, Nullify) => true,
            _ => false,
        }
    }
}

/// A proposal with the certificates that justify it: the parent's notarization (absent
/// when the parent is the epoch's root block) and one nullification per skipped view, in
/// increasing view order.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ProposalMsg {
    /// The signed proposal.
    pub proposal: Proposal,
    /// Notarization (or finalization) of the parent, unless the parent is the root.
    pub parent_cert: Option<Certificate>,
    /// Nullifications of every view strictly between the parent's view and this view.
    pub nullifications: Vec<Certificate>,
}

/// Every message consensus sends to a peer.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Message {
    /// A leader's proposal with its justification.
    Proposal(ProposalMsg),
    /// One vote.
    Vote(Vote),
    /// A notarization, nullification or finalization certificate.
    Certificate(Certificate),
    /// Please send the proposal of the block with this digest (backfill).
    BlockRequest {
        /// Digest wanted.
        digest: Digest,
    },
    /// Answer to [`Message::BlockRequest`]: the signed proposal of a certified block.
    Block(Proposal),
}

impl Canonical for Message {
    const NAME: &'static str = "consensus message";
    const BYTES_MAX: usize = MESSAGE_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Message::Proposal(p) => {
                check_block(&p.proposal.block).map_err(|e| e.within("proposal.block"))?;
                check::list("nullifications", &p.nullifications, SKIPPED_VIEWS_MAX)?;
                if let Some(c) = &p.parent_cert {
                    c.validate().map_err(|e| e.within("parent_cert"))?;
                }
                for (i, c) in p.nullifications.iter().enumerate() {
                    c.validate()
                        .map_err(|e| e.within(&format!("nullifications[{i}]")))?;
                }
                Ok(())
            }
            Message::Vote(v) => {
                if (v.kind == VoteKind::Nullify) != (v.block == Digest::ZERO) {
                    return Err(ValidationError::new(
                        "vote.block",
                        "the zero digest exactly for nullify votes",
                        v.block.to_hex(),
                    ));
                }
                Ok(())
            }
            Message::Certificate(c) => c.validate().map_err(|e| e.within("certificate")),
            Message::BlockRequest { .. } => Ok(()),
            Message::Block(p) => check_block(&p.block).map_err(|e| e.within("block")),
        }
    }
}

fn check_block(b: &Block) -> Result<(), ValidationError> {
    check::list("payload", &b.payload, PAYLOAD_BYTES_MAX)?;
    if b.height == Height(0) {
        return Err(ValidationError::new("height", "at least 1", "0"));
    }
    if b.view == View(0) {
        return Err(ValidationError::new("view", "at least 1", "0"));
    }
    Ok(())
}

impl Message {
    /// Canonical bytes for the wire.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decode bytes from a peer (canonical, size-limited, format-checked; NOT verified).
    pub fn decode(bytes: &[u8]) -> Result<Message, CodecError> {
        codec::decode(bytes)
    }
}

/// A self-contained proof that one validator signed two conflicting votes in one view.
/// Anyone holding the epoch's validator set can check it with [`Evidence::verify`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Evidence {
    /// The first vote seen.
    pub first: Vote,
    /// The conflicting vote.
    pub second: Vote,
}

impl Canonical for Evidence {
    const NAME: &'static str = "consensus evidence";
    const BYTES_MAX: usize = 512;
    fn validate(&self) -> Result<(), ValidationError> {
        if !self.first.conflicts_with(&self.second) {
            return Err(ValidationError::new(
                "second",
                "a vote conflicting with the first (same signer and view)",
                format!("{:?} vs {:?}", self.first.kind, self.second.kind),
            ));
        }
        Ok(())
    }
}

/// Why evidence does not prove misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The two votes do not conflict.
    #[error("votes do not conflict: {0}")]
    NotConflicting(#[from] ValidationError),
    /// The evidence is for another epoch than the set given.
    #[error("evidence is for epoch {found}, validator set is for epoch {expected}")]
    WrongEpoch {
        /// Set's epoch.
        expected: Epoch,
        /// Evidence's epoch.
        found: Epoch,
    },
    /// The signer is not in the set.
    #[error("signer index {index} is not in the validator set of {len}")]
    UnknownSigner {
        /// Index.
        index: u16,
        /// Set size.
        len: usize,
    },
    /// A signature does not verify.
    #[error("signature of the {which} vote does not verify")]
    BadSignature {
        /// `first` or `second`.
        which: &'static str,
    },
}

impl Evidence {
    /// Check the proof; returns the index of the misbehaving validator.
    pub fn verify(&self, chain_id: ChainId, set: &ValidatorSet) -> Result<u16, EvidenceError> {
        self.validate()?;
        if self.first.epoch != set.epoch {
            return Err(EvidenceError::WrongEpoch {
                expected: set.epoch,
                found: self.first.epoch,
            });
        }
        let v = set
            .get(self.first.signer)
            .ok_or(EvidenceError::UnknownSigner {
                index: self.first.signer,
                len: set.len(),
            })?;
        for (which, vote) in [("first", &self.first), ("second", &self.second)] {
            chancery_core::crypto::verify(
                &v.consensus_key,
                domain::VOTE_SIGN,
                &codec::encode(&vote.body(chain_id)),
                &vote.signature,
            )
            .map_err(|_| EvidenceError::BadSignature { which })?;
        }
        Ok(self.first.signer)
    }
}
