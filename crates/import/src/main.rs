//! The import Lambda: store, NAVER client, credential store and plan limits built once at cold
//! start, then every invocation runs [`ordersync_import::handle_call`] (the Plan step or one
//! window's import) with the time Lambda has left.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use ordersync_core::clock::SystemClock;
use ordersync_core::plan::PlanConfig;
use ordersync_core::store::AnyStore;
use ordersync_core::{StepError, logging};
use ordersync_import::credentials::AnyCredentials;
use ordersync_import::{deadline_from, handle_call, parse_call};
use ordersync_naver::{NaverConfig, NaverSource, config::http_client};

async fn start() -> Result<(AnyStore, NaverSource<AnyCredentials>, PlanConfig), StepError> {
    let plan = PlanConfig::from_env()?;
    let store = AnyStore::from_env(None).await?;
    // The Map runs `max_concurrency` import instances at once against one application's
    // rate limit: each keeps to its share instead of collecting 429s.
    let config = NaverConfig::from_env()?.shared_by(plan.max_concurrency);
    let http = http_client(&config)?;
    let credentials = AnyCredentials::from_env().await?;
    Ok((store, NaverSource::new(http, config, credentials), plan))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let (store, source, plan) = match start().await {
        Ok(parts) => parts,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return Err(e.into());
        }
    };
    let (store, source, plan) = (&store, &source, &plan);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = deadline_from(event.context.deadline);
            // Boxed to keep the runtime's future type shallow (see the transform Lambda).
            Box::pin(async move {
                handle_call(
                    store,
                    source,
                    plan,
                    &SystemClock,
                    parse_call(event.payload)?,
                    deadline,
                )
                .await
            })
            .await
        },
    ))
    .await
}
