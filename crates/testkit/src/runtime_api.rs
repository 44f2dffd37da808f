//! A minimal AWS Lambda Runtime API for running a real Lambda binary in tests.
//!
//! [`RuntimeApi::start`] serves the four endpoints `lambda_runtime` 1.5 calls, on
//! `127.0.0.1:0`: `GET /2018-06-01/runtime/invocation/next` (long-polls until
//! [`RuntimeApi::invoke`] queues an event), `POST .../invocation/{id}/response`,
//! `POST .../invocation/{id}/error` and `POST /2018-06-01/runtime/init/error`. Point a function
//! process at it with [`RuntimeApi::function_env`].
//!
//! It does not emulate the rest of Lambda: no extensions API, no `/restore` (SnapStart), no
//! response streaming, no enforcement of the deadline it announces (a test's `invoke` timeout
//! is the only limit), and no freezing between invocations. It expects one function process at
//! a time: a poll left hanging by a killed process may swallow the next event, so start a new
//! `RuntimeApi` for a new process. It stops when dropped.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinHandle;

/// The deadline announced to the function when none is configured, like a 60 s Lambda timeout.
pub const DEFAULT_FUNCTION_TIMEOUT: Duration = Duration::from_secs(60);

/// The memory size announced in [`RuntimeApi::function_env`] (informational only).
pub const FUNCTION_MEMORY_MB: u32 = 128;

/// How an invocation ended, as the function reported it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST /invocation/{id}/response` with a JSON body. A body that is not JSON is reported
    /// as an [`Outcome::Error`] of type `Testkit.NonJsonResponse` instead, since Step Functions
    /// could not use it either.
    Response(Value),
    /// `POST /invocation/{id}/error`: the body's `errorType` / `errorMessage`.
    Error {
        error_type: String,
        error_message: String,
    },
    /// `POST /init/error`: the function failed before it could take events. Every pending and
    /// later [`RuntimeApi::invoke`] returns this.
    InitError {
        error_type: String,
        error_message: String,
    },
}

/// A running Runtime API; stops when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Queued {
    id: String,
    body: Bytes,
}

struct Shared {
    function_timeout: Duration,
    port: u16,
    next_id: AtomicU64,
    /// Events queued by `invoke`, not yet handed to a `/next` poll.
    queue: Mutex<VecDeque<Queued>>,
    /// Wakes a `/next` poll when an event is queued.
    queued: Notify,
    /// One sender per invocation still waiting for its outcome, by request id.
    waiters: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: watch::Sender<Option<Outcome>>,
    first_poll: watch::Sender<Option<Instant>>,
    /// Used in the invoked-function ARN; set by `function_env`.
    function_name: Mutex<String>,
    /// The `Lambda-Runtime-Function-Error-Type` header of every error post, in order.
    error_headers: Mutex<Vec<Option<String>>>,
}

