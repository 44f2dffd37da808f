//! The fault-injection matrix: the real `statemachine.asl.json` run by the local runner, the
//! three functions as **built binaries** behind a local Lambda Runtime API (the test kit's
//! `Lambdas`), S3 over the real protocol (s3s-fs), the strict fake NAVER and fake Google.
//!
//! Every scenario starts from the same sheet: a first execution imported the shop's first days
//! into the scenario's tab, then the seller added their own column (`메모`) with a note on every
//! row. A second execution, for the whole span, is the one that fails; it has new rows to append
//! and statuses to update. Then it is recovered one of two ways — a rerun of the same execution
//! (the runner resumes it like a console redrive) or a new execution with the same input — and
//! the tab must equal the reference tab that went through the same two executions without a
//! fault: zero duplicate keys, zero missing keys, the latest status everywhere, every seller
//! note where the seller put it.
//!
//! Faults (each persists for the whole failing execution, so its retries fail too):
//! - per state (Plan, Import, Transform, Insert): an error before any work; the process killed
//!   as soon as it has the event (`Runtime.ExitError`, as the Lambda service reports a process
//!   that exits); the process killed 50 ms in, as Lambda does
//!   at a timeout (`Sandbox.Timedout`); the work done in full, then the answer lost to a Lambda
//!   503 (`Lambda.ServiceException`, "applied then 503");
//! - per write inside insert (before write k+1 of n, for every k): Google rejects write k+1
//!   (`Ordersync.Sheet`); the process killed while write k+1 is in flight; the same reported as
//!   a timeout; write k+1 applied then answered 503 (absorbed by the client's retry of the same
//!   explicit range: that execution succeeds, and both reruns must then write nothing).
//!
//! Also: the NAVER token expiring between windows, 429 storms from both APIs, and two
//! executions on the same tab at once.

mod common;

use common::summary;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ordersync_aws::S3Store;
use ordersync_core::events::RunSummary;
use ordersync_local::definition::{DEFINITION, machine};
use ordersync_local::definition::{IMPORT, INSERT, TRANSFORM};
use ordersync_runner::{Failure, Invoker, Options, Outcome, Quiet};
use ordersync_testkit::google::{FakeGoogle, FakeGoogleConfig, GoogleFault, Method};
use ordersync_testkit::lambdas::Lambdas;
use ordersync_testkit::naver::{Endpoint, FakeNaver, FakeNaverConfig, Fault, FaultKind};
use ordersync_testkit::s3::S3Server;
use serde_json::{Value, json};

const BOOK: &str = "book-matrix";
const NOTE_HEADER: &str = "메모";

struct Rig {
    _s3: S3Server,
    store: S3Store,
    naver: FakeNaver,
    google: FakeGoogle,
    lambdas: Lambdas,
    _key_dir: tempfile::TempDir,
}

