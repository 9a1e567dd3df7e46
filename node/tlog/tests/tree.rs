//! The stored log tree (tiles) against the in-memory reference (which the RFC 6962 vectors
//! check), over the storage crate's in-memory store.

use chancery_core::merkle::{
    self, consistency_proof_with, inclusion_proof_with, root_with, Blake3Hasher, MerkleHasher,
    Sha256Hasher,
};
use chancery_core::Digest;
use chancery_storage::{Column, FaultPlan, FaultyStore, MemStore, Store, WriteBatch};
use chancery_tlog::{
    tile_key, LogTree, TileCache, TileReader, TlogError, TILE_LEVELS_MAX, TILE_WIDTH,
};
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
        // One put per tile touched: the partial level-0 tile (70 leaves fit in one tile).
        assert_eq!(puts.len(), 1, "{} puts for {} leaves", puts.len(), end - at);
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
        Err(TlogError::MissingTile {
            level: 0,
            index: 0,
            ..
        })
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
    // Reopening finds the size from the partial tile, and appends grow it.
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
            .map(|j| merkle::leaf_hash(chancery_core::suite::Suite::default(), &j.to_le_bytes()))
            .collect();
        write(&store, t.append(&chunk).unwrap());
        all.extend(chunk);
        i = end;
    }
    assert_eq!(
        t.root(),
        merkle::root(chancery_core::suite::Suite::default(), &all)
    );
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
        // One tile per tile level for the proof's path and its siblings' borders, and the
        // root's border: O(log n) tiles, a few for a tree of three tile levels.
        assert!(reads <= 3 * 3, "{reads} tile reads for one proof and root");
        merkle::verify_inclusion(
            chancery_core::suite::Suite::default(),
            index,
            size,
            &all[index as usize],
            &p,
            &r,
        )
        .unwrap();
        let size1 = 1 + index;
        let before = store.point_reads();
        let c = t.consistency_proof(size1, n).unwrap();
        let r1 = t.root_at(size1).unwrap();
        let reads = store.point_reads() - before;
        assert!(
            reads <= 4 * 3,
            "{reads} tile reads for one consistency proof and root"
        );
        merkle::verify_consistency(
            chancery_core::suite::Suite::default(),
            size1,
            n,
            &c,
            &r1,
            &root,
        )
        .unwrap();
    }
}

/// RFC 6962 MTH by its recursive definition.
fn mth<H: MerkleHasher>(h: &H, leaves: &[Digest]) -> Digest {
    match leaves.len() {
        0 => h.empty_root(),
        1 => leaves[0],
        n => {
            let k = chancery_core::merkle::split_point(n as u64) as usize;
            h.hash_node(&mth(h, &leaves[..k]), &mth(h, &leaves[k..]))
        }
    }
}

/// RFC 6962 PATH(m, D) by its recursive definition.
fn path<H: MerkleHasher>(h: &H, m: usize, d: &[Digest]) -> Vec<Digest> {
    if d.len() <= 1 {
        return Vec::new();
    }
    let k = chancery_core::merkle::split_point(d.len() as u64) as usize;
    if m < k {
        let mut p = path(h, m, &d[..k]);
        p.push(mth(h, &d[k..]));
        p
    } else {
        let mut p = path(h, m - k, &d[k..]);
        p.push(mth(h, &d[..k]));
        p
    }
}

/// Grow a tree by appends of the given sizes, writing each batch; returns the leaves.
fn grow(store: &Arc<Counted>, t: &mut LogTree<Counted>, all: &mut Vec<Digest>, appends: &[u64]) {
    for &n in appends {
        let start = all.len() as u64;
        let chunk: Vec<Digest> = (start..start + n)
            .map(|j| merkle::leaf_hash(chancery_core::suite::Suite::default(), &j.to_le_bytes()))
            .collect();
        let puts = t.append(&chunk).unwrap();
        // One put per tile touched: the tiles completed, plus at most one partial tile per
        // tile level.
        let touched_max = (n as usize).div_ceil(TILE_WIDTH) + TILE_LEVELS_MAX + 1;
        assert!(puts.len() <= touched_max, "{} puts for {n}", puts.len());
        write(store, puts);
        all.extend(chunk);
        assert_eq!(t.size(), all.len() as u64);
    }
}

