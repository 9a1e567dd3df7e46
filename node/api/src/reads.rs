//! Reads: blocks, assets, awards, grants, records, agencies, members, validators.

use crate::params::{self, agency, height, id, page, short, P, Q};
use crate::{ApiError, ApiResult, NodeHandle, RAW_BLOCKS_MAX};
use axum::extract::State;
use axum::Json;
use chancery_api_types::*;
use chancery_core::block::{Block, Outcome};
use chancery_core::cert::Certificate;
use chancery_core::codec;
use chancery_core::record::{AwardStatus, Record, RecordKind};
use chancery_core::state::{
    AssetState, AssetStatus, AwardState, ComplianceSubject, ContractState, GrantState, StateKey,
    StateValue,
};
use chancery_core::{Amount, Currency, Date, Height, TimestampMs};
use chancery_ledger::{AwardFilter, GrantFilter, GrantStatus, TxRecord};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

/// Most members counted for an agency's `member_count`.
pub const MEMBER_COUNT_MAX: usize = 10_000;

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A string form through serde (enums in snake_case, ids as text).
fn text<T: serde::Serialize>(v: &T) -> String {
    match to_value(v) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

pub(crate) fn tx_summary(r: &TxRecord) -> TxSummary {
    let body = &r.entry.tx.body;
    let (outcome, reason) = match r.entry.outcome {
        Outcome::Applied => ("applied", None),
        Outcome::Rejected(c) => ("rejected", Some(c.as_str())),
    };
    TxSummary {
        hash: r.hash.to_hex(),
        index: r.index,
        height: r.entry.height.0,
        time_ms: r.entry.time.0,
        kind: body.record.kind().as_str().to_string(),
        subject: body.record.subject_id(),
        signer: body.signer.to_string(),
        seq: body.seq.0,
        outcome: outcome.to_string(),
        reason,
        record: to_value(&body.record),
    }
}

fn tx_page(p: chancery_ledger::Page<TxRecord>) -> Page<TxSummary> {
    Page {
        items: p.items.iter().map(tx_summary).collect(),
        next: p.next,
    }
}

/// `limit` and `cursor` of a page.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Page size, 1..=page_entries_max (default 50).
    #[param(value_type = Option<u64>)]
    pub(crate) limit: Option<String>,
    /// The `next` value of the previous page.
    pub(crate) cursor: Option<String>,
}

/// `from` and `limit` of a range of blocks.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RangeQuery {
    /// First height (default 1).
    #[param(value_type = Option<u64>)]
    from: Option<String>,
    /// Number of blocks (default 50; at most page_entries_max, or 100 for raw blocks).
    #[param(value_type = Option<u64>)]
    limit: Option<String>,
}

fn block_range(h: &NodeHandle, q: &RangeQuery, max: usize) -> ApiResult<(u64, u64)> {
    let from = match &q.from {
        Some(s) => height(s, "from")?.0.max(1),
        None => 1,
    };
    let (limit, _) = page(q.limit.as_deref(), None, max)?;
    let tip = h.ledger.tip().height.0;
    let end = from.saturating_add(limit as u64).min(tip.saturating_add(1));
    Ok((from, end))
}

fn next_from(end: u64, tip: u64) -> Option<u64> {
    (end <= tip).then_some(end)
}

/// Block summaries from height `from`, ascending.
#[utoipa::path(get, path = "/v1/blocks", tag = "blocks", params(RangeQuery),
    responses((status = 200, body = BlockPage), (status = 400, body = ErrorBody)))]
pub(crate) async fn blocks(
    State(h): State<NodeHandle>,
    Q(q): Q<RangeQuery>,
) -> ApiResult<Json<BlockPage>> {
    let (from, end) = block_range(&h, &q, h.limits.page_entries_max)?;
    let mut items = Vec::new();
    for ht in from..end {
        let (hd, _) = h.ledger.header(Height(ht))?.ok_or_else(|| {
            ApiError::internal(format!(
                "block {ht} below the tip is missing from the store"
            ))
        })?;
        items.push(BlockSummary {
            height: ht,
            hash: hd.hash(h.ledger.genesis().crypto).to_hex(),
            time_ms: hd.time.0,
            tx_count: hd.tx_count,
            log_size: hd.log_size,
            log_root: hd.log_root.to_hex(),
            state_root: hd.state_root.to_hex(),
            proposer: hd.proposer,
        });
    }
    Ok(Json(BlockPage {
        items,
        next: next_from(end, h.ledger.tip().height.0),
    }))
}