impl Rig {
    /// `max_request_bytes` makes one upsert take several value writes.
    async fn start(orders: usize, google: FakeGoogleConfig) -> Rig {
        let s3 = S3Server::start().await;
        let store = s3.store("matrix");
        let naver = FakeNaver::start(FakeNaverConfig {
            seed: 23,
            orders,
            rate_per_sec: 50,
            ..FakeNaverConfig::default()
        })
        .await;
        let google = FakeGoogle::start(google).await;
        google.create_spreadsheet(BOOK);
        let key_dir = tempfile::tempdir().unwrap();

        let mut env = s3.store_env("matrix");
        env.extend(common::fakes_env(&naver, &google, key_dir.path()));
        env.extend(
            [
                ("GOOGLE_SHEETS_MAX_REQUEST_BYTES", "24576".to_owned()),
                // The shortest lease: a new execution after a killed insert waits it out.
                ("ORDERSYNC_LEASE_TTL_S", "10".to_owned()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        // Insert keeps 10 s back: 2 s of retrying inside an invocation.
        let lambdas = common::pipeline_lambdas(env, Duration::from_secs(12)).await;
        Rig {
            _s3: s3,
            store,
            naver,
            google,
            lambdas,
            _key_dir: key_dir,
        }
    }

    /// The request for `tab`: the shop's first KST day, or its whole span (three whole KST days:
    /// the same orders whatever the hour the suite runs at).
    fn request(&self, tab: &str, first_days_only: bool) -> Value {
        let (from, to) = self.naver.shop().span();
        let to = if first_days_only {
            from + chrono::TimeDelta::days(1)
        } else {
            to
        };
        json!({
            "account": {"secret_id": "shops/matrix"},
            "range": {"from": from.date_naive().to_string(), "to": to.date_naive().to_string(), "by": "changed"},
            "sheet": {"spreadsheet_id": BOOK, "tab": tab}
        })
    }

    async fn run(&self, invoker: &impl Invoker, name: &str, input: Value) -> Outcome {
        ordersync_runner::run_execution(
            &machine(DEFINITION).unwrap(),
            &self.store,
            invoker,
            &Quiet,
            // Step Functions' waits at 1/20: a Busy retry still outlasts a 10 s lease.
            Options {
                retry_time_scale: 0.05,
            },
            name,
            input,
        )
        .await
        .unwrap()
    }

    /// The first execution (the first day) into `tab`, then the seller's column and notes.
    async fn seed(&self, tab: &str) {
        let outcome = self
            .run(
                &self.lambdas,
                &format!("seed-{tab}"),
                self.request(tab, true),
            )
            .await;
        assert!(summary(&outcome).appended > 0, "{tab}: {outcome:?}");
        self.google.person_add_column(BOOK, tab, NOTE_HEADER, 1);
        let mut values = self.google.values(BOOK, tab);
        // NAVER's feed is a snapshot, so the full range shows the first day's orders as they
        // were: make every third status stale, for the full run to have rows to update.
        let status = values[0]
            .iter()
            .position(|h| h == "주문상태")
            .expect("a status column");
        for (i, row) in values.iter_mut().enumerate().skip(1) {
            row[1] = format!("seller note {i}");
            if i % 3 == 0 {
                row[status] = "stale".into();
            }
        }
        self.google.set_values(BOOK, tab, values);
    }

    /// The header, and the data rows sorted (a repaired run may append in another order).
    fn sheet(&self, tab: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut values = self.google.values(BOOK, tab);
        let header = values.remove(0);
        values.sort();
        (header, values)
    }
}

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Error,
    Killed,
    Timeout,
    AppliedThen503,
}

const KINDS: [Kind; 4] = [
    Kind::Error,
    Kind::Killed,
    Kind::Timeout,
    Kind::AppliedThen503,
];

/// Where it goes wrong.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// The `nth` call (1-based) of a function in the failing execution, and every later one.
    Call(&'static str, usize),
    /// Insert's write k+1 (after k writes applied; 0-based `after`).
    InsertWrite { after: u64 },
}

/// The Lambdas with one fault. Once it has fired, every later call of the same function in
/// this execution fails the same way before doing anything (a fault that persists), so the
/// state machine's retries cannot mask it and the execution fails.
struct Faulty<'a> {
    rig: &'a Rig,
    place: Place,
    kind: Kind,
    calls: Mutex<std::collections::BTreeMap<String, usize>>,
    fired: AtomicUsize,
}

impl<'a> Faulty<'a> {
    fn new(rig: &'a Rig, place: Place, kind: Kind) -> Self {
        Faulty {
            rig,
            place,
            kind,
            calls: Mutex::default(),
            fired: AtomicUsize::new(0),
        }
    }

    fn target(&self) -> &'static str {
        match self.place {
            Place::Call(function, _) => function,
            Place::InsertWrite { .. } => INSERT,
        }
    }

    fn failure(&self) -> Failure {
        let (error, error_type) = match self.kind {
            Kind::Error => ("Ordersync.Internal", "Ordersync.Internal"),
            Kind::Killed => ("Runtime.ExitError", "Runtime.ExitError"),
            Kind::Timeout => ("Sandbox.Timedout", "Sandbox.Timedout"),
            Kind::AppliedThen503 => ("Lambda.ServiceException", "ServiceException"),
        };
        Failure::new(
            error,
            json!({"errorType": error_type, "errorMessage": "injected"}).to_string(),
        )
    }

    /// Runs the call, killing its process `after` into it. Lambda ends a timed-out invocation
    /// the same way (the process is killed), so only the reported name differs.
    async fn killed(&self, function: &str, payload: Value, after: Duration) -> Failure {
        let result = self
            .rig
            .lambdas
            .invoke_killed_when(function, payload, tokio::time::sleep(after))
            .await;
        match result {
            // Finished before the kill: its answer is lost all the same.
            Ok(_) => self.failure(),
            Err(failure) => {
                assert_eq!(failure.error, "Runtime.ExitError", "{failure:?}");
                self.failure()
            }
        }
    }

