//! A corpus of malformed requests against every endpoint: each is a 4xx with a JSON error
//! body, none is a 5xx, the queue's content is untouched, and the relay answers `/health`
//! afterwards.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::{TestRelay, request};
use sotto_core::relay::{AuthHeader, CreateQueue, Endpoint, ErrorKind, RelayMessageId};

/// A small deterministic generator, so a failure names a reproducible case number.
struct Lcg(u64);

impl Lcg {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        &items[(self.0 >> 33) as usize % items.len()]
    }
}

#[tokio::test]
async fn malformed_requests_to_every_endpoint_are_4xx_and_the_relay_stays_up() {
    let relay = TestRelay::new();
    let queue = relay.create_queue().await;
    assert_eq!(relay.send(&queue, b"keep me").await.status, 201);
    let message = relay.next(&queue).await.message_id.expect("message");
    let before = relay.snapshot(&queue);

    let recipient = queue.recipient_id.to_text();
    let sender = queue.sender_id.to_text();
    let long = "A".repeat(5000);
    let paths: Vec<String> = vec![
        "/v1/queues".into(),
        format!("/v1/send/{sender}"),
        format!("/v1/queues/{recipient}/next"),
        format!("/v1/queues/{recipient}/ack/{message}"),
        format!("/v1/queues/{recipient}"),
        "/v1/info".into(),
        "/health".into(),
        "/metrics".into(),
        "/".into(),
        "//v1/queues".into(),
        "/v1/queues/".into(),
        format!("/v1/queues/{long}"),
        format!("/v1/send/{}", "=".repeat(22)),
        format!("/v1/send/{}", &sender[..21]),
        format!("/v1/send/{sender}A"),
        format!("/v1/send/%41{}", &sender[1..]),
        format!("/v1/queues/{recipient}/ack/"),
        format!("/v1/queues/{recipient}/next/"),
        format!("/v1/queues/{recipient}/ack/{message}/x"),
        "/v1/../v1/info".into(),
        format!("/v1/send/{sender}?x=1"),
    ];
    let methods = ["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD"];
    let content_types = [
        None,
        Some("application/json"),
        Some("application/octet-stream"),
        Some("application/json; charset=utf-8"),
        Some("text/plain"),
        Some(""),
        Some("application/octet-stream, application/json"),
    ];
    let good = relay
        .sign(&queue.sender, relay.now(), "POST", &paths[1], b"other body")
        .encode();
    let stale = relay
        .sign(&queue.recipient, 0, "POST", &paths[2], b"")
        .encode();
    let forged = AuthHeader {
        unix_seconds: relay.now(),
        nonce: [1; 16],
        signature: [2; 64],
    }
    .encode();
    let far_future = format!("18446744073709551615{}", &forged[10..]);
    let auths: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        Some("garbage".into()),
        Some(good.clone()),
        Some(good[..good.len() / 2].to_owned()),
        Some(format!("{good}.")),
        Some(stale),
        Some(forged),
        Some(far_future),
        Some("9".repeat(200)),
    ];
    let json = CreateQueue {
        recipient_key: queue.recipient.public(),
        sender_key: queue.sender.public(),
    }
    .to_json();
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"{".to_vec(),
        json[..json.len() / 2].to_vec(),
        json.clone(),
        [json.clone(), b" {}".to_vec()].concat(),
        b"{\"recipient_key\":\"\",\"sender_key\":\"\",\"x\":1}".to_vec(),
        b"null".to_vec(),
        vec![0xff, 0xfe, 0x00],
        vec![b'x'; 5000],
        vec![0u8; 9000],
    ];
    let lengths = [
        None,
        Some("99999999999999"),
        Some("abc"),
        Some("-1"),
        Some("0"),
    ];

    let mut cases: Vec<(String, Request<Body>)> = Vec::new();
    // Every path with every method, plainly.
    for path in &paths {
        for method in methods {
            cases.push((
                format!("{method} {path}"),
                request(method, path, None, None, b""),
            ));
        }
    }
    // Then a deterministic spread over every dimension.
    let mut lcg = Lcg(0x5077_0e1a);
    for n in 0..1500 {
        let path = lcg.pick(&paths);
        let method = *lcg.pick(&methods);
        let content_type = *lcg.pick(&content_types);
        let auth = lcg.pick(&auths).as_deref();
        let body = lcg.pick(&bodies);
        let mut built = request(method, path, content_type, auth, body);
        if let Some(length) = lcg.pick(&lengths) {
            built
                .headers_mut()
                .insert("content-length", length.parse().unwrap());
        }
        cases.push((format!("case {n}: {method} {path}"), built));
    }

    let count = cases.len();
    for (what, built) in cases {
        let unsigned_get = built.method() == "GET"
            && built.uri().query().is_none()
            && matches!(
                Endpoint::parse("GET", built.uri().path()),
                Ok(Endpoint::Info | Endpoint::Health)
            );
        let head = built.method() == "HEAD";
        let answer = relay.call(built).await;
        if unsigned_get {
            assert_eq!(answer.status, 200, "{what}");
            continue;
        }
        assert!(
            (400..500).contains(&answer.status),
            "{what}: answered {}",
            answer.status
        );
        if head {
            // A HEAD answer carries the status alone, never a body.
            assert!(answer.body.is_empty(), "{what}");
            continue;
        }
        let code = answer.code();
        let kind = ErrorKind::from_code(&code).expect("a known code");
        assert_eq!(kind.http_status(), answer.status, "{what}");
    }
    assert!(count > 1600);

    assert_eq!(relay.snapshot(&queue), before, "the queue changed");
    let health = relay.call(request("GET", "/health", None, None, b"")).await;
    assert_eq!(health.status, 200);
    let metrics = relay
        .call_operator(request("GET", "/metrics", None, None, b""))
        .await;
    let text = String::from_utf8(metrics.body).unwrap();
    for line in text.lines().filter(|l| l.contains("class=\"5xx\"")) {
        assert!(line.ends_with(" 0"), "a 5xx was counted: {line}");
    }
    // The message is still there, and still acknowledgeable by its recipient.
    let id = RelayMessageId::from_text(&message).unwrap();
    assert_eq!(relay.next(&queue).await.body, b"keep me");
    assert_eq!(relay.ack(&queue, &id.to_text()).await.status, 204);
}

