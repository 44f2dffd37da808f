//! The Plan step: execution input in, validated request and its ≤ 24 h windows out.
//!
//! Pure (no I/O, no API call): the import function runs it as the state machine's first state,
//! the local runner runs the same code through that function's handler, and `ordersync plan`
//! prints it. It does not fetch anything or touch the store; a bad input fails here, before any
//! side effect, with `Ordersync.InvalidInput` naming every bad field.

use chrono::{DateTime, FixedOffset};

use crate::config::{ConfigError, Env};
use crate::errors::StepError;
use crate::events::parse_event_value;
use crate::events::{PlanEvent, PlanResult};
use crate::keys::check_execution;
use crate::request::{InvalidInput, Limits, RunRequest};
use crate::window::{MAX_WINDOW, split};

/// Default for `ORDERSYNC_MAP_CONCURRENCY`: NAVER's rate limit is per application, so two
/// windows in flight already keep the limiter busy while the other waits on a detail call.
pub const DEFAULT_MAP_CONCURRENCY: u32 = 2;

/// The plan's configuration, read once at cold start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanConfig {
    pub limits: Limits,
    /// Windows imported at once (the Map's `MaxConcurrencyPath`).
    pub max_concurrency: u32,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            limits: Limits::default(),
            max_concurrency: DEFAULT_MAP_CONCURRENCY,
        }
    }
}

impl PlanConfig {
    /// `ORDERSYNC_MAX_RANGE_DAYS` and `ORDERSYNC_MAP_CONCURRENCY` (1–40, Step Functions' inline
    /// Map maximum).
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let limits = Limits::from_env(env)?;
        let max_concurrency = match env.var("ORDERSYNC_MAP_CONCURRENCY") {
            None => DEFAULT_MAP_CONCURRENCY,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if (1..=40).contains(&n) => n,
                _ => {
                    return Err(ConfigError::new(
                        "ORDERSYNC_MAP_CONCURRENCY",
                        "must be a whole number between 1 and 40",
                    ));
                }
            },
        };
        Ok(PlanConfig {
            limits,
            max_concurrency,
        })
    }
}

/// Validates the request and splits its range; `now` bounds the range's start.
pub fn plan(
    event: &PlanEvent,
    config: &PlanConfig,
    now: DateTime<FixedOffset>,
) -> Result<PlanResult, StepError> {
    check_execution(&event.execution)?;
    let request: RunRequest = parse_event_value(event.request.clone())?;
    plan_request(&request, config, now)
}

/// [`plan`] for a request that is already parsed.
pub fn plan_request(
    request: &RunRequest,
    config: &PlanConfig,
    now: DateTime<FixedOffset>,
) -> Result<PlanResult, StepError> {
    let run = request.validate(&config.limits, now)?;
    let windows = split(run.from, run.to, MAX_WINDOW);
    if windows.is_empty() {
        // validate() refuses empty ranges; an empty split would be a bug in split().
        return Err(InvalidInput::new("range holds no window").into());
    }
    Ok(PlanResult {
        account: run.account,
        sheet: run.sheet,
        columns: request.columns.clone().unwrap_or_default(),
        windows,
        max_concurrency: config.max_concurrency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ErrorName;
    use serde_json::json;

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-25T12:00:00+09:00").unwrap()
    }

    fn event(request: serde_json::Value) -> PlanEvent {
        PlanEvent {
            execution: "run-1".into(),
            request,
        }
    }

    fn request() -> serde_json::Value {
        json!({
            "account": {"secret_id": "ordersync/naver/shop-1"},
            "range": {"from": "2026-11-01", "to": "2026-11-03"},
            "sheet": {"spreadsheet_id": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg", "tab": "Orders"}
        })
    }

    #[test]
    fn three_kst_days_make_three_windows_and_explicit_columns() {
        let planned = plan(&event(request()), &PlanConfig::default(), now()).unwrap();
        let ids: Vec<_> = planned.windows.iter().map(|w| w.id()).collect();
        assert_eq!(ids.len(), 3, "{ids:?}");
        assert_eq!(
            planned.windows[0].from.to_rfc3339(),
            "2026-11-01T00:00:00+09:00"
        );
        assert_eq!(
            planned.windows[2].to.to_rfc3339(),
            "2026-11-04T00:00:00+09:00"
        );
        assert_eq!(planned.columns, Default::default());
        assert_eq!(planned.max_concurrency, DEFAULT_MAP_CONCURRENCY);
        // What the ASL passes on must serialise with every field present.
        let v = serde_json::to_value(&planned).unwrap();
        for field in ["account", "sheet", "columns", "windows", "max_concurrency"] {
            assert!(v.get(field).is_some(), "{field} missing in {v}");
        }
    }

    #[test]
    fn bad_requests_are_invalid_input_naming_the_field() {
        let mut bad = request();
        bad["range"]["from"] = json!("yesterday");
        let e = plan(&event(bad), &PlanConfig::default(), now()).unwrap_err();
        assert_eq!(e.name, ErrorName::InvalidInput);
        assert!(e.message.contains("range.from"), "{}", e.message);

        let e = plan(&event(json!([1, 2])), &PlanConfig::default(), now()).unwrap_err();
        assert_eq!(e.name, ErrorName::InvalidInput);

        let mut bad_exec = event(request());
        bad_exec.execution = "a/b".into();
        let e = plan(&bad_exec, &PlanConfig::default(), now()).unwrap_err();
        assert_eq!(e.name, ErrorName::InvalidInput);
    }

    #[test]
    fn a_range_over_the_limit_is_refused() {
        let mut long = request();
        long["range"]["to"] = json!("2026-11-20");
        let config = PlanConfig {
            limits: Limits {
                max_range: chrono::TimeDelta::days(7),
            },
            ..PlanConfig::default()
        };
        let e = plan(&event(long), &config, now()).unwrap_err();
        assert_eq!(e.name, ErrorName::InvalidInput);
        assert!(
            e.message.contains("ORDERSYNC_MAX_RANGE_DAYS"),
            "{}",
            e.message
        );
    }
}
