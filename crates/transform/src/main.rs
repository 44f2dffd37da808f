//! The transform Lambda: configuration and the store are built once at cold start, then every
//! invocation runs [`ordersync_transform::handle`].

use lambda_runtime::{Error, LambdaEvent, service_fn};
use ordersync_core::store::AnyStore;
use ordersync_core::{StepError, logging};
use ordersync_transform::handler::{handle, parse_event};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let store = match AnyStore::from_env(None).await {
        Ok(store) => store,
        Err(e) => {
            let e = StepError::from(e);
            tracing::error!(error = %e, "cannot start");
            return Err(e.into());
        }
    };
    let store = &store;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // Boxed: the handler's future is deep enough to overflow rustc's layout query limit
            // when inlined into the runtime's own futures.
            Box::pin(async move { handle(store, parse_event(event.payload)?).await }).await
        },
    ))
    .await
}
