//! The consortium rules a genesis document must satisfy, beyond the kernel's format checks.
//!
//! The same rules run when a genesis is built from TOML and when a node or auditor loads a
//! `genesis.json`, so a document that breaks them is never used, however it was made.

use chancery_core::codec::Canonical;
use chancery_core::genesis::Genesis;
use chancery_core::limits::{
    BLOCK_BYTES_MAX, BLOCK_TXS_MAX, EPOCH_DELAY_BLOCKS_MAX, THRESHOLD_DENOMINATOR_MAX, TX_BYTES_MAX,
};
use chancery_core::{Epoch, Height, PublicKey};
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// Fewest validators of a production consortium: n = 3f + 1 with f >= 1.
pub const PRODUCTION_VALIDATORS_MIN: usize = 4;
/// Longest Δ accepted, in milliseconds.
pub const DELTA_MS_MAX: u64 = 60_000;
/// Longest heartbeat interval accepted, in milliseconds.
pub const HEARTBEAT_MS_MAX: u64 = 60_000;

/// A broken rule, naming the entry, what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{entry}: expected {expected}, found {found}")]
pub struct Problem {
    /// The entry, e.g. `validators[2] "ndrc-1"` or `params.delta_ms`.
    pub entry: String,
    /// What the rule wants.
    pub expected: String,
    /// What was there.
    pub found: String,
}

