//! The relay's HTTP API, version 1 (`docs/PROTOCOL.md` §15), as one axum [`Router`].
//!
//! One fallback handler serves every request, so no request escapes the rules below:
//!
//! 1. The method and path are parsed by the core (`Endpoint::parse`); a query string is
//!    refused.
//! 2. Signed endpoints check, in this order: the content type (`application/json` to
//!    create a queue, `application/octet-stream` to send, none for the empty-bodied
//!    reads, acknowledgements and deletions); the `Sotto-Auth` header and its time against
//!    the relay's [`Clock`]; the body, read with the endpoint's size limit (a larger body,
//!    declared or sent, is `413 too_large` without reading further); the queue's key; the
//!    signature; and only then the storage call, which records the request's nonce in the
//!    same transaction as the operation (a replay is `409`, checked before the operation).
//! 3. Storage calls run on the blocking pool; a change is answered with success only once
//!    the store reports it durable.
//!
//! Every refusal is the core's [`ApiError`] as JSON. A client's mistake is always a 4xx; a
//! 5xx means the relay itself failed. A handler that panics (none should) is answered
//! `500 internal` by the panic layer and the relay keeps serving.
//!
//! Logs: refusals and per-request events at `debug` (by kind only); storage failures at
//! `error`. Nothing logged names an id, a key, a nonce or an address.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use sotto_core::relay::api::{MAX_JSON_BODY, MESSAGE_ID_HEADER};
use sotto_core::relay::auth::MAX_CLOCK_SKEW;
use sotto_core::relay::{
    AUTH_HEADER, ApiError, AuthError, AuthHeader, CreateQueue, Endpoint, ErrorKind, QueueCreated,
    QueuePublicKey, RelayInfo, RelayKey,
};
use tower_http::catch_panic::CatchPanicLayer;
use tracing::{debug, error};

use crate::clock::Clock;
use crate::config::Limits;
use crate::metrics::{Event, Metrics, endpoint_name};
use crate::storage::{Day, NonceBucket, QueueKeys, RelayStore, RequestNonce, StoreError};

/// The API version this relay speaks.
pub const API_VERSION: u32 = 1;
/// How long the relay waits for a request body to arrive in full.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

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
}

/// The relay's HTTP application: one fallback handler behind a panic layer.
pub fn router(state: RelayState) -> Router {
    Router::new()
        .fallback(handle)
        .with_state(Arc::new(state))
        .layer(CatchPanicLayer::custom(panic_response))
}

