//! A local testnet on 127.0.0.1: keys, a consortium description, its genesis and one
//! `node.toml` per node.
//!
//! Layout of the output directory:
//!
//! ```text
//! DIR/consortium.toml           the description (keys inline), source of genesis.json
//! DIR/genesis.json
//! DIR/keys/<agency>-admin.key   agency admin key (mode 0600)
//! DIR/keys/<agency>-member.key  a member key with every role (mode 0600)
//! DIR/<node>/node.toml
//! DIR/<node>/consensus.key      validators only
//! DIR/<node>/network.key
//! ```
//!
//! Node `i` (validators first, then observers) listens for peers on `base_port + 2i` and
//! serves its API on `base_port + 2i + 1`.

use crate::config::{ApiConfig, LogFormat, MempoolConfig, NodeConfig, NodeRole, PeerConfig};
use crate::document::{write_genesis, GenesisFileError};
use crate::keyfile::{generate_key, generate_network_key, write_key_file, KeyFileError, KeyKind};
use crate::rules::Rules;
use crate::spec::{
    build_from_file, format_time, AgencySpec, BuildError, ConsortiumSpec, MemberSpec, ParamsSpec,
    TimeSpec, ValidatorSpec,
};
use chancery_core::genesis::Genesis;
use chancery_core::record::Role;
use chancery_core::{ChainId, PublicKey, TimestampMs};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Most validators in a generated testnet.
pub const TESTNET_VALIDATORS_MAX: usize = 64;
/// Most observers in a generated testnet.
pub const TESTNET_OBSERVERS_MAX: usize = 64;

/// Agencies of the generated consortium, in order: (id, Chinese name, English name).
pub const AGENCIES: [(&str, &str, &str); 20] = [
    ("mof", "财政部", "Ministry of Finance"),
    (
        "ndrc",
        "国家发展和改革委员会",
        "National Development and Reform Commission",
    ),
    ("nda", "国家数据局", "National Data Administration"),
    ("cnao", "审计署", "National Audit Office"),
    (
        "miit",
        "工业和信息化部",
        "Ministry of Industry and Information Technology",
    ),
    (
        "mohurd",
        "住房和城乡建设部",
        "Ministry of Housing and Urban-Rural Development",
    ),
    ("mot", "交通运输部", "Ministry of Transport"),
    ("mwr", "水利部", "Ministry of Water Resources"),
    (
        "moa",
        "农业农村部",
        "Ministry of Agriculture and Rural Affairs",
    ),
    ("mofcom", "商务部", "Ministry of Commerce"),
    ("nhc", "国家卫生健康委员会", "National Health Commission"),
    ("mee", "生态环境部", "Ministry of Ecology and Environment"),
    ("moe", "教育部", "Ministry of Education"),
    ("most", "科学技术部", "Ministry of Science and Technology"),
    ("mnr", "自然资源部", "Ministry of Natural Resources"),
    (
        "sasac",
        "国务院国有资产监督管理委员会",
        "State-owned Assets Supervision and Administration Commission",
    ),
    (
        "samr",
        "国家市场监督管理总局",
        "State Administration for Market Regulation",
    ),
    ("nbs", "国家统计局", "National Bureau of Statistics"),
    ("mca", "民政部", "Ministry of Civil Affairs"),
    (
        "mohrss",
        "人力资源和社会保障部",
        "Ministry of Human Resources and Social Security",
    ),
];

/// What to generate.
#[derive(Debug, Clone)]
pub struct TestnetOptions {
    /// Number of validators (at least 4 unless `dev`).
    pub validators: usize,
    /// Number of observers.
    pub observers: usize,
    /// Output directory; must not exist or be empty.
    pub out: PathBuf,
    /// First port.
    pub base_port: u16,
    /// Chain name.
    pub chain_name: String,
    /// Genesis time.
    pub genesis_time: TimestampMs,
    /// Allow fewer than 4 validators.
    pub dev: bool,
    /// The chain's crypto suite (consensus and member keys are of it).
    pub crypto: chancery_core::suite::Suite,
}

/// One generated node.
#[derive(Debug, Clone)]
pub struct GeneratedNode {
    /// Its name.
    pub name: String,
    /// Path of its `node.toml`.
    pub config_path: PathBuf,
    /// Its config (paths as written, relative to the config's directory).
    pub config: NodeConfig,
}

/// What was generated.
#[derive(Debug, Clone)]
pub struct Testnet {
    /// The genesis document.
    pub genesis: Genesis,
    /// Its chain id.
    pub chain_id: ChainId,
    /// Path of `genesis.json`.
    pub genesis_path: PathBuf,
    /// The nodes, validators first.
    pub nodes: Vec<GeneratedNode>,
}

