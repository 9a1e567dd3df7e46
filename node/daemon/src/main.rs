//! `chancery-node`: one Chancery node (validator or observer).
//!
//! - `chancery-node start --config node.toml` runs the node until SIGTERM or Ctrl-C;
//! - `chancery-node init --config node.toml` creates the database with the genesis state;
//! - `chancery-node init --genesis FILE --agency ID --name NAME --dir DIR [--validator]
//!   [--peer NAME=HOST:PORT=KEY]...` prepares a node for an agency joining a network: keys,
//!   config, database and the governance changes to vote (`join.rs`, docs/ops/join.md);
//! - `chancery-node check --data DIR --genesis genesis.json` re-verifies a database;
//! - `chancery-node reindex --data DIR --genesis genesis.json` rebuilds the secondary
//!   indexes of a stopped node's database from its log;
//! - `chancery-node serve --data DIR --genesis genesis.json --api ADDR` serves the read-only
//!   HTTP API over an existing database (no consensus, no network; submissions answer 503);
//! - `chancery-node backup --data DIR --out BACKUP` writes a consistent copy of the database
//!   while the node runs (through its admin socket) or while it is stopped.

#![forbid(unsafe_code)]

use chancery_node::{admin, app, compact, driver, indexer, join, signmark, startup, statesync};

use anyhow::{bail, Context, Result};
use chancery_api::{ApiLimits, NodeHandle};
use chancery_core::genesis::Genesis;
use chancery_genesis::config::{ApiConfig, LogFormat, NodeConfig, StorageConfig};
use chancery_ledger::Ledger;
use chancery_net::{P2pConfig, P2pNetwork, PeerName};
use chancery_storage::rocks::RocksStore;
use chancery_storage::Store;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, watch};

/// Least execution time a proposal is sized for, in milliseconds: half of Δ normally, but
/// never so little that a test chain with a tiny Δ proposes blocks of a few transactions.
const PACE_BUDGET_MS_MIN: u64 = 10;
/// Most events buffered for slow API event-stream subscribers; a subscriber that falls
/// further behind is told it lagged, so the driver never waits for one.
const EVENTS_BUFFERED_MAX: usize = 1024;

