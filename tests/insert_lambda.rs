//! The built `insert` binary as Lambda runs it: rows objects in S3 (written by the transform
//! handler from generated orders), the fake Google server as Sheets, the service-account key
//! from `GOOGLE_APPLICATION_CREDENTIALS`. First run appends, a rerun writes nothing, a tab
//! leased by another execution is `Ordersync.Busy`, bad input is `Ordersync.InvalidInput`.

use std::time::Duration;

use ordersync_core::events::{InsertEvent, RunSummary, TransformEvent, WindowOutcome};
use ordersync_core::keys::{Stage, object_key};
use ordersync_core::lease::{self, LeaseConfig};
use ordersync_core::payload::encode;
use ordersync_core::product_order::{OrdersMeta, OrdersSchema};
use ordersync_core::request::SheetTarget;
use ordersync_core::store::write_object;
use ordersync_core::time::{DateOnly, parse_instant};
use ordersync_core::window::{MAX_WINDOW, split};
use ordersync_testkit::google::{FakeGoogle, FakeGoogleConfig};
use ordersync_testkit::orders::orders_in_window;
use ordersync_testkit::process::{FunctionProcess, built_binary};
use ordersync_testkit::runtime_api::{Outcome, RuntimeApi};
use ordersync_testkit::s3::S3Server;

const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_insert_binary_upserts_and_respects_the_lease() {
    let binary = built_binary("ordersync-insert", "insert", false);
    let google = FakeGoogle::start(FakeGoogleConfig::default()).await;
    google.create_spreadsheet("sheet-e2e");
    let s3 = S3Server::start().await;
    let store = s3.store("lambda");
    let api = RuntimeApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("sa.json");
    std::fs::write(&key_path, google.service_account_key_json()).unwrap();

    // Two windows of rows, through the real transform handler.
    let from = parse_instant("2026-11-01", DateOnly::StartOfDay).unwrap();
    let to = parse_instant("2026-11-02", DateOnly::EndOfDay).unwrap();
    let mut refs = Vec::new();
    let mut names = Vec::new();
    for (i, window) in split(from, to, MAX_WINDOW).into_iter().enumerate() {
        let orders = orders_in_window(&window, i as u64 * 1000, 120, i as u64);
        names.extend(
            orders
                .iter()
                .filter_map(|o| o.detail.order.as_ref()?.orderer_name.clone()),
        );
        let key = object_key("exec-insert", Stage::Orders, &window).unwrap();
        let orders_ref = write_object::<OrdersSchema>(
            &store,
            &key,
            encode::<OrdersSchema>(&OrdersMeta { window }, &orders).unwrap(),
        )
        .await
        .unwrap();
        let out = ordersync_transform::handle(
            &store,
            TransformEvent {
                execution: "exec-insert".into(),
                window,
                orders: orders_ref,
                columns: None,
            },
        )
        .await
        .unwrap();
        refs.push(WindowOutcome::from(out));
    }

    let mut env = api.function_env("insert");
    env.extend(s3.store_env("lambda"));
    env.push((
        "GOOGLE_APPLICATION_CREDENTIALS".into(),
        key_path.display().to_string(),
    ));
    env.push(("GOOGLE_SHEETS_BASE_URL".into(), google.base_url()));
    let mut function = FunctionProcess::spawn(&binary, &env);

    let event = InsertEvent {
        sync: None,
        execution: "exec-insert".into(),
        sheet: SheetTarget {
            spreadsheet_id: "sheet-e2e".into(),
            tab: "스마트스토어 주문".into(),
        },
        windows: refs,
    };
    let invoke = |value: serde_json::Value| {
        let api = &api;
        async move { api.invoke(value, TIMEOUT).await.unwrap() }
    };
    let outcome = invoke(serde_json::to_value(&event).unwrap()).await;
    let Outcome::Response(value) = outcome else {
        panic!("{outcome:?}\n{}", function.output())
    };
    let first: RunSummary = serde_json::from_value(value).unwrap();
    assert_eq!((first.appended, first.updated), (240, 0));
    assert_eq!(google.values("sheet-e2e", "스마트스토어 주문").len(), 241);

    // A redrive of the same execution: nothing to write, one read.
    let Outcome::Response(value) = invoke(serde_json::to_value(&event).unwrap()).await else {
        panic!()
    };
    let again: RunSummary = serde_json::from_value(value).unwrap();
    assert_eq!(
        (again.unchanged, again.appended, again.sheets_api_calls),
        (240, 0, 1)
    );

    // Another execution holds the tab: retryable Busy, and nothing is written.
    let other = lease::acquire(
        &store,
        "sheet-e2e",
        "스마트스토어 주문",
        "exec-other",
        &LeaseConfig::default(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let writes = google.stats().writes;
    let Outcome::Error {
        error_type,
        error_message,
    } = invoke(serde_json::to_value(&event).unwrap()).await
    else {
        panic!()
    };
    assert_eq!(error_type, "Ordersync.Busy", "{error_message}");
    assert!(error_message.contains("exec-other"), "{error_message}");
    assert_eq!(google.stats().writes, writes);
    lease::release(&store, other).await.unwrap();

    // Bad input.
    let mut bad = serde_json::to_value(&event).unwrap();
    bad["sheet"]["spreadsheet_id"] = serde_json::json!("../../etc");
    let Outcome::Error { error_type, .. } = invoke(bad).await else {
        panic!()
    };
    assert_eq!(error_type, "Ordersync.InvalidInput");

    // Logs carry counts, not customer names.
    let output = function.output();
    assert!(output.contains("sheet upserted"), "{output}");
    for name in &names {
        assert!(!output.contains(name.as_str()), "customer name in logs");
    }
    function.kill().await;
}
