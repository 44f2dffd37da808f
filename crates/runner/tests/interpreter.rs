//! The interpreter against small definitions and a scripted invoker: retries, catches, Map
//! concurrency and order, the context object, resume from the journal, refusal of what it
//! does not implement.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use ordersync_core::store::DirStore;
use ordersync_runner::{
    Event, Failure, Invoker, Observer, Options, Outcome, Quiet, StartError, load, placeholders,
    run_execution,
};
use serde_json::{Value, json};

/// Answers with `{"echo": payload}`; fails the first `fail_first[function]` calls with the
/// scripted failure.
#[derive(Default)]
struct Script {
    fail_first: Mutex<HashMap<String, (usize, Failure)>>,
    fail_when: Mutex<Option<(Value, Failure)>>,
    calls: Mutex<Vec<(String, Value)>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl Script {
    fn fail(&self, function: &str, times: usize, error: &str) {
        self.fail_first.lock().unwrap().insert(
            function.into(),
            (
                times,
                Failure::new(error, format!("{{\"errorType\":\"{error}\"}}")),
            ),
        );
    }
    fn calls(&self, function: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(f, _)| f == function)
            .count()
    }
}

impl Invoker for Script {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, Failure> {
        self.calls
            .lock()
            .unwrap()
            .push((function.into(), payload.clone()));
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Some((value, failure)) = self.fail_when.lock().unwrap().as_ref()
            && &payload == value
        {
            return Err(failure.clone());
        }
        if let Some((left, failure)) = self.fail_first.lock().unwrap().get_mut(function)
            && *left > 0
        {
            *left -= 1;
            return Err(failure.clone());
        }
        Ok(json!({"echo": payload}))
    }
}

#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Observer for Log {
    fn event(&self, event: Event<'_>) {
        let line = match event {
            Event::TaskRetrying {
                task,
                failure,
                attempt,
                ..
            } => format!("retry {task} {} #{attempt}", failure.error),
            Event::TaskSucceeded { task, replayed, .. } => {
                format!("ok {task}{}", if replayed { " (replayed)" } else { "" })
            }
            Event::TaskFailed { task, failure } => format!("failed {task} {}", failure.error),
            Event::MapStarted { state, items } => format!("map {state} {items}"),
            Event::MapItemDone { state, index } => format!("item {state} {index}"),
        };
        self.0.lock().unwrap().push(line);
    }
}

fn fast() -> Options {
    Options {
        retry_time_scale: 0.0,
    }
}

fn task(function: &str, extra: Value) -> Value {
    let mut t = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload.$": "$"},
    });
    t.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    t
}

fn machine(definition: Value) -> ordersync_runner::Machine {
    load(&definition.to_string(), &BTreeMap::new()).unwrap()
}

async fn run(
    definition: Value,
    input: Value,
    script: &Script,
    observer: &Log,
    name: &str,
    store: &DirStore,
) -> Outcome {
    run_execution(
        &machine(definition),
        store,
        script,
        observer,
        fast(),
        name,
        input,
    )
    .await
    .unwrap()
}

fn store() -> (tempfile::TempDir, DirStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    (dir, store)
}

fn retry_catch_definition() -> Value {
    json!({
        "StartAt": "A",
        "States": {
            "A": task("fa", json!({
                "ResultSelector": {"got.$": "$.Payload.echo.x", "name.$": "$$.Execution.Name"},
                "ResultPath": "$.a",
                "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2, "JitterStrategy": "FULL"}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                "Next": "Done"
            })),
            "Done": {"Type": "Pass", "OutputPath": "$.a", "End": true},
            "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
        }
    })
}

#[tokio::test]
async fn retries_then_succeeds_with_selected_result_and_context() {
    let (_d, store) = store();
    let script = Script::default();
    script.fail("fa", 2, "Transient");
    let log = Log::default();
    let out = run(
        retry_catch_definition(),
        json!({"x": 7}),
        &script,
        &log,
        "exec-1",
        &store,
    )
    .await;
    assert_eq!(
        out,
        Outcome::Succeeded {
            output: json!({"got": 7, "name": "exec-1"}),
            runs: 1
        }
    );
    assert_eq!(script.calls("fa"), 3);
    let log = log.0.lock().unwrap().clone();
    assert_eq!(
        log,
        ["retry A Transient #1", "retry A Transient #2", "ok A"]
    );
}

#[tokio::test]
async fn exhausted_retries_and_other_errors_reach_the_fail_state_with_their_name() {
    let (_d, store) = store();
    for (error, times, calls) in [("Transient", 3, 3), ("Ordersync.InvalidInput", 1, 1)] {
        let script = Script::default();
        script.fail("fa", times, error);
        let name = format!("exec-{calls}");
        let out = run(
            retry_catch_definition(),
            json!({"x": 1}),
            &script,
            &Log::default(),
            &name,
            &store,
        )
        .await;
        let Outcome::Failed { failure, .. } = out else {
            panic!("{out:?}")
        };
        assert_eq!(failure.error, error);
        assert!(failure.cause.contains(error), "{}", failure.cause);
        assert_eq!(script.calls("fa"), calls, "{error}");
    }
}

