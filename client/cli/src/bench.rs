//! `chancery bench`: a load generator that measures a running network over its real API.
//!
//! 1. **Signers.** Many fresh member keys are generated and registered through ordinary
//!    `RegisterMember` records signed by each agency's member key (which holds the admin
//!    role); the generator waits until every node knows them. Per-signer limits of the
//!    mempool (pending transactions, sequence window) then do not bound throughput.
//! 2. **Workload.** A realistic mix is pre-signed before the clock starts, per signer in
//!    rounds of seven records that depend on each other in the order the rules require:
//!    asset registration, procurement award, data-sharing grant, document anchor, award
//!    amendment, asset transfer, grant revocation. Record sizes vary the way real ones do
//!    (one to three suppliers and items, one or two documents, Chinese text).
//! 3. **Submission.** Each signer is bound to one node (so its sequence arrives in order);
//!    batches go to every validator through `POST /v1/transactions/batch`, at a fixed
//!    offered rate (`--rate`) or as fast as the in-flight bound allows (open loop). A
//!    transaction refused for load (`pool_full`, or its whole batch with 503 or 429) is
//!    counted as `refused` and submitted again after the wait the node gives; its signer's
//!    later transactions wait until it is answered, so the generator itself leaves no gap
//!    in a signer's sequence ([`Held`]).
//! 4. **Measurement.** Every node's event stream (`GET /v1/events`) reports finalized
//!    blocks; the first report of a height is that block's finality time, and the block's
//!    transaction hashes are read once (`GET /v1/blocks/{height}`). Each transaction's
//!    latency is finality time minus submission time. Throughput, blocks and resource use
//!    are counted over the steady window (after `--warmup`, until the end of submission).
//!
//! Everything is bounded: the duration, the pre-signed transactions (`--presign-txs-max`),
//! the transactions in flight (`--inflight-txs-max`), the queued batches per node and the
//! time spent waiting for stragglers (`--drain`).

use crate::Outcome;
use anyhow::{anyhow, bail, Context, Result};
use chancery_client::manifest::Manifest;
use chancery_client::types::BatchItem;
use chancery_client::{Client, NODE_DEFAULT};
use chancery_core::crypto::SecretKey;
use chancery_core::ids::{AgencyId, Amount, ChainId, Currency, Date, Seq, TxHash};
use chancery_core::record::*;
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::{domain, PublicKey};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most signers the generator registers (each costs one membership record).
pub const SIGNERS_MAX: usize = 4096;
/// Most transactions in one submitted batch (the API's own limit is 1,024 and 1 MiB).
pub const BATCH_TXS_MAX: usize = 1024;
/// Batches queued per node before the scheduler waits (backpressure, bounded memory).
pub const QUEUED_BATCHES_MAX: usize = 16;
/// Submission threads per node.
pub const WORKERS_PER_NODE: usize = 2;
/// Scheduler tick: batches are cut every this many milliseconds.
pub const TICK_MS: u64 = 10;
/// Finalized transactions whose status is read back after the run to count execution
/// rejections.
pub const SAMPLE_TXS_MAX: usize = 200;
/// Longest run accepted, in seconds.
pub const DURATION_S_MAX: u64 = 3600;
/// A transaction refused for load is submitted again after the wait the node gives
/// (`retry_after_s` of a `pool_full` refusal); without one (a whole batch refused with 503
/// or 429), after this many milliseconds.
pub const RETRY_AFTER_MS: u64 = 1_000;
/// Longest wait taken from a node's hint, in seconds (a node says at most 30).
pub const RETRY_AFTER_S_MAX: u64 = 60;
/// Most refused transactions waiting to be submitted again; beyond, a refusal is final.
pub const RETRY_TXS_MAX: usize = 100_000;
/// Longest submit-to-finality latency the histogram tells apart, in microseconds (an
/// hour); a longer one counts as this.
pub const LATENCY_US_MAX: u64 = 3_600_000_000;
/// Significant decimal digits of the latency histogram (0.1 % resolution).
const LATENCY_SIGFIGS: u8 = 3;
/// Member keys registered by one agency in one batch (below the mempool's per-signer
/// pending limit and sequence window).
const REGISTER_BATCH_MAX: usize = 1000;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A local testnet directory (with testnet.json): nodes, keys, pids and data dirs.
    #[arg(long, conflicts_with_all = ["nodes", "keys"])]
    testnet: Option<PathBuf>,
    /// A node's API base URL (repeat for every validator); needs --keys.
    #[arg(long = "node", requires = "keys")]
    nodes: Vec<String>,
    /// A directory of `<agency>-member.key` files (keys with the admin role).
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Offered load in transactions per second; without it, open loop (as fast as the
    /// in-flight bound allows).
    #[arg(long)]
    rate: Option<u64>,
    /// Seconds of submission.
    #[arg(long)]
    duration: u64,
    /// Seconds at the start excluded from the steady-state figures.
    #[arg(long)]
    warmup: Option<u64>,
    /// Seconds to wait after submission for transactions still in flight.
    #[arg(long, default_value_t = 20)]
    drain: u64,
    /// Fresh signers registered per agency.
    #[arg(long, default_value_t = 32)]
    signers_per_agency: usize,
    /// Transactions per submitted batch.
    #[arg(long, default_value_t = 256)]
    batch_txs: usize,
    /// Most transactions submitted but not yet finalized or refused.
    #[arg(long, default_value_t = 100_000)]
    inflight_txs_max: usize,
    /// Most transactions pre-signed (bounds memory: about 1.5 KB each).
    #[arg(long, default_value_t = 1_000_000)]
    presign_txs_max: usize,
    /// Print one JSON object with the results as the last line of stdout.
    #[arg(long)]
    json: bool,
    /// Also break each node's CPU per transaction down by part (its threads, by name:
    /// the consensus driver, signature checks, storage, the async runtime); needs the
    /// nodes' pids (--testnet) and Linux's /proc.
    #[arg(long)]
    profile: bool,
}

/// A node under load.
#[derive(Clone, Debug)]
struct Node {
    name: String,
    api: String,
    pid: Option<u32>,
    data_dir: Option<PathBuf>,
    validator: bool,
}

/// A signer: its key, agency and the node it submits to.
struct Signer {
    key: SecretKey,
    agency: AgencyId,
    next: AgencyId,
    node: usize,
}

/// One pre-signed transaction.
struct Signed {
    hash: TxHash,
    hex: String,
}

/// Each agency with its admin (member) key.
type Admins = Vec<(AgencyId, SecretKey)>;

/// Nodes and admin keys, from a testnet manifest or from `--node`/`--keys`.
fn load_setup(a: &Args) -> Result<(Vec<Node>, Admins)> {
    let (nodes, keys_dir_entries) = if let Some(dir) = &a.testnet {
        let m = Manifest::load(dir)?;
        let nodes: Vec<Node> = m
            .nodes
            .iter()
            .map(|n| Node {
                name: n.name.clone(),
                api: n.api.trim_end_matches('/').to_string(),
                pid: Some(n.pid).filter(|p| *p > 0),
                data_dir: Some(n.data_dir.clone()),
                validator: Manifest::is_validator(n),
            })
            .collect();
        let keys = m
            .member_keys
            .into_iter()
            .map(|k| (k.agency, k.key))
            .collect();
        (nodes, keys)
    } else {
        let Some(dir) = &a.keys else {
            bail!("give --testnet DIR, or --node URL (repeated) with --keys DIR");
        };
        if a.nodes.is_empty() {
            bail!("give --testnet DIR, or --node URL (repeated) with --keys DIR");
        }
        let nodes = a
            .nodes
            .iter()
            .map(|u| Node {
                name: u.clone(),
                api: u.trim_end_matches('/').to_string(),
                pid: None,
                data_dir: None,
                validator: true,
            })
            .collect();
        let mut keys = Vec::new();
        let rd = std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            let name = p.file_name().and_then(|s| s.to_str()).unwrap_or("");
            if let Some(agency) = name.strip_suffix("-member.key") {
                keys.push((agency.to_string(), p.clone()));
            }
        }
        (nodes, keys)
    };
    if nodes.is_empty() {
        bail!("no nodes to load");
    }
    let mut admins = Vec::new();
    for (agency, path) in keys_dir_entries {
        let id: AgencyId = agency
            .parse()
            .map_err(|e| anyhow!("bad agency id {agency:?} for key {}: {e}", path.display()))?;
        let key = chancery_genesis::read_key_file(&path)
            .with_context(|| format!("reading member key {}", path.display()))?
            .secret;
        admins.push((id, key));
    }
    if admins.len() < 2 {
        bail!(
            "the workload needs member keys (with the admin role) of at least two agencies, found {}",
            admins.len()
        );
    }
    Ok((nodes, admins))
}

/// The key seed of signer `i` of run `run`: a hash of both (the kernel's hash, so no extra
/// dependency). The run id is random, so each run's keys are new.
fn seed_of(run: &[u8; 8], i: u64) -> [u8; 32] {
    let mut m = b"chancery-bench-signer".to_vec();
    m.extend_from_slice(run);
    m.extend_from_slice(&i.to_be_bytes());
    *domain::DOCUMENT_HASH.hash(&m).as_bytes()
}

fn date(y: u16, m: u8, d: u8) -> Result<Date> {
    Date::new(y, m, d).ok_or_else(|| anyhow!("bad date {y}-{m}-{d}"))
}

fn cny(yuan: u64) -> Amount {
    Amount {
        minor: yuan * 100,
        currency: Currency::CNY,
    }
}

fn document(suite: chancery_core::suite::Suite, kind: &str, title: &str, key: &str) -> DocumentRef {
    DocumentRef {
        hash: suite.hash(domain::DOCUMENT_HASH, key.as_bytes()),
        kind: kind.into(),
        title: title.into(),
        url: format!("https://docs.example.gov.cn/bench/{key}"),
    }
}

/// Asset categories (GB/T 14885) with names, models and units, to vary records.
const ASSETS: [(&str, &str, &str, &str, u64); 4] = [
    ("A02010104", "台式计算机", "联想 启天 M437", "台", 5_600),
    (
        "A02010105",
        "便携式计算机",
        "华为 MateBook B5-430",
        "台",
        7_200,
    ),
    ("A02021003", "激光打印机", "奔图 P3305DN", "台", 2_300),
    ("A05010103", "办公桌", "钢木结构 1600×800", "张", 1_450),
];