/// Blocks in their canonical encoding with their stored certificates, for audits: at most
/// 100 per page, and a page stops before the block that would bring its hex (blocks and
/// certificates) past `raw_page_bytes_max` bytes (default 4 MiB; a page always holds at
/// least one block, so a single block larger than that comes alone); `next` is the first
/// height not in the page.
#[utoipa::path(get, path = "/v1/blocks/raw", tag = "blocks", params(RangeQuery),
    responses((status = 200, body = RawBlockPage), (status = 400, body = ErrorBody)))]
pub(crate) async fn blocks_raw(
    State(h): State<NodeHandle>,
    Q(q): Q<RangeQuery>,
) -> ApiResult<Json<RawBlockPage>> {
    let (from, end) = block_range(&h, &q, RAW_BLOCKS_MAX)?;
    let bytes_max = h.limits.raw_page_bytes_max;
    let mut items = Vec::new();
    let mut bytes = 0usize;
    let mut next = end;
    for ht in from..end {
        let (b, c) = h.ledger.block(Height(ht))?.ok_or_else(|| {
            ApiError::internal(format!(
                "block {ht} below the tip is missing from the store"
            ))
        })?;
        let block = hex::encode(codec::encode(&b));
        let certificate = hex::encode(codec::encode(&c));
        let suffix: Vec<String> = h
            .ledger
            .block_suffix(Height(ht))?
            .iter()
            .map(|s| hex::encode(codec::encode(s)))
            .collect();
        let size = block.len() + certificate.len() + suffix.iter().map(String::len).sum::<usize>();
        if !items.is_empty() && bytes.saturating_add(size) > bytes_max {
            next = ht;
            break;
        }
        bytes += size;
        items.push(RawBlock {
            height: ht,
            block,
            certificate,
            suffix,
        });
    }
    Ok(Json(RawBlockPage {
        items,
        next: next_from(next, h.ledger.tip().height.0),
    }))
}

fn render_block(suite: chancery_core::suite::Suite, b: &Block, cert: &Certificate) -> BlockDetail {
    let transactions = b
        .txs
        .iter()
        .map(|t| BlockTx {
            hash: t.hash().to_hex(),
            signer: t.body.signer.to_string(),
            seq: t.body.seq.0,
            record_kind: t.body.record.kind().as_str().to_string(),
            subject: t.body.record.subject_id(),
        })
        .collect();
    BlockDetail {
        hash: b.header.hash(suite).to_hex(),
        header: to_value(&b.header),
        transactions,
        certificate: to_value(cert),
    }
}

/// A finalized block with its transactions' hashes and its certificate.
#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "blocks",
    params(("height" = u64, Path, description = "block height")),
    responses((status = 200, body = BlockDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn block_at(
    State(h): State<NodeHandle>,
    P(ht): P<String>,
) -> ApiResult<Json<BlockDetail>> {
    let ht = height(&ht, "height")?;
    match h.ledger.block(ht)? {
        Some((b, c)) => Ok(Json(render_block(h.ledger.genesis().crypto, &b, &c))),
        None => Err(ApiError::not_found(format!(
            "no block at height {ht}; the last is {}",
            h.ledger.tip().height
        ))),
    }
}

/// The last finalized block.
#[utoipa::path(get, path = "/v1/blocks/latest", tag = "blocks",
    responses((status = 200, body = BlockDetail), (status = 404, body = ErrorBody)))]
pub(crate) async fn block_latest(State(h): State<NodeHandle>) -> ApiResult<Json<BlockDetail>> {
    let tip = h.ledger.tip().height;
    if tip == Height(0) {
        return Err(ApiError::not_found("no block has been finalized yet"));
    }
    match h.ledger.block(tip)? {
        Some((b, c)) => Ok(Json(render_block(h.ledger.genesis().crypto, &b, &c))),
        None => Err(ApiError::internal(format!("tip block {tip} missing"))),
    }
}

fn asset_dto(h: &NodeHandle, id: String, a: &AssetState) -> AssetDto {
    AssetDto {
        id,
        custodian: a.custodian.to_string(),
        status: match a.status {
            AssetStatus::Held => "held",
            AssetStatus::Disposed => "disposed",
        }
        .to_string(),
        registered_at: a.registered_at.0,
        last_tx: a.last_tx.to_hex(),
        as_of_height: h.ledger.tip().height.0,
    }
}

/// Query of `GET /v1/assets`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AssetsQuery {
    /// Custodian agency (required).
    custodian: Option<String>,
    /// Page size, 1..=page_entries_max (default 50).
    #[param(value_type = Option<u64>)]
    limit: Option<String>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
}

/// Assets currently held by an agency (disposed ones included), by asset id.
#[utoipa::path(get, path = "/v1/assets", tag = "records", params(AssetsQuery),
    responses((status = 200, body = Page<AssetDto>), (status = 400, body = ErrorBody)))]
