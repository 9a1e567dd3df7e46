//! The Open Contracting Data Standard (OCDS 1.1) export of the procurement process.
//!
//! - `GET /ocds/releases?from=YYYY-MM-DD&to=YYYY-MM-DD&purchaser=&cursor=&limit=`: a
//!   release package of the procurement records (tender, award, contract and
//!   implementation stages) finalized in the date range (block time, UTC, both days
//!   included), oldest first; the next page's URL is in `links.next` and in a
//!   `Link: <...>; rel="next"` header.
//! - `GET /ocds/records/{ocid}`: a record package with every release of the contracting
//!   process and a compiled release (OCDS merge: objects merged, arrays of objects with
//!   `id` merged by id, other values replaced).
//!
//! Mapping: an award record is a release tagged `award` (buyer and procuring entity = the
//! purchaser, `tender.id` = project number, suppliers identified by their unified social
//! credit code under scheme `CN-SAMR`), an amendment `awardUpdate` (changed fields plus an
//! `amendments` entry), a cancellation `awardCancellation` (status `cancelled`). Each
//! release's award carries a document of type `x_chanceryReceipt` whose URL is the
//! record's receipt (`/v1/receipts/{tx}`), checkable offline with `chancery verify`.
//!
//! The other stages (issue 22): a published tender is a release tagged `tender` (status
//! `active`, `tenderPeriod`, budget as `tender.value`), its close `tenderUpdate` (status
//! `complete`, `numberOfTenderers`, disclosed bidders as `tenderers` and `tenderer`
//! parties); a signed contract `contract` (`awardID`, `dateSigned`, `period`), its
//! amendment `contractAmendment`, a milestone or payment `implementation` (a payment is a
//! `transactions` entry paid by the buyer, a milestone a `milestones` entry met on its
//! date; a final payment also sets the contract `terminated`, OCDS's status for a contract
//! that has come to a close), a termination `contractTermination`. Stage documents and the
//! receipt go in the stage's `documents` (tender, award, contract; implementation steps in
//! `implementation.documents`).
//!
//! Limit standards: where the ledger assessed a tender, award or contract, its object
//! carries the extension field `x_chanceryCompliance` (the flags: rule, standard, limit,
//! value; empty when compliant) as the state holds it now, and a breach is also stated in
//! `tender.procurementMethodRationale`.

use crate::locale::major_units;
use crate::render::agency_name;
use crate::{url, Ctx, Explorer, ExplorerError, PAGE_ITEMS_MAX};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chancery_core::block::Outcome;
use chancery_core::record::{AwardStatus, DocumentRef, Item, ProcurementMethod, Record, Supplier};
use chancery_core::{AgencyId, Amount, Date, TimestampMs};
use chancery_ledger::TxRecord;
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// OCDS schema version of the packages.
pub const OCDS_VERSION: &str = "1.1";
/// Releases in one page of `/ocds/releases` when the request does not say.
pub const RELEASES_PAGE_DEFAULT: usize = 100;
/// Most releases in one record package.
pub const RECORD_RELEASES_MAX: usize = 2000;
/// Most ledger pages one `/ocds/releases` request reads while filtering by purchaser.
const FILTER_PAGES_MAX: usize = 8;
/// Organization identifier scheme of unified social credit codes (org-id.guide).
pub const CREDIT_CODE_SCHEME: &str = "CN-SAMR";

/// RFC 3339 UTC time of a block time.
pub fn datetime(t: TimestampMs) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0) * 1_000_000)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

fn date_time(d: Date) -> String {
    format!("{d}T00:00:00Z")
}

fn value(a: Amount) -> Value {
    json!({"amount": major_units(a), "currency": a.currency.as_str()})
}

fn status(s: AwardStatus) -> &'static str {
    match s {
        AwardStatus::Pending => "pending",
        AwardStatus::Active => "active",
        AwardStatus::Unsuccessful => "unsuccessful",
        AwardStatus::Cancelled => "cancelled",
    }
}

/// The OCDS name of a procurement method (`open`, `selective`, `limited`, `direct`).
pub fn method_name(m: ProcurementMethod) -> &'static str {
    method(m)
}

fn method(m: ProcurementMethod) -> &'static str {
    match m {
        ProcurementMethod::Open => "open",
        ProcurementMethod::Selective => "selective",
        ProcurementMethod::Limited => "limited",
        ProcurementMethod::Direct => "direct",
    }
}

