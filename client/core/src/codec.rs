//! Canonical encoding: bincode 2 at one fixed configuration, behind a version byte.
//!
//! Layout: `VERSION || bincode(value)` with little-endian fixed-width integers. Fixed-width
//! integers make every integer canonical; enums, options and booleans have one valid tag
//! each; strings must be UTF-8. Maps are never used in encoded types (their order would not
//! be canonical). [`decode`] additionally re-encodes what it decoded and requires the bytes
//! to be identical, so `encode(decode(b)?) == b` holds for every accepted `b` by
//! construction, and then runs the type's own [`Canonical::validate`] (field limits,
//! formats, sortedness).
//!
//! Normative specification: docs/spec/01-conventions.md (sections 1.1 to 1.9).

use crate::limits::{
    DECODE_MEDIUM_BYTES_MAX, DECODE_RESERVE_BYTES_MAX, DECODE_RESERVE_PER_BYTE_MAX,
    DECODE_SMALL_BYTES_MAX,
};
use bincode::{Decode, Encode};
use thiserror::Error;

/// The current encoding version, the first byte of every canonical encoding.
pub const VERSION: u8 = 1;

type Config = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
    bincode::config::NoLimit,
>;

fn config() -> Config {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
}

/// Why a value does not satisfy its type's rules.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("field `{field}`: expected {expected}, found {found}")]
pub struct ValidationError {
    /// Path of the offending field, e.g. `record.award_procurement.suppliers[2].name`.
    pub field: String,
    /// What the field must be.
    pub expected: String,
    /// What it was.
    pub found: String,
}

impl ValidationError {
    /// Build an error for `field`.
    pub fn new(
        field: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        ValidationError {
            field: field.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// Prefix the field path with `outer` (for nested values).
    pub fn within(mut self, outer: &str) -> Self {
        self.field = format!("{outer}.{}", self.field);
        self
    }
}

/// Why bytes were not accepted as a canonical encoding.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    /// The input was empty.
    #[error("empty input: expected a version byte")]
    Empty,
    /// The input is longer than the type allows.
    #[error("input of {found} bytes exceeds the limit of {max} bytes for {ty}")]
    TooLarge {
        /// Type being decoded.
        ty: &'static str,
        /// Its limit.
        max: usize,
        /// Input length.
        found: usize,
    },
    /// The version byte is not one this code knows.
    #[error("unknown encoding version {found}: expected {expected}")]
    UnknownVersion {
        /// The version we speak.
        expected: u8,
        /// The version found.
        found: u8,
    },
    /// bincode rejected the bytes.
    #[error("malformed {ty}: {reason}")]
    Malformed {
        /// Type being decoded.
        ty: &'static str,
        /// bincode's explanation.
        reason: String,
    },
    /// Bytes were left after the value.
    #[error("{found} trailing bytes after {ty}: expected none")]
    TrailingBytes {
        /// Type being decoded.
        ty: &'static str,
        /// How many bytes were left.
        found: usize,
    },
    /// The bytes decode, but are not the canonical encoding of what they decode to.
    #[error("non-canonical encoding of {ty}")]
    NonCanonical {
        /// Type being decoded.
        ty: &'static str,
    },
    /// The value decoded but breaks its type's rules.
    #[error("invalid {ty}: {source}")]
    Invalid {
        /// Type being decoded.
        ty: &'static str,
        /// The broken rule.
        source: ValidationError,
    },
}

/// A type with a canonical encoding.
pub trait Canonical: Encode + Decode<crate::suite::Suite> + Sized {
    /// Name used in errors.
    const NAME: &'static str;
    /// Largest accepted encoding, in bytes (version byte included).
    const BYTES_MAX: usize;
    /// Check the rules that the type system cannot express (limits, formats, ordering).
    fn validate(&self) -> Result<(), ValidationError>;

    /// [`Canonical::validate`] in a chain of `suite`, for the rules that involve a hash
    /// ([`crate::block::Block`]'s `txs_hash`); [`decode_in`] calls this one.
    fn validate_in(&self, suite: crate::suite::Suite) -> Result<(), ValidationError> {
        let _ = suite;
        self.validate()
    }
}

/// Encode `value` canonically: version byte, then bincode body.
pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    let mut out = vec![VERSION];
    // Encoding into a Vec cannot fail for our types: they contain no maps or foreign
    // Encode impls that can return errors.
    match bincode::encode_into_std_write(value, &mut out, config()) {
        Ok(_) => out,
        Err(e) => unreachable_encode(e),
    }
}

#[cold]
fn unreachable_encode(e: bincode::error::EncodeError) -> Vec<u8> {
    // Only reachable if a type with a fallible Encode impl is added; fail loudly in debug.
    debug_assert!(false, "encoding into a Vec failed: {e}");
    Vec::new()
}

/// Decode canonical bytes of a chain of the default suite (`ed25519-blake3`) into a
/// validated `T`: [`decode_in`] with [`Suite::default`](crate::suite::Suite). Code that
/// serves chains of any suite calls [`decode_in`] with the chain's suite.
pub fn decode<T: Canonical>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_in(crate::suite::Suite::default(), bytes)
}

