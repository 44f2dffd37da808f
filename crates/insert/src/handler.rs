//! The insert handler. Order of work, so that bad input loses nothing and two executions never
//! interleave on one tab:
//!
//! 1. check the event (execution name, spreadsheet id, tab, references in our store);
//! 2. read and verify every rows object (size, hash, schema) and check they agree on columns;
//! 3. take the lease on spreadsheet+tab (another live holder → retryable `Ordersync.Busy`);
//! 4. upsert (one read, writes to explicit ranges only), renewing the lease before every write
//!    attempt — retries included — and stopping if it was lost; each attempt is abandoned
//!    before the lease would lapse (so a stalled run never writes over a newer one);
//! 5. for a sync, still under the lease: before the first write, check that the cursor is the
//!    one the sync was planned from (another sync moved it: write nothing; this execution
//!    moved it, in a run before this rerun: nothing left), and after the last write move it —
//!    never before the sheet holds what it covers;
//! 6. release the lease (failing to is only logged: it expires on its own).

use std::time::Instant;

use ordersync_core::clock::Clock;
use ordersync_core::columns::{Column, KEY_FIELD};
use ordersync_core::cursor::{self, CursorState, Seen, Standing, SyncPlan};
use ordersync_core::errors::StepError;
use ordersync_core::events::{
    CellBudget, InsertEvent, InsertResult, RunSummary, SyncCommit, SyncOutcome,
};
use ordersync_core::keys::check_execution;
use ordersync_core::latest::LatestPerKey;
use ordersync_core::lease::{self, Lease, LeaseConfig};
use ordersync_core::payload;
use ordersync_core::request::{check_spreadsheet_id, check_tab};
use ordersync_core::rows::{RowsSchema, SheetRow};
use ordersync_core::store::{Store, read_object};
use ordersync_sheets::{Target, Workbook, WriteGuard, try_upsert};
use tracing::{Instrument, info, info_span, warn};

use crate::error::InsertError;

/// Reads a raw event with `Ordersync.InvalidInput` for anything malformed.
pub fn parse_event(event: serde_json::Value) -> Result<InsertEvent, StepError> {
    ordersync_core::events::parse_event_value(event).map_err(StepError::from)
}

/// Renews the lease before every write; a lost lease stops the run before it writes.
struct LeaseGuard<'a, S> {
    store: &'a S,
    lease: Option<Lease>,
    config: &'a LeaseConfig,
    clock: &'a dyn Clock,
}

impl<S: Store> WriteGuard for LeaseGuard<'_, S> {
    async fn before_write(&mut self) -> Result<(), StepError> {
        let Some(held) = self.lease.as_mut() else {
            return Err(InsertError::NoLease.into());
        };
        match lease::renew(self.store, held, self.config, self.clock.now()).await {
            Ok(()) => Ok(()),
            Err(e) => {
                // Lost to another execution: never write over its work.
                self.lease = None;
                Err(e.into())
            }
        }
    }

    fn held_for(&self) -> Option<std::time::Duration> {
        let held = self.lease.as_ref()?;
        Some(
            (held.expires_at() - self.clock.now())
                .to_std()
                .unwrap_or_default(),
        )
    }
}

/// Runs the insert stage for one event. Every failure becomes a [`StepError`] here, and only
/// here (see [`InsertError`]).
pub async fn handle<W: Workbook>(
    store: &impl Store,
    sheets: &W,
    lease_config: &LeaseConfig,
    clock: &dyn Clock,
    event: InsertEvent,
    deadline: Instant,
) -> Result<RunSummary, StepError> {
    let span = info_span!("insert", run = %event.execution, stage = "insert");
    let result = run(store, sheets, lease_config, clock, &event, deadline)
        .instrument(span)
        .await?;
    Ok(RunSummary::new(&event.windows, &result))
}

/// The numbered steps of the module header: check, read, upsert under the lease.
async fn run<W: Workbook>(
    store: &impl Store,
    sheets: &W,
    lease_config: &LeaseConfig,
    clock: &dyn Clock,
    event: &InsertEvent,
    deadline: Instant,
) -> Result<InsertResult, InsertError> {
    check_event(store, event)?;
    let rows = read_rows(store, event).await?;
    if rows.is_none() && event.sync.is_none() {
        return Ok(InsertResult::default());
    }
    upsert_under_lease(
        store,
        sheets,
        lease_config,
        clock,
        event,
        rows.as_ref(),
        deadline,
    )
    .await
}