pub(crate) async fn assets(
    State(h): State<NodeHandle>,
    Q(q): Q<AssetsQuery>,
) -> ApiResult<Json<Page<AssetDto>>> {
    let Some(c) = &q.custodian else {
        return Err(ApiError::bad_request(
            "missing_parameter",
            "`custodian` (an agency id) is required",
        ));
    };
    let c = agency(c, "custodian")?;
    let (limit, cursor) = page(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        h.limits.page_entries_max,
    )?;
    let p = h.ledger.assets_by_custodian(&c, cursor, limit)?;
    Ok(Json(Page {
        items: p
            .items
            .iter()
            .map(|(id, a)| asset_dto(&h, id.clone(), a))
            .collect(),
        next: p.next,
    }))
}

/// An asset's current state (custodian, status).
#[utoipa::path(get, path = "/v1/assets/{id}", tag = "records",
    params(("id" = String, Path, description = "asset id (percent-encode `/`)")),
    responses((status = 200, body = AssetDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn asset(
    State(h): State<NodeHandle>,
    P(aid): P<String>,
) -> ApiResult<Json<AssetDto>> {
    let aid = id(&aid, "asset id")?;
    let a = h
        .ledger
        .asset(aid)?
        .ok_or_else(|| ApiError::not_found(format!("no asset {aid:?} on this ledger")))?;
    Ok(Json(asset_dto(&h, aid.to_string(), &a)))
}

/// The transactions about an asset (register, transfers, disposal, documents), oldest first.
#[utoipa::path(get, path = "/v1/assets/{id}/history", tag = "records",
    params(("id" = String, Path, description = "asset id"), PageQuery),
    responses((status = 200, body = Page<TxSummary>), (status = 400, body = ErrorBody)))]
pub(crate) async fn asset_history(
    State(h): State<NodeHandle>,
    P(aid): P<String>,
    Q(q): Q<PageQuery>,
) -> ApiResult<Json<Page<TxSummary>>> {
    let aid = id(&aid, "asset id")?;
    let (limit, cursor) = page(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        h.limits.page_entries_max,
    )?;
    Ok(Json(tx_page(h.ledger.asset_history(aid, cursor, limit)?)))
}

fn award_dto(ocid: String, award_id: String, a: &AwardState) -> AwardDto {
    AwardDto {
        ocid,
        award_id,
        purchaser: a.purchaser.to_string(),
        status: text(&a.status),
        amount_minor: a.value.minor,
        currency: a.value.currency.to_string(),
        award_date: a.award_date.to_string(),
        suppliers: a.suppliers.iter().map(to_value).collect(),
        last_tx: a.last_tx.to_hex(),
    }
}

/// Query of `GET /v1/awards`; all given conditions must hold.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AwardsQuery {
    /// Purchasing agency.
    purchaser: Option<String>,
    /// A supplier's 18-character credit code, or else its exact name.
    supplier: Option<String>,
    /// Award date on or after, YYYY-MM-DD.
    from: Option<String>,
    /// Award date on or before, YYYY-MM-DD.
    to: Option<String>,
    /// Current value at least, in minor units of `currency`.
    #[param(value_type = Option<u64>)]
    amount_min: Option<String>,
    /// Current value at most, in minor units of `currency`.
    #[param(value_type = Option<u64>)]
    amount_max: Option<String>,
    /// Currency of the amounts (default CNY).
    currency: Option<String>,
    /// `pending`, `active`, `unsuccessful` or `cancelled`.
    status: Option<String>,
    /// Page size, 1..=page_entries_max (default 50).
    #[param(value_type = Option<u64>)]
    limit: Option<String>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
}

fn date(s: &str, what: &str) -> ApiResult<Date> {
    s.parse().map_err(|_| {
        ApiError::bad_request(
            "bad_date",
            format!("{what} must be a date YYYY-MM-DD, found {:?}", short(s)),
        )
    })
}

fn is_credit_code(s: &str) -> bool {
    s.len() == 18
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// Awards filtered by purchaser, supplier, date, amount and status, with their current state.
#[utoipa::path(get, path = "/v1/awards", tag = "records", params(AwardsQuery),
    responses((status = 200, body = Page<AwardDto>), (status = 400, body = ErrorBody)))]
