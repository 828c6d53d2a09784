//! How a profile's database key is made, sealed and recovered: in the real OS keychain
//! (the kernel's keyutils on Linux, Secret Service where one answers) or from a passphrase
//! with Argon2id, and the plaintext key header that says which, read strictly.

use std::path::Path;

use sotto_core::store::{
    Argon2Params, DatabaseKey, KeyError, KeyInfo, KeyMode, KeychainEntry, KeychainStore,
    MAX_KEY_INFO_LEN, PassphraseKdf, SALT_LEN, create_with_passphrase, unseal_with_passphrase,
};
use sotto_core::{Error, ErrorCode};

/// Cheap parameters (8 MiB, one pass) so the suite stays fast; the defaults get their own
/// test.
fn fast() -> Argon2Params {
    Argon2Params::new(8 * 1024, 1, 1).unwrap()
}

/// The salt of the reference vectors: bytes 0 to 15.
fn counting_salt() -> [u8; SALT_LEN] {
    std::array::from_fn(|i| i as u8)
}

fn hex(key: &DatabaseKey) -> String {
    key.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A passphrase header with every field given, as text, for the malformed-header cases.
fn passphrase_header(memory_kib: &str, iterations: &str, parallelism: &str, salt: &str) -> String {
    format!(
        r#"{{"version":1,"mode":{{"passphrase":{{"kdf":"argon2id","memory_kib":{memory_kib},"iterations":{iterations},"parallelism":{parallelism},"salt":{salt}}}}}}}"#
    )
}

const SALT_0_15: &str = "\"AAECAwQFBgcICQoLDA0ODw==\"";

// --- Passphrase mode ---

#[test]
fn a_passphrase_profile_opens_again_with_the_same_passphrase() {
    let (key, info) = create_with_passphrase("correct horse battery staple", fast()).unwrap();
    let header = info.encode();

    let read_back = KeyInfo::decode(&header).unwrap();
    assert_eq!(read_back, info);
    assert!(read_back.needs_passphrase());
    assert_eq!(
        read_back
            .unseal(Some("correct horse battery staple"))
            .unwrap(),
        key
    );
    let KeyMode::Passphrase(kdf) = read_back.mode() else {
        panic!("passphrase mode expected, got {:?}", read_back.mode());
    };
    assert_eq!(
        unseal_with_passphrase(kdf, "correct horse battery staple").unwrap(),
        key
    );
}

#[test]
fn derived_keys_match_the_argon2_reference_implementation() {
    // Expected values computed with the Argon2 reference C library (libargon2,
    // `argon2id_hash_raw`, version 0x13, 32-byte output), not with the crate under test.
    let cases = [
        (
            Argon2Params::new(8192, 1, 1).unwrap(),
            "correct horse battery staple",
            "9aeef75313e585f492c33c5e12d82e9ad253b7dd78632d537e899cd4eddd789c",
        ),
        (
            Argon2Params::new(16384, 2, 2).unwrap(),
            "correct horse battery staple",
            "c7c1f9550d246c376acccfacafd3208827c5d225c5c97c973eeb8b8723d1d264",
        ),
        (
            Argon2Params::new(8192, 1, 1).unwrap(),
            "pässwörd 🔑",
            "09c1a04dc193364c36292e03e0e3c352631bc71552bd1b83dd45110aaf05c1ac",
        ),
    ];
    for (params, passphrase, expected) in cases {
        let kdf = PassphraseKdf::new(params, counting_salt());
        let key = unseal_with_passphrase(&kdf, passphrase).unwrap();
        assert_eq!(hex(&key), expected, "{params:?} {passphrase:?}");
    }
}

#[test]
fn the_default_parameters_are_64_mib_3_passes_1_lane_and_round_trip() {
    let params = Argon2Params::default();
    assert_eq!(params, Argon2Params::RECOMMENDED);
    assert_eq!(
        (
            params.memory_kib(),
            params.iterations(),
            params.parallelism()
        ),
        (65536, 3, 1)
    );

    let kdf = PassphraseKdf::new(params, counting_salt());
    let key = unseal_with_passphrase(&kdf, "correct horse battery staple").unwrap();
    assert_eq!(
        hex(&key),
        "0d1a3c6523c8f06e4e0af9c515aa5b5448cfebd6838f2d52c3d8b6ef8ddc3c2e",
        "reference value from libargon2"
    );

    let (key, info) = create_with_passphrase("a default passphrase", params).unwrap();
    let read_back = KeyInfo::decode(&info.encode()).unwrap();
    assert_eq!(read_back.unseal(Some("a default passphrase")).unwrap(), key);
}

#[test]
fn a_wrong_passphrase_derives_a_different_key_and_no_error() {
    let (key, info) = create_with_passphrase("the right one", fast()).unwrap();
    let other = info.unseal(Some("the wrong one")).unwrap();
    assert_ne!(
        other, key,
        "the database, not the KDF, refuses a wrong passphrase"
    );
    let almost = info.unseal(Some("the right one ")).unwrap();
    assert_ne!(almost, key);
}

#[test]
fn two_profiles_with_the_same_passphrase_get_different_salts_and_keys() {
    let (key_a, info_a) = create_with_passphrase("shared passphrase", fast()).unwrap();
    let (key_b, info_b) = create_with_passphrase("shared passphrase", fast()).unwrap();
    let (KeyMode::Passphrase(a), KeyMode::Passphrase(b)) = (info_a.mode(), info_b.mode()) else {
        panic!("passphrase mode expected");
    };
    assert_ne!(a.salt(), b.salt());
    assert_ne!(key_a, key_b);

    // Same passphrase and parameters, one salt byte changed: another key.
    let mut salt = counting_salt();
    let one = unseal_with_passphrase(&PassphraseKdf::new(fast(), salt), "p").unwrap();
    salt[15] ^= 1;
    let two = unseal_with_passphrase(&PassphraseKdf::new(fast(), salt), "p").unwrap();
    assert_ne!(one, two);
}

#[test]
fn an_empty_passphrase_is_refused_when_creating_and_when_opening() {
    assert_eq!(
        create_with_passphrase("", fast()).unwrap_err(),
        KeyError::EmptyPassphrase
    );
    let (_, info) = create_with_passphrase("not empty", fast()).unwrap();
    assert_eq!(
        info.unseal(Some("")).unwrap_err(),
        KeyError::EmptyPassphrase
    );
}

#[test]
fn opening_a_passphrase_profile_without_a_passphrase_asks_for_one() {
    let (_, info) = create_with_passphrase("secret", fast()).unwrap();
    let error = info.unseal(None).unwrap_err();
    assert_eq!(error, KeyError::PassphraseRequired);
    assert!(error.to_string().contains("passphrase"), "{error}");
    assert_eq!(
        info.delete_key(),
        Ok(()),
        "nothing to delete outside the header"
    );
}

#[test]
fn argon2_parameters_are_bounded_inclusively() {
    for (m, t, p) in [(8192, 1, 1), (1024 * 1024, 10, 8), (65536, 3, 1)] {
        assert!(Argon2Params::new(m, t, p).is_ok(), "{m} {t} {p}");
    }
    let out_of_range = |parameter, value, min, max| KeyError::KdfParameterOutOfRange {
        parameter,
        value,
        min,
        max,
    };
    let cases = [
        (
            (8191, 1, 1),
            out_of_range("memory_kib", 8191, 8192, 1048576),
        ),
        (
            (1048577, 1, 1),
            out_of_range("memory_kib", 1048577, 8192, 1048576),
        ),
        ((8192, 0, 1), out_of_range("iterations", 0, 1, 10)),
        ((8192, 11, 1), out_of_range("iterations", 11, 1, 10)),
        ((8192, 1, 0), out_of_range("parallelism", 0, 1, 8)),
        ((8192, 1, 9), out_of_range("parallelism", 9, 1, 8)),
    ];
    for ((m, t, p), expected) in cases {
        assert_eq!(Argon2Params::new(m, t, p).unwrap_err(), expected);
    }
}

// --- The key header ---

#[test]
fn a_passphrase_header_encodes_to_this_exact_text() {
    let info = KeyInfo::new(KeyMode::Passphrase(PassphraseKdf::new(
        Argon2Params::RECOMMENDED,
        counting_salt(),
    )));
    let expected = r#"{
  "version": 1,
  "mode": {
    "passphrase": {
      "kdf": "argon2id",
      "memory_kib": 65536,
      "iterations": 3,
      "parallelism": 1,
      "salt": "AAECAwQFBgcICQoLDA0ODw=="
    }
  }
}
"#;
    assert_eq!(String::from_utf8(info.encode()).unwrap(), expected);
    assert_eq!(KeyInfo::decode(expected.as_bytes()).unwrap(), info);
}

