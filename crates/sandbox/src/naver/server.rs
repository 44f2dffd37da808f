//! The HTTP side of the fake: one axum fallback handler that routes by method and path, counts,
//! applies latency and injected faults, checks the bearer token and the rate limit, validates
//! parameters as strictly as the reference allows, and renders NAVER's bodies and headers.
//!
//! Every answer carries a unique `GNCP-GW-Trace-ID` (also as `traceId` in JSON bodies) and
//! `GNCP-GW-HttpClient-ResponseTime`; every error is a JSON body `{code, message, timestamp,
//! traceId}` (order-API parameter errors add `invalidInputs`). Nothing a client sends can make
//! it panic. It does not speak TLS or HTTP/2, and it serves only the token, change-feed and
//! details endpoints, under `/external` and `/partner` (anything else is 404 `GW.NOT_FOUND`).
//!
//! Order of checks per request: count it, the gateway's mode ([`super::NaverMode`]: the hourly
//! penalty, maintenance), add latency, consume a matching injected fault, then
//! (feed and details) the bearer token, the rate limit, and the parameters. Codes the reference
//! documents are used as documented (`GW.*`, `4000`, `104139`, `9999`); where it is silent the
//! fake picks: a future date is 400 `4000` with `invalidInputs[].type = "future"`, a details
//! body that is not `application/json` is 415 `UnsupportedMediaType`, an oversized body 413.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{HeaderMap, Method, Request};

use crate::serve::{Response, read_body, response};
use chrono::{DateTime, FixedOffset, TimeDelta};
use ordersync_core::clock::Clock;
use serde_json::{Map, Value, json};

use super::auth::{self, Credentials, Tokens};
use super::limits::{Endpoint, FaultKind, Faults, Limiter};
use super::shop::{ChangeEvent, Shop, kst, naver_time};
use super::{NaverMode, RequestRecord, Stats};

pub(crate) const TOKEN_PATH: &str = "/v1/oauth2/token";
pub(crate) const FEED_PATH: &str = "/v1/pay-order/seller/product-orders/last-changed-statuses";
pub(crate) const DETAILS_PATH: &str = "/v1/pay-order/seller/product-orders/query";
pub(crate) const SEARCH_PATH: &str = "/v1/pay-order/seller/product-orders";

/// NAVER's two base paths (reference §1): `/external` for a seller's own-store application,
/// `/partner` for solution (agency) applications acting for linked sellers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Door {
    External,
    Partner,
}

/// Most rows or ids per call (reference §2a, §2b).
pub const MAX_PER_CALL: usize = 300;
/// The longest feed window accepted.
pub const MAX_WINDOW: TimeDelta = TimeDelta::hours(24);
/// How far in the future `lastChangedTo` may be, for clock skew between client and server.
pub const FUTURE_GRACE: TimeDelta = TimeDelta::seconds(1);
/// Larger request bodies get 413; 300 ids take about 7 KB.
const MAX_BODY: usize = 1 << 20;

const RATE_LIMIT_MESSAGE: &str = "요청이 많아 서비스를 일시적으로 사용할 수 없습니다.";
const QUOTA_LIMIT_MESSAGE: &str = "할당된 시간당 요청량을 초과하였습니다.";
const MAINTENANCE_MESSAGE: &str = "서비스 점검 중입니다.";

/// Everything the handler shares with [`super::FakeNaver`].
pub(crate) struct Shared {
    /// Swapped whole when a test advances orders, so a request sees one consistent shop.
    pub shop: std::sync::RwLock<Arc<Shop>>,
    pub creds: Credentials,
    pub state: Mutex<MutableState>,
    trace_prefix: u64,
    next_trace: AtomicU64,
    clock: Arc<dyn Clock>,
}

/// What changes while serving; one lock, never held across an await.
pub(crate) struct MutableState {
    pub tokens: Tokens,
    pub limiter: Limiter,
    pub faults: Faults,
    pub hidden: HashSet<String>,
    pub stats: Stats,
    pub log: Vec<RequestRecord>,
    pub latency: Duration,
    /// How the gateway answers as a whole ([`NaverMode`]).
    pub mode: NaverMode,
    /// Under [`NaverMode::QuotaPenalty`]: the hour (Unix seconds / 3600 on the fake's clock)
    /// and the calls let through in it.
    pub penalty_hour: Option<(i64, u32)>,
}

