// Tests decode in the default suite.
#![allow(clippy::disallowed_methods)]
use super::*;
use crate::block::{BlockHeader, Outcome};
use crate::cert::{Certificate, IndexedSignature, VoteBody, VoteKind};
use crate::checkpoint::Checkpoint;
use crate::crypto::SecretKey;
use crate::epoch::VerifiedEpochs;
use crate::genesis::{ChainParams, Genesis};
use crate::ids::{AgencyId, Epoch, NetworkKey, PublicKey, Seq, TimestampMs, View};
use crate::record::{Record, RevokeMember};
use crate::state::{MemberState, StateKey, StateValue};
use crate::tx::{Transaction, TxBody};
use crate::validator::{Validator, ValidatorSet};
use proptest::prelude::*;

fn keys() -> Vec<SecretKey> {
    (0..4u8)
        .map(|i| SecretKey::from_seed([i + 1; 32]))
        .collect()
}

fn genesis() -> Genesis {
    Genesis {
        chain_name: "snapshots".into(),
        genesis_time: TimestampMs(1),
        agencies: vec![],
        members: vec![],
        validators: ValidatorSet {
            epoch: Epoch(0),
            start_height: Height(1),
            validators: keys()
                .iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    name: format!("v{i}"),
                    agency: AgencyId(format!("a{i}")),
                    consensus_key: k.public(),
                    network_key: NetworkKey([200 + i as u8; 32]),
                    power: 1,
                })
                .collect(),
        },
        params: ChainParams::default(),
        crypto: Default::default(),
        procurement_limits: Default::default(),
    }
}

/// A checkpoint of height `height` with these roots, certified by the genesis set and
/// verified with the epoch chain (here: the genesis alone).
fn checkpoint(height: u64, state_root: Digest, log: &[Digest]) -> VerifiedCheckpoint {
    let g = genesis();
    let header = BlockHeader {
        chain_id: g.chain_id(),
        epoch: Epoch(0),
        height: Height(height),
        view: View(height),
        parent: Digest([1; 32]),
        proposer: 0,
        time: TimestampMs(height * 1000),
        txs_hash: Digest([2; 32]),
        tx_count: 0,
        log_size: log.len() as u64,
        log_root: merkle::root(crate::suite::Suite::default(), log),
        state_root,
        validator_set: g.validators.hash(),
        next_validator_set: Digest::ZERO,
    };
    let body = VoteBody {
        chain_id: g.chain_id(),
        epoch: header.epoch,
        view: header.view,
        kind: VoteKind::Finalize,
        block: header.hash(crate::suite::Suite::default()),
    };
    let certificate = Certificate {
        kind: VoteKind::Finalize,
        epoch: header.epoch,
        view: header.view,
        block: header.hash(crate::suite::Suite::default()),
        signatures: keys()[..3]
            .iter()
            .enumerate()
            .map(|(i, k)| IndexedSignature {
                index: i as u16,
                signature: body.sign(k),
            })
            .collect(),
    };
    VerifiedEpochs::genesis(&g)
        .verify_checkpoint(&Checkpoint {
            header,
            certificate,
        })
        .unwrap()
}

fn member(i: u32) -> (StateKey, StateValue) {
    let mut k = [0u8; 32];
    k[..4].copy_from_slice(&i.to_be_bytes());
    (
        StateKey::Member(PublicKey::Ed25519(k)),
        StateValue::Member(MemberState {
            agency: AgencyId(format!("ag{}", i % 7)),
            name: format!("m{i}"),
            roles: vec![],
            revoked: i % 3 == 0,
        }),
    )
}

/// The leaves sorted by key hash, and the state root over them.
fn state(entries: Vec<(StateKey, StateValue)>) -> (Vec<SnapshotLeaf>, Digest) {
    let mut leaves: Vec<SnapshotLeaf> = entries
        .into_iter()
        .map(|(key, value)| SnapshotLeaf { key, value })
        .collect();
    leaves.sort_by_key(|l| l.key.hash(crate::suite::Suite::default()));
    leaves.dedup_by_key(|l| l.key.hash(crate::suite::Suite::default()));
    let hashes: Vec<(Digest, Digest)> = leaves
        .iter()
        .map(|l| {
            (
                l.key.hash(crate::suite::Suite::default()),
                l.value.hash(crate::suite::Suite::default()),
            )
        })
        .collect();
    (
        leaves,
        Subtree::of_sorted(crate::suite::Suite::default(), 0, &hashes)
            .hash(crate::suite::Suite::default()),
    )
}

