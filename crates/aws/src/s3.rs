//! The S3 store, through aws-sdk-s3.
//!
//! Configured like every AWS SDK client (region, credentials, and `AWS_ENDPOINT_URL_S3` /
//! `AWS_ENDPOINT_URL` for S3-compatible servers), plus `ORDERSYNC_S3_PATH_STYLE=true` for servers
//! that want the bucket in the path. Every put asks for server-side encryption: SSE-KMS with
//! `ORDERSYNC_S3_KMS_KEY_ID` when set, SSE-S3 (AES256) otherwise.
//!
//! Conditional operations use S3's own preconditions, which S3 evaluates atomically:
//! `If-None-Match: *` on PutObject (create only), `If-Match: <etag>` on PutObject
//! (compare-and-swap) and on DeleteObject. [`Version`]s are ETags, quotes included. A
//! `409 ConditionalRequestConflict` (another conditional write raced ours) is retried once and
//! then reported as transient. `delete_if_match` first checks the ETag with HeadObject and then
//! sends DeleteObject with `If-Match`: on S3 the delete itself is conditional, while servers that
//! ignore `If-Match` on delete (s3s-fs 0.14.1 does) are left with a check-then-delete race as
//! wide as one round trip. s3s-fs also checks put preconditions before writing rather than
//! atomically with it, so two racing conditional puts can both succeed there; real S3 does not.
//!
//! TLS uses rustls with the ring provider ([`crate::config::https_client`]), the same one the
//! Google client uses, so a binary links exactly one crypto provider.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use ordersync_core::payload::PayloadError;
use ordersync_core::store::{Store, StoreError, StoreErrorKind, Version};

pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    kms_key_id: Option<String>,
}

impl S3Store {
    /// Builds a client on the process-wide AWS configuration ([`crate::config::load`]) with
    /// the store's own settings (see the module docs).
    pub async fn connect(
        bucket: &str,
        prefix: &str,
        path_style: bool,
        kms_key_id: Option<String>,
    ) -> Result<Self, StoreError> {
        let shared = crate::config::load().await;
        let conf = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(path_style)
            .build();
        S3Store::new(
            aws_sdk_s3::Client::from_conf(conf),
            bucket,
            prefix,
            kms_key_id,
        )
    }

    /// Wraps a ready client. `prefix` is prepended to every key (a trailing `/` is added).
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: &str,
        prefix: &str,
        kms_key_id: Option<String>,
    ) -> Result<Self, StoreError> {
        // Bucket naming rules, enough to keep URIs unambiguous.
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(StoreError {
                op: "configure",
                key: "ORDERSYNC_STORE".into(),
                kind: StoreErrorKind::Denied,
                detail: format!("`{bucket}` is not a valid S3 bucket name"),
            });
        }
        let prefix = match prefix.trim_matches('/') {
            "" => String::new(),
            p => format!("{p}/"),
        };
        Ok(S3Store {
            client,
            bucket: bucket.to_owned(),
            prefix,
            kms_key_id,
        })
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// GetObject: the body and the ETag S3 sent, or `None` when there is no such key.
    async fn fetch(
        &self,
        op: &'static str,
        key: &str,
    ) -> Result<Option<(Vec<u8>, Option<String>)>, StoreError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Ok(None),
            Err(e) => return Err(classify(op, key, e)),
        };
        let e_tag = output.e_tag().map(str::to_owned);
        let body = output.body.collect().await.map_err(|_| StoreError {
            op,
            key: key.to_owned(),
            kind: StoreErrorKind::Transient,
            detail: "connection lost while reading the object".into(),
        })?;
        Ok(Some((body.into_bytes().to_vec(), e_tag)))
    }

    /// A PutObject for `key` with the encryption every write asks for.
    fn put_request(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .content_type(content_type)
            .body(ByteStream::from(body));
        match &self.kms_key_id {
            Some(kms) => request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(kms),
            None => request.server_side_encryption(ServerSideEncryption::Aes256),
        }
    }

    /// A conditional put: `None` when S3 refuses the precondition. `if_match` = `None` means
    /// create only (`If-None-Match: *`).
    async fn put_conditional(
        &self,
        op: &'static str,
        key: &str,
        body: Vec<u8>,
        if_match: Option<&Version>,
    ) -> Result<Option<Version>, StoreError> {
        // One retry on 409 ConditionalRequestConflict: the racing write has usually finished by
        // then, and the retry sees its result (usually as 412). A second 409 is transient.
        let mut retried = false;
        loop {
            let request = self.put_request(key, body.clone(), CONDITIONAL_CONTENT_TYPE);
            let request = match if_match {
                Some(expected) => request.if_match(expected.as_str()),
                None => request.if_none_match("*"),
            };
            match request.send().await {
                Ok(output) => return etag(op, key, output.e_tag()).map(Some),
                Err(e) if precondition_failed(&e) => return Ok(None),
                // If-Match on a missing key: S3 answers 404 NoSuchKey (s3s-fs answers 412).
                Err(e) if if_match.is_some() && status(&e) == Some(404) => return Ok(None),
                Err(e) if !retried && conditional_conflict(&e) => retried = true,
                Err(e) => return Err(classify(op, key, e)),
            }
        }
    }
}