#[derive(Parser)]
#[command(name = "chancery-node", about = "A Chancery ledger node", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the node.
    Start {
        /// The node's config file.
        #[arg(long)]
        config: PathBuf,
        /// Log format, over the config's `log_format`: `text` or `json` (one object per
        /// line, docs/ops/logs.md).
        #[arg(long)]
        log_format: Option<LogFormat>,
        /// Sign votes even if the database's own votes are below the signing mark kept
        /// beside the consensus key (a restored or wiped database). Only for an operator
        /// who knows this validator never signed above the database's votes.
        #[arg(long)]
        allow_sign_below_mark: bool,
        /// On an empty database, start from the latest snapshot the peers offer, verified
        /// from the genesis, instead of replaying every block (the config's
        /// `state_sync.enabled`; docs/ops/state-sync.md).
        #[arg(long)]
        state_sync: bool,
    },
    /// Create the database and write the genesis state, then exit. With `--genesis`
    /// instead of `--config`: first prepare a node for an agency joining an existing
    /// network (keys, config, `join-changes.toml` for the vote) in a new directory.
    Init {
        /// The node's config file (an existing node).
        #[arg(long, required_unless_present = "genesis", conflicts_with = "genesis")]
        config: Option<PathBuf>,
        /// The network's genesis file (a joining node).
        #[arg(long, requires_all = ["agency", "name", "dir"])]
        genesis: Option<PathBuf>,
        /// The joining agency's id (in the genesis, or one the vote adds).
        #[arg(long)]
        agency: Option<String>,
        /// The node's name.
        #[arg(long)]
        name: Option<String>,
        /// The directory to create (must not exist or be empty).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Prepare a validator (its consensus key; the vote adds it to the set).
        #[arg(long)]
        validator: bool,
        /// A peer to dial: NAME=HOST:PORT=NETWORK_KEY_HEX (repeat for each).
        #[arg(long = "peer")]
        peers: Vec<String>,
        /// The p2p listen address.
        #[arg(long, default_value = "0.0.0.0:26656")]
        p2p: std::net::SocketAddr,
        /// The HTTP API listen address.
        #[arg(long, default_value = "127.0.0.1:26657")]
        api: std::net::SocketAddr,
    },
    /// Walk the whole database, recompute every hash, root and index, and report any
    /// corruption (exit 1 if there is any).
    Check {
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
        /// The genesis file.
        #[arg(long)]
        genesis: PathBuf,
    },
    /// Rebuild the secondary indexes from the log (every entry written again, whatever
    /// `indexed_height` says), then exit. For a stopped node's data directory (a running
    /// node holds the database lock). Entries no block produces are not removed (the store
    /// has no deletes): `check` lists them.
    Reindex {
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
        /// The genesis file.
        #[arg(long)]
        genesis: PathBuf,
    },
    /// Write a consistent copy of the database into a new directory BACKUP (as
    /// `BACKUP/db`, so BACKUP is a data directory), while the node runs (asked through
    /// `DIR/admin.sock`) or while it is stopped. Check it with `check --data BACKUP`;
    /// restore by copying it into place (docs/ops/backup.md).
    Backup {
        /// The node's data directory.
        #[arg(long)]
        data: PathBuf,
        /// The backup directory to create (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Serve the read-only HTTP API over an existing data directory: no consensus, no
    /// network, nothing written; transaction submissions answer 503. For audits of a
    /// stopped node's data and for measurements. Stops on SIGTERM or Ctrl-C.
    Serve {
        /// The data directory (the one holding `db/`).
        #[arg(long)]
        data: PathBuf,
        /// The genesis file.
        #[arg(long)]
        genesis: PathBuf,
        /// Where to serve the API, e.g. 127.0.0.1:26700.
        #[arg(long)]
        api: std::net::SocketAddr,
        /// Sustained requests per second allowed to one client address.
        #[arg(long, default_value_t = ApiConfig::default().requests_per_s_max)]
        requests_per_s_max: u32,
        /// Requests one client address may send at once above the sustained rate.
        #[arg(long, default_value_t = ApiConfig::default().request_burst_max)]
        request_burst_max: u32,
        /// Most requests served at once.
        #[arg(long, default_value_t = ApiConfig::default().concurrent_requests_max)]
        concurrent_requests_max: usize,
        /// Most handlers reading the store at once (over it: 503 `busy`).
        #[arg(long, default_value_t = ApiConfig::default().blocking_reads_max)]
        blocking_reads_max: usize,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Start {
            config,
            log_format,
            allow_sign_below_mark,
            state_sync,
        } => {
            let mut cfg = NodeConfig::load(&config)?;
            cfg.state_sync.enabled |= state_sync;
            init_logging(log_format.unwrap_or(cfg.log_format));
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            rt.block_on(run(cfg, config, allow_sign_below_mark))
        }
        Cmd::Init {
            config,
            genesis,
            agency,
            name,
            dir,
            validator,
            peers,
            p2p,
            api,
        } => {
            let config = match (config, genesis) {
                (Some(c), _) => c,
                (None, Some(genesis)) => {
                    let a = join::JoinArgs {
                        genesis,
                        agency: agency.unwrap_or_default(),
                        name: name.unwrap_or_default(),
                        dir: dir.unwrap_or_default(),
                        validator,
                        peers,
                        p2p,
                        api,
                    };
                    let g = load_genesis(&a.genesis)?;
                    let p = join::prepare(&a, &g)?;
                    println!(
                        "prepared {} in {}: network key {}{}{}",
                        a.name,
                        a.dir.display(),
                        p.network_key,
                        p.consensus_key
                            .map(|k| format!(", consensus key {k}"))
                            .unwrap_or_default(),
                        p.admin_key
                            .map(|k| format!(", admin key {k} (admin.key)"))
                            .unwrap_or_default()
                    );
                    if p.change_count > 0 {
                        println!(
                            "the network must pass {} change(s) first: give {} to an admin (chancery gov propose --changes FILE ...)",
                            p.change_count,
                            p.changes.display()
                        );
                    }
                    p.config
                }
                (None, None) => bail!("init: expected --config FILE, or --genesis FILE with --agency, --name and --dir"),
            };
            let cfg = NodeConfig::load(&config)?;
            let genesis = load_genesis(&cfg.genesis)?;
            let (_store, ledger) = open_ledger(&cfg.data_dir, &genesis, &cfg.storage)?;
            println!(
                "initialised {} for chain {} at height {}; start with: chancery-node start --config {}",
                cfg.data_dir.display(),
                ledger.chain_id(),
                ledger.tip().height,
                config.display()
            );
            Ok(())
        }
        Cmd::Check { data, genesis } => check(&data, &genesis),
        Cmd::Backup { data, out } => admin::backup_command(&data, &out),
        Cmd::Reindex { data, genesis } => reindex(&data, &genesis),
        Cmd::Serve {
            data,
            genesis,
            api,
            requests_per_s_max,
            request_burst_max,
            concurrent_requests_max,
            blocking_reads_max,
        } => {
            init_logging(LogFormat::Text);
            let cfg = ApiConfig {
                requests_per_s_max,
                request_burst_max,
                concurrent_requests_max,
                blocking_reads_max,
                ..ApiConfig::default()
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            rt.block_on(serve(&data, &genesis, api, &cfg))
        }
    }
}

/// The API limits of a node config.
fn api_limits(c: &ApiConfig) -> ApiLimits {
    ApiLimits {
        request_bytes_max: c.request_bytes_max,
        page_entries_max: c.page_entries_max,
        concurrent_requests_max: c.concurrent_requests_max,
        request_timeout_ms: c.request_timeout_ms,
        requests_per_s_max: c.requests_per_s_max,
        request_burst_max: c.request_burst_max,
        rate_limit_clients_max: c.rate_limit_clients_max,
        blocking_reads_max: c.blocking_reads_max,
        search_scan_max: c.search_scan_max,
        raw_page_bytes_max: c.raw_page_bytes_max,
        sse_streams_max: c.sse_streams_max,
        sse_streams_per_address_max: c.sse_streams_per_address_max,
        connections_max: c.connections_max,
        connections_per_address_max: c.connections_per_address_max,
        ..ApiLimits::default()
    }
}

/// The outcome of the consensus driver, reported by its thread.
type DriverResult = std::result::Result<anyhow::Result<()>, String>;

/// Run the consensus driver on its own OS thread with its own single-threaded Tokio
/// runtime, so that API and network load on the main runtime cannot delay its timers and
/// steps (issue 14, finding 8). Channels (mpsc, watch, broadcast) work across runtimes; the
/// network keeps running on the main runtime. The returned receiver yields the driver's
/// result when it stops (`Err` if it panicked or its runtime could not start).
fn spawn_driver(
    drv: driver::Driver,
    shutdown: watch::Receiver<bool>,
) -> Result<tokio::sync::oneshot::Receiver<DriverResult>> {
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("consensus-driver".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = done_tx.send(Err(format!("starting the driver's runtime: {e}")));
                    return;
                }
            };
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                rt.block_on(drv.run(shutdown))
            }))
            .map_err(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".to_string())
            });
            let _ = done_tx.send(out);
        })
        .context("starting the consensus driver thread")?;
    Ok(done_rx)
}

