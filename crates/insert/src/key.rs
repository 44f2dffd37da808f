//! The Google service-account key (JSON), read once on the function's first invocation:
//! `GOOGLE_APPLICATION_CREDENTIALS` (a file, local runs) or the Secrets Manager secret named by
//! `ORDERSYNC_GOOGLE_SECRET_ID` (Lambda). The key never reaches a log line or an error message.

use ordersync_core::errors::{ErrorName, StepError, secrets_manager_error};

pub async fn load() -> Result<String, StepError> {
    if let Ok(path) = std::env::var("GOOGLE_APPLICATION_CREDENTIALS") {
        return std::fs::read_to_string(&path).map_err(|e| {
            StepError::new(
                ErrorName::Config,
                format!("cannot read GOOGLE_APPLICATION_CREDENTIALS {path}: {e}"),
            )
        });
    }
    let secret_id = std::env::var("ORDERSYNC_GOOGLE_SECRET_ID").map_err(|_| {
        StepError::new(
            ErrorName::Config,
            "neither GOOGLE_APPLICATION_CREDENTIALS nor ORDERSYNC_GOOGLE_SECRET_ID is set",
        )
    })?;
    let config = ordersync_core::store::s3::aws_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let output = client
        .get_secret_value()
        .secret_id(&secret_id)
        .send()
        .await
        .map_err(|e| {
            use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
            // A missing or forbidden secret is configuration; a throttle or a network blip is
            // retried by the state machine (before, every failure here was `Config`).
            StepError::new(
                secrets_manager_error(e.code()),
                format!(
                    "cannot read secret `{secret_id}` from Secrets Manager ({})",
                    e.code().unwrap_or("no answer")
                ),
            )
        })?;
    output.secret_string().map(str::to_owned).ok_or_else(|| {
        StepError::new(
            ErrorName::Config,
            format!("secret `{secret_id}` has no string value"),
        )
    })
}
