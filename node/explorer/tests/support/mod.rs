//! A ledger with every kind of record for the explorer's tests: awards in three currencies
//! (CNY, USD, JPY), amended (value, suppliers, items, status) and cancelled, several
//! suppliers, items with and without classification and unit price, documents with and
//! without a URL; assets registered, transferred and disposed; grants active and revoked;
//! restricted fields sealed. Built on the ledger's test fixture and an in-memory store.
// Amounts are written in minor units with the yuan and fen groups apart (112_000_00).
#![allow(dead_code, clippy::inconsistent_digit_grouping)]

use chancery_api::handle::NodeStatus;
use chancery_api::{ApiLimits, NodeHandle};
use chancery_core::domain;
use chancery_core::record::*;
use chancery_core::tx::Transaction;
use chancery_core::{AgencyId, Amount, Currency, Date};
use chancery_ledger::testing::fixture::Fixture;
use chancery_ledger::testing::propose_and_apply;
use chancery_ledger::Ledger;
use chancery_storage::MemStore;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, watch};

/// The contracting process with two awards (CNY amended, USD amended twice).
pub const OCID_A: &str = "ocds-213czf-2026-0001";
/// The contracting process with one JPY award, cancelled.
pub const OCID_B: &str = "ocds-213czf-2026-0002";
/// A supplier on award A/1.
pub const SUPPLIER_NAME: &str = "北京华信科技有限公司";
/// Its credit code.
pub const SUPPLIER_CODE: &str = "91110108MA01ABCD3X";
/// The text hidden in the sealed location of asset `mof-asset-1`.
pub const SECRET_LOCATION: &str = "机要楼 3 层 secret-room";
/// A title with markup (must be escaped).
pub const NASTY_TITLE: &str = "<script>alert('x')</script> 办公桌椅";

pub fn ag(s: &str) -> AgencyId {
    AgencyId(s.into())
}
pub fn d(y: u16, m: u8, day: u8) -> Date {
    Date::new(y, m, day).expect("valid date")
}
pub fn money(minor: u64, c: &str) -> Amount {
    Amount {
        minor,
        currency: c.parse::<Currency>().expect("currency"),
    }
}
fn doc(title: &str, url: &str) -> DocumentRef {
    DocumentRef {
        hash: domain::DOCUMENT_HASH.hash(title.as_bytes()),
        kind: "awardNotice".into(),
        title: title.into(),
        url: url.into(),
    }
}
fn supplier(name: &str, code: &str) -> Supplier {
    Supplier {
        name: name.into(),
        credit_code: code.into(),
    }
}

/// Signs records with per-key sequence numbers and applies them block by block.
pub struct World {
    pub fx: Fixture,
    pub ledger: Arc<Ledger>,
    seqs: HashMap<String, u64>,
}

impl World {
    pub fn new() -> World {
        let fx = Fixture::new();
        let store = Arc::new(MemStore::new());
        let ledger = Arc::new(Ledger::open(store, &fx.genesis).expect("open ledger"));
        World {
            fx,
            ledger,
            seqs: HashMap::new(),
        }
    }

    pub fn over(ledger: Arc<Ledger>) -> World {
        World {
            fx: Fixture::new(),
            ledger,
            seqs: HashMap::new(),
        }
    }

    pub fn tx(&mut self, agency: &str, record: Record) -> Transaction {
        let role = record.kind().required_role();
        let key = self.fx.signer(agency, role).clone();
        let seq = self.seqs.entry(key.public().to_hex()).or_insert(0);
        let t = self.fx.tx(&key, *seq, record);
        *seq += 1;
        t
    }

    /// Apply one block; every transaction must be applied.
    pub fn block(&mut self, txs: Vec<Transaction>) {
        let applied = propose_and_apply(&self.ledger, &self.fx, txs).expect("apply block");
        let _ = applied;
    }

    pub fn handle(&self) -> NodeHandle {
        self.handle_with(self.fx.genesis.clone())
    }

