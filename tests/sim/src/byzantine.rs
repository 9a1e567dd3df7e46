//! Byzantine actors: small drop-in filters over the messages a node's own (honest) core
//! wants to send. Each replaces, duplicates, forges or garbles them.

use crate::state::{self, Truth};
use chancery_consensus::wire::leader_of;
use chancery_consensus::{Block, Message, Proposal, ProposalMsg, Vote};
use chancery_core::cert::{Certificate, IndexedSignature, VoteKind};
use chancery_core::codec;
use chancery_core::crypto::testing::sign_torsioned;
use chancery_core::crypto::SecretKey;
use chancery_core::domain;
use chancery_core::ids::{ChainId, Digest, Epoch, Height, Signature, View};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

/// Most certificates a [`ByzKind::CertReplayer`] keeps to replay.
pub const REPLAY_KEPT_MAX: usize = 256;
/// Certificates a [`ByzKind::CertReplayer`] replays with every message it sends.
pub const REPLAYS_PER_SEND: usize = 2;
/// Votes with bad signatures a [`ByzKind::SigFlooder`] sends each peer with each of its
/// votes (plus one certificate and one proposal with bad signatures).
pub const FLOOD_PER_VOTE: usize = 32;
/// Old votes of its own a [`ByzKind::Ghost`] keeps to replay.
pub const GHOST_VOTES_KEPT_MAX: usize = 64;

/// The Byzantine behaviours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByzKind {
    /// As leader, sends two different proposals to two halves (the second one invalid in odd
    /// views; one peer gets both) and notarizes both.
    Equivocator,
    /// Signs conflicting votes: a second notarize for a random block, nullify + finalize.
    Conflicter,
    /// Forges votes and certificates in other validators' names (bad signatures).
    Impersonator,
    /// Only ever votes nullify, never proposes, notarizes or finalizes.
    NullifyOnly,
    /// As leader, sends its proposal to at most f peers.
    Withholder,
    /// Sends garbage bytes and corrupted messages instead of its messages.
    Garbage,
    /// Answers every block request with a block of its own making under the requested
    /// digest (signed as leader of a view it leads; height, parent and payload its own),
    /// and pushes such blocks unasked for every block certificate it sends.
    ForgingResponder,
    /// As leader, sends half the peers its proposal and the other half the same digest
    /// with another payload (signed by it); in odd views only f peers get the other
    /// payload, so that the digest is still certified.
    SplitPayloadLeader,
    /// Records every certificate it sends and replays old ones to everybody.
    CertReplayer,
    /// Signs its votes and proposals with signatures whose R has a small-order component.
    TorsionSigner,
    /// Floods every peer with votes, certificates and proposals with bad signatures.
    SigFlooder,
    /// As leader on a notarized, not yet finalized parent, claims the post-state of its
    /// transactions executed on a stale state (its committed state, the root's, instead of
    /// the parent's result); the block is bound and signed, and it notarizes it (R15).
    StaleStateLeader,
    /// As leader, sends its proposal and its notarize vote to exactly 2f peers (the others
    /// but the last f): with it they are a notarization quorum, and the f left out cannot
    /// execute any child of the block unless they execute the block itself (R15). It never
    /// sends any other vote (no finalize, no nullify, no notarize of others' blocks, no
    /// certificate carrying its signature), so that every later certificate needs every
    /// honest node: the block is finalized only if the f left out finalize it, which they
    /// do not once they nullified its view before its notarization reached them. Until it
    /// receives a finalization of its block's view or a later one it proposes nothing (a
    /// later block of its own might be finalized and unstick the chain).
    PartialLeader,
    /// A removed validator whose host never tells its core of the epoch change: its core
    /// keeps running the old epoch (proposing and voting there after the boundary), its
    /// messages are sent unchanged.
    Stale,
    /// A removed validator: sends what its core sends, and signs messages of the epochs it
    /// is no longer a validator of with its retired key: for every vote, certificate and
    /// proposal of such an epoch it receives, the same vote in its old index's name, the
    /// certificate with one signature replaced by its own, the proposal signed by it; with
    /// each, it replays one of its own votes of the old epoch.
    Ghost,
    /// A validator holding another validator's retired (rotated) consensus key: for every
    /// vote of the epochs after the rotation it sends or receives, it signs a conflicting
    /// vote in that validator's name with the old key (a notarize of another block, a
    /// nullify beside a finalize), and sends certificates with that validator's signature
    /// replaced by one of the old key. It never sends its own notarize or finalize votes,
    /// nor certificates carrying its signature, so that with n = 4 every quorum needs the
    /// rotated validator's new key.
    KeyThief,
    /// A validator that relays a removed validator's messages: the simulator delivers the
    /// [`ByzKind::Ghost`]'s messages as the relay's to nodes whose host gate would drop
    /// them (docs/consensus.md §8). Its own messages are sent unchanged.
    Relay,
}