/// Locks ignoring poison: a panicking test thread must not turn the server into a panic source.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RuntimeApi {
    /// Starts the API with the default 60 s function timeout.
    pub async fn start() -> RuntimeApi {
        RuntimeApi::start_with_function_timeout(DEFAULT_FUNCTION_TIMEOUT).await
    }

    /// Starts the API; each event's `Lambda-Runtime-Deadline-Ms` is the time it is handed to
    /// the function plus `function_timeout`, as in Lambda.
    ///
    /// Must be called inside a tokio runtime. Panics only on setup failure.
    pub async fn start_with_function_timeout(function_timeout: Duration) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("testkit Runtime API: cannot bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("testkit Runtime API: bound listener has no address");
        let shared = Arc::new(Shared {
            function_timeout,
            port: addr.port(),
            next_id: AtomicU64::new(1),
            queue: Mutex::default(),
            queued: Notify::new(),
            waiters: Mutex::default(),
            init_error: watch::Sender::new(None),
            first_poll: watch::Sender::new(None),
            function_name: Mutex::new("ordersync-test".to_owned()),
            error_headers: Mutex::default(),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let task = tokio::spawn(crate::serve::serve(listener, router));
        RuntimeApi { addr, shared, task }
    }

    /// `127.0.0.1:PORT`, the value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues one event and waits up to `timeout` for the function's response or error (or an
    /// init error). On timeout the event is withdrawn if no poll took it yet, and a late
    /// response for it is refused.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Result<Outcome, String> {
        let shared = &*self.shared;
        let n = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:08x}-0000-4000-8000-{n:012x}", shared.port);
        let body = Bytes::from(event.to_string());

        let (sender, receiver) = oneshot::channel();
        lock(&shared.waiters).insert(id.clone(), sender);
        // Cleans up whether we return, time out, or the caller drops this future.
        let _pending = Pending { shared, id: &id };
        lock(&shared.queue).push_back(Queued {
            id: id.clone(),
            body,
        });
        shared.queued.notify_one();

        let mut init = shared.init_error.subscribe();
        let wait = async {
            tokio::select! {
                outcome = receiver => outcome.ok(),
                failed = init.wait_for(Option::is_some) => failed.ok().and_then(|v| (*v).clone()),
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Some(outcome)) => Ok(outcome),
            Ok(None) => Err(format!("invocation {id}: the Runtime API stopped")),
            Err(_) => {
                let still_queued = lock(&shared.queue).iter().any(|q| q.id == id);
                Err(if still_queued {
                    format!(
                        "invocation {id}: no poll of /next within {timeout:?} (function not running?)"
                    )
                } else {
                    format!(
                        "invocation {id}: taken by the function but no response within {timeout:?}"
                    )
                })
            }
        }
    }

    /// Resolves when the function has called `/next` for the first time (it finished its
    /// init), with the instant of that first poll.
    pub async fn first_poll(&self) -> Instant {
        let mut polled = self.shared.first_poll.subscribe();
        if let Ok(seen) = polled.wait_for(Option::is_some).await
            && let Some(at) = *seen
        {
            return at;
        }
        // Unreachable while `self` holds the sender; never resolve rather than panic.
        std::future::pending().await
    }

    /// Environment a function process needs besides S3 and its own settings. `lambda_runtime`
    /// panics without the name, memory size, version and API address. Also sets the name used
    /// in the invoked-function ARN of later events.
    pub fn function_env(&self, function_name: &str) -> Vec<(String, String)> {
        *lock(&self.shared.function_name) = function_name.to_owned();
        [
            ("AWS_LAMBDA_RUNTIME_API", self.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_owned()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                FUNCTION_MEMORY_MB.to_string(),
            ),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            ),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/01/01/[$LATEST]0123456789abcdef".to_owned(),
            ),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The `Lambda-Runtime-Function-Error-Type` header of every `/error` and `/init/error` post
    /// so far, in order (`lambda_runtime` sends `unhandled` and `Runtime.InitError`).
    pub fn function_error_types(&self) -> Vec<Option<String>> {
        lock(&self.shared.error_headers).clone()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Aborting the accept loop also drops its JoinSet, closing long-polls and keep-alives.
        self.task.abort();
    }
}

