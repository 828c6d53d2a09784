//! The relay's identity: its Ed25519 key pair and the TLS certificate bound to it.
//!
//! The public key names the relay (`sotto://<relay key>@host:port`) and clients pin it, so
//! losing or replacing the key makes the relay a different relay. On first start
//! [`RelayIdentity::load_or_create`] makes the key and a self-signed certificate whose
//! subject key is that same key; every later start loads them and refuses to run on a
//! malformed or mismatching pair rather than making a new identity. The certificate
//! contents are in `docs/PROTOCOL.md`, section 14.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ED25519};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sotto_core::transport::{RELAY_KEY_LEN, RelayKey, TransportError, certificate_relay_key};
use zeroize::Zeroizing;

/// File name of the private key in the data directory: PKCS#8 v2 DER, mode 0600.
pub const KEY_FILE: &str = "identity.key";
/// File name of the certificate in the data directory: X.509 DER.
pub const CERTIFICATE_FILE: &str = "identity.crt";
/// Common name of every relay certificate's subject and issuer. Clients ignore it.
pub const CERTIFICATE_COMMON_NAME: &str = "sotto-relay";

/// Why the relay identity could not be loaded or made. The relay must not start then.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A file or the data directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The key file is not a PKCS#8 Ed25519 private key.
    #[error("{path} is not a PKCS#8 Ed25519 private key: {reason}")]
    MalformedKey {
        /// The key file.
        path: PathBuf,
        /// What was refused.
        reason: String,
    },
    /// The certificate file is not a DER X.509 certificate with an Ed25519 key.
    #[error("{path} is not a relay certificate: {source}")]
    MalformedCertificate {
        /// The certificate file.
        path: PathBuf,
        /// What was refused.
        source: TransportError,
    },
    /// The certificate carries another key than the key file: the two files belong to
    /// different identities. Neither is changed; the operator decides which one is right.
    #[error(
        "{certificate_path} is for relay key {certificate_key}, but the key file holds relay key {key}"
    )]
    Mismatch {
        /// The public key of the key file.
        key: RelayKey,
        /// The key in the certificate.
        certificate_key: RelayKey,
        /// The certificate file.
        certificate_path: PathBuf,
    },
    /// A certificate exists without its key: a new key could never match it, so the relay
    /// makes none. Restore the key file, or remove both files to start as a new relay.
    #[error("{certificate_path} exists but {key_path} does not")]
    CertificateWithoutKey {
        /// The missing key file.
        key_path: PathBuf,
        /// The certificate file found.
        certificate_path: PathBuf,
    },
    /// The key file can be read or written by other users than its owner.
    #[error("{path} has mode {mode:o}; the relay key must be readable by its owner only (0600)")]
    KeyFileTooOpen {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The certificate could not be made.
    #[error("the relay certificate could not be made: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls refused the key or the certificate.
    #[error("TLS configuration refused the relay identity: {0}")]
    Tls(#[from] rustls::Error),
}

/// The relay's Ed25519 identity key pair and its self-signed TLS certificate.
pub struct RelayIdentity {
    key: PrivatePkcs8KeyDer<'static>,
    certificate: CertificateDer<'static>,
    public_key: RelayKey,
}

impl std::fmt::Debug for RelayIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayIdentity")
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

impl RelayIdentity {
    /// Loads the identity from `data_dir`, or makes it there on first start.
    ///
    /// First start (no `identity.key`): makes the directory (mode 0700) if needed, a fresh
    /// Ed25519 key written to `identity.key` (mode 0600) and the certificate written to
    /// `identity.crt`. Each file is written to a temporary name, synced, then linked into
    /// place, which fails rather than replace an existing file; the directory is synced.
    ///
    /// Later starts: loads both and checks that the certificate carries the key's public
    /// key. A missing certificate (a crash between the two writes) is made again from the
    /// key; the certificate depends on the key only. An existing key is never replaced.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, IdentityError> {
        create_private_dir(data_dir)?;
        let key_path = data_dir.join(KEY_FILE);
        let certificate_path = data_dir.join(CERTIFICATE_FILE);

        // The key file's bytes are wiped once parsed (the parsed key lives on in `KeyPair`).
        let key_pair = match read_if_exists(&key_path)?.map(Zeroizing::new) {
            Some(der) => {
                check_key_file_mode(&key_path)?;
                parse_key(&key_path, &der)?
            }
            None => {
                if certificate_path.exists() {
                    return Err(IdentityError::CertificateWithoutKey {
                        key_path,
                        certificate_path,
                    });
                }
                let key_pair = KeyPair::generate_for(&PKCS_ED25519)?;
                write_new_file(data_dir, KEY_FILE, key_pair.serialized_der(), 0o600)?;
                key_pair
            }
        };
        let public_key = relay_key_of(&key_pair, &key_path)?;

        let certificate = match read_if_exists(&certificate_path)? {
            Some(der) => {
                let certificate = CertificateDer::from(der);
                let certificate_key =
                    certificate_relay_key(&certificate, public_key).map_err(|source| {
                        IdentityError::MalformedCertificate {
                            path: certificate_path.clone(),
                            source,
                        }
                    })?;
                if certificate_key != public_key {
                    return Err(IdentityError::Mismatch {
                        key: public_key,
                        certificate_key,
                        certificate_path,
                    });
                }
                certificate
            }
            None => {
                let certificate = make_certificate(&key_pair)?;
                write_new_file(data_dir, CERTIFICATE_FILE, certificate.as_ref(), 0o644)?;
                certificate
            }
        };

        Ok(Self {
            key: PrivatePkcs8KeyDer::from(key_pair.serialize_der()),
            certificate,
            public_key,
        })
    }

    /// The relay key: the 32-byte Ed25519 public key that clients pin.
    pub fn public_key(&self) -> RelayKey {
        self.public_key
    }

    /// The relay address for `host` and `port`: `sotto://<relay key>@host:port`. An IPv6
    /// host is given in brackets, as in a URL.
    pub fn address(&self, host: &str, port: u16) -> String {
        format!("sotto://{}@{host}:{port}", self.public_key)
    }

    /// Signs `message` with the identity key (Ed25519): how the relay vouches for its
    /// Sphinx keys in `/v1/info`.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], IdentityError> {
        use rcgen::SigningKey as _;
        let key_pair = KeyPair::from_pkcs8_der_and_sign_algo(&self.key, &PKCS_ED25519)?;
        let signature = key_pair.sign(message)?;
        signature
            .try_into()
            .map_err(|_| IdentityError::Certificate(rcgen::Error::RingUnspecified))
    }

    /// The self-signed certificate (DER) that carries the relay key into TLS.
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.certificate
    }

    /// A rustls server configuration for every listener of the relay: TLS 1.3 only, the
    /// *ring* provider, no client certificates, this identity's certificate and key. ALPN
    /// is left empty for the caller to set.
    pub fn server_config(&self) -> Result<ServerConfig, IdentityError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_no_client_auth()
            .with_single_cert(
                vec![self.certificate.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )?;
        Ok(config)
    }
}

