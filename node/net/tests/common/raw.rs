//! A raw libp2p peer for protocol tests. It dials a node, then opens and accepts
//! `/chancery/msg/2` streams and hands them to the test, which writes and reads bytes as it
//! likes: a misbehaving sender, or a receiver that resets streams. It speaks nothing else.

use super::GUARD;
use libp2p::core::transport::PortUse;
use libp2p::core::upgrade::ReadyUpgrade;
use libp2p::core::Endpoint;
use libp2p::futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::handler::{ConnectionEvent, FullyNegotiatedInbound, FullyNegotiatedOutbound};
use libp2p::swarm::{
    ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, FromSwarm,
    NetworkBehaviour, NotifyHandler, Stream, StreamProtocol, SubstreamProtocol, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{identity, noise, tcp, yamux, Multiaddr, PeerId};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::sync::mpsc;

/// The protocol under test.
pub const MSG_PROTOCOL: StreamProtocol = StreamProtocol::new("/chancery/msg/2");

/// A connected raw peer.
pub struct Raw {
    open: mpsc::UnboundedSender<()>,
    outbound: mpsc::UnboundedReceiver<Stream>,
    inbound: mpsc::UnboundedReceiver<Stream>,
}

impl Raw {
    /// Start a raw peer with the identity of `seed` and dial `to` at `addr`. The caller
    /// waits for the connection (on the node's status).
    pub fn connect(seed: [u8; 32], to: PeerId, addr: Multiaddr) -> Raw {
        let secret = identity::ed25519::SecretKey::try_from_bytes(seed).expect("seed");
        let keypair = identity::Keypair::from(identity::ed25519::Keypair::from(secret));
        let (out_tx, outbound) = mpsc::unbounded_channel();
        let (in_tx, inbound) = mpsc::unbounded_channel();
        let behaviour = RawBehaviour {
            peer: to,
            out_tx,
            in_tx,
            events: VecDeque::new(),
            waker: None,
        };
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .expect("transport")
            .with_behaviour(|_| behaviour)
            .expect("behaviour")
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
            .build();
        swarm
            .dial(DialOpts::peer_id(to).addresses(vec![addr]).build())
            .expect("dial");
        let (open, mut open_rx) = mpsc::unbounded_channel::<()>();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = swarm.select_next_some() => {}
                    cmd = open_rx.recv() => match cmd {
                        Some(()) => swarm.behaviour_mut().open(),
                        None => return,
                    },
                }
            }
        });
        Raw {
            open,
            outbound,
            inbound,
        }
    }

    /// Open a new `/chancery/msg/2` stream to the node.
    pub async fn open(&mut self) -> Stream {
        self.open.send(()).expect("raw peer running");
        tokio::time::timeout(GUARD, self.outbound.recv())
            .await
            .expect("timed out opening a stream")
            .expect("raw peer running")
    }

    /// The next stream the node opened to us.
    pub async fn accept(&mut self) -> Stream {
        tokio::time::timeout(GUARD, self.inbound.recv())
            .await
            .expect("timed out waiting for the node to open a stream")
            .expect("raw peer running")
    }
}

/// Write one frame holding `msgs` (the wire format of `/chancery/msg/2`).
pub async fn write_frame(io: &mut Stream, msgs: &[&[u8]]) -> std::io::Result<()> {
    let body: usize = 4 + msgs.iter().map(|m| 4 + m.len()).sum::<usize>();
    let mut buf = Vec::with_capacity(4 + body);
    buf.extend_from_slice(&(body as u32).to_be_bytes());
    buf.extend_from_slice(&(msgs.len() as u32).to_be_bytes());
    for m in msgs {
        buf.extend_from_slice(&(m.len() as u32).to_be_bytes());
        buf.extend_from_slice(m);
    }
    io.write_all(&buf).await?;
    io.flush().await
}

