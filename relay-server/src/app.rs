//! The relay's HTTP API, version 1 (`docs/PROTOCOL.md` §15), as axum [`Router`]s: the
//! public one, and the operator's (`/metrics`, `/health`) for a listener of its own
//! (loopback by default), so that nobody on the network reads the relay's counters.
//!
//! One fallback handler serves every request, so no request escapes the rules below:
//!
//! 1. The method and path are parsed by the core (`Endpoint::parse`); a query string is
//!    refused.
//! 2. Signed endpoints check, in this order: the content type (`application/json` to
//!    create a queue, `application/octet-stream` to send, none for the empty-bodied
//!    reads, acknowledgements and deletions); the `Sotto-Auth` header and its time against
//!    the relay's [`Clock`]; the body, read with the endpoint's size limit (a larger body,
//!    declared or sent, is `413 too_large`, its rest not stored); the queue's key; the
//!    signature; and only then the storage call, which records the request's nonce in the
//!    same transaction as the operation (a replay is `409`, checked before the operation).
//! 3. Chunk endpoints carry capabilities instead of signatures (`docs/PROTOCOL.md` §17) and
//!    check, in this order: the content type (`application/octet-stream` to upload); the
//!    capability headers (the read secret must hash to the id; `bad_capability`); the
//!    declared length and, for downloads, the `Range`; the store (`chunk_exists`,
//!    `quota_exceeded`, `unknown_chunk`); then the body, streamed to a file in pieces and
//!    refused with `413` as soon as it passes `max_chunk_bytes`. Downloads stream the file
//!    back in pieces. Neither direction holds a whole chunk in memory.
//! 4. Storage calls run on the blocking pool; a change is answered with success only once
//!    the store reports it durable.
//! 5. A body the answer did not read (any refusal, a path or method that takes no body, a
//!    declared `413`) is read and dropped before the answer goes out, up to
//!    `max_chunk_bytes` within [`BODY_TIMEOUT`], so that a client still sending it reads
//!    the answer rather than a reset connection. Only a larger body is left unread (the
//!    connection then closes under it).
//!
//! Every refusal is the core's [`ApiError`] as JSON. A client's mistake is always a 4xx; a
//! 5xx means the relay itself failed. A handler that panics (none should) is answered
//! `500 internal` by the panic layer and the relay keeps serving.
//!
//! Logs: refusals and per-request events at `debug` (by kind only); storage failures at
//! `error`. Nothing logged names an id, a key, a nonce, a capability or an address.

use std::any::Any;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderMap, HeaderValue, RANGE,
};
use axum::http::request::Parts;
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt as _, Channel, LengthLimitError, Limited};
use sotto_core::onion::{MAX_BATCH_PACKETS, PACKET_BYTES};
use sotto_core::relay::api::{MAX_JSON_BODY, MAX_WAIT_SECONDS, MESSAGE_ID_HEADER, WAIT_HEADER};
use sotto_core::relay::auth::MAX_CLOCK_SKEW;
use sotto_core::relay::chunks::{
    CHUNK_DELETE_HASH_HEADER, CHUNK_DELETE_HEADER, CHUNK_READ_HEADER, ChunkSecret,
};
use sotto_core::relay::{
    AUTH_HEADER, ApiError, AuthError, AuthHeader, ChunkId, CreateQueue, Endpoint, ErrorKind,
    QueueCreated, QueuePublicKey, ReadAfterAck, RelayInfo, RelayKey, SenderId,
};
use tower_http::catch_panic::CatchPanicLayer;
use tracing::{debug, error};

use crate::clock::Clock;
use crate::config::Limits;
use crate::metrics::{Event, Metrics, endpoint_name};
use crate::mix::{Mix, Outcome};
use crate::storage::{
    ChunkStore, ChunkUpload, Day, Hour, NonceBucket, QueueKeys, RelayStore, RequestNonce,
    StoreError,
};
use crate::throttle::{Spend, Throttle};
use crate::wait::Waiters;

/// The API version this relay speaks.
pub const API_VERSION: u32 = 1;
/// How long the relay waits for a request body to arrive in full.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the relay waits for a chunk body (up to `max_chunk_bytes`) to arrive in full.
pub const CHUNK_BODY_TIMEOUT: Duration = Duration::from_secs(300);
/// Bytes read from a chunk file per piece of a download.
const DOWNLOAD_PIECE: u64 = 64 * 1024;
/// Pieces of an upload waiting for the file writer (bounds an upload's memory).
const UPLOAD_QUEUE: usize = 4;

const JSON: &str = "application/json";
const OCTETS: &str = "application/octet-stream";

