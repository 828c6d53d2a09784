//! Running a relay: open the data directory and the store, serve the app until a shutdown
//! signal, sweep expired data meanwhile, and close the store cleanly at the end.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;
use tower::ServiceExt as _;
use tracing::{debug, error, info, warn};

use crate::app::{RelayState, Routers, routers};
use crate::clock::Clock;
use crate::config::Settings;
use crate::identity::RelayIdentity;
use crate::known_relays::KnownRelays;
use crate::metrics::Metrics;
use crate::mix::{Mix, MixError};
use crate::proxy::Proxy;
use crate::storage::{
    ChunkStore, Day, FileChunkStore, Hour, KeyCache, NonceBucket, RelayStore, SqliteStore,
    StoreError, SweepReport,
};
use crate::throttle::Throttle;
use crate::wait::Waiters;
use crate::websocket::Gateway;

/// The chunk store's folder inside the data directory.
pub const CHUNK_DIR: &str = "chunks";

/// How often expired messages, queues and nonces are deleted.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(600);
/// How long a shutdown waits for requests in flight before closing anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How long a client may take to send a request's headers, from their first byte to the
/// blank line that ends them.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a relay could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The data directory could not be created.
    #[error("cannot create the data directory: {0}")]
    DataDir(std::io::Error),
    /// The store could not be opened or closed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The Sphinx keys could not be loaded or made.
    #[error("onion routing: {0}")]
    Mix(#[from] MixError),
    /// Serving failed.
    #[error("serving failed: {0}")]
    Serve(std::io::Error),
}

/// A relay ready to serve: its store, its app and its clock.
pub struct Relay {
    store: Arc<SqliteStore>,
    chunks: Arc<dyn ChunkStore>,
    mix: Arc<Mix>,
    proxy: Arc<Proxy>,
    metrics: Arc<Metrics>,
    throttle: Arc<Throttle>,
    clock: Arc<dyn Clock>,
    routers: Routers,
    waiters: Arc<Waiters>,
    /// The listener of WebSocket tunnels, when the relay serves them.
    websocket: Option<tokio::net::TcpListener>,
    /// The listener of the operator's endpoints (`/metrics`), when the relay serves them.
    operator: Option<tokio::net::TcpListener>,
}

