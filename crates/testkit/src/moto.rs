//! moto (`moto[server]`, pinned in `.ci/run`) as a second, independent implementation of the
//! AWS services our code meets: Step Functions (its executor is LocalStack's ASL interpreter,
//! which nobody here wrote), Secrets Manager and S3.
//!
//! [`Moto::start`] runs `moto_server -H 127.0.0.1 -p Q` as a child process with `MOTO_PORT=P`,
//! where P is a **bridge** this module serves on `127.0.0.1:P`. moto's Step Functions executor
//! sends every Lambda `Invoke` to `http://localhost:$MOTO_PORT`, i.e. to the bridge, which:
//! - answers `POST /2015-03-31/functions/{name}/invocations` itself, by handing the request body
//!   (the payload) to the caller's [`Functions`] — in the end-to-end tests our **built**
//!   function binaries behind the test kit's Runtime API ([`crate::lambdas::Lambdas`]). An
//!   output is `200` with the output as body; a function error is `200` with
//!   `X-Amz-Function-Error: Unhandled` and `{"errorType","errorMessage"}`, as Lambda answers
//!   (a crashed process is `Runtime.ExitError`); a `Lambda.<Code>` failure is answered as the
//!   Lambda *service* error `<Code>` (HTTP status and `X-Amzn-ErrorType`), which Step Functions
//!   names `Lambda.<Code>`. Every answer carries `x-amzn-RequestId`, as Lambda's do: moto's
//!   executor reads it, and without it a service error ends the execution as `States.Runtime`;
//! - forwards every other request verbatim to moto on port Q, except the ones an
//!   [`InjectedError`] matches (a Secrets Manager throttle or a 500, say), and records each
//!   one ([`Moto::forwarded`]), so tests can count what reached moto.
//!
//! Clients and functions are pointed at the bridge ([`Moto::endpoint`], [`Moto::child_env`]);
//! moto accepts any credentials and does not check signatures.
//!
//! Where moto is: `ORDERSYNC_MOTO_SERVER` (the `moto_server` executable). Without it
//! [`Moto::start`] prints why and returns `None`, so a test can skip — unless
//! `ORDERSYNC_REQUIRE_MOTO=1` (set by `.ci/run`), where it panics: CI never passes by skipping.
//!
//! Not done here: nothing about what our functions do (the caller's [`Functions`] decides), no
//! Lambda service of moto's own (without Docker it only echoes; the bridge replaces it, so no
//! function needs creating in moto), no redrive (moto 5.2.5 does not implement
//! `RedriveExecution`), no SigV4 checks.

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use ordersync_runner::Failure;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The `moto_server` executable to run.
pub const ENV_SERVER: &str = "ORDERSYNC_MOTO_SERVER";
/// `1`: a missing `moto_server` fails the test instead of skipping it (CI).
pub const ENV_REQUIRE: &str = "ORDERSYNC_REQUIRE_MOTO";
/// moto's default region and account, which its ARNs use.
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
/// Any role ARN will do: moto checks only its shape.
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/ordersync-test";

/// Largest request or response body the bridge handles (S3 payload objects in tests are small).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// How long moto may take to start answering (it imports every service's models).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an execution may run before [`Moto::run_execution`] gives up on it.
const EXECUTION_TIMEOUT: Duration = Duration::from_secs(180);

/// A Lambda function ARN in moto's account and region, for a definition's `FunctionName`.
pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

/// A boxed, `Send` future, as [`Functions::invoke`] returns.
pub type Invocation<'a> = Pin<Box<dyn Future<Output = Result<Value, Failure>> + Send + 'a>>;

/// What answers the bridge's `Invoke` calls: `function` is the name from the function ARN.
/// An `Err` is what Step Functions would report: its `error` the name, its `cause` the
/// function's `{"errorType","errorMessage"}` JSON (or any text).
pub trait Functions: Send + Sync + 'static {
    fn invoke<'a>(&'a self, function: &'a str, payload: Value) -> Invocation<'a>;
}

