//! The epoch chain: from the genesis alone, prove which validator set governs each epoch.
//!
//! The last block of an epoch (the *boundary* header) commits the hash of the next
//! epoch's validator set in `next_validator_set`, and is finalized by the set of the epoch
//! it ends. An [`EpochLink`] is that header, its finalization certificate and the next set;
//! [`verify_epoch_chain`] checks links one by one from the genesis set (epoch 0) and
//! returns the set of the last epoch as a [`VerifiedValidatorSet`], with which a
//! checkpoint (and so a receipt or a state proof) of that epoch verifies
//! ([`VerifiedValidatorSet::verify_checkpoint`]). [`VerifiedEpochs`] keeps every set of a
//! verified chain, for verifiers that check checkpoints of many epochs (`chancery audit`,
//! `chancery watch`), and [`verify_checkpoint_with_links`] verifies a checkpoint of epoch
//! `e` with exactly the `e` links that a receipt or a state-proof bundle carries.
//! Unverified links and verified sets are different types; verification is the only door.
//!
//! A boundary block is not always finalized in its own view: when its view ends with the
//! block notarized but too few finalize votes (some validators nullified the view), the
//! old set goes on past the boundary with empty *suffix* blocks, and the finalization of
//! one of them finalizes the boundary with it (Simplex finalizes ancestors). Such a link
//! carries the suffix headers, from the boundary's child up to the certified one; they are
//! never part of the ledger and must change nothing ([`check_suffix`]).
//!
//! Normative specification: docs/spec/04-proofs.md, section 4.4; the link: 03-structures.md, section 3.13.

use crate::block::BlockHeader;
use crate::cert::Certificate;
use crate::checkpoint::{Checkpoint, CheckpointError, VerifiedCheckpoint};
use crate::codec::{Canonical, ValidationError};
use crate::genesis::Genesis;
use crate::ids::{ChainId, Digest, Epoch, Height};
use crate::limits::{
    BLOCK_HEADER_ENCODING_BYTES_MAX, CERTIFICATE_ENCODING_BYTES_MAX, EPOCH_LINKS_MAX,
    EPOCH_SUFFIX_MAX, VALIDATOR_SET_ENCODING_BYTES_MAX,
};
use crate::validator::ValidatorSet;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Largest canonical epoch link, in bytes: a header, a certificate, a validator set and
/// at most [`EPOCH_SUFFIX_MAX`] suffix headers (with the list's length prefix).
pub const EPOCH_LINK_ENCODING_BYTES_MAX: usize = BLOCK_HEADER_ENCODING_BYTES_MAX
    + CERTIFICATE_ENCODING_BYTES_MAX
    + VALIDATOR_SET_ENCODING_BYTES_MAX
    + EPOCH_SUFFIX_MAX * BLOCK_HEADER_ENCODING_BYTES_MAX
    + 16;

/// One step of the epoch chain. Unverified.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct EpochLink {
    /// The boundary header: the last block of its epoch.
    pub header: BlockHeader,
    /// Its finalization certificate, by the set of the epoch it ends: over the header
    /// itself, or over the last of `suffix`.
    pub certificate: Certificate,
    /// The next epoch's validator set (its hash is `header.next_validator_set`).
    pub next: ValidatorSet,
    /// The old epoch's empty blocks past the boundary, from its child up to the block the
    /// certificate signs, when the boundary was finalized through them; empty when the
    /// certificate signs the boundary header. At most [`EPOCH_SUFFIX_MAX`].
    pub suffix: Vec<BlockHeader>,
}

impl Canonical for EpochLink {
    const NAME: &'static str = "epoch link";
    const BYTES_MAX: usize = EPOCH_LINK_ENCODING_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        self.header.validate().map_err(|e| e.within("header"))?;
        self.certificate
            .validate()
            .map_err(|e| e.within("certificate"))?;
        crate::codec::check::list("suffix", &self.suffix, EPOCH_SUFFIX_MAX)?;
        for (i, s) in self.suffix.iter().enumerate() {
            s.validate()
                .map_err(|e| e.within(&format!("suffix[{i}]")))?;
        }
        self.next.validate().map_err(|e| e.within("next"))
    }
}

/// Why suffix headers do not finalize a boundary header.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SuffixError {
    /// More suffix headers than any verifier (or node) accepts.
    #[error("{found} suffix headers, at most {max}")]
    TooLong {
        /// The limit ([`EPOCH_SUFFIX_MAX`]).
        max: usize,
        /// Headers given.
        found: usize,
    },
    /// The header the suffix would extend is not a boundary.
    #[error("header at height {height} commits no next validator set: it has no suffix")]
    NotABoundary {
        /// Its height.
        height: Height,
    },
    /// A suffix header breaks the rule for its field: it does not extend the one before
    /// it, is not of the boundary's epoch, or is not empty (it must change nothing).
    #[error("suffix header {index}: `{field}` expected {expected}, found {found}")]
    Field {
        /// Its position in the suffix.
        index: usize,
        /// The field.
        field: &'static str,
        /// What the rule requires.
        expected: String,
        /// What the header has.
        found: String,
    },
}

