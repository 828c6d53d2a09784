//! Sealed sender with self-issued certificates.
//!
//! libsignal's sealed sender hides the sender from the relay: the outer layer is encrypted
//! to the recipient's identity key and carries a sender certificate. Signal's certificates
//! are issued by Signal's server; Sotto has no central server, so every user issues their
//! own: a *server certificate* for a fresh signing key, signed by the user's identity key
//! (the trust root), and a *sender certificate* for the identity key, signed by that
//! signing key. The recipient validates the chain against the identity key of the contact
//! that owns the queue the message came from ([`check_sender`]); a certificate of anyone
//! else is a typed error, never a silent accept.

use std::time::{Duration, SystemTime};

use libsignal_protocol::{
    CiphertextMessage, ContentHint, IdentityKey, KeyPair, SenderCertificate, ServerCertificate,
    UnidentifiedSenderMessageContent, sealed_sender_decrypt_to_usmc,
    sealed_sender_encrypt_from_usmc,
};
use rand::{CryptoRng, Rng};

use crate::error::{Error, Result};
use crate::identity::{Identity, PublicIdentity, device_id};
use crate::prekeys::timestamp;
use crate::store::{SignalStore, Store};

/// How long a self-issued sender certificate is valid. Longer than the relays' 21-day
/// message expiry, so a message that waited on a relay still opens.
pub const CERTIFICATE_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// A certificate with less than this left is replaced before the next send.
pub const CERTIFICATE_RENEW_MARGIN: Duration = Duration::from_secs(23 * 24 * 3600);

/// Key id of self-issued server certificates (any value not revoked by libsignal).
const SELF_ISSUED_KEY_ID: u32 = 1;

/// A sender certificate issued by the local identity for itself.
#[derive(Clone)]
pub struct SelfCertificate {
    certificate: SenderCertificate,
    expires: SystemTime,
}

