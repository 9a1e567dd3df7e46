//! The node's indexer: builds the ledger's secondary indexes after the commits, off the
//! consensus path.
//!
//! A task on the main runtime waits for the driver's block events (one per committed
//! block, from consensus or catch-up) and then indexes, one chunk per blocking task
//! ([`Ledger::index_chunk`]: one not-synced batch of whole blocks, bounded by
//! `chancery_ledger::INDEX_BATCH_PUTS_MAX` puts), until it has caught up with the tip. At
//! start it catches up from the stored `indexed_height` before waiting. It never holds the
//! ledger while the driver commits (each chunk reads what is already stored), so a slow
//! index never delays a vote or a commit; queries answer as of `indexed_height` meanwhile.
//! After indexing it also writes the state tree a commit sealed for a flush
//! ([`Ledger::flush_sealed`]), for the same reason.

use chancery_api::handle::Event;
use chancery_ledger::Ledger;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

/// Run the indexer until `shutdown` turns true or the block events end.
pub fn spawn(
    ledger: Arc<Ledger>,
    mut events: broadcast::Receiver<Event>,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut flush_failures_seen = 0;
        loop {
            catch_up(&ledger, &shutdown).await;
            flush_tree(&ledger).await;
            // Failed flushes (here, or in a commit writing a seal still waiting) are
            // counted by the ledger: log them here, where the node logs.
            let t = ledger.tree_status();
            if t.flush_failures > flush_failures_seen {
                tracing::warn!(
                    failures = t.flush_failures,
                    error = t.last_flush_error.as_deref().unwrap_or(""),
                    "state-tree flushes failed; retried at the next due commit"
                );
                flush_failures_seen = t.flush_failures;
            }
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return,
                r = events.recv() => match r {
                    // Lagging behind the events loses nothing: the indexer reads the store.
                    Ok(Event::Block { .. }) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    })
}

/// Index chunk by chunk until nothing is pending (or shutdown, or an error: logged, and
/// retried after the next commit).
async fn catch_up(ledger: &Arc<Ledger>, shutdown: &watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        let l = ledger.clone();
        match tokio::task::spawn_blocking(move || l.index_chunk()).await {
            Ok(Ok(p)) => {
                if p.batches > 0 {
                    tracing::debug!(
                        indexed_height = p.indexed_height.map(|h| h.0),
                        blocks = p.blocks,
                        entries = p.entries,
                        pending = p.pending,
                        "indexed"
                    );
                }
                if p.pending == 0 || p.batches == 0 {
                    return;
                }
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "indexing failed; retrying after the next block (queries may lag meanwhile; if it repeats, stop the node and run `chancery-node reindex`)");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "the indexing task failed; retrying after the next block (if it repeats, stop the node and run `chancery-node reindex`)");
                return;
            }
        }
    }
}

/// Write the state tree sealed by a commit whose flush was due (the ledger is opened with
/// `tree_flush_background`), so that the commit itself does not write it. A failure is
/// logged and counted by the ledger; the next due commit writes the seal itself.
async fn flush_tree(ledger: &Arc<Ledger>) {
    let l = ledger.clone();
    match tokio::task::spawn_blocking(move || l.flush_sealed()).await {
        Ok(Ok(Some(h))) => tracing::debug!(height = h.0, "state tree flushed"),
        Ok(Ok(None)) => {}
        // Counted by the ledger and logged by the loop in `spawn`.
        Ok(Err(_)) => {}
        Err(e) => {
            tracing::error!(error = %e, "the state-tree flush task failed; retried with the next flush (nothing is lost: a restart replays the unflushed blocks)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_core::record::{Record, RecordRef, Role};
    use chancery_core::Height;
    use chancery_ledger::testing::fixture::Fixture;
    use chancery_ledger::testing::propose_and_apply_unindexed;
    use chancery_storage::MemStore;
    use std::time::{Duration, Instant};

    fn anchor() -> Record {
        Record::AnchorDocument(chancery_core::record::AnchorDocument {
            document: chancery_core::record::DocumentRef {
                hash: chancery_core::Digest([9; 32]),
                kind: "report".into(),
                title: "Report".into(),
                url: String::new(),
            },
            supports: RecordRef::None,
        })
    }

    /// Commit one anchor (sequence `seq`) unindexed and send its block event, as the
    /// driver does.
    fn commit(
        ledger: &Ledger,
        fx: &Fixture,
        key: &chancery_core::crypto::SecretKey,
        seq: u64,
        events: &broadcast::Sender<Event>,
    ) {
        let a = propose_and_apply_unindexed(ledger, fx, vec![fx.tx(key, seq, anchor())]).unwrap();
        events
            .send(Event::Block {
                height: a.height,
                hash: a.hash,
                tx_count: 1,
                log_size: a.first_index + 1,
            })
            .unwrap();
    }

    /// Signal shutdown and wait (deadline 10 s) for the task to end.
    async fn stop_and_join(stop: watch::Sender<bool>, task: tokio::task::JoinHandle<()>) {
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the indexer stops on shutdown")
            .unwrap();
    }

    /// Poll until the ledger's indexed height reaches `h` (deadline 10 s).
    async fn indexed(ledger: &Ledger, h: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if ledger.indexed_height().ok().flatten() >= Some(Height(h)) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await; // poll interval
        }
        false
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn catches_up_at_start_then_follows_each_commit_and_stops_on_shutdown() {
        let fx = Fixture::new();
        let ledger = Arc::new(Ledger::open(Arc::new(MemStore::new()), &fx.genesis).unwrap());
        let key = fx.signer("mof", Role::Archivist).clone();
        for seq in 0..3 {
            propose_and_apply_unindexed(&ledger, &fx, vec![fx.tx(&key, seq, anchor())]).unwrap();
        }
        assert_eq!(ledger.indexed_height().unwrap(), None);
        let (events, rx) = broadcast::channel(16);
        let (stop, stopped) = watch::channel(false);
        let task = spawn(ledger.clone(), rx, stopped);
        // At start: catches up with the blocks committed before it ran.
        assert!(indexed(&ledger, 3).await, "no catch-up at start");
        // Then each commit's event wakes it.
        for seq in 3..5 {
            commit(&ledger, &fx, &key, seq, &events);
        }
        assert!(
            indexed(&ledger, 5).await,
            "a commit's event did not wake the indexer"
        );
        let page = ledger
            .records_by_agency(&chancery_core::AgencyId("mof".into()), None, 100)
            .unwrap();
        assert_eq!(page.items.len(), 5);
        stop_and_join(stop, task).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_the_state_tree_a_commit_sealed_for_a_flush() {
        let fx = Fixture::new();
        let config = chancery_ledger::LedgerConfig {
            tree_flush_background: true,
            tree_flush_blocks: 2,
            ..Default::default()
        };
        let ledger =
            Arc::new(Ledger::open_with(Arc::new(MemStore::new()), &fx.genesis, config).unwrap());
        let key = fx.signer("mof", Role::Archivist).clone();
        let (events, rx) = broadcast::channel(16);
        let (stop, stopped) = watch::channel(false);
        let task = spawn(ledger.clone(), rx, stopped);
        for seq in 0..2 {
            commit(&ledger, &fx, &key, seq, &events);
        }
        // The commit of block 2 sealed the tree without writing it; the task writes it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while ledger.tree_status().flushed < Height(2) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await; // poll interval
        }
        assert_eq!(ledger.tree_status().flushed, Height(2));
        assert_eq!(ledger.tree_status().flush_failures, 0);
        stop_and_join(stop, task).await;
    }
}
