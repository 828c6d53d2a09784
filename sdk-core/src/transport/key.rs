//! The relay key: the Ed25519 identity public key that names a relay.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::TransportError;

/// Length of a relay key: a raw Ed25519 public key (RFC 8032).
pub const RELAY_KEY_LEN: usize = 32;

/// A relay's Ed25519 identity public key, as carried in the relay address
/// `sotto://<relay key>@host:port`.
///
/// Clients pin it: a TLS connection to the relay succeeds only if the relay's certificate
/// carries exactly this key and the handshake is signed by it. The text form is the unpadded
/// base64url (RFC 4648 §5) of the 32 bytes, 43 characters; `Display`, `Debug` and `FromStr`
/// use it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RelayKey([u8; RELAY_KEY_LEN]);

impl RelayKey {
    /// Wraps the 32 raw bytes of an Ed25519 public key. Any 32 bytes are accepted: a value
    /// that is not a valid curve point simply matches no relay.
    pub const fn from_bytes(bytes: [u8; RELAY_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The 32 raw key bytes.
    pub const fn to_bytes(&self) -> [u8; RELAY_KEY_LEN] {
        self.0
    }

    /// The 32 raw key bytes, borrowed.
    pub const fn as_bytes(&self) -> &[u8; RELAY_KEY_LEN] {
        &self.0
    }
}

impl From<[u8; RELAY_KEY_LEN]> for RelayKey {
    fn from(bytes: [u8; RELAY_KEY_LEN]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for RelayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for RelayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RelayKey({self})")
    }
}

impl FromStr for RelayKey {
    type Err = TransportError;

    /// Parses the text form: exactly 43 characters of unpadded base64url for 32 bytes.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| TransportError::InvalidRelayKey)?;
        let bytes: [u8; RELAY_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| TransportError::InvalidRelayKey)?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_as_43_base64url_characters() {
        let key = RelayKey::from_bytes(std::array::from_fn(|i| (i * 8 + 3) as u8));
        let text = key.to_string();
        assert_eq!(text.len(), 43);
        assert!(!text.contains(['+', '/', '=']));
        assert_eq!(text.parse::<RelayKey>().unwrap(), key);
        assert_eq!(format!("{key:?}"), format!("RelayKey({text})"));
    }

    #[test]
    fn malformed_text_is_refused() {
        let good = RelayKey::from_bytes([7; 32]).to_string();
        for bad in [
            String::new(),
            good[..42].to_string(),
            format!("{good}A"),
            format!("{good}="),
            good.replace(&good[..1], "+"),
            " ".repeat(43),
        ] {
            assert!(
                matches!(
                    bad.parse::<RelayKey>(),
                    Err(TransportError::InvalidRelayKey)
                ),
                "{bad:?} was accepted"
            );
        }
    }
}
