//! The one error type of the `ordersync` command, which knows its exit code: 0 done, 1 the
//! input, the run, the execution or an AWS call failed, 2 usage or configuration (a missing
//! state machine, an unreadable file, a definition the runner cannot follow).

use std::fmt;
use std::process::ExitCode;

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// Wrong use of the command or missing configuration (exit 2).
    Usage(String),
    /// A local run or the demo could not go on (exit 1); the message says why.
    Failed(String),
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

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            _ => ExitCode::from(1),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(message) | CliError::Failed(message) => f.write_str(message),
            CliError::InvalidInput(problems) => write!(f, "invalid input: {problems}"),
            CliError::NotFound { name } => {
                write!(f, "no execution named {name} on this state machine")
            }
            CliError::NotRedrivable {
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
            CliError::Api { op, code, message } => match code {
                Some(code) => write!(f, "{op}: {code}: {message}"),
                None => write!(f, "{op}: {message}"),
            },
        }
    }
}

impl std::error::Error for CliError {}

/// Prints a failed command's error (`ordersync: …`) and gives its exit code.
pub fn exit(result: Result<ExitCode, CliError>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("ordersync: {e}");
        e.exit_code()
    })
}
