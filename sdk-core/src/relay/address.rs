//! Relay addresses: `sotto://<base64url relay key>@host:port`.
//!
//! The key is the relay's 32-byte Ed25519 identity key; clients pin it, so the address alone
//! is enough to reach the relay and know it is the right one. The host is a DNS name, an
//! IPv4 address or a bracketed IPv6 address; the port is required.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The scheme of relay addresses.
pub const RELAY_SCHEME: &str = "sotto://";
/// Length of a relay identity key (Ed25519 public key), in bytes.
pub const RELAY_KEY_LEN: usize = 32;
/// Longest accepted relay address, in bytes (a DNS name is at most 253).
pub const MAX_RELAY_ADDRESS_LEN: usize = 320;

/// Why a relay address could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Longer than [`MAX_RELAY_ADDRESS_LEN`].
    #[error("relay address is {0} bytes; at most {MAX_RELAY_ADDRESS_LEN} are accepted")]
    TooLong(usize),
    /// It does not start with `sotto://`.
    #[error("a relay address starts with \"{RELAY_SCHEME}\"")]
    WrongScheme,
    /// No `@` between the key and the host.
    #[error("a relay address is sotto://<key>@host:port; the '@' is missing")]
    MissingKey,
    /// The key is not unpadded base64url of 32 bytes.
    #[error("the relay key must be {RELAY_KEY_LEN} bytes of unpadded base64url")]
    InvalidKey,
    /// No `:port` after the host.
    #[error("the relay address lacks a port")]
    MissingPort,
    /// The port is not a number from 1 to 65535.
    #[error("the relay port must be a number from 1 to 65535")]
    InvalidPort,
    /// The host is empty, or not a DNS name, IPv4 address or bracketed IPv6 address.
    #[error("the relay host is not a DNS name, an IPv4 address or a bracketed IPv6 address")]
    InvalidHost,
    /// Something follows the port (a path, a query, a fragment).
    #[error("nothing may follow the port in a relay address")]
    TrailingData,
}

/// A relay's identity key: the Ed25519 public key its TLS certificate is made with.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RelayKey([u8; RELAY_KEY_LEN]);

impl RelayKey {
    /// Wraps the 32 key bytes.
    pub fn from_bytes(bytes: [u8; RELAY_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; RELAY_KEY_LEN] {
        &self.0
    }

    /// The key bytes, copied.
    pub fn to_bytes(&self) -> [u8; RELAY_KEY_LEN] {
        self.0
    }

    /// Unpadded base64url, as in addresses.
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses unpadded base64url of exactly 32 bytes.
    pub fn from_text(text: &str) -> Result<Self, AddressError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| AddressError::InvalidKey)?;
        let bytes: [u8; RELAY_KEY_LEN] = bytes.try_into().map_err(|_| AddressError::InvalidKey)?;
        Ok(Self(bytes))
    }
}

impl From<[u8; RELAY_KEY_LEN]> for RelayKey {
    fn from(bytes: [u8; RELAY_KEY_LEN]) -> Self {
        Self(bytes)
    }
}

impl FromStr for RelayKey {
    type Err = AddressError;

    /// Parses the text form: exactly 43 characters of unpadded base64url for 32 bytes.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_text(text)
    }
}

impl fmt::Debug for RelayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RelayKey({})", self.to_text())
    }
}

impl fmt::Display for RelayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Where a relay is and which key it must present.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelayAddress {
    key: RelayKey,
    host: Host,
    port: u16,
}

/// A relay's host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name, lower-cased.
    Name(String),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address (written in brackets in addresses).
    V6(Ipv6Addr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::V4(ip) => write!(f, "{ip}"),
            Host::V6(ip) => write!(f, "[{ip}]"),
        }
    }
}

impl RelayAddress {
    /// An address from its parts.
    pub fn new(key: RelayKey, host: Host, port: u16) -> Result<Self, AddressError> {
        if port == 0 {
            return Err(AddressError::InvalidPort);
        }
        if let Host::Name(name) = &host {
            check_dns_name(name)?;
        }
        Ok(Self { key, host, port })
    }

