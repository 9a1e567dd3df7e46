//! Checkpoints: a finalized block header (which commits to the log size and root) with its
//! finalization certificate, in a binary (canonical) form and a strict text form modelled on
//! the C2SP signed-note checkpoint.
//!
//! A [`Checkpoint`] decoded from bytes or text is unverified; [`Checkpoint::verify`] checks
//! it against the genesis document and returns a [`VerifiedCheckpoint`]. The certificate
//! must be a `Finalize` certificate over the header hash, for the header's epoch and view,
//! signed by a quorum of the epoch's validators. [`Checkpoint::verify`] knows only the
//! genesis validator set (epoch 0); a checkpoint of a later epoch verifies with the set the
//! epoch chain proves from the genesis (`crate::epoch`, `docs/governance.md`).
//!
//! Text form (every line ends in `\n`; see `docs/tlog.md`):
//!
//! ```text
//! <chain id, 64 lower-case hex digits>
//! <log size, decimal>
//! <log root, base64 (standard alphabet, padded)>
//! height <decimal>
//! time <decimal, ms since 1970>
//! epoch <decimal>
//! view <decimal>
//! parent <hex>
//! proposer <decimal>
//! txs_hash <hex>
//! tx_count <decimal>
//! state_root <hex>
//! validator_set <hex>
//! next_validator_set <hex>
//!
//! — <validator name> <base64(4-byte key id || 64-byte signature)>
//! ...
//! ```
//!
//! The key id is the C2SP Ed25519 key id: the first 4 bytes of
//! `SHA-256(name || 0x0A || 0x01 || 32-byte consensus key)`. The signature is the
//! validator's `Finalize` vote signature over the header hash (not over the text): the
//! text carries every header field, so the verifier recomputes the header hash and the
//! vote body. Signature lines are in increasing validator index order, at most one per
//! validator.
//!
//! Normative specification: docs/spec/03-structures.md, section 3.12.

use crate::block::BlockHeader;
use crate::cert::{CertError, Certificate, IndexedSignature, VoteKind};
use crate::codec::{Canonical, ValidationError};
use crate::genesis::Genesis;
use crate::ids::{ChainId, Digest, Epoch, Height, Signature, TimestampMs, View};
use crate::limits::{
    CHECKPOINT_BODY_LINES, CHECKPOINT_ENCODING_BYTES_MAX, CHECKPOINT_TEXT_BYTES_MAX, VALIDATORS_MAX,
};
use crate::merkle::{self, ProofError};
use crate::validator::ValidatorSet;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use thiserror::Error;

/// A block header with its finalization certificate. Unverified.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct Checkpoint {
    /// The finalized header: log size, log root, state root, validator set hash.
    pub header: BlockHeader,
    /// Finalize certificate over `header.hash()`.
    pub certificate: Certificate,
}

impl Canonical for Checkpoint {
    const NAME: &'static str = "checkpoint";
    const BYTES_MAX: usize = CHECKPOINT_ENCODING_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        self.header.validate().map_err(|e| e.within("header"))?;
        self.certificate
            .validate()
            .map_err(|e| e.within("certificate"))
    }
}

/// A checkpoint that passed [`Checkpoint::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint(Checkpoint, crate::suite::Suite);

impl VerifiedCheckpoint {
    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.0
    }
    /// The header.
    pub fn header(&self) -> &BlockHeader {
        &self.0.header
    }
    /// The suite of the chain (of the set that certified it).
    pub fn suite(&self) -> crate::suite::Suite {
        self.1
    }
    /// The certified block's hash.
    pub fn block_hash(&self) -> Digest {
        self.0.certificate.block
    }
    /// Log size.
    pub fn size(&self) -> u64 {
        self.0.header.log_size
    }
    /// Log root.
    pub fn root(&self) -> Digest {
        self.0.header.log_root
    }
}

