//! The relay API, version 1, through the router on a real SQLite store.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{DAY, START, TestRelay, from, request};
use sotto_core::relay::{
    CreateQueue, Endpoint, QueueKeyPair, RecipientId, RelayInfo, RelayKey, RelayMessageId, SenderId,
};
use sotto_relay::config::Limits;
use sotto_relay::metrics::Event;
use sotto_relay::server::sweep_once;
use sotto_relay::storage::{
    Day, NewQueue, NonceBucket, QueueKeys, RelayStore, RequestNonce, StoreCounts, StoreError,
    StoredMessage, SweepReport,
};
use sotto_relay::{Clock, Metrics, RelayState, routers};

#[tokio::test]
async fn bob_sends_two_messages_and_alice_reads_and_acks_them_in_order() {
    let relay = TestRelay::new();
    let queue = relay.create_queue().await;
    assert_ne!(
        queue.recipient_id.as_bytes(),
        queue.sender_id.as_bytes(),
        "the two ids of a queue differ"
    );
    for body in [&b"first sealed packet"[..], b"second sealed packet"] {
        let answer = relay.send(&queue, body).await;
        assert_eq!(answer.status, 201, "{answer:?}");
        assert!(answer.body.is_empty());
    }
    let mut ids = HashSet::new();
    for expected in [&b"first sealed packet"[..], b"second sealed packet"] {
        let answer = relay.next(&queue).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.body, expected);
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/octet-stream")
        );
        let id = answer.message_id.expect("Sotto-Message-Id header");
        RelayMessageId::from_text(&id).expect("a 16-byte id");
        // Reading again without acknowledging hands out the same message.
        assert_eq!(relay.next(&queue).await.message_id.as_deref(), Some(&*id));
        assert_eq!(relay.ack(&queue, &id).await.status, 204);
        ids.insert(id);
    }
    assert_eq!(ids.len(), 2, "message ids differ");
    let empty = relay.next(&queue).await;
    assert_eq!(empty.status, 204);
    assert!(empty.body.is_empty());
    assert_eq!(relay.metrics.count(Event::MessageWritten), 2);
    assert_eq!(relay.metrics.count(Event::MessageAcked), 2);

    assert_eq!(relay.delete(&queue).await.status, 204);
    assert_eq!(
        relay.next(&queue).await.refusal(),
        (404, "unknown_queue".into())
    );
    assert_eq!(
        relay.send(&queue, b"late").await.refusal(),
        (404, "unknown_queue".into())
    );
    assert_eq!(relay.store.counts().unwrap(), StoreCounts::default());
}

#[tokio::test]
async fn two_queues_have_four_different_random_ids_and_do_not_mix() {
    let relay = TestRelay::new();
    let alice = relay.create_queue().await;
    let carol = relay.create_queue().await;
    let ids: HashSet<[u8; 16]> = [
        *alice.recipient_id.as_bytes(),
        *alice.sender_id.as_bytes(),
        *carol.recipient_id.as_bytes(),
        *carol.sender_id.as_bytes(),
    ]
    .into();
    assert_eq!(ids.len(), 4);
    assert!(ids.iter().all(|id| id != &[0; 16]));

    assert_eq!(relay.send(&alice, b"for alice").await.status, 201);
    assert_eq!(relay.next(&carol).await.status, 204);
    let message = relay
        .next(&alice)
        .await
        .message_id
        .expect("alice's message");
    // Carol cannot acknowledge (delete) Alice's message, even knowing its id.
    assert_eq!(
        relay.ack(&carol, &message).await.refusal(),
        (404, "unknown_message".into())
    );
    // Alice's sender key does not write to Carol's queue.
    let path = Endpoint::Send(carol.sender_id).path();
    let cross = relay.signed(
        &alice.sender,
        "POST",
        &path,
        Some("application/octet-stream"),
        b"x",
    );
    assert_eq!(
        relay.call(cross).await.refusal(),
        (401, "bad_signature".into())
    );
    assert_eq!(relay.next(&alice).await.body, b"for alice");
    assert_eq!(relay.next(&carol).await.status, 204);
}

