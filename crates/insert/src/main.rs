//! The insert Lambda: every invocation runs [`ordersync_insert::handle`] with the store, the
//! Sheets client (service-account key from Secrets Manager or a file) and the lease settings.
//!
//! The configuration is read once, at start ([`InsertConfig::from_env`]); the key and the
//! clients on the first invocation. A failure of either (a wrong secret name, an unreadable
//! key, a Secrets Manager blip) is then that invocation's error with its `Ordersync.*` name,
//! and the next invocation tries the clients again. Ending the process instead would show only
//! as Lambda's `Runtime.ExitError`.

use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use ordersync_aws::AnyStore;
use ordersync_core::budget::deadline_from;
use ordersync_core::clock::SystemClock;
use ordersync_core::config::ProcessEnv;
use ordersync_core::lease::LeaseConfig;
use ordersync_core::{StepError, logging};
use ordersync_insert::config::InsertConfig;
use ordersync_insert::{handle, parse_event};
use ordersync_sheets::SheetsClient;
use tokio::sync::OnceCell;

struct Parts {
    store: AnyStore,
    sheets: SheetsClient,
    lease: LeaseConfig,
}

async fn clients(config: &Result<InsertConfig, StepError>) -> Result<Parts, StepError> {
    let InsertConfig { store, settings } = config.as_ref().map_err(Clone::clone)?;
    let key = settings.key.load().await?;
    Ok(Parts {
        store: AnyStore::open(store).await?,
        sheets: SheetsClient::new(&key, settings.sheets.clone()).await?,
        lease: settings.lease,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init(&ProcessEnv);
    let config = &InsertConfig::from_env(&ProcessEnv);
    let parts = &OnceCell::new();
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // 10 s kept back to release the lease and answer.
            let deadline = deadline_from(event.context.deadline, Duration::from_secs(10));
            // Boxed to keep the runtime's future type shallow (see the transform Lambda).
            Box::pin(async move {
                let event = parse_event(event.payload)?;
                let parts = parts
                    .get_or_try_init(|| clients(config))
                    .await
                    .inspect_err(|e| {
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
