//! A strict, stateful fake of Google's OAuth token endpoint and the Sheets API v4, for running
//! the insert Lambda's real client (google-sheets4 7 + yup-oauth2 12) against.
//!
//! [`FakeGoogle::start`] serves on `127.0.0.1:0`:
//!
//! - `POST /token`: the service-account JWT-bearer grant. The JWT's RS256 signature is verified
//!   against the sandbox key pair made at run time ([`sandbox_key`]); `iss`, `aud` (= [`FakeGoogle::token_uri`]),
//!   `iat`/`exp`, no `sub`, and `scope` = exactly [`SPREADSHEETS_SCOPE`] are checked (a Drive
//!   scope is `400 invalid_scope`). Point yup-oauth2 at it with
//!   [`FakeGoogle::service_account_key_json`].
//! - Sheets v4 under [`FakeGoogle::base_url`] (pass it to `hub.base_url(..)`):
//!   `GET v4/spreadsheets/{id}`, `GET .../values/{range}`, `GET .../values:batchGet`,
//!   `PUT .../values/{range}` (update), `POST .../values:batchUpdate`,
//!   `POST .../values/{range}:append`, `POST .../values/{range}:clear`, and
//!   `POST v4/spreadsheets/{id}:batchUpdate` with `addSheet`, `updateSheetProperties`,
//!   `appendDimension`, `insertDimension`, `deleteDimension`, `deleteSheet`.
//!
//! Strictness (each a 4xx with Google's error JSON `{"error":{"code","message","status"}}`):
//! a bearer token issued by `/token` on every Sheets call (401 UNAUTHENTICATED); ranges naming
//! an unknown tab ("Unable to parse range"); any coordinate written in a range outside the grid
//! ("exceeds grid limits"; only `append` grows the grid); writes larger than a bounded range;
//! a missing or unspecified `valueInputOption`; unknown query parameters or JSON fields; bad
//! enum values; JSON `null` (or arrays/objects) as a cell; cells over 50,000 characters; bodies
//! over 10 MiB; a workbook over [`FakeGoogleConfig::max_cells`] cells; writes over
//! [`FakeGoogleConfig::writes_per_minute`] per [`FakeGoogleConfig::quota_window`] (429
//! RESOURCE_EXHAUSTED with Google's quota message); unknown `batchUpdate` request kinds; a
//! `fields` mask that names no field or resets `gridProperties` to zero rows; duplicate sheet
//! titles; freezing every row. A failing `values.batchUpdate` or `spreadsheets.batchUpdate`
//! changes nothing.
//!
//! Simplifications: formulas are stored, never evaluated (reads return the formula text);
//! `USER_ENTERED` turns only `=…` into formulas, plain decimal numbers into numbers and
//! `TRUE`/`FALSE` into booleans (a leading `'` keeps text), no dates; `append` takes as its
//! "table" the contiguous non-blank rows (in the range's columns) from the first non-blank row
//! at or below the range's start, so a fully blank row ends the table as in Sheets;
//! `spreadsheets.get` ignores `fields` and returns no grid data. Host-side helpers
//! ([`FakeGoogle::values`], `person_*`) panic on an unknown spreadsheet or tab: that is a bug in
//! the test, not a request.

mod a1;
mod faults;
mod oauth;
mod quota;
mod routes;
mod sheets;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use oauth::{SPREADSHEETS_SCOPE, SandboxKey, TEST_CLIENT_EMAIL, sandbox_key};
pub use sheets::{BookKind, CellValue};

use faults::Faults;
use oauth::Tokens;
use quota::Quota;
use sheets::Workbook;

/// How the fake behaves; [`Default`] is Google's published limits with no added latency.
#[derive(Debug, Clone)]
pub struct FakeGoogleConfig {
    /// Write requests admitted per [`quota_window`](Self::quota_window) per service account
    /// (Google: 60 per minute per user); one more is answered 429 RESOURCE_EXHAUSTED.
    pub writes_per_minute: u32,
    /// Read requests admitted per window; unlimited by default (`u32::MAX`).
    pub reads_per_minute: u32,
    /// Added before handling every request.
    pub latency: Duration,
    /// The quota window, 60 s by default; tests scale it down (e.g. 1 s).
    pub quota_window: Duration,
    /// The workbook cell limit (rows × columns over all tabs), 10,000,000 like Google.
    pub max_cells: u64,
    /// "Now" for the token endpoint's `iat`/`exp` checks. yup-oauth2 signs with the system
    /// clock, so tests that use the real client keep the system's; tests that sign their own
    /// assertions may pin it.
    pub clock: Arc<dyn ordersync_core::clock::Clock>,
}

