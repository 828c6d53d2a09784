//! One-time invitations: how two people become contacts without any server knowing them.
//!
//! An invitation carries the inviter's identity key, a PQXDH prekey bundle (signed EC
//! prekey, signed Kyber1024 prekey and a one-time EC prekey made for this invitation
//! alone) and the send capability of a fresh queue on the inviter's relay (relay address,
//! sender id, sender private key). The inviter signs all of it with the identity key, so a
//! changed byte anywhere fails to parse or to verify.
//!
//! It travels as a URI, `sotto://invite#<unpadded base64url of the bytes>` (everything in
//! the fragment, which browsers never send to a server), or as a QR code holding the same
//! bytes. See `docs/PROTOCOL.md` §16. A client that makes an invitation also stores it
//! sealed on its relay, so that a short link ([`ShortInvitation`], §16.1) can stand for it:
//! [`Invitation::link`] is that short link when there is one.

mod short;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libsignal_protocol::{
    IdentityKey, IdentityKeyPair, KyberPreKeyId, PreKeyBundle, PreKeyId, PublicKey, SignedPreKeyId,
    kem,
};
use prost::Message as _;
use rand::{CryptoRng, Rng};

use crate::identity::{PublicIdentity, device_id};
use crate::proto::invitation as wire;
use crate::qr::{self, QrError};
pub use crate::relay::SendCapability;
use crate::relay::{QueueKeyPair, RelayAddress, SenderId};
pub use short::{
    InvitationLink, MAX_SHORT_URI_LEN, PADDED_LEN, SEALED_LEN, SEED_LEN, SHORT_URI_PREFIX,
    ShortInvitation,
};

/// The invitation format version this build writes and reads.
pub const INVITATION_VERSION: u32 = 1;
/// The URI prefix of invitations.
pub const INVITATION_URI_PREFIX: &str = "sotto://invite#";
/// Largest accepted invitation, in bytes (a real one is about 2 KiB).
pub const MAX_INVITATION_BYTES: usize = 2400;

/// Domain label of the inviter's signature.
const SIGNATURE_DOMAIN: &[u8] = b"sotto invitation v1\0";

/// Why an invitation could not be read or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvitationError {
    /// Not `sotto://invite#...`.
    #[error("not a Sotto invitation: it must start with \"{INVITATION_URI_PREFIX}\"")]
    NotAnInvitation,
    /// The fragment is not unpadded base64url.
    #[error("the invitation is not valid base64url (was it cut off?)")]
    InvalidEncoding,
    /// Larger than [`MAX_INVITATION_BYTES`].
    #[error("the invitation is {0} bytes; at most {MAX_INVITATION_BYTES} are accepted")]
    TooLong(usize),
    /// The bytes are not an invitation, or not in its one canonical encoding (a changed or
    /// added byte).
    #[error("the invitation is malformed: {0}")]
    Malformed(String),
    /// Made by a newer version of Sotto.
    #[error("invitation version {0} is not supported (this build reads version 1)")]
    UnsupportedVersion(u32),
    /// A signature does not verify: the invitation was changed after it was made.
    #[error("the invitation's signature does not verify: it was altered")]
    BadSignature,
    /// This invitation was used before (by someone else or by a second attempt): one
    /// invitation makes one contact.
    #[error("this invitation was already used")]
    AlreadyUsed,
    /// The inviter's relay no longer holds the invitation a short link points to: it was
    /// used, or it expired with the relay's chunks (48 hours by default). Ask for a new one.
    #[error("this invitation link was used or has expired: ask for a new one")]
    Unavailable,
    /// The acceptance came from someone who is already a contact (with the same identity
    /// key): no second contact is made, and the invitation stays unused.
    #[error("the invitation was accepted by someone who is already a contact")]
    KnownContact,
    /// The QR code could not be made.
    #[error(transparent)]
    Qr(#[from] QrError),
}

/// A parsed, verified invitation.
#[derive(Clone)]
pub struct Invitation {
    inviter: PublicIdentity,
    bundle: PreKeyBundle,
    queue: SendCapability,
    bytes: Vec<u8>,
    /// The short link standing for it, when its maker stored it on the relay.
    short: Option<ShortInvitation>,
}

impl std::fmt::Debug for Invitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invitation")
            .field("inviter", &self.inviter.to_text())
            .field("relay", &self.queue.relay.to_string())
            .finish_non_exhaustive()
    }
}

impl Invitation {
    /// Makes and signs an invitation from the inviter's key pair, a bundle that includes a
    /// one-time prekey, and the send capability of a fresh queue.
    pub fn new<R: Rng + CryptoRng>(
        inviter: &IdentityKeyPair,
        bundle: PreKeyBundle,
        queue: SendCapability,
        rng: &mut R,
    ) -> Result<Self, InvitationError> {
        let mut message = to_wire(inviter.identity_key(), &bundle, &queue)?;
        let signature = inviter
            .private_key()
            .calculate_signature(&signed_part(&message), rng)
            .map_err(|e| InvitationError::Malformed(format!("signing: {e}")))?;
        message.signature = signature.to_vec();
        Ok(Self {
            inviter: PublicIdentity::new(*inviter.identity_key()),
            bundle,
            queue,
            bytes: message.encode_to_vec(),
            short: None,
        })
    }