impl MutableState {
    /// The gateway's verdict on one request before anything else looks at it: `None` to serve
    /// it, else the answer every API gives in this mode. Also the headers a served call carries
    /// under the penalty (NAVER reports the quota on every answer).
    fn gate(
        &mut self,
        now: DateTime<chrono::Utc>,
    ) -> Result<Vec<(&'static str, String)>, ApiError> {
        match self.mode {
            NaverMode::Normal => Ok(Vec::new()),
            NaverMode::Maintenance => Err(ApiError::new(503, "GW.BLOCK.02", MAINTENANCE_MESSAGE)),
            NaverMode::QuotaPenalty { calls_per_hour } => {
                let hour = now.timestamp().div_euclid(3600);
                let used = match self.penalty_hour {
                    Some((h, used)) if h == hour => used,
                    _ => 0,
                };
                if used < calls_per_hour {
                    self.penalty_hour = Some((hour, used + 1));
                    Ok(quota_headers(calls_per_hour - used - 1))
                } else {
                    let mut error = ApiError::new(429, "GW.QUOTA_LIMIT", QUOTA_LIMIT_MESSAGE);
                    error.headers = quota_headers(0);
                    Err(error)
                }
            }
        }
    }
}

/// The quota headers of NAVER's hourly penalty (reference §3): limit 1, period `HOURS`.
fn quota_headers(remaining: u32) -> Vec<(&'static str, String)> {
    vec![
        ("GNCP-GW-Quota-Limit", "1".to_owned()),
        ("GNCP-GW-Quota-Period", "HOURS".to_owned()),
        ("GNCP-GW-Quota-Remaining", remaining.to_string()),
    ]
}

impl Shared {
    pub fn new(
        shop: Arc<Shop>,
        creds: Credentials,
        seed: u64,
        rate: u32,
        latency: Duration,
        clock: Arc<dyn Clock>,
    ) -> Shared {
        // Only makes tokens and trace ids differ between servers; not a "now".
        let clock_seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        Shared {
            shop: std::sync::RwLock::new(shop),
            creds,
            state: Mutex::new(MutableState {
                tokens: Tokens::new(seed ^ clock_seed),
                limiter: Limiter::new(rate),
                faults: Faults::default(),
                hidden: HashSet::new(),
                stats: Stats::default(),
                log: Vec::new(),
                latency,
                mode: NaverMode::Normal,
                penalty_hour: None,
            }),
            trace_prefix: clock_seed.rotate_left(17) ^ seed,
            next_trace: AtomicU64::new(1),
            clock,
        }
    }

    /// The shop as it is now.
    pub fn current_shop(&self) -> Arc<Shop> {
        self.shop
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Locks ignoring poison: a panicking test thread must not take the server down with it.
    pub fn lock(&self) -> MutexGuard<'_, MutableState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn trace_id(&self) -> String {
        let n = self.next_trace.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}^{:010}^{n:08}", self.trace_prefix, n % 7_919)
    }
}

/// An error answer before the trace id is known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub invalid_inputs: Vec<Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
            invalid_inputs: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Adds an `invalidInputs` entry.
    pub fn input(mut self, name: &str, kind: &str, message: &str) -> ApiError {
        self.invalid_inputs
            .push(json!({ "name": name, "type": kind, "message": message }));
        self
    }

    /// An order-API parameter error: 400, code `4000`, message in NAVER's
    /// "type.object.field" form, the human detail in `invalidInputs`.
    pub fn param(name: &str, kind: &str, detail: &str) -> ApiError {
        ApiError::new(400, "4000", format!("{kind}.request.{name}")).input(name, kind, detail)
    }

    fn reply(self, trace: &str, now: DateTime<FixedOffset>) -> Reply {
        let mut body = Map::new();
        body.insert("code".into(), json!(self.code));
        body.insert("message".into(), json!(self.message));
        body.insert("timestamp".into(), json!(naver_time(now)));
        body.insert("traceId".into(), json!(trace));
        if !self.invalid_inputs.is_empty() {
            body.insert("invalidInputs".into(), Value::Array(self.invalid_inputs));
        }
        Reply {
            status: self.status,
            body: ReplyBody::Json(Value::Object(body)),
            headers: self.headers,
            code: Some(self.code),
        }
    }
}

enum ReplyBody {
    Json(Value),
    Html(String),
    /// Served as `application/json` whatever it holds (an empty or truncated body).
    RawJson(String),
}

