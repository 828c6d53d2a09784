//! Becoming contacts through an invitation, through the profile API a client drives (the
//! relay writes are simulated by handing packets over; the relay process is tested in
//! `relay-server`): invitation → acceptance → answer on a fresh queue → messages both ways,
//! held messages released, and every misuse refused with nothing changed.

mod common;

use common::{block_on, memory_profile, now, shown_texts};
use sotto_core::contacts::{ContactId, Event};
use sotto_core::content::Body;
use sotto_core::invitation::{Invitation, InvitationError};
use sotto_core::relay::OwnQueue;
use sotto_core::relay::{QueueKeyPair, RecipientId, RelayAddress, SenderId};
use sotto_core::store::{MemoryStore, Store};
use sotto_core::{Error, Profile};

fn relay(n: u8) -> RelayAddress {
    RelayAddress::parse(&format!(
        "sotto://AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8@relay{n}.example.org:7443"
    ))
    .unwrap()
}

/// A queue as the client would get it from `POST /v1/queues`.
fn own_queue(n: u8) -> OwnQueue {
    let mut rng = rand::rng();
    OwnQueue {
        relay: relay(n),
        recipient_id: RecipientId::random(&mut rng),
        recipient_key: QueueKeyPair::generate(&mut rng),
        sender_id: SenderId::random(&mut rng),
        sender_key: QueueKeyPair::generate(&mut rng),
    }
}

fn send(profile: &mut Profile<MemoryStore>, to: &ContactId, text: &str) -> Option<Vec<u8>> {
    block_on(profile.send(to, Body::Text(text.into()), now(), &mut rand::rng()))
        .unwrap()
        .packet
}

fn receive(profile: &Profile<MemoryStore>, from: &ContactId, packet: &[u8]) -> Vec<Event> {
    block_on(profile.receive(from, packet, now(), &mut rand::rng())).unwrap()
}

