//! The human-written consortium description (TOML) and its translation into the canonical
//! [`Genesis`] document. The format is documented with an example in `docs/genesis.md`.

use crate::keyfile::{self, KeyFileError, KeyKind};
use crate::rules::{self, agency_entry, member_entry, validator_entry, Problem, Rules};
use chancery_core::genesis::{Agency, ChainParams, Genesis, Member};
use chancery_core::governance::Threshold;
use chancery_core::limits::{
    ADMIN_KEYS_MAX, AGENCIES_MAX, GENESIS_MEMBERS_MAX, ROLES_MAX, VALIDATORS_MAX,
};
use chancery_core::record::Role;
use chancery_core::validator::{Validator, ValidatorSet};
use chancery_core::{AgencyId, Date, Epoch, Height, PublicKey, TimestampMs};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Largest consortium description accepted, in bytes.
pub const SPEC_BYTES_MAX: u64 = 8 * 1024 * 1024;

/// Why a consortium description could not be turned into a genesis document.
#[derive(Debug, Error)]
pub enum BuildError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is too large.
    #[error("{file}: {found} bytes: expected at most {max} bytes")]
    TooLarge {
        /// The file.
        file: PathBuf,
        /// The limit.
        max: u64,
        /// Its size.
        found: u64,
    },
    /// The file is not valid TOML or does not have the expected fields.
    #[error("{file}: not a valid consortium description: {reason}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// The TOML parser's explanation, with line and column.
        reason: String,
    },
    /// An entry breaks a rule.
    #[error("{file}: {problem}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The broken rule.
        problem: Problem,
    },
    /// A key file named by an entry could not be used.
    #[error("{file}: {entry}: {source}")]
    KeyFile {
        /// The consortium description.
        file: PathBuf,
        /// The entry that names the key file.
        entry: String,
        /// What is wrong with the key file.
        source: Box<KeyFileError>,
    },
}

/// The genesis time as written: an RFC 3339 date-time with offset, or a date (midnight
/// UTC), either as a string or as a bare TOML date-time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TimeSpec {
    /// Text such as `"2026-12-01T09:00:00+08:00"` or `"2026-12-01"`.
    Text(String),
    /// A TOML date-time literal such as `2026-12-01T09:00:00+08:00`.
    Toml(toml::value::Datetime),
}

impl TimeSpec {
    /// The time in milliseconds since the Unix epoch.
    pub fn to_timestamp(&self) -> Result<TimestampMs, Problem> {
        let text = match self {
            TimeSpec::Text(s) => s.clone(),
            TimeSpec::Toml(d) => d.to_string(),
        };
        parse_time(&text)
    }
}

/// Parse an RFC 3339 date-time with offset, or a `YYYY-MM-DD` date (midnight UTC).
pub fn parse_time(text: &str) -> Result<TimestampMs, Problem> {
    let bad = |why: &str| {
        Problem::new(
            "genesis_time",
            format!("an RFC 3339 date-time with offset (2026-12-01T09:00:00+08:00) or a date (2026-12-01){why}"),
            format!("{:?}", text.chars().take(64).collect::<String>()),
        )
    };
    if text.len() == 10 {
        let d: Date = text.parse().map_err(|_| bad(""))?;
        return Ok(d.start_ms());
    }
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| bad(""))?;
    let ms = t.unix_timestamp_nanos() / 1_000_000;
    u64::try_from(ms)
        .map(TimestampMs)
        .map_err(|_| bad(", not before 1970"))
}

/// Format a timestamp as RFC 3339 in UTC (for display).
pub fn format_time(t: TimestampMs) -> String {
    let nanos = i128::from(t.0) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{} ms", t.0))
}

fn one() -> u64 {
    1
}

/// Chain parameters; each may be left out to take the kernel default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParamsSpec {
    /// Most transactions per block.
    pub block_txs_max: u32,
    /// Most transaction bytes per block.
    pub block_bytes_max: u32,
    /// Δ, the message-delay bound, in milliseconds.
    pub delta_ms: u64,
    /// The heartbeat: one block per this many milliseconds while nothing is pending
    /// (0: never rest). Also read as `block_interval_ms`, its earlier name.
    #[serde(alias = "block_interval_ms")]
    pub heartbeat_ms: u64,
    /// Governance: a proposal passes when strictly more than this share of the agencies
    /// approve, written `"2/3"` or `{ numerator = 2, denominator = 3 }` (default 2/3).
    pub governance_threshold: ThresholdSpec,
    /// Governance: blocks between the block that passes a proposal with validator or
    /// parameter changes and the first block of the epoch that applies them (default 2).
    pub epoch_delay_blocks: u64,
}

