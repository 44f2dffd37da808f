//! Deciding an upsert, without I/O: given what the tab holds and the rows we want, which header
//! cells to add, which rows to write where, and what to report.
//!
//! - Columns are matched by header text (trimmed), never by position: the seller may reorder
//!   columns or add their own anywhere. Managed headers missing from the sheet are added after
//!   the last header cell. A blank header cell (one a merge hides) is no header. When row 1 has
//!   no key header but rows below hold data (row 1 cleared, a title above the header, the key
//!   header renamed, the seller's own table), nothing can be matched: the plan is refused rather
//!   than labelling the seller's cells with our headers or appending every order again.
//! - Rows are matched by key. A new key goes to the first row after the last data row (a row
//!   with any cell a person filled: checkbox columns formatted far down, which read `FALSE`,
//!   do not count); a key
//!   whose managed cells differ is rewritten in place (all its managed cells but the kept
//!   ones, [`Cell::Keep`]); an equal row is left alone. A key of ours found twice in the sheet
//!   is updated in its first row and reported.
//! - The plan works from what [`crate::scan`] keeps of the tab ([`plan_index`]); [`plan`] takes a
//!   tab held in memory ([`Existing`]) through the same scan.
//! - Only managed columns are ever written: every write range covers a contiguous run of
//!   managed columns, so a seller's column between two of ours is never touched.

use std::collections::HashMap;

use ordersync_core::latest::LatestPerKey;
use ordersync_core::rows::{Cell, SheetRow};
use serde_json::Value;

use crate::scan::{PlanNeeds, TabIndex};

/// A cell no person filled: blank, or an unticked checkbox (`FALSE`).
pub(crate) fn untouched(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// A tab held in memory: its header row and data rows, as read with `UNFORMATTED_VALUE`
/// (numbers are JSON numbers), trailing empties trimmed. The upsert never holds a tab like this
/// (it keeps a [`TabIndex`]); tests and [`plan`] use it to state a tab plainly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Existing {
    pub header: Vec<Value>,
    pub rows: Vec<Vec<Value>>,
}

/// One write: a block of rows × a contiguous run of columns (0-based grid indexes; row 0 is the
/// header row).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockWrite {
    pub first_row: usize,
    pub first_col: usize,
    pub values: Vec<Vec<Cell>>,
}

impl BlockWrite {
    pub fn last_row(&self) -> usize {
        self.first_row + self.values.len() - 1
    }

    pub fn last_col(&self) -> usize {
        self.first_col + self.values.first().map_or(1, Vec::len) - 1
    }
}

/// One write of data rows: consecutive sheet rows × a contiguous run of columns, holding
/// references to the rows being upserted rather than copies of their cells (at 100,000 rows a
/// copy of every cell is tens of megabytes a Lambda does not need).
#[derive(Debug, Clone, PartialEq)]
pub struct RowsWrite<'a> {
    pub first_row: usize,
    pub first_col: usize,
    pub rows: Vec<&'a SheetRow>,
    /// For each column of the run, in sheet order, the index of its cell in a row's `cells`.
    pub cells: Vec<usize>,
}

impl RowsWrite<'_> {
    pub fn last_row(&self) -> usize {
        self.first_row + self.rows.len().max(1) - 1
    }

    pub fn last_col(&self) -> usize {
        self.first_col + self.cells.len().max(1) - 1
    }

    /// The cells this write puts at block row `r`, in sheet order.
    pub fn row(&self, r: usize) -> impl Iterator<Item = &Cell> + '_ {
        self.cells.iter().map(move |&h| &self.rows[r].cells[h])
    }

    /// The block's cells, copied (for inspection; the upsert never copies them).
    pub fn values(&self) -> Vec<Vec<Cell>> {
        (0..self.rows.len())
            .map(|r| self.row(r).cloned().collect())
            .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan<'a> {
    /// Header cells to write (new managed columns), as blocks on row 0.
    pub header_writes: Vec<BlockWrite>,
    /// Data writes: new rows and changed rows.
    pub row_writes: Vec<RowsWrite<'a>>,
    pub appended: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Keys that appear more than once in the sheet (updated in their first row).
    pub duplicate_keys: Vec<String>,
    /// Grid size the writes need (rows, columns).
    pub needed_rows: usize,
    pub needed_cols: usize,
    /// What the sheet must still hold when each write request is sent ([`crate::moved`]).
    pub expect: Expect,
}

/// Where the plan found things, for the check before each write: a person who sorts, inserts
/// or deletes rows (or columns) after our read would otherwise have us overwrite other orders.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expect {
    /// The key column (0-based).
    pub key_col: usize,
    /// The first row new keys go to (0-based grid row): rows from here on are appended.
    pub first_new_row: usize,
    /// Each managed header's column and text, and whether this plan adds it (blank until the
    /// header write lands).
    pub headers: Vec<(usize, String, bool)>,
}

