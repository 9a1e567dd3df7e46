//! # chancery-explorer — the public disclosure explorer and the OCDS export
//!
//! Server-rendered HTML (maud templates: every interpolated value is escaped) served at
//! `/` by every node: latest blocks and checkpoint, validators, procurement awards,
//! data-sharing grants, assets, agencies, records, search, governance (proposals with
//! their votes, the epochs and their validator sets). Every record page offers the
//! record's receipt (`/v1/receipts/{tx}`) and says how to check it offline with
//! `chancery verify`. Simplified Chinese by default, English with `?lang=en` (remembered
//! in a cookie). Pages need no JavaScript; the home page has a small optional script that
//! follows the node's event stream.
//!
//! The OCDS export (`/ocds/releases`, `/ocds/records/{ocid}`) publishes procurement awards
//! as OCDS 1.1 release and record packages (see [`ocds`]).
//!
//! Handlers call the ledger's query layer directly (no HTTP round trip). Every list is a
//! page of at most [`PAGE_ITEMS_MAX`] items.

pub mod catalog;
mod dashboard;
mod governance;
pub mod locale;
pub mod ocds;
mod pages;
mod process;
mod render;
pub mod stats;
mod verify;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use catalog::Catalog;
use chancery_api::NodeHandle;
use locale::Lang;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Most items on one page of a list.
pub const PAGE_ITEMS_MAX: usize = 100;
/// Items on a page when the request does not say.
pub const PAGE_ITEMS_DEFAULT: usize = 25;
/// Longest query string value the explorer reads, in bytes.
pub const QUERY_VALUE_BYTES_MAX: usize = 256;
/// Most new log entries a request reads into the catalog before rendering.
pub const CATALOG_STEP_PER_REQUEST_MAX: usize = 2000;
/// Most new log entries the background task reads into the catalog in one step: large
/// enough to catch up with a long log quickly, small enough that readers of the catalog
/// wait only briefly for its lock.
pub const CATALOG_STEP_BACKGROUND_MAX: usize = 50_000;
/// Longest the background task waits for a new block before refreshing the catalog anyway
/// (in case block events were missed), in milliseconds.
pub const EXPLORER_REFRESH_MS: u64 = 1000;
/// Pause after the catalog failed to refresh (a store error), in milliseconds, before
/// trying again: a failing store is not hammered.
pub const CATALOG_RETRY_MS: u64 = 5000;
/// Longest `Host` header used in absolute links, in bytes (the DNS limit on a name).
const HOST_BYTES_MAX: usize = 255;
/// How long the language cookie lasts, in seconds: a year.
const LANG_COOKIE_AGE_S: u64 = 365 * 24 * 3600;

/// Errors of the explorer, rendered as an HTML page (or JSON for OCDS) with a status.
#[derive(Debug, Error)]
pub enum ExplorerError {
    /// Nothing with that id.
    #[error("no {what} {id:?}")]
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A query parameter that does not parse.
    #[error("parameter {name}: expected {expected}, found {found:?}")]
    BadParam {
        /// Parameter name.
        name: &'static str,
        /// What it should be.
        expected: &'static str,
        /// What was given.
        found: String,
    },
    /// The ledger failed (or refused a cursor or page size).
    #[error("ledger: {0}")]
    Ledger(#[from] chancery_ledger::LedgerError),
}

impl ExplorerError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        use chancery_ledger::LedgerError as L;
        match self {
            ExplorerError::NotFound { .. } => StatusCode::NOT_FOUND,
            ExplorerError::BadParam { .. } => StatusCode::BAD_REQUEST,
            ExplorerError::Ledger(L::BadCursor(_) | L::PageTooLarge { .. }) => {
                StatusCode::BAD_REQUEST
            }
            ExplorerError::Ledger(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct Explorer {
    /// The node.
    pub node: NodeHandle,
    /// The in-memory catalog (counts, project numbers, supplier names).
    pub catalog: Arc<Catalog>,
}

impl Explorer {
    /// The chain's crypto suite (block hashes are taken with it).
    pub fn suite(&self) -> chancery_core::suite::Suite {
        self.node.ledger.genesis().crypto
    }

    /// Bring the catalog up to date, reading at most a bounded number of new entries.
    fn refresh_catalog(&self) {
        if let Err(e) = self
            .catalog
            .refresh(&self.node.ledger, CATALOG_STEP_PER_REQUEST_MAX)
        {
            tracing::warn!("explorer catalog: {e}");
        }
    }
}

/// The explorer's routes (HTML pages, `/genesis.json` and the OCDS export), to merge into
/// the node's API router. Starts a background task (when called inside a Tokio runtime)
/// that reads the log into the catalog and follows new blocks.
pub fn router(h: NodeHandle) -> Router {
    let x = Explorer {
        node: h,
        catalog: Arc::new(Catalog::default()),
    };
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        let bg = x.clone();
        rt.spawn(async move {
            let mut events = bg.node.events.subscribe();
            loop {
                let b = bg.clone();
                let caught_up = tokio::task::spawn_blocking(move || {
                    b.catalog
                        .refresh(&b.node.ledger, CATALOG_STEP_BACKGROUND_MAX)
                })
                .await;
                match caught_up {
                    Ok(Ok(true)) => {
                        // Wait for a block (or a second, in case events were missed).
                        let _ = tokio::time::timeout(
                            Duration::from_millis(EXPLORER_REFRESH_MS),
                            events.recv(),
                        )
                        .await;
                    }
                    Ok(Ok(false)) => tokio::task::yield_now().await,
                    Ok(Err(e)) => {
                        tracing::warn!("explorer catalog: {e}");
                        tokio::time::sleep(Duration::from_millis(CATALOG_RETRY_MS)).await;
                    }
                    Err(_) => return,
                }
            }
        });
    }
    router_with(x)
}

/// The OpenAPI description of the explorer's JSON and CSV routes (`/v1/stats/...`), to be
/// merged into the node's document (`chancery_api::routes_with_doc`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(
        paths(dashboard::stats_json, dashboard::stats_csv),
        tags((name = "stats", description = "The efficiency dashboards' figures as JSON and CSV: procurement, state assets, data sharing"))
    )]
    struct StatsDoc;
    <StatsDoc as utoipa::OpenApi>::openapi()
}

