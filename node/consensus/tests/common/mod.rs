//! Helpers shared by the integration tests.
#![allow(dead_code)]

use chancery_consensus::{
    Block, BlockRef, Config, Core, Effect, HashBinding, Input, Message, Proposal, Vote,
};
use chancery_core::cert::{Certificate, IndexedSignature, VoteKind};
use chancery_core::crypto::SecretKey;
use chancery_core::ids::{AgencyId, Digest, Epoch, Height, View};
use chancery_core::validator::{Validator, ValidatorSet};

pub const CHAIN: Digest = Digest([7; 32]);

pub const ROOT: BlockRef = BlockRef {
    digest: Digest::ZERO,
    height: Height(0),
    view: View(0),
};

pub fn keys(n: usize) -> Vec<SecretKey> {
    (0..n)
        .map(|i| SecretKey::from_seed([i as u8 + 1; 32]))
        .collect()
}

pub fn set(keys: &[SecretKey]) -> ValidatorSet {
    ValidatorSet {
        epoch: Epoch(0),
        start_height: Height(1),
        validators: keys
            .iter()
            .enumerate()
            .map(|(i, k)| Validator {
                name: format!("v{i}"),
                agency: AgencyId("a".into()),
                consensus_key: k.public(),
                network_key: chancery_core::NetworkKey::from_seed([100 + i as u8; 32]),
                power: 1,
            })
            .collect(),
    }
}

pub fn config(keys: &[SecretKey], me: usize) -> Config {
    Config::with_delta(CHAIN, set(keys), Some(keys[me].clone()), ROOT, 50)
}

/// A certificate signed by validators `signers` (in increasing order).
pub fn cert(
    keys: &[SecretKey],
    signers: &[usize],
    view: u64,
    kind: VoteKind,
    block: Digest,
) -> Certificate {
    Certificate {
        kind,
        epoch: Epoch(0),
        view: View(view),
        block,
        signatures: signers
            .iter()
            .map(|&i| IndexedSignature {
                index: i as u16,
                signature: Vote::sign(CHAIN, Epoch(0), View(view), kind, block, i as u16, &keys[i])
                    .signature,
            })
            .collect(),
    }
}

pub fn feed_cert(c: &mut Core, from: u16, cert: Certificate) -> Vec<Effect> {
    c.handle(Input::Message {
        from,
        bytes: Message::Certificate(cert).encode(),
    })
}

/// Own votes the core asks to persist or sends, with their view and kind.
pub fn own_votes(effects: &[Effect], me: u16) -> Vec<(View, VoteKind)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Persist { vote, .. } => Some((vote.view, vote.kind)),
            Effect::Broadcast {
                message: Message::Vote(v),
            } if v.signer == me => Some((v.view, v.kind)),
            Effect::Send {
                message: Message::Vote(v),
                ..
            } if v.signer == me => Some((v.view, v.kind)),
            _ => None,
        })
        .collect()
}

/// Acknowledge every persist among `effects`, returning everything that follows.
pub fn ack_all(c: &mut Core, effects: &[Effect]) -> Vec<Effect> {
    let mut out = Vec::new();
    for e in effects {
        if let Effect::Persist { id, .. } = e {
            out.extend(c.handle(Input::PersistAcked { id: *id }));
        }
    }
    out
}

/// A core for validator `me` with the simulator's digest rule.
pub fn core(keys: &[SecretKey], me: usize) -> Core {
    Core::new(config(keys, me), vec![], Box::new(HashBinding)).expect("valid config")
}

/// A block with the [`HashBinding`] digest.
pub fn block(parent: Digest, height: u64, view: u64, payload: &[u8]) -> Block {
    Block {
        digest: HashBinding::digest(parent, Height(height), View(view), payload),
        parent,
        height: Height(height),
        view: View(view),
        payload: payload.to_vec(),
    }
}

/// `block` proposed by validator `proposer` with parent view `parent_view`.
pub fn propose(keys: &[SecretKey], proposer: usize, parent_view: u64, block: Block) -> Proposal {
    Proposal::sign(
        CHAIN,
        Epoch(0),
        View(parent_view),
        block,
        proposer as u16,
        &keys[proposer],
    )
}

/// Feed one message from `from`.
pub fn feed(c: &mut Core, from: u16, m: Message) -> Vec<Effect> {
    c.handle(Input::Message {
        from,
        bytes: m.encode(),
    })
}

/// The peers reported as misbehaving.
pub fn accused(effects: &[Effect]) -> Vec<u16> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::PeerMisbehaved { peer, .. } => Some(*peer),
            _ => None,
        })
        .collect()
}
