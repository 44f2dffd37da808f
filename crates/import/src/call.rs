//! The two jobs of the import function: the state machine's Plan step (validate the execution
//! input, split it into windows — no API call) and the import of one window. One function does
//! both so the deployment stays at three small zips and the plan runs with the same limits the
//! import enforces.
//!
//! The event's shape says which job it is: a Plan event carries the execution input under
//! `request`, an import event carries a `window`. Anything else is `Ordersync.InvalidInput`.

use std::time::Instant;

use ordersync_core::clock::Clock;
use ordersync_core::errors::{ErrorName, StepError};
use ordersync_core::events::parse_event_value;
use ordersync_core::events::{ImportEvent, PlanEvent};
use ordersync_core::plan::{PlanConfig, plan};
use ordersync_core::source::Source;
use ordersync_core::store::Store;

/// One invocation of the import function.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportCall {
    Plan(PlanEvent),
    /// Boxed: a sync's plan makes the event several times the size of a plan event.
    Import(Box<ImportEvent>),
}

/// Tells the two event shapes apart, then reads the event strictly.
pub fn parse_call(event: serde_json::Value) -> Result<ImportCall, StepError> {
    let is_plan = event.get("request").is_some();
    let is_import = event.get("window").is_some();
    match (is_plan, is_import) {
        (true, false) => Ok(ImportCall::Plan(parse_event_value(event)?)),
        (false, true) => Ok(ImportCall::Import(Box::new(parse_event_value(event)?))),
        _ => Err(StepError::new(
            ErrorName::InvalidInput,
            "the import function takes either a plan event (`execution`, `request`) or an import event (`execution`, `account`, `window`)",
        )),
    }
}

/// Runs either job; the answer is the JSON the state machine receives.
pub async fn handle_call(
    store: &impl Store,
    source: &impl Source,
    config: &PlanConfig,
    clock: &dyn Clock,
    call: ImportCall,
    deadline: Instant,
) -> Result<serde_json::Value, StepError> {
    let answer = match call {
        ImportCall::Plan(event) => {
            let planned = plan(store, &event, config, clock.now().fixed_offset()).await?;
            tracing::info!(run = %event.execution, windows = planned.windows.len(), "planned");
            serde_json::to_value(planned)
        }
        ImportCall::Import(event) => {
            serde_json::to_value(crate::handle(store, source, *event, deadline).await?)
        }
    };
    answer.map_err(|e| StepError::new(ErrorName::Internal, format!("answer not serialisable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_shape_picks_the_job() {
        let plan = json!({"execution": "r", "request": {"anything": 1}});
        assert!(matches!(parse_call(plan), Ok(ImportCall::Plan(_))));
        let import = json!({
            "execution": "r",
            "account": {"secret_id": "s"},
            "window": {"from": "2026-11-01T00:00:00+09:00", "to": "2026-11-02T00:00:00+09:00"}
        });
        assert!(matches!(parse_call(import), Ok(ImportCall::Import(_))));
    }

    #[test]
    fn neither_or_both_is_invalid_input() {
        for bad in [
            json!({}),
            json!([]),
            json!({"execution": "r", "request": {}, "window": {}}),
        ] {
            let e = parse_call(bad).unwrap_err();
            assert_eq!(e.name, ErrorName::InvalidInput);
        }
        // A plan event with a stray field is refused by the strict reader, naming it.
        let e = parse_call(json!({"execution": "r", "request": {}, "extra": 1})).unwrap_err();
        assert!(e.message.contains("extra"), "{}", e.message);
    }
}
