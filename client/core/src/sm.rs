//! National cryptography: SM3 hashing (GB/T 32905) and SM2 signatures (GB/T 32918,
//! GM/T 0003) with the signer identity of GM/T 0009.
//!
//! This is the algorithm layer of the `sm2-sm3` suite (issue 21); nothing in the node uses
//! it yet. The curve arithmetic, SM3 and the SM2 signature scheme come from RustCrypto's
//! `sm2` and `sm3` crates (pinned in the workspace `Cargo.toml`; not independently
//! audited, see `docs/crypto.md`). This module only fixes the encodings, the default
//! distinguishing identifier, the domain separation and the errors.
//!
//! Encodings: a public key is the 65-byte uncompressed SEC1 point `0x04 || x || y`; a
//! signature is the 64-byte `r || s`, each a big-endian integer in `1..n-1`; a secret key
//! is the 32-byte big-endian scalar `d` in `1..n-1`.

use crate::domain::Tag;
use crate::ids::Digest;
use sm2::dsa::signature::{Signer, Verifier};
use sm2::elliptic_curve::sec1::ToEncodedPoint;
use sm3::Digest as _;
use thiserror::Error;
use zeroize::Zeroizing;

/// The default distinguishing identifier of GM/T 0009 (`ENTL_A = 128` bits), used by every
/// signature unless a chain says otherwise; OpenSSL's `distid:` option takes the same text.
pub const DEFAULT_DIST_ID: &str = "1234567812345678";

/// Longest distinguishing identifier, in bytes: GM/T 0003 encodes its length in bits in
/// two bytes (`ENTL`), so 8191 bytes is the most that fits.
pub const DIST_ID_MAX_BYTES: usize = 8191;

/// Length of an encoded public key: `0x04 || x || y`.
pub const PUBLIC_KEY_LEN: usize = 65;
/// Length of an encoded signature: `r || s`.
pub const SIGNATURE_LEN: usize = 64;
/// Length of an encoded secret key: the scalar `d`.
pub const SECRET_KEY_LEN: usize = 32;

/// The order `n` of the SM2 base point (GB/T 32918.5), big-endian. Used only to name the
/// range of `r` and `s` in errors before the crate parses them.
const ORDER_N: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x72, 0x03, 0xDF, 0x6B, 0x21, 0xC6, 0x05, 0x2B, 0x53, 0xBB, 0xF4, 0x09, 0x39, 0xD5, 0x41, 0x23,
];

/// Why an SM2 key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SmError {
    /// A public key of the wrong length.
    #[error(
        "public key: expected a 65-byte uncompressed SEC1 point starting 0x04, found {found} bytes"
    )]
    PublicKeyLength {
        /// Length found.
        found: usize,
    },
    /// A public key that is not in uncompressed form.
    #[error("public key: expected a 65-byte uncompressed SEC1 point starting 0x04, found prefix {found:#04x}")]
    PublicKeyPrefix {
        /// First byte found.
        found: u8,
    },
    /// A public key whose coordinates are not a point of the SM2 curve.
    #[error("public key: expected a point on the SM2 curve (not the identity), found (x, y) off the curve")]
    PublicKeyNotOnCurve,
    /// A secret key of the wrong length.
    #[error("secret key: expected 32 bytes, found {found}")]
    SecretKeyLength {
        /// Length found.
        found: usize,
    },
    /// A secret scalar outside `1..n-1`.
    #[error("secret key: expected a scalar d in 1..n-1")]
    SecretKeyRange,
    /// A signature of the wrong length.
    #[error("signature: expected 64 bytes r||s, found {found} bytes")]
    SignatureLength {
        /// Length found.
        found: usize,
    },
    /// `r` or `s` outside `1..n-1`.
    #[error("signature: expected r and s in 1..n-1, found {which} out of range")]
    SignatureRange {
        /// `"r"` or `"s"`.
        which: &'static str,
    },
    /// A distinguishing identifier too long to encode.
    #[error("distinguishing ID: expected at most {max} bytes, found {found}")]
    DistIdTooLong {
        /// Length found.
        found: usize,
        /// [`DIST_ID_MAX_BYTES`].
        max: usize,
    },
    /// Well-formed inputs, but the SM2 verification equation does not hold for this key,
    /// distinguishing ID and message.
    #[error("signature: expected R = (e + x1) mod n to equal r, it does not (wrong key, ID, message or signature)")]
    BadSignature,
    /// The signing crate refused to sign (it does so only if every nonce it derives fails,
    /// which does not happen with a valid key).
    #[error("signing failed in the sm2 crate")]
    SigningFailed,
    /// A DER signature that is not a strict `ECDSA-Sig-Value`.
    #[error("signature: expected a DER ECDSA-Sig-Value (SEQUENCE of two minimal positive INTEGERs of at most 32 bytes, short-form lengths)")]
    SignatureDer,
}

