//! Proofs served to clients: log inclusion and consistency proofs computed from the stored
//! log tiles (`Column::LogTree`, see `logtree.rs`; read with `chancery_tlog::TileReader`,
//! O(log n) tiles per proof), checkpoints (a header with
//! the finalization certificate over it), receipts, and state proofs paired with the
//! checkpoint whose state root they are proven against.
//!
//! Every proof verifies with the kernel alone (`chancery_core::merkle`,
//! `chancery_core::checkpoint`, `chancery_core::receipt`, `chancery_core::state`), given
//! the genesis document.
//!
//! A block finalized together with a descendant (Simplex finalizes ancestors) is stored
//! with the descendant's certificate, which does not sign its header. Such a block's
//! *certifying checkpoint* is the descendant's header with that certificate: it commits to
//! the block through the log (a larger size) and the parent links. [`Ledger::checkpoint`]
//! therefore answers with the checkpoint that certifies a height, whose header may be
//! higher; callers read the actual height from the header.

use crate::schema;
use crate::{corrupt, decode_at, logtree, Ledger, LedgerError};
use chancery_core::block::BlockHeader;
use chancery_core::cert::Certificate;
use chancery_core::checkpoint::Checkpoint;
use chancery_core::merkle::{ProofError, SuiteLogHasher};
use chancery_core::receipt::Receipt;
use chancery_core::state::{StateKey, StateProof};
use chancery_core::{Digest, Height, TxHash};
use chancery_storage::Column;
use chancery_tlog::{TileReader, TlogError};
use thiserror::Error;

/// How many later heights are searched for the block a descendant's certificate signs.
pub const DESCENDANT_SEARCH_MAX: u64 = 64;

/// Why a proof cannot be given.
#[derive(Debug, Error)]
pub enum ProofRequestError {
    /// Reading the ledger failed (storage, corruption, or a height not applied).
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A log size larger than the log.
    #[error("log size {requested} requested, but the log has {size} entries")]
    SizeBeyondLog {
        /// Requested size.
        requested: u64,
        /// Current log size.
        size: u64,
    },
    /// The request is not a valid proof request (index out of range, sizes reversed,
    /// consistency from size 0).
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// No checkpoint certifies this height (height 0, or a block whose certifying
    /// descendant is not stored yet).
    #[error("no checkpoint certifies height {height} yet: {why}")]
    NotCertified {
        /// Height asked for.
        height: Height,
        /// Why.
        why: &'static str,
    },
}

/// A log-tree error as a proof-request error: storage and corruption are the ledger's
/// errors, a size beyond the log and a bad request keep their own variants.
fn from_tlog(e: TlogError) -> ProofRequestError {
    match e {
        TlogError::Store(s) => ProofRequestError::Ledger(s.into()),
        TlogError::SizeBeyondTree { requested, size } => {
            ProofRequestError::SizeBeyondLog { requested, size }
        }
        TlogError::Proof(p) => ProofRequestError::Proof(p),
        e @ (TlogError::MissingTile { .. }
        | TlogError::TileTooShort { .. }
        | TlogError::CorruptTile { .. }
        | TlogError::CorruptKey { .. }
        | TlogError::AppendTooLarge { .. }) => ProofRequestError::Ledger(logtree::tlog_corrupt(e)),
    }
}

impl Ledger {
    /// The stored log tree (`chancery-tlog`, the same `Column::LogTree` tiles the ledger
    /// writes) at the current log size, for one proof: nothing is read until the proof,
    /// and the ledger's tile cache (tiles only grow, so its entries stay true) is shared.
    fn log_tree(
        &self,
    ) -> Result<TileReader<dyn chancery_storage::Store, SuiteLogHasher>, ProofRequestError> {
        Ok(TileReader::with_cache(
            self.store.clone(),
            SuiteLogHasher(self.genesis.crypto),
            self.tip().log_size,
            self.log_tiles.clone(),
        ))
    }

    fn check_log_size(&self, size: u64) -> Result<(), ProofRequestError> {
        let have = self.tip().log_size;
        if size > have {
            return Err(ProofRequestError::SizeBeyondLog {
                requested: size,
                size: have,
            });
        }
        Ok(())
    }

