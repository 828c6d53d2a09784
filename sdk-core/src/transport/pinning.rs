//! TLS pinned to a relay key: the rustls client side.
//!
//! A relay's certificate is self-signed and exists only to carry the relay's Ed25519
//! identity key into TLS. The client trusts it because that key is the one in the relay
//! address, not because of a certificate authority, a name or a date, the way SimpleX and
//! libp2p pin their servers' keys.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use x509_cert::Certificate;
use x509_cert::der::Decode as _;
use x509_cert::spki::ObjectIdentifier;

use super::{RELAY_KEY_LEN, RelayKey, TransportError};
use crate::onion::KeyDigest;

/// `id-Ed25519` (RFC 8410): the only subject key algorithm a relay certificate may carry.
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The crypto provider of every relay connection: rustls on *ring*.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client configuration that connects only to the relay holding `key`.
///
/// TLS 1.3 only, the *ring* provider, no client certificate, no ALPN (set
/// `alpn_protocols` on the result if the caller's protocol needs it). The server's
/// certificate is checked by a [`RelayKeyVerifier`] for `key`; a relay presenting another
/// key fails the handshake, and [`TransportError::from_error_chain`] on the caller's error
/// gives [`TransportError::KeyMismatch`].
///
/// Sessions resumed with this configuration were established by a handshake that passed
/// the same pin, so resumption keeps the guarantee. Use one configuration per relay key.
pub fn pinned_client_config(key: RelayKey) -> Result<ClientConfig, TransportError> {
    config_with_pin(Pin::Key(key))
}

/// A rustls client configuration that connects only to a relay whose key has `digest`:
/// how a relay forwards an onion packet to the next hop, which the packet names by a
/// [`HopAddress`](crate::onion::HopAddress) (an IP address, a port and a key digest).
/// Another key fails the handshake with [`TransportError::HopKeyMismatch`].
pub fn hop_client_config(digest: KeyDigest) -> Result<ClientConfig, TransportError> {
    config_with_pin(Pin::Digest(digest))
}

/// The server name under which a client reaches its proxy relay (`docs/PROTOCOL.md` §19):
/// never looked up in the DNS (the client maps it to the proxy's socket address) and never
/// sent (no SNI); it only tells the verifier which of its two pinned keys a handshake must
/// carry.
pub const PROXY_SERVER_NAME: &str = "proxy.sotto.invalid";

/// A rustls client configuration for reaching the relay holding `target` through an HTTP
/// CONNECT tunnel of the relay holding `proxy`: the handshake with the server named
/// [`PROXY_SERVER_NAME`] must carry `proxy`, every other handshake (the one inside the
/// tunnel, named by the target's IP address) must carry `target`. So the proxy cannot
/// answer in the target's place: TLS inside the tunnel is end to end with the target.
pub fn proxied_client_config(
    proxy: RelayKey,
    target: RelayKey,
) -> Result<ClientConfig, TransportError> {
    config_with_pin(Pin::Proxied { proxy, target })
}

/// A rustls client configuration that connects to any relay: the certificate must carry an
/// Ed25519 key and the handshake must be signed by it, whatever the key. How a proxy checks
/// that a tunnel's target is a relay at all (then compares the key with the one the relay's
/// `/v1/info` names); never how a client reaches a relay it chose.
pub fn any_relay_client_config() -> Result<ClientConfig, TransportError> {
    config_with_pin(Pin::AnyRelay)
}

