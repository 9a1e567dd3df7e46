//! The signing high-water mark (issue 14, finding 4): the highest `(epoch, view)` at which
//! this validator has signed a vote, kept in a small file beside the consensus key
//! (`<consensus key file>.sign-mark`), outside the database.
//!
//! Own votes live in the database's `Meta` column; a database restored from a backup or
//! wiped has lost them, and the core would sign again in views it already voted in. The
//! mark is written atomically (temporary file, fsync, rename, fsync of the directory)
//! *before* a vote of a higher view than the mark is acknowledged to the core, so it is
//! always at least as new as any vote sent. At start, a database whose highest own vote is
//! below the mark lost votes: the core is told never to sign at or below the mark's view
//! (`Config::sign_floor`), unless the operator says otherwise.
//!
//! File format: one line of ASCII, `chancery-sign-mark/1 epoch=<u64> view=<u64>\n`. Any other
//! content (a torn or foreign file) is refused, never guessed.

use chancery_core::ids::View;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Largest sign-mark file read, in bytes.
pub const SIGN_MARK_BYTES_MAX: u64 = 128;
/// The first word of a sign-mark file (names the format and its version).
const MAGIC: &str = "chancery-sign-mark/1";

/// The highest `(epoch, view)` this validator has signed a vote at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SignMark {
    /// Epoch.
    pub epoch: u64,
    /// View.
    pub view: View,
}

/// Why a sign-mark file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SignMarkError {
    /// The file system failed.
    #[error("sign mark {file}: {action}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a sign mark (torn, edited or foreign).
    #[error("sign mark {file}: expected `{MAGIC} epoch=<n> view=<n>` and a newline, found {found:?}; refusing to guess (move the file away only if you know this validator never signed above the database's votes)")]
    Parse {
        /// The file.
        file: PathBuf,
        /// What was there (at most [`SIGN_MARK_BYTES_MAX`] bytes, lossy).
        found: String,
    },
    /// The mark names an epoch after this node's.
    #[error(
        "sign mark {file}: epoch {found}, but this node is at epoch {expected}; refusing to start"
    )]
    FutureEpoch {
        /// The file.
        file: PathBuf,
        /// The node's epoch.
        expected: u64,
        /// The mark's epoch.
        found: u64,
    },
}

/// The mark file of a consensus key file: `<key path>.sign-mark`.
pub fn path_for_key(key_file: &Path) -> PathBuf {
    let mut s = key_file.as_os_str().to_os_string();
    s.push(".sign-mark");
    PathBuf::from(s)
}

fn parse(text: &str) -> Option<SignMark> {
    let line = text.strip_suffix('\n')?;
    let mut words = line.split(' ');
    if words.next()? != MAGIC {
        return None;
    }
    let number = |w: Option<&str>, key: &str| -> Option<u64> {
        let digits = w?.strip_prefix(key)?;
        // Canonical decimal only: no sign, no leading zeros, no spaces.
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || (digits.len() > 1 && digits.starts_with('0'))
        {
            return None;
        }
        digits.parse().ok()
    };
    let epoch = number(words.next(), "epoch=")?;
    let view = number(words.next(), "view=")?;
    if words.next().is_some() {
        return None;
    }
    Some(SignMark {
        epoch,
        view: View(view),
    })
}

fn render(m: SignMark) -> String {
    format!("{MAGIC} epoch={} view={}\n", m.epoch, m.view.0)
}

/// Read the mark at `path`: `None` if there is no file, an error if it does not parse.
pub fn read(path: &Path) -> Result<Option<SignMark>, SignMarkError> {
    let io = |action, source| SignMarkError::Io {
        file: path.to_path_buf(),
        action,
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("open", e)),
    };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, SIGN_MARK_BYTES_MAX + 1),
        &mut bytes,
    )
    .map_err(|e| io("read", e))?;
    let text = String::from_utf8_lossy(&bytes);
    match (bytes.len() as u64 <= SIGN_MARK_BYTES_MAX)
        .then(|| parse(&text))
        .flatten()
    {
        Some(m) => Ok(Some(m)),
        None => Err(SignMarkError::Parse {
            file: path.to_path_buf(),
            found: text.chars().take(SIGN_MARK_BYTES_MAX as usize).collect(),
        }),
    }
}

/// Replace the mark at `path` atomically and durably: write a temporary file beside it,
/// fsync it, rename it over the mark, fsync the directory. A crash leaves the old mark or
/// the new one, never a torn file.
pub fn write(path: &Path, mark: SignMark) -> Result<(), SignMarkError> {
    let io = |action, source| SignMarkError::Io {
        file: path.to_path_buf(),
        action,
        source,
    };
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| io("create the temporary file", e))?;
        f.write_all(render(mark).as_bytes())
            .map_err(|e| io("write the temporary file", e))?;
        f.sync_all().map_err(|e| io("sync the temporary file", e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| io("rename the temporary file", e))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("sync the directory", e))?;
    Ok(())
}

