//! The efficiency dashboards (issue 22): `/dashboard?section=procurement|assets|sharing`
//! in HTML (server-rendered SVG bar charts, each with the table behind it; no script), and
//! the same tables as JSON at `/v1/stats/{section}` and as CSV at
//! `/v1/stats/{section}/{table}.csv`. Filters: `agency`, `from` and `to` (months,
//! `YYYY-MM`), `currency` (default CNY). Every figure comes from the in-memory aggregates
//! of `stats.rs`; rows link to the records behind them where a list can show them.

use crate::locale::{major_units, Lang};
use crate::pages::{bad, page, R};
use crate::render::{agency_name, respond};
use crate::stats::{quantiles, Agg, Month, Stats};
use crate::{url, Ctx, Explorer, ExplorerError};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chancery_core::{AgencyId, Currency};
use maud::{html, Markup};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Most rows of a table (the largest first where a table is ranked).
pub const TABLE_ROWS_MAX: usize = 50;
/// Suppliers in the concentration table.
pub const TOP_SUPPLIERS: usize = 10;

/// The dashboards' sections.
pub const SECTIONS: [&str; 3] = ["procurement", "assets", "sharing"];

/// A dashboard section, as the OpenAPI document names it (the handlers take the path
/// segment as text so that a wrong one gets the explorer's own error).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // documentation only
pub enum Section {
    /// Procurement: methods, agencies, months, durations, suppliers, compliance flags.
    Procurement,
    /// State assets: registrations, transfers, disposals, holdings, flows.
    Assets,
    /// Data sharing: grant status, network, purposes, actions.
    Sharing,
}

/// The filters of `/v1/stats/...` (and of `/dashboard`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation only
pub struct StatsQuery {
    /// Only this agency's records (purchaser, custodian, grantor or grantee).
    #[param(pattern = r"^[A-Za-z0-9._:/-]{1,64}$")]
    pub agency: Option<String>,
    /// First month included, `YYYY-MM`.
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub from: Option<String>,
    /// Last month included, `YYYY-MM`.
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub to: Option<String>,
    /// Values in this ISO 4217 currency only (default CNY).
    #[param(pattern = r"^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// Language of the text cells (`zh` or `en`; default from the cookie, else zh).
    #[param(pattern = r"^(zh|en)$")]
    pub lang: Option<String>,
}

/// One table of a section: column names, rows (one object per row keyed by column, with
/// `records`, the URL of the list behind the row, where there is one) and a note.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only
pub struct StatsTableDoc {
    /// Column names (snake_case).
    pub columns: Vec<String>,
    /// Rows: counts and per mille as integers, money as `{minor, currency}`.
    pub rows: Vec<serde_json::Map<String, Value>>,
    /// What the table does not follow (a filter it ignores), if anything.
    pub note: Option<String>,
}

/// The answer of `GET /v1/stats/{section}`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only
pub struct StatsDoc {
    /// The section.
    pub section: Section,
    /// The log size the aggregates were computed at.
    pub as_of_log_size: u64,
    /// The currency of the money cells.
    pub currency: String,
    /// The section's tables by name.
    pub tables: BTreeMap<String, StatsTableDoc>,
}

/// One cell.
#[derive(Clone, Debug)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A count.
    Num(u64),
    /// A signed count.
    Int(i64),
    /// Minor units of the filter's currency.
    Money(u64),
    /// A share, in per mille.
    Permille(u64),
}

/// One row, with the page that lists its records.
#[derive(Clone, Debug)]
pub struct Row {
    /// Cells, one per column.
    pub cells: Vec<Cell>,
    /// The records behind the row.
    pub href: Option<String>,
}

/// One table (and its chart).
#[derive(Clone, Debug)]
pub struct Table {
    /// Name, as in the CSV URL.
    pub name: &'static str,
    /// Title (zh, en).
    pub title: (&'static str, &'static str),
    /// Column names (snake_case, as in JSON and CSV).
    pub columns: Vec<&'static str>,
    /// Rows.
    pub rows: Vec<Row>,
    /// The column charted as bars, if any.
    pub chart: Option<usize>,
    /// What the table does not follow (a filter it ignores), if anything.
    pub note: Option<(&'static str, &'static str)>,
}

/// The filters of a request.
#[derive(Clone, Debug)]
pub struct Filters {
    agency: Option<AgencyId>,
    from: Option<Month>,
    to: Option<Month>,
    currency: Currency,
}

fn parse_month(s: &str) -> Option<Month> {
    let (y, m) = s.split_once('-')?;
    let (y, m) = (y.parse::<u16>().ok()?, m.parse::<u8>().ok()?);
    ((1900..=9999).contains(&y) && (1..=12).contains(&m) && s.len() == 7).then_some((y, m))
}

