//! # chancery-client — the HTTP client of Chancery's API
//!
//! One blocking client ([`Client`], on `ureq` 3) with a typed method per endpoint that the
//! Rust clients use (`chancery`, `chancery-testnet`, the end-to-end tests), returning the
//! shared types of [`chancery_api_types`]. One `ureq::Agent` per client, so connections are
//! reused between calls; clone the client to share them.
//!
//! Limits: an answer is read up to [`ANSWER_BYTES_MAX`] bytes, a request takes at most
//! [`REQUEST_TIMEOUT_MS`] (or what [`Client::with_timeout_ms`] sets), and an error quotes
//! at most [`EXCERPT_CHARS_MAX`] characters of the body. Every [`ClientError`] names the
//! method and URL; a non-2xx answer carries its status and the node's `{code, message}`.
//!
//! Escape hatches for commands that print the node's JSON as it is: [`Client::get_bytes`]
//! (2xx required) and [`Client::get_raw`] (any status).
//!
//! [`manifest`]: the testnet manifest (`DIR/testnet.json`) that local clients read to find
//! every node of a network.

pub use chancery_api_types as types;

pub mod manifest;

use chancery_api_types::*;
use serde::de::DeserializeOwned;
use std::io::{BufRead, Read as _};
use std::time::Duration;

/// Largest answer read from a node, in bytes.
pub const ANSWER_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Default timeout of one request, in milliseconds.
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Most characters of an answer's body quoted in an error.
pub const EXCERPT_CHARS_MAX: usize = 500;
/// Longest line of an event stream, in bytes.
pub const EVENT_LINE_BYTES_MAX: u64 = 1024 * 1024;
/// The node URL used when neither `--node` nor `CHANCERY_NODE` gives one.
pub const NODE_DEFAULT: &str = "http://127.0.0.1:8080";
/// The environment variable that names the node a client talks to.
pub const NODE_ENV: &str = "CHANCERY_NODE";

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer: connection refused, timeout, DNS, TLS.
    #[error("{method} {url}: no answer (is a node running at that address?): {reason}")]
    Unreachable {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL asked.
        url: String,
        /// The transport's error.
        reason: String,
    },
    /// The node answered with a status that is not 2xx.
    #[error("{method} {url}: {status} {code}: {message}")]
    Status {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The node's error code (`not_found`, `bad_seq`, ...), or `error` if the body is
        /// not the node's error shape.
        code: String,
        /// The node's message (and details), or an excerpt of the body.
        message: String,
    },
    /// The answer could not be read (too large, cut off).
    #[error("{method} {url}: reading the answer: {reason}")]
    Read {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL asked.
        url: String,
        /// What failed.
        reason: String,
    },
    /// A 2xx answer that is not the expected JSON shape.
    #[error("{method} {url}: expected {expected}, found {excerpt:?}: {reason}")]
    Decode {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL asked.
        url: String,
        /// The type expected.
        expected: &'static str,
        /// The start of the body.
        excerpt: String,
        /// Serde's explanation.
        reason: String,
    },
}