/// The routes over an existing [`Explorer`] (no background task).
pub fn router_with(x: Explorer) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/blocks/{height}", get(pages::block))
        .route("/tx/{hash}", get(pages::tx))
        .route("/asset", get(pages::asset))
        .route("/awards", get(pages::awards))
        .route("/award", get(pages::award))
        .route("/process", get(process::process))
        .route("/dashboard", get(dashboard::dashboard))
        .route("/v1/stats/{section}", get(dashboard::stats_json))
        .route("/v1/stats/{section}/{file}", get(dashboard::stats_csv))
        .route("/contract", get(process::contract))
        .route("/verify", get(verify::verify))
        .route("/grants", get(pages::grants))
        .route("/grant", get(pages::grant))
        .route("/agencies", get(pages::agencies))
        .route("/agency", get(pages::agency))
        .route("/search", get(pages::search))
        .route("/evidence", get(pages::evidence))
        .route("/governance", get(governance::governance))
        .route("/governance/proposal", get(governance::proposal))
        .route("/epochs", get(governance::epochs))
        .route("/genesis.json", get(pages::genesis))
        .route("/ocds/releases", get(ocds::releases))
        .route("/ocds/records/{*ocid}", get(ocds::record))
        .with_state(x)
}

/// The request as a page sees it: language, query, host.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// Page language.
    pub lang: Lang,
    /// Whether `?lang=` was given (then the answer sets the cookie).
    pub lang_given: bool,
    /// The request path.
    pub path: String,
    /// Query parameters (first value of each, at most [`QUERY_VALUE_BYTES_MAX`] bytes).
    pub query: BTreeMap<String, String>,
    /// `http://host` the request was sent to (for absolute links in OCDS).
    pub base: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Ctx, Infallible> {
        let mut query = BTreeMap::new();
        if let Some(q) = parts.uri.query() {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap_or_default();
            for (k, v) in pairs {
                let v = v.trim().to_string();
                if v.len() <= QUERY_VALUE_BYTES_MAX && !v.is_empty() {
                    query.entry(k).or_insert(v);
                }
            }
        }
        let from_query = query.get("lang").and_then(|l| Lang::parse(l));
        let from_cookie = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().strip_prefix("lang="))
            .find_map(Lang::parse);
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= HOST_BYTES_MAX
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .unwrap_or("localhost");
        Ok(Ctx {
            lang: from_query.or(from_cookie).unwrap_or(Lang::Zh),
            lang_given: from_query.is_some(),
            path: parts.uri.path().to_string(),
            query,
            base: format!("http://{host}"),
        })
    }
}

impl Ctx {
    /// A query parameter.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// This page's URL with some parameters replaced (`None` removes one).
    pub fn with(&self, changes: &[(&str, Option<&str>)]) -> String {
        let mut q = self.query.clone();
        for (k, v) in changes {
            match v {
                Some(v) => q.insert((*k).to_string(), (*v).to_string()),
                None => q.remove(*k),
            };
        }
        url(&self.path, q.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

/// `path?k=v&...`, encoded.
pub fn url<'a>(path: &str, params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let params: Vec<(&str, &str)> = params.into_iter().collect();
    if params.is_empty() {
        return path.to_string();
    }
    match serde_urlencoded::to_string(&params) {
        Ok(q) => format!("{path}?{q}"),
        Err(_) => path.to_string(),
    }
}

/// An HTML answer, setting the language cookie when `?lang=` was given.
fn html(cx: &Ctx, status: StatusCode, body: String) -> Response {
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    if cx.lang_given {
        if let Ok(v) = format!(
            "lang={}; Path=/; Max-Age={LANG_COOKIE_AGE_S}; SameSite=Lax",
            cx.lang.code()
        )
        .parse()
        {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    r
}
