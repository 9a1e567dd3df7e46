//! Property tests of the canonical encoding (`chancery_core::codec`), for every type that
//! implements `Canonical` and for `Record` and `VoteBody` (through test-local wrappers):
//!
//! - round trip: `decode(encode(v)) == v`;
//! - canonicity: mutated encodings (flipped, truncated, extended, re-versioned, length
//!   prefixes bumped, bytes inserted or removed) either fail with the right `CodecError`
//!   variant or decode to a value that re-encodes to exactly the mutated bytes;
//! - arbitrary bytes never panic the decoder;
//! - validation: each rule of `Record::validate` rejects a value that breaks it, naming the
//!   field;
//! - transactions: signatures survive the round trip, and no single-byte change yields a
//!   different transaction that still verifies;
//! - JSON (serde) round trips.
//!
//! Case counts are tuned so the whole file runs in a few seconds in a debug build.
// Tests decode in the default suite.
#![allow(clippy::disallowed_methods)]

mod strategies;

use chancery_core::block::{Block, BlockHeader, LogEntry, Outcome, ReasonCode};
use chancery_core::cert::{Certificate, VoteKind};
use chancery_core::codec::{decode, encode, Canonical, CodecError, VERSION};
use chancery_core::genesis::{ChainParams, Genesis};
use chancery_core::governance::{Change, Threshold};
use chancery_core::limits::*;
use chancery_core::record::*;
use chancery_core::tx::{self, Transaction, TxBody, TxError};
use chancery_core::validator::ValidatorSet;
use chancery_core::{
    AgencyId, Amount, Currency, Date, Digest, PublicKey, Seq, Signature, TimestampMs,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use std::fmt::Debug;
use strategies::*;

fn cfg(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Failures print the minimal input; do not write regression files into the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
}

// ------------------------------------------------------------------ round trip

fn round_trip<T: Canonical + Debug + PartialEq>(v: &T) -> Result<Vec<u8>, TestCaseError> {
    let bytes = encode(v);
    prop_assert_eq!(bytes[0], VERSION);
    prop_assert!(
        bytes.len() <= T::BYTES_MAX,
        "generated {} of {} bytes exceeds BYTES_MAX {}",
        T::NAME,
        bytes.len(),
        T::BYTES_MAX
    );
    prop_assert_eq!(v.validate(), Ok(()));
    let back: T = decode(&bytes).map_err(|e| TestCaseError::fail(format!("{e}")))?;
    prop_assert_eq!(&back, v);
    prop_assert_eq!(encode(&back), bytes.clone());
    Ok(bytes)
}

// ------------------------------------------------------------------ mutations

/// A change to a valid encoding. Positions are taken modulo the length they index.
#[derive(Clone, Debug)]
enum Mutation {
    /// XOR one byte (position 0 is the version byte) with a non-zero mask.
    Flip { at: usize, mask: u8 },
    /// Keep only a strict prefix.
    Truncate { to: usize },
    /// Append one byte.
    Append { byte: u8 },
    /// Insert a byte after the version byte.
    Insert { at: usize, byte: u8 },
    /// Remove a byte after the version byte.
    Remove { at: usize },
    /// Replace the version byte with another value.
    Version { version: u8 },
    /// Replace an 8-byte little-endian word that could be a length prefix (its value is at
    /// most the number of bytes after it) with a nearby or a huge value.
    BumpLength { which: usize, to: LengthChange },
    /// Overwrite a run of bytes after the version byte with random ones.
    Scribble { at: usize, bytes: Vec<u8> },
}

#[derive(Clone, Copy, Debug)]
enum LengthChange {
    Plus(u64),
    Minus(u64),
    To(u64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let length_change = prop_oneof![
        (1..=3u64).prop_map(LengthChange::Plus),
        (1..=3u64).prop_map(LengthChange::Minus),
        prop::sample::select(vec![
            u64::MAX,
            u64::MAX / 2,
            1 << 32,
            1 << 40,
            ENCODING_BYTES_MAX as u64,
            ENCODING_BYTES_MAX as u64 + 1,
            TX_BYTES_MAX as u64,
        ])
        .prop_map(LengthChange::To),
    ];
    prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        1 => any::<usize>().prop_map(|to| Mutation::Truncate { to }),
        1 => any::<u8>().prop_map(|byte| Mutation::Append { byte }),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        1 => any::<usize>().prop_map(|at| Mutation::Remove { at }),
        1 => any::<u8>()
            .prop_filter("another version", |v| *v != VERSION)
            .prop_map(|version| Mutation::Version { version }),
        3 => (any::<usize>(), length_change).prop_map(|(which, to)| Mutation::BumpLength { which, to }),
        1 => (any::<usize>(), vec(any::<u8>(), 1..=16))
            .prop_map(|(at, bytes)| Mutation::Scribble { at, bytes }),
    ]
}

/// Offsets of the 8-byte words after the version byte that could be length prefixes.
fn length_candidates(b: &[u8]) -> Vec<usize> {
    (1..b.len().saturating_sub(7))
        .filter(|&p| {
            let w = u64::from_le_bytes(b[p..p + 8].try_into().expect("8 bytes"));
            w <= (b.len() - p - 8) as u64
        })
        .collect()
}

impl Mutation {
    /// The mutated bytes, or `None` if the mutation does not apply (or changes nothing).
    fn apply(&self, b: &[u8]) -> Option<Vec<u8>> {
        if b.is_empty() {
            return None;
        }
        let mut m = b.to_vec();
        match self {
            Mutation::Flip { at, mask } => m[*at % b.len()] ^= mask,
            Mutation::Truncate { to } => m.truncate(*to % b.len()),
            Mutation::Append { byte } => m.push(*byte),
            Mutation::Insert { at, byte } => m.insert(1 + *at % b.len(), *byte),
            Mutation::Remove { at } => {
                if b.len() < 2 {
                    return None;
                }
                m.remove(1 + *at % (b.len() - 1));
            }
            Mutation::Version { version } => m[0] = *version,
            Mutation::BumpLength { which, to } => {
                let c = length_candidates(b);
                if c.is_empty() {
                    return None;
                }
                let p = c[*which % c.len()];
                let w = u64::from_le_bytes(m[p..p + 8].try_into().expect("8 bytes"));
                let new = match to {
                    LengthChange::Plus(d) => w.wrapping_add(*d),
                    LengthChange::Minus(d) => w.wrapping_sub(*d),
                    LengthChange::To(v) => *v,
                };
                m[p..p + 8].copy_from_slice(&new.to_le_bytes());
            }
            Mutation::Scribble { at, bytes } => {
                if b.len() < 2 {
                    return None;
                }
                let start = 1 + *at % (b.len() - 1);
                for (i, x) in bytes.iter().enumerate() {
                    if let Some(slot) = m.get_mut(start + i) {
                        *slot = *x;
                    }
                }
            }
        }
        (m != b).then_some(m)
    }
}

/// Decode a mutant of the valid encoding `original` (of `value`) and check the outcome.
fn check_mutant<T: Canonical + Debug + PartialEq>(
    value: &T,
    original: &[u8],
    m: &Mutation,
) -> Result<(), TestCaseError> {
    let Some(mutant) = m.apply(original) else {
        return Ok(());
    };
    let result = decode::<T>(&mutant);
    // Canonicity: whatever is accepted re-encodes to exactly the accepted bytes, and since
    // the encoding is injective, it is a different value from the original.
    if let Ok(v) = &result {
        prop_assert_eq!(
            &encode(v),
            &mutant,
            "accepted bytes do not re-encode to themselves"
        );
        prop_assert_ne!(v, value, "different bytes decoded to the original value");
    }
    // The bincode configuration is itself canonical for these types (fixed-width integers,
    // one tag per enum variant / option / bool, UTF-8 strings), so the re-encode check in
    // `decode` is a second line of defence that should never be the one to fire.
    if let Err(CodecError::NonCanonical { ty }) = &result {
        return Err(TestCaseError::fail(format!(
            "bincode accepted a non-canonical encoding of {ty}: {}",
            hex::encode(&mutant)
        )));
    }
    let too_large = mutant.len() > T::BYTES_MAX;
    match m {
        Mutation::Version { version } => prop_assert_eq!(
            result,
            Err(CodecError::UnknownVersion {
                expected: VERSION,
                found: *version
            })
        ),
        Mutation::Flip { .. } if mutant[0] != VERSION => prop_assert_eq!(
            result,
            Err(CodecError::UnknownVersion {
                expected: VERSION,
                found: mutant[0]
            })
        ),
        Mutation::Truncate { .. } if mutant.is_empty() => {
            prop_assert_eq!(result, Err(CodecError::Empty))
        }
        // A strict prefix of a self-delimiting encoding always runs out of bytes.
        Mutation::Truncate { .. } => prop_assert!(
            matches!(result, Err(CodecError::Malformed { ty, .. }) if ty == T::NAME),
            "truncated to {} of {} bytes: {:?}",
            mutant.len(),
            original.len(),
            result
        ),
        Mutation::Append { .. } if too_large => prop_assert_eq!(
            result,
            Err(CodecError::TooLarge {
                ty: T::NAME,
                max: T::BYTES_MAX,
                found: mutant.len()
            })
        ),
        // A genesis may end with an optional section (its limit standards) that this
        // byte opens: the section is then cut short.
        Mutation::Append { byte }
            if T::NAME == "genesis" && *byte == chancery_core::genesis::LIMITS_MARKER =>
        {
            prop_assert!(
                matches!(result, Err(CodecError::Malformed { ty, .. }) if ty == T::NAME),
                "{:?}",
                result
            )
        }
        Mutation::Append { .. } => prop_assert_eq!(
            result,
            Err(CodecError::TrailingBytes {
                ty: T::NAME,
                found: 1
            })
        ),
        _ if too_large => prop_assert!(
            matches!(result, Err(CodecError::TooLarge { .. })),
            "{:?}",
            result
        ),
        // Anything else: accepted (checked above) or rejected for what the bytes say.
        _ => prop_assert!(
            matches!(
                result,
                Ok(_)
                    | Err(CodecError::Malformed { .. })
                    | Err(CodecError::TrailingBytes { .. })
                    | Err(CodecError::Invalid { .. })
            ),
            "unexpected {:?}",
            result
        ),
    }
    Ok(())
}

/// The mutation checks are only as good as the outcomes they reach: over the fixture
/// transaction, systematic mutations must produce accepted-and-different values as well as
/// each kind of rejection, so every branch of `check_mutant` is exercised.
#[test]
fn mutations_reach_every_outcome() {
    let tx = samples::transaction();
    let bytes = encode(&tx);
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    let mut mutants = Vec::new();
    for at in 0..bytes.len() {
        mutants.push(Mutation::Flip { at, mask: 0x01 });
        mutants.push(Mutation::Remove { at });
        mutants.push(Mutation::Truncate { to: at });
    }
    for which in 0..length_candidates(&bytes).len() {
        for to in [
            LengthChange::Plus(1),
            LengthChange::Minus(1),
            LengthChange::To(u64::MAX),
        ] {
            mutants.push(Mutation::BumpLength { which, to });
        }
    }
    mutants.push(Mutation::Append { byte: 0 });
    mutants.push(Mutation::Version { version: 2 });
    for m in &mutants {
        if let Err(e) = check_mutant(&tx, &bytes, m) {
            panic!("{m:?}: {e}");
        }
        let Some(b) = m.apply(&bytes) else { continue };
        let outcome = match decode::<Transaction>(&b) {
            Ok(_) => "accepted",
            Err(CodecError::Empty) => "empty",
            Err(CodecError::TooLarge { .. }) => "too large",
            Err(CodecError::UnknownVersion { .. }) => "unknown version",
            Err(CodecError::Malformed { .. }) => "malformed",
            Err(CodecError::TrailingBytes { .. }) => "trailing bytes",
            Err(CodecError::NonCanonical { .. }) => "non-canonical",
            Err(CodecError::Invalid { .. }) => "invalid",
        };
        *seen.entry(outcome).or_default() += 1;
    }
    for want in [
        "accepted",
        "empty",
        "unknown version",
        "malformed",
        "trailing bytes",
        "invalid",
    ] {
        assert!(seen.contains_key(want), "no mutant was {want}: {seen:?}");
    }
    assert!(!seen.contains_key("non-canonical"), "{seen:?}");
}

/// Empty, oversize and garbage inputs, for a type and one valid value of it.
fn check_framing<T: Canonical + Debug + PartialEq>(value: &T) {
    assert_eq!(decode::<T>(&[]), Err(CodecError::Empty));
    assert!(
        matches!(decode::<T>(&[VERSION]), Err(CodecError::Malformed { .. })),
        "a lone version byte is malformed"
    );
    // `vec![0; n]` rather than `resize`: the test crate is not optimised.
    let mut big = vec![0u8; T::BYTES_MAX + 1];
    let enc = encode(value);
    big[..enc.len()].copy_from_slice(&enc);
    assert_eq!(
        decode::<T>(&big),
        Err(CodecError::TooLarge {
            ty: T::NAME,
            max: T::BYTES_MAX,
            found: T::BYTES_MAX + 1
        })
    );
    // Oversize wins over a bad version: the size check needs no parsing.
    big[0] = VERSION + 1;
    assert!(matches!(
        decode::<T>(&big),
        Err(CodecError::TooLarge { .. })
    ));
    let mut trailing = encode(value);
    let (extra, found): (&[u8], usize) = (&[0, 0, 0], 3);
    trailing.extend_from_slice(extra);
    assert_eq!(
        decode::<T>(&trailing),
        Err(CodecError::TrailingBytes { ty: T::NAME, found })
    );
}

/// Round trip plus mutations, for one type.
macro_rules! codec_props {
    ($name:ident, $ty:ty, $strategy:expr, $cases:expr) => {
        mod $name {
            use super::*;

            proptest! {
                #![proptest_config(cfg($cases))]

                #[test]
                fn round_trip_and_mutants(
                    v in $strategy,
                    ms in vec(mutation(), 1..=24),
                ) {
                    let bytes = round_trip::<$ty>(&v)?;
                    for m in &ms {
                        check_mutant::<$ty>(&v, &bytes, m)?;
                    }
                }
            }
        }
    };
}

codec_props!(
    record,
    CanonicalRecord,
    any_record().prop_map(CanonicalRecord),
    128
);
codec_props!(
    vote_body,
    CanonicalVote,
    vote_body().prop_map(CanonicalVote),
    128
);
codec_props!(transaction, Transaction, transaction(), 128);
codec_props!(block_header, BlockHeader, block_header(), 128);
codec_props!(block, Block, block(), 24);
codec_props!(log_entry, LogEntry, log_entry(), 48);
codec_props!(certificate, Certificate, certificate(), 64);
codec_props!(validator_set, ValidatorSet, validator_set(), 32);
codec_props!(genesis, Genesis, genesis(), 32);

#[test]
fn framing_errors_for_every_type() {
    check_framing(&CanonicalRecord(Record::RegisterAsset(
        samples::register_asset(),
    )));
    check_framing(&CanonicalVote(
        samples::certificate().body(samples::chain_id()),
    ));
    check_framing(&samples::transaction());
    check_framing(&samples::block_header());
    check_framing(&Block {
        header: samples::block_header(),
        txs: vec![samples::transaction()],
    });
    check_framing(&samples::log_entry());
    check_framing(&samples::certificate());
    check_framing(&samples::genesis().validators);
    check_framing(&samples::genesis());
}

// ------------------------------------------------------------------ arbitrary bytes

fn decode_all_types(bytes: &[u8]) -> Result<(), TestCaseError> {
    fn one<T: Canonical>(bytes: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(v) = decode::<T>(bytes) {
            prop_assert_eq!(encode(&v), bytes.to_vec());
        }
        Ok(())
    }
    one::<CanonicalRecord>(bytes)?;
    one::<CanonicalVote>(bytes)?;
    one::<Transaction>(bytes)?;
    one::<BlockHeader>(bytes)?;
    one::<Block>(bytes)?;
    one::<LogEntry>(bytes)?;
    one::<Certificate>(bytes)?;
    one::<ValidatorSet>(bytes)?;
    one::<Genesis>(bytes)
}

proptest! {
    #![proptest_config(cfg(256))]

    /// Random bytes, with and without a valid version byte, never panic any decoder.
    #[test]
    fn arbitrary_bytes_never_panic(mut bytes in vec(any::<u8>(), 0..600), versioned in any::<bool>()) {
        if versioned && !bytes.is_empty() {
            bytes[0] = VERSION;
        }
        decode_all_types(&bytes)?;
    }

    /// A valid encoding of one type, mutated, fed to every decoder.
    #[test]
    fn mutated_encodings_never_panic_any_decoder(
        v in any_record(),
        ms in vec(mutation(), 1..=4),
    ) {
        let tx = Transaction {
            body: TxBody { chain_id: Digest::ZERO, signer: PublicKey::Ed25519([1; 32]), seq: Seq(0), record: v },
            signature: Signature([0; 64]),
        };
        let mut bytes = encode(&tx);
        for m in &ms {
            if let Some(b) = m.apply(&bytes) {
                bytes = b;
            }
        }
        decode_all_types(&bytes)?;
    }
}

/// A length prefix claiming far more bytes than the input holds is rejected as malformed
/// without trying to read (or allocate) that much.
#[test]
fn huge_length_prefixes_are_malformed() {
    // version, RevokeGrant tag (7), then a grant id claiming 2^k bytes.
    for claimed in [1u64 << 20, 1 << 26, (1 << 26) + 1, 1 << 40, u64::MAX] {
        let mut b = vec![VERSION];
        b.extend_from_slice(&7u32.to_le_bytes());
        b.extend_from_slice(&claimed.to_le_bytes());
        b.extend_from_slice(b"abc");
        let r = decode::<CanonicalRecord>(&b);
        assert!(
            matches!(r, Err(CodecError::Malformed { ty: "record", .. })),
            "claimed {claimed}: {r:?}"
        );
    }
}

// ------------------------------------------------------------------ layout

/// The encoding is exactly: version byte, then fields in declaration order; u32 LE enum
/// tags; u64 LE lengths before strings and lists; fixed-width LE integers; one-byte option
/// tags; fixed arrays raw. `docs/encoding.md` describes this layout; this test pins it.
#[test]
fn layout_is_as_documented() {
    let r = Record::DisposeAsset(DisposeAsset {
        asset_id: "资产-1".into(),
        method: DisposalMethod::Sale,
        approval_document: Digest([0xaa; 32]),
        date: Date {
            year: 2026,
            month: 11,
            day: 27,
        },
        proceeds: Some(Amount {
            minor: 258,
            currency: Currency::CNY,
        }),
        counterparty: Some(Restricted::Sealed(Digest([0xbb; 32]))),
    });
    let mut want = vec![VERSION];
    want.extend_from_slice(&2u32.to_le_bytes()); // Record::DisposeAsset
    want.extend_from_slice(&("资产-1".len() as u64).to_le_bytes());
    want.extend_from_slice("资产-1".as_bytes());
    want.extend_from_slice(&2u32.to_le_bytes()); // DisposalMethod::Sale
    want.extend_from_slice(&[0xaa; 32]);
    want.extend_from_slice(&2026u16.to_le_bytes());
    want.extend_from_slice(&[11, 27]);
    want.push(1); // Some
    want.extend_from_slice(&258u64.to_le_bytes());
    want.extend_from_slice(b"CNY");
    want.push(1); // Some
    want.extend_from_slice(&1u32.to_le_bytes()); // Restricted::Sealed
    want.extend_from_slice(&[0xbb; 32]);
    assert_eq!(hex::encode(encode(&r)), hex::encode(&want));

    let none = Record::RevokeGrant(RevokeGrant {
        grant_id: "g".into(),
        reason: String::new(),
    });
    let mut want = vec![VERSION];
    want.extend_from_slice(&7u32.to_le_bytes());
    want.extend_from_slice(&1u64.to_le_bytes());
    want.push(b'g');
    want.extend_from_slice(&0u64.to_le_bytes());
    assert_eq!(encode(&none), want);
}

/// Counts the variants of an enum by decoding successive u32 tags (followed by zero bytes
/// for any payload): the first tag that fails is the number of variants.
fn variant_count<T: bincode::Decode<chancery_core::suite::Suite>>() -> u32 {
    (0u32..1000)
        .find(|i| {
            let mut b = i.to_le_bytes().to_vec();
            b.extend_from_slice(&[0u8; 1024]);
            bincode::decode_from_slice_with_context::<_, T, _>(
                &b,
                bincode_config(),
                chancery_core::suite::Suite::default(),
            )
            .is_err()
        })
        .expect("fewer than 1000 variants")
}

/// The strategies' hand-written variant lists are complete and in declaration order, so
/// every variant is generated (and a new one makes this test fail).
#[test]
fn enum_lists_are_complete() {
    for (name, listed_at, declared_at) in variant_positions() {
        assert_eq!(listed_at, declared_at, "{name} list out of order");
    }
    assert_eq!(
        variant_count::<AcquisitionMethod>() as usize,
        ACQUISITION_METHODS.len()
    );
    assert_eq!(
        variant_count::<FundingSource>() as usize,
        FUNDING_SOURCES.len()
    );
    assert_eq!(
        variant_count::<TransferKind>() as usize,
        TRANSFER_KINDS.len()
    );
    assert_eq!(
        variant_count::<DisposalMethod>() as usize,
        DISPOSAL_METHODS.len()
    );
    assert_eq!(
        variant_count::<ProcurementMethod>() as usize,
        PROCUREMENT_METHODS.len()
    );
    // Cancelled is deliberately absent from the live list: awards may not carry it.
    assert_eq!(
        variant_count::<AwardStatus>() as usize,
        LIVE_AWARD_STATUSES.len() + 1
    );
    assert_eq!(variant_count::<Action>() as usize, ACTIONS.len());
    assert_eq!(
        variant_count::<SharingCondition>() as usize,
        SHARING_CONDITIONS.len()
    );
    assert_eq!(variant_count::<Operator>() as usize, OPERATORS.len());
    assert_eq!(variant_count::<VoteKind>() as usize, VOTE_KINDS.len());
    assert_eq!(variant_count::<ReasonCode>() as usize, REASON_CODES.len());
    assert_eq!(
        variant_count::<chancery_core::procurement::ImplementationKind>() as usize,
        IMPLEMENTATION_KINDS.len()
    );
    assert_eq!(variant_count::<Role>() as usize, Role::ALL.len());
    assert_eq!(
        variant_count::<RecordKind>() as usize,
        RecordKind::ALL.len()
    );
    assert_eq!(variant_count::<RecordRef>(), 5);
    assert_eq!(variant_count::<Outcome>(), 2);
    assert_eq!(variant_count::<Record>() as usize, RecordKind::ALL.len());
}

// ------------------------------------------------------------------ validation

/// Bad values for breaking rules, generated fresh for each case.
#[derive(Clone, Debug)]
struct Bad {
    /// Bytes over the limit.
    extra: usize,
    /// Characters to build over-long text from.
    chars: Vec<char>,
    /// A character not allowed in identifiers.
    id_char: char,
    /// A control character other than newline.
    control: char,
    /// An invalid date.
    date: Date,
    /// An invalid currency code.
    currency: Currency,
    /// An invalid unified social credit code.
    credit_code: String,
}

fn bad() -> impl Strategy<Value = Bad> {
    let date = prop_oneof![
        (1900u16..=9999, 13u8..=255, 1u8..=28).prop_map(|(year, month, day)| Date {
            year,
            month,
            day
        }),
        (1900u16..=9999, 0u8..=0, 1u8..=28).prop_map(|(year, month, day)| Date {
            year,
            month,
            day
        }),
        (1900u16..=9999, 1u8..=12, 0u8..=0).prop_map(|(year, month, day)| Date {
            year,
            month,
            day
        }),
        (1900u16..=9999, 1u8..=12, 32u8..=255).prop_map(|(year, month, day)| Date {
            year,
            month,
            day
        }),
        (0u16..1900, 1u8..=12, 1u8..=28).prop_map(|(year, month, day)| Date { year, month, day }),
        (10000u16..=u16::MAX, 1u8..=12, 1u8..=28).prop_map(|(year, month, day)| Date {
            year,
            month,
            day
        }),
        prop::sample::select(vec![
            Date {
                year: 2023,
                month: 2,
                day: 29
            },
            Date {
                year: 1900,
                month: 2,
                day: 29
            },
            Date {
                year: 2100,
                month: 2,
                day: 29
            },
            Date {
                year: 2024,
                month: 2,
                day: 30
            },
            Date {
                year: 2026,
                month: 4,
                day: 31
            },
            Date {
                year: 2026,
                month: 11,
                day: 31
            },
        ]),
    ];
    let currency = any::<[u8; 3]>()
        .prop_filter("invalid currency", |c| {
            !c.iter().all(u8::is_ascii_uppercase)
        })
        .prop_map(Currency);
    let credit_chars: Vec<char> = CREDIT_CHARS.chars().collect();
    let credit_code = prop_oneof![
        vec(prop::sample::select(credit_chars.clone()), 0..=17)
            .prop_map(|v| v.into_iter().collect::<String>()),
        vec(prop::sample::select(credit_chars.clone()), 19..=40)
            .prop_map(|v| v.into_iter().collect::<String>()),
        (
            vec(prop::sample::select(credit_chars), 17),
            any::<Index>(),
            prop::sample::select(vec!['a', 'z', '-', ' ', '\n'])
        )
            .prop_map(|(mut v, at, c)| {
                let i = at.index(v.len() + 1);
                v.insert(i, c);
                v.into_iter().collect::<String>()
            }),
        // Six CJK characters: 18 bytes, but not digits or capitals.
        vec(proptest::char::range('\u{4e00}', '\u{9fa5}'), 6)
            .prop_map(|v| v.into_iter().collect::<String>()),
    ];
    let id_char = any::<char>().prop_filter("not an identifier character, not a control", |c| {
        !ID_CHARS.contains(*c) && !c.is_control()
    });
    let control =
        any::<char>().prop_filter("control, not newline", |c| c.is_control() && *c != '\n');
    (
        1..=8usize,
        vec(text_char(), 1..=4),
        id_char,
        control,
        date,
        currency,
        credit_code,
    )
        .prop_map(
            |(extra, chars, id_char, control, date, currency, credit_code)| Bad {
                extra,
                chars,
                id_char,
                control,
                date,
                currency,
                credit_code,
            },
        )
}

impl Bad {
    /// Text of `max + extra` bytes.
    fn over(&self, max: usize) -> String {
        fill_exact(&self.chars, max + self.extra)
    }
    /// An identifier-shaped string of `ID_BYTES_MAX + extra` bytes.
    fn over_id(&self) -> String {
        fill_exact(&['a', '-', '1'], ID_BYTES_MAX + self.extra)
    }
    /// An identifier with a forbidden character in it.
    fn bad_id(&self) -> String {
        format!("ab{}cd", self.id_char)
    }
    fn bad_agency(&self) -> AgencyId {
        AgencyId(self.bad_id())
    }
    /// Text with a control character in it.
    fn with_control(&self) -> String {
        format!("正常{}文本", self.control)
    }
    fn bad_amount(&self) -> Amount {
        Amount {
            minor: 1,
            currency: self.currency,
        }
    }
}

/// What a breaker expects: the field path inside the record, and a fragment of the
/// `expected` text of the error.
type Expect = (String, String);

fn ex(field: impl Into<String>, expected: impl Into<String>) -> Expect {
    (field.into(), expected.into())
}

fn at_most_bytes(max: usize) -> String {
    format!("at most {max} bytes")
}

fn at_most_entries(max: usize) -> String {
    format!("at most {max} entries")
}

/// Breaks one rule of a valid record of `kind`.
struct Breaker {
    kind: RecordKind,
    apply: fn(&mut Record, &Bad) -> Expect,
}

macro_rules! brk {
    ($kind:ident, |$x:ident, $b:ident| $body:expr) => {
        Breaker {
            kind: RecordKind::$kind,
            apply: |r: &mut Record, $b: &Bad| -> Expect {
                #[allow(unused_variables)]
                let $b = $b;
                match r {
                    Record::$kind($x) => $body,
                    _ => unreachable!("breaker applied to the wrong kind"),
                }
            },
        }
    };
}

fn ok_doc() -> DocumentRef {
    DocumentRef {
        hash: Digest([3; 32]),
        kind: "approval".into(),
        title: "批复".into(),
        url: String::new(),
    }
}

fn ok_supplier() -> Supplier {
    Supplier {
        name: "某某有限公司".into(),
        credit_code: "91110000MA00000000".into(),
    }
}

fn ok_item(id: &str) -> Item {
    Item {
        id: id.into(),
        description: "台式计算机".into(),
        classification_scheme: String::new(),
        classification_id: String::new(),
        quantity: 1,
        unit: "台".into(),
        unit_value: None,
    }
}

fn ok_constraint() -> Constraint {
    Constraint {
        left_operand: "count".into(),
        operator: Operator::Lteq,
        right_operand: "10".into(),
    }
}

/// Push `x` to `v` and return its index.
fn push<T>(v: &mut Vec<T>, x: T) -> usize {
    v.push(x);
    v.len() - 1
}

/// Ids of the form `x0`, `x1`, ... that cannot collide with `existing`.
fn fresh_items(existing: &[Item], n: usize) -> Vec<Item> {
    (0..n)
        .map(|i| ok_item(&format!("fresh-{}-{i}", existing.len())))
        .collect()
}

fn breakers() -> Vec<Breaker> {
    vec![
        // register_asset
        brk!(RegisterAsset, |x, b| {
            x.asset_id.clear();
            ex("asset_id", "non-empty")
        }),
        brk!(RegisterAsset, |x, b| {
            x.asset_id = b.over_id();
            ex("asset_id", at_most_bytes(ID_BYTES_MAX))
        }),
        brk!(RegisterAsset, |x, b| {
            x.asset_id = b.bad_id();
            ex("asset_id", "identifier")
        }),
        brk!(RegisterAsset, |x, b| {
            x.category.clear();
            ex("category", "GB/T 14885")
        }),
        brk!(RegisterAsset, |x, b| {
            x.category = "A".repeat(17);
            ex("category", "GB/T 14885")
        }),
        brk!(RegisterAsset, |x, b| {
            x.category = "A02-01".into();
            ex("category", "GB/T 14885")
        }),
        brk!(RegisterAsset, |x, b| {
            x.category = "A02类".into();
            ex("category", "GB/T 14885")
        }),
        brk!(RegisterAsset, |x, b| {
            x.name.clear();
            ex("name", "non-empty")
        }),
        brk!(RegisterAsset, |x, b| {
            x.name = b.over(NAME_BYTES_MAX);
            ex("name", at_most_bytes(NAME_BYTES_MAX))
        }),
        brk!(RegisterAsset, |x, b| {
            x.name = b.with_control();
            ex("name", "no control characters")
        }),
        brk!(RegisterAsset, |x, b| {
            x.spec_model = b.over(NAME_BYTES_MAX);
            ex("spec_model", at_most_bytes(NAME_BYTES_MAX))
        }),
        brk!(RegisterAsset, |x, b| {
            x.quantity = 0;
            ex("quantity", "at least 1")
        }),
        brk!(RegisterAsset, |x, b| {
            x.unit.clear();
            ex("unit", "non-empty")
        }),
        brk!(RegisterAsset, |x, b| {
            x.acquisition_date = b.date;
            ex("acquisition_date", "valid date")
        }),
        brk!(RegisterAsset, |x, b| {
            x.original_value = b.bad_amount();
            ex("original_value.currency", "ISO 4217")
        }),
        brk!(RegisterAsset, |x, b| {
            x.custodian = b.bad_agency();
            ex("custodian", "identifier")
        }),
        brk!(RegisterAsset, |x, b| {
            x.location = Restricted::Open(b.over(TEXT_BYTES_MAX));
            ex("location", at_most_bytes(TEXT_BYTES_MAX))
        }),
        brk!(RegisterAsset, |x, b| {
            x.location = Restricted::Open(b.with_control());
            ex("location", "no control characters")
        }),
        brk!(RegisterAsset, |x, b| {
            x.documents = vec![ok_doc(); DOCUMENTS_MAX + b.extra];
            ex("documents", at_most_entries(DOCUMENTS_MAX))
        }),
        brk!(RegisterAsset, |x, b| {
            let i = push(
                &mut x.documents,
                DocumentRef {
                    kind: b.bad_id(),
                    ..ok_doc()
                },
            );
            ex(format!("documents[{i}].kind"), "identifier")
        }),
        brk!(RegisterAsset, |x, b| {
            let i = push(
                &mut x.documents,
                DocumentRef {
                    title: String::new(),
                    ..ok_doc()
                },
            );
            ex(format!("documents[{i}].title"), "non-empty")
        }),
        brk!(RegisterAsset, |x, b| {
            let i = push(
                &mut x.documents,
                DocumentRef {
                    url: b.over(URL_BYTES_MAX),
                    ..ok_doc()
                },
            );
            ex(format!("documents[{i}].url"), at_most_bytes(URL_BYTES_MAX))
        }),
        // transfer_asset
        brk!(TransferAsset, |x, b| {
            x.asset_id = b.over_id();
            ex("asset_id", at_most_bytes(ID_BYTES_MAX))
        }),
        brk!(TransferAsset, |x, b| {
            x.from = b.bad_agency();
            ex("from", "identifier")
        }),
        brk!(TransferAsset, |x, b| {
            x.to = b.bad_agency();
            ex("to", "identifier")
        }),
        brk!(TransferAsset, |x, b| {
            x.to = AgencyId(String::new());
            ex("to", "non-empty")
        }),
        brk!(TransferAsset, |x, b| {
            x.to = x.from.clone();
            ex("to", "other than")
        }),
        brk!(TransferAsset, |x, b| {
            x.effective_date = b.date;
            ex("effective_date", "valid date")
        }),
        // dispose_asset
        brk!(DisposeAsset, |x, b| {
            x.asset_id.clear();
            ex("asset_id", "non-empty")
        }),
        brk!(DisposeAsset, |x, b| {
            x.date = b.date;
            ex("date", "valid date")
        }),
        brk!(DisposeAsset, |x, b| {
            x.proceeds = Some(b.bad_amount());
            ex("proceeds.currency", "ISO 4217")
        }),
        brk!(DisposeAsset, |x, b| {
            x.counterparty = Some(Restricted::Open(String::new()));
            ex("counterparty", "non-empty")
        }),
        brk!(DisposeAsset, |x, b| {
            x.counterparty = Some(Restricted::Open(b.over(NAME_BYTES_MAX)));
            ex("counterparty", at_most_bytes(NAME_BYTES_MAX))
        }),
        // award_procurement
        brk!(AwardProcurement, |x, b| {
            x.ocid = b.bad_id();
            ex("ocid", "identifier")
        }),
        brk!(AwardProcurement, |x, b| {
            x.award_id = b.over_id();
            ex("award_id", at_most_bytes(ID_BYTES_MAX))
        }),
        brk!(AwardProcurement, |x, b| {
            x.project_number.clear();
            ex("project_number", "non-empty")
        }),
        brk!(AwardProcurement, |x, b| {
            x.project_number = b.over(ID_BYTES_MAX);
            ex("project_number", at_most_bytes(ID_BYTES_MAX))
        }),
        brk!(AwardProcurement, |x, b| {
            x.title.clear();
            ex("title", "non-empty")
        }),
        brk!(AwardProcurement, |x, b| {
            x.title = b.over(NAME_BYTES_MAX);
            ex("title", at_most_bytes(NAME_BYTES_MAX))
        }),
        brk!(AwardProcurement, |x, b| {
            x.description = b.over(TEXT_BYTES_MAX);
            ex("description", at_most_bytes(TEXT_BYTES_MAX))
        }),
        brk!(AwardProcurement, |x, b| {
            x.description = b.with_control();
            ex("description", "no control characters")
        }),
        brk!(AwardProcurement, |x, b| {
            x.purchaser = b.bad_agency();
            ex("purchaser", "identifier")
        }),
        brk!(AwardProcurement, |x, b| {
            x.method_details = b.over(NAME_BYTES_MAX);
            ex("method_details", at_most_bytes(NAME_BYTES_MAX))
        }),
        brk!(AwardProcurement, |x, b| {
            x.suppliers.clear();
            x.status = AwardStatus::Active;
            ex("suppliers", "at least one supplier")
        }),
        brk!(AwardProcurement, |x, b| {
            x.status = AwardStatus::Cancelled;
            ex("status", "cancel_award")
        }),
        brk!(AwardProcurement, |x, b| {
            x.suppliers = vec![ok_supplier(); SUPPLIERS_MAX + b.extra];
            ex("suppliers", at_most_entries(SUPPLIERS_MAX))
        }),
        brk!(AwardProcurement, |x, b| {
            let i = push(
                &mut x.suppliers,
                Supplier {
                    name: String::new(),
                    ..ok_supplier()
                },
            );
            ex(format!("suppliers[{i}].name"), "non-empty")
        }),
        brk!(AwardProcurement, |x, b| {
            let i = push(
                &mut x.suppliers,
                Supplier {
                    credit_code: b.credit_code.clone(),
                    ..ok_supplier()
                },
            );
            ex(format!("suppliers[{i}].credit_code"), "credit code")
        }),
        brk!(AwardProcurement, |x, b| {
            x.value = b.bad_amount();
            ex("value.currency", "ISO 4217")
        }),
        brk!(AwardProcurement, |x, b| {
            x.award_date = b.date;
            ex("award_date", "valid date")
        }),
        brk!(AwardProcurement, |x, b| {
            x.items = (0..ITEMS_MAX + b.extra)
                .map(|i| ok_item(&i.to_string()))
                .collect();
            ex("items", at_most_entries(ITEMS_MAX))
        }),
        brk!(AwardProcurement, |x, b| {
            let it = Item {
                id: b.bad_id(),
                ..fresh_items(&x.items, 1).remove(0)
            };
            let i = push(&mut x.items, it);
            ex(format!("items[{i}].id"), "identifier")
        }),
        brk!(AwardProcurement, |x, b| {
            let it = Item {
                description: String::new(),
                ..fresh_items(&x.items, 1).remove(0)
            };
            let i = push(&mut x.items, it);
            ex(format!("items[{i}].description"), "non-empty")
        }),
        brk!(AwardProcurement, |x, b| {
            let it = Item {
                classification_scheme: b.over(ID_BYTES_MAX),
                ..fresh_items(&x.items, 1).remove(0)
            };
            let i = push(&mut x.items, it);
            ex(
                format!("items[{i}].classification_scheme"),
                at_most_bytes(ID_BYTES_MAX),
            )
        }),
        brk!(AwardProcurement, |x, b| {
            let it = Item {
                classification_id: b.over(ID_BYTES_MAX),
                ..fresh_items(&x.items, 1).remove(0)
            };
            let i = push(&mut x.items, it);
            ex(
                format!("items[{i}].classification_id"),
                at_most_bytes(ID_BYTES_MAX),
            )
        }),
        brk!(AwardProcurement, |x, b| {
            let it = Item {
                unit: b.over(NAME_BYTES_MAX),
                ..fresh_items(&x.items, 1).remove(0)
            };
            let i = push(&mut x.items, it);
            ex(format!("items[{i}].unit"), at_most_bytes(NAME_BYTES_MAX))
        }),
        brk!(AwardProcurement, |x, b| {
            let it = Item {
                unit_value: Some(b.bad_amount()),
                ..fresh_items(&x.items, 1).remove(0)
            };
            let i = push(&mut x.items, it);
            ex(format!("items[{i}].unit_value.currency"), "ISO 4217")
        }),
        brk!(AwardProcurement, |x, b| {
            let it = fresh_items(&x.items, 1).remove(0);
            x.items.push(it.clone());
            x.items.push(it);
            ex("items.id", "unique")
        }),
        brk!(AwardProcurement, |x, b| {
            x.documents = vec![ok_doc(); DOCUMENTS_MAX + b.extra];
            ex("documents", at_most_entries(DOCUMENTS_MAX))
        }),
        brk!(AwardProcurement, |x, b| {
            let i = push(
                &mut x.documents,
                DocumentRef {
                    url: b.with_control(),
                    ..ok_doc()
                },
            );
            ex(format!("documents[{i}].url"), "no control characters")
        }),
        // amend_award
        brk!(AmendAward, |x, b| {
            x.ocid.clear();
            ex("ocid", "non-empty")
        }),
        brk!(AmendAward, |x, b| {
            x.award_id = b.bad_id();
            ex("award_id", "identifier")
        }),
        brk!(AmendAward, |x, b| {
            x.rationale.clear();
            ex("rationale", "non-empty")
        }),
        brk!(AmendAward, |x, b| {
            x.rationale = b.over(TEXT_BYTES_MAX);
            ex("rationale", at_most_bytes(TEXT_BYTES_MAX))
        }),
        brk!(AmendAward, |x, b| {
            x.date = b.date;
            ex("date", "valid date")
        }),
        brk!(AmendAward, |x, b| {
            x.value = Some(b.bad_amount());
            ex("value.currency", "ISO 4217")
        }),
        brk!(AmendAward, |x, b| {
            x.suppliers = Some(vec![ok_supplier(); SUPPLIERS_MAX + b.extra]);
            ex("suppliers", at_most_entries(SUPPLIERS_MAX))
        }),
        brk!(AmendAward, |x, b| {
            let mut s = x.suppliers.take().unwrap_or_default();
            let i = push(
                &mut s,
                Supplier {
                    credit_code: b.credit_code.clone(),
                    ..ok_supplier()
                },
            );
            x.suppliers = Some(s);
            ex(format!("suppliers[{i}].credit_code"), "credit code")
        }),
        brk!(AmendAward, |x, b| {
            let mut items = x.items.take().unwrap_or_default();
            let it = Item {
                unit_value: Some(b.bad_amount()),
                ..fresh_items(&items, 1).remove(0)
            };
            let i = push(&mut items, it);
            x.items = Some(items);
            ex(format!("items[{i}].unit_value.currency"), "ISO 4217")
        }),
        brk!(AmendAward, |x, b| {
            let mut items = x.items.take().unwrap_or_default();
            let it = fresh_items(&items, 1).remove(0);
            items.push(it.clone());
            items.push(it);
            x.items = Some(items);
            ex("items.id", "unique")
        }),
        brk!(AmendAward, |x, b| {
            x.status = Some(AwardStatus::Cancelled);
            ex("status", "cancel_award")
        }),
        brk!(AmendAward, |x, b| {
            let i = push(
                &mut x.documents,
                DocumentRef {
                    url: b.over(URL_BYTES_MAX),
                    ..ok_doc()
                },
            );
            ex(format!("documents[{i}].url"), at_most_bytes(URL_BYTES_MAX))
        }),
        // cancel_award
        brk!(CancelAward, |x, b| {
            x.ocid = b.over_id();
            ex("ocid", at_most_bytes(ID_BYTES_MAX))
        }),
        brk!(CancelAward, |x, b| {
            x.award_id.clear();
            ex("award_id", "non-empty")
        }),
        brk!(CancelAward, |x, b| {
            x.reason.clear();
            ex("reason", "non-empty")
        }),
        brk!(CancelAward, |x, b| {
            x.reason = b.over(TEXT_BYTES_MAX);
            ex("reason", at_most_bytes(TEXT_BYTES_MAX))
        }),
        brk!(CancelAward, |x, b| {
            x.date = b.date;
            ex("date", "valid date")
        }),
        // grant_data_access
        brk!(GrantDataAccess, |x, b| {
            x.grant_id = b.bad_id();
            ex("grant_id", "identifier")
        }),
        brk!(GrantDataAccess, |x, b| {
            x.dataset_id = b.over_id();
            ex("dataset_id", at_most_bytes(ID_BYTES_MAX))
        }),
        brk!(GrantDataAccess, |x, b| {
            x.grantor = b.bad_agency();
            ex("grantor", "identifier")
        }),
        brk!(GrantDataAccess, |x, b| {
            x.grantee = b.bad_agency();
            ex("grantee", "identifier")
        }),
        brk!(GrantDataAccess, |x, b| {
            x.grantee = x.grantor.clone();
            ex("grantee", "other than")
        }),
        brk!(GrantDataAccess, |x, b| {
            x.actions.clear();
            ex("actions", "at least one action")
        }),
        brk!(GrantDataAccess, |x, b| {
            x.actions = ACTIONS
                .iter()
                .cycle()
                .take(ACTIONS_MAX + b.extra)
                .copied()
                .collect();
            ex("actions", at_most_entries(ACTIONS_MAX))
        }),
        brk!(GrantDataAccess, |x, b| {
            x.actions = vec![ACTIONS[b.extra % 4 + 1], ACTIONS[b.extra % 4]];
            ex("actions", "sorted")
        }),
        brk!(GrantDataAccess, |x, b| {
            let a = x.actions[0];
            x.actions.insert(0, a);
            ex("actions", "without duplicates")
        }),
        brk!(GrantDataAccess, |x, b| {
            x.purpose.clear();
            ex("purpose", "non-empty")
        }),
        brk!(GrantDataAccess, |x, b| {
            x.purpose = b.with_control();
            ex("purpose", "no control characters")
        }),
        brk!(GrantDataAccess, |x, b| {
            x.valid_from = b.date;
            ex("valid_from", "valid date")
        }),
        brk!(GrantDataAccess, |x, b| {
            x.valid_until = b.date;
            ex("valid_until", "valid date")
        }),
        brk!(GrantDataAccess, |x, b| {
            x.valid_from = Date {
                year: 2026,
                month: 5,
                day: 2,
            };
            x.valid_until = Date {
                year: 2026,
                month: 5,
                day: 1,
            };
            ex("valid_until", "on or after valid_from")
        }),
        brk!(GrantDataAccess, |x, b| {
            x.constraints = Restricted::Open(vec![ok_constraint(); CONSTRAINTS_MAX + b.extra]);
            ex("constraints", at_most_entries(CONSTRAINTS_MAX))
        }),
        brk!(GrantDataAccess, |x, b| {
            let mut cs = match &x.constraints {
                Restricted::Open(cs) => cs.clone(),
                Restricted::Sealed(_) => vec![],
            };
            let i = push(
                &mut cs,
                Constraint {
                    left_operand: b.bad_id(),
                    ..ok_constraint()
                },
            );
            x.constraints = Restricted::Open(cs);
            ex(format!("constraints[{i}].left_operand"), "identifier")
        }),
        brk!(GrantDataAccess, |x, b| {
            let mut cs = match &x.constraints {
                Restricted::Open(cs) => cs.clone(),
                Restricted::Sealed(_) => vec![],
            };
            let i = push(
                &mut cs,
                Constraint {
                    right_operand: b.over(NAME_BYTES_MAX),
                    ..ok_constraint()
                },
            );
            x.constraints = Restricted::Open(cs);
            ex(
                format!("constraints[{i}].right_operand"),
                at_most_bytes(NAME_BYTES_MAX),
            )
        }),
        // revoke_grant
        brk!(RevokeGrant, |x, b| {
            x.grant_id.clear();
            ex("grant_id", "non-empty")
        }),
        brk!(RevokeGrant, |x, b| {
            x.reason = b.over(TEXT_BYTES_MAX);
            ex("reason", at_most_bytes(TEXT_BYTES_MAX))
        }),
        // anchor_document
        brk!(AnchorDocument, |x, b| {
            x.document.kind = b.bad_id();
            ex("document.kind", "identifier")
        }),
        brk!(AnchorDocument, |x, b| {
            x.document.title = b.over(NAME_BYTES_MAX);
            ex("document.title", at_most_bytes(NAME_BYTES_MAX))
        }),
        brk!(AnchorDocument, |x, b| {
            x.document.url = b.with_control();
            ex("document.url", "no control characters")
        }),
        brk!(AnchorDocument, |x, b| {
            x.supports = RecordRef::Asset(b.bad_id());
            ex("supports.asset", "identifier")
        }),
        brk!(AnchorDocument, |x, b| {
            x.supports = RecordRef::Award(b.over_id(), "a".into());
            ex("supports.ocid", at_most_bytes(ID_BYTES_MAX))
        }),
        brk!(AnchorDocument, |x, b| {
            x.supports = RecordRef::Award("o".into(), String::new());
            ex("supports.award_id", "non-empty")
        }),
        brk!(AnchorDocument, |x, b| {
            x.supports = RecordRef::Grant(b.bad_id());
            ex("supports.grant", "identifier")
        }),
        // register_member
        brk!(RegisterMember, |x, b| {
            x.agency = b.bad_agency();
            ex("agency", "identifier")
        }),
        brk!(RegisterMember, |x, b| {
            x.name.clear();
            ex("name", "non-empty")
        }),
        brk!(RegisterMember, |x, b| {
            x.name = b.over(NAME_BYTES_MAX);
            ex("name", at_most_bytes(NAME_BYTES_MAX))
        }),
        brk!(RegisterMember, |x, b| {
            x.roles.clear();
            ex("roles", "at least one role")
        }),
        brk!(RegisterMember, |x, b| {
            x.roles = Role::ALL
                .iter()
                .cycle()
                .take(ROLES_MAX + b.extra)
                .copied()
                .collect();
            ex("roles", at_most_entries(ROLES_MAX))
        }),
        brk!(RegisterMember, |x, b| {
            x.roles = vec![Role::ALL[b.extra % 4 + 1], Role::ALL[b.extra % 4]];
            ex("roles", "sorted")
        }),
        brk!(RegisterMember, |x, b| {
            let r = x.roles[x.roles.len() - 1];
            x.roles.push(r);
            ex("roles", "without duplicates")
        }),
        // revoke_member
        brk!(RevokeMember, |x, b| {
            x.agency = AgencyId(b.over_id());
            ex("agency", at_most_bytes(ID_BYTES_MAX))
        }),
        brk!(RevokeMember, |x, b| {
            x.reason.clear();
            ex("reason", "non-empty")
        }),
        brk!(RevokeMember, |x, b| {
            x.reason = b.with_control();
            ex("reason", "no control characters")
        }),
        // propose_change
        brk!(ProposeChange, |x, b| {
            x.proposal_id.clear();
            ex("proposal_id", "non-empty")
        }),
        brk!(ProposeChange, |x, b| {
            x.proposal_id = b.bad_id();
            ex("proposal_id", "identifier")
        }),
        brk!(ProposeChange, |x, b| {
            x.deadline = TimestampMs(0);
            ex("deadline", "after 0")
        }),
        brk!(ProposeChange, |x, b| {
            x.changes.clear();
            ex("changes", "at least one change")
        }),
        brk!(ProposeChange, |x, b| {
            x.changes = vec![ok_remove_agency(); CHANGES_MAX + b.extra];
            ex("changes", at_most_entries(CHANGES_MAX))
        }),
        brk!(ProposeChange, |x, b| {
            x.changes = vec![Change::AddAgency {
                id: AgencyId("mee".into()),
                name_zh: String::new(),
                name_en: "Ministry".into(),
                admin_keys: vec![PublicKey::Ed25519([1; 32])],
            }];
            ex("changes[0].add_agency.name_zh", "non-empty")
        }),
        brk!(ProposeChange, |x, b| {
            x.changes = vec![Change::AddAgency {
                id: AgencyId("mee".into()),
                name_zh: "部".into(),
                name_en: "Ministry".into(),
                admin_keys: vec![PublicKey::Ed25519([1; 32]); ADMIN_KEYS_MAX + b.extra],
            }];
            ex(
                "changes[0].add_agency.admin_keys",
                at_most_entries(ADMIN_KEYS_MAX),
            )
        }),
        brk!(ProposeChange, |x, b| {
            x.changes = vec![Change::AddValidator {
                agency: AgencyId("mee".into()),
                name: "mee-1".into(),
                consensus_key: PublicKey::Ed25519([1; 32]),
                network_key: chancery_core::NetworkKey([1; 32]),
                power: 1,
            }];
            ex(
                "changes[0].add_validator.network_key",
                "other than the consensus key",
            )
        }),
        brk!(ProposeChange, |x, b| {
            x.changes = vec![Change::AddValidator {
                agency: AgencyId("mee".into()),
                name: b.bad_id(),
                consensus_key: PublicKey::Ed25519([1; 32]),
                network_key: chancery_core::NetworkKey([2; 32]),
                power: 1,
            }];
            ex("changes[0].add_validator.name", "identifier")
        }),
        brk!(ProposeChange, |x, b| {
            x.changes = vec![Change::AddValidator {
                agency: AgencyId("mee".into()),
                name: "mee-1".into(),
                consensus_key: PublicKey::Ed25519([1; 32]),
                network_key: chancery_core::NetworkKey([2; 32]),
                power: 0,
            }];
            ex("changes[0].add_validator.power", "at least 1")
        }),
        brk!(ProposeChange, |x, b| {
            x.changes = vec![Change::RotateValidatorKeys {
                name: "mof-1".into(),
                consensus_key: None,
                network_key: None,
            }];
            ex("changes[0].rotate_validator_keys.consensus_key", "or both")
        }),
        brk!(ProposeChange, |x, b| {
            x.changes = vec![Change::SetAdminKeys {
                agency: AgencyId("mof".into()),
                admin_keys: vec![PublicKey::Ed25519([2; 32]), PublicKey::Ed25519([1; 32])],
            }];
            ex("changes[0].set_admin_keys.admin_keys", "sorted")
        }),
        brk!(ProposeChange, |x, b| {
            x.changes = vec![Change::SetAdminKeys {
                agency: AgencyId("mof".into()),
                admin_keys: vec![],
            }];
            ex("changes[0].set_admin_keys.admin_keys", "at least one")
        }),
        brk!(ProposeChange, |x, b| {
            x.changes = vec![Change::SetParams {
                params: ChainParams {
                    block_txs_max: 0,
                    ..ChainParams::default()
                },
            }];
            ex("changes[0].set_params.params.block_txs_max", "1..=")
        }),
        brk!(ProposeChange, |x, b| {
            x.changes = vec![Change::SetParams {
                params: ChainParams {
                    governance_threshold: Threshold {
                        numerator: 3,
                        denominator: 3,
                    },
                    ..ChainParams::default()
                },
            }];
            ex(
                "changes[0].set_params.params.governance_threshold.numerator",
                "below the denominator",
            )
        }),
        brk!(ProposeChange, |x, b| {
            let p = Change::SetParams {
                params: ChainParams::default(),
            };
            x.changes = vec![p.clone(), p];
            ex("changes[1]", "at most one set_params")
        }),
        // vote
        brk!(Vote, |x, b| {
            x.proposal_id.clear();
            ex("proposal_id", "non-empty")
        }),
        brk!(Vote, |x, b| {
            x.proposal_id = b.over_id();
            ex("proposal_id", at_most_bytes(ID_BYTES_MAX))
        }),
        // publish_tender
        brk!(PublishTender, |x, b| {
            x.ocid = b.bad_id();
            ex("ocid", "identifier")
        }),
        brk!(PublishTender, |x, b| {
            x.title.clear();
            ex("title", "non-empty")
        }),
        brk!(PublishTender, |x, b| {
            x.budget = b.bad_amount();
            ex("budget.currency", "ISO 4217")
        }),
        brk!(PublishTender, |x, b| {
            x.publish_date = Date::new(9999, 12, 31).unwrap();
            x.submission_deadline = Date::new(1900, 1, 1).unwrap();
            ex("submission_deadline", "on or after publish_date")
        }),
        brk!(PublishTender, |x, b| {
            x.publish_date = b.date;
            ex("publish_date", "valid date")
        }),
        // close_tender
        brk!(CloseTender, |x, b| {
            x.ocid.clear();
            ex("ocid", "non-empty")
        }),
        brk!(CloseTender, |x, b| {
            let s = Supplier {
                name: "A".into(),
                credit_code: "91110000100000000A".into(),
            };
            x.bidders = Restricted::Open(vec![s.clone(), s]);
            x.bids_received = 1;
            ex("bidders", "at most bids_received")
        }),
        brk!(CloseTender, |x, b| {
            x.date = b.date;
            ex("date", "valid date")
        }),
        // sign_contract
        brk!(SignContract, |x, b| {
            x.contract_id = b.over_id();
            ex("contract_id", at_most_bytes(ID_BYTES_MAX))
        }),
        brk!(SignContract, |x, b| {
            x.award_id.clear();
            ex("award_id", "non-empty")
        }),
        brk!(SignContract, |x, b| {
            x.signed_date = Date::new(9999, 12, 31).unwrap();
            x.period_start = Date::new(1900, 1, 1).unwrap();
            ex("period_start", "on or after signed_date")
        }),
        brk!(SignContract, |x, b| {
            x.signed_date = Date::new(1900, 1, 1).unwrap();
            x.period_start = Date::new(9999, 12, 31).unwrap();
            x.period_end = Date::new(1900, 1, 2).unwrap();
            ex("period_end", "on or after period_start")
        }),
        brk!(SignContract, |x, b| {
            x.value = b.bad_amount();
            ex("value.currency", "ISO 4217")
        }),
        // amend_contract
        brk!(AmendContract, |x, b| {
            x.value = None;
            x.period_end = None;
            ex("value", "a new value, a new period_end, or both")
        }),
        brk!(AmendContract, |x, b| {
            x.rationale.clear();
            ex("rationale", "non-empty")
        }),
        // record_implementation
        brk!(RecordImplementation, |x, b| {
            x.kind = ImplementationKind::FinalPayment;
            x.value = None;
            ex("value", "a payment needs a value")
        }),
        brk!(RecordImplementation, |x, b| {
            x.title = b.with_control();
            ex("title", "no control characters")
        }),
        brk!(RecordImplementation, |x, b| {
            x.date = b.date;
            ex("date", "valid date")
        }),
        // terminate_contract
        brk!(TerminateContract, |x, b| {
            x.reason.clear();
            ex("reason", "non-empty")
        }),
        brk!(TerminateContract, |x, b| {
            x.contract_id = b.bad_id();
            ex("contract_id", "identifier")
        }),
    ]
}

fn ok_remove_agency() -> Change {
    Change::RemoveAgency {
        id: AgencyId("nbs".into()),
    }
}

/// Break `record` with breaker `i`, and check that validation — directly, through
/// `decode::<Transaction>` and through `decode::<CanonicalRecord>` — names the field.
fn check_breaker(i: usize, mut record: Record, bad: &Bad) -> Result<(), TestCaseError> {
    let brs = breakers();
    let kind = record.kind();
    prop_assert_eq!(kind, brs[i].kind);
    prop_assert_eq!(
        record.validate(),
        Ok(()),
        "the generated record must be valid"
    );
    let (field, expected) = (brs[i].apply)(&mut record, bad);
    let want_field = format!("{}.{field}", kind.as_str());
    let err = match record.validate() {
        Ok(()) => {
            return Err(TestCaseError::fail(format!(
                "breaker {i} ({want_field}) did not break {record:?}"
            )))
        }
        Err(e) => e,
    };
    prop_assert_eq!(&err.field, &want_field, "breaker {}: {}", i, err);
    prop_assert!(
        err.expected.contains(&expected),
        "breaker {}: expected text {:?} lacks {:?}",
        i,
        err.expected,
        expected
    );
    // The same error comes out of decoding, with the enclosing path.
    let tx = Transaction {
        body: TxBody {
            chain_id: Digest::ZERO,
            signer: PublicKey::Ed25519([9; 32]),
            seq: Seq(1),
            record: record.clone(),
        },
        signature: Signature([0; 64]),
    };
    let bytes = encode(&tx);
    if bytes.len() <= TX_BYTES_MAX {
        match decode::<Transaction>(&bytes) {
            Err(CodecError::Invalid { ty, source }) => {
                prop_assert_eq!(ty, "transaction");
                prop_assert_eq!(source.field, format!("record.{want_field}"));
            }
            other => {
                return Err(TestCaseError::fail(format!(
                    "breaker {i}: decode gave {other:?}"
                )))
            }
        }
    }
    match decode::<CanonicalRecord>(&encode(&CanonicalRecord(record))) {
        Err(CodecError::Invalid { source, .. }) => prop_assert_eq!(source, err),
        Err(CodecError::TooLarge { .. }) => {}
        other => {
            return Err(TestCaseError::fail(format!(
                "breaker {i}: decode gave {other:?}"
            )))
        }
    }
    Ok(())
}

fn breaker_case() -> impl Strategy<Value = (usize, Record, Bad)> {
    let n = breakers().len();
    (0..n).prop_flat_map(|i| {
        let kind = breakers()[i].kind;
        (Just(i), record_of_kind(kind, Lists::Small), bad())
    })
}

proptest! {
    #![proptest_config(cfg(384))]

    /// Every rule of `Record::validate`, broken on a random valid record, is reported with
    /// the right field path.
    #[test]
    fn broken_rules_name_the_field((i, record, bad) in breaker_case()) {
        check_breaker(i, record, &bad)?;
    }
}

/// Each breaker once, deterministically, on the fixed sample record of its kind, so no rule
/// depends on the random draw to be exercised.
#[test]
fn every_breaker_breaks_the_sample_record() {
    let bad = Bad {
        extra: 1,
        chars: vec!['中', 'a'],
        id_char: '中',
        control: '\t',
        date: Date {
            year: 2023,
            month: 2,
            day: 29,
        },
        currency: Currency(*b"cny"),
        credit_code: "9111010871234567".into(),
    };
    let samples = samples::records();
    let brs = breakers();
    let mut kinds_covered = std::collections::BTreeSet::new();
    for (i, b) in brs.iter().enumerate() {
        let r = samples
            .iter()
            .find(|r| r.kind() == b.kind)
            .expect("a sample of every kind")
            .clone();
        if let Err(e) = check_breaker(i, r, &bad) {
            panic!("breaker {i}: {e}");
        }
        kinds_covered.insert(b.kind);
    }
    assert_eq!(
        kinds_covered.len(),
        RecordKind::ALL.len(),
        "a breaker for every kind"
    );
}

/// Sealed restricted fields carry no content to validate: an over-long location or
/// constraint list is only a problem when disclosed.
#[test]
fn sealed_fields_are_not_content_checked() {
    let long = "中".repeat(TEXT_BYTES_MAX);
    let mut r = samples::register_asset();
    r.location = Restricted::seal(
        chancery_core::suite::Suite::default(),
        &samples::SALT,
        &long,
    );
    assert_eq!(Record::RegisterAsset(r.clone()).validate(), Ok(()));
    assert!(r.location.opens_to(
        chancery_core::suite::Suite::default(),
        &samples::SALT,
        &long
    ));
    assert!(!r.location.opens_to(
        chancery_core::suite::Suite::default(),
        &samples::SALT,
        &"别处".to_string()
    ));
    assert!(!r
        .location
        .opens_to(chancery_core::suite::Suite::default(), &[8; 32], &long));
    r.location = Restricted::Open(long);
    assert!(Record::RegisterAsset(r).validate().is_err());
}

/// The rules of the other `Canonical` types, each broken once on a fixture value: the
/// error names the field, directly and through `decode`.
#[test]
fn other_types_name_the_broken_field() {
    fn expect<T: Canonical + Debug>(v: &T, field: &str) {
        match v.validate() {
            Err(e) => assert_eq!(e.field, field, "{e}"),
            Ok(()) => panic!("{} still valid after breaking {field}: {v:?}", T::NAME),
        }
        match decode::<T>(&encode(v)) {
            Err(CodecError::Invalid { ty, source }) => {
                assert_eq!(ty, T::NAME);
                assert_eq!(source.field, field);
            }
            other => panic!("{}: decode gave {other:?}", T::NAME),
        }
    }
    let g = samples::genesis();
    let mut h = samples::block_header();
    h.height = chancery_core::Height(0);
    expect(&h, "height");

    let block = Block {
        header: samples::block_header(),
        txs: vec![samples::transaction()],
    };
    let mut b = block.clone();
    b.header.tx_count = 2;
    expect(&b, "header.tx_count");
    let mut b = block.clone();
    b.header.txs_hash.0[0] ^= 1;
    expect(&b, "header.txs_hash");
    let mut b = block.clone();
    b.header.height = chancery_core::Height(0);
    expect(&b, "header.height");
    let mut b = block;
    if let Record::RegisterAsset(r) = &mut b.txs[0].body.record {
        r.quantity = 0;
    }
    expect(&b, "txs[0].record.register_asset.quantity");

    let mut e = samples::log_entry();
    if let Record::RegisterAsset(r) = &mut e.tx.body.record {
        r.unit.clear();
    }
    expect(&e, "tx.record.register_asset.unit");

    let c = samples::certificate();
    let mut x = c.clone();
    x.signatures.swap(0, 1);
    expect(&x, "signatures.index");
    let mut x = c.clone();
    x.signatures[1].index = x.signatures[0].index;
    expect(&x, "signatures.index");
    let mut x = c.clone();
    x.kind = VoteKind::Nullify;
    expect(&x, "block");
    let mut x = c;
    x.block = Digest::ZERO;
    expect(&x, "block");

    let vs = g.validators.clone();
    let mut x = vs.clone();
    x.validators.clear();
    expect(&x, "validators");
    let mut x = vs.clone();
    x.validators[2].power = 0;
    expect(&x, "validators[2].power");
    let mut x = vs.clone();
    x.validators[3].network_key = x.validators[1].network_key;
    expect(&x, "validators[3].network_key");
    let mut x = vs.clone();
    x.validators[3].consensus_key = x.validators[2].consensus_key;
    expect(&x, "validators[3].consensus_key");
    let mut x = vs.clone();
    x.validators[3].name = x.validators[0].name.clone();
    expect(&x, "validators[3].name");
    let mut x = vs.clone();
    x.validators[0].power = u64::MAX;
    expect(&x, "validators[1].power");
    let mut x = vs;
    x.validators[1].agency = AgencyId("财政部".into());
    expect(&x, "validators[1].agency");

    let mut x = g.clone();
    x.chain_name = "chancery beijing".into();
    expect(&x, "chain_name");
    let mut x = g.clone();
    x.agencies[1].name_zh.clear();
    expect(&x, "agencies[1].name_zh");
    let mut x = g.clone();
    x.agencies[0].admin_keys =
        vec![PublicKey::Ed25519([1; 32]); chancery_core::limits::ADMIN_KEYS_MAX + 1];
    expect(&x, "agencies[0].admin_keys");
    let mut x = g.clone();
    x.members[0].roles = vec![Role::Archivist, Role::Admin];
    expect(&x, "members[0].roles");
    let mut x = g;
    x.validators.validators[0].name.clear();
    expect(&x, "validators.validators[0].name");
}

// ------------------------------------------------------------------ transactions

proptest! {
    #![proptest_config(cfg(48))]

    /// A signed transaction verifies after its byte round trip, with the same hash and bytes.
    #[test]
    fn signature_survives_round_trip(tx in transaction()) {
        let bytes = tx.to_bytes();
        let back = Transaction::from_bytes(chancery_core::suite::Suite::default(), &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let chain = back.body.chain_id;
        let v = back.verify(&chain).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(v.hash(), tx.hash());
        prop_assert_eq!(v.bytes(), &bytes[..]);
        prop_assert_eq!(v.tx(), &tx);
        let mut other = chain;
        other.0[0] ^= 1;
        prop_assert!(
            matches!(tx.clone().verify(&other), Err(TxError::WrongChain { .. })),
            "wrong chain accepted"
        );
    }

    /// No single-byte change of a valid transaction yields another transaction that decodes
    /// and verifies; whatever still decodes has a different hash.
    #[test]
    fn single_byte_changes_never_verify(
        tx in transaction(),
        changes in vec((any::<Index>(), 1..=255u8), 1..=32),
    ) {
        let bytes = tx.to_bytes();
        let chain = tx.body.chain_id;
        for (at, mask) in changes {
            let mut m = bytes.clone();
            let i = at.index(m.len());
            m[i] ^= mask;
            check_changed_tx(&tx, &chain, &m, i)?;
        }
    }

    /// Batch verification finds exactly the transactions whose signature was spoiled.
    #[test]
    fn batch_verification_names_the_bad_ones(
        parts in vec((secret_key(), record(Lists::Small)), 1..=6),
        spoil in vec(any::<bool>(), 6),
    ) {
        let chain = Digest([0x5a; 32]);
        let mut input = Vec::new();
        for ((key, record), &bad) in parts.into_iter().zip(&spoil) {
            let body = TxBody { chain_id: chain, signer: key.public(), seq: Seq(0), record };
            let mut t = Transaction::sign(body, &key);
            if bad {
                t.signature.0[10] ^= 0x40;
            }
            input.push(t);
        }
        let results = tx::verify_batch(&chain, input);
        for (r, &bad) in results.iter().zip(&spoil) {
            prop_assert_eq!(r.is_err(), bad);
        }
    }
}

fn check_changed_tx(
    tx: &Transaction,
    chain: &Digest,
    changed: &[u8],
    at: usize,
) -> Result<(), TestCaseError> {
    if let Ok(t) = Transaction::from_bytes(chancery_core::suite::Suite::default(), changed) {
        prop_assert_ne!(
            t.hash(),
            tx.hash(),
            "byte {} changed but the hash did not",
            at
        );
        let verified = t.verify(chain);
        prop_assert!(
            verified.is_err(),
            "byte {} changed and the transaction still verifies",
            at
        );
    }
    Ok(())
}

/// Every byte of the fixture transaction, with its lowest or highest bit flipped: nothing
/// still verifies.
#[test]
fn every_byte_of_a_transaction_is_covered() {
    let tx = samples::transaction();
    let chain = samples::chain_id();
    assert!(tx.clone().verify(&chain).is_ok());
    let bytes = tx.to_bytes();
    let mut decoded = 0usize;
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut m = bytes.clone();
            m[i] ^= mask;
            if Transaction::from_bytes(chancery_core::suite::Suite::default(), &m).is_ok() {
                decoded += 1;
            }
            if let Err(e) = check_changed_tx(&tx, &chain, &m, i) {
                panic!("{e}");
            }
        }
    }
    // Every change inside the chain id, signer, sequence number and signature still decodes
    // (any bytes are valid there): verification, not the codec, must catch those.
    let fixed_bytes = 32 + 32 + 8 + 64;
    assert!(decoded >= 2 * fixed_bytes, "only {decoded} mutants decoded");
}

