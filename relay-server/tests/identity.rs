//! The relay identity on disk: made once, loaded after, never replaced, refused when the
//! files are malformed or do not belong together.

use std::fs;
use std::path::Path;

use sotto_relay::identity::{CERTIFICATE_FILE, KEY_FILE};
use sotto_relay::{IdentityError, RelayIdentity};

fn files(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    (
        fs::read(dir.join(KEY_FILE)).unwrap(),
        fs::read(dir.join(CERTIFICATE_FILE)).unwrap(),
    )
}

#[test]
fn first_start_makes_the_identity_and_later_starts_load_it() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let made = RelayIdentity::load_or_create(&dir).unwrap();
    let (key, certificate) = files(&dir);
    assert_eq!(certificate, made.certificate().as_ref());

    let loaded = RelayIdentity::load_or_create(&dir).unwrap();
    assert_eq!(loaded.public_key(), made.public_key());
    assert_eq!(files(&dir), (key, certificate));
    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file is left: {names:?}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join(KEY_FILE)), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
}

#[test]
fn two_relays_have_different_keys() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = RelayIdentity::load_or_create(a.path()).unwrap();
    let b = RelayIdentity::load_or_create(b.path()).unwrap();
    assert_ne!(a.public_key(), b.public_key());
}

#[test]
fn a_lost_certificate_is_made_again_from_the_key_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let made = RelayIdentity::load_or_create(dir.path()).unwrap();
    let before = files(dir.path());
    fs::remove_file(dir.path().join(CERTIFICATE_FILE)).unwrap();
    // A temporary file left by a crash is not the identity and is replaced.
    fs::write(
        dir.path().join(format!("{CERTIFICATE_FILE}.tmp")),
        b"partial",
    )
    .unwrap();

    let again = RelayIdentity::load_or_create(dir.path()).unwrap();
    assert_eq!(again.public_key(), made.public_key());
    assert_eq!(files(dir.path()), before);
    assert!(!dir.path().join(format!("{CERTIFICATE_FILE}.tmp")).exists());
}

#[test]
fn a_certificate_of_another_relay_is_refused_and_nothing_is_replaced() {
    let (dir, other_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let relay = RelayIdentity::load_or_create(dir.path()).unwrap();
    let other = RelayIdentity::load_or_create(other_dir.path()).unwrap();
    fs::copy(
        other_dir.path().join(CERTIFICATE_FILE),
        dir.path().join(CERTIFICATE_FILE),
    )
    .unwrap();
    let before = files(dir.path());

    match RelayIdentity::load_or_create(dir.path()) {
        Err(IdentityError::Mismatch {
            key,
            certificate_key,
            ..
        }) => {
            assert_eq!(key, relay.public_key());
            assert_eq!(certificate_key, other.public_key());
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert_eq!(files(dir.path()), before);
}

#[test]
fn a_malformed_key_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    RelayIdentity::load_or_create(dir.path()).unwrap();
    let key_path = dir.path().join(KEY_FILE);
    let mut key = fs::read(&key_path).unwrap();
    for bad in [
        Vec::new(),
        b"not a key".to_vec(),
        key[..key.len() - 1].to_vec(),
    ] {
        fs::write(&key_path, &bad).unwrap();
        let error = RelayIdentity::load_or_create(dir.path()).unwrap_err();
        assert!(
            matches!(error, IdentityError::MalformedKey { .. }),
            "{error:?}"
        );
        assert_eq!(fs::read(&key_path).unwrap(), bad);
    }
    // A P-256 key in PKCS#8 is a valid key but not a relay key.
    key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .unwrap()
        .serialize_der();
    fs::write(&key_path, &key).unwrap();
    let error = RelayIdentity::load_or_create(dir.path()).unwrap_err();
    assert!(
        matches!(error, IdentityError::MalformedKey { .. }),
        "{error:?}"
    );
    assert_eq!(fs::read(&key_path).unwrap(), key);
}

#[test]
fn a_malformed_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    RelayIdentity::load_or_create(dir.path()).unwrap();
    let path = dir.path().join(CERTIFICATE_FILE);
    let certificate = fs::read(&path).unwrap();
    for bad in [
        Vec::new(),
        certificate[..certificate.len() - 1].to_vec(),
        [certificate.as_slice(), b"\0"].concat(),
    ] {
        fs::write(&path, &bad).unwrap();
        let error = RelayIdentity::load_or_create(dir.path()).unwrap_err();
        assert!(
            matches!(error, IdentityError::MalformedCertificate { .. }),
            "{error:?}"
        );
    }
}

#[test]
fn a_certificate_without_its_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    RelayIdentity::load_or_create(dir.path()).unwrap();
    fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
    let error = RelayIdentity::load_or_create(dir.path()).unwrap_err();
    assert!(
        matches!(error, IdentityError::CertificateWithoutKey { .. }),
        "{error:?}"
    );
    assert!(!dir.path().join(KEY_FILE).exists());
}

#[cfg(unix)]
#[test]
fn a_key_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    RelayIdentity::load_or_create(dir.path()).unwrap();
    let key_path = dir.path().join(KEY_FILE);
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o644)).unwrap();
    let error = RelayIdentity::load_or_create(dir.path()).unwrap_err();
    assert!(
        matches!(error, IdentityError::KeyFileTooOpen { mode: 0o644, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("0600"), "{error}");
}
