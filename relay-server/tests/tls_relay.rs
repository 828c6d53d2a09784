//! The `sotto-relay` binary serving for real: a relay process on loopback makes its identity
//! on first start, prints its address, and serves the API over TLS bound to that key. A
//! client pinning the key from the address creates a queue, writes, reads and acknowledges
//! a message over HTTPS; a client pinning another key is refused before anything is sent;
//! garbage on the TLS port does not disturb the relay; a restart keeps the identity, so the
//! address (and every invitation naming it) stays valid. The operator's `/metrics` is on a
//! port of its own (loopback, plain HTTP), never on the public one. A large body sent where
//! none is taken, or refused, gets its answer rather than a cut connection. The shipped
//! binary keeps no record of what it sees, whatever its environment says.

use std::io::Write as _;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use sotto_core::relay::{
    AUTH_HEADER, ApiError, ChunkId, CreateQueue, Endpoint, QueueCreated, QueueKeyPair, RecipientId,
    RelayAddress, RelayInfo, RelayKey, SenderId,
};
use sotto_core::transport::{TransportError, pinned_client_config};

#[path = "common/process.rs"]
mod process;
use process::{BINARY, observed_binary, operator_get, operator_url, spawn_binary, spawn_relay};

/// A relay process on an ephemeral loopback port, killed on drop.
struct Running {
    child: Child,
    address: RelayAddress,
    /// The operator's endpoints, `http://127.0.0.1:<port>`.
    operator: String,
}

