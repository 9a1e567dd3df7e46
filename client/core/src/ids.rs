//! Identifiers and small value types: newtypes, never bare integers or byte arrays.

use crate::codec::{check, ValidationError};
use crate::suite::Suite;
use bincode::{Decode, Encode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Error parsing a value from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse {what}: expected {expected}, found {found:?}")]
pub struct ParseError {
    /// What was being parsed.
    pub what: &'static str,
    /// What the text must look like.
    pub expected: &'static str,
    /// The offending text (truncated).
    pub found: String,
}

impl ParseError {
    fn new(what: &'static str, expected: &'static str, found: &str) -> Self {
        let found: String = found.chars().take(80).collect();
        ParseError {
            what,
            expected,
            found,
        }
    }
}

macro_rules! hex_bytes {
    ($(#[$m:meta])* $name:ident, $n:expr, $what:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
        pub struct $name(pub [u8; $n]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $n;
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $n] {
                &self.0
            }
            /// Lower-case hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                let expected = concat!(stringify!($n), " bytes as ", stringify!($n), "*2 lower-case hex digits");
                if s.len() != 2 * $n || s.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(ParseError::new($what, expected, s));
                }
                let mut out = [0u8; $n];
                hex::decode_to_slice(s, &mut out).map_err(|_| ParseError::new($what, expected, s))?;
                Ok($name(out))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_bytes!(
    /// A 32-byte BLAKE3 digest.
    Digest, 32, "digest"
);
hex_bytes!(
    /// A node's network identity key: always Ed25519 (32 bytes, compressed Edwards point),
    /// in every crypto suite, because libp2p's Noise handshake authenticates peers with it
    /// (docs/crypto.md, "The transport").
    NetworkKey, 32, "network key"
);

impl NetworkKey {
    /// The network key with the same bytes as an Ed25519 [`PublicKey`] (`None` for an SM2
    /// key: network keys are Ed25519 in every suite).
    pub fn of_ed25519(key: &PublicKey) -> Option<NetworkKey> {
        match key {
            PublicKey::Ed25519(b) => Some(NetworkKey(*b)),
            PublicKey::Sm2(_) => None,
        }
    }

    /// The same bytes as an Ed25519 [`PublicKey`] (to check a signature by the key).
    pub fn as_public_key(&self) -> PublicKey {
        PublicKey::Ed25519(self.0)
    }
}

/// A signer's public key (a member's, an agency admin's, a validator's consensus key), of
/// the chain's crypto suite ([`Suite`]).
///
/// Its canonical encoding is the key's bytes and nothing else: 32 for Ed25519 (so chains of
/// the default suite encode exactly as before suites existed), 65 for SM2 (`0x04 || x || y`).
/// Which one a decoder reads is the chain's suite, the decoding context
/// ([`crate::codec::decode_in`]). The bytes are not checked to be a usable key when read;
/// [`PublicKey::check`] and every verification do that. In JSON it is hex, 64 or 130 digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PublicKey {
    /// An Ed25519 key: a compressed Edwards point.
    Ed25519([u8; 32]),
    /// An SM2 key: an uncompressed SEC1 point.
    Sm2([u8; crate::sm::PUBLIC_KEY_LEN]),
}

impl PublicKey {
    /// The suite the key belongs to.
    pub fn suite(&self) -> Suite {
        match self {
            PublicKey::Ed25519(_) => Suite::Ed25519Blake3,
            PublicKey::Sm2(_) => Suite::Sm2Sm3,
        }
    }

    /// The bytes of the key (32 or 65).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            PublicKey::Ed25519(b) => b,
            PublicKey::Sm2(b) => b,
        }
    }

    /// The length of a key of `suite`, in bytes.
    pub fn len_of(suite: Suite) -> usize {
        match suite {
            Suite::Ed25519Blake3 => 32,
            Suite::Sm2Sm3 => crate::sm::PUBLIC_KEY_LEN,
        }
    }

    /// A key of `suite` from its bytes, which must have that suite's length (not checked to
    /// be a usable key: see [`PublicKey::check`]).
    pub fn from_slice(suite: Suite, bytes: &[u8]) -> Result<PublicKey, ParseError> {
        let bad = || {
            ParseError::new(
                "public key",
                match suite {
                    Suite::Ed25519Blake3 => "32 bytes (an ed25519-blake3 key)",
                    Suite::Sm2Sm3 => "65 bytes (an sm2-sm3 key)",
                },
                &format!("{} bytes", bytes.len()),
            )
        };
        Ok(match suite {
            Suite::Ed25519Blake3 => PublicKey::Ed25519(bytes.try_into().map_err(|_| bad())?),
            Suite::Sm2Sm3 => PublicKey::Sm2(bytes.try_into().map_err(|_| bad())?),
        })
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }

    /// A key of `suite` whose bytes are all `byte` (a placeholder for tests and examples;
    /// not a usable key).
    pub fn filled(suite: Suite, byte: u8) -> PublicKey {
        match suite {
            Suite::Ed25519Blake3 => PublicKey::Ed25519([byte; 32]),
            Suite::Sm2Sm3 => PublicKey::Sm2([byte; crate::sm::PUBLIC_KEY_LEN]),
        }
    }
}