pub(crate) async fn awards(
    State(h): State<NodeHandle>,
    Q(q): Q<AwardsQuery>,
) -> ApiResult<Json<Page<AwardDto>>> {
    let currency = match &q.currency {
        Some(c) => c.parse::<Currency>().map_err(|_| {
            ApiError::bad_request(
                "bad_currency",
                format!(
                    "currency must be 3 upper-case letters (ISO 4217), found {:?}",
                    short(c)
                ),
            )
        })?,
        None => Currency::CNY,
    };
    let amount = |s: &Option<String>, what: &str| -> ApiResult<Option<Amount>> {
        s.as_deref()
            .map(|s| params::number(s, what).map(|minor| Amount { minor, currency }))
            .transpose()
    };
    let status = match q.status.as_deref() {
        None => None,
        Some("pending") => Some(AwardStatus::Pending),
        Some("active") => Some(AwardStatus::Active),
        Some("unsuccessful") => Some(AwardStatus::Unsuccessful),
        Some("cancelled") => Some(AwardStatus::Cancelled),
        Some(s) => {
            return Err(ApiError::bad_request(
                "bad_status",
                format!(
                    "status must be pending, active, unsuccessful or cancelled, found {:?}",
                    short(s)
                ),
            ))
        }
    };
    let (supplier_code, supplier_name) = match &q.supplier {
        Some(s) if is_credit_code(s) => (Some(s.clone()), None),
        Some(s) if s.is_empty() || s.len() > chancery_core::limits::NAME_BYTES_MAX => {
            return Err(ApiError::bad_request(
                "bad_supplier",
                format!(
                    "supplier must be a credit code or a name of 1 to {} bytes",
                    chancery_core::limits::NAME_BYTES_MAX
                ),
            ))
        }
        Some(s) => (None, Some(s.clone())),
        None => (None, None),
    };
    let filter = AwardFilter {
        purchaser: q
            .purchaser
            .as_deref()
            .map(|s| agency(s, "purchaser"))
            .transpose()?,
        supplier_code,
        supplier_name,
        date_from: q.from.as_deref().map(|s| date(s, "from")).transpose()?,
        date_until: q.to.as_deref().map(|s| date(s, "to")).transpose()?,
        amount_min: amount(&q.amount_min, "amount_min")?,
        amount_max: amount(&q.amount_max, "amount_max")?,
        status,
    };
    let (limit, cursor) = page(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        h.limits.page_entries_max,
    )?;
    let p = h.ledger.awards(&filter, cursor, limit)?;
    Ok(Json(Page {
        items: p
            .items
            .into_iter()
            .map(|((o, a), s)| award_dto(o, a, &s))
            .collect(),
        next: p.next,
    }))
}

/// An award's current state and its history (award, amendments, cancellation); `limit`
/// and `cursor` page the history.
#[utoipa::path(get, path = "/v1/awards/{ocid}/{award_id}", tag = "records",
    params(("ocid" = String, Path, description = "OCDS process id"),
           ("award_id" = String, Path, description = "award id"), PageQuery),
    responses((status = 200, body = AwardDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn award(
    State(h): State<NodeHandle>,
    P((ocid, award_id)): P<(String, String)>,
    Q(q): Q<PageQuery>,
) -> ApiResult<Json<AwardDetail>> {
    let ocid = id(&ocid, "ocid")?;
    let award_id = id(&award_id, "award id")?;
    let (limit, cursor) = page(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        h.limits.page_entries_max,
    )?;
    let a = h.ledger.award(ocid, award_id)?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no award {award_id:?} in process {ocid:?} on this ledger"
        ))
    })?;
    let history = tx_page(h.ledger.award_history(ocid, award_id, cursor, limit)?);
    Ok(Json(AwardDetail {
        award: award_dto(ocid.to_string(), award_id.to_string(), &a),
        history,
    }))
}

fn compliance_dto(h: &NodeHandle, subject: ComplianceSubject) -> ApiResult<Option<ComplianceDto>> {
    let (kind, id) = match &subject {
        ComplianceSubject::Tender(_) => ("tender", String::new()),
        ComplianceSubject::Award(_, a) => ("award", a.clone()),
        ComplianceSubject::Contract(_, c) => ("contract", c.clone()),
    };
    Ok(h.ledger.compliance(&subject)?.map(|c| ComplianceDto {
        subject: kind.to_string(),
        id,
        method: text(&c.method),
        flags: c
            .flags
            .iter()
            .map(|f| {
                serde_json::json!({
                    "rule": f.rule.as_str(),
                    "breach": f.rule.is_breach(),
                    "standard": f.standard,
                    "limit": to_value(&f.limit),
                    "value": to_value(&f.value),
                })
            })
            .collect(),
    }))
}

