//! The `start`, `status` and `redrive` command lines (clap), and their shared defaults.

use std::path::PathBuf;

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
