//! Counters for `GET /metrics`, in Prometheus' text format (written by hand: a few lines).
//!
//! Counts only: requests by endpoint *kind* and status class, messages and queues by
//! event, and the store's current totals. No label ever holds an id, a key or an address.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use sotto_core::relay::Endpoint;

use crate::storage::{ChunkCounts, StoreCounts};

/// The endpoint kinds requests are counted by.
const ENDPOINTS: [&str; 13] = [
    "create_queue",
    "send",
    "next",
    "ack",
    "delete_queue",
    "info",
    "health",
    "metrics",
    "put_chunk",
    "get_chunk",
    "delete_chunk",
    "packets",
    "other",
];

/// The status classes requests are counted by.
const CLASSES: [&str; 4] = ["2xx", "4xx", "5xx", "other"];

/// The index of an endpoint in [`ENDPOINTS`]; `None` (a path that is no endpoint) counts
/// as "other".
fn endpoint_index(endpoint: Option<&Endpoint>) -> usize {
    match endpoint {
        Some(Endpoint::CreateQueue) => 0,
        Some(Endpoint::Send(_)) => 1,
        Some(Endpoint::Next(_)) => 2,
        Some(Endpoint::Ack(..)) => 3,
        Some(Endpoint::DeleteQueue(_)) => 4,
        Some(Endpoint::Info) => 5,
        Some(Endpoint::Health) => 6,
        Some(Endpoint::Metrics) => 7,
        Some(Endpoint::PutChunk(_)) => 8,
        Some(Endpoint::GetChunk(_)) => 9,
        Some(Endpoint::DeleteChunk(_)) => 10,
        Some(Endpoint::Packets) => 11,
        None => 12,
    }
}

/// The name requests to `endpoint` are counted and logged under (`other` for a path that
/// is no endpoint).
pub fn endpoint_name(endpoint: Option<&Endpoint>) -> &'static str {
    ENDPOINTS[endpoint_index(endpoint)]
}

fn class_index(status: u16) -> usize {
    match status {
        200..=299 => 0,
        400..=499 => 1,
        500..=599 => 2,
        _ => 3,
    }
}

/// One event counted by the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A queue was created.
    QueueCreated,
    /// A queue was deleted by its recipient.
    QueueDeleted,
    /// A message was stored.
    MessageWritten,
    /// A message was handed to its recipient.
    MessageRead,
    /// A message was acknowledged (and deleted).
    MessageAcked,
    /// A write was refused because the queue was full.
    QuotaRefused,
    /// A request was refused as a replay.
    ReplayRefused,
    /// A chunk was stored.
    ChunkStored,
    /// A chunk was handed to a downloader (a resumed download counts again).
    ChunkRead,
    /// A chunk was deleted with its delete secret.
    ChunkDeleted,
    /// An upload was refused because the chunk store was full.
    ChunkQuotaRefused,
    /// An upload was refused because the chunk existed.
    ChunkExistsRefused,
    /// A chunk request was refused for a wrong or malformed capability.
    ChunkCapabilityRefused,
    /// An onion packet was sent on to its next hop.
    PacketForwarded,
    /// An onion packet could not be sent on (next hop unreachable or refusing, or its
    /// queue full) and was dropped.
    ForwardFailed,
    /// An onion packet no live key opened (expired epoch, another relay's, tampered), or
    /// one naming a next hop the relay does not forward to.
    PacketRefused,
    /// An onion packet was dropped as a replay.
    PacketReplayed,
    /// A drop packet (cover traffic) reached its last hop.
    DropReceived,
    /// An onion packet's delivery was written into a queue.
    PacketDelivered,
    /// An onion packet's delivery was refused by the queue checks (unknown queue, bad
    /// signature, stale, replayed request, full queue) and dropped.
    PacketUndeliverable,
    /// A `CONNECT` tunnel to another relay was opened (the read path's proxy).
    TunnelOpened,
    /// A `CONNECT` request was refused (not an IP address, a private address, not a
    /// reachable relay).
    TunnelRefused,
    /// A WebSocket tunnel (the browser's way in) was opened, to this relay or another.
    WebSocketOpened,
    /// A WebSocket tunnel request was refused (a malformed upgrade, a refused target).
    WebSocketRefused,
    /// A connection was closed at once: its source held `max_connections_per_source`.
    ConnectionLimited,
    /// A tunnel was refused: its source opened `tunnels_per_source_per_minute`.
    TunnelLimited,
    /// An onion packet was refused: its source posted `packets_per_source_per_second`.
    PacketsLimited,
    /// A queue creation was refused: its source created `queues_per_source_per_hour`.
    QueueLimited,
    /// A queue creation was refused: the relay holds `max_queues`.
    QueuesFull,
    /// A first check of an unknown relay was refused: its source, or the relay as a whole,
    /// used up `new_targets_per_source_per_minute` or `new_targets_per_minute`.
    NewTargetLimited,
    /// An onion packet was dropped unopened: its key epoch holds `max_replay_tags`.
    ReplayTagsFull,
    /// An onion packet was not forwarded: its next hop is not a relay holding the key the
    /// packet names (checked, or failed lately).
    ForwardNotARelay,
}