/// An answer before the common headers are added.
struct Reply {
    status: u16,
    body: ReplyBody,
    headers: Vec<(&'static str, String)>,
    /// The error code (or `HTML` for an HTML page), for [`Stats::rejected`].
    code: Option<String>,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            body: ReplyBody::Json(body),
            headers: Vec::new(),
            code: None,
        }
    }

    fn into_response(self, trace: &str, started: Instant) -> Response {
        let (content_type, bytes) = match self.body {
            ReplyBody::Json(value) => ("application/json;charset=UTF-8", value.to_string()),
            ReplyBody::Html(html) => ("text/html;charset=UTF-8", html),
            ReplyBody::RawJson(text) => ("application/json;charset=UTF-8", text),
        };
        let elapsed = started.elapsed().as_millis().to_string();
        let mut headers = vec![
            ("content-type", content_type),
            ("GNCP-GW-Trace-ID", trace),
            ("GNCP-GW-HttpClient-ResponseTime", elapsed.as_str()),
        ];
        headers.extend(
            self.headers
                .iter()
                .map(|(name, value)| (*name, value.as_str())),
        );
        response(self.status, &headers, bytes)
    }
}

impl Shared {
    /// The server's "now", in KST as NAVER answers.
    pub fn now_kst(&self) -> DateTime<FixedOffset> {
        self.clock.now().with_timezone(&kst())
    }
}

fn classify(method: &Method, path: &str) -> Option<(Endpoint, Door)> {
    let (door, rest) = if let Some(rest) = path.strip_prefix("/external") {
        (Door::External, rest)
    } else {
        (Door::Partner, path.strip_prefix("/partner")?)
    };
    let endpoint = match (method, rest) {
        (&Method::POST, TOKEN_PATH) => Endpoint::Token,
        (&Method::GET, FEED_PATH) => Endpoint::Feed,
        (&Method::POST, DETAILS_PATH) => Endpoint::Details,
        (&Method::GET, SEARCH_PATH) => Endpoint::Search,
        _ => return None,
    };
    Some((endpoint, door))
}

