//! The one table of Step Functions error names.
//!
//! Every failure a Lambda reports is turned into a [`StepError`], whose [`ErrorName`] becomes the
//! `errorType` Step Functions matches in `Retry`/`Catch` (exactly, case-sensitively). The ASL and
//! the README list the same names; a test keeps the three in step.
//!
//! This module does not decide *which* error a library failure is: each library error type
//! implements [`Classify`] for that, next to the code that knows the failure.
//!
//! The rule: libraries return their own `thiserror` enums (`NaverError`, `SheetsError`,
//! `InsertError`, `TransformError`, `SecretError`, `ConfigError`, `InvalidInput`, …) and never
//! build a [`StepError`] deep inside. A `StepError` is made only at a stage handler's boundary
//! (the `?` that turns a classified error into the invocation's answer) and at the few trait
//! boundaries the stages share (`Source`, `CredentialStore`, `WriteGuard`). The caller's input
//! (`request::InvalidInput`, `Ordersync.InvalidInput`) and the function's configuration
//! (`config::ConfigError`, `Ordersync.Config`) are two types, not one type with a flag.

use std::fmt;

/// A stable error name, as Step Functions sees it (`errorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorName {
    /// The execution input or a stage event is malformed or breaks a rule.
    InvalidInput,
    /// A payload object is missing, truncated, corrupted or of the wrong schema.
    Payload,
    /// The function's configuration (environment, secrets, bucket access) is wrong.
    Config,
    /// Credentials were refused or the caller is not allowed (e.g. unregistered IP).
    Auth,
    /// An upstream API rate limit or quota held past the retry budget.
    RateLimited,
    /// NAVER holds the application to its hourly penalty quota (1 call per hour): retrying
    /// for hours cannot help, so the run stops and says what to fix.
    QuotaPenalty,
    /// An upstream API failed in a way that may pass (5xx, timeout, connection reset).
    Upstream,
    /// The payload store failed in a way that may pass (5xx, throttling, network).
    Store,
    /// Another execution holds the lease on the target sheet tab.
    Busy,
    /// An import saved its place in a window too large for one invocation (its change feed
    /// stopped at a page boundary before the Lambda deadline); the retry goes on from there.
    /// Not a fault: Step Functions' retry is the loop that continues the window.
    Continue,
    /// The target sheet cannot take the write (structure or size limits).
    Sheet,
    /// A broken internal invariant: a bug, not bad data.
    Internal,
}

impl ErrorName {
    /// Every name, in the order the README table lists them.
    pub const ALL: [ErrorName; 12] = [
        ErrorName::InvalidInput,
        ErrorName::Payload,
        ErrorName::Config,
        ErrorName::Auth,
        ErrorName::RateLimited,
        ErrorName::QuotaPenalty,
        ErrorName::Upstream,
        ErrorName::Store,
        ErrorName::Busy,
        ErrorName::Continue,
        ErrorName::Sheet,
        ErrorName::Internal,
    ];

