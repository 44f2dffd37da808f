//! HTTP: routing the URL shapes google-sheets4 7 and yup-oauth2 12 send, authentication,
//! quotas, faults, and Google's error JSON.
//!
//! One fallback handler parses the raw path itself, because Sheets URLs put a verb after a
//! colon in the same segment as a parameter (`{id}:batchUpdate`, `values/{range}:append`), and
//! a range may contain `/`, `:` and percent-encoded characters. google-sheets4 inserts the range
//! into the path unencoded and lets `Url::parse` percent-encode what it must (spaces, non-ASCII,
//! `"`, `<`, `>`, `` ` ``, `{`, `}`); the handler percent-decodes (`+` stays `+` in a path).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::http::request::Parts;
use hyper::{HeaderMap, Request};
use serde_json::{Value, json};

use super::faults::Answer;
use super::oauth;
use super::sheets::{
    ApiError, BatchUpdateIn, BatchUpdateValuesIn, BookKind, ClearIn, Input, InsertData, Major,
    ReadOpts, Render, ValueRangeIn, check_date_time_option, status_name,
};
use super::{MalformedBody, Method, Shared, State as FakeState, lock};
use crate::serve::{Response, read_body as read_limited, response};

/// Google's hard limit on a request body ("Request payload size exceeds the limit").
pub(crate) const MAX_BODY_BYTES: usize = 10_485_760;

/// Query parameters every Google API accepts.
const STANDARD_PARAMS: &[&str] = &[
    "alt",
    "fields",
    "prettyPrint",
    "quotaUser",
    "$.xgafv",
    "key",
    "callback",
    "upload_protocol",
    "uploadType",
];

/// What a request addresses.
enum Route {
    Token,
    Sheets {
        method: Method,
        id: String,
        range: Option<String>,
    },
}

pub(crate) async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Response {
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    let (parts, body) = request.into_parts();
    let route = match route(&parts) {
        Ok(route) => route,
        Err(error) => return google_error(&error),
    };
    let bytes = match read_body(&shared, &parts.headers, body).await {
        Ok(bytes) => bytes,
        Err(error) => return google_error(&error),
    };
    match route {
        Route::Token => token(&shared, &parts, &bytes).await,
        Route::Sheets { method, id, range } => {
            let answer = sheets(&shared, &parts, method, &id, range.as_deref(), &bytes).await;
            encode(&shared, &parts.headers, answer).await
        }
    }
}

/// Google compresses an answer only for a client that says `gzip` in both `Accept-Encoding`
/// and `User-Agent` (reference §7); the bytes each answer puts on the wire are counted.
async fn encode(shared: &Shared, headers: &HeaderMap, answer: Response) -> Response {
    use http_body_util::BodyExt;
    let says_gzip = |name: hyper::header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("gzip"))
    };
    let gzip = says_gzip(hyper::header::ACCEPT_ENCODING) && says_gzip(hyper::header::USER_AGENT);
    let (mut parts, body) = answer.into_parts();
    let Ok(collected) = body.collect().await;
    let mut bytes = collected.to_bytes();
    let plain = bytes.len() as u64;
    if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        if std::io::Write::write_all(&mut encoder, &bytes).is_ok()
            && let Ok(zipped) = encoder.finish()
        {
            bytes = Bytes::from(zipped);
            parts.headers.insert(
                hyper::header::CONTENT_ENCODING,
                hyper::header::HeaderValue::from_static("gzip"),
            );
            parts.headers.remove(hyper::header::CONTENT_LENGTH);
        }
    }
    let stats = &mut lock(&shared.state).stats;
    stats.answer_bytes += bytes.len() as u64;
    stats.answer_plain_bytes += plain;
    if gzip {
        stats.gzip_answers += 1;
    }
    Response::from_parts(parts, http_body_util::Full::new(bytes))
}

async fn read_body(
    shared: &Shared,
    headers: &HeaderMap,
    body: Incoming,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let result = read_limited(body, MAX_BODY_BYTES).await;
    let size = match &result {
        Some(bytes) => bytes.len(),
        None => declared.unwrap_or(MAX_BODY_BYTES + 1),
    };
    {
        let mut state = lock(&shared.state);
        state.stats.max_request_bytes = state.stats.max_request_bytes.max(size);
    }
    result.ok_or_else(|| {
        ApiError::invalid(format!(
            "Request payload size exceeds the limit: {MAX_BODY_BYTES} bytes."
        ))
    })
}