impl FromStr for PublicKey {
    type Err = ParseError;
    /// 64 hex digits (an Ed25519 key) or 130 (an SM2 key), lower case.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let expected =
            "64 lower-case hex digits (an ed25519-blake3 key) or 130 (an sm2-sm3 key, 04...)";
        let bad = || ParseError::new("public key", expected, s);
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad());
        }
        let suite = match s.len() {
            64 => Suite::Ed25519Blake3,
            130 => Suite::Sm2Sm3,
            _ => return Err(bad()),
        };
        let bytes = hex::decode(s).map_err(|_| bad())?;
        PublicKey::from_slice(suite, &bytes).map_err(|_| bad())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Encode for PublicKey {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        encoder: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        // Fixed-size arrays are written as their bytes, without a length.
        match self {
            PublicKey::Ed25519(b) => b.encode(encoder),
            PublicKey::Sm2(b) => b.encode(encoder),
        }
    }
}

impl Decode<Suite> for PublicKey {
    fn decode<D: bincode::de::Decoder<Context = Suite>>(
        decoder: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        Ok(match *decoder.context() {
            Suite::Ed25519Blake3 => PublicKey::Ed25519(Decode::decode(decoder)?),
            Suite::Sm2Sm3 => PublicKey::Sm2(Decode::decode(decoder)?),
        })
    }
}

bincode::impl_borrow_decode_with_context!(PublicKey, Suite);
hex_bytes!(
    /// A signature (64 bytes in both suites: Ed25519's `R || S`, SM2's `r || s`, each
    /// big-endian), verified under its signer's [`PublicKey`].
    Signature, 64, "signature"
);

impl Digest {
    /// The all-zero digest, used only as "no parent" for the genesis block.
    pub const ZERO: Digest = Digest([0u8; 32]);
}

/// The hash of a whole signed transaction; a transaction's id.
pub type TxHash = Digest;

/// The chain id: the hash of the canonical genesis document.
pub type ChainId = Digest;

macro_rules! number {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(
            Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash,
            Encode, Decode, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The next value; saturates rather than wrapping.
            pub fn next(self) -> Self {
                $name(self.0.saturating_add(1))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

number!(
    /// Block height: the genesis state is height 0, the first block is height 1.
    Height
);
number!(
    /// Consensus view (round) number within an epoch.
    View
);
number!(
    /// Epoch: the span in which one validator set is in force.
    Epoch
);
number!(
    /// Per-signer transaction sequence number; a signer's first transaction has sequence 0.
    Seq
);
number!(
    /// Consensus-agreed time: milliseconds since 1970-01-01T00:00:00Z (UTC).
    TimestampMs
);

/// An agency identifier, e.g. `mof` or `gov.cn/ndrc`: 1..=64 bytes of `A-Z a-z 0-9 - _ . : /`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgencyId(pub String);

impl AgencyId {
    /// Check the format.
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        check::id(field, &self.0, crate::limits::ID_BYTES_MAX)
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AgencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgencyId({})", self.0)
    }
}

impl fmt::Display for AgencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AgencyId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let a = AgencyId(s.to_string());
        a.validate("agency").map_err(|_| {
            ParseError::new("agency id", "1..=64 bytes of A-Z a-z 0-9 - _ . : /", s)
        })?;
        Ok(a)
    }
}

