//! The application side of consensus: building a block when we lead, checking a block a
//! leader proposed, and committing finalized blocks. Synchronous; the driver calls it.
//!
//! Execution is pipelined (R15 of docs/consensus.md): every block this node builds or
//! finds valid is executed on its parent's result — the committed tip, or the parent's
//! own speculative result kept by the ledger ([`chancery_ledger::Ledger::execute_on`]) —
//! and its result is kept under its hash. A leader whose parent is notarized but not yet
//! finalized therefore builds a full block at once, validators check it the same way, and
//! a finalized block is committed from its kept result without executing again. Results
//! of skipped blocks are dropped by the ledger at the next commit.
//!
//! When the parent has no result here (this node never checked it), a leader waits briefly
//! for the parent's finalization and then proposes an **empty** block, whose header repeats
//! its parent's log and state roots (an empty block changes nothing); a validator checks a
//! full block on such a parent once the parent is committed. Finalizing the empty block
//! finalizes its parent too, so the chain never stalls on a block that is notarized but
//! neither finalized nor nullified (a case Simplex allows).

use crate::runtime::Runtime;
use chancery_consensus::{Block as CBlock, BlockRef};
use chancery_core::block::{Block, BlockHeader};
use chancery_core::cert::Certificate;
use chancery_core::codec;
use chancery_core::epoch::{check_suffix, suffix_child};
use chancery_core::ids::{ChainId, Digest, Epoch, Height, TimestampMs, View};
use chancery_core::limits::EPOCH_SUFFIX_MAX;
use chancery_core::state::{StateKey, StateValue};
use chancery_ledger::{verify_block_txs, CheckedTx, Ledger, Tip};
use chancery_mempool::{AdmissionView, BlockLimits, MemberInfo, Mempool};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Most block headers of unfinalized blocks remembered (to check empty blocks and
/// to propose on notarized parents).
pub const HEADERS_KEPT_MAX: usize = 4096;
/// How far ahead of our clock a proposed block's time may be, in milliseconds.
pub const CLOCK_DRIFT_MS_MAX: u64 = 5_000;

/// Most blocks of a fetched run whose signatures are verified ahead of their execution
/// ([`App::commit_fetched_run`]): the bound of the channel between the two threads.
pub const FETCHED_VERIFIED_AHEAD_MAX: usize = 8;

/// Fewest transactions the pace lets a proposal carry, so a slow node still makes progress.
pub const PACE_TXS_MIN: usize = 256;
/// Blocks with fewer transactions say too little about the cost per transaction.
const PACE_SAMPLE_TXS_MIN: usize = 64;
/// Transactions a proposal may carry before the pace has learnt anything: a few times the
/// minimum, small enough to check within any sane Δ on a loaded machine.
const PACE_START_TXS: usize = PACE_TXS_MIN * 4;
/// Weight of the latest block in the moving average of the cost per transaction: high,
/// because load changes quickly.
const PACE_LATEST_WEIGHT: f64 = 0.4;
/// Least cost per transaction assumed, in microseconds, so a freak sample cannot divide
/// the budget by (almost) zero.
const PACE_US_PER_TX_MIN: f64 = 0.01;

/// How many transactions a proposal may carry so that executing it takes about
/// `budget`: the cost per transaction is learnt from the blocks this node executed (its own
/// proposals and those it checked), as a moving average of wall time, so it includes the
/// node's share of a busy machine.
///
/// Why: a proposal must be built by the leader and checked by the others within the 2Δ
/// leader timeout. Before this, leaders under overload proposed up to `block_txs_max`
/// (10,000) transactions; checking took longer than the timeout, views were nullified,
/// the work was thrown away, and the next block was larger still: throughput collapsed
/// instead of levelling off (docs/BENCHMARKS.md). This is local policy, not a validity
/// rule: any block within the genesis limits is still accepted.
#[derive(Clone, Debug)]
pub struct Pace {
    budget: Duration,
    us_per_tx: Option<f64>,
}

impl Pace {
    /// A pace aiming at `budget` of execution per proposal.
    pub fn new(budget: Duration) -> Pace {
        Pace {
            budget,
            us_per_tx: None,
        }
    }

    /// Executing `txs` transactions took `elapsed`.
    pub fn observe(&mut self, txs: usize, elapsed: Duration) {
        if txs < PACE_SAMPLE_TXS_MIN {
            return;
        }
        let sample = elapsed.as_secs_f64() * 1e6 / txs as f64;
        // Weighted towards the latest blocks: load changes quickly.
        self.us_per_tx = Some(match self.us_per_tx {
            None => sample,
            Some(avg) => (1.0 - PACE_LATEST_WEIGHT) * avg + PACE_LATEST_WEIGHT * sample,
        });
    }

    /// The learnt cost per transaction, in microseconds (none before the first sample).
    pub fn us_per_tx(&self) -> Option<f64> {
        self.us_per_tx
    }

    /// Most transactions for the next proposal, at most `ceiling` (the genesis limit).
    pub fn txs_max(&self, ceiling: usize) -> usize {
        let Some(us) = self.us_per_tx else {
            // Nothing learnt yet: start small rather than at the genesis ceiling.
            return ceiling.min(PACE_START_TXS);
        };
        let fit = (self.budget.as_secs_f64() * 1e6 / us.max(PACE_US_PER_TX_MIN)) as usize;
        fit.clamp(PACE_TXS_MIN, ceiling.max(PACE_TXS_MIN))
            .min(ceiling)
    }
}

/// The ledger's committed state, as the mempool needs it.
pub struct LedgerView<'a>(pub &'a Ledger);

/// The state after a block not yet committed (or the tip), as the mempool's selection
/// needs it: a leader building on a notarized parent selects the transactions that follow
/// the parent's (R15).
pub struct ParentView<'a>(pub chancery_ledger::SpeculativeView<'a>);

/// A member's admission facts from its state value.
fn member_info(v: Result<Option<StateValue>, chancery_ledger::LedgerError>) -> Option<MemberInfo> {
    match v {
        Ok(Some(StateValue::Member(m))) => Some(MemberInfo {
            agency: m.agency,
            roles: m.roles,
            revoked: m.revoked,
        }),
        _ => None,
    }
}

/// A signer's next sequence from its state value (0 when it has none).
fn next_seq_of(v: Result<Option<StateValue>, chancery_ledger::LedgerError>) -> chancery_core::Seq {
    match v {
        Ok(Some(StateValue::Seq(s))) => s,
        _ => chancery_core::Seq(0),
    }
}

impl AdmissionView for ParentView<'_> {
    fn member(&self, key: &chancery_core::PublicKey) -> Option<MemberInfo> {
        member_info(self.0.value(&StateKey::Member(*key)))
    }

    fn next_seq(&self, key: &chancery_core::PublicKey) -> chancery_core::Seq {
        next_seq_of(self.0.value(&StateKey::Seq(*key)))
    }
}