fn supplier_id(s: &Supplier) -> String {
    format!("{CREDIT_CODE_SCHEME}-{}", s.credit_code)
}

fn supplier_ref(s: &Supplier) -> Value {
    json!({"id": supplier_id(s), "name": s.name})
}

fn supplier_party(s: &Supplier) -> Value {
    json!({
        "id": supplier_id(s),
        "name": s.name,
        "identifier": {"scheme": CREDIT_CODE_SCHEME, "id": s.credit_code, "legalName": s.name},
        "roles": ["supplier"],
    })
}

fn item(i: &Item) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(i.id));
    o.insert("description".into(), json!(i.description));
    if !i.classification_scheme.is_empty() && !i.classification_id.is_empty() {
        o.insert(
            "classification".into(),
            json!({"scheme": i.classification_scheme, "id": i.classification_id}),
        );
    }
    o.insert("quantity".into(), json!(i.quantity));
    let mut unit = Map::new();
    if !i.unit.is_empty() {
        unit.insert("name".into(), json!(i.unit));
    }
    if let Some(v) = i.unit_value {
        unit.insert("value".into(), value(v));
    }
    if !unit.is_empty() {
        o.insert("unit".into(), Value::Object(unit));
    }
    Value::Object(o)
}

fn is_uri(u: &str) -> bool {
    (u.starts_with("https://") || u.starts_with("http://"))
        && u.len() > 8
        && !u
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
}

fn document(d: &DocumentRef) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(d.hash.to_hex()));
    o.insert("documentType".into(), json!(d.kind));
    o.insert("title".into(), json!(d.title));
    o.insert(
        "description".into(),
        json!(format!("BLAKE3 hash of the document: {}", d.hash.to_hex())),
    );
    if is_uri(&d.url) {
        o.insert("url".into(), json!(d.url));
    }
    Value::Object(o)
}

fn receipt_document(base: &str, r: &TxRecord) -> Value {
    json!({
        "id": format!("receipt-{}", r.hash.to_hex()),
        "documentType": "x_chanceryReceipt",
        "title": "Chancery receipt: proof that this record is in the ledger",
        "description": format!(
            "Log entry {} in block {}. Check offline: chancery verify receipt.json --genesis genesis.json",
            r.index, r.entry.height.0
        ),
        "url": format!("{base}/v1/receipts/{}", r.hash.to_hex()),
        "datePublished": datetime(r.entry.time),
        "format": "application/json",
    })
}

fn party(x: &Explorer, a: &AgencyId, roles: &[&str]) -> Value {
    json!({"id": a.as_str(), "name": agency_name(x, crate::locale::Lang::Zh, a), "roles": roles})
}

/// The release id of a record: the ocid and the record's log index.
pub fn release_id(ocid: &str, r: &TxRecord) -> String {
    format!("{ocid}-{}", r.index)
}

/// The purchasing agency of a procurement record, from the record or the ledger's state
/// (`None` for other kinds, or if the subject is unknown).
pub fn purchaser_of(
    ledger: &chancery_ledger::Ledger,
    rec: &Record,
) -> Result<Option<AgencyId>, chancery_ledger::LedgerError> {
    Ok(match rec {
        Record::AwardProcurement(a) => Some(a.purchaser.clone()),
        Record::PublishTender(t) => Some(t.purchaser.clone()),
        Record::AmendAward(a) => ledger.award(&a.ocid, &a.award_id)?.map(|a| a.purchaser),
        Record::CancelAward(a) => ledger.award(&a.ocid, &a.award_id)?.map(|a| a.purchaser),
        Record::CloseTender(t) => ledger.tender(&t.ocid)?.map(|t| t.purchaser),
        Record::SignContract(c) => ledger
            .contract(&c.ocid, &c.contract_id)?
            .map(|c| c.purchaser),
        Record::AmendContract(c) => ledger
            .contract(&c.ocid, &c.contract_id)?
            .map(|c| c.purchaser),
        Record::RecordImplementation(c) => ledger
            .contract(&c.ocid, &c.contract_id)?
            .map(|c| c.purchaser),
        Record::TerminateContract(c) => ledger
            .contract(&c.ocid, &c.contract_id)?
            .map(|c| c.purchaser),
        _ => None,
    })
}

