//! The NAVER Commerce API client: tokens, the change feed, product-order details.
//!
//! Every call goes through [`NaverClient::execute`], which takes a token (cached; refreshed when
//! fewer than 30 minutes remain, and once more on `401 GW.AUTHN`), waits for the rate limiter,
//! sends, learns from the rate-limit headers, and retries limits and transient failures with
//! jittered backoff until the caller's deadline. The client knows nothing of S3 or Lambda.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeDelta};
use ordersync_core::clock::Clock;
use ordersync_core::product_order::{ChangeStatus, ProductOrderDetail};
use ordersync_core::source::{FeedPosition, PartLimit};
use ordersync_core::time::{format_naver, kst};
use ordersync_core::window::Window;
use tracing::{debug, warn};

use crate::config::{Access, Credentials, NaverConfig, partner_base_url};
use crate::error::{NaverError, Trace};
use crate::limiter::RateLimiter;
use ordersync_core::backoff::Backoff;

use crate::retry::{Quota, Verdict, classify};
use crate::sign::client_secret_sign;
use crate::wire::{DetailsResponse, ErrorBody, FeedResponse, SearchResponse, TokenResponse};

/// Most product-order ids one details call may carry (reference §2b).
pub const MAX_DETAIL_IDS: usize = 300;
/// Most rows one feed page returns (reference §2a).
pub const FEED_PAGE: u32 = 300;
/// NAVER hands out a new token only when fewer than 30 minutes remain (reference §1).
const REFRESH_BEFORE: Duration = Duration::from_secs(30 * 60);

const PATH_TOKEN: &str = "/v1/oauth2/token";
const PATH_FEED: &str = "/v1/pay-order/seller/product-orders/last-changed-statuses";
const PATH_DETAILS: &str = "/v1/pay-order/seller/product-orders/query";
const PATH_SEARCH: &str = "/v1/pay-order/seller/product-orders";

/// Pages of the conditional search one window may take before the source calls it a loop: at
/// 300 per page, 3 million product orders paid in one day.
pub const MAX_SEARCH_PAGES: u32 = 10_000;

/// One page of the conditional search.
#[derive(Debug, Default)]
pub struct SearchPage {
    pub orders: Vec<(String, ProductOrderDetail)>,
    pub has_next: bool,
    /// Contents without an id or a detail.
    pub unusable: u64,
}

struct Token {
    access: String,
    expires_at: Instant,
}

/// One application's client. Cheap to share behind an `Arc`; holds its token and limiter.
pub struct NaverClient {
    http: reqwest::Client,
    config: NaverConfig,
    /// Where every call goes: the configured base for an own-store application, its
    /// `/partner` twin in agency mode; `None` when agency mode cannot derive one.
    base_url: Option<String>,
    credentials: Credentials,
    token: tokio::sync::Mutex<Option<Token>>,
    limiter: RateLimiter,
    calls: AtomicU64,
    /// "Now" for token timestamps and window clamping.
    clock: Arc<dyn Clock>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RetryKind {
    RateLimited,
    Transient,
}

/// A 2xx body we could not use.
struct Unusable(String);

impl NaverClient {
    pub fn new(http: reqwest::Client, config: NaverConfig, credentials: Credentials) -> Self {
        let base_url = match &credentials.access {
            Access::OwnStore => Some(config.base_url.clone()),
            Access::Agency { .. } => partner_base_url(&config.base_url),
        };
        NaverClient {
            http,
            limiter: RateLimiter::with_share(config.rate_share),
            base_url,
            config,
            credentials,
            token: tokio::sync::Mutex::new(None),
            calls: AtomicU64::new(0),
            clock: ordersync_core::clock::system(),
        }
    }

    /// The same client reading "now" from `clock` (tests pin it; the Lambda keeps the system's).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// HTTP requests sent so far (tokens and retries included).
    /// Keeps to `share` of each rate limit from the next answer on (the part of the
    /// application's rate this client may use while others run beside it).
    pub fn set_rate_share(&self, share: f64) {
        self.limiter.set_share(share);
    }

