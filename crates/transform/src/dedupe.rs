//! Keeps one row per `productOrderId`: the one from the most recent change.
//!
//! The change feed can list a product order more than once (several changes in a window, or
//! overlapping objects after a rerun). The winner is the record with the latest
//! `change.lastChangedDate`; on a tie, the greater serialised row, so the result never depends on
//! input order. Rows are held serialised (one compact JSON line each), which is several times
//! smaller than the typed form, and come out sorted by key (numerically for NAVER's digit ids).
//!
//! Keeping one per key is [`ordersync_core::latest`]'s (shared with insert and the upsert plan);
//! what "most recent" means here, the change time and then the row, is this module's.

use std::cmp::Ordering;

use ordersync_core::columns::{Column, MaskKind};
use ordersync_core::errors::{Classify, ErrorName};
use ordersync_core::latest::LatestPerKey;
use ordersync_core::product_order::ImportedOrder;
use ordersync_core::rows::SheetRow;

use crate::mapping;

struct Kept {
    /// Milliseconds since the epoch of the change; `None` sorts first.
    changed: Option<i64>,
    line: Box<str>,
}

impl Kept {
    /// The later change wins; on a tie (or two records without a change time) the greater
    /// serialised row, so the winner does not depend on the order of the feed.
    fn replaces(kept: &Kept, new: &Kept) -> bool {
        new.changed
            .cmp(&kept.changed)
            .then_with(|| new.line.cmp(&kept.line))
            .is_gt()
    }
}

/// Collects rows, deduplicating as it goes.
pub struct Deduper<'c> {
    columns: &'c [Column],
    masks: &'c [MaskKind],
    kept: LatestPerKey<Box<str>, Kept>,
    seen: u64,
}

/// What a problem record looks like to the caller: the 0-based position it had in the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("order record {index} has an empty productOrderId")]
    EmptyKey { index: u64 },
    #[error("order record {index} has productOrderId {key} but its detail says another id")]
    KeyMismatch { index: u64, key: String },
}

/// A record that cannot become a row means the orders object is not what import writes: a
/// payload problem, which rerunning the execution from the start fixes.
impl Classify for RecordError {
    fn error_name(&self) -> ErrorName {
        match self {
            RecordError::EmptyKey { .. } | RecordError::KeyMismatch { .. } => ErrorName::Payload,
        }
    }
}

/// The deduplicated rows, sorted by key.
pub struct Deduped {
    /// Compact JSON of each [`SheetRow`], in key order.
    pub lines: Vec<Box<str>>,
    pub orders_in: u64,
    pub duplicates_dropped: u64,
}

fn is_numeric(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit())
}

/// Sorts NAVER's numeric ids numerically (shorter first), anything else after them by text.
pub fn key_order(a: &str, b: &str) -> Ordering {
    match (is_numeric(a), is_numeric(b)) {
        (true, true) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

impl<'c> Deduper<'c> {
    pub fn new(columns: &'c [Column], masks: &'c [MaskKind]) -> Self {
        Deduper {
            columns,
            masks,
            kept: LatestPerKey::new(),
            seen: 0,
        }
    }

    /// Adds one order. A record without a usable key is an error, never a silently missing row.
    pub fn add(&mut self, order: &ImportedOrder) -> Result<(), RecordError> {
        let index = self.seen;
        self.seen += 1;
        if order.product_order_id.trim().is_empty() {
            return Err(RecordError::EmptyKey { index });
        }
        let detail_id = order
            .detail
            .product_order
            .as_ref()
            .and_then(|p| p.product_order_id.as_deref());
        if detail_id.is_some_and(|id| id != order.product_order_id) {
            return Err(RecordError::KeyMismatch {
                index,
                key: order.product_order_id.clone(),
            });
        }
        let changed = order
            .change
            .as_ref()
            .and_then(|c| c.last_changed_date)
            .map(|d| d.timestamp_millis());
        let row = mapping::row(order, self.columns, self.masks);
        let line: Box<str> = serde_json::to_string(&row)
            .expect("a row of strings and integers always serialises")
            .into_boxed_str();
        self.kept.offer(
            order.product_order_id.as_str(),
            Kept { changed, line },
            Kept::replaces,
        );
        Ok(())
    }

    pub fn finish(self) -> Deduped {
        // The same order as `key_order`, with the digit check done once per key instead of
        // once per comparison (it showed up in profiles at 100,000 keys).
        let mut entries: Vec<(bool, Box<str>, Kept)> = self
            .kept
            .into_keyed()
            .into_iter()
            .map(|(key, kept)| (!is_numeric(&key), key, kept))
            .collect();
        entries.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| match a.0 {
                false => a.1.len().cmp(&b.1.len()).then_with(|| a.1.cmp(&b.1)),
                true => a.1.cmp(&b.1),
            })
        });
        let duplicates_dropped = self.seen - entries.len() as u64;
        Deduped {
            lines: entries.into_iter().map(|(_, _, k)| k.line).collect(),
            orders_in: self.seen,
            duplicates_dropped,
        }
    }
}

