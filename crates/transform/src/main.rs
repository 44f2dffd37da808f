//! The transform Lambda: every invocation runs [`ordersync_transform::handle`] with the store.
//!
//! The configuration is read once, at start; the store is built from it on the first
//! invocation. So a configuration error is that invocation's `Ordersync.Config` instead of a
//! process exit (which Lambda reports as `Runtime.ExitError`), and the next invocation tries
//! the store again.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use ordersync_aws::AnyStore;
use ordersync_core::config::ProcessEnv;
use ordersync_core::{StepError, logging};
use ordersync_transform::config::TransformConfig;
use ordersync_transform::handler::{handle, parse_event};
use tokio::sync::OnceCell;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init(&ProcessEnv);
    let config = &TransformConfig::from_env(&ProcessEnv).map_err(StepError::from);
    let store = &OnceCell::new();
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // Boxed: the handler's future is deep enough to overflow rustc's layout query limit
            // when inlined into the runtime's own futures.
            Box::pin(async move {
                let event = parse_event(event.payload)?;
                let store = store
                    .get_or_try_init(|| async {
                        let config = config.as_ref().map_err(Clone::clone)?;
                        AnyStore::open(&config.store).await.map_err(StepError::from)
                    })
                    .await
                    .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
                handle(store, event).await
            })
            .await
        },
    ))
    .await
}
