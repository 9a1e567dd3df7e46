//! A bounded first-in-first-out cache of signature verification results, by transaction hash.
//!
//! The pool itself is the cache for pending transactions; this one remembers transactions that
//! left the pool without being committed (evicted, expired, refused after verification), those
//! verified for a block proposal, and hashes whose signature failed, so that nothing is verified
//! twice on this node.

use chancery_core::tx::VerifiedTx;
use chancery_core::{PublicKey, TxHash};
use std::collections::{HashMap, VecDeque};

/// How many times `entries_max` the insertion order may grow (forgotten hashes stay in it
/// until they reach the front) before it is compacted: compaction then costs O(1) amortized
/// per removal, and the order never holds more than this many times the live entries.
const ORDER_SLACK_FACTOR: usize = 2;

/// A remembered result.
#[derive(Clone, Debug)]
pub(crate) enum Verdict {
    /// The signature verified.
    Valid(VerifiedTx),
    /// It did not; the claimed signer.
    Invalid(PublicKey),
}

impl Verdict {
    fn bytes(&self) -> usize {
        match self {
            Verdict::Valid(v) => v.bytes().len(),
            Verdict::Invalid(_) => 0,
        }
    }
}

/// FIFO cache bounded by entries and by the bytes of the transactions it holds.
#[derive(Debug)]
pub(crate) struct SigCache {
    map: HashMap<TxHash, Verdict>,
    order: VecDeque<TxHash>,
    bytes: usize,
    entries_max: usize,
    bytes_max: usize,
}

impl SigCache {
    pub(crate) fn new(entries_max: usize, bytes_max: usize) -> SigCache {
        SigCache {
            map: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            entries_max,
            bytes_max,
        }
    }

    pub(crate) fn get(&self, hash: &TxHash) -> Option<&Verdict> {
        self.map.get(hash)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Remember a verdict, dropping the oldest ones to stay within bounds. A transaction larger
    /// than the whole byte budget is not kept.
    pub(crate) fn put(&mut self, hash: TxHash, verdict: Verdict) {
        let size = verdict.bytes();
        if self.entries_max == 0 || size > self.bytes_max || self.map.contains_key(&hash) {
            return;
        }
        while self.map.len() >= self.entries_max || self.bytes + size > self.bytes_max {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(v) = self.map.remove(&old) {
                self.bytes -= v.bytes();
            }
        }
        self.bytes += size;
        self.map.insert(hash, verdict);
        self.order.push_back(hash);
    }

    /// Forget a hash (e.g. once its transaction is pending again, or committed).
    pub(crate) fn remove(&mut self, hash: &TxHash) {
        if let Some(v) = self.map.remove(hash) {
            self.bytes -= v.bytes();
            // The hash stays in `order` until it reaches the front; `put` skips it then.
            if self.order.len() > ORDER_SLACK_FACTOR * self.entries_max.max(1) {
                let map = &self.map;
                self.order.retain(|h| map.contains_key(h));
            }
        }
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        let bytes: usize = self.map.values().map(Verdict::bytes).sum();
        if bytes != self.bytes {
            return Err(format!(
                "cache bytes {} but entries hold {bytes}",
                self.bytes
            ));
        }
        if self.map.len() > self.entries_max || self.bytes > self.bytes_max {
            return Err(format!(
                "cache holds {} entries / {} bytes, limits {} / {}",
                self.map.len(),
                self.bytes,
                self.entries_max,
                self.bytes_max
            ));
        }
        let queued: std::collections::HashSet<&TxHash> = self.order.iter().collect();
        if self.map.keys().any(|h| !queued.contains(h)) {
            return Err("cache entry missing from its order queue".into());
        }
        Ok(())
    }
}
