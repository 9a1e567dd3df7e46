//! Consensus signatures checked off the driver (issue 17).
//!
//! The driver hands each batch of consensus messages from peers to the verify pool first
//! ([`precheck`]): there they are decoded, the signatures they carry are listed
//! (`chancery_consensus::verify::signature_items`) and verified as one batch, and the good
//! ones go into a [`SigCache`]. The driver then steps the core with the original bytes;
//! the core's [`CachedVerifier`] finds its checks in the cache, and verifies with the
//! kernel whatever it does not find there. So the pre-check only ever saves work: a bad
//! signature is never cached, and the core refuses it and reports its sender exactly as
//! without a pre-check.

use chancery_consensus::verify::{signature_items, SignedItem, Verifier};
use chancery_consensus::{Message, Peer};
use chancery_core::crypto::{self, BatchItem, KeyCache, SignatureError};
use chancery_core::ids::{ChainId, PublicKey, Signature, View};
use chancery_core::validator::ValidatorSet;
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Most verified signatures the cache holds; the oldest go first. At least the items of
/// every pre-check that may be in flight (`driver::SIG_PRECHECKS_MAX` times
/// [`SIG_PRECHECK_ITEMS_MAX`], checked at compile time there), so that a batch's checks
/// are normally still there when the core is stepped with it (an evicted one is only
/// verified again). About 6 MiB when full (128-byte entries, in a set and a queue).
pub const SIG_CACHE_ITEMS_MAX: usize = 16_384;
/// Most signatures one pre-check lists. A message whose signatures would go past it is
/// left to the core (which checks only what it needs: a proposal can carry hundreds of
/// certificates the core already holds).
pub const SIG_PRECHECK_ITEMS_MAX: usize = 4_096;
/// Most decompressed validator keys the core's verifier keeps.
const KEY_CACHE_MAX: usize = chancery_core::limits::VALIDATORS_MAX;

/// One verified signature: the signer's key, the signature and the BLAKE3 hash of the
/// signed bytes (tag included). Another message or key under the same signature is another
/// entry, so it never hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SigKey {
    key: PublicKey,
    signature: Signature,
    message: [u8; 32],
}

impl SigKey {
    /// The entry of `item`.
    pub fn of(item: &BatchItem<'_>) -> SigKey {
        SigKey::with_hash(item, *blake3::hash(item.message).as_bytes())
    }

    fn with_hash(item: &BatchItem<'_>, message: [u8; 32]) -> SigKey {
        SigKey {
            key: item.key,
            signature: item.signature,
            message,
        }
    }
}

/// The counters of a [`SigCache`], for the node's status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigCounters {
    /// Signatures the core's verifier found verified in the cache.
    pub hits: u64,
    /// Signatures the core's verifier had to verify itself, on the driver.
    pub misses: u64,
    /// Signatures verified by pre-checks, on the verify pool.
    pub prechecked: u64,
}

#[derive(Default)]
struct Entries {
    set: HashSet<SigKey>,
    /// Every key of `set` once, oldest first.
    order: VecDeque<SigKey>,
}

/// A bounded set of verified signatures, shared by the pre-checks and the core's verifier.
pub struct SigCache {
    entries: Mutex<Entries>,
    items_max: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    prechecked: AtomicU64,
}

impl SigCache {
    /// An empty cache of at most `items_max` signatures.
    pub fn new(items_max: usize) -> SigCache {
        SigCache {
            entries: Mutex::new(Entries::default()),
            items_max,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            prechecked: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // Entries are only ever verified signatures, so a holder that panicked cannot have
        // left a wrong one behind (at worst one key outside `order`, never evicted).
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `key` was verified (counts nothing).
    pub fn contains(&self, key: &SigKey) -> bool {
        self.lock().set.contains(key)
    }

    /// How many signatures it holds.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().set.len()
    }

    /// Record verified signatures, evicting the oldest beyond `items_max`.
    pub fn insert(&self, keys: impl IntoIterator<Item = SigKey>) {
        if self.items_max == 0 {
            return;
        }
        let mut e = self.lock();
        for k in keys {
            if !e.set.insert(k) {
                continue;
            }
            e.order.push_back(k);
            while e.order.len() > self.items_max {
                if let Some(old) = e.order.pop_front() {
                    e.set.remove(&old);
                }
            }
        }
    }

    /// The counters so far.
    pub fn counters(&self) -> SigCounters {
        SigCounters {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            prechecked: self.prechecked.load(Ordering::Relaxed),
        }
    }
}

/// The core's verifier: signatures found in the [`SigCache`] pass; the others are verified
/// with the kernel (and cached when good), so a verdict never depends on the pre-check.
pub struct CachedVerifier {
    cache: Arc<SigCache>,
    keys: KeyCache,
}

impl CachedVerifier {
    /// A verifier over `cache`.
    pub fn new(cache: Arc<SigCache>) -> CachedVerifier {
        CachedVerifier {
            cache,
            keys: KeyCache::new(KEY_CACHE_MAX),
        }
    }

