//! The testnet generator and the command line: keygen refuses to overwrite and writes 0600,
//! testnet output passes build validation and its configs hold keys that match genesis.

use chancery_core::TimestampMs;
use chancery_genesis::config::{NodeConfig, NodeKeysError, NodeRole};
use chancery_genesis::keyfile::{read_key_file_of_kind, KeyKind};
use chancery_genesis::rules::{self, Rules};
use chancery_genesis::testnet::{generate, TestnetError, TestnetOptions};
use chancery_genesis::{build_from_file, load_genesis};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn opts(out: &Path, validators: usize, observers: usize) -> TestnetOptions {
    TestnetOptions {
        validators,
        observers,
        out: out.to_path_buf(),
        base_port: 27000,
        chain_name: "chancery-testnet".into(),
        genesis_time: TimestampMs(1_796_086_800_000),
        dev: false,
        crypto: Default::default(),
    }
}

#[test]
fn testnet_genesis_validates_and_configs_match_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let t = generate(&opts(&out, 5, 2)).unwrap();

    // The genesis on disk passes the production rules and matches what the description builds.
    let g = load_genesis(&out.join("genesis.json")).unwrap();
    rules::check(&g, Rules::PRODUCTION).unwrap();
    assert_eq!(g, t.genesis);
    let rebuilt = build_from_file(&out.join("consortium.toml"), Rules::PRODUCTION).unwrap();
    assert_eq!(rebuilt.chain_id(), t.chain_id);
    assert_eq!(g.validators.len(), 5);
    assert_eq!(g.agencies.len(), 5);
    let agency_ids: Vec<&str> = g.agencies.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(agency_ids[..4], ["mof", "ndrc", "nda", "cnao"]);
    // One member with every role per agency, and its key file matches.
    assert_eq!(g.members.len(), 5);
    for (a, m) in g.agencies.iter().zip(&g.members) {
        assert_eq!(m.agency, a.id);
        assert_eq!(m.roles, chancery_core::record::Role::ALL.to_vec());
        let mk = read_key_file_of_kind(
            &out.join(format!("keys/{}-member.key", a.id)),
            KeyKind::Member,
        )
        .unwrap();
        assert_eq!(mk.public(), m.key);
        let ak = read_key_file_of_kind(
            &out.join(format!("keys/{}-admin.key", a.id)),
            KeyKind::Member,
        )
        .unwrap();
        assert_eq!(a.admin_keys, vec![ak.public()]);
    }

    assert_eq!(t.nodes.len(), 7);
    let mut ports = BTreeSet::new();
    let mut network_keys = std::collections::BTreeMap::new();
    for n in &t.nodes {
        let c = NodeConfig::load(&n.config_path).unwrap();
        assert_eq!(c.name, n.name);
        assert!(ports.insert(c.p2p_listen.port()), "duplicate port");
        assert!(ports.insert(c.api_listen.port()), "duplicate port");
        assert!(c.p2p_listen.ip().is_loopback());
        let nk = read_key_file_of_kind(&c.network_key_file, KeyKind::Network).unwrap();
        network_keys.insert(c.name.clone(), (nk.public(), c.p2p_listen));
        assert_eq!(load_genesis(&c.genesis).unwrap().chain_id(), t.chain_id);
        match c.role {
            NodeRole::Validator => {
                let v = g
                    .validators
                    .validators
                    .iter()
                    .find(|v| v.name == c.name)
                    .expect("validator config names a genesis validator");
                let ck = read_key_file_of_kind(
                    c.consensus_key_file.as_ref().unwrap(),
                    KeyKind::Consensus,
                )
                .unwrap();
                assert_eq!(ck.public(), v.consensus_key);
                assert_eq!(nk.public(), v.network_key.as_public_key());
            }
            NodeRole::Observer => {
                assert!(c.consensus_key_file.is_none());
                assert!(g
                    .validators
                    .validators
                    .iter()
                    .all(|v| v.network_key.as_public_key() != nk.public()));
            }
        }
        assert_eq!(c.peers.len(), 6);
    }
    assert_eq!(ports.len(), 14);
    assert_eq!(*ports.iter().next().unwrap(), 27000);
    assert_eq!(*ports.iter().last().unwrap(), 27013);
    // Every peer entry names another node's real address and network key.
    for n in &t.nodes {
        for p in &n.config.peers {
            assert_ne!(p.name, n.name);
            assert_eq!(
                network_keys[&p.name],
                (p.network_key.as_public_key(), p.address)
            );
        }
    }
}