#[tokio::test]
async fn info_health_and_metrics_answer_without_a_signature() {
    let relay = TestRelay::new();
    let queue = relay.create_queue().await;
    relay.send(&queue, b"m").await;

    let info = relay
        .call(request("GET", "/v1/info", None, None, b""))
        .await;
    assert_eq!(info.status, 200);
    assert_eq!(info.content_type.as_deref(), Some("application/json"));
    let info: RelayInfo = serde_json::from_slice(&info.body).expect("info JSON");
    assert_eq!(info.api, 1);
    assert_eq!(RelayKey::from_text(&info.key), Ok(relay.relay_key));
    assert_eq!(info.max_message_bytes, 8192);
    assert_eq!(info.max_queue_messages, 10_000);
    assert_eq!(info.max_queue_bytes, 64 * 1024 * 1024);
    assert_eq!(info.message_expiry_days, 21);
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));

    let health = relay.call(request("GET", "/health", None, None, b"")).await;
    assert_eq!((health.status, &health.body[..]), (200, &b"ok"[..]));

    // The counters are the operator's: on their port, and no endpoint on the public one.
    let public = relay
        .call(request("GET", "/metrics", None, None, b""))
        .await;
    assert_eq!(public.status, 404);
    let metrics = relay
        .call_operator(request("GET", "/metrics", None, None, b""))
        .await;
    assert_eq!(metrics.status, 200);
    let text = String::from_utf8(metrics.body).expect("UTF-8");
    for line in [
        "sotto_relay_queues 1",
        "sotto_relay_messages 1",
        "sotto_relay_message_bytes 1",
        "sotto_relay_queues_created_total 1",
        "sotto_relay_messages_written_total 1",
        "sotto_relay_requests_total{endpoint=\"send\",class=\"2xx\"} 1",
        "sotto_relay_requests_total{endpoint=\"info\",class=\"2xx\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
    }
    for id in [queue.recipient_id.to_text(), queue.sender_id.to_text()] {
        assert!(!text.contains(&id));
    }
}

