//! Short invitations (`docs/PROTOCOL.md` §16.1): a link of about 120 characters that a
//! phone camera reads off a screen, in place of the 2.7 KB full invitation.
//!
//! The inviter seals the full invitation's bytes and stores them as one chunk in its
//! relay's chunk store (§17), the relay that holds the invitation's queue. The short link
//! names that relay and carries a 32-byte seed; everything derives from the seed with
//! BLAKE3's key derivation:
//!
//! - `chunk = BLAKE3.derive_key("sotto short invitation chunk v1", seed)`: the
//!   [`ChunkSeed`] whose part 0 holds the sealed invitation (its read and delete secrets);
//! - `key = BLAKE3.derive_key("sotto short invitation key v1", seed)`: an
//!   XChaCha20-Poly1305 key; the sealed invitation is a random 24-byte nonce and the
//!   ciphertext of `u16_be(len) || invitation || zeros` (always [`PADDED_LEN`] bytes, so
//!   every sealed invitation has the same size, [`SEALED_LEN`]), with associated data
//!   `"sotto short invitation v1"`.
//!
//! The inviter does not store the seed: it is derived from the invitation queue's
//! recipient key (`BLAKE3.derive_key("sotto short invitation seed v1", key)`), so the
//! inviter deletes the chunk when the acceptance arrives. An unused one expires with the
//! relay's chunks. The relay sees one chunk of a fixed size uploaded and, maybe, read
//! once, both through a proxy relay: no more than it learns from an attachment.
//!
//! Link: `sotto://invite/<relay key>@<host>:<port>#<base64url seed>`, the relay's address
//! (as in `sotto://<key>@<host>:<port>`) after `invite/`, the seed in the fragment.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::{CryptoRng, Rng};
use zeroize::Zeroizing;

use super::{INVITATION_URI_PREFIX, Invitation, InvitationError, MAX_INVITATION_BYTES};
use crate::qr::{self, QrError};
use crate::relay::{ChunkSeed, RelayAddress};

/// The URI prefix of short invitations.
pub const SHORT_URI_PREFIX: &str = "sotto://invite/";
/// Length of the seed a short link carries.
pub const SEED_LEN: usize = 32;
/// Bytes sealed: a length, the invitation, zeros up to this size.
pub const PADDED_LEN: usize = 2 + MAX_INVITATION_BYTES;
/// Size of every sealed invitation: nonce, padded invitation, tag.
pub const SEALED_LEN: usize = NONCE_LEN + PADDED_LEN + TAG_LEN;
/// The longest short link accepted (a real one is about 120 characters).
pub const MAX_SHORT_URI_LEN: usize = 400;

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const SEED_TEXT_LEN: usize = 43;
const CHUNK_CONTEXT: &str = "sotto short invitation chunk v1";
const KEY_CONTEXT: &str = "sotto short invitation key v1";
const SEED_CONTEXT: &str = "sotto short invitation seed v1";
const ASSOCIATED_DATA: &[u8] = b"sotto short invitation v1";

/// A short invitation link: where the sealed invitation is, and the seed that finds and
/// opens it.
#[derive(Clone, PartialEq, Eq)]
pub struct ShortInvitation {
    relay: RelayAddress,
    seed: Zeroizing<[u8; SEED_LEN]>,
}

impl std::fmt::Debug for ShortInvitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShortInvitation")
            .field("relay", &self.relay)
            .finish_non_exhaustive()
    }
}

impl ShortInvitation {
    /// The short invitation of the invitation queue whose recipient private key is
    /// `queue_key`, on `relay` (the inviter derives it again to delete the chunk).
    pub fn for_queue(relay: RelayAddress, queue_key: &[u8]) -> Self {
        Self {
            relay,
            seed: Zeroizing::new(blake3::derive_key(SEED_CONTEXT, queue_key)),
        }
    }

