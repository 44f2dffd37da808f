//! A strict, stateful fake of the NAVER Commerce API (reference: `naver-commerce-api.md`), for
//! testing our client and the import Lambda without a live store.
//!
//! [`FakeNaver::start`] serves, on `127.0.0.1:0` under `/external` (an own-store
//! application's base path) and `/partner` (a solution application's) alike:
//! - `POST /v1/oauth2/token`: form body only (query-string parameters get 415), bcrypt
//!   `client_secret_sign` checked exactly, `timestamp` valid for 5 minutes either way, one token
//!   per (`type`, `account_id`) reused while it has 30 minutes or more left ([`auth`]);
//! - `GET /v1/pay-order/seller/product-orders/last-changed-statuses`, **a snapshot like
//!   NAVER's** (one record per product order, its latest listed change; see [`shop`]): exact
//!   `yyyy-MM-ddTHH:mm:ss.SSS+09:00` dates (a raw `+` that decoded to a space is 400 `4000`),
//!   windows of at most 24 h (else `104139`), no future `lastChangedTo`, at most 300 rows, and
//!   `more` paging that resumes exactly after the last row, ties included;
//! - `GET /v1/pay-order/seller/product-orders` (the conditional search, §2c): `from`, `to`
//!   (default `from` + 24 h, at most 24 h, not in the future), `rangeType` `PAYED_DATETIME`
//!   (default) or `ORDERED_DATETIME` (NAVER's other range types are refused as not emulated),
//!   `pageSize` 1–300 (default 300), `page` from 1, `hasNext`; each product order's current
//!   detail inline, sorted by that date then id; unknown parameters refused;
//! - `POST /v1/pay-order/seller/product-orders/query`: JSON body, 1–300 ids, unknown or hidden
//!   ids silently absent, the current detail of each product order (which alone shows a
//!   delivery completion, [`FakeNaver::deliver_orders`]);
//!
//! with a bearer token (else 401 `GW.AUTHN`), a token bucket per (path, application) — NAVER's
//! 2 per second by default — with the
//! `GNCP-GW-RateLimit-*` headers (429 `GW.RATE_LIMIT` past it), a `GNCP-GW-Trace-ID` on every
//! answer and gateway-shaped JSON error bodies. Tests steer it with [`FakeNaver::inject`]
//! (FIFO faults, including malformed answers: HTML pages, empty or truncated bodies, rewritten
//! fields), [`FakeNaver::clear_faults`], [`FakeNaver::expire_tokens`],
//! [`FakeNaver::set_token_lifetime`], [`FakeNaver::hide_detail`],
//! [`FakeNaver::set_latency`] and [`FakeNaver::set_mode`] (NAVER's hourly quota penalty, planned
//! maintenance), and read [`FakeNaver::stats`] and [`FakeNaver::requests`]. The
//! store itself is a seeded [`Shop`].
//!
//! Token requests NAVER would punish with its hourly penalty are served as NAVER serves them
//! and counted ([`Stats::token_spec_violations`]).
//!
//! Not emulated: TLS, IPv6 quirks, which applications may use `/partner` (the fake's one
//! application may use both paths), per-period quotas other than the
//! hourly penalty (inject them), claims
//! beyond a few realistic paths, the conditional search's filters and range types other than
//! payment and order dates, and any write API.
//! Where NAVER's exact error codes are undocumented (token errors, future dates, 415) the
//! fake picks plausible ones and says so in [`auth`] and [`server`]'s docs; the HTTP status is
//! what a client should key on there.

pub mod auth;
pub mod limits;
pub mod server;
pub mod shop;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use ordersync_core::clock::Clock;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use auth::client_secret_sign;
pub use limits::{Endpoint, Fault, FaultKind};
pub use shop::{ChangeEvent, Shop, naver_time};

use crate::orders::Rng;
use server::Shared;

/// NAVER's rate for an own-store application: 2 requests per second per API (reference §3).
pub const NAVER_RATE_PER_SEC: u32 = 2;