/// What the node does about signing at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartDecision {
    /// The core must not sign at or below this view (`Config::sign_floor`).
    pub floor: Option<View>,
    /// The mark to write now (none: the file is already right).
    pub write: Option<SignMark>,
    /// The database lost votes (its highest own vote is below the mark).
    pub db_behind: bool,
}

/// Decide the signing floor at start from the mark file (`mark`), the highest own vote in
/// the database for this epoch (`db_highest`, a view) and the operator's
/// `--allow-sign-below-mark` flag (`allow_below`).
///
/// - no mark: create it from the database (no floor);
/// - a mark of an older epoch: no floor (votes of another epoch cannot conflict), the mark
///   moves to this epoch;
/// - a mark of this epoch above the database's highest vote: the database lost votes; the
///   floor is the mark's view, unless `allow_below`;
/// - a mark at or below the database's highest vote: no floor (the mark catches up);
/// - a mark of a later epoch: refused.
pub fn decide(
    file: &Path,
    mark: Option<SignMark>,
    epoch: u64,
    db_highest: Option<View>,
    allow_below: bool,
) -> Result<StartDecision, SignMarkError> {
    let db = SignMark {
        epoch,
        view: db_highest.unwrap_or(View(0)),
    };
    let Some(mark) = mark else {
        return Ok(StartDecision {
            floor: None,
            write: Some(db),
            db_behind: false,
        });
    };
    if mark.epoch > epoch {
        return Err(SignMarkError::FutureEpoch {
            file: file.to_path_buf(),
            expected: epoch,
            found: mark.epoch,
        });
    }
    if mark.epoch < epoch || mark.view <= db.view {
        return Ok(StartDecision {
            floor: None,
            write: (mark != db).then_some(db),
            db_behind: false,
        });
    }
    Ok(StartDecision {
        floor: (!allow_below).then_some(mark.view),
        write: None,
        db_behind: true,
    })
}

/// How many views one write of the mark file reserves ahead of the vote that raised it:
/// the file (two fsyncs) is written once per this many views instead of once per view,
/// off the path of most votes. The database records the reservation in the same synced
/// batch as the vote, so an intact database matches the file at start and only a
/// database that lost votes (or a crash between the file write and that batch) makes the
/// node wait out at most this many views before it signs again.
pub const SIGN_MARK_RESERVE_VIEWS: u64 = 64;

/// The `Meta` key under which the database records the mark reserved with its votes
/// (16 bytes: epoch and view, big-endian).
pub const DB_MARK_KEY: &[u8] = b"consensus/sign-mark";

impl SignMark {
    /// Its 16-byte form in the database.
    pub fn to_db(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.epoch.to_be_bytes());
        b[8..].copy_from_slice(&self.view.0.to_be_bytes());
        b
    }

    /// The mark from its 16-byte database form (`None` if the value is not 16 bytes).
    pub fn from_db(bytes: &[u8]) -> Option<SignMark> {
        let b: [u8; 16] = bytes.try_into().ok()?;
        let (e, v) = b.split_at(8);
        Some(SignMark {
            epoch: u64::from_be_bytes(e.try_into().ok()?),
            view: View(u64::from_be_bytes(v.try_into().ok()?)),
        })
    }
}

/// The mark file of a running validator: written before a vote above it is acknowledged.
#[derive(Debug)]
pub struct SignMarkFile {
    path: PathBuf,
    current: SignMark,
}

impl SignMarkFile {
    /// The mark at `path`, whose content is `current`.
    pub fn new(path: PathBuf, current: SignMark) -> SignMarkFile {
        SignMarkFile { path, current }
    }

    /// The mark as last written.
    #[cfg(test)]
    pub fn current(&self) -> SignMark {
        self.current
    }

