//! The upsert: read the tab once, plan, change structure only when needed, then write.
//!
//! Calls, for a payload under ~2 MB: one read (the whole tab); no write when nothing changed;
//! otherwise one narrow read (row 1 and the key column of the rows about to be written: did a
//! person move them since? [`crate::moved`]) and one `values.batchUpdate` holding new and changed
//! rows and any new header cells. A
//! missing tab, or a grid too small for the new rows, adds one `spreadsheets.get` (tab ids and
//! sizes, for the workbook's 10M-cell limit) and one atomic `spreadsheets.batchUpdate`, both
//! before any value is written — so exceeding a limit writes nothing. Larger payloads are split
//! into requests of at most ~2 MB. Every write is an explicit range, so a crash anywhere leaves a
//! sheet that the next run reads, diffs and completes: reruns converge. A structure change whose
//! retry is refused (an `addSheet` applied by an attempt whose answer was lost: "already
//! exists") is checked against the tabs and counts as done when the tab is there and big enough.

use std::collections::HashMap;
use std::time::Instant;

use google_sheets4::api::ValueRange;
use ordersync_core::errors::StepError;
use ordersync_core::rows::{Cell, SheetRow};
use tracing::{info, warn};

use crate::a1;
use crate::client::to_value;
use crate::error::SheetsError;
use crate::plan::{BlockWrite, Plan, RowsWrite, plan_index};
use crate::scan::{PlanNeeds, TabIndex};
use crate::workbook::{GridChange, TabInfo, TabRead, Workbook};

/// Google recommends requests of at most 2 MB.
pub const MAX_REQUEST_BYTES: usize = 2_000_000;

/// The rows of a tab ordersync creates, at least: the frozen header and one more.
const MIN_NEW_TAB_ROWS: usize = 2;

/// What an upsert did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct UpsertSummary {
    pub appended: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub duplicate_keys_in_sheet: u64,
    pub reads: u64,
    pub writes: u64,
    /// The workbook's cells after this upsert (every tab), when it listed the tabs.
    pub workbook_cells: Option<u64>,
}

/// Called before every request that changes the sheet. The insert Lambda renews its lease
/// here and stops (with the guard's error) when the lease was lost, so a stalled run can never
/// write over a newer one.
pub trait WriteGuard: Send {
    /// Called before every attempt of every write (retries included): renew the lease, or
    /// fail if it was lost.
    fn before_write(&mut self) -> impl std::future::Future<Output = Result<(), StepError>> + Send;

    /// How long from now the guard's lease is held (`None`: no lease). A write attempt is
    /// abandoned before that, so no attempt can still be running once another execution may
    /// hold the tab.
    fn held_for(&self) -> Option<std::time::Duration> {
        None
    }
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

/// A block to write, whichever kind holds its cells.
#[derive(Clone, Copy)]
enum Block<'p, 'a> {
    Header(&'p BlockWrite),
    Rows(&'p RowsWrite<'a>),
}

impl Block<'_, '_> {
    fn first_row(&self) -> usize {
        match self {
            Block::Header(b) => b.first_row,
            Block::Rows(b) => b.first_row,
        }
    }

    fn first_col(&self) -> usize {
        match self {
            Block::Header(b) => b.first_col,
            Block::Rows(b) => b.first_col,
        }
    }

    fn last_col(&self) -> usize {
        match self {
            Block::Header(b) => b.last_col(),
            Block::Rows(b) => b.last_col(),
        }
    }

    fn height(&self) -> usize {
        match self {
            Block::Header(b) => b.values.len(),
            Block::Rows(b) => b.rows.len(),
        }
    }

