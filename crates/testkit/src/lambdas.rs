//! Built Lambda binaries answering a state machine's Task states, the way the Lambda service
//! runs them.
//!
//! [`Lambdas`] maps function names to a built binary, its environment and its timeout, and is
//! an [`Invoker`] for the local runner. Each invocation goes to an idle instance (a process with
//! its own [`RuntimeApi`]) or, when every instance is busy (a Map running iterations at once),
//! to a new one: a cold start. As in Lambda:
//! - a function error is the Task's error, its `{"errorType","errorMessage"}` JSON the cause;
//! - a process that exits without answering (a panic under `panic = "abort"`, an OOM, an error
//!   returned from `main`, or [`Lambdas::kill`]) fails the invocation as `Runtime.ExitError`,
//!   the `errorType` the Lambda service answers with and Step Functions matches
//!   (`../shared/reference/step-functions-lambda.md`, "Crashes, timeouts and OOM"), and is
//!   replaced by a cold start next time;
//! - an invocation still running at the function's timeout is killed and fails as
//!   `Sandbox.Timedout`.
//!
//! It records per function the invocations, cold starts, crashes, timeouts and the largest peak
//! RSS (`VmHWM`) any instance reached, and keeps every instance's output (what CloudWatch Logs
//! would hold), for benchmarks and tests. Not emulated: concurrency
//! limits, freezing between invocations, memory limits (peaks are measured, not enforced),
//! and the 6 MB payload limit.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ordersync_runner::{Failure, Invoker};
use serde_json::{Value, json};

use crate::process::{FunctionProcess, ProcessOutput, peak_rss_kib};
use crate::runtime_api::{Outcome, RuntimeApi};

/// How long a cold start may take before the invocation fails (a function that never polls).
const INIT_TIMEOUT: Duration = Duration::from_secs(60);

/// One function: what to run and for how long.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub binary: PathBuf,
    /// The function's own settings (store, endpoints, credentials), besides the Runtime API's.
    pub env: Vec<(String, String)>,
    /// The Lambda timeout: announced as the deadline, and enforced by killing the process.
    pub timeout: Duration,
}

/// What happened to one function's invocations so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunctionStats {
    pub invocations: u64,
    pub cold_starts: u64,
    pub crashes: u64,
    pub timeouts: u64,
    /// The largest `VmHWM` of any of its instances, read after each invocation.
    pub peak_rss_kib: u64,
    /// Process start → first `/next` poll, per cold start.
    pub init: Vec<Duration>,
}

struct Instance {
    api: RuntimeApi,
    process: FunctionProcess,
}

/// The pool of function instances; instances are killed when it is dropped.
pub struct Lambdas {
    specs: HashMap<String, FunctionSpec>,
    idle: Mutex<HashMap<String, Vec<Instance>>>,
    /// Process ids and output of instances handling an event, by function.
    busy: Mutex<HashMap<String, Vec<(u32, ProcessOutput)>>>,
    stats: Mutex<HashMap<String, FunctionStats>>,
    /// The stdout and stderr of instances that are gone.
    retired_logs: Mutex<String>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The cause Step Functions records for a failed invocation: the error payload as a string.
fn cause(error_type: &str, message: &str) -> String {
    json!({"errorType": error_type, "errorMessage": message}).to_string()
}

impl Lambdas {
    /// A pool for these functions, by the names the definition's `FunctionName`s use. Starts
    /// nothing until the first invocation.
    pub fn new(specs: impl IntoIterator<Item = (String, FunctionSpec)>) -> Lambdas {
        Lambdas {
            specs: specs.into_iter().collect(),
            idle: Mutex::default(),
            busy: Mutex::default(),
            stats: Mutex::default(),
            retired_logs: Mutex::default(),
        }
    }

    /// Everything every instance wrote to stdout and stderr so far: gone, idle and busy ones.
    pub fn logs(&self) -> String {
        let mut all = lock(&self.retired_logs).clone();
        for instances in lock(&self.idle).values() {
            for instance in instances {
                all.push_str(&instance.process.output());
            }
        }
        for instances in lock(&self.busy).values() {
            for (_, output) in instances {
                all.push_str(&output.text());
            }
        }
        all
    }

    fn retire(&self, process: &FunctionProcess) {
        lock(&self.retired_logs).push_str(&process.output());
    }

    /// Each function's statistics so far.
    pub fn stats(&self) -> HashMap<String, FunctionStats> {
        lock(&self.stats).clone()
    }

