//! State snapshots end to end: a source ledger serves the snapshot of a past height while
//! it commits new blocks, every piece is verified with the kernel against a checkpoint
//! verified with the epoch chain, the pieces are installed into an empty store, and the
//! ledger opened on it answers like a replica that replayed every block, then applies the
//! next blocks to the same roots. Tampered pieces are refused naming the piece.

use chancery_core::block::{Block, Outcome, ReasonCode};
use chancery_core::cert::Certificate;
use chancery_core::checkpoint::Checkpoint;
use chancery_core::epoch::VerifiedEpochs;
use chancery_core::record::{Record, RecordKind, Role};
use chancery_core::snapshot::{
    verify_chunk, verify_log_piece, SnapshotChunk, SnapshotError, SnapshotLeaf, Subtree,
    VerifiedManifest,
};
use chancery_core::state::{verify_state_proof, StateKey, StateValue};
use chancery_core::tx::Transaction;
use chancery_core::{AgencyId, Digest, Height, TimestampMs};
use chancery_ledger::testing::fixture::{anchor, register_asset, Fixture, AGENCIES};
use chancery_ledger::testing::propose_and_apply;
use chancery_ledger::{InstallError, Ledger, LedgerConfig, LedgerError, SnapshotInstaller};
use chancery_storage::{Column, MemStore, Store};
use std::collections::HashMap;
use std::sync::Arc;

/// Small chunks, so that a few thousand records make dozens of them.
fn config() -> LedgerConfig {
    LedgerConfig {
        snapshot_chunk_target_bytes: 16 * 1024,
        tree_flush_blocks: 8,
        ..LedgerConfig::default()
    }
}

fn mem() -> Arc<dyn Store> {
    Arc::new(MemStore::new())
}

/// Signs transactions with the right sequence numbers.
struct Signer<'a> {
    fx: &'a Fixture,
    seqs: HashMap<(String, Role), u64>,
}

impl<'a> Signer<'a> {
    fn new(fx: &'a Fixture) -> Self {
        Signer {
            fx,
            seqs: HashMap::new(),
        }
    }
    fn tx(&mut self, agency: &str, role: Role, record: Record) -> Transaction {
        let seq = self.seqs.entry((agency.to_string(), role)).or_insert(0);
        let tx = self.fx.tx(self.fx.signer(agency, role), *seq, record);
        *seq += 1;
        tx
    }
}

/// Block `b`: 60 asset registrations spread over the agencies and 20 anchors.
fn block_txs(s: &mut Signer<'_>, b: usize) -> Vec<Transaction> {
    let mut txs = Vec::new();
    for i in 0..60 {
        let agency = AGENCIES[i % 3];
        txs.push(s.tx(
            agency,
            Role::AssetOfficer,
            register_asset(&format!("A{b}-{i}"), agency),
        ));
    }
    for i in 0..20 {
        txs.push(s.tx(
            AGENCIES[i % 3],
            Role::Archivist,
            anchor(&format!("{b}-{i}")),
        ));
    }
    txs
}

/// The checkpoint of `height` on `ledger`, verified with the epoch chain (the genesis set).
fn verified_manifest(source: &Ledger, fx: &Fixture, height: Height) -> VerifiedManifest {
    let (block, certificate) = source.block(height).unwrap().unwrap();
    let cp = VerifiedEpochs::genesis(&fx.genesis)
        .verify_checkpoint(&Checkpoint {
            header: block.header,
            certificate,
        })
        .unwrap();
    source
        .snapshot_manifest(height)
        .unwrap()
        .verify(&cp)
        .unwrap()
}

fn blocks(ledger: &Ledger, from: u64, to: u64) -> Vec<(Block, Certificate)> {
    (from..=to)
        .map(|h| ledger.block(Height(h)).unwrap().unwrap())
        .collect()
}

fn keys_sample(h: usize) -> Vec<StateKey> {
    let mut keys = Vec::new();
    for b in (0..h).step_by(3) {
        for i in [0, 7, 31, 59] {
            keys.push(StateKey::Asset(format!("A{b}-{i}")));
        }
    }
    keys.push(StateKey::Asset("never-registered".into()));
    keys.push(StateKey::Asset(format!("A{}-0", h + 2)));
    keys.push(StateKey::Governance);
    keys
}

