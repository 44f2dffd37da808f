//! Fuzzes the transform: NAVER orders (`ImportedOrder` JSON) through the mapping, masking and
//! dedupe (`ordersync_transform::dedupe::map_orders`), then through the rows object transform
//! writes and insert reads.
//!
//! Input layout: byte 0 chooses the columns, the rest is NDJSON, one `ImportedOrder` a line
//! (lines that do not parse are skipped, as if import had never written them).
//! - bits 0-1: the `standard`, `shipping` or `minimal` preset, or every field as a custom list;
//! - bits 2-4: mask names, phones, addresses.
//!
//! Checks: no panic, and the documented invariants. A record error names a record that has the
//! problem. Otherwise there is one row per distinct `productOrderId`, sorted by `key_order`, each
//! with a non-empty key, the key in the key column, one cell per column and no cell over the
//! sheet's limit; the counts add up; the same orders reversed or fed twice give the same rows;
//! and the rows object written from the lines reads back as exactly those rows.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ordersync_core::columns::{
    ColumnChoice, ColumnDef, Field, KEY_FIELD, MAX_CELL_CHARS, MaskKind, Preset,
};
use ordersync_core::payload::{self, PayloadWriter};
use ordersync_core::product_order::ImportedOrder;
use ordersync_core::rows::{Cell, RowsMeta, RowsSchema, SheetRow};
use ordersync_core::window::Window;
use ordersync_transform::dedupe::{RecordError, key_order, map_orders};

fuzz_target!(|data: &[u8]| {
    let [choice, rest @ ..] = data else {
        return;
    };
    let choice = column_choice(*choice);
    let columns = choice
        .resolve()
        .expect("every preset and the full list resolve");
    let orders: Vec<ImportedOrder> = rest
        .split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice(line).ok())
        .collect();

    let (rows, deduped) = match map_orders(&orders, &columns, &choice.mask) {
        Ok(done) => done,
        Err(e) => {
            match &e {
                RecordError::EmptyKey { index } => {
                    assert!(orders[*index as usize].product_order_id.trim().is_empty());
                }
                RecordError::KeyMismatch { index, key } => {
                    let order = &orders[*index as usize];
                    assert_eq!(&order.product_order_id, key);
                    let detail_id = order.detail.product_order.as_ref();
                    let detail_id = detail_id.and_then(|p| p.product_order_id.as_deref());
                    assert!(detail_id.is_some_and(|id| id != key));
                }
            }
            // A bad record fails the window whatever order the records came in.
            let reversed: Vec<_> = orders.iter().rev().cloned().collect();
            assert!(map_orders(&reversed, &columns, &choice.mask).is_err());
            return;
        }
    };

    let distinct: std::collections::HashSet<&str> =
        orders.iter().map(|o| o.product_order_id.as_str()).collect();
    assert_eq!(rows.len(), distinct.len());
    assert_eq!(deduped.orders_in, orders.len() as u64);
    assert_eq!(
        deduped.duplicates_dropped,
        (orders.len() - rows.len()) as u64
    );
    assert_eq!(deduped.lines.len(), rows.len());
    assert!(
        rows.windows(2)
            .all(|w| key_order(&w[0].key, &w[1].key).is_lt())
    );
    let key_col = columns.iter().position(|c| c.field == KEY_FIELD).unwrap();
    for row in &rows {
        assert!(!row.key.trim().is_empty());
        assert!(distinct.contains(row.key.as_str()));
        assert_eq!(row.cells.len(), columns.len());
        assert_eq!(row.cells[key_col], Cell::Text(row.key.clone()));
        for cell in &row.cells {
            if let Cell::Text(text) = cell {
                assert!(text.chars().count() <= MAX_CELL_CHARS);
            }
        }
    }

    let reversed: Vec<_> = orders.iter().rev().cloned().collect();
    let again = map_orders(&reversed, &columns, &choice.mask).unwrap().0;
    assert_eq!(again, rows, "rows depend on the order of the input");
    let doubled: Vec<_> = orders.iter().chain(&orders).cloned().collect();
    let again = map_orders(&doubled, &columns, &choice.mask).unwrap().0;
    assert_eq!(again, rows, "a record seen twice changes the rows");

    // What the handler writes, as insert reads it.
    let window = Window::new(
        chrono::DateTime::from_timestamp(1_790_000_000, 0)
            .unwrap()
            .fixed_offset(),
        chrono::DateTime::from_timestamp(1_790_086_400, 0)
            .unwrap()
            .fixed_offset(),
    )
    .unwrap();
    let meta = RowsMeta { window, columns };
    let mut writer = PayloadWriter::<RowsSchema>::new(&meta).unwrap();
    for line in &deduped.lines {
        writer.push_json_line(line).unwrap();
    }
    let encoded = writer.finish().unwrap();
    let reference = encoded.reference::<RowsSchema>("file:///fuzz/rows.jsonl.zst".into());
    let reader = payload::open::<RowsSchema>(&encoded.bytes, &reference).unwrap();
    assert_eq!(reader.meta(), &meta);
    let read: Vec<SheetRow> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(read, rows);
});

fn column_choice(byte: u8) -> ColumnChoice {
    let (preset, list) = match byte & 0b11 {
        0 => (Some(Preset::Standard), None),
        1 => (Some(Preset::Shipping), None),
        2 => (Some(Preset::Minimal), None),
        _ => {
            let every = Field::ALL.iter().map(|&field| ColumnDef {
                header: None,
                field,
            });
            (None, Some(every.collect()))
        }
    };
    let mask = [MaskKind::Name, MaskKind::Phone, MaskKind::Address]
        .into_iter()
        .enumerate()
        .filter(|(i, _)| byte & (0b100 << i) != 0)
        .map(|(_, kind)| kind)
        .collect();
    ColumnChoice { preset, list, mask }
}