impl AdmissionView for LedgerView<'_> {
    fn member(&self, key: &chancery_core::PublicKey) -> Option<MemberInfo> {
        member_info(self.0.state_value(&StateKey::Member(*key)))
    }

    fn next_seq(&self, key: &chancery_core::PublicKey) -> chancery_core::Seq {
        next_seq_of(self.0.state_value(&StateKey::Seq(*key)))
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

impl ParentInfo {
    /// The parent facts of `h`, its digest taken with the chain's `suite`.
    fn of(suite: chancery_core::suite::Suite, h: &BlockHeader) -> Self {
        ParentInfo {
            digest: h.hash(suite),
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
    /// The parent's result is not here (neither the tip nor a kept speculative result):
    /// the block's epoch fields cannot be computed.
    #[error("parent {0} is not executed here: expected the tip or a checked block")]
    ParentNotExecuted(Digest),
    /// A block past its epoch's boundary that is not a valid suffix block (R13).
    #[error("suffix block: {0}")]
    Suffix(#[from] chancery_core::epoch::SuffixError),
    /// A suffix block past the most any node builds or votes for.
    #[error("suffix block past the boundary beyond the limit: at most {max} (EPOCH_SUFFIX_MAX)")]
    SuffixTooLong {
        /// The limit.
        max: usize,
    },
    /// The block's encoding is larger than the genesis allows (and than the network carries).
    #[error("block encoding of {found} bytes: expected at most {expected} bytes (block_bytes_max of the genesis plus the header)")]
    TooLarge {
        /// The limit, bytes.
        expected: usize,
        /// The block's encoding, bytes.
        found: usize,
    },
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
    /// Most transactions per block.
    pub block_txs_max: usize,
    /// Most transaction bytes per block.
    pub block_bytes_max: usize,
    /// Most transaction bytes per block the network's limits were sized for.
    block_bytes_max_wire: usize,
    /// Largest block encoding (the payload of a proposal): derived from `block_bytes_max`
    /// as the network's limits are, so every block built or accepted can be sent.
    pub block_payload_bytes_max: usize,
    /// How many transactions our proposals carry, from the measured execution time.
    pub pace: Pace,
    /// The node's metrics: every commit records its time, its transactions and the
    /// finality of those submitted here (`GET /metrics`). A fresh set by default; the node
    /// shares its own with the API.
    pub metrics: Arc<chancery_api::metrics::Metrics>,
    /// Our last built block: its digest, header and transactions, which the driver sends
    /// by hash (`compact.rs`) and keeps to answer fetches.
    pub last_built: Option<Built>,
    /// The clock the pace measures execution with (the driver's runtime, so that in the
    /// simulator the pace is a function of the seed).
    rt: Arc<dyn Runtime>,
}

/// A block we built, as the driver needs it to send it by hash.
#[derive(Clone, Debug)]
pub struct Built {
    /// The block's digest.
    pub digest: Digest,
    /// Its header.
    pub header: BlockHeader,
    /// Its transactions, in block order.
    pub txs: Vec<chancery_core::tx::VerifiedTx>,
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
        block_txs_max: usize,
        block_bytes_max: usize,
        exec_budget: Duration,
    ) -> App {
        App {
            chain_id: ledger.chain_id(),
            ledger,
            mempool,
            headers: BTreeMap::new(),
            block_txs_max,
            block_bytes_max,
            block_bytes_max_wire: block_bytes_max,
            block_payload_bytes_max: chancery_net::block_encoding_bytes_max(
                u32::try_from(block_bytes_max).unwrap_or(u32::MAX),
            ),
            pace: Pace::new(exec_budget),
            metrics: Arc::default(),
            last_built: None,
            rt: crate::runtime::TokioRuntime::shared(),
        }
    }

    /// Measure execution times with `rt`'s clock (the driver's runtime; the OS clock
    /// until then).
    pub fn set_runtime(&mut self, rt: Arc<dyn Runtime>) {
        self.rt = rt;
    }

    /// Follow the block limits of a new epoch (`set_params`). The largest block encoding
    /// stays what the network was started with (its message limits come from the genesis
    /// on every node), so a `block_bytes_max` raised above the genesis' builds blocks of at
    /// most that size until the nodes restart with larger limits.
    pub fn set_block_limits(&mut self, block_txs_max: usize, block_bytes_max: usize) {
        self.block_txs_max = block_txs_max;
        self.block_bytes_max = block_bytes_max.min(self.block_bytes_max_wire);
    }

    /// The parent facts of `digest`: the tip, or a remembered header.
    pub fn parent_info(&self, digest: &Digest) -> Option<ParentInfo> {
        let tip = self.ledger.tip();
        if tip.hash == *digest {
            return Some(ParentInfo::from(&tip));
        }
        let suite = self.ledger.genesis().crypto;
        self.headers.get(digest).map(|h| ParentInfo::of(suite, h))
    }

    /// Remember the header of a block the consensus core holds (a certified parent), so
    /// that an empty block can be built or checked on it even when it cannot be executed
    /// on (R15, the held-parent rule). A payload that does not decode, or whose header
    /// does not hash to the block's digest, is ignored.
    pub fn remember_held(&mut self, block: &CBlock) {
        if self.headers.contains_key(&block.digest) {
            return;
        }
        let suite = self.ledger.genesis().crypto;
        if let Ok(b) = codec::decode_in::<Block>(suite, &block.payload) {
            if b.header.hash(suite) == block.digest {
                self.remember(&b.header);
            }
        }
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
        self.headers
            .insert(h.hash(self.ledger.genesis().crypto), h.clone());
    }

    /// The header of `digest`: a remembered one, or the tip's.
    fn header_of(&self, digest: &Digest) -> Option<BlockHeader> {
        if let Some(h) = self.headers.get(digest) {
            return Some(h.clone());
        }
        let tip = self.ledger.tip();
        if tip.hash != *digest {
            return None;
        }
        self.ledger
            .block_header(tip.height)
            .ok()
            .flatten()
            .map(|(h, _)| h)
    }

    /// If a block of `epoch` on `parent` is a suffix block (R13, docs/governance.md): the
    /// boundary header of `epoch` it follows and the suffix headers from the boundary's
    /// child up to `parent` (empty when `parent` is the boundary). `None` when `parent` is
    /// not the boundary of `epoch` nor a suffix block past it (as far as the remembered
    /// headers tell, at most [`EPOCH_SUFFIX_MAX`] of them).
    pub fn suffix_past(
        &self,
        parent: &Digest,
        epoch: Epoch,
    ) -> Option<(BlockHeader, Vec<BlockHeader>)> {
        let mut suffix = Vec::new();
        let mut d = *parent;
        loop {
            let h = self.header_of(&d)?;
            if h.epoch != epoch {
                return None;
            }
            if h.is_boundary() {
                suffix.reverse();
                return Some((h, suffix));
            }
            // Suffix blocks are empty; past the bound none is built or voted for.
            if h.tx_count != 0 || suffix.len() >= EPOCH_SUFFIX_MAX {
                return None;
            }
            d = h.parent;
            suffix.push(h);
        }
    }

    /// Build the suffix block of `view` on `parent` past `boundary` (`suffix` so far).
    fn build_suffix(
        &mut self,
        boundary: &BlockHeader,
        suffix: &[BlockHeader],
        view: View,
        proposer: u16,
        now: TimestampMs,
    ) -> Result<CBlock, BlockCheckError> {
        if suffix.len() >= EPOCH_SUFFIX_MAX {
            return Err(BlockCheckError::SuffixTooLong {
                max: EPOCH_SUFFIX_MAX,
            });
        }
        let parent = suffix.last().unwrap_or(boundary);
        let time = TimestampMs(now.0.max(parent.time.0 + 1));
        let header = suffix_child(
            self.ledger.genesis().crypto,
            boundary,
            parent,
            view,
            proposer,
            time,
        );
        let block = Block {
            header,
            txs: Vec::new(),
        };
        let cblock = to_consensus(self.ledger.genesis().crypto, &block);
        self.remember(&block.header);
        self.last_built = Some(Built {
            digest: cblock.digest,
            header: block.header,
            txs: Vec::new(),
        });
        Ok(cblock)
    }

    /// Can a block with transactions be built or checked on `parent` now: is it the tip,
    /// or a block whose speculative result is kept (R15)?
    pub fn can_execute_on(&self, parent: &Digest) -> bool {
        self.ledger.can_execute_on(parent)
    }

    /// Would a block on `parent` carry transactions: can it be executed on, and does the
    /// pool hold a transaction that is executable after it (one not in the parent's chain)?
    pub fn has_work_on(&self, parent: &Digest) -> bool {
        if self.mempool.is_empty() {
            return false;
        }
        let Ok(view) = self.ledger.view_on(parent) else {
            return false;
        };
        let limits = BlockLimits {
            txs_max: 1,
            bytes_max: self.block_bytes_max,
            rotation: 0,
        };
        !self.mempool.select(&limits, &ParentView(view)).is_empty()
    }

    /// Build our block for `view` on `parent`, on the parent's result (the tip or a kept
    /// speculative result, R15). Without the parent's result no block is built: its
    /// epoch fields (`epoch`, `validator_set`, `next_validator_set`) follow from the
    /// state after the parent (a proposal that passed in it may make this block an epoch
    /// boundary), so a header-only guess could be certified and then refused by every
    /// ledger at commit (docs/governance.md). The view then times out and the next leader
    /// proposes.
    pub fn build(
        &mut self,
        epoch: Epoch,
        view: View,
        proposer: u16,
        parent: &BlockRef,
        now: TimestampMs,
    ) -> Result<CBlock, BlockCheckError> {
        if let Some((boundary, suffix)) = self.suffix_past(&parent.digest, epoch) {
            // The parent ends our epoch but is not final yet: only an empty suffix block
            // of this epoch can finalize it (R13), never a block of the next epoch.
            return self.build_suffix(&boundary, &suffix, view, proposer, now);
        }
        let info = self
            .parent_info(&parent.digest)
            .ok_or(BlockCheckError::UnknownParent(parent.digest))?;
        let view_state = self
            .ledger
            .view_on(&parent.digest)
            .map_err(|_| BlockCheckError::ParentNotExecuted(parent.digest))?;
        let time = TimestampMs(now.0.max(info.time.0 + 1));
        let mut header = BlockHeader {
            chain_id: self.chain_id,
            epoch,
            height: parent.height.next(),
            view,
            parent: parent.digest,
            proposer,
            time,
            txs_hash: chancery_core::block::txs_hash(
                self.ledger.genesis().crypto,
                std::iter::empty(),
            ),
            tx_count: 0,
            log_size: info.log_size,
            log_root: info.log_root,
            state_root: info.state_root,
            validator_set: chancery_core::Digest::ZERO,
            next_validator_set: chancery_core::Digest::ZERO,
        };
        let started = self.rt.now();
        let limits = BlockLimits {
            txs_max: self.pace.txs_max(self.block_txs_max),
            bytes_max: self.block_bytes_max,
            rotation: header.height.0,
        };
        let verified = self.mempool.select(&limits, &ParentView(view_state));
        let checked: Vec<CheckedTx> = verified.iter().cloned().map(CheckedTx::from).collect();
        let ex = self
            .ledger
            .execute_on(&parent.digest, &checked, time, header.height)?;
        ex.fill_header(&mut header);
        if header.epoch != epoch {
            // The parent ended our epoch: the block belongs to the next one, whose
            // consensus has not started here yet.
            return Err(mismatch("epoch", epoch, header.epoch));
        }
        let txs: Vec<_> = checked.iter().map(|c| c.tx().clone()).collect();
        self.pace
            .observe(txs.len(), self.rt.now().saturating_duration_since(started));
        let block = Block { header, txs };
        let cblock = to_consensus(self.ledger.genesis().crypto, &block);
        // Never build a proposal the network would refuse (issue 14, finding 6).
        self.check_size(&cblock)?;
        // Our own block's result: the next leader (us, or a peer's block we check) builds
        // on it before it is finalized (R15).
        self.ledger.keep_speculative(cblock.digest, &ex);
        self.remember(&block.header);
        self.last_built = Some(Built {
            digest: cblock.digest,
            header: block.header,
            txs: verified,
        });
        Ok(cblock)
    }

    fn check_size(&self, cblock: &CBlock) -> Result<(), BlockCheckError> {
        if cblock.payload.len() > self.block_payload_bytes_max {
            return Err(BlockCheckError::TooLarge {
                expected: self.block_payload_bytes_max,
                found: cblock.payload.len(),
            });
        }
        Ok(())
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
        self.check_size(cblock)?;
        let suite = self.ledger.genesis().crypto;
        let block: Block = codec::decode_in(suite, &cblock.payload)?;
        let h = &block.header;
        let digest = h.hash(suite);
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
        if let Some((boundary, mut suffix)) = self.suffix_past(&parent.digest, epoch) {
            // Past the boundary of our epoch only a suffix block: empty, changing nothing,
            // within the bound (R13). Its header is all there is to check.
            if !block.txs.is_empty() {
                return Err(mismatch(
                    "transactions",
                    "none (a suffix block)",
                    block.txs.len(),
                ));
            }
            if suffix.len() >= EPOCH_SUFFIX_MAX {
                return Err(BlockCheckError::SuffixTooLong {
                    max: EPOCH_SUFFIX_MAX,
                });
            }
            suffix.push(h.clone());
            check_suffix(self.ledger.genesis().crypto, &boundary, &suffix)?;
            self.remember(h);
            return Ok(true);
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
        }
        if !self.can_execute_on(&parent.digest) {
            // Neither the tip nor a block we checked: wait for the parent's commit. An
            // empty block waits too: its epoch fields follow from the parent's state.
            return Ok(false);
        }
        let started = self.rt.now();
        let mempool = &self.mempool;
        let checked = verify_block_txs(&self.chain_id, block.txs.clone(), |hash| {
            mempool.verified(hash)
        });
        // On the parent's result: a leader that executed on a stale state (another
        // branch, or an ancestor's state) gets different roots and is refused below.
        let ex = self
            .ledger
            .execute_on(&parent.digest, &checked, h.time, h.height)?;
        self.pace.observe(
            block.txs.len(),
            self.rt.now().saturating_duration_since(started),
        );
        let mut want = h.clone();
        ex.fill_header(&mut want);
        // Every field execution decides, the epoch fields included: a header the ledger
        // would refuse at commit must never get our vote (a certified block that no
        // ledger applies would stop the chain).
        if want.epoch != h.epoch {
            return Err(mismatch("epoch", want.epoch, h.epoch));
        }
        for (field, a, b) in [
            ("txs_hash", want.txs_hash, h.txs_hash),
            ("log_root", want.log_root, h.log_root),
            ("state_root", want.state_root, h.state_root),
            ("validator_set", want.validator_set, h.validator_set),
            (
                "next_validator_set",
                want.next_validator_set,
                h.next_validator_set,
            ),
        ] {
            if a != b {
                return Err(mismatch(field, a, b));
            }
        }
        if want.log_size != h.log_size {
            return Err(mismatch("log_size", want.log_size, h.log_size));
        }
        // Valid: keep its result for its children and for its commit (R15).
        self.ledger.keep_speculative(digest, &ex);
        self.remember(h);
        Ok(true)
    }

    /// Commit a finalized block. `cert` finalizes it directly, or finalizes the last of
    /// `descendants` (the headers from its child on), which finalizes it too. `checked`:
    /// the verdicts on its transactions when this node verified them ahead (see
    /// [`chancery_ledger::Ledger::apply_checked`]); without them the ledger verifies.
    fn commit(
        &mut self,
        block: &Block,
        cert: &Certificate,
        descendants: &[BlockHeader],
        checked: Option<&[CheckedTx]>,
    ) -> Result<chancery_ledger::Applied, BlockCheckError> {
        let started = self.rt.now();
        let applied = match checked {
            Some(c) => self.ledger.apply_checked(block, c, cert, descendants)?,
            None => self.ledger.apply_by_descendant(block, cert, descendants)?,
        };
        let spent = self.rt.now().saturating_duration_since(started);
        let view_state = LedgerView(&self.ledger);
        let sweep = self.mempool.on_committed(block.txs.iter(), &view_state);
        self.metrics
            .block_committed(block.txs.len(), spent, &sweep.committed, &sweep.stale);
        let tip = self.ledger.tip().height;
        self.headers.retain(|_, x| x.height > tip);
        Ok(applied)
    }

    /// Commit a run of consecutive finalized blocks, each with the certificate that
    /// finalized it (its own, or that of a later block in the run), in order. Stops at the
    /// first block that does not apply. Returns the blocks applied, and an error for the
    /// block that did not apply or, when the run ends with blocks whose certificate names a
    /// block outside the run, for the first of them: no block is ever skipped silently.
    pub fn commit_run(&mut self, run: Vec<FinalBlock>) -> RunOutcome {
        self.commit_run_with(run, || None)
    }

    /// [`App::commit_run`] for blocks fetched by catch-up, which this node has not checked
    /// before: a second thread verifies their transactions' signatures (each block spread
    /// over the cores), at most [`FETCHED_VERIFIED_AHEAD_MAX`] blocks ahead of execution,
    /// and each block is applied with those verdicts instead of verifying again. Every
    /// other check of the ledger (certificate, links, every root) still runs.
    pub fn commit_fetched_run(&mut self, run: Vec<FinalBlock>) -> RunOutcome {
        let chain = self.chain_id;
        // Blocks are committed in run order, so the verdicts come in the same order.
        let txs: Vec<_> = run.iter().map(|f| f.block.txs.clone()).collect();
        let (verdicts, ahead) = std::sync::mpsc::sync_channel(FETCHED_VERIFIED_AHEAD_MAX);
        std::thread::scope(|s| {
            let verifier = std::thread::Builder::new()
                .name("verify-block".into())
                .spawn_scoped(s, move || {
                    for t in txs {
                        if verdicts
                            .send(verify_block_txs(&chain, t, |_| None))
                            .is_err()
                        {
                            break; // the run stopped
                        }
                    }
                });
            if verifier.is_err() {
                // No thread to spare: the ledger verifies each block as it applies it.
                return self.commit_run(run);
            }
            // `ahead` is dropped when the run ends, which stops the verifier.
            self.commit_run_with(run, move || ahead.recv().ok())
        })
    }

    /// [`App::commit_run`], taking each block's verdicts, in commit order, from
    /// `next_checked` (`None`: the ledger verifies).
    fn commit_run_with(
        &mut self,
        run: Vec<FinalBlock>,
        mut next_checked: impl FnMut() -> Option<Vec<CheckedTx>>,
    ) -> RunOutcome {
        let mut applied = Vec::new();
        let mut waiting: Vec<FinalBlock> = Vec::new();
        for f in run {
            if !f.anchored(self.ledger.genesis().crypto) {
                waiting.push(f);
                continue;
            }
            // The headers from the first waiting block's child up to the certified one:
            // the blocks of the run, then the suffix of a boundary.
            let mut headers: Vec<BlockHeader> =
                waiting.iter().map(|w| w.block.header.clone()).collect();
            headers.push(f.block.header.clone());
            headers.extend(f.suffix.iter().cloned());
            let cert = f.cert;
            let linked = std::mem::take(&mut waiting)
                .into_iter()
                .map(|w| w.block)
                .chain(std::iter::once(f.block));
            for (i, b) in linked.enumerate() {
                let checked = next_checked();
                if let Err(source) = self.commit(&b, &cert, &headers[i + 1..], checked.as_deref()) {
                    return RunOutcome {
                        applied,
                        error: Some(CommitRunError::Apply {
                            height: b.header.height,
                            source,
                        }),
                    };
                }
                applied.push(b);
            }
        }
        let error = waiting.first().map(|w| CommitRunError::Unlinked {
            height: w.block.header.height,
            hash: w.block.header.hash(self.ledger.genesis().crypto),
            cert_block: w.cert.block,
            left: waiting.len(),
        });
        RunOutcome { applied, error }
    }
}

/// A finalized block as it is committed: the block, the certificate that finalized it
/// (its own, or a descendant's), and, for an epoch's boundary block finalized through the
/// old epoch's suffix blocks (docs/governance.md), the suffix headers from its child up to
/// the certified one (never applied; the ledger keeps them for the epoch link). The
/// ledger checks all of it.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
#[bincode(decode_context = "chancery_core::suite::Suite")]
pub struct FinalBlock {
    /// The block.
    pub block: Block,
    /// The certificate that finalized it.
    pub cert: Certificate,
    /// Suffix headers (boundary blocks only; empty otherwise).
    pub suffix: Vec<BlockHeader>,
}

impl FinalBlock {
    /// A block with its certificate and no suffix.
    pub fn new(block: Block, cert: Certificate) -> FinalBlock {
        FinalBlock {
            block,
            cert,
            suffix: Vec::new(),
        }
    }

    /// Whether its certificate signs the block itself or the last of its suffix headers,
    /// so that it can be committed without the blocks after it.
    fn anchored(&self, suite: chancery_core::suite::Suite) -> bool {
        self.cert.block == self.block.header.hash(suite)
            || self
                .suffix
                .last()
                .is_some_and(|s| s.hash(suite) == self.cert.block)
    }

    /// Its canonical encoding's size with the suffix headers, in bytes.
    pub fn encoded_len(&self) -> usize {
        codec::encode(&self.block).len()
            + self
                .suffix
                .iter()
                .map(|h| codec::encode(h).len())
                .sum::<usize>()
    }
}

/// What [`App::commit_run`] did.
#[derive(Debug)]
pub struct RunOutcome {
    /// The blocks applied, in height order (announce exactly these).
    pub applied: Vec<Block>,
    /// Why the rest of the run was not applied, if anything was left.
    pub error: Option<CommitRunError>,
}

/// Why part of a run of finalized blocks was not applied.
#[derive(Debug, thiserror::Error)]
pub enum CommitRunError {
    /// The block does not apply (bad link, certificate, execution, or storage).
    #[error("finalized block {height} does not apply: {source}")]
    Apply {
        /// Its height.
        height: Height,
        /// Why.
        source: BlockCheckError,
    },
    /// The run ends with blocks whose certificate's block is not in the run.
    #[error("{left} finalized block(s) from height {height} ({hash}) cannot be linked to their certificate's block {cert_block}, which is not in the run")]
    Unlinked {
        /// Height of the first block left.
        height: Height,
        /// Its header hash.
        hash: Digest,
        /// The block its certificate finalizes.
        cert_block: Digest,
        /// How many blocks were left.
        left: usize,
    },
}

impl CommitRunError {
    /// Height of the first block not applied.
    pub fn height(&self) -> Height {
        match self {
            CommitRunError::Apply { height, .. } | CommitRunError::Unlinked { height, .. } => {
                *height
            }
        }
    }

    /// A failure of this node's own storage, after which it cannot go on (as opposed to a
    /// block from peers that does not apply).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            CommitRunError::Apply {
                source: BlockCheckError::Ledger(
                    chancery_ledger::LedgerError::Store(_)
                        | chancery_ledger::LedgerError::Corrupt { .. }
                        | chancery_ledger::LedgerError::Torn { .. }
                ),
                ..
            }
        )
    }
}

