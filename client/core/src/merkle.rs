//! The transaction log Merkle tree: RFC 6962 / RFC 9162 shape and algorithms, generic over
//! the hash function. Pure: no IO, no storage (the node side is `chancery-tlog`).
//!
//! - `MTH({}) = empty_root`, `MTH({d}) = leaf(d)`,
//!   `MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))` with `k` the largest power of two `< n`.
//! - Proofs are lists of hashes, bottom-up (the leaf's sibling first), exactly as RFC 6962
//!   `PATH` and `PROOF` emit them.
//! - [`Sha256Hasher`] is RFC 6962 itself (`SHA-256(0x00 || d)`, `SHA-256(0x01 || l || r)`,
//!   empty root `SHA-256("")`); it exists so that third-party vectors check our tree shape
//!   and verifier logic.
//! - [`Sm3Hasher`] is RFC 6962's construction with SM3 (GB/T 32905) in place of SHA-256
//!   (`SM3(0x00 || d)`, `SM3(0x01 || l || r)`, empty root `SM3("")`), so that any RFC 6962
//!   tool given an SM3 hash checks it (`chancery tlog --hash sm3`, docs/tlog.md).
//! - [`Blake3Hasher`] is the ledger's: leaf = BLAKE3 keyed with
//!   `LOG_LEAF.derived_key()` over the data; node = BLAKE3 keyed with
//!   `LOG_NODE.derived_key()` over the 64 bytes `left || right` (one compression block);
//!   empty root = BLAKE3 keyed with `LOG_NODE.derived_key()` over the empty input (a node
//!   input is always 64 bytes, so it cannot collide with a node).
//!
//! Edge-case rules of the verifiers (they follow transparency-dev/merkle, whose probes are in
//! `tests/conformance/rfc6962`):
//! - inclusion: `index < size` is required; a tree of size 0 has no inclusion proofs;
//! - consistency from size 0 is rejected (even 0 -> 0): an empty tree commits to nothing;
//!   [`crate::checkpoint`] handles an empty old checkpoint itself;
//! - consistency with equal sizes needs an empty proof and equal roots;
//! - `size1 > size2` is rejected;
//! - proofs longer than [`PROOF_HASHES_MAX`] and sizes above [`TREE_SIZE_MAX`] are rejected
//!   before any hashing; a proof must have exactly the length the sizes imply (checked
//!   before hashing, so a wrong length is reported as such).
//!
//! Normative specification: docs/spec/04-proofs.md, section 4.1 (leaf and node hashes: 02-hashing-signing.md, 2.3).

use crate::domain;
use crate::ids::Digest;
use crate::limits::{PROOF_HASHES_MAX, TREE_SIZE_MAX};
use sha2::{Digest as _, Sha256};
use std::sync::OnceLock;
use thiserror::Error;

/// A Merkle tree hash function.
pub trait MerkleHasher {
    /// The root of the empty tree.
    fn empty_root(&self) -> Digest;
    /// Hash of a leaf's data.
    fn hash_leaf(&self, data: &[u8]) -> Digest;
    /// Hash of an interior node from its children.
    fn hash_node(&self, left: &Digest, right: &Digest) -> Digest;
}

/// RFC 6962 SHA-256 hashing, for conformance with third-party vectors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sha256Hasher;

impl Sha256Hasher {
    /// `SHA-256(0x01 || left || right)` over raw byte strings of any length (the RFC test
    /// vectors hash non-32-byte children; the tree itself only ever uses [`MerkleHasher`]).
    pub fn hash_node_bytes(&self, left: &[u8], right: &[u8]) -> Digest {
        let mut h = Sha256::new();
        h.update([1u8]);
        h.update(left);
        h.update(right);
        Digest(h.finalize().into())
    }
}

impl MerkleHasher for Sha256Hasher {
    fn empty_root(&self) -> Digest {
        Digest(Sha256::digest(b"").into())
    }
    fn hash_leaf(&self, data: &[u8]) -> Digest {
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(data);
        Digest(h.finalize().into())
    }
    fn hash_node(&self, left: &Digest, right: &Digest) -> Digest {
        self.hash_node_bytes(left.as_bytes(), right.as_bytes())
    }
}

