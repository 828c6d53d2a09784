//! Settings kept with the profile: a client opened without relays runs on the network
//! settings saved by the last one, a change at runtime is saved, settings named at opening
//! win and are saved in turn, and app settings come back after a reopen.

#![cfg(all(
    feature = "sqlcipher",
    feature = "transport",
    not(target_arch = "wasm32")
))]

mod common;

use std::time::Duration;

use common::block_on;
use sotto_core::client::{CoverTraffic, SavedNetwork, SendRoute};
use sotto_core::relay::RelayAddress;
use sotto_core::store::{Argon2Params, ProfileDirectory, Protection, SqlCipherStore};
use sotto_core::transport::Gateways;
use sotto_core::{Client, ClientSettings, Error};

const PASSPHRASE: &str = "saved settings";

fn relay(port: u16) -> RelayAddress {
    RelayAddress::parse(&format!(
        "sotto://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@127.0.0.1:{port}"
    ))
    .unwrap()
}

fn open(directory: &ProfileDirectory, relays: Vec<RelayAddress>) -> Client<SqlCipherStore> {
    block_on(Client::open(
        directory,
        Some(PASSPHRASE),
        ClientSettings::new(relays, ""),
    ))
    .unwrap()
}

#[test]
fn network_and_app_settings_are_kept_with_the_profile() {
    let root = tempfile::tempdir().unwrap();
    let directory = ProfileDirectory::new(root.path().join("profile"));
    let first = vec![relay(4001), relay(4002), relay(4003)];
    let created = block_on(Client::create(
        &directory,
        Protection::Passphrase {
            passphrase: PASSPHRASE,
            params: Argon2Params::new(8 * 1024, 1, 1).unwrap(),
        },
        ClientSettings::new(first.clone(), "Alice"),
    ))
    .unwrap();
    block_on(created.set_app_setting("theme", Some(b"dark".to_vec()))).unwrap();
    drop(created);

    // Opened without relays: the ones it was made with, and the default route.
    let mut client = open(&directory, Vec::new());
    assert_eq!(client.settings().relays, first);
    assert_eq!(client.settings().route, SendRoute::default());
    assert_eq!(client.settings().cover, None);
    assert_eq!(
        block_on(client.app_setting("theme")).unwrap().as_deref(),
        Some(&b"dark"[..])
    );
    assert_eq!(block_on(client.app_setting("unset")).unwrap(), None);

    // Changed at runtime and saved: the next opening runs on the change.
    let second = vec![relay(5001), relay(5002)];
    let route = SendRoute::Onion {
        hops: 2,
        mean_delay: Duration::from_millis(120),
    };
    let cover = CoverTraffic {
        loop_timeout: Duration::from_secs(45),
        ..CoverTraffic::default()
    };
    client
        .reconfigure(second.clone(), route, Some(cover), Gateways::new())
        .unwrap();
    block_on(client.save_network_settings()).unwrap();
    block_on(client.set_app_setting("theme", None)).unwrap();
    drop(client);
    let client = open(&directory, Vec::new());
    assert_eq!(client.settings().relays, second);
    assert_eq!(client.settings().route, route);
    assert_eq!(client.settings().cover, Some(cover));
    assert_eq!(block_on(client.app_setting("theme")).unwrap(), None);
    drop(client);

    // Relays named at opening win (with the route and cover the settings name) and are
    // saved for the next opening.
    let third = vec![relay(6001), relay(6002), relay(6003), relay(6004)];
    let client = open(&directory, third.clone());
    assert_eq!(client.settings().relays, third);
    assert_eq!(client.settings().cover, None);
    let saved = block_on(SavedNetwork::load(client.profile().store()))
        .unwrap()
        .unwrap();
    assert_eq!(saved.relays, third);
    assert_eq!(saved.route, SendRoute::default());
}

#[test]
fn a_profile_without_saved_relays_needs_relays_to_open() {
    let root = tempfile::tempdir().unwrap();
    let directory = ProfileDirectory::new(root.path().join("profile"));
    let refused = block_on(Client::create(
        &directory,
        Protection::Passphrase {
            passphrase: PASSPHRASE,
            params: Argon2Params::new(8 * 1024, 1, 1).unwrap(),
        },
        ClientSettings::new(Vec::new(), "Alice"),
    ));
    assert!(matches!(refused, Err(Error::Transport(_))), "{refused:?}");
    // Nothing was left behind: the name is free for a profile with relays.
    assert!(!directory.exists());
}
