//! The insert function's configuration, read once per process from an [`Env`]: the store, the
//! Sheets client settings, the lease and where the service-account key is. Reading the key and
//! building the clients is `main`'s (and `ordersync-local`'s) job.

use ordersync_aws::store::StoreConfig;
use ordersync_core::config::Env;
use ordersync_core::errors::StepError;
use ordersync_core::lease::LeaseConfig;
use ordersync_sheets::SheetsConfig;

use crate::key::KeySource;

/// Everything the insert function reads from its environment.
#[derive(Debug, Clone)]
pub struct InsertConfig {
    pub store: StoreConfig,
    pub settings: InsertSettings,
}

/// Everything but the store: what a local run (which names its own, `ordersync run --store`)
/// reads too.
#[derive(Debug, Clone)]
pub struct InsertSettings {
    pub sheets: SheetsConfig,
    pub lease: LeaseConfig,
    pub key: KeySource,
}

impl InsertConfig {
    /// The Lambda's configuration: `ORDERSYNC_STORE` is required.
    pub fn from_env(env: &dyn Env) -> Result<Self, StepError> {
        Ok(InsertConfig {
            store: StoreConfig::from_env(env)?,
            settings: InsertSettings::from_env(env)?,
        })
    }
}

impl InsertSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, StepError> {
        Ok(InsertSettings {
            sheets: SheetsConfig::from_env(env)?,
            lease: LeaseConfig::from_env(env)?,
            key: KeySource::from_env(env)?,
        })
    }
}
