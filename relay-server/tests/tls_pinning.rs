//! Relay identity and pinned TLS over real loopback connections: a tokio-rustls server with
//! the relay's own `ServerConfig`, reached by reqwest and by a plain tokio-rustls client
//! configured with `sotto_core::transport::pinned_client_config`.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ServerConfig};
use sotto_core::transport::{RelayKey, RelayKeyVerifier, TransportError, pinned_client_config};
use sotto_relay::RelayIdentity;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const BODY: &str = "hello from the relay";

/// A relay identity in a fresh directory (kept alive with it).
fn new_relay() -> (tempfile::TempDir, RelayIdentity) {
    let dir = tempfile::tempdir().unwrap();
    let identity = RelayIdentity::load_or_create(&dir.path().join("relay")).unwrap();
    (dir, identity)
}

/// Serves TLS on 127.0.0.1 with `config`: each connection gets one HTTP/1.1 response to
/// its first request. Failed handshakes are dropped. The task ends with the test's runtime.
async fn serve(config: ServerConfig) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{BODY}",
                    BODY.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    address
}

fn http_client(config: ClientConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .no_proxy()
        .build()
        .unwrap()
}

async fn get(config: ClientConfig, address: SocketAddr) -> Result<String, reqwest::Error> {
    let response = http_client(config)
        .get(format!("https://{address}/v1/info"))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    response.text().await
}

/// A TLS handshake with a plain tokio-rustls client; the server name is irrelevant.
async fn handshake(config: ClientConfig, address: SocketAddr) -> std::io::Result<()> {
    let tcp = TcpStream::connect(address).await?;
    let name = ServerName::try_from("relay.invalid").unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?;
    let (_, connection) = tls.get_ref();
    assert_eq!(
        connection.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    Ok(())
}

fn expect_key_mismatch(
    error: &(dyn std::error::Error + 'static),
    pinned: RelayKey,
    real: RelayKey,
) {
    match TransportError::from_error_chain(error) {
        Some(TransportError::KeyMismatch {
            expected,
            presented,
        }) => {
            assert_eq!(expected, pinned);
            assert_eq!(presented, real);
        }
        other => panic!("expected a key mismatch, got {other:?} from {error:?}"),
    }
}

#[tokio::test]
async fn a_client_pinning_the_relay_key_gets_the_response() {
    let (_dir, relay) = new_relay();
    let address = serve(relay.server_config().unwrap()).await;
    let config = pinned_client_config(relay.public_key()).unwrap();

    assert_eq!(get(config.clone(), address).await.unwrap(), BODY);
    handshake(config, address).await.unwrap();
}

#[tokio::test]
async fn reqwest_pinning_another_key_is_refused_with_a_key_mismatch() {
    let (_dir, relay) = new_relay();
    let (_other_dir, other) = new_relay();
    let address = serve(relay.server_config().unwrap()).await;

    let error = get(pinned_client_config(other.public_key()).unwrap(), address)
        .await
        .unwrap_err();
    expect_key_mismatch(&error, other.public_key(), relay.public_key());

    let message = TransportError::from_error_chain(&error)
        .unwrap()
        .to_string();
    assert!(message.contains("relay key mismatch"), "{message}");
    assert!(
        message.contains(&relay.public_key().to_string()),
        "{message}"
    );
    let core: sotto_core::Error = TransportError::from_error_chain(&error).unwrap().into();
    assert_eq!(core.code(), sotto_core::ErrorCode::RelayKeyMismatch);
}

#[tokio::test]
async fn a_tls_client_pinning_another_key_fails_the_handshake() {
    let (_dir, relay) = new_relay();
    let (_other_dir, other) = new_relay();
    let address = serve(relay.server_config().unwrap()).await;

    let error = handshake(pinned_client_config(other.public_key()).unwrap(), address)
        .await
        .unwrap_err();
    expect_key_mismatch(&error, other.public_key(), relay.public_key());
}

#[tokio::test]
async fn a_certificate_with_a_p256_key_is_refused_as_not_ed25519() {
    let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let certificate = rcgen::CertificateParams::new(vec!["relay.invalid".into()])
        .unwrap()
        .self_signed(&key_pair)
        .unwrap();
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![certificate.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pair.serialize_der())),
            )
            .unwrap();
    let address = serve(config).await;
    let pinned = RelayKey::from_bytes([9; 32]);

    let error = get(pinned_client_config(pinned).unwrap(), address)
        .await
        .unwrap_err();
    match TransportError::from_error_chain(&error) {
        Some(TransportError::NotEd25519 {
            expected,
            algorithm,
        }) => {
            assert_eq!(expected, pinned);
            assert_eq!(algorithm, "1.2.840.10045.2.1"); // id-ecPublicKey
        }
        other => panic!("expected NotEd25519, got {other:?}"),
    }
}

