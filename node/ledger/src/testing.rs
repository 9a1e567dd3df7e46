//! Small stores for tests and benchmarks: an in-memory map store, and a wrapper that
//! injects faults (failed writes, torn writes, flipped bytes). Not for production.

use chancery_storage::{Column, Store, StoreError, WriteBatch};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

type Map = BTreeMap<(u8, Vec<u8>), Vec<u8>>;

fn col_id(c: Column) -> u8 {
    Column::ALL.iter().position(|x| *x == c).unwrap_or(0) as u8
}

/// An in-memory store with the trait's rules (atomic batches; no overwrite outside Meta).
#[derive(Default)]
pub struct MapStore {
    map: Mutex<Map>,
}

impl MapStore {
    /// An empty store.
    pub fn new() -> Arc<MapStore> {
        Arc::new(MapStore::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Map> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of entries in a column and their key + value bytes.
    pub fn column_size(&self, col: Column) -> (usize, usize) {
        let m = self.lock();
        let id = col_id(col);
        m.iter()
            .filter(|((c, _), _)| *c == id)
            .fold((0, 0), |(n, b), ((_, k), v)| (n + 1, b + k.len() + v.len()))
    }

    /// Overwrite a value directly, bypassing the rules (to simulate corruption).
    pub fn poke(&self, col: Column, key: &[u8], value: Vec<u8>) {
        self.lock().insert((col_id(col), key.to_vec()), value);
    }

    /// Remove an entry directly, bypassing the rules (to simulate corruption).
    pub fn remove(&self, col: Column, key: &[u8]) {
        self.lock().remove(&(col_id(col), key.to_vec()));
    }

    /// Every key of a column.
    pub fn keys(&self, col: Column) -> Vec<Vec<u8>> {
        let id = col_id(col);
        self.lock()
            .keys()
            .filter(|(c, _)| *c == id)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Apply the first `n` puts of a batch without the atomicity guarantee (a torn write).
    pub fn write_prefix(&self, batch: &WriteBatch, n: usize) {
        let mut m = self.lock();
        for (c, k, v) in batch.puts.iter().take(n) {
            m.insert((col_id(*c), k.clone()), v.clone());
        }
    }
}

impl Store for MapStore {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().get(&(col_id(col), key.to_vec())).cloned())
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut m = self.lock();
        // The `Store` contract: outside `Meta`, a put may only repeat the value already
        // there (then it is a no-op); any other value for an existing key refuses the batch.
        let mut in_batch = std::collections::HashMap::new();
        for (c, k, v) in &batch.puts {
            if *c == Column::Meta {
                continue;
            }
            let existing = m
                .get(&(col_id(*c), k.clone()))
                .or_else(|| in_batch.get(&(*c, k.clone())).copied());
            if existing.is_some_and(|old| old != v) {
                return Err(StoreError::Overwrite {
                    column: *c,
                    key_hex: hex::encode(k),
                });
            }
            in_batch.insert((*c, k.clone()), v);
        }
        for (c, k, v) in batch.puts {
            m.insert((col_id(c), k), v);
        }
        Ok(())
    }

    fn scan(
        &self,
        col: Column,
        start: &[u8],
        end: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        let m = self.lock();
        let id = col_id(col);
        let lo = (id, start.to_vec());
        let it = m
            .range(lo..)
            .take_while(|((c, k), _)| *c == id && end.is_none_or(|e| k.as_slice() < e));
        let rows: Vec<(Vec<u8>, Vec<u8>)> = if reverse {
            let all: Vec<_> = it.collect();
            all.into_iter()
                .rev()
                .take(limit)
                .map(|((_, k), v)| (k.clone(), v.clone()))
                .collect()
        } else {
            it.take(limit)
                .map(|((_, k), v)| (k.clone(), v.clone()))
                .collect()
        };
        Ok(rows)
    }
}

/// What [`FaultyStore`] does to the write it targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Fail without writing anything.
    Fail,
    /// Write the first `n` puts, then fail (a store without atomic batches, torn by a crash).
    Tear(usize),
}

