//! The Simplex state machine: [`Core::handle`] takes one [`Input`] and returns the
//! [`Effect`]s the host must carry out. Rule numbers (`R1`..`R12`) refer to
//! `docs/consensus.md`, which cites the paper for each.

use crate::binding::BlockBinding;
use crate::verify::{bad_items, verify_certificate, KernelVerifier, Verifier};
use crate::wire::{leader_of, Block, BlockRef, Evidence, Message, Proposal, ProposalMsg, Vote};
use chancery_core::cert::{Certificate, IndexedSignature, VoteKind};
use chancery_core::codec::Canonical;
use chancery_core::crypto::{BatchItem, SecretKey};
use chancery_core::ids::{ChainId, Digest, Epoch, Height, View};
use chancery_core::validator::ValidatorSet;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// A peer, named by its index in the current epoch's validator set.
pub type Peer = u16;

/// The timers a core asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeoutKind {
    /// No proposal voted for within `leader_timeout_ms` (2Δ) of entering the view.
    Leader,
    /// The view did not end within `view_timeout_ms` (3Δ).
    View,
    /// Re-broadcast our nullify vote and best certificate while stuck in a view.
    Retry,
    /// A resting view (R14: no work pending) saw no proposal voted for within
    /// `heartbeat_ms + leader_timeout_ms`.
    Rest,
}

/// Static configuration of one core for one epoch.
#[derive(Clone, Debug)]
pub struct Config {
    /// Chain id (genesis hash); every signed message includes it.
    pub chain_id: ChainId,
    /// The epoch's validator set (its epoch is the core's epoch).
    pub set: ValidatorSet,
    /// Our consensus key; `None` runs an observer that follows but never votes.
    pub key: Option<SecretKey>,
    /// The last finalized block (the epoch root): genesis is `{ZERO, 0, 0}`.
    pub root: BlockRef,
    /// Finalization certificate of `root`, if there is one in this epoch.
    pub root_cert: Option<Certificate>,
    /// Leader (proposal) timeout, 2Δ, in milliseconds.
    pub leader_timeout_ms: u64,
    /// View timeout, 3Δ, in milliseconds.
    pub view_timeout_ms: u64,
    /// Interval between nullify re-broadcasts, in milliseconds.
    pub nullify_retry_ms: u64,
    /// Votes and proposals for views more than this far ahead of ours are dropped.
    pub views_ahead_max: u64,
    /// Unfinalized views more than this far behind ours are pruned.
    pub views_behind_max: u64,
    /// Most blocks being fetched at once.
    pub fetches_max: usize,
    /// How many finalized proposals are kept to answer block requests.
    pub finalized_kept_max: usize,
    /// The core never signs a new vote in a view at or below this one (of this epoch): the
    /// host's signing high-water mark when its stored votes may have been lost (a wiped or
    /// restored database, issue 14 finding 4). `None`: the restored votes are complete.
    pub sign_floor: Option<View>,
    /// R14: the longest an idle leader waits before proposing a (heartbeat) block, in
    /// milliseconds; while the host reports no pending work ([`Input::Work`]) a view waits
    /// `heartbeat_ms + leader_timeout_ms` for its proposal instead of the leader and view
    /// timeouts. 0: never rest (every view times out after 2Δ/3Δ).
    pub heartbeat_ms: u64,
}

impl Config {
    /// A configuration with timeouts derived from Δ (the assumed message delay bound).
    pub fn with_delta(
        chain_id: ChainId,
        set: ValidatorSet,
        key: Option<SecretKey>,
        root: BlockRef,
        delta_ms: u64,
    ) -> Config {
        Config {
            chain_id,
            set,
            key,
            root,
            root_cert: None,
            leader_timeout_ms: 2 * delta_ms,
            view_timeout_ms: 3 * delta_ms,
            nullify_retry_ms: 3 * delta_ms,
            views_ahead_max: 64,
            views_behind_max: 512,
            fetches_max: 64,
            finalized_kept_max: 128,
            sign_floor: None,
            heartbeat_ms: 0,
        }
    }
}

/// Why a [`Config`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The validator set is malformed.
    #[error("invalid validator set: {0}")]
    InvalidSet(#[from] chancery_core::codec::ValidationError),
    /// A limit is zero.
    #[error("limit `{name}` must be at least 1, found 0")]
    ZeroLimit {
        /// Which limit.
        name: &'static str,
    },
}

/// What the host feeds the core.
#[derive(Clone, Debug)]
pub enum Input {
    /// Start (or restart) the core: enter the first view, re-send restored votes.
    Start,
    /// Bytes received from a peer.
    Message {
        /// Sender.
        from: Peer,
        /// Raw bytes (decoded and verified by the core).
        bytes: Vec<u8>,
    },
    /// Several messages at once: their vote signatures are verified as one batch.
    Messages(Vec<(Peer, Vec<u8>)>),
    /// A timer set by [`Effect::ScheduleTimeout`] fired.
    Timeout {
        /// Its view.
        view: View,
        /// Its kind.
        kind: TimeoutKind,
    },
    /// Answer to [`Effect::Propose`]: the application's block.
    Proposed {
        /// The block (its `view`, `parent` and `height` must match the request).
        block: Block,
    },
    /// Answer to [`Effect::Validate`].
    Validated {
        /// The block's digest.
        digest: Digest,
        /// Whether the application accepts it.
        valid: bool,
    },
    /// The write of [`Effect::Persist`] with this id is durable.
    PersistAcked {
        /// Its id.
        id: u64,
    },
    /// Whether the application has work pending (transactions waiting for a block). With
    /// [`Config::heartbeat_ms`] > 0, views rest while there is none (R14). The core assumes
    /// work until told otherwise.
    Work {
        /// Is anything waiting?
        pending: bool,
    },
    /// A new validator set takes over for blocks from `from_height` on. Applied when the
    /// block at `from_height - 1` is finalized; views restart at 1 in the new epoch.
    EpochChange {
        /// The new set (its epoch must be greater than the current one).
        set: ValidatorSet,
        /// First height it governs.
        from_height: Height,
    },
}

