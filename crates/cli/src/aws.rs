//! `ordersync start`, `status` and `redrive`: the deployed state machine, through aws-sdk-sfn.
//!
//! `start` checks the execution input here first (a bad request never reaches AWS), names the
//! execution after what it imports ([`ordersync_core::naming::execution_name`], unless `--name`
//! is given), and asks Step Functions whether that execution exists before starting it. An
//! existing one — running, or ended, as after a double click or a backend retry — is reported
//! as "already started" with its status, never started twice: Step Functions itself answers a
//! second `StartExecution` of a running execution with the same input with that execution, and
//! refuses the name otherwise (`ExecutionAlreadyExists`, which a race between our describe and
//! our start can still produce, and which is reported the same way).
//!
//! Configuration is the standard AWS chain (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL` /
//! `AWS_ENDPOINT_URL_SFN`) through [`ordersync_aws::config::load`], so the HTTPS
//! client is rustls + ring like every other AWS client here. The state machine is
//! `--state-machine-arn` or `ORDERSYNC_STATE_MACHINE_ARN`.
//!
//! Exit codes: 0 done (also "already started"), 1 the input, the execution or the AWS call
//! failed, 2 usage (no state machine, a bad `--name` or `--interval`, an unreadable file).

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use aws_sdk_sfn::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use chrono::{DateTime, SecondsFormat, Utc};
use ordersync_core::events::RunSummary;
use ordersync_core::request::{Limits, RunRequest};
use serde::Serialize;

/// The environment variable naming the state machine when `--state-machine-arn` is absent.
pub const STATE_MACHINE_ENV: &str = "ORDERSYNC_STATE_MACHINE_ARN";

/// Default polling interval of `--wait`.
pub const DEFAULT_INTERVAL_S: f64 = 2.0;

/// Options every command shares.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// The state machine (default: $ORDERSYNC_STATE_MACHINE_ARN).
    #[arg(long)]
    pub state_machine_arn: Option<String>,
    /// Print JSON on standard output instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `ordersync start`.
#[derive(Debug, Clone, clap::Args)]
pub struct StartArgs {
    /// The execution input (RunRequest JSON); `-` reads standard input.
    #[arg(long)]
    pub input: PathBuf,
    /// Execution name; default: derived from account, sheet, tab and range, so starting the
    /// same request twice finds the first execution.
    #[arg(long)]
    pub name: Option<String>,
    /// Wait for the execution to end and print its summary.
    #[arg(long)]
    pub wait: bool,
    /// Seconds between status checks while waiting.
    #[arg(long, default_value_t = DEFAULT_INTERVAL_S)]
    pub interval: f64,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `ordersync status`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Execution name (or execution ARN).
    pub name: String,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `ordersync redrive`.
#[derive(Debug, Clone, clap::Args)]
pub struct RedriveArgs {
    /// Execution name (or execution ARN).
    pub name: String,
    /// Wait for the redriven execution to end and print its summary.
    #[arg(long)]
    pub wait: bool,
    /// Seconds between status checks while waiting.
    #[arg(long, default_value_t = DEFAULT_INTERVAL_S)]
    pub interval: f64,
    #[command(flatten)]
    pub target: TargetArgs,
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsError {
    /// Wrong use of the command or missing configuration (exit 2).
    Usage(String),
    /// The execution input is invalid; every problem names its field (exit 1).
    InvalidInput(String),
    /// No execution of that name on the state machine (exit 1).
    NotFound { name: String },
    /// RedriveExecution refused (exit 1).
    NotRedrivable {
        name: String,
        status: Option<String>,
        reason: String,
    },
    /// Step Functions (or the way to it) answered with an error (exit 1).
    Api {
        op: &'static str,
        code: Option<String>,
        message: String,
    },
}

impl AwsError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            AwsError::Usage(_) => ExitCode::from(2),
            _ => ExitCode::from(1),
        }
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AwsError::Usage(message) => f.write_str(message),
            AwsError::InvalidInput(problems) => write!(f, "invalid input: {problems}"),
            AwsError::NotFound { name } => {
                write!(f, "no execution named {name} on this state machine")
            }
            AwsError::NotRedrivable {
                name,
                status,
                reason,
            } => {
                write!(f, "{name} cannot be redriven: {reason}")?;
                match status.as_deref() {
                    Some("SUCCEEDED") => write!(
                        f,
                        " (it succeeded; to import again, start a new execution: \
                         ordersync start --input ... --name <new name>)"
                    ),
                    Some("RUNNING" | "PENDING_REDRIVE") => write!(
                        f,
                        " (it is still running; follow it with: ordersync status {name})"
                    ),
                    Some(_) if reason.contains("period") => write!(
                        f,
                        " (Step Functions redrives only within 14 days of the stop; start a \
                         new execution with --name <new name>)"
                    ),
                    _ => Ok(()),
                }
            }
            AwsError::Api { op, code, message } => match code {
                Some(code) => write!(f, "{op}: {code}: {message}"),
                None => write!(f, "{op}: {message}"),
            },
        }
    }
}