#[test]
fn a_snapshot_installs_into_an_empty_store_and_follows_the_chain() {
    let fx = Fixture::new();
    let source = Ledger::open_with(mem(), &fx.genesis, config()).unwrap();
    let mut s = Signer::new(&fx);
    let h = 30u64;
    for b in 0..h as usize {
        propose_and_apply(&source, &fx, block_txs(&mut s, b)).unwrap();
    }
    let old_tx = block_txs(&mut Signer::new(&fx), 0).remove(0);
    let vm = verified_manifest(&source, &fx, Height(h));
    let m = vm.manifest().clone();
    assert!(m.chunk_count >= 16, "only {} chunks", m.chunk_count);
    assert_eq!(m.log_size, h * 80);

    // The source commits more blocks while it serves the snapshot of h.
    let mut chunks = Vec::new();
    for i in 0..m.chunk_count {
        if i % 8 == 0 {
            propose_and_apply(&source, &fx, block_txs(&mut s, h as usize + i as usize / 8))
                .unwrap();
        }
        let chunk = source.snapshot_chunk(Height(h), i).unwrap();
        // Under the configured target, siblings and frame included.
        let bytes = chancery_core::codec::encode(&chunk).len();
        assert!(bytes <= 16 * 1024, "chunk {i}: {bytes} bytes");
        chunks.push(verify_chunk(&vm, chunk).unwrap());
    }
    let mut pieces = Vec::new();
    for k in 0..m.log_piece_count {
        propose_and_apply(&source, &fx, block_txs(&mut s, 100 + k as usize)).unwrap();
        pieces
            .push(verify_log_piece(&vm, source.snapshot_log_piece(Height(h), k).unwrap()).unwrap());
    }
    assert!(source.tip().height.0 > h + 5);
    // The chunks hold the state as of h: the assets registered up to h, none after.
    let keys: std::collections::BTreeSet<StateKey> = chunks
        .iter()
        .flat_map(|c| c.leaves().iter().map(|l| l.key.clone()))
        .collect();
    assert!(keys.contains(&StateKey::Asset("A0-0".into())));
    assert!(keys.contains(&StateKey::Asset(format!("A{}-59", h - 1))));
    assert!(!keys.contains(&StateKey::Asset(format!("A{h}-0"))));
    assert_eq!(
        keys.iter()
            .filter(|k| matches!(k, StateKey::Asset(_)))
            .count(),
        h as usize * 60
    );

    // Install, in an order other than the index order.
    let store = mem();
    let mut inst = SnapshotInstaller::new(store.clone(), &fx.genesis, vm.clone()).unwrap();
    assert!(matches!(
        inst.add_log_piece(pieces[0].clone()),
        Err(InstallError::LogBeforeState { piece: 0, .. })
    ));
    chunks.reverse();
    for c in chunks {
        inst.add_chunk(c).unwrap();
    }
    assert!(matches!(
        inst.add_log_piece(pieces[1].clone()),
        Err(InstallError::LogOutOfOrder {
            expected: 0,
            found: 1
        })
    ));
    for p in pieces {
        inst.add_log_piece(p).unwrap();
    }
    assert_eq!(inst.finish().unwrap(), Height(h));
    let installed = Ledger::open_with(store.clone(), &fx.genesis, config()).unwrap();

    // A replica that replayed blocks 1..=h.
    let replica_store = mem();
    let replica = Ledger::open_with(replica_store.clone(), &fx.genesis, config()).unwrap();
    for (b, c) in blocks(&source, 1, h) {
        replica.apply(&b, &c).unwrap();
    }
    replica.index_pending().unwrap();
    // The log, its tx index and tiles, and the secondary index, entry for entry.
    for col in [Column::Log, Column::TxIndex, Column::LogTree, Column::Index] {
        assert_eq!(
            column_entries(store.as_ref(), col),
            column_entries(replica_store.as_ref(), col),
            "{col:?}"
        );
    }
    assert_eq!(installed.tip(), replica.tip());
    assert_eq!(installed.first_height(), Height(h));
    assert_eq!(installed.indexed_height().unwrap(), Some(Height(h)));

    // State proofs and values as of h, equal to the source's and the replica's.
    let root = replica.tip().state_root;
    for key in keys_sample(h as usize) {
        let p = installed.prove(&key, Height(h)).unwrap();
        let v = verify_state_proof(chancery_core::suite::Suite::default(), &root, &p).unwrap();
        assert_eq!(v, source.value_as_of(&key, Height(h)).unwrap(), "{key:?}");
        assert_eq!(p, replica.prove(&key, Height(h)).unwrap(), "{key:?}");
        assert_eq!(installed.state_value(&key).unwrap(), v);
    }
    // Queries: point reads, histories and index queries as the replica answers them.
    assert_eq!(
        installed.asset("A3-7").unwrap(),
        replica.asset("A3-7").unwrap()
    );
    assert!(installed.asset("A3-7").unwrap().is_some());
    assert_eq!(
        installed.asset_history("A3-7", None, 10).unwrap(),
        replica.asset_history("A3-7", None, 10).unwrap()
    );
    for a in AGENCIES {
        let agency = AgencyId(a.into());
        assert_eq!(
            installed.assets_by_custodian(&agency, None, 100).unwrap(),
            replica.assets_by_custodian(&agency, None, 100).unwrap()
        );
        assert_eq!(
            installed.members(&agency, None, 100).unwrap(),
            replica.members(&agency, None, 100).unwrap()
        );
        assert_eq!(
            installed.records_by_agency(&agency, None, 50).unwrap(),
            replica.records_by_agency(&agency, None, 50).unwrap()
        );
    }
    assert_eq!(
        installed
            .records_by_kind(
                RecordKind::AnchorDocument,
                TimestampMs(0),
                TimestampMs(u64::MAX),
                None,
                50
            )
            .unwrap(),
        replica
            .records_by_kind(
                RecordKind::AnchorDocument,
                TimestampMs(0),
                TimestampMs(u64::MAX),
                None,
                50
            )
            .unwrap()
    );
    assert_eq!(
        installed.tx(&old_tx.hash()).unwrap(),
        replica.tx(&old_tx.hash()).unwrap()
    );

    // A transaction of a block below h still gets a receipt that verifies offline: the
    // whole log is installed, so it is proven in the log of h's checkpoint.
    let r = installed
        .receipt(&old_tx.hash())
        .unwrap()
        .expect("a receipt for a transaction below the first height");
    let summary = chancery_core::receipt::verify(&r, &fx.genesis).expect("verifies offline");
    assert_eq!(summary.checkpoint_height, Height(h));
    assert!(summary.height < Height(h));

    // Below h: a clear error naming the first height held, no panic.
    let below = |r: Result<(), LedgerError>| match r {
        Err(LedgerError::BeforeFirstHeight { found, first }) => {
            assert_eq!((found, first), (Height(5), Height(h)));
        }
        other => panic!("expected BeforeFirstHeight, got {other:?}"),
    };
    below(installed.block(Height(5)).map(|_| ()));
    below(
        installed
            .prove(&StateKey::Governance, Height(5))
            .map(|_| ()),
    );
    below(
        installed
            .value_as_of(&StateKey::Governance, Height(5))
            .map(|_| ()),
    );
    let msg = installed.block(Height(5)).unwrap_err().to_string();
    assert!(
        msg.contains(&format!("first height this node holds ({h})")),
        "{msg}"
    );

    // The source's later blocks apply on both, to the source's roots.
    let tip = source.tip().height.0;
    for (b, c) in blocks(&source, h + 1, tip) {
        installed.apply(&b, &c).unwrap();
        replica.apply(&b, &c).unwrap();
    }
    assert_eq!(installed.tip(), source.tip());
    assert_eq!(replica.tip(), source.tip());
    // A new block replaying a transaction of block 1 (a duplicate only the log below h
    // knows) and a fresh one: the same outcomes and roots everywhere.
    let fresh = s.tx("moe", Role::Archivist, anchor("fresh"));
    let applied = propose_and_apply(&installed, &fx, vec![old_tx, fresh]).unwrap();
    assert_eq!(
        applied.outcomes,
        vec![Outcome::Rejected(ReasonCode::DuplicateTx), Outcome::Applied]
    );
    let (b, c) = installed.block(installed.tip().height).unwrap().unwrap();
    source.apply(&b, &c).unwrap();
    replica.apply(&b, &c).unwrap();
    assert_eq!(installed.tip(), source.tip());
    assert_eq!(replica.tip(), source.tip());
    let p = installed
        .prove(&StateKey::Asset("A3-7".into()), installed.tip().height)
        .unwrap();
    assert!(verify_state_proof(
        chancery_core::suite::Suite::default(),
        &installed.tip().state_root,
        &p
    )
    .unwrap()
    .is_some());

    // The snapshot's height stays provable (it is a flushed height) after later flushes.
    let key = StateKey::Asset("A3-7".into());
    let p = installed.prove(&key, Height(h)).unwrap();
    assert_eq!(
        verify_state_proof(chancery_core::suite::Suite::default(), &root, &p).unwrap(),
        source.value_as_of(&key, Height(h)).unwrap()
    );
    // The integrity check replays from the genesis: on a store without the blocks below
    // h it stops with the same clear error.
    match chancery_ledger::check(store.clone(), mem()) {
        Err(LedgerError::BeforeFirstHeight { first, .. }) => assert_eq!(first, Height(h)),
        other => panic!("expected BeforeFirstHeight from check, got {other:?}"),
    }
    // Reopened (nothing to replay: the tree was installed as flushed at h, the blocks
    // above replay from their log), it stands where it was.
    drop(installed);
    let reopened = Ledger::open_with(store, &fx.genesis, config()).unwrap();
    assert_eq!(reopened.tip(), source.tip());
    // An installed node serves snapshots of its own later heights: a third node starts
    // from one of them.
    let third = install_from(&reopened, &fx, reopened.tip().height, config());
    assert_eq!(third.tip(), source.tip());
    assert_eq!(third.asset("A3-7").unwrap(), source.asset("A3-7").unwrap());
}