/// The seven records of round `n` of signer `s` (of agency `a`, `b` another agency).
fn round(
    suite: chancery_core::suite::Suite,
    run: &str,
    s: usize,
    a: &AgencyId,
    b: &AgencyId,
    n: u64,
) -> Result<Vec<Record>> {
    let tag = format!("{run}-{s}-{n}");
    let asset = format!("{a}-bench-{tag}");
    let ocid = format!("ocds-bench-{a}-{tag}");
    let grant = format!("{a}-bgrant-{tag}");
    let today = date(2026, 11, 27)?;
    let award = award(suite, &ocid, &tag, a, s, n, today);
    let (_, _, _, _, price) = ASSETS[(n as usize + s) % ASSETS.len()];
    let amended_value = (award.value.minor / 100).saturating_sub(price).max(1);
    let first_payment = amended_value * 3 / 10;
    let step = |kind, title: &str, date, yuan| {
        Record::RecordImplementation(RecordImplementation {
            ocid: ocid.clone(),
            contract_id: "1".into(),
            kind,
            title: title.into(),
            date,
            value: Some(cny(yuan)),
            documents: vec![document(suite, "invoice", title, &format!("{tag}-{title}"))],
        })
    };
    let records = vec![
        Record::RegisterAsset(register_asset(suite, &asset, &tag, a, s, n, today)?),
        Record::PublishTender(PublishTender {
            ocid: ocid.clone(),
            title: award.title.clone(),
            description: award.description.clone(),
            purchaser: a.clone(),
            method: award.method,
            method_details: award.method_details.clone(),
            budget: award.value,
            items: award.items.clone(),
            publish_date: date(2026, 10, 9)?,
            submission_deadline: date(2026, 10, 30)?,
            documents: vec![document(
                suite,
                "tenderNotice",
                "招标文件",
                &format!("{tag}-tender"),
            )],
        }),
        Record::CloseTender(CloseTender {
            ocid: ocid.clone(),
            date: date(2026, 10, 30)?,
            bids_received: 3 + (n % 4) as u32,
            bidders: Restricted::seal(suite, &crate::submit::fresh_salt()?, &award.suppliers),
        }),
        Record::AwardProcurement(award),
        Record::GrantDataAccess(grant_data_access(suite, &grant, a, b, n, today)?),
        Record::AnchorDocument(AnchorDocument {
            document: document(suite, "report", "年度资产报告", &format!("{tag}-report")),
            supports: RecordRef::Asset(asset.clone()),
        }),
        Record::AmendAward(AmendAward {
            ocid: ocid.clone(),
            award_id: "1".into(),
            rationale: "合同金额调整（变更数量）".into(),
            date: today,
            value: Some(cny(amended_value)),
            suppliers: None,
            items: None,
            status: None,
            documents: vec![],
        }),
        Record::SignContract(SignContract {
            ocid: ocid.clone(),
            contract_id: "1".into(),
            award_id: "1".into(),
            title: "政府采购合同".into(),
            value: cny(amended_value),
            signed_date: date(2026, 11, 30)?,
            period_start: date(2026, 12, 1)?,
            period_end: date(2027, 11, 30)?,
            documents: vec![],
        }),
        step(
            ImplementationKind::Payment,
            "预付款",
            date(2026, 12, 20)?,
            first_payment,
        ),
        Record::TransferAsset(TransferAsset {
            asset_id: asset,
            from: a.clone(),
            to: b.clone(),
            kind: TransferKind::Allocation,
            approval_document: suite
                .hash(domain::DOCUMENT_HASH, format!("{tag}-transfer").as_bytes()),
            effective_date: today,
        }),
        step(
            ImplementationKind::FinalPayment,
            "尾款",
            date(2027, 1, 20)?,
            amended_value - first_payment,
        ),
        Record::RevokeGrant(RevokeGrant {
            grant_id: grant,
            reason: "项目结束".into(),
        }),
    ];
    debug_assert_eq!(records.len(), RECORDS_PER_ROUND);
    Ok(records)
}

/// Records per round of one signer: an asset registered and transferred, a whole
/// procurement (tender, close, award, amendment, contract, two payments), a grant issued
/// and revoked, a document anchored.
pub const RECORDS_PER_ROUND: usize = 12;

/// Units of the asset (and of each award item) in round `n` of signer `s`.
fn quantity(s: usize, n: u64) -> u64 {
    1 + (n + s as u64) % 30
}

/// The asset registered in round `n` of signer `s`, with a freshly salted location.
fn register_asset(
    suite: chancery_core::suite::Suite,
    asset: &str,
    tag: &str,
    a: &AgencyId,
    s: usize,
    n: u64,
    today: Date,
) -> Result<RegisterAsset> {
    // A fresh random salt: a salt derived from the (public) ids would let anyone
    // brute-force the sealed value from its commitment.
    let location_salt = crate::submit::fresh_salt()?;
    let (category, name, model, unit, price) = ASSETS[(n as usize + s) % ASSETS.len()];
    let qty = quantity(s, n);
    Ok(RegisterAsset {
        asset_id: asset.to_string(),
        category: category.into(),
        name: name.into(),
        spec_model: model.into(),
        quantity: qty,
        unit: unit.into(),
        acquisition_method: AcquisitionMethod::Purchase,
        acquisition_date: today,
        original_value: cny(price * qty),
        funding_source: FundingSource::FiscalAppropriation,
        custodian: a.clone(),
        location: Restricted::seal(
            suite,
            &location_salt,
            &format!("{a} 办公楼 {} 层 {} 室", 1 + n % 9, 100 + s),
        ),
        documents: vec![document(
            suite,
            "approval",
            "资产入账凭证",
            &format!("{tag}-asset"),
        )],
    })
}

/// The procurement award of round `n` of signer `s`: one to three suppliers and items,
/// one or two documents.
fn award(
    suite: chancery_core::suite::Suite,
    ocid: &str,
    tag: &str,
    a: &AgencyId,
    s: usize,
    n: u64,
    today: Date,
) -> AwardProcurement {
    let (_, name, _, _, price) = ASSETS[(n as usize + s) % ASSETS.len()];
    let suppliers: Vec<Supplier> = (0..1 + n % 3)
        .map(|k| Supplier {
            name: [
                "北京华信科技有限公司",
                "上海浦东办公设备有限公司",
                "广州南方数码股份有限公司",
            ][k as usize]
                .into(),
            credit_code: format!("9111010{k}{:010}", (n * 7 + s as u64) % 10_000_000_000),
        })
        .collect();
    let items: Vec<Item> = (0..1 + (n + 1) % 3)
        .map(|k| {
            let (category, name, _, unit, price) = ASSETS[(k as usize + s) % ASSETS.len()];
            Item {
                id: (k + 1).to_string(),
                description: name.into(),
                classification_scheme: "GB/T 14885".into(),
                classification_id: category.into(),
                quantity: quantity(s, n),
                unit: unit.into(),
                unit_value: Some(cny(price)),
            }
        })
        .collect();
    let value = items
        .iter()
        .map(|i| i.quantity * (price))
        .sum::<u64>()
        .max(1);
    let mut documents = vec![document(
        suite,
        "awardNotice",
        "中标通知书",
        &format!("{tag}-award"),
    )];
    if n % 2 == 0 {
        documents.push(document(
            suite,
            "contractSigned",
            "政府采购合同",
            &format!("{tag}-contract"),
        ));
    }
    AwardProcurement {
        ocid: ocid.to_string(),
        award_id: "1".into(),
        project_number: format!("{}-B{s}-{n:06}", a.as_str().to_uppercase()),
        title: format!("{name}采购项目"),
        description: format!("{name}及配套设备采购，含安装调试与三年质保服务"),
        purchaser: a.clone(),
        method: ProcurementMethod::Open,
        method_details: "公开招标".into(),
        suppliers,
        value: cny(value),
        award_date: today,
        status: AwardStatus::Active,
        items,
        documents,
    }
}

/// The data-sharing grant of round `n` from agency `a` to `b`, with freshly salted
/// constraints.
fn grant_data_access(
    suite: chancery_core::suite::Suite,
    grant: &str,
    a: &AgencyId,
    b: &AgencyId,
    n: u64,
    today: Date,
) -> Result<GrantDataAccess> {
    // Fresh, as the asset's location salt.
    let constraints_salt = crate::submit::fresh_salt()?;
    Ok(GrantDataAccess {
        grant_id: grant.to_string(),
        dataset_id: format!("{a}-dataset-{}", n % 5),
        grantor: a.clone(),
        grantee: b.clone(),
        actions: vec![Action::Read, Action::Use],
        purpose: "政务服务事项联合审批与数据核验".into(),
        condition: SharingCondition::Conditional,
        valid_from: today,
        valid_until: date(2027, 12, 31)?,
        constraints: Restricted::seal(suite, &constraints_salt, &vec![]),
    })
}

/// The figures of one run.
#[derive(Debug)]
struct Stats {
    target_tps: Option<u64>,
    offered_tps: f64,
    finalized_tps: f64,
    submitted: u64,
    finalized: u64,
    unfinalized: u64,
    /// Refusals for load (`pool_full`, or a batch refused with 503 or 429), each submitted
    /// again after the node's wait.
    refused: u64,
    /// Submit-to-finality latency of the transactions submitted in the steady window, in
    /// microseconds.
    latency: Histogram<u64>,
    rejected: BTreeMap<String, u64>,
    blocks_per_s: f64,
    tx_per_block: f64,
    cpu_s_per_tx: BTreeMap<String, f64>,
    disk_bytes_per_tx: BTreeMap<String, f64>,
    /// Per node, bytes sent to peers per finalized transaction (consensus, transactions).
    p2p_bytes_per_tx: BTreeMap<String, (f64, f64)>,
    tx_bytes_avg: f64,
    generator_cpu_s: f64,
    /// Idle share of the whole machine during the measurement, in percent.
    cpu_idle_pct: Option<f64>,
    /// With `--profile`: per node, CPU seconds per finalized transaction by part.
    profile: BTreeMap<String, BTreeMap<&'static str, f64>>,
}

