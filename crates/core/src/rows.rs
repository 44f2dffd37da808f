//! Sheet rows: what transform writes and insert upserts.
//!
//! A rows object's header names its columns (header text + field) once; each record is the key
//! plus one cell per column. Cells are text or whole numbers, never null: google-sheets4 strips
//! nulls before sending, which would shift every later cell one column left. A third kind,
//! [`Cell::Keep`], says "this import does not know the value; leave the sheet's": insert never
//! writes such a cell (the write ranges go around it), so a range import by payment date does not
//! blank what a sync wrote from the change feed.

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
    /// Not known to this import (the change-feed columns of a conditional-search row): the
    /// sheet's cell stays as it is, and a new row's stays blank. Stored as `{}`.
    Keep(Kept),
}

/// The payload form of [`Cell::Keep`]: an empty JSON object, and only that (a derived
/// deserializer would also take `[]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Kept {}

impl<'de> Deserialize<'de> for Kept {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EmptyObject;
        impl<'de> serde::de::Visitor<'de> for EmptyObject {
            type Value = Kept;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an empty object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Kept, A::Error> {
                match map.next_key::<serde::de::IgnoredAny>()? {
                    None => Ok(Kept {}),
                    Some(_) => Err(serde::de::Error::custom("a kept cell is an empty object")),
                }
            }
        }
        deserializer.deserialize_map(EmptyObject)
    }
}

impl Cell {
    pub fn empty() -> Self {
        Cell::Text(String::new())
    }

    pub const fn keep() -> Self {
        Cell::Keep(Kept {})
    }

    pub fn is_keep(&self) -> bool {
        matches!(self, Cell::Keep(_))
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

    #[test]
    fn a_kept_cell_is_an_empty_object_and_nothing_else() {
        let row = SheetRow {
            key: "1".into(),
            cells: vec![Cell::Text("1".into()), Cell::keep()],
            sync: None,
        };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(json, r#"{"key":"1","cells":["1",{}]}"#);
        assert_eq!(serde_json::from_str::<SheetRow>(&json).unwrap(), row);
        for bad in [r#"{"keep":true}"#, "[]", "true", "1.5"] {
            let text = format!(r#"{{"key":"1","cells":[{bad}]}}"#);
            assert!(serde_json::from_str::<SheetRow>(&text).is_err(), "{bad}");
        }
    }
}