#[test]
fn two_strangers_become_contacts_and_talk_both_ways() {
    let mut rng = rand::rng();
    let mut alice = memory_profile();
    let mut bob = memory_profile();

    // 1. Alice invites, on her queue QA.
    let qa = own_queue(1);
    let invitation = block_on(alice.create_invitation(&qa, &mut rng)).unwrap();
    assert_eq!(
        block_on(alice.queue_contact(&qa.recipient_id)).unwrap(),
        None
    );

    // 2. Bob accepts from the link, reading from his queue QB.
    let qb = own_queue(2);
    let link = Invitation::from_uri(&invitation.to_uri()).unwrap();
    let accepted = block_on(bob.accept_invitation(&link, &qb, "Bob", now(), &mut rng)).unwrap();
    assert_eq!(accepted.destination, qa.capability());
    let alice_at_bob = accepted.contact.clone();
    assert!(block_on(bob.contact(&alice_at_bob)).unwrap().identity == alice.identity().public());
    // Until Alice answers, Bob's only destination is the invitation's queue (for the
    // acceptance, which his outbox re-sends until answered).
    assert_eq!(
        block_on(bob.send_queue(&alice_at_bob)).unwrap(),
        Some(qa.capability())
    );
    // Bob writes before Alice answered: held, not lost.
    assert_eq!(send(&mut bob, &alice_at_bob, "are you there?"), None);

    // 3. Alice answers from the invitation queue, with a fresh queue QA2 for Bob.
    let qa2 = own_queue(3);
    let joined = block_on(alice.answer_invitation(
        &qa.recipient_id,
        &accepted.packet,
        &qa2,
        "Alice",
        now(),
        &mut rng,
    ))
    .unwrap();
    assert_eq!(joined.display_name, "Bob");
    assert_eq!(joined.destination, qb.capability());
    let bob_at_alice = joined.contact.clone();
    assert_eq!(
        block_on(alice.contact(&bob_at_alice)).unwrap().identity,
        bob.identity().public()
    );
    assert_eq!(
        block_on(alice.send_queue(&bob_at_alice)).unwrap(),
        Some(qb.capability())
    );
    assert_eq!(
        block_on(alice.queue_contact(&qa2.recipient_id)).unwrap(),
        Some(bob_at_alice.clone())
    );

    // 4. Bob reads the answer from QB: the contact is complete, his held message flows.
    assert_eq!(
        block_on(bob.queue_contact(&qb.recipient_id)).unwrap(),
        Some(alice_at_bob.clone())
    );
    let events = receive(&bob, &alice_at_bob, &joined.packet);
    assert!(
        events.contains(&Event::Accepted(alice_at_bob.clone())),
        "{events:?}"
    );
    assert_eq!(
        block_on(bob.send_queue(&alice_at_bob)).unwrap(),
        Some(qa2.capability())
    );
    let due = block_on(bob.due_packets(now(), &mut rng)).unwrap();
    assert_eq!(due.len(), 1, "the held message is due at once");
    assert_eq!(
        shown_texts(&receive(&alice, &bob_at_alice, &due[0].packet)),
        ["are you there?"]
    );

    // 5. Both ways from now on.
    let packet = send(&mut alice, &bob_at_alice, "yes, hello Bob").unwrap();
    assert_eq!(
        shown_texts(&receive(&bob, &alice_at_bob, &packet)),
        ["yes, hello Bob"]
    );
    let packet = send(&mut bob, &alice_at_bob, "hello Alice").unwrap();
    assert_eq!(
        shown_texts(&receive(&alice, &bob_at_alice, &packet)),
        ["hello Alice"]
    );
    assert!(block_on(alice.is_post_quantum(&bob.identity().public(), now())).unwrap());
    assert!(block_on(bob.is_post_quantum(&alice.identity().public(), now())).unwrap());

    // The invitation is used up: Carol gets nowhere with the same link, and Bob cannot
    // accept twice.
    let mut carol = memory_profile();
    let carols =
        block_on(carol.accept_invitation(&link, &own_queue(4), "Carol", now(), &mut rng)).unwrap();
    let refused = block_on(alice.answer_invitation(
        &qa.recipient_id,
        &carols.packet,
        &own_queue(5),
        "Alice",
        now(),
        &mut rng,
    ));
    assert!(matches!(
        refused,
        Err(Error::Invitation(InvitationError::AlreadyUsed))
    ));
    assert!(matches!(
        block_on(bob.accept_invitation(&link, &own_queue(6), "Bob", now(), &mut rng)),
        Err(Error::Invitation(InvitationError::AlreadyUsed))
    ));
    assert_eq!(block_on(alice.contacts()).unwrap().len(), 1);
    // After the client deleted the invitation queue on the relay, the profile forgets it.
    block_on(alice.forget_queue(&qa.recipient_id)).unwrap();
    assert!(matches!(
        block_on(alice.queue_contact(&qa.recipient_id)),
        Err(Error::UnknownQueue(_))
    ));
}

/// Everything Alice's store holds that an answer would change.
fn alice_state(alice: &Profile<MemoryStore>) -> (usize, usize, Vec<String>) {
    let store = alice.store();
    (
        block_on(store.contacts()).unwrap().len(),
        block_on(store.pre_key_ids()).unwrap().len(),
        block_on(store.receive_queues())
            .unwrap()
            .iter()
            .map(|q| format!("{q:?}"))
            .collect(),
    )
}

