//! How a Sphinx header names a hop: [`HopAddress`], 32 bytes.
//!
//! ```text
//! IPv6 address (16, IPv4 as ::ffff:a.b.c.d) ‖ port (2, big-endian) ‖ key digest (14)
//! ```
//!
//! The key digest is the first 14 bytes of BLAKE3 in key-derivation mode (context
//! `"sotto hop key digest v1"`) of the relay's 32-byte identity key. The previous hop
//! connects to the address and accepts only a TLS certificate whose key has this digest:
//! finding another key with the same 112-bit digest is a second preimage (2^112 work).
//! Only relays with an IP address can be hops; a relay named by a DNS name is reached
//! directly, never as a hop.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use crate::relay::{Host, RelayAddress, RelayKey};

/// Length of a hop address, in bytes (Sphinx's node address length).
pub const HOP_ADDRESS_LEN: usize = sphinx_packet::constants::NODE_ADDRESS_LENGTH;
/// Length of a relay key digest in a hop address, in bytes.
pub const KEY_DIGEST_LEN: usize = 14;

const DIGEST_CONTEXT: &str = "sotto hop key digest v1";

/// Why a relay cannot be named as a hop, or 32 bytes are not a hop address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HopAddressError {
    /// The relay is named by a DNS name: hops need an IP address.
    #[error("a relay named by a DNS name cannot be an onion hop (an IP address is needed)")]
    NotAnIpAddress,
    /// Port 0 is not a relay's port.
    #[error("a hop address has port 0")]
    ZeroPort,
}

/// The digest of a relay identity key that a hop address carries.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyDigest([u8; KEY_DIGEST_LEN]);

impl KeyDigest {
    /// The digest of `key`.
    pub fn of(key: &RelayKey) -> Self {
        let full = blake3::derive_key(DIGEST_CONTEXT, key.as_bytes());
        let mut digest = [0u8; KEY_DIGEST_LEN];
        digest.copy_from_slice(&full[..KEY_DIGEST_LEN]);
        Self(digest)
    }

    /// Whether `key` has this digest (constant time).
    pub fn matches(&self, key: &RelayKey) -> bool {
        use subtle::ConstantTimeEq as _;
        bool::from(Self::of(key).0.ct_eq(&self.0))
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_DIGEST_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyDigest(…)")
    }
}

/// Where the next hop is and which key it must present.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HopAddress {
    /// The relay's socket address.
    pub socket: SocketAddr,
    /// The digest of its identity key.
    pub key_digest: KeyDigest,
}

// Addresses of hops are what a relay must never log.
impl std::fmt::Debug for HopAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HopAddress(…)")
    }
}

impl HopAddress {
    /// The hop address of a relay (which must be named by an IP address).
    pub fn of(relay: &RelayAddress) -> Result<Self, HopAddressError> {
        let ip = match relay.host() {
            Host::V4(ip) => IpAddr::V4(*ip),
            Host::V6(ip) => IpAddr::V6(*ip),
            Host::Name(_) => return Err(HopAddressError::NotAnIpAddress),
        };
        Ok(Self {
            socket: SocketAddr::new(ip, relay.port()),
            key_digest: KeyDigest::of(relay.key()),
        })
    }

    /// The 32 bytes in a Sphinx header.
    pub fn to_bytes(&self) -> [u8; HOP_ADDRESS_LEN] {
        let mut bytes = [0u8; HOP_ADDRESS_LEN];
        let ip = match self.socket.ip() {
            IpAddr::V4(ip) => ip.to_ipv6_mapped(),
            IpAddr::V6(ip) => ip,
        };
        bytes[..16].copy_from_slice(&ip.octets());
        bytes[16..18].copy_from_slice(&self.socket.port().to_be_bytes());
        bytes[18..].copy_from_slice(&self.key_digest.0);
        bytes
    }

    /// Reads the 32 bytes of a Sphinx header.
    pub fn from_bytes(bytes: &[u8; HOP_ADDRESS_LEN]) -> Result<Self, HopAddressError> {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&bytes[..16]);
        let ip = Ipv6Addr::from(octets);
        let ip = ip.to_ipv4_mapped().map_or(IpAddr::V6(ip), IpAddr::V4);
        let port = u16::from_be_bytes([bytes[16], bytes[17]]);
        if port == 0 {
            return Err(HopAddressError::ZeroPort);
        }
        let mut digest = [0u8; KEY_DIGEST_LEN];
        digest.copy_from_slice(&bytes[18..]);
        Ok(Self {
            socket: SocketAddr::new(ip, port),
            key_digest: KeyDigest(digest),
        })
    }

    /// Whether this is `relay` (same socket address, key with the digest).
    pub fn is(&self, relay: &RelayAddress) -> bool {
        Self::of(relay).is_ok_and(|other| other.socket == self.socket)
            && self.key_digest.matches(relay.key())
    }

    /// Whether the address is one a public relay cannot have: loopback, private,
    /// link-local, unspecified, multicast or documentation ranges. Relays forward to such
    /// addresses only when configured for a test network.
    pub fn is_private(&self) -> bool {
        is_private_ip(self.socket.ip())
    }
}

/// Whether `ip` is loopback, private, link-local, shared (CGNAT), unspecified, multicast,
/// broadcast or documentation space (IPv4 or IPv6, IPv4-mapped included).
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            let [a, b, ..] = ip.octets();
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_multicast()
                || ip.is_broadcast()
                || ip.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_private_ip(IpAddr::V4(v4));
            }
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(text_host: &str) -> RelayAddress {
        let key = RelayKey::from_bytes([7u8; 32]);
        RelayAddress::parse(&format!("sotto://{}@{text_host}", key.to_text())).unwrap()
    }

    #[test]
    fn addresses_round_trip_for_both_ip_versions() {
        for host in ["127.0.0.1:4430", "[2001:db8::1]:443", "203.0.113.9:1"] {
            let relay = relay(host);
            let hop = HopAddress::of(&relay).unwrap();
            let back = HopAddress::from_bytes(&hop.to_bytes()).unwrap();
            assert_eq!(back, hop);
            assert!(back.is(&relay));
            assert_eq!(back.socket.to_string(), host);
        }
    }

    #[test]
    fn a_dns_name_is_not_a_hop_and_port_zero_is_refused() {
        assert_eq!(
            HopAddress::of(&relay("relay.example:443")),
            Err(HopAddressError::NotAnIpAddress)
        );
        let mut bytes = HopAddress::of(&relay("127.0.0.1:9")).unwrap().to_bytes();
        bytes[16] = 0;
        bytes[17] = 0;
        assert_eq!(
            HopAddress::from_bytes(&bytes),
            Err(HopAddressError::ZeroPort)
        );
    }

    #[test]
    fn another_key_does_not_match_the_digest() {
        let hop = HopAddress::of(&relay("127.0.0.1:9")).unwrap();
        assert!(!hop.key_digest.matches(&RelayKey::from_bytes([8u8; 32])));
        assert!(hop.key_digest.matches(&RelayKey::from_bytes([7u8; 32])));
    }

    #[test]
    fn private_ranges_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "100.64.0.1",
        ] {
            assert!(is_private_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2a00:1450::1", "::ffff:8.8.4.4"] {
            assert!(!is_private_ip(ip.parse().unwrap()), "{ip}");
        }
    }
}
