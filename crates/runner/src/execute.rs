//! The interpreter: runs a [`Machine`] the way Step Functions runs the same definition.
//!
//! Per state, in Step Functions' order: `InputPath` → `Parameters`/`ItemSelector` → the work →
//! `ResultSelector` → `ResultPath` (onto the *raw* state input) → `OutputPath`. A failed Task or
//! Map is retried by the first `Retry` entry whose `ErrorEquals` matches (each entry counts its
//! own attempts; delays grow by `BackoffRate`, are capped by `MaxDelaySeconds`, and with
//! `JitterStrategy: FULL` are drawn uniformly below the cap), then caught by the first matching
//! `Catch` (its `ResultPath` places `{Error, Cause}` onto the raw input). Path errors are
//! `States.Runtime`, which — as in Step Functions — no `Catch` handles.
//!
//! Every *finished* Task or Map is written to a [`Journal`] before its result is used: a success
//! as its result, an error that a `Catch` handled as that error (a caught error finishes the
//! state, exactly as on AWS). A later run of the same execution name replays finished states
//! instead of running them again, which is Step Functions' redrive rule: only states that did
//! not finish run again — the failed Task, or only the failed Map iterations — and after a
//! `Catch → Fail` that is the `Fail` state, not the Task.
//!
//! This module does not know what the functions do: an [`Invoker`] runs them.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::definition::{
    Catcher, Concurrency, Fail, Kind, Machine, ResultHandling, Retrier, State,
};
use crate::path::Path;
use crate::template;

/// A failed state or execution, as Step Functions reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct Failure {
    pub error: String,
    pub cause: String,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: cause.into(),
        }
    }

    fn runtime(cause: impl Into<String>) -> Self {
        Failure::new("States.Runtime", cause)
    }
}

/// Runs a Task's function: `FunctionName` (after substitution) and the payload built by
/// `Parameters.Payload`. An `Err` carries the function's error name and cause.
pub trait Invoker: Sync {
    fn invoke(
        &self,
        function: &str,
        payload: Value,
    ) -> impl Future<Output = Result<Value, Failure>>;
}

/// Where successful Task results are kept for a resumed run.
pub trait Journal: Sync {
    fn load(&self, task: &str) -> impl Future<Output = Result<Option<Value>, Failure>>;
    fn save(&self, task: &str, result: &Value) -> impl Future<Output = Result<(), Failure>>;
}

/// No journal: every run starts from scratch.
pub struct NoJournal;

impl Journal for NoJournal {
    async fn load(&self, _task: &str) -> Result<Option<Value>, Failure> {
        Ok(None)
    }
    async fn save(&self, _task: &str, _result: &Value) -> Result<(), Failure> {
        Ok(())
    }
}

/// What happened, for progress displays. `task` is the state's path, e.g. `Windows[3]/Import`.
#[derive(Debug)]
pub enum Event<'a> {
    MapStarted {
        state: &'a str,
        items: usize,
    },
    MapItemDone {
        state: &'a str,
        index: usize,
    },
    TaskSucceeded {
        task: &'a str,
        output: &'a Value,
        replayed: bool,
    },
    TaskRetrying {
        task: &'a str,
        failure: &'a Failure,
        attempt: u32,
        delay: Duration,
    },
    TaskFailed {
        task: &'a str,
        failure: &'a Failure,
    },
}

pub trait Observer: Sync {
    fn event(&self, event: Event<'_>);
}

/// Ignores every event.
pub struct Quiet;

impl Observer for Quiet {
    fn event(&self, _event: Event<'_>) {}
}

/// Knobs of a local run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Multiplies every retry delay (1.0: real Step Functions timing; tests use less).
    pub retry_time_scale: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            retry_time_scale: 1.0,
        }
    }
}

/// The execution the context object (`$$`) describes.
#[derive(Debug, Clone)]
pub struct Execution {
    pub name: String,
    pub input: Value,
    pub state_machine: String,
    /// `$$.Execution.StartTime`: when this run began (the same for every state).
    pub start_time: chrono::DateTime<chrono::Utc>,
}

/// Why a state stopped: a catchable failure, or one that ends the execution outright.
enum Stop {
    Failed(Failure),
    Fatal(Failure),
}

type Step<'s> = Pin<Box<dyn Future<Output = Result<Value, Stop>> + 's>>;

