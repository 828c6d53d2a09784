//! Settings kept with the profile, inside its encrypted store: the network settings the
//! client last ran with, so that an app can open a profile without restating its relays
//! (a command-line client, a desktop app after a restart), and the app's own settings by
//! name (a theme, a download folder), which the core stores and never reads.
//!
//! The network settings are saved as JSON under [`NETWORK`]; app settings under
//! [`APP_PREFIX`] followed by the app's name for them, so the two never collide.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{CoverTraffic, SendRoute};
use crate::error::Result;
use crate::relay::RelayAddress;
use crate::store::{ChangeSet, Store, StoreError};

/// The name the network settings are saved under.
pub const NETWORK: &str = "network";
/// What every app setting's name starts with in the store.
pub const APP_PREFIX: &str = "app/";

/// The network part of the client's settings, as kept with the profile.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedNetwork {
    /// The relays new queues are made on.
    pub relays: Vec<RelayAddress>,
    /// How packets travel.
    pub route: SendRoute,
    /// Cover traffic, or `None` for off.
    pub cover: Option<CoverTraffic>,
}

#[derive(Serialize, Deserialize)]
struct Encoded {
    relays: Vec<String>,
    route: EncodedRoute,
    cover: Option<EncodedCover>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum EncodedRoute {
    Direct,
    Onion { hops: usize, mean_delay_ms: u64 },
}

#[derive(Serialize, Deserialize)]
struct EncodedCover {
    payload_per_second: f64,
    loop_per_second: f64,
    drop_per_second: f64,
    loop_timeout_ms: u64,
}

impl SavedNetwork {
    fn encode(&self) -> Vec<u8> {
        let encoded = Encoded {
            relays: self.relays.iter().map(RelayAddress::to_string).collect(),
            route: match self.route {
                SendRoute::Direct => EncodedRoute::Direct,
                SendRoute::Onion { hops, mean_delay } => EncodedRoute::Onion {
                    hops,
                    mean_delay_ms: millis(mean_delay),
                },
            },
            cover: self.cover.map(|cover| EncodedCover {
                payload_per_second: cover.payload_per_second,
                loop_per_second: cover.loop_per_second,
                drop_per_second: cover.drop_per_second,
                loop_timeout_ms: millis(cover.loop_timeout),
            }),
        };
        // Plain strings and numbers: serializing cannot fail (non-finite rates, which JSON
        // cannot hold, never pass `CoverTraffic::validate`, and are written as null).
        serde_json::to_vec(&encoded).unwrap_or_default()
    }

    fn decode(bytes: &[u8]) -> std::result::Result<Self, StoreError> {
        let corrupt = |why: String| StoreError::Corrupt(format!("saved network settings: {why}"));
        let encoded: Encoded = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        let relays = encoded
            .relays
            .iter()
            .map(|relay| RelayAddress::parse(relay).map_err(|e| corrupt(e.to_string())))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let route = match encoded.route {
            EncodedRoute::Direct => SendRoute::Direct,
            EncodedRoute::Onion {
                hops,
                mean_delay_ms,
            } => SendRoute::Onion {
                hops,
                mean_delay: Duration::from_millis(mean_delay_ms),
            },
        };
        let cover = encoded.cover.map(|cover| CoverTraffic {
            payload_per_second: cover.payload_per_second,
            loop_per_second: cover.loop_per_second,
            drop_per_second: cover.drop_per_second,
            loop_timeout: Duration::from_millis(cover.loop_timeout_ms),
        });
        Ok(Self {
            relays,
            route,
            cover,
        })
    }

    /// The saved network settings of the profile in `store`, if any.
    ///
    /// # Errors
    /// Store errors; [`StoreError::Corrupt`] for a record this build cannot read.
    pub async fn load<S: Store + ?Sized>(store: &S) -> Result<Option<Self>> {
        match store.load_setting(NETWORK).await? {
            Some(bytes) => Ok(Some(Self::decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Saves these settings with the profile in `store`, unless they are saved already.
    ///
    /// # Errors
    /// Store errors.
    pub async fn save<S: Store + ?Sized>(&self, store: &S) -> Result<()> {
        let bytes = self.encode();
        if store.load_setting(NETWORK).await?.as_deref() == Some(&bytes[..]) {
            return Ok(());
        }
        let mut changes = ChangeSet::default();
        changes.settings.insert(NETWORK.to_owned(), Some(bytes));
        Ok(store.apply(changes).await?)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// An app setting of the profile in `store`.
///
/// # Errors
/// Store errors.
pub async fn app_setting<S: Store + ?Sized>(store: &S, name: &str) -> Result<Option<Vec<u8>>> {
    Ok(store.load_setting(&format!("{APP_PREFIX}{name}")).await?)
}

/// Stores (`Some`) or removes (`None`) an app setting of the profile in `store`.
///
/// # Errors
/// Store errors.
pub async fn set_app_setting<S: Store + ?Sized>(
    store: &S,
    name: &str,
    value: Option<Vec<u8>>,
) -> Result<()> {
    let mut changes = ChangeSet::default();
    changes
        .settings
        .insert(format!("{APP_PREFIX}{name}"), value);
    Ok(store.apply(changes).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_settings_read_back_as_written() {
        let relay = RelayAddress::parse(
            "sotto://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@127.0.0.1:4433",
        )
        .unwrap();
        for (route, cover) in [
            (SendRoute::Direct, None),
            (
                SendRoute::Onion {
                    hops: 3,
                    mean_delay: Duration::from_millis(250),
                },
                Some(CoverTraffic::default()),
            ),
        ] {
            let saved = SavedNetwork {
                relays: vec![relay.clone(), relay.clone()],
                route,
                cover,
            };
            assert_eq!(SavedNetwork::decode(&saved.encode()).unwrap(), saved);
        }
    }

    #[test]
    fn an_unreadable_record_is_corrupt_not_a_panic() {
        for bytes in [
            &b""[..],
            b"{}",
            b"not json",
            b"{\"relays\":[\"nowhere\"],\"route\":{\"kind\":\"direct\"},\"cover\":null}",
            b"{\"relays\":[],\"route\":{\"kind\":\"teleport\"},\"cover\":null}",
        ] {
            assert!(matches!(
                SavedNetwork::decode(bytes),
                Err(StoreError::Corrupt(_))
            ));
        }
    }
}
