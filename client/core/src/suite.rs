//! The chain's crypto suite (issue 21): the signature scheme and the hash every signature
//! and every hash of a chain uses, chosen once in its genesis (`genesis.crypto`).
//!
//! A closed enum, matched where a hash is computed: no trait objects on hot paths and no
//! algorithm loaded at run time. Domain separation is the same in both suites (every hash
//! and signature carries a tag from [`crate::domain`]); only the primitive differs:
//!
//! | suite | hash under a tag | signature |
//! |---|---|---|
//! | `ed25519-blake3` (default) | BLAKE3 in key-derivation mode, the tag as context ([`Tag::hash`]) | Ed25519, ZIP-215 ([`crate::crypto`]) |
//! | `sm2-sm3` | `SM3(tag \|\| 0x00 \|\| bytes)` ([`crate::sm::sm3_tagged`]) | SM2 with the GM/T 0009 identity ([`crate::sm`]) |
//!
//! Both suites are wired end to end: the genesis parameter, the chain id (the genesis hash
//! is taken with the chain's suite), every tagged hash ([`Suite::hash`]), and keys and
//! signatures of either suite as closed enums ([`crate::ids::PublicKey`],
//! [`crate::crypto::SecretKey`]; a [`crate::ids::Signature`] is 64 bytes in both) signing
//! and verifying `tag || 0x00 || body`, decoded with the chain's suite as context
//! ([`crate::codec::decode_in`]). Specified in docs/spec/02-hashing-signing.md;
//! docs/crypto.md says why.

use crate::domain::Tag;
use crate::ids::Digest;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// A chain's crypto suite.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum Suite {
    /// Ed25519 signatures, BLAKE3 hashes: every chain made before suites existed.
    #[default]
    #[serde(rename = "ed25519-blake3")]
    Ed25519Blake3,
    /// SM2 signatures (GB/T 32918), SM3 hashes (GB/T 32905).
    #[serde(rename = "sm2-sm3")]
    Sm2Sm3,
}

/// Why a suite name or code was not accepted, or a suite cannot be used here.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SuiteError {
    /// Not a suite name.
    #[error("unknown crypto suite `{found}`: expected one of {expected}")]
    UnknownName {
        /// The text given.
        found: String,
        /// The names accepted.
        expected: &'static str,
    },
    /// Not a suite code (the byte that follows a genesis encoding).
    #[error("unknown crypto suite code {found}: expected {expected}")]
    UnknownCode {
        /// The byte given.
        found: u8,
        /// The codes accepted.
        expected: &'static str,
    },
}

/// The names [`Suite::from_str`] accepts, for error messages and help texts.
pub const SUITE_NAMES: &str = "ed25519-blake3, sm2-sm3";

impl Suite {
    /// Every suite, in code order.
    pub const ALL: [Suite; 2] = [Suite::Ed25519Blake3, Suite::Sm2Sm3];

    /// The name used in genesis files and on command lines.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Ed25519Blake3 => "ed25519-blake3",
            Suite::Sm2Sm3 => "sm2-sm3",
        }
    }

    /// The byte that stands for the suite in the canonical genesis encoding (written only
    /// for a suite other than the default, `genesis.rs`).
    pub fn code(self) -> u8 {
        match self {
            Suite::Ed25519Blake3 => 0,
            Suite::Sm2Sm3 => 1,
        }
    }

    /// The suite of a code byte.
    pub fn from_code(code: u8) -> Result<Suite, SuiteError> {
        Suite::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or(SuiteError::UnknownCode {
                found: code,
                expected: "0 (ed25519-blake3) or 1 (sm2-sm3)",
            })
    }

    /// Whether this is the default suite.
    pub fn is_default(&self) -> bool {
        *self == Suite::default()
    }

    /// Hash `bytes` under `tag` with this suite's hash.
    pub fn hash(self, tag: Tag, bytes: &[u8]) -> Digest {
        match self {
            Suite::Ed25519Blake3 => tag.hash(bytes),
            Suite::Sm2Sm3 => crate::sm::sm3_tagged(tag, bytes),
        }
    }

    /// A streaming hasher of this suite under `tag`: the same digest as [`Suite::hash`]
    /// over everything fed to it.
    pub fn hasher(self, tag: Tag) -> SuiteHasher {
        match self {
            Suite::Ed25519Blake3 => SuiteHasher(HasherInner::Blake3(tag.hasher())),
            Suite::Sm2Sm3 => SuiteHasher(HasherInner::Sm3(crate::sm::sm3_tagged_hasher(tag))),
        }
    }
}

/// A streaming hash of one suite under one tag ([`Suite::hasher`]).
#[derive(Clone)]
pub struct SuiteHasher(HasherInner);

// Not boxed: a hasher lives on the stack for one hash, and the state tree hashes on hot
// paths; an allocation per hash would cost more than the larger enum.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
enum HasherInner {
    Blake3(blake3::Hasher),
    Sm3(sm3::Sm3),
}

impl SuiteHasher {
    /// Feed `bytes`.
    pub fn update(&mut self, bytes: &[u8]) -> &mut Self {
        match &mut self.0 {
            HasherInner::Blake3(h) => {
                h.update(bytes);
            }
            HasherInner::Sm3(h) => crate::sm::sm3_update(h, bytes),
        }
        self
    }

    /// The digest.
    pub fn finalize(self) -> Digest {
        match self.0 {
            HasherInner::Blake3(h) => Digest(*h.finalize().as_bytes()),
            HasherInner::Sm3(h) => crate::sm::sm3_finalize(h),
        }
    }
}

