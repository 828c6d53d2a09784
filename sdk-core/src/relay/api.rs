//! The relay's HTTP API, version 1: paths, identifiers, bodies and error codes, shared by
//! the relay (which parses requests) and the client (which builds them).
//!
//! | method and path | auth | request body | success |
//! | --- | --- | --- | --- |
//! | `POST /v1/queues` | recipient key | JSON [`CreateQueue`] | `201`, JSON [`QueueCreated`] |
//! | `POST /v1/send/{sender id}` | sender key | the message, `application/octet-stream`, 1 to `max_message_bytes` | `201`, empty |
//! | `POST /v1/queues/{recipient id}/next` | recipient key | empty; optional header `Sotto-Wait: <seconds>` | `200`, the oldest message (octets) with header `Sotto-Message-Id`; `204` when the queue is empty (after waiting up to `Sotto-Wait` seconds for a message to arrive) |
//! | `POST /v1/queues/{recipient id}/ack/{message id}` | recipient key | empty | `204` (the message is deleted) |
//! | `DELETE /v1/queues/{recipient id}` | recipient key | empty | `204` (the queue and its messages are deleted) |
//! | `PUT /v1/chunks/{chunk id}` | read secret | the part, `application/octet-stream`, 0 to `max_chunk_bytes` | `201` once durable |
//! | `GET /v1/chunks/{chunk id}` | read secret | empty | `200` the part (octets); `206` from a `Range: bytes=N-` |
//! | `DELETE /v1/chunks/{chunk id}` | delete secret | empty | `204` (the part is deleted) |
//! | `POST /v1/packets` | none (the packets are the credential) | 1 to 64 onion packets back to back, `application/octet-stream` | `202`, empty (each packet is then processed as one hop, `docs/PROTOCOL.md` §19) |
//! | `GET /v1/info` | none | | `200`, JSON [`RelayInfo`] |
//! | `GET /health` | none | | `200`, `ok` |
//! | `GET /metrics` | none | | `200`, Prometheus text (counts only); the operator's port only |
//!
//! Every failure is a 4xx (the client's mistake) or 5xx (the relay's own failure) with a
//! JSON body [`ApiError`]: a stable [`ErrorKind`] code and a message for people.
//! Queue and message ids are 16 random bytes in unpadded base64url (22 characters); chunk
//! ids and capabilities are described in [`super::chunks`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{CryptoRng, Rng};
use serde::{Deserialize, Serialize};

use super::auth::QueuePublicKey;
use super::chunks::ChunkId;
pub use super::error::{ApiError, ErrorKind};

/// Length of queue and message ids, in bytes.
pub const ID_LEN: usize = 16;
/// Name of the response header carrying a read message's id.
pub const MESSAGE_ID_HEADER: &str = "Sotto-Message-Id";
/// Name of the request header asking a read of an empty queue to wait for a message.
pub const WAIT_HEADER: &str = "Sotto-Wait";
/// Longest wait a read may ask for, in seconds (below the clients' 30 s read timeout).
pub const MAX_WAIT_SECONDS: u64 = 25;
/// Largest JSON request body the relay reads, in bytes.
pub const MAX_JSON_BODY: usize = 4096;

macro_rules! relay_id {
    ($name:ident, $what:literal) => {
        #[doc = concat!("A ", $what, ": 16 random bytes, unpadded base64url in paths.")]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; ID_LEN]);

        impl $name {
            /// A fresh random id.
            pub fn random<R: Rng + CryptoRng>(rng: &mut R) -> Self {
                let mut bytes = [0u8; ID_LEN];
                rng.fill_bytes(&mut bytes);
                Self(bytes)
            }

            /// Wraps id bytes.
            pub fn from_bytes(bytes: [u8; ID_LEN]) -> Self {
                Self(bytes)
            }

            /// The id bytes.
            pub fn as_bytes(&self) -> &[u8; ID_LEN] {
                &self.0
            }

            /// Unpadded base64url (22 characters).
            pub fn to_text(&self) -> String {
                URL_SAFE_NO_PAD.encode(self.0)
            }

            /// Parses exactly 22 characters of unpadded base64url.
            pub fn from_text(text: &str) -> Result<Self, ApiError> {
                URL_SAFE_NO_PAD
                    .decode(text)
                    .ok()
                    .and_then(|bytes| <[u8; ID_LEN]>::try_from(bytes).ok())
                    .map(Self)
                    .ok_or_else(|| {
                        ApiError::new(
                            ErrorKind::MalformedRequest,
                            concat!("a ", $what, " is 16 bytes of unpadded base64url"),
                        )
                    })
            }
        }

        // Ids are capabilities: never printed in full (logs must not hold them).
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "(…)"))
            }
        }
    };
}

