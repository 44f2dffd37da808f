//! Where payload objects live: one small [`Store`] trait and its local-directory adapter
//! ([`dir::DirStore`], the default for local runs). The S3 adapter, and `AnyStore` that picks
//! one from configuration (`ORDERSYNC_STORE`), are `ordersync-aws`'s: a crate that only needs
//! the trait does not link the AWS SDK.
//!
//! The store moves whole objects by key and knows nothing of their format; [`write_object`] and
//! [`read_object`] tie it to [`crate::payload`] and [`ObjectRef`]s.
//!
//! Besides plain put/get, the store offers conditional operations on small coordination objects
//! (see [`crate::lease`]): create-if-absent, compare-and-swap against a [`Version`], and
//! delete-if-unchanged. How atomic each one is depends on the adapter; see [`dir`] and
//! `ordersync_aws::s3`.

pub mod dir;

use std::future::Future;

use crate::errors::{Classify, ErrorName};
use crate::payload::{Encoded, PayloadError, PayloadSchema};
use crate::refs::ObjectRef;

pub use dir::DirStore;

/// Whole-object storage by key.
pub trait Store: Send + Sync {
    /// The URI recorded in references for `key`.
    fn uri(&self, key: &str) -> String;

    /// The key a reference's URI names, if the URI belongs to this store. A reference to any
    /// other bucket or directory is refused, so an event cannot make a stage read elsewhere.
    fn key_of(&self, uri: &str) -> Result<String, PayloadError>;

    /// Stores `body` at `key`, replacing what was there (a rerun overwrites its own objects).
    fn put(&self, key: &str, body: Vec<u8>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The object at `key`, or `None` when there is none.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;

    /// The object at `key` with the [`Version`] it was read at, or `None` when there is none.
    fn get_versioned(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<(Vec<u8>, Version)>, StoreError>> + Send;

    /// Creates `key` with `body` only if no object is there. `Some(version)` of the new object
    /// when it was created, `None` when an object already existed (nothing was written).
    fn put_if_absent(
        &self,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<Option<Version>, StoreError>> + Send;

    /// Replaces `key` with `body` only if the object there is still at `expected`
    /// (compare-and-swap). `Some(version)` of the new object on success, `None` when the object
    /// changed or is gone (nothing was written).
    fn put_if_match(
        &self,
        key: &str,
        body: Vec<u8>,
        expected: &Version,
    ) -> impl Future<Output = Result<Option<Version>, StoreError>> + Send;

    /// Deletes `key` only if the object there is still at `expected`. `true` when it was
    /// deleted, `false` when it changed or was already gone.
    fn delete_if_match(
        &self,
        key: &str,
        expected: &Version,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// An opaque token naming one stored state of an object, for the conditional operations of
/// [`Store`]: the ETag on S3, a content hash (plus inode on Unix) in a directory.
///
/// Like an S3 ETag, it is derived from the content: rewriting identical bytes may give the same
/// version again. Writers that need every write to be distinguishable (leases do) put a fresh
/// nonce in each body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    /// Wraps a token as the store produced it (for adapters; callers only compare versions).
    pub fn new(token: impl Into<String>) -> Self {
        Version(token.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A store failure, classified for retry.
#[derive(Debug, thiserror::Error)]
#[error("store {op} of {key} failed: {detail}")]
pub struct StoreError {
    pub op: &'static str,
    pub key: String,
    pub kind: StoreErrorKind,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// Network, timeout, throttling, 5xx: may pass.
    Transient,
    /// Access denied, no such bucket, bad credentials, unwritable directory: configuration.
    Denied,
    /// Anything else: a bug or an unexpected answer.
    Other,
}

impl Classify for StoreError {
    fn error_name(&self) -> ErrorName {
        match self.kind {
            StoreErrorKind::Transient => ErrorName::Store,
            StoreErrorKind::Denied => ErrorName::Config,
            StoreErrorKind::Other => ErrorName::Internal,
        }
    }
}

/// Reading an object by reference fails either in the store or in the payload.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Payload(#[from] PayloadError),
}

impl Classify for ReadError {
    fn error_name(&self) -> ErrorName {
        match self {
            ReadError::Store(e) => e.error_name(),
            ReadError::Payload(e) => e.error_name(),
        }
    }
}

/// Stores an encoded object and returns its reference.
pub async fn write_object<S: PayloadSchema>(
    store: &impl Store,
    key: &str,
    encoded: Encoded,
) -> Result<ObjectRef, StoreError> {
    let reference = encoded.reference::<S>(store.uri(key));
    store.put(key, encoded.bytes).await?;
    Ok(reference)
}

/// Fetches the bytes a reference points at. Check them with [`crate::payload::open`].
pub async fn read_object(store: &impl Store, reference: &ObjectRef) -> Result<Vec<u8>, ReadError> {
    let key = store.key_of(&reference.uri)?;
    store.get(&key).await?.ok_or_else(|| {
        PayloadError::Missing {
            uri: reference.uri.clone(),
        }
        .into()
    })
}
