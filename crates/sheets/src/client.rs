//! The Google Sheets client: google-sheets4 + yup-oauth2 with the service account's key, calls
//! retried on 429 and 5xx with truncated exponential backoff and jitter inside a deadline.
//!
//! Guards for the crate's traps (reference §0): every call asks for the spreadsheets scope only
//! (the crate's default would be full Drive); ranges in URL paths are percent-encoded; values
//! are never JSON null (the crate drops nulls and shifts cells); the connector speaks HTTP/1.1
//! as well as HTTP/2; TLS is the process's one rustls provider (ring). Every write goes to an
//! explicit range, so retrying one is safe; nothing here ever calls `append`.

use ordersync_core::backoff::Backoff;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use google_sheets4::api::{
    AddSheetRequest, BatchUpdateSpreadsheetRequest, BatchUpdateValuesRequest, GridProperties,
    Request, Response as BatchReply, Scope, SheetProperties, UpdateSheetPropertiesRequest,
    ValueRange,
};
use google_sheets4::{FieldMask, Sheets, hyper_rustls, hyper_util, yup_oauth2};
use ordersync_core::errors::{ErrorName, StepError};
use serde_json::Value;
use tracing::warn;

use crate::a1;
use crate::error::SheetsError;
use crate::scan::{PlanNeeds, TabIndex, TabScan};
use crate::stream::{AnswerSink, ValueRangeStream};
use crate::upsert::{Unguarded, WriteGuard};
use crate::workbook::{GridChange, KeyRead, Limits, Workbook};
pub use crate::workbook::{TabInfo, TabRead};

/// Kept between the end of a write attempt and the lease's expiry (clock drift, the answer's
/// way back).
const LEASE_MARGIN: Duration = Duration::from_secs(2);
/// The shortest write attempt worth starting.
const MIN_ATTEMPT: Duration = Duration::from_secs(1);
/// A retry with less time than this left is not made: it could only time out.
const MIN_CALL: Duration = Duration::from_millis(50);

/// Our `User-Agent`: Google compresses an answer only when it holds `gzip`, as
/// `Accept-Encoding` does.
const USER_AGENT: &str = concat!("ordersync/", env!("CARGO_PKG_VERSION"), " (gzip)");

/// The most of an error answer's body kept to read its JSON (Google's are a few hundred bytes).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The JSON of an error answer, as google-sheets4 would report it: Google's `{"error": …}` when
/// the body is that, else a stand-in with the status (a proxy's HTML page, an empty body).
fn error_json(status: u16, body: &[u8], gzip: bool) -> Value {
    let body = if gzip {
        let mut decoder = flate2::write::GzDecoder::new(Vec::new());
        let written = std::io::Write::write_all(&mut decoder, body).is_ok();
        match decoder.finish() {
            Ok(out) if written => out,
            _ => Vec::new(),
        }
    } else {
        body.to_vec()
    };
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) if v.get("error").is_some() => v,
        _ => serde_json::json!({"error": {"code": status, "message": "a non-JSON error answer"}}),
    }
}

/// Production API root (`GOOGLE_SHEETS_BASE_URL` overrides it).
pub const DEFAULT_BASE_URL: &str = "https://sheets.googleapis.com/";

type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;
type Hub = Sheets<Connector>;

#[derive(Debug, Clone)]
pub struct SheetsConfig {
    /// Ends with `/` (google-sheets4 concatenates `v4/spreadsheets/...`).
    pub base_url: String,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Google's cell limit per spreadsheet (all tabs, empty cells included).
    pub max_cells: usize,
    /// Value writes are split so that no request body is larger than this (Google advises
    /// 2 MB). A smaller value is for a proxy that limits bodies, and lets tests make one
    /// upsert take several writes without megabytes of rows.
    pub max_request_bytes: usize,
    /// TCP connect, for the Sheets API and the token endpoint alike.
    pub connect_timeout: Duration,
    /// One whole call (token fetch included), after which it is abandoned and retried like a
    /// 503. google-sheets4, hyper-util and yup-oauth2 set none, so one stalled socket would hold
    /// the Lambda (and the lease) until it dies.
    pub request_timeout: Duration,
}