/// Everything a request handler needs, shared by all requests.
pub struct RelayState {
    /// Where queues and messages live.
    pub store: Arc<dyn RelayStore>,
    /// The relay's identity key: requests are signed for it, `/v1/info` tells it.
    pub relay_key: RelayKey,
    /// Limits enforced here (body sizes) and announced in `/v1/info`. The queue quota and
    /// expiry are enforced by the store, which was opened with the same limits.
    pub limits: Limits,
    /// The relay's clock.
    pub clock: Arc<dyn Clock>,
    /// The counters behind `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Where attachment chunks live. Its quota and expiry are enforced by the store, which
    /// was opened with the same limits.
    pub chunks: Arc<dyn ChunkStore>,
    /// Onion routing (`POST /v1/packets`, the Sphinx keys in `/v1/info`); `None` for a
    /// relay that routes no packets.
    pub mix: Option<Arc<Mix>>,
    /// Reads waiting for a message (`Sotto-Wait`); a write wakes those of its queue.
    pub waiters: Arc<Waiters>,
    /// Limits per source address: queue creations and onion packets are spent here.
    pub throttle: Arc<Throttle>,
}

/// The relay's two HTTP applications over one state: the public one (the API clients use)
/// and the operator's (`/metrics`, `/health`), each served on its own listener.
pub struct Routers {
    /// The API of `docs/PROTOCOL.md` §15 and `/health`; `/metrics` is not here.
    pub public: Router,
    /// `GET /metrics` and `GET /health` only.
    pub operator: Router,
}

/// Which listener a request came in on, and so what it may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    /// Clients and other relays: everything but the operator's endpoints.
    Public,
    /// The operator (loopback by default): `/metrics` and `/health`.
    Operator,
}

impl Port {
    /// Whether this port serves `endpoint`: a refusal just like an unknown path if not, so
    /// the public port does not even tell that `/metrics` exists elsewhere.
    fn serves(self, endpoint: Endpoint) -> Result<Endpoint, ApiError> {
        let operators = matches!(endpoint, Endpoint::Metrics | Endpoint::Health);
        let public = !matches!(endpoint, Endpoint::Metrics);
        match self {
            Port::Public if public => Ok(endpoint),
            Port::Operator if operators => Ok(endpoint),
            _ => Err(ApiError::new(ErrorKind::NotFound, "no such endpoint")),
        }
    }
}

/// What a handler gets: the shared state and the port it serves.
#[derive(Clone)]
struct Served {
    state: Arc<RelayState>,
    port: Port,
}

/// The relay's HTTP applications: one fallback handler each, behind a panic layer.
pub fn routers(state: RelayState) -> Routers {
    let state = Arc::new(state);
    let app = |port| {
        Router::new()
            .fallback(handle)
            .with_state(Served {
                state: Arc::clone(&state),
                port,
            })
            .layer(CatchPanicLayer::custom(panic_response))
    };
    Routers {
        public: app(Port::Public),
        operator: app(Port::Operator),
    }
}

/// The public HTTP application alone ([`routers`]), for a relay whose metrics nobody reads.
pub fn router(state: RelayState) -> Router {
    routers(state).public
}

async fn handle(State(served): State<Served>, request: Request) -> Response {
    let Served { state, port } = served;
    let (parts, body) = request.into_parts();
    if port == Port::Public {
        crate::observe::request(&parts.extensions, parts.uri.path());
    }
    let endpoint =
        Endpoint::parse(parts.method.as_str(), parts.uri.path()).and_then(|e| port.serves(e));
    let mut body = Some(body);
    let response = match &endpoint {
        Ok(endpoint) => answer(&state, endpoint, &parts, &mut body)
            .await
            .unwrap_or_else(refusal),
        Err(e) => refusal(e.clone()),
    };
    // A body left unread (a refusal, a path or method that takes none) is read and dropped
    // before the answer, up to the largest body any endpoint takes: a client still sending
    // it then reads the answer instead of a reset connection.
    if let Some(unread) = body {
        discard_body(&parts.headers, unread, state.limits.max_chunk_bytes).await;
    }
    let status = response.status().as_u16();
    // The operator's polling is not the relay's traffic.
    if port == Port::Public {
        state.metrics.record_request(endpoint.as_ref().ok(), status);
    }
    debug!(
        endpoint = endpoint_name(endpoint.as_ref().ok()),
        status, "request answered"
    );
    response
}