#[test]
fn node_keys_are_checked_against_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let t = generate(&opts(&out, 4, 1)).unwrap();
    for (i, n) in t.nodes.iter().enumerate() {
        let c = NodeConfig::load(&n.config_path).unwrap();
        let keys = c.load_keys(&t.genesis).unwrap();
        match c.role {
            NodeRole::Validator => {
                let (index, k) = keys.consensus.unwrap();
                assert_eq!(usize::from(index), i);
                assert_eq!(t.genesis.validators.validators[i].consensus_key, k.public());
            }
            NodeRole::Observer => assert!(keys.consensus.is_none()),
        }
    }
    // mof-1 pointed at ndrc-1's consensus key: refused, naming both keys.
    let mut c = NodeConfig::load(&t.nodes[0].config_path).unwrap();
    c.consensus_key_file = Some(out.join("ndrc-1/consensus.key"));
    let e = c.load_keys(&t.genesis).unwrap_err();
    assert!(
        matches!(
            e,
            NodeKeysError::Mismatch {
                which: "consensus",
                ..
            }
        ),
        "{e}"
    );
    // A validator name that genesis does not know.
    let mut c = NodeConfig::load(&t.nodes[0].config_path).unwrap();
    c.name = "mof-9".into();
    let e = c.load_keys(&t.genesis).unwrap_err();
    assert!(
        e.to_string().contains("mof-9") && e.to_string().contains("ndrc-1"),
        "{e}"
    );
    // An observer with a validator's network key.
    let mut c = NodeConfig::load(&t.nodes[4].config_path).unwrap();
    c.network_key_file = out.join("nda-1/network.key");
    let e = c.load_keys(&t.genesis).unwrap_err();
    assert!(
        matches!(e, NodeKeysError::ObserverUsesValidatorKey { .. }),
        "{e}"
    );
}

#[test]
fn testnet_refuses_bad_counts_ports_and_non_empty_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    assert!(matches!(
        generate(&opts(&out, 3, 0)),
        Err(TestnetError::Count {
            what: "validators",
            found: 3,
            ..
        })
    ));
    assert!(!out.exists(), "nothing written for a refused request");
    let mut o = opts(&out, 4, 0);
    o.base_port = 65530;
    assert!(matches!(generate(&o), Err(TestnetError::Ports { .. })));
    let mut o = opts(&out, 1, 1);
    o.dev = true;
    let t = generate(&o).unwrap();
    assert_eq!(t.genesis.validators.len(), 1);
    // The directory now has files: a second run must not overwrite them.
    let e = generate(&o).unwrap_err();
    assert!(matches!(e, TestnetError::NotEmpty { .. }), "{e}");
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chancery-genesis"))
}

#[test]
fn keygen_writes_0600_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v.key");
    let pubp = dir.path().join("v.pub");
    let out = bin()
        .args(["keygen", "--kind", "consensus", "--out"])
        .arg(&p)
        .arg("--public-out")
        .arg(&pubp)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let kp = read_key_file_of_kind(&p, KeyKind::Consensus).unwrap();
    assert_eq!(printed.trim(), kp.public().to_hex());
    assert!(
        !printed.contains(&hex::encode(kp.secret.seed())),
        "the secret is never printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let before = std::fs::read(&p).unwrap();
    let again = bin().args(["keygen", "--out"]).arg(&p).output().unwrap();
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("already exists") && err.contains("v.key"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&p).unwrap(),
        before,
        "the key file is untouched"
    );
}

#[test]
fn build_and_inspect_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("genesis.json");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/consortium.toml");
    let b = bin()
        .arg("build")
        .arg(&example)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let id = String::from_utf8(b.stdout).unwrap();
    let g = load_genesis(&out).unwrap();
    assert_eq!(id.trim(), g.chain_id().to_hex());

    let i = bin()
        .arg("inspect")
        .arg(&out)
        .arg("--json")
        .output()
        .unwrap();
    assert!(i.status.success());
    let v: serde_json::Value = serde_json::from_slice(&i.stdout).unwrap();
    assert_eq!(v["chain_id"], g.chain_id().to_hex());
    assert_eq!(v["chain_name"], "chancery-beijing");
    assert_eq!(v["quorum_power"], 3);
    assert_eq!(v["fault_power"], 1);
    assert_eq!(v["validators"][1]["name"], "ndrc-1");
    assert_eq!(v["agencies"][0]["name_zh"], "财政部");
    assert_eq!(v["params"]["delta_ms"], 500);
    let text = bin().arg("inspect").arg(&out).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("quorum 3, f = 1") && text.contains(&g.chain_id().to_hex()),
        "{text}"
    );

    // A bad file: a clear error, no panic.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "chain_name = 3").unwrap();
    let e = bin().arg("build").arg(&bad).output().unwrap();
    assert_eq!(e.status.code(), Some(1));
    let err = String::from_utf8_lossy(&e.stderr);
    assert!(
        err.contains("bad.toml") && !err.contains("panicked"),
        "{err}"
    );
}