    pub fn handle_with(&self, genesis: chancery_core::genesis::Genesis) -> NodeHandle {
        let (commands, _rx) = mpsc::channel(1);
        let status = NodeStatus {
            validators_live: 4,
            quorum: 3,
            validators: 4,
            started: true,
            ..NodeStatus::default()
        };
        let (_tx, status) = watch::channel(status);
        let (events, _) = broadcast::channel(16);
        NodeHandle {
            ledger: self.ledger.clone(),
            genesis: Arc::new(genesis),
            commands,
            status,
            events,
            limits: ApiLimits::default(),
            metrics: Arc::default(),
        }
    }
}

fn award(
    ocid: &str,
    id: &str,
    purchaser: &str,
    value: Amount,
    suppliers: Vec<Supplier>,
) -> AwardProcurement {
    AwardProcurement {
        ocid: ocid.into(),
        award_id: id.into(),
        project_number: format!("ZB-{ocid}-{id}"),
        title: format!("采购项目 {ocid}/{id}"),
        description: String::new(),
        purchaser: ag(purchaser),
        method: ProcurementMethod::Open,
        method_details: "公开招标".into(),
        suppliers,
        value,
        award_date: d(2026, 11, 20),
        status: AwardStatus::Active,
        items: vec![],
        documents: vec![],
    }
}