impl Default for FakeGoogleConfig {
    fn default() -> FakeGoogleConfig {
        FakeGoogleConfig {
            writes_per_minute: 60,
            reads_per_minute: u32::MAX,
            latency: Duration::ZERO,
            quota_window: Duration::from_secs(60),
            max_cells: 10_000_000,
            clock: ordersync_core::clock::system(),
        }
    }
}

/// Which requests a fault or a count applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `POST /token`.
    Token,
    /// `spreadsheets.values.get`.
    ValuesGet,
    /// `spreadsheets.values.batchGet`.
    ValuesBatchGet,
    /// `spreadsheets.values.update`.
    ValuesUpdate,
    /// `spreadsheets.values.batchUpdate`.
    ValuesBatchUpdate,
    /// `spreadsheets.values.append`.
    ValuesAppend,
    /// `spreadsheets.values.clear`.
    ValuesClear,
    /// `spreadsheets.get`.
    SpreadsheetsGet,
    /// `spreadsheets.batchUpdate`.
    SpreadsheetsBatchUpdate,
    /// As a fault target: any write method.
    AnyWrite,
    /// As a fault target: any Sheets API method (not the token endpoint).
    Any,
}

impl Method {
    /// True for the methods that count against the write quota.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Method::ValuesUpdate
                | Method::ValuesBatchUpdate
                | Method::ValuesAppend
                | Method::ValuesClear
                | Method::SpreadsheetsBatchUpdate
                | Method::AnyWrite
        )
    }

    /// Whether a fault targeting `self` applies to a request of method `actual`.
    fn matches(self, actual: Method) -> bool {
        match self {
            Method::Any => actual != Method::Token,
            Method::AnyWrite => actual.is_write(),
            exact => exact == actual,
        }
    }
}

/// An injected fault; each is consumed first-in first-out by the requests it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoogleFault {
    /// Answer `status` with Google's error JSON, without applying, to the next `times`
    /// matching requests (a 429 gets the quota message).
    Status {
        method: Method,
        status: u16,
        times: u32,
    },
    /// Apply the next `times` matching requests, then answer 503 UNAVAILABLE: a blind retry of
    /// an append would duplicate rows.
    AppliedThen503 { method: Method, times: u32 },
    /// Sleep `duration` before handling the next matching request (once).
    Delay { method: Method, duration: Duration },
    /// Answer the next `times` matching requests with `status` and a malformed `body`. A 2xx
    /// status means the request was applied and only its answer is unreadable; any other
    /// status applies nothing.
    Malformed {
        method: Method,
        status: u16,
        body: MalformedBody,
        times: u32,
    },
}

/// The body of a [`GoogleFault::Malformed`] answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedBody {
    /// An HTML page (`text/html`), as a proxy, captive portal or load balancer serves.
    Html,
    /// JSON cut off after half its bytes: the request's real answer for a 2xx status, Google's
    /// error JSON otherwise.
    TruncatedJson,
    /// Google's error JSON `{"error": {"code", "message", "status"}}` with this `status` name,
    /// one Google does not document (`code` is the HTTP status).
    UnknownStatus(&'static str),
    /// Well-formed JSON that is not Google's error envelope (`{"message": …}`, no
    /// `error.code`), as a proxy in between might send.
    NotEnvelope,
}

/// A tab's properties, as `spreadsheets.get` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TabProps {
    pub sheet_id: i32,
    pub title: String,
    pub index: usize,
    pub frozen_row_count: u32,
    pub frozen_column_count: u32,
    pub row_count: u32,
    pub column_count: u32,
}