fn filters(cx: &Ctx) -> Result<Filters, ExplorerError> {
    let m = |name: &'static str| -> Result<Option<Month>, ExplorerError> {
        cx.q(name)
            .filter(|s| !s.is_empty())
            .map(|s| parse_month(s).ok_or_else(|| bad(name, "a month YYYY-MM", s)))
            .transpose()
    };
    Ok(Filters {
        agency: cx
            .q("agency")
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(|_| bad("agency", "an agency id", s)))
            .transpose()?,
        from: m("from")?,
        to: m("to")?,
        currency: match cx.q("currency").filter(|s| !s.is_empty()) {
            None => Currency::CNY,
            Some(s) => s
                .parse()
                .map_err(|_| bad("currency", "an ISO 4217 code such as CNY", s))?,
        },
    })
}

impl Filters {
    fn agency_ok(&self, a: &AgencyId) -> bool {
        self.agency.as_ref().is_none_or(|x| x == a)
    }
    fn month_ok(&self, m: Month) -> bool {
        self.from.is_none_or(|f| m >= f) && self.to.is_none_or(|t| m <= t)
    }
    /// The award list's query for these filters (the records behind a procurement row).
    fn awards_href(&self, agency: Option<&AgencyId>, months: Option<(Month, Month)>) -> String {
        let a = agency
            .or(self.agency.as_ref())
            .map(|a| a.as_str().to_string());
        let (from, to) = match months {
            Some((f, t)) => (Some(f), Some(t)),
            None => (self.from, self.to),
        };
        let from = from.map(|(y, m)| format!("{y:04}-{m:02}-01"));
        let to = to.map(|(y, m)| {
            let last = (28..=31)
                .rev()
                .find(|d| chancery_core::Date::new(y, m, *d).is_some())
                .unwrap_or(28);
            format!("{y:04}-{m:02}-{last:02}")
        });
        let mut q: Vec<(&str, String)> = vec![];
        if let Some(a) = a {
            q.push(("purchaser", a));
        }
        if let Some(f) = from {
            q.push(("from", f));
        }
        if let Some(t) = to {
            q.push(("to", t));
        }
        url("/awards", q.iter().map(|(k, v)| (*k, v.as_str())))
    }
}

fn month_text((y, m): Month) -> String {
    format!("{y:04}-{m:02}")
}

fn ranked(mut rows: Vec<Row>, by: usize) -> Vec<Row> {
    let key = |r: &Row| match r.cells.get(by) {
        Some(Cell::Num(n) | Cell::Money(n) | Cell::Permille(n)) => *n as i128,
        Some(Cell::Int(n)) => *n as i128,
        _ => 0,
    };
    rows.sort_by_key(|r| std::cmp::Reverse(key(r)));
    rows.truncate(TABLE_ROWS_MAX);
    rows
}

