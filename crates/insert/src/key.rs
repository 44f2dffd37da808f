//! The Google service-account key (JSON), read once on the function's first invocation:
//! `GOOGLE_APPLICATION_CREDENTIALS` (a file, local runs) or the Secrets Manager secret named by
//! `ORDERSYNC_GOOGLE_SECRET_ID` (Lambda). The key never reaches a log line or an error message.

use ordersync_aws::secrets::SecretReader;
use ordersync_core::errors::{ErrorName, StepError};

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
    Ok(SecretReader::from_env().await.read(&secret_id).await?)
}
