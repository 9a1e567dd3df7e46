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
//! What is wired so far: the genesis parameter, the chain id (the genesis hash is taken
//! with the chain's suite), and keys and signatures of either suite as closed enums
//! ([`SuitePublicKey`], [`SuiteSignature`], [`SuiteSecretKey`]) signing and verifying
//! `tag || 0x00 || body` in both. Keys, signatures and the ledger's trees are not yet: until they
//! are, a genesis asking for `sm2-sm3` is refused by its validation ([`Suite::supported`])
//! with an error that says so, rather than run or verified with the wrong algorithms
//! (docs/crypto.md).

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
    /// A suite this build cannot run or verify yet.
    #[error("crypto suite {found} is not supported by this build yet: expected {expected} (issue 21: keys, signatures and the ledger's trees are not wired for it)")]
    Unsupported {
        /// The suite asked for.
        found: Suite,
        /// The suites supported.
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

    /// Whether this build can run and verify a chain of this suite end to end.
    pub fn supported(self) -> Result<(), SuiteError> {
        match self {
            Suite::Ed25519Blake3 => Ok(()),
            Suite::Sm2Sm3 => Err(SuiteError::Unsupported {
                found: self,
                expected: "ed25519-blake3",
            }),
        }
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

/// Why a key or signature of a suite was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SuiteKeyError {
    /// A key, signature or secret of one suite used with another.
    #[error("{what} of suite {found} used where suite {expected} is expected")]
    WrongSuite {
        /// What was mixed up ("signature", "key").
        what: &'static str,
        /// The suite expected.
        expected: Suite,
        /// The suite found.
        found: Suite,
    },
    /// Bytes of the wrong length for the suite.
    #[error("{what} of suite {suite}: expected {expected} bytes, found {found}")]
    Length {
        /// What was read.
        what: &'static str,
        /// The suite.
        suite: Suite,
        /// Bytes expected.
        expected: usize,
        /// Bytes found.
        found: usize,
    },
    /// Ed25519 refused it (a bad key or a signature that does not verify).
    #[error(transparent)]
    Ed25519(#[from] crate::crypto::SignatureError),
    /// SM2 refused it.
    #[error(transparent)]
    Sm2(#[from] crate::sm::SmError),
}

/// A public key of either suite: the verifying side of [`SuiteSecretKey`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SuitePublicKey {
    /// A 32-byte Ed25519 key.
    Ed25519(crate::ids::PublicKey),
    /// A 65-byte uncompressed SM2 point.
    Sm2(crate::sm::Sm2PublicKey),
}

/// A signature of either suite (64 bytes in both: Ed25519's `R || S`, SM2's `r || s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuiteSignature {
    /// Ed25519.
    Ed25519(crate::ids::Signature),
    /// SM2.
    Sm2(crate::sm::Sm2Signature),
}

/// A signing key of either suite. Its Debug form shows only the public key (each
/// suite's key type hides its secret). Not `Clone`: the SM2 key's secret is not copied.
#[derive(Debug)]
pub enum SuiteSecretKey {
    /// Ed25519.
    Ed25519(crate::crypto::SecretKey),
    /// SM2 (signing under the default distinguishing ID).
    Sm2(crate::sm::Sm2SecretKey),
}

impl SuitePublicKey {
    /// The suite of the key.
    pub fn suite(&self) -> Suite {
        match self {
            SuitePublicKey::Ed25519(_) => Suite::Ed25519Blake3,
            SuitePublicKey::Sm2(_) => Suite::Sm2Sm3,
        }
    }

    /// The key's bytes: 32 (Ed25519) or 65 (SM2).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            SuitePublicKey::Ed25519(k) => k.0.to_vec(),
            SuitePublicKey::Sm2(k) => k.to_bytes().to_vec(),
        }
    }

    /// Read a key of `suite` from its bytes (the suite says how long it is and how to
    /// check it: a usable Ed25519 point, or an SM2 point on the curve).
    pub fn from_bytes(suite: Suite, bytes: &[u8]) -> Result<SuitePublicKey, SuiteKeyError> {
        match suite {
            Suite::Ed25519Blake3 => {
                let arr: [u8; 32] = bytes.try_into().map_err(|_| SuiteKeyError::Length {
                    what: "public key",
                    suite,
                    expected: 32,
                    found: bytes.len(),
                })?;
                let key = crate::ids::PublicKey(arr);
                key.check()?;
                Ok(SuitePublicKey::Ed25519(key))
            }
            Suite::Sm2Sm3 => Ok(SuitePublicKey::Sm2(crate::sm::Sm2PublicKey::from_slice(
                bytes,
            )?)),
        }
    }

    /// Verify `sig` on `body` under `tag`: the signed message is `tag || 0x00 || body` in
    /// both suites ([`Tag::signing_bytes`]); SM2 hashes it with the signer's `Z_A` in
    /// front, under the default distinguishing ID.
    pub fn verify(&self, tag: Tag, body: &[u8], sig: &SuiteSignature) -> Result<(), SuiteKeyError> {
        match (self, sig) {
            (SuitePublicKey::Ed25519(k), SuiteSignature::Ed25519(s)) => {
                Ok(crate::crypto::verify(k, tag, body, s)?)
            }
            (SuitePublicKey::Sm2(k), SuiteSignature::Sm2(s)) => {
                Ok(crate::sm::verify(k, &tag.signing_bytes(body), s)?)
            }
            _ => Err(SuiteKeyError::WrongSuite {
                what: "signature",
                expected: self.suite(),
                found: sig.suite(),
            }),
        }
    }
}

