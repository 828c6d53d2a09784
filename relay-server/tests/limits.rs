//! Limits against real relay processes (`src/throttle.rs`, `src/known_relays.rs`): a flood
//! from one source address is cut off while another source is still served; a packet
//! naming an address that is not the relay it names is not forwarded there, and such an
//! address gets one connection (the check) however many packets name it.
//!
//! Loopback is one machine but many addresses: clients here connect from 127.0.0.2 and
//! 127.0.0.3 (127.0.0.1, the default exempt source, is the relay's own).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use rustls::pki_types::ServerName;
use sotto_core::onion::{Delivery, Hop, HopAddress, PACKET_BYTES, SphinxSecret, build_packet};
use sotto_core::relay::{RelayAddress, RelayKey};
use sotto_core::transport::{RelayClient, pinned_client_config};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

#[path = "common/people.rs"]
mod people;
#[path = "common/process.rs"]
mod process;
use process::RunningRelay;

const FLOOD: &str = "127.0.0.2";
const OTHER: &str = "127.0.0.3";

fn socket_of(relay: &RelayAddress) -> SocketAddr {
    HopAddress::of(relay).unwrap().socket
}

/// TLS to `relay` from the local address `source`, pinned to the relay's key.
async fn tls_from(source: &str, relay: &RelayAddress) -> std::io::Result<TlsStream<TcpStream>> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source.parse::<IpAddr>().unwrap(), 0))?;
    let tcp = socket.connect(socket_of(relay)).await?;
    let config = pinned_client_config(*relay.key()).unwrap();
    let handshake = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("relay.invalid").unwrap(), tcp);
    tokio::time::timeout(Duration::from_secs(10), handshake)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// Sends one HTTP/1.1 request on `tls`; the answer's status and the rest of its head and
/// body as read so far.
async fn exchange(tls: &mut TlsStream<TcpStream>, head: &str, body: &[u8]) -> (u16, String) {
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    // The head, then whatever of the body has come (the error bodies are small).
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), tls.read(&mut buffer))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(n > 0, "closed before answering: {answer:?}");
        answer.extend_from_slice(&buffer[..n]);
    }
    if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(200), tls.read(&mut buffer)).await
    {
        answer.extend_from_slice(&buffer[..n]);
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    (text[9..12].parse().unwrap(), text)
}

/// Posts a batch of `count` garbage packets on `tls`.
async fn post_packets(tls: &mut TlsStream<TcpStream>, count: usize) -> (u16, String) {
    let body = vec![0x5Au8; count * PACKET_BYTES];
    let head = format!(
        "POST /v1/packets HTTP/1.1\r\nhost: relay\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    exchange(tls, &head, &body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_source_is_cut_off_while_another_source_is_served() {
    let relay = RunningRelay::start(&[
        "--max-connections-per-source",
        "3",
        "--packets-per-source-per-second",
        "64",
        "--tunnels-per-source-per-minute",
        "2",
    ]);

    // Connections: three held from one source; a fourth from it is closed before its
    // handshake, while another source connects and is answered.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(
            tls_from(FLOOD, &relay.address)
                .await
                .expect("within the limit"),
        );
    }
    assert!(
        tls_from(FLOOD, &relay.address).await.is_err(),
        "a fourth connection from one source"
    );
    let mut other = tls_from(OTHER, &relay.address)
        .await
        .expect("another source");
    let (status, _) = exchange(
        &mut other,
        "GET /v1/info HTTP/1.1\r\nhost: relay\r\n\r\n",
        b"",
    )
    .await;
    assert_eq!(status, 200);
    // A closed connection frees its place.
    held.clear();
    let mut flood = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(tls) = tls_from(FLOOD, &relay.address).await {
            flood = Some(tls);
            break;
        }
    }
    let mut flood = flood.expect("a place was freed");

    // Packets: one second's allowance (64) from one source, then 429; the other source
    // still posts.
    assert_eq!(post_packets(&mut flood, 64).await.0, 202);
    let (status, answer) = post_packets(&mut flood, 64).await;
    assert_eq!(status, 429, "{answer}");
    assert!(answer.contains("rate_limited"), "{answer}");
    assert_eq!(post_packets(&mut other, 64).await.0, 202);

    // Tunnels: two a minute from one source (refused targets count too: each one is a
    // tunnel asked for), then 429; the other source is still heard (and refused for its
    // private target, not for its rate).
    let connect = "CONNECT 127.0.0.1:9 HTTP/1.1\r\nhost: 127.0.0.1:9\r\n\r\n";
    for _ in 0..2 {
        let mut tls = tls_from(FLOOD, &relay.address).await.unwrap();
        assert_eq!(exchange(&mut tls, connect, b"").await.0, 403);
    }
    let mut tls = tls_from(FLOOD, &relay.address).await.unwrap();
    assert_eq!(exchange(&mut tls, connect, b"").await.0, 429);
    let mut tls = tls_from(OTHER, &relay.address).await.unwrap();
    assert_eq!(exchange(&mut tls, connect, b"").await.0, 403);

    let metric = |name: &'static str| people::operator_metric(&relay.operator, name);
    assert!(metric("sotto_relay_connections_limited_total").await >= 1);
    assert_eq!(metric("sotto_relay_packets_limited_total").await, 64);
    assert_eq!(metric("sotto_relay_tunnels_limited_total").await, 1);
    // The public port does not serve the counters.
    let (status, _) = exchange(
        &mut other,
        "GET /metrics HTTP/1.1\r\nhost: relay\r\n\r\n",
        b"",
    )
    .await;
    assert_eq!(status, 404);
}

