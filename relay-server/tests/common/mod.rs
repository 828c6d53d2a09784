//! A relay on a real SQLite file in a temporary directory, driven through its router with
//! real signed requests, on a clock the test moves.

#![allow(dead_code)] // Each test file uses its own share of these helpers.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use rand::RngCore as _;
use sotto_core::relay::api::MESSAGE_ID_HEADER;
use sotto_core::relay::{
    AUTH_HEADER, ApiError, AuthHeader, CreateQueue, Endpoint, QueueCreated, QueueKeyPair,
    RecipientId, RelayKey, RelayMessageId, SenderId,
};
use sotto_relay::config::Limits;
use sotto_relay::storage::{
    ChunkStore, Day, FileChunkStore, KeyCache, NonceBucket, RelayStore, RequestNonce, SqliteStore,
    StoreCounts,
};
use sotto_relay::throttle::{SourceLimits, Throttle};
use sotto_relay::{Clock, ManualClock, Metrics, RelayState, Routers, routers};
use tempfile::TempDir;
use tower::ServiceExt as _;

/// The test clock's start: a Tuesday in 2027, 13:20 UTC.
pub const START: u64 = 1_800_000_000;
/// Seconds in a day.
pub const DAY: u64 = 86_400;

/// A relay under test.
pub struct TestRelay {
    pub dir: TempDir,
    pub store: Arc<SqliteStore>,
    pub chunks: Arc<FileChunkStore>,
    pub clock: Arc<ManualClock>,
    pub metrics: Arc<Metrics>,
    pub relay_key: RelayKey,
    pub limits: Limits,
    /// The limits per source (none unless made [`TestRelay::with_sources`]).
    pub sources: SourceLimits,
    /// The public API.
    pub router: Router,
    /// The operator's endpoints (`/metrics`).
    pub operator: Router,
}

/// An answer, read in full.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub message_id: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The error code of a refusal (checking it is a JSON error body).
    pub fn code(&self) -> String {
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/json"),
            "refusals are JSON: {self:?}"
        );
        ApiError::from_json(&self.body)
            .unwrap_or_else(|| panic!("not an error body: {self:?}"))
            .kind
            .code()
            .to_owned()
    }

    /// `(status, code)` of a refusal.
    pub fn refusal(&self) -> (u16, String) {
        (self.status, self.code())
    }
}

/// A queue the test created: both key pairs and both ids.
pub struct Queue {
    pub recipient: QueueKeyPair,
    pub sender: QueueKeyPair,
    pub recipient_id: RecipientId,
    pub sender_id: SenderId,
}

