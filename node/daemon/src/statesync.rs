//! State sync (issue 19, phase 2, the fetching side): a new node with only the genesis
//! installs the latest snapshot that untrusted sources serve, verifying everything, and
//! replaces a source that serves a bad piece.
//!
//! The order of trust: the epoch chain from the genesis (`VerifiedEpochs`) proves the set
//! of the snapshot's epoch; that set verifies the checkpoint of the snapshot's height; the
//! checkpoint verifies the manifest; the manifest verifies every state chunk and log piece
//! (`chancery_core::snapshot`). A source whose answer fails a check is dropped for the rest
//! of the sync and named in the report; its piece is asked of the next source. The pieces
//! go into an empty store through [`chancery_ledger::SnapshotInstaller`]; then
//! `Ledger::open` starts at the snapshot's height and block sync follows the chain.
//!
//! Sources are behind [`SnapshotSource`]: a peer over the network in the node, a ledger in
//! the tests. Not wired into `chancery-node start` yet (docs/ledger.md, "Snapshots").

use chancery_core::checkpoint::Checkpoint;
use chancery_core::epoch::{EpochLink, VerifiedEpochs};
use chancery_core::genesis::Genesis;
use chancery_core::snapshot::{
    verify_chunk, verify_log_piece, LogPiece, SnapshotChunk, SnapshotManifest,
};
use chancery_core::{Epoch, Height};
use chancery_ledger::{InstallError, SnapshotInstaller};
use chancery_storage::Store;
use std::sync::Arc;

/// Most sources one sync uses.
pub const SOURCES_MAX: usize = 64;

/// What a source of snapshots answers. Every answer is untrusted.
pub trait SnapshotSource {
    /// A name for logs and the report.
    fn name(&self) -> String;
    /// The checkpoint of the snapshot it offers (a header with its own certificate).
    fn checkpoint(&self) -> Result<Checkpoint, String>;
    /// The epoch links of epochs `0..epoch` (the chain that proves `epoch`'s set).
    fn epoch_links(&self, epoch: Epoch) -> Result<Vec<EpochLink>, String>;
    /// The manifest of the snapshot at `height`.
    fn manifest(&self, height: Height) -> Result<SnapshotManifest, String>;
    /// State chunk `index` of the snapshot at `height`.
    fn chunk(&self, height: Height, index: u32) -> Result<SnapshotChunk, String>;
    /// Log piece `index` of the snapshot at `height`.
    fn log_piece(&self, height: Height, index: u64) -> Result<LogPiece, String>;
}

/// Why a state sync failed.
#[derive(Debug, thiserror::Error)]
pub enum StateSyncError {
    /// No source (left) that answers correctly.
    #[error("no source served a verifiable {what}: {reasons}")]
    NoSource {
        /// What was asked.
        what: String,
        /// Each dropped source and why.
        reasons: String,
    },
    /// More sources than one sync uses.
    #[error("{found} sources, at most {max}")]
    TooManySources {
        /// The limit.
        max: usize,
        /// Given.
        found: usize,
    },
    /// Installing failed (this node's store, or a store that is not empty).
    #[error("installing the snapshot: {0}")]
    Install(#[from] InstallError),
}

/// What a state sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateSyncReport {
    /// The height installed.
    pub height: Height,
    /// State chunks installed.
    pub chunks: u32,
    /// Log pieces installed.
    pub log_pieces: u64,
    /// Sources dropped for a bad answer, with the reason.
    pub dropped: Vec<(String, String)>,
}

/// The sources still trusted enough to ask, in turn, and the ones dropped.
struct Rotation<'a> {
    sources: Vec<&'a dyn SnapshotSource>,
    next: usize,
    dropped: Vec<(String, String)>,
}

impl<'a> Rotation<'a> {
    /// Ask sources in turn until one answers `ask` with something `check` accepts; a
    /// source that fails either is dropped (and named). `None` when none is left.
    fn first_good<T, V>(
        &mut self,
        ask: impl Fn(&dyn SnapshotSource) -> Result<T, String>,
        check: impl Fn(T) -> Result<V, String>,
    ) -> Option<V> {
        while !self.sources.is_empty() {
            let i = self.next % self.sources.len();
            let s = self.sources[i];
            match ask(s).and_then(&check) {
                Ok(v) => {
                    // Spread the load: the next piece goes to the next source.
                    self.next = i + 1;
                    return Some(v);
                }
                Err(why) => {
                    self.dropped.push((s.name(), why));
                    self.sources.remove(i);
                }
            }
        }
        None
    }

