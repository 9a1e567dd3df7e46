//! `chancery demo --testnet DIR`: a stream of realistic records from every agency of a
//! local testnet, so that a newcomer sees a live ledger. Each agency's member key (every
//! role) registers assets, runs a whole procurement (tender, close, award, amendment,
//! contract, milestone, payments to the final one), grants data access, anchors documents,
//! and transfers and revokes, in the order the rules require. Every fifth round's
//! procurement is a selective tender above the testnet's open-tendering limit, so the
//! explorer shows a compliance flag.

use crate::submit::fresh_salt;
use crate::Outcome;
use anyhow::{anyhow, bail, Result};
use chancery_client::manifest::Manifest;
use chancery_client::types::BatchItem;
use chancery_client::Client;
use chancery_core::ids::{AgencyId, Amount, Currency, Date, Seq};
use chancery_core::record::*;
use chancery_core::suite::Suite;
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::{crypto::SecretKey, domain};
use std::path::PathBuf;
use std::time::Duration;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The testnet directory (with testnet.json).
    #[arg(long, default_value = "./testnet-data")]
    testnet: PathBuf,
    /// Rounds of records per agency (0 = until stopped).
    #[arg(long, default_value_t = 0)]
    rounds: u64,
    /// Number of the first round (record ids include it, so a second run must start
    /// after the rounds of the first).
    #[arg(long, default_value_t = 0)]
    from_round: u64,
    /// Pause between rounds, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pause_ms: u64,
}

struct Agency {
    id: AgencyId,
    key: SecretKey,
    seq: u64,
}

/// Timeout of one request to a node, in milliseconds.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;

