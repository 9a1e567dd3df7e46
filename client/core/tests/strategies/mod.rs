//! Proptest strategies for every kernel type that has a canonical encoding or sits inside
//! one, generating only VALID values (every rule of `Record::validate` and the
//! `Canonical::validate` impls holds), with edge sizes: empty optional lists, strings of
//! exactly their `*_MAX` bytes, Chinese and other multi-byte text, lists of exactly their
//! maximum length ([`Lists::Max`]).
//!
//! Shared by `codec_props.rs` and `fixtures.rs` through `mod strategies;`. The enum
//! variant lists below are checked for completeness by exhaustive matches in
//! [`variant_index`]-style functions, so a new variant fails to compile here until it is
//! added to the strategy.
#![allow(dead_code)]

pub mod samples;

use bincode::{Decode, Encode};
use chancery_core::block::{txs_hash, Block, BlockHeader, LogEntry, Outcome, ReasonCode};
use chancery_core::cert::{Certificate, IndexedSignature, VoteBody, VoteKind};
use chancery_core::codec::{Canonical, ValidationError};
use chancery_core::crypto::SecretKey;
use chancery_core::genesis::{Agency, ChainParams, Genesis, Member};
use chancery_core::governance::{Change, Threshold};
use chancery_core::limits::*;
use chancery_core::record::*;
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::validator::{Validator, ValidatorSet};
use chancery_core::{
    AgencyId, Amount, Currency, Date, Digest, Epoch, Height, PublicKey, Seq, Signature,
    TimestampMs, View,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use std::collections::BTreeSet;

// ------------------------------------------------------------------ test-local wrappers

/// `Record` is not itself `Canonical` (it travels inside a transaction); this wrapper gives
/// it the same codec so its encoding can be decoded, mutated and pinned on its own.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, serde::Serialize)]
#[bincode(decode_context = "chancery_core::suite::Suite")]
#[serde(transparent)]
pub struct CanonicalRecord(pub Record);

impl Canonical for CanonicalRecord {
    const NAME: &'static str = "record";
    const BYTES_MAX: usize = TX_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        self.0.validate()
    }
}

/// `VoteBody` is only ever encoded (to be signed); this wrapper lets the tests decode it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, serde::Serialize)]
#[bincode(decode_context = "chancery_core::suite::Suite")]
#[serde(transparent)]
pub struct CanonicalVote(pub VoteBody);

impl Canonical for CanonicalVote {
    const NAME: &'static str = "vote body";
    const BYTES_MAX: usize = 128;
    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

// ------------------------------------------------------------------ sizes

/// How long generated lists are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lists {
    /// 0..=3 entries (1..=3 where the rules require one), strings of any valid length.
    Small,
    /// Exactly the limit (`DOCUMENTS_MAX`, `ITEMS_MAX`, ...), with short strings so that a
    /// transaction still fits in `TX_BYTES_MAX`.
    Max,
}

/// Entries in a `Lists::Small` list.
pub const SMALL_MAX: usize = 3;

// ------------------------------------------------------------------ text

/// A character allowed in text fields: printable ASCII, common CJK, a few other multi-byte
/// characters (full-width punctuation, a 4-byte CJK extension B character, an emoji) and
/// newline, the one control character the rules allow.
pub fn text_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        4 => proptest::char::range('\u{4e00}', '\u{9fa5}'),
        1 => select(vec!['\n', 'é', '—', '€', '（', '）', '。', '、', '\u{20000}', '\u{1F600}']),
    ]
}

/// A string of exactly `bytes` bytes, cycling through `chars` while they fit, then padded
/// with ASCII `x`.
pub fn fill_exact(chars: &[char], bytes: usize) -> String {
    let mut s = String::with_capacity(bytes);
    for c in chars.iter().cycle() {
        if s.len() + c.len_utf8() > bytes {
            break;
        }
        s.push(*c);
    }
    while s.len() < bytes {
        s.push('x');
    }
    s
}

/// `s` cut (at a character boundary) to at most `max` bytes.
pub fn truncate_bytes(mut s: String, max: usize) -> String {
    while s.len() > max {
        s.pop();
    }
    s
}

fn text_in(min_chars: usize, max: usize) -> BoxedStrategy<String> {
    prop_oneof![
        8 => vec(text_char(), min_chars..=24)
            .prop_map(move |cs| truncate_bytes(cs.into_iter().collect(), max)),
        1 => vec(text_char(), 1..=6).prop_map(move |cs| fill_exact(&cs, max)),
    ]
    .boxed()
}

/// Free text of 0..=`max` bytes (sometimes exactly `max`).
pub fn text(max: usize) -> BoxedStrategy<String> {
    text_in(0, max)
}

/// Non-empty text of 1..=`max` bytes (sometimes exactly `max`).
pub fn nonempty(max: usize) -> BoxedStrategy<String> {
    text_in(1, max)
}

/// Characters of an identifier.
pub const ID_CHARS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:/";

/// An identifier: 1..=`ID_BYTES_MAX` bytes of `ID_CHARS` (sometimes exactly the maximum).
pub fn ident() -> BoxedStrategy<String> {
    let c = select(ID_CHARS.chars().collect::<Vec<_>>());
    prop_oneof![
        8 => vec(c.clone(), 1..=24).prop_map(|v| v.into_iter().collect::<String>()),
        1 => vec(c, 1..=4).prop_map(|cs| fill_exact(&cs, ID_BYTES_MAX)),
    ]
    .boxed()
}

/// An agency id.
pub fn agency() -> BoxedStrategy<AgencyId> {
    ident().prop_map(AgencyId).boxed()
}

/// Two different agency ids.
pub fn two_agencies() -> BoxedStrategy<(AgencyId, AgencyId)> {
    (agency(), agency())
        .prop_filter("distinct agencies", |(a, b)| a != b)
        .boxed()
}

// ------------------------------------------------------------------ small values

/// Any digest.
pub fn digest() -> impl Strategy<Value = Digest> {
    any::<[u8; 32]>().prop_map(Digest)
}

/// Any 32 bytes as a public key (records do not require a valid curve point).
pub fn public_key() -> impl Strategy<Value = PublicKey> {
    any::<[u8; 32]>().prop_map(PublicKey::Ed25519)
}

/// Any 64 bytes as a signature.
pub fn signature() -> impl Strategy<Value = Signature> {
    any::<[u8; 64]>().prop_map(Signature)
}

/// A signing key from a random seed.
pub fn secret_key() -> impl Strategy<Value = SecretKey> {
    any::<[u8; 32]>().prop_map(SecretKey::from_seed)
}

/// A u64 that is sometimes small, sometimes at the edges.
pub fn number() -> BoxedStrategy<u64> {
    prop_oneof![
        4 => 0..1_000u64,
        4 => any::<u64>(),
        1 => Just(u64::MAX),
    ]
    .boxed()
}