async fn handle(State(state): State<Arc<RelayState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let endpoint = Endpoint::parse(parts.method.as_str(), parts.uri.path());
    let response = match &endpoint {
        Ok(endpoint) => answer(&state, endpoint, &parts, body)
            .await
            .unwrap_or_else(refusal),
        Err(e) => refusal(e.clone()),
    };
    let status = response.status().as_u16();
    state.metrics.record_request(endpoint.as_ref().ok(), status);
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
    body: Body,
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
        Endpoint::Info => Ok(json(StatusCode::OK, info_json(state))),
        Endpoint::Metrics => {
            let counts = on_store(state, |store| store.counts()).await.ok();
            Ok((
                StatusCode::OK,
                [(CONTENT_TYPE, "text/plain; version=0.0.4")],
                state.metrics.render(counts),
            )
                .into_response())
        }
        Endpoint::CreateQueue => {
            check_content_type(&parts.headers, Some(JSON))?;
            let auth = auth_header(&parts.headers, now)?;
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
                on_signed_store(state, move |store| store.create_queue(&keys, today, &nonce))
                    .await?;
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
            if body.is_empty() {
                return Err(ApiError::new(
                    ErrorKind::MalformedRequest,
                    "a message has at least one byte",
                ));
            }
            let sender = *sender;
            let key = on_store(state, move |store| store.sender_key(&sender, today)).await?;
            verify(state, &known(key)?, &auth, parts, &body)?;
            let nonce = request_nonce(&auth);
            let stored = on_signed_store(state, move |store| {
                store.write_message(&sender, &body, today, &nonce)
            })
            .await;
            if matches!(&stored, Err(e) if e.kind == ErrorKind::QuotaExceeded) {
                state.metrics.record(Event::QuotaRefused);
            }
            stored?;
            state.metrics.record(Event::MessageWritten);
            debug!("message stored");
            Ok(StatusCode::CREATED.into_response())
        }
        Endpoint::Next(recipient) => {
            let recipient = *recipient;
            let nonce = recipient_request(state, parts, body, &recipient, now).await?;
            let next = on_signed_store(state, move |store| {
                store.next_message(&recipient, today, &nonce)
            })
            .await?;
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
            let nonce = recipient_request(state, parts, body, &recipient, now).await?;
            on_signed_store(state, move |store| {
                store.ack_message(&recipient, &message, today, &nonce)
            })
            .await?;
            state.metrics.record(Event::MessageAcked);
            debug!("message acknowledged");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Endpoint::DeleteQueue(recipient) => {
            let recipient = *recipient;
            let nonce = recipient_request(state, parts, body, &recipient, now).await?;
            on_signed_store(state, move |store| store.delete_queue(&recipient, &nonce)).await?;
            state.metrics.record(Event::QueueDeleted);
            debug!("queue deleted");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

/// The checks every empty-bodied recipient request shares: no body, a fresh header, a
/// known queue, a valid signature by its recipient key. Returns the request's nonce.
async fn recipient_request(
    state: &Arc<RelayState>,
    parts: &Parts,
    body: Body,
    recipient: &sotto_core::relay::RecipientId,
    now: u64,
) -> Result<RequestNonce, ApiError> {
    check_content_type(&parts.headers, None)?;
    let auth = auth_header(&parts.headers, now)?;
    let body = read_body(&parts.headers, body, 0).await?;
    let recipient = *recipient;
    let today = Day::from_unix_seconds(now);
    let key = on_store(state, move |store| store.recipient_key(&recipient, today)).await?;
    verify(state, &known(key)?, &auth, parts, &body)?;
    Ok(request_nonce(&auth))
}

fn known(key: Option<QueuePublicKey>) -> Result<QueuePublicKey, ApiError> {
    key.ok_or_else(|| ApiError::new(ErrorKind::UnknownQueue, "no such queue"))
}

/// The `/v1/info` body.
fn info_json(state: &RelayState) -> Vec<u8> {
    let info = RelayInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        api: API_VERSION,
        key: state.relay_key.to_text(),
        max_message_bytes: state.limits.max_message_bytes,
        max_queue_messages: state.limits.max_queue_messages,
        max_queue_bytes: state.limits.max_queue_bytes,
        message_expiry_days: state.limits.message_expiry_days,
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
    F: FnOnce(&dyn RelayStore) -> Result<T, StoreError> + Send + 'static,
{
    let answer = on_store(state, call).await;
    if matches!(&answer, Err(e) if e.kind == ErrorKind::ReplayedRequest) {
        state.metrics.record(Event::ReplayRefused);
    }
    answer
}

/// Reads the whole body, at most `limit` bytes (a larger declared or actual body is
/// `too_large`), within [`BODY_TIMEOUT`].
async fn read_body(headers: &HeaderMap, body: Body, limit: u64) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorKind::TooLarge,
            format!("this endpoint takes a body of at most {limit} bytes"),
        )
    };
    if let Some(declared) = headers.get(CONTENT_LENGTH) {
        let declared: u64 = declared
            .to_str()
            .ok()
            .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorKind::MalformedRequest,
                    "Content-Length is not a number",
                )
            })?;
        if declared > limit {
            return Err(too_large());
        }
    }
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

/// Runs a storage call on the blocking pool and maps its failure to the API's errors.
async fn on_store<T, F>(state: &Arc<RelayState>, call: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn RelayStore) -> Result<T, StoreError> + Send + 'static,
{
    let store = Arc::clone(&state.store);
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