    /// The part of each rate limit this client keeps to.
    pub fn rate_share(&self) -> f64 {
        self.limiter.share()
    }

    pub fn api_calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub fn client_id(&self) -> &str {
        &self.credentials.client_id
    }

    fn url(&self, path: &str) -> Result<String, NaverError> {
        match &self.base_url {
            Some(base) => Ok(format!("{base}{path}")),
            None => Err(NaverError::Config(format!(
                "agency mode calls NAVER's /partner base path, made from NAVER_COMMERCE_BASE_URL by replacing its last segment /external, but `{}` does not end in /external",
                self.config.base_url
            ))),
        }
    }

    /// A valid access token, fetching one when there is none or fewer than 30 minutes remain.
    /// The lock doubles as an in-flight guard: concurrent callers wait for one token request.
    async fn bearer(&self, deadline: Instant) -> Result<String, NaverError> {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref()
            && token.expires_at > Instant::now() + REFRESH_BEFORE
        {
            return Ok(token.access.clone());
        }
        let token = self.request_token(deadline).await?;
        let access = token.access.clone();
        *slot = Some(token);
        Ok(access)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    async fn request_token(&self, deadline: Instant) -> Result<Token, NaverError> {
        let (response, _) = self
            .execute(
                PATH_TOKEN,
                deadline,
                false,
                |http, _| {
                    // Signed afresh on every attempt: the timestamp is only valid for 5 minutes.
                    let timestamp = (self.clock.now()
                        - TimeDelta::from_std(self.config.clock_skew).unwrap_or_default())
                    .timestamp_millis();
                    let sign = client_secret_sign(
                        &self.credentials.client_id,
                        &self.credentials.client_secret,
                        timestamp,
                    )
                    .map_err(|e| NaverError::Config(e.to_string()))?;
                    let timestamp = timestamp.to_string();
                    let mut form = vec![
                        ("client_id", self.credentials.client_id.as_str()),
                        ("timestamp", timestamp.as_str()),
                        ("grant_type", "client_credentials"),
                        ("client_secret_sign", sign.as_str()),
                    ];
                    // An own-store application sends SELF and nothing else: an account_id with
                    // it (or SELLER) earns the whole application NAVER's hourly penalty.
                    match &self.credentials.access {
                        Access::OwnStore => form.push(("type", "SELF")),
                        Access::Agency { account_id } => {
                            form.push(("type", "SELLER"));
                            form.push(("account_id", account_id.as_str()));
                        }
                    }
                    // Form body, never the query string (NAVER answers 415 to that).
                    Ok(http.post(self.url(PATH_TOKEN)?).form(&form))
                },
                |body| {
                    serde_json::from_slice::<TokenResponse>(body)
                        .ok()
                        .filter(|t| !t.access_token.is_empty() && t.expires_in > 0)
                        .ok_or_else(|| {
                            Unusable("token answer without access_token/expires_in".into())
                        })
                },
            )
            .await?;
        Ok(Token {
            access: response.access_token,
            expires_at: Instant::now() + Duration::from_secs(response.expires_in as u64),
        })
    }

    /// Sends one logical request until it succeeds, fails for good, or the deadline nears.
    async fn execute<T>(
        &self,
        api: &'static str,
        deadline: Instant,
        authed: bool,
        make: impl Fn(&reqwest::Client, Option<&str>) -> Result<reqwest::RequestBuilder, NaverError>,
        parse: impl Fn(&[u8]) -> Result<T, Unusable>,
    ) -> Result<(T, Trace), NaverError> {
        let mut backoff = Backoff::new(self.config.backoff_base, self.config.backoff_cap, deadline);
        let mut refreshed = false;
        let mut last: Option<(RetryKind, Trace, String)> = None;
        loop {
            let token = match authed {
                // Boxed: getting a token runs `execute` itself (unauthenticated).
                true => Some(Box::pin(self.bearer(deadline)).await?),
                false => None,
            };
            let wait = self.limiter.reserve(api);
            if Instant::now() + wait >= deadline {
                // Out of time before this attempt: report what the last attempt saw, if any.
                return Err(match last.take() {
                    Some((kind, trace, message)) => give_up(kind, trace, message),
                    None => NaverError::RateLimited {
                        trace: Trace::default(),
                    },
                });
            }
            tokio::time::sleep(wait).await;
            let request = make(&self.http, token.as_deref())?;
            let request = match token.as_deref() {
                Some(t) => request.bearer_auth(t),
                None => request,
            };
            self.calls.fetch_add(1, Ordering::Relaxed);
            let (kind, trace, message) = match request.send().await {
                Err(e) => {
                    let what = if e.is_timeout() {
                        "request timed out"
                    } else if e.is_connect() {
                        "connection failed"
                    } else {
                        "request failed"
                    };
                    (RetryKind::Transient, Trace::default(), what.to_owned())
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    self.limiter.observe(api, response.headers(), status == 429);
                    let quota = Quota::from_headers(response.headers());
                    let mut trace = Trace {
                        status: Some(status),
                        code: None,
                        trace_id: response
                            .headers()
                            .get("GNCP-GW-Trace-ID")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned),
                    };
                    match response.bytes().await {
                        Err(_) => (
                            RetryKind::Transient,
                            trace,
                            "connection lost while reading the answer".to_owned(),
                        ),
                        Ok(body) if (200..300).contains(&status) => match parse(&body) {
                            Ok(value) => return Ok((value, trace)),
                            Err(Unusable(what)) => {
                                // A 2xx that is an HTML page or carries an error code: a proxy
                                // or gateway hiccup, worth another try.
                                trace.code = serde_json::from_slice::<ErrorBody>(&body)
                                    .ok()
                                    .and_then(|b| b.code());
                                (RetryKind::Transient, trace, what)
                            }
                        },
                        Ok(body) => {
                            let error: ErrorBody =
                                serde_json::from_slice(&body).unwrap_or_default();
                            trace.code = error.code();
                            if trace.trace_id.is_none() {
                                trace.trace_id = error.trace_id.clone();
                            }
                            match classify(status, &error, &quota, trace.clone()) {
                                Verdict::RefreshToken if authed && !refreshed => {
                                    debug!(api, "token expired; fetching a new one");
                                    refreshed = true;
                                    self.forget_token().await;
                                    continue;
                                }
                                Verdict::RefreshToken => {
                                    return Err(NaverError::Auth {
                                        trace,
                                        message:
                                            "the token was refused again right after a refresh"
                                                .into(),
                                    });
                                }
                                Verdict::Fail(e) => return Err(e),
                                Verdict::RetryRateLimited => {
                                    (RetryKind::RateLimited, trace, "rate limited".to_owned())
                                }
                                Verdict::RetryTransient(m) => (RetryKind::Transient, trace, m),
                            }
                        }
                    }
                }
            };
            let Some(delay) = backoff.next_delay() else {
                return Err(give_up(kind, trace, message));
            };
            warn!(
                api,
                attempt = backoff.attempts(),
                status = trace.status,
                code = trace.code.as_deref(),
                trace_id = trace.trace_id.as_deref(),
                delay_ms = delay.as_millis() as u64,
                reason = %message,
                "NAVER call failed; retrying"
            );
            last = Some((kind, trace, message));
            tokio::time::sleep(delay).await;
        }
    }