/// A u64 of at least 1.
pub fn positive() -> BoxedStrategy<u64> {
    prop_oneof![4 => 1..1_000u64, 4 => 1..=u64::MAX, 1 => Just(u64::MAX)].boxed()
}

/// A valid ISO 4217-shaped currency code (mostly CNY).
pub fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        3 => Just(Currency::CNY),
        1 => proptest::array::uniform3(b'A'..=b'Z').prop_map(Currency),
    ]
}

/// A valid amount.
pub fn amount() -> impl Strategy<Value = Amount> {
    (number(), currency()).prop_map(|(minor, currency)| Amount { minor, currency })
}

/// The last valid day of `(year, month)` that is at most `day`.
fn clamp_date(year: u16, month: u8, day: u8) -> Date {
    (1..=day.max(1))
        .rev()
        .find_map(|d| Date::new(year, month, d))
        .unwrap_or(Date {
            year,
            month,
            day: 1,
        })
}

/// A valid date, with the edges (1900-01-01, 9999-12-31, leap days) weighted in.
pub fn date() -> BoxedStrategy<Date> {
    prop_oneof![
        8 => (1900u16..=9999, 1u8..=12, 1u8..=31).prop_map(|(y, m, d)| clamp_date(y, m, d)),
        2 => (2000u16..=2100, 1u8..=12, 1u8..=31).prop_map(|(y, m, d)| clamp_date(y, m, d)),
        1 => select(vec![
            Date { year: 1900, month: 1, day: 1 },
            Date { year: 9999, month: 12, day: 31 },
            Date { year: 2000, month: 2, day: 29 },
            Date { year: 2024, month: 2, day: 29 },
            Date { year: 2026, month: 11, day: 30 },
        ]),
    ]
    .boxed()
}

/// Either disclosed (from `open`) or sealed.
pub fn restricted<T: Clone + std::fmt::Debug + 'static>(
    open: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Restricted<T>> {
    prop_oneof![
        3 => open.prop_map(Restricted::Open),
        1 => digest().prop_map(Restricted::Sealed),
    ]
    .boxed()
}

// ------------------------------------------------------------------ enums (complete lists)

/// Every `AcquisitionMethod`.
pub const ACQUISITION_METHODS: [AcquisitionMethod; 6] = [
    AcquisitionMethod::Purchase,
    AcquisitionMethod::Construction,
    AcquisitionMethod::Allocation,
    AcquisitionMethod::Donation,
    AcquisitionMethod::Exchange,
    AcquisitionMethod::Other,
];
/// Every `FundingSource`.
pub const FUNDING_SOURCES: [FundingSource; 5] = [
    FundingSource::FiscalAppropriation,
    FundingSource::SpecialFund,
    FundingSource::SelfRaised,
    FundingSource::Donation,
    FundingSource::Other,
];
/// Every `TransferKind`.
pub const TRANSFER_KINDS: [TransferKind; 3] = [
    TransferKind::Allocation,
    TransferKind::FreeTransfer,
    TransferKind::Exchange,
];
/// Every `DisposalMethod`.
pub const DISPOSAL_METHODS: [DisposalMethod; 6] = [
    DisposalMethod::Transfer,
    DisposalMethod::Donation,
    DisposalMethod::Sale,
    DisposalMethod::Exchange,
    DisposalMethod::Scrapping,
    DisposalMethod::WriteOff,
];
/// Every `ProcurementMethod`.
pub const PROCUREMENT_METHODS: [ProcurementMethod; 4] = [
    ProcurementMethod::Open,
    ProcurementMethod::Selective,
    ProcurementMethod::Limited,
    ProcurementMethod::Direct,
];
/// Every `AwardStatus` an award may carry (not `Cancelled`: that is `CancelAward`).
pub const LIVE_AWARD_STATUSES: [AwardStatus; 3] = [
    AwardStatus::Pending,
    AwardStatus::Active,
    AwardStatus::Unsuccessful,
];
/// Every `Action`, in order.
pub const ACTIONS: [Action; 5] = [
    Action::Read,
    Action::Use,
    Action::Derive,
    Action::Aggregate,
    Action::Distribute,
];
/// Every `SharingCondition`.
pub const SHARING_CONDITIONS: [SharingCondition; 2] = [
    SharingCondition::Unconditional,
    SharingCondition::Conditional,
];
/// Every `Operator`.
pub const OPERATORS: [Operator; 8] = [
    Operator::Eq,
    Operator::Neq,
    Operator::Lt,
    Operator::Lteq,
    Operator::Gt,
    Operator::Gteq,
    Operator::IsAnyOf,
    Operator::IsNoneOf,
];
/// Every `VoteKind`.
pub const VOTE_KINDS: [VoteKind; 3] = [VoteKind::Notarize, VoteKind::Nullify, VoteKind::Finalize];
/// Every `ReasonCode`.
pub const REASON_CODES: [ReasonCode; 48] = {
    use ReasonCode::*;
    [
        WrongChain,
        BadSignature,
        Malformed,
        UnknownSigner,
        SignerRevoked,
        MissingRole,
        BadSequence,
        WrongAgency,
        UnknownAgency,
        AssetExists,
        AssetUnknown,
        AssetDisposed,
        NotCustodian,
        AwardExists,
        AwardUnknown,
        AwardCancelled,
        NotPurchaser,
        GrantExists,
        GrantUnknown,
        GrantRevoked,
        NotGrantor,
        DatasetNotOwned,
        MemberExists,
        MemberUnknown,
        NotAdmin,
        DuplicateTx,
        ProposalExists,
        ProposalUnknown,
        ProposalClosed,
        ProposalExpired,
        AgencyExists,
        AgencyHasValidator,
        ValidatorExists,
        ValidatorUnknown,
        KeyReused,
        ValidatorSetTooSmall,
        LimitExceeded,
        TenderExists,
        TenderUnknown,
        TenderClosed,
        TenderOpen,
        DatesOutOfOrder,
        AwardNotActive,
        ContractExists,
        ContractUnknown,
        ContractClosed,
        CurrencyMismatch,
        PaymentExceedsContract,
    ]
};

/// Every `ImplementationKind`.
pub const IMPLEMENTATION_KINDS: [ImplementationKind; 3] = [
    ImplementationKind::Milestone,
    ImplementationKind::Payment,
    ImplementationKind::FinalPayment,
];

