//! The client of one relay's queue API (`docs/PROTOCOL.md` §15): create a queue, write a
//! packet, read, acknowledge, delete. Every request is signed with the queue's key and
//! bound to this relay's key.
//!
//! Natively the connection is HTTPS pinned to the relay key of the address
//! ([`pinned_client_config`](super::pinned_client_config)): a relay presenting any other key
//! is refused during the handshake, before a byte of the request is sent. Time is passed
//! in (`now`), as everywhere in the core.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::{CryptoRng, Rng};

use super::TransportError;
use super::http::{Answer, Http, Request};
use crate::relay::OwnQueue;
use crate::relay::PartSecrets;
use crate::relay::api::{MAX_WAIT_SECONDS, MESSAGE_ID_HEADER, ReadAfterAck, WAIT_HEADER};
use crate::relay::chunks::{CHUNK_DELETE_HASH_HEADER, CHUNK_DELETE_HEADER, CHUNK_READ_HEADER};
use crate::relay::{
    AUTH_HEADER, ApiError, CreateQueue, Endpoint, ErrorKind, QueueCreated, QueueKeyPair,
    RelayAddress, RelayInfo, RelayMessageId, SendCapability,
};

/// Largest answer body read from a relay, in bytes (a message is at most the relay's
/// `max_message_bytes`, which is at most 1 MiB).
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// How long a connection to a relay (TCP and the TLS handshake; in the browser the
/// WebSocket tunnel, TLS inside it and the HTTP handshake) may take before the relay
/// counts as unreachable.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a relay may leave a started answer without sending a byte (in the browser:
/// the answer's head, then each piece of its body). A relay that stops answering is then
/// unreachable, a passing failure: the work is retried.
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A client of one relay.
#[derive(Debug, Clone)]
pub struct RelayClient {
    address: RelayAddress,
    http: Http,
}

/// A message read from a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadMessage {
    /// The relay's id for it (to acknowledge it).
    pub id: RelayMessageId,
    /// The packet.
    pub packet: Vec<u8>,
}

