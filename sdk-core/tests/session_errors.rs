//! Attacks and accidents on a session: each is a typed error, and the session keeps
//! working afterwards.

mod common;

use common::{Party, block_on, now, pair};
use libsignal_protocol::{
    CiphertextMessageType, ContentHint, KeyPair, SenderCertificate, ServerCertificate,
    UnidentifiedSenderMessageContent, sealed_sender_encrypt_from_usmc,
};
use sotto_core::Error;
use sotto_core::padding::{self, PACKET_PAYLOAD_SIZE, PaddingError};
use sotto_core::store::SignalStore;

/// Alice sends one more message and Bob must show it: the session still works.
fn still_works(alice: &mut Party, bob: &mut Party) {
    let before = bob.shown.len();
    let content = alice.text("still here");
    let packet = alice.seal(&bob.public(), &content);
    bob.deliver(&alice.public(), &packet)
        .expect("session still works");
    assert_eq!(bob.shown.len(), before + 1);
    assert_eq!(bob.shown.last().unwrap().id, content.id);
}

#[test]
fn a_tampered_packet_is_refused_and_the_session_survives() {
    let (mut alice, mut bob) = pair();
    let content = alice.text("do not touch");
    let packet = alice.seal(&bob.public(), &content);
    let sealed_len = padding::unpad(&packet).unwrap().len();
    // Flip one bit in a sample of positions over the whole sealed region and the padding.
    let positions = (0..4 + sealed_len)
        .step_by(7)
        .chain([4 + sealed_len, PACKET_PAYLOAD_SIZE - 1]);
    for pos in positions {
        let mut bad = packet.clone();
        bad[pos] ^= 0x01;
        let err = bob
            .open(&alice.public(), &bad)
            .expect_err("tampering detected");
        assert!(
            matches!(
                err,
                Error::InvalidCiphertext(_) | Error::Padding(_) | Error::UntrustedSender(_)
            ),
            "byte {pos}: unexpected {err:?}"
        );
    }
    // The untouched packet still opens: nothing was consumed by the failures.
    bob.deliver(&alice.public(), &packet).unwrap();
    assert_eq!(bob.shown.last().unwrap().id, content.id);
    still_works(&mut alice, &mut bob);
}

#[test]
fn a_replayed_packet_is_a_duplicate_and_the_session_survives() {
    let (mut alice, mut bob) = pair();
    let content = alice.text("once only");
    let packet = alice.seal(&bob.public(), &content);
    bob.deliver(&alice.public(), &packet)
        .expect("first delivery");
    assert!(matches!(
        bob.open(&alice.public(), &packet),
        Err(Error::Duplicate)
    ));
    still_works(&mut alice, &mut bob);
}

#[test]
fn a_replayed_first_message_is_refused() {
    let mut alice = Party::new("alice");
    let bob = Party::new("bob");
    alice.meet(&bob);
    let content = alice.text("first");
    let packet = alice.seal(&bob.public(), &content);
    bob.open(&alice.public(), &packet).expect("first delivery");
    let err = bob
        .open(&alice.public(), &packet)
        .expect_err("replay refused");
    assert!(
        matches!(err, Error::Duplicate | Error::InvalidCiphertext(_)),
        "{err:?}"
    );
}

#[test]
fn a_sealed_message_from_a_stranger_is_refused() {
    let (mut alice, mut bob) = pair();
    let mut mallory = Party::new("mallory");
    mallory.meet(&bob);
    // Mallory writes into the queue Bob reads Alice from, with her own valid certificate.
    let content = mallory.text("it is me, alice");
    let packet = mallory.seal(&bob.public(), &content);
    match bob.open(&alice.public(), &packet) {
        Err(Error::IdentityKeyChanged { trusted, presented }) => {
            assert_eq!(*trusted, *alice.public().key());
            assert_eq!(*presented, *mallory.public().key());
        }
        other => panic!("expected IdentityKeyChanged, got {other:?}"),
    }
    still_works(&mut alice, &mut bob);
}

#[test]
fn a_forged_certificate_naming_alice_is_refused() {
    let (mut alice, mut bob) = pair();
    let mallory = Party::new("mallory");
    mallory.meet(&bob);
    let mut rng = rand::rng();
    // Mallory issues a certificate that claims Alice's identity, signed by Mallory.
    let signer = KeyPair::generate(&mut rng);
    let server = ServerCertificate::new(
        1,
        signer.public_key,
        mallory.profile.identity().key_pair().private_key(),
        &mut rng,
    )
    .unwrap();
    let forged = SenderCertificate::new(
        alice.public().fingerprint_name(),
        None,
        *alice.public().key().public_key(),
        1.try_into().unwrap(),
        libsignal_protocol::Timestamp::from_epoch_millis(1_800_000_000_000),
        server,
        &signer.private_key,
        &mut rng,
    )
    .unwrap();
    let usmc = UnidentifiedSenderMessageContent::new(
        CiphertextMessageType::Whisper,
        forged,
        vec![0u8; 64],
        ContentHint::Default,
        None,
    )
    .unwrap();
    let identity = mallory.profile.identity();
    let view = SignalStore::new(
        mallory.profile.store(),
        *identity.key_pair(),
        identity.registration_id(),
    );
    let sealed = block_on(sealed_sender_encrypt_from_usmc(
        &bob.public().address(),
        &usmc,
        &view,
        &mut rng,
    ))
    .unwrap();
    let packet = padding::pad(&sealed).unwrap();
    let err = bob
        .open(&alice.public(), &packet)
        .expect_err("forgery refused");
    // libsignal refuses a certificate whose key is not the key the envelope was sealed with.
    assert!(matches!(err, Error::InvalidCiphertext(_)), "{err:?}");
    still_works(&mut alice, &mut bob);
}

