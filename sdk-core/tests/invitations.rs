//! Invitations as a format: made and signed by the inviter's profile, carried as a URI or a
//! QR code (decoded with a real QR reader), parsed and verified by the invitee, who starts a
//! post-quantum session from them. Every altered byte, a truncation or an extension fails
//! to parse or to verify; malformed URIs are typed errors.

mod common;

use common::qr_scan::scan_png;
use common::{block_on, memory_profile, now};
use sotto_core::Profile;
use sotto_core::invitation::{
    INVITATION_URI_PREFIX, Invitation, InvitationError, InvitationLink, MAX_INVITATION_BYTES,
    MAX_SHORT_URI_LEN, SEALED_LEN, SHORT_URI_PREFIX, SendCapability, ShortInvitation,
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

/// A short link for an invitation on `relay()`, as a client makes one.
fn short_link() -> ShortInvitation {
    ShortInvitation::for_queue(
        relay(),
        &QueueKeyPair::generate(&mut rand::rng()).private_bytes(),
    )
}

#[test]
fn a_short_link_fits_a_small_qr_code_and_opens_its_sealed_invitation() {
    let alice = memory_profile();
    let made = invitation(&alice);
    let short = short_link();
    let link = short.to_uri();
    assert!(link.starts_with(SHORT_URI_PREFIX), "{link}");
    assert!(link.len() <= 200, "{} characters: {link}", link.len());
    // A QR code of version 10 or lower at level M: what a phone reads off a screen.
    let code = sotto_core::qr::QrCode::encode(link.as_bytes()).unwrap();
    assert!(code.version() <= 10, "version {}", code.version());
    let scanned = scan_png(&short.qr_png().unwrap());
    let InvitationLink::Short(parsed) = InvitationLink::from_scanned(&scanned).unwrap() else {
        panic!("a short link scans as a short link");
    };
    assert_eq!(parsed, short);
    assert_eq!(parsed.relay(), &relay());

    // Every sealed invitation has the same size, and opens to the same invitation.
    let mut rng = rand::rng();
    let sealed = short.seal(&made, &mut rng).unwrap();
    assert_eq!(sealed.len(), SEALED_LEN);
    let opened = parsed.open(&sealed).unwrap();
    assert_eq!(opened.to_bytes(), made.to_bytes());
    assert_ne!(
        short.seal(&made, &mut rng).unwrap(),
        sealed,
        "a fresh nonce each time"
    );

    // The full link still parses as one, and `link` prefers the short one once attached.
    assert!(matches!(
        InvitationLink::parse(&made.to_uri()).unwrap(),
        InvitationLink::Full(_)
    ));
    assert_eq!(made.link(), made.to_uri());
    let with_short = made.clone().with_short(short.clone());
    assert_eq!(with_short.link(), link);
    assert_eq!(
        scan_png(&with_short.link_qr_png().unwrap()),
        link.as_bytes()
    );
}

#[test]
fn a_sealed_invitation_opens_only_whole_and_with_its_own_link() {
    let made = invitation(&memory_profile());
    let short = short_link();
    let sealed = short.seal(&made, &mut rand::rng()).unwrap();
    let malformed = |result: Result<Invitation, InvitationError>| {
        matches!(result, Err(InvitationError::Malformed(_)))
    };
    // Another link's seed, every flipped byte, a truncation, an extension.
    assert!(malformed(short_link().open(&sealed)));
    for index in [0, 23, 24, 1000, SEALED_LEN - 1] {
        let mut altered = sealed.clone();
        altered[index] ^= 0x01;
        assert!(malformed(short.open(&altered)), "byte {index}");
    }
    assert!(malformed(short.open(&sealed[..SEALED_LEN - 1])));
    assert!(malformed(short.open(&[sealed.clone(), vec![0]].concat())));
    assert!(malformed(short.open(&[])));
    // An invitation whose queue is on another relay than the link's.
    let elsewhere = ShortInvitation::for_queue(
        RelayAddress::parse("sotto://AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8@other.example:1")
            .unwrap(),
        b"another queue key",
    );
    let sealed_elsewhere = elsewhere.seal(&made, &mut rand::rng()).unwrap();
    assert!(malformed(elsewhere.open(&sealed_elsewhere)));
}

#[test]
fn malformed_short_links_are_typed_errors() {
    let good = short_link().to_uri();
    let (relay_part, seed) = good
        .strip_prefix(SHORT_URI_PREFIX)
        .unwrap()
        .split_once('#')
        .unwrap();
    type Expected = fn(&InvitationError) -> bool;
    let cases: Vec<(String, Expected)> = vec![
        (format!("{SHORT_URI_PREFIX}{relay_part}"), |e| {
            matches!(e, InvitationError::Malformed(_))
        }),
        (
            format!("{SHORT_URI_PREFIX}{relay_part}#{}", &seed[1..]),
            |e| matches!(e, InvitationError::InvalidEncoding),
        ),
        (
            format!("{SHORT_URI_PREFIX}{relay_part}#{}", "*".repeat(43)),
            |e| matches!(e, InvitationError::InvalidEncoding),
        ),
        (
            format!("{SHORT_URI_PREFIX}nobody@example.org:1#{seed}"),
            |e| matches!(e, InvitationError::Malformed(_)),
        ),
        (
            format!("{SHORT_URI_PREFIX}{}", "A".repeat(MAX_SHORT_URI_LEN)),
            |e| matches!(e, InvitationError::TooLong(_)),
        ),
        (format!("https://invite/{relay_part}#{seed}"), |e| {
            matches!(e, InvitationError::NotAnInvitation)
        }),
    ];
    for (link, expected) in cases {
        match ShortInvitation::parse(&link) {
            Err(error) => assert!(expected(&error), "{link}: {error:?}"),
            Ok(parsed) => panic!("{link} parsed as {parsed:?}"),
        }
    }
    // Spaces around a pasted link are forgiven.
    assert!(ShortInvitation::parse(&format!("  {good}\n")).is_ok());
}
