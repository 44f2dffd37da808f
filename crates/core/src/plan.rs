//! The Plan step: execution input in, validated request and its ≤ 24 h windows out.
//!
//! No NAVER or Sheets call: the import function runs it as the state machine's first state, the
//! local runner runs the same code through that function's handler, and `ordersync plan` prints
//! it. A bad input fails here, before any side effect, with `Ordersync.InvalidInput` naming
//! every bad field. A range request is planned from the request alone ([`plan_range`]); a sync
//! reads the tab's cursor and writes the batch of open orders to re-read ([`plan_sync`]): the
//! only store access, and a rerun of the Plan simply writes that object again.

use chrono::{DateTime, FixedOffset};

use crate::config::{ConfigError, Env};
use crate::cursor::{self, DEFAULT_RECHECK_MAX, RecheckMeta, RecheckPlan, RecheckSchema, SyncPlan};
use crate::errors::StepError;
use crate::events::parse_event_value;
use crate::events::{PlanEvent, PlanResult};
use crate::keys::{Stage, check_execution, object_key};
use crate::payload::encode;
use crate::request::{InvalidInput, Limits, RangeBy, RunRequest, Selection, ValidRun};
use crate::store::{Store, write_object};
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
    /// Open orders one sync re-reads by id, least recently read first.
    pub recheck_max: usize,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            limits: Limits::default(),
            max_concurrency: DEFAULT_MAP_CONCURRENCY,
            recheck_max: DEFAULT_RECHECK_MAX,
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
        let recheck_max = match env.var("ORDERSYNC_RECHECK_MAX") {
            None => DEFAULT_RECHECK_MAX,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n <= 300_000 => n,
                _ => {
                    return Err(ConfigError::new(
                        "ORDERSYNC_RECHECK_MAX",
                        "must be a whole number between 0 and 300000",
                    ));
                }
            },
        };
        Ok(PlanConfig {
            limits,
            max_concurrency,
            recheck_max,
        })
    }
}

/// Validates the request and plans it: a range is split into windows; a sync reads the tab's
/// cursor (see [`plan_sync`]). `now` bounds the range's start and ends a sync.
pub async fn plan(
    store: &impl Store,
    event: &PlanEvent,
    config: &PlanConfig,
    now: DateTime<FixedOffset>,
) -> Result<PlanResult, StepError> {
    check_execution(&event.execution)?;
    let request: RunRequest = parse_event_value(event.request.clone())?;
    let run = request.validate(&config.limits, now)?;
    match run.selection {
        Selection::Range { .. } => plan_range(&request, &run, config),
        Selection::Sync { since } => {
            plan_sync(store, &event.execution, &request, &run, since, config, now).await
        }
    }
}

/// A range request: its windows, nothing read.
pub fn plan_range(
    request: &RunRequest,
    run: &ValidRun,
    config: &PlanConfig,
) -> Result<PlanResult, StepError> {
    let Selection::Range { from, to, by } = run.selection else {
        return Err(InvalidInput::new("not a range request").into());
    };
    let windows = split(from, to, MAX_WINDOW);
    if windows.is_empty() {
        // validate() refuses empty ranges; an empty split would be a bug in split().
        return Err(InvalidInput::new("range holds no window").into());
    }
    Ok(result(request, run, config, windows, by, None))
}

/// A sync: from the tab's cursor (less the overlap) or `since`, up to now less the lag, in
/// windows; and, when the cursor lists open orders, the least recently read of them written to
/// `runs/{execution}/recheck/{last window}` for the last window's import to re-read.
pub async fn plan_sync(
    store: &impl Store,
    execution: &str,
    request: &RunRequest,
    run: &ValidRun,
    since: Option<DateTime<FixedOffset>>,
    config: &PlanConfig,
    now: DateTime<FixedOffset>,
) -> Result<PlanResult, StepError> {
    let key = cursor::cursor_key(&run.account, &run.sheet)?;
    let found = cursor::read_cursor(store, &key).await?;
    let state = found.as_ref().map(|(state, _)| state);
    let (from, to) = cursor::sync_span(state, since, now, config.limits.max_range)?;
    let windows = split(from, to, MAX_WINDOW);
    let Some(last) = windows.last().copied() else {
        return Err(InvalidInput::new("the sync span holds no window").into());
    };
    let generation = state.map_or(0, |s| s.generation);
    let ids = state
        .map(|s| cursor::recheck_batch(s, config.recheck_max))
        .unwrap_or_default();
    let recheck = if ids.is_empty() {
        None
    } else {
        let object = object_key(execution, Stage::Recheck, &last)?;
        let encoded = encode::<RecheckSchema>(&RecheckMeta { generation }, ids.iter())?;
        let reference = write_object::<RecheckSchema>(store, &object, encoded).await?;
        Some(RecheckPlan {
            window: last,
            ids: reference,
            count: ids.len() as u64,
        })
    };
    let sync = SyncPlan {
        cursor: key,
        generation,
        to: last.to,
        recheck,
    };
    Ok(result(
        request,
        run,
        config,
        windows,
        RangeBy::Changed,
        Some(sync),
    ))
}

