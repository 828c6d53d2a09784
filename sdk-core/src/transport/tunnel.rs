//! The browser's connection to a relay (wasm32): TLS pinned to the relay's key, run by
//! rustls inside a WebSocket tunnel of an entry relay (`docs/PROTOCOL.md` §21), then
//! HTTP/1.1 by hyper, exactly the requests a native client makes.
//!
//! A browser can neither pin a TLS key nor open a `CONNECT` tunnel, and `fetch` would trust
//! whatever certificate authority the browser trusts. So nothing here uses `fetch`: the
//! WebSocket carries opaque bytes and the relay is authenticated by the same verifier as
//! natively ([`super::pinned_client_config`]). Each request opens its own tunnel (a
//! WebSocket, one TLS 1.3 handshake): requests are few and small, and a broken tunnel
//! never leaves a pooled connection behind.
//!
//! The same time limits as native requests hold, on the event loop's timers: opening
//! the tunnel with its TLS and HTTP handshakes within [`CONNECT_TIMEOUT`], the answer's
//! head and then each piece of its body within [`READ_TIMEOUT`] of the last. A gateway
//! or relay that stalls fails the request as [`TransportError::Unreachable`], which the
//! outbox retries, instead of holding it forever.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use http_body_util::{BodyExt as _, Full};

use super::http::{Answer, Request};
use super::{CONNECT_TIMEOUT, READ_TIMEOUT, TransportError};
use crate::relay::RelayAddress;
use crate::runtime::{Instant, sleep_until};

/// Where the tunnels to one relay start: the WebSocket URL of an entry relay, with
/// `?to=<ip>:<port>` when the target is another relay.
#[derive(Debug, Clone)]
pub(in crate::transport) struct Http {
    url: String,
    config: Arc<rustls::ClientConfig>,
    host: String,
}

/// An answer's body as hyper receives it.
pub(in crate::transport) struct Body(hyper_client::body::Incoming);

impl Body {
    pub(super) async fn chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
        loop {
            let frame = within(READ_TIMEOUT, "reading the relay's answer", async {
                Ok(self.0.frame().await)
            })
            .await?;
            match frame {
                None => return Ok(None),
                Some(Err(e)) => return Err(TransportError::from_failure(&e)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                    // Trailers carry nothing the API uses.
                }
            }
        }
    }
}

/// `work`'s result, or [`TransportError::Unreachable`] naming `what` once `limit` has
/// passed (then `work` is dropped, which closes its tunnel).
async fn within<T>(
    limit: Duration,
    what: &str,
    work: impl Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    let deadline = sleep_until(Instant::now() + limit);
    match futures_util::future::select(pin!(work), deadline).await {
        futures_util::future::Either::Left((result, _)) => result,
        futures_util::future::Either::Right(((), _)) => Err(TransportError::Unreachable(format!(
            "{what}: no progress within {} s",
            limit.as_secs()
        ))),
    }
}

impl Http {
    /// Tunnels to `target` through the WebSocket gateway at `gateway` (a `ws://` or
    /// `wss://` URL ending in `/v1/tunnel`); `entry` is the relay serving that gateway.
    /// When the target is another relay, the gateway is asked to carry the bytes on to
    /// it, which it does only as its `CONNECT` proxy would (§19).
    pub fn through_gateway(
        target: &RelayAddress,
        entry: &RelayAddress,
        gateway: &str,
    ) -> Result<Self, TransportError> {
        if !(gateway.starts_with("ws://") || gateway.starts_with("wss://")) {
            return Err(TransportError::Unreachable(format!(
                "a WebSocket gateway is a ws:// or wss:// URL, not {gateway:?}"
            )));
        }
        let url = if target == entry {
            gateway.to_owned()
        } else {
            let socket = crate::onion::HopAddress::of(target)
                .map_err(|_| {
                    TransportError::NoOnionPath(format!(
                        "{target}: a tunnel leads on only to relays named by IP address"
                    ))
                })?
                .socket;
            format!("{gateway}?to={socket}")
        };
        let config = Arc::new(super::pinned_client_config(*target.key())?);
        Ok(Self {
            url,
            config,
            host: target.host().to_string(),
        })
    }

