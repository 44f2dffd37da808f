//! The insert Lambda: store, Sheets client (service-account key read once) and lease settings
//! built at cold start, then every invocation runs [`ordersync_insert::handle`].

use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use ordersync_core::budget::deadline_from;
use ordersync_core::clock::SystemClock;
use ordersync_core::lease::LeaseConfig;
use ordersync_core::store::AnyStore;
use ordersync_core::{StepError, logging};
use ordersync_insert::{handle, key, parse_event};
use ordersync_sheets::{SheetsClient, SheetsConfig};

async fn start() -> Result<(AnyStore, SheetsClient, LeaseConfig), StepError> {
    let store = AnyStore::from_env(None).await?;
    let key = key::load().await?;
    let sheets = SheetsClient::new(&key, SheetsConfig::from_env()?).await?;
    let lease = LeaseConfig::from_env()?;
    Ok((store, sheets, lease))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let (store, sheets, lease) = match start().await {
        Ok(parts) => parts,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return Err(e.into());
        }
    };
    let (store, sheets, lease) = (&store, &sheets, &lease);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // 10 s kept back to release the lease and answer.
            let deadline = deadline_from(event.context.deadline, Duration::from_secs(10));
            // Boxed to keep the runtime's future type shallow (see the transform Lambda).
            Box::pin(async move {
                handle(
                    store,
                    sheets,
                    lease,
                    &SystemClock,
                    parse_event(event.payload)?,
                    deadline,
                )
                .await
            })
            .await
        },
    ))
    .await
}