/// No functions: every `Invoke` is `ResourceNotFoundException` (for tests that use only
/// Secrets Manager or S3).
pub struct NoFunctions;

impl Functions for NoFunctions {
    fn invoke<'a>(&'a self, function: &'a str, _payload: Value) -> Invocation<'a> {
        Box::pin(async move {
            Err(Failure::new(
                "Lambda.ResourceNotFoundException",
                format!("Function not found: {function}"),
            ))
        })
    }
}

/// A request forwarded to moto (or answered by an [`InjectedError`] instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub method: String,
    /// Path and query, as received.
    pub path: String,
    /// `X-Amz-Target` (JSON protocols: `secretsmanager.GetSecretValue`, ...).
    pub target: Option<String>,
    /// `true` when an [`InjectedError`] answered it and moto never saw it.
    pub injected: bool,
    /// Its headers (names lower-case), e.g. to check `x-amz-server-side-encryption`.
    pub headers: Vec<(String, String)>,
}

impl Forwarded {
    /// The value of header `name` (lower-case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An error the bridge answers instead of forwarding, for the next `times` requests whose
/// `X-Amz-Target` is `target`: HTTP `status` with the JSON protocols' error body
/// `{"__type": code, "message"}` and `X-Amzn-ErrorType: code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedError {
    pub target: String,
    pub status: u16,
    pub code: String,
    pub times: u32,
}

/// How an execution ended on moto, with its history.
#[derive(Debug, Clone)]
pub struct MotoExecution {
    pub arn: String,
    /// `SUCCEEDED`, `FAILED`, ...
    pub status: String,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// `GetExecutionHistory`'s events, oldest first.
    pub history: Vec<Value>,
}

