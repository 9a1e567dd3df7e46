//! The stored log tree against the in-memory reference (which the RFC 6962 vectors check),
//! over the storage crate's in-memory store.

use chancery_core::merkle::{
    self, consistency_proof_with, inclusion_proof_with, root_with, Blake3Hasher, MerkleHasher,
    Sha256Hasher,
};
use chancery_core::Digest;
use chancery_storage::{FaultyStore, MemStore, Store, WriteBatch};
use chancery_tlog::{LogTree, TlogError};
use std::sync::Arc;

/// The storage crate's in-memory store behind its (fault-free) wrapper, which counts the
/// point reads a proof costs.
type Counted = FaultyStore<MemStore>;

fn store() -> Arc<Counted> {
    Arc::new(FaultyStore::new(MemStore::new()))
}

fn write(store: &Counted, puts: Vec<(chancery_storage::Column, Vec<u8>, Vec<u8>)>) {
    store.write(WriteBatch { puts }).unwrap();
}

fn leaves<H: MerkleHasher>(h: &H, n: u64) -> Vec<Digest> {
    (0..n).map(|i| h.hash_leaf(&i.to_be_bytes())).collect()
}

#[test]
fn matches_reference_for_every_small_tree_and_proof() {
    let h = Sha256Hasher;
    let all = leaves(&h, 70);
    let store = store();
    let mut t = LogTree::open_with(store.clone(), h).unwrap();
    assert_eq!(t.size(), 0);
    assert_eq!(t.root(), h.empty_root());
    // Append in uneven batches (1, 2, 3, ...), writing each batch.
    let mut at = 0usize;
    let mut batch = 1usize;
    while at < all.len() {
        let end = (at + batch).min(all.len());
        let puts = t.append(&all[at..end]).unwrap();
        assert!(puts.len() >= end - at && puts.len() < 2 * (end - at) + 8);
        write(&store, puts);
        at = end;
        batch += 1;
        assert_eq!(t.root(), root_with(&h, &all[..at]), "root at {at}");
    }
    let n = all.len() as u64;
    for size in 0..=n {
        let prefix = &all[..size as usize];
        assert_eq!(t.root_at(size).unwrap(), root_with(&h, prefix));
        for i in 0..size {
            let p = t.inclusion_proof(i, size).unwrap();
            assert_eq!(
                p,
                inclusion_proof_with(&h, prefix, i).unwrap(),
                "incl {i} {size}"
            );
        }
        for m in 1..=size {
            let p = t.consistency_proof(m, size).unwrap();
            assert_eq!(
                p,
                consistency_proof_with(&h, prefix, m).unwrap(),
                "cons {m} {size}"
            );
        }
    }
    // Reopening from the store gives the same tree.
    let t2 = LogTree::open_with(store.clone(), h).unwrap();
    assert_eq!(t2.size(), n);
    assert_eq!(t2.root(), t.root());
}

#[test]
fn rfc6962_roots_through_storage() {
    // The first 8 leaves of the RFC 6962 reference tree give the published roots.
    let h = Sha256Hasher;
    let inputs: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    let l: Vec<Digest> = inputs
        .iter()
        .map(|x| h.hash_leaf(&hex::decode(x).unwrap()))
        .collect();
    let store = store();
    let mut t = LogTree::open_with(store.clone(), h).unwrap();
    write(&store, t.append(&l).unwrap());
    assert_eq!(
        t.root_at(8).unwrap().to_hex(),
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    );
    assert_eq!(
        t.root_at(1).unwrap().to_hex(),
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    );
}

#[test]
fn errors_not_panics() {
    let store = store();
    let mut t = LogTree::open(store.clone()).unwrap();
    let l = leaves(&Blake3Hasher, 10);
    let puts = t.append(&l).unwrap();
    // Not written yet: proofs that need stored nodes fail cleanly.
    assert!(matches!(
        t.inclusion_proof(0, 10),
        Err(TlogError::MissingNode { .. })
    ));
    write(&store, puts);
    assert!(t.inclusion_proof(0, 10).is_ok());
    assert!(matches!(
        t.inclusion_proof(10, 10),
        Err(TlogError::Proof(_))
    ));
    assert!(matches!(
        t.inclusion_proof(0, 11),
        Err(TlogError::SizeBeyondTree { .. })
    ));
    assert!(matches!(
        t.consistency_proof(0, 5),
        Err(TlogError::Proof(_))
    ));
    assert!(matches!(
        t.consistency_proof(6, 5),
        Err(TlogError::Proof(_))
    ));
    assert!(t.consistency_proof(5, 5).unwrap().is_empty());
    // Writing the same puts again is refused by the store: nodes are immutable.
    let mut again = LogTree::open(store.clone()).unwrap();
    assert_eq!(again.size(), 10);
    let more = again.append(&l[..1]).unwrap();
    write(&store, more);
    assert_eq!(again.size(), 11);
}

#[test]
fn large_tree_proofs_read_log_n_nodes_and_verify() {
    let n: u64 = 200_003;
    let store = store();
    let mut t = LogTree::open(store.clone()).unwrap();
    let mut all = Vec::with_capacity(n as usize);
    let mut i = 0u64;
    while i < n {
        let end = (i + 4096).min(n);
        let chunk: Vec<Digest> = (i..end)
            .map(|j| merkle::leaf_hash(&j.to_le_bytes()))
            .collect();
        write(&store, t.append(&chunk).unwrap());
        all.extend(chunk);
        i = end;
    }
    assert_eq!(t.root(), merkle::root(&all));
    let root = t.root();
    let mut x: u64 = 12345;
    for _ in 0..200 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let size = 1 + (x >> 11) % n;
        let index = (x >> 7) % size;
        let before = store.point_reads();
        let p = t.inclusion_proof(index, size).unwrap();
        let r = t.root_at(size).unwrap();
        let reads = store.point_reads() - before;
        assert!(reads <= 2 * 64, "{reads} reads for one proof and root");
        merkle::verify_inclusion(index, size, &all[index as usize], &p, &r).unwrap();
        let size1 = 1 + index;
        let before = store.point_reads();
        let c = t.consistency_proof(size1, n).unwrap();
        let r1 = t.root_at(size1).unwrap();
        let reads = store.point_reads() - before;
        assert!(
            reads <= 3 * 64,
            "{reads} reads for one consistency proof and root"
        );
        merkle::verify_consistency(size1, n, &c, &r1, &root).unwrap();
    }
}
