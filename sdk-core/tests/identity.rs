//! Identity as a key: the text and byte forms a user shares, the display-name rules, how an
//! identity lives in a store, and that its private half never shows in debug output.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use common::block_on;
use sotto_core::identity::{IdentityError, MAX_DISPLAY_NAME_BYTES, PUBLIC_IDENTITY_PREFIX};
use sotto_core::store::{ChangeSet, IdentityRecord, MemoryStore, Store, StoreError};
use sotto_core::{Identity, PublicIdentity};

fn alice() -> Identity {
    Identity::generate(Some("alice".into()), &mut rand::rng()).expect("identity")
}

/// The text form of arbitrary key bytes, as a careless or hostile peer might send it.
fn text_of(bytes: &[u8]) -> String {
    format!("{PUBLIC_IDENTITY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

// --- The shared forms of a public identity ---

#[test]
fn alice_shares_her_identity_as_text_and_bob_reads_it_back() {
    let alice = alice();
    let text = alice.public().to_text();
    assert!(text.starts_with("sotto-id:"), "{text}");
    assert_eq!(text, alice.public().to_string(), "Display is the text form");
    assert_eq!(PublicIdentity::from_text(&text).unwrap(), alice.public());
}

#[test]
fn text_pasted_with_surrounding_whitespace_still_reads() {
    let alice = alice();
    let text = alice.public().to_text();
    for pasted in [
        format!("  {text}  "),
        format!("\n{text}\n"),
        format!("\t{text}\r\n"),
        format!("\u{3000}{text}\u{00a0}"),
    ] {
        assert_eq!(
            PublicIdentity::from_text(&pasted).unwrap(),
            alice.public(),
            "{pasted:?}"
        );
    }
}

#[test]
fn the_byte_form_round_trips() {
    let alice = alice();
    let bytes = alice.public().to_bytes();
    assert_eq!(bytes.len(), 33);
    assert_eq!(bytes[0], 0x05, "Curve25519 key type byte");
    assert_eq!(PublicIdentity::from_bytes(&bytes).unwrap(), alice.public());
    assert_eq!(
        alice.public().fingerprint_name(),
        URL_SAFE_NO_PAD.encode(&bytes),
        "the text form carries exactly the byte form"
    );
}

#[test]
fn two_identities_never_share_a_text_form() {
    let a = alice();
    let b = alice();
    assert_ne!(a.public(), b.public());
    assert_ne!(a.public().to_text(), b.public().to_text());
}

// --- Malformed text and bytes: each is its own typed error ---

#[test]
fn text_without_the_sotto_prefix_is_missing_prefix() {
    let encoded = alice().public().fingerprint_name();
    for text in [
        encoded.clone(),                      // no prefix at all
        format!("sotto-key:{encoded}"),       // wrong prefix
        format!("SOTTO-ID:{encoded}"),        // prefix is case-sensitive
        format!("sotto-id {encoded}"),        // wrong separator
        format!("x sotto-id:{encoded}"),      // text before the prefix
        format!("\u{0455}otto-id:{encoded}"), // Cyrillic "s": a look-alike prefix
        String::new(),                        // empty
        "   ".into(),                         // only whitespace
    ] {
        assert!(
            matches!(
                PublicIdentity::from_text(&text),
                Err(IdentityError::MissingPrefix)
            ),
            "{text:?}"
        );
    }
}

#[test]
fn text_that_is_not_unpadded_base64url_is_invalid_encoding() {
    let alice = alice();
    let bytes = alice.public().to_bytes();
    let good = alice.public().to_text();
    let mut cases = vec![
        format!("{good}="),                           // padding after a full key
        format!("{good}=="),                          // more padding
        format!("{PUBLIC_IDENTITY_PREFIX}ab+/"),      // standard-alphabet characters
        format!("{PUBLIC_IDENTITY_PREFIX}ab*d"),      // not base64 at all
        format!("{PUBLIC_IDENTITY_PREFIX}ab cd"),     // inner whitespace
        format!("{good}\u{e9}"),                      // non-ASCII letter
        format!("{PUBLIC_IDENTITY_PREFIX}\u{1F511}"), // non-ASCII emoji
        format!("{PUBLIC_IDENTITY_PREFIX}A"),         // one character cannot be base64
        // Padded base64url of 32 bytes: refused for the padding, before any length check.
        format!("{PUBLIC_IDENTITY_PREFIX}{}", URL_SAFE.encode(&bytes[..32])),
    ];
    // A key whose base64url needs '-' or '_' written with the standard alphabet instead.
    let mut with_symbols = bytes.clone();
    with_symbols[1..].fill(0xFB); // 0xFB bytes encode to '-'/'+' and '_'/'/' characters
    cases.push(format!(
        "{PUBLIC_IDENTITY_PREFIX}{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&with_symbols)
    ));
    for text in cases {
        assert!(
            matches!(
                PublicIdentity::from_text(&text),
                Err(IdentityError::InvalidEncoding)
            ),
            "{text:?}: {:?}",
            PublicIdentity::from_text(&text)
        );
    }
}

#[test]
fn a_key_of_the_wrong_length_is_invalid_length() {
    let bytes = alice().public().to_bytes();
    let mut long = bytes.clone();
    long.push(0);
    let cases: [(&[u8], usize); 5] = [
        (&bytes[..32], 32),
        (&bytes[1..], 32), // the raw key without its type byte
        (&long, 34),
        (&bytes[..1], 1),
        (&[], 0),
    ];
    for (key, len) in cases {
        assert!(
            matches!(PublicIdentity::from_bytes(key), Err(IdentityError::InvalidLength(n)) if n == len),
            "{len} bytes: {:?}",
            PublicIdentity::from_bytes(key)
        );
        assert!(
            matches!(PublicIdentity::from_text(&text_of(key)), Err(IdentityError::InvalidLength(n)) if n == len),
            "{len} bytes as text: {:?}",
            PublicIdentity::from_text(&text_of(key))
        );
    }
}

#[test]
fn the_prefix_alone_is_an_empty_key() {
    assert!(matches!(
        PublicIdentity::from_text(PUBLIC_IDENTITY_PREFIX),
        Err(IdentityError::InvalidLength(0))
    ));
    assert!(matches!(
        PublicIdentity::from_text(&format!(" {PUBLIC_IDENTITY_PREFIX} ")),
        Err(IdentityError::InvalidLength(0))
    ));
}

#[test]
fn thirty_three_bytes_with_another_key_type_are_invalid_key() {
    let bytes = alice().public().to_bytes();
    for type_byte in [0x00, 0x04, 0x06, 0x08, 0xFF] {
        let mut other = bytes.clone();
        other[0] = type_byte;
        assert!(
            matches!(
                PublicIdentity::from_bytes(&other),
                Err(IdentityError::InvalidKey(_))
            ),
            "type byte {type_byte:#04x}: {:?}",
            PublicIdentity::from_bytes(&other)
        );
        assert!(
            matches!(
                PublicIdentity::from_text(&text_of(&other)),
                Err(IdentityError::InvalidKey(_))
            ),
            "type byte {type_byte:#04x} as text"
        );
    }
}

// --- Display names: a local label with two rules ---

#[test]
fn a_display_name_up_to_the_limit_is_kept() {
    let mut rng = rand::rng();
    for name in [
        "a".repeat(MAX_DISPLAY_NAME_BYTES),
        "\u{e9}".repeat(MAX_DISPLAY_NAME_BYTES / 2),
        "Zo\u{eb} \u{1F98A}".into(),
    ] {
        let identity = Identity::generate(Some(name.clone()), &mut rng).expect("valid name");
        assert_eq!(identity.display_name(), Some(name.as_str()));
    }
    let anonymous = Identity::generate(None, &mut rng).unwrap();
    assert_eq!(anonymous.display_name(), None);
}

#[test]
fn a_display_name_too_long_or_with_control_characters_is_refused() {
    let mut rng = rand::rng();
    for name in [
        "a".repeat(MAX_DISPLAY_NAME_BYTES + 1),
        // 65 characters but 130 bytes: the limit is in bytes.
        "\u{e9}".repeat(MAX_DISPLAY_NAME_BYTES / 2 + 1),
        "alice\nbob".into(),
        "tab\there".into(),
        "nul\0".into(),
        "del\u{7f}".into(),
        "c1 control \u{85}".into(),
        "\u{1b}[31mred".into(),
    ] {
        assert!(
            matches!(
                Identity::generate(Some(name.clone()), &mut rng),
                Err(IdentityError::InvalidDisplayName)
            ),
            "{name:?}"
        );
    }
}

#[test]
fn a_refused_rename_keeps_the_old_name() {
    let mut alice = alice();
    assert!(matches!(
        alice.set_display_name(Some("bad\nname".into())),
        Err(IdentityError::InvalidDisplayName)
    ));
    assert_eq!(alice.display_name(), Some("alice"));
    alice.set_display_name(Some("Alice L.".into())).unwrap();
    assert_eq!(alice.display_name(), Some("Alice L."));
    alice.set_display_name(None).unwrap();
    assert_eq!(alice.display_name(), None);
}

// --- An identity in a store ---

#[test]
fn an_identity_saved_to_a_store_loads_back_the_same() {
    let alice = alice();
    let store = MemoryStore::new();
    block_on(alice.save_new(&store)).expect("save");
    let loaded = block_on(Identity::load(&store)).expect("load");
    assert_eq!(loaded.public(), alice.public());
    assert_eq!(loaded.registration_id(), alice.registration_id());
    assert_eq!(loaded.display_name(), Some("alice"));
    assert_eq!(
        loaded.key_pair().private_key().serialize(),
        alice.key_pair().private_key().serialize(),
        "the private key survives the store"
    );
}

#[test]
fn an_identity_without_a_name_loads_back_without_one() {
    let anonymous = Identity::generate(None, &mut rand::rng()).unwrap();
    let store = MemoryStore::new();
    block_on(anonymous.save_new(&store)).unwrap();
    let loaded = block_on(Identity::load(&store)).unwrap();
    assert_eq!(loaded.public(), anonymous.public());
    assert_eq!(loaded.display_name(), None);
}

#[test]
fn registration_ids_are_nonzero_14_bit() {
    let mut rng = rand::rng();
    for _ in 0..64 {
        let id = Identity::generate(None, &mut rng)
            .unwrap()
            .registration_id();
        assert!((1..=0x3FFF).contains(&id), "{id}");
    }
}

#[test]
fn a_second_identity_never_overwrites_the_first() {
    let alice = alice();
    let intruder = Identity::generate(Some("intruder".into()), &mut rand::rng()).unwrap();
    let store = MemoryStore::new();
    block_on(alice.save_new(&store)).unwrap();
    let before = block_on(store.load_identity()).unwrap();
    assert!(matches!(
        block_on(intruder.save_new(&store)),
        Err(IdentityError::Store(StoreError::IdentityExists))
    ));
    assert_eq!(block_on(store.load_identity()).unwrap(), before);
    let loaded = block_on(Identity::load(&store)).unwrap();
    assert_eq!(loaded.public(), alice.public());
    assert_eq!(loaded.display_name(), Some("alice"));
    // Saving the same identity twice is refused the same way.
    assert!(matches!(
        block_on(alice.save_new(&store)),
        Err(IdentityError::Store(StoreError::IdentityExists))
    ));
}

#[test]
fn loading_from_an_empty_store_is_no_identity() {
    assert!(matches!(
        block_on(Identity::load(&MemoryStore::new())),
        Err(IdentityError::Store(StoreError::NoIdentity))
    ));
}

#[test]
fn a_damaged_stored_identity_is_corrupt_not_a_panic() {
    let alice = alice();
    let record = |key_pair: Vec<u8>, display_name: &str| IdentityRecord {
        key_pair,
        registration_id: alice.registration_id(),
        display_name: Some(display_name.into()),
    };
    let damaged = [
        record(vec![0xFF; 7], "alice"),
        record(Vec::new(), "alice"),
        record(alice.to_record().key_pair.clone(), "line\nbreak"),
    ];
    for record in damaged {
        let store = MemoryStore::new();
        let changes = ChangeSet {
            identity: Some(record.clone()),
            ..ChangeSet::default()
        };
        block_on(store.apply(changes)).unwrap();
        assert!(
            matches!(
                block_on(Identity::load(&store)),
                Err(IdentityError::Corrupt(_))
            ),
            "{record:?}"
        );
    }
}

#[test]
fn an_identity_record_round_trips() {
    let alice = alice();
    let record = alice.to_record();
    let back = Identity::from_record(&record).unwrap();
    assert_eq!(back.public(), alice.public());
    assert_eq!(back.to_record(), record);
}

// --- Debug output never shows the private key ---

/// Every rendering of `secret` a careless `Debug` could produce.
fn renderings(secret: &[u8]) -> Vec<String> {
    let hex_lower: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let hex_upper = hex_lower.to_uppercase();
    let decimal_list = format!("{secret:?}");
    let decimal_inner = decimal_list
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let decimal_tight = decimal_inner.replace(' ', "");
    vec![
        hex_lower,
        hex_upper,
        decimal_list,
        decimal_inner,
        decimal_tight,
        URL_SAFE_NO_PAD.encode(secret),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(secret),
    ]
}

fn assert_hides(debug: &str, secret: &[u8], what: &str) {
    for rendering in renderings(secret) {
        assert!(
            !debug.contains(&rendering),
            "{what} Debug leaks the private key as {rendering:?}: {debug}"
        );
    }
    // No run of 8 key bytes in a row, in any of the forms, either.
    for window in secret.windows(8) {
        for rendering in renderings(window) {
            assert!(
                !debug.contains(&rendering),
                "{what} Debug leaks part of the private key as {rendering:?}: {debug}"
            );
        }
    }
}

#[test]
fn debug_of_an_identity_never_prints_the_private_key() {
    let alice = alice();
    let private = alice.key_pair().private_key().serialize();
    for debug in [format!("{alice:?}"), format!("{alice:#?}")] {
        // Only the private key: the public half is meant to show, as the text form.
        assert_hides(&debug, &private, "Identity");
        assert!(debug.contains(&alice.public().to_text()), "{debug}");
        assert!(debug.contains("alice"), "{debug}");
    }
}

#[test]
fn debug_of_an_identity_record_never_prints_the_private_key() {
    let alice = alice();
    let record = alice.to_record();
    let private = alice.key_pair().private_key().serialize();
    for debug in [format!("{record:?}"), format!("{record:#?}")] {
        assert!(debug.contains("<secret>"), "{debug}");
        assert_hides(&debug, &private, "IdentityRecord");
        assert_hides(&debug, &record.key_pair, "IdentityRecord");
        assert!(
            debug.contains(&alice.registration_id().to_string()),
            "{debug}"
        );
    }
}

#[test]
fn debug_of_a_public_identity_is_its_text_form() {
    let alice = alice();
    assert_eq!(
        format!("{:?}", alice.public()),
        format!("PublicIdentity({})", alice.public().to_text())
    );
}
