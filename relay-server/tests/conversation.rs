//! The networked client end to end: `sotto_core::Client`s with SQLCipher profile
//! directories meet by invitation and talk through real relay processes over pinned TLS on
//! loopback — in order, once each, acknowledged end to end — while recipients go offline
//! and a relay is killed mid-flight.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sotto_core::client::{AttachmentKind, ClientEvent, SendRoute, TransferDirection};
use sotto_core::contacts::ContactId;
use sotto_core::content::{Body, MessageId};
use sotto_core::invitation::{Invitation, InvitationError, InvitationLink};
use sotto_core::store::{MessageDirection, MessageStatus, ProfileDirectory};
use sotto_core::{ClientSettings, Error};

#[path = "common/people.rs"]
mod people;
#[path = "common/process.rs"]
mod process;
use people::{Person, Relay, TestClock, delivered, meet, texts};

/// Straight to the mailbox relays: these tests are about queues, receipts and the outbox
/// (onion paths are tested in `onion.rs`).
fn settings(relays: &[&Relay], name: &str, clock: &Arc<TestClock>) -> ClientSettings {
    people::settings(relays, name, clock, SendRoute::Direct)
}

async fn create(root: &Path, name: &str, relays: &[&Relay], clock: &Arc<TestClock>) -> Person {
    people::create(root, name, settings(relays, name, clock)).await
}

async fn reopen(root: &Path, name: &str, relays: &[&Relay], clock: &Arc<TestClock>) -> Person {
    people::reopen(root, name, settings(relays, name, clock)).await
}

/// Alice (on `alice_relay`) and Bob (on `bob_relay`), new profiles under `root`, met by
/// Alice's invitation: (alice, bob, Bob at Alice, Alice at Bob).
async fn pair(
    root: &Path,
    alice_relay: &Relay,
    bob_relay: &Relay,
    clock: &Arc<TestClock>,
) -> (Person, Person, ContactId, ContactId) {
    let mut alice = create(root, "alice", &[alice_relay], clock).await;
    let mut bob = create(root, "bob", &[bob_relay], clock).await;
    let (bob_at_alice, alice_at_bob) = meet(&mut alice, &mut bob).await;
    (alice, bob, bob_at_alice, alice_at_bob)
}

/// Syncs both sides until neither has anything to do; returns their events.
async fn settle(a: &mut Person, b: &mut Person) -> (Vec<ClientEvent>, Vec<ClientEvent>) {
    people::settle(a, b, Duration::ZERO).await
}

