//! The test kit's axum servers (S3's recorder, the Runtime API, fake Step Functions, the moto
//! bridge) on the sandbox's accept loop, so every local server closes its keep-alive
//! connections the same way when dropped.

use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Serves `router` on `listener` until aborted.
pub(crate) async fn serve(listener: TcpListener, router: axum::Router) {
    ordersync_sandbox::serve::serve_with(listener, move || TowerToHyperService::new(router.clone()))
        .await
}
