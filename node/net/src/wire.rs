//! Wire formats of the two libp2p protocols. Every length is checked against a limit
//! *before* allocating or reading what it announces.
//!
//! `/chancery/msg/2` — one long-lived stream per connection and channel, opened by the
//! sender (see `streams.rs` for the state machines):
//! - sender → receiver: `channel:u8` once, then frames; a frame is `len:u32be` and a body of
//!   `len` bytes, the body is `count:u32be` then `count` times (`len:u32be`, payload[len]).
//!   Every message of a stream is on the stream's channel.
//! - receiver → sender: credit grants, each `n:u32be` (n ≥ 1 frames). The receiver grants
//!   `inflight_batches_max` when it accepts the stream, and one more whenever a frame's
//!   messages are all in its inbound channel. A frame without credit is misbehaviour.
//!
//! `/chancery/req/1` — catch-up requests (request-response, one stream per request):
//! request  = len:u32be, payload[len];
//! response = status:u8 (0 answer, 1 declined, 2 busy), len:u32be, payload[len].

use crate::{Channel, Limits};
use libp2p::bytes::Bytes;
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::request_response;
use libp2p::StreamProtocol;
use std::io;
use std::sync::Arc;

/// Protocol name of the message streams.
pub(crate) const MSG_PROTOCOL: StreamProtocol = StreamProtocol::new("/chancery/msg/2");
/// Protocol name of catch-up requests.
pub(crate) const REQ_PROTOCOL: StreamProtocol = StreamProtocol::new("/chancery/req/1");

/// Bytes of a length, a count or a credit grant on the wire (`u32be`).
pub(crate) const U32_BYTES: usize = 4;

/// A violation of the wire format by the remote. For the message streams it is returned by
/// the frame decoder and the stream handler; in a catch-up *request* it is returned as the
/// request value (`Err(WireError)`), because request-response reports no event at all when
/// `read_request` fails, and the swarm task must learn the peer to score it. In a response
/// it is carried inside `io::Error` (kind `InvalidData`).
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum WireError {
    /// A length over its limit.
    #[error("{what} of {bytes} bytes is over the limit of {bytes_max}")]
    Oversize {
        what: &'static str,
        bytes: usize,
        bytes_max: usize,
    },
    /// Anything else undecodable.
    #[error("bad framing: {what}: expected {expected}, found {found}")]
    BadFraming {
        what: &'static str,
        expected: String,
        found: String,
    },
    /// A frame the receiver had not granted credit for.
    #[error(
        "{channel:?} frame sent without credit ({granted} frames granted on the stream, all used)"
    )]
    NoCredit { channel: Channel, granted: u64 },
}

impl WireError {
    fn io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }

    /// The wire error inside `e`, if it is one.
    pub(crate) fn of(e: &io::Error) -> Option<&WireError> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<WireError>())
    }
}

/// The largest frame body (after its length prefix) a receiver with `limits` accepts on
/// `channel`: a count, `batch_messages_max` lengths and `batch_bytes_max` bytes of payload
/// plus one largest message (a sender's batch limit is local, so leave it room).
pub(crate) fn frame_bytes_max(limits: &Limits, channel: Channel) -> usize {
    U32_BYTES
        .saturating_add(limits.batch_messages_max.saturating_mul(U32_BYTES))
        .saturating_add(limits.batch_bytes_max)
        .saturating_add(limits.message_bytes_max(channel))
}

/// Append one frame holding `msgs`, its length prefix included, to `out`. Fails only for a
/// message or frame over 4 GiB, which the send path's limits already exclude.
pub(crate) fn encode_frame(msgs: &[Bytes], out: &mut Vec<u8>) -> io::Result<()> {
    let body = msgs.iter().fold(U32_BYTES, |n, m| {
        n.saturating_add(U32_BYTES).saturating_add(m.len())
    });
    out.reserve(body.saturating_add(U32_BYTES));
    out.extend_from_slice(&len_u32(body)?);
    out.extend_from_slice(&len_u32(msgs.len())?);
    for m in msgs {
        out.extend_from_slice(&len_u32(m.len())?);
        out.extend_from_slice(m);
    }
    Ok(())
}

/// Check a frame's announced body length before reading the body.
pub(crate) fn check_frame_len(
    limits: &Limits,
    channel: Channel,
    len: usize,
) -> Result<(), WireError> {
    let bytes_max = frame_bytes_max(limits, channel);
    if len > bytes_max {
        return Err(WireError::Oversize {
            what: "frame",
            bytes: len,
            bytes_max,
        });
    }
    if len < 2 * U32_BYTES {
        return Err(WireError::BadFraming {
            what: "frame length",
            expected: format!(
                "at least {} bytes (a count and one message length)",
                2 * U32_BYTES
            ),
            found: len.to_string(),
        });
    }
    Ok(())
}