fn route(parts: &Parts) -> Result<Route, ApiError> {
    let path = parts.uri.path();
    let http = parts.method.as_str();
    let not_found = || ApiError::new(404, format!("Method not found: {http} {path}"));
    if path == "/token" {
        return if http == "POST" {
            Ok(Route::Token)
        } else {
            Err(not_found())
        };
    }
    let rest = path
        .strip_prefix("/v4/spreadsheets/")
        .ok_or_else(not_found)?;
    let (method, id, range) = match rest.split_once('/') {
        None => match rest.split_once(':') {
            Some((id, "batchUpdate")) if http == "POST" => {
                (Method::SpreadsheetsBatchUpdate, id, None)
            }
            None if http == "GET" => (Method::SpreadsheetsGet, rest, None),
            _ => return Err(not_found()),
        },
        Some((id, tail)) => match (http, tail) {
            ("GET", "values:batchGet") => (Method::ValuesBatchGet, id, None),
            ("POST", "values:batchUpdate") => (Method::ValuesBatchUpdate, id, None),
            (_, tail) => {
                let range = tail.strip_prefix("values/").ok_or_else(not_found)?;
                match http {
                    "GET" => (Method::ValuesGet, id, Some(range)),
                    "PUT" => (Method::ValuesUpdate, id, Some(range)),
                    "POST" => {
                        if let Some(range) = range.strip_suffix(":append") {
                            (Method::ValuesAppend, id, Some(range))
                        } else if let Some(range) = range.strip_suffix(":clear") {
                            (Method::ValuesClear, id, Some(range))
                        } else {
                            return Err(not_found());
                        }
                    }
                    _ => return Err(not_found()),
                }
            }
        },
    };
    if id.is_empty() || range.is_some_and(str::is_empty) {
        return Err(not_found());
    }
    let decode = |s: &str| {
        percent_decode(s, false)
            .map_err(|e| ApiError::invalid(format!("Invalid path segment {s:?}: {e}")))
    };
    Ok(Route::Sheets {
        method,
        id: decode(id)?,
        range: range.map(decode).transpose()?,
    })
}

// ---------------------------------------------------------------------------------------------
// Token endpoint

async fn token(shared: &Shared, parts: &Parts, body: &[u8]) -> Response {
    {
        let mut state = lock(&shared.state);
        state.stats.token_calls += 1;
        *state.stats.per_method.entry(Method::Token).or_default() += 1;
    }
    delay(shared, Method::Token).await;
    let mut state = lock(&shared.state);
    let answer = state.faults.take_answer(Method::Token);
    if let Some(Answer::Status(code)) = answer {
        state.stats.faults_fired += 1;
        if code == 429 {
            state.stats.rejected_429 += 1;
        }
        let body = json!({
            "error": "fake_fault",
            "error_description": format!("injected fault: HTTP {code}"),
        });
        return json_response(code, &body);
    }
    if let Some(Answer::Malformed(code, body)) = answer {
        // No token is issued: the client could not have read it anyway.
        state.stats.faults_fired += 1;
        return malformed(code, body, None);
    }
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let state = &mut *state;
    let now = shared.config.clock.now().timestamp();
    let result = oauth::exchange(
        &mut state.tokens,
        content_type,
        body,
        &shared.token_uri,
        now,
    );
    if result.is_ok() {
        state.stats.tokens_issued += 1;
    }
    if answer == Some(Answer::AppliedThen503) {
        state.stats.faults_fired += 1;
        return json_response(
            503,
            &json!({ "error": "fake_fault", "error_description": "injected fault: HTTP 503" }),
        );
    }
    match result {
        Ok(body) => json_response(200, &body),
        Err(error) => json_response(error.status, &error.body()),
    }
}

// ---------------------------------------------------------------------------------------------
// Sheets API