/// Withdraws an invocation's queued event and waiter when `invoke` ends.
struct Pending<'a> {
    shared: &'a Shared,
    id: &'a str,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        lock(&self.shared.queue).retain(|q| q.id != self.id);
        lock(&self.shared.waiters).remove(self.id);
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared.first_poll.send_if_modified(|first| {
        let unset = first.is_none();
        if unset {
            *first = Some(Instant::now());
        }
        unset
    });
    // `notify_one` leaves a permit when nobody waits, so an event queued between the check and
    // the await still wakes us; a spurious wake just loops.
    let event = loop {
        if let Some(event) = lock(&shared.queue).pop_front() {
            break event;
        }
        shared.queued.notified().await;
    };

    let deadline = SystemTime::now() + shared.function_timeout;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let function_name = lock(&shared.function_name).clone();
    let epoch_secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let n = shared.next_id.load(Ordering::Relaxed);
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("lambda-runtime-aws-request-id", event.id),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            format!("arn:aws:lambda:us-east-1:000000000000:function:{function_name}"),
        ),
        (
            "lambda-runtime-trace-id",
            format!("Root=1-{epoch_secs:08x}-{n:024x};Parent={n:016x};Sampled=0"),
        ),
    ];
    (headers, event.body).into_response()
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let outcome = match serde_json::from_slice(&body) {
        Ok(value) => Outcome::Response(value),
        Err(_) => Outcome::Error {
            error_type: "Testkit.NonJsonResponse".to_owned(),
            error_message: String::from_utf8_lossy(&body).into_owned(),
        },
    };
    complete(&shared, &id, outcome)
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (error_type, error_message) = diagnostic(&shared, &headers, &body);
    complete(
        &shared,
        &id,
        Outcome::Error {
            error_type,
            error_message,
        },
    )
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (error_type, error_message) = diagnostic(&shared, &headers, &body);
    shared.init_error.send_replace(Some(Outcome::InitError {
        error_type,
        error_message,
    }));
    accepted()
}

/// Hands an outcome to the waiting `invoke`; refuses ids that are unknown or timed out.
fn complete(shared: &Shared, id: &str, outcome: Outcome) -> Response {
    match lock(&shared.waiters).remove(id) {
        Some(waiter) => {
            // The receiver is gone only if `invoke` was dropped just now; nothing to tell.
            let _ = waiter.send(outcome);
            accepted()
        }
        None => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "errorType": "InvalidRequestID",
                "errorMessage": format!("no pending invocation {id}"),
            })),
        )
            .into_response(),
    }
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
}

