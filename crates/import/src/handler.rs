//! The import handler: checks everything it can before any API call (execution name, window,
//! account reference), streams the source's orders into the payload writer (so a window's
//! details are never all in memory), and writes the object under the deterministic key. An empty
//! window writes an empty object. A rerun of the same execution writes the same key again.
//!
//! A window is read by the change feed (a sync, or a range `by: changed`) or by NAVER's
//! conditional search (a range by payment or order date, details inline).
//!
//! In a sync, the window its plan names also re-reads the sync's batch of open orders by id
//! (their next step may never reach the feed), into the same object: the ids the feed already
//! listed in this window are skipped, and each re-read order keeps the feed record the cursor
//! remembered for it.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use ordersync_core::cursor::{FeedChange, read_recheck};
use ordersync_core::product_order::ChangeStatus;
use ordersync_core::request::RangeBy;

use ordersync_core::errors::{ErrorName, StepError};
use ordersync_core::events::{ImportEvent, ImportResult};
use ordersync_core::keys::{Stage, check_execution, object_key};
use ordersync_core::payload::PayloadWriter;
use ordersync_core::product_order::{OrdersMeta, OrdersSchema};
use ordersync_core::request::check_secret_id;
use ordersync_core::source::Source;
use ordersync_core::store::{Store, write_object};
use tracing::{Instrument, info, info_span};

fn invalid(message: impl Into<String>) -> StepError {
    StepError::new(ErrorName::InvalidInput, message)
}

/// Time kept back from the Lambda deadline to store the object and answer.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// The instant to stop retrying, from Lambda's deadline (ms since the epoch).
pub fn deadline_from(deadline_ms: u64) -> Instant {
    ordersync_core::budget::deadline_from(deadline_ms, DEADLINE_MARGIN)
}

/// Reads a raw event with `Ordersync.InvalidInput` for anything malformed.
pub fn parse_event(event: serde_json::Value) -> Result<ImportEvent, StepError> {
    ordersync_core::events::parse_event_value(event).map_err(StepError::from)
}

/// The ids to re-read with the feed record each had when last seen, in id order (so the calls
/// are the same on a rerun).
type Remembered = BTreeMap<String, Option<FeedChange>>;

/// Runs the import stage for one window.
pub async fn handle(
    store: &impl Store,
    source: &impl Source,
    event: ImportEvent,
    deadline: Instant,
) -> Result<ImportResult, StepError> {
    let span =
        info_span!("import", run = %event.execution, stage = "import", window = %event.window.id());
    run(store, source, event, deadline).instrument(span).await
}

async fn run(
    store: &impl Store,
    source: &impl Source,
    event: ImportEvent,
    deadline: Instant,
) -> Result<ImportResult, StepError> {
    check_execution(&event.execution)?;
    event.window.check().map_err(|e| invalid(e.to_string()))?;
    let mut problems = Vec::new();
    check_secret_id(&event.account.secret_id, &mut problems);
    if !problems.is_empty() {
        return Err(invalid(problems.join("; ")));
    }
    let key = object_key(&event.execution, Stage::Orders, &event.window)?;
    if let Some(instances) = event.instances {
        source.set_concurrency(instances);
    }

    let mut writer = PayloadWriter::<OrdersSchema>::new(&OrdersMeta {
        window: event.window,
    })?;
    let recheck = match event.sync.as_ref().and_then(|s| s.recheck.as_ref()) {
        Some(recheck) if recheck.window == event.window => Some(
            read_recheck(store, recheck)
                .await?
                .into_iter()
                .map(|r| (r.id, r.changed))
                .collect::<Remembered>(),
        ),
        _ => None,
    };
    let mut listed = HashSet::new();
    let by = event.by.unwrap_or(RangeBy::Changed);
    let mut counts = match by {
        RangeBy::Changed => {
            source
                .fetch_window(&event.account, &event.window, deadline, &mut |order| {
                    if recheck.is_some() {
                        listed.insert(order.product_order_id.clone());
                    }
                    writer.push(&order).map_err(StepError::from)
                })
                .await?
        }
        RangeBy::Paid | RangeBy::Ordered => {
            source
                .fetch_range(&event.account, &event.window, by, deadline, &mut |order| {
                    writer.push(&order).map_err(StepError::from)
                })
                .await?
        }
    };
    if let Some(mut remembered) = recheck {
        remembered.retain(|id, _| !listed.contains(id));
        let ids: Vec<String> = remembered.keys().cloned().collect();
        let again = source
            .fetch_ids(&event.account, &ids, deadline, &mut |mut order| {
                order.rechecked = true;
                order.change = remembered
                    .get(&order.product_order_id)
                    .cloned()
                    .flatten()
                    .map(|c| ChangeStatus {
                        product_order_id: Some(order.product_order_id.clone()),
                        last_changed_date: Some(c.date),
                        last_changed_type: c.kind,
                        ..ChangeStatus::default()
                    });
                writer.push(&order).map_err(StepError::from)
            })
            .await?;
        counts.rechecked = again.fetched + again.missing;
        counts.fetched += again.fetched;
        counts.missing += again.missing;
        counts.api_calls += again.api_calls;
    }
    let encoded = writer.finish()?;
    let orders = write_object::<OrdersSchema>(store, &key, encoded).await?;
    info!(
        rechecked = counts.rechecked,
        changed = counts.changed,
        fetched = counts.fetched,
        missing = counts.missing,
        api_calls = counts.api_calls,
        bytes = orders.bytes,
        "orders written"
    );
    Ok(ImportResult {
        window: event.window,
        orders,
        counts,
    })
}
