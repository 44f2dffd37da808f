//! Where the Google service-account key (JSON) comes from — `GOOGLE_APPLICATION_CREDENTIALS`
//! (a file, local runs) or the Secrets Manager secret named by `ORDERSYNC_GOOGLE_SECRET_ID`
//! (Lambda) — and reading it, once, on the function's first invocation. The key never reaches
//! a log line or an error message.

use std::path::PathBuf;

use ordersync_aws::secrets::SecretReader;
use ordersync_core::config::{ConfigError, Env};
use ordersync_core::errors::{ErrorName, StepError};

/// Where the key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `GOOGLE_APPLICATION_CREDENTIALS`: a file (wins when both are set).
    File(PathBuf),
    /// `ORDERSYNC_GOOGLE_SECRET_ID`: a Secrets Manager secret.
    Secret(String),
}

impl KeySource {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let file = env.var("GOOGLE_APPLICATION_CREDENTIALS");
        let secret = env.var("ORDERSYNC_GOOGLE_SECRET_ID");
        match (file, secret) {
            (Some(path), _) => Ok(KeySource::File(path.into())),
            (None, Some(id)) => Ok(KeySource::Secret(id)),
            (None, None) => Err(ConfigError::new(
                "ORDERSYNC_GOOGLE_SECRET_ID",
                "is not set, and neither is GOOGLE_APPLICATION_CREDENTIALS",
            )),
        }
    }

    /// The key JSON.
    pub async fn load(&self) -> Result<String, StepError> {
        match self {
            KeySource::File(path) => std::fs::read_to_string(path).map_err(|e| {
                StepError::new(
                    ErrorName::Config,
                    format!(
                        "cannot read GOOGLE_APPLICATION_CREDENTIALS {}: {e}",
                        path.display()
                    ),
                )
            }),
            KeySource::Secret(id) => Ok(SecretReader::from_env().await.read(id).await?),
        }
    }
}