/// Every refusal: the right status and code, and the store exactly as before.
#[tokio::test]
async fn each_bad_request_gets_its_4xx_and_leaves_the_queue_unchanged() {
    let relay = TestRelay::new();
    let queue = relay.create_queue().await;
    assert_eq!(relay.send(&queue, b"already there").await.status, 201);
    let message = relay.next(&queue).await.message_id.expect("message id");
    let before = relay.snapshot(&queue);
    let now = relay.now();
    let send_path = Endpoint::Send(queue.sender_id).path();
    let next_path = Endpoint::Next(queue.recipient_id).path();
    let ack_path = Endpoint::Ack(
        queue.recipient_id,
        RelayMessageId::from_text(&message).unwrap(),
    )
    .path();
    let delete_path = Endpoint::DeleteQueue(queue.recipient_id).path();
    let octets = Some("application/octet-stream");
    let sign = |key: &QueueKeyPair, time: u64, method: &str, path: &str, body: &[u8]| {
        relay.sign(key, time, method, path, body).encode()
    };
    let other_relay_header = queue
        .sender
        .sign(
            &RelayKey::from_bytes([9; 32]),
            now,
            "POST",
            &send_path,
            b"hello",
            &mut rand::rng(),
        )
        .unwrap()
        .encode();
    let unknown_sender = Endpoint::Send(SenderId::from_bytes([3; 16])).path();
    let unknown_recipient = Endpoint::Next(RecipientId::from_bytes([4; 16])).path();
    let unknown_message =
        Endpoint::Ack(queue.recipient_id, RelayMessageId::from_bytes([5; 16])).path();
    let too_large = vec![7u8; 8193];
    let mut truncated_json = CreateQueue {
        recipient_key: queue.recipient.public(),
        sender_key: queue.sender.public(),
    }
    .to_json();
    truncated_json.truncate(truncated_json.len() - 3);

    let cases: Vec<(&str, _, (u16, &str))> = vec![
        (
            "send without a signature",
            request("POST", &send_path, octets, None, b"hello"),
            (401, "bad_auth_header"),
        ),
        (
            "send with a garbage header",
            request("POST", &send_path, octets, Some("1.2.3"), b"hello"),
            (401, "bad_auth_header"),
        ),
        (
            "send signed by the recipient key",
            request(
                "POST",
                &send_path,
                octets,
                Some(&sign(&queue.recipient, now, "POST", &send_path, b"hello")),
                b"hello",
            ),
            (401, "bad_signature"),
        ),
        (
            "send signed for another relay",
            request(
                "POST",
                &send_path,
                octets,
                Some(&other_relay_header),
                b"hello",
            ),
            (401, "bad_signature"),
        ),
        (
            "send whose body changed after signing",
            request(
                "POST",
                &send_path,
                octets,
                Some(&sign(&queue.sender, now, "POST", &send_path, b"hello")),
                b"hellO",
            ),
            (401, "bad_signature"),
        ),
        (
            "send signed 301 s ago",
            request(
                "POST",
                &send_path,
                octets,
                Some(&sign(
                    &queue.sender,
                    now - 301,
                    "POST",
                    &send_path,
                    b"hello",
                )),
                b"hello",
            ),
            (401, "stale_request"),
        ),
        (
            "send signed 301 s ahead",
            request(
                "POST",
                &send_path,
                octets,
                Some(&sign(
                    &queue.sender,
                    now + 301,
                    "POST",
                    &send_path,
                    b"hello",
                )),
                b"hello",
            ),
            (401, "stale_request"),
        ),
        (
            "next signed by the sender key",
            request(
                "POST",
                &next_path,
                None,
                Some(&sign(&queue.sender, now, "POST", &next_path, b"")),
                b"",
            ),
            (401, "bad_signature"),
        ),
        (
            "ack signed by the sender key",
            request(
                "POST",
                &ack_path,
                None,
                Some(&sign(&queue.sender, now, "POST", &ack_path, b"")),
                b"",
            ),
            (401, "bad_signature"),
        ),
        (
            "delete signed by the sender key",
            request(
                "DELETE",
                &delete_path,
                None,
                Some(&sign(&queue.sender, now, "DELETE", &delete_path, b"")),
                b"",
            ),
            (401, "bad_signature"),
        ),
        (
            "send to an unknown queue",
            request(
                "POST",
                &unknown_sender,
                octets,
                Some(&sign(&queue.sender, now, "POST", &unknown_sender, b"x")),
                b"x",
            ),
            (404, "unknown_queue"),
        ),
        (
            "read an unknown queue",
            request(
                "POST",
                &unknown_recipient,
                None,
                Some(&sign(
                    &queue.recipient,
                    now,
                    "POST",
                    &unknown_recipient,
                    b"",
                )),
                b"",
            ),
            (404, "unknown_queue"),
        ),
        (
            "ack an unknown message",
            request(
                "POST",
                &unknown_message,
                None,
                Some(&sign(&queue.recipient, now, "POST", &unknown_message, b"")),
                b"",
            ),
            (404, "unknown_message"),
        ),
        (
            "send one byte over the limit",
            request(
                "POST",
                &send_path,
                octets,
                Some(&sign(&queue.sender, now, "POST", &send_path, &too_large)),
                &too_large,
            ),
            (413, "too_large"),
        ),
        (
            "send an empty message",
            request(
                "POST",
                &send_path,
                octets,
                Some(&sign(&queue.sender, now, "POST", &send_path, b"")),
                b"",
            ),
            (400, "malformed_request"),
        ),
        (
            "send as JSON",
            request(
                "POST",
                &send_path,
                Some("application/json"),
                Some(&sign(&queue.sender, now, "POST", &send_path, b"hello")),
                b"hello",
            ),
            (415, "unsupported_media_type"),
        ),
        (
            "send without a content type",
            request(
                "POST",
                &send_path,
                None,
                Some(&sign(&queue.sender, now, "POST", &send_path, b"hello")),
                b"hello",
            ),
            (415, "unsupported_media_type"),
        ),
        (
            "create as text",
            request(
                "POST",
                "/v1/queues",
                Some("text/plain"),
                Some(&sign(&queue.recipient, now, "POST", "/v1/queues", b"{}")),
                b"{}",
            ),
            (415, "unsupported_media_type"),
        ),
        (
            "create with truncated JSON",
            request(
                "POST",
                "/v1/queues",
                Some("application/json"),
                Some(&sign(
                    &queue.recipient,
                    now,
                    "POST",
                    "/v1/queues",
                    &truncated_json,
                )),
                &truncated_json,
            ),
            (400, "malformed_request"),
        ),
        (
            "a sender id that is not base64url",
            request(
                "POST",
                "/v1/send/!!!!!!!!!!!!!!!!!!!!!!",
                octets,
                None,
                b"x",
            ),
            (400, "malformed_request"),
        ),
        (
            "a recipient id one character short",
            request(
                "POST",
                &format!("/v1/queues/{}/next", &queue.recipient_id.to_text()[1..]),
                None,
                None,
                b"",
            ),
            (400, "malformed_request"),
        ),
        (
            "a body on next",
            request(
                "POST",
                &next_path,
                None,
                Some(&sign(&queue.recipient, now, "POST", &next_path, b"x")),
                b"x",
            ),
            (413, "too_large"),
        ),
        (
            "a query string",
            request("POST", &format!("{next_path}?all=1"), None, None, b""),
            (400, "malformed_request"),
        ),
        (
            "delete by GET",
            request("GET", &delete_path, None, None, b""),
            (405, "method_not_allowed"),
        ),
        (
            "no such endpoint",
            request("GET", "/v2/queues", None, None, b""),
            (404, "not_found"),
        ),
    ];
    for (what, request, (status, code)) in cases {
        let answer = relay.call(request).await;
        assert_eq!(answer.refusal(), (status, code.to_owned()), "{what}");
        assert_eq!(relay.snapshot(&queue), before, "{what} changed the queue");
    }

    // A declared length over the limit is refused before the body is read.
    let mut huge = request(
        "POST",
        &send_path,
        octets,
        Some(&sign(&queue.sender, now, "POST", &send_path, b"x")),
        b"x",
    );
    huge.headers_mut()
        .insert("content-length", "18446744073709551615".parse().unwrap());
    assert_eq!(relay.call(huge).await.refusal(), (413, "too_large".into()));
    // Two signatures are one too many.
    let mut twice = relay.next_request(&queue);
    let extra = sign(&queue.recipient, now, "POST", &next_path, b"");
    twice
        .headers_mut()
        .append("sotto-auth", extra.parse().unwrap());
    assert_eq!(
        relay.call(twice).await.refusal(),
        (401, "bad_auth_header".into())
    );
    assert_eq!(relay.snapshot(&queue), before);
    assert_eq!(
        relay
            .metrics
            .requests(Some(&Endpoint::Send(queue.sender_id)), 500),
        0
    );
}