impl Relay {
    /// Creates the data directory if needed (owner-only), opens the store and the Sphinx
    /// keys in it and builds the app around them.
    pub fn open(
        settings: &Settings,
        identity: Arc<RelayIdentity>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, RunError> {
        let relay_key = identity.public_key();
        create_data_dir(&settings.data_dir).map_err(RunError::DataDir)?;
        let store = Arc::new(SqliteStore::open(
            &settings.data_dir,
            settings.limits.policy(),
        )?);
        let chunks: Arc<dyn ChunkStore> = Arc::new(FileChunkStore::open(
            &settings.data_dir.join(CHUNK_DIR),
            settings.limits.chunk_policy(),
        )?);
        let metrics = Arc::new(Metrics::new());
        // Outgoing connections (next hops, tunnels) leave from the address the relay
        // listens on, when it listens on one.
        let local_ip = Some(settings.listen.ip()).filter(|ip| !ip.is_unspecified());
        let mut sources = settings.sources.clone();
        // The WebSocket gateway reaches this relay from the relay's own address.
        if settings.websocket_listen.is_some()
            && let Some(own) = local_ip
        {
            sources.exempt.push(own);
        }
        let throttle = Throttle::new(sources, Arc::clone(&metrics));
        let relays = KnownRelays::new(local_ip, Arc::clone(&throttle));
        let mix = Arc::new(Mix::open(
            &settings.data_dir,
            settings.mix,
            identity,
            Arc::clone(&metrics),
            clock.unix_seconds(),
            Arc::clone(&relays),
            local_ip,
        )?);
        let proxy = Proxy::new(
            settings.mix.allow_private_hops,
            local_ip,
            relays,
            Arc::clone(&throttle),
            Arc::clone(&metrics),
        );
        let waiters = Arc::new(Waiters::new());
        let routers = routers(RelayState {
            // Queue keys from memory when at hand (`storage::key_cache`).
            store: Arc::new(KeyCache::new(Arc::clone(&store) as Arc<dyn RelayStore>)),
            relay_key,
            limits: settings.limits,
            clock: Arc::clone(&clock),
            metrics: Arc::clone(&metrics),
            chunks: Arc::clone(&chunks),
            mix: Some(Arc::clone(&mix)),
            waiters: Arc::clone(&waiters),
            throttle: Arc::clone(&throttle),
        });
        Ok(Self {
            store,
            chunks,
            mix,
            proxy,
            metrics,
            throttle,
            clock,
            routers,
            waiters,
            websocket: None,
            operator: None,
        })
    }

    /// Also serves WebSocket tunnels ([`crate::websocket`]) on `listener`, as plain HTTP.
    pub fn with_websocket(mut self, listener: tokio::net::TcpListener) -> Self {
        self.websocket = Some(listener);
        self
    }

    /// Also serves the operator's endpoints (`/metrics`, `/health`) on `listener`, as plain
    /// HTTP: a loopback address (the default) or a private network's, never the public one.
    pub fn with_operator(mut self, listener: tokio::net::TcpListener) -> Self {
        self.operator = Some(listener);
        self
    }

    /// The per-source limits, for the TLS listener to hold connections to
    /// ([`crate::tls::TlsListener::with_throttle`]).
    pub fn throttle(&self) -> Arc<Throttle> {
        Arc::clone(&self.throttle)
    }

    /// The public HTTP application (for tests that drive it without a socket).
    pub fn router(&self) -> Router {
        self.routers.public.clone()
    }

    /// The operator's HTTP application (for tests that drive it without a socket).
    pub fn operator_router(&self) -> Router {
        self.routers.operator.clone()
    }

    /// Serves on `listener` until `shutdown` completes, then finishes the requests in
    /// flight (for at most [`SHUTDOWN_GRACE`]), stops sweeping and closes the store.
    pub async fn run<L>(
        self,
        listener: L,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), RunError>
    where
        L: Listener,
        L::Addr: Into<SocketAddr>,
    {
        let Self {
            store,
            chunks,
            mix,
            proxy,
            metrics,
            throttle: _,
            clock,
            routers,
            waiters,
            websocket,
            operator,
        } = self;
        let gateway = match (&websocket, listener.local_addr()) {
            (Some(_), Ok(own)) => Some(Gateway::new(
                Arc::clone(&proxy),
                own.into(),
                Arc::clone(&metrics),
            )),
            (Some(_), Err(e)) => return Err(RunError::Serve(e)),
            (None, _) => None,
        };
        let sweeper = tokio::spawn(sweep_loop(
            Arc::clone(&store) as Arc<dyn RelayStore>,
            chunks,
            mix,
            clock,
            metrics,
        ));
        let (stop, stopped) = watch::channel(());
        let stopping = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.changed().await;
            }
        };
        let tunnels = websocket.zip(gateway).map(|(websocket, gateway)| {
            tokio::spawn(serve(websocket, gateway.router(), None, stopping()))
        });
        let operator = operator
            .map(|operator| tokio::spawn(serve(operator, routers.operator, None, stopping())));
        let mut server = tokio::spawn(serve(listener, routers.public, Some(proxy), stopping()));
        let served = tokio::select! {
            () = shutdown => {
                info!("shutting down: finishing requests in flight");
                // Waiting reads answer now (an empty queue), instead of holding the grace.
                waiters.close();
                let _ = stop.send(());
                match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
                    Ok(joined) => joined,
                    Err(_) => {
                        warn!("requests still in flight after the grace period; closing anyway");
                        server.abort();
                        Ok(Ok(()))
                    }
                }
            }
            joined = &mut server => joined,
        };
        // The tunnel and operator listeners stopped with the main one; open tunnels end on
        // their own.
        for task in tunnels.into_iter().chain(operator) {
            task.abort();
            let _ = task.await;
        }
        sweeper.abort();
        let _ = sweeper.await;
        let served = match served {
            Ok(result) => result.map_err(RunError::Serve),
            Err(_) => Err(RunError::Serve(std::io::Error::other(
                "the server task failed",
            ))),
        };
        match Arc::try_unwrap(store) {
            Ok(store) => {
                store.close()?;
                info!("store closed");
            }
            Err(_) => warn!("store still in use at shutdown; it closes when the last request ends"),
        }
        served
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in flight
/// finish. The listener is a [`TlsListener`](crate::tls::TlsListener) in production (every
/// connection TLS-terminated with the relay's certificate), a plain `TcpListener` only for
/// `--insecure-plain-http` test relays.
///
/// Each connection is served by hyper's HTTP/1.1 server with a deadline for a request's
/// headers ([`HEADER_READ_TIMEOUT`], from the first byte to the blank line), so a client
/// trickling a header byte at a time cannot hold a connection for long. A `CONNECT` request
/// goes to `proxy` when there is one (its tunnel outlives the connection's HTTP part and is
/// not waited for at shutdown); every other request goes to `app`, with the peer's address
/// as an [`axum::extract::ConnectInfo`] extension.
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    proxy: Option<Arc<Proxy>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Listener,
    L::Addr: Into<SocketAddr>,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    // Every connection task holds a receiver; a value sent asks them to finish, and the
    // sender's `closed` completes once the last one has.
    let (closing, closing_seen) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            (io, peer) = listener.accept() => {
                let service = connection_service(app.clone(), proxy.clone(), peer.into());
                let connection = http.serve_connection(TokioIo::new(io), service).with_upgrades();
                let mut closing = closing_seen.clone();
                // A connection's failure (a reset, a timeout, bad HTTP) concerns it alone.
                tokio::spawn(async move {
                    let mut connection = std::pin::pin!(connection);
                    tokio::select! {
                        _ = connection.as_mut() => {}
                        _ = closing.changed() => {
                            connection.as_mut().graceful_shutdown();
                            let _ = connection.await;
                        }
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    // No new connections; those open finish their request in flight, then close.
    drop(listener);
    drop(closing_seen);
    let _ = closing.send(());
    closing.closed().await;
    Ok(())
}

/// The service of one connection from `peer`: `CONNECT` to the proxy, the rest to the app.
fn connection_service(
    app: Router,
    proxy: Option<Arc<Proxy>>,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        let (app, proxy) = (app.clone(), proxy.clone());
        async move {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            if request.method() == hyper::Method::CONNECT
                && let Some(proxy) = proxy
            {
                return Ok(proxy.connect(request).await);
            }
            app.oneshot(request.map(axum::body::Body::new)).await
        }
    })
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => info!("interrupted"),
        () = terminate => info!("terminated"),
    }
}