/// Bind the API address and serve the node's HTTP app (API and explorer) on the main
/// runtime, with its connection caps, until `shutdown` turns true.
async fn spawn_api(
    addr: std::net::SocketAddr,
    handle: NodeHandle,
    mut shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the API address {addr}"))?;
    let limits = handle.limits.clone();
    Ok(tokio::spawn(async move {
        chancery_api::serve_router(listener, http_app(handle), &limits, async move {
            let _ = shutdown.wait_for(|s| *s).await;
        })
        .await
    }))
}

/// The HTTP app of a node: the API's routes, and any other router merged into them (one
/// `.merge(...)` line each), all within the API's limits.
fn http_app(handle: NodeHandle) -> chancery_api::Router {
    let app = chancery_api::routes_with_doc(handle.clone(), chancery_explorer::openapi())
        .merge(chancery_explorer::router(handle.clone()));
    let app = chancery_api::with_limits(app, &handle.limits);
    chancery_api::with_request_metrics(app, &handle.metrics)
}

async fn serve(
    data: &Path,
    genesis: &Path,
    addr: std::net::SocketAddr,
    cfg: &ApiConfig,
) -> Result<()> {
    let genesis = load_genesis(genesis)?;
    if !data.join("db").is_dir() {
        bail!(
            "{} holds no database (expected the directory {}): serve reads an existing node's data",
            data.display(),
            data.join("db").display()
        );
    }
    // Read-only: no lock, nothing written, so a running node's data can be served too.
    let store: Arc<dyn Store> = Arc::new(
        RocksStore::open_read_only(data.join("db"))
            .with_context(|| format!("opening the database in {} read-only", data.display()))?,
    );
    let ledger = Arc::new(
        Ledger::open(store, &genesis)
            .with_context(|| format!("opening the ledger in {}", data.display()))?,
    );
    let tip = ledger.tip();
    let limits = api_limits(cfg);
    let handle = NodeHandle::read_only(ledger, Arc::new(genesis), limits.clone());
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the API address {addr}"))?;
    tracing::info!(
        api = %addr,
        height = tip.height.0,
        log_size = tip.log_size,
        "serving the read-only API"
    );
    chancery_api::serve_router(listener, http_app(handle), &limits, wait_for_signal())
        .await
        .context("serving the API")?;
    tracing::info!("stopped");
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,libp2p=warn"));
    let b = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        // One flat JSON object per line with stable names (docs/ops/logs.md): `timestamp`,
        // `level`, `target`, `message` and each event's own fields at the top level.
        LogFormat::Json => b
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
        // Colours only on a terminal: a log file or journald gets plain text.
        LogFormat::Text => b
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .init(),
    }
}