/// The header of the suffix block that a leader of `view` builds on `parent` (the
/// boundary header `boundary` itself or the last suffix header past it) at `time` (after
/// the parent's): empty, of the boundary's epoch and set, repeating its log and state,
/// committing no next set. [`check_suffix`] accepts it when `view` and `time` are later
/// than the parent's.
pub fn suffix_child(
    suite: crate::suite::Suite,
    boundary: &BlockHeader,
    parent: &BlockHeader,
    view: crate::ids::View,
    proposer: u16,
    time: crate::ids::TimestampMs,
) -> BlockHeader {
    BlockHeader {
        chain_id: boundary.chain_id,
        epoch: boundary.epoch,
        height: parent.height.next(),
        view,
        parent: parent.hash(suite),
        proposer,
        time,
        txs_hash: crate::block::txs_hash(suite, std::iter::empty()),
        tx_count: 0,
        log_size: boundary.log_size,
        log_root: boundary.log_root,
        state_root: boundary.state_root,
        validator_set: boundary.validator_set,
        next_validator_set: Digest::ZERO,
    }
}

/// Check that `suffix` is a valid run of suffix blocks past the boundary header `boundary`
/// (R13 in docs/consensus.md): each extends the one before it (the first, the boundary) at
/// the next height in a later view and time, is of the same chain, epoch and validator
/// set, carries no transaction, repeats the boundary's log and state, and commits no next
/// set. Returns the hash of the last suffix header (the one a certificate must sign), or
/// the boundary's own hash for an empty suffix. Used by the node before it builds, votes
/// for or stores suffix blocks, and by every verifier of an [`EpochLink`].
pub fn check_suffix(
    suite: crate::suite::Suite,
    boundary: &BlockHeader,
    suffix: &[BlockHeader],
) -> Result<Digest, SuffixError> {
    if suffix.len() > EPOCH_SUFFIX_MAX {
        return Err(SuffixError::TooLong {
            max: EPOCH_SUFFIX_MAX,
            found: suffix.len(),
        });
    }
    if !boundary.is_boundary() && !suffix.is_empty() {
        return Err(SuffixError::NotABoundary {
            height: boundary.height,
        });
    }
    let empty_txs = crate::block::txs_hash(suite, std::iter::empty());
    let mut prev = boundary;
    let mut link = boundary.hash(suite);
    for (index, s) in suffix.iter().enumerate() {
        let field = |field: &'static str, expected: String, found: String| SuffixError::Field {
            index,
            field,
            expected,
            found,
        };
        let same = |name: &'static str, want: Digest, got: Digest| {
            if want == got {
                Ok(())
            } else {
                Err(field(name, want.to_string(), got.to_string()))
            }
        };
        if s.chain_id != boundary.chain_id {
            return Err(field(
                "chain_id",
                boundary.chain_id.to_hex(),
                s.chain_id.to_hex(),
            ));
        }
        if s.epoch != boundary.epoch {
            return Err(field(
                "epoch",
                boundary.epoch.to_string(),
                s.epoch.to_string(),
            ));
        }
        if s.height != prev.height.next() {
            return Err(field(
                "height",
                prev.height.next().to_string(),
                s.height.to_string(),
            ));
        }
        same("parent", link, s.parent)?;
        if s.view <= prev.view {
            return Err(field(
                "view",
                format!("after {}", prev.view),
                s.view.to_string(),
            ));
        }
        if s.time <= prev.time {
            return Err(field(
                "time",
                format!("after {}", prev.time),
                s.time.to_string(),
            ));
        }
        if s.tx_count != 0 {
            return Err(field("tx_count", "0".into(), s.tx_count.to_string()));
        }
        same("txs_hash", empty_txs, s.txs_hash)?;
        if s.log_size != boundary.log_size {
            return Err(field(
                "log_size",
                boundary.log_size.to_string(),
                s.log_size.to_string(),
            ));
        }
        same("log_root", boundary.log_root, s.log_root)?;
        same("state_root", boundary.state_root, s.state_root)?;
        same("validator_set", boundary.validator_set, s.validator_set)?;
        same("next_validator_set", Digest::ZERO, s.next_validator_set)?;
        link = s.hash(suite);
        prev = s;
    }
    Ok(link)
}

/// A validator set proven from the genesis by an epoch chain (or the genesis set itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedValidatorSet {
    chain_id: ChainId,
    set: ValidatorSet,
}

impl VerifiedValidatorSet {
    /// The genesis set (epoch 0): trusted as the genesis file is.
    pub fn genesis(genesis: &Genesis) -> Self {
        VerifiedValidatorSet {
            chain_id: genesis.chain_id(),
            set: genesis.validators.clone(),
        }
    }

    /// The set.
    pub fn set(&self) -> &ValidatorSet {
        &self.set
    }

    /// Its epoch.
    pub fn epoch(&self) -> Epoch {
        self.set.epoch
    }

    /// The chain it belongs to.
    pub fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    /// Verify a checkpoint of this set's epoch: the header must be in the epoch (at or
    /// after its first height; a certificate is valid only for the epoch that contains
    /// its block) and certified by this set.
    pub fn verify_checkpoint(
        &self,
        cp: &Checkpoint,
    ) -> Result<VerifiedCheckpoint, CheckpointError> {
        if cp.header.height < self.set.start_height {
            return Err(CheckpointError::CertificateMismatch {
                field: "height",
                expected: format!(
                    "a height of epoch {} (from {})",
                    self.set.epoch, self.set.start_height
                ),
                found: cp.header.height.to_string(),
            });
        }
        cp.verify_with(&self.chain_id, &self.set)
    }
}

