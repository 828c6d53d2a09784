//! The core's chunk client (`sotto_core::transport::chunks`) against a real relay process
//! over pinned TLS: real encrypted attachments go up and come back intact at every size
//! around the part boundary, deletion and refusals are typed, and a relay's wrong lengths
//! are caught.

use sotto_core::attachment::{ChunkSize, decrypt, encrypt};
use sotto_core::relay::chunks::part_count;
use sotto_core::relay::{AttachmentLocation, ChunkSeed, ErrorKind, PART_BYTES, RelayAddress};
use sotto_core::transport::chunks::{delete_attachment, download_attachment, upload_attachment};
use sotto_core::transport::{RelayClient, TransportError};

#[path = "common/process.rs"]
mod process;
use process::RunningRelay;

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) % 251) as u8).collect()
}

/// Uploads `ciphertext` under a fresh seed; returns its location.
async fn upload(client: &RelayClient, ciphertext: &[u8]) -> AttachmentLocation {
    let seed = ChunkSeed::random(&mut rand::rng());
    let mut reports = Vec::new();
    upload_attachment(
        client,
        &seed,
        ciphertext,
        ciphertext.len() as u64,
        |done, total| reports.push((done, total)),
    )
    .await
    .unwrap();
    let total = ciphertext.len() as u64;
    assert_eq!(
        reports.len() as u64,
        part_count(total),
        "one report per part"
    );
    assert_eq!(reports.last(), Some(&(total, total)));
    AttachmentLocation::new(client.address().clone(), seed).unwrap()
}