/// Position of each variant in the lists above. The matches are exhaustive, so adding a
/// variant to the kernel breaks this function until the variant is listed (and therefore
/// generated). `enum_lists_are_complete` in `codec_props.rs` checks the positions.
pub fn variant_positions() -> Vec<(&'static str, usize, usize)> {
    fn acq(v: AcquisitionMethod) -> usize {
        use AcquisitionMethod::*;
        match v {
            Purchase => 0,
            Construction => 1,
            Allocation => 2,
            Donation => 3,
            Exchange => 4,
            Other => 5,
        }
    }
    fn fund(v: FundingSource) -> usize {
        use FundingSource::*;
        match v {
            FiscalAppropriation => 0,
            SpecialFund => 1,
            SelfRaised => 2,
            Donation => 3,
            Other => 4,
        }
    }
    fn tk(v: TransferKind) -> usize {
        match v {
            TransferKind::Allocation => 0,
            TransferKind::FreeTransfer => 1,
            TransferKind::Exchange => 2,
        }
    }
    fn dm(v: DisposalMethod) -> usize {
        use DisposalMethod::*;
        match v {
            Transfer => 0,
            Donation => 1,
            Sale => 2,
            Exchange => 3,
            Scrapping => 4,
            WriteOff => 5,
        }
    }
    fn pm(v: ProcurementMethod) -> usize {
        use ProcurementMethod::*;
        match v {
            Open => 0,
            Selective => 1,
            Limited => 2,
            Direct => 3,
        }
    }
    fn st(v: AwardStatus) -> usize {
        use AwardStatus::*;
        match v {
            Pending => 0,
            Active => 1,
            Unsuccessful => 2,
            Cancelled => 3,
        }
    }
    fn act(v: Action) -> usize {
        use Action::*;
        match v {
            Read => 0,
            Use => 1,
            Derive => 2,
            Aggregate => 3,
            Distribute => 4,
        }
    }
    fn sc(v: SharingCondition) -> usize {
        match v {
            SharingCondition::Unconditional => 0,
            SharingCondition::Conditional => 1,
        }
    }
    fn op(v: Operator) -> usize {
        use Operator::*;
        match v {
            Eq => 0,
            Neq => 1,
            Lt => 2,
            Lteq => 3,
            Gt => 4,
            Gteq => 5,
            IsAnyOf => 6,
            IsNoneOf => 7,
        }
    }
    fn vk(v: VoteKind) -> usize {
        match v {
            VoteKind::Notarize => 0,
            VoteKind::Nullify => 1,
            VoteKind::Finalize => 2,
        }
    }
    fn rc(v: ReasonCode) -> usize {
        use ReasonCode::*;
        match v {
            WrongChain => 0,
            BadSignature => 1,
            Malformed => 2,
            UnknownSigner => 3,
            SignerRevoked => 4,
            MissingRole => 5,
            BadSequence => 6,
            WrongAgency => 7,
            UnknownAgency => 8,
            AssetExists => 9,
            AssetUnknown => 10,
            AssetDisposed => 11,
            NotCustodian => 12,
            AwardExists => 13,
            AwardUnknown => 14,
            AwardCancelled => 15,
            NotPurchaser => 16,
            GrantExists => 17,
            GrantUnknown => 18,
            GrantRevoked => 19,
            NotGrantor => 20,
            DatasetNotOwned => 21,
            MemberExists => 22,
            MemberUnknown => 23,
            NotAdmin => 24,
            DuplicateTx => 25,
            ProposalExists => 26,
            ProposalUnknown => 27,
            ProposalClosed => 28,
            ProposalExpired => 29,
            AgencyExists => 30,
            AgencyHasValidator => 31,
            ValidatorExists => 32,
            ValidatorUnknown => 33,
            KeyReused => 34,
            ValidatorSetTooSmall => 35,
            LimitExceeded => 36,
            TenderExists => 37,
            TenderUnknown => 38,
            TenderClosed => 39,
            TenderOpen => 40,
            DatesOutOfOrder => 41,
            AwardNotActive => 42,
            ContractExists => 43,
            ContractUnknown => 44,
            ContractClosed => 45,
            CurrencyMismatch => 46,
            PaymentExceedsContract => 47,
        }
    }
    fn ik(v: ImplementationKind) -> usize {
        match v {
            ImplementationKind::Milestone => 0,
            ImplementationKind::Payment => 1,
            ImplementationKind::FinalPayment => 2,
        }
    }
    fn rr(v: &RecordRef) -> usize {
        match v {
            RecordRef::None => 0,
            RecordRef::Asset(_) => 1,
            RecordRef::Award(_, _) => 2,
            RecordRef::Grant(_) => 3,
            RecordRef::Tx(_) => 4,
        }
    }
    let mut out = Vec::new();
    let mut push = |name, list_index, position| out.push((name, list_index, position));
    for (i, v) in ACQUISITION_METHODS.iter().enumerate() {
        push("AcquisitionMethod", i, acq(*v));
    }
    for (i, v) in FUNDING_SOURCES.iter().enumerate() {
        push("FundingSource", i, fund(*v));
    }
    for (i, v) in TRANSFER_KINDS.iter().enumerate() {
        push("TransferKind", i, tk(*v));
    }
    for (i, v) in DISPOSAL_METHODS.iter().enumerate() {
        push("DisposalMethod", i, dm(*v));
    }
    for (i, v) in PROCUREMENT_METHODS.iter().enumerate() {
        push("ProcurementMethod", i, pm(*v));
    }
    for (i, v) in LIVE_AWARD_STATUSES.iter().enumerate() {
        push("AwardStatus", i, st(*v));
    }
    for (i, v) in ACTIONS.iter().enumerate() {
        push("Action", i, act(*v));
    }
    for (i, v) in SHARING_CONDITIONS.iter().enumerate() {
        push("SharingCondition", i, sc(*v));
    }
    for (i, v) in OPERATORS.iter().enumerate() {
        push("Operator", i, op(*v));
    }
    for (i, v) in VOTE_KINDS.iter().enumerate() {
        push("VoteKind", i, vk(*v));
    }
    for (i, v) in REASON_CODES.iter().enumerate() {
        push("ReasonCode", i, rc(*v));
    }
    for (i, v) in IMPLEMENTATION_KINDS.iter().enumerate() {
        push("ImplementationKind", i, ik(*v));
    }
    let refs = [
        RecordRef::None,
        RecordRef::Asset(String::new()),
        RecordRef::Award(String::new(), String::new()),
        RecordRef::Grant(String::new()),
        RecordRef::Tx(Digest::ZERO),
    ];
    for (i, v) in refs.iter().enumerate() {
        push("RecordRef", i, rr(v));
    }
    out
}

/// One of a list of copyable values.
fn one_of<T: Copy + std::fmt::Debug + 'static>(all: &[T]) -> BoxedStrategy<T> {
    select(all.to_vec()).boxed()
}

// ------------------------------------------------------------------ record parts

