//! Sessions: PQXDH session start from a prekey bundle and the Double Ratchet (with SPQR),
//! both entirely libsignal's; this module only routes calls and maps errors.

use std::time::SystemTime;

use libsignal_protocol::{
    CiphertextMessage, CiphertextMessageType, PreKeyBundle, PreKeySignalMessage,
    SessionUsabilityRequirements, SignalMessage, UnidentifiedSenderMessageContent,
    message_decrypt_prekey, message_decrypt_signal, message_encrypt, process_prekey_bundle,
};
use rand::{CryptoRng, Rng};

use crate::error::{Error, Result};
use crate::identity::PublicIdentity;
use crate::store::{SignalStore, Store};

/// Starts a session with the owner of `bundle` (PQXDH: X25519 plus Kyber1024). Returns the
/// peer's identity. The bundle's signatures are checked by libsignal.
pub(crate) async fn start<S: Store + ?Sized, R: Rng + CryptoRng>(
    view: &SignalStore<'_, S>,
    bundle: &PreKeyBundle,
    now: SystemTime,
    rng: &mut R,
) -> Result<PublicIdentity> {
    let peer = PublicIdentity::new(*bundle.identity_key()?);
    process_prekey_bundle(
        &peer.address(),
        &mut view.clone(),
        &mut view.clone(),
        bundle,
        now,
        rng,
    )
    .await
    .map_err(|e| match e {
        libsignal_protocol::SignalProtocolError::SignatureValidationFailed => {
            Error::InvalidBundle("a prekey signature does not verify".into())
        }
        other => other.into(),
    })?;
    Ok(peer)
}

/// Encrypts with the session's ratchet.
pub(crate) async fn encrypt<S: Store + ?Sized, R: Rng + CryptoRng>(
    view: &SignalStore<'_, S>,
    peer: &PublicIdentity,
    plaintext: &[u8],
    now: SystemTime,
    rng: &mut R,
) -> Result<CiphertextMessage> {
    Ok(message_encrypt(
        plaintext,
        &peer.address(),
        &mut view.clone(),
        &mut view.clone(),
        now,
        rng,
    )
    .await?)
}

/// Decrypts the libsignal message inside an unsealed envelope from `peer`.
pub(crate) async fn decrypt<S: Store + ?Sized, R: Rng + CryptoRng>(
    view: &SignalStore<'_, S>,
    peer: &PublicIdentity,
    usmc: &UnidentifiedSenderMessageContent,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let address = peer.address();
    match usmc.msg_type()? {
        CiphertextMessageType::Whisper => {
            let message = SignalMessage::try_from(usmc.contents()?)?;
            Ok(message_decrypt_signal(
                &message,
                &address,
                &mut view.clone(),
                &mut view.clone(),
                rng,
            )
            .await?)
        }
        CiphertextMessageType::PreKey => {
            let message = PreKeySignalMessage::try_from(usmc.contents()?)?;
            if message.identity_key() != peer.key() {
                return Err(Error::UntrustedSender(
                    "first message carries another identity than its certificate".into(),
                ));
            }
            Ok(message_decrypt_prekey(
                &message,
                &address,
                &mut view.clone(),
                &mut view.clone(),
                &mut view.clone(),
                view,
                &mut view.clone(),
                rng,
            )
            .await?)
        }
        other => Err(Error::InvalidCiphertext(format!(
            "unexpected message type {other:?} in a sealed envelope"
        ))),
    }
}

/// Whether the session with `peer` exists and is post-quantum: established with PQXDH
/// (Kyber) and running the SPQR ratchet.
pub(crate) async fn is_post_quantum<S: Store + ?Sized>(
    view: &SignalStore<'_, S>,
    peer: &PublicIdentity,
    now: SystemTime,
) -> Result<bool> {
    use libsignal_protocol::SessionStore as _;
    let Some(record) = view.load_session(&peer.address()).await? else {
        return Ok(false);
    };
    Ok(record.has_usable_sender_chain(
        now,
        SessionUsabilityRequirements::EstablishedWithPqxdh | SessionUsabilityRequirements::Spqr,
    )? && record.session_version()? >= 4)
}
