//! A whole conversation through the conversation layer an application uses
//! (`Profile::send`, `receive`, receipts, `due_packets`): PQXDH start, then 500 messages
//! each way with reordering, loss with re-sending by the outbox, and duplicate delivery. It
//! runs once over the memory store and once over SQLCipher profile directories, so ordering,
//! deduplication and the outbox are proven on the store users keep.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use common::{block_on, now};
use rand::seq::SliceRandom;
use sotto_core::Profile;
use sotto_core::contacts::{ContactId, Event};
use sotto_core::content::{Body, MAX_RECEIPT_IDS, MessageId, Receipt, ReceiptKind};
use sotto_core::store::{MemoryStore, Store};

const ROUNDS: usize = 10;
const PER_ROUND: usize = 50;
/// Rounds whose batch is delivered in random order: 4 × 50 = 200 shuffled per direction.
const SHUFFLED_ROUNDS: [usize; 4] = [1, 4, 6, 9];
/// Positions of each batch lost on the way, and positions that arrive twice.
const LOST: [usize; 3] = [3, 17, 41];
const DOUBLED: [usize; 3] = [5, 22, 30];

/// One side of the conversation: a profile, the other side as a contact, and what it showed.
struct Side<S: Store> {
    name: &'static str,
    profile: Profile<S>,
    peer: Option<ContactId>,
    shown: Vec<String>,
    duplicates: usize,
}

impl<S: Store> Side<S> {
    fn new(name: &'static str, store: S) -> Self {
        let profile =
            block_on(Profile::create(store, None, now(), &mut rand::rng())).expect("profile");
        Self {
            name,
            profile,
            peer: None,
            shown: Vec::new(),
            duplicates: 0,
        }
    }

    fn peer(&self) -> &ContactId {
        self.peer.as_ref().expect("contact added")
    }

    /// Receives one packet and records what it showed; returns the ids of the text
    /// messages it now holds (shown or early), to acknowledge.
    fn receive(&mut self, packet: &[u8], at: SystemTime) -> Vec<MessageId> {
        let peer = self.peer().clone();
        let events = block_on(self.profile.receive(&peer, packet, at, &mut rand::rng()))
            .unwrap_or_else(|e| panic!("{} receives: {e}", self.name));
        let mut shown = Vec::new();
        for event in events {
            match event {
                Event::Message(content) => {
                    if let Body::Text(text) = content.body {
                        self.shown.push(text);
                        shown.push(content.id);
                    }
                }
                Event::Early(id) => shown.push(id),
                Event::Duplicate(_) => self.duplicates += 1,
                Event::Receipt { .. } => {}
                other => panic!("{}: unexpected {other:?}", self.name),
            }
        }
        shown
    }

    fn send_text(&mut self, text: String, at: SystemTime) -> Vec<u8> {
        let peer = self.peer().clone();
        block_on(
            self.profile
                .send(&peer, Body::Text(text), at, &mut rand::rng()),
        )
        .expect("send")
        .packet
        .expect("not held")
    }

    fn receipt_packets(&mut self, ids: &[MessageId], at: SystemTime) -> Vec<Vec<u8>> {
        let peer = self.peer().clone();
        ids.chunks(MAX_RECEIPT_IDS)
            .map(|chunk| {
                let receipt = Body::Receipt(Receipt {
                    kind: ReceiptKind::Delivered,
                    message_ids: chunk.to_vec(),
                });
                block_on(self.profile.send(&peer, receipt, at, &mut rand::rng()))
                    .expect("receipt")
                    .packet
                    .expect("not held")
            })
            .collect()
    }
}

/// One batch from `from` to `to`: losses, duplicates, optional shuffling; `to` acknowledges
/// what it showed, and `from`'s outbox re-sends the rest once the backoff has passed; then
/// the lost originals turn up late after all.
fn send_batch<S: Store>(
    from: &mut Side<S>,
    to: &mut Side<S>,
    round: usize,
    shuffle: bool,
    clock: &mut SystemTime,
) {
    let packets: Vec<Vec<u8>> = (0..PER_ROUND)
        .map(|i| from.send_text(format!("{} says {i} in round {round}", from.name), *clock))
        .collect();
    let mut deliveries: Vec<usize> = (0..PER_ROUND).filter(|i| !LOST.contains(i)).collect();
    deliveries.extend(DOUBLED);
    if shuffle {
        deliveries.shuffle(&mut rand::rng());
    }
    let mut acknowledged = Vec::new();
    for i in deliveries {
        acknowledged.extend(to.receive(&packets[i], *clock));
    }
    for receipt in to.receipt_packets(&acknowledged, *clock) {
        from.receive(&receipt, *clock);
    }

    // After the backoff, the outbox holds exactly the lost messages (and shows nothing
    // twice: the messages shown early are acknowledged, so they are not re-sent).
    *clock += Duration::from_secs(2 * 3600);
    let due = block_on(from.profile.due_packets(*clock, &mut rand::rng())).expect("due");
    assert_eq!(
        due.len(),
        LOST.len(),
        "{}: only the lost are re-sent",
        from.name
    );
    let mut acknowledged = Vec::new();
    for packet in &due {
        acknowledged.extend(to.receive(&packet.packet, *clock));
    }
    for receipt in to.receipt_packets(&acknowledged, *clock) {
        from.receive(&receipt, *clock);
    }
    for i in LOST {
        assert!(
            to.receive(&packets[i], *clock).is_empty(),
            "a late original is not shown again"
        );
    }
    assert!(
        block_on(from.profile.store().outbox()).unwrap().is_empty(),
        "{}: every message acknowledged",
        from.name
    );
}