/// The whole mapping as one pure function: orders in, deduplicated sorted rows out.
pub fn map_orders(
    orders: &[ImportedOrder],
    columns: &[Column],
    masks: &[MaskKind],
) -> Result<(Vec<SheetRow>, Deduped), RecordError> {
    let mut deduper = Deduper::new(columns, masks);
    for order in orders {
        deduper.add(order)?;
    }
    let deduped = deduper.finish();
    let rows = deduped
        .lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("lines were serialised from rows"))
        .collect();
    Ok((rows, deduped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordersync_core::columns::{ColumnChoice, MAX_CELL_CHARS};
    use ordersync_core::product_order::{
        ChangeStatus, Order, ProductOrder, ProductOrderDetail, ProductOrderStatus,
    };
    use ordersync_core::rows::Cell;
    use proptest::prelude::*;

    fn order(id: &str, changed_ms: Option<i64>, status: &str, name: &str) -> ImportedOrder {
        ImportedOrder {
            rechecked: false,
            product_order_id: id.to_owned(),
            change: Some(ChangeStatus {
                product_order_id: Some(id.to_owned()),
                last_changed_date: changed_ms.map(|ms| {
                    chrono::DateTime::from_timestamp_millis(ms)
                        .unwrap()
                        .fixed_offset()
                }),
                ..Default::default()
            }),
            detail: ProductOrderDetail {
                order: Some(Order {
                    orderer_name: Some(name.to_owned()),
                    ..Default::default()
                }),
                product_order: Some(ProductOrder {
                    product_order_id: Some(id.to_owned()),
                    product_order_status: Some(ProductOrderStatus::from_code(status)),
                    product_name: Some(name.to_owned()),
                    ..Default::default()
                }),
                delivery: None,
            },
        }
    }

    fn columns() -> Vec<Column> {
        ColumnChoice::default().resolve().unwrap()
    }

    #[test]
    fn latest_change_wins_and_counts_add_up() {
        let orders = [
            order("100", Some(1_000), "PAYED", "a"),
            order("20", Some(5_000), "PAYED", "b"),
            order("100", Some(9_000), "DELIVERED", "a"),
            order("100", Some(3_000), "DELIVERING", "a"),
        ];
        let cols = columns();
        let (rows, d) = map_orders(&orders, &cols, &[]).unwrap();
        assert_eq!(
            rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
            ["20", "100"]
        );
        let status = cols.iter().position(|c| c.header == "주문상태").unwrap();
        assert_eq!(rows[1].cells[status], Cell::Text("배송완료".into()));
        assert_eq!((d.orders_in, d.duplicates_dropped), (4, 2));
    }

    #[test]
    fn records_without_a_key_are_errors() {
        let bad = order(" ", Some(1), "PAYED", "x");
        assert_eq!(
            map_orders(&[order("1", None, "PAYED", "x"), bad], &columns(), &[]).err(),
            Some(RecordError::EmptyKey { index: 1 })
        );
        let mut mismatch = order("1", None, "PAYED", "x");
        mismatch.product_order_id = "2".into();
        assert!(matches!(
            map_orders(&[mismatch], &columns(), &[]),
            Err(RecordError::KeyMismatch { .. })
        ));
    }

    #[test]
    fn ids_sort_numerically() {
        let mut keys = vec!["9", "10", "2026112598765432101", "x", "100"];
        keys.sort_by(|a, b| key_order(a, b));
        assert_eq!(keys, ["9", "10", "100", "2026112598765432101", "x"]);
    }

    fn arb_order() -> impl Strategy<Value = ImportedOrder> {
        (
            prop::sample::select(vec![
                "1",
                "22",
                "333",
                "4444",
                "2026112598765432101",
                "9",
                "A-1",
                "b2",
            ]),
            prop::option::of(0i64..10),
            prop::sample::select(vec!["PAYED", "DELIVERING", "CANCELED", "SOMETHING_NEW"]),
            prop_oneof![15 => ".{0,20}", 1 => Just("긴".repeat(MAX_CELL_CHARS + 5))],
        )
            .prop_map(|(id, ms, status, name)| order(id, ms, status, &name))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn mapping_is_order_independent_and_idempotent(
            orders in prop::collection::vec(arb_order(), 0..40),
            seed in any::<u64>(),
        ) {
            let cols = columns();
            let (rows, _) = map_orders(&orders, &cols, &[]).unwrap();

            // Any permutation gives the same rows.
            let mut shuffled = orders.clone();
            let mut state = seed | 1;
            for i in (1..shuffled.len()).rev() {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                shuffled.swap(i, (state % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(&map_orders(&shuffled, &cols, &[]).unwrap().0, &rows);

            // Feeding the same orders again (a rerun's overlap) changes nothing.
            let doubled: Vec<_> = orders.iter().chain(orders.iter()).cloned().collect();
            prop_assert_eq!(&map_orders(&doubled, &cols, &[]).unwrap().0, &rows);

            // Rows come out in `key_order`.
            prop_assert!(rows.windows(2).all(|w| key_order(&w[0].key, &w[1].key).is_lt()));

            // Every row has its key, in the key column, and fits the sheet's cell limit.
            let key_col = cols.iter().position(|c| c.field == ordersync_core::columns::KEY_FIELD).unwrap();
            let distinct: std::collections::HashSet<_> = orders.iter().map(|o| o.product_order_id.clone()).collect();
            prop_assert_eq!(rows.len(), distinct.len());
            for row in &rows {
                prop_assert!(!row.key.is_empty());
                prop_assert_eq!(&row.cells[key_col], &Cell::Text(row.key.clone()));
                prop_assert_eq!(row.cells.len(), cols.len());
                for cell in &row.cells {
                    if let Cell::Text(t) = cell { prop_assert!(t.chars().count() <= MAX_CELL_CHARS); }
                }
            }
        }
    }
}