/// How to build the fake store and server.
#[derive(Debug, Clone)]
pub struct FakeNaverConfig {
    pub seed: u64,
    /// Number of orders; each has 1–3 product orders.
    pub orders: usize,
    /// The shop's activity span: change events fall in `[from, to)`.
    pub from: DateTime<FixedOffset>,
    pub to: DateTime<FixedOffset>,
    /// Token-bucket refill per second, per API path and application; the burst is twice this.
    /// 0 disables rate limiting.
    pub rate_per_sec: u32,
    /// Added to every response.
    pub latency: Duration,
    /// The server's "now": the feed refuses a `lastChangedTo` after it, token timestamps are
    /// checked against it, answers carry it. Share it with the client under test.
    pub clock: Arc<dyn Clock>,
}

impl Default for FakeNaverConfig {
    /// [`FakeNaverConfig::at`] the system clock.
    fn default() -> Self {
        FakeNaverConfig::at(ordersync_core::clock::system())
    }
}

impl FakeNaverConfig {
    /// Seed 1, 200 orders over three whole KST days ending at the last KST midnight at least an
    /// hour before `clock`'s now ([`whole_days_before`]), NAVER's 2 calls per second per API
    /// (burst 4) for an own-store application, no latency.
    ///
    /// Whole days: a request cut at KST dates then sees the same orders at any hour (the shop
    /// is the same seeded layout, shifted by whole days), and "an hour after the span" is
    /// never in the future.
    pub fn at(clock: Arc<dyn Clock>) -> Self {
        let (from, to) = whole_days_before(clock.now(), 3);
        FakeNaverConfig {
            seed: 1,
            orders: 200,
            from,
            to,
            rate_per_sec: NAVER_RATE_PER_SEC,
            latency: Duration::ZERO,
            clock,
        }
    }
}

/// `days` whole KST days, ending at the latest KST midnight that is at least an hour before
/// `now`.
pub fn whole_days_before(
    now: DateTime<Utc>,
    days: i64,
) -> (DateTime<FixedOffset>, DateTime<FixedOffset>) {
    let latest = (now - TimeDelta::hours(1)).with_timezone(&shop::kst());
    let midnight = latest
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(shop::kst()).single())
        .expect("KST has no gaps");
    (midnight - TimeDelta::days(days), midnight)
}

/// How the fake's gateway answers as a whole, whatever is asked ([`FakeNaver::set_mode`]).
///
/// Checked before anything else (injected faults included), on every path: the token endpoint,
/// the order APIs and unknown paths alike, as NAVER's gateway does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NaverMode {
    /// Serve normally.
    #[default]
    Normal,
    /// NAVER's hourly penalty for an application whose token requests broke the spec
    /// (reference §3, "The hourly penalty"): every call is 429 `GW.QUOTA_LIMIT`
    /// ("할당된 시간당 요청량을 초과하였습니다.") with `GNCP-GW-Quota-Limit: 1`,
    /// `GNCP-GW-Quota-Period: HOURS`, `GNCP-GW-Quota-Remaining: 0`, except the first
    /// `calls_per_hour` calls of each clock hour of the fake's clock, which are served normally
    /// and carry the same headers with what remains. NAVER lets 1 through; a test on the
    /// system clock uses 0 (every call refused), so an hour boundary during the test cannot
    /// let one through.
    QuotaPenalty { calls_per_hour: u32 },
    /// Planned maintenance: every call is 503 `GW.BLOCK.02` ("서비스 점검 중입니다.").
    Maintenance,
}

