//! The state tree: a binary Merkle trie over 256-bit key hashes with compressed paths
//! (a subtree holding one entry is that entry's leaf). Hashing and proof verification are
//! the kernel's (`chancery_core::state`); this module builds and walks the tree.
//!
//! Nodes are content-addressed and path-keyed: a node is stored in `Column::StateTree`
//! under its position in the trie (the first `depth` bits of its path, then its depth)
//! followed by its own hash ([`store_key`]), never changed. Keys sort by path, so the
//! nodes one flush writes (the changed paths of many blocks) are neighbours, and so are
//! the nodes of one proof path. An update creates new nodes along the changed paths only;
//! old roots stay valid, so proofs can be made as of any flushed height.

use chancery_core::state::{bit, leaf_hash, node_hash, ProofEnd, EMPTY};
use chancery_core::suite::Suite;
use chancery_core::Digest;

/// Node encoding length: tag byte and two digests.
pub const NODE_BYTES: usize = 65;

/// A stored node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// One entry: its key hash and value hash.
    Leaf {
        /// Key hash.
        key: Digest,
        /// Value hash.
        value: Digest,
    },
    /// Two subtrees (at least two entries below).
    Internal {
        /// Left child hash (bit 0).
        left: Digest,
        /// Right child hash (bit 1).
        right: Digest,
    },
}

impl Node {
    /// The node's hash (its address).
    pub fn hash(&self, suite: Suite) -> Digest {
        match self {
            Node::Leaf { key, value } => leaf_hash(suite, key, value),
            Node::Internal { left, right } => node_hash(suite, left, right),
        }
    }

    /// `0x01 || key || value` for leaves, `0x02 || left || right` for interior nodes.
    pub fn encode(&self) -> Vec<u8> {
        let (tag, a, b) = match self {
            Node::Leaf { key, value } => (1u8, key, value),
            Node::Internal { left, right } => (2u8, left, right),
        };
        let mut out = Vec::with_capacity(NODE_BYTES);
        out.push(tag);
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b.as_bytes());
        out
    }

    /// Decode; `None` if the bytes are not a node.
    pub fn decode(bytes: &[u8]) -> Option<Node> {
        if bytes.len() != NODE_BYTES {
            return None;
        }
        let a = Digest(bytes[1..33].try_into().ok()?);
        let b = Digest(bytes[33..65].try_into().ok()?);
        match bytes[0] {
            1 => Some(Node::Leaf { key: a, value: b }),
            2 => Some(Node::Internal { left: a, right: b }),
            _ => None,
        }
    }
}

/// Result of an update: the new root and every node created (children before parents).
#[derive(Clone, Debug)]
pub struct TreeUpdate {
    /// New root.
    pub root: Digest,
    /// Nodes created, keyed by hash.
    pub nodes: Vec<(Digest, Node)>,
}

/// How the walkers fetch a node: `load(hash, depth, path)` returns the node with that hash
/// at that depth on the path of the key `path` (only its first `depth` bits matter). It
/// must check that the node hashes to `hash`.
pub type Load<'a, E> = dyn FnMut(&Digest, usize, &Digest) -> Result<Node, E> + 'a;

/// Insert or replace entries. `changes` must be sorted by key hash without duplicates;
/// entries are never removed (the ledger's state only grows).
pub fn update<E>(
    suite: Suite,
    root: Digest,
    changes: &[(Digest, Digest)],
    load: &mut Load<'_, E>,
) -> Result<TreeUpdate, E> {
    let mut nodes = Vec::new();
    let root = update_at(suite, root, 0, changes, load, &mut nodes)?;
    Ok(TreeUpdate { root, nodes })
}

fn emit(suite: Suite, node: Node, nodes: &mut Vec<(Digest, Node)>) -> Digest {
    let h = node.hash(suite);
    nodes.push((h, node));
    h
}

fn split(changes: &[(Digest, Digest)], depth: usize) -> usize {
    changes.partition_point(|(k, _)| !bit(k, depth))
}