    /// The indices of the bad items, in increasing order.
    fn bad(&mut self, items: &[BatchItem<'_>]) -> Vec<usize> {
        // A certificate's signatures share one message: hash it once.
        let mut last: Option<(&[u8], [u8; 32])> = None;
        let keys: Vec<SigKey> = items
            .iter()
            .map(|it| {
                let hash = match last {
                    Some((m, h)) if std::ptr::eq(m, it.message) => h,
                    _ => *blake3::hash(it.message).as_bytes(),
                };
                last = Some((it.message, hash));
                SigKey::with_hash(it, hash)
            })
            .collect();
        let todo: Vec<usize> = {
            let cached = self.cache.lock();
            (0..items.len())
                .filter(|&i| !cached.set.contains(&keys[i]))
                .collect()
        };
        let hits = (items.len() - todo.len()) as u64;
        self.cache.hits.fetch_add(hits, Ordering::Relaxed);
        self.cache
            .misses
            .fetch_add(todo.len() as u64, Ordering::Relaxed);
        if todo.is_empty() {
            return Vec::new();
        }
        let sub: Vec<BatchItem<'_>> = todo.iter().map(|&i| items[i].clone()).collect();
        let bad_sub = crypto::bad_items(&sub, &mut self.keys);
        let bad: Vec<usize> = bad_sub.iter().map(|&j| todo[j]).collect();
        let bad_set: HashSet<usize> = bad.iter().copied().collect();
        self.cache.insert(
            todo.iter()
                .filter(|i| !bad_set.contains(i))
                .map(|&i| keys[i]),
        );
        bad
    }
}

impl Verifier for CachedVerifier {
    fn verify_batch(&mut self, items: &[BatchItem<'_>]) -> Result<(), SignatureError> {
        match self.bad(items).first() {
            None => Ok(()),
            Some(&index) => Err(SignatureError::BatchItem {
                index,
                key: items[index].key,
            }),
        }
    }

    fn bad_items(&mut self, items: &[BatchItem<'_>]) -> Vec<usize> {
        self.bad(items)
    }
}

/// The view a message is about (`None` for a block request, which carries no signature).
fn message_view(m: &Message) -> Option<View> {
    match m {
        Message::Vote(v) => Some(v.view),
        Message::Certificate(c) => Some(c.view),
        Message::Proposal(p) => Some(p.proposal.block.view),
        Message::Block(p) => Some(p.block.view),
        Message::Evidence(e) => Some(e.view()),
        Message::BlockRequest { .. } => None,
    }
}

/// How many signatures a message carries at most (before decoding them into items).
fn signatures_carried(m: &Message) -> usize {
    match m {
        Message::Vote(_) | Message::Block(_) => 1,
        Message::Certificate(c) => c.signatures.len(),
        Message::Proposal(p) => p
            .parent_cert
            .iter()
            .chain(&p.nullifications)
            .map(|c| c.signatures.len())
            .fold(1, usize::saturating_add),
        Message::Evidence(_) => 2,
        Message::BlockRequest { .. } => 0,
    }
}

/// Pre-check a batch of consensus messages from peers (runs on the verify pool): decode
/// each, list its signatures against `set`, verify the ones not cached yet as one batch,
/// and cache the good ones. Messages that do not decode, come from outside the set, or are
/// about views at or below `root_view` (the core's finalized root, which only rises; the
/// core ignores them) are skipped: the core sees every message anyway and judges it. At
/// most [`SIG_PRECHECK_ITEMS_MAX`] signatures are listed. Returns how many signatures it
/// verified.
pub fn precheck(
    list: &[(Peer, Vec<u8>)],
    chain_id: ChainId,
    set: &ValidatorSet,
    root_view: View,
    cache: &SigCache,
) -> usize {
    let mut items: Vec<SignedItem> = Vec::new();
    for (from, bytes) in list {
        if usize::from(*from) >= set.len() {
            continue;
        }
        let Ok(m) = Message::decode(set.suite(), bytes) else {
            continue;
        };
        if message_view(&m).is_none_or(|v| v <= root_view) {
            continue;
        }
        if items.len().saturating_add(signatures_carried(&m)) > SIG_PRECHECK_ITEMS_MAX {
            continue;
        }
        items.extend(signature_items(&m, chain_id, set));
    }
    let mut seen = HashSet::new();
    let todo: Vec<(SigKey, BatchItem<'_>)> = items
        .iter()
        .map(|i| {
            let item = i.batch_item();
            (SigKey::of(&item), item)
        })
        .filter(|(k, _)| seen.insert(*k) && !cache.contains(k))
        .collect();
    if todo.is_empty() {
        return 0;
    }
    let batch: Vec<BatchItem<'_>> = todo.iter().map(|(_, i)| i.clone()).collect();
    let bad: HashSet<usize> = crypto::bad_items(&batch, &mut KeyCache::new(set.len()))
        .into_iter()
        .collect();
    cache.insert(
        todo.iter()
            .enumerate()
            .filter(|(i, _)| !bad.contains(i))
            .map(|(_, (k, _))| *k),
    );
    cache
        .prechecked
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    batch.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_core::crypto::SecretKey;
    use chancery_core::domain::VOTE_SIGN;

    fn signed(key: &SecretKey, body: &[u8]) -> (Vec<u8>, Signature) {
        (VOTE_SIGN.signing_bytes(body), key.sign(VOTE_SIGN, body))
    }

    fn item<'a>(key: &SecretKey, message: &'a [u8], signature: Signature) -> BatchItem<'a> {
        BatchItem {
            key: key.public(),
            message,
            signature,
        }
    }

    #[test]
    fn the_cache_is_bounded_and_evicts_the_oldest() {
        let key = SecretKey::from_seed([3; 32]);
        let cache = SigCache::new(4);
        let keys: Vec<SigKey> = (0u8..6)
            .map(|i| {
                let (m, s) = signed(&key, &[i]);
                SigKey::of(&item(&key, &m, s))
            })
            .collect();
        cache.insert(keys[..3].iter().copied());
        // Inserting one again neither grows the cache nor makes it younger.
        cache.insert([keys[0]]);
        assert_eq!(cache.len(), 3);
        cache.insert(keys[3..].iter().copied());
        assert_eq!(cache.len(), 4, "bounded by items_max");
        assert!(!cache.contains(&keys[0]) && !cache.contains(&keys[1]));
        assert!(keys[2..].iter().all(|k| cache.contains(k)));
        assert!(SigCache::new(0).len() == 0);
        let none = SigCache::new(0);
        none.insert(keys.iter().copied());
        assert_eq!(none.len(), 0);
    }

    #[test]
    fn another_message_or_key_under_a_cached_signature_is_verified_and_refused() {
        let key = SecretKey::from_seed([4; 32]);
        let other = SecretKey::from_seed([5; 32]);
        let (m, s) = signed(&key, b"vote");
        let cache = Arc::new(SigCache::new(16));
        let mut v = CachedVerifier::new(cache.clone());
        assert_eq!(v.verify_batch(&[item(&key, &m, s)]), Ok(()));
        assert_eq!(cache.counters().misses, 1, "verified once");
        assert_eq!(v.verify_batch(&[item(&key, &m, s)]), Ok(()));
        assert_eq!(cache.counters().hits, 1, "then found in the cache");
        // The same signature over another message, or under another key: not cached, so
        // verified, and bad.
        let m2 = VOTE_SIGN.signing_bytes(b"other vote");
        let forged = [item(&key, &m, s), item(&key, &m2, s), item(&other, &m, s)];
        assert_eq!(v.bad_items(&forged), vec![1, 2]);
        assert!(matches!(
            v.verify_batch(&forged),
            Err(SignatureError::BatchItem { index: 1, .. })
        ));
        assert_eq!(cache.len(), 1, "bad signatures are never cached");
    }

    #[test]
    fn a_precheck_caches_good_signatures_only_and_skips_what_it_cannot_decode() {
        use chancery_consensus::Vote;
        use chancery_core::cert::VoteKind;
        use chancery_core::ids::{Digest, Epoch};
        let keys: Vec<SecretKey> = (1..=4u8).map(|i| SecretKey::from_seed([i; 32])).collect();
        let set = ValidatorSet {
            epoch: Epoch(0),
            start_height: chancery_core::ids::Height(1),
            validators: keys
                .iter()
                .enumerate()
                .map(|(i, k)| chancery_core::validator::Validator {
                    name: format!("v{i}"),
                    agency: chancery_core::AgencyId("a".into()),
                    consensus_key: k.public(),
                    network_key: chancery_core::NetworkKey::of_ed25519(&k.public()).unwrap(),
                    power: 1,
                })
                .collect(),
        };
        let chain = Digest([9; 32]);
        let vote = |i: usize, view: u64| {
            Vote::sign(
                chain,
                Epoch(0),
                View(view),
                VoteKind::Nullify,
                Digest::ZERO,
                i as u16,
                &keys[i],
            )
        };
        let good = vote(1, 3);
        let mut bad = vote(2, 3);
        bad.signature.0[5] ^= 1;
        let stale = vote(3, 2);
        let list = vec![
            (1, Message::Vote(good).encode()),
            (2, Message::Vote(bad).encode()),
            (3, Message::Vote(stale).encode()),
            (3, b"junk".to_vec()),
            (1, Message::Vote(good).encode()),
        ];
        let cache = SigCache::new(64);
        // The good vote once (the copy is deduplicated), the bad one; not the stale one.
        assert_eq!(precheck(&list, chain, &set, View(2), &cache), 2);
        assert_eq!(cache.counters().prechecked, 2);
        let key_of = |v: &Vote| {
            let m = v.body(chain).signed_message();
            SigKey::of(&BatchItem {
                key: keys[usize::from(v.signer)].public(),
                message: &m,
                signature: v.signature,
            })
        };
        assert!(cache.contains(&key_of(&good)));
        assert!(!cache.contains(&key_of(&bad)));
        assert!(!cache.contains(&key_of(&stale)));
        // Cached signatures are not verified again.
        assert_eq!(precheck(&list, chain, &set, View(2), &cache), 1);
    }
}