    /// The window's end as NAVER's inclusive bounds take it: `to − 1 ms`, clamped to now (less
    /// the clock skew allowance: NAVER rejects a future end). `None` when that is before the
    /// window's start (a window entirely in the future).
    fn inclusive_end(&self, window: &Window) -> Option<DateTime<FixedOffset>> {
        let now = self.clock.now().with_timezone(&kst()).fixed_offset()
            - TimeDelta::from_std(self.config.clock_skew).unwrap_or_default();
        let last = (window.to - TimeDelta::milliseconds(1)).min(now);
        (last >= window.from).then_some(last)
    }

    /// Every change-feed entry in `window` (half-open), following `more` to the end, each
    /// page sent to `pages` as it arrives (so its details can be fetched while the next page is
    /// read: the two APIs have their own rate limits). Stops early, without error, when the
    /// receiver is gone.
    ///
    /// NAVER's bounds are inclusive, so the window's end is sent as `to − 1 ms`, clamped to now
    /// (NAVER rejects a future end). `lastChangedTo` is always explicit and stays the same on
    /// every page; `moreFrom` is passed back exactly as received.
    ///
    /// From `start` when given (a position an earlier part returned: its `lastChangedTo` is
    /// asked again, not a new one), and only as far as `part` allows: when it stops the feed at
    /// a page boundary, the answer is the position to go on from; `None` when the feed ended.
    pub async fn changed_pages(
        &self,
        window: &Window,
        start: Option<&FeedPosition>,
        part: PartLimit,
        deadline: Instant,
        pages: tokio::sync::mpsc::Sender<Vec<ChangeStatus>>,
    ) -> Result<Option<FeedPosition>, NaverError> {
        let (to, mut from, mut sequence) = match start {
            Some(position) => (
                position.last_changed_to.clone(),
                position.more_from.clone(),
                Some(position.more_sequence.clone()),
            ),
            None => match self.inclusive_end(window) {
                Some(last) => (format_naver(&last), format_naver(&window.from), None),
                None => return Ok(None),
            },
        };
        let limit = FEED_PAGE.to_string();
        let mut read = 0u32;
        loop {
            let (page, _) = self
                .execute(
                    PATH_FEED,
                    deadline,
                    true,
                    |http, _| {
                        let mut query = vec![
                            ("lastChangedFrom", from.as_str()),
                            ("lastChangedTo", to.as_str()),
                            ("limitCount", limit.as_str()),
                        ];
                        if let Some(s) = &sequence {
                            query.push(("moreSequence", s.as_str()));
                        }
                        Ok(http.get(self.url(PATH_FEED)?).query(&query))
                    },
                    |body| {
                        let page: FeedResponse = serde_json::from_slice(body).map_err(|_| {
                            Unusable("change feed answer is not the documented JSON".into())
                        })?;
                        if page.data.is_none() && has_error_code(body) {
                            return Err(Unusable(
                                "change feed answer carries an error code".into(),
                            ));
                        }
                        Ok(page)
                    },
                )
                .await?;
            let data = page.data.unwrap_or_default();
            read += 1;
            if pages.send(data.last_change_statuses).await.is_err() {
                return Ok(None);
            }
            match data.more.or(page.more) {
                None => break,
                Some(more) => {
                    if more.more_from == from
                        && sequence.as_deref() == Some(more.more_sequence.as_str())
                    {
                        return Err(NaverError::Upstream {
                            trace: Trace {
                                trace_id: page.trace_id,
                                ..Trace::default()
                            },
                            message: "the change feed's `more` did not advance".into(),
                        });
                    }
                    from = more.more_from;
                    sequence = Some(more.more_sequence);
                    if part.reached(read) {
                        return Ok(Some(FeedPosition {
                            more_from: from,
                            more_sequence: sequence.unwrap_or_default(),
                            last_changed_to: to,
                        }));
                    }
                }
            }
        }
        Ok(None)
    }

