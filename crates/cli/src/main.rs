//! `ordersync`: the operator's command line. A thin layer over the `ordersync_cli` library:
//! parse arguments, build what the command needs once, call the library, map the outcome to an
//! exit code (0 done, 1 the run or the input failed, 2 usage or configuration).
//!
//! - `run`: execute `statemachine.asl.json` locally (local directory or S3 store);
//! - `demo`: the same against the built-in sandbox NAVER and Google servers;
//! - `plan`, `schema`: check an execution input without side effects; print its JSON Schema;
//! - `start`, `status`, `redrive`: the deployed state machine, through the Step Functions API.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ordersync_core::request::{Limits, RunRequest};
use ordersync_core::window::{MAX_WINDOW, split};
use serde::Serialize;

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
        #[arg(long, default_value = ordersync_cli::run::DEFAULT_STORE)]
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
    Start(ordersync_cli::aws::StartArgs),
    /// Show an execution of the deployed state machine: status, dates, summary or error.
    Status(ordersync_cli::aws::StatusArgs),
    /// Continue a failed execution from its failed step (same name, same input).
    Redrive(ordersync_cli::aws::RedriveArgs),
}

#[derive(Serialize)]
struct Plan<'a> {
    secret_id: &'a str,
    spreadsheet_id: &'a str,
    tab: &'a str,
    windows: Vec<String>,
    columns: Vec<&'a str>,
}

fn read_input(path: &PathBuf) -> std::io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(path)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

async fn run_command(
    input: PathBuf,
    store: String,
    execution_name: Option<String>,
    json: bool,
    definition: Option<PathBuf>,
    retry_time_scale: f64,
) -> ExitCode {
    let bytes = match read_input(&input) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("ordersync: cannot read {}: {e}", input.display());
            return ExitCode::from(2);
        }
    };
    // Any JSON goes to the state machine as is: the Plan step names what is wrong with it.
    let request: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("ordersync: {} is not JSON: {e}", input.display());
            return ExitCode::from(1);
        }
    };
    let definition = match definition {
        None => ordersync_local::definition::DEFINITION.to_owned(),
        Some(path) => match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("ordersync: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    // A definition the runner cannot follow is refused before anything is built or written.
    let machine = match ordersync_local::definition::machine(&definition) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("ordersync: cannot run this definition: {e}");
            return ExitCode::from(2);
        }
    };
    let env = ordersync_core::config::ProcessEnv;
    let store_config = ordersync_aws::store::StoreConfig::at(&env, &store);
    let store = match ordersync_aws::AnyStore::open(&store_config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ordersync: store {store}: {e}");
            return ExitCode::from(2);
        }
    };
    let config = ordersync_local::functions::LocalConfig::from_env(&env);
    let parts = match async { ordersync_local::functions::LocalParts::open(config?).await }.await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ordersync: {e}");
            return ExitCode::from(2);
        }
    };
    let name = execution_name.unwrap_or_else(|| ordersync_cli::run::fresh_name("local"));
    eprintln!("execution {name} (rerun it with --execution-name {name})");
    let progress = ordersync_cli::progress::Progress::new();
    let outcome = ordersync_local::definition::execute(
        &machine,
        &store,
        &parts.functions(&store),
        &progress,
        ordersync_runner::Options { retry_time_scale },
        &name,
        request,
    )
    .await;
    progress.finish();
    match outcome {
        Ok(outcome) => ordersync_cli::run::report(&name, &outcome, json),
        Err(e) => {
            eprintln!("ordersync: {e}");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    ordersync_core::tls::install_crypto_provider();
    match Cli::parse().command {
        Command::Run {
            input,
            store,
            execution_name,
            json,
            definition,
            retry_time_scale,
        } => runtime().block_on(run_command(
            input,
            store,
            execution_name,
            json,
            definition,
            retry_time_scale,
        )),
        Command::Demo { dir, orders } => {
            let options = ordersync_cli::demo::DemoOptions { dir, orders };
            match runtime().block_on(ordersync_cli::demo::demo(options)) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("ordersync demo: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Start(args) => runtime().block_on(ordersync_cli::aws::start_command(args)),
        Command::Status(args) => runtime().block_on(ordersync_cli::aws::status_command(args)),
        Command::Redrive(args) => runtime().block_on(ordersync_cli::aws::redrive_command(args)),
        Command::Schema => {
            print!("{}", ordersync_core::request::json_schema());
            ExitCode::SUCCESS
        }
        Command::Plan { input } => {
            let bytes = match read_input(&input) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("ordersync: cannot read {}: {e}", input.display());
                    return ExitCode::from(2);
                }
            };
            let limits = match Limits::from_env(&ordersync_core::config::ProcessEnv) {
                Ok(limits) => limits,
                Err(e) => {
                    eprintln!("ordersync: configuration: {e}");
                    return ExitCode::from(1);
                }
            };
            let checked = RunRequest::parse(&bytes)
                .and_then(|request| request.validate(&limits, chrono::Utc::now().fixed_offset()));
            let run = match checked {
                Ok(run) => run,
                Err(e) => {
                    eprintln!("ordersync: invalid input: {e}");
                    return ExitCode::from(1);
                }
            };
            let plan = Plan {
                secret_id: &run.account.secret_id,
                spreadsheet_id: &run.sheet.spreadsheet_id,
                tab: &run.sheet.tab,
                windows: split(run.from, run.to, MAX_WINDOW)
                    .iter()
                    .map(|w| w.id())
                    .collect(),
                columns: run.columns.iter().map(|c| c.header.as_str()).collect(),
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&plan).expect("plan serialises")
            );
            ExitCode::SUCCESS
        }
    }
}