fn procurement(s: &Stats, f: &Filters, x: &Explorer, l: Lang) -> Vec<Table> {
    let awards = s
        .awards
        .iter()
        .filter(|((a, _, c, m), _)| f.agency_ok(a) && *c == f.currency && f.month_ok(*m));
    let mut by_method: BTreeMap<&'static str, Agg> = BTreeMap::new();
    let mut by_agency: BTreeMap<AgencyId, (Agg, u64, u64, u64)> = BTreeMap::new();
    let mut by_month: BTreeMap<Month, (Agg, u64, u64)> = BTreeMap::new();
    let (mut total, mut open) = (Agg::default(), Agg::default());
    for ((a, method, _, m), g) in awards {
        let name = crate::ocds::method_name(*method);
        let e = by_method.entry(name).or_default();
        e.count += g.count;
        e.minor = e.minor.saturating_add(g.minor);
        let e = &mut by_agency.entry(a.clone()).or_default().0;
        e.count += g.count;
        e.minor = e.minor.saturating_add(g.minor);
        let e = &mut by_month.entry(*m).or_default().0;
        e.count += g.count;
        e.minor = e.minor.saturating_add(g.minor);
        total.count += g.count;
        total.minor = total.minor.saturating_add(g.minor);
        if *method == chancery_core::record::ProcurementMethod::Open {
            open.count += g.count;
            open.minor = open.minor.saturating_add(g.minor);
        }
    }
    for ((a, _, c, m), g) in &s.tenders {
        if f.agency_ok(a) && *c == f.currency && f.month_ok(*m) {
            by_agency.entry(a.clone()).or_default().1 += g.count;
        }
    }
    for ((a, c, m), g) in &s.contracts {
        if f.agency_ok(a) && *c == f.currency && f.month_ok(*m) {
            by_agency.entry(a.clone()).or_default().2 += g.count;
            by_month.entry(*m).or_default().1 += g.count;
        }
    }
    for ((a, c, m), g) in &s.payments {
        if f.agency_ok(a) && *c == f.currency && f.month_ok(*m) {
            let e = by_agency.entry(a.clone()).or_default();
            e.3 = e.3.saturating_add(g.minor);
            let e = by_month.entry(*m).or_default();
            e.2 = e.2.saturating_add(g.minor);
        }
    }
    let permille = |part: u64, whole: u64| -> u64 {
        if whole == 0 {
            0
        } else {
            (u128::from(part) * 1000 / u128::from(whole)) as u64
        }
    };
    let mut durations = Vec::new();
    let agencies: std::collections::BTreeSet<&AgencyId> = s
        .tender_to_award
        .keys()
        .chain(s.award_to_contract.keys())
        .filter(|a| f.agency_ok(a))
        .collect();
    for a in agencies {
        let q = |h: Option<&crate::stats::Histogram>| h.and_then(quantiles);
        let ta = q(s.tender_to_award.get(a));
        let ac = q(s.award_to_contract.get(a));
        let n = |v: Option<(u32, u32)>, p90: bool| match v {
            Some((m, p)) => Cell::Num(u64::from(if p90 { p } else { m })),
            None => Cell::Text("-".into()),
        };
        durations.push(Row {
            cells: vec![
                Cell::Text(agency_name(x, l, a)),
                n(ta, false),
                n(ta, true),
                n(ac, false),
                n(ac, true),
            ],
            href: Some(f.awards_href(Some(a), None)),
        });
    }
    let whole: u64 = s
        .supplier_rank
        .iter()
        .filter(|(c, _, _)| *c == f.currency)
        .map(|(_, v, _)| v.0)
        .sum();
    let suppliers = s
        .supplier_rank
        .range((f.currency, std::cmp::Reverse(u64::MAX), String::new())..)
        .take_while(|(c, _, _)| *c == f.currency)
        .take(TOP_SUPPLIERS)
        .map(|(c, v, code)| {
            let name = s
                .suppliers
                .get(&(*c, code.clone()))
                .map(|(n, _)| n.clone())
                .unwrap_or_default();
            Row {
                cells: vec![
                    Cell::Text(name),
                    Cell::Text(code.clone()),
                    Cell::Money(v.0),
                    Cell::Permille(permille(v.0, whole)),
                ],
                href: Some(url("/awards", [("supplier", code.as_str())])),
            }
        })
        .collect();
    let mut flags: BTreeMap<(&'static str, AgencyId), u64> = BTreeMap::new();
    for ((rule, a, m), n) in &s.flags {
        if f.agency_ok(a) && f.month_ok(*m) {
            *flags.entry((*rule, a.clone())).or_default() += n;
        }
    }
    vec![
        Table {
            name: "by_method",
            title: ("按采购方式", "By procurement method"),
            columns: vec!["method", "awards", "value"],
            rows: by_method
                .into_iter()
                .map(|(m, g)| Row {
                    cells: vec![
                        Cell::Text(m.into()),
                        Cell::Num(g.count),
                        Cell::Money(g.minor),
                    ],
                    href: Some(f.awards_href(None, None)),
                })
                .collect(),
            chart: Some(2),
            note: None,
        },
        Table {
            name: "open_share",
            title: ("公开招标占比", "Share of open tendering"),
            columns: vec![
                "awards",
                "open_awards",
                "count_share_permille",
                "value_share_permille",
            ],
            rows: vec![Row {
                cells: vec![
                    Cell::Num(total.count),
                    Cell::Num(open.count),
                    Cell::Permille(permille(open.count, total.count)),
                    Cell::Permille(permille(open.minor, total.minor)),
                ],
                href: Some(f.awards_href(None, None)),
            }],
            chart: None,
            note: None,
        },
        Table {
            name: "by_agency",
            title: ("按采购人", "By purchaser"),
            columns: vec!["agency", "awards", "value", "tenders", "contracts", "paid"],
            rows: ranked(
                by_agency
                    .into_iter()
                    .map(|(a, (g, t, c, p))| Row {
                        href: Some(f.awards_href(Some(&a), None)),
                        cells: vec![
                            Cell::Text(agency_name(x, l, &a)),
                            Cell::Num(g.count),
                            Cell::Money(g.minor),
                            Cell::Num(t),
                            Cell::Num(c),
                            Cell::Money(p),
                        ],
                    })
                    .collect(),
                2,
            ),
            chart: Some(2),
            note: None,
        },
        Table {
            name: "by_month",
            title: ("按月份", "By month"),
            columns: vec!["month", "awards", "value", "contracts", "paid"],
            rows: by_month
                .into_iter()
                .rev()
                .take(TABLE_ROWS_MAX)
                .map(|(m, (g, c, p))| Row {
                    href: Some(f.awards_href(None, Some((m, m)))),
                    cells: vec![
                        Cell::Text(month_text(m)),
                        Cell::Num(g.count),
                        Cell::Money(g.minor),
                        Cell::Num(c),
                        Cell::Money(p),
                    ],
                })
                .collect(),
            chart: Some(2),
            note: None,
        },
        Table {
            name: "durations",
            title: ("环节用时（天）", "Days between stages"),
            columns: vec![
                "agency",
                "tender_to_award_median",
                "tender_to_award_p90",
                "award_to_contract_median",
                "award_to_contract_p90",
            ],
            rows: durations,
            chart: Some(1),
            note: Some((
                "不按时段和币种筛选。",
                "Not filtered by period or currency.",
            )),
        },
        Table {
            name: "top_suppliers",
            title: ("供应商集中度（前十）", "Supplier concentration (top ten)"),
            columns: vec!["supplier", "credit_code", "value", "share_permille"],
            rows: suppliers,
            chart: Some(2),
            note: Some((
                "所有采购人、所有时段；多家供应商的授标按人数均分。",
                "All purchasers and periods; an award with several suppliers is shared equally.",
            )),
        },
        Table {
            name: "flags",
            title: ("限额标准标记", "Limit-standard flags"),
            columns: vec!["rule", "agency", "count"],
            rows: ranked(
                flags
                    .into_iter()
                    .map(|((rule, a), n)| Row {
                        href: Some(f.awards_href(Some(&a), None)),
                        cells: vec![
                            Cell::Text(rule.into()),
                            Cell::Text(agency_name(x, l, &a)),
                            Cell::Num(n),
                        ],
                    })
                    .collect(),
                2,
            ),
            chart: Some(2),
            note: Some(("不按币种筛选。", "Not filtered by currency.")),
        },
    ]
}

fn assets(s: &Stats, f: &Filters, x: &Explorer, l: Lang) -> Vec<Table> {
    let mut by_month: BTreeMap<Month, (Agg, u64, u64)> = BTreeMap::new();
    let mut by_class: BTreeMap<&str, Agg> = BTreeMap::new();
    for ((a, class, m), g) in &s.registered {
        if f.agency_ok(a) && f.month_ok(*m) {
            let e = &mut by_month.entry(*m).or_default().0;
            e.count += g.count;
            e.minor = e.minor.saturating_add(g.minor);
            let e = by_class.entry(class.as_str()).or_default();
            e.count += g.count;
            e.minor = e.minor.saturating_add(g.minor);
        }
    }
    let mut flows: BTreeMap<(AgencyId, AgencyId), u64> = BTreeMap::new();
    for ((from, to, m), n) in &s.transfers {
        if (f.agency_ok(from) || f.agency_ok(to)) && f.month_ok(*m) {
            by_month.entry(*m).or_default().1 += n;
            *flows.entry((from.clone(), to.clone())).or_default() += n;
        }
    }
    let mut by_method: BTreeMap<&'static str, u64> = BTreeMap::new();
    for ((a, method, m), n) in &s.disposals {
        if f.agency_ok(a) && f.month_ok(*m) {
            by_month.entry(*m).or_default().2 += n;
            *by_method.entry(disposal_name(*method)).or_default() += n;
        }
    }
    let agency_href = |a: &AgencyId| url("/agency", [("id", a.as_str())]);
    vec![
        Table {
            name: "by_month",
            title: ("按月份", "By month"),
            columns: vec![
                "month",
                "registered",
                "registered_value",
                "transferred",
                "disposed",
            ],
            rows: by_month
                .into_iter()
                .rev()
                .take(TABLE_ROWS_MAX)
                .map(|(m, (g, t, d))| Row {
                    cells: vec![
                        Cell::Text(month_text(m)),
                        Cell::Num(g.count),
                        Cell::Money(g.minor),
                        Cell::Num(t),
                        Cell::Num(d),
                    ],
                    href: None,
                })
                .collect(),
            chart: Some(1),
            note: Some((
                "原值按登记币种合计，不换算。",
                "Values in the currency registered, not converted.",
            )),
        },
        Table {
            name: "by_class",
            title: (
                "按资产类别（分类代码前三位）",
                "By category class (first three characters)",
            ),
            columns: vec!["class", "registered", "registered_value"],
            rows: ranked(
                by_class
                    .into_iter()
                    .map(|(c, g)| Row {
                        cells: vec![
                            Cell::Text(c.into()),
                            Cell::Num(g.count),
                            Cell::Money(g.minor),
                        ],
                        href: None,
                    })
                    .collect(),
                1,
            ),
            chart: Some(1),
            note: None,
        },
        Table {
            name: "holdings",
            title: ("各机构在册资产", "Assets held by custodian"),
            columns: vec!["agency", "held"],
            rows: ranked(
                s.holdings
                    .iter()
                    .filter(|(a, _)| f.agency_ok(a))
                    .map(|(a, n)| Row {
                        cells: vec![Cell::Text(agency_name(x, l, a)), Cell::Int(*n)],
                        href: Some(agency_href(a)),
                    })
                    .collect(),
                1,
            ),
            chart: Some(1),
            note: Some(("当前数量，不按时段筛选。", "Now; not filtered by period.")),
        },
        Table {
            name: "flows",
            title: ("机构间调拨", "Transfers between agencies"),
            columns: vec!["from", "to", "transfers"],
            rows: pair_rows(x, l, flows, |a, _| agency_href(a)),
            chart: Some(2),
            note: None,
        },
        Table {
            name: "disposals_by_method",
            title: ("按处置方式", "Disposals by method"),
            columns: vec!["method", "disposed"],
            rows: by_method
                .into_iter()
                .map(|(m, n)| Row {
                    cells: vec![Cell::Text(m.into()), Cell::Num(n)],
                    href: None,
                })
                .collect(),
            chart: Some(1),
            note: None,
        },
    ]
}

/// Rows of counts per (agency, agency) pair, largest first: transfer flows, the grant
/// network. `href` names the records behind a pair.
fn pair_rows(
    x: &Explorer,
    l: Lang,
    pairs: BTreeMap<(AgencyId, AgencyId), u64>,
    href: impl Fn(&AgencyId, &AgencyId) -> String,
) -> Vec<Row> {
    ranked(
        pairs
            .into_iter()
            .map(|((a, b), n)| Row {
                href: Some(href(&a, &b)),
                cells: vec![
                    Cell::Text(agency_name(x, l, &a)),
                    Cell::Text(agency_name(x, l, &b)),
                    Cell::Num(n),
                ],
            })
            .collect(),
        2,
    )
}

fn disposal_name(m: chancery_core::record::DisposalMethod) -> &'static str {
    use chancery_core::record::DisposalMethod::*;
    match m {
        Transfer => "transfer",
        Donation => "donation",
        Sale => "sale",
        Exchange => "exchange",
        Scrapping => "scrapping",
        WriteOff => "write_off",
    }
}

