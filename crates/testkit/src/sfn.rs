//! A strict, stateful fake of the Step Functions API (the part operator tooling uses), for
//! running aws-sdk-sfn — and the `ordersync` binary built on it — against.
//!
//! [`FakeSfn::start`] serves on `127.0.0.1:0` the **awsJson1_0** protocol exactly as the SDK
//! sends it: `POST /`, `Content-Type: application/x-amz-json-1.0`,
//! `X-Amz-Target: AWSStepFunctions.<Operation>`, a JSON body, and a SigV4 signature that is
//! verified in full (canonical request, string to sign, signing key) for the key pair
//! [`ACCESS_KEY_ID`] / [`SECRET_ACCESS_KEY`], scoped to the state machine's region and the
//! `states` service, dated within 15 minutes. Anything else is refused with AWS's error JSON
//! `{"__type": "<Code>", "message": "..."}` and HTTP 400: `MissingAuthenticationTokenException`,
//! `IncompleteSignatureException`, `UnrecognizedClientException` (unknown key),
//! `InvalidSignatureException` (scope, age or signature), `UnknownOperationException` (target,
//! method, path or content type), `SerializationException` (body not a JSON object, a member of
//! the wrong type), `ValidationException` (a required member missing, a bad enum value).
//!
//! Operations, with the semantics of the AWS API reference:
//!
//! - `StartExecution`: `stateMachineArn` must be a state-machine ARN (`InvalidArn`) of a state
//!   machine this fake knows (`StateMachineDoesNotExist`). `name` (a generated one when absent)
//!   is 1–80 characters with no whitespace, `< > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /` or
//!   control characters (`InvalidName`). `input` (default `{}`) must be JSON of at most 256 KiB
//!   (`InvalidExecutionInput`). A name already used on the state machine: while that execution
//!   is RUNNING and the input is the same string, 200 with the existing execution's ARN and
//!   original `startDate` (idempotent, nothing started); with another input, or once it has
//!   ended (whatever the input), `ExecutionAlreadyExists`.
//! - `DescribeExecution`: `executionArn` (`InvalidArn`, `ExecutionDoesNotExist`), `includedData`
//!   `ALL_DATA` (default) or `METADATA_ONLY` (no input or output). Returns name, status,
//!   `startDate`, `stopDate` once ended, input/output with their `…Details`, error and cause,
//!   `redriveCount` (0 until redriven), `redriveDate`, `redriveStatus` and, when not
//!   redrivable, `redriveStatusReason` with AWS's wording.
//! - `RedriveExecution`: only a FAILED, ABORTED or TIMED_OUT execution that stopped less than
//!   14 days ago (`ExecutionNotRedrivable` otherwise, saying why). Sets it RUNNING again under
//!   the same ARN, clears stop date, error and cause, increments `redriveCount`, sets
//!   `redriveDate`. A `clientToken` seen in one of the last 10 successful redrives of that
//!   execution, within 15 minutes, answers the same `redriveDate` and changes nothing (the SDK
//!   sends a fresh token per call).
//!
//! Timestamps are epoch seconds as JSON numbers with millisecond fractions, as AWS sends them.
//!
//! Nothing runs: an execution stays RUNNING until the test ends it with [`FakeSfn::finish`].
//! Other operations (`ListExecutions`, `StopExecution`, `GetExecutionHistory`, …) answer
//! `UnknownOperationException`. Simplifications: unknown JSON members are ignored (as AWS does);
//! execution names are unique per state machine with no 90-day expiry; no throttling, no
//! `ExecutionLimitExceeded`; the content-type check answers `UnknownOperationException` (AWS's
//! exact answer to a wrong content type was not verified).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::{Request, State as AxumState};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use ring::{digest, hmac};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The only access key the fake accepts.
pub const ACCESS_KEY_ID: &str = "ORDERSYNCTESTSFNKEY";
/// Its secret.
pub const SECRET_ACCESS_KEY: &str = "ordersync-testkit-sfn-secret";
/// A state-machine ARN for tests that need just one.
pub const STATE_MACHINE_ARN: &str =
    "arn:aws:states:ap-northeast-2:123456789012:stateMachine:ordersync";

/// The awsJson1_0 content type.
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// Prefix of `X-Amz-Target`.
const TARGET_PREFIX: &str = "AWSStepFunctions.";
/// Largest body read (an input is at most 256 KiB, JSON-escaped inside the body).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// Largest execution input.
const MAX_INPUT_BYTES: usize = 256 * 1024;
/// How long after its stop an execution can be redriven.
const REDRIVE_PERIOD: TimeDelta = TimeDelta::days(14);
/// How far a request's `X-Amz-Date` may be from the server's clock.
const MAX_SKEW: TimeDelta = TimeDelta::minutes(15);
/// Redrive client tokens remembered per execution, and for how long.
const REDRIVE_TOKENS: usize = 10;
const REDRIVE_TOKEN_TTL: TimeDelta = TimeDelta::minutes(15);

/// The operations the fake implements (counted per [`FakeSfn::requests`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    StartExecution,
    DescribeExecution,
    RedriveExecution,
}

impl Op {
    fn from_target(name: &str) -> Option<Op> {
        match name {
            "StartExecution" => Some(Op::StartExecution),
            "DescribeExecution" => Some(Op::DescribeExecution),
            "RedriveExecution" => Some(Op::RedriveExecution),
            _ => None,
        }
    }
}

/// An execution's status, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

/// How [`FakeSfn::finish`] ends an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// SUCCEEDED with this output (JSON text).
    Succeeded { output: String },
    /// FAILED with the error name and cause the state machine's Fail state would give.
    Failed { error: String, cause: String },
    /// TIMED_OUT (error `States.Timeout`).
    TimedOut,
    /// ABORTED (StopExecution), optionally with an error and cause.
    Aborted {
        error: Option<String>,
        cause: Option<String>,
    },
}