/// What the fake has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoogleStats {
    /// `POST /token` requests, successful or not.
    pub token_calls: u64,
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// Authenticated read requests (values.get, values.batchGet, spreadsheets.get), whatever
    /// their outcome.
    pub reads: u64,
    /// Authenticated write requests (values.update/batchUpdate/append/clear,
    /// spreadsheets.batchUpdate), whatever their outcome (429s and faults included).
    pub writes: u64,
    /// Write requests that changed the state (including `AppliedThen503` ones).
    pub applied_writes: u64,
    /// Requests per method (the token endpoint and authenticated Sheets requests).
    pub per_method: BTreeMap<Method, u64>,
    /// Sheets requests refused for a missing, unknown or expired bearer token.
    pub rejected_401: u64,
    /// Requests answered 429 (quota, or an injected 429).
    pub rejected_429: u64,
    /// Injected faults that fired.
    pub faults_fired: u64,
    /// Value writes that asked for `valueInputOption=USER_ENTERED` (should stay 0).
    pub user_entered_writes: u64,
    /// The largest request body seen, in bytes.
    pub max_request_bytes: usize,
    /// Body bytes of every values.batchUpdate request received (retries included).
    pub values_write_bytes: u64,
    /// Every range written by a successful values.update/batchUpdate/append/clear, as Google
    /// reports it (`Sheet1!A2:C3`), in order.
    pub ranges_written: Vec<String>,
    /// Edits made by [`FakeGoogle::person_edits_after`].
    pub person_edits: u64,
    /// Body bytes of Sheets answers as sent (compressed when the client asked for gzip).
    pub answer_bytes: u64,
    /// The same answers' body bytes before compression.
    pub answer_plain_bytes: u64,
    /// Sheets answers sent gzip-compressed.
    pub gzip_answers: u64,
}

/// The server's shared state.
pub(crate) struct Shared {
    config: FakeGoogleConfig,
    token_uri: String,
    state: Mutex<State>,
}

pub(crate) struct State {
    books: HashMap<String, Workbook>,
    /// The Sheets API is disabled in the caller's project: every Sheets call is 403
    /// SERVICE_DISABLED (tokens are still issued, as by the real token endpoint).
    api_disabled: bool,
    tokens: Tokens,
    write_quota: Quota,
    read_quota: Quota,
    faults: Faults,
    /// Edits a person makes right after a matching request is answered, first in first out.
    edits: std::collections::VecDeque<(Method, String, String, PersonEdit)>,
    stats: GoogleStats,
}

impl State {
    /// Makes the first queued edit waiting for `method`, if any (after the request was applied
    /// and its answer computed, so the client sees the sheet as it was before the edit).
    pub(crate) fn edit_after(&mut self, method: Method) {
        let Some(at) = self.edits.iter().position(|(m, ..)| m.matches(method)) else {
            return;
        };
        let Some((_, spreadsheet, tab, edit)) = self.edits.remove(at) else {
            return;
        };
        let Some(book) = self.books.get_mut(&spreadsheet) else {
            return;
        };
        let Some(i) = book.tab_index(&tab) else {
            return;
        };
        match edit {
            PersonEdit::SortRowsBy { column, descending } => {
                book.sort_rows_by(i, column, descending)
            }
            PersonEdit::InsertBlankRow { at } => book.insert_blank_row(i, at),
            PersonEdit::AddColumn { header, at } => book.add_column(i, &header, at),
        }
        self.stats.person_edits += 1;
    }
}

/// A person's edit of a tab that [`FakeGoogle::person_edits_after`] makes between two requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonEdit {
    /// Sorts the data rows by a 0-based column, as [`FakeGoogle::person_sort_rows_by`].
    SortRowsBy { column: usize, descending: bool },
    /// Inserts a blank row before 0-based row `at`, as [`FakeGoogle::person_insert_blank_row`].
    InsertBlankRow { at: usize },
    /// Inserts a column before 0-based column `at`, as [`FakeGoogle::person_add_column`].
    AddColumn { header: String, at: usize },
}