pub struct Interpreter<'a, I, J, O> {
    pub invoker: &'a I,
    pub journal: &'a J,
    pub observer: &'a O,
    pub options: Options,
    pub execution: Execution,
}

impl<I: Invoker, J: Journal, O: Observer> Interpreter<'_, I, J, O> {
    /// Runs the whole machine on the execution's input: its output, or the failure that ended it.
    pub async fn run(&self, machine: &Machine) -> Result<Value, Failure> {
        match self
            .run_machine(machine, self.execution.input.clone(), None, String::new())
            .await
        {
            Ok(output) => Ok(output),
            Err(Stop::Failed(f) | Stop::Fatal(f)) => Err(f),
        }
    }

    fn run_machine<'s>(
        &'s self,
        machine: &'s Machine,
        mut input: Value,
        item: Option<(usize, Value)>,
        prefix: String,
    ) -> Step<'s> {
        Box::pin(async move {
            let mut current = machine.start_at.as_str();
            loop {
                let state = &machine.states[current];
                let context = self.context(state, item.as_ref());
                let (output, next) = self.run_state(state, input, &context, &prefix).await?;
                match next {
                    Some(next) => {
                        current = machine
                            .states
                            .get_key_value(next.as_str())
                            .map(|(k, _)| k.as_str())
                            .expect("transitions checked when the definition was read");
                        input = output;
                    }
                    None => return Ok(output),
                }
            }
        })
    }

    fn context(&self, state: &State, item: Option<&(usize, Value)>) -> Value {
        let mut context = json!({
            "Execution": {
                "Id": format!("arn:aws:states:local:000000000000:execution:{}:{}", self.execution.state_machine, self.execution.name),
                "Name": self.execution.name,
                "Input": self.execution.input,
                "StartTime": self.execution.start_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            },
            "StateMachine": {
                "Id": format!("arn:aws:states:local:000000000000:stateMachine:{}", self.execution.state_machine),
                "Name": self.execution.state_machine,
            },
            "State": {
                "Name": state.name,
                "EnteredTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "RetryCount": 0,
            },
        });
        if let Some((index, value)) = item {
            context["Map"] = json!({"Item": {"Index": index, "Value": value}});
        }
        context
    }

    /// One state: its output and the next state's name (`None`: this branch ends).
    async fn run_state(
        &self,
        state: &State,
        raw: Value,
        context: &Value,
        prefix: &str,
    ) -> Result<(Value, Option<String>), Stop> {
        let effective = select(&state.input_path, &raw)?;
        let task = format!("{prefix}{}", state.name);
        let (result, handling) = match &state.kind {
            Kind::Succeed => return Ok((select(&state.output_path, &effective)?, None)),
            Kind::Fail(fail) => return Err(Stop::Fatal(fail_state(fail, &effective)?)),
            Kind::Pass(pass) => {
                let result = match (&pass.parameters, &pass.result) {
                    (Some(p), _) => template::eval(p, &effective, context).map_err(fatal)?,
                    (None, Some(r)) => r.clone(),
                    (None, None) => effective.clone(),
                };
                let placed = place(&pass.result_path, raw, result)?;
                return Ok((select(&state.output_path, &placed)?, state.next.clone()));
            }
            Kind::Task(t) => {
                if let Some(caught) = self.caught_before(&task, &t.result).await? {
                    return self.take_catch(&t.result, raw, caught);
                }
                let attempt = || self.task_attempt(&task, &t.parameters, &effective, context);
                (self.with_retry(&task, &t.result, attempt).await, &t.result)
            }
            Kind::Map(map) => {
                if let Some(caught) = self.caught_before(&task, &map.result).await? {
                    return self.take_catch(&map.result, raw, caught);
                }
                let attempt = || -> Step<'_> {
                    let effective = &effective;
                    let task = &task;
                    Box::pin(async move {
                        let items = match &map.items_path {
                            Some(p) => p.read(effective).map_err(fatal)?,
                            None => effective.clone(),
                        };
                        let Value::Array(items) = items else {
                            return Err(fatal("the Map's ItemsPath does not select an array"));
                        };
                        let limit = match &map.max_concurrency {
                            Concurrency::Fixed(n) => *n as usize,
                            Concurrency::Path(p) => {
                                p.read(effective).map_err(fatal)?.as_u64().ok_or_else(|| {
                                    fatal(
                                        "MaxConcurrencyPath does not select a non-negative integer",
                                    )
                                })? as usize
                            }
                        };
                        let limit = if limit == 0 {
                            items.len().max(1)
                        } else {
                            limit
                        };
                        self.observer.event(Event::MapStarted {
                            state: task,
                            items: items.len(),
                        });
                        let runs = items.into_iter().enumerate().map(|(index, value)| {
                            let item = (index, value);
                            async move {
                                let context = self.context(state, Some(&item));
                                let input = match &map.item_selector {
                                    Some(s) => {
                                        template::eval(s, effective, &context).map_err(fatal)?
                                    }
                                    None => item.1.clone(),
                                };
                                let out = self
                                    .run_machine(
                                        &map.processor,
                                        input,
                                        Some(item),
                                        format!("{task}[{index}]/"),
                                    )
                                    .await?;
                                self.observer
                                    .event(Event::MapItemDone { state: task, index });
                                Ok::<Value, Stop>(out)
                            }
                        });
                        let results: Vec<Value> =
                            stream::iter(runs).buffered(limit).try_collect().await?;
                        Ok(Value::Array(results))
                    })
                };
                (
                    self.with_retry(&task, &map.result, attempt).await,
                    &map.result,
                )
            }
        };
        match result {
            Ok(result) => {
                let selected = match &handling.result_selector {
                    Some(s) => template::eval(s, &result, context).map_err(fatal)?,
                    None => result,
                };
                let placed = place(&handling.result_path, raw, selected)?;
                Ok((select(&state.output_path, &placed)?, state.next.clone()))
            }
            Err(Stop::Fatal(f)) => Err(Stop::Fatal(f)),
            Err(Stop::Failed(failure)) => {
                if catcher(&handling.catch, &failure.error).is_none() {
                    return Err(Stop::Failed(failure));
                }
                // Caught: the state has finished. Journal it so that a redrive, like Step
                // Functions', goes on from the catcher's `Next` instead of rerunning the state.
                let record = json!({"Caught": {"Error": failure.error, "Cause": failure.cause}});
                self.journal
                    .save(&caught_key(&task), &record)
                    .await
                    .map_err(Stop::Fatal)?;
                self.take_catch(handling, raw, failure)
            }
        }
    }

    /// The error a `Catch` handled in an earlier run of this execution, if there was one.
    async fn caught_before(
        &self,
        task: &str,
        handling: &ResultHandling,
    ) -> Result<Option<Failure>, Stop> {
        if handling.catch.is_empty() {
            return Ok(None);
        }
        let Some(record) = self
            .journal
            .load(&caught_key(task))
            .await
            .map_err(Stop::Fatal)?
        else {
            return Ok(None);
        };
        let text = |field: &str| {
            record["Caught"][field]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        Ok(Some(Failure::new(text("Error"), text("Cause"))))
    }

    /// Places a caught error with the first matching catcher and moves to its `Next`.
    fn take_catch(
        &self,
        handling: &ResultHandling,
        raw: Value,
        failure: Failure,
    ) -> Result<(Value, Option<String>), Stop> {
        let Some(c) = catcher(&handling.catch, &failure.error) else {
            return Err(Stop::Failed(failure));
        };
        let error = json!({"Error": failure.error, "Cause": failure.cause});
        let placed = place(&c.result_path, raw, error)?;
        Ok((placed, Some(c.next.clone())))
    }

    /// One invocation of a Task's function, or its journaled result.
    fn task_attempt<'s>(
        &'s self,
        task: &'s str,
        parameters: &'s Value,
        effective: &'s Value,
        context: &'s Value,
    ) -> Step<'s> {
        Box::pin(async move {
            if let Some(done) = self.journal.load(task).await.map_err(Stop::Fatal)? {
                self.observer.event(Event::TaskSucceeded {
                    task,
                    output: &done["Payload"],
                    replayed: true,
                });
                return Ok(done);
            }
            let params = template::eval(parameters, effective, context).map_err(fatal)?;
            let function = params["FunctionName"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let payload = params.get("Payload").cloned().unwrap_or(Value::Null);
            let output = self
                .invoker
                .invoke(&function, payload)
                .await
                .map_err(Stop::Failed)?;
            // The shape Step Functions' lambda:invoke integration returns.
            let result =
                json!({"ExecutedVersion": "$LATEST", "Payload": output, "StatusCode": 200});
            self.journal
                .save(task, &result)
                .await
                .map_err(Stop::Fatal)?;
            self.observer.event(Event::TaskSucceeded {
                task,
                output: &result["Payload"],
                replayed: false,
            });
            Ok(result)
        })
    }

    async fn with_retry<'s>(
        &'s self,
        task: &str,
        handling: &ResultHandling,
        mut attempt: impl FnMut() -> Step<'s>,
    ) -> Result<Value, Stop> {
        let mut counts = vec![0u32; handling.retry.len()];
        loop {
            let failure = match attempt().await {
                Ok(v) => return Ok(v),
                Err(Stop::Fatal(f)) => return Err(Stop::Fatal(f)),
                Err(Stop::Failed(f)) => f,
            };
            let found = handling
                .retry
                .iter()
                .enumerate()
                .find(|(_, r)| matches(&r.error_equals, &failure.error));
            match found {
                Some((i, retrier)) if counts[i] < retrier.max_attempts => {
                    let delay = retry_delay(retrier, counts[i]);
                    counts[i] += 1;
                    self.observer.event(Event::TaskRetrying {
                        task,
                        failure: &failure,
                        attempt: counts[i],
                        delay,
                    });
                    tokio::time::sleep(delay.mul_f64(self.options.retry_time_scale.max(0.0))).await;
                }
                _ => {
                    self.observer.event(Event::TaskFailed {
                        task,
                        failure: &failure,
                    });
                    return Err(Stop::Failed(failure));
                }
            }
        }
    }
}