/// The workload.
pub fn world() -> World {
    let mut w = World::new();
    let salt = [7u8; 32];
    // Block 1: assets and the first award.
    let mut a1 = award(
        OCID_A,
        "1",
        "mof",
        money(112_000_00, "CNY"),
        vec![
            supplier(SUPPLIER_NAME, SUPPLIER_CODE),
            supplier("上海明远信息技术有限公司", "91310115MA1K4XYZ0B"),
        ],
    );
    a1.description = "台式计算机及配套显示器".into();
    a1.items = vec![
        Item {
            id: "1".into(),
            description: "台式计算机".into(),
            classification_scheme: "GB/T 14885".into(),
            classification_id: "A02010104".into(),
            quantity: 20,
            unit: "台".into(),
            unit_value: Some(money(5_600_00, "CNY")),
        },
        Item {
            id: "2".into(),
            description: "显示器".into(),
            classification_scheme: String::new(),
            classification_id: String::new(),
            quantity: 20,
            unit: String::new(),
            unit_value: None,
        },
    ];
    a1.documents = vec![
        doc("中标通知书", "https://docs.example.gov.cn/1"),
        doc("评标报告", ""),
    ];
    let txs = vec![
        w.tx(
            "mof",
            Record::RegisterAsset(RegisterAsset {
                asset_id: "mof-asset-1".into(),
                category: "A02010104".into(),
                name: "台式计算机".into(),
                spec_model: "启天 M437".into(),
                quantity: 20,
                unit: "台".into(),
                acquisition_method: AcquisitionMethod::Purchase,
                acquisition_date: d(2026, 11, 1),
                original_value: money(112_000_00, "CNY"),
                funding_source: FundingSource::FiscalAppropriation,
                custodian: ag("mof"),
                location: Restricted::seal(
                    chancery_core::suite::Suite::default(),
                    &salt,
                    &SECRET_LOCATION.to_string(),
                ),
                documents: vec![],
            }),
        ),
        w.tx(
            "moe",
            Record::RegisterAsset(RegisterAsset {
                asset_id: "moe-asset-1".into(),
                category: "A02030000".into(),
                name: "公务用车".into(),
                spec_model: "红旗 H5".into(),
                quantity: 1,
                unit: "辆".into(),
                acquisition_method: AcquisitionMethod::Purchase,
                acquisition_date: d(2020, 5, 1),
                original_value: money(180_000_00, "CNY"),
                funding_source: FundingSource::FiscalAppropriation,
                custodian: ag("moe"),
                location: Restricted::Open("教育部大院".into()),
                documents: vec![],
            }),
        ),
        w.tx("mof", Record::AwardProcurement(a1)),
    ];
    w.block(txs);
    // Block 2: a USD award in the same process, a JPY award in another, a nasty title.
    let mut a2 = award(
        OCID_A,
        "2",
        "mof",
        money(25_000_00, "USD"),
        vec![supplier("Acme Analytics Ltd", "91110000MA00ACME1Q")],
    );
    a2.status = AwardStatus::Pending;
    a2.method = ProcurementMethod::Direct;
    a2.method_details = String::new();
    let b1 = award(
        OCID_B,
        "1",
        "moe",
        money(3_500_000, "JPY"),
        vec![supplier("東京精密株式会社", "91440300MA5FTOKY9K")],
    );
    let mut c1 = award(
        "ocds-213czf-2026-0003",
        "1",
        "nhc",
        money(9_999_99, "CNY"),
        vec![supplier(SUPPLIER_NAME, SUPPLIER_CODE)],
    );
    c1.title = NASTY_TITLE.into();
    let txs = vec![
        w.tx("mof", Record::AwardProcurement(a2)),
        w.tx("moe", Record::AwardProcurement(b1)),
        w.tx("nhc", Record::AwardProcurement(c1)),
        w.tx(
            "mof",
            Record::GrantDataAccess(GrantDataAccess {
                grant_id: "mof-grant-1".into(),
                dataset_id: "mof-budget".into(),
                grantor: ag("mof"),
                grantee: ag("nhc"),
                actions: vec![Action::Read, Action::Use],
                purpose: "预算执行监督".into(),
                condition: SharingCondition::Conditional,
                valid_from: d(2026, 1, 1),
                valid_until: d(2099, 12, 31),
                constraints: Restricted::seal(
                    chancery_core::suite::Suite::default(),
                    &salt,
                    &vec![],
                ),
            }),
        ),
        w.tx(
            "moe",
            Record::GrantDataAccess(GrantDataAccess {
                grant_id: "moe-grant-1".into(),
                dataset_id: "moe-schools".into(),
                grantor: ag("moe"),
                grantee: ag("mof"),
                actions: vec![Action::Read],
                purpose: "教育经费统计".into(),
                condition: SharingCondition::Unconditional,
                valid_from: d(2026, 1, 1),
                valid_until: d(2099, 12, 31),
                constraints: Restricted::Open(vec![]),
            }),
        ),
    ];
    w.block(txs);
    // Block 3: amendments, a cancellation, a transfer, a disposal, a revocation.
    let txs = vec![
        w.tx(
            "mof",
            Record::AmendAward(AmendAward {
                ocid: OCID_A.into(),
                award_id: "1".into(),
                rationale: "合同金额调整".into(),
                date: d(2026, 11, 25),
                value: Some(money(110_000_00, "CNY")),
                suppliers: None,
                items: None,
                status: None,
                documents: vec![doc("变更协议", "https://docs.example.gov.cn/2")],
            }),
        ),
        w.tx(
            "mof",
            Record::AmendAward(AmendAward {
                ocid: OCID_A.into(),
                award_id: "2".into(),
                rationale: "确认成交".into(),
                date: d(2026, 11, 25),
                value: None,
                suppliers: Some(vec![
                    supplier("Acme Analytics Ltd", "91110000MA00ACME1Q"),
                    supplier("Beta Data LLC", "91110000MA00BETA2W"),
                ]),
                items: Some(vec![Item {
                    id: "svc".into(),
                    description: "数据分析服务".into(),
                    classification_scheme: "CPV".into(),
                    classification_id: "72300000".into(),
                    quantity: 1,
                    unit: "项".into(),
                    unit_value: Some(money(25_000_00, "USD")),
                }]),
                status: Some(AwardStatus::Active),
                documents: vec![],
            }),
        ),
        w.tx(
            "moe",
            Record::CancelAward(CancelAward {
                ocid: OCID_B.into(),
                award_id: "1".into(),
                reason: "供应商资格不符".into(),
                date: d(2026, 11, 26),
            }),
        ),
        w.tx(
            "mof",
            Record::TransferAsset(TransferAsset {
                asset_id: "mof-asset-1".into(),
                from: ag("mof"),
                to: ag("moe"),
                kind: TransferKind::Allocation,
                approval_document: domain::DOCUMENT_HASH.hash(b"approval"),
                effective_date: d(2026, 11, 26),
            }),
        ),
        w.tx(
            "moe",
            Record::RevokeGrant(RevokeGrant {
                grant_id: "moe-grant-1".into(),
                reason: "项目结束".into(),
            }),
        ),
    ];
    w.block(txs);
    // Block 4: a second amendment of A/2 (value) and a disposal.
    let txs = vec![
        w.tx(
            "mof",
            Record::AmendAward(AmendAward {
                ocid: OCID_A.into(),
                award_id: "2".into(),
                rationale: "Scope reduced".into(),
                date: d(2026, 11, 27),
                value: Some(money(21_500_50, "USD")),
                suppliers: None,
                items: None,
                status: None,
                documents: vec![],
            }),
        ),
        w.tx(
            "moe",
            Record::DisposeAsset(DisposeAsset {
                asset_id: "moe-asset-1".into(),
                method: DisposalMethod::Sale,
                approval_document: domain::DOCUMENT_HASH.hash(b"dispose"),
                date: d(2026, 11, 27),
                proceeds: Some(money(30_000_00, "CNY")),
                counterparty: Some(Restricted::seal(
                    chancery_core::suite::Suite::default(),
                    &salt,
                    &"张三".to_string(),
                )),
            }),
        ),
    ];
    w.block(txs);
    w
}

