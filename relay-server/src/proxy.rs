//! The read path's proxy: `CONNECT <ip>:<port>` tunnels to other relays
//! (`docs/PROTOCOL.md` §19).
//!
//! A client reads and acknowledges its queues and moves attachment chunks through one
//! proxy relay, so that the relay holding its queues sees the proxy's address instead of
//! the client's. TLS runs end to end inside the tunnel, pinned to the target relay's key:
//! the proxy sees which relay a client talks to, when, and how much, never a request.
//!
//! The proxy opens a tunnel only
//! - to an IP address and port (no DNS name: the proxy looks nothing up for anyone);
//! - to a public address, unless `--allow-private-hops` (a test network on one machine);
//! - to a Sotto relay: before the first tunnel to a target (and again an hour later) it
//!   connects there itself and checks that the server's certificate carries an Ed25519 key,
//!   that the handshake is signed by it and that the server's `/v1/info` names that key
//!   ([`KnownRelays`]); a target that fails is refused for a minute;
//! - within the client's limits ([`Throttle`]): tunnels per minute, and relays not checked
//!   yet per minute (one source and the relay as a whole), so that the proxy is no port
//!   scanner: a client learns about at most a few new addresses a minute, and each address
//!   gets at most one connection from the proxy per minute when it is no relay;
//! - for TLS: the first bytes a client sends through the tunnel must open a TLS record
//!   (a handshake); anything else closes the tunnel.
//!
//! A tunnel with no byte either way for [`TUNNEL_IDLE`] is closed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sotto_core::onion::is_private_ip;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tracing::debug;

use crate::known_relays::{KnownRelays, NotUsable};
use crate::metrics::{Event, Metrics};
use crate::throttle::{Spend, Throttle};

/// How long a tunnel stays open with no byte either way.
pub const TUNNEL_IDLE: Duration = Duration::from_secs(60);
/// How long connecting to a target may take.
pub const TARGET_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The first byte of a TLS record carrying a handshake message (RFC 8446 §5.1).
const TLS_HANDSHAKE_RECORD: u8 = 22;

/// The relay's CONNECT proxy.
pub struct Proxy {
    allow_private: bool,
    /// The address outgoing connections leave from (the relay's listening address when it
    /// listens on one), so that other relays see one address per relay.
    local_ip: Option<IpAddr>,
    relays: Arc<KnownRelays>,
    throttle: Arc<Throttle>,
    metrics: Arc<Metrics>,
}

/// Why a CONNECT request was refused, as its HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not `<ip>:<port>`.
    NotAnAddress,
    /// A loopback, private or otherwise non-public address.
    PrivateTarget,
    /// Not a relay, or not reachable.
    NotARelay,
    /// The client's source opened too many tunnels, or asked for too many relays not
    /// checked yet, lately.
    Limited,
}

impl Refusal {
    /// The refusal as an HTTP answer.
    pub(crate) fn answer(self) -> Response<Body> {
        let (status, text) = match self {
            Refusal::NotAnAddress => (
                StatusCode::BAD_REQUEST,
                "a tunnel's target is an IP address and a port",
            ),
            Refusal::PrivateTarget => (
                StatusCode::FORBIDDEN,
                "this proxy opens no tunnel to a private address",
            ),
            Refusal::NotARelay => (
                StatusCode::BAD_GATEWAY,
                "the target is not a reachable relay",
            ),
            Refusal::Limited => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many tunnels from this address; try again later",
            ),
        };
        let mut answer = Response::new(Body::from(text));
        *answer.status_mut() = status;
        answer
    }
}