/// A two-hop drop packet through `first` to `next` (with `next_key` as its Sphinx key).
async fn drop_via(first: &RelayAddress, next: Hop) -> Vec<u8> {
    let unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let keys = RelayClient::new(first.clone())
        .unwrap()
        .sphinx_keys()
        .await
        .unwrap();
    let key = keys.iter().find(|k| k.covers(unix)).unwrap().key;
    let hops = [
        Hop {
            address: HopAddress::of(first).unwrap(),
            key,
        },
        next,
    ];
    build_packet(
        &hops,
        &Delivery::Drop,
        &[Duration::ZERO; 2],
        &mut rand::rng(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packet_is_forwarded_only_to_the_relay_it_names() {
    let relay = RunningRelay::start(&["--allow-private-hops"]);
    let other = RunningRelay::start(&["--allow-private-hops"]);
    let client = RelayClient::new(relay.address.clone()).unwrap();
    let any_sphinx_key = SphinxSecret::generate(&mut rand::rng()).public();

    // An address where no relay answers: a TCP server that counts its connections.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let not_a_relay = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n\r\nhello").await;
        }
    });
    let fake = RelayAddress::new(
        RelayKey::from_bytes([9; 32]),
        sotto_core::relay::Host::V4([127, 0, 0, 1].into()),
        not_a_relay.port(),
    )
    .unwrap();
    for _ in 0..5 {
        let packet = drop_via(
            &relay.address,
            Hop {
                address: HopAddress::of(&fake).unwrap(),
                key: any_sphinx_key,
            },
        )
        .await;
        client.send_packets(packet).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A real relay, but not the one the packet names (another key): not forwarded either.
    let impostor = RelayAddress::new(
        RelayKey::from_bytes([7; 32]),
        other.address.host().clone(),
        other.address.port(),
    )
    .unwrap();
    let packet = drop_via(
        &relay.address,
        Hop {
            address: HopAddress::of(&impostor).unwrap(),
            key: any_sphinx_key,
        },
    )
    .await;
    client.send_packets(packet).await.unwrap();

    let metric = |name: &'static str| people::operator_metric(&relay.operator, name);
    for _ in 0..100 {
        if metric("sotto_relay_packets_not_forwarded_total").await == 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(metric("sotto_relay_packets_not_forwarded_total").await, 6);
    assert_eq!(metric("sotto_relay_packets_forwarded_total").await, 0);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "one check, then the failure is remembered"
    );
    assert_eq!(
        people::operator_metric(
            &other.operator,
            "sotto_relay_requests_total{endpoint=\"packets\",class=\"2xx\"}"
        )
        .await,
        0,
        "the other relay got no batch"
    );

    // The relay the packet does name is forwarded to.
    let keys = RelayClient::new(other.address.clone())
        .unwrap()
        .sphinx_keys()
        .await
        .unwrap();
    let packet = drop_via(
        &relay.address,
        Hop {
            address: HopAddress::of(&other.address).unwrap(),
            key: keys[0].key,
        },
    )
    .await;
    client.send_packets(packet).await.unwrap();
    for _ in 0..100 {
        if people::operator_metric(&other.operator, "sotto_relay_drop_packets_total").await == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the drop packet did not reach the relay it names");
}