impl TestRelay {
    /// A relay with the default limits.
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A relay with these limits.
    pub fn with_limits(limits: Limits) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        Self::open(
            dir,
            limits,
            SourceLimits::unlimited(),
            Arc::new(ManualClock::new(START)),
        )
    }

    /// A relay with the default limits and these limits per source (spent by requests
    /// carrying a [`from`] source).
    pub fn with_sources(sources: SourceLimits) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        Self::open(
            dir,
            Limits::default(),
            sources,
            Arc::new(ManualClock::new(START)),
        )
    }

    fn open(dir: TempDir, limits: Limits, sources: SourceLimits, clock: Arc<ManualClock>) -> Self {
        let store = Arc::new(SqliteStore::open(dir.path(), limits.policy()).expect("store opens"));
        let chunks = Arc::new(
            FileChunkStore::open(&dir.path().join("chunks"), limits.chunk_policy())
                .expect("chunk store opens"),
        );
        let metrics = Arc::new(Metrics::new());
        let relay_key = RelayKey::from_bytes([42; 32]);
        let Routers {
            public: router,
            operator,
        } = routers(RelayState {
            // As the relay runs it: queue keys from memory when at hand.
            store: Arc::new(KeyCache::new(Arc::clone(&store) as Arc<dyn RelayStore>)),
            relay_key,
            limits,
            clock: Arc::clone(&clock) as Arc<dyn Clock>,
            metrics: Arc::clone(&metrics),
            chunks: Arc::clone(&chunks) as Arc<dyn ChunkStore>,
            mix: None,
            waiters: Default::default(),
            throttle: Throttle::new(sources.clone(), Arc::clone(&metrics)),
        });
        Self {
            dir,
            store,
            chunks,
            clock,
            metrics,
            relay_key,
            limits,
            sources,
            router,
            operator,
        }
    }

    /// Closes the store and opens the same directory again (a relay restart).
    pub fn restart(self) -> Self {
        let Self {
            dir,
            store,
            chunks,
            clock,
            limits,
            sources,
            router,
            operator,
            ..
        } = self;
        drop((router, operator));
        drop(chunks);
        Arc::try_unwrap(store)
            .expect("no request in flight")
            .close()
            .expect("store closes");
        Self::open(dir, limits, sources, clock)
    }

    /// The clock's time.
    pub fn now(&self) -> u64 {
        self.clock.unix_seconds()
    }

    /// Today, by the clock.
    pub fn today(&self) -> Day {
        Day::from_unix_seconds(self.now())
    }

    /// Sends one request through the public router.
    pub async fn call(&self, request: Request<Body>) -> Answer {
        Self::answer(&self.router, request).await
    }

    /// Sends one request through the operator's router.
    pub async fn call_operator(&self, request: Request<Body>) -> Answer {
        Self::answer(&self.operator, request).await
    }

    async fn answer(router: &Router, request: Request<Body>) -> Answer {
        let response = router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().expect("ASCII header").to_owned())
        };
        let content_type = header("content-type");
        let message_id = header(MESSAGE_ID_HEADER);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("answer body")
            .to_vec();
        Answer {
            status,
            content_type,
            message_id,
            body,
        }
    }

    /// A request signed by `key` at the clock's time.
    pub fn signed(
        &self,
        key: &QueueKeyPair,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Request<Body> {
        let header = self.sign(key, self.now(), method, path, body);
        request(method, path, content_type, Some(&header.encode()), body)
    }

    /// A `Sotto-Auth` header by `key` for this relay.
    pub fn sign(
        &self,
        key: &QueueKeyPair,
        time: u64,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> AuthHeader {
        key.sign(&self.relay_key, time, method, path, body, &mut rand::rng())
            .expect("signing works")
    }

    /// A signed request creating a queue of fresh keys, and those keys (recipient's,
    /// sender's).
    pub fn create_queue_request(&self) -> (Request<Body>, QueueKeyPair, QueueKeyPair) {
        let mut rng = rand::rng();
        let recipient = QueueKeyPair::generate(&mut rng);
        let sender = QueueKeyPair::generate(&mut rng);
        let body = CreateQueue {
            recipient_key: recipient.public(),
            sender_key: sender.public(),
        }
        .to_json();
        let request = self.signed(
            &recipient,
            "POST",
            "/v1/queues",
            Some("application/json"),
            &body,
        );
        (request, recipient, sender)
    }

    /// Creates a queue through the API.
    pub async fn create_queue(&self) -> Queue {
        let (request, recipient, sender) = self.create_queue_request();
        let answer = self.call(request).await;
        assert_eq!(answer.status, 201, "{answer:?}");
        assert_eq!(answer.content_type.as_deref(), Some("application/json"));
        let created = QueueCreated::from_json(&answer.body).expect("queue answer");
        Queue {
            recipient,
            sender,
            recipient_id: created.recipient_id,
            sender_id: created.sender_id,
        }
    }

    /// A signed send request.
    pub fn send_request(&self, queue: &Queue, body: &[u8]) -> Request<Body> {
        let path = Endpoint::Send(queue.sender_id).path();
        self.signed(
            &queue.sender,
            "POST",
            &path,
            Some("application/octet-stream"),
            body,
        )
    }

    /// Sends a message through the API.
    pub async fn send(&self, queue: &Queue, body: &[u8]) -> Answer {
        self.call(self.send_request(queue, body)).await
    }

    /// A signed next request.
    pub fn next_request(&self, queue: &Queue) -> Request<Body> {
        let path = Endpoint::Next(queue.recipient_id).path();
        self.signed(&queue.recipient, "POST", &path, None, b"")
    }

    /// Reads the oldest message through the API.
    pub async fn next(&self, queue: &Queue) -> Answer {
        self.call(self.next_request(queue)).await
    }

    /// A signed acknowledgement.
    pub fn ack_request(&self, queue: &Queue, message: &str) -> Request<Body> {
        let message = RelayMessageId::from_text(message).expect("message id");
        let path = Endpoint::Ack(queue.recipient_id, message).path();
        self.signed(&queue.recipient, "POST", &path, None, b"")
    }

    /// Acknowledges a message through the API.
    pub async fn ack(&self, queue: &Queue, message: &str) -> Answer {
        self.call(self.ack_request(queue, message)).await
    }

    /// Deletes a queue through the API.
    pub async fn delete(&self, queue: &Queue) -> Answer {
        let path = Endpoint::DeleteQueue(queue.recipient_id).path();
        self.call(self.signed(&queue.recipient, "DELETE", &path, None, b""))
            .await
    }

    /// What the store holds, and the oldest message of `queue`, read straight from the
    /// store (no request; a fresh nonce of its own): to check that a refused request
    /// changed nothing.
    pub fn snapshot(&self, queue: &Queue) -> (StoreCounts, Option<Vec<u8>>) {
        let counts = self.store.counts().expect("counts");
        let mut nonce = [0; 16];
        rand::rng().fill_bytes(&mut nonce);
        let nonce = RequestNonce {
            nonce,
            expires: NonceBucket::from_unix_seconds(self.clock.unix_seconds()),
        };
        let next = self
            .store
            .next_message(&queue.recipient_id, self.today(), &nonce)
            .expect("next message")
            .map(|m| m.body);
        (counts, next)
    }
}

/// A request with optional content type and `Sotto-Auth` header; `Content-Length` is set
/// to the body's length.
pub fn request(
    method: &str,
    path: &str,
    content_type: Option<&str>,
    auth: Option<&str>,
    body: &[u8],
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("content-length", body.len());
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    if let Some(auth) = auth {
        builder = builder.header(AUTH_HEADER, auth);
    }
    builder.body(Body::from(body.to_vec())).expect("request")
}

/// `request` as if it came in from `source` (what the relay's listener records of every
/// connection), so that it spends that source's allowance.
pub fn from(source: &str, mut request: Request<Body>) -> Request<Body> {
    let peer = std::net::SocketAddr::new(source.parse().expect("an IP address"), 40_000);
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    request
}
