//! Bounded per-peer outbound queues and peer scores, shared by both implementations.

use crate::{Channel, Counters, Limits, Misbehaviour, PeerName, PeerStatus};
use libp2p::bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Lane {
    msgs: VecDeque<Bytes>,
    bytes: usize,
}

/// The messages waiting for one peer: one bounded lane per channel.
#[derive(Default)]
pub(crate) struct PeerQueue {
    lanes: [Lane; 2],
}

impl PeerQueue {
    /// Queue `payload`, applying the channel's overflow policy (see [`Channel`]).
    pub(crate) fn push(
        &mut self,
        channel: Channel,
        payload: Bytes,
        limits: &Limits,
        counters: &Counters,
    ) {
        let i = channel.index();
        let lane = &mut self.lanes[i];
        let full = |lane: &Lane, extra: usize| {
            lane.msgs.len() >= limits.queue_messages_max
                || lane.bytes.saturating_add(extra) > limits.queue_bytes_max
        };
        match channel {
            Channel::Consensus => {
                while !lane.msgs.is_empty() && full(lane, payload.len()) {
                    if let Some(old) = lane.msgs.pop_front() {
                        lane.bytes -= old.len();
                        Counters::add(&counters.dropped_oldest[i], 1);
                    }
                }
            }
            Channel::Transactions => {
                if !lane.msgs.is_empty() && full(lane, payload.len()) {
                    Counters::add(&counters.refused_full[i], 1);
                    return;
                }
            }
        }
        lane.bytes += payload.len();
        lane.msgs.push_back(payload);
    }

    /// True if nothing is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.lanes.iter().all(|l| l.msgs.is_empty())
    }

    /// Take the next batch: consensus messages first, then transactions, up to
    /// `batch_messages_max` messages and about `batch_bytes_max` bytes (a single larger
    /// message goes alone). `None` if nothing is waiting.
    pub(crate) fn take_batch(&mut self, limits: &Limits) -> Option<Vec<(Channel, Bytes)>> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for channel in Channel::ALL {
            let lane = &mut self.lanes[channel.index()];
            while let Some(next) = lane.msgs.front() {
                let fits = out.is_empty()
                    || (out.len() < limits.batch_messages_max
                        && bytes.saturating_add(next.len()) <= limits.batch_bytes_max);
                if !fits {
                    return Some(out);
                }
                let Some(msg) = lane.msgs.pop_front() else {
                    break;
                };
                lane.bytes -= msg.len();
                bytes += msg.len();
                out.push((channel, msg));
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

/// Peer scores and temporary bans.
#[derive(Default)]
pub(crate) struct Scores {
    scores: HashMap<PeerName, i64>,
    banned_until: HashMap<PeerName, Instant>,
}

impl Scores {
    /// Subtract the penalty for `why`; returns true if this made the peer banned now.
    pub(crate) fn penalise(
        &mut self,
        peer: &PeerName,
        why: Misbehaviour,
        limits: &Limits,
        now: Instant,
    ) -> bool {
        let score = self.scores.entry(peer.clone()).or_insert(0);
        *score = score.saturating_sub(why.penalty());
        if *score <= limits.score_ban && !self.banned_until.contains_key(peer) {
            self.banned_until
                .insert(peer.clone(), now + Duration::from_millis(limits.ban_ms));
            return true;
        }
        false
    }

    /// Is `peer` banned at `now`?
    pub(crate) fn is_banned(&self, peer: &PeerName, now: Instant) -> bool {
        self.banned_until.get(peer).is_some_and(|t| *t > now)
    }

    /// Lift expired bans (their scores restart at 0); returns the peers unbanned.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<PeerName> {
        let done: Vec<PeerName> = self
            .banned_until
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(p, _)| p.clone())
            .collect();
        for p in &done {
            self.banned_until.remove(p);
            self.scores.remove(p);
        }
        done
    }

    /// The earliest ban expiry, if any ban is in force.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.banned_until.values().min().copied()
    }

    /// Copy scores and bans into a status.
    pub(crate) fn fill(&self, status: &mut PeerStatus) {
        status.scores = self.scores.iter().map(|(p, s)| (p.clone(), *s)).collect();
        status.banned = self.banned_until.keys().cloned().collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            queue_messages_max: 3,
            queue_bytes_max: 1000,
            batch_messages_max: 2,
            batch_bytes_max: 100,
            ..Limits::default()
        }
    }

    fn msg(tag: u8, len: usize) -> Bytes {
        Bytes::from(vec![tag; len])
    }

    #[test]
    fn consensus_drops_oldest_transactions_refuse_newest() {
        let (l, c) = (limits(), Counters::default());
        let mut q = PeerQueue::default();
        for i in 0..5u8 {
            q.push(Channel::Consensus, msg(i, 1), &l, &c);
            q.push(Channel::Transactions, msg(10 + i, 1), &l, &c);
        }
        let s = c.snapshot();
        assert_eq!(s.dropped_oldest, [2, 0]);
        assert_eq!(s.refused_full, [0, 2]);
        let mut got = Vec::new();
        while let Some(b) = q.take_batch(&l) {
            assert!(b.len() <= 2);
            got.extend(b.into_iter().map(|(ch, m)| (ch, m[0])));
        }
        assert_eq!(
            got,
            vec![
                (Channel::Consensus, 2),
                (Channel::Consensus, 3),
                (Channel::Consensus, 4),
                (Channel::Transactions, 10),
                (Channel::Transactions, 11),
                (Channel::Transactions, 12),
            ]
        );
        assert!(q.is_empty());
    }

    #[test]
    fn byte_limit_and_large_single_message() {
        let (l, c) = (limits(), Counters::default());
        let mut q = PeerQueue::default();
        q.push(Channel::Transactions, msg(1, 600), &l, &c);
        q.push(Channel::Transactions, msg(2, 600), &l, &c); // 1200 > 1000: refused
        q.push(Channel::Transactions, msg(3, 60), &l, &c);
        assert_eq!(c.snapshot().refused_full, [0, 1]);
        // The 600-byte message is over batch_bytes_max but goes alone.
        let b = q.take_batch(&l).unwrap_or_default();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].1.len(), 600);
        let b = q.take_batch(&l).unwrap_or_default();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].1[0], 3);
        assert!(q.take_batch(&l).is_none());
    }

    #[test]
    fn scores_ban_and_expire() {
        let l = Limits::default();
        let mut s = Scores::default();
        let p = PeerName::from("x");
        let t0 = Instant::now();
        assert!(!s.penalise(&p, Misbehaviour::BadSignature, &l, t0));
        assert!(!s.is_banned(&p, t0));
        assert!(s.penalise(&p, Misbehaviour::BadSignature, &l, t0));
        assert!(s.is_banned(&p, t0));
        assert!(
            !s.penalise(&p, Misbehaviour::Spam, &l, t0),
            "already banned"
        );
        let later = t0 + Duration::from_millis(l.ban_ms);
        assert_eq!(s.next_expiry(), Some(later));
        assert_eq!(s.expire(later), vec![p.clone()]);
        assert!(!s.is_banned(&p, later));
        let mut st = PeerStatus::default();
        s.fill(&mut st);
        assert!(st.scores.is_empty() && st.banned.is_empty());
    }
}