/// Cut the leaves into the chunks of `bits` bits, as a producer does.
fn chunks(leaves: &[SnapshotLeaf], height: u64, bits: u8) -> Vec<SnapshotChunk> {
    let n = 1u32 << bits;
    let mut per: Vec<Vec<SnapshotLeaf>> = vec![Vec::new(); n as usize];
    for l in leaves {
        per[chunk_of(&l.key.hash(crate::suite::Suite::default()), bits) as usize].push(l.clone());
    }
    let bottom: Vec<Subtree> = per
        .iter()
        .map(|ls| {
            let h: Vec<_> = ls
                .iter()
                .map(|l| {
                    (
                        l.key.hash(crate::suite::Suite::default()),
                        l.value.hash(crate::suite::Suite::default()),
                    )
                })
                .collect();
            Subtree::of_sorted(crate::suite::Suite::default(), usize::from(bits), &h)
        })
        .collect();
    let top = TopLevels::new(crate::suite::Suite::default(), bottom).unwrap();
    per.into_iter()
        .enumerate()
        .map(|(i, leaves)| SnapshotChunk {
            height: Height(height),
            prefix_bits: bits,
            index: i as u32,
            leaves,
            siblings: top.siblings(i as u32).unwrap(),
        })
        .collect()
}

fn manifest(height: u64, root: Digest, log: &[Digest], bits: u8) -> VerifiedManifest {
    let cp = checkpoint(height, root, log);
    SnapshotManifest::for_header(cp.header(), bits)
        .verify(&cp)
        .unwrap()
}

#[test]
fn every_chunk_verifies_and_the_chunks_hold_the_state() {
    let (leaves, root) = state((0..500).map(member).collect());
    for bits in [0u8, 1, 3, 6, 9] {
        let m = manifest(7, root, &[], bits);
        let mut back = Vec::new();
        for c in chunks(&leaves, 7, bits) {
            let v = verify_chunk(&m, c).unwrap();
            back.extend(v.leaves().iter().cloned());
        }
        assert_eq!(back, leaves, "bits {bits}");
    }
}

#[test]
fn tampered_chunks_fail_naming_the_chunk() {
    let (leaves, root) = state((0..300).map(member).collect());
    let m = manifest(7, root, &[], 4);
    let all = chunks(&leaves, 7, 4);
    let i = all.iter().position(|c| c.leaves.len() >= 3).unwrap();
    let good = all[i].clone();
    let idx = good.index;
    let root_mismatch = |c: SnapshotChunk| match verify_chunk(&m, c) {
        Err(SnapshotError::RootMismatch {
            chunk, expected, ..
        }) => {
            assert_eq!((chunk, expected), (idx, root));
        }
        other => panic!("expected a root mismatch, got {other:?}"),
    };
    // A value changed.
    let mut c = good.clone();
    if let StateValue::Member(mm) = &mut c.leaves[1].value {
        mm.name.push('x');
    }
    root_mismatch(c);
    // A leaf dropped.
    let mut c = good.clone();
    c.leaves.remove(0);
    root_mismatch(c);
    // A leaf added under the chunk's prefix (another key of the same prefix).
    let extra = (10_000..20_000)
        .map(member)
        .find(|(k, _)| chunk_of(&k.hash(crate::suite::Suite::default()), 4) == idx)
        .unwrap();
    let mut c = good.clone();
    c.leaves.push(SnapshotLeaf {
        key: extra.0,
        value: extra.1,
    });
    c.leaves
        .sort_by_key(|l| l.key.hash(crate::suite::Suite::default()));
    root_mismatch(c);
    // A sibling hash changed.
    let mut c = good.clone();
    c.siblings[2] = Subtree::Node(Digest([9; 32]));
    root_mismatch(c);
    // A leaf of another chunk.
    let other = all
        .iter()
        .find(|c| c.index != idx && !c.leaves.is_empty())
        .unwrap();
    let mut c = good.clone();
    c.leaves.push(other.leaves[0].clone());
    c.leaves
        .sort_by_key(|l| l.key.hash(crate::suite::Suite::default()));
    assert!(matches!(
        verify_chunk(&m, c),
        Err(SnapshotError::OutsidePrefix { chunk, .. }) if chunk == idx
    ));
    // Leaves out of order.
    let mut c = good.clone();
    c.leaves.swap(0, 1);
    assert!(matches!(
        verify_chunk(&m, c),
        Err(SnapshotError::Unsorted { chunk, leaf: 1, .. }) if chunk == idx
    ));
    // A value of another kind than its key.
    let mut c = good.clone();
    c.leaves[0].value = StateValue::Seq(Seq(1));
    assert!(matches!(
        verify_chunk(&m, c),
        Err(SnapshotError::BadLeaf { chunk, leaf: 0, .. }) if chunk == idx
    ));
    // A sibling missing.
    let mut c = good.clone();
    c.siblings.pop();
    assert_eq!(
        verify_chunk(&m, c),
        Err(SnapshotError::SiblingCount {
            chunk: idx,
            expected: 4,
            found: 3
        })
    );
    // Another height, another cut, an index beyond the count.
    let mut c = good.clone();
    c.height = Height(8);
    assert_eq!(
        verify_chunk(&m, c),
        Err(SnapshotError::ChunkHeight {
            chunk: idx,
            expected: Height(7),
            found: Height(8)
        })
    );
    let mut c = good.clone();
    c.prefix_bits = 5;
    assert!(matches!(
        verify_chunk(&m, c),
        Err(SnapshotError::ChunkPrefixBits { .. })
    ));
    let mut c = good;
    c.index = 16;
    assert_eq!(
        verify_chunk(&m, c),
        Err(SnapshotError::ChunkIndex {
            chunk: 16,
            count: 16
        })
    );
}