impl std::error::Error for AwsError {}

fn api_error<E>(
    op: &'static str,
    error: SdkError<E, aws_sdk_sfn::config::http::HttpResponse>,
) -> AwsError
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
    AwsError::Api { op, code, message }
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
pub fn state_machine_arn(flag: Option<&str>) -> Result<String, AwsError> {
    let arn = match flag {
        Some(arn) => arn.to_owned(),
        None => {
            ordersync_core::config::Env::var(&ordersync_core::config::ProcessEnv, STATE_MACHINE_ENV)
                .ok_or_else(|| {
                    AwsError::Usage(format!(
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
        Err(AwsError::Usage(format!(
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
    pub async fn from_env(flag: Option<&str>) -> Result<Target, AwsError> {
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

fn name_of(name_or_arn: &str) -> &str {
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
) -> Result<StartRequest, AwsError> {
    let limits = Limits::from_env(&ordersync_core::config::ProcessEnv)
        .map_err(|e| AwsError::Usage(e.to_string()))?;
    let request = RunRequest::parse(json).map_err(|e| AwsError::InvalidInput(e.to_string()))?;
    request
        .validate(&limits, now.fixed_offset())
        .map_err(|e| AwsError::InvalidInput(e.to_string()))?;
    let name = match name {
        Some(name) => {
            ordersync_core::keys::check_execution(name)
                .map_err(|e| AwsError::Usage(format!("--name: {e}")))?;
            name.to_owned()
        }
        None => ordersync_core::naming::execution_name(&request),
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
pub async fn start(target: &Target, request: &StartRequest) -> Result<StartReport, AwsError> {
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

fn already_started(existing: Execution, request: &StartRequest) -> StartReport {
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

fn to_chrono(at: &aws_sdk_sfn::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.secs(), at.subsec_nanos())
}

/// `DescribeExecution`; `None` when there is no such execution.
pub async fn describe_if_exists(
    target: &Target,
    name: &str,
) -> Result<Option<Execution>, AwsError> {
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

/// `DescribeExecution`; [`AwsError::NotFound`] when there is no such execution.
pub async fn status(target: &Target, name: &str) -> Result<Execution, AwsError> {
    describe_if_exists(target, name)
        .await?
        .ok_or_else(|| AwsError::NotFound {
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
) -> Result<Execution, AwsError> {
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
pub async fn redrive(target: &Target, name: &str) -> Result<RedriveReport, AwsError> {
    let result = target
        .client
        .redrive_execution()
        .execution_arn(target.execution_arn(name))
        .send()
        .await;
    let out = match result {
        Ok(out) => out,
        Err(e) if e.code() == Some("ExecutionDoesNotExist") => {
            return Err(AwsError::NotFound {
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
            return Err(AwsError::NotRedrivable {
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

// ---------------------------------------------------------------------------------------------
// Text

fn when(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `start`'s report as text.
pub fn render_start(report: &StartReport) -> String {
    let mut out = if report.already_started {
        format!("already started: {} is {}\n", report.name, report.status)
    } else {
        format!("started {}\n", report.name)
    };
    out.push_str(&format!("execution  {}\n", report.execution_arn));
    if let Some(at) = report.start_date {
        out.push_str(&format!("started at {}\n", when(at)));
    }
    if report.already_started {
        match report.status.as_str() {
            "FAILED" | "TIMED_OUT" | "ABORTED" => out.push_str(&format!(
                "it did not succeed; continue it with: ordersync redrive {}\n",
                report.name
            )),
            "SUCCEEDED" => out.push_str(&format!(
                "to see what it did: ordersync status {}\n",
                report.name
            )),
            _ => {}
        }
    }
    out
}

/// An execution as text: status, dates, redrives, then the summary or the error.
pub fn render_status(execution: &Execution) -> String {
    let mut out = format!(
        "execution  {}\nstatus     {}\nstarted    {}\n",
        execution.name,
        execution.status,
        when(execution.start_date)
    );
    if let Some(stop) = execution.stop_date {
        let took = (stop - execution.start_date).num_seconds().max(0);
        out.push_str(&format!("stopped    {} ({took} s)\n", when(stop)));
    }
    out.push_str(&format!("redrives   {}", execution.redrive_count));
    match execution.redrive_date {
        Some(at) => out.push_str(&format!(" (last {})\n", when(at))),
        None => out.push('\n'),
    }
    if let Some(error) = &execution.error {
        out.push_str(&format!("error      {error}\n"));
    }
    if let Some(cause) = &execution.cause {
        out.push_str(&format!("cause      {cause}\n"));
    }
    if let Some(summary) = &execution.summary {
        out.push('\n');
        out.push_str(&crate::summary::render(summary));
    } else if let Some(output) = &execution.output {
        out.push_str(&format!("output     {output}\n"));
    }
    out
}

/// `redrive`'s report as text.
pub fn render_redrive(report: &RedriveReport) -> String {
    let mut out = format!(
        "redriven {}: {} again",
        report.name,
        report.status.as_deref().unwrap_or("RUNNING")
    );
    if let Some(count) = report.redrive_count {
        out.push_str(&format!(" (redrive {count})"));
    }
    out.push_str(&format!("\nexecution  {}\n", report.execution_arn));
    out
}

fn print_json<T: Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("reports serialise")
    );
}

/// Shows the status while waiting: a spinner on a terminal; off a terminal, a line when the
/// status changes and every 30 s.
struct WaitProgress {
    bar: Option<indicatif::ProgressBar>,
    last: Option<(String, std::time::Instant)>,
}

impl WaitProgress {
    fn new() -> WaitProgress {
        let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        WaitProgress { bar, last: None }
    }

    fn update(&mut self, execution: &Execution) {
        let since = execution.redrive_date.unwrap_or(execution.start_date);
        let elapsed = (Utc::now() - since).num_seconds().max(0);
        let line = format!("{} {} · {elapsed} s", execution.name, execution.status);
        if let Some(bar) = &self.bar {
            bar.set_message(line);
            return;
        }
        let due = match &self.last {
            None => true,
            Some((status, at)) => {
                *status != execution.status || at.elapsed() >= Duration::from_secs(30)
            }
        };
        if due {
            eprintln!("{line}");
            self.last = Some((execution.status.clone(), std::time::Instant::now()));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn interval(seconds: f64) -> Result<Duration, AwsError> {
    if seconds.is_finite() && (0.01..=3600.0).contains(&seconds) {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(AwsError::Usage(format!(
            "--interval must be between 0.01 and 3600 seconds, got {seconds}"
        )))
    }
}

/// Waits for `name` and prints how it ended: the summary (text, or JSON with `json`) on
/// success, error and cause otherwise (exit 1).
async fn wait_and_report(
    target: &Target,
    name: &str,
    every: Duration,
    json: bool,
) -> Result<ExitCode, AwsError> {
    let mut progress = WaitProgress::new();
    let ended = wait(target, name, every, |e| progress.update(e)).await;
    progress.finish();
    let ended = ended?;
    if ended.status == "SUCCEEDED" {
        match (&ended.summary, json) {
            (Some(summary), true) => print_json(summary),
            (None, true) => println!("{}", ended.output.as_deref().unwrap_or("null")),
            (_, false) => print!("{}", render_status(&ended)),
        }
        return Ok(ExitCode::SUCCESS);
    }
    if json {
        print_json(&ended);
    } else {
        print!("{}", render_status(&ended));
    }
    eprintln!(
        "ordersync: {} {}: {}{}",
        ended.name,
        ended.status,
        ended.error.as_deref().unwrap_or("no error name"),
        ended
            .cause
            .as_deref()
            .map(|c| format!(" — {c}"))
            .unwrap_or_default()
    );
    Ok(ExitCode::from(1))
}

fn read_input(path: &PathBuf) -> Result<Vec<u8>, AwsError> {
    let read = if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    };
    read.map_err(|e| AwsError::Usage(format!("cannot read {}: {e}", path.display())))
}

fn exit(result: Result<ExitCode, AwsError>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("ordersync: {e}");
        e.exit_code()
    })
}

// ---------------------------------------------------------------------------------------------
// Commands

/// `ordersync start --input FILE [--name NAME] [--wait]`.
pub async fn start_command(args: StartArgs) -> ExitCode {
    exit(start_inner(args).await)
}

async fn start_inner(args: StartArgs) -> Result<ExitCode, AwsError> {
    let every = interval(args.interval)?;
    let arn = state_machine_arn(args.target.state_machine_arn.as_deref())?;
    let json = read_input(&args.input)?;
    let request = prepare(&json, args.name.as_deref(), Utc::now())?;
    let target = Target {
        client: client_from_env().await,
        state_machine_arn: arn,
    };
    let report = start(&target, &request).await?;
    if report.same_input == Some(false) {
        eprintln!(
            "ordersync: note: {} was started with another input than this one (columns?); \
             to run this input as well, pass --name",
            report.name
        );
    }
    let text = render_start(&report);
    show_or_wait(
        &target,
        &report.name,
        &report,
        &text,
        args.wait.then_some(every),
        args.target.json,
    )
    .await
}

/// `ordersync status NAME`.
pub async fn status_command(args: StatusArgs) -> ExitCode {
    exit(status_inner(args).await)
}

async fn status_inner(args: StatusArgs) -> Result<ExitCode, AwsError> {
    let target = Target::from_env(args.target.state_machine_arn.as_deref()).await?;
    let execution = status(&target, &args.name).await?;
    if args.target.json {
        print_json(&execution);
    } else {
        print!("{}", render_status(&execution));
        if matches!(
            execution.status.as_str(),
            "FAILED" | "TIMED_OUT" | "ABORTED"
        ) {
            println!(
                "\ncontinue it from the failed step with: ordersync redrive {}",
                execution.name
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ordersync redrive NAME [--wait]`.
pub async fn redrive_command(args: RedriveArgs) -> ExitCode {
    exit(redrive_inner(args).await)
}

async fn redrive_inner(args: RedriveArgs) -> Result<ExitCode, AwsError> {
    let every = interval(args.interval)?;
    let target = Target::from_env(args.target.state_machine_arn.as_deref()).await?;
    let report = redrive(&target, &args.name).await?;
    let text = render_redrive(&report);
    show_or_wait(
        &target,
        &report.name,
        &report,
        &text,
        args.wait.then_some(every),
        args.target.json,
    )
    .await
}

/// Prints what `start` or `redrive` did; with `wait` (the poll interval), it goes to standard
/// error instead, so standard output is kept for the execution's outcome, and waits for it.
async fn show_or_wait(
    target: &Target,
    name: &str,
    report: &impl Serialize,
    text: &str,
    wait: Option<Duration>,
    json: bool,
) -> Result<ExitCode, AwsError> {
    let Some(every) = wait else {
        if json {
            print_json(report);
        } else {
            print!("{text}");
        }
        return Ok(ExitCode::SUCCESS);
    };
    eprint!("{text}");
    wait_and_report(target, name, every, json).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const SM: &str = "arn:aws:states:ap-northeast-2:123456789012:stateMachine:ordersync";

    #[test]
    fn execution_arns_follow_the_state_machine() {
        assert_eq!(
            execution_arn(SM, "os-1"),
            "arn:aws:states:ap-northeast-2:123456789012:execution:ordersync:os-1"
        );
        let arn = "arn:aws:states:ap-northeast-2:123456789012:execution:ordersync:x";
        assert_eq!(execution_arn(SM, arn), arn);
        assert_eq!(name_of(arn), "x");
        assert_eq!(name_of("x"), "x");
    }

    #[test]
    fn state_machine_arn_from_the_flag_is_checked() {
        assert_eq!(state_machine_arn(Some(SM)).unwrap(), SM);
        for bad in [
            "ordersync",
            "arn:aws:lambda:ap-northeast-2:123456789012:function:ordersync",
            "arn:aws:states:ap-northeast-2:123456789012:execution:ordersync:x",
            "arn:aws:states:ap-northeast-2:123456789012:stateMachine:",
        ] {
            assert!(
                matches!(state_machine_arn(Some(bad)), Err(AwsError::Usage(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn prepare_checks_the_input_and_names_it() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T00:00:00Z")
            .unwrap()
            .to_utc();
        let json = r#"{
            "account": { "secret_id": "ordersync/naver/my-store" },
            "range": { "from": "2026-11-01", "to": "2026-11-03" },
            "sheet": { "spreadsheet_id": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd", "tab": "스마트스토어 주문" }
        }"#
        .as_bytes();
        let prepared = prepare(json, None, now).unwrap();
        assert_eq!(prepared.name, "os-20261101-20261103-d1bed2285c6f6b68");
        // Compact and in field order, whatever the file looked like.
        assert!(prepared.input.starts_with(r#"{"account":{"secret_id":"#));
        assert!(!prepared.input.contains('\n'));
        assert_eq!(prepare(json, Some("mine"), now).unwrap().name, "mine");
        assert!(matches!(
            prepare(json, Some("has space"), now),
            Err(AwsError::Usage(_))
        ));
        let bad = br#"{"account":{"secret_id":"x"},"range":{"from":"2026-11-05","to":"2026-11-01"},"sheet":{"spreadsheet_id":"id","tab":""}}"#;
        assert_eq!(
            prepare(bad, None, now),
            Err(AwsError::InvalidInput(
                "range.to is before range.from; sheet.tab is empty".into()
            ))
        );
    }

    #[test]
    fn not_redrivable_says_what_to_do_instead() {
        let e = |status: &str, reason: &str| {
            AwsError::NotRedrivable {
                name: "n".into(),
                status: Some(status.into()),
                reason: reason.into(),
            }
            .to_string()
        };
        assert!(e("SUCCEEDED", "x").contains("it succeeded; to import again, start a new"));
        assert!(e("RUNNING", "x").contains("still running"));
        assert!(e("FAILED", "Execution redrivable period exceeded").contains("14 days"));
        assert_eq!(AwsError::Usage("u".into()).exit_code(), ExitCode::from(2));
    }
}
