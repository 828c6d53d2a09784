//! The relay's connection limits (`sotto_relay::tls`, `sotto_relay::server::serve`): idle
//! connections are closed, busy keep-alive connections are not, a client trickling its
//! request headers is cut off, and connections beyond the cap are refused at once while the
//! relay goes on serving the others.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use sotto_core::transport::{RelayKey, pinned_client_config};
use sotto_relay::RelayIdentity;
use sotto_relay::tls::TlsListener;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Serves `GET /health` over the relay's TLS listener with these limits.
async fn serve(
    max_connections: usize,
    idle: Duration,
) -> (tempfile::TempDir, RelayKey, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let identity = RelayIdentity::load_or_create(&dir.path().join("relay")).unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = tcp.local_addr().unwrap();
    let config = Arc::new(identity.server_config().unwrap());
    let listener = TlsListener::with_limits(tcp, config, max_connections, idle);
    let app = axum::Router::new().route("/health", axum::routing::get(|| async { "ok" }));
    tokio::spawn(sotto_relay::server::serve(
        listener,
        app,
        None,
        std::future::pending(),
    ));
    (dir, identity.public_key(), address)
}

async fn connect(address: SocketAddr, key: RelayKey) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(address).await?;
    let config = pinned_client_config(key).unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("relay.invalid").unwrap(), tcp)
        .await
}

/// One keep-alive request; whether the answer came.
async fn healthy(tls: &mut TlsStream<TcpStream>) -> bool {
    let request = b"GET /health HTTP/1.1\r\nhost: relay.invalid\r\n\r\n";
    if tls.write_all(request).await.is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while !answer.ends_with(b"ok") {
        match tls.read(&mut buffer).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
    answer.starts_with(b"HTTP/1.1 200")
}

/// Whether the server closed the connection (end of stream or an error on read).
async fn closed(tls: &mut TlsStream<TcpStream>) -> bool {
    let mut buffer = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buffer)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_and_a_busy_one_is_not() {
    let idle = Duration::from_millis(600);
    let (_dir, key, address) = serve(16, idle).await;
    let mut quiet = connect(address, key).await.unwrap();
    let mut busy = connect(address, key).await.unwrap();
    // The busy one sends a request every 200 ms for three idle periods.
    for _ in 0..9 {
        assert!(
            healthy(&mut busy).await,
            "a busy keep-alive connection stays open"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(closed(&mut quiet).await, "the idle connection was closed");
    assert!(healthy(&mut busy).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_refused_and_the_relay_serves_on() {
    let (_dir, key, address) = serve(2, Duration::from_secs(60)).await;
    let mut first = connect(address, key).await.unwrap();
    let mut second = connect(address, key).await.unwrap();
    assert!(healthy(&mut first).await);
    assert!(healthy(&mut second).await);
    // A third is closed at once: its handshake fails.
    assert!(connect(address, key).await.is_err(), "beyond the cap");
    assert!(healthy(&mut first).await, "the others are served on");
    // Once one closes, its place is free again.
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(tls) = connect(address, key).await {
            again = Some(tls);
            break;
        }
    }
    let mut again = again.expect("a place frees up when a connection closes");
    assert!(healthy(&mut again).await);
    assert!(healthy(&mut second).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_its_headers_is_cut_off() {
    use sotto_relay::server::HEADER_READ_TIMEOUT;
    // Idle timeout far away: only the header deadline can end this connection.
    let (_dir, key, address) = serve(16, Duration::from_secs(600)).await;
    let mut slow = connect(address, key).await.unwrap();
    let started = std::time::Instant::now();
    slow.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
    let mut cut_off = false;
    while started.elapsed() < HEADER_READ_TIMEOUT * 3 {
        // One header byte every half second: never idle, never done.
        if slow.write_all(b"x").await.is_err() || slow.flush().await.is_err() {
            cut_off = true;
            break;
        }
        let mut buffer = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(500), slow.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => {
                cut_off = true;
                break;
            }
            // hyper answers 408 before closing.
            Ok(Ok(_)) => {}
            Err(_) => {}
        }
    }
    let waited = started.elapsed();
    assert!(cut_off, "the trickling client was never cut off");
    assert!(
        waited >= HEADER_READ_TIMEOUT,
        "cut off after {waited:?}, before the deadline"
    );
    // Others are served meanwhile and after.
    let mut other = connect(address, key).await.unwrap();
    assert!(healthy(&mut other).await);
}
