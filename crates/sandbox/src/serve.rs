//! The accept loop every sandbox and test-kit server shares: HTTP/1.1 and HTTP/2 on a bound
//! listener, one task per connection, all owned by the loop so that aborting it (when a server
//! is dropped) also closes keep-alive connections. Plus the few helpers the sandbox's handlers
//! need on top of bare hyper (a response with a body and headers, a size-limited body read).
//!
//! Bare hyper, no web framework: the sandbox ships inside the `ordersync` command for its demo,
//! and each fake routes by raw path anyway (NAVER's and Google's URL shapes do not fit a
//! router's segments).

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::service::{Service, service_fn};
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// What a sandbox handler answers.
pub type Response = hyper::Response<Full<Bytes>>;

/// Serves `make()`'s service on every accepted connection until aborted.
pub async fn serve_with<S, B, F>(listener: TcpListener, make: F)
where
    F: Fn() -> S,
    S: Service<Request<Incoming>, Response = hyper::Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let http = ConnBuilder::new(TokioExecutor::new());
    let mut connections = JoinSet::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Transient (e.g. too many open files): keep serving the other connections.
                Err(_) => continue,
            },
            // Reap finished connections so the set does not grow over a long test.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let connection = http
            .serve_connection(TokioIo::new(stream), make())
            .into_owned();
        connections.spawn(async move {
            // A client hanging up mid-request is normal in tests (timeouts, dropped clients).
            let _ = connection.await;
        });
    }
}

/// [`serve_with`] for one handler over shared state: every request of every connection goes to
/// `handle(state, request)`.
pub async fn serve_state<T, H, Fut>(listener: TcpListener, state: Arc<T>, handle: H)
where
    T: Send + Sync + 'static,
    H: Fn(Arc<T>, Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    serve_with(listener, move || {
        let state = state.clone();
        let handle = handle.clone();
        service_fn(move |request| {
            let answer = handle(state.clone(), request);
            async move { Ok::<_, Infallible>(answer.await) }
        })
    })
    .await
}

/// A response with `status`, `headers` (invalid names or values are skipped: the fakes only
/// set their own, known-good ones) and `body`.
pub fn response(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response {
    let mut response = hyper::Response::new(Full::new(body.into()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// The whole request body, or `None` when it is longer than `limit` bytes or the connection
/// failed mid-body.
pub async fn read_body(body: Incoming, limit: usize) -> Option<Bytes> {
    Limited::new(body, limit)
        .collect()
        .await
        .ok()
        .map(|collected| collected.to_bytes())
}