/// A source with a few thousand records, and the verified manifest of height `h`.
fn source_at(fx: &Fixture, h: usize, more: usize) -> (Ledger, VerifiedManifest) {
    let source = Ledger::open_with(mem(), &fx.genesis, config()).unwrap();
    let mut s = Signer::new(fx);
    for b in 0..h + more {
        propose_and_apply(&source, fx, block_txs(&mut s, b)).unwrap();
    }
    let vm = verified_manifest(&source, fx, Height(h as u64));
    (source, vm)
}

#[test]
fn tampered_chunks_and_log_pieces_are_refused_naming_them() {
    let fx = Fixture::new();
    let (source, vm) = source_at(&fx, 25, 5);
    let h = Height(25);
    let m = vm.manifest().clone();
    let idx = (0..m.chunk_count)
        .find(|i| source.snapshot_chunk(h, *i).unwrap().leaves.len() >= 3)
        .unwrap();
    let good = source.snapshot_chunk(h, idx).unwrap();
    verify_chunk(&vm, good.clone()).unwrap();
    let root_mismatch = |c: SnapshotChunk, what: &str| match verify_chunk(&vm, c) {
        Err(SnapshotError::RootMismatch {
            chunk, expected, ..
        }) => {
            assert_eq!((chunk, expected), (idx, m.state_root), "{what}");
        }
        other => panic!("{what}: expected a root mismatch of chunk {idx}, got {other:?}"),
    };
    // A value changed: the asset's custodian.
    let mut c = good.clone();
    let at = c
        .leaves
        .iter()
        .position(|l| matches!(l.value, StateValue::Asset(_)))
        .unwrap();
    if let StateValue::Asset(a) = &mut c.leaves[at].value {
        a.custodian = AgencyId("nhc".into());
        a.registered_at = Height(99);
    }
    root_mismatch(c, "value changed");
    // A leaf dropped.
    let mut c = good.clone();
    c.leaves.remove(1);
    root_mismatch(c, "leaf dropped");
    // A leaf added: a key of the same prefix that exists only after h.
    let bits = m.prefix_bits;
    let extra: SnapshotLeaf = (0..source
        .snapshot_manifest(source.tip().height)
        .unwrap()
        .chunk_count)
        .flat_map(|i| {
            source
                .snapshot_chunk(source.tip().height, i)
                .unwrap()
                .leaves
        })
        .find(|l| {
            chancery_core::snapshot::chunk_of(
                &l.key.hash(chancery_core::suite::Suite::default()),
                bits,
            ) == idx
                && !good.leaves.iter().any(|g| g.key == l.key)
        })
        .unwrap();
    let mut c = good.clone();
    c.leaves.push(extra);
    c.leaves
        .sort_by_key(|l| l.key.hash(chancery_core::suite::Suite::default()));
    root_mismatch(c, "leaf added");
    // A sibling hash changed.
    let mut c = good.clone();
    let last = c.siblings.len() - 1;
    c.siblings[last] = Subtree::Node(Digest([5; 32]));
    root_mismatch(c, "sibling changed");
    // The same chunk of a later height: refused for its height, and with its height
    // rewritten, for its root.
    let later_m = source.snapshot_manifest(source.tip().height).unwrap();
    if later_m.prefix_bits == bits {
        let later = source.snapshot_chunk(source.tip().height, idx).unwrap();
        assert!(matches!(
            verify_chunk(&vm, later.clone()),
            Err(SnapshotError::ChunkHeight { chunk, .. }) if chunk == idx
        ));
        let mut relabelled = later;
        relabelled.height = h;
        root_mismatch(relabelled, "chunk of a later height");
    } else {
        assert!(verify_chunk(&vm, source.snapshot_chunk(source.tip().height, 0).unwrap()).is_err());
    }
    // A log piece with a changed entry.
    let piece = source.snapshot_log_piece(h, 1).unwrap();
    verify_log_piece(&vm, piece.clone()).unwrap();
    let mut bad = piece.clone();
    bad.entries[17].outcome = Outcome::Rejected(ReasonCode::BadSequence);
    assert!(matches!(
        verify_log_piece(&vm, bad),
        Err(SnapshotError::PieceProof { piece: 1, .. })
    ));
    let mut bad = piece;
    bad.entries.swap(3, 4);
    assert!(matches!(
        verify_log_piece(&vm, bad),
        Err(SnapshotError::PieceProof { piece: 1, .. })
    ));
    // Pieces beyond the snapshot do not exist.
    assert!(matches!(
        source.snapshot_chunk(h, m.chunk_count),
        Err(LedgerError::SnapshotIndex { what: "chunk", .. })
    ));
    assert!(matches!(
        source.snapshot_log_piece(h, m.log_piece_count),
        Err(LedgerError::SnapshotIndex {
            what: "log piece",
            ..
        })
    ));
}