/// The part of a node a thread works for, from its name (`/proc/PID/task/TID/comm`, at
/// most 15 bytes). The node names its threads for this: `consensus-driver`, `verify-N`
/// (gossip signature checks), `verify-block` (block checks in catch-up); RocksDB names
/// its background threads `rocksdb:*`; the async runtime's are `tokio-*`.
fn thread_part(comm: &str) -> &'static str {
    if comm.starts_with("consensus-driv") {
        "driver"
    } else if comm.starts_with("verify-block") {
        "verify_blocks"
    } else if comm.starts_with("verify-") {
        "verify_gossip"
    } else if comm.starts_with("rocksdb") {
        "storage"
    } else if comm.starts_with("tokio-") {
        "runtime"
    } else {
        "other"
    }
}

/// The name and CPU seconds (utime + stime, clock ticks of 1/100 s) of one
/// `/proc/PID/stat` or `/proc/PID/task/TID/stat` line. The name is in parentheses and may
/// hold spaces and parentheses itself: the fields start after the last ')'.
fn parse_task_stat(text: &str) -> Option<(&str, f64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?;
    let f: Vec<&str> = text.get(close + 2..)?.split_whitespace().collect();
    let ut: f64 = f.get(11)?.parse().ok()?;
    let st: f64 = f.get(12)?.parse().ok()?;
    Some((comm, (ut + st) / 100.0))
}

/// CPU seconds of a process's live threads by part ([`thread_part`]), plus the part
/// `exited`: what threads that are gone used (the process total minus the live threads).
fn parts_cpu_s(pid: u32) -> Option<BTreeMap<&'static str, f64>> {
    let mut parts: BTreeMap<&'static str, f64> = BTreeMap::new();
    let mut live = 0.0;
    for e in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let Ok(text) = std::fs::read_to_string(e.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        if let Some((comm, cpu)) = parse_task_stat(&text) {
            *parts.entry(thread_part(comm)).or_default() += cpu;
            live += cpu;
        }
    }
    let total = cpu_s(&pid.to_string())?;
    parts.insert("exited", (total - live).max(0.0));
    Some(parts)
}

/// utime + stime of a process, in seconds (clock ticks of 1/100 s, Linux's USER_HZ).
fn cpu_s(pid: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_task_stat(&s).map(|(_, cpu)| cpu)
}

/// The machine's CPU time from the first line of `/proc/stat`: (idle, total) in clock
/// ticks, idle counting `idle` and `iowait`. `None` if the text is not that line.
fn parse_proc_stat(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().next()?;
    let mut f = line.split_whitespace();
    if f.next()? != "cpu" {
        return None;
    }
    let ticks: Vec<u64> = f.map(|v| v.parse().ok()).collect::<Option<Vec<u64>>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is
    // already inside user and nice, so only the first eight add up to the total.
    if ticks.len() < 4 {
        return None;
    }
    let total = ticks.iter().take(8).sum();
    let idle = ticks[3] + ticks.get(4).copied().unwrap_or(0);
    Some((idle, total))
}

/// Idle share of the machine between two `/proc/stat` readings, in percent.
fn idle_pct(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> Option<f64> {
    let ((i0, t0), (i1, t1)) = (before?, after?);
    let total = t1.checked_sub(t0).filter(|t| *t > 0)?;
    Some(100.0 * i1.saturating_sub(i0) as f64 / total as f64)
}

/// Bytes under `dir` (recursively; bounded depth).
fn dir_bytes(dir: &Path, depth: u32) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for e in rd.flatten() {
        let Ok(md) = e.metadata() else { continue };
        if md.is_dir() {
            if depth < 8 {
                n += dir_bytes(&e.path(), depth + 1);
            }
        } else {
            n += md.len();
        }
    }
    n
}

/// Shared state between the submission, event and fetch threads.
struct Shared {
    /// The start of submission; every time below is an offset from it.
    t0: Instant,
    /// Submission time of every transaction in flight, by hash.
    inflight: Mutex<HashMap<TxHash, Duration>>,
    /// Refusals by code.
    rejected: Mutex<BTreeMap<String, u64>>,
    /// (submission time, finality time) of each finalized transaction of this run,
    /// as offsets from the start.
    done: Mutex<Vec<(Duration, Duration)>>,
    /// Finalized hashes (a small sample, for the execution-outcome check).
    sample: Mutex<Vec<TxHash>>,
    /// Blocks seen: height -> (first arrival offset, tx count).
    blocks: Mutex<BTreeMap<u64, (Duration, u64)>>,
    submitted: AtomicU64,
    /// Signers with transactions refused for load, waiting to submit them again.
    held: Mutex<Held>,
    /// Refusals for load (`pool_full`, or a batch refused with 503 or 429), each submitted
    /// again later.
    refused: AtomicU64,
    /// Submissions that were retries.
    resubmitted: AtomicU64,
    stop: AtomicBool,
}

/// What every step of a run shares: the arguments, the nodes and the run's identity.
struct Bench {
    a: Args,
    nodes: Vec<Node>,
    admins: Admins,
    /// Indices of the validators among `nodes`.
    validators: Vec<usize>,
    http: Client,
    chain_id: ChainId,
    /// Random per run: every identifier and key of the run derives from it.
    run_id: [u8; 8],
    /// The run id as printed (hex of its first four bytes).
    run: String,
    /// Seconds at the start excluded from the steady-state figures.
    warmup: u64,
}

impl Bench {
    /// Progress lines: to stderr when stdout carries the JSON result.
    fn say(&self, s: String) {
        if self.a.json {
            eprintln!("{s}");
        } else {
            println!("{s}");
        }
    }

    /// The validator that signer registrations and status reads go to.
    fn first_validator(&self) -> &str {
        &self.nodes[self.validators[0]].api
    }
}

/// The pre-signed workload: per signer, its transactions in sequence order.
struct Workload {
    per_signer: Vec<Vec<Signed>>,
    tx_bytes_avg: f64,
}

/// Resource counters at one moment.
struct Resources {
    /// CPU seconds of each node's process, where its pid is known.
    cpu_s: Vec<Option<f64>>,
    /// Bytes in each node's data directory, where it is known.
    disk_bytes: Vec<u64>,
    /// Bytes each node sent to its peers (consensus, transactions), where its status
    /// answers.
    p2p_bytes: Vec<Option<(u64, u64)>>,
    /// CPU seconds of this generator.
    generator_cpu_s: f64,
    /// The machine's (idle, total) CPU ticks, where `/proc/stat` is readable.
    machine: Option<(u64, u64)>,
    /// With `--profile`: each node's CPU seconds by part, where its pid is known.
    parts: Vec<Option<BTreeMap<&'static str, f64>>>,
}

impl Resources {
    fn read(nodes: &[Node], profile: bool) -> Self {
        Resources {
            parts: nodes
                .iter()
                .map(|n| n.pid.filter(|_| profile).and_then(parts_cpu_s))
                .collect(),
            cpu_s: nodes
                .iter()
                .map(|n| n.pid.and_then(|p| cpu_s(&p.to_string())))
                .collect(),
            disk_bytes: nodes
                .iter()
                .map(|n| n.data_dir.as_deref().map(|d| dir_bytes(d, 0)).unwrap_or(0))
                .collect(),
            p2p_bytes: {
                let http = agent(Some(REQUEST_TIMEOUT_MS));
                nodes.iter().map(|n| p2p_bytes(&http, &n.api)).collect()
            },
            generator_cpu_s: cpu_s("self").unwrap_or(0.0),
            machine: std::fs::read_to_string("/proc/stat")
                .ok()
                .and_then(|t| parse_proc_stat(&t)),
        }
    }
}

/// Run the benchmark: setup, signers, pre-signing, measurement, submission, drain, report.
pub fn run(a: Args) -> Result<Outcome> {
    let b = setup(a)?;
    // 1. Signers, registered through membership records.
    let signers = register_signers(&b)?;
    // 2. Pre-sign the workload: enough for the offered rate over the duration.
    let workload = presign(&b, &signers)?;
    // 3. Measurement threads: one event stream per node, one block reader.
    let shared = start_measurement(&b)?;
    let before = Resources::read(&b.nodes, b.a.profile);
    // 4. Submission: per node a bounded queue of batches and a few worker threads, fed by
    //    the scheduler until the duration is over; then a bounded wait for stragglers.
    let per_signer = Arc::new(workload.per_signer);
    let (queues, workers) = start_submitters(&b, &shared, &per_signer);
    let (submit_end, exhausted) = schedule(&b, &signers, &per_signer, &shared, &queues)?;
    drop(queues);
    for w in workers {
        let _ = w.join();
    }
    if exhausted {
        b.say(format!(
            "bench {}: the pre-signed workload ran out after {:.1} s (raise --presign-txs-max)",
            b.run,
            submit_end.as_secs_f64()
        ));
    }
    drain(&shared, b.a.drain);
    shared.stop.store(true, Ordering::Relaxed);
    // CPU over submission and drain, divided below by every transaction finalized in that
    // time: counting only the submission's CPU undercounts an overloaded run, whose
    // backlog is finalized (and paid for) during the drain.
    let after = Resources::read(&b.nodes, b.a.profile);
    // 5. Figures.
    let st = figures(
        &b,
        &shared,
        submit_end,
        &before,
        &after,
        workload.tx_bytes_avg,
    )?;
    Ok(report(&b, &st, submit_end))
}

/// Check the arguments, read the nodes and keys, and give the run its identity.
fn setup(a: Args) -> Result<Bench> {
    if a.duration == 0 || a.duration > DURATION_S_MAX {
        bail!(
            "--duration must be 1..={DURATION_S_MAX} seconds, found {}",
            a.duration
        );
    }
    if a.batch_txs == 0 || a.batch_txs > BATCH_TXS_MAX {
        bail!(
            "--batch-txs must be 1..={BATCH_TXS_MAX}, found {}",
            a.batch_txs
        );
    }
    let warmup = a.warmup.unwrap_or((a.duration / 5).min(10));
    if warmup >= a.duration {
        bail!(
            "--warmup ({warmup} s) must be shorter than --duration ({} s)",
            a.duration
        );
    }
    let (nodes, admins) = load_setup(&a)?;
    let validators: Vec<usize> = (0..nodes.len()).filter(|i| nodes[*i].validator).collect();
    if validators.is_empty() {
        bail!("no validator among the nodes");
    }
    let http = agent(Some(REQUEST_TIMEOUT_MS));
    let chain_id = chain_id(&http, &nodes[0].api)?;
    // A fresh run id: every identifier of this run is new, so runs can follow each other
    // on one chain.
    let mut run_id = [0u8; 8];
    getrandom::getrandom(&mut run_id).map_err(|e| anyhow!("no randomness: {e}"))?;
    let run = hex::encode(&run_id[..4]);
    Ok(Bench {
        a,
        nodes,
        admins,
        validators,
        http,
        chain_id,
        run_id,
        run,
        warmup,
    })
}

