//! What can go wrong talking to NAVER, each carrying NAVER's code and trace id, and how each
//! maps onto the pipeline's error names. Messages never include tokens, secrets or order data.

use ordersync_core::errors::{Classify, ErrorName};

/// NAVER's identifiers for one failed exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub status: Option<u16>,
    pub code: Option<String>,
    pub trace_id: Option<String>,
}

impl std::fmt::Display for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(s) = self.status {
            parts.push(format!("HTTP {s}"));
        }
        if let Some(c) = &self.code {
            parts.push(format!("code {c}"));
        }
        if let Some(t) = &self.trace_id {
            parts.push(format!("trace {t}"));
        }
        if parts.is_empty() {
            f.write_str("no response")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NaverError {
    #[error(
        "NAVER refused the calling IP address (GW.IP_NOT_ALLOWED; {trace}): register this function's egress IP for the application in the NAVER Commerce API Center"
    )]
    IpNotAllowed { trace: Trace },
    #[error("NAVER refused the credentials ({trace}): {message}")]
    Auth { trace: Trace, message: String },
    #[error(
        "NAVER rate limit or quota still exceeded after retrying until the time budget ran out ({trace})"
    )]
    RateLimited { trace: Trace },
    #[error("NAVER failed transiently and retries ran out of time ({trace}): {message}")]
    Upstream { trace: Trace, message: String },
    #[error("NAVER rejected the request ({trace}): {message}")]
    Rejected { trace: Trace, message: String },
    #[error("NAVER client configuration: {0}")]
    Config(String),
}

impl Classify for NaverError {
    fn error_name(&self) -> ErrorName {
        match self {
            NaverError::IpNotAllowed { .. } | NaverError::Auth { .. } => ErrorName::Auth,
            NaverError::RateLimited { .. } => ErrorName::RateLimited,
            NaverError::Upstream { .. } => ErrorName::Upstream,
            // A 4xx that is not about auth or limits means our request was wrong: retrying the
            // same request cannot help, and the message says what NAVER objected to.
            NaverError::Rejected { .. } => ErrorName::InvalidInput,
            NaverError::Config(_) => ErrorName::Config,
        }
    }
}
