//! What a person (or, with `--json`, a program) sees from `start`, `status` and `redrive`:
//! report text, JSON, and the progress line while waiting.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::calls::{Execution, RedriveReport, StartReport};

pub(super) fn when(at: DateTime<Utc>) -> String {
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

pub(super) fn print_json<T: Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("reports serialise")
    );
}

/// Shows the status while waiting: a spinner on a terminal; off a terminal, a line when the
/// status changes and every 30 s.
pub(super) struct WaitProgress {
    bar: Option<indicatif::ProgressBar>,
    last: Option<(String, std::time::Instant)>,
}

impl WaitProgress {
    pub(super) fn new() -> WaitProgress {
        let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        WaitProgress { bar, last: None }
    }

    pub(super) fn update(&mut self, execution: &Execution) {
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

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