/// The sheet's header row cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error(
        "the header `{header}` appears more than once in row 1 (columns {first} and {second}); rename one so rows can be matched by header"
    )]
    Duplicate {
        header: String,
        first: String,
        second: String,
    },
    #[error(
        "row 1 has no `{key}` header, yet rows below it hold data (rows with data: {rows}), so no row can be matched by its key; row 1 must be the header row: put the header back (or move the other data to another tab), then rerun"
    )]
    MissingKey { key: String, rows: usize },
}

/// Integers below 2^53 are exact in a double: a key read back as a number is its integer text.
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// Text of a cell as read back, for matching keys and headers.
pub fn cell_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            // A key typed as a number reads back as one (`2026110112345678`, or as a double,
            // `2.026110112345678E15`); compare it as its integer text while that is exact.
            Some(f) if f.fract() == 0.0 && f.abs() < EXACT_INTEGERS => format!("{}", f as i64),
            _ => n.to_string(),
        },
        Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        _ => String::new(),
    }
}

/// The plan's comparison of a sheet cell with ours, on the cells themselves. The upsert compares
/// digests ([`crate::scan::CellDigest::matches`]) with the same rules; a test holds the two
/// together.
#[cfg(test)]
fn same(existing: Option<&Value>, wanted: &Cell) -> bool {
    match (existing, wanted) {
        // Not known to this import: whatever the sheet holds stays.
        (_, Cell::Keep(_)) => true,
        (None | Some(Value::Null), Cell::Text(t)) => t.is_empty(),
        (None | Some(Value::Null), Cell::Number(_)) => false,
        (Some(Value::String(s)), Cell::Text(t)) => s == t,
        (Some(Value::Number(n)), Cell::Number(i)) => n.as_f64() == Some(*i as f64),
        // A person retyped or pasted the number as text: it shows the same, leave it.
        (Some(Value::String(s)), Cell::Number(i)) => s.trim() == i.to_string(),
        (Some(Value::Bool(_)), Cell::Text(t)) => cell_text(existing.expect("matched Some")) == *t,
        _ => false,
    }
}

/// Splits sorted column indexes into contiguous runs: `[1,2,3,5,6]` → `[(1,3),(5,6)]`.
fn runs(columns: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &c in columns {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == c => *end = c,
            _ => out.push((c, c)),
        }
    }
    out
}

/// Plans the upsert of `rows` (one per key; later duplicates win) with `headers` (ours, in
/// cell order) and the key at `key_index` of them.
///
/// The steps, each a function below: find our headers in row 1 (refusing a row 1 we cannot
/// match by), place the missing ones after the last header cell, index the sheet's keys, keep
/// the latest wanted row per key, diff those against the sheet, and group the rows to write into
/// blocks of consecutive rows × contiguous managed columns.
pub fn plan<'a>(
    existing: &Existing,
    headers: &[String],
    key_index: usize,
    rows: &'a [SheetRow],
) -> Result<Plan<'a>, HeaderError> {
    let needs = PlanNeeds::new(headers, key_index, rows);
    let all = std::iter::once(existing.header.clone()).chain(existing.rows.iter().cloned());
    plan_index(&TabIndex::of_rows(all, &needs), headers, key_index, rows)
}

/// [`plan`] from what the upsert keeps of the tab ([`TabIndex`], built for these `headers`,
/// `key_index` and `rows`).
pub fn plan_index<'a>(
    index: &TabIndex,
    headers: &[String],
    key_index: usize,
    rows: &'a [SheetRow],
) -> Result<Plan<'a>, HeaderError> {
    let found = locate_headers(&index.header, headers)?;
    check_key_header(index, &found, &headers[key_index])?;
    let layout = place_headers(&index.header, headers, found);
    let key_col = layout.sheet_col[key_index];
    let wanted = latest_per_key(rows);
    let diff = diff_rows(index, wanted);
    let row_writes = group_blocks(&diff.writes, &layout.sheet_col);
    let expect = Expect {
        key_col,
        first_new_row: first_free_row(index),
        headers: headers
            .iter()
            .zip(&layout.sheet_col)
            .map(|(h, &c)| (c, h.clone(), layout.added.iter().any(|(a, _)| *a == c)))
            .collect(),
    };
    Ok(Plan {
        expect,
        header_writes: header_writes(&layout.added),
        row_writes,
        appended: diff.appended,
        updated: diff.updated,
        unchanged: diff.unchanged,
        duplicate_keys: index.duplicates.clone(),
        needed_rows: diff.next_row.max(1),
        needed_cols: layout
            .next_col
            .max(layout.sheet_col.iter().max().map_or(0, |m| m + 1)),
    })
}

