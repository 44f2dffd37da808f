//! The deployed `statemachine.asl.json`, run by the local runner end to end: S3 over the real
//! protocol (s3s-fs), the strict fake NAVER and fake Google, the three handlers in-process.
//!
//! - a multi-day range: one window per day, every product order one row, SSE on every put;
//! - a failure injected in each state (before the function's work, or after it — "applied, then
//!   the answer was lost"), recovered both ways: a rerun of the same execution (resumes like a
//!   redrive) and a new execution with the same input; each sheet equals the clean run's;
//! - a non-retryable error ends in the `Fail` state with its documented name; a retryable one is
//!   retried by the ASL's `Retry`;
//! - every error name the ASL matches is in the Rust table, and the retryable ones are exactly
//!   the table's retryable names.

mod common;

use common::summary;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use ordersync_aws::S3Store;
use ordersync_core::errors::ErrorName;
use ordersync_local::definition::{DEFINITION, execute, machine};
use ordersync_local::definition::{IMPORT, INSERT, TRANSFORM};
use ordersync_local::functions::LocalFunctions;
use ordersync_local::sandbox::{naver_source, sheets_client};
use ordersync_naver::NaverSource;
use ordersync_naver::source::EnvCredentials;
use ordersync_runner::{Event, Failure, Invoker, Observer, Options, Outcome, Quiet};
use ordersync_sheets::SheetsClient;
use ordersync_testkit::google::{FakeGoogle, FakeGoogleConfig};
use ordersync_testkit::naver::{FakeNaver, FakeNaverConfig};
use ordersync_testkit::s3::S3Server;
use serde_json::{Value, json};

const BOOK: &str = "book-1";

struct Sandbox {
    s3: S3Server,
    store: S3Store,
    naver: FakeNaver,
    google: FakeGoogle,
    source: NaverSource<EnvCredentials>,
    sheets: SheetsClient,
}

impl Sandbox {
    async fn start(orders: usize) -> Sandbox {
        let s3 = S3Server::start().await;
        let store = s3.store("pipeline");
        let naver = FakeNaver::start(FakeNaverConfig {
            seed: 11,
            orders,
            rate_per_sec: 50,
            ..FakeNaverConfig::default()
        })
        .await;
        let google = FakeGoogle::start(FakeGoogleConfig::default()).await;
        google.create_spreadsheet(BOOK);
        let source = naver_source(&naver, naver.client_secret()).unwrap();
        let sheets = sheets_client(&google).await.unwrap();
        Sandbox {
            s3,
            store,
            naver,
            google,
            source,
            sheets,
        }
    }

    fn functions(&self) -> LocalFunctions<'_, S3Store, NaverSource<EnvCredentials>> {
        LocalFunctions::new(&self.store, &self.source, &self.sheets)
    }

    /// The request for the shop's whole span, into `tab`.
    fn request(&self, tab: &str) -> Value {
        let (from, to) = self.naver.shop().span();
        json!({
            "account": {"secret_id": "shops/test-1"},
            "range": {"from": from.date_naive().to_string(), "to": to.date_naive().to_string(), "by": "changed"},
            "sheet": {"spreadsheet_id": BOOK, "tab": tab}
        })
    }

    async fn run(
        &self,
        invoker: &impl Invoker,
        name: &str,
        input: Value,
        observer: &impl Observer,
    ) -> Outcome {
        let machine = machine(DEFINITION).unwrap();
        ordersync_runner::run_execution(
            &machine,
            &self.store,
            invoker,
            observer,
            fast(),
            name,
            input,
        )
        .await
        .unwrap()
    }

    /// The tab's header and its data rows sorted by key (the order of appends may differ
    /// between a clean run and a repaired one; the content may not).
    fn sheet(&self, tab: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut values = self.google.values(BOOK, tab);
        assert!(!values.is_empty(), "tab {tab} is empty");
        let header = values.remove(0);
        values.sort();
        (header, values)
    }
}

fn fast() -> Options {
    Options {
        retry_time_scale: 0.001,
    }
}

