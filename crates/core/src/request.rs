//! The execution input: what a seller's backend sends to `StartExecution`.
//!
//! [`RunRequest::parse`] reads it with messages that name the bad field (`range.from: ...`),
//! rejecting unknown fields, and [`RunRequest::validate`] applies the rules that need more than
//! one field or the configured limits. Both run before any side effect. The JSON Schema published
//! at `schema/run-request.schema.json` is generated from these types.
//!
//! Two forms, told apart by `range`:
//! - **sync** (no `range`): "bring this tab up to date" — walk NAVER's change feed from the tab's
//!   cursor (or, the first time, from `since`) up to now, and re-read the open orders by id
//!   (see [`crate::cursor`]);
//! - **range** (`range` given): every product order whose latest change falls in `[from, to)`,
//!   as it is now. It never moves a sync cursor.
//!
//! A request never carries credentials: `account.secret_id` names a Secrets Manager secret.

use chrono::{DateTime, FixedOffset, TimeDelta};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::columns::{Column, ColumnChoice};
use crate::errors::{Classify, ErrorName};
use crate::time::{DateOnly, parse_instant, span};

/// What one execution imports, and where it writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "ordersync RunRequest",
    description = "Execution input of the ordersync state machine."
)]
pub struct RunRequest {
    /// The NAVER Commerce API application to import from.
    pub account: AccountRef,
    /// Absent: a sync (bring the tab up to date from its cursor). Present: import the product
    /// orders whose latest change falls in this range, as they are now; the cursor stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<TimeRange>,
    /// Sync only: where the first sync of a tab starts (a backfill), RFC 3339 or `YYYY-MM-DD`
    /// (KST). Ignored once the tab has a cursor; required until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// The Google Sheet tab the orders are upserted into.
    pub sheet: SheetTarget,
    /// Which columns to write; the `standard` preset when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<ColumnChoice>,
}

/// A reference to an account's credentials, never the credentials themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountRef {
    /// Secrets Manager secret name or ARN holding `client_id` and `client_secret`.
    pub secret_id: String,
}

/// `[from, to)`. Each end is RFC 3339 with any offset, or `YYYY-MM-DD` read in KST; a date-only
/// `to` includes that whole day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    /// Inclusive start, e.g. `2026-11-01` or `2026-11-01T09:00:00+09:00`.
    pub from: String,
    /// Exclusive end (a date-only value includes that day), e.g. `2026-11-07`.
    pub to: String,
    /// Which date the range is about; `paid` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<RangeBy>,
}

/// What a range selects. Every product order comes as it is now, whichever date selected it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RangeBy {
    /// Paid in the range (NAVER's conditional search, `rangeType=PAYED_DATETIME`).
    #[default]
    Paid,
    /// Ordered in the range (`rangeType=ORDERED_DATETIME`).
    Ordered,
    /// Whose latest change falls in the range (the change feed, a snapshot): a cursor-free
    /// "what changed in the last hour"; what a sync walks window by window.
    Changed,
}

/// The target tab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SheetTarget {
    /// The id in the sheet's URL: `docs.google.com/spreadsheets/d/{spreadsheet_id}/edit`.
    pub spreadsheet_id: String,
    /// The tab (sheet) title; created when missing.
    pub tab: String,
}

/// Limits that come from configuration, not from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest range one execution may import.
    pub max_range: TimeDelta,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_range: TimeDelta::days(DEFAULT_MAX_RANGE_DAYS),
        }
    }
}

/// Default for `ORDERSYNC_MAX_RANGE_DAYS`: a quarter. Longer backfills are split into several
/// executions so each stays well inside Step Functions' history limit.
pub const DEFAULT_MAX_RANGE_DAYS: i64 = 92;

impl Limits {
    /// Reads `ORDERSYNC_MAX_RANGE_DAYS` (default 92).
    pub fn from_env(env: &dyn crate::config::Env) -> Result<Self, crate::config::ConfigError> {
        match env.var("ORDERSYNC_MAX_RANGE_DAYS") {
            None => Ok(Limits::default()),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(days) if (1..=3660).contains(&days) => Ok(Limits {
                    max_range: TimeDelta::days(days),
                }),
                _ => Err(crate::config::ConfigError::new(
                    "ORDERSYNC_MAX_RANGE_DAYS",
                    "must be a whole number of days between 1 and 3660",
                )),
            },
        }
    }
}

/// A request that was read and checked: the range parsed, the columns resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRun {
    pub account: AccountRef,
    pub selection: Selection,
    pub sheet: SheetTarget,
    pub columns: Vec<Column>,
}

/// What a valid request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// `[from, to)` by payment, order or latest-change date, as the orders are now.
    Range {
        from: DateTime<FixedOffset>,
        to: DateTime<FixedOffset>,
        by: RangeBy,
    },
    /// Up to now from the tab's cursor; `since` starts a tab that has none.
    Sync {
        since: Option<DateTime<FixedOffset>>,
    },
}

/// Bad input, with every problem found (each names its field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", problems.join("; "))]
pub struct InvalidInput {
    pub problems: Vec<String>,
}

