//! The browser's way in: WebSocket tunnels to this relay or another (`docs/PROTOCOL.md`
//! §21).
//!
//! A browser can neither pin a relay's TLS key nor open a `CONNECT` tunnel, so a relay
//! started with `--websocket-listen` also serves `GET /v1/tunnel` as a WebSocket on a
//! second, plain-HTTP listener. The WebSocket's binary messages carry raw bytes: the client
//! runs TLS inside them, pinned to the target relay's key exactly as a native client does,
//! then the same HTTP requests. The tunnel leads
//! - to this relay (no `to`): the bytes go to the relay's own TLS listener;
//! - to another relay (`?to=<ip>:<port>`), under the rules of the `CONNECT` proxy
//!   ([`crate::proxy`]): an IP address and a port, a public address unless
//!   `--allow-private-hops`, a target checked to be a relay.
//!
//! Either way the first bytes must open a TLS handshake, a tunnel with no byte either way
//! for [`TUNNEL_IDLE`](crate::proxy::TUNNEL_IDLE) is closed, and a message larger than
//! [`MAX_MESSAGE_BYTES`] ends it. Text messages are refused (close code 1003). The
//! WebSocket itself needs no certificate for security (the pinned TLS inside carries it);
//! browsers on `https://` pages need `wss://`, which an operator offers in front of this
//! listener (the relay's README).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Query, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};
use tokio::net::TcpStream;
use tracing::debug;

use crate::metrics::{Event, Metrics};
use crate::proxy::{Proxy, Refusal, TUNNEL_IDLE, pipe};

/// The path of the tunnel endpoint.
pub const TUNNEL_PATH: &str = "/v1/tunnel";
/// Largest WebSocket message (and frame) a tunnel takes, in bytes: a TLS record is at most
/// about 16.6 KiB, so a client never needs more.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Bytes buffered between the WebSocket and the target, each way.
const BRIDGE_BUFFER: usize = 64 * 1024;

/// The WebSocket gateway of one relay.
pub struct Gateway {
    proxy: Arc<Proxy>,
    /// Where this relay's own TLS listener is reached from the relay itself.
    own: SocketAddr,
    metrics: Arc<Metrics>,
}

/// The query of a tunnel request.
#[derive(Debug, serde::Deserialize)]
struct TunnelQuery {
    /// The target relay as `<ip>:<port>`; absent for this relay.
    to: Option<String>,
}

impl Gateway {
    /// The gateway of the relay listening on `listen` (an unspecified address is reached
    /// on loopback), opening tunnels to other relays under `proxy`'s rules.
    pub fn new(proxy: Arc<Proxy>, listen: SocketAddr, metrics: Arc<Metrics>) -> Arc<Self> {
        let own = match listen.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), listen.port())
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), listen.port())
            }
            _ => listen,
        };
        Arc::new(Self {
            proxy,
            own,
            metrics,
        })
    }

    /// The gateway's HTTP application: `GET /v1/tunnel`, a plain-text 404 elsewhere.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(TUNNEL_PATH, get(tunnel))
            .fallback(|| async {
                (
                    StatusCode::NOT_FOUND,
                    "this listener serves WebSocket tunnels at /v1/tunnel only",
                )
            })
            .with_state(Arc::clone(self))
    }

    /// Connects to the tunnel's target for a client at `source`: this relay, or another
    /// one checked as `CONNECT` checks it; within the source's tunnel limit either way.
    async fn open(
        &self,
        to: Option<&str>,
        source: Option<IpAddr>,
    ) -> Result<(SocketAddr, TcpStream), Refusal> {
        match to {
            None => {
                self.proxy.allow_tunnel(source)?;
                self.proxy
                    .connect_to(self.own)
                    .await
                    .map(|stream| (self.own, stream))
                    .map_err(|_| Refusal::NotARelay)
            }
            Some(to) => self.proxy.open_target(Some(to), source).await,
        }
    }
}

/// Answers a tunnel request: `101` and the tunnel, or a refusal (a malformed upgrade:
/// `400`, `405`, `426`; a target refused: `400`, `403`, `502`; too many tunnels: `429`).
async fn tunnel(
    State(gateway): State<Arc<Gateway>>,
    query: Result<Query<TunnelQuery>, axum::extract::rejection::QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    request: Request<Body>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            gateway.metrics.record(Event::WebSocketRefused);
            return rejection.into_response();
        }
    };
    let Ok(Query(query)) = query else {
        gateway.metrics.record(Event::WebSocketRefused);
        return Refusal::NotAnAddress.answer().into_response();
    };
    let source = request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let (target, stream) = match gateway.open(query.to.as_deref(), source).await {
        Ok(opened) => opened,
        Err(refusal) => {
            gateway.metrics.record(Event::WebSocketRefused);
            return refusal.answer().into_response();
        }
    };
    gateway.metrics.record(Event::WebSocketOpened);
    crate::observe::tunnel(request.extensions(), target);
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| async move {
            let (ours, theirs) = tokio::io::duplex(BRIDGE_BUFFER);
            let bridged = tokio::spawn(bridge(socket, ours));
            if let Err(e) = pipe(theirs, stream, TUNNEL_IDLE).await {
                debug!(error = %e, "a WebSocket tunnel ended with an error");
            }
            let _ = bridged.await;
        })
}

/// Carries the WebSocket's binary messages into `bytes` and the bytes coming back out as
/// binary messages, until either side ends. A text message ends the tunnel with close code
/// 1003 (unsupported data).
async fn bridge(mut socket: WebSocket, mut bytes: DuplexStream) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            message = socket.recv() => match message {
                Some(Ok(Message::Binary(data))) => {
                    if bytes.write_all(&data).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Text(_))) => {
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame {
                            code: close_code::UNSUPPORTED,
                            reason: "a tunnel carries binary messages only".into(),
                        })))
                        .await;
                    break;
                }
                // Pings are answered by the WebSocket layer itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
            read = bytes.read(&mut buffer) => match read {
                Ok(0) | Err(_) => {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
                Ok(n) => {
                    let data = axum::body::Bytes::copy_from_slice(&buffer[..n]);
                    if socket.send(Message::Binary(data)).await.is_err() {
                        break;
                    }
                }
            },
        }
    }
}