/// The only handler: every request comes here.
pub(crate) async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Response {
    let started = Instant::now();
    let trace = shared.trace_id();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let route = classify(&parts.method, &path);
    let endpoint = route.map(|(endpoint, _)| endpoint);
    let door = route.map_or(Door::External, |(_, door)| door);
    let (gate, fault, latency) = {
        let mut state = shared.lock();
        state.stats.count(endpoint, &path);
        let gate = state.gate(shared.clock.now());
        // A gateway that refuses everything never reaches the faults queued behind it.
        let fault = if gate.is_ok() {
            state.faults.take(endpoint)
        } else {
            None
        };
        (gate, fault, state.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let reply = match gate {
        Err(refused) => refused.reply(&trace, shared.now_kst()),
        Ok(quota) => {
            let mut reply = match fault {
                Some(FaultKind::Delay(delay)) => {
                    tokio::time::sleep(delay).await;
                    dispatch(&shared, endpoint, door, &parts, body, &trace).await
                }
                Some(kind @ (FaultKind::TruncatedOk | FaultKind::Rewrite { .. })) => tamper(
                    dispatch(&shared, endpoint, door, &parts, body, &trace).await,
                    kind,
                ),
                Some(kind) => fault_reply(kind, &trace, shared.now_kst()),
                None => dispatch(&shared, endpoint, door, &parts, body, &trace).await,
            };
            reply.headers.extend(quota);
            reply
        }
    };
    {
        let mut state = shared.lock();
        if let Some(code) = &reply.code {
            *state.stats.rejected.entry(code.clone()).or_default() += 1;
        }
        state.log.push(RequestRecord {
            method: parts.method.to_string(),
            path,
            query: parts.uri.query().map(str::to_owned),
            status: reply.status,
            code: reply.code.clone(),
        });
    }
    reply.into_response(&trace, started)
}

fn fault_reply(kind: FaultKind, trace: &str, now: DateTime<FixedOffset>) -> Reply {
    match kind {
        FaultKind::Status { status, code } => {
            let message = match code {
                "GW.RATE_LIMIT" => RATE_LIMIT_MESSAGE,
                "GW.QUOTA_LIMIT" => QUOTA_LIMIT_MESSAGE,
                "GW.AUTHN" => "인증에 실패했습니다.",
                "GW.IP_NOT_ALLOWED" => "허용되지 않은 IP입니다.",
                "GW.BLOCK.02" => MAINTENANCE_MESSAGE,
                c if c.starts_with("GW.BLOCK") => "일시적으로 서비스를 사용할 수 없습니다.",
                c if c.starts_with("GW.TIMEOUT") => "요청 처리 시간이 초과되었습니다.",
                _ => "서버 내부 오류가 발생했습니다.",
            };
            let mut error = ApiError::new(status, code, message);
            if code == "GW.QUOTA_LIMIT" {
                error.headers = vec![
                    ("GNCP-GW-Quota-Period", "ROUND".to_owned()),
                    ("GNCP-GW-Quota-Limit", "1000".to_owned()),
                    ("GNCP-GW-Quota-Remaining", "0".to_owned()),
                ];
            }
            error.reply(trace, now)
        }
        FaultKind::HtmlOk => html_page(200),
        FaultKind::HtmlStatus(status) => html_page(status),
        FaultKind::EmptyOk => Reply {
            status: 200,
            body: ReplyBody::RawJson(String::new()),
            headers: Vec::new(),
            code: Some("EMPTY".to_owned()),
        },
        FaultKind::ErrorCodeInOk => {
            let mut reply = ApiError::new(
                200,
                "9999",
                "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.",
            )
            .reply(trace, now);
            reply.status = 200;
            reply
        }
        // Handled by the caller (it delays, or tampers with the normal answer).
        FaultKind::Delay(_) | FaultKind::TruncatedOk | FaultKind::Rewrite { .. } => {
            ApiError::new(500, "GW.INTERNAL_SERVER_ERROR", "not a standalone fault")
                .reply(trace, now)
        }
    }
}

fn html_page(status: u16) -> Reply {
    Reply {
        status,
        body: ReplyBody::Html(
            "<!DOCTYPE html>\n<html><head><title>점검 안내</title></head>\
             <body><h1>서비스 점검 중입니다</h1></body></html>\n"
                .to_owned(),
        ),
        headers: Vec::new(),
        code: Some("HTML".to_owned()),
    }
}

/// Applies [`FaultKind::TruncatedOk`] or [`FaultKind::Rewrite`] to a 2xx JSON answer; any other
/// answer (an error, a token refusal) is returned as it is.
fn tamper(mut reply: Reply, kind: FaultKind) -> Reply {
    if !(200..300).contains(&reply.status) {
        return reply;
    }
    let ReplyBody::Json(value) = &mut reply.body else {
        return reply;
    };
    match kind {
        FaultKind::TruncatedOk => {
            let text = value.to_string();
            let mut cut = text.len() / 2;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            reply.body = ReplyBody::RawJson(text[..cut].to_owned());
            reply.code = Some("TRUNCATED".to_owned());
        }
        FaultKind::Rewrite {
            pointer,
            value: new,
        } if rewrite(value, pointer, new.as_ref()) => {
            reply.code = Some("REWRITTEN".to_owned());
        }
        _ => {}
    }
    reply
}

/// Replaces (or, with `None`, removes) the value at a JSON pointer; false if there is none.
fn rewrite(root: &mut Value, pointer: &str, new: Option<&Value>) -> bool {
    match new {
        Some(new) => match root.pointer_mut(pointer) {
            Some(slot) => {
                *slot = new.clone();
                true
            }
            None => false,
        },
        None => {
            let Some((parent, last)) = pointer.rsplit_once('/') else {
                return false;
            };
            let last = last.replace("~1", "/").replace("~0", "~");
            match root.pointer_mut(parent) {
                Some(Value::Object(map)) => map.remove(&last).is_some(),
                Some(Value::Array(items)) => match last.parse::<usize>() {
                    Ok(i) if i < items.len() => {
                        items.remove(i);
                        true
                    }
                    _ => false,
                },
                _ => false,
            }
        }
    }
}

async fn dispatch(
    shared: &Shared,
    endpoint: Option<Endpoint>,
    door: Door,
    parts: &Parts,
    body: Incoming,
    trace: &str,
) -> Reply {
    let now = shared.now_kst();
    let Some(endpoint) = endpoint else {
        return ApiError::new(404, "GW.NOT_FOUND", "요청한 API를 찾을 수 없습니다.")
            .reply(trace, now);
    };
    let bytes = match read_body(body, MAX_BODY).await {
        Some(bytes) => bytes,
        None => {
            return ApiError::new(413, "4000", "request body is too large or unreadable")
                .reply(trace, now);
        }
    };
    let result = match endpoint {
        Endpoint::Token => token(shared, door, parts, &bytes),
        Endpoint::Feed | Endpoint::Details | Endpoint::Search => {
            authenticated(shared, endpoint, parts, &bytes, trace)
        }
        // `classify` never yields it.
        Endpoint::Any => Err(ApiError::new(404, "GW.NOT_FOUND", "no such API")),
    };
    result.unwrap_or_else(|error| error.reply(trace, now))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The token answer has no `traceId` field; the header carries it.
///
/// Also counts the requests NAVER punishes with its hourly penalty ([`Stats::token_spec_violations`]).
fn token(shared: &Shared, door: Door, parts: &Parts, body: &[u8]) -> Result<Reply, ApiError> {
    let checked = auth::check_request(
        &shared.creds,
        parts.uri.query(),
        header(&parts.headers, "content-type"),
        body,
        shared.clock.now().timestamp_millis(),
    );
    let violation = match &checked {
        Ok(grant) => {
            (grant.resource == "SELF" && grant.sent_account_id)
                || (door == Door::External && grant.resource.starts_with("SELLER"))
        }
        // Not a form body (415), or no `grant_type=client_credentials`.
        Err(error) => {
            error.status == 415
                || error
                    .invalid_inputs
                    .iter()
                    .any(|input| input["name"] == "grant_type")
        }
    };
    if violation {
        shared.lock().stats.token_spec_violations += 1;
    }
    let grant = checked?;
    let mut state = shared.lock();
    let (token, expires_in, new) =
        state
            .tokens
            .issue(&shared.creds.client_id, &grant.resource, Instant::now());
    state.stats.tokens_issued += u64::from(new);
    Ok(Reply::ok(json!({
        "access_token": token,
        "expires_in": expires_in,
        "token_type": "Bearer",
    })))
}

fn authenticated(
    shared: &Shared,
    endpoint: Endpoint,
    parts: &Parts,
    body: &[u8],
    trace: &str,
) -> Result<Reply, ApiError> {
    let now = Instant::now();
    let mut state = shared.lock();
    let app = header(&parts.headers, "authorization")
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("Bearer")
                .then_some(token.trim())
        })
        .and_then(|token| state.tokens.check(token, now))
        .map(str::to_owned);
    let Some(app) = app else {
        return Err(ApiError::new(
            401,
            "GW.AUTHN",
            "인증에 실패했습니다. (token missing, unknown or expired)",
        ));
    };
    let verdict = state.limiter.take(parts.uri.path(), &app, now);
    let result = if !verdict.allowed {
        Err(ApiError::new(429, "GW.RATE_LIMIT", RATE_LIMIT_MESSAGE))
    } else if endpoint == Endpoint::Search {
        search(
            &shared.current_shop(),
            &state.hidden,
            parts.uri.query(),
            shared.now_kst(),
            trace,
        )
        .map(|(reply, rows)| {
            state.stats.search_rows += rows as u64;
            reply
        })
    } else if endpoint == Endpoint::Feed {
        feed(
            &shared.current_shop(),
            parts.uri.query(),
            shared.now_kst(),
            trace,
        )
        .map(|(reply, rows)| {
            state.stats.feed_rows += rows as u64;
            reply
        })
    } else {
        let hidden = &state.hidden;
        let outcome = details(
            &shared.current_shop(),
            hidden,
            &parts.headers,
            body,
            trace,
            shared.now_kst(),
        );
        let (reply, requested) = outcome;
        state.stats.detail_ids_requested += requested as u64;
        reply
    };
    // The rate-limit headers go on every authenticated answer, errors included.
    match result {
        Ok(mut reply) => {
            reply.headers.extend(verdict.headers());
            Ok(reply)
        }
        Err(mut error) => {
            error.headers.extend(verdict.headers());
            Err(error)
        }
    }
}

/// Decodes `application/x-www-form-urlencoded` (also query strings) strictly: `+` is a space,
/// `%XX` must be valid hex, and the result must be UTF-8.
pub(crate) fn parse_form(raw: &str) -> Result<Vec<(String, String)>, String> {
    fn decode(part: &str) -> Result<String, String> {
        let bytes = part.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = bytes
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(|| format!("bad percent-escape in {part:?}"))?;
                    out.push(hex);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).map_err(|_| format!("{part:?} is not UTF-8 once decoded"))
    }
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

/// Parses a request date in exactly `yyyy-MM-dd'T'HH:mm:ss.SSS+09:00`.
///
/// Stricter than Java's `XXX` (which would also take other offsets): our client always sends
/// KST, and the docs warn that other formats "can cause unexpected errors".
fn parse_naver_time(name: &str, raw: &str) -> Result<DateTime<FixedOffset>, ApiError> {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd.ddd+09:00";
    let shaped = raw.len() == SHAPE.len()
        && raw.bytes().zip(SHAPE).all(|(c, &s)| {
            if s == b'd' {
                c.is_ascii_digit()
            } else {
                c == s
            }
        });
    shaped
        .then(|| DateTime::parse_from_rfc3339(raw).ok())
        .flatten()
        .ok_or_else(|| {
            let hint = if raw.contains(' ') {
                " A '+' must be sent as %2B: a raw '+' arrives as a space."
            } else {
                ""
            };
            ApiError::param(
                name,
                "typeMismatch",
                &format!("must be yyyy-MM-dd'T'HH:mm:ss.SSS+09:00, got {raw:?}.{hint}"),
            )
        })
}

const CHANGED_TYPES: [&str; 13] = [
    "PAY_WAITING",
    "PAYED",
    "EXCHANGE_OPTION",
    "DELIVERY_ADDRESS_CHANGED",
    "GIFT_RECEIVED",
    "CLAIM_REJECTED",
    "DISPATCHED",
    "CLAIM_REQUESTED",
    "COLLECT_DONE",
    "CLAIM_COMPLETED",
    "PURCHASE_DECIDED",
    "HOPE_DELIVERY_INFO_CHANGED",
    "CLAIM_REDELIVERING",
];

/// `moreSequence`: the first row not yet returned, as 13 digits of epoch milliseconds then its
/// `productOrderId`. Opaque to clients; digits only, like NAVER's.
fn encode_sequence(next: &ChangeEvent) -> String {
    format!(
        "{:013}{}",
        next.last_changed_date.timestamp_millis(),
        next.product_order_id
    )
}

fn decode_sequence(raw: &str, from: DateTime<FixedOffset>) -> Result<(i64, String), ApiError> {
    let invalid = |detail: &str| ApiError::param("moreSequence", "invalid", detail);
    if raw.len() <= 13 || !raw.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid("not a moreSequence this API returned"));
    }
    let millis: i64 = raw[..13]
        .parse()
        .map_err(|_| invalid("not a moreSequence this API returned"))?;
    if millis != from.timestamp_millis() {
        return Err(invalid(
            "moreSequence must be sent with lastChangedFrom = the moreFrom it came with",
        ));
    }
    Ok((millis, raw[13..].to_owned()))
}