fn update_at<E>(
    suite: Suite,
    at: Digest,
    depth: usize,
    changes: &[(Digest, Digest)],
    load: &mut Load<'_, E>,
    nodes: &mut Vec<(Digest, Node)>,
) -> Result<Digest, E> {
    let Some((path, _)) = changes.first() else {
        return Ok(at);
    };
    if at == EMPTY {
        return Ok(build(suite, depth, changes, nodes));
    }
    // Every change below this node shares its first `depth` bits: any of them is its path.
    match load(&at, depth, path)? {
        Node::Leaf { key, value } => {
            // Merge the existing leaf with the changes, unless a change replaces it.
            if changes.iter().any(|(k, _)| *k == key) {
                Ok(build(suite, depth, changes, nodes))
            } else {
                let mut merged = Vec::with_capacity(changes.len() + 1);
                let pos = changes.partition_point(|(k, _)| *k < key);
                merged.extend_from_slice(&changes[..pos]);
                merged.push((key, value));
                merged.extend_from_slice(&changes[pos..]);
                Ok(build(suite, depth, &merged, nodes))
            }
        }
        Node::Internal { left, right } => {
            let mid = split(changes, depth);
            let l = update_at(suite, left, depth + 1, &changes[..mid], load, nodes)?;
            let r = update_at(suite, right, depth + 1, &changes[mid..], load, nodes)?;
            Ok(emit(suite, Node::Internal { left: l, right: r }, nodes))
        }
    }
}

/// Build the subtree at `depth` of sorted, distinct entries that share their first `depth`
/// bits (a snapshot chunk's): its root and every node, children before parents.
pub fn build_at(suite: Suite, depth: usize, entries: &[(Digest, Digest)]) -> TreeUpdate {
    let mut nodes = Vec::new();
    let root = build(suite, depth, entries, &mut nodes);
    TreeUpdate { root, nodes }
}

/// Build a fresh subtree for sorted, distinct entries.
fn build(
    suite: Suite,
    depth: usize,
    entries: &[(Digest, Digest)],
    nodes: &mut Vec<(Digest, Node)>,
) -> Digest {
    match entries {
        [] => EMPTY,
        [(key, value)] => emit(
            suite,
            Node::Leaf {
                key: *key,
                value: *value,
            },
            nodes,
        ),
        _ if depth >= 256 => {
            // Distinct 256-bit keys always split before depth 256; unreachable, but never
            // recurse without bound.
            EMPTY
        }
        _ => {
            let mid = split(entries, depth);
            let l = build(suite, depth + 1, &entries[..mid], nodes);
            let r = build(suite, depth + 1, &entries[mid..], nodes);
            emit(suite, Node::Internal { left: l, right: r }, nodes)
        }
    }
}

/// The path of `key` from `root`: sibling hashes and where it ends.
pub fn prove<E>(
    root: Digest,
    key: &Digest,
    load: &mut Load<'_, E>,
) -> Result<(Vec<Digest>, PathEnd), E> {
    let mut siblings = Vec::new();
    let mut at = root;
    loop {
        if at == EMPTY {
            return Ok((siblings, PathEnd::Empty));
        }
        match load(&at, siblings.len(), key)? {
            Node::Leaf { key: k, value } => {
                return Ok((siblings, PathEnd::Leaf { key: k, value }));
            }
            Node::Internal { left, right } => {
                if siblings.len() >= 256 {
                    return Ok((siblings, PathEnd::Empty));
                }
                if bit(key, siblings.len()) {
                    siblings.push(left);
                    at = right;
                } else {
                    siblings.push(right);
                    at = left;
                }
            }
        }
    }
}

/// Deepest position of a node: distinct 256-bit keys split by depth 255, so a leaf can
/// sit at depth 256 at most.
pub const DEPTH_MAX: usize = 256;

/// The `Column::StateTree` key of the node `hash` at `depth` on the path of `path`: the
/// first `depth` bits of the path (whole bytes, the unused low bits of the last one
/// zero), the depth (2 bytes BE), the hash. Keys sort by path first, so a subtree's nodes
/// are neighbours; the hash keeps distinct nodes at one position (versions) apart.
pub fn store_key(hash: &Digest, depth: usize, path: &Digest) -> Vec<u8> {
    let depth = depth.min(DEPTH_MAX);
    let whole = depth.div_ceil(8);
    let mut k = Vec::with_capacity(whole + 2 + 32);
    k.extend_from_slice(&path.0[..whole]);
    if depth % 8 != 0 {
        if let Some(last) = k.last_mut() {
            *last &= 0xff << (8 - depth % 8);
        }
    }
    k.extend_from_slice(&(depth as u16).to_be_bytes());
    k.extend_from_slice(hash.as_bytes());
    k
}