/// The subject a release amends within its process: `tender`, `award/<id>` or
/// `contract/<id>` (for `amendsReleaseID`).
pub fn stage_key(r: &Record) -> Option<String> {
    match r {
        Record::PublishTender(_) | Record::CloseTender(_) => Some("tender".into()),
        Record::AwardProcurement(_) | Record::AmendAward(_) | Record::CancelAward(_) => {
            award_key(r).map(|(_, a)| format!("award/{a}"))
        }
        Record::SignContract(c) => Some(format!("contract/{}", c.contract_id)),
        Record::AmendContract(c) => Some(format!("contract/{}", c.contract_id)),
        Record::RecordImplementation(c) => Some(format!("contract/{}", c.contract_id)),
        Record::TerminateContract(c) => Some(format!("contract/{}", c.contract_id)),
        _ => None,
    }
}

fn compliance_json(c: &chancery_core::state::ComplianceState) -> Value {
    Value::Array(
        c.flags
            .iter()
            .map(|f| {
                json!({
                    "rule": f.rule.as_str(),
                    "breach": f.rule.is_breach(),
                    "standard": f.standard,
                    "limit": value(f.limit),
                    "value": value(f.value),
                })
            })
            .collect(),
    )
}

/// The rationale text of the breaches in `c`, if any.
fn breach_text(c: &chancery_core::state::ComplianceState) -> Option<String> {
    let b: Vec<String> = c
        .flags
        .iter()
        .filter(|f| f.rule.is_breach())
        .map(|f| {
            format!(
                "{}: value {} at or above the limit {} of standard {} but method {}",
                f.rule.as_str(),
                f.value,
                f.limit,
                f.standard,
                method(c.method)
            )
        })
        .collect();
    (!b.is_empty()).then(|| b.join("; "))
}

/// The (ocid, award id) an award-kind record is about.
pub fn award_key(r: &Record) -> Option<(&str, &str)> {
    match r {
        Record::AwardProcurement(a) => Some((&a.ocid, &a.award_id)),
        Record::AmendAward(a) => Some((&a.ocid, &a.award_id)),
        Record::CancelAward(a) => Some((&a.ocid, &a.award_id)),
        _ => None,
    }
}