#[test]
fn an_install_needs_an_empty_store_and_a_partial_one_does_not_open() {
    let fx = Fixture::new();
    let (source, vm) = source_at(&fx, 4, 0);
    // A store with a ledger in it.
    let used = mem();
    Ledger::open(used.clone(), &fx.genesis).unwrap();
    assert!(matches!(
        SnapshotInstaller::new(used, &fx.genesis, vm.clone()),
        Err(InstallError::NotEmpty { .. })
    ));
    // An install stopped half-way does not open as a ledger (nor as a new genesis).
    let store = mem();
    let mut inst = SnapshotInstaller::new(store.clone(), &fx.genesis, vm.clone()).unwrap();
    let c = verify_chunk(&vm, source.snapshot_chunk(Height(4), 0).unwrap()).unwrap();
    inst.add_chunk(c.clone()).unwrap();
    assert!(matches!(
        inst.add_chunk(c),
        Err(InstallError::ChunkTwice { chunk: 0 })
    ));
    assert!(matches!(
        inst.finish(),
        Err(InstallError::Incomplete { .. })
    ));
    assert!(matches!(
        Ledger::open(store, &fx.genesis),
        Err(LedgerError::SnapshotIncomplete { height: Height(4) })
    ));
}

/// Verify and install the snapshot of `h` from `source` into a fresh store; open it.
fn install_from(source: &Ledger, fx: &Fixture, h: Height, config: LedgerConfig) -> Ledger {
    let vm = verified_manifest(source, fx, h);
    let m = vm.manifest().clone();
    let store = mem();
    let mut inst = SnapshotInstaller::new(store.clone(), &fx.genesis, vm.clone()).unwrap();
    for i in 0..m.chunk_count {
        inst.add_chunk(verify_chunk(&vm, source.snapshot_chunk(h, i).unwrap()).unwrap())
            .unwrap();
    }
    for k in 0..m.log_piece_count {
        inst.add_log_piece(
            verify_log_piece(&vm, source.snapshot_log_piece(h, k).unwrap()).unwrap(),
        )
        .unwrap();
    }
    inst.finish().unwrap();
    Ledger::open_with(store, &fx.genesis, config).unwrap()
}