/// Why an epoch chain does not verify. `index` is the link's position in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EpochChainError {
    /// More links than any verifier accepts.
    #[error("epoch chain of {found} links, at most {max}")]
    TooLong {
        /// The limit ([`EPOCH_LINKS_MAX`]).
        max: usize,
        /// Links given.
        found: usize,
    },
    /// A link breaks its format rules (its next set, typically).
    #[error("epoch link {index}: {source}")]
    Malformed {
        /// The link.
        index: usize,
        /// Why.
        source: ValidationError,
    },
    /// A header of another chain.
    #[error("epoch link {index}: header is for chain {found}, expected chain {expected}")]
    WrongChain {
        /// The link.
        index: usize,
        /// The genesis' chain id.
        expected: ChainId,
        /// The header's.
        found: ChainId,
    },
    /// The header is not of the epoch the chain has reached (a skipped, repeated or
    /// reordered link).
    #[error(
        "epoch link {index}: header is of epoch {found}, the chain has reached epoch {expected}"
    )]
    WrongEpoch {
        /// The link.
        index: usize,
        /// The epoch reached.
        expected: Epoch,
        /// The header's.
        found: Epoch,
    },
    /// The header lies before the first height of its epoch.
    #[error("epoch link {index}: header height {found} is before epoch {epoch} starts at {start}")]
    BeforeEpochStart {
        /// The link.
        index: usize,
        /// Its epoch.
        epoch: Epoch,
        /// The epoch's first height.
        start: Height,
        /// The header's height.
        found: Height,
    },
    /// The header is not a boundary: it commits no next set.
    #[error("epoch link {index}: header at height {height} commits no next validator set")]
    NotABoundary {
        /// The link.
        index: usize,
        /// The header's height.
        height: Height,
    },
    /// The suffix headers do not extend the boundary as suffix blocks must.
    #[error("epoch link {index}: {source}")]
    Suffix {
        /// The link.
        index: usize,
        /// Why.
        source: SuffixError,
    },
    /// The header or its certificate does not verify against the set of its epoch.
    #[error("epoch link {index}: {source}")]
    Checkpoint {
        /// The link.
        index: usize,
        /// Why.
        source: CheckpointError,
    },
    /// The next set is not the one the header commits.
    #[error(
        "epoch link {index}: header commits next validator set {expected}, link carries {found}"
    )]
    NextSetMismatch {
        /// The link.
        index: usize,
        /// `header.next_validator_set`.
        expected: Digest,
        /// Hash of the set carried.
        found: Digest,
    },
    /// The next set's epoch is not the header's plus one.
    #[error("epoch link {index}: next set is for epoch {found}, expected {expected}")]
    EpochNotConsecutive {
        /// The link.
        index: usize,
        /// The header's epoch plus one.
        expected: Epoch,
        /// The next set's.
        found: Epoch,
    },
    /// The next set does not start right after the boundary.
    #[error("epoch link {index}: next set starts at height {found}, expected {expected}")]
    StartHeightMismatch {
        /// The link.
        index: usize,
        /// The boundary height plus one.
        expected: Height,
        /// The next set's.
        found: Height,
    },
}

impl EpochChainError {
    /// The position of the link the error names (`None` for a chain that is too long).
    pub fn link_index(&self) -> Option<usize> {
        use EpochChainError as E;
        match self {
            E::TooLong { .. } => None,
            E::Malformed { index, .. }
            | E::WrongChain { index, .. }
            | E::WrongEpoch { index, .. }
            | E::BeforeEpochStart { index, .. }
            | E::NotABoundary { index, .. }
            | E::Suffix { index, .. }
            | E::Checkpoint { index, .. }
            | E::NextSetMismatch { index, .. }
            | E::EpochNotConsecutive { index, .. }
            | E::StartHeightMismatch { index, .. } => Some(*index),
        }
    }
}

/// Verify `links` from the genesis set: link `i` must be the boundary header of epoch `i`,
/// finalized by the set proven so far, committing the set it carries, which must be for
/// epoch `i + 1` and start at the next height. Returns the last epoch's set (the genesis
/// set for no links).
pub fn verify_epoch_chain(
    genesis: &Genesis,
    links: &[EpochLink],
) -> Result<VerifiedValidatorSet, EpochChainError> {
    if links.len() > EPOCH_LINKS_MAX {
        return Err(EpochChainError::TooLong {
            max: EPOCH_LINKS_MAX,
            found: links.len(),
        });
    }
    let mut current = VerifiedValidatorSet::genesis(genesis);
    for (index, link) in links.iter().enumerate() {
        current = verify_link(&current, index, link)?;
    }
    Ok(current)
}