    /// A vote at `(epoch, view)` is about to be made durable and acknowledged: if it is
    /// above the mark, write a mark `SIGN_MARK_RESERVE_VIEWS` views above it first and
    /// return it (the caller records it in the database with the vote).
    pub fn raise(&mut self, epoch: u64, view: View) -> Result<Option<SignMark>, SignMarkError> {
        if (SignMark { epoch, view }) <= self.current {
            return Ok(None);
        }
        let m = SignMark {
            epoch,
            view: View(view.0.saturating_add(SIGN_MARK_RESERVE_VIEWS)),
        };
        write(&self.path, m)?;
        self.current = m;
        Ok(Some(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp_dir(name: &str) -> PathBuf {
        // The system temporary directory (never a fixed machine path).
        let d =
            std::env::temp_dir().join(format!("chancery-signmark-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    #[test]
    fn mark_round_trips_and_replaces_atomically() {
        let d = tmp_dir("round");
        let p = path_for_key(&d.join("consensus.key"));
        assert_eq!(p.file_name().unwrap(), "consensus.key.sign-mark");
        assert_eq!(read(&p).unwrap(), None);
        let a = SignMark {
            epoch: 0,
            view: View(41),
        };
        write(&p, a).unwrap();
        assert_eq!(read(&p).unwrap(), Some(a));
        let b = SignMark {
            epoch: 0,
            view: View(u64::MAX),
        };
        write(&p, b).unwrap();
        assert_eq!(read(&p).unwrap(), Some(b));
        // The temporary file is gone: the rename replaced the mark.
        let left: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            left,
            vec![std::ffi::OsString::from("consensus.key.sign-mark")]
        );
        let mut f = SignMarkFile::new(p.clone(), a);
        f.raise(0, View(40)).unwrap();
        assert_eq!(read(&p).unwrap(), Some(b), "a lower vote does not write");
        let reserved = View(42 + SIGN_MARK_RESERVE_VIEWS);
        assert_eq!(
            f.raise(0, View(42)).unwrap().map(|m| m.view),
            Some(reserved),
            "a vote above the mark reserves ahead"
        );
        assert_eq!(f.current().view, reserved);
        assert_eq!(read(&p).unwrap().unwrap().view, reserved);
        assert_eq!(
            f.raise(0, View(43)).unwrap(),
            None,
            "within the reservation"
        );
        let m = f.current();
        assert_eq!(SignMark::from_db(&m.to_db()), Some(m));
        assert_eq!(SignMark::from_db(&[1, 2, 3]), None);
    }

    #[test]
    fn torn_or_garbage_marks_are_refused() {
        let d = tmp_dir("torn");
        let p = d.join("k.sign-mark");
        for bad in [
            "",
            "chancery-sign-mark/1 epoch=0 view=12", // torn: no newline
            "chancery-sign-mark/1 epoch=0 view=\n", // torn inside a number
            "chancery-sign-mark/1 epoch=0\n",       // missing view
            "chancery-sign-mark/2 epoch=0 view=1\n", // unknown version
            "chancery-sign-mark/1 epoch=0 view=01\n", // not canonical
            "chancery-sign-mark/1 epoch=0 view=-1\n",
            "chancery-sign-mark/1 epoch=0 view=1 x\n",
            "chancery-sign-mark/1 epoch=0 view=99999999999999999999\n",
        ] {
            std::fs::write(&p, bad).unwrap();
            let e = read(&p).expect_err(bad);
            assert!(e.to_string().contains("k.sign-mark"), "names the file: {e}");
        }
        std::fs::write(&p, vec![b'7'; 4096]).unwrap();
        assert!(matches!(read(&p), Err(SignMarkError::Parse { .. })));
    }

    #[test]
    fn start_decision() {
        let f = Path::new("k.sign-mark");
        let m = |epoch, view| {
            Some(SignMark {
                epoch,
                view: View(view),
            })
        };
        // Database behind the mark: floor at the mark.
        let d = decide(f, m(0, 100), 0, Some(View(40)), false).unwrap();
        assert_eq!(d.floor, Some(View(100)));
        assert!(d.db_behind);
        assert_eq!(d.write, None);
        // A wiped database (no votes at all) is behind too.
        assert_eq!(
            decide(f, m(0, 100), 0, None, false).unwrap().floor,
            Some(View(100))
        );
        // Database at or above the mark: none; the mark catches up.
        let d = decide(f, m(0, 100), 0, Some(View(100)), false).unwrap();
        assert_eq!((d.floor, d.write), (None, None));
        let d = decide(f, m(0, 100), 0, Some(View(120)), false).unwrap();
        assert_eq!((d.floor, d.write), (None, m(0, 120)));
        // The operator's flag: none, but still reported.
        let d = decide(f, m(0, 100), 0, Some(View(40)), true).unwrap();
        assert_eq!(d.floor, None);
        assert!(d.db_behind);
        // A mark of an older epoch is no floor.
        let d = decide(f, m(0, 100), 1, Some(View(3)), false).unwrap();
        assert_eq!((d.floor, d.write), (None, m(1, 3)));
        // No mark: created from the database.
        let d = decide(f, None, 0, Some(View(7)), false).unwrap();
        assert_eq!((d.floor, d.write), (None, m(0, 7)));
        // A mark of a later epoch: refused.
        assert!(matches!(
            decide(f, m(2, 1), 1, None, false),
            Err(SignMarkError::FutureEpoch { .. })
        ));
    }
}
