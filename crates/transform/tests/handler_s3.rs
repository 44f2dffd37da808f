//! The transform handler over the real S3 protocol: aws-sdk-s3 talking to an s3s-fs server on
//! 127.0.0.1. Proves the S3 adapter (keys under a prefix, SSE on every put, missing objects,
//! foreign buckets) and the handler together.

use ordersync_core::ErrorName;
use ordersync_core::events::TransformEvent;
use ordersync_core::keys::{Stage, object_key};
use ordersync_core::payload::{self, encode};
use ordersync_core::product_order::{OrdersMeta, OrdersSchema};
use ordersync_core::rows::RowsSchema;
use ordersync_core::store::{Store, read_object, write_object};
use ordersync_core::time::{DateOnly, parse_instant};
use ordersync_core::window::Window;
use ordersync_testkit::orders::orders_in_window;
use ordersync_testkit::s3::{BUCKET, S3Server};
use ordersync_transform::handle;

fn window() -> Window {
    Window::new(
        parse_instant("2026-11-02T00:00:00+09:00", DateOnly::StartOfDay).unwrap(),
        parse_instant("2026-11-02T12:00:00+09:00", DateOnly::StartOfDay).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn transform_reads_and_writes_through_s3() {
    let server = S3Server::start().await;
    let store = server.store("tenant-a");
    let orders = orders_in_window(&window(), 1_000, 200, 3);
    let key = object_key("exec-s3", Stage::Orders, &window()).unwrap();
    let encoded = encode::<OrdersSchema>(&OrdersMeta { window: window() }, &orders).unwrap();
    let orders_ref = write_object::<OrdersSchema>(&store, &key, encoded)
        .await
        .unwrap();
    assert_eq!(
        orders_ref.uri,
        format!(
            "s3://{BUCKET}/tenant-a/runs/exec-s3/orders/20261102T000000-20261102T120000.jsonl.zst"
        )
    );

    let event = TransformEvent {
        execution: "exec-s3".into(),
        window: window(),
        orders: orders_ref.clone(),
        columns: Some(
            serde_json::from_str(r#"{"preset":"shipping","mask":["name","phone"]}"#).unwrap(),
        ),
    };
    let out = handle(&store, event.clone()).await.unwrap();
    assert_eq!(out.counts.rows_out, 200);

    let bytes = read_object(&store, &out.rows).await.unwrap();
    let reader = payload::open::<RowsSchema>(&bytes, &out.rows).unwrap();
    let receiver = reader
        .meta()
        .columns
        .iter()
        .position(|c| c.header == "수취인명")
        .unwrap();
    let rows: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    for row in &rows {
        let ordersync_core::rows::Cell::Text(name) = &row.cells[receiver] else {
            panic!("names are text");
        };
        assert!(name.chars().skip(1).all(|c| c == '*'), "masked: {name}");
    }

    // Every object went in under the prefix and asked for server-side encryption.
    let puts = server.puts();
    assert_eq!(puts.len(), 2);
    for put in &puts {
        assert!(put.key.starts_with("tenant-a/runs/exec-s3/"), "{}", put.key);
        assert_eq!(put.sse.as_deref(), Some("AES256"), "{}", put.key);
    }

    // A missing orders object is a Payload error, not an empty result.
    server
        .client()
        .delete_object()
        .bucket(BUCKET)
        .key(format!("tenant-a/{key}"))
        .send()
        .await
        .unwrap();
    let err = handle(&store, event.clone()).await.unwrap_err();
    assert_eq!(err.name, ErrorName::Payload);
    assert!(err.message.ends_with("is missing"), "{}", err.message);

    // A reference into another bucket is refused before any request.
    let mut foreign = event;
    foreign.orders.uri = "s3://other-bucket/tenant-a/x.jsonl.zst".into();
    let before = server.puts().len();
    let err = handle(&store, foreign).await.unwrap_err();
    assert_eq!(err.name, ErrorName::Payload);
    assert_eq!(server.puts().len(), before);
    assert!(store.key_of(&orders_ref.uri).is_ok());
}