impl Default for SheetsConfig {
    fn default() -> Self {
        SheetsConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            // Google's advice: 2^n s plus up to 1 s of jitter, capped at 32–64 s.
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(32),
            max_cells: 10_000_000,
            max_request_bytes: crate::upsert::MAX_REQUEST_BYTES,
            connect_timeout: Duration::from_secs(10),
            // Google stops processing a request after 180 s; a healthy 2 MB write takes
            // seconds and reading a 100,000-row tab (~50 MB) well under a minute, so 120 s
            // only ends calls that are stuck, and leaves the insert deadline (~890 s) room for
            // several retries.
            request_timeout: Duration::from_secs(120),
        }
    }
}

/// The smallest `GOOGLE_SHEETS_MAX_REQUEST_BYTES` accepted: one wide row must fit.
pub const MIN_REQUEST_BYTES: usize = 4_096;

impl SheetsConfig {
    /// Reads `GOOGLE_SHEETS_BASE_URL` and `GOOGLE_SHEETS_MAX_REQUEST_BYTES`.
    pub fn from_env(env: &dyn ordersync_core::config::Env) -> Result<Self, SheetsError> {
        let mut config = SheetsConfig::default();
        if let Some(url) = env.var("GOOGLE_SHEETS_BASE_URL") {
            config.base_url = check_base_url(&url)?;
        }
        if let Some(bytes) = env.var("GOOGLE_SHEETS_MAX_REQUEST_BYTES") {
            config.max_request_bytes = check_request_bytes(&bytes)?;
        }
        Ok(config)
    }
}

/// An `http(s)://host[:port]/…` URL, with the trailing `/` the crate needs. A malformed base URL
/// would make google-sheets4 panic at call time, so it is checked here, once.
pub fn check_base_url(url: &str) -> Result<String, SheetsError> {
    let url = url.trim();
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url
            .split("://")
            .nth(1)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
        && !url.contains(char::is_whitespace);
    if !ok {
        return Err(SheetsError::Config(
            "GOOGLE_SHEETS_BASE_URL must be an http(s) URL".into(),
        ));
    }
    Ok(if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    })
}

/// Checks `GOOGLE_SHEETS_MAX_REQUEST_BYTES`: a whole number from [`MIN_REQUEST_BYTES`] up.
pub fn check_request_bytes(value: &str) -> Result<usize, SheetsError> {
    match value.trim().parse::<usize>() {
        Ok(bytes) if bytes >= MIN_REQUEST_BYTES => Ok(bytes),
        _ => Err(SheetsError::Config(format!(
            "GOOGLE_SHEETS_MAX_REQUEST_BYTES must be a whole number of bytes, at least {MIN_REQUEST_BYTES}"
        ))),
    }
}

pub struct SheetsClient {
    hub: Hub,
    config: SheetsConfig,
    reads: AtomicU64,
    writes: AtomicU64,
    /// Body bytes of tab reads as they crossed the wire (compressed when Google compressed).
    bytes_read: AtomicU64,
}

enum Retry {
    Quota(String),
    Transient(String),
}

impl Retry {
    /// What the caller hears once retrying stops: a quota that never freed up stays a
    /// `RateLimited` (worth a later retry), anything else is an `Upstream` failure.
    fn into_error(self) -> SheetsError {
        match self {
            Retry::Quota(message) => SheetsError::RateLimited { message },
            Retry::Transient(message) => SheetsError::Upstream { message },
        }
    }
}

/// Keeps the HTTP status of a failed answer: google-sheets4 reports any JSON error body as
/// `BadRequest(json)` without it, and a body from something in front of Google (a proxy, a load
/// balancer) need not be Google's error JSON with its `code`.
#[derive(Default)]
struct HttpStatus(Option<u16>);

impl google_sheets4::Delegate for HttpStatus {
    fn http_failure(
        &mut self,
        response: &google_sheets4::common::Response,
        _: Option<&Value>,
    ) -> google_sheets4::common::Retry {
        self.0 = Some(response.status().as_u16());
        google_sheets4::common::Retry::Abort
    }
}

