//! Test fixtures (feature `testing`, or this crate's own unit tests): a small consortium
//! with keys and genesis ([`fixture::Fixture`]) and [`propose_and_apply`]. Not for
//! production: nothing outside tests and benchmarks enables the feature. The stores tests
//! run on are `chancery_storage::MemStore` and `chancery_storage::FaultyStore`.

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
    /// The Ed25519 network key of the same seed as [`key`].
    fn network_key(tag: &str) -> chancery_core::NetworkKey {
        chancery_core::NetworkKey::from_seed(
            *chancery_core::domain::DOCUMENT_HASH
                .hash(tag.as_bytes())
                .as_bytes(),
        )
    }

    /// A key derived from a name (deterministic).
    pub fn named_key(name: &str) -> SecretKey {
        key(name)
    }

    /// An asset registration: one laptop, id `id`, in the custody of agency `custodian`
    /// (the record most tests start from).
    pub fn register_asset(id: &str, custodian: &str) -> Record {
        use chancery_core::record::{AcquisitionMethod, FundingSource, RegisterAsset, Restricted};
        use chancery_core::{Amount, Currency, Date, Digest};
        Record::RegisterAsset(RegisterAsset {
            asset_id: id.into(),
            category: "A02010104".into(),
            name: "Laptop".into(),
            spec_model: "X1".into(),
            quantity: 1,
            unit: "台".into(),
            acquisition_method: AcquisitionMethod::Purchase,
            acquisition_date: Date::new(2026, 1, 5).unwrap_or(Date {
                year: 2026,
                month: 1,
                day: 5,
            }),
            original_value: Amount {
                minor: 800_000,
                currency: Currency::CNY,
            },
            funding_source: FundingSource::FiscalAppropriation,
            custodian: AgencyId(custodian.into()),
            location: Restricted::Sealed(Digest([7; 32])),
            documents: vec![],
        })
    }

    /// A document anchor named `tag` (document hash of `doc-{tag}`, title `report {tag}`):
    /// the cheapest record, for tests that only need many distinct transactions.
    pub fn anchor(tag: &str) -> Record {
        use chancery_core::record::{AnchorDocument, DocumentRef, RecordRef};
        Record::AnchorDocument(AnchorDocument {
            document: DocumentRef {
                hash: chancery_core::domain::DOCUMENT_HASH.hash(format!("doc-{tag}").as_bytes()),
                kind: "report".into(),
                title: format!("report {tag}"),
                url: String::new(),
            },
            supports: RecordRef::None,
        })
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
                            network_key: network_key(&format!("net-{i}")),
                            power: 1,
                        })
                        .collect(),
                },
                params: ChainParams {
                    block_txs_max: 20_000,
                    ..ChainParams::default()
                },
                crypto: Default::default(),
                procurement_limits: Default::default(),
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
                txs_hash: txs_hash(self.genesis.crypto, []),
                tx_count: 0,
                log_size: 0,
                log_root: chancery_core::Digest::ZERO,
                state_root: chancery_core::Digest::ZERO,
                validator_set: self.genesis.validators.hash(),
                next_validator_set: chancery_core::Digest::ZERO,
            }
        }

        /// A finalization certificate of the first three validators for `block`.
        pub fn finalize(&self, block: &Block) -> Certificate {
            self.finalize_by(block, &self.validators[..3])
        }

        /// A finalization certificate for `block` (of its header's epoch) signed by
        /// `signers`, the validators at indexes 0, 1, ... of that epoch's set.
        pub fn finalize_by(&self, block: &Block, signers: &[SecretKey]) -> Certificate {
            let body = VoteBody {
                chain_id: self.genesis.chain_id(),
                epoch: block.header.epoch,
                view: block.header.view,
                kind: VoteKind::Finalize,
                block: block.header.hash(self.genesis.crypto),
            };
            Certificate {
                kind: VoteKind::Finalize,
                epoch: block.header.epoch,
                view: block.header.view,
                block: block.header.hash(self.genesis.crypto),
                signatures: signers
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
/// apply it: what a proposer and then every node does. Then index it (what a node's
/// indexer does after the commit), so index queries see it at once.
pub fn propose_and_apply(
    ledger: &crate::Ledger,
    fx: &fixture::Fixture,
    txs: Vec<chancery_core::tx::Transaction>,
) -> Result<crate::Applied, crate::LedgerError> {
    let applied = propose_and_apply_unindexed(ledger, fx, txs)?;
    ledger.index_pending()?;
    Ok(applied)
}

/// [`propose_and_apply`] without indexing: the block is committed, its index entries are
/// left to [`crate::Ledger::index_pending`].
pub fn propose_and_apply_unindexed(
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

/// A ledger that runs governance to epoch changes in-process, one block at a time,
/// certifying each block with the keys of whatever set governs its height (what
/// `tests/governance.rs` and the proof, API and CLI tests across epochs need).
// A test fixture: a failed step is a failed test, so it panics with the reason.
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub mod governed {
    use super::fixture::{named_key, Fixture};
    use crate::{verify_block_txs, Ledger, LedgerError};
    use chancery_core::block::{Block, BlockHeader, Outcome};
    use chancery_core::cert::Certificate;
    use chancery_core::crypto::SecretKey;
    use chancery_core::genesis::ChainParams;
    use chancery_core::governance::{Change, GovernanceState, ProposalState};
    use chancery_core::record::{ProposeChange, Record, Role, Vote};
    use chancery_core::state::{StateKey, StateValue};
    use chancery_core::{AgencyId, Digest, Epoch, PublicKey, Seq, TimestampMs, View};
    use chancery_storage::{MemStore, Store};
    use std::collections::HashMap;
    use std::sync::Arc;

    /// The fixture's agencies, all of which must approve under the default threshold.
    pub const ALL: [&str; 3] = ["mof", "moe", "nhc"];

    /// A ledger over a [`Fixture`], applying one block at a time.
    pub struct Chain {
        /// Keys and genesis.
        pub fx: Fixture,
        /// The ledger's store.
        pub store: Arc<dyn Store>,
        /// The ledger.
        pub ledger: Arc<Ledger>,
        /// Consensus keys by validator name (old and new).
        pub keys: HashMap<String, SecretKey>,
        /// Admin keys of agencies added by tests.
        pub admins: HashMap<String, SecretKey>,
        /// Index every block after applying it (what a node's indexer does), so index
        /// queries see it at once.
        pub index: bool,
    }

    impl Chain {
        /// The fixture's chain with its default parameters.
        pub fn new() -> Chain {
            Chain::with_params(|_| {})
        }

        /// The fixture's chain with its genesis parameters edited.
        pub fn with_params(edit: impl FnOnce(&mut ChainParams)) -> Chain {
            Chain::with_genesis(|g| edit(&mut g.params))
        }

        /// The fixture's chain with its genesis edited (its keys stay the fixture's).
        pub fn with_genesis(edit: impl FnOnce(&mut chancery_core::genesis::Genesis)) -> Chain {
            let mut fx = Fixture::new();
            edit(&mut fx.genesis);
            let store: Arc<dyn Store> = Arc::new(MemStore::new());
            let ledger = Arc::new(Ledger::open(store.clone(), &fx.genesis).unwrap());
            let keys = fx
                .genesis
                .validators
                .validators
                .iter()
                .zip(&fx.validators)
                .map(|(v, k)| (v.name.clone(), k.clone()))
                .collect();
            Chain {
                fx,
                store,
                ledger,
                keys,
                admins: HashMap::new(),
                index: false,
            }
        }

        /// The admin key of `agency`.
        pub fn admin(&self, agency: &str) -> SecretKey {
            match self.admins.get(agency) {
                Some(k) => k.clone(),
                None => self.fx.signer(agency, Role::Admin).clone(),
            }
        }

        /// Execute and apply the next block with `txs` (each signed by its key with the
        /// key's next sequence number), certified by the set of its height; the outcomes
        /// and the block.
        pub fn block(&mut self, txs: Vec<(SecretKey, Record)>) -> (Vec<Outcome>, Block) {
            let signers: Vec<SecretKey> = {
                let set = self
                    .ledger
                    .validator_set_at(self.ledger.tip().height.next())
                    .unwrap();
                set.validators
                    .iter()
                    .map(|v| self.keys[&v.name].clone())
                    .collect()
            };
            self.block_signed_by(txs, &signers).unwrap()
        }

        /// [`Chain::block`] certified by `signers` (validators 0, 1, ... of the block's
        /// epoch).
        pub fn block_signed_by(
            &mut self,
            txs: Vec<(SecretKey, Record)>,
            signers: &[SecretKey],
        ) -> Result<(Vec<Outcome>, Block), LedgerError> {
            let mut next: HashMap<PublicKey, u64> = HashMap::new();
            let txs: Vec<_> = txs
                .into_iter()
                .map(|(k, r)| {
                    let pk = k.public();
                    let seq = *next.entry(pk).or_insert_with(|| {
                        match self.ledger.state_value(&StateKey::Seq(pk)).unwrap() {
                            Some(StateValue::Seq(Seq(s))) => s,
                            _ => 0,
                        }
                    });
                    next.insert(pk, seq + 1);
                    self.fx.tx(&k, seq, r)
                })
                .collect();
            let tip = self.ledger.tip();
            let height = tip.height.next();
            let time = TimestampMs(tip.time.0 + 1000);
            let checked = verify_block_txs(&self.ledger.chain_id(), txs.clone(), |_| None);
            let ex = self.ledger.execute(&checked, time, height)?;
            let mut header = self.fx.header(height, tip.hash, time);
            ex.fill_header(&mut header);
            let block = Block { header, txs };
            let cert = self.fx.finalize_by(&block, signers);
            let applied = self.ledger.apply(&block, &cert)?;
            if self.index {
                self.ledger.index_pending()?;
            }
            Ok((applied.outcomes, block))
        }

        /// One transaction in its own block; its outcome.
        pub fn one(&mut self, key: SecretKey, record: Record) -> Outcome {
            self.block(vec![(key, record)]).0[0]
        }

        /// Propose `changes` as `agency`'s admin, with a deadline an hour ahead.
        pub fn propose(&mut self, agency: &str, id: &str, changes: Vec<Change>) -> Outcome {
            let deadline = TimestampMs(self.ledger.tip().time.0 + 3_600_000);
            self.propose_until(agency, id, changes, deadline)
        }

        /// Propose with a deadline.
        pub fn propose_until(
            &mut self,
            agency: &str,
            id: &str,
            changes: Vec<Change>,
            deadline: TimestampMs,
        ) -> Outcome {
            let k = self.admin(agency);
            self.one(
                k,
                Record::ProposeChange(ProposeChange {
                    proposal_id: id.into(),
                    changes,
                    deadline,
                    reason: Digest([7; 32]),
                }),
            )
        }

        /// `agency`'s admin votes.
        pub fn vote(&mut self, agency: &str, id: &str, approve: bool) -> Outcome {
            let k = self.admin(agency);
            self.one(
                k,
                Record::Vote(Vote {
                    proposal_id: id.into(),
                    approve,
                }),
            )
        }

        /// Propose and have every listed agency approve; the outcome of the last vote.
        pub fn pass(&mut self, id: &str, changes: Vec<Change>, voters: &[&str]) -> Outcome {
            assert_eq!(self.propose(voters[0], id, changes), Outcome::Applied);
            let mut last = Outcome::Applied;
            for a in voters {
                last = self.vote(a, id, true);
            }
            last
        }

        /// Every agency of the fixture approves `id`; the outcome of the last vote.
        pub fn pass_votes(&mut self, id: &str) -> Outcome {
            let mut last = Outcome::Applied;
            for a in ALL {
                last = self.vote(a, id, true);
            }
            last
        }

        /// A proposal's current state.
        pub fn proposal(&self, id: &str) -> ProposalState {
            match self
                .ledger
                .state_value(&StateKey::Proposal(id.into()))
                .unwrap()
            {
                Some(StateValue::Proposal(p)) => p,
                other => panic!("proposal {id}: {other:?}"),
            }
        }

        /// The current governance state.
        pub fn governance(&self) -> GovernanceState {
            match self.ledger.state_value(&StateKey::Governance).unwrap() {
                Some(StateValue::Governance(g)) => g,
                other => panic!("governance: {other:?}"),
            }
        }

        /// `n` empty blocks.
        pub fn empty_blocks(&mut self, n: usize) -> Vec<Block> {
            (0..n).map(|_| self.block(vec![]).1).collect()
        }

        /// Run empty blocks until the next block is the boundary of the pending epoch.
        pub fn run_to_boundary(&mut self) {
            let pending = self.governance().pending.expect("a pending epoch");
            while self.ledger.tip().height.next().next() < pending.start_height {
                self.empty_blocks(1);
            }
        }

        /// The next block, a boundary, with `txs` (sequence numbers from the state), and
        /// `n` suffix headers past it (docs/governance.md); not applied. The certificate
        /// of the last suffix header (by the boundary's set) finalizes it.
        pub fn boundary_with_suffix(
            &mut self,
            txs: Vec<(SecretKey, u64, Record)>,
            n: usize,
        ) -> (Block, Vec<BlockHeader>, Certificate) {
            let txs: Vec<_> = txs
                .into_iter()
                .map(|(k, seq, r)| self.fx.tx(&k, seq, r))
                .collect();
            let tip = self.ledger.tip();
            let height = tip.height.next();
            let time = TimestampMs(tip.time.0 + 1000);
            let checked = verify_block_txs(&self.ledger.chain_id(), txs.clone(), |_| None);
            let ex = self.ledger.execute(&checked, time, height).unwrap();
            let mut header = self.fx.header(height, tip.hash, time);
            ex.fill_header(&mut header);
            assert!(
                header.is_boundary(),
                "height {height} does not end its epoch"
            );
            let mut suffix: Vec<BlockHeader> = Vec::new();
            for i in 0..n as u64 {
                let parent = suffix.last().unwrap_or(&header).clone();
                suffix.push(chancery_core::epoch::suffix_child(
                    self.fx.genesis.crypto,
                    &header,
                    &parent,
                    View(parent.view.0 + 1),
                    (i % 4) as u16,
                    TimestampMs(parent.time.0 + 1),
                ));
            }
            let signers: Vec<SecretKey> = self
                .ledger
                .validator_set_at(height)
                .unwrap()
                .validators
                .iter()
                .map(|v| self.keys[&v.name].clone())
                .collect();
            let certified = Block {
                header: suffix.last().unwrap_or(&header).clone(),
                txs: vec![],
            };
            let cert = self.fx.finalize_by(&certified, &signers);
            (Block { header, txs }, suffix, cert)
        }

        /// Rotate validator `name`'s consensus key to a fresh key (derived from `tag`),
        /// pass it with every agency's vote, and run blocks until the new epoch is in
        /// force; the new epoch.
        pub fn rotate_to_next_epoch(&mut self, name: &str, tag: &str) -> Epoch {
            let id = format!("rotate-{name}-{tag}");
            let key = named_key(&format!("{name}-{tag}"));
            let change = rotate(name, &key);
            assert_eq!(self.pass(&id, vec![change], &ALL), Outcome::Applied);
            let pending = self.governance().pending.expect("a pending epoch");
            while self.ledger.tip().height.next() < pending.start_height {
                self.empty_blocks(1);
            }
            self.keys.insert(name.to_string(), key);
            // The first block of the new epoch, certified by the new set.
            self.empty_blocks(1);
            pending.epoch
        }
    }

    impl Default for Chain {
        fn default() -> Self {
            Chain::new()
        }
    }

    /// A change adding agency `id` with one admin key.
    pub fn add_agency(id: &str, admin: &SecretKey) -> Change {
        Change::AddAgency {
            id: AgencyId(id.into()),
            name_zh: format!("{id} 部"),
            name_en: format!("Ministry {id}"),
            admin_keys: vec![admin.public()],
        }
    }

    /// A change rotating validator `name`'s consensus key to `key`.
    pub fn rotate(name: &str, key: &SecretKey) -> Change {
        Change::RotateValidatorKeys {
            name: name.into(),
            consensus_key: Some(key.public()),
            network_key: None,
        }
    }
}

/// Records of a contracting process, with plain defaults, for tests and benchmarks:
/// values in yuan of CNY, dates as (month, day) of 2026.
#[allow(clippy::expect_used)]
pub mod process {
    use chancery_core::procurement::{LimitRule, ProcurementLimits};
    use chancery_core::record::{
        AmendContract, AwardProcurement, AwardStatus, CloseTender, ImplementationKind, Item,
        ProcurementMethod, PublishTender, Record, RecordImplementation, Restricted, SignContract,
        Supplier, TerminateContract,
    };
    use chancery_core::{AgencyId, Amount, Currency, Date};

    /// A day of 2026.
    pub fn day(month: u8, day: u8) -> Date {
        Date::new(2026, month, day).expect("a real day of 2026")
    }

    /// `yuan` CNY.
    pub fn cny(yuan: u64) -> Amount {
        Amount {
            minor: yuan * 100,
            currency: Currency::CNY,
        }
    }

    /// One standard for every agency: open tendering from 4,000,000 yuan, no process
    /// needed below 1,000,000 yuan.
    pub fn limits() -> ProcurementLimits {
        ProcurementLimits {
            rules: vec![LimitRule {
                name: "central".into(),
                agencies: vec![],
                open_tender_from: cny(4_000_000),
                record_from: cny(1_000_000),
            }],
        }
    }

    fn supplier() -> Supplier {
        Supplier {
            name: "北京某科技有限公司".into(),
            credit_code: "91110108MA01ABCD2X".into(),
        }
    }

    /// A tender of `purchaser` published on 2026-03-01, bids due 2026-03-21.
    pub fn tender(ocid: &str, purchaser: &str, method: ProcurementMethod, yuan: u64) -> Record {
        Record::PublishTender(PublishTender {
            ocid: ocid.into(),
            title: format!("tender {ocid}"),
            description: String::new(),
            purchaser: AgencyId(purchaser.into()),
            method,
            method_details: String::new(),
            budget: cny(yuan),
            items: vec![Item {
                id: "1".into(),
                description: "servers".into(),
                classification_scheme: String::new(),
                classification_id: String::new(),
                quantity: 10,
                unit: "台".into(),
                unit_value: None,
            }],
            publish_date: day(3, 1),
            submission_deadline: day(3, 21),
            documents: vec![],
        })
    }

    /// Close the tender on `date` with three bids, bidders sealed.
    pub fn close(ocid: &str, date: Date) -> Record {
        Record::CloseTender(CloseTender {
            ocid: ocid.into(),
            date,
            bids_received: 3,
            bidders: Restricted::Sealed(chancery_core::Digest([5; 32])),
        })
    }

    /// An active award of `yuan` on `date`.
    pub fn award(
        ocid: &str,
        award_id: &str,
        purchaser: &str,
        method: ProcurementMethod,
        yuan: u64,
        date: Date,
    ) -> Record {
        Record::AwardProcurement(AwardProcurement {
            ocid: ocid.into(),
            award_id: award_id.into(),
            project_number: format!("P-{ocid}"),
            title: format!("award {award_id}"),
            description: String::new(),
            purchaser: AgencyId(purchaser.into()),
            method,
            method_details: String::new(),
            suppliers: vec![supplier()],
            value: cny(yuan),
            award_date: date,
            status: AwardStatus::Active,
            items: vec![],
            documents: vec![],
        })
    }

    /// A contract of `yuan` against `award_id`, signed on `date`, running to 2026-12-31.
    pub fn contract(
        ocid: &str,
        contract_id: &str,
        award_id: &str,
        yuan: u64,
        date: Date,
    ) -> Record {
        Record::SignContract(SignContract {
            ocid: ocid.into(),
            contract_id: contract_id.into(),
            award_id: award_id.into(),
            title: format!("contract {contract_id}"),
            value: cny(yuan),
            signed_date: date,
            period_start: date,
            period_end: day(12, 31),
            documents: vec![],
        })
    }

    /// A milestone or payment (`yuan` if given) on `date`.
    pub fn step(
        ocid: &str,
        contract_id: &str,
        kind: ImplementationKind,
        yuan: Option<u64>,
        date: Date,
    ) -> Record {
        Record::RecordImplementation(RecordImplementation {
            ocid: ocid.into(),
            contract_id: contract_id.into(),
            kind,
            title: format!("{kind:?}"),
            date,
            value: yuan.map(cny),
            documents: vec![],
        })
    }

    /// A new contract value on `date`.
    pub fn amend(ocid: &str, contract_id: &str, yuan: u64, date: Date) -> Record {
        Record::AmendContract(AmendContract {
            ocid: ocid.into(),
            contract_id: contract_id.into(),
            rationale: "scope extended".into(),
            date,
            value: Some(cny(yuan)),
            period_end: None,
            documents: vec![],
        })
    }

    /// Terminate on `date`.
    pub fn terminate(ocid: &str, contract_id: &str, date: Date) -> Record {
        Record::TerminateContract(TerminateContract {
            ocid: ocid.into(),
            contract_id: contract_id.into(),
            date,
            reason: "supplier defaulted".into(),
        })
    }
}