/// A validator whose consensus key governance rotated finds the new key in a key file
/// beside its configured one (`chancery-testnet rotate` writes it there): no config
/// change is needed to start or to follow the switch. A set listing a key that no file
/// there holds is still refused, naming the key.
#[test]
fn a_rotated_consensus_key_is_found_beside_the_configured_one() {
    use chancery_genesis::keyfile::{generate_key, write_key_file, KeyKind};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let t = generate(&opts(&out, 4, 1)).unwrap();
    let c = NodeConfig::load(&t.nodes[0].config_path).unwrap();
    let fresh = generate_key(chancery_core::suite::Suite::default()).unwrap();
    let mut set = t.genesis.validators.clone();
    set.validators[0].consensus_key = fresh.public();
    // Not there yet.
    assert!(c.find_consensus_key(&fresh.public()).unwrap().is_none());
    assert!(matches!(
        c.load_keys_for(&set).unwrap_err(),
        NodeKeysError::Mismatch {
            which: "consensus",
            ..
        }
    ));
    let node_dir = c.consensus_key_file.clone().unwrap();
    let file = node_dir.parent().unwrap().join("consensus-1.key");
    write_key_file(&file, KeyKind::Consensus, &fresh).unwrap();
    let (found, kp) = c.find_consensus_key(&fresh.public()).unwrap().unwrap();
    assert_eq!((found, kp.public()), (file, fresh.public()));
    let keys = c.load_keys_for(&set).unwrap();
    assert_eq!(keys.consensus.unwrap().1.public(), fresh.public());
    // The network key file is never taken for a consensus key.
    let net = c.network_key_file.clone();
    let net_pub = chancery_genesis::keyfile::read_key_file(&net)
        .unwrap()
        .public();
    assert!(c.find_consensus_key(&net_pub).unwrap().is_none());
}

/// An `sm2-sm3` testnet (issue 21): the description names the suite and rebuilds to the
/// same chain; every admin, member and consensus key is an SM2 key, every network key
/// Ed25519; an Ed25519 key put in the description is refused naming the entry.
#[test]
fn an_sm2_sm3_testnet_has_sm2_signer_keys_and_ed25519_network_keys() {
    use chancery_core::suite::Suite;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let mut o = opts(&out, 4, 1);
    o.crypto = Suite::Sm2Sm3;
    let t = generate(&o).unwrap();
    let g = load_genesis(&out.join("genesis.json")).unwrap();
    assert_eq!(g.crypto, Suite::Sm2Sm3);
    let toml = std::fs::read_to_string(out.join("consortium.toml")).unwrap();
    assert!(toml.contains("crypto = \"sm2-sm3\""), "{toml}");
    let rebuilt = build_from_file(&out.join("consortium.toml"), Rules::PRODUCTION).unwrap();
    assert_eq!(rebuilt.chain_id(), t.chain_id);
    for a in &g.agencies {
        assert!(a.admin_keys.iter().all(|k| k.suite() == Suite::Sm2Sm3));
    }
    assert!(g.members.iter().all(|m| m.key.suite() == Suite::Sm2Sm3));
    for v in &g.validators.validators {
        assert_eq!(v.consensus_key.suite(), Suite::Sm2Sm3);
    }
    for n in &t.nodes {
        let dir = n.config_path.parent().unwrap();
        let net = read_key_file_of_kind(&dir.join("network.key"), KeyKind::Network).unwrap();
        assert_eq!(net.secret.suite(), Suite::Ed25519Blake3, "{}", n.name);
    }
    // An Ed25519 member key in the sm2-sm3 description.
    let first = &g.members[0].key.to_hex();
    let ed = chancery_genesis::keyfile::generate_key(Suite::Ed25519Blake3)
        .unwrap()
        .public()
        .to_hex();
    let bad = out.join("bad.toml");
    std::fs::write(&bad, toml.replacen(first.as_str(), &ed, 1)).unwrap();
    let e = build_from_file(&bad, Rules::PRODUCTION)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("members[0]") && e.contains("a sm2-sm3 key") && e.contains("ed25519-blake3"),
        "{e}"
    );
}
