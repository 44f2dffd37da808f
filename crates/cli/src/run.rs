//! `ordersync run`: one execution of `statemachine.asl.json` on this machine.
//!
//! The definition is the deployed file itself (embedded at build time by `ordersync-local`, or
//! `--definition`), with its placeholders pointing at the in-process functions. Payloads go to a local directory by
//! default or to S3 (`--store s3://bucket/prefix`); the run's journal lives next to them, so
//! `--execution-name` of an earlier run resumes it at the failed state, like a console redrive.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ordersync_aws::AnyStore;
use ordersync_aws::store::StoreConfig;
use ordersync_core::config::ProcessEnv;
use ordersync_core::events::RunSummary;
use ordersync_local::definition::{DEFINITION, execute, machine};
use ordersync_local::functions::{LocalConfig, LocalParts};
use ordersync_runner::{Machine, Options, Outcome};
use serde_json::Value;

use crate::error::CliError;
use crate::input::read_input;
use crate::progress::Progress;

/// `ordersync run`'s options.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// The execution input (`-` = standard input).
    pub input: PathBuf,
    /// A directory or `s3://bucket/prefix`.
    pub store: String,
    /// Resume this execution instead of starting a new one.
    pub execution_name: Option<String>,
    pub json: bool,
    /// Another definition than the built-in one.
    pub definition: Option<PathBuf>,
    /// Scales Retry waits (1 = Step Functions timing).
    pub retry_time_scale: f64,
}

/// `ordersync run`: read the input, load the definition, open the store and the clients, run
/// (or resume) the execution, report. Every step that can fail does so before the next one
/// starts anything.
pub async fn run_command(args: RunArgs) -> Result<ExitCode, CliError> {
    let request = read_request(&args.input)?;
    let machine = load_machine(args.definition.as_deref())?;
    let env = ProcessEnv;
    let store = AnyStore::open(&StoreConfig::at(&env, &args.store))
        .await
        .map_err(|e| CliError::Usage(format!("store {}: {e}", args.store)))?;
    let config = LocalConfig::from_env(&env).map_err(|e| CliError::Usage(e.to_string()))?;
    let parts = LocalParts::open(config)
        .await
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let name = args.execution_name.unwrap_or_else(|| fresh_name("local"));
    eprintln!("execution {name} (rerun it with --execution-name {name})");
    let progress = Progress::new();
    let outcome = execute(
        &machine,
        &store,
        &parts.functions(&store),
        &progress,
        Options {
            retry_time_scale: args.retry_time_scale,
        },
        &name,
        request,
    )
    .await;
    progress.finish();
    let outcome = outcome.map_err(CliError::Usage)?;
    Ok(report(&name, &outcome, args.json))
}

/// The execution input as JSON. Any JSON goes to the state machine as is: the Plan step names
/// what is wrong with it.
fn read_request(input: &Path) -> Result<Value, CliError> {
    let bytes = read_input(input)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| CliError::Failed(format!("{} is not JSON: {e}", input.display())))
}

/// The built-in definition or `path`'s; one the runner cannot follow is refused before anything
/// is built or written.
fn load_machine(path: Option<&Path>) -> Result<Machine, CliError> {
    let definition = match path {
        None => DEFINITION.to_owned(),
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?,
    };
    machine(&definition).map_err(|e| CliError::Usage(format!("cannot run this definition: {e}")))
}

/// Default local store for `ordersync run`.
pub const DEFAULT_STORE: &str = "ordersync-data";

/// A fresh execution name, as the console's "Start execution" would make one.
pub fn fresh_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{:04x}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S"),
        fastrand::u16(..)
    )
}

/// Prints the outcome (summary table, or JSON with `json`) and gives the exit code.
pub fn report(name: &str, outcome: &Outcome, json: bool) -> ExitCode {
    let (output, note) = match outcome {
        Outcome::Succeeded { output, runs } => (
            output,
            if *runs > 1 {
                format!("execution {name} succeeded on run {runs} (resumed)")
            } else {
                format!("execution {name} succeeded")
            },
        ),
        Outcome::AlreadySucceeded { output } => (
            output,
            format!(
                "execution {name} had already succeeded; nothing was run (use a new --execution-name to run again)"
            ),
        ),
        Outcome::Failed { failure, runs } => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"execution": name, "status": "FAILED", "error": failure.error, "cause": failure.cause})
                );
            } else {
                eprintln!("execution {name} failed (run {runs}): {}", failure.error);
                eprintln!("cause: {}", failure.cause);
                eprintln!(
                    "rerun it with --execution-name {name} (resumes at the failed state), or start a new execution"
                );
            }
            return ExitCode::from(1);
        }
    };
    let summary: Result<RunSummary, _> = serde_json::from_value(output.clone());
    // The note goes to stderr either way, so `--json` keeps stdout machine-readable.
    eprintln!("{note}");
    if json {
        println!("{output}");
    } else {
        match summary {
            Ok(s) => print!("{}", crate::summary::render(&s)),
            Err(_) => println!("{output:#}"),
        }
    }
    ExitCode::SUCCESS
}