/// Where each managed header already is in row 1 (by trimmed text; a blank cell is no header).
/// A managed header found twice is refused: rows could not be matched by it.
pub(crate) fn locate_headers<'h>(
    header: &[Value],
    headers: &'h [String],
) -> Result<HashMap<&'h str, usize>, HeaderError> {
    let mut position: HashMap<&str, usize> = HashMap::new();
    for (col, value) in header.iter().enumerate() {
        let text = cell_text(value);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if let Some(h) = headers.iter().find(|h| h.trim() == text) {
            if let Some(&first) = position.get(h.as_str()) {
                return Err(HeaderError::Duplicate {
                    header: text.to_owned(),
                    first: crate::a1::column_letters(first),
                    second: crate::a1::column_letters(col),
                });
            }
            position.insert(h.as_str(), col);
        }
    }
    Ok(position)
}

/// Without the key header in row 1, rows below that hold data cannot be matched: labelling them
/// with our headers, or appending every order under them again, would both be wrong.
fn check_key_header(
    index: &TabIndex,
    found: &HashMap<&str, usize>,
    key_header: &str,
) -> Result<(), HeaderError> {
    if found.contains_key(key_header) {
        return Ok(());
    }
    let rows = index.rows_with_data;
    if rows > 0 {
        return Err(HeaderError::MissingKey {
            key: key_header.to_owned(),
            rows,
        });
    }
    Ok(())
}

/// Where the managed columns are, once the missing headers are placed.
pub(crate) struct Layout {
    /// For each managed header (in cell order), its sheet column.
    pub(crate) sheet_col: Vec<usize>,
    /// The headers to add, with the column each goes to.
    added: Vec<(usize, String)>,
    /// The first column after the header row's cells and the added headers.
    next_col: usize,
}

/// Gives every managed header a column: its own when row 1 has it, else the next one after the
/// last header cell (so a seller's columns are never overwritten by a new header).
pub(crate) fn place_headers<'h>(
    header: &[Value],
    headers: &'h [String],
    mut position: HashMap<&'h str, usize>,
) -> Layout {
    let mut next_col = header.len();
    let mut added = Vec::new();
    let sheet_col: Vec<usize> = headers
        .iter()
        .map(|h| {
            *position.entry(h.as_str()).or_insert_with(|| {
                let col = next_col;
                next_col += 1;
                added.push((col, h.clone()));
                col
            })
        })
        .collect();
    Layout {
        sheet_col,
        added,
        next_col,
    }
}

/// The new header cells, as blocks on row 0: one per contiguous run of added columns.
fn header_writes(added: &[(usize, String)]) -> Vec<BlockWrite> {
    let mut added_cols: Vec<usize> = added.iter().map(|(c, _)| *c).collect();
    added_cols.sort_unstable();
    let header_of = |c: usize| {
        added
            .iter()
            .find(|(col, _)| *col == c)
            .map(|(_, h)| h.clone())
            .unwrap_or_default()
    };
    runs(&added_cols)
        .into_iter()
        .map(|(start, end)| BlockWrite {
            first_row: 0,
            first_col: start,
            values: vec![(start..=end).map(|c| Cell::Text(header_of(c))).collect()],
        })
        .collect()
}

/// One wanted row per key: a later row for the same key wins (a later window is a later
/// change), in the place of the first ([`ordersync_core::latest`]).
fn latest_per_key<'a>(rows: &'a [SheetRow]) -> Vec<&'a SheetRow> {
    let mut latest: LatestPerKey<&'a str, &'a SheetRow> = LatestPerKey::with_capacity(rows.len());
    for row in rows {
        latest.offer_later_wins(row.key.as_str(), row);
    }
    latest.into_items()
}

/// The wanted rows compared with the sheet.
struct Diff<'a> {
    /// Sheet row (0-based grid index; row 0 is the header) and the row to write there, in
    /// sheet order.
    writes: Vec<(usize, &'a SheetRow)>,
    appended: u64,
    updated: u64,
    unchanged: u64,
    /// The first row after the appended ones.
    next_row: usize,
}

/// The grid row new keys start at: right under the last row that holds anything a person put
/// there (a key, or any cell other than blank or an unticked checkbox). A checkbox or
/// data-validation column formatted far down reads back as `FALSE` under UNFORMATTED_VALUE in
/// rows that look empty; counting those, new orders would land under hundreds of visually empty
/// rows.
fn first_free_row(index: &TabIndex) -> usize {
    index.last_filled.map_or(1, |i| i + 2)
}