#[test]
fn a_bad_acceptance_is_refused_and_changes_nothing() {
    let mut rng = rand::rng();
    let mut alice = memory_profile();
    let qa = own_queue(1);
    let invitation = block_on(alice.create_invitation(&qa, &mut rng)).unwrap();
    let mut bob = memory_profile();
    let accepted =
        block_on(bob.accept_invitation(&invitation, &own_queue(2), "Bob", now(), &mut rng))
            .unwrap();
    let before = alice_state(&alice);

    // Altered, truncated, or no packet at all.
    let mut altered = accepted.packet.clone();
    altered[100] ^= 1;
    for bad in [altered, accepted.packet[..100].to_vec(), vec![0; 4096]] {
        assert!(
            block_on(alice.answer_invitation(
                &qa.recipient_id,
                &bad,
                &own_queue(3),
                "Alice",
                now(),
                &mut rng
            ))
            .is_err()
        );
        assert_eq!(alice_state(&alice), before);
    }

    // A valid first message, but from a bundle of another invitation.
    let other_queue = own_queue(7);
    let other = block_on(alice.create_invitation(&other_queue, &mut rng)).unwrap();
    let before = alice_state(&alice);
    let mut dave = memory_profile();
    let wrong =
        block_on(dave.accept_invitation(&other, &own_queue(8), "Dave", now(), &mut rng)).unwrap();
    assert!(matches!(
        block_on(alice.answer_invitation(
            &qa.recipient_id,
            &wrong.packet,
            &own_queue(9),
            "Alice",
            now(),
            &mut rng
        )),
        Err(Error::InvalidCiphertext(_))
    ));
    assert_eq!(alice_state(&alice), before);

    // An ordinary message on a contact queue is not an acceptance; an unknown queue is
    // not Alice's.
    assert!(matches!(
        block_on(alice.answer_invitation(
            &RecipientId::random(&mut rng),
            &accepted.packet,
            &own_queue(10),
            "Alice",
            now(),
            &mut rng
        )),
        Err(Error::UnknownQueue(_))
    ));

    // The real acceptance still works afterwards.
    block_on(alice.answer_invitation(
        &qa.recipient_id,
        &accepted.packet,
        &own_queue(11),
        "Alice",
        now(),
        &mut rng,
    ))
    .unwrap();
}

/// A contact accepting a second invitation (from a copy of its profile made before it knew
/// the inviter) is refused: no second contact for one identity, the invitation unused.
#[cfg(feature = "sqlcipher")]
#[test]
fn an_acceptance_from_a_known_contact_is_refused_and_leaves_the_invitation_unused() {
    use sotto_core::store::{Argon2Params, ProfileDirectory, Protection};
    let mut rng = rand::rng();
    let root = tempfile::tempdir().unwrap();
    let bob_dir = ProfileDirectory::new(root.path().join("bob"));
    let store = bob_dir
        .create(Protection::Passphrase {
            passphrase: "bob",
            params: Argon2Params::new(8 * 1024, 1, 1).unwrap(),
        })
        .unwrap();
    let mut bob = block_on(Profile::create(store, None, now(), &mut rng)).unwrap();
    // Bob's profile as it was before he met Alice.
    let copy_dir = ProfileDirectory::new(root.path().join("bob-copy"));
    std::fs::create_dir(copy_dir.root()).unwrap();
    for entry in std::fs::read_dir(bob_dir.root()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, copy_dir.root().join(path.file_name().unwrap())).unwrap();
        }
    }

    let mut alice = memory_profile();
    let qa = own_queue(1);
    let first = block_on(alice.create_invitation(&qa, &mut rng)).unwrap();
    let accepted =
        block_on(bob.accept_invitation(&first, &own_queue(2), "Bob", now(), &mut rng)).unwrap();
    block_on(alice.answer_invitation(
        &qa.recipient_id,
        &accepted.packet,
        &own_queue(3),
        "Alice",
        now(),
        &mut rng,
    ))
    .unwrap();
    drop(bob);

    let mut bob_again = block_on(Profile::load(copy_dir.open(Some("bob")).unwrap())).unwrap();
    let second_queue = own_queue(4);
    let second = block_on(alice.create_invitation(&second_queue, &mut rng)).unwrap();
    let again =
        block_on(bob_again.accept_invitation(&second, &own_queue(5), "Bob", now(), &mut rng))
            .unwrap();
    let before = alice_state(&alice);
    assert!(matches!(
        block_on(alice.answer_invitation(
            &second_queue.recipient_id,
            &again.packet,
            &own_queue(6),
            "Alice",
            now(),
            &mut rng,
        )),
        Err(Error::Invitation(InvitationError::KnownContact))
    ));
    assert_eq!(alice_state(&alice), before, "nothing changed");
    assert_eq!(
        block_on(alice.queue_contact(&second_queue.recipient_id)).unwrap(),
        None,
        "the invitation is still open"
    );
}