#[test]
fn proofs_at_every_size_across_tile_boundaries_match_the_recursive_definition() {
    let h = Blake3Hasher;
    let store = store();
    let mut t = LogTree::open(store.clone()).unwrap();
    let mut all = Vec::new();
    // 1, then 254 (size 255), 1 (256), 1 (257), then ones and a few blocks up to 600.
    grow(
        &store,
        &mut t,
        &mut all,
        &[1, 254, 1, 1, 100, 3, 150, 2, 88],
    );
    let n = all.len();
    assert_eq!(n, 600);
    for size in 1..=n {
        let prefix = &all[..size];
        let root = mth(&h, prefix);
        assert_eq!(t.root_at(size as u64).unwrap(), root, "root at {size}");
        // Every index at sizes near a tile boundary, a spread of indices elsewhere.
        let near = [255, 256, 257, 511, 512, 513].contains(&size) || size < 40;
        let step = if near { 1 } else { 37 };
        for i in (0..size).step_by(step) {
            let p = t.inclusion_proof(i as u64, size as u64).unwrap();
            assert_eq!(p, path(&h, i, prefix), "incl {i} {size}");
        }
        for m in (1..=size).step_by(step) {
            let p = t.consistency_proof(m as u64, size as u64).unwrap();
            merkle::verify_consistency(
                chancery_core::suite::Suite::default(),
                m as u64,
                size as u64,
                &p,
                &mth(&h, &all[..m]),
                &root,
            )
            .unwrap();
        }
    }
    // Every complete subtree of the final tree, at every level, is the recursive MTH.
    for level in 0..10u8 {
        let w = 1usize << level;
        for i in 0..n / w {
            assert_eq!(
                t.node(level, i as u64).unwrap(),
                mth(&h, &all[i * w..(i + 1) * w]),
                "node {level} {i}"
            );
        }
        assert!(matches!(
            t.node(level, (n / w) as u64),
            Err(TlogError::Proof(_))
        ));
    }
}

#[test]
fn partial_tiles_grow_across_appends_of_1_255_256_257_and_65536_leaves() {
    let store = store();
    let mut t = LogTree::open(store.clone()).unwrap();
    let mut all = Vec::new();
    let mut roots = Vec::new();
    for appends in [&[1u64][..], &[255], &[256], &[257], &[65_536], &[1, 300]] {
        grow(&store, &mut t, &mut all, appends);
        assert_eq!(
            t.root(),
            merkle::root(chancery_core::suite::Suite::default(), &all)
        );
        roots.push((all.len() as u64, t.root()));
        // The stored tiles: every level-0 tile holds the leaves it covers, the partial one
        // as many as there are.
        let size = all.len();
        for index in [0, (size - 1) / TILE_WIDTH] {
            let v = store
                .get(Column::LogTree, &tile_key(0, index as u64))
                .unwrap()
                .unwrap();
            let end = ((index + 1) * TILE_WIDTH).min(size);
            assert_eq!(v.len(), (end - index * TILE_WIDTH) * 32);
            assert_eq!(&v[..32], all[index * TILE_WIDTH].as_bytes());
        }
        // Reopened from the tiles: same size, same root.
        let again = LogTree::open(store.clone()).unwrap();
        assert_eq!((again.size(), again.root()), (t.size(), t.root()));
    }
    let n = all.len() as u64;
    assert_eq!(n, 1 + 255 + 256 + 257 + 65_536 + 301);
    // Level-2 tile (one hash per 65,536 leaves) exists now.
    assert!(store
        .get(Column::LogTree, &tile_key(2, 0))
        .unwrap()
        .is_some());
    // Every past size is served from today's tiles (past partial tiles are prefixes).
    for &(size, root) in &roots {
        assert_eq!(t.root_at(size).unwrap(), root);
        for index in [0, size / 2, size - 1] {
            let p = t.inclusion_proof(index, size).unwrap();
            merkle::verify_inclusion(
                chancery_core::suite::Suite::default(),
                index,
                size,
                &all[index as usize],
                &p,
                &root,
            )
            .unwrap();
        }
        let c = t.consistency_proof(size, n).unwrap();
        merkle::verify_consistency(
            chancery_core::suite::Suite::default(),
            size,
            n,
            &c,
            &root,
            &t.root(),
        )
        .unwrap();
    }
    // A reader that knows the size reads nothing until asked, and agrees.
    let before = store.point_reads();
    let r = TileReader::new(store.clone(), Blake3Hasher, n);
    assert_eq!(store.point_reads(), before);
    assert_eq!(r.root_at(n).unwrap(), t.root());
    assert_eq!(
        r.inclusion_proof(7, n).unwrap(),
        t.inclusion_proof(7, n).unwrap()
    );
}

