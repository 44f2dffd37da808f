//! What several end-to-end tests share, included by each as `mod common;` (the tests' own
//! dependencies are dev-dependencies, which this package's library cannot use).

use std::path::Path;
use std::time::Duration;

use ordersync_core::events::RunSummary;
use ordersync_local::definition::{IMPORT, INSERT, TRANSFORM};
use ordersync_runner::Outcome;
use ordersync_testkit::google::FakeGoogle;
use ordersync_testkit::lambdas::{FunctionSpec, Lambdas};
use ordersync_testkit::naver::FakeNaver;
use ordersync_testkit::process::built_binary;

/// The run summary of an execution that succeeded; panics with the failure otherwise.
#[allow(dead_code)] // not every test that includes `common` runs the state machine
pub fn summary(outcome: &Outcome) -> RunSummary {
    match outcome {
        Outcome::Succeeded { output, .. } | Outcome::AlreadySucceeded { output } => {
            serde_json::from_value(output.clone()).unwrap()
        }
        Outcome::Failed { failure, .. } => panic!("execution failed: {failure}"),
    }
}

/// The three functions as built (debug) binaries, by the names the local definition uses, each
/// with `env` (store, NAVER and Google settings: every function gets all of them). Import and
/// transform time out after 60 s, insert after `insert_timeout` (it keeps 10 s of it back).
#[allow(dead_code)] // not every test that includes `common` runs the built functions
pub async fn pipeline_lambdas(env: Vec<(String, String)>, insert_timeout: Duration) -> Lambdas {
    let [import, transform, insert] = tokio::task::spawn_blocking(|| {
        [
            built_binary("ordersync-import", "import", false),
            built_binary("ordersync-transform", "transform", false),
            built_binary("ordersync-insert", "insert", false),
        ]
    })
    .await
    .expect("building the functions");
    let spec = |binary, timeout| FunctionSpec {
        binary,
        env: env.clone(),
        timeout,
    };
    Lambdas::new([
        (IMPORT.to_owned(), spec(import, Duration::from_secs(60))),
        (
            TRANSFORM.to_owned(),
            spec(transform, Duration::from_secs(60)),
        ),
        (INSERT.to_owned(), spec(insert, insert_timeout)),
    ])
}

/// The functions' settings for the two fakes: NAVER's base URL and application, and Google's
/// base URL with the service-account key written to `key_dir/sa.json`.
#[allow(dead_code)] // not every test that includes `common` runs the functions against fakes
pub fn fakes_env(naver: &FakeNaver, google: &FakeGoogle, key_dir: &Path) -> Vec<(String, String)> {
    let key_path = key_dir.join("sa.json");
    std::fs::write(&key_path, google.service_account_key_json()).unwrap();
    [
        ("NAVER_COMMERCE_BASE_URL", naver.base_url()),
        ("NAVER_CLIENT_ID", naver.client_id().to_owned()),
        ("NAVER_CLIENT_SECRET", naver.client_secret().to_owned()),
        (
            "GOOGLE_APPLICATION_CREDENTIALS",
            key_path.display().to_string(),
        ),
        ("GOOGLE_SHEETS_BASE_URL", google.base_url()),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .into()
}
