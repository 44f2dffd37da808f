//! Writes the committed seed inputs under `fuzz/seeds/<target>/` with the real payload writer,
//! in the input layout each target's header describes. Rerun after changing a schema or a
//! target's layout: `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds`.

use std::path::Path;

use ordersync_core::columns::ColumnChoice;
use ordersync_core::payload::{PayloadWriter, encode};
use ordersync_core::product_order::{ImportedOrder, OrdersMeta, OrdersSchema};
use ordersync_core::rows::{RowsMeta, RowsSchema};
use ordersync_core::window::Window;
use ordersync_transform::dedupe::map_orders;
use serde_json::json;

/// Three records, two of them the same product order (an older and a newer change).
const ORDERS: [&str; 3] = [
    r#"{"productOrderId":"2026112598765432101",
        "change":{"productOrderId":"2026112598765432101","lastChangedType":"PAYED","lastChangedDate":"2026-11-25T09:13:01.000+09:00"},
        "detail":{"order":{"orderId":"2026112512345601","orderDate":"2026-11-25T09:12:33.000+09:00","paymentDate":"2026-11-25T09:13:01.5+09:00","paymentMeans":"신용카드","ordererName":"김민지","ordererTel":"010-2345-6789","generalPaymentAmount":31000},
                  "productOrder":{"productOrderId":"2026112598765432101","productOrderStatus":"PAYED","placeOrderStatus":"NOT_YET","productId":"8812345678","productName":"무선 이어폰 🎧 (화이트)","productOption":"색상: 화이트","quantity":2,"unitPrice":15000,"totalProductAmount":30000,"totalPaymentAmount":31000,"deliveryFeeAmount":3000,"expectedSettlementAmount":28000,"shippingMemo":"문 앞에 놓아주세요",
                                  "shippingAddress":{"name":"이수진","baseAddress":"서울특별시 강남구 테헤란로 152","detailedAddress":"12층 1203호","zipCode":"06236","tel1":"010-9876-5432","isRoadNameAddress":true},
                                  "hopeDelivery":{"hopeDeliveryYmd":"20261127","hopeDeliveryHm":"1400"}}}}"#,
    r#"{"productOrderId":"2026112598765432101",
        "change":{"productOrderId":"2026112598765432101","lastChangedType":"DISPATCHED","lastChangedDate":"2026-11-25T18:00:00Z"},
        "detail":{"order":{"orderId":"2026112512345601","ordererName":"김민지"},
                  "productOrder":{"productOrderId":"2026112598765432101","productOrderStatus":"DELIVERING","claimType":"CANCEL","claimStatus":"CANCEL_REQUEST","decisionDate":"2026-11-30T00:00:00+09:00"},
                  "delivery":{"deliveryCompany":"CJGLS","trackingNumber":"0001234567890","sendDate":"2026-11-25T18:00:00Z","deliveredDate":"2026-11-26T10:00:00+09:00"}}}"#,
    r#"{"productOrderId":"A-77","change":{"lastChangedType":"SOMETHING_NEW"},"detail":{"productOrder":{"productOrderStatus":"TELEPORTED","quantity":-1}}}"#,
];