#[tokio::test]
async fn a_replayed_request_is_refused_even_after_a_restart() {
    let relay = TestRelay::new();
    let queue = relay.create_queue().await;
    let path = Endpoint::Send(queue.sender_id).path();
    let header = relay
        .sign(&queue.sender, relay.now(), "POST", &path, b"once")
        .encode();
    let send = || {
        request(
            "POST",
            &path,
            Some("application/octet-stream"),
            Some(&header),
            b"once",
        )
    };
    assert_eq!(relay.call(send()).await.status, 201);
    let after_first = relay.snapshot(&queue);
    assert_eq!(
        relay.call(send()).await.refusal(),
        (409, "replayed_request".into())
    );
    assert_eq!(relay.snapshot(&queue), after_first);

    let relay = relay.restart();
    relay.clock.advance(299);
    assert_eq!(
        relay.call(send()).await.refusal(),
        (409, "replayed_request".into())
    );
    // Once the signing time is out of the window, the request is stale instead, and the
    // sweep may forget its nonce.
    relay.clock.advance(2 * 600);
    sweep_once(relay.store.as_ref(), relay.clock.as_ref(), &relay.metrics).unwrap();
    assert_eq!(
        relay.call(send()).await.refusal(),
        (401, "stale_request".into())
    );
    assert_eq!(relay.store.counts().unwrap().messages, 1);
}

