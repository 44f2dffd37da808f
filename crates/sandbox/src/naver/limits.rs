//! Rate limiting and injected faults.
//!
//! The limiter is NAVER's documented token bucket (reference §3): one bucket per (API path,
//! application), refilled continuously at `rate` per second, holding at most `2 × rate`
//! (the burst capacity), starting full. The three `GNCP-GW-RateLimit-*` headers report it.
//! NAVER's real numbers are undocumented; tests choose theirs. The token endpoint is not
//! limited here. A per-period quota is a [`FaultKind::Status`] with `GW.QUOTA_LIMIT` (period
//! `ROUND`, the documented subscriber quota); NAVER's hourly penalty is a mode of its own
//! ([`super::NaverMode::QuotaPenalty`]).
//!
//! Faults are queued by tests and consumed first-in first-out by the next requests they match,
//! before any other handling (so they hit even unauthenticated or malformed requests, as a
//! gateway failure would).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Which requests a [`Fault`] applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v1/oauth2/token`.
    Token,
    /// `GET /v1/pay-order/seller/product-orders/last-changed-statuses`.
    Feed,
    /// `POST /v1/pay-order/seller/product-orders/query`.
    Details,
    /// `GET /v1/pay-order/seller/product-orders` (the conditional search).
    Search,
    /// Every request, including unknown paths.
    Any,
}

/// How a faulty answer looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// A gateway error: this status with the gateway body `{code, message, timestamp,
    /// traceId}`, e.g. 500 `GW.INTERNAL_SERVER_ERROR`, 503 `GW.BLOCK.01`, 504 `GW.TIMEOUT.01`,
    /// 429 `GW.QUOTA_LIMIT`, 429 `GW.RATE_LIMIT`, 403 `GW.IP_NOT_ALLOWED`.
    Status { status: u16, code: &'static str },
    /// 200 with an HTML page (`text/html`), as a proxy or captive portal might answer.
    HtmlOk,
    /// 200 with an order-API error body (`code` "9999") and no `data`.
    ErrorCodeInOk,
    /// This status with an HTML error page (`text/html`), as a load balancer or firewall in
    /// front of the gateway answers (`HtmlStatus(200)` is [`FaultKind::HtmlOk`]).
    HtmlStatus(u16),
    /// 200 (`application/json`) with an empty body.
    EmptyOk,
    /// The answer the request would have got, cut off after half its bytes: a body truncated
    /// after the status was sent. Applied only to a 2xx JSON answer; any other passes unchanged.
    TruncatedOk,
    /// The answer the request would have got, with the JSON value at `pointer` (RFC 6901, e.g.
    /// `/data/lastChangeStatuses/0/productOrderId`) replaced by `value`, or removed when
    /// `value` is `None`: a field of the wrong type, a date in another format, a missing field
    /// or array element. Applied only to a 2xx JSON answer holding that value; any other
    /// answer passes unchanged.
    Rewrite {
        pointer: &'static str,
        value: Option<serde_json::Value>,
    },
    /// Waits this long, then answers normally (to trip client timeouts).
    Delay(Duration),
}

/// A fault for the next `times` requests matching `endpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub endpoint: Endpoint,
    pub times: u32,
    pub kind: FaultKind,
}

impl Fault {
    /// One occurrence of `kind` on `endpoint`.
    pub fn once(endpoint: Endpoint, kind: FaultKind) -> Fault {
        Fault {
            endpoint,
            times: 1,
            kind,
        }
    }
}

/// Queued faults.
#[derive(Default)]
pub(crate) struct Faults {
    queue: VecDeque<Fault>,
}

impl Faults {
    /// Queues a fault; `times == 0` queues nothing.
    pub fn push(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.queue.push_back(fault);
        }
    }

    /// Drops every queued fault.
    pub fn clear(&mut self) {
        self.queue.clear();
    }

    /// Consumes one occurrence of the oldest fault matching a request to `endpoint`
    /// (`None` for an unknown path, which only [`Endpoint::Any`] matches).
    pub fn take(&mut self, endpoint: Option<Endpoint>) -> Option<FaultKind> {
        let index = self
            .queue
            .iter()
            .position(|f| f.endpoint == Endpoint::Any || Some(f.endpoint) == endpoint)?;
        let fault = &mut self.queue[index];
        fault.times -= 1;
        let kind = fault.kind.clone();
        if fault.times == 0 {
            self.queue.remove(index);
        }
        Some(kind)
    }
}

