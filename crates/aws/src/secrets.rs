//! Reading one secret string from AWS Secrets Manager, with one classification of what can go
//! wrong. Import (NAVER application credentials) and insert (the Google service-account key)
//! both read through [`SecretReader`], so the same failure gets the same error name in both.
//!
//! What it does not do: parse the secret (each caller knows its shape) or cache it (import
//! caches per account, insert reads once per process). Messages name the secret id and the
//! service's error code, never the value.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata as _;
use ordersync_core::errors::{Classify, ErrorName};

/// Why a secret could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// `ResourceNotFoundException`: no secret by that id (callers decide whose mistake that is).
    #[error("secret `{id}` does not exist in Secrets Manager")]
    NotFound { id: String },
    /// Not ours to read, not decryptable, a malformed request: configuration, which a retry
    /// cannot fix.
    #[error("cannot read secret `{id}` from Secrets Manager ({code})")]
    Refused { id: String, code: String },
    /// Throttling, `InternalServiceError`, the network (no answer at all): may pass, so the
    /// state machine retries it.
    #[error("cannot read secret `{id}` from Secrets Manager ({code})")]
    Unavailable { id: String, code: String },
    /// The secret holds binary data only.
    #[error("secret `{id}` has no string value")]
    NotText { id: String },
}

impl SecretError {
    /// The error for a failed `GetSecretValue` of `id`, from the service's error code (`None`
    /// when the call never got an answer: DNS, connect, timeout).
    pub fn from_code(id: &str, code: Option<&str>) -> SecretError {
        let id = id.to_owned();
        match code {
            Some("ResourceNotFoundException") => SecretError::NotFound { id },
            Some(
                code @ ("AccessDeniedException"
                | "DecryptionFailure"
                | "InvalidRequestException"
                | "InvalidParameterException"
                | "UnrecognizedClientException"
                | "InvalidSignatureException"),
            ) => SecretError::Refused {
                id,
                code: code.to_owned(),
            },
            other => SecretError::Unavailable {
                id,
                code: other.unwrap_or("no answer").to_owned(),
            },
        }
    }
}

impl Classify for SecretError {
    fn error_name(&self) -> ErrorName {
        match self {
            SecretError::NotFound { .. }
            | SecretError::Refused { .. }
            | SecretError::NotText { .. } => ErrorName::Config,
            SecretError::Unavailable { .. } => ErrorName::Upstream,
        }
    }
}

/// Reads secret strings through one Secrets Manager client.
#[derive(Debug, Clone)]
pub struct SecretReader {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretReader {
    /// A reader on `client`.
    pub fn new(client: aws_sdk_secretsmanager::Client) -> SecretReader {
        SecretReader { client }
    }

    /// A reader configured from the environment ([`crate::config::load`]).
    pub async fn from_env() -> SecretReader {
        SecretReader::new(aws_sdk_secretsmanager::Client::new(
            &crate::config::load().await,
        ))
    }

    /// The current string value of secret `id`.
    pub async fn read(&self, id: &str) -> Result<String, SecretError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| SecretError::from_code(id, e.code()))?;
        output
            .secret_string()
            .map(str::to_owned)
            .ok_or_else(|| SecretError::NotText { id: id.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_failures_are_not_retried_and_the_rest_are() {
        for code in [
            "ResourceNotFoundException",
            "AccessDeniedException",
            "DecryptionFailure",
            "InvalidRequestException",
            "InvalidParameterException",
            "UnrecognizedClientException",
            "InvalidSignatureException",
        ] {
            assert_eq!(
                SecretError::from_code("s", Some(code)).error_name(),
                ErrorName::Config,
                "{code}"
            );
        }
        for code in [
            Some("ThrottlingException"),
            Some("InternalServiceError"),
            None,
        ] {
            let error = SecretError::from_code("s", code);
            assert!(error.error_name().retryable(), "{code:?}");
            assert!(error.to_string().contains("`s`"), "{error}");
        }
    }
}
