//! The transform handler against the local-directory store: the happy path, rerun determinism,
//! and every kind of bad input giving its documented error name.

use ordersync_core::ErrorName;
use ordersync_core::events::TransformEvent;
use ordersync_core::keys::{Stage, object_key};
use ordersync_core::payload::{self, encode};
use ordersync_core::product_order::{OrdersMeta, OrdersSchema};
use ordersync_core::rows::RowsSchema;
use ordersync_core::store::{DirStore, Store, read_object, write_object};
use ordersync_core::time::{DateOnly, parse_instant};
use ordersync_core::window::Window;
use ordersync_testkit::orders::orders_in_window;
use ordersync_transform::handler::{handle, parse_event};
use serde_json::json;

fn window() -> Window {
    Window::new(
        parse_instant("2026-11-01", DateOnly::StartOfDay).unwrap(),
        parse_instant("2026-11-01", DateOnly::EndOfDay).unwrap(),
    )
    .unwrap()
}

async fn setup(count: u64) -> (tempfile::TempDir, DirStore, TransformEvent) {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let mut orders = orders_in_window(&window(), 0, count, 7);
    // The feed listed two orders twice: an older change of each must lose.
    let mut older = orders[0].clone();
    older.change.as_mut().unwrap().last_changed_date = Some(window().from);
    orders.push(older);
    orders.push(orders[1].clone());
    let key = object_key("exec-1", Stage::Orders, &window()).unwrap();
    let encoded = encode::<OrdersSchema>(&OrdersMeta { window: window() }, &orders).unwrap();
    let orders_ref = write_object::<OrdersSchema>(&store, &key, encoded)
        .await
        .unwrap();
    let event = TransformEvent {
        execution: "exec-1".into(),
        window: window(),
        orders: orders_ref,
        columns: None,
    };
    (dir, store, event)
}

#[tokio::test]
async fn writes_deduplicated_rows_under_the_deterministic_key() {
    let (_dir, store, event) = setup(50).await;
    let out = handle(&store, event.clone()).await.unwrap();
    assert_eq!(
        (
            out.counts.orders_in,
            out.counts.rows_out,
            out.counts.duplicates_dropped
        ),
        (52, 50, 2)
    );
    let expected_key = object_key("exec-1", Stage::Rows, &window()).unwrap();
    assert_eq!(out.rows.uri, store.uri(&expected_key));
    assert_eq!(out.rows.schema, "ordersync.rows");

    let bytes = read_object(&store, &out.rows).await.unwrap();
    let reader = payload::open::<RowsSchema>(&bytes, &out.rows).unwrap();
    assert_eq!(reader.meta().columns.len(), 18);
    let rows: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), 50);
    assert!(
        rows.windows(2).all(|w| w[0].key < w[1].key),
        "sorted by key"
    );

    // A rerun of the same execution rewrites the same object, byte for byte.
    let again = handle(&store, event).await.unwrap();
    assert_eq!(again.rows, out.rows);

    // The output event is small whatever the order count.
    assert!(serde_json::to_vec(&out).unwrap().len() < 600);
}

async fn error_of(store: &DirStore, event: serde_json::Value) -> (ErrorName, String) {
    let result = match parse_event(event) {
        Ok(event) => handle(store, event).await,
        Err(e) => Err(e),
    };
    let e = result.expect_err("bad input must fail");
    (e.name, e.message)
}

