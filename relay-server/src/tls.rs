//! Serving over TLS: a listener that hands axum only connections whose TLS handshake with
//! the relay's certificate completed.
//!
//! Handshakes run concurrently, each in its own task with a time limit, so a client that
//! opens a connection and then stalls (or a flood of them) never holds up the others;
//! connections beyond [`MAX_PENDING_HANDSHAKES`] are closed at once. A failed handshake is
//! counted, never logged with the peer's address.
//!
//! Served connections are bounded too: at most [`MAX_CONNECTIONS`] at once (handshakes
//! included; a connection beyond is closed at once), and a connection on which no byte
//! moves either way for [`IDLE_TIMEOUT`] is closed, so idle or abandoned connections do not
//! pile up until the relay runs out of file descriptors.

use std::future::Future as _;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::throttle::{ConnectionPermit, Throttle};

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most handshakes in progress at once; further connections are closed.
pub const MAX_PENDING_HANDSHAKES: usize = 1024;
/// Most connections open at once (handshakes included); further connections are closed.
pub const MAX_CONNECTIONS: usize = 4096;
/// How long a connection may stay without a byte read or written before it is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A TCP listener whose connections come out TLS-terminated (see the module documentation).
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<(Connection, SocketAddr)>>,
    connections: Arc<Semaphore>,
    idle_timeout: Duration,
    throttle: Option<Arc<Throttle>>,
}

impl TlsListener {
    /// Serves TLS with `config` (the relay identity's server configuration) on `tcp`, with
    /// the default limits ([`MAX_CONNECTIONS`], [`IDLE_TIMEOUT`]).
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> Self {
        Self::with_limits(tcp, config, MAX_CONNECTIONS, IDLE_TIMEOUT)
    }

    /// As [`TlsListener::new`], with other limits (tests use small ones).
    pub fn with_limits(
        tcp: TcpListener,
        config: Arc<rustls::ServerConfig>,
        max_connections: usize,
        idle_timeout: Duration,
    ) -> Self {
        Self {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshakes: JoinSet::new(),
            connections: Arc::new(Semaphore::new(max_connections)),
            idle_timeout,
            throttle: None,
        }
    }

    /// Also holds each source to its connection limit ([`Throttle::admit_connection`]):
    /// a connection beyond is closed at once, before its TLS handshake.
    pub fn with_throttle(mut self, throttle: Arc<Throttle>) -> Self {
        self.throttle = Some(throttle);
        self
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok((stream, peer)) => {
                        // Answers go out as soon as they are written (a request-response
                        // protocol: Nagle's algorithm would only hold the last segment).
                        let _ = stream.set_nodelay(true);
                        if self.handshakes.len() >= MAX_PENDING_HANDSHAKES {
                            drop(stream);
                            continue;
                        }
                        let source = match &self.throttle {
                            Some(throttle) => match throttle.admit_connection(peer.ip()) {
                                Some(place) => Some(place),
                                None => {
                                    drop(stream);
                                    continue;
                                }
                            },
                            None => None,
                        };
                        let Ok(permit) = Arc::clone(&self.connections).try_acquire_owned() else {
                            drop(stream);
                            continue;
                        };
                        let acceptor = self.acceptor.clone();
                        let idle_timeout = self.idle_timeout;
                        self.handshakes.spawn(async move {
                            let handshake = acceptor.accept(stream);
                            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                                Ok(Ok(tls)) => Some((
                                    Connection::new(tls, (permit, source), idle_timeout),
                                    peer,
                                )),
                                _ => None,
                            }
                        });
                    }
                    // Out of file descriptors and the like: back off briefly, as axum does.
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                },
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    if let Ok(Some(connection)) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A served TLS connection: holds its place among [`MAX_CONNECTIONS`] until dropped, and
/// fails with `TimedOut` once no byte moved either way for its idle timeout (the HTTP
/// server then closes it).
pub struct Connection {
    inner: TlsStream<TcpStream>,
    idle: Pin<Box<Sleep>>,
    idle_timeout: Duration,
    /// Its place among all connections and among its source's.
    _place: (OwnedSemaphorePermit, Option<ConnectionPermit>),
}

impl Connection {
    fn new(
        inner: TlsStream<TcpStream>,
        place: (OwnedSemaphorePermit, Option<ConnectionPermit>),
        idle_timeout: Duration,
    ) -> Self {
        Self {
            inner,
            idle: Box::pin(tokio::time::sleep(idle_timeout)),
            idle_timeout,
            _place: place,
        }
    }

    /// Bytes moved: the idle clock starts again.
    fn touch(&mut self) {
        let deadline = Instant::now() + self.idle_timeout;
        self.idle.as_mut().reset(deadline);
    }

    /// The inner stream has nothing to do: fails once the idle time is up.
    fn poll_idle<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match self.idle.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection was idle too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.touch();
                }
                Poll::Ready(result)
            }
            Poll::Pending => this.poll_idle(cx),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(result) => {
                if matches!(result, Ok(n) if n > 0) {
                    this.touch();
                }
                Poll::Ready(result)
            }
            Poll::Pending => this.poll_idle(cx),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => this.poll_idle(cx),
            ready => ready,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