/// Verify one link on top of the set proven so far.
pub fn verify_link(
    current: &VerifiedValidatorSet,
    index: usize,
    link: &EpochLink,
) -> Result<VerifiedValidatorSet, EpochChainError> {
    let h = &link.header;
    let set = &current.set;
    if h.chain_id != current.chain_id {
        return Err(EpochChainError::WrongChain {
            index,
            expected: current.chain_id,
            found: h.chain_id,
        });
    }
    if h.epoch != set.epoch {
        return Err(EpochChainError::WrongEpoch {
            index,
            expected: set.epoch,
            found: h.epoch,
        });
    }
    if h.height < set.start_height {
        return Err(EpochChainError::BeforeEpochStart {
            index,
            epoch: set.epoch,
            start: set.start_height,
            found: h.height,
        });
    }
    if !h.is_boundary() {
        return Err(EpochChainError::NotABoundary {
            index,
            height: h.height,
        });
    }
    check_suffix(set.suite(), h, &link.suffix)
        .map_err(|source| EpochChainError::Suffix { index, source })?;
    // The certificate signs the boundary header, or the last suffix header, which
    // `check_suffix` linked to the boundary; either way a header of this epoch and set.
    let cp = Checkpoint {
        header: link.suffix.last().unwrap_or(h).clone(),
        certificate: link.certificate.clone(),
    };
    cp.verify_with(&current.chain_id, set)
        .map_err(|source| EpochChainError::Checkpoint { index, source })?;
    link.next
        .validate()
        .map_err(|source| EpochChainError::Malformed {
            index,
            source: source.within("next"),
        })?;
    let found = link.next.hash();
    if found != h.next_validator_set {
        return Err(EpochChainError::NextSetMismatch {
            index,
            expected: h.next_validator_set,
            found,
        });
    }
    if link.next.epoch != set.epoch.next() {
        return Err(EpochChainError::EpochNotConsecutive {
            index,
            expected: set.epoch.next(),
            found: link.next.epoch,
        });
    }
    if link.next.start_height != h.height.next() {
        return Err(EpochChainError::StartHeightMismatch {
            index,
            expected: h.height.next(),
            found: link.next.start_height,
        });
    }
    Ok(VerifiedValidatorSet {
        chain_id: current.chain_id,
        set: link.next.clone(),
    })
}

/// Every validator set of an epoch chain, proven from the genesis: the sets of epochs
/// `0..=epoch()`, in order. What a verifier keeps to check checkpoints of any epoch it has
/// reached (an auditor, a monitor); [`verify_epoch_chain`] keeps the last set only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEpochs {
    chain_id: ChainId,
    /// `sets[e]` governs epoch `e`.
    sets: Vec<ValidatorSet>,
}

impl VerifiedEpochs {
    /// The chain's crypto suite (its genesis set's).
    pub fn suite(&self) -> crate::suite::Suite {
        self.sets
            .first()
            .map(ValidatorSet::suite)
            .unwrap_or_default()
    }

    /// The genesis set alone (epoch 0).
    pub fn genesis(genesis: &Genesis) -> Self {
        VerifiedEpochs {
            chain_id: genesis.chain_id(),
            sets: vec![genesis.validators.clone()],
        }
    }

    /// Verify `links` from the genesis ([`verify_epoch_chain`]'s checks) and keep every set.
    pub fn verify(genesis: &Genesis, links: &[EpochLink]) -> Result<Self, EpochChainError> {
        let mut v = VerifiedEpochs::genesis(genesis);
        v.extend(links)?;
        Ok(v)
    }

    /// Verify `links` as the continuation of this chain: `links[0]` must end the last epoch
    /// reached. Errors name each link by its position in the whole chain (its epoch). On an
    /// error the chain is left as it was.
    pub fn extend(&mut self, links: &[EpochLink]) -> Result<(), EpochChainError> {
        let total = self.sets.len() - 1 + links.len();
        if total > EPOCH_LINKS_MAX {
            return Err(EpochChainError::TooLong {
                max: EPOCH_LINKS_MAX,
                found: total,
            });
        }
        let mut added = Vec::with_capacity(links.len());
        let mut current = self.last();
        for (i, link) in links.iter().enumerate() {
            current = verify_link(&current, self.sets.len() - 1 + i, link)?;
            added.push(current.set.clone());
        }
        self.sets.extend(added);
        Ok(())
    }

    /// The chain it belongs to.
    pub fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    /// The last epoch reached (the number of links verified).
    pub fn epoch(&self) -> Epoch {
        Epoch(self.sets.len() as u64 - 1)
    }

    /// The set of `epoch`, if the chain reaches it.
    pub fn set(&self, epoch: Epoch) -> Option<&ValidatorSet> {
        usize::try_from(epoch.0).ok().and_then(|e| self.sets.get(e))
    }

    /// The set of the last epoch reached.
    pub fn last(&self) -> VerifiedValidatorSet {
        VerifiedValidatorSet {
            chain_id: self.chain_id,
            // Never empty: the genesis set is the first.
            set: self.sets[self.sets.len() - 1].clone(),
        }
    }