/// The acceptance and the answer are in the outboxes: a lost one is re-sent at its retry
/// time until acknowledged (the acceptance by the answer, the answer by a receipt), and
/// nothing held flows before the answer.
#[test]
fn a_lost_acceptance_or_answer_is_re_sent_until_acknowledged() {
    use sotto_core::content::{Receipt, ReceiptKind};
    let mut rng = rand::rng();
    let mut alice = memory_profile();
    let mut bob = memory_profile();
    let qa = own_queue(1);
    let invitation = block_on(alice.create_invitation(&qa, &mut rng)).unwrap();
    let accepted =
        block_on(bob.accept_invitation(&invitation, &own_queue(2), "Bob", now(), &mut rng))
            .unwrap();
    let alice_at_bob = accepted.contact.clone();
    assert_eq!(send(&mut bob, &alice_at_bob, "held until answered"), None);
    // The acceptance is lost on its way. Nothing is due before its retry time ...
    assert!(
        block_on(bob.due_packets(now(), &mut rng))
            .unwrap()
            .is_empty()
    );
    // ... then only the acceptance is, again.
    let later = now() + std::time::Duration::from_secs(31);
    let due = block_on(bob.due_packets(later, &mut rng)).unwrap();
    assert_eq!(due.len(), 1, "only the acceptance: {due:?}");
    assert_eq!(
        block_on(bob.send_queue(&alice_at_bob)).unwrap(),
        Some(qa.capability())
    );

    let qa2 = own_queue(3);
    let joined = block_on(alice.answer_invitation(
        &qa.recipient_id,
        &due[0].packet,
        &qa2,
        "Alice",
        now(),
        &mut rng,
    ))
    .unwrap();
    let bob_at_alice = joined.contact.clone();
    // The answer is lost too: Alice's outbox re-sends it.
    let due = block_on(alice.due_packets(later, &mut rng)).unwrap();
    assert_eq!(due.len(), 1, "the answer again");
    let events = receive(&bob, &alice_at_bob, &due[0].packet);
    assert!(events.contains(&Event::Accepted(alice_at_bob.clone())));
    let answer_id = events
        .iter()
        .find_map(|e| match e {
            Event::Message(content) => Some(content.id),
            _ => None,
        })
        .expect("the answer is a message");

    // Answered: Bob's acceptance leaves his outbox, his held message flows.
    let much_later = now() + std::time::Duration::from_secs(2 * 3600);
    let due = block_on(bob.due_packets(much_later, &mut rng)).unwrap();
    assert_eq!(due.len(), 1, "only the held message: {due:?}");
    assert_eq!(
        shown_texts(&receive(&alice, &bob_at_alice, &due[0].packet)),
        ["held until answered"]
    );
    // Bob's receipt for the answer empties Alice's outbox.
    let receipt = block_on(bob.send(
        &alice_at_bob,
        Body::Receipt(Receipt {
            kind: ReceiptKind::Delivered,
            message_ids: vec![answer_id],
        }),
        now(),
        &mut rng,
    ))
    .unwrap()
    .packet
    .unwrap();
    receive(&alice, &bob_at_alice, &receipt);
    assert!(
        block_on(alice.due_packets(much_later, &mut rng))
            .unwrap()
            .is_empty()
    );
    assert!(block_on(alice.store().outbox()).unwrap().is_empty());
}