impl Proxy {
    /// A proxy; with `allow_private`, tunnels to loopback and private addresses are allowed
    /// (a test network on one machine). Outgoing connections leave from `local_ip` when set;
    /// targets are checked through `relays`, clients limited by `throttle`.
    pub fn new(
        allow_private: bool,
        local_ip: Option<IpAddr>,
        relays: Arc<KnownRelays>,
        throttle: Arc<Throttle>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            allow_private,
            local_ip,
            relays,
            throttle,
            metrics,
        })
    }

    /// Answers a `CONNECT` request: `200` and a tunnel to the target once the connection
    /// upgrades, or a refusal (`400`, `403`, `429`, `502`).
    pub async fn connect(self: Arc<Self>, request: Request<Incoming>) -> Response<Body> {
        let source = request
            .extensions()
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        match self
            .open_target(request.uri().authority().map(|a| a.as_str()), source)
            .await
        {
            Ok((target, stream)) => {
                self.metrics.record(Event::TunnelOpened);
                crate::observe::tunnel(request.extensions(), target);
                tokio::spawn(async move {
                    let upgraded = match hyper::upgrade::on(request).await {
                        Ok(upgraded) => upgraded,
                        Err(e) => {
                            return debug!(error = %e, "a tunnel's connection did not upgrade");
                        }
                    };
                    if let Err(e) = pipe(TokioIo::new(upgraded), stream, TUNNEL_IDLE).await {
                        debug!(error = %e, "a tunnel ended with an error");
                    }
                });
                Response::new(Body::empty())
            }
            Err(refusal) => {
                self.metrics.record(Event::TunnelRefused);
                refusal.answer()
            }
        }
    }

    /// Checks the target named by a CONNECT request (or a WebSocket tunnel's `to`) for a
    /// client at `source` (`None`: not known, no per-source limit) and connects to it.
    pub(crate) async fn open_target(
        &self,
        authority: Option<&str>,
        source: Option<IpAddr>,
    ) -> Result<(SocketAddr, TcpStream), Refusal> {
        self.allow_tunnel(source)?;
        let target: SocketAddr = authority
            .and_then(|authority| authority.parse().ok())
            .filter(|target: &SocketAddr| target.port() != 0)
            .ok_or(Refusal::NotAnAddress)?;
        if is_private_ip(target.ip()) && !self.allow_private {
            return Err(Refusal::PrivateTarget);
        }
        match self.relays.relay_key(target, source).await {
            Ok(_) => {}
            Err(NotUsable::NotARelay) => return Err(Refusal::NotARelay),
            Err(NotUsable::Limited) => return Err(Refusal::Limited),
        }
        self.connect_to(target)
            .await
            .map(|stream| (target, stream))
            .map_err(|_| Refusal::NotARelay)
    }

    /// Whether a client at `source` may open one more tunnel now (`None`: not known, no
    /// per-source limit).
    pub(crate) fn allow_tunnel(&self, source: Option<IpAddr>) -> Result<(), Refusal> {
        match source {
            Some(source) if !self.throttle.allow(source, Spend::Tunnel, 1) => Err(Refusal::Limited),
            _ => Ok(()),
        }
    }

    /// Connects to `target`, leaving from the relay's own address when it has one.
    pub(crate) async fn connect_to(&self, target: SocketAddr) -> std::io::Result<TcpStream> {
        let socket = if target.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(local) = self.local_ip.filter(|ip| ip.is_ipv4() == target.is_ipv4()) {
            socket.bind(SocketAddr::new(local, 0))?;
        }
        tokio::time::timeout(TARGET_CONNECT_TIMEOUT, socket.connect(target))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
    }
}

/// Copies bytes both ways between `client` and `target` until both sides close, either
/// fails, or nothing passes for `idle`. The client's first bytes must open a TLS handshake
/// record.
pub(crate) async fn pipe<C>(client: C, target: TcpStream, idle: Duration) -> std::io::Result<()>
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut target_read, mut target_write) = target.into_split();
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_target = vec![0u8; 16 * 1024];
    let (mut client_open, mut target_open, mut first) = (true, true, true);
    while client_open || target_open {
        tokio::select! {
            read = client_read.read(&mut from_client), if client_open => match read? {
                0 => {
                    client_open = false;
                    target_write.shutdown().await?;
                }
                n => {
                    if first && from_client[0] != TLS_HANDSHAKE_RECORD {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "a tunnel must carry TLS",
                        ));
                    }
                    first = false;
                    target_write.write_all(&from_client[..n]).await?;
                }
            },
            read = target_read.read(&mut from_target), if target_open => match read? {
                0 => {
                    target_open = false;
                    client_write.shutdown().await?;
                }
                n => client_write.write_all(&from_target[..n]).await?,
            },
            () = tokio::time::sleep(idle) => {
                return Err(std::io::Error::from(std::io::ErrorKind::TimedOut));
            }
        }
    }
    Ok(())
}
