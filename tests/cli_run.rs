//! `ordersync run` as a built binary: the embedded `statemachine.asl.json` against endpoints
//! configured by the same environment variables the Lambdas read (here: the sandbox servers),
//! an S3 store, a rerun by execution name, bad input, and a definition it cannot follow.

use std::path::Path;
use std::process::Output;

use ordersync_core::events::RunSummary;
use ordersync_testkit::google::{FakeGoogle, FakeGoogleConfig};
use ordersync_testkit::naver::{FakeNaver, FakeNaverConfig};
use ordersync_testkit::process::built_binary;
use ordersync_testkit::s3::S3Server;
use serde_json::json;

struct Sandbox {
    s3: S3Server,
    naver: FakeNaver,
    google: FakeGoogle,
    dir: tempfile::TempDir,
}

impl Sandbox {
    async fn start() -> Sandbox {
        let google = FakeGoogle::start(FakeGoogleConfig::default()).await;
        google.create_spreadsheet("cli-book");
        Sandbox {
            s3: S3Server::start().await,
            naver: FakeNaver::start(FakeNaverConfig {
                orders: 30,
                rate_per_sec: 50,
                ..FakeNaverConfig::default()
            })
            .await,
            google,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        let key = self.dir.path().join("google-key.json");
        std::fs::write(&key, self.google.service_account_key_json()).unwrap();
        let mut env = self.s3.child_env();
        env.extend([
            ("NAVER_COMMERCE_BASE_URL".to_owned(), self.naver.base_url()),
            (
                "NAVER_CLIENT_ID".to_owned(),
                self.naver.client_id().to_owned(),
            ),
            (
                "NAVER_CLIENT_SECRET".to_owned(),
                self.naver.client_secret().to_owned(),
            ),
            (
                "GOOGLE_APPLICATION_CREDENTIALS".to_owned(),
                key.display().to_string(),
            ),
            ("GOOGLE_SHEETS_BASE_URL".to_owned(), self.google.base_url()),
        ]);
        env
    }

    fn input(&self, name: &str, request: serde_json::Value) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, request.to_string()).unwrap();
        path.display().to_string()
    }

    fn request(&self) -> serde_json::Value {
        let (from, to) = self.naver.shop().span();
        json!({
            "account": {"secret_id": "shops/cli"},
            "range": {"from": from.to_rfc3339(), "to": to.to_rfc3339(), "by": "changed"},
            "sheet": {"spreadsheet_id": "cli-book", "tab": "주문"}
        })
    }

    async fn ordersync(&self, args: &[&str], cwd: &Path) -> Output {
        tokio::process::Command::new(built_binary("ordersync-cli", "ordersync", false))
            .args(args)
            .envs(self.env())
            .current_dir(cwd)
            .output()
            .await
            .expect("ordersync runs")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn run_executes_the_asl_against_configured_endpoints_and_reruns_by_name() {
    let sandbox = Sandbox::start().await;
    let input = sandbox.input("request.json", sandbox.request());
    let store = sandbox.s3.location("cli");
    let cwd = sandbox.dir.path();
    let args = [
        "run",
        "--input",
        &input,
        "--store",
        &store,
        "--execution-name",
        "cli-1",
        "--json",
    ];
    let out = sandbox.ordersync(&args, cwd).await;
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    let summary: RunSummary = serde_json::from_slice(&out.stdout).unwrap();
    let rows = sandbox.google.values("cli-book", "주문").len() as u64 - 1;
    assert!(rows > 20);
    assert_eq!(summary.appended, rows);
    assert!(!sandbox.s3.keys("cli/runs/cli-1/rows/").await.is_empty());

    // The same name again: it already succeeded, nothing runs, the summary is repeated.
    let out = sandbox.ordersync(&args, cwd).await;
    assert!(
        out.status.success(),
        "{:?} {}{}",
        out.status,
        text(&out.stderr),
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("already succeeded"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        serde_json::from_slice::<RunSummary>(&out.stdout).unwrap(),
        summary
    );

    // A new execution (default name) into the default directory store: all rows unchanged.
    let out = sandbox.ordersync(&["run", "--input", &input], cwd).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("0 appended, 0 updated, {rows} unchanged")),
        "{stdout}"
    );
    assert!(cwd.join("ordersync-data/runs").is_dir());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_ends_in_the_fail_state_with_its_name() {
    let sandbox = Sandbox::start().await;
    let mut request = sandbox.request();
    request["sheet"]["tab"] = json!("");
    let input = sandbox.input("bad.json", request);
    let out = sandbox
        .ordersync(
            &["run", "--input", &input, "--execution-name", "bad-1"],
            sandbox.dir.path(),
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("failed (run 1): Ordersync.InvalidInput"),
        "{stderr}"
    );
    assert!(stderr.contains("sheet.tab is empty"), "{stderr}");
    assert_eq!(
        sandbox.naver.stats().token_calls,
        0,
        "no API call before validation"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_definition_the_runner_cannot_follow_is_refused_naming_the_state() {
    let sandbox = Sandbox::start().await;
    let mut asl: serde_json::Value =
        serde_json::from_str(ordersync_local::definition::DEFINITION).unwrap();
    asl["States"]["Plan"]["Next"] = json!("Pause");
    asl["States"]["Pause"] = json!({"Type": "Wait", "Seconds": 5, "Next": "Windows"});
    let definition = sandbox.input("wait.asl.json", asl);
    let input = sandbox.input("request.json", sandbox.request());
    let out = sandbox
        .ordersync(
            &["run", "--input", &input, "--definition", &definition],
            sandbox.dir.path(),
        )
        .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("state `Pause`") && stderr.contains("Wait"),
        "{stderr}"
    );
    assert!(
        !sandbox.dir.path().join("ordersync-data").exists(),
        "nothing written"
    );
}
