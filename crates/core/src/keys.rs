//! Deterministic object keys: `runs/{execution}/{stage}/{window}.jsonl.zst`.
//!
//! The execution name comes from `$$.Execution.Name`, so a redrive (same name) or a local rerun
//! with `--execution-name` overwrites its own objects, and a new execution never touches another
//! one's. Names are checked here because they become path segments.

use crate::errors::{Classify, ErrorName};
use crate::window::Window;

/// The pipeline stages that write objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Orders,
    Rows,
    /// The ids a sync re-reads ([`crate::cursor::RecheckSchema`]).
    Recheck,
}

impl Stage {
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Orders => "orders",
            Stage::Rows => "rows",
            Stage::Recheck => "recheck",
        }
    }
}

/// An execution name that cannot be used as a key segment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "execution name {reason} (use 1-80 letters, digits, '-', '_' or '.', as Step Functions names do)"
)]
pub struct BadExecutionName {
    pub reason: &'static str,
}

impl Classify for BadExecutionName {
    fn error_name(&self) -> ErrorName {
        ErrorName::InvalidInput
    }
}

/// Checks an execution name for use in keys. Step Functions allows more characters than this,
/// but CloudWatch logging already recommends this set, and it keeps keys free of `/` and `..`.
pub fn check_execution(name: &str) -> Result<(), BadExecutionName> {
    if name.is_empty() {
        return Err(BadExecutionName { reason: "is empty" });
    }
    if name.len() > 80 {
        return Err(BadExecutionName {
            reason: "is longer than 80 characters",
        });
    }
    if name.starts_with('.') {
        return Err(BadExecutionName {
            reason: "starts with '.'",
        });
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(BadExecutionName {
            reason: "contains a character outside letters, digits, '-', '_' and '.'",
        });
    }
    Ok(())
}

/// The key of one stage's object for one window.
pub fn object_key(
    execution: &str,
    stage: Stage,
    window: &Window,
) -> Result<String, BadExecutionName> {
    check_execution(execution)?;
    Ok(format!(
        "runs/{execution}/{}/{}.jsonl.zst",
        stage.as_str(),
        window.id()
    ))
}

/// The key of part `n` (from 1) of a window's orders, written when the window's change feed
/// is read in several parts (see the import's `progress` module). Beside the window's orders
/// object, under the same prefix, so the roles that write and read orders cover it.
pub fn orders_part_key(
    execution: &str,
    window: &Window,
    n: usize,
) -> Result<String, BadExecutionName> {
    check_execution(execution)?;
    Ok(format!(
        "runs/{execution}/{}/{}.part-{n:04}.jsonl.zst",
        Stage::Orders.as_str(),
        window.id()
    ))
}

/// The key of a window's import progress (JSON: parts written so far and the feed position to
/// go on from), beside its orders object.
pub fn orders_progress_key(execution: &str, window: &Window) -> Result<String, BadExecutionName> {
    check_execution(execution)?;
    Ok(format!(
        "runs/{execution}/{}/{}.progress.json",
        Stage::Orders.as_str(),
        window.id()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{DateOnly, parse_instant};

    fn window() -> Window {
        Window::new(
            parse_instant("2026-11-01", DateOnly::StartOfDay).unwrap(),
            parse_instant("2026-11-01", DateOnly::EndOfDay).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn keys_are_deterministic_per_execution_stage_and_window() {
        let k = object_key("exec-1", Stage::Rows, &window()).unwrap();
        assert_eq!(
            k,
            "runs/exec-1/rows/20261101T000000-20261102T000000.jsonl.zst"
        );
        assert_eq!(k, object_key("exec-1", Stage::Rows, &window()).unwrap());
        assert_ne!(k, object_key("exec-2", Stage::Rows, &window()).unwrap());
        assert_ne!(k, object_key("exec-1", Stage::Orders, &window()).unwrap());
        assert_eq!(
            orders_part_key("exec-1", &window(), 3).unwrap(),
            "runs/exec-1/orders/20261101T000000-20261102T000000.part-0003.jsonl.zst"
        );
        assert_eq!(
            orders_progress_key("exec-1", &window()).unwrap(),
            "runs/exec-1/orders/20261101T000000-20261102T000000.progress.json"
        );
    }

    #[test]
    fn names_that_would_escape_their_prefix_are_rejected() {
        for bad in ["", "..", "../x", "a/b", "a b", "é", &"x".repeat(81)] {
            assert!(
                object_key(bad, Stage::Orders, &window()).is_err(),
                "{bad:?}"
            );
        }
        assert!(check_execution("3f2a-01_manual.rerun").is_ok());
    }
}