    /// Inclusion proof (bottom-up, RFC 6962 `PATH`) of log entry `index` in the log of
    /// `size` entries; `index < size <= ` the current log size. Reads O(log n) stored log
    /// tiles.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Digest>, ProofRequestError> {
        self.check_log_size(size)?;
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size }.into());
        }
        self.log_tree()?
            .inclusion_proof(index, size)
            .map_err(from_tlog)
    }

    /// Consistency proof (RFC 6962 `PROOF`) from the log of `first` entries to the log of
    /// `second` entries; `0 < first <= second <= ` the current log size (equal sizes give
    /// an empty proof).
    pub fn consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Vec<Digest>, ProofRequestError> {
        self.check_log_size(second)?;
        if first > second {
            return Err(ProofError::SizesReversed {
                size1: first,
                size2: second,
            }
            .into());
        }
        if first == 0 {
            return Err(ProofError::EmptyOldTree.into());
        }
        self.log_tree()?
            .consistency_proof(first, second)
            .map_err(from_tlog)
    }

    /// The canonical bytes of log entry `index` exactly as stored (the leaf's data).
    pub fn log_entry_bytes(&self, index: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.store.get(Column::Log, &schema::be(index))?)
    }

    /// The block header at `height`, and its stored certificate, as stored.
    fn header_and_cert(&self, height: Height) -> Result<(BlockHeader, Certificate), LedgerError> {
        let last = self.tip().height;
        if height == Height(0) || height > last {
            return Err(LedgerError::NoSuchHeight {
                found: height,
                last,
            });
        }
        let k = schema::be(height.0);
        let sb = self
            .stored_block(height)?
            .ok_or_else(|| corrupt(Column::Blocks, &k, "missing block"))?;
        let c = self
            .store
            .get(Column::Certs, &k)?
            .ok_or_else(|| corrupt(Column::Certs, &k, "missing certificate"))?;
        Ok((sb.header, decode_at(self.suite(), Column::Certs, &k, &c)?))
    }

    /// The checkpoint certifying the block at `height`: its own header and certificate, or,
    /// for a block finalized by a descendant's certificate, the first later block that has
    /// its own certificate (so `header.height >= height`): the descendant the certificate
    /// signs, or, for a boundary finalized through suffix blocks that are never applied
    /// (docs/governance.md), the first block of the next epochs with its own certificate.
    /// The certificate is not re-verified here; clients verify it against the genesis.
    pub fn checkpoint(&self, height: Height) -> Result<Checkpoint, ProofRequestError> {
        if height == Height(0) {
            return Err(ProofRequestError::NotCertified {
                height,
                why: "height 0 is the genesis, which no certificate signs",
            });
        }
        let last = self.tip().height;
        let mut h = height;
        for _ in 0..=DESCENDANT_SEARCH_MAX {
            if h > last && h > height {
                break;
            }
            // `NoSuchHeight` for a `height` above the tip.
            let (header, certificate) = self.header_and_cert(h)?;
            if certificate.block == header.hash(self.genesis.crypto) {
                return Ok(Checkpoint {
                    header,
                    certificate,
                });
            }
            h = h.next();
        }
        Err(ProofRequestError::NotCertified {
            height,
            why: "no block from it on carries its own certificate yet",
        })
    }

    /// The checkpoint of the highest block that has its own certificate, or `None` before
    /// the first block. Looks back at most [`DESCENDANT_SEARCH_MAX`] blocks from the tip.
    pub fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, ProofRequestError> {
        let tip = self.tip().height;
        let mut h = tip;
        for _ in 0..DESCENDANT_SEARCH_MAX {
            if h == Height(0) {
                return Ok(None);
            }
            let (header, certificate) = self.header_and_cert(h)?;
            if certificate.block == header.hash(self.genesis.crypto) {
                return Ok(Some(Checkpoint {
                    header,
                    certificate,
                }));
            }
            h = Height(h.0 - 1);
        }
        Err(ProofRequestError::NotCertified {
            height: tip,
            why: "none of the last blocks carries its own certificate",
        })
    }

    /// The receipt of an applied or rejected transaction: its log entry, its inclusion
    /// proof, the checkpoint certifying its block (so the same transaction always gets
    /// the same receipt) and, for a checkpoint of epoch `e > 0`, the `e` links of the epoch
    /// chain that prove its validator set from the genesis (a v2 receipt). `None` if the
    /// transaction is not in the log.
    pub fn receipt(&self, hash: &TxHash) -> Result<Option<Receipt>, ProofRequestError> {
        let Some(rec) = self.tx(hash)? else {
            return Ok(None);
        };
        // A node installed from a snapshot holds the whole log but no block below its
        // first height: an older entry is proven in the log of the first height's
        // checkpoint (a receipt's checkpoint may be any one at or after the entry).
        let cp = self.checkpoint(rec.entry.height.max(self.first_height()))?;
        let proof = self.inclusion_proof(rec.index, cp.header.log_size)?;
        let links = self.epoch_links(cp.header.epoch)?;
        Ok(Some(
            Receipt::new(&rec.entry, rec.index, &proof, &cp).with_epochs(&links),
        ))
    }

    /// A proof of `key`'s value (or absence) against the state root of a checkpoint, with
    /// that checkpoint: at `height` (the latest checkpoint if `None`). A block finalized by
    /// a descendant is proven at its certifying descendant's height, which is the
    /// checkpoint's header height.
    pub fn state_proof(
        &self,
        key: &StateKey,
        height: Option<Height>,
    ) -> Result<(StateProof, Checkpoint), ProofRequestError> {
        let cp = match height {
            Some(h) => self.checkpoint(h)?,
            None => self
                .latest_checkpoint()?
                .ok_or(ProofRequestError::NotCertified {
                    height: Height(0),
                    why: "no block has been finalized yet",
                })?,
        };
        let proof = self.prove(key, cp.header.height)?;
        Ok((proof, cp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture::Fixture;
    use crate::testing::propose_and_apply;
    use chancery_core::merkle::{
        self, consistency_proof_with, inclusion_proof_with, verify_consistency, verify_inclusion,
        Blake3Hasher,
    };
    use chancery_core::record::{
        AcquisitionMethod, FundingSource, Record, RegisterAsset, Restricted, Role,
    };
    use chancery_core::state::{verify_state_proof, StateValue};
    use chancery_core::{AgencyId, Amount, Currency, Date};
    use chancery_storage::MemStore;
    use std::sync::Arc;

    fn asset(id: &str, agency: &str) -> Record {
        Record::RegisterAsset(RegisterAsset {
            asset_id: id.into(),
            category: "A02010104".into(),
            name: "laptop".into(),
            spec_model: "x".into(),
            quantity: 1,
            unit: "台".into(),
            acquisition_method: AcquisitionMethod::Purchase,
            acquisition_date: Date::new(2026, 1, 2).unwrap(),
            original_value: Amount {
                minor: 10_000,
                currency: Currency::CNY,
            },
            funding_source: FundingSource::FiscalAppropriation,
            custodian: AgencyId(agency.into()),
            location: Restricted::seal(
                chancery_core::suite::Suite::default(),
                &[7; 32],
                &"room 1".to_string(),
            ),
            documents: vec![],
        })
    }

    /// A ledger with `blocks` blocks of 1..=5 asset registrations each.
    fn ledger(blocks: usize) -> (Fixture, Ledger, Vec<TxHash>) {
        let fx = Fixture::new();
        let l = Ledger::open(Arc::new(MemStore::new()), &fx.genesis).unwrap();
        let key = fx.signer("mof", Role::AssetOfficer).clone();
        let mut seq = 0;
        let mut hashes = Vec::new();
        for b in 0..blocks {
            let mut txs = Vec::new();
            for _ in 0..(b % 5 + 1) {
                let t = fx.tx(&key, seq, asset(&format!("A{seq}"), "mof"));
                hashes.push(t.hash());
                txs.push(t);
                seq += 1;
            }
            propose_and_apply(&l, &fx, txs).unwrap();
        }
        (fx, l, hashes)
    }

    fn leaves(l: &Ledger, n: u64) -> Vec<Digest> {
        (0..n)
            .map(|i| {
                merkle::leaf_hash(
                    chancery_core::suite::Suite::default(),
                    &l.log_entry_bytes(i).unwrap().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn inclusion_and_consistency_proofs_match_the_kernel_and_verify() {
        let (_fx, l, _) = ledger(9);
        let n = l.tip().log_size;
        assert_eq!(n, 1 + 2 + 3 + 4 + 5 + 1 + 2 + 3 + 4);
        let all = leaves(&l, n);
        for size in 1..=n {
            let root = merkle::root(
                chancery_core::suite::Suite::default(),
                &all[..size as usize],
            );
            for i in 0..size {
                let p = l.inclusion_proof(i, size).unwrap();
                let want = inclusion_proof_with(&Blake3Hasher, &all[..size as usize], i).unwrap();
                assert_eq!(p, want, "index {i} size {size}");
                verify_inclusion(
                    chancery_core::suite::Suite::default(),
                    i,
                    size,
                    &all[i as usize],
                    &p,
                    &root,
                )
                .unwrap();
                if let Some(first) = p.first() {
                    let mut bad = p.clone();
                    bad[0] =
                        merkle::node_hash(chancery_core::suite::Suite::default(), first, first);
                    assert!(verify_inclusion(
                        chancery_core::suite::Suite::default(),
                        i,
                        size,
                        &all[i as usize],
                        &bad,
                        &root
                    )
                    .is_err());
                }
            }
            for first in 1..=size {
                let p = l.consistency_proof(first, size).unwrap();
                let want =
                    consistency_proof_with(&Blake3Hasher, &all[..size as usize], first).unwrap();
                assert_eq!(p, want, "{first} -> {size}");
                let r1 = merkle::root(
                    chancery_core::suite::Suite::default(),
                    &all[..first as usize],
                );
                verify_consistency(
                    chancery_core::suite::Suite::default(),
                    first,
                    size,
                    &p,
                    &r1,
                    &root,
                )
                .unwrap();
                if let Some(last) = p.last() {
                    let mut bad = p.clone();
                    *bad.last_mut().unwrap() =
                        merkle::node_hash(chancery_core::suite::Suite::default(), last, last);
                    assert!(verify_consistency(
                        chancery_core::suite::Suite::default(),
                        first,
                        size,
                        &bad,
                        &r1,
                        &root
                    )
                    .is_err());
                }
            }
        }
        // The latest size's root is the tip's.
        assert_eq!(
            merkle::root(chancery_core::suite::Suite::default(), &all),
            l.tip().log_root
        );
    }

    #[test]
    fn bad_proof_requests_name_the_problem() {
        let (_fx, l, _) = ledger(3);
        let n = l.tip().log_size;
        assert!(matches!(
            l.inclusion_proof(0, n + 1),
            Err(ProofRequestError::SizeBeyondLog { requested, size }) if requested == n + 1 && size == n
        ));
        assert!(matches!(
            l.inclusion_proof(n, n),
            Err(ProofRequestError::Proof(ProofError::IndexOutOfRange { .. }))
        ));
        assert!(matches!(
            l.consistency_proof(0, n),
            Err(ProofRequestError::Proof(ProofError::EmptyOldTree))
        ));
        assert!(matches!(
            l.consistency_proof(n, 1),
            Err(ProofRequestError::Proof(ProofError::SizesReversed { .. }))
        ));
        assert!(l.consistency_proof(n, n).unwrap().is_empty());
        assert!(matches!(
            l.checkpoint(Height(4)),
            Err(ProofRequestError::Ledger(LedgerError::NoSuchHeight { .. }))
        ));
        assert!(matches!(
            l.checkpoint(Height(0)),
            Err(ProofRequestError::NotCertified { .. })
        ));
        assert!(l.receipt(&Digest([9; 32])).unwrap().is_none());
    }

    #[test]
    fn checkpoints_verify_and_tampered_ones_fail() {
        let (fx, l, _) = ledger(4);
        let empty = Ledger::open(Arc::new(MemStore::new()), &fx.genesis).unwrap();
        assert!(empty.latest_checkpoint().unwrap().is_none());
        let latest = l.latest_checkpoint().unwrap().unwrap();
        assert_eq!(latest.header.height, Height(4));
        assert_eq!(latest.header.log_root, l.tip().log_root);
        latest.verify(&fx.genesis).unwrap();
        for h in 1..=4 {
            let cp = l.checkpoint(Height(h)).unwrap();
            assert_eq!(cp.header.height, Height(h));
            let v = cp.verify(&fx.genesis).unwrap();
            assert_eq!(v.size(), cp.header.log_size);
            // The text form round-trips and names every signer.
            let text = cp.to_text(&fx.genesis.validators).unwrap();
            let back = Checkpoint::from_text(&text, &fx.genesis.chain_id(), &fx.genesis.validators)
                .unwrap();
            assert_eq!(back, cp);
            let mut bad = cp.clone();
            bad.header.log_size += 1;
            assert!(bad.verify(&fx.genesis).is_err());
        }
    }

    #[test]
    fn receipts_verify_offline_and_tampered_ones_fail() {
        let (fx, l, hashes) = ledger(6);
        for h in &hashes {
            let r = l.receipt(h).unwrap().unwrap();
            let s = chancery_core::receipt::verify(&r, &fx.genesis).unwrap();
            assert_eq!(s.tx_hash, *h);
            // The same transaction always gets the same receipt.
            assert_eq!(l.receipt(h).unwrap().unwrap(), r);
            let mut bad = r.clone();
            bad.index ^= 1;
            assert!(chancery_core::receipt::verify(&bad, &fx.genesis).is_err());
            if !r.proof.is_empty() {
                let mut bad = r.clone();
                let c = if bad.proof[0].starts_with('0') {
                    "1"
                } else {
                    "0"
                };
                bad.proof[0].replace_range(0..1, c);
                assert!(chancery_core::receipt::verify(&bad, &fx.genesis).is_err());
            }
            let mut bad = r.clone();
            let at = bad.entry.len() - 2;
            let c = if bad.entry[at..].starts_with('0') {
                "1"
            } else {
                "0"
            };
            bad.entry.replace_range(at..at + 1, c);
            assert!(chancery_core::receipt::verify(&bad, &fx.genesis).is_err());
        }
    }

    #[test]
    fn state_proofs_verify_against_their_checkpoint() {
        let (fx, l, _) = ledger(3);
        let key = StateKey::Asset("A0".into());
        let (p, cp) = l.state_proof(&key, None).unwrap();
        let cp = cp.verify(&fx.genesis).unwrap();
        let v = verify_state_proof(
            chancery_core::suite::Suite::default(),
            &cp.header().state_root,
            &p,
        )
        .unwrap();
        assert!(matches!(v, Some(StateValue::Asset(a)) if a.custodian.0 == "mof"));
        // At height 1, asset A1 (registered in block 2) is absent.
        let (p, cp) = l
            .state_proof(&StateKey::Asset("A1".into()), Some(Height(1)))
            .unwrap();
        assert_eq!(cp.header.height, Height(1));
        assert_eq!(
            verify_state_proof(
                chancery_core::suite::Suite::default(),
                &cp.header.state_root,
                &p
            )
            .unwrap(),
            None
        );
        // Proven against another checkpoint's root, it fails.
        let latest = l.latest_checkpoint().unwrap().unwrap();
        assert!(verify_state_proof(
            chancery_core::suite::Suite::default(),
            &latest.header.state_root,
            &p
        )
        .is_err());
    }

    #[test]
    fn a_block_finalized_by_a_descendant_is_certified_by_the_descendant_checkpoint() {
        use chancery_core::block::Block;
        let (fx, l, _) = ledger(2);
        let key = fx.signer("mof", Role::AssetOfficer).clone();
        let tx = fx.tx(&key, 3, asset("D1", "mof"));
        let tip = l.tip();
        let t1 = chancery_core::TimestampMs(tip.time.0 + 1000);
        let checked = crate::verify_block_txs(&l.chain_id(), vec![tx.clone()], |_| None);
        let ex = l.execute(&checked, t1, Height(3)).unwrap();
        let mut h3 = fx.header(Height(3), tip.hash, t1);
        ex.fill_header(&mut h3);
        let b3 = Block {
            header: h3.clone(),
            txs: vec![tx.clone()],
        };
        let mut h4 = fx.header(
            Height(4),
            h3.hash(chancery_core::suite::Suite::default()),
            chancery_core::TimestampMs(t1.0 + 1000),
        );
        h4.log_size = h3.log_size;
        h4.log_root = h3.log_root;
        h4.state_root = h3.state_root;
        let b4 = Block {
            header: h4.clone(),
            txs: vec![],
        };
        let cert4 = fx.finalize(&b4);
        l.apply_by_descendant(&b3, &cert4, &[h4.clone()]).unwrap();
        // Block 3 is applied but its certifying descendant is not yet.
        assert!(matches!(
            l.checkpoint(Height(3)),
            Err(ProofRequestError::NotCertified { .. })
        ));
        assert_eq!(
            l.latest_checkpoint().unwrap().unwrap().header.height,
            Height(2)
        );
        l.apply(&b4, &cert4).unwrap();
        let cp = l.checkpoint(Height(3)).unwrap();
        assert_eq!(cp.header.height, Height(4));
        cp.verify(&fx.genesis).unwrap();
        let r = l.receipt(&tx.hash()).unwrap().unwrap();
        let s = chancery_core::receipt::verify(&r, &fx.genesis).unwrap();
        assert_eq!((s.height, s.checkpoint_height), (Height(3), Height(4)));
        let (p, cp) = l
            .state_proof(&StateKey::Asset("D1".into()), Some(Height(3)))
            .unwrap();
        let cp = cp.verify(&fx.genesis).unwrap();
        assert!(verify_state_proof(
            chancery_core::suite::Suite::default(),
            &cp.header().state_root,
            &p
        )
        .unwrap()
        .is_some());
    }
}
