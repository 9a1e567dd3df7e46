//! Governance on a local network (issue 18, docs/governance.md): `join`, `leave` and
//! `rotate` put a proposal on the ledger, have every agency's admin approve it (the admin
//! keys are in `DIR/keys/<agency>-admin.key`), and follow the network until the change is
//! in force. The manifest follows the changes.

use crate::manifest::{Manifest, NodeEntry};
use crate::procs;
use anyhow::{anyhow, bail, Context, Result};
use chancery_client::Client;
use chancery_core::crypto::SecretKey;
use chancery_core::governance::Change;
use chancery_core::record::{ProposeChange, Record, Vote};
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::{AgencyId, ChainId, PublicKey, Seq, TimestampMs};
use chancery_genesis::config::NodeConfig;
use chancery_genesis::keyfile::{generate_key, read_key_file_of_kind, write_key_file, KeyKind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a proposal stays open, in milliseconds of block time.
const PROPOSAL_OPEN_MS: u64 = 10 * 60 * 1000;
/// Pause between polls of a node's API, in milliseconds.
const POLL_MS: u64 = 200;
/// Longest agency id or node name accepted here, in bytes.
const NAME_BYTES_MAX: usize = 32;

/// What a governance command needs: the testnet and how long to wait for each step.
pub struct Gov {
    dir: PathBuf,
    manifest: Manifest,
    timeout: Duration,
}

/// An agency's admin key.
struct Admin {
    agency: String,
    key: SecretKey,
}

impl Gov {
    /// The testnet in `dir`, waiting at most `timeout` for each step.
    pub fn open(dir: &Path, timeout: Duration) -> Result<Gov> {
        Ok(Gov {
            dir: dir.to_path_buf(),
            manifest: Manifest::load(dir)?,
            timeout,
        })
    }

    /// A node's API that is up (the first validator that answers).
    fn client(&self) -> Result<Client> {
        self.manifest
            .nodes
            .iter()
            .filter(|n| n.role == "validator" && procs::alive(n.pid))
            .map(|n| Client::new(&n.api))
            .find(|c| c.status().is_ok())
            .ok_or_else(|| {
                anyhow!(
                    "no validator of the testnet in {} answers",
                    self.dir.display()
                )
            })
    }

    /// Every agency admin key in `DIR/keys`, sorted by agency.
    /// The testnet's genesis document.
    fn genesis(&self) -> Result<chancery_core::genesis::Genesis> {
        chancery_genesis::document::load_genesis(&self.manifest.genesis)
            .with_context(|| format!("reading {}", self.manifest.genesis.display()))
    }

    fn admins(&self) -> Result<Vec<Admin>> {
        let keys = self.dir.join("keys");
        let mut out = Vec::new();
        for e in std::fs::read_dir(&keys).with_context(|| format!("listing {}", keys.display()))? {
            let p = e?.path();
            let name = p.file_name().and_then(|s| s.to_str()).unwrap_or("");
            if let Some(agency) = name.strip_suffix("-admin.key") {
                let k = read_key_file_of_kind(&p, KeyKind::Member)
                    .with_context(|| format!("reading {}", p.display()))?;
                out.push(Admin {
                    agency: agency.to_string(),
                    key: k.secret,
                });
            }
        }
        out.sort_by(|a, b| a.agency.cmp(&b.agency));
        if out.is_empty() {
            bail!("no agency admin keys (*-admin.key) in {}", keys.display());
        }
        Ok(out)
    }

    /// Submit `record` signed by `key` and wait until it is finalized; its outcome must
    /// be `applied`.
    fn submit(&self, c: &Client, chain: ChainId, key: &SecretKey, record: Record) -> Result<()> {
        let seq = match c.member(&key.public().to_string()) {
            Ok(m) => m.next_seq,
            Err(e) if e.status() == Some(404) => 0,
            Err(e) => return Err(e.into()),
        };
        let tx = Transaction::sign(
            TxBody {
                chain_id: chain,
                signer: key.public(),
                seq: Seq(seq),
                record,
            },
            key,
        );
        let hash = c.submit(&tx.to_bytes())?.hash;
        let deadline = Instant::now() + self.timeout;
        loop {
            match c.tx(&hash) {
                Ok(st) if st.status == "finalized" => return Ok(()),
                Ok(st) if st.is_committed() => bail!(
                    "transaction {hash} was {}: {}",
                    st.status,
                    st.reason.unwrap_or_default()
                ),
                Ok(_) => {}
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(e.into()),
            }
            if Instant::now() >= deadline {
                bail!("transaction {hash} not finalized within {:?}", self.timeout);
            }
            std::thread::sleep(Duration::from_millis(POLL_MS));
        }
    }

    /// Propose `changes` as the first agency's admin and have just enough agencies'
    /// admins approve to pass it under the genesis threshold (a vote after the decision
    /// would be rejected, and a rejected transaction may be proposed again by a node that
    /// received it late: docs/governance.md). Returns the epoch in force before.
    fn pass(&self, id: &str, changes: Vec<Change>) -> Result<u64> {
        let genesis = self.genesis()?;
        let c = self.client()?;
        let status = c.status()?;
        let chain: ChainId = status
            .chain_id
            .parse()
            .map_err(|e| anyhow!("the node's chain id {:?}: {e:?}", status.chain_id))?;
        let epoch = status.node.epoch;
        let admins = self.admins()?;
        let first = admins.first().ok_or_else(|| anyhow!("no admin"))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let record = Record::ProposeChange(ProposeChange {
            proposal_id: id.into(),
            changes,
            deadline: TimestampMs(now + PROPOSAL_OPEN_MS),
            // The reason document: here just the proposal id, hashed as documents are.
            reason: genesis
                .crypto
                .hash(chancery_core::domain::DOCUMENT_HASH, id.as_bytes()),
        });
        self.submit(&c, chain, &first.key, record)
            .with_context(|| format!("proposing {id} as {}'s admin", first.agency))?;
        println!("proposed {id} (as {})", first.agency);
        let needed = genesis
            .params
            .governance_threshold
            .approvals_needed(admins.len() as u64);
        for a in admins.iter().take(needed as usize) {
            let vote = Record::Vote(Vote {
                proposal_id: id.into(),
                approve: true,
            });
            self.submit(&c, chain, &a.key, vote)
                .with_context(|| format!("{} voting on {id}", a.agency))?;
            println!("  {} approves", a.agency);
        }
        Ok(epoch)
    }

    /// Wait until every running validator of the manifest is in an epoch after `epoch`.
    fn wait_epoch_after(&self, epoch: u64, nodes: &[&NodeEntry]) -> Result<u64> {
        let deadline = Instant::now() + self.timeout;
        let mut reached = 0;
        for n in nodes {
            let c = Client::new(&n.api);
            loop {
                if let Ok(s) = c.status() {
                    if s.node.epoch > epoch {
                        reached = reached.max(s.node.epoch);
                        break;
                    }
                }
                if Instant::now() >= deadline {
                    bail!(
                        "{} did not reach an epoch after {epoch} within {:?}",
                        n.name,
                        self.timeout
                    );
                }
                std::thread::sleep(Duration::from_millis(POLL_MS));
            }
        }
        Ok(reached)
    }

    /// The running validators other than `node`.
    fn running_validators_but(&self, node: &str) -> Vec<&NodeEntry> {
        let mut v = self.running_validators();
        v.retain(|x| x.name != node);
        v
    }

    fn running_validators(&self) -> Vec<&NodeEntry> {
        self.manifest
            .nodes
            .iter()
            .filter(|n| n.role == "validator" && procs::alive(n.pid))
            .collect()
    }

    /// A new agency joins; with `validator`, it runs a validator node that catches up and
    /// votes from the next epoch.
    pub fn join(mut self, agency: &str, validator: bool) -> Result<()> {
        check_name(agency)?;
        let keys = self.dir.join("keys");
        let admin_path = keys.join(format!("{agency}-admin.key"));
        if admin_path.exists() {
            bail!(
                "agency {agency} has keys already ({})",
                admin_path.display()
            );
        }
        // With a validator, its operator's `chancery-node init` makes the agency's admin
        // key too; without one, the testnet makes it.
        let (node, admin) = if validator {
            let (entry, consensus, network, admin) =
                self.new_node(&format!("{agency}-1"), agency, true)?;
            let consensus =
                consensus.ok_or_else(|| anyhow!("init made no consensus key for a validator"))?;
            let admin = match admin {
                Some(a) => a,
                None => generate_key(self.genesis()?.crypto)?,
            };
            (Some((entry, consensus, network)), admin)
        } else {
            (None, generate_key(self.genesis()?.crypto)?)
        };
        let mut changes = vec![Change::AddAgency {
            id: AgencyId(agency.into()),
            name_zh: format!("{agency} 机构"),
            name_en: format!("Agency {agency}"),
            admin_keys: vec![admin.public()],
        }];
        if let Some((entry, consensus, network)) = &node {
            changes.push(Change::AddValidator {
                agency: AgencyId(agency.into()),
                name: entry.name.clone(),
                consensus_key: *consensus,
                network_key: *network,
                power: 1,
            });
        }
        let node = node.map(|(entry, _, _)| entry);
        let started = Instant::now();
        let epoch = match self.pass(&format!("join-{agency}"), changes) {
            Ok(e) => e,
            Err(e) => {
                // A refused proposal leaves no prepared node behind (a retry prepares anew).
                if let Some(entry) = &node {
                    if let Some(d) = entry.config.parent() {
                        let _ = std::fs::remove_dir_all(d);
                    }
                }
                return Err(e);
            }
        };
        // Saved only once it passed: a refused proposal leaves no stray admin key.
        write_key_file(&admin_path, KeyKind::Member, &admin)?;
        let Some(mut entry) = node else {
            println!("agency {agency} joined");
            return Ok(());
        };
        // Start it now: it catches up while the epoch change is pending.
        entry.pid = procs::spawn(&self.dir, &entry)?;
        self.manifest.nodes.push(entry.clone());
        self.manifest.save(&self.dir)?;
        let reached = self.wait_epoch_after(epoch, &self.running_validators_but(&entry.name))?;
        self.wait_epoch_after(epoch, &[&entry])?;
        procs::wait_ready(&entry, self.timeout)?;
        println!(
            "agency {agency} joined with validator {} (pid {}), active in epoch {reached}; proposal to active validator: {:.1} s",
            entry.name,
            entry.pid,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// A new observer joins the running testnet: `chancery-node init` prepares it (as an
    /// observer of the first genesis agency, with every node as a peer); every running
    /// node gets it in its `[[peers]]` and reloads them (SIGHUP); with `state_sync` it
    /// starts from the latest snapshot its peers offer. Returns once it is ready (caught
    /// up), printing how long that took.
    pub fn add_observer(mut self, name: &str, state_sync: bool) -> Result<()> {
        if self.manifest.network.is_some() {
            bail!("add-node does not support testnets in network namespaces (--netns) yet: start one without --netns");
        }
        let genesis = chancery_genesis::document::load_genesis(&self.dir.join("genesis.json"))?;
        let agency = genesis
            .agencies
            .first()
            .map(|a| a.id.0.clone())
            .ok_or_else(|| anyhow!("the genesis has no agency"))?;
        let (mut entry, _, network, _) = self.new_node(name, &agency, false)?;
        if state_sync {
            procs::edit_config(&entry.config, |t| {
                procs::set_in(t, "state_sync", "enabled", toml::Value::Boolean(true))
            })?;
        }
        // Every node admits the newcomer: its [[peers]] entry, then a reload.
        let mut peer = toml::Table::new();
        peer.insert("name".into(), toml::Value::String(name.to_string()));
        peer.insert("address".into(), toml::Value::String(entry.p2p.clone()));
        peer.insert("network_key".into(), toml::Value::String(network.to_hex()));
        for n in &self.manifest.nodes {
            procs::edit_config(&n.config, |t| {
                let peers = t
                    .entry("peers")
                    .or_insert_with(|| toml::Value::Array(Vec::new()));
                if let Some(a) = peers.as_array_mut() {
                    a.push(toml::Value::Table(peer.clone()));
                }
            })?;
            if procs::alive(n.pid) {
                procs::reload(n)?;
            }
        }
        // Caught up means at least where the network was when it started (a node that
        // has heard no peer yet may call itself ready at height 0).
        let target = self.client()?.status()?.tip.height;
        let started = Instant::now();
        entry.pid = procs::spawn(&self.dir, &entry)?;
        self.manifest.nodes.push(entry.clone());
        self.manifest.save(&self.dir)?;
        procs::wait_ready(&entry, self.timeout)?;
        let c = Client::new(&entry.api);
        let status = loop {
            let s = c.status()?;
            if s.tip.height >= target {
                break s;
            }
            if started.elapsed() > self.timeout {
                bail!(
                    "{name} is at height {} after {} s, the network was at {target} when it started; see {}",
                    s.tip.height,
                    self.timeout.as_secs(),
                    entry.log_path().display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        println!(
            "observer {name} (pid {}) {} and ready at height {} in {:.1} s",
            entry.pid,
            if state_sync {
                "started from a snapshot"
            } else {
                "replayed the chain"
            },
            status.tip.height,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// A validator leaves the set. Its process keeps running (stop it with `stop`): the
    /// others ignore it from the next epoch.
    pub fn leave(mut self, node: &str) -> Result<()> {
        let n = self.manifest.node(node)?.clone();
        if n.role != "validator" {
            bail!("{node} is a {}, expected a validator", n.role);
        }
        let started = Instant::now();
        let epoch = self.pass(
            &format!("leave-{node}"),
            vec![Change::RemoveValidator { name: node.into() }],
        )?;
        let reached = self.wait_epoch_after(epoch, &self.running_validators_but(node))?;
        self.manifest.node_mut(node)?.role = "removed".into();
        self.manifest.save(&self.dir)?;
        println!(
            "{node} left the validator set in epoch {reached}; proposal to in force: {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// A validator rotates its consensus key: the new key is written beside the old one
    /// and voted in; the node finds it there at the switch (`NodeConfig::
    /// find_consensus_key`) and signs with it from the new epoch on, without a restart.
    /// The config is then pointed at the new file (what a restart reads first).
    pub fn rotate(self, node: &str) -> Result<()> {
        let n = self.manifest.node(node)?.clone();
        if n.role != "validator" {
            bail!("{node} is a {}, expected a validator", n.role);
        }
        let cfg = NodeConfig::load(&n.config)?;
        let old = cfg
            .consensus_key_file
            .clone()
            .ok_or_else(|| anyhow!("{} has no consensus key file", n.config.display()))?;
        let fresh = generate_key(self.genesis()?.crypto)?;
        let dir = old.parent().unwrap_or(Path::new("."));
        let mut i = 1;
        let file = loop {
            let f = dir.join(format!("consensus-{i}.key"));
            if !f.exists() {
                break f;
            }
            i += 1;
        };
        write_key_file(&file, KeyKind::Consensus, &fresh)?;
        let epoch = self.pass(
            &format!("rotate-{node}-{i}"),
            vec![Change::RotateValidatorKeys {
                name: node.into(),
                consensus_key: Some(fresh.public()),
                network_key: None,
            }],
        )?;
        let reached = self.wait_epoch_after(epoch, &self.running_validators_but(node))?;
        // The running node switched keys by itself: wait until it votes in the new epoch.
        self.wait_voting(&n, epoch)?;
        let text = std::fs::read_to_string(&n.config)
            .with_context(|| format!("reading {}", n.config.display()))?;
        let mut written = NodeConfig::parse(&text, &n.config)?;
        written.consensus_key_file = Some(PathBuf::from(format!("consensus-{i}.key")));
        std::fs::write(&n.config, written.to_toml())
            .with_context(|| format!("writing {}", n.config.display()))?;
        println!(
            "{node} rotated its consensus key ({} -> {}) without a restart, in force from epoch {reached}",
            old.display(),
            file.display()
        );
        Ok(())
    }

    /// Wait until `n` says it is in an epoch after `epoch` and votes in it.
    fn wait_voting(&self, n: &NodeEntry, epoch: u64) -> Result<()> {
        let deadline = Instant::now() + self.timeout;
        let c = Client::new(&n.api);
        loop {
            if let Ok(s) = c.status() {
                if s.node.epoch > epoch && s.node.validator {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} does not vote in an epoch after {epoch} within {:?}: does its key directory hold the new key?",
                    n.name,
                    self.timeout
                );
            }
            std::thread::sleep(Duration::from_millis(POLL_MS));
        }
    }

    /// A new validator node of `agency`, prepared as an agency's operator would prepare it:
    /// by `chancery-node init --genesis ... --agency ... --validator` (docs/ops/join.md),
    /// which writes its keys (and the agency's first admin key), config and database. It
    /// dials every node of the testnet; its ports follow the last node's. Returns the entry,
    /// its consensus and network keys, and the admin key `init` made (an agency the genesis
    /// does not have).
    fn new_node(
        &self,
        name: &str,
        agency: &str,
        validator: bool,
    ) -> Result<(
        NodeEntry,
        Option<PublicKey>,
        chancery_core::NetworkKey,
        Option<SecretKey>,
    )> {
        check_name(name)?;
        if self.manifest.nodes.iter().any(|n| n.name == name) {
            bail!("a node named {name} exists already");
        }
        let template = self
            .manifest
            .nodes
            .iter()
            .find(|n| n.role == "validator")
            .ok_or_else(|| anyhow!("the testnet has no validator"))?;
        let base = NodeConfig::load(&template.config)?;
        let (mut p2p, mut api) = (base.p2p_listen, base.api_listen);
        for n in &self.manifest.nodes {
            let c = NodeConfig::load(&n.config)?;
            p2p.set_port(p2p.port().max(c.p2p_listen.port()).max(c.api_listen.port()));
        }
        p2p.set_port(p2p.port() + 1);
        api.set_port(p2p.port() + 1);
        let dir = self.dir.join(name);
        let mut init = std::process::Command::new(procs::sibling("chancery-node"));
        init.arg("init")
            .arg("--genesis")
            .arg(self.dir.join("genesis.json"))
            .args(["--agency", agency, "--name", name]);
        if validator {
            init.arg("--validator");
        }
        init.arg("--dir")
            .arg(&dir)
            .arg("--p2p")
            .arg(p2p.to_string())
            .arg("--api")
            .arg(api.to_string());
        for n in &self.manifest.nodes {
            let c = NodeConfig::load(&n.config)?;
            let key = read_key_file_of_kind(&c.network_key_file, KeyKind::Network)?;
            init.arg("--peer").arg(format!(
                "{}={}={}",
                c.name,
                c.p2p_listen,
                key.public().to_hex()
            ));
        }
        let out = init
            .output()
            .context("running chancery-node init (is it built? `cargo build -p chancery-node`)")?;
        if !out.status.success() {
            bail!(
                "chancery-node init for {name} failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let consensus = if validator {
            Some(read_key_file_of_kind(&dir.join("consensus.key"), KeyKind::Consensus)?.public())
        } else {
            None
        };
        let network = read_key_file_of_kind(&dir.join("network.key"), KeyKind::Network)?;
        let admin_file = dir.join("admin.key");
        let admin = if admin_file.exists() {
            Some(read_key_file_of_kind(&admin_file, KeyKind::Member)?.secret)
        } else {
            None
        };
        let entry = NodeEntry {
            name: name.to_string(),
            role: if validator { "validator" } else { "observer" }.into(),
            pid: 0,
            api: format!("http://{api}"),
            p2p: p2p.to_string(),
            data_dir: dir.join("data"),
            config: dir.join("node.toml"),
            key: dir.join("network.key"),
            netns: None,
        };
        let network =
            chancery_core::NetworkKey::of_ed25519(&network.public()).ok_or_else(|| {
                anyhow!(
                    "{}: not an Ed25519 key (network keys are Ed25519 in every suite)",
                    entry.key.display()
                )
            })?;
        Ok((entry, consensus, network, admin))
    }
}

/// Agency ids and node names: short, lower-case letters, digits and dashes.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= NAME_BYTES_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        bail!("{name:?}: expected 1..={NAME_BYTES_MAX} lower-case letters, digits or dashes");
    }
    Ok(())
}