fn load_genesis(path: &Path) -> Result<Genesis> {
    chancery_genesis::document::load_genesis(path)
        .with_context(|| format!("loading the genesis file {}", path.display()))
}

/// The node's database in `data_dir/db` (created if absent).
fn open_store(data_dir: &Path, storage: &StorageConfig) -> Result<Arc<dyn Store>> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let rocks = chancery_storage::rocks::RocksConfig {
        disk_free_min_bytes: storage.disk_free_min_bytes,
        ..Default::default()
    };
    Ok(Arc::new(
        RocksStore::open_with(data_dir.join("db"), rocks)
            .with_context(|| format!("opening the database in {}", data_dir.display()))?,
    ))
}

/// The ledger settings of a running node.
fn ledger_config() -> chancery_ledger::LedgerConfig {
    // The state tree's flushes are written by the indexer task, off the commit path.
    chancery_ledger::LedgerConfig {
        tree_flush_background: true,
        ..Default::default()
    }
}

fn open_ledger(
    data_dir: &Path,
    genesis: &Genesis,
    storage: &StorageConfig,
) -> Result<(Arc<dyn Store>, Arc<Ledger>)> {
    let store = open_store(data_dir, storage)?;
    let ledger = Ledger::open_with(store.clone(), genesis, ledger_config())
        .with_context(|| format!("opening the ledger in {}", data_dir.display()))?;
    Ok((store, Arc::new(ledger)))
}

fn check(data: &Path, genesis: &Path) -> Result<()> {
    let genesis = load_genesis(genesis)?;
    let store: Arc<dyn Store> = Arc::new(
        RocksStore::open(data.join("db")).with_context(|| format!("opening {}", data.display()))?,
    );
    // Recomputed structures are built in a scratch store, never in the checked one.
    let scratch: Arc<dyn Store> = Arc::new(chancery_storage::mem::MemStore::new());
    // Opening the ledger checks that the database belongs to this genesis.
    Ledger::open(store.clone(), &genesis)
        .with_context(|| format!("opening the ledger in {} for this genesis", data.display()))?;
    let report = chancery_ledger::check(store, scratch)?;
    println!(
        "checked height {}: {} blocks replayed, {} entries compared, {} problems",
        report.height, report.blocks_replayed, report.entries_compared, report.problems_total
    );
    for p in &report.problems {
        println!("  {p}");
    }
    if !report.is_ok() {
        bail!("the database in {} is corrupt", data.display());
    }
    Ok(())
}