/// Step 1: everything about the event that can be checked without reading an object — so a
/// bad event fails before the store or the sheet is touched.
fn check_event(store: &impl Store, event: &InsertEvent) -> Result<(), InsertError> {
    check_execution(&event.execution)?;
    let mut problems = Vec::new();
    check_spreadsheet_id(&event.sheet.spreadsheet_id, &mut problems);
    check_tab(&event.sheet.tab, &mut problems);
    if !problems.is_empty() {
        return Err(InsertError::Target(problems));
    }
    for outcome in &event.windows {
        store.key_of(&outcome.rows.uri)?;
    }
    Ok(())
}

/// Every window's rows, one per key, with the columns they share.
pub(crate) struct Rows {
    headers: Vec<String>,
    key_index: usize,
    rows: Vec<SheetRow>,
}

/// Step 2: reads and verifies every rows object (size, hash, schema), checks they agree on
/// columns, and keeps the latest row per key. `None` when there are no rows objects at all.
async fn read_rows(store: &impl Store, event: &InsertEvent) -> Result<Option<Rows>, InsertError> {
    let mut columns: Option<Vec<Column>> = None;
    // A product order that changed on several days has a row in several windows; the latest
    // (a later window) wins, in the place of its first row, as the upsert plan would decide.
    // Keeping only that one here bounds memory by the distinct orders, not their changes.
    let mut latest: LatestPerKey<String, SheetRow> = LatestPerKey::new();
    for reference in event.windows.iter().map(|w| &w.rows) {
        let bytes = read_object(store, reference).await?;
        let reader = payload::open::<RowsSchema>(&bytes, reference)?;
        match &columns {
            None => columns = Some(reader.meta().columns.clone()),
            Some(c) if *c != reader.meta().columns => {
                return Err(InsertError::ColumnsDiffer {
                    uri: reference.uri.clone(),
                });
            }
            Some(_) => {}
        }
        for row in reader {
            let mut row = row?;
            // Decoding grows `cells` by doubling (18 cells get room for 32); at 100,000 rows
            // the spare room alone is over 30 MB of a 128 MB Lambda.
            row.cells.shrink_to_fit();
            // A re-read of an open order never replaces the same sync's feed row of it: both
            // are this execution's fresh details, and only the feed row has the latest
            // feed record.
            latest.offer_keyed(
                row,
                |row| row.key.as_str(),
                |kept, new| !is_rechecked(new) || is_rechecked(kept),
            );
        }
    }
    let rows = latest.into_items();
    let Some(columns) = columns else {
        return Ok(None);
    };
    let headers: Vec<String> = columns.iter().map(|c| c.header.clone()).collect();
    let key_index = columns
        .iter()
        .position(|c| c.field == KEY_FIELD)
        .ok_or(InsertError::NoKeyColumn)?;
    if rows.iter().any(|r| r.cells.len() != headers.len()) {
        return Err(InsertError::CellCount);
    }
    Ok(Some(Rows {
        headers,
        key_index,
        rows,
    }))
}

fn is_rechecked(row: &SheetRow) -> bool {
    row.sync.as_ref().is_some_and(|s| s.rechecked)
}

/// What the rows say about the sync's product orders, for the cursor's open list.
fn seen(rows: Option<&Rows>, recheck: Vec<String>) -> Seen {
    let mut seen = Seen {
        rechecked: recheck,
        ..Seen::default()
    };
    for row in rows.map(|r| r.rows.as_slice()).unwrap_or_default() {
        match &row.sync {
            Some(sync) if sync.open => seen.open.push((row.key.clone(), sync.changed.clone())),
            _ => seen.closed.push(row.key.clone()),
        }
    }
    seen
}

/// The ids the sync's plan asked to re-read (empty when none).
async fn recheck_ids(store: &impl Store, plan: &SyncPlan) -> Result<Vec<String>, InsertError> {
    let Some(recheck) = &plan.recheck else {
        return Ok(Vec::new());
    };
    let ids = cursor::read_recheck(store, recheck).await?;
    Ok(ids.into_iter().map(|r| r.id).collect())
}

