//! Cold-start failures of the built functions come back through the handler with their
//! documented names, as Step Functions must see them: the clients are built on the first
//! invocation, not before the runtime loop (where a failure could only end the process, which
//! the Lambda service reports as `Runtime.ExitError`). The process keeps serving, and the next
//! invocation tries again.

use std::time::Duration;

use ordersync_testkit::process::{FunctionProcess, built_binary};
use ordersync_testkit::runtime_api::{Outcome, RuntimeApi};
use ordersync_testkit::s3::S3Server;
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Spawns `bin` with `env`, invokes `event` twice and returns both error types and messages;
/// asserts the process did not exit.
async fn twice(
    package: &str,
    bin: &str,
    env: Vec<(String, String)>,
    event: Value,
) -> Vec<(String, String)> {
    let binary = built_binary(package, bin, false);
    let api = RuntimeApi::start().await;
    let mut full = api.function_env(bin);
    full.extend(env);
    let mut function = FunctionProcess::spawn(&binary, &full);
    let mut answers = Vec::new();
    for attempt in 1..=2 {
        let outcome = api.invoke(event.clone(), TIMEOUT).await.unwrap();
        let Outcome::Error {
            error_type,
            error_message,
        } = outcome
        else {
            panic!(
                "{bin} attempt {attempt}: {outcome:?}\n{}",
                function.output()
            );
        };
        answers.push((error_type, error_message));
    }
    assert!(
        function
            .wait_exit(Duration::from_millis(200))
            .await
            .is_none(),
        "{bin} is still serving"
    );
    function.kill().await;
    answers
}

fn insert_event() -> Value {
    json!({
        "execution": "exec-cold",
        "sheet": {"spreadsheet_id": "book", "tab": "orders"},
        "windows": []
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_with_an_unreadable_key_answers_config() {
    let s3 = S3Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("sa.json");
    std::fs::write(&key_path, "this is not a service-account key").unwrap();
    let mut env = s3.store_env("cold");
    env.push((
        "GOOGLE_APPLICATION_CREDENTIALS".into(),
        key_path.display().to_string(),
    ));
    for (error_type, message) in twice("ordersync-insert", "insert", env, insert_event()).await {
        assert_eq!(error_type, "Ordersync.Config", "{message}");
        assert!(
            !message.contains("this is not"),
            "the key's text never leaks: {message}"
        );
    }

    // No key configured at all: named, not an exit.
    let env = s3.store_env("cold");
    for (error_type, message) in twice("ordersync-insert", "insert", env, insert_event()).await {
        assert_eq!(error_type, "Ordersync.Config", "{message}");
        assert!(message.contains("ORDERSYNC_GOOGLE_SECRET_ID"), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_whose_secrets_manager_does_not_answer_gets_a_retryable_name() {
    // Secrets Manager unreachable (a closed local port): a blip the state machine retries, not
    // a configuration error and not a crash.
    let s3 = S3Server::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut env = s3.store_env("cold");
    env.push((
        "ORDERSYNC_GOOGLE_SECRET_ID".into(),
        "ordersync/google".into(),
    ));
    env.push(("AWS_ENDPOINT_URL_SECRETS_MANAGER".into(), endpoint));
    for (error_type, message) in twice("ordersync-insert", "insert", env, insert_event()).await {
        assert_eq!(error_type, "Ordersync.Upstream", "{message}");
        assert!(message.contains("ordersync/google"), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_with_a_missing_credentials_file_answers_config() {
    let s3 = S3Server::start().await;
    let mut env = s3.store_env("cold");
    env.push((
        "NAVER_CREDENTIALS_FILE".into(),
        "/nonexistent/ordersync/naver.json".into(),
    ));
    let plan = json!({
        "execution": "exec-cold",
        "request": {
            "account": {"secret_id": "shops/one"},
            "range": {"from": "2026-11-01", "to": "2026-11-02"},
            "sheet": {"spreadsheet_id": "book", "tab": "orders"}
        }
    });
    for (error_type, message) in twice("ordersync-import", "import", env, plan).await {
        assert_eq!(error_type, "Ordersync.Config", "{message}");
        assert!(
            message.contains("NAVER_CREDENTIALS_FILE") || message.contains("naver.json"),
            "{message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_named_before_anything_is_built() {
    // Nothing configured at all: an invalid event is still `InvalidInput`, never `Config`.
    for (package, bin) in [
        ("ordersync-import", "import"),
        ("ordersync-transform", "transform"),
        ("ordersync-insert", "insert"),
    ] {
        for (error_type, message) in twice(package, bin, Vec::new(), json!({"nope": 1})).await {
            assert_eq!(error_type, "Ordersync.InvalidInput", "{bin}: {message}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transform_without_a_store_answers_config() {
    let event = json!({
        "execution": "exec-nostore",
        "window": {"from": "2026-11-03T00:00:00+09:00", "to": "2026-11-04T00:00:00+09:00"},
        "orders": {
            "uri": "s3://bucket/lambda/runs/exec-nostore/orders/x.jsonl.zst",
            "schema": "ordersync.orders",
            "version": 1,
            "records": 1,
            "bytes": 1,
            "sha256": "0".repeat(64)
        }
    });
    for (error_type, message) in twice("ordersync-transform", "transform", Vec::new(), event).await
    {
        assert_eq!(error_type, "Ordersync.Config", "{message}");
        assert!(message.contains("ORDERSYNC_STORE"), "{message}");
    }
}
