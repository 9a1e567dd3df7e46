//! Node processes: generate, spawn, wait until ready, stop, kill.

use crate::manifest::NodeEntry;
use anyhow::{bail, Context, Result};
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A sibling binary of this one (`chancery-node`, `chancery-genesis`, `chancery`), or the
/// name alone to be found on PATH.
pub fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Generate keys, genesis and node configs with `chancery-genesis testnet`.
pub fn generate(
    dir: &Path,
    validators: usize,
    observers: usize,
    base_port: u16,
    crypto: chancery_core::suite::Suite,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let status = Command::new(sibling("chancery-genesis"))
        .arg("testnet")
        .args(["--crypto", crypto.name()])
        .args(["--validators", &validators.to_string()])
        .args(["--observers", &observers.to_string()])
        .args(["--base-port", &base_port.to_string()])
        .arg("--out")
        .arg(dir)
        .status()
        .context(
            "running chancery-genesis testnet (is it built? `cargo build -p chancery-genesis`)",
        )?;
    if !status.success() {
        bail!("chancery-genesis testnet failed with {status}");
    }
    Ok(())
}

/// Start a node in its own process group (so Ctrl-C reaches only this tool, which then
/// stops the nodes in order), logging to its `node.log`; in its network namespace if it
/// has one.
pub fn spawn(_dir: &Path, n: &NodeEntry) -> Result<u32> {
    let log_path = n.log_path();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let child = crate::netns::command(n, &sibling("chancery-node"))
        .arg("start")
        .arg("--config")
        .arg(&n.config)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting chancery-node (is it built? `cargo build -p chancery-node`)")?;
    Ok(child.id())
}

/// Change a node config in place: parse it, let `f` edit the table, write it back.
pub fn edit_config(path: &Path, f: impl FnOnce(&mut toml::Table)) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut t: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    f(&mut t);
    std::fs::write(path, toml::to_string(&t)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Set `[table] key = value` in a config table.
pub fn set_in(t: &mut toml::Table, table: &str, key: &str, value: toml::Value) {
    let entry = t
        .entry(table.to_string())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if !entry.is_table() {
        *entry = toml::Value::Table(toml::Table::new());
    }
    if let Some(sub) = entry.as_table_mut() {
        sub.insert(key.to_string(), value);
    }
}

/// Write `[snapshots] interval_blocks = n` into every node config in `dir`.
pub fn set_snapshot_interval(dir: &Path, n: u64) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let cfg = e?.path().join("node.toml");
        if cfg.is_file() {
            edit_config(&cfg, |t| {
                set_in(
                    t,
                    "snapshots",
                    "interval_blocks",
                    toml::Value::Integer(n as i64),
                )
            })?;
        }
    }
    Ok(())
}

/// Ask a running node to reload its config's `[[peers]]` (SIGHUP).
pub fn reload(n: &NodeEntry) -> Result<()> {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(n.pid as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .with_context(|| format!("sending SIGHUP to {} (pid {})", n.name, n.pid))
}

/// Start the demo workload (`chancery demo --testnet DIR`), logging to `DIR/demo.log`.
pub fn spawn_demo(dir: &Path) -> Result<Child> {
    let log_path = dir.join("demo.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    Command::new(sibling("chancery"))
        .arg("demo")
        .arg("--testnet")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting `chancery demo` (is it built? `cargo build -p chancery`)")
}

/// Is a process with this pid alive (and not a zombie we could reap)?
pub fn alive(pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    // Reap it if it is our exited child, so it does not count as alive.
    let _ = nix::sys::wait::waitpid(
        Pid::from_raw(pid as i32),
        Some(nix::sys::wait::WaitPidFlag::WNOHANG),
    );
    signal::kill(Pid::from_raw(pid as i32), None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(false)
}

/// Timeout of one readiness probe, in milliseconds.
pub const READY_PROBE_TIMEOUT_MS: u64 = 2_000;

/// Does the node answer `GET /readyz` with 200?
pub fn ready(api: &str) -> bool {
    chancery_client::Client::with_timeout_ms(api, Some(READY_PROBE_TIMEOUT_MS))
        .ready()
        .is_ok_and(|r| r.ready)
}

/// Wait until the node is ready, failing early if its process exits.
pub fn wait_ready(n: &NodeEntry, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        if ready(&n.api) {
            return Ok(());
        }
        if !alive(n.pid) {
            bail!(
                "node {} (pid {}) exited before becoming ready",
                n.name,
                n.pid
            );
        }
        if start.elapsed() > timeout {
            bail!("node {} not ready after {} s", n.name, timeout.as_secs());
        }
        // Polling a separate process over HTTP: there is nothing to block on instead.
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGKILL, then wait for the process to disappear.
pub fn kill(n: &NodeEntry) -> Result<()> {
    signal_and_wait(n, Signal::SIGKILL, Duration::from_secs(10))
}

/// SIGTERM, wait up to 20 s for a clean exit, then SIGKILL.
pub fn stop(n: &NodeEntry) -> Result<()> {
    if signal_and_wait(n, Signal::SIGTERM, Duration::from_secs(20)).is_err() {
        eprintln!("{} did not stop within 20 s of SIGTERM: killing it", n.name);
        kill(n)?;
    }
    Ok(())
}

fn signal_and_wait(n: &NodeEntry, sig: Signal, timeout: Duration) -> Result<()> {
    if !alive(n.pid) {
        return Ok(());
    }
    signal::kill(Pid::from_raw(n.pid as i32), sig)
        .with_context(|| format!("sending {sig} to {} (pid {})", n.name, n.pid))?;
    let start = Instant::now();
    while alive(n.pid) {
        if start.elapsed() > timeout {
            bail!(
                "{} (pid {}) still alive {} s after {sig}",
                n.name,
                n.pid,
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
