//! Privacy and secrets: the whole pipeline (the real ASL, the three handlers, S3 over s3s-fs, the
//! fake NAVER and Google) runs with known credentials and known customers. None of those values
//! may appear in a log line (captured at DEBUG, spans included), a state's input or output, the
//! run journal, or an error name or cause — only in the payload objects (encrypted) and the sheet.
//! Every S3 put asks for server-side encryption.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use ordersync_cli::local::LocalFunctions;
use ordersync_cli::run::{DEFINITION, machine};
use ordersync_cli::sandbox::{naver_source, sheets_client};
use ordersync_runner::{Event, Observer, Options, Outcome};
use ordersync_testkit::google::{FakeGoogle, FakeGoogleConfig};
use ordersync_testkit::naver::{FakeNaver, FakeNaverConfig};
use ordersync_testkit::s3::S3Server;
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every state input and output the runner sees.
#[derive(Default)]
struct StateData(Mutex<Vec<String>>);

impl Observer for StateData {
    fn event(&self, event: Event<'_>) {
        let text = match event {
            Event::TaskSucceeded { output, .. } => output.to_string(),
            Event::TaskRetrying { failure, .. } | Event::TaskFailed { failure, .. } => {
                format!("{} {}", failure.error, failure.cause)
            }
            _ => return,
        };
        self.0.lock().unwrap().push(text);
    }
}

#[tokio::test]
async fn credentials_and_customer_data_stay_out_of_logs_states_and_errors() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    // The test runs on one thread (current-thread runtime), so this default sees every event.
    let _guard = tracing::subscriber::set_default(subscriber);

    let s3 = S3Server::start().await;
    let store = s3.store("privacy");
    let naver = FakeNaver::start(FakeNaverConfig {
        orders: 40,
        rate_per_sec: 50,
        ..FakeNaverConfig::default()
    })
    .await;
    let google = FakeGoogle::start(FakeGoogleConfig::default()).await;
    google.create_spreadsheet("private-book");
    let key_json = google.service_account_key_json();
    let key: Value = serde_json::from_str(&key_json).unwrap();
    let private_key_body: String = key["private_key"]
        .as_str()
        .unwrap()
        .lines()
        .nth(3)
        .unwrap()
        .to_owned();
    let wrong_secret = "$2a$04$WrongSecretValueForTes".to_owned();
    let secrets = [
        naver.client_secret().to_owned(),
        private_key_body,
        wrong_secret.clone(),
    ];
    let customers = naver.shop().personal_data();
    assert!(customers.len() > 40, "the shop has customers to look for");

    let good = naver_source(&naver, naver.client_secret()).unwrap();
    let bad = naver_source(&naver, &wrong_secret).unwrap();
    let sheets = sheets_client(&google).await.unwrap();
    let (from, to) = naver.shop().span();
    let request = json!({
        "account": {"secret_id": "shops/private"},
        "range": {"from": from.to_rfc3339(), "to": to.to_rfc3339()},
        "sheet": {"spreadsheet_id": "private-book", "tab": "orders"}
    });
    let machine = machine(DEFINITION).unwrap();
    let states = StateData::default();
    let options = Options {
        retry_time_scale: 0.001,
    };

    // A successful run, and one whose NAVER secret is refused (an Auth error with a cause).
    let good_functions = LocalFunctions::new(&store, &good, &sheets);
    let ok = ordersync_runner::run_execution(
        &machine,
        &store,
        &good_functions,
        &states,
        options,
        "private-ok",
        request.clone(),
    )
    .await
    .unwrap();
    let bad_functions = LocalFunctions {
        source: &bad,
        ..good_functions
    };
    let failed = ordersync_runner::run_execution(
        &machine,
        &store,
        &bad_functions,
        &states,
        options,
        "private-bad",
        request,
    )
    .await
    .unwrap();

    let mut state_texts = states.0.lock().unwrap().clone();
    let Outcome::Succeeded { output, .. } = &ok else {
        panic!("{ok:?}")
    };
    state_texts.push(output.to_string());
    let Outcome::Failed { failure, .. } = &failed else {
        panic!("{failed:?}")
    };
    assert_eq!(failure.error, "Ordersync.Auth");
    state_texts.push(format!("{} {}", failure.error, failure.cause));
    for key in s3
        .keys("privacy/runs/")
        .await
        .into_iter()
        .filter(|k| k.contains("/journal/"))
    {
        state_texts.push(String::from_utf8(s3.get_raw(&key).await.unwrap()).unwrap());
    }
    let log_text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        log_text.lines().count() > 20,
        "logs were captured:\n{log_text}"
    );

    let mut checked = 0;
    for value in secrets.iter().chain(&customers) {
        assert!(
            !log_text.contains(value.as_str()),
            "a log line contains {value:?}"
        );
        for text in &state_texts {
            assert!(
                !text.contains(value.as_str()),
                "state data contains {value:?}: {text}"
            );
        }
        checked += 1;
    }
    println!(
        "checked {checked} values against {} log lines and {} state texts",
        log_text.lines().count(),
        state_texts.len()
    );

    // They are where they belong: the sheet has the customers (the positive control).
    let sheet = google.values("private-book", "orders").concat().join("\n");
    let in_sheet = customers
        .iter()
        .filter(|c| sheet.contains(c.as_str()))
        .count();
    assert!(
        in_sheet > customers.len() / 2,
        "{in_sheet} of {} in the sheet",
        customers.len()
    );

    let puts = s3.puts();
    assert!(puts.len() > 10);
    for put in puts {
        assert_eq!(put.sse.as_deref(), Some("AES256"), "{}", put.key);
    }
}