/// The OCDS release of a procurement record (`None` for other kinds). `purchaser` is the
/// process's purchaser; `previous` the id of the release this one amends, if known.
pub fn release(
    x: &Explorer,
    base: &str,
    r: &TxRecord,
    purchaser: &AgencyId,
    previous: Option<&str>,
) -> Option<Value> {
    let rec = &r.entry.tx.body.record;
    if award_key(rec).is_none() {
        return stage_release(x, base, r, purchaser, previous);
    }
    let (ocid, award_id) = award_key(rec)?;
    let id = release_id(ocid, r);
    let buyer = json!({"id": purchaser.as_str(), "name": agency_name(x, crate::locale::Lang::Zh, purchaser)});
    let mut parties = vec![party(x, purchaser, &["buyer", "procuringEntity"])];
    let mut award = Map::new();
    award.insert("id".into(), json!(award_id));
    let mut rel = Map::new();
    let tag;
    let mut docs: Vec<Value> = Vec::new();
    match rec {
        Record::AwardProcurement(a) => {
            tag = "award";
            award.insert("title".into(), json!(a.title));
            if !a.description.is_empty() {
                award.insert("description".into(), json!(a.description));
            }
            award.insert("status".into(), json!(status(a.status)));
            award.insert("date".into(), json!(date_time(a.award_date)));
            award.insert("value".into(), value(a.value));
            award.insert(
                "suppliers".into(),
                Value::Array(a.suppliers.iter().map(supplier_ref).collect()),
            );
            parties.extend(a.suppliers.iter().map(supplier_party));
            if !a.items.is_empty() {
                award.insert(
                    "items".into(),
                    Value::Array(a.items.iter().map(item).collect()),
                );
            }
            docs.extend(a.documents.iter().map(document));
            let mut tender = json!({
                "id": a.project_number,
                "title": a.title,
                "procurementMethod": method(a.method),
                "procuringEntity": buyer.clone(),
            });
            if !a.method_details.is_empty() {
                tender["procurementMethodDetails"] = json!(a.method_details);
            }
            rel.insert("tender".into(), tender);
        }
        Record::AmendAward(a) => {
            tag = "awardUpdate";
            if let Some(s) = a.status {
                award.insert("status".into(), json!(status(s)));
            }
            if let Some(v) = a.value {
                award.insert("value".into(), value(v));
            }
            if let Some(s) = &a.suppliers {
                award.insert(
                    "suppliers".into(),
                    Value::Array(s.iter().map(supplier_ref).collect()),
                );
                parties.extend(s.iter().map(supplier_party));
            }
            if let Some(items) = &a.items {
                award.insert(
                    "items".into(),
                    Value::Array(items.iter().map(item).collect()),
                );
            }
            docs.extend(a.documents.iter().map(document));
            let mut am = json!({"id": id, "date": date_time(a.date), "rationale": a.rationale, "releaseID": id});
            if let Some(p) = previous {
                am["amendsReleaseID"] = json!(p);
            }
            award.insert("amendments".into(), json!([am]));
        }
        Record::CancelAward(c) => {
            tag = "awardCancellation";
            award.insert("status".into(), json!("cancelled"));
            let mut am = json!({"id": id, "date": date_time(c.date), "rationale": c.reason, "releaseID": id});
            if let Some(p) = previous {
                am["amendsReleaseID"] = json!(p);
            }
            award.insert("amendments".into(), json!([am]));
        }
        _ => return None,
    }
    docs.push(receipt_document(base, r));
    award.insert("documents".into(), Value::Array(docs));
    let subject = chancery_core::state::ComplianceSubject::Award(ocid.into(), award_id.into());
    if let Ok(Some(c)) = x.node.ledger.compliance(&subject) {
        award.insert("x_chanceryCompliance".into(), compliance_json(&c));
        if let Some(t) = breach_text(&c) {
            let tender = rel.entry("tender").or_insert_with(|| json!({}));
            tender["procurementMethodRationale"] = json!(t);
        }
    }
    rel.insert("awards".into(), json!([Value::Object(award)]));
    Some(finish(rel, ocid, &id, r, tag, parties, buyer))
}

/// The fields every release has, around the stage's own object in `rel`.
fn finish(
    mut rel: Map<String, Value>,
    ocid: &str,
    id: &str,
    r: &TxRecord,
    tag: &str,
    parties: Vec<Value>,
    buyer: Value,
) -> Value {
    rel.insert("ocid".into(), json!(ocid));
    rel.insert("id".into(), json!(id));
    rel.insert("date".into(), json!(datetime(r.entry.time)));
    rel.insert("tag".into(), json!([tag]));
    rel.insert("initiationType".into(), json!("tender"));
    rel.insert("language".into(), json!("zh"));
    rel.insert("parties".into(), Value::Array(parties));
    rel.insert("buyer".into(), buyer);
    Value::Object(rel)
}

fn amendment(id: &str, date: Date, rationale: &str, previous: Option<&str>) -> Value {
    let mut am =
        json!({"id": id, "date": date_time(date), "rationale": rationale, "releaseID": id});
    if let Some(p) = previous {
        am["amendsReleaseID"] = json!(p);
    }
    am
}