#[tokio::test]
async fn a_path_error_is_states_runtime_and_no_catch_takes_it() {
    let (_d, store) = store();
    let mut definition = retry_catch_definition();
    definition["States"]["A"]["ResultSelector"] = json!({"got.$": "$.Payload.nope"});
    let script = Script::default();
    let out = run(
        definition,
        json!({"x": 1}),
        &script,
        &Log::default(),
        "exec-rt",
        &store,
    )
    .await;
    let Outcome::Failed { failure, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(failure.error, "States.Runtime");
    assert!(
        failure.cause.contains("$.Payload.nope"),
        "{}",
        failure.cause
    );
}

fn map_definition(limit: u32) -> Value {
    json!({
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": limit,
                "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "tag.$": "$.tag"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Work",
                    "States": {
                        "Work": task("fw", json!({"ResultSelector": {"v.$": "$.Payload.echo"}, "ResultPath": "$.work", "Next": "Slim"})),
                        "Slim": {"Type": "Pass", "Parameters": {"i.$": "$.index", "v.$": "$.work.v.value"}, "End": true}
                    }
                },
                "ResultPath": "$.results",
                "End": true
            }
        }
    })
}

#[tokio::test]
async fn map_keeps_item_order_and_honours_max_concurrency() {
    let (_d, store) = store();
    let script = Script::default();
    let items: Vec<Value> = (0..9).map(|i| json!(format!("w{i}"))).collect();
    let out = run(
        map_definition(3),
        json!({"items": items, "tag": "t"}),
        &script,
        &Log::default(),
        "exec-map",
        &store,
    )
    .await;
    let Outcome::Succeeded { output, .. } = out else {
        panic!("{out:?}")
    };
    let results = output["results"].as_array().unwrap();
    assert_eq!(results.len(), 9);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r, &json!({"i": i, "v": format!("w{i}")}));
    }
    assert_eq!(script.max_in_flight.load(Ordering::SeqCst), 3);
    assert_eq!(output["tag"], "t", "ResultPath keeps the input");
}

#[tokio::test]
async fn a_rerun_of_the_same_name_replays_done_tasks_and_reruns_only_the_failed_item() {
    let (_d, store) = store();
    let input = json!({"items": ["a", "b", "c", "d"], "tag": "t"});
    let script = Script::default();
    *script.fail_when.lock().unwrap() = Some((
        json!({"value": "c", "index": 2, "tag": "t"}),
        Failure::new("Boom", "{}"),
    ));
    let log = Log::default();
    let out = run(
        map_definition(1),
        input.clone(),
        &script,
        &log,
        "exec-resume",
        &store,
    )
    .await;
    assert!(
        matches!(out, Outcome::Failed { ref failure, runs: 1 } if failure.error == "Boom"),
        "{out:?}"
    );

    // The fault is gone; the same name resumes: a, b replayed, c and d invoked.
    *script.fail_when.lock().unwrap() = None;
    let before = script.calls("fw");
    let log = Log::default();
    let out = run(
        map_definition(1),
        input.clone(),
        &script,
        &log,
        "exec-resume",
        &store,
    )
    .await;
    let Outcome::Succeeded { output, runs: 2 } = out else {
        panic!("{out:?}")
    };
    assert_eq!(output["results"].as_array().unwrap().len(), 4);
    assert_eq!(script.calls("fw") - before, 2);
    let replayed = log
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.ends_with("(replayed)"))
        .count();
    assert_eq!(replayed, 2);

    // Succeeded names are not run again; another input under the same name is refused.
    let out = run(
        map_definition(1),
        input,
        &script,
        &Log::default(),
        "exec-resume",
        &store,
    )
    .await;
    assert!(matches!(out, Outcome::AlreadySucceeded { .. }), "{out:?}");
    let other = run_execution(
        &machine(map_definition(1)),
        &store,
        &script,
        &Quiet,
        fast(),
        "exec-resume",
        json!({"items": []}),
    )
    .await;
    assert!(matches!(other, Err(StartError::NameInUse(_))), "{other:?}");
}

