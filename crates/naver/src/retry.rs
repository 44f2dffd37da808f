//! Retry policy: which NAVER answers are worth another try.
//!
//! Like vector's `RetryLogic`, the decision looks at the status *and* the body's code: NAVER
//! answers rate limits, expired tokens and unregistered IPs with distinct gateway codes. How long
//! to wait is not decided here: the client uses the shared `ordersync_core::backoff::Backoff`
//! (exponential, full jitter, never past the Lambda's remaining time).

use reqwest::header::HeaderMap;

use crate::error::{NaverError, Trace};
use crate::wire::ErrorBody;

/// NAVER's per-period quota headers (reference §3): `GNCP-GW-Quota-Period`, `-Limit` and
/// `-Remaining`. Absent on most answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quota {
    pub period: Option<String>,
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
}

impl Quota {
    pub fn from_headers(headers: &HeaderMap) -> Quota {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
        };
        let number = |name: &str| text(name).and_then(|v| v.parse().ok());
        Quota {
            period: text("GNCP-GW-Quota-Period"),
            limit: number("GNCP-GW-Quota-Limit"),
            remaining: number("GNCP-GW-Quota-Remaining"),
        }
    }

    /// The hourly penalty: period `HOURS` with nothing left. The headers decide, not the body
    /// code: they are the gateway's own account of the quota, and no retry within minutes can
    /// see a new hour's call. A `GW.QUOTA_LIMIT` of another period (the documented `SECONDS`
    /// or `ROUND` subscriber quotas) stays an ordinary rate limit.
    pub fn is_hourly_penalty(&self) -> bool {
        self.period
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("HOURS"))
            && self.remaining == Some(0)
    }
}

/// What to do with a non-2xx answer.
#[derive(Debug)]
pub enum Verdict {
    /// The token expired (`401 GW.AUTHN`): fetch a new one and try once more.
    RefreshToken,
    /// A limit was hit (`429`): wait and retry.
    RetryRateLimited,
    /// A transient failure (`5xx`, `408`): wait and retry.
    RetryTransient(String),
    /// Give up now.
    Fail(NaverError),
}

fn short(message: Option<&str>) -> String {
    message.unwrap_or("").chars().take(200).collect()
}