    /// Parses `sotto://invite/<relay>#<seed>`.
    ///
    /// # Errors
    /// [`InvitationError::NotAnInvitation`] without the prefix, [`InvitationError::TooLong`]
    /// past [`MAX_SHORT_URI_LEN`], [`InvitationError::Malformed`] for a bad relay address,
    /// [`InvitationError::InvalidEncoding`] for a bad seed.
    pub fn parse(uri: &str) -> Result<Self, InvitationError> {
        let uri = uri.trim();
        if uri.len() > MAX_SHORT_URI_LEN {
            return Err(InvitationError::TooLong(uri.len()));
        }
        let rest = uri
            .strip_prefix(SHORT_URI_PREFIX)
            .ok_or(InvitationError::NotAnInvitation)?;
        let (relay, seed) = rest
            .split_once('#')
            .ok_or_else(|| InvitationError::Malformed("the link has no seed".into()))?;
        let relay = RelayAddress::parse(&format!("sotto://{relay}"))
            .map_err(|e| InvitationError::Malformed(format!("relay address: {e}")))?;
        if seed.len() != SEED_TEXT_LEN {
            return Err(InvitationError::InvalidEncoding);
        }
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(seed)
                .map_err(|_| InvitationError::InvalidEncoding)?,
        );
        let seed: [u8; SEED_LEN] = bytes[..]
            .try_into()
            .map_err(|_| InvitationError::InvalidEncoding)?;
        Ok(Self {
            relay,
            seed: Zeroizing::new(seed),
        })
    }

    /// The link, `sotto://invite/<relay>#<seed>`.
    pub fn to_uri(&self) -> String {
        let relay = self.relay.to_string();
        let authority = relay.strip_prefix("sotto://").unwrap_or(&relay);
        format!(
            "{SHORT_URI_PREFIX}{authority}#{}",
            URL_SAFE_NO_PAD.encode(*self.seed)
        )
    }

    /// A QR code of the link, as PNG.
    pub fn qr_png(&self) -> Result<Vec<u8>, QrError> {
        qr::render_png(self.to_uri().as_bytes())
    }

    /// A QR code of the link, as SVG.
    pub fn qr_svg(&self) -> Result<String, QrError> {
        qr::render_svg(self.to_uri().as_bytes())
    }

    /// The relay whose chunk store holds the sealed invitation.
    pub fn relay(&self) -> &RelayAddress {
        &self.relay
    }

    /// The chunk (part 0 of this seed) holding the sealed invitation.
    pub fn chunk_seed(&self) -> ChunkSeed {
        ChunkSeed::from_bytes(blake3::derive_key(CHUNK_CONTEXT, &self.seed[..]))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        let key = Zeroizing::new(blake3::derive_key(KEY_CONTEXT, &self.seed[..]));
        XChaCha20Poly1305::new((&*key).into())
    }

    /// Seals `invitation` for the chunk store: [`SEALED_LEN`] bytes.
    ///
    /// # Errors
    /// [`InvitationError::TooLong`] for an invitation past [`MAX_INVITATION_BYTES`].
    pub fn seal<R: Rng + CryptoRng>(
        &self,
        invitation: &Invitation,
        rng: &mut R,
    ) -> Result<Vec<u8>, InvitationError> {
        let bytes = invitation.to_bytes();
        let len = u16::try_from(bytes.len())
            .ok()
            .filter(|_| bytes.len() <= MAX_INVITATION_BYTES)
            .ok_or(InvitationError::TooLong(bytes.len()))?;
        let mut padded = Zeroizing::new(vec![0u8; PADDED_LEN]);
        padded[..2].copy_from_slice(&len.to_be_bytes());
        padded[2..2 + bytes.len()].copy_from_slice(bytes);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &padded,
                    aad: ASSOCIATED_DATA,
                },
            )
            .map_err(|_| InvitationError::Malformed("sealing failed".into()))?;
        let mut sealed = Vec::with_capacity(SEALED_LEN);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens a sealed invitation fetched from the chunk store and parses and verifies it
    /// ([`Invitation::from_bytes`]). Its queue must be on this link's relay.
    ///
    /// # Errors
    /// [`InvitationError::Malformed`] for bytes of another size, that do not open under
    /// this seed (altered, or sealed for another link) or whose invitation names another
    /// relay; the errors of [`Invitation::from_bytes`].
    pub fn open(&self, sealed: &[u8]) -> Result<Invitation, InvitationError> {
        if sealed.len() != SEALED_LEN {
            return Err(InvitationError::Malformed(format!(
                "a sealed invitation is {SEALED_LEN} bytes, not {}",
                sealed.len()
            )));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let padded = Zeroizing::new(
            self.cipher()
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: ASSOCIATED_DATA,
                    },
                )
                .map_err(|_| {
                    InvitationError::Malformed("the sealed invitation does not open".into())
                })?,
        );
        let len = usize::from(u16::from_be_bytes([padded[0], padded[1]]));
        let body = padded
            .get(2..2 + len)
            .filter(|_| len <= MAX_INVITATION_BYTES)
            .ok_or_else(|| {
                InvitationError::Malformed("bad length in a sealed invitation".into())
            })?;
        if padded[2 + len..].iter().any(|&b| b != 0) {
            return Err(InvitationError::Malformed(
                "a sealed invitation's padding is not zeros".into(),
            ));
        }
        let invitation = Invitation::from_bytes(body)?;
        if invitation.queue().relay != self.relay {
            return Err(InvitationError::Malformed(
                "the invitation's queue is not on the link's relay".into(),
            ));
        }
        Ok(invitation)
    }
}