/// An ISO 4217 currency code: three upper-case ASCII letters, e.g. `CNY`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct Currency(pub [u8; 3]);

impl Currency {
    /// Chinese yuan renminbi.
    pub const CNY: Currency = Currency(*b"CNY");
    /// Check the format.
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        if self.0.iter().all(u8::is_ascii_uppercase) {
            Ok(())
        } else {
            Err(ValidationError::new(
                field,
                "an ISO 4217 code of three upper-case letters",
                format!("{:?}", self.0),
            ))
        }
    }
    /// The code as text (lossy only for invalid codes, which never pass validation).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Currency {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let b = s.as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_uppercase) {
            Ok(Currency([b[0], b[1], b[2]]))
        } else {
            Err(ParseError::new(
                "currency",
                "an ISO 4217 code of three upper-case letters",
                s,
            ))
        }
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A money amount in integer minor units (fen for CNY) with its currency. Never a float.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
pub struct Amount {
    /// Amount in minor units (1/100 of a yuan for CNY).
    pub minor: u64,
    /// ISO 4217 currency.
    pub currency: Currency,
}

impl Amount {
    /// Check the currency code.
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        self.currency.validate(&format!("{field}.currency"))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:02} {}",
            self.minor / 100,
            self.minor % 100,
            self.currency
        )
    }
}

/// A calendar date (proleptic Gregorian), as `YYYY-MM-DD` in text forms.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct Date {
    /// Year, 1900..=9999.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of month, 1..=31 and valid for the month.
    pub day: u8,
}

impl Date {
    /// A date, if valid.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let d = Date { year, month, day };
        d.is_valid().then_some(d)
    }

    fn is_valid(&self) -> bool {
        let leap = (self.year % 4 == 0 && self.year % 100 != 0) || self.year % 400 == 0;
        let days = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return false,
        };
        (1900..=9999).contains(&self.year) && self.day >= 1 && self.day <= days
    }

    /// Check the date is a real one.
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        if self.is_valid() {
            Ok(())
        } else {
            Err(ValidationError::new(
                field,
                "a valid date between 1900-01-01 and 9999-12-31",
                format!("{}-{}-{}", self.year, self.month, self.day),
            ))
        }
    }

    /// Days since 1970-01-01 (negative before), by the civil-from-days algorithm.
    pub fn days_since_epoch(&self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Midnight UTC at the start of this date, in milliseconds since the epoch (0 if before).
    pub fn start_ms(&self) -> TimestampMs {
        TimestampMs(u64::try_from(self.days_since_epoch() * 86_400_000).unwrap_or(0))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Date {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = || ParseError::new("date", "YYYY-MM-DD", s);
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u16, ParseError> {
            let t = &s[r];
            if !t.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err());
            }
            t.parse().map_err(|_| err())
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        Date::new(y, m as u8, d as u8).ok_or_else(err)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_hex_round_trip_and_rejects_upper_case() {
        let d = Digest([0xab; 32]);
        assert_eq!(d.to_hex().parse::<Digest>().unwrap(), d);
        assert!(d.to_hex().to_uppercase().parse::<Digest>().is_err());
        assert!("abcd".parse::<Digest>().is_err());
    }

    #[test]
    fn dates() {
        assert!("2024-02-29".parse::<Date>().is_ok());
        assert!("2023-02-29".parse::<Date>().is_err());
        assert!("2023-13-01".parse::<Date>().is_err());
        assert!("2023-1-01".parse::<Date>().is_err());
        assert_eq!("1970-01-01".parse::<Date>().unwrap().days_since_epoch(), 0);
        assert_eq!(
            "2000-03-01".parse::<Date>().unwrap().days_since_epoch(),
            11017
        );
        assert_eq!(
            "2026-11-27".parse::<Date>().unwrap().start_ms(),
            TimestampMs(1_795_737_600_000)
        );
    }

    #[test]
    fn currency_and_agency() {
        assert_eq!("CNY".parse::<Currency>().unwrap(), Currency::CNY);
        assert!("cny".parse::<Currency>().is_err());
        assert!("mof".parse::<AgencyId>().is_ok());
        assert!("m o f".parse::<AgencyId>().is_err());
        assert!("".parse::<AgencyId>().is_err());
    }
}