    async fn at_call(&self, function: &str, payload: Value) -> Result<Value, Failure> {
        match self.kind {
            Kind::Error => Err(self.failure()),
            Kind::Killed => Err(self.killed(function, payload, Duration::ZERO).await),
            Kind::Timeout => Err(self
                .killed(function, payload, Duration::from_millis(50))
                .await),
            Kind::AppliedThen503 => {
                self.rig.lambdas.invoke(function, payload).await?;
                Err(self.failure())
            }
        }
    }

    /// Insert with write `after + 1` parked in flight (a long delay at the fake Google), and
    /// the fault applied to it once the first `after` writes are in.
    async fn at_write(&self, after: u64, payload: Value) -> Result<Value, Failure> {
        let google = &self.rig.google;
        let (seen, applied) = {
            let stats = google.stats();
            (stats.writes, stats.applied_writes)
        };
        let park = match self.kind {
            // Parked long enough never to land during the test once the process is gone.
            Kind::Killed | Kind::Timeout => Duration::from_secs(600),
            Kind::Error | Kind::AppliedThen503 => Duration::from_millis(300),
        };
        for _ in 0..after {
            google.inject(GoogleFault::Delay {
                method: Method::AnyWrite,
                duration: Duration::ZERO,
            });
        }
        google.inject(GoogleFault::Delay {
            method: Method::AnyWrite,
            duration: park,
        });
        let fault = async {
            // Until write `after + 1` has reached the fake and is parked there.
            loop {
                let stats = google.stats();
                if stats.writes > seen + after && stats.applied_writes >= applied + after {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            match self.kind {
                Kind::Error => google.inject(GoogleFault::Status {
                    method: Method::AnyWrite,
                    status: 400,
                    times: 1,
                }),
                Kind::AppliedThen503 => google.inject(GoogleFault::AppliedThen503 {
                    method: Method::AnyWrite,
                    times: 1,
                }),
                Kind::Killed | Kind::Timeout => {}
            }
        };
        let result = match self.kind {
            Kind::Killed | Kind::Timeout => {
                self.rig
                    .lambdas
                    .invoke_killed_when(INSERT, payload, fault)
                    .await
            }
            Kind::Error | Kind::AppliedThen503 => {
                let (result, ()) = tokio::join!(self.rig.lambdas.invoke(INSERT, payload), fault);
                result
            }
        };
        match (self.kind, result) {
            (Kind::Killed | Kind::Timeout, Err(failure)) => {
                assert_eq!(failure.error, "Runtime.ExitError", "{failure:?}");
                Err(self.failure())
            }
            (_, result) => result,
        }
    }
}

impl Invoker for Faulty<'_> {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, Failure> {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls.entry(function.to_owned()).or_default();
            *n += 1;
            *n
        };
        if function != self.target() {
            return self.rig.lambdas.invoke(function, payload).await;
        }
        if self.fired.load(Ordering::SeqCst) > 0 {
            // The fault persists: retries of this function fail before doing anything (except
            // an absorbed "applied then 503" inside insert, which is not a failure).
            if !(matches!(self.place, Place::InsertWrite { .. })
                && self.kind == Kind::AppliedThen503)
            {
                return Err(self.failure());
            }
        }
        match self.place {
            Place::Call(_, nth) if n >= nth => {
                self.fired.fetch_add(1, Ordering::SeqCst);
                self.at_call(function, payload).await
            }
            Place::InsertWrite { after } if n == 1 => {
                self.fired.fetch_add(1, Ordering::SeqCst);
                self.at_write(after, payload).await
            }
            _ => self.rig.lambdas.invoke(function, payload).await,
        }
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone)]
struct Scenario {
    place_name: String,
    place: Place,
    kind: Kind,
    same_execution: bool,
}

/// The reference on one rig: the tab after the two executions without a fault, the clean
/// run's summary, and how many writes its insert made.
struct Reference {
    sheet: (Vec<String>, Vec<Vec<String>>),
    clean: RunSummary,
    writes: u64,
}

async fn reference(rig: &Rig) -> Reference {
    rig.seed("ref").await;
    let writes_before = rig.google.stats().applied_writes;
    let clean = summary(
        &rig.run(&rig.lambdas, "ref", rig.request("ref", false))
            .await,
    );
    let writes = rig.google.stats().applied_writes - writes_before;
    let sheet = rig.sheet("ref");
    assert!(clean.appended > 20 && clean.updated > 0, "{clean:?}");
    let notes = sheet
        .1
        .iter()
        .filter(|r| r[1].starts_with("seller note"))
        .count();
    assert!(notes > 10, "{notes}");
    Reference {
        sheet,
        clean,
        writes,
    }
}

