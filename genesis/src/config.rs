//! The node configuration file, `node.toml`, read by `chancery-node`.
//!
//! Every field is documented in `docs/genesis.md`. Relative paths in the file are relative
//! to the directory that holds the file; [`NodeConfig::load`] resolves them.

use crate::keyfile::{read_key_file_of_kind, KeyFileError, KeyKind, KeyPair};
use crate::spec::{read_limited, ReadError};
use chancery_core::genesis::Genesis;
use chancery_core::validator::ValidatorSet;
use chancery_core::PublicKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Largest `node.toml` accepted, in bytes.
pub const NODE_CONFIG_BYTES_MAX: u64 = 1024 * 1024;
/// Most peers listed in one node config.
pub const PEERS_MAX: usize = 512;
/// Longest node name, in bytes.
pub const NODE_NAME_BYTES_MAX: usize = 64;

/// Why a node config could not be loaded or is wrong.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// An IO error.
    #[error("{file}: {action}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// What was being done.
        action: &'static str,
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
    /// Not valid TOML, or unknown or missing fields.
    #[error("{file}: not a valid node config: {reason}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// The TOML parser's explanation, with line and column.
        reason: String,
    },
    /// A field breaks a rule.
    #[error("{file}: field `{field}`: expected {expected}, found {found}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The field, e.g. `peers[3].name`.
        field: String,
        /// What the rule wants.
        expected: String,
        /// What was there.
        found: String,
    },
}

/// Why a node's keys do not fit its genesis.
#[derive(Debug, Error)]
pub enum NodeKeysError {
    /// A key file could not be read.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// A validator config names no genesis validator.
    #[error("node {name:?} is configured as a validator but genesis has no validator of that name (validators: {known})")]
    NotAValidator {
        /// The configured name.
        name: String,
        /// The genesis validators' names.
        known: String,
    },
    /// A key does not match genesis.
    #[error("{which} key {found} in {file} does not match genesis, which has {expected}")]
    Mismatch {
        /// `consensus` or `network`.
        which: &'static str,
        /// The key file.
        file: PathBuf,
        /// The key in genesis.
        expected: Box<PublicKey>,
        /// The key in the file.
        found: Box<PublicKey>,
    },
    /// The directory of the key files cannot be listed.
    #[error("cannot list the key directory {dir}: {reason}")]
    KeyDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// An observer's network key belongs to a validator.
    #[error("observer {name:?}: network key {key} is validator {validator:?}'s")]
    ObserverUsesValidatorKey {
        /// The node.
        name: String,
        /// The key.
        key: Box<PublicKey>,
        /// The validator whose key it is.
        validator: String,
    },
}

/// Most directory entries looked at for a rotated consensus key
/// ([`NodeConfig::find_consensus_key`]).
pub const KEY_DIR_ENTRIES_MAX: usize = 256;

/// A node's secret keys, checked against genesis.
#[derive(Debug, Clone)]
pub struct NodeKeys {
    /// The consensus key and the validator's index in the genesis set (validators only).
    pub consensus: Option<(u16, KeyPair)>,
    /// The network identity.
    pub network: KeyPair,
}

/// Does this node vote?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// A validator: votes with its consensus key, which must be in the genesis validator set.
    Validator,
    /// An observer: follows and serves the chain, never votes.
    Observer,
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    #[default]
    Text,
}

/// A peer to connect to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The peer's node name.
    pub name: String,
    /// Its p2p address (TCP), e.g. `127.0.0.1:26000`.
    pub address: SocketAddr,
    /// Its network public key (Ed25519, hex, in every suite); the libp2p peer id derives
    /// from it.
    pub network_key: chancery_core::NetworkKey,
}

/// Mempool limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MempoolConfig {
    /// Most transactions held.
    pub txs_max: usize,
    /// Most transaction bytes held.
    pub bytes_max: usize,
    /// Most pending transactions per signer.
    pub per_signer_txs_max: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            txs_max: 50_000,
            bytes_max: 256 * 1024 * 1024,
            per_signer_txs_max: 1_000,
        }
    }
}