/// The change feed; returns the answer and the number of rows in it.
fn feed(
    shop: &Shop,
    query: Option<&str>,
    now: DateTime<FixedOffset>,
    trace: &str,
) -> Result<(Reply, usize), ApiError> {
    let pairs = parse_form(query.unwrap_or(""))
        .map_err(|e| ApiError::param("query", "typeMismatch", &e))?;
    let params = query_params(&pairs, None)?;
    let from_raw = params
        .get("lastChangedFrom")
        .ok_or_else(|| ApiError::param("lastChangedFrom", "NotNull", "required"))?;
    let from = parse_naver_time("lastChangedFrom", from_raw)?;
    if from > now + FUTURE_GRACE {
        return Err(ApiError::param(
            "lastChangedFrom",
            "future",
            "must not be in the future",
        ));
    }
    let to = match params.get("lastChangedTo") {
        Some(raw) => {
            let to = parse_naver_time("lastChangedTo", raw)?;
            if to > now + FUTURE_GRACE {
                return Err(ApiError::param(
                    "lastChangedTo",
                    "future",
                    "must not be in the future (clamp it to now)",
                ));
            }
            to
        }
        None => from + MAX_WINDOW,
    };
    if to < from {
        return Err(ApiError::param(
            "lastChangedTo",
            "range",
            "must not be before lastChangedFrom",
        ));
    }
    if to - from > MAX_WINDOW {
        return Err(ApiError::new(
            400,
            "104139",
            "조회 가능한 기간을 초과했습니다. (lastChangedFrom..lastChangedTo must be at most 24 hours)",
        )
        .input("lastChangedTo", "range", "at most 24 hours after lastChangedFrom"));
    }
    let limit = match params.get("limitCount") {
        None => MAX_PER_CALL,
        Some(raw) => match raw.parse::<u64>() {
            Ok(n) if n >= 1 && raw.bytes().all(|c| c.is_ascii_digit()) => {
                (n as usize).min(MAX_PER_CALL)
            }
            _ => {
                return Err(ApiError::param(
                    "limitCount",
                    "typeMismatch",
                    "must be a positive integer",
                ));
            }
        },
    };
    let only = match params.get("lastChangedType") {
        None => None,
        Some(t) if CHANGED_TYPES.contains(t) => Some(*t),
        Some(_) => {
            return Err(ApiError::param(
                "lastChangedType",
                "typeMismatch",
                "not a lastChangedType value",
            ));
        }
    };
    let cursor = params
        .get("moreSequence")
        .map(|raw| decode_sequence(raw, from))
        .transpose()?;

    let (start, end) = shop.range(from, to);
    // The snapshot: each product order's latest record only (reference §2e).
    let window = &shop.records()[start..end];
    let begin = cursor.as_ref().map_or(0, |(millis, id)| {
        window.partition_point(|e| e.key() < (*millis, id.as_str()))
    });
    let mut matching = window[begin..]
        .iter()
        .filter(|e| only.is_none_or(|t| e.last_changed_type == t));
    let page: Vec<Value> = matching
        .by_ref()
        .take(limit)
        .map(ChangeEvent::to_json)
        .collect();
    let rows = page.len();
    let mut data = Map::new();
    data.insert("count".into(), json!(rows));
    data.insert("lastChangeStatuses".into(), Value::Array(page));
    if let Some(next) = matching.next() {
        data.insert(
            "more".into(),
            json!({
                "moreFrom": naver_time(next.last_changed_date),
                "moreSequence": encode_sequence(next),
            }),
        );
    }
    Ok((
        Reply::ok(json!({
            "timestamp": naver_time(now),
            "traceId": trace,
            "data": data,
        })),
        rows,
    ))
}

