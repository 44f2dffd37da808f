//! The transform function's configuration, read once per process from an [`Env`]: only where
//! the payload objects live (it calls no other service).

use ordersync_aws::store::StoreConfig;
use ordersync_core::config::{ConfigError, Env};

/// Everything the transform function reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformConfig {
    pub store: StoreConfig,
}

impl TransformConfig {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        Ok(TransformConfig {
            store: StoreConfig::from_env(env)?,
        })
    }
}