fn sharing(
    s: &Stats,
    f: &Filters,
    x: &Explorer,
    l: Lang,
    now: chancery_core::TimestampMs,
) -> Vec<Table> {
    let (active, pending, expired, revoked) = s.grant_status(now);
    let status = |name: &str, n: u64| Row {
        cells: vec![Cell::Text(name.into()), Cell::Num(n)],
        href: Some(url("/grants", [("status", name)])),
    };
    let mut network: BTreeMap<(AgencyId, AgencyId), u64> = BTreeMap::new();
    let mut by_month: BTreeMap<Month, u64> = BTreeMap::new();
    for ((a, b, m), n) in &s.grants {
        if (f.agency_ok(a) || f.agency_ok(b)) && f.month_ok(*m) {
            *network.entry((a.clone(), b.clone())).or_default() += n;
            *by_month.entry(*m).or_default() += n;
        }
    }
    vec![
        Table {
            name: "status",
            title: ("授权状态", "Grants by status"),
            columns: vec!["status", "grants"],
            rows: vec![
                status("active", active),
                status("pending", pending),
                status("expired", expired),
                status("revoked", revoked),
            ],
            chart: Some(1),
            note: Some((
                "全部机构，按最新区块时间。",
                "All agencies, at the latest block's time.",
            )),
        },
        Table {
            name: "network",
            title: ("授权方—被授权方", "Grantor to grantee"),
            columns: vec!["grantor", "grantee", "grants"],
            rows: pair_rows(x, l, network, |a, b| {
                url(
                    "/grants",
                    [("grantor", a.as_str()), ("grantee", b.as_str())],
                )
            }),
            chart: Some(2),
            note: None,
        },
        Table {
            name: "by_month",
            title: ("按起始月份", "By first month of validity"),
            columns: vec!["month", "grants"],
            rows: by_month
                .into_iter()
                .rev()
                .take(TABLE_ROWS_MAX)
                .map(|(m, n)| Row {
                    cells: vec![Cell::Text(month_text(m)), Cell::Num(n)],
                    href: None,
                })
                .collect(),
            chart: Some(1),
            note: None,
        },
        Table {
            name: "by_action",
            title: ("按许可行为", "By permitted action"),
            columns: vec!["action", "grants"],
            rows: s
                .actions
                .iter()
                .map(|(a, n)| Row {
                    cells: vec![
                        Cell::Text(
                            serde_json::to_value(a)
                                .ok()
                                .and_then(|v| v.as_str().map(String::from))
                                .unwrap_or_default(),
                        ),
                        Cell::Num(*n),
                    ],
                    href: None,
                })
                .collect(),
            chart: Some(1),
            note: Some(("全部机构和时段。", "All agencies and periods.")),
        },
        Table {
            name: "by_purpose",
            title: ("按用途", "By purpose"),
            columns: vec!["purpose", "grants"],
            rows: ranked(
                s.purposes
                    .iter()
                    .map(|(p, n)| Row {
                        cells: vec![Cell::Text(p.clone()), Cell::Num(*n)],
                        href: None,
                    })
                    .collect(),
                1,
            ),
            chart: Some(1),
            note: Some(("全部机构和时段。", "All agencies and periods.")),
        },
    ]
}