fn tempdir() -> tempfile::TempDir {
    people::tempdir("sotto-conversation-")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_then_100_messages_each_way_in_order_once_and_acknowledged() {
    let root = tempdir();
    let relay_a = Relay::start(root.path(), "relay-a");
    let relay_b = Relay::start(root.path(), "relay-b");
    let clock = Arc::new(TestClock::default());
    let (mut alice, mut bob, bob_at_alice, alice_at_bob) =
        pair(root.path(), &relay_a, &relay_b, &clock).await;

    let mut sent_by_alice = Vec::new();
    let mut sent_by_bob = Vec::new();
    for n in 0..100 {
        sent_by_alice.push(
            alice
                .send_text(&bob_at_alice, &format!("alice {n}"))
                .await
                .unwrap(),
        );
        sent_by_bob.push(
            bob.send_text(&alice_at_bob, &format!("bob {n}"))
                .await
                .unwrap(),
        );
        if n % 25 == 24 {
            // Some reading mid-conversation, as a real app would.
            bob.sync().await.unwrap();
        }
    }
    let (alice_events, bob_events) = settle(&mut alice, &mut bob).await;

    let expected = |who: &str| (0..100).map(|n| format!("{who} {n}")).collect::<Vec<_>>();
    assert_eq!(texts(&alice_events), expected("bob"), "in order, once each");
    let shown_to_bob: Vec<String> = bob
        .history(&alice_at_bob, 1000)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .filter(|(direction, _, _)| *direction == MessageDirection::Incoming)
        .filter_map(|(_, _, content)| match content.body {
            Body::Text(text) => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(shown_to_bob, expected("alice"));

    // Every message acknowledged end to end, and marked so in the sender's history.
    let acknowledged_at_alice = delivered(&alice_events);
    let acknowledged_at_bob = delivered(&bob_events);
    for id in &sent_by_alice {
        assert!(acknowledged_at_alice.contains(id), "alice's {id} delivered");
    }
    for id in &sent_by_bob {
        assert!(acknowledged_at_bob.contains(id), "bob's {id} delivered");
    }
    for (direction, status, _) in alice.history(&bob_at_alice, 1000).await.unwrap() {
        if direction == MessageDirection::Outgoing {
            assert_eq!(status, MessageStatus::Delivered);
        }
    }

    // The invitation was used: a third person is refused, and a tampered link never parses.
    let mut carol = create(root.path(), "carol", &[&relay_b], &clock).await;
    let link = alice.create_invitation().await.unwrap().to_uri();
    let invitation = Invitation::from_uri(&link).unwrap();
    bob.accept_invitation(&invitation).await.unwrap_err();
    carol.accept_invitation(&invitation).await.unwrap();
    settle(&mut alice, &mut carol).await;
    let mut dave = create(root.path(), "dave", &[&relay_b], &clock).await;
    match dave.accept_invitation(&invitation).await {
        Err(Error::Invitation(InvitationError::AlreadyUsed)) => {}
        other => panic!("a used invitation must be refused, got {other:?}"),
    }
    assert!(
        dave.contacts().await.unwrap().is_empty(),
        "no half-made contact is left behind"
    );
    assert!(dave.profile().own_queues().await.unwrap().is_empty());

    // A short link: a QR code a phone reads, the full invitation fetched from the relay;
    // used once, then gone from the relay (deleted by the inviter when the acceptance
    // came), so a second use is refused before anything is made.
    let made = alice.create_invitation().await.unwrap();
    let short_link = made.link();
    assert!(short_link.len() <= 200, "{} characters", short_link.len());
    let code = sotto_core::qr::QrCode::encode(short_link.as_bytes()).unwrap();
    assert!(code.version() <= 10, "QR version {}", code.version());
    let short = InvitationLink::parse(&short_link).unwrap();
    let mut erin = create(root.path(), "erin", &[&relay_b], &clock).await;
    erin.accept_link(&short).await.unwrap();
    settle(&mut alice, &mut erin).await;
    match dave.accept_link(&short).await {
        Err(Error::Invitation(InvitationError::Unavailable)) => {}
        other => panic!("a used short link must be refused, got {other:?}"),
    }
    assert!(dave.profile().own_queues().await.unwrap().is_empty());
    // A link whose seed was changed finds nothing on the relay.
    let mut forged = short_link.clone().into_bytes();
    let first = short_link.find('#').unwrap() + 1;
    forged[first] = if forged[first] == b'A' { b'B' } else { b'A' };
    let forged = InvitationLink::parse(std::str::from_utf8(&forged).unwrap()).unwrap();
    assert!(matches!(
        dave.accept_link(&forged).await,
        Err(Error::Invitation(InvitationError::Unavailable))
    ));

    // Alice deletes Bob: his queue at her relay goes, so what he sends finds no queue.
    alice.forget_contact(&bob_at_alice).await.unwrap();
    assert!(alice.contact(&bob_at_alice).await.is_err());
    assert!(alice.history(&bob_at_alice, 10).await.unwrap().is_empty());
    bob.send_text(&alice_at_bob, "are you still there?")
        .await
        .unwrap();
    assert!(
        bob.take_events().contains(&ClientEvent::QueueGone {
            contact: alice_at_bob.clone()
        }),
        "the sender learns the queue is gone"
    );
    let mut tampered = link.into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    assert!(Invitation::from_uri(std::str::from_utf8(&tampered).unwrap()).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_recipient_gets_its_messages_at_the_next_sync() {
    let root = tempdir();
    let relay = Relay::start(root.path(), "relay");
    let clock = Arc::new(TestClock::default());
    let (mut alice, bob, bob_at_alice, _) = pair(root.path(), &relay, &relay, &clock).await;
    drop(bob); // Bob's app is closed.

    for n in 0..20 {
        alice
            .send_text(&bob_at_alice, &format!("while you were away {n}"))
            .await
            .unwrap();
    }
    let report = alice.sync().await.unwrap();
    assert_eq!(report.unreachable, 0);

    let mut bob = reopen(root.path(), "bob", &[&relay], &clock).await;
    let (alice_events, bob_events) = settle(&mut alice, &mut bob).await;
    let expected: Vec<String> = (0..20)
        .map(|n| format!("while you were away {n}"))
        .collect();
    assert_eq!(texts(&bob_events), expected);
    assert_eq!(delivered(&alice_events).len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_flight_loses_nothing_and_shows_nothing_twice() {
    let root = tempdir();
    let mut relay = Relay::start(root.path(), "relay");
    let clock = Arc::new(TestClock::default());
    let (mut alice, mut bob, bob_at_alice, _) = pair(root.path(), &relay, &relay, &clock).await;

    // The relay dies while Alice is sending as fast as she can.
    let mut child = relay.child.take().unwrap();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        child.kill().unwrap();
        child.wait().unwrap();
    });
    let mut ids = Vec::new();
    for n in 0..120 {
        ids.push(
            alice
                .send_text(&bob_at_alice, &format!("in flight {n}"))
                .await
                .unwrap(),
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    killer.join().unwrap();
    let problems = alice
        .take_events()
        .iter()
        .filter(|e| matches!(e, ClientEvent::NetworkProblem { .. }))
        .count();
    assert!(problems > 0, "some messages met the dead relay");
    relay.restart();

    // Alice's app restarts too (its unsent packets were only in memory): the durable
    // outbox re-seals what no receipt acknowledged once its retry time comes.
    drop(alice);
    let mut alice = reopen(root.path(), "alice", &[&relay], &clock).await;
    clock.advance(Duration::from_secs(31));
    let (alice_events, bob_events) = settle(&mut alice, &mut bob).await;

    let expected: Vec<String> = (0..120).map(|n| format!("in flight {n}")).collect();
    assert_eq!(
        texts(&bob_events),
        expected,
        "all delivered, in order, once"
    );
    let acknowledged = delivered(&alice_events);
    assert!(ids.iter().all(|id| acknowledged.contains(id)));
    let unique: BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 120);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_data_and_logs_hold_no_plaintext_identity_or_sender() {
    let root = tempdir();
    let relay = Relay::start(root.path(), "relay");
    let clock = Arc::new(TestClock::default());
    let mut alice = create(root.path(), "alice-scan", &[&relay], &clock).await;
    let mut bob = create(root.path(), "bob-scan", &[&relay], &clock).await;
    let (bob_at_alice, alice_at_bob) = meet(&mut alice, &mut bob).await;
    let mut secrets: Vec<Vec<u8>> = Vec::new();
    for n in 0..10 {
        let a = format!("plaintext-marker-from-alice-{n}");
        let b = format!("plaintext-marker-from-bob-{n}");
        alice.send_text(&bob_at_alice, &a).await.unwrap();
        bob.send_text(&alice_at_bob, &b).await.unwrap();
        secrets.push(a.into_bytes());
        secrets.push(b.into_bytes());
    }
    // An attachment too: its chunk files sit in the relay's data directory.
    let document = root.path().join("document.txt");
    let marker = "plaintext-marker-inside-an-attachment ".repeat(2000);
    std::fs::write(&document, &marker).unwrap();
    alice
        .send_attachment(
            &bob_at_alice,
            &document,
            AttachmentKind::File {
                name: "secret-file-name-marker.txt".into(),
                mime: "text/plain".into(),
            },
        )
        .await
        .unwrap();
    secrets.push(b"plaintext-marker-inside-an-attachment".to_vec());
    secrets.push(b"secret-file-name-marker".to_vec());
    let (_, bob_events) = settle(&mut alice, &mut bob).await;
    assert_eq!(texts(&bob_events).len(), 10);
    assert_eq!(
        bob_events
            .iter()
            .filter(|e| matches!(e, ClientEvent::Message { .. }))
            .count(),
        11
    );
    for person in [&alice, &bob] {
        let public = person.identity().public();
        let bytes = public.to_bytes();
        secrets.push(bytes.clone());
        secrets.push(bytes[1..].to_vec());
        secrets.push(public.to_text().into_bytes());
    }
    secrets.push(b"alice-scan".to_vec());
    secrets.push(b"bob-scan".to_vec());
    drop(relay); // Stops the process; its files stay.

    let mut scanned = 0;
    let mut files = vec![root.path().join("relay.log")];
    let mut folders = vec![root.path().join("relay")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    for file in files {
        let contents = std::fs::read(&file).unwrap();
        scanned += contents.len();
        for secret in &secrets {
            assert!(
                !contents
                    .windows(secret.len())
                    .any(|w| w == secret.as_slice()),
                "{} holds {:?}",
                file.display(),
                String::from_utf8_lossy(secret)
            );
        }
    }
    assert!(scanned > 0);
}

/// Whether two files hold the same bytes (read in 1 MiB pieces: the big one is 100 MiB).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::io::Read as _;
    let (mut a, mut b) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = a.read(&mut x).unwrap();
        if n == 0 {
            return b.read(&mut y).unwrap() == 0;
        }
        if b.read_exact(&mut y[..n]).is_err() || x[..n] != y[..n] {
            return false;
        }
    }
}

/// Writes `len` pseudo-random bytes (incompressible, like real media) to `path`.
fn write_sample(path: &Path, len: u64, seed: u64) {
    use std::io::Write as _;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state = seed | 1;
    let mut left = len;
    while left > 0 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let take = left.min(8) as usize;
        file.write_all(&state.to_le_bytes()[..take]).unwrap();
        left -= take as u64;
    }
    file.flush().unwrap();
}

/// The (done, total) of the progress events of one transfer, checked to rise to the total.
fn assert_progress(events: &[ClientEvent], id: MessageId, direction: TransferDirection) {
    let steps: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Progress {
                message_id,
                direction: d,
                done,
                total,
            } if *message_id == id && *d == direction => Some((*done, *total)),
            _ => None,
        })
        .collect();
    assert!(!steps.is_empty(), "{direction:?} of {id} reported progress");
    assert!(
        steps.windows(2).all(|w| w[0].0 <= w[1].0),
        "progress only rises"
    );
    let (done, total) = *steps.last().unwrap();
    assert_eq!(done, total, "{direction:?} of {id} ends complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_voice_clip_and_a_100_mib_file_arrive_once_with_progress() {
    let root = tempdir();
    let relay_a = Relay::start(root.path(), "relay-a");
    let relay_b = Relay::start(root.path(), "relay-b");
    let clock = Arc::new(TestClock::default());
    let (mut alice, mut bob, bob_at_alice, alice_at_bob) =
        pair(root.path(), &relay_a, &relay_b, &clock).await;

    let samples = [
        (
            "image",
            300 * 1024,
            AttachmentKind::Image {
                mime: "image/png".into(),
                width: 640,
                height: 480,
                thumbnail: vec![1, 2, 3],
            },
        ),
        (
            "voice",
            48 * 1024,
            AttachmentKind::VoiceClip {
                duration_ms: 1500,
                codec: "opus".into(),
                waveform: vec![9; 32],
            },
        ),
        (
            "file",
            100 << 20,
            AttachmentKind::File {
                name: "big.bin".into(),
                mime: "application/octet-stream".into(),
            },
        ),
    ];
    let mut sent = Vec::new();
    for (n, (label, len, kind)) in samples.into_iter().enumerate() {
        let source = root.path().join(format!("{label}.sent"));
        write_sample(&source, len, n as u64 + 7);
        let id = alice
            .send_attachment(&bob_at_alice, &source, kind)
            .await
            .unwrap();
        assert_progress(&alice.take_events(), id, TransferDirection::Upload);
        sent.push((label, source, id));
    }

    let (alice_events, bob_events) = settle(&mut alice, &mut bob).await;
    let arrived: Vec<MessageId> = bob_events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Message { content, .. } => Some(content.id),
            _ => None,
        })
        .collect();
    let sent_ids: Vec<MessageId> = sent.iter().map(|(_, _, id)| *id).collect();
    assert_eq!(arrived, sent_ids, "each once, in order");
    let acknowledged = delivered(&alice_events);
    assert!(sent_ids.iter().all(|id| acknowledged.contains(id)));

    for (label, source, id) in &sent {
        let target = root.path().join(format!("{label}.received"));
        bob.download_attachment(&alice_at_bob, id, &target)
            .await
            .unwrap();
        assert_progress(&bob.take_events(), *id, TransferDirection::Download);
        assert!(same_file(source, &target), "the {label} arrived intact");
    }
    // The recipient removed the chunks from the relay once it had them, and keeps their
    // ciphertext in its profile (the key stays in its store): the attachment opens again,
    // with the relay stopped.
    drop(relay_b);
    drop(relay_a);
    let kept = || -> Vec<std::path::PathBuf> {
        let folder = ProfileDirectory::new(root.path().join("bob")).attachments_dir();
        let mut kept: Vec<_> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "received"))
            .collect();
        kept.sort();
        kept
    };
    assert_eq!(
        kept().len(),
        sent.len(),
        "one kept ciphertext per attachment"
    );
    for path in kept() {
        let head = &std::fs::read(&path).unwrap()[..64];
        for (_, source, _) in &sent {
            assert_ne!(
                head,
                &std::fs::read(source).unwrap()[..64],
                "kept encrypted"
            );
        }
    }
    for (label, source, id) in &sent {
        let again = root.path().join(format!("{label}.again"));
        bob.download_attachment(&alice_at_bob, id, &again)
            .await
            .unwrap();
        assert!(same_file(source, &again), "the {label} opens again");
    }
    // Deleting the message deletes the kept ciphertext; a damaged one is refused (and
    // dropped), never handed out.
    bob.delete_message(&alice_at_bob, &sent[0].2).await.unwrap();
    assert_eq!(kept().len(), sent.len() - 1);
    let damaged = kept()[0].clone();
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&damaged, bytes).unwrap();
    let target = root.path().join("damaged");
    let id = sent
        .iter()
        .find(|(_, _, id)| damaged.to_string_lossy().contains(&id.to_string()))
        .map(|(_, _, id)| *id)
        .unwrap();
    assert!(matches!(
        bob.download_attachment(&alice_at_bob, &id, &target).await,
        Err(Error::Attachment(_))
    ));
    assert!(!target.exists(), "a failed download leaves no file");
    assert!(!damaged.exists(), "the damaged copy is dropped");
}