/// Why a checkpoint is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointError {
    /// The header is for another chain.
    #[error("checkpoint is for chain {found}, expected chain {expected}")]
    WrongChain {
        /// This genesis' chain id.
        expected: ChainId,
        /// The header's.
        found: ChainId,
    },
    /// The header names another validator set than the genesis one.
    #[error("checkpoint header names validator set {found}, genesis validator set is {expected}")]
    WrongValidatorSet {
        /// Hash of the genesis validator set.
        expected: Digest,
        /// The header's.
        found: Digest,
    },
    /// The header's epoch has a validator set this verifier does not know.
    #[error(
        "checkpoint is for epoch {found}, the validator set given is of epoch {known} (the set of a later epoch is proven from the genesis by the epoch chain)"
    )]
    UnknownEpoch {
        /// Known epoch.
        known: Epoch,
        /// The header's epoch.
        found: Epoch,
    },
    /// The certificate is not about this header.
    #[error("certificate {field} is {found}, the header needs {expected}")]
    CertificateMismatch {
        /// Which field (`block`, `epoch`, `view`).
        field: &'static str,
        /// What the header implies.
        expected: String,
        /// What the certificate says.
        found: String,
    },
    /// The certificate does not verify.
    #[error("finalization certificate: {0}")]
    Certificate(#[from] CertError),
    /// Two checkpoints at one height with different headers.
    #[error("two different finalized headers at height {height}: {old} and {new}")]
    Fork {
        /// Height.
        height: Height,
        /// Old header hash.
        old: Digest,
        /// New header hash.
        new: Digest,
    },
    /// The newer checkpoint is at a lower height.
    #[error("new checkpoint height {new} is below old checkpoint height {old}")]
    HeightsReversed {
        /// Old height.
        old: Height,
        /// New height.
        new: Height,
    },
    /// The consistency proof does not verify.
    #[error("consistency proof from log size {size1} to {size2}: {source}")]
    Inconsistent {
        /// Old size.
        size1: u64,
        /// New size.
        size2: u64,
        /// Why.
        source: ProofError,
    },
}

impl Checkpoint {
    /// Verify against the genesis document (chain id and epoch-0 validator set).
    pub fn verify(&self, genesis: &Genesis) -> Result<VerifiedCheckpoint, CheckpointError> {
        self.verify_with(&genesis.chain_id(), &genesis.validators)
    }

    /// Verify against a chain id and the validator set of the header's epoch.
    pub fn verify_with(
        &self,
        chain_id: &ChainId,
        set: &ValidatorSet,
    ) -> Result<VerifiedCheckpoint, CheckpointError> {
        let h = &self.header;
        if h.chain_id != *chain_id {
            return Err(CheckpointError::WrongChain {
                expected: *chain_id,
                found: h.chain_id,
            });
        }
        if h.epoch != set.epoch {
            return Err(CheckpointError::UnknownEpoch {
                known: set.epoch,
                found: h.epoch,
            });
        }
        let set_hash = set.hash();
        if h.validator_set != set_hash {
            return Err(CheckpointError::WrongValidatorSet {
                expected: set_hash,
                found: h.validator_set,
            });
        }
        let c = &self.certificate;
        // The set that certifies the header is of the chain's suite.
        let block = h.hash(set.suite());
        if c.block != block {
            return Err(mismatch("block", block, c.block));
        }
        if c.epoch != h.epoch {
            return Err(mismatch("epoch", h.epoch, c.epoch));
        }
        if c.view != h.view {
            return Err(mismatch("view", h.view, c.view));
        }
        c.verify_kind(VoteKind::Finalize, *chain_id, set)?;
        Ok(VerifiedCheckpoint(self.clone(), set.suite()))
    }

    /// The text form. Fails only if a signer index is not in `set` or a validator name
    /// cannot be a note key name (empty, or contains whitespace or `+`).
    pub fn to_text(&self, set: &ValidatorSet) -> Result<String, TextError> {
        let h = &self.header;
        let mut out = String::with_capacity(1024);
        out.push_str(&h.chain_id.to_hex());
        out.push('\n');
        out.push_str(&format!(
            "{}\n{}\n",
            h.log_size,
            base64_encode(&h.log_root.0)
        ));
        out.push_str(&format!(
            "height {}\ntime {}\nepoch {}\nview {}\nparent {}\nproposer {}\ntxs_hash {}\n\
             tx_count {}\nstate_root {}\nvalidator_set {}\nnext_validator_set {}\n\n",
            h.height,
            h.time.0,
            h.epoch,
            h.view,
            h.parent,
            h.proposer,
            h.txs_hash,
            h.tx_count,
            h.state_root,
            h.validator_set,
            h.next_validator_set
        ));
        for s in &self.certificate.signatures {
            let v = set.get(s.index).ok_or(TextError::UnknownSigner {
                line: 0,
                name: format!("index {}", s.index),
            })?;
            check_key_name(&v.name, 0)?;
            let mut sig = Vec::with_capacity(68);
            sig.extend_from_slice(&key_id(&v.name, &v.consensus_key));
            sig.extend_from_slice(&s.signature.0);
            out.push_str(&format!("\u{2014} {} {}\n", v.name, base64_encode(&sig)));
        }
        Ok(out)
    }