impl ClientError {
    /// The HTTP status, if the node answered with a non-2xx one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
    /// The node's error code, if it answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Status { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// No answer from `url`: the transport's error.
fn unreachable(method: &'static str, url: &str, e: ureq::Error) -> ClientError {
    ClientError::Unreachable {
        method,
        url: url.to_string(),
        reason: e.to_string(),
    }
}

/// A result of this crate.
pub type Result<T> = std::result::Result<T, ClientError>;

/// An answer as received: any status, the body's bytes (at most [`ANSWER_BYTES_MAX`]).
#[derive(Clone, Debug)]
pub struct RawAnswer {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// One event of `GET /v1/events`.
#[derive(Clone, Debug)]
pub enum Event {
    /// A block was finalized.
    Block(BlockEvent),
    /// The latest checkpoint, after a block.
    Checkpoint(Box<CheckpointDto>),
    /// This client missed events (it was slow).
    Lagged,
    /// An event this client does not know, with its name.
    Other(String),
}

/// The start of `s`, at most [`EXCERPT_CHARS_MAX`] characters.
pub fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(EXCERPT_CHARS_MAX).collect();
    if out.len() < s.len() {
        out.push_str("...");
    }
    out
}

/// Percent-encode one path or query component (RFC 3986 unreserved characters pass).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path?k=v&...` for the pairs whose value is present, values percent-encoded.
pub fn query(path: &str, pairs: &[(&str, Option<String>)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", enc(v))))
        .collect();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

/// A client of one node's API.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
    answer_bytes_max: u64,
}

impl Client {
    /// A client of the node at `base` (e.g. `http://127.0.0.1:26601`; a trailing `/` is
    /// ignored), with the default timeout.
    pub fn new(base: &str) -> Client {
        Client::with_timeout_ms(base, Some(REQUEST_TIMEOUT_MS))
    }

    /// A client whose requests take at most `timeout_ms` (`None`: no timeout, for event
    /// streams that last).
    pub fn with_timeout_ms(base: &str, timeout_ms: Option<u64>) -> Client {
        let agent = ureq::Agent::config_builder()
            .timeout_global(timeout_ms.map(Duration::from_millis))
            .http_status_as_error(false)
            .build()
            .into();
        Client {
            base: base.trim_end_matches('/').to_string(),
            agent,
            answer_bytes_max: ANSWER_BYTES_MAX,
        }
    }

    /// The same client reading answers of at most `bytes` (instead of [`ANSWER_BYTES_MAX`]).
    pub fn with_answer_bytes_max(mut self, bytes: u64) -> Client {
        self.answer_bytes_max = bytes;
        self
    }

    /// A client of another node that shares this one's connections, timeout and answer
    /// bound (a benchmark talking to every node of a network through one pool).
    pub fn at(&self, base: &str) -> Client {
        Client {
            base: base.trim_end_matches('/').to_string(),
            agent: self.agent.clone(),
            answer_bytes_max: self.answer_bytes_max,
        }
    }

    /// The node's base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The full URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn read(
        &self,
        method: &'static str,
        url: &str,
        mut r: ureq::http::Response<ureq::Body>,
    ) -> Result<RawAnswer> {
        let status = r.status().as_u16();
        let body = r
            .body_mut()
            .with_config()
            .limit(self.answer_bytes_max)
            .read_to_vec()
            .map_err(|e| ClientError::Read {
                method,
                url: url.to_string(),
                reason: format!(
                    "{e} (answers are read up to {} bytes)",
                    self.answer_bytes_max
                ),
            })?;
        Ok(RawAnswer { status, body })
    }

    /// GET `path`, any status, the body as bytes.
    pub fn get_raw(&self, path: &str) -> Result<RawAnswer> {
        let url = self.url(path);
        let r = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| unreachable("GET", &url, e))?;
        self.read("GET", &url, r)
    }

    /// POST `body` with `content_type` to `path`, any status.
    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> Result<RawAnswer> {
        let url = self.url(path);
        let r = self
            .agent
            .post(&url)
            .header("content-type", content_type)
            .send(body)
            .map_err(|e| unreachable("POST", &url, e))?;
        self.read("POST", &url, r)
    }

