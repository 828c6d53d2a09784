//! The conversation layer: contacts, verification with held sending on a key change, the
//! outbox with receipts and retries, and in-order delivery from the store.

mod common;

use std::time::{Duration, SystemTime};

use common::{block_on, now, shown_texts};
use sotto_core::Error;
use sotto_core::contacts::{ContactId, Event, retry_delay};
use sotto_core::content::{Body, Receipt, ReceiptKind};
use sotto_core::safety::Comparison;
use sotto_core::store::{MemoryStore, MessageDirection, MessageStatus, Store};
use sotto_core::{Profile, PublicIdentity};

struct Person {
    profile: Profile<MemoryStore>,
}

impl Person {
    fn new() -> Self {
        Self {
            profile: block_on(Profile::create(
                MemoryStore::new(),
                None,
                now(),
                &mut rand::rng(),
            ))
            .unwrap(),
        }
    }

    fn public(&self) -> PublicIdentity {
        self.profile.identity().public()
    }

    fn add(&self, other: &Person) -> ContactId {
        block_on(self.profile.add_contact(&other.public(), None)).unwrap()
    }

    fn send_text(
        &mut self,
        to: &ContactId,
        text: &str,
        at: SystemTime,
    ) -> (sotto_core::content::MessageId, Option<Vec<u8>>) {
        let out = block_on(
            self.profile
                .send(to, Body::Text(text.into()), at, &mut rand::rng()),
        )
        .unwrap();
        (out.id, out.packet)
    }

    fn receive(&self, from: &ContactId, packet: &[u8], at: SystemTime) -> Vec<Event> {
        block_on(self.profile.receive(from, packet, at, &mut rand::rng())).unwrap()
    }
}

/// Alice and Bob, each with the other as a contact and a session from Alice's side.
fn alice_and_bob() -> (Person, ContactId, Person, ContactId) {
    let alice = Person::new();
    let bob = Person::new();
    let bundle = block_on(bob.profile.prekey_bundle(&mut rand::rng())).unwrap();
    block_on(
        alice
            .profile
            .start_session(&bundle, now(), &mut rand::rng()),
    )
    .unwrap();
    let bob_at_alice = alice.add(&bob);
    let alice_at_bob = bob.add(&alice);
    (alice, bob_at_alice, bob, alice_at_bob)
}

#[test]
fn a_receipt_empties_the_outbox_and_marks_the_message_delivered() {
    let (mut alice, bob_c, mut bob, alice_c) = alice_and_bob();
    let (id, packet) = alice.send_text(&bob_c, "hello bob", now());
    assert_eq!(block_on(alice.profile.store().outbox()).unwrap().len(), 1);
    let events = bob.receive(&alice_c, &packet.unwrap(), now());
    assert_eq!(shown_texts(&events), ["hello bob"]);

    let receipt = Body::Receipt(Receipt {
        kind: ReceiptKind::Delivered,
        message_ids: vec![id],
    });
    let out = block_on(bob.profile.send(&alice_c, receipt, now(), &mut rand::rng())).unwrap();
    let events = alice.receive(&bob_c, &out.packet.unwrap(), now());
    assert!(events.contains(&Event::Receipt {
        kind: ReceiptKind::Delivered,
        message_ids: vec![id]
    }));
    assert!(block_on(alice.profile.store().outbox()).unwrap().is_empty());
    assert!(
        block_on(bob.profile.store().outbox()).unwrap().is_empty(),
        "a receipt is sent once, never queued for acknowledgement"
    );
    let history = block_on(alice.profile.history(&bob_c, 10)).unwrap();
    let (direction, status, content) = &history[0];
    assert_eq!(
        (*direction, *status),
        (MessageDirection::Outgoing, MessageStatus::Delivered)
    );
    assert_eq!(content.id, id);
}

#[test]
fn the_outbox_resends_after_the_backoff_and_the_message_is_shown_once() {
    let (mut alice, bob_c, bob, alice_c) = alice_and_bob();
    let (_, lost) = alice.send_text(&bob_c, "are you there?", now());
    assert!(
        block_on(alice.profile.due_packets(now(), &mut rand::rng()))
            .unwrap()
            .is_empty()
    );
    let later = now() + retry_delay(1) + Duration::from_secs(1);
    let due = block_on(alice.profile.due_packets(later, &mut rand::rng())).unwrap();
    assert_eq!(due.len(), 1, "one retry after the first backoff");
    assert_eq!(
        shown_texts(&bob.receive(&alice_c, &due[0].packet, later)),
        ["are you there?"]
    );
    // The lost original turns up late: nothing new to show, only a duplicate to
    // acknowledge again.
    let events = bob.receive(&alice_c, &lost.unwrap(), later);
    assert!(shown_texts(&events).is_empty());
    assert!(matches!(events[..], [Event::Duplicate(id)] if id == due[0].message_id));
    // The next retry waits twice as long.
    let soon = later + retry_delay(1);
    assert!(
        block_on(alice.profile.due_packets(soon, &mut rand::rng()))
            .unwrap()
            .is_empty()
    );
    assert_eq!(retry_delay(2), retry_delay(1) * 2);
}