fn reindex(data: &Path, genesis: &Path) -> Result<()> {
    let genesis = load_genesis(genesis)?;
    if !data.join("db").is_dir() {
        bail!("{} holds no database", data.display());
    }
    let store: Arc<dyn Store> = Arc::new(
        RocksStore::open(data.join("db")).with_context(|| format!("opening {}", data.display()))?,
    );
    let ledger = Ledger::open(store.clone(), &genesis)
        .with_context(|| format!("opening the ledger in {} for this genesis", data.display()))?;
    let started = std::time::Instant::now();
    let p = ledger.reindex()?;
    // Index batches are not synced: flush them to the engine's files before exiting.
    store.flush()?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "reindexed up to height {}: {} blocks, {} applied transactions, {} entries in {} batches, {:.1} s",
        p.indexed_height.map_or(0, |h| h.0),
        p.blocks,
        p.txs,
        p.entries,
        p.batches,
        secs
    );
    Ok(())
}

async fn run(cfg: NodeConfig, config_path: PathBuf, allow_sign_below_mark: bool) -> Result<()> {
    let genesis = load_genesis(&cfg.genesis)?;
    let chain_id = genesis.chain_id();
    // Our proposals' transactions, which peers that lack some fetch (`compact.rs`).
    let recent = Arc::new(compact::RecentTxs::new());
    // With state sync, the network starts first (it fetches the snapshot) and answers
    // peers once the ledger is open.
    let (store, ledger, synced_net) = if cfg.state_sync.enabled {
        let (store, ledger, net) = open_by_state_sync(&cfg, &genesis).await?;
        (store, ledger, Some(net))
    } else {
        let (store, ledger) = open_ledger(&cfg.data_dir, &genesis, &cfg.storage)?;
        (store, ledger, None)
    };
    // The validator set and parameters that finalize the next height: the genesis' until
    // governance changes them (docs/governance.md).
    let next = ledger.tip().height.next();
    let set = ledger
        .validator_set_at(next)
        .context("reading the validator set in force")?;
    let keys = startup::start_keys(&cfg, &set)?;
    let (network_key, consensus_key) = (keys.network, keys.consensus);
    let params = ledger
        .params_at(next)
        .context("reading the chain parameters in force")?;
    tracing::info!(
        node = %cfg.name,
        chain = %chain_id,
        height = ledger.tip().height.0,
        role = ?cfg.role,
        "node starting"
    );

    let pending = ledger
        .validator_set_of_epoch(chancery_core::Epoch(set.epoch.0 + 1))
        .context("reading the next epoch's validator set")?;
    let admit = startup::validators_to_admit(&set, pending.as_ref());
    let handler = request_handler(&cfg, &genesis, &ledger, recent.clone());
    let (net, inbound) = match synced_net {
        Some((net, inbound, late)) => {
            late.set(handler);
            // The peers of the validator sets in force, as a node that replayed has.
            net.set_peers(startup::allowed_peers(&cfg, &admit))
                .context("admitting the validators of the installed ledger's sets")?;
            (net, inbound)
        }
        None => start_network(&cfg, &genesis, &admit, handler, network_key.secret.seed()).await?,
    };
    let mut app = new_app(&cfg, &genesis, ledger.clone())?;
    app.set_block_limits(
        params.block_txs_max as usize,
        params.block_bytes_max as usize,
    );
    // One set of metrics: the commit path records, the API records and serves them.
    let metrics = app.metrics.clone();
    let (cmd_tx, cmd_rx) = mpsc::channel(driver::COMMANDS_MAX);
    let (events, _) = broadcast::channel(EVENTS_BUFFERED_MAX);
    let (status_tx, status_rx) = watch::channel(driver::NodeStatus::default());
    let drv = driver::Driver::new(driver::DriverParts {
        app,
        set,
        key: consensus_key,
        delta_ms: params.delta_ms,
        heartbeat_ms: params.heartbeat_ms,
        net: net.clone(),
        inbound,
        commands: cmd_rx,
        store: store.clone(),
        events: events.clone(),
        status: status_tx,
        sign_mark: sign_mark_start(&cfg, allow_sign_below_mark),
        recent,
        node_config: Some(Arc::new(cfg.clone())),
        config_updates: Some(reload_on_sighup(config_path)),
        runtime: chancery_node::runtime::TokioRuntime::shared(),
    })?;

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    // The indexer follows the commits (block events) on its own blocking tasks.
    let indexer = indexer::spawn(ledger.clone(), events.subscribe(), shutdown_rx.clone());
    // The admin socket (online backups) in the data directory.
    {
        let (dir, store, ledger, stop) = (
            cfg.data_dir.clone(),
            store.clone(),
            ledger.clone(),
            shutdown_rx.clone(),
        );
        tokio::spawn(async move {
            if let Err(e) = admin::serve(dir, store, ledger, stop).await {
                tracing::warn!(error = %e, "admin socket unavailable: online backups are off");
            }
        });
    }
    let handle = NodeHandle {
        ledger: ledger.clone(),
        genesis: Arc::new(genesis),
        commands: cmd_tx,
        status: status_rx,
        events,
        limits: api_limits(&cfg.api),
        metrics,
    };
    let api = spawn_api(cfg.api_listen, handle, shutdown_rx.clone()).await?;
    tracing::info!(api = %cfg.api_listen, p2p = %cfg.p2p_listen, "listening");
    let driver_done = spawn_driver(drv, shutdown_rx)?;
    let out = serve_until_stopped(api, driver_done, shutdown_tx, &ledger).await;
    let _ = indexer.await;
    out
}

