//! The built `transform` binary, run as Lambda runs it: a separate process polling a local
//! Runtime API, with its store on an S3 server reached through the standard AWS environment.
//! It boots, handles an event end to end through S3, answers bad input with the documented
//! `errorType`, logs JSON lines with run/stage/window and no customer data. (Without its
//! configuration it answers `Ordersync.Config`: `tests/cold_start.rs`.)

use std::time::Duration;

use ordersync_core::events::{TransformEvent, TransformResult};
use ordersync_core::keys::{Stage, object_key};
use ordersync_core::payload::{self, encode};
use ordersync_core::product_order::{OrdersMeta, OrdersSchema};
use ordersync_core::rows::RowsSchema;
use ordersync_core::store::{read_object, write_object};
use ordersync_core::time::{DateOnly, parse_instant};
use ordersync_core::window::Window;
use ordersync_testkit::orders::orders_in_window;
use ordersync_testkit::process::{FunctionProcess, built_binary};
use ordersync_testkit::runtime_api::{Outcome, RuntimeApi};
use ordersync_testkit::s3::S3Server;
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(30);

fn window() -> Window {
    Window::new(
        parse_instant("2026-11-03", DateOnly::StartOfDay).unwrap(),
        parse_instant("2026-11-03", DateOnly::EndOfDay).unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_transform_binary_serves_the_runtime_api() {
    let binary = built_binary("ordersync-transform", "transform", false);
    let s3 = S3Server::start().await;
    let api = RuntimeApi::start().await;
    let store = s3.store("lambda");

    let orders = orders_in_window(&window(), 0, 300, 11);
    let names: Vec<String> = orders
        .iter()
        .filter_map(|o| o.detail.order.as_ref()?.orderer_name.clone())
        .collect();
    let key = object_key("exec-e2e", Stage::Orders, &window()).unwrap();
    let encoded = encode::<OrdersSchema>(&OrdersMeta { window: window() }, &orders).unwrap();
    let orders_ref = write_object::<OrdersSchema>(&store, &key, encoded)
        .await
        .unwrap();

    let mut env = api.function_env("transform");
    env.extend(s3.store_env("lambda"));
    let mut function = FunctionProcess::spawn(&binary, &env);

    // A good event: rows written through S3, a small typed result back.
    let event = TransformEvent {
        execution: "exec-e2e".into(),
        window: window(),
        orders: orders_ref.clone(),
        columns: None,
    };
    let outcome = api
        .invoke(serde_json::to_value(&event).unwrap(), TIMEOUT)
        .await
        .unwrap();
    let Outcome::Response(value) = outcome else {
        panic!(
            "expected a response, got {outcome:?}\n{}",
            function.output()
        );
    };
    let result: TransformResult = serde_json::from_value(value).unwrap();
    assert_eq!(result.counts.rows_out, 300);
    assert_eq!(
        result.rows.uri,
        format!(
            "s3://{}/lambda/runs/exec-e2e/rows/20261103T000000-20261104T000000.jsonl.zst",
            ordersync_testkit::s3::BUCKET
        )
    );
    let bytes = read_object(&store, &result.rows).await.unwrap();
    let rows: Vec<_> = payload::open::<RowsSchema>(&bytes, &result.rows)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 300);
    assert!(s3.puts().iter().all(|p| p.sse.as_deref() == Some("AES256")));

    // Malformed events are Ordersync.InvalidInput, named by the runtime's errorType.
    for bad in [
        json!({"execution": "exec-e2e"}),
        json!([1, 2, 3]),
        json!({"execution": "a/b", "window": event.window, "orders": []}),
    ] {
        let outcome = api.invoke(bad.clone(), TIMEOUT).await.unwrap();
        let Outcome::Error {
            error_type,
            error_message,
        } = outcome
        else {
            panic!("expected an error for {bad}, got {outcome:?}");
        };
        assert_eq!(
            error_type, "Ordersync.InvalidInput",
            "{bad}: {error_message}"
        );
    }

    // A corrupted orders object is Ordersync.Payload.
    let full_key = format!("lambda/{key}");
    let mut corrupted = s3.get_raw(&full_key).await.unwrap();
    corrupted[10] ^= 0xff;
    s3.put_raw(&full_key, corrupted).await;
    let outcome = api
        .invoke(serde_json::to_value(&event).unwrap(), TIMEOUT)
        .await
        .unwrap();
    let Outcome::Error {
        error_type,
        error_message,
    } = outcome
    else {
        panic!("expected an error, got {outcome:?}");
    };
    assert_eq!(error_type, "Ordersync.Payload");
    assert!(error_message.contains("SHA-256"), "{error_message}");

    // Logs: JSON lines carrying run, stage and window; no customer names anywhere.
    assert!(
        function.wait_for_output("rows written", TIMEOUT).await,
        "{}",
        function.output()
    );
    let output = function.output();
    let summary = output
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["message"] == "rows written")
        .unwrap_or_else(|| panic!("no JSON summary line in:\n{output}"));
    assert_eq!(summary["span"]["run"], "exec-e2e");
    assert_eq!(summary["span"]["stage"], "transform");
    assert_eq!(summary["span"]["window"], "20261103T000000-20261104T000000");
    assert_eq!(summary["fields"]["rows_out"], 300);
    for name in &names {
        assert!(
            !output.contains(name.as_str()),
            "customer name {name} leaked into logs"
        );
    }
    function.kill().await;
}
