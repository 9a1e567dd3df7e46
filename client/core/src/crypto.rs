//! Ed25519 signing, and verification under one acceptance rule for single and batch checks
//! (docs/consensus.md, "Signature acceptance rule"), with a linear-time search for the bad
//! items of a batch.
//!
//! The rule is ZIP-215 (<https://zips.z.cash/zip-0215>) as `ed25519-zebra` implements it,
//! plus the kernel's key rule:
//! - the public key A is a valid point encoding (any encoding, canonical or not) and not
//!   of small order ([`PublicKey::check`]);
//! - the signature's R is any valid point encoding, its S is canonical (S < L);
//! - the cofactored equation `[8](SB - R - kA) = 0` holds, `k = SHA-512(R || A || M)` over
//!   R and A as encoded.
//!
//! Batch verification checks the same equation summed with random coefficients, so a batch
//! passes exactly when every item passes alone (up to a 2^-128 chance of accepting a bad
//! batch, which is then no different from guessing a signature): the verdict on an item
//! never depends on the rest of its batch, so honest nodes agree. Strict (RFC 8032,
//! cofactorless) checks, as ed25519-dalek's `verify_strict`, are used nowhere: a signature
//! whose R or A has a small-order component would pass one check and fail the other.
//!
//! The kernel never draws randomness: a [`SecretKey`] is made from 32 bytes the caller
//! supplies (from the OS in the CLI and genesis tools, from a seeded RNG in the simulator),
//! and batch coefficients come from a hash of the batch (see [`bad_items`]).

use crate::domain::Tag;
use crate::ids::{PublicKey, Signature};
use chacha20::rand_core::SeedableRng;
use ed25519_dalek::Signer;
use ed25519_zebra::{batch, VerificationKey, VerificationKeyBytes};
use thiserror::Error;
use zeroize::Zeroizing;

/// A signing key. Its Debug form never shows the secret; the secret is zeroed on drop
/// (ed25519-dalek's `zeroize` feature).
#[derive(Clone)]
pub struct SecretKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(public={})", self.public())
    }
}

impl SecretKey {
    /// The key whose 32-byte seed is `seed` (this copy of the seed is zeroed).
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        let seed = Zeroizing::new(seed);
        SecretKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed (for writing key files). The caller owns this copy of the secret
    /// and should hold it in a `zeroize::Zeroizing`.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Sign `body` under `tag` (RFC 8032 Ed25519; every such signature passes the
    /// acceptance rule).
    pub fn sign(&self, tag: Tag, body: &[u8]) -> Signature {
        Signature(self.0.sign(&tag.signing_bytes(body)).to_bytes())
    }
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// The public key is not a valid Ed25519 point (or is a weak key).
    #[error("public key {key} is not a valid Ed25519 key")]
    BadKey {
        /// The key.
        key: PublicKey,
    },
    /// The signature does not verify.
    #[error("signature by {key} does not verify under {tag}")]
    Invalid {
        /// The claimed signer.
        key: PublicKey,
        /// The domain tag it was checked under.
        tag: &'static str,
    },
    /// In a batch, the item at `index` is bad.
    #[error("signature {index} of the batch (by {key}) does not verify")]
    BatchItem {
        /// Position in the batch.
        index: usize,
        /// The claimed signer.
        key: PublicKey,
    },
}

/// The key rule: a valid point encoding (decompression succeeds; non-canonical encodings
/// are accepted, as ZIP-215 requires) that is not of small order. Small-order ("weak") keys
/// would let one signature verify for many messages. The rule depends on the key alone, so
/// single and batch paths apply it identically.
fn checked_key(key: &PublicKey) -> Result<VerificationKey, SignatureError> {
    let bad = || SignatureError::BadKey { key: *key };
    let point = ed25519_dalek::VerifyingKey::from_bytes(&key.0).map_err(|_| bad())?;
    if point.is_weak() {
        return Err(bad());
    }
    VerificationKey::try_from(key.0).map_err(|_| bad())
}