fn config_with_pin(pin: Pin) -> Result<ClientConfig, TransportError> {
    let provider = provider();
    let verifier = Arc::new(RelayKeyVerifier {
        pin,
        algorithms: provider.signature_verification_algorithms,
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(TransportError::Tls)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // Relays are reached by IP address (no SNI then) or, for a proxy, by a name that means
    // nothing outside this process: never send it.
    let mut config = config;
    config.enable_sni = false;
    Ok(config)
}

/// Reads the relay key out of a relay certificate: the 32-byte Ed25519 subject public key
/// of a DER X.509 certificate.
///
/// Refuses with [`TransportError::MalformedCertificate`] anything that is not one strict DER
/// certificate, and with [`TransportError::NotEd25519`] (whose `expected` is then
/// `compared_with`) a key of any other type, or `id-Ed25519` with parameters or a key that
/// is not exactly 32 bytes.
pub fn certificate_relay_key(
    certificate: &CertificateDer<'_>,
    compared_with: RelayKey,
) -> Result<RelayKey, TransportError> {
    let parsed = Certificate::from_der(certificate.as_ref()).map_err(|e| {
        TransportError::MalformedCertificate {
            reason: e.to_string(),
        }
    })?;
    let spki = parsed.tbs_certificate().subject_public_key_info();
    let not_ed25519 = || TransportError::NotEd25519 {
        expected: compared_with,
        algorithm: spki.algorithm.oid.to_string(),
    };
    // RFC 8410 §3: the parameters of id-Ed25519 MUST be absent.
    if spki.algorithm.oid != ID_ED25519 || spki.algorithm.parameters.is_some() {
        return Err(not_ed25519());
    }
    let bytes: [u8; RELAY_KEY_LEN] = spki
        .subject_public_key
        .as_bytes()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(not_ed25519)?;
    Ok(RelayKey::from_bytes(bytes))
}

/// The relay key a certificate carries, whatever it is (as [`certificate_relay_key`]; its
/// errors name no expected key).
pub(crate) fn presented_relay_key(
    certificate: &CertificateDer<'_>,
) -> Result<RelayKey, TransportError> {
    // A relay key is never all zeros: errors that name this one as "expected" say that
    // no particular key was expected.
    certificate_relay_key(certificate, RelayKey::from_bytes([0; 32]))
}

/// The rustls server certificate verifier of a pinned relay connection.
///
/// It accepts the end-entity certificate if and only if its subject public key is the
/// Ed25519 key it pins; it ignores the server name, validity dates, the issuer, extensions,
/// intermediates and OCSP. The handshake signature is then checked by rustls'
/// [`verify_tls13_signature`] against that key, so only the holder of the private key
/// completes the handshake. TLS 1.2 signatures are refused (TLS 1.2 is never offered).
///
/// A refusal is `rustls::Error::InvalidCertificate(CertificateError::Other(..))` wrapping a
/// [`TransportError`]; `TransportError::from(rustls::Error)` and
/// [`TransportError::from_error_chain`] unwrap it.
#[derive(Debug)]
pub struct RelayKeyVerifier {
    pin: Pin,
    algorithms: WebPkiSupportedAlgorithms,
}

/// What a verifier accepts: one key, any key with one digest, one of two keys chosen by the
/// server name (a tunnel through a proxy relay), or any relay key.
#[derive(Debug, Clone, Copy)]
enum Pin {
    Key(RelayKey),
    Digest(KeyDigest),
    Proxied { proxy: RelayKey, target: RelayKey },
    AnyRelay,
}

impl Pin {
    /// The pin for a handshake with the server named `server_name`.
    fn for_server(self, server_name: &ServerName<'_>) -> Pin {
        match self {
            Pin::Proxied { proxy, target } => match server_name {
                ServerName::DnsName(name) if name.as_ref() == PROXY_SERVER_NAME => Pin::Key(proxy),
                _ => Pin::Key(target),
            },
            other => other,
        }
    }
}

impl RelayKeyVerifier {
    /// A verifier pinned to `key` that checks handshake signatures with `algorithms`
    /// (normally the crypto provider's `signature_verification_algorithms`).
    pub fn new(key: RelayKey, algorithms: WebPkiSupportedAlgorithms) -> Self {
        Self {
            pin: Pin::Key(key),
            algorithms,
        }
    }

    /// Checks that `certificate` carries the pinned key (or a key with the pinned digest).
    pub fn check(&self, certificate: &CertificateDer<'_>) -> Result<(), TransportError> {
        check_pin(self.pin, certificate)
    }
}

/// Checks `certificate` against `pin`. A `Proxied` pin, without the server name that
/// chooses between its keys, accepts either (rustls has already checked the certificate
/// against the right one by name when it asks for the handshake signature).
fn check_pin(pin: Pin, certificate: &CertificateDer<'_>) -> Result<(), TransportError> {
    match pin {
        Pin::Key(key) => {
            let presented = certificate_relay_key(certificate, key)?;
            if presented != key {
                return Err(TransportError::KeyMismatch {
                    expected: key,
                    presented,
                });
            }
        }
        Pin::Digest(digest) => {
            let presented = presented_relay_key(certificate)?;
            if !digest.matches(&presented) {
                return Err(TransportError::HopKeyMismatch { presented });
            }
        }
        Pin::Proxied { proxy, target } => {
            if let Err(not_target) = check_pin(Pin::Key(target), certificate)
                && check_pin(Pin::Key(proxy), certificate).is_err()
            {
                return Err(not_target);
            }
        }
        Pin::AnyRelay => {
            presented_relay_key(certificate)?;
        }
    }
    Ok(())
}

/// Wraps a verifier refusal so that rustls carries it to the caller.
fn refusal(error: TransportError) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(error))))
}

impl ServerCertVerifier for RelayKeyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        check_pin(self.pin.for_server(server_name), end_entity).map_err(refusal)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::PeerIncompatible::Tls12NotOffered.into())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // rustls calls this only after `verify_server_cert` accepted `cert`; check again so
        // that the verifier stands on its own.
        self.check(cert).map_err(refusal)?;
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_not_a_certificate_are_malformed() {
        let key = RelayKey::from_bytes([1; 32]);
        for bad in [&b""[..], b"\x30\x00", b"not a certificate", &[0x30; 64]] {
            let cert = CertificateDer::from(bad.to_vec());
            assert!(matches!(
                certificate_relay_key(&cert, key),
                Err(TransportError::MalformedCertificate { .. })
            ));
        }
    }

    #[test]
    fn a_verifier_refusal_survives_the_rustls_error() {
        let expected = RelayKey::from_bytes([1; 32]);
        let presented = RelayKey::from_bytes([2; 32]);
        let error = refusal(TransportError::KeyMismatch {
            expected,
            presented,
        });
        match TransportError::from(error) {
            TransportError::KeyMismatch {
                expected: e,
                presented: p,
            } => assert_eq!((e, p), (expected, presented)),
            other => panic!("unexpected {other:?}"),
        }
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            refusal(TransportError::MalformedCertificate {
                reason: "test".into(),
            }),
        );
        assert!(matches!(
            TransportError::from_error_chain(&io),
            Some(TransportError::MalformedCertificate { .. })
        ));
    }
}