    /// Sends `request` through a fresh tunnel; the answer carries the header `header` when
    /// present.
    pub async fn send(
        &self,
        request: Request,
        header: Option<&str>,
    ) -> Result<Answer, TransportError> {
        // The tunnel: the WebSocket, TLS pinned to the relay's key inside it, HTTP/1.1 over
        // that.
        let (mut sender, connection) = within(CONNECT_TIMEOUT, "opening the tunnel", async {
            let (_meta, socket) = ws_stream_wasm::WsMeta::connect(&self.url, None)
                .await
                .map_err(|e| TransportError::Unreachable(format!("WebSocket: {e}")))?;
            // The server name is never sent (no SNI on relay connections) nor checked: the
            // verifier checks the key.
            let name = rustls::pki_types::ServerName::try_from("relay.sotto.invalid")
                .map_err(|e| TransportError::Unreachable(e.to_string()))?;
            let tls = futures_rustls::TlsConnector::from(Arc::clone(&self.config))
                .connect(name, Messages(socket.into_io()))
                .await
                .map_err(|e| TransportError::from_failure(&e))?;
            hyper_client::client::conn::http1::handshake(HyperIo(tls))
                .await
                .map_err(|e| TransportError::from_failure(&e))
        })
        .await?;
        wasm_bindgen_futures::spawn_local(async move {
            // Ends with the answer's body (or when the relay closes).
            let _ = connection.await;
        });
        let mut builder = http::Request::builder()
            .method(request.method)
            .uri(&request.path)
            .header("host", &self.host);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let http_request = builder
            .body(Full::new(request.body))
            .map_err(|e| TransportError::InvalidAnswer(e.to_string()))?;
        let answer = within(READ_TIMEOUT, "waiting for the relay's answer", async {
            sender
                .send_request(http_request)
                .await
                .map_err(|e| TransportError::from_failure(&e))
        })
        .await?;
        let header = header
            .and_then(|name| answer.headers().get(name))
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let content_length = answer
            .headers()
            .get("content-length")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok());
        Ok(Answer {
            status: answer.status().as_u16(),
            header,
            content_length,
            body: Body(answer.into_body()),
        })
    }
}

/// The largest WebSocket message a tunnel sends: a relay ends a tunnel whose message is
/// larger than 64 KiB (`docs/PROTOCOL.md` §21). Half of that, so that a TLS record and
/// then some always fit.
pub(in crate::transport) const MAX_TUNNEL_MESSAGE: usize = 32 * 1024;

/// The WebSocket's byte stream with every write cut to [`MAX_TUNNEL_MESSAGE`] (each write
/// is one binary message). rustls hands over all the records it has at once, which for a
/// large request body is megabytes.
struct Messages<T>(T);

impl<T: AsyncRead + Unpin> AsyncRead for Messages<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Messages<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let len = buf.len().min(MAX_TUNNEL_MESSAGE);
        Pin::new(&mut self.0).poll_write(cx, &buf[..len])
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// A futures-io byte stream as hyper's I/O (safe code only: reads go through a buffer of
/// our own and `ReadBufCursor::put_slice`).
struct HyperIo<T>(T);

impl<T: AsyncRead + Unpin> hyper_client::rt::Read for HyperIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper_client::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let mut chunk = [0u8; 16 * 1024];
        let room = buf.remaining().min(chunk.len());
        match Pin::new(&mut self.0).poll_read(cx, &mut chunk[..room]) {
            Poll::Ready(Ok(n)) => {
                buf.put_slice(&chunk[..n]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> hyper_client::rt::Write for HyperIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}