/// A document reference.
pub fn document_ref() -> BoxedStrategy<DocumentRef> {
    (
        digest(),
        ident(),
        nonempty(NAME_BYTES_MAX),
        text(URL_BYTES_MAX),
    )
        .prop_map(|(hash, kind, title, url)| DocumentRef {
            hash,
            kind,
            title,
            url,
        })
        .boxed()
}

fn short_document(hash: Digest) -> DocumentRef {
    DocumentRef {
        hash,
        kind: "approval".into(),
        title: "批复".into(),
        url: String::new(),
    }
}

/// Documents: 0..=3 of any size, or exactly `DOCUMENTS_MAX` short ones.
pub fn documents(lists: Lists) -> BoxedStrategy<Vec<DocumentRef>> {
    match lists {
        Lists::Small => vec(document_ref(), 0..=SMALL_MAX).boxed(),
        Lists::Max => vec(digest().prop_map(short_document), DOCUMENTS_MAX).boxed(),
    }
}

/// Characters of a unified social credit code.
pub const CREDIT_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// An 18-character unified social credit code.
pub fn credit_code() -> BoxedStrategy<String> {
    vec(select(CREDIT_CHARS.chars().collect::<Vec<_>>()), 18)
        .prop_map(|v| v.into_iter().collect())
        .boxed()
}

/// A supplier.
pub fn supplier() -> BoxedStrategy<Supplier> {
    (nonempty(NAME_BYTES_MAX), credit_code())
        .prop_map(|(name, credit_code)| Supplier { name, credit_code })
        .boxed()
}

/// Suppliers: 0..=3, or exactly `SUPPLIERS_MAX` with short names.
pub fn suppliers(lists: Lists) -> BoxedStrategy<Vec<Supplier>> {
    match lists {
        Lists::Small => vec(supplier(), 0..=SMALL_MAX).boxed(),
        Lists::Max => vec(
            credit_code().prop_map(|credit_code| Supplier {
                name: "某某有限公司".into(),
                credit_code,
            }),
            SUPPLIERS_MAX,
        )
        .boxed(),
    }
}

/// An item.
pub fn item() -> BoxedStrategy<Item> {
    (
        ident(),
        nonempty(TEXT_BYTES_MAX),
        text(ID_BYTES_MAX),
        text(ID_BYTES_MAX),
        number(),
        text(NAME_BYTES_MAX),
        proptest::option::of(amount()),
    )
        .prop_map(
            |(
                id,
                description,
                classification_scheme,
                classification_id,
                quantity,
                unit,
                unit_value,
            )| {
                Item {
                    id,
                    description,
                    classification_scheme,
                    classification_id,
                    quantity,
                    unit,
                    unit_value,
                }
            },
        )
        .boxed()
}

/// Make item ids unique (the rules require it) without changing anything else.
pub fn unique_item_ids(mut items: Vec<Item>) -> Vec<Item> {
    let mut seen = BTreeSet::new();
    for (i, it) in items.iter_mut().enumerate() {
        let mut n = 0usize;
        while !seen.insert(it.id.clone()) {
            it.id = format!("dup-{i}-{n}");
            n += 1;
        }
    }
    items
}

/// Items: 0..=3 with unique ids, or exactly `ITEMS_MAX` short ones.
pub fn items(lists: Lists) -> BoxedStrategy<Vec<Item>> {
    match lists {
        Lists::Small => vec(item(), 0..=SMALL_MAX).prop_map(unique_item_ids).boxed(),
        Lists::Max => vec((number(), proptest::option::of(amount())), ITEMS_MAX)
            .prop_map(|v| {
                v.into_iter()
                    .enumerate()
                    .map(|(i, (quantity, unit_value))| Item {
                        id: format!("{i}"),
                        description: "台式计算机".into(),
                        classification_scheme: String::new(),
                        classification_id: String::new(),
                        quantity,
                        unit: "台".into(),
                        unit_value,
                    })
                    .collect()
            })
            .boxed(),
    }
}

/// A constraint.
pub fn constraint() -> BoxedStrategy<Constraint> {
    (ident(), one_of(&OPERATORS), nonempty(NAME_BYTES_MAX))
        .prop_map(|(left_operand, operator, right_operand)| Constraint {
            left_operand,
            operator,
            right_operand,
        })
        .boxed()
}

/// Constraints: disclosed (0..=3, or exactly `CONSTRAINTS_MAX`) or sealed.
pub fn constraints(lists: Lists) -> BoxedStrategy<Restricted<Vec<Constraint>>> {
    match lists {
        Lists::Small => restricted(vec(constraint(), 0..=SMALL_MAX)),
        Lists::Max => vec(
            (one_of(&OPERATORS), 0..1000u32).prop_map(|(operator, n)| Constraint {
                left_operand: "count".into(),
                operator,
                right_operand: n.to_string(),
            }),
            CONSTRAINTS_MAX,
        )
        .prop_map(Restricted::Open)
        .boxed(),
    }
}

/// What an anchored document supports.
pub fn record_ref() -> BoxedStrategy<RecordRef> {
    prop_oneof![
        Just(RecordRef::None),
        ident().prop_map(RecordRef::Asset),
        (ident(), ident()).prop_map(|(o, a)| RecordRef::Award(o, a)),
        ident().prop_map(RecordRef::Grant),
        digest().prop_map(RecordRef::Tx),
    ]
    .boxed()
}

/// A GB/T 14885-shaped category code: 1..=16 ASCII letters and digits.
pub fn category() -> BoxedStrategy<String> {
    let c = select(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
            .chars()
            .collect::<Vec<_>>(),
    );
    vec(c, 1..=16).prop_map(|v| v.into_iter().collect()).boxed()
}

// ------------------------------------------------------------------ records

/// A `RegisterAsset`.
pub fn register_asset(lists: Lists) -> BoxedStrategy<RegisterAsset> {
    (
        (
            ident(),
            category(),
            nonempty(NAME_BYTES_MAX),
            text(NAME_BYTES_MAX),
        ),
        (
            positive(),
            nonempty(NAME_BYTES_MAX),
            one_of(&ACQUISITION_METHODS),
        ),
        (date(), amount(), one_of(&FUNDING_SOURCES), agency()),
        (restricted(text(TEXT_BYTES_MAX)), documents(lists)),
    )
        .prop_map(
            |(
                (asset_id, category, name, spec_model),
                (quantity, unit, acquisition_method),
                (acquisition_date, original_value, funding_source, custodian),
                (location, documents),
            )| RegisterAsset {
                asset_id,
                category,
                name,
                spec_model,
                quantity,
                unit,
                acquisition_method,
                acquisition_date,
                original_value,
                funding_source,
                custodian,
                location,
                documents,
            },
        )
        .boxed()
}

