//! The `Messenger` handle end to end against real relay processes: two people meet and
//! talk with the background work on (waiting reads through proxy relays, pushed events, no
//! polling loop in the test); the handle from 8 threads at once; a waiting read across a
//! relay's SIGKILL and restart; a shutdown and reopen; a call dropped half-way; a backlog
//! caught up while calls are answered.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sotto_core::attachment::AttachmentError;
use sotto_core::client::{
    AttachmentKind, CATCH_UP_BATCH, ClientSettings, HistoryFrom, HistoryMessage, SendRoute,
    TransferDirection,
};
use sotto_core::contacts::ContactId;
use sotto_core::content::{Body, MessageId};
use sotto_core::invitation::Invitation;
use sotto_core::messenger::{
    DeliveryStatus, Event, NetworkSettings, OwnedProtection, Subscription,
};
use sotto_core::store::{
    Argon2Params, KeyError, MessageDirection, MessageStatus, ProfileDirectory, SqlCipherStore,
};
use sotto_core::{Error, Messenger};

#[path = "common/people.rs"]
mod people;
#[path = "common/process.rs"]
mod process;
use people::{Relay, TestClock};

type Handle = Messenger<SqlCipherStore>;

/// 3-hop paths without mixing delays.
const THREE_HOPS: SendRoute = SendRoute::Onion {
    hops: 3,
    mean_delay: Duration::ZERO,
};

/// How long a test waits for an event before it fails.
const PATIENCE: Duration = Duration::from_secs(90);

fn network(root: &Path, n: usize) -> Vec<Relay> {
    (1..=n)
        .map(|i| Relay::start_with(root, &format!("relay-{i}"), &["--allow-private-hops"]))
        .collect()
}

fn settings(
    relays: &[Relay],
    name: &str,
    clock: &Arc<TestClock>,
    route: SendRoute,
) -> ClientSettings {
    let refs: Vec<&Relay> = relays.iter().collect();
    people::settings(&refs, name, clock, route)
}

fn passphrase(name: &str) -> OwnedProtection {
    OwnedProtection::Passphrase {
        passphrase: name.to_owned().into(),
        params: Argon2Params::new(8 * 1024, 1, 1).unwrap(),
    }
}

async fn create(root: &Path, name: &str, settings: ClientSettings) -> Handle {
    Messenger::create(
        ProfileDirectory::new(root.join(name)),
        passphrase(name),
        settings,
    )
    .await
    .unwrap()
}