/// Deletes what expired by the clock's time, and counts it.
pub fn sweep_once(
    store: &dyn RelayStore,
    clock: &dyn Clock,
    metrics: &Metrics,
) -> Result<SweepReport, StoreError> {
    let now = clock.unix_seconds();
    let report = store.sweep(
        Day::from_unix_seconds(now),
        NonceBucket::from_unix_seconds(now),
    )?;
    metrics.record_sweep(report.messages, report.queues);
    Ok(report)
}

/// Deletes the chunks that expired by the clock's time, and counts them.
pub fn sweep_chunks_once(
    chunks: &dyn ChunkStore,
    clock: &dyn Clock,
    metrics: &Metrics,
) -> Result<u64, StoreError> {
    let swept = chunks.sweep(Hour::from_unix_seconds(clock.unix_seconds()))?;
    metrics.record_chunk_sweep(swept);
    Ok(swept)
}

async fn sweep_loop(
    store: Arc<dyn RelayStore>,
    chunks: Arc<dyn ChunkStore>,
    mix: Arc<Mix>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
) {
    let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let (keys, keys_clock) = (Arc::clone(&mix), Arc::clone(&clock));
        match tokio::task::spawn_blocking(move || keys.refresh(keys_clock.unix_seconds())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => error!(error = %e, "Sphinx key rotation failed"),
            Err(_) => error!("Sphinx key rotation task failed"),
        }
        let (queue_store, queue_clock, queue_metrics) =
            (Arc::clone(&store), Arc::clone(&clock), Arc::clone(&metrics));
        match tokio::task::spawn_blocking(move || {
            sweep_once(queue_store.as_ref(), queue_clock.as_ref(), &queue_metrics)
        })
        .await
        {
            Ok(Ok(report)) if report != SweepReport::default() => info!(
                messages = report.messages,
                queues = report.queues,
                nonces = report.nonces,
                "expired data deleted"
            ),
            Ok(Ok(_)) => debug!("nothing expired"),
            Ok(Err(e)) => error!(error = %e, "expiry sweep failed"),
            Err(_) => error!("expiry sweep task failed"),
        }
        let (chunk_store, chunk_clock, chunk_metrics) = (
            Arc::clone(&chunks),
            Arc::clone(&clock),
            Arc::clone(&metrics),
        );
        match tokio::task::spawn_blocking(move || {
            sweep_chunks_once(chunk_store.as_ref(), chunk_clock.as_ref(), &chunk_metrics)
        })
        .await
        {
            Ok(Ok(0)) => debug!("no chunk expired"),
            Ok(Ok(chunks)) => info!(chunks, "expired chunks deleted"),
            Ok(Err(e)) => error!(error = %e, "chunk expiry sweep failed"),
            Err(_) => error!("chunk expiry sweep task failed"),
        }
    }
}

/// Creates the data directory (and its parents), readable by its owner only.
fn create_data_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(path)
}