/// The tables of `section` for the request, and the log size they are as of.
fn tables(
    x: &Explorer,
    cx: &Ctx,
    section: &str,
) -> Result<(Vec<Table>, u64, Filters), ExplorerError> {
    let f = filters(cx)?;
    if !SECTIONS.contains(&section) {
        return Err(bad("section", "procurement, assets or sharing", section));
    }
    let now = x.node.ledger.tip().time;
    let l = cx.lang;
    x.catalog
        .with_stats(|s, size| {
            let t = match section {
                "procurement" => procurement(s, &f, x, l),
                "assets" => assets(s, &f, x, l),
                _ => sharing(s, &f, x, l, now),
            };
            (t, size, f.clone())
        })
        .ok_or(ExplorerError::NotFound {
            what: "statistics",
            id: section.to_string(),
        })
}

fn cell_json(c: &Cell, cur: Currency) -> Value {
    match c {
        Cell::Text(s) => json!(s),
        Cell::Num(n) => json!(n),
        Cell::Int(n) => json!(n),
        Cell::Money(m) => json!({"minor": m, "currency": cur.as_str()}),
        Cell::Permille(p) => json!(p),
    }
}

/// A cell as CSV writes it: counts and per mille as integers, money in major units.
fn cell_text(c: &Cell, cur: Currency) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Num(n) => n.to_string(),
        Cell::Int(n) => n.to_string(),
        Cell::Money(m) => major_units(chancery_core::Amount {
            minor: *m,
            currency: cur,
        })
        .to_string(),
        Cell::Permille(p) => p.to_string(),
    }
}

