//! The accept loop every test-kit server shares: HTTP/1.1 and HTTP/2 on a bound listener, one
//! task per connection, all owned by the loop so that aborting it (when a server is dropped)
//! also closes keep-alive connections.

use std::error::Error as StdError;

use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// Serves `make()`'s service on every accepted connection until aborted.
pub(crate) async fn serve_with<S, B, F>(listener: TcpListener, make: F)
where
    F: Fn() -> S,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
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

/// [`serve_with`] for an axum router.
pub(crate) async fn serve(listener: TcpListener, router: axum::Router) {
    serve_with(listener, move || TowerToHyperService::new(router.clone())).await
}