impl RelayClient {
    /// A client of the relay at `address`, pinned to its key.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(address: RelayAddress) -> Result<Self, TransportError> {
        let http = Http::direct(&address)?;
        Ok(Self { address, http })
    }

    /// A client of the relay at `target` that reaches it through an HTTP CONNECT tunnel of
    /// the relay at `proxy` (`docs/PROTOCOL.md` §19, the read path): TLS to the proxy pinned
    /// to the proxy's key, `CONNECT <target ip>:<port>`, then TLS inside the tunnel pinned to
    /// the target's key ([`proxied_client_config`](super::proxied_client_config)). The
    /// proxy sees the target's address and the size and timing of the traffic, never a
    /// request; the target sees the proxy's address, never the client's.
    ///
    /// # Errors
    /// [`TransportError::NoOnionPath`] when either relay is named by a DNS name (a proxy is
    /// reached, and a target named, by IP address only, as an onion hop is).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn through_proxy(
        target: RelayAddress,
        proxy: &RelayAddress,
    ) -> Result<Self, TransportError> {
        let by_ip = |relay: &RelayAddress| {
            crate::onion::HopAddress::of(relay)
                .map(|hop| hop.socket)
                .map_err(|_| {
                    TransportError::NoOnionPath(format!(
                        "{relay}: reads go through a proxy only to and from relays named by IP address"
                    ))
                })
        };
        let proxy_socket = by_ip(proxy)?;
        by_ip(&target)?;
        let http = Http::through_proxy(&target, proxy, proxy_socket)?;
        Ok(Self {
            address: target,
            http,
        })
    }

    /// A client of the relay at `target` in the browser: TLS pinned to the target's key
    /// inside a WebSocket tunnel of the relay at `entry`, whose gateway URL is `gateway`
    /// (`docs/PROTOCOL.md` §21). With `entry` = `target` the tunnel leads to the relay
    /// itself; otherwise the entry relay carries the bytes on as its `CONNECT` proxy would,
    /// so the target sees the entry relay's address, never the browser's.
    ///
    /// # Errors
    /// [`TransportError::Unreachable`] for a gateway that is not a `ws://` or `wss://` URL;
    /// [`TransportError::NoOnionPath`] when the target is another relay named by a DNS name.
    #[cfg(target_arch = "wasm32")]
    pub fn through_gateway(
        target: RelayAddress,
        entry: &RelayAddress,
        gateway: &str,
    ) -> Result<Self, TransportError> {
        let http = Http::through_gateway(&target, entry, gateway)?;
        Ok(Self {
            address: target,
            http,
        })
    }

    /// The relay's address.
    pub fn address(&self) -> &RelayAddress {
        &self.address
    }

    /// `GET /v1/info`: the relay's version, key and limits.
    pub async fn info(&self) -> Result<RelayInfo, TransportError> {
        let answer = self.http.send(request(&Endpoint::Info), None).await?;
        info_naming(answer, self.address.key()).await
    }

    /// Hands onion packets (1 to 64 of [`PACKET_BYTES`](crate::onion::PACKET_BYTES), back to
    /// back) to this relay as their first hop. `202` means the relay took them; what
    /// happens further down the path is told only by the recipient's end-to-end receipt.
    pub async fn send_packets(&self, packets: Vec<u8>) -> Result<(), TransportError> {
        let packets = request(&Endpoint::Packets)
            .header("content-type", "application/octet-stream")
            .body(packets);
        let answer = self.http.send(packets, None).await?;
        let (status, _, body) = read(answer).await?;
        expect_status(status, 202, &body)
    }

    /// The relay's Sphinx keys from its `/v1/info`, each checked against the relay's
    /// identity key (an announcement that does not verify is an invalid answer).
    pub async fn sphinx_keys(
        &self,
    ) -> Result<Vec<crate::onion::SphinxKeyAnnouncement>, TransportError> {
        let info = self.info().await?;
        info.sphinx_keys
            .iter()
            .map(|wire| {
                crate::onion::SphinxKeyAnnouncement::from_wire(self.address.key(), wire)
                    .map_err(|e| TransportError::InvalidAnswer(format!("Sphinx key: {e}")))
            })
            .collect()
    }

    /// Makes a queue on this relay with fresh recipient and sender keys.
    pub async fn create_queue<R: Rng + CryptoRng>(
        &self,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<OwnQueue, TransportError> {
        let recipient_key = QueueKeyPair::generate(rng);
        let sender_key = QueueKeyPair::generate(rng);
        let body = CreateQueue {
            recipient_key: recipient_key.public(),
            sender_key: sender_key.public(),
        }
        .to_json();
        let (status, _, answer) = self
            .signed(
                &Endpoint::CreateQueue,
                &recipient_key,
                Some("application/json"),
                None,
                body,
                now,
                rng,
            )
            .await?;
        expect_status(status, 201, &answer)?;
        let created = QueueCreated::from_json(&answer)
            .map_err(|e| TransportError::InvalidAnswer(format!("queue created: {e}")))?;
        Ok(OwnQueue {
            relay: self.address.clone(),
            recipient_id: created.recipient_id,
            recipient_key,
            sender_id: created.sender_id,
            sender_key,
        })
    }

    /// Writes `packet` into the queue `to` names (which must live on this relay). Returns
    /// once the relay stored it durably.
    pub async fn send<R: Rng + CryptoRng>(
        &self,
        to: &SendCapability,
        packet: &[u8],
        now: SystemTime,
        rng: &mut R,
    ) -> Result<(), TransportError> {
        if to.relay != self.address {
            return Err(TransportError::WrongRelay);
        }
        let (status, _, answer) = self
            .signed(
                &Endpoint::Send(to.sender_id),
                &to.sender_key,
                Some("application/octet-stream"),
                None,
                packet.to_vec(),
                now,
                rng,
            )
            .await?;
        expect_status(status, 201, &answer)
    }

    /// Reads the oldest message of one of this profile's queues, if any. It stays in the
    /// queue until [`RelayClient::ack`].
    pub async fn next<R: Rng + CryptoRng>(
        &self,
        queue: &OwnQueue,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Option<ReadMessage>, TransportError> {
        self.read_next(queue, None, None, now, rng).await
    }

    /// Acknowledges `ack` (a message read before; one already gone is fine) and reads the
    /// next message, in one signed request that the relay answers once both are durable
    /// (`docs/PROTOCOL.md` §15): a queue is drained with one request per message instead
    /// of two. With `wait`, a read of an empty queue waits as in
    /// [`RelayClient::next_waiting`].
    pub async fn ack_then_next<R: Rng + CryptoRng>(
        &self,
        queue: &OwnQueue,
        ack: &RelayMessageId,
        wait: Option<std::time::Duration>,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Option<ReadMessage>, TransportError> {
        let seconds = wait.map(|wait| wait.as_secs().clamp(1, MAX_WAIT_SECONDS));
        self.read_next(queue, Some(ack), seconds, now, rng).await
    }

    /// Like [`RelayClient::next`], but a read of an empty queue waits at the relay for up
    /// to `wait` (at most [`MAX_WAIT_SECONDS`]) and returns as soon as a message arrives
    /// (`docs/PROTOCOL.md` §20). `None` when the wait ended with the queue still empty.
    pub async fn next_waiting<R: Rng + CryptoRng>(
        &self,
        queue: &OwnQueue,
        wait: std::time::Duration,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Option<ReadMessage>, TransportError> {
        let seconds = wait.as_secs().clamp(1, MAX_WAIT_SECONDS);
        self.read_next(queue, None, Some(seconds), now, rng).await
    }

    async fn read_next<R: Rng + CryptoRng>(
        &self,
        queue: &OwnQueue,
        ack: Option<&RelayMessageId>,
        wait_seconds: Option<u64>,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Option<ReadMessage>, TransportError> {
        if queue.relay != self.address {
            return Err(TransportError::WrongRelay);
        }
        let endpoint = Endpoint::Next(queue.recipient_id);
        let wait = wait_seconds.map(|seconds| (WAIT_HEADER, seconds.to_string()));
        let (content_type, body) = match ack {
            Some(ack) => (
                Some("application/json"),
                ReadAfterAck { ack: *ack }.to_json(),
            ),
            None => (None, Vec::new()),
        };
        let (status, id, answer) = self
            .signed(
                &endpoint,
                &queue.recipient_key,
                content_type,
                wait,
                body,
                now,
                rng,
            )
            .await?;
        if status == 204 {
            return Ok(None);
        }
        expect_status(status, 200, &answer)?;
        let id = id
            .as_deref()
            .and_then(|id| RelayMessageId::from_text(id).ok())
            .ok_or_else(|| TransportError::InvalidAnswer("a message without its id".into()))?;
        Ok(Some(ReadMessage { id, packet: answer }))
    }

    /// Acknowledges (deletes) a message read with [`RelayClient::next`].
    pub async fn ack<R: Rng + CryptoRng>(
        &self,
        queue: &OwnQueue,
        message: &RelayMessageId,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<(), TransportError> {
        let endpoint = Endpoint::Ack(queue.recipient_id, *message);
        let (status, _, answer) = self.as_recipient(queue, &endpoint, now, rng).await?;
        expect_status(status, 204, &answer)
    }

    /// Deletes a queue with its messages (a used invitation's, or a contact's after it
    /// moved).
    pub async fn delete_queue<R: Rng + CryptoRng>(
        &self,
        queue: &OwnQueue,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<(), TransportError> {
        let endpoint = Endpoint::DeleteQueue(queue.recipient_id);
        let (status, _, answer) = self.as_recipient(queue, &endpoint, now, rng).await?;
        expect_status(status, 204, &answer)
    }

    /// `PUT /v1/chunks/{id}`: stores one part of an attachment's ciphertext under the
    /// part's capabilities (see [`crate::relay::chunks`]). Returns once the relay stored it
    /// durably. A part already stored is [`ErrorKind::ChunkExists`], a full store
    /// [`ErrorKind::QuotaExceeded`].
    ///
    /// `bytes` is shared, not copied: a retry sends the same buffer again.
    pub async fn put_part(
        &self,
        part: &PartSecrets,
        bytes: bytes::Bytes,
    ) -> Result<(), TransportError> {
        use base64::Engine as _;
        let endpoint = Endpoint::PutChunk(part.id());
        let delete_hash =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(part.delete.hash());
        let put = request(&endpoint)
            .header(CHUNK_READ_HEADER, part.read.to_text().as_str())
            .header(CHUNK_DELETE_HASH_HEADER, delete_hash)
            .header("content-type", "application/octet-stream")
            .body(bytes);
        let answer = self.http.send(put, None).await?;
        let (status, _, body) = read(answer).await?;
        expect_status(status, 201, &body)
    }

    /// `GET /v1/chunks/{id}`: streams one part, from byte `offset` on (a `Range` request
    /// when `offset > 0`, to resume an interrupted download), into `sink`. The part must be
    /// exactly `part_len` bytes: a relay sending more (nothing past `part_len` is written)
    /// or fewer is [`TransportError::InvalidAnswer`].
    ///
    /// Natively the answer is written as it arrives, so memory stays one network buffer;
    /// in the browser (fetch) it is read whole first (at most one part).
    pub async fn get_part<W: std::io::Write>(
        &self,
        part: &PartSecrets,
        offset: u64,
        part_len: u64,
        sink: &mut W,
    ) -> Result<(), TransportError> {
        if offset > part_len {
            return Err(TransportError::InvalidAnswer(
                "a download cannot resume past the part's end".into(),
            ));
        }
        if offset == part_len && offset > 0 {
            // The whole part arrived before the connection broke: nothing is left.
            return Ok(());
        }
        let endpoint = Endpoint::GetChunk(part.id());
        let mut get = request(&endpoint).header(CHUNK_READ_HEADER, part.read.to_text().as_str());
        let expected_status = if offset > 0 {
            get = get.header("range", format!("bytes={offset}-"));
            206
        } else {
            200
        };
        let answer = self.http.send(get, None).await?;
        let status = answer.status;
        if status != expected_status {
            let (status, _, body) = read(answer).await?;
            return expect_status(status, expected_status, &body);
        }
        let remaining = part_len - offset;
        if answer.content_length.is_some_and(|len| len != remaining) {
            return Err(wrong_length());
        }
        let received = stream_body(answer, remaining, sink).await?;
        if received != remaining {
            return Err(wrong_length());
        }
        Ok(())
    }

    /// `DELETE /v1/chunks/{id}`: deletes one part with its delete secret. A part that is
    /// gone already is [`ErrorKind::UnknownChunk`].
    pub async fn delete_part(&self, part: &PartSecrets) -> Result<(), TransportError> {
        let endpoint = Endpoint::DeleteChunk(part.id());
        let delete = request(&endpoint).header(CHUNK_DELETE_HEADER, part.delete.to_text().as_str());
        let answer = self.http.send(delete, None).await?;
        let (status, _, body) = read(answer).await?;
        expect_status(status, 204, &body)
    }

    /// A bodiless request on one of this profile's queues, signed with its recipient key.
    async fn as_recipient<R: Rng + CryptoRng>(
        &self,
        queue: &OwnQueue,
        endpoint: &Endpoint,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<(u16, Option<String>, Vec<u8>), TransportError> {
        if queue.relay != self.address {
            return Err(TransportError::WrongRelay);
        }
        self.signed(
            endpoint,
            &queue.recipient_key,
            None,
            None,
            Vec::new(),
            now,
            rng,
        )
        .await
    }

    /// One signed request (with one unsigned extra header, if given); the status, the
    /// message-id header and the body of the answer.
    #[allow(clippy::too_many_arguments)]
    async fn signed<R: Rng + CryptoRng>(
        &self,
        endpoint: &Endpoint,
        key: &QueueKeyPair,
        content_type: Option<&str>,
        extra_header: Option<(&'static str, String)>,
        body: Vec<u8>,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<(u16, Option<String>, Vec<u8>), TransportError> {
        let path = endpoint.path();
        let seconds = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let auth = key
            .sign(
                self.address.key(),
                seconds,
                endpoint.method(),
                &path,
                &body,
                rng,
            )
            .map_err(|e| TransportError::InvalidAnswer(format!("signing: {e}")))?;
        let mut signed = request(endpoint)
            .header(AUTH_HEADER, auth.encode())
            .body(body);
        if let Some(content_type) = content_type {
            signed = signed.header("content-type", content_type.to_owned());
        }
        if let Some((name, value)) = extra_header {
            signed = signed.header(name, value);
        }
        let answer = self.http.send(signed, Some(MESSAGE_ID_HEADER)).await?;
        read(answer).await
    }
}

/// A bodiless request for `endpoint`.
fn request(endpoint: &Endpoint) -> Request {
    Request::new(endpoint.method(), endpoint.path())
}

/// The status, the header asked for (the message id) and the body of an answer, refusing
/// an oversized body.
async fn read(mut answer: Answer) -> Result<(u16, Option<String>, Vec<u8>), TransportError> {
    let (status, id) = (answer.status, answer.header.take());
    if answer
        .content_length
        .is_some_and(|len| len > MAX_ANSWER_BYTES as u64)
    {
        return Err(TransportError::InvalidAnswer(
            "the answer is too large".into(),
        ));
    }
    let mut body = Vec::new();
    match stream_body(answer, MAX_ANSWER_BYTES as u64, &mut body).await {
        Ok(_) => Ok((status, id, body)),
        // Stopped at the limit: a relay cannot make the client buffer without bound.
        Err(TransportError::InvalidAnswer(_)) => Err(TransportError::InvalidAnswer(
            "the answer is too large".into(),
        )),
        Err(other) => Err(other),
    }
}

fn wrong_length() -> TransportError {
    TransportError::InvalidAnswer("the relay sent a part of the wrong length".into())
}

/// Writes the answer's body into `sink` as it arrives, refusing more than `limit` bytes;
/// returns the number of bytes written.
async fn stream_body<W: std::io::Write>(
    mut answer: Answer,
    limit: u64,
    sink: &mut W,
) -> Result<u64, TransportError> {
    let mut received = 0u64;
    while let Some(bytes) = answer.chunk().await? {
        received = received.saturating_add(bytes.len() as u64);
        if received > limit {
            return Err(wrong_length());
        }
        sink.write_all(&bytes)
            .map_err(|e| TransportError::Io(e.to_string()))?;
    }
    Ok(received)
}

/// Success is exactly `expected`; an API error body becomes [`TransportError::Relay`].
fn expect_status(status: u16, expected: u16, body: &[u8]) -> Result<(), TransportError> {
    if status == expected {
        return Ok(());
    }
    match ApiError::from_json(body) {
        Some(error) if error.kind.http_status() == status => Err(TransportError::Relay(error)),
        _ => Err(TransportError::InvalidAnswer(format!(
            "status {status} where {expected} was expected"
        ))),
    }
}

/// Checks that a TLS server at `socket` is a Sotto relay, as a proxy relay does before it
/// opens a tunnel there: the handshake must be signed by the Ed25519 key of the server's
/// certificate, and the server's `GET /v1/info` must name that same key. Outgoing from
/// `local` when given. Returns the relay's key.
///
/// # Errors
/// [`TransportError::Unreachable`] when nothing answers; the certificate errors of
/// [`certificate_relay_key`](super::certificate_relay_key); [`TransportError::InvalidAnswer`]
/// when the answer is not a relay's info or names another key.
#[cfg(not(target_arch = "wasm32"))]
pub async fn probe_relay(
    socket: std::net::SocketAddr,
    local: Option<std::net::IpAddr>,
) -> Result<crate::relay::RelayKey, TransportError> {
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(super::any_relay_client_config()?)
        .tls_info(true)
        .no_proxy()
        .local_address(local)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(READ_TIMEOUT)
        .build()
        .map_err(|e| TransportError::Unreachable(e.to_string()))?;
    let answer = http
        .get(format!("https://{socket}{}", Endpoint::Info.path()))
        .send()
        .await
        .map_err(super::http::connection_error)?;
    let certificate = answer
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .map(|der| rustls::pki_types::CertificateDer::from(der.to_vec()))
        .ok_or_else(|| TransportError::InvalidAnswer("no certificate".into()))?;
    let key = super::pinning::presented_relay_key(&certificate)?;
    info_naming(super::http::answer_of(answer, None), &key).await?;
    Ok(key)
}

/// The `/v1/info` in `answer`, which must name `key` (the key of the certificate the
/// connection was made with).
async fn info_naming(
    answer: Answer,
    key: &crate::relay::RelayKey,
) -> Result<RelayInfo, TransportError> {
    let (status, _, body) = read(answer).await?;
    expect_status(status, 200, &body)?;
    let info: RelayInfo = serde_json::from_slice(&body)
        .map_err(|e| TransportError::InvalidAnswer(format!("info: {e}")))?;
    if info.key != key.to_text() {
        return Err(TransportError::InvalidAnswer(
            "the relay's info names another key than its certificate".into(),
        ));
    }
    Ok(info)
}

/// Whether a failure is worth retrying later (the relay was unreachable or is busy),
/// rather than a refusal that will not change.
pub fn is_transient(error: &TransportError) -> bool {
    match error {
        TransportError::Unreachable(_) | TransportError::NoOnionPath(_) => true,
        TransportError::Relay(api) => {
            matches!(
                api.kind,
                ErrorKind::Internal | ErrorKind::Unavailable | ErrorKind::RateLimited
            )
        }
        _ => false,
    }
}