#[test]
fn unsupported_constructs_are_refused_naming_the_state() {
    let base = retry_catch_definition();
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "A",
            Box::new(|d| d["States"]["A"]["TimeoutSeconds"] = json!(30)),
            "TimeoutSeconds",
        ),
        (
            "Done",
            Box::new(|d| {
                d["States"]["Done"] = json!({"Type": "Choice", "Choices": [], "Default": "Failed"})
            }),
            "Choice",
        ),
        (
            "Done",
            Box::new(|d| d["States"]["Done"] = json!({"Type": "Wait", "Seconds": 1, "End": true})),
            "Wait",
        ),
        (
            "A",
            Box::new(|d| d["States"]["A"]["Resource"] = json!("arn:aws:states:::sqs:sendMessage")),
            "sqs:sendMessage",
        ),
        (
            "A",
            Box::new(|d| {
                d["States"]["A"]["Parameters"]["Payload.$"] = json!("States.Format('{}', $.x)")
            }),
            "States.Format",
        ),
        (
            "A",
            Box::new(|d| d["States"]["A"]["ResultPath"] = json!("$.list[*]")),
            "reference path",
        ),
        (
            "A",
            Box::new(|d| d["States"]["A"]["Next"] = json!("Nowhere")),
            "Nowhere",
        ),
        (
            "(definition)",
            Box::new(|d| d["QueryLanguage"] = json!("JSONata")),
            "JSONPath",
        ),
    ];
    for (state, edit, needle) in cases {
        let mut d = base.clone();
        edit(&mut d);
        let e = load(&d.to_string(), &BTreeMap::new()).unwrap_err();
        assert_eq!(e.state, state, "{e}");
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
    for (retry, needle) in [
        (
            json!([{"ErrorEquals": ["States.ALL", "Transient"]}]),
            "alone",
        ),
        (
            json!([{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["Transient"]}]),
            "last",
        ),
    ] {
        let mut d = base.clone();
        d["States"]["A"]["Retry"] = retry;
        let e = load(&d.to_string(), &BTreeMap::new()).unwrap_err();
        assert!(e.to_string().contains(needle) && e.state == "A", "{e}");
    }
    let mut distributed = map_definition(1);
    distributed["States"]["Each"]["ItemProcessor"]["ProcessorConfig"] =
        json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"});
    let e = load(&distributed.to_string(), &BTreeMap::new()).unwrap_err();
    assert!(
        e.to_string().contains("DISTRIBUTED") && e.state == "Each",
        "{e}"
    );
}

#[test]
fn the_pipeline_definition_loads_with_its_three_placeholders() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../statemachine.asl.json"
    ))
    .unwrap();
    assert_eq!(
        placeholders(&text),
        [
            "ImportFunctionArn",
            "InsertFunctionArn",
            "TransformFunctionArn"
        ]
    );
    assert!(
        load(&text, &BTreeMap::new())
            .unwrap_err()
            .to_string()
            .contains("ImportFunctionArn")
    );
    let values: BTreeMap<String, String> = placeholders(&text)
        .into_iter()
        .map(|p| (p.clone(), format!("local:{p}")))
        .collect();
    let machine = load(&text, &values).unwrap();
    assert_eq!(machine.start_at, "Plan");
}

/// The shape `statemachine.asl.json` has: no `Catch`; own non-retryable names first with
/// `MaxAttempts: 0`, then a last `States.ALL` retrier for whatever the service reports.
fn no_catch_definition() -> Value {
    let retry = json!([
        {"ErrorEquals": ["Ordersync.Sheet"], "MaxAttempts": 0},
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}
    ]);
    json!({
        "StartAt": "A",
        "States": {
            "A": task("fa", json!({"ResultPath": "$.a", "Retry": retry.clone(), "Next": "Each"})),
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                // One at a time, so which iterations had finished when one failed is fixed.
                "MaxConcurrency": 1,
                "ItemSelector": {"value.$": "$$.Map.Item.Value"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "W",
                    "States": {"W": task("fw", json!({"Retry": retry.clone(), "End": true}))}
                },
                "ResultPath": "$.results",
                "Next": "B"
            },
            "B": task("fb", json!({"ResultPath": "$.b", "Retry": retry, "End": true}))
        }
    })
}