#[tokio::test]
async fn a_full_queue_refuses_by_count_until_a_message_is_acknowledged() {
    let relay = TestRelay::with_limits(Limits {
        max_queue_messages: 3,
        ..Limits::default()
    });
    let queue = relay.create_queue().await;
    for i in 0..3u8 {
        assert_eq!(relay.send(&queue, &[i]).await.status, 201);
    }
    let before = relay.snapshot(&queue);
    assert_eq!(
        relay.send(&queue, b"fourth").await.refusal(),
        (429, "quota_exceeded".into())
    );
    assert_eq!(relay.snapshot(&queue), before);
    assert_eq!(relay.metrics.count(Event::QuotaRefused), 1);
    let first = relay.next(&queue).await.message_id.unwrap();
    assert_eq!(relay.ack(&queue, &first).await.status, 204);
    assert_eq!(relay.send(&queue, b"fourth").await.status, 201);
}

#[tokio::test]
async fn a_full_queue_refuses_by_bytes() {
    let relay = TestRelay::with_limits(Limits {
        max_message_bytes: 60,
        max_queue_bytes: 100,
        ..Limits::default()
    });
    let queue = relay.create_queue().await;
    assert_eq!(relay.send(&queue, &[1; 60]).await.status, 201);
    let before = relay.snapshot(&queue);
    assert_eq!(
        relay.send(&queue, &[2; 41]).await.refusal(),
        (429, "quota_exceeded".into())
    );
    assert_eq!(relay.snapshot(&queue), before);
    assert_eq!(relay.send(&queue, &[3; 40]).await.status, 201);
    assert_eq!(
        relay.send(&queue, &[4; 61]).await.refusal(),
        (413, "too_large".into())
    );
    assert_eq!(relay.store.counts().unwrap().message_bytes, 100);
}

#[tokio::test]
async fn a_message_expires_21_days_after_the_day_it_was_stored() {
    let relay = TestRelay::new();
    let queue = relay.create_queue().await;
    assert_eq!(relay.send(&queue, b"old").await.status, 201);
    // The last second of the 21st day after: still there (reading keeps the queue alive).
    let stored_day_end = (START / DAY + 1) * DAY;
    relay.clock.set(stored_day_end + 21 * DAY - 1);
    let old = relay.next(&queue).await;
    assert_eq!(old.body, b"old");
    assert_eq!(relay.send(&queue, b"new").await.status, 201);
    relay.clock.advance(1);
    // Invisible at once, before any sweep...
    let answer = relay.next(&queue).await;
    assert_eq!(answer.body, b"new");
    assert_eq!(relay.store.counts().unwrap().messages, 2);
    // ...and gone after it.
    let report = sweep_once(relay.store.as_ref(), relay.clock.as_ref(), &relay.metrics).unwrap();
    assert_eq!((report.messages, report.queues), (1, 0));
    assert_eq!(relay.store.counts().unwrap().messages, 1);
    // Acknowledging the expired message finds nothing.
    assert_eq!(
        relay.ack(&queue, &old.message_id.unwrap()).await.refusal(),
        (404, "unknown_message".into())
    );
    assert_eq!(
        relay.ack(&queue, &answer.message_id.unwrap()).await.status,
        204
    );
    assert_eq!(relay.next(&queue).await.status, 204);
}

