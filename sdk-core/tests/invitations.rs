//! Invitations as a format: made and signed by the inviter's profile, carried as a URI or a
//! QR code (decoded with a real QR reader), parsed and verified by the invitee, who starts a
//! post-quantum session from them. Every altered byte, a truncation or an extension fails
//! to parse or to verify; malformed URIs are typed errors.

mod common;

use common::qr_scan::scan_png;
use common::{block_on, memory_profile, now};
use sotto_core::Profile;
use sotto_core::invitation::{
    INVITATION_URI_PREFIX, Invitation, InvitationError, MAX_INVITATION_BYTES, SendCapability,
};
use sotto_core::relay::{QueueKeyPair, RelayAddress, SenderId};
use sotto_core::store::MemoryStore;

fn relay() -> RelayAddress {
    RelayAddress::parse(
        "sotto://AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8@relay.example.org:7443",
    )
    .unwrap()
}

fn invitation(inviter: &Profile<MemoryStore>) -> Invitation {
    let mut rng = rand::rng();
    let bundle = block_on(inviter.prekey_bundle(&mut rng)).unwrap();
    let queue = SendCapability {
        relay: relay(),
        sender_id: SenderId::random(&mut rng),
        sender_key: QueueKeyPair::generate(&mut rng),
    };
    Invitation::new(inviter.identity().key_pair(), bundle, queue, &mut rng).unwrap()
}

#[test]
fn an_invitation_survives_its_uri_and_its_qr_code_and_starts_a_pq_session() {
    let alice = memory_profile();
    let made = invitation(&alice);
    let uri = made.to_uri();
    assert!(uri.starts_with(INVITATION_URI_PREFIX));
    // Everything after the '#' (the fragment, which browsers never send) is base64url.
    let fragment = uri.strip_prefix(INVITATION_URI_PREFIX).unwrap();
    assert!(
        fragment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );

    let from_uri = Invitation::from_uri(&uri).unwrap();
    let from_qr = Invitation::from_scanned(&scan_png(&made.qr_png().unwrap())).unwrap();
    let from_uri_qr = Invitation::from_scanned(uri.as_bytes()).unwrap();
    for parsed in [&from_uri, &from_qr, &from_uri_qr] {
        assert_eq!(parsed.to_bytes(), made.to_bytes());
        assert_eq!(parsed.inviter(), &alice.identity().public());
        assert_eq!(parsed.queue().relay, relay());
        assert_eq!(parsed.queue().sender_id, made.queue().sender_id);
        assert_eq!(
            parsed.queue().sender_key.public(),
            made.queue().sender_key.public()
        );
        assert_eq!(parsed.one_time_pre_key_id(), made.one_time_pre_key_id());
    }
    assert!(made.qr_svg().unwrap().starts_with("<?xml"));
    assert!(
        made.to_bytes().len() < 2200,
        "{} bytes",
        made.to_bytes().len()
    );

    let bob = memory_profile();
    let peer = block_on(bob.start_session(from_qr.bundle(), now(), &mut rand::rng())).unwrap();
    assert_eq!(peer, alice.identity().public());
    assert!(block_on(bob.is_post_quantum(&peer, now())).unwrap());
}

#[test]
fn every_altered_byte_truncation_or_extension_is_refused() {
    let alice = memory_profile();
    let bytes = invitation(&alice).to_bytes().to_vec();
    for position in 0..bytes.len() {
        for flip in [0x01u8, 0x80] {
            let mut altered = bytes.clone();
            altered[position] ^= flip;
            assert!(
                Invitation::from_bytes(&altered).is_err(),
                "flipping {flip:#04x} at byte {position} was accepted"
            );
        }
    }
    for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            Invitation::from_bytes(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut extended = bytes.clone();
    extended.extend_from_slice(&[0x78, 0x01]); // field 15 again: a repeated signature
    assert!(Invitation::from_bytes(&extended).is_err());
    let mut unknown = bytes.clone();
    unknown.extend_from_slice(&[0x80, 0x01, 0x00]); // an unknown field 16
    assert!(matches!(
        Invitation::from_bytes(&unknown),
        Err(InvitationError::Malformed(_))
    ));
}

#[test]
fn a_signature_from_another_identity_does_not_verify() {
    // Mallory re-signs Alice's bundle with a queue of her own: the bundle's signatures
    // name Alice's key, so the invitation cannot claim to be Mallory's, and claiming to be
    // Alice's needs Alice's signature.
    let alice = memory_profile();
    let mallory = memory_profile();
    let mut rng = rand::rng();
    let bundle = block_on(alice.prekey_bundle(&mut rng)).unwrap();
    let queue = SendCapability {
        relay: relay(),
        sender_id: SenderId::random(&mut rng),
        sender_key: QueueKeyPair::generate(&mut rng),
    };
    assert!(matches!(
        Invitation::new(mallory.identity().key_pair(), bundle, queue, &mut rng),
        Err(InvitationError::Malformed(_))
    ));
}

#[test]
fn malformed_uris_are_typed_errors() {
    let uri = invitation(&memory_profile()).to_uri();
    let body = uri.strip_prefix(INVITATION_URI_PREFIX).unwrap();
    assert_eq!(
        Invitation::from_uri("https://example.org/#abc").unwrap_err(),
        InvitationError::NotAnInvitation
    );
    assert_eq!(
        Invitation::from_uri(&format!("{INVITATION_URI_PREFIX}{body}=")).unwrap_err(),
        InvitationError::InvalidEncoding
    );
    assert_eq!(
        Invitation::from_uri(&format!("{INVITATION_URI_PREFIX}{body}!")).unwrap_err(),
        InvitationError::InvalidEncoding
    );
    assert!(matches!(
        Invitation::from_uri(&format!(
            "{INVITATION_URI_PREFIX}{}",
            &body[..body.len() - 8]
        )),
        Err(InvitationError::Malformed(_) | InvitationError::InvalidEncoding)
    ));
    assert!(matches!(
        Invitation::from_uri(&format!("{INVITATION_URI_PREFIX}{}", "A".repeat(4000))),
        Err(InvitationError::TooLong(_))
    ));
    assert!(matches!(
        Invitation::from_bytes(&vec![0; MAX_INVITATION_BYTES + 1]),
        Err(InvitationError::TooLong(_))
    ));
    assert!(Invitation::from_scanned(b"").is_err());
    assert!(Invitation::from_scanned(b"hello").is_err());
}

/// Writes the seed corpus of the `invitation` fuzz target: a valid invitation as bytes and
/// as a URI, and altered copies. Run by hand when the format changes.
#[test]
#[ignore = "writes the fuzz corpus; run by hand"]
fn write_invitation_fuzz_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/invitation");
    std::fs::create_dir_all(&dir).unwrap();
    let made = invitation(&memory_profile());
    let bytes = made.to_bytes().to_vec();
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 1;
    let uri = made.to_uri();
    for (name, data) in [
        ("valid-bytes", bytes.clone()),
        ("valid-uri", uri.clone().into_bytes()),
        ("bad-flipped-byte", flipped),
        ("bad-truncated", bytes[..bytes.len() - 1].to_vec()),
        (
            "bad-uri-truncated",
            uri.as_bytes()[..uri.len() - 5].to_vec(),
        ),
        ("bad-uri-padding", format!("{uri}=").into_bytes()),
        ("bad-empty", Vec::new()),
    ] {
        std::fs::write(dir.join(name), data).unwrap();
    }
}
