//! The genesis document: the consortium, its first validator set and chain parameters.
//!
//! An auditor needs nothing else to verify receipts and checkpoints. The file form is JSON
//! (`genesis.json`); the chain id is `H(GENESIS_HASH, canonical bincode bytes)`, so any
//! JSON spelling of the same document has the same chain id. `chancery-genesis` builds it
//! from a human-written TOML description and checks the consortium rules; this module
//! checks only formats and limits.
//!
//! Normative specification: docs/spec/03-structures.md, section 3.1; loading a genesis file: 05-receipts.md, section 5.4.

use crate::codec::{self, check, Canonical, ValidationError};
use crate::domain;
use crate::governance::{Threshold, EPOCH_DELAY_BLOCKS_DEFAULT};
use crate::ids::{AgencyId, ChainId, PublicKey, TimestampMs};
use crate::limits::{
    ADMIN_KEYS_MAX, AGENCIES_MAX, GENESIS_ENCODING_BYTES_MAX, GENESIS_MEMBERS_MAX, ID_BYTES_MAX,
    NAME_BYTES_MAX, ROLES_MAX,
};
use crate::procurement::ProcurementLimits;
use crate::record::Role;
use crate::suite::Suite;
use crate::validator::ValidatorSet;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// An agency of the consortium.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct Agency {
    /// Id.
    pub id: AgencyId,
    /// Name in Chinese.
    pub name_zh: String,
    /// Name in English.
    pub name_en: String,
    /// Admin keys: may register and revoke members of this agency.
    pub admin_keys: Vec<PublicKey>,
}

/// A member key listed in genesis.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct Member {
    /// Its agency.
    pub agency: AgencyId,
    /// Its key.
    pub key: PublicKey,
    /// Display name.
    pub name: String,
    /// Roles, sorted, no duplicates.
    pub roles: Vec<Role>,
}

/// Chain parameters.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct ChainParams {
    /// Most transactions per block.
    pub block_txs_max: u32,
    /// Most transaction bytes per block.
    pub block_bytes_max: u32,
    /// Δ, the assumed bound on message delay after GST, in milliseconds. Simplex times out
    /// a proposal after 2Δ and a view after 3Δ.
    pub delta_ms: u64,
    /// The heartbeat: while no transaction is pending, the chain makes one (empty) block
    /// per `heartbeat_ms` instead of one per view, so an idle node rests and checkpoints
    /// stay fresh (docs/consensus.md, R14). 0: never rest, an idle leader proposes an
    /// empty block after min(Δ, 250 ms). Files written before it was named carry it as
    /// `block_interval_ms`.
    #[serde(alias = "block_interval_ms")]
    pub heartbeat_ms: u64,
    /// Governance: a proposal passes when strictly more than this share of the agencies
    /// approve (default: more than two thirds). Files written before governance carry
    /// none and get the default.
    #[serde(default)]
    pub governance_threshold: Threshold,
    /// Governance: a passed proposal's validator and parameter changes take effect at the
    /// first block after this many blocks following the block that passed it (the start
    /// of the next epoch; default 2).
    #[serde(default = "epoch_delay_blocks_default")]
    pub epoch_delay_blocks: u64,
}

fn epoch_delay_blocks_default() -> u64 {
    EPOCH_DELAY_BLOCKS_DEFAULT
}

impl Default for ChainParams {
    fn default() -> Self {
        ChainParams {
            block_txs_max: 10_000,
            block_bytes_max: 8 * 1024 * 1024,
            delta_ms: 500,
            heartbeat_ms: 5_000,
            governance_threshold: Threshold::default(),
            epoch_delay_blocks: EPOCH_DELAY_BLOCKS_DEFAULT,
        }
    }
}

