//! The value envelope: `value || checksum`, where the checksum is the first 8 bytes of a
//! keyed BLAKE3 hash of `len(column name) || column name || len(key) || key || value`.
//!
//! The key of the hash is derived from the tag [`CHECKSUM_TAG`], so a checksum cannot be
//! confused with any other Chancery hash. Binding the column and key means a value copied
//! to another key (a misdirected write) fails the check too. Eight bytes are enough to
//! detect accidental corruption (bit rot, torn sectors, bugs), which is all this is for:
//! the ledger's own hashes and signatures protect against deliberate tampering.

use crate::{Column, StoreError};
use std::sync::OnceLock;

/// The BLAKE3 key-derivation context of the value checksum.
pub const CHECKSUM_TAG: &str = "chancery/v1/hash/storage-value-checksum";

/// Bytes of checksum appended to every stored value.
pub const CHECKSUM_BYTES: usize = 8;

fn key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| blake3::derive_key(CHECKSUM_TAG, b""))
}

/// The checksum of `value` stored at (`col`, `key`).
pub fn checksum(col: Column, key: &[u8], value: &[u8]) -> [u8; CHECKSUM_BYTES] {
    let mut h = blake3::Hasher::new_keyed(self::key());
    let name = col.name().as_bytes();
    h.update(&[name.len() as u8]);
    h.update(name);
    h.update(&(key.len() as u64).to_le_bytes());
    h.update(key);
    h.update(value);
    let mut out = [0u8; CHECKSUM_BYTES];
    out.copy_from_slice(&h.finalize().as_bytes()[..CHECKSUM_BYTES]);
    out
}

/// The stored form of `value`: `value || checksum`.
pub fn seal(col: Column, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + CHECKSUM_BYTES);
    out.extend_from_slice(value);
    out.extend_from_slice(&checksum(col, key, value));
    out
}

/// Check a stored value and return the value without its checksum.
pub fn open<'a>(col: Column, key: &[u8], stored: &'a [u8]) -> Result<&'a [u8], StoreError> {
    let Some(split) = stored.len().checked_sub(CHECKSUM_BYTES) else {
        return Err(corrupt(
            col,
            key,
            format!(
                "stored value has {} bytes, fewer than the {CHECKSUM_BYTES}-byte checksum",
                stored.len()
            ),
        ));
    };
    let (value, found) = stored.split_at(split);
    let expected = checksum(col, key, value);
    if found != expected {
        return Err(corrupt(
            col,
            key,
            format!(
                "checksum mismatch: expected {}, found {} ({} value bytes)",
                hex::encode(expected),
                hex::encode(found),
                value.len()
            ),
        ));
    }
    Ok(value)
}

fn corrupt(column: Column, key: &[u8], message: String) -> StoreError {
    StoreError::Corrupt {
        column,
        key_hex: hex::encode(key),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip() {
        let stored = seal(Column::Log, b"k", b"value");
        assert_eq!(stored.len(), 5 + CHECKSUM_BYTES);
        assert_eq!(open(Column::Log, b"k", &stored).expect("valid"), b"value");
        let empty = seal(Column::Meta, b"", b"");
        assert_eq!(open(Column::Meta, b"", &empty).expect("valid"), b"");
    }

    #[test]
    fn every_bit_flip_is_detected() {
        let stored = seal(Column::Blocks, b"key", b"some value bytes");
        for bit in 0..stored.len() * 8 {
            let mut bad = stored.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                matches!(
                    open(Column::Blocks, b"key", &bad),
                    Err(StoreError::Corrupt { .. })
                ),
                "bit {bit} flip undetected"
            );
        }
    }

    #[test]
    fn bound_to_column_and_key() {
        let stored = seal(Column::Blocks, b"key", b"v");
        assert!(open(Column::Certs, b"key", &stored).is_err());
        assert!(open(Column::Blocks, b"kez", &stored).is_err());
        // Moving a byte between key and value must not keep the checksum valid.
        let a = seal(Column::Blocks, b"ab", b"c");
        assert!(open(Column::Blocks, b"a", &a).is_err());
    }

    #[test]
    fn short_value_is_corrupt_not_panic() {
        for n in 0..CHECKSUM_BYTES {
            let err = open(Column::Log, b"\x01\x02", &vec![0u8; n]).expect_err("too short");
            match err {
                StoreError::Corrupt {
                    column, key_hex, ..
                } => {
                    assert_eq!(column, Column::Log);
                    assert_eq!(key_hex, "0102");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