/// RFC 6962's tree hash with SM3 in place of SHA-256 (the interoperable form of an
/// SM2/SM3 chain's log, docs/tlog.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sm3Hasher;

impl Sm3Hasher {
    /// `SM3(0x01 || left || right)` over raw byte strings of any length.
    pub fn hash_node_bytes(&self, left: &[u8], right: &[u8]) -> Digest {
        use sm3::Digest as _;
        let mut h = sm3::Sm3::new();
        h.update([1u8]);
        h.update(left);
        h.update(right);
        Digest(h.finalize().into())
    }
}

impl MerkleHasher for Sm3Hasher {
    fn empty_root(&self) -> Digest {
        Digest(crate::sm::sm3(b""))
    }
    fn hash_leaf(&self, data: &[u8]) -> Digest {
        use sm3::Digest as _;
        let mut h = sm3::Sm3::new();
        h.update([0u8]);
        h.update(data);
        Digest(h.finalize().into())
    }
    fn hash_node(&self, left: &Digest, right: &Digest) -> Digest {
        self.hash_node_bytes(left.as_bytes(), right.as_bytes())
    }
}

/// The ledger's log hasher: BLAKE3 keyed with the `LOG_LEAF` / `LOG_NODE` derived keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Blake3Hasher;

/// The hasher of the Chancery transaction log.
pub type LogHasher = Blake3Hasher;

fn blake3_keys() -> &'static ([u8; 32], [u8; 32]) {
    static KEYS: OnceLock<([u8; 32], [u8; 32])> = OnceLock::new();
    KEYS.get_or_init(|| {
        (
            domain::LOG_LEAF.derived_key(),
            domain::LOG_NODE.derived_key(),
        )
    })
}

impl MerkleHasher for Blake3Hasher {
    fn empty_root(&self) -> Digest {
        Digest(*blake3::keyed_hash(&blake3_keys().1, b"").as_bytes())
    }
    fn hash_leaf(&self, data: &[u8]) -> Digest {
        Digest(*blake3::keyed_hash(&blake3_keys().0, data).as_bytes())
    }
    fn hash_node(&self, left: &Digest, right: &Digest) -> Digest {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(left.as_bytes());
        buf[32..].copy_from_slice(right.as_bytes());
        Digest(*blake3::keyed_hash(&blake3_keys().1, &buf).as_bytes())
    }
}

/// The ledger's log hasher for a chain of `suite` (a closed enum, no trait object): the
/// default suite's is [`Blake3Hasher`], unchanged; the SM2/SM3 suite's keeps the same
/// domain tags with SM3 over `tag || 0x00 || input` ([`crate::sm::sm3_tagged`]): leaf
/// `SM3(LOG_LEAF || 0x00 || d)`, node `SM3(LOG_NODE || 0x00 || left || right)`, empty tree
/// `SM3(LOG_NODE || 0x00)` (a node's input is always 64 bytes, so it cannot be the empty
/// tree's). The ledger's log, its tiles and every log proof use it with the chain's suite.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SuiteLogHasher(pub crate::suite::Suite);

impl MerkleHasher for SuiteLogHasher {
    fn empty_root(&self) -> Digest {
        match self.0 {
            crate::suite::Suite::Ed25519Blake3 => Blake3Hasher.empty_root(),
            crate::suite::Suite::Sm2Sm3 => crate::sm::sm3_tagged(domain::LOG_NODE, b""),
        }
    }
    fn hash_leaf(&self, data: &[u8]) -> Digest {
        match self.0 {
            crate::suite::Suite::Ed25519Blake3 => Blake3Hasher.hash_leaf(data),
            crate::suite::Suite::Sm2Sm3 => crate::sm::sm3_tagged(domain::LOG_LEAF, data),
        }
    }
    fn hash_node(&self, left: &Digest, right: &Digest) -> Digest {
        match self.0 {
            crate::suite::Suite::Ed25519Blake3 => Blake3Hasher.hash_node(left, right),
            crate::suite::Suite::Sm2Sm3 => {
                let mut buf = [0u8; 64];
                buf[..32].copy_from_slice(left.as_bytes());
                buf[32..].copy_from_slice(right.as_bytes());
                crate::sm::sm3_tagged(domain::LOG_NODE, &buf)
            }
        }
    }
}