impl ByzKind {
    /// Every kind.
    pub const ALL: &'static [ByzKind] = &[
        ByzKind::Equivocator,
        ByzKind::Conflicter,
        ByzKind::Impersonator,
        ByzKind::NullifyOnly,
        ByzKind::Withholder,
        ByzKind::Garbage,
        ByzKind::ForgingResponder,
        ByzKind::SplitPayloadLeader,
        ByzKind::CertReplayer,
        ByzKind::TorsionSigner,
        ByzKind::SigFlooder,
        ByzKind::StaleStateLeader,
        ByzKind::PartialLeader,
        ByzKind::Stale,
        ByzKind::Ghost,
        ByzKind::KeyThief,
        ByzKind::Relay,
    ];

    /// The kinds the `mixed` scenario draws from: all but [`ByzKind::TorsionSigner`],
    /// whose scenario needs a per-node signature cache, and [`ByzKind::StaleStateLeader`]
    /// and [`ByzKind::PartialLeader`] (so that every `mixed` seed keeps its draws).
    pub const MIXED: &'static [ByzKind] = &[
        ByzKind::Equivocator,
        ByzKind::Conflicter,
        ByzKind::Impersonator,
        ByzKind::NullifyOnly,
        ByzKind::Withholder,
        ByzKind::Garbage,
        ByzKind::ForgingResponder,
        ByzKind::SplitPayloadLeader,
        ByzKind::CertReplayer,
        ByzKind::SigFlooder,
    ];
}

/// A consensus key that is no longer a validator's in the later epochs (its validator was
/// removed, or rotated to a new key), which a [`ByzKind::Ghost`] or [`ByzKind::KeyThief`]
/// signs with.
#[derive(Clone, Debug)]
pub struct Retired {
    /// The key.
    pub key: SecretKey,
    /// The validator index its signatures claim.
    pub index: u16,
    /// The first epoch in which the key is retired.
    pub from: Epoch,
}

/// What a Byzantine filter needs from the simulator.
pub struct Ctx<'a> {
    /// Chain id.
    pub chain_id: ChainId,
    /// This node's index in its core's validator set (the set's size when it is not a
    /// member).
    pub me: usize,
    /// Number of validators of its core's set (indices are into that set).
    pub n: usize,
    /// Its core's epoch.
    pub epoch: Epoch,
    /// The retired key it signs with, if it is a [`ByzKind::Ghost`] or a
    /// [`ByzKind::KeyThief`].
    pub retired: Option<&'a Retired>,
    /// Every signature made with a retired key so far (the simulator checks that no
    /// certificate carries one).
    pub retired_sigs: &'a mut HashSet<Signature>,
    /// This node's key.
    pub key: &'a SecretKey,
    /// The simulator's random source.
    pub rng: &'a mut ChaCha8Rng,
    /// Every block proposed so far, with its validity (Byzantine blocks are registered).
    pub proposed: &'a mut HashMap<Digest, bool>,
    /// Every block's true post-state and claim (Byzantine blocks are registered).
    pub truth: &'a mut Truth,
    /// This node's finalized root (its host's).
    pub root: Digest,
    /// The state after the root (its host's committed state).
    pub committed: Digest,
}

