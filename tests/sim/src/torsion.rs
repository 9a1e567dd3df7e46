//! Ed25519 signatures whose R carries a small-order (torsion) component.
//!
//! To be replaced by the kernel's testing helper
//! `chancery_core::crypto::testing::sign_torsioned` (cargo feature `testing` of
//! chancery-core), which has this exact signature; it was not on this branch yet.
//!
//! For a key with secret scalar `a` (from the expanded seed, RFC 8032 §5.1.5) and nonce
//! `r`, the signature is `(R, s)` with `R = r·B + T`, `T` a point of order `order` (1, 2,
//! 4 or 8), `k = H(R || A || M)` and `s = r + k·a`. The cofactored equation
//! `8·s·B = 8·R + 8·k·A` holds; the cofactorless one `s·B = R + k·A` fails unless `T` is
//! the identity, so verifiers that differ on that choice disagree about it.

use chancery_core::crypto::SecretKey;
use chancery_core::domain::Tag;
use chancery_core::ids::Signature;
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest as _, Sha512};

/// Sign `body` under `tag` like [`SecretKey::sign`], but with a torsion point of order
/// `order` (1, 2, 4 or 8; anything else is treated as 8) added to R.
pub fn sign_torsioned(key: &SecretKey, tag: Tag, body: &[u8], order: u8) -> Signature {
    let message = tag.signing_bytes(body);
    let h = Sha512::digest(key.seed());
    let mut a_bytes = [0u8; 32];
    a_bytes.copy_from_slice(&h[..32]);
    a_bytes[0] &= 248;
    a_bytes[31] &= 127;
    a_bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a_bytes);
    let public = key.public().0;
    let r = wide(Sha512::new().chain_update(&h[32..]).chain_update(&message));
    // EIGHT_TORSION[i] has order 8 / gcd(i, 8).
    let t = match order {
        1 => EIGHT_TORSION[0],
        2 => EIGHT_TORSION[4],
        4 => EIGHT_TORSION[2],
        _ => EIGHT_TORSION[1],
    };
    let big_r = (EdwardsPoint::mul_base(&r) + t).compress();
    let k = wide(
        Sha512::new()
            .chain_update(big_r.as_bytes())
            .chain_update(public)
            .chain_update(&message),
    );
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    Signature(sig)
}

/// The SHA-512 output as a scalar mod l.
fn wide(hash: Sha512) -> Scalar {
    let mut bytes = [0u8; 64];
    bytes.copy_from_slice(&hash.finalize());
    Scalar::from_bytes_mod_order_wide(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_core::crypto;
    use chancery_core::domain::VOTE_SIGN;

    #[test]
    fn order_one_is_an_ordinary_signature_and_higher_orders_differ() {
        let k = SecretKey::from_seed([3; 32]);
        let plain = sign_torsioned(&k, VOTE_SIGN, b"body", 1);
        assert_eq!(plain, k.sign(VOTE_SIGN, b"body"));
        assert!(crypto::verify(&k.public(), VOTE_SIGN, b"body", &plain).is_ok());
        for order in [2, 4, 8] {
            let t = sign_torsioned(&k, VOTE_SIGN, b"body", order);
            assert_ne!(t, plain);
            // Strict (cofactorless, single) verification refuses it.
            assert!(crypto::verify(&k.public(), VOTE_SIGN, b"body", &t).is_err());
        }
    }
}
