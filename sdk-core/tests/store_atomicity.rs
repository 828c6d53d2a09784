//! Every step lands in the store entirely or not at all: through `Profile`, a refused packet
//! or refused content leaves every record exactly as it was. (The `ChangeSet`/`apply`
//! contract itself is the conformance suite, `store_conformance.rs`.)

mod common;

use common::store_contract::{Snapshot, assert_unchanged, differences, snapshot};
use common::{Party, block_on, now, pair};
use libsignal_protocol::{
    ContentHint, PreKeyBundle, SessionRecord, UnidentifiedSenderMessageContent, message_encrypt,
    sealed_sender_encrypt_from_usmc,
};
use sotto_core::content::{Body, Content, ContentError, MAX_TEXT_BYTES};
use sotto_core::padding::{self, PACKET_PAYLOAD_SIZE};
use sotto_core::sealed::SelfCertificate;
use sotto_core::store::{KyberBaseKeyUse, SignalStore, Store};
use sotto_core::{Error, PublicIdentity};

/// Alice starts a session from a fresh bundle of Bob's; returns the Kyber base-key use her
/// first message will make, read from her own session record.
fn start(alice: &Party, bob: &Party) -> KyberBaseKeyUse {
    let bundle: PreKeyBundle = block_on(bob.profile.prekey_bundle(&mut rand::rng())).unwrap();
    block_on(
        alice
            .profile
            .start_session(&bundle, now(), &mut rand::rng()),
    )
    .unwrap();
    let address = bob.public().address().to_string();
    let bytes = block_on(alice.profile.store().load_session(&address))
        .unwrap()
        .expect("alice's session with bob");
    let session = SessionRecord::deserialize(&bytes).unwrap();
    KyberBaseKeyUse {
        kyber_pre_key_id: bundle.kyber_pre_key_id().unwrap().into(),
        signed_pre_key_id: bundle.signed_pre_key_id().unwrap().into(),
        base_key: session.alice_base_key().unwrap().to_vec(),
    }
}

fn bobs_view(bob: &Party, peers: &[&Party], uses: &[KyberBaseKeyUse]) -> Snapshot {
    let peers: Vec<PublicIdentity> = peers.iter().map(|p| p.public()).collect();
    snapshot(bob.profile.store(), &peers, uses)
}

#[test]
fn a_tampered_first_message_leaves_bobs_store_unchanged() {
    let mut alice = Party::new("alice");
    let bob = Party::new("bob");
    let used = start(&alice, &bob);
    let content = alice.text("first words");
    let packet = alice.seal(&bob.public(), &content);
    let before = bobs_view(&bob, &[&alice], std::slice::from_ref(&used));
    assert_eq!(before.sessions.values().next(), Some(&None));

    let sealed_len = padding::unpad(&packet).unwrap().len();
    let positions = (0..4 + sealed_len)
        .step_by(11)
        .chain([4 + sealed_len - 1, PACKET_PAYLOAD_SIZE - 1]);
    for pos in positions {
        let mut bad = packet.clone();
        bad[pos] ^= 0x40;
        bob.open(&alice.public(), &bad)
            .expect_err("tampering detected");
        let after = bobs_view(&bob, &[&alice], std::slice::from_ref(&used));
        assert_unchanged(&before, &after, &format!("a packet tampered at byte {pos}"));
    }

    // The genuine packet then opens, and that is a change of every kind a first message
    // makes: a session, the sender's identity, the one-time prekey gone, the base key used.
    assert_eq!(bob.open(&alice.public(), &packet).unwrap(), content);
    let after = bobs_view(&bob, &[&alice], std::slice::from_ref(&used));
    assert_eq!(
        differences(&before, &after),
        [
            "sessions",
            "remote identities",
            "one-time prekeys",
            "Kyber base keys"
        ]
    );
    assert_eq!(after.base_keys_seen, [true]);
    let address = alice.public().address().to_string();
    assert_eq!(
        after.remote_identities[&address].as_deref(),
        Some(&alice.public().to_bytes()[..])
    );
    assert!(after.pre_keys.len() < before.pre_keys.len());
}

