//! Caps that keep API load away from consensus (issue 14, finding 8): a bounded pool of
//! blocking threads for every handler that reads the store or encodes a large answer,
//! event streams counted in total and per client address, and TCP connections counted in
//! total and per client address at accept.

use crate::{ApiError, ApiLimits};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Seconds a client is told to wait (`Retry-After`) when a cap is reached.
pub const RETRY_AFTER_S: u64 = 1;
/// Pause after a failed `accept` that is not a client's fault (out of descriptors or
/// similar), in milliseconds: long enough not to spin, short enough to recover at once.
const ACCEPT_ERROR_PAUSE_MS: u64 = 1000;

/// Routes that never touch the store nor encode a large answer, or that live long (the
/// event stream has its own cap): they run on the async runtime, outside the blocking pool.
/// `/metrics` reads only engine properties and `/proc`, and must answer a scrape when the
/// readers are busy, which is when it matters.
const ASYNC_ROUTES: [&str; 5] = [
    "/healthz",
    "/readyz",
    "/v1/events",
    "/v1/status",
    "/metrics",
];

fn with_retry_after(e: ApiError) -> Response {
    e.retry_after(RETRY_AFTER_S).into_response()
}

/// The blocking pool's bound: one permit per handler running on a blocking thread.
#[derive(Clone)]
pub(crate) struct BlockingPool {
    permits: Arc<Semaphore>,
    max: usize,
}

impl BlockingPool {
    pub(crate) fn new(max: usize) -> BlockingPool {
        BlockingPool {
            permits: Arc::new(Semaphore::new(max)),
            max,
        }
    }
}

/// Run the handler of every route but [`ASYNC_ROUTES`] on Tokio's blocking thread pool, at
/// most `blocking_reads_max` at once; over the bound, answer 503 with `Retry-After` at once
/// (no queue), so store reads and large encodings never occupy the async workers.
pub(crate) async fn blocking_reads(
    State(pool): State<BlockingPool>,
    req: Request,
    next: Next,
) -> Response {
    if ASYNC_ROUTES.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let Ok(permit) = pool.permits.clone().try_acquire_owned() else {
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!(
                "all {} reader threads are busy; retry in {RETRY_AFTER_S} s",
                pool.max
            ),
        );
        e.details = json!({"blocking_reads_max": pool.max, "retry_after_s": RETRY_AFTER_S});
        return with_retry_after(e);
    };
    let rt = tokio::runtime::Handle::current();
    let run = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        rt.block_on(next.run(req))
    });
    match run.await {
        Ok(res) => res,
        // A panic in the handler: the same answer as the panic layer gives.
        Err(e) => {
            tracing::error!(error = %e, "API handler on the blocking pool failed (a bug: report this line; the client got 500 and the node goes on)");
            ApiError::internal("the server failed to answer this request (a bug, logged)")
                .into_response()
        }
    }
}

/// Which cap an acquisition ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Over {
    /// The total.
    Total,
    /// The one for this client address.
    PerAddress,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

/// Counted slots, in total and per client address.
#[derive(Clone)]
pub struct AddressSlots {
    counts: Arc<Mutex<Counts>>,
    /// Most slots held at once.
    pub total_max: usize,
    /// Most slots one address holds at once.
    pub per_address_max: usize,
}

/// One held slot; released when dropped.
pub struct Slot {
    counts: Arc<Mutex<Counts>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut c) = self.counts.lock() {
            c.total = c.total.saturating_sub(1);
            if let Some(n) = c.per_address.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    c.per_address.remove(&self.ip);
                }
            }
        }
    }
}

impl AddressSlots {
    /// Slots for at most `total_max` holders, `per_address_max` of them per address.
    pub fn new(total_max: usize, per_address_max: usize) -> AddressSlots {
        AddressSlots {
            counts: Arc::new(Mutex::new(Counts::default())),
            total_max,
            per_address_max,
        }
    }

    /// Take a slot for `ip`, or say which cap is reached.
    pub fn acquire(&self, ip: IpAddr) -> Result<Slot, Over> {
        let Ok(mut c) = self.counts.lock() else {
            return Err(Over::Total);
        };
        if c.total >= self.total_max {
            return Err(Over::Total);
        }
        let n = c.per_address.get(&ip).copied().unwrap_or(0);
        if n >= self.per_address_max {
            return Err(Over::PerAddress);
        }
        c.total += 1;
        c.per_address.insert(ip, n + 1);
        Ok(Slot {
            counts: self.counts.clone(),
            ip,
        })
    }

    /// Slots held now, in total.
    pub fn held(&self) -> usize {
        self.counts.lock().map_or(0, |c| c.total)
    }
}

