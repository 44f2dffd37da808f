//! What the upsert keeps of a tab it reads, so insert's memory does not grow with the tab.
//!
//! A seller's tab only grows (toward Google's 10M cells: 500,000 rows of 20 columns), and the
//! plan needs little of it: row 1 (to find our columns), where the last row a person filled is,
//! and, only for the keys this upsert writes, the row each is in and what its managed cells
//! hold. So the tab is read one row at a time ([`TabScan::row`], fed by the streaming read in
//! [`crate::stream`] or by [`crate::memory::MemoryWorkbook`]) into a [`TabIndex`]:
//!
//! - row 1 as read (a few hundred bytes);
//! - counts: the data rows, the last one a person filled, how many hold any text;
//! - for each key of ours found in the key column: its first row, and a 64-bit digest of each
//!   managed cell (never the cell itself: 8 bytes instead of a `serde_json::Value` and its text).
//!   A digest keeps exactly what [`crate::plan`]'s comparison looks at, in separate domains for
//!   text and numbers, so "unchanged" means what it meant with the cells in hand; two different
//!   cells share a digest with probability 2⁻⁶⁴ per comparison.
//!
//! Rows whose key is not ours are counted and dropped. A key of ours found in a second row is
//! reported as a duplicate (it is updated in its first row); a duplicate among other keys is
//! not ours to report.
//!
//! Not here: deciding what to write ([`crate::plan`]), the HTTP read ([`crate::stream`]).

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use ordersync_core::rows::{Cell, SheetRow};
use serde_json::Value;

use crate::plan::{cell_text, locate_headers, place_headers, untouched};

/// What the plan needs of a tab: our headers (in cell order), which one is the key, and the
/// keys this upsert writes.
#[derive(Debug, Clone)]
pub struct PlanNeeds<'a> {
    pub headers: &'a [String],
    pub key_index: usize,
    pub keys: HashSet<&'a str>,
}

impl<'a> PlanNeeds<'a> {
    pub fn new(headers: &'a [String], key_index: usize, rows: &'a [SheetRow]) -> Self {
        PlanNeeds {
            headers,
            key_index,
            keys: rows.iter().map(|r| r.key.as_str()).collect(),
        }
    }
}

/// A sheet cell as the plan compares it with ours (see [`CellDigest::matches`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellDigest(u64);

/// Domains, so a text never equals a number with the same hash input.
const TEXT: u8 = 1;
const NUMBER: u8 = 2;
const OTHER: u8 = 3;

fn hashed(domain: u8, bytes: &[u8]) -> CellDigest {
    // SipHash with fixed keys: the same digest for the same cell in this process, which is all
    // a digest is compared with.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    domain.hash(&mut h);
    bytes.hash(&mut h);
    CellDigest(h.finish())
}

impl CellDigest {
    /// A blank cell (no value, or JSON null).
    pub const EMPTY: CellDigest = CellDigest(0);

    fn text(s: &str) -> CellDigest {
        hashed(TEXT, s.as_bytes())
    }

    fn number(f: f64) -> CellDigest {
        // -0.0 == 0.0 as numbers; one digest for both.
        let f = if f == 0.0 { 0.0 } else { f };
        hashed(NUMBER, &f.to_bits().to_le_bytes())
    }

    /// The digest of a cell as read with `UNFORMATTED_VALUE` (`None`: beyond the row's end).
    pub fn of(value: Option<&Value>) -> CellDigest {
        match value {
            None | Some(Value::Null) => CellDigest::EMPTY,
            Some(Value::String(s)) => CellDigest::text(s),
            // A checkbox compares with our text as its text (TRUE/FALSE).
            Some(Value::Bool(b)) => CellDigest::text(if *b { "TRUE" } else { "FALSE" }),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) => CellDigest::number(f),
                None => hashed(OTHER, n.to_string().as_bytes()),
            },
            Some(other) => hashed(OTHER, other.to_string().as_bytes()),
        }
    }

    /// Whether the sheet's cell (this digest; `trimmed` is the digest of its text trimmed, when
    /// that differs) shows what `wanted` would write, by the plan's rules: our text equals the
    /// cell's text (a blank cell equals empty text, a checkbox its TRUE/FALSE); our number
    /// equals the cell's number, or the cell's text trimmed (a person retyped it as text); a
    /// kept cell equals anything.
    pub fn matches(self, trimmed: Option<CellDigest>, wanted: &Cell) -> bool {
        match wanted {
            Cell::Keep(_) => true,
            Cell::Text(t) => {
                self == CellDigest::text(t) || (t.is_empty() && self == CellDigest::EMPTY)
            }
            Cell::Number(i) => {
                self == CellDigest::number(*i as f64)
                    || trimmed.unwrap_or(self) == CellDigest::text(&i.to_string())
            }
        }
    }
}

