//! Signature checks of a block's transactions, across the machine's cores.
//!
//! [`verify_block_txs`] turns a block's transactions into [`CheckedTx`]s: taken from what
//! admission already verified, or refused as malformed, or checked in Ed25519 batches.
//! The work is cut into contiguous chunks, one per thread (at most
//! [`VerifyConfig::threads_max`], each of at least [`VerifyConfig::chunk_txs_min`]
//! transactions, so small blocks stay on the calling thread), and the verdicts are put
//! back in block order. Each verdict is the one a single serial batch gives: batch
//! verification reports exactly the bad items of any batch (`chancery_core::crypto::bad_items`),
//! so how the block is cut changes no verdict.

use crate::CheckedTx;
use chancery_core::block::ReasonCode;
use chancery_core::codec::Canonical;
use chancery_core::tx::{self, Transaction, TxError, VerifiedTx};
use chancery_core::{ChainId, TxHash};
use std::sync::{Mutex, OnceLock};

/// Most threads [`verify_block_txs_with`] ever uses, whatever the configuration says.
pub const VERIFY_THREADS_MAX: usize = 64;

/// Fewest transactions a verification thread is given by default: below this, starting a
/// thread costs more than it saves, and Ed25519 batches get less efficient.
pub const CHUNK_TXS_MIN_DEFAULT: usize = 64;

/// How [`verify_block_txs_with`] spreads the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyConfig {
    /// Most threads used for one call, the calling thread included (1 = serial; clamped
    /// to 1..=[`VERIFY_THREADS_MAX`]).
    pub threads_max: usize,
    /// Fewest transactions per thread (at least 1).
    pub chunk_txs_min: usize,
}

impl VerifyConfig {
    /// One thread: everything on the calling thread.
    pub const SERIAL: VerifyConfig = VerifyConfig {
        threads_max: 1,
        chunk_txs_min: CHUNK_TXS_MIN_DEFAULT,
    };

    /// How many chunks `n` items are cut into.
    fn chunks_for(&self, n: usize) -> usize {
        let threads = self.threads_max.clamp(1, VERIFY_THREADS_MAX);
        (n / self.chunk_txs_min.max(1)).clamp(1, threads)
    }
}

impl Default for VerifyConfig {
    /// As many threads as the machine runs in parallel (`std::thread::available_parallelism`,
    /// asked once per process; 1 if unknown).
    fn default() -> Self {
        static CORES: OnceLock<usize> = OnceLock::new();
        let cores = *CORES.get_or_init(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1)
        });
        VerifyConfig {
            threads_max: cores,
            chunk_txs_min: CHUNK_TXS_MIN_DEFAULT,
        }
    }
}

/// Check a block received from a peer: transactions already verified at admission are
/// taken from `seen` (by hash); the others are verified in Ed25519 batches, in parallel
/// across the machine's cores ([`VerifyConfig::default`]). One verdict per transaction,
/// in block order.
pub fn verify_block_txs(
    chain_id: &ChainId,
    txs: Vec<Transaction>,
    seen: impl FnMut(&TxHash) -> Option<VerifiedTx>,
) -> Vec<CheckedTx> {
    verify_block_txs_with(&VerifyConfig::default(), chain_id, txs, seen)
}

/// [`verify_block_txs`] with an explicit thread configuration. `seen` is called on the
/// calling thread, once per transaction, in order.
pub fn verify_block_txs_with(
    config: &VerifyConfig,
    chain_id: &ChainId,
    txs: Vec<Transaction>,
    mut seen: impl FnMut(&TxHash) -> Option<VerifiedTx>,
) -> Vec<CheckedTx> {
    // The hashes, in parallel: `seen` needs them, and the verdicts carry them.
    let hashes: Vec<TxHash> = par_map(config, &txs, |chunk: &[Transaction]| {
        chunk.iter().map(Transaction::hash).collect()
    });
    let mut out: Vec<Option<CheckedTx>> = Vec::with_capacity(txs.len());
    let mut todo: Vec<(usize, Transaction, TxHash)> = Vec::new();
    for (i, (tx, hash)) in txs.into_iter().zip(hashes).enumerate() {
        match seen(&hash).filter(|v| v.tx() == &tx) {
            Some(v) => out.push(Some(CheckedTx::Valid(v))),
            None => {
                out.push(None);
                todo.push((i, tx, hash));
            }
        }
    }
    let checked = par_map_owned(config, todo, |chunk| check_chunk(chain_id, chunk));
    for (i, c) in checked {
        if let Some(slot) = out.get_mut(i) {
            *slot = Some(c);
        }
    }
    out.into_iter().flatten().collect()
}