impl Default for ParamsSpec {
    fn default() -> Self {
        let p = ChainParams::default();
        ParamsSpec {
            block_txs_max: p.block_txs_max,
            block_bytes_max: p.block_bytes_max,
            delta_ms: p.delta_ms,
            heartbeat_ms: p.heartbeat_ms,
            governance_threshold: ThresholdSpec::Text(format!(
                "{}/{}",
                p.governance_threshold.numerator, p.governance_threshold.denominator
            )),
            epoch_delay_blocks: p.epoch_delay_blocks,
        }
    }
}

/// The governance threshold as written: a fraction `"N/D"`, or a table
/// `{ numerator = N, denominator = D }`. Checked when the genesis is built
/// ([`ThresholdSpec::to_threshold`], then the rules), so a bad value is named with what was
/// expected rather than refused by the TOML parser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "a fraction such as \"2/3\" or a table { numerator = 2, denominator = 3 }"
)]
pub enum ThresholdSpec {
    /// `"2/3"`.
    Text(String),
    /// `{ numerator = 2, denominator = 3 }`.
    Parts(ThresholdParts),
}

/// The table form of [`ThresholdSpec`]. TOML integers are signed, so a negative value
/// reaches the check and is named there rather than by the parser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdParts {
    /// Numerator.
    pub numerator: i64,
    /// Denominator.
    pub denominator: i64,
}

impl ThresholdSpec {
    /// The kernel's threshold. Only the form is checked here (two integers that fit); the
    /// range (`0 <= N < D <= 1,000,000`) is a rule ([`crate::rules::check`]), which also
    /// runs on every `genesis.json` loaded.
    pub fn to_threshold(&self) -> Result<Threshold, Problem> {
        const ENTRY: &str = "params.governance_threshold";
        const FORM: &str = "a fraction N/D of integers with 0 <= N < D <= 1000000, e.g. \"2/3\"";
        let part = |v: i64| u32::try_from(v).ok();
        let (n, d) = match self {
            ThresholdSpec::Text(t) => {
                let found = || format!("{:?}", t.chars().take(64).collect::<String>());
                let Some((n, d)) = t.split_once('/') else {
                    return Err(Problem::new(ENTRY, FORM, found()));
                };
                let num = |s: &str| {
                    let s = s.trim();
                    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                        .then(|| s.parse::<u32>().ok())
                        .flatten()
                };
                match (num(n), num(d)) {
                    (Some(n), Some(d)) => (n, d),
                    _ => return Err(Problem::new(ENTRY, FORM, found())),
                }
            }
            ThresholdSpec::Parts(ThresholdParts {
                numerator,
                denominator,
            }) => match (part(*numerator), part(*denominator)) {
                (Some(n), Some(d)) => (n, d),
                _ => {
                    return Err(Problem::new(
                        ENTRY,
                        FORM,
                        format!("{numerator}/{denominator}"),
                    ))
                }
            },
        };
        Ok(Threshold {
            numerator: n,
            denominator: d,
        })
    }
}

/// An agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencySpec {
    /// Id, e.g. `mof`.
    pub id: String,
    /// Chinese name, e.g. `财政部`.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Admin keys: inline hex or key file paths.
    pub admin_keys: Vec<String>,
}

/// A validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSpec {
    /// Node name, e.g. `mof-1`.
    pub name: String,
    /// Its agency's id.
    pub agency: String,
    /// Consensus key: inline hex or key file path.
    pub consensus_key: String,
    /// Network key: inline hex or key file path.
    pub network_key: String,
    /// Voting power (default 1).
    #[serde(default = "one")]
    pub power: u64,
}

/// A member key registered at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberSpec {
    /// Its agency's id.
    pub agency: String,
    /// Display name.
    pub name: String,
    /// The key: inline hex or key file path.
    pub key: String,
    /// Role names.
    pub roles: Vec<String>,
}

/// The whole consortium description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsortiumSpec {
    /// Chain name.
    pub chain_name: String,
    /// Genesis time.
    pub genesis_time: TimeSpec,
    /// The crypto suite (`ed25519-blake3`, the default, or `sm2-sm3`): every consensus and
    /// member key must be of it; network keys are Ed25519 in every suite.
    #[serde(default)]
    pub crypto: chancery_core::suite::Suite,
    /// Parameters.
    #[serde(default)]
    pub params: ParamsSpec,
    /// Agencies.
    pub agencies: Vec<AgencySpec>,
    /// Validators, in order (the order is their index in certificates).
    pub validators: Vec<ValidatorSpec>,
    /// Members.
    #[serde(default)]
    pub members: Vec<MemberSpec>,
    /// Procurement limit standards (issue 22): `[[procurement_limits.rules]]` tables with
    /// `name`, `agencies` (empty: all others), `open_tender_from` and `record_from` (each
    /// `{ minor = .., currency = "CNY" }`). None: nothing is assessed.
    #[serde(default)]
    pub procurement_limits: chancery_core::procurement::ProcurementLimits,
}