/// What the core asks the host to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send to one peer (encode with [`Message::encode`]).
    Send {
        /// Recipient.
        to: Peer,
        /// Message.
        message: Message,
    },
    /// Send to every other validator.
    Broadcast {
        /// Message.
        message: Message,
    },
    /// Call back with [`Input::Timeout`] after `after_ms`. Timers are never cancelled; the
    /// core ignores stale ones.
    ScheduleTimeout {
        /// View.
        view: View,
        /// Kind.
        kind: TimeoutKind,
        /// Delay in milliseconds.
        after_ms: u64,
    },
    /// Durably store our own vote, then answer [`Input::PersistAcked`]. On restart, pass
    /// every stored vote of the current epoch to [`Core::new`]. Votes of views at or below
    /// the finalized root may be dropped.
    Persist {
        /// Id to acknowledge.
        id: u64,
        /// The vote.
        vote: Vote,
    },
    /// We lead `view`: build a block on `parent` and answer [`Input::Proposed`].
    Propose {
        /// View.
        view: View,
        /// Parent to extend.
        parent: BlockRef,
    },
    /// Check this block against its parent and answer [`Input::Validated`]. The parent is
    /// the root or a block earlier passed to `Validate`, `Finalized`, or `Proposed`, or a
    /// notarized block fetched from peers.
    Validate {
        /// The block.
        block: Block,
        /// Its parent.
        parent: BlockRef,
    },
    /// A finalized block, delivered in height order exactly once. `finalization` is the
    /// certificate that finalized it: for its own digest, or for a descendant whose parent
    /// links lead to it.
    Finalized {
        /// The block.
        block: Block,
        /// The finalization certificate.
        finalization: Certificate,
    },
    /// Proof that a validator signed conflicting votes.
    Evidence(Evidence),
    /// A peer sent something invalid (undecodable bytes, a bad signature, ...).
    PeerMisbehaved {
        /// The peer.
        peer: Peer,
        /// What it did.
        reason: String,
    },
    /// A new epoch began with this root block.
    EpochChanged {
        /// New epoch.
        epoch: Epoch,
        /// Its root (the last block of the previous epoch, view 0).
        root: BlockRef,
    },
}

#[derive(Default, Debug)]
struct Mine {
    notarize: Option<Vote>,
    nullify: Option<Vote>,
    finalize: Option<Vote>,
}

#[derive(Default, Debug)]
struct ViewState {
    /// The leader's first justified proposal.
    proposal: Option<Proposal>,
    /// A certified block of this view fetched from a peer.
    fetched: Option<Proposal>,
    validating: Option<Digest>,
    notarizes: BTreeMap<u16, Vote>,
    nullifies: BTreeMap<u16, Vote>,
    finalizes: BTreeMap<u16, Vote>,
    notarization: Option<Certificate>,
    nullification: Option<Certificate>,
    finalization: Option<Certificate>,
    mine: Mine,
    accused: BTreeSet<u16>,
}

impl ViewState {
    fn block(&self, digest: &Digest) -> Option<&Proposal> {
        self.proposal
            .iter()
            .chain(self.fetched.iter())
            .find(|p| p.block.digest == *digest)
    }

    /// The block certified as notarized (or finalized) in this view, if any.
    fn certified(&self) -> Option<Digest> {
        self.finalization
            .as_ref()
            .or(self.notarization.as_ref())
            .map(|c| c.block)
    }
}

#[derive(Debug)]
struct PendingSend {
    vote: Vote,
    proposal: Option<ProposalMsg>,
}

/// The sans-IO Simplex core for one validator (or observer).
pub struct Core {
    cfg: Config,
    me: Option<u16>,
    view: View,
    root: BlockRef,
    root_cert: Option<Certificate>,
    views: BTreeMap<View, ViewState>,
    index: HashMap<Digest, View>,
    pending: BTreeMap<u64, PendingSend>,
    next_id: u64,
    pending_final: Option<Certificate>,
    wanted: BTreeMap<Digest, u32>,
    recent: VecDeque<Proposal>,
    pending_epoch: Option<(ValidatorSet, Height)>,
    /// The set before the last epoch switch: senders of a batch that switched the epoch
    /// were named in it (R13, [`Core::renamed`]).
    previous_set: Option<ValidatorSet>,
    /// The root ends its epoch ([`BlockBinding::ends_epoch`]) and the host has not yet told
    /// the core of the next set: nothing more is delivered in this epoch (R13).
    at_boundary: bool,
    propose_asked: Option<(View, BlockRef, View)>,
    restored: Vec<Vote>,
    /// The lowest view of this epoch whose own-vote records the core still holds: views
    /// below it were pruned, so the vote gate refuses to sign there. Only ever rises
    /// within an epoch.
    floor: View,
    /// The host's sign floor and the epoch it applies to ([`Config::sign_floor`]).
    sign_floor: Option<(Epoch, View)>,
    /// The host's last word on pending work ([`Input::Work`]); true until it speaks.
    work: bool,
    /// The view that rests (R14): its leader and view timeouts are ignored, its `Rest`
    /// timeout counts instead.
    resting: Option<View>,
    verifier: Box<dyn Verifier>,
    binding: Box<dyn BlockBinding>,
    out: Vec<Effect>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("epoch", &self.cfg.set.epoch)
            .field("me", &self.me)
            .field("view", &self.view)
            .field("root", &self.root)
            .finish()
    }
}

impl Core {
    /// Build a core from its configuration and the votes it persisted before a restart
    /// (empty on first start), with the application's digest rule. Call [`Input::Start`]
    /// next.
    pub fn new(
        cfg: Config,
        restored: Vec<Vote>,
        binding: Box<dyn BlockBinding>,
    ) -> Result<Core, ConfigError> {
        Core::with_verifier(cfg, restored, Box::new(KernelVerifier), binding)
    }

    /// [`Core::new`] with a custom signature verifier.
    pub fn with_verifier(
        cfg: Config,
        restored: Vec<Vote>,
        verifier: Box<dyn Verifier>,
        binding: Box<dyn BlockBinding>,
    ) -> Result<Core, ConfigError> {
        cfg.set.validate()?;
        for (name, v) in [
            ("leader_timeout_ms", cfg.leader_timeout_ms),
            ("view_timeout_ms", cfg.view_timeout_ms),
            ("nullify_retry_ms", cfg.nullify_retry_ms),
            ("views_ahead_max", cfg.views_ahead_max),
            ("views_behind_max", cfg.views_behind_max),
            ("fetches_max", cfg.fetches_max as u64),
        ] {
            if v == 0 {
                return Err(ConfigError::ZeroLimit { name });
            }
        }
        let me = cfg.key.as_ref().and_then(|k| cfg.set.index_of(&k.public()));
        let root = cfg.root;
        let root_cert = cfg.root_cert.clone();
        let sign_floor = cfg.sign_floor.map(|v| (cfg.set.epoch, v));
        Ok(Core {
            cfg,
            me,
            view: root.view,
            root,
            root_cert,
            views: BTreeMap::new(),
            index: HashMap::new(),
            pending: BTreeMap::new(),
            next_id: 0,
            pending_final: None,
            wanted: BTreeMap::new(),
            recent: VecDeque::new(),
            pending_epoch: None,
            previous_set: None,
            at_boundary: false,
            propose_asked: None,
            restored,
            floor: View(0),
            sign_floor,
            work: true,
            resting: None,
            verifier,
            binding,
            out: Vec::new(),
        })
    }

    /// Current view.
    pub fn view(&self) -> View {
        self.view
    }

    /// Current epoch.
    pub fn epoch(&self) -> Epoch {
        self.cfg.set.epoch
    }

    /// The last finalized block.
    pub fn finalized(&self) -> BlockRef {
        self.root
    }

    /// Our index in the validator set, if we are a validator.
    pub fn index(&self) -> Option<u16> {
        self.me
    }

    /// The current validator set.
    pub fn validator_set(&self) -> &ValidatorSet {
        &self.cfg.set
    }