async fn download(client: &RelayClient, location: &AttachmentLocation, size: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut last = (0, 0);
    download_attachment(client, location, size, &mut out, |done, total| {
        last = (done, total)
    })
    .await
    .unwrap();
    assert_eq!(last, (size, size));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_attachments_of_every_size_round_trip_through_a_relay() {
    let relay = RunningRelay::start(&[]);
    let client = RelayClient::new(relay.address.clone()).unwrap();
    let part = PART_BYTES as usize;
    for size in [0, 1, part - 1, part, part + 1, 10 * 1024 * 1024 + 12_345] {
        let photo = plaintext(size);
        let mut ciphertext = Vec::new();
        let mut pointer = encrypt(
            &photo[..],
            &mut ciphertext,
            ChunkSize::STANDARD,
            &mut |_| {},
        )
        .unwrap();
        let location = upload(&client, &ciphertext).await;
        pointer.set_location(location.to_string()).unwrap();

        // The recipient has only the pointer.
        let location = AttachmentLocation::parse(pointer.location()).unwrap();
        let downloaded = download(&client, &location, pointer.ciphertext_size()).await;
        let mut opened = Vec::new();
        decrypt(&downloaded[..], &mut opened, &pointer, &mut |_| {}).unwrap();
        assert!(opened == photo, "size {size}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ciphertexts_cut_exactly_at_the_part_boundary_round_trip() {
    let relay = RunningRelay::start(&[]);
    let client = RelayClient::new(relay.address.clone()).unwrap();
    let part = PART_BYTES as usize;
    for size in [0, 1, part - 1, part, part + 1, 2 * part] {
        let bytes = plaintext(size);
        let location = upload(&client, &bytes).await;
        assert!(
            download(&client, &location, size as u64).await == bytes,
            "size {size}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_attachments_are_gone_and_refusals_are_typed() {
    let relay = RunningRelay::start(&["--max-chunk-store-bytes", &(PART_BYTES + 1000).to_string()]);
    let client = RelayClient::new(relay.address.clone()).unwrap();
    let info = client.info().await.unwrap();
    assert_eq!(info.max_chunk_store_bytes, PART_BYTES + 1000);

    let bytes = plaintext(PART_BYTES as usize + 10);
    let location = upload(&client, &bytes).await;
    delete_attachment(&client, &location).await.unwrap();
    // Deleting again is no error: the parts are gone already.
    delete_attachment(&client, &location).await.unwrap();
    let mut out = Vec::new();
    match download_attachment(&client, &location, bytes.len() as u64, &mut out, |_, _| {}).await {
        Err(TransportError::Relay(e)) => assert_eq!(e.kind, ErrorKind::UnknownChunk),
        other => panic!("expected unknown_chunk, got {other:?}"),
    }

    // The store holds one part and a little more: two parts do not fit.
    let big = plaintext(2 * PART_BYTES as usize);
    let seed = ChunkSeed::random(&mut rand::rng());
    match upload_attachment(&client, &seed, &big[..], big.len() as u64, |_, _| {}).await {
        Err(TransportError::Relay(e)) => assert_eq!(e.kind, ErrorKind::QuotaExceeded),
        other => panic!("expected quota_exceeded, got {other:?}"),
    }
    let location = AttachmentLocation::new(client.address().clone(), seed).unwrap();
    delete_attachment(&client, &location).await.unwrap();

    // A reader shorter or longer than declared is the caller's error, caught locally.
    let seed = ChunkSeed::random(&mut rand::rng());
    for (data, declared) in [(&b"abc"[..], 4), (&b"abcde"[..], 4)] {
        assert!(matches!(
            upload_attachment(&client, &seed, data, declared, |_, _| {}).await,
            Err(TransportError::Io(_))
        ));
    }

    // Another relay's location is refused before any request.
    let elsewhere = AttachmentLocation::parse(&format!(
        "sotto://{}@127.0.0.1:1#{}",
        relay.address.key().to_text(),
        "A".repeat(43)
    ))
    .unwrap();
    assert!(matches!(
        download_attachment(&client, &elsewhere, 1, Vec::new(), |_, _| {}).await,
        Err(TransportError::WrongRelay)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_of_the_wrong_length_is_an_invalid_answer() {
    let relay = RunningRelay::start(&[]);
    let client = RelayClient::new(relay.address.clone()).unwrap();
    let bytes = plaintext(1000);
    let location = upload(&client, &bytes).await;
    let part = location.seed.part(0);
    // The relay sends 1000 bytes where 999 or 1001 were expected.
    for expected in [999, 1001] {
        let mut sink = Vec::new();
        assert!(
            matches!(
                client.get_part(&part, 0, expected, &mut sink).await,
                Err(TransportError::InvalidAnswer(_))
            ),
            "expected {expected}"
        );
        assert!(
            sink.len() as u64 <= expected,
            "nothing past the expected end"
        );
    }
    // Asking for a size the attachment does not have fails the same way.
    let mut out = Vec::new();
    assert!(matches!(
        download_attachment(&client, &location, 1001, &mut out, |_, _| {}).await,
        Err(TransportError::InvalidAnswer(_))
    ));
    // Resuming from an offset gives the rest.
    let mut rest = Vec::new();
    client.get_part(&part, 600, 1000, &mut rest).await.unwrap();
    assert_eq!(rest, &bytes[600..]);
}

/// A TCP forwarder in front of the relay (TLS passes through it untouched) that cuts its
/// first connection once `cut_after` bytes went from the relay to the client. Counts the
/// connections it accepted.
async fn cutting_proxy(
    relay: &RelayAddress,
    cut_after: usize,
) -> (RelayAddress, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let target = format!("127.0.0.1:{}", relay.port());
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&connections);
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let Ok(server) = tokio::net::TcpStream::connect(&target).await else {
                return;
            };
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let limit = if first { cut_after } else { usize::MAX };
            first = false;
            tokio::spawn(async move {
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let upstream = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                });
                let mut sent = 0usize;
                let mut buffer = vec![0u8; 16 * 1024];
                while sent < limit {
                    let n = match server_read.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n.min(limit - sent),
                    };
                    if client_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                    sent += n;
                }
                // Cut: both directions closed at once, mid-answer.
                upstream.abort();
            });
        }
    });
    let address = RelayAddress::new(
        *relay.key(),
        sotto_core::relay::Host::V4(std::net::Ipv4Addr::LOCALHOST),
        port,
    )
    .unwrap();
    (address, connections)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_mid_part_resumes_where_it_stopped() {
    let relay = RunningRelay::start(&[]);
    let direct = RelayClient::new(relay.address.clone()).unwrap();
    let bytes = plaintext(PART_BYTES as usize + 5000);
    let location = upload(&direct, &bytes).await;

    let (proxied, connections) = cutting_proxy(&relay.address, 1024 * 1024).await;
    let client = RelayClient::new(proxied.clone()).unwrap();
    let location = AttachmentLocation::new(proxied, location.seed).unwrap();
    let mut out = Vec::new();
    let mut reports = Vec::new();
    download_attachment(
        &client,
        &location,
        bytes.len() as u64,
        &mut out,
        |done, _| reports.push(done),
    )
    .await
    .unwrap();
    assert!(out == bytes, "the resumed download is whole and in order");
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "cut once, resumed on a second connection"
    );
    assert!(
        reports.windows(2).all(|pair| pair[0] < pair[1]),
        "progress never went back: nothing was downloaded twice"
    );
}
