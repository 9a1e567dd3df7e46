//! Wire formats of the two libp2p protocols. Both are length-prefixed and check every
//! length against a limit *before* allocating or reading the body.
//!
//! `/chancery/msg/1` — one-way message batches, acknowledged:
//! request  = count:u32be, then `count` times (channel:u8, len:u32be, payload[len]);
//! response = one byte 0 (delivered into the receiver's inbound channel).
//!
//! `/chancery/req/1` — catch-up requests:
//! request  = len:u32be, payload[len];
//! response = status:u8 (0 answer, 1 declined, 2 busy), len:u32be, payload[len].

use crate::{Channel, Limits};
use libp2p::bytes::Bytes;
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::request_response;
use libp2p::StreamProtocol;
use std::io;
use std::sync::Arc;

/// Protocol name of message batches.
pub(crate) const MSG_PROTOCOL: StreamProtocol = StreamProtocol::new("/chancery/msg/1");
/// Protocol name of catch-up requests.
pub(crate) const REQ_PROTOCOL: StreamProtocol = StreamProtocol::new("/chancery/req/1");

/// A violation of the wire format by the remote. In a *request* it is returned as the
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

async fn read_batch<T: AsyncRead + Unpin>(
    l: &Limits,
    io: &mut T,
) -> io::Result<Vec<(Channel, Bytes)>> {
    let count = read_u32(io).await? as usize;
    if count == 0 || count > l.batch_messages_max {
        return Err(WireError::BadFraming {
            what: "batch message count",
            expected: format!("1..={}", l.batch_messages_max),
            found: count.to_string(),
        }
        .io());
    }
    let total_max = l
        .batch_bytes_max
        .saturating_add(l.consensus_bytes_max.max(l.transactions_bytes_max));
    let mut total = 0usize;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let byte = read_u8(io).await?;
        let channel = Channel::from_byte(byte).ok_or_else(|| {
            WireError::BadFraming {
                what: "channel",
                expected: "0 or 1".into(),
                found: byte.to_string(),
            }
            .io()
        })?;
        let payload = read_sized(io, "message", l.message_bytes_max(channel)).await?;
        total += payload.len();
        if total > total_max {
            return Err(WireError::Oversize {
                what: "batch",
                bytes: total,
                bytes_max: total_max,
            }
            .io());
        }
        out.push((channel, payload));
    }
    Ok(out)
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

/// Codec of `/chancery/msg/1`.
#[derive(Clone)]
pub(crate) struct MsgCodec {
    pub(crate) limits: Arc<Limits>,
}

impl request_response::Codec for MsgCodec {
    type Protocol = StreamProtocol;
    type Request = Result<Vec<(Channel, Bytes)>, WireError>;
    type Response = ();

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Self::Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        match read_batch(&self.limits, io).await {
            Ok(batch) => Ok(Ok(batch)),
            Err(e) => split(e).map(Err),
        }
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<()>
    where
        T: AsyncRead + Unpin + Send,
    {
        match read_u8(io).await? {
            0 => Ok(()),
            other => Err(WireError::BadFraming {
                what: "acknowledgement",
                expected: "0".into(),
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
        let body: usize = req.iter().map(|(_, p)| 5 + p.len()).sum();
        let mut buf = Vec::with_capacity(4 + body);
        buf.extend_from_slice(&len_u32(req.len())?);
        for (channel, payload) in &req {
            buf.push(channel.to_byte());
            buf.extend_from_slice(&len_u32(payload.len())?);
            buf.extend_from_slice(payload);
        }
        io.write_all(&buf).await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, io: &mut T, _: ()) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&[0]).await
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

    fn codec(limits: Limits) -> MsgCodec {
        MsgCodec {
            limits: Arc::new(limits),
        }
    }

    fn encode(batch: Vec<(Channel, Bytes)>) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        block_on(codec(Limits::default()).write_request(&MSG_PROTOCOL, &mut out, Ok(batch)))
            .expect("write");
        out.into_inner()
    }

    fn decode(limits: Limits, bytes: Vec<u8>) -> io::Result<Vec<(Channel, Bytes)>> {
        let r = block_on(codec(limits).read_request(&MSG_PROTOCOL, &mut Cursor::new(bytes)))?;
        r.map_err(|w| io::Error::new(io::ErrorKind::InvalidData, w))
    }

    #[test]
    fn batch_round_trips() {
        let batch = vec![
            (Channel::Consensus, Bytes::from_static(b"vote")),
            (Channel::Transactions, Bytes::from(vec![9u8; 1000])),
            (Channel::Consensus, Bytes::new()),
        ];
        assert_eq!(
            decode(Limits::default(), encode(batch.clone())).expect("decode"),
            batch
        );
    }

    #[test]
    fn oversize_and_bad_framing_are_wire_errors() {
        let small = Limits {
            consensus_bytes_max: 10,
            ..Limits::default()
        };
        let bytes = encode(vec![(Channel::Consensus, Bytes::from(vec![0u8; 11]))]);
        let e = decode(small, bytes).unwrap_err();
        assert_eq!(
            WireError::of(&e),
            Some(&WireError::Oversize {
                what: "message",
                bytes: 11,
                bytes_max: 10
            })
        );
        let mut bytes = encode(vec![(Channel::Consensus, Bytes::from_static(b"x"))]);
        bytes[4] = 7; // channel byte
        let e = decode(Limits::default(), bytes).unwrap_err();
        assert!(matches!(
            WireError::of(&e),
            Some(WireError::BadFraming {
                what: "channel",
                ..
            })
        ));
        let e = decode(Limits::default(), vec![0, 0, 0, 0]).unwrap_err();
        assert!(matches!(
            WireError::of(&e),
            Some(WireError::BadFraming { .. })
        ));
        // Truncated input is an IO error, not a wire error.
        let mut bytes = encode(vec![(Channel::Consensus, Bytes::from_static(b"xyz"))]);
        bytes.pop();
        let e = decode(Limits::default(), bytes).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(WireError::of(&e).is_none());
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
