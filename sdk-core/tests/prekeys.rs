//! Prekeys: Bob hands out bundles while offline, rotates his signed and Kyber prekeys
//! weekly, keeps replaced ones for a grace period and then deletes them.
//!
//! Every step runs at an explicit time counted in days from profile creation; the sender
//! and the receiver of each message share the same clock, since certificates are checked
//! against the receiver's.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use common::{Party, block_on, now};
use libsignal_protocol::{PreKeyBundle, kem};
use sotto_core::content::Content;
use sotto_core::prekeys::{RotationOutcome, RotationPolicy};
use sotto_core::store::Store;
use sotto_core::{Error, PublicIdentity};

const DAY: Duration = Duration::from_secs(24 * 3600);

/// `days` after the profiles were created.
fn day(days: u32) -> SystemTime {
    now() + DAY * days
}

fn bundle_of(bob: &Party) -> PreKeyBundle {
    block_on(bob.profile.prekey_bundle(&mut rand::rng())).expect("bundle")
}

fn rotate(bob: &Party, at: SystemTime) -> RotationOutcome {
    block_on(
        bob.profile
            .rotate_prekeys(RotationPolicy::default(), at, &mut rand::rng()),
    )
    .expect("rotation")
}

/// Ids of Bob's stored (one-time, signed, Kyber) prekeys.
fn stored_ids(bob: &Party) -> (BTreeSet<u32>, BTreeSet<u32>, BTreeSet<u32>) {
    let store = bob.profile.store();
    (
        block_on(store.pre_key_ids()).unwrap().into_iter().collect(),
        block_on(store.signed_pre_key_ids())
            .unwrap()
            .into_iter()
            .collect(),
        block_on(store.kyber_pre_key_ids())
            .unwrap()
            .into_iter()
            .collect(),
    )
}

fn signed_id(bundle: &PreKeyBundle) -> u32 {
    bundle.signed_pre_key_id().unwrap().into()
}

fn kyber_id(bundle: &PreKeyBundle) -> u32 {
    bundle.kyber_pre_key_id().unwrap().into()
}

/// `from` starts a session with the owner of `bundle` at `at` and seals a first message.
fn first_message(
    from: &mut Party,
    bundle: &PreKeyBundle,
    at: SystemTime,
) -> (Content, Vec<u8>, PublicIdentity) {
    let to =
        block_on(from.profile.start_session(bundle, at, &mut rand::rng())).expect("session start");
    let content = from.text(&format!("hello from {}", from.name));
    let packet = block_on(from.profile.seal(&to, &content, at, &mut rand::rng())).expect("seal");
    (content, packet, to)
}

fn open_at(to: &Party, from: &Party, packet: &[u8], at: SystemTime) -> Result<Content, Error> {
    block_on(
        to.profile
            .open(&from.public(), packet, at, &mut rand::rng()),
    )
}

#[test]
fn each_bundle_of_a_new_profile_has_its_own_one_time_prekey_and_a_kyber_prekey() {
    let bob = Party::new("bob");
    let bundles: Vec<PreKeyBundle> = (0..5).map(|_| bundle_of(&bob)).collect();
    let one_time: BTreeSet<u32> = bundles
        .iter()
        .map(|b| b.pre_key_id().unwrap().expect("a one-time prekey").into())
        .collect();
    assert_eq!(one_time.len(), bundles.len(), "one-time prekey ids differ");
    let (stored_one_time, signed, kyber) = stored_ids(&bob);
    assert_eq!(stored_one_time, one_time, "each one-time prekey is stored");
    assert_eq!(signed.len(), 1);
    assert_eq!(kyber.len(), 1);
    for bundle in &bundles {
        assert_eq!(
            bundle.kyber_pre_key_public().unwrap().key_type(),
            kem::KeyType::Kyber1024,
            "every bundle is post-quantum"
        );
        assert!(!bundle.kyber_pre_key_signature().unwrap().is_empty());
        assert!(signed.contains(&signed_id(bundle)));
        assert!(kyber.contains(&kyber_id(bundle)));
        assert_eq!(*bundle.identity_key().unwrap(), *bob.public().key());
        assert_eq!(
            bundle.registration_id().unwrap(),
            bob.profile.identity().registration_id()
        );
    }
}

