//! Fuzzes what the Lambdas do with an event before any I/O: parse it, then the pure checks and
//! planning that follow. Arbitrary bytes are read as
//! - the execution input (`RunRequest::parse`, `validate`, then `plan_range` for a range, or a
//!   first sync's span (`cursor::sync_span` from `since`) split into windows): when planning
//!   succeeds the windows must tile the span, each a valid window of at most 24 h (a sync's
//!   cursor read and recheck write are store I/O, not fuzzed here);
//! - the transform event (`ordersync_transform::parse_event`), then what its handler checks
//!   first: execution name, window, columns, the rows object key;
//! - the import, plan and insert events, through `ordersync_core::events::parse_event_value`,
//!   which is all `ordersync_import::parse_event`/`parse_call` and `ordersync_insert::parse_event`
//!   do (calling them directly would build the NAVER and Google clients into this crate), then
//!   the plan and the run summary insert returns.
//!
//! Checks: no panic; every error is `Ordersync.InvalidInput`.

#![no_main]

use chrono::{DateTime, FixedOffset};
use libfuzzer_sys::fuzz_target;
use ordersync_core::cursor::sync_span;
use ordersync_core::errors::{ErrorName, StepError};
use ordersync_core::events::parse_event_value;
use ordersync_core::events::{ImportEvent, InsertEvent, InsertResult, PlanEvent, RunSummary};
use ordersync_core::keys::{Stage, check_execution, object_key};
use ordersync_core::plan::{PlanConfig, plan_range};
use ordersync_core::request::{RunRequest, Selection};
use ordersync_core::window::{MAX_WINDOW, Window, split};

fuzz_target!(|data: &[u8]| {
    let now = DateTime::parse_from_rfc3339("2026-11-25T12:00:00+09:00").unwrap();
    let config = PlanConfig::default();

    if let Ok(request) = RunRequest::parse(data) {
        plan_pure(&request, &config, now);
    }

    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };

    match ordersync_transform::parse_event(value.clone()) {
        Ok(event) => {
            let _ = check_execution(&event.execution);
            if event.window.check().is_ok() {
                let _ = object_key(&event.execution, Stage::Rows, &event.window);
            }
            if let Some(choice) = &event.columns {
                let _ = choice.resolve();
            }
        }
        Err(e) => invalid_input(&e),
    }

    match parse_event_value::<ImportEvent>(value.clone()) {
        Ok(event) => {
            if event.window.check().is_ok() {
                let _ = object_key(&event.execution, Stage::Orders, &event.window);
            }
        }
        Err(e) => invalid_input(&StepError::from(e)),
    }

    match parse_event_value::<PlanEvent>(value.clone()) {
        Ok(event) => {
            let _ = check_execution(&event.execution);
            match parse_event_value::<RunRequest>(event.request) {
                Ok(request) => plan_pure(&request, &config, now),
                Err(e) => invalid_input(&StepError::from(e)),
            }
        }
        Err(e) => invalid_input(&StepError::from(e)),
    }

    match parse_event_value::<InsertEvent>(value) {
        Ok(event) => {
            let _ = check_execution(&event.execution);
            for outcome in &event.windows {
                let _ = outcome.window.check();
            }
            let summary = RunSummary::new(&event.windows, &InsertResult::default());
            assert_eq!(summary.windows, event.windows.len() as u64);
        }
        Err(e) => invalid_input(&StepError::from(e)),
    }
});

/// Validates and plans `request` as the Plan step does, without the store: a range's windows,
/// or a first sync's from `since`. Windows must tile the span; errors must be InvalidInput.
fn plan_pure(request: &RunRequest, config: &PlanConfig, now: DateTime<FixedOffset>) {
    let run = match request.validate(&config.limits, now) {
        Ok(run) => run,
        Err(e) => return invalid_input(&StepError::from(e)),
    };
    match run.selection {
        Selection::Range { from, to, .. } => match plan_range(request, &run, config) {
            Ok(planned) => check_tiling(&planned.windows, from, to),
            Err(e) => invalid_input(&e),
        },
        Selection::Sync { since } => match sync_span(None, since, now, config.limits.max_range) {
            Ok((from, to)) => check_tiling(&split(from, to, MAX_WINDOW), from, to),
            Err(e) => invalid_input(&StepError::from(e)),
        },
    }
}

fn invalid_input(e: &StepError) {
    assert_eq!(e.name, ErrorName::InvalidInput, "{e}");
}

fn check_tiling(windows: &[Window], from: DateTime<FixedOffset>, to: DateTime<FixedOffset>) {
    assert!(!windows.is_empty());
    assert_eq!(windows[0].from, from);
    assert_eq!(windows[windows.len() - 1].to, to);
    for w in windows {
        w.check().unwrap();
        assert!(w.to.signed_duration_since(w.from) <= MAX_WINDOW);
    }
    for pair in windows.windows(2) {
        assert_eq!(pair[0].to, pair[1].from);
    }
}