/// The key's next sequence number, from the first node that answers.
fn next_seq(nodes: &[Client], key: &chancery_core::PublicKey) -> Result<u64> {
    let mut last = anyhow!("no node to ask");
    for node in nodes {
        match crate::submit::next_seq(node, key) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn doc(suite: Suite, title: &str, n: u64) -> DocumentRef {
    DocumentRef {
        hash: suite.hash(domain::DOCUMENT_HASH, format!("{title}-{n}").as_bytes()),
        kind: "approval".into(),
        title: title.into(),
        url: format!("https://docs.example.gov.cn/{n}"),
    }
}

fn today() -> Date {
    day(2026, 11, 27)
}

fn day(year: u16, month: u8, d: u8) -> Date {
    Date::new(year, month, d).unwrap_or(Date {
        year,
        month: 1,
        day: 1,
    })
}

/// Records in each round of each agency.
pub const RECORDS_PER_ROUND: usize = 13;

/// The records agency `a` submits in round `n` (`next` is another agency). Restricted
/// fields are sealed with fresh random salts.
fn round(suite: Suite, a: &AgencyId, next: &AgencyId, n: u64) -> Result<Vec<Record>> {
    let asset = format!("{a}-asset-{n}");
    let ocid = format!("ocds-chancery-{a}-{n}");
    let grant = format!("{a}-grant-{n}");
    let cny = |yuan: u64| Amount {
        minor: yuan * 100,
        currency: Currency::CNY,
    };
    let location_salt = fresh_salt()?;
    let constraints_salt = fresh_salt()?;
    // Every fifth procurement breaks the open-tendering standard (recorded and flagged).
    let (method, method_details, yuan) = if n % 5 == 4 {
        (ProcurementMethod::Selective, "邀请招标", 4_500_000)
    } else {
        (
            ProcurementMethod::Open,
            "公开招标",
            1_200_000 + 1_000 * (n % 50),
        )
    };
    let amended = yuan - 2_000;
    let first_payment = amended * 3 / 10;
    let step = |kind, title: &str, date, value| {
        Record::RecordImplementation(RecordImplementation {
            ocid: ocid.clone(),
            contract_id: "1".into(),
            kind,
            title: title.into(),
            date,
            value,
            documents: vec![doc(suite, title, n)],
        })
    };
    let items = vec![Item {
        id: "1".into(),
        description: "台式计算机".into(),
        classification_scheme: "GB/T 14885".into(),
        classification_id: "A02010104".into(),
        quantity: 200,
        unit: "台".into(),
        unit_value: Some(cny(yuan / 200)),
    }];
    let records = vec![
        Record::RegisterAsset(RegisterAsset {
            asset_id: asset.clone(),
            category: "A02010104".into(),
            name: "台式计算机".into(),
            spec_model: "联想 启天 M437".into(),
            quantity: 20 + n % 7,
            unit: "台".into(),
            acquisition_method: AcquisitionMethod::Purchase,
            acquisition_date: today(),
            original_value: cny(5_600 * (20 + n % 7)),
            funding_source: FundingSource::FiscalAppropriation,
            custodian: a.clone(),
            location: Restricted::seal(
                suite,
                &location_salt,
                &format!("{a} 办公楼 {} 层", 1 + n % 9),
            ),
            documents: vec![doc(suite, "资产入账凭证", n)],
        }),
        Record::PublishTender(PublishTender {
            ocid: ocid.clone(),
            title: "办公设备采购项目".into(),
            description: "台式计算机及配套显示器".into(),
            purchaser: a.clone(),
            method,
            method_details: method_details.into(),
            budget: cny(yuan + 20_000),
            items: items.clone(),
            publish_date: day(2026, 10, 9),
            submission_deadline: day(2026, 10, 30),
            documents: vec![doc(suite, "招标文件", n)],
        }),
        Record::CloseTender(CloseTender {
            ocid: ocid.clone(),
            date: day(2026, 10, 30),
            bids_received: 3 + (n % 4) as u32,
            bidders: Restricted::seal(suite, &fresh_salt()?, &Vec::<Supplier>::new()),
        }),
        Record::AwardProcurement(AwardProcurement {
            ocid: ocid.clone(),
            award_id: "1".into(),
            project_number: format!("{}-{n:04}", a.as_str().to_uppercase()),
            title: "办公设备采购项目".into(),
            description: "台式计算机及配套显示器".into(),
            purchaser: a.clone(),
            method,
            method_details: method_details.into(),
            suppliers: vec![Supplier {
                name: "北京华信科技有限公司".into(),
                credit_code: format!("91110108{:010}", 1_000_000 + n),
            }],
            value: cny(yuan),
            award_date: today(),
            status: AwardStatus::Active,
            items,
            documents: vec![doc(suite, "中标通知书", n)],
        }),
        Record::GrantDataAccess(GrantDataAccess {
            grant_id: grant.clone(),
            dataset_id: format!("{a}-dataset-{}", n % 3),
            grantor: a.clone(),
            grantee: next.clone(),
            actions: vec![Action::Read, Action::Use],
            purpose: "政务服务事项联合审批".into(),
            condition: SharingCondition::Conditional,
            valid_from: today(),
            valid_until: Date::new(2027, 12, 31).unwrap_or(today()),
            constraints: Restricted::seal(suite, &constraints_salt, &vec![]),
        }),
        Record::AnchorDocument(AnchorDocument {
            document: doc(suite, "年度资产报告", n),
            supports: RecordRef::Asset(asset.clone()),
        }),
        Record::AmendAward(AmendAward {
            ocid: ocid.clone(),
            award_id: "1".into(),
            rationale: "合同金额调整".into(),
            date: today(),
            value: Some(cny(amended)),
            suppliers: None,
            items: None,
            status: None,
            documents: vec![],
        }),
        Record::SignContract(SignContract {
            ocid: ocid.clone(),
            contract_id: "1".into(),
            award_id: "1".into(),
            title: "办公设备采购合同".into(),
            value: cny(amended),
            signed_date: day(2026, 11, 30),
            period_start: day(2026, 12, 1),
            period_end: day(2027, 3, 31),
            documents: vec![doc(suite, "采购合同", n)],
        }),
        step(
            ImplementationKind::Milestone,
            "到货验收",
            day(2026, 12, 15),
            None,
        ),
        step(
            ImplementationKind::Payment,
            "预付款（30%）",
            day(2026, 12, 20),
            Some(cny(first_payment)),
        ),
        Record::TransferAsset(TransferAsset {
            asset_id: asset,
            from: a.clone(),
            to: next.clone(),
            kind: TransferKind::Allocation,
            approval_document: suite
                .hash(domain::DOCUMENT_HASH, format!("transfer-{n}").as_bytes()),
            effective_date: today(),
        }),
        step(
            ImplementationKind::FinalPayment,
            "尾款",
            day(2027, 1, 20),
            Some(cny(amended - first_payment)),
        ),
        Record::RevokeGrant(RevokeGrant {
            grant_id: grant,
            reason: "项目结束".into(),
        }),
    ];
    debug_assert_eq!(records.len(), RECORDS_PER_ROUND);
    Ok(records)
}

/// Run the demo.
pub fn run(a: Args) -> Result<Outcome> {
    let m = Manifest::load(&a.testnet)?;
    let genesis = chancery_genesis::load_genesis(&m.genesis)?;
    let chain_id = genesis.chain_id();
    let nodes: Vec<Client> = m
        .nodes
        .iter()
        .map(|n| Client::with_timeout_ms(&n.api, Some(REQUEST_TIMEOUT_MS)))
        .collect();
    if nodes.is_empty() {
        bail!("no nodes in the manifest of {}", a.testnet.display());
    }
    let mut agencies = Vec::new();
    for k in &m.member_keys {
        let id: AgencyId = k
            .agency
            .parse()
            .map_err(|e| anyhow!("bad agency in manifest: {e}"))?;
        let key = chancery_genesis::read_key_file(&k.key)?.secret;
        let seq = next_seq(&nodes, &key.public())?;
        agencies.push(Agency { id, key, seq });
    }
    if agencies.len() < 2 {
        bail!("the demo needs at least two agencies with member keys in the manifest");
    }
    let mut n = a.from_round;
    loop {
        for i in 0..agencies.len() {
            let next = agencies[(i + 1) % agencies.len()].id.clone();
            let ag = &mut agencies[i];
            let mut txs = Vec::new();
            // The chain's suite is the signing key's.
            for record in round(ag.key.suite(), &ag.id, &next, n)? {
                let body = TxBody {
                    chain_id,
                    signer: ag.key.public(),
                    seq: Seq(ag.seq),
                    record,
                };
                ag.seq += 1;
                txs.push(hex::encode(Transaction::sign(body, &ag.key).to_bytes()));
            }
            // Spread submissions over the nodes; skip a node that does not answer (it may
            // have been stopped, e.g. in a fault test).
            let start = (i + n as usize) % nodes.len();
            let mut answer = None;
            for k in 0..nodes.len() {
                let target = &nodes[(start + k) % nodes.len()];
                if let Ok(a) = target.submit_batch(txs.clone()) {
                    answer = Some((target.base(), a));
                    break;
                }
            }
            let Some((target, a)) = answer else {
                let tried: Vec<&str> = nodes.iter().map(Client::base).collect();
                bail!(
                    "no node accepted the submission of {} (tried {})",
                    ag.id,
                    tried.join(", ")
                );
            };
            let refused: Vec<&BatchItem> = a
                .results
                .iter()
                .filter(|x| matches!(x, BatchItem::Refused { .. }))
                .collect();
            println!(
                "round {n}: {} submitted {} records to {target}{}",
                ag.id,
                txs.len(),
                if refused.is_empty() {
                    String::new()
                } else {
                    format!(", refused: {refused:?}")
                }
            );
            if !refused.is_empty() {
                // Resynchronise the sequence with the ledger before the next round.
                ag.seq = next_seq(&nodes, &ag.key.public())?;
            }
        }
        n += 1;
        if a.rounds != 0 && n >= a.from_round + a.rounds {
            return Ok(Outcome::Ok(format!(
                "demo finished after {} rounds",
                a.rounds
            )));
        }
        // A steady, human-paced stream; this is a demo, not a load test.
        std::thread::sleep(Duration::from_millis(a.pause_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sealed commitments (asset location, grant constraints) of one round.
    fn sealed(records: &[Record]) -> Vec<String> {
        records
            .iter()
            .filter_map(|r| match r {
                Record::RegisterAsset(a) => Some(serde_json::to_string(&a.location).unwrap()),
                Record::GrantDataAccess(g) => Some(serde_json::to_string(&g.constraints).unwrap()),
                _ => None,
            })
            .collect()
    }

    /// Every record of a round applies, in order, on a chain with the testnet's limit
    /// standards: the whole procurement follows its rules; the fifth round's is flagged.
    #[test]
    fn a_round_applies_in_full_and_every_fifth_procurement_is_flagged() {
        use chancery_core::state::ComplianceSubject;
        use chancery_ledger::testing::governed::Chain;
        let mut c = Chain::with_genesis(|g| {
            g.procurement_limits = chancery_genesis::testnet::testnet_procurement_limits()
        });
        c.index = true;
        let (a, b): (AgencyId, AgencyId) = ("mof".parse().unwrap(), "moe".parse().unwrap());
        for n in [3, 4] {
            let records = round(Suite::default(), &a, &b, n).unwrap();
            assert_eq!(records.len(), RECORDS_PER_ROUND);
            let txs = records
                .into_iter()
                .map(|r| {
                    let role = r.kind().required_role();
                    (c.fx.signer("mof", role).clone(), r)
                })
                .collect();
            let (outcomes, _) = c.block(txs);
            assert!(
                outcomes
                    .iter()
                    .all(|o| *o == chancery_core::block::Outcome::Applied),
                "round {n}: {outcomes:?}"
            );
            let ocid = format!("ocds-chancery-mof-{n}");
            let k = c.ledger.contract(&ocid, "1").unwrap().unwrap();
            assert_eq!(k.status, chancery_core::state::ContractStatus::Complete);
            assert_eq!(k.paid, k.value, "paid in full");
            let flags = c
                .ledger
                .compliance(&ComplianceSubject::Award(ocid, "1".into()))
                .unwrap()
                .unwrap()
                .flags;
            assert_eq!(flags.is_empty(), n != 4, "round {n}: {flags:?}");
        }
    }

    #[test]
    fn two_seals_of_the_same_value_differ() {
        let a: AgencyId = "mof".parse().unwrap();
        let b: AgencyId = "ndrc".parse().unwrap();
        let first = sealed(&round(Suite::default(), &a, &b, 1).unwrap());
        let second = sealed(&round(Suite::default(), &a, &b, 1).unwrap());
        assert_eq!(first.len(), 2);
        for (x, y) in first.iter().zip(&second) {
            assert_ne!(
                x, y,
                "the same value sealed twice gives the same commitment (salt derived, not random)"
            );
        }
    }
}