/// Step Functions' matching: exact names, `States.ALL`, and `States.TaskFailed` for anything
/// but a timeout.
pub fn matches(error_equals: &[String], error: &str) -> bool {
    error_equals.iter().any(|e| {
        e == error || e == "States.ALL" || (e == "States.TaskFailed" && error != "States.Timeout")
    })
}

fn catcher<'c>(catch: &'c [Catcher], error: &str) -> Option<&'c Catcher> {
    // States.Runtime never reaches here (it is Fatal), matching Step Functions, where States.ALL
    // does not catch it either.
    catch.iter().find(|c| matches(&c.error_equals, error))
}

/// The wait before retry number `done + 1`.
pub fn retry_delay(retrier: &Retrier, done: u32) -> Duration {
    let mut seconds = retrier.interval_seconds * retrier.backoff_rate.powi(done as i32);
    if let Some(cap) = retrier.max_delay_seconds {
        seconds = seconds.min(cap);
    }
    if retrier.full_jitter {
        seconds *= fastrand::f64();
    }
    Duration::from_secs_f64(seconds.max(0.0))
}

/// The journal entry of a state whose error a `Catch` handled (apart from Task results).
fn caught_key(task: &str) -> String {
    format!("{task}#caught")
}

fn fatal(cause: impl Into<String>) -> Stop {
    Stop::Fatal(Failure::runtime(cause))
}