#[test]
fn a_failed_or_torn_write_between_appends_reopens_to_the_last_whole_write() {
    for plan in [
        FaultPlan {
            fail_write: Some(3),
            ..FaultPlan::default()
        },
        FaultPlan {
            tear_write: Some((3, 1)),
            ..FaultPlan::default()
        },
    ] {
        let inner = MemStore::new();
        let store = Arc::new(FaultyStore::with_plan(inner, plan.clone()));
        // The node that never crashes.
        let clean = self::store();
        let mut ct = LogTree::open(clean.clone()).unwrap();
        let mut t = LogTree::open(store.clone()).unwrap();
        let mut all = Vec::new();
        let blocks = [200u64, 100, 300, 5];
        for (b, &n) in blocks.iter().enumerate() {
            let start = all.len() as u64;
            let chunk: Vec<Digest> = (start..start + n)
                .map(|j| {
                    merkle::leaf_hash(chancery_core::suite::Suite::default(), &j.to_le_bytes())
                })
                .collect();
            write(&clean, ct.append(&chunk).unwrap());
            let puts = t.append(&chunk).unwrap();
            match store.write(WriteBatch { puts }) {
                Ok(()) => all.extend(chunk),
                Err(_) => {
                    assert_eq!(b, 2, "{plan:?}");
                    // Crash: drop the tree, reopen from what was written. A torn write
                    // that kept a prefix of the tiles may leave the level-0 tiles ahead:
                    // the reopened tree is the tree of the tiles it finds, and the size
                    // the caller trusts (a block header) is the last whole write.
                    drop(t);
                    let size = all.len() as u64;
                    let again = LogTree::open_at(store.clone(), Blake3Hasher, size).unwrap();
                    assert_eq!(
                        again.root(),
                        merkle::root(chancery_core::suite::Suite::default(), &all)
                    );
                    t = again;
                    // Redo the lost append after the crash, as the ledger replays the block.
                    store.set_plan(FaultPlan::default());
                    let puts = t.append(&chunk).unwrap();
                    write(&store, puts);
                    all.extend(chunk);
                }
            }
        }
        // Same roots and proofs as the tree that never crashed.
        let n = all.len() as u64;
        let t = LogTree::open(store.clone()).unwrap();
        assert_eq!((t.size(), t.root()), (ct.size(), ct.root()));
        for size in [1, 200, 300, 301, 512, 600, n] {
            assert_eq!(t.root_at(size).unwrap(), ct.root_at(size).unwrap());
            assert_eq!(
                t.inclusion_proof(size / 3, size).unwrap(),
                ct.inclusion_proof(size / 3, size).unwrap()
            );
            assert_eq!(
                t.consistency_proof(size, n).unwrap(),
                ct.consistency_proof(size, n).unwrap()
            );
        }
    }
}