/// Register fresh signers through `RegisterMember` records signed by each agency's admin
/// key, and wait until every validator knows them.
fn register_signers(b: &Bench) -> Result<Vec<Signer>> {
    let per_agency =
        b.a.signers_per_agency
            .clamp(1, SIGNERS_MAX / b.admins.len().max(1));
    let per_agency = per_agency.min(REGISTER_BATCH_MAX);
    let mut signers = Vec::new();
    for (ai, (agency, admin)) in b.admins.iter().enumerate() {
        let first_seq = next_seq(&b.http, b.first_validator(), &admin.public())?
            .ok_or_else(|| anyhow!("the member key of {agency} is not a member"))?;
        let mut txs = Vec::new();
        for (k, seq) in (first_seq..).take(per_agency).enumerate() {
            let g = signers.len();
            // Signers are of the chain's suite, the admin's.
            let key = SecretKey::from_secret(admin.suite(), seed_of(&b.run_id, g as u64))
                .map_err(|e| anyhow!("signer {g}'s derived secret: {e}"))?;
            let body = TxBody {
                chain_id: b.chain_id,
                signer: admin.public(),
                seq: Seq(seq),
                record: Record::RegisterMember(RegisterMember {
                    agency: agency.clone(),
                    key: key.public(),
                    name: format!("bench {} signer {k}", b.run),
                    roles: vec![
                        Role::AssetOfficer,
                        Role::ProcurementOfficer,
                        Role::DataSteward,
                        Role::Archivist,
                    ],
                }),
            };
            txs.push(hex::encode(Transaction::sign(body, admin).to_bytes()));
            signers.push(Signer {
                key,
                agency: agency.clone(),
                next: b.admins[(ai + 1) % b.admins.len()].0.clone(),
                node: b.validators[g % b.validators.len()],
            });
        }
        for chunk in txs.chunks(b.a.batch_txs) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let res = submit(&b.http, b.first_validator(), &refs);
            match res.iter().find(|a| **a != Answer::Admitted) {
                Some(Answer::Refused(code)) => {
                    bail!("registering signers of {agency} was refused: {code}")
                }
                Some(_) => bail!("registering signers of {agency} was refused for load"),
                None => {}
            }
        }
    }
    b.say(format!(
        "bench {}: registering {} signers ({} agencies x {per_agency})",
        b.run,
        signers.len(),
        b.admins.len()
    ));
    await_members(b, &signers)?;
    Ok(signers)
}

/// Wait (at most 120 s) until every validator knows every signer.
fn await_members(b: &Bench, signers: &[Signer]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    for s in signers {
        for &v in &b.validators {
            loop {
                if next_seq(&b.http, &b.nodes[v].api, &s.key.public())?.is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "signer {} is not a member on {} after 120 s",
                        s.key.public(),
                        b.nodes[v].name
                    );
                }
                std::thread::sleep(Duration::from_millis(100)); // polling another process
            }
        }
    }
    Ok(())
}

/// Sign the workload before the clock starts, on a few threads: enough rounds per signer
/// for the offered rate over the duration (bounded by `--presign-txs-max`).
fn presign(b: &Bench, signers: &[Signer]) -> Result<Workload> {
    let want = match b.a.rate {
        Some(r) => r.saturating_mul(b.a.duration) as usize,
        None => 30_000usize.saturating_mul(b.a.duration as usize),
    }
    .min(b.a.presign_txs_max)
    .max(1);
    let per_signer_rounds = want.div_ceil(signers.len() * RECORDS_PER_ROUND).max(1) as u64;
    b.say(format!(
        "bench {}: pre-signing {} transactions ({per_signer_rounds} rounds of {RECORDS_PER_ROUND} records x {} signers)",
        b.run,
        per_signer_rounds * RECORDS_PER_ROUND as u64 * signers.len() as u64,
        signers.len()
    ));
    let sign_start = Instant::now();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let mut all: Vec<(usize, Vec<Signed>, u64)> = Vec::new();
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let chunk: Vec<(usize, &Signer)> = signers
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % threads == t)
                    .collect();
                scope.spawn(move || -> Result<Vec<(usize, Vec<Signed>, u64)>> {
                    chunk
                        .into_iter()
                        .map(|(i, s)| {
                            let (v, bytes) = sign_rounds(b, i, s, per_signer_rounds)?;
                            Ok((i, v, bytes))
                        })
                        .collect()
                })
            })
            .collect();
        for h in handles {
            all.extend(
                h.join()
                    .map_err(|_| anyhow!("a signing thread panicked"))??,
            );
        }
        Ok(())
    })?;
    all.sort_by_key(|x| x.0);
    let raw_bytes: u64 = all.iter().map(|x| x.2).sum();
    let per_signer: Vec<Vec<Signed>> = all.into_iter().map(|x| x.1).collect();
    let presigned: usize = per_signer.iter().map(Vec::len).sum();
    let tx_bytes_avg = raw_bytes as f64 / presigned.max(1) as f64;
    b.say(format!(
        "bench {}: signed {presigned} transactions in {:.1} s, {tx_bytes_avg:.0} bytes each on average",
        b.run,
        sign_start.elapsed().as_secs_f64()
    ));
    Ok(Workload {
        per_signer,
        tx_bytes_avg,
    })
}

/// The transactions of `rounds` rounds of signer `i`, in sequence order, and their bytes.
fn sign_rounds(b: &Bench, i: usize, s: &Signer, rounds: u64) -> Result<(Vec<Signed>, u64)> {
    let mut v = Vec::new();
    let mut bytes = 0u64;
    let mut seq = 0u64;
    for n in 0..rounds {
        // The chain's suite is the signing key's.
        for record in round(s.key.suite(), &b.run, i, &s.agency, &s.next, n)? {
            let body = TxBody {
                chain_id: b.chain_id,
                signer: s.key.public(),
                seq: Seq(seq),
                record,
            };
            seq += 1;
            let tx = Transaction::sign(body, &s.key);
            let raw = tx.to_bytes();
            bytes += raw.len() as u64;
            v.push(Signed {
                hash: s.key.suite().hash(domain::TX_HASH, &raw),
                hex: hex::encode(&raw),
            });
        }
    }
    Ok((v, bytes))
}

