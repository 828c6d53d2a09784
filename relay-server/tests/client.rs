//! The core's relay client (`sotto_core::transport::RelayClient`) against a real relay
//! process over pinned TLS: the queue API and its typed refusals, then two strangers who
//! meet by invitation and exchange messages through the relay — every packet written,
//! read and acknowledged over HTTPS.

use std::time::SystemTime;

use sotto_core::Profile;
use sotto_core::contacts::{ContactId, Event};
use sotto_core::content::Body;
use sotto_core::relay::OwnQueue;
use sotto_core::relay::{ErrorKind, QueueKeyPair, RelayAddress, RelayKey, SendCapability};
use sotto_core::store::MemoryStore;
use sotto_core::transport::{RelayClient, TransportError};

#[path = "common/process.rs"]
mod process;
use process::RunningRelay;

fn now() -> SystemTime {
    SystemTime::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_api_round_trips_and_refusals_are_typed() {
    let relay = RunningRelay::start(&[]);
    let client = RelayClient::new(relay.address.clone()).unwrap();
    let mut rng = rand::rng();
    let info = client.info().await.unwrap();
    assert_eq!(info.api, 1);

    let queue = client.create_queue(now(), &mut rng).await.unwrap();
    assert!(
        client
            .next(&queue, now(), &mut rng)
            .await
            .unwrap()
            .is_none()
    );
    for n in 0..3u8 {
        client
            .send(&queue.capability(), &[n; 4096], now(), &mut rng)
            .await
            .unwrap();
    }
    for n in 0..3u8 {
        let message = client.next(&queue, now(), &mut rng).await.unwrap().unwrap();
        assert_eq!(message.packet, vec![n; 4096], "oldest first");
        client
            .ack(&queue, &message.id, now(), &mut rng)
            .await
            .unwrap();
    }
    assert!(
        client
            .next(&queue, now(), &mut rng)
            .await
            .unwrap()
            .is_none()
    );

    // A write signed with a key that is not the queue's sender key.
    let forged = SendCapability {
        sender_key: QueueKeyPair::generate(&mut rng),
        ..queue.capability()
    };
    match client.send(&forged, b"x", now(), &mut rng).await {
        Err(TransportError::Relay(error)) => assert_eq!(error.kind, ErrorKind::BadSignature),
        other => panic!("expected bad_signature, got {other:?}"),
    }
    // A request signed an hour off.
    let later = now() + std::time::Duration::from_secs(3600);
    match client.next(&queue, later, &mut rng).await {
        Err(TransportError::Relay(error)) => assert_eq!(error.kind, ErrorKind::StaleRequest),
        other => panic!("expected stale_request, got {other:?}"),
    }
    // A queue of another relay.
    let elsewhere = OwnQueue {
        relay: RelayAddress::parse(&format!(
            "sotto://{}@127.0.0.1:1",
            RelayKey::from_bytes([3; 32])
        ))
        .unwrap(),
        ..queue.clone()
    };
    assert!(matches!(
        client.next(&elsewhere, now(), &mut rng).await,
        Err(TransportError::WrongRelay)
    ));
    // Deleted: gone for reading and writing.
    client.delete_queue(&queue, now(), &mut rng).await.unwrap();
    match client.next(&queue, now(), &mut rng).await {
        Err(TransportError::Relay(error)) => assert_eq!(error.kind, ErrorKind::UnknownQueue),
        other => panic!("expected unknown_queue, got {other:?}"),
    }

    // A client pinning another key never talks to this relay.
    let impostor = RelayAddress::parse(&format!(
        "sotto://{}@127.0.0.1:{}",
        RelayKey::from_bytes([9; 32]),
        relay.address.port()
    ))
    .unwrap();
    match RelayClient::new(impostor).unwrap().info().await {
        Err(TransportError::KeyMismatch { presented, .. }) => {
            assert_eq!(presented, *relay.address.key());
        }
        other => panic!("expected KeyMismatch, got {other:?}"),
    }
    // Nobody listening: unreachable, worth retrying.
    let closed =
        RelayAddress::parse(&format!("sotto://{}@127.0.0.1:1", relay.address.key())).unwrap();
    let error = RelayClient::new(closed).unwrap().info().await.unwrap_err();
    assert!(sotto_core::transport::is_transient(&error), "{error:?}");
}

fn profile() -> Profile<MemoryStore> {
    futures_executor::block_on(Profile::create(
        MemoryStore::new(),
        None,
        now(),
        &mut rand::rng(),
    ))
    .unwrap()
}

/// Reads every message waiting in `queue`, acknowledging each.
async fn drain(client: &RelayClient, queue: &OwnQueue) -> Vec<Vec<u8>> {
    let mut rng = rand::rng();
    let mut packets = Vec::new();
    while let Some(message) = client.next(queue, now(), &mut rng).await.unwrap() {
        client
            .ack(queue, &message.id, now(), &mut rng)
            .await
            .unwrap();
        packets.push(message.packet);
    }
    packets
}

fn texts(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(content) => match &content.body {
                Body::Text(t) => Some(t.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_strangers_meet_by_invitation_and_talk_through_the_relay() {
    let relay = RunningRelay::start(&[]);
    let client = RelayClient::new(relay.address.clone()).unwrap();
    let mut rng = rand::rng();
    let mut alice = profile();
    let mut bob = profile();

    // Alice invites on a fresh queue; the link is all Bob gets.
    let qa = client.create_queue(now(), &mut rng).await.unwrap();
    let link = futures_executor::block_on(alice.create_invitation(&qa, &mut rng))
        .unwrap()
        .to_uri();

    // Bob accepts and writes his acceptance into Alice's invitation queue.
    let invitation = sotto_core::invitation::Invitation::from_uri(&link).unwrap();
    let qb = client.create_queue(now(), &mut rng).await.unwrap();
    let accepted =
        futures_executor::block_on(bob.accept_invitation(&invitation, &qb, "Bob", now(), &mut rng))
            .unwrap();
    client
        .send(&accepted.destination, &accepted.packet, now(), &mut rng)
        .await
        .unwrap();
    let alice_at_bob: ContactId = accepted.contact;

    // Alice reads it, answers on a fresh queue, and deletes the invitation queue.
    let packets = drain(&client, &qa).await;
    assert_eq!(packets.len(), 1);
    assert_eq!(
        futures_executor::block_on(alice.queue_contact(&qa.recipient_id)).unwrap(),
        None
    );
    let qa2 = client.create_queue(now(), &mut rng).await.unwrap();
    let joined = futures_executor::block_on(alice.answer_invitation(
        &qa.recipient_id,
        &packets[0],
        &qa2,
        "Alice",
        now(),
        &mut rng,
    ))
    .unwrap();
    client
        .send(&joined.destination, &joined.packet, now(), &mut rng)
        .await
        .unwrap();
    client.delete_queue(&qa, now(), &mut rng).await.unwrap();
    futures_executor::block_on(alice.forget_queue(&qa.recipient_id)).unwrap();
    let bob_at_alice = joined.contact;

    // The link is now dead at the relay too.
    match client
        .send(
            &invitation.queue().clone(),
            &accepted.packet,
            now(),
            &mut rng,
        )
        .await
    {
        Err(TransportError::Relay(error)) => assert_eq!(error.kind, ErrorKind::UnknownQueue),
        other => panic!("expected unknown_queue, got {other:?}"),
    }

    // Bob reads the answer: the contact is complete.
    let packets = drain(&client, &qb).await;
    assert_eq!(packets.len(), 1);
    let events =
        futures_executor::block_on(bob.receive(&alice_at_bob, &packets[0], now(), &mut rng))
            .unwrap();
    assert!(events.contains(&Event::Accepted(alice_at_bob.clone())));

    // Messages both ways, each written to the other's queue and read back from it.
    for round in 0..5 {
        let text = format!("bob to alice {round}");
        let shown = relay_text(
            &client,
            &mut bob,
            &alice_at_bob,
            &alice,
            &bob_at_alice,
            &qa2,
            &text,
        )
        .await;
        assert_eq!(shown, [text]);
        let text = format!("alice to bob {round}");
        let shown = relay_text(
            &client,
            &mut alice,
            &bob_at_alice,
            &bob,
            &alice_at_bob,
            &qb,
            &text,
        )
        .await;
        assert_eq!(shown, [text]);
    }
}

/// `from` sends `text` to its contact `to_at_from`, writing the packet to that contact's
/// queue on the relay; `to` reads it from `to_queue` (acknowledging it) and receives it as
/// coming from `from_at_to`. Returns the texts `to` was shown.
async fn relay_text(
    client: &RelayClient,
    from: &mut Profile<MemoryStore>,
    to_at_from: &ContactId,
    to: &Profile<MemoryStore>,
    from_at_to: &ContactId,
    to_queue: &OwnQueue,
    text: &str,
) -> Vec<String> {
    let mut rng = rand::rng();
    let out = futures_executor::block_on(from.send(
        to_at_from,
        Body::Text(text.to_owned()),
        now(),
        &mut rng,
    ))
    .unwrap();
    let destination = futures_executor::block_on(from.send_queue(to_at_from))
        .unwrap()
        .expect("the contact's queue is known");
    client
        .send(&destination, &out.packet.unwrap(), now(), &mut rng)
        .await
        .unwrap();
    let packets = drain(client, to_queue).await;
    assert_eq!(packets.len(), 1);
    let events =
        futures_executor::block_on(to.receive(from_at_to, &packets[0], now(), &mut rng)).unwrap();
    texts(&events)
}

/// A "relay" that accepts connections and then says nothing (a hung process, a black-holing
/// middlebox): the client gives up after its connect timeout with a passing failure, so the
/// work is retried later instead of waiting forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_never_answers_is_unreachable_after_the_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        std::thread::sleep(sotto_core::transport::CONNECT_TIMEOUT * 2);
        drop(socket);
    });
    let silent = RelayAddress::parse(&format!(
        "sotto://{}@127.0.0.1:{port}",
        RelayKey::from_bytes([5; 32])
    ))
    .unwrap();
    let started = std::time::Instant::now();
    let error = RelayClient::new(silent).unwrap().info().await.unwrap_err();
    let waited = started.elapsed();
    assert!(sotto_core::transport::is_transient(&error), "{error:?}");
    assert!(
        waited >= sotto_core::transport::CONNECT_TIMEOUT
            && waited < sotto_core::transport::CONNECT_TIMEOUT * 2,
        "gave up after {waited:?}"
    );
    drop(holder);
}