/// Why a proof does not verify (or cannot be made).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is out of range: a tree of size {size} has indices 0..{size}")]
    IndexOutOfRange {
        /// The index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A tree size above [`TREE_SIZE_MAX`].
    #[error("tree size {size} exceeds the limit of {max}")]
    SizeTooLarge {
        /// The size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// More hashes than [`PROOF_HASHES_MAX`].
    #[error("proof has {found} hashes, more than the limit of {max}")]
    ProofTooLong {
        /// Hashes given.
        found: usize,
        /// The limit.
        max: usize,
    },
    /// The proof length does not match the sizes.
    #[error("proof has {found} hashes, but a {what} proof needs exactly {expected}")]
    WrongProofLength {
        /// Which proof, e.g. `inclusion (index 5, size 8)`.
        what: String,
        /// Hashes needed.
        expected: usize,
        /// Hashes given.
        found: usize,
    },
    /// The root computed from the proof differs from the expected one.
    #[error("{what}: root computed from the proof is {computed}, expected {expected}")]
    RootMismatch {
        /// Which root (`root`, `old root`, `new root`).
        what: &'static str,
        /// The trusted root.
        expected: Digest,
        /// The root the proof leads to.
        computed: Digest,
    },
    /// Consistency from an empty tree.
    #[error("consistency proof from size 0: rejected (an empty tree commits to nothing)")]
    EmptyOldTree,
    /// Old size larger than new size.
    #[error("old size {size1} is larger than new size {size2}")]
    SizesReversed {
        /// Old size.
        size1: u64,
        /// New size.
        size2: u64,
    },
    /// Equal sizes but a non-empty proof.
    #[error("sizes are equal ({size}): the proof must be empty, found {found} hashes")]
    EqualSizesNonEmptyProof {
        /// The size.
        size: u64,
        /// Hashes given.
        found: usize,
    },
    /// Equal sizes but different roots.
    #[error("sizes are equal ({size}) but the roots differ")]
    EqualSizesRootsDiffer {
        /// The size.
        size: u64,
    },
    /// A hash of the wrong length (only from the byte-level entry points).
    #[error("{what} is {found} bytes long: expected 32")]
    HashLength {
        /// Which hash, e.g. `proof[2]`.
        what: String,
        /// Its length.
        found: usize,
    },
}

fn check_size(size: u64) -> Result<(), ProofError> {
    if size > TREE_SIZE_MAX {
        return Err(ProofError::SizeTooLarge {
            size,
            max: TREE_SIZE_MAX,
        });
    }
    Ok(())
}

fn check_proof_len(len: usize) -> Result<(), ProofError> {
    if len > PROOF_HASHES_MAX {
        return Err(ProofError::ProofTooLong {
            found: len,
            max: PROOF_HASHES_MAX,
        });
    }
    Ok(())
}

/// Largest power of two strictly less than `n` (`n >= 2`).
pub fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Shape of an inclusion proof for `index` in a tree of `size` (`index < size`): the number
/// of "inner" hashes (siblings below the level where the paths to `index` and to `size - 1`
/// meet) and of "border" hashes (left siblings above it).
fn decompose(index: u64, size: u64) -> (usize, usize) {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    (inner, border)
}

/// Length of the inclusion proof for `index` in a tree of `size` (`index < size`).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let (i, b) = decompose(index, size);
    i + b
}

fn chain_inner<H: MerkleHasher>(h: &H, mut seed: Digest, proof: &[Digest], index: u64) -> Digest {
    for (i, p) in proof.iter().enumerate() {
        seed = if (index >> i) & 1 == 0 {
            h.hash_node(&seed, p)
        } else {
            h.hash_node(p, &seed)
        };
    }
    seed
}

fn chain_inner_right<H: MerkleHasher>(
    h: &H,
    mut seed: Digest,
    proof: &[Digest],
    index: u64,
) -> Digest {
    for (i, p) in proof.iter().enumerate() {
        if (index >> i) & 1 == 1 {
            seed = h.hash_node(p, &seed);
        }
    }
    seed
}

fn chain_border_right<H: MerkleHasher>(h: &H, mut seed: Digest, proof: &[Digest]) -> Digest {
    for p in proof {
        seed = h.hash_node(p, &seed);
    }
    seed
}