/// Start the clock and the measurement threads: one event stream per node, one block
/// reader that settles the transactions in flight.
fn start_measurement(b: &Bench) -> Result<Arc<Shared>> {
    let start_height = status_height(&b.http, b.first_validator())?;
    let shared = Arc::new(Shared {
        t0: Instant::now(),
        inflight: Mutex::new(HashMap::new()),
        rejected: Mutex::new(BTreeMap::new()),
        done: Mutex::new(Vec::new()),
        sample: Mutex::new(Vec::new()),
        blocks: Mutex::new(BTreeMap::new()),
        submitted: AtomicU64::new(0),
        held: Mutex::new(Held::default()),
        refused: AtomicU64::new(0),
        resubmitted: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let (ev_tx, ev_rx) = mpsc::sync_channel::<(u64, usize, Duration, Option<Vec<TxHash>>)>(4096);
    for (ni, n) in b.nodes.iter().enumerate() {
        let api = n.api.clone();
        let ev_tx = ev_tx.clone();
        let shared = shared.clone();
        std::thread::spawn(move || event_stream(&api, ni, &ev_tx, &shared));
    }
    drop(ev_tx);
    {
        let shared = shared.clone();
        let apis: Vec<String> = b.nodes.iter().map(|n| n.api.clone()).collect();
        std::thread::spawn(move || block_reader(&apis, start_height, ev_rx, &shared));
    }
    Ok(shared)
}

/// The pre-signed transaction at index `k`, which encodes (signer, position) as
/// `signer << 32 | position`.
fn signed_at(per_signer: &[Vec<Signed>], k: usize) -> &Signed {
    &per_signer[k >> 32][k & 0xffff_ffff]
}

type BatchQueue = mpsc::SyncSender<Vec<usize>>;

/// Per node a bounded queue of batches and `WORKERS_PER_NODE` threads submitting them.
fn start_submitters(
    b: &Bench,
    shared: &Arc<Shared>,
    per_signer: &Arc<Vec<Vec<Signed>>>,
) -> (Vec<BatchQueue>, Vec<std::thread::JoinHandle<()>>) {
    let mut queues = Vec::new();
    let mut workers = Vec::new();
    for n in &b.nodes {
        let (tx, rx) = mpsc::sync_channel::<Vec<usize>>(QUEUED_BATCHES_MAX);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..WORKERS_PER_NODE {
            let rx = rx.clone();
            let api = n.api.clone();
            let shared = shared.clone();
            let per_signer = per_signer.clone();
            workers.push(std::thread::spawn(move || {
                submitter(&api, &rx, &shared, &per_signer)
            }));
        }
        queues.push(tx);
    }
    (queues, workers)
}

/// One submission thread of a node: takes batches off the node's queue until it closes,
/// records each transaction's first submission time, and sorts the answers ([`Held`]).
fn submitter(
    api: &str,
    rx: &Mutex<mpsc::Receiver<Vec<usize>>>,
    shared: &Shared,
    per_signer: &[Vec<Signed>],
) {
    let http = agent(Some(REQUEST_TIMEOUT_MS));
    loop {
        let batch = match rx.lock() {
            Ok(r) => match r.recv() {
                Ok(b) => b,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let txs: Vec<&Signed> = batch.iter().map(|&k| signed_at(per_signer, k)).collect();
        let now = shared.t0.elapsed();
        if let Ok(mut m) = shared.inflight.lock() {
            for t in &txs {
                // A retry keeps its first submission time: latency counts from when the
                // client first sent it.
                m.entry(t.hash).or_insert(now);
            }
        }
        let hexes: Vec<&str> = txs.iter().map(|t| t.hex.as_str()).collect();
        let answers = submit(&http, api, &hexes);
        shared
            .submitted
            .fetch_add(txs.len() as u64, Ordering::Relaxed);
        let now = shared.t0.elapsed();
        let (refused, later) = match shared.held.lock() {
            Ok(mut held) => held.sort_answers(&batch, answers, now),
            Err(_) => return,
        };
        shared.refused.fetch_add(later, Ordering::Relaxed);
        let refused = refused
            .into_iter()
            .map(|(k, code)| (signed_at(per_signer, k).hash, code))
            .collect();
        count_refusals(refused, shared);
    }
}

/// What a node answered for one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    /// Admitted to its pool.
    Admitted,
    /// Refused for load: submit again after this wait.
    Later(Duration),
    /// Refused for good, with the code.
    Refused(String),
}

/// One signer with transactions refused for load.
#[derive(Debug, Default)]
struct HeldSigner {
    /// Refused transactions waiting to be submitted again (`signer << 32 | position`).
    refused: BTreeSet<usize>,
    /// When they may go, as an offset from the start.
    due: Duration,
    /// Submitted again, not answered yet.
    sending: BTreeSet<usize>,
}

/// Signers whose transactions a node refused for load. Their refused transactions go again
/// once the node's wait is over, lowest position first, and none of the signer's later
/// transactions is sent until every one of them is answered: so the generator leaves no gap
/// in a signer's sequence (past its backlog bound a node refuses a signer's tail but admits
/// a transaction that fills a gap).
#[derive(Debug, Default)]
struct Held {
    signers: BTreeMap<usize, HeldSigner>,
    /// Refused transactions waiting, over all signers (at most `RETRY_TXS_MAX`).
    waiting: usize,
}

impl Held {
    /// Whether signer `s` waits for refused transactions.
    fn holds(&self, s: usize) -> bool {
        self.signers.contains_key(&s)
    }

    /// Record one batch's answers (`batch[i]` answered `answers[i]`, at `now`): refusals for
    /// load wait, the rest settle. Returns the final refusals and how many were refused for
    /// load.
    fn sort_answers(
        &mut self,
        batch: &[usize],
        answers: Vec<Answer>,
        now: Duration,
    ) -> (Vec<(usize, String)>, u64) {
        let mut refused = Vec::new();
        let mut later = 0u64;
        for (&k, a) in batch.iter().zip(answers) {
            match a {
                Answer::Admitted => self.settle(k),
                Answer::Later(wait) => {
                    later += 1;
                    if !self.refuse(k, now + wait) {
                        refused.push((k, "pool_full (retries past RETRY_TXS_MAX)".to_string()));
                    }
                }
                Answer::Refused(code) => {
                    self.settle(k);
                    refused.push((k, code));
                }
            }
        }
        (refused, later)
    }

    /// `k` was refused for load: it waits until `due`. False (given up) past
    /// `RETRY_TXS_MAX` waiting.
    fn refuse(&mut self, k: usize, due: Duration) -> bool {
        if self.waiting >= RETRY_TXS_MAX {
            self.settle(k);
            return false;
        }
        let s = self.signers.entry(k >> 32).or_default();
        s.sending.remove(&k);
        if s.refused.insert(k) {
            self.waiting += 1;
        }
        s.due = s.due.max(due);
        true
    }

    /// `k` was answered for good (admitted or refused): a signer with nothing left to send
    /// again is free.
    fn settle(&mut self, k: usize) {
        let signer = k >> 32;
        if let Some(s) = self.signers.get_mut(&signer) {
            s.sending.remove(&k);
            if s.sending.is_empty() && s.refused.is_empty() {
                self.signers.remove(&signer);
            }
        }
    }

    /// The refused transactions due at `now`, per signer lowest position first, of signers
    /// with none of them still unanswered; they are being sent from now on.
    fn due(&mut self, now: Duration) -> Vec<usize> {
        let mut out = Vec::new();
        for s in self.signers.values_mut() {
            if s.sending.is_empty() && !s.refused.is_empty() && s.due <= now {
                let ks = std::mem::take(&mut s.refused);
                self.waiting -= ks.len();
                s.sending.extend(ks.iter().copied());
                out.extend(ks);
            }
        }
        out
    }
}

/// Take refused transactions out of flight and count them by code.
fn count_refusals(refused: Vec<(TxHash, String)>, shared: &Shared) {
    if refused.is_empty() {
        return;
    }
    if let Ok(mut m) = shared.inflight.lock() {
        for (h, _) in &refused {
            m.remove(h);
        }
    }
    if let Ok(mut r) = shared.rejected.lock() {
        for (_, c) in refused {
            *r.entry(c).or_default() += 1;
        }
    }
}

/// Which pre-signed transaction each signer submits next, and how many were cut so far.
struct Cursor {
    /// Per signer, the position of its next transaction.
    next: Vec<usize>,
    /// The signer the next round-robin pass starts with.
    next_signer: usize,
    /// Fresh transactions cut so far (retries excluded).
    cut: u64,
}

impl Cursor {
    /// Cut up to `want` fresh transactions, round-robin over the signers not `held`, into
    /// each signer's node's batch; true when every signer's transactions are used up.
    fn take(
        &mut self,
        want: u64,
        signers: &[Signer],
        per_signer: &[Vec<Signed>],
        per_node: &mut [Vec<usize>],
        held: &Held,
    ) -> bool {
        let mut taken = 0u64;
        let mut idle_signers = 0usize;
        while taken < want && idle_signers < signers.len() {
            let s = self.next_signer;
            self.next_signer = (self.next_signer + 1) % signers.len();
            if self.next[s] >= per_signer[s].len() || held.holds(s) {
                idle_signers += 1;
                continue;
            }
            idle_signers = 0;
            per_node[signers[s].node].push((s << 32) | self.next[s]);
            self.next[s] += 1;
            taken += 1;
        }
        self.cut += taken;
        taken < want && (0..signers.len()).all(|s| self.next[s] >= per_signer[s].len())
    }
}

/// One tick's transactions per node: first the refused ones that are due (they are not new
/// offered load), then up to `want` fresh ones of signers not held. Returns them, how many
/// were retries, and whether the pre-signed workload is used up.
fn cut(
    now: Duration,
    want: u64,
    cursor: &mut Cursor,
    held: &mut Held,
    signers: &[Signer],
    per_signer: &[Vec<Signed>],
    nodes: usize,
) -> (Vec<Vec<usize>>, u64, bool) {
    let mut per_node: Vec<Vec<usize>> = vec![Vec::new(); nodes];
    let due = held.due(now);
    let retries = due.len() as u64;
    for k in due {
        per_node[signers[k >> 32].node].push(k);
    }
    let exhausted = cursor.take(want, signers, per_signer, &mut per_node, held);
    (per_node, retries, exhausted)
}

/// The scheduler: every tick, cut the transactions due (the offered rate, or as many as
/// the in-flight bound allows) into per-node batches. Returns when submission ended and
/// whether the pre-signed workload ran out first.
fn schedule(
    b: &Bench,
    signers: &[Signer],
    per_signer: &[Vec<Signed>],
    shared: &Shared,
    queues: &[BatchQueue],
) -> Result<(Duration, bool)> {
    let a = &b.a;
    let end = Duration::from_secs(a.duration);
    let mut cursor = Cursor {
        next: vec![0usize; signers.len()],
        next_signer: 0,
        cut: 0,
    };
    let mut exhausted = false;
    b.say(format!(
        "bench {}: submitting for {} s to {} node(s), {}",
        b.run,
        a.duration,
        b.validators.len(),
        match a.rate {
            Some(r) => format!("offered {r} tx/s"),
            None => format!("open loop, at most {} in flight", a.inflight_txs_max),
        }
    ));
    let t0 = shared.t0;
    while t0.elapsed() < end && !exhausted {
        let elapsed = t0.elapsed();
        let due = match a.rate {
            Some(r) => ((elapsed.as_secs_f64() + TICK_MS as f64 / 1000.0) * r as f64) as u64,
            None => u64::MAX,
        };
        let inflight = shared.inflight.lock().map(|m| m.len()).unwrap_or(0);
        let room = a.inflight_txs_max.saturating_sub(inflight) as u64;
        let mut want = due.saturating_sub(cursor.cut).min(room);
        if a.rate.is_none() {
            want = want.min((a.batch_txs * b.validators.len() * 2) as u64);
        }
        let per_node = {
            let Ok(mut held) = shared.held.lock() else {
                bail!("a submission thread failed");
            };
            let (per_node, retries, out) = cut(
                elapsed,
                want,
                &mut cursor,
                &mut held,
                signers,
                per_signer,
                b.nodes.len(),
            );
            exhausted = out;
            shared.resubmitted.fetch_add(retries, Ordering::Relaxed);
            per_node
        };
        for (ni, txs) in per_node.into_iter().enumerate() {
            for chunk in txs.chunks(a.batch_txs) {
                if queues[ni].send(chunk.to_vec()).is_err() {
                    bail!("the submission threads of {} stopped", b.nodes[ni].name);
                }
            }
        }
        let next_tick = elapsed + Duration::from_millis(TICK_MS);
        let now = t0.elapsed();
        if next_tick > now {
            std::thread::sleep(next_tick - now); // pacing the offered load
        }
    }
    Ok((t0.elapsed(), exhausted))
}

/// Wait (at most `drain_s` seconds) for the transactions still in flight.
fn drain(shared: &Shared, drain_s: u64) {
    let drain_deadline = Instant::now() + Duration::from_secs(drain_s);
    while Instant::now() < drain_deadline {
        if shared.inflight.lock().map(|m| m.is_empty()).unwrap_or(true) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50)); // polling the measurement threads
    }
}

/// The run's figures: rates and latencies over the steady window (after the warm-up,
/// until the end of submission), refusals, execution outcomes of a sample, resources.
fn figures(
    b: &Bench,
    shared: &Shared,
    submit_end: Duration,
    before: &Resources,
    after: &Resources,
    tx_bytes_avg: f64,
) -> Result<Stats> {
    let lo = Duration::from_secs(b.warmup);
    let hi = submit_end;
    let window_s = (hi - lo).as_secs_f64().max(1e-3);
    let done = shared.done.lock().map(|d| d.clone()).unwrap_or_default();
    let mut latency = latency_histogram()?;
    for (s, f) in done.iter().filter(|(s, _)| *s >= lo && *s < hi) {
        record_latency(&mut latency, f.saturating_sub(*s));
    }
    let finalized_in_window = done.iter().filter(|(_, f)| *f >= lo && *f < hi).count();
    let blocks = shared.blocks.lock().map(|m| m.clone()).unwrap_or_default();
    let win_blocks: Vec<u64> = blocks
        .values()
        .filter(|(t, _)| *t >= lo && *t < hi)
        .map(|(_, n)| *n)
        .collect();
    let all_finalized = done.len() as u64;
    let mut rejected = shared
        .rejected
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    // Execution outcomes of a sample of finalized transactions.
    let sample = shared.sample.lock().map(|s| s.clone()).unwrap_or_default();
    for h in sample.iter().take(SAMPLE_TXS_MAX) {
        if let Some(why) = rejection(&b.http, b.first_validator(), h) {
            *rejected
                .entry(format!(
                    "executed_rejected_in_sample_{}: {why}",
                    sample.len()
                ))
                .or_default() += 1;
        }
    }
    // Offered load is what was sent the first time; refusals for load are counted as
    // `refused`, and their retries are not offered load.
    let first_submissions = shared
        .submitted
        .load(Ordering::Relaxed)
        .saturating_sub(shared.resubmitted.load(Ordering::Relaxed));
    let mut st = Stats {
        target_tps: b.a.rate,
        offered_tps: first_submissions as f64 / submit_end.as_secs_f64().max(1e-3),
        finalized_tps: finalized_in_window as f64 / window_s,
        submitted: first_submissions,
        finalized: all_finalized,
        unfinalized: shared.inflight.lock().map(|m| m.len() as u64).unwrap_or(0),
        refused: shared.refused.load(Ordering::Relaxed),
        latency,
        rejected,
        blocks_per_s: win_blocks.len() as f64 / window_s,
        tx_per_block: win_blocks.iter().sum::<u64>() as f64 / win_blocks.len().max(1) as f64,
        cpu_s_per_tx: BTreeMap::new(),
        disk_bytes_per_tx: BTreeMap::new(),
        p2p_bytes_per_tx: BTreeMap::new(),
        tx_bytes_avg,
        generator_cpu_s: after.generator_cpu_s - before.generator_cpu_s,
        cpu_idle_pct: idle_pct(before.machine, after.machine),
        profile: BTreeMap::new(),
    };
    for (i, n) in b.nodes.iter().enumerate() {
        if let (Some(c0), Some(c1)) = (before.cpu_s[i], after.cpu_s[i]) {
            st.cpu_s_per_tx
                .insert(n.name.clone(), (c1 - c0) / (all_finalized.max(1) as f64));
        }
        if let (Some(p0), Some(p1)) = (&before.parts[i], &after.parts[i]) {
            let per_tx = p1
                .iter()
                .map(|(part, c1)| {
                    let c0 = p0.get(part).copied().unwrap_or(0.0);
                    // Threads that end between the readings move CPU into `exited`.
                    (*part, (c1 - c0).max(0.0) / all_finalized.max(1) as f64)
                })
                .collect();
            st.profile.insert(n.name.clone(), per_tx);
        }
        if let (Some((c0, t0)), Some((c1, t1))) = (before.p2p_bytes[i], after.p2p_bytes[i]) {
            let per = |a: u64, b: u64| b.saturating_sub(a) as f64 / all_finalized.max(1) as f64;
            st.p2p_bytes_per_tx
                .insert(n.name.clone(), (per(c0, c1), per(t0, t1)));
        }
        if n.data_dir.is_some() {
            st.disk_bytes_per_tx.insert(
                n.name.clone(),
                after.disk_bytes[i].saturating_sub(before.disk_bytes[i]) as f64
                    / all_finalized.max(1) as f64,
            );
        }
    }
    Ok(st)
}

/// The human summary, and with `--json` the JSON object as the result (the summary then
/// goes to stderr).
fn report(b: &Bench, st: &Stats, submit_end: Duration) -> Outcome {
    let summary = human(st, &b.run, b.warmup, submit_end);
    if b.a.json {
        eprintln!("{summary}");
        Outcome::Ok(to_json(st).to_string())
    } else {
        Outcome::Ok(summary)
    }
}

type EventSender = mpsc::SyncSender<(u64, usize, Duration, Option<Vec<TxHash>>)>;

/// Read one node's event stream; forward (height, node, arrival, hashes if given).
fn event_stream(api: &str, node: usize, out: &EventSender, shared: &Shared) {
    let http = agent(None);
    while !shared.stop.load(Ordering::Relaxed) {
        let Some(events) = open_events(&http, api) else {
            std::thread::sleep(Duration::from_millis(200)); // the node is not up yet
            continue;
        };
        // A broken stream (an error item) ends the inner loop; the outer one reopens it.
        for event in events.map_while(|e| e.ok()) {
            if shared.stop.load(Ordering::Relaxed) {
                return;
            }
            let chancery_client::Event::Block(b) = event else {
                continue;
            };
            // The event names the block, not its transactions: the reader fetches them.
            if out
                .send((b.height, node, shared.t0.elapsed(), None))
                .is_err()
            {
                return;
            }
        }
    }
}

/// For each new height: record its first arrival, read its transaction hashes, and settle
/// the transactions in flight.
fn block_reader(
    apis: &[String],
    start_height: u64,
    rx: mpsc::Receiver<(u64, usize, Duration, Option<Vec<TxHash>>)>,
    shared: &Shared,
) {
    let http = agent(Some(REQUEST_TIMEOUT_MS));
    let mut seen: HashSet<u64> = HashSet::new();
    let mut highest = start_height;
    while let Ok((h, node, at, txs)) = rx.recv() {
        if h <= start_height || seen.contains(&h) {
            continue;
        }
        // Heights this node skipped (a lagged stream) are settled now, a little late.
        let mut todo: Vec<(u64, Option<Vec<TxHash>>)> = ((highest + 1)..h)
            .filter(|x| !seen.contains(x))
            .map(|x| (x, None))
            .collect();
        todo.push((h, txs));
        highest = highest.max(h);
        for (height, txs) in todo {
            seen.insert(height);
            let hashes: Vec<TxHash> = match txs {
                Some(t) => t,
                None => match block_hashes(&http, &apis[node], height) {
                    Some(hashes) => hashes,
                    None => {
                        seen.remove(&height);
                        continue;
                    }
                },
            };
            if let Ok(mut b) = shared.blocks.lock() {
                b.insert(height, (at, hashes.len() as u64));
            }
            let mut settled = Vec::new();
            if let Ok(mut m) = shared.inflight.lock() {
                for x in &hashes {
                    if let Some(s) = m.remove(x) {
                        settled.push((*x, s));
                    }
                }
            }
            if settled.is_empty() {
                continue;
            }
            if let Ok(mut d) = shared.done.lock() {
                for (_, s) in &settled {
                    d.push((*s, at));
                }
            }
            if let Ok(mut s) = shared.sample.lock() {
                if s.len() < SAMPLE_TXS_MAX {
                    s.push(settled[settled.len() / 2].0);
                }
            }
        }
    }
}

/// An empty latency histogram: microseconds up to `LATENCY_US_MAX`, `LATENCY_SIGFIGS`
/// significant digits.
fn latency_histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, LATENCY_US_MAX, LATENCY_SIGFIGS)
        .map_err(|e| anyhow!("latency histogram: {e:?}"))
}

