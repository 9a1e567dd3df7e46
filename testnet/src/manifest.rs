//! `DIR/testnet.json`: what scripts and tests need to find every node.

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

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

const FILE: &str = "testnet.json";

impl Manifest {
    /// Read `DIR/testnet.json`.
    pub fn load(dir: &Path) -> Result<Manifest> {
        let p = dir.join(FILE);
        let text = std::fs::read_to_string(&p).with_context(|| {
            format!(
                "reading {} (is a testnet up in {}?)",
                p.display(),
                dir.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))
    }

    /// Write `DIR/testnet.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let p = dir.join(FILE);
        let tmp = dir.join(format!("{FILE}.tmp"));
        std::fs::write(&tmp, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &p).with_context(|| format!("renaming to {}", p.display()))?;
        Ok(())
    }

    /// Build the manifest from the node configs that `chancery-genesis testnet` wrote.
    pub fn from_configs(dir: &Path) -> Result<Manifest> {
        let dir =
            std::fs::canonicalize(dir).with_context(|| format!("resolving {}", dir.display()))?;
        let mut nodes = Vec::new();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("listing {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("node.toml").is_file())
            .collect();
        entries.sort();
        for d in entries {
            let cfg = d.join("node.toml");
            let text = std::fs::read_to_string(&cfg)
                .with_context(|| format!("reading {}", cfg.display()))?;
            let v: toml::Value =
                toml::from_str(&text).with_context(|| format!("parsing {}", cfg.display()))?;
            let s = |k: &str| -> Result<String> {
                v.get(k)
                    .and_then(|x| x.as_str())
                    .map(str::to_string)
                    .ok_or_else(|| anyhow!("{}: missing string field `{k}`", cfg.display()))
            };
            let rel = |p: String| -> PathBuf {
                let p = PathBuf::from(p);
                if p.is_absolute() {
                    p
                } else {
                    d.join(p)
                }
            };
            let api_listen = s("api_listen")?;
            nodes.push(NodeEntry {
                name: s("name")?,
                role: s("role")?,
                pid: 0,
                api: format!("http://{api_listen}"),
                p2p: s("p2p_listen")?,
                data_dir: rel(s("data_dir")?),
                config: cfg.clone(),
                key: rel(s("network_key_file")?),
                netns: None,
            });
        }
        if nodes.is_empty() {
            bail!("no node configs (*/node.toml) in {}", dir.display());
        }
        // `chancery-genesis testnet` writes one member key with every role per agency as
        // keys/<agency>-member.key.
        let mut member_keys = Vec::new();
        if let Ok(rd) = std::fs::read_dir(dir.join("keys")) {
            let mut ks: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            ks.sort();
            for k in ks {
                let name = k.file_name().and_then(|s| s.to_str()).unwrap_or("");
                if let Some(agency) = name.strip_suffix("-member.key") {
                    member_keys.push(AgencyKey {
                        agency: agency.to_string(),
                        key: k.clone(),
                    });
                }
            }
        }
        Ok(Manifest {
            genesis: dir.join("genesis.json"),
            nodes,
            member_keys,
            network: None,
        })
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Result<&NodeEntry> {
        self.nodes.iter().find(|n| n.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
            anyhow!(
                "no node named {name:?}; expected one of {}",
                names.join(", ")
            )
        })
    }

    /// The node called `name`, mutable.
    pub fn node_mut(&mut self, name: &str) -> Result<&mut NodeEntry> {
        let names: Vec<String> = self.nodes.iter().map(|n| n.name.clone()).collect();
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .ok_or_else(|| {
                anyhow!(
                    "no node named {name:?}; expected one of {}",
                    names.join(", ")
                )
            })
    }
}
