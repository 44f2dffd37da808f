//! Sheet rows: what transform writes and insert upserts.
//!
//! A rows object's header names its columns (header text + field) once; each record is the key
//! plus one cell per column. Cells are text or whole numbers, never null: google-sheets4 strips
//! nulls before sending, which would shift every later cell one column left.

use serde::{Deserialize, Serialize};

use crate::columns::Column;
use crate::payload::PayloadSchema;
use crate::window::Window;

/// One cell value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    /// Whole numbers (KRW amounts, quantities): written as numbers so the sheet can sum them.
    Number(i64),
    /// Everything else, including ids (too long for a float) and dates (KST text).
    Text(String),
}

impl Cell {
    pub fn empty() -> Self {
        Cell::Text(String::new())
    }
}

/// One row: the key (`productOrderId`) and the cells in column order, plus what a sync needs
/// to know about the product order (never written to the sheet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetRow {
    pub key: String,
    pub cells: Vec<Cell>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<RowSync>,
}

/// A row's product order as a sync's cursor keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowSync {
    /// In a state whose next step may never reach the change feed
    /// ([`crate::cursor::needs_recheck`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub open: bool,
    /// Came from re-reading an open order by id, not from the feed: a feed row of the same
    /// product order in the same sync wins over it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rechecked: bool,
    /// Its change-feed record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<crate::cursor::FeedChange>,
}

/// Header metadata of a rows object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowsMeta {
    pub window: Window,
    /// The columns, in cell order. The key column is among them.
    pub columns: Vec<Column>,
}

/// Schema `ordersync.rows` v1: [`SheetRow`] records.
pub struct RowsSchema;

impl PayloadSchema for RowsSchema {
    const NAME: &'static str = "ordersync.rows";
    const VERSION: u32 = 1;
    type Record = SheetRow;
    type Meta = RowsMeta;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_numbers_or_strings_never_null() {
        let row = SheetRow {
            key: "2026112598765432101".into(),
            cells: vec![
                Cell::Text("2026112598765432101".into()),
                Cell::Number(30000),
                Cell::empty(),
            ],
            sync: None,
        };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(
            json,
            r#"{"key":"2026112598765432101","cells":["2026112598765432101",30000,""]}"#
        );
        assert_eq!(serde_json::from_str::<SheetRow>(&json).unwrap(), row);
        assert!(serde_json::from_str::<SheetRow>(r#"{"key":"1","cells":[null]}"#).is_err());
    }
}