#[test]
fn retries_come_in_sending_order_and_are_shown_as_they_arrive() {
    let (mut alice, bob_c, bob, alice_c) = alice_and_bob();
    let texts: Vec<String> = (1..=12).map(|i| format!("lost message {i}")).collect();
    for text in &texts {
        alice.send_text(&bob_c, text, now());
    }
    let later = now() + retry_delay(1) + Duration::from_secs(1);
    let due = block_on(alice.profile.due_packets(later, &mut rand::rng())).unwrap();
    assert_eq!(due.len(), texts.len());
    // Message ids are random, so only ordering by sequence number gives this order.
    for (packet, text) in due.iter().zip(&texts) {
        assert_eq!(
            shown_texts(&bob.receive(&alice_c, &packet.packet, later)),
            [text.as_str()],
            "each retry is shown at once"
        );
    }
}

#[test]
fn messages_arriving_out_of_order_are_shown_in_order_from_the_store() {
    let (mut alice, bob_c, bob, alice_c) = alice_and_bob();
    let packets: Vec<Vec<u8>> = ["one", "two", "three"]
        .iter()
        .map(|t| alice.send_text(&bob_c, t, now()).1.unwrap())
        .collect();
    assert!(shown_texts(&bob.receive(&alice_c, &packets[2], now())).is_empty());
    assert_eq!(
        shown_texts(&bob.receive(&alice_c, &packets[0], now())),
        ["one"]
    );
    assert_eq!(
        shown_texts(&bob.receive(&alice_c, &packets[1], now())),
        ["two", "three"]
    );
    let history = block_on(bob.profile.history(&alice_c, 10)).unwrap();
    assert_eq!(history.len(), 3);
    assert!(history.iter().all(|(_, s, _)| *s == MessageStatus::Shown));
}

#[test]
fn safety_numbers_verify_a_contact() {
    let (alice, bob_c, bob, alice_c) = alice_and_bob();
    let bobs_code = block_on(bob.profile.safety_number(&alice_c)).unwrap();
    let verdict = block_on(
        alice
            .profile
            .compare_safety_code(&bob_c, bobs_code.scannable()),
    )
    .unwrap();
    assert_eq!(verdict, Comparison::Match);
    assert!(!block_on(alice.profile.contact(&bob_c)).unwrap().verified);
    block_on(alice.profile.mark_verified(&bob_c)).unwrap();
    assert!(block_on(alice.profile.contact(&bob_c)).unwrap().verified);

    let stranger = Person::new();
    let strangers_contact = stranger.add(&bob);
    let their_code = block_on(stranger.profile.safety_number(&strangers_contact)).unwrap();
    let verdict = block_on(
        alice
            .profile
            .compare_safety_code(&bob_c, their_code.scannable()),
    )
    .unwrap();
    assert_eq!(verdict, Comparison::Mismatch);
}