fn contract_dto(ocid: &str, id: &str, c: &ContractState) -> ContractDto {
    ContractDto {
        ocid: ocid.to_string(),
        contract_id: id.to_string(),
        award_id: c.award_id.clone(),
        purchaser: c.purchaser.to_string(),
        status: text(&c.status),
        amount_minor: c.value.minor,
        paid_minor: c.paid.minor,
        currency: c.value.currency.to_string(),
        signed_date: c.signed_date.to_string(),
        period_end: c.period_end.to_string(),
        last_tx: c.last_tx.to_hex(),
    }
}

/// Records of a process scanned for its awards and contracts (the first page of its
/// history; a process with more records lists the rest through `history.next`).
const PROCESS_SCAN_MAX: usize = 1000;

/// A contracting process (issue 22): its tender, awards, contracts, limit-standard
/// assessments and records; `limit` and `cursor` page the history.
#[utoipa::path(get, path = "/v1/processes/{ocid}", tag = "records",
    params(("ocid" = String, Path, description = "OCDS process id"), PageQuery),
    responses((status = 200, body = ProcessDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn process(
    State(h): State<NodeHandle>,
    P(ocid): P<String>,
    Q(q): Q<PageQuery>,
) -> ApiResult<Json<ProcessDetail>> {
    let ocid = id(&ocid, "ocid")?;
    let (limit, cursor) = page(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        h.limits.page_entries_max,
    )?;
    let all = h.ledger.process_history(ocid, None, PROCESS_SCAN_MAX)?;
    if all.items.is_empty() {
        return Err(ApiError::not_found(format!(
            "no contracting process {ocid:?} on this ledger"
        )));
    }
    let tender = h.ledger.tender(ocid)?;
    let mut awards = Vec::new();
    let mut contracts = Vec::new();
    let mut compliance = Vec::new();
    if tender.is_some() {
        compliance.extend(compliance_dto(&h, ComplianceSubject::Tender(ocid.into()))?);
    }
    for r in all
        .items
        .iter()
        .filter(|r| r.entry.outcome == Outcome::Applied)
    {
        match &r.entry.tx.body.record {
            Record::AwardProcurement(a) => {
                if let Some(s) = h.ledger.award(ocid, &a.award_id)? {
                    awards.push(award_dto(ocid.into(), a.award_id.clone(), &s));
                    let subject = ComplianceSubject::Award(ocid.into(), a.award_id.clone());
                    compliance.extend(compliance_dto(&h, subject)?);
                }
            }
            Record::SignContract(c) => {
                if let Some(s) = h.ledger.contract(ocid, &c.contract_id)? {
                    contracts.push(contract_dto(ocid, &c.contract_id, &s));
                    let subject = ComplianceSubject::Contract(ocid.into(), c.contract_id.clone());
                    compliance.extend(compliance_dto(&h, subject)?);
                }
            }
            _ => {}
        }
    }
    let history = tx_page(h.ledger.process_history(ocid, cursor, limit)?);
    Ok(Json(ProcessDetail {
        ocid: ocid.to_string(),
        tender: tender.as_ref().map(to_value),
        awards,
        contracts,
        compliance,
        history,
    }))
}

/// A contract's current state, assessment and history; `limit` and `cursor` page the
/// history.
#[utoipa::path(get, path = "/v1/contracts/{ocid}/{contract_id}", tag = "records",
    params(("ocid" = String, Path, description = "OCDS process id"),
           ("contract_id" = String, Path, description = "contract id"), PageQuery),
    responses((status = 200, body = ContractDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn contract(
    State(h): State<NodeHandle>,
    P((ocid, contract_id)): P<(String, String)>,
    Q(q): Q<PageQuery>,
) -> ApiResult<Json<ContractDetail>> {
    let ocid = id(&ocid, "ocid")?;
    let contract_id = id(&contract_id, "contract id")?;
    let (limit, cursor) = page(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        h.limits.page_entries_max,
    )?;
    let c = h.ledger.contract(ocid, contract_id)?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no contract {contract_id:?} in process {ocid:?} on this ledger"
        ))
    })?;
    let subject = ComplianceSubject::Contract(ocid.into(), contract_id.into());
    Ok(Json(ContractDetail {
        contract: contract_dto(ocid, contract_id, &c),
        compliance: compliance_dto(&h, subject)?,
        history: tx_page(
            h.ledger
                .contract_history(ocid, contract_id, cursor, limit)?,
        ),
    }))
}

/// The procurement limit standards in force (`rules` empty: none; issue 22).
#[utoipa::path(get, path = "/v1/procurement-limits", tag = "records",
    responses((status = 200, body = Object)))]
pub(crate) async fn procurement_limits(State(h): State<NodeHandle>) -> ApiResult<Json<Value>> {
    Ok(Json(to_value(&h.ledger.procurement_limits()?)))
}