/// The verdicts of one chunk, serially: format first, then one batch for the rest.
fn check_chunk(
    chain_id: &ChainId,
    chunk: Vec<(usize, Transaction, TxHash)>,
) -> Vec<(usize, CheckedTx)> {
    let mut out: Vec<(usize, Option<CheckedTx>)> = Vec::with_capacity(chunk.len());
    let mut batch: Vec<Transaction> = Vec::with_capacity(chunk.len());
    let mut slots: Vec<(usize, TxHash)> = Vec::with_capacity(chunk.len());
    for (i, tx, hash) in chunk {
        if tx.validate().is_err() {
            out.push((
                i,
                Some(CheckedTx::Invalid {
                    tx: Box::new(tx),
                    hash,
                    reason: ReasonCode::Malformed,
                }),
            ));
        } else {
            slots.push((out.len(), hash));
            out.push((i, None));
            batch.push(tx);
        }
    }
    // `verify_batch` consumes the transactions and gives back only the good ones: the bad
    // ones are logged from a copy.
    let copy = batch.clone();
    let results = tx::verify_batch(chain_id, batch);
    for (((slot, hash), tx), r) in slots.into_iter().zip(copy).zip(results) {
        let c = match r {
            Ok(v) => CheckedTx::Valid(v),
            Err(e) => CheckedTx::Invalid {
                tx: Box::new(tx),
                hash,
                reason: reason(&e),
            },
        };
        if let Some((_, s)) = out.get_mut(slot) {
            *s = Some(c);
        }
    }
    out.into_iter()
        .filter_map(|(i, c)| c.map(|c| (i, c)))
        .collect()
}

/// The reason code a failed check is logged with.
fn reason(e: &TxError) -> ReasonCode {
    match e {
        TxError::WrongChain { .. } => ReasonCode::WrongChain,
        TxError::Signature(_) => ReasonCode::BadSignature,
        TxError::Codec(_) => ReasonCode::Malformed,
    }
}

/// `f` over contiguous chunks of `items`, the first on the calling thread and the others
/// on scoped threads; the outputs concatenated in order.
fn par_map<T: Sync, U: Send>(
    config: &VerifyConfig,
    items: &[T],
    f: impl Fn(&[T]) -> Vec<U> + Sync,
) -> Vec<U> {
    let n = config.chunks_for(items.len());
    if n <= 1 {
        return f(items);
    }
    let size = items.len().div_ceil(n);
    let parts: Vec<&[T]> = items.chunks(size).collect();
    run_parts(parts, f)
}

/// [`par_map`] over owned items (moved into the chunk that handles them).
fn par_map_owned<T: Send, U: Send>(
    config: &VerifyConfig,
    mut items: Vec<T>,
    f: impl Fn(Vec<T>) -> Vec<U> + Sync,
) -> Vec<U> {
    let n = config.chunks_for(items.len());
    if n <= 1 {
        return f(items);
    }
    let size = items.len().div_ceil(n);
    // Cut from the back, so that each cut moves only the chunk cut off.
    let mut parts: Vec<Vec<T>> = Vec::with_capacity(n);
    for k in (1..n).rev() {
        if k * size < items.len() {
            parts.push(items.split_off(k * size));
        }
    }
    parts.push(items);
    parts.reverse();
    run_parts(parts, f)
}