impl PublicKey {
    /// Check that this is a usable Ed25519 key (a valid point encoding, not of small order).
    pub fn check(&self) -> Result<(), SignatureError> {
        checked_key(self).map(|_| ())
    }
}

/// The acceptance rule's equation for one signature, alone (ZIP-215, cofactored).
fn check_one(key: &VerificationKey, message: &[u8], sig: &Signature) -> bool {
    count_work(1);
    key.verify(&ed25519_zebra::Signature::from_bytes(&sig.0), message)
        .is_ok()
}

/// Verify one signature of `body` under `tag`, under the acceptance rule.
pub fn verify(
    key: &PublicKey,
    tag: Tag,
    body: &[u8],
    sig: &Signature,
) -> Result<(), SignatureError> {
    let vk = checked_key(key)?;
    if check_one(&vk, &tag.signing_bytes(body), sig) {
        Ok(())
    } else {
        Err(SignatureError::Invalid {
            key: *key,
            tag: tag.0,
        })
    }
}

/// One item of a batch: a key, the full signed message (`tag.signing_bytes(body)`) and a
/// signature.
#[derive(Debug, Clone)]
pub struct BatchItem<'a> {
    /// Claimed signer.
    pub key: PublicKey,
    /// The signed bytes, tag included.
    pub message: &'a [u8],
    /// The signature.
    pub signature: Signature,
}

/// Verify one item alone (the single path, for a message that already carries its tag).
/// Same verdict as a batch holding it. On failure: [`SignatureError::BatchItem`] with
/// index 0.
pub fn verify_item(item: &BatchItem<'_>) -> Result<(), SignatureError> {
    let bad = SignatureError::BatchItem {
        index: 0,
        key: item.key,
    };
    let vk = checked_key(&item.key).map_err(|_| bad.clone())?;
    if check_one(&vk, item.message, &item.signature) {
        Ok(())
    } else {
        Err(bad)
    }
}

