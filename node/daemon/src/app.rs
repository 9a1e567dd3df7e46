//! The application side of consensus: building a block when we lead, checking a block a
//! leader proposed, and committing finalized blocks. Synchronous; the driver calls it.
//!
//! Execution needs the parent's state. The ledger holds only committed (finalized) state,
//! so a full block is built or checked only on top of the last applied block (the tip).
//! When a leader must extend a block that is notarized but not yet finalized, it waits
//! briefly for the finalization and then proposes an **empty** block, whose header repeats
//! its parent's log and state roots (an empty block changes nothing). Finalizing the empty
//! block finalizes its parent too, so the chain never stalls on a block that is notarized
//! but neither finalized nor nullified (a case Simplex allows).

use chancery_consensus::{Block as CBlock, BlockRef};
use chancery_core::block::{Block, BlockHeader};
use chancery_core::cert::Certificate;
use chancery_core::codec;
use chancery_core::ids::{ChainId, Digest, Epoch, Height, TimestampMs, View};
use chancery_ledger::{verify_block_txs, CheckedTx, Ledger, Tip};
use chancery_mempool::{AdmissionView, BlockLimits, MemberInfo, Mempool};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most block headers of unfinalized blocks remembered (to check empty blocks and
/// to propose on notarized parents).
pub const HEADERS_KEPT_MAX: usize = 4096;
/// How far ahead of our clock a proposed block's time may be, in milliseconds.
pub const CLOCK_DRIFT_MS_MAX: u64 = 5_000;

/// The ledger's committed state, as the mempool needs it.
pub struct LedgerView<'a>(pub &'a Ledger);

impl AdmissionView for LedgerView<'_> {
    fn member(&self, key: &chancery_core::PublicKey) -> Option<MemberInfo> {
        self.0.member(key).ok().flatten().map(|m| MemberInfo {
            agency: m.agency,
            roles: m.roles,
            revoked: m.revoked,
        })
    }

    fn next_seq(&self, key: &chancery_core::PublicKey) -> chancery_core::Seq {
        match self
            .0
            .state_value(&chancery_core::state::StateKey::Seq(*key))
        {
            Ok(Some(chancery_core::state::StateValue::Seq(s))) => s,
            _ => chancery_core::Seq(0),
        }
    }
}

/// The facts about a parent block that a child needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParentInfo {
    /// Header hash.
    pub digest: Digest,
    /// Height.
    pub height: Height,
    /// Block time.
    pub time: TimestampMs,
    /// Log size after it.
    pub log_size: u64,
    /// Log root after it.
    pub log_root: Digest,
    /// State root after it.
    pub state_root: Digest,
}

impl From<&Tip> for ParentInfo {
    fn from(t: &Tip) -> Self {
        ParentInfo {
            digest: t.hash,
            height: t.height,
            time: t.time,
            log_size: t.log_size,
            log_root: t.log_root,
            state_root: t.state_root,
        }
    }
}

impl From<&BlockHeader> for ParentInfo {
    fn from(h: &BlockHeader) -> Self {
        ParentInfo {
            digest: h.hash(),
            height: h.height,
            time: h.time,
            log_size: h.log_size,
            log_root: h.log_root,
            state_root: h.state_root,
        }
    }
}