/// HTTP API limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Largest request body, in bytes.
    pub request_bytes_max: usize,
    /// Most entries in one page of results.
    pub page_entries_max: usize,
    /// Most requests served at once.
    pub concurrent_requests_max: usize,
    /// Longest time one request may take, in milliseconds.
    pub request_timeout_ms: u64,
    /// Sustained requests per second allowed to one client address (at least 1).
    pub requests_per_s_max: u32,
    /// Requests one client address may send at once above the sustained rate (at least 1).
    pub request_burst_max: u32,
    /// Most client addresses whose request rate is tracked at once.
    pub rate_limit_clients_max: usize,
    /// Most request handlers reading the store at once (on blocking threads); over it, 503.
    pub blocking_reads_max: usize,
    /// Most supplier names one explorer search scans for a name containing the query.
    pub search_scan_max: usize,
    /// Most bytes of hex in one page of raw blocks (a page holds at least one block).
    pub raw_page_bytes_max: usize,
    /// Most event streams open at once.
    pub sse_streams_max: usize,
    /// Most event streams open at once from one client address.
    pub sse_streams_per_address_max: usize,
    /// Most TCP connections to the API open at once.
    pub connections_max: usize,
    /// Most TCP connections to the API open at once from one client address.
    pub connections_per_address_max: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            request_bytes_max: 1024 * 1024,
            page_entries_max: 100,
            concurrent_requests_max: 256,
            request_timeout_ms: 10_000,
            requests_per_s_max: 2000,
            request_burst_max: 4000,
            rate_limit_clients_max: 100_000,
            blocking_reads_max: 4,
            search_scan_max: 20_000,
            raw_page_bytes_max: 4 * 1024 * 1024,
            sse_streams_max: 256,
            sse_streams_per_address_max: 8,
            connections_max: 1024,
            connections_per_address_max: 128,
        }
    }
}

/// Storage settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Free bytes kept on the database's filesystem: below it, writes are refused with a
    /// disk-full error before they reach the database, and the node stops with that error
    /// (docs/ops/config.md). 0 turns the check off.
    pub disk_free_min_bytes: u64,
}

/// Default [`StorageConfig::disk_free_min_bytes`], in bytes (256 MiB: room for the
/// database's own memtable flushes and compactions); the store's default is the same.
pub const DISK_FREE_MIN_BYTES_DEFAULT: u64 = 256 << 20;

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            disk_free_min_bytes: DISK_FREE_MIN_BYTES_DEFAULT,
        }
    }
}

/// Snapshots this node serves to nodes that start by state sync (docs/ops/state-sync.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnapshotsConfig {
    /// Offer a snapshot of every height that is a multiple of this, in blocks (the latest
    /// two such heights are served); 0 offers none.
    pub interval_blocks: u64,
}

/// Default [`SnapshotsConfig::interval_blocks`].
pub const SNAPSHOT_INTERVAL_BLOCKS_DEFAULT: u64 = 1000;

impl Default for SnapshotsConfig {
    fn default() -> Self {
        SnapshotsConfig {
            interval_blocks: SNAPSHOT_INTERVAL_BLOCKS_DEFAULT,
        }
    }
}

/// How a node with an empty database starts: by replaying every block, or from a
/// verified snapshot its peers offer (docs/ops/state-sync.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateSyncConfig {
    /// Start an empty database from a snapshot (`chancery-node start --state-sync` sets it
    /// for one start).
    pub enabled: bool,
    /// How long to wait for a first peer to connect, in seconds.
    pub peers_wait_s: u64,
    /// Attempts before giving up (each starts again from an empty database).
    pub attempts_max: u32,
}

impl Default for StateSyncConfig {
    fn default() -> Self {
        StateSyncConfig {
            enabled: false,
            peers_wait_s: 60,
            attempts_max: 3,
        }
    }
}