/// Decides on a non-2xx answer, its body and its quota headers.
pub fn classify(status: u16, body: &ErrorBody, quota: &Quota, trace: Trace) -> Verdict {
    let code = body.code();
    let message = short(body.message.as_deref());
    match (status, code.as_deref()) {
        (401, Some("GW.AUTHN")) => Verdict::RefreshToken,
        (403, Some("GW.IP_NOT_ALLOWED")) => Verdict::Fail(NaverError::IpNotAllowed { trace }),
        (401 | 403, _) => Verdict::Fail(NaverError::Auth { trace, message }),
        // Lasts a day or more: a retry loop would spend the whole Lambda budget (and the
        // state machine's retries, and every window of the Map) on it, then say "rate limited".
        (429, _) if quota.is_hourly_penalty() => Verdict::Fail(NaverError::QuotaPenalty {
            trace,
            limit: quota.limit.unwrap_or(1),
        }),
        (429, _) => Verdict::RetryRateLimited,
        // Planned maintenance lasts hours (reference §3), so our in-call backoff (300 ms
        // doubling to 10 s until the Lambda's deadline) would only poll it for up to 15
        // minutes per attempt, on every window at once. Stopping at the first answer costs
        // one call; the state machine's retrier for Ordersync.Upstream is the slower loop, and
        // a redrive after the maintenance finishes the run.
        (503, Some("GW.BLOCK.02")) => Verdict::Fail(NaverError::Maintenance { trace }),
        (408 | 500..=599, _) => Verdict::RetryTransient(message),
        (404, Some("GW.NOT_FOUND")) => Verdict::Fail(NaverError::Config(format!(
            "the API is not registered at NAVER's gateway ({trace}); check NAVER_COMMERCE_BASE_URL"
        ))),
        _ => {
            let inputs: Vec<String> = body
                .invalid_inputs
                .iter()
                .flatten()
                .map(|i| {
                    format!(
                        "{}: {}",
                        i.name.as_deref().unwrap_or("?"),
                        short(i.message.as_deref())
                    )
                })
                .collect();
            let message = if inputs.is_empty() {
                message
            } else {
                format!("{message} [{}]", inputs.join("; "))
            };
            Verdict::Fail(NaverError::Rejected { trace, message })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str) -> ErrorBody {
        serde_json::from_value(serde_json::json!({"code": code, "message": "m"})).unwrap()
    }

    fn classify(status: u16, body: &ErrorBody, trace: Trace) -> Verdict {
        super::classify(status, body, &Quota::default(), trace)
    }

    fn quota(period: &str, limit: &str, remaining: &str) -> Quota {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("GNCP-GW-Quota-Period", period),
            ("GNCP-GW-Quota-Limit", limit),
            ("GNCP-GW-Quota-Remaining", remaining),
        ] {
            headers.insert(name, value.parse().unwrap());
        }
        Quota::from_headers(&headers)
    }

    #[test]
    fn the_hourly_penalty_fails_at_once_and_other_quotas_are_retried() {
        let penalty = quota("HOURS", "1", "0");
        assert!(penalty.is_hourly_penalty());
        let Verdict::Fail(e) =
            super::classify(429, &body("GW.QUOTA_LIMIT"), &penalty, Trace::default())
        else {
            panic!("the penalty must not be retried")
        };
        assert!(
            matches!(e, NaverError::QuotaPenalty { limit: 1, .. }),
            "{e:?}"
        );
        // Another period, calls left, or no headers at all: an ordinary limit, retried.
        for other in [
            quota("ROUND", "1000", "0"),
            quota("SECONDS", "10", "0"),
            quota("HOURS", "1", "1"),
            Quota::default(),
        ] {
            assert!(!other.is_hourly_penalty(), "{other:?}");
            for code in ["GW.QUOTA_LIMIT", "GW.RATE_LIMIT"] {
                assert!(
                    matches!(
                        super::classify(429, &body(code), &other, Trace::default()),
                        Verdict::RetryRateLimited
                    ),
                    "{code} {other:?}"
                );
            }
        }
    }

    #[test]
    fn maintenance_fails_at_once_as_upstream_and_a_circuit_breaker_is_retried() {
        use ordersync_core::errors::{Classify, ErrorName};
        let Verdict::Fail(e) = classify(503, &body("GW.BLOCK.02"), Trace::default()) else {
            panic!("maintenance must not be a fast retry loop")
        };
        assert!(matches!(e, NaverError::Maintenance { .. }), "{e:?}");
        assert_eq!(e.error_name(), ErrorName::Upstream);
        assert!(matches!(
            classify(503, &body("GW.BLOCK.01"), Trace::default()),
            Verdict::RetryTransient(_)
        ));
    }

    #[test]
    fn gateway_codes_decide() {
        assert!(matches!(
            classify(401, &body("GW.AUTHN"), Trace::default()),
            Verdict::RefreshToken
        ));
        assert!(matches!(
            classify(403, &body("GW.IP_NOT_ALLOWED"), Trace::default()),
            Verdict::Fail(NaverError::IpNotAllowed { .. })
        ));
        assert!(matches!(
            classify(429, &body("GW.QUOTA_LIMIT"), Trace::default()),
            Verdict::RetryRateLimited
        ));
        assert!(matches!(
            classify(503, &body("GW.BLOCK.01"), Trace::default()),
            Verdict::RetryTransient(_)
        ));
        assert!(matches!(
            classify(400, &body("104139"), Trace::default()),
            Verdict::Fail(NaverError::Rejected { .. })
        ));
        let numeric: ErrorBody = serde_json::from_str(
            r#"{"code": 4000, "invalidInputs": [{"name": "lastChangedFrom", "message": "bad"}]}"#,
        )
        .unwrap();
        let Verdict::Fail(e) = classify(400, &numeric, Trace::default()) else {
            panic!()
        };
        assert!(e.to_string().contains("lastChangedFrom: bad"), "{e}");
    }
}