/// Read one `u32be` (a credit grant, a length, a count), under [`GUARD`].
pub async fn read_u32(io: &mut Stream) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    tokio::time::timeout(GUARD, io.read_exact(&mut b))
        .await
        .expect("timed out reading from a stream")?;
    Ok(u32::from_be_bytes(b))
}

/// Read one frame's messages, under [`GUARD`].
pub async fn read_frame(io: &mut Stream) -> std::io::Result<Vec<Vec<u8>>> {
    let len = read_u32(io).await? as usize;
    let mut body = vec![0u8; len];
    tokio::time::timeout(GUARD, io.read_exact(&mut body))
        .await
        .expect("timed out reading a frame")?;
    let count = u32::from_be_bytes(body[0..4].try_into().expect("count")) as usize;
    let mut at = 4;
    let mut out = Vec::new();
    for _ in 0..count {
        let n = u32::from_be_bytes(body[at..at + 4].try_into().expect("len")) as usize;
        at += 4;
        out.push(body[at..at + n].to_vec());
        at += n;
    }
    assert_eq!(at, len, "frame length matches its messages");
    Ok(out)
}

/// Read until the node closes the stream (end of stream or an error), under [`GUARD`];
/// returns the bytes read before that.
pub async fn read_to_close(io: &mut Stream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(GUARD, io.read(&mut buf))
            .await
            .expect("timed out waiting for the node to close the stream")
        {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

struct RawBehaviour {
    peer: PeerId,
    out_tx: mpsc::UnboundedSender<Stream>,
    in_tx: mpsc::UnboundedSender<Stream>,
    events: VecDeque<ToSwarm<Infallible, ()>>,
    waker: Option<Waker>,
}

impl RawBehaviour {
    fn open(&mut self) {
        self.events.push_back(ToSwarm::NotifyHandler {
            peer_id: self.peer,
            handler: NotifyHandler::Any,
            event: (),
        });
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    fn handler(&self) -> RawHandler {
        RawHandler {
            out_tx: self.out_tx.clone(),
            in_tx: self.in_tx.clone(),
            requests: 0,
        }
    }
}

impl NetworkBehaviour for RawBehaviour {
    type ConnectionHandler = RawHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(self.handler())
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(self.handler())
    }

    fn on_swarm_event(&mut self, _: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        match self.events.pop_front() {
            Some(e) => Poll::Ready(e),
            None => {
                self.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

struct RawHandler {
    out_tx: mpsc::UnboundedSender<Stream>,
    in_tx: mpsc::UnboundedSender<Stream>,
    requests: usize,
}

impl ConnectionHandler for RawHandler {
    type FromBehaviour = ();
    type ToBehaviour = Infallible;
    type InboundProtocol = ReadyUpgrade<StreamProtocol>;
    type OutboundProtocol = ReadyUpgrade<StreamProtocol>;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = ();

    fn listen_protocol(&self) -> SubstreamProtocol<Self::InboundProtocol, ()> {
        SubstreamProtocol::new(ReadyUpgrade::new(MSG_PROTOCOL), ())
    }

    fn connection_keep_alive(&self) -> bool {
        true
    }

    fn on_behaviour_event(&mut self, _: ()) {
        self.requests += 1;
    }

    fn poll(
        &mut self,
        _: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<Self::OutboundProtocol, (), Infallible>> {
        if self.requests > 0 {
            self.requests -= 1;
            return Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest {
                protocol: SubstreamProtocol::new(ReadyUpgrade::new(MSG_PROTOCOL), ()),
            });
        }
        Poll::Pending
    }

    fn on_connection_event(
        &mut self,
        event: ConnectionEvent<Self::InboundProtocol, Self::OutboundProtocol>,
    ) {
        match event {
            ConnectionEvent::FullyNegotiatedInbound(FullyNegotiatedInbound {
                protocol, ..
            }) => {
                let _ = self.in_tx.send(protocol);
            }
            ConnectionEvent::FullyNegotiatedOutbound(FullyNegotiatedOutbound {
                protocol, ..
            }) => {
                let _ = self.out_tx.send(protocol);
            }
            _ => {}
        }
    }
}