/// The query's parameters by name: each at most once, and (with `known`) only those names.
fn query_params<'q>(
    pairs: &'q [(String, String)],
    known: Option<&[&str]>,
) -> Result<HashMap<&'q str, &'q str>, ApiError> {
    let mut params = HashMap::new();
    for (name, value) in pairs {
        if known.is_some_and(|known| !known.contains(&name.as_str())) {
            return Err(ApiError::param(
                name,
                "unknown",
                "not a parameter of this API",
            ));
        }
        if params.insert(name.as_str(), value.as_str()).is_some() {
            return Err(ApiError::param(name, "duplicated", "given more than once"));
        }
    }
    Ok(params)
}

/// The conditional search (§2c); returns the answer and the number of product orders in it.
fn search(
    shop: &Shop,
    hidden: &HashSet<String>,
    query: Option<&str>,
    now: DateTime<FixedOffset>,
    trace: &str,
) -> Result<(Reply, usize), ApiError> {
    const KNOWN: [&str; 6] = [
        "from",
        "to",
        "rangeType",
        "pageSize",
        "page",
        "quantityClaimCompatibility",
    ];
    let pairs = parse_form(query.unwrap_or(""))
        .map_err(|e| ApiError::param("query", "typeMismatch", &e))?;
    let params = query_params(&pairs, Some(&KNOWN))?;
    let from_raw = params
        .get("from")
        .ok_or_else(|| ApiError::param("from", "NotNull", "required"))?;
    let from = parse_naver_time("from", from_raw)?;
    let to = match params.get("to") {
        Some(raw) => parse_naver_time("to", raw)?,
        None => from + MAX_WINDOW,
    };
    if from > now + FUTURE_GRACE || to > now + FUTURE_GRACE {
        return Err(ApiError::param(
            "to",
            "future",
            "from and to must not be in the future (clamp to now)",
        ));
    }
    if to < from {
        return Err(ApiError::param("to", "range", "must not be before from"));
    }
    if to - from > MAX_WINDOW {
        return Err(ApiError::new(
            400,
            "104139",
            "조회 가능한 기간을 초과했습니다. (from..to must be at most 24 hours)",
        )
        .input("to", "range", "at most 24 hours after from"));
    }
    let range_type = params.get("rangeType").copied().unwrap_or("PAYED_DATETIME");
    let number = |name: &str, default: usize, max: usize| -> Result<usize, ApiError> {
        match params.get(name) {
            None => Ok(default),
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) && raw.bytes().all(|c| c.is_ascii_digit()) => Ok(n),
                _ => Err(ApiError::param(
                    name,
                    "range",
                    &format!("must be a whole number from 1 to {max}"),
                )),
            },
        }
    };
    let size = number("pageSize", MAX_PER_CALL, MAX_PER_CALL)?;
    let page = number("page", 1, 1_000_000)?;
    let Some(found) = shop.dated_between(range_type, from, to) else {
        return Err(ApiError::param(
            "rangeType",
            "typeMismatch",
            "PAYED_DATETIME or ORDERED_DATETIME (the fake emulates no other range type)",
        ));
    };
    let visible: Vec<&String> = found
        .iter()
        .map(|(_, id)| id)
        .filter(|id| !hidden.contains(*id))
        .collect();
    let start = (page - 1).saturating_mul(size).min(visible.len());
    let end = start.saturating_add(size).min(visible.len());
    let contents: Vec<Value> = visible[start..end]
        .iter()
        .filter_map(|id| Some(json!({"productOrderId": id, "content": shop.detail_json(id)?})))
        .collect();
    let rows = contents.len();
    Ok((
        Reply::ok(json!({
            "timestamp": naver_time(now),
            "traceId": trace,
            "data": {
                "contents": contents,
                "pagination": {"page": page, "size": size, "hasNext": end < visible.len()},
            },
        })),
        rows,
    ))
}