/// The configuration of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Node name; for a validator, its name in the genesis validator set.
    pub name: String,
    /// Validator or observer.
    pub role: NodeRole,
    /// Directory of the node's database.
    pub data_dir: PathBuf,
    /// The genesis document (`genesis.json`).
    pub genesis: PathBuf,
    /// Secret key file of the consensus key (validators only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consensus_key_file: Option<PathBuf>,
    /// Secret key file of the network identity.
    pub network_key_file: PathBuf,
    /// Where to listen for peers (TCP).
    pub p2p_listen: SocketAddr,
    /// Where to serve the HTTP API.
    pub api_listen: SocketAddr,
    /// Log format.
    #[serde(default)]
    pub log_format: LogFormat,
    /// Mempool limits.
    #[serde(default)]
    pub mempool: MempoolConfig,
    /// API limits.
    #[serde(default)]
    pub api: ApiConfig,
    /// Storage settings.
    #[serde(default)]
    pub storage: StorageConfig,
    /// Snapshots served to nodes that start by state sync.
    #[serde(default)]
    pub snapshots: SnapshotsConfig,
    /// Starting an empty database from a snapshot.
    #[serde(default)]
    pub state_sync: StateSyncConfig,
    /// Peers to connect to.
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
}

impl NodeConfig {
    /// Parse TOML text and validate it; paths are left as written.
    pub fn parse(text: &str, file: &Path) -> Result<NodeConfig, ConfigError> {
        let c: NodeConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: file.to_path_buf(),
            reason: e.to_string(),
        })?;
        c.validate(file)?;
        Ok(c)
    }

    /// Load `node.toml`, validate it and make its relative paths relative to the file's
    /// directory.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = read_limited(path, NODE_CONFIG_BYTES_MAX).map_err(|e| match e {
            ReadError::Io(source) => ConfigError::Io {
                file: path.to_path_buf(),
                action: "read",
                source,
            },
            ReadError::TooLarge(found) => ConfigError::TooLarge {
                file: path.to_path_buf(),
                max: NODE_CONFIG_BYTES_MAX,
                found,
            },
        })?;
        let mut c = NodeConfig::parse(&text, path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        c.resolve_paths(base);
        Ok(c)
    }

    /// Make relative paths relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.data_dir);
        fix(&mut self.genesis);
        fix(&mut self.network_key_file);
        if let Some(p) = self.consensus_key_file.as_mut() {
            fix(p);
        }
    }

    /// Read the node's key files (paths as resolved by [`NodeConfig::load`]) and check them
    /// against genesis: a validator must be listed under its name with exactly these
    /// consensus and network keys; an observer must not use a validator's network key.
    pub fn load_keys(&self, genesis: &Genesis) -> Result<NodeKeys, NodeKeysError> {
        self.load_keys_for(&genesis.validators)
    }

    /// [`NodeConfig::load_keys`] against the validator set `set` (the one in force, once
    /// governance changed the genesis set).
    pub fn load_keys_for(&self, set: &ValidatorSet) -> Result<NodeKeys, NodeKeysError> {
        let network = read_key_file_of_kind(&self.network_key_file, KeyKind::Network)?;
        let set = &set.validators;
        match (&self.role, &self.consensus_key_file) {
            (NodeRole::Validator, Some(file)) => {
                let mut consensus = read_key_file_of_kind(file, KeyKind::Consensus)?;
                let (index, v) = set
                    .iter()
                    .enumerate()
                    .find(|(_, v)| v.name == self.name)
                    .and_then(|(i, v)| Some((u16::try_from(i).ok()?, v)))
                    .ok_or_else(|| NodeKeysError::NotAValidator {
                        name: self.name.clone(),
                        known: set
                            .iter()
                            .map(|v| v.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })?;
                if consensus.public() != v.consensus_key {
                    // Rotated by governance: the new key may sit beside the old one.
                    if let Some((_, kp)) = self.find_consensus_key(&v.consensus_key)? {
                        consensus = kp;
                    }
                }
                for (which, file, expected, found) in [
                    ("consensus", file, v.consensus_key, consensus.public()),
                    (
                        "network",
                        &self.network_key_file,
                        v.network_key.as_public_key(),
                        network.public(),
                    ),
                ] {
                    if expected != found {
                        return Err(NodeKeysError::Mismatch {
                            which,
                            file: file.clone(),
                            expected: Box::new(expected),
                            found: Box::new(found),
                        });
                    }
                }
                Ok(NodeKeys {
                    consensus: Some((index, consensus)),
                    network,
                })
            }
            _ => {
                if let Some(v) = set
                    .iter()
                    .find(|v| v.network_key.as_public_key() == network.public())
                {
                    return Err(NodeKeysError::ObserverUsesValidatorKey {
                        name: self.name.clone(),
                        key: Box::new(network.public()),
                        validator: v.name.clone(),
                    });
                }
                Ok(NodeKeys {
                    consensus: None,
                    network,
                })
            }
        }
    }

    /// The consensus key file that holds `public`, looked for among the key files beside
    /// the configured one (its directory, at most [`KEY_DIR_ENTRIES_MAX`] entries, files
    /// ending `.key` that hold a consensus key): how a validator whose key governance
    /// rotated finds its new key (`chancery-testnet rotate` writes it there) without a
    /// config change or a restart. `None` for an observer or when no file holds it.
    pub fn find_consensus_key(
        &self,
        public: &PublicKey,
    ) -> Result<Option<(PathBuf, KeyPair)>, NodeKeysError> {
        let (NodeRole::Validator, Some(file)) = (&self.role, &self.consensus_key_file) else {
            return Ok(None);
        };
        let dir = file.parent().unwrap_or(Path::new("."));
        let entries = std::fs::read_dir(dir).map_err(|e| NodeKeysError::KeyDir {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let mut paths: Vec<PathBuf> = entries
            .take(KEY_DIR_ENTRIES_MAX)
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "key"))
            .collect();
        // The configured file first, then the others in name order (one answer per
        // directory).
        paths.sort();
        paths.sort_by_key(|p| p != file);
        for p in paths {
            // Network keys and unreadable files are not candidates.
            if let Ok(kp) = read_key_file_of_kind(&p, KeyKind::Consensus) {
                if kp.public() == *public {
                    return Ok(Some((p, kp)));
                }
            }
        }
        Ok(None)
    }

    /// Read the node's key files without checking them against any validator set: the
    /// network key, and the consensus key of a validator (a validator that a governance
    /// proposal adds starts before any set lists it, and catches up as a follower).
    pub fn read_keys(&self) -> Result<(KeyPair, Option<KeyPair>), NodeKeysError> {
        let network = read_key_file_of_kind(&self.network_key_file, KeyKind::Network)?;
        let consensus = match (&self.role, &self.consensus_key_file) {
            (NodeRole::Validator, Some(file)) => {
                Some(read_key_file_of_kind(file, KeyKind::Consensus)?)
            }
            _ => None,
        };
        Ok((network, consensus))
    }

    /// The TOML text.
    pub fn to_toml(&self) -> String {
        // Plain structs of strings, numbers and lists always serialise.
        toml::to_string(self).unwrap_or_default()
    }

    /// Check the rules that the types cannot express.
    pub fn validate(&self, file: &Path) -> Result<(), ConfigError> {
        let bad = |field: String, expected: &str, found: String| ConfigError::Invalid {
            file: file.to_path_buf(),
            field,
            expected: expected.to_string(),
            found,
        };
        let name_ok = |field: String, name: &str| {
            chancery_core::codec::check::id(&field, name, NODE_NAME_BYTES_MAX)
                .map_err(|e| bad(field.clone(), &e.expected, e.found))
        };
        name_ok("name".into(), &self.name)?;
        match (self.role, &self.consensus_key_file) {
            (NodeRole::Validator, None) => {
                return Err(bad(
                    "consensus_key_file".into(),
                    "a consensus key file for a validator",
                    "none".into(),
                ))
            }
            (NodeRole::Observer, Some(p)) => {
                return Err(bad(
                    "consensus_key_file".into(),
                    "no consensus key for an observer",
                    format!("{}", p.display()),
                ))
            }
            _ => {}
        }
        if self.p2p_listen == self.api_listen {
            return Err(bad(
                "api_listen".into(),
                "an address other than p2p_listen",
                self.api_listen.to_string(),
            ));
        }
        let positive = |field: &str, v: u64| {
            if v == 0 {
                Err(bad(field.into(), "a value of at least 1", "0".into()))
            } else {
                Ok(())
            }
        };
        positive("mempool.txs_max", self.mempool.txs_max as u64)?;
        positive("mempool.bytes_max", self.mempool.bytes_max as u64)?;
        positive(
            "mempool.per_signer_txs_max",
            self.mempool.per_signer_txs_max as u64,
        )?;
        positive("api.request_bytes_max", self.api.request_bytes_max as u64)?;
        positive("api.page_entries_max", self.api.page_entries_max as u64)?;
        positive(
            "api.concurrent_requests_max",
            self.api.concurrent_requests_max as u64,
        )?;
        positive("api.request_timeout_ms", self.api.request_timeout_ms)?;
        positive("api.requests_per_s_max", self.api.requests_per_s_max.into())?;
        positive("api.request_burst_max", self.api.request_burst_max.into())?;
        positive(
            "api.rate_limit_clients_max",
            self.api.rate_limit_clients_max as u64,
        )?;
        for (name, v) in [
            ("api.blocking_reads_max", self.api.blocking_reads_max),
            ("api.search_scan_max", self.api.search_scan_max),
            ("api.raw_page_bytes_max", self.api.raw_page_bytes_max),
            ("api.sse_streams_max", self.api.sse_streams_max),
            (
                "api.sse_streams_per_address_max",
                self.api.sse_streams_per_address_max,
            ),
            ("api.connections_max", self.api.connections_max),
            (
                "api.connections_per_address_max",
                self.api.connections_per_address_max,
            ),
        ] {
            positive(name, v as u64)?;
        }
        if self.peers.len() > PEERS_MAX {
            return Err(bad(
                "peers".into(),
                &format!("at most {PEERS_MAX} peers"),
                format!("{} peers", self.peers.len()),
            ));
        }
        let mut names = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for (i, p) in self.peers.iter().enumerate() {
            name_ok(format!("peers[{i}].name"), &p.name)?;
            if p.name == self.name {
                return Err(bad(
                    format!("peers[{i}].name"),
                    "a node other than this one",
                    format!("{:?}", p.name),
                ));
            }
            if !names.insert(p.name.as_str()) {
                return Err(bad(
                    format!("peers[{i}].name"),
                    "peer names unique",
                    format!("{:?} twice", p.name),
                ));
            }
            if !keys.insert(p.network_key) {
                return Err(bad(
                    format!("peers[{i}].network_key"),
                    "peer keys unique",
                    format!("{} twice", p.network_key),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/ops/config.md` names every key a node config has, and gives every default of
    /// `[mempool]` and `[api]` as the code has it: the reference cannot drift.
    #[test]
    fn the_config_reference_names_every_key_with_its_default() {
        let doc = include_str!("../../docs/ops/config.md");
        let mut c = NodeConfig::parse(MINIMAL, Path::new("node.toml")).unwrap();
        c.peers.push(PeerConfig {
            name: "nda-1".into(),
            address: "127.0.0.1:26002".parse().unwrap(),
            network_key: chancery_core::NetworkKey([7; 32]),
        });
        let toml::Value::Table(top) = toml::Value::try_from(&c).unwrap() else {
            panic!("a config is a table");
        };
        let row = |key: &str| {
            doc.lines()
                .find(|l| l.starts_with(&format!("| `{key}` |")))
                .unwrap_or_else(|| panic!("docs/ops/config.md has no row for `{key}`"))
        };
        let heading = |h: String| {
            assert!(
                doc.lines().any(|l| l == format!("## `{h}`")),
                "docs/ops/config.md has no section `{h}`"
            );
        };
        for (key, value) in &top {
            let nested = match value {
                toml::Value::Table(t) => {
                    heading(format!("[{key}]"));
                    vec![t.clone()]
                }
                toml::Value::Array(a) => {
                    heading(format!("[[{key}]]"));
                    a.iter().filter_map(|v| v.as_table().cloned()).collect()
                }
                _ => {
                    row(key);
                    vec![]
                }
            };
            for t in nested {
                for (k, v) in &t {
                    let line = row(k);
                    if let toml::Value::Integer(n) = v {
                        assert!(
                            line.contains(&format!("| {n} ")) || line.contains(&format!("| {n} |")),
                            "docs/ops/config.md gives another default for `{key}.{k}` (the code's is {n}): {line}"
                        );
                    }
                }
            }
        }
    }

    const MINIMAL: &str = r#"
name = "mof-1"
role = "validator"
data_dir = "data"
genesis = "../genesis.json"
consensus_key_file = "consensus.key"
network_key_file = "network.key"
p2p_listen = "127.0.0.1:26000"
api_listen = "127.0.0.1:26001"
"#;

    #[test]
    fn minimal_config_takes_defaults_and_resolves_paths() {
        let mut c = NodeConfig::parse(MINIMAL, Path::new("node.toml")).unwrap();
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.mempool, MempoolConfig::default());
        assert_eq!(c.api, ApiConfig::default());
        assert!(c.peers.is_empty());
        c.resolve_paths(Path::new("/srv/net/mof-1"));
        assert_eq!(c.genesis, Path::new("/srv/net/mof-1/../genesis.json"));
        assert_eq!(c.data_dir, Path::new("/srv/net/mof-1/data"));
        // Round trip through TOML.
        let again = NodeConfig::parse(&c.to_toml(), Path::new("x")).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn rejects_unknown_fields_and_bad_roles() {
        let typo = format!("{MINIMAL}\nmempol = {{ txs_max = 3 }}\n");
        let e = NodeConfig::parse(&typo, Path::new("n.toml")).unwrap_err();
        assert!(e.to_string().contains("mempol"), "{e}");
        let observer_with_key = MINIMAL.replace("\"validator\"", "\"observer\"");
        let e = NodeConfig::parse(&observer_with_key, Path::new("n.toml")).unwrap_err();
        assert!(e.to_string().contains("consensus_key_file"), "{e}");
        let validator_without_key = MINIMAL.replace("consensus_key_file = \"consensus.key\"", "");
        let e = NodeConfig::parse(&validator_without_key, Path::new("n.toml")).unwrap_err();
        assert!(e.to_string().contains("consensus_key_file"), "{e}");
        let zero = format!("{MINIMAL}\n[api]\npage_entries_max = 0\n");
        let e = NodeConfig::parse(&zero, Path::new("n.toml")).unwrap_err();
        assert!(e.to_string().contains("api.page_entries_max"), "{e}");
    }

    #[test]
    fn rejects_duplicate_peers_and_self() {
        let key = "11".repeat(32);
        let peer = |name: &str| {
            format!("\n[[peers]]\nname = \"{name}\"\naddress = \"127.0.0.1:26002\"\nnetwork_key = \"{key}\"\n")
        };
        let dup = format!("{MINIMAL}{}{}", peer("ndrc-1"), peer("ndrc-1"));
        let e = NodeConfig::parse(&dup, Path::new("n.toml")).unwrap_err();
        assert!(e.to_string().contains("peers[1].name"), "{e}");
        let me = format!("{MINIMAL}{}", peer("mof-1"));
        let e = NodeConfig::parse(&me, Path::new("n.toml")).unwrap_err();
        assert!(e.to_string().contains("peers[0].name"), "{e}");
    }
}
