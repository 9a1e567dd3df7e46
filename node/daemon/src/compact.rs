//! Proposals by transaction hash (issue 17): a leader's proposal names its block's
//! transactions by hash, because every validator already received them by gossip; the
//! receiver rebuilds the exact block from its pool and fetches only what it lacks from the
//! proposer. A transaction therefore crosses each link once (from the node it was
//! submitted to, in a gossip batch), not once more in every proposal.
//!
//! Nothing here is trusted: the rebuilt proposal goes through the same checks as one
//! received whole (the leader's signature covers the full block bytes, the application
//! checks the header against its transactions and re-executes them). Before anything is
//! fetched the hash list is checked against the header (count and `txs_hash`), and only
//! the proposer itself is asked, so a bad list costs one request to the peer that sent it.
//!
//! Wire format of the consensus channel: one tag byte, then either a consensus
//! [`Message`] in its canonical encoding ([`WIRE_MESSAGE`]) or a [`CompactProposal`]
//! ([`WIRE_COMPACT`]).

use bincode::{Decode, Encode};
use chancery_consensus::{Block as CBlock, Message, Proposal, ProposalMsg};
use chancery_core::block::{txs_hash, Block, BlockHeader};
use chancery_core::cert::Certificate;
use chancery_core::codec::{self, check, Canonical, ValidationError};
use chancery_core::ids::{Digest, Epoch, Signature, TxHash, View};
use chancery_core::limits::BLOCK_TXS_MAX;
use chancery_core::tx::{Transaction, VerifiedTx};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Tag of a consensus message sent whole.
pub const WIRE_MESSAGE: u8 = 0;
/// Tag of a [`CompactProposal`].
pub const WIRE_COMPACT: u8 = 1;
/// Our own recent proposals whose transactions we keep to answer fetches: a few views'
/// worth (a fetch comes within a view of the proposal).
pub const RECENT_PROPOSALS_MAX: usize = 8;
/// Most gossiped transactions remembered by hash before their signatures are checked
/// ([`SeenTxs`]): a few seconds of gossip at the rates a validator sustains.
pub const SEEN_TXS_MAX: usize = 16_384;
/// Most bytes of gossiped transactions remembered ([`SeenTxs`]).
pub const SEEN_TXS_BYTES_MAX: usize = 32 * 1024 * 1024;
/// Most transaction hashes asked in one fetch request: the request (32 bytes per hash)
/// stays under the network's request limit (`Limits::request_bytes_max`, 64 KiB).
pub const TX_FETCH_HASHES_MAX: usize = 1_900;

/// A proposal whose block's transactions are named by hash. Everything else is the
/// [`ProposalMsg`] as the leader signed it; the consensus block's digest, parent, height
/// and view are the header's (the leader builds them so, `app::to_consensus`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[bincode(decode_context = "chancery_core::suite::Suite")]
pub struct CompactProposal {
    /// Epoch of the proposal.
    pub epoch: Epoch,
    /// View of the parent block.
    pub parent_view: View,
    /// Index of the proposer.
    pub proposer: u16,
    /// The leader's signature over the full proposal.
    pub signature: Signature,
    /// The block's header.
    pub header: BlockHeader,
    /// The block's transactions, by hash, in block order.
    pub txs: Vec<TxHash>,
    /// The parent's certificate (as in [`ProposalMsg`]).
    pub parent_cert: Option<Certificate>,
    /// Nullifications of the skipped views (as in [`ProposalMsg`]).
    pub nullifications: Vec<Certificate>,
}

impl Canonical for CompactProposal {
    const NAME: &'static str = "compact proposal";
    const BYTES_MAX: usize = chancery_consensus::wire::PROPOSAL_MSG_BYTES_MAX;
    /// In the default suite; the driver decodes with the chain's ([`Canonical::validate_in`]).
    fn validate(&self) -> Result<(), ValidationError> {
        self.validate_in(chancery_core::suite::Suite::default())
    }