/// A cell as a page shows it: grouped numbers, amounts with their currency, shares in %.
fn cell_shown(c: &Cell, l: Lang, cur: Currency) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Num(n) => l.number(*n),
        Cell::Int(n) if *n < 0 => format!("-{}", l.number(n.unsigned_abs())),
        Cell::Int(n) => l.number(n.unsigned_abs()),
        Cell::Money(m) => l.amount(chancery_core::Amount {
            minor: *m,
            currency: cur,
        }),
        Cell::Permille(p) => format!("{}.{}%", p / 10, p % 10),
    }
}

/// A column's heading on the page (JSON and CSV keep the snake_case name).
fn column_label(l: Lang, c: &str) -> &'static str {
    match c {
        "method" => l.t("采购方式", "Method"),
        "awards" => l.t("授标数", "Awards"),
        "value" => l.t("金额", "Value"),
        "open_awards" => l.t("公开招标授标数", "Open-tender awards"),
        "count_share_permille" => l.t("数量占比", "Share of count"),
        "value_share_permille" => l.t("金额占比", "Share of value"),
        "share_permille" => l.t("占比", "Share"),
        "agency" => l.t("机构", "Agency"),
        "tenders" => l.t("招标数", "Tenders"),
        "contracts" => l.t("合同数", "Contracts"),
        "paid" => l.t("已付", "Paid"),
        "month" => l.t("月份", "Month"),
        "tender_to_award_median" => l.t("招标至授标（中位）", "Tender to award (median)"),
        "tender_to_award_p90" => l.t("招标至授标（P90）", "Tender to award (p90)"),
        "award_to_contract_median" => l.t("授标至签约（中位）", "Award to contract (median)"),
        "award_to_contract_p90" => l.t("授标至签约（P90）", "Award to contract (p90)"),
        "supplier" => l.t("供应商", "Supplier"),
        "credit_code" => l.t("统一社会信用代码", "Credit code"),
        "rule" => l.t("规则", "Rule"),
        "count" => l.t("次数", "Count"),
        "registered" => l.t("登记", "Registered"),
        "registered_value" => l.t("登记原值", "Registered value"),
        "transferred" => l.t("调拨", "Transferred"),
        "disposed" => l.t("处置", "Disposed"),
        "class" => l.t("类别", "Class"),
        "held" => l.t("在册", "Held"),
        "from" => l.t("调出", "From"),
        "to" => l.t("调入", "To"),
        "transfers" => l.t("调拨次数", "Transfers"),
        "status" => l.t("状态", "Status"),
        "grants" => l.t("授权数", "Grants"),
        "grantor" => l.t("授权方", "Grantor"),
        "grantee" => l.t("被授权方", "Grantee"),
        "action" => l.t("许可行为", "Action"),
        "purpose" => l.t("用途", "Purpose"),
        _ => "",
    }
}