    /// GET `path` and require 2xx: the body's bytes (a command that prints the node's JSON
    /// as it is).
    pub fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let a = self.get_raw(path)?;
        require_2xx("GET", &self.url(path), a).map(|a| a.body)
    }

    /// GET `path`: the status and the typed body of a 2xx answer; a non-2xx answer is
    /// [`ClientError::Status`] (see [`ClientError::status`]).
    pub fn get_with_status<T: DeserializeOwned>(&self, path: &str) -> Result<(u16, T)> {
        let url = self.url(path);
        let a = require_2xx("GET", &url, self.get_raw(path)?)?;
        Ok((a.status, decode("GET", &url, &a.body)?))
    }

    /// GET `path` and decode a 2xx answer as `T`.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.get_with_status(path).map(|(_, t)| t)
    }

    fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<T> {
        let url = self.url(path);
        let a = require_2xx("POST", &url, self.post_raw(path, content_type, body)?)?;
        decode("POST", &url, &a.body)
    }

    /// `GET /readyz`: ready (200), or [`ClientError::Status`] 503 `not_ready`.
    pub fn ready(&self) -> Result<ReadyDto> {
        self.get("/readyz")
    }

    /// `GET /v1/status`.
    pub fn status(&self) -> Result<StatusDto> {
        self.get("/v1/status")
    }

    /// `POST /v1/transactions` with a transaction's canonical bytes.
    pub fn submit(&self, tx_bytes: &[u8]) -> Result<SubmitDto> {
        self.post_json("/v1/transactions", "application/octet-stream", tx_bytes)
    }

    /// `POST /v1/transactions/batch` with the transactions' canonical bytes in hex.
    pub fn submit_batch(&self, txs_hex: Vec<String>) -> Result<BatchDto> {
        let body = serde_json::to_vec(&BatchRequest { txs: txs_hex }).unwrap_or_default();
        self.post_json("/v1/transactions/batch", "application/json", &body)
    }

    /// `GET /v1/transactions/{hash}`: pending, finalized or rejected (404 if unknown).
    pub fn tx(&self, hash: &str) -> Result<TxStatusDto> {
        self.get(&format!("/v1/transactions/{}", enc(hash)))
    }

    /// `GET /v1/blocks?from=&limit=`: block summaries.
    pub fn blocks(&self, from: u64, limit: Option<u64>) -> Result<BlockPage> {
        self.get(&query(
            "/v1/blocks",
            &[
                ("from", Some(from.to_string())),
                ("limit", limit.map(|l| l.to_string())),
            ],
        ))
    }

    /// `GET /v1/blocks/raw?from=&limit=`: canonical blocks with their certificates.
    pub fn blocks_raw(&self, from: u64, limit: u64) -> Result<RawBlockPage> {
        self.get(&format!("/v1/blocks/raw?from={from}&limit={limit}"))
    }

    /// `GET /v1/blocks/{height}`.
    pub fn block(&self, height: u64) -> Result<BlockDetail> {
        self.get(&format!("/v1/blocks/{height}"))
    }

    /// `GET /v1/blocks/latest`.
    pub fn block_latest(&self) -> Result<BlockDetail> {
        self.get("/v1/blocks/latest")
    }

    /// `GET /v1/assets/{id}`.
    pub fn asset(&self, id: &str) -> Result<AssetDto> {
        self.get(&format!("/v1/assets/{}", enc(id)))
    }

    /// `GET /v1/assets/{id}/history`.
    pub fn asset_history(&self, id: &str, cursor: Option<String>) -> Result<Page<TxSummary>> {
        self.get(&query(
            &format!("/v1/assets/{}/history", enc(id)),
            &[("cursor", cursor)],
        ))
    }

    /// `GET /v1/assets?custodian=`.
    pub fn assets(&self, custodian: &str, cursor: Option<String>) -> Result<Page<AssetDto>> {
        self.get(&query(
            "/v1/assets",
            &[
                ("custodian", Some(custodian.to_string())),
                ("cursor", cursor),
            ],
        ))
    }

    /// `GET /v1/awards/{ocid}/{award_id}`: the award and its history.
    pub fn award(&self, ocid: &str, award_id: &str) -> Result<AwardDetail> {
        self.get(&format!("/v1/awards/{}/{}", enc(ocid), enc(award_id)))
    }

    /// `GET /v1/awards?...`: award search; `filters` are the query pairs (`purchaser`,
    /// `supplier`, `from`, `to`, `amount_min`, `amount_max`, `status`, `limit`, `cursor`).
    pub fn awards(&self, filters: &[(&str, Option<String>)]) -> Result<Page<AwardDto>> {
        self.get(&query("/v1/awards", filters))
    }

    /// `GET /v1/grants/{id}`.
    pub fn grant(&self, id: &str) -> Result<GrantDetail> {
        self.get(&format!("/v1/grants/{}", enc(id)))
    }

    /// `GET /v1/grants?...` (`dataset`, `grantee`, `grantor`, `status`, `limit`, `cursor`).
    pub fn grants(&self, filters: &[(&str, Option<String>)]) -> Result<Page<GrantDto>> {
        self.get(&query("/v1/grants", filters))
    }

    /// `GET /v1/records?...` (`kind`, `agency`, `limit`, `cursor`).
    pub fn records(&self, filters: &[(&str, Option<String>)]) -> Result<Page<TxSummary>> {
        self.get(&query("/v1/records", filters))
    }

    /// `GET /v1/agencies`.
    pub fn agencies(&self) -> Result<Vec<AgencyDto>> {
        self.get("/v1/agencies")
    }

    /// `GET /v1/agencies/{id}`.
    pub fn agency(&self, id: &str) -> Result<AgencyDto> {
        self.get(&format!("/v1/agencies/{}", enc(id)))
    }

    /// `GET /v1/members?agency=`.
    pub fn members(
        &self,
        agency: Option<String>,
        cursor: Option<String>,
    ) -> Result<Page<MemberDto>> {
        self.get(&query(
            "/v1/members",
            &[("agency", agency), ("cursor", cursor)],
        ))
    }

    /// `GET /v1/members/{key}`: roles and the key's next sequence number.
    pub fn member(&self, key: &str) -> Result<MemberDto> {
        self.get(&format!("/v1/members/{}", enc(key)))
    }

    /// `GET /v1/validators`.
    pub fn validators(&self) -> Result<ValidatorsDto> {
        self.get("/v1/validators")
    }

    /// `GET /v1/governance`: the epoch in force, its validators and parameters, the
    /// pending epoch.
    pub fn governance(&self) -> Result<GovernanceDto> {
        self.get("/v1/governance")
    }

    /// `GET /v1/governance/proposals?status=&cursor=`: newest first.
    pub fn proposals(
        &self,
        status: Option<String>,
        limit: Option<u64>,
        cursor: Option<String>,
    ) -> Result<Page<ProposalDto>> {
        self.get(&query(
            "/v1/governance/proposals",
            &[
                ("status", status),
                ("limit", limit.map(|l| l.to_string())),
                ("cursor", cursor),
            ],
        ))
    }

    /// `GET /v1/governance/proposals/{id}`: the proposal with the proof of its state.
    pub fn proposal(&self, id: &str) -> Result<ProposalDetail> {
        self.get(&format!("/v1/governance/proposals/{}", enc(id)))
    }

    /// `GET /v1/epochs?from=&limit=`: a page of the epoch chain.
    pub fn epochs(&self, from: u64, limit: Option<u64>) -> Result<EpochsDto> {
        self.get(&query(
            "/v1/epochs",
            &[
                ("from", Some(from.to_string())),
                ("limit", limit.map(|l| l.to_string())),
            ],
        ))
    }

    /// `GET /v1/evidence`.
    pub fn evidence_list(&self, cursor: Option<String>) -> Result<Page<EvidenceDto>> {
        self.get(&query("/v1/evidence", &[("cursor", cursor)]))
    }

    /// `GET /v1/evidence/{id}`.
    pub fn evidence(&self, id: &str) -> Result<EvidenceDto> {
        self.get(&format!("/v1/evidence/{}", enc(id)))
    }

    /// `GET /v1/checkpoints/latest`.
    pub fn checkpoint_latest(&self) -> Result<CheckpointDto> {
        self.get("/v1/checkpoints/latest")
    }

    /// `GET /v1/checkpoints/{height}`.
    pub fn checkpoint(&self, height: u64) -> Result<CheckpointDto> {
        self.get(&format!("/v1/checkpoints/{height}"))
    }

    /// `GET /v1/receipts/{tx_hash}`.
    pub fn receipt(&self, tx_hash: &str) -> Result<ReceiptDto> {
        self.get(&format!("/v1/receipts/{}", enc(tx_hash)))
    }

    /// `GET /v1/proofs/inclusion?index=&size=`.
    pub fn inclusion(&self, index: u64, size: u64) -> Result<InclusionDto> {
        self.get(&format!("/v1/proofs/inclusion?index={index}&size={size}"))
    }

    /// `GET /v1/proofs/consistency?first=&second=`.
    pub fn consistency(&self, first: u64, second: u64) -> Result<ConsistencyDto> {
        self.get(&format!(
            "/v1/proofs/consistency?first={first}&second={second}"
        ))
    }

    /// `GET /v1/proofs/state/asset/{id}`.
    pub fn state_asset(&self, id: &str) -> Result<StateProofDto> {
        self.get(&format!("/v1/proofs/state/asset/{}", enc(id)))
    }

    /// `GET /v1/proofs/state/grant/{id}`.
    pub fn state_grant(&self, id: &str) -> Result<StateProofDto> {
        self.get(&format!("/v1/proofs/state/grant/{}", enc(id)))
    }

    /// `GET /ocds/releases?...`: one page of the OCDS release package (free-form OCDS
    /// 1.1 JSON; `links.next` is the next page). `path_and_query` starts with
    /// `/ocds/releases`.
    pub fn ocds_releases(&self, path_and_query: &str) -> Result<OcdsReleasePackage> {
        self.get(path_and_query)
    }

    /// `GET /ocds/records/{ocid}`: an OCDS record package (free-form OCDS 1.1 JSON).
    pub fn ocds_record(&self, ocid: &str) -> Result<serde_json::Value> {
        self.get(&format!("/ocds/records/{}", enc(ocid)))
    }

    /// `GET /v1/events`: the event stream, read as it comes (use a client made with
    /// [`Client::with_timeout_ms`] to bound how long it lasts).
    pub fn events(&self) -> Result<Events> {
        let url = self.url("/v1/events");
        let r = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| unreachable("GET", &url, e))?;
        if !(200..300).contains(&r.status().as_u16()) {
            let a = self.read("GET", &url, r)?;
            return Err(status_error("GET", &url, &a));
        }
        let reader = r.into_body().into_with_config().limit(u64::MAX).reader();
        Ok(Events {
            url,
            lines: std::io::BufReader::new(Box::new(reader)),
            event: None,
        })
    }
}

