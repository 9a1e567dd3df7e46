//! Start checks of `chancery-node start`: the node's keys against the genesis, and the peer
//! allow list (issue 14, finding 7).

use anyhow::{Context, Result};
use chancery_core::crypto::SecretKey;
use chancery_core::genesis::Genesis;
use chancery_genesis::config::NodeConfig;
use chancery_genesis::keyfile::KeyPair;
use chancery_net::{PeerConfig, PeerName};

/// The keys a node starts with, checked against the genesis.
pub struct StartKeys {
    /// The network identity.
    pub network: KeyPair,
    /// The consensus key (validators).
    pub consensus: Option<SecretKey>,
}

/// Read the node's keys and check them against the genesis: a validator must be listed
/// under its name with exactly these consensus and network keys (the error names the
/// expected and the found key); an observer must not use a validator's network key.
pub fn start_keys(cfg: &NodeConfig, genesis: &Genesis) -> Result<StartKeys> {
    let keys = cfg.load_keys(genesis).with_context(|| {
        format!(
            "checking the keys of node {:?} against the genesis",
            cfg.name
        )
    })?;
    Ok(StartKeys {
        network: keys.network,
        consensus: keys.consensus.map(|(_, k)| k.secret.clone()),
    })
}

/// The peers this node admits and dials (issue 14, finding 7). Validators come from the
/// genesis: each is admitted under its genesis name with its genesis network key only; the
/// config may give its address, and a config entry naming a validator with another key is
/// ignored for the key (logged). Genesis lists no observers, so observers are the config's
/// entries whose name and key are no validator's; they are admitted as non-voting peers
/// (the driver takes consensus messages only from the genesis validators' names). An entry
/// that carries a validator's key under another name is refused.
pub fn allowed_peers(cfg: &NodeConfig, genesis: &Genesis) -> Vec<PeerConfig> {
    let set = &genesis.validators.validators;
    let addrs_of = |p: &chancery_genesis::config::PeerConfig| {
        socket_multiaddr(&p.address)
            .parse()
            .into_iter()
            .collect::<Vec<_>>()
    };
    let mut out: Vec<PeerConfig> = set
        .iter()
        .filter(|v| v.name != cfg.name)
        .map(|v| {
            let entry = cfg.peers.iter().find(|p| p.name == v.name);
            if let Some(p) = entry.filter(|p| p.network_key != v.network_key) {
                tracing::error!(
                    peer = %v.name,
                    expected = %v.network_key,
                    found = %p.network_key,
                    "the config gives validator {} a network key that is not its genesis key; admitting the genesis key only",
                    v.name
                );
            }
            PeerConfig {
                name: PeerName::from(v.name.as_str()),
                network_key: v.network_key,
                addrs: entry.map(addrs_of).unwrap_or_default(),
            }
        })
        .collect();
    for p in &cfg.peers {
        if p.name == cfg.name || set.iter().any(|v| v.name == p.name) {
            continue;
        }
        if let Some(v) = set.iter().find(|v| v.network_key == p.network_key) {
            tracing::error!(
                peer = %p.name,
                key = %p.network_key,
                validator = %v.name,
                "config peer uses validator {}'s network key under another name; not admitted",
                v.name
            );
            continue;
        }
        out.push(PeerConfig {
            name: PeerName::from(p.name.as_str()),
            network_key: p.network_key,
            addrs: addrs_of(p),
        });
    }
    out
}