impl Problem {
    /// A problem with `entry`.
    pub fn new(
        entry: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Problem {
        Problem {
            entry: entry.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// Which policy to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Fewest validators accepted.
    pub validators_min: usize,
}

impl Rules {
    /// A real consortium: at least [`PRODUCTION_VALIDATORS_MIN`] validators, so f >= 1.
    pub const PRODUCTION: Rules = Rules {
        validators_min: PRODUCTION_VALIDATORS_MIN,
    };
    /// Development: a single validator is enough (no fault tolerance).
    pub const DEV: Rules = Rules { validators_min: 1 };
}

/// Entry names used in errors.
pub fn agency_entry(i: usize, id: &str) -> String {
    format!("agencies[{i}] {id:?}")
}
/// Entry name of a validator.
pub fn validator_entry(i: usize, name: &str) -> String {
    format!("validators[{i}] {name:?}")
}
/// Entry name of a member.
pub fn member_entry(i: usize, name: &str) -> String {
    format!("members[{i}] {name:?}")
}

/// Check every consortium rule; the first broken one is returned.
pub fn check(g: &Genesis, rules: Rules) -> Result<(), Problem> {
    chancery_core::codec::check::id(
        "chain_name",
        &g.chain_name,
        chancery_core::limits::ID_BYTES_MAX,
    )
    .map_err(|e| Problem::new("chain_name", e.expected, e.found))?;

    // Agencies: unique ids.
    let mut agencies: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, a) in g.agencies.iter().enumerate() {
        let entry = agency_entry(i, a.id.as_str());
        a.id.validate("id")
            .map_err(|e| Problem::new(format!("{entry}.id"), e.expected, e.found))?;
        if let Some(j) = agencies.insert(a.id.as_str(), i) {
            return Err(Problem::new(
                entry,
                "agency ids unique",
                format!("the same id as agencies[{j}]"),
            ));
        }
        if a.admin_keys.is_empty() {
            return Err(Problem::new(
                format!("{entry}.admin_keys"),
                "at least one admin key",
                "none",
            ));
        }
    }
    if g.agencies.is_empty() {
        return Err(Problem::new("agencies", "at least one agency", "none"));
    }

    // Keys: unique across every use, and usable Ed25519 points.
    let mut keys: BTreeMap<PublicKey, String> = BTreeMap::new();
    let mut use_key = |key: &PublicKey, entry: String| -> Result<(), Problem> {
        if key.check().is_err() {
            return Err(Problem::new(
                entry,
                "a valid Ed25519 public key",
                key.to_hex(),
            ));
        }
        if let Some(first) = keys.get(key) {
            return Err(Problem::new(
                entry,
                "every key used once (admin, member, consensus and network keys all differ)",
                format!("key {key} already used by {first}"),
            ));
        }
        keys.insert(*key, entry);
        Ok(())
    };
    for (i, a) in g.agencies.iter().enumerate() {
        for (k, key) in a.admin_keys.iter().enumerate() {
            use_key(
                key,
                format!("{}.admin_keys[{k}]", agency_entry(i, a.id.as_str())),
            )?;
        }
    }

    // Validators.
    if g.validators.epoch != Epoch(0) || g.validators.start_height != Height(1) {
        return Err(Problem::new(
            "validators",
            "the first validator set: epoch 0 from height 1",
            format!(
                "epoch {} from height {}",
                g.validators.epoch, g.validators.start_height
            ),
        ));
    }
    if g.validators.validators.len() < rules.validators_min {
        return Err(Problem::new(
            "validators",
            format!(
                "at least {} validators (n = 3f+1 with f >= 1; use --dev for a development chain)",
                rules.validators_min
            ),
            format!("{}", g.validators.validators.len()),
        ));
    }
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, v) in g.validators.validators.iter().enumerate() {
        let entry = validator_entry(i, &v.name);
        if let Some(j) = names.insert(v.name.as_str(), i) {
            return Err(Problem::new(
                entry,
                "validator names unique",
                format!("the same name as validators[{j}]"),
            ));
        }
        if !agencies.contains_key(v.agency.as_str()) {
            return Err(Problem::new(
                format!("{entry}.agency"),
                "the id of an agency listed in `agencies`",
                format!("{:?}", v.agency.as_str()),
            ));
        }
        if v.power == 0 {
            return Err(Problem::new(format!("{entry}.power"), "at least 1", "0"));
        }
        use_key(&v.consensus_key, format!("{entry}.consensus_key"))?;
        use_key(
            &v.network_key.as_public_key(),
            format!("{entry}.network_key"),
        )?;
    }
    let total = g
        .validators
        .validators
        .iter()
        .try_fold(0u64, |t, v| t.checked_add(v.power));
    if total.is_none() {
        return Err(Problem::new(
            "validators",
            "a total voting power below 2^64",
            "an overflow",
        ));
    }

    // Members.
    for (i, m) in g.members.iter().enumerate() {
        let entry = member_entry(i, &m.name);
        if !agencies.contains_key(m.agency.as_str()) {
            return Err(Problem::new(
                format!("{entry}.agency"),
                "the id of an agency listed in `agencies`",
                format!("{:?}", m.agency.as_str()),
            ));
        }
        if m.roles.is_empty() {
            return Err(Problem::new(
                format!("{entry}.roles"),
                "at least one role",
                "none",
            ));
        }
        let set: BTreeSet<_> = m.roles.iter().collect();
        if set.len() != m.roles.len() {
            return Err(Problem::new(
                format!("{entry}.roles"),
                "each role once",
                format!("{:?}", m.roles),
            ));
        }
        use_key(&m.key, format!("{entry}.key"))?;
    }

    // Parameters.
    let p = &g.params;
    let range = |entry: &str, v: u64, lo: u64, hi: u64| -> Result<(), Problem> {
        if v < lo || v > hi {
            return Err(Problem::new(
                format!("params.{entry}"),
                format!("a value in {lo}..={hi}"),
                v.to_string(),
            ));
        }
        Ok(())
    };
    range(
        "block_txs_max",
        p.block_txs_max.into(),
        1,
        BLOCK_TXS_MAX as u64,
    )?;
    range(
        "block_bytes_max",
        p.block_bytes_max.into(),
        TX_BYTES_MAX as u64,
        BLOCK_BYTES_MAX as u64,
    )?;
    range("delta_ms", p.delta_ms, 1, DELTA_MS_MAX)?;
    range("heartbeat_ms", p.heartbeat_ms, 0, HEARTBEAT_MS_MAX)?;
    range(
        "epoch_delay_blocks",
        p.epoch_delay_blocks,
        1,
        EPOCH_DELAY_BLOCKS_MAX,
    )?;
    let t = p.governance_threshold;
    if t.denominator == 0
        || t.denominator as usize > THRESHOLD_DENOMINATOR_MAX
        || t.numerator >= t.denominator
    {
        return Err(Problem::new(
            "params.governance_threshold",
            format!(
                "a fraction N/D with 0 <= N < D <= {THRESHOLD_DENOMINATOR_MAX} (a proposal passes with strictly more approvals than the fraction, so N/D = 1 could never pass)"
            ),
            format!("{}/{}", t.numerator, t.denominator),
        ));
    }

    // Finally the kernel's own format and limit checks (names, lengths, sortedness).
    g.validate()
        .map_err(|e| Problem::new(describe_field(g, &e.field), e.expected, e.found))
}

/// Turn a kernel field path like `validators.validators[2].name` or `members[3].roles` into
/// an entry name that also shows the entry's name.
fn describe_field(g: &Genesis, field: &str) -> String {
    let index = |rest: &str| -> Option<(usize, String)> {
        let close = rest.find(']')?;
        let i: usize = rest.get(..close)?.parse().ok()?;
        Some((i, rest.get(close + 1..).unwrap_or("").to_string()))
    };
    if let Some(rest) = field.strip_prefix("validators.validators[") {
        if let Some((i, tail)) = index(rest) {
            if let Some(v) = g.validators.validators.get(i) {
                return format!("{}{tail}", validator_entry(i, &v.name));
            }
        }
    }
    if let Some(rest) = field.strip_prefix("members[") {
        if let Some((i, tail)) = index(rest) {
            if let Some(m) = g.members.get(i) {
                return format!("{}{tail}", member_entry(i, &m.name));
            }
        }
    }
    if let Some(rest) = field.strip_prefix("agencies[") {
        if let Some((i, tail)) = index(rest) {
            if let Some(a) = g.agencies.get(i) {
                return format!("{}{tail}", agency_entry(i, a.id.as_str()));
            }
        }
    }
    field.to_string()
}