/// Why a proposed block is refused (logged; consensus then does not notarize it).
#[derive(Debug, thiserror::Error)]
pub enum BlockCheckError {
    /// The payload is not a canonical block.
    #[error("payload is not a canonical block: {0}")]
    Decode(#[from] codec::CodecError),
    /// A header field does not match what it must be.
    #[error("header field `{field}`: expected {expected}, found {found}")]
    Header {
        /// Field.
        field: &'static str,
        /// Expected.
        expected: String,
        /// Found.
        found: String,
    },
    /// Execution failed (ledger error).
    #[error("execution failed: {0}")]
    Ledger(#[from] chancery_ledger::LedgerError),
    /// The parent is not known (neither the tip nor a remembered header).
    #[error("parent {0} is unknown")]
    UnknownParent(Digest),
}

fn mismatch(field: &'static str, expected: impl ToString, found: impl ToString) -> BlockCheckError {
    BlockCheckError::Header {
        field,
        expected: expected.to_string(),
        found: found.to_string(),
    }
}

/// Application state owned by the driver.
pub struct App {
    /// Chain id.
    pub chain_id: ChainId,
    /// The ledger.
    pub ledger: Arc<Ledger>,
    /// The mempool.
    pub mempool: Mempool,
    /// Headers of proposed and validated blocks not yet applied, by hash.
    headers: BTreeMap<Digest, BlockHeader>,
    /// Validator-set hash that headers must carry.
    pub validator_set_hash: Digest,
    /// Most transactions per block.
    pub block_txs_max: usize,
    /// Most transaction bytes per block.
    pub block_bytes_max: usize,
}

/// What checking a proposed block concluded.
#[derive(Debug)]
pub enum Verdict {
    /// Valid.
    Valid,
    /// Invalid; why.
    Invalid(BlockCheckError),
    /// Cannot be decided until the parent is applied.
    NeedParent,
}

impl App {
    /// A new application state.
    pub fn new(
        ledger: Arc<Ledger>,
        mempool: Mempool,
        validator_set_hash: Digest,
        block_txs_max: usize,
        block_bytes_max: usize,
    ) -> App {
        App {
            chain_id: ledger.chain_id(),
            ledger,
            mempool,
            headers: BTreeMap::new(),
            validator_set_hash,
            block_txs_max,
            block_bytes_max,
        }
    }

    /// The parent facts of `digest`: the tip, or a remembered header.
    pub fn parent_info(&self, digest: &Digest) -> Option<ParentInfo> {
        let tip = self.ledger.tip();
        if tip.hash == *digest {
            return Some(ParentInfo::from(&tip));
        }
        self.headers.get(digest).map(ParentInfo::from)
    }

    /// Is `digest` the last applied block?
    pub fn is_tip(&self, digest: &Digest) -> bool {
        self.ledger.tip().hash == *digest
    }

    fn remember(&mut self, h: &BlockHeader) {
        if self.headers.len() >= HEADERS_KEPT_MAX {
            // Forget the lowest heights first: they are finalized or abandoned.
            let tip = self.ledger.tip().height;
            self.headers.retain(|_, x| x.height > tip);
            while self.headers.len() >= HEADERS_KEPT_MAX {
                let Some(k) = self.headers.keys().next().copied() else {
                    break;
                };
                self.headers.remove(&k);
            }
        }
        self.headers.insert(h.hash(), h.clone());
    }

    /// Build our block for `view` on `parent`. `full` asks for a block with transactions
    /// (possible only when the parent is the tip); otherwise the block is empty.
    pub fn build(
        &mut self,
        epoch: Epoch,
        view: View,
        proposer: u16,
        parent: &BlockRef,
        now: TimestampMs,
    ) -> Result<CBlock, BlockCheckError> {
        let info = self
            .parent_info(&parent.digest)
            .ok_or(BlockCheckError::UnknownParent(parent.digest))?;
        let time = TimestampMs(now.0.max(info.time.0 + 1));
        let mut header = BlockHeader {
            chain_id: self.chain_id,
            epoch,
            height: parent.height.next(),
            view,
            parent: parent.digest,
            proposer,
            time,
            txs_hash: chancery_core::block::txs_hash(std::iter::empty()),
            tx_count: 0,
            log_size: info.log_size,
            log_root: info.log_root,
            state_root: info.state_root,
            validator_set: self.validator_set_hash,
        };
        let mut txs = Vec::new();
        if self.is_tip(&parent.digest) {
            let view_state = LedgerView(&self.ledger);
            let limits = BlockLimits {
                txs_max: self.block_txs_max,
                bytes_max: self.block_bytes_max,
                rotation: header.height.0,
            };
            let selected = self.mempool.select(&limits, &view_state);
            let checked: Vec<CheckedTx> = selected.into_iter().map(CheckedTx::from).collect();
            let ex = self.ledger.execute(&checked, time, header.height)?;
            ex.fill_header(&mut header);
            txs = checked.iter().map(|c| c.tx().clone()).collect();
        }
        self.remember(&header);
        let block = Block { header, txs };
        Ok(to_consensus(&block))
    }

    /// Check a block a leader proposed on `parent`.
    pub fn check(
        &mut self,
        cblock: &CBlock,
        parent: &BlockRef,
        expect_proposer: u16,
        epoch: Epoch,
        now: TimestampMs,
    ) -> Verdict {
        match self.check_inner(cblock, parent, expect_proposer, epoch, now) {
            Ok(true) => Verdict::Valid,
            Ok(false) => Verdict::NeedParent,
            Err(e) => Verdict::Invalid(e),
        }
    }

    fn check_inner(
        &mut self,
        cblock: &CBlock,
        parent: &BlockRef,
        expect_proposer: u16,
        epoch: Epoch,
        now: TimestampMs,
    ) -> Result<bool, BlockCheckError> {
        let block: Block = codec::decode(&cblock.payload)?;
        let h = &block.header;
        let digest = h.hash();
        if digest != cblock.digest {
            return Err(mismatch("hash", cblock.digest, digest));
        }
        if h.chain_id != self.chain_id {
            return Err(mismatch("chain_id", self.chain_id, h.chain_id));
        }
        if h.epoch != epoch {
            return Err(mismatch("epoch", epoch, h.epoch));
        }
        if h.parent != parent.digest || cblock.parent != parent.digest {
            return Err(mismatch("parent", parent.digest, h.parent));
        }
        if h.height != parent.height.next() || cblock.height != h.height {
            return Err(mismatch("height", parent.height.next(), h.height));
        }
        if h.view != cblock.view {
            return Err(mismatch("view", cblock.view, h.view));
        }
        if h.proposer != expect_proposer {
            return Err(mismatch("proposer", expect_proposer, h.proposer));
        }
        if h.validator_set != self.validator_set_hash {
            return Err(mismatch(
                "validator_set",
                self.validator_set_hash,
                h.validator_set,
            ));
        }
        if h.time.0 > now.0.saturating_add(CLOCK_DRIFT_MS_MAX) {
            return Err(mismatch(
                "time",
                format!(
                    "at most {} (our clock + {CLOCK_DRIFT_MS_MAX} ms)",
                    now.0 + CLOCK_DRIFT_MS_MAX
                ),
                h.time.0,
            ));
        }
        let Some(info) = self.parent_info(&parent.digest) else {
            return Ok(false);
        };
        if h.time <= info.time {
            return Err(mismatch(
                "time",
                format!("after the parent's {}", info.time),
                h.time,
            ));
        }
        if block.txs.is_empty() {
            // An empty block changes nothing: it must repeat its parent's roots.
            if h.log_size != info.log_size {
                return Err(mismatch("log_size", info.log_size, h.log_size));
            }
            if h.log_root != info.log_root {
                return Err(mismatch("log_root", info.log_root, h.log_root));
            }
            if h.state_root != info.state_root {
                return Err(mismatch("state_root", info.state_root, h.state_root));
            }
            self.remember(h);
            return Ok(true);
        }
        if !self.is_tip(&parent.digest) {
            return Ok(false);
        }
        let mempool = &self.mempool;
        let checked = verify_block_txs(&self.chain_id, block.txs.clone(), |hash| {
            mempool.verified(hash)
        });
        let ex = self.ledger.execute(&checked, h.time, h.height)?;
        let mut want = h.clone();
        ex.fill_header(&mut want);
        for (field, a, b) in [
            ("txs_hash", want.txs_hash, h.txs_hash),
            ("log_root", want.log_root, h.log_root),
            ("state_root", want.state_root, h.state_root),
        ] {
            if a != b {
                return Err(mismatch(field, a, b));
            }
        }
        if want.log_size != h.log_size {
            return Err(mismatch("log_size", want.log_size, h.log_size));
        }
        self.remember(h);
        Ok(true)
    }

    /// Commit a finalized block. `cert` finalizes it directly, or finalizes the last of
    /// `descendants` (the headers from its child on), which finalizes it too.
    pub fn commit(
        &mut self,
        block: &Block,
        cert: &Certificate,
        descendants: &[BlockHeader],
    ) -> Result<chancery_ledger::Applied, BlockCheckError> {
        let applied = self.ledger.apply_by_descendant(block, cert, descendants)?;
        let view_state = LedgerView(&self.ledger);
        self.mempool.on_committed(block.txs.iter(), &view_state);
        let tip = self.ledger.tip().height;
        self.headers.retain(|_, x| x.height > tip);
        Ok(applied)
    }

    /// Commit a run of consecutive finalized blocks, each with the certificate that
    /// finalized it (its own, or that of a later block in the run). Blocks whose
    /// certificate's block is not in the run are left for later. Returns how many were
    /// applied.
    pub fn commit_run(&mut self, run: Vec<(Block, Certificate)>) -> Result<usize, BlockCheckError> {
        let mut applied = 0;
        let mut waiting: Vec<Block> = Vec::new();
        for (block, cert) in run {
            if cert.block != block.header.hash() {
                waiting.push(block);
                continue;
            }
            let mut headers: Vec<BlockHeader> = waiting.iter().map(|b| b.header.clone()).collect();
            headers.push(block.header.clone());
            for (i, b) in waiting.drain(..).enumerate() {
                self.commit(&b, &cert, &headers[i + 1..])?;
                applied += 1;
            }
            self.commit(&block, &cert, &[])?;
            applied += 1;
        }
        Ok(applied)
    }
}

/// The consensus view of a kernel block.
pub fn to_consensus(block: &Block) -> CBlock {
    CBlock {
        digest: block.header.hash(),
        parent: block.header.parent,
        height: block.header.height,
        view: block.header.view,
        payload: codec::encode(block),
    }
}
