//! Safety numbers: how two people check, out of band, that they talk to each other's real
//! identity keys and not to someone in the middle.
//!
//! A [`SafetyNumber`] is libsignal's [`Fingerprint`] of the two identity keys, computed
//! exactly as Signal does (fingerprint version 2, 5200 iterations of SHA-512), so the
//! digits and the scannable code have Signal's well-reviewed format. It comes in two forms:
//! - 60 decimal digits that both sides see identically and can read to each other;
//! - a scannable code (a small protobuf) that one side shows as a QR code and the other
//!   scans and checks with [`SafetyNumber::compare_scanned`].
//!
//! **Stable identifiers.** libsignal hashes each side's key together with a "stable
//! identifier" of its owner (Signal uses the account's phone number or service id). Sotto has
//! no accounts, no phone numbers and no user ids: the identity key *is* the identity. So each
//! side's identifier is the serialized public identity key itself (33 bytes: `0x05` then
//! the Curve25519 key). That is the only name both devices already agree on without asking
//! anyone, it never changes while the key is the same, and it adds no metadata. A display
//! name would not work: it is a local label that the two sides may set differently.

use std::fmt;

use libsignal_protocol::{Fingerprint, FingerprintError, IdentityKey, ScannableFingerprint};
use prost::Message as _;

use crate::qr::{self, QrError};

/// The scannable-fingerprint format version Sotto produces (Signal's current version 2).
pub const FINGERPRINT_VERSION: u32 = 2;

/// SHA-512 iterations per side, as Signal uses: slows down a search for a key whose number
/// collides with a victim's.
pub const FINGERPRINT_ITERATIONS: u32 = 5200;

/// Number of decimal digits in a safety number.
pub const DIGITS_LEN: usize = 60;

/// Digits per display group: the 60 digits are shown as 12 groups of 5.
pub const GROUP_LEN: usize = 5;

/// Length of each side's fingerprint inside a version-2 scannable code.
const SCANNABLE_FINGERPRINT_LEN: usize = 32;

/// Errors of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SafetyError {
    /// libsignal could not compute the fingerprint (a bug if it ever happens: the inputs are
    /// valid identity keys and fixed parameters).
    #[error("safety number could not be computed: {0}")]
    Fingerprint(String),
    /// The scanned bytes are not a safety-number code at all: not a fingerprint protobuf,
    /// no version field, or a version-2 code with a missing or wrongly sized fingerprint.
    /// This is not a mismatch: the camera read something else (another app's QR code, an
    /// invitation, a damaged scan), and the user should scan again.
    #[error("scanned code is not a safety number: {0}")]
    MalformedCode(&'static str),
}

/// What scanning the other side's code showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// The scanned code was made from the same two identity keys, seen from the other side:
    /// the contact can be marked verified.
    Match,
    /// The scanned code was made from other keys: either this is another conversation's
    /// code, or someone is in the middle. Do not mark the contact verified.
    Mismatch,
    /// The scanned code is a safety number of another format version, so the keys cannot be
    /// compared; one side must update its app.
    DifferentVersion {
        /// The version this side produces ([`FINGERPRINT_VERSION`]).
        ours: u32,
        /// The version found in the scanned code.
        theirs: u32,
    },
}

/// The safety number of a conversation between a local and a remote identity key.
///
/// Both sides compute the same digits (libsignal orders the two halves), while the
/// scannable code is directional: it holds the local half first, and the other side's code
/// holds the halves swapped, which is what [`SafetyNumber::compare_scanned`] checks.
#[derive(Clone)]
pub struct SafetyNumber {
    digits: String,
    scannable: Vec<u8>,
    fingerprint: ScannableFingerprint,
}

impl fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SafetyNumber")
            .field("digits", &self.digits)
            .finish_non_exhaustive()
    }
}

/// The 60 digits as 12 groups of 5 separated by single spaces, as users read them aloud.
impl fmt::Display for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, group) in self.digit_groups().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(group)?;
        }
        Ok(())
    }
}

