//! The insert Lambda: every invocation runs [`ordersync_insert::handle`] with the store, the
//! Sheets client (service-account key from Secrets Manager or a file) and the lease settings.
//!
//! Those are built on the first invocation, not before the runtime loop: a failure there (a
//! wrong secret name, an unreadable key, a Secrets Manager blip) is then that invocation's
//! error with its `Ordersync.*` name, and the next invocation tries again. Built before the
//! loop, it could only end the process, which Lambda reports as `Runtime.ExitError`.

use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use ordersync_aws::AnyStore;
use ordersync_core::budget::deadline_from;
use ordersync_core::clock::SystemClock;
use ordersync_core::lease::LeaseConfig;
use ordersync_core::{StepError, logging};
use ordersync_insert::{handle, key, parse_event};
use ordersync_sheets::{SheetsClient, SheetsConfig};
use tokio::sync::OnceCell;

struct Parts {
    store: AnyStore,
    sheets: SheetsClient,
    lease: LeaseConfig,
}

async fn start() -> Result<Parts, StepError> {
    let lease = LeaseConfig::from_env()?;
    let config = SheetsConfig::from_env()?;
    let store = AnyStore::from_env(None).await?;
    let key = key::load().await?;
    let sheets = SheetsClient::new(&key, config).await?;
    Ok(Parts {
        store,
        sheets,
        lease,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let parts = &OnceCell::new();
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // 10 s kept back to release the lease and answer.
            let deadline = deadline_from(event.context.deadline, Duration::from_secs(10));
            // Boxed to keep the runtime's future type shallow (see the transform Lambda).
            Box::pin(async move {
                let event = parse_event(event.payload)?;
                let parts = parts.get_or_try_init(start).await.inspect_err(|e| {
                    tracing::error!(error = %e, "cannot start");
                })?;
                let Parts {
                    store,
                    sheets,
                    lease,
                } = parts;
                handle(store, sheets, lease, &SystemClock, event, deadline).await
            })
            .await
        },
    ))
    .await
}