    /// Parses and verifies invitation bytes (from a QR code, or a URI's fragment).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvitationError> {
        if bytes.len() > MAX_INVITATION_BYTES {
            return Err(InvitationError::TooLong(bytes.len()));
        }
        let message = wire::Invitation::decode(bytes)
            .map_err(|e| InvitationError::Malformed(e.to_string()))?;
        // One canonical encoding: unknown fields, repeated fields, padding or a changed
        // length are all refused here, before anything is trusted.
        if message.encode_to_vec() != bytes {
            return Err(InvitationError::Malformed(
                "not in canonical encoding (unknown or repeated fields?)".into(),
            ));
        }
        if message.version != INVITATION_VERSION {
            return Err(InvitationError::UnsupportedVersion(message.version));
        }
        let identity = IdentityKey::decode(&message.identity_key)
            .map_err(|_| malformed("identity_key is not an identity key"))?;
        if message.identity_key.len() != 33 {
            return Err(malformed("identity_key is not 33 bytes"));
        }
        if !identity
            .public_key()
            .verify_signature(&signed_part(&message), &message.signature)
        {
            return Err(InvitationError::BadSignature);
        }
        let signed_pre_key = PublicKey::deserialize(&message.signed_pre_key)
            .map_err(|_| malformed("signed_pre_key is not a public key"))?;
        let kyber_pre_key = kem::PublicKey::deserialize(&message.kyber_pre_key)
            .map_err(|_| malformed("kyber_pre_key is not a Kyber public key"))?;
        let pre_key = PublicKey::deserialize(&message.pre_key)
            .map_err(|_| malformed("pre_key is not a public key"))?;
        // The bundle's own signatures (checked again by libsignal when the session starts).
        if !identity
            .public_key()
            .verify_signature(&message.signed_pre_key, &message.signed_pre_key_signature)
            || !identity
                .public_key()
                .verify_signature(&message.kyber_pre_key, &message.kyber_pre_key_signature)
        {
            return Err(InvitationError::BadSignature);
        }
        let bundle = PreKeyBundle::new(
            message.registration_id,
            device_id(),
            Some((PreKeyId::from(message.pre_key_id), pre_key)),
            SignedPreKeyId::from(message.signed_pre_key_id),
            signed_pre_key,
            message.signed_pre_key_signature.clone(),
            KyberPreKeyId::from(message.kyber_pre_key_id),
            kyber_pre_key,
            message.kyber_pre_key_signature.clone(),
            identity,
        )
        .map_err(|e| InvitationError::Malformed(e.to_string()))?;
        let relay = RelayAddress::parse(&message.relay)
            .map_err(|e| InvitationError::Malformed(format!("relay: {e}")))?;
        let sender_id: [u8; 16] = message
            .sender_id
            .as_slice()
            .try_into()
            .map_err(|_| malformed("sender_id is not 16 bytes"))?;
        if message.sender_key.len() != 32 {
            return Err(malformed("sender_key is not 32 bytes"));
        }
        let sender_key = QueueKeyPair::from_private_bytes(&message.sender_key)
            .map_err(|_| malformed("sender_key is not a private key"))?;
        Ok(Self {
            inviter: PublicIdentity::new(identity),
            bundle,
            queue: SendCapability {
                relay,
                sender_id: SenderId::from_bytes(sender_id),
                sender_key,
            },
            bytes: bytes.to_vec(),
            short: None,
        })
    }

    /// Parses and verifies an invitation URI, `sotto://invite#...`.
    pub fn from_uri(uri: &str) -> Result<Self, InvitationError> {
        let encoded = uri
            .trim()
            .strip_prefix(INVITATION_URI_PREFIX)
            .ok_or(InvitationError::NotAnInvitation)?;
        if encoded.len() > MAX_INVITATION_BYTES * 4 / 3 + 4 {
            return Err(InvitationError::TooLong(encoded.len() * 3 / 4));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| InvitationError::InvalidEncoding)?;
        Self::from_bytes(&bytes)
    }

    /// Reads what a scanner decoded from an invitation QR code: the invitation bytes, or
    /// the URI as text.
    pub fn from_scanned(data: &[u8]) -> Result<Self, InvitationError> {
        match std::str::from_utf8(data) {
            Ok(text) if text.trim().starts_with(INVITATION_URI_PREFIX) => Self::from_uri(text),
            _ => Self::from_bytes(data),
        }
    }

    /// The signed bytes.
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The URI form, `sotto://invite#<base64url>`.
    pub fn to_uri(&self) -> String {
        format!(
            "{INVITATION_URI_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(&self.bytes)
        )
    }

    /// A QR code of the invitation bytes, as PNG.
    pub fn qr_png(&self) -> Result<Vec<u8>, InvitationError> {
        Ok(qr::render_png(&self.bytes)?)
    }

    /// A QR code of the invitation bytes, as SVG.
    pub fn qr_svg(&self) -> Result<String, InvitationError> {
        Ok(qr::render_svg(&self.bytes)?)
    }

    /// This invitation with the short link that stands for it (once sealed on the relay).
    pub fn with_short(mut self, short: ShortInvitation) -> Self {
        self.short = Some(short);
        self
    }

    /// The short link standing for this invitation, if its maker stored it on the relay.
    pub fn short(&self) -> Option<&ShortInvitation> {
        self.short.as_ref()
    }

    /// The link to hand over: the short one when there is one (about 120 characters, a QR
    /// code of version 10 or lower), else the full [`Invitation::to_uri`].
    pub fn link(&self) -> String {
        self.short
            .as_ref()
            .map_or_else(|| self.to_uri(), ShortInvitation::to_uri)
    }

    /// A QR code of [`Invitation::link`], as PNG: the short link's text, else the
    /// invitation's bytes.
    pub fn link_qr_png(&self) -> Result<Vec<u8>, InvitationError> {
        match &self.short {
            Some(short) => Ok(short.qr_png()?),
            None => self.qr_png(),
        }
    }

    /// A QR code of [`Invitation::link`], as SVG.
    pub fn link_qr_svg(&self) -> Result<String, InvitationError> {
        match &self.short {
            Some(short) => Ok(short.qr_svg()?),
            None => self.qr_svg(),
        }
    }

    /// Who invites.
    pub fn inviter(&self) -> &PublicIdentity {
        &self.inviter
    }

    /// The inviter's prekey bundle (for the session start).
    pub fn bundle(&self) -> &PreKeyBundle {
        &self.bundle
    }

    /// Where to send the acceptance (and every later message to the inviter).
    pub fn queue(&self) -> &SendCapability {
        &self.queue
    }

    /// The one-time prekey id, which names the invitation on the inviter's side.
    pub fn one_time_pre_key_id(&self) -> u32 {
        self.bundle.pre_key_id().ok().flatten().map_or(0, u32::from)
    }
}