fn network_problems(events: &[ClientEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, ClientEvent::NetworkProblem { .. }))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_relay_is_reported_once_per_sync_and_its_work_waits() {
    let root = tempdir();
    let relay_a = Relay::start(root.path(), "relay-a");
    let mut relay_b = Relay::start(root.path(), "relay-b");
    let clock = Arc::new(TestClock::default());
    let (mut alice, mut bob, bob_at_alice, _) = pair(root.path(), &relay_a, &relay_b, &clock).await;

    // Bob's relay dies: Alice's sends all return at once, one report for all of them.
    relay_b.kill();
    for n in 0..5 {
        alice
            .send_text(&bob_at_alice, &format!("while the relay is down {n}"))
            .await
            .unwrap();
    }
    assert_eq!(network_problems(&alice.take_events()), 1);
    // A sync tries again, once; the relay is still down.
    let report = alice.sync().await.unwrap();
    assert_eq!(report.unreachable, 1);
    assert_eq!(report.sent, 0);
    assert_eq!(network_problems(&alice.take_events()), 1);

    relay_b.restart();
    let (_, bob_events) = settle(&mut alice, &mut bob).await;
    let expected: Vec<String> = (0..5)
        .map(|n| format!("while the relay is down {n}"))
        .collect();
    assert_eq!(texts(&bob_events), expected);
}