impl InvalidInput {
    pub fn new(problem: impl Into<String>) -> Self {
        InvalidInput {
            problems: vec![problem.into()],
        }
    }
}

impl Classify for InvalidInput {
    /// Always the caller's input: configuration problems are [`crate::config::ConfigError`]s.
    fn error_name(&self) -> ErrorName {
        ErrorName::InvalidInput
    }
}

impl RunRequest {
    /// Parses the execution input JSON.
    pub fn parse(json: &[u8]) -> Result<Self, InvalidInput> {
        crate::events::parse_event(json)
    }

    /// Applies every rule; `now` bounds the range's start.
    pub fn validate(
        &self,
        limits: &Limits,
        now: DateTime<FixedOffset>,
    ) -> Result<ValidRun, InvalidInput> {
        let mut problems = Vec::new();

        check_secret_id(&self.account.secret_id, &mut problems);

        let selection = match &self.range {
            Some(range) => {
                if self.since.is_some() {
                    problems.push(
                        "since is for a sync (a request without range); a range request imports exactly its range".into(),
                    );
                }
                check_range(range, limits, now, &mut problems)
            }
            None => match &self.since {
                None => Some(Selection::Sync { since: None }),
                Some(since) => match parse_instant(since, DateOnly::StartOfDay) {
                    Err(e) => {
                        problems.push(format!("since: {e}"));
                        None
                    }
                    Ok(t) if t > now => {
                        problems.push("since is in the future".into());
                        None
                    }
                    Ok(t) => Some(Selection::Sync { since: Some(t) }),
                },
            },
        };

        check_spreadsheet_id(&self.sheet.spreadsheet_id, &mut problems);
        check_tab(&self.sheet.tab, &mut problems);

        let columns = self
            .columns
            .clone()
            .unwrap_or_default()
            .resolve()
            .map_err(|e| problems.push(e.to_string()))
            .ok();

        match (problems.is_empty(), selection, columns) {
            (true, Some(selection), Some(columns)) => Ok(ValidRun {
                account: self.account.clone(),
                selection,
                sheet: self.sheet.clone(),
                columns,
            }),
            _ => Err(InvalidInput { problems }),
        }
    }
}

/// The rules of a range request: both ends parse, `from < to`, not longer than the configured
/// maximum, not starting in the future.
fn check_range(
    range: &TimeRange,
    limits: &Limits,
    now: DateTime<FixedOffset>,
    problems: &mut Vec<String>,
) -> Option<Selection> {
    let from = parse_instant(&range.from, DateOnly::StartOfDay)
        .map_err(|e| problems.push(format!("range.from: {e}")))
        .ok();
    let to = parse_instant(&range.to, DateOnly::EndOfDay)
        .map_err(|e| problems.push(format!("range.to: {e}")))
        .ok();
    let (from, to) = (from?, to?);
    let before = problems.len();
    if to < from {
        problems.push("range.to is before range.from".into());
    } else if to == from {
        problems.push("range is empty (range.to equals range.from)".into());
    } else if span(&from, &to) > limits.max_range {
        problems.push(format!(
            "range is {} days long; the configured maximum (ORDERSYNC_MAX_RANGE_DAYS) is {} days",
            (span(&from, &to).num_hours() as f64 / 24.0).ceil() as i64,
            limits.max_range.num_days()
        ));
    }
    if from > now {
        problems.push("range.from is in the future".into());
    }
    (problems.len() == before).then_some(Selection::Range {
        from,
        to,
        by: range.by.unwrap_or_default(),
    })
}

pub fn check_secret_id(id: &str, problems: &mut Vec<String>) {
    // Secrets Manager names: letters, digits and /_+=.@- ; ARNs add ':'. Anything else (a '$'
    // of a bcrypt client secret, spaces, quotes) means something other than a name was sent.
    if id.is_empty() {
        problems.push("account.secret_id is empty".into());
    } else if id.len() > 2048 {
        problems.push("account.secret_id is longer than 2048 characters".into());
    } else if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-:".contains(&b))
    {
        problems.push(
            "account.secret_id must be a Secrets Manager secret name or ARN (letters, digits and /_+=.@-:), never the secret itself".into(),
        );
    }
}

/// Google spreadsheet ids are URL-safe base64-like: letters, digits, `-` and `_`.
pub fn check_spreadsheet_id(id: &str, problems: &mut Vec<String>) {
    if id.is_empty() {
        problems.push("sheet.spreadsheet_id is empty".into());
    } else if id.len() > 128 {
        problems.push("sheet.spreadsheet_id is longer than 128 characters".into());
    } else if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        problems.push(format!(
            "sheet.spreadsheet_id contains the illegal character {bad:?} (only letters, digits, - and _ appear in spreadsheet ids)"
        ));
    }
}

/// Sheet titles: not blank, at most 100 characters, no control characters.
pub fn check_tab(tab: &str, problems: &mut Vec<String>) {
    if tab.trim().is_empty() {
        problems.push("sheet.tab is empty".into());
    } else if tab.chars().count() > 100 {
        problems.push("sheet.tab is longer than 100 characters".into());
    } else if tab.chars().any(char::is_control) {
        problems.push("sheet.tab contains a control character".into());
    }
}

