//! `ordersync run`: one execution of `statemachine.asl.json` on this machine.
//!
//! The definition is the deployed file itself (embedded at build time by `ordersync-local`, or
//! `--definition`), with its placeholders pointing at the in-process functions. Payloads go to a local directory by
//! default or to S3 (`--store s3://bucket/prefix`); the run's journal lives next to them, so
//! `--execution-name` of an earlier run resumes it at the failed state, like a console redrive.

use std::process::ExitCode;

use ordersync_core::events::RunSummary;
use ordersync_runner::Outcome;

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
