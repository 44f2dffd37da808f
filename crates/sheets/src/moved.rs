//! The check before each write request. The values API has no preconditions: a person who
//! sorts the tab (a filter sort moves rows), inserts or deletes rows, or inserts a column between
//! our read and our write would have us write over other orders — one order vanishes, another
//! appears twice. So just before each request, row 1 and the key column over the rows it targets
//! are read again (one narrow `values.batchGet`, [`Workbook::read_keys`]) and compared with what
//! the plan saw; when anything moved, the upsert reads the tab again and plans again.
//!
//! What remains is the time between that read and the write landing: about one round trip.
//! An edit inside it is not seen; the next run's read finds what it did (a key twice is updated
//! in its first row and reported, a lost key is appended again).
//!
//! Not here: the reading itself ([`Workbook`]) and the re-plan ([`crate::upsert`]).
//!
//! [`Workbook`]: crate::workbook::Workbook
//! [`Workbook::read_keys`]: crate::workbook::Workbook::read_keys

use crate::plan::{Plan, cell_text};
use crate::workbook::KeyRead;

/// Rows the check compares: grid rows `first..=last` (0-based; row 0 is the header).
pub type Span = (usize, usize);

/// `None` when the sheet still holds what `plan` expects over `span`; otherwise what moved, for
/// the log. Each row the plan writes there must still hold its key: the key the plan matched
/// for an update in place, nothing (or this plan's own key, which an earlier request of it put
/// there) for a new row. Rows in the span that the plan does not write are not compared: what
/// they hold cannot redirect a write.
pub fn what_moved(read: &KeyRead, plan: &Plan<'_>, span: Span) -> Option<String> {
    let text = |v: Option<&serde_json::Value>| {
        v.map(|v| cell_text(v).trim().to_owned())
            .unwrap_or_default()
    };
    for (col, header, added) in &plan.expect.headers {
        let now = text(read.header.get(*col));
        if now != *header && !(*added && now.is_empty()) {
            return Some(format!(
                "row 1, column {}: `{now}` where `{header}` was",
                col + 1
            ));
        }
    }
    let (first, last) = span;
    for r in first.max(1)..=last {
        let Some(ours) = key_written_at(plan, r) else {
            continue;
        };
        let now = text(read.keys.get(r - first));
        let new_row = r >= plan.expect.first_new_row;
        let was = if new_row { "" } else { ours };
        if now == was || (new_row && now == ours) {
            continue;
        }
        return Some(format!("row {}: key `{now}` where `{was}` was", r + 1));
    }
    None
}

/// The key this plan writes at grid row `r`, if any.
fn key_written_at<'p>(plan: &'p Plan<'_>, r: usize) -> Option<&'p str> {
    let writes = &plan.row_writes;
    let at = writes.partition_point(|w| w.last_row() < r);
    writes[at..]
        .iter()
        .take_while(|w| w.first_row <= r)
        .find(|w| r <= w.last_row())
        .map(|w| w.rows[r - w.first_row].key.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Existing, plan};
    use ordersync_core::rows::{Cell, SheetRow};
    use serde_json::{Value, json};

    fn headers() -> Vec<String> {
        vec!["상품주문번호".into(), "상태".into()]
    }

    fn row(key: &str, status: &str) -> SheetRow {
        SheetRow {
            key: key.into(),
            cells: vec![Cell::Text(key.into()), Cell::Text(status.into())],
            sync: None,
        }
    }

    fn existing() -> Existing {
        Existing {
            header: vec![json!("상품주문번호"), json!("상태"), json!("메모")],
            rows: vec![
                vec![json!("1"), json!("결제완료")],
                vec![json!("2"), json!("결제완료")],
                vec![json!("3"), json!("결제완료"), json!("memo")],
            ],
        }
    }

    fn read(header: &[&str], keys: &[&str]) -> KeyRead {
        KeyRead {
            header: header.iter().map(|h| json!(h)).collect(),
            keys: keys.iter().map(|k| json!(k)).collect(),
        }
    }

    #[test]
    fn unmoved_rows_pass_and_moved_ones_are_named() {
        let rows: &'static [SheetRow] =
            Box::leak(Box::new([row("2", "배송중"), row("4", "결제완료")]));
        let existing = existing();
        let p = plan(&existing, &headers(), 0, rows).unwrap();
        let header = ["상품주문번호", "상태", "메모"];
        // Grid row 2 (key 2) is updated and row 4 (key 4) appended: the span is rows 2..=4.
        assert_eq!(what_moved(&read(&header, &["2", "3"]), &p, (2, 4)), None);
        // The appended key already there (an earlier request of this plan wrote it).
        assert_eq!(
            what_moved(&read(&header, &["2", "3", "4"]), &p, (2, 4)),
            None
        );
        // A sort moved the rows: key 3 where 2 was.
        let moved = what_moved(&read(&header, &["3", "2"]), &p, (2, 4)).unwrap();
        assert!(moved.contains("row 3"), "{moved}");
        // A row inserted above: everything shifted down; a stranger's key in our new row.
        assert!(what_moved(&read(&header, &["", "2", "3"]), &p, (2, 4)).is_some());
        assert!(what_moved(&read(&header, &["2", "3", "9"]), &p, (2, 4)).is_some());
        // A column inserted before ours.
        let shifted = read(&["", "상품주문번호", "상태"], &["2", "3"]);
        let moved = what_moved(&shifted, &p, (2, 4)).unwrap();
        assert!(moved.contains("row 1"), "{moved}");
        // A key typed as a number still reads as the same key.
        let numeric = KeyRead {
            header: header.iter().map(|h| json!(h)).collect(),
            keys: vec![json!(2), Value::String(" 3 ".into())],
        };
        assert_eq!(what_moved(&numeric, &p, (2, 4)), None);
    }

    #[test]
    fn a_header_this_plan_adds_may_still_be_blank() {
        let rows: &'static [SheetRow] = Box::leak(Box::new([row("1", "배송중")]));
        let existing = Existing {
            header: vec![json!("상품주문번호")],
            rows: vec![vec![json!("1")]],
        };
        let p = plan(&existing, &headers(), 0, rows).unwrap();
        assert_eq!(
            what_moved(&read(&["상품주문번호"], &["1"]), &p, (1, 1)),
            None
        );
        assert_eq!(
            what_moved(&read(&["상품주문번호", "상태"], &["1"]), &p, (1, 1)),
            None
        );
        assert!(what_moved(&read(&["상품주문번호", "내 메모"], &["1"]), &p, (1, 1)).is_some());
    }
}
