//! Safety numbers and their QR codes, through the public API only: two people compare
//! digits, or one scans the other's screen.

mod common;

use common::qr_scan::scan_png;
use libsignal_protocol::{Fingerprint, IdentityKey, IdentityKeyPair};
use sotto_core::qr::{self, QrCode, QrError};
use sotto_core::safety::{
    Comparison, DIGITS_LEN, FINGERPRINT_ITERATIONS, FINGERPRINT_VERSION, SafetyError, SafetyNumber,
};
use sotto_core::{Error, ErrorCode};

fn identity() -> IdentityKey {
    *IdentityKeyPair::generate(&mut rand::rng()).identity_key()
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn alice_and_bob_see_the_same_sixty_digits() {
    let (alice, bob) = (identity(), identity());
    let alices = SafetyNumber::new(&alice, &bob).unwrap();
    let bobs = SafetyNumber::new(&bob, &alice).unwrap();

    assert_eq!(alices.digits(), bobs.digits());
    assert_eq!(alices.digits().len(), DIGITS_LEN);
    assert!(alices.digits().bytes().all(|b| b.is_ascii_digit()));

    let groups = alices.digit_groups();
    assert_eq!(groups.len(), 12);
    assert!(groups.iter().all(|group| group.len() == 5));
    assert_eq!(groups.concat(), alices.digits());
    assert_eq!(alices.to_string(), groups.join(" "));

    // The scannable codes are directional: each holds its own side first.
    assert_ne!(alices.scannable(), bobs.scannable());
}

#[test]
fn a_conversation_with_someone_else_has_another_number() {
    let (alice, bob, carol) = (identity(), identity(), identity());
    let with_bob = SafetyNumber::new(&alice, &bob).unwrap();
    let with_carol = SafetyNumber::new(&alice, &carol).unwrap();
    assert_ne!(with_bob.digits(), with_carol.digits());
}

#[test]
fn bob_scans_alices_png_qr_code_and_they_match() {
    let (alice, bob) = (identity(), identity());
    let alices = SafetyNumber::new(&alice, &bob).unwrap();
    let bobs = SafetyNumber::new(&bob, &alice).unwrap();

    let scanned = scan_png(&alices.qr_png().unwrap());
    assert_eq!(
        scanned,
        alices.scannable(),
        "the QR round-trips the exact bytes"
    );
    assert_eq!(bobs.compare_scanned(&scanned).unwrap(), Comparison::Match);

    // And the other way round.
    let scanned = scan_png(&bobs.qr_png().unwrap());
    assert_eq!(alices.compare_scanned(&scanned).unwrap(), Comparison::Match);
}

#[test]
fn a_code_from_a_third_identity_is_a_mismatch() {
    let (alice, bob, mallory) = (identity(), identity(), identity());
    let bobs = SafetyNumber::new(&bob, &alice).unwrap();
    // Mallory sits in the middle: Bob is really talking to Mallory's key.
    let mallorys = SafetyNumber::new(&mallory, &bob).unwrap();
    let scanned = scan_png(&mallorys.qr_png().unwrap());
    assert_eq!(
        bobs.compare_scanned(&scanned).unwrap(),
        Comparison::Mismatch
    );

    // A code of Alice's conversation with someone else does not match either.
    let alice_with_mallory = SafetyNumber::new(&alice, &mallory).unwrap();
    assert_eq!(
        bobs.compare_scanned(alice_with_mallory.scannable())
            .unwrap(),
        Comparison::Mismatch
    );
}

#[test]
fn scanning_your_own_code_is_a_mismatch() {
    let (alice, bob) = (identity(), identity());
    let alices = SafetyNumber::new(&alice, &bob).unwrap();
    assert_eq!(
        alices.compare_scanned(alices.scannable()).unwrap(),
        Comparison::Mismatch
    );
}

#[test]
fn a_code_from_an_older_fingerprint_version_says_so() {
    let (alice, bob) = (identity(), identity());
    let bobs = SafetyNumber::new(&bob, &alice).unwrap();
    // An old client would still produce version-1 codes from the same keys.
    let (alice_id, bob_id) = (alice.serialize(), bob.serialize());
    let old = Fingerprint::new(1, FINGERPRINT_ITERATIONS, &alice_id, &alice, &bob_id, &bob)
        .unwrap()
        .scannable
        .serialize()
        .unwrap();
    assert_eq!(
        bobs.compare_scanned(&old).unwrap(),
        Comparison::DifferentVersion { ours: 2, theirs: 1 }
    );
}

#[test]
fn a_code_from_a_newer_fingerprint_version_says_so() {
    let (alice, bob) = (identity(), identity());
    let alices = SafetyNumber::new(&alice, &bob).unwrap();
    let bobs = SafetyNumber::new(&bob, &alice).unwrap();
    // Re-encode Alice's code as version 3: field 1 (varint) is the first two bytes.
    let mut newer = alices.scannable().to_vec();
    assert_eq!(newer[..2], [0x08, FINGERPRINT_VERSION as u8]);
    newer[1] = 3;
    assert_eq!(
        bobs.compare_scanned(&newer).unwrap(),
        Comparison::DifferentVersion { ours: 2, theirs: 3 }
    );
    // A future version may change the layout: the version alone decides.
    assert_eq!(
        bobs.compare_scanned(&[0x08, 0x07]).unwrap(),
        Comparison::DifferentVersion { ours: 2, theirs: 7 }
    );
}

#[test]
fn bytes_that_are_not_a_safety_number_are_a_typed_error_not_a_mismatch() {
    let (alice, bob) = (identity(), identity());
    let alices = SafetyNumber::new(&alice, &bob).unwrap();
    let bobs = SafetyNumber::new(&bob, &alice).unwrap();
    let good = alices.scannable();

    let mut short_half = good.to_vec();
    // Shorten the local fingerprint to 31 bytes: lengths 0x22 -> 0x21, 0x20 -> 0x1f.
    assert_eq!(short_half[2..6], [0x12, 0x22, 0x0a, 0x20]);
    short_half[3] = 0x21;
    short_half[5] = 0x1f;
    short_half.remove(6);

    let cases: [(&str, &[u8]); 7] = [
        ("empty", b""),
        ("text", b"sotto://invite#not-a-safety-number"),
        ("garbage", &[0xff; 40]),
        ("truncated", &good[..good.len() - 1]),
        ("only a version", &[0x08, 0x02]),
        ("missing remote half", &good[..38]),
        ("31-byte local half", &short_half),
    ];
    for (name, scanned) in cases {
        match bobs.compare_scanned(scanned) {
            Err(SafetyError::MalformedCode(_)) => {}
            other => panic!("{name}: expected MalformedCode, got {other:?}"),
        }
    }

    let error = Error::from(bobs.compare_scanned(b"").unwrap_err());
    assert_eq!(error.code(), ErrorCode::Safety);
}

#[test]
fn safety_number_format_is_pinned() {
    // libsignal's own test identities (fingerprint.rs), each identified by its key bytes.
    let alice = IdentityKey::decode(&hex(
        "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868",
    ))
    .unwrap();
    let bob = IdentityKey::decode(&hex(
        "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b",
    ))
    .unwrap();
    let alices = SafetyNumber::new(&alice, &bob).unwrap();
    let bobs = SafetyNumber::new(&bob, &alice).unwrap();
    assert_eq!(alices.digits(), EXPECTED_DIGITS);
    assert_eq!(to_hex(alices.scannable()), EXPECTED_ALICE_SCANNABLE);
    assert_eq!(bobs.digits(), EXPECTED_DIGITS);
    assert_eq!(
        bobs.compare_scanned(alices.scannable()).unwrap(),
        Comparison::Match
    );
    // 74 bytes at level M is a version-5 symbol: 37 modules + 2 x 4 quiet, 8 px each.
    let code = QrCode::encode(alices.scannable()).unwrap();
    assert_eq!(
        (code.version(), code.width(), code.image_size()),
        (5, 37, 360)
    );
}

/// Computed independently (a Python model of libsignal's algorithm, checked against
/// libsignal's own version-1 vector) with each key's bytes as its stable identifier.
const EXPECTED_DIGITS: &str = "888461163253097492297928758639930081262860444539187709574408";
const EXPECTED_ALICE_SCANNABLE: &str = concat!(
    "0802",
    "12220a20384be9e72e8097c9ff7020dc8676498152ee976dc49c28567757bbd69b6ff1f1",
    "1a220a2072e688be30d6b17c44b470f198ce1caa6cf3bf7ec89b3dca07d913e36b083197",
);

#[test]
fn the_svg_is_an_svg_document() {
    let (alice, bob) = (identity(), identity());
    let svg = SafetyNumber::new(&alice, &bob).unwrap().qr_svg().unwrap();
    assert!(svg.contains("<svg"), "{svg}");
    assert!(svg.ends_with("</svg>"));
    // Version 5: (37 + 8) modules x 8 units.
    assert!(svg.contains(r#"width="360" height="360""#), "{svg}");
}

#[test]
fn any_bytes_round_trip_through_a_png_qr_code() {
    let all_bytes: Vec<u8> = (0..=255).collect();
    let largest: Vec<u8> = (0..qr::MAX_PAYLOAD_LEN)
        .map(|i| (i * 7 + 3) as u8)
        .collect();
    for data in [
        &b""[..],
        b"0123456789",
        b"HELLO WORLD",
        &all_bytes,
        &largest,
    ] {
        let png = qr::render_png(data).unwrap();
        assert_eq!(scan_png(&png), data, "{} bytes", data.len());
    }
    assert_eq!(QrCode::encode(&largest).unwrap().version(), 40);
    assert!(qr::render_svg(&all_bytes).unwrap().contains("<svg"));
}

#[test]
fn data_too_long_for_a_qr_code_is_a_typed_error() {
    let too_long = vec![0x42; qr::MAX_PAYLOAD_LEN + 1];
    let expected = QrError::DataTooLong {
        len: qr::MAX_PAYLOAD_LEN + 1,
        max: qr::MAX_PAYLOAD_LEN,
    };
    assert_eq!(qr::render_png(&too_long).unwrap_err(), expected);
    assert_eq!(qr::render_svg(&too_long).unwrap_err(), expected);
    assert_eq!(
        qr::render_png(&vec![0; 1 << 20]).unwrap_err(),
        QrError::DataTooLong {
            len: 1 << 20,
            max: qr::MAX_PAYLOAD_LEN
        }
    );
    assert_eq!(Error::from(expected).code(), ErrorCode::Qr);
}

#[test]
fn module_matrix_is_readable_for_native_drawing() {
    let code = QrCode::encode(b"sotto").unwrap();
    assert_eq!(code.version(), 1);
    assert_eq!(code.width(), 21);
    // Finder pattern corners are dark; outside the symbol is light.
    assert!(code.is_dark(0, 0) && code.is_dark(20, 0) && code.is_dark(0, 20));
    assert!(!code.is_dark(21, 0) && !code.is_dark(usize::MAX, 3));
}

#[test]
fn typed_digits_match_as_written_in_groups_and_mismatch_otherwise() {
    let (alice, bob, mallory) = (identity(), identity(), identity());
    let alices = SafetyNumber::new(&alice, &bob).unwrap();
    let bobs = SafetyNumber::new(&bob, &alice).unwrap();
    // Bob types what Alice's screen shows, in groups over lines, or all in one run.
    let grouped = alices.digit_groups().join(" ");
    assert_eq!(bobs.compare_typed(&grouped).unwrap(), Comparison::Match);
    assert_eq!(
        bobs.compare_typed(&format!("{}\n", alices.digits()))
            .unwrap(),
        Comparison::Match
    );
    let other = SafetyNumber::new(&mallory, &bob).unwrap();
    assert_eq!(
        bobs.compare_typed(other.digits()).unwrap(),
        Comparison::Mismatch
    );
    // One digit changed is a mismatch; slips are typed errors, not mismatches.
    let mut changed = alices.digits().as_bytes().to_vec();
    changed[59] = if changed[59] == b'0' { b'1' } else { b'0' };
    assert_eq!(
        bobs.compare_typed(std::str::from_utf8(&changed).unwrap())
            .unwrap(),
        Comparison::Mismatch
    );
    for slip in [
        "",
        &alices.digits()[..59],
        &format!("{}0", alices.digits()),
        &format!("l{}", &alices.digits()[1..]),
        "١٢٣",
    ] {
        assert!(
            matches!(
                bobs.compare_typed(slip),
                Err(sotto_core::safety::SafetyError::MalformedCode(_))
            ),
            "{slip:?}"
        );
    }
}
