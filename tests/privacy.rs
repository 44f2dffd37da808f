//! Privacy and secrets: the whole pipeline (the real ASL, the three handlers, S3 over s3s-fs, the
//! fake NAVER and Google) runs with known credentials and known customers. None of those values
//! may appear in a log line (captured at DEBUG, spans included), a state's input or output, the
//! run journal, or an error name or cause — only in the payload objects (encrypted) and the sheet.
//! Every S3 put asks for server-side encryption.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ordersync_aws::S3Store;
use ordersync_local::definition::{DEFINITION, machine};
use ordersync_local::functions::LocalFunctions;
use ordersync_local::sandbox::{naver_source, sheets_client};
use ordersync_runner::{Event, Invoker, Observer, Options, Outcome};
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

/// A NAVER secret that is refused: the failed run's cause must not quote it either.
const WRONG_SECRET: &str = "$2a$04$WrongSecretValueForTes";

/// The servers both tests run against, the request, and the values that must stay out of logs,
/// state data and errors: the credentials (the NAVER secret, a line of the service account's
/// private key, the refused secret) and every customer name, phone and address of the shop.
struct Privacy {
    prefix: &'static str,
    s3: S3Server,
    store: S3Store,
    naver: FakeNaver,
    google: FakeGoogle,
    secrets: Vec<String>,
    customers: Vec<String>,
    request: Value,
}

impl Privacy {
    async fn start(prefix: &'static str) -> Privacy {
        let s3 = S3Server::start().await;
        let store = s3.store(prefix);
        let naver = FakeNaver::start(FakeNaverConfig {
            orders: 40,
            rate_per_sec: 50,
            ..FakeNaverConfig::default()
        })
        .await;
        let google = FakeGoogle::start(FakeGoogleConfig::default()).await;
        google.create_spreadsheet("private-book");
        let key: Value = serde_json::from_str(&google.service_account_key_json()).unwrap();
        let private_key_line = key["private_key"].as_str().unwrap().lines().nth(3).unwrap();
        let secrets = vec![
            naver.client_secret().to_owned(),
            private_key_line.to_owned(),
            WRONG_SECRET.to_owned(),
        ];
        let customers = naver.shop().personal_data();
        assert!(customers.len() > 40, "the shop has customers to look for");
        let (from, to) = naver.shop().span();
        let request = json!({
            "account": {"secret_id": "shops/private"},
            "range": {"from": from.to_rfc3339(), "to": to.to_rfc3339(), "by": "changed"},
            "sheet": {"spreadsheet_id": "private-book", "tab": "orders"}
        });
        Privacy {
            prefix,
            s3,
            store,
            naver,
            google,
            secrets,
            customers,
            request,
        }
    }

    /// A successful run with `good`, then one with `refused` (whose NAVER secret is wrong: an
    /// Auth error with a cause). Returns every state's data, the outputs, the failure and the
    /// run journals, as text.
    async fn run_good_and_refused(
        &self,
        good: &impl Invoker,
        refused: &impl Invoker,
    ) -> Vec<String> {
        let states = StateData::default();
        let ok = self.run(good, &states, "private-ok").await;
        let failed = self.run(refused, &states, "private-bad").await;

        let mut texts = states.0.lock().unwrap().clone();
        let Outcome::Succeeded { output, .. } = &ok else {
            panic!("{ok:?}")
        };
        texts.push(output.to_string());
        let Outcome::Failed { failure, .. } = &failed else {
            panic!("{failed:?}")
        };
        assert_eq!(failure.error, "Ordersync.Auth");
        texts.push(format!("{} {}", failure.error, failure.cause));
        for key in self
            .s3
            .keys(&format!("{}/runs/", self.prefix))
            .await
            .into_iter()
            .filter(|k| k.contains("/journal/"))
        {
            texts.push(String::from_utf8(self.s3.get_raw(&key).await.unwrap()).unwrap());
        }
        texts
    }

    async fn run(&self, functions: &impl Invoker, states: &StateData, name: &str) -> Outcome {
        ordersync_runner::run_execution(
            &machine(DEFINITION).unwrap(),
            &self.store,
            functions,
            states,
            Options {
                retry_time_scale: 0.001,
            },
            name,
            self.request.clone(),
        )
        .await
        .unwrap()
    }

    /// No credential or customer value in `logs` or `texts`; the customers are in the sheet
    /// (the positive control); every S3 put asked for encryption.
    fn assert_only_where_they_belong(&self, logs: &str, texts: &[String]) {
        let mut checked = 0;
        for value in self.secrets.iter().chain(&self.customers) {
            assert!(
                !logs.contains(value.as_str()),
                "a log line contains {value:?}"
            );
            for text in texts {
                assert!(
                    !text.contains(value.as_str()),
                    "state data contains {value:?}: {text}"
                );
            }
            checked += 1;
        }
        println!(
            "checked {checked} values against {} log lines and {} state texts",
            logs.lines().count(),
            texts.len()
        );

        let sheet = self
            .google
            .values("private-book", "orders")
            .concat()
            .join("\n");
        let in_sheet = self
            .customers
            .iter()
            .filter(|c| sheet.contains(c.as_str()))
            .count();
        assert!(
            in_sheet > self.customers.len() / 2,
            "{in_sheet} of {} in the sheet",
            self.customers.len()
        );

        let puts = self.s3.puts();
        assert!(puts.len() > 10);
        for put in puts {
            assert_eq!(put.sse.as_deref(), Some("AES256"), "{}", put.key);
        }
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

    let privacy = Privacy::start("privacy").await;
    let naver = &privacy.naver;
    let good = naver_source(naver, naver.client_secret()).unwrap();
    let bad = naver_source(naver, WRONG_SECRET).unwrap();
    let sheets = sheets_client(&privacy.google).await.unwrap();
    let good_functions = LocalFunctions::new(&privacy.store, &good, &sheets);
    let bad_functions = LocalFunctions {
        source: &bad,
        clock: good_functions.clock.clone(),
        ..good_functions
    };
    let texts = privacy
        .run_good_and_refused(&good_functions, &bad_functions)
        .await;

    let log_text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        log_text.lines().count() > 20,
        "logs were captured:\n{log_text}"
    );
    privacy.assert_only_where_they_belong(&log_text, &texts);
}

/// The same check on what Lambda would send to CloudWatch Logs: the built function binaries'
/// own stdout and stderr, at DEBUG, through a successful run and one whose NAVER secret is
/// refused; plus every state's data, the journals and the failure's cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_functions_log_no_credentials_or_customer_data() {
    let privacy = Privacy::start("privacy-bin").await;
    let (naver, google) = (&privacy.naver, &privacy.google);
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("sa.json");
    std::fs::write(&key_path, google.service_account_key_json()).unwrap();
    let pool = async |secret: &str| {
        let mut env = privacy.s3.store_env(privacy.prefix);
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
    let (good, bad) = (pool(naver.client_secret()).await, pool(WRONG_SECRET).await);
    let texts = privacy.run_good_and_refused(&good, &bad).await;

    let logs = format!("{}{}", good.logs(), bad.logs());
    assert!(
        logs.lines().count() > 20 && logs.contains("\"level\":\"DEBUG\""),
        "debug logs were captured:\n{logs}"
    );
    privacy.assert_only_where_they_belong(&logs, &texts);
}