impl SelfCertificate {
    /// Issues a certificate valid from `now` for [`CERTIFICATE_LIFETIME`].
    pub fn issue<R: Rng + CryptoRng>(
        identity: &Identity,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Self> {
        let signer = KeyPair::generate(rng);
        let server = ServerCertificate::new(
            SELF_ISSUED_KEY_ID,
            signer.public_key,
            identity.key_pair().private_key(),
            rng,
        )?;
        let expires = now + CERTIFICATE_LIFETIME;
        let certificate = SenderCertificate::new(
            identity.public().fingerprint_name(),
            None,
            *identity.key_pair().public_key(),
            device_id(),
            timestamp(expires),
            server,
            &signer.private_key,
            rng,
        )?;
        Ok(Self {
            certificate,
            expires,
        })
    }

    /// Whether this certificate should be replaced before sending at `now`.
    pub fn needs_renewal(&self, now: SystemTime) -> bool {
        self.expires
            .duration_since(now)
            .map_or(true, |left| left < CERTIFICATE_RENEW_MARGIN)
    }

    /// The libsignal certificate.
    pub fn certificate(&self) -> &SenderCertificate {
        &self.certificate
    }
}

/// Wraps a libsignal ciphertext for `destination` in sealed sender (v1, one recipient).
pub(crate) async fn seal<S: Store + ?Sized, R: Rng + CryptoRng>(
    view: &SignalStore<'_, S>,
    destination: &PublicIdentity,
    certificate: &SelfCertificate,
    ciphertext: &CiphertextMessage,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let usmc = UnidentifiedSenderMessageContent::new(
        ciphertext.message_type(),
        certificate.certificate.clone(),
        ciphertext.serialize().to_vec(),
        ContentHint::Default,
        None,
    )?;
    Ok(sealed_sender_encrypt_from_usmc(&destination.address(), &usmc, view, rng).await?)
}

/// Removes the sealed-sender layer and checks that the sender is `expected`.
pub(crate) async fn unseal<S: Store + ?Sized>(
    view: &SignalStore<'_, S>,
    sealed: &[u8],
    expected: &PublicIdentity,
    verified: &VerifiedCertificates,
    now: SystemTime,
) -> Result<UnidentifiedSenderMessageContent> {
    let usmc = sealed_sender_decrypt_to_usmc(sealed, view).await?;
    verified.check(usmc.sender()?, expected, now)?;
    Ok(usmc)
}

/// Removes the sealed-sender layer of a packet from someone who is not a contact yet (on an
/// invitation queue) and returns who it is: the certificate must be valid and issued by
/// the very identity key it names (self-issued), which the sealed layer proves the sender
/// holds.
pub(crate) async fn unseal_stranger<S: Store + ?Sized>(
    view: &SignalStore<'_, S>,
    sealed: &[u8],
    now: SystemTime,
) -> Result<(UnidentifiedSenderMessageContent, PublicIdentity)> {
    let usmc = sealed_sender_decrypt_to_usmc(sealed, view).await?;
    let presented = PublicIdentity::new(IdentityKey::new(usmc.sender()?.key()?));
    check_sender(usmc.sender()?, &presented, now)?;
    Ok((usmc, presented))
}

/// Remembers, per contact, the last sender certificate whose signatures verified, so that
/// the many messages carrying the same certificate cost one signature check, not two per
/// message. Only the signature verification is skipped: the bytes must be identical, and
/// the key, names and expiry are checked every time.
#[derive(Default)]
pub struct VerifiedCertificates {
    by_contact: std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>,
}

impl VerifiedCertificates {
    /// Checks `certificate` as [`check_sender`] does, verifying signatures only for a
    /// certificate not seen verified before for this contact.
    pub fn check(
        &self,
        certificate: &SenderCertificate,
        expected: &PublicIdentity,
        now: SystemTime,
    ) -> Result<()> {
        let name = expected.fingerprint_name();
        let bytes = certificate.serialized()?;
        let known = self
            .by_contact
            .lock()
            .is_ok_and(|map| map.get(&name).is_some_and(|b| b == bytes));
        if known && IdentityKey::new(certificate.key()?) == *expected.key() {
            if timestamp(now) > certificate.expiration()? {
                return Err(Error::UntrustedSender("certificate is expired".into()));
            }
            return check_names(certificate, expected);
        }
        check_sender(certificate, expected, now)?;
        if let Ok(mut map) = self.by_contact.lock() {
            map.insert(name, bytes.to_vec());
        }
        Ok(())
    }
}

fn check_names(certificate: &SenderCertificate, expected: &PublicIdentity) -> Result<()> {
    if certificate.sender_uuid()? != expected.fingerprint_name()
        || certificate.sender_device_id()? != device_id()
    {
        return Err(Error::UntrustedSender(
            "certificate names another identity or device".into(),
        ));
    }
    Ok(())
}

/// Accepts a sender certificate only if it is a valid, unexpired certificate issued by the
/// expected contact's identity key for that same key.
///
/// libsignal has already checked that the sender holds the private key of the
/// certificate's identity key (the sealed layer is keyed with it).
pub fn check_sender(
    certificate: &SenderCertificate,
    expected: &PublicIdentity,
    now: SystemTime,
) -> Result<()> {
    let now = timestamp(now);
    let presented = IdentityKey::new(certificate.key()?);
    if &presented != expected.key() {
        // A certificate that is valid on its own terms proves its holder owns `presented`:
        // someone who is not the trusted contact (a stranger, or the contact with a new
        // key). Either way the user must decide; nothing is decrypted.
        return if certificate.validate(presented.public_key(), now)? {
            Err(Error::IdentityKeyChanged {
                trusted: Box::new(*expected.key()),
                presented: Box::new(presented),
            })
        } else {
            Err(Error::UntrustedSender(
                "certificate is not issued by the identity it names".into(),
            ))
        };
    }
    if !certificate.validate(expected.key().public_key(), now)? {
        return Err(Error::UntrustedSender(
            "certificate is expired or not signed by the contact's identity key".into(),
        ));
    }
    check_names(certificate, expected)
}

/// Fuzzing entry point: opens arbitrary bytes as a packet from a fixed sender for a fixed
/// recipient (both made once per thread). Input shorter than a packet is padded first, so
/// the fuzzer reaches the sealed-sender parser rather than stopping at the padding check.
#[doc(hidden)]
#[cfg(all(feature = "fuzzing", not(target_arch = "wasm32")))]
pub fn fuzz_open(data: &[u8]) -> Result<crate::content::Content> {
    use crate::profile::Profile;
    use crate::store::MemoryStore;

    thread_local! {
        static FIXTURE: (Profile<MemoryStore>, PublicIdentity) = {
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
            let mut rng = rand::rng();
            let recipient = futures_executor::block_on(Profile::create(
                MemoryStore::new(), None, now, &mut rng,
            ))
            .expect("fixture profile");
            let sender = Identity::generate(None, &mut rng).expect("fixture identity").public();
            (recipient, sender)
        };
    }
    let padded;
    let packet = if data.len() < crate::padding::PACKET_PAYLOAD_SIZE {
        padded = crate::padding::pad(data)?;
        &padded[..]
    } else {
        data
    };
    FIXTURE.with(|(recipient, sender)| {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        futures_executor::block_on(recipient.open(sender, packet, now, &mut rand::rng()))
    })
}