/// SM3 of `bytes` (GB/T 32905), no domain tag: for standard-tool interoperability only.
pub fn sm3(bytes: &[u8]) -> [u8; 32] {
    sm3::Sm3::digest(bytes).into()
}

/// SM3 of `bytes` under a domain tag: `SM3(tag || 0x00 || bytes)`.
///
/// SM3 has no key-derivation mode as BLAKE3 does ([`Tag::hash`]), so the tag is a prefix
/// ended by a NUL, the same framing as [`Tag::signing_bytes`]: tags contain no NUL, so no
/// two (tag, bytes) pairs give the same hash input, and two tags never collide on one body.
pub fn sm3_tagged(tag: Tag, bytes: &[u8]) -> Digest {
    let mut h = sm3::Sm3::new();
    h.update(tag.0.as_bytes());
    h.update([0u8]);
    h.update(bytes);
    Digest(h.finalize().into())
}

/// A streaming [`sm3_tagged`]: the tag and its NUL are fed first.
pub fn sm3_tagged_hasher(tag: Tag) -> sm3::Sm3 {
    let mut h = sm3::Sm3::new();
    h.update(tag.0.as_bytes());
    h.update([0u8]);
    h
}

/// The digest of a [`sm3_tagged_hasher`].
pub fn sm3_finalize(h: sm3::Sm3) -> Digest {
    Digest(h.finalize().into())
}

/// Feed `bytes` to a [`sm3_tagged_hasher`].
pub fn sm3_update(h: &mut sm3::Sm3, bytes: &[u8]) {
    h.update(bytes);
}

fn check_dist_id(id: &str) -> Result<(), SmError> {
    if id.len() > DIST_ID_MAX_BYTES {
        return Err(SmError::DistIdTooLong {
            found: id.len(),
            max: DIST_ID_MAX_BYTES,
        });
    }
    Ok(())
}

/// An SM2 public key: a validated point on the curve, kept with its 65-byte encoding.
#[derive(Clone, PartialEq, Eq)]
pub struct Sm2PublicKey {
    bytes: [u8; PUBLIC_KEY_LEN],
    point: sm2::PublicKey,
}

impl std::fmt::Debug for Sm2PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sm2PublicKey({})", hex::encode(self.bytes))
    }
}

impl Sm2PublicKey {
    /// Parse `0x04 || x || y`, refusing any other length or prefix and points off the curve
    /// (the identity has no uncompressed encoding, so it is refused by the prefix check).
    pub fn from_slice(bytes: &[u8]) -> Result<Sm2PublicKey, SmError> {
        let arr: [u8; PUBLIC_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| SmError::PublicKeyLength { found: bytes.len() })?;
        Sm2PublicKey::from_bytes(arr)
    }

    /// As [`Sm2PublicKey::from_slice`], from an array.
    pub fn from_bytes(bytes: [u8; PUBLIC_KEY_LEN]) -> Result<Sm2PublicKey, SmError> {
        if bytes[0] != 0x04 {
            return Err(SmError::PublicKeyPrefix { found: bytes[0] });
        }
        let point =
            sm2::PublicKey::from_sec1_bytes(&bytes).map_err(|_| SmError::PublicKeyNotOnCurve)?;
        Ok(Sm2PublicKey { bytes, point })
    }