/// Alice encrypts `plaintext` with her real session and certificate, bypassing the frame
/// checks of `Profile::seal`: a packet that decrypts fine but holds no valid frame.
fn seal_raw(alice: &Party, bob: &Party, plaintext: &[u8]) -> Vec<u8> {
    let mut rng = rand::rng();
    let identity = alice.profile.identity();
    let view = SignalStore::new(
        alice.profile.store(),
        *identity.key_pair(),
        identity.registration_id(),
    );
    let address = bob.public().address();
    let ciphertext = block_on(message_encrypt(
        plaintext,
        &address,
        &mut view.clone(),
        &mut view.clone(),
        now(),
        &mut rng,
    ))
    .unwrap();
    let certificate = SelfCertificate::issue(identity, now(), &mut rng).unwrap();
    let usmc = UnidentifiedSenderMessageContent::new(
        ciphertext.message_type(),
        certificate.certificate().clone(),
        ciphertext.serialize().to_vec(),
        ContentHint::Default,
        None,
    )
    .unwrap();
    let sealed = block_on(sealed_sender_encrypt_from_usmc(
        &address, &usmc, &view, &mut rng,
    ))
    .unwrap();
    block_on(alice.profile.store().apply(view.take_changes())).unwrap();
    padding::pad(&sealed).unwrap()
}

#[test]
fn a_first_message_that_decrypts_to_a_bad_frame_leaves_bobs_store_unchanged() {
    let mut alice = Party::new("alice");
    let mut bob = Party::new("bob");
    let used = start(&alice, &bob);
    // Decryption succeeds and stages a session; the frame check fails afterwards.
    let zero_sequence = Content::text(0, 1_790_000_000_000, "sequence zero").encode();
    let packet = seal_raw(&alice, &bob, &zero_sequence);
    let before = bobs_view(&bob, &[&alice], std::slice::from_ref(&used));
    for attempt in 0..2 {
        let err = bob.open(&alice.public(), &packet).expect_err("bad frame");
        assert!(
            matches!(err, Error::Content(ContentError::ZeroSequence)),
            "attempt {attempt}: {err:?}"
        );
        let after = bobs_view(&bob, &[&alice], std::slice::from_ref(&used));
        assert_unchanged(&before, &after, "a first message with a bad frame");
    }
    // Nothing was consumed: Alice's next message, still a first message, opens.
    let content = alice.text("a proper hello");
    let packet = alice.seal(&bob.public(), &content);
    bob.deliver(&alice.public(), &packet).unwrap();
    assert_eq!(bob.shown, [content]);
}

#[test]
fn a_later_message_that_decrypts_to_a_bad_frame_leaves_bobs_store_unchanged() {
    let (mut alice, mut bob) = pair();
    let packet = seal_raw(&alice, &bob, b"not a protobuf frame \xff\xff\xff");
    let before = bobs_view(&bob, &[&alice], &[]);
    let err = bob.open(&alice.public(), &packet).expect_err("bad frame");
    assert!(matches!(err, Error::Content(_)), "{err:?}");
    assert_unchanged(
        &before,
        &bobs_view(&bob, &[&alice], &[]),
        "a message with a bad frame",
    );
    let content = alice.text("after the junk");
    let packet = alice.seal(&bob.public(), &content);
    bob.deliver(&alice.public(), &packet).unwrap();
    assert_eq!(bob.shown.last(), Some(&content));
}

#[test]
fn a_packet_from_a_stranger_leaves_bobs_store_unchanged() {
    let (alice, bob) = pair();
    let mut mallory = Party::new("mallory");
    let used = start(&mallory, &bob);
    let content = mallory.text("it is me, alice");
    let packet = mallory.seal(&bob.public(), &content);
    let before = bobs_view(&bob, &[&alice, &mallory], std::slice::from_ref(&used));
    let err = bob
        .open(&alice.public(), &packet)
        .expect_err("not from alice");
    assert!(matches!(err, Error::IdentityKeyChanged { .. }), "{err:?}");
    let after = bobs_view(&bob, &[&alice, &mallory], std::slice::from_ref(&used));
    assert_unchanged(&before, &after, "a packet from a stranger");
}

