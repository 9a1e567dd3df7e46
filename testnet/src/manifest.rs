//! `DIR/testnet.json`: the manifest's types live in `chancery_client::manifest` (the CLI and
//! the tests read it too); this module builds one from the node configs.

use anyhow::{anyhow, bail, Context, Result};
pub use chancery_client::manifest::{AgencyKey, Manifest, NetnsNetwork, NodeEntry, NodeNetns};
use std::path::{Path, PathBuf};

/// Build the manifest from the node configs that `chancery-genesis testnet` wrote.
pub fn from_configs(dir: &Path) -> Result<Manifest> {
    let dir = std::fs::canonicalize(dir).with_context(|| format!("resolving {}", dir.display()))?;
    let mut nodes = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("node.toml").is_file())
        .collect();
    entries.sort();
    for d in entries {
        let cfg = d.join("node.toml");
        let text =
            std::fs::read_to_string(&cfg).with_context(|| format!("reading {}", cfg.display()))?;
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