/// The answer to a request for a known endpoint, or why it was refused.
async fn answer(
    state: &Arc<RelayState>,
    endpoint: &Endpoint,
    parts: &Parts,
    body: &mut Option<Body>,
) -> Result<Response, ApiError> {
    if parts.uri.query().is_some() {
        return Err(ApiError::new(
            ErrorKind::MalformedRequest,
            "the API takes no query string",
        ));
    }
    let now = state.clock.unix_seconds();
    let today = Day::from_unix_seconds(now);
    match endpoint {
        Endpoint::Health => {
            Ok((StatusCode::OK, [(CONTENT_TYPE, "text/plain")], "ok").into_response())
        }
        Endpoint::Info => Ok(json(StatusCode::OK, info_json(state, now))),
        Endpoint::Metrics => {
            let counts = on_store(state, |store| store.counts()).await.ok();
            let chunks = Arc::clone(&state.chunks);
            let chunk_counts = tokio::task::spawn_blocking(move || chunks.counts())
                .await
                .ok()
                .and_then(Result::ok);
            let mut text = state.metrics.render(counts);
            text.push_str(&state.metrics.render_chunks(chunk_counts));
            text.push_str(&state.metrics.render_waiting(state.waiters.held()));
            Ok((
                StatusCode::OK,
                [(CONTENT_TYPE, "text/plain; version=0.0.4")],
                text,
            )
                .into_response())
        }
        Endpoint::CreateQueue => {
            check_content_type(&parts.headers, Some(JSON))?;
            let auth = auth_header(&parts.headers, now)?;
            spend(state, parts, Spend::Queue, 1)?;
            let body = read_body(&parts.headers, body, MAX_JSON_BODY as u64).await?;
            let request = CreateQueue::from_json(&body)?;
            // Proof of possession: the new recipient key signs its own registration.
            verify(state, &request.recipient_key, &auth, parts, &body)?;
            let keys = QueueKeys {
                recipient_key: request.recipient_key,
                sender_key: request.sender_key,
            };
            let nonce = request_nonce(&auth);
            let created =
                on_signed_store(state, move |store| store.create_queue(&keys, today, &nonce)).await;
            if matches!(&created, Err(e) if e.kind == ErrorKind::QuotaExceeded) {
                state.metrics.record(Event::QueuesFull);
            }
            let created = created?;
            state.metrics.record(Event::QueueCreated);
            debug!("queue created");
            let answer = QueueCreated {
                recipient_id: created.recipient_id,
                sender_id: created.sender_id,
            };
            Ok(json(StatusCode::CREATED, answer.to_json()))
        }
        Endpoint::Send(sender) => {
            check_content_type(&parts.headers, Some(OCTETS))?;
            let auth = auth_header(&parts.headers, now)?;
            let body = read_body(&parts.headers, body, state.limits.max_message_bytes).await?;
            write_message(state, *sender, &auth, body, today).await?;
            Ok(StatusCode::CREATED.into_response())
        }
        Endpoint::Packets => {
            let Some(mix) = state.mix.clone() else {
                return Err(ApiError::new(
                    ErrorKind::NotFound,
                    "this relay routes no onion packets",
                ));
            };
            check_content_type(&parts.headers, Some(OCTETS))?;
            let limit = (MAX_BATCH_PACKETS * PACKET_BYTES) as u64;
            let body = read_body(&parts.headers, body, limit).await?;
            spend(
                state,
                parts,
                Spend::Packets,
                (body.len() / PACKET_BYTES) as u64,
            )?;
            crate::observe::batch(&parts.extensions, body.len() / PACKET_BYTES, body.len());
            let opener = Arc::clone(&mix);
            let outcomes = tokio::task::spawn_blocking(move || opener.open_batch(&body, now))
                .await
                .map_err(|_| internal("opening packets"))?
                .map_err(|e| ApiError::new(ErrorKind::MalformedRequest, e.to_string()))?;
            for outcome in outcomes {
                match outcome {
                    Outcome::Forward {
                        next,
                        delay,
                        packet,
                    } => {
                        crate::observe::forward(&parts.extensions, next.socket);
                        mix.forward(next, delay, packet);
                    }
                    Outcome::Deliver {
                        sender_id,
                        auth,
                        body,
                    } => {
                        crate::observe::deliver(&parts.extensions, &sender_id);
                        deliver(state, sender_id, &auth, body, now, today).await;
                    }
                }
            }
            Ok(StatusCode::ACCEPTED.into_response())
        }
        Endpoint::Next(recipient) => {
            let recipient = *recipient;
            let wait = wait_header(&parts.headers)?;
            // A read may first acknowledge the message read before (a JSON body).
            let acking = check_content_type(&parts.headers, Some(JSON)).is_ok();
            let limit = if acking { MAX_JSON_BODY as u64 } else { 0 };
            let (nonce, read) =
                recipient_request(state, parts, body, &recipient, now, limit).await?;
            let ack = if acking {
                Some(ReadAfterAck::from_json(&read)?.ack)
            } else {
                None
            };
            // Registered before the queue is looked at, so no write slips between.
            let waiter = wait.and_then(|_| state.waiters.register(recipient));
            let armed = waiter.as_ref().map(crate::wait::Waiter::armed);
            let mut next = match ack {
                None => {
                    on_signed_store(state, move |store| {
                        store.next_message(&recipient, today, &nonce)
                    })
                    .await?
                }
                Some(ack) => {
                    let (acked, next) = on_signed_store(state, move |store| {
                        store.ack_then_next(&recipient, &ack, today, &nonce)
                    })
                    .await?;
                    if acked {
                        state.metrics.record(Event::MessageAcked);
                    }
                    next
                }
            };
            if next.is_none()
                && let (Some(waiter), Some(armed), Some(wait)) = (&waiter, armed, wait)
            {
                let mut armed = std::pin::pin!(armed);
                waiter.wait(armed.as_mut(), wait).await;
                next = read_after_wait(state, recipient).await?;
            }
            match next {
                Some(message) => {
                    state.metrics.record(Event::MessageRead);
                    debug!("message read");
                    let id = HeaderValue::from_str(&message.id.to_text())
                        .map_err(|_| internal("encoding a message id"))?;
                    let id_header = HeaderName::from_bytes(MESSAGE_ID_HEADER.as_bytes())
                        .map_err(|_| internal("naming the message id header"))?;
                    Ok((
                        StatusCode::OK,
                        [
                            (CONTENT_TYPE, HeaderValue::from_static(OCTETS)),
                            (id_header, id),
                        ],
                        message.body,
                    )
                        .into_response())
                }
                None => Ok(StatusCode::NO_CONTENT.into_response()),
            }
        }
        Endpoint::Ack(recipient, message) => {
            let (recipient, message) = (*recipient, *message);
            let (nonce, _) = recipient_request(state, parts, body, &recipient, now, 0).await?;
            on_signed_store(state, move |store| {
                store.ack_message(&recipient, &message, today, &nonce)
            })
            .await?;
            state.metrics.record(Event::MessageAcked);
            debug!("message acknowledged");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Endpoint::PutChunk(id) => {
            let result = store_chunk(state, *id, parts, body, now).await;
            count_chunk_refusal(state, &result);
            result
        }
        Endpoint::GetChunk(id) => {
            let result = get_chunk(state, *id, parts, body, now).await;
            count_chunk_refusal(state, &result);
            result
        }
        Endpoint::DeleteChunk(id) => {
            let result = delete_chunk(state, *id, parts, body, now).await;
            count_chunk_refusal(state, &result);
            result
        }
        Endpoint::DeleteQueue(recipient) => {
            let recipient = *recipient;
            let (nonce, _) = recipient_request(state, parts, body, &recipient, now, 0).await?;
            on_signed_store(state, move |store| store.delete_queue(&recipient, &nonce)).await?;
            state.metrics.record(Event::QueueDeleted);
            debug!("queue deleted");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

/// A signed write into a queue, from a direct send or an onion packet's last hop: the
/// queue's sender key must have signed `POST /v1/send/{sender id}` with this body for this
/// relay, with a nonce not seen before.
async fn write_message(
    state: &Arc<RelayState>,
    sender: SenderId,
    auth: &AuthHeader,
    body: Bytes,
    today: Day,
) -> Result<(), ApiError> {
    if body.is_empty() {
        return Err(ApiError::new(
            ErrorKind::MalformedRequest,
            "a message has at least one byte",
        ));
    }
    let key = match state.store.sender_key_at_hand(&sender) {
        Some(key) => Some(key),
        None => on_store(state, move |store| store.sender_key(&sender, today)).await?,
    };
    known(key)?
        .verify(
            auth,
            &state.relay_key,
            "POST",
            &Endpoint::Send(sender).path(),
            &body,
        )
        .map_err(ApiError::from)?;
    let nonce = request_nonce(auth);
    let stored = on_signed_store(state, move |store| {
        store.write_message(&sender, &body, today, &nonce)
    })
    .await;
    if matches!(&stored, Err(e) if e.kind == ErrorKind::QuotaExceeded) {
        state.metrics.record(Event::QuotaRefused);
    }
    let written = stored?;
    state.waiters.wake(&written.queue);
    state.metrics.record(Event::MessageWritten);
    debug!("message stored");
    Ok(())
}

/// Spends `n` of `what` from the request's source allowance ([`Throttle`]), or refuses the
/// request with `429 rate_limited`. A request with no known source (an app driven without
/// a socket) is not limited.
fn spend(state: &RelayState, parts: &Parts, what: Spend, n: u64) -> Result<(), ApiError> {
    let source = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    match source {
        Some(ip) if !state.throttle.allow(ip, what, n) => Err(ApiError::new(
            ErrorKind::RateLimited,
            "too many requests of this kind from this address; try again later",
        )),
        _ => Ok(()),
    }
}

/// The `Sotto-Wait` header of a read: how long an empty queue's read may wait for a message
/// (whole seconds, 1 to [`MAX_WAIT_SECONDS`]; `0` or no header: answer at once).
fn wait_header(headers: &HeaderMap) -> Result<Option<Duration>, ApiError> {
    let mut values = headers.get_all(WAIT_HEADER).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Ok(None),
        (Some(value), None) => value,
        (Some(_), Some(_)) => return Err(malformed_wait()),
    };
    let seconds: u64 = value
        .to_str()
        .ok()
        .filter(|text| {
            !text.is_empty() && text.len() <= 3 && text.bytes().all(|b| b.is_ascii_digit())
        })
        .and_then(|text| text.parse().ok())
        .filter(|seconds| *seconds <= MAX_WAIT_SECONDS)
        .ok_or_else(malformed_wait)?;
    Ok((seconds > 0).then(|| Duration::from_secs(seconds)))
}

fn malformed_wait() -> ApiError {
    ApiError::new(
        ErrorKind::MalformedRequest,
        "Sotto-Wait is one header of whole seconds, 0 to 25",
    )
}

/// The read that ends a wait: the request's signature and nonce were checked and recorded
/// by the first look.
async fn read_after_wait(
    state: &Arc<RelayState>,
    recipient: sotto_core::relay::RecipientId,
) -> Result<Option<crate::storage::StoredMessage>, ApiError> {
    let today = Day::from_unix_seconds(state.clock.unix_seconds());
    on_store(state, move |store| {
        store.next_message_after_wait(&recipient, today)
    })
    .await
}

/// The last hop of an onion packet: its write, checked as a direct send is (the time
/// included), or dropped and counted. Nobody is told: the sender learns of delivery from
/// the recipient's end-to-end receipt.
async fn deliver(
    state: &Arc<RelayState>,
    sender: SenderId,
    auth: &AuthHeader,
    body: Vec<u8>,
    now: u64,
    today: Day,
) {
    let result = match auth.check_time(now) {
        Ok(()) if body.len() as u64 <= state.limits.max_message_bytes => {
            write_message(state, sender, auth, Bytes::from(body), today).await
        }
        Ok(()) => Err(too_large(state.limits.max_message_bytes)),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => state.metrics.record(Event::PacketDelivered),
        Err(e) => {
            state.metrics.record(Event::PacketUndeliverable);
            debug!(error = e.kind.code(), "an onion delivery was refused");
        }
    }
}

/// Reads and drops a request's body, at most `limit` bytes within [`BODY_TIMEOUT`]; a body
/// declared larger is left unread.
async fn discard_body(headers: &HeaderMap, body: Body, limit: u64) {
    match declared_length(headers) {
        Ok(None) => {}
        Ok(Some(declared)) if declared <= limit => {}
        _ => return,
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let _ = tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, limit).collect()).await;
}

/// `PUT /v1/chunks/{id}`: checks, then stores a chunk, streaming its body to the store;
/// takes the body out of `body` once it starts reading it (a refused upload's is drained by
/// [`handle`]).
async fn store_chunk(
    state: &Arc<RelayState>,
    id: ChunkId,
    parts: &Parts,
    body: &mut Option<Body>,
    now: u64,
) -> Result<Response, ApiError> {
    check_content_type(&parts.headers, Some(OCTETS))?;
    let read = ChunkSecret::from_bytes(header_32(&parts.headers, CHUNK_READ_HEADER)?);
    if !id.is_opened_by(&read) {
        return Err(wrong_capability("the read secret does not open this chunk"));
    }
    let delete_hash = header_32(&parts.headers, CHUNK_DELETE_HASH_HEADER)?;
    let limit = state.limits.max_chunk_bytes;
    let declared = declared_length(&parts.headers)?;
    if declared.is_some_and(|declared| declared > limit) {
        return Err(too_large(limit));
    }
    let hour = Hour::from_unix_seconds(now);
    let reserve = declared.unwrap_or(limit);
    let upload = on_chunks(state, move |store| store.begin_upload(&id, reserve, hour)).await?;
    let body = body
        .take()
        .ok_or_else(|| internal("an upload's body was taken twice"))?;
    let (upload, received) = receive_chunk(upload, body, limit).await?;
    on_chunks(state, move |_| upload.commit(delete_hash, hour)).await?;
    state.metrics.record(Event::ChunkStored);
    state.metrics.record_chunk_bytes(received);
    debug!("chunk stored");
    Ok(StatusCode::CREATED.into_response())
}

/// Streams a chunk body into `upload` through a writer on the blocking pool, at most
/// `limit` bytes within [`CHUNK_BODY_TIMEOUT`]; returns the upload and its length. On any
/// failure the upload is dropped, which discards what was written.
async fn receive_chunk(
    upload: Box<dyn ChunkUpload>,
    mut body: Body,
    limit: u64,
) -> Result<(Box<dyn ChunkUpload>, u64), ApiError> {
    let (pieces, mut queued) = tokio::sync::mpsc::channel::<Bytes>(UPLOAD_QUEUE);
    let writer = tokio::task::spawn_blocking(move || {
        let mut upload = upload;
        while let Some(piece) = queued.blocking_recv() {
            upload.write(&piece)?;
        }
        Ok::<_, StoreError>(upload)
    });
    let reading = async {
        let mut received = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| {
                ApiError::new(
                    ErrorKind::MalformedRequest,
                    "the body ended early or could not be read",
                )
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            received = received.saturating_add(data.len() as u64);
            if received > limit {
                return Err(too_large(limit));
            }
            if pieces.send(data).await.is_err() {
                // The writer failed; its error is reported below.
                break;
            }
        }
        Ok(received)
    };
    let outcome = tokio::time::timeout(CHUNK_BODY_TIMEOUT, reading).await;
    // The writer ends when the pieces do; waiting for it means a refused upload's bytes
    // are discarded before the refusal is answered.
    drop(pieces);
    let written = writer.await;
    let received = match outcome {
        Ok(received) => received?,
        Err(_) => {
            return Err(ApiError::new(
                ErrorKind::MalformedRequest,
                "the body did not arrive in time",
            ));
        }
    };
    let upload = written
        .map_err(|_| internal("a chunk writer failed"))?
        .map_err(store_refusal)?;
    Ok((upload, received))
}

/// `GET /v1/chunks/{id}`: streams a chunk (from `Range: bytes=N-` if given).
async fn get_chunk(
    state: &Arc<RelayState>,
    id: ChunkId,
    parts: &Parts,
    body: &mut Option<Body>,
    now: u64,
) -> Result<Response, ApiError> {
    let read = ChunkSecret::from_bytes(header_32(&parts.headers, CHUNK_READ_HEADER)?);
    if !id.is_opened_by(&read) {
        return Err(wrong_capability("the read secret does not open this chunk"));
    }
    let start = range_start(&parts.headers)?;
    read_body(&parts.headers, body, 0).await?;
    let hour = Hour::from_unix_seconds(now);
    let offset = start.unwrap_or(0);
    let chunk = on_chunks(state, move |store| store.open(&id, offset, hour))
        .await?
        .ok_or_else(unknown_chunk)?;
    let size = chunk.size;
    let mut headers = vec![
        (CONTENT_TYPE, HeaderValue::from_static(OCTETS)),
        (ACCEPT_RANGES, HeaderValue::from_static("bytes")),
    ];
    let status = match start {
        Some(start) if start >= size => {
            return Err(ApiError::new(
                ErrorKind::BadRange,
                "the range starts at or past the chunk's end",
            ));
        }
        Some(start) => {
            let range = format!("bytes {start}-{}/{size}", size - 1);
            headers.push((
                CONTENT_RANGE,
                HeaderValue::from_str(&range).map_err(|_| internal("encoding a range"))?,
            ));
            StatusCode::PARTIAL_CONTENT
        }
        None => StatusCode::OK,
    };
    let len = size - offset;
    headers.push((CONTENT_LENGTH, HeaderValue::from(len)));
    state.metrics.record(Event::ChunkRead);
    debug!("chunk read");
    let mut response = Response::new(stream_chunk(chunk.reader, len));
    *response.status_mut() = status;
    response.headers_mut().extend(headers);
    Ok(response)
}

/// A body of the next `len` bytes of `reader`, read on the blocking pool one piece at a
/// time as the client takes them. A file shorter than its index says aborts the body (the
/// client sees a broken transfer, never wrong bytes).
fn stream_chunk(reader: Box<dyn Read + Send>, len: u64) -> Body {
    let (mut sender, body) = Channel::<Bytes, std::io::Error>::new(2);
    tokio::spawn(async move {
        let mut reader = reader;
        let mut left = len;
        while left > 0 {
            let want = left.min(DOWNLOAD_PIECE);
            let read = tokio::task::spawn_blocking(move || {
                let mut piece = Vec::with_capacity(usize::try_from(want).unwrap_or(0));
                let got = (&mut reader).take(want).read_to_end(&mut piece);
                (reader, got.map(|_| piece))
            })
            .await;
            let piece = match read {
                Ok((back, Ok(piece))) if !piece.is_empty() => {
                    reader = back;
                    piece
                }
                _ => {
                    error!("reading a chunk failed; the download was cut");
                    sender.abort(std::io::Error::other("reading a chunk failed"));
                    return;
                }
            };
            left -= piece.len() as u64;
            if sender.send_data(Bytes::from(piece)).await.is_err() {
                // The client went away.
                return;
            }
        }
    });
    Body::new(body)
}

/// `DELETE /v1/chunks/{id}`: deletes a chunk with its delete secret.
async fn delete_chunk(
    state: &Arc<RelayState>,
    id: ChunkId,
    parts: &Parts,
    body: &mut Option<Body>,
    now: u64,
) -> Result<Response, ApiError> {
    let delete = ChunkSecret::from_bytes(header_32(&parts.headers, CHUNK_DELETE_HEADER)?);
    read_body(&parts.headers, body, 0).await?;
    let hash = delete.hash();
    let hour = Hour::from_unix_seconds(now);
    on_chunks(state, move |store| store.delete(&id, &hash, hour)).await?;
    state.metrics.record(Event::ChunkDeleted);
    debug!("chunk deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The 32 bytes of the one header `name` (unpadded base64url); missing, repeated or
/// malformed is `bad_capability`.
fn header_32(headers: &HeaderMap, name: &'static str) -> Result<[u8; 32], ApiError> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => ChunkSecret::from_text(value.as_bytes())
            .map(|secret| *secret.as_bytes())
            .map_err(|_| wrong_capability("a chunk capability header is malformed")),
        (None, _) => Err(wrong_capability("a chunk capability header is missing")),
        (Some(_), Some(_)) => Err(wrong_capability("a chunk capability header is repeated")),
    }
}

/// The start of a `Range: bytes=N-` header, if there is one. The relay serves no other
/// range: anything else is `bad_range`.
fn range_start(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let mut values = headers.get_all(RANGE).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Ok(None),
        (Some(value), None) => value,
        (Some(_), Some(_)) => return Err(bad_range()),
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.strip_prefix("bytes="))
        .and_then(|text| text.strip_suffix('-'))
        .filter(|digits| {
            (1..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
        })
        .and_then(|digits| digits.parse().ok())
        .map(Some)
        .ok_or_else(bad_range)
}

fn bad_range() -> ApiError {
    ApiError::new(
        ErrorKind::BadRange,
        "the relay serves only ranges of the form bytes=N-",
    )
}

fn wrong_capability(message: &'static str) -> ApiError {
    ApiError::new(ErrorKind::BadCapability, message)
}

fn unknown_chunk() -> ApiError {
    ApiError::new(ErrorKind::UnknownChunk, "no such chunk")
}

fn count_chunk_refusal(state: &RelayState, result: &Result<Response, ApiError>) {
    let event = match result {
        Err(e) if e.kind == ErrorKind::QuotaExceeded => Event::ChunkQuotaRefused,
        Err(e) if e.kind == ErrorKind::ChunkExists => Event::ChunkExistsRefused,
        Err(e) if e.kind == ErrorKind::BadCapability => Event::ChunkCapabilityRefused,
        _ => return,
    };
    state.metrics.record(event);
}

/// Runs a chunk-store call on the blocking pool and maps its failure to the API's errors.
async fn on_chunks<T, F>(state: &Arc<RelayState>, call: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&(dyn ChunkStore + 'static)) -> Result<T, StoreError> + Send + 'static,
{
    on_blocking_pool(&state.chunks, call).await
}

/// The checks every empty-bodied recipient request shares: no body, a fresh header, a
/// known queue, a valid signature by its recipient key. Returns the request's nonce.
async fn recipient_request(
    state: &Arc<RelayState>,
    parts: &Parts,
    body: &mut Option<Body>,
    recipient: &sotto_core::relay::RecipientId,
    now: u64,
    body_limit: u64,
) -> Result<(RequestNonce, Bytes), ApiError> {
    let auth = auth_header(&parts.headers, now)?;
    let body = read_body(&parts.headers, body, body_limit).await?;
    let recipient = *recipient;
    let today = Day::from_unix_seconds(now);
    let key = match state.store.recipient_key_at_hand(&recipient) {
        Some(key) => Some(key),
        None => on_store(state, move |store| store.recipient_key(&recipient, today)).await?,
    };
    verify(state, &known(key)?, &auth, parts, &body)?;
    Ok((request_nonce(&auth), body))
}

fn known(key: Option<QueuePublicKey>) -> Result<QueuePublicKey, ApiError> {
    key.ok_or_else(|| ApiError::new(ErrorKind::UnknownQueue, "no such queue"))
}

/// The `/v1/info` body.
fn info_json(state: &RelayState, now: u64) -> Vec<u8> {
    let info = RelayInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        api: API_VERSION,
        key: state.relay_key.to_text(),
        max_message_bytes: state.limits.max_message_bytes,
        max_queue_messages: state.limits.max_queue_messages,
        max_queue_bytes: state.limits.max_queue_bytes,
        message_expiry_days: state.limits.message_expiry_days,
        max_chunk_bytes: state.limits.max_chunk_bytes,
        max_chunk_store_bytes: state.limits.max_chunk_store_bytes,
        chunk_expiry_hours: state.limits.chunk_expiry_hours,
        sphinx_keys: state
            .mix
            .as_ref()
            .map(|mix| mix.announcements(now))
            .unwrap_or_default(),
    };
    serde_json::to_vec(&info).unwrap_or_default()
}

/// Requires the body's media type to be `expected` (parameters such as `charset` are
/// ignored); with `None`, any or no content type passes (the body must then be empty).
fn check_content_type(headers: &HeaderMap, expected: Option<&str>) -> Result<(), ApiError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let essence = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or_default().trim());
    if essence.is_some_and(|essence| essence.eq_ignore_ascii_case(expected)) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorKind::UnsupportedMediaType,
            format!("this endpoint takes a body of type {expected}"),
        ))
    }
}