/// The root that an inclusion proof leads to (RFC 9162 2.1.3.2 without the final
/// comparison). Checks sizes, index and proof length.
pub fn root_from_inclusion_proof_with<H: MerkleHasher>(
    h: &H,
    index: u64,
    size: u64,
    leaf_hash: &Digest,
    proof: &[Digest],
) -> Result<Digest, ProofError> {
    check_size(size)?;
    check_proof_len(proof.len())?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (inner, border) = decompose(index, size);
    if proof.len() != inner + border {
        return Err(ProofError::WrongProofLength {
            what: format!("inclusion (index {index}, size {size})"),
            expected: inner + border,
            found: proof.len(),
        });
    }
    let r = chain_inner(h, *leaf_hash, &proof[..inner], index);
    Ok(chain_border_right(h, r, &proof[inner..]))
}

/// Verify that `leaf_hash` is at `index` in the tree of `size` with `root`.
pub fn verify_inclusion_with<H: MerkleHasher>(
    h: &H,
    index: u64,
    size: u64,
    leaf_hash: &Digest,
    proof: &[Digest],
    root: &Digest,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof_with(h, index, size, leaf_hash, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch {
            what: "root",
            expected: *root,
            computed,
        });
    }
    Ok(())
}

/// Verify that the tree of `size1` with `root1` is a prefix of the tree of `size2` with
/// `root2` (RFC 9162 2.1.4.2, with the edge-case rules in the module docs).
pub fn verify_consistency_with<H: MerkleHasher>(
    h: &H,
    size1: u64,
    size2: u64,
    proof: &[Digest],
    root1: &Digest,
    root2: &Digest,
) -> Result<(), ProofError> {
    check_size(size1)?;
    check_size(size2)?;
    check_proof_len(proof.len())?;
    if size1 > size2 {
        return Err(ProofError::SizesReversed { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::EqualSizesNonEmptyProof {
                size: size1,
                found: proof.len(),
            });
        }
        if root1 != root2 {
            return Err(ProofError::EqualSizesRootsDiffer { size: size1 });
        }
        return Ok(());
    }
    let (inner, border) = decompose(size1 - 1, size2);
    let shift = size1.trailing_zeros() as usize;
    let inner = inner - shift;
    // If size1 is a power of two its root is a node of the new tree: the proof omits it.
    let (seed, rest, start) = if size1 == 1u64 << shift {
        (*root1, proof, 0)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest, 1),
            None => (Digest::ZERO, proof, 1),
        }
    };
    if proof.len() != start + inner + border {
        return Err(ProofError::WrongProofLength {
            what: format!("consistency (size {size1} to {size2})"),
            expected: start + inner + border,
            found: proof.len(),
        });
    }
    let mask = (size1 - 1) >> shift;
    let old = chain_inner_right(h, seed, &rest[..inner], mask);
    let old = chain_border_right(h, old, &rest[inner..]);
    if old != *root1 {
        return Err(ProofError::RootMismatch {
            what: "old root",
            expected: *root1,
            computed: old,
        });
    }
    let new = chain_inner(h, seed, &rest[..inner], mask);
    let new = chain_border_right(h, new, &rest[inner..]);
    if new != *root2 {
        return Err(ProofError::RootMismatch {
            what: "new root",
            expected: *root2,
            computed: new,
        });
    }
    Ok(())
}

fn digest_of(what: &dyn Fn() -> String, bytes: &[u8]) -> Result<Digest, ProofError> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| ProofError::HashLength {
        what: what(),
        found: bytes.len(),
    })?;
    Ok(Digest(arr))
}

fn digests_of(proof: &[Vec<u8>]) -> Result<Vec<Digest>, ProofError> {
    check_proof_len(proof.len())?;
    proof
        .iter()
        .enumerate()
        .map(|(i, p)| digest_of(&|| format!("proof[{i}]"), p))
        .collect()
}

/// [`verify_inclusion_with`] over raw byte strings (as typed by a person or read from a
/// foreign file): every hash must be 32 bytes, else [`ProofError::HashLength`].
pub fn verify_inclusion_bytes<H: MerkleHasher>(
    h: &H,
    index: u64,
    size: u64,
    leaf_hash: &[u8],
    proof: &[Vec<u8>],
    root: &[u8],
) -> Result<(), ProofError> {
    check_size(size)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let leaf = digest_of(&|| "leaf hash".into(), leaf_hash)?;
    let root = digest_of(&|| "root".into(), root)?;
    let proof = digests_of(proof)?;
    verify_inclusion_with(h, index, size, &leaf, &proof, &root)
}