    /// One page (from 1) of the product orders paid (`PAYED_DATETIME`) or ordered
    /// (`ORDERED_DATETIME`) in `window` (half-open), with their current details: the
    /// conditional search, 300 per page. The window's end is sent as `to − 1 ms`, clamped to
    /// now, like the feed's. Returns the page's product orders, whether another page follows
    /// (`hasNext`), and how many contents lacked an id or a detail (skipped).
    pub async fn search_page(
        &self,
        window: &Window,
        range_type: &str,
        page: u32,
        deadline: Instant,
    ) -> Result<SearchPage, NaverError> {
        let Some(last) = self.inclusive_end(window) else {
            return Ok(SearchPage::default());
        };
        let (from, to) = (format_naver(&window.from), format_naver(&last));
        let (size, number) = (FEED_PAGE.to_string(), page.to_string());
        let (answer, trace) = self
            .execute(
                PATH_SEARCH,
                deadline,
                true,
                |http, _| {
                    let query = [
                        ("from", from.as_str()),
                        ("to", to.as_str()),
                        ("rangeType", range_type),
                        ("pageSize", size.as_str()),
                        ("page", number.as_str()),
                        ("quantityClaimCompatibility", "true"),
                    ];
                    Ok(http.get(self.url(PATH_SEARCH)?).query(&query))
                },
                |body| {
                    let answer: SearchResponse = serde_json::from_slice(body).map_err(|_| {
                        Unusable("conditional search answer is not the documented JSON".into())
                    })?;
                    if answer.data.is_none() && has_error_code(body) {
                        return Err(Unusable(
                            "conditional search answer carries an error code".into(),
                        ));
                    }
                    Ok(answer)
                },
            )
            .await?;
        let data = answer.data.unwrap_or_default();
        let has_next = data.pagination.as_ref().is_some_and(|p| p.has_next);
        if has_next && data.contents.is_empty() {
            return Err(NaverError::Upstream {
                trace: Trace {
                    trace_id: trace.trace_id.or(answer.trace_id),
                    ..Trace::default()
                },
                message: "the conditional search said hasNext on an empty page".into(),
            });
        }
        let mut result = SearchPage {
            has_next,
            ..SearchPage::default()
        };
        for item in data.contents {
            let id = item.product_order_id.or_else(|| {
                item.content
                    .as_ref()?
                    .product_order
                    .as_ref()?
                    .product_order_id
                    .clone()
            });
            match (id, item.content) {
                (Some(id), Some(detail)) => result.orders.push((id, detail)),
                _ => result.unusable += 1,
            }
        }
        Ok(result)
    }