/// The nodes reachable from `root` that `get` knows, each with its [`store_key`], parents
/// before children. The walk does not descend below a node `get` does not know: such a
/// node is already stored, and so is its whole subtree.
pub fn positioned(root: Digest, get: &dyn Fn(&Digest) -> Option<Node>) -> Vec<(Vec<u8>, Node)> {
    positioned_at(root, 0, Digest([0; 32]), get)
}

/// [`positioned`] for the subtree whose root sits at `depth` on `path` (only the first
/// `depth` bits of `path` matter; the rest must be zero).
pub fn positioned_at(
    root: Digest,
    depth: usize,
    path: Digest,
    get: &dyn Fn(&Digest) -> Option<Node>,
) -> Vec<(Vec<u8>, Node)> {
    let mut out = Vec::new();
    // (hash, depth, a path with the node's first `depth` bits, zero after them)
    let mut stack = vec![(root, depth, path)];
    while let Some((h, depth, path)) = stack.pop() {
        if h == EMPTY {
            continue;
        }
        let Some(n) = get(&h) else {
            continue;
        };
        out.push((store_key(&h, depth, &path), n));
        if let Node::Internal { left, right } = n {
            if depth < DEPTH_MAX {
                let mut right_path = path;
                right_path.0[depth / 8] |= 0x80 >> (depth % 8);
                stack.push((left, depth + 1, path));
                stack.push((right, depth + 1, right_path));
            }
        }
    }
    out
}

/// Where a path ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathEnd {
    /// Empty subtree.
    Empty,
    /// A leaf (the key's own if `key` matches).
    Leaf {
        /// Leaf key hash.
        key: Digest,
        /// Leaf value hash.
        value: Digest,
    },
}