    /// The 65-byte encoding.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.bytes
    }

    /// The point as the `sm2` crate's type (for encodings such as SubjectPublicKeyInfo).
    pub fn as_point(&self) -> &sm2::PublicKey {
        &self.point
    }
}

/// An SM2 signature: `r || s`, both checked to lie in `1..n-1` on construction.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sm2Signature([u8; SIGNATURE_LEN]);

impl std::fmt::Debug for Sm2Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sm2Signature({})", hex::encode(self.0))
    }
}

fn scalar_in_range(b: &[u8]) -> bool {
    b.iter().any(|&x| x != 0) && b < &ORDER_N[..]
}

impl Sm2Signature {
    /// Parse `r || s`, refusing any other length and `r` or `s` outside `1..n-1`.
    pub fn from_slice(bytes: &[u8]) -> Result<Sm2Signature, SmError> {
        let arr: [u8; SIGNATURE_LEN] = bytes
            .try_into()
            .map_err(|_| SmError::SignatureLength { found: bytes.len() })?;
        Sm2Signature::from_bytes(arr)
    }

    /// As [`Sm2Signature::from_slice`], from an array.
    pub fn from_bytes(bytes: [u8; SIGNATURE_LEN]) -> Result<Sm2Signature, SmError> {
        if !scalar_in_range(&bytes[..32]) {
            return Err(SmError::SignatureRange { which: "r" });
        }
        if !scalar_in_range(&bytes[32..]) {
            return Err(SmError::SignatureRange { which: "s" });
        }
        Ok(Sm2Signature(bytes))
    }

    /// The 64-byte encoding `r || s`.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_LEN] {
        self.0
    }
}

/// An SM2 signing key bound to a distinguishing identifier. Its Debug form never shows the
/// secret.
///
/// Wiping: the input bytes are held in `Zeroizing` and wiped; `sm2` 0.13.3's `SigningKey`
/// offers no `Zeroize`, so on drop this type overwrites it in place with the key `d = 1`
/// (see `Drop`). That is a best effort, not the volatile-write guarantee that
/// ed25519-dalek's `zeroize` feature gives the Ed25519 [`crate::crypto::SecretKey`];
/// docs/crypto.md lists it, and agency keys are meant to live in a certified module.
pub struct Sm2SecretKey {
    inner: sm2::dsa::SigningKey,
    public: Sm2PublicKey,
}

impl std::fmt::Debug for Sm2SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sm2SecretKey(public={:?})", self.public())
    }
}

/// The scalar 1, a valid key whose signing key overwrites a dropped one.
const WIPE_SCALAR: [u8; 32] = {
    let mut b = [0u8; 32];
    b[31] = 1;
    b
};

impl Drop for Sm2SecretKey {
    fn drop(&mut self) {
        if let Ok(wipe) = sm2::dsa::SigningKey::from_slice(DEFAULT_DIST_ID, &WIPE_SCALAR) {
            self.inner = wipe;
            // Keep the overwrite from being removed as a store to memory about to die.
            std::hint::black_box(&self.inner);
        }
    }
}

impl Sm2SecretKey {
    /// The key whose scalar is `bytes` (big-endian, in `1..n-1`), signing under
    /// [`DEFAULT_DIST_ID`]. This copy of the bytes is wiped.
    pub fn from_bytes(bytes: [u8; SECRET_KEY_LEN]) -> Result<Sm2SecretKey, SmError> {
        Sm2SecretKey::from_bytes_with_id(bytes, DEFAULT_DIST_ID)
    }