/// `GET /v1/stats/{section}`: every table of the section as JSON.
#[utoipa::path(get, path = "/v1/stats/{section}", tag = "stats",
    params(("section" = Section, Path, description = "The dashboard section"), StatsQuery),
    responses(
        (status = 200, description = "Every table of the section, computed from aggregates kept as blocks are applied", body = StatsDoc),
        (status = 400, description = "A filter or the section is malformed", body = chancery_api_types::ErrorBody),
        (status = 404, description = "The aggregates are not built yet", body = chancery_api_types::ErrorBody)))]
pub async fn stats_json(
    State(x): State<Explorer>,
    cx: Ctx,
    Path(section): Path<String>,
) -> Response {
    x.refresh_catalog();
    match tables(&x, &cx, &section) {
        Ok((ts, size, f)) => {
            let tables: serde_json::Map<String, Value> = ts
                .iter()
                .map(|t| {
                    let rows: Vec<Value> = t
                        .rows
                        .iter()
                        .map(|r| {
                            let mut o: serde_json::Map<String, Value> = t
                                .columns
                                .iter()
                                .zip(&r.cells)
                                .map(|(c, v)| (c.to_string(), cell_json(v, f.currency)))
                                .collect();
                            if let Some(h) = &r.href {
                                o.insert("records".into(), json!(format!("{}{h}", cx.base)));
                            }
                            Value::Object(o)
                        })
                        .collect();
                    (
                        t.name.to_string(),
                        json!({"columns": t.columns, "rows": rows, "note": t.note.map(|n| n.1)}),
                    )
                })
                .collect();
            Json(json!({
                "section": section,
                "as_of_log_size": size,
                "currency": f.currency.as_str(),
                "tables": tables,
            }))
            .into_response()
        }
        Err(e) => error_json(&e),
    }
}

/// An error as the API's `{code, message, details}`.
fn error_json(e: &ExplorerError) -> Response {
    let code = match e {
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

/// `GET /v1/stats/{section}/{table}.csv`: one table as CSV (RFC 4180, header row).
#[utoipa::path(get, path = "/v1/stats/{section}/{file}", tag = "stats",
    params(
        ("section" = Section, Path, description = "The dashboard section"),
        ("file" = String, Path, description = "A table of the section, as `NAME.csv` (the names are the keys of `tables` in `/v1/stats/{section}`)", pattern = r"^[a-z_]{1,40}\.csv$"),
        StatsQuery),
    responses(
        (status = 200, description = "The table: a header row of column names, then one row per line; money in major units", content_type = "text/csv", body = String),
        (status = 400, description = "A filter, the section or the table is malformed or unknown", body = chancery_api_types::ErrorBody),
        (status = 404, description = "The aggregates are not built yet", body = chancery_api_types::ErrorBody)))]
pub async fn stats_csv(
    State(x): State<Explorer>,
    cx: Ctx,
    Path((section, file)): Path<(String, String)>,
) -> Response {
    x.refresh_catalog();
    let r = tables(&x, &cx, &section).and_then(|(ts, _, f)| {
        let name = file.strip_suffix(".csv").unwrap_or("");
        let t = ts
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| bad("table", "a table of the section, as NAME.csv", &file))?;
        let quote = |s: &str| {
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let mut out = t.columns.join(",");
        out.push_str("\r\n");
        for r in &t.rows {
            let cells: Vec<String> = r
                .cells
                .iter()
                .map(|c| quote(&cell_text(c, f.currency)))
                .collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        Ok(out)
    });
    match r {
        Ok(csv) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            csv,
        )
            .into_response(),
        Err(e) => error_json(&e),
    }
}

/// A horizontal bar chart of one column, in SVG; each bar links to its records.
fn chart(t: &Table, col: usize, l: Lang, cur: Currency) -> Markup {
    let value = |r: &Row| -> u64 {
        match r.cells.get(col) {
            Some(Cell::Num(n) | Cell::Money(n) | Cell::Permille(n)) => *n,
            Some(Cell::Int(n)) => (*n).max(0) as u64,
            _ => 0,
        }
    };
    let max = t.rows.iter().map(value).max().unwrap_or(0).max(1);
    let (label_w, bar_w, row_h) = (200u64, 360u64, 22u64);
    let height = row_h * t.rows.len() as u64 + 4;
    let title = format!(
        "{} · {}",
        l.t(t.title.0, t.title.1),
        column_label(l, t.columns[col])
    );
    html! {
        svg.chart role="img" aria-label=(title) width=(label_w + bar_w + 140) height=(height)
            viewBox=(format!("0 0 {} {height}", label_w + bar_w + 140)) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            @for (i, r) in t.rows.iter().enumerate() {
                @let y = i as u64 * row_h + 2;
                @let w = (u128::from(value(r)) * u128::from(bar_w) / u128::from(max)) as u64;
                @let label = match r.cells.first() { Some(c) => cell_shown(c, l, cur), None => String::new() };
                @let shown = match r.cells.get(col) { Some(c) => cell_shown(c, l, cur), None => String::new() };
                g {
                    text x=(label_w - 6) y=(y + 15) text-anchor="end" font-size="12" { (label.chars().take(28).collect::<String>()) }
                    @if let Some(h) = &r.href {
                        a href=(h) { rect x=(label_w) y=(y + 3) width=(w.max(1)) height=(row_h - 6) fill="#1f5f99" {} }
                    } @else {
                        rect x=(label_w) y=(y + 3) width=(w.max(1)) height=(row_h - 6) fill="#1f5f99" {}
                    }
                    text x=(label_w + w + 6) y=(y + 15) font-size="12" { (shown) }
                }
            }
        }
    }
}