impl PathEnd {
    /// As the kernel's proof end, for the key `key`.
    pub fn to_proof_end(self, key: &Digest) -> ProofEnd {
        match self {
            PathEnd::Empty => ProofEnd::Empty,
            PathEnd::Leaf { key: k, .. } if k == *key => ProofEnd::Value,
            PathEnd::Leaf { key: k, value } => ProofEnd::OtherLeaf {
                key_hash: k,
                value_hash: value,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_core::state::{fold_path, verify_state_proof, StateKey, StateProof, StateValue};
    use chancery_core::Seq;
    use std::collections::{BTreeMap, HashMap};

    fn kv(i: u64, v: u64) -> (StateKey, StateValue) {
        let pk = chancery_core::domain::DOCUMENT_HASH.hash(&i.to_be_bytes());
        (
            StateKey::Seq(chancery_core::PublicKey::Ed25519(pk.0)),
            StateValue::Seq(Seq(v)),
        )
    }

    /// Root computed from scratch by the definition, for comparison.
    fn reference_root(entries: &BTreeMap<Digest, Digest>) -> Digest {
        let v: Vec<(Digest, Digest)> = entries.iter().map(|(k, v)| (*k, *v)).collect();
        let mut nodes = Vec::new();
        build(chancery_core::suite::Suite::default(), 0, &v, &mut nodes)
    }

    #[test]
    fn incremental_updates_match_a_fresh_build_and_proofs_verify() {
        // Stored as the ledger stores them: under their path keys, only the nodes
        // reachable from each new root (`positioned`), and loaded by position.
        let mut store: HashMap<Vec<u8>, Node> = HashMap::new();
        let mut all: BTreeMap<Digest, Digest> = BTreeMap::new();
        let mut values: BTreeMap<Digest, (StateKey, StateValue)> = BTreeMap::new();
        let mut root = EMPTY;
        for round in 0..20u64 {
            let mut changes: BTreeMap<Digest, Digest> = BTreeMap::new();
            for i in 0..(round * 7 % 13 + 1) {
                let (k, v) = kv((round * 31 + i * 17) % 150, round);
                changes.insert(
                    k.hash(chancery_core::suite::Suite::default()),
                    v.hash(chancery_core::suite::Suite::default()),
                );
                all.insert(
                    k.hash(chancery_core::suite::Suite::default()),
                    v.hash(chancery_core::suite::Suite::default()),
                );
                values.insert(k.hash(chancery_core::suite::Suite::default()), (k, v));
            }
            let ch: Vec<(Digest, Digest)> = changes.into_iter().collect();
            let mut load = |h: &Digest, depth: usize, path: &Digest| -> Result<Node, String> {
                store
                    .get(&store_key(h, depth, path))
                    .copied()
                    .ok_or_else(|| format!("missing {h} at depth {depth}"))
            };
            let up = update(chancery_core::suite::Suite::default(), root, &ch, &mut load).unwrap();
            let created: HashMap<Digest, Node> = up.nodes.iter().copied().collect();
            for (h, n) in &up.nodes {
                assert_eq!(*h, n.hash(chancery_core::suite::Suite::default()));
            }
            for (k, n) in positioned(up.root, &|h| created.get(h).copied()) {
                assert_eq!(
                    k[k.len() - 32..],
                    *n.hash(chancery_core::suite::Suite::default()).as_bytes()
                );
                store.insert(k, n);
            }
            root = up.root;
            assert_eq!(root, reference_root(&all), "round {round}");
        }
        let mut load = |h: &Digest, depth: usize, path: &Digest| -> Result<Node, String> {
            store
                .get(&store_key(h, depth, path))
                .copied()
                .ok_or_else(|| format!("missing {h} at depth {depth}"))
        };
        // Every present key proves its value; absent keys prove absence.
        let mut longest = 0;
        for (kh, (k, v)) in &values {
            let (siblings, end) = prove(root, kh, &mut load).unwrap();
            longest = longest.max(siblings.len());
            let proof = StateProof {
                key: k.clone(),
                value: Some(v.clone()),
                end: end.to_proof_end(kh),
                siblings,
            };
            assert_eq!(
                verify_state_proof(chancery_core::suite::Suite::default(), &root, &proof).unwrap(),
                Some(v.clone())
            );
        }
        // About log2(150) + a few, not 256.
        assert!(longest < 24, "longest proof {longest}");
        for i in 1000..1050 {
            let (k, _) = kv(i, 0);
            let kh = k.hash(chancery_core::suite::Suite::default());
            let (siblings, end) = prove(root, &kh, &mut load).unwrap();
            let proof = StateProof {
                key: k,
                value: None,
                end: end.to_proof_end(&kh),
                siblings: siblings.clone(),
            };
            assert_eq!(
                verify_state_proof(chancery_core::suite::Suite::default(), &root, &proof).unwrap(),
                None
            );
            let bottom = match end {
                PathEnd::Empty => EMPTY,
                PathEnd::Leaf { key, value } => {
                    leaf_hash(chancery_core::suite::Suite::default(), &key, &value)
                }
            };
            assert_eq!(
                fold_path(
                    chancery_core::suite::Suite::default(),
                    &kh,
                    bottom,
                    &siblings
                ),
                root
            );
        }
    }

    #[test]
    fn store_keys_sort_by_path_and_keep_positions_apart() {
        let h = Digest([9; 32]);
        let mut path = Digest([0; 32]);
        path.0[0] = 0b1011_0111;
        // Bits past the depth do not matter; the depth and the hash do.
        let mut other = path;
        other.0[0] = 0b1010_0000;
        other.0[5] = 0xff;
        assert_eq!(store_key(&h, 3, &path), store_key(&h, 3, &other));
        assert_ne!(store_key(&h, 3, &path), store_key(&h, 4, &path));
        assert_ne!(
            store_key(&h, 3, &path),
            store_key(&Digest([8; 32]), 3, &path)
        );
        assert_eq!(store_key(&h, 0, &path).len(), 2 + 32);
        assert_eq!(store_key(&h, DEPTH_MAX, &path).len(), 32 + 2 + 32);
        // A subtree's keys lie between its left and right neighbours' keys.
        let mut left = Digest([0; 32]);
        left.0[0] = 0b0111_1111;
        let mut right = Digest([0; 32]);
        right.0[0] = 0b1100_0000;
        let inside = store_key(&h, 12, &path);
        assert!(store_key(&h, 12, &left) < inside);
        assert!(inside < store_key(&h, 2, &right));
    }

    #[test]
    fn node_encoding_round_trips_and_rejects_garbage() {
        let n = Node::Internal {
            left: Digest([1; 32]),
            right: Digest([2; 32]),
        };
        assert_eq!(Node::decode(&n.encode()), Some(n));
        let mut bad = n.encode();
        bad[0] = 9;
        assert_eq!(Node::decode(&bad), None);
        assert_eq!(Node::decode(&bad[..10]), None);
    }
}