/// Locks ignoring poison: a panicking test thread must not turn the server into a panic source.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running fake; stops when dropped.
pub struct FakeGoogle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeGoogle {
    /// Starts the fake on `127.0.0.1:0`. Must be called inside a tokio runtime; panics only on
    /// setup failure.
    pub async fn start(config: FakeGoogleConfig) -> FakeGoogle {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("sandbox Google: cannot bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("sandbox Google: bound listener has no address");
        let state = State {
            books: HashMap::new(),
            api_disabled: false,
            tokens: Tokens::default(),
            write_quota: Quota::new(config.writes_per_minute, config.quota_window),
            read_quota: Quota::new(config.reads_per_minute, config.quota_window),
            faults: Faults::default(),
            edits: Default::default(),
            stats: GoogleStats::default(),
        };
        let shared = Arc::new(Shared {
            config,
            token_uri: format!("http://{addr}/token"),
            state: Mutex::new(state),
        });
        let task = tokio::spawn(crate::serve::serve_state(
            listener,
            shared.clone(),
            routes::handle,
        ));
        FakeGoogle { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT/`, for `hub.base_url(..)` (google-sheets4 appends
    /// `v4/spreadsheets/...`).
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// `http://127.0.0.1:PORT/token`, the `token_uri` (and JWT `aud`) of the test key.
    pub fn token_uri(&self) -> String {
        self.shared.token_uri.clone()
    }

    /// A service-account key JSON for the test key pair whose `token_uri` is this fake;
    /// `yup_oauth2::parse_service_account_key` accepts it.
    pub fn service_account_key_json(&self) -> String {
        oauth::service_account_key_json(&self.shared.token_uri)
    }

    /// Issues an access token without the JWT exchange, e.g. for a hub built with a `String`
    /// token. Counts as issued, not as a token call.
    pub fn issue_access_token(&self) -> String {
        let mut state = lock(&self.shared.state);
        state.stats.tokens_issued += 1;
        state.tokens.issue_for_test()
    }

    /// Creates (or replaces) an empty spreadsheet with one 1000×26 tab `Sheet1` (sheetId 0).
    pub fn create_spreadsheet(&self, id: &str) {
        lock(&self.shared.state)
            .books
            .insert(id.to_owned(), Workbook::new(id));
    }

    /// A file the service account reaches as `kind` (not shared with it, or an .xlsx in Drive).
    pub fn create_file(&self, id: &str, kind: BookKind) {
        let mut book = Workbook::new(id);
        book.kind = kind;
        lock(&self.shared.state).books.insert(id.to_owned(), book);
    }

    /// Turns the Sheets API off (or on again) in the key's Cloud project.
    pub fn set_api_disabled(&self, disabled: bool) {
        lock(&self.shared.state).api_disabled = disabled;
    }

    /// Protects `tab` against the service account (value writes into it are refused).
    pub fn protect_tab(&self, spreadsheet: &str, tab: &str) {
        if let Some(book) = lock(&self.shared.state).books.get_mut(spreadsheet) {
            book.protected_tabs.insert(tab.to_lowercase());
        }
    }

    fn with_tab<R>(
        &self,
        spreadsheet: &str,
        tab: &str,
        f: impl FnOnce(&mut Workbook, usize) -> R,
    ) -> R {
        let mut state = lock(&self.shared.state);
        let Some(book) = state.books.get_mut(spreadsheet) else {
            panic!("fake Google: no spreadsheet {spreadsheet:?}");
        };
        let Some(index) = book.tab_index(tab) else {
            let titles: Vec<&str> = book.tabs.iter().map(|t| t.title.as_str()).collect();
            panic!(
                "fake Google: spreadsheet {spreadsheet:?} has no tab {tab:?} (tabs: {titles:?})"
            );
        };
        f(book, index)
    }

    /// The tab's cells as displayed text, trailing empty cells and rows trimmed (like a
    /// `values.get` of the whole tab).
    pub fn values(&self, spreadsheet: &str, tab: &str) -> Vec<Vec<String>> {
        self.with_tab(spreadsheet, tab, |book, i| book.text(&book.tabs[i]))
    }

    /// One stored cell (0-based), to tell text from numbers and formulas.
    pub fn cell(&self, spreadsheet: &str, tab: &str, row: usize, col: usize) -> Option<CellValue> {
        self.with_tab(spreadsheet, tab, |book, i| {
            book.cell(&book.tabs[i], row, col)
        })
    }

    /// A person's edit: replaces every cell of the tab with `rows` (as text; `""` is empty),
    /// growing the grid if needed.
    pub fn set_values(&self, spreadsheet: &str, tab: &str, rows: Vec<Vec<String>>) {
        self.with_tab(spreadsheet, tab, |book, i| book.set_text(i, rows));
    }

    /// A person inserts an empty row before 0-based row `at` (row 0 is the header).
    pub fn person_insert_blank_row(&self, spreadsheet: &str, tab: &str, at: usize) {
        self.with_tab(spreadsheet, tab, |book, i| book.insert_blank_row(i, at));
    }

    /// A person inserts a column before 0-based column `at`, with `header` in row 1 and empty
    /// cells below (the seller's own column).
    pub fn person_add_column(&self, spreadsheet: &str, tab: &str, header: &str, at: usize) {
        self.with_tab(spreadsheet, tab, |book, i| book.add_column(i, header, at));
    }

    /// A person types a number into one cell (0-based; row 0 is the header), growing the grid
    /// if needed. Sheets keeps numbers as doubles, so a 19-digit id typed this way is rounded.
    pub fn person_set_number(
        &self,
        spreadsheet: &str,
        tab: &str,
        row: usize,
        col: usize,
        value: f64,
    ) {
        self.with_tab(spreadsheet, tab, |book, i| {
            book.set_number(i, row, col, value)
        });
    }

    /// A person sorts the data rows (row 1, the header, stays) by a 0-based column; numbers
    /// before text, blanks last.
    pub fn person_sort_rows_by(
        &self,
        spreadsheet: &str,
        tab: &str,
        column: usize,
        descending: bool,
    ) {
        self.with_tab(spreadsheet, tab, |book, i| {
            book.sort_rows_by(i, column, descending)
        });
    }

    /// The tab's properties, or `None` if the spreadsheet or tab does not exist.
    pub fn tab_properties(&self, spreadsheet: &str, tab: &str) -> Option<TabProps> {
        let state = lock(&self.shared.state);
        let book = state.books.get(spreadsheet)?;
        let index = book.tab_index(tab)?;
        let meta = &book.tabs[index];
        Some(TabProps {
            sheet_id: meta.sheet_id,
            title: meta.title.clone(),
            index,
            frozen_row_count: meta.frozen_rows,
            frozen_column_count: meta.frozen_cols,
            row_count: meta.rows,
            column_count: meta.cols,
        })
    }

    /// The titles of a spreadsheet's tabs in order (empty if it does not exist).
    pub fn tab_titles(&self, spreadsheet: &str) -> Vec<String> {
        let state = lock(&self.shared.state);
        state
            .books
            .get(spreadsheet)
            .map(|b| b.tabs.iter().map(|t| t.title.clone()).collect())
            .unwrap_or_default()
    }

    /// Total grid cells (rows × columns over all tabs) of a spreadsheet.
    pub fn total_cells(&self, spreadsheet: &str) -> u64 {
        let state = lock(&self.shared.state);
        state
            .books
            .get(spreadsheet)
            .map_or(0, Workbook::total_cells)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> GoogleStats {
        lock(&self.shared.state).stats.clone()
    }

    /// A person edits `tab` right after the next request matching `method` is answered (the
    /// answer shows the sheet before the edit): the edit lands between a client's read and its
    /// next write. Queued edits are made first in first out.
    pub fn person_edits_after(
        &self,
        method: Method,
        spreadsheet: &str,
        tab: &str,
        edit: PersonEdit,
    ) {
        lock(&self.shared.state).edits.push_back((
            method,
            spreadsheet.to_owned(),
            tab.to_owned(),
            edit,
        ));
    }

    /// Queues a fault; faults are consumed first-in first-out by matching requests.
    pub fn inject(&self, fault: GoogleFault) {
        lock(&self.shared.state).faults.push(fault);
    }

    /// Drops every queued fault that has not fired yet (the upstream is healed).
    pub fn clear_faults(&self) {
        lock(&self.shared.state).faults.clear();
    }
}