    /// How many views the core holds state for (bounded by `views_ahead_max` ahead and
    /// `views_behind_max` behind the current view; for tests and metrics).
    pub fn views_tracked(&self) -> usize {
        self.views.len()
    }

    /// A block this core holds (a proposal or a fetched block of a view above the root, or
    /// one of the last `finalized_kept_max` finalized blocks and the old epoch's suffix
    /// blocks past its boundary, R13), by digest; it passed the host's
    /// [`crate::BlockBinding`] and, if it is a proposal, its leader's signature. The host
    /// reads it to execute a certified parent it never checked itself (R15: every block the
    /// core hands the host as a parent is held), and to read the block a boundary block's
    /// finalization certificate names when it is a suffix block, never delivered (R13).
    pub fn held_block(&self, digest: &Digest) -> Option<&Block> {
        self.find_block(digest)
            .or_else(|| self.recent.iter().find(|p| p.block.digest == *digest))
            .map(|p| &p.block)
    }

    /// The reference of the root or of a held block ([`Core::held_block`]).
    pub fn held_ref(&self, digest: &Digest) -> Option<BlockRef> {
        self.block_ref(digest)
    }

    /// The leader of `view`: round robin over the set, `view mod n` (R1).
    pub fn leader(&self, view: View) -> u16 {
        leader_of(view, self.cfg.set.len())
    }

    /// The lowest view in which the vote gate may still sign (views below it were pruned
    /// with their own-vote records; see `docs/consensus.md`, vote gate).
    pub fn vote_floor(&self) -> View {
        let host = match self.sign_floor {
            Some((e, v)) if e == self.cfg.set.epoch => v.next(),
            _ => View(0),
        };
        self.floor.max(host).max(self.root.view.next())
    }

    /// Feed one input; returns the effects to carry out, in order.
    pub fn handle(&mut self, input: Input) -> Vec<Effect> {
        match input {
            // R9 (restart: re-send stored votes), R3 (enter the first view).
            Input::Start => self.on_start(),
            // R4 proposals, R5 votes, R11 certificates, R12 block fetches.
            Input::Message { from, bytes } => self.on_messages(vec![(from, bytes)]),
            Input::Messages(list) => self.on_messages(list),
            // R6 nullify on timeout, R7 retry.
            Input::Timeout { view, kind } => self.on_timeout(view, kind),
            // R2 the leader's block.
            Input::Proposed { block } => self.on_proposed(block),
            // R4 notarize a valid block.
            Input::Validated { digest, valid } => self.on_validated(digest, valid),
            // R9 a vote leaves only once durable.
            Input::PersistAcked { id } => self.on_persisted(id),
            // R13.
            Input::EpochChange { set, from_height } => self.on_epoch_change(set, from_height),
            // R14.
            Input::Work { pending } => self.on_work(pending),
        }
        std::mem::take(&mut self.out)
    }

    // ----- helpers -------------------------------------------------------------------

    fn quorum(&self) -> u64 {
        self.cfg.set.quorum_power()
    }

