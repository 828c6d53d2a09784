//! The chunk store's API (`docs/PROTOCOL.md` §17) driven through the relay's router on a
//! real data directory: capabilities, conflicts, quota, expiry, oversized bodies and
//! resumed downloads.

mod common;

use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{DAY, TestRelay, request};
use http_body_util::Channel;
use sotto_core::relay::chunks::{CHUNK_DELETE_HASH_HEADER, CHUNK_DELETE_HEADER, CHUNK_READ_HEADER};
use sotto_core::relay::{ChunkSeed, Endpoint, PART_BYTES, PartSecrets, RelayInfo};
use sotto_relay::config::Limits;
use sotto_relay::metrics::Event;
use sotto_relay::server::sweep_chunks_once;
use sotto_relay::storage::{ChunkCounts, ChunkStore};

fn secrets() -> PartSecrets {
    ChunkSeed::random(&mut rand::rng()).part(0)
}

/// An upload of `body` under `part`'s capabilities, with `Content-Length`.
fn put_request(part: &PartSecrets, body: &[u8]) -> Request<Body> {
    let path = Endpoint::PutChunk(part.id()).path();
    let mut request = request("PUT", &path, Some("application/octet-stream"), None, body);
    let headers = request.headers_mut();
    headers.insert(
        CHUNK_READ_HEADER,
        part.read.to_text().to_string().parse().unwrap(),
    );
    headers.insert(
        CHUNK_DELETE_HASH_HEADER,
        URL_SAFE_NO_PAD.encode(part.delete.hash()).parse().unwrap(),
    );
    request
}

fn get_request(part: &PartSecrets, read: Option<&str>, range: Option<&str>) -> Request<Body> {
    let path = Endpoint::GetChunk(part.id()).path();
    let mut request = request("GET", &path, None, None, b"");
    if let Some(read) = read {
        request
            .headers_mut()
            .insert(CHUNK_READ_HEADER, read.parse().unwrap());
    }
    if let Some(range) = range {
        request
            .headers_mut()
            .insert("range", range.parse().unwrap());
    }
    request
}

fn delete_request(part: &PartSecrets, delete: &str) -> Request<Body> {
    let path = Endpoint::DeleteChunk(part.id()).path();
    let mut request = request("DELETE", &path, None, None, b"");
    request
        .headers_mut()
        .insert(CHUNK_DELETE_HEADER, delete.parse().unwrap());
    request
}

async fn get(relay: &TestRelay, part: &PartSecrets) -> common::Answer {
    relay
        .call(get_request(part, Some(part.read.to_text().as_ref()), None))
        .await
}

fn counts(relay: &TestRelay) -> ChunkCounts {
    relay.chunks.counts().unwrap()
}

/// Files in the chunk store's folder of unfinished uploads.
fn unfinished_uploads(relay: &TestRelay) -> usize {
    std::fs::read_dir(relay.dir.path().join("chunks").join("tmp"))
        .unwrap()
        .count()
}

