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
//!
//! Normative specification: docs/spec/02-hashing-signing.md, sections 2.4 to 2.6.

use crate::domain::Tag;
use crate::ids::{PublicKey, Signature};
use crate::sm::{Sm2PublicKey, Sm2SecretKey, Sm2Signature, Sm2Verifier};
use crate::suite::Suite;
use chacha20::rand_core::SeedableRng;
use ed25519_dalek::Signer;
use ed25519_zebra::{batch, VerificationKey, VerificationKeyBytes};
use std::sync::Arc;
use thiserror::Error;
use zeroize::Zeroizing;

/// A signing key of either suite. Its Debug form never shows the secret; an Ed25519 secret
/// is zeroed on drop (ed25519-dalek's `zeroize` feature), an SM2 one overwritten
/// ([`Sm2SecretKey`]). Cloning an SM2 key shares it rather than copying the secret.
#[derive(Clone)]
pub struct SecretKey(SecretInner);

#[derive(Clone)]
enum SecretInner {
    Ed25519(Box<ed25519_dalek::SigningKey>),
    Sm2(Arc<Sm2SecretKey>),
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(public={})", self.public())
    }
}

impl SecretKey {
    /// The Ed25519 key whose 32-byte seed is `seed` (this copy of the seed is zeroed).
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        let seed = Zeroizing::new(seed);
        SecretKey(SecretInner::Ed25519(Box::new(
            ed25519_dalek::SigningKey::from_bytes(&seed),
        )))
    }

    /// The key of `suite` made from 32 secret bytes the caller supplies (the kernel draws
    /// no randomness): an Ed25519 seed (any 32 bytes), or the SM2 scalar `d`, big-endian,
    /// which must lie in `1..n-1`. This copy of the bytes is wiped.
    pub fn from_secret(suite: Suite, secret: [u8; 32]) -> Result<SecretKey, crate::sm::SmError> {
        match suite {
            Suite::Ed25519Blake3 => Ok(SecretKey::from_seed(secret)),
            Suite::Sm2Sm3 => Ok(SecretKey(SecretInner::Sm2(Arc::new(
                Sm2SecretKey::from_bytes(secret)?,
            )))),
        }
    }

    /// The suite of the key.
    pub fn suite(&self) -> Suite {
        match &self.0 {
            SecretInner::Ed25519(_) => Suite::Ed25519Blake3,
            SecretInner::Sm2(_) => Suite::Sm2Sm3,
        }
    }

    /// The 32 secret bytes [`SecretKey::from_secret`] takes (for writing key files): the
    /// Ed25519 seed or the SM2 scalar. The caller owns this copy, wiped on drop.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        match &self.0 {
            SecretInner::Ed25519(k) => Zeroizing::new(k.to_bytes()),
            SecretInner::Sm2(k) => k.to_bytes(),
        }
    }

    /// The 32-byte Ed25519 seed (for writing key files). The caller owns this copy of the
    /// secret and should hold it in a `zeroize::Zeroizing`. For an SM2 key: its scalar, as
    /// [`SecretKey::secret_bytes`].
    pub fn seed(&self) -> [u8; 32] {
        *self.secret_bytes()
    }

    /// The public key.
    pub fn public(&self) -> PublicKey {
        match &self.0 {
            SecretInner::Ed25519(k) => PublicKey::Ed25519(k.verifying_key().to_bytes()),
            SecretInner::Sm2(k) => PublicKey::Sm2(k.public().to_bytes()),
        }
    }

    /// Sign `body` under `tag`: the signed message is `tag || 0x00 || body` in both suites
    /// ([`Tag::signing_bytes`]). Ed25519 per RFC 8032 (every such signature passes the
    /// acceptance rule); SM2 per GB/T 32918.2 under the default distinguishing ID.
    pub fn sign(&self, tag: Tag, body: &[u8]) -> Signature {
        match &self.0 {
            SecretInner::Ed25519(k) => Signature(k.sign(&tag.signing_bytes(body)).to_bytes()),
            SecretInner::Sm2(k) => match k.sign(&tag.signing_bytes(body)) {
                Ok(sig) => Signature(sig.to_bytes()),
                // The sm2 crate fails only when its deterministic nonce k gives r = 0 or
                // r + k = n: probability about 2^-256 per message, as likely as guessing
                // the key, and no input can steer it there without breaking SM3. Fail
                // closed rather than panic: the all-zero signature has r = 0, which every
                // verifier refuses, so the message is refused as unsigned.
                Err(_) => Signature([0; 64]),
            },
        }
    }
}