    /// As [`Sm2SecretKey::from_bytes`], from a slice that must be 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Sm2SecretKey, SmError> {
        let arr: [u8; SECRET_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| SmError::SecretKeyLength { found: bytes.len() })?;
        Sm2SecretKey::from_bytes(arr)
    }

    /// The key whose scalar is `bytes`, signing under the distinguishing identifier `id`
    /// (its `Z_A` enters every signature, so a verifier must use the same `id`).
    pub fn from_bytes_with_id(
        bytes: [u8; SECRET_KEY_LEN],
        id: &str,
    ) -> Result<Sm2SecretKey, SmError> {
        check_dist_id(id)?;
        let bytes = Zeroizing::new(bytes);
        let inner = sm2::dsa::SigningKey::from_slice(id, &bytes[..])
            .map_err(|_| SmError::SecretKeyRange)?;
        let point = sm2::PublicKey::from(inner.verifying_key());
        // Uncompressed: `d` is in 1..n-1, so `d·G` is never the identity and this is the
        // 65-byte `0x04 || x || y`; `from_slice` checks it all the same.
        let public = Sm2PublicKey::from_slice(point.to_encoded_point(false).as_bytes())?;
        Ok(Sm2SecretKey { inner, public })
    }

    /// The public key `d·G`.
    pub fn public(&self) -> Sm2PublicKey {
        self.public.clone()
    }

    /// The 32-byte scalar `d`, big-endian (for writing key files), in a buffer wiped on drop.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SECRET_KEY_LEN]> {
        let mut out = Zeroizing::new([0u8; SECRET_KEY_LEN]);
        out.copy_from_slice(&self.inner.to_bytes());
        out
    }

    /// The distinguishing identifier this key signs under.
    pub fn dist_id(&self) -> &str {
        self.inner.distid()
    }

    /// Sign `msg` per GB/T 32918.2: `e = SM3(Z_A || msg)`, nonce `k` derived
    /// deterministically from `d` and `e` (RFC 6979 with SM3, as the `sm2` crate does; the
    /// standard allows any k in 1..n-1, and a verifier cannot tell).
    pub fn sign(&self, msg: &[u8]) -> Result<Sm2Signature, SmError> {
        let sig: sm2::dsa::Signature = self
            .inner
            .try_sign(msg)
            .map_err(|_| SmError::SigningFailed)?;
        let bytes: [u8; SIGNATURE_LEN] = sig.to_bytes();
        Sm2Signature::from_bytes(bytes)
    }
}

/// DER prefix of an SM2 `SubjectPublicKeyInfo` (RFC 5480 with the SM2 curve of GM/T 0006:
/// algorithm `id-ecPublicKey` 1.2.840.10045.2.1, parameters `sm2` 1.2.156.10197.1.301),
/// followed by a BIT STRING holding the 65-byte uncompressed point: what OpenSSL reads as
/// an SM2 public key.
pub const SPKI_DER_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, 0x03, 0x42, 0x00,
];

/// The DER `SubjectPublicKeyInfo` of the SM2 key `point` (`0x04 || x || y`).
pub fn spki_der(point: &[u8; PUBLIC_KEY_LEN]) -> Vec<u8> {
    let mut out = SPKI_DER_PREFIX.to_vec();
    out.extend_from_slice(point);
    out
}

/// One DER INTEGER of a 32-byte big-endian unsigned value (minimal: leading zeros dropped,
/// a zero byte added when the top bit is set).
fn der_uint(v: &[u8]) -> Vec<u8> {
    let mut body: Vec<u8> = v.iter().copied().skip_while(|&b| b == 0).collect();
    if body.first().is_none_or(|b| b & 0x80 != 0) {
        body.insert(0, 0);
    }
    let mut out = vec![0x02, body.len() as u8];
    out.extend(body);
    out
}

impl Sm2Signature {
    /// The DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` that OpenSSL and
    /// other tools write and read for SM2 (at most 72 bytes, so every length is one byte).
    pub fn to_der(&self) -> Vec<u8> {
        let body = [der_uint(&self.0[..32]), der_uint(&self.0[32..])].concat();
        let mut out = vec![0x30, body.len() as u8];
        out.extend(body);
        out
    }