/// Wraps a [`MapStore`]; the write numbered `target` (0-based, counting every write) gets
/// the fault.
pub struct FaultyStore {
    /// The store underneath.
    pub inner: Arc<MapStore>,
    writes: AtomicUsize,
    target: usize,
    fault: Fault,
}

impl FaultyStore {
    /// Inject `fault` into write number `target`.
    pub fn new(inner: Arc<MapStore>, target: usize, fault: Fault) -> Arc<FaultyStore> {
        Arc::new(FaultyStore {
            inner,
            writes: AtomicUsize::new(0),
            target,
            fault,
        })
    }
}

impl Store for FaultyStore {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(col, key)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst);
        if n != self.target {
            return self.inner.write(batch);
        }
        match self.fault {
            Fault::Fail => Err(StoreError::Injected(format!("write {n} failed"))),
            Fault::Tear(k) => {
                self.inner.write_prefix(&batch, k);
                Err(StoreError::Injected(format!(
                    "write {n} torn after {k} puts"
                )))
            }
        }
    }

    fn scan(
        &self,
        col: Column,
        start: &[u8],
        end: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        self.inner.scan(col, start, end, reverse, limit)
    }
}

/// A small consortium for tests and benchmarks: agencies `mof`, `moe`, `nhc` with one
/// admin each, one member per (agency, role), and four validators.
pub mod fixture {
    use chancery_core::block::{txs_hash, Block, BlockHeader};
    use chancery_core::cert::{Certificate, IndexedSignature, VoteBody, VoteKind};
    use chancery_core::crypto::SecretKey;
    use chancery_core::genesis::{Agency, ChainParams, Genesis, Member};
    use chancery_core::record::{Record, Role};
    use chancery_core::tx::{Transaction, TxBody};
    use chancery_core::validator::{Validator, ValidatorSet};
    use chancery_core::{AgencyId, Epoch, Height, Seq, TimestampMs, View};
    use std::collections::BTreeMap;

    /// Agencies of the fixture.
    pub const AGENCIES: [&str; 3] = ["mof", "moe", "nhc"];

    /// Keys and genesis.
    pub struct Fixture {
        /// The genesis document.
        pub genesis: Genesis,
        /// Validator consensus keys.
        pub validators: Vec<SecretKey>,
        /// Admin key of each agency.
        pub admins: BTreeMap<String, SecretKey>,
        /// One member key per (agency, role other than admin).
        pub officers: BTreeMap<(String, Role), SecretKey>,
    }

    fn key(tag: &str) -> SecretKey {
        SecretKey::from_seed(
            *chancery_core::domain::DOCUMENT_HASH
                .hash(tag.as_bytes())
                .as_bytes(),
        )
    }

    /// A key derived from a name (deterministic).
    pub fn named_key(name: &str) -> SecretKey {
        key(name)
    }

    impl Fixture {
        /// Build it.
        pub fn new() -> Fixture {
            let validators: Vec<SecretKey> =
                (0..4).map(|i| key(&format!("validator-{i}"))).collect();
            let mut admins = BTreeMap::new();
            let mut officers = BTreeMap::new();
            let mut agencies = Vec::new();
            let mut members = Vec::new();
            for a in AGENCIES {
                let admin = key(&format!("admin-{a}"));
                agencies.push(Agency {
                    id: AgencyId(a.into()),
                    name_zh: format!("{a} 部"),
                    name_en: format!("Ministry {a}"),
                    admin_keys: vec![admin.public()],
                });
                admins.insert(a.to_string(), admin);
                for r in &Role::ALL[1..] {
                    let k = key(&format!("{a}-{}", r.as_str()));
                    members.push(Member {
                        agency: AgencyId(a.into()),
                        key: k.public(),
                        name: format!("{a} {}", r.as_str()),
                        roles: vec![*r],
                    });
                    officers.insert((a.to_string(), *r), k);
                }
            }
            let genesis = Genesis {
                chain_name: "chancery-test".into(),
                genesis_time: TimestampMs(1_790_000_000_000),
                agencies,
                members,
                validators: ValidatorSet {
                    epoch: Epoch(0),
                    start_height: Height(1),
                    validators: validators
                        .iter()
                        .enumerate()
                        .map(|(i, k)| Validator {
                            name: format!("v{i}"),
                            agency: AgencyId(AGENCIES[i % 3].into()),
                            consensus_key: k.public(),
                            network_key: key(&format!("net-{i}")).public(),
                            power: 1,
                        })
                        .collect(),
                },
                params: ChainParams {
                    block_txs_max: 20_000,
                    ..ChainParams::default()
                },
            };
            Fixture {
                genesis,
                validators,
                admins,
                officers,
            }
        }