/// Chancery's digest rule for consensus blocks: the payload is a canonical kernel block
/// whose header hash is the digest and whose header names the same parent, height and view.
#[derive(Debug, Default, Clone, Copy)]
pub struct KernelBinding {
    /// The chain's crypto suite: how blocks decode and hash.
    pub suite: chancery_core::suite::Suite,
}

impl chancery_consensus::BlockBinding for KernelBinding {
    fn check(&self, block: &CBlock) -> Result<(), String> {
        let decoded: Block = codec::decode_in(self.suite, &block.payload)
            .map_err(|e| format!("payload is not a canonical block: {e}"))?;
        let h = &decoded.header;
        let hash = h.hash(self.suite);
        if hash != block.digest {
            return Err(format!(
                "payload hashes to {hash}, expected the digest {}",
                block.digest
            ));
        }
        if h.parent != block.parent || h.height != block.height || h.view != block.view {
            return Err(format!(
                "payload header names parent {} height {} view {}, expected {} {} {}",
                h.parent, h.height, h.view, block.parent, block.height, block.view
            ));
        }
        Ok(())
    }

    /// The boundary block of an epoch commits the next set (docs/governance.md). One
    /// decode per delivered block, as the driver's commit does.
    fn ends_epoch(&self, block: &CBlock) -> bool {
        codec::decode_in::<Block>(self.suite, &block.payload)
            .is_ok_and(|b| b.header.next_validator_set != chancery_core::Digest::ZERO)
    }
}