    /// Read a DER `ECDSA-Sig-Value`, strictly: short-form lengths, minimal positive
    /// INTEGERs of at most 32 bytes of value, nothing after; then `r` and `s` must lie in
    /// `1..n-1` as for [`Sm2Signature::from_bytes`].
    pub fn from_der(der: &[u8]) -> Result<Sm2Signature, SmError> {
        let bad = || SmError::SignatureDer;
        let (&tag, rest) = der.split_first().ok_or_else(bad)?;
        let (&len, mut rest) = rest.split_first().ok_or_else(bad)?;
        if tag != 0x30 || len & 0x80 != 0 || len as usize != rest.len() {
            return Err(bad());
        }
        let mut raw = [0u8; SIGNATURE_LEN];
        for half in raw.chunks_mut(32) {
            let [0x02, n, tail @ ..] = rest else {
                return Err(bad());
            };
            let n = *n as usize;
            if n == 0 || n & 0x80 != 0 || tail.len() < n {
                return Err(bad());
            }
            let (int, after) = tail.split_at(n);
            // Minimal and positive: a leading zero only before a byte with its top bit set.
            let minimal = match int {
                [0, next, ..] => next & 0x80 != 0,
                [first, ..] => first & 0x80 == 0,
                [] => false,
            };
            let value = if int[0] == 0 { &int[1..] } else { int };
            if !minimal || value.len() > 32 {
                return Err(bad());
            }
            half[32 - value.len()..].copy_from_slice(value);
            rest = after;
        }
        if !rest.is_empty() {
            return Err(bad());
        }
        Sm2Signature::from_bytes(raw)
    }
}

/// A public key prepared to verify under [`DEFAULT_DIST_ID`]: the signer's `Z_A` (an SM3
/// over the curve parameters, the ID and the key) is computed once, here, rather than for
/// every signature; the kernel's key cache keeps these (`crypto::KeyCache`).
#[derive(Clone, Debug)]
pub struct Sm2Verifier(sm2::dsa::VerifyingKey);

impl Sm2Verifier {
    /// Prepare `pk` for verification under [`DEFAULT_DIST_ID`].
    pub fn new(pk: &Sm2PublicKey) -> Result<Sm2Verifier, SmError> {
        sm2::dsa::VerifyingKey::new(DEFAULT_DIST_ID, pk.point)
            .map(Sm2Verifier)
            .map_err(|_| SmError::PublicKeyNotOnCurve)
    }

    /// Verify `sig` on `msg` (GB/T 32918.2, steps B1–B7).
    pub fn verify(&self, msg: &[u8], sig: &Sm2Signature) -> Result<(), SmError> {
        let s = sm2::dsa::Signature::from_bytes(&sig.0)
            .map_err(|_| SmError::SignatureRange { which: "r or s" })?;
        self.0.verify(msg, &s).map_err(|_| SmError::BadSignature)
    }
}

/// Verify `sig` on `msg` by `pk` under [`DEFAULT_DIST_ID`].
pub fn verify(pk: &Sm2PublicKey, msg: &[u8], sig: &Sm2Signature) -> Result<(), SmError> {
    verify_with_id(pk, DEFAULT_DIST_ID, msg, sig)
}

/// Verify `sig` on `msg` by `pk` under the distinguishing identifier `id` (GB/T 32918.2,
/// verification steps B1–B7).
pub fn verify_with_id(
    pk: &Sm2PublicKey,
    id: &str,
    msg: &[u8],
    sig: &Sm2Signature,
) -> Result<(), SmError> {
    check_dist_id(id)?;
    let vk = sm2::dsa::VerifyingKey::new(id, pk.point).map_err(|_| SmError::DistIdTooLong {
        found: id.len(),
        max: DIST_ID_MAX_BYTES,
    })?;
    let s = sm2::dsa::Signature::from_bytes(&sig.0)
        .map_err(|_| SmError::SignatureRange { which: "r or s" })?;
    vk.verify(msg, &s).map_err(|_| SmError::BadSignature)
}
