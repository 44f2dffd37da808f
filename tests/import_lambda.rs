//! The built `import` binary as Lambda runs it: polling a local Runtime API, reading NAVER from
//! the test kit's fake, writing to an S3 server. Good windows give an orders object with every
//! changed product order; bad input and an unregistered IP give their documented `errorType`s;
//! logs carry counts, never credentials, tokens or customer names.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::TimeDelta;
use ordersync_core::events::{ImportEvent, ImportResult};
use ordersync_core::payload;
use ordersync_core::product_order::OrdersSchema;
use ordersync_core::request::AccountRef;
use ordersync_core::store::read_object;
use ordersync_core::window::{MAX_WINDOW, Window};
use ordersync_testkit::naver::{Endpoint, FakeNaver, FakeNaverConfig, Fault, FaultKind};
use ordersync_testkit::process::{FunctionProcess, built_binary};
use ordersync_testkit::runtime_api::{Outcome, RuntimeApi};
use ordersync_testkit::s3::S3Server;
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_import_binary_fetches_a_window_into_s3() {
    let binary = built_binary("ordersync-import", "import", false);
    let naver = FakeNaver::start(FakeNaverConfig {
        orders: 400,
        rate_per_sec: 1000,
        ..FakeNaverConfig::default()
    })
    .await;
    let s3 = S3Server::start().await;
    let api = RuntimeApi::start().await;

    let mut env = api.function_env("import");
    env.extend(s3.store_env("lambda"));
    env.push(("NAVER_COMMERCE_BASE_URL".into(), naver.base_url()));
    env.push(("NAVER_CLIENT_ID".into(), naver.client_id().into()));
    env.push(("NAVER_CLIENT_SECRET".into(), naver.client_secret().into()));
    let mut function = FunctionProcess::spawn(&binary, &env);

    let (from, _) = naver.shop().span();
    let window = Window::new(from, from + MAX_WINDOW).unwrap();
    let event = ImportEvent {
        by: None,
        sync: None,
        instances: None,
        execution: "exec-import".into(),
        account: AccountRef {
            secret_id: "ordersync/naver/shop".into(),
        },
        window,
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
    let result: ImportResult = serde_json::from_value(value.clone()).unwrap();
    assert!(
        value.to_string().len() < 700,
        "a small reference, not data: {value}"
    );

    let expected: BTreeSet<String> = naver
        .shop()
        .changes_between(window.from, window.to - TimeDelta::milliseconds(1))
        .into_iter()
        .map(|e| e.product_order_id)
        .collect();
    assert_eq!(result.counts.changed, expected.len() as u64);
    assert_eq!(result.counts.fetched, expected.len() as u64);
    let store = s3.store("lambda");
    let bytes = read_object(&store, &result.orders).await.unwrap();
    let got: BTreeSet<String> = payload::open::<OrdersSchema>(&bytes, &result.orders)
        .unwrap()
        .map(|o| o.unwrap().product_order_id)
        .collect();
    assert_eq!(got, expected);
    assert!(s3.puts().iter().all(|p| p.sse.as_deref() == Some("AES256")));

    // Bad input: rejected before any NAVER call.
    let calls = naver.stats().token_calls + naver.stats().feed_calls;
    let mut bad = serde_json::to_value(&event).unwrap();
    bad["window"]["to"] = json!((window.from + TimeDelta::hours(30)).to_rfc3339());
    let Outcome::Error { error_type, .. } = api.invoke(bad, TIMEOUT).await.unwrap() else {
        panic!()
    };
    assert_eq!(error_type, "Ordersync.InvalidInput");
    assert_eq!(naver.stats().token_calls + naver.stats().feed_calls, calls);

    // An unregistered egress IP: Ordersync.Auth, telling the operator what to do.
    naver.inject(Fault {
        endpoint: Endpoint::Feed,
        times: 1,
        kind: FaultKind::Status {
            status: 403,
            code: "GW.IP_NOT_ALLOWED",
        },
    });
    let Outcome::Error {
        error_type,
        error_message,
    } = api
        .invoke(serde_json::to_value(&event).unwrap(), TIMEOUT)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(error_type, "Ordersync.Auth");
    assert!(
        error_message.contains("Elastic IP of the NAT gateway")
            && error_message.contains("ap-northeast-2"),
        "{error_message}"
    );

    // Logs: the summary line with counts; no secret, no token, no customer name.
    assert!(function.wait_for_output("orders written", TIMEOUT).await);
    let output = function.output();
    let summary = output
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["message"] == "orders written")
        .unwrap_or_else(|| panic!("no summary in:\n{output}"));
    assert_eq!(summary["span"]["run"], "exec-import");
    assert_eq!(summary["fields"]["fetched"], expected.len() as u64);
    assert!(
        !output.contains(naver.client_secret()),
        "client secret leaked"
    );
    assert!(
        !output.contains(&naver.client_secret()[7..]),
        "client secret salt leaked"
    );
    for id in expected.iter().take(50) {
        let detail = naver.shop().detail_json(id).unwrap();
        for name in [
            &detail["order"]["ordererName"],
            &detail["productOrder"]["shippingAddress"]["name"],
        ] {
            if let Some(name) = name.as_str().filter(|n| n.chars().count() > 1) {
                assert!(!output.contains(name), "customer name leaked into logs");
            }
        }
    }
    function.kill().await;
}