/// A snapshot of one execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub input: String,
    pub status: Status,
    pub start_date: DateTime<Utc>,
    pub stop_date: Option<DateTime<Utc>>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub trace_header: Option<String>,
    pub redrive_count: u32,
    pub redrive_date: Option<DateTime<Utc>>,
}

/// Request counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SfnStats {
    /// Every HTTP request received, refused ones included.
    pub http_requests: u64,
    /// Requests refused before reaching an operation (authentication, target, content type).
    pub rejected: u64,
    /// Requests that reached each operation (whatever the operation then answered).
    pub per_op: BTreeMap<Op, u64>,
}

struct Redrive {
    token: String,
    at: DateTime<Utc>,
    redrive_date: DateTime<Utc>,
}

struct Record {
    execution: Execution,
    redrives: Vec<Redrive>,
}

struct StateData {
    state_machines: Vec<String>,
    /// By execution ARN.
    executions: HashMap<String, Record>,
    stats: SfnStats,
    generated_names: u64,
}

struct Shared {
    region: String,
    state: Mutex<StateData>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running fake; stops when dropped.
pub struct FakeSfn {
    addr: SocketAddr,
    state_machine_arn: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for FakeSfn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The parts of a Step Functions ARN: `arn:aws:states:{region}:{account}:{kind}:{rest}`.
struct Arn<'a> {
    region: &'a str,
    account: &'a str,
    kind: &'a str,
    rest: &'a str,
}

fn parse_arn(arn: &str) -> Option<Arn<'_>> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("states"), Some(region), Some(account), Some(tail)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let (kind, rest) = tail.split_once(':')?;
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (partition.starts_with("aws") && plain(region) && account_ok && !rest.is_empty()).then_some(
        Arn {
            region,
            account,
            kind,
            rest,
        },
    )
}

/// `stateMachine:{name}` → `execution:{name}:{execution}`.
fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    let arn = parse_arn(state_machine_arn).expect("state machine ARNs are checked on entry");
    format!(
        "arn:aws:states:{}:{}:execution:{}:{name}",
        arn.region, arn.account, arn.rest
    )
}

