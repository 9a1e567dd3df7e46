//! The stored tree (tiles) against the third-party RFC 6962 / RFC 9162 vectors in
//! `tests/conformance/rfc6962` (SHA-256): the 8-leaf reference tree's roots, subtree hashes,
//! inclusion and consistency vectors, and the accumulated digests over 130 leaves, where
//! every row the stored tree can answer (roots and proofs of prefixes, complete subtrees)
//! comes from the tiles and the others from the kernel's reference code. Fails loudly if
//! the vectors are missing.

use chancery_core::merkle::{
    inclusion_proof_with, root_with, subtree_consistency_proof_with, MerkleHasher, Sha256Hasher,
};
use chancery_core::Digest;
use chancery_storage::{MemStore, Store, WriteBatch};
use chancery_tlog::LogTree;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::sync::Arc;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/conformance/rfc6962"
);

const H: Sha256Hasher = Sha256Hasher;

fn load() -> Value {
    let path = format!("{DIR}/rfc6962-vectors.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("conformance vectors missing at {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

fn digest(v: &Value) -> Digest {
    let b = hex::decode(v.as_str().unwrap()).unwrap();
    Digest(b.try_into().unwrap())
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

/// A stored tree of these leaves, appended one by one (so every partial tile was
/// rewritten as it grew).
fn stored(leaves: &[Digest]) -> LogTree<MemStore, Sha256Hasher> {
    let store = Arc::new(MemStore::new());
    let mut t = LogTree::open_with(store.clone(), H).unwrap();
    for l in leaves {
        let puts = t.append(std::slice::from_ref(l)).unwrap();
        store.write(WriteBatch { puts }).unwrap();
    }
    t
}

#[test]
fn reference_tree_vectors_through_the_tiles() {
    let d = load();
    let t = &d["tree"];
    let leaves: Vec<Digest> = t["leaf_inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| H.hash_leaf(&hex::decode(x.as_str().unwrap()).unwrap()))
        .collect();
    let tree = stored(&leaves);
    let mut checked = 0;
    for (level, hashes) in t["complete_subtree_hashes_by_level"]["levels"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        for (i, hh) in hashes.as_array().unwrap().iter().enumerate() {
            assert_eq!(tree.node(level as u8, i as u64).unwrap(), digest(hh));
            checked += 1;
        }
    }
    assert_eq!(checked, 15);
    for r in t["roots_by_size"].as_array().unwrap() {
        let n = u(&r["tree_size"]);
        assert_eq!(
            tree.root_at(n).unwrap(),
            digest(&r["root"]),
            "root of size {n}"
        );
    }
    let inclusion = d["inclusion"].as_array().unwrap();
    assert!(!inclusion.is_empty());
    for v in inclusion {
        let (n, i) = (u(&v["tree_size"]), u(&v["leaf_index"]));
        let want: Vec<Digest> = v["path"].as_array().unwrap().iter().map(digest).collect();
        assert_eq!(
            tree.inclusion_proof(i, n).unwrap(),
            want,
            "inclusion {i} {n}"
        );
    }
    let consistency = d["consistency"].as_array().unwrap();
    assert!(!consistency.is_empty());
    for v in consistency {
        let (m, n) = (u(&v["size1"]), u(&v["size2"]));
        let want: Vec<Digest> = v["path"].as_array().unwrap().iter().map(digest).collect();
        assert_eq!(
            tree.consistency_proof(m, n).unwrap(),
            want,
            "consistency {m} {n}"
        );
    }
}

fn is_valid_subtree(start: u64, end: u64) -> bool {
    start <= end && (start == 0 || start == end || start % (end - start).next_power_of_two() == 0)
}

fn hex_line(out: &mut String, p: &[Digest]) {
    for h in p {
        out.push(' ');
        out.push_str(&h.to_hex());
    }
    out.push('\n');
}

#[test]
fn accumulated_digests_over_130_leaves_through_the_tiles() {
    let d = load();
    let acc = &d["accumulated"];
    let n_max = u(&acc["max_size"]);
    assert_eq!(n_max, 130);
    let leaves: Vec<Digest> = (0..n_max).map(|i| H.hash_leaf(&[i as u8])).collect();
    let tree = stored(&leaves);
    let want = |name: &str| -> String {
        acc["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .map(|v| v["expected_sha256"].as_str().unwrap().to_string())
            .unwrap()
    };
    let (mut hsub, mut hinc, mut hcon) = (Sha256::new(), Sha256::new(), Sha256::new());
    let mut line = String::new();
    let mut from_tiles = 0u64;
    for end in 0..=n_max {
        for start in 0..=end {
            if !is_valid_subtree(start, end) {
                continue;
            }
            let sub = &leaves[start as usize..end as usize];
            let width = end - start;
            let r = if start == 0 {
                from_tiles += 1;
                tree.root_at(end).unwrap()
            } else if width.is_power_of_two() {
                from_tiles += 1;
                let level = width.trailing_zeros();
                tree.node(level as u8, start >> level).unwrap()
            } else {
                root_with(&H, sub)
            };
            hsub.update(format!("[{start}, {end}) {}\n", r.to_hex()));
            for index in start..end {
                let pf = if start == 0 {
                    from_tiles += 1;
                    tree.inclusion_proof(index, end).unwrap()
                } else {
                    inclusion_proof_with(&H, sub, index - start).unwrap()
                };
                line.clear();
                line.push_str(&format!("{index} [{start}, {end})"));
                hex_line(&mut line, &pf);
                hinc.update(&line);
            }
        }
    }
    for n in 0..=n_max {
        let all = &leaves[..n as usize];
        for end in 0..=n {
            for start in 0..=end {
                if !is_valid_subtree(start, end) {
                    continue;
                }
                let pf = if start == 0 && end > 0 {
                    from_tiles += 1;
                    tree.consistency_proof(end, n).unwrap()
                } else {
                    subtree_consistency_proof_with(&H, all, start, end).unwrap()
                };
                line.clear();
                line.push_str(&format!("[{start}, {end}) {n}"));
                hex_line(&mut line, &pf);
                hcon.update(&line);
            }
        }
    }
    assert!(from_tiles > 16_000, "{from_tiles} rows from the tiles");
    assert_eq!(hex::encode(hsub.finalize()), want("subtree_hashes"));
    assert_eq!(
        hex::encode(hinc.finalize()),
        want("subtree_inclusion_proofs")
    );
    assert_eq!(
        hex::encode(hcon.finalize()),
        want("subtree_consistency_proofs")
    );
}
