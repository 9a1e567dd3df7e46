//! Byzantine actors: small drop-in filters over the messages a node's own (honest) core
//! wants to send. Each replaces, duplicates, forges or garbles them.

use chancery_consensus::{Message, Proposal, ProposalMsg, Vote};
use chancery_core::cert::VoteKind;
use chancery_core::crypto::SecretKey;
use chancery_core::ids::{ChainId, Digest, Signature, View};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, HashMap};

/// The Byzantine behaviours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByzKind {
    /// As leader, sends two different proposals to two halves (the second one invalid in odd
    /// views) and notarizes both.
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
    ];
}

/// What a Byzantine filter needs from the simulator.
pub struct Ctx<'a> {
    /// Chain id.
    pub chain_id: ChainId,
    /// This node's index.
    pub me: usize,
    /// Number of validators.
    pub n: usize,
    /// This node's key.
    pub key: &'a SecretKey,
    /// The simulator's random source.
    pub rng: &'a mut ChaCha8Rng,
    /// Every block proposed so far, with its validity (Byzantine blocks are registered).
    pub proposed: &'a mut HashMap<Digest, bool>,
}

/// One Byzantine actor's state.
#[derive(Debug)]
pub struct Byzantine {
    /// Its behaviour.
    pub kind: ByzKind,
    alternative: HashMap<View, Digest>,
    nullified: BTreeSet<View>,
}

fn halves(ctx: &Ctx<'_>) -> (Vec<usize>, Vec<usize>) {
    let peers: Vec<usize> = (0..ctx.n).filter(|j| *j != ctx.me).collect();
    let mid = peers.len() / 2;
    (peers[..mid].to_vec(), peers[mid..].to_vec())
}

impl Byzantine {
    /// A new actor.
    pub fn new(kind: ByzKind) -> Byzantine {
        Byzantine {
            kind,
            alternative: HashMap::new(),
            nullified: BTreeSet::new(),
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
                block.payload.push(0xEE);
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
                ctx.proposed.insert(block.digest, valid);
                self.alternative.insert(block.view, block.digest);
                let p2 = Proposal::sign(
                    ctx.chain_id,
                    p.epoch,
                    p.parent_view,
                    block,
                    p.proposer,
                    ctx.key,
                );
                let m2 = Message::Proposal(ProposalMsg {
                    proposal: p2,
                    parent_cert: m.parent_cert.clone(),
                    nullifications: m.nullifications.clone(),
                });
                let (a, b) = halves(ctx);
                let (ba, bb) = (msg.encode(), m2.encode());
                a.into_iter()
                    .map(|j| (j, ba.clone()))
                    .chain(b.into_iter().map(|j| (j, bb.clone())))
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
            _ => all(&msg),
        }
    }
}