/// The JSON Schema of [`RunRequest`], as published in `schema/run-request.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RunRequest);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-25T12:00:00+09:00").unwrap()
    }

    fn good() -> serde_json::Value {
        json!({
            "account": {"secret_id": "ordersync/naver/my-store"},
            "range": {"from": "2026-11-01", "to": "2026-11-07"},
            "sheet": {"spreadsheet_id": "1AbC_dEf-123", "tab": "주문 목록"}
        })
    }

    fn check(value: serde_json::Value) -> Result<ValidRun, InvalidInput> {
        RunRequest::parse(value.to_string().as_bytes())?.validate(&Limits::default(), now())
    }

    fn problem(value: serde_json::Value) -> String {
        check(value).unwrap_err().to_string()
    }

    #[test]
    fn a_good_request_resolves_range_and_columns() {
        let run = check(good()).unwrap();
        let Selection::Range { from, to, by } = run.selection else {
            panic!("a range request: {run:?}")
        };
        assert_eq!(by, RangeBy::Paid, "by payment date unless asked otherwise");
        assert_eq!(from.to_rfc3339(), "2026-11-01T00:00:00+09:00");
        assert_eq!(to.to_rfc3339(), "2026-11-08T00:00:00+09:00");
        assert_eq!(run.columns.len(), 18);
    }

    #[test]
    fn a_request_without_range_is_a_sync_from_an_optional_since() {
        let mut v = good();
        v.as_object_mut().unwrap().remove("range");
        assert_eq!(
            check(v.clone()).unwrap().selection,
            Selection::Sync { since: None }
        );
        v["since"] = json!("2026-10-01");
        let Selection::Sync { since: Some(since) } = check(v.clone()).unwrap().selection else {
            panic!("a sync with since")
        };
        assert_eq!(since.to_rfc3339(), "2026-10-01T00:00:00+09:00");
        v["since"] = json!("2026-12-01");
        assert_eq!(problem(v.clone()), "since is in the future");
        v["since"] = json!("soon");
        assert!(problem(v).starts_with("since: `soon`"));
        let mut both = good();
        both["since"] = json!("2026-10-01");
        assert!(problem(both).starts_with("since is for a sync"));
    }

    #[test]
    fn each_rule_names_its_field() {
        let mut v = good();
        v["range"]["to"] = json!("2026-10-01");
        assert_eq!(problem(v), "range.to is before range.from");

        let mut v = good();
        v["sheet"]["tab"] = json!(" ");
        assert_eq!(problem(v), "sheet.tab is empty");

        let mut v = good();
        v["sheet"]["spreadsheet_id"] = json!("abc/def");
        assert!(problem(v).starts_with("sheet.spreadsheet_id contains the illegal character '/'"));

        let mut v = good();
        v["range"] = json!({"from": "2026-01-01", "to": "2026-11-01"});
        assert!(problem(v).contains("configured maximum (ORDERSYNC_MAX_RANGE_DAYS) is 92 days"));

        let mut v = good();
        v["range"]["from"] = json!("2026-12-01T00:00:00+09:00");
        v["range"]["to"] = json!("2026-12-02T00:00:00+09:00");
        assert_eq!(problem(v), "range.from is in the future");

        let mut v = good();
        v["range"]["from"] = json!("01/11/2026");
        assert!(problem(v).starts_with("range.from: `01/11/2026` is not an RFC 3339"));

        let mut v = good();
        v["account"]["secret_id"] = json!("$2a$04$abcdefghijklmnopqrstuv");
        assert!(problem(v).contains("never the secret itself"));

        let mut v = good();
        v["columns"] = json!({"list": [{"field": "favourite_colour"}]});
        let p = problem(v);
        assert!(
            p.starts_with("columns.list[0].field: unknown variant `favourite_colour`"),
            "{p}"
        );
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_path() {
        let mut v = good();
        v["account"]["client_secret"] = json!("hunter2");
        let p = problem(v);
        assert!(
            p.starts_with("account.client_secret: unknown field `client_secret`"),
            "{p}"
        );
        let mut v = good();
        v["extra"] = json!(1);
        let p = problem(v);
        assert!(p.starts_with("extra: unknown field `extra`"), "{p}");
    }

    #[test]
    fn several_problems_are_reported_together() {
        let mut v = good();
        v["sheet"] = json!({"spreadsheet_id": "", "tab": ""});
        assert_eq!(
            problem(v),
            "sheet.spreadsheet_id is empty; sheet.tab is empty"
        );
    }

    #[test]
    fn malformed_json_is_invalid_input() {
        let err = RunRequest::parse(b"{\"account\":").unwrap_err();
        assert_eq!(err.error_name(), ErrorName::InvalidInput);
        let err = RunRequest::parse(b"[]").unwrap_err();
        assert!(
            err.to_string().contains("expected struct RunRequest"),
            "{err}"
        );
    }
}