fn malformed(what: &str) -> InvitationError {
    InvitationError::Malformed(what.to_owned())
}

/// The wire message without its signature.
fn to_wire(
    identity: &IdentityKey,
    bundle: &PreKeyBundle,
    queue: &SendCapability,
) -> Result<wire::Invitation, InvitationError> {
    let bad =
        |e: libsignal_protocol::SignalProtocolError| InvitationError::Malformed(e.to_string());
    if bundle.identity_key().map_err(bad)? != identity {
        return Err(malformed("the bundle is not the inviter's"));
    }
    let (pre_key_id, pre_key) = match (
        bundle.pre_key_id().map_err(bad)?,
        bundle.pre_key_public().map_err(bad)?,
    ) {
        (Some(id), Some(key)) => (u32::from(id), key),
        _ => return Err(malformed("an invitation needs a one-time prekey")),
    };
    Ok(wire::Invitation {
        version: INVITATION_VERSION,
        identity_key: identity.serialize().to_vec(),
        registration_id: bundle.registration_id().map_err(bad)?,
        signed_pre_key_id: u32::from(bundle.signed_pre_key_id().map_err(bad)?),
        signed_pre_key: bundle
            .signed_pre_key_public()
            .map_err(bad)?
            .serialize()
            .to_vec(),
        signed_pre_key_signature: bundle.signed_pre_key_signature().map_err(bad)?.to_vec(),
        kyber_pre_key_id: u32::from(bundle.kyber_pre_key_id().map_err(bad)?),
        kyber_pre_key: bundle
            .kyber_pre_key_public()
            .map_err(bad)?
            .serialize()
            .to_vec(),
        kyber_pre_key_signature: bundle.kyber_pre_key_signature().map_err(bad)?.to_vec(),
        pre_key_id,
        pre_key: pre_key.serialize().to_vec(),
        relay: queue.relay.to_string(),
        sender_id: queue.sender_id.as_bytes().to_vec(),
        sender_key: queue.sender_key.private_bytes().to_vec(),
        signature: Vec::new(),
    })
}

/// What the inviter signs: a domain label and the encoding of every field but the
/// signature.
fn signed_part(message: &wire::Invitation) -> Vec<u8> {
    let unsigned = wire::Invitation {
        signature: Vec::new(),
        ..message.clone()
    };
    let mut out = SIGNATURE_DOMAIN.to_vec();
    out.extend_from_slice(&unsigned.encode_to_vec());
    out
}