    fn validate_in(&self, suite: chancery_core::suite::Suite) -> Result<(), ValidationError> {
        self.header.validate().map_err(|e| e.within("header"))?;
        check::list("txs", &self.txs, BLOCK_TXS_MAX)?;
        check::list(
            "nullifications",
            &self.nullifications,
            chancery_consensus::wire::SKIPPED_VIEWS_MAX,
        )?;
        if self.txs.len() != self.header.tx_count as usize {
            return Err(ValidationError::new(
                "header.tx_count",
                format!("{} (the number of transaction hashes)", self.txs.len()),
                self.header.tx_count.to_string(),
            ));
        }
        // Checked before anything is fetched: a list that cannot be the header's costs
        // the receiver nothing more.
        let want = txs_hash(suite, self.txs.iter().copied());
        if want != self.header.txs_hash {
            return Err(ValidationError::new(
                "header.txs_hash",
                format!("{} (the hash of the listed transactions)", want.to_hex()),
                self.header.txs_hash.to_hex(),
            ));
        }
        if let Some(c) = &self.parent_cert {
            c.validate().map_err(|e| e.within("parent_cert"))?;
        }
        for (i, c) in self.nullifications.iter().enumerate() {
            c.validate()
                .map_err(|e| e.within(&format!("nullifications[{i}]")))?;
        }
        Ok(())
    }
}

impl CompactProposal {
    /// The compact form of our own proposal of `block` (whose transactions are `txs`).
    pub fn of(msg: &ProposalMsg, header: &BlockHeader, txs: Vec<TxHash>) -> CompactProposal {
        CompactProposal {
            epoch: msg.proposal.epoch,
            parent_view: msg.proposal.parent_view,
            proposer: msg.proposal.proposer,
            signature: msg.proposal.signature,
            header: header.clone(),
            txs,
            parent_cert: msg.parent_cert.clone(),
            nullifications: msg.nullifications.clone(),
        }
    }

    /// The block's digest (its header hash, with the chain's suite).
    pub fn digest(&self, suite: chancery_core::suite::Suite) -> Digest {
        self.header.hash(suite)
    }

    /// The transactions `lookup` does not know, in block order, without repeats.
    pub fn missing(&self, lookup: impl Fn(&TxHash) -> bool) -> Vec<TxHash> {
        let mut seen = std::collections::HashSet::new();
        self.txs
            .iter()
            .filter(|h| !lookup(h) && seen.insert(**h))
            .copied()
            .collect()
    }

    /// Rebuild the full proposal message, taking every transaction from `lookup`; `None`
    /// names the first transaction it lacks.
    pub fn rebuild(
        &self,
        suite: chancery_core::suite::Suite,
        lookup: impl Fn(&TxHash) -> Option<Transaction>,
    ) -> Result<Message, TxHash> {
        let mut txs = Vec::with_capacity(self.txs.len());
        for h in &self.txs {
            txs.push(lookup(h).ok_or(*h)?);
        }
        let block = Block {
            header: self.header.clone(),
            txs,
        };
        let cblock = CBlock {
            digest: block.header.hash(suite),
            parent: block.header.parent,
            height: block.header.height,
            view: block.header.view,
            payload: codec::encode(&block),
        };
        Ok(Message::Proposal(ProposalMsg {
            proposal: Proposal {
                epoch: self.epoch,
                parent_view: self.parent_view,
                block: cblock,
                proposer: self.proposer,
                signature: self.signature,
            },
            parent_cert: self.parent_cert.clone(),
            nullifications: self.nullifications.clone(),
        }))
    }
}

/// A consensus message as it travels.
pub fn encode_message(message: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(WIRE_MESSAGE);
    out.extend_from_slice(&message.encode());
    out
}

/// A compact proposal as it travels.
pub fn encode_compact(compact: &CompactProposal) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 32 * compact.txs.len());
    out.push(WIRE_COMPACT);
    out.extend_from_slice(&codec::encode(compact));
    out
}

/// What arrived on the consensus channel.
#[derive(Debug)]
pub enum Inbound {
    /// A consensus message's bytes, still to be decoded and verified (by the core).
    Message(Vec<u8>),
    /// A compact proposal (decoded and checked for form and against its header; its
    /// signature is checked once it is rebuilt).
    Compact(Box<CompactProposal>),
}

/// Why bytes on the consensus channel are refused before they reach the core.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// No tag byte.
    #[error("empty consensus frame (expected a tag byte: 0 message, 1 compact proposal)")]
    Empty,
    /// Unknown tag.
    #[error("unknown consensus frame tag {found} (expected 0 message or 1 compact proposal)")]
    Tag {
        /// The tag found.
        found: u8,
    },
    /// A compact proposal that does not decode or check.
    #[error("invalid compact proposal: {0}")]
    Compact(#[from] codec::CodecError),
}