/// The compressed paths: a chunk whose only leaf floated up, or an empty chunk beside a
/// lone leaf. An empty chunk cannot hide a leaf of its own by presenting it as a sibling.
#[test]
fn sparse_states_verify_and_a_hidden_leaf_is_refused() {
    for n in [0u32, 1, 2, 3] {
        let (leaves, root) = state((0..n).map(member).collect());
        let m = manifest(3, root, &[], 5);
        for c in chunks(&leaves, 3, 5) {
            verify_chunk(&m, c).unwrap();
        }
    }
    // One entry: its chunk is a leaf, every other chunk is empty. An honest empty chunk
    // beside it on the path verifies; the leaf's own chunk served as empty, with the leaf
    // as a sibling at the depth where it floats, is refused.
    let (leaves, root) = state(vec![member(1)]);
    let kh = leaves[0].key.hash(crate::suite::Suite::default());
    let m = manifest(3, root, &[], 5);
    let own = chunk_of(&kh, 5);
    let neighbour = own ^ 1;
    let honest = chunks(&leaves, 3, 5).remove(neighbour as usize);
    assert!(honest.leaves.is_empty());
    verify_chunk(&m, honest.clone()).unwrap();
    let mut hidden = honest;
    hidden.index = own;
    assert!(matches!(
        verify_chunk(&m, hidden),
        Err(SnapshotError::SiblingOffPath { chunk, depth: 5, .. }) if chunk == own
    ));
}

#[test]
fn a_manifest_must_match_its_checkpoint() {
    let (_, root) = state((0..10).map(member).collect());
    let cp = checkpoint(5, root, &[]);
    let mut m = SnapshotManifest::for_header(cp.header(), 3);
    assert!(m.verify(&cp).is_ok());
    m.state_root = Digest([7; 32]);
    assert!(matches!(
        m.verify(&cp),
        Err(SnapshotError::ManifestMismatch {
            field: "state_root",
            ..
        })
    ));
    let mut m = SnapshotManifest::for_header(cp.header(), 3);
    m.height = Height(4);
    assert!(matches!(
        m.verify(&cp),
        Err(SnapshotError::ManifestMismatch {
            field: "height",
            ..
        })
    ));
    let mut m = SnapshotManifest::for_header(cp.header(), 17);
    assert!(matches!(
        m.verify(&cp),
        Err(SnapshotError::BadManifest { .. })
    ));
    m.prefix_bits = 3;
    m.chunk_count = 9;
    assert!(codec::decode::<SnapshotManifest>(&codec::encode(&m)).is_err());
}

fn entry(i: u64) -> LogEntry {
    let signer = SecretKey::from_seed([9; 32]);
    let body = TxBody {
        chain_id: genesis().chain_id(),
        signer: signer.public(),
        seq: Seq(i),
        record: Record::RevokeMember(RevokeMember {
            agency: AgencyId("a".into()),
            key: PublicKey::Ed25519([i as u8; 32]),
            reason: format!("r{i}"),
        }),
    };
    LogEntry {
        height: Height(1 + i / 100),
        time: TimestampMs(1000 + i),
        tx: Transaction::sign(body, &signer),
        outcome: Outcome::Applied,
    }
}