    /// Parse the text form strictly (see the module docs). The origin must be `chain_id`
    /// and every signer a validator of `set`. The result is still unverified.
    pub fn from_text(
        text: &str,
        chain_id: &ChainId,
        set: &ValidatorSet,
    ) -> Result<Checkpoint, TextError> {
        let lines = text_lines(text)?;
        let header = text_header(&lines, chain_id)?;
        let signatures = text_signatures(&lines, set)?;
        let certificate = Certificate {
            kind: VoteKind::Finalize,
            epoch: header.epoch,
            view: header.view,
            block: header.hash(set.suite()),
            signatures,
        };
        Ok(Checkpoint {
            header,
            certificate,
        })
    }
}

/// The lines of a text checkpoint (without their `\n`), once its size and layout are
/// right: the body, a blank line, at least one signature line, no other blank line and no
/// carriage return.
fn text_lines(text: &str) -> Result<Vec<&str>, TextError> {
    if text.len() > CHECKPOINT_TEXT_BYTES_MAX {
        return Err(TextError::TooLarge {
            max: CHECKPOINT_TEXT_BYTES_MAX,
            found: text.len(),
        });
    }
    let Some(stripped) = text.strip_suffix('\n') else {
        return Err(TextError::NoFinalNewline);
    };
    let lines: Vec<&str> = stripped.split('\n').collect();
    if lines.len() > CHECKPOINT_BODY_LINES + 1 + VALIDATORS_MAX {
        return Err(TextError::TooManyLines {
            max: CHECKPOINT_BODY_LINES + 1 + VALIDATORS_MAX,
            found: lines.len(),
        });
    }
    if lines.len() < CHECKPOINT_BODY_LINES + 2 || !lines[CHECKPOINT_BODY_LINES].is_empty() {
        return Err(TextError::Layout {
            expected: "14 body lines, a blank line, then at least one signature line",
            found: lines.len(),
        });
    }
    for (i, l) in lines.iter().enumerate() {
        if i != CHECKPOINT_BODY_LINES && l.is_empty() {
            return Err(TextError::Line {
                line: i + 1,
                expected: "a non-empty line",
                found: String::new(),
            });
        }
        if l.contains('\r') {
            return Err(line_err(i, "no carriage return", l));
        }
    }
    Ok(lines)
}

/// The block header in the body lines of a text checkpoint (checked by [`text_lines`]).
fn text_header(lines: &[&str], chain_id: &ChainId) -> Result<BlockHeader, TextError> {
    if lines[0] != chain_id.to_hex() {
        return Err(TextError::UnknownOrigin {
            expected: chain_id.to_hex(),
            found: truncate(lines[0]),
        });
    }
    let log_size = dec(lines[1], 1)?;
    let root =
        base64_decode(lines[2]).map_err(|_| line_err(1 + 1, "base64 of 32 bytes", lines[2]))?;
    let log_root = Digest(
        root.try_into()
            .map_err(|_| line_err(2, "base64 of 32 bytes", lines[2]))?,
    );
    let ext = |i: usize, key: &'static str| -> Result<&str, TextError> {
        let l = lines[i];
        match l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')) {
            Some(v) => Ok(v),
            None => Err(TextError::Line {
                line: i + 1,
                expected: key,
                found: truncate(l),
            }),
        }
    };
    let hexd = |i: usize, key: &'static str| -> Result<Digest, TextError> {
        ext(i, key)?
            .parse::<Digest>()
            .map_err(|_| line_err(i, "64 lower-case hex digits", lines[i]))
    };
    let height = Height(dec(ext(3, "height")?, 3)?);
    let time = TimestampMs(dec(ext(4, "time")?, 4)?);
    let epoch = Epoch(dec(ext(5, "epoch")?, 5)?);
    let view = View(dec(ext(6, "view")?, 6)?);
    let parent = hexd(7, "parent")?;
    let proposer = u16::try_from(dec(ext(8, "proposer")?, 8)?)
        .map_err(|_| line_err(8, "a proposer index below 65536", lines[8]))?;
    let txs_hash = hexd(9, "txs_hash")?;
    let tx_count = u32::try_from(dec(ext(10, "tx_count")?, 10)?)
        .map_err(|_| line_err(10, "a count below 2^32", lines[10]))?;
    let state_root = hexd(11, "state_root")?;
    let validator_set = hexd(12, "validator_set")?;
    let next_validator_set = hexd(13, "next_validator_set")?;
    Ok(BlockHeader {
        chain_id: *chain_id,
        epoch,
        height,
        view,
        parent,
        proposer,
        time,
        txs_hash,
        tx_count,
        log_size,
        log_root,
        state_root,
        validator_set,
        next_validator_set,
    })
}