/// One Byzantine actor's state.
#[derive(Debug)]
pub struct Byzantine {
    /// Its behaviour.
    pub kind: ByzKind,
    alternative: HashMap<View, Digest>,
    nullified: BTreeSet<View>,
    certs: VecDeque<Certificate>,
    /// A [`ByzKind::PartialLeader`]'s last partial block's view, while it has received no
    /// finalization of that view or a later one.
    partial: Option<View>,
    /// What a [`ByzKind::Ghost`] or [`ByzKind::KeyThief`] forged already: (epoch, view,
    /// what), one forgery of each.
    forged: BTreeSet<(Epoch, View, u8)>,
    /// A [`ByzKind::Ghost`]'s own votes of the epochs it was a validator of, to replay.
    old_votes: VecDeque<Vote>,
}

fn halves(ctx: &Ctx<'_>) -> (Vec<usize>, Vec<usize>) {
    let peers: Vec<usize> = (0..ctx.n).filter(|j| *j != ctx.me).collect();
    let mid = peers.len() / 2;
    (peers[..mid].to_vec(), peers[mid..].to_vec())
}

/// The 2f peers a [`ByzKind::PartialLeader`] sends its proposal and notarize vote to: all
/// but the last f, in index order.
fn partial_peers(ctx: &Ctx<'_>) -> Vec<usize> {
    let f = (ctx.n - 1) / 3;
    (0..ctx.n).filter(|j| *j != ctx.me).take(2 * f).collect()
}

/// The proposal message `m` with `block` in place of its own, signed again by the proposer
/// (this actor's key) and carrying the same justification.
fn resigned(ctx: &Ctx<'_>, m: &ProposalMsg, block: Block) -> Message {
    let p = &m.proposal;
    Message::Proposal(ProposalMsg {
        proposal: Proposal::sign(
            ctx.chain_id,
            p.epoch,
            p.parent_view,
            block,
            p.proposer,
            ctx.key,
        ),
        parent_cert: m.parent_cert.clone(),
        nullifications: m.nullifications.clone(),
    })
}

impl Byzantine {
    /// A new actor.
    pub fn new(kind: ByzKind) -> Byzantine {
        Byzantine {
            kind,
            alternative: HashMap::new(),
            nullified: BTreeSet::new(),
            certs: VecDeque::new(),
            partial: None,
            forged: BTreeSet::new(),
            old_votes: VecDeque::new(),
        }
    }

    /// Messages signed with the retired key (`ctx.retired`) after `msg` of an epoch in which
    /// the key is retired: a vote of the same kind in the claimed index's name (with
    /// `conflicting`, a notarize of another block, or a nullify for a finalize), the
    /// certificate with the claimed index's signature (or the first one) replaced, and
    /// (without `conflicting`) the proposal signed again by the retired key. One of each per
    /// (epoch, view). Every signature made is recorded in `ctx.retired_sigs`.
    fn forge_retired(
        &mut self,
        ctx: &mut Ctx<'_>,
        msg: &Message,
        conflicting: bool,
    ) -> Vec<Message> {
        let Some(r) = ctx.retired else {
            return Vec::new();
        };
        let chain_id = ctx.chain_id;
        match msg {
            Message::Vote(v) if v.epoch >= r.from && v.kind != VoteKind::Nullify => {
                if !self.forged.insert((v.epoch, v.view, v.kind as u8)) {
                    return Vec::new();
                }
                let (kind, block) = match (conflicting, v.kind) {
                    (false, k) => (k, v.block),
                    (true, VoteKind::Finalize) => (VoteKind::Nullify, Digest::ZERO),
                    (true, k) => {
                        let mut d = [0u8; 32];
                        ctx.rng.fill(&mut d[..]);
                        (k, Digest(d))
                    }
                };
                let f = Vote::sign(chain_id, v.epoch, v.view, kind, block, r.index, &r.key);
                ctx.retired_sigs.insert(f.signature);
                vec![Message::Vote(f)]
            }
            Message::Certificate(c) if c.epoch >= r.from && !c.signatures.is_empty() => {
                if !self.forged.insert((c.epoch, c.view, 10 + c.kind as u8)) {
                    return Vec::new();
                }
                let mut c = c.clone();
                let k = c
                    .signatures
                    .iter()
                    .position(|s| s.index == r.index)
                    .unwrap_or(0);
                let index = c.signatures[k].index;
                let f = Vote::sign(chain_id, c.epoch, c.view, c.kind, c.block, index, &r.key);
                ctx.retired_sigs.insert(f.signature);
                c.signatures[k].signature = f.signature;
                vec![Message::Certificate(c)]
            }
            Message::Proposal(m) if !conflicting && m.proposal.epoch >= r.from => {
                let p = &m.proposal;
                if !self.forged.insert((p.epoch, p.block.view, 20)) {
                    return Vec::new();
                }
                let proposal = Proposal::sign(
                    chain_id,
                    p.epoch,
                    p.parent_view,
                    p.block.clone(),
                    p.proposer,
                    &r.key,
                );
                ctx.retired_sigs.insert(proposal.signature);
                vec![Message::Proposal(ProposalMsg {
                    proposal,
                    parent_cert: m.parent_cert.clone(),
                    nullifications: m.nullifications.clone(),
                })]
            }
            _ => Vec::new(),
        }
    }