fn status_text(s: GrantStatus) -> &'static str {
    match s {
        GrantStatus::Active => "active",
        GrantStatus::NotYetValid => "pending",
        GrantStatus::Expired => "expired",
        GrantStatus::Revoked => "revoked",
    }
}

fn grant_dto(id: String, g: &GrantState, at: TimestampMs) -> GrantDto {
    GrantDto {
        id,
        dataset_id: g.dataset_id.clone(),
        grantor: g.grantor.to_string(),
        grantee: g.grantee.to_string(),
        valid_from: g.valid_from.to_string(),
        valid_until: g.valid_until.to_string(),
        revoked: g.revoked,
        status: status_text(GrantStatus::of(g, at)).to_string(),
        status_at_ms: at.0,
        last_tx: g.last_tx.to_hex(),
    }
}

/// Query of `GET /v1/grants`; all given conditions must hold.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct GrantsQuery {
    /// Dataset id.
    dataset: Option<String>,
    /// Grantee agency.
    grantee: Option<String>,
    /// Grantor agency.
    grantor: Option<String>,
    /// `active`, `revoked`, `expired` or `pending` (not yet valid), at the tip's block time.
    status: Option<String>,
    /// Page size, 1..=page_entries_max (default 50).
    #[param(value_type = Option<u64>)]
    limit: Option<String>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
}

/// Grants filtered by dataset, grantee, grantor and status.
#[utoipa::path(get, path = "/v1/grants", tag = "records", params(GrantsQuery),
    responses((status = 200, body = Page<GrantDto>), (status = 400, body = ErrorBody)))]
pub(crate) async fn grants(
    State(h): State<NodeHandle>,
    Q(q): Q<GrantsQuery>,
) -> ApiResult<Json<Page<GrantDto>>> {
    let status = match q.status.as_deref() {
        None => None,
        Some("active") => Some(GrantStatus::Active),
        Some("revoked") => Some(GrantStatus::Revoked),
        Some("expired") => Some(GrantStatus::Expired),
        Some("pending") => Some(GrantStatus::NotYetValid),
        Some(s) => {
            return Err(ApiError::bad_request(
                "bad_status",
                format!(
                    "status must be active, revoked, expired or pending, found {:?}",
                    short(s)
                ),
            ))
        }
    };
    let at = h.ledger.tip().time;
    let filter = GrantFilter {
        dataset: q
            .dataset
            .as_deref()
            .map(|s| id(s, "dataset").map(str::to_string))
            .transpose()?,
        grantee: q
            .grantee
            .as_deref()
            .map(|s| agency(s, "grantee"))
            .transpose()?,
        grantor: q
            .grantor
            .as_deref()
            .map(|s| agency(s, "grantor"))
            .transpose()?,
        status,
        at: Some(at),
    };
    let (limit, cursor) = page(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        h.limits.page_entries_max,
    )?;
    let p = h.ledger.grants(&filter, cursor, limit)?;
    Ok(Json(Page {
        items: p
            .items
            .iter()
            .map(|(i, g)| grant_dto(i.clone(), g, at))
            .collect(),
        next: p.next,
    }))
}

/// A grant's state, its status at the tip's block time, and its history.
#[utoipa::path(get, path = "/v1/grants/{id}", tag = "records",
    params(("id" = String, Path, description = "grant id"), PageQuery),
    responses((status = 200, body = GrantDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn grant(
    State(h): State<NodeHandle>,
    P(gid): P<String>,
    Q(q): Q<PageQuery>,
) -> ApiResult<Json<GrantDetail>> {
    let gid = id(&gid, "grant id")?;
    let (limit, cursor) = page(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        h.limits.page_entries_max,
    )?;
    let g = h
        .ledger
        .grant(gid)?
        .ok_or_else(|| ApiError::not_found(format!("no grant {gid:?} on this ledger")))?;
    let history = tx_page(h.ledger.grant_history(gid, cursor, limit)?);
    Ok(Json(GrantDetail {
        grant: grant_dto(gid.to_string(), &g, h.ledger.tip().time),
        history,
    }))
}

/// Query of `GET /v1/records`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RecordsQuery {
    /// Record kind, e.g. `register_asset`, `award_procurement`, `grant_data_access`.
    kind: Option<String>,
    /// Signer's agency.
    agency: Option<String>,
    /// Page size, 1..=page_entries_max (default 50).
    #[param(value_type = Option<u64>)]
    limit: Option<String>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
}

fn kind(s: &str) -> ApiResult<RecordKind> {
    RecordKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| {
            let all: Vec<&str> = RecordKind::ALL.iter().map(|k| k.as_str()).collect();
            ApiError::bad_request(
                "bad_kind",
                format!(
                    "kind must be one of {}, found {:?}",
                    all.join(", "),
                    short(s)
                ),
            )
        })
}