/// The consensus view of a kernel block.
pub fn to_consensus(suite: chancery_core::suite::Suite, block: &Block) -> CBlock {
    CBlock {
        digest: block.header.hash(suite),
        parent: block.header.parent,
        height: block.header.height,
        view: block.header.view,
        payload: codec::encode(block),
    }
}

/// An application over an in-memory ledger of the fixture's genesis (tests).
#[cfg(test)]
pub(crate) fn test_app(fx: &chancery_ledger::testing::fixture::Fixture) -> App {
    let store = Arc::new(chancery_storage::MemStore::new());
    let ledger = Arc::new(Ledger::open(store, &fx.genesis).expect("ledger"));
    test_app_on(fx, ledger)
}

/// An application over `ledger` (tests).
#[cfg(test)]
pub(crate) fn test_app_on(
    fx: &chancery_ledger::testing::fixture::Fixture,
    ledger: Arc<Ledger>,
) -> App {
    let mempool = Mempool::new(
        fx.genesis.chain_id(),
        chancery_mempool::MempoolConfig::default(),
    )
    .expect("mempool");
    App::new(
        ledger,
        mempool,
        fx.genesis.params.block_txs_max as usize,
        fx.genesis.params.block_bytes_max as usize,
        Duration::from_millis(50),
    )
}

