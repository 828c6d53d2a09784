//! The WebSocket tunnels (`src/websocket.rs`) against real relay processes, from a
//! browser's side: TLS inside the WebSocket pinned to the target relay, to the relay itself
//! or on to another under the `CONNECT` proxy's rules, and clear refusals of malformed
//! upgrades, targets and frames.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use rustls::pki_types::ServerName;
use sotto_core::onion::HopAddress;
use sotto_core::relay::{RelayAddress, RelayKey};
use sotto_core::transport::pinned_client_config;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

#[path = "common/people.rs"]
mod people;
#[path = "common/process.rs"]
mod process;
use process::RunningRelay;

const PATIENCE: Duration = Duration::from_secs(10);

fn socket_of(relay: &RelayAddress) -> SocketAddr {
    HopAddress::of(relay).unwrap().socket
}

fn gateway(relay: &RelayRunning) -> String {
    relay
        .websocket
        .clone()
        .expect("started with --websocket-listen")
}

type RelayRunning = RunningRelay;

/// A relay serving WebSocket tunnels on another loopback port, with `extra` flags.
fn relay_with_tunnels(extra: &[&str]) -> RunningRelay {
    let mut flags = vec!["--websocket-listen", "127.0.0.1:0"];
    flags.extend_from_slice(extra);
    RunningRelay::start(&flags)
}

/// Opens a WebSocket at `url`: the socket, or the HTTP status it was refused with.
async fn open(
    url: &str,
) -> Result<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>, u16> {
    match tokio_tungstenite::connect_async(url).await {
        Ok((socket, _)) => Ok(socket),
        Err(WsError::Http(answer)) => Err(answer.status().as_u16()),
        Err(other) => panic!("{url}: {other}"),
    }
}

/// The WebSocket's binary messages as a byte stream (what the wasm client does in the
/// browser).
fn bytes_over(
    mut socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
) -> DuplexStream {
    let (ours, mut theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            tokio::select! {
                message = socket.next() => match message {
                    Some(Ok(Message::Binary(data))) => {
                        if theirs.write_all(&data).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                },
                read = theirs.read(&mut buffer) => match read {
                    Ok(0) | Err(_) => {
                        let _ = socket.close(None).await;
                        break;
                    }
                    Ok(n) => {
                        let data = buffer[..n].to_vec();
                        if socket.send(Message::Binary(data.into())).await.is_err() {
                            break;
                        }
                    }
                },
            }
        }
    });
    ours
}