/// The details query; returns the answer and the number of ids asked for (0 if unreadable).
fn details(
    shop: &Shop,
    hidden: &HashSet<String>,
    headers: &HeaderMap,
    body: &[u8],
    trace: &str,
    now: DateTime<FixedOffset>,
) -> (Result<Reply, ApiError>, usize) {
    let json_typed = header(headers, "content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_typed {
        return (
            Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                "Content-Type must be application/json",
            )),
            0,
        );
    }
    let request: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            return (
                Err(ApiError::param(
                    "body",
                    "typeMismatch",
                    &format!("not JSON: {e}"),
                )),
                0,
            );
        }
    };
    let Some(ids) = request.get("productOrderIds").and_then(Value::as_array) else {
        return (
            Err(ApiError::param(
                "productOrderIds",
                "NotNull",
                "an array of productOrderId strings is required",
            )),
            0,
        );
    };
    let requested = ids.len();
    if ids.is_empty() || ids.len() > MAX_PER_CALL {
        return (
            Err(ApiError::param(
                "productOrderIds",
                "Size",
                &format!("size must be between 1 and {MAX_PER_CALL} (got {requested})"),
            )),
            requested,
        );
    }
    let Some(ids) = ids.iter().map(Value::as_str).collect::<Option<Vec<&str>>>() else {
        return (
            Err(ApiError::param(
                "productOrderIds",
                "typeMismatch",
                "every productOrderId must be a string",
            )),
            requested,
        );
    };
    if let Some(flag) = request.get("quantityClaimCompatibility")
        && !flag.is_boolean()
    {
        return (
            Err(ApiError::param(
                "quantityClaimCompatibility",
                "typeMismatch",
                "must be a boolean",
            )),
            requested,
        );
    }
    let mut seen = HashSet::new();
    let data: Vec<Value> = ids
        .into_iter()
        .filter(|id| seen.insert(*id) && !hidden.contains(*id))
        .filter_map(|id| shop.detail_json(id))
        .collect();
    (
        Ok(Reply::ok(json!({
            "timestamp": naver_time(now),
            "traceId": trace,
            "data": data,
        }))),
        requested,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_is_strict() {
        assert_eq!(
            parse_form("a=1%2B2&b=x+y&&c").unwrap(),
            vec![
                ("a".into(), "1+2".into()),
                ("b".into(), "x y".into()),
                ("c".into(), String::new())
            ]
        );
        assert!(parse_form("a=%2").is_err());
        assert!(parse_form("a=%zz").is_err());
        assert!(parse_form("a=%ff").is_err());
        assert_eq!(parse_form("k=%ED%95%9C").unwrap()[0].1, "한");
    }

    #[test]
    fn dates_must_have_millis_and_kst() {
        assert!(parse_naver_time("x", "2026-01-01T01:01:01.001+09:00").is_ok());
        for bad in [
            "2026-01-01T01:01:01.001 09:00",
            "2026-01-01T01:01:01+09:00",
            "2026-01-01T01:01:01.001Z",
            "2026-01-01T01:01:01.001+00:00",
            "2026-13-01T01:01:01.001+09:00",
            "2026-01-01 01:01:01.001+09:00",
        ] {
            let error = parse_naver_time("lastChangedFrom", bad).unwrap_err();
            assert_eq!(error.code, "4000", "{bad}");
            assert!(error.message.contains("lastChangedFrom"));
        }
    }
}