/// Why a testnet could not be generated.
#[derive(Debug, Error)]
pub enum TestnetError {
    /// A count is out of range.
    #[error("number of {what}: expected {min}..={max}, found {found}{hint}")]
    Count {
        /// Advice, or empty.
        hint: &'static str,
        /// Which count.
        what: &'static str,
        /// Least allowed.
        min: usize,
        /// Most allowed.
        max: usize,
        /// Asked for.
        found: usize,
    },
    /// The ports would run past 65535.
    #[error("base port {base_port}: {nodes} nodes need ports up to {last}, past 65535")]
    Ports {
        /// The base port.
        base_port: u16,
        /// Number of nodes.
        nodes: usize,
        /// The last port needed.
        last: usize,
    },
    /// The output directory has files in it.
    #[error("{dir}: not empty; refusing to write a testnet over existing files")]
    NotEmpty {
        /// The directory.
        dir: PathBuf,
    },
    /// An IO error.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing a key failed.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// The generated description did not build (a bug).
    #[error(transparent)]
    Build(#[from] BuildError),
    /// Writing genesis.json failed.
    #[error(transparent)]
    Genesis(#[from] GenesisFileError),
}

fn io<'a>(
    path: &'a Path,
    action: &'static str,
) -> impl FnOnce(std::io::Error) -> TestnetError + 'a {
    move |source| TestnetError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

fn mkdir(path: &Path) -> Result<(), TestnetError> {
    std::fs::create_dir_all(path).map_err(io(path, "create directory"))
}

/// A fresh key of `suite` written to `path`; returns its public key.
fn new_key(
    suite: chancery_core::suite::Suite,
    path: &Path,
    kind: KeyKind,
) -> Result<PublicKey, TestnetError> {
    let k = generate_key(suite)?;
    write_key_file(path, kind, &k)?;
    Ok(k.public())
}

/// A new network key file (Ed25519 in every suite) and its key.
fn new_network_key(path: &Path) -> Result<chancery_core::NetworkKey, TestnetError> {
    let k = generate_network_key()?;
    write_key_file(path, KeyKind::Network, &k)?;
    chancery_core::NetworkKey::of_ed25519(&k.public()).ok_or_else(|| {
        TestnetError::Key(KeyFileError::NotEd25519 {
            path: path.to_path_buf(),
            found: k.suite(),
        })
    })
}

struct NodePlan {
    name: String,
    role: NodeRole,
    p2p: SocketAddr,
    api: SocketAddr,
    network_key: chancery_core::NetworkKey,
}

/// Generate a testnet.
pub fn generate(opts: &TestnetOptions) -> Result<Testnet, TestnetError> {
    let validators_min = if opts.dev {
        1
    } else {
        Rules::PRODUCTION.validators_min
    };
    if opts.validators < validators_min || opts.validators > TESTNET_VALIDATORS_MAX {
        return Err(TestnetError::Count {
            hint: if opts.dev {
                ""
            } else {
                " (n = 3f+1 with f >= 1; --dev allows fewer than 4)"
            },
            what: "validators",
            min: validators_min,
            max: TESTNET_VALIDATORS_MAX,
            found: opts.validators,
        });
    }
    if opts.observers > TESTNET_OBSERVERS_MAX {
        return Err(TestnetError::Count {
            hint: "",
            what: "observers",
            min: 0,
            max: TESTNET_OBSERVERS_MAX,
            found: opts.observers,
        });
    }
    let nodes = opts.validators + opts.observers;
    let last = usize::from(opts.base_port) + 2 * nodes - 1;
    if last > usize::from(u16::MAX) {
        return Err(TestnetError::Ports {
            base_port: opts.base_port,
            nodes,
            last,
        });
    }
    let out = &opts.out;
    if out.exists() {
        let mut entries = std::fs::read_dir(out).map_err(io(out, "list directory"))?;
        if entries.next().is_some() {
            return Err(TestnetError::NotEmpty { dir: out.clone() });
        }
    }
    mkdir(out)?;
    let keys_dir = out.join("keys");
    mkdir(&keys_dir)?;

    // Agencies: one per validator, as many as the list has; then validators share them.
    let agency_count = opts.validators.min(AGENCIES.len());
    let mut agencies = Vec::with_capacity(agency_count);
    let mut members = Vec::with_capacity(agency_count);
    for &(id, zh, en) in &AGENCIES[..agency_count] {
        let admin = new_key(
            opts.crypto,
            &keys_dir.join(format!("{id}-admin.key")),
            KeyKind::Member,
        )?;
        let member = new_key(
            opts.crypto,
            &keys_dir.join(format!("{id}-member.key")),
            KeyKind::Member,
        )?;
        agencies.push(AgencySpec {
            id: id.to_string(),
            name_zh: zh.to_string(),
            name_en: en.to_string(),
            admin_keys: vec![admin.to_hex()],
        });
        members.push(MemberSpec {
            agency: id.to_string(),
            name: format!("{en} officer"),
            key: member.to_hex(),
            roles: Role::ALL.iter().map(|r| r.as_str().to_string()).collect(),
        });
    }

    let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let port = |i: usize, off: usize| -> u16 {
        // In range: checked against u16::MAX above.
        u16::try_from(usize::from(opts.base_port) + 2 * i + off).unwrap_or(u16::MAX)
    };
    let mut plans = Vec::with_capacity(nodes);
    let mut validators = Vec::with_capacity(opts.validators);
    for i in 0..opts.validators {
        let (agency, _, _) = AGENCIES[i % agency_count];
        let name = format!("{agency}-{}", 1 + i / agency_count);
        let dir = out.join(&name);
        mkdir(&dir)?;
        let consensus = new_key(opts.crypto, &dir.join("consensus.key"), KeyKind::Consensus)?;
        let network = new_network_key(&dir.join("network.key"))?;
        validators.push(ValidatorSpec {
            name: name.clone(),
            agency: agency.to_string(),
            consensus_key: consensus.to_hex(),
            network_key: network.to_hex(),
            power: 1,
        });
        plans.push(NodePlan {
            name,
            role: NodeRole::Validator,
            p2p: SocketAddr::new(localhost, port(i, 0)),
            api: SocketAddr::new(localhost, port(i, 1)),
            network_key: network,
        });
    }
    for j in 0..opts.observers {
        let i = opts.validators + j;
        let name = format!("observer-{}", j + 1);
        let dir = out.join(&name);
        mkdir(&dir)?;
        let network = new_network_key(&dir.join("network.key"))?;
        plans.push(NodePlan {
            name,
            role: NodeRole::Observer,
            p2p: SocketAddr::new(localhost, port(i, 0)),
            api: SocketAddr::new(localhost, port(i, 1)),
            network_key: network,
        });
    }

    // The description, written out and built like any other.
    let spec = ConsortiumSpec {
        chain_name: opts.chain_name.clone(),
        genesis_time: TimeSpec::Text(format_time(opts.genesis_time)),
        crypto: opts.crypto,
        params: ParamsSpec::default(),
        agencies,
        validators,
        members,
        procurement_limits: testnet_procurement_limits(),
    };
    let spec_path = out.join("consortium.toml");
    let spec_text = toml::to_string(&spec).map_err(|e| BuildError::Parse {
        file: spec_path.clone(),
        reason: e.to_string(),
    })?;
    std::fs::write(&spec_path, spec_text).map_err(io(&spec_path, "write"))?;
    let rules = if opts.dev {
        Rules::DEV
    } else {
        Rules::PRODUCTION
    };
    let genesis = build_from_file(&spec_path, rules)?;
    let genesis_path = out.join("genesis.json");
    write_genesis(&genesis_path, &genesis)?;

    let mut generated = Vec::with_capacity(nodes);
    for plan in &plans {
        let config = NodeConfig {
            name: plan.name.clone(),
            role: plan.role,
            data_dir: PathBuf::from("data"),
            genesis: PathBuf::from("../genesis.json"),
            consensus_key_file: (plan.role == NodeRole::Validator)
                .then(|| PathBuf::from("consensus.key")),
            network_key_file: PathBuf::from("network.key"),
            p2p_listen: plan.p2p,
            api_listen: plan.api,
            log_format: LogFormat::Text,
            mempool: MempoolConfig::default(),
            api: ApiConfig::default(),
            storage: Default::default(),
            snapshots: Default::default(),
            state_sync: Default::default(),
            peers: plans
                .iter()
                .filter(|p| p.name != plan.name)
                .map(|p| PeerConfig {
                    name: p.name.clone(),
                    address: p.p2p,
                    network_key: p.network_key,
                })
                .collect(),
        };
        let config_path = out.join(&plan.name).join("node.toml");
        config
            .validate(&config_path)
            .map_err(|e| TestnetError::Io {
                path: config_path.clone(),
                action: "validate generated config",
                source: std::io::Error::other(e.to_string()),
            })?;
        std::fs::write(&config_path, config.to_toml()).map_err(io(&config_path, "write"))?;
        generated.push(GeneratedNode {
            name: plan.name.clone(),
            config_path,
            config,
        });
    }

    Ok(Testnet {
        chain_id: genesis.chain_id(),
        genesis,
        genesis_path,
        nodes: generated,
    })
}

/// The limit standards of a generated testnet: one rule for every agency, the central
/// government's figures for goods and services (open tendering from 4,000,000 yuan; no
/// procurement process needed below 1,000,000 yuan), so the demo shows flags.
pub fn testnet_procurement_limits() -> chancery_core::procurement::ProcurementLimits {
    use chancery_core::procurement::{LimitRule, ProcurementLimits};
    use chancery_core::{Amount, Currency};
    let cny = |yuan: u64| Amount {
        minor: yuan * 100,
        currency: Currency::CNY,
    };
    ProcurementLimits {
        rules: vec![LimitRule {
            name: "central".into(),
            agencies: vec![],
            open_tender_from: cny(4_000_000),
            record_from: cny(1_000_000),
        }],
    }
}