#[test]
fn a_keychain_header_encodes_to_this_exact_text() {
    let entry = KeychainEntry::for_profile(KeychainStore::Keyutils, "5b0e2a8c-profile").unwrap();
    let info = KeyInfo::new(KeyMode::Keychain(entry));
    let expected = r#"{
  "version": 1,
  "mode": {
    "keychain": {
      "store": "keyutils",
      "service": "sotto",
      "account": "5b0e2a8c-profile"
    }
  }
}
"#;
    assert_eq!(String::from_utf8(info.encode()).unwrap(), expected);
    assert_eq!(KeyInfo::decode(expected.as_bytes()).unwrap(), info);
    assert!(!info.needs_passphrase());
}

#[test]
fn every_keychain_store_name_round_trips_through_a_header() {
    for store in KeychainStore::ALL {
        assert_eq!(KeychainStore::from_name(store.name()), Some(store));
        let entry = KeychainEntry::new(store, "sotto", "Zoë's phone").unwrap();
        let info = KeyInfo::new(KeyMode::Keychain(entry));
        assert_eq!(KeyInfo::decode(&info.encode()).unwrap(), info, "{store}");
    }
    let names: Vec<_> = KeychainStore::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["keyutils", "secret-service", "apple", "windows"]);
}

#[test]
fn whitespace_and_field_order_do_not_matter() {
    let compact = br#"{"mode":{"passphrase":{"salt":"AAECAwQFBgcICQoLDA0ODw==","parallelism":1,"iterations":3,"memory_kib":65536,"kdf":"argon2id"}},"version":1}"#;
    let expected = KeyInfo::new(KeyMode::Passphrase(PassphraseKdf::new(
        Argon2Params::RECOMMENDED,
        counting_salt(),
    )));
    assert_eq!(KeyInfo::decode(compact).unwrap(), expected);
}