/// A `TransferAsset`.
pub fn transfer_asset() -> BoxedStrategy<TransferAsset> {
    (
        ident(),
        two_agencies(),
        one_of(&TRANSFER_KINDS),
        digest(),
        date(),
    )
        .prop_map(
            |(asset_id, (from, to), kind, approval_document, effective_date)| TransferAsset {
                asset_id,
                from,
                to,
                kind,
                approval_document,
                effective_date,
            },
        )
        .boxed()
}

/// A `DisposeAsset`.
pub fn dispose_asset() -> BoxedStrategy<DisposeAsset> {
    (
        ident(),
        one_of(&DISPOSAL_METHODS),
        digest(),
        date(),
        proptest::option::of(amount()),
        proptest::option::of(restricted(nonempty(NAME_BYTES_MAX))),
    )
        .prop_map(
            |(asset_id, method, approval_document, date, proceeds, counterparty)| DisposeAsset {
                asset_id,
                method,
                approval_document,
                date,
                proceeds,
                counterparty,
            },
        )
        .boxed()
}

/// An `AwardProcurement`. An active award always has a supplier.
pub fn award_procurement(lists: Lists) -> BoxedStrategy<AwardProcurement> {
    (
        (
            ident(),
            ident(),
            nonempty(ID_BYTES_MAX),
            nonempty(NAME_BYTES_MAX),
        ),
        (text(TEXT_BYTES_MAX), agency(), one_of(&PROCUREMENT_METHODS)),
        (text(NAME_BYTES_MAX), suppliers(lists), amount(), date()),
        (one_of(&LIVE_AWARD_STATUSES), items(lists), documents(lists)),
    )
        .prop_map(
            |(
                (ocid, award_id, project_number, title),
                (description, purchaser, method),
                (method_details, suppliers, value, award_date),
                (status, items, documents),
            )| {
                let status = if suppliers.is_empty() && status == AwardStatus::Active {
                    AwardStatus::Pending
                } else {
                    status
                };
                AwardProcurement {
                    ocid,
                    award_id,
                    project_number,
                    title,
                    description,
                    purchaser,
                    method,
                    method_details,
                    suppliers,
                    value,
                    award_date,
                    status,
                    items,
                    documents,
                }
            },
        )
        .boxed()
}

/// An `AmendAward`.
pub fn amend_award(lists: Lists) -> BoxedStrategy<AmendAward> {
    (
        (ident(), ident(), nonempty(TEXT_BYTES_MAX), date()),
        (
            proptest::option::of(amount()),
            proptest::option::of(suppliers(lists)),
            proptest::option::of(items(lists)),
        ),
        (
            proptest::option::of(one_of(&LIVE_AWARD_STATUSES)),
            documents(lists),
        ),
    )
        .prop_map(
            |(
                (ocid, award_id, rationale, date),
                (value, suppliers, items),
                (status, documents),
            )| {
                AmendAward {
                    ocid,
                    award_id,
                    rationale,
                    date,
                    value,
                    suppliers,
                    items,
                    status,
                    documents,
                }
            },
        )
        .boxed()
}

/// A `CancelAward`.
pub fn cancel_award() -> BoxedStrategy<CancelAward> {
    (ident(), ident(), nonempty(TEXT_BYTES_MAX), date())
        .prop_map(|(ocid, award_id, reason, date)| CancelAward {
            ocid,
            award_id,
            reason,
            date,
        })
        .boxed()
}

/// A sorted, duplicate-free, non-empty list of actions (all of them for `Lists::Max`).
pub fn actions(lists: Lists) -> BoxedStrategy<Vec<Action>> {
    match lists {
        Lists::Small => subsequence(ACTIONS.to_vec(), 1..=ACTIONS.len()).boxed(),
        Lists::Max => Just(ACTIONS.to_vec()).boxed(),
    }
}

/// A `GrantDataAccess`.
pub fn grant_data_access(lists: Lists) -> BoxedStrategy<GrantDataAccess> {
    (
        (ident(), ident(), two_agencies(), actions(lists)),
        (nonempty(TEXT_BYTES_MAX), one_of(&SHARING_CONDITIONS)),
        (date(), date(), constraints(lists)),
    )
        .prop_map(
            |(
                (grant_id, dataset_id, (grantor, grantee), actions),
                (purpose, condition),
                (a, b, constraints),
            )| GrantDataAccess {
                grant_id,
                dataset_id,
                grantor,
                grantee,
                actions,
                purpose,
                condition,
                valid_from: a.min(b),
                valid_until: a.max(b),
                constraints,
            },
        )
        .boxed()
}

/// A `RevokeGrant`.
pub fn revoke_grant() -> BoxedStrategy<RevokeGrant> {
    (ident(), nonempty(TEXT_BYTES_MAX))
        .prop_map(|(grant_id, reason)| RevokeGrant { grant_id, reason })
        .boxed()
}

/// An `AnchorDocument`.
pub fn anchor_document() -> BoxedStrategy<AnchorDocument> {
    (document_ref(), record_ref())
        .prop_map(|(document, supports)| AnchorDocument { document, supports })
        .boxed()
}

/// A sorted, duplicate-free list of roles with 1..=5 entries (all of them for `Lists::Max`).
pub fn roles(lists: Lists) -> BoxedStrategy<Vec<Role>> {
    match lists {
        Lists::Small => subsequence(Role::ALL.to_vec(), 1..=Role::ALL.len()).boxed(),
        Lists::Max => Just(Role::ALL.to_vec()).boxed(),
    }
}

/// A `RegisterMember`.
pub fn register_member(lists: Lists) -> BoxedStrategy<RegisterMember> {
    (
        agency(),
        public_key(),
        nonempty(NAME_BYTES_MAX),
        roles(lists),
    )
        .prop_map(|(agency, key, name, roles)| RegisterMember {
            agency,
            key,
            name,
            roles,
        })
        .boxed()
}

/// A `RevokeMember`.
pub fn revoke_member() -> BoxedStrategy<RevokeMember> {
    (agency(), public_key(), nonempty(TEXT_BYTES_MAX))
        .prop_map(|(agency, key, reason)| RevokeMember {
            agency,
            key,
            reason,
        })
        .boxed()
}