relay_id!(RecipientId, "recipient id");
relay_id!(SenderId, "sender id");
relay_id!(RelayMessageId, "message id");

/// The JSON form of a relay's Sphinx key announcement in `/v1/info` (`sphinx_keys`); what it
/// means and how it is checked is `onion::SphinxKeyAnnouncement`'s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireAnnouncement {
    /// The epoch number.
    pub epoch: u64,
    /// First second (Unix) of the key's window.
    pub not_before: u64,
    /// End (exclusive, Unix seconds) of the key's window.
    pub not_after: u64,
    /// The Sphinx public key, unpadded base64url.
    pub key: String,
    /// The signature, unpadded base64url.
    pub signature: String,
}

/// A request body of at most [`MAX_JSON_BODY`] bytes parsed into `W` (whose serde rules
/// refuse unknown fields): `too_large` or `malformed_request` naming `what` otherwise.
fn strict_json<W: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<W, ApiError> {
    if body.len() > MAX_JSON_BODY {
        return Err(ApiError::new(
            ErrorKind::TooLarge,
            "the JSON body is too large",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(ErrorKind::MalformedRequest, format!("{what}: {e}")))
}

/// Body of `POST /v1/queues`: the queue's two public keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateQueue {
    /// Signs reads, acknowledgements and deletion.
    pub recipient_key: QueuePublicKey,
    /// Signs writes.
    pub sender_key: QueuePublicKey,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireCreateQueue {
    recipient_key: String,
    sender_key: String,
}

impl CreateQueue {
    /// `{"recipient_key": "<base64url>", "sender_key": "<base64url>"}`.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&WireCreateQueue {
            recipient_key: URL_SAFE_NO_PAD.encode(self.recipient_key.to_bytes()),
            sender_key: URL_SAFE_NO_PAD.encode(self.sender_key.to_bytes()),
        })
        .unwrap_or_default()
    }

    /// Parses the body strictly (unknown, missing or repeated fields, bad keys: errors).
    pub fn from_json(body: &[u8]) -> Result<Self, ApiError> {
        let wire: WireCreateQueue = strict_json(body, "queue request")?;
        let key = |text: &str, what: &str| {
            URL_SAFE_NO_PAD
                .decode(text)
                .ok()
                .and_then(|bytes| QueuePublicKey::from_bytes(&bytes).ok())
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorKind::MalformedRequest,
                        format!("{what} is not a queue key in base64url"),
                    )
                })
        };
        Ok(Self {
            recipient_key: key(&wire.recipient_key, "recipient_key")?,
            sender_key: key(&wire.sender_key, "sender_key")?,
        })
    }
}

/// Body of a read (`POST /v1/queues/{id}/next`) that first acknowledges the message read
/// before: the acknowledgement and the next read in one signed request and one durable
/// transaction (`docs/PROTOCOL.md` §15). A read without one has an empty body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadAfterAck {
    /// The message to delete before reading (already gone: no error).
    pub ack: RelayMessageId,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireReadAfterAck {
    ack: String,
}

