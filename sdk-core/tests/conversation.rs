//! A whole conversation through the core: PQXDH start, then 500 messages each way with
//! reordering, loss with re-sending, and duplicate delivery.

mod common;

use common::{Party, block_on, now};
use rand::seq::SliceRandom;
use sotto_core::content::Body;

const ROUNDS: usize = 10;
const PER_ROUND: usize = 50;
/// Rounds whose batch is delivered in random order: 4 × 50 = 200 shuffled per direction.
const SHUFFLED_ROUNDS: [usize; 4] = [1, 4, 6, 9];

/// Sends one batch from `from` to `to` with losses, duplicates and (optionally) shuffling,
/// then re-sends the lost messages as the outbox would.
fn send_batch(from: &mut Party, to: &mut Party, round: usize, shuffle: bool) {
    let to_id = to.public();
    let from_id = from.public();
    let contents: Vec<_> = (0..PER_ROUND)
        .map(|i| from.text(&format!("{} says {} in round {round}", from.name, i)))
        .collect();
    let packets: Vec<Vec<u8>> = contents.iter().map(|c| from.seal(&to_id, c)).collect();

    // Positions 3, 17 and 41 are lost on the way; 5, 22 and 30 arrive twice.
    let lost = [3, 17, 41];
    let doubled = [5, 22, 30];
    let mut deliveries: Vec<usize> = (0..PER_ROUND).filter(|i| !lost.contains(i)).collect();
    deliveries.extend(doubled);
    if shuffle {
        deliveries.shuffle(&mut rand::rng());
    }
    for i in deliveries {
        to.deliver(&from_id, &packets[i]).expect("delivery");
    }
    // The outbox re-sends what was never acknowledged: same content, new encryption.
    for i in lost {
        let again = from.seal(&to_id, &contents[i]);
        to.deliver(&from_id, &again).expect("re-sent delivery");
        // And a late copy of the original arrives after all: shown once only.
        to.deliver(&from_id, &packets[i]).expect("late original");
    }
}

#[test]
fn alice_and_bob_exchange_500_messages_each_way_in_order_and_once() {
    let mut alice = Party::new("alice");
    let mut bob = Party::new("bob");
    alice.meet(&bob);
    assert!(
        block_on(alice.profile.is_post_quantum(&bob.public(), now())).unwrap(),
        "the session must be PQXDH (Kyber) with SPQR"
    );

    for round in 0..ROUNDS {
        let shuffle = SHUFFLED_ROUNDS.contains(&round);
        send_batch(&mut alice, &mut bob, round, shuffle);
        if round == 0 {
            assert!(
                block_on(bob.profile.is_post_quantum(&alice.public(), now())).unwrap(),
                "bob's side of the session is post-quantum too"
            );
        }
        send_batch(&mut bob, &mut alice, round, shuffle);
    }

    for (party, from) in [(&bob, "alice"), (&alice, "bob")] {
        assert_eq!(
            party.shown.len(),
            ROUNDS * PER_ROUND,
            "{} shows every message once",
            party.name
        );
        assert_eq!(party.order.held(), 0);
        for (n, content) in party.shown.iter().enumerate() {
            assert_eq!(content.sequence, n as u64 + 1, "in order");
            let expected = format!("{from} says {} in round {}", n % PER_ROUND, n / PER_ROUND);
            assert_eq!(content.body, Body::Text(expected));
        }
    }
}