#[cfg(test)]
mod pace_tests {
    use super::*;

    #[test]
    fn pace_fits_the_budget_and_stays_within_bounds() {
        let mut p = Pace::new(Duration::from_millis(100));
        // Before any sample: a modest start, never above the ceiling.
        assert_eq!(p.txs_max(10_000), PACE_TXS_MIN * 4);
        assert_eq!(p.txs_max(100), 100);
        // 100 us per transaction: 1,000 fit in 100 ms.
        p.observe(2_000, Duration::from_millis(200));
        assert_eq!(p.us_per_tx(), Some(100.0));
        assert_eq!(p.txs_max(10_000), 1_000);
        assert_eq!(p.txs_max(500), 500);
        // Tiny blocks are not samples.
        p.observe(10, Duration::from_secs(10));
        assert_eq!(p.txs_max(10_000), 1_000);
        // A slower machine shrinks blocks, down to the floor.
        for _ in 0..30 {
            p.observe(1_000, Duration::from_secs(5));
        }
        assert_eq!(p.txs_max(10_000), PACE_TXS_MIN);
        // A fast one grows them, up to the ceiling.
        for _ in 0..60 {
            p.observe(1_000, Duration::from_micros(1_000));
        }
        assert_eq!(p.txs_max(10_000), 10_000);
    }
}

#[cfg(test)]
mod fetched_run_tests {
    use super::*;
    use chancery_core::record::Role;
    use chancery_ledger::testing::{fixture::Fixture, propose_and_apply};
    use chancery_storage::MemStore;

    fn app(fx: &Fixture) -> App {
        super::test_app(fx)
    }

    /// `n` finalized blocks of 5 document anchors each, as a peer would send them.
    fn run(fx: &Fixture, n: u64) -> Vec<FinalBlock> {
        let src = Ledger::open(Arc::new(MemStore::new()), &fx.genesis).unwrap();
        let key = fx.signer("mof", Role::Archivist).clone();
        for h in 0..n {
            let txs = (0..5)
                .map(|i| {
                    let r = chancery_ledger::testing::fixture::anchor(&format!("{h}-{i}"));
                    fx.tx(&key, h * 5 + i, r)
                })
                .collect();
            propose_and_apply(&src, fx, txs).unwrap();
        }
        (1..=n)
            .map(|h| {
                let (b, c) = src.block(Height(h)).unwrap().unwrap();
                FinalBlock::new(b, c)
            })
            .collect()
    }

    fn heights(out: &RunOutcome) -> Vec<u64> {
        out.applied.iter().map(|b| b.header.height.0).collect()
    }

    #[test]
    fn a_fetched_run_verified_ahead_applies_as_a_run_verified_by_the_ledger() {
        let fx = Fixture::new();
        let blocks = run(&fx, 2 * FETCHED_VERIFIED_AHEAD_MAX as u64 + 3);
        let (mut plain, mut ahead) = (app(&fx), app(&fx));
        // Block 2 is finalized by block 3's certificate.
        let mut blocks2 = blocks.clone();
        blocks2[1].cert = blocks2[2].cert.clone();
        let a = plain.commit_run(blocks2.clone());
        let b = ahead.commit_fetched_run(blocks2);
        assert!(
            a.error.is_none() && b.error.is_none(),
            "{:?} {:?}",
            a.error,
            b.error
        );
        assert_eq!(heights(&b), (1..=blocks.len() as u64).collect::<Vec<_>>());
        assert_eq!(heights(&a), heights(&b));
        assert_eq!(plain.ledger.tip(), ahead.ledger.tip());
    }

