//! Fixed, realistic values: one of every record kind (examples in the style of Chinese
//! central-government registers), a small genesis, a signed transaction, a block header, a
//! finalization certificate and log entries. Everything is built deterministically from
//! fixed seeds, so `fixtures.rs` can pin the canonical bytes and hashes.
//!
//! Names, credit codes and document hashes are invented; any resemblance to a real
//! company's code is accidental.

use chancery_core::block::{txs_hash, BlockHeader, LogEntry, Outcome, ReasonCode};
use chancery_core::cert::{Certificate, IndexedSignature, VoteBody, VoteKind};
use chancery_core::crypto::SecretKey;
use chancery_core::domain;
use chancery_core::genesis::{Agency, ChainParams, Genesis, Member};
use chancery_core::governance::{Change, Threshold};
use chancery_core::record::*;
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::validator::{Validator, ValidatorSet};
use chancery_core::{
    AgencyId, Amount, ChainId, Currency, Date, Digest, Epoch, Height, Seq, TimestampMs, View,
};

/// A key from a label: the seed is the BLAKE3 hash of `chancery fixture key: LABEL`.
pub fn key(label: &str) -> SecretKey {
    let seed = blake3::hash(format!("chancery fixture key: {label}").as_bytes());
    SecretKey::from_seed(*seed.as_bytes())
}

/// A stand-in document hash: `H(DOCUMENT_HASH, label)`.
pub fn doc_hash(label: &str) -> Digest {
    domain::DOCUMENT_HASH.hash(label.as_bytes())
}

fn agency(id: &str) -> AgencyId {
    AgencyId(id.to_string())
}