/// Refusals whose generic reading would send the seller the wrong way, with what to do
/// instead (reference §7): the Sheets API disabled in the key's project reads as a 403 like a
/// missing share; an .xlsx in Drive and a protected range read as a generic 400.
fn precise_refusal(error: &Value) -> Option<SheetsError> {
    let status = error["status"].as_str().unwrap_or("");
    let message = error["message"].as_str().unwrap_or("");
    let reasons: Vec<&str> = error["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["reason"].as_str())
        .collect();
    if reasons.contains(&"SERVICE_DISABLED") || message.contains("has not been used in project") {
        return Some(SheetsError::Config(
            "the Google Sheets API is not enabled in the service account's Google Cloud project: \
             enable it (APIs & Services → Library → Google Sheets API) for the key's project, \
             wait a few minutes, then redrive — this is not a sharing problem"
                .into(),
        ));
    }
    if status == "FAILED_PRECONDITION" && message.contains("not supported for this document") {
        return Some(SheetsError::Sheet(
            "the spreadsheet is an Office file (.xlsx) opened in Google Drive, not a Google Sheet: \
             open it and use File → Save as Google Sheets, then point sheet.spreadsheet_id at the \
             new file"
                .into(),
        ));
    }
    if message.contains("protected cell or object") {
        return Some(SheetsError::Sheet(
            "a protected range covers columns ordersync writes: remove the protection from the \
             tab's managed columns, or add the service account's e-mail to the protection's \
             editors, then redrive"
                .into(),
        ));
    }
    None
}

/// The OAuth error code when the token endpoint refused the service account itself (a revoked
/// or deleted key, a wrong client, a bad assertion), as opposed to failing to answer.
fn token_refusal(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    use yup_oauth2::error::AuthErrorCode as C;
    let yup_oauth2::Error::AuthError(refusal) = error.downcast_ref::<yup_oauth2::Error>()? else {
        return None;
    };
    match &refusal.error {
        C::InvalidRequest
        | C::InvalidClient
        | C::InvalidGrant
        | C::UnauthorizedClient
        | C::UnsupportedGrantType
        | C::InvalidScope
        | C::AccessDenied => Some(refusal.error.as_str().to_owned()),
        C::ExpiredToken | C::Other(_) => None,
    }
}

/// Reads `'Tab'!A1:Z1000` → (1000, 26).
fn grid_from_range(range: &str) -> Option<(usize, usize)> {
    let cells = range.rsplit('!').next()?;
    let end = cells.split(':').nth(1)?;
    let letters: String = end
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let digits: String = end.chars().skip(letters.len()).collect();
    let cols = letters.bytes().fold(0usize, |n, b| {
        n * 26 + (b.to_ascii_uppercase() - b'A' + 1) as usize
    });
    Some((digits.parse().ok()?, cols))
}

impl SheetsClient {
    /// Builds the client from a service-account key (JSON). The key's `token_uri` is honoured.
    pub async fn new(key_json: &str, config: SheetsConfig) -> Result<Self, SheetsError> {
        ordersync_core::tls::install_crypto_provider();
        // yup's parse error may quote the key; say only that it is not one.
        let key = yup_oauth2::parse_service_account_key(key_json).map_err(|_| {
            SheetsError::Config("the Google service-account key is not valid key JSON".into())
        })?;
        let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
        tcp.set_connect_timeout(Some(config.connect_timeout));
        tcp.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| SheetsError::Config(format!("no TLS root certificates: {e}")))?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        use hyper_util::client::legacy::Client;
        use hyper_util::rt::TokioExecutor;
        let http = Client::builder(TokioExecutor::new()).build(connector.clone());
        // The token endpoint gets the same connector (connect timeout) and its own request
        // timeout; the call around it is bounded too (`retrying`).
        let auth = yup_oauth2::ServiceAccountAuthenticator::with_client(
            key,
            yup_oauth2::CustomHyperClientBuilder::from(
                Client::builder(TokioExecutor::new()).build(connector),
            ),
        )
        .with_timeout(config.request_timeout)
        .build()
        .await
        .map_err(|_| {
            SheetsError::Config(
                "the Google service-account key's private key cannot be used".into(),
            )
        })?;
        let mut hub = Sheets::new(http, auth);
        hub.base_url(config.base_url.clone());
        Ok(SheetsClient {
            hub,
            config,
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
        })
    }

    pub fn config(&self) -> &SheetsConfig {
        &self.config
    }

    /// Body bytes of tab reads received so far, as sent (compressed when Google compressed).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// (reads, writes) made so far, retries included.
    pub fn calls(&self) -> (u64, u64) {
        (
            self.reads.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
        )
    }

    /// Decides on a failed call; `http_status` is the answer's status, when there was one.
    fn classify(
        &self,
        spreadsheet: &str,
        error: google_sheets4::Error,
        http_status: Option<u16>,
    ) -> Result<Retry, SheetsError> {
        use google_sheets4::Error as E;
        if let E::BadRequest(v) = &error
            && let Some(precise) = precise_refusal(&v["error"])
        {
            return Err(precise);
        }
        let (code, status, message) = match &error {
            // Google's `error.code`, else the answer's own status.
            E::BadRequest(v) => (
                v["error"]["code"]
                    .as_u64()
                    .and_then(|c| u16::try_from(c).ok())
                    .or(http_status)
                    .unwrap_or(400),
                v["error"]["status"].as_str().unwrap_or("").to_owned(),
                v["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .chars()
                    .take(300)
                    .collect::<String>(),
            ),
            E::Failure(response) => (
                response.status().as_u16(),
                String::new(),
                "a non-JSON error answer".into(),
            ),
            E::HttpError(_) | E::Io(_) => return Ok(Retry::Transient("connection failed".into())),
            E::JsonDecodeError(..) => return Ok(Retry::Transient("an unreadable answer".into())),
            // google-sheets4 turns every token failure into `MissingToken`. Only Google's own
            // refusal of the service account is an auth failure; a network error, a 5xx or an
            // HTML page from the token endpoint may pass and is retried like any other call.
            E::MissingToken(inner) => {
                return match token_refusal(inner.as_ref()) {
                    Some(code) => Err(SheetsError::Auth {
                        status: format!("token {code}"),
                        message: format!(
                            "Google refused the service account's token request ({code}): check the key (revoked or deleted?) and its project"
                        ),
                    }),
                    None => Ok(Retry::Transient(
                        "the token endpoint failed (connection, 5xx or an unreadable answer)"
                            .into(),
                    )),
                };
            }
            other => {
                return Err(SheetsError::Config(format!(
                    "unexpected client error: {other}"
                )));
            }
        };
        match code {
            429 => Ok(Retry::Quota(message)),
            408 | 500..=599 => Ok(Retry::Transient(format!("HTTP {code} {status}: {message}"))),
            401 | 403 => Err(SheetsError::Auth {
                status: format!("HTTP {code} {status}"),
                message,
            }),
            404 => Err(SheetsError::NotFound {
                spreadsheet: spreadsheet.to_owned(),
            }),
            _ => Err(SheetsError::Rejected {
                status: format!("HTTP {code} {status}"),
                message,
            }),
        }
    }

    /// [`SheetsClient::retrying`] for a read: no guard to ask.
    async fn reading<T, F, Fut>(
        &self,
        spreadsheet: &str,
        deadline: Instant,
        call: F,
    ) -> Result<T, SheetsError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = (google_sheets4::Result<T>, Option<u16>)>,
    {
        self.retrying(spreadsheet, deadline, None::<&mut Unguarded>, call)
            .await
    }

    /// Runs `call` until it succeeds, fails for good, or the next wait would pass `deadline`.
    /// `call` answers with the HTTP status of a failed answer too (see [`HttpStatus`]).
    ///
    /// A write (`guard` given) asks the guard before every attempt — the first and each retry —
    /// so a retry loop that outlives the lease stops instead of landing over the execution that
    /// took the tab meanwhile; each attempt is abandoned before the lease would lapse.
    async fn retrying<T, F, Fut, G: WriteGuard>(
        &self,
        spreadsheet: &str,
        deadline: Instant,
        mut guard: Option<&mut G>,
        call: F,
    ) -> Result<T, SheetsError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = (google_sheets4::Result<T>, Option<u16>)>,
    {
        let mut backoff = Backoff::new(self.config.backoff_base, self.config.backoff_cap, deadline);
        let mut last: Option<Retry> = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // A backoff sleep may overshoot on a loaded machine: with (almost) no time left, a
            // call could only time out, and that would hide what the last attempt saw (a quota
            // 429 would become a transient "no answer").
            if left < MIN_CALL
                && let Some(retry) = last
            {
                return Err(retry.into_error());
            }
            // Never past the deadline, never longer than one call may take.
            let mut bound = self.config.request_timeout.min(left);
            if let Some(guard) = guard.as_deref_mut() {
                guard.before_write().await.map_err(SheetsError::Guard)?;
                if let Some(held) = guard.held_for() {
                    let usable = held.saturating_sub(LEASE_MARGIN);
                    if usable < MIN_ATTEMPT {
                        return Err(SheetsError::Guard(StepError::new(
                            ErrorName::Busy,
                            format!(
                                "the sheet lease is held for only {:.1} s more, too short for a write; stopping before it lapses",
                                held.as_secs_f64()
                            ),
                        )));
                    }
                    bound = bound.min(usable);
                }
            }
            let counter = if guard.is_some() {
                &self.writes
            } else {
                &self.reads
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let retry = match tokio::time::timeout(bound, call()).await {
                Ok((Ok(value), _)) => return Ok(value),
                Ok((Err(error), http_status)) => self.classify(spreadsheet, error, http_status)?,
                // Abandoned like a 503: every write goes to an explicit range, so a late
                // arrival of the abandoned one and the retry write the same cells.
                Err(_) => {
                    Retry::Transient(format!("no answer within {:.1} s", bound.as_secs_f64()))
                }
            };
            // Truncated exponential backoff with full jitter, inside the deadline.
            let Some(delay) = backoff.next_delay() else {
                return Err(retry.into_error());
            };
            let reason = match &retry {
                Retry::Quota(m) | Retry::Transient(m) => m.as_str(),
            };
            warn!(attempt = backoff.attempts(), delay_ms = delay.as_millis() as u64, reason = %reason, "Sheets call failed; retrying");
            last = Some(retry);
            tokio::time::sleep(delay).await;
        }
    }

    /// The whole tab (header + data, unformatted values) kept as `needs` asks, or `None` when
    /// there is no such tab. One `values.get`, read as it arrives ([`crate::stream`]) and
    /// compressed on the wire (gzip), so neither the answer nor the tab is ever held whole.
    pub async fn read_tab(
        &self,
        spreadsheet: &str,
        tab: &str,
        needs: &PlanNeeds<'_>,
        deadline: Instant,
    ) -> Result<Option<TabRead>, SheetsError> {
        // The same request google-sheets4's values_get makes (path percent-encoded here).
        let url = format!(
            "{}v4/spreadsheets/{}/values/{}?majorDimension=ROWS&valueRenderOption=UNFORMATTED_VALUE&alt=json",
            self.config.base_url,
            a1::path_segment(spreadsheet),
            a1::path_segment(&a1::whole_tab(tab)),
        );
        let url = &url;
        let result = self
            .reading(spreadsheet, deadline, move || async move {
                self.stream_values(url, needs).await
            })
            .await;
        let (index, range) = match result {
            Ok(ok) => ok,
            // A missing tab is a 400 "Unable to parse range".
            Err(SheetsError::Rejected { message, .. })
                if message.contains("Unable to parse range") =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let (grid_rows, grid_cols) = range.as_deref().and_then(grid_from_range).unwrap_or((0, 0));
        Ok(Some(TabRead {
            index,
            grid_rows,
            grid_cols,
        }))
    }

    /// One `values.get` of `url`, each row handed to a [`TabScan`] as it arrives. Answers in
    /// google-sheets4's terms (its error for each failure, and the status of a failed answer),
    /// so [`SheetsClient::retrying`] classifies it like every other call.
    async fn stream_values(
        &self,
        url: &str,
        needs: &PlanNeeds<'_>,
    ) -> (
        google_sheets4::Result<(TabIndex, Option<String>)>,
        Option<u16>,
    ) {
        use google_sheets4::Error as E;
        use google_sheets4::hyper::header;
        let token = match self
            .hub
            .auth
            .get_token(&[Scope::Spreadsheet.as_ref()])
            .await
        {
            Ok(token) => token,
            Err(e) => return (Err(E::MissingToken(e)), None),
        };
        let mut request = google_sheets4::hyper::Request::get(url)
            // Google compresses only when both say gzip.
            .header(header::USER_AGENT, USER_AGENT)
            .header(header::ACCEPT_ENCODING, "gzip");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match request.body(google_sheets4::common::to_body::<String>(None)) {
            Ok(r) => r,
            Err(e) => return (Err(E::Io(std::io::Error::other(e))), None),
        };
        let response = match self.hub.client.request(request).await {
            Ok(r) => r,
            Err(e) => return (Err(E::HttpError(e)), None),
        };
        let status = response.status().as_u16();
        let gzip = response
            .headers()
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let mut body = response.into_body();
        let mut scan = TabScan::new(needs);
        let mut on_row = |row: Vec<Value>| scan.row(row);
        let mut failure = (!(200..300).contains(&status)).then(Vec::new);
        let mut sink = AnswerSink::new(ValueRangeStream::new(&mut on_row), gzip);
        let mut broken = None;
        loop {
            let frame = std::future::poll_fn(|cx| {
                google_sheets4::hyper::body::Body::poll_frame(std::pin::Pin::new(&mut body), cx)
            })
            .await;
            let data = match frame {
                None => break,
                Some(Err(e)) => return (Err(E::Io(std::io::Error::other(e))), None),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_) => continue,
                },
            };
            self.bytes_read
                .fetch_add(data.len() as u64, Ordering::Relaxed);
            match &mut failure {
                // An error answer is small: keep its bytes (up to a bound) to read its JSON.
                Some(bytes) => {
                    let room = MAX_ERROR_BODY.saturating_sub(bytes.len());
                    bytes.extend_from_slice(&data[..data.len().min(room)]);
                }
                None if broken.is_none() => {
                    if let Err(e) = sink.write_chunk(&data) {
                        broken = Some(e);
                    }
                }
                None => {}
            }
        }
        if let Some(bytes) = failure {
            return (
                Err(E::BadRequest(error_json(status, &bytes, gzip))),
                Some(status),
            );
        }
        let finished = match broken {
            Some(e) => {
                drop(sink);
                Err(e)
            }
            None => sink.finish(),
        };
        match finished {
            Ok(range) => (Ok((scan.finish(), range)), None),
            Err(e) => (
                Err(E::JsonDecodeError(
                    e.to_string(),
                    serde_json::Error::io(std::io::Error::other(e)),
                )),
                None,
            ),
        }
    }

    /// Row 1 and the key column over grid rows `first..=last`, in one `values.batchGet` of two
    /// narrow ranges (the check before each write request, [`crate::moved`]).
    pub async fn read_keys(
        &self,
        spreadsheet: &str,
        tab: &str,
        key_col: usize,
        (first, last): (usize, usize),
        deadline: Instant,
    ) -> Result<KeyRead, SheetsError> {
        // Query parameters: google-apis-common encodes these itself (unlike the path).
        let header = &format!("{}!1:1", a1::quote_tab(tab));
        let keys = &a1::block(tab, key_col, first, key_col, last);
        let (_, answer) = self
            .reading(spreadsheet, deadline, move || async move {
                let mut status = HttpStatus::default();
                let result = self
                    .hub
                    .spreadsheets()
                    .values_batch_get(spreadsheet)
                    .add_ranges(header)
                    .add_ranges(keys)
                    .major_dimension("ROWS")
                    .value_render_option("UNFORMATTED_VALUE")
                    .add_scope(Scope::Spreadsheet)
                    .delegate(&mut status)
                    .doit()
                    .await;
                (result, status.0)
            })
            .await?;
        let mut ranges = answer.value_ranges.unwrap_or_default().into_iter();
        let (Some(header), Some(keys)) = (ranges.next(), ranges.next()) else {
            return Err(SheetsError::Upstream {
                message: "values.batchGet answered fewer ranges than it was asked for".into(),
            });
        };
        let header = header
            .values
            .unwrap_or_default()
            .into_iter()
            .next()
            .unwrap_or_default();
        let keys = keys
            .values
            .unwrap_or_default()
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .next()
                    .unwrap_or(Value::String(String::new()))
            })
            .collect();
        Ok(KeyRead { header, keys })
    }

    /// Every tab's properties.
    pub async fn tabs(
        &self,
        spreadsheet: &str,
        deadline: Instant,
    ) -> Result<Vec<TabInfo>, SheetsError> {
        let (_, sheet) = self
            .reading(spreadsheet, deadline, move || async move {
                let mut status = HttpStatus::default();
                let result = self
                    .hub
                    .spreadsheets()
                    .get(spreadsheet)
                    .param("fields", "sheets.properties")
                    .add_scope(Scope::Spreadsheet)
                    .delegate(&mut status)
                    .doit()
                    .await;
                (result, status.0)
            })
            .await?;
        Ok(sheet
            .sheets
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| {
                let p = s.properties?;
                let grid = p.grid_properties.unwrap_or_default();
                Some(TabInfo {
                    sheet_id: p.sheet_id?,
                    title: p.title.unwrap_or_default(),
                    rows: grid.row_count.unwrap_or(0).max(0) as usize,
                    cols: grid.column_count.unwrap_or(0).max(0) as usize,
                    frozen_rows: grid.frozen_row_count.unwrap_or(0).max(0) as usize,
                })
            })
            .collect())
    }

    /// One atomic structure change (`spreadsheets.batchUpdate`); returns the replies.
    pub async fn structure(
        &self,
        spreadsheet: &str,
        requests: Vec<Request>,
        deadline: Instant,
        guard: &mut impl WriteGuard,
    ) -> Result<Vec<BatchReply>, SheetsError> {
        let request = &BatchUpdateSpreadsheetRequest {
            requests: Some(requests),
            ..Default::default()
        };
        let (_, reply) = self
            .retrying(spreadsheet, deadline, Some(guard), move || async move {
                let mut status = HttpStatus::default();
                let result = self
                    .hub
                    .spreadsheets()
                    .batch_update(request.clone(), spreadsheet)
                    .add_scope(Scope::Spreadsheet)
                    .delegate(&mut status)
                    .doit()
                    .await;
                (result, status.0)
            })
            .await?;
        Ok(reply.replies.unwrap_or_default())
    }

    /// One `values.batchUpdate` of explicit ranges, `RAW`.
    pub async fn write(
        &self,
        spreadsheet: &str,
        data: Vec<ValueRange>,
        deadline: Instant,
        guard: &mut impl WriteGuard,
    ) -> Result<(), SheetsError> {
        debug_assert!(
            data.iter()
                .flat_map(|r| r.values.iter().flatten().flatten())
                .all(|v| !v.is_null()),
            "JSON null would shift cells"
        );
        let request = &BatchUpdateValuesRequest {
            value_input_option: Some("RAW".into()),
            data: Some(data),
            ..Default::default()
        };
        self.retrying(spreadsheet, deadline, Some(guard), move || async move {
            let mut status = HttpStatus::default();
            let result = self
                .hub
                .spreadsheets()
                .values_batch_update(request.clone(), spreadsheet)
                .add_scope(Scope::Spreadsheet)
                .delegate(&mut status)
                .doit()
                .await;
            (result, status.0)
        })
        .await
        .map(|_| ())
    }
}