/// `InputPath`/`OutputPath`: absent is `$`, `null` is `{}`.
fn select(path: &Option<Option<Path>>, value: &Value) -> Result<Value, Stop> {
    match path {
        None => Ok(value.clone()),
        Some(None) => Ok(json!({})),
        Some(Some(p)) => p.read(value).map_err(fatal),
    }
}

/// `ResultPath`: absent is `$` (the result replaces the input), `null` keeps the input.
fn place(path: &Option<Option<Path>>, raw: Value, result: Value) -> Result<Value, Stop> {
    match path {
        None => Ok(result),
        Some(None) => Ok(raw),
        Some(Some(p)) => p.write(raw, result).map_err(fatal),
    }
}

fn fail_state(fail: &Fail, input: &Value) -> Result<Failure, Stop> {
    Ok(match fail {
        Fail::Fixed { error, cause } => Failure::new(
            error.clone().unwrap_or_else(|| "States.Fail".into()),
            cause.clone().unwrap_or_default(),
        ),
        Fail::Paths { error, cause } => {
            let read = |p: &Option<Path>| -> Result<String, Stop> {
                match p {
                    None => Ok(String::new()),
                    Some(p) => match p.read(input).map_err(fatal)? {
                        Value::String(s) => Ok(s),
                        other => Ok(other.to_string()),
                    },
                }
            };
            Failure::new(read(error)?, read(cause)?)
        }
    })
}