/// A record of the given kind.
pub fn record_of_kind(kind: RecordKind, lists: Lists) -> BoxedStrategy<Record> {
    match kind {
        RecordKind::RegisterAsset => register_asset(lists)
            .prop_map(Record::RegisterAsset)
            .boxed(),
        RecordKind::TransferAsset => transfer_asset().prop_map(Record::TransferAsset).boxed(),
        RecordKind::DisposeAsset => dispose_asset().prop_map(Record::DisposeAsset).boxed(),
        RecordKind::AwardProcurement => award_procurement(lists)
            .prop_map(Record::AwardProcurement)
            .boxed(),
        RecordKind::AmendAward => amend_award(lists).prop_map(Record::AmendAward).boxed(),
        RecordKind::CancelAward => cancel_award().prop_map(Record::CancelAward).boxed(),
        RecordKind::GrantDataAccess => grant_data_access(lists)
            .prop_map(Record::GrantDataAccess)
            .boxed(),
        RecordKind::RevokeGrant => revoke_grant().prop_map(Record::RevokeGrant).boxed(),
        RecordKind::AnchorDocument => anchor_document().prop_map(Record::AnchorDocument).boxed(),
        RecordKind::RegisterMember => register_member(lists)
            .prop_map(Record::RegisterMember)
            .boxed(),
        RecordKind::RevokeMember => revoke_member().prop_map(Record::RevokeMember).boxed(),
        RecordKind::ProposeChange => propose_change(lists)
            .prop_map(Record::ProposeChange)
            .boxed(),
        RecordKind::Vote => vote().prop_map(Record::Vote).boxed(),
        RecordKind::PublishTender => publish_tender(lists)
            .prop_map(Record::PublishTender)
            .boxed(),
        RecordKind::CloseTender => close_tender(lists).prop_map(Record::CloseTender).boxed(),
        RecordKind::SignContract => sign_contract(lists).prop_map(Record::SignContract).boxed(),
        RecordKind::AmendContract => amend_contract(lists)
            .prop_map(Record::AmendContract)
            .boxed(),
        RecordKind::RecordImplementation => record_implementation(lists)
            .prop_map(Record::RecordImplementation)
            .boxed(),
        RecordKind::TerminateContract => terminate_contract()
            .prop_map(Record::TerminateContract)
            .boxed(),
    }
}

/// Two dates, in order.
fn ordered_dates() -> BoxedStrategy<(Date, Date)> {
    (date(), date())
        .prop_map(|(a, b)| (a.min(b), a.max(b)))
        .boxed()
}

/// A `PublishTender`: its deadline never before it opens.
pub fn publish_tender(lists: Lists) -> BoxedStrategy<PublishTender> {
    (
        (
            ident(),
            nonempty(NAME_BYTES_MAX),
            text(TEXT_BYTES_MAX),
            agency(),
        ),
        (one_of(&PROCUREMENT_METHODS), text(NAME_BYTES_MAX), amount()),
        (items(lists), ordered_dates(), documents(lists)),
    )
        .prop_map(
            |(
                (ocid, title, description, purchaser),
                (method, method_details, budget),
                (items, (publish_date, submission_deadline), documents),
            )| PublishTender {
                ocid,
                title,
                description,
                purchaser,
                method,
                method_details,
                budget,
                items,
                publish_date,
                submission_deadline,
                documents,
            },
        )
        .boxed()
}

/// A `CloseTender`: disclosed bidders never outnumber the bids.
pub fn close_tender(lists: Lists) -> BoxedStrategy<CloseTender> {
    (ident(), date(), any::<u32>(), restricted(suppliers(lists)))
        .prop_map(|(ocid, date, bids, bidders)| {
            let bids_received = match &bidders {
                Restricted::Open(b) => bids.max(b.len() as u32),
                Restricted::Sealed(_) => bids,
            };
            CloseTender {
                ocid,
                date,
                bids_received,
                bidders,
            }
        })
        .boxed()
}

/// A `SignContract`: signed, started and ended in order.
pub fn sign_contract(lists: Lists) -> BoxedStrategy<SignContract> {
    (
        (ident(), ident(), ident(), nonempty(NAME_BYTES_MAX)),
        (amount(), ordered_dates(), date(), documents(lists)),
    )
        .prop_map(
            |((ocid, contract_id, award_id, title), (value, (signed, start), end, documents))| {
                SignContract {
                    ocid,
                    contract_id,
                    award_id,
                    title,
                    value,
                    signed_date: signed,
                    period_start: start,
                    period_end: end.max(start),
                    documents,
                }
            },
        )
        .boxed()
}

/// An `AmendContract`: it changes the value, the end of the period, or both.
pub fn amend_contract(lists: Lists) -> BoxedStrategy<AmendContract> {
    (
        (ident(), ident(), nonempty(TEXT_BYTES_MAX), date()),
        (
            proptest::option::of(amount()),
            proptest::option::of(date()),
            documents(lists),
        ),
    )
        .prop_map(
            |((ocid, contract_id, rationale, date), (value, period_end, documents))| {
                let period_end = match (value, period_end) {
                    (None, None) => Some(date),
                    (_, p) => p,
                };
                AmendContract {
                    ocid,
                    contract_id,
                    rationale,
                    date,
                    value,
                    period_end,
                    documents,
                }
            },
        )
        .boxed()
}

/// A `RecordImplementation`: a payment always has a value.
pub fn record_implementation(lists: Lists) -> BoxedStrategy<RecordImplementation> {
    (
        (ident(), ident(), one_of(&IMPLEMENTATION_KINDS)),
        (nonempty(NAME_BYTES_MAX), date(), amount(), any::<bool>()),
        documents(lists),
    )
        .prop_map(
            |((ocid, contract_id, kind), (title, date, v, milestone_value), documents)| {
                let value = (kind != ImplementationKind::Milestone || milestone_value).then_some(v);
                RecordImplementation {
                    ocid,
                    contract_id,
                    kind,
                    title,
                    date,
                    value,
                    documents,
                }
            },
        )
        .boxed()
}

/// A `TerminateContract`.
pub fn terminate_contract() -> BoxedStrategy<TerminateContract> {
    (ident(), ident(), date(), nonempty(TEXT_BYTES_MAX))
        .prop_map(|(ocid, contract_id, date, reason)| TerminateContract {
            ocid,
            contract_id,
            date,
            reason,
        })
        .boxed()
}

/// A record of any kind (each kind equally likely).
pub fn record(lists: Lists) -> BoxedStrategy<Record> {
    select(RecordKind::ALL.to_vec())
        .prop_flat_map(move |k| record_of_kind(k, lists))
        .boxed()
}

/// A record of any kind with small or maximal lists.
pub fn any_record() -> BoxedStrategy<Record> {
    prop_oneof![4 => record(Lists::Small), 1 => record(Lists::Max)].boxed()
}

// ------------------------------------------------------------------ transactions, blocks

/// A transaction body signed by a key made from a random seed.
pub fn transaction_with(record: BoxedStrategy<Record>) -> BoxedStrategy<Transaction> {
    (digest(), secret_key(), number(), record)
        .prop_map(|(chain_id, key, seq, record)| {
            let body = TxBody {
                chain_id,
                signer: key.public(),
                seq: Seq(seq),
                record,
            };
            Transaction::sign(body, &key)
        })
        .boxed()
}

/// A correctly signed transaction carrying any record.
pub fn transaction() -> BoxedStrategy<Transaction> {
    transaction_with(any_record())
}