/// The release of a tender, contract or implementation record.
fn stage_release(
    x: &Explorer,
    base: &str,
    r: &TxRecord,
    purchaser: &AgencyId,
    previous: Option<&str>,
) -> Option<Value> {
    use chancery_core::procurement::ImplementationKind;
    use chancery_core::state::ComplianceSubject;
    let rec = &r.entry.tx.body.record;
    let ocid = rec.ocid()?;
    let id = release_id(ocid, r);
    let buyer = json!({"id": purchaser.as_str(), "name": agency_name(x, crate::locale::Lang::Zh, purchaser)});
    let mut parties = vec![party(x, purchaser, &["buyer", "procuringEntity"])];
    let mut rel = Map::new();
    let receipt = receipt_document(base, r);
    let compliance = |s: ComplianceSubject| x.node.ledger.compliance(&s).ok().flatten();
    // Every contract object names its award (`awardID` is required in OCDS 1.1).
    let award_of = |contract: &str| -> Option<String> {
        x.node
            .ledger
            .contract(ocid, contract)
            .ok()
            .flatten()
            .map(|c| c.award_id)
    };
    let tag = match rec {
        Record::PublishTender(t) => {
            let mut docs: Vec<Value> = t.documents.iter().map(document).collect();
            docs.push(receipt);
            let mut tender = json!({
                "id": t.ocid,
                "title": t.title,
                "status": "active",
                "procurementMethod": method(t.method),
                "procuringEntity": buyer.clone(),
                "value": value(t.budget),
                "tenderPeriod": {"startDate": date_time(t.publish_date), "endDate": date_time(t.submission_deadline)},
                "documents": docs,
            });
            if !t.description.is_empty() {
                tender["description"] = json!(t.description);
            }
            if !t.method_details.is_empty() {
                tender["procurementMethodDetails"] = json!(t.method_details);
            }
            if !t.items.is_empty() {
                tender["items"] = Value::Array(t.items.iter().map(item).collect());
            }
            if let Some(c) = compliance(ComplianceSubject::Tender(t.ocid.clone())) {
                tender["x_chanceryCompliance"] = compliance_json(&c);
                if let Some(b) = breach_text(&c) {
                    tender["procurementMethodRationale"] = json!(b);
                }
            }
            rel.insert("tender".into(), tender);
            "tender"
        }
        Record::CloseTender(t) => {
            let mut tender = json!({
                "id": t.ocid,
                "status": "complete",
                "numberOfTenderers": t.bids_received,
                "documents": [receipt],
            });
            if let chancery_core::record::Restricted::Open(b) = &t.bidders {
                tender["tenderers"] = Value::Array(b.iter().map(supplier_ref).collect());
                parties.extend(b.iter().map(|s| {
                    let mut p = supplier_party(s);
                    p["roles"] = json!(["tenderer"]);
                    p
                }));
            }
            rel.insert("tender".into(), tender);
            "tenderUpdate"
        }
        Record::SignContract(c) => {
            let mut docs: Vec<Value> = c.documents.iter().map(document).collect();
            docs.push(receipt);
            let mut k = json!({
                "id": c.contract_id,
                "awardID": c.award_id,
                "title": c.title,
                "status": "active",
                "value": value(c.value),
                "dateSigned": date_time(c.signed_date),
                "period": {"startDate": date_time(c.period_start), "endDate": date_time(c.period_end)},
                "documents": docs,
            });
            let s = ComplianceSubject::Contract(c.ocid.clone(), c.contract_id.clone());
            if let Some(f) = compliance(s) {
                k["x_chanceryCompliance"] = compliance_json(&f);
            }
            rel.insert("contracts".into(), json!([k]));
            "contract"
        }
        Record::AmendContract(c) => {
            let mut docs: Vec<Value> = c.documents.iter().map(document).collect();
            docs.push(receipt);
            let mut k = json!({
                "id": c.contract_id,
                "awardID": award_of(&c.contract_id)?,
                "documents": docs,
                "amendments": [amendment(&id, c.date, &c.rationale, previous)],
            });
            if let Some(v) = c.value {
                k["value"] = value(v);
            }
            if let Some(e) = c.period_end {
                k["period"] = json!({"endDate": date_time(e)});
            }
            rel.insert("contracts".into(), json!([k]));
            "contractAmendment"
        }
        Record::RecordImplementation(s) => {
            let step_id = r.hash.to_hex();
            let mut docs: Vec<Value> = s.documents.iter().map(document).collect();
            docs.push(receipt);
            let mut imp = json!({"documents": docs});
            match s.kind {
                ImplementationKind::Milestone => {
                    let mut m = json!({
                        "id": step_id,
                        "title": s.title,
                        "type": "delivery",
                        "status": "met",
                        "dateMet": date_time(s.date),
                    });
                    if let Some(v) = s.value {
                        m["value"] = value(v);
                    }
                    imp["milestones"] = json!([m]);
                }
                ImplementationKind::Payment | ImplementationKind::FinalPayment => {
                    imp["transactions"] = json!([{
                        "id": step_id,
                        "source": format!("{base}/v1/receipts/{step_id}"),
                        "date": date_time(s.date),
                        "value": s.value.map(value),
                        "payer": {"id": purchaser.as_str(), "name": agency_name(x, crate::locale::Lang::Zh, purchaser)},
                        "uri": format!("{base}/tx/{step_id}"),
                    }]);
                }
            }
            let mut k = json!({
                "id": s.contract_id,
                "awardID": award_of(&s.contract_id)?,
                "implementation": imp,
            });
            if s.kind == ImplementationKind::FinalPayment {
                k["status"] = json!("terminated");
            }
            rel.insert("contracts".into(), json!([k]));
            "implementation"
        }
        Record::TerminateContract(t) => {
            rel.insert(
                "contracts".into(),
                json!([{
                    "id": t.contract_id,
                    "awardID": award_of(&t.contract_id)?,
                    "status": "terminated",
                    "documents": [receipt],
                    "amendments": [amendment(&id, t.date, &t.reason, previous)],
                }]),
            );
            "contractTermination"
        }
        _ => return None,
    };
    Some(finish(rel, ocid, &id, r, tag, parties, buyer))
}

