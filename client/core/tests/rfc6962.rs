//! Third-party RFC 6962 / RFC 9162 vectors (tests/conformance/rfc6962) through our Merkle
//! code with the hash swapped to SHA-256. Fails loudly if the directory is missing.

use chancery_core::merkle::{
    inclusion_proof_with, root_with, subtree_consistency_proof_with, verify_consistency_bytes,
    verify_consistency_with, verify_inclusion_bytes, verify_inclusion_with, MerkleHasher,
    ProofError, Sha256Hasher,
};
use chancery_core::Digest;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/conformance/rfc6962"
);

fn load(name: &str) -> Value {
    let path = format!("{DIR}/{name}");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("conformance vectors missing at {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

fn digest(v: &Value) -> Digest {
    Digest(bytes(v).try_into().expect("32-byte hash"))
}

fn digests(v: &Value) -> Vec<Digest> {
    v.as_array().expect("array").iter().map(digest).collect()
}

fn u(v: &Value) -> u64 {
    v.as_u64().expect("integer")
}

const H: Sha256Hasher = Sha256Hasher;

#[test]
fn hasher_vectors() {
    let d = load("rfc6962-vectors.json");
    let vs = d["hasher_vectors"].as_array().unwrap();
    assert_eq!(vs.len(), 5);
    for v in vs {
        let got = match v["kind"].as_str().unwrap() {
            "empty_root" => H.empty_root(),
            "leaf" => H.hash_leaf(&bytes(&v["input"])),
            "node" => H.hash_node_bytes(&bytes(&v["left"]), &bytes(&v["right"])),
            k => panic!("unknown hasher vector kind {k}"),
        };
        assert_eq!(got, digest(&v["expected"]), "{}", v["name"]);
    }
}

#[test]
fn reference_tree_inclusion_and_consistency() {
    let d = load("rfc6962-vectors.json");
    let t = &d["tree"];
    let leaves: Vec<Digest> = t["leaf_inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| H.hash_leaf(&bytes(x)))
        .collect();
    let mut checked = 0;
    for (level, hashes) in t["complete_subtree_hashes_by_level"]["levels"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let w = 1usize << level;
        for (i, hh) in hashes.as_array().unwrap().iter().enumerate() {
            assert_eq!(root_with(&H, &leaves[i * w..(i + 1) * w]), digest(hh));
            checked += 1;
        }
    }
    assert_eq!(checked, 15);
    for r in t["roots_by_size"].as_array().unwrap() {
        let n = u(&r["tree_size"]) as usize;
        assert_eq!(
            root_with(&H, &leaves[..n]),
            digest(&r["root"]),
            "root of size {n}"
        );
    }
    for v in d["inclusion"].as_array().unwrap() {
        let (n, i) = (u(&v["tree_size"]), u(&v["leaf_index"]));
        let lh = H.hash_leaf(&bytes(&v["leaf_input"]));
        assert_eq!(lh, digest(&v["leaf_hash"]));
        let path = digests(&v["path"]);
        let root = digest(&v["root"]);
        assert_eq!(
            inclusion_proof_with(&H, &leaves[..n as usize], i).unwrap(),
            path
        );
        verify_inclusion_with(&H, i, n, &lh, &path, &root).unwrap();
        let mut bad = lh;
        bad.0[0] ^= 1;
        assert!(verify_inclusion_with(&H, i, n, &bad, &path, &root).is_err());
        if !path.is_empty() {
            let short = &path[..path.len() - 1];
            assert!(verify_inclusion_with(&H, i, n, &lh, short, &root).is_err());
            let mut long = path.clone();
            long.push(*path.last().unwrap());
            assert!(verify_inclusion_with(&H, i, n, &lh, &long, &root).is_err());
            assert!(verify_inclusion_with(&H, i ^ 1, n, &lh, &path, &root).is_err());
        }
    }
    for v in d["consistency"].as_array().unwrap() {
        let (m, n) = (u(&v["size1"]), u(&v["size2"]));
        let (r1, r2) = (digest(&v["root1"]), digest(&v["root2"]));
        let path = digests(&v["path"]);
        assert_eq!(root_with(&H, &leaves[..m as usize]), r1);
        assert_eq!(root_with(&H, &leaves[..n as usize]), r2);
        assert_eq!(
            chancery_core::merkle::consistency_proof_with(&H, &leaves[..n as usize], m).unwrap(),
            path
        );
        verify_consistency_with(&H, m, n, &path, &r1, &r2).unwrap();
        if !path.is_empty() {
            let mut b1 = r1;
            b1.0[0] ^= 1;
            assert!(verify_consistency_with(&H, m, n, &path, &b1, &r2).is_err());
            let mut b2 = r2;
            b2.0[0] ^= 1;
            assert!(verify_consistency_with(&H, m, n, &path, &r1, &b2).is_err());
            assert!(verify_consistency_with(&H, m, n, &path[..path.len() - 1], &r1, &r2).is_err());
        }
    }
}

fn raw_list(v: &Value) -> Vec<Vec<u8>> {
    v.as_array().unwrap().iter().map(bytes).collect()
}

#[test]
fn transparency_dev_probes() {
    let d = load("rfc6962-vectors.json");
    let inc = d["probes"]["inclusion"].as_array().unwrap();
    let con = d["probes"]["consistency"].as_array().unwrap();
    assert_eq!(inc.len() + con.len(), 196);
    let (mut accepted, mut rejected) = (0, 0);
    for p in inc {
        let r = verify_inclusion_bytes(
            &H,
            u(&p["leaf_index"]),
            u(&p["tree_size"]),
            &bytes(&p["leaf_hash"]),
            &raw_list(&p["path"]),
            &bytes(&p["root"]),
        );
        let want_err = p["want_error"].as_bool().unwrap();
        assert_eq!(r.is_err(), want_err, "{} ({}): {r:?}", p["file"], p["desc"]);
        if want_err {
            rejected += 1
        } else {
            accepted += 1
        }
    }
    for p in con {
        let r = verify_consistency_bytes(
            &H,
            u(&p["size1"]),
            u(&p["size2"]),
            &raw_list(&p["path"]),
            &bytes(&p["root1"]),
            &bytes(&p["root2"]),
        );
        let want_err = p["want_error"].as_bool().unwrap();
        assert_eq!(r.is_err(), want_err, "{} ({}): {r:?}", p["file"], p["desc"]);
        if want_err {
            rejected += 1
        } else {
            accepted += 1
        }
    }
    assert!(
        accepted > 10 && rejected > 100,
        "{accepted} accepted, {rejected} rejected"
    );
}

fn is_valid_subtree(start: u64, end: u64) -> bool {
    if start > end {
        return false;
    }
    if start == 0 || start == end {
        return true;
    }
    start % (end - start).next_power_of_two() == 0
}

fn hex_line(out: &mut String, p: &[Digest]) {
    for h in p {
        out.push(' ');
        out.push_str(&h.to_hex());
    }
    out.push('\n');
}

#[test]
fn accumulated_digests_over_130_leaves() {
    let d = load("rfc6962-vectors.json");
    let acc = &d["accumulated"];
    let n_max = u(&acc["max_size"]);
    assert_eq!(n_max, 130);
    let leaves: Vec<Digest> = (0..n_max).map(|i| H.hash_leaf(&[i as u8])).collect();
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
    for end in 0..=n_max {
        for start in 0..=end {
            if !is_valid_subtree(start, end) {
                continue;
            }
            let sub = &leaves[start as usize..end as usize];
            let r = root_with(&H, sub);
            hsub.update(format!("[{start}, {end}) {}\n", r.to_hex()));
            for index in start..end {
                let pf = inclusion_proof_with(&H, sub, index - start).unwrap();
                line.clear();
                line.push_str(&format!("{index} [{start}, {end})"));
                hex_line(&mut line, &pf);
                hinc.update(&line);
                if start == 0 {
                    verify_inclusion_with(&H, index, end, &leaves[index as usize], &pf, &r)
                        .unwrap();
                }
            }
        }
    }
    for n in 0..=n_max {
        let all = &leaves[..n as usize];
        let rn = root_with(&H, all);
        for end in 0..=n {
            for start in 0..=end {
                if !is_valid_subtree(start, end) {
                    continue;
                }
                let pf = subtree_consistency_proof_with(&H, all, start, end).unwrap();
                line.clear();
                line.push_str(&format!("[{start}, {end}) {n}"));
                hex_line(&mut line, &pf);
                hcon.update(&line);
                if start == 0 && end > 0 {
                    let r1 = root_with(&H, &leaves[..end as usize]);
                    verify_consistency_with(&H, end, n, &pf, &r1, &rn).unwrap();
                }
            }
        }
    }
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

#[test]
fn real_world_rekor_proofs() {
    let d = load("rfc6962-vectors.json");
    let rw = d["real_world"].as_array().unwrap();
    assert_eq!(rw.len(), 2);
    for v in rw {
        let lh = H.hash_leaf(&bytes(&v["leaf_input"]));
        let path = digests(&v["path"]);
        let root = digest(&v["root"]);
        let (i, n) = (u(&v["leaf_index"]), u(&v["tree_size"]));
        verify_inclusion_with(&H, i, n, &lh, &path, &root)
            .unwrap_or_else(|e| panic!("{}: {e}", v["name"]));
        let g = u(&v["bundle_log_index_global"]);
        if g != i {
            assert!(verify_inclusion_with(&H, g, n, &lh, &path, &root).is_err());
        }
        // The checkpoint note's size and root lines are the ones we verified against.
        let note = v["checkpoint_note"].as_str().unwrap();
        let lines: Vec<&str> = note.split('\n').collect();
        assert_eq!(lines[1].parse::<u64>().unwrap(), n);
        assert_eq!(
            chancery_core::checkpoint::base64_decode(lines[2]).unwrap(),
            root.0.to_vec()
        );
        let mut bad = path.clone();
        bad[0].0[7] ^= 4;
        assert!(matches!(
            verify_inclusion_with(&H, i, n, &lh, &bad, &root),
            Err(ProofError::RootMismatch { .. })
        ));
    }
}