/// [`verify_consistency_with`] over raw byte strings. With equal sizes the roots are only
/// compared byte for byte (no length check), as in transparency-dev/merkle; otherwise every
/// hash must be 32 bytes.
pub fn verify_consistency_bytes<H: MerkleHasher>(
    h: &H,
    size1: u64,
    size2: u64,
    proof: &[Vec<u8>],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), ProofError> {
    check_size(size1)?;
    check_size(size2)?;
    check_proof_len(proof.len())?;
    if size1 > size2 {
        return Err(ProofError::SizesReversed { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::EqualSizesNonEmptyProof {
                size: size1,
                found: proof.len(),
            });
        }
        if root1 != root2 {
            return Err(ProofError::EqualSizesRootsDiffer { size: size1 });
        }
        return Ok(());
    }
    let r1 = digest_of(&|| "old root".into(), root1)?;
    let r2 = digest_of(&|| "new root".into(), root2)?;
    let proof = digests_of(proof)?;
    verify_consistency_with(h, size1, size2, &proof, &r1, &r2)
}

/// The Merkle tree hash of a list of leaf hashes (`MTH`).
pub fn root_with<H: MerkleHasher>(h: &H, leaf_hashes: &[Digest]) -> Digest {
    match leaf_hashes.len() {
        0 => h.empty_root(),
        1 => leaf_hashes[0],
        n => {
            let k = split_point(n as u64) as usize;
            h.hash_node(
                &root_with(h, &leaf_hashes[..k]),
                &root_with(h, &leaf_hashes[k..]),
            )
        }
    }
}

/// RFC 6962 `PATH(index, D[n])` over an in-memory list of leaf hashes (O(n) hashing; the
/// node computes proofs from stored subtree hashes instead).
pub fn inclusion_proof_with<H: MerkleHasher>(
    h: &H,
    leaf_hashes: &[Digest],
    index: u64,
) -> Result<Vec<Digest>, ProofError> {
    let size = leaf_hashes.len() as u64;
    check_size(size)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    path(h, leaf_hashes, index as usize, &mut out);
    Ok(out)
}

fn path<H: MerkleHasher>(h: &H, d: &[Digest], m: usize, out: &mut Vec<Digest>) {
    if d.len() <= 1 {
        return;
    }
    let k = split_point(d.len() as u64) as usize;
    if m < k {
        path(h, &d[..k], m, out);
        out.push(root_with(h, &d[k..]));
    } else {
        path(h, &d[k..], m - k, out);
        out.push(root_with(h, &d[..k]));
    }
}