impl crate::ids::NetworkKey {
    /// The network key (Ed25519 in every suite) of the secret seed `seed` (this copy of the
    /// seed is zeroed).
    pub fn from_seed(seed: [u8; 32]) -> crate::ids::NetworkKey {
        let seed = Zeroizing::new(seed);
        crate::ids::NetworkKey(
            ed25519_dalek::SigningKey::from_bytes(&seed)
                .verifying_key()
                .to_bytes(),
        )
    }
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// The public key is not a usable key of its suite: for Ed25519 not a valid point or a
    /// weak key, for SM2 not an uncompressed point on the curve.
    #[error("public key {key} is not a valid {} key", key.suite())]
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

/// A key that passed the key rule of its suite, ready to verify.
#[derive(Clone, Debug)]
enum CheckedKey {
    Ed25519(VerificationKey),
    Sm2(Arc<Sm2Verifier>),
}

/// The key rule. Ed25519: a valid point encoding (decompression succeeds; non-canonical
/// encodings are accepted, as ZIP-215 requires) that is not of small order. Small-order
/// ("weak") keys would let one signature verify for many messages. SM2: `0x04 || x || y`
/// with the point on the curve (not the identity, which has no such encoding). The rule
/// depends on the key alone, so single and batch paths apply it identically.
fn checked_key(key: &PublicKey) -> Result<CheckedKey, SignatureError> {
    let bad = || SignatureError::BadKey { key: *key };
    match key {
        PublicKey::Ed25519(bytes) => {
            let point = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| bad())?;
            if point.is_weak() {
                return Err(bad());
            }
            VerificationKey::try_from(*bytes)
                .map(CheckedKey::Ed25519)
                .map_err(|_| bad())
        }
        PublicKey::Sm2(bytes) => {
            let pk = Sm2PublicKey::from_bytes(*bytes).map_err(|_| bad())?;
            Sm2Verifier::new(&pk)
                .map(|v| CheckedKey::Sm2(Arc::new(v)))
                .map_err(|_| bad())
        }
    }
}

impl PublicKey {
    /// Check that this is a usable key of its suite (Ed25519: a valid point encoding, not
    /// of small order; SM2: an uncompressed point on the curve).
    pub fn check(&self) -> Result<(), SignatureError> {
        checked_key(self).map(|_| ())
    }
}

/// The acceptance rule's equation for one signature, alone (Ed25519: ZIP-215, cofactored;
/// SM2: GB/T 32918.2, with `r` and `s` in `1..n-1`).
fn check_one(key: &CheckedKey, message: &[u8], sig: &Signature) -> bool {
    count_work(1);
    match key {
        CheckedKey::Ed25519(k) => k
            .verify(&ed25519_zebra::Signature::from_bytes(&sig.0), message)
            .is_ok(),
        CheckedKey::Sm2(v) => Sm2Signature::from_bytes(sig.0)
            .and_then(|s| v.verify(message, &s))
            .is_ok(),
    }
}

/// Verify one signature of `body` under `tag`, under the acceptance rule of the key's suite.
pub fn verify(
    key: &PublicKey,
    tag: Tag,
    body: &[u8],
    sig: &Signature,
) -> Result<(), SignatureError> {
    let checked = checked_key(key)?;
    if check_one(&checked, &tag.signing_bytes(body), sig) {
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

/// Checked public keys, by their encoding: Ed25519 keys decompressed, SM2 keys with their
/// `Z_A` computed.
///
/// Checking a key takes square roots in the field (and for SM2 a hash of the curve and
/// the key); the signers are few (an agency's
/// members, the validators) and sign many messages each. Only keys that pass the key
/// rule are kept. Bounded: when `max` keys are held, the cache is emptied before the next
/// is added (cheap, and an attacker cycling keys only costs the work saved).
#[derive(Debug)]
pub struct KeyCache {
    keys: std::collections::HashMap<PublicKey, CheckedKey>,
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
    fn get(&mut self, key: &PublicKey) -> Result<CheckedKey, SignatureError> {
        if let Some(vk) = self.keys.get(key) {
            return Ok(vk.clone());
        }
        let vk = checked_key(key)?;
        if self.max > 0 {
            if self.keys.len() >= self.max {
                self.keys.clear();
            }
            self.keys.insert(*key, vk.clone());
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
            Ok(CheckedKey::Ed25519(key)) => {
                let PublicKey::Ed25519(encoded) = item.key else {
                    // A checked Ed25519 key comes only from an Ed25519 public key.
                    bad.push(index);
                    continue;
                };
                let sig = ed25519_zebra::Signature::from_bytes(&item.signature.0);
                // The key as encoded (not re-encoded): k = H(R || A || M) is over A's bytes.
                let entry =
                    batch::Item::from((VerificationKeyBytes::from(encoded), sig, item.message));
                let mut h = blake3::Hasher::new();
                h.update(item.key.as_bytes());
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
            // SM2 has no batch equation: each signature is checked alone.
            Ok(key @ CheckedKey::Sm2(_)) => {
                if !check_one(&key, item.message, &item.signature) {
                    bad.push(index);
                }
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
        if !check_one(
            &CheckedKey::Ed25519(p.key),
            p.item.message,
            &p.item.signature,
        ) {
            bad.push(p.index);
        }
    }
}

/// One batch equation over `range` (a single check for one item).
fn batch_passes(range: &[Prepared<'_, '_>]) -> bool {
    if let [p] = range {
        return check_one(
            &CheckedKey::Ed25519(p.key),
            p.item.message,
            &p.item.signature,
        );
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
        let public = key.public();
        let public = public.as_bytes();
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
        bad[2].key = PublicKey::Ed25519([0u8; 32]); // small order: weak
        let mut cache = KeyCache::new(100);
        assert!(matches!(
            verify_batch_cached(&bad, &mut cache),
            Err(SignatureError::BatchItem { index: 2, .. })
        ));
        assert!(!cache.keys.contains_key(&PublicKey::Ed25519([0u8; 32])));
    }
}