/// The signatures in the lines after the blank line of a text checkpoint: each by a
/// validator of `set` with its key id, in strictly increasing validator order.
fn text_signatures(lines: &[&str], set: &ValidatorSet) -> Result<Vec<IndexedSignature>, TextError> {
    let mut signatures: Vec<IndexedSignature> = Vec::new();
    for (i, l) in lines.iter().enumerate().skip(CHECKPOINT_BODY_LINES + 1) {
        let s = text_signature(i, l, set)?;
        if let Some(last) = signatures.last() {
            if last.index >= s.index {
                return Err(TextError::SignatureOrder {
                    line: i + 1,
                    name: set.validators[usize::from(s.index)].name.clone(),
                });
            }
        }
        signatures.push(s);
    }
    Ok(signatures)
}

/// One signature line (line `i`, from 0) of a text checkpoint, by a validator of `set`.
fn text_signature(i: usize, l: &str, set: &ValidatorSet) -> Result<IndexedSignature, TextError> {
    let sig = parse_signature_line(l).map_err(|expected| line_err(i, expected, l))?;
    let name = sig.name.as_str();
    if sig.signature.len() != 64 {
        return Err(line_err(
            i,
            "a 4-byte key id and a 64-byte Ed25519 signature",
            l,
        ));
    }
    let index = set
        .validators
        .iter()
        .position(|v| v.name == name)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| TextError::UnknownSigner {
            line: i + 1,
            name: truncate(name),
        })?;
    let v = &set.validators[usize::from(index)];
    let kid = key_id(&v.name, &v.consensus_key);
    if sig.key_id != kid {
        return Err(TextError::KeyIdMismatch {
            line: i + 1,
            name: v.name.clone(),
            expected: hex::encode(kid),
            found: hex::encode(sig.key_id),
        });
    }
    let mut raw = [0u8; 64];
    raw.copy_from_slice(&sig.signature);
    Ok(IndexedSignature {
        index,
        signature: Signature(raw),
    })
}

fn mismatch(field: &'static str, expected: impl ToString, found: impl ToString) -> CheckpointError {
    CheckpointError::CertificateMismatch {
        field,
        expected: expected.to_string(),
        found: found.to_string(),
    }
}

/// Check that the log of `new` extends the log of `old` (both verified against `genesis`,
/// so both of epoch 0), with one consistency proof from `old.log_size` to `new.log_size`.
/// An empty old log (size 0) needs an empty proof and the empty-log root. For checkpoints
/// of later epochs, verify each with the epoch chain
/// ([`crate::epoch::VerifiedEpochs::verify_checkpoint`]) and call
/// [`verify_verified_consistency`].
pub fn verify_checkpoint_consistency(
    old: &Checkpoint,
    new: &Checkpoint,
    proof: &[Digest],
    genesis: &Genesis,
) -> Result<(), CheckpointError> {
    let old = old.verify(genesis)?;
    let new = new.verify(genesis)?;
    verify_verified_consistency(&old, &new, proof)
}

