//! The browser's transport (`src/transport/tunnel.rs`) from wasm32 in Node, against real
//! relay processes serving WebSocket tunnels: TLS inside the WebSocket pinned to the relay's
//! key, a wrong pin refused, the API of §15 through the tunnel, two clients meeting by
//! invitation and talking over 3-hop onion paths with their reads through a proxy relay,
//! and two `Messenger`s (the handle, on the event loop) with waiting reads and pushed events.
//!
//! Run by `scripts/wasm-tests`, which starts three relays and passes their addresses and
//! gateways in `SOTTO_TEST_RELAYS` (`<address> <gateway>` per relay, `;` between relays),
//! read from Node's environment.

#![cfg(target_arch = "wasm32")]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sotto_core::client::{ClientEvent, Clock, SendRoute};
use sotto_core::content::Body;
use sotto_core::relay::{RelayAddress, RelayKey};
use sotto_core::store::MemoryStore;
use sotto_core::transport::{CONNECT_TIMEOUT, Gateways, RelayClient, TransportError};
use sotto_core::{Client, ClientSettings, Profile};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(inline_js = "
export function env(name) { return process.env[name] ?? null; }
export function nowMillis() { return Date.now(); }
export function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }
// A WebSocket endpoint that accepts the upgrade and then never sends a byte: a stalled
// gateway, or one whose relay behind it hangs. Resolves to its ws:// URL and a closer.
export function stalledGateway() {
  const http = process.getBuiltinModule('node:http');
  const crypto = process.getBuiltinModule('node:crypto');
  const held = [];
  const server = http.createServer((request, response) => response.writeHead(404).end());
  server.on('upgrade', (request, socket) => {
    const accept = crypto.createHash('sha1')
      .update(request.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
      .digest('base64');
    socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\n' +
      'Connection: Upgrade\\r\\nSec-WebSocket-Accept: ' + accept + '\\r\\n\\r\\n');
    held.push(socket);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: 'ws://127.0.0.1:' + server.address().port + '/v1/tunnel',
    close: () => { for (const socket of held) socket.destroy(); server.close(); },
  })));
}
")]
extern "C" {
    fn env(name: &str) -> Option<String>;
    #[wasm_bindgen(js_name = nowMillis)]
    fn now_millis() -> f64;
    fn sleep(ms: u32) -> js_sys::Promise;
    #[wasm_bindgen(js_name = stalledGateway)]
    fn stalled_gateway() -> js_sys::Promise;
}

/// The relays the script started: each address with its gateway.
fn relays() -> Vec<(RelayAddress, String)> {
    let text = env("SOTTO_TEST_RELAYS").expect("SOTTO_TEST_RELAYS (scripts/wasm-tests sets it)");
    text.split(';')
        .map(|relay| {
            let (address, gateway) = relay.split_once(' ').expect("<address> <gateway>");
            let address = RelayAddress::parse(address).expect("a relay address");
            (address, gateway.to_owned())
        })
        .collect()
}

fn relay() -> (RelayAddress, String) {
    relays().remove(0)
}

/// JavaScript's clock (`SystemTime::now` panics on wasm32).
struct JsClock;

impl Clock for JsClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(now_millis() as u64)
    }
}

/// A client on a memory store using every relay, each through its gateway.
async fn client(name: &str) -> Client<MemoryStore> {
    let relays = relays();
    let gateways = relays
        .iter()
        .fold(Gateways::new(), |gateways, (address, url)| {
            gateways.with(*address.key(), url.clone())
        });
    let addresses = relays.into_iter().map(|(address, _)| address).collect();
    let mut settings = ClientSettings::new(addresses, name)
        .with_route(SendRoute::Onion {
            hops: 3,
            mean_delay: Duration::ZERO,
        })
        .with_gateways(gateways);
    settings.clock = Arc::new(JsClock);
    let profile = Profile::create(
        MemoryStore::new(),
        Some(name.into()),
        JsClock.now(),
        &mut rand::rng(),
    )
    .await
    .unwrap();
    Client::new(profile, settings).unwrap()
}

#[wasm_bindgen_test]
async fn the_relay_answers_inside_a_pinned_tunnel() {
    let (address, gateway) = relay();
    let client = RelayClient::through_gateway(address.clone(), &address, &gateway).unwrap();
    let info = client.info().await.unwrap();
    assert_eq!(info.key, address.key().to_text());
    let keys = client.sphinx_keys().await.unwrap();
    assert!(!keys.is_empty(), "the relay announces its Sphinx keys");
}

#[wasm_bindgen_test]
async fn a_relay_presenting_another_key_is_refused() {
    let (address, gateway) = relay();
    let impostor = RelayAddress::new(
        RelayKey::from_bytes([7; 32]),
        address.host().clone(),
        address.port(),
    )
    .unwrap();
    let client = RelayClient::through_gateway(impostor, &address, &gateway).unwrap();
    match client.info().await {
        Err(TransportError::KeyMismatch { presented, .. }) => {
            assert_eq!(presented, *address.key())
        }
        other => panic!("{other:?}"),
    }
}

