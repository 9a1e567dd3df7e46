//! `chancery-testnet`: a local Chancery network on this machine.
//!
//! `up` generates a consortium (keys, genesis, one config per node) with `chancery-genesis
//! testnet`, starts one `chancery-node` process per node, waits until every node answers
//! `/readyz`, writes `DIR/testnet.json`, and either stays in the foreground until Ctrl-C or
//! (with `--detach`) returns. The other subcommands act on a running testnet through its
//! manifest: `down`, `kill` (SIGKILL), `stop` (SIGTERM), `start`, `restart`, `status`.
//! With `up --netns` (root) every node runs in its own network namespace, and `partition`
//! and `heal` cut and restore the traffic between groups of nodes (see `netns.rs`).

mod bench;
mod gov;
mod manifest;
mod netns;
mod procs;
mod soak;
mod soak_check;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use manifest::Manifest;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "chancery-testnet", about = "Run a local Chancery network")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate (if needed) and start a local network.
    Up {
        /// Number of validators.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Number of observers.
        #[arg(long, default_value_t = 1)]
        observers: usize,
        /// Where keys, genesis, configs, data and logs go.
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
        /// First port: node i listens for peers on base+2i and for HTTP on base+2i+1.
        #[arg(long, default_value_t = 26600)]
        base_port: u16,
        /// Submit a stream of realistic records so the ledger is live.
        #[arg(long)]
        demo: bool,
        /// Return once every node is ready instead of staying in the foreground.
        #[arg(long)]
        detach: bool,
        /// How long to wait for every node to be ready, in seconds.
        #[arg(long, default_value_t = 120)]
        ready_timeout_s: u64,
        /// Run each node in its own network namespace on a bridge (root only), so that
        /// `partition` and `heal` work.
        #[arg(long)]
        netns: bool,
        /// Offer a state-sync snapshot every this many blocks (the nodes' default
        /// otherwise; written into each new node.toml's `[snapshots]`).
        #[arg(long)]
        snapshot_interval_blocks: Option<u64>,
        /// The chain's crypto suite: `ed25519-blake3` (the default) or `sm2-sm3`. An
        /// existing network keeps its own; naming another is an error.
        #[arg(long)]
        crypto: Option<chancery_core::suite::Suite>,
    },
    /// Stop every node of the testnet in DIR.
    Down {
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
    },
    /// Kill a node with SIGKILL.
    Kill {
        node: String,
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
    },
    /// Stop a node cleanly (SIGTERM, then wait).
    Stop {
        node: String,
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
    },
    /// Start a stopped or killed node.
    Start {
        node: String,
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
    },
    /// Stop, then start a node.
    Restart {
        node: String,
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
    },
    /// Print each node's state.
    Status {
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
    },
    /// Cut the traffic between groups of nodes (testnets started with --netns, root only).
    /// A node named in no group is cut from everyone. Replaces any earlier partition.
    Partition {
        /// Groups of comma-separated node names, e.g. `mof-1,nda-1 cnao-1,ndrc-1`.
        #[arg(required = true)]
        groups: Vec<String>,
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
    },
    /// Remove the partition: every node reaches every other again.
    Heal {
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
    },
    /// A new agency joins by a governance vote of the testnet's agencies (their admin keys
    /// are in DIR/keys); with --validator it runs a new validator node, started at once to
    /// catch up, voting from the epoch the proposal schedules.
    Join {
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
        /// The new agency's id (lower-case letters, digits, dashes).
        #[arg(long)]
        agency: String,
        /// Also add a validator node `<agency>-1` run by it.
        #[arg(long)]
        validator: bool,
        /// How long to wait for each step (finality, the epoch switch), in seconds.
        #[arg(long, default_value_t = 120)]
        timeout_s: u64,
    },
    /// Add a node to the running testnet: an observer, admitted by every node (their
    /// `[[peers]]` and a reload); with --state-sync it starts from the latest verified
    /// snapshot its peers offer instead of replaying the chain.
    AddNode {
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
        /// The new node's name (lower-case letters, digits, dashes).
        #[arg(long)]
        name: String,
        /// An observer (the only kind `add-node` makes; validators join by `join`).
        #[arg(long, required = true)]
        observer: bool,
        /// Start from a snapshot (docs/ops/state-sync.md).
        #[arg(long)]
        state_sync: bool,
        /// How long to wait for it to be ready, in seconds.
        #[arg(long, default_value_t = 300)]
        timeout_s: u64,
    },
    /// Remove a validator from the set by a governance vote. Its process keeps running; the
    /// others ignore and disconnect it from the next epoch.
    Leave {
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
        /// The validator node.
        #[arg(long)]
        node: String,
        /// How long to wait for each step, in seconds.
        #[arg(long, default_value_t = 120)]
        timeout_s: u64,
    },
    /// Rotate a validator's consensus key by a governance vote; the running node signs
    /// with the new key from its epoch on (no restart).
    Rotate {
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
        /// The validator node.
        #[arg(long)]
        node: String,
        /// How long to wait for each step, in seconds.
        #[arg(long, default_value_t = 120)]
        timeout_s: u64,
    },
    /// Jepsen-style soak (root): a fresh namespaced network under load and a seeded
    /// schedule of faults, then an independent check of every log (docs/testing.md).
    Soak {
        /// A new or empty directory for the network.
        #[arg(long)]
        dir: PathBuf,
        /// How long faults are injected, in seconds.
        #[arg(long, default_value_t = 300)]
        duration_s: u64,
        /// The schedule's seed (random if not given; printed either way).
        #[arg(long)]
        seed: Option<u64>,
        /// Validators: 4 or 7.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Print the summary as JSON on stdout (the timeline goes to stderr).
        #[arg(long)]
        json: bool,
        /// First port: node i listens for peers on base+2i and for HTTP on base+2i+1.
        #[arg(long, default_value_t = 27600)]
        base_port: u16,
        /// The chain's crypto suite: `ed25519-blake3` or `sm2-sm3`.
        #[arg(long, default_value = "ed25519-blake3")]
        crypto: chancery_core::suite::Suite,
    },
    /// Measure a running testnet (start it with `up --detach` first).
    Bench {
        #[command(subcommand)]
        what: BenchCmd,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Finalized tx/s and submit-to-finality latency (p50, p90, p99) at the demo's pace.
    Latency {
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
        /// Node whose API receives the event stream (default: the first validator).
        #[arg(long)]
        node: Option<String>,
        /// Demo rounds (each: 7 records per agency).
        #[arg(long, default_value_t = 60)]
        rounds: u64,
        /// Pause between demo rounds, in milliseconds (the load's pace).
        #[arg(long, default_value_t = 100)]
        pause_ms: u64,
    },
    /// Catch-up rate: stop NODE, let the others finalize `rounds` demo rounds at full
    /// speed, restart it and time it to their log size; repeated `runs` times.
    Catchup {
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
        /// The validator to stop and restart.
        #[arg(long)]
        node: String,
        /// Demo rounds finalized while it is down (each: 7 records per agency).
        #[arg(long, default_value_t = 200)]
        rounds: u64,
        /// Repetitions (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: u32,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Up {
            validators,
            observers,
            dir,
            base_port,
            demo,
            detach,
            ready_timeout_s,
            netns,
            snapshot_interval_blocks,
            crypto,
        } => up(UpArgs {
            validators,
            observers,
            dir,
            base_port,
            demo,
            detach,
            ready_timeout_s,
            netns,
            snapshot_interval_blocks,
            crypto,
        }),
        Cmd::Down { dir } => {
            let m = Manifest::load(&dir)?;
            if m.network.is_some() {
                netns::require_root("removing a --netns testnet's network")?;
            }
            for n in &m.nodes {
                procs::stop(n)?;
            }
            if m.network.is_some() {
                netns::teardown(&m)?;
            }
            println!("testnet in {} stopped", dir.display());
            Ok(())
        }
        Cmd::Partition { groups, dir } => {
            netns::require_root("partition")?;
            let mut m = Manifest::load(&dir)?;
            let applied = netns::partition(&mut m, &groups)?;
            m.save(&dir)?;
            let shown: Vec<String> = applied.iter().map(|g| g.join(",")).collect();
            println!("partitioned: {}", shown.join(" | "));
            Ok(())
        }
        Cmd::Soak {
            dir,
            duration_s,
            seed,
            validators,
            json,
            base_port,
            crypto,
        } => soak::run(soak::Args {
            dir,
            duration_s,
            seed,
            validators,
            json,
            base_port,
            crypto,
        }),
        Cmd::Bench { what } => match what {
            BenchCmd::Latency {
                dir,
                node,
                rounds,
                pause_ms,
            } => bench::latency(&dir, node.as_deref(), rounds, pause_ms),
            BenchCmd::Catchup {
                dir,
                node,
                rounds,
                runs,
            } => bench::catchup(&dir, &node, rounds, runs),
        },
        Cmd::Join {
            dir,
            agency,
            validator,
            timeout_s,
        } => gov::Gov::open(&dir, Duration::from_secs(timeout_s))?.join(&agency, validator),
        Cmd::AddNode {
            dir,
            name,
            observer: _,
            state_sync,
            timeout_s,
        } => gov::Gov::open(&dir, Duration::from_secs(timeout_s))?.add_observer(&name, state_sync),
        Cmd::Leave {
            dir,
            node,
            timeout_s,
        } => gov::Gov::open(&dir, Duration::from_secs(timeout_s))?.leave(&node),
        Cmd::Rotate {
            dir,
            node,
            timeout_s,
        } => gov::Gov::open(&dir, Duration::from_secs(timeout_s))?.rotate(&node),
        Cmd::Heal { dir } => {
            netns::require_root("heal")?;
            let mut m = Manifest::load(&dir)?;
            netns::heal(&mut m)?;
            m.save(&dir)?;
            println!("healed: every node reaches every other");
            Ok(())
        }
        Cmd::Kill { node, dir } => {
            let m = Manifest::load(&dir)?;
            procs::kill(m.node(&node)?)?;
            println!("{node} killed");
            Ok(())
        }
        Cmd::Stop { node, dir } => {
            let m = Manifest::load(&dir)?;
            procs::stop(m.node(&node)?)?;
            println!("{node} stopped");
            Ok(())
        }
        Cmd::Start { node, dir } => restart(&dir, &node, false),
        Cmd::Restart { node, dir } => restart(&dir, &node, true),
        Cmd::Status { dir } => {
            let m = Manifest::load(&dir)?;
            for n in &m.nodes {
                let alive = procs::alive(n.pid);
                let ready = alive && procs::ready(&n.api);
                println!(
                    "{:<12} {:<9} pid {:<8} {:<6} {:<6} api {}",
                    n.name,
                    n.role,
                    n.pid,
                    if alive { "alive" } else { "down" },
                    if ready { "ready" } else { "-" },
                    n.api
                );
            }
            if let Some(net) = &m.network {
                if net.partition.is_empty() {
                    println!("network: bridge {}, not partitioned", net.bridge);
                } else {
                    let shown: Vec<String> = net.partition.iter().map(|g| g.join(",")).collect();
                    println!(
                        "network: bridge {}, partitioned: {}",
                        net.bridge,
                        shown.join(" | ")
                    );
                }
            }
            Ok(())
        }
    }
}