/// One malformed header and the error it must give.
struct Malformed {
    case: &'static str,
    header: Vec<u8>,
    expected: KeyError,
}

fn malformed(case: &'static str, header: impl Into<Vec<u8>>, expected: KeyError) -> Malformed {
    Malformed {
        case,
        header: header.into(),
        expected,
    }
}

fn keychain_header(body: &str) -> String {
    format!(r#"{{"version":1,"mode":{{"keychain":{{{body}}}}}}}"#)
}

fn wrong_type(field: &str, expected: &'static str) -> KeyError {
    KeyError::HeaderWrongType {
        field: field.into(),
        expected,
    }
}

/// Any `HeaderNotJson`: the parser's message is not compared.
fn not_json() -> KeyError {
    KeyError::HeaderNotJson {
        reason: String::new(),
    }
}

fn missing(field: &str) -> KeyError {
    KeyError::HeaderMissingField {
        field: field.into(),
    }
}

fn unknown(field: &str) -> KeyError {
    KeyError::HeaderUnknownField {
        field: field.into(),
    }
}

fn out_of_range(parameter: &'static str, value: u64, min: u32, max: u32) -> KeyError {
    KeyError::KdfParameterOutOfRange {
        parameter,
        value,
        min,
        max,
    }
}

fn bad_name(field: &'static str, reason: &'static str) -> KeyError {
    KeyError::InvalidKeychainName { field, reason }
}

#[test]
fn every_malformed_header_is_refused_with_its_own_typed_error() {
    let ok_keychain = r#""store":"keyutils","service":"sotto","account":"p""#;
    let long_name = "x".repeat(129);
    let cases = vec![
        // Not a header at all.
        malformed("empty", "", not_json()),
        malformed("garbage", &b"\x00\xffnot json"[..], not_json()),
        malformed("truncated", &keychain_header(ok_keychain)[..40], not_json()),
        malformed(
            "trailing data",
            keychain_header(ok_keychain) + "{}",
            not_json(),
        ),
        malformed(
            "too long",
            vec![b' '; MAX_KEY_INFO_LEN + 1],
            KeyError::HeaderTooLong {
                len: MAX_KEY_INFO_LEN + 1,
                max: MAX_KEY_INFO_LEN,
            },
        ),
        malformed(
            "objects nested 500 deep",
            format!(
                r#"{{"version":1,"mode":{}1{}}}"#,
                r#"{"a":"#.repeat(500),
                "}".repeat(500)
            ),
            not_json(),
        ),
        malformed(
            "arrays nested 1000 deep",
            format!(
                r#"{{"version":1,"mode":{}{}}}"#,
                "[".repeat(1000),
                "]".repeat(1000)
            ),
            wrong_type("mode", "an object"),
        ),
        malformed(
            "top level is an array",
            "[1]",
            wrong_type("(header)", "an object"),
        ),
        malformed(
            "top level is a string",
            "\"keychain\"",
            wrong_type("(header)", "an object"),
        ),
        // Version.
        malformed(
            "version 2",
            r#"{"version":2,"mode":{"future":{}}}"#,
            KeyError::UnsupportedVersion { version: 2 },
        ),
        malformed(
            "version 0",
            r#"{"version":0,"mode":{}}"#,
            KeyError::UnsupportedVersion { version: 0 },
        ),
        malformed(
            "version as a string",
            r#"{"version":"1","mode":{}}"#,
            wrong_type("version", "a non-negative integer"),
        ),
        malformed(
            "version negative",
            r#"{"version":-1,"mode":{}}"#,
            wrong_type("version", "a non-negative integer"),
        ),
        malformed(
            "version fractional",
            r#"{"version":1.0,"mode":{}}"#,
            wrong_type("version", "a non-negative integer"),
        ),
        malformed("version missing", r#"{"mode":{}}"#, missing("version")),
        // Mode.
        malformed("mode missing", r#"{"version":1}"#, missing("mode")),
        malformed(
            "mode not an object",
            r#"{"version":1,"mode":"keychain"}"#,
            wrong_type("mode", "an object"),
        ),
        malformed(
            "mode empty",
            r#"{"version":1,"mode":{}}"#,
            wrong_type("mode", "an object with one field: keychain or passphrase"),
        ),
        malformed(
            "two modes",
            format!(r#"{{"version":1,"mode":{{"keychain":{{{ok_keychain}}},"passphrase":{{}}}}}}"#),
            wrong_type("mode", "an object with one field: keychain or passphrase"),
        ),
        malformed(
            "unknown mode",
            r#"{"version":1,"mode":{"yubikey":{"slot":2}}}"#,
            KeyError::UnknownMode {
                mode: "yubikey".into(),
            },
        ),
        malformed(
            "mode body not an object",
            r#"{"version":1,"mode":{"keychain":[]}}"#,
            wrong_type("mode.keychain", "an object"),
        ),
        // Extra and repeated fields.
        malformed(
            "extra top-level field",
            format!(r#"{{"version":1,"mode":{{"keychain":{{{ok_keychain}}}}},"key":"AAAA"}}"#),
            unknown("key"),
        ),
        malformed(
            "extra keychain field",
            keychain_header(&format!(r#"{ok_keychain},"secret":"AAAA""#)),
            unknown("mode.keychain.secret"),
        ),
        malformed(
            "extra passphrase field",
            passphrase_header("65536", "3", "1", &format!(r#"{SALT_0_15},"pepper":"x""#)),
            unknown("mode.passphrase.pepper"),
        ),
        malformed(
            "repeated version",
            format!(r#"{{"version":1,"version":1,"mode":{{"keychain":{{{ok_keychain}}}}}}}"#),
            KeyError::HeaderDuplicateField {
                field: "version".into(),
            },
        ),
        malformed(
            "repeated account",
            keychain_header(&format!(r#"{ok_keychain},"account":"q""#)),
            KeyError::HeaderDuplicateField {
                field: "mode.keychain.account".into(),
            },
        ),
        // Keychain fields.
        malformed(
            "store missing",
            keychain_header(r#""service":"sotto","account":"p""#),
            missing("mode.keychain.store"),
        ),
        malformed(
            "service missing",
            keychain_header(r#""store":"keyutils","account":"p""#),
            missing("mode.keychain.service"),
        ),
        malformed(
            "account missing",
            keychain_header(r#""store":"keyutils","service":"sotto""#),
            missing("mode.keychain.account"),
        ),
        malformed(
            "unknown store",
            keychain_header(r#""store":"kwallet","service":"sotto","account":"p""#),
            KeyError::UnknownKeychainStore {
                store: "kwallet".into(),
            },
        ),
        malformed(
            "store not a string",
            keychain_header(r#""store":1,"service":"sotto","account":"p""#),
            wrong_type("mode.keychain.store", "a string"),
        ),
        malformed(
            "empty account",
            keychain_header(r#""store":"keyutils","service":"sotto","account":"""#),
            bad_name("account", "it is empty"),
        ),
        malformed(
            "over-long account",
            keychain_header(&format!(
                r#""store":"keyutils","service":"sotto","account":"{long_name}""#
            )),
            bad_name("account", "it is longer than 128 bytes"),
        ),
        malformed(
            "control character in account",
            keychain_header(r#""store":"keyutils","service":"sotto","account":"p\nq""#),
            bad_name("account", "control characters are not allowed"),
        ),
        malformed(
            "empty service",
            keychain_header(r#""store":"keyutils","service":"","account":"p""#),
            bad_name("service", "it is empty"),
        ),
        malformed(
            "over-long service",
            keychain_header(&format!(
                r#""store":"keyutils","service":"{long_name}","account":"p""#
            )),
            bad_name("service", "it is longer than 128 bytes"),
        ),
        malformed(
            "divider in service",
            keychain_header(r#""store":"keyutils","service":"so@tto","account":"p""#),
            bad_name(
                "service",
                "only ASCII letters, digits, '-' and '_' are allowed",
            ),
        ),
        // Passphrase fields.
        malformed(
            "kdf missing",
            r#"{"version":1,"mode":{"passphrase":{"memory_kib":65536,"iterations":3,"parallelism":1,"salt":"AAECAwQFBgcICQoLDA0ODw=="}}}"#,
            missing("mode.passphrase.kdf"),
        ),
        malformed(
            "salt missing",
            r#"{"version":1,"mode":{"passphrase":{"kdf":"argon2id","memory_kib":65536,"iterations":3,"parallelism":1}}}"#,
            missing("mode.passphrase.salt"),
        ),
        malformed(
            "iterations missing",
            r#"{"version":1,"mode":{"passphrase":{"kdf":"argon2id","memory_kib":65536,"parallelism":1,"salt":"AAECAwQFBgcICQoLDA0ODw=="}}}"#,
            missing("mode.passphrase.iterations"),
        ),
        malformed(
            "unknown kdf",
            r#"{"version":1,"mode":{"passphrase":{"kdf":"scrypt","memory_kib":65536,"iterations":3,"parallelism":1,"salt":"AAECAwQFBgcICQoLDA0ODw=="}}}"#,
            KeyError::UnknownKdf {
                kdf: "scrypt".into(),
            },
        ),
        malformed(
            "memory below 8 MiB",
            passphrase_header("8191", "3", "1", SALT_0_15),
            out_of_range("memory_kib", 8191, 8192, 1048576),
        ),
        malformed(
            "memory above 1 GiB",
            passphrase_header("1048577", "3", "1", SALT_0_15),
            out_of_range("memory_kib", 1048577, 8192, 1048576),
        ),
        malformed(
            "memory beyond u32",
            passphrase_header("4294967296", "3", "1", SALT_0_15),
            out_of_range("memory_kib", 4294967296, 8192, 1048576),
        ),
        malformed(
            "memory beyond u64",
            passphrase_header("18446744073709551616", "3", "1", SALT_0_15),
            wrong_type("mode.passphrase.memory_kib", "a non-negative integer"),
        ),
        malformed(
            "memory as a string",
            passphrase_header("\"65536\"", "3", "1", SALT_0_15),
            wrong_type("mode.passphrase.memory_kib", "a non-negative integer"),
        ),
        malformed(
            "zero iterations",
            passphrase_header("65536", "0", "1", SALT_0_15),
            out_of_range("iterations", 0, 1, 10),
        ),
        malformed(
            "eleven iterations",
            passphrase_header("65536", "11", "1", SALT_0_15),
            out_of_range("iterations", 11, 1, 10),
        ),
        malformed(
            "zero lanes",
            passphrase_header("65536", "3", "0", SALT_0_15),
            out_of_range("parallelism", 0, 1, 8),
        ),
        malformed(
            "nine lanes",
            passphrase_header("65536", "3", "9", SALT_0_15),
            out_of_range("parallelism", 9, 1, 8),
        ),
        malformed(
            "negative lanes",
            passphrase_header("65536", "3", "-1", SALT_0_15),
            wrong_type("mode.passphrase.parallelism", "a non-negative integer"),
        ),
        malformed(
            "salt not base64",
            passphrase_header("65536", "3", "1", "\"AAECAwQFBgcICQoLDA0OD*==\""),
            KeyError::SaltNotBase64,
        ),
        malformed(
            "salt without padding",
            passphrase_header("65536", "3", "1", "\"AAECAwQFBgcICQoLDA0ODw\""),
            KeyError::SaltNotBase64,
        ),
        malformed(
            "salt with non-canonical trailing bits",
            passphrase_header("65536", "3", "1", "\"AAECAwQFBgcICQoLDA0ODx==\""),
            KeyError::SaltNotBase64,
        ),
        malformed(
            "salt in base64url",
            passphrase_header("65536", "3", "1", "\"__8AAQIDBAUGBwgJCgsMDQ==\""),
            KeyError::SaltNotBase64,
        ),
        malformed(
            "salt of 8 bytes",
            passphrase_header("65536", "3", "1", "\"AAECAwQFBgc=\""),
            KeyError::WrongSaltLength { len: 8 },
        ),
        malformed(
            "salt of 32 bytes",
            passphrase_header(
                "65536",
                "3",
                "1",
                "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"",
            ),
            KeyError::WrongSaltLength { len: 32 },
        ),
        malformed(
            "salt empty",
            passphrase_header("65536", "3", "1", "\"\""),
            KeyError::WrongSaltLength { len: 0 },
        ),
        malformed(
            "salt not a string",
            passphrase_header("65536", "3", "1", "[0,1,2]"),
            wrong_type("mode.passphrase.salt", "a string"),
        ),
    ];

    for Malformed {
        case,
        header,
        expected,
    } in cases
    {
        let error = KeyInfo::decode(&header).expect_err(case);
        match (&error, &expected) {
            // The parser's message varies; the variant is what callers match on.
            (KeyError::HeaderNotJson { reason }, KeyError::HeaderNotJson { .. }) => {
                assert!(!reason.is_empty(), "{case}")
            }
            _ => assert_eq!(error, expected, "{case}"),
        }
        assert_eq!(Error::from(error).code(), ErrorCode::Key, "{case}");
    }
}

#[test]
fn a_header_with_invalid_utf8_is_not_json() {
    let mut header =
        keychain_header(r#""store":"keyutils","service":"sotto","account":"pX""#).into_bytes();
    let at = header.iter().position(|&b| b == b'X').unwrap();
    header[at] = 0xff;
    assert!(matches!(
        KeyInfo::decode(&header),
        Err(KeyError::HeaderNotJson { .. })
    ));
}

#[test]
fn the_fuzz_seeds_decode_as_their_names_say() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/key_info");
    let mut seen = (0, 0);
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let decoded = KeyInfo::decode(&bytes);
        if name.starts_with("valid-") {
            let info = decoded.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(KeyInfo::decode(&info.encode()).unwrap(), info, "{name}");
            seen.0 += 1;
        } else {
            assert!(
                name.starts_with("bad-"),
                "{name}: seeds are valid-* or bad-*"
            );
            assert!(decoded.is_err(), "{name} decoded: {decoded:?}");
            seen.1 += 1;
        }
    }
    assert!(seen.0 >= 3 && seen.1 >= 10, "{seen:?}");
}

#[test]
fn key_errors_carry_the_stable_code_17() {
    assert_eq!(ErrorCode::Key as u32, 17);
    let error = Error::from(KeyError::PassphraseRequired);
    assert_eq!(error.code(), ErrorCode::Key);
    assert_eq!(error.to_string(), KeyError::PassphraseRequired.to_string());
}

#[test]
fn a_database_key_never_shows_in_debug_output() {
    let (key, info) = create_with_passphrase("debug me", fast()).unwrap();
    assert_eq!(format!("{key:?}"), "DatabaseKey(<secret>)");
    assert!(!format!("{info:?}").contains("debug me"));
}

// --- Keychain mode, in the real OS keychain ---

#[cfg(all(feature = "keychain", target_os = "linux"))]
mod keychain {
    use super::*;
    use rand::Rng;
    use sotto_core::store::{KEYCHAIN_SERVICE, Keychain};

    /// A service name no other test (or earlier run) uses: the process id and a random
    /// suffix.
    fn unique_service(test: &str) -> String {
        format!(
            "sotto-test-{test}-{}-{:08x}",
            std::process::id(),
            rand::rng().random::<u32>()
        )
    }

    /// Deletes the entries a test made, even when it fails half-way.
    struct Cleanup(Vec<KeyInfo>);

    impl Drop for Cleanup {
        fn drop(&mut self) {
            for info in &self.0 {
                let _ = info.delete_key();
            }
        }
    }

    fn keyutils() -> Keychain {
        Keychain::open(KeychainStore::Keyutils).expect("the kernel keyutils store works here")
    }

    #[test]
    fn the_linux_platform_keychain_is_secret_service_never_keyutils() {
        // keyutils forgets keys at reboot: only ever an explicit choice.
        assert!(!keyutils().survives_reboot());
        match Keychain::platform() {
            Ok(keychain) => {
                assert_eq!(keychain.kind(), KeychainStore::SecretService);
                assert!(keychain.survives_reboot());
            }
            Err(KeyError::KeychainUnavailable { store, reason }) => {
                assert_eq!(store, KeychainStore::SecretService);
                assert!(
                    std::env::var(EXPECT_SECRET_SERVICE).is_err(),
                    "a Secret Service is running, yet the default keychain failed: {reason}"
                );
                let message = Keychain::platform().unwrap_err().to_string();
                assert!(message.contains("passphrase mode"), "{message}");
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn keyutils_gives_back_the_key_it_was_given() {
        let keychain = keyutils();
        let service = unique_service("round-trip");
        let (key, info) = keychain.create_in_service(&service, "profile-1").unwrap();
        let _cleanup = Cleanup(vec![info.clone()]);

        let KeyMode::Keychain(entry) = info.mode() else {
            panic!("keychain mode expected, got {:?}", info.mode());
        };
        assert_eq!(entry.store(), KeychainStore::Keyutils);
        assert_eq!(entry.service(), service);
        assert_eq!(entry.account(), "profile-1");
        assert_eq!(keychain.unseal(entry).unwrap(), key);

        // As a profile is opened: header bytes from disk, then the single entry point.
        let read_back = KeyInfo::decode(&info.encode()).unwrap();
        assert_eq!(read_back.unseal(None).unwrap(), key);
        assert_eq!(
            read_back.unseal(Some("ignored")).unwrap(),
            key,
            "a passphrase is ignored in keychain mode"
        );
    }

    #[test]
    fn keyutils_a_key_made_on_one_thread_opens_on_another() {
        let service = unique_service("threads");
        let (key, info) = std::thread::spawn({
            let service = service.clone();
            move || keyutils().create_in_service(&service, "profile-1").unwrap()
        })
        .join()
        .unwrap();
        let _cleanup = Cleanup(vec![info.clone()]);

        let header = info.encode();
        let opened = std::thread::spawn(move || KeyInfo::decode(&header).unwrap().unseal(None))
            .join()
            .unwrap();
        assert_eq!(opened.unwrap(), key);
    }

    /// Environment of the helper process: the header file to open and the key expected.
    const HELPER_HEADER: &str = "SOTTO_TEST_KEY_HEADER";
    const HELPER_KEY: &str = "SOTTO_TEST_EXPECTED_KEY";

    #[test]
    fn keyutils_a_key_made_by_one_process_opens_in_the_next() {
        // Made on a thread that then ends, as an application's first run does: the key is
        // left only where the keychain keeps it, not in any keyring this process inherits.
        let service = unique_service("processes");
        let (key, info) = std::thread::spawn({
            let service = service.clone();
            move || keyutils().create_in_service(&service, "profile-1").unwrap()
        })
        .join()
        .unwrap();
        let _cleanup = Cleanup(vec![info.clone()]);
        let header = std::env::temp_dir().join(format!("{service}.key.json"));
        std::fs::write(&header, info.encode()).unwrap();

        // The next run of the application: a new process that reads the header from disk.
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "keychain::helper_process_opens_the_header_it_is_given",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HELPER_HEADER, &header)
            .env(HELPER_KEY, hex(&key))
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&header);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("helper opened the header"),
            "helper process failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Runs only as the helper process of the test above (it does nothing otherwise).
    #[test]
    fn helper_process_opens_the_header_it_is_given() {
        let (Some(header), Some(expected)) = (
            std::env::var_os(HELPER_HEADER),
            std::env::var_os(HELPER_KEY),
        ) else {
            return;
        };
        let info = KeyInfo::decode(&std::fs::read(header).unwrap()).unwrap();
        let key = info.unseal(None).unwrap();
        assert_eq!(hex(&key), expected.to_string_lossy());
        println!("helper opened the header");
    }

    #[test]
    fn keyutils_a_second_profile_gets_its_own_key() {
        let keychain = keyutils();
        let service = unique_service("two-profiles");
        let (key_1, info_1) = keychain.create_in_service(&service, "profile-1").unwrap();
        let _cleanup_1 = Cleanup(vec![info_1.clone()]);
        let (key_2, info_2) = keychain.create_in_service(&service, "profile-2").unwrap();
        let _cleanup_2 = Cleanup(vec![info_2.clone()]);

        assert_ne!(key_1, key_2);
        assert_eq!(info_1.unseal(None).unwrap(), key_1);
        assert_eq!(info_2.unseal(None).unwrap(), key_2);
    }

    #[test]
    fn keyutils_a_deleted_entry_is_reported_missing() {
        let keychain = keyutils();
        let service = unique_service("deleted");
        let (_, info) = keychain.create_in_service(&service, "profile-1").unwrap();
        let _cleanup = Cleanup(vec![info.clone()]);

        info.delete_key().unwrap();
        let expected = KeyError::KeychainEntryMissing {
            store: KeychainStore::Keyutils,
            service: service.clone(),
            account: "profile-1".into(),
        };
        assert_eq!(info.unseal(None).unwrap_err(), expected);
        assert_eq!(Error::from(expected).code(), ErrorCode::Key);
        assert_eq!(info.delete_key(), Ok(()), "deleting again is not an error");
    }

    #[test]
    fn keyutils_an_entry_of_the_wrong_length_is_malformed() {
        let keychain = keyutils();
        let service = unique_service("malformed");
        let entry = KeychainEntry::new(KeychainStore::Keyutils, &service, "profile-1").unwrap();
        let _cleanup = Cleanup(vec![KeyInfo::new(KeyMode::Keychain(entry.clone()))]);

        // Another program (here keyring-core itself) replaces the secret. The first entry a
        // thread builds searches the wrong keyring (see `Keychain`), so it builds two.
        let store: std::sync::Arc<keyring_core::CredentialStore> =
            linux_keyutils_keyring_store::Store::new().unwrap();
        let _ = keyring_core::Entry::new_in_store(&store, &service, "profile-1");
        let raw = keyring_core::Entry::new_in_store(&store, &service, "profile-1").unwrap();
        for len in [1, 31, 33, 64] {
            raw.set_secret(&vec![7u8; len]).unwrap();
            assert_eq!(
                keychain.unseal(&entry).unwrap_err(),
                KeyError::KeychainEntryMalformed {
                    store: KeychainStore::Keyutils,
                    len
                }
            );
        }
        raw.set_secret(&[9u8; 32]).unwrap();
        assert_eq!(keychain.unseal(&entry).unwrap().as_bytes(), &[9u8; 32]);
    }

    #[test]
    fn keyutils_create_never_overwrites_an_existing_key() {
        let keychain = keyutils();
        let service = unique_service("exists");
        let (key, info) = keychain.create_in_service(&service, "profile-1").unwrap();
        let _cleanup = Cleanup(vec![info.clone()]);

        assert_eq!(
            keychain
                .create_in_service(&service, "profile-1")
                .unwrap_err(),
            KeyError::KeychainEntryExists {
                store: KeychainStore::Keyutils,
                service: service.clone(),
                account: "profile-1".into(),
            }
        );
        assert_eq!(info.unseal(None).unwrap(), key, "the first key is intact");
    }

    #[test]
    fn keychain_names_are_checked_before_the_keychain_is_touched() {
        let keychain = keyutils();
        assert_eq!(
            keychain.create("").unwrap_err(),
            KeyError::InvalidKeychainName {
                field: "account",
                reason: "it is empty"
            }
        );
        assert!(matches!(
            keychain.create_in_service("so@tto", "p"),
            Err(KeyError::InvalidKeychainName {
                field: "service",
                ..
            })
        ));
        let entry = KeychainEntry::for_profile(KeychainStore::Keyutils, "p").unwrap();
        assert_eq!(entry.service(), KEYCHAIN_SERVICE);
    }

    #[test]
    fn an_entry_of_another_keychain_is_refused() {
        let entry = KeychainEntry::for_profile(KeychainStore::Windows, "p").unwrap();
        assert_eq!(
            keyutils().unseal(&entry).unwrap_err(),
            KeyError::WrongKeychain {
                entry: KeychainStore::Windows,
                keychain: KeychainStore::Keyutils
            }
        );
    }

    #[test]
    fn keychains_of_other_platforms_are_unavailable_and_say_to_choose_a_passphrase() {
        for store in [KeychainStore::Apple, KeychainStore::Windows] {
            let error = Keychain::open(store).unwrap_err();
            assert!(
                matches!(&error, KeyError::KeychainUnavailable { store: s, .. } if *s == store),
                "{error:?}"
            );
            assert!(
                error.to_string().contains("choose passphrase mode"),
                "{error}"
            );

            let info = KeyInfo::new(KeyMode::Keychain(
                KeychainEntry::for_profile(store, "p").unwrap(),
            ));
            assert!(matches!(
                info.unseal(None),
                Err(KeyError::KeychainUnavailable { .. })
            ));
        }
    }

    /// Set (to anything but empty or `0`) by `scripts/with-secret-service`, which starts a
    /// throwaway Secret Service; scripts/test runs the suite inside it.
    const EXPECT_SECRET_SERVICE: &str = "SOTTO_EXPECT_SECRET_SERVICE";

    /// Secret Service needs a D-Bus session bus with a provider (GNOME Keyring, KWallet,
    /// KeePassXC) answering on it. Where [`EXPECT_SECRET_SERVICE`] is set, this test fails
    /// when it cannot reach one; elsewhere it says why it did not run and passes.
    #[test]
    fn secret_service_round_trip_where_available() {
        let expected =
            std::env::var(EXPECT_SECRET_SERVICE).is_ok_and(|v| !v.is_empty() && v != "0");
        let not_run = |why: String| {
            assert!(
                !expected,
                "secret_service_round_trip_where_available: {EXPECT_SECRET_SERVICE} is set, \
                 but {why}"
            );
            println!("secret_service_round_trip_where_available: NOT RUN: {why}");
        };
        let Some(bus) = std::env::var_os("DBUS_SESSION_BUS_ADDRESS") else {
            return not_run("DBUS_SESSION_BUS_ADDRESS is unset (no D-Bus session bus)".to_owned());
        };
        let keychain = match Keychain::open(KeychainStore::SecretService) {
            Ok(keychain) => keychain,
            Err(error) => {
                return not_run(format!(
                    "no Secret Service on the session bus {bus:?}: {error}"
                ));
            }
        };
        assert!(keychain.survives_reboot());
        let service = unique_service("secret-service");
        let (key, info) = keychain.create_in_service(&service, "profile-1").unwrap();
        let _cleanup = Cleanup(vec![info.clone()]);

        let read_back = KeyInfo::decode(&info.encode()).unwrap();
        assert_eq!(read_back.unseal(None).unwrap(), key);

        read_back.delete_key().unwrap();
        assert!(matches!(
            read_back.unseal(None),
            Err(KeyError::KeychainEntryMissing { .. })
        ));
        println!("secret_service_round_trip_where_available: ran against {bus:?}");
    }
}
