//! Start checks of `chancery-node start`: the node's keys against the genesis, and the peer
//! allow list (issue 14, finding 7).

use anyhow::{Context, Result};
use chancery_core::crypto::SecretKey;
use chancery_core::genesis::Genesis;
use chancery_core::validator::{Validator, ValidatorSet};
use chancery_genesis::config::{NodeConfig, NodeKeysError};
use chancery_genesis::keyfile::KeyPair;
use chancery_net::{PeerConfig, PeerName};

/// The keys a node starts with, checked against the genesis.
pub struct StartKeys {
    /// The network identity.
    pub network: KeyPair,
    /// The consensus key (validators).
    pub consensus: Option<SecretKey>,
}

/// Read the node's keys and check them against `set`, the validator set in force (the
/// genesis set until governance changes it): a validator listed under its name must have
/// exactly these consensus and network keys (the error names the expected and the found
/// key); an observer must not use a validator's network key. A validator that `set` does
/// not list yet (one a governance proposal adds, started to catch up before its epoch)
/// starts as a follower and votes once a set lists its consensus key.
pub fn start_keys(cfg: &NodeConfig, set: &ValidatorSet) -> Result<StartKeys> {
    let keys = match cfg.load_keys_for(set) {
        Err(NodeKeysError::NotAValidator { known, .. }) => {
            let (network, consensus) = cfg.read_keys()?;
            tracing::warn!(
                node = %cfg.name,
                epoch = set.epoch.0,
                validators = %known,
                "this validator is not in the validator set in force: following the chain until a set that governance passed lists its consensus key"
            );
            return Ok(StartKeys {
                network,
                consensus: consensus.map(|k| k.secret),
            });
        }
        other => other.with_context(|| {
            format!(
                "checking the keys of node {:?} against the validator set of epoch {}",
                cfg.name, set.epoch
            )
        })?,
    };
    Ok(StartKeys {
        network: keys.network,
        consensus: keys.consensus.map(|(_, k)| k.secret.clone()),
    })
}