impl MotoExecution {
    /// Every `…StateEntered` event's state name, in order.
    pub fn states_entered(&self) -> Vec<String> {
        self.history
            .iter()
            .filter(|e| {
                e["type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("StateEntered"))
            })
            .filter_map(|e| e["stateEnteredEventDetails"]["name"].as_str())
            .map(str::to_owned)
            .collect()
    }

    /// The states that did not finish: entered (`…StateEntered`) with no matching
    /// `…StateExited` after it, in the order entered. By the rule of Step Functions' redrive
    /// documentation these are what a redrive reruns (Map iterations included), so a local
    /// redrive can be held against moto's history although moto cannot redrive.
    pub fn unfinished_states(&self) -> Vec<String> {
        let mut open: Vec<String> = Vec::new();
        for event in &self.history {
            let kind = event["type"].as_str().unwrap_or_default();
            if kind.ends_with("StateEntered") {
                if let Some(name) = event["stateEnteredEventDetails"]["name"].as_str() {
                    open.push(name.to_owned());
                }
            } else if kind.ends_with("StateExited")
                && let Some(name) = event["stateExitedEventDetails"]["name"].as_str()
                && let Some(at) = open.iter().rposition(|n| n == name)
            {
                open.remove(at);
            }
        }
        open
    }

    /// Every history event's type, in order.
    pub fn event_types(&self) -> Vec<String> {
        self.history
            .iter()
            .filter_map(|e| e["type"].as_str())
            .map(str::to_owned)
            .collect()
    }

    /// Each Task attempt: the Task state's name and `Ok(())` or `Err(error name)`, in order.
    /// A state is the one last entered by a `TaskStateEntered` event, so this assumes Task
    /// states do not run concurrently (one Map item, or `MaxConcurrency` 1).
    pub fn task_attempts(&self) -> Vec<(String, Result<(), String>)> {
        let mut current = String::new();
        let mut attempts = Vec::new();
        for event in &self.history {
            match event["type"].as_str().unwrap_or_default() {
                "TaskStateEntered" => {
                    current = event["stateEnteredEventDetails"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                }
                "TaskSucceeded" => attempts.push((current.clone(), Ok(()))),
                "TaskFailed" | "TaskTimedOut" | "TaskSubmitFailed" | "TaskStartFailed" => {
                    let details = event
                        .as_object()
                        .and_then(|o| o.iter().find(|(k, _)| k.ends_with("EventDetails")))
                        .map(|(_, v)| v);
                    let error = details
                        .and_then(|d| d["error"].as_str())
                        .unwrap_or_default()
                        .to_owned();
                    attempts.push((current.clone(), Err(error)));
                }
                _ => {}
            }
        }
        attempts
    }
}

/// Why a moto API call failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("moto answered {status} to {target}: {body}")]
pub struct ApiError {
    pub target: String,
    pub status: u16,
    pub body: String,
}

struct Bridge {
    functions: Arc<dyn Functions>,
    moto: SocketAddr,
    http: reqwest::Client,
    faults: Mutex<VecDeque<InjectedError>>,
    forwarded: Mutex<Vec<Forwarded>>,
    /// Invocations answered, for request ids.
    invocations: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running moto server and its bridge; both stop when dropped.
pub struct Moto {
    bridge: SocketAddr,
    state: Arc<Bridge>,
    task: JoinHandle<()>,
    child: tokio::process::Child,
    log: tempfile::NamedTempFile,
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.task.abort();
        // kill_on_drop would do it too; this makes the intent explicit.
        let _ = self.child.start_kill();
    }
}

/// The `moto_server` to run, or `None` (after printing why) when none is configured and none
/// is required. Panics when `ORDERSYNC_REQUIRE_MOTO=1` and there is none.
pub fn server_path() -> Option<PathBuf> {
    let required = std::env::var(ENV_REQUIRE).is_ok_and(|v| v.trim() == "1");
    let path = std::env::var_os(ENV_SERVER)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    match path {
        Some(path) if path.is_file() => Some(path),
        Some(path) => {
            panic!(
                "{ENV_SERVER}={} is not a file (install moto: see .ci/run)",
                path.display()
            )
        }
        None if required => panic!(
            "{ENV_REQUIRE}=1 but {ENV_SERVER} is not set: the moto check must run (see .ci/run)"
        ),
        None => {
            eprintln!(
                "skipped: {ENV_SERVER} is not set (path to moto_server; see README \"The moto check\")"
            );
            None
        }
    }
}

fn free_port() -> u16 {
    // moto binds the port itself; a port is free between this probe and moto's bind in all but
    // an unlucky race, which shows up as moto never answering (a setup failure, not a pass).
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("testkit moto: no free port")
}

impl Moto {
    /// Starts moto with the bridge in front, Step Functions execution enabled, and `functions`
    /// answering `Invoke`. `None` when moto is not configured (see [`server_path`]).
    pub async fn start(functions: Arc<dyn Functions>) -> Option<Moto> {
        let server = server_path()?;
        ordersync_core::tls::install_crypto_provider();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("testkit moto: cannot bind the bridge");
        let bridge = listener.local_addr().expect("testkit moto: bridge address");
        let moto = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = tempfile::NamedTempFile::new().expect("testkit moto: log file");
        let child = tokio::process::Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &moto.port().to_string()])
            .env("MOTO_PORT", bridge.port().to_string())
            .stdin(Stdio::null())
            .stdout(log.reopen().expect("testkit moto: log file"))
            .stderr(log.reopen().expect("testkit moto: log file"))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("testkit moto: cannot run {}: {e}", server.display()));
        let http = reqwest::Client::builder()
            .no_proxy()
            // Keep-alive connections to a server that is killed between tests are no use.
            .pool_max_idle_per_host(0)
            .build()
            .expect("testkit moto: HTTP client");
        let state = Arc::new(Bridge {
            functions,
            moto,
            http,
            faults: Mutex::default(),
            forwarded: Mutex::default(),
            invocations: AtomicU64::new(0),
        });
        let router = Router::new().fallback(handle).with_state(state.clone());
        let task = tokio::spawn(crate::serve::serve(listener, router));
        let started = Moto {
            bridge,
            state,
            task,
            child,
            log,
        };
        started.configure().await;
        Some(started)
    }

    /// Waits for moto to answer, then turns on Step Functions execution (without Docker).
    async fn configure(&self) {
        let config = json!({
            "stepfunctions": {"execute_state_machine": true},
            "lambda": {"use_docker": false},
        });
        let url = format!("http://{}/moto-api/config", self.state.moto);
        let begun = Instant::now();
        loop {
            let sent = self.state.http.post(&url).json(&config).send().await;
            match sent {
                Ok(r) if r.status().is_success() => return,
                Ok(r) => panic!(
                    "testkit moto: /moto-api/config answered {}: {}",
                    r.status(),
                    self.log()
                ),
                Err(_) if begun.elapsed() < START_TIMEOUT => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("testkit moto: not answering ({e}): {}", self.log()),
            }
        }
    }

    /// What moto wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// `http://127.0.0.1:P`: the bridge, for every client (it forwards to moto).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.bridge)
    }

    /// Answers the next matching requests with an error instead of forwarding them.
    pub fn inject(&self, error: InjectedError) {
        lock(&self.state.faults).push_back(error);
    }

    /// Every request forwarded (or answered by an injected error) so far, in order.
    pub fn forwarded(&self) -> Vec<Forwarded> {
        lock(&self.state.forwarded).clone()
    }

    /// Environment for a child process whose AWS SDK clients should talk to moto: endpoint,
    /// region, any credentials, path-style S3, no EC2 metadata lookups.
    pub fn child_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "moto-test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "moto-test".to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("ORDERSYNC_S3_PATH_STYLE", "true".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// An S3 client on the bridge: path style, [`REGION`], the production HTTP connector.
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        crate::s3::local_client(&self.endpoint(), "moto-test", "moto-test")
    }

    /// Creates `bucket` in moto's S3 (through the bridge).
    pub async fn create_bucket(&self, bucket: &str) {
        self.s3_client()
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("testkit moto: CreateBucket {bucket}: {e:?}"));
    }

    /// An [`S3Store`](ordersync_aws::S3Store) on moto's `bucket` under `prefix`
    /// (SSE-S3), through the bridge.
    pub fn store(&self, bucket: &str, prefix: &str) -> ordersync_aws::S3Store {
        ordersync_aws::S3Store::new(self.s3_client(), bucket, prefix, None)
            .expect("testkit moto: S3Store refused the bucket")
    }

    /// Creates a Secrets Manager secret holding `value`; its ARN (name plus moto's random
    /// 6-character suffix, as AWS makes them).
    pub async fn create_secret(&self, name: &str, value: &str) -> String {
        let created = self
            .call(
                "secretsmanager.CreateSecret",
                json!({"Name": name, "SecretString": value}),
            )
            .await
            .unwrap_or_else(|e| panic!("testkit moto: CreateSecret {name}: {e}"));
        created["ARN"]
            .as_str()
            .expect("CreateSecret answers ARN")
            .to_owned()
    }

    /// One call of an AWS JSON-protocol API through the bridge: `target` is the
    /// `X-Amz-Target` (`AWSStepFunctions.StartExecution`, `secretsmanager.CreateSecret`, ...).
    pub async fn call(&self, target: &str, body: Value) -> Result<Value, ApiError> {
        // Step Functions speaks awsJson1_0, Secrets Manager awsJson1_1.
        let content_type = if target.starts_with("AWSStepFunctions.") {
            "application/x-amz-json-1.0"
        } else {
            "application/x-amz-json-1.1"
        };
        let response = self
            .state
            .http
            .post(self.endpoint())
            .header("X-Amz-Target", target)
            .header("Content-Type", content_type)
            // moto reads the region (and service, for some) from the credential scope.
            .header(
                "Authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=moto-test/20260101/{REGION}/{}/aws4_request, SignedHeaders=host, Signature=0",
                    service_of(target)
                ),
            )
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| ApiError {
                target: target.to_owned(),
                status: 0,
                body: e.to_string(),
            })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(ApiError {
                target: target.to_owned(),
                status,
                body: text,
            });
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates a Standard state machine from `definition` (placeholders already substituted);
    /// its ARN.
    pub async fn create_state_machine(&self, name: &str, definition: &str) -> String {
        let created = self
            .call(
                "AWSStepFunctions.CreateStateMachine",
                json!({"name": name, "definition": definition, "roleArn": ROLE_ARN, "type": "STANDARD"}),
            )
            .await
            .unwrap_or_else(|e| panic!("testkit moto: CreateStateMachine: {e}"));
        created["stateMachineArn"]
            .as_str()
            .expect("CreateStateMachine answers stateMachineArn")
            .to_owned()
    }

    /// Starts execution `name` of `state_machine` on `input`, waits for it to end, and returns
    /// how it ended with its whole history. Panics after [`EXECUTION_TIMEOUT`].
    pub async fn run_execution(
        &self,
        state_machine: &str,
        name: &str,
        input: &Value,
    ) -> MotoExecution {
        let started = self
            .call(
                "AWSStepFunctions.StartExecution",
                json!({"stateMachineArn": state_machine, "name": name, "input": input.to_string()}),
            )
            .await
            .unwrap_or_else(|e| panic!("testkit moto: StartExecution: {e}"));
        let arn = started["executionArn"]
            .as_str()
            .expect("StartExecution answers executionArn")
            .to_owned();
        let begun = Instant::now();
        let described = loop {
            let described = self
                .call(
                    "AWSStepFunctions.DescribeExecution",
                    json!({"executionArn": arn}),
                )
                .await
                .unwrap_or_else(|e| panic!("testkit moto: DescribeExecution: {e}"));
            if described["status"] != "RUNNING" {
                break described;
            }
            assert!(
                begun.elapsed() < EXECUTION_TIMEOUT,
                "testkit moto: {name} still RUNNING after {EXECUTION_TIMEOUT:?}: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let mut history = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = json!({"executionArn": arn, "maxResults": 1000});
            if let Some(t) = &token {
                request["nextToken"] = json!(t);
            }
            let page = self
                .call("AWSStepFunctions.GetExecutionHistory", request)
                .await
                .unwrap_or_else(|e| panic!("testkit moto: GetExecutionHistory: {e}"));
            history.extend(page["events"].as_array().cloned().unwrap_or_default());
            match page["nextToken"].as_str() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        let text = |key: &str| described[key].as_str().map(str::to_owned);
        MotoExecution {
            arn,
            status: text("status").unwrap_or_default(),
            output: text("output").and_then(|o| serde_json::from_str(&o).ok()),
            error: text("error"),
            cause: text("cause"),
            history,
        }
    }
}

/// The SigV4 service name for a JSON-protocol target.
fn service_of(target: &str) -> &'static str {
    if target.starts_with("AWSStepFunctions.") {
        "states"
    } else {
        "secretsmanager"
    }
}

