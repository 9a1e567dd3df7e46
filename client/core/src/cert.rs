//! Consensus votes and quorum certificates.
//!
//! Vote formats live in the kernel, not in the consensus crate, because auditors verify
//! finalization certificates offline with exactly this code. A vote signs
//! `VOTE_SIGN || 0 || encode(VoteBody)`: chain id, epoch, view, kind and block digest.
//!
//! Normative specification: docs/spec/03-structures.md, section 3.11; the quorum rule: 04-proofs.md, section 4.3.

use crate::codec::{self, check, Canonical, ValidationError};
use crate::crypto::{self, BatchItem, SecretKey, SignatureError};
use crate::domain;
use crate::ids::{ChainId, Digest, Epoch, Signature, View};
use crate::limits::{CERTIFICATE_ENCODING_BYTES_MAX, VALIDATORS_MAX};
use crate::validator::ValidatorSet;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The three Simplex votes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[bincode(decode_context = "crate::suite::Suite")]
#[serde(rename_all = "snake_case")]
pub enum VoteKind {
    /// Support for a proposed block in a view.
    Notarize,
    /// Give up on a view (timeout); carries no block.
    Nullify,
    /// Commit to the block notarized in a view.
    Finalize,
}

/// What a vote signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct VoteBody {
    /// Chain id (genesis hash).
    pub chain_id: ChainId,
    /// Epoch of the validator set.
    pub epoch: Epoch,
    /// View.
    pub view: View,
    /// Kind.
    pub kind: VoteKind,
    /// Block digest; [`Digest::ZERO`] for a nullify vote.
    pub block: Digest,
}

impl VoteBody {
    /// The exact signed bytes, tag included.
    pub fn signed_message(&self) -> Vec<u8> {
        domain::VOTE_SIGN.signing_bytes(&codec::encode(self))
    }

    /// Sign this vote.
    pub fn sign(&self, key: &SecretKey) -> Signature {
        key.sign(domain::VOTE_SIGN, &codec::encode(self))
    }
}

/// A validator's signature with its index in the epoch's validator set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct IndexedSignature {
    /// Validator index.
    pub index: u16,
    /// Its signature over the vote body.
    pub signature: Signature,
}

/// A quorum certificate: votes of the same body from validators holding a quorum of power.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct Certificate {
    /// Kind of the votes.
    pub kind: VoteKind,
    /// Epoch.
    pub epoch: Epoch,
    /// View.
    pub view: View,
    /// Block digest ([`Digest::ZERO`] for nullification).
    pub block: Digest,
    /// Signatures, strictly increasing by index.
    pub signatures: Vec<IndexedSignature>,
}

impl Canonical for Certificate {
    const NAME: &'static str = "certificate";
    const BYTES_MAX: usize = CERTIFICATE_ENCODING_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        check::list("signatures", &self.signatures, VALIDATORS_MAX)?;
        let idx: Vec<u16> = self.signatures.iter().map(|s| s.index).collect();
        check::strictly_sorted("signatures.index", &idx)?;
        if (self.kind == VoteKind::Nullify) != (self.block == Digest::ZERO) {
            return Err(ValidationError::new(
                "block",
                "the zero digest exactly for nullify certificates",
                self.block.to_hex(),
            ));
        }
        Ok(())
    }
}

/// Why a certificate does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CertError {
    /// The certificate is for another epoch than the set given.
    #[error("certificate is for epoch {found}, validator set is for epoch {expected}")]
    WrongEpoch {
        /// The set's epoch.
        expected: Epoch,
        /// The certificate's.
        found: Epoch,
    },
    /// The certificate is of another kind.
    #[error("expected a {expected:?} certificate, found {found:?}")]
    WrongKind {
        /// Wanted.
        expected: VoteKind,
        /// Found.
        found: VoteKind,
    },
    /// Signatures are not strictly increasing by index, or other format rules.
    #[error(transparent)]
    Malformed(#[from] ValidationError),
    /// An index is not in the validator set.
    #[error("signer index {index} is not in the validator set of {len} validators")]
    UnknownSigner {
        /// The index.
        index: u16,
        /// Set size.
        len: usize,
    },
    /// Not enough power signed.
    #[error("quorum not reached: {found} of {expected} voting power required")]
    NoQuorum {
        /// Power needed.
        expected: u64,
        /// Power present.
        found: u64,
    },
    /// A signature is bad.
    #[error("signature of validator {index} ({name}) is invalid")]
    BadSignature {
        /// Its index.
        index: u16,
        /// Its name.
        name: String,
    },
}

impl Certificate {
    /// The vote body every signature in this certificate signs.
    pub fn body(&self, chain_id: ChainId) -> VoteBody {
        VoteBody {
            chain_id,
            epoch: self.epoch,
            view: self.view,
            kind: self.kind,
            block: self.block,
        }
    }

    /// Verify against `set`: format, known signers, quorum of power, and every signature
    /// (batched; a bad one is named).
    pub fn verify(&self, chain_id: ChainId, set: &ValidatorSet) -> Result<(), CertError> {
        self.validate()?;
        if self.epoch != set.epoch {
            return Err(CertError::WrongEpoch {
                expected: set.epoch,
                found: self.epoch,
            });
        }
        let mut power: u64 = 0;
        for s in &self.signatures {
            let v = set.get(s.index).ok_or(CertError::UnknownSigner {
                index: s.index,
                len: set.len(),
            })?;
            power = power.saturating_add(v.power);
        }
        if power < set.quorum_power() {
            return Err(CertError::NoQuorum {
                expected: set.quorum_power(),
                found: power,
            });
        }
        let msg = self.body(chain_id).signed_message();
        let items: Vec<BatchItem<'_>> = self
            .signatures
            .iter()
            .filter_map(|s| {
                set.get(s.index).map(|v| BatchItem {
                    key: v.consensus_key,
                    message: &msg,
                    signature: s.signature,
                })
            })
            .collect();
        crypto::verify_batch(&items).map_err(|e| match e {
            SignatureError::BatchItem { index, .. } => {
                let idx = self.signatures[index].index;
                CertError::BadSignature {
                    index: idx,
                    name: set.get(idx).map(|v| v.name.clone()).unwrap_or_default(),
                }
            }
            _ => CertError::BadSignature {
                index: u16::MAX,
                name: String::new(),
            },
        })
    }

    /// Verify and require a kind.
    pub fn verify_kind(
        &self,
        kind: VoteKind,
        chain_id: ChainId,
        set: &ValidatorSet,
    ) -> Result<(), CertError> {
        if self.kind != kind {
            return Err(CertError::WrongKind {
                expected: kind,
                found: self.kind,
            });
        }
        self.verify(chain_id, set)
    }
}