/// Tiny chunks over a small state: empty chunks, and chunks of one leaf whose leaf sits
/// higher in the tree than the chunk's depth (compressed paths). Every key's proof from
/// the installed tree equals the source's, and the next block applies on it.
#[test]
fn sparse_chunks_install_the_same_tree() {
    let fx = Fixture::new();
    let tiny = LedgerConfig {
        // 512 chunks for about 220 leaves: many of 0, 1 or 2 leaves.
        snapshot_prefix_bits_min: 9,
        ..LedgerConfig::default()
    };
    let source = Ledger::open_with(mem(), &fx.genesis, tiny.clone()).unwrap();
    let mut s = Signer::new(&fx);
    for b in 0..3 {
        propose_and_apply(&source, &fx, block_txs(&mut s, b)).unwrap();
    }
    let h = Height(3);
    let m = source.snapshot_manifest(h).unwrap();
    let sizes: Vec<usize> = (0..m.chunk_count)
        .map(|i| source.snapshot_chunk(h, i).unwrap().leaves.len())
        .collect();
    // A lone leaf beside an empty chunk: the leaf sits above the chunks' depth.
    let floats = (0..sizes.len()).any(|i| sizes[i] == 1 && sizes[i ^ 1] == 0);
    assert!(floats, "chunk sizes {sizes:?}");
    let installed = install_from(&source, &fx, h, tiny);
    assert_eq!(installed.tip(), source.tip());
    let keys: Vec<StateKey> = (0..m.chunk_count)
        .flat_map(|i| source.snapshot_chunk(h, i).unwrap().leaves)
        .map(|l| l.key)
        .collect();
    for key in &keys {
        assert_eq!(
            installed.prove(key, h).unwrap(),
            source.prove(key, h).unwrap()
        );
    }
    let next = vec![s.tx("nhc", Role::AssetOfficer, register_asset("X3", "nhc"))];
    propose_and_apply(&installed, &fx, next).unwrap();
    let (b, c) = installed.block(Height(4)).unwrap().unwrap();
    source.apply(&b, &c).unwrap();
    assert_eq!(installed.tip(), source.tip());
}