struct UpArgs {
    validators: usize,
    observers: usize,
    dir: PathBuf,
    base_port: u16,
    demo: bool,
    detach: bool,
    ready_timeout_s: u64,
    netns: bool,
    snapshot_interval_blocks: Option<u64>,
    crypto: Option<chancery_core::suite::Suite>,
}

fn up(a: UpArgs) -> Result<()> {
    if a.validators < 1 {
        bail!("--validators must be at least 1, found {}", a.validators);
    }
    if a.netns {
        netns::require_root("--netns")?;
    }
    if let Ok(m) = Manifest::load(&a.dir) {
        if let Some(n) = m.nodes.iter().find(|n| procs::alive(n.pid)) {
            bail!(
                "a testnet is already running in {} (node {} has pid {}): run `chancery-testnet down --dir {}` first",
                a.dir.display(),
                n.name,
                n.pid,
                a.dir.display()
            );
        }
    }
    let genesis = a.dir.join("genesis.json");
    if !genesis.exists() {
        let crypto = a.crypto.unwrap_or_default();
        procs::generate(&a.dir, a.validators, a.observers, a.base_port, crypto)?;
        if let Some(n) = a.snapshot_interval_blocks {
            procs::set_snapshot_interval(&a.dir, n)?;
        }
    } else {
        let g = chancery_genesis::load_genesis(&genesis)?;
        if let Some(asked) = a.crypto.filter(|c| *c != g.crypto) {
            bail!(
                "{} is a {} chain, but --crypto {asked} was given: remove {} for a new network of that suite",
                genesis.display(),
                g.crypto,
                a.dir.display()
            );
        }
        println!(
            "reusing the network already generated in {}",
            a.dir.display()
        );
    }
    let mut m = manifest::from_configs(&a.dir)?;
    if a.netns {
        netns::plan(&mut m)?;
        // Saved before anything is made, so that `down` can always remove it.
        m.save(&a.dir)?;
        netns::setup(&m)?;
    }
    for n in &mut m.nodes {
        n.pid = procs::spawn(&a.dir, n)?;
    }
    m.save(&a.dir)?;
    let deadline = std::time::Duration::from_secs(a.ready_timeout_s);
    for n in &m.nodes {
        procs::wait_ready(n, deadline).with_context(|| {
            format!(
                "node {} did not become ready; see its log {}",
                n.name,
                n.log_path().display()
            )
        })?;
    }
    println!(
        "Chancery testnet is up ({} nodes). Genesis: {}",
        m.nodes.len(),
        m.genesis.display()
    );
    for n in &m.nodes {
        println!(
            "  {:<12} {:<9} api {}  status {}/v1/status  p2p {}",
            n.name, n.role, n.api, n.api, n.p2p
        );
    }
    if let Some(first) = m.nodes.first() {
        println!("point the chancery client at the first node with:");
        println!("{}", export_line(&first.api));
    }
    let mut demo = None;
    if a.demo {
        demo = Some(procs::spawn_demo(&a.dir)?);
        println!(
            "demo workload running (log: {})",
            a.dir.join("demo.log").display()
        );
    }
    if a.detach {
        println!(
            "detached; stop with: chancery-testnet down --dir {}",
            a.dir.display()
        );
        return Ok(());
    }
    println!("press Ctrl-C to stop every node");
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .context("installing the Ctrl-C handler")?;
    // Block until Ctrl-C; nodes run in their own process groups so they are stopped in order.
    let _ = rx.recv();
    if let Some(mut d) = demo {
        let _ = d.kill();
        let _ = d.wait();
    }
    for n in &m.nodes {
        procs::stop(n)?;
    }
    if m.network.is_some() {
        netns::teardown(&m)?;
    }
    println!("stopped");
    Ok(())
}

/// The shell line that points `chancery` (and `chancery-testnet`) at the node whose API is
/// `api`: every command that talks to a node reads CHANCERY_NODE when --node is not given.
fn export_line(api: &str) -> String {
    format!("export {}={api}", chancery_client::NODE_ENV)
}

fn restart(dir: &std::path::Path, node: &str, stop_first: bool) -> Result<()> {
    let mut m = Manifest::load(dir)?;
    let n = m.node_mut(node)?;
    if stop_first {
        procs::stop(n)?;
    } else if procs::alive(n.pid) {
        bail!("{} is already running (pid {})", n.name, n.pid);
    }
    n.pid = procs::spawn(dir, n)?;
    let n = n.clone();
    m.save(dir)?;
    procs::wait_ready(&n, std::time::Duration::from_secs(120))?;
    println!("{} started (pid {})", n.name, n.pid);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_export_line_names_the_variable_the_clients_read() {
        assert_eq!(
            super::export_line("http://127.0.0.1:26601"),
            "export CHANCERY_NODE=http://127.0.0.1:26601"
        );
    }
}