#[tokio::test]
async fn a_queue_unused_for_21_days_expires_with_its_messages() {
    let relay = TestRelay::new();
    let idle = relay.create_queue().await;
    let busy = relay.create_queue().await;
    assert_eq!(relay.send(&idle, b"never read").await.status, 201);
    for _ in 0..22 {
        relay.clock.advance(DAY);
        assert_eq!(relay.next(&busy).await.status, 204);
    }
    assert_eq!(
        relay.next(&idle).await.refusal(),
        (404, "unknown_queue".into())
    );
    assert_eq!(
        relay.send(&idle, b"x").await.refusal(),
        (404, "unknown_queue".into())
    );
    let report = sweep_once(relay.store.as_ref(), relay.clock.as_ref(), &relay.metrics).unwrap();
    assert_eq!((report.queues, report.messages), (1, 1));
    assert_eq!(relay.store.counts().unwrap().queues, 1);
    assert_eq!(relay.next(&busy).await.status, 204);
}

/// A clock that panics on demand: a handler that panics must be a 500, not a crash.
struct PanickingClock(AtomicBool);

impl Clock for PanickingClock {
    fn unix_seconds(&self) -> u64 {
        assert!(!self.0.load(Ordering::SeqCst), "clock failure for the test");
        START
    }
}

/// A store whose every call fails (a full disk, say).
struct BrokenStore;

impl RelayStore for BrokenStore {
    fn create_queue(
        &self,
        _: &QueueKeys,
        _: Day,
        _: &RequestNonce,
    ) -> Result<NewQueue, StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
    fn sender_key(
        &self,
        _: &SenderId,
        _: Day,
    ) -> Result<Option<sotto_core::relay::QueuePublicKey>, StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
    fn recipient_key(
        &self,
        _: &RecipientId,
        _: Day,
    ) -> Result<Option<sotto_core::relay::QueuePublicKey>, StoreError> {
        panic!("a storage bug")
    }
    fn write_message(
        &self,
        _: &SenderId,
        _: &[u8],
        _: Day,
        _: &RequestNonce,
    ) -> Result<sotto_relay::storage::Written, StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
    fn next_message(
        &self,
        _: &RecipientId,
        _: Day,
        _: &RequestNonce,
    ) -> Result<Option<StoredMessage>, StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
    fn ack_then_next(
        &self,
        _: &RecipientId,
        _: &sotto_core::relay::RelayMessageId,
        _: Day,
        _: &RequestNonce,
    ) -> Result<(bool, Option<StoredMessage>), StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
    fn next_message_after_wait(
        &self,
        _: &RecipientId,
        _: Day,
    ) -> Result<Option<StoredMessage>, StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
    fn ack_message(
        &self,
        _: &RecipientId,
        _: &RelayMessageId,
        _: Day,
        _: &RequestNonce,
    ) -> Result<(), StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
    fn delete_queue(&self, _: &RecipientId, _: &RequestNonce) -> Result<(), StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
    fn remember_nonce(&self, _: &[u8; 16], _: NonceBucket) -> Result<bool, StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
    fn sweep(&self, _: Day, _: NonceBucket) -> Result<SweepReport, StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
    fn counts(&self) -> Result<StoreCounts, StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
}

