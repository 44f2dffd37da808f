//! The transform handler: one window's orders object in, one rows object out.
//!
//! Everything that can be checked without I/O is checked first (execution name, window, columns,
//! that the reference belongs to our store). The orders object is verified (size, hash, schema)
//! before a record is used and decoded one record at a time. The rows object goes to
//! `runs/{execution}/rows/{window}.jsonl.zst`, so a rerun of the same execution overwrites it
//! with identical content.

use ordersync_core::errors::StepError;
use ordersync_core::events::{TransformCounts, TransformEvent, TransformResult};
use ordersync_core::keys::{Stage, check_execution, object_key};
use ordersync_core::payload::{self, PayloadWriter};
use ordersync_core::product_order::OrdersSchema;
use ordersync_core::rows::{RowsMeta, RowsSchema};
use ordersync_core::store::{Store, read_object, write_object};
use tracing::{Instrument, info, info_span};

use crate::dedupe::Deduper;
use crate::error::TransformError;

/// Runs the transform stage for one event.
pub async fn handle(
    store: &impl Store,
    event: TransformEvent,
) -> Result<TransformResult, StepError> {
    let span = info_span!("transform", run = %event.execution, stage = "transform", window = %event.window.id());
    // The one place a failure becomes a `StepError` (see `TransformError`).
    Ok(run(store, event).instrument(span).await?)
}

async fn run(store: &impl Store, event: TransformEvent) -> Result<TransformResult, TransformError> {
    check_execution(&event.execution)?;
    event.window.check()?;
    let choice = event.columns.clone().unwrap_or_default();
    let columns = choice.resolve()?;
    store.key_of(&event.orders.uri)?;
    let key = object_key(&event.execution, Stage::Rows, &event.window)?;

    let mut deduper = Deduper::new(&columns, &choice.mask);
    // Scoped so the compressed orders object is freed before the rows are encoded.
    {
        let reference = &event.orders;
        let bytes = read_object(store, reference).await?;
        let reader = payload::open::<OrdersSchema>(&bytes, reference)?;
        if reader.meta().window != event.window {
            return Err(TransformError::OtherWindow {
                uri: reference.uri.clone(),
                holds: reader.meta().window.id(),
                asks: event.window.id(),
            });
        }
        for order in reader {
            deduper
                .add(&order?)
                .map_err(|source| TransformError::Record {
                    uri: reference.uri.clone(),
                    source,
                })?;
        }
    }
    let deduped = deduper.finish();

    let meta = RowsMeta {
        window: event.window,
        columns,
    };
    let mut writer = PayloadWriter::<RowsSchema>::new(&meta)?;
    for line in &deduped.lines {
        writer.push_json_line(line)?;
    }
    drop(deduped.lines);
    let encoded = writer.finish()?;
    let rows = write_object::<RowsSchema>(store, &key, encoded).await?;

    let counts = TransformCounts {
        orders_in: deduped.orders_in,
        rows_out: rows.records,
        duplicates_dropped: deduped.duplicates_dropped,
    };
    info!(
        orders_in = counts.orders_in,
        rows_out = counts.rows_out,
        duplicates_dropped = counts.duplicates_dropped,
        bytes = rows.bytes,
        "rows written"
    );
    Ok(TransformResult {
        window: event.window,
        rows,
        counts,
    })
}

/// Reads a raw event. Parsing here (not in lambda_runtime) is what gives a malformed event the
/// `Ordersync.InvalidInput` name instead of the runtime's type-name error.
pub fn parse_event(event: serde_json::Value) -> Result<TransformEvent, StepError> {
    ordersync_core::events::parse_event_value(event).map_err(StepError::from)
}