impl Running {
    fn start(data_dir: &Path) -> Self {
        let (child, address, line) = spawn_relay(data_dir, &[], Stdio::null());
        assert!(!line.contains("insecure"), "{line}");
        Self {
            child,
            address,
            operator: operator_url(&line),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.address.port())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(pin: RelayKey) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(pinned_client_config(pin).expect("client config"))
        .no_proxy()
        .build()
        .expect("client")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// One signed request; returns the status, the message-id header and the body.
async fn signed(
    http: &reqwest::Client,
    relay: &Running,
    key: &QueueKeyPair,
    endpoint: &Endpoint,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Option<String>, Vec<u8>) {
    let path = endpoint.path();
    let auth = key
        .sign(
            relay.address.key(),
            unix_now(),
            endpoint.method(),
            &path,
            &body,
            &mut rand::rng(),
        )
        .unwrap()
        .encode();
    let method = reqwest::Method::from_bytes(endpoint.method().as_bytes()).unwrap();
    let mut request = http
        .request(method, relay.url(&path))
        .header(AUTH_HEADER, auth)
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.expect("the request is answered");
    let status = response.status().as_u16();
    let id = response
        .headers()
        .get(sotto_core::relay::api::MESSAGE_ID_HEADER)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, id, response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_process_serves_its_api_over_tls_pinned_to_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("relay");
    let relay = Running::start(&data);
    let http = client(*relay.address.key());

    let health = http.get(relay.url("/health")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    let info = http
        .get(relay.url("/v1/info"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let info: RelayInfo = serde_json::from_slice(&info).unwrap();
    assert_eq!(info.key, relay.address.key().to_text());

    // A queue's whole life over HTTPS.
    let mut rng = rand::rng();
    let recipient = QueueKeyPair::generate(&mut rng);
    let sender = QueueKeyPair::generate(&mut rng);
    let create = CreateQueue {
        recipient_key: recipient.public(),
        sender_key: sender.public(),
    };
    let (status, _, body) = signed(
        &http,
        &relay,
        &recipient,
        &Endpoint::CreateQueue,
        Some("application/json"),
        create.to_json(),
    )
    .await;
    assert_eq!(status, 201);
    let queue = QueueCreated::from_json(&body).unwrap();
    let packet = vec![0xA5; 4096];
    let (status, _, _) = signed(
        &http,
        &relay,
        &sender,
        &Endpoint::Send(queue.sender_id),
        Some("application/octet-stream"),
        packet.clone(),
    )
    .await;
    assert_eq!(status, 201);
    let (status, id, body) = signed(
        &http,
        &relay,
        &recipient,
        &Endpoint::Next(queue.recipient_id),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!((status, body), (200, packet));
    let id = sotto_core::relay::RelayMessageId::from_text(&id.unwrap()).unwrap();
    let (status, _, _) = signed(
        &http,
        &relay,
        &recipient,
        &Endpoint::Ack(queue.recipient_id, id),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = signed(
        &http,
        &relay,
        &recipient,
        &Endpoint::Next(queue.recipient_id),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, 204);

    // Pinning another key: refused during the handshake, with both keys named.
    let wrong = RelayKey::from_bytes([7; 32]);
    let error = client(wrong)
        .get(relay.url("/health"))
        .send()
        .await
        .expect_err("a relay with another key is refused");
    match TransportError::from_error_chain(&error) {
        Some(TransportError::KeyMismatch {
            expected,
            presented,
        }) => {
            assert_eq!(expected, wrong);
            assert_eq!(presented, *relay.address.key());
        }
        other => panic!("expected KeyMismatch, got {other:?} from {error:?}"),
    }

    // Garbage and a stalled half-handshake on the TLS port leave the relay serving.
    let socket = ("127.0.0.1", relay.address.port());
    let mut garbage = TcpStream::connect(socket).unwrap();
    garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let _stalled = TcpStream::connect(socket).unwrap();
    let health = http.get(relay.url("/health")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);

    // A restart keeps the identity: the same key, so the same address works.
    let key = *relay.address.key();
    drop(relay);
    let again = Running::start(&data);
    assert_eq!(*again.address.key(), key);
    let health = client(key).get(again.url("/health")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_are_on_the_operators_port_only() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Running::start(&dir.path().join("relay"));
    let public = client(*relay.address.key());
    let get = |http: &reqwest::Client, url: String| {
        let request = http.get(url);
        async move {
            let response = request.send().await.expect("an answer");
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    // The public port: the API and /health, no /metrics (as unknown as any other path).
    assert_eq!(get(&public, relay.url("/health")).await.0, 200);
    let (status, body) = get(&public, relay.url("/metrics")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(get(&public, relay.url("/no-such-path")).await, (404, body));
    // The operator's port: /metrics and /health, nothing of the API.
    assert!(
        relay.operator.starts_with("http://127.0.0.1:"),
        "{}",
        relay.operator
    );
    let (status, metrics) = operator_get(&relay.operator, "/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("sotto_relay_queues "), "{metrics}");
    assert_eq!(operator_get(&relay.operator, "/health").0, 200);
    assert_eq!(operator_get(&relay.operator, "/v1/info").0, 404);
    // The operator's polling is not counted as the relay's traffic.
    let (_, again) = operator_get(&relay.operator, "/metrics");
    let polled = "sotto_relay_requests_total{endpoint=\"metrics\",class=\"2xx\"} 0";
    assert!(again.lines().any(|line| line == polled), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_body_on_any_route_gets_its_refusal_not_a_cut_connection() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Running::start(&dir.path().join("relay"));
    let http = client(*relay.address.key());
    let mut rng = rand::rng();
    let (sender, recipient) = (
        SenderId::random(&mut rng).to_text(),
        RecipientId::random(&mut rng).to_text(),
    );
    let chunk = ChunkId::from_bytes([7; 32]).to_text();
    let routes = [
        ("GET", "/".to_owned()),
        ("DELETE", "/health".into()),
        ("POST", "/v1/info".into()),
        ("PATCH", "/v1/info".into()),
        ("GET", "/metrics".into()),
        ("PUT", "/v1/chunks/not-an-id".into()),
        ("PUT", format!("/v1/chunks/{chunk}")),
        ("GET", format!("/v1/chunks/{chunk}")),
        ("DELETE", format!("/v1/chunks/{chunk}")),
        ("POST", "/v1/queues".into()),
        ("POST", format!("/v1/send/{sender}")),
        ("POST", format!("/v1/queues/{recipient}/next")),
        ("DELETE", format!("/v1/queues/{recipient}")),
        ("POST", "/v1/packets".into()),
        ("POST", "/v1/info?x=1".into()),
    ];
    // 1 MiB: more than any of these takes, less than the largest body a relay drains.
    let body = vec![0x5A; 1 << 20];
    for (method, path) in &routes {
        let response = http
            .request(method.parse().unwrap(), relay.url(path))
            .header("content-type", "application/octet-stream")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"));
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{method} {path}: {status}");
        let error = ApiError::from_json(&response.bytes().await.unwrap());
        assert!(error.is_some(), "{method} {path}: not an API error");
    }
    // The connection stays usable after a drained refusal, and the relay serves on.
    let health = http.get(relay.url("/health")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_relay_keeps_no_record_whatever_its_environment_says() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("seen.jsonl");
    let env = [("SOTTO_RELAY_OBSERVATIONS", record.as_os_str())];
    // The tests' observed relay, with this environment, records the requests it sees...
    let binaries = [
        (observed_binary(), true),
        (std::path::PathBuf::from(BINARY), false),
    ];
    for (n, (binary, records)) in binaries.into_iter().enumerate() {
        let _ = std::fs::remove_file(&record);
        let data = dir.path().join(format!("relay-{n}"));
        let (child, address, line) =
            spawn_binary(&binary, &data, "127.0.0.1:0", &[], Stdio::null(), &env);
        let relay = Running {
            child,
            address,
            operator: operator_url(&line),
        };
        let info = client(*relay.address.key())
            .get(relay.url("/v1/info"))
            .send()
            .await
            .unwrap();
        assert_eq!(info.status().as_u16(), 200);
        drop(relay);
        // ...`sotto-relay` itself, the same, does not even create the file.
        let seen = std::fs::read_to_string(&record).unwrap_or_default();
        assert_eq!(
            seen.contains("\"/v1/info\""),
            records,
            "{}: {seen:?}",
            binary.display()
        );
        assert_eq!(record.exists(), records, "{}", binary.display());
    }
}
