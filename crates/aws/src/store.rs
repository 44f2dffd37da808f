//! [`AnyStore`]: the payload store chosen at run time from a location — `s3://bucket/prefix`
//! (S3, configured from the environment) or a local directory — as every function and
//! `ordersync run` pick it from `ORDERSYNC_STORE`.

use ordersync_core::payload::PayloadError;
use ordersync_core::store::{DirStore, Store, StoreError, StoreErrorKind, Version};

use crate::s3::S3Store;

/// A store chosen at run time.
pub enum AnyStore {
    S3(S3Store),
    Dir(DirStore),
}

impl AnyStore {
    /// `s3://bucket/prefix` → S3 (configured from the environment), anything else → a local
    /// directory (created if missing).
    pub async fn from_location(location: &str) -> Result<Self, StoreError> {
        match location.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                Ok(AnyStore::S3(S3Store::from_env(bucket, prefix).await?))
            }
            None => Ok(AnyStore::Dir(DirStore::new(location)?)),
        }
    }

    /// Reads `ORDERSYNC_STORE` (required in Lambda; local tools pass their own default).
    pub async fn from_env(default: Option<&str>) -> Result<Self, StoreError> {
        let location = std::env::var("ORDERSYNC_STORE")
            .ok()
            .or(default.map(str::to_owned))
            .ok_or_else(|| StoreError {
                op: "configure",
                key: "ORDERSYNC_STORE".into(),
                kind: StoreErrorKind::Denied,
                detail: "not set (s3://bucket/prefix or a directory)".into(),
            })?;
        AnyStore::from_location(&location).await
    }
}

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