        /// The officer of `agency` holding `role` (the admin for `Role::Admin`).
        pub fn signer(&self, agency: &str, role: Role) -> &SecretKey {
            if role == Role::Admin {
                &self.admins[agency]
            } else {
                &self.officers[&(agency.to_string(), role)]
            }
        }

        /// Sign a transaction.
        pub fn tx(&self, key: &SecretKey, seq: u64, record: Record) -> Transaction {
            Transaction::sign(
                TxBody {
                    chain_id: self.genesis.chain_id(),
                    signer: key.public(),
                    seq: Seq(seq),
                    record,
                },
                key,
            )
        }

        /// A header template for a block at `height` on `parent` (roots filled by execution).
        pub fn header(
            &self,
            height: Height,
            parent: chancery_core::Digest,
            time: TimestampMs,
        ) -> BlockHeader {
            BlockHeader {
                chain_id: self.genesis.chain_id(),
                epoch: Epoch(0),
                height,
                view: View(height.0),
                parent,
                proposer: 0,
                time,
                txs_hash: txs_hash([]),
                tx_count: 0,
                log_size: 0,
                log_root: chancery_core::Digest::ZERO,
                state_root: chancery_core::Digest::ZERO,
                validator_set: self.genesis.validators.hash(),
            }
        }

        /// A finalization certificate of the first three validators for `block`.
        pub fn finalize(&self, block: &Block) -> Certificate {
            let body = VoteBody {
                chain_id: self.genesis.chain_id(),
                epoch: Epoch(0),
                view: block.header.view,
                kind: VoteKind::Finalize,
                block: block.header.hash(),
            };
            Certificate {
                kind: VoteKind::Finalize,
                epoch: Epoch(0),
                view: block.header.view,
                block: block.header.hash(),
                signatures: self.validators[..3]
                    .iter()
                    .enumerate()
                    .map(|(i, k)| IndexedSignature {
                        index: i as u16,
                        signature: body.sign(k),
                    })
                    .collect(),
            }
        }
    }

    impl Default for Fixture {
        fn default() -> Self {
            Fixture::new()
        }
    }
}

/// Execute `txs` as the next block on `ledger`, build the block and its certificate, and
/// apply it: what a proposer and then every node does.
pub fn propose_and_apply(
    ledger: &crate::Ledger,
    fx: &fixture::Fixture,
    txs: Vec<chancery_core::tx::Transaction>,
) -> Result<crate::Applied, crate::LedgerError> {
    let tip = ledger.tip();
    let height = tip.height.next();
    let time = chancery_core::TimestampMs(tip.time.0 + 1000);
    let checked = crate::verify_block_txs(&ledger.chain_id(), txs.clone(), |_| None);
    let ex = ledger.execute(&checked, time, height)?;
    let mut header = fx.header(height, tip.hash, time);
    ex.fill_header(&mut header);
    let block = chancery_core::block::Block { header, txs };
    let cert = fx.finalize(&block);
    ledger.apply(&block, &cert)
}