#[test]
fn two_peers_each_reach_bob_from_their_own_bundle() {
    let bob = Party::new("bob");
    let mut alice = Party::new("alice");
    let mut carol = Party::new("carol");
    let for_alice = bundle_of(&bob);
    let for_carol = bundle_of(&bob);
    let (from_alice, alice_packet, to) = first_message(&mut alice, &for_alice, now());
    assert_eq!(to, bob.public());
    let (from_carol, carol_packet, to) = first_message(&mut carol, &for_carol, now());
    assert_eq!(to, bob.public());

    let opened = open_at(&bob, &alice, &alice_packet, now()).expect("alice reaches bob");
    assert_eq!(opened, from_alice);
    let opened = open_at(&bob, &carol, &carol_packet, now()).expect("carol reaches bob");
    assert_eq!(opened, from_carol);

    for peer in [&alice, &carol] {
        assert!(block_on(bob.profile.is_post_quantum(&peer.public(), now())).unwrap());
        assert!(block_on(peer.profile.is_post_quantum(&bob.public(), now())).unwrap());
    }
    // Both one-time prekeys are used up and gone.
    let (one_time, _, _) = stored_ids(&bob);
    for bundle in [&for_alice, &for_carol] {
        let id: u32 = bundle.pre_key_id().unwrap().unwrap().into();
        assert!(!one_time.contains(&id), "one-time prekey {id} deleted");
    }
}

#[test]
fn a_rotation_within_the_first_week_does_nothing() {
    let bob = Party::new("bob");
    let before = stored_ids(&bob);
    for at in [now(), day(1), day(6), day(7)] {
        assert_eq!(rotate(&bob, at), RotationOutcome::default(), "{at:?}");
        assert_eq!(stored_ids(&bob), before);
    }
}

#[test]
fn eight_days_later_bob_makes_new_signed_and_kyber_prekeys_and_keeps_the_old_ones() {
    let bob = Party::new("bob");
    let before = bundle_of(&bob);
    let outcome = rotate(&bob, day(8));
    assert_eq!(
        outcome,
        RotationOutcome {
            new_signed_pre_key: true,
            new_kyber_pre_key: true,
            deleted: 0,
        }
    );
    let (_, signed, kyber) = stored_ids(&bob);
    assert_eq!(signed.len(), 2);
    assert_eq!(kyber.len(), 2);
    assert!(
        signed.contains(&signed_id(&before)),
        "old signed prekey kept"
    );
    assert!(kyber.contains(&kyber_id(&before)), "old Kyber prekey kept");

    let after = bundle_of(&bob);
    assert_ne!(signed_id(&after), signed_id(&before), "new signed prekey");
    assert_ne!(kyber_id(&after), kyber_id(&before), "new Kyber prekey");
    // A second rotation the same day has nothing left to do.
    assert_eq!(rotate(&bob, day(8)), RotationOutcome::default());
}

#[test]
fn a_bundle_issued_before_rotation_still_starts_a_session_after_it() {
    let bob = Party::new("bob");
    let mut carol = Party::new("carol");
    let before = bundle_of(&bob);
    rotate(&bob, day(8));
    let (content, packet, _) = first_message(&mut carol, &before, day(8));
    let opened = open_at(&bob, &carol, &packet, day(8)).expect("old keys still open");
    assert_eq!(opened, content);
}