/// Decode canonical bytes of a chain of `suite` into a validated `T`. The suite is the
/// decoding context: it says how long a [`crate::ids::PublicKey`] is (32 bytes in
/// `ed25519-blake3`, 65 in `sm2-sm3`); nothing else in an encoding depends on it.
pub fn decode_in<T: Canonical>(suite: crate::suite::Suite, bytes: &[u8]) -> Result<T, CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if bytes.len() > T::BYTES_MAX {
        return Err(CodecError::TooLarge {
            ty: T::NAME,
            max: T::BYTES_MAX,
            found: bytes.len(),
        });
    }
    if version != VERSION {
        return Err(CodecError::UnknownVersion {
            expected: VERSION,
            found: version,
        });
    }
    // bincode reserves what a length prefix claims (elements times their in-memory size)
    // before reading the elements, up to its limit. In memory our values take at most a
    // few times their encoded size, so a limit of DECODE_RESERVE_PER_BYTE_MAX times the
    // input's size class never refuses an honest input, yet keeps a tiny input with a lying
    // prefix from making us reserve megabytes.
    let decoded: Result<(T, usize), bincode::error::DecodeError> =
        if body.len() <= DECODE_SMALL_BYTES_MAX {
            bincode::decode_from_slice_with_context(
                body,
                config().with_limit::<{ DECODE_RESERVE_PER_BYTE_MAX * DECODE_SMALL_BYTES_MAX }>(),
                suite,
            )
        } else if body.len() <= DECODE_MEDIUM_BYTES_MAX {
            bincode::decode_from_slice_with_context(
                body,
                config().with_limit::<{ DECODE_RESERVE_PER_BYTE_MAX * DECODE_MEDIUM_BYTES_MAX }>(),
                suite,
            )
        } else {
            bincode::decode_from_slice_with_context(
                body,
                config().with_limit::<DECODE_RESERVE_BYTES_MAX>(),
                suite,
            )
        };
    let (value, used) = decoded.map_err(|e| CodecError::Malformed {
        ty: T::NAME,
        reason: e.to_string(),
    })?;
    if used != body.len() {
        return Err(CodecError::TrailingBytes {
            ty: T::NAME,
            found: body.len() - used,
        });
    }
    if encode(&value) != bytes {
        return Err(CodecError::NonCanonical { ty: T::NAME });
    }
    value
        .validate_in(suite)
        .map_err(|source| CodecError::Invalid {
            ty: T::NAME,
            source,
        })?;
    Ok(value)
}

/// Field checks shared by every record type.
pub mod check {
    use super::ValidationError;

    /// A string no longer than `max` bytes, and without control characters.
    pub fn text(field: &str, s: &str, max: usize) -> Result<(), ValidationError> {
        if s.len() > max {
            return Err(ValidationError::new(
                field,
                format!("at most {max} bytes"),
                format!("{} bytes", s.len()),
            ));
        }
        if let Some(c) = s.chars().find(|c| c.is_control() && *c != '\n') {
            return Err(ValidationError::new(
                field,
                "no control characters",
                format!("{:?}", c),
            ));
        }
        Ok(())
    }

    /// A non-empty string no longer than `max` bytes.
    pub fn nonempty(field: &str, s: &str, max: usize) -> Result<(), ValidationError> {
        if s.is_empty() {
            return Err(ValidationError::new(field, "a non-empty string", "\"\""));
        }
        text(field, s, max)
    }

    /// An identifier: 1..=max bytes of `A-Z a-z 0-9 - _ . : /`.
    pub fn id(field: &str, s: &str, max: usize) -> Result<(), ValidationError> {
        nonempty(field, s, max)?;
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/')))
        {
            return Err(ValidationError::new(
                field,
                "an identifier of ASCII letters, digits and - _ . : /",
                format!("character {c:?} in {s:?}"),
            ));
        }
        Ok(())
    }

    /// A list of at most `max` entries.
    pub fn list<T>(field: &str, v: &[T], max: usize) -> Result<(), ValidationError> {
        if v.len() > max {
            return Err(ValidationError::new(
                field,
                format!("at most {max} entries"),
                format!("{} entries", v.len()),
            ));
        }
        Ok(())
    }

    /// A list that is strictly increasing (sorted, no duplicates), so its encoding is unique.
    pub fn strictly_sorted<T: Ord + std::fmt::Debug>(
        field: &str,
        v: &[T],
    ) -> Result<(), ValidationError> {
        for w in v.windows(2) {
            if w[0] >= w[1] {
                return Err(ValidationError::new(
                    field,
                    "entries sorted in increasing order without duplicates",
                    format!("{:?} before {:?}", w[0], w[1]),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests decode in the default suite
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Encode, Decode)]
    #[bincode(decode_context = "crate::suite::Suite")]
    struct Texts(Vec<String>);

    impl Canonical for Texts {
        const NAME: &'static str = "texts";
        const BYTES_MAX: usize = crate::limits::ENCODING_BYTES_MAX;
        fn validate(&self) -> Result<(), ValidationError> {
            Ok(())
        }
    }

    #[test]
    fn lying_length_prefix_is_refused_before_allocating() {
        // 1 version byte + a u64 length claiming 50 million strings + 8 bytes of "data".
        let mut b = vec![VERSION];
        b.extend_from_slice(&50_000_000u64.to_le_bytes());
        b.extend_from_slice(&[0u8; 8]);
        match decode::<Texts>(&b) {
            Err(CodecError::Malformed { reason, .. }) => {
                assert!(reason.contains("Limit"), "unexpected reason {reason}")
            }
            other => panic!("expected a limit error, got {other:?}"),
        }
    }

    #[test]
    fn honest_large_lists_of_small_values_decode() {
        // Many short strings: in memory (24 bytes each) far larger than encoded (9 bytes).
        let v = Texts((0..3000).map(|i| (i % 10).to_string()).collect());
        let b = encode(&v);
        assert!(b.len() > DECODE_SMALL_BYTES_MAX && b.len() <= DECODE_MEDIUM_BYTES_MAX);
        assert_eq!(decode::<Texts>(&b).unwrap(), v);
    }
}
