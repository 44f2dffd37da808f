//! A corpus of malformed execution inputs through the real state machine: each one fails the
//! execution at Plan as `Ordersync.InvalidInput` with the bad field named in the cause — never a
//! panic, never a retry, and nothing sent to NAVER or Google or written to the store (only the
//! local run's own journal).

use ordersync_core::store::DirStore;
use ordersync_local::definition::{DEFINITION, machine};
use ordersync_local::functions::LocalFunctions;
use ordersync_local::sandbox::{naver_source, sheets_client};
use ordersync_runner::{Options, Outcome, Quiet};
use ordersync_testkit::google::{FakeGoogle, FakeGoogleConfig};
use ordersync_testkit::naver::{FakeNaver, FakeNaverConfig};
use serde_json::{Value, json};

fn good() -> Value {
    json!({
        "account": {"secret_id": "shops/one"},
        "range": {"from": "2026-11-01", "to": "2026-11-03"},
        "sheet": {"spreadsheet_id": "book", "tab": "orders"}
    })
}

fn with(path: &[&str], value: Value) -> Value {
    let mut v = good();
    let mut slot = &mut v;
    for key in &path[..path.len() - 1] {
        slot = &mut slot[*key];
    }
    slot[path[path.len() - 1]] = value;
    v
}

fn without(path: &[&str]) -> Value {
    let mut v = good();
    let mut slot = &mut v;
    for key in &path[..path.len() - 1] {
        slot = &mut slot[*key];
    }
    slot.as_object_mut().unwrap().remove(path[path.len() - 1]);
    v
}

/// (input, text the cause must contain)
fn corpus() -> Vec<(Value, &'static str)> {
    vec![
        (json!(null), "expected struct RunRequest"),
        (json!([]), "expected struct RunRequest"),
        (json!("a string"), "expected struct RunRequest"),
        (json!(42), "expected struct RunRequest"),
        (json!({}), "missing field"),
        (without(&["account"]), "account"),
        // Without a range it is a sync, and a tab's first sync needs `since`.
        (without(&["range"]), "needs `since`"),
        (with(&["since"], json!("2026-10-01")), "since is for a sync"),
        (without(&["sheet"]), "sheet"),
        (without(&["range", "to"]), "range"),
        (without(&["sheet", "spreadsheet_id"]), "spreadsheet_id"),
        (with(&["account"], json!("shops/one")), "account"),
        (
            with(&["account", "secret_id"], json!("")),
            "account.secret_id is empty",
        ),
        (
            with(
                &["account", "secret_id"],
                json!("$2a$04$abcdefghijklmnopqrstuv"),
            ),
            "never the secret itself",
        ),
        (
            with(&["account", "secret_id"], json!(7)),
            "account.secret_id",
        ),
        (
            with(&["account", "client_secret"], json!("x")),
            "client_secret",
        ),
        (with(&["range", "from"], json!("yesterday")), "range.from"),
        (with(&["range", "from"], json!("2026-13-01")), "range.from"),
        (
            with(&["range", "from"], json!("2026-11-01T25:00:00+09:00")),
            "range.from",
        ),
        (
            with(&["range", "to"], json!("2026-10-01")),
            "range.to is before range.from",
        ),
        (
            with(&["range", "to"], json!("2026-11-01T00:00:00+09:00")),
            "range is empty",
        ),
        (
            with(&["range", "to"], json!("2027-11-01")),
            "ORDERSYNC_MAX_RANGE_DAYS",
        ),
        (
            with(&["range", "from"], json!("2999-01-01")),
            "in the future",
        ),
        (with(&["range", "from"], json!(20261101)), "range.from"),
        (
            with(&["sheet", "spreadsheet_id"], json!("")),
            "sheet.spreadsheet_id is empty",
        ),
        (
            with(&["sheet", "spreadsheet_id"], json!("../../etc/passwd")),
            "illegal character",
        ),
        (
            with(&["sheet", "spreadsheet_id"], json!("x".repeat(200))),
            "longer than 128",
        ),
        (with(&["sheet", "tab"], json!("   ")), "sheet.tab is empty"),
        (
            with(&["sheet", "tab"], json!("tab\u{0}name")),
            "control character",
        ),
        (
            with(&["sheet", "tab"], json!("가".repeat(101))),
            "longer than 100",
        ),
        (
            with(&["columns"], json!({"preset": "everything"})),
            "columns",
        ),
        (
            with(&["columns"], json!({"list": [{"field": "credit_card"}]})),
            "columns",
        ),
        (with(&["columns"], json!({"mask": ["passport"]})), "columns"),
        (with(&["columns"], json!("standard")), "columns"),
        (with(&["extra"], json!(true)), "extra"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_malformed_input_fails_in_plan_with_its_field_named_and_no_side_effect() {
    let naver = FakeNaver::start(FakeNaverConfig::default()).await;
    let google = FakeGoogle::start(FakeGoogleConfig::default()).await;
    google.create_spreadsheet("book");
    let source = naver_source(&naver, naver.client_secret()).unwrap();
    let sheets = sheets_client(&google).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let functions = LocalFunctions::new(&store, &source, &sheets);
    let machine = machine(DEFINITION).unwrap();

    let corpus = corpus();
    assert!(corpus.len() >= 30);
    for (i, (input, needle)) in corpus.iter().enumerate() {
        let name = format!("bad-{i}");
        let outcome = ordersync_runner::run_execution(
            &machine,
            &store,
            &functions,
            &Quiet,
            Options {
                retry_time_scale: 0.0,
            },
            &name,
            input.clone(),
        )
        .await
        .unwrap();
        let Outcome::Failed { failure, runs: 1 } = outcome else {
            panic!("input {i} {input}: expected a failure, got {outcome:?}")
        };
        assert_eq!(
            failure.error, "Ordersync.InvalidInput",
            "input {i} {input}: {}",
            failure.cause
        );
        let cause: Value = serde_json::from_str(&failure.cause).unwrap();
        let message = cause["errorMessage"].as_str().unwrap();
        assert!(
            message.contains(needle),
            "input {i} {input}: `{message}` lacks `{needle}`"
        );
        // Nothing but the run's own journal was written.
        let run_dir = dir.path().join("runs").join(&name);
        let written: Vec<_> = std::fs::read_dir(&run_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(written, ["journal"], "input {i}");
    }
    assert_eq!(
        naver.stats().token_calls + naver.stats().feed_calls,
        0,
        "nothing reached NAVER"
    );
    let google_stats = google.stats();
    assert_eq!(
        google_stats.reads + google_stats.writes,
        0,
        "nothing reached Google"
    );
    println!("malformed inputs checked: {}", corpus.len());
}
