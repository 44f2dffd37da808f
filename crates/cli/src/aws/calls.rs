//! The Step Functions calls behind `start`, `status` and `redrive`: the target state machine,
//! checking and naming a request, StartExecution (finding an existing execution first),
//! DescribeExecution, waiting, RedriveExecution. No printing here: [`super::render`] does that.

use std::time::Duration;

use aws_sdk_sfn::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};
use ordersync_core::events::RunSummary;
use ordersync_core::request::{Limits, RunRequest};
use serde::Serialize;

use super::args::STATE_MACHINE_ENV;
use crate::error::CliError;

pub(super) fn api_error<E>(
    op: &'static str,
    error: SdkError<E, aws_sdk_sfn::config::http::HttpResponse>,
) -> CliError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = error.code().map(str::to_owned);
    let message = match (&code, error.message(), &error) {
        (Some(_), Some(message), _) => message.to_owned(),
        // Network, TLS, credentials: the chain of causes, without the SDK's debug dump.
        (
            _,
            _,
            SdkError::DispatchFailure(_)
            | SdkError::TimeoutError(_)
            | SdkError::ConstructionFailure(_),
        ) => {
            let mut chain = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                chain.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            chain
        }
        _ => DisplayErrorContext(&error).to_string(),
    };
    CliError::Api { op, code, message }
}

// ---------------------------------------------------------------------------------------------
// Target

/// A client and the state machine it works on.
#[derive(Debug, Clone)]
pub struct Target {
    pub client: aws_sdk_sfn::Client,
    pub state_machine_arn: String,
}

/// The state machine: `flag`, else [`STATE_MACHINE_ENV`]; it must look like a state machine
/// ARN (`arn:aws:states:{region}:{account}:stateMachine:{name}`).
pub fn state_machine_arn(flag: Option<&str>) -> Result<String, CliError> {
    let arn = match flag {
        Some(arn) => arn.to_owned(),
        None => {
            ordersync_core::config::Env::var(&ordersync_core::config::ProcessEnv, STATE_MACHINE_ENV)
                .ok_or_else(|| {
                    CliError::Usage(format!(
                        "which state machine? Pass --state-machine-arn or set {STATE_MACHINE_ENV}"
                    ))
                })?
        }
    };
    let arn = arn.trim().to_owned();
    let parts: Vec<&str> = arn.split(':').collect();
    let ok = parts.len() == 7
        && parts[0] == "arn"
        && parts[2] == "states"
        && parts[5] == "stateMachine"
        && !parts[6].is_empty();
    if ok {
        Ok(arn)
    } else {
        Err(CliError::Usage(format!(
            "`{arn}` is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)"
        )))
    }
}

/// A Step Functions client from the environment (region, credentials, endpoint overrides),
/// with our rustls + ring HTTPS client.
pub async fn client_from_env() -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::new(&ordersync_aws::config::load().await)
}

impl Target {
    /// [`state_machine_arn`] and [`client_from_env`].
    pub async fn from_env(flag: Option<&str>) -> Result<Target, CliError> {
        let state_machine_arn = state_machine_arn(flag)?;
        Ok(Target {
            client: client_from_env().await,
            state_machine_arn,
        })
    }

    /// The execution ARN of `name` on this state machine (`name` may already be one).
    pub fn execution_arn(&self, name: &str) -> String {
        execution_arn(&self.state_machine_arn, name)
    }
}

/// `arn:…:stateMachine:{sm}` + `name` → `arn:…:execution:{sm}:{name}`; an ARN is kept as is.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    if name.starts_with("arn:") {
        return name.to_owned();
    }
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

pub(super) fn name_of(name_or_arn: &str) -> &str {
    if name_or_arn.starts_with("arn:") {
        name_or_arn.rsplit(':').next().unwrap_or(name_or_arn)
    } else {
        name_or_arn
    }
}

// ---------------------------------------------------------------------------------------------
// Start