    #[test]
    fn a_fetched_block_with_a_forged_signature_is_refused_at_its_height() {
        let fx = Fixture::new();
        let mut blocks = run(&fx, 6);
        // A Byzantine quorum certifies block 4 with a forged transaction signature but
        // the header of the honest execution (where the transaction was applied).
        let b = &mut blocks[3].block;
        b.txs[2].signature.0[0] ^= 1;
        b.header.txs_hash = chancery_core::block::txs_hash(
            chancery_core::suite::Suite::default(),
            b.txs.iter().map(|t| t.hash()),
        );
        blocks[3].cert = fx.finalize(&blocks[3].block);
        let (mut plain, mut ahead) = (app(&fx), app(&fx));
        let a = plain.commit_run(blocks.clone());
        let b = ahead.commit_fetched_run(blocks);
        assert_eq!(heights(&b), vec![1, 2, 3]);
        assert_eq!(heights(&a), heights(&b));
        let e = b.error.expect("refused");
        assert_eq!(e.height(), Height(4));
        assert!(!e.is_fatal());
        assert!(e.to_string().contains("log_root"), "{e}");
        assert_eq!(plain.ledger.tip(), ahead.ledger.tip());
        assert_eq!(ahead.ledger.tip().height, Height(3));
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests decode in the default suite
mod pipeline_tests {
    //! R15: building and checking on a notarized, uncommitted parent.
    use super::*;
    use chancery_core::record::Role;
    use chancery_core::tx::Transaction;
    use chancery_ledger::testing::fixture::{anchor, Fixture};
    use chancery_mempool::Origin;

    fn app(fx: &Fixture) -> App {
        super::test_app(fx)
    }

    fn txs(fx: &Fixture, seqs: std::ops::Range<u64>) -> Vec<Transaction> {
        let key = fx.signer("mof", Role::Archivist);
        seqs.map(|s| fx.tx(key, s, anchor(&format!("p{s}"))))
            .collect()
    }

    fn submit(a: &mut App, txs: Vec<Transaction>) {
        let view = LedgerView(&a.ledger);
        for r in a.mempool.insert_batch(txs, Origin::Local, now_ms(), &view) {
            r.unwrap();
        }
    }

    fn decode(b: &CBlock) -> Block {
        codec::decode(&b.payload).unwrap()
    }

    fn now_ms() -> TimestampMs {
        crate::driver::now_ms()
    }

    fn reference(b: &CBlock) -> BlockRef {
        b.reference()
    }

    #[test]
    fn a_leader_builds_on_a_notarized_parent_and_the_commit_does_not_execute_again() {
        let fx = Fixture::new();
        let (mut leader, mut checker) = (app(&fx), app(&fx));
        let genesis = BlockRef {
            digest: leader.ledger.tip().hash,
            height: Height(0),
            view: View(0),
        };
        submit(&mut leader, txs(&fx, 0..3));
        let b1 = leader
            .build(Epoch(0), View(1), 1, &genesis, now_ms())
            .unwrap();
        assert_eq!(decode(&b1).txs.len(), 3);
        assert!(matches!(
            checker.check(&b1, &genesis, 1, Epoch(0), now_ms()),
            Verdict::Valid
        ));
        // More work arrives; height 1 is notarized, not finalized. The leader of view 2
        // builds on it at once, with the transactions that follow height 1's.
        submit(&mut leader, txs(&fx, 3..5));
        assert!(leader.can_execute_on(&b1.digest));
        assert!(leader.has_work_on(&b1.digest));
        let b2 = leader
            .build(Epoch(0), View(2), 2, &reference(&b1), now_ms())
            .unwrap();
        let body2 = decode(&b2);
        let seqs: Vec<u64> = body2.txs.iter().map(|t| t.body.seq.0).collect();
        assert_eq!(seqs, vec![3, 4]);
        assert!(!leader.has_work_on(&b2.digest), "nothing follows height 2");
        assert!(matches!(
            checker.check(&b2, &reference(&b1), 2, Epoch(0), now_ms()),
            Verdict::Valid
        ));
        // Both finalize: nobody executes them again.
        let (before_l, before_c) = (leader.ledger.executions(), checker.ledger.executions());
        for a in [&mut leader, &mut checker] {
            let blocks = [decode(&b1), decode(&b2)];
            let run = blocks
                .into_iter()
                .map(|b| {
                    let c = fx.finalize(&b);
                    FinalBlock::new(b, c)
                })
                .collect();
            let out = a.commit_run(run);
            assert!(out.error.is_none(), "{:?}", out.error);
        }
        assert_eq!(leader.ledger.executions(), before_l);
        assert_eq!(checker.ledger.executions(), before_c);
        assert_eq!(leader.ledger.tip(), checker.ledger.tip());
        assert_eq!(leader.ledger.tip().hash, b2.digest);
    }

    #[test]
    fn a_block_executed_on_a_stale_state_is_refused() {
        let fx = Fixture::new();
        let (mut leader, mut byz, mut checker) = (app(&fx), app(&fx), app(&fx));
        let genesis = BlockRef {
            digest: leader.ledger.tip().hash,
            height: Height(0),
            view: View(0),
        };
        submit(&mut leader, txs(&fx, 0..3));
        let b1 = leader
            .build(Epoch(0), View(1), 1, &genesis, now_ms())
            .unwrap();
        assert!(matches!(
            checker.check(&b1, &genesis, 1, Epoch(0), now_ms()),
            Verdict::Valid
        ));
        // A Byzantine leader of view 2 extends height 1 but executes its block on the
        // state before height 1 (a stale state): a block of seq 0..2 again, then relabelled
        // as height 2 on height 1, correctly signed and bound.
        submit(&mut byz, txs(&fx, 0..2));
        let stale = byz.build(Epoch(0), View(2), 2, &genesis, now_ms()).unwrap();
        let mut block = decode(&stale);
        block.header.height = Height(2);
        block.header.parent = b1.digest;
        block.header.time = TimestampMs(decode(&b1).header.time.0 + 1);
        let forged = to_consensus(chancery_core::suite::Suite::default(), &block);
        match checker.check(&forged, &reference(&b1), 2, Epoch(0), now_ms()) {
            Verdict::Invalid(BlockCheckError::Header { field, .. }) => {
                assert!(
                    ["txs_hash", "log_root", "state_root", "log_size"].contains(&field),
                    "{field}"
                )
            }
            v => panic!("expected a refused header, got {v:?}"),
        }
        // Its result is not kept: nothing can be built on it.
        assert!(!checker.can_execute_on(&forged.digest));
    }

    #[test]
    fn a_block_on_a_parent_never_checked_waits_for_the_parent() {
        let fx = Fixture::new();
        let (mut leader, mut late) = (app(&fx), app(&fx));
        let genesis = BlockRef {
            digest: leader.ledger.tip().hash,
            height: Height(0),
            view: View(0),
        };
        submit(&mut leader, txs(&fx, 0..2));
        let b1 = leader
            .build(Epoch(0), View(1), 1, &genesis, now_ms())
            .unwrap();
        submit(&mut leader, txs(&fx, 2..4));
        let b2 = leader
            .build(Epoch(0), View(2), 2, &reference(&b1), now_ms())
            .unwrap();
        // `late` never checked height 1: height 2 waits for height 1's commit.
        assert!(matches!(
            late.check(&b2, &reference(&b1), 2, Epoch(0), now_ms()),
            Verdict::NeedParent
        ));
        let b = decode(&b1);
        let c = fx.finalize(&b);
        assert!(late.commit_run(vec![FinalBlock::new(b, c)]).error.is_none());
        assert!(matches!(
            late.check(&b2, &reference(&b1), 2, Epoch(0), now_ms()),
            Verdict::Valid
        ));
    }
    /// The core stops delivering at a boundary block (R13) only if the binding says which
    /// block that is: the one whose header commits the next set.
    #[test]
    fn the_binding_names_the_block_that_ends_its_epoch() {
        use chancery_consensus::BlockBinding;
        let fx = Fixture::new();
        let mut leader = app(&fx);
        let genesis = BlockRef {
            digest: leader.ledger.tip().hash,
            height: Height(0),
            view: View(0),
        };
        let plain = leader
            .build(Epoch(0), View(1), 1, &genesis, now_ms())
            .unwrap();
        assert!(KernelBinding::default().check(&plain).is_ok());
        assert!(!KernelBinding::default().ends_epoch(&plain));
        let mut block = decode(&plain);
        block.header.next_validator_set = Digest([5; 32]);
        assert!(KernelBinding::default().ends_epoch(&to_consensus(
            chancery_core::suite::Suite::default(),
            &block
        )));
    }

    /// A Byzantine leader's header with forged epoch fields (full or empty block): the
    /// ledger would refuse it at commit (`HeaderMismatch`), so a certified one would stop
    /// the chain; it must never get a vote. Before the check compared them, a full block
    /// with a forged `next_validator_set` and an empty block with any `validator_set`
    /// were found valid.
    #[test]
    fn a_header_with_forged_epoch_fields_gets_no_vote() {
        let fx = Fixture::new();
        let mut checker = app(&fx);
        let genesis = BlockRef {
            digest: checker.ledger.tip().hash,
            height: Height(0),
            view: View(0),
        };
        for with_txs in [true, false] {
            let mut leader = app(&fx);
            if with_txs {
                submit(&mut leader, txs(&fx, 0..2));
            }
            let honest = leader
                .build(Epoch(0), View(1), 1, &genesis, now_ms())
                .unwrap();
            assert_eq!(decode(&honest).txs.is_empty(), !with_txs);
            type Forge = fn(&mut BlockHeader);
            let forgeries: [(&str, Forge); 3] = [
                ("next_validator_set", |h| {
                    h.next_validator_set = Digest([5; 32])
                }),
                ("validator_set", |h| h.validator_set = Digest([6; 32])),
                ("epoch", |h| h.epoch = Epoch(1)),
            ];
            for (field, forge) in forgeries {
                let mut block = decode(&honest);
                forge(&mut block.header);
                let forged = to_consensus(chancery_core::suite::Suite::default(), &block);
                // The consensus epoch is the forged one too, as a leader would sign it.
                let epoch = block.header.epoch;
                match checker.check(&forged, &genesis, 1, epoch, now_ms()) {
                    Verdict::Invalid(BlockCheckError::Header { field: f, .. }) => {
                        assert_eq!(f, field, "with txs: {with_txs}")
                    }
                    v => panic!("{field} forged (with txs: {with_txs}): got {v:?}"),
                }
            }
            assert!(matches!(
                checker.check(&honest, &genesis, 1, Epoch(0), now_ms()),
                Verdict::Valid
            ));
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests decode in the default suite
mod metrics_tests {
    use super::*;
    use chancery_api::metrics::Scrape;
    use chancery_core::record::Role;
    use chancery_ledger::testing::fixture::{anchor, Fixture};
    use chancery_mempool::Origin;

    /// Every commit is recorded: its time, its transactions, and the finality of the
    /// transactions submitted here (and only those), which are then no longer tracked.
    #[test]
    fn a_commit_records_its_block_and_the_finality_of_transactions_submitted_here() {
        let fx = Fixture::new();
        let mut a = super::test_app(&fx);
        let key = fx.signer("mof", Role::Archivist);
        let txs: Vec<_> = (0..3)
            .map(|s| fx.tx(key, s, anchor(&format!("m{s}"))))
            .collect();
        let view = LedgerView(&a.ledger);
        let now = crate::driver::now_ms();
        for r in a
            .mempool
            .insert_batch(txs.clone(), Origin::Local, now, &view)
        {
            r.unwrap();
        }
        // Two of the three came through this node's API.
        a.metrics
            .submitted_at(txs[..2].iter().map(|t| t.hash()), std::time::Instant::now());
        let genesis = BlockRef {
            digest: a.ledger.tip().hash,
            height: Height(0),
            view: View(0),
        };
        let b1 = a.build(Epoch(0), View(1), 1, &genesis, now).unwrap();
        let block: Block = codec::decode(&b1.payload).unwrap();
        assert_eq!(block.txs.len(), 3);
        let cert = fx.finalize(&block);
        let out = a.commit_run(vec![FinalBlock::new(block, cert)]);
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(a.metrics.submissions_tracked(), 0);
        let text = a.metrics.render(&Scrape::default());
        for line in [
            "chancery_transaction_finality_seconds_count 2\n",
            "chancery_block_commit_duration_seconds_count 1\n",
            "chancery_block_transactions_count 1\n",
            "chancery_block_transactions_sum 3.0\n",
            "chancery_blocks_committed_total 1\n",
            "chancery_transactions_committed_total 3\n",
        ] {
            assert!(text.contains(line), "{line:?} missing:\n{text}");
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests decode in the default suite
mod suffix_tests {
    //! R13 in the node: past a boundary that is notarized but not final, leaders build and
    //! validators accept only empty suffix blocks of the old epoch (docs/governance.md).
    use super::*;
    use chancery_core::record::Role;
    use chancery_ledger::testing::fixture::{anchor, named_key};
    use chancery_ledger::testing::governed::{rotate, Chain, ALL};
    use chancery_mempool::Origin;

    /// A chain whose next block ends epoch 0, an app over it that checked the boundary
    /// (built by another leader, with a transaction), and the boundary's reference.
    fn at_boundary() -> (Chain, App, CBlock) {
        let mut c = Chain::new();
        let new = named_key("v3-app-suffix");
        assert_eq!(
            c.pass("rotate", vec![rotate("v3", &new)], &ALL),
            chancery_core::block::Outcome::Applied
        );
        c.run_to_boundary();
        let mut leader = test_app_on(&c.fx, c.ledger.clone());
        let key = c.fx.signer("mof", Role::Archivist).clone();
        let seq = match c.ledger.state_value(&StateKey::Seq(key.public())).unwrap() {
            Some(StateValue::Seq(s)) => s.0,
            _ => 0,
        };
        let tx = c.fx.tx(&key, seq, anchor("boundary"));
        let view = LedgerView(&leader.ledger);
        for r in
            leader
                .mempool
                .insert_batch(vec![tx], Origin::Local, crate::driver::now_ms(), &view)
        {
            r.unwrap();
        }
        let tip = c.ledger.tip();
        let parent = BlockRef {
            digest: tip.hash,
            height: tip.height,
            view: View(tip.height.0),
        };
        let boundary = leader
            .build(Epoch(0), View(100), 0, &parent, crate::driver::now_ms())
            .unwrap();
        let b: Block = codec::decode(&boundary.payload).unwrap();
        assert!(b.header.is_boundary() && b.txs.len() == 1);
        let mut checker = test_app_on(&c.fx, c.ledger.clone());
        assert!(matches!(
            checker.check(&boundary, &parent, 0, Epoch(0), crate::driver::now_ms()),
            Verdict::Valid
        ));
        (c, checker, boundary)
    }

    fn reference(b: &CBlock) -> BlockRef {
        BlockRef {
            digest: b.digest,
            height: b.height,
            view: b.view,
        }
    }

    #[test]
    fn past_a_boundary_only_empty_suffix_blocks_are_built_and_voted_for() {
        let (c, mut app, boundary) = at_boundary();
        let now = crate::driver::now_ms();
        let b = reference(&boundary);
        // The leader of the next view builds an empty block of epoch 0 on the boundary
        // (not a block of epoch 1, whose consensus has not started).
        let s1 = app.build(Epoch(0), View(101), 1, &b, now).unwrap();
        let h1 = codec::decode::<Block>(&s1.payload).unwrap();
        let bh = codec::decode::<Block>(&boundary.payload).unwrap().header;
        assert_eq!(
            check_suffix(
                chancery_core::suite::Suite::default(),
                &bh,
                std::slice::from_ref(&h1.header)
            ),
            Ok(s1.digest)
        );
        assert!(h1.txs.is_empty());
        // A second suffix block on the first, checked by another node.
        let mut other = test_app_on(&c.fx, c.ledger.clone());
        other.remember_held(&boundary);
        assert!(matches!(
            other.check(&s1, &b, 1, Epoch(0), now),
            Verdict::Valid
        ));
        let s2 = other
            .build(Epoch(0), View(102), 2, &reference(&s1), now)
            .unwrap();
        assert!(matches!(
            app.check(&s2, &reference(&s1), 2, Epoch(0), now),
            Verdict::Valid
        ));

        // Forged suffix blocks get no vote: one with a transaction, one that changes the
        // state root, one of the next epoch.
        let key = c.fx.signer("moe", Role::Archivist).clone();
        let mut with_tx = h1.clone();
        with_tx.txs = vec![c.fx.tx(&key, 0, anchor("smuggled"))];
        with_tx.header.tx_count = 1;
        with_tx.header.txs_hash = chancery_core::block::txs_hash(
            chancery_core::suite::Suite::default(),
            with_tx.txs.iter().map(|t| t.hash()),
        );
        let mut new_root = h1.clone();
        new_root.header.state_root = Digest([9; 32]);
        for (what, forged) in [("a transaction", with_tx), ("a new state root", new_root)] {
            let v = app.check(
                &to_consensus(chancery_core::suite::Suite::default(), &forged),
                &b,
                1,
                Epoch(0),
                now,
            );
            assert!(matches!(v, Verdict::Invalid(_)), "{what}: {v:?}");
        }
        let mut next_epoch = h1.clone();
        next_epoch.header.epoch = Epoch(1);
        let v = app.check(
            &to_consensus(chancery_core::suite::Suite::default(), &next_epoch),
            &b,
            1,
            Epoch(1),
            now,
        );
        assert!(
            matches!(v, Verdict::Invalid(_)),
            "a block of epoch 1: {v:?}"
        );
    }

    #[test]
    fn no_suffix_block_is_built_or_voted_for_past_the_limit() {
        let (c, mut app, boundary) = at_boundary();
        let now = crate::driver::now_ms();
        let mut parent = reference(&boundary);
        for i in 0..EPOCH_SUFFIX_MAX as u64 {
            let s = app
                .build(Epoch(0), View(101 + i), (i % 4) as u16, &parent, now)
                .unwrap();
            parent = reference(&s);
        }
        assert!(matches!(
            app.build(Epoch(0), View(500), 0, &parent, now),
            Err(BlockCheckError::SuffixTooLong { .. })
        ));
        // Another leader's block there is refused too.
        let last = app.headers[&parent.digest].clone();
        let bh = codec::decode::<Block>(&boundary.payload).unwrap().header;
        let over = Block {
            header: suffix_child(
                chancery_core::suite::Suite::default(),
                &bh,
                &last,
                View(500),
                0,
                TimestampMs(last.time.0 + 1),
            ),
            txs: vec![],
        };
        let v = app.check(
            &to_consensus(chancery_core::suite::Suite::default(), &over),
            &parent,
            0,
            Epoch(0),
            now,
        );
        assert!(
            matches!(v, Verdict::Invalid(BlockCheckError::SuffixTooLong { .. })),
            "{v:?}"
        );
        drop(c);
    }

    /// Catch-up across a boundary finalized through suffix blocks: a peer's sync answer
    /// carries the suffix, and a node starting from the genesis applies the run through
    /// the boundary into the next epoch; without the suffix the boundary cannot be linked
    /// to its certificate and nothing past it applies.
    #[test]
    fn block_sync_carries_a_boundarys_suffix_and_catch_up_crosses_it() {
        use crate::sync::{answer, SyncRequest, SyncResponse};
        let mut c = Chain::new();
        let new = named_key("v3-sync-suffix");
        c.pass("rotate", vec![rotate("v3", &new)], &ALL);
        c.run_to_boundary();
        let (b, suffix, cert) = c.boundary_with_suffix(vec![], 3);
        c.ledger.apply_by_descendant(&b, &cert, &suffix).unwrap();
        c.keys.insert("v3".into(), new);
        c.empty_blocks(2);
        let tip = c.ledger.tip();
        let recent = crate::compact::RecentTxs::new();
        let req = codec::encode(&SyncRequest::Blocks {
            from: Height(1),
            max: 64,
        });
        let bytes = answer(
            &c.ledger,
            &recent,
            &crate::statesync::SnapshotOffers::new(0),
            &req,
            16 << 20,
        )
        .unwrap();
        let SyncResponse::Blocks { blocks } = codec::decode(&bytes).unwrap() else {
            panic!("blocks expected");
        };
        assert_eq!(blocks.len() as u64, tip.height.0);
        let at = (b.header.height.0 - 1) as usize;
        assert_eq!(blocks[at].suffix, suffix);
        assert!(blocks
            .iter()
            .enumerate()
            .all(|(i, f)| i == at || f.suffix.is_empty()));

        // Without the suffix the boundary is not final: the next epoch's certificate does
        // not finalize it (a certificate is valid only in its own epoch).
        let mut stripped = blocks.clone();
        stripped[at].suffix.clear();
        let mut late = test_app(&c.fx);
        let out = late.commit_fetched_run(stripped);
        let e = out.error.expect("refused");
        assert_eq!(e.height(), b.header.height, "{e}");
        assert_eq!(late.ledger.tip().height.next(), b.header.height);

        let mut fresh = test_app(&c.fx);
        let out = fresh.commit_fetched_run(blocks);
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(fresh.ledger.tip(), tip);
        assert_eq!(fresh.ledger.block_suffix(b.header.height).unwrap(), suffix);
    }
}
