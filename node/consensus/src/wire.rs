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
/// Largest encoded [`Proposal`] (a block of [`PAYLOAD_BYTES_MAX`] and the signed fields).
pub const PROPOSAL_BYTES_MAX: usize = PAYLOAD_BYTES_MAX + 1024;
/// Largest encoded [`Evidence`]: two proposals (equivocating leaders sign two blocks).
pub const EVIDENCE_BYTES_MAX: usize = 2 * PROPOSAL_BYTES_MAX + 16;
/// Largest encoded [`ProposalMsg`]: a proposal with its parent certificate and
/// [`SKIPPED_VIEWS_MAX`] nullifications.
pub const PROPOSAL_MSG_BYTES_MAX: usize = PROPOSAL_BYTES_MAX
    + (SKIPPED_VIEWS_MAX + 1) * (64 + chancery_core::limits::VALIDATORS_MAX * 66);
/// Largest encoded consensus message, in bytes: the larger of a justified proposal and a
/// proposal-equivocation [`Evidence`] (two full proposals).
pub const MESSAGE_BYTES_MAX: usize = 16
    + if PROPOSAL_MSG_BYTES_MAX > EVIDENCE_BYTES_MAX {
        PROPOSAL_MSG_BYTES_MAX
    } else {
        EVIDENCE_BYTES_MAX
    };

/// A block as consensus sees it: the application's digest of it, its parent, height, the
/// view it was proposed in, and opaque payload bytes the application interprets.
///
/// The application guarantees that `digest` commits to everything else (it checks this
/// when asked to validate); consensus never interprets `payload`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Encode, Decode)]
#[bincode(decode_context = "chancery_core::suite::Suite")]
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
#[bincode(decode_context = "chancery_core::suite::Suite")]
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
#[bincode(decode_context = "chancery_core::suite::Suite")]
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
#[bincode(decode_context = "chancery_core::suite::Suite")]
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
#[bincode(decode_context = "chancery_core::suite::Suite")]
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
#[bincode(decode_context = "chancery_core::suite::Suite")]
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
    /// Proof that a validator equivocated (R10), gossiped once by every core that detects
    /// or receives it.
    Evidence(Evidence),
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
            Message::Evidence(e) => e.validate().map_err(|e| e.within("evidence")),
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

    /// Decode bytes from a peer of a chain of `suite` (canonical, size-limited,
    /// format-checked; NOT verified).
    pub fn decode(suite: chancery_core::suite::Suite, bytes: &[u8]) -> Result<Message, CodecError> {
        codec::decode_in(suite, bytes)
    }
}

/// The leader of `view` in a set of `n` validators: round robin, `view mod n` (R1).
pub fn leader_of(view: View, n: usize) -> u16 {
    let n = n.max(1) as u64;
    (view.0 % n) as u16
}

/// A self-contained proof that one validator equivocated in one view (R10). Anyone holding
/// the epoch's validator set can check it with [`Evidence::verify`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[bincode(decode_context = "chancery_core::suite::Suite")]
pub enum Evidence {
    /// Two conflicting votes by one signer in one view (see [`Vote::conflicts_with`]).
    Votes {
        /// The first vote seen.
        first: Vote,
        /// The conflicting vote.
        second: Vote,
    },
    /// Two proposals signed by the leader of one view for blocks with different digests.
    Proposals {
        /// The first proposal seen.
        first: Proposal,
        /// The other proposal.
        second: Proposal,
    },
}