impl SuiteSignature {
    /// The suite of the signature.
    pub fn suite(&self) -> Suite {
        match self {
            SuiteSignature::Ed25519(_) => Suite::Ed25519Blake3,
            SuiteSignature::Sm2(_) => Suite::Sm2Sm3,
        }
    }

    /// The 64 bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        match self {
            SuiteSignature::Ed25519(s) => s.0,
            SuiteSignature::Sm2(s) => s.to_bytes(),
        }
    }

    /// Read a signature of `suite` (SM2's `r` and `s` must lie in `1..n-1`).
    pub fn from_bytes(suite: Suite, bytes: &[u8]) -> Result<SuiteSignature, SuiteKeyError> {
        let arr: [u8; 64] = bytes.try_into().map_err(|_| SuiteKeyError::Length {
            what: "signature",
            suite,
            expected: 64,
            found: bytes.len(),
        })?;
        Ok(match suite {
            Suite::Ed25519Blake3 => SuiteSignature::Ed25519(crate::ids::Signature(arr)),
            Suite::Sm2Sm3 => SuiteSignature::Sm2(crate::sm::Sm2Signature::from_bytes(arr)?),
        })
    }
}

impl SuiteSecretKey {
    /// The key of `suite` made from 32 secret bytes the caller supplies (the kernel draws
    /// no randomness): an Ed25519 seed, or the SM2 scalar `d`, which must lie in `1..n-1`.
    pub fn from_secret_bytes(
        suite: Suite,
        secret: [u8; 32],
    ) -> Result<SuiteSecretKey, SuiteKeyError> {
        Ok(match suite {
            Suite::Ed25519Blake3 => {
                SuiteSecretKey::Ed25519(crate::crypto::SecretKey::from_seed(secret))
            }
            Suite::Sm2Sm3 => SuiteSecretKey::Sm2(crate::sm::Sm2SecretKey::from_bytes(secret)?),
        })
    }

    /// The suite of the key.
    pub fn suite(&self) -> Suite {
        match self {
            SuiteSecretKey::Ed25519(_) => Suite::Ed25519Blake3,
            SuiteSecretKey::Sm2(_) => Suite::Sm2Sm3,
        }
    }

    /// The public key.
    pub fn public(&self) -> SuitePublicKey {
        match self {
            SuiteSecretKey::Ed25519(k) => SuitePublicKey::Ed25519(k.public()),
            SuiteSecretKey::Sm2(k) => SuitePublicKey::Sm2(k.public()),
        }
    }