#[test]
fn a_certificate_accepted_before_is_refused_once_it_expires() {
    let (mut alice, mut bob) = pair();
    // Both packets carry the certificate Alice issued at `now()`, valid for 30 days.
    let first = alice.text("today");
    let first_packet = alice.seal(&bob.public(), &first);
    let second = alice.text("read a month later");
    let second_packet = alice.seal(&bob.public(), &second);
    bob.deliver(&alice.public(), &first_packet).unwrap();
    // Bob has verified (and cached) this certificate; 31 days on it has expired.
    let month_later = now() + std::time::Duration::from_secs(31 * 24 * 3600);
    let err = block_on(bob.profile.open(
        &alice.public(),
        &second_packet,
        month_later,
        &mut rand::rng(),
    ))
    .expect_err("expired certificate");
    assert!(matches!(err, Error::UntrustedSender(_)), "{err:?}");
    // Nothing was consumed: at a time the certificate is valid, the packet opens.
    bob.deliver(&alice.public(), &second_packet).unwrap();
    assert_eq!(bob.shown.last().unwrap().id, second.id);
}

#[test]
fn a_changed_identity_key_is_refused_until_accepted() {
    let (mut alice, mut bob) = pair();
    // Alice reinstalls: a new identity, a new session with Bob.
    let mut new_alice = Party::new("alice");
    new_alice.meet(&bob);
    let content = new_alice.text("new phone, same alice");
    let packet = new_alice.seal(&bob.public(), &content);
    match bob.open(&alice.public(), &packet) {
        Err(Error::IdentityKeyChanged { trusted, presented }) => {
            assert_eq!(*trusted, *alice.public().key());
            assert_eq!(*presented, *new_alice.public().key());
        }
        other => panic!("expected IdentityKeyChanged, got {other:?}"),
    }
    // The old session is untouched...
    still_works(&mut alice, &mut bob);
    // ...and once Bob accepts the new key, the held packet opens.
    let opened = bob
        .open(&new_alice.public(), &packet)
        .expect("accepted key");
    assert_eq!(opened.id, content.id);
}

#[test]
fn sealed_packets_have_one_size_and_hide_keys_and_text() {
    let mut alice = Party::new("alice");
    let mut bob = Party::new("bob");
    alice.meet(&bob);
    let secret = "the eagle lands at midnight";
    let keys: Vec<Vec<u8>> = [&alice, &bob]
        .iter()
        .flat_map(|p| {
            let full = p.public().to_bytes();
            [full.clone(), full[1..].to_vec()]
        })
        .collect();
    let mut packets = Vec::new();
    let first = alice.text(secret);
    packets.push(alice.seal(&bob.public(), &first));
    bob.deliver(&alice.public(), &packets[0]).unwrap();
    for i in 0..20 {
        let c = alice.text(&format!("{secret} #{i}"));
        packets.push(alice.seal(&bob.public(), &c));
        let c = bob.text(&format!("{secret} reply #{i}"));
        packets.push(bob.seal(&alice.public(), &c));
    }
    // A maximal text, too: the size never varies.
    let big = alice.text(&"x".repeat(1024));
    packets.push(alice.seal(&bob.public(), &big));
    for packet in &packets {
        assert_eq!(packet.len(), PACKET_PAYLOAD_SIZE);
        assert!(!contains(packet, secret.as_bytes()), "plaintext leaked");
        for key in &keys {
            assert!(!contains(packet, key), "identity key leaked");
        }
    }
}

#[test]
fn the_first_message_with_1_kib_of_text_fits_one_packet() {
    let mut alice = Party::new("alice");
    let mut bob = Party::new("bob");
    alice.meet(&bob);
    let content = alice.text(&"é".repeat(512)); // 1 KiB of UTF-8
    let packet = alice.seal(&bob.public(), &content);
    assert_eq!(packet.len(), PACKET_PAYLOAD_SIZE);
    bob.deliver(&alice.public(), &packet).unwrap();
    assert_eq!(bob.shown.len(), 1);
}

#[test]
fn content_too_large_for_a_packet_is_a_typed_error_and_consumes_nothing() {
    let (mut alice, mut bob) = pair();
    let mut huge = alice.text("");
    huge.body = sotto_core::content::Body::Text("y".repeat(PACKET_PAYLOAD_SIZE));
    let err = block_on(
        alice
            .profile
            .seal(&bob.public(), &huge, now(), &mut rand::rng()),
    )
    .expect_err("too large");
    assert!(
        matches!(
            err,
            Error::Padding(PaddingError::TooLarge { .. }) | Error::Content(_)
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("attachment"),
        "the error says what to do: {err}"
    );
    alice.next_sequence = huge.sequence;
    still_works(&mut alice, &mut bob);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