/// The handler that answers peers' catch-up and state-sync requests from `ledger`.
fn request_handler(
    cfg: &NodeConfig,
    genesis: &Genesis,
    ledger: &Arc<Ledger>,
    recent: Arc<compact::RecentTxs>,
) -> Arc<dyn chancery_net::RequestHandler> {
    driver::sync_handler(
        ledger.clone(),
        recent,
        statesync::SnapshotOffers::new(cfg.snapshots.interval_blocks),
        startup::wire_limits(genesis),
    )
}

/// `state_sync.enabled`: start the network, and, on an empty database, install the latest
/// snapshot the peers offer (verified from the genesis); then open the ledger. A database
/// that already holds a ledger is opened as it is; an install that did not finish is wiped
/// first. When no peer offers a snapshot yet, the ledger starts from the genesis.
async fn open_by_state_sync(
    cfg: &NodeConfig,
    genesis: &Genesis,
) -> Result<(
    Arc<dyn Store>,
    Arc<Ledger>,
    (
        Arc<dyn chancery_net::Network>,
        mpsc::Receiver<chancery_net::Inbound>,
        Arc<statesync::LateHandler>,
    ),
)> {
    use chancery_ledger::StoreKind;
    let db = cfg.data_dir.join("db");
    let mut store = open_store(&cfg.data_dir, &cfg.storage)?;
    let mut kind =
        chancery_ledger::store_kind(&*store).context("reading what the database holds")?;
    if kind == StoreKind::Ledger {
        // A ledger at height 0 (`chancery-node init` writes the genesis state) holds
        // nothing the genesis file does not: it may be replaced by a snapshot.
        let at_genesis = Ledger::open(store.clone(), genesis)
            .with_context(|| format!("opening the ledger in {}", cfg.data_dir.display()))?
            .tip()
            .height
            == chancery_core::Height(0);
        if at_genesis {
            kind = StoreKind::Empty;
        }
    }
    let (network_key, _) = cfg.read_keys()?;
    let late = Arc::new(statesync::LateHandler::default());
    let (net, inbound) = start_network(
        cfg,
        genesis,
        &genesis.validators.validators,
        late.clone(),
        network_key.secret.seed(),
    )
    .await?;
    let wipe = |store: Arc<dyn Store>| -> Result<Arc<dyn Store>> {
        drop(store);
        std::fs::remove_dir_all(&db)
            .with_context(|| format!("removing the unfinished install in {}", db.display()))?;
        open_store(&cfg.data_dir, &cfg.storage)
    };
    match kind {
        StoreKind::Ledger => tracing::info!(
            "the database already holds a ledger: state sync is for an empty database; starting from it"
        ),
        StoreKind::UnfinishedInstall | StoreKind::Empty => {
            if kind == StoreKind::UnfinishedInstall {
                tracing::warn!("the database holds a snapshot install that did not finish; removing it and starting again");
            }
            // An install needs an empty store (no genesis state either).
            store = wipe(store)?;
            let attempts = cfg.state_sync.attempts_max.max(1);
            let wait = std::time::Duration::from_secs(cfg.state_sync.peers_wait_s);
            let genesis_arc = Arc::new(genesis.clone());
            for attempt in 1..=attempts {
                let started = std::time::Instant::now();
                match statesync::sync_over(net.clone(), genesis_arc.clone(), store.clone(), wait)
                    .await
                {
                    Ok(r) => {
                        tracing::info!(
                            height = r.height.0,
                            chunks = r.chunks,
                            log_pieces = r.log_pieces,
                            dropped = ?r.dropped,
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "installed a verified snapshot; following the chain from it"
                        );
                        break;
                    }
                    Err(statesync::StateSyncError::NoOffer { reasons }) => {
                        tracing::info!(%reasons, "no peer offers a snapshot yet: starting from the genesis and replaying the chain");
                        break;
                    }
                    Err(e) if attempt < attempts => {
                        tracing::warn!(attempt, error = %e, "state sync failed; removing the partial install and trying again");
                        store = wipe(store)?;
                    }
                    Err(e) => bail!(
                        "state sync failed after {attempts} attempts: {e}. Start again, or set state_sync.enabled = false (no --state-sync) to replay the chain from the genesis"
                    ),
                }
            }
        }
    }
    let ledger = Ledger::open_with(store.clone(), genesis, ledger_config())
        .with_context(|| format!("opening the ledger in {}", cfg.data_dir.display()))?;
    Ok((store, Arc::new(ledger), (net, inbound, late)))
}