    /// Parses `sotto://<key>@host:port` strictly (see the module documentation).
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        if text.len() > MAX_RELAY_ADDRESS_LEN {
            return Err(AddressError::TooLong(text.len()));
        }
        let rest = text
            .strip_prefix(RELAY_SCHEME)
            .ok_or(AddressError::WrongScheme)?;
        let (key, authority) = rest.split_once('@').ok_or(AddressError::MissingKey)?;
        let key = RelayKey::from_text(key)?;
        if authority.contains(['/', '?', '#']) {
            return Err(AddressError::TrailingData);
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (ip, after) = bracketed.split_once(']').ok_or(AddressError::InvalidHost)?;
            let ip = Ipv6Addr::from_str(ip).map_err(|_| AddressError::InvalidHost)?;
            let port = after.strip_prefix(':').ok_or(AddressError::MissingPort)?;
            (Host::V6(ip), port)
        } else {
            let (host, port) = authority
                .rsplit_once(':')
                .ok_or(AddressError::MissingPort)?;
            let host = match Ipv4Addr::from_str(host) {
                Ok(ip) => Host::V4(ip),
                Err(_) => {
                    check_dns_name(host)?;
                    Host::Name(host.to_ascii_lowercase())
                }
            };
            (host, port)
        };
        // Digits only: `u16::from_str` would also take a leading '+'.
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AddressError::InvalidPort);
        }
        let port: u16 = port.parse().map_err(|_| AddressError::InvalidPort)?;
        Self::new(key, host, port)
    }

    /// The relay's identity key.
    pub fn key(&self) -> &RelayKey {
        &self.key
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://host:port`, the base URL of the relay's HTTP API.
    pub fn base_url(&self) -> String {
        format!("https://{}:{}", self.host, self.port)
    }
}

impl fmt::Display for RelayAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{RELAY_SCHEME}{}@{}:{}", self.key, self.host, self.port)
    }
}

impl FromStr for RelayAddress {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// A DNS name: 1 to 253 bytes of dot-separated labels of 1 to 63 ASCII letters, digits and
/// hyphens, not starting or ending with a hyphen.
fn check_dns_name(name: &str) -> Result<(), AddressError> {
    let valid_label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(valid_label) {
        return Err(AddressError::InvalidHost);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    #[test]
    fn addresses_round_trip_in_every_host_form() {
        for text in [
            format!("sotto://{KEY}@relay.example.org:443"),
            format!("sotto://{KEY}@127.0.0.1:8443"),
            format!("sotto://{KEY}@[::1]:1"),
            format!("sotto://{KEY}@localhost:65535"),
        ] {
            let address = RelayAddress::parse(&text).unwrap();
            assert_eq!(address.to_string(), text);
            assert_eq!(address.key().as_bytes()[31], 31);
        }
        let upper = RelayAddress::parse(&format!("sotto://{KEY}@Relay.Example.ORG:443")).unwrap();
        assert_eq!(upper.host(), &Host::Name("relay.example.org".into()));
        assert_eq!(upper.base_url(), "https://relay.example.org:443");
    }

    #[test]
    fn a_key_text_is_43_base64url_characters_and_nothing_else() {
        let key = RelayKey::from_bytes(std::array::from_fn(|i| (i * 8 + 3) as u8));
        let text = key.to_string();
        assert_eq!(text.len(), 43);
        assert!(!text.contains(['+', '/', '=']));
        assert_eq!(text.parse::<RelayKey>().unwrap(), key);
        assert_eq!(format!("{key:?}"), format!("RelayKey({text})"));
        for bad in [
            String::new(),
            text[..42].to_string(),
            format!("{text}A"),
            format!("{text}="),
            format!("+{}", &text[1..]),
            " ".repeat(43),
        ] {
            assert_eq!(
                bad.parse::<RelayKey>(),
                Err(AddressError::InvalidKey),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn malformed_addresses_are_typed_errors() {
        let cases = [
            (format!("https://{KEY}@h:1"), AddressError::WrongScheme),
            ("sotto://h:1".to_string(), AddressError::MissingKey),
            ("sotto://AAAA@h:1".to_string(), AddressError::InvalidKey),
            (format!("sotto://{KEY}=@h:1"), AddressError::InvalidKey),
            (format!("sotto://{KEY}@h"), AddressError::MissingPort),
            (format!("sotto://{KEY}@h:0"), AddressError::InvalidPort),
            (format!("sotto://{KEY}@h:65536"), AddressError::InvalidPort),
            (format!("sotto://{KEY}@h:+80"), AddressError::InvalidPort),
            (format!("sotto://{KEY}@h:"), AddressError::InvalidPort),
            (format!("sotto://{KEY}@:80"), AddressError::InvalidHost),
            (format!("sotto://{KEY}@-h:80"), AddressError::InvalidHost),
            (format!("sotto://{KEY}@h_h:80"), AddressError::InvalidHost),
            (format!("sotto://{KEY}@[::1:80"), AddressError::InvalidHost),
            (format!("sotto://{KEY}@[zz]:80"), AddressError::InvalidHost),
            (format!("sotto://{KEY}@h:80/x"), AddressError::TrailingData),
            (format!("sotto://{KEY}@h:80#x"), AddressError::TrailingData),
            (
                format!("sotto://{KEY}@{}:1", "a".repeat(300)),
                AddressError::TooLong(354),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(RelayAddress::parse(&text), Err(expected), "{text}");
        }
    }
}