/// The events of one `GET /v1/events` stream, in order.
pub struct Events {
    url: String,
    lines: std::io::BufReader<Box<dyn std::io::Read + Send>>,
    event: Option<String>,
}

impl Iterator for Events {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        loop {
            let mut line = Vec::new();
            let read = (&mut self.lines)
                .take(EVENT_LINE_BYTES_MAX)
                .read_until(b'\n', &mut line);
            match read {
                Ok(0) => return None,
                Ok(n) if n as u64 >= EVENT_LINE_BYTES_MAX && !line.ends_with(b"\n") => {
                    return Some(Err(ClientError::Read {
                        method: "GET",
                        url: self.url.clone(),
                        reason: format!("an event line longer than {EVENT_LINE_BYTES_MAX} bytes"),
                    }))
                }
                Ok(_) => {}
                Err(e) => {
                    return Some(Err(ClientError::Read {
                        method: "GET",
                        url: self.url.clone(),
                        reason: e.to_string(),
                    }))
                }
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end();
            if let Some(name) = line.strip_prefix("event:") {
                self.event = Some(name.trim().to_string());
            } else if let Some(data) = line.strip_prefix("data:") {
                let name = self.event.take().unwrap_or_default();
                let data = data.trim().as_bytes();
                return Some(match name.as_str() {
                    "block" => decode("GET", &self.url, data).map(Event::Block),
                    "checkpoint" => {
                        decode("GET", &self.url, data).map(|c| Event::Checkpoint(Box::new(c)))
                    }
                    "lagged" => Ok(Event::Lagged),
                    _ => Ok(Event::Other(name)),
                });
            }
        }
    }
}

fn require_2xx(method: &'static str, url: &str, a: RawAnswer) -> Result<RawAnswer> {
    if (200..300).contains(&a.status) {
        Ok(a)
    } else {
        Err(status_error(method, url, &a))
    }
}

fn status_error(method: &'static str, url: &str, a: &RawAnswer) -> ClientError {
    let text = String::from_utf8_lossy(&a.body);
    let (code, message) = match serde_json::from_slice::<ErrorBody>(&a.body) {
        Ok(e) => {
            let details = if e.details.is_null() {
                String::new()
            } else {
                format!(" (details: {})", excerpt(&e.details.to_string()))
            };
            (e.code, format!("{}{details}", excerpt(&e.message)))
        }
        Err(_) => ("error".to_string(), excerpt(&text)),
    };
    ClientError::Status {
        method,
        url: url.to_string(),
        status: a.status,
        code,
        message,
    }
}

fn decode<T: DeserializeOwned>(method: &'static str, url: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| ClientError::Decode {
        method,
        url: url.to_string(),
        expected: std::any::type_name::<T>(),
        excerpt: excerpt(&String::from_utf8_lossy(body)),
        reason: e.to_string(),
    })
}
