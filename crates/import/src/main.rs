//! The import Lambda: every invocation runs [`ordersync_import::handle_call`] (the Plan step or
//! one window's import) with the store, the NAVER client, the credential store and the plan
//! limits, and the time Lambda has left.
//!
//! All of them are built on the first invocation, not before the runtime loop, so that a
//! failure there (a bad variable, a wrong secret name, a Secrets Manager blip) is that
//! invocation's error with its `Ordersync.*` name and the next invocation tries again — built
//! before the loop, it could only end the process, which Lambda reports as `Runtime.ExitError`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use ordersync_aws::AnyStore;
use ordersync_core::clock::SystemClock;
use ordersync_core::plan::PlanConfig;
use ordersync_core::{StepError, logging};
use ordersync_import::credentials::AnyCredentials;
use ordersync_import::{deadline_from, handle_call, parse_call};
use ordersync_naver::{NaverConfig, NaverSource, config::http_client};
use tokio::sync::OnceCell;

struct Parts {
    store: AnyStore,
    source: NaverSource<AnyCredentials>,
    plan: PlanConfig,
}

async fn start() -> Result<Parts, StepError> {
    let plan = PlanConfig::from_env()?;
    // The Map runs `max_concurrency` import instances at once against one application's
    // rate limit: each keeps to its share instead of collecting 429s.
    let config = NaverConfig::from_env()?.shared_by(plan.max_concurrency);
    let http = http_client(&config)?;
    let store = AnyStore::from_env(None).await?;
    let credentials = AnyCredentials::from_env().await?;
    Ok(Parts {
        store,
        source: NaverSource::new(http, config, credentials),
        plan,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let parts = &OnceCell::new();
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = deadline_from(event.context.deadline);
            // Boxed to keep the runtime's future type shallow (see the transform Lambda).
            Box::pin(async move {
                let call = parse_call(event.payload)?;
                let parts = parts.get_or_try_init(start).await.inspect_err(|e| {
                    tracing::error!(error = %e, "cannot start");
                })?;
                let Parts {
                    store,
                    source,
                    plan,
                } = parts;
                handle_call(store, source, plan, &SystemClock, call, deadline).await
            })
            .await
        },
    ))
    .await
}