    /// Details for at most 300 distinct ids, and the trace id of the answer.
    pub async fn details(
        &self,
        ids: &[String],
        deadline: Instant,
    ) -> Result<(Vec<ProductOrderDetail>, Option<String>), NaverError> {
        if ids.len() > MAX_DETAIL_IDS {
            return Err(NaverError::Config(format!(
                "at most {MAX_DETAIL_IDS} ids per details call, got {}",
                ids.len()
            )));
        }
        let body =
            serde_json::json!({ "productOrderIds": ids, "quantityClaimCompatibility": true });
        let (response, trace) = self
            .execute(
                PATH_DETAILS,
                deadline,
                true,
                |http, _| Ok(http.post(self.url(PATH_DETAILS)?).json(&body)),
                |bytes| {
                    let response: DetailsResponse =
                        serde_json::from_slice(bytes).map_err(|_| {
                            Unusable("details answer is not the documented JSON".into())
                        })?;
                    if response.data.is_none() && has_error_code(bytes) {
                        return Err(Unusable("details answer carries an error code".into()));
                    }
                    Ok(response)
                },
            )
            .await?;
        Ok((
            response.data.unwrap_or_default(),
            trace.trace_id.or(response.trace_id),
        ))
    }
}

/// The retryable error for a call that ran out of time.
fn give_up(kind: RetryKind, trace: Trace, message: String) -> NaverError {
    match kind {
        RetryKind::RateLimited => NaverError::RateLimited { trace },
        RetryKind::Transient => NaverError::Upstream { trace, message },
    }
}

fn has_error_code(body: &[u8]) -> bool {
    serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.code().is_some())
        .unwrap_or(false)
}
