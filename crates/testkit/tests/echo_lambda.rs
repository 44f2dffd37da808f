//! End to end: the real `lambda_runtime` 1.5 client, in a built binary, against
//! [`RuntimeApi`] through [`FunctionProcess`]. Proves the API sends every header the runtime
//! needs and reads its responses and errors as Lambda would.

use std::time::Duration;

use ordersync_testkit::process::{FunctionProcess, built_binary, peak_rss_kib};
use ordersync_testkit::runtime_api::{Outcome, RuntimeApi};
use ordersync_testkit::s3::{PutRecord, S3Server};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_lambda_answers_and_fails_through_the_runtime_api() {
    let binary = tokio::task::spawn_blocking(|| {
        built_binary("ordersync-testkit", "testkit-echo-lambda", false)
    })
    .await
    .expect("build task");
    let api = RuntimeApi::start().await;
    let mut function = FunctionProcess::spawn(&binary, &api.function_env("echo"));

    tokio::time::timeout(Duration::from_secs(30), api.first_poll())
        .await
        .unwrap_or_else(|_| panic!("function never polled; output:\n{}", function.output()));

    let outcome = api
        .invoke(json!({ "key": "p/run-1" }), Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e}; output:\n{}", function.output()));
    assert_eq!(
        outcome,
        Outcome::Response(json!({ "echo": { "key": "p/run-1" } }))
    );

    let outcome = api
        .invoke(
            json!({ "error_type": "Ordersync.Busy", "message": "tab is leased" }),
            Duration::from_secs(30),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}; output:\n{}", function.output()));
    assert_eq!(
        outcome,
        Outcome::Error {
            error_type: "Ordersync.Busy".into(),
            error_message: "tab is leased".into()
        }
    );
    assert_eq!(api.function_error_types(), [Some("unhandled".to_owned())]);

    assert!(
        function
            .wait_for_output("echo-lambda: request", Duration::from_secs(5))
            .await,
        "{}",
        function.output()
    );
    let rss = peak_rss_kib(function.pid()).expect("function is alive");
    assert!(rss > 0);
    function.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_env_reaches_the_s3_server_from_a_function_process() {
    let binary = tokio::task::spawn_blocking(|| {
        built_binary("ordersync-testkit", "testkit-echo-lambda", false)
    })
    .await
    .expect("build task");
    let s3 = S3Server::start().await;
    let api = RuntimeApi::start().await;
    let mut env = api.function_env("echo");
    env.extend(s3.child_env());
    env.push(("ORDERSYNC_STORE".into(), s3.location("runs")));
    let mut function = FunctionProcess::spawn(&binary, &env);

    let outcome = api
        .invoke(json!({ "put": "run-1/x.zst" }), Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e}; output:\n{}", function.output()));
    assert_eq!(
        outcome,
        Outcome::Response(json!({ "put": "s3://ordersync-test/runs/run-1/x.zst" })),
        "output:\n{}",
        function.output()
    );
    assert_eq!(s3.get_raw("runs/run-1/x.zst").await, Some(b"echo".to_vec()));
    assert_eq!(
        s3.puts(),
        [PutRecord {
            key: "runs/run-1/x.zst".into(),
            sse: Some("AES256".into())
        }]
    );
    function.kill().await;
}