/// Counters since start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests to the token endpoint (valid or not).
    pub token_calls: u64,
    /// Distinct tokens handed out (a reused token does not count).
    pub tokens_issued: u64,
    /// Requests to the change feed, including rejected and rate-limited ones.
    pub feed_calls: u64,
    /// Feed rows returned in total.
    pub feed_rows: u64,
    /// Requests to the details endpoint, including rejected and rate-limited ones.
    pub detail_calls: u64,
    /// Ids asked for in authenticated, rate-allowed details requests (duplicates included).
    pub detail_ids_requested: u64,
    /// Requests to the conditional search, including rejected and rate-limited ones.
    pub search_calls: u64,
    /// Product orders the conditional search returned in total.
    pub search_rows: u64,
    /// Error answers by `code` (`GW.AUTHN`, `GW.RATE_LIMIT`, `4000`, `9999`, ...; for injected
    /// malformed answers `HTML`, `EMPTY`, `TRUNCATED` and `REWRITTEN`).
    pub rejected: HashMap<String, u64>,
    /// Requests by path, known or not.
    pub per_path: HashMap<String, u64>,
    /// Token requests that break NAVER's token spec in a way it punishes by limiting the whole
    /// application to 1 call per hour from the next day (reference §3): parameters in the query
    /// string or a body that is not a form (both 415 here), a missing or wrong `grant_type`,
    /// an `account_id` with `type=SELF` (served, as NAVER does), `type=SELLER` on `/external`,
    /// the own-store application's path (served too). The fake does not impose the penalty by
    /// itself ([`FakeNaver::set_mode`] does); a client under test keeps this at 0.
    pub token_spec_violations: u64,
}

impl Stats {
    fn count(&mut self, endpoint: Option<Endpoint>, path: &str) {
        *self.per_path.entry(path.to_owned()).or_default() += 1;
        match endpoint {
            Some(Endpoint::Token) => self.token_calls += 1,
            Some(Endpoint::Feed) => self.feed_calls += 1,
            Some(Endpoint::Details) => self.detail_calls += 1,
            Some(Endpoint::Search) => self.search_calls += 1,
            Some(Endpoint::Any) | None => {}
        }
    }

    /// How many answers had this error `code`.
    pub fn rejected(&self, code: &str) -> u64 {
        self.rejected.get(code).copied().unwrap_or(0)
    }
}

/// One request as served, for tests that check what a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// The raw query string (still percent-encoded).
    pub query: Option<String>,
    pub status: u16,
    /// The error code of the answer, if it was an error.
    pub code: Option<String>,
}

