//! `/chancery/msg/2`: one long-lived stream per connection and channel, length-prefixed
//! frames, credit-based flow control (wire format in `wire.rs`).
//!
//! - [`Behaviour`] picks, per peer, the one connection that sends (the *owner*: the first
//!   established; when it closes, the next one), creates a [`Handler`] per connection and
//!   turns the handlers' reports of peer misbehaviour into swarm events.
//! - [`Handler`], on the owner connection, opens one outbound stream per channel when that
//!   channel first has something queued, and keeps it. Whenever the stream has credit and
//!   nothing left to write, everything queued for the peer on that channel (up to
//!   `batch_messages_max` messages, about `batch_bytes_max` bytes) is taken from the
//!   peer's [`Slot`] and written as one frame. `P2pNetwork::send` wakes the handler.
//! - On every connection, the handler accepts the peer's streams, grants
//!   `inflight_batches_max` credits, reads frames as they come (at most the credit it
//!   granted), puts their messages into the bounded inbound channel, and grants one credit
//!   back per frame once all its messages are in. A full inbound channel therefore stops
//!   the grants, then the peer's frames, then fills the peer's bounded queue, whose policy
//!   decides what is lost. Buffered per inbound stream: at most the granted frames.
//!
//! Misbehaviour (closes the stream, reported to the swarm task, which scores the peer): a
//! frame without credit, a frame or message over its limit, undecodable framing, an
//! unknown channel byte, a credit grant of zero. A stream or connection that fails is not
//! an offence: the frames written on it and not credited back are counted lost
//! (`batches_failed`), and the stream is reopened on the next send to that peer and
//! channel (not before, so a peer that keeps resetting streams costs one attempt per send).
//! A frame not yet written when its stream fails goes on the next stream, so nothing is
//! ever sent twice.