async fn sheets(
    shared: &Shared,
    parts: &Parts,
    method: Method,
    id: &str,
    range: Option<&str>,
    body: &[u8],
) -> Response {
    let account = {
        let mut state = lock(&shared.state);
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let account = bearer.and_then(|t| state.tokens.account(t, Instant::now()));
        let Some(account) = account.map(str::to_owned) else {
            state.stats.rejected_401 += 1;
            return unauthenticated(bearer.is_some());
        };
        let stats = &mut state.stats;
        *stats.per_method.entry(method).or_default() += 1;
        if method.is_write() {
            stats.writes += 1;
        } else {
            stats.reads += 1;
        }
        account
    };
    delay(shared, method).await;

    let mut guard = lock(&shared.state);
    let state = &mut *guard;
    let now = Instant::now();
    let admitted = if method.is_write() {
        state.write_quota.try_admit(&account, now)
    } else {
        state.read_quota.try_admit(&account, now)
    };
    if !admitted {
        state.stats.rejected_429 += 1;
        return google_error(&quota_error(method.is_write()));
    }
    let answer = state.faults.take_answer(method);
    if let Some(Answer::Status(code)) = answer {
        state.stats.faults_fired += 1;
        if code == 429 {
            state.stats.rejected_429 += 1;
            return google_error(&quota_error(method.is_write()));
        }
        return google_error(&ApiError::new(code, fault_message(code)));
    }
    if let Some(Answer::Malformed(code, body)) = answer {
        state.stats.faults_fired += 1;
        if !(200..300).contains(&code) {
            return malformed(code, body, None);
        }
    }
    let result = execute(state, shared, parts, method, id, range, body);
    let value = match result {
        Ok(value) => value,
        Err(error) => {
            if error.code == 429 {
                state.stats.rejected_429 += 1;
            }
            return google_error(&error);
        }
    };
    if method.is_write() {
        state.stats.applied_writes += 1;
    }
    state.edit_after(method);
    if answer == Some(Answer::AppliedThen503) {
        state.stats.faults_fired += 1;
        return google_error(&ApiError::new(503, fault_message(503)));
    }
    if let Some(Answer::Malformed(code, body)) = answer {
        return malformed(code, body, Some(&value));
    }
    json_response(200, &value)
}

/// Runs one Sheets method against the state. Write errors leave the state unchanged.
fn execute(
    state: &mut FakeState,
    shared: &Shared,
    parts: &Parts,
    method: Method,
    id: &str,
    range: Option<&str>,
    body: &[u8],
) -> Result<Value, ApiError> {
    let query = Query::parse(parts.uri.query(), allowed_params(method))?;
    let range = range.unwrap_or_default();
    let max_cells = shared.config.max_cells;
    let stats = &mut state.stats;
    if state.api_disabled {
        return Err(ApiError::service_disabled());
    }
    let book = state.books.get_mut(id).ok_or_else(ApiError::not_found)?;
    match book.kind {
        BookKind::GoogleSheet => {}
        BookKind::NotShared => return Err(ApiError::not_shared()),
        BookKind::OfficeFile => return Err(ApiError::office_file()),
    }
    let read_opts = |query: &Query| -> Result<ReadOpts, ApiError> {
        check_date_time_option(query.one("dateTimeRenderOption"), "date_time_render_option")?;
        Ok(ReadOpts {
            major: Major::parse(query.one("majorDimension"), "major_dimension")?,
            render: Render::parse(query.one("valueRenderOption"), "value_render_option")?,
        })
    };
    // includeValuesInResponse + responseValueRenderOption for value writes.
    let echo_opts = |include: Option<bool>,
                     render: Option<&str>,
                     date_time: Option<&str>|
     -> Result<Option<ReadOpts>, ApiError> {
        let render = Render::parse(render, "response_value_render_option")?;
        check_date_time_option(date_time, "response_date_time_render_option")?;
        Ok(include.unwrap_or(false).then_some(ReadOpts {
            major: Major::Rows,
            render,
        }))
    };
    match method {
        Method::ValuesGet => book.get_values(range, read_opts(&query)?),
        Method::ValuesBatchGet => book.batch_get(id, &query.all("ranges"), read_opts(&query)?),
        Method::SpreadsheetsGet => {
            if query.bool("includeGridData")? == Some(true) {
                return Err(ApiError::invalid(
                    "The fake Google server does not implement includeGridData=true",
                ));
            }
            query.bool("excludeTablesInBandedRanges")?;
            book.spreadsheet(id, &query.all("ranges"))
        }
        Method::ValuesUpdate | Method::ValuesAppend => {
            let input = Input::parse(query.one("valueInputOption"))?;
            if input == Input::UserEntered {
                stats.user_entered_writes += 1;
            }
            let echo = echo_opts(
                query.bool("includeValuesInResponse")?,
                query.one("responseValueRenderOption"),
                query.one("responseDateTimeRenderOption"),
            )?;
            let body: ValueRangeIn = json_body(&parts.headers, body, false)?;
            let (response, written) = if method == Method::ValuesUpdate {
                book.update_values(id, range, &body, input, echo)?
            } else {
                let insert = InsertData::parse(query.one("insertDataOption"))?;
                book.append_values(id, range, &body, input, insert, echo, max_cells)?
            };
            stats.ranges_written.extend(written);
            Ok(response)
        }
        Method::ValuesBatchUpdate => {
            stats.values_write_bytes += body.len() as u64;
            let body: BatchUpdateValuesIn = json_body(&parts.headers, body, false)?;
            let input = Input::parse(body.value_input_option.as_deref())?;
            if input == Input::UserEntered {
                stats.user_entered_writes += 1;
            }
            let echo = echo_opts(
                body.include_values_in_response,
                body.response_value_render_option.as_deref(),
                body.response_date_time_render_option.as_deref(),
            )?;
            let data = body.data.as_deref().unwrap_or(&[]);
            let protected = data.iter().any(|d| {
                d.range
                    .as_deref()
                    .and_then(|r| r.rsplit_once('!'))
                    .is_some_and(|(tab, _)| {
                        let tab = tab.trim_matches('\'').replace("''", "'").to_lowercase();
                        book.protected_tabs.contains(&tab)
                    })
            });
            if protected {
                return Err(ApiError::protected());
            }
            let (response, written) = book.batch_update_values(id, data, input, echo)?;
            stats.ranges_written.extend(written);
            Ok(response)
        }
        Method::ValuesClear => {
            let _: ClearIn = json_body(&parts.headers, body, true)?;
            let (response, cleared) = book.clear_values(id, range)?;
            stats.ranges_written.push(cleared);
            Ok(response)
        }
        Method::SpreadsheetsBatchUpdate => {
            let body: BatchUpdateIn = json_body(&parts.headers, body, false)?;
            book.batch_update(id, &body, max_cells)
        }
        Method::Token | Method::AnyWrite | Method::Any => {
            Err(ApiError::new(404, format!("Method not found: {method:?}")))
        }
    }
}

