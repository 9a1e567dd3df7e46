//! Bounded per-peer outbound queues and peer scores, shared by both implementations.

use crate::{Channel, Counters, Limits, Misbehaviour, PeerName, PeerStatus};
use libp2p::bytes::Bytes;
use libp2p::futures::task::AtomicWaker;
use libp2p::swarm::ConnectionId;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Lane {
    msgs: VecDeque<Bytes>,
    bytes: usize,
    /// Messages ever offered to this lane (queued or refused).
    pushes: u64,
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
        lane.pushes = lane.pushes.wrapping_add(1);
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

    /// True if nothing is waiting on `channel`.
    pub(crate) fn is_empty(&self, channel: Channel) -> bool {
        self.lanes[channel.index()].msgs.is_empty()
    }

    /// How many messages were ever offered on `channel` (a send counter that wraps).
    pub(crate) fn pushes(&self, channel: Channel) -> u64 {
        self.lanes[channel.index()].pushes
    }

    /// Move the next frame's messages of `channel` into `out` (which is cleared first): up
    /// to `batch_messages_max` messages and about `batch_bytes_max` bytes (a single larger
    /// message goes alone). Returns how many were taken; 0 if nothing is waiting.
    pub(crate) fn take_frame(
        &mut self,
        channel: Channel,
        limits: &Limits,
        out: &mut Vec<Bytes>,
    ) -> usize {
        out.clear();
        let lane = &mut self.lanes[channel.index()];
        let mut bytes = 0usize;
        while let Some(next) = lane.msgs.front() {
            let fits = out.is_empty()
                || (out.len() < limits.batch_messages_max
                    && bytes.saturating_add(next.len()) <= limits.batch_bytes_max);
            if !fits {
                break;
            }
            let Some(msg) = lane.msgs.pop_front() else {
                break;
            };
            lane.bytes -= msg.len();
            bytes += msg.len();
            out.push(msg);
        }
        out.len()
    }
}

/// Everything waiting for one peer, and which of its connections carries it.
///
/// `P2pNetwork::send` pushes into the queue and wakes the sending connection's handler;
/// that handler takes frames out of the queue when its stream has credit. Only one
/// connection per peer sends (the owner), so there is one stream per channel and peer.
pub(crate) struct Slot {
    /// The peer's name, as inbound messages carry it.
    pub(crate) name: PeerName,
    state: Mutex<SlotState>,
    /// The owner's handler, woken when something is queued.
    waker: AtomicWaker,
    /// The peer (this identity under this name) was removed from the allowed set: the
    /// queue is empty and stays so, and the handlers of its connections stop.
    closed: AtomicBool,
}

/// The lock-protected part of a [`Slot`].
pub(crate) struct SlotState {
    /// The bounded outbound queue.
    pub(crate) queue: PeerQueue,
    /// The connection whose handler sends the queue, if the peer is connected.
    pub(crate) owner: Option<ConnectionId>,
}

impl Slot {
    pub(crate) fn new(name: PeerName) -> Slot {
        Slot {
            name,
            state: Mutex::new(SlotState {
                queue: PeerQueue::default(),
                owner: None,
            }),
            waker: AtomicWaker::new(),
            closed: AtomicBool::new(false),
        }
    }

    /// The peer was removed from the allowed set: drop what is queued, refuse what comes.
    pub(crate) fn close(&self) {
        let mut st = self.lock();
        // Set under the lock, so a push either went before (and is dropped here) or sees it.
        self.closed.store(true, Ordering::Release);
        st.queue = PeerQueue::default();
        drop(st);
        self.waker.wake();
    }

    /// Was the peer removed from the allowed set? (One atomic load: handlers ask on every
    /// poll.)
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The queue and owner, locked.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SlotState> {
        // A panic while holding the lock poisons it; every critical section is a few queue
        // operations, so the data is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue a message and wake the sending handler.
    pub(crate) fn push(
        &self,
        channel: Channel,
        payload: Bytes,
        limits: &Limits,
        counters: &Counters,
    ) {
        let mut st = self.lock();
        if self.closed.load(Ordering::Relaxed) {
            // Its peer was removed after the sender found it: as if sent just before.
            return;
        }
        st.queue.push(channel, payload, limits, counters);
        drop(st);
        self.waker.wake();
    }

    /// The owner's handler registers here on every poll.
    pub(crate) fn register(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
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

    /// Forget `peer`'s score and ban (it left the allowed set, or its key changed).
    pub(crate) fn forget(&mut self, peer: &PeerName) {
        self.scores.remove(peer);
        self.banned_until.remove(peer);
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
        assert_eq!(q.pushes(Channel::Consensus), 5);
        assert_eq!(q.pushes(Channel::Transactions), 5);
        let mut got = Vec::new();
        let mut frame = Vec::new();
        for ch in Channel::ALL {
            while q.take_frame(ch, &l, &mut frame) > 0 {
                assert!(frame.len() <= 2);
                got.extend(frame.iter().map(|m| (ch, m[0])));
            }
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
        assert!(q.is_empty(Channel::Consensus) && q.is_empty(Channel::Transactions));
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
        let mut b = Vec::new();
        assert_eq!(q.take_frame(Channel::Transactions, &l, &mut b), 1);
        assert_eq!(b[0].len(), 600);
        assert_eq!(q.take_frame(Channel::Transactions, &l, &mut b), 1);
        assert_eq!(b[0][0], 3);
        assert_eq!(q.take_frame(Channel::Transactions, &l, &mut b), 0);
        assert!(b.is_empty());
        assert_eq!(q.take_frame(Channel::Consensus, &l, &mut b), 0);
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
