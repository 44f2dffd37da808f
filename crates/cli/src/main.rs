//! `ordersync`: the operator's command line.
//!
//! Today: `plan` (validate an execution input and show the windows and columns it stands for,
//! without any side effect) and `schema` (print the RunRequest JSON Schema). The local
//! state-machine runner (`ordersync run`) and start/status/redrive tooling come with the
//! orchestration work; see the README.

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
    /// Validate an execution input and print the plan (windows, columns) as JSON.
    Plan {
        /// The execution input (RunRequest JSON); `-` reads standard input.
        #[arg(long)]
        input: PathBuf,
    },
    /// Print the JSON Schema of the execution input.
    Schema,
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

fn main() -> ExitCode {
    match Cli::parse().command {
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
            let checked = Limits::from_env().and_then(|limits| {
                RunRequest::parse(&bytes)?.validate(&limits, chrono::Utc::now().fixed_offset())
            });
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