/// Split bytes from the consensus channel of a chain of `suite`.
pub fn decode(suite: chancery_core::suite::Suite, bytes: &[u8]) -> Result<Inbound, WireError> {
    match bytes.split_first() {
        None => Err(WireError::Empty),
        Some((&WIRE_MESSAGE, rest)) => Ok(Inbound::Message(rest.to_vec())),
        Some((&WIRE_COMPACT, rest)) => {
            Ok(Inbound::Compact(Box::new(codec::decode_in(suite, rest)?)))
        }
        Some((&found, _)) => Err(WireError::Tag { found }),
    }
}

/// Transactions peers gossiped to us, by hash, as they arrive: before their batch's
/// signatures are checked on the verify pool and the pool admits them. A proposal by hash
/// that arrives with the gossip of its leader's latest transactions (the leader flushes
/// its gossip just before proposing) is rebuilt from here at once instead of waiting for
/// that check; the rebuilt block's transactions are checked like those of a block received
/// whole. Bounded by [`SEEN_TXS_MAX`] and [`SEEN_TXS_BYTES_MAX`], oldest forgotten first.
pub struct SeenTxs {
    /// The chain's suite: how a transaction hashes and decodes.
    suite: chancery_core::suite::Suite,
    by_hash: HashMap<TxHash, Vec<u8>>,
    order: VecDeque<TxHash>,
    bytes: usize,
}

impl SeenTxs {
    /// Nothing seen yet, on a chain of `suite`.
    pub fn new(suite: chancery_core::suite::Suite) -> SeenTxs {
        SeenTxs {
            suite,
            by_hash: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
        }
    }

    /// Remember the canonical bytes of gossiped transactions (not decoded: the hash of a
    /// transaction is the hash of its canonical bytes, and bytes that do not decode are
    /// never used, a rebuilt block decodes what it takes).
    pub fn add(&mut self, txs: impl IntoIterator<Item = Vec<u8>>) {
        for bytes in txs {
            if bytes.len() > SEEN_TXS_BYTES_MAX {
                continue;
            }
            let hash = self.suite.hash(chancery_core::domain::TX_HASH, &bytes);
            if self.by_hash.contains_key(&hash) {
                continue;
            }
            while self.order.len() >= SEEN_TXS_MAX
                || self.bytes.saturating_add(bytes.len()) > SEEN_TXS_BYTES_MAX
            {
                let Some(old) = self.order.pop_front() else {
                    break;
                };
                if let Some(b) = self.by_hash.remove(&old) {
                    self.bytes -= b.len();
                }
            }
            self.bytes += bytes.len();
            self.order.push_back(hash);
            self.by_hash.insert(hash, bytes);
        }
    }

    /// The transaction with this hash, if it was gossiped and decodes.
    pub fn get(&self, hash: &TxHash) -> Option<Transaction> {
        Transaction::from_bytes(self.suite, self.by_hash.get(hash)?).ok()
    }

    /// Transactions remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.order.len()
    }
}

/// The transactions of our own recent proposals, shared between the driver (which adds
/// each proposal it sends compactly) and the request handler (which answers peers'
/// fetches from it). Holds [`RECENT_PROPOSALS_MAX`] proposals; the oldest is forgotten.
#[derive(Default)]
pub struct RecentTxs {
    inner: Mutex<VecDeque<(Digest, HashMap<TxHash, VerifiedTx>)>>,
}

impl RecentTxs {
    /// Empty.
    pub fn new() -> RecentTxs {
        RecentTxs::default()
    }

    /// Remember the transactions of our proposal of block `digest`.
    pub fn add(&self, digest: Digest, txs: &[VerifiedTx]) {
        let map = txs.iter().map(|t| (t.hash(), t.clone())).collect();
        let mut q = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if q.iter().any(|(d, _)| *d == digest) {
            return;
        }
        if q.len() >= RECENT_PROPOSALS_MAX {
            q.pop_front();
        }
        q.push_back((digest, map));
    }