const EVENTS: [(Event, &str, &str); 32] = [
    (
        Event::ConnectionLimited,
        "sotto_relay_connections_limited_total",
        "Connections closed at once because their source held max_connections_per_source.",
    ),
    (
        Event::TunnelLimited,
        "sotto_relay_tunnels_limited_total",
        "Tunnels refused because their source opened tunnels_per_source_per_minute.",
    ),
    (
        Event::PacketsLimited,
        "sotto_relay_packets_limited_total",
        "Onion packets refused because their source posted packets_per_source_per_second.",
    ),
    (
        Event::QueueLimited,
        "sotto_relay_queue_creations_limited_total",
        "Queue creations refused because their source created queues_per_source_per_hour.",
    ),
    (
        Event::QueuesFull,
        "sotto_relay_queue_creations_refused_full_total",
        "Queue creations refused because the relay holds max_queues.",
    ),
    (
        Event::NewTargetLimited,
        "sotto_relay_new_targets_limited_total",
        "First checks of unknown relays refused by new_targets_per_source_per_minute or new_targets_per_minute.",
    ),
    (
        Event::ReplayTagsFull,
        "sotto_relay_packets_refused_replay_full_total",
        "Onion packets dropped unopened because their key epoch holds max_replay_tags.",
    ),
    (
        Event::ForwardNotARelay,
        "sotto_relay_packets_not_forwarded_total",
        "Onion packets not forwarded because their next hop is not a relay holding the named key.",
    ),
    (
        Event::WebSocketOpened,
        "sotto_relay_websocket_tunnels_opened_total",
        "WebSocket tunnels opened (browsers' connections to this relay or another).",
    ),
    (
        Event::WebSocketRefused,
        "sotto_relay_websocket_tunnels_refused_total",
        "WebSocket tunnel requests refused (malformed upgrades, refused targets).",
    ),
    (
        Event::TunnelOpened,
        "sotto_relay_tunnels_opened_total",
        "CONNECT tunnels opened to other relays (the read path's proxy).",
    ),
    (
        Event::TunnelRefused,
        "sotto_relay_tunnels_refused_total",
        "CONNECT requests refused.",
    ),
    (
        Event::PacketForwarded,
        "sotto_relay_packets_forwarded_total",
        "Onion packets sent on to their next hop.",
    ),
    (
        Event::ForwardFailed,
        "sotto_relay_packets_forward_failed_total",
        "Onion packets dropped because their next hop could not take them.",
    ),
    (
        Event::PacketRefused,
        "sotto_relay_packets_refused_total",
        "Onion packets no live key opened, or naming a next hop not forwarded to.",
    ),
    (
        Event::PacketReplayed,
        "sotto_relay_packets_replayed_total",
        "Onion packets dropped as replays.",
    ),
    (
        Event::DropReceived,
        "sotto_relay_drop_packets_total",
        "Drop packets (cover traffic) that reached this relay as their last hop.",
    ),
    (
        Event::PacketDelivered,
        "sotto_relay_packets_delivered_total",
        "Onion packets whose delivery was written into a queue.",
    ),
    (
        Event::PacketUndeliverable,
        "sotto_relay_packets_undeliverable_total",
        "Onion packets whose delivery the queue checks refused.",
    ),
    (
        Event::QueueCreated,
        "sotto_relay_queues_created_total",
        "Queues created.",
    ),
    (
        Event::QueueDeleted,
        "sotto_relay_queues_deleted_total",
        "Queues deleted by their recipient.",
    ),
    (
        Event::MessageWritten,
        "sotto_relay_messages_written_total",
        "Messages stored.",
    ),
    (
        Event::MessageRead,
        "sotto_relay_messages_read_total",
        "Messages handed to their recipient (a message read twice counts twice).",
    ),
    (
        Event::MessageAcked,
        "sotto_relay_messages_acked_total",
        "Messages acknowledged and deleted.",
    ),
    (
        Event::QuotaRefused,
        "sotto_relay_quota_refusals_total",
        "Writes refused because the queue was full.",
    ),
    (
        Event::ReplayRefused,
        "sotto_relay_replay_refusals_total",
        "Requests refused as replays.",
    ),
    (
        Event::ChunkStored,
        "sotto_relay_chunks_stored_total",
        "Chunks stored.",
    ),
    (
        Event::ChunkRead,
        "sotto_relay_chunks_read_total",
        "Chunk downloads answered (a resumed download counts again).",
    ),
    (
        Event::ChunkDeleted,
        "sotto_relay_chunks_deleted_total",
        "Chunks deleted with their delete secret.",
    ),
    (
        Event::ChunkQuotaRefused,
        "sotto_relay_chunk_quota_refusals_total",
        "Uploads refused because the chunk store was full.",
    ),
    (
        Event::ChunkExistsRefused,
        "sotto_relay_chunk_exists_refusals_total",
        "Uploads refused because the chunk was already stored.",
    ),
    (
        Event::ChunkCapabilityRefused,
        "sotto_relay_chunk_capability_refusals_total",
        "Chunk requests refused for a wrong or malformed capability.",
    ),
];

