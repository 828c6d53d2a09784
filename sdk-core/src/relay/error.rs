//! The relay API's errors: the stable codes ([`ErrorKind`]) and the JSON body every
//! failure answers with ([`ApiError`]). Shared by the queue API ([`super::api`]) and the
//! chunk store ([`super::chunks`]).

use serde::{Deserialize, Serialize};

use super::auth::AuthError;

/// The stable error codes of the relay API (the `error` field of [`ApiError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is malformed: bad path, bad id, bad JSON, missing or extra fields.
    MalformedRequest,
    /// The body has the wrong content type.
    UnsupportedMediaType,
    /// The body is larger than the relay accepts.
    TooLarge,
    /// No such endpoint.
    NotFound,
    /// The endpoint exists but not with this method.
    MethodNotAllowed,
    /// The `Sotto-Auth` header is missing or malformed.
    BadAuthHeader,
    /// The signature does not verify with the queue's key.
    BadSignature,
    /// The request's time is too far from the relay's clock.
    StaleRequest,
    /// The request was received before.
    ReplayedRequest,
    /// No queue with this id (never created, deleted, or expired).
    UnknownQueue,
    /// No message with this id in the queue.
    UnknownMessage,
    /// The queue is full (messages or bytes), or the chunk store is.
    QuotaExceeded,
    /// No chunk with this id (never stored, deleted, or expired).
    UnknownChunk,
    /// A chunk with this id is already stored (an upload is never replaced).
    ChunkExists,
    /// A chunk capability header is missing, malformed, or not this chunk's.
    BadCapability,
    /// The `Range` header asks for bytes the chunk does not have.
    BadRange,
    /// The relay failed (storage, shutdown): try again later. The only 5xx.
    Internal,
    /// The relay is shutting down or overloaded: try again later.
    Unavailable,
    /// The request's source sent too many requests of its kind lately (queue creations,
    /// onion packets): try again later.
    RateLimited,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: [ErrorKind; 19] = [
        ErrorKind::MalformedRequest,
        ErrorKind::UnsupportedMediaType,
        ErrorKind::TooLarge,
        ErrorKind::NotFound,
        ErrorKind::MethodNotAllowed,
        ErrorKind::BadAuthHeader,
        ErrorKind::BadSignature,
        ErrorKind::StaleRequest,
        ErrorKind::ReplayedRequest,
        ErrorKind::UnknownQueue,
        ErrorKind::UnknownMessage,
        ErrorKind::QuotaExceeded,
        ErrorKind::UnknownChunk,
        ErrorKind::ChunkExists,
        ErrorKind::BadCapability,
        ErrorKind::BadRange,
        ErrorKind::Internal,
        ErrorKind::Unavailable,
        ErrorKind::RateLimited,
    ];

    /// The code in error bodies.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::MalformedRequest => "malformed_request",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::NotFound => "not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::BadAuthHeader => "bad_auth_header",
            ErrorKind::BadSignature => "bad_signature",
            ErrorKind::StaleRequest => "stale_request",
            ErrorKind::ReplayedRequest => "replayed_request",
            ErrorKind::UnknownQueue => "unknown_queue",
            ErrorKind::UnknownMessage => "unknown_message",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::UnknownChunk => "unknown_chunk",
            ErrorKind::ChunkExists => "chunk_exists",
            ErrorKind::BadCapability => "bad_capability",
            ErrorKind::BadRange => "bad_range",
            ErrorKind::Internal => "internal",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::RateLimited => "rate_limited",
        }
    }

    /// The kind a code names.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// The HTTP status the relay answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::MalformedRequest => 400,
            ErrorKind::BadAuthHeader | ErrorKind::BadSignature | ErrorKind::StaleRequest => 401,
            ErrorKind::BadCapability => 403,
            ErrorKind::UnknownQueue
            | ErrorKind::UnknownMessage
            | ErrorKind::UnknownChunk
            | ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::ReplayedRequest | ErrorKind::ChunkExists => 409,
            ErrorKind::TooLarge => 413,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::BadRange => 416,
            ErrorKind::QuotaExceeded | ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::Unavailable => 503,
        }
    }
}

/// An error answer of the relay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("relay refused the request ({}): {message}", kind.code())]
pub struct ApiError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// A message for people (never holds ids, keys or addresses).
    pub message: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireError {
    error: String,
    message: String,
}

impl ApiError {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The JSON body: `{"error": "<code>", "message": "<text>"}`.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&WireError {
            error: self.kind.code().to_owned(),
            message: self.message.clone(),
        })
        .unwrap_or_default()
    }

    /// Parses an error body (client side); an unknown code or a body that is not an error
    /// is `None`.
    pub fn from_json(body: &[u8]) -> Option<Self> {
        let wire: WireError = serde_json::from_slice(body).ok()?;
        Some(Self::new(ErrorKind::from_code(&wire.error)?, wire.message))
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let kind = match e {
            AuthError::Missing | AuthError::Malformed(_) => ErrorKind::BadAuthHeader,
            AuthError::InvalidKey => ErrorKind::MalformedRequest,
            AuthError::BadSignature | AuthError::SigningFailed(_) => ErrorKind::BadSignature,
            AuthError::Stale { .. } => ErrorKind::StaleRequest,
            AuthError::Replayed => ErrorKind::ReplayedRequest,
        };
        Self::new(kind, e.to_string())
    }
}