    /// The canonical bytes of the transactions asked for that we hold, in the order
    /// asked, until `bytes_max` bytes (at least one transaction if any is found).
    pub fn answer(&self, hashes: &[TxHash], bytes_max: usize) -> Vec<Vec<u8>> {
        let q = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for h in hashes {
            let Some(t) = q.iter().rev().find_map(|(_, m)| m.get(h)) else {
                continue;
            };
            if !out.is_empty() && bytes.saturating_add(t.bytes().len()) > bytes_max {
                break;
            }
            bytes = bytes.saturating_add(t.bytes().len());
            out.push(t.bytes().to_vec());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{test_app, LedgerView};
    use chancery_consensus::BlockRef;
    use chancery_core::ids::Height;
    use chancery_core::record::Role;
    use chancery_ledger::testing::fixture::{anchor, Fixture};
    use chancery_mempool::Origin;

    /// A signed proposal of a block of `n` transactions, its compact form and the
    /// block's transactions.
    fn proposal(fx: &Fixture, n: u64) -> (Message, CompactProposal, Vec<VerifiedTx>) {
        let mut app = test_app(fx);
        let key = fx.signer("mof", Role::Archivist);
        let txs = (0..n)
            .map(|s| fx.tx(key, s, anchor(&format!("c{s}"))))
            .collect();
        let view = LedgerView(&app.ledger);
        let now = crate::driver::now_ms();
        for r in app.mempool.insert_batch(txs, Origin::Local, now, &view) {
            r.unwrap();
        }
        let root = BlockRef {
            digest: app.ledger.tip().hash,
            height: Height(0),
            view: View(0),
        };
        let block = app.build(Epoch(0), View(1), 1, &root, now).unwrap();
        let chain = fx.genesis.chain_id();
        let pm = ProposalMsg {
            proposal: Proposal::sign(chain, Epoch(0), View(0), block, 1, &fx.validators[1]),
            parent_cert: None,
            nullifications: vec![],
        };
        let built = app.last_built.clone().unwrap();
        let c = CompactProposal::of(
            &pm,
            &built.header,
            built.txs.iter().map(|t| t.hash()).collect(),
        );
        (Message::Proposal(pm), c, built.txs)
    }

    #[test]
    fn a_rebuilt_proposal_is_byte_for_byte_the_one_signed() {
        let fx = Fixture::new();
        let (msg, c, txs) = proposal(&fx, 4);
        let by_hash: HashMap<TxHash, Transaction> =
            txs.iter().map(|t| (t.hash(), t.tx().clone())).collect();
        let rebuilt = c
            .rebuild(chancery_core::suite::Suite::default(), |h| {
                by_hash.get(h).cloned()
            })
            .unwrap();
        assert_eq!(rebuilt.encode(), msg.encode());
        // Through the wire format too.
        let Inbound::Compact(back) =
            decode(chancery_core::suite::Suite::default(), &encode_compact(&c)).unwrap()
        else {
            panic!("not a compact proposal");
        };
        assert_eq!(*back, c);
        let Inbound::Message(bytes) = decode(
            chancery_core::suite::Suite::default(),
            &encode_message(&msg),
        )
        .unwrap() else {
            panic!("not a message");
        };
        assert_eq!(bytes, msg.encode());
        // A transaction missing is named.
        let gone = txs[2].hash();
        let e = c
            .rebuild(chancery_core::suite::Suite::default(), |h| {
                (*h != gone).then(|| by_hash.get(h).cloned()).flatten()
            })
            .unwrap_err();
        assert_eq!(e, gone);
        assert_eq!(c.missing(|h| *h != gone), vec![gone]);
    }

    #[test]
    fn frames_that_are_not_ours_or_lists_that_are_not_the_headers_are_refused() {
        let fx = Fixture::new();
        let (_, c, _) = proposal(&fx, 3);
        assert!(matches!(
            decode(chancery_core::suite::Suite::default(), &[]),
            Err(WireError::Empty)
        ));
        assert!(matches!(
            decode(chancery_core::suite::Suite::default(), &[7, 1, 2]),
            Err(WireError::Tag { found: 7 })
        ));
        let mut swapped = c.clone();
        swapped.txs.swap(0, 1);
        let e = decode(
            chancery_core::suite::Suite::default(),
            &encode_compact(&swapped),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("txs_hash"), "{e}");
        let mut short = c.clone();
        short.txs.pop();
        let e = decode(
            chancery_core::suite::Suite::default(),
            &encode_compact(&short),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("tx_count"), "{e}");
    }

    #[test]
    fn gossip_seen_is_found_by_hash_and_bounded() {
        let fx = Fixture::new();
        let (_, c, txs) = proposal(&fx, 3);
        let mut seen = SeenTxs::new(chancery_core::suite::Suite::default());
        seen.add(txs.iter().map(|t| t.bytes().to_vec()));
        for t in &txs {
            assert_eq!(seen.get(&t.hash()).as_ref(), Some(t.tx()));
        }
        assert!(c
            .rebuild(chancery_core::suite::Suite::default(), |h| seen.get(h))
            .is_ok());
        // Bytes that do not decode are kept but never handed out.
        seen.add([vec![1, 2, 3]]);
        assert!(seen
            .get(&chancery_core::domain::TX_HASH.hash(&[1, 2, 3]))
            .is_none());
        // The count bound: the oldest go first.
        for i in 0..SEEN_TXS_MAX as u32 {
            seen.add([i.to_be_bytes().to_vec()]);
        }
        assert_eq!(seen.len(), SEEN_TXS_MAX);
        assert!(seen.get(&txs[0].hash()).is_none());
        // The byte bound.
        let mut big = SeenTxs::new(chancery_core::suite::Suite::default());
        for i in 0..4u8 {
            big.add([vec![i; SEEN_TXS_BYTES_MAX / 3]]);
        }
        assert_eq!(big.len(), 3);
        assert!(big.bytes <= SEEN_TXS_BYTES_MAX);
    }

    /// Gossip of an `sm2-sm3` chain is remembered under the transactions' SM3 ids, the ids
    /// a compact proposal lists (issue 21); remembered under BLAKE3 ids, no proposal would
    /// ever be rebuilt from gossip.
    #[test]
    fn gossip_of_an_sm2_chain_is_found_by_its_sm3_ids() {
        use chancery_core::crypto::SecretKey;
        use chancery_core::suite::Suite;
        let key = SecretKey::from_secret(Suite::Sm2Sm3, [5; 32]).unwrap();
        let tx = Transaction::sign(
            chancery_core::tx::TxBody {
                chain_id: Digest([1; 32]),
                signer: key.public(),
                seq: chancery_core::Seq(0),
                record: anchor("sm2"),
            },
            &key,
        );
        let mut seen = SeenTxs::new(Suite::Sm2Sm3);
        seen.add([tx.to_bytes()]);
        assert_eq!(seen.get(&tx.hash()), Some(tx.clone()));
        // In a default-suite pool the same bytes neither decode nor hash to that id.
        let mut other = SeenTxs::new(Suite::Ed25519Blake3);
        other.add([tx.to_bytes()]);
        assert_eq!(other.get(&tx.hash()), None);
    }

    #[test]
    fn recent_proposals_answer_in_order_within_the_byte_limit_and_forget_the_oldest() {
        let fx = Fixture::new();
        let (_, c, txs) = proposal(&fx, 3);
        let recent = RecentTxs::new();
        recent.add(c.digest(chancery_core::suite::Suite::default()), &txs);
        let asked: Vec<TxHash> = txs.iter().rev().map(|t| t.hash()).collect();
        let all = recent.answer(&asked, usize::MAX);
        let want: Vec<Vec<u8>> = txs.iter().rev().map(|t| t.bytes().to_vec()).collect();
        assert_eq!(all, want);
        // One transaction at least, then only what fits.
        assert_eq!(recent.answer(&asked, 1).len(), 1);
        let two = txs[2].bytes().len() + txs[1].bytes().len();
        assert_eq!(recent.answer(&asked, two).len(), 2);
        // Unknown hashes are skipped.
        let unknown: TxHash = Digest([9; 32]);
        assert_eq!(recent.answer(&[unknown], usize::MAX).len(), 0);
        // After RECENT_PROPOSALS_MAX newer proposals the first is forgotten.
        for i in 0..RECENT_PROPOSALS_MAX {
            recent.add(Digest([i as u8 + 1; 32]), &[]);
        }
        assert!(recent.answer(&asked, usize::MAX).is_empty());
    }
}
