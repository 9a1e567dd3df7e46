//! The allowed peer set: checking a list ([`check_peers`], both implementations) and the
//! libp2p network's table of allowed identities ([`PeerBook`]), which
//! [`crate::Network::set_peers`] replaces as a whole at runtime.
//!
//! Readers (every `send`, the connection handlers) take a read lock and look up a name or
//! a `PeerId`; `set_peers` builds the next table beside the current one and swaps the
//! `Arc` under the write lock, so a reader never waits for more than the swap. The swarm
//! task applies each new table (allow-list, connections, dials, limits) when it sees the
//! generation change.

use crate::p2p::peer_id_of;
use crate::queue::Slot;
use crate::{Limits, PeerConfig, PeerName, PeerSetChange, SetPeersError};
use libp2p::{Multiaddr, PeerId};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

/// One checked entry of a peer list.
pub(crate) struct CheckedPeer {
    /// The entry.
    pub(crate) config: PeerConfig,
    /// Its libp2p identity (from the network key).
    pub(crate) id: PeerId,
}

/// Check a peer list: every key decodes, no name or key appears twice, at most
/// `limits.peers_max` peers. Entries naming this node (by `local_name`, or by `local_id`
/// when known) are dropped, not counted and not compared.
pub(crate) fn check_peers(
    local_name: &PeerName,
    local_id: Option<PeerId>,
    peers: Vec<PeerConfig>,
    limits: &Limits,
) -> Result<Vec<CheckedPeer>, SetPeersError> {
    let mut names: HashMap<PeerName, ()> = HashMap::with_capacity(peers.len());
    let mut ids: HashMap<PeerId, PeerName> = HashMap::with_capacity(peers.len());
    let mut out = Vec::with_capacity(peers.len().min(limits.peers_max));
    for p in peers {
        let id = peer_id_of(&p.network_key).map_err(|reason| SetPeersError::BadNetworkKey {
            peer: p.name.clone(),
            key: p.network_key.to_hex(),
            reason,
        })?;
        if p.name == *local_name || Some(id) == local_id {
            continue;
        }
        if names.insert(p.name.clone(), ()).is_some() {
            return Err(SetPeersError::DuplicateName { peer: p.name });
        }
        if let Some(first) = ids.insert(id, p.name.clone()) {
            return Err(SetPeersError::DuplicateKey {
                peer: p.name,
                first,
                key: p.network_key.to_hex(),
            });
        }
        out.push(CheckedPeer { config: p, id });
    }
    if out.len() > limits.peers_max {
        return Err(SetPeersError::TooMany {
            peers: out.len(),
            peers_max: limits.peers_max,
        });
    }
    Ok(out)
}

/// The names added, removed and rotated (same name, another identity) from `old` to `new`.
pub(crate) fn diff(
    old: &HashMap<PeerName, PeerId>,
    new: &HashMap<PeerName, PeerId>,
) -> PeerSetChange {
    let sorted = |set: BTreeSet<PeerName>| set.into_iter().collect::<Vec<_>>();
    PeerSetChange {
        added: sorted(
            new.keys()
                .filter(|n| !old.contains_key(*n))
                .cloned()
                .collect(),
        ),
        removed: sorted(
            old.keys()
                .filter(|n| !new.contains_key(*n))
                .cloned()
                .collect(),
        ),
        rotated: sorted(
            new.iter()
                .filter(|(n, id)| old.get(*n).is_some_and(|o| o != *id))
                .map(|(n, _)| n.clone())
                .collect(),
        ),
    }
}

/// One version of the allowed set of a libp2p network.
pub(crate) struct PeerTable {
    /// Bumped by every replacement; the swarm task applies a table once.
    pub(crate) generation: u64,
    /// Name to identity.
    pub(crate) ids: HashMap<PeerName, PeerId>,
    /// The names, sorted (what `Network::peers` returns).
    pub(crate) names: Vec<PeerName>,
    /// Every allowed identity's outbound queue; a kept identity keeps its `Slot`.
    pub(crate) slots: HashMap<PeerId, Arc<Slot>>,
    /// The addresses the list gave (empty: keep what is known, or wait to be dialled).
    pub(crate) addrs: HashMap<PeerId, Vec<Multiaddr>>,
}

impl PeerTable {
    /// The slot of `name`, if allowed.
    pub(crate) fn slot_of(&self, name: &PeerName) -> Option<&Arc<Slot>> {
        self.ids.get(name).and_then(|id| self.slots.get(id))
    }
}

/// The current [`PeerTable`], shared by the handle, the swarm task and the connection
/// handlers.
pub(crate) struct PeerBook {
    table: RwLock<Arc<PeerTable>>,
    /// Serialises replacements (each is computed from the one before).
    update: Mutex<()>,
}

impl PeerBook {
    /// The book of a checked list (generation 0).
    pub(crate) fn new(peers: Vec<CheckedPeer>) -> PeerBook {
        let table = Self::build(0, peers, &HashMap::new(), &HashMap::new());
        PeerBook {
            table: RwLock::new(Arc::new(table)),
            update: Mutex::new(()),
        }
    }