impl Canonical for Evidence {
    const NAME: &'static str = "consensus evidence";
    const BYTES_MAX: usize = EVIDENCE_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Evidence::Votes { first, second } => {
                if !first.conflicts_with(second) {
                    return Err(ValidationError::new(
                        "second",
                        "a vote conflicting with the first (same signer and view)",
                        format!("{:?} vs {:?}", first.kind, second.kind),
                    ));
                }
            }
            Evidence::Proposals { first, second } => {
                check_block(&first.block).map_err(|e| e.within("first.block"))?;
                check_block(&second.block).map_err(|e| e.within("second.block"))?;
                let same = |what: &str, a: String, b: String| {
                    if a == b {
                        Ok(())
                    } else {
                        Err(ValidationError::new(
                            format!("second.{what}"),
                            format!("the first proposal's {what} {a}"),
                            b,
                        ))
                    }
                };
                same("epoch", first.epoch.to_string(), second.epoch.to_string())?;
                same(
                    "block.view",
                    first.block.view.to_string(),
                    second.block.view.to_string(),
                )?;
                same(
                    "proposer",
                    first.proposer.to_string(),
                    second.proposer.to_string(),
                )?;
                if first.block.digest == second.block.digest {
                    return Err(ValidationError::new(
                        "second.block.digest",
                        "a digest other than the first proposal's",
                        second.block.digest.to_hex(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Why evidence does not prove misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The two votes or proposals do not conflict (or are malformed).
    #[error("not conflicting: {0}")]
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
    /// The proposer is not the leader of the proposals' view.
    #[error("proposer {found} is not the leader {expected} of view {view}")]
    NotLeader {
        /// The view.
        view: View,
        /// Its leader.
        expected: u16,
        /// The proposer named.
        found: u16,
    },
    /// A signature does not verify.
    #[error("signature of the {which} item does not verify")]
    BadSignature {
        /// `first` or `second`.
        which: &'static str,
    },
}

impl Evidence {
    /// The index of the validator it accuses.
    pub fn culprit(&self) -> u16 {
        match self {
            Evidence::Votes { first, .. } => first.signer,
            Evidence::Proposals { first, .. } => first.proposer,
        }
    }

    /// The epoch of the equivocation.
    pub fn epoch(&self) -> Epoch {
        match self {
            Evidence::Votes { first, .. } => first.epoch,
            Evidence::Proposals { first, .. } => first.epoch,
        }
    }

    /// The view of the equivocation.
    pub fn view(&self) -> View {
        match self {
            Evidence::Votes { first, .. } => first.view,
            Evidence::Proposals { first, .. } => first.block.view,
        }
    }

    /// What it is about, as the stable id a host stores it under: epoch (8 bytes), view
    /// (8 bytes) and culprit (2 bytes), big-endian, so ids sort by epoch and view. The core
    /// reports one piece of evidence per id.
    pub fn id(&self) -> [u8; 18] {
        let mut id = [0u8; 18];
        id[..8].copy_from_slice(&self.epoch().0.to_be_bytes());
        id[8..16].copy_from_slice(&self.view().0.to_be_bytes());
        id[16..].copy_from_slice(&self.culprit().to_be_bytes());
        id
    }

    /// Its kind (`"votes"` or `"proposals"`) and the canonical encodings of its two
    /// conflicting items, for readers and renderers.
    pub fn encoded_parts(&self) -> (&'static str, Vec<u8>, Vec<u8>) {
        match self {
            Evidence::Votes { first, second } => {
                ("votes", codec::encode(first), codec::encode(second))
            }
            Evidence::Proposals { first, second } => {
                ("proposals", codec::encode(first), codec::encode(second))
            }
        }
    }

    /// Check the proof with the kernel's signature rule; returns the culprit's index.
    pub fn verify(&self, chain_id: ChainId, set: &ValidatorSet) -> Result<u16, EvidenceError> {
        self.verify_with(chain_id, set, &mut crate::verify::KernelVerifier)
    }

    /// [`Evidence::verify`] through a [`Verifier`](crate::verify::Verifier): format (the two
    /// items conflict), epoch, culprit in the set (and leader of the view for proposals),
    /// both signatures.
    pub fn verify_with(
        &self,
        chain_id: ChainId,
        set: &ValidatorSet,
        verifier: &mut dyn crate::verify::Verifier,
    ) -> Result<u16, EvidenceError> {
        self.validate()?;
        if self.epoch() != set.epoch {
            return Err(EvidenceError::WrongEpoch {
                expected: set.epoch,
                found: self.epoch(),
            });
        }
        let culprit = self.culprit();
        let v = set.get(culprit).ok_or(EvidenceError::UnknownSigner {
            index: culprit,
            len: set.len(),
        })?;
        let messages: [Vec<u8>; 2] = match self {
            Evidence::Votes { first, second } => [
                first.body(chain_id).signed_message(),
                second.body(chain_id).signed_message(),
            ],
            Evidence::Proposals { first, second } => {
                let leader = leader_of(self.view(), set.len());
                if culprit != leader {
                    return Err(EvidenceError::NotLeader {
                        view: self.view(),
                        expected: leader,
                        found: culprit,
                    });
                }
                [
                    first.signed_message(chain_id),
                    second.signed_message(chain_id),
                ]
            }
        };
        let signatures = match self {
            Evidence::Votes { first, second } => [first.signature, second.signature],
            Evidence::Proposals { first, second } => [first.signature, second.signature],
        };
        for (i, which) in ["first", "second"].into_iter().enumerate() {
            let item = chancery_core::crypto::BatchItem {
                key: v.consensus_key,
                message: &messages[i],
                signature: signatures[i],
            };
            if !crate::verify::bad_items(verifier, &[item]).is_empty() {
                return Err(EvidenceError::BadSignature { which });
            }
        }
        Ok(culprit)
    }
}