/// A correctly signed transaction together with its signing key.
pub fn transaction_and_key() -> BoxedStrategy<(Transaction, SecretKey)> {
    (digest(), secret_key(), number(), any_record())
        .prop_map(|(chain_id, key, seq, record)| {
            let body = TxBody {
                chain_id,
                signer: key.public(),
                seq: Seq(seq),
                record,
            };
            (Transaction::sign(body, &key), key)
        })
        .boxed()
}

/// A block header (height at least 1).
pub fn block_header() -> BoxedStrategy<BlockHeader> {
    (
        (
            digest(),
            number(),
            positive(),
            number(),
            digest(),
            any::<u16>(),
        ),
        (number(), digest(), any::<u32>(), number()),
        (digest(), digest(), digest(), digest()),
    )
        .prop_map(
            |(
                (chain_id, epoch, height, view, parent, proposer),
                (time, txs_hash, tx_count, log_size),
                (log_root, state_root, validator_set, next_validator_set),
            )| BlockHeader {
                chain_id,
                epoch: Epoch(epoch),
                height: Height(height),
                view: View(view),
                parent,
                proposer,
                time: TimestampMs(time),
                txs_hash,
                tx_count,
                log_size,
                log_root,
                state_root,
                validator_set,
                next_validator_set,
            },
        )
        .boxed()
}

/// A block whose header's `tx_count` and `txs_hash` match its 0..=3 transactions.
pub fn block() -> BoxedStrategy<Block> {
    (
        block_header(),
        vec(transaction_with(record(Lists::Small)), 0..=SMALL_MAX),
    )
        .prop_map(|(mut header, txs)| {
            header.tx_count = txs.len() as u32;
            header.txs_hash = txs_hash(
                chancery_core::suite::Suite::default(),
                txs.iter().map(Transaction::hash),
            );
            Block { header, txs }
        })
        .boxed()
}

/// An outcome.
pub fn outcome() -> BoxedStrategy<Outcome> {
    prop_oneof![
        Just(Outcome::Applied),
        one_of(&REASON_CODES).prop_map(Outcome::Rejected),
    ]
    .boxed()
}

/// A log entry.
pub fn log_entry() -> BoxedStrategy<LogEntry> {
    (number(), number(), transaction(), outcome())
        .prop_map(|(height, time, tx, outcome)| LogEntry {
            height: Height(height),
            time: TimestampMs(time),
            tx,
            outcome,
        })
        .boxed()
}

// ------------------------------------------------------------------ consensus

/// A vote body (the zero digest for nullify votes).
pub fn vote_body() -> BoxedStrategy<VoteBody> {
    (digest(), number(), number(), one_of(&VOTE_KINDS), digest())
        .prop_map(|(chain_id, epoch, view, kind, block)| VoteBody {
            chain_id,
            epoch: Epoch(epoch),
            view: View(view),
            kind,
            block: if kind == VoteKind::Nullify {
                Digest::ZERO
            } else {
                block
            },
        })
        .boxed()
}

/// A certificate with `n_min..=n_max` signatures at strictly increasing indices. Its
/// signatures are random bytes: it satisfies the format rules, not `Certificate::verify`.
pub fn certificate_sized(n_min: usize, n_max: usize) -> BoxedStrategy<Certificate> {
    (
        one_of(&VOTE_KINDS),
        number(),
        number(),
        digest().prop_filter("non-zero digest", |d| *d != Digest::ZERO),
        proptest::collection::btree_set(any::<u16>(), n_min..=n_max),
        vec(signature(), n_max),
    )
        .prop_map(|(kind, epoch, view, block, indices, sigs)| Certificate {
            kind,
            epoch: Epoch(epoch),
            view: View(view),
            block: if kind == VoteKind::Nullify {
                Digest::ZERO
            } else {
                block
            },
            signatures: indices
                .into_iter()
                .zip(sigs)
                .map(|(index, signature)| IndexedSignature { index, signature })
                .collect(),
        })
        .boxed()
}

/// A certificate with up to 7 signatures, or exactly `VALIDATORS_MAX`.
pub fn certificate() -> BoxedStrategy<Certificate> {
    prop_oneof![
        8 => certificate_sized(0, 7),
        1 => certificate_sized(VALIDATORS_MAX, VALIDATORS_MAX),
    ]
    .boxed()
}

/// One validator (power at least 1; at most 2^32 so sums of up to 256 never overflow).
pub fn validator() -> BoxedStrategy<Validator> {
    (
        nonempty(NAME_BYTES_MAX),
        agency(),
        public_key(),
        public_key(),
        1..=u64::from(u32::MAX),
    )
        .prop_map(
            |(name, agency, consensus_key, network_key, power)| Validator {
                name,
                agency,
                consensus_key,
                network_key: chancery_core::NetworkKey::of_ed25519(&network_key).unwrap(),
                power,
            },
        )
        .boxed()
}

/// Are names and keys unique, as `ValidatorSet::validate` requires?
pub fn validators_distinct(vs: &[Validator]) -> bool {
    let names: BTreeSet<_> = vs.iter().map(|v| &v.name).collect();
    let keys: BTreeSet<_> = vs
        .iter()
        .flat_map(|v| [v.consensus_key, v.network_key.as_public_key()])
        .collect();
    names.len() == vs.len() && keys.len() == 2 * vs.len()
}

/// A distinct key per `(i, salt, role)` (not a valid curve point; sets do not require one).
fn numbered_key(i: usize, salt: u8, role: u8) -> PublicKey {
    let mut k = [0u8; 32];
    k[..8].copy_from_slice(&(i as u64).to_le_bytes());
    k[8] = salt;
    k[9] = role;
    PublicKey::Ed25519(k)
}

/// A validator set of 1..=7 validators, or exactly `VALIDATORS_MAX`.
pub fn validator_set() -> BoxedStrategy<ValidatorSet> {
    let small =
        vec(validator(), 1..=7).prop_filter("unique validators", |v| validators_distinct(v));
    let full = (agency(), any::<u8>()).prop_map(|(agency, salt)| {
        (0..VALIDATORS_MAX)
            .map(|i| Validator {
                name: format!("node-{i}"),
                agency: agency.clone(),
                consensus_key: numbered_key(i, salt, 1),
                network_key: chancery_core::NetworkKey(
                    *numbered_key(i, salt, 2).as_bytes().first_chunk().unwrap(),
                ),
                power: 1,
            })
            .collect::<Vec<_>>()
    });
    (number(), number(), prop_oneof![8 => small, 1 => full])
        .prop_map(|(epoch, start, validators)| ValidatorSet {
            epoch: Epoch(epoch),
            start_height: Height(start),
            validators,
        })
        .boxed()
}

