//! [`AnyStore`]: the payload store chosen at run time from a [`StoreConfig`] — `s3://bucket/
//! prefix` (S3) or a local directory — as every function (`ORDERSYNC_STORE`) and `ordersync
//! run` (`--store`) pick it.

use ordersync_core::config::{ConfigError, Env};
use ordersync_core::payload::PayloadError;
use ordersync_core::store::{DirStore, Store, StoreError, Version};

use crate::s3::S3Store;

/// A store chosen at run time.
pub enum AnyStore {
    S3(S3Store),
    Dir(DirStore),
}

impl AnyStore {
    /// Opens the store `config` names: `s3://bucket/prefix` → S3, anything else → a local
    /// directory (created if missing).
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        match config.location.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                Ok(AnyStore::S3(
                    S3Store::connect(
                        bucket,
                        prefix,
                        config.s3_path_style,
                        config.kms_key_id.clone(),
                    )
                    .await?,
                ))
            }
            None => Ok(AnyStore::Dir(DirStore::new(&config.location)?)),
        }
    }
}

/// Where payload objects go, read once from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// `ORDERSYNC_STORE`: `s3://bucket/prefix` or a directory.
    pub location: String,
    /// `ORDERSYNC_S3_PATH_STYLE`: the bucket in the path, for S3-compatible servers.
    pub s3_path_style: bool,
    /// `ORDERSYNC_S3_KMS_KEY_ID`: SSE-KMS with this key instead of SSE-S3.
    pub kms_key_id: Option<String>,
}

impl StoreConfig {
    /// Reads `ORDERSYNC_STORE` (required) and the S3 settings.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let location = env.var(STORE_ENV).ok_or_else(|| {
            ConfigError::new(STORE_ENV, "is not set (s3://bucket/prefix or a directory)")
        })?;
        Ok(StoreConfig::at(env, &location))
    }

    /// The store at `location` (a local tool's flag or default) with the S3 settings from
    /// `env`; `ORDERSYNC_STORE` is not read.
    pub fn at(env: &dyn Env, location: &str) -> Self {
        StoreConfig {
            location: location.to_owned(),
            s3_path_style: env.var("ORDERSYNC_S3_PATH_STYLE").is_some_and(|v| {
                matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes")
            }),
            kms_key_id: env.var("ORDERSYNC_S3_KMS_KEY_ID"),
        }
    }
}

const STORE_ENV: &str = "ORDERSYNC_STORE";

impl Store for AnyStore {
    fn uri(&self, key: &str) -> String {
        match self {
            AnyStore::S3(s) => s.uri(key),
            AnyStore::Dir(d) => d.uri(key),
        }
    }

    fn key_of(&self, uri: &str) -> Result<String, PayloadError> {
        match self {
            AnyStore::S3(s) => s.key_of(uri),
            AnyStore::Dir(d) => d.key_of(uri),
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        match self {
            AnyStore::S3(s) => s.put(key, body).await,
            AnyStore::Dir(d) => d.put(key, body).await,
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            AnyStore::S3(s) => s.get(key).await,
            AnyStore::Dir(d) => d.get(key).await,
        }
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        match self {
            AnyStore::S3(s) => s.get_versioned(key).await,
            AnyStore::Dir(d) => d.get_versioned(key).await,
        }
    }

    async fn put_if_absent(&self, key: &str, body: Vec<u8>) -> Result<Option<Version>, StoreError> {
        match self {
            AnyStore::S3(s) => s.put_if_absent(key, body).await,
            AnyStore::Dir(d) => d.put_if_absent(key, body).await,
        }
    }

    async fn put_if_match(
        &self,
        key: &str,
        body: Vec<u8>,
        expected: &Version,
    ) -> Result<Option<Version>, StoreError> {
        match self {
            AnyStore::S3(s) => s.put_if_match(key, body, expected).await,
            AnyStore::Dir(d) => d.put_if_match(key, body, expected).await,
        }
    }

    async fn delete_if_match(&self, key: &str, expected: &Version) -> Result<bool, StoreError> {
        match self {
            AnyStore::S3(s) => s.delete_if_match(key, expected).await,
            AnyStore::Dir(d) => d.delete_if_match(key, expected).await,
        }
    }
}