fn take_u32(body: &Bytes, at: usize, what: &'static str) -> Result<usize, WireError> {
    let end = at.saturating_add(U32_BYTES);
    match body.get(at..end) {
        Some(b) => Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize),
        None => Err(WireError::BadFraming {
            what,
            expected: format!("{U32_BYTES} bytes at offset {at}"),
            found: format!("a frame of {} bytes", body.len()),
        }),
    }
}

/// Decode a frame body of `channel` into its messages (slices of `body`, no copy).
pub(crate) fn decode_frame(
    limits: &Limits,
    channel: Channel,
    body: &Bytes,
) -> Result<Vec<Bytes>, WireError> {
    let count = take_u32(body, 0, "frame message count")?;
    if count == 0 || count > limits.batch_messages_max {
        return Err(WireError::BadFraming {
            what: "frame message count",
            expected: format!("1..={}", limits.batch_messages_max),
            found: count.to_string(),
        });
    }
    let bytes_max = limits.message_bytes_max(channel);
    let mut at = U32_BYTES;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let len = take_u32(body, at, "message length")?;
        if len > bytes_max {
            return Err(WireError::Oversize {
                what: "message",
                bytes: len,
                bytes_max,
            });
        }
        at += U32_BYTES;
        let end = at.saturating_add(len);
        if end > body.len() {
            return Err(WireError::BadFraming {
                what: "message",
                expected: format!("{len} bytes at offset {at}"),
                found: format!("a frame of {} bytes", body.len()),
            });
        }
        out.push(body.slice(at..end));
        at = end;
    }
    if at != body.len() {
        return Err(WireError::BadFraming {
            what: "frame length",
            expected: format!("{at} bytes for {count} messages"),
            found: body.len().to_string(),
        });
    }
    Ok(out)
}

async fn read_u32<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<u32> {
    let mut b = [0u8; 4];
    io.read_exact(&mut b).await?;
    Ok(u32::from_be_bytes(b))
}

async fn read_u8<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<u8> {
    let mut b = [0u8; 1];
    io.read_exact(&mut b).await?;
    Ok(b[0])
}

/// Read a `len:u32be` and that many bytes, refusing lengths over `bytes_max`.
async fn read_sized<T: AsyncRead + Unpin>(
    io: &mut T,
    what: &'static str,
    bytes_max: usize,
) -> io::Result<Bytes> {
    let len = read_u32(io).await? as usize;
    if len > bytes_max {
        return Err(WireError::Oversize {
            what,
            bytes: len,
            bytes_max,
        }
        .io());
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(Bytes::from(buf))
}

fn len_u32(len: usize) -> io::Result<[u8; 4]> {
    u32::try_from(len)
        .map(u32::to_be_bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "payload over 4 GiB"))
}

/// A wire error out of an `io::Error`, or the `io::Error` itself if it is not one.
fn split(e: io::Error) -> io::Result<WireError> {
    if WireError::of(&e).is_none() {
        return Err(e);
    }
    match e.into_inner().map(|inner| inner.downcast::<WireError>()) {
        Some(Ok(wire)) => Ok(*wire),
        Some(Err(other)) => Err(io::Error::other(other)),
        None => Err(io::Error::from(io::ErrorKind::InvalidData)),
    }
}

/// The answer to a catch-up request, as carried on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The handler's answer.
    Ok(Bytes),
    /// The handler declined.
    Declined,
    /// No handler slot was free.
    Busy,
}

/// Codec of `/chancery/req/1`.
#[derive(Clone)]
pub(crate) struct ReqCodec {
    pub(crate) limits: Arc<Limits>,
}