// ------------------------------------------------------------------ JSON

fn json_round_trip<T>(v: &T) -> Result<(), TestCaseError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + Debug,
{
    let s = serde_json::to_string(v).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: T =
        serde_json::from_str(&s).map_err(|e| TestCaseError::fail(format!("{e} in {s}")))?;
    prop_assert_eq!(&back, v);
    Ok(())
}

proptest! {
    #![proptest_config(cfg(64))]

    #[test]
    fn record_json_round_trip(r in any_record()) {
        json_round_trip(&r)?;
    }

    #[test]
    fn transaction_json_round_trip(tx in transaction()) {
        json_round_trip(&tx)?;
        // The JSON form carries the same transaction: its signature still verifies.
        let back: Transaction = serde_json::from_str(&serde_json::to_string(&tx).expect("serialize"))
            .expect("deserialize");
        let chain = back.body.chain_id;
        prop_assert!(back.verify(&chain).is_ok());
    }

}

proptest! {
    #![proptest_config(cfg(24))]

    #[test]
    fn other_types_json_round_trip(
        g in genesis(),
        h in block_header(),
        c in certificate(),
        e in log_entry(),
    ) {
        json_round_trip(&g)?;
        json_round_trip(&h)?;
        json_round_trip(&c)?;
        json_round_trip(&e)?;
        // Any JSON spelling of a genesis has the same chain id: it hashes canonical bytes.
        let back: Genesis = serde_json::from_str(&serde_json::to_string_pretty(&g).expect("ser"))
            .expect("de");
        prop_assert_eq!(back.chain_id(), g.chain_id());
    }
}

/// The snake_case names in code (`as_str`) and in JSON (serde) are the same spelling.
#[test]
fn names_in_code_match_names_in_json() {
    for r in REASON_CODES {
        assert_eq!(serde_json::to_value(r).expect("json"), r.as_str());
    }
    for r in Role::ALL {
        assert_eq!(serde_json::to_value(r).expect("json"), r.as_str());
        assert_eq!(Role::parse(r.as_str()), Some(r));
    }
    for k in RecordKind::ALL {
        assert_eq!(serde_json::to_value(k).expect("json"), k.as_str());
    }
    for r in samples::records() {
        let v = serde_json::to_value(&r).expect("json");
        assert_eq!(v["kind"], r.kind().as_str(), "{v}");
    }
}