/// The multiaddr text of a TCP socket address (the network layer parses it).
pub fn socket_multiaddr(a: &std::net::SocketAddr) -> String {
    match a.ip() {
        std::net::IpAddr::V4(ip) => format!("/ip4/{ip}/tcp/{}", a.port()),
        std::net::IpAddr::V6(ip) => format!("/ip6/{ip}/tcp/{}", a.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_genesis::config::PeerConfig as CfgPeer;
    use chancery_genesis::keyfile::{write_key_file, KeyKind};
    use chancery_ledger::testing::fixture::{named_key, Fixture};
    use std::path::PathBuf;

    fn dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("chancery-startup-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    fn config(
        d: &std::path::Path,
        name: &str,
        consensus: &SecretKey,
        network: &SecretKey,
    ) -> NodeConfig {
        let ck = d.join("consensus.key");
        let nk = d.join("network.key");
        write_key_file(&ck, KeyKind::Consensus, consensus).expect("key");
        write_key_file(&nk, KeyKind::Network, network).expect("key");
        let text = format!(
            "name = \"{name}\"\nrole = \"validator\"\ndata_dir = \"data\"\ngenesis = \"g.json\"\nconsensus_key_file = \"consensus.key\"\nnetwork_key_file = \"network.key\"\np2p_listen = \"127.0.0.1:26000\"\napi_listen = \"127.0.0.1:26001\"\n"
        );
        let mut c = NodeConfig::parse(&text, &d.join("node.toml")).expect("config");
        c.resolve_paths(d);
        c
    }

    fn peer(name: &str, port: u16, key: &SecretKey) -> CfgPeer {
        CfgPeer {
            name: name.into(),
            address: format!("127.0.0.1:{port}").parse().expect("addr"),
            network_key: key.public(),
        }
    }

    #[test]
    fn the_allow_list_admits_the_genesis_keys_and_never_a_foreign_key_for_a_validator() {
        let fx = Fixture::new();
        let d = dir("allow");
        let mut c = config(&d, "v0", &fx.validators[0], &named_key("net-0"));
        let foreign = named_key("attacker");
        let observer = named_key("observer");
        c.peers = vec![
            // A validator's name with a key that is not its genesis key.
            peer("v1", 26002, &foreign),
            // A validator's genesis key under another name.
            peer("alias", 26004, &named_key("net-2")),
            // An observer (genesis lists no observers): admitted, never as a validator.
            peer("observer-1", 26006, &observer),
        ];
        let allowed = allowed_peers(&c, &fx.genesis);
        let key_of = |n: &str| {
            allowed
                .iter()
                .find(|p| p.name.as_str() == n)
                .map(|p| p.network_key)
        };
        assert!(
            allowed.iter().all(|p| p.network_key != foreign.public()),
            "a key outside the genesis is admitted as validator v1: {:?}",
            allowed
                .iter()
                .map(|p| (&p.name, p.network_key))
                .collect::<Vec<_>>()
        );
        assert_eq!(key_of("v1"), Some(named_key("net-1").public()));
        assert_eq!(key_of("alias"), None);
        // Every genesis validator but ourselves, with its genesis key; v1 keeps its address.
        for i in 1..4 {
            assert_eq!(
                key_of(&format!("v{i}")),
                Some(named_key(&format!("net-{i}")).public())
            );
        }
        assert_eq!(key_of("v0"), None);
        let v1 = allowed
            .iter()
            .find(|p| p.name.as_str() == "v1")
            .expect("v1");
        assert_eq!(v1.addrs.len(), 1);
        assert_eq!(key_of("observer-1"), Some(observer.public()));
    }

    #[test]
    fn a_validator_whose_network_key_differs_from_the_genesis_refuses_to_start() {
        let fx = Fixture::new();
        let d = dir("netkey");
        let wrong = named_key("not-net-0");
        let c = config(&d, "v0", &fx.validators[0], &wrong);
        let e = start_keys(&c, &fx.genesis)
            .err()
            .expect("a network key that is not the genesis one is refused");
        let text = format!("{e:#}");
        assert!(
            text.contains(&named_key("net-0").public().to_string()),
            "{text}"
        );
        assert!(text.contains(&wrong.public().to_string()), "{text}");
    }

    #[test]
    fn a_validator_whose_consensus_key_differs_from_the_genesis_refuses_to_start() {
        let fx = Fixture::new();
        let d = dir("conskey");
        let c = config(&d, "v0", &fx.validators[1], &named_key("net-0"));
        let e = start_keys(&c, &fx.genesis).err().expect("refused");
        let text = format!("{e:#}");
        assert!(
            text.contains(&fx.validators[0].public().to_string()),
            "{text}"
        );
        // The right keys start.
        let d = d.join("right");
        std::fs::create_dir_all(&d).expect("dir");
        let c = config(&d, "v0", &fx.validators[0], &named_key("net-0"));
        let k = start_keys(&c, &fx.genesis).expect("the genesis keys start");
        assert_eq!(
            k.consensus.map(|s| s.public()),
            Some(fx.validators[0].public())
        );
    }
}