/// Is this key reference an inline key (64 hex digits, or 130 for an SM2 key) rather than
/// a path?
fn is_inline_hex(s: &str) -> bool {
    (s.len() == 64 || s.len() == 130) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

struct Ctx<'a> {
    file: &'a Path,
    base: &'a Path,
    /// The chain's suite: what every signer key must be.
    suite: chancery_core::suite::Suite,
}

impl Ctx<'_> {
    fn invalid(&self, problem: Problem) -> BuildError {
        BuildError::Invalid {
            file: self.file.to_path_buf(),
            problem,
        }
    }

    /// Resolve a key reference: 64 hex digits inline, else a key file path relative to the
    /// description's directory (a public key file, or a secret key file of mode 0600).
    /// A network key: Ed25519 in every suite (an SM2 key here is refused by name).
    fn network_key(
        &self,
        entry: String,
        text: &str,
    ) -> Result<chancery_core::NetworkKey, BuildError> {
        let key = self.key(entry.clone(), text, KeyKind::Network)?;
        chancery_core::NetworkKey::of_ed25519(&key).ok_or_else(|| {
            self.invalid(Problem::new(
                entry,
                "an Ed25519 network key (64 hex digits): network keys are Ed25519 in every suite",
                format!("an {} key", key.suite()),
            ))
        })
    }

    /// A signer (consensus or member) key: of the chain's suite.
    fn signer_key(
        &self,
        entry: String,
        text: &str,
        kind: KeyKind,
    ) -> Result<PublicKey, BuildError> {
        let key = self.key(entry.clone(), text, kind)?;
        if key.suite() != self.suite {
            return Err(self.invalid(Problem::new(
                entry,
                format!(
                    "a {} key ({} hex digits): the chain's `crypto` suite",
                    self.suite,
                    2 * PublicKey::len_of(self.suite)
                ),
                format!("a {} key", key.suite()),
            )));
        }
        Ok(key)
    }

    fn key(&self, entry: String, text: &str, kind: KeyKind) -> Result<PublicKey, BuildError> {
        if is_inline_hex(text) {
            return text.parse().map_err(|_| {
                self.invalid(Problem::new(
                    entry,
                    "64 (or, for SM2, 130) lower-case hex digits or a key file path",
                    format!("{text:?}"),
                ))
            });
        }
        if text.is_empty() {
            return Err(self.invalid(Problem::new(
                entry,
                "64 (or, for SM2, 130) lower-case hex digits or a key file path",
                "\"\"",
            )));
        }
        let path = self.base.join(text);
        let (found, key) =
            keyfile::read_public_key(&path).map_err(|source| BuildError::KeyFile {
                file: self.file.to_path_buf(),
                entry: entry.clone(),
                source: Box::new(source),
            })?;
        if found != kind {
            return Err(BuildError::KeyFile {
                file: self.file.to_path_buf(),
                entry,
                source: Box::new(KeyFileError::WrongKind {
                    path,
                    expected: kind,
                    found,
                }),
            });
        }
        Ok(key)
    }
}

fn list_max<T>(ctx: &Ctx<'_>, entry: &str, v: &[T], max: usize) -> Result<(), BuildError> {
    if v.len() > max {
        return Err(ctx.invalid(Problem::new(
            entry,
            format!("at most {max} entries"),
            format!("{} entries", v.len()),
        )));
    }
    Ok(())
}