/// Every entry of `col`, through the `Store` trait, a page at a time.
fn column_entries(store: &dyn Store, col: Column) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut from = Vec::new();
    loop {
        let rows = store.scan(col, &from, None, false, 1000).unwrap();
        let full = rows.len() == 1000;
        out.extend(rows);
        match out.last() {
            Some((k, _)) if full => from = chancery_storage::successor(k),
            _ => return out,
        }
    }
}

/// Every key of `col`.
fn column_keys(store: &dyn Store, col: Column) -> Vec<Vec<u8>> {
    column_entries(store, col)
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

/// Governance below the snapshot: agencies added (two in one block, one of them with its
/// admin key replaced by the same proposal) and removed, a genesis agency's admin keys
/// replaced. The installer derives the index entries of what those proposals did from its
/// walk of the log, so the installed index is key for key the source's, the agencies and
/// members read the same.
#[test]
fn governance_below_the_snapshot_indexes_the_same() {
    use chancery_core::governance::{Change, ProposalStatus};
    use chancery_core::record::Vote;
    use chancery_ledger::testing::fixture::named_key;
    use chancery_ledger::testing::governed::{add_agency, Chain, ALL};
    let mut c = Chain::new();
    c.index = true;
    let mee = named_key("mee-admin");
    assert_eq!(
        c.pass("add-mee", vec![add_agency("mee", &mee)], &ALL),
        Outcome::Applied
    );
    let set = Change::SetAdminKeys {
        agency: AgencyId("moe".into()),
        admin_keys: vec![named_key("moe-admin-2").public()],
    };
    assert_eq!(c.pass("moe-keys", vec![set], &ALL), Outcome::Applied);
    c.admins.insert("mee".into(), mee.clone());
    c.admins.insert("moe".into(), named_key("moe-admin-2"));
    let both = vec![
        add_agency("mps", &named_key("mps-1")),
        Change::SetAdminKeys {
            agency: AgencyId("mps".into()),
            admin_keys: vec![named_key("mps-2").public()],
        },
    ];
    assert_eq!(c.propose("mof", "add-set", both), Outcome::Applied);
    assert_eq!(
        c.propose("moe", "add-2", vec![add_agency("mem", &named_key("mem-1"))]),
        Outcome::Applied
    );
    for id in ["add-set", "add-2"] {
        for a in ["mof", "moe"] {
            assert_eq!(c.vote(a, id, true), Outcome::Applied, "{a} on {id}");
        }
    }
    let vote = |id: &str| {
        Record::Vote(Vote {
            proposal_id: id.into(),
            approve: true,
        })
    };
    let (o, _) = c.block(vec![
        (c.admin("nhc"), vote("add-set")),
        (c.admin("nhc"), vote("add-2")),
    ]);
    assert_eq!(o, vec![Outcome::Applied; 2]);
    c.admins.insert("mps".into(), named_key("mps-2"));
    c.admins.insert("mem".into(), named_key("mem-1"));
    let rm = Change::RemoveAgency {
        id: AgencyId("mee".into()),
    };
    let voters = ["mof", "moe", "nhc", "mee", "mps", "mem"];
    // Votes until `id` passes (the electorate grows as agencies are added).
    let until_passed = |c: &mut Chain, id: &str, from: &[&str]| {
        for a in from {
            if matches!(c.proposal(id).status, ProposalStatus::Passed { .. }) {
                break;
            }
            assert_eq!(c.vote(a, id, true), Outcome::Applied, "{a} on {id}");
        }
        assert!(
            matches!(c.proposal(id).status, ProposalStatus::Passed { .. }),
            "{id}: {:?}",
            c.proposal(id).status
        );
    };
    until_passed(&mut c, "add-set", &[]);
    until_passed(&mut c, "add-2", &["mee", "mps"]);
    assert_eq!(c.propose("mof", "rm-mee", vec![rm]), Outcome::Applied);
    until_passed(&mut c, "rm-mee", &voters);
    c.empty_blocks(2);
    let source = c.ledger.clone();
    let h = source.tip().height;

    // The snapshot's checkpoint, verified with the epoch chain up to its epoch.
    let (block, certificate) = source.block(h).unwrap().unwrap();
    let epoch = block.header.epoch;
    let epochs =
        VerifiedEpochs::verify(&c.fx.genesis, &source.epoch_links(epoch).unwrap()).unwrap();
    let cp = epochs
        .verify_checkpoint(&Checkpoint {
            header: block.header,
            certificate,
        })
        .unwrap();
    let vm = source.snapshot_manifest(h).unwrap().verify(&cp).unwrap();
    let m = vm.manifest().clone();
    let store = mem();
    let mut inst = SnapshotInstaller::new(store.clone(), &c.fx.genesis, vm.clone()).unwrap();
    for i in 0..m.chunk_count {
        inst.add_chunk(verify_chunk(&vm, source.snapshot_chunk(h, i).unwrap()).unwrap())
            .unwrap();
    }
    for k in 0..m.log_piece_count {
        inst.add_log_piece(
            verify_log_piece(&vm, source.snapshot_log_piece(h, k).unwrap()).unwrap(),
        )
        .unwrap();
    }
    inst.finish().unwrap();
    let installed = Ledger::open(store.clone(), &c.fx.genesis).unwrap();
    assert_eq!(installed.tip(), source.tip());

    assert_eq!(source.indexed_height().unwrap(), Some(h));
    let index = Column::Index;
    assert_eq!(
        column_keys(store.as_ref(), index),
        column_keys(c.store.as_ref(), index)
    );
    assert_eq!(installed.agencies().unwrap(), source.agencies().unwrap());
    for a in voters {
        let agency = AgencyId(a.into());
        assert_eq!(
            installed.members(&agency, None, 100).unwrap(),
            source.members(&agency, None, 100).unwrap(),
            "{a}"
        );
    }
}