/// What the bucket said about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub allowed: bool,
    pub rate: u32,
    pub burst: u32,
    /// Whole calls left after this one.
    pub remaining: u32,
}

impl Verdict {
    /// The `GNCP-GW-RateLimit-*` headers.
    pub fn headers(&self) -> [(&'static str, String); 3] {
        [
            ("GNCP-GW-RateLimit-Replenish-Rate", self.rate.to_string()),
            ("GNCP-GW-RateLimit-Burst-Capacity", self.burst.to_string()),
            ("GNCP-GW-RateLimit-Remaining", self.remaining.to_string()),
        ]
    }
}

/// Token buckets per (path, application). A rate of 0 disables limiting.
pub(crate) struct Limiter {
    rate: u32,
    buckets: HashMap<(String, String), (f64, Instant)>,
}

impl Limiter {
    pub fn new(rate: u32) -> Limiter {
        Limiter {
            rate,
            buckets: HashMap::new(),
        }
    }

    /// Takes one call from the bucket of (`path`, `app`), if there is one to take.
    pub fn take(&mut self, path: &str, app: &str, now: Instant) -> Verdict {
        let burst = self.rate.saturating_mul(2);
        if self.rate == 0 {
            return Verdict {
                allowed: true,
                rate: 0,
                burst: 0,
                remaining: 0,
            };
        }
        let (level, last) = self
            .buckets
            .entry((path.to_owned(), app.to_owned()))
            .or_insert((f64::from(burst), now));
        let refill = now.saturating_duration_since(*last).as_secs_f64() * f64::from(self.rate);
        *level = (*level + refill).min(f64::from(burst));
        *last = now;
        let allowed = *level >= 1.0;
        if allowed {
            *level -= 1.0;
        }
        Verdict {
            allowed,
            rate: self.rate,
            burst,
            remaining: level.floor() as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills_at_rate() {
        let mut limiter = Limiter::new(5);
        let t0 = Instant::now();
        let allowed = (0..15)
            .filter(|_| limiter.take("/feed", "app", t0).allowed)
            .count();
        assert_eq!(allowed, 10);
        // Other paths and applications have their own buckets.
        assert!(limiter.take("/query", "app", t0).allowed);
        assert!(limiter.take("/feed", "other", t0).allowed);
        let later = t0 + Duration::from_millis(400);
        let verdict = limiter.take("/feed", "app", later);
        assert!(verdict.allowed);
        assert_eq!(verdict.remaining, 1);
        assert_eq!((verdict.rate, verdict.burst), (5, 10));
    }

    #[test]
    fn faults_are_fifo_per_match() {
        let mut faults = Faults::default();
        faults.push(Fault {
            endpoint: Endpoint::Feed,
            times: 2,
            kind: FaultKind::HtmlOk,
        });
        faults.push(Fault::once(Endpoint::Any, FaultKind::ErrorCodeInOk));
        faults.push(Fault::once(Endpoint::Details, FaultKind::HtmlOk));
        assert_eq!(
            faults.take(Some(Endpoint::Details)),
            Some(FaultKind::ErrorCodeInOk)
        );
        assert_eq!(faults.take(Some(Endpoint::Feed)), Some(FaultKind::HtmlOk));
        assert_eq!(faults.take(None), None);
        assert_eq!(faults.take(Some(Endpoint::Feed)), Some(FaultKind::HtmlOk));
        assert_eq!(faults.take(Some(Endpoint::Feed)), None);
        assert_eq!(
            faults.take(Some(Endpoint::Details)),
            Some(FaultKind::HtmlOk)
        );
        assert_eq!(faults.take(Some(Endpoint::Details)), None);
    }
}