    /// React to a message the node received (before its core sees it): extra sends.
    pub fn observe(
        &mut self,
        ctx: &mut Ctx<'_>,
        from: usize,
        msg: &Message,
    ) -> Vec<(usize, Vec<u8>)> {
        match (self.kind, msg) {
            (ByzKind::ForgingResponder, Message::BlockRequest { digest }) => {
                let m = Message::Block(forge_block(ctx, *digest, None));
                vec![(from, m.encode())]
            }
            (ByzKind::CertReplayer, Message::Certificate(c)) => {
                self.record(c);
                Vec::new()
            }
            (ByzKind::PartialLeader, Message::Certificate(c))
                if c.kind == VoteKind::Finalize && self.partial.is_some_and(|v| c.view >= v) =>
            {
                // The others finalized its block, or skipped it: it may try again.
                self.partial = None;
                Vec::new()
            }
            (ByzKind::Ghost | ByzKind::KeyThief, _) => {
                let conflicting = self.kind == ByzKind::KeyThief;
                let mut out = self.forge_retired(ctx, msg, conflicting);
                if !out.is_empty() && !self.old_votes.is_empty() {
                    let i = ctx.rng.gen_range(0..self.old_votes.len());
                    out.push(Message::Vote(self.old_votes[i]));
                }
                let everyone: Vec<usize> = (0..ctx.n).filter(|j| *j != ctx.me).collect();
                out.iter()
                    .flat_map(|m| {
                        let b = m.encode();
                        everyone.iter().map(move |j| (*j, b.clone()))
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    fn record(&mut self, c: &Certificate) {
        let known = self
            .certs
            .iter()
            .any(|k| k.kind == c.kind && k.view == c.view && k.block == c.block);
        if !known {
            self.certs.push_back(c.clone());
            while self.certs.len() > REPLAY_KEPT_MAX {
                self.certs.pop_front();
            }
        }
    }

    /// Transform one message the node's core sends to `to` (every peer for a broadcast)
    /// into what is actually sent: `(recipient, bytes)` pairs.
    pub fn transform(
        &mut self,
        ctx: &mut Ctx<'_>,
        to: &[usize],
        msg: Message,
    ) -> Vec<(usize, Vec<u8>)> {
        let all = |m: &Message| -> Vec<(usize, Vec<u8>)> {
            let b = m.encode();
            to.iter().map(|j| (*j, b.clone())).collect()
        };
        let everyone: Vec<usize> = (0..ctx.n).filter(|j| *j != ctx.me).collect();
        let me = ctx.me as u16;
        match (self.kind, &msg) {
            (ByzKind::Equivocator, Message::Proposal(m)) => {
                let p = &m.proposal;
                let mut block = p.block.clone();
                // One more transaction, with the post-state it gives (R15).
                let mut txs = state::transactions(&block.payload).unwrap_or(&[]).to_vec();
                txs.push(0xEE);
                let claim = ctx
                    .truth
                    .truth(block.parent)
                    .map_or(Digest::ZERO, |s| state::execute(s, &txs));
                block.payload = state::payload(ctx.me as u8, &txs, claim);
                // On odd views the second block is invalid: validity must still hold.
                let valid = block.view.0 % 2 == 0;
                if !valid {
                    if let Some(x) = block.payload.first_mut() {
                        *x = 0xFF;
                    }
                }
                block.digest = crate::sim::block_digest(
                    block.parent,
                    block.height,
                    block.view,
                    &block.payload,
                );
                let claim_ok = ctx.truth.register(&block);
                ctx.proposed.insert(block.digest, valid && claim_ok);
                self.alternative.insert(block.view, block.digest);
                let m2 = resigned(ctx, m, block);
                let (a, b) = halves(ctx);
                let (ba, bb) = (msg.encode(), m2.encode());
                // One peer gets both: it must turn them into evidence.
                let both = a.first().map(|j| (*j, bb.clone()));
                a.into_iter()
                    .map(|j| (j, ba.clone()))
                    .chain(b.into_iter().map(|j| (j, bb.clone())))
                    .chain(both)
                    .collect()
            }
            (ByzKind::Equivocator, Message::Vote(v)) if v.kind == VoteKind::Notarize => {
                let Some(alt) = self.alternative.get(&v.view).copied() else {
                    return all(&msg);
                };
                let v2 = Vote::sign(ctx.chain_id, v.epoch, v.view, v.kind, alt, me, ctx.key);
                let (a, b) = halves(ctx);
                let (ba, bb) = (msg.encode(), Message::Vote(v2).encode());
                a.into_iter()
                    .map(|j| (j, ba.clone()))
                    .chain(b.into_iter().map(|j| (j, bb.clone())))
                    .collect()
            }
            (ByzKind::Conflicter, Message::Vote(v)) => {
                let mut out = all(&msg);
                let extra = match v.kind {
                    VoteKind::Notarize => {
                        let mut d = [0u8; 32];
                        ctx.rng.fill(&mut d[..]);
                        Some((VoteKind::Notarize, Digest(d)))
                    }
                    VoteKind::Finalize => Some((VoteKind::Nullify, Digest::ZERO)),
                    VoteKind::Nullify => None,
                };
                if let Some((kind, block)) = extra {
                    let v2 = Vote::sign(ctx.chain_id, v.epoch, v.view, kind, block, me, ctx.key);
                    let b = Message::Vote(v2).encode();
                    let (_, half) = halves(ctx);
                    out.extend(half.into_iter().map(|j| (j, b.clone())));
                }
                out
            }
            (ByzKind::Impersonator, _) => {
                let mut out = all(&msg);
                let forged = match &msg {
                    Message::Vote(v) => {
                        let mut f = *v;
                        f.signer = ((ctx.me + 1) % ctx.n) as u16;
                        let mut s = [0u8; 64];
                        ctx.rng.fill(&mut s[..]);
                        f.signature = Signature(s);
                        Some(Message::Vote(f))
                    }
                    Message::Certificate(c) => {
                        let mut c = c.clone();
                        if let Some(s) = c.signatures.first_mut() {
                            s.signature.0[7] ^= 0x40;
                        }
                        Some(Message::Certificate(c))
                    }
                    Message::Proposal(m) => {
                        let mut m = m.clone();
                        m.proposal.signature.0[3] ^= 1;
                        m.proposal.block.payload.push(1);
                        Some(Message::Proposal(m))
                    }
                    _ => None,
                };
                if let Some(f) = forged {
                    let b = f.encode();
                    out.extend(everyone.iter().map(|j| (*j, b.clone())));
                }
                out
            }
            (ByzKind::NullifyOnly, Message::Proposal(_)) => Vec::new(),
            (ByzKind::NullifyOnly, Message::Vote(v)) => {
                if !self.nullified.insert(v.view) {
                    return Vec::new();
                }
                let v2 = Vote::sign(
                    ctx.chain_id,
                    v.epoch,
                    v.view,
                    VoteKind::Nullify,
                    Digest::ZERO,
                    me,
                    ctx.key,
                );
                let b = Message::Vote(v2).encode();
                everyone.iter().map(|j| (*j, b.clone())).collect()
            }
            (ByzKind::Withholder, Message::Proposal(_)) => {
                let f = (ctx.n - 1) / 3;
                let b = msg.encode();
                to.iter().take(f).map(|j| (*j, b.clone())).collect()
            }
            (ByzKind::Garbage, _) => {
                let mut b = msg.encode();
                match ctx.rng.gen_range(0..4) {
                    0 => {
                        let len = ctx.rng.gen_range(0..200);
                        b = (0..len).map(|_| ctx.rng.gen()).collect();
                    }
                    1 => {
                        let i = ctx.rng.gen_range(0..b.len().max(1));
                        if let Some(x) = b.get_mut(i) {
                            *x ^= 1 << ctx.rng.gen_range(0..8);
                        }
                    }
                    2 => {
                        let keep = ctx.rng.gen_range(0..b.len().max(1));
                        b.truncate(keep);
                    }
                    _ => {
                        // A huge length prefix: must be refused, not allocated.
                        b = vec![1, 1];
                        b.extend_from_slice(&u64::MAX.to_le_bytes());
                    }
                }
                to.iter().map(|j| (*j, b.clone())).collect()
            }
            (ByzKind::ForgingResponder, Message::Block(p)) => {
                // It holds the real block: keep its parent and height (the forgery then
                // passes the core's height-link check), change view and payload.
                let m = Message::Block(forge_block(ctx, p.block.digest, Some(&p.block)));
                all(&m)
            }
            (ByzKind::ForgingResponder, Message::Certificate(c)) if c.kind != VoteKind::Nullify => {
                let mut out = all(&msg);
                let b = Message::Block(forge_block(ctx, c.block, None)).encode();
                out.extend(everyone.iter().map(|j| (*j, b.clone())));
                out
            }
            (ByzKind::SplitPayloadLeader, Message::Proposal(m)) => {
                let p = &m.proposal;
                let mut block = p.block.clone();
                block.payload.push(0xAB); // same digest, other bytes
                let m2 = resigned(ctx, m, block);
                // Even views: half and half. Odd views: only f peers get the other bytes,
                // so a quorum still certifies the digest and those f must not deliver them.
                let (a, b) = if p.block.view.0 % 2 == 0 {
                    halves(ctx)
                } else {
                    let peers: Vec<usize> = (0..ctx.n).filter(|j| *j != ctx.me).collect();
                    let f = ((ctx.n - 1) / 3).max(1);
                    let cut = peers.len() - f;
                    (peers[..cut].to_vec(), peers[cut..].to_vec())
                };
                let (ba, bb) = (msg.encode(), m2.encode());
                a.into_iter()
                    .map(|j| (j, ba.clone()))
                    .chain(b.into_iter().map(|j| (j, bb.clone())))
                    .collect()
            }
            (ByzKind::CertReplayer, _) => {
                if let Message::Certificate(c) = &msg {
                    self.record(c);
                }
                let mut out = all(&msg);
                for _ in 0..REPLAYS_PER_SEND.min(self.certs.len()) {
                    let i = ctx.rng.gen_range(0..self.certs.len());
                    let b = Message::Certificate(self.certs[i].clone()).encode();
                    out.extend(everyone.iter().map(|j| (*j, b.clone())));
                }
                out
            }
            (ByzKind::TorsionSigner, Message::Vote(v)) if v.signer == me => {
                let mut t = *v;
                let order = [2u8, 4, 8][ctx.rng.gen_range(0..3)];
                t.signature = sign_torsioned(
                    ctx.key,
                    domain::VOTE_SIGN,
                    &codec::encode(&v.body(ctx.chain_id)),
                    order,
                );
                all(&Message::Vote(t))
            }
            (ByzKind::TorsionSigner, Message::Proposal(m)) => {
                let p = &m.proposal;
                let order = [2u8, 4, 8][ctx.rng.gen_range(0..3)];
                let signature = sign_torsioned(
                    ctx.key,
                    domain::PROPOSAL_SIGN,
                    &codec::encode(&(ctx.chain_id, p.epoch, p.parent_view, &p.block)),
                    order,
                );
                let mut m = m.clone();
                m.proposal.signature = signature;
                all(&Message::Proposal(m))
            }
            (ByzKind::StaleStateLeader, Message::Proposal(m)) => {
                let Some(block) = stale_block(ctx, &m.proposal.block) else {
                    return all(&msg);
                };
                self.alternative.insert(block.view, block.digest);
                all(&resigned(ctx, m, block))
            }
            (ByzKind::StaleStateLeader, Message::Vote(v)) if v.kind == VoteKind::Notarize => {
                // It notarizes the block it sent, not the one its core built.
                let Some(alt) = self.alternative.get(&v.view).copied() else {
                    return all(&msg);
                };
                let v2 = Vote::sign(ctx.chain_id, v.epoch, v.view, v.kind, alt, me, ctx.key);
                all(&Message::Vote(v2))
            }
            (ByzKind::PartialLeader, Message::Proposal(m)) => {
                if self.partial.is_some() {
                    return Vec::new();
                }
                self.partial = Some(m.proposal.block.view);
                let b = msg.encode();
                partial_peers(ctx)
                    .into_iter()
                    .map(|j| (j, b.clone()))
                    .collect()
            }
            (ByzKind::PartialLeader, Message::Vote(v)) => {
                let own = v.kind == VoteKind::Notarize && self.partial == Some(v.view);
                if !own {
                    return Vec::new();
                }
                let b = msg.encode();
                partial_peers(ctx)
                    .into_iter()
                    .map(|j| (j, b.clone()))
                    .collect()
            }
            (ByzKind::PartialLeader, Message::Certificate(c))
                if c.signatures.iter().any(|s| s.index == me) =>
            {
                // Its votes would reach the others in the certificates its core forms.
                Vec::new()
            }
            (ByzKind::Ghost, Message::Vote(v)) => {
                if ctx.retired.is_none_or(|r| v.epoch < r.from) {
                    self.old_votes.push_back(*v);
                    while self.old_votes.len() > GHOST_VOTES_KEPT_MAX {
                        self.old_votes.pop_front();
                    }
                }
                all(&msg)
            }
            (ByzKind::KeyThief, Message::Vote(v))
                if v.signer == me && v.kind != VoteKind::Nullify =>
            {
                // Its own notarize and finalize votes are withheld; the stolen key signs
                // conflicting ones in the rotated validator's name.
                let forged = self.forge_retired(ctx, &msg, true);
                forged
                    .iter()
                    .flat_map(|m| {
                        let b = m.encode();
                        everyone.iter().map(move |j| (*j, b.clone()))
                    })
                    .collect()
            }
            (ByzKind::KeyThief, Message::Certificate(c)) => {
                let mut out = if c.signatures.iter().any(|s| s.index == me) {
                    Vec::new()
                } else {
                    all(&msg)
                };
                for m in self.forge_retired(ctx, &msg, true) {
                    let b = m.encode();
                    out.extend(everyone.iter().map(|j| (*j, b.clone())));
                }
                out
            }
            (ByzKind::SigFlooder, Message::Vote(v)) => {
                let mut out = all(&msg);
                for j in everyone {
                    for k in 0..FLOOD_PER_VOTE + 2 {
                        let m = flood_message(ctx, v, k);
                        out.push((j, m.encode()));
                    }
                }
                out
            }
            _ => all(&msg),
        }
    }
}

/// `block` (built by this node's host) with the post-state its transactions give on the
/// node's committed state instead of its parent's result, bound again; `None` when the
/// parent is the finalized root (the stale state is then the right one) or the claim would
/// not change. The block is registered, valid only if the stale claim happens to be right.
fn stale_block(ctx: &mut Ctx<'_>, block: &Block) -> Option<Block> {
    if block.parent == ctx.root {
        return None;
    }
    let txs = state::transactions(&block.payload)?;
    let stale = state::execute(ctx.committed, txs);
    if state::claim(&block.payload) == Some(stale) {
        return None;
    }
    let payload = state::payload(ctx.me as u8, txs, stale);
    let mut b = block.clone();
    b.digest = crate::sim::block_digest(b.parent, b.height, b.view, &payload);
    b.payload = payload;
    let valid = ctx.truth.register(&b);
    ctx.proposed.insert(b.digest, valid);
    Some(b)
}

fn random_signature(rng: &mut ChaCha8Rng) -> Signature {
    let mut s = [0u8; 64];
    rng.fill(&mut s[..]);
    Signature(s)
}

/// The `k`-th message with a bad signature near `v`'s view: votes in random validators'
/// names, then a certificate of random signatures, then a proposal in the leader's name.
fn flood_message(ctx: &mut Ctx<'_>, v: &Vote, k: usize) -> Message {
    let view = View(v.view.0 + ctx.rng.gen_range(0..3));
    let mut d = [0u8; 32];
    ctx.rng.fill(&mut d[..]);
    let block = Digest(d);
    match k.saturating_sub(FLOOD_PER_VOTE) {
        1 => {
            let signers = (ctx.n * 2).div_ceil(3) + 1;
            Message::Certificate(Certificate {
                kind: VoteKind::Notarize,
                epoch: v.epoch,
                view,
                block,
                signatures: (0..signers.min(ctx.n))
                    .map(|i| IndexedSignature {
                        index: i as u16,
                        signature: random_signature(ctx.rng),
                    })
                    .collect(),
            })
        }
        2 => {
            let leader = leader_of(view, ctx.n);
            let mut p = Proposal::sign(
                ctx.chain_id,
                v.epoch,
                View(view.0.saturating_sub(1)),
                Block {
                    digest: block,
                    parent: Digest::ZERO,
                    height: Height(1),
                    view,
                    payload: vec![0; 8],
                },
                leader,
                ctx.key,
            );
            p.signature = random_signature(ctx.rng);
            Message::Proposal(ProposalMsg {
                proposal: p,
                parent_cert: None,
                nullifications: Vec::new(),
            })
        }
        _ => {
            let kind = [VoteKind::Notarize, VoteKind::Nullify, VoteKind::Finalize]
                [ctx.rng.gen_range(0..3)];
            let block = if kind == VoteKind::Nullify {
                Digest::ZERO
            } else {
                block
            };
            Message::Vote(Vote {
                epoch: v.epoch,
                view,
                kind,
                block,
                signer: ctx.rng.gen_range(0..ctx.n) as u16,
                signature: random_signature(ctx.rng),
            })
        }
    }
}

/// A block of the attacker's making under `digest`: signed as the leader of a view it
/// leads, with its own payload; with the `real` block, its parent and height and the
/// highest view it leads at or below the real one (when there is one), else its own
/// height and parent in a view far ahead.
fn forge_block(ctx: &mut Ctx<'_>, digest: Digest, real: Option<&Block>) -> Proposal {
    let n = ctx.n as u64;
    let me = ctx.me as u64;
    let mut payload = vec![0u8; 8];
    ctx.rng.fill(&mut payload[..]);
    if let Some(b) = real.filter(|b| b.view.0 >= me.max(1) + n) {
        let view = View(b.view.0 - (b.view.0 + n - me) % n);
        return Proposal::sign(
            ctx.chain_id,
            ctx.epoch,
            View(0),
            Block {
                digest,
                parent: b.parent,
                height: b.height,
                view,
                payload,
            },
            ctx.me as u16,
            ctx.key,
        );
    }
    // A view it leads, far ahead so that it is above every root.
    let base = ctx.rng.gen_range(1_000..100_000u64) * n;
    let view = View(base + me);
    let (parent, height) = if ctx.rng.gen_bool(0.5) {
        (Digest::ZERO, Height(ctx.rng.gen_range(1..1_000)))
    } else {
        let mut d = [0u8; 32];
        ctx.rng.fill(&mut d[..]);
        (Digest(d), Height(ctx.rng.gen_range(1..1_000)))
    };
    Proposal::sign(
        ctx.chain_id,
        ctx.epoch,
        View(0),
        Block {
            digest,
            parent,
            height,
            view,
            payload,
        },
        ctx.me as u16,
        ctx.key,
    )
}