/// An agency of a consortium.
pub fn genesis_agency() -> BoxedStrategy<Agency> {
    (
        agency(),
        nonempty(NAME_BYTES_MAX),
        nonempty(NAME_BYTES_MAX),
        prop_oneof![
            4 => vec(public_key(), 0..=SMALL_MAX),
            1 => vec(public_key(), chancery_core::limits::ADMIN_KEYS_MAX),
        ],
    )
        .prop_map(|(id, name_zh, name_en, admin_keys)| Agency {
            id,
            name_zh,
            name_en,
            admin_keys,
        })
        .boxed()
}

/// A genesis member (roles sorted, possibly empty).
pub fn genesis_member() -> BoxedStrategy<Member> {
    (
        agency(),
        public_key(),
        nonempty(NAME_BYTES_MAX),
        subsequence(Role::ALL.to_vec(), 0..=Role::ALL.len()),
    )
        .prop_map(|(agency, key, name, roles)| Member {
            agency,
            key,
            name,
            roles,
        })
        .boxed()
}

/// A valid governance threshold (numerator below denominator).
pub fn threshold() -> BoxedStrategy<Threshold> {
    (1..=THRESHOLD_DENOMINATOR_MAX as u32)
        .prop_flat_map(|den| (0..den, Just(den)))
        .prop_map(|(numerator, denominator)| Threshold {
            numerator,
            denominator,
        })
        .boxed()
}

/// Chain parameters as a genesis may carry them: any block and timing values (a genesis
/// checks only the governance policy), a valid policy.
pub fn chain_params() -> BoxedStrategy<ChainParams> {
    (
        any::<u32>(),
        any::<u32>(),
        number(),
        number(),
        threshold(),
        1..=EPOCH_DELAY_BLOCKS_MAX,
    )
        .prop_map(
            |(block_txs_max, block_bytes_max, delta_ms, heartbeat_ms, t, delay)| ChainParams {
                block_txs_max,
                block_bytes_max,
                delta_ms,
                heartbeat_ms,
                governance_threshold: t,
                epoch_delay_blocks: delay,
            },
        )
        .boxed()
}

/// Chain parameters a `set_params` change may set: every value within its limits.
pub fn settable_chain_params() -> BoxedStrategy<ChainParams> {
    (
        1..=BLOCK_TXS_MAX as u32,
        1..=BLOCK_BYTES_MAX as u32,
        1..=DELTA_MS_MAX,
        0..=HEARTBEAT_MS_MAX,
        threshold(),
        1..=EPOCH_DELAY_BLOCKS_MAX,
    )
        .prop_map(
            |(block_txs_max, block_bytes_max, delta_ms, heartbeat_ms, t, delay)| ChainParams {
                block_txs_max,
                block_bytes_max,
                delta_ms,
                heartbeat_ms,
                governance_threshold: t,
                epoch_delay_blocks: delay,
            },
        )
        .boxed()
}

/// Admin keys, strictly sorted: 1..=3, or exactly `ADMIN_KEYS_MAX`.
pub fn admin_keys(lists: Lists) -> BoxedStrategy<Vec<PublicKey>> {
    let n = match lists {
        Lists::Small => 1..=SMALL_MAX,
        Lists::Max => ADMIN_KEYS_MAX..=ADMIN_KEYS_MAX,
    };
    proptest::collection::btree_set(public_key(), n)
        .prop_map(|s| s.into_iter().collect())
        .boxed()
}

/// One governance change of any kind.
pub fn change(lists: Lists) -> BoxedStrategy<Change> {
    let two_keys = || {
        (public_key(), public_key())
            .prop_filter("distinct keys", |(a, b)| a != b)
            .boxed()
    };
    prop_oneof![
        (
            agency(),
            nonempty(NAME_BYTES_MAX),
            nonempty(NAME_BYTES_MAX),
            admin_keys(lists)
        )
            .prop_map(|(id, name_zh, name_en, admin_keys)| Change::AddAgency {
                id,
                name_zh,
                name_en,
                admin_keys
            }),
        agency().prop_map(|id| Change::RemoveAgency { id }),
        (agency(), ident(), two_keys(), positive()).prop_map(
            |(agency, name, (consensus_key, network_key), power)| Change::AddValidator {
                agency,
                name,
                consensus_key,
                network_key: chancery_core::NetworkKey::of_ed25519(&network_key).unwrap(),
                power
            }
        ),
        ident().prop_map(|name| Change::RemoveValidator { name }),
        (ident(), two_keys(), 0..3u8).prop_map(|(name, (c, n), which)| {
            Change::RotateValidatorKeys {
                name,
                consensus_key: (which != 1).then_some(c),
                network_key: (which != 0)
                    .then(|| chancery_core::NetworkKey::of_ed25519(&n).unwrap()),
            }
        }),
        (agency(), admin_keys(lists))
            .prop_map(|(agency, admin_keys)| Change::SetAdminKeys { agency, admin_keys }),
        settable_chain_params().prop_map(|params| Change::SetParams { params }),
    ]
    .boxed()
}

/// A `ProposeChange`: 1..=3 changes, or exactly `CHANGES_MAX`; at most one `set_params`.
pub fn propose_change(lists: Lists) -> BoxedStrategy<ProposeChange> {
    let n = match lists {
        Lists::Small => 1..=SMALL_MAX,
        Lists::Max => CHANGES_MAX..=CHANGES_MAX,
    };
    (ident(), vec(change(lists), n), positive(), digest())
        .prop_map(|(proposal_id, mut changes, deadline, reason)| {
            let mut params = false;
            for c in &mut changes {
                if matches!(c, Change::SetParams { .. }) {
                    if params {
                        *c = Change::RemoveValidator { name: "v".into() };
                    }
                    params = true;
                }
            }
            ProposeChange {
                proposal_id,
                changes,
                deadline: TimestampMs(deadline),
                reason,
            }
        })
        .boxed()
}

/// A governance `Vote`.
pub fn vote() -> BoxedStrategy<Vote> {
    (ident(), any::<bool>())
        .prop_map(|(proposal_id, approve)| Vote {
            proposal_id,
            approve,
        })
        .boxed()
}

/// A genesis document with 0..=3 agencies and members.
pub fn genesis() -> BoxedStrategy<Genesis> {
    (
        ident(),
        number(),
        vec(genesis_agency(), 0..=SMALL_MAX),
        vec(genesis_member(), 0..=SMALL_MAX),
        validator_set(),
        chain_params(),
    )
        .prop_map(
            |(chain_name, time, agencies, members, validators, params)| Genesis {
                chain_name,
                genesis_time: TimestampMs(time),
                agencies,
                members,
                validators,
                params,
                crypto: Default::default(),
                procurement_limits: Default::default(),
            },
        )
        .boxed()
}
