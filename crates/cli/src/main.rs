//! `ordersync`: the operator's command line. A thin layer over the `ordersync_cli` library:
//! parse arguments, call the command, print its `CliError` and exit with that error's code
//! (0 done, 1 the run or the input failed, 2 usage or configuration).
//!
//! - `run`: execute `statemachine.asl.json` locally (local directory or S3 store);
//! - `demo`: the same against the built-in sandbox NAVER and Google servers;
//! - `plan`, `schema`: check an execution input without side effects; print its JSON Schema;
//! - `start`, `status`, `redrive`: the deployed state machine, through the Step Functions API.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ordersync_cli::error::exit;
use ordersync_cli::{aws, demo, plan, run};

#[derive(Parser)]
#[command(
    name = "ordersync",
    version,
    about = "NAVER Smart Store orders → Google Sheets, on AWS Step Functions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline locally: statemachine.asl.json, interpreted on this machine.
    Run {
        /// The execution input (RunRequest JSON); `-` reads standard input.
        #[arg(long)]
        input: PathBuf,
        /// Payload store: a directory, or `s3://bucket/prefix`.
        #[arg(long, default_value = run::DEFAULT_STORE)]
        store: String,
        /// Rerun (resume) an earlier execution by its name; default: a new name.
        #[arg(long)]
        execution_name: Option<String>,
        /// Print the run summary as JSON.
        #[arg(long)]
        json: bool,
        /// Another state machine definition than the one built in.
        #[arg(long)]
        definition: Option<PathBuf>,
        /// Scales Retry waits (1 = Step Functions timing).
        #[arg(long, default_value_t = 1.0, hide = true)]
        retry_time_scale: f64,
    },
    /// Run the whole pipeline against sandbox NAVER and Google servers, twice, and show the sheet.
    Demo {
        /// Where the demo's store and CSV go.
        #[arg(long, default_value = "ordersync-demo")]
        dir: PathBuf,
        /// Orders in the sandbox shop (each has 1–3 product orders).
        #[arg(long, default_value_t = 60)]
        orders: usize,
    },
    /// Validate an execution input and print the plan (windows, columns) as JSON.
    Plan {
        /// The execution input (RunRequest JSON); `-` reads standard input.
        #[arg(long)]
        input: PathBuf,
    },
    /// Print the JSON Schema of the execution input.
    Schema,
    /// Start the deployed state machine on an execution input; starting the same request
    /// again finds the first execution instead of starting another.
    Start(aws::StartArgs),
    /// Show an execution of the deployed state machine: status, dates, summary or error.
    Status(aws::StatusArgs),
    /// Continue a failed execution from its failed step (same name, same input).
    Redrive(aws::RedriveArgs),
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

fn main() -> ExitCode {
    ordersync_core::tls::install_crypto_provider();
    let result = match Cli::parse().command {
        Command::Run {
            input,
            store,
            execution_name,
            json,
            definition,
            retry_time_scale,
        } => runtime().block_on(run::run_command(run::RunArgs {
            input,
            store,
            execution_name,
            json,
            definition,
            retry_time_scale,
        })),
        Command::Demo { dir, orders } => {
            runtime().block_on(demo::demo(demo::DemoOptions { dir, orders }))
        }
        Command::Start(args) => runtime().block_on(aws::start_command(args)),
        Command::Status(args) => runtime().block_on(aws::status_command(args)),
        Command::Redrive(args) => runtime().block_on(aws::redrive_command(args)),
        Command::Schema => {
            print!("{}", ordersync_core::request::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan { input } => plan::plan_command(&input),
    };
    exit(result)
}
