//! NAVER credentials for the import Lambda, from the [`CredentialSource`] its configuration
//! names:
//!
//! 1. `NAVER_CREDENTIALS_FILE` — a JSON map `{secret_id: {client_id, client_secret}}` (local);
//! 2. `NAVER_CLIENT_ID` + `NAVER_CLIENT_SECRET` — one application for every account (local);
//! 3. otherwise AWS Secrets Manager: the secret named by the event's `account.secret_id`, a
//!    JSON string `{"client_id", "client_secret"}`, cached for warm invocations.
//!
//! Secrets never reach a log line or an error message: parse errors say only where they failed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ordersync_aws::secrets::{SecretError, SecretReader};
use ordersync_core::errors::{ErrorName, StepError};
use ordersync_core::request::AccountRef;

use crate::config::CredentialSource;
use ordersync_naver::source::{EnvCredentials, FileCredentials, unknown_account};
use ordersync_naver::{CredentialStore, Credentials};

/// How long a secret read from Secrets Manager is reused (rotation shows up within this).
const SECRET_TTL: Duration = Duration::from_secs(300);

pub struct SecretsManagerCredentials {
    secrets: SecretReader,
    cache: Mutex<HashMap<String, (Credentials, Instant)>>,
}

impl SecretsManagerCredentials {
    pub fn new(secrets: SecretReader) -> Self {
        SecretsManagerCredentials {
            secrets,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl CredentialStore for SecretsManagerCredentials {
    async fn credentials(&self, account: &AccountRef) -> Result<Credentials, StepError> {
        if let Some((credentials, read_at)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&account.secret_id)
            && read_at.elapsed() < SECRET_TTL
        {
            return Ok(credentials.clone());
        }
        let secret = match self.secrets.read(&account.secret_id).await {
            Ok(secret) => secret,
            // The request named an account no secret exists for: the request's mistake, unlike
            // the Google key's secret, which the stack's configuration names.
            Err(SecretError::NotFound { .. }) => return Err(unknown_account(account)),
            Err(error) => return Err(error.into()),
        };
        let credentials: Credentials = serde_json::from_str(&secret).ok().ok_or_else(|| {
            StepError::new(
                ErrorName::Config,
                format!(
                    "secret `{}` is not a JSON string with client_id and client_secret",
                    account.secret_id
                ),
            )
        })?;
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(
            account.secret_id.clone(),
            (credentials.clone(), Instant::now()),
        );
        Ok(credentials)
    }
}

/// The store chosen from the environment.
pub enum AnyCredentials {
    File(FileCredentials),
    Env(EnvCredentials),
    SecretsManager(SecretsManagerCredentials),
}

impl AnyCredentials {
    /// The store `source` names; reads the credentials file, if that is the source.
    pub async fn open(source: CredentialSource) -> Result<Self, StepError> {
        Ok(match source {
            CredentialSource::File(path) => AnyCredentials::File(FileCredentials::load(&path)?),
            CredentialSource::Env(env) => AnyCredentials::Env(env),
            CredentialSource::SecretsManager => AnyCredentials::SecretsManager(
                SecretsManagerCredentials::new(SecretReader::from_env().await),
            ),
        })
    }
}

impl CredentialStore for AnyCredentials {
    async fn credentials(&self, account: &AccountRef) -> Result<Credentials, StepError> {
        match self {
            AnyCredentials::File(f) => f.credentials(account).await,
            AnyCredentials::Env(e) => e.credentials(account).await,
            AnyCredentials::SecretsManager(s) => s.credentials(account).await,
        }
    }
}