    /// Kills (SIGKILL) every instance of `function` that is handling an event now; returns how
    /// many. Their invocations fail as a crash would.
    pub fn kill(&self, function: &str) -> usize {
        let pids: Vec<u32> = lock(&self.busy)
            .get(function)
            .map(|busy| busy.iter().map(|(pid, _)| *pid).collect())
            .unwrap_or_default();
        for pid in &pids {
            // A pid that exited meanwhile only makes `kill` fail: the instance is gone anyway.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        pids.len()
    }

    fn record(&self, function: &str, update: impl FnOnce(&mut FunctionStats)) {
        update(lock(&self.stats).entry(function.to_owned()).or_default());
    }

    async fn cold_start(&self, function: &str, spec: &FunctionSpec) -> Result<Instance, Failure> {
        let api = RuntimeApi::start_with_function_timeout(spec.timeout).await;
        let mut env = api.function_env(function);
        env.extend(spec.env.iter().cloned());
        let started = Instant::now();
        let mut process = FunctionProcess::spawn(&spec.binary, &env);
        let polled = tokio::select! {
            biased;
            at = tokio::time::timeout(INIT_TIMEOUT, api.first_poll()) => at.ok(),
            _ = process.wait_exit(INIT_TIMEOUT) => None,
        };
        let Some(at) = polled else {
            // What it printed (why init failed) is complete only once its pipes are drained.
            process.drain_output(Duration::from_secs(5)).await;
            let output = process.output();
            self.retire(&process);
            return Err(Failure::new(
                "Runtime.ExitError",
                cause(
                    "Runtime.ExitError",
                    &format!("the function exited or hung during init: {output}"),
                ),
            ));
        };
        self.record(function, |s| {
            s.cold_starts += 1;
            s.init.push(at.saturating_duration_since(started));
        });
        Ok(Instance { api, process })
    }

    /// Invokes `function` with `payload` as the Lambda service would for a state machine.
    pub async fn invoke_function(&self, function: &str, payload: Value) -> Result<Value, Failure> {
        self.invoke_killed_when(function, payload, std::future::pending())
            .await
    }

    /// Like [`Lambdas::invoke_function`], but kills the instance handling this invocation (and
    /// no other) if `kill` resolves first: a crash at a moment the caller chooses.
    pub async fn invoke_killed_when(
        &self,
        function: &str,
        payload: Value,
        kill: impl Future<Output = ()>,
    ) -> Result<Value, Failure> {
        let Some(spec) = self.specs.get(function) else {
            return Err(Failure::new(
                "Lambda.ResourceNotFoundException",
                format!("Function not found: {function}"),
            ));
        };
        let warm = lock(&self.idle).get_mut(function).and_then(Vec::pop);
        let mut instance = match warm {
            Some(instance) => instance,
            None => self.cold_start(function, spec).await?,
        };
        let pid = instance.process.pid();
        lock(&self.busy)
            .entry(function.to_owned())
            .or_default()
            .push((pid, instance.process.output_handle()));
        let answered = {
            let Instance { api, process } = &mut instance;
            let invocation = api.invoke(payload, spec.timeout);
            tokio::pin!(invocation);
            let answered = tokio::select! {
                biased;
                outcome = &mut invocation => Some(Some(outcome)),
                // Far longer than any timeout: only an exit ends this branch.
                _ = process.wait_exit(Duration::from_secs(86_400)) => Some(None),
                () = kill => None,
            };
            match answered {
                Some(answered) => answered,
                None => {
                    process.kill().await;
                    None
                }
            }
        };
        if let Some(pids) = lock(&self.busy).get_mut(function) {
            pids.retain(|(p, _)| *p != pid);
        }
        let peak = peak_rss_kib(pid).unwrap_or(0);
        self.record(function, |s| {
            s.invocations += 1;
            s.peak_rss_kib = s.peak_rss_kib.max(peak);
        });
        match answered {
            Some(Ok(Outcome::Response(value))) => {
                self.give_back(function, instance);
                Ok(value)
            }
            Some(Ok(Outcome::Error {
                error_type,
                error_message,
            })) => {
                self.give_back(function, instance);
                Err(Failure::new(
                    error_type.clone(),
                    cause(&error_type, &error_message),
                ))
            }
            Some(Ok(Outcome::InitError {
                error_type,
                error_message,
            })) => {
                // The runtime reported its own init failure: that is the invocation's error.
                self.retire(&instance.process);
                Err(Failure::new(
                    error_type.clone(),
                    cause(&error_type, &error_message),
                ))
            }
            Some(Err(_)) => {
                instance.process.kill().await;
                self.retire(&instance.process);
                self.record(function, |s| s.timeouts += 1);
                Err(Failure::new(
                    "Sandbox.Timedout",
                    cause(
                        "Sandbox.Timedout",
                        &format!(
                            "Task timed out after {:.2} seconds",
                            spec.timeout.as_secs_f64()
                        ),
                    ),
                ))
            }
            None => {
                self.retire(&instance.process);
                self.record(function, |s| s.crashes += 1);
                Err(Failure::new(
                    "Runtime.ExitError",
                    cause(
                        "Runtime.ExitError",
                        "Error: Runtime exited without providing a reason",
                    ),
                ))
            }
        }
    }

    fn give_back(&self, function: &str, instance: Instance) {
        lock(&self.idle)
            .entry(function.to_owned())
            .or_default()
            .push(instance);
    }
}

impl Invoker for Lambdas {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, Failure> {
        self.invoke_function(function, payload).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::built_binary;