#[test]
fn a_held_message_is_sent_after_the_new_key_is_accepted_and_not_before() {
    let (mut alice, bob_c, mut bob, alice_c) = alice_and_bob();
    let (old_id, packet) = alice.send_text(&bob_c, "hi from my old phone", now());
    bob.receive(&alice_c, &packet.unwrap(), now());
    block_on(bob.profile.mark_verified(&alice_c)).unwrap();

    // Alice reinstalls: a new identity, a new session with Bob, a first message.
    let mut new_alice = Person::new();
    let bundle = block_on(bob.profile.prekey_bundle(&mut rand::rng())).unwrap();
    block_on(
        new_alice
            .profile
            .start_session(&bundle, now(), &mut rand::rng()),
    )
    .unwrap();
    let bob_at_new_alice = new_alice.add(&bob);
    let (_, first) = new_alice.send_text(&bob_at_new_alice, "new phone, same alice", now());
    let first = first.unwrap();

    let events = bob.receive(&alice_c, &first, now());
    assert_eq!(
        events,
        [Event::IdentityKeyChanged {
            contact: alice_c.clone(),
            new_identity: new_alice.public()
        }]
    );
    let flagged = block_on(bob.profile.contact(&alice_c)).unwrap();
    assert_eq!(flagged.pending_identity, Some(new_alice.public()));
    assert_eq!(
        flagged.identity,
        alice.public(),
        "the old key stays trusted until accepted"
    );
    assert!(matches!(
        block_on(bob.profile.mark_verified(&alice_c)),
        Err(Error::IdentityKeyPending(_))
    ));

    // Bob writes: held, not sent, not dropped.
    let (held_id, packet) = bob.send_text(&alice_c, "is that really you?", now());
    assert_eq!(packet, None, "nothing is sent to an unaccepted key");
    let much_later = now() + Duration::from_secs(7200);
    assert!(
        block_on(bob.profile.due_packets(much_later, &mut rand::rng()))
            .unwrap()
            .is_empty()
    );
    let stored = block_on(bob.profile.store().load_message(
        alice_c.as_str(),
        MessageDirection::Outgoing,
        &held_id.to_bytes(),
    ))
    .unwrap()
    .unwrap();
    assert_eq!(stored.status, MessageStatus::Held);
    // Bob reads her old message: the read receipt is held too.
    let receipt = Body::Receipt(Receipt {
        kind: ReceiptKind::Read,
        message_ids: vec![old_id],
    });
    let held_receipt =
        block_on(bob.profile.send(&alice_c, receipt, now(), &mut rand::rng())).unwrap();
    assert_eq!(held_receipt.packet, None);

    // Bob accepts the new key (after comparing safety numbers in person).
    block_on(bob.profile.accept_identity_key(&alice_c)).unwrap();
    let accepted = block_on(bob.profile.contact(&alice_c)).unwrap();
    assert_eq!(accepted.identity, new_alice.public());
    assert!(!accepted.verified, "a new key starts unverified");
    // The kept packet is received again and now opens, making Bob's session with her.
    assert_eq!(
        shown_texts(&bob.receive(&alice_c, &first, now())),
        ["new phone, same alice"]
    );

    let due = block_on(bob.profile.due_packets(now(), &mut rand::rng())).unwrap();
    let mut ids: Vec<_> = due.iter().map(|packet| packet.message_id).collect();
    ids.sort();
    let mut expected = [held_id, held_receipt.id];
    expected.sort();
    assert_eq!(ids, expected, "both go out now");
    let text = due
        .iter()
        .find(|packet| packet.message_id == held_id)
        .unwrap();
    let events = new_alice.receive(&bob_at_new_alice, &text.packet, now());
    assert_eq!(shown_texts(&events), ["is that really you?"]);
    // The message waits for its delivery receipt and is retried; the receipt, which no
    // receipt ever acknowledges, went out once and left the outbox.
    let retried = block_on(bob.profile.due_packets(much_later, &mut rand::rng())).unwrap();
    let ids: Vec<_> = retried.iter().map(|packet| packet.message_id).collect();
    assert_eq!(ids, [held_id]);
    let outbox = block_on(bob.profile.store().outbox()).unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].message_id, held_id.to_bytes());
}

#[test]
fn unknown_contacts_are_typed_errors() {
    let mut alice = Person::new();
    let nobody = ContactId::new("0000");
    assert!(matches!(
        block_on(alice.profile.contact(&nobody)),
        Err(Error::UnknownContact(_))
    ));
    let err = block_on(alice.profile.send(
        &nobody,
        Body::Text("x".into()),
        now(),
        &mut rand::rng(),
    ))
    .unwrap_err();
    assert!(matches!(err, Error::UnknownContact(_)));
    assert!(matches!(
        block_on(alice.profile.accept_identity_key(&nobody)),
        Err(Error::UnknownContact(_))
    ));
}

/// The texts of a conversation's history, oldest first.
fn history_texts(person: &Person, contact: &ContactId) -> Vec<String> {
    let mut texts: Vec<String> = block_on(person.profile.history(contact, 100))
        .unwrap()
        .into_iter()
        .filter_map(|(_, _, content)| match content.body {
            Body::Text(text) => Some(text),
            _ => None,
        })
        .collect();
    texts.reverse();
    texts
}