    /// Sign `body` under `tag` (the message is `tag || 0x00 || body` in both suites).
    pub fn sign(&self, tag: Tag, body: &[u8]) -> Result<SuiteSignature, SuiteKeyError> {
        Ok(match self {
            SuiteSecretKey::Ed25519(k) => SuiteSignature::Ed25519(k.sign(tag, body)),
            SuiteSecretKey::Sm2(k) => SuiteSignature::Sm2(k.sign(&tag.signing_bytes(body))?),
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
    fn each_suite_signs_and_verifies_under_a_tag_and_refuses_the_other() {
        let body = b"a transaction body";
        let mut keys = Vec::new();
        for suite in Suite::ALL {
            let sk = SuiteSecretKey::from_secret_bytes(suite, [9; 32]).unwrap();
            assert_eq!(sk.suite(), suite);
            let pk = sk.public();
            assert_eq!(pk.suite(), suite);
            let sig = sk.sign(domain::TX_SIGN, body).unwrap();
            assert_eq!(sig.suite(), suite);
            assert_eq!(pk.verify(domain::TX_SIGN, body, &sig), Ok(()));
            // Another tag, another body, a flipped bit: refused.
            assert!(pk.verify(domain::VOTE_SIGN, body, &sig).is_err());
            assert!(pk.verify(domain::TX_SIGN, b"another body", &sig).is_err());
            let mut bytes = sig.to_bytes();
            bytes[40] ^= 1;
            let flipped = SuiteSignature::from_bytes(suite, &bytes);
            assert!(flipped
                .and_then(|s| pk.verify(domain::TX_SIGN, body, &s))
                .is_err());
            // Keys and signatures read back from their bytes with their suite.
            let pk2 = SuitePublicKey::from_bytes(suite, &pk.to_bytes()).unwrap();
            assert_eq!(pk2, pk);
            let sig2 = SuiteSignature::from_bytes(suite, &sig.to_bytes()).unwrap();
            assert_eq!(pk2.verify(domain::TX_SIGN, body, &sig2), Ok(()));
            keys.push((pk, sig));
        }
        assert_eq!(keys[0].0.to_bytes().len(), 32);
        assert_eq!(keys[1].0.to_bytes().len(), 65);
        // A signature of one suite under a key of the other: named as such.
        let e = keys[0]
            .0
            .verify(domain::TX_SIGN, body, &keys[1].1)
            .unwrap_err();
        assert_eq!(
            e,
            SuiteKeyError::WrongSuite {
                what: "signature",
                expected: Suite::Ed25519Blake3,
                found: Suite::Sm2Sm3
            }
        );
        assert!(e
            .to_string()
            .contains("suite sm2-sm3 used where suite ed25519-blake3"));
        // A key's bytes read with the wrong suite: the length names what was expected.
        let e = SuitePublicKey::from_bytes(Suite::Ed25519Blake3, &keys[1].0.to_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected 32 bytes, found 65"), "{e}");
        let e = SuitePublicKey::from_bytes(Suite::Sm2Sm3, &keys[0].0.to_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("65-byte"), "{e}");
        // An SM2 secret outside 1..n-1 is refused, an Ed25519 seed never is.
        assert!(SuiteSecretKey::from_secret_bytes(Suite::Sm2Sm3, [0; 32]).is_err());
        assert!(SuiteSecretKey::from_secret_bytes(Suite::Sm2Sm3, [0xff; 32]).is_err());
        assert!(SuiteSecretKey::from_secret_bytes(Suite::Ed25519Blake3, [0; 32]).is_ok());
    }

    #[test]
    fn only_the_default_suite_is_supported_until_it_is_wired() {
        assert_eq!(Suite::Ed25519Blake3.supported(), Ok(()));
        let e = Suite::Sm2Sm3.supported().unwrap_err().to_string();
        assert!(
            e.contains("sm2-sm3") && e.contains("expected ed25519-blake3"),
            "{e}"
        );
    }
}
