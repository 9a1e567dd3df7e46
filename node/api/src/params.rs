//! Request parsing: path and query extractors whose failures are JSON errors naming what
//! was expected, and parsers for the parameter types.

use crate::{ApiError, ApiResult, CURSOR_CHARS_MAX, PAGE_ENTRIES_DEFAULT};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use chancery_core::{AgencyId, Digest, Height};
use serde::de::DeserializeOwned;

/// Query parameters, parsed strictly (unknown or repeated parameters are refused).
pub(crate) struct Q<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Q(q.0))
            .map_err(|r| {
                ApiError::bad_request(
                    "bad_query",
                    format!(
                        "{}; the parameters of each route are listed in /v1/openapi.json",
                        r.body_text()
                    ),
                )
            })
    }
}

/// Path parameters (percent-decoded).
pub(crate) struct P<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for P<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| P(p.0))
            .map_err(|r| {
                ApiError::bad_request("bad_path", format!("path parameter: {}", r.body_text()))
            })
    }
}

/// A page request: `limit` (1..=max, default [`PAGE_ENTRIES_DEFAULT`] or the max if lower)
/// and an opaque `cursor`.
pub(crate) fn page<'a>(
    limit: Option<&str>,
    cursor: Option<&'a str>,
    max: usize,
) -> ApiResult<(usize, Option<&'a str>)> {
    let max = max.max(1);
    let limit = match limit {
        None => PAGE_ENTRIES_DEFAULT.min(max),
        Some(s) => {
            let n: usize = s.parse().map_err(|_| {
                ApiError::bad_request(
                    "bad_limit",
                    format!(
                        "limit must be an integer from 1 to {max}, found {:?}",
                        short(s)
                    ),
                )
            })?;
            if n == 0 || n > max {
                let mut e = ApiError::bad_request(
                    "limit_too_large",
                    format!("limit must be from 1 to {max}, found {n}"),
                );
                e.details = serde_json::json!({"max": max, "found": n});
                return Err(e);
            }
            n
        }
    };
    if let Some(c) = cursor {
        if c.len() > CURSOR_CHARS_MAX || c.is_empty() {
            return Err(ApiError::bad_request(
                "bad_cursor",
                format!(
                    "cursor must be the `next` value of the previous page (1 to {CURSOR_CHARS_MAX} characters), found {} characters",
                    c.len()
                ),
            ));
        }
    }
    Ok((limit, cursor))
}

/// Most characters of a client's value quoted back in an error message.
const QUOTE_CHARS_MAX: usize = 80;

/// At most [`QUOTE_CHARS_MAX`] characters of `s`, to quote it back.
pub(crate) fn short(s: &str) -> String {
    let mut out: String = s.chars().take(QUOTE_CHARS_MAX).collect();
    if out.len() < s.len() {
        out.push_str("...");
    }
    out
}

pub(crate) fn height(s: &str, what: &str) -> ApiResult<Height> {
    s.parse::<u64>().map(Height).map_err(|_| {
        ApiError::bad_request(
            "bad_height",
            format!(
                "{what} must be a decimal block height, found {:?}",
                short(s)
            ),
        )
    })
}

pub(crate) fn number(s: &str, what: &str) -> ApiResult<u64> {
    s.parse::<u64>().map_err(|_| {
        ApiError::bad_request(
            "bad_number",
            format!(
                "{what} must be a decimal integer from 0 to {}, found {:?}",
                u64::MAX,
                short(s)
            ),
        )
    })
}

pub(crate) fn digest(s: &str, what: &str) -> ApiResult<Digest> {
    s.parse().map_err(|_| {
        ApiError::bad_request(
            "malformed",
            format!(
                "{what} must be 64 lower-case hex digits, found {:?}",
                short(s)
            ),
        )
    })
}

pub(crate) fn public_key(s: &str, what: &str) -> ApiResult<chancery_core::PublicKey> {
    s.parse().map_err(|_| {
        ApiError::bad_request(
            "malformed",
            format!(
                "{what} must be 64 lower-case hex digits (an ed25519-blake3 key) or 130 (an sm2-sm3 key), found {:?}",
                short(s)
            ),
        )
    })
}

pub(crate) fn agency(s: &str, what: &str) -> ApiResult<AgencyId> {
    s.parse().map_err(|_| {
        ApiError::bad_request(
            "bad_agency",
            format!(
                "{what} must be an agency id (1 to 64 of A-Z a-z 0-9 - _ . : /), found {:?}",
                short(s)
            ),
        )
    })
}

/// An identifier (asset id, grant id, ocid, dataset id): 1 to 64 of `A-Z a-z 0-9 - _ . : /`.
pub(crate) fn id<'a>(s: &'a str, what: &str) -> ApiResult<&'a str> {
    let ok = !s.is_empty()
        && s.len() <= chancery_core::limits::ID_BYTES_MAX
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':' | b'/'));
    if !ok {
        return Err(ApiError::bad_request(
            "bad_id",
            format!(
                "{what} must be 1 to {} of A-Z a-z 0-9 - _ . : / (percent-encode `/` in a path), found {:?}",
                chancery_core::limits::ID_BYTES_MAX,
                short(s)
            ),
        ));
    }
    Ok(s)
}