    fn row(&self, r: usize) -> Vec<&Cell> {
        match self {
            Block::Header(b) => b.values[r].iter().collect(),
            Block::Rows(b) => b.row(r).collect(),
        }
    }
}

/// Rows `start..=end` of block `block`: one range of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slice {
    block: usize,
    start: usize,
    end: usize,
}

/// Packs the blocks into as few requests as fit under `max_bytes` each ([`MAX_REQUEST_BYTES`]
/// unless configured otherwise): rows go into the current request until the next one would
/// not fit, so a tall block is split across requests and short blocks share one. The size is
/// an upper bound of the JSON Google receives; a single row larger than the limit goes alone.
/// Only the layout is computed here; each request's values are built just before it is sent
/// (see [`value_ranges`]), so the cells are never all copied at once.
fn requests(tab: &str, blocks: &[Block], max_bytes: usize) -> Vec<Vec<Slice>> {
    // The request's envelope (`valueInputOption`, `data`, ...) and each range's own fields
    // (`range` with the quoted tab title, `majorDimension`).
    const ENVELOPE: usize = 256;
    let range_overhead = 96 + 2 * tab.len();
    let budget = max_bytes.saturating_sub(ENVELOPE);
    let mut out: Vec<Vec<Slice>> = Vec::new();
    let mut current: Vec<Slice> = Vec::new();
    let mut size = 0;
    for (index, block) in blocks.iter().enumerate() {
        let row_bytes: Vec<usize> = (0..block.height())
            .map(|r| {
                block
                    .row(r)
                    .into_iter()
                    .map(|c| serde_json::to_string(&to_value(c)).map_or(8, |s| s.len() + 1))
                    .sum::<usize>()
                    + 2
            })
            .collect();
        let mut start = 0;
        while start < row_bytes.len() {
            if !current.is_empty() && size + range_overhead + row_bytes[start] > budget {
                out.push(std::mem::take(&mut current));
                size = 0;
            }
            let mut end = start;
            let mut bytes = range_overhead + row_bytes[start];
            while end + 1 < row_bytes.len() && size + bytes + row_bytes[end + 1] <= budget {
                end += 1;
                bytes += row_bytes[end];
            }
            current.push(Slice {
                block: index,
                start,
                end,
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

/// One request's ranges with their values.
fn value_ranges(tab: &str, blocks: &[Block], request: &[Slice]) -> Vec<ValueRange> {
    request
        .iter()
        .map(|s| {
            let block = blocks[s.block];
            ValueRange {
                range: Some(a1::block(
                    tab,
                    block.first_col(),
                    block.first_row() + s.start,
                    block.last_col(),
                    block.first_row() + s.end,
                )),
                major_dimension: Some("ROWS".into()),
                values: Some(
                    (s.start..=s.end)
                        .map(|r| block.row(r).into_iter().map(to_value).collect())
                        .collect(),
                ),
            }
        })
        .collect()
}

/// Google compares tab titles without regard to case: `orders` and `Orders` are one tab.
pub fn same_title(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// Upserts `rows` (one per key; later ones win) into the target tab: [`try_upsert`] with its
/// error already a [`StepError`], for a caller that reports to Step Functions directly.
pub async fn upsert<W: Workbook>(
    book: &W,
    target: &Target<'_>,
    rows: &[SheetRow],
    deadline: Instant,
    guard: &mut impl WriteGuard,
) -> Result<UpsertSummary, StepError> {
    Ok(try_upsert(book, target, rows, deadline, guard).await?)
}

/// Upserts `rows` (one per key; later ones win) into the target tab.
///
/// Three steps: read the tab once and plan; [`ensure_grid`] (the tab exists and is big enough,
/// before any value is written); [`write_blocks`], each request after the check that nothing
/// it targets moved ([`crate::moved`]). When something did (a person sorted or inserted rows),
/// the tab is read and planned again, at most [`MAX_REPLANS`] times.
pub async fn try_upsert<W: Workbook>(
    book: &W,
    target: &Target<'_>,
    rows: &[SheetRow],
    deadline: Instant,
    guard: &mut impl WriteGuard,
) -> Result<UpsertSummary, SheetsError> {
    let (reads0, writes0) = book.calls();
    // Keys written by the requests of plans that were abandoned (true: appended).
    let mut earlier: HashMap<&str, bool> = HashMap::new();
    let mut replans = 0;
    let mut workbook_cells = None;
    // What the plan needs of the tab: the tab itself is never held (crate::scan).
    let needs = PlanNeeds::new(target.headers, target.key_index, rows);
    let (plan_counts, duplicates) = loop {
        let read = book
            .read_tab(target.spreadsheet, target.tab, &needs, deadline)
            .await?;
        let empty = TabIndex::default();
        let index = read.as_ref().map_or(&empty, |r| &r.index);
        let plan = plan_index(index, target.headers, target.key_index, rows)
            .map_err(|e| SheetsError::Sheet(e.to_string()))?;
        if let Some(cells) =
            ensure_grid(book, target, read.as_ref(), &plan, deadline, guard).await?
        {
            workbook_cells = Some(cells);
        }
        match write_blocks(book, target, &plan, deadline, guard, &mut earlier).await? {
            None => break (counts(&plan, &earlier), plan.duplicate_keys.len() as u64),
            Some(what) if replans < MAX_REPLANS => {
                replans += 1;
                warn!(
                    moved = what.as_str(),
                    replans,
                    "the tab changed under the write (a sort, or rows inserted or deleted): reading it again"
                );
            }
            Some(what) => {
                return Err(SheetsError::Upstream {
                    message: format!(
                        "the tab kept changing while ordersync wrote it ({what}, and {MAX_REPLANS} times before); nothing was written over a moved row"
                    ),
                });
            }
        }
    };

    let (reads1, writes1) = book.calls();
    let summary = UpsertSummary {
        appended: plan_counts.0,
        updated: plan_counts.1,
        unchanged: plan_counts.2,
        duplicate_keys_in_sheet: duplicates,
        reads: reads1 - reads0,
        writes: writes1 - writes0,
        workbook_cells,
    };
    if let Some(cells) = summary.workbook_cells {
        let budget = ordersync_core::events::CellBudget::new(cells, book.limits().max_cells as u64);
        if budget.warning {
            warn!(
                cells,
                limit = budget.limit,
                "the workbook uses over 80 % of Google's cell limit: new rows will soon be refused; move old rows to another spreadsheet or delete unused tabs and columns"
            );
        }
    }
    info!(
        appended = summary.appended,
        updated = summary.updated,
        unchanged = summary.unchanged,
        duplicate_keys_in_sheet = summary.duplicate_keys_in_sheet,
        reads = summary.reads,
        writes = summary.writes,
        replans,
        "sheet upserted"
    );
    Ok(summary)
}

/// Times the upsert reads and plans again after the tab moved under a write.
pub const MAX_REPLANS: usize = 3;

/// (appended, updated, unchanged) over the final plan and the requests of abandoned ones: a key
/// counts once, as what its first write did.
fn counts<'a>(plan: &Plan<'a>, earlier: &HashMap<&'a str, bool>) -> (u64, u64, u64) {
    let total = plan.appended + plan.updated + plan.unchanged;
    if earlier.is_empty() {
        return (plan.appended, plan.updated, plan.unchanged);
    }
    let mut keys = earlier.clone();
    for (key, appended) in written_keys(plan, plan.row_writes.iter().map(|w| (w, 0..w.rows.len())))
    {
        keys.entry(key).or_insert(appended);
    }
    let appended = keys.values().filter(|&&a| a).count() as u64;
    let updated = keys.len() as u64 - appended;
    (appended, updated, total.saturating_sub(appended + updated))
}

/// The keys the given rows of each write put in the sheet, each with whether it was appended.
fn written_keys<'a, 'p>(
    plan: &Plan<'a>,
    slices: impl IntoIterator<Item = (&'p RowsWrite<'a>, std::ops::Range<usize>)>,
) -> Vec<(&'a str, bool)>
where
    'a: 'p,
{
    slices
        .into_iter()
        .flat_map(|(w, rows)| {
            rows.map(move |i| {
                (
                    w.rows[i].key.as_str(),
                    w.first_row + i >= plan.expect.first_new_row,
                )
            })
        })
        .collect()
}

/// Makes sure the tab exists and its grid holds the plan's writes, before any value is written
/// — so exceeding a limit writes nothing. When the read found the tab big enough this costs no
/// call; otherwise one `spreadsheets.get` (tab ids and sizes, for the workbook's cell limit) and
/// at most one structure change.
async fn ensure_grid<W: Workbook>(
    book: &W,
    target: &Target<'_>,
    read: Option<&TabRead>,
    plan: &Plan<'_>,
    deadline: Instant,
    guard: &mut impl WriteGuard,
) -> Result<Option<u64>, SheetsError> {
    let (grid_rows, grid_cols) = read.map_or((0, 0), |r| (r.grid_rows, r.grid_cols));
    let need_rows = plan.needed_rows.max(1);
    let need_cols = plan.needed_cols.max(1);
    if read.is_some() && need_rows <= grid_rows && need_cols <= grid_cols {
        return Ok(None);
    }
    let tabs = book.tabs(target.spreadsheet, deadline).await?;
    let ours = tabs.iter().find(|t| same_title(&t.title, target.tab));
    if read.is_none()
        && let Some(tab) = ours
    {
        return Err(unreadable_tab(target.tab, tab));
    }
    let (rows_after, cols_after) = match ours {
        Some(t) => (t.rows.max(need_rows), t.cols.max(need_cols)),
        // At least the frozen header and one row: Google refuses a tab whose every row is
        // frozen ("You can't freeze all visible rows"), which a first, empty window asks for.
        None => (need_rows.max(MIN_NEW_TAB_ROWS), need_cols),
    };
    let cells = check_cell_limit(
        &tabs,
        target.tab,
        rows_after,
        cols_after,
        book.limits().max_cells,
    )? as u64;
    let change = match ours {
        None => GridChange::AddTab {
            title: target.tab.to_owned(),
            rows: rows_after,
            cols: cols_after,
            frozen_rows: 1,
        },
        Some(t) if rows_after > t.rows || cols_after > t.cols => GridChange::Resize {
            sheet_id: t.sheet_id,
            rows: rows_after,
            cols: cols_after,
        },
        Some(_) => return Ok(Some(cells)),
    };
    apply_grid_change(
        book,
        target,
        &change,
        (need_rows, need_cols),
        deadline,
        guard,
    )
    .await?;
    Ok(Some(cells))
}

/// The read said "Unable to parse range", yet the tab is there: never treat it as empty and
/// start over (every order appended again under a second header). Seen when the title differs
/// only in case (Google's titles are unique without regard to case), and it would be seen if
/// the client library began encoding ranges that we already encode (google-apis-rs #560 / PR
/// #572).
fn unreadable_tab(wanted: &str, tab: &TabInfo) -> SheetsError {
    let case = if tab.title == wanted {
        String::new()
    } else {
        format!(
            " (the tab is named `{}`: sheet.tab differs from it only in case; use the tab's exact title)",
            tab.title
        )
    };
    SheetsError::Sheet(format!(
        "tab `{wanted}` exists but could not be read by its title{case}; nothing was written"
    ))
}

/// Google's cell limit counts every tab, empty cells included: the other tabs plus ours at its
/// size after the change must fit.
fn check_cell_limit(
    tabs: &[TabInfo],
    tab: &str,
    rows_after: usize,
    cols_after: usize,
    limit: usize,
) -> Result<usize, SheetsError> {
    let others: usize = tabs
        .iter()
        .filter(|t| !same_title(&t.title, tab))
        .map(|t| t.rows * t.cols)
        .sum();
    let total = others + rows_after * cols_after;
    if total > limit {
        return Err(SheetsError::Sheet(format!(
            "the workbook would have {total} cells ({rows_after} rows × {cols_after} columns in this tab, {others} in the others), over Google's limit of {limit}; nothing was written"
        )));
    }
    Ok(total)
}

/// Applies the structure change. Applied with its answer lost (a 503, an unreadable 200), the
/// retry is refused (`addSheet` answers "already exists"): the tabs are looked at again, and the
/// change counts as done when the tab is there and big enough (`need` rows and columns).
async fn apply_grid_change<W: Workbook>(
    book: &W,
    target: &Target<'_>,
    change: &GridChange,
    (need_rows, need_cols): (usize, usize),
    deadline: Instant,
    guard: &mut impl WriteGuard,
) -> Result<(), SheetsError> {
    let Err(error) = book
        .change_grid(target.spreadsheet, change, deadline, guard)
        .await
    else {
        return Ok(());
    };
    let applied = matches!(error, SheetsError::Rejected { .. })
        && book
            .tabs(target.spreadsheet, deadline)
            .await
            .is_ok_and(|tabs| {
                tabs.iter().any(|t| {
                    same_title(&t.title, target.tab) && t.rows >= need_rows && t.cols >= need_cols
                })
            });
    if !applied {
        return Err(error);
    }
    info!("the structure change was applied by an attempt whose answer was lost");
    Ok(())
}

/// Writes the plan's header cells and rows, packed into as few requests as the size limit
/// allows; each request's values are built just before it is sent. Before each request, row 1
/// and the key column over its rows are read again: if anything moved, nothing more is written
/// and what moved is returned (the keys the requests before it wrote go into `earlier`).
async fn write_blocks<'a, W: Workbook>(
    book: &W,
    target: &Target<'_>,
    plan: &Plan<'a>,
    deadline: Instant,
    guard: &mut impl WriteGuard,
    earlier: &mut HashMap<&'a str, bool>,
) -> Result<Option<String>, SheetsError> {
    let blocks: Vec<Block> = plan
        .header_writes
        .iter()
        .map(Block::Header)
        .chain(plan.row_writes.iter().map(Block::Rows))
        .collect();
    let layout = requests(target.tab, &blocks, book.limits().max_request_bytes);
    for (done, request) in layout.iter().enumerate() {
        let span = row_span(&blocks, request);
        let read = book
            .read_keys(
                target.spreadsheet,
                target.tab,
                plan.expect.key_col,
                span,
                deadline,
            )
            .await?;
        if let Some(what) = crate::moved::what_moved(&read, plan, span) {
            // Only the rows those requests held: a tall block can be split across requests.
            let sent = layout[..done]
                .iter()
                .flatten()
                .filter_map(|s| match blocks[s.block] {
                    Block::Rows(w) => Some((w, s.start..s.end + 1)),
                    Block::Header(_) => None,
                });
            for (key, appended) in written_keys(plan, sent) {
                earlier.entry(key).or_insert(appended);
            }
            return Ok(Some(what));
        }
        let request = value_ranges(target.tab, &blocks, request);
        book.write_values(target.spreadsheet, request, deadline, guard)
            .await?;
    }
    Ok(None)
}

/// The data rows a request writes (grid rows, inclusive); `(1, 1)` for one with header cells
/// only (the key check then reads one cell).
fn row_span(blocks: &[Block], request: &[Slice]) -> (usize, usize) {
    request
        .iter()
        .filter(|s| matches!(blocks[s.block], Block::Rows(_)))
        .map(|s| {
            let first = blocks[s.block].first_row();
            (first + s.start, first + s.end)
        })
        .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
        .unwrap_or((1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::MIN_REQUEST_BYTES;

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
        let blocks = [block(2, 300), block(400, 5)];
        let blocks: Vec<Block> = blocks.iter().map(Block::Header).collect();
        for max in [MIN_REQUEST_BYTES, 20_000, MAX_REQUEST_BYTES] {
            let layout = requests("t", &blocks, max);
            let out: Vec<Vec<ValueRange>> = layout
                .iter()
                .map(|r| value_ranges("t", &blocks, r))
                .collect();
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
            // As few requests as the size allows: every one but the last is well filled (the
            // old split at half the limit made twice as many).
            let total: usize = out.iter().map(|r| body_bytes(r)).sum();
            assert!(
                out.len() <= total.div_ceil(max * 3 / 4).max(1),
                "max {max}: {} requests for {total} bytes",
                out.len()
            );
        }
    }

    #[tokio::test]
    async fn a_run_that_lists_the_tabs_reports_the_workbooks_cells() {
        use crate::memory::MemoryWorkbook;
        use crate::workbook::Limits;
        let book = MemoryWorkbook::new("b").with_limits(Limits {
            max_cells: 100,
            max_request_bytes: MAX_REQUEST_BYTES,
        });
        book.add_tab("other", 10, 3);
        let headers = ["k".to_owned(), "v".to_owned()];
        let target = Target {
            spreadsheet: "b",
            tab: "t",
            headers: &headers,
            key_index: 0,
        };
        let row = |k: usize| SheetRow {
            key: k.to_string(),
            cells: vec![Cell::Text(k.to_string()), Cell::Text("x".into())],
            sync: None,
        };
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        // A new tab of 1 + 29 rows × 2 columns beside the other's 30 cells: 90 of 100.
        let rows: Vec<SheetRow> = (0..29).map(row).collect();
        let s = try_upsert(&book, &target, &rows, deadline, &mut Unguarded)
            .await
            .unwrap();
        assert_eq!(s.workbook_cells, Some(90));
        // Nothing grows: the tabs are not listed, the use is not known.
        let s = try_upsert(&book, &target, &rows, deadline, &mut Unguarded)
            .await
            .unwrap();
        assert_eq!(s.workbook_cells, None);
    }
}
