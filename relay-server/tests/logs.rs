//! The relay's logs, captured at the most verbose level through a whole queue's life, a
//! whole chunk's life and a run of refusals, name no id, no key, no nonce, no signature and
//! no chunk capability.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{TestRelay, request};
use sotto_core::relay::{AuthHeader, Endpoint, RelayMessageId, SenderId};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every spelling of `bytes` a log line could carry.
fn spellings(bytes: &[u8]) -> Vec<String> {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        URL_SAFE_NO_PAD.encode(bytes),
        STANDARD.encode(bytes),
        hex.clone(),
        hex.to_uppercase(),
        format!("{bytes:?}"),
    ]
}

#[tokio::test]
async fn trace_logs_of_a_queues_whole_life_hold_no_ids_keys_or_nonces() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let relay = TestRelay::new();
    let queue = relay.create_queue().await;
    let mut secrets: Vec<Vec<u8>> = vec![
        queue.recipient_id.as_bytes().to_vec(),
        queue.sender_id.as_bytes().to_vec(),
        queue.recipient.public().to_bytes(),
        queue.sender.public().to_bytes(),
        queue.sender.private_bytes().to_vec(),
        queue.recipient.private_bytes().to_vec(),
    ];
    let body = b"opaque sealed bytes";
    let send = relay.send_request(&queue, body);
    let header = AuthHeader::parse(send.headers()["sotto-auth"].as_bytes()).unwrap();
    secrets.push(header.nonce.to_vec());
    secrets.push(header.signature.to_vec());
    assert_eq!(relay.call(send).await.status, 201);
    let read = relay.next(&queue).await;
    let message = read.message_id.clone().unwrap();
    secrets.push(
        RelayMessageId::from_text(&message)
            .unwrap()
            .as_bytes()
            .to_vec(),
    );
    // Refusals of every kind, each naming the queue in its path.
    let path = Endpoint::Send(queue.sender_id).path();
    relay
        .call(request(
            "POST",
            &path,
            Some("application/octet-stream"),
            None,
            b"x",
        ))
        .await;
    relay
        .call(request("POST", &path, Some("text/plain"), None, b"x"))
        .await;
    relay
        .call(relay.signed(
            &queue.recipient,
            "POST",
            &path,
            Some("application/octet-stream"),
            b"x",
        ))
        .await;
    let unknown = Endpoint::Send(SenderId::from_bytes([0xab; 16])).path();
    relay
        .call(relay.signed(
            &queue.sender,
            "POST",
            &unknown,
            Some("application/octet-stream"),
            b"x",
        ))
        .await;
    relay.ack(&queue, &message).await;
    relay.ack(&queue, &message).await;
    relay
        .call_operator(request("GET", "/metrics", None, None, b""))
        .await;
    relay
        .call(request("GET", "/v1/info", None, None, b""))
        .await;
    relay.delete(&queue).await;
    relay.next(&queue).await;

    // A chunk's whole life, and refusals naming it.
    let seed = sotto_core::relay::ChunkSeed::random(&mut rand::rng());
    let part = seed.part(0);
    let delete_hash = part.delete.hash();
    secrets.extend([
        seed.as_bytes().to_vec(),
        part.id().as_bytes().to_vec(),
        part.read.as_bytes().to_vec(),
        part.delete.as_bytes().to_vec(),
        delete_hash.to_vec(),
    ]);
    let chunk_path = Endpoint::PutChunk(part.id()).path();
    let chunk_request = |method: &str, headers: &[(&str, String)], body: &[u8]| {
        let content_type = (method == "PUT").then_some("application/octet-stream");
        let mut built = request(method, &chunk_path, content_type, None, body);
        for (name, value) in headers {
            built.headers_mut().insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        built
    };
    let read = ("sotto-chunk-read", part.read.to_text().to_string());
    let put_headers = [
        read.clone(),
        (
            "sotto-chunk-delete-hash",
            URL_SAFE_NO_PAD.encode(delete_hash),
        ),
    ];
    let chunk_body = b"opaque attachment part";
    for _ in 0..2 {
        relay
            .call(chunk_request("PUT", &put_headers, chunk_body))
            .await;
    }
    relay
        .call(chunk_request("GET", std::slice::from_ref(&read), b""))
        .await;
    relay
        .call(chunk_request(
            "GET",
            &[read.clone(), ("range", "bytes=5-".into())],
            b"",
        ))
        .await;
    relay
        .call(chunk_request(
            "GET",
            &[("sotto-chunk-read", part.delete.to_text().to_string())],
            b"",
        ))
        .await;
    relay
        .call(chunk_request(
            "DELETE",
            &[("sotto-chunk-delete", part.read.to_text().to_string())],
            b"",
        ))
        .await;
    relay
        .call(chunk_request(
            "DELETE",
            &[("sotto-chunk-delete", part.delete.to_text().to_string())],
            b"",
        ))
        .await;
    relay.call(chunk_request("GET", &[read], b"")).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for event in [
        "queue created",
        "message stored",
        "message read",
        "request refused",
        "chunk stored",
        "chunk read",
        "chunk deleted",
    ] {
        assert!(logs.contains(event), "no {event:?} event in:\n{logs}");
    }
    for secret in &secrets {
        for spelling in spellings(secret) {
            assert!(
                !logs.contains(&spelling),
                "the logs hold {spelling}:\n{logs}"
            );
        }
    }
    assert!(!logs.contains(&relay.relay_key.to_text()));
    assert!(!logs.contains(std::str::from_utf8(body).unwrap()));
    assert!(!logs.contains(std::str::from_utf8(chunk_body).unwrap()));
    assert!(!logs.contains("/v1/"), "no paths in the logs:\n{logs}");
}