    fn none_left(&self, what: String) -> StateSyncError {
        StateSyncError::NoSource {
            what,
            reasons: self
                .dropped
                .iter()
                .map(|(n, w)| format!("{n}: {w}"))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

/// Install, into the empty `store`, the snapshot the first good source offers, verified
/// from `genesis`. The snapshot and its chain come from one source; chunks and pieces from
/// any (all are checked against the one verified manifest).
pub fn state_sync(
    genesis: &Genesis,
    store: Arc<dyn Store>,
    sources: &[&dyn SnapshotSource],
) -> Result<StateSyncReport, StateSyncError> {
    if sources.len() > SOURCES_MAX {
        return Err(StateSyncError::TooManySources {
            max: SOURCES_MAX,
            found: sources.len(),
        });
    }
    let mut rot = Rotation {
        sources: sources.to_vec(),
        next: 0,
        dropped: Vec::new(),
    };
    let manifest = rot
        .first_good(
            |s| {
                let cp = s.checkpoint()?;
                let links = s.epoch_links(cp.header.epoch)?;
                let manifest = s.manifest(cp.header.height)?;
                Ok((cp, links, manifest))
            },
            |(cp, links, manifest)| {
                let epochs = VerifiedEpochs::verify(genesis, &links)
                    .map_err(|e| format!("epoch chain: {e}"))?;
                let vcp = epochs
                    .verify_checkpoint(&cp)
                    .map_err(|e| format!("checkpoint: {e}"))?;
                manifest.verify(&vcp).map_err(|e| format!("manifest: {e}"))
            },
        )
        .ok_or_else(|| rot.none_left("snapshot manifest".into()))?;
    let m = manifest.manifest().clone();
    let h = m.height;
    let mut installer = SnapshotInstaller::new(store, genesis, manifest.clone())?;
    for i in 0..m.chunk_count {
        let chunk = rot
            .first_good(
                |s| s.chunk(h, i),
                |c| verify_chunk(&manifest, c).map_err(|e| e.to_string()),
            )
            .ok_or_else(|| rot.none_left(format!("state chunk {i} of height {h}")))?;
        installer.add_chunk(chunk)?;
    }
    for k in 0..m.log_piece_count {
        let piece = rot
            .first_good(
                |s| s.log_piece(h, k),
                |p| verify_log_piece(&manifest, p).map_err(|e| e.to_string()),
            )
            .ok_or_else(|| rot.none_left(format!("log piece {k} of height {h}")))?;
        installer.add_log_piece(piece)?;
    }
    let height = installer.finish()?;
    Ok(StateSyncReport {
        height,
        chunks: m.chunk_count,
        log_pieces: m.log_piece_count,
        dropped: rot.dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_core::record::Role;
    use chancery_ledger::testing::fixture::{anchor, Fixture};
    use chancery_ledger::testing::propose_and_apply;
    use chancery_ledger::{Ledger, LedgerConfig};
    use chancery_storage::MemStore;

    /// An honest source: a ledger.
    struct Honest<'a>(&'a Ledger);

    impl SnapshotSource for Honest<'_> {
        fn name(&self) -> String {
            "honest".into()
        }
        fn checkpoint(&self) -> Result<Checkpoint, String> {
            self.0
                .latest_checkpoint()
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "no block yet".to_string())
        }
        fn epoch_links(&self, epoch: Epoch) -> Result<Vec<EpochLink>, String> {
            self.0.epoch_links(epoch).map_err(|e| e.to_string())
        }
        fn manifest(&self, height: Height) -> Result<SnapshotManifest, String> {
            self.0.snapshot_manifest(height).map_err(|e| e.to_string())
        }
        fn chunk(&self, height: Height, index: u32) -> Result<SnapshotChunk, String> {
            self.0
                .snapshot_chunk(height, index)
                .map_err(|e| e.to_string())
        }
        fn log_piece(&self, height: Height, index: u64) -> Result<LogPiece, String> {
            self.0
                .snapshot_log_piece(height, index)
                .map_err(|e| e.to_string())
        }
    }

    /// A Byzantine source: the honest answers, with a state value or a log entry changed
    /// (a leaf of every chunk that has one; the first entry of every piece).
    struct Liar<'a> {
        honest: Honest<'a>,
        chunks: bool,
        log: bool,
    }

    impl SnapshotSource for Liar<'_> {
        fn name(&self) -> String {
            "liar".into()
        }
        fn checkpoint(&self) -> Result<Checkpoint, String> {
            self.honest.checkpoint()
        }
        fn epoch_links(&self, epoch: Epoch) -> Result<Vec<EpochLink>, String> {
            self.honest.epoch_links(epoch)
        }
        fn manifest(&self, height: Height) -> Result<SnapshotManifest, String> {
            self.honest.manifest(height)
        }
        fn chunk(&self, height: Height, index: u32) -> Result<SnapshotChunk, String> {
            let mut c = self.honest.chunk(height, index)?;
            if self.chunks {
                if let Some(l) = c.leaves.first_mut() {
                    l.value = chancery_core::state::StateValue::Seq(chancery_core::Seq(999_999));
                }
            }
            Ok(c)
        }
        fn log_piece(&self, height: Height, index: u64) -> Result<LogPiece, String> {
            let mut p = self.honest.log_piece(height, index)?;
            if self.log {
                if let Some(e) = p.entries.first_mut() {
                    e.time = chancery_core::TimestampMs(e.time.0 + 1);
                }
            }
            Ok(p)
        }
    }