    fn power_of<'a>(&self, signers: impl Iterator<Item = &'a u16>) -> u64 {
        signers
            .filter_map(|i| self.cfg.set.get(*i))
            .map(|v| v.power)
            .fold(0u64, u64::saturating_add)
    }

    fn in_window(&self, view: View) -> bool {
        view > self.root.view
            && view.0 >= self.view.0.saturating_sub(self.cfg.views_behind_max)
            && view.0 <= self.view.0.saturating_add(self.cfg.views_ahead_max)
    }

    fn state(&mut self, view: View) -> &mut ViewState {
        self.views.entry(view).or_default()
    }

    fn find_block(&self, digest: &Digest) -> Option<&Proposal> {
        let v = self.index.get(digest)?;
        self.views.get(v)?.block(digest)
    }

    fn block_ref(&self, digest: &Digest) -> Option<BlockRef> {
        if *digest == self.root.digest {
            return Some(self.root);
        }
        self.find_block(digest).map(|p| p.block.reference())
    }

    fn store_block(&mut self, proposal: Proposal, justified: bool) {
        let view = proposal.block.view;
        let digest = proposal.block.digest;
        let st = self.state(view);
        if justified {
            if st.proposal.is_some() {
                return;
            }
            st.proposal = Some(proposal);
        } else {
            if st.block(&digest).is_some() {
                return;
            }
            st.fetched = Some(proposal);
        }
        self.index.insert(digest, view);
        // Held now, by whichever path: asking peers for it again would only bring a copy.
        self.wanted.remove(&digest);
    }

    /// The vote gate: may we sign a `kind` vote in `view`? Every own vote passes here
    /// (docs/consensus.md §3, "vote gate"). It refuses views below [`Core::vote_floor`]
    /// (finalized, pruned with their own-vote records, or at or below the host's sign
    /// floor) and applies the slot rules to the own votes recorded for the view (which
    /// include every vote restored from storage, R9): one notarize and no notarize after
    /// nullify (R4), no nullify after finalize (R6), no finalize after nullify (R8), and
    /// at most one vote of each kind.
    fn may_sign(&self, view: View, kind: VoteKind) -> bool {
        if self.me.is_none() || self.cfg.key.is_none() || view < self.vote_floor() {
            return false;
        }
        let Some(st) = self.views.get(&view) else {
            return true; // no record in a view at or above the floor: nothing signed there
        };
        let m = &st.mine;
        match kind {
            VoteKind::Notarize => m.notarize.is_none() && m.nullify.is_none(),
            VoteKind::Nullify => m.nullify.is_none() && m.finalize.is_none(),
            VoteKind::Finalize => m.finalize.is_none() && m.nullify.is_none(),
        }
    }

    /// Sign, record and persist one own vote if the gate allows it (R9: it leaves only once
    /// durable, with `proposal` for the leader's own notarize). Returns whether it signed.
    fn sign_gated(
        &mut self,
        view: View,
        kind: VoteKind,
        block: Digest,
        proposal: Option<ProposalMsg>,
    ) -> bool {
        if !self.may_sign(view, kind) {
            return false;
        }
        let (Some(me), Some(key)) = (self.me, self.cfg.key.as_ref()) else {
            return false;
        };
        let vote = Vote::sign(
            self.cfg.chain_id,
            self.cfg.set.epoch,
            view,
            kind,
            block,
            me,
            key,
        );
        if kind == VoteKind::Notarize {
            // R14: a view whose proposal we vote for no longer rests; the view timeout
            // watches for its notarization.
            if self.resting == Some(view) {
                self.resting = None;
                self.schedule(view, TimeoutKind::View, self.cfg.view_timeout_ms);
            }
        }
        let mine = &mut self.state(view).mine;
        match kind {
            VoteKind::Notarize => mine.notarize = Some(vote),
            VoteKind::Nullify => mine.nullify = Some(vote),
            VoteKind::Finalize => mine.finalize = Some(vote),
        }
        self.persist(vote, proposal);
        true
    }

    /// R9: persist our vote before it leaves; it is sent on [`Input::PersistAcked`].
    fn persist(&mut self, vote: Vote, proposal: Option<ProposalMsg>) {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.pending.insert(id, PendingSend { vote, proposal });
        self.out.push(Effect::Persist { id, vote });
    }

    fn schedule(&mut self, view: View, kind: TimeoutKind, after_ms: u64) {
        self.out.push(Effect::ScheduleTimeout {
            view,
            kind,
            after_ms,
        });
    }

    fn broadcast(&mut self, message: Message) {
        self.out.push(Effect::Broadcast { message });
    }

    fn misbehaved(&mut self, peer: Peer, reason: String) {
        self.out.push(Effect::PeerMisbehaved { peer, reason });
    }

    // ----- start, views, timeouts ----------------------------------------------------

    fn on_start(&mut self) {
        let epoch = self.cfg.set.epoch;
        let restored = std::mem::take(&mut self.restored);
        let mut top = self.root.view.next();
        for v in restored {
            if v.epoch != epoch || v.view <= self.root.view || Some(v.signer) != self.me {
                continue;
            }
            top = top.max(v.view);
            let st = self.state(v.view);
            // R9: the stored vote is the only vote we may send in its slot.
            match v.kind {
                VoteKind::Notarize => st.mine.notarize = Some(v),
                VoteKind::Nullify => st.mine.nullify = Some(v),
                VoteKind::Finalize => st.mine.finalize = Some(v),
            }
        }
        // Count and re-send every restored vote (they were durable, so maybe sent).
        let mine: Vec<Vote> = self
            .views
            .values()
            .flat_map(|s| {
                [s.mine.notarize, s.mine.nullify, s.mine.finalize]
                    .into_iter()
                    .flatten()
            })
            .collect();
        self.enter_view(top);
        for v in mine {
            self.broadcast(Message::Vote(v));
            self.add_vote(v);
        }
    }

    /// R3: enter `view` (only ever forwards).
    fn enter_view(&mut self, view: View) {
        if view <= self.view {
            return;
        }
        self.view = view;
        self.prune();
        if self.cfg.heartbeat_ms > 0 && !self.work {
            self.rest(view);
        } else {
            self.resting = None;
            self.schedule(view, TimeoutKind::Leader, self.cfg.leader_timeout_ms);
            self.schedule(view, TimeoutKind::View, self.cfg.view_timeout_ms);
        }
        if self
            .views
            .get(&view)
            .is_some_and(|s| s.mine.nullify.is_some())
        {
            self.schedule(view, TimeoutKind::Retry, self.cfg.nullify_retry_ms);
        }
        self.try_propose();
        self.try_vote();
    }

    /// R14: `view` rests: only a proposal or the `Rest` timeout ends our wait in it.
    fn rest(&mut self, view: View) {
        self.resting = Some(view);
        let after_ms = self
            .cfg
            .heartbeat_ms
            .saturating_add(self.cfg.leader_timeout_ms);
        self.schedule(view, TimeoutKind::Rest, after_ms);
    }

    /// R14: `view` stops resting: its leader and view timeouts run again, from now.
    fn wake(&mut self, view: View) {
        if self.resting != Some(view) {
            return;
        }
        self.resting = None;
        self.schedule(view, TimeoutKind::Leader, self.cfg.leader_timeout_ms);
        self.schedule(view, TimeoutKind::View, self.cfg.view_timeout_ms);
    }

    /// R14: the host says whether work is pending. Work wakes a resting view; its absence
    /// lets the current view rest if nothing happened in it yet (no proposal being checked,
    /// no vote of ours).
    fn on_work(&mut self, pending: bool) {
        if self.work == pending {
            return;
        }
        self.work = pending;
        let view = self.view;
        if pending {
            self.wake(view);
            return;
        }
        if self.cfg.heartbeat_ms == 0 || self.resting == Some(view) || view <= self.root.view {
            return;
        }
        let untouched = self.views.get(&view).is_none_or(|s| {
            s.validating.is_none()
                && s.mine.notarize.is_none()
                && s.mine.nullify.is_none()
                && s.mine.finalize.is_none()
        });
        if untouched {
            self.rest(view);
        }
    }

    fn prune(&mut self) {
        let floor = View(
            self.view
                .0
                .saturating_sub(self.cfg.views_behind_max)
                .max(self.root.view.0),
        );
        // The own-vote records below `floor` go: the gate never signs there again.
        self.floor = self.floor.max(floor);
        let keep = self.views.split_off(&floor);
        let dropped = std::mem::replace(&mut self.views, keep);
        for st in dropped.values() {
            for p in st.proposal.iter().chain(st.fetched.iter()) {
                self.index.remove(&p.block.digest);
            }
        }
        self.pending_final = self
            .pending_final
            .take()
            .filter(|c| c.view > self.root.view);
    }

    fn on_timeout(&mut self, view: View, kind: TimeoutKind) {
        self.refetch();
        if view != self.view {
            return; // stale
        }
        let (voted, nullified) = match self.views.get(&view) {
            Some(s) => (s.mine.notarize.is_some(), s.mine.nullify.is_some()),
            None => (false, false),
        };
        let resting = self.resting == Some(view);
        match kind {
            // R14: a resting view waits for its heartbeat proposal, not for 2Δ/3Δ.
            TimeoutKind::Leader | TimeoutKind::View if resting => {}
            TimeoutKind::Rest if resting && !voted && !nullified => self.nullify(view),
            // R6: no proposal voted within 2Δ, or the view did not end within 3Δ.
            TimeoutKind::Leader if !voted && !nullified => self.nullify(view),
            TimeoutKind::View if !nullified => self.nullify(view),
            // R7: still stuck: re-send our nullify and the certificates we hold.
            TimeoutKind::Retry if nullified => {
                if let Some(v) = self.views.get(&view).and_then(|s| s.mine.nullify) {
                    self.broadcast(Message::Vote(v));
                }
                let prev = View(view.0.saturating_sub(1));
                let prev_cert = self.views.get(&prev).and_then(|s| {
                    s.finalization
                        .clone()
                        .or_else(|| s.notarization.clone())
                        .or_else(|| s.nullification.clone())
                });
                if let Some(c) = prev_cert {
                    self.broadcast(Message::Certificate(c));
                }
                if let Some(c) = self.root_cert.clone() {
                    self.broadcast(Message::Certificate(c));
                }
                self.schedule(view, TimeoutKind::Retry, self.cfg.nullify_retry_ms);
            }
            _ => {}
        }
    }

    /// R6: sign nullify for `view` unless we finalized it (never both).
    fn nullify(&mut self, view: View) {
        if self.sign_gated(view, VoteKind::Nullify, Digest::ZERO, None) {
            self.schedule(view, TimeoutKind::Retry, self.cfg.nullify_retry_ms);
        }
    }

    fn on_persisted(&mut self, id: u64) {
        let Some(p) = self.pending.remove(&id) else {
            return;
        };
        if p.vote.epoch != self.cfg.set.epoch {
            return;
        }
        if let Some(msg) = p.proposal {
            self.broadcast(Message::Proposal(msg));
        }
        self.broadcast(Message::Vote(p.vote));
        self.add_vote(p.vote);
    }

    // ----- proposing -----------------------------------------------------------------

    /// R2: the leader proposes on the highest notarized block, with every view between
    /// it and the current one nullified.
    fn try_propose(&mut self) {
        let view = self.view;
        if self.me != Some(self.leader(view)) || self.cfg.key.is_none() {
            return;
        }
        if self.propose_asked.is_some_and(|(v, _, _)| v == view) {
            return;
        }
        // A leader that may not notarize its own block does not propose one.
        if !self.may_sign(view, VoteKind::Notarize)
            || self.views.get(&view).is_some_and(|s| s.proposal.is_some())
        {
            return;
        }
        let Some((parent, parent_view)) = self.choose_parent(view) else {
            return;
        };
        self.propose_asked = Some((view, parent, parent_view));
        self.out.push(Effect::Propose { view, parent });
    }

    fn choose_parent(&mut self, view: View) -> Option<(BlockRef, View)> {
        let mut w = View(view.0.checked_sub(1)?);
        while w > self.root.view {
            let st = self.views.get(&w)?;
            let (certified, nullified) = (st.certified(), st.nullification.is_some());
            if let Some(d) = certified {
                let Some(r) = self.block_ref(&d) else {
                    self.want(d);
                    return None;
                };
                // R13: a block at or past the last height of the epoch (the boundary
                // block) notarized in a view that is also nullified is dead: its own view
                // can never finalize it, and a descendant would belong to the next epoch,
                // which starts only once a block at that height is finalized. The leader
                // skips its view (nullified, so R4 lets it) instead of extending it.
                let boundary = self
                    .pending_epoch
                    .as_ref()
                    .is_some_and(|(_, from)| r.height.next() >= *from)
                    || self
                        .find_block(&d)
                        .is_some_and(|p| self.binding.ends_epoch(&p.block));
                if !(boundary && nullified) {
                    return Some((r, w));
                }
            }
            if !nullified {
                return None;
            }
            w = View(w.0 - 1);
        }
        Some((self.root, self.root.view))
    }

    fn on_proposed(&mut self, block: Block) {
        let Some((view, parent, parent_view)) = self.propose_asked else {
            return;
        };
        if block.view != view
            || view != self.view
            || block.parent != parent.digest
            || block.height != parent.height.next()
        {
            return;
        }
        let Some(key) = self.cfg.key.clone() else {
            return;
        };
        let Some(me) = self.me else { return };
        if !self.may_sign(view, VoteKind::Notarize) {
            return;
        }
        let digest = block.digest;
        let proposal = Proposal::sign(
            self.cfg.chain_id,
            self.cfg.set.epoch,
            parent_view,
            block,
            me,
            &key,
        );
        let parent_cert = if parent_view == self.root.view {
            self.root_cert.clone()
        } else {
            self.views
                .get(&parent_view)
                .and_then(|s| s.notarization.clone().or_else(|| s.finalization.clone()))
        };
        let nullifications: Vec<Certificate> = (parent_view.0 + 1..view.0)
            .filter_map(|w| {
                self.views
                    .get(&View(w))
                    .and_then(|s| s.nullification.clone())
            })
            .collect();
        let msg = ProposalMsg {
            proposal: proposal.clone(),
            parent_cert,
            nullifications,
        };
        self.store_block(proposal, true);
        self.sign_gated(view, VoteKind::Notarize, digest, Some(msg));
    }

    // ----- voting --------------------------------------------------------------------

    /// R4: notarize the leader's proposal in our view if it extends a notarized parent
    /// over nullified views, after the application validates it.
    fn try_vote(&mut self) {
        let view = self.view;
        if !self.may_sign(view, VoteKind::Notarize) {
            return;
        }
        let Some(st) = self.views.get(&view) else {
            return;
        };
        if st.validating.is_some() {
            return;
        }
        let Some(p) = st.proposal.clone() else {
            return;
        };
        let parent = if p.parent_view == self.root.view {
            if p.block.parent != self.root.digest {
                return;
            }
            self.root
        } else {
            match self.block_ref(&p.block.parent) {
                Some(r) => r,
                None => {
                    self.want(p.block.parent);
                    return;
                }
            }
        };
        if parent.height.next() != p.block.height || parent.view != p.parent_view {
            return;
        }
        let digest = p.block.digest;
        self.state(view).validating = Some(digest);
        self.out.push(Effect::Validate {
            block: p.block,
            parent,
        });
    }

    fn on_validated(&mut self, digest: Digest, valid: bool) {
        let view = self.view;
        let Some(st) = self.views.get(&view) else {
            return;
        };
        if st.validating != Some(digest) || !valid {
            return;
        }
        self.sign_gated(view, VoteKind::Notarize, digest, None);
    }

    // ----- messages ------------------------------------------------------------------

    fn on_messages(&mut self, list: Vec<(Peer, Vec<u8>)>) {
        // R13: the host named the senders by their index in the set current when it handed
        // the batch over. If a message of the batch switches the epoch, the senders of the
        // rest, and of the votes collected so far, are renamed into the new set (those not
        // in it are dropped), so that a report never names whoever holds their old index.
        let named_in = self.cfg.set.epoch;
        let mut renamed = false;
        let mut votes: Vec<(Peer, Vote)> = Vec::new();
        for (from, bytes) in list {
            let from = if self.cfg.set.epoch == named_in {
                from
            } else {
                if !renamed {
                    votes = self.renamed_votes(votes);
                    renamed = true;
                }
                match self.renamed(from) {
                    Some(f) => f,
                    None => continue,
                }
            };
            if usize::from(from) >= self.cfg.set.len() {
                continue;
            }
            let msg = match Message::decode(self.cfg.set.suite(), &bytes) {
                Ok(m) => m,
                Err(e) => {
                    self.misbehaved(from, format!("undecodable message: {e}"));
                    continue;
                }
            };
            match msg {
                Message::Vote(v) => votes.push((from, v)),
                Message::Proposal(p) => self.on_proposal(from, p),
                Message::Certificate(c) => self.on_certificate(from, c),
                Message::BlockRequest { digest } => self.on_block_request(from, digest),
                Message::Block(p) => self.on_fetched(from, p),
                Message::Evidence(ev) => self.on_evidence(from, ev),
            }
        }
        if !renamed && self.cfg.set.epoch != named_in {
            votes = self.renamed_votes(votes);
        }
        if !votes.is_empty() {
            self.on_votes(votes);
        }
    }

    /// R13: the index in the current set of the validator that was `from` in the set
    /// before the last switch, matched by name (a validator's identity across epochs, as
    /// the host names its peers); `None` when it is no longer a validator.
    fn renamed(&self, from: Peer) -> Option<Peer> {
        let name = &self.previous_set.as_ref()?.get(from)?.name;
        let i = self
            .cfg
            .set
            .validators
            .iter()
            .position(|v| &v.name == name)?;
        u16::try_from(i).ok()
    }

    fn renamed_votes(&self, votes: Vec<(Peer, Vote)>) -> Vec<(Peer, Vote)> {
        votes
            .into_iter()
            .filter_map(|(from, v)| self.renamed(from).map(|f| (f, v)))
            .collect()
    }

    /// R5 (collection): check votes cheaply, verify the survivors as one batch, count.
    fn on_votes(&mut self, votes: Vec<(Peer, Vote)>) {
        let chain_id = self.cfg.chain_id;
        let mut fresh: Vec<(Peer, Vote)> = Vec::new();
        let mut seen: std::collections::HashSet<Vote> = std::collections::HashSet::new();
        for (from, v) in votes {
            if v.epoch != self.cfg.set.epoch
                || !self.in_window(v.view)
                || usize::from(v.signer) >= self.cfg.set.len()
            {
                continue;
            }
            if let Some(st) = self.views.get(&v.view) {
                let (have, cert) = match v.kind {
                    VoteKind::Notarize => (st.notarizes.get(&v.signer), &st.notarization),
                    VoteKind::Nullify => (st.nullifies.get(&v.signer), &st.nullification),
                    VoteKind::Finalize => (st.finalizes.get(&v.signer), &st.finalization),
                };
                if have == Some(&v) || (have.is_none() && cert.is_some()) {
                    continue;
                }
                if have.is_some() && st.accused.contains(&v.signer) {
                    continue;
                }
            }
            if !seen.insert(v) {
                continue;
            }
            fresh.push((from, v));
        }
        let messages: Vec<Vec<u8>> = fresh
            .iter()
            .map(|(_, v)| v.body(chain_id).signed_message())
            .collect();
        let mut items = Vec::with_capacity(fresh.len());
        for ((_, v), m) in fresh.iter().zip(&messages) {
            if let Some(val) = self.cfg.set.get(v.signer) {
                items.push(BatchItem {
                    key: val.consensus_key,
                    message: m,
                    signature: v.signature,
                });
            }
        }
        let bad: BTreeSet<usize> = bad_items(self.verifier.as_mut(), &items)
            .into_iter()
            .collect();
        let epoch = self.cfg.set.epoch;
        for (i, (from, v)) in fresh.into_iter().enumerate() {
            // R13: a vote of this batch completed the boundary's finalization and switched
            // the epoch: the rest were checked against the old set and count no more (views
            // restart in the new epoch); their senders are named in the new set.
            let from = if self.cfg.set.epoch == epoch {
                from
            } else {
                match self.renamed(from) {
                    Some(f) if bad.contains(&i) => f,
                    _ => continue,
                }
            };
            if bad.contains(&i) {
                self.misbehaved(
                    from,
                    format!(
                        "bad signature on a {:?} vote claimed by {}",
                        v.kind, v.signer
                    ),
                );
                continue;
            }
            self.add_vote(v);
        }
    }

    /// Count a verified vote; form a certificate at quorum (R5); keep evidence (R10).
    fn add_vote(&mut self, v: Vote) {
        // Only votes of the current epoch count (R13: views restart at each switch).
        if v.epoch != self.cfg.set.epoch || (!self.in_window(v.view) && v.view != self.view) {
            return;
        }
        let st = self.state(v.view);
        // R10: conflicting votes from one signer are evidence.
        let conflict = [
            st.notarizes.get(&v.signer),
            st.nullifies.get(&v.signer),
            st.finalizes.get(&v.signer),
        ]
        .into_iter()
        .flatten()
        .find(|w| w.conflicts_with(&v))
        .copied();
        if let Some(first) = conflict {
            self.record_evidence(Evidence::Votes { first, second: v });
        }
        let st = self.state(v.view);
        let map = match v.kind {
            VoteKind::Notarize => &mut st.notarizes,
            VoteKind::Nullify => &mut st.nullifies,
            VoteKind::Finalize => &mut st.finalizes,
        };
        if map.contains_key(&v.signer) {
            return; // first vote of a kind counts; a conflicting one is evidence only
        }
        map.insert(v.signer, v);
        let signers: Vec<(u16, chancery_core::ids::Signature)> = map
            .values()
            .filter(|w| w.block == v.block)
            .map(|w| (w.signer, w.signature))
            .collect();
        let has_cert = match v.kind {
            VoteKind::Notarize => st.notarization.is_some(),
            VoteKind::Nullify => st.nullification.is_some(),
            VoteKind::Finalize => st.finalization.is_some(),
        };
        if has_cert || self.power_of(signers.iter().map(|(i, _)| i)) < self.quorum() {
            return;
        }
        let cert = Certificate {
            kind: v.kind,
            epoch: v.epoch,
            view: v.view,
            block: v.block,
            signatures: signers
                .into_iter()
                .map(|(index, signature)| IndexedSignature { index, signature })
                .collect(),
        };
        self.add_certificate(cert);
    }

    /// R10: report verified evidence once per (epoch, view, culprit) and gossip it once.
    /// Kept only for views the core tracks (at or above its floor, inside its window), so
    /// the record is bounded by the window times the set size.
    fn record_evidence(&mut self, ev: Evidence) {
        let view = ev.view();
        if ev.epoch() != self.cfg.set.epoch || view < self.floor || !self.in_window(view) {
            return;
        }
        if self.state(view).accused.insert(ev.culprit()) {
            self.broadcast(Message::Evidence(ev.clone()));
            self.out.push(Effect::Evidence(ev));
        }
    }

    /// R10: evidence gossiped by a peer; invalid evidence is the sender's misbehaviour.
    fn on_evidence(&mut self, from: Peer, ev: Evidence) {
        let view = ev.view();
        if ev.epoch() != self.cfg.set.epoch || view < self.floor || !self.in_window(view) {
            return; // stale or far ahead: not ours to judge (an honest peer may send it)
        }
        if self
            .views
            .get(&view)
            .is_some_and(|s| s.accused.contains(&ev.culprit()))
        {
            return; // already reported
        }
        let chain_id = self.cfg.chain_id;
        match ev.verify_with(chain_id, &self.cfg.set, self.verifier.as_mut()) {
            Ok(_) => self.record_evidence(ev),
            Err(e) => self.misbehaved(from, format!("invalid evidence: {e}")),
        }
    }

    /// A verified, bound proposal of `view` by its leader: evidence if the core already
    /// holds a different block of that leader for the view.
    fn check_equivocation(&mut self, p: &Proposal) {
        let view = p.block.view;
        let other = self.views.get(&view).and_then(|s| {
            s.proposal
                .iter()
                .chain(s.fetched.iter())
                .find(|q| q.block.digest != p.block.digest && q.proposer == p.proposer)
                .cloned()
        });
        if let Some(first) = other {
            self.record_evidence(Evidence::Proposals {
                first,
                second: p.clone(),
            });
        }
    }

    fn on_certificate(&mut self, from: Peer, c: Certificate) {
        if c.epoch != self.cfg.set.epoch || c.view <= self.root.view {
            return;
        }
        if self.has_certificate(&c) {
            return;
        }
        let chain_id = self.cfg.chain_id;
        match verify_certificate(&c, chain_id, &self.cfg.set, self.verifier.as_mut()) {
            Ok(()) => self.add_certificate(c),
            Err(e) => self.misbehaved(from, format!("invalid certificate: {e}")),
        }
    }

    fn has_certificate(&self, c: &Certificate) -> bool {
        self.views.get(&c.view).is_some_and(|s| {
            let have = match c.kind {
                VoteKind::Notarize => &s.notarization,
                VoteKind::Nullify => &s.nullification,
                VoteKind::Finalize => &s.finalization,
            };
            have.as_ref().is_some_and(|h| h.block == c.block)
        })
    }

    /// R3/R8/R11: store a verified certificate, re-broadcast it, finalize, advance.
    fn add_certificate(&mut self, c: Certificate) {
        if c.view <= self.root.view || self.has_certificate(&c) {
            return;
        }
        let view = c.view;
        let st = self.state(view);
        let slot = match c.kind {
            VoteKind::Notarize => &mut st.notarization,
            VoteKind::Nullify => &mut st.nullification,
            VoteKind::Finalize => &mut st.finalization,
        };
        if slot.is_some() {
            return; // a second, different certificate of one kind: > f Byzantine
        }
        *slot = Some(c.clone());
        // R11: re-broadcast at once so laggards jump ahead.
        self.broadcast(Message::Certificate(c.clone()));
        match c.kind {
            VoteKind::Notarize | VoteKind::Finalize => {
                // R8: finalize a notarized block of a view we did not nullify.
                // The gate refuses views below the floor: a replayed certificate of a
                // pruned view (which we may have nullified) is followed, never signed.
                self.sign_gated(view, VoteKind::Finalize, c.block, None);
                if c.kind == VoteKind::Finalize
                    && self.pending_final.as_ref().is_none_or(|p| p.view < view)
                {
                    self.pending_final = Some(c.clone());
                }
            }
            VoteKind::Nullify => {}
        }
        if view >= self.view {
            self.enter_view(view.next());
        }
        self.try_deliver();
        // The certificate may complete a leader's parent chain.
        self.try_propose();
    }

    // ----- proposals -----------------------------------------------------------------

    fn on_proposal(&mut self, from: Peer, m: ProposalMsg) {
        let p = &m.proposal;
        let view = p.block.view;
        if p.epoch != self.cfg.set.epoch || !self.in_window(view) {
            return;
        }
        if p.proposer != self.leader(view) {
            self.misbehaved(from, format!("proposal for view {view} not by its leader"));
            return;
        }
        let have = self.views.get(&view).and_then(|s| s.proposal.as_ref());
        if have.is_some_and(|h| h.block.digest == p.block.digest) {
            return; // a copy
        }
        let second = have.is_some();
        if !second && (p.parent_view >= view || p.parent_view < self.root.view) {
            return;
        }
        let Some(leader) = self.cfg.set.get(p.proposer) else {
            return;
        };
        let msg = p.signed_message(self.cfg.chain_id);
        let item = BatchItem {
            key: leader.consensus_key,
            message: &msg,
            signature: p.signature,
        };
        if !bad_items(self.verifier.as_mut(), &[item]).is_empty() {
            self.misbehaved(from, format!("bad proposal signature for view {view}"));
            return;
        }
        // The digest must commit to the payload, parent, height and view: a leader could
        // otherwise send some validators other bytes under the digest the quorum certifies.
        if let Err(e) = self.binding.check(&p.block) {
            self.misbehaved(from, format!("proposal for view {view}: {e}"));
            return;
        }
        if second {
            // R10: the leader signed two blocks for one view.
            self.check_equivocation(p);
            return;
        }
        // R4 (justification): the parent's notarization and a nullification per skipped
        // view, each carried here or already known.
        if p.parent_view > self.root.view {
            let known =
                self.views.get(&p.parent_view).and_then(|s| s.certified()) == Some(p.block.parent);
            if !known {
                let ok = m.parent_cert.as_ref().is_some_and(|c| {
                    c.kind != VoteKind::Nullify
                        && c.view == p.parent_view
                        && c.block == p.block.parent
                });
                let Some(c) = m.parent_cert.clone().filter(|_| ok) else {
                    return;
                };
                self.on_certificate(from, c);
                if self.views.get(&p.parent_view).and_then(|s| s.certified())
                    != Some(p.block.parent)
                {
                    return;
                }
            }
        }
        let skipped = (p.parent_view.0 + 1)..view.0;
        for w in skipped {
            let w = View(w);
            if w <= self.root.view {
                return;
            }
            let known = self
                .views
                .get(&w)
                .is_some_and(|s| s.nullification.is_some());
            if known {
                continue;
            }
            let Some(c) = m
                .nullifications
                .iter()
                .find(|c| c.view == w && c.kind == VoteKind::Nullify)
                .cloned()
            else {
                return;
            };
            self.on_certificate(from, c);
            if self.views.get(&w).is_none_or(|s| s.nullification.is_none()) {
                return;
            }
        }
        if !self.in_window(view) {
            return; // certificates moved the root past it
        }
        self.store_block(m.proposal, true);
        self.try_vote();
        self.try_deliver();
    }

    // ----- backfill ------------------------------------------------------------------

    fn want(&mut self, digest: Digest) {
        if self.wanted.contains_key(&digest) || self.wanted.len() >= self.cfg.fetches_max {
            return;
        }
        self.wanted.insert(digest, 0);
        self.request(digest, 0);
    }

    fn request(&mut self, digest: Digest, attempt: u32) {
        let n = self.cfg.set.len() as u64;
        if n == 0 {
            return;
        }
        // Ask a different peer each attempt, starting from a digest-dependent one.
        let start = u64::from(digest.0[0]);
        let mut to = ((start + u64::from(attempt)) % n) as u16;
        if Some(to) == self.me {
            to = ((u64::from(to) + 1) % n) as u16;
        }
        self.out.push(Effect::Send {
            to,
            message: Message::BlockRequest { digest },
        });
    }

    fn refetch(&mut self) {
        let list: Vec<(Digest, u32)> = self.wanted.iter().map(|(d, a)| (*d, *a)).collect();
        for (d, a) in list {
            let a = a.wrapping_add(1);
            self.wanted.insert(d, a);
            self.request(d, a);
        }
    }

    fn on_block_request(&mut self, from: Peer, digest: Digest) {
        let found = self.find_block(&digest).cloned().or_else(|| {
            self.recent
                .iter()
                .find(|p| p.block.digest == digest)
                .cloned()
        });
        if let Some(p) = found {
            self.out.push(Effect::Send {
                to: from,
                message: Message::Block(p),
            });
        }
    }

    fn on_fetched(&mut self, from: Peer, p: Proposal) {
        let digest = p.block.digest;
        if !self.wanted.contains_key(&digest) || p.epoch != self.cfg.set.epoch {
            return;
        }
        let view = p.block.view;
        if view <= self.root.view || p.proposer != self.leader(view) {
            return;
        }
        let Some(leader) = self.cfg.set.get(p.proposer) else {
            return;
        };
        let msg = p.signed_message(self.cfg.chain_id);
        let item = BatchItem {
            key: leader.consensus_key,
            message: &msg,
            signature: p.signature,
        };
        if !bad_items(self.verifier.as_mut(), &[item]).is_empty() {
            self.misbehaved(from, "bad signature on a fetched block".into());
            return;
        }
        // A fetched block must be the block the certificate names: its digest binds its
        // contents. Anything else is misbehaviour; ask the next peer.
        if let Err(e) = self.binding.check(&p.block) {
            self.misbehaved(from, format!("fetched block: {e}"));
            let attempt = self
                .wanted
                .get(&digest)
                .copied()
                .unwrap_or(0)
                .wrapping_add(1);
            self.wanted.insert(digest, attempt);
            self.request(digest, attempt);
            return;
        }
        self.wanted.remove(&digest);
        self.check_equivocation(&p);
        self.store_block(p, false);
        self.try_deliver();
        self.try_propose();
        self.try_vote();
    }

    // ----- finalization --------------------------------------------------------------

    /// R12: a finalization finalizes its block and every ancestor; deliver them in order
    /// once all are present (fetching missing ones).
    fn try_deliver(&mut self) {
        if self.at_boundary {
            return; // R13: the next block belongs to the next epoch
        }
        let Some(cert) = self.pending_final.clone() else {
            return;
        };
        if cert.view <= self.root.view {
            self.pending_final = None;
            return;
        }
        // Walk parent links down to the root: heights step down by exactly one, views
        // strictly, and the lowest block sits on the root at root.height + 1. A block that
        // breaks a link is never delivered: it is dropped and fetched again (its proposer
        // reported when the fault is provably its own).
        let mut chain: Vec<Proposal> = Vec::new();
        let mut d = cert.block;
        while d != self.root.digest {
            let Some(p) = self.find_block(&d) else {
                self.want(d);
                return;
            };
            if let Some(child) = chain.last() {
                if p.block.height.next() != child.block.height || p.block.view >= child.block.view {
                    // One of the two proposers signed an inconsistent link; which one
                    // cannot be told apart, so both blocks are dropped and fetched again.
                    let (p, child) = (p.clone(), child.clone());
                    self.forget_block(&child);
                    self.forget_block(&p);
                    self.want(child.block.digest);
                    return;
                }
            }
            if p.block.height <= self.root.height || p.block.view <= self.root.view {
                let p = p.clone();
                self.reject_link(&p, "is not above the root");
                return;
            }
            d = p.block.parent;
            chain.push(p.clone());
        }
        if let Some(lowest) = chain.last() {
            if lowest.block.height != self.root.height.next() {
                let p = lowest.clone();
                self.reject_link(&p, "sits on the root at a height other than root + 1");
                return;
            }
        }
        self.pending_final = None;
        while let Some(p) = chain.pop() {
            let r = p.block.reference();
            self.out.push(Effect::Finalized {
                block: p.block.clone(),
                finalization: cert.clone(),
            });
            self.root = r;
            self.root_cert = if r.digest == cert.block {
                Some(cert.clone())
            } else {
                None
            };
            let ends = self.binding.ends_epoch(&p.block);
            self.recent.push_back(p);
            while self.recent.len() > self.cfg.finalized_kept_max {
                self.recent.pop_front();
            }
            let switched = self.maybe_switch_epoch();
            if switched || ends {
                // R13: the rest of the walk is the old epoch's suffix past its last height
                // (blocks the host built empty to finalize the boundary block when its own
                // view could not): never delivered, but kept with the finalized blocks so
                // that the host can read the link to the certificate's block
                // (`held_block`) and peers can fetch it.
                while let Some(p) = chain.pop() {
                    self.recent.push_back(p);
                }
                while self.recent.len() > self.cfg.finalized_kept_max {
                    self.recent.pop_front();
                }
                if switched {
                    return;
                }
                // The boundary block, with no next set yet: wait for the host's
                // `EpochChange` (it learns the set from this very block).
                self.at_boundary = true;
                break;
            }
        }
        self.prune();
        self.try_vote();
    }

    /// R12: a block on the path of a finalization is not above the root, or sits on the
    /// root at another height than root + 1: its proposer signed an inconsistent block
    /// (the root is final). With a sound [`BlockBinding`] only > f Byzantine validators
    /// could have certified it; the core still never delivers it: it forgets the block,
    /// reports its proposer and fetches the digest again (from the next peer).
    fn reject_link(&mut self, p: &Proposal, what: &str) {
        let digest = p.block.digest;
        self.forget_block(p);
        self.misbehaved(
            p.proposer,
            format!(
                "block {} at height {} view {} on a finalized path {what}",
                digest, p.block.height, p.block.view
            ),
        );
        self.want(digest);
    }

    /// Drop a stored block (proposal or fetched) so that its digest can be fetched again.
    fn forget_block(&mut self, p: &Proposal) {
        let digest = p.block.digest;
        if let Some(st) = self.views.get_mut(&p.block.view) {
            if st
                .proposal
                .as_ref()
                .is_some_and(|q| q.block.digest == digest)
            {
                st.proposal = None;
            }
            if st
                .fetched
                .as_ref()
                .is_some_and(|q| q.block.digest == digest)
            {
                st.fetched = None;
            }
        }
        if self.index.get(&digest) == Some(&p.block.view) {
            self.index.remove(&digest);
        }
    }

    fn on_epoch_change(&mut self, set: ValidatorSet, from_height: Height) {
        if set.epoch <= self.cfg.set.epoch || set.validate().is_err() {
            return;
        }
        if from_height <= self.root.height {
            return; // too late: blocks at that height were finalized by the old set
        }
        self.pending_epoch = Some((set, from_height));
        self.maybe_switch_epoch();
    }

    /// R13: switch to the pending set once its first height's parent is finalized.
    fn maybe_switch_epoch(&mut self) -> bool {
        let ready = self
            .pending_epoch
            .as_ref()
            .is_some_and(|(_, h)| self.root.height.next() == *h);
        if !ready {
            return false;
        }
        let Some((set, _)) = self.pending_epoch.take() else {
            return false;
        };
        self.me = self
            .cfg
            .key
            .as_ref()
            .and_then(|k| set.index_of(&k.public()));
        self.previous_set = Some(std::mem::replace(&mut self.cfg.set, set));
        self.root = BlockRef {
            digest: self.root.digest,
            height: self.root.height,
            view: View(0),
        };
        self.root_cert = None;
        self.views.clear();
        self.index.clear();
        self.pending_final = None;
        self.wanted.clear();
        self.propose_asked = None;
        self.at_boundary = false;
        self.floor = View(0); // views restart in the new epoch
        self.view = View(0);
        self.out.push(Effect::EpochChanged {
            epoch: self.cfg.set.epoch,
            root: self.root,
        });
        self.enter_view(View(1));
        true
    }
}