impl FakeSfn {
    /// Starts the fake on `127.0.0.1:0` knowing one state machine (its region is the one
    /// signatures must be scoped to). Must be called inside a tokio runtime; panics on a
    /// malformed ARN or setup failure.
    pub async fn start(state_machine_arn: &str) -> FakeSfn {
        let arn = parse_arn(state_machine_arn)
            .filter(|a| a.kind == "stateMachine" && !a.rest.contains(':'))
            .unwrap_or_else(|| {
                panic!("testkit fake SFN: {state_machine_arn:?} is not a state machine ARN")
            });
        let region = arn.region.to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("testkit fake SFN: cannot bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("testkit fake SFN: bound listener has no address");
        let shared = Arc::new(Shared {
            region,
            state: Mutex::new(StateData {
                state_machines: vec![state_machine_arn.to_owned()],
                executions: HashMap::new(),
                stats: SfnStats::default(),
                generated_names: 0,
            }),
        });
        let router = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(crate::serve::serve(listener, router));
        FakeSfn {
            addr,
            state_machine_arn: state_machine_arn.to_owned(),
            shared,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL` or a client's `endpoint_url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The state machine given to [`FakeSfn::start`].
    pub fn state_machine_arn(&self) -> &str {
        &self.state_machine_arn
    }

    /// The region signatures must be scoped to (the state machine's).
    pub fn region(&self) -> &str {
        &self.shared.region
    }

    /// Another known state machine (same region).
    pub fn add_state_machine(&self, arn: &str) {
        assert!(
            parse_arn(arn)
                .is_some_and(|a| a.kind == "stateMachine" && a.region == self.shared.region),
            "testkit fake SFN: {arn:?} is not a state machine ARN in {}",
            self.shared.region
        );
        lock(&self.shared.state).state_machines.push(arn.to_owned());
    }

    /// Environment for a child process that builds its client through aws-config's standard
    /// chain: endpoint, key pair, region, and `ORDERSYNC_STATE_MACHINE_ARN`. EC2 metadata is
    /// disabled so a missing variable fails fast.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint_url()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            ("AWS_REGION", self.shared.region.clone()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            (
                "ORDERSYNC_STATE_MACHINE_ARN",
                self.state_machine_arn.clone(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The execution named `name` (on any known state machine); `None` if there is none.
    /// Panics if two state machines have an execution of that name: use distinct names.
    pub fn execution(&self, name: &str) -> Option<Execution> {
        let state = lock(&self.shared.state);
        let mut found = state
            .executions
            .values()
            .filter(|r| r.execution.name == name);
        let first = found.next().map(|r| r.execution.clone());
        assert!(
            found.next().is_none(),
            "testkit fake SFN: several executions are named {name:?}"
        );
        first
    }

    /// Every execution, by start date.
    pub fn executions(&self) -> Vec<Execution> {
        let state = lock(&self.shared.state);
        let mut all: Vec<Execution> = state
            .executions
            .values()
            .map(|r| r.execution.clone())
            .collect();
        all.sort_by(|a, b| a.start_date.cmp(&b.start_date).then(a.name.cmp(&b.name)));
        all
    }

    /// Ends the RUNNING execution `name` as the state machine would. Panics if there is no such
    /// execution or it is not running (a bug in the test).
    pub fn finish(&self, name: &str, how: Finished) {
        self.with_execution(name, |record| {
            let e = &mut record.execution;
            assert_eq!(
                e.status,
                Status::Running,
                "testkit fake SFN: finish({name:?}) of an execution that is not running"
            );
            let (status, output, error, cause) = match how {
                Finished::Succeeded { output } => {
                    serde_json::from_str::<Value>(&output).unwrap_or_else(|e| {
                        panic!("testkit fake SFN: the output of {name:?} is not JSON: {e}")
                    });
                    (Status::Succeeded, Some(output), None, None)
                }
                Finished::Failed { error, cause } => {
                    (Status::Failed, None, Some(error), Some(cause))
                }
                Finished::TimedOut => (
                    Status::TimedOut,
                    None,
                    Some("States.Timeout".to_owned()),
                    None,
                ),
                Finished::Aborted { error, cause } => (Status::Aborted, None, error, cause),
            };
            e.status = status;
            e.output = output;
            e.error = error;
            e.cause = cause;
            e.stop_date = Some(Utc::now());
        });
    }

    /// Moves every date of execution `name` `by` into the past (to test the 14-day redrive
    /// period without waiting for it).
    pub fn backdate(&self, name: &str, by: TimeDelta) {
        self.with_execution(name, |record| {
            let e = &mut record.execution;
            e.start_date -= by;
            e.stop_date = e.stop_date.map(|d| d - by);
            e.redrive_date = e.redrive_date.map(|d| d - by);
        });
    }

    /// Requests that reached `op`.
    pub fn requests(&self, op: Op) -> u64 {
        lock(&self.shared.state)
            .stats
            .per_op
            .get(&op)
            .copied()
            .unwrap_or(0)
    }

    /// All counts.
    pub fn stats(&self) -> SfnStats {
        lock(&self.shared.state).stats.clone()
    }

    fn with_execution(&self, name: &str, f: impl FnOnce(&mut Record)) {
        let mut state = lock(&self.shared.state);
        let mut matching = state
            .executions
            .values_mut()
            .filter(|r| r.execution.name == name);
        let record = matching
            .next()
            .unwrap_or_else(|| panic!("testkit fake SFN: no execution named {name:?}"));
        f(record);
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// An AWS error answer: HTTP status, `__type`, message.
#[derive(Debug)]
struct AwsError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl AwsError {
    fn new(code: &'static str, message: impl Into<String>) -> AwsError {
        AwsError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    fn validation(member: &str, constraint: &str) -> AwsError {
        AwsError::new(
            "ValidationException",
            format!(
                "1 validation error detected: Value at '{member}' failed to satisfy constraint: {constraint}"
            ),
        )
    }
}

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        json_response(
            self.status,
            &json!({ "__type": self.code, "message": self.message }),
        )
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    let id = format!("{:032x}", request_id());
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert("x-amzn-requestid", value);
    }
    response
}

/// A request id: unique enough for logs.
fn request_id() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    (u128::from(Utc::now().timestamp_micros() as u64) << 64)
        | u128::from(NEXT.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------------------------------------
// HTTP

async fn handle(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    lock(&shared.state).stats.http_requests += 1;
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            lock(&shared.state).stats.rejected += 1;
            return AwsError::new("SerializationException", "Request body too large")
                .into_response();
        }
    };
    let op = match admit(&shared, &parts, &body) {
        Ok(op) => op,
        Err(error) => {
            lock(&shared.state).stats.rejected += 1;
            return error.into_response();
        }
    };
    let mut state = lock(&shared.state);
    *state.stats.per_op.entry(op).or_default() += 1;
    let result = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(members)) => match op {
            Op::StartExecution => start_execution(&mut state, &members),
            Op::DescribeExecution => describe_execution(&state, &members),
            Op::RedriveExecution => redrive_execution(&mut state, &members),
        },
        _ => Err(AwsError::new(
            "SerializationException",
            "The request body is not a JSON object",
        )),
    };
    match result {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(error) => error.into_response(),
    }
}

/// Checks everything but the body's members: signature, method, path, content type, target.
fn admit(shared: &Shared, parts: &Parts, body: &[u8]) -> Result<Op, AwsError> {
    verify_signature(parts, body, &shared.region, Utc::now())?;
    let unknown = |what: String| AwsError::new("UnknownOperationException", what);
    if parts.method != axum::http::Method::POST || parts.uri.path() != "/" {
        return Err(unknown(format!(
            "{} {} is not an awsJson1_0 request (POST / expected)",
            parts.method,
            parts.uri.path()
        )));
    }
    let content_type = header_str(parts, "content-type").unwrap_or_default();
    if content_type != CONTENT_TYPE {
        return Err(unknown(format!(
            "Content-Type must be {CONTENT_TYPE}, got {content_type:?}"
        )));
    }
    let target = header_str(parts, "x-amz-target").unwrap_or_default();
    target
        .strip_prefix(TARGET_PREFIX)
        .and_then(Op::from_target)
        .ok_or_else(|| {
            unknown(format!(
                "X-Amz-Target {target:?} is not an operation this fake implements"
            ))
        })
}

fn header_str<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    let mut values = parts.headers.get_all(name).iter();
    let first = values.next()?.to_str().ok()?;
    values.next().is_none().then_some(first)
}

// ---------------------------------------------------------------------------------------------
// SigV4

fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

/// The parsed `Authorization` header.
struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for field in rest.split(',') {
        let (key, value) = field.trim().split_once('=')?;
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return None,
        };
        if slot.replace(value).is_some() {
            return None;
        }
    }
    let mut scope = credential?.split('/');
    let (Some(access_key), Some(date), Some(region), Some(service), Some("aws4_request"), None) = (
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
    ) else {
        return None;
    };
    let signed_headers: Vec<&str> = signed?.split(';').collect();
    let signature = signature?;
    let well_formed = !access_key.is_empty()
        && signed_headers.iter().all(|h| !h.is_empty())
        && signature.len() == 64
        && signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    well_formed.then_some(Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

/// Verifies the request's SigV4 signature as Step Functions does.
fn verify_signature(
    parts: &Parts,
    body: &[u8],
    region: &str,
    now: DateTime<Utc>,
) -> Result<(), AwsError> {
    let incomplete = |what: &str| AwsError::new("IncompleteSignatureException", what.to_owned());
    let invalid = |what: String| AwsError::new("InvalidSignatureException", what);
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(AwsError::new(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| incomplete("Authorization header is not ASCII"))?;
    let auth = parse_authorization(value).ok_or_else(|| {
        incomplete(
            "Authorization header requires 'AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, SignedHeaders=..., Signature=<64 hex>'",
        )
    })?;
    let amz_date = header_str(parts, "x-amz-date")
        .ok_or_else(|| incomplete("Authorization header requires an X-Amz-Date header"))?;
    let when = NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| incomplete("X-Amz-Date must be yyyyMMddTHHmmssZ"))?
        .and_utc();
    for required in ["host", "x-amz-date"] {
        if !auth.signed_headers.contains(&required) {
            return Err(incomplete(&format!(
                "SignedHeaders must include '{required}'"
            )));
        }
    }
    if !auth.signed_headers.is_sorted() {
        return Err(incomplete("SignedHeaders must be sorted and lower-case"));
    }
    if auth.access_key != ACCESS_KEY_ID {
        return Err(AwsError::new(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    }
    if auth.date != &amz_date[..8] {
        return Err(invalid(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'",
            auth.date,
            &amz_date[..8]
        )));
    }
    if auth.region != region {
        return Err(invalid(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            auth.region
        )));
    }
    if auth.service != "states" {
        return Err(invalid(format!(
            "Credential should be scoped to correct service: 'states'. (got '{}')",
            auth.service
        )));
    }
    if (now - when).abs() > MAX_SKEW {
        return Err(invalid(format!(
            "Signature expired: {amz_date} is now earlier or later than {} (15 min skew allowed)",
            now.format("%Y%m%dT%H%M%SZ")
        )));
    }

    let expected = signature(
        parts,
        &auth.signed_headers,
        body,
        amz_date,
        region,
        SECRET_ACCESS_KEY,
    )
    .map_err(|what| incomplete(&what))?;
    if expected != auth.signature {
        return Err(invalid(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
                .to_owned(),
        ));
    }
    Ok(())
}

/// The SigV4 signature of a request (`Authorization` itself excluded) for `signed_headers`,
/// dated `amz_date`, scoped to `region`/`states`.
fn signature(
    parts: &Parts,
    signed_headers: &[&str],
    body: &[u8],
    amz_date: &str,
    region: &str,
    secret: &str,
) -> Result<String, String> {
    let mut canonical_headers = String::new();
    for name in signed_headers {
        let values: Vec<String> = parts
            .headers
            .get_all(*name)
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let value = match (values.is_empty(), *name) {
            (false, _) => values.join(","),
            // HTTP/2 carries the host in the URI, not a header.
            (true, "host") => parts
                .uri
                .authority()
                .map(|a| a.to_string())
                .ok_or("the request has no Host")?,
            (true, _) => return Err(format!("signed header '{name}' is not in the request")),
        };
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    let mut query: Vec<&str> = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .collect();
    query.sort_unstable();
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        parts.method,
        parts.uri.path(),
        query.join("&"),
        canonical_headers,
        signed_headers.join(";"),
        sha256_hex(body)
    );
    let date = amz_date.get(..8).ok_or("X-Amz-Date is too short")?;
    let scope = format!("{date}/{region}/states/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let mut key = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [region, "states", "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    Ok(hex(&hmac_sha256(&key, string_to_sign.as_bytes())))
}

// ---------------------------------------------------------------------------------------------
// Operations

type Members = Map<String, Value>;

/// An optional string member: absent and `null` are `None`; another type is a
/// `SerializationException`.
fn opt_string<'a>(members: &'a Members, key: &str) -> Result<Option<&'a str>, AwsError> {
    match members.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(AwsError::new(
            "SerializationException",
            format!("'{key}' must be a string"),
        )),
    }
}

