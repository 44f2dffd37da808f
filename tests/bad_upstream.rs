//! A corpus of malformed upstream data through the real state machine: the local runner with
//! `statemachine.asl.json`, the three handlers in-process, a directory store, the strict fake
//! NAVER and Google. NAVER answers that are truncated, empty, HTML, wrong-typed, carry an error
//! code in a 200 or leave out ids; Sheets answers that are HTML, truncated or error JSON Google
//! does not document; a tab whose header row is missing, covered by a title, merged, duplicated
//! or holds only the seller's columns; key cells that are numbers, empty or padded.
//!
//! Each case ends in its documented error name (README "Error names") or its documented
//! behaviour (README "Import and the NAVER client", "Insert and the Sheets upsert"): never a
//! panic, never an error cause quoting a credential or customer data, and never a partial write
//! a rerun cannot repair — once the upstream is healed (the faults stop, the seller fixes the
//! tab), a rerun ends with the clean run's sheet.
//!
//! Every case has its own fakes and store, so the cases run side by side on a few threads.

mod common;

use common::summary;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ordersync_core::errors::ErrorName;
use ordersync_core::events::{InsertEvent, RunSummary, TransformEvent};
use ordersync_core::keys::{Stage, object_key};
use ordersync_core::lease::LeaseConfig;
use ordersync_core::payload::encode;
use ordersync_core::product_order::{OrdersMeta, OrdersSchema};
use ordersync_core::request::SheetTarget;
use ordersync_core::store::{DirStore, write_object};
use ordersync_core::time::{DateOnly, parse_instant};
use ordersync_core::window::{MAX_WINDOW, split};
use ordersync_local::definition::{DEFINITION, machine};
use ordersync_local::functions::{LocalFunctions, Timeouts};
use ordersync_local::sandbox::{naver_source, sheets_client};
use ordersync_naver::NaverSource;
use ordersync_naver::source::EnvCredentials;
use ordersync_runner::{Event, Machine, Observer, Options, Outcome};
use ordersync_sheets::SheetsClient;
use ordersync_testkit::google::{
    CellValue, FakeGoogle, FakeGoogleConfig, GoogleFault, MalformedBody, Method,
};
use ordersync_testkit::naver::{Endpoint, FakeNaver, FakeNaverConfig, Fault, FaultKind, NaverMode};
use serde_json::{Value, json};

const BOOK: &str = "book";
const TAB: &str = "orders";
/// The Lambda timeout the handlers see: they keep 10 s back, so each call retries a broken
/// upstream for 1.5 s before giving up with its error name (in Lambda: 15 minutes).
const LAMBDA_TIMEOUT: Duration = Duration::from_millis(11_500);
/// Cases run at once (each one's fakes, store and runner on its own thread).
const PARALLEL: usize = 6;

type Grid = Vec<Vec<String>>;

/// A failed task as the runner reported it (retried or final).
#[derive(Debug, Clone)]
struct Seen {
    task: String,
    error: String,
    cause: String,
}

#[derive(Default)]
struct Failures(Mutex<Vec<Seen>>);

impl Observer for Failures {
    fn event(&self, event: Event<'_>) {
        let (task, failure) = match event {
            Event::TaskRetrying { task, failure, .. } | Event::TaskFailed { task, failure } => {
                (task, failure)
            }
            _ => return,
        };
        self.0.lock().unwrap().push(Seen {
            task: task.to_owned(),
            error: failure.error.clone(),
            cause: failure.cause.clone(),
        });
    }
}

struct Sandbox {
    _dir: tempfile::TempDir,
    store: DirStore,
    naver: FakeNaver,
    google: FakeGoogle,
    source: NaverSource<EnvCredentials>,
    sheets: SheetsClient,
    machine: Machine,
    /// Credentials and customer data that must never be in an error cause.
    never: Vec<String>,
}

