//! The moto check: `statemachine.asl.json` run by a second, independent interpreter — moto's
//! Step Functions executor (LocalStack's ASL interpreter) — and by our local runner, on the
//! same scenario, with the same **built** function binaries (the test kit's `Lambdas`: moto's
//! Lambda `Invoke` calls reach them through the test kit's moto bridge). Plus the Secrets
//! Manager reads of both credential paths against moto's Secrets Manager, by the built
//! functions with their store in moto's S3 (see the section below).
//!
//! Each Step Functions case runs one execution on moto and one on the runner, each with its own
//! function instances, fake Google and store prefix (the fake NAVER shop is shared: it is only
//! read), and compares: every Task attempt in order (state name, and success or the error
//! name) — so retries show as repeated attempts — the final status, the error name and cause
//! of a failure, the output and the sheet of a success. Each is also held against the
//! attempts this file expects, so the two interpreters cannot agree on something wrong.
//! - a clean run;
//! - transient names retried, then success: `Ordersync.Upstream` from Import and a Lambda
//!   service error (`Lambda.ServiceException`, a 500 from the Invoke API) in Transform;
//! - a crash (`Runtime.ExitError`: Transform's process killed) retried, then success;
//! - the same crash with the definition's last retrier (`States.ALL`) removed: the execution
//!   then fails with `Runtime.ExitError` — the check that the retrier for crashes is there;
//! - a non-retryable name (`Ordersync.Sheet`: Google refuses every write) failing the
//!   execution with that error at Insert, in one attempt, with no `Fail` state entered.
//!
//! moto has no `RedriveExecution`, so for the two failures the runner's redrive is held against
//! moto's history instead: after healing the fault, a local redrive of the same name reruns
//! exactly the Task states moto's history shows as entered and not exited (Step Functions'
//! rule for what a redrive reruns), then the Tasks never reached, and succeeds.
//!
//! moto sleeps for real between retries, so every case runs a copy of the definition with
//! `IntervalSeconds: 1` (the least ASL allows), `BackoffRate: 1` and no `MaxDelaySeconds`;
//! nothing else changes. The runner runs the same copy without waiting. One day's range makes
//! one Map item, so Task attempts never overlap and their order is the same on both.
//!
//! moto comes from `ORDERSYNC_MOTO_SERVER` (`.ci/run` installs it); without it every test here
//! prints why and passes, unless `ORDERSYNC_REQUIRE_MOTO=1` (CI), where it fails.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ordersync_local::definition::DEFINITION;
use ordersync_local::definition::{IMPORT, INSERT, TRANSFORM, substitutions};
use ordersync_runner::{Event, Failure, Invoker, Observer, Options, Outcome};
use ordersync_testkit::google::{FakeGoogle, FakeGoogleConfig, GoogleFault, Method};
use ordersync_testkit::lambdas::Lambdas;
use ordersync_testkit::moto::{self, Functions, Invocation, Moto, MotoExecution, function_arn};
use ordersync_testkit::naver::{FakeNaver, FakeNaverConfig};
use ordersync_testkit::s3::S3Server;
use serde_json::{Value, json};

const BOOK: &str = "book-moto";
const TAB: &str = "orders";
const EXECUTION: &str = "moto-case";