fn required_string<'a>(members: &'a Members, key: &str) -> Result<&'a str, AwsError> {
    opt_string(members, key)?.ok_or_else(|| AwsError::validation(key, "Member must not be null"))
}

fn epoch(at: DateTime<Utc>) -> Value {
    json!(at.timestamp_millis() as f64 / 1000.0)
}

/// Step Functions' name rules (StartExecution `name`).
fn check_name(name: &str) -> Result<(), String> {
    let length = name.chars().count();
    if !(1..=80).contains(&length) {
        return Err(format!("name must be 1-80 characters, got {length}"));
    }
    const FORBIDDEN: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    match name.chars().find(|&c| {
        c.is_whitespace()
            || FORBIDDEN.contains(c)
            || matches!(c as u32, 0x00..=0x1F | 0x7F..=0x9F | 0xFFFE..=0xFFFF)
    }) {
        Some(c) => Err(format!("name contains the forbidden character {c:?}")),
        None => Ok(()),
    }
}

fn start_execution(state: &mut StateData, members: &Members) -> Result<Value, AwsError> {
    let state_machine_arn = required_string(members, "stateMachineArn")?;
    if !parse_arn(state_machine_arn)
        .is_some_and(|a| a.kind == "stateMachine" && !a.rest.contains(':'))
    {
        return Err(AwsError::new(
            "InvalidArn",
            format!("Invalid Arn: 'Resource type not valid in this context: {state_machine_arn}'"),
        ));
    }
    if !state.state_machines.iter().any(|a| a == state_machine_arn) {
        return Err(AwsError::new(
            "StateMachineDoesNotExist",
            format!("State Machine Does Not Exist: '{state_machine_arn}'"),
        ));
    }
    let name = match opt_string(members, "name")? {
        Some(name) => {
            check_name(name).map_err(|why| {
                AwsError::new("InvalidName", format!("Invalid Name: '{name}' ({why})"))
            })?;
            name.to_owned()
        }
        None => {
            state.generated_names += 1;
            format!(
                "{:08x}-0000-4000-8000-{:012x}",
                Utc::now().timestamp() as u32,
                state.generated_names
            )
        }
    };
    let input = opt_string(members, "input")?.unwrap_or("{}");
    if input.len() > MAX_INPUT_BYTES {
        return Err(AwsError::new(
            "InvalidExecutionInput",
            format!(
                "Input is {} bytes; the maximum is {MAX_INPUT_BYTES}",
                input.len()
            ),
        ));
    }
    if let Err(e) = serde_json::from_str::<Value>(input) {
        return Err(AwsError::new(
            "InvalidExecutionInput",
            format!("Invalid State Machine Execution Input: '{e}'"),
        ));
    }
    let trace_header = opt_string(members, "traceHeader")?.map(str::to_owned);
    let arn = execution_arn(state_machine_arn, &name);
    if let Some(existing) = state.executions.get(&arn) {
        let e = &existing.execution;
        if e.status == Status::Running && e.input == input {
            return Ok(json!({ "executionArn": arn, "startDate": epoch(e.start_date) }));
        }
        return Err(AwsError::new(
            "ExecutionAlreadyExists",
            format!("Execution Already Exists: '{arn}'"),
        ));
    }
    let now = Utc::now();
    state.executions.insert(
        arn.clone(),
        Record {
            execution: Execution {
                execution_arn: arn.clone(),
                state_machine_arn: state_machine_arn.to_owned(),
                name,
                input: input.to_owned(),
                status: Status::Running,
                start_date: now,
                stop_date: None,
                output: None,
                error: None,
                cause: None,
                trace_header,
                redrive_count: 0,
                redrive_date: None,
            },
            redrives: Vec::new(),
        },
    );
    Ok(json!({ "executionArn": arn, "startDate": epoch(now) }))
}