    /// Verify a checkpoint of any epoch the chain reaches: certified by its epoch's set, at
    /// or after the epoch's first height and, if the chain knows the next epoch, before it
    /// starts (a header that claims an epoch after its end is from another history, signed
    /// by keys that have since been retired or by a quorum that signed twice).
    pub fn verify_checkpoint(
        &self,
        cp: &Checkpoint,
    ) -> Result<VerifiedCheckpoint, EpochProofError> {
        let epoch = cp.header.epoch;
        let set = self.set(epoch).ok_or(EpochProofError::EpochNotProven {
            found: epoch,
            reached: self.epoch(),
        })?;
        if let Some(next) = self.set(epoch.next()) {
            if cp.header.height >= next.start_height {
                return Err(EpochProofError::AfterEpochEnd {
                    epoch,
                    height: cp.header.height,
                    next_start: next.start_height,
                });
            }
        }
        VerifiedValidatorSet {
            chain_id: self.chain_id,
            set: set.clone(),
        }
        .verify_checkpoint(cp)
        .map_err(|source| EpochProofError::Checkpoint { epoch, source })
    }
}

/// Why a checkpoint does not verify with an epoch chain.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EpochProofError {
    /// The epoch chain itself does not verify (the error names the link).
    #[error("epoch chain: {0}")]
    Chain(#[from] EpochChainError),
    /// The chain does not reach the checkpoint's epoch.
    #[error("checkpoint is of epoch {found}, the epoch chain proves the sets of epochs 0 to {reached} only")]
    EpochNotProven {
        /// The checkpoint's epoch.
        found: Epoch,
        /// The last epoch the chain reaches.
        reached: Epoch,
    },
    /// More links than the proof needs: a checkpoint of epoch `e` is proven by the links of
    /// epochs `0..e` exactly (one spelling per proof).
    #[error("{found} epoch links for a checkpoint of epoch {epoch}: exactly {epoch} are needed")]
    TooManyLinks {
        /// The checkpoint's epoch.
        epoch: Epoch,
        /// Links given.
        found: usize,
    },
    /// The checkpoint claims an epoch at a height after that epoch ended.
    #[error("checkpoint at height {height} claims epoch {epoch}, but epoch {epoch} ended before height {next_start}")]
    AfterEpochEnd {
        /// The checkpoint's epoch.
        epoch: Epoch,
        /// Its height.
        height: Height,
        /// The first height of the next epoch.
        next_start: Height,
    },
    /// The checkpoint does not verify against its epoch's set.
    #[error("checkpoint of epoch {epoch}: {source}")]
    Checkpoint {
        /// The checkpoint's epoch.
        epoch: Epoch,
        /// Why.
        source: CheckpointError,
    },
}

