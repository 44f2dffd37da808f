//! Retry policy: which NAVER answers are worth another try.
//!
//! Like vector's `RetryLogic`, the decision looks at the status *and* the body's code: NAVER
//! answers rate limits, expired tokens and unregistered IPs with distinct gateway codes. How long
//! to wait is not decided here: the client uses the shared `ordersync_core::backoff::Backoff`
//! (exponential, full jitter, never past the Lambda's remaining time).

use crate::error::{NaverError, Trace};
use crate::wire::ErrorBody;

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

/// Decides on a non-2xx answer.
pub fn classify(status: u16, body: &ErrorBody, trace: Trace) -> Verdict {
    let code = body.code();
    let message = short(body.message.as_deref());
    match (status, code.as_deref()) {
        (401, Some("GW.AUTHN")) => Verdict::RefreshToken,
        (403, Some("GW.IP_NOT_ALLOWED")) => Verdict::Fail(NaverError::IpNotAllowed { trace }),
        (401 | 403, _) => Verdict::Fail(NaverError::Auth { trace, message }),
        (429, _) => Verdict::RetryRateLimited,
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