#[test]
fn a_duplicate_leaves_bobs_store_unchanged() {
    let (mut alice, bob) = pair();
    let content = alice.text("once");
    let packet = alice.seal(&bob.public(), &content);
    bob.open(&alice.public(), &packet).unwrap();
    let before = bobs_view(&bob, &[&alice], &[]);
    assert!(matches!(
        bob.open(&alice.public(), &packet),
        Err(Error::Duplicate)
    ));
    assert_unchanged(&before, &bobs_view(&bob, &[&alice], &[]), "a duplicate");
}

#[test]
fn a_replayed_first_message_leaves_bobs_store_unchanged() {
    let mut alice = Party::new("alice");
    let bob = Party::new("bob");
    let used = start(&alice, &bob);
    let content = alice.text("first");
    let packet = alice.seal(&bob.public(), &content);
    bob.open(&alice.public(), &packet).unwrap();
    let before = bobs_view(&bob, &[&alice], std::slice::from_ref(&used));
    assert_eq!(before.base_keys_seen, [true]);
    bob.open(&alice.public(), &packet).expect_err("replay");
    let after = bobs_view(&bob, &[&alice], std::slice::from_ref(&used));
    assert_unchanged(&before, &after, "a replayed first message");
}

#[test]
fn a_successful_open_changes_only_the_session_record() {
    let (mut alice, bob) = pair();
    let content = alice.text("ratchet forward");
    let packet = alice.seal(&bob.public(), &content);
    let before = bobs_view(&bob, &[&alice], &[]);
    assert_eq!(bob.open(&alice.public(), &packet).unwrap(), content);
    let after = bobs_view(&bob, &[&alice], &[]);
    assert_eq!(differences(&before, &after), ["sessions"]);
    let address = alice.public().address().to_string();
    assert!(after.sessions[&address].is_some());
}

#[test]
fn sealing_text_that_is_too_long_changes_nothing_and_the_next_message_opens() {
    let (mut alice, mut bob) = pair();
    let alices_view = |alice: &Party| snapshot(alice.profile.store(), &[bob.public()], &[]);
    let before = alices_view(&alice);
    let mut too_long = alice.text("");
    too_long.body = Body::Text("x".repeat(MAX_TEXT_BYTES + 1));
    let err = block_on(
        alice
            .profile
            .seal(&bob.public(), &too_long, now(), &mut rand::rng()),
    )
    .expect_err("too long");
    assert!(
        matches!(err, Error::Content(ContentError::TextTooLong { len, max })
            if len == MAX_TEXT_BYTES + 1 && max == MAX_TEXT_BYTES),
        "{err:?}"
    );
    assert_unchanged(&before, &alices_view(&alice), "a refused seal");

    // The sequence number was not used either; reuse it for the next message.
    let mut next = alice.text("short enough");
    next.sequence = too_long.sequence;
    let packet = alice.seal(&bob.public(), &next);
    bob.deliver(&alice.public(), &packet).unwrap();
    assert_eq!(bob.shown.last(), Some(&next));
}

#[test]
fn sealing_to_someone_without_a_session_changes_nothing() {
    let mut alice = Party::new("alice");
    let bob = Party::new("bob");
    let before = snapshot(alice.profile.store(), &[bob.public()], &[]);
    let content = alice.text("hello?");
    let err = block_on(
        alice
            .profile
            .seal(&bob.public(), &content, now(), &mut rand::rng()),
    )
    .expect_err("no session");
    assert!(matches!(err, Error::NoSession), "{err:?}");
    assert_unchanged(
        &before,
        &snapshot(alice.profile.store(), &[bob.public()], &[]),
        "a seal without a session",
    );
}
