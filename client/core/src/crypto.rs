//! Ed25519 signing and verification under domain tags, with batch verification that
//! bisects a failed batch to name the bad signer.
//!
//! The kernel never draws randomness: a [`SecretKey`] is made from 32 bytes the caller
//! supplies (from the OS in the CLI and genesis tools, from a seeded RNG in the simulator).

use crate::domain::Tag;
use crate::ids::{PublicKey, Signature};
use ed25519_dalek::Signer;
use thiserror::Error;

/// A signing key. Its Debug form never shows the secret.
#[derive(Clone)]
pub struct SecretKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(public={})", self.public())
    }
}

impl SecretKey {
    /// The key whose 32-byte seed is `seed`.
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        SecretKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed (for writing key files).
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Sign `body` under `tag`.
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

fn verifying_key(key: &PublicKey) -> Result<ed25519_dalek::VerifyingKey, SignatureError> {
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&key.0)
        .map_err(|_| SignatureError::BadKey { key: *key })?;
    // Weak (small-order) keys would let one signature verify for many messages.
    if vk.is_weak() {
        return Err(SignatureError::BadKey { key: *key });
    }
    Ok(vk)
}

impl PublicKey {
    /// Check that this is a usable Ed25519 key (a valid, non-weak point).
    pub fn check(&self) -> Result<(), SignatureError> {
        verifying_key(self).map(|_| ())
    }
}

/// Verify one signature of `body` under `tag` (strict verification: rejects malleable forms).
pub fn verify(
    key: &PublicKey,
    tag: Tag,
    body: &[u8],
    sig: &Signature,
) -> Result<(), SignatureError> {
    let vk = verifying_key(key)?;
    let s = ed25519_dalek::Signature::from_bytes(&sig.0);
    vk.verify_strict(&tag.signing_bytes(body), &s)
        .map_err(|_| SignatureError::Invalid {
            key: *key,
            tag: tag.0,
        })
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

/// Verify many signatures at once. On failure, bisect to report the first bad item.
///
/// Batch verification is about three times as fast per signature as one by one at large
/// batch sizes (see `shared/MEASURED.md`). It accepts a slightly larger set of signatures
/// than strict single verification (cofactored equation), so a batch failure is confirmed
/// and located with single strict checks.
pub fn verify_batch(items: &[BatchItem<'_>]) -> Result<(), SignatureError> {
    verify_batch_cached(items, &mut KeyCache::new(0))
}

/// Decompressed Ed25519 public keys, by their 32-byte encoding.
///
/// Decompressing a key takes a square root in the field; on a node that verifies every
/// transaction it was about a sixth of batch verification's cost, while the signers are
/// few (an agency's members) and sign many transactions each. Only valid, non-weak keys are
/// kept. Bounded: when `max` keys are held, the cache is emptied before the next is added
/// (cheap, and an attacker cycling keys only costs the decompression saved).
#[derive(Debug)]
pub struct KeyCache {
    keys: std::collections::HashMap<PublicKey, ed25519_dalek::VerifyingKey>,
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

    /// The decompressed `key`, from the cache or decompressed (and then kept).
    fn get(&mut self, key: &PublicKey) -> Result<ed25519_dalek::VerifyingKey, SignatureError> {
        if let Some(vk) = self.keys.get(key) {
            return Ok(*vk);
        }
        let vk = verifying_key(key)?;
        if self.max > 0 {
            if self.keys.len() >= self.max {
                self.keys.clear();
            }
            self.keys.insert(*key, vk);
        }
        Ok(vk)
    }
}

/// [`verify_batch`], taking decompressed keys from `cache` (and adding the new ones).
pub fn verify_batch_cached(
    items: &[BatchItem<'_>],
    cache: &mut KeyCache,
) -> Result<(), SignatureError> {
    if items.is_empty() {
        return Ok(());
    }
    let mut keys = Vec::with_capacity(items.len());
    for (index, it) in items.iter().enumerate() {
        keys.push(
            cache
                .get(&it.key)
                .map_err(|_| SignatureError::BatchItem { index, key: it.key })?,
        );
    }
    let msgs: Vec<&[u8]> = items.iter().map(|i| i.message).collect();
    let sigs: Vec<ed25519_dalek::Signature> = items
        .iter()
        .map(|i| ed25519_dalek::Signature::from_bytes(&i.signature.0))
        .collect();
    count_work(items.len());
    if ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok() {
        return Ok(());
    }
    bisect(items, &keys, &sigs, 0)
}

fn bisect(
    items: &[BatchItem<'_>],
    keys: &[ed25519_dalek::VerifyingKey],
    sigs: &[ed25519_dalek::Signature],
    offset: usize,
) -> Result<(), SignatureError> {
    // Small ranges: check one by one (strict), which names the bad item exactly.
    if items.len() <= 4 {
        for (i, it) in items.iter().enumerate() {
            count_work(1);
            if keys[i].verify_strict(it.message, &sigs[i]).is_err() {
                return Err(SignatureError::BatchItem {
                    index: offset + i,
                    key: it.key,
                });
            }
        }
        return Ok(());
    }
    let mid = items.len() / 2;
    for (lo, hi) in [(0, mid), (mid, items.len())] {
        let msgs: Vec<&[u8]> = items[lo..hi].iter().map(|i| i.message).collect();
        count_work(hi - lo);
        if ed25519_dalek::verify_batch(&msgs, &sigs[lo..hi], &keys[lo..hi]).is_err() {
            return bisect(&items[lo..hi], &keys[lo..hi], &sigs[lo..hi], offset + lo);
        }
    }
    // Both halves pass alone: impossible for a sound batch check, but report nothing rather
    // than accept blindly — recheck everything strictly.
    for (i, it) in items.iter().enumerate() {
        count_work(1);
        if keys[i].verify_strict(it.message, &sigs[i]).is_err() {
            return Err(SignatureError::BatchItem {
                index: offset + i,
                key: it.key,
            });
        }
    }
    Ok(())
}

/// Record `items` signature checks (batch items or single checks) in the per-thread work
/// counter that [`testing::work`] reads; nothing without the `testing` feature.
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