#[test]
fn a_deleted_message_stays_gone_and_what_the_contact_waits_for_still_arrives() {
    let (mut alice, bob_c, mut bob, alice_c) = alice_and_bob();
    let (one, first) = alice.send_text(&bob_c, "one", now());
    let (two, _lost) = alice.send_text(&bob_c, "two", now());
    bob.receive(&alice_c, &first.unwrap(), now());

    // Bob deletes a message he received: gone from his history, its content wiped.
    block_on(bob.profile.delete_message(&alice_c, &one)).unwrap();
    assert!(history_texts(&bob, &alice_c).is_empty());
    let stored = block_on(bob.profile.store().load_message(
        alice_c.as_str(),
        MessageDirection::Incoming,
        &one.to_bytes(),
    ))
    .unwrap()
    .expect("a tombstone stays");
    assert!(stored.deleted && stored.frame.is_empty());
    block_on(bob.profile.delete_message(&alice_c, &one)).expect("deleting twice does nothing");

    // Alice deletes "two" while it is still in her outbox: it leaves her history, but
    // Bob waits for its sequence number, so the outbox still delivers it.
    block_on(alice.profile.delete_message(&bob_c, &two)).unwrap();
    assert_eq!(history_texts(&alice, &bob_c), ["one"]);
    let later = now() + retry_delay(1) + Duration::from_secs(1);
    let due = block_on(alice.profile.due_packets(later, &mut rand::rng())).unwrap();
    assert_eq!(due.len(), 2, "both are re-sent, the deleted one included");
    // The re-sent copy of the message Bob deleted is not shown again.
    let events = bob.receive(&alice_c, &due[0].packet, later);
    assert!(matches!(events[..], [Event::Duplicate(id)] if id == one));
    assert_eq!(
        shown_texts(&bob.receive(&alice_c, &due[1].packet, later)),
        ["two"]
    );
    assert_eq!(history_texts(&bob, &alice_c), ["two"]);

    // The receipt takes "two" out of Alice's outbox; it stays deleted and its content
    // goes now.
    let receipt = Body::Receipt(Receipt {
        kind: ReceiptKind::Read,
        message_ids: vec![one, two],
    });
    let out = block_on(bob.profile.send(&alice_c, receipt, later, &mut rand::rng())).unwrap();
    alice.receive(&bob_c, &out.packet.unwrap(), later);
    assert!(block_on(alice.profile.store().outbox()).unwrap().is_empty());
    assert_eq!(history_texts(&alice, &bob_c), ["one"]);
    let stored = block_on(alice.profile.store().load_message(
        bob_c.as_str(),
        MessageDirection::Outgoing,
        &two.to_bytes(),
    ))
    .unwrap()
    .unwrap();
    assert!(stored.deleted && stored.frame.is_empty());
    assert_eq!(stored.status, MessageStatus::Read);
}

#[test]
fn deleting_what_is_not_shown_is_a_typed_error() {
    let (mut alice, bob_c, bob, alice_c) = alice_and_bob();
    let (_, first) = alice.send_text(&bob_c, "first", now());
    let (early, second) = alice.send_text(&bob_c, "second", now());
    bob.receive(&alice_c, &second.unwrap(), now());
    assert!(
        matches!(
            block_on(bob.profile.delete_message(&alice_c, &early)),
            Err(Error::UnknownMessage(_))
        ),
        "an early arrival is not shown yet, so it cannot be deleted"
    );
    let nothing = sotto_core::content::MessageId::random();
    assert!(matches!(
        block_on(bob.profile.delete_message(&alice_c, &nothing)),
        Err(Error::UnknownMessage(_))
    ));
    assert!(matches!(
        block_on(bob.profile.delete_message(&ContactId::new("0000"), &early)),
        Err(Error::UnknownContact(_))
    ));
    // Nothing was lost: the early arrival is shown once its predecessor comes.
    assert_eq!(
        shown_texts(&bob.receive(&alice_c, &first.unwrap(), now())),
        ["first", "second"]
    );
}

#[test]
fn contact_ids_parse_in_the_form_they_are_made() {
    let (_alice, bob_at_alice, _bob, _) = alice_and_bob();
    let made = bob_at_alice.as_str();
    assert_eq!(ContactId::parse(made), Some(bob_at_alice.clone()));
    assert_eq!(
        ContactId::parse(&made.to_uppercase()),
        Some(bob_at_alice.clone()),
        "either case, kept lowercase"
    );
    for malformed in ["", "bob", &made[1..], &format!("{made}0"), &"g".repeat(32)] {
        assert_eq!(ContactId::parse(malformed), None, "{malformed:?}");
    }
}