/// The pieces of a log of `n` entries, with proofs cut from whole-log inclusion proofs.
fn pieces(entries: &[LogEntry], height: u64) -> Vec<LogPiece> {
    let leaves: Vec<Digest> = entries
        .iter()
        .map(|e| merkle::leaf_hash(crate::suite::Suite::default(), &codec::encode(e)))
        .collect();
    let n = entries.len() as u64;
    (0..log_piece_count(n))
        .map(|k| {
            let first = k * 256;
            let len = log_piece_len(k, n);
            let full = merkle::inclusion_proof_with(&merkle::Blake3Hasher, &leaves, first).unwrap();
            LogPiece {
                height: Height(height),
                index: k,
                entries: entries[first as usize..(first + len) as usize].to_vec(),
                proof: log_piece_proof(k, n, &full),
            }
        })
        .collect()
}

#[test]
fn log_pieces_verify_against_the_log_root_and_a_changed_entry_fails() {
    for n in [1u64, 2, 255, 256, 257, 600, 1024, 1300] {
        let entries: Vec<LogEntry> = (0..n).map(entry).collect();
        let leaves: Vec<Digest> = entries
            .iter()
            .map(|e| merkle::leaf_hash(crate::suite::Suite::default(), &codec::encode(e)))
            .collect();
        let m = manifest(20, Digest::ZERO, &leaves, 0);
        let ps = pieces(&entries, 20);
        assert_eq!(ps.len() as u64, n.div_ceil(256));
        let mut back = Vec::new();
        for p in ps.iter().cloned() {
            let v = verify_log_piece(&m, p).unwrap_or_else(|e| panic!("n {n}: {e}"));
            assert_eq!(v.first_index(), back.len() as u64);
            back.extend(v.entries().iter().cloned());
        }
        assert_eq!(back, entries);
        let last = ps.len() - 1;
        // A changed entry.
        let mut p = ps[last].clone();
        p.entries[0].time = TimestampMs(1);
        assert!(matches!(
            verify_log_piece(&m, p),
            Err(SnapshotError::PieceProof { piece, .. }) if piece == last as u64
        ));
        // A dropped entry, a piece of another height.
        let mut p = ps[0].clone();
        p.entries.pop();
        assert!(matches!(
            verify_log_piece(&m, p),
            Err(SnapshotError::PieceLength { piece: 0, .. })
        ));
        let mut p = ps[0].clone();
        p.height = Height(21);
        assert!(matches!(
            verify_log_piece(&m, p),
            Err(SnapshotError::PieceHeight { piece: 0, .. })
        ));
    }
}

#[test]
fn snapshot_types_round_trip_through_the_codec() {
    let (leaves, root) = state((0..40).map(member).collect());
    for c in chunks(&leaves, 2, 2) {
        let back: SnapshotChunk = codec::decode(&codec::encode(&c)).unwrap();
        assert_eq!(back, c);
    }
    let m = SnapshotManifest::for_header(checkpoint(2, root, &[]).header(), 2);
    assert_eq!(
        codec::decode::<SnapshotManifest>(&codec::encode(&m)).unwrap(),
        m
    );
    let entries: Vec<LogEntry> = (0..3).map(entry).collect();
    let p = pieces(&entries, 2).remove(0);
    assert_eq!(codec::decode::<LogPiece>(&codec::encode(&p)).unwrap(), p);
    // Too many siblings is refused by the decoder.
    let mut c = chunks(&leaves, 2, 2).remove(0);
    c.siblings = vec![Subtree::Empty; SNAPSHOT_PREFIX_BITS_MAX + 1];
    assert!(codec::decode::<SnapshotChunk>(&codec::encode(&c)).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any key set, any cut: every leaf lands in exactly one chunk, every chunk verifies,
    /// and the chunks' subtrees fold to the root.
    #[test]
    fn any_split_covers_every_leaf_once_and_verifies(
        ids in proptest::collection::btree_set(0u32..1_000_000, 0..200),
        bits in 0u8..8,
    ) {
        let (leaves, root) = state(ids.into_iter().map(member).collect());
        let m = manifest(9, root, &[], bits);
        let cs = chunks(&leaves, 9, bits);
        prop_assert_eq!(cs.len(), 1usize << bits);
        let mut seen = std::collections::BTreeMap::new();
        let mut bottom = Vec::new();
        for c in cs {
            let v = verify_chunk(&m, c).unwrap();
            for l in v.leaves() {
                *seen.entry(l.key.hash(crate::suite::Suite::default())).or_insert(0u32) += 1;
            }
            bottom.push(v.subtree());
        }
        prop_assert_eq!(seen.len(), leaves.len());
        prop_assert!(seen.values().all(|n| *n == 1));
        prop_assert_eq!(TopLevels::new(crate::suite::Suite::default(), bottom).unwrap().root(), root);
    }
}