/// Runs scenarios one after another on one rig (the fake Google's faults are per server).
async fn run_scenarios(rig: &Rig, reference: &Reference, scenarios: &[Scenario]) {
    for (i, scenario) in scenarios.iter().enumerate() {
        let Scenario {
            place_name,
            place,
            kind,
            same_execution,
        } = scenario;
        let (place, kind) = (*place, *kind);
        let tab = format!("s{i}");
        let started = std::time::Instant::now();
        let context = format!(
            "{kind:?} at {place_name}, recovered by a {}",
            if *same_execution {
                "rerun of the same execution"
            } else {
                "new execution"
            }
        );
        rig.seed(&tab).await;
        let input = rig.request(&tab, false);
        let name = format!("fail-{tab}");
        let faulty = Faulty::new(rig, place, kind);
        let outcome = rig.run(&faulty, &name, input.clone()).await;
        // The upstream heals; nothing queued for the failed run may touch the recovery.
        rig.google.clear_faults();
        assert!(
            faulty.fired.load(Ordering::SeqCst) > 0,
            "{context}: the fault never fired"
        );
        let absorbed = matches!(place, Place::InsertWrite { .. }) && kind == Kind::AppliedThen503;
        match &outcome {
            Outcome::Failed { failure, .. } => {
                assert!(!absorbed, "{context}: {failure}");
                let expected = match (place, kind) {
                    (Place::InsertWrite { .. }, Kind::Error) => "Ordersync.Sheet".into(),
                    _ => faulty.failure().error,
                };
                assert_eq!(failure.error, expected, "{context}");
            }
            other => assert!(absorbed, "{context}: expected a failure, got {other:?}"),
        }

        let rerun_name = if *same_execution {
            name
        } else {
            format!("new-{tab}")
        };
        let outcome = rig.run(&rig.lambdas, &rerun_name, input).await;
        let rerun = summary(&outcome);
        assert_eq!(rig.sheet(&tab), reference.sheet, "{context}");
        let clean = &reference.clean;
        assert_eq!(
            rerun.appended + rerun.updated + rerun.unchanged,
            clean.appended + clean.updated + clean.unchanged,
            "{context}: {rerun:?}"
        );
        if absorbed && !same_execution {
            assert_eq!((rerun.appended, rerun.updated), (0, 0), "{context}");
        }
        println!("{context}: ok in {:.1} s", started.elapsed().as_secs_f64());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_in_every_state_and_write_then_either_rerun_gives_the_clean_sheet() {
    // Three rigs side by side: a new execution after a killed insert waits out the 10 s lease,
    // and those waits overlap. Same seed, so the same shop and the same writes on each.
    let rigs = [
        Rig::start(50, quick_google()).await,
        Rig::start(50, quick_google()).await,
        Rig::start(50, quick_google()).await,
    ];
    let references = [
        reference(&rigs[0]).await,
        reference(&rigs[1]).await,
        reference(&rigs[2]).await,
    ];
    // Writes per clean insert (the grid's growth may differ by one between rigs).
    let writes = references.iter().map(|r| r.writes).min().unwrap_or(0);
    assert!(
        writes >= 3,
        "the clean insert made {writes} value writes, the matrix needs at least 3 (a fault before \
         the first, a middle and the last write): lower GOOGLE_SHEETS_MAX_REQUEST_BYTES in \
         Rig::start or give Rig::start more orders"
    );

    let mut places: Vec<(String, Place)> = vec![
        ("Plan".into(), Place::Call(IMPORT, 1)),
        ("Import (window 2)".into(), Place::Call(IMPORT, 3)),
        ("Transform (window 2)".into(), Place::Call(TRANSFORM, 2)),
        ("Insert".into(), Place::Call(INSERT, 1)),
    ];
    for after in 0..writes {
        places.push((
            format!("Insert write {} of ≥ {writes}", after + 1),
            Place::InsertWrite { after },
        ));
    }
    let mut scenarios: [Vec<Scenario>; 3] = Default::default();
    let mut count = 0;
    for (place_name, place) in &places {
        for kind in KINDS {
            for same_execution in [true, false] {
                scenarios[count % 3].push(Scenario {
                    place_name: place_name.clone(),
                    place: *place,
                    kind,
                    same_execution,
                });
                count += 1;
            }
        }
    }
    tokio::join!(
        run_scenarios(&rigs[0], &references[0], &scenarios[0]),
        run_scenarios(&rigs[1], &references[1], &scenarios[1]),
        run_scenarios(&rigs[2], &references[2], &scenarios[2]),
    );
    let crashes: u64 = rigs.iter().map(|r| r.lambdas.stats()[INSERT].crashes).sum();
    println!(
        "fault scenarios run: {count} ({} places × {} kinds × 2 recoveries); insert processes killed: {crashes}",
        places.len(),
        KINDS.len(),
    );
    assert_eq!(count, places.len() * KINDS.len() * 2);
    assert!(count >= 56, "{count}");
}

/// The Lambdas, with something done to the world after the `nth` call of `function` returns.
struct After<'a, F: Fn() + Sync> {
    lambdas: &'a Lambdas,
    function: &'static str,
    nth: usize,
    calls: AtomicUsize,
    then: F,
}

impl<F: Fn() + Sync> Invoker for After<'_, F> {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, Failure> {
        let out = self.lambdas.invoke(function, payload).await;
        if function == self.function && self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.nth {
            (self.then)();
        }
        out
    }
}