/// Check that the log of `new` extends the log of `old`, two checkpoints already verified
/// (of any epochs), with one consistency proof from `old.log_size` to `new.log_size`. Two
/// different headers at one height are a [`CheckpointError::Fork`].
pub fn verify_verified_consistency(
    old: &VerifiedCheckpoint,
    new: &VerifiedCheckpoint,
    proof: &[Digest],
) -> Result<(), CheckpointError> {
    let (ho, hn) = (old.header(), new.header());
    if ho.height == hn.height && ho != hn {
        return Err(CheckpointError::Fork {
            height: ho.height,
            old: ho.hash(old.suite()),
            new: hn.hash(new.suite()),
        });
    }
    if hn.height < ho.height {
        return Err(CheckpointError::HeightsReversed {
            old: ho.height,
            new: hn.height,
        });
    }
    let (size1, size2) = (old.size(), new.size());
    let wrap = |source| CheckpointError::Inconsistent {
        size1,
        size2,
        source,
    };
    if size1 == 0 {
        let empty = merkle::empty_root(old.suite());
        if old.root() != empty {
            return Err(wrap(ProofError::RootMismatch {
                what: "old root (empty log)",
                expected: empty,
                computed: old.root(),
            }));
        }
        if !proof.is_empty() {
            return Err(wrap(ProofError::WrongProofLength {
                what: "consistency from the empty log".into(),
                expected: 0,
                found: proof.len(),
            }));
        }
        return Ok(());
    }
    merkle::verify_consistency(old.suite(), size1, size2, proof, &old.root(), &new.root())
        .map_err(wrap)
}

/// Why a text checkpoint was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TextError {
    /// Over [`CHECKPOINT_TEXT_BYTES_MAX`].
    #[error("checkpoint text of {found} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Limit.
        max: usize,
        /// Size.
        found: usize,
    },
    /// Too many lines.
    #[error("checkpoint text has {found} lines, more than the limit of {max}")]
    TooManyLines {
        /// Limit.
        max: usize,
        /// Lines.
        found: usize,
    },
    /// The text does not end in exactly one newline.
    #[error("checkpoint text must end with a newline")]
    NoFinalNewline,
    /// Wrong overall layout.
    #[error("checkpoint layout: expected {expected}, found {found} lines")]
    Layout {
        /// What was expected.
        expected: &'static str,
        /// Line count.
        found: usize,
    },
    /// The origin line is not this chain.
    #[error("unknown origin {found:?}: expected chain id {expected}")]
    UnknownOrigin {
        /// This chain id.
        expected: String,
        /// Found.
        found: String,
    },
    /// A line is malformed.
    #[error("line {line}: expected {expected}, found {found:?}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What it must be.
        expected: &'static str,
        /// What it is (truncated).
        found: String,
    },
    /// A signature line names no validator.
    #[error("line {line}: signer {name:?} is not a validator of this epoch")]
    UnknownSigner {
        /// 1-based line number (0 when formatting).
        line: usize,
        /// Name.
        name: String,
    },
    /// The key id does not match the validator's key.
    #[error("line {line}: key id {found} does not match validator {name}'s key id {expected}")]
    KeyIdMismatch {
        /// 1-based line number.
        line: usize,
        /// Validator.
        name: String,
        /// Computed key id, hex.
        expected: String,
        /// Key id in the line, hex.
        found: String,
    },
    /// Signature lines out of validator order, or a validator twice.
    #[error("line {line}: signature of {name} is duplicated or out of validator order")]
    SignatureOrder {
        /// 1-based line number.
        line: usize,
        /// Validator.
        name: String,
    },
    /// A name that cannot be a note key name.
    #[error("line {line}: {name:?} is not a valid key name (non-empty, no spaces or '+')")]
    BadKeyName {
        /// 1-based line number (0 when formatting).
        line: usize,
        /// Name.
        name: String,
    },
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

fn line_err(i: usize, expected: &'static str, found: &str) -> TextError {
    TextError::Line {
        line: i + 1,
        expected,
        found: truncate(found),
    }
}

fn dec(s: &str, i: usize) -> Result<u64, TextError> {
    let ok = !s.is_empty()
        && s.len() <= 20
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    if !ok {
        return Err(line_err(i, "a decimal number without leading zeros", s));
    }
    s.parse::<u64>()
        .map_err(|_| line_err(i, "a decimal number below 2^64", s))
}

/// One signature line of a signed note: `— <key name> <base64(key id || signature)>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// The 4-byte key id.
    pub key_id: [u8; 4],
    /// The rest of the decoded bytes (64 for Ed25519; 8 + 64 for a C2SP cosignature).
    pub signature: Vec<u8>,
}

