//! `chancery-node init --genesis FILE --agency ID --name NAME --dir DIR [--validator]`:
//! prepare a node for an agency that joins an existing network (docs/ops/join.md).
//!
//! It writes, into a new directory, the node's keys (network; consensus for a validator;
//! an admin key when the agency is not in the genesis yet), a copy of the genesis file, a
//! config naming the peers given, the database with the genesis state, and
//! `join-changes.toml`: the governance changes the network's agencies must pass
//! (`chancery gov propose --changes join-changes.toml`), with public keys only. Secret keys
//! never leave the directory. Nothing is overwritten: the directory must not exist or be
//! empty.

use anyhow::{anyhow, bail, Context, Result};
use chancery_core::genesis::Genesis;
use chancery_core::PublicKey;
use chancery_genesis::config::{
    ApiConfig, LogFormat, MempoolConfig, NodeConfig, NodeRole, PeerConfig,
};
use chancery_genesis::keyfile::{generate_key, generate_network_key, write_key_file, KeyKind};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Most `--peer` entries.
pub const PEERS_MAX: usize = 256;

/// What to prepare.
#[derive(Debug, Clone)]
pub struct JoinArgs {
    /// The network's genesis file.
    pub genesis: PathBuf,
    /// The agency's id (in the genesis, or one a proposal will add).
    pub agency: String,
    /// The node's name (a validator's name in the sets).
    pub name: String,
    /// The directory to create.
    pub dir: PathBuf,
    /// A validator (voted into the set) rather than an observer.
    pub validator: bool,
    /// Peers: `NAME=HOST:PORT=NETWORK_KEY_HEX`.
    pub peers: Vec<String>,
    /// The p2p listen address.
    pub p2p: SocketAddr,
    /// The HTTP API listen address.
    pub api: SocketAddr,
}

/// What was prepared.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The config file written.
    pub config: PathBuf,
    /// The governance changes file written (empty list for an observer of a genesis
    /// agency).
    pub changes: PathBuf,
    /// How many changes the network must pass.
    pub change_count: usize,
    /// The node's network key.
    pub network_key: chancery_core::NetworkKey,
    /// Its consensus key (validators).
    pub consensus_key: Option<PublicKey>,
    /// The new agency's admin key (an agency not in the genesis).
    pub admin_key: Option<PublicKey>,
}

/// Parse one `--peer NAME=HOST:PORT=NETWORK_KEY_HEX`.
pub fn parse_peer(s: &str) -> Result<PeerConfig> {
    let mut parts = s.splitn(3, '=');
    let (Some(name), Some(addr), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("--peer {s:?}: expected NAME=HOST:PORT=NETWORK_KEY_HEX");
    };
    let address: SocketAddr = addr
        .parse()
        .map_err(|e| anyhow!("--peer {s:?}: address {addr:?} is not HOST:PORT: {e}"))?;
    let network_key: chancery_core::NetworkKey = key.parse().map_err(|e| {
        anyhow!(
            "--peer {s:?}: network key is not 64 hex digits (the peer's network public key): {e}"
        )
    })?;
    Ok(PeerConfig {
        name: name.to_string(),
        address,
        network_key,
    })
}