/// The peers this node admits and dials (issue 14, finding 7), given `set`, the
/// validators of the epoch in force and of the next one once governance scheduled it
/// ([`validators_to_admit`]). Each validator is admitted under its name with its network
/// key from the ledger only; the config may give its address, and a config entry naming a
/// validator with another key is ignored for the key (logged). The validator sets list no
/// observers, so observers are the config's entries whose name and key are no validator's;
/// they are admitted as non-voting peers (the driver takes consensus messages only from
/// the names of the set in force). An entry that carries a validator's key under another
/// name is refused.
pub fn allowed_peers(cfg: &NodeConfig, set: &[Validator]) -> Vec<PeerConfig> {
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

/// The validators a node admits as peers: those of the set in force and, once a passed
/// proposal scheduled the next epoch, those it adds (so that a joining validator can
/// catch up before it must vote). A name in both keeps its current keys until the switch.
pub fn validators_to_admit(current: &ValidatorSet, next: Option<&ValidatorSet>) -> Vec<Validator> {
    let mut out = current.validators.clone();
    for v in next.map(|n| n.validators.as_slice()).unwrap_or_default() {
        if !out.iter().any(|c| c.name == v.name) {
            out.push(v.clone());
        }
    }
    out
}

/// The wire limits of this genesis for the node's messages (issue 14, finding 6).
pub fn wire_limits(genesis: &Genesis) -> chancery_net::WireLimits {
    chancery_net::WireLimits::from_genesis(
        genesis,
        chancery_net::MessageShape {
            // A proposal carries its parent's certificate and a nullification per skipped view.
            certificates_per_message_max: chancery_consensus::wire::SKIPPED_VIEWS_MAX + 1,
            // Evidence of proposal equivocation carries two proposals.
            blocks_per_message_max: 2,
            blocks_per_response_max: crate::sync::SYNC_BLOCKS_MAX as usize,
            txs_per_gossip_max: crate::driver::GOSSIP_TXS_MAX,
            // Governance may grow the set up to its limit without a restart.
            validators_max: chancery_core::limits::VALIDATORS_MAX,
        },
    )
}

/// The network limits of a node of this genesis: the defaults, with every message limit
/// derived from the genesis.
pub fn net_limits(genesis: &Genesis) -> chancery_net::Limits {
    chancery_net::Limits::default().with_wire(&wire_limits(genesis))
}

/// The multiaddr text of a TCP socket address (the network layer parses it).
pub fn socket_multiaddr(a: &std::net::SocketAddr) -> String {
    match a.ip() {
        std::net::IpAddr::V4(ip) => format!("/ip4/{ip}/tcp/{}", a.port()),
        std::net::IpAddr::V6(ip) => format!("/ip6/{ip}/tcp/{}", a.port()),
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests decode in the default suite
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
            network_key: chancery_core::NetworkKey::of_ed25519(&key.public()).unwrap(),
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
        let allowed = allowed_peers(&c, &fx.genesis.validators.validators);
        let key_of = |n: &str| {
            allowed
                .iter()
                .find(|p| p.name.as_str() == n)
                .map(|p| p.network_key)
        };
        assert!(
            allowed
                .iter()
                .all(|p| p.network_key.as_public_key() != foreign.public()),
            "a key outside the genesis is admitted as validator v1: {:?}",
            allowed
                .iter()
                .map(|p| (&p.name, p.network_key))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            key_of("v1"),
            chancery_core::NetworkKey::of_ed25519(&named_key("net-1").public())
        );
        assert_eq!(key_of("alias"), None);
        // Every genesis validator but ourselves, with its genesis key; v1 keeps its address.
        for i in 1..4 {
            assert_eq!(
                key_of(&format!("v{i}")),
                chancery_core::NetworkKey::of_ed25519(&named_key(&format!("net-{i}")).public())
            );
        }
        assert_eq!(key_of("v0"), None);
        let v1 = allowed
            .iter()
            .find(|p| p.name.as_str() == "v1")
            .expect("v1");
        assert_eq!(v1.addrs.len(), 1);
        assert_eq!(
            key_of("observer-1"),
            chancery_core::NetworkKey::of_ed25519(&observer.public())
        );
    }

    #[test]
    fn a_validator_whose_network_key_differs_from_the_genesis_refuses_to_start() {
        let fx = Fixture::new();
        let d = dir("netkey");
        let wrong = named_key("not-net-0");
        let c = config(&d, "v0", &fx.validators[0], &wrong);
        let e = start_keys(&c, &fx.genesis.validators)
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
        let e = start_keys(&c, &fx.genesis.validators)
            .err()
            .expect("refused");
        let text = format!("{e:#}");
        assert!(
            text.contains(&fx.validators[0].public().to_string()),
            "{text}"
        );
        // The right keys start.
        let d = d.join("right");
        std::fs::create_dir_all(&d).expect("dir");
        let c = config(&d, "v0", &fx.validators[0], &named_key("net-0"));
        let k = start_keys(&c, &fx.genesis.validators).expect("the genesis keys start");
        assert_eq!(
            k.consensus.map(|s| s.public()),
            Some(fx.validators[0].public())
        );
    }

    /// The largest block the genesis allows: transactions of `tx` (a large anchor) until
    /// the next would pass `block_bytes_max`.
    fn largest_block(fx: &Fixture) -> chancery_core::block::Block {
        use chancery_core::record::{AnchorDocument, DocumentRef, Record, RecordRef, Role};
        let key = fx.signer("mof", Role::Archivist).clone();
        let tx = fx.tx(
            &key,
            0,
            Record::AnchorDocument(AnchorDocument {
                document: DocumentRef {
                    hash: chancery_core::Digest([9; 32]),
                    kind: "k".repeat(chancery_core::limits::ID_BYTES_MAX),
                    title: "t".repeat(chancery_core::limits::NAME_BYTES_MAX),
                    url: format!(
                        "https://{}",
                        "u".repeat(chancery_core::limits::URL_BYTES_MAX - 8)
                    ),
                },
                supports: RecordRef::Asset("a".repeat(chancery_core::limits::ID_BYTES_MAX)),
            }),
        );
        let tx_bytes = tx.to_bytes().len();
        let n = fx.genesis.params.block_bytes_max as usize / tx_bytes;
        assert!(n <= fx.genesis.params.block_txs_max as usize);
        let txs = vec![tx; n];
        let mut header = fx.header(
            chancery_core::Height(1),
            chancery_core::Digest::ZERO,
            chancery_core::TimestampMs(1),
        );
        header.tx_count = n as u32;
        header.txs_hash = chancery_core::block::txs_hash(
            chancery_core::suite::Suite::default(),
            txs.iter().map(|t| t.hash()),
        );
        chancery_core::block::Block { header, txs }
    }

    fn full_cert(
        fx: &Fixture,
        kind: chancery_core::cert::VoteKind,
    ) -> chancery_core::cert::Certificate {
        chancery_core::cert::Certificate {
            kind,
            epoch: chancery_core::Epoch(0),
            view: chancery_core::View(1),
            block: match kind {
                chancery_core::cert::VoteKind::Nullify => chancery_core::Digest::ZERO,
                _ => chancery_core::Digest([1; 32]),
            },
            signatures: (0..fx.genesis.validators.len() as u16)
                .map(|index| chancery_core::cert::IndexedSignature {
                    index,
                    signature: chancery_core::Signature([7; 64]),
                })
                .collect(),
        }
    }

    #[test]
    fn the_largest_proposal_the_genesis_allows_passes_the_consensus_limit() {
        use chancery_consensus::{Message, Proposal, ProposalMsg};
        use chancery_core::cert::VoteKind;
        let fx = Fixture::new();
        let limits = net_limits(&fx.genesis);
        let block = largest_block(&fx);
        let msg = Message::Proposal(ProposalMsg {
            proposal: Proposal {
                epoch: chancery_core::Epoch(0),
                parent_view: chancery_core::View(0),
                block: crate::app::to_consensus(chancery_core::suite::Suite::default(), &block),
                proposer: 0,
                signature: chancery_core::Signature([7; 64]),
            },
            parent_cert: Some(full_cert(&fx, VoteKind::Notarize)),
            nullifications: vec![
                full_cert(&fx, VoteKind::Nullify);
                chancery_consensus::wire::SKIPPED_VIEWS_MAX
            ],
        });
        let bytes = msg.encode();
        // The consensus crate's own decode bound takes it.
        if let Err(e) = Message::decode(chancery_core::suite::Suite::default(), &bytes) {
            panic!("the consensus decode bound refuses it: {e}");
        }
        let names: Vec<PeerName> = ["a", "b"].into_iter().map(PeerName::from).collect();
        let hub = chancery_net::MemHub::new(names.clone(), limits.clone());
        let (a, _a_in) = hub.join(names[0].clone(), chancery_net::no_requests());
        let (_b, _b_in) = hub.join(names[1].clone(), chancery_net::no_requests());
        use chancery_net::Network;
        let sent = a.send(
            &names[1],
            chancery_net::Channel::Consensus,
            bytes.clone().into(),
        );
        assert!(
            sent.is_ok(),
            "the largest proposal ({} bytes) is refused: {:?}",
            bytes.len(),
            sent.err()
        );
        // Evidence of a leader's equivocation with two of the largest proposals passes too.
        let proposal = |fill: u8| Proposal {
            epoch: chancery_core::Epoch(0),
            parent_view: chancery_core::View(0),
            block: crate::app::to_consensus(chancery_core::suite::Suite::default(), &block),
            proposer: 0,
            signature: chancery_core::Signature([fill; 64]),
        };
        let evidence = Message::Evidence(chancery_consensus::Evidence::Proposals {
            first: proposal(7),
            second: proposal(8),
        })
        .encode();
        assert!(
            a.send(
                &names[1],
                chancery_net::Channel::Consensus,
                evidence.clone().into()
            )
            .is_ok(),
            "evidence with two of the largest proposals ({} bytes) is refused",
            evidence.len()
        );
        // One byte over the limit is refused, naming the limit.
        let over = vec![0u8; limits.consensus_bytes_max + 1];
        let e = a
            .send(&names[1], chancery_net::Channel::Consensus, over.into())
            .expect_err("over the limit");
        assert!(
            e.to_string()
                .contains(&limits.consensus_bytes_max.to_string()),
            "{e}"
        );
    }

    #[test]
    fn the_largest_sync_answer_passes_the_response_limit() {
        use crate::sync::{pack, SyncResponse, SYNC_BLOCKS_MAX};
        use chancery_core::cert::VoteKind;
        use chancery_net::Network;
        let fx = Fixture::new();
        let wire = wire_limits(&fx.genesis);
        let limits = net_limits(&fx.genesis);
        let block = largest_block(&fx);
        let cert = full_cert(&fx, VoteKind::Finalize);
        let stored = std::iter::repeat_n(
            crate::app::FinalBlock::new(block, cert),
            SYNC_BLOCKS_MAX as usize,
        );
        let blocks = pack(stored, SYNC_BLOCKS_MAX as usize, wire.sync_blocks_bytes_max);
        assert!(blocks.len() >= 2, "{} blocks", blocks.len());
        let answer = chancery_core::codec::encode(&SyncResponse::Blocks { blocks });
        assert!(
            answer.len() <= limits.response_bytes_max,
            "sync answer of {} bytes over the response limit {}",
            answer.len(),
            limits.response_bytes_max
        );
        if let Err(e) = chancery_core::codec::decode::<SyncResponse>(&answer) {
            panic!("the sync answer does not decode: {e}");
        }
        // Through the network: the answer arrives; one byte over the limit is refused.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        for (size, ok) in [(answer.len(), true), (limits.response_bytes_max + 1, false)] {
            let names: Vec<PeerName> = ["a", "b"].into_iter().map(PeerName::from).collect();
            let hub = chancery_net::MemHub::new(names.clone(), limits.clone());
            let (a, _a_in) = hub.join(names[0].clone(), chancery_net::no_requests());
            let body = chancery_net::Bytes::from(vec![0u8; size]);
            let handler: std::sync::Arc<dyn chancery_net::RequestHandler> =
                std::sync::Arc::new(move |_: &PeerName, _: chancery_net::Bytes| Some(body.clone()));
            let (_b, _b_in) = hub.join(names[1].clone(), handler);
            let got = rt.block_on(a.request(&names[1], chancery_net::Bytes::from_static(b"x")));
            match (ok, got) {
                (true, Ok(b)) => assert_eq!(b.len(), size),
                (false, Err(e)) => assert!(
                    e.to_string()
                        .contains(&limits.response_bytes_max.to_string()),
                    "{e}"
                ),
                (_, other) => panic!("answer of {size} bytes: {other:?}"),
            }
        }
    }
}