/// A running fake; the server stops when this is dropped.
pub struct FakeNaver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FakeNaver {
    /// Generates the shop and starts serving. Must be called inside a tokio runtime; panics
    /// only if it cannot bind a local port.
    pub async fn start(config: FakeNaverConfig) -> FakeNaver {
        let shop = Arc::new(Shop::generate(
            config.seed,
            config.orders,
            config.from,
            config.to,
        ));
        let mut rng = Rng::new(config.seed ^ 0x00c1_1e57);
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let client_id: String = (0..22).map(|_| *rng.pick(ALNUM) as char).collect();
        let client_secret = auth::generate_secret(&mut rng);
        let account_id = format!("ncp_1o{:06x}_01", rng.below(1 << 24));
        let creds = auth::Credentials {
            client_id,
            client_secret,
            account_id,
        };
        let shared = Arc::new(Shared::new(
            shop,
            creds,
            config.seed,
            config.rate_per_sec,
            config.latency,
            config.clock,
        ));

        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("sandbox NAVER: cannot bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("sandbox NAVER: bound listener has no address");
        let task = tokio::spawn(crate::serve::serve_state(
            listener,
            shared.clone(),
            server::handle,
        ));
        FakeNaver { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT/external`, the base URL to give a client.
    pub fn base_url(&self) -> String {
        format!("http://{}/external", self.addr)
    }

    /// `http://127.0.0.1:PORT/partner`, where solution (agency) applications call.
    pub fn partner_base_url(&self) -> String {
        format!("http://{}/partner", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The test application's id.
    pub fn client_id(&self) -> &str {
        &self.shared.creds.client_id
    }

    /// The test application's secret: a bcrypt salt, `$2a$04$` + 22 characters.
    pub fn client_secret(&self) -> &str {
        &self.shared.creds.client_secret
    }

    /// The one seller linked to the application, for `type=SELLER`.
    pub fn account_id(&self) -> &str {
        &self.shared.creds.account_id
    }

    /// A valid `client_secret_sign` for `timestamp_ms`.
    pub fn sign(&self, timestamp_ms: i64) -> String {
        client_secret_sign(self.client_id(), self.client_secret(), timestamp_ms)
            .expect("the generated secret is a valid bcrypt salt")
    }

    /// The shop's data as it is now, for expectations.
    pub fn shop(&self) -> Arc<Shop> {
        self.shared.current_shop()
    }

    /// Moves up to `count` product orders one step along their life (paid → dispatched →
    /// purchase decided) at `at`, as if sellers and customers acted; each one's feed record is
    /// overwritten by the new change and its detail shows the new status (a dispatch also its
    /// carrier and tracking number). Returns the ids that changed.
    pub fn advance_orders(&self, count: usize, at: DateTime<FixedOffset>) -> Vec<String> {
        self.change_shop(count, |shop, id| shop.advance(id, at).is_some())
    }

    /// Completes the delivery of up to `count` product orders being delivered, at `at`: only
    /// `/query` shows it (`DELIVERED`, `deliveredDate`); their feed records stay as they were,
    /// as NAVER's do (reference §2e). Returns the ids delivered.
    pub fn deliver_orders(&self, count: usize, at: DateTime<FixedOffset>) -> Vec<String> {
        self.change_shop(count, |shop, id| shop.deliver(id, at))
    }

    /// Cancels one unit of up to `count` paid product orders of several units, at `at`
    /// ([`Shop::cancel_one`]). Returns the ids changed.
    pub fn cancel_one_unit(&self, count: usize, at: DateTime<FixedOffset>) -> Vec<String> {
        self.change_shop(count, |shop, id| shop.cancel_one(id, at).is_some())
    }

    /// Adds `orders` new orders paid in `[from, to)` ([`Shop::add_orders`]). Returns their
    /// product order ids.
    pub fn add_orders(
        &self,
        seed: u64,
        orders: usize,
        from: DateTime<FixedOffset>,
        to: DateTime<FixedOffset>,
    ) -> Vec<String> {
        self.with_shop(|shop| shop.add_orders(seed, orders, from, to))
    }

    /// Runs `change` on the shop (copied first if a request still reads the old one).
    fn with_shop<T>(&self, change: impl FnOnce(&mut Shop) -> T) -> T {
        let mut slot = self
            .shared
            .shop
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        change(Arc::make_mut(&mut slot))
    }

    /// Applies `change` to product orders in generation order until `count` of them changed.
    fn change_shop(
        &self,
        count: usize,
        mut change: impl FnMut(&mut Shop, &str) -> bool,
    ) -> Vec<String> {
        self.with_shop(|shop| {
            let mut changed = Vec::new();
            for id in shop.product_order_ids() {
                if changed.len() == count {
                    break;
                }
                if change(shop, &id) {
                    changed.push(id);
                }
            }
            changed
        })
    }

    /// Counters since start.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Every request served so far, in the order answers were completed.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().log.clone()
    }

    /// Every token issued so far stops working: calls with it get 401 `GW.AUTHN`, and the next
    /// token request issues a new one.
    pub fn expire_tokens(&self) {
        self.shared.lock().tokens.expire_all(Instant::now());
    }

    /// The lifetime of tokens issued from now on (default 3 hours). Below 30 minutes, every
    /// token request issues a new token, and old ones keep working until they expire.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.lock().tokens.set_lifetime(lifetime);
    }

    /// Queues a fault; faults are consumed first-in first-out by matching requests.
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Drops every queued fault that has not fired yet (the upstream is healed).
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// How the gateway answers from the next request on; switching into
    /// [`NaverMode::QuotaPenalty`] starts its hourly count afresh.
    pub fn set_mode(&self, mode: NaverMode) {
        let mut state = self.shared.lock();
        state.mode = mode;
        state.penalty_hour = None;
    }

    /// Latency added to every later response.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    /// The details endpoint silently leaves this id out from now on, as NAVER does for ids it
    /// will not return. The change feed still lists it.
    pub fn hide_detail(&self, product_order_id: &str) {
        self.shared
            .lock()
            .hidden
            .insert(product_order_id.to_owned());
    }
}

impl Drop for FakeNaver {
    fn drop(&mut self) {
        // Aborting the accept loop also drops its connections.
        self.task.abort();
    }
}

#[cfg(test)]
mod tests;
