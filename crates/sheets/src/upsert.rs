//! The upsert: read the tab once, plan, change structure only when needed, then write.
//!
//! Calls, for a payload under ~2 MB: one read (the whole tab); no write when nothing changed;
//! otherwise one `values.batchUpdate` holding new and changed rows and any new header cells. A
//! missing tab, or a grid too small for the new rows, adds one `spreadsheets.get` (tab ids and
//! sizes, for the workbook's 10M-cell limit) and one atomic `spreadsheets.batchUpdate`, both
//! before any value is written — so exceeding a limit writes nothing. Larger payloads are split
//! into requests of at most ~2 MB. Every write is an explicit range, so a crash anywhere leaves a
//! sheet that the next run reads, diffs and completes: reruns converge. A structure change whose
//! retry is refused (an `addSheet` applied by an attempt whose answer was lost: "already
//! exists") is checked against the tabs and counts as done when the tab is there and big enough.

use std::time::Instant;

use google_sheets4::api::{
    AddSheetRequest, AppendDimensionRequest, GridProperties, Request, SheetProperties, ValueRange,
};
use ordersync_core::errors::StepError;
use ordersync_core::rows::SheetRow;
use tracing::info;

use crate::a1;
use crate::client::{SheetsClient, to_value};
use crate::error::SheetsError;
use crate::plan::{BlockWrite, Existing, plan};

/// Google recommends requests of at most 2 MB.
pub const MAX_REQUEST_BYTES: usize = 2_000_000;

/// What an upsert did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct UpsertSummary {
    pub appended: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub duplicate_keys_in_sheet: u64,
    pub reads: u64,
    pub writes: u64,
}

/// Called before every request that changes the sheet. The insert Lambda renews its lease
/// here and stops (with the guard's error) when the lease was lost, so a stalled run can never
/// write over a newer one.
pub trait WriteGuard: Send {
    fn before_write(&mut self) -> impl std::future::Future<Output = Result<(), StepError>> + Send;
}

/// No guard (tests, single writers).
pub struct Unguarded;

impl WriteGuard for Unguarded {
    async fn before_write(&mut self) -> Result<(), StepError> {
        Ok(())
    }
}

/// Where and what.
pub struct Target<'a> {
    pub spreadsheet: &'a str,
    pub tab: &'a str,
    /// Managed headers in cell order, and which one is the key.
    pub headers: &'a [String],
    pub key_index: usize,
}