/// OCDS merge of `src` into `dst`: objects merged key by key, arrays of objects that all
/// have an `id` merged by id, everything else replaced.
pub fn merge(dst: &mut Value, src: &Value) {
    match (dst, src) {
        (Value::Object(d), Value::Object(s)) => {
            for (k, v) in s {
                match d.get_mut(k) {
                    Some(dv) => merge(dv, v),
                    None => {
                        d.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(d), Value::Array(s))
            if !s.is_empty()
                && s.iter().all(|e| e.get("id").is_some())
                && d.iter().all(|e| e.get("id").is_some()) =>
        {
            for e in s {
                match d.iter_mut().find(|x| x.get("id") == e.get("id")) {
                    Some(x) => merge(x, e),
                    None => d.push(e.clone()),
                }
            }
        }
        (d, s) => *d = s.clone(),
    }
}

/// The compiled release of a contracting process from its releases, oldest first.
pub fn compile(ocid: &str, releases: &[Value]) -> Value {
    let mut c = json!({});
    for r in releases {
        merge(&mut c, r);
    }
    c["id"] = json!(format!("{ocid}-compiled"));
    c["tag"] = json!(["compiled"]);
    c
}

fn package_head(x: &Explorer, uri: String) -> Map<String, Value> {
    let mut p = Map::new();
    p.insert("uri".into(), json!(uri));
    p.insert("version".into(), json!(OCDS_VERSION));
    p.insert(
        "publishedDate".into(),
        json!(datetime(x.node.ledger.tip().time)),
    );
    p.insert(
        "publisher".into(),
        json!({"name": format!("Chancery ledger {}", x.node.genesis.chain_name), "uid": x.node.ledger.chain_id().to_hex()}),
    );
    p
}

fn json_error(e: ExplorerError) -> Response {
    let code = match &e {
        ExplorerError::NotFound { .. } => "not_found",
        ExplorerError::BadParam { .. } => "bad_param",
        ExplorerError::Ledger(_) => "ledger",
    };
    (
        e.status(),
        Json(json!({"code": code, "message": e.to_string(), "details": null})),
    )
        .into_response()
}

fn bad(name: &'static str, expected: &'static str, found: &str) -> ExplorerError {
    ExplorerError::BadParam {
        name,
        expected,
        found: found.to_string(),
    }
}

/// `GET /ocds/releases`.
pub async fn releases(State(x): State<Explorer>, cx: Ctx) -> Response {
    match releases_package(&x, &cx) {
        Ok((body, next)) => {
            let mut r = (StatusCode::OK, Json(body)).into_response();
            if let Some(n) = next.and_then(|n| format!("<{n}>; rel=\"next\"").parse().ok()) {
                r.headers_mut().insert(header::LINK, n);
            }
            r
        }
        Err(e) => json_error(e),
    }
}

fn releases_package(x: &Explorer, cx: &Ctx) -> Result<(Value, Option<String>), ExplorerError> {
    let day = |name: &'static str| -> Result<Option<Date>, ExplorerError> {
        cx.q(name)
            .map(|s| {
                s.parse::<Date>()
                    .map_err(|_| bad(name, "a date YYYY-MM-DD", s))
            })
            .transpose()
    };
    let from = day("from")?.map_or(TimestampMs(0), |d| d.start_ms());
    let until = day("to")?.map_or(TimestampMs(u64::MAX), |d| {
        TimestampMs(d.start_ms().0.saturating_add(86_400_000))
    });
    let purchaser: Option<AgencyId> = cx
        .q("purchaser")
        .map(|s| s.parse().map_err(|_| bad("purchaser", "an agency id", s)))
        .transpose()?;
    let limit = match cx.q("limit") {
        None => RELEASES_PAGE_DEFAULT,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=PAGE_ITEMS_MAX * 10).contains(n))
            .ok_or_else(|| bad("limit", "a number from 1 to 1000", s))?,
    };
    let ledger = &x.node.ledger;
    let mut cursor = cx.q("cursor").map(str::to_string);
    let mut out = Vec::new();
    let mut next = None;
    for _ in 0..FILTER_PAGES_MAX {
        let page = ledger.award_releases(from, until, cursor.as_deref(), limit - out.len())?;
        for r in &page.items {
            let Some(owner) = purchaser_of(ledger, &r.entry.tx.body.record)? else {
                continue;
            };
            if purchaser.as_ref().is_some_and(|p| *p != owner) {
                continue;
            }
            if let Some(rel) = release(x, &cx.base, r, &owner, None) {
                out.push(rel);
            }
        }
        next = page.next;
        if out.len() >= limit || next.is_none() {
            break;
        }
        cursor = next.clone();
    }
    let next_url = next.map(|n| {
        format!(
            "{}{}",
            cx.base,
            url(
                "/ocds/releases",
                cx.query
                    .iter()
                    .filter(|(k, _)| k.as_str() != "cursor")
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .chain([("cursor", n.as_str())]),
            )
        )
    });
    let mut p = package_head(x, format!("{}{}", cx.base, cx.with(&[])));
    p.insert("releases".into(), Value::Array(out));
    if let Some(n) = &next_url {
        p.insert("links".into(), json!({"next": n}));
    }
    Ok((Value::Object(p), next_url))
}