#[tokio::test]
async fn a_multi_day_range_runs_through_the_real_asl_over_s3() {
    let sandbox = Sandbox::start(80).await;
    let request = sandbox.request("orders");
    let outcome = execute(
        &machine(DEFINITION).unwrap(),
        &sandbox.store,
        &sandbox.functions(),
        &Quiet,
        fast(),
        "multi-day",
        request,
    )
    .await
    .unwrap();
    let summary = summary(&outcome);

    let (from, to) = sandbox.naver.shop().span();
    let days = (to.date_naive() - from.date_naive()).num_days() as u64 + 1;
    assert_eq!(summary.windows, days, "one ≤24 h window per KST day");
    assert!(summary.windows >= 3);
    let distinct: BTreeSet<String> = sandbox
        .naver
        .shop()
        .events()
        .iter()
        .map(|e| e.product_order_id.clone())
        .collect();
    let (header, rows) = sandbox.sheet("orders");
    assert_eq!(header[0], "상품주문번호");
    assert_eq!(rows.len(), distinct.len());
    assert_eq!(summary.appended, distinct.len() as u64);
    assert_eq!((summary.updated, summary.unchanged), (0, 0));
    let keys: BTreeSet<String> = rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(keys, distinct, "every changed product order exactly once");
    assert_eq!(summary.orders_fetched, summary.orders_changed);
    assert!(summary.naver_api_calls > summary.windows && summary.sheets_api_calls >= 3);

    // One orders and one rows object per window, plus the local journal; all encrypted.
    let objects = sandbox.s3.keys("pipeline/runs/multi-day/").await;
    let count = |stage: &str| {
        objects
            .iter()
            .filter(|k| k.contains(&format!("/{stage}/")))
            .count() as u64
    };
    assert_eq!((count("orders"), count("rows")), (days, days));
    let puts = sandbox.s3.puts();
    assert!(!puts.is_empty());
    assert!(
        puts.iter().all(|p| p.sse.as_deref() == Some("AES256")),
        "{puts:?}"
    );

    // The execution output is counts only (the cell budget: counts and its warning flag).
    let Outcome::Succeeded { output, .. } = &outcome else {
        unreachable!()
    };
    let counts_only = |v: &Value| v.is_u64() || v.is_boolean();
    assert!(
        output.as_object().unwrap().iter().all(|(k, v)| match v {
            Value::Object(o) => k == "cell_budget" && o.values().all(counts_only),
            v => v.is_u64(),
        }),
        "{output}"
    );
}

/// Where and when to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    /// Before the function does anything.
    Before,
    /// After the function did all its work; only its answer is lost.
    After,
}

/// The local functions, with one injected failure: the `nth` call (1-based) of `function`.
struct Faulty<'a, I> {
    inner: &'a I,
    function: &'static str,
    nth: usize,
    when: When,
    error: &'static str,
    calls: Mutex<BTreeMap<String, usize>>,
}

impl<I: Invoker> Invoker for Faulty<'_, I> {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, Failure> {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls.entry(function.to_owned()).or_default();
            *n += 1;
            *n
        };
        let hit = function == self.function && n == self.nth;
        let cause = || json!({"errorType": self.error, "errorMessage": "injected"}).to_string();
        if hit && self.when == When::Before {
            return Err(Failure::new(self.error, cause()));
        }
        let out = self.inner.invoke(function, payload).await?;
        if hit {
            return Err(Failure::new(self.error, cause()));
        }
        Ok(out)
    }
}