/// The function name in an `Invoke` path segment: percent-decoded, and the name part of an ARN
/// (`arn:aws:lambda:region:account:function:NAME[:qualifier]`).
fn function_name(segment: &str) -> String {
    let decoded = percent_decode(segment);
    match decoded.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest).to_owned(),
        None => decoded,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn json_response(status: u16, headers: &[(&str, &str)], body: Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let map = response.headers_mut();
    map.insert("content-type", HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.insert(n, v);
        }
    }
    response
}

async fn handle(AxumState(bridge): AxumState<Arc<Bridge>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(e) => return json_response(400, &[], json!({"message": e.to_string()})),
    };
    let path = parts.uri.path();
    let invoke = path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"));
    match invoke {
        Some(segment) if parts.method == Method::POST => {
            invoke_function(&bridge, &function_name(segment), &body).await
        }
        _ => forward(&bridge, parts, body).await,
    }
}

/// Runs the function and answers as the Lambda Invoke API does, `x-amzn-RequestId` included
/// (moto's executor reads it from every answer, errors too).
async fn invoke_function(bridge: &Bridge, function: &str, body: &[u8]) -> Response {
    let mut response = invoke_answer(bridge, function, body).await;
    let id = bridge.invocations.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("{:08x}-0000-4000-8000-{id:012x}", std::process::id());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

async fn invoke_answer(bridge: &Bridge, function: &str, body: &[u8]) -> Response {
    let payload: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(payload) => payload,
            Err(e) => {
                return json_response(
                    400,
                    &[("X-Amzn-ErrorType", "InvalidRequestContentException")],
                    json!({"Type": "User", "message": format!("Could not parse request body into json: {e}")}),
                );
            }
        }
    };
    match bridge.functions.invoke(function, payload).await {
        Ok(output) => json_response(200, &[("X-Amz-Executed-Version", "$LATEST")], output),
        Err(failure) => match failure.error.strip_prefix("Lambda.") {
            // A service error: the invoke itself failed, as when Lambda answers 5xx or 429.
            Some(code) => {
                let status = match code {
                    "ResourceNotFoundException" => 404,
                    "TooManyRequestsException" => 429,
                    "InvalidRequestContentException" | "RequestTooLargeException" => 400,
                    _ => 500,
                };
                json_response(
                    status,
                    &[("X-Amzn-ErrorType", code)],
                    json!({"Type": "Service", "message": failure.cause}),
                )
            }
            None => {
                let message = serde_json::from_str::<Value>(&failure.cause)
                    .ok()
                    .and_then(|c| c["errorMessage"].as_str().map(str::to_owned))
                    .unwrap_or(failure.cause);
                json_response(
                    200,
                    &[
                        ("X-Amz-Function-Error", "Unhandled"),
                        ("X-Amz-Executed-Version", "$LATEST"),
                    ],
                    json!({"errorType": failure.error, "errorMessage": message}),
                )
            }
        },
    }
}

