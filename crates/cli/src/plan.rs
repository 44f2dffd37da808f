//! `ordersync plan`: check an execution input exactly as the Plan step will, without any side
//! effect, and print what the run would do (windows, columns) as JSON.

use std::path::Path;
use std::process::ExitCode;

use ordersync_core::config::ProcessEnv;
use ordersync_core::request::{Limits, RangeBy, RunRequest, Selection, ValidRun};
use ordersync_core::window::{MAX_WINDOW, split};
use serde::Serialize;

use crate::error::CliError;
use crate::input::read_input;

#[derive(Serialize)]
struct Plan<'a> {
    secret_id: &'a str,
    spreadsheet_id: &'a str,
    tab: &'a str,
    /// `range` or `sync`.
    kind: &'static str,
    /// A range: which date it is about (`paid`, `ordered`, `changed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<RangeBy>,
    /// A range's windows; a sync's depend on its cursor, read when it runs.
    windows: Vec<String>,
    /// A sync: where the first sync of the tab starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<String>,
    columns: Vec<&'a str>,
}

/// Reads, checks and prints the plan; an invalid input names every problem (exit 1).
pub fn plan_command(input: &Path) -> Result<ExitCode, CliError> {
    let bytes = read_input(input)?;
    let limits = Limits::from_env(&ProcessEnv)
        .map_err(|e| CliError::Failed(format!("configuration: {e}")))?;
    let run = RunRequest::parse(&bytes)
        .and_then(|request| request.validate(&limits, chrono::Utc::now().fixed_offset()))
        .map_err(|e| CliError::InvalidInput(e.to_string()))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&plan_of(&run)).expect("plan serialises")
    );
    Ok(ExitCode::SUCCESS)
}

fn plan_of(run: &ValidRun) -> Plan<'_> {
    Plan {
        secret_id: &run.account.secret_id,
        spreadsheet_id: &run.sheet.spreadsheet_id,
        tab: &run.sheet.tab,
        by: match run.selection {
            Selection::Range { by, .. } => Some(by),
            Selection::Sync { .. } => None,
        },
        kind: match run.selection {
            Selection::Range { .. } => "range",
            Selection::Sync { .. } => "sync",
        },
        windows: match run.selection {
            Selection::Range { from, to, .. } => {
                split(from, to, MAX_WINDOW).iter().map(|w| w.id()).collect()
            }
            Selection::Sync { .. } => Vec::new(),
        },
        since: match run.selection {
            Selection::Sync { since } => since.map(|t| t.to_rfc3339()),
            Selection::Range { .. } => None,
        },
        columns: run.columns.iter().map(|c| c.header.as_str()).collect(),
    }
}