/// The google-sheets4 request for a structure change.
fn grid_request(change: &GridChange) -> Request {
    match change {
        GridChange::AddTab {
            title,
            rows,
            cols,
            frozen_rows,
        } => Request {
            add_sheet: Some(AddSheetRequest {
                properties: Some(SheetProperties {
                    title: Some(title.clone()),
                    grid_properties: Some(GridProperties {
                        row_count: Some(grid_count(*rows)),
                        column_count: Some(grid_count(*cols)),
                        frozen_row_count: Some(grid_count(*frozen_rows)),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        },
        // The mask names only the two counts; a mask of `gridProperties` would reset the frozen
        // rows to 0.
        GridChange::Resize {
            sheet_id,
            rows,
            cols,
        } => Request {
            update_sheet_properties: Some(UpdateSheetPropertiesRequest {
                properties: Some(SheetProperties {
                    sheet_id: Some(*sheet_id),
                    grid_properties: Some(GridProperties {
                        row_count: Some(grid_count(*rows)),
                        column_count: Some(grid_count(*cols)),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                fields: Some(
                    FieldMask::from_str("gridProperties.rowCount,gridProperties.columnCount")
                        .expect("a literal field mask"),
                ),
            }),
            ..Default::default()
        },
    }
}

/// A grid count for the API (an `i32`). The upsert checks the workbook's 10M-cell limit first,
/// so a count this large never reaches Google; saturating keeps a bug from wrapping negative.
fn grid_count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl Workbook for SheetsClient {
    fn limits(&self) -> Limits {
        Limits {
            max_cells: self.config.max_cells,
            max_request_bytes: self.config.max_request_bytes,
        }
    }

    fn calls(&self) -> (u64, u64) {
        SheetsClient::calls(self)
    }

    async fn read_tab(
        &self,
        spreadsheet: &str,
        tab: &str,
        needs: &PlanNeeds<'_>,
        deadline: Instant,
    ) -> Result<Option<TabRead>, SheetsError> {
        SheetsClient::read_tab(self, spreadsheet, tab, needs, deadline).await
    }

    async fn read_keys(
        &self,
        spreadsheet: &str,
        tab: &str,
        key_col: usize,
        rows: (usize, usize),
        deadline: Instant,
    ) -> Result<KeyRead, SheetsError> {
        SheetsClient::read_keys(self, spreadsheet, tab, key_col, rows, deadline).await
    }

    async fn tabs(
        &self,
        spreadsheet: &str,
        deadline: Instant,
    ) -> Result<Vec<TabInfo>, SheetsError> {
        SheetsClient::tabs(self, spreadsheet, deadline).await
    }

    async fn change_grid<G: WriteGuard>(
        &self,
        spreadsheet: &str,
        change: &GridChange,
        deadline: Instant,
        guard: &mut G,
    ) -> Result<(), SheetsError> {
        self.structure(spreadsheet, vec![grid_request(change)], deadline, guard)
            .await
            .map(|_| ())
    }

    async fn write_values<G: WriteGuard>(
        &self,
        spreadsheet: &str,
        data: Vec<ValueRange>,
        deadline: Instant,
        guard: &mut G,
    ) -> Result<(), SheetsError> {
        self.write(spreadsheet, data, deadline, guard).await
    }
}

/// A cell for the API: text or number, never null.
pub fn to_value(cell: &ordersync_core::rows::Cell) -> Value {
    match cell {
        ordersync_core::rows::Cell::Text(t) => Value::String(t.clone()),
        ordersync_core::rows::Cell::Number(n) => Value::from(*n),
        // The plan's write ranges go around kept cells (`plan::group_blocks`); writing one as
        // "" would blank the seller's value silently, so reaching here is a bug, loudly.
        ordersync_core::rows::Cell::Keep(_) => unreachable!("the plan never writes a kept cell"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_size_comes_from_the_echoed_range() {
        assert_eq!(grid_from_range("'주문'!A1:Z1000"), Some((1000, 26)));
        assert_eq!(grid_from_range("Sheet1!A1:AB7"), Some((7, 28)));
        assert_eq!(grid_from_range("nonsense"), None);
    }

    #[test]
    fn base_urls_are_checked_and_get_their_slash() {
        assert_eq!(
            check_base_url("http://127.0.0.1:9").unwrap(),
            "http://127.0.0.1:9/"
        );
        assert!(check_base_url("sheets.googleapis.com").is_err());
        assert!(check_base_url("http:// bad").is_err());
    }

    #[test]
    fn request_size_is_a_number_no_smaller_than_one_wide_row() {
        assert_eq!(check_request_bytes(" 20000 ").unwrap(), 20_000);
        assert_eq!(
            check_request_bytes(&MIN_REQUEST_BYTES.to_string()).unwrap(),
            MIN_REQUEST_BYTES
        );
        for bad in ["", "2MB", "-1", "4095", "1e6"] {
            assert!(check_request_bytes(bad).is_err(), "{bad:?}");
        }
    }
}