/// The record for an `executionArn` member.
fn find<'a>(state: &'a StateData, members: &Members) -> Result<&'a Record, AwsError> {
    let arn = required_string(members, "executionArn")?;
    parse_arn(arn)
        .filter(|a| a.kind == "execution" && a.rest.split(':').count() == 2)
        .ok_or_else(|| {
            AwsError::new(
                "InvalidArn",
                format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"),
            )
        })?;
    state.executions.get(arn).ok_or_else(|| {
        AwsError::new(
            "ExecutionDoesNotExist",
            format!("Execution Does Not Exist: '{arn}'"),
        )
    })
}

/// Why an execution cannot be redriven now (AWS's `redriveStatusReason` wording), if it can't.
fn not_redrivable(e: &Execution, now: DateTime<Utc>) -> Option<String> {
    match e.status {
        Status::Running | Status::Succeeded => Some(format!(
            "Execution is {} and cannot be redriven",
            e.status.as_str()
        )),
        _ if e.stop_date.is_some_and(|stop| now - stop > REDRIVE_PERIOD) => {
            Some("Execution redrivable period exceeded".to_owned())
        }
        _ => None,
    }
}

fn describe_execution(state: &StateData, members: &Members) -> Result<Value, AwsError> {
    let metadata_only = match opt_string(members, "includedData")? {
        None | Some("ALL_DATA") => false,
        Some("METADATA_ONLY") => true,
        Some(other) => {
            return Err(AwsError::validation(
                "includedData",
                &format!(
                    "Member must satisfy enum value set: [ALL_DATA, METADATA_ONLY] (got '{other}')"
                ),
            ));
        }
    };
    let e = &find(state, members)?.execution;
    let mut out = json!({
        "executionArn": e.execution_arn,
        "stateMachineArn": e.state_machine_arn,
        "name": e.name,
        "status": e.status.as_str(),
        "startDate": epoch(e.start_date),
        "redriveCount": e.redrive_count,
    });
    let obj = out.as_object_mut().expect("an object");
    let mut set = |key: &str, value: Value| {
        obj.insert(key.to_owned(), value);
    };
    if let Some(stop) = e.stop_date {
        set("stopDate", epoch(stop));
    }
    if !metadata_only {
        set("input", json!(e.input));
        set("inputDetails", json!({ "included": true }));
        if let Some(output) = &e.output {
            set("output", json!(output));
            set("outputDetails", json!({ "included": true }));
        }
    }
    if let Some(trace) = &e.trace_header {
        set("traceHeader", json!(trace));
    }
    if let Some(error) = &e.error {
        set("error", json!(error));
    }
    if let Some(cause) = &e.cause {
        set("cause", json!(cause));
    }
    if let Some(redrive) = e.redrive_date {
        set("redriveDate", epoch(redrive));
    }
    match not_redrivable(e, Utc::now()) {
        Some(reason) => {
            set("redriveStatus", json!("NOT_REDRIVABLE"));
            set("redriveStatusReason", json!(reason));
        }
        None => set("redriveStatus", json!("REDRIVABLE")),
    }
    Ok(out)
}

fn redrive_execution(state: &mut StateData, members: &Members) -> Result<Value, AwsError> {
    let token = opt_string(members, "clientToken")?;
    if let Some(token) = token
        && !(1..=64).contains(&token.chars().count())
    {
        return Err(AwsError::validation(
            "clientToken",
            "Member must have length between 1 and 64",
        ));
    }
    let arn = find(state, members)?.execution.execution_arn.clone();
    let now = Utc::now();
    let record = state.executions.get_mut(&arn).expect("found above");
    record.redrives.retain(|r| now - r.at <= REDRIVE_TOKEN_TTL);
    if let Some(token) = token
        && let Some(seen) = record.redrives.iter().find(|r| r.token == token)
    {
        return Ok(json!({ "redriveDate": epoch(seen.redrive_date) }));
    }
    if let Some(reason) = not_redrivable(&record.execution, now) {
        return Err(AwsError::new(
            "ExecutionNotRedrivable",
            format!("{reason}: '{arn}'"),
        ));
    }
    let e = &mut record.execution;
    e.status = Status::Running;
    e.stop_date = None;
    e.error = None;
    e.cause = None;
    e.output = None;
    e.redrive_count += 1;
    e.redrive_date = Some(now);
    if let Some(token) = token {
        record.redrives.push(Redrive {
            token: token.to_owned(),
            at: now,
            redrive_date: now,
        });
        if record.redrives.len() > REDRIVE_TOKENS {
            record.redrives.remove(0);
        }
    }
    Ok(json!({ "redriveDate": epoch(now) }))
}

