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
                block: block.header.hash(),
            };
            Certificate {
                kind: VoteKind::Finalize,
                epoch: block.header.epoch,
                view: block.header.view,
                block: block.header.hash(),
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