#[tokio::test]
async fn malformed_chunk_requests_are_4xx_and_the_stored_chunk_stays() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use sotto_core::relay::ChunkSeed;
    use sotto_core::relay::chunks::{
        CHUNK_DELETE_HASH_HEADER, CHUNK_DELETE_HEADER, CHUNK_READ_HEADER,
    };
    use sotto_relay::storage::ChunkStore as _;

    let relay = TestRelay::new();
    let part = ChunkSeed::random(&mut rand::rng()).part(0);
    let other = ChunkSeed::random(&mut rand::rng()).part(3);
    let id = part.id().to_text();
    let read = part.read.to_text().to_string();
    let delete_hash = URL_SAFE_NO_PAD.encode(part.delete.hash());
    let path = format!("/v1/chunks/{id}");
    let mut stored = request(
        "PUT",
        &path,
        Some("application/octet-stream"),
        None,
        b"keep me",
    );
    stored
        .headers_mut()
        .insert(CHUNK_READ_HEADER, read.parse().unwrap());
    stored
        .headers_mut()
        .insert(CHUNK_DELETE_HASH_HEADER, delete_hash.parse().unwrap());
    assert_eq!(relay.call(stored).await.status, 201);
    let before = relay.chunks.counts().unwrap();

    let paths: Vec<String> = vec![
        path.clone(),
        format!("/v1/chunks/{}", other.id().to_text()),
        "/v1/chunks/".into(),
        "/v1/chunks".into(),
        format!("/v1/chunks/{}", &id[..42]),
        format!("/v1/chunks/{id}A"),
        format!("/v1/chunks/{id}="),
        format!("/v1/chunks/{id}/x"),
        format!("/v1/chunks/{}", "%41".repeat(43)),
        format!("/v1/chunks/{id}?x=1"),
        format!("/v1/chunks/{}", "A".repeat(5000)),
    ];
    let methods = ["PUT", "GET", "DELETE", "POST", "PATCH", "HEAD"];
    let content_types = [
        None,
        Some("application/octet-stream"),
        Some("application/json"),
        Some("text/plain"),
        Some(""),
    ];
    let secrets: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        Some(read.clone()),
        Some(other.read.to_text().to_string()),
        Some(part.read.to_text().to_string()[..42].to_owned()),
        Some(format!("{read}=")),
        Some(format!("{read}A")),
        Some(read.replace(|c: char| c.is_ascii_alphabetic(), "+")),
        Some("*".repeat(43)),
        Some("A".repeat(4000)),
    ];
    // Wrong delete secrets only: the right one would delete the chunk.
    let deletes: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        Some(read.clone()),
        Some(delete_hash.clone()),
        Some(other.delete.to_text().to_string()),
        Some("!".repeat(43)),
    ];
    let ranges = [
        None,
        Some("bytes=0-"),
        Some("bytes=6-"),
        Some("bytes=7-"),
        Some("bytes=-1"),
        Some("bytes=1-2"),
        Some("bytes=x-"),
        Some("lines=1-"),
    ];
    let bodies: Vec<Vec<u8>> = vec![Vec::new(), b"other".to_vec(), vec![0u8; 9000]];
    let lengths = [
        None,
        Some("99999999999999999999"),
        Some("abc"),
        Some("-1"),
        Some("0"),
        Some("4"),
    ];

    let mut lcg = Lcg(0x00c4_a0c5);
    for n in 0..1500 {
        let path = lcg.pick(&paths);
        let method = *lcg.pick(&methods);
        let mut built = request(
            method,
            path,
            *lcg.pick(&content_types),
            None,
            lcg.pick(&bodies).as_slice(),
        );
        let headers = built.headers_mut();
        let read_header = lcg.pick(&secrets).clone();
        if let Some(value) = &read_header {
            headers.insert(CHUNK_READ_HEADER, value.parse().unwrap());
        }
        if let Some(value) = lcg.pick(&secrets) {
            headers.insert(CHUNK_DELETE_HASH_HEADER, value.parse().unwrap());
        }
        if let Some(value) = lcg.pick(&deletes) {
            headers.insert(CHUNK_DELETE_HEADER, value.parse().unwrap());
        }
        let range = *lcg.pick(&ranges);
        if let Some(value) = range {
            headers.insert("range", value.parse().unwrap());
        }
        if let Some(length) = lcg.pick(&lengths) {
            headers.insert("content-length", length.parse().unwrap());
        }
        let what = format!("case {n}: {method} {path} read {read_header:?} range {range:?}");
        let readable =
            method == "GET" && *path == paths[0] && read_header.as_deref() == Some(&read);
        let answer = relay.call(built).await;
        if readable && (200..300).contains(&answer.status) {
            continue;
        }
        assert!(
            (400..500).contains(&answer.status),
            "{what}: answered {}",
            answer.status
        );
        if method != "HEAD" {
            let kind = ErrorKind::from_code(&answer.code()).expect("a known code");
            assert_eq!(kind.http_status(), answer.status, "{what}");
        }
    }

    assert_eq!(relay.chunks.counts().unwrap(), before, "the store changed");
    let mut get = request("GET", &path, None, None, b"");
    get.headers_mut()
        .insert(CHUNK_READ_HEADER, read.parse().unwrap());
    assert_eq!(relay.call(get).await.body, b"keep me");
    let health = relay.call(request("GET", "/health", None, None, b"")).await;
    assert_eq!(health.status, 200);
    let metrics = relay
        .call_operator(request("GET", "/metrics", None, None, b""))
        .await;
    let text = String::from_utf8(metrics.body).unwrap();
    for line in text.lines().filter(|l| l.contains("class=\"5xx\"")) {
        assert!(line.ends_with(" 0"), "a 5xx was counted: {line}");
    }
    let unfinished = std::fs::read_dir(relay.dir.path().join("chunks").join("tmp"))
        .unwrap()
        .count();
    assert_eq!(unfinished, 0, "no upload left behind");
}