#[tokio::test]
async fn a_part_round_trips_and_only_its_read_secret_reads_it() {
    let relay = TestRelay::new();
    let part = secrets();
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let stored = relay.call(put_request(&part, &bytes)).await;
    assert_eq!(stored.status, 201, "{stored:?}");
    assert_eq!(
        counts(&relay),
        ChunkCounts {
            chunks: 1,
            bytes: 300_000
        }
    );
    let read = get(&relay, &part).await;
    assert_eq!(read.status, 200);
    assert_eq!(
        read.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(read.body, bytes);

    let other = secrets();
    let zero = "A".repeat(43);
    for read in [
        Some(other.read.to_text().to_string()),
        Some(part.delete.to_text().to_string()),
        Some(zero),
        Some(format!("{}=", *part.read.to_text())),
        Some(part.read.to_text().to_string()[..42].to_owned()),
        Some("%%%".into()),
        None,
    ] {
        let answer = relay.call(get_request(&part, read.as_deref(), None)).await;
        assert_eq!(answer.refusal(), (403, "bad_capability".into()), "{read:?}");
    }
    // Uploading under an id the read secret does not open is refused the same way.
    let mut forged = put_request(&part, b"x");
    forged.headers_mut().insert(
        CHUNK_READ_HEADER,
        other.read.to_text().to_string().parse().unwrap(),
    );
    assert_eq!(
        relay.call(forged).await.refusal(),
        (403, "bad_capability".into())
    );
    assert_eq!(relay.metrics.count(Event::ChunkStored), 1);
    assert!(relay.metrics.count(Event::ChunkCapabilityRefused) >= 8);
    // An empty chunk is a chunk too (the one part of an empty ciphertext).
    let empty = secrets();
    assert_eq!(relay.call(put_request(&empty, b"")).await.status, 201);
    let read = get(&relay, &empty).await;
    assert_eq!((read.status, read.body.len()), (200, 0));
}

#[tokio::test]
async fn a_wrong_delete_secret_deletes_nothing_and_the_right_one_does() {
    let relay = TestRelay::new();
    let part = secrets();
    assert_eq!(relay.call(put_request(&part, b"keep me")).await.status, 201);
    let file = relay.chunks.part_path(&part.id());
    assert!(file.exists());
    for wrong in [
        part.read.to_text().to_string(),
        secrets().delete.to_text().to_string(),
        "x".into(),
    ] {
        assert_eq!(
            relay.call(delete_request(&part, &wrong)).await.refusal(),
            (403, "bad_capability".into())
        );
    }
    assert_eq!(get(&relay, &part).await.body, b"keep me");
    let deleted = relay
        .call(delete_request(&part, part.delete.to_text().as_ref()))
        .await;
    assert_eq!(deleted.status, 204);
    assert!(!file.exists(), "the file is removed with the chunk");
    assert_eq!(
        get(&relay, &part).await.refusal(),
        (404, "unknown_chunk".into())
    );
    assert_eq!(
        relay
            .call(delete_request(&part, part.delete.to_text().as_ref()))
            .await
            .refusal(),
        (404, "unknown_chunk".into())
    );
    assert_eq!(counts(&relay), ChunkCounts::default());
}

#[tokio::test]
async fn a_second_upload_under_an_id_is_a_conflict_and_changes_nothing() {
    let relay = TestRelay::new();
    let part = secrets();
    assert_eq!(relay.call(put_request(&part, b"first")).await.status, 201);
    assert_eq!(
        relay.call(put_request(&part, b"second!")).await.refusal(),
        (409, "chunk_exists".into())
    );
    assert_eq!(get(&relay, &part).await.body, b"first");
    assert_eq!(
        counts(&relay),
        ChunkCounts {
            chunks: 1,
            bytes: 5
        }
    );
    assert_eq!(relay.metrics.count(Event::ChunkExistsRefused), 1);
    assert_eq!(unfinished_uploads(&relay), 0);
}

#[tokio::test]
async fn a_full_store_refuses_with_quota_exceeded_and_keeps_what_it_had() {
    let relay = TestRelay::with_limits(Limits {
        max_chunk_store_bytes: PART_BYTES + 100,
        ..Limits::default()
    });
    let first = secrets();
    let big = vec![7u8; PART_BYTES as usize];
    assert_eq!(relay.call(put_request(&first, &big)).await.status, 201);
    let before = counts(&relay);
    let second = secrets();
    assert_eq!(
        relay.call(put_request(&second, &[1; 101])).await.refusal(),
        (429, "quota_exceeded".into())
    );
    assert_eq!(counts(&relay), before);
    assert_eq!(relay.metrics.count(Event::ChunkQuotaRefused), 1);
    assert_eq!(unfinished_uploads(&relay), 0);
    assert_eq!(
        relay.call(put_request(&second, &[1; 100])).await.status,
        201
    );
    // Deleting frees the room again.
    let deleted = relay
        .call(delete_request(&first, first.delete.to_text().as_ref()))
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(relay.call(put_request(&secrets(), &big)).await.status, 201);
}

#[tokio::test]
async fn an_expired_chunk_is_unknown_and_the_sweep_removes_its_file() {
    let relay = TestRelay::new();
    let part = secrets();
    assert_eq!(
        relay.call(put_request(&part, b"short-lived")).await.status,
        201
    );
    let file = relay.chunks.part_path(&part.id());
    // Kept at least 48 hours.
    relay.clock.advance(2 * DAY);
    assert_eq!(get(&relay, &part).await.status, 200);
    assert_eq!(
        sweep_chunks_once(relay.chunks.as_ref(), relay.clock.as_ref(), &relay.metrics).unwrap(),
        0
    );
    relay.clock.advance(3600 + 1);
    assert_eq!(
        get(&relay, &part).await.refusal(),
        (404, "unknown_chunk".into())
    );
    assert!(file.exists(), "invisible at once, deleted by the sweep");
    assert_eq!(
        sweep_chunks_once(relay.chunks.as_ref(), relay.clock.as_ref(), &relay.metrics).unwrap(),
        1
    );
    assert!(!file.exists());
    assert_eq!(counts(&relay), ChunkCounts::default());
    // The id is free again (only its holder can use it).
    assert_eq!(relay.call(put_request(&part, b"again")).await.status, 201);
}

#[tokio::test]
async fn oversized_bodies_are_refused_without_reading_them_all() {
    let relay = TestRelay::new();
    let part = secrets();
    // Declared too large: refused before a byte is read.
    let mut declared = put_request(&part, b"tiny");
    declared.headers_mut().insert(
        "content-length",
        (PART_BYTES + 1).to_string().parse().unwrap(),
    );
    *declared.body_mut() = Body::new(endless_body());
    assert_eq!(
        relay.call(declared).await.refusal(),
        (413, "too_large".into())
    );
    // Undeclared (chunked) and endless: refused once it passes the limit.
    let mut undeclared = put_request(&part, b"");
    undeclared.headers_mut().remove("content-length");
    *undeclared.body_mut() = Body::new(endless_body());
    assert_eq!(
        relay.call(undeclared).await.refusal(),
        (413, "too_large".into())
    );
    assert_eq!(counts(&relay), ChunkCounts::default());
    assert_eq!(unfinished_uploads(&relay), 0);
    assert_eq!(
        relay
            .call(request("GET", "/health", None, None, b""))
            .await
            .status,
        200
    );
}

/// A request body that never ends (64 KiB pieces until the receiver hangs up).
fn endless_body() -> Channel<axum::body::Bytes, std::io::Error> {
    let (mut sender, body) = Channel::new(1);
    tokio::spawn(async move {
        let piece = axum::body::Bytes::from(vec![0u8; 64 * 1024]);
        while sender.send_data(piece.clone()).await.is_ok() {}
    });
    body
}

#[tokio::test]
async fn a_download_resumes_from_a_byte_offset() {
    let relay = TestRelay::new();
    let part = secrets();
    let bytes: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    assert_eq!(relay.call(put_request(&part, &bytes)).await.status, 201);
    let read = part.read.to_text().to_string();
    let answer = relay
        .call(get_request(&part, Some(&read), Some("bytes=600-")))
        .await;
    assert_eq!(answer.status, 206);
    assert_eq!(answer.body, &bytes[600..]);
    let last = relay
        .call(get_request(&part, Some(&read), Some("bytes=999-")))
        .await;
    assert_eq!((last.status, last.body.as_slice()), (206, &bytes[999..]));
    for range in [
        "bytes=1000-",
        "bytes=5000-",
        "bytes=0-10",
        "bytes=-10",
        "bytes=a-",
        "items=1-",
        "bytes=1-,5-",
        "bytes=99999999999999999999999-",
    ] {
        let answer = relay
            .call(get_request(&part, Some(&read), Some(range)))
            .await;
        assert_eq!(answer.refusal(), (416, "bad_range".into()), "{range}");
    }
}

#[tokio::test]
async fn info_announces_the_chunk_limits() {
    let relay = TestRelay::new();
    let info = relay
        .call(request("GET", "/v1/info", None, None, b""))
        .await;
    let info: RelayInfo = serde_json::from_slice(&info.body).unwrap();
    assert_eq!(info.max_chunk_bytes, PART_BYTES);
    assert_eq!(info.chunk_expiry_hours, 48);
    assert_eq!(info.max_chunk_store_bytes, 10 * 1024 * 1024 * 1024);
    // A relay from before the chunk store is still readable.
    let old = r#"{"version":"0.1.0","api":1,"key":"k","max_message_bytes":1,"max_queue_messages":1,"max_queue_bytes":1,"message_expiry_days":1}"#;
    let old: RelayInfo = serde_json::from_str(old).unwrap();
    assert_eq!(old.max_chunk_bytes, 0);
    let metrics = relay
        .call_operator(request("GET", "/metrics", None, None, b""))
        .await;
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(text.lines().any(|l| l == "sotto_relay_chunks 0"), "{text}");
}

#[tokio::test]
async fn chunks_survive_a_restart_and_crash_leftovers_are_removed() {
    let relay = TestRelay::new();
    let part = secrets();
    assert_eq!(relay.call(put_request(&part, b"durable")).await.status, 201);
    let chunk_dir = relay.dir.path().join("chunks");
    // What a crash can leave: an unfinished upload, and a file whose row never committed.
    let unfinished = chunk_dir.join("tmp").join("unfinished");
    std::fs::write(&unfinished, b"half an upload").unwrap();
    let orphan = relay.chunks.part_path(&secrets().id());
    std::fs::write(&orphan, b"renamed, never committed").unwrap();

    let relay = relay.restart();
    assert!(!unfinished.exists());
    assert!(!orphan.exists());
    assert_eq!(get(&relay, &part).await.body, b"durable");
    assert_eq!(
        counts(&relay),
        ChunkCounts {
            chunks: 1,
            bytes: 7
        }
    );
}

#[test]
fn the_commit_checks_the_id_and_the_quota_again_with_the_actual_size() {
    use sotto_relay::storage::{ChunkPolicy, FileChunkStore, Hour, StoreError};
    use std::io::Read as _;

    let dir = tempfile::tempdir().unwrap();
    let policy = ChunkPolicy {
        max_store_bytes: 100,
        expiry_hours: 48,
    };
    let store = FileChunkStore::open(dir.path(), policy).unwrap();
    let now = Hour(500_000);
    // Two uploads racing for one id: the first commit wins, the second changes nothing.
    let id = secrets().id();
    let mut first = store.begin_upload(&id, 10, now).unwrap();
    let mut second = store.begin_upload(&id, 10, now).unwrap();
    first.write(b"first").unwrap();
    second.write(b"second").unwrap();
    first.commit([1; 32], now).unwrap();
    assert!(matches!(
        second.commit([2; 32], now),
        Err(StoreError::ChunkExists)
    ));
    let mut text = String::new();
    let mut opened = store.open(&id, 0, now).unwrap().unwrap();
    opened.reader.read_to_string(&mut text).unwrap();
    assert_eq!((opened.size, text.as_str()), (5, "first"));
    // The delete hash is the first upload's.
    assert!(matches!(
        store.delete(&id, &[2; 32], now),
        Err(StoreError::BadCapability)
    ));

    // An upload that announced little but sent more than the quota allows.
    let big = secrets().id();
    let mut upload = store.begin_upload(&big, 10, now).unwrap();
    upload.write(&[0; 96]).unwrap();
    assert!(matches!(
        upload.commit([3; 32], now),
        Err(StoreError::ChunkStoreFull)
    ));
    assert!(store.open(&big, 0, now).unwrap().is_none());
    assert_eq!(
        store.counts().unwrap(),
        ChunkCounts {
            chunks: 1,
            bytes: 5
        }
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0
    );
    // Reading from an offset, and past the end.
    let mut tail = String::new();
    store
        .open(&id, 3, now)
        .unwrap()
        .unwrap()
        .reader
        .read_to_string(&mut tail)
        .unwrap();
    assert_eq!(tail, "st");
    let mut nothing = Vec::new();
    store
        .open(&id, 99, now)
        .unwrap()
        .unwrap()
        .reader
        .read_to_end(&mut nothing)
        .unwrap();
    assert!(nothing.is_empty());
    // Expired: invisible, then swept.
    let later = now.plus(49);
    assert!(store.open(&id, 0, later).unwrap().is_none());
    assert!(matches!(
        store.delete(&id, &[1; 32], later),
        Err(StoreError::UnknownChunk)
    ));
    assert_eq!(store.sweep(later).unwrap(), 1);
    assert_eq!(store.counts().unwrap(), ChunkCounts::default());
}