#[tokio::test]
async fn the_relays_own_failures_are_500s_and_it_keeps_serving() {
    let clock = Arc::new(PanickingClock(AtomicBool::new(false)));
    let relay_key = RelayKey::from_bytes([1; 32]);
    let chunk_dir = tempfile::tempdir().unwrap();
    let apps = routers(RelayState {
        store: Arc::new(BrokenStore),
        relay_key,
        limits: Limits::default(),
        clock: Arc::clone(&clock) as Arc<dyn Clock>,
        metrics: Arc::new(Metrics::new()),
        chunks: Arc::new(
            sotto_relay::storage::FileChunkStore::open(
                chunk_dir.path(),
                Limits::default().chunk_policy(),
            )
            .unwrap(),
        ),
        mix: None,
        waiters: Default::default(),
        throttle: sotto_relay::throttle::Throttle::new(
            sotto_relay::throttle::SourceLimits::unlimited(),
            Arc::new(Metrics::new()),
        ),
    });
    let (app, operator) = (apps.public, apps.operator);
    let call = |request: axum::http::Request<axum::body::Body>| {
        let app = app.clone();
        async move {
            use tower::ServiceExt as _;
            app.oneshot(request).await.unwrap()
        }
    };
    let mut rng = rand::rng();
    let key = QueueKeyPair::generate(&mut rng);
    let body = CreateQueue {
        recipient_key: key.public(),
        sender_key: key.public(),
    }
    .to_json();
    let create = |time| {
        let header = key
            .sign(
                &relay_key,
                time,
                "POST",
                "/v1/queues",
                &body,
                &mut rand::rng(),
            )
            .unwrap()
            .encode();
        request(
            "POST",
            "/v1/queues",
            Some("application/json"),
            Some(&header),
            &body,
        )
    };
    // A failing store: 500 internal, with a message that says nothing of the cause.
    let answer = call(create(START)).await;
    assert_eq!(answer.status(), 500);
    let body = axum::body::to_bytes(answer.into_body(), 4096)
        .await
        .unwrap();
    let error = sotto_core::relay::ApiError::from_json(&body).unwrap();
    assert_eq!(error.kind.code(), "internal");
    assert!(!error.message.contains("disk"));
    // A panicking storage call: 500.
    let next = Endpoint::Next(RecipientId::from_bytes([1; 16])).path();
    let header = key
        .sign(&relay_key, START, "POST", &next, b"", &mut rng)
        .unwrap()
        .encode();
    let answer = call(request("POST", &next, None, Some(&header), b"")).await;
    assert_eq!(answer.status(), 500);
    // A panicking handler: 500, and the next request is served.
    clock.0.store(true, Ordering::SeqCst);
    assert_eq!(
        call(request("GET", "/health", None, None, b""))
            .await
            .status(),
        500
    );
    clock.0.store(false, Ordering::SeqCst);
    assert_eq!(
        call(request("GET", "/health", None, None, b""))
            .await
            .status(),
        200
    );
    // Metrics still answer, without the store's gauges.
    let metrics = {
        use tower::ServiceExt as _;
        operator
            .oneshot(request("GET", "/metrics", None, None, b""))
            .await
            .unwrap()
    };
    assert_eq!(metrics.status(), 200);
}

#[tokio::test]
async fn queue_creation_is_bounded_per_source_and_for_the_whole_relay() {
    use sotto_relay::throttle::{Rate, SourceLimits};

    // Per source: two an hour from one address; another address is still served.
    let relay = TestRelay::with_sources(SourceLimits {
        queues: Rate::per_hour(2),
        ..SourceLimits::unlimited()
    });
    for _ in 0..2 {
        let (create, _, _) = relay.create_queue_request();
        assert_eq!(relay.call(from("192.0.2.1", create)).await.status, 201);
    }
    let (create, _, _) = relay.create_queue_request();
    let refused = relay.call(from("192.0.2.1", create)).await;
    assert_eq!(refused.refusal(), (429, "rate_limited".to_owned()));
    let (create, _, _) = relay.create_queue_request();
    assert_eq!(relay.call(from("192.0.2.2", create)).await.status, 201);
    assert_eq!(relay.store.counts().unwrap().queues, 3);
    assert_eq!(relay.metrics.count(Event::QueueLimited), 1);

    // For the whole relay: max_queues, whatever the source.
    let relay = TestRelay::with_limits(Limits {
        max_queues: 2,
        ..Limits::default()
    });
    relay.create_queue().await;
    let queue = relay.create_queue().await;
    let (create, _, _) = relay.create_queue_request();
    let refused = relay.call(create).await;
    assert_eq!(refused.refusal(), (429, "quota_exceeded".to_owned()));
    assert_eq!(relay.metrics.count(Event::QueuesFull), 1);
    let metrics = relay
        .call_operator(request("GET", "/metrics", None, None, b""))
        .await;
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(
        text.contains("sotto_relay_queue_creations_refused_full_total 1"),
        "{text}"
    );
    // A deletion makes room again.
    assert_eq!(relay.delete(&queue).await.status, 204);
    relay.create_queue().await;
}

