//! The import function's configuration, read once per process from an [`Env`]: the store, the
//! plan limits, the NAVER client settings and where NAVER credentials come from. Building the
//! clients from it is `main`'s (and `ordersync-local`'s) job; nothing here does I/O.

use std::path::PathBuf;

use ordersync_aws::store::StoreConfig;
use ordersync_core::config::Env;
use ordersync_core::errors::StepError;
use ordersync_core::plan::PlanConfig;
use ordersync_naver::NaverConfig;
use ordersync_naver::source::EnvCredentials;

/// Where NAVER application credentials come from, in this order of precedence.
#[derive(Clone)]
pub enum CredentialSource {
    /// `NAVER_CREDENTIALS_FILE`: a JSON map `{secret_id: {client_id, client_secret}}` (local).
    File(PathBuf),
    /// `NAVER_CLIENT_ID` + `NAVER_CLIENT_SECRET` (+ `NAVER_AGENCY_ACCOUNT_ID`): one application for
    /// every account (local).
    Env(EnvCredentials),
    /// Neither: the Secrets Manager secret each request's `account.secret_id` names (Lambda).
    SecretsManager,
}

impl CredentialSource {
    pub fn from_env(env: &dyn Env) -> CredentialSource {
        let file = env.var("NAVER_CREDENTIALS_FILE");
        let from_env = EnvCredentials::from_env(env);
        match (file, from_env) {
            (Some(path), _) => CredentialSource::File(path.into()),
            (None, Some(credentials)) => CredentialSource::Env(credentials),
            (None, None) => CredentialSource::SecretsManager,
        }
    }
}

/// Everything the import function reads from its environment.
pub struct ImportConfig {
    pub store: StoreConfig,
    pub settings: ImportSettings,
}

/// Everything but the store: what a local run (which names its own, `ordersync run --store`)
/// reads too.
pub struct ImportSettings {
    pub plan: PlanConfig,
    /// The client settings for one client that has the application's whole rate; the Lambda
    /// divides it by the Map's concurrency ([`NaverConfig::shared_by`]).
    pub naver: NaverConfig,
    pub credentials: CredentialSource,
}

impl ImportConfig {
    /// The Lambda's configuration: `ORDERSYNC_STORE` is required.
    pub fn from_env(env: &dyn Env) -> Result<Self, StepError> {
        Ok(ImportConfig {
            store: StoreConfig::from_env(env)?,
            settings: ImportSettings::from_env(env)?,
        })
    }
}

impl ImportSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, StepError> {
        Ok(ImportSettings {
            plan: PlanConfig::from_env(env)?,
            naver: NaverConfig::from_env(env)?,
            credentials: CredentialSource::from_env(env),
        })
    }
}