    fn echo(timeout: Duration) -> Lambdas {
        let binary = built_binary("ordersync-testkit", "testkit-echo-lambda", false);
        Lambdas::new([(
            "echo".to_owned(),
            FunctionSpec {
                binary,
                env: Vec::new(),
                timeout,
            },
        )])
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answers_reuse_warm_instances_and_errors_keep_their_names() {
        let lambdas = echo(Duration::from_secs(30));
        let out = lambdas.invoke("echo", json!({"a": 1})).await.unwrap();
        assert_eq!(out, json!({"echo": {"a": 1}}));
        let failure = lambdas
            .invoke(
                "echo",
                json!({"error_type": "Ordersync.Busy", "message": "held"}),
            )
            .await
            .unwrap_err();
        assert_eq!(failure.error, "Ordersync.Busy");
        let cause: Value = serde_json::from_str(&failure.cause).unwrap();
        assert_eq!(
            cause,
            json!({"errorType": "Ordersync.Busy", "errorMessage": "held"})
        );
        let stats = &lambdas.stats()["echo"];
        assert_eq!((stats.invocations, stats.cold_starts), (2, 1), "{stats:?}");
        assert!(stats.peak_rss_kib > 0 && stats.init.len() == 1, "{stats:?}");
        let missing = lambdas.invoke("nope", json!({})).await.unwrap_err();
        assert_eq!(missing.error, "Lambda.ResourceNotFoundException");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_invocations_get_their_own_instances() {
        let lambdas = echo(Duration::from_secs(30));
        let (a, b) = tokio::join!(
            lambdas.invoke("echo", json!({"sleep_ms": 300, "n": 1})),
            lambdas.invoke("echo", json!({"sleep_ms": 300, "n": 2})),
        );
        assert_eq!(a.unwrap()["echo"]["n"], 1);
        assert_eq!(b.unwrap()["echo"]["n"], 2);
        assert_eq!(lambdas.stats()["echo"].cold_starts, 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_timeout_and_a_kill_fail_as_lambda_reports_them_then_a_cold_start_answers() {
        // Two functions of the same binary: one times out after 0.5 s; the other has Lambda's
        // longest timeout and an event that sleeps 10 minutes, and is killed once it printed
        // that it handles the event, so the kill lands mid-event however slow the machine is
        // (a fixed 200 ms wait before killing a 400 ms event lost that race on a loaded CI
        // machine).
        let binary = built_binary("ordersync-testkit", "testkit-echo-lambda", false);
        let spec = |timeout| FunctionSpec {
            binary: binary.clone(),
            env: Vec::new(),
            timeout,
        };
        let lambdas = Lambdas::new([
            ("echo".to_owned(), spec(Duration::from_millis(500))),
            ("slow".to_owned(), spec(Duration::from_secs(900))),
        ]);
        let failure = lambdas
            .invoke("echo", json!({"sleep_ms": 5_000}))
            .await
            .unwrap_err();
        assert_eq!(failure.error, "Sandbox.Timedout");
        assert!(
            failure.cause.contains("timed out after 0.50 seconds"),
            "{failure:?}"
        );

        let (killed, count) = tokio::join!(
            lambdas.invoke("slow", json!({"sleep_ms": 600_000})),
            async {
                // Kill once the event is being handled: the instance printed its request line
                // (the timed-out instance printed the first) and now sleeps.
                while lambdas.logs().matches("echo-lambda: request").count() < 2 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                lambdas.kill("slow")
            }
        );
        assert_eq!(count, 1);
        let failure = killed.unwrap_err();
        assert_eq!(failure.error, "Runtime.ExitError");
        assert!(failure.cause.contains("Runtime.ExitError"), "{failure:?}");

        for function in ["echo", "slow"] {
            assert_eq!(
                lambdas.invoke(function, json!({"b": 2})).await.unwrap(),
                json!({"echo": {"b": 2}})
            );
        }
        let stats = lambdas.stats();
        let counts = |function: &str| {
            let s = &stats[function];
            (s.cold_starts, s.timeouts, s.crashes)
        };
        assert_eq!(counts("echo"), (2, 1, 0), "{stats:?}");
        assert_eq!(counts("slow"), (2, 0, 1), "{stats:?}");
        // The logs of the timed-out, the killed and the live instances are all kept.
        let logs = lambdas.logs();
        assert_eq!(logs.matches("echo-lambda: init").count(), 4, "{logs}");
        assert_eq!(logs.matches("echo-lambda: request").count(), 4, "{logs}");
    }
}