impl request_response::Codec for ReqCodec {
    type Protocol = StreamProtocol;
    type Request = Result<Bytes, WireError>;
    type Response = Answer;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Self::Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        match read_sized(io, "request", self.limits.request_bytes_max).await {
            Ok(b) => Ok(Ok(b)),
            Err(e) => split(e).map(Err),
        }
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Answer>
    where
        T: AsyncRead + Unpin + Send,
    {
        let status = read_u8(io).await?;
        let body = read_sized(io, "response", self.limits.response_bytes_max).await?;
        match status {
            0 => Ok(Answer::Ok(body)),
            1 => Ok(Answer::Declined),
            2 => Ok(Answer::Busy),
            other => Err(WireError::BadFraming {
                what: "response status",
                expected: "0, 1 or 2".into(),
                found: other.to_string(),
            }
            .io()),
        }
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Self::Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let req = req.map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut buf = Vec::with_capacity(4 + req.len());
        buf.extend_from_slice(&len_u32(req.len())?);
        buf.extend_from_slice(&req);
        io.write_all(&buf).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Answer,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let (status, body) = match res {
            Answer::Ok(b) => (0u8, b),
            Answer::Declined => (1, Bytes::new()),
            Answer::Busy => (2, Bytes::new()),
        };
        let mut buf = Vec::with_capacity(5 + body.len());
        buf.push(status);
        buf.extend_from_slice(&len_u32(body.len())?);
        buf.extend_from_slice(&body);
        io.write_all(&buf).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::futures::executor::block_on;
    use libp2p::futures::io::Cursor;
    use libp2p::request_response::Codec;

    fn encode(msgs: &[Bytes]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(msgs, &mut out).expect("encode");
        out
    }

    /// Check the length prefix as a receiver does, then decode the body.
    fn decode(limits: &Limits, channel: Channel, frame: Vec<u8>) -> Result<Vec<Bytes>, WireError> {
        let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(
            len,
            frame.len() - U32_BYTES,
            "the prefix is the body length"
        );
        check_frame_len(limits, channel, len)?;
        decode_frame(limits, channel, &Bytes::from(frame).slice(U32_BYTES..))
    }

    #[test]
    fn frame_round_trips() {
        let msgs = vec![
            Bytes::from_static(b"vote"),
            Bytes::from(vec![9u8; 1000]),
            Bytes::new(),
        ];
        let frame = encode(&msgs);
        assert_eq!(frame.len(), 4 + 4 + 3 * 4 + 1004);
        assert_eq!(
            decode(&Limits::default(), Channel::Consensus, frame).expect("decode"),
            msgs
        );
    }

    #[test]
    fn oversize_and_bad_framing_are_wire_errors() {
        let small = Limits {
            consensus_bytes_max: 10,
            ..Limits::default()
        };
        let frame = encode(&[Bytes::from(vec![0u8; 11])]);
        assert_eq!(
            decode(&small, Channel::Consensus, frame.clone()),
            Err(WireError::Oversize {
                what: "message",
                bytes: 11,
                bytes_max: 10
            })
        );
        // The transactions limit is the default one: the same frame is fine there.
        assert!(decode(&small, Channel::Transactions, frame).is_ok());
        // A frame length over the limit is refused before the body is read.
        let max = frame_bytes_max(&small, Channel::Consensus);
        assert!(matches!(
            check_frame_len(&small, Channel::Consensus, max + 1),
            Err(WireError::Oversize { what: "frame", .. })
        ));
        assert!(check_frame_len(&small, Channel::Consensus, max).is_ok());
        assert!(matches!(
            check_frame_len(&small, Channel::Consensus, 7),
            Err(WireError::BadFraming { .. })
        ));
        // A count of zero, or over the batch limit.
        let mut zero = encode(&[Bytes::from_static(b"x")]);
        zero[4..8].copy_from_slice(&0u32.to_be_bytes());
        assert!(matches!(
            decode(&Limits::default(), Channel::Consensus, zero),
            Err(WireError::BadFraming {
                what: "frame message count",
                ..
            })
        ));
        let few = Limits {
            batch_messages_max: 1,
            ..Limits::default()
        };
        let two = encode(&[Bytes::from_static(b"x"), Bytes::from_static(b"y")]);
        assert!(matches!(
            decode(&few, Channel::Consensus, two),
            Err(WireError::BadFraming { .. })
        ));
        // A message running past the frame, and bytes left over after the last one.
        let mut overrun = encode(&[Bytes::from_static(b"xyz")]);
        overrun[8..12].copy_from_slice(&4u32.to_be_bytes());
        assert!(matches!(
            decode(&Limits::default(), Channel::Consensus, overrun),
            Err(WireError::BadFraming {
                what: "message",
                ..
            })
        ));
        let mut trailing = encode(&[Bytes::from_static(b"xyz")]);
        trailing[8..12].copy_from_slice(&2u32.to_be_bytes());
        assert!(matches!(
            decode(&Limits::default(), Channel::Consensus, trailing),
            Err(WireError::BadFraming {
                what: "frame length",
                ..
            })
        ));
        // A count announcing more messages than the body holds.
        let mut short = encode(&[Bytes::from_static(b"xyz")]);
        short[4..8].copy_from_slice(&2u32.to_be_bytes());
        assert!(matches!(
            decode(&Limits::default(), Channel::Consensus, short),
            Err(WireError::BadFraming {
                what: "message length",
                ..
            })
        ));
    }

    #[test]
    fn answers_round_trip() {
        let mut c = ReqCodec {
            limits: Arc::new(Limits::default()),
        };
        for a in [
            Answer::Ok(Bytes::from_static(b"blocks")),
            Answer::Declined,
            Answer::Busy,
        ] {
            let mut out = Cursor::new(Vec::new());
            block_on(c.write_response(&REQ_PROTOCOL, &mut out, a.clone())).expect("write");
            let back = block_on(c.read_response(&REQ_PROTOCOL, &mut Cursor::new(out.into_inner())))
                .expect("read");
            assert_eq!(back, a);
        }
    }
}