    /// A ledger of a few hundred anchors over `blocks` blocks.
    fn source(fx: &Fixture, blocks: u64) -> Ledger {
        let l = Ledger::open_with(
            Arc::new(MemStore::new()),
            &fx.genesis,
            LedgerConfig {
                snapshot_prefix_bits_min: 4,
                ..LedgerConfig::default()
            },
        )
        .unwrap();
        let key = fx.signer("mof", Role::Archivist).clone();
        let mut seq = 0;
        for b in 0..blocks {
            let txs = (0..40)
                .map(|i| {
                    seq += 1;
                    fx.tx(&key, seq - 1, anchor(&format!("{b}-{i}")))
                })
                .collect();
            propose_and_apply(&l, fx, txs).unwrap();
        }
        l
    }

    #[test]
    fn a_snapshot_installs_from_honest_sources_and_liars_are_dropped_and_named() {
        let fx = Fixture::new();
        let src = source(&fx, 8);
        let honest = Honest(&src);
        let liar = Liar {
            honest: Honest(&src),
            chunks: true,
            log: false,
        };
        let log_liar = Liar {
            honest: Honest(&src),
            chunks: false,
            log: true,
        };
        // The liars come first: each is caught at its first bad piece and replaced.
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let report = state_sync(
            &fx.genesis,
            store.clone(),
            &[&liar as &dyn SnapshotSource, &log_liar, &honest],
        )
        .unwrap();
        assert_eq!(report.height, src.tip().height);
        assert!(report.chunks >= 16 && report.log_pieces >= 1, "{report:?}");
        let names: Vec<&str> = report.dropped.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["liar", "liar"], "{:?}", report.dropped);
        let installed = Ledger::open(store, &fx.genesis).unwrap();
        assert_eq!(installed.tip(), src.tip());
    }

    #[test]
    fn with_only_liars_the_sync_fails_naming_the_piece_and_each_reason() {
        let fx = Fixture::new();
        let src = source(&fx, 3);
        let liar = Liar {
            honest: Honest(&src),
            chunks: true,
            log: true,
        };
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let e = state_sync(&fx.genesis, store, &[&liar as &dyn SnapshotSource]).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("state chunk") && text.contains("liar:"),
            "{text}"
        );
        // A source whose chain is not the genesis' is refused at the manifest.
        let mut other = Fixture::new();
        other.genesis.chain_name = "another chain".into();
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let e = state_sync(
            &other.genesis,
            store,
            &[&Honest(&src) as &dyn SnapshotSource],
        )
        .unwrap_err();
        assert!(e.to_string().contains("snapshot manifest"), "{e}");
    }
}
