//! The HTTP client shared by the commands that talk to a node: one configured `ureq`
//! agent, JSON reads with the node's `{code, message, details}` errors turned into
//! messages that name the URL, and bounded answers.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::time::Duration;

/// Largest JSON answer read from a node, in bytes.
pub const ANSWER_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Timeout of one request, in milliseconds.
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;

/// An agent that returns 4xx/5xx answers as answers (so their JSON error can be read).
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_millis(REQUEST_TIMEOUT_MS)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// A node base URL without a trailing slash.
pub fn base(node: &str) -> String {
    node.trim_end_matches('/').to_string()
}

/// The message of a node's error body, or the body itself.
fn error_text(status: u16, body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(v) if v.get("message").is_some() => format!(
            "{status} {}: {}{}",
            v["code"].as_str().unwrap_or("error"),
            v["message"].as_str().unwrap_or(""),
            match v.get("details") {
                Some(Value::Null) | None => String::new(),
                Some(d) => format!(" (details: {d})"),
            }
        ),
        _ => format!("{status}: {}", body.chars().take(500).collect::<String>()),
    }
}

/// An answer: the HTTP status and the JSON body (`Value::Null` if the body is empty).
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
    /// The body as text.
    pub text: String,
}

fn read(url: &str, mut r: ureq::http::Response<ureq::Body>) -> Result<Answer> {
    let status = r.status().as_u16();
    let text = r
        .body_mut()
        .with_config()
        .limit(ANSWER_BYTES_MAX)
        .read_to_string()
        .with_context(|| format!("reading the answer of {url}"))?;
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text.clone()))
    };
    Ok(Answer { status, body, text })
}

/// GET `url`, any status.
pub fn get_any(url: &str) -> Result<Answer> {
    let r = agent()
        .get(url)
        .call()
        .with_context(|| format!("GET {url}: no answer (is the node running at that address?)"))?;
    read(url, r)
}

/// GET `url` and require 200 with a JSON body.
pub fn get_json(url: &str) -> Result<Value> {
    let a = get_any(url)?;
    if a.status != 200 {
        bail!("GET {url}: {}", error_text(a.status, &a.text));
    }
    if a.body.is_string() {
        bail!(
            "GET {url}: expected a JSON answer, found {:?}",
            a.text.chars().take(200).collect::<String>()
        );
    }
    Ok(a.body)
}

/// POST canonical bytes (`application/octet-stream`) to `url`.
pub fn post_bytes(url: &str, bytes: &[u8]) -> Result<Answer> {
    let r = agent()
        .post(url)
        .header("content-type", "application/octet-stream")
        .send(bytes)
        .with_context(|| format!("POST {url}: no answer (is the node running at that address?)"))?;
    read(url, r)
}

/// Require 2xx, else an error naming the URL and the node's message.
pub fn require_ok(url: &str, a: &Answer) -> Result<()> {
    if (200..300).contains(&a.status) {
        Ok(())
    } else {
        Err(anyhow!("{url}: {}", error_text(a.status, &a.text)))
    }
}

/// Percent-encode one query or path component (RFC 3986 unreserved characters pass).
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

/// Append `?k=v&...` for the pairs whose value is present.
pub fn query(path: String, pairs: &[(&str, Option<String>)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", enc(v))))
        .collect();
    if q.is_empty() {
        path
    } else {
        format!("{path}?{}", q.join("&"))
    }
}