fn date(year: u16, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

fn cny(yuan: u64, fen: u64) -> Amount {
    Amount {
        minor: yuan * 100 + fen,
        currency: Currency::CNY,
    }
}

/// A fixed 32-byte salt for sealed fields.
pub const SALT: [u8; 32] = [7u8; 32];

/// 财政部 registers 50 desktop computers; location sealed.
pub fn register_asset() -> RegisterAsset {
    RegisterAsset {
        asset_id: "mof-2026-A02010104-0001".into(),
        category: "A02010104".into(),
        name: "台式计算机".into(),
        spec_model: "联想 启天 M437，i5-12500/16GB/512GB SSD".into(),
        quantity: 50,
        unit: "台".into(),
        acquisition_method: AcquisitionMethod::Purchase,
        acquisition_date: date(2026, 3, 15),
        original_value: cny(249_500, 0),
        funding_source: FundingSource::FiscalAppropriation,
        custodian: agency("mof"),
        location: Restricted::seal(
            chancery_core::suite::Suite::default(),
            &SALT,
            &"北京市西城区三里河南三巷3号 财政部办公楼 B座 412 室".to_string(),
        ),
        documents: vec![
            DocumentRef {
                hash: doc_hash("财办〔2026〕18号 采购批复"),
                kind: "approval".into(),
                title: "关于购置办公设备的批复（财办〔2026〕18号）".into(),
                url: String::new(),
            },
            DocumentRef {
                hash: doc_hash("增值税专用发票 No.04417796"),
                kind: "invoice".into(),
                title: "增值税专用发票".into(),
                url: "https://example.gov.cn/mof/invoices/04417796.pdf".into(),
            },
        ],
    }
}

/// 财政部 allocates a vehicle to 国家统计局.
pub fn transfer_asset() -> TransferAsset {
    TransferAsset {
        asset_id: "mof-2019-A020305-0007".into(),
        from: agency("mof"),
        to: agency("nbs"),
        kind: TransferKind::Allocation,
        approval_document: doc_hash("财资〔2026〕41号 资产调拨批复"),
        effective_date: date(2026, 6, 1),
    }
}

/// A scrapped server sold for scrap value; buyer sealed.
pub fn dispose_asset() -> DisposeAsset {
    DisposeAsset {
        asset_id: "nbs-2015-A02010103-0112".into(),
        method: DisposalMethod::Scrapping,
        approval_document: doc_hash("国统字〔2026〕9号 报废处置批复"),
        date: date(2026, 9, 30),
        proceeds: Some(cny(1_200, 50)),
        counterparty: Some(Restricted::seal(
            chancery_core::suite::Suite::default(),
            &SALT,
            &"北京某再生资源回收有限公司".to_string(),
        )),
    }
}

fn supplier_a() -> Supplier {
    Supplier {
        name: "北京示例信息技术有限公司".into(),
        credit_code: "91110108MA01X8Y23K".into(),
    }
}

fn supplier_b() -> Supplier {
    Supplier {
        name: "上海示例软件股份有限公司".into(),
        credit_code: "91310115MA1K4P7Q0D".into(),
    }
}

/// 国家发展和改革委员会 awards a public tender in two lots.
pub fn award_procurement() -> AwardProcurement {
    AwardProcurement {
        ocid: "ocds-c4nc3r-ndrc-2026-0042".into(),
        award_id: "award-1".into(),
        project_number: "NDRC-ZB-2026-0042".into(),
        title: "国家发展改革委政务云平台运维服务采购项目".into(),
        description: "政务云平台 2026—2028 年度运维服务，含 7×24 小时值守与等保测评配合。".into(),
        purchaser: agency("ndrc"),
        method: ProcurementMethod::Open,
        method_details: "公开招标".into(),
        suppliers: vec![supplier_a(), supplier_b()],
        value: cny(3_860_000, 0),
        award_date: date(2026, 8, 12),
        status: AwardStatus::Active,
        items: vec![
            Item {
                id: "lot-1".into(),
                description: "政务云平台运维服务（第一包）".into(),
                classification_scheme: "CPV".into(),
                classification_id: "72514000".into(),
                quantity: 36,
                unit: "月".into(),
                unit_value: Some(cny(70_000, 0)),
            },
            Item {
                id: "lot-2".into(),
                description: "等级保护测评配合服务（第二包）".into(),
                classification_scheme: String::new(),
                classification_id: String::new(),
                quantity: 1,
                unit: "项".into(),
                unit_value: None,
            },
        ],
        documents: vec![DocumentRef {
            hash: doc_hash("中标公告 NDRC-ZB-2026-0042"),
            kind: "awardNotice".into(),
            title: "中标公告".into(),
            url: "https://example.gov.cn/ndrc/zbgg/2026-0042.html".into(),
        }],
    }
}

/// The award's value is reduced after negotiation.
pub fn amend_award() -> AmendAward {
    AmendAward {
        ocid: "ocds-c4nc3r-ndrc-2026-0042".into(),
        award_id: "award-1".into(),
        rationale: "经合同谈判，第二包服务范围调整，合同总价相应核减。".into(),
        date: date(2026, 9, 2),
        value: Some(cny(3_742_500, 0)),
        suppliers: None,
        items: None,
        status: None,
        documents: vec![DocumentRef {
            hash: doc_hash("合同变更协议 NDRC-ZB-2026-0042-01"),
            kind: "contractAmendment".into(),
            title: "合同变更协议".into(),
            url: String::new(),
        }],
    }
}

/// A different award is cancelled.
pub fn cancel_award() -> CancelAward {
    CancelAward {
        ocid: "ocds-c4nc3r-mohurd-2026-0107".into(),
        award_id: "award-1".into(),
        reason: "中标供应商放弃中标资格，依法重新组织采购。".into(),
        date: date(2026, 10, 9),
    }
}

/// 国家统计局 shares a dataset with 国家发展和改革委员会; constraints disclosed.
pub fn grant_data_access() -> GrantDataAccess {
    GrantDataAccess {
        grant_id: "nbs-grant-2026-0003".into(),
        dataset_id: "nbs:cpi-monthly-province".into(),
        grantor: agency("nbs"),
        grantee: agency("ndrc"),
        actions: vec![Action::Read, Action::Use, Action::Aggregate],
        purpose: "宏观经济运行监测与价格形势分析".into(),
        condition: SharingCondition::Conditional,
        valid_from: date(2026, 1, 1),
        valid_until: date(2026, 12, 31),
        constraints: Restricted::Open(vec![
            Constraint {
                left_operand: "spatial".into(),
                operator: Operator::IsAnyOf,
                right_operand: "110000,310000,440000".into(),
            },
            Constraint {
                left_operand: "count".into(),
                operator: Operator::Lteq,
                right_operand: "1000".into(),
            },
        ]),
    }
}

/// An older grant is revoked.
pub fn revoke_grant() -> RevokeGrant {
    RevokeGrant {
        grant_id: "nbs-grant-2025-0011".into(),
        reason: "共享用途已完成，依申请终止。".into(),
    }
}

/// An archivist anchors the signed contract of the award.
pub fn anchor_document() -> AnchorDocument {
    AnchorDocument {
        document: DocumentRef {
            hash: doc_hash("政府采购合同 NDRC-ZB-2026-0042"),
            kind: "contractSigned".into(),
            title: "政府采购合同（已签署）".into(),
            url: String::new(),
        },
        supports: RecordRef::Award("ocds-c4nc3r-ndrc-2026-0042".into(), "award-1".into()),
    }
}

/// 住房和城乡建设部 registers a procurement officer.
pub fn register_member() -> RegisterMember {
    RegisterMember {
        agency: agency("mohurd"),
        key: key("mohurd procurement officer").public(),
        name: "王芳（采购处）".into(),
        roles: vec![Role::ProcurementOfficer, Role::Archivist],
    }
}

/// 住房和城乡建设部 revokes a departed member's key.
pub fn revoke_member() -> RevokeMember {
    RevokeMember {
        agency: agency("mohurd"),
        key: key("mohurd former member").public(),
        reason: "人员调离，注销签名密钥。".into(),
    }
}

/// A proposal that a fifth agency join with a validator, one validator rotate its
/// consensus key, and the heartbeat change.
pub fn propose_change() -> ProposeChange {
    ProposeChange {
        proposal_id: "gov-2026-001".into(),
        changes: vec![
            Change::AddAgency {
                id: agency("mee"),
                name_zh: "生态环境部".into(),
                name_en: "Ministry of Ecology and Environment".into(),
                admin_keys: vec![key("mee admin").public()],
            },
            Change::AddValidator {
                agency: agency("mee"),
                name: "mee-1".into(),
                consensus_key: key("mee-1 consensus").public(),
                network_key: chancery_core::NetworkKey::of_ed25519(&key("mee-1 network").public())
                    .unwrap(),
                power: 1,
            },
            Change::RotateValidatorKeys {
                name: "ndrc-1".into(),
                consensus_key: Some(key("ndrc-1 consensus 2").public()),
                network_key: None,
            },
            Change::SetParams {
                params: ChainParams {
                    block_txs_max: 10_000,
                    block_bytes_max: 8 * 1024 * 1024,
                    delta_ms: 500,
                    heartbeat_ms: 1_000,
                    governance_threshold: Threshold {
                        numerator: 2,
                        denominator: 3,
                    },
                    epoch_delay_blocks: 2,
                },
            },
        ],
        deadline: TimestampMs(1_775_000_000_000),
        reason: domain::DOCUMENT_HASH.hash("关于生态环境部加入联盟的请示".as_bytes()),
    }
}

/// An approving vote on [`propose_change`].
pub fn vote() -> Vote {
    Vote {
        proposal_id: "gov-2026-001".into(),
        approve: true,
    }
}

/// One record of every kind, in `RecordKind::ALL` order.
pub fn records() -> Vec<Record> {
    vec![
        Record::RegisterAsset(register_asset()),
        Record::TransferAsset(transfer_asset()),
        Record::DisposeAsset(dispose_asset()),
        Record::AwardProcurement(award_procurement()),
        Record::AmendAward(amend_award()),
        Record::CancelAward(cancel_award()),
        Record::GrantDataAccess(grant_data_access()),
        Record::RevokeGrant(revoke_grant()),
        Record::AnchorDocument(anchor_document()),
        Record::RegisterMember(register_member()),
        Record::RevokeMember(revoke_member()),
        Record::ProposeChange(propose_change()),
        Record::Vote(vote()),
        Record::PublishTender(publish_tender()),
        Record::CloseTender(close_tender()),
        Record::SignContract(sign_contract()),
        Record::AmendContract(amend_contract()),
        Record::RecordImplementation(record_implementation()),
        Record::TerminateContract(terminate_contract()),
    ]
}

/// The tender of the NDRC award's process.
pub fn publish_tender() -> PublishTender {
    PublishTender {
        ocid: "ocds-c4nc3r-ndrc-2026-0042".into(),
        title: "国家发展改革委政务云平台运维服务采购项目".into(),
        description: "公开招标，两个包。".into(),
        purchaser: agency("ndrc"),
        method: ProcurementMethod::Open,
        method_details: "公开招标".into(),
        budget: cny(4_000_000, 0),
        items: award_procurement().items,
        publish_date: date(2026, 6, 20),
        submission_deadline: date(2026, 7, 15),
        documents: vec![DocumentRef {
            hash: doc_hash("招标文件 NDRC-ZB-2026-0042"),
            kind: "tenderNotice".into(),
            title: "招标公告及招标文件".into(),
            url: "https://example.gov.cn/ndrc/tenders/2026-0042.pdf".into(),
        }],
    }
}

/// Bids are in; bidders disclosed.
pub fn close_tender() -> CloseTender {
    CloseTender {
        ocid: "ocds-c4nc3r-ndrc-2026-0042".into(),
        date: date(2026, 7, 15),
        bids_received: 5,
        bidders: Restricted::Open(vec![supplier_a(), supplier_b()]),
    }
}

/// The contract of the NDRC award.
pub fn sign_contract() -> SignContract {
    SignContract {
        ocid: "ocds-c4nc3r-ndrc-2026-0042".into(),
        contract_id: "contract-1".into(),
        award_id: "award-1".into(),
        title: "政务云平台运维服务合同".into(),
        value: cny(3_860_000, 0),
        signed_date: date(2026, 8, 20),
        period_start: date(2026, 9, 1),
        period_end: date(2028, 8, 31),
        documents: vec![DocumentRef {
            hash: doc_hash("合同 NDRC-HT-2026-0042"),
            kind: "contractSigned".into(),
            title: "政务云平台运维服务合同（已签署）".into(),
            url: String::new(),
        }],
    }
}

/// The contract's period extended.
pub fn amend_contract() -> AmendContract {
    AmendContract {
        ocid: "ocds-c4nc3r-ndrc-2026-0042".into(),
        contract_id: "contract-1".into(),
        rationale: "增加等保测评复测服务，金额与期限相应调整。".into(),
        date: date(2026, 11, 2),
        value: Some(cny(3_900_000, 0)),
        period_end: Some(date(2028, 12, 31)),
        documents: vec![],
    }
}

/// The first payment.
pub fn record_implementation() -> RecordImplementation {
    RecordImplementation {
        ocid: "ocds-c4nc3r-ndrc-2026-0042".into(),
        contract_id: "contract-1".into(),
        kind: ImplementationKind::Payment,
        title: "首期款（30%）".into(),
        date: date(2026, 9, 10),
        value: Some(cny(1_158_000, 0)),
        documents: vec![DocumentRef {
            hash: doc_hash("付款凭证 2026-09-10"),
            kind: "invoice".into(),
            title: "国库集中支付凭证".into(),
            url: String::new(),
        }],
    }
}

/// A contract ended early.
pub fn terminate_contract() -> TerminateContract {
    TerminateContract {
        ocid: "ocds-c4nc3r-mohurd-2026-0107".into(),
        contract_id: "contract-1".into(),
        date: date(2026, 10, 20),
        reason: "供应商严重违约，经协商解除合同。".into(),
    }
}

/// The consortium's agencies: (id, Chinese name, English name).
pub const AGENCIES: [(&str, &str, &str); 4] = [
    ("mof", "财政部", "Ministry of Finance"),
    (
        "ndrc",
        "国家发展和改革委员会",
        "National Development and Reform Commission",
    ),
    (
        "mohurd",
        "住房和城乡建设部",
        "Ministry of Housing and Urban-Rural Development",
    ),
    ("nbs", "国家统计局", "National Bureau of Statistics"),
];

/// The validators' consensus keys, one per agency, in validator-set order.
pub fn validator_keys() -> Vec<SecretKey> {
    AGENCIES
        .iter()
        .map(|(id, _, _)| key(&format!("{id}-1 consensus")))
        .collect()
}

/// The asset officer of 财政部, who signs the fixture transaction.
pub fn mof_asset_officer() -> SecretKey {
    key("mof asset officer")
}

/// A four-agency genesis with one validator per agency (n = 4, f = 1).
pub fn genesis() -> Genesis {
    let consensus = validator_keys();
    Genesis {
        chain_name: "chancery-fixture".into(),
        genesis_time: date(2026, 1, 1).start_ms(),
        agencies: AGENCIES
            .iter()
            .map(|(id, zh, en)| Agency {
                id: agency(id),
                name_zh: (*zh).into(),
                name_en: (*en).into(),
                admin_keys: vec![key(&format!("{id} admin")).public()],
            })
            .collect(),
        members: vec![Member {
            agency: agency("mof"),
            key: mof_asset_officer().public(),
            name: "李明（资产管理处）".into(),
            roles: vec![Role::AssetOfficer, Role::Archivist],
        }],
        validators: ValidatorSet {
            epoch: Epoch(0),
            start_height: Height(1),
            validators: AGENCIES
                .iter()
                .zip(&consensus)
                .map(|((id, _, _), k)| Validator {
                    name: format!("{id}-1"),
                    agency: agency(id),
                    consensus_key: k.public(),
                    network_key: chancery_core::NetworkKey::of_ed25519(
                        &key(&format!("{id}-1 network")).public(),
                    )
                    .unwrap(),
                    power: 1,
                })
                .collect(),
        },
        // Spelled out, not `ChainParams::default()`: the pinned fixtures must not move
        // when a default does (the heartbeat default went from 50 to 5000 ms).
        params: ChainParams {
            block_txs_max: 10_000,
            block_bytes_max: 8 * 1024 * 1024,
            delta_ms: 500,
            heartbeat_ms: 50,
            governance_threshold: Threshold {
                numerator: 2,
                denominator: 3,
            },
            epoch_delay_blocks: 2,
        },
        crypto: Default::default(),
        procurement_limits: Default::default(),
    }
}

/// The chain id of [`genesis`].
pub fn chain_id() -> ChainId {
    genesis().chain_id()
}

/// The 财政部 asset officer's first transaction: registering the computers.
pub fn transaction() -> Transaction {
    let k = mof_asset_officer();
    Transaction::sign(
        TxBody {
            chain_id: chain_id(),
            signer: k.public(),
            seq: Seq(0),
            record: Record::RegisterAsset(register_asset()),
        },
        &k,
    )
}

/// Block time of the fixture block: 2026-03-16T02:00:00Z.
pub fn block_time() -> TimestampMs {
    TimestampMs(date(2026, 3, 16).start_ms().0 + 2 * 3_600_000)
}

/// The transaction's log entry.
pub fn log_entry() -> LogEntry {
    LogEntry {
        height: Height(1),
        time: block_time(),
        tx: transaction(),
        outcome: Outcome::Applied,
    }
}

/// The same transaction replayed later and rejected.
pub fn log_entry_rejected() -> LogEntry {
    LogEntry {
        height: Height(2),
        time: TimestampMs(block_time().0 + 1_000),
        tx: transaction(),
        outcome: Outcome::Rejected(ReasonCode::DuplicateTx),
    }
}

/// The first block's header. `log_root` and `state_root` are stand-in digests (the
/// fixture pins the header format, not the tree algorithms).
pub fn block_header() -> BlockHeader {
    let g = genesis();
    BlockHeader {
        chain_id: g.chain_id(),
        epoch: Epoch(0),
        height: Height(1),
        view: View(1),
        parent: Digest::ZERO,
        proposer: 1,
        time: block_time(),
        txs_hash: txs_hash(
            chancery_core::suite::Suite::default(),
            [transaction().hash()],
        ),
        tx_count: 1,
        log_size: 1,
        log_root: domain::LOG_LEAF.hash(&chancery_core::encode(&log_entry())),
        state_root: domain::STATE_NODE.hash(b"fixture state root"),
        validator_set: g.validators.hash(),
        next_validator_set: chancery_core::Digest::ZERO,
    }
}

/// Finalization of [`block_header`] by validators 0, 1 and 3 (a quorum of 3 of 4).
pub fn certificate() -> Certificate {
    let h = block_header();
    let body = VoteBody {
        chain_id: h.chain_id,
        epoch: h.epoch,
        view: h.view,
        kind: VoteKind::Finalize,
        block: h.hash(chancery_core::suite::Suite::default()),
    };
    let keys = validator_keys();
    Certificate {
        kind: VoteKind::Finalize,
        epoch: h.epoch,
        view: h.view,
        block: body.block,
        signatures: [0u16, 1, 3]
            .into_iter()
            .map(|index| IndexedSignature {
                index,
                signature: body.sign(&keys[usize::from(index)]),
            })
            .collect(),
    }
}