#[cfg(test)]
mod tests {
    //! The real aws-sdk-sfn client against the fake (its signer is independent of ours), and
    //! raw HTTP for what the SDK never sends.

    use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_sfn::error::ProvideErrorMetadata;
    use aws_sdk_sfn::types::{ExecutionRedriveStatus, ExecutionStatus};

    use super::*;
    use ordersync_sandbox::raw_http;

    fn client_as(fake: &FakeSfn, key: &str, secret: &str, region: &str) -> aws_sdk_sfn::Client {
        let conf = aws_sdk_sfn::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new(key, secret, None, None, "test"))
            .endpoint_url(fake.endpoint_url())
            .http_client(ordersync_aws::config::https_client())
            .build();
        aws_sdk_sfn::Client::from_conf(conf)
    }

    fn client(fake: &FakeSfn) -> aws_sdk_sfn::Client {
        client_as(fake, ACCESS_KEY_ID, SECRET_ACCESS_KEY, fake.region())
    }

    /// The error code of a failed SDK call.
    fn code<T, E: ProvideErrorMetadata + std::fmt::Debug>(
        result: Result<T, aws_sdk_sfn::error::SdkError<E, aws_sdk_sfn::config::http::HttpResponse>>,
    ) -> String {
        match result {
            Ok(_) => panic!("expected an error"),
            Err(e) => e
                .code()
                .unwrap_or_else(|| panic!("no error code in {e:?}"))
                .to_owned(),
        }
    }

    async fn start(
        client: &aws_sdk_sfn::Client,
        name: &str,
        input: &str,
    ) -> Result<
        aws_sdk_sfn::operation::start_execution::StartExecutionOutput,
        aws_sdk_sfn::error::SdkError<
            aws_sdk_sfn::operation::start_execution::StartExecutionError,
            aws_sdk_sfn::config::http::HttpResponse,
        >,
    > {
        client
            .start_execution()
            .state_machine_arn(STATE_MACHINE_ARN)
            .name(name)
            .input(input)
            .send()
            .await
    }

    #[tokio::test]
    async fn start_is_idempotent_while_running_with_the_same_input_only() {
        let fake = FakeSfn::start(STATE_MACHINE_ARN).await;
        let sfn = client(&fake);
        let first = start(&sfn, "run-1", r#"{"a":1}"#).await.unwrap();
        assert_eq!(
            first.execution_arn(),
            "arn:aws:states:ap-northeast-2:123456789012:execution:ordersync:run-1"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let again = start(&sfn, "run-1", r#"{"a":1}"#).await.unwrap();
        assert_eq!(again.execution_arn(), first.execution_arn());
        assert_eq!(
            again.start_date(),
            first.start_date(),
            "the original start date"
        );
        assert_eq!(fake.executions().len(), 1);

        // Same name, other input (even the same JSON spelled differently): refused.
        assert_eq!(
            code(start(&sfn, "run-1", r#"{"a": 1}"#).await),
            "ExecutionAlreadyExists"
        );

        fake.finish(
            "run-1",
            Finished::Succeeded {
                output: r#"{"ok":true}"#.into(),
            },
        );
        // Ended: refused whatever the input.
        assert_eq!(
            code(start(&sfn, "run-1", r#"{"a":1}"#).await),
            "ExecutionAlreadyExists"
        );
        let described = sfn
            .describe_execution()
            .execution_arn(first.execution_arn())
            .send()
            .await
            .unwrap();
        assert_eq!(described.status(), &ExecutionStatus::Succeeded);
        assert_eq!(described.name(), Some("run-1"));
        assert_eq!(described.input(), Some(r#"{"a":1}"#));
        assert_eq!(described.output(), Some(r#"{"ok":true}"#));
        assert_eq!(described.start_date(), first.start_date());
        assert!(described.stop_date().unwrap() >= described.start_date());
        assert_eq!(described.redrive_count(), Some(0));
        assert_eq!(
            described.redrive_status(),
            Some(&ExecutionRedriveStatus::NotRedrivable)
        );
        assert_eq!(
            described.redrive_status_reason(),
            Some("Execution is SUCCEEDED and cannot be redriven")
        );
        assert_eq!(fake.requests(Op::StartExecution), 4);
        assert_eq!(fake.requests(Op::DescribeExecution), 1);
        assert_eq!(fake.stats().rejected, 0);
    }

    #[tokio::test]
    async fn names_arns_and_inputs_are_checked() {
        let fake = FakeSfn::start(STATE_MACHINE_ARN).await;
        let sfn = client(&fake);
        for bad in [
            "has space",
            "a/b",
            "a:b",
            "tab\there",
            "\u{85}next-line",
            "q?",
            "star*",
            "brace{",
            "pct%",
            "back`tick",
            &"x".repeat(81),
        ] {
            assert_eq!(code(start(&sfn, bad, "{}").await), "InvalidName", "{bad:?}");
        }
        // 80 characters, Unicode letters, '.', '-', '_' are fine.
        start(&sfn, &"x".repeat(80), "{}").await.unwrap();
        start(&sfn, "주문.run-1_b", "{}").await.unwrap();
        assert_eq!(
            code(start(&sfn, "ok", "{not json").await),
            "InvalidExecutionInput"
        );
        let huge = format!("\"{}\"", "x".repeat(MAX_INPUT_BYTES));
        assert_eq!(
            code(start(&sfn, "ok", &huge).await),
            "InvalidExecutionInput"
        );
        let other = "arn:aws:states:ap-northeast-2:123456789012:stateMachine:other";
        assert_eq!(
            code(
                sfn.start_execution()
                    .state_machine_arn(other)
                    .name("ok")
                    .send()
                    .await
            ),
            "StateMachineDoesNotExist"
        );
        fake.add_state_machine(other);
        let generated = sfn
            .start_execution()
            .state_machine_arn(other)
            .send()
            .await
            .unwrap();
        assert!(generated.execution_arn().contains(":execution:other:"));
        for bad in [
            "not-an-arn",
            "arn:aws:states:ap-northeast-2:123456789012:execution:ordersync:x",
            "arn:aws:lambda:ap-northeast-2:123456789012:function:ordersync",
        ] {
            assert_eq!(
                code(sfn.start_execution().state_machine_arn(bad).send().await),
                "InvalidArn",
                "{bad}"
            );
        }
        assert_eq!(
            code(sfn.start_execution().send().await),
            "ValidationException"
        );
        assert_eq!(
            code(
                sfn.describe_execution()
                    .execution_arn(
                        "arn:aws:states:ap-northeast-2:123456789012:execution:ordersync:nope"
                    )
                    .send()
                    .await
            ),
            "ExecutionDoesNotExist"
        );
        assert_eq!(
            code(
                sfn.describe_execution()
                    .execution_arn(STATE_MACHINE_ARN)
                    .send()
                    .await
            ),
            "InvalidArn"
        );
        assert!(
            fake.execution("ok").is_none(),
            "nothing refused was started"
        );
    }

    #[tokio::test]
    async fn redrive_only_unsuccessful_executions_within_14_days() {
        let fake = FakeSfn::start(STATE_MACHINE_ARN).await;
        let sfn = client(&fake);
        let arn = |name: &str| execution_arn(STATE_MACHINE_ARN, name);
        let redrive = |name: &str| sfn.redrive_execution().execution_arn(arn(name)).send();

        start(&sfn, "running", "{}").await.unwrap();
        assert_eq!(code(redrive("running").await), "ExecutionNotRedrivable");

        start(&sfn, "failed", "{}").await.unwrap();
        fake.finish(
            "failed",
            Finished::Failed {
                error: "Ordersync.Upstream".into(),
                cause: "NAVER answered 503".into(),
            },
        );
        let described = sfn
            .describe_execution()
            .execution_arn(arn("failed"))
            .send()
            .await
            .unwrap();
        assert_eq!(described.status(), &ExecutionStatus::Failed);
        assert_eq!(described.error(), Some("Ordersync.Upstream"));
        assert_eq!(described.cause(), Some("NAVER answered 503"));
        assert_eq!(
            described.redrive_status(),
            Some(&ExecutionRedriveStatus::Redrivable)
        );
        let redriven = redrive("failed").await.unwrap();
        let after = fake.execution("failed").unwrap();
        assert_eq!(after.status, Status::Running);
        assert_eq!(after.redrive_count, 1);
        assert_eq!(after.error, None);
        assert_eq!(after.stop_date, None);
        assert_eq!(after.execution_arn, arn("failed"), "same ARN");
        let described = sfn
            .describe_execution()
            .execution_arn(arn("failed"))
            .send()
            .await
            .unwrap();
        assert_eq!(described.redrive_count(), Some(1));
        assert_eq!(described.redrive_date(), Some(redriven.redrive_date()));
        assert_eq!(described.stop_date(), None);
        // Running again: not redrivable until it fails again.
        assert_eq!(code(redrive("failed").await), "ExecutionNotRedrivable");

        // The same client token is one redrive.
        fake.finish("failed", Finished::TimedOut);
        for _ in 0..2 {
            sfn.redrive_execution()
                .execution_arn(arn("failed"))
                .client_token("token-1")
                .send()
                .await
                .unwrap();
        }
        assert_eq!(fake.execution("failed").unwrap().redrive_count, 2);

        start(&sfn, "ok", "{}").await.unwrap();
        fake.finish(
            "ok",
            Finished::Succeeded {
                output: "{}".into(),
            },
        );
        let refused = redrive("ok").await.unwrap_err();
        assert_eq!(refused.code(), Some("ExecutionNotRedrivable"));
        assert!(
            refused
                .message()
                .unwrap()
                .contains("Execution is SUCCEEDED and cannot be redriven"),
            "{refused:?}"
        );

        start(&sfn, "old", "{}").await.unwrap();
        fake.finish(
            "old",
            Finished::Aborted {
                error: None,
                cause: None,
            },
        );
        fake.backdate("old", TimeDelta::days(13));
        fake.backdate("old", TimeDelta::days(1) + TimeDelta::minutes(1));
        let refused = redrive("old").await.unwrap_err();
        assert!(
            refused
                .message()
                .unwrap()
                .contains("redrivable period exceeded"),
            "{refused:?}"
        );
        assert_eq!(fake.execution("old").unwrap().status, Status::Aborted);
    }

    #[tokio::test]
    async fn wrong_credentials_region_or_secret_are_refused() {
        let fake = FakeSfn::start(STATE_MACHINE_ARN).await;
        let cases = [
            (
                "SOMEOTHERKEY",
                SECRET_ACCESS_KEY,
                fake.region(),
                "UnrecognizedClientException",
            ),
            (
                ACCESS_KEY_ID,
                "wrong-secret",
                fake.region(),
                "InvalidSignatureException",
            ),
            (
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                "us-east-1",
                "InvalidSignatureException",
            ),
        ];
        for (key, secret, region, expected) in cases {
            let sfn = client_as(&fake, key, secret, region);
            assert_eq!(
                code(start(&sfn, "x", "{}").await),
                expected,
                "{key} {region}"
            );
        }
        let stats = fake.stats();
        assert_eq!(stats.rejected, 3);
        assert!(stats.per_op.is_empty(), "{stats:?}");
        assert!(fake.executions().is_empty());
    }

    /// A raw request signed by this module's signer (the SDK tests above show it agrees with
    /// the SDK's), so one header at a time can be wrong.
    async fn raw(
        fake: &FakeSfn,
        target: &str,
        content_type: &str,
        body: &str,
        tamper: impl FnOnce(&mut Vec<(String, String)>),
    ) -> (u16, Value) {
        let host = fake.addr().to_string();
        let amz_date = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let mut headers = vec![
            ("content-type".to_owned(), content_type.to_owned()),
            ("host".to_owned(), host.clone()),
            ("x-amz-date".to_owned(), amz_date.clone()),
            ("x-amz-target".to_owned(), target.to_owned()),
        ];
        let mut request = axum::http::Request::post("/");
        for (k, v) in &headers {
            request = request.header(k, v);
        }
        let (parts, ()) = request.body(()).unwrap().into_parts();
        let signed = ["content-type", "host", "x-amz-date", "x-amz-target"];
        let sig = signature(
            &parts,
            &signed,
            body.as_bytes(),
            &amz_date,
            fake.region(),
            SECRET_ACCESS_KEY,
        )
        .unwrap();
        headers.push((
            "authorization".to_owned(),
            format!(
                "AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/{}/{}/states/aws4_request, SignedHeaders={}, Signature={sig}",
                &amz_date[..8],
                fake.region(),
                signed.join(";")
            ),
        ));
        tamper(&mut headers);
        // raw_http sends its own Host.
        headers.retain(|(k, _)| k != "host");
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let reply = raw_http::request(&host, "POST", "/", &refs, body.as_bytes()).await;
        assert_eq!(
            reply.headers.get("content-type").map(String::as_str),
            Some(CONTENT_TYPE)
        );
        (
            reply.status,
            serde_json::from_slice(&reply.body).expect("a JSON body"),
        )
    }

    const DESCRIBE: &str = "AWSStepFunctions.DescribeExecution";

    fn describe_body() -> String {
        json!({ "executionArn": execution_arn(STATE_MACHINE_ARN, "nope") }).to_string()
    }

    #[tokio::test]
    async fn raw_requests_are_checked_before_any_operation() {
        let fake = FakeSfn::start(STATE_MACHINE_ARN).await;
        // A correct raw request reaches the operation.
        let (status, body) = raw(&fake, DESCRIBE, CONTENT_TYPE, &describe_body(), |_| ()).await;
        assert_eq!(
            (status, body["__type"].as_str()),
            (400, Some("ExecutionDoesNotExist"))
        );
        assert_eq!(fake.requests(Op::DescribeExecution), 1);

        let unsigned = |h: &mut Vec<(String, String)>| h.retain(|(k, _)| k != "authorization");
        let (status, body) = raw(&fake, DESCRIBE, CONTENT_TYPE, &describe_body(), unsigned).await;
        assert_eq!(
            (status, body["__type"].as_str()),
            (400, Some("MissingAuthenticationTokenException"))
        );

        let v2 = |h: &mut Vec<(String, String)>| {
            h.iter_mut()
                .filter(|(k, _)| k == "authorization")
                .for_each(|(_, v)| *v = v.replacen("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1));
        };
        let (_, body) = raw(&fake, DESCRIBE, CONTENT_TYPE, &describe_body(), v2).await;
        assert_eq!(body["__type"], "IncompleteSignatureException");

        // A header changed after signing.
        let changed = |h: &mut Vec<(String, String)>| {
            h.iter_mut()
                .filter(|(k, _)| k == "x-amz-target")
                .for_each(|(_, v)| *v = "AWSStepFunctions.StartExecution".into());
        };
        let (_, body) = raw(&fake, DESCRIBE, CONTENT_TYPE, &describe_body(), changed).await;
        assert_eq!(body["__type"], "InvalidSignatureException");

        // Stale date (signed as such).
        let stale = |h: &mut Vec<(String, String)>| {
            h.iter_mut()
                .filter(|(k, _)| k == "x-amz-date")
                .for_each(|(_, v)| *v = "20200101T000000Z".into());
        };
        let (_, body) = raw(&fake, DESCRIBE, CONTENT_TYPE, &describe_body(), stale).await;
        assert_eq!(body["__type"], "InvalidSignatureException");

        // Signed correctly, but not an operation / not the protocol.
        for (target, content_type) in [
            ("AWSStepFunctions.ListExecutions", CONTENT_TYPE),
            ("AWSStepFunctions.describeExecution", CONTENT_TYPE),
            ("StepFunctions.DescribeExecution", CONTENT_TYPE),
            (DESCRIBE, "application/json"),
            (DESCRIBE, "application/x-amz-json-1.1"),
        ] {
            let (status, body) = raw(&fake, target, content_type, &describe_body(), |_| ()).await;
            assert_eq!(
                (status, body["__type"].as_str()),
                (400, Some("UnknownOperationException")),
                "{target} {content_type}"
            );
        }
        let (_, body) = raw(&fake, DESCRIBE, CONTENT_TYPE, "[]", |_| ()).await;
        assert_eq!(body["__type"], "SerializationException");
        let (_, body) = raw(
            &fake,
            DESCRIBE,
            CONTENT_TYPE,
            r#"{"executionArn":5}"#,
            |_| (),
        )
        .await;
        assert_eq!(body["__type"], "SerializationException");

        let stats = fake.stats();
        assert_eq!(stats.http_requests, 12);
        assert_eq!(stats.rejected, 9);
        assert_eq!(stats.per_op.get(&Op::DescribeExecution), Some(&3));
    }
}