/// Applied records of one kind, or signed by one agency (both: that agency's records of
/// that kind; a page may then hold fewer items than `limit`), oldest first.
#[utoipa::path(get, path = "/v1/records", tag = "records", params(RecordsQuery),
    responses((status = 200, body = Page<TxSummary>), (status = 400, body = ErrorBody)))]
pub(crate) async fn records(
    State(h): State<NodeHandle>,
    Q(q): Q<RecordsQuery>,
) -> ApiResult<Json<Page<TxSummary>>> {
    let k = q.kind.as_deref().map(kind).transpose()?;
    let a = q
        .agency
        .as_deref()
        .map(|s| agency(s, "agency"))
        .transpose()?;
    let (limit, cursor) = page(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        h.limits.page_entries_max,
    )?;
    let p = match (k, a) {
        (_, Some(a)) => {
            let mut p = h.ledger.records_by_agency(&a, cursor, limit)?;
            if let Some(k) = k {
                p.items.retain(|r| r.entry.tx.body.record.kind() == k);
            }
            p
        }
        (Some(k), None) => {
            h.ledger
                .records_by_kind(k, TimestampMs(0), TimestampMs(u64::MAX), cursor, limit)?
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "missing_parameter",
                "give `kind` (a record kind), `agency` (an agency id), or both",
            ))
        }
    };
    Ok(Json(tx_page(p)))
}

fn count_members(h: &NodeHandle, a: &chancery_core::AgencyId) -> ApiResult<(usize, bool)> {
    let mut n = 0usize;
    let mut cursor: Option<String> = None;
    let step = h.ledger.config().page_size_max.max(1);
    loop {
        let p = h.ledger.members(a, cursor.as_deref(), step)?;
        n += p.items.len();
        match p.next {
            Some(c) if n < MEMBER_COUNT_MAX => cursor = Some(c),
            Some(_) => return Ok((n, true)),
            None => return Ok((n, false)),
        }
    }
}

fn agency_dto(
    h: &NodeHandle,
    a: &chancery_ledger::agencies::AgencyEntry,
    validators: &chancery_core::validator::ValidatorSet,
) -> ApiResult<AgencyDto> {
    let (member_count, member_count_capped) = count_members(h, &a.id)?;
    let change = |c: &chancery_ledger::agencies::AgencyChange| AgencyChangeDto {
        proposal: c.proposal.clone(),
        height: c.height.0,
    };
    Ok(AgencyDto {
        id: a.id.to_string(),
        name_zh: a.state.name_zh.clone(),
        name_en: a.state.name_en.clone(),
        admin_keys: a.state.admin_keys.iter().map(|k| k.to_string()).collect(),
        member_count,
        member_count_capped,
        validators: validators
            .validators
            .iter()
            .filter(|v| v.agency == a.id)
            .map(|v| v.name.clone())
            .collect(),
        genesis: a.genesis,
        removed: a.state.removed,
        added_by: a.added.as_ref().map(change),
        removed_by: a.removed.as_ref().map(change),
    })
}

/// The validator set in force for the next block (the one that runs the chain now).
fn set_in_force(h: &NodeHandle) -> ApiResult<chancery_core::validator::ValidatorSet> {
    Ok(h.ledger.validator_set_at(h.ledger.tip().height.next())?)
}

/// Every agency of the consortium, with member counts: the genesis agencies, then those
/// that passed proposals added, in order; removed ones included (`removed`, and
/// `removed_by` with the proposal and its block). At most 2048.
#[utoipa::path(get, path = "/v1/agencies", tag = "governance",
    responses((status = 200, body = Vec<AgencyDto>)))]
pub(crate) async fn agencies(State(h): State<NodeHandle>) -> ApiResult<Json<Vec<AgencyDto>>> {
    let all = h.ledger.agencies()?;
    let set = set_in_force(&h)?;
    let mut out = Vec::with_capacity(all.len());
    for a in &all {
        out.push(agency_dto(&h, a, &set)?);
    }
    Ok(Json(out))
}