/// `GET /ocds/records/{ocid}`.
pub async fn record(
    State(x): State<Explorer>,
    cx: Ctx,
    axum::extract::Path(ocid): axum::extract::Path<String>,
) -> Response {
    match record_package(&x, &cx, &ocid) {
        Ok(v) => (StatusCode::OK, Json(v)).into_response(),
        Err(e) => json_error(e),
    }
}

/// The record package of one contracting process.
pub fn record_package(x: &Explorer, cx: &Ctx, ocid: &str) -> Result<Value, ExplorerError> {
    let ledger = &x.node.ledger;
    let mut recs: Vec<TxRecord> = Vec::new();
    let mut cursor: Option<String> = None;
    // Every record of the process; an index written before processes were indexed as a
    // whole (issue 22) lists the awards only, under the award subjects.
    let whole = !ledger.process_history(ocid, None, 1)?.items.is_empty();
    loop {
        let page = if whole {
            ledger.process_history(ocid, cursor.as_deref(), 1000)?
        } else {
            ledger.ocid_records(ocid, cursor.as_deref(), 1000)?
        };
        recs.extend(
            page.items
                .into_iter()
                .filter(|r| r.entry.outcome == Outcome::Applied),
        );
        if recs.len() >= RECORD_RELEASES_MAX {
            recs.truncate(RECORD_RELEASES_MAX);
            break;
        }
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    // Oldest first across the process's awards.
    recs.sort_by_key(|r| r.index);
    let mut releases = Vec::new();
    let mut last_of: std::collections::HashMap<String, String> = Default::default();
    for r in &recs {
        let rec = &r.entry.tx.body.record;
        if rec.ocid() != Some(ocid) {
            continue;
        }
        let (Some(stage), Some(owner)) = (stage_key(rec), purchaser_of(ledger, rec)?) else {
            continue;
        };
        let prev = last_of.get(&stage).cloned();
        if let Some(rel) = release(x, &cx.base, r, &owner, prev.as_deref()) {
            last_of.insert(stage, release_id(ocid, r));
            releases.push(rel);
        }
    }
    if releases.is_empty() {
        return Err(ExplorerError::NotFound {
            what: "contracting process",
            id: ocid.to_string(),
        });
    }
    let compiled = compile(ocid, &releases);
    let mut p = package_head(x, format!("{}{}", cx.base, cx.with(&[])));
    p.insert(
        "records".into(),
        json!([{"ocid": ocid, "releases": releases, "compiledRelease": compiled}]),
    );
    Ok(Value::Object(p))
}