/// `GET /dashboard?section=`: the charts and tables of one section.
pub async fn dashboard(State(x): State<Explorer>, cx: Ctx) -> Response {
    x.refresh_catalog();
    let r = dashboard_page(&x, &cx);
    respond(&x, &cx, r)
}

fn dashboard_page(x: &Explorer, cx: &Ctx) -> R {
    let l = cx.lang;
    let section = cx.q("section").unwrap_or("procurement");
    let (ts, size, f) = tables(x, cx, section)?;
    let names = [
        ("procurement", l.t("政府采购", "Procurement")),
        ("assets", l.t("国有资产", "Assets")),
        ("sharing", l.t("数据共享", "Data sharing")),
    ];
    let agencies = &x.node.genesis.agencies;
    let body = html! {
        nav aria-label=(l.t("看板分区", "Dashboard sections")) {
            @for (s, n) in names {
                @if s == section { strong { (n) } } @else { a href=(cx.with(&[("section", Some(s))])) { (n) } }
                " "
            }
        }
        form.filters method="get" action="/dashboard" aria-label=(l.t("筛选", "Filters")) {
            input type="hidden" name="section" value=(section);
            label { (l.t("机构", "Agency"))
                select name="agency" {
                    option value="" { (l.t("全部", "All")) }
                    @for a in agencies {
                        option value=(a.id.as_str()) selected[f.agency.as_ref() == Some(&a.id)] { (agency_name(x, l, &a.id)) }
                    }
                }
            }
            label { (l.t("自（月）", "From (month)")) input type="month" name="from" value=[cx.q("from")]; }
            label { (l.t("至（月）", "To (month)")) input type="month" name="to" value=[cx.q("to")]; }
            label { (l.t("币种", "Currency")) input type="text" name="currency" maxlength="3" value=(f.currency.as_str()); }
            button type="submit" { (l.t("筛选", "Filter")) }
        }
        p.muted {
            (l.t("数据截至日志第 ", "Figures as of log entry "))
            (l.number(size))
            (l.t(" 条；每个数字都链接到其背后的记录。", "; every figure links to the records behind it."))
            " " a href=(format!("/v1/stats/{section}")) { "JSON" }
        }
        @for t in &ts {
            section.stats aria-labelledby=(format!("t-{}", t.name)) {
                h2 id=(format!("t-{}", t.name)) { (l.t(t.title.0, t.title.1)) }
                @if let Some(n) = t.note { p.muted { (l.t(n.0, n.1)) } }
                @if let (Some(c), false) = (t.chart, t.rows.is_empty()) { (chart(t, c, l, f.currency)) }
                @if t.rows.is_empty() { p.muted { (l.t("无数据。", "No data.")) } }
                @else {
                    div.scroll { table {
                        thead { tr { @for c in &t.columns { th scope="col" { (column_label(l, c)) } } th scope="col" { (l.t("记录", "Records")) } } }
                        tbody { @for r in &t.rows {
                            tr {
                                @for c in &r.cells {
                                    @match c {
                                        Cell::Text(s) => td { (s) },
                                        other => td.num { (cell_shown(other, l, f.currency)) },
                                    }
                                }
                                td { @if let Some(h) = &r.href { a href=(h) { (l.t("查看", "View")) } } }
                            }
                        } }
                    } }
                }
                p { a href=(format!("/v1/stats/{section}/{}.csv{}", t.name, csv_query(cx))) { (l.t("下载 CSV", "Download CSV")) } }
            }
        }
    };
    page(l.t("运行效能看板", "Efficiency dashboard"), body)
}

fn csv_query(cx: &Ctx) -> String {
    let q: Vec<(&str, &str)> = ["agency", "from", "to", "currency"]
        .iter()
        .filter_map(|k| cx.q(k).filter(|v| !v.is_empty()).map(|v| (*k, v)))
        .collect();
    url("", q)
}