/// An invitation as a person hands it over: the full invitation, or a short link to it.
#[derive(Debug, Clone)]
pub enum InvitationLink {
    /// `sotto://invite#...`: everything in the link.
    Full(Box<Invitation>),
    /// `sotto://invite/...`: fetched from the inviter's relay when accepted.
    Short(ShortInvitation),
}

impl InvitationLink {
    /// Parses either form of invitation link.
    ///
    /// # Errors
    /// As [`Invitation::from_uri`] and [`ShortInvitation::parse`].
    pub fn parse(text: &str) -> Result<Self, InvitationError> {
        let text = text.trim();
        if text.starts_with(SHORT_URI_PREFIX) {
            ShortInvitation::parse(text).map(Self::Short)
        } else {
            Invitation::from_uri(text).map(|i| Self::Full(Box::new(i)))
        }
    }

    /// A QR code of the link, as PNG (a full invitation's code holds its bytes).
    ///
    /// # Errors
    /// [`InvitationError::Qr`] if it does not fit.
    pub fn qr_png(&self) -> Result<Vec<u8>, InvitationError> {
        match self {
            Self::Full(invitation) => invitation.qr_png(),
            Self::Short(short) => Ok(short.qr_png()?),
        }
    }

    /// A QR code of the link, as SVG.
    ///
    /// # Errors
    /// As [`InvitationLink::qr_png`].
    pub fn qr_svg(&self) -> Result<String, InvitationError> {
        match self {
            Self::Full(invitation) => invitation.qr_svg(),
            Self::Short(short) => Ok(short.qr_svg()?),
        }
    }

    /// Reads what a scanner decoded from an invitation QR code: a link of either form as
    /// text, or a full invitation's bytes.
    ///
    /// # Errors
    /// As [`InvitationLink::parse`] and [`Invitation::from_bytes`].
    pub fn from_scanned(data: &[u8]) -> Result<Self, InvitationError> {
        match std::str::from_utf8(data) {
            Ok(text)
                if text.trim().starts_with(SHORT_URI_PREFIX)
                    || text.trim().starts_with(INVITATION_URI_PREFIX) =>
            {
                Self::parse(text)
            }
            _ => Invitation::from_bytes(data).map(|i| Self::Full(Box::new(i))),
        }
    }
}