/// The same check on what Lambda would send to CloudWatch Logs: the built function binaries'
/// own stdout and stderr, at DEBUG, through a successful run and one whose NAVER secret is
/// refused; plus every state's data and the failure's cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_functions_log_no_credentials_or_customer_data() {
    use std::time::Duration;

    let s3 = S3Server::start().await;
    let store = s3.store("privacy-bin");
    let naver = FakeNaver::start(FakeNaverConfig {
        orders: 40,
        rate_per_sec: 50,
        ..FakeNaverConfig::default()
    })
    .await;
    let google = FakeGoogle::start(FakeGoogleConfig::default()).await;
    google.create_spreadsheet("private-book");
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("sa.json");
    let key_json = google.service_account_key_json();
    std::fs::write(&key_path, &key_json).unwrap();
    let key: Value = serde_json::from_str(&key_json).unwrap();
    let private_key_line = key["private_key"].as_str().unwrap().lines().nth(3).unwrap();
    let wrong_secret = "$2a$04$WrongSecretValueForTes";
    let customers = naver.shop().personal_data();
    let secrets = [naver.client_secret(), private_key_line, wrong_secret];

    let pool = async |secret: &str| {
        let mut env = s3.store_env("privacy-bin");
        env.extend(
            [
                ("AWS_LAMBDA_LOG_LEVEL", "debug".to_owned()),
                ("NAVER_COMMERCE_BASE_URL", naver.base_url()),
                ("NAVER_CLIENT_ID", naver.client_id().to_owned()),
                ("NAVER_CLIENT_SECRET", secret.to_owned()),
                ("GOOGLE_SHEETS_BASE_URL", google.base_url()),
                (
                    "GOOGLE_APPLICATION_CREDENTIALS",
                    key_path.display().to_string(),
                ),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        common::pipeline_lambdas(env, Duration::from_secs(60)).await
    };
    let (good, bad) = (pool(naver.client_secret()).await, pool(wrong_secret).await);
    let (from, to) = naver.shop().span();
    let request = json!({
        "account": {"secret_id": "shops/private"},
        "range": {"from": from.to_rfc3339(), "to": to.to_rfc3339()},
        "sheet": {"spreadsheet_id": "private-book", "tab": "orders"}
    });
    let machine = machine(DEFINITION).unwrap();
    let states = StateData::default();
    let options = Options {
        retry_time_scale: 0.001,
    };
    let ok = ordersync_runner::run_execution(
        &machine,
        &store,
        &good,
        &states,
        options,
        "bin-ok",
        request.clone(),
    )
    .await
    .unwrap();
    let failed = ordersync_runner::run_execution(
        &machine, &store, &bad, &states, options, "bin-bad", request,
    )
    .await
    .unwrap();
    assert!(matches!(ok, Outcome::Succeeded { .. }), "{ok:?}");
    let Outcome::Failed { failure, .. } = &failed else {
        panic!("{failed:?}")
    };
    assert_eq!(failure.error, "Ordersync.Auth");

    let logs = format!("{}{}", good.logs(), bad.logs());
    assert!(
        logs.lines().count() > 20 && logs.contains("\"level\":\"DEBUG\""),
        "debug logs were captured:\n{logs}"
    );
    let mut texts = states.0.lock().unwrap().clone();
    texts.push(format!("{} {}", failure.error, failure.cause));
    for value in secrets
        .iter()
        .copied()
        .chain(customers.iter().map(String::as_str))
    {
        assert!(!logs.contains(value), "a function's log contains {value:?}");
        for text in &texts {
            assert!(
                !text.contains(value),
                "state data contains {value:?}: {text}"
            );
        }
    }
    // The positive control: the customers are in the sheet.
    let sheet = google.values("private-book", "orders").concat().join("\n");
    assert!(
        customers
            .iter()
            .filter(|c| sheet.contains(c.as_str()))
            .count()
            > customers.len() / 2
    );
    assert!(s3.puts().iter().all(|p| p.sse.as_deref() == Some("AES256")));
}