fn quick_google() -> FakeGoogleConfig {
    FakeGoogleConfig {
        writes_per_minute: 10_000,
        ..FakeGoogleConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_naver_token_expiring_between_windows_is_replaced_and_nothing_is_lost() {
    let rig = Rig::start(30, quick_google()).await;
    summary(
        &rig.run(&rig.lambdas, "clean", rig.request("clean", false))
            .await,
    );
    let tokens = rig.naver.stats().tokens_issued;

    // The import instances keep their token between invocations; it dies after the first
    // window's import (the import function's 2nd call; the 1st is Plan).
    let expiring = After {
        lambdas: &rig.lambdas,
        function: IMPORT,
        nth: 2,
        calls: AtomicUsize::new(0),
        then: || rig.naver.expire_tokens(),
    };
    let outcome = rig
        .run(&expiring, "expiry", rig.request("expiry", false))
        .await;
    summary(&outcome);
    let stats = rig.naver.stats();
    assert!(
        stats.rejected("GW.AUTHN") >= 1,
        "the old token was used once: {stats:?}"
    );
    assert!(
        stats.tokens_issued > tokens,
        "a new token was issued: {stats:?}"
    );
    assert_eq!(rig.sheet("expiry"), rig.sheet("clean"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storms_of_429_from_naver_and_google_are_waited_out() {
    let rig = Rig::start(30, quick_google()).await;
    summary(
        &rig.run(&rig.lambdas, "clean", rig.request("clean", false))
            .await,
    );

    rig.naver.inject(Fault {
        endpoint: Endpoint::Any,
        times: 8,
        kind: FaultKind::Status {
            status: 429,
            code: "GW.RATE_LIMIT",
        },
    });
    for method in [Method::ValuesGet, Method::AnyWrite] {
        rig.google.inject(GoogleFault::Status {
            method,
            status: 429,
            times: 3,
        });
    }
    let naver_before = rig.naver.stats().rejected("GW.RATE_LIMIT");
    let google_before = rig.google.stats().rejected_429;
    let outcome = rig
        .run(&rig.lambdas, "storm", rig.request("storm", false))
        .await;
    summary(&outcome);
    assert_eq!(
        rig.naver.stats().rejected("GW.RATE_LIMIT") - naver_before,
        8
    );
    assert_eq!(rig.google.stats().rejected_429 - google_before, 6);
    assert_eq!(rig.sheet("storm"), rig.sheet("clean"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_executions_on_one_tab_at_once_never_duplicate_rows() {
    let rig = Rig::start(30, quick_google()).await;
    summary(
        &rig.run(&rig.lambdas, "clean", rig.request("clean", false))
            .await,
    );

    // The backend started twice (a double click): two names, one input, at the same time.
    let input = rig.request("twice", false);
    let (a, b) = tokio::join!(
        rig.run(&rig.lambdas, "twice-a", input.clone()),
        rig.run(&rig.lambdas, "twice-b", input),
    );
    let (a, b) = (summary(&a), summary(&b));
    let clean = rig.sheet("clean");
    assert_eq!(rig.sheet("twice"), clean);
    assert_eq!(
        a.appended + b.appended,
        clean.1.len() as u64,
        "each row appended by exactly one of them: {a:?} {b:?}"
    );
}