use crate::peers::PeerBook;
use crate::queue::Slot;
use crate::wire::{self, WireError, MSG_PROTOCOL, U32_BYTES};
use crate::{Channel, Counters, Inbound, Limits};
use libp2p::bytes::Bytes;
use libp2p::core::transport::PortUse;
use libp2p::core::upgrade::ReadyUpgrade;
use libp2p::core::Endpoint;
use libp2p::futures::{AsyncRead, AsyncWrite, FutureExt};
use libp2p::swarm::handler::{
    ConnectionEvent, DialUpgradeError, FullyNegotiatedInbound, FullyNegotiatedOutbound,
    ListenUpgradeError,
};
use libp2p::swarm::{
    ConnectionClosed, ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId,
    FromSwarm, NetworkBehaviour, NotifyHandler, Stream, StreamUpgradeError, SubstreamProtocol,
    THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::sync::mpsc;

/// Frames one stream writes, or reads, in one poll before yielding to the rest of the
/// connection (fairness between streams and connections).
const FRAMES_PER_POLL: usize = 16;
/// Inbound message streams accepted per connection: one per channel, and room for each to
/// be replaced while the old one is still closing.
const INBOUND_STREAMS_MAX: usize = 4;
/// A frame body is read into memory in steps of this many bytes, so a peer announcing a
/// large frame and sending little makes us allocate little.
const READ_STEP_BYTES: usize = 64 * 1024;

/// What the handlers of every connection share.
pub(crate) struct StreamCtx {
    /// The limits (frame sizes, credits, batches).
    pub(crate) limits: Limits,
    /// The network's counters.
    pub(crate) counters: Arc<Counters>,
    /// Where received messages go (bounded; the node reads it).
    pub(crate) inbound: mpsc::Sender<Inbound>,
    /// The allowed peers and their queues (replaced by `set_peers`).
    pub(crate) book: Arc<PeerBook>,
}

impl StreamCtx {
    fn initial_credit(&self) -> u32 {
        u32::try_from(self.limits.inflight_batches_max.max(1)).unwrap_or(u32::MAX)
    }
}

/// What the behaviour reports to the swarm task.
#[derive(Debug)]
pub(crate) enum Event {
    /// `peer` broke the protocol on a message stream; the stream is closed.
    Misbehaved {
        /// The offender.
        peer: PeerId,
        /// What it did.
        error: WireError,
    },
}

/// The behaviour to a handler: "you are (still) the sending connection; look at the queue".
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wake;

/// The message-stream behaviour (see the module documentation).
pub(crate) struct Behaviour {
    ctx: Arc<StreamCtx>,
    /// Established connections per peer, oldest first.
    conns: HashMap<PeerId, Vec<ConnectionId>>,
    events: VecDeque<ToSwarm<Event, Wake>>,
    waker: Option<Waker>,
}

impl Behaviour {
    pub(crate) fn new(ctx: Arc<StreamCtx>) -> Behaviour {
        Behaviour {
            ctx,
            conns: HashMap::new(),
            events: VecDeque::new(),
            waker: None,
        }
    }

    fn handler(&self, peer: PeerId, conn: ConnectionId) -> Result<Handler, ConnectionDenied> {
        let slot = self
            .ctx
            .book
            .read()
            .slots
            .get(&peer)
            .cloned()
            .ok_or_else(|| {
                ConnectionDenied::new(io::Error::other(format!("{peer} is not an allowed peer")))
            })?;
        Ok(Handler::new(self.ctx.clone(), slot, conn))
    }

    /// Make `conn` the owner of `peer`'s queue if it has none, or if `closed` was the owner.
    fn elect(&mut self, peer: PeerId, closed: Option<ConnectionId>) {
        let Some(slot) = self.ctx.book.read().slots.get(&peer).cloned() else {
            return;
        };
        let next = self.conns.get(&peer).and_then(|c| c.first().copied());
        let changed = {
            let mut st = slot.lock();
            if st.owner.is_none() || st.owner == closed {
                st.owner = next;
                next
            } else {
                None
            }
        };
        if let Some(conn) = changed {
            tracing::debug!(%peer, ?conn, "sending connection");
            self.events.push_back(ToSwarm::NotifyHandler {
                peer_id: peer,
                handler: NotifyHandler::One(conn),
                event: Wake,
            });
            if let Some(w) = self.waker.take() {
                w.wake();
            }
        }
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = Handler;
    type ToSwarm = Event;

    fn handle_established_inbound_connection(
        &mut self,
        conn: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.handler(peer, conn)
    }

    fn handle_established_outbound_connection(
        &mut self,
        conn: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.handler(peer, conn)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) => {
                self.conns
                    .entry(e.peer_id)
                    .or_default()
                    .push(e.connection_id);
                self.elect(e.peer_id, None);
            }
            FromSwarm::ConnectionClosed(ConnectionClosed {
                peer_id,
                connection_id,
                ..
            }) => {
                if let Some(c) = self.conns.get_mut(&peer_id) {
                    c.retain(|id| *id != connection_id);
                    if c.is_empty() {
                        self.conns.remove(&peer_id);
                    }
                }
                self.elect(peer_id, Some(connection_id));
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        _: ConnectionId,
        error: THandlerOutEvent<Self>,
    ) {
        self.events
            .push_back(ToSwarm::GenerateEvent(Event::Misbehaved { peer, error }));
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Event, THandlerInEvent<Self>>> {
        match self.events.pop_front() {
            Some(e) => Poll::Ready(e),
            None => {
                self.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Why a stream ended.
enum End {
    /// The peer broke the protocol.
    Misbehaved(WireError),
    /// The stream or connection failed, or the peer closed it: not an offence.
    Closed(io::Error),
}

impl From<io::Error> for End {
    fn from(e: io::Error) -> End {
        End::Closed(e)
    }
}

/// One outbound stream's state.
enum Out {
    /// No stream. Open one when the channel has something queued, and, after a failure
    /// (`gate` is the channel's send count then), only once something new was sent.
    Idle { gate: Option<u64> },
    /// Requested from the connection; negotiating.
    Opening,
    /// Open.
    Open(Box<OutStream>),
    /// The peer does not speak the protocol on this connection.
    Unsupported,
}

struct OutStream {
    io: Stream,
    /// Frames the receiver lets us send now.
    credits: u32,
    /// Frames written (or being written) and not credited back yet.
    outstanding: u32,
    /// What is being written: the channel byte, then one frame at a time.
    buf: Vec<u8>,
    /// Bytes of `buf` already written.
    pos: usize,
    /// `buf` holds a frame (not the channel byte).
    buf_is_frame: bool,
    /// Written bytes wait for a flush.
    flush: bool,
    /// A credit grant being read.
    grant: [u8; U32_BYTES],
    grant_n: usize,
}

impl OutStream {
    fn new(io: Stream, channel: Channel) -> OutStream {
        OutStream {
            io,
            credits: 0,
            outstanding: 0,
            buf: vec![channel.to_byte()],
            pos: 0,
            buf_is_frame: false,
            flush: false,
            grant: [0; U32_BYTES],
            grant_n: 0,
        }
    }

    /// Read every credit grant available.
    fn read_grants(&mut self, cx: &mut Context<'_>) -> Result<(), End> {
        loop {
            match Pin::new(&mut self.io).poll_read(cx, &mut self.grant[self.grant_n..]) {
                Poll::Pending => return Ok(()),
                Poll::Ready(Ok(0)) => {
                    return Err(End::Closed(io::ErrorKind::UnexpectedEof.into()));
                }
                Poll::Ready(Ok(n)) => {
                    self.grant_n += n;
                    if self.grant_n < U32_BYTES {
                        continue;
                    }
                    self.grant_n = 0;
                    let g = u32::from_be_bytes(self.grant);
                    if g == 0 {
                        return Err(End::Misbehaved(WireError::BadFraming {
                            what: "credit grant",
                            expected: "at least 1 frame".into(),
                            found: "0".into(),
                        }));
                    }
                    self.credits = self.credits.saturating_add(g);
                    self.outstanding = self.outstanding.saturating_sub(g);
                }
                Poll::Ready(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// Write what is buffered; `Ok(true)` once all of it is written and flushed.
    fn write_buffered(&mut self, cx: &mut Context<'_>, keep_bytes: usize) -> Result<bool, End> {
        while self.pos < self.buf.len() {
            match Pin::new(&mut self.io).poll_write(cx, &self.buf[self.pos..]) {
                Poll::Pending => return Ok(false),
                Poll::Ready(Ok(0)) => return Err(End::Closed(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.pos += n,
                Poll::Ready(Err(e)) => return Err(e.into()),
            }
        }
        if !self.buf.is_empty() {
            if self.buf.capacity() > keep_bytes {
                self.buf = Vec::new();
            } else {
                self.buf.clear();
            }
            self.pos = 0;
            self.buf_is_frame = false;
            self.flush = true;
        }
        if self.flush {
            match Pin::new(&mut self.io).poll_flush(cx) {
                Poll::Pending => return Ok(false),
                Poll::Ready(Ok(())) => self.flush = false,
                Poll::Ready(Err(e)) => return Err(e.into()),
            }
        }
        Ok(true)
    }
}

/// One inbound stream's state.
struct InStream {
    io: Stream,
    /// Known once the stream's first byte is read.
    channel: Option<Channel>,
    /// Frames the sender may still send (granted, not yet received).
    credit: u32,
    /// Frames granted on this stream in total (for the error message).
    granted: u64,
    /// Credits to announce.
    grant_pending: u32,
    /// A grant being written.
    wbuf: [u8; U32_BYTES],
    wpos: usize,
    flush: bool,
    /// The sender has closed its side (or reset the stream): deliver what is read, then
    /// drop the stream.
    eof: bool,
    /// The length of the frame being read; `None` while reading a length.
    len: Option<usize>,
    hdr: [u8; U32_BYTES],
    hdr_n: usize,
    body: Vec<u8>,
    body_n: usize,
    /// Decoded frames waiting for room in the inbound channel, oldest first.
    frames: VecDeque<VecDeque<Bytes>>,
    /// Waiting for room in the inbound channel.
    reserve: Option<Reserve>,
}

type Reserve = Pin<
    Box<dyn Future<Output = Result<mpsc::OwnedPermit<Inbound>, mpsc::error::SendError<()>>> + Send>,
>;

impl InStream {
    fn new(io: Stream, credit: u32) -> InStream {
        InStream {
            io,
            channel: None,
            credit,
            granted: u64::from(credit),
            grant_pending: credit,
            wbuf: [0; U32_BYTES],
            wpos: U32_BYTES,
            flush: false,
            eof: false,
            len: None,
            hdr: [0; U32_BYTES],
            hdr_n: 0,
            body: Vec::new(),
            body_n: 0,
            frames: VecDeque::new(),
            reserve: None,
        }
    }

    /// Move decoded messages into the inbound channel; a frame fully delivered earns the
    /// sender one credit. `Ok(true)` if anything was delivered.
    fn deliver(
        &mut self,
        ctx: &StreamCtx,
        from: &crate::PeerName,
        cx: &mut Context<'_>,
    ) -> Result<bool, End> {
        let Some(channel) = self.channel else {
            return Ok(false);
        };
        let i = channel.index();
        let mut progress = false;
        while let Some(frame) = self.frames.front_mut() {
            while let Some(payload) = frame.pop_front() {
                let msg = Inbound {
                    from: from.clone(),
                    channel,
                    payload,
                };
                if let Some(reserve) = self.reserve.as_mut() {
                    match reserve.poll_unpin(cx) {
                        Poll::Pending => {
                            frame.push_front(msg.payload);
                            return Ok(progress);
                        }
                        Poll::Ready(Ok(permit)) => {
                            self.reserve = None;
                            permit.send(msg);
                            Counters::add(&ctx.counters.received[i], 1);
                            progress = true;
                            continue;
                        }
                        Poll::Ready(Err(_)) => return Err(inbound_closed()),
                    }
                }
                match ctx.inbound.try_send(msg) {
                    Ok(()) => {
                        Counters::add(&ctx.counters.received[i], 1);
                        progress = true;
                    }
                    Err(mpsc::error::TrySendError::Full(msg)) => {
                        frame.push_front(msg.payload);
                        self.reserve = Some(Box::pin(ctx.inbound.clone().reserve_owned()));
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return Err(inbound_closed()),
                }
            }
            self.frames.pop_front();
            self.credit = self.credit.saturating_add(1);
            self.granted = self.granted.saturating_add(1);
            self.grant_pending = self.grant_pending.saturating_add(1);
        }
        Ok(progress)
    }

    /// Write pending credit grants. A failed write is not reported: the read side sees the
    /// same failure.
    fn write_grants(&mut self, cx: &mut Context<'_>) {
        loop {
            if self.wpos == U32_BYTES {
                if self.grant_pending == 0 {
                    break;
                }
                self.wbuf = self.grant_pending.to_be_bytes();
                self.grant_pending = 0;
                self.wpos = 0;
            }
            match Pin::new(&mut self.io).poll_write(cx, &self.wbuf[self.wpos..]) {
                Poll::Ready(Ok(n)) if n > 0 => {
                    self.wpos += n;
                    self.flush = true;
                }
                Poll::Pending => return,
                Poll::Ready(_) => {
                    self.grant_pending = 0;
                    self.wpos = U32_BYTES;
                    self.flush = false;
                    return;
                }
            }
        }
        if self.flush {
            match Pin::new(&mut self.io).poll_flush(cx) {
                Poll::Pending => {}
                Poll::Ready(_) => self.flush = false,
            }
        }
    }

    /// Read into `buf`: `Ok(Some(n))` bytes, `Ok(None)` if nothing is available, and
    /// end-of-stream is recorded in `self.eof`.
    fn read_some(
        io: &mut Stream,
        eof: &mut bool,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Result<Option<usize>, End> {
        match Pin::new(io).poll_read(cx, buf) {
            Poll::Pending => Ok(None),
            Poll::Ready(Ok(0)) => {
                *eof = true;
                Ok(None)
            }
            Poll::Ready(Ok(n)) => Ok(Some(n)),
            Poll::Ready(Err(e)) => Err(e.into()),
        }
    }

    /// Read until one whole frame is decoded (`Ok(true)`) or nothing more is available.
    fn read_frame(&mut self, limits: &Limits, cx: &mut Context<'_>) -> Result<bool, End> {
        if self.eof {
            return Ok(false);
        }
        let channel = match self.channel {
            Some(c) => c,
            None => {
                let mut b = [0u8; 1];
                let Some(_) = Self::read_some(&mut self.io, &mut self.eof, cx, &mut b)? else {
                    return Ok(false);
                };
                let c = Channel::from_byte(b[0]).ok_or_else(|| {
                    End::Misbehaved(WireError::BadFraming {
                        what: "stream channel",
                        expected: "0 (consensus) or 1 (transactions)".into(),
                        found: b[0].to_string(),
                    })
                })?;
                self.channel = Some(c);
                c
            }
        };
        loop {
            let Some(len) = self.len else {
                let Some(n) =
                    Self::read_some(&mut self.io, &mut self.eof, cx, &mut self.hdr[self.hdr_n..])?
                else {
                    return Ok(false);
                };
                self.hdr_n += n;
                if self.hdr_n < U32_BYTES {
                    continue;
                }
                self.hdr_n = 0;
                let len = u32::from_be_bytes(self.hdr) as usize;
                wire::check_frame_len(limits, channel, len).map_err(End::Misbehaved)?;
                if self.credit == 0 {
                    return Err(End::Misbehaved(WireError::NoCredit {
                        channel,
                        granted: self.granted,
                    }));
                }
                self.credit -= 1;
                self.len = Some(len);
                self.body_n = 0;
                continue;
            };
            if self.body_n < len {
                let want = len.min(self.body_n.saturating_add(READ_STEP_BYTES));
                if self.body.len() < want {
                    self.body.resize(want, 0);
                }
                let Some(n) = Self::read_some(
                    &mut self.io,
                    &mut self.eof,
                    cx,
                    &mut self.body[self.body_n..want],
                )?
                else {
                    return Ok(false);
                };
                self.body_n += n;
                continue;
            }
            self.body.truncate(len);
            let body = Bytes::from(std::mem::take(&mut self.body));
            self.len = None;
            let msgs = wire::decode_frame(limits, channel, &body).map_err(End::Misbehaved)?;
            self.frames.push_back(VecDeque::from(msgs));
            return Ok(true);
        }
    }

    /// Deliver, grant and read, within a budget. `Ok(true)` once the stream is finished
    /// (the sender closed it and everything read is delivered).
    fn drive(
        &mut self,
        ctx: &StreamCtx,
        from: &crate::PeerName,
        cx: &mut Context<'_>,
    ) -> Result<bool, End> {
        for _ in 0..FRAMES_PER_POLL {
            let delivered = self.deliver(ctx, from, cx)?;
            let read = self.read_frame(&ctx.limits, cx)?;
            self.write_grants(cx);
            if self.eof && self.frames.is_empty() {
                if self.len.is_some() || self.hdr_n > 0 {
                    tracing::debug!(peer = %from, "message stream closed in the middle of a frame");
                }
                return Ok(true);
            }
            if !delivered && !read {
                return Ok(false);
            }
        }
        cx.waker().wake_by_ref();
        Ok(false)
    }
}

fn inbound_closed() -> End {
    End::Closed(io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the inbound channel is closed",
    ))
}

/// The connection handler of `/chancery/msg/2` (see the module documentation).
pub(crate) struct Handler {
    ctx: Arc<StreamCtx>,
    slot: Arc<Slot>,
    conn: ConnectionId,
    out: [Out; 2],
    /// Per channel, a frame taken from the queue but not written when its stream failed.
    carry: [Option<Vec<u8>>; 2],
    inbound: Vec<InStream>,
    /// Misbehaviour to report.
    events: VecDeque<WireError>,
    /// Scratch space for the messages of the next frame.
    scratch: Vec<Bytes>,
}

impl Handler {
    fn new(ctx: Arc<StreamCtx>, slot: Arc<Slot>, conn: ConnectionId) -> Handler {
        Handler {
            ctx,
            slot,
            conn,
            out: [Out::Idle { gate: None }, Out::Idle { gate: None }],
            carry: [None, None],
            inbound: Vec::new(),
            events: VecDeque::new(),
            scratch: Vec::new(),
        }
    }

    fn protocol(
        &self,
        channel: Channel,
    ) -> SubstreamProtocol<ReadyUpgrade<libp2p::StreamProtocol>, Channel> {
        SubstreamProtocol::new(ReadyUpgrade::new(MSG_PROTOCOL), channel)
            .with_timeout(Duration::from_millis(self.ctx.limits.request_timeout_ms))
    }

    /// Should an idle channel open its stream now?
    fn wants_stream(&self, channel: Channel, gate: Option<u64>) -> bool {
        let st = self.slot.lock();
        st.owner == Some(self.conn)
            && (self.carry[channel.index()].is_some() || !st.queue.is_empty(channel))
            && gate.is_none_or(|g| st.queue.pushes(channel) != g)
    }

    /// The stream of `channel` ended: count what it loses, keep an unwritten frame for the
    /// next stream, and wait for the next send before reopening.
    fn close_out(&mut self, channel: Channel, end: End) {
        let i = channel.index();
        let gate = Some(self.slot.lock().queue.pushes(channel));
        let Out::Open(mut s) = std::mem::replace(&mut self.out[i], Out::Idle { gate }) else {
            return;
        };
        if s.buf_is_frame && s.pos == 0 {
            // Not a byte of it left: it goes on the next stream, not counted lost.
            s.outstanding = s.outstanding.saturating_sub(1);
            self.carry[i] = Some(std::mem::take(&mut s.buf));
        }
        Counters::add(&self.ctx.counters.batches_failed, u64::from(s.outstanding));
        match end {
            End::Misbehaved(error) => {
                // Logged as a warning by the swarm task, which scores the peer.
                tracing::debug!(peer = %self.slot.name, ?channel, %error, "peer broke the message protocol");
                self.events.push_back(error);
            }
            End::Closed(error) => {
                tracing::debug!(peer = %self.slot.name, ?channel, lost = s.outstanding, %error, "message stream closed");
            }
        }
    }

    /// Drive the outbound stream of `channel`: grants in, frames out.
    fn drive_out(&mut self, channel: Channel, cx: &mut Context<'_>) -> Result<(), End> {
        let i = channel.index();
        let Out::Open(s) = &mut self.out[i] else {
            return Ok(());
        };
        let keep = self.ctx.limits.batch_bytes_max.saturating_mul(2);
        for _ in 0..FRAMES_PER_POLL {
            s.read_grants(cx)?;
            if !s.write_buffered(cx, keep)? || s.credits == 0 {
                return Ok(());
            }
            if let Some(frame) = self.carry[i].take() {
                s.buf = frame;
            } else {
                let n =
                    self.slot
                        .lock()
                        .queue
                        .take_frame(channel, &self.ctx.limits, &mut self.scratch);
                if n == 0 {
                    return Ok(());
                }
                Counters::add(&self.ctx.counters.sent[i], n as u64);
                let encoded = wire::encode_frame(&self.scratch, &mut s.buf);
                self.scratch.clear();
                if let Err(e) = encoded {
                    s.buf.clear();
                    Counters::add(&self.ctx.counters.batches_failed, 1);
                    tracing::warn!(peer = %self.slot.name, ?channel, error = %e, "frame not encodable; dropped");
                    continue;
                }
                Counters::add(&self.ctx.counters.bytes_sent[i], s.buf.len() as u64);
            }
            s.buf_is_frame = true;
            s.credits -= 1;
            s.outstanding = s.outstanding.saturating_add(1);
            Counters::add(&self.ctx.counters.frames_sent, 1);
        }
        cx.waker().wake_by_ref();
        Ok(())
    }

    /// Drive every inbound stream; drop finished and failed ones, and older streams of a
    /// channel a newer stream now carries (the peer replaced a stream it saw fail).
    fn drive_inbound(&mut self, cx: &mut Context<'_>) {
        let mut k = 0;
        while k < self.inbound.len() {
            match self.inbound[k].drive(&self.ctx, &self.slot.name, cx) {
                Ok(false) => k += 1,
                Ok(true) => {
                    self.inbound.remove(k);
                }
                Err(End::Closed(error)) => {
                    tracing::debug!(peer = %self.slot.name, %error, "inbound message stream closed");
                    self.inbound.remove(k);
                }
                Err(End::Misbehaved(error)) => {
                    // Logged as a warning by the swarm task, which scores the peer.
                    tracing::debug!(peer = %self.slot.name, %error, "peer broke the message protocol");
                    self.events.push_back(error);
                    self.inbound.remove(k);
                }
            }
        }
        // Streams are in the order they were accepted: keep the newest of each channel.
        for channel in Channel::ALL {
            let Some(newest) = self
                .inbound
                .iter()
                .rposition(|s| s.channel == Some(channel))
            else {
                continue;
            };
            let mut k = 0;
            self.inbound.retain(|s| {
                let keep = s.channel != Some(channel) || k == newest;
                k += 1;
                keep
            });
        }
    }
}

impl Drop for Handler {
    fn drop(&mut self) {
        // The connection is gone: what was in flight or waiting on it is lost.
        let mut lost = self.carry.iter().filter(|c| c.is_some()).count() as u64;
        for out in &self.out {
            if let Out::Open(s) = out {
                lost += u64::from(s.outstanding);
            }
        }
        Counters::add(&self.ctx.counters.batches_failed, lost);
    }
}

impl ConnectionHandler for Handler {
    type FromBehaviour = Wake;
    type ToBehaviour = WireError;
    type InboundProtocol = ReadyUpgrade<libp2p::StreamProtocol>;
    type OutboundProtocol = ReadyUpgrade<libp2p::StreamProtocol>;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = Channel;

    fn listen_protocol(&self) -> SubstreamProtocol<Self::InboundProtocol, ()> {
        SubstreamProtocol::new(ReadyUpgrade::new(MSG_PROTOCOL), ())
    }

    fn on_behaviour_event(&mut self, _: Wake) {
        // Nothing to record: the next poll looks at the queue.
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<Self::OutboundProtocol, Channel, WireError>> {
        if self.slot.is_closed() {
            // The peer was removed from the allowed set (`set_peers`); the swarm task is
            // closing this connection. Nothing more is sent, read or delivered.
            return Poll::Pending;
        }
        if let Some(e) = self.events.pop_front() {
            return Poll::Ready(ConnectionHandlerEvent::NotifyBehaviour(e));
        }
        let owner = self.slot.lock().owner == Some(self.conn);
        if owner {
            // Registered before the queue is looked at, so no send goes unnoticed.
            self.slot.register(cx.waker());
        }
        for channel in Channel::ALL {
            let i = channel.index();
            match &self.out[i] {
                Out::Idle { gate } => {
                    if owner && self.wants_stream(channel, *gate) {
                        self.out[i] = Out::Opening;
                        return Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest {
                            protocol: self.protocol(channel),
                        });
                    }
                }
                Out::Open(_) => {
                    if let Err(end) = self.drive_out(channel, cx) {
                        self.close_out(channel, end);
                    }
                }
                Out::Opening | Out::Unsupported => {}
            }
        }
        self.drive_inbound(cx);
        match self.events.pop_front() {
            Some(e) => Poll::Ready(ConnectionHandlerEvent::NotifyBehaviour(e)),
            None => Poll::Pending,
        }
    }

    fn on_connection_event(
        &mut self,
        event: ConnectionEvent<Self::InboundProtocol, Self::OutboundProtocol, (), Channel>,
    ) {
        match event {
            ConnectionEvent::FullyNegotiatedInbound(FullyNegotiatedInbound {
                protocol: io,
                ..
            }) => {
                if self.inbound.len() >= INBOUND_STREAMS_MAX {
                    tracing::debug!(peer = %self.slot.name, "too many inbound message streams; refused one");
                    return;
                }
                self.inbound
                    .push(InStream::new(io, self.ctx.initial_credit()));
            }
            ConnectionEvent::FullyNegotiatedOutbound(FullyNegotiatedOutbound {
                protocol: io,
                info: channel,
            }) => {
                let i = channel.index();
                if matches!(self.out[i], Out::Opening) {
                    Counters::add(&self.ctx.counters.streams_opened[i], 1);
                    tracing::debug!(peer = %self.slot.name, ?channel, "message stream opened");
                    self.out[i] = Out::Open(Box::new(OutStream::new(io, channel)));
                }
            }
            ConnectionEvent::DialUpgradeError(DialUpgradeError {
                info: channel,
                error,
            }) => {
                let i = channel.index();
                match error {
                    StreamUpgradeError::NegotiationFailed => {
                        tracing::warn!(peer = %self.slot.name, ?channel, "peer does not speak {MSG_PROTOCOL}; nothing will be sent on this connection");
                        self.out[i] = Out::Unsupported;
                    }
                    StreamUpgradeError::Timeout | StreamUpgradeError::Io(_) => {
                        tracing::debug!(peer = %self.slot.name, ?channel, %error, "message stream not opened");
                        let gate = Some(self.slot.lock().queue.pushes(channel));
                        self.out[i] = Out::Idle { gate };
                    }
                    StreamUpgradeError::Apply(never) => match never {},
                }
            }
            ConnectionEvent::ListenUpgradeError(ListenUpgradeError { error, .. }) => match error {},
            _ => {}
        }
    }
}