/// Parses the one `Sotto-Auth` header and checks its time against `now`.
fn auth_header(headers: &HeaderMap, now: u64) -> Result<AuthHeader, ApiError> {
    let mut values = headers.get_all(AUTH_HEADER).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(AuthError::Missing.into()),
        (Some(_), Some(_)) => return Err(AuthError::Malformed("more than one header").into()),
        (Some(value), None) => value,
    };
    let header = AuthHeader::parse(value.as_bytes())?;
    header.check_time(now)?;
    Ok(header)
}

/// Checks the request's signature with `key`.
fn verify(
    state: &RelayState,
    key: &QueuePublicKey,
    auth: &AuthHeader,
    parts: &Parts,
    body: &[u8],
) -> Result<(), ApiError> {
    key.verify(
        auth,
        &state.relay_key,
        parts.method.as_str(),
        parts.uri.path(),
        body,
    )
    .map_err(ApiError::from)
}

/// The request's nonce, kept until the request would be stale anyway.
fn request_nonce(auth: &AuthHeader) -> RequestNonce {
    RequestNonce {
        nonce: auth.nonce,
        expires: NonceBucket::from_unix_seconds(auth.unix_seconds.saturating_add(MAX_CLOCK_SKEW)),
    }
}

/// Runs the storage call of a verified signed request, which records the request's nonce
/// in the same transaction (see `RelayStore`); a nonce seen before is a replay.
async fn on_signed_store<T, F>(state: &Arc<RelayState>, call: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&(dyn RelayStore + 'static)) -> Result<T, StoreError> + Send + 'static,
{
    let answer = on_store(state, call).await;
    if matches!(&answer, Err(e) if e.kind == ErrorKind::ReplayedRequest) {
        state.metrics.record(Event::ReplayRefused);
    }
    answer
}

/// Reads the whole body, at most `limit` bytes (a larger declared or actual body is
/// `too_large`), within [`BODY_TIMEOUT`]; takes it out of `body` once it starts reading. A
/// body declared larger is refused unread and left in `body` for [`handle`] to drain.
async fn read_body(
    headers: &HeaderMap,
    body: &mut Option<Body>,
    limit: u64,
) -> Result<Bytes, ApiError> {
    let too_large = || too_large(limit);
    // Refused unread; `handle` drains it before answering.
    if declared_length(headers)?.is_some_and(|declared| declared > limit) {
        return Err(too_large());
    }
    let body = body.take().unwrap_or_default();
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    match tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(too_large()),
        Ok(Err(_)) => Err(ApiError::new(
            ErrorKind::MalformedRequest,
            "the body ended early or could not be read",
        )),
        Err(_) => Err(ApiError::new(
            ErrorKind::MalformedRequest,
            "the body did not arrive in time",
        )),
    }
}

/// The `Content-Length` a request declares, if any (not a number: `malformed_request`).
fn declared_length(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    headers
        .get(CONTENT_LENGTH)
        .map(|declared| {
            declared
                .to_str()
                .ok()
                .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|text| text.parse().ok())
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorKind::MalformedRequest,
                        "Content-Length is not a number",
                    )
                })
        })
        .transpose()
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        ErrorKind::TooLarge,
        format!("this endpoint takes a body of at most {limit} bytes"),
    )
}

