//! Key files: one key per file, as JSON, naming its crypto suite.
//!
//! ```json
//! {"kind": "consensus", "suite": "ed25519-blake3", "public": "<64 hex digits>", "secret": "<64 hex digits: the 32-byte seed>"}
//! {"kind": "member", "suite": "sm2-sm3", "public": "<130 hex digits: 04||x||y>", "secret": "<64 hex digits: the scalar d>"}
//! ```
//!
//! `kind` is `member`, `consensus` or `network`; `suite` is `ed25519-blake3` (assumed when
//! absent, as in files written before suites existed) or `sm2-sm3`. A network key is
//! Ed25519 in every suite (the libp2p identity). The public key must be of the named suite. A *key file* holds the secret and must be
//! readable by its owner only (mode 0600 on Unix): [`read_key_file`] refuses anything
//! group- or world-accessible. A *public key file* has the same form without `secret`; it is
//! what an agency hands to the consortium coordinator for the genesis TOML, and it may have
//! any mode. Secrets come from the operating system's RNG and are never printed: neither
//! the error types nor the `Debug` forms here show them.

use chancery_core::crypto::SecretKey;
use chancery_core::suite::Suite;
use chancery_core::PublicKey;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

/// Largest key file accepted, in bytes (a real one is under 200).
pub const KEY_FILE_BYTES_MAX: u64 = 4096;

/// What a key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// A member (or agency admin) key that signs transactions.
    Member,
    /// A validator key that signs consensus votes.
    Consensus,
    /// A node's network (libp2p) identity.
    Network,
}

impl KeyKind {
    /// The name used in key files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Member => "member",
            KeyKind::Consensus => "consensus",
            KeyKind::Network => "network",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a key file could not be written or read.
#[derive(Debug, Error)]
pub enum KeyFileError {
    /// The file exists already; key files are never overwritten.
    #[error("{path}: already exists; refusing to overwrite a key file (remove it first if you really mean to replace the key)")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// An IO error.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is larger than a key file can be.
    #[error("{path}: {found} bytes: expected a key file of at most {max} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        max: u64,
        /// The size found.
        found: u64,
    },
    /// The file is readable or writable by others.
    #[error(
        "{path}: mode {found:o}: expected a secret key file readable by its owner only (chmod 600)"
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        found: u32,
    },
    /// The file is not a key file.
    #[error(
        "{path}: not a key file: expected JSON {{\"kind\", \"public\", \"secret\"}}: {reason}"
    )]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong (never contains secret material).
        reason: String,
    },
    /// The public key does not belong to the secret key.
    #[error(
        "{path}: public key {found} does not match the secret key (whose public key is {expected})"
    )]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The public key of the secret.
        expected: Box<PublicKey>,
        /// The public key written in the file.
        found: Box<PublicKey>,
    },
    /// A network key that is not Ed25519 (network keys are Ed25519 in every suite).
    #[error("{path}: a {found} key: expected an Ed25519 network key (the libp2p identity is Ed25519 in every suite)")]
    NotEd25519 {
        /// The file.
        path: PathBuf,
        /// The key's suite.
        found: chancery_core::suite::Suite,
    },
    /// A key of another kind was given.
    #[error("{path}: a {found} key: expected a {expected} key")]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// The kind wanted.
        expected: KeyKind,
        /// The kind in the file.
        found: KeyKind,
    },
    /// The file has no secret (it is a public key file).
    #[error("{path}: a public key file without a secret: expected a secret key file")]
    NoSecret {
        /// The file.
        path: PathBuf,
    },
    /// The OS random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Rng(String),
}

/// A key loaded from a secret key file.
#[derive(Clone)]
pub struct KeyPair {
    /// Its kind.
    pub kind: KeyKind,
    /// The secret key.
    pub secret: SecretKey,
}

impl KeyPair {
    /// The public key.
    pub fn public(&self) -> PublicKey {
        self.secret.public()
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair({}, public={})", self.kind, self.public())
    }
}

/// The JSON form. `secret` is hex text; this type is private so it is never printed.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileJson {
    kind: KeyKind,
    #[serde(default)]
    suite: Suite,
    public: PublicKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

/// How many draws [`generate_key`] makes for an SM2 scalar in `1..n-1` before it gives up:
/// a uniform 32-byte draw falls outside with probability about 2^-32, so 8 draws all
/// failing means the RNG is broken.
const SM2_DRAWS_MAX: usize = 8;