/// The p2p network of this node, answering peers' requests with `handler`.
async fn start_network(
    cfg: &NodeConfig,
    genesis: &Genesis,
    admit: &[chancery_core::validator::Validator],
    handler: Arc<dyn chancery_net::RequestHandler>,
    seed: [u8; 32],
) -> Result<(
    Arc<dyn chancery_net::Network>,
    mpsc::Receiver<chancery_net::Inbound>,
)> {
    let net_cfg = P2pConfig {
        name: PeerName::from(cfg.name.as_str()),
        listen: vec![startup::socket_multiaddr(&cfg.p2p_listen)
            .parse()
            .with_context(|| format!("p2p_listen {} is not a TCP address", cfg.p2p_listen))?],
        peers: startup::allowed_peers(cfg, admit),
        limits: startup::net_limits(genesis),
    };
    let (net, inbound) = P2pNetwork::start(net_cfg, seed, handler)
        .await
        .context("starting the network")?;
    Ok((Arc::new(net), inbound))
}

/// The application the driver runs: the ledger, a mempool from the node's config and the
/// pace that sizes proposals.
fn new_app(cfg: &NodeConfig, genesis: &Genesis, ledger: Arc<Ledger>) -> Result<app::App> {
    let mempool_cfg = chancery_mempool::MempoolConfig {
        txs_max: cfg.mempool.txs_max,
        bytes_max: cfg.mempool.bytes_max,
        per_signer_max: cfg.mempool.per_signer_txs_max,
        ..Default::default()
    };
    let mempool = chancery_mempool::Mempool::new(genesis.chain_id(), mempool_cfg)
        .map_err(|e| anyhow::anyhow!("mempool config: {e}"))?;
    Ok(app::App::new(
        ledger,
        mempool,
        genesis.params.block_txs_max as usize,
        genesis.params.block_bytes_max as usize,
        // A proposal is built by the leader within the others' 2Δ leader timeout, after the
        // leader may have waited up to Δ for its parent: half of Δ leaves room for that and
        // the network (the others' own checking time defers their timeouts; see the
        // driver). Larger blocks amortize the per-block costs (votes, syncs, messages).
        std::time::Duration::from_millis((genesis.params.delta_ms / 2).max(PACE_BUDGET_MS_MIN)),
    ))
}