/// Alice and Bob, each the other's contact, with a session from Bob's prekey bundle.
fn pair<S: Store>(make_store: impl Fn(&str) -> S) -> (Side<S>, Side<S>) {
    let mut alice = Side::new("alice", make_store("alice"));
    let mut bob = Side::new("bob", make_store("bob"));
    let mut rng = rand::rng();
    let bundle = block_on(bob.profile.prekey_bundle(&mut rng)).unwrap();
    block_on(alice.profile.start_session(&bundle, now(), &mut rng)).unwrap();
    let bob_public = bob.profile.identity().public();
    let alice_public = alice.profile.identity().public();
    alice.peer = Some(block_on(alice.profile.add_contact(&bob_public, None)).unwrap());
    bob.peer = Some(block_on(bob.profile.add_contact(&alice_public, None)).unwrap());
    (alice, bob)
}

fn converse<S: Store>(make_store: impl Fn(&str) -> S) {
    let (mut alice, mut bob) = pair(make_store);
    let bob_public = bob.profile.identity().public();
    let alice_public = alice.profile.identity().public();
    assert!(
        block_on(alice.profile.is_post_quantum(&bob_public, now())).unwrap(),
        "the session must be PQXDH (Kyber) with SPQR"
    );

    let mut clock = now();
    for round in 0..ROUNDS {
        let shuffle = SHUFFLED_ROUNDS.contains(&round);
        send_batch(&mut alice, &mut bob, round, shuffle, &mut clock);
        if round == 0 {
            assert!(
                block_on(bob.profile.is_post_quantum(&alice_public, now())).unwrap(),
                "bob's side of the session is post-quantum too"
            );
        }
        send_batch(&mut bob, &mut alice, round, shuffle, &mut clock);
    }

    for (side, from) in [(&bob, "alice"), (&alice, "bob")] {
        let expected: Vec<String> = (0..ROUNDS * PER_ROUND)
            .map(|n| format!("{from} says {} in round {}", n % PER_ROUND, n / PER_ROUND))
            .collect();
        assert_eq!(
            side.shown.len(),
            expected.len(),
            "{} shows every message",
            side.name
        );
        assert_eq!(side.shown, expected, "{}: in order, each once", side.name);
        // A late original (a copy of a message shown from its re-sent copy) is reported as a
        // duplicate; a packet delivered twice is the same ciphertext, which the ratchet
        // recognises, and yields no event at all.
        assert_eq!(side.duplicates, ROUNDS * LOST.len());
        let unique: BTreeSet<&String> = side.shown.iter().collect();
        assert_eq!(unique.len(), side.shown.len());
        // The history holds every text too (and nothing early is left waiting).
        let history = block_on(side.profile.history(side.peer(), usize::MAX)).unwrap();
        let texts = history
            .iter()
            .filter(|(_, _, c)| matches!(&c.body, Body::Text(t) if t.starts_with(from)))
            .count();
        assert_eq!(texts, expected.len());
    }
}

/// Receipts are sent once and never re-sent, so a lost one must leave no gap in the order:
/// what the contact sends after it is shown at once, not held back as early for good.
#[test]
fn a_lost_receipt_holds_nothing_back() {
    let (mut alice, mut bob) = pair(|_| MemoryStore::new());
    let clock = now();
    let hello = alice.send_text("alice says hello".into(), clock);
    let received = bob.receive(&hello, clock);
    assert_eq!(bob.shown, ["alice says hello"]);
    // Bob's receipt is lost on the way (a relay restarted, say).
    let lost = bob.receipt_packets(&received, clock);
    assert_eq!(lost.len(), 1);
    for text in ["bob says one", "bob says two"] {
        let packet = bob.send_text(text.into(), clock);
        alice.receive(&packet, clock);
    }
    assert_eq!(
        alice.shown,
        ["bob says one", "bob says two"],
        "nothing held back"
    );
    // A receipt that does arrive, late, still marks the message delivered.
    alice.receive(&lost[0], clock);
    let history = block_on(alice.profile.history(alice.peer(), usize::MAX)).unwrap();
    assert!(
        history
            .iter()
            .all(|(_, _, content)| !matches!(content.body, Body::Receipt(_)))
    );
}

#[test]
fn alice_and_bob_exchange_500_messages_each_way_in_order_and_once_in_memory() {
    converse(|_| MemoryStore::new());
}

#[cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]
#[test]
fn alice_and_bob_exchange_500_messages_each_way_in_order_and_once_on_disk() {
    use sotto_core::store::{Argon2Params, ProfileDirectory, Protection};
    let dir = tempfile::Builder::new()
        .prefix("sotto-conversation-")
        .tempdir()
        .unwrap();
    converse(|name| {
        ProfileDirectory::new(dir.path().join(name))
            .create(Protection::Passphrase {
                passphrase: name,
                params: Argon2Params::new(8 * 1024, 1, 1).unwrap(),
            })
            .expect("profile directory")
    });
}