impl SafetyNumber {
    /// Computes the safety number between `local` (this device's identity) and `remote`
    /// (the contact's), each identified by its own serialized key (see the module
    /// documentation).
    pub fn new(local: &IdentityKey, remote: &IdentityKey) -> Result<Self, SafetyError> {
        let local_id = local.serialize();
        let remote_id = remote.serialize();
        let fingerprint = Fingerprint::new(
            FINGERPRINT_VERSION,
            FINGERPRINT_ITERATIONS,
            &local_id,
            local,
            &remote_id,
            remote,
        )
        .map_err(fingerprint_error)?;
        let digits = fingerprint.display_string().map_err(fingerprint_error)?;
        if digits.len() != DIGITS_LEN || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SafetyError::Fingerprint(format!(
                "expected {DIGITS_LEN} digits, got {digits:?}"
            )));
        }
        let scannable = fingerprint
            .scannable
            .serialize()
            .map_err(fingerprint_error)?;
        Ok(Self {
            digits,
            scannable,
            fingerprint: fingerprint.scannable,
        })
    }

    /// The 60 ASCII digits, identical on both sides.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The digits as 12 groups of 5, the way apps lay them out (three rows of four).
    pub fn digit_groups(&self) -> [&str; DIGITS_LEN / GROUP_LEN] {
        std::array::from_fn(|i| &self.digits[i * GROUP_LEN..(i + 1) * GROUP_LEN])
    }

    /// The scannable code: libsignal's serialized `CombinedFingerprints` protobuf (version,
    /// local fingerprint, remote fingerprint). These bytes go into the QR code.
    pub fn scannable(&self) -> &[u8] {
        &self.scannable
    }

    /// The scannable code as a QR code drawn as a PNG (see [`qr::QrCode::to_png`]).
    pub fn qr_png(&self) -> Result<Vec<u8>, QrError> {
        qr::render_png(&self.scannable)
    }

    /// The scannable code as a QR code drawn as an SVG document (see
    /// [`qr::QrCode::to_svg`]).
    pub fn qr_svg(&self) -> Result<String, QrError> {
        qr::render_svg(&self.scannable)
    }

    /// Compares the digits a user typed (read off the other side's screen, or heard) with
    /// this safety number. Spaces, line breaks and dashes between the digits are ignored;
    /// anything else, or another count than 60 digits, is [`SafetyError::MalformedCode`]
    /// (a typing slip, not a mismatch). The digits are compared in constant time.
    pub fn compare_typed(&self, typed: &str) -> Result<Comparison, SafetyError> {
        let digits: Vec<u8> = typed
            .bytes()
            .filter(|b| !b.is_ascii_whitespace() && *b != b'-')
            .collect();
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(SafetyError::MalformedCode(
                "a safety number has only digits",
            ));
        }
        if digits.len() != DIGITS_LEN {
            return Err(SafetyError::MalformedCode("a safety number has 60 digits"));
        }
        let same: bool = subtle::ConstantTimeEq::ct_eq(&digits[..], self.digits.as_bytes()).into();
        Ok(if same {
            Comparison::Match
        } else {
            Comparison::Mismatch
        })
    }

    /// Compares the bytes scanned from the other side's QR code with this safety number.
    ///
    /// A code of another format version is reported as [`Comparison::DifferentVersion`]
    /// (as soon as it carries a version field), bytes that are not a safety-number code at
    /// all as [`SafetyError::MalformedCode`]; only a well-formed version-2 code yields
    /// [`Comparison::Match`] or [`Comparison::Mismatch`]. The key comparison itself is
    /// libsignal's, in constant time.
    pub fn compare_scanned(&self, scanned: &[u8]) -> Result<Comparison, SafetyError> {
        // libsignal's own compare reads a missing version as 0 and so would call empty
        // bytes a "different version": check the shape first.
        let code = CombinedFingerprints::decode(scanned)
            .map_err(|_| SafetyError::MalformedCode("not a fingerprint protobuf"))?;
        let theirs = code
            .version
            .ok_or(SafetyError::MalformedCode("no version field"))?;
        if theirs != FINGERPRINT_VERSION {
            return Ok(Comparison::DifferentVersion {
                ours: FINGERPRINT_VERSION,
                theirs,
            });
        }
        for half in [&code.local_fingerprint, &code.remote_fingerprint] {
            let content = half
                .as_ref()
                .and_then(|half| half.content.as_ref())
                .ok_or(SafetyError::MalformedCode("a fingerprint is missing"))?;
            if content.len() != SCANNABLE_FINGERPRINT_LEN {
                return Err(SafetyError::MalformedCode(
                    "a fingerprint has the wrong length",
                ));
            }
        }
        match self.fingerprint.compare(scanned) {
            Ok(true) => Ok(Comparison::Match),
            Ok(false) => Ok(Comparison::Mismatch),
            Err(FingerprintError::VersionMismatch { theirs, ours }) => {
                Ok(Comparison::DifferentVersion { ours, theirs })
            }
            Err(FingerprintError::ParsingError(reason)) => Err(SafetyError::MalformedCode(reason)),
            Err(other) => Err(fingerprint_error(other)),
        }
    }
}

/// The shape of libsignal's `CombinedFingerprints` message (`fingerprint.proto`), used only
/// to validate scanned bytes before libsignal compares them.
#[derive(Clone, PartialEq, prost::Message)]
struct CombinedFingerprints {
    #[prost(uint32, optional, tag = "1")]
    version: Option<u32>,
    #[prost(message, optional, tag = "2")]
    local_fingerprint: Option<LogicalFingerprint>,
    #[prost(message, optional, tag = "3")]
    remote_fingerprint: Option<LogicalFingerprint>,
}

/// libsignal's `LogicalFingerprint` message: one side's truncated fingerprint.
#[derive(Clone, PartialEq, prost::Message)]
struct LogicalFingerprint {
    #[prost(bytes = "vec", optional, tag = "1")]
    content: Option<Vec<u8>>,
}

fn fingerprint_error(error: FingerprintError) -> SafetyError {
    SafetyError::Fingerprint(error.to_string())
}