/// RFC 6962 `PROOF(size1, D[n])` over an in-memory list of leaf hashes, `0 < size1 <= n`
/// (equal sizes give an empty proof).
pub fn consistency_proof_with<H: MerkleHasher>(
    h: &H,
    leaf_hashes: &[Digest],
    size1: u64,
) -> Result<Vec<Digest>, ProofError> {
    let size2 = leaf_hashes.len() as u64;
    check_size(size2)?;
    if size1 > size2 {
        return Err(ProofError::SizesReversed { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    subtree_consistency_proof_with(h, leaf_hashes, 0, size1)
}

/// Consistency proof from the subtree `[start, end)` to the whole list (the generalisation
/// of RFC 6962 `SUBPROOF` in draft-ietf-plants-merkle-tree-certs; `start = 0` is exactly
/// `PROOF(end, D[n])`). `[start, end)` must be a valid subtree: `start == 0`,
/// `start == end`, or `start` a multiple of the smallest power of two `>= end - start`.
pub fn subtree_consistency_proof_with<H: MerkleHasher>(
    h: &H,
    leaf_hashes: &[Digest],
    start: u64,
    end: u64,
) -> Result<Vec<Digest>, ProofError> {
    let n = leaf_hashes.len() as u64;
    if start > end || end > n {
        return Err(ProofError::IndexOutOfRange {
            index: end.max(start),
            size: n,
        });
    }
    let mut out = Vec::new();
    subproof(h, leaf_hashes, start as usize, end as usize, true, &mut out)?;
    Ok(out)
}

fn subproof<H: MerkleHasher>(
    h: &H,
    d: &[Digest],
    start: usize,
    end: usize,
    b: bool,
    out: &mut Vec<Digest>,
) -> Result<(), ProofError> {
    let n = d.len();
    if start == end {
        return Ok(());
    }
    if start == 0 && end == n {
        if !b {
            out.push(root_with(h, d));
        }
        return Ok(());
    }
    let k = split_point(n as u64) as usize;
    if end <= k {
        subproof(h, &d[..k], start, end, b, out)?;
        out.push(root_with(h, &d[k..]));
    } else if start >= k {
        subproof(h, &d[k..], start - k, end - k, b, out)?;
        out.push(root_with(h, &d[..k]));
    } else if start == 0 {
        subproof(h, &d[k..], 0, end - k, false, out)?;
        out.push(root_with(h, &d[..k]));
    } else {
        // Not a valid subtree: it straddles the split without starting at 0.
        return Err(ProofError::IndexOutOfRange {
            index: start as u64,
            size: n as u64,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------- the ledger's tree

/// The ledger's leaf hash of `data` (the canonical bytes of a `block::LogEntry`) in a
/// chain of `suite`.
pub fn leaf_hash(suite: crate::suite::Suite, data: &[u8]) -> Digest {
    SuiteLogHasher(suite).hash_leaf(data)
}

/// The ledger's node hash in a chain of `suite`.
pub fn node_hash(suite: crate::suite::Suite, left: &Digest, right: &Digest) -> Digest {
    SuiteLogHasher(suite).hash_node(left, right)
}

/// The ledger's empty-log root in a chain of `suite`.
pub fn empty_root(suite: crate::suite::Suite) -> Digest {
    SuiteLogHasher(suite).empty_root()
}

/// The ledger's root over a list of leaf hashes in a chain of `suite`.
pub fn root(suite: crate::suite::Suite, leaf_hashes: &[Digest]) -> Digest {
    root_with(&SuiteLogHasher(suite), leaf_hashes)
}

/// Verify a ledger inclusion proof in a chain of `suite`. See [`verify_inclusion_with`].
pub fn verify_inclusion(
    suite: crate::suite::Suite,
    index: u64,
    size: u64,
    leaf_hash: &Digest,
    proof: &[Digest],
    root: &Digest,
) -> Result<(), ProofError> {
    verify_inclusion_with(&SuiteLogHasher(suite), index, size, leaf_hash, proof, root)
}

/// Verify a ledger consistency proof in a chain of `suite`. See
/// [`verify_consistency_with`].
pub fn verify_consistency(
    suite: crate::suite::Suite,
    size1: u64,
    size2: u64,
    proof: &[Digest],
    root1: &Digest,
    root2: &Digest,
) -> Result<(), ProofError> {
    verify_consistency_with(&SuiteLogHasher(suite), size1, size2, proof, root1, root2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Digest> {
        (0..n)
            .map(|i| leaf_hash(crate::suite::Suite::default(), &(i as u64).to_le_bytes()))
            .collect()
    }

    #[test]
    fn blake3_hasher_uses_the_domain_keys() {
        let k = domain::LOG_NODE.derived_key();
        let a = leaf_hash(crate::suite::Suite::default(), b"a");
        let b = leaf_hash(crate::suite::Suite::default(), b"b");
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(&a.0);
        buf[32..].copy_from_slice(&b.0);
        assert_eq!(
            node_hash(crate::suite::Suite::default(), &a, &b).0,
            *blake3::keyed_hash(&k, &buf).as_bytes()
        );
        let lk = domain::LOG_LEAF.derived_key();
        assert_eq!(a.0, *blake3::keyed_hash(&lk, b"a").as_bytes());
        assert_ne!(
            leaf_hash(crate::suite::Suite::default(), &buf),
            node_hash(crate::suite::Suite::default(), &a, &b)
        );
        assert_ne!(
            empty_root(crate::suite::Suite::default()),
            leaf_hash(crate::suite::Suite::default(), b"")
        );
    }

    #[test]
    fn every_proof_of_small_trees_verifies_and_mutations_fail() {
        for n in 1..=33usize {
            let l = leaves(n);
            let r = root(crate::suite::Suite::default(), &l);
            for i in 0..n as u64 {
                let p = inclusion_proof_with(&Blake3Hasher, &l, i).unwrap();
                assert_eq!(p.len(), inclusion_proof_len(i, n as u64));
                verify_inclusion(
                    crate::suite::Suite::default(),
                    i,
                    n as u64,
                    &l[i as usize],
                    &p,
                    &r,
                )
                .unwrap();
                assert!(
                    verify_inclusion(
                        crate::suite::Suite::default(),
                        i,
                        n as u64,
                        &l[(i as usize + 1) % n],
                        &p,
                        &r
                    )
                    .is_err()
                        || n == 1
                );
                for j in 0..p.len() {
                    let mut q = p.clone();
                    q[j].0[0] ^= 1;
                    assert!(verify_inclusion(
                        crate::suite::Suite::default(),
                        i,
                        n as u64,
                        &l[i as usize],
                        &q,
                        &r
                    )
                    .is_err());
                }
            }
            for m in 1..=n as u64 {
                let p = consistency_proof_with(&Blake3Hasher, &l, m).unwrap();
                let r1 = root(crate::suite::Suite::default(), &l[..m as usize]);
                verify_consistency(crate::suite::Suite::default(), m, n as u64, &p, &r1, &r)
                    .unwrap();
                for j in 0..p.len() {
                    let mut q = p.clone();
                    q[j].0[31] ^= 0x80;
                    assert!(verify_consistency(
                        crate::suite::Suite::default(),
                        m,
                        n as u64,
                        &q,
                        &r1,
                        &r
                    )
                    .is_err());
                }
                if m < n as u64 {
                    assert!(verify_consistency(
                        crate::suite::Suite::default(),
                        m + 1,
                        n as u64,
                        &p,
                        &r1,
                        &r
                    )
                    .is_err());
                }
            }
        }
    }

    #[test]
    fn limits_and_edge_cases() {
        let l = leaves(4);
        let r = root(crate::suite::Suite::default(), &l);
        assert_eq!(
            verify_inclusion(crate::suite::Suite::default(), 4, 4, &l[0], &[], &r),
            Err(ProofError::IndexOutOfRange { index: 4, size: 4 })
        );
        assert!(matches!(
            verify_inclusion(
                crate::suite::Suite::default(),
                0,
                TREE_SIZE_MAX + 1,
                &l[0],
                &[],
                &r
            ),
            Err(ProofError::SizeTooLarge { .. })
        ));
        let long = vec![Digest::ZERO; PROOF_HASHES_MAX + 1];
        assert!(matches!(
            verify_inclusion(crate::suite::Suite::default(), 0, 4, &l[0], &long, &r),
            Err(ProofError::ProofTooLong { .. })
        ));
        assert_eq!(
            verify_consistency(crate::suite::Suite::default(), 0, 4, &[], &r, &r),
            Err(ProofError::EmptyOldTree)
        );
        assert_eq!(
            verify_consistency(crate::suite::Suite::default(), 4, 4, &[], &r, &r),
            Ok(())
        );
        assert!(verify_consistency(crate::suite::Suite::default(), 5, 4, &[], &r, &r).is_err());
        // Proofs at the size limit have the expected shape.
        assert_eq!(inclusion_proof_len(TREE_SIZE_MAX - 1, TREE_SIZE_MAX), 63);
    }

    proptest! {
        #[test]
        fn random_trees(n in 1usize..200, i in 0usize..200, m in 1usize..200) {
            let l = leaves(n);
            let r = root(crate::suite::Suite::default(), &l);
            let i = (i % n) as u64;
            let p = inclusion_proof_with(&Blake3Hasher, &l, i).unwrap();
            prop_assert!(verify_inclusion(crate::suite::Suite::default(), i, n as u64, &l[i as usize], &p, &r).is_ok());
            let m = ((m - 1) % n + 1) as u64;
            let c = consistency_proof_with(&Blake3Hasher, &l, m).unwrap();
            prop_assert!(verify_consistency(crate::suite::Suite::default(), m, n as u64, &c, &root(crate::suite::Suite::default(), &l[..m as usize]), &r).is_ok());
        }
    }
}