/// `f` over each part, in order: every part but the first on its own scoped thread, the
/// first on the calling thread. A part whose thread cannot be started (the system is out
/// of threads) runs on the calling thread too; a panic in a thread (a bug, never an input)
/// is passed on.
fn run_parts<P: Send, U: Send>(parts: Vec<P>, f: impl Fn(P) -> Vec<U> + Sync) -> Vec<U> {
    // Each part sits in a slot that its thread empties, or the calling thread if the
    // thread did not start.
    let slots: Vec<Mutex<Option<P>>> = parts.into_iter().map(|p| Mutex::new(Some(p))).collect();
    let take = |slot: &Mutex<Option<P>>| slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    std::thread::scope(|s| {
        let (f, take) = (&f, &take);
        let handles: Vec<_> = slots
            .iter()
            .skip(1)
            .map(|slot| {
                std::thread::Builder::new()
                    // Named for profiles (`chancery bench --profile`).
                    .name("verify-block".into())
                    .spawn_scoped(s, move || take(slot).map(f).unwrap_or_default())
                    .ok()
            })
            .collect();
        let mut out = slots.first().and_then(take).map(f).unwrap_or_default();
        for (slot, h) in slots.iter().skip(1).zip(handles) {
            let part = match h.map(|h| h.join()) {
                Some(Ok(v)) => v,
                Some(Err(e)) => std::panic::resume_unwind(e),
                None => take(slot).map(f).unwrap_or_default(),
            };
            out.extend(part);
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture::Fixture;
    use chancery_core::record::{AnchorDocument, DocumentRef, Record, RecordRef, Role};
    use chancery_core::tx::TxBody;
    use std::collections::BTreeMap;

    fn anchor(title: &str) -> Record {
        Record::AnchorDocument(AnchorDocument {
            document: DocumentRef {
                hash: chancery_core::domain::DOCUMENT_HASH.hash(title.as_bytes()),
                kind: "report".into(),
                title: title.into(),
                url: String::new(),
            },
            supports: RecordRef::None,
        })
    }

    /// What a verdict says: the transaction, its hash, and the reason if refused.
    fn view(c: &CheckedTx) -> (Transaction, TxHash, Option<ReasonCode>) {
        let reason = match c {
            CheckedTx::Valid(_) => None,
            CheckedTx::Invalid { reason, .. } => Some(*reason),
        };
        (c.tx().clone(), c.hash(), reason)
    }

    /// 300 transactions; bad ones planted at the chunk boundaries of 2, 3 and 4 threads
    /// (150; 100, 200; 75, 150, 225), at both ends, and a few elsewhere. Returns the
    /// transactions and the reason each bad one must get.
    fn block(fx: &Fixture) -> (Vec<Transaction>, BTreeMap<usize, ReasonCode>) {
        let key = fx.signer("mof", Role::Archivist);
        let mut txs: Vec<Transaction> = (0..300)
            .map(|i| fx.tx(key, i, anchor(&format!("report {i}"))))
            .collect();
        let mut planted = BTreeMap::new();
        for i in [0, 74, 99, 149, 200, 299] {
            txs[i].signature.0[7] ^= 1;
            planted.insert(i, ReasonCode::BadSignature);
        }
        for i in [75, 101, 224] {
            // Signed, but for another chain.
            let mut body = txs[i].body.clone();
            body.chain_id = chancery_core::domain::DOCUMENT_HASH.hash(b"another chain");
            txs[i] = Transaction::sign(body, key);
            planted.insert(i, ReasonCode::WrongChain);
        }
        for i in [100, 150, 225, 298] {
            // Well signed, but the record breaks its format rules (empty title).
            txs[i] = fx.tx(key, i as u64, anchor(""));
            planted.insert(i, ReasonCode::Malformed);
        }
        // A signer key that is not a curve point: a bad signature too.
        let mut body: TxBody = txs[151].body.clone();
        body.signer = chancery_core::PublicKey::Ed25519([0xff; 32]);
        txs[151] = Transaction {
            body,
            signature: txs[151].signature,
        };
        planted.insert(151, ReasonCode::BadSignature);
        (txs, planted)
    }

    #[test]
    fn parallel_verdicts_are_the_serial_ones_in_block_order() {
        let fx = Fixture::new();
        let chain = fx.genesis.chain_id();
        let (txs, planted) = block(&fx);
        let serial = verify_block_txs_with(&VerifyConfig::SERIAL, &chain, txs.clone(), |_| None);
        assert_eq!(serial.len(), txs.len());
        for (i, c) in serial.iter().enumerate() {
            assert_eq!(c.tx(), &txs[i], "verdict {i} is for another transaction");
            assert_eq!(view(c).2, planted.get(&i).copied(), "verdict {i}");
        }
        let want: Vec<_> = serial.iter().map(view).collect();
        for threads in [2, 3, 4, 7] {
            let config = VerifyConfig {
                threads_max: threads,
                chunk_txs_min: 1,
            };
            assert_eq!(config.chunks_for(txs.len()), threads);
            let got = verify_block_txs_with(&config, &chain, txs.clone(), |_| None);
            let got: Vec<_> = got.iter().map(view).collect();
            assert_eq!(got, want, "{threads} threads");
        }
        // The default configuration too.
        let got: Vec<_> = verify_block_txs(&chain, txs.clone(), |_| None)
            .iter()
            .map(view)
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn admitted_transactions_are_taken_from_seen_and_the_rest_checked_in_order() {
        let fx = Fixture::new();
        let chain = fx.genesis.chain_id();
        let (txs, planted) = block(&fx);
        // Admission verified every other good transaction.
        let admitted: BTreeMap<TxHash, VerifiedTx> = txs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 0 && !planted.contains_key(i))
            .map(|(_, t)| {
                let v = t.clone().verify(&chain).unwrap();
                (v.hash(), v)
            })
            .collect();
        let mut asked = Vec::new();
        let config = VerifyConfig {
            threads_max: 4,
            chunk_txs_min: 1,
        };
        let got = verify_block_txs_with(&config, &chain, txs.clone(), |h| {
            asked.push(*h);
            admitted.get(h).cloned()
        });
        let hashes: Vec<TxHash> = txs.iter().map(Transaction::hash).collect();
        assert_eq!(
            asked, hashes,
            "seen is asked once per transaction, in order"
        );
        let want: Vec<_> =
            verify_block_txs_with(&VerifyConfig::SERIAL, &chain, txs.clone(), |_| None)
                .iter()
                .map(view)
                .collect();
        let got: Vec<_> = got.iter().map(view).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn small_blocks_stay_on_the_calling_thread_and_threads_are_bounded() {
        let c = VerifyConfig {
            threads_max: 4,
            chunk_txs_min: 64,
        };
        assert_eq!(c.chunks_for(0), 1);
        assert_eq!(c.chunks_for(127), 1);
        assert_eq!(c.chunks_for(128), 2);
        assert_eq!(c.chunks_for(10_000), 4);
        let wild = VerifyConfig {
            threads_max: 1_000,
            chunk_txs_min: 0,
        };
        assert_eq!(wild.chunks_for(10_000), VERIFY_THREADS_MAX);
        assert_eq!(VerifyConfig::SERIAL.chunks_for(10_000), 1);
        assert!(VerifyConfig::default().threads_max >= 1);
    }
}