/// The process of the full-process workload.
pub const OCID_FULL: &str = "ocds-213czf-2026-0100";

/// A chain with limit standards and one procurement followed from tender to final payment
/// (a selective tender above the open-tendering limit, so it is flagged), plus a direct
/// award whose contract is terminated.
pub fn process_world() -> World {
    use chancery_core::procurement::ImplementationKind::*;
    use chancery_ledger::testing::process as p;
    let mut fx = Fixture::new();
    fx.genesis.procurement_limits = p::limits();
    let store = Arc::new(MemStore::new());
    let ledger = Arc::new(Ledger::open(store, &fx.genesis).expect("open ledger"));
    let mut w = World {
        fx,
        ledger,
        seqs: HashMap::new(),
    };
    let o = OCID_FULL;
    let close = match p::close(o, p::day(3, 22)) {
        Record::CloseTender(mut c) => {
            c.bidders = Restricted::Open(vec![Supplier {
                name: SUPPLIER_NAME.into(),
                credit_code: SUPPLIER_CODE.into(),
            }]);
            Record::CloseTender(c)
        }
        r => r,
    };
    let steps = [
        p::tender(o, "mof", ProcurementMethod::Selective, 5_000_000),
        close,
        p::award(
            o,
            "1",
            "mof",
            ProcurementMethod::Selective,
            4_800_000,
            p::day(3, 25),
        ),
        p::contract(o, "c1", "1", 4_800_000, p::day(4, 1)),
        p::step(o, "c1", Milestone, None, p::day(5, 1)),
        p::step(o, "c1", Payment, Some(2_000_000), p::day(5, 2)),
        p::amend(o, "c1", 4_900_000, p::day(6, 1)),
        p::step(o, "c1", FinalPayment, Some(2_900_000), p::day(9, 1)),
        p::award(
            "ocds-213czf-2026-0101",
            "1",
            "moe",
            ProcurementMethod::Direct,
            300_000,
            p::day(2, 1),
        ),
        p::contract("ocds-213czf-2026-0101", "c1", "1", 300_000, p::day(2, 2)),
        p::terminate("ocds-213czf-2026-0101", "c1", p::day(2, 20)),
    ];
    for r in steps {
        let agency = match &r {
            Record::AwardProcurement(a) => a.purchaser.as_str().to_string(),
            r if r.ocid() == Some("ocds-213czf-2026-0101") => "moe".into(),
            _ => "mof".into(),
        };
        let tx = w.tx(&agency, r);
        let applied = propose_and_apply(&w.ledger, &w.fx, vec![tx]).expect("apply block");
        assert_eq!(
            applied.outcomes,
            vec![chancery_core::block::Outcome::Applied],
            "the full-process workload applies"
        );
    }
    w
}

/// GET `uri` from the explorer `app`: the status and the body as text.
pub async fn get_text(app: &axum::Router, uri: &str) -> (u16, String) {
    use tower::ServiceExt;
    let r = app
        .clone()
        .oneshot(
            axum::http::Request::get(uri)
                .header("host", "explorer.test")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = r.status().as_u16();
    let b = axum::body::to_bytes(r.into_body(), 16 << 20).await.unwrap();
    (status, String::from_utf8(b.to_vec()).unwrap())
}

/// [`get_text`], which must answer 200; the body.
pub async fn ok_text(app: &axum::Router, uri: &str) -> String {
    let (s, b) = get_text(app, uri).await;
    assert_eq!(s, 200, "{uri}: {b}");
    b
}
