//! One HTTP/1.1 exchange with a relay, whatever carries it.
//!
//! [`RelayClient`](super::RelayClient) speaks the relay API through [`Http`]: natively,
//! reqwest over TLS pinned to the relay's key (directly, or inside a `CONNECT` tunnel of a
//! proxy relay); in the browser, the same pinned TLS inside a WebSocket tunnel
//! ([`super::tunnel`], `docs/PROTOCOL.md` §21). Both give an [`Answer`] whose body arrives
//! in chunks, so a download is written as it comes.

use bytes::Bytes;

use super::TransportError;

/// A request: method, path (with the query), headers and body.
#[derive(Debug, Clone)]
pub(super) struct Request {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

impl Request {
    /// A bodiless request.
    pub fn new(method: &'static str, path: String) -> Self {
        Self {
            method,
            path,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// The same with one more header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The same with a body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
}

/// An answer whose head has arrived; its body is read with [`Answer::chunk`].
pub(super) struct Answer {
    pub status: u16,
    /// The header `name` asked for by the request's sender ([`Http::send`]), if present.
    pub header: Option<String>,
    /// The declared body length, if declared.
    pub content_length: Option<u64>,
    pub(super) body: Body,
}

impl Answer {
    /// The next piece of the body; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
        self.body.chunk().await
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(super) use native::{Body, Http};

#[cfg(target_arch = "wasm32")]
pub(super) use super::tunnel::{Body, Http};

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use bytes::Bytes;

    use super::{Answer, Request};
    use crate::relay::RelayAddress;
    use crate::transport::TransportError;
    use crate::transport::client::{CONNECT_TIMEOUT, READ_TIMEOUT};

    /// reqwest over TLS pinned to the relay's key.
    #[derive(Debug, Clone)]
    pub(in crate::transport) struct Http {
        base_url: String,
        client: reqwest::Client,
    }

    /// An answer's body as reqwest receives it.
    pub(in crate::transport) struct Body(reqwest::Response);

    impl Body {
        pub(super) async fn chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
            self.0.chunk().await.map_err(connection_error)
        }
    }

    impl Http {
        /// Straight to the relay at `address`.
        pub fn direct(address: &RelayAddress) -> Result<Self, TransportError> {
            let client = reqwest::Client::builder()
                .use_preconfigured_tls(crate::transport::pinned_client_config(*address.key())?)
                .no_proxy()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(READ_TIMEOUT)
                .build()
                .map_err(|e| TransportError::Unreachable(e.to_string()))?;
            Ok(Self {
                base_url: address.base_url(),
                client,
            })
        }

        /// To the relay at `target` through an HTTP CONNECT tunnel of the relay at
        /// `proxy_socket` (whose key is `proxy`).
        pub fn through_proxy(
            target: &RelayAddress,
            proxy: &RelayAddress,
            proxy_socket: std::net::SocketAddr,
        ) -> Result<Self, TransportError> {
            let tunnel = reqwest::Proxy::all(format!(
                "https://{}:{}",
                crate::transport::PROXY_SERVER_NAME,
                proxy_socket.port()
            ))
            .map_err(|e| TransportError::Unreachable(e.to_string()))?;
            let client = reqwest::Client::builder()
                .use_preconfigured_tls(crate::transport::proxied_client_config(
                    *proxy.key(),
                    *target.key(),
                )?)
                .resolve(crate::transport::PROXY_SERVER_NAME, proxy_socket)
                .proxy(tunnel)
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(READ_TIMEOUT)
                .build()
                .map_err(|e| TransportError::Unreachable(e.to_string()))?;
            Ok(Self {
                base_url: target.base_url(),
                client,
            })
        }

        /// Sends `request`; the answer carries the header `header` when present.
        pub async fn send(
            &self,
            request: Request,
            header: Option<&str>,
        ) -> Result<Answer, TransportError> {
            let method = reqwest::Method::from_bytes(request.method.as_bytes())
                .map_err(|e| TransportError::InvalidAnswer(e.to_string()))?;
            let mut builder = self
                .client
                .request(method, format!("{}{}", self.base_url, request.path))
                .body(request.body);
            for (name, value) in request.headers {
                builder = builder.header(name, value);
            }
            let answer = builder.send().await.map_err(connection_error)?;
            Ok(answer_of(answer, header))
        }
    }

    /// The head of a reqwest answer, and its body to read.
    pub(in crate::transport) fn answer_of(
        answer: reqwest::Response,
        header: Option<&str>,
    ) -> Answer {
        let header = header
            .and_then(|name| answer.headers().get(name))
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Answer {
            status: answer.status().as_u16(),
            header,
            content_length: answer.content_length(),
            body: Body(answer),
        }
    }

    /// A failed request: a TLS refusal (typed, found in the error chain) or a network
    /// failure.
    pub(in crate::transport) fn connection_error(error: reqwest::Error) -> TransportError {
        TransportError::from_failure(&error)
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(super) use native::{answer_of, connection_error};