impl ReadAfterAck {
    /// `{"ack": "<message id>"}`.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&WireReadAfterAck {
            ack: self.ack.to_text(),
        })
        .unwrap_or_default()
    }

    /// Parses the body strictly (unknown, missing or repeated fields, a bad id: errors).
    pub fn from_json(body: &[u8]) -> Result<Self, ApiError> {
        let wire: WireReadAfterAck = strict_json(body, "read request")?;
        let ack = RelayMessageId::from_text(&wire.ack).map_err(|_| {
            ApiError::new(
                ErrorKind::MalformedRequest,
                "ack is not a message id in base64url",
            )
        })?;
        Ok(Self { ack })
    }
}

/// Answer to `POST /v1/queues`: the queue's two ids (random, unrelated to each other).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCreated {
    /// Reads, acknowledges and deletes the queue (with the recipient key).
    pub recipient_id: RecipientId,
    /// Writes to the queue (with the sender key).
    pub sender_id: SenderId,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireQueueCreated {
    recipient_id: String,
    sender_id: String,
}

impl QueueCreated {
    /// `{"recipient_id": "...", "sender_id": "..."}`.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&WireQueueCreated {
            recipient_id: self.recipient_id.to_text(),
            sender_id: self.sender_id.to_text(),
        })
        .unwrap_or_default()
    }

    /// Parses the answer strictly.
    pub fn from_json(body: &[u8]) -> Result<Self, ApiError> {
        let wire: WireQueueCreated = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(ErrorKind::MalformedRequest, format!("queue answer: {e}"))
        })?;
        Ok(Self {
            recipient_id: RecipientId::from_text(&wire.recipient_id)?,
            sender_id: SenderId::from_text(&wire.sender_id)?,
        })
    }
}

/// What `GET /v1/info` tells: the relay's version, key and limits.
///
/// The chunk-store fields came after the first relays: an answer without them reads as
/// zeros, meaning "no chunk store".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayInfo {
    /// The relay software's version.
    pub version: String,
    /// The API version (1).
    pub api: u32,
    /// The relay's identity key, unpadded base64url.
    pub key: String,
    /// Largest message body, in bytes.
    pub max_message_bytes: u64,
    /// Most messages one queue holds.
    pub max_queue_messages: u64,
    /// Most message bytes one queue holds.
    pub max_queue_bytes: u64,
    /// Days a message is kept before it expires.
    pub message_expiry_days: u64,
    /// Largest chunk (attachment part) body, in bytes; 0 when the relay stores no chunks.
    #[serde(default)]
    pub max_chunk_bytes: u64,
    /// Most chunk bytes the whole store holds.
    #[serde(default)]
    pub max_chunk_store_bytes: u64,
    /// Hours a chunk is kept after the hour it was stored.
    #[serde(default)]
    pub chunk_expiry_hours: u64,
    /// The relay's Sphinx keys for the current and the next key epoch, signed by its
    /// identity key; empty when the relay routes no onion packets.
    #[serde(default)]
    pub sphinx_keys: Vec<WireAnnouncement>,
}

/// One endpoint of the API, parsed from a method and a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /v1/queues`
    CreateQueue,
    /// `POST /v1/send/{sender id}`
    Send(SenderId),
    /// `POST /v1/queues/{recipient id}/next`
    Next(RecipientId),
    /// `POST /v1/queues/{recipient id}/ack/{message id}`
    Ack(RecipientId, RelayMessageId),
    /// `DELETE /v1/queues/{recipient id}`
    DeleteQueue(RecipientId),
    /// `PUT /v1/chunks/{chunk id}`
    PutChunk(ChunkId),
    /// `GET /v1/chunks/{chunk id}`
    GetChunk(ChunkId),
    /// `DELETE /v1/chunks/{chunk id}`
    DeleteChunk(ChunkId),
    /// `POST /v1/packets`
    Packets,
    /// `GET /v1/info`
    Info,
    /// `GET /health`
    Health,
    /// `GET /metrics`
    Metrics,
}

