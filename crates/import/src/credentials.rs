//! NAVER credentials for the import Lambda, from the [`CredentialSource`] its configuration
//! names:
//!
//! 1. `NAVER_CREDENTIALS_FILE` — a JSON map `{secret_id: {client_id, client_secret}}` (local);
//! 2. `NAVER_CLIENT_ID` + `NAVER_CLIENT_SECRET` — one application for every account (local);
//! 3. otherwise AWS Secrets Manager: the secret named by the event's `account.secret_id`, a
//!    JSON string `{"client_id", "client_secret"}`, cached for warm invocations.
//!
//! Each is an own-store application (`type=SELF`, no `account_id`) unless it asks for agency
//! mode: `"mode": "agency"` with `"account_id"` in a file entry or secret,
//! `NAVER_AGENCY_ACCOUNT_ID` with the variables.
//!
//! Secrets never reach a log line or an error message: parse errors say only where they failed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ordersync_aws::secrets::{SecretError, SecretReader};
use ordersync_core::errors::{ErrorName, StepError};
use ordersync_core::request::AccountRef;

use crate::config::CredentialSource;
use ordersync_naver::config::RawCredentials;
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
        let credentials = parse_secret(&account.secret_id, &secret)?;
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(
            account.secret_id.clone(),
            (credentials.clone(), Instant::now()),
        );
        Ok(credentials)
    }
}

/// A secret's credentials, checked: `{"client_id", "client_secret"}` for an own-store
/// application, plus `"mode": "agency"` and `"account_id"` for an agency one. An empty
/// `account_id`, or one without agency mode, is refused here, never sent to NAVER.
fn parse_secret(secret_id: &str, secret: &str) -> Result<Credentials, StepError> {
    // serde's message may quote the secret: say only what was expected.
    let raw: RawCredentials = serde_json::from_str(secret).map_err(|_| {
        StepError::new(
            ErrorName::Config,
            format!("secret `{secret_id}` is not a JSON string with client_id and client_secret"),
        )
    })?;
    Credentials::try_from(raw)
        .map_err(|e| StepError::new(ErrorName::Config, format!("secret `{secret_id}`: {e}")))
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

#[cfg(test)]
mod tests {
    use super::*;
    use ordersync_naver::Access;

    const SECRET: &str = "$2a$04$abcdefghijklmnopqrstuv";

    #[test]
    fn a_secret_is_checked_before_any_call_and_never_quoted() {
        let own = parse_secret(
            "s",
            &format!(r#"{{"client_id": "app", "client_secret": "{SECRET}"}}"#),
        )
        .unwrap();
        assert_eq!(own.access, Access::OwnStore);
        for (text, why) in [
            (
                format!(r#"{{"client_id": "app", "client_secret": "{SECRET}", "account_id": ""}}"#),
                "account_id is empty",
            ),
            (
                format!(
                    r#"{{"client_id": "app", "client_secret": "{SECRET}", "account_id": "ncp_1"}}"#
                ),
                "without \"mode\": \"agency\"",
            ),
            (
                format!(r#"{{"client_id": 7, "client_secret": "{SECRET}"}}"#),
                "not a JSON string",
            ),
        ] {
            let error = parse_secret("shops/a", &text).unwrap_err();
            assert_eq!(error.name, ErrorName::Config, "{text}");
            assert!(error.message.contains("secret `shops/a`"), "{error}");
            assert!(error.message.contains(why), "{why}: {error}");
            assert!(!error.message.contains("abcdefghij"), "{error}");
        }
    }
}