/// The genesis document.
///
/// The canonical encoding is the fields in order; the crypto suite follows as one code byte
/// only when it is not the default (`ed25519-blake3`), so every genesis made before suites
/// existed keeps its encoding and its chain id. An explicit default code is refused as
/// malformed, and a genesis is never encoded inside another value (its suite byte is
/// the last of the input).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// Human name of the chain, e.g. `chancery-beijing`.
    pub chain_name: String,
    /// Genesis time.
    pub genesis_time: TimestampMs,
    /// The agencies.
    pub agencies: Vec<Agency>,
    /// Members registered at genesis (besides the admins).
    pub members: Vec<Member>,
    /// The first validator set (epoch 0, from height 1).
    pub validators: ValidatorSet,
    /// Parameters.
    pub params: ChainParams,
    /// The crypto suite every signature and hash of the chain uses (issue 21).
    #[serde(default, skip_serializing_if = "Suite::is_default")]
    pub crypto: Suite,
    /// The procurement limit standards the chain starts with (issue 22); governance may
    /// change them. None: nothing is assessed.
    #[serde(default, skip_serializing_if = "ProcurementLimits::is_empty")]
    pub procurement_limits: ProcurementLimits,
}

/// The byte that follows the parameters when a genesis has procurement limit standards,
/// before them. A genesis without standards ends with its parameters, as every genesis
/// made before standards existed does, so its encoding and chain id are unchanged.
pub const LIMITS_MARKER: u8 = 0x01;

/// The byte that opens the encoding of a genesis whose suite is not the default, followed
/// by the suite's code. A default-suite genesis opens with the length of its chain name, a
/// bincode varint, whose first byte is never 0xFF (251..=254 announce wider integers, 255 is
/// unused), so the two forms cannot be confused, and the encoding of a default-suite genesis
/// is what it was before suites existed.
pub const SUITE_MARKER: u8 = 0xFF;

impl Encode for Genesis {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        encoder: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        // The suite comes first: decoding the keys that follow needs it (their length
        // depends on it).
        if !self.crypto.is_default() {
            SUITE_MARKER.encode(encoder)?;
            self.crypto.code().encode(encoder)?;
        }
        self.chain_name.encode(encoder)?;
        self.genesis_time.encode(encoder)?;
        self.agencies.encode(encoder)?;
        self.members.encode(encoder)?;
        self.validators.encode(encoder)?;
        self.params.encode(encoder)?;
        if !self.procurement_limits.is_empty() {
            LIMITS_MARKER.encode(encoder)?;
            self.procurement_limits.encode(encoder)?;
        }
        Ok(())
    }
}

/// A genesis names its own suite, so its decoding ignores the caller's: it sets the
/// decoding context to the suite it reads before reading any key.
impl Decode<Suite> for Genesis {
    fn decode<D: bincode::de::Decoder<Context = Suite>>(
        decoder: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        use bincode::de::read::Reader;
        let crypto = match decoder.reader().peek_read(1) {
            Some([SUITE_MARKER]) => {
                let _marker: u8 = Decode::decode(decoder)?;
                let code: u8 = Decode::decode(decoder)?;
                let suite = Suite::from_code(code)
                    .map_err(|e| bincode::error::DecodeError::OtherString(e.to_string()))?;
                // The default suite is written by its absence; its code here would be a
                // second encoding of the same genesis.
                if suite.is_default() {
                    return Err(bincode::error::DecodeError::OtherString(format!(
                        "crypto suite code {code} ({suite}) written out: expected the default suite to be encoded by its absence"
                    )));
                }
                suite
            }
            _ => Suite::default(),
        };
        *decoder.context() = crypto;
        let chain_name = Decode::decode(decoder)?;
        let genesis_time = Decode::decode(decoder)?;
        let agencies = Decode::decode(decoder)?;
        let members = Decode::decode(decoder)?;
        let validators = Decode::decode(decoder)?;
        let params = Decode::decode(decoder)?;
        // A genesis is never encoded inside another value: the marker after the parameters
        // opens its limit standards; any other byte there is left for `codec::decode` to
        // refuse as trailing.
        let procurement_limits = if let Some([LIMITS_MARKER]) = decoder.reader().peek_read(1) {
            let _marker: u8 = Decode::decode(decoder)?;
            let limits: ProcurementLimits = Decode::decode(decoder)?;
            // No standards are written by their absence; an empty list here would be a
            // second encoding of the same genesis.
            if limits.is_empty() {
                return Err(bincode::error::DecodeError::OtherString(
                    "an empty list of limit standards written out: expected none to be encoded by its absence".into(),
                ));
            }
            limits
        } else {
            ProcurementLimits::default()
        };
        Ok(Genesis {
            crypto,
            chain_name,
            genesis_time,
            agencies,
            members,
            validators,
            params,
            procurement_limits,
        })
    }
}