/// Run until a signal, or until the driver stops on its own (an error it cannot recover
/// from): then the whole node stops, rather than serve a ledger that no longer advances.
async fn serve_until_stopped(
    api: tokio::task::JoinHandle<std::io::Result<()>>,
    mut driver_done: tokio::sync::oneshot::Receiver<DriverResult>,
    shutdown_tx: watch::Sender<bool>,
    ledger: &Ledger,
) -> Result<()> {
    let driver_failure = |r: std::result::Result<DriverResult, _>| match r {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(e))) => Some(e.to_string()),
        Ok(Err(panic)) => Some(format!("driver panicked: {panic}")),
        Err(_) => Some("driver thread ended without a result".to_string()),
    };

    let failed;
    tokio::select! {
        _ = wait_for_signal() => {
            tracing::info!("shutting down");
            let _ = shutdown_tx.send(true);
            failed = driver_failure((&mut driver_done).await);
        }
        r = &mut driver_done => {
            failed = Some(driver_failure(r).unwrap_or_else(|| "driver stopped unexpectedly".to_string()));
            let _ = shutdown_tx.send(true);
        }
    }
    let _ = api.await;
    // A planned stop flushes the state tree written behind, so that the next start
    // replays no block (after a crash it replays up to a flush interval of them).
    if let Err(e) = ledger.flush_tree() {
        tracing::warn!(error = %e, "flushing the state tree at shutdown failed; the next start replays the unflushed blocks");
    }
    tracing::info!(height = ledger.tip().height.0, "stopped");
    match failed {
        Some(e) => {
            tracing::error!(error = %e, "node failed");
            bail!("node failed: {e}")
        }
        None => Ok(()),
    }
}

/// Where a validator keeps its signing mark: beside its consensus key file.
fn sign_mark_start(cfg: &NodeConfig, allow_below: bool) -> Option<driver::SignMarkStart> {
    if allow_below {
        tracing::warn!("--allow-sign-below-mark: this validator may sign below its signing mark");
    }
    cfg.consensus_key_file
        .as_ref()
        .map(|key| driver::SignMarkStart {
            path: signmark::path_for_key(key),
            allow_below,
        })
}

/// On SIGHUP, load the config file again and hand it to the driver, which applies its
/// `[[peers]]` (an observer added to a running network: docs/ops/state-sync.md). A file
/// that does not load is logged and changes nothing.
fn reload_on_sighup(path: PathBuf) -> mpsc::Receiver<Arc<NodeConfig>> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; peers are reloaded only at a restart");
                return;
            }
        };
        while hup.recv().await.is_some() {
            match NodeConfig::load(&path) {
                Ok(cfg) => {
                    if tx.send(Arc::new(cfg)).await.is_err() {
                        return;
                    }
                }
                Err(e) => tracing::error!(
                    error = %e,
                    file = %path.display(),
                    "SIGHUP: the config does not load; keeping the running peers (fix the file and send SIGHUP again)"
                ),
            }
        }
    });
    rx
}

/// Resolve on SIGTERM or SIGINT.
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM; stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[cfg(test)]
mod storage_defaults {
    /// The node config's default reserve is the store's: one figure in the docs.
    #[test]
    fn the_configs_free_space_reserve_defaults_to_the_stores() {
        assert_eq!(
            chancery_genesis::config::DISK_FREE_MIN_BYTES_DEFAULT,
            chancery_storage::rocks::DISK_FREE_MIN_BYTES_DEFAULT
        );
        assert_eq!(
            chancery_genesis::config::StorageConfig::default().disk_free_min_bytes,
            chancery_storage::rocks::RocksConfig::default().disk_free_min_bytes
        );
    }
}