fn result(
    request: &RunRequest,
    run: &ValidRun,
    config: &PlanConfig,
    windows: Vec<crate::window::Window>,
    by: RangeBy,
    sync: Option<SyncPlan>,
) -> PlanResult {
    PlanResult {
        account: run.account.clone(),
        sheet: run.sheet.clone(),
        columns: request.columns.clone().unwrap_or_default(),
        // A Map of fewer windows runs fewer imports at once: each may use more of the rate.
        max_concurrency: config
            .max_concurrency
            .min(u32::try_from(windows.len()).unwrap_or(u32::MAX))
            .max(1),
        windows,
        by,
        sync,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ErrorName;
    use crate::store::DirStore;
    use serde_json::json;

    fn store() -> (tempfile::TempDir, DirStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path()).unwrap();
        (dir, store)
    }

    fn plan_now(event: &PlanEvent, config: &PlanConfig) -> Result<PlanResult, StepError> {
        let (_dir, store) = store();
        futures_lite(plan(&store, event, config, now()))
    }

    fn futures_lite<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

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
        let planned = plan_now(&event(request()), &PlanConfig::default()).unwrap();
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
        // One window: one import at a time, which may then use the whole rate.
        let mut one_day = request();
        one_day["range"]["to"] = json!("2026-11-01");
        let one = plan_now(&event(one_day), &PlanConfig::default()).unwrap();
        assert_eq!((one.windows.len(), one.max_concurrency), (1, 1));
        // What the ASL passes on must serialise with every field present.
        let v = serde_json::to_value(&planned).unwrap();
        assert_eq!(
            v["sync"],
            serde_json::Value::Null,
            "a range request has no sync"
        );
        for field in [
            "account",
            "sheet",
            "columns",
            "windows",
            "max_concurrency",
            "sync",
        ] {
            assert!(v.get(field).is_some(), "{field} missing in {v}");
        }
    }

    #[test]
    fn bad_requests_are_invalid_input_naming_the_field() {
        let mut bad = request();
        bad["range"]["from"] = json!("yesterday");
        let e = plan_now(&event(bad), &PlanConfig::default()).unwrap_err();
        assert_eq!(e.name, ErrorName::InvalidInput);
        assert!(e.message.contains("range.from"), "{}", e.message);

        let e = plan_now(&event(json!([1, 2])), &PlanConfig::default()).unwrap_err();
        assert_eq!(e.name, ErrorName::InvalidInput);

        let mut bad_exec = event(request());
        bad_exec.execution = "a/b".into();
        let e = plan_now(&bad_exec, &PlanConfig::default()).unwrap_err();
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
        let e = plan_now(&event(long), &config).unwrap_err();
        assert_eq!(e.name, ErrorName::InvalidInput);
        assert!(
            e.message.contains("ORDERSYNC_MAX_RANGE_DAYS"),
            "{}",
            e.message
        );
    }

    #[tokio::test]
    async fn a_sync_starts_at_since_then_at_the_cursor_and_rechecks_open_orders() {
        use crate::cursor::{self, CursorState, OpenOrder};
        let (_dir, store) = store();
        let mut sync = request();
        sync.as_object_mut().unwrap().remove("range");
        let e = plan(&store, &event(sync.clone()), &PlanConfig::default(), now())
            .await
            .unwrap_err();
        assert_eq!(e.name, ErrorName::InvalidInput);
        assert!(e.message.contains("needs `since`"), "{}", e.message);

        sync["since"] = json!("2026-11-23");
        let first = plan(&store, &event(sync.clone()), &PlanConfig::default(), now())
            .await
            .unwrap();
        assert_eq!(first.by, RangeBy::Changed, "a sync walks the change feed");
        let plan0 = first.sync.clone().unwrap();
        assert_eq!(plan0.generation, 0);
        assert!(plan0.recheck.is_none());
        assert_eq!(first.windows.len(), 3, "{:?}", first.windows);
        assert_eq!(
            first.windows[0].from.to_rfc3339(),
            "2026-11-23T00:00:00+09:00"
        );
        assert_eq!(plan0.to.to_rfc3339(), "2026-11-25T11:59:50+09:00");

        // A cursor with open orders: the plan starts there and writes the batch to re-read.
        let state = CursorState {
            version: 1,
            generation: 4,
            position: plan0.to,
            committed_by: "run-0".into(),
            committed_at: chrono::Utc::now(),
            open: ["b", "a", "c"]
                .iter()
                .map(|id| OpenOrder {
                    id: (*id).into(),
                    checked: 1,
                    changed: None,
                })
                .collect(),
        };
        assert!(
            cursor::commit(&store, &plan0.cursor, &state, None)
                .await
                .unwrap()
        );
        let config = PlanConfig {
            recheck_max: 2,
            ..PlanConfig::default()
        };
        let later = now() + chrono::TimeDelta::minutes(30);
        let next = plan(&store, &event(sync), &config, later).await.unwrap();
        let plan4 = next.sync.unwrap();
        assert_eq!(plan4.generation, 4);
        assert_eq!(next.windows.len(), 1);
        assert_eq!(next.windows[0].from, state.position - cursor::OVERLAP);
        let recheck = plan4.recheck.unwrap();
        assert_eq!(recheck.window, next.windows[0]);
        assert_eq!(recheck.count, 2);
        let bytes = crate::store::read_object(&store, &recheck.ids)
            .await
            .unwrap();
        let ids: Vec<String> =
            crate::payload::open::<crate::cursor::RecheckSchema>(&bytes, &recheck.ids)
                .unwrap()
                .map(|r| r.unwrap().id)
                .collect();
        assert_eq!(ids, ["a", "b"]);
    }
}