/// Draw a fresh secret key of `suite` from the operating system's RNG.
pub fn generate_key(suite: Suite) -> Result<SecretKey, KeyFileError> {
    for _ in 0..SM2_DRAWS_MAX {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(seed.as_mut()).map_err(|e| KeyFileError::Rng(e.to_string()))?;
        if let Ok(k) = SecretKey::from_secret(suite, *seed) {
            return Ok(k);
        }
    }
    Err(KeyFileError::Rng(format!(
        "{SM2_DRAWS_MAX} draws in a row were not an SM2 scalar in 1..n-1"
    )))
}

/// A network (libp2p) key: Ed25519 in every suite.
pub fn generate_network_key() -> Result<SecretKey, KeyFileError> {
    generate_key(Suite::Ed25519Blake3)
}

fn io<'a>(
    path: &'a Path,
    action: &'static str,
) -> impl FnOnce(std::io::Error) -> KeyFileError + 'a {
    move |source| KeyFileError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// Create `path` (which must not exist) with mode 0600 and write `bytes` to it.
fn create_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyFileError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            io(path, "create")(e)
        }
    })?;
    f.write_all(bytes).map_err(io(path, "write"))?;
    f.sync_all().map_err(io(path, "sync"))?;
    Ok(())
}

/// Write a secret key file (mode 0600). Refuses to overwrite an existing file.
pub fn write_key_file(path: &Path, kind: KeyKind, key: &SecretKey) -> Result<(), KeyFileError> {
    if kind == KeyKind::Network && key.suite() != Suite::Ed25519Blake3 {
        return Err(KeyFileError::NotEd25519 {
            path: path.to_path_buf(),
            found: key.suite(),
        });
    }
    // Copies of the secret are wiped when dropped.
    let seed = key.secret_bytes();
    let mut json = KeyFileJson {
        kind,
        suite: key.suite(),
        public: key.public(),
        secret: Some(hex::encode(*seed)),
    };
    let text = serde_json::to_string_pretty(&json).map_err(|e| KeyFileError::Format {
        path: path.to_path_buf(),
        reason: e.to_string(),
    });
    if let Some(s) = json.secret.as_mut() {
        s.zeroize();
    }
    let mut text = Zeroizing::new(text?);
    text.push('\n');
    create_new(path, text.as_bytes(), 0o600)
}