impl ConsortiumSpec {
    /// Parse TOML text.
    pub fn parse(text: &str, file: &Path) -> Result<ConsortiumSpec, BuildError> {
        toml::from_str(text).map_err(|e| BuildError::Parse {
            file: file.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// Build the genesis document. `file` names the description in errors; key file paths
    /// are relative to `base_dir`.
    pub fn to_genesis(
        &self,
        file: &Path,
        base_dir: &Path,
        rules: Rules,
    ) -> Result<Genesis, BuildError> {
        let ctx = Ctx {
            file,
            base: base_dir,
            suite: self.crypto,
        };
        list_max(&ctx, "agencies", &self.agencies, AGENCIES_MAX)?;
        list_max(&ctx, "validators", &self.validators, VALIDATORS_MAX)?;
        list_max(&ctx, "members", &self.members, GENESIS_MEMBERS_MAX)?;
        let genesis_time = self
            .genesis_time
            .to_timestamp()
            .map_err(|p| ctx.invalid(p))?;

        let mut agencies = Vec::with_capacity(self.agencies.len());
        for (i, a) in self.agencies.iter().enumerate() {
            let entry = agency_entry(i, &a.id);
            list_max(
                &ctx,
                &format!("{entry}.admin_keys"),
                &a.admin_keys,
                ADMIN_KEYS_MAX,
            )?;
            let mut admin_keys = Vec::with_capacity(a.admin_keys.len());
            for (k, text) in a.admin_keys.iter().enumerate() {
                admin_keys.push(ctx.signer_key(
                    format!("{entry}.admin_keys[{k}]"),
                    text,
                    KeyKind::Member,
                )?);
            }
            agencies.push(Agency {
                id: AgencyId(a.id.clone()),
                name_zh: a.name_zh.clone(),
                name_en: a.name_en.clone(),
                admin_keys,
            });
        }

        let mut validators = Vec::with_capacity(self.validators.len());
        for (i, v) in self.validators.iter().enumerate() {
            let entry = validator_entry(i, &v.name);
            validators.push(Validator {
                name: v.name.clone(),
                agency: AgencyId(v.agency.clone()),
                consensus_key: ctx.signer_key(
                    format!("{entry}.consensus_key"),
                    &v.consensus_key,
                    KeyKind::Consensus,
                )?,
                network_key: ctx.network_key(format!("{entry}.network_key"), &v.network_key)?,
                power: v.power,
            });
        }

        let mut members = Vec::with_capacity(self.members.len());
        for (i, m) in self.members.iter().enumerate() {
            let entry = member_entry(i, &m.name);
            list_max(&ctx, &format!("{entry}.roles"), &m.roles, ROLES_MAX)?;
            let mut roles = Vec::with_capacity(m.roles.len());
            for (r, name) in m.roles.iter().enumerate() {
                let role = Role::parse(name).ok_or_else(|| {
                    let known: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                    ctx.invalid(Problem::new(
                        format!("{entry}.roles[{r}]"),
                        format!("one of {}", known.join(", ")),
                        format!("{name:?}"),
                    ))
                })?;
                if roles.contains(&role) {
                    return Err(ctx.invalid(Problem::new(
                        format!("{entry}.roles[{r}]"),
                        "each role once",
                        format!("{name:?} a second time"),
                    )));
                }
                roles.push(role);
            }
            // The canonical form keeps roles sorted.
            roles.sort();
            members.push(Member {
                agency: AgencyId(m.agency.clone()),
                key: ctx.signer_key(format!("{entry}.key"), &m.key, KeyKind::Member)?,
                name: m.name.clone(),
                roles,
            });
        }

        let g = Genesis {
            chain_name: self.chain_name.clone(),
            genesis_time,
            agencies,
            members,
            validators: ValidatorSet {
                epoch: Epoch(0),
                start_height: Height(1),
                validators,
            },
            params: ChainParams {
                block_txs_max: self.params.block_txs_max,
                block_bytes_max: self.params.block_bytes_max,
                delta_ms: self.params.delta_ms,
                heartbeat_ms: self.params.heartbeat_ms,
                governance_threshold: self
                    .params
                    .governance_threshold
                    .to_threshold()
                    .map_err(|p| ctx.invalid(p))?,
                epoch_delay_blocks: self.params.epoch_delay_blocks,
            },
            crypto: self.crypto,
            procurement_limits: self.procurement_limits.clone(),
        };
        rules::check(&g, rules).map_err(|p| ctx.invalid(p))?;
        Ok(g)
    }
}

/// Read a consortium description from `path` and build its genesis document.
pub fn build_from_file(path: &Path, rules: Rules) -> Result<Genesis, BuildError> {
    let text = read_limited(path, SPEC_BYTES_MAX).map_err(|e| match e {
        ReadError::Io(source) => BuildError::Read {
            file: path.to_path_buf(),
            source,
        },
        ReadError::TooLarge(found) => BuildError::TooLarge {
            file: path.to_path_buf(),
            max: SPEC_BYTES_MAX,
            found,
        },
    })?;
    let spec = ConsortiumSpec::parse(&text, path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    spec.to_genesis(path, base, rules)
}

/// Why a bounded read failed.
pub(crate) enum ReadError {
    Io(std::io::Error),
    TooLarge(u64),
}

/// Read a UTF-8 text file of at most `max` bytes.
pub(crate) fn read_limited(path: &Path, max: u64) -> Result<String, ReadError> {
    let f = std::fs::File::open(path).map_err(ReadError::Io)?;
    let len = f.metadata().map_err(ReadError::Io)?.len();
    if len > max {
        return Err(ReadError::TooLarge(len));
    }
    let mut text = String::new();
    // `take` bounds the read even if the file grows meanwhile.
    f.take(max + 1)
        .read_to_string(&mut text)
        .map_err(ReadError::Io)?;
    if text.len() as u64 > max {
        return Err(ReadError::TooLarge(text.len() as u64));
    }
    Ok(text)
}
