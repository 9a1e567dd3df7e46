//! The node's local administration socket and the online backup (issue 19).
//!
//! A running node listens on a Unix socket in its data directory, `DATA/admin.sock`,
//! created with mode 0600: only the account that owns the data may use it, which is the
//! same account that could copy the database anyway. The protocol is one request line
//! and one answer line:
//!
//! ```text
//! → backup <absolute path of a directory that does not exist>\n
//! ← ok <height>\n                  the copy holds at least the blocks up to <height>
//! ← error <what went wrong>\n
//! ```
//!
//! `chancery-node backup --data DATA --out BACKUP` asks the running node through the
//! socket, or, when no node answers there, opens the database itself (a stopped node). The
//! copy is a RocksDB checkpoint of one consistent moment, written as `BACKUP/db`, so
//! `BACKUP` is a data directory: `chancery-node check --data BACKUP` verifies it and
//! restoring is copying it into place (docs/ops/backup.md).

use anyhow::{bail, Context, Result};
use chancery_ledger::Ledger;
use chancery_storage::rocks::RocksStore;
use chancery_storage::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::watch;

/// The socket's file name in the data directory.
pub const ADMIN_SOCKET: &str = "admin.sock";
/// Longest request line, in bytes (a command and a path).
pub const REQUEST_BYTES_MAX: usize = 4096;
/// Longest Unix socket path the kernel accepts, in bytes (`sun_path` less its NUL).
pub const SOCKET_PATH_BYTES_MAX: usize = 107;

/// Where a data directory's admin socket is.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(ADMIN_SOCKET)
}

/// Take a backup of `store` into `out` (a new directory): the checkpoint goes to
/// `out/db`. Returns the ledger height read just before the checkpoint (the copy holds at
/// least that much).
pub fn backup_store(store: &dyn Store, ledger: Option<&Ledger>, out: &Path) -> Result<u64> {
    if out.exists() {
        bail!(
            "the backup target {} already exists (expected a new directory)",
            out.display()
        );
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the backup directory {}", out.display()))?;
    let height = ledger.map_or(0, |l| l.tip().height.0);
    store
        .checkpoint(&out.join("db"))
        .with_context(|| format!("writing the checkpoint into {}", out.display()))?;
    Ok(height)
}

/// Serve the admin socket of a running node until `shutdown` turns true. A socket file
/// left by a crashed node is replaced. Requests are served one at a time (a backup is
/// disk-bound; two at once would only compete).
pub async fn serve(
    data_dir: PathBuf,
    store: Arc<dyn Store>,
    ledger: Arc<Ledger>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let path = socket_path(&data_dir);
    let len = path.as_os_str().len();
    if len > SOCKET_PATH_BYTES_MAX {
        tracing::warn!(
            path = %path.display(),
            bytes = len,
            bytes_max = SOCKET_PATH_BYTES_MAX,
            "admin socket path too long: online backups are unavailable; use a shorter data directory path"
        );
        return Ok(());
    }
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
    }
    let listener = tokio::net::UnixListener::bind(&path)
        .with_context(|| format!("binding the admin socket {}", path.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {} to its owner", path.display()))?;
    }
    loop {
        if *shutdown.borrow() {
            break;
        }
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                if let Err(e) = answer(stream, store.clone(), ledger.clone()).await {
                    tracing::info!(error = %e, "admin request failed");
                }
            }
        }
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

async fn answer(
    stream: tokio::net::UnixStream,
    store: Arc<dyn Store>,
    ledger: Arc<Ledger>,
) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut limited = BufReader::new(tokio::io::AsyncReadExt::take(
        read,
        REQUEST_BYTES_MAX as u64,
    ));
    limited.read_line(&mut line).await?;
    let reply = match line.trim_end().split_once(' ') {
        Some(("backup", path)) if Path::new(path).is_absolute() => {
            let out = PathBuf::from(path);
            let started = std::time::Instant::now();
            let res = tokio::task::spawn_blocking(move || {
                backup_store(&*store, Some(&ledger), &out).map(|h| (h, out))
            })
            .await
            .context("the backup task")?;
            match res {
                Ok((h, out)) => {
                    tracing::info!(path = %out.display(), height = h, took_ms = started.elapsed().as_millis() as u64, "backup written");
                    format!("ok {h}\n")
                }
                Err(e) => format!("error {e:#}\n"),
            }
        }
        Some(("backup", path)) => {
            format!("error the backup path {path} is not absolute (expected an absolute path)\n")
        }
        _ => format!(
            "error unknown request {:?} (expected `backup <absolute path>`)\n",
            line.trim_end().chars().take(64).collect::<String>()
        ),
    };
    write.write_all(reply.as_bytes()).await?;
    Ok(())
}

/// `chancery-node backup`: through the running node's socket, else directly on a stopped
/// node's database. Prints what was done.
pub fn backup_command(data: &Path, out: &Path) -> Result<()> {
    let out = absolute(out)?;
    let sock = socket_path(data);
    match std::os::unix::net::UnixStream::connect(&sock) {
        Ok(mut stream) => {
            use std::io::{BufRead, Write};
            writeln!(stream, "backup {}", out.display())
                .with_context(|| format!("asking the node at {}", sock.display()))?;
            let mut reply = String::new();
            std::io::BufReader::new(std::io::Read::take(stream, REQUEST_BYTES_MAX as u64))
                .read_line(&mut reply)
                .with_context(|| format!("reading the node's answer on {}", sock.display()))?;
            match reply.trim_end().split_once(' ') {
                Some(("ok", h)) => {
                    println!(
                        "online backup of {} written to {} (at least height {h})",
                        data.display(),
                        out.display()
                    );
                    Ok(())
                }
                Some(("error", e)) => bail!("the node could not take the backup: {e}"),
                _ => bail!("unexpected answer from the node: {:?}", reply.trim_end()),
            }
        }
        Err(_) => {
            // No node answers: the database must be free (a stopped node).
            let store = RocksStore::open(data.join("db")).with_context(|| {
                format!(
                    "no node answers on {} and the database in {} cannot be opened (a running node whose socket is missing holds its lock: restart it, or stop it and retry)",
                    sock.display(),
                    data.display()
                )
            })?;
            backup_store(&store, None, &out)?;
            println!(
                "backup of the stopped node's {} written to {}",
                data.display(),
                out.display()
            );
            Ok(())
        }
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    Ok(std::env::current_dir()
        .context("reading the current directory")?
        .join(p))
}
