//! Progress of a local run on a terminal: windows done / total, orders fetched, rows made; retries
//! and failures are printed above the bar as they happen. Off a terminal (scripts, CI) only
//! retries and failures are printed, one line each, to standard error.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ordersync_runner::{Event, Observer};

#[derive(Default)]
struct Totals {
    orders: u64,
    rows: u64,
}

pub struct Progress {
    bar: ProgressBar,
    totals: Mutex<Totals>,
}

impl Progress {
    /// A bar on standard error when it is a terminal; hidden otherwise.
    pub fn new() -> Self {
        let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} windows {pos}/{len} · {msg} · {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress {
            bar,
            totals: Mutex::new(Totals::default()),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn say(&self, line: String) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Observer for Progress {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::MapStarted { items, .. } => self.bar.set_length(items as u64),
            Event::MapItemDone { .. } => self.bar.inc(1),
            Event::TaskSucceeded { task, output, .. } => {
                let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
                let count = |field: &str| output["counts"][field].as_u64().unwrap_or(0);
                if task.ends_with("/Import") {
                    totals.orders += count("fetched");
                } else if task.ends_with("/Transform") {
                    totals.rows += count("rows_out");
                } else if task == "Insert" {
                    self.bar.set_message(format!(
                        "orders {} · rows {} · sheet written",
                        totals.orders, totals.rows
                    ));
                    return;
                }
                self.bar
                    .set_message(format!("orders {} · rows {}", totals.orders, totals.rows));
            }
            Event::TaskRetrying {
                task,
                failure,
                attempt,
                delay,
            } => self.say(format!(
                "{task}: {} — retry {attempt} in {:.1} s",
                failure.error,
                delay.as_secs_f64()
            )),
            Event::TaskFailed { task, failure } => {
                self.say(format!("{task}: failed with {}", failure.error))
            }
        }
    }
}