/// Write a public key file (no secret, mode 0644). Refuses to overwrite an existing file.
pub fn write_public_key_file(
    path: &Path,
    kind: KeyKind,
    key: &PublicKey,
) -> Result<(), KeyFileError> {
    let json = KeyFileJson {
        kind,
        suite: key.suite(),
        public: *key,
        secret: None,
    };
    let mut text = serde_json::to_string_pretty(&json).map_err(|e| KeyFileError::Format {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    text.push('\n');
    create_new(path, text.as_bytes(), 0o644)
}

fn read_json(path: &Path) -> Result<KeyFileJson, KeyFileError> {
    let f = std::fs::File::open(path).map_err(io(path, "open"))?;
    let len = f.metadata().map_err(io(path, "stat"))?.len();
    if len > KEY_FILE_BYTES_MAX {
        return Err(KeyFileError::TooLarge {
            path: path.to_path_buf(),
            max: KEY_FILE_BYTES_MAX,
            found: len,
        });
    }
    let mut text = String::new();
    f.take(KEY_FILE_BYTES_MAX)
        .read_to_string(&mut text)
        .map_err(io(path, "read"))?;
    let json: KeyFileJson = serde_json::from_str(&text).map_err(|e| KeyFileError::Format {
        path: path.to_path_buf(),
        // serde_json's messages name the field and position, never the value.
        reason: e.to_string(),
    })?;
    if json.public.suite() != json.suite {
        return Err(KeyFileError::Format {
            path: path.to_path_buf(),
            reason: format!(
                "field `public`: expected a {} key ({} bytes, as `suite` says), found a {} key",
                json.suite,
                PublicKey::len_of(json.suite),
                json.public.suite()
            ),
        });
    }
    if json.kind == KeyKind::Network && json.suite != Suite::Ed25519Blake3 {
        return Err(KeyFileError::NotEd25519 {
            path: path.to_path_buf(),
            found: json.suite,
        });
    }
    Ok(json)
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(io(path, "stat"))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions {
            path: path.to_path_buf(),
            found: mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), KeyFileError> {
    Ok(())
}

/// Read a secret key file: checks that only its owner can access it, that it holds a
/// secret, and that the public key written in it belongs to that secret.
pub fn read_key_file(path: &Path) -> Result<KeyPair, KeyFileError> {
    check_private(path)?;
    let json = read_json(path)?;
    // Copies of the secret are wiped when dropped.
    let secret_hex = Zeroizing::new(json.secret.ok_or_else(|| KeyFileError::NoSecret {
        path: path.to_path_buf(),
    })?);
    let mut seed = Zeroizing::new([0u8; 32]);
    if secret_hex.len() != 64
        || secret_hex.bytes().any(|b| b.is_ascii_uppercase())
        || hex::decode_to_slice(secret_hex.as_bytes(), seed.as_mut()).is_err()
    {
        return Err(KeyFileError::Format {
            path: path.to_path_buf(),
            reason: format!(
                "field `secret`: expected 64 lower-case hex digits, found {} characters that are not",
                secret_hex.len()
            ),
        });
    }
    let secret = SecretKey::from_secret(json.suite, *seed).map_err(|e| KeyFileError::Format {
        path: path.to_path_buf(),
        reason: format!("field `secret`: {e}"),
    })?;
    if secret.public() != json.public {
        return Err(KeyFileError::Mismatch {
            path: path.to_path_buf(),
            expected: Box::new(secret.public()),
            found: Box::new(json.public),
        });
    }
    Ok(KeyPair {
        kind: json.kind,
        secret,
    })
}

/// Read a secret key file and require its kind.
pub fn read_key_file_of_kind(path: &Path, kind: KeyKind) -> Result<KeyPair, KeyFileError> {
    let kp = read_key_file(path)?;
    if kp.kind != kind {
        return Err(KeyFileError::WrongKind {
            path: path.to_path_buf(),
            expected: kind,
            found: kp.kind,
        });
    }
    Ok(kp)
}

/// Read the public key of a public key file or of a secret key file. A secret key file is
/// read with [`read_key_file`] (so its mode and consistency are checked); a public key
/// file without `secret` may have any mode.
pub fn read_public_key(path: &Path) -> Result<(KeyKind, PublicKey), KeyFileError> {
    let json = read_json(path)?;
    if json.secret.is_some() {
        let kp = read_key_file(path)?;
        return Ok((kp.kind, kp.public()));
    }
    Ok((json.kind, json.public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.key");
        let k = generate_key(chancery_core::suite::Suite::default()).unwrap();
        write_key_file(&p, KeyKind::Consensus, &k).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let kp = read_key_file_of_kind(&p, KeyKind::Consensus).unwrap();
        assert_eq!(kp.public(), k.public());
        assert_eq!(kp.secret.seed(), k.seed());
        assert!(matches!(
            read_key_file_of_kind(&p, KeyKind::Network),
            Err(KeyFileError::WrongKind { .. })
        ));
        // The Debug form never shows the secret.
        assert!(!format!("{kp:?}").contains(&hex::encode(k.seed())));
    }

    #[test]
    fn refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.key");
        let k1 = generate_key(chancery_core::suite::Suite::default()).unwrap();
        let k2 = generate_key(chancery_core::suite::Suite::default()).unwrap();
        assert_ne!(k1.public(), k2.public());
        write_key_file(&p, KeyKind::Member, &k1).unwrap();
        let err = write_key_file(&p, KeyKind::Member, &k2).unwrap_err();
        assert!(matches!(err, KeyFileError::Exists { .. }), "{err}");
        assert!(err.to_string().contains("refusing to overwrite"));
        assert_eq!(read_key_file(&p).unwrap().public(), k1.public());
    }

    #[cfg(unix)]
    #[test]
    fn rejects_group_readable_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("n.key");
        write_key_file(
            &p,
            KeyKind::Network,
            &generate_key(chancery_core::suite::Suite::default()).unwrap(),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = read_key_file(&p).unwrap_err();
        assert!(
            matches!(err, KeyFileError::Permissions { found: 0o640, .. }),
            "{err}"
        );
    }

    #[test]
    fn rejects_mismatched_public_key_without_printing_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.key");
        let k = generate_key(chancery_core::suite::Suite::default()).unwrap();
        let other = generate_key(chancery_core::suite::Suite::default())
            .unwrap()
            .public();
        let text = format!(
            r#"{{"kind":"member","public":"{other}","secret":"{}"}}"#,
            hex::encode(k.seed())
        );
        create_new(&p, text.as_bytes(), 0o600).unwrap();
        let err = read_key_file(&p).unwrap_err();
        assert!(matches!(err, KeyFileError::Mismatch { .. }), "{err}");
        assert!(!err.to_string().contains(&hex::encode(k.seed())));
    }

    #[test]
    fn rejects_bad_secret_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.key");
        let k = generate_key(chancery_core::suite::Suite::default()).unwrap();
        let text = format!(
            r#"{{"kind":"member","public":"{}","secret":"zz"}}"#,
            k.public()
        );
        create_new(&p, text.as_bytes(), 0o600).unwrap();
        assert!(matches!(
            read_key_file(&p),
            Err(KeyFileError::Format { .. })
        ));
        let q = dir.path().join("garbage.key");
        create_new(&q, b"\x00\x01not json", 0o600).unwrap();
        assert!(matches!(
            read_key_file(&q),
            Err(KeyFileError::Format { .. })
        ));
        let big = dir.path().join("big.key");
        create_new(&big, &vec![b' '; 5000], 0o600).unwrap();
        assert!(matches!(
            read_key_file(&big),
            Err(KeyFileError::TooLarge { .. })
        ));
    }

    #[test]
    fn public_key_file_reads_public_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.pub");
        let k = generate_key(chancery_core::suite::Suite::default()).unwrap();
        write_public_key_file(&p, KeyKind::Consensus, &k.public()).unwrap();
        assert_eq!(
            read_public_key(&p).unwrap(),
            (KeyKind::Consensus, k.public())
        );
        assert!(matches!(
            read_key_file(&p),
            Err(KeyFileError::Permissions { .. }) | Err(KeyFileError::NoSecret { .. })
        ));
    }

    #[test]
    fn keys_of_each_suite_round_trip_and_name_their_suite() {
        use chancery_core::suite::Suite;
        let dir = tempfile::tempdir().unwrap();
        for suite in Suite::ALL {
            let p = dir.path().join(format!("{suite}.key"));
            let k = generate_key(suite).unwrap();
            assert_eq!(k.suite(), suite);
            write_key_file(&p, KeyKind::Member, &k).unwrap();
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(text.contains(&format!("\"suite\": \"{suite}\"")), "{text}");
            let kp = read_key_file(&p).unwrap();
            assert_eq!(kp.public(), k.public());
            assert_eq!(kp.secret.suite(), suite);
            let pubf = dir.path().join(format!("{suite}.pub"));
            write_public_key_file(&pubf, KeyKind::Member, &k.public()).unwrap();
            assert_eq!(
                read_public_key(&pubf).unwrap(),
                (KeyKind::Member, k.public())
            );
        }
        // A file from before suites (no `suite` field) is an Ed25519 key.
        let old = dir.path().join("old.key");
        let k = generate_key(Suite::Ed25519Blake3).unwrap();
        let text = format!(
            r#"{{"kind":"member","public":"{}","secret":"{}"}}"#,
            k.public(),
            hex::encode(k.seed())
        );
        create_new(&old, text.as_bytes(), 0o600).unwrap();
        assert_eq!(read_key_file(&old).unwrap().public(), k.public());
    }

    #[test]
    fn a_key_of_another_suite_than_the_file_names_is_refused() {
        use chancery_core::suite::Suite;
        let dir = tempfile::tempdir().unwrap();
        // An SM2 public key in a file that says ed25519-blake3 (or says nothing).
        let sm = generate_key(Suite::Sm2Sm3).unwrap();
        for suite_field in [r#""suite":"ed25519-blake3","#, ""] {
            let p = dir.path().join(format!("m{}.key", suite_field.len()));
            let text = format!(
                r#"{{"kind":"member",{suite_field}"public":"{}","secret":"{}"}}"#,
                sm.public(),
                hex::encode(sm.seed())
            );
            create_new(&p, text.as_bytes(), 0o600).unwrap();
            let err = read_key_file(&p).unwrap_err().to_string();
            assert!(
                err.contains("field `public`")
                    && err.contains("ed25519-blake3")
                    && err.contains("sm2-sm3"),
                "{err}"
            );
        }
        // An SM2 secret out of range is refused naming the field, without the secret.
        let p = dir.path().join("range.key");
        let text = format!(
            r#"{{"kind":"member","suite":"sm2-sm3","public":"{}","secret":"{}"}}"#,
            sm.public(),
            "ff".repeat(32)
        );
        create_new(&p, text.as_bytes(), 0o600).unwrap();
        let err = read_key_file(&p).unwrap_err().to_string();
        assert!(
            err.contains("field `secret`") && !err.contains(&"ff".repeat(32)),
            "{err}"
        );
        // A network key is Ed25519 in every suite: not written, not read.
        let p = dir.path().join("net.key");
        assert!(matches!(
            write_key_file(&p, KeyKind::Network, &sm),
            Err(KeyFileError::NotEd25519 {
                found: Suite::Sm2Sm3,
                ..
            })
        ));
        let text = format!(
            r#"{{"kind":"network","suite":"sm2-sm3","public":"{}","secret":"{}"}}"#,
            sm.public(),
            hex::encode(sm.seed())
        );
        create_new(&p, text.as_bytes(), 0o600).unwrap();
        assert!(matches!(
            read_key_file(&p),
            Err(KeyFileError::NotEd25519 {
                found: Suite::Sm2Sm3,
                ..
            })
        ));
    }
}