/// The certificate of a relay key pair. It depends on the key only (Ed25519 signatures are
/// deterministic), so making it again from the same key gives the same bytes.
fn make_certificate(key_pair: &KeyPair) -> Result<CertificateDer<'static>, IdentityError> {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CERTIFICATE_COMMON_NAME);
    params.distinguished_name = name;
    // No expiry: RFC 5280 §4.1.2.5's value for "no well-defined expiration date". Clients
    // pin the key and ignore the dates.
    params.not_before = rcgen::date_time_ymd(1970, 1, 1);
    params.not_after = rcgen::date_time_ymd(9999, 12, 31)
        .replace_hour(23)
        .and_then(|t| t.replace_minute(59))
        .and_then(|t| t.replace_second(59))
        .expect("23:59:59 is a time of day");
    // `serial_number: None`: rcgen derives it from the key (SHA-256 of the public key, first
    // 20 bytes, top bit cleared), so no two relays share issuer and serial.
    let certificate = params.self_signed(key_pair)?;
    Ok(certificate.der().clone())
}

/// The 32-byte public key of an Ed25519 key pair.
fn relay_key_of(key_pair: &KeyPair, key_path: &Path) -> Result<RelayKey, IdentityError> {
    let bytes: [u8; RELAY_KEY_LEN] =
        key_pair
            .public_key_raw()
            .try_into()
            .map_err(|_| IdentityError::MalformedKey {
                path: key_path.to_path_buf(),
                reason: "the public key is not 32 bytes".into(),
            })?;
    Ok(RelayKey::from_bytes(bytes))
}

/// Parses the key file: PKCS#8 (v1 or v2) holding an Ed25519 key.
fn parse_key(path: &Path, der: &[u8]) -> Result<KeyPair, IdentityError> {
    KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(der), &PKCS_ED25519).map_err(
        |e| IdentityError::MalformedKey {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
    )
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> IdentityError + '_ {
    move |source| IdentityError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The whole file, or `None` if it does not exist.
fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, IdentityError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// Makes the data directory (and its parents) if missing; a new directory gets mode 0700.
fn create_private_dir(dir: &Path) -> Result<(), IdentityError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io_error(dir))
}

/// Refuses a key file that others than its owner may read or write (Unix only).
fn check_key_file_mode(path: &Path) -> Result<(), IdentityError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(path)
            .map_err(io_error(path))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(IdentityError::KeyFileTooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Writes `bytes` to `dir/name`, which must not exist yet, so that a crash leaves either no
/// file or the whole file: a temporary file (created with `mode` on Unix) is written and
/// synced, hard-linked to `name` (which, unlike a rename, fails if `name` exists), removed,
/// and the directory is synced.
fn write_new_file(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> Result<(), IdentityError> {
    let path = dir.join(name);
    let temporary = dir.join(format!("{name}.tmp"));
    // A leftover from a crash before the link never became the identity.
    match fs::remove_file(&temporary) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(&temporary)(e)),
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&temporary).map_err(io_error(&temporary))?;
    file.write_all(bytes).map_err(io_error(&temporary))?;
    file.sync_all().map_err(io_error(&temporary))?;
    drop(file);
    fs::hard_link(&temporary, &path).map_err(io_error(&path))?;
    fs::remove_file(&temporary).map_err(io_error(&temporary))?;
    sync_dir(dir)
}

/// Makes the directory's entries durable (Unix; elsewhere the rename is left to the OS).
fn sync_dir(dir: &Path) -> Result<(), IdentityError> {
    #[cfg(unix)]
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