#[test]
fn corrupt_short_or_missing_tiles_are_errors_naming_the_tile() {
    let store = store();
    let mut t = LogTree::open(store.clone()).unwrap();
    let mut all = Vec::new();
    grow(&store, &mut t, &mut all, &[600]);
    let good = store
        .get(Column::LogTree, &tile_key(0, 1))
        .unwrap()
        .unwrap();
    // Odd lengths, an empty value, a value longer than a full tile: corrupt, named.
    for bad in [
        vec![7u8; 33],
        Vec::new(),
        vec![1u8; 31],
        vec![0u8; 257 * 32],
    ] {
        write(
            &store,
            vec![(Column::LogTree, tile_key(0, 1).to_vec(), bad.clone())],
        );
        let fresh = TileReader::new(store.clone(), Blake3Hasher, 600);
        let e = fresh.inclusion_proof(300, 600).unwrap_err();
        assert!(
            matches!(e, TlogError::CorruptTile { level: 0, index: 1, found_bytes } if found_bytes == bad.len()),
            "{e}"
        );
        assert!(e.to_string().contains("level 0 index 1"), "{e}");
    }
    // A tile shorter than the size needs.
    write(
        &store,
        vec![(
            Column::LogTree,
            tile_key(0, 1).to_vec(),
            good[..32 * 10].to_vec(),
        )],
    );
    let fresh = TileReader::new(store.clone(), Blake3Hasher, 600);
    let e = fresh.inclusion_proof(300, 600).unwrap_err();
    assert!(
        matches!(
            e,
            TlogError::TileTooShort {
                level: 0,
                index: 1,
                expected: 256,
                found: 10
            }
        ),
        "{e}"
    );
    // Opening over a short partial tile of the size asked for fails, naming the tile.
    write(
        &store,
        vec![(
            Column::LogTree,
            tile_key(0, 2).to_vec(),
            good[..32].to_vec(),
        )],
    );
    assert!(matches!(
        LogTree::open_at(store.clone(), Blake3Hasher, 600),
        Err(TlogError::TileTooShort {
            level: 0,
            index: 2,
            expected: 88,
            found: 1
        })
    ));
    // A corrupt last tile makes open fail cleanly too.
    write(
        &store,
        vec![(Column::LogTree, tile_key(0, 2).to_vec(), vec![9u8; 40])],
    );
    assert!(matches!(
        LogTree::open(store.clone()),
        Err(TlogError::CorruptTile {
            level: 0,
            index: 2,
            found_bytes: 40
        })
    ));
    // A missing upper tile.
    let mut t = LogTree::open(self::store()).unwrap();
    let _unwritten = t.append(&all).unwrap();
    assert!(matches!(
        t.node(8, 0),
        Err(TlogError::MissingTile {
            level: 1,
            index: 0,
            ..
        })
    ));
}

#[test]
fn a_shared_tile_cache_stays_true_as_the_tree_grows() {
    // Readers at successive sizes share one cache: a partial tile cached at one width must
    // not serve a larger size that needs more of it.
    let store = store();
    let cache = Arc::new(TileCache::default());
    let mut t = LogTree::open(store.clone()).unwrap();
    let mut all = Vec::new();
    for n in [10u64, 100, 200, 65_536, 3, 300] {
        grow(&store, &mut t, &mut all, &[n]);
        let size = all.len() as u64;
        let r = TileReader::with_cache(store.clone(), Blake3Hasher, size, cache.clone());
        for s in [size, size / 2 + 1, size - 1] {
            let root = merkle::root(chancery_core::suite::Suite::default(), &all[..s as usize]);
            assert_eq!(r.root_at(s).unwrap(), root, "root at {s}");
            for i in [0, s / 2, s - 1] {
                let p = r.inclusion_proof(i, s).unwrap();
                merkle::verify_inclusion(
                    chancery_core::suite::Suite::default(),
                    i,
                    s,
                    &all[i as usize],
                    &p,
                    &root,
                )
                .unwrap_or_else(|e| panic!("proof {i} at {s} of {size}: {e}"));
            }
        }
    }
}