impl fmt::Debug for SuiteHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            HasherInner::Blake3(_) => "SuiteHasher(blake3)",
            HasherInner::Sm3(_) => "SuiteHasher(sm3)",
        })
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Suite {
    type Err = SuiteError;
    fn from_str(s: &str) -> Result<Suite, SuiteError> {
        Suite::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| SuiteError::UnknownName {
                found: s.chars().take(64).collect(),
                expected: SUITE_NAMES,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain;

    #[test]
    fn names_and_codes_round_trip() {
        for s in Suite::ALL {
            assert_eq!(s.name().parse::<Suite>(), Ok(s));
            assert_eq!(Suite::from_code(s.code()), Ok(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.name())
            );
            assert_eq!(
                serde_json::from_str::<Suite>(&format!("\"{}\"", s.name())).unwrap(),
                s
            );
        }
        let e = "sm2".parse::<Suite>().unwrap_err().to_string();
        assert!(e.contains("`sm2`") && e.contains(SUITE_NAMES), "{e}");
        let e = Suite::from_code(7).unwrap_err().to_string();
        assert!(e.contains("code 7") && e.contains("1 (sm2-sm3)"), "{e}");
        assert!(Suite::default().is_default());
        assert!(!Suite::Sm2Sm3.is_default());
    }

    #[test]
    fn each_suite_hashes_with_its_own_primitive_under_the_tag() {
        let b = b"body";
        assert_eq!(
            Suite::Ed25519Blake3.hash(domain::TX_HASH, b),
            domain::TX_HASH.hash(b)
        );
        assert_eq!(
            Suite::Sm2Sm3.hash(domain::TX_HASH, b),
            crate::sm::sm3_tagged(domain::TX_HASH, b)
        );
        assert_ne!(
            Suite::Sm2Sm3.hash(domain::TX_HASH, b),
            Suite::Ed25519Blake3.hash(domain::TX_HASH, b)
        );
        assert_ne!(
            Suite::Sm2Sm3.hash(domain::TX_HASH, b),
            Suite::Sm2Sm3.hash(domain::BLOCK_HASH, b)
        );
    }

    #[test]
    fn each_suite_signs_and_verifies_under_a_tag() {
        use crate::crypto::{self, SecretKey};
        use crate::ids::{PublicKey, Signature};
        let body = b"a transaction body";
        let mut keys = Vec::new();
        for suite in Suite::ALL {
            let sk = SecretKey::from_secret(suite, [9; 32]).unwrap();
            assert_eq!(sk.suite(), suite);
            let pk = sk.public();
            assert_eq!(pk.suite(), suite);
            let sig = sk.sign(domain::TX_SIGN, body);
            assert_eq!(crypto::verify(&pk, domain::TX_SIGN, body, &sig), Ok(()));
            // Another tag, another body, a flipped bit: refused.
            assert!(crypto::verify(&pk, domain::VOTE_SIGN, body, &sig).is_err());
            assert!(crypto::verify(&pk, domain::TX_SIGN, b"another body", &sig).is_err());
            let mut flipped = sig;
            flipped.0[40] ^= 1;
            assert!(crypto::verify(&pk, domain::TX_SIGN, body, &flipped).is_err());
            // Keys read back from their bytes with their suite; the secret round-trips.
            let pk2 = PublicKey::from_slice(suite, pk.as_bytes()).unwrap();
            assert_eq!(pk2, pk);
            assert_eq!(pk.to_hex().parse::<PublicKey>(), Ok(pk));
            let sk2 = SecretKey::from_secret(suite, *sk.secret_bytes()).unwrap();
            assert_eq!(sk2.public(), pk);
            keys.push((pk, sig));
        }
        assert_eq!(keys[0].0.as_bytes().len(), 32);
        assert_eq!(keys[1].0.as_bytes().len(), 65);
        // A key's bytes read with the wrong suite: the error names what was expected.
        let e = PublicKey::from_slice(Suite::Ed25519Blake3, keys[1].0.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("expected 32 bytes") && e.contains("65 bytes"),
            "{e}"
        );
        let e = PublicKey::from_slice(Suite::Sm2Sm3, keys[0].0.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("expected 65 bytes") && e.contains("32 bytes"),
            "{e}"
        );
        // An SM2 key that is not a point on the curve: refused by the key rule, named.
        let mut off = keys[1].0;
        if let PublicKey::Sm2(b) = &mut off {
            b[64] ^= 1;
        }
        let e = crypto::verify(&off, domain::TX_SIGN, body, &keys[1].1).unwrap_err();
        assert_eq!(e, crypto::SignatureError::BadKey { key: off });
        assert!(e.to_string().contains("not a valid sm2-sm3 key"), "{e}");
        // An SM2 signature with r = 0 is refused, not passed to the curve arithmetic.
        let zero_r = Signature([0; 64]);
        assert!(crypto::verify(&keys[1].0, domain::TX_SIGN, body, &zero_r).is_err());
        // An SM2 secret outside 1..n-1 is refused, an Ed25519 seed never is.
        assert!(SecretKey::from_secret(Suite::Sm2Sm3, [0; 32]).is_err());
        assert!(SecretKey::from_secret(Suite::Sm2Sm3, [0xff; 32]).is_err());
        assert!(SecretKey::from_secret(Suite::Ed25519Blake3, [0; 32]).is_ok());
    }
}