/// The event-stream slots of one server (`sse_streams_max`, `sse_streams_per_address_max`),
/// and the latest checkpoint's JSON they all send, read from the store once per tip
/// height rather than once per stream.
#[derive(Clone)]
pub(crate) struct SseSlots(pub(crate) AddressSlots, pub(crate) CheckpointCache);

/// The latest checkpoint's JSON and the tip height it was read at.
pub(crate) type CheckpointCache = Arc<Mutex<Option<(u64, Arc<str>)>>>;

/// An event stream refused at a cap; answers 503 over the total, 429 over the per-address
/// cap, both as the JSON error with `Retry-After`.
#[derive(Debug)]
pub(crate) struct StreamRefused {
    over: Over,
    ip: IpAddr,
    total_max: usize,
    per_address_max: usize,
}

impl SseSlots {
    /// A slot for one more stream to `ip`, or why not.
    pub(crate) fn acquire(&self, ip: IpAddr) -> Result<Slot, StreamRefused> {
        let s = &self.0;
        s.acquire(ip).map_err(|over| StreamRefused {
            over,
            ip,
            total_max: s.total_max,
            per_address_max: s.per_address_max,
        })
    }
}

impl IntoResponse for StreamRefused {
    fn into_response(self) -> Response {
        let mut e = match self.over {
            Over::Total => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_streams",
                format!(
                    "this node serves at most {} event streams at once; retry later",
                    self.total_max
                ),
            ),
            Over::PerAddress => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                format!(
                    "client {} already has {} event streams open (the most per address)",
                    self.ip, self.per_address_max
                ),
            ),
        };
        e.details = json!({
            "sse_streams_max": self.total_max,
            "sse_streams_per_address_max": self.per_address_max,
            "retry_after_s": RETRY_AFTER_S,
        });
        with_retry_after(e)
    }
}

/// What a connection refused at accept is told before it is closed.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 96\r\n\r\n{\"code\":\"too_many_connections\",\"message\":\"connection limit reached; retry later\",\"details\":null}";

/// A TCP listener that admits at most `connections_max` connections at once, and at most
/// `connections_per_address_max` from one client address. A connection over a cap is
/// answered a fixed 503 JSON error (if the socket takes it at once) and closed; nothing of
/// it is read.
pub struct CappedListener {
    inner: TcpListener,
    slots: AddressSlots,
}

impl CappedListener {
    /// Wrap `inner` with the connection caps of `limits`.
    pub fn new(inner: TcpListener, limits: &ApiLimits) -> CappedListener {
        CappedListener {
            inner,
            slots: AddressSlots::new(limits.connections_max, limits.connections_per_address_max),
        }
    }

    /// The connection slots (for observation).
    pub fn slots(&self) -> AddressSlots {
        self.slots.clone()
    }
}

/// An admitted connection: the socket and its slot, released when the connection closes.
pub struct CappedStream {
    inner: TcpStream,
    _slot: Slot,
}

impl CappedStream {
    /// The socket.
    pub fn tcp(&self) -> &TcpStream {
        &self.inner
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

impl axum::serve::Listener for CappedListener {
    type Io = CappedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (CappedStream, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => match self.slots.acquire(addr.ip()) {
                    Ok(slot) => {
                        return (
                            CappedStream {
                                inner: stream,
                                _slot: slot,
                            },
                            addr,
                        )
                    }
                    Err(over) => {
                        tracing::debug!(client = %addr, ?over, "connection refused at the cap");
                        let _ = stream.try_write(REFUSED);
                    }
                },
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    // Out of descriptors or similar: wait instead of spinning (as axum does).
                    tracing::error!(error = %e, "accepting an API connection failed; retrying shortly (out of file descriptors? raise LimitNOFILE or lower api.connections_max)");
                    tokio::time::sleep(Duration::from_millis(ACCEPT_ERROR_PAUSE_MS)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl AsyncRead for CappedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn slots_count_per_address_and_in_total_and_release_on_drop() {
        let s = AddressSlots::new(3, 2);
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let a1 = s.acquire(a).unwrap();
        let _a2 = s.acquire(a).unwrap();
        assert_eq!(s.acquire(a).err(), Some(Over::PerAddress));
        let _b1 = s.acquire(b).unwrap();
        assert_eq!(s.acquire(b).err(), Some(Over::Total));
        drop(a1);
        assert_eq!(s.held(), 2);
        assert!(s.acquire(a).is_ok());
    }

    #[test]
    fn the_refusal_is_a_well_formed_http_answer() {
        let text = std::str::from_utf8(REFUSED).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["code"], "too_many_connections");
    }
}