/// Presents the real relay's certificate but signs the handshake with another key.
#[derive(Debug)]
struct StolenCertificate(Arc<CertifiedKey>);

impl ResolvesServerCert for StolenCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

#[tokio::test]
async fn a_server_with_the_relay_certificate_but_not_its_key_fails_the_signature_check() {
    let (_dir, relay) = new_relay();
    let impostor_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let signing_key = provider
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            impostor_key.serialize_der(),
        )))
        .unwrap();
    let stolen = CertifiedKey::new(vec![relay.certificate().clone()], signing_key);
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(StolenCertificate(Arc::new(stolen))));
    let address = serve(config).await;

    let error = handshake(pinned_client_config(relay.public_key()).unwrap(), address)
        .await
        .unwrap_err();
    match TransportError::from_error_chain(&error) {
        Some(TransportError::Tls(rustls::Error::InvalidCertificate(
            rustls::CertificateError::BadSignature,
        ))) => {}
        other => panic!("expected a bad handshake signature, got {other:?}"),
    }
}

/// A TLS 1.2 peer on either side: the relay and the pinned client refuse it, and the error
/// is a TLS error, not a key mismatch.
#[tokio::test]
async fn tls_1_2_is_refused_by_the_relay_and_by_the_client() {
    let (dir, relay) = new_relay();
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    // A TLS 1.2 client (pinning the right key) against the relay's own configuration.
    let address = serve(relay.server_config().unwrap()).await;
    let tls12_client = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(RelayKeyVerifier::new(
            relay.public_key(),
            provider.signature_verification_algorithms,
        )))
        .with_no_client_auth();
    let error = handshake(tls12_client, address).await.unwrap_err();
    assert!(
        matches!(
            TransportError::from_error_chain(&error),
            Some(TransportError::Tls(rustls::Error::AlertReceived(
                rustls::AlertDescription::ProtocolVersion
            )))
        ),
        "{error:?}"
    );

    // The pinned client against a TLS 1.2 server holding the relay's certificate and key.
    let tls12_server = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![relay.certificate().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                std::fs::read(
                    dir.path()
                        .join("relay")
                        .join(sotto_relay::identity::KEY_FILE),
                )
                .unwrap(),
            )),
        )
        .unwrap();
    let address = serve(tls12_server).await;
    let error = handshake(pinned_client_config(relay.public_key()).unwrap(), address)
        .await
        .unwrap_err();
    match TransportError::from_error_chain(&error) {
        Some(TransportError::Tls(_)) => {}
        other => panic!("expected a TLS version failure, got {other:?} from {error:?}"),
    }
}

#[test]
fn the_relay_address_carries_the_key() {
    let (_dir, relay) = new_relay();
    let address = relay.address("relay.example", 443);
    let key = address
        .strip_prefix("sotto://")
        .and_then(|rest| rest.strip_suffix("@relay.example:443"))
        .unwrap();
    assert_eq!(key.parse::<RelayKey>().unwrap(), relay.public_key());
}