/// Steps 3 to 6: takes the lease on spreadsheet+tab, upserts with the lease renewed before
/// every write attempt ([`LeaseGuard`]), and releases it whatever the upsert did (failing to
/// release is only logged: the lease expires on its own).
async fn upsert_under_lease<S: Store, W: Workbook>(
    store: &S,
    sheets: &W,
    lease_config: &LeaseConfig,
    clock: &dyn Clock,
    event: &InsertEvent,
    rows: Option<&Rows>,
    deadline: Instant,
) -> Result<InsertResult, InsertError> {
    let held = lease::acquire(
        store,
        &event.sheet.spreadsheet_id,
        &event.sheet.tab,
        &event.execution,
        lease_config,
        clock.now(),
    )
    .await?;
    let mut guard = LeaseGuard {
        store,
        lease: Some(held),
        config: lease_config,
        clock,
    };
    let result = write_and_commit(store, sheets, clock, event, rows, deadline, &mut guard).await;
    if let Some(held) = guard.lease.take()
        && let Err(e) = lease::release(store, held).await
    {
        warn!(error = %e, "could not release the sheet lease; it expires on its own");
    }
    result
}

/// Under the lease: a sync's cursor check, the upsert, a sync's cursor commit.
async fn write_and_commit<S: Store, W: Workbook>(
    store: &S,
    sheets: &W,
    clock: &dyn Clock,
    event: &InsertEvent,
    rows: Option<&Rows>,
    deadline: Instant,
    guard: &mut LeaseGuard<'_, S>,
) -> Result<InsertResult, InsertError> {
    let standing = match &event.sync {
        Some(plan) => Some((plan, cursor::standing(store, plan, &event.execution).await?)),
        None => None,
    };
    let (plan, state, version) = match standing {
        None => (None, None, None),
        Some((_, Standing::Committed { state })) => {
            info!(
                generation = state.generation,
                "this execution already moved the cursor"
            );
            return Ok(sync_only(SyncCommit::AlreadyMoved, &state));
        }
        Some((_, Standing::Superseded { state })) => {
            info!(
                generation = state.generation,
                by = %state.committed_by,
                "another sync moved the cursor since this one planned; nothing written"
            );
            return Ok(sync_only(SyncCommit::Superseded, &state));
        }
        Some((plan, Standing::Current { state, version })) => (Some(plan), state, version),
    };
    let mut result = InsertResult::default();
    // A quiet sync (nothing changed) neither reads nor writes the sheet.
    if let Some(rows) = rows.filter(|r| plan.is_none() || !r.rows.is_empty()) {
        let target = Target {
            spreadsheet: &event.sheet.spreadsheet_id,
            tab: &event.sheet.tab,
            headers: &rows.headers,
            key_index: rows.key_index,
        };
        let summary = try_upsert(sheets, &target, &rows.rows, deadline, guard).await?;
        result = InsertResult {
            appended: summary.appended,
            updated: summary.updated,
            unchanged: summary.unchanged,
            duplicate_keys_in_sheet: summary.duplicate_keys_in_sheet,
            api_calls: summary.reads + summary.writes,
            sync: None,
            cell_budget: summary
                .workbook_cells
                .map(|cells| CellBudget::new(cells, sheets.limits().max_cells as u64)),
        };
    }
    if let Some(plan) = plan {
        let seen = seen(rows, recheck_ids(store, plan).await?);
        let next = cursor::next_state(state.as_ref(), plan, &seen, &event.execution, clock.now());
        // The lease must still be ours: if it lapsed, another sync may have written since.
        guard.before_write().await.map_err(InsertError::Guard)?;
        if !cursor::commit(store, &plan.cursor, &next, version.as_ref()).await? {
            return Err(InsertError::CursorRace {
                key: plan.cursor.clone(),
            });
        }
        info!(
            generation = next.generation,
            cursor = %next.position,
            open_orders = next.open.len(),
            "cursor moved"
        );
        result.sync = Some(outcome(SyncCommit::Moved, &next));
    }
    Ok(result)
}

fn outcome(commit: SyncCommit, state: &CursorState) -> SyncOutcome {
    SyncOutcome {
        commit,
        cursor: state.position,
        generation: state.generation,
        open_orders: state.open.len() as u64,
    }
}

fn sync_only(commit: SyncCommit, state: &CursorState) -> InsertResult {
    InsertResult {
        sync: Some(outcome(commit, state)),
        ..InsertResult::default()
    }
}