#[tokio::test]
async fn bad_events_are_invalid_input_naming_the_field() {
    let (_dir, store, event) = setup(3).await;
    let good = serde_json::to_value(&event).unwrap();

    let cases: Vec<(serde_json::Value, &str)> = vec![
        (json!("not an object"), "invalid type"),
        (json!({}), "missing field `execution`"),
        (
            {
                let mut v = good.clone();
                v["execution"] = json!("run/../other");
                v
            },
            "execution name contains a character",
        ),
        (
            {
                let mut v = good.clone();
                v["execution"] = json!("..");
                v
            },
            "execution name starts with '.'",
        ),
        (
            {
                let mut v = good.clone();
                v["execution"] = json!("");
                v
            },
            "execution name is empty",
        ),
        (
            {
                let mut v = good.clone();
                v["window"]["to"] = v["window"]["from"].clone();
                v
            },
            "window.to is not after window.from",
        ),
        (
            {
                let mut v = good.clone();
                v["window"]["to"] = json!("2026-11-03T00:00:00+09:00");
                v
            },
            "at most 24 h",
        ),
        (
            {
                let mut v = good.clone();
                v["window"]["from"] = json!("2026-11-01");
                v
            },
            "window.from: premature end of input",
        ),
        (
            {
                let mut v = good.clone();
                v["columns"] = json!({"list": [{"field": "nope"}]});
                v
            },
            "columns.list[0].field: unknown variant `nope`",
        ),
        (
            {
                let mut v = good.clone();
                v["columns"] = json!({"list": [{"field": "quantity"}, {"field": "quantity"}]});
                v
            },
            "chosen twice",
        ),
        (
            {
                let mut v = good.clone();
                v["surprise"] = json!(true);
                v
            },
            "surprise: unknown field",
        ),
        (
            {
                let mut v = good.clone();
                v["orders"]["records"] = json!(-1);
                v
            },
            "orders.records: invalid value",
        ),
    ];
    for (event, expected) in cases {
        let (name, message) = error_of(&store, event.clone()).await;
        assert_eq!(name, ErrorName::InvalidInput, "{event}: {message}");
        assert!(
            message.contains(expected),
            "{event}: expected `{expected}` in `{message}`"
        );
    }
}

#[tokio::test]
async fn bad_payload_objects_are_payload_errors() {
    let (dir, store, event) = setup(20).await;
    let good = serde_json::to_value(&event).unwrap();
    let key = store.key_of(&event.orders.uri).unwrap();
    let path = dir.path().join(&key);
    let original = std::fs::read(&path).unwrap();

    // Corrupted: one flipped byte.
    let mut corrupted = original.clone();
    corrupted[original.len() / 2] ^= 1;
    std::fs::write(&path, &corrupted).unwrap();
    let (name, message) = error_of(&store, good.clone()).await;
    assert_eq!(name, ErrorName::Payload);
    assert!(message.contains("does not match its SHA-256"), "{message}");

    // Truncated.
    std::fs::write(&path, &original[..original.len() - 7]).unwrap();
    let (name, message) = error_of(&store, good.clone()).await;
    assert_eq!(name, ErrorName::Payload);
    assert!(message.contains("truncated or replaced"), "{message}");

    // Missing.
    std::fs::remove_file(&path).unwrap();
    let (name, message) = error_of(&store, good.clone()).await;
    assert_eq!(name, ErrorName::Payload);
    assert!(message.ends_with("is missing"), "{message}");
    std::fs::write(&path, &original).unwrap();

    // Wrong schema: a rows object handed over as orders.
    let out = handle(&store, event.clone()).await.unwrap();
    let mut v = good.clone();
    v["orders"] = serde_json::to_value(&out.rows).unwrap();
    let (name, message) = error_of(&store, v).await;
    assert_eq!(name, ErrorName::Payload);
    assert!(
        message.contains("holds ordersync.rows v1, expected ordersync.orders v1"),
        "{message}"
    );

    // A reference outside our store is refused before anything is read.
    let mut v = good.clone();
    v["orders"]["uri"] = json!("s3://someone-elses-bucket/secrets.jsonl.zst");
    let (name, message) = error_of(&store, v).await;
    assert_eq!(name, ErrorName::Payload);
    assert!(
        message.contains("does not belong to this store"),
        "{message}"
    );

    // An orders object for another window.
    let mut v = good.clone();
    v["window"]["to"] = json!("2026-11-01T12:00:00+09:00");
    let (name, message) = error_of(&store, v).await;
    assert_eq!(name, ErrorName::Payload);
    assert!(message.contains("the event asks for"), "{message}");
}

#[tokio::test]
async fn an_empty_window_gives_an_empty_rows_object() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let key = object_key("exec-2", Stage::Orders, &window()).unwrap();
    let encoded = encode::<OrdersSchema>(&OrdersMeta { window: window() }, &[]).unwrap();
    let orders = write_object::<OrdersSchema>(&store, &key, encoded)
        .await
        .unwrap();
    let out = handle(
        &store,
        TransformEvent {
            execution: "exec-2".into(),
            window: window(),
            orders,
            columns: None,
        },
    )
    .await
    .unwrap();
    assert_eq!((out.counts.orders_in, out.counts.rows_out), (0, 0));
    assert_eq!(out.rows.records, 0);
}