fn allowed_params(method: Method) -> &'static [&'static str] {
    match method {
        Method::ValuesGet => &[
            "majorDimension",
            "valueRenderOption",
            "dateTimeRenderOption",
        ],
        Method::ValuesBatchGet => &[
            "ranges",
            "majorDimension",
            "valueRenderOption",
            "dateTimeRenderOption",
        ],
        Method::ValuesUpdate => &[
            "valueInputOption",
            "includeValuesInResponse",
            "responseValueRenderOption",
            "responseDateTimeRenderOption",
        ],
        Method::ValuesAppend => &[
            "valueInputOption",
            "insertDataOption",
            "includeValuesInResponse",
            "responseValueRenderOption",
            "responseDateTimeRenderOption",
        ],
        Method::SpreadsheetsGet => &["ranges", "includeGridData", "excludeTablesInBandedRanges"],
        _ => &[],
    }
}

/// Parses a JSON request body (`Content-Type: application/json`), like Google's JSON binding.
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    empty_ok: bool,
) -> Result<T, ApiError> {
    if body.is_empty() && empty_ok {
        return serde_json::from_str("{}")
            .map_err(|e| ApiError::invalid(format!("Invalid JSON payload received. {e}")));
    }
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json {
        return Err(ApiError::invalid(
            "Invalid JSON payload received. The request body must be sent with Content-Type: \
             application/json.",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("Invalid JSON payload received. {e}")))
}

/// Query parameters, checked against a method's allowed names.
struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Query, ApiError> {
        let pairs = form_pairs(query.unwrap_or_default())
            .map_err(|e| ApiError::invalid(format!("Invalid query string: {e}")))?;
        for (name, value) in &pairs {
            if !allowed.contains(&name.as_str()) && !STANDARD_PARAMS.contains(&name.as_str()) {
                return Err(ApiError::invalid(format!(
                    "Invalid JSON payload received. Unknown name \"{name}\": Cannot bind query \
                     parameter. Field '{name}' could not be found in request message."
                )));
            }
            if name == "alt" && value != "json" {
                return Err(ApiError::invalid(format!(
                    "The fake Google server only answers alt=json, not alt={value}"
                )));
            }
            let repeatable = name == "ranges" || name == "fields";
            if !repeatable && pairs.iter().filter(|(n, _)| n == name).count() > 1 {
                return Err(ApiError::invalid(format!(
                    "Invalid JSON payload received. Repeated values for the non-repeated field \
                     '{name}'."
                )));
            }
        }
        Ok(Query { pairs })
    }

    fn one(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.one(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::invalid(format!(
                "Invalid value at '{name}' (TYPE_BOOL), \"{other}\""
            ))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Faults, quota, errors

async fn delay(shared: &Shared, method: Method) {
    let delay = {
        let mut state = lock(&shared.state);
        let delay = state.faults.take_delay(method);
        if delay.is_some() {
            state.stats.faults_fired += 1;
        }
        delay
    };
    if let Some(duration) = delay {
        tokio::time::sleep(duration).await;
    }
}

fn fault_message(code: u16) -> String {
    match code {
        500 => "Internal error encountered.".to_owned(),
        502 | 503 => "The service is currently unavailable.".to_owned(),
        504 => "The request timed out. Please try again.".to_owned(),
        _ => format!("Injected fault (HTTP {code})."),
    }
}

fn quota_error(write: bool) -> ApiError {
    let kind = if write { "Write" } else { "Read" };
    ApiError::new(
        429,
        format!(
            "Quota exceeded for quota metric '{kind} requests' and limit '{kind} requests per \
             minute per user' of service 'sheets.googleapis.com' for consumer \
             'project_number:000000000000'."
        ),
    )
}

fn unauthenticated(had_token: bool) -> Response {
    let message = if had_token {
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login \
         cookie or other valid authentication credential. See \
         https://developers.google.com/identity/sign-in/web/devconsole-project."
    } else {
        "Request is missing required authentication credential. Expected OAuth 2 access token, \
         login cookie or other valid authentication credential. See \
         https://developers.google.com/identity/sign-in/web/devconsole-project."
    };
    let mut response = google_error(&ApiError::new(401, message));
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\""),
    );
    response
}

/// Google's error envelope `{"error": {"code", "message", "status"}}` (429s carry the
/// `ErrorInfo` details Google sends).
fn google_error(error: &ApiError) -> Response {
    let mut body = json!({
        "error": {
            "code": error.code,
            "message": error.message,
            "status": error.status.unwrap_or(status_name(error.code)),
        }
    });
    if let Some(reason) = error.reason {
        body["error"]["details"] = json!([{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": "googleapis.com",
            "metadata": {"service": "sheets.googleapis.com", "consumer": "projects/000000000000"}
        }]);
    }
    if error.code == 429 {
        let write = error.message.contains("'Write requests'");
        body["error"]["details"] = json!([{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "domain": "googleapis.com",
            "metadata": {
                "consumer": "projects/000000000000",
                "quota_limit": if write { "WriteRequestsPerMinutePerUser" } else { "ReadRequestsPerMinutePerUser" },
                "quota_metric": if write { "sheets.googleapis.com/write_requests" } else { "sheets.googleapis.com/read_requests" },
                "service": "sheets.googleapis.com",
            }
        }]);
    }
    json_response(error.code, &body)
}

/// A [`MalformedBody`] answer; `real` is the applied request's answer (2xx only).
fn malformed(code: u16, body: MalformedBody, real: Option<&Value>) -> Response {
    let envelope = |status_name: &str| {
        json!({
            "error": {
                "code": code,
                "message": fault_message(code),
                "status": status_name,
            }
        })
    };
    let (content_type, text) = match body {
        MalformedBody::Html => (
            "text/html; charset=UTF-8",
            format!(
                "<!DOCTYPE html>\n<html lang=en><title>Error {code}</title>\
                 <p><b>{code}.</b> <ins>That’s an error.</ins></p></html>\n"
            ),
        ),
        MalformedBody::TruncatedJson => {
            let full = match real {
                Some(value) => value.to_string(),
                None => envelope(status_name(code)).to_string(),
            };
            let mut cut = full.len() / 2;
            while !full.is_char_boundary(cut) {
                cut -= 1;
            }
            ("application/json; charset=UTF-8", full[..cut].to_owned())
        }
        MalformedBody::UnknownStatus(name) => (
            "application/json; charset=UTF-8",
            envelope(name).to_string(),
        ),
        MalformedBody::NotEnvelope => (
            "application/json; charset=UTF-8",
            json!({ "message": fault_message(code) }).to_string(),
        ),
    };
    response(code, &[(CONTENT_TYPE.as_str(), content_type)], text)
}

fn json_response(code: u16, body: &Value) -> Response {
    response(
        code,
        &[(CONTENT_TYPE.as_str(), "application/json; charset=UTF-8")],
        body.to_string(),
    )
}

// ---------------------------------------------------------------------------------------------
// Percent-decoding

/// `application/x-www-form-urlencoded` pairs (`+` is a space), as in a query string or body.
pub(crate) fn form_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(name, true)?, percent_decode(value, true)?))
        })
        .collect()
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`) into UTF-8.
pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad percent escape in {text:?}"))?;
                out.push(hex);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} does not decode to UTF-8"))
}