#[tokio::test]
async fn runtime_names_of_a_dead_function_are_retried_by_the_last_retrier() {
    for error in [
        "Runtime.ExitError",
        "Runtime.OutOfMemory",
        "Lambda.Unknown",
        "Sandbox.Timedout",
    ] {
        let (_d, store) = store();
        let script = Script::default();
        script.fail("fb", 2, error);
        let log = Log::default();
        let out = run(
            no_catch_definition(),
            json!({"items": ["x"]}),
            &script,
            &log,
            "exec-dead",
            &store,
        )
        .await;
        assert!(matches!(out, Outcome::Succeeded { .. }), "{error}: {out:?}");
        assert_eq!(script.calls("fb"), 3, "{error}");
    }
    // Our own non-retryable name is not: MaxAttempts 0 wins because it matches first.
    let (_d, store) = store();
    let script = Script::default();
    script.fail("fb", 1, "Ordersync.Sheet");
    let out = run(
        no_catch_definition(),
        json!({"items": ["x"]}),
        &script,
        &Log::default(),
        "exec-sheet",
        &store,
    )
    .await;
    let Outcome::Failed { failure, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(failure.error, "Ordersync.Sheet");
    assert!(
        failure.cause.contains("errorType"),
        "the function's own cause"
    );
    assert_eq!(script.calls("fb"), 1);
}

#[tokio::test]
async fn a_redrive_after_a_failure_in_each_state_reruns_that_state_only() {
    // (state that fails, its function, payload that fails there or None for "every call").
    let items = json!(["a", "b", "c"]);
    for (place, function, fail_when) in [
        ("A", "fa", None),
        ("Each[1]/W", "fw", Some(json!({"value": "b"}))),
        ("B", "fb", None),
    ] {
        let (_d, store) = store();
        let script = Script::default();
        match &fail_when {
            Some(payload) => {
                *script.fail_when.lock().unwrap() =
                    Some((payload.clone(), Failure::new("Ordersync.Sheet", "{}")))
            }
            None => script.fail(function, 1, "Ordersync.Sheet"),
        }
        let input = json!({"items": items});
        let out = run(
            no_catch_definition(),
            input.clone(),
            &script,
            &Log::default(),
            "exec-redrive",
            &store,
        )
        .await;
        let Outcome::Failed { failure, runs: 1 } = out else {
            panic!("{place}: {out:?}")
        };
        assert_eq!(failure.error, "Ordersync.Sheet", "{place}");
        let first: HashMap<&str, usize> = ["fa", "fw", "fb"]
            .into_iter()
            .map(|f| (f, script.calls(f)))
            .collect();

        *script.fail_when.lock().unwrap() = None;
        let log = Log::default();
        let out = run(
            no_catch_definition(),
            input,
            &script,
            &log,
            "exec-redrive",
            &store,
        )
        .await;
        assert!(
            matches!(out, Outcome::Succeeded { runs: 2, .. }),
            "{place}: {out:?}"
        );
        let invoked: Vec<String> = log
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with("ok ") && !l.ends_with("(replayed)"))
            .map(|l| l[3..].to_owned())
            .collect();
        // The failed state runs again, and so does every state after it, which never ran
        // (iteration 2 had not started when iteration 1 failed); iteration 0 had finished.
        let expected: Vec<&str> = match place {
            "A" => vec!["A", "Each[0]/W", "Each[1]/W", "Each[2]/W", "B"],
            "Each[1]/W" => vec!["Each[1]/W", "Each[2]/W", "B"],
            _ => vec!["B"],
        };
        assert_eq!(invoked, expected, "{place}");
        // Nothing that had finished was invoked again.
        let again = |f: &str| script.calls(f) - first[f];
        match place {
            "A" => assert_eq!((again("fa"), again("fw"), again("fb")), (1, 3, 1)),
            "Each[1]/W" => assert_eq!((again("fa"), again("fw"), again("fb")), (0, 2, 1)),
            _ => assert_eq!((again("fa"), again("fw"), again("fb")), (0, 0, 1)),
        }
    }
}

#[tokio::test]
async fn a_redrive_after_catch_to_fail_reenters_fail_and_does_not_rerun_the_task() {
    // On AWS a caught error finishes the Task; a redrive reruns only unfinished states, which
    // after `Catch → Fail` is the Fail state. The runner must not be friendlier than that.
    let (_d, store) = store();
    let script = Script::default();
    script.fail("fa", 1, "Ordersync.Sheet");
    let out = run(
        retry_catch_definition(),
        json!({"x": 1}),
        &script,
        &Log::default(),
        "exec-caught",
        &store,
    )
    .await;
    assert!(
        matches!(out, Outcome::Failed { ref failure, runs: 1 } if failure.error == "Ordersync.Sheet"),
        "{out:?}"
    );
    assert_eq!(script.calls("fa"), 1);

    // The fault is gone, but a redrive re-enters `Failed` with the recorded error.
    let out = run(
        retry_catch_definition(),
        json!({"x": 1}),
        &script,
        &Log::default(),
        "exec-caught",
        &store,
    )
    .await;
    let Outcome::Failed { failure, runs: 2 } = out else {
        panic!("{out:?}")
    };
    assert_eq!(failure.error, "Ordersync.Sheet");
    assert_eq!(script.calls("fa"), 1, "the caught Task must not run again");

    // A new execution (another name) runs from StartAt and succeeds.
    let out = run(
        retry_catch_definition(),
        json!({"x": 1}),
        &script,
        &Log::default(),
        "exec-caught-new",
        &store,
    )
    .await;
    assert!(matches!(out, Outcome::Succeeded { .. }), "{out:?}");
    assert_eq!(script.calls("fa"), 2);
}