/// Reads a `{"errorType","errorMessage"}` body and records the error-type header. A body that
/// is not such JSON still yields something readable: the header as the type, the raw body as
/// the message.
fn diagnostic(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> (String, String) {
    let header = headers
        .get("lambda-runtime-function-error-type")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    lock(&shared.error_headers).push(header.clone());

    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let error_type = field("errorType")
        .or(header)
        .unwrap_or_else(|| "Unknown".to_owned());
    let error_message =
        field("errorMessage").unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    (error_type, error_message)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Reply {
        status: u16,
        headers: HashMap<String, String>,
        body: Vec<u8>,
    }

    /// One HTTP/1.1 request over a fresh connection, read until the server closes it.
    async fn http(
        addr: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let reply = ordersync_sandbox::raw_http::request(addr, method, path, headers, body).await;
        Reply {
            status: reply.status,
            headers: reply.headers,
            body: reply.body,
        }
    }

    const NEXT: &str = "/2018-06-01/runtime/invocation/next";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn response_round_trip_with_lambda_headers() {
        let api = RuntimeApi::start_with_function_timeout(Duration::from_secs(5)).await;
        api.function_env("transform");
        let addr = api.address();
        let before = Instant::now();

        let function = tokio::spawn(async move {
            let event = http(&addr, "GET", NEXT, &[], b"").await;
            assert_eq!(event.status, 200);
            let payload: Value = serde_json::from_slice(&event.body).expect("event is JSON");
            let id = event.headers["lambda-runtime-aws-request-id"].clone();
            let path = format!("/2018-06-01/runtime/invocation/{id}/response");
            let reply = serde_json::to_vec(&json!({ "echo": payload })).expect("json");
            let posted = http(&addr, "POST", &path, &[], &reply).await;
            assert_eq!(posted.status, 202);
            // A second answer for the same invocation is refused.
            let again = http(&addr, "POST", &path, &[], &reply).await;
            assert_eq!(again.status, 400);
            event.headers
        });

        let outcome = api
            .invoke(json!({ "key": "a/b" }), Duration::from_secs(5))
            .await
            .expect("invoke");
        assert_eq!(
            outcome,
            Outcome::Response(json!({ "echo": { "key": "a/b" } }))
        );

        let headers = function.await.expect("function task");
        let deadline: u128 = headers["lambda-runtime-deadline-ms"]
            .parse()
            .expect("deadline ms");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis();
        assert!(
            deadline > now && deadline <= now + 5_000,
            "deadline {deadline} vs now {now}"
        );
        assert_eq!(
            headers["lambda-runtime-invoked-function-arn"],
            "arn:aws:lambda:us-east-1:000000000000:function:transform"
        );
        assert!(headers["lambda-runtime-trace-id"].starts_with("Root=1-"));
        assert!(api.first_poll().await >= before);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn error_post_becomes_error_outcome() {
        let api = RuntimeApi::start().await;
        let addr = api.address();
        let function = tokio::spawn(async move {
            let event = http(&addr, "GET", NEXT, &[], b"").await;
            let id = &event.headers["lambda-runtime-aws-request-id"];
            let body = br#"{"errorType":"Ordersync.Payload","errorMessage":"truncated object"}"#;
            let posted = http(
                &addr,
                "POST",
                &format!("/2018-06-01/runtime/invocation/{id}/error"),
                &[("Lambda-Runtime-Function-Error-Type", "unhandled")],
                body,
            )
            .await;
            assert_eq!(posted.status, 202);
        });
        let outcome = api
            .invoke(json!({}), Duration::from_secs(5))
            .await
            .expect("invoke");
        function.await.expect("function task");
        assert_eq!(
            outcome,
            Outcome::Error {
                error_type: "Ordersync.Payload".into(),
                error_message: "truncated object".into()
            }
        );
        assert_eq!(api.function_error_types(), [Some("unhandled".to_owned())]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn init_error_answers_invoke() {
        let api = RuntimeApi::start().await;
        let body =
            br#"{"errorType":"Ordersync.Config","errorMessage":"ORDERSYNC_STORE is not set"}"#;
        let posted = http(
            &api.address(),
            "POST",
            "/2018-06-01/runtime/init/error",
            &[],
            body,
        )
        .await;
        assert_eq!(posted.status, 202);
        let outcome = api
            .invoke(json!({}), Duration::from_secs(5))
            .await
            .expect("invoke");
        assert_eq!(
            outcome,
            Outcome::InitError {
                error_type: "Ordersync.Config".into(),
                error_message: "ORDERSYNC_STORE is not set".into()
            }
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn invoke_times_out_and_withdraws_the_event() {
        let api = RuntimeApi::start().await;
        let err = api
            .invoke(json!({ "n": 1 }), Duration::from_millis(50))
            .await
            .expect_err("nobody polls");
        assert!(err.contains("no poll of /next"), "{err}");

        // The withdrawn event is not delivered later: the next poll gets the next event.
        let addr = api.address();
        let function = tokio::spawn(async move {
            let event = http(&addr, "GET", NEXT, &[], b"").await;
            let id = event.headers["lambda-runtime-aws-request-id"].clone();
            let path = format!("/2018-06-01/runtime/invocation/{id}/response");
            http(&addr, "POST", &path, &[], &event.body).await;
        });
        let outcome = api
            .invoke(json!({ "n": 2 }), Duration::from_secs(5))
            .await
            .expect("invoke");
        function.await.expect("function task");
        assert_eq!(outcome, Outcome::Response(json!({ "n": 2 })));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn function_env_has_what_lambda_runtime_needs() {
        let api = RuntimeApi::start().await;
        let env: HashMap<_, _> = api.function_env("import").into_iter().collect();
        for name in [
            "AWS_LAMBDA_RUNTIME_API",
            "AWS_LAMBDA_FUNCTION_NAME",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "AWS_LAMBDA_LOG_STREAM_NAME",
        ] {
            assert!(env.contains_key(name), "{name} missing");
        }
        assert_eq!(env["AWS_LAMBDA_RUNTIME_API"], api.address());
        assert!(
            env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
                .parse::<i32>()
                .is_ok()
        );
    }
}