/// Record one latency (longer than `LATENCY_US_MAX` counts as that).
fn record_latency(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
}

/// The `q`-quantile (0..=1) of the latencies, in milliseconds; 0 when there are none.
fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    h.value_at_quantile(q) as f64 / 1000.0
}

/// The longest latency, in milliseconds; 0 when there are none.
fn max_ms(h: &Histogram<u64>) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    h.max() as f64 / 1000.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn to_json(st: &Stats) -> Value {
    let per_node = |m: &BTreeMap<String, f64>, digits: f64| -> Value {
        m.iter()
            .map(|(k, v)| (k.clone(), json!((v * digits).round() / digits)))
            .collect::<serde_json::Map<String, Value>>()
            .into()
    };
    json!({
        "target_tps": st.target_tps,
        "offered_tps": round2(st.offered_tps),
        "finalized_tps": round2(st.finalized_tps),
        "p50_ms": round2(quantile_ms(&st.latency, 0.50)),
        "p90_ms": round2(quantile_ms(&st.latency, 0.90)),
        "p99_ms": round2(quantile_ms(&st.latency, 0.99)),
        "max_ms": round2(max_ms(&st.latency)),
        "latency_samples": st.latency.len(),
        "submitted": st.submitted,
        "finalized": st.finalized,
        "unfinalized": st.unfinalized,
        "refused": st.refused,
        "rejected": st.rejected,
        "blocks_per_s": round2(st.blocks_per_s),
        "tx_per_block": round2(st.tx_per_block),
        "tx_bytes_avg": round2(st.tx_bytes_avg),
        "cpu_s_per_tx": per_node(&st.cpu_s_per_tx, 1e7),
        "disk_bytes_per_tx": per_node(&st.disk_bytes_per_tx, 10.0),
        "p2p_bytes_per_tx": st.p2p_bytes_per_tx.iter().map(|(node, (c, t))| {
            (node.clone(), json!({"consensus": round2(*c), "transactions": round2(*t)}))
        }).collect::<serde_json::Map<String, Value>>(),
        "generator_cpu_s": round2(st.generator_cpu_s),
        "cpu_idle_pct": st.cpu_idle_pct.map(round2),
        "profile_us_per_tx": st.profile.iter().map(|(node, parts)| {
            let parts: serde_json::Map<String, Value> = parts
                .iter()
                .map(|(p, s)| (p.to_string(), json!(round2(s * 1e6))))
                .collect();
            (node.clone(), Value::from(parts))
        }).collect::<serde_json::Map<String, Value>>(),
    })
}