/// Decides each wanted row: unchanged (its managed cells equal the sheet's), updated in its
/// row (any managed cell differs; all of them are rewritten), or appended.
fn diff_rows<'a>(index: &TabIndex, wanted: Vec<&'a SheetRow>) -> Diff<'a> {
    let mut diff = Diff {
        writes: Vec::new(),
        appended: 0,
        updated: 0,
        unchanged: 0,
        next_row: first_free_row(index),
    };
    for row in wanted {
        match index.found.get(row.key.as_str()) {
            Some(found) => {
                let equal = (0..found.cells.len()).all(|h| found.matches(h, &row.cells[h]));
                if equal {
                    diff.unchanged += 1;
                } else {
                    diff.updated += 1;
                    diff.writes.push((found.row + 1, row));
                }
            }
            None => {
                diff.appended += 1;
                diff.writes.push((diff.next_row, row));
                diff.next_row += 1;
            }
        }
    }
    diff.writes.sort_by_key(|(r, _)| *r);
    diff
}

/// The cells of `row` this upsert leaves alone ([`Cell::Keep`]), by cell index.
fn kept(row: &SheetRow) -> Vec<usize> {
    (0..row.cells.len())
        .filter(|&h| row.cells[h].is_keep())
        .collect()
}

/// Groups the writes (sorted by sheet row) into blocks: consecutive rows that keep the same
/// cells share one block per contiguous run of the managed columns they write, so a seller's
/// column between two of ours, and a kept cell, are never in a write range.
fn group_blocks<'a>(writes: &[(usize, &'a SheetRow)], sheet_col: &[usize]) -> Vec<RowsWrite<'a>> {
    // Managed columns in sheet order.
    let mut order: Vec<usize> = (0..sheet_col.len()).collect();
    order.sort_by_key(|&i| sheet_col[i]);

    let mut blocks = Vec::new();
    let mut start = 0;
    while start < writes.len() {
        let keeps = kept(writes[start].1);
        let mut end = start;
        while end + 1 < writes.len()
            && writes[end + 1].0 == writes[end].0 + 1
            && kept(writes[end + 1].1) == keeps
        {
            end += 1;
        }
        let written: Vec<usize> = order
            .iter()
            .copied()
            .filter(|h| !keeps.contains(h))
            .collect();
        let sorted_cols: Vec<usize> = written.iter().map(|&h| sheet_col[h]).collect();
        for (first, last) in runs(&sorted_cols) {
            let cells = (first..=last)
                .map(|c| {
                    written
                        .iter()
                        .find(|&&h| sheet_col[h] == c)
                        .copied()
                        .expect("run of managed columns")
                })
                .collect();
            blocks.push(RowsWrite {
                first_row: writes[start].0,
                first_col: first,
                rows: writes[start..=end].iter().map(|(_, row)| *row).collect(),
                cells,
            });
        }
        start = end + 1;
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The upsert compares digests of the sheet's cells ([`crate::scan`]); they must decide
    /// exactly as the comparison on the cells themselves does, pair by pair.
    #[test]
    fn digests_compare_as_the_cells_do() {
        let values = [
            None,
            Some(json!(null)),
            Some(json!("")),
            Some(json!(" ")),
            Some(json!("abc")),
            Some(json!("5")),
            Some(json!(" 5")),
            Some(json!("5 ")),
            Some(json!("-3")),
            Some(json!("TRUE")),
            Some(json!("FALSE")),
            Some(json!(true)),
            Some(json!(false)),
            Some(json!(5)),
            Some(json!(5.0)),
            Some(json!(5.5)),
            Some(json!(0)),
            Some(json!(-0.0)),
            Some(json!(-3)),
            Some(json!(2026110112345678_i64)),
            Some(json!(2.026110112345678e15)),
            Some(json!("2026110112345678")),
            Some(json!([1])),
        ];
        let cells = [
            Cell::Text(String::new()),
            Cell::Text(" ".into()),
            Cell::Text("5".into()),
            Cell::Text(" 5".into()),
            Cell::Text("abc".into()),
            Cell::Text("TRUE".into()),
            Cell::Text("FALSE".into()),
            Cell::Text("2026110112345678".into()),
            Cell::Number(5),
            Cell::Number(0),
            Cell::Number(-3),
            Cell::Number(2026110112345678),
            Cell::Keep(ordersync_core::rows::Kept {}),
        ];
        for value in &values {
            let digest = crate::scan::CellDigest::of(value.as_ref());
            let trimmed = match value {
                Some(Value::String(s)) if s.trim() != s => {
                    Some(crate::scan::CellDigest::of(Some(&json!(s.trim()))))
                }
                _ => None,
            };
            for cell in &cells {
                assert_eq!(
                    digest.matches(trimmed, cell),
                    same(value.as_ref(), cell),
                    "{value:?} vs {cell:?}"
                );
            }
        }
    }

    fn headers() -> Vec<String> {
        ["상품주문번호", "상태", "수량"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// Rows that outlive the plan borrowing them (a test's temporaries would not).
    fn rows(rows: Vec<SheetRow>) -> &'static [SheetRow] {
        Box::leak(rows.into_boxed_slice())
    }

    fn row(key: &str, status: &str, qty: i64) -> SheetRow {
        SheetRow {
            sync: None,
            key: key.into(),
            cells: vec![
                Cell::Text(key.into()),
                Cell::Text(status.into()),
                Cell::Number(qty),
            ],
        }
    }

    fn to_json(cell: &Cell) -> Value {
        match cell {
            Cell::Text(t) => json!(t),
            Cell::Number(n) => json!(n),
            Cell::Keep(_) => panic!("a kept cell has no value"),
        }
    }

    fn grid(rows: &[&[Value]]) -> Vec<Vec<Value>> {
        rows.iter().map(|r| r.to_vec()).collect()
    }

    #[test]
    fn empty_tab_gets_header_and_rows_in_one_block() {
        let p = plan(
            &Existing::default(),
            &headers(),
            0,
            rows(vec![row("1", "결제완료", 1), row("2", "배송중", 2)]),
        )
        .unwrap();
        assert_eq!(
            p.header_writes,
            vec![BlockWrite {
                first_row: 0,
                first_col: 0,
                values: vec![headers().into_iter().map(Cell::Text).collect()]
            }]
        );
        assert_eq!(p.row_writes.len(), 1);
        assert_eq!(
            (
                p.row_writes[0].first_row,
                p.row_writes[0].last_row(),
                p.row_writes[0].last_col()
            ),
            (1, 2, 2)
        );
        assert_eq!((p.appended, p.updated, p.unchanged), (2, 0, 0));
        assert_eq!((p.needed_rows, p.needed_cols), (3, 3));
    }

    #[test]
    fn unchanged_rows_make_no_writes_and_numbers_compare_as_numbers() {
        let existing = Existing {
            header: vec![json!("상품주문번호"), json!("상태"), json!("수량")],
            rows: grid(&[
                &[json!("1"), json!("결제완료"), json!(1)],
                &[json!("2"), json!("배송중"), json!(2.0)],
            ]),
        };
        let p = plan(
            &existing,
            &headers(),
            0,
            rows(vec![row("2", "배송중", 2), row("1", "결제완료", 1)]),
        )
        .unwrap();
        assert!(
            p.header_writes.is_empty() && p.row_writes.is_empty(),
            "{p:?}"
        );
        assert_eq!(p.unchanged, 2);
    }

    #[test]
    fn a_number_stored_as_equal_text_is_unchanged() {
        let existing = Existing {
            header: vec![json!("상품주문번호"), json!("상태"), json!("수량")],
            rows: grid(&[&[json!("1"), json!("a"), json!("3")]]),
        };
        assert_eq!(
            plan(&existing, &headers(), 0, rows(vec![row("1", "a", 3)]))
                .unwrap()
                .unchanged,
            1
        );
        assert_eq!(
            plan(&existing, &headers(), 0, rows(vec![row("1", "a", 4)]))
                .unwrap()
                .updated,
            1
        );
    }

    #[test]
    fn seller_columns_and_order_are_respected() {
        // The seller moved 수량 first and put their own 메모 column between ours.
        let existing = Existing {
            header: vec![
                json!("수량"),
                json!("메모"),
                json!("상품주문번호"),
                json!("상태"),
            ],
            rows: grid(&[&[json!(1), json!("포장 완료"), json!("1"), json!("결제완료")]]),
        };
        let p = plan(
            &existing,
            &headers(),
            0,
            rows(vec![row("1", "배송중", 1), row("3", "결제완료", 5)]),
        )
        .unwrap();
        assert!(p.header_writes.is_empty());
        assert_eq!((p.updated, p.appended), (1, 1));
        // Two consecutive rows (1 and 2) × two column runs (A, C:D); never column B.
        let ranges: Vec<_> = p
            .row_writes
            .iter()
            .map(|w| (w.first_row, w.first_col, w.last_col()))
            .collect();
        assert_eq!(ranges, [(1, 0, 0), (1, 2, 3)]);
        assert_eq!(
            p.row_writes[1].values()[0],
            vec![Cell::Text("1".into()), Cell::Text("배송중".into())]
        );
        assert_eq!(p.row_writes[0].values()[1], vec![Cell::Number(5)]);
    }

    #[test]
    fn missing_managed_headers_go_after_the_last_header_cell() {
        let existing = Existing {
            header: vec![json!("상품주문번호"), json!("내 메모")],
            rows: grid(&[&[json!("1"), json!("x")]]),
        };
        let p = plan(
            &existing,
            &headers(),
            0,
            rows(vec![row("1", "결제완료", 1)]),
        )
        .unwrap();
        assert_eq!(
            p.header_writes,
            vec![BlockWrite {
                first_row: 0,
                first_col: 2,
                values: vec![vec![Cell::Text("상태".into()), Cell::Text("수량".into())]]
            }]
        );
        assert_eq!(p.needed_cols, 4);
        assert_eq!(p.updated, 1);
    }

    #[test]
    fn duplicates_and_numeric_keys() {
        let existing = Existing {
            header: vec![json!("상품주문번호"), json!("상태"), json!("수량")],
            rows: grid(&[
                &[json!(7), json!("a"), json!(1)],
                &[json!(""), json!("seller note")],
                &[json!("7"), json!("b"), json!(1)],
            ]),
        };
        let p = plan(&existing, &headers(), 0, rows(vec![row("7", "a", 1)])).unwrap();
        assert_eq!(p.duplicate_keys, ["7"]);
        // The first row holds key 7 (typed as a number): matched, and rewritten as text.
        assert_eq!((p.updated, p.appended), (1, 0));
        assert_eq!(p.row_writes[0].first_row, 1);
        assert_eq!(p.row_writes[0].values()[0][0], Cell::Text("7".into()));
        let p = plan(&existing, &headers(), 0, rows(vec![row("8", "new", 1)])).unwrap();
        assert_eq!(
            p.row_writes[0].first_row, 4,
            "after the last data row, blank-key rows included"
        );
    }

    #[test]
    fn unticked_checkboxes_below_the_data_do_not_push_new_rows_down() {
        // A seller's checkbox column (D) formatted 900 rows down reads FALSE in empty rows.
        let mut existing_rows = vec![
            vec![json!("1"), json!("a"), json!(1), json!(true)],
            vec![json!("2"), json!("b"), json!(1), json!(false)],
        ];
        existing_rows.extend((0..900).map(|_| vec![json!(""), json!(""), json!(""), json!(false)]));
        let mut header = headers().into_iter().map(Value::from).collect::<Vec<_>>();
        header.push(json!("확인"));
        let existing = Existing {
            header,
            rows: existing_rows,
        };
        let p = plan(&existing, &headers(), 0, rows(vec![row("3", "new", 1)])).unwrap();
        assert_eq!(p.appended, 1);
        assert_eq!(
            p.row_writes[0].first_row, 3,
            "right under the last data row"
        );
        assert_eq!(p.row_writes[0].first_col, 0);
        assert_eq!(
            p.row_writes[0].last_col(),
            2,
            "the checkbox column is not written"
        );

        // A ticked box, or any other value a person typed, is data: new rows go below it.
        let mut ticked = existing.clone();
        ticked.rows[10][3] = json!(true);
        let p = plan(&ticked, &headers(), 0, rows(vec![row("3", "new", 1)])).unwrap();
        assert_eq!(p.row_writes[0].first_row, 12);
    }

    #[test]
    fn a_duplicated_managed_header_is_an_error() {
        let existing = Existing {
            header: vec![json!("상태"), json!("상품주문번호"), json!("상태")],
            rows: vec![],
        };
        let err = plan(&existing, &headers(), 0, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the header `상태` appears more than once in row 1 (columns A and C); rename one so rows can be matched by header"
        );
    }

    #[test]
    fn without_the_key_header_rows_below_are_refused_and_an_empty_grid_is_fine() {
        let data = grid(&[&[json!("2026110100000000001"), json!("결제완료"), json!(1)]]);
        for header in [
            vec![],
            vec![json!("스마트스토어 주문 목록")],
            vec![json!("주문상품번호"), json!("상태"), json!("수량")],
            vec![json!(""), json!("상태")],
        ] {
            let existing = Existing {
                header: header.clone(),
                rows: data.clone(),
            };
            let err = plan(&existing, &headers(), 0, rows(vec![row("1", "a", 1)])).unwrap_err();
            assert_eq!(
                err,
                HeaderError::MissingKey {
                    key: "상품주문번호".into(),
                    rows: 1
                },
                "{header:?}"
            );
            assert!(
                err.to_string()
                    .starts_with("row 1 has no `상품주문번호` header")
            );
        }
        // Nothing below (or only blank cells): the headers are added as before.
        for below in [vec![], grid(&[&[], &[json!(""), json!(" ")]])] {
            let existing = Existing {
                header: vec![json!("메모")],
                rows: below,
            };
            let p = plan(&existing, &headers(), 0, rows(vec![row("1", "a", 1)])).unwrap();
            assert_eq!(p.header_writes[0].first_col, 1);
            assert_eq!(p.appended, 1);
        }
    }

    #[test]
    fn integer_keys_read_as_doubles_match_while_exact() {
        // Google may send a number cell as a double; below 2^53 it is still the exact id.
        assert_eq!(cell_text(&json!(2026110112345678.0)), "2026110112345678");
        assert_eq!(cell_text(&json!(2026110112345678_u64)), "2026110112345678");
        assert_eq!(cell_text(&json!(7.0)), "7");
        assert_eq!(cell_text(&json!(1.5)), "1.5");
        // A 19-digit id typed as a number was rounded by Sheets: it matches nothing.
        let rounded = "2026110100000000123".parse::<f64>().unwrap();
        assert_ne!(cell_text(&json!(rounded)), "2026110100000000123");
    }

    #[test]
    fn kept_cells_are_never_in_a_write_range_and_never_count_as_a_change() {
        let existing = Existing {
            header: vec![json!("상품주문번호"), json!("상태"), json!("수량")],
            rows: grid(&[
                &[json!("1"), json!("배송중"), json!(1)],
                &[json!("2"), json!("결제완료"), json!(2)],
                &[json!("3"), json!("구매확정"), json!(3)],
            ]),
        };
        let keep = |key: &str, qty: i64| {
            let mut r = row(key, "", qty);
            r.cells[1] = Cell::keep();
            r
        };
        let p = plan(
            &existing,
            &headers(),
            0,
            rows(vec![
                keep("1", 5),
                row("2", "배송중", 2),
                keep("3", 3),
                keep("4", 4),
            ]),
        )
        .unwrap();
        // Row 3 differs only in a kept cell: unchanged. Row 1's and the new row 4's writes go
        // around the status column; row 2 (which knows its status) is one block of its own.
        assert_eq!((p.appended, p.updated, p.unchanged), (1, 2, 1));
        let ranges: Vec<(usize, usize, usize, usize)> = p
            .row_writes
            .iter()
            .map(|w| (w.first_row, w.last_row(), w.first_col, w.last_col()))
            .collect();
        assert_eq!(
            ranges,
            [
                (1, 1, 0, 0),
                (1, 1, 2, 2),
                (2, 2, 0, 2),
                (4, 4, 0, 0),
                (4, 4, 2, 2)
            ]
        );
        assert!(
            p.row_writes
                .iter()
                .all(|w| w.values().iter().flatten().all(|c| !c.is_keep()))
        );
        let after = apply(&existing, &p);
        assert_eq!(after.rows[0], [json!("1"), json!("배송중"), json!(5)]);
        assert_eq!(after.rows[1], [json!("2"), json!("배송중"), json!(2)]);
        assert_eq!(after.rows[3], [json!("4"), json!(""), json!(4)]);
        // Consecutive rows keeping the same cells share their blocks.
        let p = plan(
            &Existing::default(),
            &headers(),
            0,
            rows(vec![keep("1", 1), keep("2", 2)]),
        )
        .unwrap();
        let ranges: Vec<(usize, usize, usize, usize)> = p
            .row_writes
            .iter()
            .map(|w| (w.first_row, w.last_row(), w.first_col, w.last_col()))
            .collect();
        assert_eq!(ranges, [(1, 2, 0, 0), (1, 2, 2, 2)]);
    }

    #[test]
    fn later_rows_for_a_key_win() {
        let p = plan(
            &Existing::default(),
            &headers(),
            0,
            rows(vec![row("1", "old", 1), row("1", "new", 1)]),
        )
        .unwrap();
        assert_eq!(p.appended, 1);
        assert_eq!(
            p.row_writes[0].values(),
            vec![vec![
                Cell::Text("1".into()),
                Cell::Text("new".into()),
                Cell::Number(1)
            ]]
        );
    }

    /// Applies a plan's writes to a grid, as the API would.
    fn apply(existing: &Existing, p: &Plan) -> Existing {
        let mut grid: Vec<Vec<Value>> = std::iter::once(existing.header.clone())
            .chain(existing.rows.iter().cloned())
            .collect();
        let blocks = p
            .header_writes
            .iter()
            .map(|w| (w.first_row, w.first_col, w.values.clone()));
        let rows = p
            .row_writes
            .iter()
            .map(|w| (w.first_row, w.first_col, w.values()));
        for (first_row, first_col, values) in blocks.chain(rows) {
            for (dr, cells) in values.iter().enumerate() {
                let r = first_row + dr;
                if grid.len() <= r {
                    grid.resize(r + 1, Vec::new());
                }
                for (dc, cell) in cells.iter().enumerate() {
                    let c = first_col + dc;
                    if grid[r].len() <= c {
                        grid[r].resize(c + 1, Value::String(String::new()));
                    }
                    grid[r][c] = match cell {
                        Cell::Text(t) => Value::String(t.clone()),
                        Cell::Number(n) => json!(n),
                        Cell::Keep(_) => panic!("a kept cell in a write range"),
                    };
                }
            }
        }
        let header = grid.first().cloned().unwrap_or_default();
        Existing {
            header,
            rows: grid.into_iter().skip(1).collect(),
        }
    }

    use proptest::prelude::*;

    /// In [`arb_rows`], a status this import does not know.
    const KEEP: &str = "(keep)";

    fn arb_rows() -> impl Strategy<Value = Vec<SheetRow>> {
        prop::collection::vec(
            (
                0u8..12,
                prop::sample::select(vec!["결제완료", "배송중", "=SUM(A1)", "", KEEP]),
                0i64..4,
            ),
            0..25,
        )
        .prop_map(|v| {
            v.into_iter()
                .map(|(k, s, q)| {
                    let mut r = row(&format!("2026{k:03}"), s, q);
                    if s == KEEP {
                        r.cells[1] = Cell::keep();
                    }
                    r
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Whatever the sheet holds (seller columns anywhere, earlier runs, reordered rows),
        /// applying a plan and planning again writes nothing, never touches seller cells, and
        /// leaves exactly one row per key with the latest values.
        #[test]
        fn upsert_converges_and_spares_seller_cells(
            first in arb_rows(),
            second in arb_rows(),
            seller_col in 0usize..4,
            shuffle in any::<u64>(),
        ) {
            let mut existing = Existing::default();
            let p = plan(&existing, &headers(), 0, &first).unwrap();
            existing = apply(&existing, &p);
            // The seller inserts their own column and fills it, then sorts the rows.
            for (i, r) in std::iter::once(&mut existing.header).chain(existing.rows.iter_mut()).enumerate() {
                let at = seller_col.min(r.len());
                r.insert(at, if i == 0 { json!("내 메모") } else { json!(format!("memo {i}")) });
            }
            let n = existing.rows.len();
            if n > 1 { existing.rows.rotate_left((shuffle as usize) % n); }
            let seller_at = existing.header.iter().position(|h| h == &json!("내 메모")).unwrap();
            let seller_cells: Vec<Value> = existing.rows.iter().map(|r| r.get(seller_at).cloned().unwrap_or(Value::Null)).collect();
            let status_at = existing.header.iter().position(|h| h == &json!("상태")).unwrap();
            let key_at = existing.header.iter().position(|h| h == &json!("상품주문번호")).unwrap();
            let status_before: std::collections::HashMap<String, Value> = existing.rows.iter()
                .map(|r| (r.get(key_at).map(cell_text).unwrap_or_default(), r.get(status_at).cloned().unwrap_or(json!(""))))
                .collect();

            let p = plan(&existing, &headers(), 0, &second).unwrap();
            let ranges = p.header_writes.iter().map(|w| (w.first_col, w.last_col()))
                .chain(p.row_writes.iter().map(|w| (w.first_col, w.last_col())));
            for (first, last) in ranges {
                prop_assert!(!(first..=last).contains(&seller_at), "wrote the seller's column: {first}..={last}");
            }
            let after = apply(&existing, &p);
            for (i, cell) in seller_cells.iter().enumerate() {
                prop_assert_eq!(after.rows[i].get(seller_at).cloned().unwrap_or(Value::Null), cell.clone());
            }
            let again = plan(&after, &headers(), 0, &second).unwrap();
            prop_assert!(again.row_writes.is_empty() && again.header_writes.is_empty(), "{again:?}");

            // One row per key; each key's row holds the last wanted values.
            let key_at = after.header.iter().position(|h| h == &json!("상품주문번호")).unwrap();
            let mut keys = std::collections::HashMap::new();
            for r in &after.rows {
                let k = r.get(key_at).map(cell_text).unwrap_or_default();
                if !k.is_empty() { *keys.entry(k).or_insert(0) += 1; }
            }
            prop_assert!(keys.values().all(|&c| c == 1), "{keys:?}");
            for want in &second {
                prop_assert!(keys.contains_key(&want.key));
            }
            // A kept status is the sheet's from before (blank in a new row); a known one is the
            // latest wanted.
            let latest: std::collections::HashMap<&str, &SheetRow> = second.iter().map(|r| (r.key.as_str(), r)).collect();
            for r in &after.rows {
                let k = r.get(key_at).map(cell_text).unwrap_or_default();
                let Some(want) = latest.get(k.as_str()) else { continue };
                let status = r.get(status_at).cloned().unwrap_or(json!(""));
                let expected = match &want.cells[1] {
                    Cell::Keep(_) => status_before.get(&k).cloned().unwrap_or(json!("")),
                    cell => to_json(cell),
                };
                prop_assert_eq!(status, expected, "key {}", k);
            }
        }
    }
}
