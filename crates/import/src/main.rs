//! The import Lambda: every invocation runs [`ordersync_import::handle_call`] (the Plan step or
//! one window's import) with the store, the NAVER client, the credential store and the plan
//! limits, and the time Lambda has left.
//!
//! The configuration is read once, at start ([`ImportConfig::from_env`]); the clients are built
//! from it on the first invocation. A failure of either (a bad variable, a wrong secret name,
//! a Secrets Manager blip) is then that invocation's error with its `Ordersync.*` name, and
//! the next invocation tries the clients again. Ending the process instead would show only as
//! Lambda's `Runtime.ExitError`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use ordersync_aws::AnyStore;
use ordersync_core::clock::SystemClock;
use ordersync_core::config::ProcessEnv;
use ordersync_core::plan::PlanConfig;
use ordersync_core::{StepError, logging};
use ordersync_import::config::ImportConfig;
use ordersync_import::credentials::AnyCredentials;
use ordersync_import::{deadline_from, handle_call, parse_call};
use ordersync_naver::{NaverSource, config::http_client};
use tokio::sync::OnceCell;

struct Parts {
    store: AnyStore,
    source: NaverSource<AnyCredentials>,
    plan: PlanConfig,
}

async fn clients(config: &Result<ImportConfig, StepError>) -> Result<Parts, StepError> {
    let ImportConfig { store, settings } = config.as_ref().map_err(Clone::clone)?;
    // The Map runs `max_concurrency` import instances at once against one application's
    // rate limit: each keeps to its share instead of collecting 429s.
    let naver = settings
        .naver
        .clone()
        .shared_by(settings.plan.max_concurrency);
    let http = http_client(&naver)?;
    let credentials = AnyCredentials::open(settings.credentials.clone()).await?;
    Ok(Parts {
        store: AnyStore::open(store).await?,
        source: NaverSource::new(http, naver, credentials),
        plan: settings.plan,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init(&ProcessEnv);
    let config = &ImportConfig::from_env(&ProcessEnv);
    let parts = &OnceCell::new();
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = deadline_from(event.context.deadline);
            // Boxed to keep the runtime's future type shallow (see the transform Lambda).
            Box::pin(async move {
                let call = parse_call(event.payload)?;
                let parts = parts
                    .get_or_try_init(|| clients(config))
                    .await
                    .inspect_err(|e| {
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