fn human(st: &Stats, run: &str, warmup: u64, submit_end: Duration) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "bench {run}: {:.1} s of submission ({warmup} s warm-up excluded from rates and latencies)",
        submit_end.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "  offered     {:.0} tx/s{} ({} submitted, {:.0} bytes each)",
        st.offered_tps,
        st.target_tps
            .map(|t| format!(" (target {t})"))
            .unwrap_or_else(|| " (open loop)".into()),
        st.submitted,
        st.tx_bytes_avg
    );
    let _ = writeln!(
        s,
        "  finalized   {:.0} tx/s steady; {} in all, {} still in flight at the end",
        st.finalized_tps, st.finalized, st.unfinalized
    );
    let _ = writeln!(
        s,
        "  latency     p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms (submit to finality, {} txs)",
        quantile_ms(&st.latency, 0.5),
        quantile_ms(&st.latency, 0.9),
        quantile_ms(&st.latency, 0.99),
        max_ms(&st.latency),
        st.latency.len()
    );
    let _ = writeln!(
        s,
        "  blocks      {:.2} /s, {:.0} tx/block",
        st.blocks_per_s, st.tx_per_block
    );
    let _ = writeln!(
        s,
        "  refused     {} for load (pool_full, or a batch refused with 503/429), each submitted again after the node's Retry-After",
        st.refused
    );
    if st.rejected.is_empty() {
        let _ = writeln!(s, "  rejected    none");
    } else {
        for (k, v) in &st.rejected {
            let _ = writeln!(s, "  rejected    {v} x {k}");
        }
    }
    for (k, v) in &st.cpu_s_per_tx {
        let disk = st.disk_bytes_per_tx.get(k).copied().unwrap_or(0.0);
        let p2p = st
            .p2p_bytes_per_tx
            .get(k)
            .map(|(c, t)| format!(", sent to peers {c:.0} consensus + {t:.0} gossip bytes/tx"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  node {k:<10} {:.0} us CPU/tx, {disk:.0} disk bytes/tx{p2p}",
            v * 1e6
        );
    }
    for (k, parts) in &st.profile {
        let list: Vec<String> = parts
            .iter()
            .map(|(p, v)| format!("{p} {:.0}", v * 1e6))
            .collect();
        let _ = writeln!(s, "  profile {k:<10} us CPU/tx: {}", list.join(", "));
    }
    let _ = write!(s, "  generator   {:.1} s CPU", st.generator_cpu_s);
    if let Some(p) = st.cpu_idle_pct {
        let _ = write!(s, "\n  machine     {p:.1} % idle");
    }
    s
}

// Every call to a node's HTTP API is in the small functions below, one per endpoint, all
// through `chancery_client` (one connection pool for every node: `Client::at`).

/// Bound of a request's duration when one is set, in milliseconds.
const REQUEST_TIMEOUT_MS: u64 = 30_000;

fn agent(timeout_ms: Option<u64>) -> Client {
    Client::with_timeout_ms(NODE_DEFAULT, timeout_ms)
}