/// Takes events until one matches; returns every event taken, the match last.
async fn until(events: &mut Subscription, wanted: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(PATIENCE, async {
        while let Some(event) = events.next().await {
            let done = wanted(&event);
            seen.push(event);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(found, Ok(true)),
        "no wanted event within {PATIENCE:?}; seen: {seen:?}"
    );
    seen
}

/// Alice invites Bob; both with the background work on. Returns (Bob at Alice, Alice at Bob).
async fn meet(
    alice: &Handle,
    alice_events: &mut Subscription,
    bob: &Handle,
    bob_events: &mut Subscription,
) -> (ContactId, ContactId) {
    let link = alice.create_invitation().await.unwrap().to_uri();
    let alice_at_bob = bob
        .accept_invitation(&Invitation::from_uri(&link).unwrap())
        .await
        .unwrap();
    let seen = until(alice_events, |e| matches!(e, Event::ContactAdded { .. })).await;
    let Some(Event::ContactAdded { contact, .. }) = seen.last() else {
        unreachable!()
    };
    let ready = Event::ContactReady {
        contact: alice_at_bob.clone(),
    };
    until(bob_events, |e| *e == ready).await;
    (contact.clone(), alice_at_bob)
}

/// Alice and Bob: started messengers with their subscriptions, who have met.
struct Pair {
    alice: Handle,
    bob: Handle,
    alice_events: Subscription,
    bob_events: Subscription,
    bob_at_alice: ContactId,
    alice_at_bob: ContactId,
}

/// Creates Alice and Bob over `relays`, subscribes, starts them, and lets them meet.
async fn started_pair(
    root: &Path,
    relays: &[Relay],
    clock: &Arc<TestClock>,
    route: SendRoute,
) -> Pair {
    let alice = create(root, "alice", settings(relays, "alice", clock, route)).await;
    let bob = create(root, "bob", settings(relays, "bob", clock, route)).await;
    let (mut alice_events, mut bob_events) = (alice.subscribe(), bob.subscribe());
    alice.start().await.unwrap();
    bob.start().await.unwrap();
    let (bob_at_alice, alice_at_bob) = meet(&alice, &mut alice_events, &bob, &mut bob_events).await;
    Pair {
        alice,
        bob,
        alice_events,
        bob_events,
        bob_at_alice,
        alice_at_bob,
    }
}

fn text_of(event: &Event) -> Option<String> {
    match event {
        Event::MessageReceived { content, .. } => match &content.body {
            Body::Text(text) => Some(text.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Takes events until `count` texts arrived; returns them in order of arrival.
async fn texts(events: &mut Subscription, count: usize) -> Vec<String> {
    let mut texts = Vec::new();
    // The other events, for the message of a failure.
    let mut others = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        while texts.len() < count {
            let event = events.next().await.expect("the messenger is running");
            match text_of(&event) {
                Some(text) => texts.push(text),
                None => others.push(event),
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{} of {count} texts within {PATIENCE:?}: {texts:?}; other events: {others:?}",
            texts.len()
        )
    });
    texts
}

/// Every message id that reached `status` in the events taken until all of `ids` did.
async fn until_status(events: &mut Subscription, ids: &HashSet<MessageId>, status: DeliveryStatus) {
    let mut reached = HashSet::new();
    tokio::time::timeout(PATIENCE, async {
        while !ids.is_subset(&reached) {
            if let Some(Event::StatusChanged {
                message_ids,
                status: s,
                ..
            }) = events.next().await
                && s == status
            {
                reached.extend(message_ids);
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} of {} reached {status:?}", reached.len(), ids.len()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_messengers_talk_with_pushed_events_and_no_polling() {
    let root = people::tempdir("sotto-messenger-");
    let relays = network(root.path(), 5);
    let clock = Arc::new(TestClock::default());
    let Pair {
        alice,
        bob,
        mut alice_events,
        mut bob_events,
        bob_at_alice,
        alice_at_bob,
    } = started_pair(root.path(), &relays, &clock, THREE_HOPS).await;
    // Each of them now has a read waiting at the relay holding its queue.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut waiting = 0;
        for relay in &relays {
            waiting += people::metric(relay, "sotto_relay_waiting_reads").await;
        }
        if waiting >= 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{waiting} waiting reads"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut sent = HashSet::new();
    for i in 0..10 {
        sent.insert(
            alice
                .send_text(&bob_at_alice, &format!("hello {i}"))
                .await
                .unwrap(),
        );
    }
    let expected: Vec<String> = (0..10).map(|i| format!("hello {i}")).collect();
    assert_eq!(
        texts(&mut bob_events, 10).await,
        expected,
        "in order, once each"
    );
    until_status(&mut alice_events, &sent, DeliveryStatus::Delivered).await;

    // Unread until Bob reads them; reading tells Alice.
    assert_eq!(
        bob.unread_counts().await.unwrap(),
        vec![(alice_at_bob.clone(), 10)]
    );
    let oldest: Vec<MessageId> = bob
        .history(&alice_at_bob, HistoryFrom::Oldest, 4)
        .await
        .unwrap()
        .iter()
        .map(|m| m.content.id)
        .collect();
    bob.mark_read(&alice_at_bob, oldest.clone()).await.unwrap();
    assert_eq!(
        bob.unread_counts().await.unwrap(),
        vec![(alice_at_bob.clone(), 6)]
    );
    until_status(
        &mut alice_events,
        &oldest.into_iter().collect(),
        DeliveryStatus::Read,
    )
    .await;
    let found = bob.search(&alice_at_bob, "HELLO 3", 10).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].content.body, Body::Text("hello 3".into()));
    assert!(
        bob.search(&alice_at_bob, "nowhere", 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Bob answers; Alice's waiting read brings it without any call of hers.
    bob.send_text(&alice_at_bob, "hi alice").await.unwrap();
    assert_eq!(
        texts(&mut alice_events, 1).await,
        vec!["hi alice".to_owned()]
    );

    // The history is in the store, typed, in order and paged by exact counts (receipts,
    // of which there are many, are not counted).
    let newest = bob
        .history(&alice_at_bob, HistoryFrom::Newest, 4)
        .await
        .unwrap();
    let bodies = |page: &[HistoryMessage]| -> Vec<Body> {
        page.iter().map(|m| m.content.body.clone()).collect()
    };
    assert_eq!(
        bodies(&newest),
        ["hi alice", "hello 9", "hello 8", "hello 7"]
            .map(|t| Body::Text(t.into()))
            .to_vec()
    );
    assert_eq!(newest[0].direction, MessageDirection::Outgoing);
    let last = newest.last().unwrap().content.id;
    let older = bob
        .history(&alice_at_bob, HistoryFrom::Before(last), 100)
        .await
        .unwrap();
    assert_eq!(
        bodies(&older),
        (0..7)
            .rev()
            .map(|i| Body::Text(format!("hello {i}")))
            .collect::<Vec<_>>()
    );
    let oldest = bob
        .history(&alice_at_bob, HistoryFrom::Oldest, 2)
        .await
        .unwrap();
    let after = bob
        .history(&alice_at_bob, HistoryFrom::After(oldest[1].content.id), 1)
        .await
        .unwrap();
    assert_eq!(bodies(&after), vec![Body::Text("hello 2".into())]);
    assert!(matches!(
        bob.history(&alice_at_bob, HistoryFrom::Before(MessageId::random()), 5)
            .await,
        Err(Error::UnknownMessage(_))
    ));
    // One message by its id, theirs or ours, as history shows it.
    let one = bob.message(&alice_at_bob, &last).await.unwrap();
    assert_eq!(one.content, newest[3].content);
    let ours = bob
        .message(&alice_at_bob, &newest[0].content.id)
        .await
        .unwrap();
    assert_eq!(ours.direction, MessageDirection::Outgoing);
    assert!(matches!(
        bob.message(&alice_at_bob, &MessageId::random()).await,
        Err(Error::UnknownMessage(_))
    ));

    // Deleting is local: an unread message leaves the count, search and history at once,
    // and still anchors a page.
    let eight = newest[2].content.id;
    bob.delete_message(&alice_at_bob, &eight).await.unwrap();
    assert_eq!(
        bob.unread_counts().await.unwrap(),
        vec![(alice_at_bob.clone(), 5)]
    );
    assert!(
        bob.search(&alice_at_bob, "hello 8", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        bodies(
            &bob.history(&alice_at_bob, HistoryFrom::Newest, 3)
                .await
                .unwrap()
        ),
        ["hi alice", "hello 9", "hello 7"]
            .map(|t| Body::Text(t.into()))
            .to_vec()
    );
    assert_eq!(
        bodies(
            &bob.history(&alice_at_bob, HistoryFrom::Before(eight), 1)
                .await
                .unwrap()
        ),
        vec![Body::Text("hello 7".into())]
    );
    assert!(matches!(
        bob.message(&alice_at_bob, &eight).await,
        Err(Error::UnknownMessage(_))
    ));

    // Names are local; the network settings change while running.
    alice
        .rename_contact(&bob_at_alice, Some("Bobby".into()))
        .await
        .unwrap();
    assert_eq!(
        alice
            .contact(&bob_at_alice)
            .await
            .unwrap()
            .display_name
            .as_deref(),
        Some("Bobby")
    );
    let mut network = alice.network_settings().await.unwrap();
    assert_eq!(network.route, THREE_HOPS);
    let too_long = NetworkSettings {
        route: SendRoute::Onion {
            hops: 6,
            mean_delay: Duration::ZERO,
        },
        ..network.clone()
    };
    assert!(matches!(
        alice.set_network_settings(too_long).await,
        Err(Error::Transport(_))
    ));
    assert_eq!(
        alice.network_settings().await.unwrap(),
        network,
        "unchanged"
    );
    network.route = SendRoute::Direct;
    alice.set_network_settings(network.clone()).await.unwrap();
    alice
        .send_text(&bob_at_alice, "written straight")
        .await
        .unwrap();
    assert_eq!(
        texts(&mut bob_events, 1).await,
        vec!["written straight".to_owned()]
    );
    network.route = THREE_HOPS;
    alice.set_network_settings(network).await.unwrap();
    bob.send_text(&alice_at_bob, "still there?").await.unwrap();
    assert_eq!(
        texts(&mut alice_events, 1).await,
        vec!["still there?".to_owned()]
    );

    // An attachment: the call returns at once with the id; the upload's progress, the
    // message and its statuses follow as events.
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let source = root.path().join("report.bin");
    std::fs::write(&source, &bytes).unwrap();
    let kind = AttachmentKind::File {
        name: "report.bin".into(),
        mime: "application/octet-stream".into(),
    };
    let id = alice
        .send_attachment(&bob_at_alice, &source, kind)
        .await
        .unwrap();
    let seen = until(&mut alice_events, |e| {
        matches!(e, Event::StatusChanged { message_ids, status: DeliveryStatus::Sent, .. } if message_ids.contains(&id))
    })
    .await;
    let uploaded: Vec<(u64, u64)> = seen
        .iter()
        .filter_map(|e| match e {
            Event::TransferProgress {
                message_id,
                done,
                total,
                ..
            } if *message_id == id => Some((*done, *total)),
            _ => None,
        })
        .collect();
    assert!(
        matches!(uploaded.last(), Some((done, total)) if done == total),
        "{uploaded:?}"
    );
    until(
        &mut bob_events,
        |e| matches!(e, Event::MessageReceived { content, .. } if content.id == id),
    )
    .await;
    let target = root.path().join("report.received");
    bob.download_attachment(&alice_at_bob, &id, &target)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), bytes);

    alice.shutdown().await.unwrap();
    bob.shutdown().await.unwrap();
    assert!(matches!(alice.contacts().await, Err(Error::ShutDown)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handle_serves_eight_threads_at_once() {
    let root = people::tempdir("sotto-messenger-");
    let relays = network(root.path(), 5);
    let clock = Arc::new(TestClock::default());
    let Pair {
        alice,
        bob,
        mut alice_events,
        mut bob_events,
        bob_at_alice,
        ..
    } = started_pair(root.path(), &relays, &clock, THREE_HOPS).await;

    const THREADS: usize = 8;
    const EACH: usize = 5;
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (alice, bob_at_alice) = (alice.clone(), bob_at_alice.clone());
            std::thread::spawn(move || {
                // Each thread with a runtime of its own: the handle needs none of the caller.
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let mut ids = Vec::new();
                    for i in 0..EACH {
                        ids.push(
                            alice
                                .send_text(&bob_at_alice, &format!("{t}:{i}"))
                                .await
                                .unwrap(),
                        );
                        alice
                            .history(&bob_at_alice, HistoryFrom::Newest, 20)
                            .await
                            .unwrap();
                        alice.contacts().await.unwrap();
                    }
                    ids
                })
            })
        })
        .collect();
    let mut sent = HashSet::new();
    for thread in threads {
        sent.extend(thread.join().unwrap());
    }
    assert_eq!(sent.len(), THREADS * EACH, "every send has its own id");

    let arrived = texts(&mut bob_events, THREADS * EACH).await;
    let unique: HashSet<&String> = arrived.iter().collect();
    assert_eq!(
        unique.len(),
        THREADS * EACH,
        "each message shown once: {arrived:?}"
    );
    // Per thread, in the order that thread sent them.
    let mut per_thread: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for text in &arrived {
        let (t, i) = text.split_once(':').unwrap();
        per_thread
            .entry(t.to_owned())
            .or_default()
            .push(i.parse().unwrap());
    }
    for (t, order) in per_thread {
        assert_eq!(order, (0..EACH).collect::<Vec<_>>(), "thread {t} in order");
    }
    until_status(&mut alice_events, &sent, DeliveryStatus::Delivered).await;
    alice.shutdown().await.unwrap();
    bob.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_read_survives_its_relays_sigkill_and_restart() {
    let root = people::tempdir("sotto-messenger-");
    let mut relays = network(root.path(), 1);
    let clock = Arc::new(TestClock::default());
    let Pair {
        alice,
        bob,
        mut bob_events,
        bob_at_alice,
        ..
    } = started_pair(root.path(), &relays, &clock, SendRoute::Direct).await;
    alice.send_text(&bob_at_alice, "before").await.unwrap();
    assert_eq!(texts(&mut bob_events, 1).await, vec!["before".to_owned()]);

    relays[0].kill();
    let down = until(&mut bob_events, |e| {
        matches!(
            e,
            Event::NetworkChanged {
                reachable: false,
                ..
            }
        )
    })
    .await;
    assert!(!down.iter().any(|e| text_of(e).is_some()));
    // Sent while the relay is down: kept in Alice's outbox.
    for i in 0..3 {
        alice
            .send_text(&bob_at_alice, &format!("during {i}"))
            .await
            .unwrap();
    }
    relays[0].restart();

    let arrived = texts(&mut bob_events, 3).await;
    assert_eq!(
        arrived,
        vec!["during 0", "during 1", "during 2"],
        "nothing lost, in order"
    );
    // Nothing shown twice: a last message, then nothing else before it.
    alice.send_text(&bob_at_alice, "after").await.unwrap();
    assert_eq!(texts(&mut bob_events, 1).await, vec!["after".to_owned()]);
    alice.shutdown().await.unwrap();
    bob.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_across_a_shutdown_and_a_call_dropped_half_way() {
    let root = people::tempdir("sotto-messenger-");
    let relays = network(root.path(), 5);
    let clock = Arc::new(TestClock::default());
    let Pair {
        alice,
        bob,
        mut bob_events,
        bob_at_alice,
        alice_at_bob,
        ..
    } = started_pair(root.path(), &relays, &clock, THREE_HOPS).await;
    alice.send_text(&bob_at_alice, "one").await.unwrap();
    assert_eq!(texts(&mut bob_events, 1).await, vec!["one".to_owned()]);

    // Bob picks a new passphrase while his messenger runs.
    bob.change_protection(passphrase("bob, renewed"))
        .await
        .unwrap();

    // Bob goes away; Alice writes on.
    bob.shutdown().await.unwrap();
    assert!(
        bob_events.next().await.is_none(),
        "the subscription ends with the messenger"
    );
    alice.send_text(&bob_at_alice, "two").await.unwrap();
    // A call dropped after it was made: it still completes on the messenger's thread.
    let dropped = alice.send_text(&bob_at_alice, "three");
    let _ = tokio::time::timeout(Duration::ZERO, dropped).await;

    // Only the new passphrase opens his profile, with everything in it.
    let bob_directory = ProfileDirectory::new(root.path().join("bob"));
    let bob_settings = || settings(&relays, "bob", &clock, THREE_HOPS);
    assert!(matches!(
        Messenger::open(bob_directory.clone(), Some("bob".into()), bob_settings()).await,
        Err(Error::Key(KeyError::WrongPassphrase))
    ));
    let bob = Messenger::open(bob_directory, Some("bob, renewed".into()), bob_settings())
        .await
        .unwrap();
    let mut bob_events = bob.subscribe();
    bob.start().await.unwrap();
    assert_eq!(texts(&mut bob_events, 2).await, vec!["two", "three"]);

    // Bob's history holds all three, once each; Alice's shows them delivered.
    let shown: Vec<Body> = bob
        .history(&alice_at_bob, HistoryFrom::Newest, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.content.body)
        .collect();
    assert_eq!(
        shown,
        ["three", "two", "one"]
            .map(|t| Body::Text(t.into()))
            .to_vec()
    );
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let statuses: Vec<MessageStatus> = alice
            .history(&bob_at_alice, HistoryFrom::Newest, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.status)
            .collect();
        if statuses.len() == 3 && statuses.iter().all(|s| *s == MessageStatus::Delivered) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "statuses: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    alice.shutdown().await.unwrap();
    bob.shutdown().await.unwrap();
}

/// A profile coming back to a backlog answers calls while `start` catches up: the backlog
/// is read a small batch at a time between calls, `start` answers once all of it is read,
/// and the events bring every message once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_answered_while_start_catches_up_with_a_backlog() {
    let root = people::tempdir("sotto-messenger-");
    let relays = network(root.path(), 3);
    let clock = Arc::new(TestClock::default());
    let Pair {
        alice,
        bob,
        bob_at_alice,
        alice_at_bob,
        ..
    } = started_pair(root.path(), &relays, &clock, THREE_HOPS).await;

    // Bob goes away; Alice writes enough for several of his catch-up's batches.
    bob.shutdown().await.unwrap();
    let backlog = 3 * CATCH_UP_BATCH + 5;
    let sent: Vec<String> = (1..=backlog).map(|n| format!("message {n}")).collect();
    for text in &sent {
        alice.send_text(&bob_at_alice, text).await.unwrap();
    }

    let bob = Messenger::open(
        ProfileDirectory::new(root.path().join("bob")),
        Some("bob".into()),
        settings(&relays, "bob", &clock, THREE_HOPS),
    )
    .await
    .unwrap();
    let mut bob_events = bob.subscribe();
    let starting = tokio::spawn({
        let bob = bob.clone();
        async move { bob.start().await }
    });
    // The catch-up has begun (its first batch is read)...
    let mut received = texts(&mut bob_events, 1).await;
    // ... and a call made now is answered before it ends.
    let meanwhile = bob
        .history(&alice_at_bob, HistoryFrom::Newest, backlog + 10)
        .await
        .unwrap();
    assert!(
        !starting.is_finished(),
        "the call waited for the whole catch-up ({} of {backlog} messages read when it was answered)",
        meanwhile.len()
    );
    assert!(meanwhile.len() < backlog, "{} messages", meanwhile.len());

    // `start` answers once the whole backlog is read: the history holds all of it.
    starting.await.unwrap().unwrap();
    let shown: Vec<Body> = bob
        .history(&alice_at_bob, HistoryFrom::Newest, backlog + 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.content.body)
        .collect();
    let expected: Vec<Body> = sent.iter().rev().map(|t| Body::Text(t.clone())).collect();
    assert_eq!(shown, expected);
    // Every message came as an event once, in order.
    received.extend(texts(&mut bob_events, backlog - 1).await);
    assert_eq!(received, sent);
    alice.shutdown().await.unwrap();
    bob.shutdown().await.unwrap();
}

/// The signed prekey an invitation hands out.
fn signed_pre_key(invitation: &Invitation) -> u32 {
    invitation.bundle().signed_pre_key_id().unwrap().into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prekeys_rotate_on_schedule_and_earlier_contacts_still_reach_the_profile() {
    let root = people::tempdir("sotto-messenger-");
    let mut relays = network(root.path(), 5);
    let clock = Arc::new(TestClock::default());
    let Pair {
        alice,
        bob,
        bob_at_alice,
        alice_at_bob,
        ..
    } = started_pair(root.path(), &relays, &clock, THREE_HOPS).await;
    // An invitation handed out now and accepted after the rotation.
    let early = alice.create_invitation().await.unwrap();

    // Eight days on (the relays' clocks too), a start replaces the week-old prekeys.
    let week = Duration::from_secs(8 * 24 * 3600);
    let move_clocks = |relays: &mut Vec<Relay>, ahead: Duration| {
        clock.advance(week);
        for relay in relays.iter_mut() {
            relay.restart_ahead(ahead);
        }
    };
    move_clocks(&mut relays, week);
    alice.shutdown().await.unwrap();
    let alice = Messenger::open(
        ProfileDirectory::new(root.path().join("alice")),
        Some("alice".into()),
        settings(&relays, "alice", &clock, THREE_HOPS),
    )
    .await
    .unwrap();
    let mut alice_events = alice.subscribe();
    alice.start().await.unwrap();
    let rotated = alice.create_invitation().await.unwrap();
    assert_ne!(
        signed_pre_key(&rotated),
        signed_pre_key(&early),
        "start replaced the week-old signed prekey"
    );
    assert_ne!(
        rotated.bundle().kyber_pre_key_id().unwrap(),
        early.bundle().kyber_pre_key_id().unwrap(),
        "and the Kyber prekey"
    );

    // A contact made before the rotation still reaches her.
    bob.send_text(&alice_at_bob, "a week later").await.unwrap();
    assert_eq!(texts(&mut alice_events, 1).await, vec!["a week later"]);
    alice.send_text(&bob_at_alice, "still here").await.unwrap();

    // So does one made from the invitation of before: the replaced prekeys are kept.
    let carol = create(
        root.path(),
        "carol",
        settings(&relays, "carol", &clock, THREE_HOPS),
    )
    .await;
    let mut carol_events = carol.subscribe();
    carol.start().await.unwrap();
    let alice_at_carol = carol.accept_invitation(&early).await.unwrap();
    let ready = Event::ContactReady {
        contact: alice_at_carol.clone(),
    };
    until(&mut carol_events, |e| *e == ready).await;
    carol
        .send_text(&alice_at_carol, "from an old invitation")
        .await
        .unwrap();
    assert_eq!(
        texts(&mut alice_events, 1).await,
        vec!["from an old invitation"]
    );

    // A week later again, the daily check replaces them while the messenger runs.
    move_clocks(&mut relays, week * 2);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let now = alice.create_invitation().await.unwrap();
        if signed_pre_key(&now) != signed_pre_key(&rotated) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no rotation a week after the last one"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for handle in [&alice, &bob, &carol] {
        handle.shutdown().await.unwrap();
    }
}

/// Attachments fed and read piece by piece (what the browser does with a `Blob`): the
/// bytes cross a part boundary, progress is published both ways, a wrong size or an
/// abandoned writer fails the message, and a text has no attachment to read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_stream_through_a_writer_and_a_reader() {
    let root = people::tempdir("sotto-messenger-");
    let relays = network(root.path(), 3);
    let clock = Arc::new(TestClock::default());
    let Pair {
        alice,
        bob,
        mut alice_events,
        mut bob_events,
        bob_at_alice,
        alice_at_bob,
    } = started_pair(root.path(), &relays, &clock, THREE_HOPS).await;

    // Two parts of ciphertext (a part is 4 MiB), fed in uneven pieces.
    let bytes: Vec<u8> = (0..4_500_000u32).map(|i| (i % 251) as u8).collect();
    let kind = AttachmentKind::VoiceClip {
        duration_ms: 4_200,
        codec: "opus".into(),
        waveform: vec![1, 5, 9, 5, 1],
    };
    let mut writer = alice
        .write_attachment(&bob_at_alice, bytes.len() as u64, kind.clone())
        .await
        .unwrap();
    let id = writer.message_id();
    for piece in bytes.chunks(1_000_003) {
        writer.write(piece).await.unwrap();
    }
    assert_eq!(writer.finish().await.unwrap(), id);
    let seen = until(&mut alice_events, |e| {
        matches!(e, Event::StatusChanged { message_ids, status: DeliveryStatus::Sent, .. } if message_ids.contains(&id))
    })
    .await;
    let uploaded: Vec<(u64, u64)> = seen
        .iter()
        .filter_map(|e| match e {
            Event::TransferProgress {
                message_id,
                direction: TransferDirection::Upload,
                done,
                total,
            } if *message_id == id => Some((*done, *total)),
            _ => None,
        })
        .collect();
    assert!(uploaded.len() >= 2, "{uploaded:?}");
    assert!(
        uploaded.windows(2).all(|w| w[0].0 <= w[1].0),
        "{uploaded:?}"
    );
    assert!(matches!(uploaded.last(), Some((done, total)) if done == total));

    let received = until(
        &mut bob_events,
        |e| matches!(e, Event::MessageReceived { content, .. } if content.id == id),
    )
    .await;
    assert!(received.iter().any(|e| matches!(
        e,
        Event::MessageReceived { content, .. }
            if matches!(&content.body, Body::VoiceClip(clip) if clip.codec == "opus" && clip.duration_ms == 4_200)
    )));
    let mut reader = bob.read_attachment(&alice_at_bob, &id).await.unwrap();
    assert_eq!(reader.size(), bytes.len() as u64);
    let mut opened = Vec::new();
    let mut pieces = 0;
    while let Some(piece) = reader.read().await.unwrap() {
        opened.extend_from_slice(&piece);
        pieces += 1;
    }
    assert_eq!(pieces, 2);
    assert!(opened == bytes, "the attachment read back differs");
    let downloaded = until(&mut bob_events, |e| {
        matches!(e, Event::TransferProgress { message_id, direction: TransferDirection::Download, done, total } if *message_id == id && done == total)
    })
    .await;
    assert!(!downloaded.is_empty());
    // Read once, the chunks are gone from the relay.
    let mut again = bob.read_attachment(&alice_at_bob, &id).await.unwrap();
    assert!(matches!(again.read().await, Err(Error::Transport(_))));

    // More bytes than declared: refused, and the message is failed.
    let mut writer = alice
        .write_attachment(&bob_at_alice, 10, kind.clone())
        .await
        .unwrap();
    let too_long = writer.message_id();
    assert!(matches!(
        writer.write(&[7; 11]).await,
        Err(Error::Attachment(AttachmentError::SizeMismatch {
            declared: 10,
            given: 11
        }))
    ));
    assert!(matches!(
        writer.write(&[7; 1]).await,
        Err(Error::Attachment(_))
    ));
    until_status(
        &mut alice_events,
        &HashSet::from([too_long]),
        DeliveryStatus::Failed,
    )
    .await;
    // Fewer bytes than declared at `finish`: failed too.
    let mut writer = alice
        .write_attachment(&bob_at_alice, 10, kind.clone())
        .await
        .unwrap();
    let too_short = writer.message_id();
    writer.write(&[7; 4]).await.unwrap();
    assert!(matches!(
        writer.finish().await,
        Err(Error::Attachment(AttachmentError::SizeMismatch {
            declared: 10,
            given: 4
        }))
    ));
    until_status(
        &mut alice_events,
        &HashSet::from([too_short]),
        DeliveryStatus::Failed,
    )
    .await;
    // A writer dropped half way: failed, nothing stored.
    let writer = alice
        .write_attachment(&bob_at_alice, 10, kind.clone())
        .await
        .unwrap();
    let dropped = writer.message_id();
    drop(writer);
    until_status(
        &mut alice_events,
        &HashSet::from([dropped]),
        DeliveryStatus::Failed,
    )
    .await;
    let history = alice
        .history(&bob_at_alice, HistoryFrom::Newest, 50)
        .await
        .unwrap();
    assert!(history.iter().any(|m| m.content.id == id));
    assert!(
        !history
            .iter()
            .any(|m| [too_long, too_short, dropped].contains(&m.content.id))
    );
    // Invalid fields are refused before anything is uploaded; a text has no attachment.
    let bad = AttachmentKind::Image {
        mime: "text/plain".into(),
        width: 1,
        height: 1,
        thumbnail: Vec::new(),
    };
    assert!(
        alice
            .write_attachment(&bob_at_alice, 10, bad)
            .await
            .is_err()
    );
    let text = bob
        .send_text(&alice_at_bob, "no attachment here")
        .await
        .unwrap();
    until(
        &mut alice_events,
        |e| matches!(e, Event::MessageReceived { content, .. } if content.id == text),
    )
    .await;
    assert!(matches!(
        alice.read_attachment(&bob_at_alice, &text).await,
        Err(Error::Attachment(AttachmentError::NotFound(_)))
    ));

    alice.shutdown().await.unwrap();
    bob.shutdown().await.unwrap();
}