#[tokio::test]
async fn a_failure_in_each_state_then_either_rerun_gives_the_clean_sheet() {
    let sandbox = Sandbox::start(60).await;
    let functions = sandbox.functions();
    let clean = summary(
        &sandbox
            .run(&functions, "clean", sandbox.request("clean"), &Quiet)
            .await,
    );
    let clean_sheet = sandbox.sheet("clean");
    assert!(clean.appended > 50);

    let mut scenarios = 0;
    // (function, nth call, state the failure shows in): the import function's 1st call is the
    // Plan step; its 3rd is the second window's import.
    let targets = [
        (IMPORT, 1, "Plan"),
        (IMPORT, 3, "Import"),
        (TRANSFORM, 2, "Transform"),
        (INSERT, 1, "Insert"),
    ];
    for (function, nth, state) in targets {
        for when in [When::Before, When::After] {
            for recovery in ["same-execution", "new-execution"] {
                scenarios += 1;
                let tab = format!("t{scenarios}");
                let name = format!("fail-{scenarios}");
                let input = sandbox.request(&tab);
                let faulty = Faulty {
                    inner: &functions,
                    function,
                    nth,
                    when,
                    error: "Ordersync.Internal",
                    calls: Mutex::new(BTreeMap::new()),
                };
                let failed = sandbox.run(&faulty, &name, input.clone(), &Quiet).await;
                let Outcome::Failed { failure, .. } = failed else {
                    panic!("{state} {when:?}: expected a failure, got {failed:?}")
                };
                assert_eq!(failure.error, "Ordersync.Internal", "{state} {when:?}");

                let rerun_name = if recovery == "same-execution" {
                    name.clone()
                } else {
                    format!("{name}-new")
                };
                let invoked = Invoked::default();
                let outcome = sandbox.run(&functions, &rerun_name, input, &invoked).await;
                let rerun = summary(&outcome);
                let context = format!("failure in {state} ({when:?}), recovered by {recovery}");
                let invoked = invoked.0.into_inner().unwrap();
                if recovery == "same-execution" {
                    // A redrive reruns the failed state and what never ran, nothing that finished.
                    assert_eq!(
                        invoked.iter().any(|t| t == "Plan"),
                        state == "Plan",
                        "{context}: {invoked:?}"
                    );
                    if state == "Insert" {
                        assert_eq!(invoked, ["Insert"], "{context}");
                    }
                } else {
                    assert_eq!(
                        invoked.first().map(String::as_str),
                        Some("Plan"),
                        "{context}"
                    );
                }
                assert_eq!(sandbox.sheet(&tab), clean_sheet, "{context}");
                assert_eq!(
                    rerun.appended + rerun.updated + rerun.unchanged,
                    clean.appended,
                    "{context}"
                );
                if recovery == "same-execution" {
                    assert!(
                        matches!(outcome, Outcome::Succeeded { runs: 2, .. }),
                        "{context}: {outcome:?}"
                    );
                }
                if state == "Insert" && when == When::After {
                    // Everything was written before the answer was lost: the rerun writes nothing.
                    assert_eq!((rerun.appended, rerun.updated), (0, 0), "{context}");
                }
            }
        }
    }
    println!("fault scenarios run: {scenarios}");
    assert_eq!(scenarios, 16);
}

/// The Task states that ran (not replayed from the journal), in order.
#[derive(Default)]
struct Invoked(Mutex<Vec<String>>);

impl Observer for Invoked {
    fn event(&self, event: Event<'_>) {
        if let Event::TaskSucceeded {
            task,
            replayed: false,
            ..
        } = event
        {
            self.0.lock().unwrap().push(task.to_owned());
        }
    }
}

#[derive(Default)]
struct Retries(Mutex<Vec<String>>);

impl Observer for Retries {
    fn event(&self, event: Event<'_>) {
        if let Event::TaskRetrying { task, failure, .. } = event {
            self.0
                .lock()
                .unwrap()
                .push(format!("{task} {}", failure.error));
        }
    }
}