/// Hop-by-hop headers, and the ones the HTTP client sets itself.
fn passes(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "host" | "content-length" | "connection" | "transfer-encoding" | "keep-alive"
    )
}

async fn forward(
    bridge: &Bridge,
    parts: axum::http::request::Parts,
    body: axum::body::Bytes,
) -> Response {
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let injected = target.as_deref().and_then(|t| {
        let mut faults = lock(&bridge.faults);
        let fault = faults.iter_mut().find(|f| f.target == t && f.times > 0)?;
        fault.times -= 1;
        Some((fault.status, fault.code.clone()))
    });
    lock(&bridge.forwarded).push(Forwarded {
        method: parts.method.to_string(),
        path: path.clone(),
        target: target.clone(),
        injected: injected.is_some(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
    });
    if let Some((status, code)) = injected {
        return json_response(
            status,
            &[("X-Amzn-ErrorType", &code)],
            json!({"__type": code, "message": "injected by the test kit's moto bridge"}),
        );
    }
    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        if passes(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let sent = bridge
        .http
        .request(
            parts.method.clone(),
            format!("http://{}{path}", bridge.moto),
        )
        .headers(headers)
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(e) => {
            return json_response(502, &[], json!({"message": format!("moto: {e}")}));
        }
    };
    let status = response.status();
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if passes(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let body = response.bytes().await.unwrap_or_default();
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_paths_name_the_function() {
        assert_eq!(
            function_name("arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aimport"),
            "import"
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:insert:live"),
            "insert"
        );
        assert_eq!(function_name("plain-name"), "plain-name");
        assert_eq!(percent_decode("a%2Fb%zz%4"), "a/b%zz%4");
    }
}