/// Parse one signature line (without its newline). The error says what was expected.
pub fn parse_signature_line(line: &str) -> Result<NoteSignature, &'static str> {
    let rest = line
        .strip_prefix("\u{2014} ")
        .ok_or("a signature line starting with an em dash and a space")?;
    let (name, b64) = rest.split_once(' ').ok_or("\"\u{2014} <name> <base64>\"")?;
    check_key_name(name, 0).map_err(|_| "a key name without spaces or '+'")?;
    let raw = base64_decode(b64).map_err(|_| "strict base64 after the key name")?;
    if raw.len() < 5 {
        return Err("a 4-byte key id followed by a signature");
    }
    Ok(NoteSignature {
        name: name.to_string(),
        key_id: [raw[0], raw[1], raw[2], raw[3]],
        signature: raw[4..].to_vec(),
    })
}

fn check_key_name(name: &str, line: usize) -> Result<(), TextError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(TextError::BadKeyName {
            line,
            name: truncate(name),
        });
    }
    Ok(())
}

/// The C2SP signed-note key id of a validator key: the first 4 bytes of
/// `SHA-256(name || 0x0A || type || key)`, where `type` is the note's signature type:
/// `0x01` for Ed25519 (as the signed-note specification assigns), and for SM2, which it
/// assigns no type, `0xFF` followed by the ASCII text `sm2` (docs/crypto.md).
pub fn key_id(name: &str, key: &crate::ids::PublicKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A]);
    match key {
        crate::ids::PublicKey::Ed25519(_) => h.update([0x01]),
        crate::ids::PublicKey::Sm2(_) => h.update(b"\xffsm2"),
    }
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (RFC 4648 section 4, padded), as C2SP notes use.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Error decoding base64.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid base64 at byte {position}")]
pub struct Base64Error {
    /// Offset of the offending character (or the length, for a bad length).
    pub position: usize,
}

/// Strict standard base64: length a multiple of 4, padding only at the end, unused bits
/// zero (so every byte string has exactly one accepted spelling).
pub fn base64_decode(s: &str) -> Result<Vec<u8>, Base64Error> {
    let b = s.as_bytes();
    if b.len() % 4 != 0 {
        return Err(Base64Error { position: b.len() });
    }
    let val = |c: u8| -> Option<u32> { B64.iter().position(|&x| x == c).map(|p| p as u32) };
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    let groups = b.len() / 4;
    for g in 0..groups {
        let q = &b[g * 4..g * 4 + 4];
        let last = g + 1 == groups;
        let pad = if last {
            q.iter().rev().take_while(|&&c| c == b'=').count()
        } else {
            0
        };
        if pad > 2 {
            return Err(Base64Error { position: g * 4 });
        }
        let mut n: u32 = 0;
        for (i, &c) in q[..4 - pad].iter().enumerate() {
            let v = val(c).ok_or(Base64Error {
                position: g * 4 + i,
            })?;
            n |= v << (18 - 6 * i as u32);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let keep = 3 - pad;
        if bytes[keep..].iter().any(|&x| x != 0) {
            // Non-zero bits in the padding: a non-canonical spelling.
            return Err(Base64Error {
                position: g * 4 + 3 - pad,
            });
        }
        out.extend_from_slice(&bytes[..keep]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_strictness() {
        for n in 0..40usize {
            let v: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let e = base64_encode(&v);
            assert_eq!(base64_decode(&e).unwrap(), v);
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert!(base64_decode("Zm9=").is_err()); // non-zero padding bits
        assert!(base64_decode("Zm8").is_err());
        assert!(base64_decode("Z=8=").is_err());
        assert!(base64_decode("Zm8=Zm8=").is_err());
        assert!(base64_decode("Zm 8").is_err());
    }

    #[test]
    fn decimal_rules() {
        assert_eq!(dec("0", 0).unwrap(), 0);
        assert_eq!(dec("18446744073709551615", 0).unwrap(), u64::MAX);
        for bad in ["", "01", "+1", "-1", "1 ", "18446744073709551616", "1e3"] {
            assert!(dec(bad, 0).is_err(), "{bad:?}");
        }
    }
}
