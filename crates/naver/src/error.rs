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

/// "1 call", "2 calls".
fn calls(n: &u64) -> String {
    match n {
        1 => "1 call".to_owned(),
        n => format!("{n} calls"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NaverError {
    #[error(
        "NAVER refused the calling IP address (GW.IP_NOT_ALLOWED; {trace}): register the Elastic IP of the NAT gateway this function calls out through (the stack's output `EgressIp`) for the application in the NAVER Commerce API Center. NAVER recommends a Korean region and a Korean static IP (deploy the stack in ap-northeast-2, Seoul): addresses outside Korea may be refused even where a token request succeeds"
    )]
    IpNotAllowed { trace: Trace },
    /// NAVER's hourly penalty (reference §3): the whole application may make `limit` calls
    /// per hour, for a day or more. Retrying cannot outlast it, so the run stops at once.
    #[error(
        "NAVER limits this application to {} per hour ({trace}; GNCP-GW-Quota-Period HOURS, none remaining). NAVER does this from the day after any token request for this application broke the token spec, sent by any tool or script that uses the same application, not only ordersync: parameters in the query string instead of a form body, a content type other than application/x-www-form-urlencoded, no grant_type=client_credentials, an account_id with type=SELF, or type=SELLER from an own-store application. Check every tool that uses this application and fix or stop the one that does this. NAVER lifts the limit after a day without such a request (the next day at the earliest, two weeks at the latest); retrying sooner only spends the hour's call, so redrive this execution once it is lifted",
        calls(.limit)
    )]
    QuotaPenalty { trace: Trace, limit: u64 },
    /// `503 GW.BLOCK.02`, NAVER's planned maintenance, which can last hours.
    #[error(
        "NAVER is under planned maintenance ({trace}), which can last hours: the call stopped instead of retrying fast. The state machine retries it; if the maintenance outlasts those retries, redrive the execution once NAVER's notice says it is over"
    )]
    Maintenance { trace: Trace },
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
            NaverError::QuotaPenalty { .. } => ErrorName::QuotaPenalty,
            // Transient like any other outage: the state machine's retries (seconds to a
            // minute apart) and a later redrive are the slow loop a maintenance needs.
            NaverError::Upstream { .. } | NaverError::Maintenance { .. } => ErrorName::Upstream,
            // A 4xx that is not about auth or limits means our request was wrong: retrying the
            // same request cannot help, and the message says what NAVER objected to.
            NaverError::Rejected { .. } => ErrorName::InvalidInput,
            NaverError::Config(_) => ErrorName::Config,
        }
    }
}