/// Content type of objects written by the conditional operations (small coordination objects;
/// payloads go through [`Store::put`]).
const CONDITIONAL_CONTENT_TYPE: &str = "application/octet-stream";

fn status<E>(error: &SdkError<E>) -> Option<u16> {
    match error {
        SdkError::ServiceError(service) => Some(service.raw().status().as_u16()),
        _ => None,
    }
}

fn code<E: ProvideErrorMetadata>(error: &SdkError<E>) -> Option<&str> {
    match error {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

fn precondition_failed<E: ProvideErrorMetadata>(error: &SdkError<E>) -> bool {
    status(error) == Some(412) || code(error) == Some("PreconditionFailed")
}

fn conditional_conflict<E: ProvideErrorMetadata>(error: &SdkError<E>) -> bool {
    status(error) == Some(409) || code(error) == Some("ConditionalRequestConflict")
}

/// The version from a response's ETag; S3 always sends one, so a missing ETag is a server bug.
fn etag(op: &'static str, key: &str, e_tag: Option<&str>) -> Result<Version, StoreError> {
    e_tag
        .filter(|t| !t.is_empty())
        .map(Version::new)
        .ok_or_else(|| StoreError {
            op,
            key: key.to_owned(),
            kind: StoreErrorKind::Other,
            detail: "the response carries no ETag".into(),
        })
}

/// Sorts an SDK error into retryable, configuration, or other. Only codes and statuses are
/// kept in the message; S3 error bodies never hold our object contents.
fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    op: &'static str,
    key: &str,
    error: SdkError<E>,
) -> StoreError {
    let (kind, detail) = match &error {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or("unknown").to_owned();
            let kind = match (status, code.as_str()) {
                (
                    _,
                    "AccessDenied"
                    | "NoSuchBucket"
                    | "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "AllAccessDisabled"
                    | "KMS.DisabledException"
                    | "KMS.NotFoundException",
                ) => StoreErrorKind::Denied,
                (
                    _,
                    "SlowDown"
                    | "InternalError"
                    | "ServiceUnavailable"
                    | "RequestTimeout"
                    | "ConditionalRequestConflict",
                ) => StoreErrorKind::Transient,
                (401 | 403, _) => StoreErrorKind::Denied,
                (408 | 429 | 500..=599, _) => StoreErrorKind::Transient,
                _ => StoreErrorKind::Other,
            };
            (kind, format!("HTTP {status} {code}"))
        }
        SdkError::TimeoutError(_) => (StoreErrorKind::Transient, "timed out".to_owned()),
        SdkError::DispatchFailure(d) => (
            StoreErrorKind::Transient,
            if d.is_io() {
                "connection failed".to_owned()
            } else if d.is_timeout() {
                "timed out".to_owned()
            } else {
                "request could not be sent".to_owned()
            },
        ),
        SdkError::ResponseError(_) => (StoreErrorKind::Transient, "unreadable response".to_owned()),
        SdkError::ConstructionFailure(_) => (
            StoreErrorKind::Denied,
            "request could not be built (credentials or configuration)".to_owned(),
        ),
        _ => (StoreErrorKind::Other, "unexpected SDK error".to_owned()),
    };
    StoreError {
        op,
        key: key.to_owned(),
        kind,
        detail,
    }
}

impl Store for S3Store {
    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.full_key(key))
    }

    fn key_of(&self, uri: &str) -> Result<String, PayloadError> {
        uri.strip_prefix("s3://")
            .and_then(|rest| rest.strip_prefix(self.bucket.as_str()))
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|rest| rest.strip_prefix(self.prefix.as_str()))
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| PayloadError::ForeignUri {
                uri: uri.to_owned(),
            })
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        self.put_request(key, body, "application/zstd")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("put", key, e))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.fetch("get", key).await?.map(|(body, _)| body))
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        const OP: &str = "get_versioned";
        match self.fetch(OP, key).await? {
            Some((body, e_tag)) => Ok(Some((body, etag(OP, key, e_tag.as_deref())?))),
            None => Ok(None),
        }
    }

    async fn put_if_absent(&self, key: &str, body: Vec<u8>) -> Result<Option<Version>, StoreError> {
        self.put_conditional("put_if_absent", key, body, None).await
    }

    async fn put_if_match(
        &self,
        key: &str,
        body: Vec<u8>,
        expected: &Version,
    ) -> Result<Option<Version>, StoreError> {
        self.put_conditional("put_if_match", key, body, Some(expected))
            .await
    }

    async fn delete_if_match(&self, key: &str, expected: &Version) -> Result<bool, StoreError> {
        const OP: &str = "delete_if_match";
        // Check first: S3 enforces If-Match on the delete below, but a server that ignores it
        // would otherwise delete whatever is there.
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await;
        match head {
            Ok(output) if output.e_tag() == Some(expected.as_str()) => {}
            Ok(_) => return Ok(false),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => return Ok(false),
            Err(e) => return Err(classify(OP, key, e)),
        }
        let deleted = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .if_match(expected.as_str())
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(true),
            Err(e) if precondition_failed(&e) || status(&e) == Some(404) => Ok(false),
            Err(e) => Err(classify(OP, key, e)),
        }
    }
}