fn main() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = seeds.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    let window: Window = serde_json::from_value(
        json!({"from": "2026-11-25T00:00:00+09:00", "to": "2026-11-26T00:00:00+09:00"}),
    )
    .unwrap();
    let orders: Vec<ImportedOrder> = ORDERS
        .iter()
        .map(|o| serde_json::from_str(o).unwrap())
        .collect();
    let lines: Vec<String> = orders
        .iter()
        .map(|o| serde_json::to_string(o).unwrap())
        .collect();

    // payload_decoder: flags, promised record count, then the object or its plain body.
    let with_prefix = |flags: u8, records: usize, body: &[u8]| {
        let mut input = vec![flags, u8::try_from(records).unwrap()];
        input.extend_from_slice(body);
        input
    };
    let orders_meta = OrdersMeta { window };
    let object = encode::<OrdersSchema>(&orders_meta, &orders).unwrap();
    write(
        "payload_decoder",
        "orders-object",
        &with_prefix(0b00, orders.len(), &object.bytes),
    );
    let header = json!({"schema": "ordersync.orders", "version": 1, "meta": orders_meta});
    let body = std::iter::once(header.to_string())
        .chain(lines.iter().cloned())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    write(
        "payload_decoder",
        "orders-plain",
        &with_prefix(0b10, orders.len(), body.as_bytes()),
    );

    let columns = ColumnChoice::default().resolve().unwrap();
    let (rows, deduped) = map_orders(&orders, &columns, &[]).unwrap();
    let rows_meta = RowsMeta { window, columns };
    let mut writer = PayloadWriter::<RowsSchema>::new(&rows_meta).unwrap();
    for line in &deduped.lines {
        writer.push_json_line(line).unwrap();
    }
    let object = writer.finish().unwrap();
    write(
        "payload_decoder",
        "rows-object",
        &with_prefix(0b01, rows.len(), &object.bytes),
    );
    let header = json!({"schema": "ordersync.rows", "version": 1, "meta": rows_meta});
    let body = std::iter::once(header.to_string())
        .chain(deduped.lines.iter().map(|l| l.to_string()))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    write(
        "payload_decoder",
        "rows-plain",
        &with_prefix(0b11, rows.len(), body.as_bytes()),
    );

    // transform: the column choice byte, then NDJSON orders.
    let ndjson = lines.join("\n");
    write(
        "transform",
        "standard",
        &[&[0b000][..], ndjson.as_bytes()].concat(),
    );
    write(
        "transform",
        "every-field-masked",
        &[&[0b11111][..], ndjson.as_bytes()].concat(),
    );

    // events: one of each event, as the state machine sends them.
    let request = json!({
        "account": {"secret_id": "ordersync/naver/shop-1"},
        "range": {"from": "2026-11-01", "to": "2026-11-03T06:00:00+09:00"},
        "sheet": {"spreadsheet_id": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg", "tab": "Orders"},
        "columns": {"preset": "shipping", "list": [{"header": "메모", "field": "shipping_memo"}], "mask": ["phone"]}
    });
    let reference =
        object.reference::<RowsSchema>("s3://bucket/runs/run-1/rows/w.jsonl.zst".into());
    let orders_ref = json!({
        "uri": "s3://bucket/runs/run-1/orders/w.jsonl.zst", "schema": "ordersync.orders",
        "version": 1, "records": 3, "bytes": 1234, "sha256": "00".repeat(32)
    });
    let counts = json!({"changed": 3, "fetched": 3, "missing": 0, "api_calls": 4});
    let huge = json!({"window": window, "rows": reference,
                      "fetched": {"changed": u64::MAX, "fetched": 3, "missing": 0, "api_calls": 4},
                      "transformed": {"orders_in": 3, "rows_out": 2, "duplicates_dropped": 1}});
    let events = [
        ("run-request.json", request.clone()),
        (
            "plan-event.json",
            json!({"execution": "run-1", "request": request}),
        ),
        (
            "import-event.json",
            json!({"execution": "run-1", "account": {"secret_id": "ordersync/naver/shop-1"}, "window": window}),
        ),
        (
            "transform-event.json",
            json!({"execution": "run-1", "window": window, "orders": orders_ref, "columns": {"preset": "minimal", "mask": ["name"]}}),
        ),
        (
            "insert-event.json",
            json!({"execution": "run-1",
                   "sheet": {"spreadsheet_id": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg", "tab": "Orders"},
                   "windows": [{"window": window, "rows": reference, "fetched": counts,
                                "transformed": {"orders_in": 3, "rows_out": 2, "duplicates_dropped": 1}}]}),
        ),
        (
            // Two windows whose counts sum past u64::MAX (RunSummary once overflowed here).
            "insert-event-huge-counts.json",
            json!({"execution": "run-1",
                   "sheet": {"spreadsheet_id": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg", "tab": "Orders"},
                   "windows": [huge.clone(), huge]}),
        ),
    ];
    for (name, event) in events {
        write("events", name, event.to_string().as_bytes());
    }
}