/// The relay's counters, shared by all requests.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [[AtomicU64; CLASSES.len()]; ENDPOINTS.len()],
    events: [AtomicU64; EVENTS.len()],
    expired_messages: AtomicU64,
    expired_queues: AtomicU64,
    chunk_bytes_stored: AtomicU64,
    expired_chunks: AtomicU64,
}

impl Metrics {
    /// Fresh counters, all zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one answered request.
    pub fn record_request(&self, endpoint: Option<&Endpoint>, status: u16) {
        self.requests[endpoint_index(endpoint)][class_index(status)]
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one event.
    pub fn record(&self, event: Event) {
        self.record_many(event, 1);
    }

    /// Counts `n` occurrences of one event at once (the packets of a refused batch).
    pub fn record_many(&self, event: Event, n: u64) {
        if let Some(i) = EVENTS.iter().position(|(e, _, _)| *e == event) {
            self.events[i].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts what an expiry sweep deleted.
    pub fn record_sweep(&self, messages: u64, queues: u64) {
        self.expired_messages.fetch_add(messages, Ordering::Relaxed);
        self.expired_queues.fetch_add(queues, Ordering::Relaxed);
    }

    /// Counts the bytes of a stored chunk.
    pub fn record_chunk_bytes(&self, bytes: u64) {
        self.chunk_bytes_stored.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts the chunks an expiry sweep deleted.
    pub fn record_chunk_sweep(&self, chunks: u64) {
        self.expired_chunks.fetch_add(chunks, Ordering::Relaxed);
    }

    /// The Prometheus text of the reads waiting for a message now (a gauge); appended to
    /// [`Metrics::render`]'s.
    pub fn render_waiting(&self, held: usize) -> String {
        format!(
            "# HELP sotto_relay_waiting_reads Reads held until a message arrives (Sotto-Wait).\n\
             # TYPE sotto_relay_waiting_reads gauge\n\
             sotto_relay_waiting_reads {held}\n"
        )
    }

    /// The Prometheus text of the chunk store's counters and, when it could be read, its
    /// current totals; appended to [`Metrics::render`]'s.
    pub fn render_chunks(&self, store: Option<ChunkCounts>) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        };
        metric(
            "sotto_relay_chunk_bytes_stored_total",
            "counter",
            "Bytes of chunks stored.",
            self.chunk_bytes_stored.load(Ordering::Relaxed),
        );
        metric(
            "sotto_relay_chunks_expired_total",
            "counter",
            "Chunks deleted by expiry sweeps.",
            self.expired_chunks.load(Ordering::Relaxed),
        );
        if let Some(counts) = store {
            metric("sotto_relay_chunks", "gauge", "Chunks held.", counts.chunks);
            metric(
                "sotto_relay_chunk_bytes",
                "gauge",
                "Bytes of chunks held.",
                counts.bytes,
            );
        }
        out
    }

    /// The number of requests counted for an endpoint kind and status.
    pub fn requests(&self, endpoint: Option<&Endpoint>, status: u16) -> u64 {
        self.requests[endpoint_index(endpoint)][class_index(status)].load(Ordering::Relaxed)
    }

    /// The number of times `event` was counted.
    pub fn count(&self, event: Event) -> u64 {
        EVENTS
            .iter()
            .position(|(e, _, _)| *e == event)
            .map_or(0, |i| self.events[i].load(Ordering::Relaxed))
    }

    /// The Prometheus text exposition (format 0.0.4) of every counter, with the store's
    /// current totals (`None` when the store could not be read; those gauges are left
    /// out).
    pub fn render(&self, store: Option<StoreCounts>) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "# HELP sotto_relay_requests_total Requests answered, by endpoint and status class."
        );
        let _ = writeln!(out, "# TYPE sotto_relay_requests_total counter");
        for (e, endpoint) in ENDPOINTS.iter().enumerate() {
            for (c, class) in CLASSES.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "sotto_relay_requests_total{{endpoint=\"{endpoint}\",class=\"{class}\"}} {}",
                    self.requests[e][c].load(Ordering::Relaxed)
                );
            }
        }
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {value}");
        };
        for (i, (_, name, help)) in EVENTS.iter().enumerate() {
            counter(name, help, self.events[i].load(Ordering::Relaxed));
        }
        counter(
            "sotto_relay_messages_expired_total",
            "Messages deleted by expiry sweeps.",
            self.expired_messages.load(Ordering::Relaxed),
        );
        counter(
            "sotto_relay_queues_expired_total",
            "Queues deleted by expiry sweeps.",
            self.expired_queues.load(Ordering::Relaxed),
        );
        if let Some(counts) = store {
            for (name, help, value) in [
                ("sotto_relay_queues", "Queues stored.", counts.queues),
                ("sotto_relay_messages", "Messages stored.", counts.messages),
                (
                    "sotto_relay_message_bytes",
                    "Bytes of message bodies stored.",
                    counts.message_bytes,
                ),
            ] {
                let _ = writeln!(out, "# HELP {name} {help}");
                let _ = writeln!(out, "# TYPE {name} gauge");
                let _ = writeln!(out, "{name} {value}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_as_prometheus_text_without_ids() {
        let metrics = Metrics::new();
        metrics.record_request(Some(&Endpoint::Health), 200);
        metrics.record_request(None, 404);
        metrics.record(Event::MessageWritten);
        metrics.record(Event::MessageWritten);
        metrics.record_sweep(3, 1);
        let text = metrics.render(Some(StoreCounts {
            queues: 2,
            messages: 5,
            message_bytes: 100,
        }));
        for line in [
            "sotto_relay_requests_total{endpoint=\"health\",class=\"2xx\"} 1",
            "sotto_relay_requests_total{endpoint=\"other\",class=\"4xx\"} 1",
            "sotto_relay_messages_written_total 2",
            "sotto_relay_messages_expired_total 3",
            "sotto_relay_queues_expired_total 1",
            "sotto_relay_queues 2",
            "sotto_relay_message_bytes 100",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').expect("name value");
            value.parse::<u64>().expect("a count");
        }
        assert!(!metrics.render(None).contains("sotto_relay_queues "));
    }
}