/// What goes wrong at one call of a function.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// A function error with this name, before any work.
    Error(&'static str),
    /// The Invoke API itself fails with this `Lambda.*` name.
    Service(&'static str),
    /// The process is killed as soon as it has the event.
    Crash,
}

/// The built functions, with faults at chosen calls: `(function, n, fault)` fails the n-th
/// call (1-based) of `function`.
struct Scripted {
    lambdas: Lambdas,
    script: Vec<(&'static str, usize, Fault)>,
    calls: Mutex<BTreeMap<String, usize>>,
}

impl Scripted {
    async fn call(&self, function: &str, payload: Value) -> Result<Value, Failure> {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls.entry(function.to_owned()).or_default();
            *n += 1;
            *n
        };
        let fault = self
            .script
            .iter()
            .find(|(f, at, _)| *f == function && *at == n)
            .map(|(_, _, fault)| *fault);
        match fault {
            None => self.lambdas.invoke_function(function, payload).await,
            Some(Fault::Error(name)) => Err(Failure::new(
                name,
                json!({"errorType": name, "errorMessage": "injected"}).to_string(),
            )),
            Some(Fault::Service(name)) => Err(Failure::new(name, "injected service error")),
            Some(Fault::Crash) => {
                let result = self
                    .lambdas
                    .invoke_killed_when(function, payload, std::future::ready(()))
                    .await;
                let failure = result.expect_err("a killed process cannot answer");
                assert_eq!(failure.error, "Runtime.ExitError", "{failure:?}");
                Err(failure)
            }
        }
    }
}

impl Functions for Scripted {
    fn invoke<'a>(&'a self, function: &'a str, payload: Value) -> Invocation<'a> {
        Box::pin(self.call(function, payload))
    }
}

impl Invoker for Scripted {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, Failure> {
        self.call(function, payload).await
    }
}

type Attempt = (String, Result<(), String>);

/// The runner's Task attempts, as [`MotoExecution::task_attempts`] lists moto's: the Map
/// state's own events (it fails when an item fails) are left out, as moto records no Task
/// attempt for it.
struct Attempts {
    tasks: BTreeSet<String>,
    seen: Mutex<Vec<Attempt>>,
}

impl Observer for Attempts {
    fn event(&self, event: Event<'_>) {
        let (task, outcome) = match event {
            Event::TaskSucceeded {
                task,
                replayed: false,
                ..
            } => (task, Ok(())),
            Event::TaskRetrying { task, failure, .. } | Event::TaskFailed { task, failure } => {
                (task, Err(failure.error.clone()))
            }
            _ => return,
        };
        let state = task.rsplit('/').next().unwrap_or(task);
        if self.tasks.contains(state) {
            self.seen.lock().unwrap().push((state.to_owned(), outcome));
        }
    }
}

/// The names of every `Task` state in a definition, Map item processors included.
fn task_states(definition: &Value, out: &mut BTreeSet<String>) {
    let Some(states) = definition["States"].as_object() else {
        return;
    };
    for (name, state) in states {
        if state["Type"] == "Task" {
            out.insert(name.clone());
        }
        task_states(&state["ItemProcessor"], out);
    }
}

/// Applies `edit` to every `Retry` list in the definition.
fn each_retry(node: &mut Value, edit: &mut dyn FnMut(&mut Vec<Value>)) {
    match node {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match (key.as_str(), value) {
                    ("Retry", Value::Array(retriers)) => edit(retriers),
                    (_, value) => each_retry(value, edit),
                }
            }
        }
        Value::Array(values) => values.iter_mut().for_each(|v| each_retry(v, edit)),
        _ => {}
    }
}

/// The definition as both interpreters run it here: waits of at most a second (moto sleeps
/// for real), and with `without_last_retrier` the final `States.ALL` retrier of every Task
/// removed (panicking if a Task has none: the file must retry crashes).
fn test_definition(without_last_retrier: bool) -> Value {
    let mut definition: Value = serde_json::from_str(DEFINITION).unwrap();
    each_retry(&mut definition, &mut |retriers| {
        for retrier in retriers.iter_mut() {
            let retrier = retrier.as_object_mut().unwrap();
            retrier.insert("IntervalSeconds".into(), json!(1));
            retrier.insert("BackoffRate".into(), json!(1));
            retrier.remove("MaxDelaySeconds");
        }
        if without_last_retrier {
            let last = retriers.pop().expect("a Task without Retry");
            assert_eq!(
                last["ErrorEquals"],
                json!(["States.ALL"]),
                "the last retrier must be States.ALL"
            );
        }
    });
    definition
}

/// The servers one side (moto's, or the runner's) uses besides the shared NAVER shop.
struct Side {
    google: FakeGoogle,
    functions: Arc<Scripted>,
    _key_dir: tempfile::TempDir,
}

