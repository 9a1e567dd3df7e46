//! `DIR/testnet.json`, the manifest `chancery-testnet` writes: what scripts, benchmarks and
//! tests need to find every node of a local network. One definition, read by the testnet
//! tool, the `chancery` CLI's demo and bench, and the end-to-end tests.

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The manifest's file name inside the testnet directory.
pub const MANIFEST_FILE: &str = "testnet.json";
/// Largest manifest read, in bytes (a few hundred bytes per node).
pub const MANIFEST_BYTES_MAX: u64 = 1024 * 1024;

/// What went wrong reading or writing a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read or written.
    #[error("{path}: {reason} (is a testnet up in that directory?)")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        reason: String,
    },
    /// The file is larger than [`MANIFEST_BYTES_MAX`].
    #[error("{path}: {found} bytes, expected at most {MANIFEST_BYTES_MAX}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        found: u64,
    },
    /// The file is not a manifest.
    #[error("{path}: not a testnet manifest: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Serde's explanation.
        reason: String,
    },
    /// No node has that name.
    #[error("no node named {name:?}; expected one of {expected}")]
    NoSuchNode {
        /// The name asked for.
        name: String,
        /// The names there are, comma-separated.
        expected: String,
    },
}

/// One node of the testnet.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeEntry {
    /// Node name, e.g. `mof-1`.
    pub name: String,
    /// `validator` or `observer`.
    pub role: String,
    /// Process id of the running node (0 if never started).
    pub pid: u32,
    /// API base URL, e.g. `http://127.0.0.1:26601`.
    pub api: String,
    /// Peer-to-peer listen address (multiaddr).
    pub p2p: String,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Node config file.
    pub config: PathBuf,
    /// Network key file.
    pub key: PathBuf,
    /// The node's network namespace (testnets started with `--netns`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<NodeNetns>,
}

/// Where a node of a `--netns` testnet lives on the bridge.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeNetns {
    /// Network namespace name (`ip netns`).
    pub namespace: String,
    /// Host-side (root namespace) end of the node's veth pair, attached to the bridge.
    pub veth: String,
    /// The node's address; its p2p and API listen on it.
    pub ip: Ipv4Addr,
}

/// The bridge of a `--netns` testnet and its current partition.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NetnsNetwork {
    /// Bridge in the root namespace joining every node.
    pub bridge: String,
    /// The root namespace's address on the bridge.
    pub host_ip: Ipv4Addr,
    /// Prefix length of the subnet.
    pub prefix_len: u8,
    /// Groups of node names cut from each other (empty when healed).
    #[serde(default)]
    pub partition: Vec<Vec<String>>,
}

impl NodeEntry {
    /// Where the node's stdout and stderr go.
    pub fn log_path(&self) -> PathBuf {
        self.config
            .parent()
            .map(|p| p.join("node.log"))
            .unwrap_or_else(|| PathBuf::from("node.log"))
    }
}

/// A member key with every role, one per agency, for scripts and demos.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgencyKey {
    /// Agency id.
    pub agency: String,
    /// Key file.
    pub key: PathBuf,
}

/// The manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Path of genesis.json.
    pub genesis: PathBuf,
    /// The nodes.
    pub nodes: Vec<NodeEntry>,
    /// Member keys by agency.
    #[serde(default)]
    pub member_keys: Vec<AgencyKey>,
    /// The namespaced network, if the testnet was started with `--netns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetnsNetwork>,
}

impl Manifest {
    /// Read `DIR/testnet.json`.
    pub fn load(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join(MANIFEST_FILE);
        let io = |e: std::io::Error| ManifestError::Io {
            path: path.clone(),
            reason: e.to_string(),
        };
        let found = std::fs::metadata(&path).map_err(io)?.len();
        if found > MANIFEST_BYTES_MAX {
            return Err(ManifestError::TooLarge { path, found });
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        serde_json::from_str(&text).map_err(|e| ManifestError::Parse {
            path,
            reason: e.to_string(),
        })
    }

    /// Write `DIR/testnet.json` atomically (a temporary file renamed over it).
    pub fn save(&self, dir: &Path) -> Result<(), ManifestError> {
        let path = dir.join(MANIFEST_FILE);
        let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
        let io = |p: &Path, e: std::io::Error| ManifestError::Io {
            path: p.to_path_buf(),
            reason: e.to_string(),
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| ManifestError::Parse {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))
    }

    fn no_such_node(&self, name: &str) -> ManifestError {
        let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
        ManifestError::NoSuchNode {
            name: name.to_string(),
            expected: names.join(", "),
        }
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Result<&NodeEntry, ManifestError> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| self.no_such_node(name))
    }

    /// The node called `name`, mutable.
    pub fn node_mut(&mut self, name: &str) -> Result<&mut NodeEntry, ManifestError> {
        let err = self.no_such_node(name);
        self.nodes.iter_mut().find(|n| n.name == name).ok_or(err)
    }

    /// Whether a node is a validator (the others are observers).
    pub fn is_validator(n: &NodeEntry) -> bool {
        n.role != "observer"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let node = |name: &str, role: &str| NodeEntry {
            name: name.to_string(),
            role: role.to_string(),
            pid: 0,
            api: "http://127.0.0.1:26601".to_string(),
            p2p: "/ip4/127.0.0.1/tcp/26701".to_string(),
            data_dir: PathBuf::from("a/data"),
            config: PathBuf::from("a/node.toml"),
            key: PathBuf::from("a/network.key"),
            netns: None,
        };
        Manifest {
            genesis: PathBuf::from("genesis.json"),
            nodes: vec![node("a-1", "validator"), node("b-1", "observer")],
            member_keys: vec![],
            network: None,
        }
    }

    #[test]
    fn saved_manifest_loads_back_and_names_its_nodes() {
        let dir = tempfile::tempdir().unwrap();
        let m = sample();
        m.save(dir.path()).unwrap();
        let back = Manifest::load(dir.path()).unwrap();
        assert_eq!(back.nodes.len(), 2);
        assert_eq!(back.node("b-1").unwrap().role, "observer");
        assert!(!Manifest::is_validator(back.node("b-1").unwrap()));
        let err = back.node("c-1").unwrap_err().to_string();
        assert!(err.contains("\"c-1\"") && err.contains("a-1, b-1"), "{err}");
    }

    #[test]
    fn a_missing_or_foreign_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = Manifest::load(dir.path()).unwrap_err();
        assert!(matches!(err, ManifestError::Io { .. }), "{err}");
        std::fs::write(dir.path().join(MANIFEST_FILE), "{\"nodes\": 3}").unwrap();
        let err = Manifest::load(dir.path()).unwrap_err();
        assert!(
            matches!(err, ManifestError::Parse { .. }) && err.to_string().contains(MANIFEST_FILE),
            "{err}"
        );
    }
}
