//! The read path's proxy (`src/proxy.rs`) against real relay processes: what it refuses
//! (a name instead of an address, a private address unless it is a test network, a server
//! that is not a relay, a tunnel that does not carry TLS), and that TLS inside a tunnel is
//! pinned to the target, so the proxy cannot answer in its place.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use sotto_core::onion::HopAddress;
use sotto_core::relay::RelayAddress;
use sotto_core::transport::{RelayClient, TransportError, pinned_client_config};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

#[path = "common/people.rs"]
mod people;
#[path = "common/process.rs"]
mod process;
use process::RunningRelay;

fn socket_of(relay: &RelayAddress) -> SocketAddr {
    HopAddress::of(relay).unwrap().socket
}

/// TLS to `proxy`, pinned to its key.
async fn tls_to(proxy: &RelayAddress) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(socket_of(proxy)).await.unwrap();
    let config = pinned_client_config(*proxy.key()).unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("relay.invalid").unwrap(), tcp)
        .await
        .unwrap()
}

/// Sends `CONNECT <target>` to `proxy`; the answer's status and the open stream.
async fn connect(proxy: &RelayAddress, target: &str) -> (u16, TlsStream<TcpStream>) {
    let mut tls = tls_to(proxy).await;
    let request = format!("CONNECT {target} HTTP/1.1\r\nhost: {target}\r\n\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(30), tls.read(&mut byte))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read, 1, "the proxy closed before answering: {head:?}");
        head.push(byte[0]);
    }
    let status = String::from_utf8(head).unwrap()[9..12].parse().unwrap();
    (status, tls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_proxy_refuses_private_targets_and_names() {
    let proxy = RunningRelay::start(&[]);
    let target = RunningRelay::start(&[]);
    let (status, _) = connect(&proxy.address, &socket_of(&target.address).to_string()).await;
    assert_eq!(
        status, 403,
        "a loopback target without --allow-private-hops"
    );
    for name in [
        "relay.example:443",
        "localhost:443",
        "127.0.0.1",
        "127.0.0.1:0",
        "[::1]",
    ] {
        let (status, _) = connect(&proxy.address, name).await;
        assert!(status == 400 || status == 403, "{name}: {status}");
    }
    let (status, _) = connect(&proxy.address, "relay.example:443").await;
    assert_eq!(status, 400, "a DNS name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_network_proxy_tunnels_only_tls_to_relays_and_logs_no_target() {
    let proxy = RunningRelay::start(&["--allow-private-hops", "--log-level", "trace"]);
    let target = RunningRelay::start(&["--allow-private-hops"]);

    // A server that is not a relay: a plain TCP listener that answers nothing useful.
    let not_a_relay = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let not_a_relay_address = not_a_relay.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = not_a_relay.accept().await {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n\r\nhello").await;
        }
    });
    let (status, _) = connect(&proxy.address, &not_a_relay_address.to_string()).await;
    assert_eq!(status, 502, "not a relay");
    // Nothing listening there at all.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let (status, _) = connect(&proxy.address, &closed.to_string()).await;
    assert_eq!(status, 502, "nothing listening");

    // A relay: the tunnel opens; plain text through it is cut off.
    let (status, mut tunnel) =
        connect(&proxy.address, &socket_of(&target.address).to_string()).await;
    assert_eq!(status, 200);
    tunnel
        .write_all(b"GET /v1/info HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tunnel.read_to_end(&mut answer))
        .await
        .expect("the proxy closes a tunnel that does not carry TLS");
    assert!(read.is_err() || answer.is_empty(), "{answer:?}");

    // The client's read path: TLS inside the tunnel, pinned to the target.
    let through = RelayClient::through_proxy(target.address.clone(), &proxy.address).unwrap();
    let info = through.info().await.unwrap();
    assert_eq!(info.key, target.address.key().to_text());
    assert_eq!(
        people::operator_metric(&proxy.operator, "sotto_relay_tunnels_opened_total").await,
        2
    );
    assert_eq!(
        people::operator_metric(&proxy.operator, "sotto_relay_tunnels_refused_total").await,
        2
    );
    // Its log, at the most verbose level, names none of the targets it was asked for (nor
    // their ports), refused or tunnelled.
    let log = proxy.logged();
    assert!(log.contains("an address is not a reachable relay"), "{log}");
    let targets = [not_a_relay_address, closed, socket_of(&target.address)];
    for target in targets {
        for spelling in [target.to_string(), format!(":{}", target.port())] {
            assert!(!log.contains(&spelling), "the log names {spelling}: {log}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_cannot_answer_in_the_targets_place() {
    let proxy = RunningRelay::start(&["--allow-private-hops"]);
    let target = RunningRelay::start(&["--allow-private-hops"]);
    // A "target" at the proxy's own address but with the target's key: the tunnel leads
    // back to the proxy, which presents its own key inside it; the pin refuses it.
    let impostor = RelayAddress::new(
        *target.address.key(),
        proxy.address.host().clone(),
        proxy.address.port(),
    )
    .unwrap();
    let through = RelayClient::through_proxy(impostor, &proxy.address).unwrap();
    match through.info().await {
        Err(TransportError::KeyMismatch {
            expected,
            presented,
        }) => {
            assert_eq!(expected, *target.address.key());
            assert_eq!(presented, *proxy.address.key());
        }
        other => panic!("{other:?}"),
    }
    // And a proxy that is not the one named is refused before any CONNECT.
    let wrong_proxy = RelayAddress::new(
        *target.address.key(),
        proxy.address.host().clone(),
        proxy.address.port(),
    )
    .unwrap();
    let through = RelayClient::through_proxy(target.address.clone(), &wrong_proxy).unwrap();
    assert!(matches!(
        through.info().await,
        Err(TransportError::KeyMismatch { .. })
    ));
}