impl Sandbox {
    async fn start() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path()).unwrap();
        let naver = FakeNaver::start(FakeNaverConfig {
            seed: 7,
            orders: 12,
            rate_per_sec: 0,
            ..FakeNaverConfig::default()
        })
        .await;
        let google = FakeGoogle::start(FakeGoogleConfig::default()).await;
        google.create_spreadsheet(BOOK);
        let source = naver_source(&naver, naver.client_secret()).unwrap();
        let sheets = sheets_client(&google).await.unwrap();
        let key: Value = serde_json::from_str(&google.service_account_key_json()).unwrap();
        let mut never = naver.shop().personal_data();
        assert!(never.len() > 12, "the shop has customers to look for");
        never.push(naver.client_secret().to_owned());
        never.push(
            key["private_key"]
                .as_str()
                .unwrap()
                .lines()
                .nth(3)
                .unwrap()
                .to_owned(),
        );
        Sandbox {
            _dir: dir,
            store,
            naver,
            google,
            source,
            sheets,
            machine: machine(DEFINITION).unwrap(),
            never,
        }
    }

    fn functions(&self) -> LocalFunctions<'_, DirStore, NaverSource<EnvCredentials>> {
        LocalFunctions {
            timeouts: Timeouts {
                import: LAMBDA_TIMEOUT,
                insert: LAMBDA_TIMEOUT,
            },
            ..LocalFunctions::new(&self.store, &self.source, &self.sheets)
        }
    }

    /// Runs the shop's whole span into `tab` as execution `name` (a name that failed before
    /// resumes, like a redrive); every failure it saw is checked for leaks.
    async fn run(&self, name: &str, tab: &str) -> (Outcome, Vec<Seen>) {
        let (from, to) = self.naver.shop().span();
        let input = json!({
            "account": {"secret_id": "shops/bad-upstream"},
            "range": {"from": from.date_naive().to_string(), "to": to.date_naive().to_string(), "by": "changed"},
            "sheet": {"spreadsheet_id": BOOK, "tab": tab}
        });
        let failures = Failures::default();
        let outcome = ordersync_runner::run_execution(
            &self.machine,
            &self.store,
            &self.functions(),
            &failures,
            Options {
                retry_time_scale: 0.0,
            },
            name,
            input,
        )
        .await
        .unwrap();
        let mut seen = failures.0.into_inner().unwrap();
        if let Outcome::Failed { failure, .. } = &outcome {
            seen.push(Seen {
                task: "(execution)".into(),
                error: failure.error.clone(),
                cause: failure.cause.clone(),
            });
        }
        for s in &seen {
            assert!(
                ErrorName::parse(&s.error).is_some(),
                "{}: undocumented error name {}",
                s.task,
                s.error
            );
            let cause: Value = serde_json::from_str(&s.cause).unwrap();
            assert_eq!(cause["errorType"], s.error.as_str(), "{}", s.cause);
            let message = cause["errorMessage"].as_str().unwrap();
            for value in &self.never {
                assert!(
                    !message.contains(value.as_str()),
                    "{}: the cause quotes {value:?}: {message}",
                    s.task
                );
            }
        }
        (outcome, seen)
    }

    fn values(&self, tab: &str) -> Grid {
        self.google.values(BOOK, tab)
    }

    fn applied_writes(&self) -> u64 {
        self.google.stats().applied_writes
    }
}