#[tokio::test]
async fn a_read_acknowledges_the_message_before_in_the_same_request() {
    use sotto_core::relay::{ReadAfterAck, RelayMessageId};

    let relay = TestRelay::new();
    let queue = relay.create_queue().await;
    for body in [&b"one"[..], b"two", b"three"] {
        assert_eq!(relay.send(&queue, body).await.status, 201);
    }
    let path = Endpoint::Next(queue.recipient_id).path();
    let acking = |id: &str| {
        let ack = RelayMessageId::from_text(id).unwrap();
        relay.signed(
            &queue.recipient,
            "POST",
            &path,
            Some("application/json"),
            &ReadAfterAck { ack }.to_json(),
        )
    };
    let first = relay.next(&queue).await;
    assert_eq!(first.body, b"one");
    let second = relay
        .call(acking(first.message_id.as_deref().unwrap()))
        .await;
    assert_eq!((second.status, &second.body[..]), (200, &b"two"[..]));
    assert_eq!(relay.metrics.count(Event::MessageAcked), 1);
    // Acknowledging a message already gone is no error: the read still reads.
    let again = relay
        .call(acking(first.message_id.as_deref().unwrap()))
        .await;
    assert_eq!((again.status, &again.body[..]), (200, &b"two"[..]));
    assert_eq!(relay.metrics.count(Event::MessageAcked), 1);
    let third = relay
        .call(acking(second.message_id.as_deref().unwrap()))
        .await;
    assert_eq!(third.body, b"three");
    let empty = relay
        .call(acking(third.message_id.as_deref().unwrap()))
        .await;
    assert_eq!(
        empty.status, 204,
        "the last acknowledgement rides on the empty read"
    );
    assert_eq!(relay.snapshot(&queue).0.messages, 0);

    // The acknowledgement is signed: a body changed after signing is refused.
    relay.send(&queue, b"four").await;
    let four = relay.next(&queue).await;
    let signed = relay.signed(
        &queue.recipient,
        "POST",
        &path,
        Some("application/json"),
        &ReadAfterAck {
            ack: RelayMessageId::from_text(four.message_id.as_deref().unwrap()).unwrap(),
        }
        .to_json(),
    );
    let (parts, _) = signed.into_parts();
    let forged = ReadAfterAck {
        ack: RelayMessageId::from_text(first.message_id.as_deref().unwrap()).unwrap(),
    }
    .to_json();
    let forged = axum::http::Request::from_parts(parts, axum::body::Body::from(forged));
    assert_eq!(relay.call(forged).await.refusal().1, "bad_signature");
    // Malformed acknowledgements are 400, another media type with a body 413; nothing
    // is deleted by any of them.
    for (content_type, body) in [
        (Some("application/json"), &b"{}"[..]),
        (Some("application/json"), b"{\"ack\":\"short\"}"),
        (
            Some("application/json"),
            b"{\"ack\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"x\":1}",
        ),
        (Some("application/json"), b"not json"),
    ] {
        let answer = relay
            .call(relay.signed(&queue.recipient, "POST", &path, content_type, body))
            .await;
        assert_eq!(answer.refusal().0, 400, "{body:?}");
    }
    let answer = relay
        .call(relay.signed(
            &queue.recipient,
            "POST",
            &path,
            Some("application/octet-stream"),
            b"x",
        ))
        .await;
    assert_eq!(answer.refusal(), (413, "too_large".to_owned()));
    assert_eq!(relay.snapshot(&queue).0.messages, 1);
}