    /// The exact string Step Functions matches.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorName::InvalidInput => "Ordersync.InvalidInput",
            ErrorName::Payload => "Ordersync.Payload",
            ErrorName::Config => "Ordersync.Config",
            ErrorName::Auth => "Ordersync.Auth",
            ErrorName::RateLimited => "Ordersync.RateLimited",
            ErrorName::QuotaPenalty => "Ordersync.QuotaPenalty",
            ErrorName::Upstream => "Ordersync.Upstream",
            ErrorName::Store => "Ordersync.Store",
            ErrorName::Busy => "Ordersync.Busy",
            ErrorName::Continue => "Ordersync.Continue",
            ErrorName::Sheet => "Ordersync.Sheet",
            ErrorName::Internal => "Ordersync.Internal",
        }
    }

    /// Whether the state machine retries a state that failed with this name. Retrying a
    /// non-retryable name would only repeat the failure (bad input stays bad).
    pub const fn retryable(self) -> bool {
        matches!(
            self,
            ErrorName::RateLimited
                | ErrorName::Upstream
                | ErrorName::Store
                | ErrorName::Busy
                | ErrorName::Continue
        )
    }

    /// One line for operators: what the name means and what to do.
    pub const fn meaning(self) -> &'static str {
        match self {
            ErrorName::InvalidInput => {
                "The execution input or a stage event is invalid; fix the input and start a new execution."
            }
            ErrorName::Payload => {
                "A payload object is missing, truncated, corrupted or has the wrong schema; rerun the execution from the start."
            }
            ErrorName::Config => {
                "Configuration is wrong (environment variable, secret, bucket access); fix it, then redrive."
            }
            ErrorName::Auth => {
                "Credentials were refused or the caller is not allowed (e.g. unregistered egress IP); fix, then redrive."
            }
            ErrorName::RateLimited => {
                "An upstream rate limit or quota outlasted the retry budget; retried later by the state machine."
            }
            ErrorName::QuotaPenalty => {
                "NAVER limits the application to 1 call per hour after a non-conforming token request by any tool using it; fix that tool, then redrive after a clean day."
            }
            ErrorName::Upstream => {
                "An upstream API failed transiently (5xx, timeout, reset); retried by the state machine."
            }
            ErrorName::Store => {
                "The payload store failed transiently (5xx, throttling, network); retried by the state machine."
            }
            ErrorName::Busy => {
                "Another execution is writing the same sheet tab; retried by the state machine after a wait."
            }
            ErrorName::Continue => {
                "An import saved its place in a window too large for one invocation; the state machine's retry continues from there (a redrive too, if the retries ran out)."
            }
            ErrorName::Sheet => {
                "The target sheet cannot take the write (header or size limits); fix the sheet, then redrive."
            }
            ErrorName::Internal => "A bug in ordersync; report it with the execution name.",
        }
    }

    /// Reverse of [`ErrorName::as_str`].
    pub fn parse(name: &str) -> Option<ErrorName> {
        ErrorName::ALL.into_iter().find(|n| n.as_str() == name)
    }
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A library error that knows its Step Functions name.
pub trait Classify: std::error::Error {
    fn error_name(&self) -> ErrorName;
}

/// The error a stage handler returns: a stable name plus a message for the operator.
///
/// The message comes from the library error's `Display`, which by construction never contains
/// credentials or customer data (those types only quote field names, ids, counts and codes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct StepError {
    pub name: ErrorName,
    pub message: String,
}

impl StepError {
    pub fn new(name: ErrorName, message: impl Into<String>) -> Self {
        StepError {
            name,
            message: message.into(),
        }
    }
}

impl<E: Classify> From<E> for StepError {
    fn from(error: E) -> Self {
        StepError::new(error.error_name(), error.to_string())
    }
}

/// What the Lambda runtime reports for a failed invocation: `errorType` is the stable name the
/// ASL's retriers match. Behind the `lambda` feature, so crates that are not a Lambda do not
/// link the runtime.
#[cfg(feature = "lambda")]
impl From<StepError> for lambda_runtime::Diagnostic {
    fn from(error: StepError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.name.as_str().to_owned(),
            error_message: error.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_prefixed_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for name in ErrorName::ALL {
            assert!(name.as_str().starts_with("Ordersync."), "{name}");
            assert!(!name.as_str().starts_with("States."), "{name}");
            assert!(seen.insert(name.as_str()), "duplicate {name}");
            assert_eq!(ErrorName::parse(name.as_str()), Some(name));
        }
        assert_eq!(
            ErrorName::parse("ordersync.payload"),
            None,
            "names are case-sensitive"
        );
    }

    #[cfg(feature = "lambda")]
    #[test]
    fn diagnostic_carries_the_stable_name() {
        let d: lambda_runtime::Diagnostic =
            StepError::new(ErrorName::Busy, "tab is leased by run-1").into();
        assert_eq!(d.error_type, "Ordersync.Busy");
        assert_eq!(d.error_message, "tab is leased by run-1");
    }

    #[test]
    fn only_transient_names_are_retryable() {
        let retryable: Vec<_> = ErrorName::ALL
            .into_iter()
            .filter(|n| n.retryable())
            .map(ErrorName::as_str)
            .collect();
        assert_eq!(
            retryable,
            [
                "Ordersync.RateLimited",
                "Ordersync.Upstream",
                "Ordersync.Store",
                "Ordersync.Busy",
                "Ordersync.Continue"
            ]
        );
    }
}