#[tokio::test]
async fn retryable_errors_are_retried_and_others_fail_the_execution() {
    let sandbox = Sandbox::start(20).await;
    let functions = sandbox.functions();

    // A transient error in a transform: the ASL's Retry runs it again; the run succeeds.
    let faulty = Faulty {
        inner: &functions,
        function: TRANSFORM,
        nth: 1,
        when: When::Before,
        error: "Ordersync.Upstream",
        calls: Mutex::new(BTreeMap::new()),
    };
    let retries = Retries::default();
    let outcome = sandbox
        .run(&faulty, "transient", sandbox.request("a"), &retries)
        .await;
    summary(&outcome);
    // The first transform call is whichever window's import finished first (the Map runs two
    // at once): one retry, of one window's Transform.
    let retried = retries.0.lock().unwrap().clone();
    assert!(
        matches!(
            retried.as_slice(),
            [one] if one == "Windows[0]/Transform Ordersync.Upstream"
                || one == "Windows[1]/Transform Ordersync.Upstream"
        ),
        "{retried:?}"
    );

    // A dead function, by every name the Lambda service may give it: the last `States.ALL`
    // retrier runs Insert again and the run succeeds.
    for (i, dead) in [
        "Runtime.ExitError",
        "Runtime.OutOfMemory",
        "Lambda.Unknown",
        "Sandbox.Timedout",
    ]
    .into_iter()
    .enumerate()
    {
        let faulty = Faulty {
            inner: &functions,
            function: INSERT,
            nth: 1,
            when: When::Before,
            error: dead,
            calls: Mutex::new(BTreeMap::new()),
        };
        let retries = Retries::default();
        let tab = format!("dead{i}");
        let outcome = sandbox
            .run(
                &faulty,
                &format!("dead-{i}"),
                sandbox.request(&tab),
                &retries,
            )
            .await;
        summary(&outcome);
        assert_eq!(
            retries.0.lock().unwrap().as_slice(),
            [format!("Insert {dead}")],
            "{dead}"
        );
    }

    // Bad input: the Plan step fails with InvalidInput, not retried, which fails the
    // execution, and nothing was written anywhere.
    let mut bad = sandbox.request("b");
    bad["range"]["from"] = json!("2026-13-01");
    let retries = Retries::default();
    let puts_before = sandbox.s3.puts().len();
    let outcome = sandbox.run(&functions, "bad-input", bad, &retries).await;
    let Outcome::Failed { failure, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(failure.error, "Ordersync.InvalidInput");
    let cause: Value = serde_json::from_str(&failure.cause).unwrap();
    assert_eq!(cause["errorType"], "Ordersync.InvalidInput");
    assert!(
        cause["errorMessage"]
            .as_str()
            .unwrap()
            .contains("range.from"),
        "{cause}"
    );
    assert!(retries.0.lock().unwrap().is_empty());
    let new_puts: Vec<_> = sandbox
        .s3
        .puts()
        .into_iter()
        .skip(puts_before)
        .filter(|p| !p.key.contains("/journal/"))
        .collect();
    assert!(new_puts.is_empty(), "{new_puts:?}");
    assert!(sandbox.google.tab_properties(BOOK, "b").is_none());

    // A spreadsheet that does not exist: insert's Sheet/Config error is not retried either.
    let mut missing = sandbox.request("c");
    missing["sheet"]["spreadsheet_id"] = json!("no-such-book");
    let outcome = sandbox
        .run(&functions, "missing-book", missing, &Quiet)
        .await;
    let Outcome::Failed { failure, .. } = outcome else {
        panic!("{outcome:?}")
    };
    let name = ErrorName::parse(&failure.error).expect("a documented name");
    assert!(!name.retryable(), "{failure}");
}

fn error_names(value: &Value, retry: &mut BTreeSet<String>, catch: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let target = match key.as_str() {
                    "Retry" => Some(&mut *retry),
                    "Catch" => Some(&mut *catch),
                    _ => None,
                };
                if let Some(target) = target {
                    for entry in v.as_array().unwrap() {
                        for name in entry["ErrorEquals"].as_array().unwrap() {
                            target.insert(name.as_str().unwrap().to_owned());
                        }
                    }
                } else {
                    error_names(v, retry, catch);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| error_names(v, retry, catch)),
        _ => {}
    }
}