/// Verify many signatures at once. On failure, name the first bad item (the smallest
/// index): every item before it is good.
///
/// Same verdict, item by item, as [`verify`]: see the module documentation.
pub fn verify_batch(items: &[BatchItem<'_>]) -> Result<(), SignatureError> {
    verify_batch_cached(items, &mut KeyCache::new(0))
}

/// Decompressed and checked Ed25519 public keys, by their 32-byte encoding.
///
/// Checking a key takes square roots in the field; the signers are few (an agency's
/// members, the validators) and sign many messages each. Only keys that pass the key
/// rule are kept. Bounded: when `max` keys are held, the cache is emptied before the next
/// is added (cheap, and an attacker cycling keys only costs the work saved).
#[derive(Debug)]
pub struct KeyCache {
    keys: std::collections::HashMap<PublicKey, VerificationKey>,
    max: usize,
}

impl KeyCache {
    /// An empty cache holding at most `max` keys (`0`: keep nothing).
    pub fn new(max: usize) -> KeyCache {
        KeyCache {
            keys: std::collections::HashMap::new(),
            max,
        }
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The checked `key`, from the cache or checked (and then kept).
    fn get(&mut self, key: &PublicKey) -> Result<VerificationKey, SignatureError> {
        if let Some(vk) = self.keys.get(key) {
            return Ok(*vk);
        }
        let vk = checked_key(key)?;
        if self.max > 0 {
            if self.keys.len() >= self.max {
                self.keys.clear();
            }
            self.keys.insert(*key, vk);
        }
        Ok(vk)
    }
}

/// [`verify_batch`], taking checked keys from `cache` (and adding the new ones).
pub fn verify_batch_cached(
    items: &[BatchItem<'_>],
    cache: &mut KeyCache,
) -> Result<(), SignatureError> {
    match bad_items(items, cache).first() {
        None => Ok(()),
        Some(&index) => Err(SignatureError::BatchItem {
            index,
            key: items[index].key,
        }),
    }
}

/// Context string of the BLAKE3 key derivation that seeds batch coefficients.
const COEFFICIENTS_CONTEXT: &str = "chancery 2026 ed25519 batch verification coefficients v1";

/// Below this many items a failed range is settled by single checks.
const BISECT_ITEMS_MIN: usize = 4;

/// An item with a valid key, prepared once for any number of batch equations.
struct Prepared<'i, 'a> {
    /// Position in the caller's batch.
    index: usize,
    item: &'i BatchItem<'a>,
    key: VerificationKey,
    /// ed25519-zebra's batch entry (holds `k = H(R || A || M)`, computed once).
    entry: batch::Item,
    /// BLAKE3 of key, signature and message: what the coefficients are derived from.
    digest: [u8; 32],
}

/// The indices of every bad item of `items`, in increasing order (empty when all are good).
///
/// An item is bad when its key fails the key rule or its signature fails the acceptance
/// rule alone; the verdict on an item does not depend on the other items.
///
/// Cost: one batch equation over all items when all are good. Otherwise the failed range is
/// halved and both halves are checked as batches: when exactly one half fails the search
/// goes on in it, and when both fail (or the range is small) every item of the range is
/// checked alone. The search follows a single chain of ranges, so it costs at most about
/// 3n batch-item terms plus n single checks for n items, whatever the number of bad
/// items: about 3n batch terms for one bad item, 2n batch terms and n single checks for an
/// all-bad batch (an attacker's junk batch costs little more than checking it one by one).
///
/// Random coefficients: the batch equation needs coefficients an attacker cannot predict,
/// but the kernel draws no randomness. They come from a ChaCha20 generator seeded with a
/// BLAKE3 hash of every item of the equation (key, signature and whole message), as in the
/// Fiat-Shamir transform: an attacker who changes any item changes every coefficient, so
/// making a bad item cancel out is as hard as breaking BLAKE3 or guessing a 128-bit
/// coefficient. The verdict of a sound batch check does not depend on the coefficients
/// (ed25519-zebra hands them to items in its hash-map order, which may differ between
/// processes; a valid batch passes whatever the coefficients are, an invalid one fails
/// except with probability about 2^-128).
pub fn bad_items(items: &[BatchItem<'_>], cache: &mut KeyCache) -> Vec<usize> {
    let mut bad = Vec::new();
    let mut prepared = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match cache.get(&item.key) {
            Ok(key) => {
                let sig = ed25519_zebra::Signature::from_bytes(&item.signature.0);
                let entry =
                    batch::Item::from((VerificationKeyBytes::from(item.key.0), sig, item.message));
                let mut h = blake3::Hasher::new();
                h.update(&item.key.0);
                h.update(&item.signature.0);
                h.update(&(item.message.len() as u64).to_le_bytes());
                h.update(item.message);
                prepared.push(Prepared {
                    index,
                    item,
                    key,
                    entry,
                    digest: *h.finalize().as_bytes(),
                });
            }
            Err(_) => bad.push(index),
        }
    }
    if !prepared.is_empty() && !batch_passes(&prepared) {
        search(&prepared, &mut bad);
    }
    bad.sort_unstable();
    bad
}

/// `range` failed as a batch: add its bad items to `bad` (see [`bad_items`] for the cost).
fn search(range: &[Prepared<'_, '_>], bad: &mut Vec<usize>) {
    if range.len() >= BISECT_ITEMS_MIN {
        let (left, right) = range.split_at(range.len() / 2);
        match (batch_passes(left), batch_passes(right)) {
            (false, true) => return search(left, bad),
            (true, false) => return search(right, bad),
            // Both bad: many bad items, check one by one. Both good cannot happen with a
            // sound batch check; checking one by one is the safe answer anyway.
            _ => {}
        }
    }
    for p in range {
        if !check_one(&p.key, p.item.message, &p.item.signature) {
            bad.push(p.index);
        }
    }
}

/// One batch equation over `range` (a single check for one item).
fn batch_passes(range: &[Prepared<'_, '_>]) -> bool {
    if let [p] = range {
        return check_one(&p.key, p.item.message, &p.item.signature);
    }
    count_work(range.len());
    let mut seed = blake3::Hasher::new_derive_key(COEFFICIENTS_CONTEXT);
    seed.update(&(range.len() as u64).to_le_bytes());
    let mut verifier = batch::Verifier::new();
    for p in range {
        seed.update(&p.digest);
        verifier.queue(p.entry.clone());
    }
    let rng = chacha20::ChaCha20Rng::from_seed(*seed.finalize().as_bytes());
    verifier.verify(rng).is_ok()
}

/// Record `items` signature checks (batch-equation terms or single checks) in the
/// per-thread counter that [`testing::work`] reads; nothing without the `testing` feature.
#[inline]
fn count_work(items: usize) {
    #[cfg(feature = "testing")]
    testing::WORK.with(|w| w.set(w.get().saturating_add(items as u64)));
    #[cfg(not(feature = "testing"))]
    let _ = items;
}

/// Helpers for tests of this and other crates (cargo feature `testing`, off by default):
/// signatures with a small-order component, and a count of verification work.
#[cfg(feature = "testing")]
pub mod testing {
    use super::{SecretKey, Tag};
    use crate::ids::Signature;
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::edwards::EdwardsPoint;
    use curve25519_dalek::scalar::{clamp_integer, Scalar};
    use sha2::{Digest, Sha512};
    use std::cell::Cell;
    use zeroize::Zeroizing;

    thread_local! {
        pub(super) static WORK: Cell<u64> = const { Cell::new(0) };
    }

    /// Signature checks done on this thread so far: one per item of every batch equation
    /// and one per single check. Tests compare it before and after a call.
    pub fn work() -> u64 {
        WORK.with(Cell::get)
    }

    /// Sign `body` under `tag` with `key`, but with a nonce point `R = rB + T` where `T`
    /// has order `order` (1, 2, 4 or 8; any other value is taken as 8):
    /// `S = r + H(R || A || M) a` from the expanded secret key `a`.
    ///
    /// Such a signature satisfies the cofactored equation `[8](SB - R - kA) = 0` but not
    /// the cofactorless one `SB = R + kA` (unless `order` is 1): it is valid under the
    /// ZIP-215 rule (docs/consensus.md, "Signature acceptance rule") and invalid under
    /// RFC 8032 strict verification. Deterministic in its inputs.
    pub fn sign_torsioned(key: &SecretKey, tag: Tag, body: &[u8], order: u8) -> Signature {
        // EIGHT_TORSION[i] has order 8 / gcd(i, 8).
        let torsion = match order {
            1 => EIGHT_TORSION[0],
            2 => EIGHT_TORSION[4],
            4 => EIGHT_TORSION[2],
            _ => EIGHT_TORSION[1],
        };
        // The expanded secret key (RFC 8032 §5.1.5): a = clamp(H(seed)[..32]), prefix = H(seed)[32..].
        let seed = Zeroizing::new(key.seed());
        let expanded = Zeroizing::new(<[u8; 64]>::from(Sha512::digest(&seed[..])));
        let mut lower = Zeroizing::new([0u8; 32]);
        lower.copy_from_slice(&expanded[..32]);
        let a = Scalar::from_bytes_mod_order(clamp_integer(*lower));
        let message = tag.signing_bytes(body);
        let nonce = Sha512::new()
            .chain_update(&expanded[32..])
            .chain_update(&message)
            .chain_update([order])
            .finalize();
        let r = Scalar::from_bytes_mod_order_wide(&nonce.into());
        let big_r = (EdwardsPoint::mul_base(&r) + torsion).compress().to_bytes();
        let public = key.public().0;
        let challenge = Sha512::new()
            .chain_update(big_r)
            .chain_update(public)
            .chain_update(&message)
            .finalize();
        let k = Scalar::from_bytes_mod_order_wide(&challenge.into());
        let s = r + k * a;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&big_r);
        sig[32..].copy_from_slice(s.as_bytes());
        Signature(sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain;

    fn key(i: u8) -> SecretKey {
        SecretKey::from_seed([i; 32])
    }

    #[test]
    fn sign_verify_and_domain_separation() {
        let k = key(1);
        let s = k.sign(domain::TX_SIGN, b"hello");
        assert!(verify(&k.public(), domain::TX_SIGN, b"hello", &s).is_ok());
        assert!(verify(&k.public(), domain::VOTE_SIGN, b"hello", &s).is_err());
        assert!(verify(&k.public(), domain::TX_SIGN, b"hellp", &s).is_err());
        assert!(verify(&key(2).public(), domain::TX_SIGN, b"hello", &s).is_err());
    }

    #[test]
    fn batch_finds_the_bad_item() {
        let msgs: Vec<Vec<u8>> = (0..37u8)
            .map(|i| domain::TX_SIGN.signing_bytes(&[i; 10]))
            .collect();
        let keys: Vec<SecretKey> = (0..37u8).map(key).collect();
        let mut items: Vec<BatchItem<'_>> = msgs
            .iter()
            .zip(&keys)
            .enumerate()
            .map(|(i, (m, k))| BatchItem {
                key: k.public(),
                message: m,
                signature: k.sign(domain::TX_SIGN, &[i as u8; 10]),
            })
            .collect();
        assert!(verify_batch(&items).is_ok());
        for bad in [0usize, 17, 36] {
            let saved = items[bad].signature;
            items[bad].signature.0[5] ^= 1;
            match verify_batch(&items) {
                Err(SignatureError::BatchItem { index, .. }) => assert_eq!(index, bad),
                other => panic!("expected bad item {bad}, got {other:?}"),
            }
            items[bad].signature = saved;
        }
    }

    /// The cache gives the same verdicts as fresh decompression, keeps only valid keys, and
    /// stays within its bound.
    #[test]
    fn key_cache_matches_fresh_keys_and_is_bounded() {
        let msgs: Vec<Vec<u8>> = (0..40u8)
            .map(|i| domain::TX_SIGN.signing_bytes(&[i; 10]))
            .collect();
        // Ten signers, four transactions each.
        let keys: Vec<SecretKey> = (0..10u8).map(key).collect();
        let mut items: Vec<BatchItem<'_>> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| BatchItem {
                key: keys[i % 10].public(),
                message: m,
                signature: keys[i % 10].sign(domain::TX_SIGN, &[i as u8; 10]),
            })
            .collect();
        let mut cache = KeyCache::new(4);
        for _ in 0..3 {
            assert!(verify_batch_cached(&items, &mut cache).is_ok());
            assert!(cache.len() <= 4, "held {} keys, bound 4", cache.len());
            assert!(!cache.is_empty());
        }
        // A bad signature by a cached signer is still found, at the same index.
        items[13].signature.0[0] ^= 1;
        assert_eq!(
            verify_batch_cached(&items, &mut cache),
            verify_batch(&items)
        );
        assert!(matches!(
            verify_batch_cached(&items, &mut cache),
            Err(SignatureError::BatchItem { index: 13, .. })
        ));
        items[13].signature.0[0] ^= 1;
        // An invalid key is refused and never cached.
        let mut bad = items.clone();
        bad[2].key = PublicKey([0u8; 32]); // small order: weak
        let mut cache = KeyCache::new(100);
        assert!(matches!(
            verify_batch_cached(&bad, &mut cache),
            Err(SignatureError::BatchItem { index: 2, .. })
        ));
        assert!(!cache.keys.contains_key(&PublicKey([0u8; 32])));
    }
}
