//! [`Ledger::apply_checked`]: commit a finalized block whose transactions' signatures the
//! caller has already checked (catch-up verifies a fetched run of blocks ahead of
//! execution, on other cores), so that applying does not check them again.

use crate::{Applied, CheckedTx, Ledger, LedgerError};
use chancery_core::block::{Block, BlockHeader};
use chancery_core::cert::Certificate;

impl Ledger {
    /// [`Ledger::apply_by_descendant`] with the verdicts on the block's transactions
    /// given: `checked` must be what [`crate::verify_block_txs`] returned for `block.txs`
    /// (one per transaction, in order; a verdict for another transaction is refused). The
    /// block is then executed with them and committed with every check of
    /// [`Ledger::apply_by_descendant`]: certificate, links, and every root the header
    /// carries. The verdicts are trusted: the caller computes them, never a peer.
    pub fn apply_checked(
        &self,
        block: &Block,
        checked: &[CheckedTx],
        cert: &Certificate,
        descendants: &[BlockHeader],
    ) -> Result<Applied, LedgerError> {
        if checked.len() != block.txs.len() {
            return Err(LedgerError::HeaderMismatch {
                field: "verdicts (one per transaction)",
                expected: block.txs.len().to_string(),
                found: checked.len().to_string(),
            });
        }
        if let Some(i) = (0..checked.len()).find(|&i| checked[i].tx() != &block.txs[i]) {
            return Err(LedgerError::HeaderMismatch {
                field: "verdicts (one per transaction)",
                expected: format!("the verdict on transaction {i}"),
                found: format!("a verdict on transaction {}", checked[i].hash()),
            });
        }
        // Execute with the given verdicts; applying reuses this execution of this very
        // block (same height, parent, time and transactions) instead of verifying again.
        let h = &block.header;
        self.execute(checked, h.time, h.height)?;
        self.apply_by_descendant(block, cert, descendants)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::fixture::Fixture;
    use crate::testing::propose_and_apply;
    use crate::{verify_block_txs, CheckedTx, Ledger, LedgerError};
    use chancery_core::block::{Block, ReasonCode};
    use chancery_core::record::{AnchorDocument, DocumentRef, Record, RecordRef, Role};
    use chancery_core::Height;
    use chancery_storage::{FaultPlan, FaultyStore, MemStore, Store};
    use std::sync::Arc;

    fn anchor(i: u64) -> Record {
        Record::AnchorDocument(AnchorDocument {
            document: DocumentRef {
                hash: chancery_core::domain::DOCUMENT_HASH.hash(&i.to_le_bytes()),
                kind: "report".into(),
                title: format!("report {i}"),
                url: String::new(),
            },
            supports: RecordRef::None,
        })
    }

    /// Three finalized blocks of 4 anchors each (the second with a forged signature,
    /// logged as rejected), from a source ledger.
    fn chain(fx: &Fixture) -> Vec<(Block, chancery_core::cert::Certificate)> {
        let src = Ledger::open(Arc::new(MemStore::new()), &fx.genesis).unwrap();
        let key = fx.signer("mof", Role::Archivist).clone();
        let mut seq = 0;
        for b in 0..3 {
            let mut txs: Vec<_> = (0..4)
                .map(|_| {
                    seq += 1;
                    fx.tx(&key, seq - 1, anchor(seq))
                })
                .collect();
            if b == 1 {
                txs[2].signature.0[3] ^= 1;
                seq -= 1;
            }
            propose_and_apply(&src, fx, txs).unwrap();
        }
        (1..=3)
            .map(|h| src.block(Height(h)).unwrap().unwrap())
            .collect()
    }

    #[test]
    fn applying_with_verdicts_reaches_the_roots_of_applying_alone() {
        let fx = Fixture::new();
        let blocks = chain(&fx);
        let plain = Ledger::open(Arc::new(MemStore::new()), &fx.genesis).unwrap();
        let checked = Ledger::open(Arc::new(MemStore::new()), &fx.genesis).unwrap();
        for (b, c) in &blocks {
            let a = plain.apply(b, c).unwrap();
            let verdicts = verify_block_txs(&fx.genesis.chain_id(), b.txs.clone(), |_| None);
            let a2 = checked.apply_checked(b, &verdicts, c, &[]).unwrap();
            assert_eq!(a.outcomes, a2.outcomes);
            assert_eq!(plain.tip(), checked.tip());
        }
        assert_eq!(checked.tip().height, Height(3));
        let report = crate::check(checked.store().clone(), Arc::new(MemStore::new())).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
    }

    #[test]
    fn verdicts_are_used_and_must_be_for_the_blocks_transactions() {
        let fx = Fixture::new();
        let blocks = chain(&fx);
        let l = Ledger::open(Arc::new(MemStore::new()), &fx.genesis).unwrap();
        let (b, c) = &blocks[0];
        let good = verify_block_txs(&fx.genesis.chain_id(), b.txs.clone(), |_| None);
        // Too few verdicts, or in another order: refused before anything runs.
        let e = l.apply_checked(b, &good[1..], c, &[]).unwrap_err();
        assert!(matches!(e, LedgerError::HeaderMismatch { .. }), "{e}");
        let mut swapped = good.clone();
        swapped.swap(0, 1);
        let e = l.apply_checked(b, &swapped, c, &[]).unwrap_err();
        assert!(e.to_string().contains("transaction 0"), "{e}");
        // A verdict that calls a good transaction bad is taken as given (the ledger does
        // not verify again): the log then differs from the certified header's.
        let mut lying = good.clone();
        lying[1] = CheckedTx::Invalid {
            tx: Box::new(b.txs[1].clone()),
            hash: b.txs[1].hash(),
            reason: ReasonCode::BadSignature,
        };
        let e = l.apply_checked(b, &lying, c, &[]).unwrap_err();
        assert!(matches!(e, LedgerError::HeaderMismatch { .. }), "{e}");
        assert_eq!(l.tip().height, Height(0));
        l.apply_checked(b, &good, c, &[]).unwrap();
        assert_eq!(l.tip().height, Height(1));
    }

    #[test]
    fn a_crash_while_applying_with_verdicts_reopens_where_a_clean_node_is() {
        let fx = Fixture::new();
        let blocks = chain(&fx);
        let clean = Ledger::open(Arc::new(MemStore::new()), &fx.genesis).unwrap();
        for (b, c) in &blocks {
            clean.apply(b, c).unwrap();
        }
        // Write 3 (block 2; write 1 is the genesis) fails, as the process dies there.
        let mem = Arc::new(MemStore::new());
        let faulty: Arc<dyn Store> = Arc::new(FaultyStore::with_plan(
            mem.clone(),
            FaultPlan {
                fail_write: Some(3),
                crash_on_fault: true,
                ..FaultPlan::default()
            },
        ));
        let l = Ledger::open(faulty, &fx.genesis).unwrap();
        let chain_id = fx.genesis.chain_id();
        let v = |b: &Block| verify_block_txs(&chain_id, b.txs.clone(), |_| None);
        l.apply_checked(&blocks[0].0, &v(&blocks[0].0), &blocks[0].1, &[])
            .unwrap();
        assert!(l
            .apply_checked(&blocks[1].0, &v(&blocks[1].0), &blocks[1].1, &[])
            .is_err());
        drop(l);
        let store: Arc<dyn Store> = mem;
        let l = Ledger::open(store.clone(), &fx.genesis).unwrap();
        assert_eq!(l.tip().height, Height(1));
        for (b, c) in &blocks[1..] {
            l.apply_checked(b, &v(b), c, &[]).unwrap();
        }
        assert_eq!(l.tip(), clean.tip());
        for (b, _) in &blocks {
            for t in &b.txs {
                assert_eq!(l.tx(&t.hash()).unwrap(), clean.tx(&t.hash()).unwrap());
            }
        }
        let report = crate::check(store, Arc::new(MemStore::new())).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
    }
}