#[test]
fn the_asl_error_names_are_the_rust_table() {
    let asl: Value = serde_json::from_str(DEFINITION).unwrap();
    let (mut retry, mut catch) = (BTreeSet::new(), BTreeSet::new());
    error_names(&asl, &mut retry, &mut catch);
    for name in &retry {
        if let Some(ours) = name.strip_prefix("Ordersync.") {
            assert!(
                ErrorName::parse(name).is_some(),
                "the ASL matches unknown name Ordersync.{ours}"
            );
        } else {
            assert!(
                name.starts_with("Lambda.") || name == "States.ALL",
                "{name}"
            );
        }
    }
    // No catch-all into a Fail state (nor any Catch): a failing Task fails the execution with
    // its own name, so a console redrive reruns that Task. See issue #13 and the reference's
    // Redrive section: a caught error counts as finished on AWS.
    assert!(catch.is_empty(), "the ASL catches {catch:?}");
    let states = asl["States"].as_object().unwrap();
    assert!(
        states.values().all(|s| s["Type"] != "Fail"),
        "no Fail state: nothing routes to one"
    );

    let mut tasks = Vec::new();
    fn walk<'v>(states: &'v Value, tasks: &mut Vec<(&'v String, &'v Value)>) {
        for (name, state) in states.as_object().unwrap() {
            if state["Type"] == "Task" {
                tasks.push((name, state));
            }
            if let Some(inner) = state.pointer("/ItemProcessor/States") {
                walk(inner, tasks);
            }
        }
    }
    walk(&asl["States"], &mut tasks);
    assert_eq!(tasks.len(), 4, "Plan, Import, Transform, Insert");
    let names = |r: &Value| -> BTreeSet<String> {
        r["ErrorEquals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect()
    };
    let non_retryable: BTreeSet<String> = ErrorName::ALL
        .into_iter()
        .filter(|n| !n.retryable())
        .map(|n| n.as_str().to_owned())
        .collect();
    for (name, task) in tasks {
        let retry = task["Retry"].as_array().unwrap();
        // Our non-retryable names first, never retried (MaxAttempts 0 matches and wins).
        assert_eq!(names(&retry[0]), non_retryable, "{name}");
        assert_eq!(retry[0]["MaxAttempts"], 0, "{name}");
        // Lambda's own transient errors.
        let transient = retry
            .iter()
            .find(|r| names(r).contains("Lambda.ServiceException"))
            .unwrap_or_else(|| panic!("{name}: no Lambda transient retrier"));
        for lambda in [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
            "Lambda.ClientExecutionTimeoutException",
        ] {
            assert!(names(transient).contains(lambda), "{name}: {lambda}");
        }
        // Our retryable names are retried (Busy only where it can happen: insert).
        let retried: BTreeSet<String> = retry
            .iter()
            .filter(|r| r["MaxAttempts"] != 0)
            .flat_map(&names)
            .filter(|n| n.starts_with("Ordersync."))
            .collect();
        let mut expected: BTreeSet<String> = ErrorName::ALL
            .into_iter()
            .filter(|n| n.retryable())
            .map(|n| n.as_str().to_owned())
            .collect();
        if *name != "Insert" {
            expected.remove("Ordersync.Busy");
        }
        if *name != "Import" {
            expected.remove("Ordersync.Continue");
        }
        assert_eq!(retried, expected, "{name}");
        // A window's import goes on from its stored place: retried at once, many times, and
        // before States.ALL could take it (first match wins).
        let position = |wanted: &str| retry.iter().position(|r| names(r).contains(wanted));
        if *name == "Import" {
            let at = position("Ordersync.Continue").expect("Import retries Ordersync.Continue");
            let continues = &retry[at];
            assert_eq!(names(continues).len(), 1, "alone: its policy is its own");
            assert_eq!(continues["BackoffRate"], 1, "nothing failed: no backoff");
            assert!(continues["MaxAttempts"].as_u64().unwrap() >= 10);
        }
        // Last, alone: whatever else the runtime or the service names a dead function
        // (Runtime.ExitError, Runtime.OutOfMemory, Lambda.Unknown, Sandbox.Timedout, ...).
        let last = retry.last().unwrap();
        assert_eq!(
            names(last),
            BTreeSet::from(["States.ALL".to_owned()]),
            "{name}"
        );
        assert!(last["MaxAttempts"].as_u64().unwrap() >= 1, "{name}");
        assert!(
            retry
                .iter()
                .filter(|r| r["MaxAttempts"] != 0)
                .filter(|r| !names(r).contains("Ordersync.Continue"))
                .all(|r| r["JitterStrategy"] == "FULL" && r["BackoffRate"].as_f64().unwrap() > 1.0),
            "{name}"
        );
    }
}