/// A key of ours found in the sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Its first data row (0-based among the data rows; grid row `row + 1`).
    pub row: usize,
    /// Each managed cell's digest, in header (cell) order.
    pub cells: Box<[CellDigest]>,
    /// For the few text cells whose trimmed text differs: (header index, trimmed digest).
    pub trimmed: Vec<(usize, CellDigest)>,
}

impl Found {
    /// Whether managed cell `h` shows what `wanted` would write.
    pub fn matches(&self, h: usize, wanted: &Cell) -> bool {
        let trimmed = self.trimmed.iter().find(|(i, _)| *i == h).map(|(_, d)| *d);
        self.cells[h].matches(trimmed, wanted)
    }
}

/// What the plan keeps of a tab (see the module header).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TabIndex {
    /// Row 1 as read (trailing empties trimmed).
    pub header: Vec<Value>,
    /// Data rows the read returned (rows after row 1, up to the last non-empty one).
    pub rows: usize,
    /// The last data row (0-based) holding anything a person put there: a key, or any cell
    /// other than blank or an unticked checkbox.
    pub last_filled: Option<usize>,
    /// Data rows holding any non-blank text.
    pub rows_with_data: usize,
    /// Our keys found in the key column, by trimmed text.
    pub found: HashMap<Box<str>, Found>,
    /// Our keys found in more than one row, in the order found.
    pub duplicates: Vec<String>,
}

/// Builds a [`TabIndex`] from a tab's rows, one at a time, first row 1.
pub struct TabScan<'n> {
    needs: &'n PlanNeeds<'n>,
    index: TabIndex,
    /// Set once row 1 was seen: each managed header's column and the key column, or `None`
    /// when row 1 cannot be matched by (the plan refuses it, or has no key column to read).
    columns: Option<Option<(Vec<usize>, usize)>>,
}

impl<'n> TabScan<'n> {
    pub fn new(needs: &'n PlanNeeds<'n>) -> Self {
        TabScan {
            needs,
            index: TabIndex::default(),
            columns: None,
        }
    }

    /// The next row: row 1 first, then the data rows in order.
    pub fn row(&mut self, row: Vec<Value>) {
        let Some(columns) = &self.columns else {
            self.columns = Some(self.locate(&row));
            self.index.header = row;
            return;
        };
        let i = self.index.rows;
        self.index.rows += 1;
        if row.iter().any(|v| !untouched(v)) {
            self.index.last_filled = Some(i);
        }
        if row.iter().any(has_text) {
            self.index.rows_with_data += 1;
        }
        let Some((sheet_col, key_col)) = columns else {
            return;
        };
        let key = row.get(*key_col).map(cell_text).unwrap_or_default();
        let key = key.trim();
        if key.is_empty() || !self.needs.keys.contains(key) {
            return;
        }
        if self.index.found.contains_key(key) {
            if !self.index.duplicates.iter().any(|k| k == key) {
                self.index.duplicates.push(key.to_owned());
            }
            return;
        }
        let mut trimmed = Vec::new();
        let cells = sheet_col
            .iter()
            .enumerate()
            .map(|(h, &c)| {
                let value = row.get(c);
                if let Some(Value::String(s)) = value
                    && s.trim() != s
                {
                    trimmed.push((h, CellDigest::text(s.trim())));
                }
                CellDigest::of(value)
            })
            .collect();
        self.index.found.insert(
            key.into(),
            Found {
                row: i,
                cells,
                trimmed,
            },
        );
    }

    /// Our columns in row 1, as the plan will place them.
    fn locate(&self, header: &[Value]) -> Option<(Vec<usize>, usize)> {
        let headers = self.needs.headers;
        let found = locate_headers(header, headers).ok()?;
        if !found.contains_key(headers.get(self.needs.key_index)?.as_str()) {
            return None;
        }
        let layout = place_headers(header, headers, found);
        let key_col = layout.sheet_col[self.needs.key_index];
        Some((layout.sheet_col, key_col))
    }

    pub fn finish(self) -> TabIndex {
        self.index
    }
}

/// Whether a cell holds any text once trimmed (a number or a checkbox does).
fn has_text(value: &Value) -> bool {
    match value {
        Value::String(s) => !s.trim().is_empty(),
        Value::Number(_) | Value::Bool(_) => true,
        _ => false,
    }
}

impl TabIndex {
    /// The index of a tab held in memory (header row first): the same scan the streaming read
    /// makes.
    pub fn of_rows(rows: impl IntoIterator<Item = Vec<Value>>, needs: &PlanNeeds<'_>) -> Self {
        let mut scan = TabScan::new(needs);
        for row in rows {
            scan.row(row);
        }
        scan.finish()
    }
}