/// Runs a storage call on the blocking pool and maps its failure to the API's errors.
async fn on_store<T, F>(state: &Arc<RelayState>, call: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&(dyn RelayStore + 'static)) -> Result<T, StoreError> + Send + 'static,
{
    on_blocking_pool(&state.store, call).await
}

/// Runs `call` on `store` on the blocking pool (storage calls block on disk), mapping a
/// refusal to its API error and a failed task to `internal`.
async fn on_blocking_pool<S, T, F>(store: &Arc<S>, call: F) -> Result<T, ApiError>
where
    S: ?Sized + Send + Sync + 'static,
    T: Send + 'static,
    F: FnOnce(&S) -> Result<T, StoreError> + Send + 'static,
{
    let store = Arc::clone(store);
    match tokio::task::spawn_blocking(move || call(store.as_ref())).await {
        Ok(result) => result.map_err(store_refusal),
        Err(_) => Err(internal("a storage task failed")),
    }
}

fn store_refusal(e: StoreError) -> ApiError {
    match e {
        StoreError::UnknownQueue => ApiError::new(ErrorKind::UnknownQueue, "no such queue"),
        StoreError::UnknownMessage => {
            ApiError::new(ErrorKind::UnknownMessage, "no such message in the queue")
        }
        StoreError::QuotaExceeded => ApiError::new(
            ErrorKind::QuotaExceeded,
            "the queue is full; try again after the recipient has read it",
        ),
        StoreError::UnknownChunk => unknown_chunk(),
        StoreError::ChunkExists => ApiError::new(
            ErrorKind::ChunkExists,
            "a chunk with this id is already stored",
        ),
        StoreError::ChunkStoreFull => ApiError::new(
            ErrorKind::QuotaExceeded,
            "the chunk store is full; try again later or use another relay",
        ),
        StoreError::TooManyQueues => ApiError::new(
            ErrorKind::QuotaExceeded,
            "this relay holds as many queues as it may; use another relay",
        ),
        StoreError::BadCapability => wrong_capability("the delete secret does not open this chunk"),
        StoreError::Replayed => AuthError::Replayed.into(),
        other => {
            error!(error = %other, "storage failed");
            ApiError::new(ErrorKind::Internal, "the relay failed; try again later")
        }
    }
}

fn internal(what: &'static str) -> ApiError {
    error!(what, "the relay failed");
    ApiError::new(ErrorKind::Internal, "the relay failed; try again later")
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(CONTENT_TYPE, JSON)], body).into_response()
}

/// The answer to a refused request: its status and the JSON error body.
pub fn refusal(e: ApiError) -> Response {
    debug!(error = e.kind.code(), "request refused");
    let status =
        StatusCode::from_u16(e.kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(status, e.to_json())
}

/// The answer when a handler panicked. The panic's message is not logged: it could hold
/// anything.
fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    error!("a request handler panicked; the request was answered 500");
    json(
        StatusCode::INTERNAL_SERVER_ERROR,
        ApiError::new(ErrorKind::Internal, "the relay failed; try again later").to_json(),
    )
}