fn next_seq(c: &Client, api: &str, key: &PublicKey) -> Result<Option<u64>> {
    match c.at(api).member(&key.to_string()) {
        Ok(m) => Ok(Some(m.next_seq)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Submit one batch; the answer per transaction. A `pool_full` refusal is for load: its
/// `retry_after_s` (at most `RETRY_AFTER_S_MAX`) says when to submit it again. So is a
/// whole batch refused with 503 or 429 (busy node, full command queue, connection or rate
/// caps): nothing of it was admitted.
fn submit(c: &Client, api: &str, txs: &[&str]) -> Vec<Answer> {
    let all = |a: Answer| txs.iter().map(|_| a.clone()).collect();
    let answer = c
        .at(api)
        .submit_batch(txs.iter().map(|s| s.to_string()).collect());
    let results = match answer {
        Ok(b) => b.results,
        Err(e) => match (e.status(), e.code()) {
            (Some(503 | 429), _) => {
                return all(Answer::Later(Duration::from_millis(RETRY_AFTER_MS)))
            }
            (Some(status), Some(code)) => {
                return all(Answer::Refused(format!("http_{status}_{code}")))
            }
            _ => return all(Answer::Refused(format!("http_error: {e}"))),
        },
    };
    if results.len() != txs.len() {
        return all(Answer::Refused("bad_answer".to_string()));
    }
    results.into_iter().map(answer_of).collect()
}

/// One result of a batch.
fn answer_of(item: BatchItem) -> Answer {
    match item {
        BatchItem::Admitted { .. } => Answer::Admitted,
        BatchItem::Refused {
            code,
            retry_after_s,
            ..
        } if code == "pool_full" => Answer::Later(match retry_after_s {
            Some(s) => Duration::from_secs(s.min(RETRY_AFTER_S_MAX)),
            None => Duration::from_millis(RETRY_AFTER_MS),
        }),
        BatchItem::Refused { code, .. } => Answer::Refused(code),
    }
}

fn status_height(c: &Client, api: &str) -> Result<u64> {
    Ok(c.at(api).status()?.tip.height)
}

/// The bytes a node sent to its peers so far (consensus, transactions), from its status;
/// `None` if it does not answer.
fn p2p_bytes(c: &Client, api: &str) -> Option<(u64, u64)> {
    let n = c.at(api).status().ok()?.node;
    Some((n.p2p_consensus_bytes_sent, n.p2p_transactions_bytes_sent))
}

/// The chain id a node reports (`GET /v1/status`).
fn chain_id(c: &Client, api: &str) -> Result<ChainId> {
    let status = c.at(api).status()?;
    status
        .chain_id
        .parse()
        .map_err(|e| anyhow!("{api}/v1/status: chain_id {:?}: {e}", status.chain_id))
}

/// A node's event stream (`GET /v1/events`); `None` if it cannot be opened.
fn open_events(c: &Client, api: &str) -> Option<chancery_client::Events> {
    c.at(api).events().ok()
}

/// The transaction hashes of the block at `height` (`GET /v1/blocks/{height}`); `None`
/// if the node did not serve it.
fn block_hashes(c: &Client, api: &str, height: u64) -> Option<Vec<TxHash>> {
    let b = c.at(api).block(height).ok()?;
    Some(
        b.transactions
            .iter()
            .filter_map(|x| x.hash.parse().ok())
            .collect(),
    )
}

/// Why a finalized transaction was rejected in execution, if it was
/// (`GET /v1/transactions/{hash}`); `None` when it was applied or could not be read.
fn rejection(c: &Client, api: &str, h: &TxHash) -> Option<String> {
    match c.at(api).tx(&h.to_string()) {
        Ok(s) if s.status == "rejected" => Some(s.reason.unwrap_or_default()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within the histogram's resolution (three significant digits).
    fn close(found: f64, expected: f64) -> bool {
        (found - expected).abs() <= expected * 1e-3
    }

    fn stats_with(latencies_ms: impl Iterator<Item = u64>) -> Stats {
        let mut latency = latency_histogram().unwrap();
        for ms in latencies_ms {
            record_latency(&mut latency, Duration::from_millis(ms));
        }
        Stats {
            target_tps: Some(100),
            offered_tps: 0.0,
            finalized_tps: 0.0,
            submitted: 0,
            finalized: 0,
            unfinalized: 0,
            refused: 0,
            latency,
            rejected: BTreeMap::new(),
            blocks_per_s: 0.0,
            tx_per_block: 0.0,
            cpu_s_per_tx: BTreeMap::new(),
            disk_bytes_per_tx: BTreeMap::new(),
            p2p_bytes_per_tx: BTreeMap::new(),
            tx_bytes_avg: 0.0,
            generator_cpu_s: 0.0,
            cpu_idle_pct: None,
            profile: BTreeMap::new(),
        }
    }

    #[test]
    fn threads_are_grouped_by_part_from_their_stat_lines() {
        // A thread name with spaces and parentheses, as /proc shows it.
        let line = "4242 (verify-3) S 1 2 3 0 -1 4194560 10 0 0 0 150 25 0 0 20 0 9 0";
        let (comm, cpu) = parse_task_stat(line).expect("parses");
        assert_eq!(comm, "verify-3");
        assert!(close(cpu, 1.75), "{cpu}");
        let odd = "7 (a (b) c) R 1 2 3 0 -1 0 0 0 0 0 7 3 0 0";
        assert_eq!(parse_task_stat(odd).map(|p| p.0), Some("a (b) c"));
        assert_eq!(parse_task_stat("7 (x) R 1"), None);
        for (comm, part) in [
            ("consensus-drive", "driver"),
            ("verify-0", "verify_gossip"),
            ("verify-block", "verify_blocks"),
            ("rocksdb:low", "storage"),
            ("tokio-runtime-w", "runtime"),
            ("chancery-node", "other"),
        ] {
            assert_eq!(thread_part(comm), part, "{comm}");
        }
        // A thread of this process named as the node names its signature checkers
        // works until /proc shows 0.2 s of its CPU, then waits: the profile puts that CPU
        // under `verify_gossip`.
        let (busy_tx, busy_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::Builder::new()
            .name("verify-7".into())
            .spawn(move || {
                let mut x = 0u64;
                loop {
                    for i in 0..1_000_000u64 {
                        x = x.wrapping_mul(31).wrapping_add(i);
                    }
                    let own = std::fs::read_to_string("/proc/thread-self/stat")
                        .ok()
                        .and_then(|t| parse_task_stat(&t).map(|p| p.1));
                    if own.is_none_or(|c| c >= 0.2) {
                        break;
                    }
                }
                let _ = busy_tx.send(x);
                let _ = done_rx.recv();
            })
            .expect("thread starts");
        busy_rx.recv().expect("worker ran");
        let parts = parts_cpu_s(std::process::id()).expect("our own /proc entry");
        done_tx.send(()).expect("worker waits");
        worker.join().expect("worker ends");
        let verify = parts.get("verify_gossip").copied().unwrap_or(0.0);
        assert!(verify >= 0.2, "verify_gossip {verify} s in {parts:?}");
    }

    #[test]
    fn the_machine_idle_share_comes_from_proc_stat() {
        // user nice system idle iowait irq softirq steal guest guest_nice
        let before = parse_proc_stat("cpu  100 0 50 800 50 0 0 0 30 0\ncpu0 1 2 3 4\n");
        assert_eq!(before, Some((850, 1000)), "guest time is not counted twice");
        let after = parse_proc_stat("cpu  400 0 150 1200 50 0 0 0 90 0\n");
        assert_eq!(after, Some((1250, 1800)));
        let pct = idle_pct(before, after).unwrap();
        assert!(close(pct, 50.0), "{pct}");
        assert_eq!(parse_proc_stat("cpu0 1 2 3 4"), None);
        assert_eq!(parse_proc_stat("cpu x y"), None);
        assert_eq!(parse_proc_stat(""), None);
        // No time passed, or the counters went backwards: no figure.
        assert_eq!(idle_pct(after, after), None);
        assert_eq!(idle_pct(after, before), None);
        let mut st = stats_with(1..=10);
        st.cpu_idle_pct = Some(12.345);
        assert!(close(to_json(&st)["cpu_idle_pct"].as_f64().unwrap(), 12.35));
        assert!(human(&st, "r", 0, Duration::from_secs(1)).contains("machine     12.3 % idle"));
    }

    #[test]
    fn latency_quantiles_in_milliseconds() {
        let st = stats_with(1..=1000);
        let h = &st.latency;
        assert_eq!(h.len(), 1000);
        for (q, expected) in [(0.5, 500.0), (0.9, 900.0), (0.99, 990.0)] {
            let found = quantile_ms(h, q);
            assert!(
                close(found, expected),
                "p{q}: {found} ms, expected {expected}"
            );
        }
        assert!(close(max_ms(h), 1000.0), "max {} ms", max_ms(h));
        let empty = latency_histogram().unwrap();
        assert_eq!((quantile_ms(&empty, 0.5), max_ms(&empty)), (0.0, 0.0));
    }

    #[test]
    fn a_latency_beyond_the_bound_saturates() {
        let mut h = latency_histogram().unwrap();
        record_latency(&mut h, Duration::from_secs(10 * 3600));
        assert_eq!(h.len(), 1);
        assert!(close(max_ms(&h), LATENCY_US_MAX as f64 / 1000.0));
    }

    /// `testnet/bench` and docs/BENCHMARKS.md read these names; the values are
    /// milliseconds.
    #[test]
    fn json_keeps_the_latency_names_and_units() {
        let v = to_json(&stats_with(1..=100));
        for (key, expected) in [
            ("p50_ms", 50.0),
            ("p90_ms", 90.0),
            ("p99_ms", 99.0),
            ("max_ms", 100.0),
        ] {
            let found = v[key].as_f64().unwrap_or(f64::NAN);
            assert!(
                close(found, expected),
                "{key}: {found}, expected {expected}"
            );
        }
        assert_eq!(v["latency_samples"], 100);
        assert!(human(&stats_with(1..=100), "r", 0, Duration::from_secs(1))
            .contains("latency     p50 50 ms, p90 90 ms, p99 99 ms, max 100 ms (submit to finality, 100 txs)"));
    }

    #[test]
    fn every_round_is_valid_and_fresh() {
        let a: AgencyId = "mof".parse().unwrap();
        let b: AgencyId = "ndrc".parse().unwrap();
        let mut ids = HashSet::new();
        for n in 0..10 {
            let records = round(
                chancery_core::suite::Suite::default(),
                "abcd1234",
                3,
                &a,
                &b,
                n,
            )
            .unwrap();
            assert_eq!(records.len(), RECORDS_PER_ROUND);
            for r in records {
                r.validate().unwrap();
                ids.insert(format!("{:?}-{}", r.kind(), r.subject_id()));
            }
        }
        // Twelve records per round, the two payments of one contract sharing (kind,
        // subject): 11 distinct pairs per round, none shared between rounds.
        assert_eq!(ids.len(), 110);
    }

    /// A round's records all apply, in order: the procurement follows its rules from the
    /// tender to the final payment.
    #[test]
    fn every_round_applies_in_full() {
        use chancery_ledger::testing::governed::Chain;
        let mut c = Chain::new();
        let a: AgencyId = "mof".parse().unwrap();
        let b: AgencyId = "moe".parse().unwrap();
        for n in 0..3 {
            let records = round(
                chancery_core::suite::Suite::default(),
                "abcd1234",
                3,
                &a,
                &b,
                n,
            )
            .unwrap();
            let txs = records
                .into_iter()
                .map(|r| (c.fx.signer("mof", r.kind().required_role()).clone(), r))
                .collect();
            let (outcomes, _) = c.block(txs);
            assert!(
                outcomes
                    .iter()
                    .all(|o| *o == chancery_core::block::Outcome::Applied),
                "round {n}: {outcomes:?}"
            );
        }
    }

    #[test]
    fn two_seals_of_the_same_value_differ() {
        let a: AgencyId = "mof".parse().unwrap();
        let b: AgencyId = "ndrc".parse().unwrap();
        let location = |records: Vec<Record>| {
            records.into_iter().find_map(|r| match r {
                Record::RegisterAsset(x) => Some(serde_json::to_string(&x.location).unwrap()),
                _ => None,
            })
        };
        let round_1 = || {
            round(
                chancery_core::suite::Suite::default(),
                "abcd1234",
                3,
                &a,
                &b,
                1,
            )
        };
        let first = location(round_1().unwrap()).unwrap();
        let second = location(round_1().unwrap()).unwrap();
        assert_ne!(
            first, second,
            "the same value sealed twice gives the same commitment (salt derived, not random)"
        );
    }

    #[test]
    fn cpu_of_self_is_readable() {
        assert!(cpu_s("self").is_some());
    }

    /// Node 0's transactions of one tick at `now_ms`, and how many were retries.
    fn tick(
        now_ms: u64,
        want: u64,
        cursor: &mut Cursor,
        held: &mut Held,
        signers: &[Signer],
        per_signer: &[Vec<Signed>],
    ) -> (Vec<usize>, u64, bool) {
        let now = Duration::from_millis(now_ms);
        let (mut per_node, retries, exhausted) =
            cut(now, want, cursor, held, signers, per_signer, 1);
        (per_node.remove(0), retries, exhausted)
    }

    /// A refused batch goes again once the node's wait is over, lowest position first, and
    /// none of its signer's later transactions is sent before every one of them is
    /// answered; the other signers go on meanwhile.
    #[test]
    fn a_refused_batch_is_retried_in_order_before_the_signers_later_ones() {
        let signers: Vec<Signer> = (0..2u8)
            .map(|i| Signer {
                key: SecretKey::from_seed([i + 1; 32]),
                agency: "mof".parse().unwrap(),
                next: "moe".parse().unwrap(),
                node: 0,
            })
            .collect();
        let per_signer: Vec<Vec<Signed>> = (0..2u8)
            .map(|s| {
                (0..8u8)
                    .map(|p| Signed {
                        hash: domain::TX_HASH.hash(&[s, p]),
                        hex: String::new(),
                    })
                    .collect()
            })
            .collect();
        let k = |s: usize, p: usize| (s << 32) | p;
        let s = Duration::from_secs;
        let mut cursor = Cursor {
            next: vec![0; 2],
            next_signer: 0,
            cut: 0,
        };
        let mut held = Held::default();
        let (sg, ps) = (&signers[..], &per_signer[..]);

        let (batch, retries, _) = tick(0, 4, &mut cursor, &mut held, sg, ps);
        assert_eq!(batch, [k(0, 0), k(1, 0), k(0, 1), k(1, 1)]);
        assert_eq!(retries, 0);
        // Signer 0's two are refused for load, to be sent again in 2 s.
        let answers = vec![
            Answer::Later(s(2)),
            Answer::Admitted,
            Answer::Later(s(2)),
            Answer::Admitted,
        ];
        assert_eq!(held.sort_answers(&batch, answers, s(0)), (vec![], 2));
        // Before the wait is over, only signer 1 goes on.
        let (batch, _, _) = tick(1_000, 4, &mut cursor, &mut held, sg, ps);
        assert_eq!(batch, [k(1, 2), k(1, 3), k(1, 4), k(1, 5)]);
        held.sort_answers(&batch, vec![Answer::Admitted; 4], s(1));
        // Then signer 0's refused ones, in order, first; not its position 2.
        let (batch, retries, _) = tick(2_000, 4, &mut cursor, &mut held, sg, ps);
        assert_eq!(batch, [k(0, 0), k(0, 1), k(1, 6), k(1, 7)]);
        assert_eq!(retries, 2);
        assert_eq!(cursor.cut, 10, "the retries are not counted as fresh load");
        // Its position 1 is refused again (1 s); the rest admitted.
        let answers = vec![
            Answer::Admitted,
            Answer::Later(s(1)),
            Answer::Admitted,
            Answer::Admitted,
        ];
        assert_eq!(held.sort_answers(&batch, answers, s(2)), (vec![], 1));
        // Signer 1 is used up and signer 0 waits: nothing, yet not exhausted.
        let (batch, _, exhausted) = tick(2_500, 4, &mut cursor, &mut held, sg, ps);
        assert!(batch.is_empty() && !exhausted);
        let (batch, retries, _) = tick(3_000, 4, &mut cursor, &mut held, sg, ps);
        assert_eq!((batch.clone(), retries), (vec![k(0, 1)], 1));
        // While the retry is unanswered, signer 0's later ones still wait.
        let (nothing, _, _) = tick(3_000, 4, &mut cursor, &mut held, sg, ps);
        assert!(nothing.is_empty());
        held.sort_answers(&batch, vec![Answer::Admitted], s(3));
        // Answered: signer 0 goes on from position 2; a final refusal is reported.
        let (batch, _, exhausted) = tick(3_000, 10, &mut cursor, &mut held, sg, ps);
        assert_eq!(batch, (2..8).map(|p| k(0, p)).collect::<Vec<_>>());
        assert!(exhausted);
        let mut answers = vec![Answer::Admitted; 6];
        answers[5] = Answer::Refused("bad_sequence".into());
        assert_eq!(
            held.sort_answers(&batch, answers, s(3)),
            (vec![(k(0, 7), "bad_sequence".to_string())], 0)
        );
        assert!(held.signers.is_empty() && held.waiting == 0);
    }

    /// A `pool_full` refusal waits as long as the node says (at most `RETRY_AFTER_S_MAX`),
    /// `RETRY_AFTER_MS` when it says nothing; other refusals are final.
    #[test]
    fn a_pool_full_refusal_waits_for_the_nodes_hint() {
        let refused = |code: &str, retry_after_s| BatchItem::Refused {
            code: code.into(),
            message: String::new(),
            retry_after_s,
        };
        assert_eq!(
            answer_of(refused("pool_full", Some(4))),
            Answer::Later(Duration::from_secs(4))
        );
        assert_eq!(
            answer_of(refused("pool_full", Some(100_000))),
            Answer::Later(Duration::from_secs(RETRY_AFTER_S_MAX))
        );
        assert_eq!(
            answer_of(refused("pool_full", None)),
            Answer::Later(Duration::from_millis(RETRY_AFTER_MS))
        );
        assert_eq!(
            answer_of(refused("bad_sequence", None)),
            Answer::Refused("bad_sequence".into())
        );
        assert_eq!(
            answer_of(BatchItem::Admitted { hash: "aa".into() }),
            Answer::Admitted
        );
    }

    /// `refused` is in the JSON and the human report.
    #[test]
    fn refusals_for_load_are_reported_apart() {
        let mut st = stats_with([10u64].into_iter());
        st.refused = 42;
        assert_eq!(to_json(&st)["refused"], 42);
        assert!(human(&st, "r", 0, Duration::from_secs(1)).contains("refused     42 for load"));
    }
}