/// Splits blocks so that each request stays under `max_bytes` ([`MAX_REQUEST_BYTES`] unless
/// configured otherwise).
fn requests(tab: &str, blocks: Vec<BlockWrite>, max_bytes: usize) -> Vec<Vec<ValueRange>> {
    let mut out: Vec<Vec<ValueRange>> = Vec::new();
    let mut current: Vec<ValueRange> = Vec::new();
    let mut size = 0;
    for block in blocks {
        // Split tall blocks by rows first, so no single range is over the limit.
        let row_bytes: Vec<usize> = block
            .values
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| serde_json::to_string(&to_value(c)).map_or(8, |s| s.len() + 1))
                    .sum::<usize>()
                    + 2
            })
            .collect();
        let mut start = 0;
        while start < block.values.len() {
            let mut end = start;
            let mut bytes = 64 + row_bytes[start];
            while end + 1 < block.values.len() && bytes + row_bytes[end + 1] <= max_bytes / 2 {
                end += 1;
                bytes += row_bytes[end];
            }
            if size + bytes > max_bytes && !current.is_empty() {
                out.push(std::mem::take(&mut current));
                size = 0;
            }
            let first_row = block.first_row + start;
            let last_col = block.last_col();
            current.push(ValueRange {
                range: Some(a1::block(
                    tab,
                    block.first_col,
                    first_row,
                    last_col,
                    block.first_row + end,
                )),
                major_dimension: Some("ROWS".into()),
                values: Some(
                    block.values[start..=end]
                        .iter()
                        .map(|r| r.iter().map(to_value).collect())
                        .collect(),
                ),
            });
            size += bytes;
            start = end + 1;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Upserts `rows` (one per key; later ones win) into the target tab.
pub async fn upsert(
    client: &SheetsClient,
    target: &Target<'_>,
    rows: &[SheetRow],
    deadline: Instant,
    guard: &mut impl WriteGuard,
) -> Result<UpsertSummary, StepError> {
    let (reads0, writes0) = client.calls();
    let read = client
        .read_tab(target.spreadsheet, target.tab, deadline)
        .await?;
    // Borrowed, not copied: the tab can hold hundreds of thousands of rows.
    let empty = Existing::default();
    let existing = read.as_ref().map_or(&empty, |r| &r.existing);
    let plan = plan(existing, target.headers, target.key_index, rows)
        .map_err(|e| SheetsError::Sheet(e.to_string()))?;

    let (grid_rows, grid_cols) = read.as_ref().map_or((0, 0), |r| (r.grid_rows, r.grid_cols));
    let need_rows = plan.needed_rows.max(1);
    let need_cols = plan.needed_cols.max(1);
    if read.is_none() || need_rows > grid_rows || need_cols > grid_cols {
        let tabs = client.tabs(target.spreadsheet, deadline).await?;
        let ours = tabs.iter().find(|t| t.title == target.tab);
        let others: usize = tabs
            .iter()
            .filter(|t| t.title != target.tab)
            .map(|t| t.rows * t.cols)
            .sum();
        let (rows_after, cols_after) = match ours {
            Some(t) => (t.rows.max(need_rows), t.cols.max(need_cols)),
            None => (need_rows, need_cols),
        };
        let total = others + rows_after * cols_after;
        let limit = client.config().max_cells;
        if total > limit {
            return Err(StepError::from(SheetsError::Sheet(format!(
                "the workbook would have {total} cells ({rows_after} rows × {cols_after} columns in this tab, {others} in the others), over Google's limit of {limit}; nothing was written"
            ))));
        }
        let requests = match ours {
            None => vec![Request {
                add_sheet: Some(AddSheetRequest {
                    properties: Some(SheetProperties {
                        title: Some(target.tab.to_owned()),
                        grid_properties: Some(GridProperties {
                            row_count: Some(rows_after as i32),
                            column_count: Some(cols_after as i32),
                            frozen_row_count: Some(1),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                }),
                ..Default::default()
            }],
            Some(t) => {
                let mut requests = Vec::new();
                for (dimension, have, want) in [
                    ("ROWS", t.rows, rows_after),
                    ("COLUMNS", t.cols, cols_after),
                ] {
                    if want > have {
                        requests.push(Request {
                            append_dimension: Some(AppendDimensionRequest {
                                sheet_id: Some(t.sheet_id),
                                dimension: Some(dimension.into()),
                                length: Some((want - have) as i32),
                            }),
                            ..Default::default()
                        });
                    }
                }
                requests
            }
        };
        if !requests.is_empty() {
            guard.before_write().await?;
            if let Err(error) = client
                .structure(target.spreadsheet, requests, deadline)
                .await
            {
                // Applied with its answer lost (a 503, an unreadable 200), the retry is refused:
                // `addSheet` answers "already exists". Look again before giving up.
                let applied = matches!(error, SheetsError::Rejected { .. })
                    && client
                        .tabs(target.spreadsheet, deadline)
                        .await
                        .is_ok_and(|tabs| {
                            tabs.iter().any(|t| {
                                t.title == target.tab && t.rows >= need_rows && t.cols >= need_cols
                            })
                        });
                if !applied {
                    return Err(error.into());
                }
                info!("the structure change was applied by an attempt whose answer was lost");
            }
        }
    }

    let blocks: Vec<BlockWrite> = plan
        .header_writes
        .iter()
        .chain(&plan.row_writes)
        .cloned()
        .collect();
    for request in requests(target.tab, blocks, client.config().max_request_bytes) {
        guard.before_write().await?;
        client.write(target.spreadsheet, request, deadline).await?;
    }
    let (reads1, writes1) = client.calls();
    let summary = UpsertSummary {
        appended: plan.appended,
        updated: plan.updated,
        unchanged: plan.unchanged,
        duplicate_keys_in_sheet: plan.duplicate_keys.len() as u64,
        reads: reads1 - reads0,
        writes: writes1 - writes0,
    };
    info!(
        appended = summary.appended,
        updated = summary.updated,
        unchanged = summary.unchanged,
        duplicate_keys_in_sheet = summary.duplicate_keys_in_sheet,
        reads = summary.reads,
        writes = summary.writes,
        "sheet upserted"
    );
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::MIN_REQUEST_BYTES;
    use ordersync_core::rows::Cell;

    fn block(first_row: usize, rows: usize) -> BlockWrite {
        BlockWrite {
            first_row,
            first_col: 1,
            values: (0..rows)
                .map(|r| vec![Cell::Text(format!("{r:0100}")), Cell::Text("x".repeat(100))])
                .collect(),
        }
    }

    fn body_bytes(request: &[ValueRange]) -> usize {
        serde_json::to_vec(request).unwrap().len()
    }

    #[test]
    fn requests_stay_under_the_configured_size_and_keep_every_row_once() {
        let blocks = vec![block(2, 300), block(400, 5)];
        for max in [MIN_REQUEST_BYTES, 20_000, MAX_REQUEST_BYTES] {
            let out = requests("t", blocks.clone(), max);
            let rows: usize = out
                .iter()
                .flatten()
                .map(|r| r.values.as_ref().unwrap().len())
                .sum();
            assert_eq!(rows, 305, "max {max}");
            for request in &out {
                assert!(
                    body_bytes(request) <= max,
                    "max {max}: {}",
                    body_bytes(request)
                );
            }
            if max == MAX_REQUEST_BYTES {
                assert_eq!(out.len(), 1);
            } else {
                // 305 rows of ~210 bytes are ~64 kB: several requests.
                assert!(out.len() >= 64_000 / max, "max {max}: {}", out.len());
            }
        }
    }
}