/// A checked request, ready for `StartExecution`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRequest {
    pub name: String,
    /// The input sent: the request re-serialised compactly, so the same request gives the same
    /// input whatever the file's formatting.
    pub input: String,
}

/// Reads and checks the execution input (as the Plan step will) and picks the name.
pub fn prepare(
    json: &[u8],
    name: Option<&str>,
    now: DateTime<Utc>,
) -> Result<StartRequest, CliError> {
    let limits = Limits::from_env(&ordersync_core::config::ProcessEnv)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let request = RunRequest::parse(json).map_err(|e| CliError::InvalidInput(e.to_string()))?;
    request
        .validate(&limits, now.fixed_offset())
        .map_err(|e| CliError::InvalidInput(e.to_string()))?;
    let name = match name {
        Some(name) => {
            ordersync_core::keys::check_execution(name)
                .map_err(|e| CliError::Usage(format!("--name: {e}")))?;
            name.to_owned()
        }
        None => ordersync_core::naming::execution_name(&request, now),
    };
    let input = serde_json::to_string(&request).expect("a RunRequest serialises");
    Ok(StartRequest { name, input })
}

/// What `start` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StartReport {
    pub name: String,
    pub execution_arn: String,
    /// True when the execution existed already (nothing was started).
    pub already_started: bool,
    pub status: String,
    pub start_date: Option<DateTime<Utc>>,
    /// For an existing execution: whether it was started with this same request. `false`
    /// means the same name was used for another input (other columns, say).
    pub same_input: Option<bool>,
}

/// Starts `request` unless an execution of that name exists (see the module docs).
pub async fn start(target: &Target, request: &StartRequest) -> Result<StartReport, CliError> {
    if let Some(existing) = describe_if_exists(target, &request.name).await? {
        return Ok(already_started(existing, request));
    }
    let started = target
        .client
        .start_execution()
        .state_machine_arn(&target.state_machine_arn)
        .name(&request.name)
        .input(&request.input)
        .send()
        .await;
    match started {
        Ok(out) => Ok(StartReport {
            name: request.name.clone(),
            execution_arn: out.execution_arn().to_owned(),
            already_started: false,
            status: "RUNNING".to_owned(),
            start_date: to_chrono(out.start_date()),
            same_input: None,
        }),
        Err(e) if e.code() == Some("ExecutionAlreadyExists") => {
            // Started by someone else between our describe and our start.
            match describe_if_exists(target, &request.name).await? {
                Some(existing) => Ok(already_started(existing, request)),
                None => Ok(StartReport {
                    name: request.name.clone(),
                    execution_arn: target.execution_arn(&request.name),
                    already_started: true,
                    status: "UNKNOWN".to_owned(),
                    start_date: None,
                    same_input: None,
                }),
            }
        }
        Err(e) => Err(api_error("StartExecution", e)),
    }
}

pub(super) fn already_started(existing: Execution, request: &StartRequest) -> StartReport {
    let same_input = existing.input.as_deref().map(|input| {
        serde_json::from_str::<serde_json::Value>(input).ok()
            == serde_json::from_str::<serde_json::Value>(&request.input).ok()
    });
    StartReport {
        name: existing.name,
        execution_arn: existing.execution_arn,
        already_started: true,
        status: existing.status,
        start_date: Some(existing.start_date),
        same_input,
    }
}

// ---------------------------------------------------------------------------------------------
// Describe, wait

/// One execution as `DescribeExecution` tells it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Execution {
    pub name: String,
    pub execution_arn: String,
    pub status: String,
    pub start_date: DateTime<Utc>,
    pub stop_date: Option<DateTime<Utc>>,
    pub redrive_count: i32,
    pub redrive_date: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// The run summary, when the execution succeeded and its output is one.
    pub summary: Option<RunSummary>,
    /// The raw output when it is not a run summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(skip)]
    pub input: Option<String>,
}

impl Execution {
    /// Still going: RUNNING, or PENDING_REDRIVE (a redrive about to run).
    pub fn is_running(&self) -> bool {
        matches!(self.status.as_str(), "RUNNING" | "PENDING_REDRIVE")
    }
}