#[wasm_bindgen_test]
async fn a_tunnel_that_stalls_fails_within_the_connect_limit() {
    let (address, _) = relay();
    let gateway = wasm_bindgen_futures::JsFuture::from(stalled_gateway())
        .await
        .unwrap();
    let field = |name: &str| js_sys::Reflect::get(&gateway, &name.into()).unwrap();
    let url = field("url").as_string().unwrap();
    let client = RelayClient::through_gateway(address.clone(), &address, &url).unwrap();
    let started = now_millis();
    let failure = client.info().await;
    let waited = Duration::from_millis((now_millis() - started) as u64);
    js_sys::Function::from(field("close"))
        .call0(&gateway)
        .unwrap();
    match failure {
        Err(TransportError::Unreachable(reason)) => {
            assert!(reason.contains("opening the tunnel"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // The TLS handshake waits for an answer that never comes, until the limit.
    assert!(waited >= CONNECT_TIMEOUT, "{waited:?}");
    assert!(
        waited < CONNECT_TIMEOUT + Duration::from_secs(5),
        "{waited:?}"
    );
}

#[wasm_bindgen_test]
async fn a_gateway_that_is_not_a_websocket_url_is_refused() {
    let (address, _) = relay();
    let refused = RelayClient::through_gateway(address.clone(), &address, "https://relay.example");
    assert!(matches!(refused, Err(TransportError::Unreachable(_))));
}

#[wasm_bindgen_test]
async fn two_browser_clients_meet_and_talk_over_onion_paths() {
    let mut alice = client("alice").await;
    let mut bob = client("bob").await;
    let invitation = alice.create_invitation().await.unwrap();
    let alice_at_bob = bob.accept_invitation(&invitation).await.unwrap();
    // Held until Alice answers the acceptance, then sent.
    let sent = bob
        .send_text(&alice_at_bob, "hello from a browser")
        .await
        .unwrap();

    let (mut alice_heard, mut bob_heard_delivered) = (None, false);
    for _ in 0..150 {
        alice.sync().await.unwrap();
        bob.sync().await.unwrap();
        for event in alice.take_events() {
            if let ClientEvent::Message { content, .. } = event
                && let Body::Text(text) = content.body
            {
                alice_heard = Some(text);
            }
        }
        for event in bob.take_events() {
            if let ClientEvent::Delivered { message_ids, .. } = event {
                bob_heard_delivered |= message_ids.contains(&sent);
            }
        }
        if alice_heard.is_some() && bob_heard_delivered {
            break;
        }
        wasm_bindgen_futures::JsFuture::from(sleep(100))
            .await
            .unwrap();
    }
    assert_eq!(alice_heard.as_deref(), Some("hello from a browser"));
    assert!(bob_heard_delivered, "Alice's receipt came back");
}

/// A messenger (the handle every shell wraps) on a memory store, on the page's event loop.
async fn messenger(name: &str) -> sotto_core::Messenger<MemoryStore> {
    let name = name.to_owned();
    sotto_core::Messenger::with_client(move || {
        Box::pin(async move {
            let client = client(&name).await;
            Ok(client)
        })
    })
    .await
    .unwrap()
}

#[wasm_bindgen_test]
async fn two_browser_messengers_talk_with_pushed_events() {
    use sotto_core::Event;
    let alice = messenger("alice").await;
    let bob = messenger("bob").await;
    let (mut alice_events, mut bob_events) = (alice.subscribe(), bob.subscribe());
    // The background work: waiting reads through a proxy relay, outbox retries, timers.
    alice.start().await.unwrap();
    bob.start().await.unwrap();
    let invitation = alice.create_invitation().await.unwrap();
    let alice_at_bob = bob.accept_invitation(&invitation).await.unwrap();
    let sent = bob
        .send_text(&alice_at_bob, "pushed, not polled")
        .await
        .unwrap();

    let mut heard = None;
    while heard.is_none() {
        if let Event::MessageReceived { content, .. } =
            alice_events.next().await.expect("alice runs")
            && let Body::Text(text) = content.body
        {
            heard = Some(text);
        }
    }
    assert_eq!(heard.as_deref(), Some("pushed, not polled"));
    loop {
        if let Event::StatusChanged {
            message_ids,
            status: sotto_core::DeliveryStatus::Delivered,
            ..
        } = bob_events.next().await.expect("bob runs")
            && message_ids.contains(&sent)
        {
            break;
        }
    }
    alice.shutdown().await.unwrap();
    bob.shutdown().await.unwrap();
}

/// An attachment's parts (4 MiB requests, far over the tunnel's 64 KiB message limit) go up
/// and come down through the tunnels, in the pieces a `Blob` is read in.
#[wasm_bindgen_test]
async fn attachments_stream_through_the_tunnels() {
    use sotto_core::client::AttachmentKind;
    let alice = messenger("alice").await;
    let bob = messenger("bob").await;
    let mut alice_events = alice.subscribe();
    let mut bob_events = bob.subscribe();
    alice.start().await.unwrap();
    bob.start().await.unwrap();
    let alice_at_bob = bob
        .accept_invitation(&alice.create_invitation().await.unwrap())
        .await
        .unwrap();
    let bob_at_alice = loop {
        if let Some(sotto_core::Event::ContactAdded { contact, .. }) = alice_events.next().await {
            break contact;
        }
    };
    let bytes: Vec<u8> = (0..4_300_000u32).map(|i| (i % 241) as u8).collect();
    let kind = AttachmentKind::File {
        name: "notes.bin".into(),
        mime: "application/octet-stream".into(),
    };
    let mut writer = alice
        .write_attachment(&bob_at_alice, bytes.len() as u64, kind)
        .await
        .unwrap();
    let id = writer.message_id();
    for piece in bytes.chunks(1 << 20) {
        writer.write(piece).await.unwrap();
    }
    writer.finish().await.unwrap();
    loop {
        match bob_events.next().await {
            Some(sotto_core::Event::MessageReceived { content, .. }) if content.id == id => break,
            Some(_) => {}
            None => panic!("bob's messenger ended"),
        }
    }
    let mut reader = bob.read_attachment(&alice_at_bob, &id).await.unwrap();
    let mut opened = Vec::new();
    while let Some(piece) = reader.read().await.unwrap() {
        opened.extend_from_slice(&piece);
    }
    assert!(opened == bytes, "the attachment read back differs");
    alice.shutdown().await.unwrap();
    bob.shutdown().await.unwrap();
}
