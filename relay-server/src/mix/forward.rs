//! Forwarding packets to their next hops, in batches, over TLS pinned to the hop's key
//! digest.
//!
//! Each packet waits out the delay its sender chose, then joins the queue of its next hop.
//! One task per next hop sends that queue's packets as `POST /v1/packets` batches: whatever
//! has gathered while the previous batch was on the wire, up to
//! [`MAX_BATCH_PACKETS`]. A link task with nothing to send for [`LINK_IDLE`] ends (and
//! its connection closes). A packet that cannot be sent is dropped and counted; the
//! sender's outbox sends its message again on a new path.
//!
//! A packet names its next hop, so a relay forwards only where a relay holding the named
//! key answers ([`KnownRelays`]): an address is checked before its first batch (the check
//! is the only connection an address that is no relay ever gets, once a minute at most,
//! within the relay's allowance of new addresses). A checked relay that does not take a
//! batch (down, restarting) is tried again at most once every [`RETRY_AFTER`] (packets
//! gather meanwhile). So no packet can turn a relay into a traffic cannon against an
//! address of the sender's choosing, and a restarted relay is used again at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sotto_core::onion::{HopAddress, MAX_BATCH_PACKETS, PACKET_BYTES};
use sotto_core::transport::hop_client_config;
use tokio::sync::mpsc;
use tracing::debug;

use crate::known_relays::{KnownRelays, NotUsable};
use crate::metrics::{Event, Metrics};

/// Packets waiting for one next hop, at most.
pub const LINK_QUEUE: usize = 8192;
/// How long a link to a next hop stays open with nothing to send.
pub const LINK_IDLE: Duration = Duration::from_secs(60);
/// How long connecting to a next hop may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a batch may take to be answered.
pub const BATCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Least time between a failed batch to a next hop and the next attempt.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Sends packets on to their next hops.
pub struct Forwarder {
    links: Mutex<HashMap<HopAddress, mpsc::Sender<Vec<u8>>>>,
    allow_private: bool,
    local_ip: Option<IpAddr>,
    relays: Arc<KnownRelays>,
    metrics: Arc<Metrics>,
}

impl Forwarder {
    /// A forwarder; with `allow_private`, loopback and private next hops are allowed (a
    /// test network on one machine). Links leave from `local_ip` when given; next hops are
    /// checked through `relays`.
    pub fn new(
        allow_private: bool,
        local_ip: Option<IpAddr>,
        relays: Arc<KnownRelays>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            links: Mutex::new(HashMap::new()),
            allow_private,
            local_ip,
            relays,
            metrics,
        })
    }

    /// Holds `packet` for `delay`, then queues it for `next`.
    pub fn forward(self: &Arc<Self>, next: HopAddress, delay: Duration, packet: Vec<u8>) {
        if next.is_private() && !self.allow_private {
            self.metrics.record(Event::PacketRefused);
            debug!("dropped a packet for a private next hop");
            return;
        }
        if delay.is_zero() {
            self.enqueue(next, packet);
            return;
        }
        let forwarder = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            forwarder.enqueue(next, packet);
        });
    }

    fn enqueue(self: &Arc<Self>, next: HopAddress, packet: Vec<u8>) {
        // Known not to be the named relay (or failed its check lately): no link.
        match self.relays.remembered(next.socket) {
            Some(Some(key)) if !next.key_digest.matches(&key) => {
                return self.metrics.record(Event::ForwardNotARelay);
            }
            Some(None) => return self.metrics.record(Event::ForwardNotARelay),
            _ => {}
        }
        let mut links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = links.entry(next).or_insert_with(|| {
            let (sender, receiver) = mpsc::channel(LINK_QUEUE);
            tokio::spawn(Arc::clone(self).run_link(next, receiver));
            sender
        });
        if sender.try_send(packet).is_err() {
            self.metrics.record(Event::ForwardFailed);
            debug!("a next hop's queue is full; dropped a packet");
        }
    }

    async fn run_link(self: Arc<Self>, next: HopAddress, mut receiver: mpsc::Receiver<Vec<u8>>) {
        let client = match link_client(next, self.local_ip) {
            Ok(client) => Some(client),
            Err(e) => {
                debug!(error = %e, "cannot make a client for a next hop");
                None
            }
        };
        let url = format!("https://{}/v1/packets", next.socket);
        let mut last_failure: Option<tokio::time::Instant> = None;
        loop {
            let first = match tokio::time::timeout(LINK_IDLE, receiver.recv()).await {
                Ok(Some(packet)) => packet,
                Ok(None) => return,
                Err(_) => {
                    // Idle: end the link unless a packet arrived meanwhile (senders enqueue
                    // under the same lock, so none can slip in after the check).
                    let mut links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
                    if receiver.is_empty() {
                        links.remove(&next);
                        return;
                    }
                    continue;
                }
            };
            // After a failed batch, wait out the rest of RETRY_AFTER (packets gather).
            if let Some(failed) = last_failure {
                tokio::time::sleep_until(failed + RETRY_AFTER).await;
            }
            let mut batch = Vec::with_capacity(PACKET_BYTES * 4);
            batch.extend_from_slice(&first);
            let mut count = 1u64;
            while count < MAX_BATCH_PACKETS as u64 {
                match receiver.try_recv() {
                    Ok(packet) => {
                        batch.extend_from_slice(&packet);
                        count += 1;
                    }
                    Err(_) => break,
                }
            }
            let event = match (&client, self.relays.relay_key(next.socket, None).await) {
                (Some(client), Ok(key)) if next.key_digest.matches(&key) => {
                    if send_batch(client, &url, batch).await {
                        last_failure = None;
                        Event::PacketForwarded
                    } else {
                        last_failure = Some(tokio::time::Instant::now());
                        Event::ForwardFailed
                    }
                }
                (_, Err(NotUsable::Limited)) => Event::ForwardFailed,
                _ => Event::ForwardNotARelay,
            };
            self.metrics.record_many(event, count);
        }
    }
}

fn link_client(next: HopAddress, local_ip: Option<IpAddr>) -> Result<reqwest::Client, String> {
    let tls = hop_client_config(next.key_digest).map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .no_proxy()
        .local_address(local_ip.filter(|ip| ip.is_ipv4() == next.socket.is_ipv4()))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(BATCH_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())
}

async fn send_batch(client: &reqwest::Client, url: &str, batch: Vec<u8>) -> bool {
    let answer = client
        .post(url)
        .header("content-type", "application/octet-stream")
        .body(batch)
        .send()
        .await;
    match answer {
        Ok(answer) if answer.status().as_u16() == 202 => true,
        Ok(answer) => {
            debug!(
                status = answer.status().as_u16(),
                "a next hop refused a batch"
            );
            false
        }
        Err(_) => {
            debug!("a next hop could not be reached");
            false
        }
    }
}