bincode::impl_borrow_decode_with_context!(Genesis, Suite);

impl Canonical for Genesis {
    const NAME: &'static str = "genesis";
    const BYTES_MAX: usize = GENESIS_ENCODING_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        check::id("chain_name", &self.chain_name, ID_BYTES_MAX)?;
        check::list("agencies", &self.agencies, AGENCIES_MAX)?;
        check::list("members", &self.members, GENESIS_MEMBERS_MAX)?;
        for (i, a) in self.agencies.iter().enumerate() {
            let f = format!("agencies[{i}]");
            a.id.validate(&format!("{f}.id"))?;
            check::nonempty(&format!("{f}.name_zh"), &a.name_zh, NAME_BYTES_MAX)?;
            check::nonempty(&format!("{f}.name_en"), &a.name_en, NAME_BYTES_MAX)?;
            check::list(&format!("{f}.admin_keys"), &a.admin_keys, ADMIN_KEYS_MAX)?;
            for (j, k) in a.admin_keys.iter().enumerate() {
                key_of_suite(&format!("{f}.admin_keys[{j}]"), k, self.crypto)?;
            }
        }
        for (i, v) in self.validators.validators.iter().enumerate() {
            key_of_suite(
                &format!("validators.validators[{i}].consensus_key"),
                &v.consensus_key,
                self.crypto,
            )?;
        }
        for (i, m) in self.members.iter().enumerate() {
            let f = format!("members[{i}]");
            m.agency.validate(&format!("{f}.agency"))?;
            check::nonempty(&format!("{f}.name"), &m.name, NAME_BYTES_MAX)?;
            check::list(&format!("{f}.roles"), &m.roles, ROLES_MAX)?;
            check::strictly_sorted(&format!("{f}.roles"), &m.roles)?;
            key_of_suite(&format!("{f}.key"), &m.key, self.crypto)?;
        }
        self.params
            .validate_governance()
            .map_err(|e| e.within("params"))?;
        self.procurement_limits
            .validate()
            .map_err(|e| e.within("procurement_limits"))?;
        for (i, r) in self.procurement_limits.rules.iter().enumerate() {
            if let Some(a) = r.agencies.iter().find(|a| self.agency(a).is_none()) {
                return Err(ValidationError::new(
                    format!("procurement_limits.rules[{i}].agencies"),
                    "agencies of the genesis",
                    a.to_string(),
                ));
            }
        }
        self.validators
            .validate()
            .map_err(|e| e.within("validators"))
    }
}

/// Every signer key of a chain is of the chain's suite: a key of the other suite (which a
/// JSON or TOML genesis could hold, as its length tells them apart) is refused by name.
/// Network keys are Ed25519 in every suite and have their own type.
pub fn key_of_suite(field: &str, key: &PublicKey, suite: Suite) -> Result<(), ValidationError> {
    if key.suite() == suite {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        format!(
            "a {suite} key ({} bytes, the chain's crypto suite)",
            PublicKey::len_of(suite)
        ),
        format!("a {} key ({} bytes)", key.suite(), key.as_bytes().len()),
    ))
}

impl Genesis {
    /// Decode a canonical genesis: it names its own suite, which decodes its keys, so no
    /// caller's suite is needed (nor used).
    pub fn from_bytes(bytes: &[u8]) -> Result<Genesis, codec::CodecError> {
        codec::decode_in(Suite::default(), bytes)
    }

    /// The chain id: `H(GENESIS_HASH, canonical bytes)`, `H` the chain's suite's hash.
    pub fn chain_id(&self) -> ChainId {
        self.crypto.hash(domain::GENESIS_HASH, &codec::encode(self))
    }

    /// The agency with this id.
    pub fn agency(&self, id: &AgencyId) -> Option<&Agency> {
        self.agencies.iter().find(|a| a.id == *id)
    }
}