/// Prepare the node's directory (see the module doc).
pub fn prepare(a: &JoinArgs, genesis: &Genesis) -> Result<Prepared> {
    chancery_core::codec::check::id("agency", &a.agency, chancery_core::limits::ID_BYTES_MAX)
        .map_err(|e| anyhow!("--agency: {e}"))?;
    if a.peers.len() > PEERS_MAX {
        bail!("{} --peer entries, at most {PEERS_MAX}", a.peers.len());
    }
    let peers = a
        .peers
        .iter()
        .map(|p| parse_peer(p))
        .collect::<Result<Vec<_>>>()?;
    if genesis
        .validators
        .validators
        .iter()
        .any(|v| v.name == a.name)
    {
        bail!(
            "--name {:?} is a validator of the genesis already: a joining node needs a new name",
            a.name
        );
    }
    if a.dir.exists()
        && std::fs::read_dir(&a.dir)
            .with_context(|| format!("reading {}", a.dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} exists and is not empty: expected a new directory (nothing is overwritten, keys least of all)",
            a.dir.display()
        );
    }
    std::fs::create_dir_all(&a.dir).with_context(|| format!("creating {}", a.dir.display()))?;
    let genesis_copy = a.dir.join("genesis.json");
    std::fs::copy(&a.genesis, &genesis_copy).with_context(|| {
        format!(
            "copying {} to {}",
            a.genesis.display(),
            genesis_copy.display()
        )
    })?;

    let network = generate_network_key()?;
    write_key_file(&a.dir.join("network.key"), KeyKind::Network, &network)?;
    let consensus = if a.validator {
        let k = generate_key(genesis.crypto)?;
        write_key_file(&a.dir.join("consensus.key"), KeyKind::Consensus, &k)?;
        Some(k)
    } else {
        None
    };
    let known = genesis.agencies.iter().any(|g| g.id.0 == a.agency);
    let admin = if known {
        None
    } else {
        let k = generate_key(genesis.crypto)?;
        write_key_file(&a.dir.join("admin.key"), KeyKind::Member, &k)?;
        Some(k)
    };

    let cfg = NodeConfig {
        name: a.name.clone(),
        role: if a.validator {
            NodeRole::Validator
        } else {
            NodeRole::Observer
        },
        data_dir: PathBuf::from("data"),
        genesis: PathBuf::from("genesis.json"),
        consensus_key_file: consensus.as_ref().map(|_| PathBuf::from("consensus.key")),
        network_key_file: PathBuf::from("network.key"),
        p2p_listen: a.p2p,
        api_listen: a.api,
        log_format: LogFormat::default(),
        mempool: MempoolConfig::default(),
        api: ApiConfig::default(),
        storage: Default::default(),
        snapshots: Default::default(),
        state_sync: Default::default(),
        peers,
    };
    let config = a.dir.join("node.toml");
    cfg.validate(&config)?;
    std::fs::write(&config, cfg.to_toml())
        .with_context(|| format!("writing {}", config.display()))?;

    let mut changes = String::from(
        "# The governance changes this node needs, for an admin of the network:\n\
         #   chancery gov propose --id join-AGENCY --changes join-changes.toml --key ADMIN.key\n",
    );
    let mut change_count = 0;
    if let Some(k) = &admin {
        change_count += 1;
        changes.push_str(&format!(
            "\n[[changes]]\nchange = \"add_agency\"\nid = {:?}\nname_zh = {:?}\nname_en = {:?}\nadmin_keys = [{:?}]\n",
            a.agency,
            a.agency,
            a.agency,
            k.public().to_hex()
        ));
    }
    if let Some(k) = &consensus {
        change_count += 1;
        changes.push_str(&format!(
            "\n[[changes]]\nchange = \"add_validator\"\nagency = {:?}\nname = {:?}\nconsensus_key = {:?}\nnetwork_key = {:?}\npower = 1\n",
            a.agency,
            a.name,
            k.public().to_hex(),
            network.public().to_hex()
        ));
    }
    let changes_file = a.dir.join("join-changes.toml");
    std::fs::write(&changes_file, changes)
        .with_context(|| format!("writing {}", changes_file.display()))?;

    Ok(Prepared {
        config,
        changes: changes_file,
        change_count,
        network_key: chancery_core::NetworkKey::of_ed25519(&network.public()).unwrap(),
        consensus_key: consensus.map(|k| k.public()),
        admin_key: admin.map(|k| k.public()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_genesis::keyfile::read_key_file_of_kind;
    use chancery_ledger::testing::fixture::Fixture;
    use std::path::Path;

    fn args(fx_genesis: &Path, dir: &Path, agency: &str, validator: bool) -> JoinArgs {
        JoinArgs {
            genesis: fx_genesis.to_path_buf(),
            agency: agency.into(),
            name: format!("{agency}-9"),
            dir: dir.to_path_buf(),
            validator,
            peers: vec![format!("v0=127.0.0.1:26000={}", "ab".repeat(32))],
            p2p: "127.0.0.1:27000".parse().unwrap(),
            api: "127.0.0.1:27001".parse().unwrap(),
        }
    }

    fn genesis_file(fx: &Fixture, dir: &Path) -> PathBuf {
        let p = dir.join("genesis.json");
        std::fs::write(&p, chancery_genesis::document::to_json(&fx.genesis)).unwrap();
        p
    }

    #[test]
    fn a_new_agencys_validator_gets_keys_config_and_the_changes_to_vote() {
        let fx = Fixture::new();
        let tmp = tempfile::tempdir().unwrap();
        let g = genesis_file(&fx, tmp.path());
        let dir = tmp.path().join("mps-node");
        let p = prepare(&args(&g, &dir, "mps", true), &fx.genesis).unwrap();
        assert_eq!(p.change_count, 2);
        let cfg = NodeConfig::load(&p.config).unwrap();
        assert_eq!(cfg.role, NodeRole::Validator);
        assert_eq!(cfg.peers.len(), 1);
        assert_eq!(cfg.genesis, dir.join("genesis.json"));
        // The keys in the files are the ones the changes name; the changes carry no secret.
        let (network, consensus) = cfg.read_keys().unwrap();
        assert_eq!(network.public(), p.network_key.as_public_key());
        assert_eq!(consensus.map(|k| k.public()), p.consensus_key);
        let admin = read_key_file_of_kind(&dir.join("admin.key"), KeyKind::Member).unwrap();
        assert_eq!(Some(admin.public()), p.admin_key);
        let text = std::fs::read_to_string(&p.changes).unwrap();
        let doc: toml::Value = toml::from_str(&text).unwrap();
        let changes = doc["changes"].as_array().unwrap();
        assert_eq!(changes[0]["change"].as_str(), Some("add_agency"));
        assert_eq!(
            changes[0]["admin_keys"][0].as_str(),
            Some(admin.public().to_hex().as_str())
        );
        assert_eq!(changes[1]["change"].as_str(), Some("add_validator"));
        assert_eq!(changes[1]["name"].as_str(), Some("mps-9"));
        assert_eq!(
            changes[1]["consensus_key"].as_str(),
            Some(p.consensus_key.unwrap().to_hex().as_str())
        );
        assert!(!text.contains("secret"), "no secret key in {text}");
        // The database is not created here (`prepare` is the files part).
        assert!(!dir.join("data").exists());
    }

    #[test]
    fn an_observer_of_a_genesis_agency_needs_no_vote_and_nothing_is_overwritten() {
        let fx = Fixture::new();
        let tmp = tempfile::tempdir().unwrap();
        let g = genesis_file(&fx, tmp.path());
        let dir = tmp.path().join("mof-obs");
        let p = prepare(&args(&g, &dir, "mof", false), &fx.genesis).unwrap();
        assert_eq!(
            (p.change_count, p.admin_key, p.consensus_key),
            (0, None, None)
        );
        assert_eq!(
            NodeConfig::load(&p.config).unwrap().role,
            NodeRole::Observer
        );
        let key = std::fs::read(dir.join("network.key")).unwrap();
        // A second run into the same directory refuses and leaves the keys alone.
        let e = prepare(&args(&g, &dir, "mof", false), &fx.genesis).unwrap_err();
        assert!(e.to_string().contains("not empty"), "{e}");
        assert_eq!(std::fs::read(dir.join("network.key")).unwrap(), key);
    }

    #[test]
    fn bad_peers_names_and_agencies_are_refused_with_what_was_expected() {
        let fx = Fixture::new();
        let tmp = tempfile::tempdir().unwrap();
        let g = genesis_file(&fx, tmp.path());
        let mut a = args(&g, &tmp.path().join("x"), "mps", true);
        a.peers = vec!["v0=127.0.0.1:26000".into()];
        let e = prepare(&a, &fx.genesis).unwrap_err().to_string();
        assert!(e.contains("NAME=HOST:PORT=NETWORK_KEY_HEX"), "{e}");
        a.peers = vec!["v0=nowhere=00".into()];
        let e = prepare(&a, &fx.genesis).unwrap_err().to_string();
        assert!(e.contains("HOST:PORT"), "{e}");
        a.peers = vec![];
        a.name = "v0".into();
        let e = prepare(&a, &fx.genesis).unwrap_err().to_string();
        assert!(e.contains("validator of the genesis"), "{e}");
        a.name = "mps-1".into();
        a.agency = "Bad Agency".into();
        let e = prepare(&a, &fx.genesis).unwrap_err().to_string();
        assert!(e.starts_with("--agency"), "{e}");
        assert!(
            !tmp.path().join("x").exists(),
            "nothing written on a bad input"
        );
    }
}