pub(super) fn to_chrono(at: &aws_sdk_sfn::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.secs(), at.subsec_nanos())
}

/// `DescribeExecution`; `None` when there is no such execution.
pub async fn describe_if_exists(
    target: &Target,
    name: &str,
) -> Result<Option<Execution>, CliError> {
    let out = target
        .client
        .describe_execution()
        .execution_arn(target.execution_arn(name))
        .send()
        .await;
    let out = match out {
        Ok(out) => out,
        Err(e) if e.code() == Some("ExecutionDoesNotExist") => return Ok(None),
        Err(e) => return Err(api_error("DescribeExecution", e)),
    };
    let (summary, output) = match out.output() {
        None => (None, None),
        Some(text) => match serde_json::from_str::<RunSummary>(text) {
            Ok(summary) => (Some(summary), None),
            Err(_) => (None, Some(text.to_owned())),
        },
    };
    Ok(Some(Execution {
        name: out
            .name()
            .map(str::to_owned)
            .unwrap_or_else(|| name_of(name).to_owned()),
        execution_arn: out.execution_arn().to_owned(),
        status: out.status().as_str().to_owned(),
        start_date: to_chrono(out.start_date()).unwrap_or_default(),
        stop_date: out.stop_date().and_then(to_chrono),
        redrive_count: out.redrive_count().unwrap_or(0),
        redrive_date: out.redrive_date().and_then(to_chrono),
        error: out.error().map(str::to_owned),
        cause: out.cause().map(str::to_owned),
        summary,
        output,
        input: out.input().map(str::to_owned),
    }))
}

/// `DescribeExecution`; [`CliError::NotFound`] when there is no such execution.
pub async fn status(target: &Target, name: &str) -> Result<Execution, CliError> {
    describe_if_exists(target, name)
        .await?
        .ok_or_else(|| CliError::NotFound {
            name: name_of(name).to_owned(),
        })
}

/// Polls `DescribeExecution` every `interval` until the execution is no longer running, calling
/// `progress` after every poll.
pub async fn wait(
    target: &Target,
    name: &str,
    interval: Duration,
    mut progress: impl FnMut(&Execution),
) -> Result<Execution, CliError> {
    loop {
        let execution = status(target, name).await?;
        progress(&execution);
        if !execution.is_running() {
            return Ok(execution);
        }
        tokio::time::sleep(interval).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Redrive

/// What `redrive` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RedriveReport {
    pub name: String,
    pub execution_arn: String,
    pub redrive_date: Option<DateTime<Utc>>,
    /// After this redrive (1 for the first).
    pub redrive_count: Option<i32>,
    pub status: Option<String>,
}

/// `RedriveExecution`: the execution continues from its failed step, under the same name.
pub async fn redrive(target: &Target, name: &str) -> Result<RedriveReport, CliError> {
    let result = target
        .client
        .redrive_execution()
        .execution_arn(target.execution_arn(name))
        .send()
        .await;
    let out = match result {
        Ok(out) => out,
        Err(e) if e.code() == Some("ExecutionDoesNotExist") => {
            return Err(CliError::NotFound {
                name: name_of(name).to_owned(),
            });
        }
        Err(e) if e.code() == Some("ExecutionNotRedrivable") => {
            let reason = e.message().unwrap_or("not redrivable").to_owned();
            let status = describe_if_exists(target, name)
                .await
                .ok()
                .flatten()
                .map(|e| e.status);
            return Err(CliError::NotRedrivable {
                name: name_of(name).to_owned(),
                status,
                reason,
            });
        }
        Err(e) => return Err(api_error("RedriveExecution", e)),
    };
    let after = describe_if_exists(target, name).await.ok().flatten();
    Ok(RedriveReport {
        name: name_of(name).to_owned(),
        execution_arn: target.execution_arn(name),
        redrive_date: to_chrono(out.redrive_date()),
        redrive_count: after.as_ref().map(|e| e.redrive_count),
        status: after.map(|e| e.status),
    })
}