/// `GET /v1/info` over TLS pinned to `pin` inside the WebSocket at `url`: the answer's
/// head and body, or the TLS error.
async fn info_through(url: &str, pin: RelayKey) -> Result<String, std::io::Error> {
    let socket = open(url).await.expect("the tunnel opens");
    let config = pinned_client_config(pin).unwrap();
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(
            ServerName::try_from("relay.invalid").unwrap(),
            bytes_over(socket),
        )
        .await?;
    tls.write_all(b"GET /v1/info HTTP/1.1\r\nhost: relay\r\nconnection: close\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, tls.read_to_end(&mut answer))
        .await
        .expect("the relay answers")?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tunnel_to_the_relay_itself_carries_tls_pinned_to_its_key() {
    let relay = relay_with_tunnels(&[]);
    let url = gateway(&relay);
    let answer = info_through(&url, *relay.address.key()).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(&relay.address.key().to_text()), "{answer}");

    // A client pinned to another key refuses the relay inside the tunnel.
    let other = relay_with_tunnels(&[]);
    let refused = info_through(&url, *other.address.key()).await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(
        people::operator_metric(
            &relay.operator,
            "sotto_relay_websocket_tunnels_opened_total"
        )
        .await,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tunnel_to_another_relay_obeys_the_proxys_rules() {
    let entry = relay_with_tunnels(&["--allow-private-hops"]);
    let target = relay_with_tunnels(&["--allow-private-hops"]);
    let url = gateway(&entry);

    // On to the target: TLS inside is the target's, pinned to its key.
    let to_target = format!("{url}?to={}", socket_of(&target.address));
    let answer = info_through(&to_target, *target.address.key())
        .await
        .unwrap();
    assert!(answer.contains(&target.address.key().to_text()), "{answer}");
    // The entry cannot answer in the target's place: pinned to the target, the entry's
    // own tunnel is refused.
    let impostor = info_through(&url, *target.address.key()).await;
    assert!(impostor.is_err(), "{impostor:?}");

    // Targets the proxy refuses, refused before the upgrade with the proxy's statuses.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    for (to, status) in [
        ("relay.example:443".to_owned(), 400),
        ("127.0.0.1".to_owned(), 400),
        ("127.0.0.1:0".to_owned(), 400),
        (closed.to_string(), 502),
    ] {
        assert_eq!(
            open(&format!("{url}?to={to}")).await.err(),
            Some(status),
            "{to}"
        );
    }
    // Without --allow-private-hops, no tunnel to a loopback relay.
    let public = relay_with_tunnels(&[]);
    let to_loopback = format!("{}?to={}", gateway(&public), socket_of(&target.address));
    assert_eq!(open(&to_loopback).await.err(), Some(403));
    assert_eq!(
        people::operator_metric(
            &entry.operator,
            "sotto_relay_websocket_tunnels_refused_total"
        )
        .await,
        4
    );
}

/// Sends raw HTTP to the gateway at `url` and returns the answer: its head and the body
/// its `content-length` announces.
async fn raw_request(url: &str, request: &str) -> String {
    let authority = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut tcp = TcpStream::connect(&authority).await.unwrap();
    let request = request.replace("HOST", &authority);
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|length| length.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if answer.len() >= head_end + 4 + length {
                return text;
            }
        }
        let read = tokio::time::timeout(PATIENCE, tcp.read(&mut buffer))
            .await
            .expect("the gateway answers")
            .unwrap();
        assert!(read > 0, "the gateway closed mid-answer: {text}");
        answer.extend_from_slice(&buffer[..read]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_upgrades_and_frames_are_refused() {
    let relay = relay_with_tunnels(&[]);
    let url = gateway(&relay);

    // Not an upgrade, another method, another path, a wrong WebSocket version.
    let plain = raw_request(
        &url,
        "GET /v1/tunnel HTTP/1.1\r\nhost: HOST\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(plain.starts_with("HTTP/1.1 4"), "{plain}");
    let post = raw_request(
        &url,
        "POST /v1/tunnel HTTP/1.1\r\nhost: HOST\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    let elsewhere = raw_request(
        &url,
        "GET /v1/info HTTP/1.1\r\nhost: HOST\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(elsewhere.starts_with("HTTP/1.1 404"), "{elsewhere}");
    assert!(elsewhere.contains("WebSocket tunnels"), "{elsewhere}");
    let version = raw_request(
        &url,
        "GET /v1/tunnel HTTP/1.1\r\nhost: HOST\r\nconnection: upgrade\r\nupgrade: websocket\r\n\
         sec-websocket-version: 8\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await;
    assert!(version.starts_with("HTTP/1.1 4"), "{version}");

    // A text message ends the tunnel with 1003.
    let mut socket = open(&url).await.unwrap();
    socket.send(Message::Text("hello".into())).await.unwrap();
    let closed = tokio::time::timeout(PATIENCE, socket.next()).await.unwrap();
    match closed {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Unsupported)
        }
        other => panic!("{other:?}"),
    }

    // Bytes that do not open a TLS handshake: the tunnel closes without an answer.
    let mut socket = open(&url).await.unwrap();
    socket
        .send(Message::Binary(
            b"GET /v1/info HTTP/1.1\r\n\r\n".to_vec().into(),
        ))
        .await
        .unwrap();
    assert!(ends_without_data(&mut socket).await);

    // A message over the limit ends the tunnel.
    let mut socket = open(&url).await.unwrap();
    let mut huge = vec![22u8; 65 * 1024];
    huge[1] = 3;
    let _ = socket.send(Message::Binary(huge.into())).await;
    assert!(ends_without_data(&mut socket).await);
}

/// Whether the socket ends (closed or failed) before any binary data comes back.
async fn ends_without_data(
    socket: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
) -> bool {
    loop {
        match tokio::time::timeout(PATIENCE, socket.next()).await {
            Err(_) => return false,
            Ok(Some(Ok(Message::Binary(_)))) => return false,
            Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) => return true,
            Ok(Some(Ok(_))) => {}
        }
    }
}