impl Side {
    async fn start(
        s3: &S3Server,
        naver: &FakeNaver,
        prefix: &str,
        script: &[(&'static str, usize, Fault)],
        refuse_writes: bool,
    ) -> Side {
        let google = FakeGoogle::start(FakeGoogleConfig::default()).await;
        google.create_spreadsheet(BOOK);
        if refuse_writes {
            google.inject(GoogleFault::Status {
                method: Method::AnyWrite,
                status: 400,
                times: u32::MAX,
            });
        }
        let key_dir = tempfile::tempdir().unwrap();
        let mut env = s3.store_env(prefix);
        env.extend(common::fakes_env(naver, &google, key_dir.path()));
        let lambdas = common::pipeline_lambdas(env, Duration::from_secs(60)).await;
        Side {
            google,
            functions: Arc::new(Scripted {
                lambdas,
                script: script.to_vec(),
                calls: Mutex::default(),
            }),
            _key_dir: key_dir,
        }
    }
}

/// One scenario run by both interpreters.
struct Compared {
    moto: MotoExecution,
    local: Result<Value, Failure>,
    local_attempts: Vec<Attempt>,
    moto_side: Side,
    local_side: Side,
    s3: S3Server,
    machine: ordersync_runner::Machine,
    input: Value,
}

/// Runs the scenario on moto and on the runner; `None` when moto is not configured.
async fn compare(
    script: &[(&'static str, usize, Fault)],
    refuse_writes: bool,
    without_last_retrier: bool,
) -> Option<Compared> {
    // Before anything is started: without moto there is nothing to compare.
    moto::server_path()?;
    let s3 = S3Server::start().await;
    let naver = FakeNaver::start(FakeNaverConfig {
        seed: 31,
        orders: 40,
        rate_per_sec: 50,
        ..FakeNaverConfig::default()
    })
    .await;
    let moto_side = Side::start(&s3, &naver, "moto", script, refuse_writes).await;
    let local_side = Side::start(&s3, &naver, "local", script, refuse_writes).await;
    let moto = Moto::start(moto_side.functions.clone()).await?;

    // One whole KST day inside the shop's span: one window, one Map item.
    let day = (naver.shop().span().0 + chrono::TimeDelta::days(1)).date_naive();
    let input = json!({
        "account": {"secret_id": "shops/moto"},
        "range": {"from": day.to_string(), "to": day.to_string(), "by": "changed"},
        "sheet": {"spreadsheet_id": BOOK, "tab": TAB}
    });
    let definition = test_definition(without_last_retrier).to_string();

    let arns: BTreeMap<String, String> = substitutions()
        .into_iter()
        .map(|(placeholder, function)| (placeholder, function_arn(&function)))
        .collect();
    let on_moto = ordersync_runner::substitute(&definition, &arns).unwrap();
    let state_machine = moto.create_state_machine("ordersync", &on_moto).await;
    let moto_run = moto.run_execution(&state_machine, EXECUTION, &input).await;

    let machine = ordersync_runner::load(&definition, &substitutions()).unwrap();
    let mut tasks = BTreeSet::new();
    task_states(&serde_json::from_str(&definition).unwrap(), &mut tasks);
    let observer = Attempts {
        tasks,
        seen: Mutex::default(),
    };
    // Journaled in the local side's store, so that the same name can be redriven.
    let local = local_run(&s3, &machine, &local_side, &observer, &input).await;
    drop(moto);
    Some(Compared {
        moto: moto_run,
        local,
        local_attempts: observer.seen.into_inner().unwrap(),
        moto_side,
        local_side,
        s3,
        machine,
        input,
    })
}

/// Runs (or, for a name that failed, redrives) [`EXECUTION`] on the runner, journaled in the
/// store under `local`.
async fn local_run(
    s3: &S3Server,
    machine: &ordersync_runner::Machine,
    side: &Side,
    observer: &Attempts,
    input: &Value,
) -> Result<Value, Failure> {
    let outcome = ordersync_runner::run_execution(
        machine,
        &s3.store("local"),
        &*side.functions,
        observer,
        Options {
            retry_time_scale: 0.0,
        },
        EXECUTION,
        input.clone(),
    )
    .await
    .unwrap();
    match outcome {
        Outcome::Succeeded { output, .. } => Ok(output),
        Outcome::Failed { failure, .. } => Err(failure),
        Outcome::AlreadySucceeded { output } => panic!("ran before: {output}"),
    }
}

fn attempts(list: &[(&str, Result<(), &str>)]) -> Vec<Attempt> {
    list.iter()
        .map(|(state, outcome)| ((*state).to_owned(), outcome.map_err(|e| e.to_owned())))
        .collect()
}

impl Compared {
    /// Both ran `expected` Task attempts, and neither entered a `Fail` state.
    fn assert_attempts(&self, expected: &[(&str, Result<(), &str>)]) {
        let expected = attempts(expected);
        let history = self.moto.event_types();
        assert_eq!(
            self.moto.task_attempts(),
            expected,
            "moto: {history:?}, {:?}: {:?}",
            self.moto.error,
            self.moto.cause
        );
        assert_eq!(self.local_attempts, expected, "runner");
        assert!(
            !history.iter().any(|t| t == "FailStateEntered"),
            "no Fail state may be entered: {history:?}"
        );
    }

    /// Both succeeded with the same output and wrote the same sheet.
    fn assert_succeeded_alike(&self) {
        assert_eq!(self.moto.status, "SUCCEEDED", "{:?}", self.moto);
        let local = self.local.as_ref().expect("the runner's execution failed");
        assert_eq!(self.moto.output.as_ref(), Some(local), "outputs");
        assert_eq!(
            self.moto.states_entered(),
            [
                "Plan",
                "Windows",
                "Import",
                "Transform",
                "WindowDone",
                "Insert"
            ]
        );
        let moto_sheet = self.moto_side.google.values(BOOK, TAB);
        assert!(moto_sheet.len() > 1, "rows were written: {moto_sheet:?}");
        assert_eq!(moto_sheet, self.local_side.google.values(BOOK, TAB));
    }

    /// Heals the fault, redrives the runner's execution (same name) and checks that it reran
    /// exactly what moto's history says did not finish — the Task states among
    /// [`MotoExecution::unfinished_states`] — then the Tasks moto never reached, and succeeded.
    async fn assert_local_redrive_reruns_the_unfinished(&self, never_reached: &[&str]) {
        self.local_side.google.clear_faults();
        let mut tasks = BTreeSet::new();
        task_states(&serde_json::from_str(DEFINITION).unwrap(), &mut tasks);
        let unfinished: Vec<String> = self
            .moto
            .unfinished_states()
            .into_iter()
            .filter(|s| tasks.contains(s))
            .collect();
        let observer = Attempts {
            tasks,
            seen: Mutex::default(),
        };
        let redriven = local_run(
            &self.s3,
            &self.machine,
            &self.local_side,
            &observer,
            &self.input,
        )
        .await;
        assert!(redriven.is_ok(), "the redrive failed: {redriven:?}");
        let expected: Vec<Attempt> = unfinished
            .iter()
            .map(String::as_str)
            .chain(never_reached.iter().copied())
            .map(|s| (s.to_owned(), Ok(())))
            .collect();
        assert_eq!(
            observer.seen.into_inner().unwrap(),
            expected,
            "unfinished on moto: {:?}",
            self.moto.unfinished_states()
        );
    }

    /// Both failed with `error` and the same cause.
    fn assert_failed_alike(&self, error: &str) {
        assert_eq!(self.moto.status, "FAILED", "{:?}", self.moto);
        let local = self
            .local
            .as_ref()
            .expect_err("the runner's execution succeeded");
        assert_eq!(self.moto.error.as_deref(), Some(error), "moto");
        assert_eq!(local.error, error, "runner");
        let cause = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(json!(text));
        assert_eq!(
            cause(self.moto.cause.as_deref().unwrap_or_default()),
            cause(&local.cause),
            "causes"
        );
        assert_eq!(cause(&local.cause)["errorType"], error, "{local:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_run_is_the_same_on_moto_and_on_the_runner() {
    let Some(run) = compare(&[], false, false).await else {
        return;
    };
    run.assert_attempts(&[
        ("Plan", Ok(())),
        ("Import", Ok(())),
        ("Transform", Ok(())),
        ("Insert", Ok(())),
    ]);
    run.assert_succeeded_alike();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_names_are_retried_then_succeed_on_both() {
    // Import's first call is the Plan step; its second is the window's import.
    let script = [
        (IMPORT, 2, Fault::Error("Ordersync.Upstream")),
        (TRANSFORM, 1, Fault::Service("Lambda.ServiceException")),
    ];
    let Some(run) = compare(&script, false, false).await else {
        return;
    };
    run.assert_attempts(&[
        ("Plan", Ok(())),
        ("Import", Err("Ordersync.Upstream")),
        ("Import", Ok(())),
        ("Transform", Err("Lambda.ServiceException")),
        ("Transform", Ok(())),
        ("Insert", Ok(())),
    ]);
    run.assert_succeeded_alike();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_is_retried_then_succeeds_on_both() {
    let Some(run) = compare(&[(TRANSFORM, 1, Fault::Crash)], false, false).await else {
        return;
    };
    run.assert_attempts(&[
        ("Plan", Ok(())),
        ("Import", Ok(())),
        ("Transform", Err("Runtime.ExitError")),
        ("Transform", Ok(())),
        ("Insert", Ok(())),
    ]);
    run.assert_succeeded_alike();
    let crashes = run.moto_side.functions.lambdas.stats()[TRANSFORM].crashes;
    assert_eq!(crashes, 1, "the crash was a real one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_last_retrier_a_crash_fails_the_execution_on_both() {
    let Some(run) = compare(&[(TRANSFORM, 1, Fault::Crash)], false, true).await else {
        return;
    };
    run.assert_attempts(&[
        ("Plan", Ok(())),
        ("Import", Ok(())),
        ("Transform", Err("Runtime.ExitError")),
    ]);
    run.assert_failed_alike("Runtime.ExitError");
    // The Map and its item's Transform did not finish; Insert was never reached.
    assert_eq!(run.moto.unfinished_states(), ["Windows", "Transform"]);
    run.assert_local_redrive_reruns_the_unfinished(&["Insert"])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_retryable_sheet_error_fails_the_execution_at_insert_on_both() {
    let Some(run) = compare(&[], true, false).await else {
        return;
    };
    run.assert_attempts(&[
        ("Plan", Ok(())),
        ("Import", Ok(())),
        ("Transform", Ok(())),
        ("Insert", Err("Ordersync.Sheet")),
    ]);
    run.assert_failed_alike("Ordersync.Sheet");
    let entered = run.moto.states_entered();
    assert_eq!(
        entered.last().map(String::as_str),
        Some("Insert"),
        "{entered:?}"
    );
    let history = run.moto.event_types();
    assert_eq!(
        history.last().map(String::as_str),
        Some("ExecutionFailed"),
        "{history:?}"
    );
    // Only Insert did not finish: a redrive reruns it alone.
    assert_eq!(run.moto.unfinished_states(), ["Insert"]);
    run.assert_local_redrive_reruns_the_unfinished(&[]).await;
    // Every write was refused on moto's side, the tab's creation included (the runner's side
    // was healed and redriven above).
    let moto_google = &run.moto_side.google;
    assert!(!moto_google.tab_titles(BOOK).contains(&TAB.to_owned()));
    assert!(moto_google.stats().writes > 0, "insert did try to write");
    assert!(
        run.local_side.google.values(BOOK, TAB).len() > 1,
        "the redrive wrote the rows"
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager: both credential paths, read by the built functions from moto's Secrets
// Manager (their store in moto's S3), by name and by ARN; a missing secret; a transient error
// (injected at the bridge) that the SDK's own retry absorbs, and one that lasts.

const SM_BUCKET: &str = "ordersync-moto";

/// `GetSecretValue` requests that reached the bridge so far: (answered by moto, injected).
fn secret_reads(moto: &Moto) -> (usize, usize) {
    let reads: Vec<_> = moto
        .forwarded()
        .into_iter()
        .filter(|f| f.target.as_deref() == Some("secretsmanager.GetSecretValue"))
        .collect();
    let injected = reads.iter().filter(|f| f.injected).count();
    (reads.len() - injected, injected)
}

fn inject_secret_error(moto: &Moto, status: u16, code: &str, times: u32) {
    moto.inject(moto::InjectedError {
        target: "secretsmanager.GetSecretValue".to_owned(),
        status,
        code: code.to_owned(),
        times,
    });
}

/// The functions with their AWS clients on moto and no local credentials, plus `extra`.
async fn moto_lambdas(moto: &Moto, extra: &[(&str, String)]) -> Lambdas {
    let mut env = moto.child_env();
    env.push(("ORDERSYNC_STORE".to_owned(), format!("s3://{SM_BUCKET}/sm")));
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    common::pipeline_lambdas(env, Duration::from_secs(60)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_reads_naver_credentials_from_secrets_manager() {
    let Some(moto) = Moto::start(Arc::new(moto::NoFunctions)).await else {
        return;
    };
    moto.create_bucket(SM_BUCKET).await;
    let naver = FakeNaver::start(FakeNaverConfig {
        seed: 37,
        orders: 10,
        rate_per_sec: 50,
        ..FakeNaverConfig::default()
    })
    .await;
    let credentials =
        json!({"client_id": naver.client_id(), "client_secret": naver.client_secret()}).to_string();
    let mut arns = BTreeMap::new();
    for name in ["shops/by-name", "shops/by-arn", "shops/blip", "shops/down"] {
        arns.insert(name, moto.create_secret(name, &credentials).await);
    }
    let lambdas = moto_lambdas(&moto, &[("NAVER_COMMERCE_BASE_URL", naver.base_url())]).await;
    let day = (naver.shop().span().0 + chrono::TimeDelta::days(1)).date_naive();
    let import = |secret_id: &str| {
        json!({
            "execution": "sm-import",
            "account": {"secret_id": secret_id},
            "window": {
                "from": format!("{day}T00:00:00+09:00"),
                "to": format!("{}T00:00:00+09:00", day + chrono::TimeDelta::days(1)),
            }
        })
    };

    // By name, then by the ARN with its suffix: each a read of moto's secret, and the fake
    // NAVER accepted the signature made with what was read.
    let by_name = lambdas
        .invoke_function(IMPORT, import("shops/by-name"))
        .await
        .unwrap();
    let arn = &arns["shops/by-arn"];
    assert!(
        arn.rsplit_once('-')
            .is_some_and(|(_, suffix)| suffix.len() == 6),
        "{arn}"
    );
    let by_arn = lambdas.invoke_function(IMPORT, import(arn)).await.unwrap();
    assert_eq!(by_name["counts"]["fetched"], by_arn["counts"]["fetched"]);
    assert!(by_name["counts"]["fetched"].as_u64() > Some(0), "{by_name}");
    assert_eq!(secret_reads(&moto), (2, 0));

    // A secret that does not exist: the account is unknown (the request named it).
    let missing = lambdas
        .invoke_function(IMPORT, import("shops/nope"))
        .await
        .unwrap_err();
    assert_eq!(missing.error, "Ordersync.InvalidInput", "{missing:?}");
    assert!(missing.cause.contains("shops/nope"), "{missing:?}");

    // One throttle: the SDK retries it, the invocation succeeds.
    inject_secret_error(&moto, 400, "ThrottlingException", 1);
    let before = secret_reads(&moto);
    lambdas
        .invoke_function(IMPORT, import("shops/blip"))
        .await
        .unwrap();
    assert_eq!(secret_reads(&moto), (before.0 + 1, before.1 + 1));

    // Secrets Manager failing for longer than the SDK retries: a retryable name.
    inject_secret_error(&moto, 500, "InternalServiceError", 10);
    let down = lambdas
        .invoke_function(IMPORT, import("shops/down"))
        .await
        .unwrap_err();
    assert_eq!(down.error, "Ordersync.Upstream", "{down:?}");
    assert!(
        ordersync_core::errors::ErrorName::Upstream.retryable(),
        "the state machine retries it"
    );
}

/// One window's rows, made by the built import (NAVER credentials from the environment) and
/// transform into moto's S3 store: an insert event's `windows`, as the Map's `WindowDone` builds it.
async fn one_window(moto: &Moto, naver: &FakeNaver, execution: &str) -> Value {
    let lambdas = moto_lambdas(
        moto,
        &[
            ("NAVER_COMMERCE_BASE_URL", naver.base_url()),
            ("NAVER_CLIENT_ID", naver.client_id().to_owned()),
            ("NAVER_CLIENT_SECRET", naver.client_secret().to_owned()),
        ],
    )
    .await;
    let day = (naver.shop().span().0 + chrono::TimeDelta::days(1)).date_naive();
    let request = json!({
        "account": {"secret_id": "shops/env"},
        "range": {"from": day.to_string(), "to": day.to_string(), "by": "changed"},
        "sheet": {"spreadsheet_id": BOOK, "tab": TAB}
    });
    let plan = lambdas
        .invoke_function(IMPORT, json!({"execution": execution, "request": request}))
        .await
        .unwrap();
    let window = plan["windows"][0].clone();
    let imported = lambdas
        .invoke_function(
            IMPORT,
            json!({"execution": execution, "account": plan["account"], "window": window}),
        )
        .await
        .unwrap();
    let transformed = lambdas
        .invoke_function(
            TRANSFORM,
            json!({
                "execution": execution,
                "window": window,
                "orders": imported["orders"],
                "columns": plan["columns"]
            }),
        )
        .await
        .unwrap();
    json!([{
        "window": window,
        "rows": transformed["rows"],
        "fetched": imported["counts"],
        "transformed": transformed["counts"]
    }])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_reads_the_google_key_from_secrets_manager() {
    let Some(moto) = Moto::start(Arc::new(moto::NoFunctions)).await else {
        return;
    };
    moto.create_bucket(SM_BUCKET).await;
    let naver = FakeNaver::start(FakeNaverConfig {
        seed: 41,
        orders: 10,
        rate_per_sec: 50,
        ..FakeNaverConfig::default()
    })
    .await;
    let google = FakeGoogle::start(FakeGoogleConfig::default()).await;
    google.create_spreadsheet(BOOK);
    let key = google.service_account_key_json();
    let mut arns = BTreeMap::new();
    for name in [
        "google/by-name",
        "google/by-arn",
        "google/blip",
        "google/down",
    ] {
        arns.insert(name, moto.create_secret(name, &key).await);
    }
    let execution = "sm-key";
    let windows = one_window(&moto, &naver, execution).await;
    let reads_before = secret_reads(&moto);
    let event = json!({"execution": execution, "sheet": {"spreadsheet_id": BOOK, "tab": TAB}, "windows": windows});
    // A fresh function per secret: the key is read once per instance.
    let insert = |secret_id: String| {
        let moto = &moto;
        let google = &google;
        let event = event.clone();
        async move {
            let lambdas = moto_lambdas(
                moto,
                &[
                    ("ORDERSYNC_GOOGLE_SECRET_ID", secret_id),
                    ("GOOGLE_SHEETS_BASE_URL", google.base_url()),
                ],
            )
            .await;
            lambdas.invoke_function(INSERT, event).await
        }
    };

    // By name and by ARN: the fake Google accepted the JWT signed with the key that was read.
    let first = insert("google/by-name".to_owned()).await.unwrap();
    assert!(first["appended"].as_u64() > Some(0), "{first}");
    let arn = arns["google/by-arn"].clone();
    assert!(
        arn.rsplit_once('-')
            .is_some_and(|(_, suffix)| suffix.len() == 6),
        "{arn}"
    );
    let again = insert(arn).await.unwrap();
    assert_eq!(again["unchanged"], first["appended"], "{again}");
    assert_eq!(google.stats().tokens_issued, 2, "{:?}", google.stats());
    assert_eq!(secret_reads(&moto), (reads_before.0 + 2, 0));

    let missing = insert("google/nope".to_owned()).await.unwrap_err();
    assert_eq!(missing.error, "Ordersync.Config", "{missing:?}");
    assert!(missing.cause.contains("google/nope"), "{missing:?}");

    inject_secret_error(&moto, 400, "ThrottlingException", 1);
    insert("google/blip".to_owned()).await.unwrap();
    assert_eq!(google.stats().tokens_issued, 3);
    let after_blip = secret_reads(&moto);
    assert_eq!(after_blip.1, 1, "the throttle was answered");

    inject_secret_error(&moto, 500, "InternalServiceError", 10);
    let down = insert("google/down".to_owned()).await.unwrap_err();
    assert_eq!(down.error, "Ordersync.Upstream", "{down:?}");
}