impl Endpoint {
    /// The request path.
    pub fn path(&self) -> String {
        match self {
            Endpoint::CreateQueue => "/v1/queues".into(),
            Endpoint::Send(id) => format!("/v1/send/{}", id.to_text()),
            Endpoint::Next(id) => format!("/v1/queues/{}/next", id.to_text()),
            Endpoint::Ack(id, message) => {
                format!("/v1/queues/{}/ack/{}", id.to_text(), message.to_text())
            }
            Endpoint::DeleteQueue(id) => format!("/v1/queues/{}", id.to_text()),
            Endpoint::PutChunk(id) | Endpoint::GetChunk(id) | Endpoint::DeleteChunk(id) => {
                format!("/v1/chunks/{}", id.to_text())
            }
            Endpoint::Packets => "/v1/packets".into(),
            Endpoint::Info => "/v1/info".into(),
            Endpoint::Health => "/health".into(),
            Endpoint::Metrics => "/metrics".into(),
        }
    }

    /// The request method.
    pub fn method(&self) -> &'static str {
        match self {
            Endpoint::DeleteQueue(_) | Endpoint::DeleteChunk(_) => "DELETE",
            Endpoint::PutChunk(_) => "PUT",
            Endpoint::Info | Endpoint::Health | Endpoint::Metrics | Endpoint::GetChunk(_) => "GET",
            _ => "POST",
        }
    }

    /// Whether the endpoint takes a `Sotto-Auth` header (the queue endpoints; chunks are
    /// reached with capabilities instead).
    pub fn is_signed(&self) -> bool {
        !matches!(
            self,
            Endpoint::Info
                | Endpoint::Packets
                | Endpoint::Health
                | Endpoint::Metrics
                | Endpoint::PutChunk(_)
                | Endpoint::GetChunk(_)
                | Endpoint::DeleteChunk(_)
        )
    }

    /// Parses a method and path (no query string). An unknown path is
    /// [`ErrorKind::NotFound`], a known path with another method
    /// [`ErrorKind::MethodNotAllowed`], a bad id [`ErrorKind::MalformedRequest`].
    pub fn parse(method: &str, path: &str) -> Result<Self, ApiError> {
        let segments: Vec<&str> = path
            .strip_prefix('/')
            .map(|p| p.split('/').collect())
            .unwrap_or_default();
        let endpoint = match segments.as_slice() {
            ["v1", "queues"] => Endpoint::CreateQueue,
            ["v1", "send", id] => Endpoint::Send(SenderId::from_text(id)?),
            ["v1", "queues", id, "next"] => Endpoint::Next(RecipientId::from_text(id)?),
            ["v1", "queues", id, "ack", message] => Endpoint::Ack(
                RecipientId::from_text(id)?,
                RelayMessageId::from_text(message)?,
            ),
            ["v1", "queues", id] => Endpoint::DeleteQueue(RecipientId::from_text(id)?),
            ["v1", "chunks", id] => {
                let id = ChunkId::from_text(id)?;
                match method {
                    "PUT" => Endpoint::PutChunk(id),
                    "GET" => Endpoint::GetChunk(id),
                    "DELETE" => Endpoint::DeleteChunk(id),
                    _ => {
                        return Err(ApiError::new(
                            ErrorKind::MethodNotAllowed,
                            "this endpoint takes PUT, GET or DELETE",
                        ));
                    }
                }
            }
            ["v1", "info"] => Endpoint::Info,
            ["v1", "packets"] => Endpoint::Packets,
            ["health"] => Endpoint::Health,
            ["metrics"] => Endpoint::Metrics,
            _ => return Err(ApiError::new(ErrorKind::NotFound, "no such endpoint")),
        };
        if endpoint.method() != method {
            return Err(ApiError::new(
                ErrorKind::MethodNotAllowed,
                format!("this endpoint takes {}", endpoint.method()),
            ));
        }
        Ok(endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::auth::QueueKeyPair;

    #[test]
    fn every_endpoint_parses_back_from_its_method_and_path() {
        let mut rng = rand::rng();
        let recipient = RecipientId::random(&mut rng);
        let endpoints = [
            Endpoint::CreateQueue,
            Endpoint::Send(SenderId::random(&mut rng)),
            Endpoint::Next(recipient),
            Endpoint::Ack(recipient, RelayMessageId::random(&mut rng)),
            Endpoint::DeleteQueue(recipient),
            Endpoint::PutChunk(ChunkId::from_bytes([3; 32])),
            Endpoint::GetChunk(ChunkId::from_bytes([3; 32])),
            Endpoint::DeleteChunk(ChunkId::from_bytes([3; 32])),
            Endpoint::Packets,
            Endpoint::Info,
            Endpoint::Health,
            Endpoint::Metrics,
        ];
        for endpoint in endpoints {
            assert_eq!(
                Endpoint::parse(endpoint.method(), &endpoint.path()),
                Ok(endpoint)
            );
        }
    }

    #[test]
    fn bad_paths_methods_and_ids_are_typed_errors() {
        let id = RecipientId::from_bytes([1; 16]).to_text();
        for (method, path, kind) in [
            ("GET", "/", ErrorKind::NotFound),
            ("GET", "/v2/info", ErrorKind::NotFound),
            ("POST", "/v1/queues/", ErrorKind::MalformedRequest),
            ("POST", "v1/queues", ErrorKind::NotFound),
            ("GET", "/v1/queues", ErrorKind::MethodNotAllowed),
            ("POST", "/v1/info", ErrorKind::MethodNotAllowed),
            ("POST", "/v1/send/AAAA", ErrorKind::MalformedRequest),
            (
                "POST",
                &format!("/v1/send/{id}="),
                ErrorKind::MalformedRequest,
            ),
            (
                "POST",
                &format!("/v1/queues/{id}/ack/x"),
                ErrorKind::MalformedRequest,
            ),
            (
                "POST",
                &format!("/v1/queues/{id}/next/x"),
                ErrorKind::NotFound,
            ),
            ("PUT", "/v1/chunks/AAAA", ErrorKind::MalformedRequest),
            (
                "PUT",
                &format!("/v1/chunks/{id}"),
                ErrorKind::MalformedRequest,
            ),
            (
                "POST",
                &format!("/v1/chunks/{}", "A".repeat(43)),
                ErrorKind::MethodNotAllowed,
            ),
            (
                "GET",
                &format!("/v1/chunks/{}/x", "A".repeat(43)),
                ErrorKind::NotFound,
            ),
        ] {
            assert_eq!(
                Endpoint::parse(method, path).map_err(|e| e.kind),
                Err(kind),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn bodies_round_trip_and_malformed_ones_are_refused() {
        let mut rng = rand::rng();
        let request = CreateQueue {
            recipient_key: QueueKeyPair::generate(&mut rng).public(),
            sender_key: QueueKeyPair::generate(&mut rng).public(),
        };
        assert_eq!(CreateQueue::from_json(&request.to_json()), Ok(request));
        let created = QueueCreated {
            recipient_id: RecipientId::random(&mut rng),
            sender_id: SenderId::random(&mut rng),
        };
        assert_eq!(QueueCreated::from_json(&created.to_json()), Ok(created));
        for bad in [
            &b""[..],
            b"{}",
            b"[]",
            b"{\"recipient_key\":\"AAAA\",\"sender_key\":\"AAAA\"}",
            b"{\"recipient_key\":1,\"sender_key\":2}",
        ] {
            assert_eq!(
                CreateQueue::from_json(bad).map_err(|e| e.kind),
                Err(ErrorKind::MalformedRequest)
            );
        }
        let error = ApiError::new(ErrorKind::QuotaExceeded, "full");
        assert_eq!(ApiError::from_json(&error.to_json()), Some(error));
        assert_eq!(
            ApiError::from_json(b"{\"error\":\"nope\",\"message\":\"\"}"),
            None
        );
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
            let status = kind.http_status();
            assert!((400..600).contains(&status));
            assert_eq!(
                status >= 500,
                matches!(kind, ErrorKind::Internal | ErrorKind::Unavailable)
            );
        }
    }
}