/// One agency, of the genesis or added by a proposal, removed or not.
#[utoipa::path(get, path = "/v1/agencies/{id}", tag = "governance",
    params(("id" = String, Path, description = "agency id")),
    responses((status = 200, body = AgencyDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn agency_one(
    State(h): State<NodeHandle>,
    P(aid): P<String>,
) -> ApiResult<Json<AgencyDto>> {
    let aid = agency(&aid, "agency id")?;
    let a = h
        .ledger
        .agency_entry(&aid)?
        .ok_or_else(|| ApiError::not_found(format!("no agency {aid} on this ledger")))?;
    Ok(Json(agency_dto(&h, &a, &set_in_force(&h)?)?))
}

fn next_seq(h: &NodeHandle, key: &chancery_core::PublicKey) -> ApiResult<u64> {
    Ok(match h.ledger.state_value(&StateKey::Seq(*key))? {
        Some(StateValue::Seq(s)) => s.0,
        _ => 0,
    })
}

/// Query of `GET /v1/members`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct MembersQuery {
    /// Agency (required).
    agency: Option<String>,
    /// Page size, 1..=page_entries_max (default 50).
    #[param(value_type = Option<u64>)]
    limit: Option<String>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
}

/// Members of an agency (revoked ones included) with their roles, by key.
#[utoipa::path(get, path = "/v1/members", tag = "governance", params(MembersQuery),
    responses((status = 200, body = Page<MemberDto>), (status = 400, body = ErrorBody)))]
pub(crate) async fn members(
    State(h): State<NodeHandle>,
    Q(q): Q<MembersQuery>,
) -> ApiResult<Json<Page<MemberDto>>> {
    let Some(a) = &q.agency else {
        return Err(ApiError::bad_request(
            "missing_parameter",
            "`agency` (an agency id) is required",
        ));
    };
    let a = agency(a, "agency")?;
    let (limit, cursor) = page(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        h.limits.page_entries_max,
    )?;
    let p = h.ledger.members(&a, cursor, limit)?;
    let mut items = Vec::with_capacity(p.items.len());
    for (k, m) in &p.items {
        items.push(member_dto(&h, k, m)?);
    }
    Ok(Json(Page {
        items,
        next: p.next,
    }))
}

fn member_dto(
    h: &NodeHandle,
    key: &chancery_core::PublicKey,
    m: &chancery_core::state::MemberState,
) -> ApiResult<MemberDto> {
    Ok(MemberDto {
        key: key.to_string(),
        agency: m.agency.to_string(),
        name: m.name.clone(),
        roles: m.roles.iter().map(text).collect(),
        revoked: m.revoked,
        next_seq: next_seq(h, key)?,
    })
}

/// A member key: agency, name, roles, revoked, and the sequence number its next
/// transaction must carry.
#[utoipa::path(get, path = "/v1/members/{key}", tag = "governance",
    params(("key" = String, Path, description = "member public key: 64 hex digits (ed25519-blake3) or 130 (sm2-sm3)")),
    responses((status = 200, body = MemberDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn member(
    State(h): State<NodeHandle>,
    P(key): P<String>,
) -> ApiResult<Json<MemberDto>> {
    let key = crate::params::public_key(&key, "member key")?;
    let m = h
        .ledger
        .member(&key)?
        .ok_or_else(|| ApiError::not_found(format!("{key} is not a member key on this ledger")))?;
    Ok(Json(member_dto(&h, &key, &m)?))
}

/// The validators of the epoch in force (for the next block) with liveness: who signed
/// the latest checkpoint (if it is of this epoch), how many this node sees live, and the
/// quorum needed.
#[utoipa::path(get, path = "/v1/validators", tag = "governance",
    responses((status = 200, body = ValidatorsDto)))]
pub(crate) async fn validators(State(h): State<NodeHandle>) -> ApiResult<Json<ValidatorsDto>> {
    let set = &h.ledger.validator_set_at(h.ledger.tip().height.next())?;
    let latest = h.ledger.latest_checkpoint()?;
    let signed: Vec<u16> = latest
        .as_ref()
        .filter(|c| c.certificate.epoch == set.epoch)
        .map(|c| c.certificate.signatures.iter().map(|s| s.index).collect())
        .unwrap_or_default();
    let status = h.status.borrow().clone();
    let validators: Vec<ValidatorDto> = set
        .validators
        .iter()
        .enumerate()
        .map(|(i, v)| ValidatorDto {
            index: i as u16,
            name: v.name.clone(),
            agency: v.agency.to_string(),
            consensus_key: v.consensus_key.to_string(),
            network_key: v.network_key.to_string(),
            power: v.power,
            signed_latest: signed.contains(&(i as u16)),
        })
        .collect();
    Ok(Json(ValidatorsDto {
        epoch: set.epoch.0,
        signed_latest: validators.iter().filter(|v| v.signed_latest).count(),
        validators,
        live: status.validators_live,
        quorum: if status.quorum > 0 {
            status.quorum
        } else {
            crate::quorum_count(set)
        },
        latest_height: latest.map_or(0, |c| c.header.height.0),
    }))
}