#[test]
fn replaced_prekeys_are_deleted_after_the_grace_period_and_their_bundles_then_fail() {
    let bob = Party::new("bob");
    let mut carol = Party::new("carol");
    let mut dave = Party::new("dave");
    let before = bundle_of(&bob);
    rotate(&bob, day(8));

    // 31 days after the rotation.
    let later = day(8 + 31);
    let outcome = rotate(&bob, later);
    assert!(outcome.new_signed_pre_key && outcome.new_kyber_pre_key);
    assert!(outcome.deleted >= 2, "{outcome:?}");
    let (_, signed, kyber) = stored_ids(&bob);
    assert!(
        !signed.contains(&signed_id(&before)),
        "old signed prekey deleted"
    );
    assert!(
        !kyber.contains(&kyber_id(&before)),
        "old Kyber prekey deleted"
    );

    // Carol still holds the pre-rotation bundle; the session starts (the bundle's
    // signatures are fine) but Bob can no longer open her first message.
    let (_, packet, _) = first_message(&mut carol, &before, later);
    let err = open_at(&bob, &carol, &packet, later).expect_err("old keys are gone");
    assert!(matches!(err, Error::InvalidCiphertext(_)), "{err:?}");
    assert!(!block_on(bob.profile.is_post_quantum(&carol.public(), later)).unwrap());

    // A current bundle works.
    let current = bundle_of(&bob);
    let (content, packet, _) = first_message(&mut dave, &current, later);
    assert_eq!(open_at(&bob, &dave, &packet, later).unwrap(), content);
}

/// The default policy promises that replaced keys live 30 days, longer than the relays'
/// 21-day message expiry. A rotation that runs late (the app was not opened for a month)
/// must therefore not delete the key it replaces at that moment: first messages sealed
/// with it yesterday are still on the relay.
#[test]
fn a_key_replaced_by_a_late_rotation_keeps_its_grace_period() {
    let bob = Party::new("bob");
    let mut erin = Party::new("erin");
    rotate(&bob, day(8));
    // Bob's app is then not opened for a month; yesterday Erin used a current bundle.
    let current = bundle_of(&bob);
    let (content, packet, _) = first_message(&mut erin, &current, day(38));
    let outcome = rotate(&bob, day(39));
    assert!(outcome.new_signed_pre_key && outcome.new_kyber_pre_key);
    let opened = open_at(&bob, &erin, &packet, day(39));
    assert!(
        matches!(&opened, Ok(c) if *c == content),
        "a first message sealed yesterday with the then-current keys must open: {opened:?} \
         (rotation outcome {outcome:?})"
    );
    assert_eq!(
        outcome.deleted, 2,
        "only the keys replaced 31 days ago are deleted: {outcome:?}"
    );
}

#[test]
fn the_newest_keys_are_never_deleted_however_old() {
    let bob = Party::new("bob");
    let mut carol = Party::new("carol");
    let before = stored_ids(&bob);
    let never_rotate = RotationPolicy {
        rotate_after: DAY * 3650,
        keep_for: DAY,
    };
    let outcome = block_on(
        bob.profile
            .rotate_prekeys(never_rotate, day(400), &mut rand::rng()),
    )
    .unwrap();
    assert_eq!(outcome, RotationOutcome::default());
    assert_eq!(stored_ids(&bob), before);
    let bundle = bundle_of(&bob);
    let (content, packet, _) = first_message(&mut carol, &bundle, day(400));
    assert_eq!(open_at(&bob, &carol, &packet, day(400)).unwrap(), content);
}

#[test]
fn one_time_prekeys_survive_rotation_until_used() {
    let bob = Party::new("bob");
    let mut carol = Party::new("carol");
    let bundle = bundle_of(&bob);
    let one_time: u32 = bundle.pre_key_id().unwrap().unwrap().into();
    rotate(&bob, day(8));
    rotate(&bob, day(16));
    assert!(stored_ids(&bob).0.contains(&one_time));
    let (content, packet, _) = first_message(&mut carol, &bundle, day(16));
    assert_eq!(open_at(&bob, &carol, &packet, day(16)).unwrap(), content);
    assert!(!stored_ids(&bob).0.contains(&one_time));
}