fn failed(outcome: &Outcome) -> (&str, Value) {
    match outcome {
        Outcome::Failed { failure, .. } => (
            failure.error.as_str(),
            serde_json::from_str(&failure.cause).unwrap(),
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// Header, then data rows sorted (a repaired run may append in another order than a clean one).
fn sorted(mut grid: Grid) -> Grid {
    if grid.len() > 1 {
        grid[1..].sort();
    }
    grid
}

// ---------------------------------------------------------------------------------------------
// NAVER

/// What a NAVER fault leads to.
#[derive(Debug, Clone, Copy)]
enum NaverOutcome {
    /// Retried until the deadline, then by the state machine, then this error in the Import
    /// state; the sheet is never touched. After healing, a redrive gives the clean sheet.
    Fails(ErrorName),
    /// A one-off: the client retries within the call and the run gives the clean sheet.
    Recovers,
    /// The run succeeds, short of what the bad answers left out (`check(bad, clean)` on the
    /// summaries, `what` the documented behaviour); no order is invented. After healing, a new
    /// execution gives the clean sheet.
    Short(fn(&RunSummary, &RunSummary) -> bool, &'static str),
}

struct NaverCase {
    name: &'static str,
    endpoint: Endpoint,
    kind: FaultKind,
    /// `u32::MAX`: until healed.
    times: u32,
    expect: NaverOutcome,
}

const ALWAYS: u32 = u32::MAX;

fn naver_cases() -> Vec<NaverCase> {
    use NaverOutcome::*;
    let rewrite =
        |pointer: &'static str, value: Option<Value>| FaultKind::Rewrite { pointer, value };
    let upstream = Fails(ErrorName::Upstream);
    let case = |name, endpoint, kind, times, expect| NaverCase {
        name,
        endpoint,
        kind,
        times,
        expect,
    };
    vec![
        case(
            "feed: truncated JSON with 200",
            Endpoint::Feed,
            FaultKind::TruncatedOk,
            ALWAYS,
            upstream,
        ),
        case(
            "feed: empty body with 200",
            Endpoint::Feed,
            FaultKind::EmptyOk,
            ALWAYS,
            upstream,
        ),
        case(
            "feed: HTML page with 200",
            Endpoint::Feed,
            FaultKind::HtmlOk,
            ALWAYS,
            upstream,
        ),
        case(
            "feed: 200 with an error code in the body",
            Endpoint::Feed,
            FaultKind::ErrorCodeInOk,
            ALWAYS,
            upstream,
        ),
        case(
            "feed: 500 with an HTML page",
            Endpoint::Feed,
            FaultKind::HtmlStatus(500),
            ALWAYS,
            upstream,
        ),
        case(
            "feed: 403 with an HTML page",
            Endpoint::Feed,
            FaultKind::HtmlStatus(403),
            ALWAYS,
            Fails(ErrorName::Auth),
        ),
        case(
            "feed: productOrderId is a number",
            Endpoint::Feed,
            rewrite(
                "/data/lastChangeStatuses/0/productOrderId",
                Some(json!(2026112512345678901_u64)),
            ),
            ALWAYS,
            upstream,
        ),
        case(
            "feed: lastChangedDate in another format",
            Endpoint::Feed,
            rewrite(
                "/data/lastChangeStatuses/0/lastChangedDate",
                Some(json!("2026/11/25 09:30:00")),
            ),
            ALWAYS,
            upstream,
        ),
        case(
            "feed: data is a string",
            Endpoint::Feed,
            rewrite("/data", Some(json!("OK"))),
            ALWAYS,
            upstream,
        ),
        case(
            "feed: an entry without productOrderId",
            Endpoint::Feed,
            rewrite("/data/lastChangeStatuses/0/productOrderId", None),
            ALWAYS,
            Short(
                |bad, clean| bad.orders_changed <= clean.orders_changed && bad.orders_missing == 0,
                "the entry is skipped (logged); its order is imported when another entry names it",
            ),
        ),
        case(
            "feed: an entry without lastChangedDate",
            Endpoint::Feed,
            rewrite("/data/lastChangeStatuses/0/lastChangedDate", None),
            ALWAYS,
            Short(
                |bad, clean| bad.orders_fetched == clean.orders_fetched && bad.orders_missing == 0,
                "the order is imported all the same; only its 최종변경일시 may be empty",
            ),
        ),
        case(
            "details: truncated JSON with 200",
            Endpoint::Details,
            FaultKind::TruncatedOk,
            ALWAYS,
            upstream,
        ),
        case(
            "details: empty body with 200",
            Endpoint::Details,
            FaultKind::EmptyOk,
            ALWAYS,
            upstream,
        ),
        case(
            "details: HTML page with 200",
            Endpoint::Details,
            FaultKind::HtmlOk,
            ALWAYS,
            upstream,
        ),
        case(
            "details: 200 with an error code in the body",
            Endpoint::Details,
            FaultKind::ErrorCodeInOk,
            ALWAYS,
            upstream,
        ),
        case(
            "details: productOrderId is a number",
            Endpoint::Details,
            rewrite(
                "/data/0/productOrder/productOrderId",
                Some(json!(2026112512345678901_u64)),
            ),
            ALWAYS,
            upstream,
        ),
        case(
            "details: quantity is a string",
            Endpoint::Details,
            rewrite("/data/0/productOrder/quantity", Some(json!("two"))),
            ALWAYS,
            upstream,
        ),
        case(
            "details: paymentDate in another format",
            Endpoint::Details,
            rewrite("/data/0/order/paymentDate", Some(json!("20261125093000"))),
            ALWAYS,
            upstream,
        ),
        case(
            "details: a detail without productOrderId",
            Endpoint::Details,
            rewrite("/data/0/productOrder/productOrderId", None),
            ALWAYS,
            Short(
                |bad, _| {
                    bad.orders_missing > 0
                        && bad.orders_fetched + bad.orders_missing == bad.orders_changed
                },
                "the id it was asked for counts as missing",
            ),
        ),
        case(
            "details: an id the feed named is absent",
            Endpoint::Details,
            rewrite("/data/0", None),
            ALWAYS,
            Short(
                |bad, _| {
                    bad.orders_missing > 0
                        && bad.orders_fetched + bad.orders_missing == bad.orders_changed
                },
                "the id it was asked for counts as missing",
            ),
        ),
        case(
            "token: truncated JSON with 200",
            Endpoint::Token,
            FaultKind::TruncatedOk,
            ALWAYS,
            upstream,
        ),
        case(
            "token: HTML page with 200",
            Endpoint::Token,
            FaultKind::HtmlOk,
            ALWAYS,
            upstream,
        ),
        case(
            "feed: one HTML page with 200",
            Endpoint::Feed,
            FaultKind::HtmlOk,
            1,
            Recovers,
        ),
        case(
            "details: one truncated JSON with 200",
            Endpoint::Details,
            FaultKind::TruncatedOk,
            1,
            Recovers,
        ),
        case(
            "feed: one empty body with 200",
            Endpoint::Feed,
            FaultKind::EmptyOk,
            1,
            Recovers,
        ),
    ]
}

/// The code the fake records for a fault's answers.
fn marker(kind: &FaultKind) -> &'static str {
    match kind {
        FaultKind::HtmlOk | FaultKind::HtmlStatus(_) => "HTML",
        FaultKind::EmptyOk => "EMPTY",
        FaultKind::TruncatedOk => "TRUNCATED",
        FaultKind::Rewrite { .. } => "REWRITTEN",
        FaultKind::ErrorCodeInOk => "9999",
        FaultKind::Status { code, .. } => code,
        FaultKind::Delay(_) => "",
    }
}

async fn naver_case(case: NaverCase) -> String {
    let sb = Sandbox::start().await;
    let (clean_run, _) = sb.run("clean", "clean").await;
    let clean = summary(&clean_run);
    let clean_sheet = sorted(sb.values("clean"));
    assert!(clean.appended > 12);

    if case.endpoint == Endpoint::Token {
        // The clean run's token is cached: make the client ask for a new one.
        sb.naver.expire_tokens();
    }
    sb.naver.inject(Fault {
        endpoint: case.endpoint,
        times: case.times,
        kind: case.kind.clone(),
    });
    let (outcome, seen) = sb.run("bad", TAB).await;
    assert!(
        sb.naver.stats().rejected(marker(&case.kind)) > 0,
        "the fault fired"
    );
    let result = match case.expect {
        NaverOutcome::Fails(name) => {
            let (error, _) = failed(&outcome);
            assert_eq!(error, name.as_str(), "{seen:#?}");
            assert!(
                seen.iter().any(|s| s.task.ends_with("/Import")),
                "failed in Import: {seen:#?}"
            );
            if name.retryable() {
                let retried = seen.iter().filter(|s| s.error == error).count();
                assert!(retried > 2, "retried by the state machine: {seen:#?}");
            }
            assert!(
                sb.google.tab_properties(BOOK, TAB).is_none(),
                "nothing reached the sheet"
            );
            sb.naver.clear_faults();
            let (again, _) = sb.run("bad", TAB).await;
            assert!(
                matches!(again, Outcome::Succeeded { runs: 2, .. }),
                "a redrive: {again:?}"
            );
            format!("{error}; redrive after healing gives the clean sheet")
        }
        NaverOutcome::Recovers => {
            let s = summary(&outcome);
            assert!(seen.is_empty(), "{seen:#?}");
            assert_eq!(s.appended, clean.appended);
            "retried within the call; the clean sheet".to_owned()
        }
        NaverOutcome::Short(check, what) => {
            let bad = summary(&outcome);
            assert!(check(&bad, &clean), "{what}: {bad:?} vs clean {clean:?}");
            let keys = |grid: &Grid| -> std::collections::BTreeSet<String> {
                grid.iter().skip(1).map(|r| r[0].clone()).collect()
            };
            assert!(
                keys(&sb.values(TAB)).is_subset(&keys(&clean_sheet)),
                "no order is invented"
            );
            sb.naver.clear_faults();
            let again = summary(&sb.run("bad-new", TAB).await.0);
            assert_eq!(again.orders_missing, 0);
            format!(
                "succeeds: {what} (changed {}, missing {}; clean: changed {}); a new execution after healing gives the clean sheet",
                bad.orders_changed, bad.orders_missing, clean.orders_changed
            )
        }
    };
    assert_eq!(
        sorted(sb.values(TAB)),
        clean_sheet,
        "healed: the clean sheet"
    );
    result
}

// ---------------------------------------------------------------------------------------------
// Google API answers

/// What a malformed Sheets answer leads to.
#[derive(Debug, Clone, Copy)]
enum GoogleOutcome {
    /// This error in the Insert state, nothing written; after healing, a redrive gives the
    /// clean sheet.
    Fails(ErrorName),
    /// The request was applied and only its answer is unreadable: the run goes on (the client
    /// looks again, or the state machine's retry reads the rows back and has nothing left to
    /// write) and ends with the clean sheet.
    Recovers,
}

struct GoogleCase {
    name: &'static str,
    method: Method,
    status: u16,
    body: MalformedBody,
    /// `Sheet1` exists (empty) in a new spreadsheet, so it is read and written; another name
    /// is a new tab, added first.
    tab: &'static str,
    expect: GoogleOutcome,
}

const NEW_TAB: &str = TAB;
const EMPTY_TAB: &str = "Sheet1";

fn google_cases() -> Vec<GoogleCase> {
    use GoogleOutcome::*;
    let case = |name, method, status, body, tab, expect| GoogleCase {
        name,
        method,
        status,
        body,
        tab,
        expect,
    };
    let upstream = Fails(ErrorName::Upstream);
    vec![
        case(
            "values.get: HTML page with 200",
            Method::ValuesGet,
            200,
            MalformedBody::Html,
            EMPTY_TAB,
            upstream,
        ),
        case(
            "values.get: truncated JSON with 200",
            Method::ValuesGet,
            200,
            MalformedBody::TruncatedJson,
            EMPTY_TAB,
            upstream,
        ),
        case(
            "values.get: HTML page with 502",
            Method::ValuesGet,
            502,
            MalformedBody::Html,
            EMPTY_TAB,
            upstream,
        ),
        case(
            "values.get: truncated error JSON with 500",
            Method::ValuesGet,
            500,
            MalformedBody::TruncatedJson,
            EMPTY_TAB,
            upstream,
        ),
        case(
            "values.get: 400 with an unknown error status",
            Method::ValuesGet,
            400,
            MalformedBody::UnknownStatus("NEWLY_INVENTED"),
            EMPTY_TAB,
            Fails(ErrorName::Sheet),
        ),
        case(
            "values.get: 503 with an unknown error status",
            Method::ValuesGet,
            503,
            MalformedBody::UnknownStatus("NEWLY_INVENTED"),
            EMPTY_TAB,
            upstream,
        ),
        case(
            "values.get: 503 with JSON that is not Google's error",
            Method::ValuesGet,
            503,
            MalformedBody::NotEnvelope,
            EMPTY_TAB,
            upstream,
        ),
        case(
            "spreadsheets.get: HTML page with 200",
            Method::SpreadsheetsGet,
            200,
            MalformedBody::Html,
            NEW_TAB,
            upstream,
        ),
        case(
            "spreadsheets.batchUpdate (addSheet): truncated JSON with 200",
            Method::SpreadsheetsBatchUpdate,
            200,
            MalformedBody::TruncatedJson,
            NEW_TAB,
            Recovers,
        ),
        case(
            "values.batchUpdate: truncated JSON with 200",
            Method::ValuesBatchUpdate,
            200,
            MalformedBody::TruncatedJson,
            EMPTY_TAB,
            Recovers,
        ),
        case(
            "values.batchUpdate: HTML page with 200",
            Method::ValuesBatchUpdate,
            200,
            MalformedBody::Html,
            EMPTY_TAB,
            Recovers,
        ),
        case(
            "values.batchUpdate: 502 with an HTML page",
            Method::ValuesBatchUpdate,
            502,
            MalformedBody::Html,
            EMPTY_TAB,
            upstream,
        ),
    ]
}

async fn google_case(case: GoogleCase) -> String {
    let sb = Sandbox::start().await;
    summary(&sb.run("clean", "clean").await.0);
    let clean_sheet = sorted(sb.values("clean"));
    let applied_before = sb.applied_writes();
    sb.google.inject(GoogleFault::Malformed {
        method: case.method,
        status: case.status,
        body: case.body,
        times: ALWAYS,
    });
    let (outcome, seen) = sb.run("bad", case.tab).await;
    assert!(sb.google.stats().faults_fired > 0, "the fault fired");
    assert!(
        seen.iter()
            .all(|s| s.task == "Insert" || s.task == "(execution)"),
        "{seen:#?}"
    );
    let result = match case.expect {
        GoogleOutcome::Fails(name) => {
            let (error, _) = failed(&outcome);
            assert_eq!(error, name.as_str(), "{seen:#?}");
            let tries = seen.iter().filter(|s| s.error == error).count();
            if name.retryable() {
                assert!(tries > 2, "retried by the state machine: {seen:#?}");
            } else {
                assert_eq!(tries, 2, "not retried: {seen:#?}");
            }
            let values_written = sb.google.stats().ranges_written.len();
            assert_eq!(sb.applied_writes(), applied_before, "nothing written");
            assert!(
                sb.google
                    .tab_properties(BOOK, case.tab)
                    .is_none_or(|_| sb.values(case.tab).is_empty())
            );
            sb.google.clear_faults();
            let (again, _) = sb.run("bad", case.tab).await;
            assert!(
                matches!(again, Outcome::Succeeded { runs: 2, .. }),
                "a redrive: {again:?}"
            );
            assert!(sb.google.stats().ranges_written.len() > values_written);
            format!("{error}, nothing written; a redrive after healing gives the clean sheet")
        }
        GoogleOutcome::Recovers => {
            let s = summary(&outcome);
            assert!(sb.applied_writes() > applied_before, "written");
            let retries = seen.len();
            assert!(
                seen.iter().all(|s| s.error == "Ordersync.Upstream"),
                "{seen:#?}"
            );
            format!(
                "the write was applied, its answer unreadable; the run completes ({retries} Insert retries by the state machine, {} rows appended in all)",
                s.appended
            )
        }
    };
    assert_eq!(
        sorted(sb.values(case.tab)),
        clean_sheet,
        "healed: the clean sheet"
    );
    result
}

// ---------------------------------------------------------------------------------------------
// The seller's tab

/// What insert does with the tab the seller left.
#[derive(Clone, Copy)]
enum SheetOutcome {
    /// `Ordersync.Sheet` naming the problem (`needle`), nothing written; after the seller's
    /// fix (`heal`, from the clean grid), a redrive gives the clean sheet.
    Refused {
        needle: &'static str,
        heal: fn(&Grid) -> Grid,
    },
    /// The run succeeds; `check(clean, before, after, summary)` checks the documented result,
    /// and a further run writes nothing.
    Applies {
        check: fn(&Grid, &Grid, &Grid, &RunSummary),
        what: &'static str,
    },
}

struct SheetCase {
    name: &'static str,
    /// The tab as the seller leaves it, from a clean run's grid (a paste: every cell text).
    before: fn(&Grid) -> Grid,
    /// Key cells (0-based data row indexes) the seller then retypes as numbers.
    numeric_keys: &'static [usize],
    expect: SheetOutcome,
}

fn clean_copy(clean: &Grid) -> Grid {
    clean.clone()
}

fn emptied(_: &Grid) -> Grid {
    Vec::new()
}

fn sheet_cases() -> Vec<SheetCase> {
    use SheetOutcome::*;
    vec![
        SheetCase {
            name: "header row cleared, data below",
            before: |c| {
                let mut g = c.clone();
                g[0].clear();
                g
            },
            numeric_keys: &[],
            expect: Refused {
                needle: "row 1 has no `상품주문번호` header",
                heal: clean_copy,
            },
        },
        SheetCase {
            name: "an empty tab but for a seller's note further down",
            before: |_| {
                let mut note = vec![String::new(); 8];
                note[7] = "다음 주 재고 확인".into();
                vec![vec![], vec![], vec![], vec![], note]
            },
            numeric_keys: &[],
            expect: Refused {
                needle: "row 1 has no `상품주문번호` header",
                heal: emptied,
            },
        },
        SheetCase {
            name: "a merged title row above the header",
            before: |c| {
                let mut title = vec![String::new(); c[0].len()];
                title[0] = "스마트스토어 주문 목록".into();
                std::iter::once(title).chain(c.iter().cloned()).collect()
            },
            numeric_keys: &[],
            expect: Refused {
                needle: "row 1 has no `상품주문번호` header",
                heal: clean_copy,
            },
        },
        SheetCase {
            name: "the key header renamed",
            before: |c| {
                let mut g = c.clone();
                g[0][0] = "주문상품번호".into();
                g
            },
            numeric_keys: &[],
            expect: Refused {
                needle: "row 1 has no `상품주문번호` header",
                heal: clean_copy,
            },
        },
        SheetCase {
            name: "row 1 holds only the seller's columns, the seller's rows below",
            before: |_| {
                vec![
                    vec!["메모".into(), "담당자".into()],
                    vec!["포장 주의".into(), "민수".into()],
                ]
            },
            numeric_keys: &[],
            expect: Refused {
                needle: "row 1 has no `상품주문번호` header",
                heal: emptied,
            },
        },
        SheetCase {
            name: "a managed header twice in row 1",
            before: |c| {
                let mut g = c.clone();
                g[0][2] = g[0][1].clone();
                g
            },
            numeric_keys: &[],
            expect: Refused {
                needle: "appears more than once in row 1",
                heal: clean_copy,
            },
        },
        SheetCase {
            name: "row 1 holds only the seller's columns, nothing below",
            before: |_| vec![vec!["메모".into(), "담당자".into()]],
            numeric_keys: &[],
            expect: Applies {
                what: "managed headers added after the seller's, every order appended",
                check: |clean, _, after, s| {
                    assert_eq!(s.appended as usize, clean.len() - 1);
                    assert_eq!(after[0][..2], ["메모", "담당자"]);
                    let ours: Grid = after
                        .iter()
                        .map(|r| {
                            assert!(
                                r.len() > 2 && r[..2].iter().all(String::is_empty)
                                    || r[0] == "메모"
                            );
                            r[2..].to_vec()
                        })
                        .collect();
                    assert_eq!(sorted(ours), sorted(clean.clone()));
                },
            },
        },
        SheetCase {
            name: "a managed header merged away (A1:B1 merged, B1 reads empty)",
            before: |c| {
                let mut g = c.clone();
                g[0][1] = String::new();
                g
            },
            numeric_keys: &[],
            expect: Applies {
                what: "the lost header added after the last header cell and filled; the column under the blank header untouched",
                check: |clean, before, after, s| {
                    let n = clean.len() - 1;
                    assert_eq!(s.updated as usize, n);
                    let width = clean[0].len();
                    assert_eq!(after[0][width], clean[0][1]);
                    for (r, row) in after.iter().enumerate().skip(1) {
                        assert_eq!(row[width], clean[r][1], "moved to the new column");
                        assert_eq!(row[1], before[r][1], "the blank-header column untouched");
                    }
                },
            },
        },
        SheetCase {
            name: "the header row repeated as the first data row",
            before: |c| {
                std::iter::once(c[0].clone())
                    .chain(c.iter().cloned())
                    .collect()
            },
            numeric_keys: &[],
            expect: Applies {
                what: "the copy's key cell is no order id: left alone, every order unchanged",
                check: |clean, before, after, s| {
                    assert_eq!((s.appended, s.updated), (0, 0));
                    assert_eq!(s.unchanged as usize, clean.len() - 1);
                    assert_eq!(after, before);
                },
            },
        },
        SheetCase {
            name: "a key cell empty, the row's other cells filled",
            before: |c| {
                let mut g = c.clone();
                g[3][0] = String::new();
                g
            },
            numeric_keys: &[],
            expect: Applies {
                what: "the keyless row is left alone; its order gets a new row",
                check: |clean, before, after, s| {
                    assert_eq!(s.appended, 1);
                    assert_eq!(after.len(), clean.len() + 1);
                    assert_eq!(after[3], before[3], "the keyless row untouched");
                    assert_eq!(after[after.len() - 1], clean[3]);
                },
            },
        },
        SheetCase {
            name: "a key cell with leading and trailing spaces",
            before: |c| {
                let mut g = c.clone();
                g[2][0] = format!("  {} ", g[2][0]);
                g
            },
            numeric_keys: &[],
            expect: Applies {
                what: "matched, and the key rewritten without the spaces",
                check: |clean, _, after, s| {
                    assert_eq!((s.updated, s.appended), (1, 0));
                    assert_eq!(after, clean);
                },
            },
        },
        SheetCase {
            name: "19-digit key cells retyped as numbers (rounded by Sheets)",
            before: clean_copy,
            numeric_keys: &[0, 4],
            expect: Applies {
                what: "a rounded key matches no order: the order gets a new row, the rounded row is left alone",
                check: |clean, before, after, s| {
                    assert_eq!(s.appended, 2);
                    assert_eq!(after.len(), clean.len() + 2);
                    assert_eq!(after[..before.len()], before[..]);
                    assert_eq!(after[after.len() - 2], clean[1]);
                    assert_eq!(after[after.len() - 1], clean[5]);
                },
            },
        },
    ]
}

async fn sheet_case(case: SheetCase) -> String {
    let sb = Sandbox::start().await;
    let first = summary(&sb.run("first", TAB).await.0);
    let clean = sb.values(TAB);
    assert_eq!(first.appended as usize, clean.len() - 1);

    sb.google.set_values(BOOK, TAB, (case.before)(&clean));
    for &row in case.numeric_keys {
        let key: f64 = clean[row + 1][0].parse().unwrap();
        sb.google.person_set_number(BOOK, TAB, row + 1, 0, key);
    }
    let before = sb.values(TAB);
    let applied = sb.applied_writes();
    let (outcome, seen) = sb.run("second", TAB).await;
    match case.expect {
        SheetOutcome::Refused { needle, heal } => {
            let (error, cause) = failed(&outcome);
            assert_eq!(error, "Ordersync.Sheet", "{seen:#?}");
            let message = cause["errorMessage"].as_str().unwrap();
            assert!(message.contains(needle), "{message}");
            assert!(
                seen.iter()
                    .all(|s| s.task == "Insert" || s.task == "(execution)")
            );
            assert_eq!(sb.applied_writes(), applied, "nothing written");
            assert_eq!(sb.values(TAB), before);
            sb.google.set_values(BOOK, TAB, heal(&clean));
            let (again, _) = sb.run("second", TAB).await;
            assert!(
                matches!(again, Outcome::Succeeded { runs: 2, .. }),
                "a redrive: {again:?}"
            );
            assert_eq!(sorted(sb.values(TAB)), sorted(clean));
            format!(
                "Ordersync.Sheet, nothing written ({message}); after the fix a redrive gives the clean sheet"
            )
        }
        SheetOutcome::Applies { check, what } => {
            let s = summary(&outcome);
            let after = sb.values(TAB);
            check(&clean, &before, &after, &s);
            for &row in case.numeric_keys {
                assert!(
                    matches!(
                        sb.google.cell(BOOK, TAB, row + 1, 0),
                        Some(CellValue::Number(_))
                    ),
                    "the rounded key is left alone"
                );
            }
            let again = summary(&sb.run("third", TAB).await.0);
            assert_eq!((again.appended, again.updated), (0, 0), "converged");
            assert_eq!(sb.values(TAB), after);
            what.to_owned()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A key typed as a number that Sheets keeps exactly (16 digits, below 2^53): the insert handler
// with rows whose ids are that short.

async fn exact_numeric_key_case() -> String {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let google = FakeGoogle::start(FakeGoogleConfig::default()).await;
    google.create_spreadsheet(BOOK);
    let sheets = sheets_client(&google).await.unwrap();

    let from = parse_instant("2026-11-01", DateOnly::StartOfDay).unwrap();
    let to = parse_instant("2026-11-01", DateOnly::EndOfDay).unwrap();
    let window = split(from, to, MAX_WINDOW)[0];
    let mut orders = ordersync_testkit::orders::orders_in_window(&window, 0, 20, 3);
    for (i, order) in orders.iter_mut().enumerate() {
        let id = format!("{}", 2026110100000000_u64 + i as u64);
        order.product_order_id = id.clone();
        if let Some(po) = order.detail.product_order.as_mut() {
            po.product_order_id = Some(id);
        }
    }
    let key = object_key("short-ids", Stage::Orders, &window).unwrap();
    let orders_ref = write_object::<OrdersSchema>(
        &store,
        &key,
        encode::<OrdersSchema>(&OrdersMeta { window }, &orders).unwrap(),
    )
    .await
    .unwrap();
    let rows = ordersync_transform::handle(
        &store,
        TransformEvent {
            execution: "short-ids".into(),
            window,
            orders: orders_ref,
            columns: None,
        },
    )
    .await
    .unwrap();
    let lease = LeaseConfig::default();
    let insert = || {
        ordersync_insert::handle(
            &store,
            &sheets,
            &lease,
            &ordersync_core::clock::SystemClock,
            InsertEvent {
                sync: None,
                execution: "short-ids".into(),
                sheet: SheetTarget {
                    spreadsheet_id: BOOK.into(),
                    tab: TAB.into(),
                },
                windows: vec![rows.clone().into()],
            },
            Instant::now() + Duration::from_secs(30),
        )
    };
    let first = insert().await.unwrap();
    assert_eq!(first.appended, 20);
    let clean = google.values(BOOK, TAB);
    let key: f64 = clean[3][0].parse().unwrap();
    google.person_set_number(BOOK, TAB, 3, 0, key);
    let s = insert().await.unwrap();
    assert_eq!((s.updated, s.appended, s.unchanged), (1, 0, 19));
    assert_eq!(
        google.cell(BOOK, TAB, 3, 0),
        Some(CellValue::Text(clean[3][0].clone())),
        "rewritten as text"
    );
    assert_eq!(google.values(BOOK, TAB), clean);
    "matched, and rewritten as text".to_owned()
}

// ---------------------------------------------------------------------------------------------

enum Case {
    Naver(NaverCase),
    Google(GoogleCase),
    Sheet(SheetCase),
    ExactNumericKey,
}

impl Case {
    fn name(&self) -> String {
        match self {
            Case::Naver(c) => format!("NAVER {}", c.name),
            Case::Google(c) => format!("Google {}", c.name),
            Case::Sheet(c) => format!("tab: {}", c.name),
            Case::ExactNumericKey => "tab: a 16-digit key cell retyped as a number".into(),
        }
    }

    async fn run(self) -> String {
        match self {
            Case::Naver(c) => naver_case(c).await,
            Case::Google(c) => google_case(c).await,
            Case::Sheet(c) => sheet_case(c).await,
            Case::ExactNumericKey => exact_numeric_key_case().await,
        }
    }
}

#[test]
fn every_malformed_upstream_answer_ends_documented_and_a_rerun_repairs_it() {
    let cases: VecDeque<Case> = naver_cases()
        .into_iter()
        .map(Case::Naver)
        .chain(google_cases().into_iter().map(Case::Google))
        .chain(sheet_cases().into_iter().map(Case::Sheet))
        .chain([Case::ExactNumericKey])
        .collect();
    let built = cases.len();
    let queue = Mutex::new(cases);
    let results: Mutex<Vec<(String, Result<String, String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL {
            scope.spawn(|| {
                loop {
                    let Some(case) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    let name = case.name();
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    let result =
                        std::panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(case.run())))
                            .map_err(|panic| {
                                panic
                                    .downcast_ref::<String>()
                                    .cloned()
                                    .or_else(|| {
                                        panic.downcast_ref::<&str>().map(|s| (*s).to_owned())
                                    })
                                    .unwrap_or_default()
                            });
                    results.lock().unwrap().push((name, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut failures = Vec::new();
    for (name, result) in &results {
        match result {
            Ok(outcome) => println!("ok   {name}: {outcome}"),
            Err(panic) => {
                println!("FAIL {name}: {panic}");
                failures.push(name.as_str());
            }
        }
    }
    assert!(failures.is_empty(), "failed cases: {failures:#?}");
    let n = results.len();
    println!("bad upstream cases: {n}");
    assert!(n >= built && n >= 49, "{n} of {built}");
}

/// NAVER's hourly penalty through the real state machine: the execution fails with
/// `Ordersync.QuotaPenalty` and its message, no Task is retried (not by the client, not by the
/// ASL), and each Import attempt costs one call. Once NAVER lifts it, a redrive completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hourly_quota_penalty_fails_the_execution_at_once_and_a_redrive_completes() {
    let sb = Sandbox::start().await;
    let (from, to) = sb.naver.shop().span();
    let windows = split(from, to, MAX_WINDOW).len();
    // On the system clock: no call of the hour is let through, whenever the test runs.
    sb.naver
        .set_mode(NaverMode::QuotaPenalty { calls_per_hour: 0 });
    let (outcome, seen) = sb.run("penalty", TAB).await;
    let (error, cause) = failed(&outcome);
    assert_eq!(error, "Ordersync.QuotaPenalty", "{seen:#?}");
    let message = cause["errorMessage"].as_str().unwrap();
    for needle in [
        "1 call per hour",
        "any tool or script that uses the same application",
        "Check every tool",
        "after a day without such a request",
    ] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
    assert!(
        seen.iter().all(|s| s.error == "Ordersync.QuotaPenalty"
            && (s.task.ends_with("/Import") || s.task == "Windows" || s.task == "(execution)")),
        "{seen:#?}"
    );
    let attempts = seen.iter().filter(|s| s.task.ends_with("/Import")).count();
    let calls = sb.naver.stats().rejected("GW.QUOTA_LIMIT");
    assert!(
        (1..=windows).contains(&attempts) && (1..=windows as u64).contains(&calls),
        "one failed attempt and one call per window at most: {attempts} attempts, {calls} calls"
    );
    assert_eq!(sb.naver.requests().len() as u64, calls);
    assert!(sb.google.tab_properties(BOOK, TAB).is_none());

    sb.naver.set_mode(NaverMode::Normal);
    let (again, _) = sb.run("penalty", TAB).await;
    assert!(
        matches!(again, Outcome::Succeeded { runs: 2, .. }),
        "a redrive: {again:?}"
    );
    assert!(summary(&again).appended > 12);
}

/// Planned maintenance through the real state machine: each Import attempt stops after one
/// call as `Ordersync.Upstream`, the ASL's retrier is the loop (not the client's backoff), the
/// execution fails with the maintenance message once those retries are spent, and a redrive
/// after the maintenance completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_is_retried_by_the_state_machine_not_in_a_fast_loop() {
    let sb = Sandbox::start().await;
    sb.naver.set_mode(NaverMode::Maintenance);
    let (outcome, seen) = sb.run("maintenance", TAB).await;
    let (error, cause) = failed(&outcome);
    assert_eq!(error, "Ordersync.Upstream", "{seen:#?}");
    let message = cause["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("planned maintenance") && message.contains("GW.BLOCK.02"),
        "{message}"
    );
    let attempts = seen.iter().filter(|s| s.task.ends_with("/Import")).count();
    assert!(attempts > 2, "retried by the state machine: {seen:#?}");
    // One call per attempt; an attempt the Map cancelled in flight may have made its call
    // without reporting a failure (at most one per concurrent iteration).
    let calls = sb.naver.stats().rejected("GW.BLOCK.02") as usize;
    assert!(
        (attempts..=attempts + 2).contains(&calls),
        "{calls} calls for {attempts} failed attempts"
    );

    sb.naver.set_mode(NaverMode::Normal);
    let (again, _) = sb.run("maintenance", TAB).await;
    assert!(
        matches!(again, Outcome::Succeeded { runs: 2, .. }),
        "a redrive: {again:?}"
    );
}