/// Verify a checkpoint of epoch `e` with the epoch chain that proves epoch `e`'s set: exactly
/// the links of epochs `0..e` (no more, no less: a receipt or a state-proof bundle carries
/// the part of the chain it needs). The cost is one certificate verification per link,
/// then one for the checkpoint.
pub fn verify_checkpoint_with_links(
    genesis: &Genesis,
    links: &[EpochLink],
    cp: &Checkpoint,
) -> Result<VerifiedCheckpoint, EpochProofError> {
    let epoch = cp.header.epoch;
    if epoch.0 != links.len() as u64 {
        // Checked first so that a short or long chain is named as such, whatever its links.
        return Err(if epoch.0 > links.len() as u64 {
            EpochProofError::EpochNotProven {
                found: epoch,
                reached: Epoch(links.len() as u64),
            }
        } else {
            EpochProofError::TooManyLinks {
                epoch,
                found: links.len(),
            }
        });
    }
    let set = verify_epoch_chain(genesis, links)?;
    set.verify_checkpoint(cp)
        .map_err(|source| EpochProofError::Checkpoint { epoch, source })
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests decode in the default suite
mod tests {
    use super::*;
    use crate::cert::{IndexedSignature, VoteBody, VoteKind};
    use crate::crypto::SecretKey;
    use crate::genesis::ChainParams;
    use crate::ids::{AgencyId, NetworkKey, TimestampMs, View};
    use crate::validator::Validator;

    /// The keys of epoch `e`: four validators, fresh keys every epoch.
    fn keys(e: u64) -> Vec<SecretKey> {
        (0..4u8)
            .map(|i| SecretKey::from_seed([e as u8 * 16 + i + 1; 32]))
            .collect()
    }

    fn set(e: u64, start: u64) -> ValidatorSet {
        ValidatorSet {
            epoch: Epoch(e),
            start_height: Height(start),
            validators: keys(e)
                .iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    name: format!("v{i}"),
                    agency: AgencyId(format!("a{i}")),
                    consensus_key: k.public(),
                    network_key: NetworkKey([200 + e as u8 * 4 + i as u8; 32]),
                    power: 1,
                })
                .collect(),
        }
    }

    fn genesis() -> Genesis {
        Genesis {
            chain_name: "epochs".into(),
            genesis_time: TimestampMs(1),
            agencies: vec![],
            members: vec![],
            validators: set(0, 1),
            params: ChainParams::default(),
            crypto: Default::default(),
            procurement_limits: Default::default(),
        }
    }

    fn header(
        g: &Genesis,
        epoch: u64,
        height: u64,
        set: &ValidatorSet,
        next: &Digest,
    ) -> BlockHeader {
        BlockHeader {
            chain_id: g.chain_id(),
            epoch: Epoch(epoch),
            height: Height(height),
            view: View(height),
            parent: Digest([1; 32]),
            proposer: 0,
            time: TimestampMs(height * 1000),
            txs_hash: Digest([2; 32]),
            tx_count: 0,
            log_size: 0,
            log_root: Digest([3; 32]),
            state_root: Digest([4; 32]),
            validator_set: set.hash(),
            next_validator_set: *next,
        }
    }

    /// A finalization certificate on `h` by the first three of `signers`.
    fn certify(g: &Genesis, h: &BlockHeader, signers: &[SecretKey]) -> Certificate {
        let body = VoteBody {
            chain_id: g.chain_id(),
            epoch: h.epoch,
            view: h.view,
            kind: VoteKind::Finalize,
            block: h.hash(crate::suite::Suite::default()),
        };
        Certificate {
            kind: VoteKind::Finalize,
            epoch: h.epoch,
            view: h.view,
            block: h.hash(crate::suite::Suite::default()),
            signatures: signers[..3]
                .iter()
                .enumerate()
                .map(|(i, k)| IndexedSignature {
                    index: i as u16,
                    signature: body.sign(k),
                })
                .collect(),
        }
    }

    /// Epoch `e` ends at height `10 (e + 1)`.
    fn link(g: &Genesis, e: u64) -> EpochLink {
        let start = if e == 0 { 1 } else { 10 * e + 1 };
        let cur = set(e, start);
        let next = set(e + 1, 10 * (e + 1) + 1);
        let h = header(g, e, 10 * (e + 1), &cur, &next.hash());
        EpochLink {
            certificate: certify(g, &h, &keys(e)),
            header: h,
            next,
            suffix: vec![],
        }
    }

    fn chain(g: &Genesis, n: u64) -> Vec<EpochLink> {
        (0..n).map(|e| link(g, e)).collect()
    }

    #[test]
    fn a_chain_from_the_genesis_proves_each_set() {
        let g = genesis();
        assert_eq!(verify_epoch_chain(&g, &[]).unwrap().set(), &g.validators);
        let links = chain(&g, 3);
        let last = verify_epoch_chain(&g, &links).unwrap();
        assert_eq!(last.set(), &set(3, 31));
        assert_eq!(last.epoch(), Epoch(3));
        // A checkpoint of epoch 3 verifies with the proven set, not with the genesis set.
        let h = header(&g, 3, 35, &set(3, 31), &Digest::ZERO);
        let cp = Checkpoint {
            certificate: certify(&g, &h, &keys(3)),
            header: h,
        };
        assert!(last.verify_checkpoint(&cp).is_ok());
        assert!(cp.verify(&g).is_err());
        // Each link round-trips through the canonical codec.
        for l in &links {
            let back: EpochLink = crate::codec::decode(&crate::codec::encode(l)).unwrap();
            assert_eq!(&back, l);
        }
    }

    #[test]
    fn a_checkpoint_before_its_epoch_starts_is_refused() {
        let g = genesis();
        let last = verify_epoch_chain(&g, &chain(&g, 1)).unwrap();
        // Epoch 1 starts at 11; a header of height 5 naming epoch 1 is not in it.
        let h = header(&g, 1, 5, &set(1, 11), &Digest::ZERO);
        let cp = Checkpoint {
            certificate: certify(&g, &h, &keys(1)),
            header: h,
        };
        assert!(matches!(
            last.verify_checkpoint(&cp),
            Err(CheckpointError::CertificateMismatch {
                field: "height",
                ..
            })
        ));
    }

    #[test]
    fn a_wrong_next_set_is_refused() {
        let g = genesis();
        let mut links = chain(&g, 2);
        links[1].next.validators[0].power = 2;
        assert!(matches!(
            verify_epoch_chain(&g, &links),
            Err(EpochChainError::NextSetMismatch { index: 1, .. })
        ));
    }

    #[test]
    fn a_certificate_by_the_wrong_set_is_refused() {
        let g = genesis();
        let mut links = chain(&g, 2);
        // Epoch 1's boundary signed by the genesis keys (the old set, not epoch 1's).
        links[1].certificate = certify(&g, &links[1].header, &keys(0));
        let err = verify_epoch_chain(&g, &links).unwrap_err();
        assert!(
            matches!(
                err,
                EpochChainError::Checkpoint {
                    index: 1,
                    source: CheckpointError::Certificate(
                        crate::cert::CertError::BadSignature { .. }
                    )
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_skipped_epoch_is_refused() {
        let g = genesis();
        let mut links = chain(&g, 3);
        links.remove(1);
        assert_eq!(
            verify_epoch_chain(&g, &links),
            Err(EpochChainError::WrongEpoch {
                index: 1,
                expected: Epoch(1),
                found: Epoch(2)
            })
        );
    }

    #[test]
    fn reordered_links_are_refused() {
        let g = genesis();
        let mut links = chain(&g, 3);
        links.swap(0, 1);
        assert_eq!(
            verify_epoch_chain(&g, &links),
            Err(EpochChainError::WrongEpoch {
                index: 0,
                expected: Epoch(0),
                found: Epoch(1)
            })
        );
    }

    #[test]
    fn a_header_of_another_chain_is_refused() {
        let g = genesis();
        let other = Genesis {
            chain_name: "other".into(),
            ..genesis()
        };
        assert!(matches!(
            verify_epoch_chain(&g, &chain(&other, 1)),
            Err(EpochChainError::WrongChain { index: 0, .. })
        ));
    }

    #[test]
    fn a_header_that_commits_no_next_set_is_refused() {
        let g = genesis();
        let cur = set(0, 1);
        let h = header(&g, 0, 10, &cur, &Digest::ZERO);
        let l = EpochLink {
            certificate: certify(&g, &h, &keys(0)),
            header: h,
            next: set(1, 11),
            suffix: vec![],
        };
        assert_eq!(
            verify_epoch_chain(&g, &[l]),
            Err(EpochChainError::NotABoundary {
                index: 0,
                height: Height(10)
            })
        );
    }

    #[test]
    fn a_signed_next_set_must_be_the_next_epoch_from_the_next_height() {
        let g = genesis();
        let cur = set(0, 1);
        let signed = |next: ValidatorSet| {
            let h = header(&g, 0, 10, &cur, &next.hash());
            EpochLink {
                certificate: certify(&g, &h, &keys(0)),
                header: h,
                next,
                suffix: vec![],
            }
        };
        assert_eq!(
            verify_epoch_chain(&g, &[signed(set(2, 11))]),
            Err(EpochChainError::EpochNotConsecutive {
                index: 0,
                expected: Epoch(1),
                found: Epoch(2)
            })
        );
        assert_eq!(
            verify_epoch_chain(&g, &[signed(set(1, 12))]),
            Err(EpochChainError::StartHeightMismatch {
                index: 0,
                expected: Height(11),
                found: Height(12)
            })
        );
    }

    #[test]
    fn verified_epochs_keep_every_set_and_extend_link_by_link() {
        let g = genesis();
        let links = chain(&g, 3);
        let mut v = VerifiedEpochs::genesis(&g);
        assert_eq!(v.epoch(), Epoch(0));
        v.extend(&links[..1]).unwrap();
        v.extend(&links[1..]).unwrap();
        assert_eq!(v, VerifiedEpochs::verify(&g, &links).unwrap());
        assert_eq!(v.epoch(), Epoch(3));
        for e in 0..=3 {
            let start = if e == 0 { 1 } else { 10 * e + 1 };
            assert_eq!(v.set(Epoch(e)), Some(&set(e, start)));
        }
        assert_eq!(v.set(Epoch(4)), None);
        assert_eq!(v.last().set(), &set(3, 31));
        // A bad continuation is named by its position in the whole chain and leaves the
        // chain as it was.
        let mut more = chain(&g, 5)[3..].to_vec();
        more[1].certificate.signatures[0].signature.0[3] ^= 1;
        let err = v.extend(&more).unwrap_err();
        assert!(
            matches!(err, EpochChainError::Checkpoint { index: 4, .. }),
            "{err}"
        );
        assert!(err.to_string().starts_with("epoch link 4:"), "{err}");
        assert_eq!(v.epoch(), Epoch(3));
        // Re-extending from the start is a repeated epoch.
        assert!(matches!(
            v.clone().extend(&links[..1]),
            Err(EpochChainError::WrongEpoch { index: 3, .. })
        ));
    }

    #[test]
    fn verified_epochs_check_a_checkpoint_against_its_own_epochs_set_and_bounds() {
        let g = genesis();
        let v = VerifiedEpochs::verify(&g, &chain(&g, 2)).unwrap();
        let cp = |e: u64, height: u64, signers: &[SecretKey]| {
            let start = if e == 0 { 1 } else { 10 * e + 1 };
            let h = header(&g, e, height, &set(e, start), &Digest::ZERO);
            Checkpoint {
                certificate: certify(&g, &h, signers),
                header: h,
            }
        };
        assert!(v.verify_checkpoint(&cp(1, 15, &keys(1))).is_ok());
        assert!(v.verify_checkpoint(&cp(2, 25, &keys(2))).is_ok());
        // Epoch 1's keys for a header of epoch 2.
        assert!(matches!(
            v.verify_checkpoint(&cp(2, 25, &keys(1))),
            Err(EpochProofError::Checkpoint {
                epoch: Epoch(2),
                ..
            })
        ));
        // Epoch 1 ended at 20.
        assert_eq!(
            v.verify_checkpoint(&cp(1, 21, &keys(1))),
            Err(EpochProofError::AfterEpochEnd {
                epoch: Epoch(1),
                height: Height(21),
                next_start: Height(21)
            })
        );
        assert_eq!(
            v.verify_checkpoint(&cp(3, 35, &keys(3))),
            Err(EpochProofError::EpochNotProven {
                found: Epoch(3),
                reached: Epoch(2)
            })
        );
        // With exactly the links it needs.
        let links = chain(&g, 2);
        assert!(verify_checkpoint_with_links(&g, &links, &cp(2, 25, &keys(2))).is_ok());
        assert!(verify_checkpoint_with_links(&g, &[], &cp(0, 5, &keys(0))).is_ok());
        assert_eq!(
            verify_checkpoint_with_links(&g, &links, &cp(1, 15, &keys(1))),
            Err(EpochProofError::TooManyLinks {
                epoch: Epoch(1),
                found: 2
            })
        );
        assert!(matches!(
            verify_checkpoint_with_links(&g, &links[..1], &cp(2, 25, &keys(2))),
            Err(EpochProofError::EpochNotProven { .. })
        ));
    }

    /// Suffix header `i` past `b`: empty, the next height, a later view and time.
    fn suffix_after(b: &BlockHeader, prev: &BlockHeader) -> BlockHeader {
        suffix_child(
            crate::suite::Suite::default(),
            b,
            prev,
            View(prev.view.0 + 1),
            0,
            TimestampMs(prev.time.0 + 1),
        )
    }

    /// The link that ends epoch 0 at height 10, finalized through `n` suffix headers
    /// (edited by `edit` before the certificate signs the last).
    fn suffix_link(g: &Genesis, n: usize, edit: impl Fn(usize, &mut BlockHeader)) -> EpochLink {
        let mut l = link(g, 0);
        let mut prev = l.header.clone();
        for i in 0..n {
            let mut s = suffix_after(&l.header, &prev);
            edit(i, &mut s);
            l.suffix.push(s.clone());
            prev = s;
        }
        if let Some(last) = l.suffix.last() {
            l.certificate = certify(g, last, &keys(0));
        }
        l
    }

    #[test]
    fn a_boundary_finalized_through_suffix_blocks_proves_the_next_set() {
        let g = genesis();
        for n in [1, 3, EPOCH_SUFFIX_MAX] {
            let links = vec![suffix_link(&g, n, |_, _| {}), link(&g, 1)];
            let last = verify_epoch_chain(&g, &links).unwrap();
            assert_eq!(last.set(), &set(2, 21), "{n} suffix headers");
            // The link's canonical form round-trips with its suffix.
            let bytes = crate::codec::encode(&links[0]);
            assert_eq!(crate::codec::decode::<EpochLink>(&bytes).unwrap(), links[0]);
            assert!(bytes.len() <= EPOCH_LINK_ENCODING_BYTES_MAX);
        }
    }

    #[test]
    fn suffix_headers_that_carry_or_change_anything_are_refused() {
        let g = genesis();
        type Edit = fn(&mut BlockHeader);
        let cases: [(&str, Edit); 9] = [
            ("tx_count", |s| s.tx_count = 1),
            ("txs_hash", |s| s.txs_hash = Digest([9; 32])),
            ("log_size", |s| s.log_size += 1),
            ("log_root", |s| s.log_root = Digest([9; 32])),
            ("state_root", |s| s.state_root = Digest([9; 32])),
            ("validator_set", |s| s.validator_set = Digest([9; 32])),
            ("next_validator_set", |s| {
                s.next_validator_set = Digest([9; 32])
            }),
            ("epoch", |s| s.epoch = Epoch(1)),
            ("parent", |s| s.parent = Digest([9; 32])),
        ];
        for (field, edit) in cases {
            // The second suffix header is edited and the certificate signs it as edited:
            // a quorum signed it, but it is not a suffix block.
            let l = suffix_link(&g, 2, |i, s| {
                if i == 1 {
                    edit(s)
                }
            });
            match verify_epoch_chain(&g, &[l]) {
                Err(EpochChainError::Suffix {
                    index: 0,
                    source:
                        SuffixError::Field {
                            index: 1, field: f, ..
                        },
                }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_suffix_certificate_must_sign_the_last_suffix_header_by_the_old_set() {
        let g = genesis();
        // Certificate on the first of two suffix headers: the second is not certified.
        let mut l = suffix_link(&g, 2, |_, _| {});
        l.certificate = certify(&g, &l.suffix[0], &keys(0));
        assert!(matches!(
            verify_epoch_chain(&g, &[l]),
            Err(EpochChainError::Checkpoint { index: 0, .. })
        ));
        // Signed by the next set: not the set of the epoch the suffix belongs to.
        let mut l = suffix_link(&g, 1, |_, _| {});
        l.certificate = certify(&g, &l.suffix[0], &keys(1));
        assert!(matches!(
            verify_epoch_chain(&g, &[l]),
            Err(EpochChainError::Checkpoint { index: 0, .. })
        ));
        // The boundary's own certificate with a suffix attached: the suffix is unsigned.
        let mut l = suffix_link(&g, 1, |_, _| {});
        l.certificate = certify(&g, &l.header, &keys(0));
        assert!(matches!(
            verify_epoch_chain(&g, &[l]),
            Err(EpochChainError::Checkpoint { index: 0, .. })
        ));
    }

    #[test]
    fn a_suffix_longer_than_the_limit_is_refused() {
        let g = genesis();
        let l = suffix_link(&g, EPOCH_SUFFIX_MAX + 1, |_, _| {});
        assert_eq!(
            verify_epoch_chain(&g, std::slice::from_ref(&l)),
            Err(EpochChainError::Suffix {
                index: 0,
                source: SuffixError::TooLong {
                    max: EPOCH_SUFFIX_MAX,
                    found: EPOCH_SUFFIX_MAX + 1
                }
            })
        );
        assert!(l.validate().is_err(), "the format refuses it too");
        // A suffix after a header that is not a boundary.
        let plain = header(&g, 0, 9, &set(0, 1), &Digest::ZERO);
        let s = suffix_after(&plain, &plain);
        assert_eq!(
            check_suffix(crate::suite::Suite::default(), &plain, &[s]),
            Err(SuffixError::NotABoundary { height: Height(9) })
        );
    }
}