    fn build(
        generation: u64,
        peers: Vec<CheckedPeer>,
        old_ids: &HashMap<PeerName, PeerId>,
        old_slots: &HashMap<PeerId, Arc<Slot>>,
    ) -> PeerTable {
        let mut t = PeerTable {
            generation,
            ids: HashMap::with_capacity(peers.len()),
            names: Vec::with_capacity(peers.len()),
            slots: HashMap::with_capacity(peers.len()),
            addrs: HashMap::with_capacity(peers.len()),
        };
        for CheckedPeer { config, id } in peers {
            // Same name and same identity: the same queue (and so the same connection).
            let slot = match (old_ids.get(&config.name), old_slots.get(&id)) {
                (Some(old), Some(slot)) if *old == id => slot.clone(),
                _ => Arc::new(Slot::new(config.name.clone())),
            };
            t.ids.insert(config.name.clone(), id);
            t.names.push(config.name);
            t.slots.insert(id, slot);
            t.addrs.insert(id, config.addrs);
        }
        t.names.sort();
        t
    }

    /// The current table, read-locked (cheap; do not hold it across an await).
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Arc<PeerTable>> {
        // A panic while holding the lock poisons it; the table is replaced whole, never
        // modified in place, so it is consistent.
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A snapshot of the current table.
    pub(crate) fn current(&self) -> Arc<PeerTable> {
        self.read().clone()
    }

    /// Replace the table with a checked list; the queues of identities no longer allowed
    /// are closed (emptied, and refusing further messages) once nobody can find them.
    pub(crate) fn replace(&self, peers: Vec<CheckedPeer>) -> PeerSetChange {
        let _serial = self.update.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.current();
        let next = Self::build(old.generation.wrapping_add(1), peers, &old.ids, &old.slots);
        let change = diff(&old.ids, &next.ids);
        let dropped: Vec<Arc<Slot>> = old
            .slots
            .iter()
            .filter(|(id, slot)| !next.slots.get(*id).is_some_and(|s| Arc::ptr_eq(s, slot)))
            .map(|(_, slot)| slot.clone())
            .collect();
        *self.table.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        // After the swap no sender finds these slots any more; one that found a slot
        // before is done pushing (it held the read lock), so closing now drops everything.
        for slot in dropped {
            slot.close();
        }
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str, seed: u8) -> PeerConfig {
        PeerConfig {
            name: name.into(),
            network_key: chancery_core::NetworkKey::from_seed([seed; 32]),
            addrs: Vec::new(),
        }
    }

    fn checked(list: Vec<PeerConfig>) -> Vec<CheckedPeer> {
        check_peers(&"me".into(), None, list, &Limits::default()).expect("valid list")
    }

    #[test]
    fn replace_keeps_kept_slots_and_closes_the_others() {
        let book = PeerBook::new(checked(vec![peer("a", 1), peer("b", 2), peer("c", 3)]));
        let t0 = book.current();
        let (a0, b0, c0) = (
            t0.slot_of(&"a".into()).expect("a").clone(),
            t0.slot_of(&"b".into()).expect("b").clone(),
            t0.slot_of(&"c".into()).expect("c").clone(),
        );
        let l = Limits::default();
        let counters = crate::Counters::default();
        b0.push(crate::Channel::Consensus, "x".into(), &l, &counters);
        // a kept, b removed, c rotated, d added.
        let change = book.replace(checked(vec![peer("a", 1), peer("c", 9), peer("d", 4)]));
        assert_eq!(
            change,
            PeerSetChange {
                added: vec!["d".into()],
                removed: vec!["b".into()],
                rotated: vec!["c".into()],
            }
        );
        let t1 = book.current();
        assert_eq!(t1.generation, t0.generation + 1);
        assert_eq!(
            t1.names,
            vec!["a".into(), "c".into(), "d".into()] as Vec<PeerName>
        );
        assert!(Arc::ptr_eq(t1.slot_of(&"a".into()).expect("a"), &a0));
        assert!(!Arc::ptr_eq(t1.slot_of(&"c".into()).expect("c"), &c0));
        assert!(t1.slot_of(&"b".into()).is_none());
        assert!(!a0.is_closed());
        assert!(b0.is_closed() && c0.is_closed());
        // The removed queue was emptied and refuses what a late sender pushes.
        assert!(b0.lock().queue.is_empty(crate::Channel::Consensus));
        b0.push(crate::Channel::Consensus, "y".into(), &l, &counters);
        assert!(b0.lock().queue.is_empty(crate::Channel::Consensus));
    }

    #[test]
    fn check_refuses_bad_lists_and_ignores_this_node() {
        let me = PeerName::from("me");
        let l = Limits {
            peers_max: 2,
            ..Limits::default()
        };
        let ok = check_peers(
            &me,
            None,
            vec![peer("me", 5), peer("a", 1), peer("b", 2)],
            &l,
        )
        .expect("this node's entry is not counted");
        assert_eq!(ok.len(), 2);
        assert_eq!(
            check_peers(&me, None, vec![peer("a", 1), peer("a", 2)], &l).err(),
            Some(SetPeersError::DuplicateName { peer: "a".into() })
        );
        assert_eq!(
            check_peers(&me, None, vec![peer("a", 1), peer("b", 1)], &l).err(),
            Some(SetPeersError::DuplicateKey {
                peer: "b".into(),
                first: "a".into(),
                key: peer("a", 1).network_key.to_hex(),
            })
        );
        assert_eq!(
            check_peers(
                &me,
                None,
                vec![peer("a", 1), peer("b", 2), peer("c", 3)],
                &l
            )
            .err(),
            Some(SetPeersError::TooMany {
                peers: 3,
                peers_max: 2
            })
        );
    }
}
